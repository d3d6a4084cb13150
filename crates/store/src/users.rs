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
    SqlStore, db_error, exists_or_db_error, get, get_opt_time, get_time, micros, name_key,
    new_numeric_id,
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
            .map_err(exists_or_db_error(Entity::User, "create user"))?;
        let value = user_from_row(&row)?;
        w.changed(Some(account), EntityKind::User, &name_key(&value.name))
            .await?;
        w.commit_with(value).await
    }

    async fn get_user(&self, account: &AccountId, name: &str) -> Result<User> {
        let mut conn = self.conn().await?;
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
            .map_err(exists_or_db_error(Entity::User, "update user"))?;
        let value = user_from_row(&row)?;
        w.changed(Some(account), EntityKind::User, &name_key(&current.name))
            .await?;
        if name_key(&current.name) != name_key(&value.name) {
            w.changed(Some(account), EntityKind::User, &name_key(&value.name))
                .await?;
        }
        w.commit_with(value).await
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
        w.commit_with(()).await
    }

    async fn list_users(&self, account: &AccountId, page: &Page) -> Result<Paged<User>> {
        self.list_by_name("users", USER_COLUMNS, account, page, 1000, user_from_row)
            .await
    }

    async fn load_user_principal(
        &self,
        account: &AccountId,
        name: &str,
    ) -> Result<(UserPrincipal, Revision)> {
        // One statement, so one snapshot and one round trip: part 0 is the user (with the
        // snapshot's revision), part 1 its groups, part 2 the default versions of the
        // policies attached to it or to its groups.
        let rows = sqlx::query(
            "WITH u AS (SELECT id, name, name_key, display_name, email, mobile_phone, comments, \
                    created_at, updated_at, last_login_at \
                    FROM users WHERE account_id = $1 AND name_key = $2) \
             SELECT 0 AS part, u.name AS name, u.id AS t1, u.display_name AS t2, u.email AS t3, \
                    u.mobile_phone AS t4, u.comments AS t5, u.created_at AS n1, \
                    u.updated_at AS n2, u.last_login_at AS n3, \
                    (SELECT value FROM revision WHERE id = 1) AS n4, u.name_key AS sort_key \
             FROM u \
             UNION ALL \
             SELECT 1, g.name, '', '', '', '', '', 0, 0, NULL, 0, g.name_key \
             FROM u JOIN group_members m ON m.account_id = $1 AND m.user_id = u.id \
             JOIN groups g ON g.account_id = m.account_id AND g.id = m.group_id \
             UNION ALL \
             SELECT 2, p.name, p.policy_type, v.document, '', '', '', p.default_version, 0, \
                    NULL, 0, p.name_key \
             FROM (SELECT a.policy_account, a.policy_id FROM u JOIN attachments a \
                     ON a.account_id = $1 AND a.target_kind = 'user' AND a.target_id = u.id \
                   UNION \
                   SELECT ga.policy_account, ga.policy_id FROM u \
                   JOIN group_members gm ON gm.account_id = $1 AND gm.user_id = u.id \
                   JOIN attachments ga ON ga.account_id = gm.account_id \
                     AND ga.target_kind = 'group' AND ga.target_id = gm.group_id) a \
             JOIN policies p ON p.account_id = a.policy_account AND p.id = a.policy_id \
             JOIN policy_versions v ON v.account_id = p.account_id AND v.policy_id = p.id \
                AND v.version = p.default_version \
             ORDER BY part, t1, sort_key",
        )
        .bind(account.as_str().to_owned())
        .bind(name_key(name))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error("load user", &e))?;
        let (first, rest) = rows
            .split_first()
            .ok_or_else(|| Error::not_exist(Entity::User))?;
        let user = User {
            id: get(first, "t1")?,
            name: get(first, "name")?,
            display_name: get(first, "t2")?,
            email: get(first, "t3")?,
            mobile_phone: get(first, "t4")?,
            comments: get(first, "t5")?,
            created_at: get_time(first, "n1")?,
            updated_at: get_time(first, "n2")?,
            last_login_at: get_opt_time(first, "n3")?,
        };
        let revision = Revision(get(first, "n4")?);
        let mut groups = Vec::new();
        let mut policies = Vec::new();
        for row in rest {
            match get::<i64>(row, "part")? {
                1 => groups.push(get::<String>(row, "name")?),
                _ => policies.push(loaded_policy_from_row(row)?),
            }
        }
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

/// A policy row of a principal-loading query: `name`, `t1` = policy type, `n1` = default
/// version, `t2` = document (the layout both `load_user_principal` and `load_role_principal`
/// use for their policy part).
pub(crate) fn loaded_policy_from_row(row: &AnyRow) -> Result<LoadedPolicy> {
    let policy_type =
        PolicyType::parse(&get::<String>(row, "t1")?).map_err(|_| Error::internal())?;
    Ok(LoadedPolicy {
        name: get(row, "name")?,
        policy_type,
        version_id: format!("v{}", get::<i64>(row, "n1")?),
        document: get(row, "t2")?,
    })
}
