//! OIDC identity providers: the issuer, its client ids and certificate fingerprints.
//!
//! Field rules are [`tessera_iam::oidc`]'s; the store accepts `http://` issuers too (the server
//! refuses them unless the deployment allows them, for tests). Names are unique
//! case-insensitively (`EntityAlreadyExists.OIDCProvider`), an issuer URL once per account
//! (`EntityAlreadyExists.OIDCProvider.IssuerUrl`); at most 50 client ids
//! (`LimitExceeded.OIDCProvider.ClientId`) and 5 fingerprints
//! (`LimitExceeded.OIDCProvider.Fingerprint`) per provider, and the account's
//! `OIDCProvidersQuota` providers (`LimitExceeded.OIDCProvider`). Every write logs
//! [`EntityKind::OidcProvider`] with the name key.

use async_trait::async_trait;
use sqlx::AnyConnection;
use sqlx::any::AnyRow;
use tessera_iam::{AccountId, Entity, Error, ErrorKind, Result, oidc};

use crate::model::{
    Committed, EntityKind, NewOidcProvider, OidcProvider, OidcProviderUpdate, Page, Paged,
};
use crate::sql::{SqlStore, WriteTx, db_error, exists_or_db_error, get, get_time, name_key};

/// OIDC identity providers of an account.
#[async_trait]
pub trait OidcProviderStore: Send + Sync {
    /// `CreateOIDCProvider`: validates every field (issuance limit 12 hours by default).
    async fn create_oidc_provider(
        &self,
        account: &AccountId,
        provider: &NewOidcProvider,
    ) -> Result<Committed<OidcProvider>>;
    /// `EntityNotExist.OIDCProvider` when there is none of that name (case-insensitively).
    async fn get_oidc_provider(&self, account: &AccountId, name: &str) -> Result<OidcProvider>;
    /// `UpdateOIDCProvider`: only the fields that are `Some` change.
    async fn update_oidc_provider(
        &self,
        account: &AccountId,
        name: &str,
        update: &OidcProviderUpdate,
    ) -> Result<Committed<OidcProvider>>;
    async fn delete_oidc_provider(&self, account: &AccountId, name: &str) -> Result<Committed<()>>;
    /// `ListOIDCProviders`, ordered by name (case-insensitively); `MaxItems` 1–1000.
    async fn list_oidc_providers(
        &self,
        account: &AccountId,
        page: &Page,
    ) -> Result<Paged<OidcProvider>>;
    /// `AddClientIdToOIDCProvider`: `EntityAlreadyExists.OIDCProvider.ClientId` if present.
    async fn add_oidc_client_id(
        &self,
        account: &AccountId,
        name: &str,
        client_id: &str,
    ) -> Result<Committed<OidcProvider>>;
    /// `RemoveClientIdFromOIDCProvider`: `EntityNotExist.OIDCProvider.ClientId` if absent.
    async fn remove_oidc_client_id(
        &self,
        account: &AccountId,
        name: &str,
        client_id: &str,
    ) -> Result<Committed<OidcProvider>>;
    /// `AddFingerprintToOIDCProvider`: `EntityAlreadyExists.OIDCProvider.Fingerprint` if
    /// present (compared in lower case).
    async fn add_oidc_fingerprint(
        &self,
        account: &AccountId,
        name: &str,
        fingerprint: &str,
    ) -> Result<Committed<OidcProvider>>;
    /// `RemoveFingerprintFromOIDCProvider`: `EntityNotExist.OIDCProvider.Fingerprint` if
    /// absent.
    async fn remove_oidc_fingerprint(
        &self,
        account: &AccountId,
        name: &str,
        fingerprint: &str,
    ) -> Result<Committed<OidcProvider>>;
}

const COLUMNS: &str = "name, issuer_url, client_ids, fingerprints, description, \
     issuance_limit_hours, created_at, updated_at";

