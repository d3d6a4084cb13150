-- Tessera initial schema (SQLite). Keep in step with migrations/postgres/1_initial.sql:
-- the same tables and columns; only BYTEA/BLOB and the audit id differ.
-- Types: TEXT, BIGINT (integers, 0/1 booleans, timestamps in microseconds since the epoch), BLOB.
-- Names are stored as given and unique by name_key (ASCII lower case) within an account.

-- The change-log position. Every write transaction increments it first, which serializes
-- writers and makes revisions commit in order.
CREATE TABLE revision (
    id    BIGINT PRIMARY KEY CHECK (id = 1),
    value BIGINT NOT NULL
);
INSERT INTO revision (id, value) VALUES (1, 0);

CREATE TABLE changes (
    revision    BIGINT NOT NULL,
    seq         BIGINT NOT NULL,
    account_id  TEXT   NOT NULL, -- '' for global entities
    entity_kind TEXT   NOT NULL,
    entity_id   TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (revision, seq)
);

CREATE TABLE accounts (
    id         TEXT   PRIMARY KEY,
    name       TEXT   NOT NULL,
    alias      TEXT   NULL UNIQUE,
    status     TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Per-account quota overrides (QuotaName → value); absent names use the deployment default.
CREATE TABLE account_quotas (
    account_id TEXT   NOT NULL REFERENCES accounts (id),
    name       TEXT   NOT NULL,
    value      BIGINT NOT NULL,
    PRIMARY KEY (account_id, name)
);

CREATE TABLE users (
    account_id    TEXT   NOT NULL REFERENCES accounts (id),
    id            TEXT   NOT NULL,
    name          TEXT   NOT NULL,
    name_key      TEXT   NOT NULL,
    display_name  TEXT   NOT NULL,
    email         TEXT   NOT NULL,
    mobile_phone  TEXT   NOT NULL,
    comments      TEXT   NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    last_login_at BIGINT NULL,
    PRIMARY KEY (account_id, id),
    UNIQUE (account_id, name_key)
);

CREATE TABLE groups (
    account_id TEXT   NOT NULL REFERENCES accounts (id),
    id         TEXT   NOT NULL,
    name       TEXT   NOT NULL,
    name_key   TEXT   NOT NULL,
    comments   TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, id),
    UNIQUE (account_id, name_key)
);

CREATE TABLE group_members (
    account_id TEXT   NOT NULL,
    group_id   TEXT   NOT NULL,
    user_id    TEXT   NOT NULL,
    joined_at  BIGINT NOT NULL,
    PRIMARY KEY (account_id, group_id, user_id),
    FOREIGN KEY (account_id, group_id) REFERENCES groups (account_id, id),
    FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id)
);
CREATE INDEX group_members_by_user ON group_members (account_id, user_id);

CREATE TABLE roles (
    account_id              TEXT   NOT NULL REFERENCES accounts (id),
    id                      TEXT   NOT NULL,
    name                    TEXT   NOT NULL,
    name_key                TEXT   NOT NULL,
    description             TEXT   NOT NULL,
    trust_policy            TEXT   NOT NULL,
    max_session_duration    BIGINT NOT NULL,
    created_at              BIGINT NOT NULL,
    updated_at              BIGINT NOT NULL,
    sessions_revoked_before BIGINT NULL,
    PRIMARY KEY (account_id, id),
    UNIQUE (account_id, name_key)
);

-- System policies have account_id ''.
CREATE TABLE policies (
    account_id      TEXT   NOT NULL,
    id              TEXT   NOT NULL,
    name            TEXT   NOT NULL,
    name_key        TEXT   NOT NULL,
    policy_type     TEXT   NOT NULL, -- 'System' | 'Custom'
    description     TEXT   NOT NULL,
    default_version BIGINT NOT NULL,
    next_version    BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (account_id, id),
    UNIQUE (account_id, name_key)
);

CREATE TABLE policy_versions (
    account_id TEXT   NOT NULL,
    policy_id  TEXT   NOT NULL,
    version    BIGINT NOT NULL,
    document   TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, policy_id, version),
    FOREIGN KEY (account_id, policy_id) REFERENCES policies (account_id, id)
);

-- policy_account is '' for system policies, else equal to account_id.
CREATE TABLE attachments (
    account_id     TEXT   NOT NULL,
    target_kind    TEXT   NOT NULL, -- 'user' | 'group' | 'role'
    target_id      TEXT   NOT NULL,
    policy_account TEXT   NOT NULL,
    policy_id      TEXT   NOT NULL,
    attached_at    BIGINT NOT NULL,
    PRIMARY KEY (account_id, target_kind, target_id, policy_account, policy_id),
    FOREIGN KEY (policy_account, policy_id) REFERENCES policies (account_id, id)
);
CREATE INDEX attachments_by_policy ON attachments (account_id, policy_account, policy_id);

-- user_id NULL: the account's root identity.
CREATE TABLE access_keys (
    id            TEXT   PRIMARY KEY,
    account_id    TEXT   NOT NULL REFERENCES accounts (id),
    user_id       TEXT   NULL,
    sealed_secret BLOB   NOT NULL,
    status        TEXT   NOT NULL,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT NULL,
    FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id)
);
CREATE INDEX access_keys_by_user ON access_keys (account_id, user_id);

CREATE TABLE login_profiles (
    account_id              TEXT   NOT NULL,
    user_id                 TEXT   NOT NULL,
    password_hash           TEXT   NOT NULL,
    password_reset_required BIGINT NOT NULL,
    mfa_bind_required       BIGINT NOT NULL,
    created_at              BIGINT NOT NULL,
    updated_at              BIGINT NOT NULL,
    PRIMARY KEY (account_id, user_id),
    FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id)
);

CREATE TABLE virtual_mfa_devices (
    account_id    TEXT   NOT NULL REFERENCES accounts (id),
    serial_number TEXT   NOT NULL,
    name_key      TEXT   NOT NULL,
    sealed_seed   BLOB   NOT NULL,
    user_id       TEXT   NULL,
    activated_at  BIGINT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (account_id, serial_number),
    UNIQUE (account_id, name_key),
    UNIQUE (account_id, user_id),
    FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id)
);

CREATE TABLE signing_keys (
    kid                TEXT   PRIMARY KEY,
    algorithm          TEXT   NOT NULL,
    sealed_private_key BLOB   NOT NULL,
    public_key         BLOB   NOT NULL,
    status             TEXT   NOT NULL, -- 'Active' | 'Retired'
    created_at         BIGINT NOT NULL,
    retired_at         BIGINT NULL
);

CREATE TABLE revoked_tokens (
    account_id TEXT   NOT NULL,
    token_id   TEXT   NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, token_id)
);
CREATE INDEX revoked_tokens_by_expiry ON revoked_tokens (expires_at);

CREATE TABLE audit_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  TEXT   NOT NULL,
    at          BIGINT NOT NULL,
    request_id  TEXT   NOT NULL,
    principal   TEXT   NOT NULL,
    action      TEXT   NOT NULL,
    resource    TEXT   NOT NULL,
    decision    TEXT   NOT NULL,
    error_code  TEXT   NOT NULL,
    source_ip   TEXT   NOT NULL,
    detail      TEXT   NOT NULL
);
CREATE INDEX audit_events_by_account ON audit_events (account_id, id);
