//! RAM users.

use async_trait::async_trait;
use jiff::Timestamp;
use sqlx::AnyConnection;
use sqlx::any::AnyRow;
use tessera_iam::{AccountId, Entity, Error, PolicyType, Result, names};

use crate::model::{
    Committed, EntityKind, LoadedPolicy, NewUser, Page, Paged, Revision, User, UserPrincipal,
    UserUpdate,
};
use crate::sql::{
    SqlStore, db_error, get, get_opt_time, get_time, is_unique_violation, micros, name_key,
    new_numeric_id, page_bounds, paged,
};

/// RAM users.
#[async_trait]
pub trait UserStore: Send + Sync {
    async fn create_user(&self, account: &AccountId, user: &NewUser) -> Result<Committed<User>>;
    async fn get_user(&self, account: &AccountId, name: &str) -> Result<User>;
    /// `UpdateUser`; renaming keeps the user's id, keys, groups and policies.
    async fn update_user(
        &self,
        account: &AccountId,
        name: &str,
        update: &UserUpdate,
    ) -> Result<Committed<User>>;
    /// Fails with `DeleteConflict.User.*` while the user has access keys, a login profile, an
    /// MFA device, group memberships or attached policies.
    async fn delete_user(&self, account: &AccountId, name: &str) -> Result<Committed<()>>;
    async fn list_users(&self, account: &AccountId, page: &Page) -> Result<Paged<User>>;
    /// The user, its groups and the default versions of every policy attached to it or its
    /// groups, read in one consistent snapshot, with the revision of that snapshot.
    async fn load_user_principal(
        &self,
        account: &AccountId,
        name: &str,
    ) -> Result<(UserPrincipal, Revision)>;
    /// Records a sign-in time (not a change-log event).
    async fn record_user_login(&self, account: &AccountId, name: &str, at: Timestamp)
    -> Result<()>;
}

pub(crate) const USER_COLUMNS: &str = "id, name, display_name, email, mobile_phone, comments, \
     created_at, updated_at, last_login_at";

pub(crate) fn user_from_row(row: &AnyRow) -> Result<User> {
    Ok(User {
        id: get(row, "id")?,
        name: get(row, "name")?,
        display_name: get(row, "display_name")?,
        email: get(row, "email")?,
        mobile_phone: get(row, "mobile_phone")?,
        comments: get(row, "comments")?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
        last_login_at: get_opt_time(row, "last_login_at")?,
    })
}

fn validate_optional_fields(
    display_name: Option<&str>,
    email: Option<&str>,
    mobile_phone: Option<&str>,
    comments: Option<&str>,
) -> Result<()> {
    if let Some(v) = display_name {
        names::display_name(v)?;
    }
    if let Some(v) = email.filter(|v| !v.is_empty()) {
        names::email(v)?;
    }
    if let Some(v) = mobile_phone.filter(|v| !v.is_empty()) {
        names::mobile_phone(v)?;
    }
    if let Some(v) = comments {
        names::comments(v)?;
    }
    Ok(())
}

impl SqlStore {
    /// The id of user `name`, or `EntityNotExist.User`.
    pub(crate) async fn user_id(
        conn: &mut AnyConnection,
        account: &AccountId,
        name: &str,
    ) -> Result<String> {
        let row = sqlx::query("SELECT id FROM users WHERE account_id = $1 AND name_key = $2")
            .bind(account.as_str().to_owned())
            .bind(name_key(name))
            .fetch_optional(conn)
            .await
            .map_err(|e| db_error("user id", &e))?
            .ok_or_else(|| Error::not_exist(Entity::User))?;
        get(&row, "id")
    }

    async fn fetch_user(conn: &mut AnyConnection, account: &AccountId, name: &str) -> Result<User> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE account_id = $1 AND name_key = $2"
        ));
        let row = sqlx::query(sql)
            .bind(account.as_str().to_owned())
            .bind(name_key(name))
            .fetch_optional(conn)
            .await
            .map_err(|e| db_error("get user", &e))?
            .ok_or_else(|| Error::not_exist(Entity::User))?;
        user_from_row(&row)
    }

    /// Is anything of `sql` (selecting `1 AS one` with `$1` account, `$2` user id) present?
    async fn exists(
        conn: &mut AnyConnection,
        sql: &'static str,
        account: &AccountId,
        id: &str,
    ) -> Result<bool> {
        let row = sqlx::query(sql)
            .bind(account.as_str().to_owned())
            .bind(id.to_owned())
            .fetch_optional(conn)
            .await
            .map_err(|e| db_error("exists", &e))?;
        Ok(row.is_some())
    }
}

