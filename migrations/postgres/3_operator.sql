-- The platform operator: the account whose root identity administers the platform (creates
-- accounts, rotates signing keys). tesserad records it when it bootstraps the operator on first
-- start; at most one row.
CREATE TABLE platform_operator (
    id         BIGINT PRIMARY KEY CHECK (id = 1),
    account_id TEXT   NOT NULL REFERENCES accounts (id),
    created_at BIGINT NOT NULL
);