fn split(joined: &str) -> Vec<String> {
    joined
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn from_row(row: &AnyRow) -> Result<OidcProvider> {
    Ok(OidcProvider {
        name: get(row, "name")?,
        issuer_url: get(row, "issuer_url")?,
        client_ids: split(&get::<String>(row, "client_ids")?),
        fingerprints: split(&get::<String>(row, "fingerprints")?),
        description: get(row, "description")?,
        issuance_limit_hours: u32::try_from(get::<i64>(row, "issuance_limit_hours")?)
            .map_err(|_| Error::internal())?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

fn issuer_taken() -> Error {
    Error::new(
        ErrorKind::AlreadyExists,
        "EntityAlreadyExists.OIDCProvider.IssuerUrl",
        "An OIDC provider with this IssuerUrl already exists in the account.",
    )
}

impl SqlStore {
    async fn fetch_oidc_provider(
        conn: &mut AnyConnection,
        account: &AccountId,
        name: &str,
    ) -> Result<OidcProvider> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM oidc_providers WHERE account_id = $1 AND name_key = $2"
        ));
        let row = sqlx::query(sql)
            .bind(account.as_str().to_owned())
            .bind(name_key(name))
            .fetch_optional(conn)
            .await
            .map_err(|e| db_error("get OIDC provider", &e))?
            .ok_or_else(|| Error::not_exist(Entity::OidcProvider))?;
        from_row(&row)
    }

    /// Writes `provider`'s mutable fields (read in `w`, changed by the caller) and logs it.
    async fn store_oidc_provider(
        mut w: WriteTx,
        account: &AccountId,
        provider: &OidcProvider,
    ) -> Result<Committed<OidcProvider>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE oidc_providers SET client_ids = $3, fingerprints = $4, description = $5, \
             issuance_limit_hours = $6, updated_at = $7 \
             WHERE account_id = $1 AND name_key = $2 RETURNING {COLUMNS}"
        ));
        let row = sqlx::query(sql)
            .bind(account.as_str().to_owned())
            .bind(name_key(&provider.name))
            .bind(provider.client_ids.join(","))
            .bind(provider.fingerprints.join(","))
            .bind(provider.description.clone())
            .bind(i64::from(provider.issuance_limit_hours))
            .bind(w.now)
            .fetch_one(&mut *w.tx)
            .await
            .map_err(|e| db_error("update OIDC provider", &e))?;
        let value = from_row(&row)?;
        w.changed(
            Some(account),
            EntityKind::OidcProvider,
            &name_key(&value.name),
        )
        .await?;
        w.commit_with(value).await
    }

    /// Reads provider `name` in a new write, applies `change` and stores the result.
    async fn change_oidc_provider(
        &self,
        account: &AccountId,
        name: &str,
        change: impl FnOnce(&mut OidcProvider) -> Result<()> + Send,
    ) -> Result<Committed<OidcProvider>> {
        let mut w = self.write().await?;
        let mut provider = SqlStore::fetch_oidc_provider(&mut w.tx, account, name).await?;
        change(&mut provider)?;
        SqlStore::store_oidc_provider(w, account, &provider).await
    }
}

#[async_trait]
impl OidcProviderStore for SqlStore {
    async fn create_oidc_provider(
        &self,
        account: &AccountId,
        provider: &NewOidcProvider,
    ) -> Result<Committed<OidcProvider>> {
        oidc::provider_name(&provider.name)?;
        oidc::issuer_url(&provider.issuer_url, true)?;
        oidc::client_ids(&provider.client_ids)?;
        let fingerprints = oidc::fingerprints(&provider.fingerprints)?;
        if let Some(d) = &provider.description {
            oidc::description(d)?;
        }
        let hours = provider
            .issuance_limit_hours
            .unwrap_or(oidc::DEFAULT_ISSUANCE_LIMIT_HOURS);
        oidc::issuance_limit_hours(hours)?;
        let mut client_ids: Vec<String> = Vec::new();
        for id in &provider.client_ids {
            if !client_ids.contains(id) {
                client_ids.push(id.clone());
            }
        }

        let mut w = self.write().await?;
        self.require_account(&mut w.tx, account).await?;
        let count = sqlx::query("SELECT COUNT(*) AS n FROM oidc_providers WHERE account_id = $1")
            .bind(account.as_str().to_owned())
            .fetch_one(&mut *w.tx)
            .await
            .map_err(|e| db_error("count OIDC providers", &e))?;
        let quota = self.quotas_in(&mut w.tx, account).await?.oidc_providers;
        if get::<i64>(&count, "n")? >= i64::from(quota) {
            return Err(Error::limit_exceeded(Entity::OidcProvider, quota));
        }
        let same_issuer = sqlx::query(
            "SELECT 1 AS one FROM oidc_providers WHERE account_id = $1 AND issuer_url = $2",
        )
        .bind(account.as_str().to_owned())
        .bind(provider.issuer_url.clone())
        .fetch_optional(&mut *w.tx)
        .await
        .map_err(|e| db_error("OIDC provider issuer", &e))?;
        if same_issuer.is_some() {
            return Err(issuer_taken());
        }
        let sql = sqlx::AssertSqlSafe(format!(
            "INSERT INTO oidc_providers (account_id, name, name_key, issuer_url, client_ids, \
             fingerprints, description, issuance_limit_hours, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING {COLUMNS}"
        ));
        let row = sqlx::query(sql)
            .bind(account.as_str().to_owned())
            .bind(provider.name.clone())
            .bind(name_key(&provider.name))
            .bind(provider.issuer_url.clone())
            .bind(client_ids.join(","))
            .bind(fingerprints.join(","))
            .bind(provider.description.clone().unwrap_or_default())
            .bind(i64::from(hours))
            .bind(w.now)
            .fetch_one(&mut *w.tx)
            .await
            .map_err(exists_or_db_error(
                Entity::OidcProvider,
                "create OIDC provider",
            ))?;
        let value = from_row(&row)?;
        w.changed(
            Some(account),
            EntityKind::OidcProvider,
            &name_key(&value.name),
        )
        .await?;
        w.commit_with(value).await
    }

