//! RAM roles: trust policy, session duration, session revocation.

use async_trait::async_trait;
use sqlx::AnyConnection;
use sqlx::any::AnyRow;
use tessera_iam::{AccountId, Entity, Error, Result, names};
use tessera_policy::PolicyKind;

use crate::model::{
    Committed, EntityKind, NewRole, Page, Paged, Revision, Role, RolePrincipal, RoleUpdate,
};
use crate::sql::{
    SqlStore, db_error, exists_or_db_error, get, get_opt_time, get_time, name_key, new_numeric_id,
};
use crate::users::loaded_policy_from_row;

/// The default `MaxSessionDuration` of a role, in seconds.
pub const DEFAULT_MAX_SESSION_DURATION: u32 = 3600;

/// RAM roles.
#[async_trait]
pub trait RoleStore: Send + Sync {
    /// `CreateRole`: validates the name, description, session duration (default 3,600 s) and
    /// the trust policy; `EntityAlreadyExists.Role` if the name is taken (case-insensitively).
    async fn create_role(&self, account: &AccountId, role: &NewRole) -> Result<Committed<Role>>;
    async fn get_role(&self, account: &AccountId, name: &str) -> Result<Role>;
    /// `UpdateRole`: only the fields that are `Some` change.
    async fn update_role(
        &self,
        account: &AccountId,
        name: &str,
        update: &RoleUpdate,
    ) -> Result<Committed<Role>>;
    /// Fails with `DeleteConflict.Role.Policy` while policies are attached.
    async fn delete_role(&self, account: &AccountId, name: &str) -> Result<Committed<()>>;
    /// `ListRoles`, ordered by name (case-insensitively); `MaxItems` 1–1000.
    async fn list_roles(&self, account: &AccountId, page: &Page) -> Result<Paged<Role>>;
    /// Invalidates every session of the role issued before now: sets
    /// `sessions_revoked_before` to the transaction's time (never moving it backwards). The
    /// role's `updated_at` (RAM's `UpdateDate`, which tracks `UpdateRole`) is left alone.
    async fn revoke_role_sessions(
        &self,
        account: &AccountId,
        name: &str,
    ) -> Result<Committed<Role>>;
    /// The role and the default versions of its attached policies, read in one consistent
    /// snapshot, with the revision of that snapshot.
    async fn load_role_principal(
        &self,
        account: &AccountId,
        name: &str,
    ) -> Result<(RolePrincipal, Revision)>;
}

const ROLE_COLUMNS: &str = "id, name, description, trust_policy, max_session_duration, \
     created_at, updated_at, sessions_revoked_before";

fn role_from_row(row: &AnyRow) -> Result<Role> {
    Ok(Role {
        id: get(row, "id")?,
        name: get(row, "name")?,
        description: get(row, "description")?,
        trust_policy: get(row, "trust_policy")?,
        max_session_duration: u32::try_from(get::<i64>(row, "max_session_duration")?)
            .map_err(|_| Error::internal())?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
        sessions_revoked_before: get_opt_time(row, "sessions_revoked_before")?,
    })
}

fn validate_trust_policy(store: &SqlStore, document: &str) -> Result<()> {
    tessera_policy::parse(document, PolicyKind::Trust, &store.limits)
        .map(|_| ())
        .map_err(Error::from)
}

fn validate_max_session_duration(seconds: u32) -> Result<()> {
    names::max_session_duration(i64::from(seconds))
}

impl SqlStore {
    async fn fetch_role(conn: &mut AnyConnection, account: &AccountId, name: &str) -> Result<Role> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {ROLE_COLUMNS} FROM roles WHERE account_id = $1 AND name_key = $2"
        ));
        let row = sqlx::query(sql)
            .bind(account.as_str().to_owned())
            .bind(name_key(name))
            .fetch_optional(conn)
            .await
            .map_err(|e| db_error("get role", &e))?
            .ok_or_else(|| Error::not_exist(Entity::Role))?;
        role_from_row(&row)
    }

    /// The id of role `name`, or `EntityNotExist.Role`.
    pub(crate) async fn role_id(
        conn: &mut AnyConnection,
        account: &AccountId,
        name: &str,
    ) -> Result<String> {
        let row = sqlx::query("SELECT id FROM roles WHERE account_id = $1 AND name_key = $2")
            .bind(account.as_str().to_owned())
            .bind(name_key(name))
            .fetch_optional(conn)
            .await
            .map_err(|e| db_error("role id", &e))?
            .ok_or_else(|| Error::not_exist(Entity::Role))?;
        get(&row, "id")
    }
}

