//! Access keys of users and of accounts' root identities.
//!
//! A key belongs to exactly one owner: a user (by id, so renaming the user keeps its keys) or
//! the account's root identity (`user_id` NULL). Every tenant-facing method addresses a key by
//! account, owner and key id together, so a key id of another owner or account is simply
//! `EntityNotExist.User.AccessKey`. Only [`KeyStore::find_access_key`] starts from the key id
//! alone: it is how authentication learns the account.

use async_trait::async_trait;
use jiff::Timestamp;
use sqlx::AnyConnection;
use sqlx::any::AnyRow;
use tessera_iam::{AccountId, Entity, Error, Result};

use crate::model::{
    AccessKey, AccessKeyOwner, AccessKeyStatus, AccountStatus, Committed, EntityKind, NewAccessKey,
};
use crate::sql::{SqlStore, WriteTx, db_error, get, get_opt_time, get_time, micros};

/// Access keys. `user` is the owning user's name, or `None` for the account's root identity.
///
/// Every write that changes what an authentication cache may hold (create, status change,
/// delete) appends an [`EntityKind::AccessKey`] change whose entity is the key id.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Creates an `Active` key. At most `access_keys_per_user` keys per owner (the root
    /// identity included) → `LimitExceeded.User.AccessKey`.
    async fn create_access_key(
        &self,
        account: &AccountId,
        user: Option<&str>,
        key: &NewAccessKey,
    ) -> Result<Committed<AccessKey>>;
    /// The owner's keys, oldest first.
    async fn list_access_keys(
        &self,
        account: &AccountId,
        user: Option<&str>,
    ) -> Result<Vec<AccessKey>>;
    /// `UpdateAccessKey`.
    async fn update_access_key_status(
        &self,
        account: &AccountId,
        user: Option<&str>,
        key_id: &str,
        status: AccessKeyStatus,
    ) -> Result<Committed<AccessKey>>;
    async fn delete_access_key(
        &self,
        account: &AccountId,
        user: Option<&str>,
        key_id: &str,
    ) -> Result<Committed<()>>;
    /// Whose key `key_id` is, with its status and sealed secret; `None` if no such key. The one
    /// cross-account lookup, for authentication.
    async fn find_access_key(&self, key_id: &str) -> Result<Option<AccessKeyOwner>>;
    /// Records a use of the key (`last_used_at` only moves forward). Not a change-log event and
    /// takes no revision. `EntityNotExist.User.AccessKey` if the key is not the account's.
    async fn record_access_key_use(
        &self,
        account: &AccountId,
        key_id: &str,
        at: Timestamp,
    ) -> Result<()>;
    /// `GetAccessKeyLastUsed`: `None` if the key was never used.
    async fn get_access_key_last_used(
        &self,
        account: &AccountId,
        user: Option<&str>,
        key_id: &str,
    ) -> Result<Option<Timestamp>>;
}

const KEY_COLUMNS: &str = "id, status, created_at, last_used_at";

/// How an owner is matched in SQL: `COALESCE(user_id, '') = $owner`, where the root identity's
/// owner key is `''` (user ids are never empty).
pub(crate) const ROOT_OWNER: &str = "";

fn key_from_row(row: &AnyRow) -> Result<AccessKey> {
    let status = AccessKeyStatus::parse(&get::<String>(row, "status")?).map_err(|_| {
        tracing::error!(target: "tessera_store", "access key with an unknown status");
        Error::internal()
    })?;
    Ok(AccessKey {
        id: get(row, "id")?,
        status,
        created_at: get_time(row, "created_at")?,
        last_used_at: get_opt_time(row, "last_used_at")?,
    })
}

/// The checks of a new key that need no database.
pub(crate) fn validate_new_key(key: &NewAccessKey) -> Result<()> {
    validate_key_id(&key.id)?;
    if key.sealed_secret.is_empty() {
        return Err(Error::missing("AccessKeySecret"));
    }
    Ok(())
}

fn validate_key_id(id: &str) -> Result<()> {
    if id.is_empty() || id.len() > 128 {
        return Err(Error::length("AccessKeyId", 1, 128));
    }
    if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    {
        return Err(Error::invalid_chars("AccessKeyId"));
    }
    Ok(())
}

