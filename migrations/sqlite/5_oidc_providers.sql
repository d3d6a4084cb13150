-- OIDC identity providers (CreateOIDCProvider), per account. Names are stored as given and
-- unique by name_key (ASCII lower case); an issuer URL is registered at most once per account.
-- client_ids and fingerprints are comma-joined lists in the order given (neither item syntax
-- admits a comma); fingerprints are lower-case SHA-1 hex.
CREATE TABLE oidc_providers (
    account_id           TEXT   NOT NULL REFERENCES accounts (id),
    name                 TEXT   NOT NULL,
    name_key             TEXT   NOT NULL,
    issuer_url           TEXT   NOT NULL,
    client_ids           TEXT   NOT NULL,
    fingerprints         TEXT   NOT NULL,
    description          TEXT   NOT NULL,
    issuance_limit_hours BIGINT NOT NULL,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    PRIMARY KEY (account_id, name_key),
    UNIQUE (account_id, issuer_url)
);
