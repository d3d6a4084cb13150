//! Accounts (tenants): operator-level records, plus per-account usage and quotas.

use async_trait::async_trait;
use sqlx::any::AnyRow;
use tessera_iam::{AccountId, Entity, Error, QuotaName, Quotas, Result, names};

use crate::keys::{ROOT_OWNER, validate_new_key};
use crate::model::{
    AccessKey, Account, AccountStatus, Committed, EntityKind, NewAccessKey, Page, Paged,
};
use crate::sql::{
    SqlStore, WriteTx, db_error, exists_or_db_error, get, get_time, new_numeric_id, page_bounds,
    paged,
};

/// Accounts (tenants); operator-level.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Creates an active account with a fresh 16-digit id. Names: 1–64 characters, no control
    /// characters (`InvalidParameter.AccountName.Length` / `.InvalidChars`); not unique.
    async fn create_account(&self, name: &str) -> Result<Committed<Account>>;
    /// [`AccountStore::create_account`] and the first access key of the new account's root
    /// identity in one transaction: both exist, or (on any failure) neither. Changes:
    /// [`EntityKind::Account`] and [`EntityKind::AccessKey`], at one revision.
    async fn create_account_with_root_key(
        &self,
        name: &str,
        key: &NewAccessKey,
    ) -> Result<Committed<(Account, AccessKey)>>;
    async fn get_account(&self, account: &AccountId) -> Result<Account>;
    async fn list_accounts(&self, page: &Page) -> Result<Paged<Account>>;
    async fn set_account_status(
        &self,
        account: &AccountId,
        status: AccountStatus,
    ) -> Result<Committed<Account>>;
    /// `SetAccountAlias` (`Some`) / `ClearAccountAlias` (`None`). Aliases are unique globally.
    async fn set_account_alias(
        &self,
        account: &AccountId,
        alias: Option<&str>,
    ) -> Result<Committed<Account>>;
    /// Counts of the account's entities, for `GetAccountSummary`.
    async fn account_usage(&self, account: &AccountId) -> Result<AccountUsage>;
    /// The account's quotas: the deployment defaults with this account's overrides.
    async fn quotas(&self, account: &AccountId) -> Result<Quotas>;
    /// Overrides one quota for this account (`None` returns it to the deployment default).
    /// Lowering a quota below current usage blocks new entities; nothing is deleted.
    async fn set_account_quota(
        &self,
        account: &AccountId,
        name: QuotaName,
        value: Option<u32>,
    ) -> Result<Committed<Quotas>>;
}

/// Entity counts of one account.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccountUsage {
    pub users: u32,
    pub groups: u32,
    pub roles: u32,
    pub custom_policies: u32,
    pub access_keys: u32,
    pub virtual_mfa_devices: u32,
    /// Virtual MFA devices bound to a user.
    pub virtual_mfa_devices_in_use: u32,
}