impl SqlStore {
    /// The owner key of `user` (its id) or of the root identity (`''`): `EntityNotExist.User`
    /// for an unknown user.
    async fn key_owner(
        conn: &mut AnyConnection,
        account: &AccountId,
        user: Option<&str>,
    ) -> Result<String> {
        match user {
            Some(name) => SqlStore::user_id(conn, account, name).await,
            None => Ok(ROOT_OWNER.to_owned()),
        }
    }

    /// Inserts an `Active` key of `owner` (a user id, or [`ROOT_OWNER`]) inside `w`, after the
    /// owner's quota check (`LimitExceeded.User.AccessKey`), and appends its change. The
    /// account must exist (checked by the caller in the same transaction).
    pub(crate) async fn insert_access_key(
        &self,
        w: &mut WriteTx,
        account: &AccountId,
        owner: String,
        key: &NewAccessKey,
    ) -> Result<AccessKey> {
        let count = sqlx::query(
            "SELECT COUNT(*) AS n FROM access_keys \
             WHERE account_id = $1 AND COALESCE(user_id, '') = $2",
        )
        .bind(account.as_str().to_owned())
        .bind(owner.clone())
        .fetch_one(&mut *w.tx)
        .await
        .map_err(|e| db_error("count access keys", &e))?;
        let quota = self
            .quotas_in(&mut w.tx, account)
            .await?
            .access_keys_per_user;
        if get::<i64>(&count, "n")? >= i64::from(quota) {
            return Err(Error::limit_exceeded(Entity::AccessKey, quota));
        }
        let sql = sqlx::AssertSqlSafe(format!(
            "INSERT INTO access_keys \
             (id, account_id, user_id, sealed_secret, status, created_at, last_used_at) \
             VALUES ($1, $2, $3, $4, 'Active', $5, NULL) RETURNING {KEY_COLUMNS}"
        ));
        // A duplicate id (ids are random) fails as an internal error: which account holds the
        // id is nobody's business.
        let row = sqlx::query(sql)
            .bind(key.id.clone())
            .bind(account.as_str().to_owned())
            .bind((!owner.is_empty()).then_some(owner))
            .bind(key.sealed_secret.clone())
            .bind(w.now)
            .fetch_one(&mut *w.tx)
            .await
            .map_err(|e| db_error("create access key", &e))?;
        let value = key_from_row(&row)?;
        w.changed(Some(account), EntityKind::AccessKey, &value.id)
            .await?;
        Ok(value)
    }
}

#[async_trait]
impl KeyStore for SqlStore {
    async fn create_access_key(
        &self,
        account: &AccountId,
        user: Option<&str>,
        key: &NewAccessKey,
    ) -> Result<Committed<AccessKey>> {
        validate_new_key(key)?;
        let mut w = self.write().await?;
        self.require_account(&mut w.tx, account).await?;
        let owner = SqlStore::key_owner(&mut w.tx, account, user).await?;
        let value = self.insert_access_key(&mut w, account, owner, key).await?;
        w.commit_with(value).await
    }

