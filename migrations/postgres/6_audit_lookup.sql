-- LookupEvents (the audit trail's query API): the event's name (the API operation, such as
-- CreateUser or Authorize) apart from the action it performed or asked about (ram:CreateUser,
-- oss:GetObject), and indexes for its filters (event name, principal, time range) and for
-- pruning events past the retention period. Existing events are named after their action.
ALTER TABLE audit_events ADD COLUMN event_name TEXT NOT NULL DEFAULT '';
UPDATE audit_events SET event_name = substr(action, strpos(action, ':') + 1);
CREATE INDEX audit_events_by_event_name ON audit_events (account_id, event_name, id);
CREATE INDEX audit_events_by_principal ON audit_events (account_id, principal, id);
CREATE INDEX audit_events_by_account_time ON audit_events (account_id, at);
CREATE INDEX audit_events_by_time ON audit_events (at);
