//! The platform operator's data: which account is the operator's (recorded once, when
//! `tesserad` bootstraps the operator on first start; migration `3_operator`), and the
//! platform-wide `Authorize` grants (migration `4_platform_grants`).
//!
//! A grant names a user or a role of some account by ARN (`acs:ram::<account>:user/<name>`,
//! `…:role/<name>`) but is stored against the identity's id: it follows a rename, and deleting
//! the user or role deletes the grant (the database cascades; the deletion's own
//! [`EntityKind::User`]/[`EntityKind::Role`] change is the signal), so a new principal of the
//! same name never inherits it.

use async_trait::async_trait;
use sqlx::AnyConnection;
use tessera_iam::{AccountId, Entity, Error, Result, names};

use crate::model::{Committed, EntityKind, PlatformGrant};
use crate::sql::{SqlStore, db_error, exists_or_db_error, get, get_time, name_key, timestamp};

/// The platform operator's account and its platform-wide grants.
#[async_trait]
pub trait OperatorStore: Send + Sync {
    /// The operator's account, once one is recorded.
    async fn operator_account(&self) -> Result<Option<AccountId>>;
    /// Records `account` as the operator's unless an operator is already recorded, and returns
    /// the operator's account: `account`, or the one recorded before (so of two replicas
    /// bootstrapping at once, both learn the same winner). `EntityNotExist.Account` for an
    /// unknown account. Change: [`EntityKind::Account`] of the operator's account, if recorded.
    async fn claim_operator_account(&self, account: &AccountId) -> Result<Committed<AccountId>>;

    /// Lets `principal_arn` (`acs:ram::<account>:user/<name>` or `…:role/<name>`, names
    /// matched case-insensitively) ask `Authorize` about principals of any account.
    /// `MissingPrincipalArn`, `InvalidParameter.PrincipalArn.Format`,
    /// `EntityNotExist.Account`/`.User`/`.Role`, `EntityAlreadyExists.PlatformGrant`. Returns
    /// the grant with the principal's ARN as it spells its name. Change:
    /// [`EntityKind::PlatformGrant`] in the principal's account.
    async fn grant_platform_authorize(
        &self,
        principal_arn: &str,
    ) -> Result<Committed<PlatformGrant>>;
    /// Withdraws the grant. The errors of [`OperatorStore::grant_platform_authorize`], and
    /// `EntityNotExist.PlatformGrant` for a principal without one. Change:
    /// [`EntityKind::PlatformGrant`] in the principal's account.
    async fn revoke_platform_authorize(&self, principal_arn: &str) -> Result<Committed<()>>;
    /// Whether `principal_arn` holds a grant: a user's ARN, a role's, or a session of a role
    /// (`…:assumed-role/<role>/<session>`, which holds its role's grant). Any other ARN (a root,
    /// a service, a malformed one) holds none: `false`, not an error.
    async fn has_platform_authorize(&self, principal_arn: &str) -> Result<bool>;
    /// Every grant, ordered by principal ARN.
    async fn list_platform_grants(&self) -> Result<Vec<PlatformGrant>>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GrantedKind {
    User,
    Role,
}

impl GrantedKind {
    fn as_str(self) -> &'static str {
        match self {
            GrantedKind::User => "user",
            GrantedKind::Role => "role",
        }
    }
}

/// A user or role named by an ARN.
#[derive(Debug)]
struct PrincipalName<'a> {
    account: AccountId,
    kind: GrantedKind,
    name: &'a str,
}

impl PrincipalName<'_> {
    /// The change-log entity: the ARN with the name's lookup key.
    fn entity(&self) -> String {
        format!(
            "acs:ram::{}:{}/{}",
            self.account,
            self.kind.as_str(),
            name_key(self.name)
        )
    }
}

fn malformed_principal() -> Error {
    Error::format(
        "PrincipalArn",
        "acs:ram::<account id>:user/<user name> or acs:ram::<account id>:role/<role name>",
    )
}

/// Parses a grantable principal ARN (a user's or a role's, with an empty region).
fn parse_grantee(arn: &str) -> Result<PrincipalName<'_>> {
    if arn.is_empty() {
        return Err(Error::missing("PrincipalArn"));
    }
    let (account, resource) = arn
        .strip_prefix("acs:ram::")
        .and_then(|rest| rest.split_once(':'))
        .ok_or_else(malformed_principal)?;
    let account = AccountId::parse(account).map_err(|_| malformed_principal())?;
    let (kind, name) = if let Some(name) = resource.strip_prefix("user/") {
        names::user_name(name).map_err(|_| malformed_principal())?;
        (GrantedKind::User, name)
    } else if let Some(name) = resource.strip_prefix("role/") {
        names::role_name(name).map_err(|_| malformed_principal())?;
        (GrantedKind::Role, name)
    } else {
        return Err(malformed_principal());
    };
    Ok(PrincipalName {
        account,
        kind,
        name,
    })
}

/// The principal whose grant `arn` would hold: its own, or for a role session its role's.
fn grant_holder(arn: &str) -> Option<PrincipalName<'_>> {
    if let Ok(principal) = parse_grantee(arn) {
        return Some(principal);
    }
    let (account, resource) = arn
        .strip_prefix("acs:ram::")
        .and_then(|rest| rest.split_once(':'))?;
    let (role, session) = resource.strip_prefix("assumed-role/")?.split_once('/')?;
    if session.is_empty() || names::role_name(role).is_err() {
        return None;
    }
    Some(PrincipalName {
        account: AccountId::parse(account).ok()?,
        kind: GrantedKind::Role,
        name: role,
    })
}

