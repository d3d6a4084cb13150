//! `tessera.v1.Audit/LookupEvents`: the caller's account's events, newest first, as
//! ActionTrail's LookupEvents: `StartTime`/`EndTime` (inclusive), `EventName` and
//! `PrincipalArn` (exact), `MaxResults` 1–50 (default 20) and `NextToken`.
//!
//! Authorized as `actiontrail:LookupEvents` on `acs:actiontrail::<account>:*` with the caller's
//! own permissions (the root of the account is allowed; others need a policy); a caller
//! without an account gets `NoPermission`. The store query is always the caller's account.
//! `NextToken` is an opaque encoding of the last event id of the page (`InvalidParameter.
//! NextToken` when it is not one); it is only handed out when another page exists.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tessera_iam::{Error, Target, authorize_operation};
use tessera_policy::Permissions;
use tessera_proto::v1 as pb;
use tessera_proto::v1::audit_server::{Audit, AuditServer};
use tessera_store::{AuditEvent, AuditOrder, AuditQuery, SystemStore as _};
use tonic::{Request, Response, Status};

use crate::authorizer::{caller_policies, status};
use crate::caller::authenticated;
use crate::principals::PrincipalCache;

/// `MaxResults` when not given.
pub const DEFAULT_MAX_RESULTS: u32 = 20;
/// The largest `MaxResults`.
pub const MAX_RESULTS: u32 = 50;
/// What a `NextToken` starts with once decoded (a version, so the format can change).
const TOKEN_PREFIX: &str = "e1:";

/// The `tessera.v1.Audit` service.
#[derive(Debug, Clone)]
pub struct AuditService {
    cache: PrincipalCache,
}

impl AuditService {
    pub fn new(cache: PrincipalCache) -> AuditService {
        AuditService { cache }
    }

    pub fn into_server(self) -> AuditServer<AuditService> {
        AuditServer::new(self)
    }
}

fn err(e: Error) -> Status {
    status(&e)
}

#[tonic::async_trait]
impl Audit for AuditService {
    async fn lookup_events(
        &self,
        request: Request<pb::LookupEventsRequest>,
    ) -> Result<Response<pb::LookupEventsResponse>, Status> {
        let auth = authenticated(&request)?;
        let row = tessera_iam::operation("LookupEvents").ok_or_else(|| {
            tracing::error!("no LookupEvents row in the operation table");
            err(Error::internal())
        })?;
        let (own, session) = caller_policies(&self.cache, auth).await.map_err(err)?;
        let identity = crate::authorizer::identity_policies(own.as_ref());
        let permissions = Permissions::new(identity, session.as_deref());
        let context = auth.caller.context(&auth.facts());
        authorize_operation(
            row,
            &auth.caller,
            &permissions,
            &Target::default(),
            &context,
        )
        .inspect(|a| crate::telemetry::record_decision(row.action, a.decision))
        .and_then(tessera_iam::Authorization::require)
        .map_err(err)?;
        let Some(account) = auth.caller.account() else {
            return Err(err(Error::internal()));
        };

        let (query, max) = query(request.get_ref()).map_err(err)?;
        let mut found = self
            .cache
            .store()
            .list_audit_events(account, &query)
            .await
            .map_err(err)?;
        let next_token = if found.len() > max {
            found.truncate(max);
            found
                .last()
                .map(|(id, _)| encode_token(*id))
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(Response::new(pb::LookupEventsResponse {
            events: found.into_iter().map(|(id, e)| event(id, e)).collect(),
            next_token,
        }))
    }
}

/// The store query of a request (one more event than asked for, to tell whether another
/// page exists) and the page size.
fn query(req: &pb::LookupEventsRequest) -> Result<(AuditQuery, usize), Error> {
    let max = match req.max_results {
        0 => DEFAULT_MAX_RESULTS,
        n if n <= MAX_RESULTS => n,
        _ => return Err(Error::range("MaxResults", 1, i64::from(MAX_RESULTS))),
    };
    let start = req
        .start_time
        .as_ref()
        .map(|t| time("StartTime", t))
        .transpose()?;
    let end = req
        .end_time
        .as_ref()
        .map(|t| time("EndTime", t))
        .transpose()?;
    if let (Some(start), Some(end)) = (start, end)
        && end < start
    {
        return Err(Error::invalid_time_range());
    }
    let after_id = Some(req.next_token.as_str())
        .filter(|t| !t.is_empty())
        .map(decode_token)
        .transpose()?;
    let given = |s: &str| Some(s.to_owned()).filter(|s| !s.is_empty());
    let query = AuditQuery {
        after_id,
        limit: max + 1,
        start,
        end,
        event_name: given(&req.event_name),
        principal: given(&req.principal_arn),
        order: AuditOrder::NewestFirst,
        ..AuditQuery::default()
    };
    Ok((query, usize::try_from(max).unwrap_or(usize::MAX)))
}

fn time(field: &str, t: &prost_types::Timestamp) -> Result<jiff::Timestamp, Error> {
    jiff::Timestamp::new(t.seconds, t.nanos).map_err(|_| {
        Error::invalid(
            format!("InvalidParameter.{field}"),
            format!("The parameter - \"{field}\" is not a valid time."),
        )
    })
}

fn encode_token(id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{TOKEN_PREFIX}{id}"))
}

fn decode_token(token: &str) -> Result<i64, Error> {
    URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix(TOKEN_PREFIX)?.parse::<i64>().ok())
        .filter(|id| *id > 0)
        .ok_or_else(Error::invalid_next_token)
}