#[async_trait]
impl UserStore for SqlStore {
    async fn create_user(&self, account: &AccountId, user: &NewUser) -> Result<Committed<User>> {
        names::user_name(&user.name)?;
        validate_optional_fields(
            user.display_name.as_deref(),
            user.email.as_deref(),
            user.mobile_phone.as_deref(),
            user.comments.as_deref(),
        )?;
        let mut w = self.write().await?;
        self.require_account(&mut w.tx, account).await?;
        let count = sqlx::query("SELECT COUNT(*) AS n FROM users WHERE account_id = $1")
            .bind(account.as_str().to_owned())
            .fetch_one(&mut *w.tx)
            .await
            .map_err(|e| db_error("count users", &e))?;
        let quota = self.quotas_in(&mut w.tx, account).await?.users;
        if get::<i64>(&count, "n")? >= i64::from(quota) {
            return Err(Error::limit_exceeded(Entity::User, quota));
        }
        let sql = sqlx::AssertSqlSafe(format!(
            "INSERT INTO users (account_id, id, name, name_key, display_name, email, mobile_phone, \
             comments, created_at, updated_at, last_login_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, NULL) RETURNING {USER_COLUMNS}"
        ));
        let row = sqlx::query(sql)
            .bind(account.as_str().to_owned())
            .bind(new_numeric_id())
            .bind(user.name.clone())
            .bind(name_key(&user.name))
            .bind(
                user.display_name
                    .clone()
                    .unwrap_or_else(|| user.name.clone()),
            )
            .bind(user.email.clone().unwrap_or_default())
            .bind(user.mobile_phone.clone().unwrap_or_default())
            .bind(user.comments.clone().unwrap_or_default())
            .bind(w.now)
            .fetch_one(&mut *w.tx)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    Error::already_exists(Entity::User)
                } else {
                    db_error("create user", &e)
                }
            })?;
        let value = user_from_row(&row)?;
        w.changed(Some(account), EntityKind::User, &name_key(&value.name))
            .await?;
        let revision = w.commit().await?;
        Ok(Committed { value, revision })
    }

    async fn get_user(&self, account: &AccountId, name: &str) -> Result<User> {
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(|e| db_error("acquire", &e))?;
        SqlStore::fetch_user(&mut conn, account, name).await
    }

    async fn update_user(
        &self,
        account: &AccountId,
        name: &str,
        update: &UserUpdate,
    ) -> Result<Committed<User>> {
        if let Some(new_name) = &update.new_name {
            names::user_name(new_name)?;
        }
        validate_optional_fields(
            update.display_name.as_deref(),
            update.email.as_deref(),
            update.mobile_phone.as_deref(),
            update.comments.as_deref(),
        )?;
        let mut w = self.write().await?;
        let current = SqlStore::fetch_user(&mut w.tx, account, name).await?;
        let new_name = update
            .new_name
            .clone()
            .unwrap_or_else(|| current.name.clone());
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE users SET name = $3, name_key = $4, display_name = $5, email = $6, \
             mobile_phone = $7, comments = $8, updated_at = $9 \
             WHERE account_id = $1 AND id = $2 RETURNING {USER_COLUMNS}"
        ));
        let row = sqlx::query(sql)
            .bind(account.as_str().to_owned())
            .bind(current.id.clone())
            .bind(new_name.clone())
            .bind(name_key(&new_name))
            .bind(update.display_name.clone().unwrap_or(current.display_name))
            .bind(update.email.clone().unwrap_or(current.email))
            .bind(update.mobile_phone.clone().unwrap_or(current.mobile_phone))
            .bind(update.comments.clone().unwrap_or(current.comments))
            .bind(w.now)
            .fetch_one(&mut *w.tx)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    Error::already_exists(Entity::User)
                } else {
                    db_error("update user", &e)
                }
            })?;
        let value = user_from_row(&row)?;
        w.changed(Some(account), EntityKind::User, &name_key(&current.name))
            .await?;
        if name_key(&current.name) != name_key(&value.name) {
            w.changed(Some(account), EntityKind::User, &name_key(&value.name))
                .await?;
        }
        let revision = w.commit().await?;
        Ok(Committed { value, revision })
    }

    async fn delete_user(&self, account: &AccountId, name: &str) -> Result<Committed<()>> {
        let mut w = self.write().await?;
        let id = SqlStore::user_id(&mut w.tx, account, name).await?;
        let conflicts: [(&'static str, &'static str, &'static str); 5] = [
            (
                "SELECT 1 AS one FROM access_keys WHERE account_id = $1 AND user_id = $2",
                "User.AccessKey",
                "The user CAN NOT be deleted while it has access keys.",
            ),
            (
                "SELECT 1 AS one FROM login_profiles WHERE account_id = $1 AND user_id = $2",
                "User.LoginProfile",
                "The user CAN NOT be deleted while it has a login profile.",
            ),
            (
                "SELECT 1 AS one FROM virtual_mfa_devices WHERE account_id = $1 AND user_id = $2",
                "User.MFADevice",
                "The user CAN NOT be deleted while it has an MFA device bound.",
            ),
            (
                "SELECT 1 AS one FROM group_members WHERE account_id = $1 AND user_id = $2",
                "User.Group",
                "The user CAN NOT be deleted while it is a member of groups.",
            ),
            (
                "SELECT 1 AS one FROM attachments \
                 WHERE account_id = $1 AND target_kind = 'user' AND target_id = $2",
                "User.Policy",
                "The user CAN NOT be deleted while it has attached policies.",
            ),
        ];
        for (sql, code, message) in conflicts {
            if SqlStore::exists(&mut w.tx, sql, account, &id).await? {
                return Err(Error::delete_conflict(code, message));
            }
        }
        sqlx::query("DELETE FROM users WHERE account_id = $1 AND id = $2")
            .bind(account.as_str().to_owned())
            .bind(id)
            .execute(&mut *w.tx)
            .await
            .map_err(|e| db_error("delete user", &e))?;
        w.changed(Some(account), EntityKind::User, &name_key(name))
            .await?;
        let revision = w.commit().await?;
        Ok(Committed {
            value: (),
            revision,
        })
    }

    async fn list_users(&self, account: &AccountId, page: &Page) -> Result<Paged<User>> {
        let (limit, marker) = page_bounds(page, 1000)?;
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT name_key, {USER_COLUMNS} FROM users \
             WHERE account_id = $1 AND name_key > $2 ORDER BY name_key LIMIT $3"
        ));
        let rows = sqlx::query(sql)
            .bind(account.as_str().to_owned())
            .bind(marker)
            .bind(limit + 1)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error("list users", &e))?;
        let items = rows
            .iter()
            .map(|row| Ok((get(row, "name_key")?, user_from_row(row)?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(paged(items, limit))
    }

    async fn load_user_principal(
        &self,
        account: &AccountId,
        name: &str,
    ) -> Result<(UserPrincipal, Revision)> {
        // Two queries in one snapshot: the user (with the snapshot's revision), then its
        // groups and the default versions of its and its groups' policies together.
        let mut tx = self.read().await?;
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS}, (SELECT value FROM revision WHERE id = 1) AS revision \
             FROM users WHERE account_id = $1 AND name_key = $2"
        ));
        let row = sqlx::query(sql)
            .bind(account.as_str().to_owned())
            .bind(name_key(name))
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| db_error("load user", &e))?
            .ok_or_else(|| Error::not_exist(Entity::User))?;
        let user = user_from_row(&row)?;
        let revision = Revision(get(&row, "revision")?);
        let rows = sqlx::query(
            "SELECT 'group' AS kind, g.name AS name, '' AS policy_type, 0 AS default_version, \
                    '' AS document, g.name_key AS sort_key \
             FROM group_members m JOIN groups g ON g.account_id = m.account_id AND g.id = m.group_id \
             WHERE m.account_id = $1 AND m.user_id = $2 \
             UNION ALL \
             SELECT 'policy', p.name, p.policy_type, p.default_version, v.document, p.name_key \
             FROM (SELECT DISTINCT policy_account, policy_id FROM attachments \
                   WHERE account_id = $1 AND ((target_kind = 'user' AND target_id = $2) \
                      OR (target_kind = 'group' AND target_id IN \
                          (SELECT group_id FROM group_members WHERE account_id = $1 AND user_id = $2)))) a \
             JOIN policies p ON p.account_id = a.policy_account AND p.id = a.policy_id \
             JOIN policy_versions v ON v.account_id = p.account_id AND v.policy_id = p.id \
                AND v.version = p.default_version \
             ORDER BY kind, policy_type, sort_key",
        )
        .bind(account.as_str().to_owned())
        .bind(user.id.clone())
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| db_error("user groups and policies", &e))?;
        let mut groups = Vec::new();
        let mut policies = Vec::new();
        for row in &rows {
            if get::<String>(row, "kind")? == "group" {
                groups.push(get::<String>(row, "name")?);
            } else {
                policies.push(loaded_policy_from_row(row)?);
            }
        }
        tx.commit().await.map_err(|e| db_error("read", &e))?;
        Ok((
            UserPrincipal {
                user,
                groups,
                policies,
            },
            revision,
        ))
    }

    async fn record_user_login(
        &self,
        account: &AccountId,
        name: &str,
        at: Timestamp,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE users SET last_login_at = $3 WHERE account_id = $1 AND name_key = $2",
        )
        .bind(account.as_str().to_owned())
        .bind(name_key(name))
        .bind(micros(at))
        .execute(&self.pool)
        .await
        .map_err(|e| db_error("record login", &e))?;
        if done.rows_affected() == 0 {
            return Err(Error::not_exist(Entity::User));
        }
        Ok(())
    }
}

/// A `(policy_type, name, default_version, document)` row.
pub(crate) fn loaded_policy_from_row(row: &AnyRow) -> Result<LoadedPolicy> {
    let policy_type =
        PolicyType::parse(&get::<String>(row, "policy_type")?).map_err(|_| Error::internal())?;
    Ok(LoadedPolicy {
        name: get(row, "name")?,
        policy_type,
        version_id: format!("v{}", get::<i64>(row, "default_version")?),
        document: get(row, "document")?,
    })
}