/// The id and current name of the principal, or `EntityNotExist.User`/`.Role`.
async fn principal_row(
    conn: &mut AnyConnection,
    principal: &PrincipalName<'_>,
) -> Result<(String, String)> {
    let (sql, entity) = match principal.kind {
        GrantedKind::User => (
            "SELECT id, name FROM users WHERE account_id = $1 AND name_key = $2",
            Entity::User,
        ),
        GrantedKind::Role => (
            "SELECT id, name FROM roles WHERE account_id = $1 AND name_key = $2",
            Entity::Role,
        ),
    };
    let row = sqlx::query(sql)
        .bind(principal.account.as_str().to_owned())
        .bind(name_key(principal.name))
        .fetch_optional(conn)
        .await
        .map_err(|e| db_error("grant principal", &e))?
        .ok_or_else(|| Error::not_exist(entity))?;
    Ok((get(&row, "id")?, get(&row, "name")?))
}

fn parse_account(text: &str) -> Result<AccountId> {
    AccountId::parse(text).map_err(|_| {
        tracing::error!(target: "tessera_store", "malformed account id in the operator's tables");
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

    async fn grant_platform_authorize(
        &self,
        principal_arn: &str,
    ) -> Result<Committed<PlatformGrant>> {
        let principal = parse_grantee(principal_arn)?;
        let mut w = self.write().await?;
        self.require_account(&mut w.tx, &principal.account).await?;
        let (id, name) = principal_row(&mut w.tx, &principal).await?;
        let sql = match principal.kind {
            GrantedKind::User => {
                "INSERT INTO platform_grants (account_id, user_id, role_id, created_at) \
                 VALUES ($1, $2, NULL, $3)"
            }
            GrantedKind::Role => {
                "INSERT INTO platform_grants (account_id, user_id, role_id, created_at) \
                 VALUES ($1, NULL, $2, $3)"
            }
        };
        sqlx::query(sql)
            .bind(principal.account.as_str().to_owned())
            .bind(id)
            .bind(w.now)
            .execute(&mut *w.tx)
            .await
            .map_err(exists_or_db_error(
                Entity::PlatformGrant,
                "grant platform authorize",
            ))?;
        w.changed(
            Some(&principal.account),
            EntityKind::PlatformGrant,
            &principal.entity(),
        )
        .await?;
        let grant = PlatformGrant {
            principal_arn: format!(
                "acs:ram::{}:{}/{name}",
                principal.account,
                principal.kind.as_str()
            ),
            account: principal.account.clone(),
            created_at: timestamp(w.now),
        };
        w.commit_with(grant).await
    }

    async fn revoke_platform_authorize(&self, principal_arn: &str) -> Result<Committed<()>> {
        let principal = parse_grantee(principal_arn)?;
        let mut w = self.write().await?;
        self.require_account(&mut w.tx, &principal.account).await?;
        let (id, _) = principal_row(&mut w.tx, &principal).await?;
        let sql = match principal.kind {
            GrantedKind::User => {
                "DELETE FROM platform_grants WHERE account_id = $1 AND user_id = $2"
            }
            GrantedKind::Role => {
                "DELETE FROM platform_grants WHERE account_id = $1 AND role_id = $2"
            }
        };
        let done = sqlx::query(sql)
            .bind(principal.account.as_str().to_owned())
            .bind(id)
            .execute(&mut *w.tx)
            .await
            .map_err(|e| db_error("revoke platform authorize", &e))?;
        if done.rows_affected() == 0 {
            return Err(Error::not_exist(Entity::PlatformGrant));
        }
        w.changed(
            Some(&principal.account),
            EntityKind::PlatformGrant,
            &principal.entity(),
        )
        .await?;
        w.commit_with(()).await
    }

    async fn has_platform_authorize(&self, principal_arn: &str) -> Result<bool> {
        let Some(principal) = grant_holder(principal_arn) else {
            return Ok(false);
        };
        let sql = match principal.kind {
            GrantedKind::User => {
                "SELECT 1 AS one FROM platform_grants g \
                 JOIN users u ON u.account_id = g.account_id AND u.id = g.user_id \
                 WHERE g.account_id = $1 AND u.name_key = $2"
            }
            GrantedKind::Role => {
                "SELECT 1 AS one FROM platform_grants g \
                 JOIN roles r ON r.account_id = g.account_id AND r.id = g.role_id \
                 WHERE g.account_id = $1 AND r.name_key = $2"
            }
        };
        let row = sqlx::query(sql)
            .bind(principal.account.as_str().to_owned())
            .bind(name_key(principal.name))
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| db_error("has platform authorize", &e))?;
        Ok(row.is_some())
    }

    async fn list_platform_grants(&self) -> Result<Vec<PlatformGrant>> {
        let rows = sqlx::query(
            "SELECT g.account_id, 'user' AS kind, u.name, g.created_at FROM platform_grants g \
             JOIN users u ON u.account_id = g.account_id AND u.id = g.user_id \
             UNION ALL \
             SELECT g.account_id, 'role' AS kind, r.name, g.created_at FROM platform_grants g \
             JOIN roles r ON r.account_id = g.account_id AND r.id = g.role_id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error("list platform grants", &e))?;
        let mut grants = rows
            .iter()
            .map(|row| {
                let account = parse_account(&get::<String>(row, "account_id")?)?;
                let kind: String = get(row, "kind")?;
                let name: String = get(row, "name")?;
                Ok(PlatformGrant {
                    principal_arn: format!("acs:ram::{account}:{kind}/{name}"),
                    account,
                    created_at: get_time(row, "created_at")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        grants.sort_by(|a, b| a.principal_arn.cmp(&b.principal_arn));
        Ok(grants)
    }
}