    async fn get_oidc_provider(&self, account: &AccountId, name: &str) -> Result<OidcProvider> {
        let mut conn = self.conn().await?;
        SqlStore::fetch_oidc_provider(&mut conn, account, name).await
    }

    async fn update_oidc_provider(
        &self,
        account: &AccountId,
        name: &str,
        update: &OidcProviderUpdate,
    ) -> Result<Committed<OidcProvider>> {
        if let Some(ids) = &update.client_ids {
            oidc::client_ids(ids)?;
        }
        if let Some(d) = &update.description {
            oidc::description(d)?;
        }
        if let Some(hours) = update.issuance_limit_hours {
            oidc::issuance_limit_hours(hours)?;
        }
        self.change_oidc_provider(account, name, |p| {
            if let Some(ids) = &update.client_ids {
                p.client_ids.clear();
                for id in ids {
                    if !p.client_ids.contains(id) {
                        p.client_ids.push(id.clone());
                    }
                }
            }
            if let Some(d) = &update.description {
                p.description.clone_from(d);
            }
            if let Some(hours) = update.issuance_limit_hours {
                p.issuance_limit_hours = hours;
            }
            Ok(())
        })
        .await
    }

    async fn delete_oidc_provider(&self, account: &AccountId, name: &str) -> Result<Committed<()>> {
        let mut w = self.write().await?;
        let provider = SqlStore::fetch_oidc_provider(&mut w.tx, account, name).await?;
        sqlx::query("DELETE FROM oidc_providers WHERE account_id = $1 AND name_key = $2")
            .bind(account.as_str().to_owned())
            .bind(name_key(&provider.name))
            .execute(&mut *w.tx)
            .await
            .map_err(|e| db_error("delete OIDC provider", &e))?;
        w.changed(Some(account), EntityKind::OidcProvider, &name_key(name))
            .await?;
        w.commit_with(()).await
    }

    async fn list_oidc_providers(
        &self,
        account: &AccountId,
        page: &Page,
    ) -> Result<Paged<OidcProvider>> {
        self.list_by_name("oidc_providers", COLUMNS, account, page, 1000, from_row)
            .await
    }

    async fn add_oidc_client_id(
        &self,
        account: &AccountId,
        name: &str,
        client_id: &str,
    ) -> Result<Committed<OidcProvider>> {
        oidc::client_id(client_id)?;
        self.change_oidc_provider(account, name, |p| {
            if p.client_ids.iter().any(|c| c == client_id) {
                return Err(Error::already_exists(Entity::OidcClientId));
            }
            if p.client_ids.len() >= oidc::MAX_CLIENT_IDS {
                return Err(Error::limit_exceeded(
                    Entity::OidcClientId,
                    oidc::MAX_CLIENT_IDS as u32,
                ));
            }
            p.client_ids.push(client_id.to_owned());
            Ok(())
        })
        .await
    }

    async fn remove_oidc_client_id(
        &self,
        account: &AccountId,
        name: &str,
        client_id: &str,
    ) -> Result<Committed<OidcProvider>> {
        self.change_oidc_provider(account, name, |p| {
            let before = p.client_ids.len();
            p.client_ids.retain(|c| c != client_id);
            if p.client_ids.len() == before {
                return Err(Error::not_exist(Entity::OidcClientId));
            }
            Ok(())
        })
        .await
    }

    async fn add_oidc_fingerprint(
        &self,
        account: &AccountId,
        name: &str,
        fingerprint: &str,
    ) -> Result<Committed<OidcProvider>> {
        let fingerprint = oidc::fingerprint(fingerprint)?;
        self.change_oidc_provider(account, name, |p| {
            if p.fingerprints.contains(&fingerprint) {
                return Err(Error::already_exists(Entity::OidcFingerprint));
            }
            if p.fingerprints.len() >= oidc::MAX_FINGERPRINTS {
                return Err(Error::limit_exceeded(
                    Entity::OidcFingerprint,
                    oidc::MAX_FINGERPRINTS as u32,
                ));
            }
            p.fingerprints.push(fingerprint);
            Ok(())
        })
        .await
    }

    async fn remove_oidc_fingerprint(
        &self,
        account: &AccountId,
        name: &str,
        fingerprint: &str,
    ) -> Result<Committed<OidcProvider>> {
        let fingerprint = fingerprint.to_ascii_lowercase();
        self.change_oidc_provider(account, name, |p| {
            let before = p.fingerprints.len();
            p.fingerprints.retain(|f| *f != fingerprint);
            if p.fingerprints.len() == before {
                return Err(Error::not_exist(Entity::OidcFingerprint));
            }
            Ok(())
        })
        .await
    }
}