fn account_from_row(row: &AnyRow) -> Result<Account> {
    let id: String = get(row, "id")?;
    Ok(Account {
        id: AccountId::parse(&id).map_err(|_| Error::internal())?,
        name: get(row, "name")?,
        alias: get(row, "alias")?,
        status: AccountStatus::from_db(&get::<String>(row, "status")?),
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

fn validate_account_name(name: &str) -> Result<()> {
    let len = name.chars().count();
    if !(1..=64).contains(&len) {
        return Err(Error::length("AccountName", 1, 64));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid_chars("AccountName"));
    }
    Ok(())
}

impl SqlStore {
    /// Inserts an active account with a fresh id inside `w` and appends its change.
    async fn insert_account(&self, w: &mut WriteTx, name: &str) -> Result<Account> {
        let id = new_numeric_id();
        let row = sqlx::query(
            "INSERT INTO accounts (id, name, alias, status, created_at, updated_at) \
             VALUES ($1, $2, NULL, 'Active', $3, $3) \
             RETURNING id, name, alias, status, created_at, updated_at",
        )
        .bind(id.clone())
        .bind(name.to_owned())
        .bind(w.now)
        .fetch_one(&mut *w.tx)
        .await
        .map_err(|e| db_error("create account", &e))?;
        let account = account_from_row(&row)?;
        w.changed(Some(&account.id), EntityKind::Account, &id)
            .await?;
        Ok(account)
    }

    /// Fails with `EntityNotExist.Account` unless the account exists. Every tenant-scoped
    /// write calls this first, inside its transaction.
    pub(crate) async fn require_account(
        &self,
        conn: &mut sqlx::AnyConnection,
        account: &AccountId,
    ) -> Result<()> {
        let found = sqlx::query("SELECT 1 AS one FROM accounts WHERE id = $1")
            .bind(account.as_str().to_owned())
            .fetch_optional(conn)
            .await
            .map_err(|e| db_error("account", &e))?;
        found
            .map(|_| ())
            .ok_or_else(|| Error::not_exist(Entity::Account))
    }

    /// The deployment quotas with `account`'s overrides, read on `conn` (inside a write, so a
    /// quota check and the insert it guards see the same overrides).
    pub(crate) async fn quotas_in(
        &self,
        conn: &mut sqlx::AnyConnection,
        account: &AccountId,
    ) -> Result<Quotas> {
        let rows = sqlx::query("SELECT name, value FROM account_quotas WHERE account_id = $1")
            .bind(account.as_str().to_owned())
            .fetch_all(conn)
            .await
            .map_err(|e| db_error("quotas", &e))?;
        let mut quotas = self.quotas;
        for row in &rows {
            let name: String = get(row, "name")?;
            let value: i64 = get(row, "value")?;
            // Unknown names come from a newer version of Tessera: ignore them.
            if let Some(name) = QuotaName::parse(&name) {
                quotas.set(name, u32::try_from(value).unwrap_or(u32::MAX));
            }
        }
        Ok(quotas)
    }

    async fn count(&self, sql: &'static str, account: &AccountId) -> Result<u32> {
        let row = sqlx::query(sql)
            .bind(account.as_str().to_owned())
            .fetch_one(&self.pool)
            .await
            .map_err(|e| db_error("count", &e))?;
        Ok(u32::try_from(get::<i64>(&row, "n")?).unwrap_or(u32::MAX))
    }
}

#[async_trait]
impl AccountStore for SqlStore {
    async fn create_account(&self, name: &str) -> Result<Committed<Account>> {
        validate_account_name(name)?;
        let mut w = self.write().await?;
        let account = self.insert_account(&mut w, name).await?;
        w.commit_with(account).await
    }

    async fn create_account_with_root_key(
        &self,
        name: &str,
        key: &NewAccessKey,
    ) -> Result<Committed<(Account, AccessKey)>> {
        validate_account_name(name)?;
        validate_new_key(key)?;
        let mut w = self.write().await?;
        let account = self.insert_account(&mut w, name).await?;
        let root_key = self
            .insert_access_key(&mut w, &account.id, ROOT_OWNER.to_owned(), key)
            .await?;
        w.commit_with((account, root_key)).await
    }

    async fn get_account(&self, account: &AccountId) -> Result<Account> {
        let row = sqlx::query(
            "SELECT id, name, alias, status, created_at, updated_at FROM accounts WHERE id = $1",
        )
        .bind(account.as_str().to_owned())
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| db_error("get account", &e))?
        .ok_or_else(|| Error::not_exist(Entity::Account))?;
        account_from_row(&row)
    }

    async fn list_accounts(&self, page: &Page) -> Result<Paged<Account>> {
        let (limit, marker) = page_bounds(page, 1000)?;
        let rows = sqlx::query(
            "SELECT id, name, alias, status, created_at, updated_at FROM accounts \
             WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(marker)
        .bind(limit + 1)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error("list accounts", &e))?;
        let items = rows
            .iter()
            .map(|row| account_from_row(row).map(|a| (a.id.as_str().to_owned(), a)))
            .collect::<Result<Vec<_>>>()?;
        Ok(paged(items, limit))
    }

    async fn set_account_status(
        &self,
        account: &AccountId,
        status: AccountStatus,
    ) -> Result<Committed<Account>> {
        let mut w = self.write().await?;
        let row = sqlx::query(
            "UPDATE accounts SET status = $2, updated_at = $3 WHERE id = $1 \
             RETURNING id, name, alias, status, created_at, updated_at",
        )
        .bind(account.as_str().to_owned())
        .bind(status.as_str())
        .bind(w.now)
        .fetch_optional(&mut *w.tx)
        .await
        .map_err(|e| db_error("account status", &e))?
        .ok_or_else(|| Error::not_exist(Entity::Account))?;
        let value = account_from_row(&row)?;
        w.changed(Some(account), EntityKind::Account, account.as_str())
            .await?;
        w.commit_with(value).await
    }

    async fn set_account_alias(
        &self,
        account: &AccountId,
        alias: Option<&str>,
    ) -> Result<Committed<Account>> {
        if let Some(alias) = alias {
            names::account_alias(alias)?;
        }
        let mut w = self.write().await?;
        let row = sqlx::query(
            "UPDATE accounts SET alias = $2, updated_at = $3 WHERE id = $1 \
             RETURNING id, name, alias, status, created_at, updated_at",
        )
        .bind(account.as_str().to_owned())
        .bind(alias.map(str::to_owned))
        .bind(w.now)
        .fetch_optional(&mut *w.tx)
        .await
        .map_err(exists_or_db_error(Entity::AccountAlias, "account alias"))?
        .ok_or_else(|| Error::not_exist(Entity::Account))?;
        let value = account_from_row(&row)?;
        w.changed(Some(account), EntityKind::Account, account.as_str())
            .await?;
        w.commit_with(value).await
    }

    async fn account_usage(&self, account: &AccountId) -> Result<AccountUsage> {
        self.get_account(account).await?;
        Ok(AccountUsage {
            users: self
                .count(
                    "SELECT COUNT(*) AS n FROM users WHERE account_id = $1",
                    account,
                )
                .await?,
            groups: self
                .count(
                    "SELECT COUNT(*) AS n FROM groups WHERE account_id = $1",
                    account,
                )
                .await?,
            roles: self
                .count(
                    "SELECT COUNT(*) AS n FROM roles WHERE account_id = $1",
                    account,
                )
                .await?,
            custom_policies: self
                .count(
                    "SELECT COUNT(*) AS n FROM policies WHERE account_id = $1",
                    account,
                )
                .await?,
            access_keys: self
                .count(
                    "SELECT COUNT(*) AS n FROM access_keys WHERE account_id = $1",
                    account,
                )
                .await?,
            virtual_mfa_devices: self
                .count(
                    "SELECT COUNT(*) AS n FROM virtual_mfa_devices WHERE account_id = $1",
                    account,
                )
                .await?,
            virtual_mfa_devices_in_use: self
                .count(
                    "SELECT COUNT(*) AS n FROM virtual_mfa_devices \
                     WHERE account_id = $1 AND user_id IS NOT NULL",
                    account,
                )
                .await?,
        })
    }

    async fn quotas(&self, account: &AccountId) -> Result<Quotas> {
        let mut conn = self.conn().await?;
        self.require_account(&mut conn, account).await?;
        self.quotas_in(&mut conn, account).await
    }

    async fn set_account_quota(
        &self,
        account: &AccountId,
        name: QuotaName,
        value: Option<u32>,
    ) -> Result<Committed<Quotas>> {
        let mut w = self.write().await?;
        self.require_account(&mut w.tx, account).await?;
        sqlx::query("DELETE FROM account_quotas WHERE account_id = $1 AND name = $2")
            .bind(account.as_str().to_owned())
            .bind(name.as_str())
            .execute(&mut *w.tx)
            .await
            .map_err(|e| db_error("quota", &e))?;
        if let Some(value) = value {
            sqlx::query("INSERT INTO account_quotas (account_id, name, value) VALUES ($1, $2, $3)")
                .bind(account.as_str().to_owned())
                .bind(name.as_str())
                .bind(i64::from(value))
                .execute(&mut *w.tx)
                .await
                .map_err(|e| db_error("quota", &e))?;
        }
        let quotas = self.quotas_in(&mut w.tx, account).await?;
        w.changed(Some(account), EntityKind::Account, account.as_str())
            .await?;
        w.commit_with(quotas).await
    }
}