#[async_trait]
impl RoleStore for SqlStore {
    async fn create_role(&self, account: &AccountId, role: &NewRole) -> Result<Committed<Role>> {
        names::role_name(&role.name)?;
        if let Some(d) = &role.description {
            names::description(d)?;
        }
        let max_session_duration = role
            .max_session_duration
            .unwrap_or(DEFAULT_MAX_SESSION_DURATION);
        validate_max_session_duration(max_session_duration)?;
        validate_trust_policy(self, &role.trust_policy)?;
        let mut w = self.write().await?;
        self.require_account(&mut w.tx, account).await?;
        let count = sqlx::query("SELECT COUNT(*) AS n FROM roles WHERE account_id = $1")
            .bind(account.as_str().to_owned())
            .fetch_one(&mut *w.tx)
            .await
            .map_err(|e| db_error("count roles", &e))?;
        let quota = self.quotas_in(&mut w.tx, account).await?.roles;
        if get::<i64>(&count, "n")? >= i64::from(quota) {
            return Err(Error::limit_exceeded(Entity::Role, quota));
        }
        let sql = sqlx::AssertSqlSafe(format!(
            "INSERT INTO roles (account_id, id, name, name_key, description, trust_policy, \
             max_session_duration, created_at, updated_at, sessions_revoked_before) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, NULL) RETURNING {ROLE_COLUMNS}"
        ));
        let row = sqlx::query(sql)
            .bind(account.as_str().to_owned())
            .bind(new_numeric_id())
            .bind(role.name.clone())
            .bind(name_key(&role.name))
            .bind(role.description.clone().unwrap_or_default())
            .bind(role.trust_policy.clone())
            .bind(i64::from(max_session_duration))
            .bind(w.now)
            .fetch_one(&mut *w.tx)
            .await
            .map_err(exists_or_db_error(Entity::Role, "create role"))?;
        let value = role_from_row(&row)?;
        w.changed(Some(account), EntityKind::Role, &name_key(&value.name))
            .await?;
        w.commit_with(value).await
    }

    async fn get_role(&self, account: &AccountId, name: &str) -> Result<Role> {
        let mut conn = self.conn().await?;
        SqlStore::fetch_role(&mut conn, account, name).await
    }

