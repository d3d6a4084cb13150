-- Platform-wide Authorize grants: principals (a user or a role of some account) the operator
-- lets ask `Authorize` about principals of any account. A grant belongs to the identity (by id),
-- not to its name: it follows a rename, and deleting the user or role deletes the grant, so a
-- new principal of the same name never inherits it.
CREATE TABLE platform_grants (
    account_id TEXT   NOT NULL REFERENCES accounts (id),
    user_id    TEXT   NULL,
    role_id    TEXT   NULL,
    created_at BIGINT NOT NULL,
    CHECK ((user_id IS NULL) <> (role_id IS NULL)),
    UNIQUE (account_id, user_id),
    UNIQUE (account_id, role_id),
    FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id) ON DELETE CASCADE,
    FOREIGN KEY (account_id, role_id) REFERENCES roles (account_id, id) ON DELETE CASCADE
);