    async fn list_access_keys(
        &self,
        account: &AccountId,
        user: Option<&str>,
    ) -> Result<Vec<AccessKey>> {
        let mut tx = self.read().await?;
        let owner = SqlStore::key_owner(&mut tx, account, user).await?;
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {KEY_COLUMNS} FROM access_keys \
             WHERE account_id = $1 AND COALESCE(user_id, '') = $2 ORDER BY created_at, id"
        ));
        let rows = sqlx::query(sql)
            .bind(account.as_str().to_owned())
            .bind(owner)
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| db_error("list access keys", &e))?;
        tx.commit().await.map_err(|e| db_error("read", &e))?;
        rows.iter().map(key_from_row).collect()
    }

    async fn update_access_key_status(
        &self,
        account: &AccountId,
        user: Option<&str>,
        key_id: &str,
        status: AccessKeyStatus,
    ) -> Result<Committed<AccessKey>> {
        let mut w = self.write().await?;
        let owner = SqlStore::key_owner(&mut w.tx, account, user).await?;
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE access_keys SET status = $4 \
             WHERE account_id = $1 AND id = $2 AND COALESCE(user_id, '') = $3 \
             RETURNING {KEY_COLUMNS}"
        ));
        let row = sqlx::query(sql)
            .bind(account.as_str().to_owned())
            .bind(key_id.to_owned())
            .bind(owner)
            .bind(status.as_str())
            .fetch_optional(&mut *w.tx)
            .await
            .map_err(|e| db_error("update access key", &e))?
            .ok_or_else(|| Error::not_exist(Entity::AccessKey))?;
        let value = key_from_row(&row)?;
        w.changed(Some(account), EntityKind::AccessKey, &value.id)
            .await?;
        w.commit_with(value).await
    }

    async fn delete_access_key(
        &self,
        account: &AccountId,
        user: Option<&str>,
        key_id: &str,
    ) -> Result<Committed<()>> {
        let mut w = self.write().await?;
        let owner = SqlStore::key_owner(&mut w.tx, account, user).await?;
        let done = sqlx::query(
            "DELETE FROM access_keys \
             WHERE account_id = $1 AND id = $2 AND COALESCE(user_id, '') = $3",
        )
        .bind(account.as_str().to_owned())
        .bind(key_id.to_owned())
        .bind(owner)
        .execute(&mut *w.tx)
        .await
        .map_err(|e| db_error("delete access key", &e))?;
        if done.rows_affected() == 0 {
            return Err(Error::not_exist(Entity::AccessKey));
        }
        w.changed(Some(account), EntityKind::AccessKey, key_id)
            .await?;
        w.commit_with(()).await
    }

    async fn find_access_key(&self, key_id: &str) -> Result<Option<AccessKeyOwner>> {
        let row = sqlx::query(
            "SELECT k.account_id, a.status AS account_status, u.name AS user_name, k.user_id, \
                k.status, k.sealed_secret \
             FROM access_keys k \
             JOIN accounts a ON a.id = k.account_id \
             LEFT JOIN users u ON u.account_id = k.account_id AND u.id = k.user_id \
             WHERE k.id = $1",
        )
        .bind(key_id.to_owned())
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| db_error("find access key", &e))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let account = AccountId::parse(&get::<String>(&row, "account_id")?).map_err(|_| {
            tracing::error!(target: "tessera_store", "access key of a malformed account id");
            Error::internal()
        })?;
        let user_id: Option<String> = get(&row, "user_id")?;
        let user_name: Option<String> = get(&row, "user_name")?;
        if user_id.is_some() && user_name.is_none() {
            // The foreign key makes this impossible; never present a user's key as root's.
            tracing::error!(target: "tessera_store", "access key of a missing user");
            return Err(Error::internal());
        }
        let status = AccessKeyStatus::parse(&get::<String>(&row, "status")?).map_err(|_| {
            tracing::error!(target: "tessera_store", "access key with an unknown status");
            Error::internal()
        })?;
        Ok(Some(AccessKeyOwner {
            account,
            account_status: AccountStatus::from_db(&get::<String>(&row, "account_status")?),
            user_name,
            status,
            sealed_secret: get(&row, "sealed_secret")?,
        }))
    }

    async fn record_access_key_use(
        &self,
        account: &AccountId,
        key_id: &str,
        at: Timestamp,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE access_keys SET last_used_at = CASE \
                WHEN last_used_at IS NULL OR last_used_at < $3 THEN $3 ELSE last_used_at END \
             WHERE account_id = $1 AND id = $2",
        )
        .bind(account.as_str().to_owned())
        .bind(key_id.to_owned())
        .bind(micros(at))
        .execute(&self.pool)
        .await
        .map_err(|e| db_error("record access key use", &e))?;
        if done.rows_affected() == 0 {
            return Err(Error::not_exist(Entity::AccessKey));
        }
        Ok(())
    }

    async fn get_access_key_last_used(
        &self,
        account: &AccountId,
        user: Option<&str>,
        key_id: &str,
    ) -> Result<Option<Timestamp>> {
        let mut tx = self.read().await?;
        let owner = SqlStore::key_owner(&mut tx, account, user).await?;
        let row = sqlx::query(
            "SELECT last_used_at FROM access_keys \
             WHERE account_id = $1 AND id = $2 AND COALESCE(user_id, '') = $3",
        )
        .bind(account.as_str().to_owned())
        .bind(key_id.to_owned())
        .bind(owner)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| db_error("access key last used", &e))?
        .ok_or_else(|| Error::not_exist(Entity::AccessKey))?;
        tx.commit().await.map_err(|e| db_error("read", &e))?;
        get_opt_time(&row, "last_used_at")
    }
}
