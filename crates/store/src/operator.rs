//! Which account is the platform operator's: recorded once, when `tesserad` bootstraps the
//! operator on first start (migration `3_operator`).

use async_trait::async_trait;
use tessera_iam::{AccountId, Error, Result};

use crate::model::{Committed, EntityKind};
use crate::sql::{SqlStore, db_error, get};

/// The platform operator's account.
#[async_trait]
pub trait OperatorStore: Send + Sync {
    /// The operator's account, once one is recorded.
    async fn operator_account(&self) -> Result<Option<AccountId>>;
    /// Records `account` as the operator's unless an operator is already recorded, and returns
    /// the operator's account: `account`, or the one recorded before (so of two replicas
    /// bootstrapping at once, both learn the same winner). `EntityNotExist.Account` for an
    /// unknown account. Change: [`EntityKind::Account`] of the operator's account, if recorded.
    async fn claim_operator_account(&self, account: &AccountId) -> Result<Committed<AccountId>>;
}

fn parse_account(text: &str) -> Result<AccountId> {
    AccountId::parse(text).map_err(|_| {
        tracing::error!(target: "tessera_store", "operator of a malformed account id");
        Error::internal()
    })
}

#[async_trait]
impl OperatorStore for SqlStore {
    async fn operator_account(&self) -> Result<Option<AccountId>> {
        let row = sqlx::query("SELECT account_id FROM platform_operator WHERE id = 1")
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| db_error("operator", &e))?;
        row.map(|row| parse_account(&get::<String>(&row, "account_id")?))
            .transpose()
    }

    async fn claim_operator_account(&self, account: &AccountId) -> Result<Committed<AccountId>> {
        let mut w = self.write().await?;
        let existing = sqlx::query("SELECT account_id FROM platform_operator WHERE id = 1")
            .fetch_optional(&mut *w.tx)
            .await
            .map_err(|e| db_error("operator", &e))?;
        if let Some(row) = existing {
            let operator = parse_account(&get::<String>(&row, "account_id")?)?;
            // Nothing written: roll back, so the revision is not taken.
            drop(w);
            let current = self.current_revision().await?;
            return Ok(Committed {
                value: operator,
                revision: current,
            });
        }
        self.require_account(&mut w.tx, account).await?;
        sqlx::query(
            "INSERT INTO platform_operator (id, account_id, created_at) VALUES (1, $1, $2)",
        )
        .bind(account.as_str().to_owned())
        .bind(w.now)
        .execute(&mut *w.tx)
        .await
        .map_err(|e| db_error("claim operator", &e))?;
        w.changed(Some(account), EntityKind::Account, account.as_str())
            .await?;
        w.commit_with(account.clone()).await
    }
}