    async fn update_role(
        &self,
        account: &AccountId,
        name: &str,
        update: &RoleUpdate,
    ) -> Result<Committed<Role>> {
        if let Some(d) = &update.description {
            names::description(d)?;
        }
        if let Some(seconds) = update.max_session_duration {
            validate_max_session_duration(seconds)?;
        }
        if let Some(document) = &update.trust_policy {
            validate_trust_policy(self, document)?;
        }
        let mut w = self.write().await?;
        let current = SqlStore::fetch_role(&mut w.tx, account, name).await?;
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE roles SET description = $3, trust_policy = $4, max_session_duration = $5, \
             updated_at = $6 WHERE account_id = $1 AND id = $2 RETURNING {ROLE_COLUMNS}"
        ));
        let row = sqlx::query(sql)
            .bind(account.as_str().to_owned())
            .bind(current.id.clone())
            .bind(update.description.clone().unwrap_or(current.description))
            .bind(update.trust_policy.clone().unwrap_or(current.trust_policy))
            .bind(i64::from(
                update
                    .max_session_duration
                    .unwrap_or(current.max_session_duration),
            ))
            .bind(w.now)
            .fetch_one(&mut *w.tx)
            .await
            .map_err(|e| db_error("update role", &e))?;
        let value = role_from_row(&row)?;
        w.changed(Some(account), EntityKind::Role, &name_key(&value.name))
            .await?;
        w.commit_with(value).await
    }

    async fn delete_role(&self, account: &AccountId, name: &str) -> Result<Committed<()>> {
        let mut w = self.write().await?;
        let id = SqlStore::role_id(&mut w.tx, account, name).await?;
        let attached = sqlx::query(
            "SELECT 1 AS one FROM attachments \
             WHERE account_id = $1 AND target_kind = 'role' AND target_id = $2",
        )
        .bind(account.as_str().to_owned())
        .bind(id.clone())
        .fetch_optional(&mut *w.tx)
        .await
        .map_err(|e| db_error("role policies", &e))?;
        if attached.is_some() {
            return Err(Error::delete_conflict(
                "Role.Policy",
                "The role CAN NOT has any attached policy while deleting the role.",
            ));
        }
        sqlx::query("DELETE FROM roles WHERE account_id = $1 AND id = $2")
            .bind(account.as_str().to_owned())
            .bind(id)
            .execute(&mut *w.tx)
            .await
            .map_err(|e| db_error("delete role", &e))?;
        w.changed(Some(account), EntityKind::Role, &name_key(name))
            .await?;
        w.commit_with(()).await
    }

    async fn list_roles(&self, account: &AccountId, page: &Page) -> Result<Paged<Role>> {
        self.list_by_name("roles", ROLE_COLUMNS, account, page, 1000, role_from_row)
            .await
    }

    async fn revoke_role_sessions(
        &self,
        account: &AccountId,
        name: &str,
    ) -> Result<Committed<Role>> {
        let mut w = self.write().await?;
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE roles SET sessions_revoked_before = CASE \
                 WHEN sessions_revoked_before IS NULL OR sessions_revoked_before < $3 THEN $3 \
                 ELSE sessions_revoked_before END \
             WHERE account_id = $1 AND name_key = $2 RETURNING {ROLE_COLUMNS}"
        ));
        let row = sqlx::query(sql)
            .bind(account.as_str().to_owned())
            .bind(name_key(name))
            .bind(w.now)
            .fetch_optional(&mut *w.tx)
            .await
            .map_err(|e| db_error("revoke role sessions", &e))?
            .ok_or_else(|| Error::not_exist(Entity::Role))?;
        let value = role_from_row(&row)?;
        w.changed(Some(account), EntityKind::Role, &name_key(&value.name))
            .await?;
        w.commit_with(value).await
    }

    async fn load_role_principal(
        &self,
        account: &AccountId,
        name: &str,
    ) -> Result<(RolePrincipal, Revision)> {
        // One statement (one snapshot, one round trip): part 0 is the role with the
        // snapshot's revision, part 1 the default versions of its policies.
        let rows = sqlx::query(
            "WITH r AS (SELECT id, name, name_key, description, trust_policy, \
                    max_session_duration, created_at, updated_at, sessions_revoked_before \
                    FROM roles WHERE account_id = $1 AND name_key = $2) \
             SELECT 0 AS part, r.name AS name, r.id AS t1, r.description AS t2, \
                    r.trust_policy AS t3, r.max_session_duration AS n1, r.created_at AS n2, \
                    r.updated_at AS n3, r.sessions_revoked_before AS n4, \
                    (SELECT value FROM revision WHERE id = 1) AS n5, r.name_key AS sort_key \
             FROM r \
             UNION ALL \
             SELECT 1, p.name, p.policy_type, v.document, '', p.default_version, 0, 0, NULL, 0, \
                    p.name_key \
             FROM r JOIN attachments a ON a.account_id = $1 AND a.target_kind = 'role' \
                AND a.target_id = r.id \
             JOIN policies p ON p.account_id = a.policy_account AND p.id = a.policy_id \
             JOIN policy_versions v ON v.account_id = p.account_id AND v.policy_id = p.id \
                AND v.version = p.default_version \
             ORDER BY part, t1, sort_key",
        )
        .bind(account.as_str().to_owned())
        .bind(name_key(name))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error("load role", &e))?;
        let (first, rest) = rows
            .split_first()
            .ok_or_else(|| Error::not_exist(Entity::Role))?;
        let role = Role {
            id: get(first, "t1")?,
            name: get(first, "name")?,
            description: get(first, "t2")?,
            trust_policy: get(first, "t3")?,
            max_session_duration: u32::try_from(get::<i64>(first, "n1")?)
                .map_err(|_| Error::internal())?,
            created_at: get_time(first, "n2")?,
            updated_at: get_time(first, "n3")?,
            sessions_revoked_before: get_opt_time(first, "n4")?,
        };
        let revision = Revision(get(first, "n5")?);
        let policies = rest
            .iter()
            .map(loaded_policy_from_row)
            .collect::<Result<Vec<_>>>()?;
        Ok((RolePrincipal { role, policies }, revision))
    }
}