fn event(id: i64, e: AuditEvent) -> pb::AuditEvent {
    pb::AuditEvent {
        event_id: id.to_string(),
        event_name: e.event_name,
        event_time: Some(prost_types::Timestamp {
            seconds: e.at.as_second(),
            nanos: e.at.subsec_nanosecond(),
        }),
        account_id: e.account.as_str().to_owned(),
        principal_arn: e.principal,
        source_ip_address: e.source_ip,
        request_id: e.request_id,
        action: e.action,
        resource: e.resource,
        decision: e.decision.as_str().to_owned(),
        error_code: e.error_code,
        detail: e.detail,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_anything_else() {
        for id in [1, 42, i64::MAX] {
            assert_eq!(decode_token(&encode_token(id)).unwrap(), id);
        }
        for bad in [
            "x",
            "42",
            "!!!",
            &URL_SAFE_NO_PAD.encode("e1:-3"),
            &URL_SAFE_NO_PAD.encode("e1:0"),
            &URL_SAFE_NO_PAD.encode("e2:5"),
            &URL_SAFE_NO_PAD.encode("e1:5x"),
        ] {
            assert_eq!(
                decode_token(bad).unwrap_err().code(),
                "InvalidParameter.NextToken",
                "{bad}"
            );
        }
    }

    #[test]
    fn queries_check_their_parameters() {
        let (q, max) = query(&pb::LookupEventsRequest::default()).unwrap();
        assert_eq!((q.limit, max), (21, 20));
        assert_eq!(q.order, AuditOrder::NewestFirst);
        let (q, _) = query(&pb::LookupEventsRequest {
            max_results: 50,
            event_name: "CreateUser".into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(q.limit, 51);
        assert_eq!(q.event_name.as_deref(), Some("CreateUser"));
        assert_eq!(q.principal, None);
        let code = |req: pb::LookupEventsRequest| query(&req).unwrap_err().code().to_owned();
        assert_eq!(
            code(pb::LookupEventsRequest {
                max_results: 51,
                ..Default::default()
            }),
            "InvalidParameter.MaxResults.Range"
        );
        let at = |seconds| Some(prost_types::Timestamp { seconds, nanos: 0 });
        assert_eq!(
            code(pb::LookupEventsRequest {
                start_time: at(20),
                end_time: at(10),
                ..Default::default()
            }),
            "InvalidParameter.TimeRange"
        );
        assert_eq!(
            code(pb::LookupEventsRequest {
                start_time: at(i64::MAX),
                ..Default::default()
            }),
            "InvalidParameter.StartTime"
        );
    }
}
