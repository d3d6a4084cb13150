//! Policies (system and custom), their versions, and their attachments to users, groups and
//! roles.
//!
//! Decisions where RAM is silent:
//! - System policies are read-only. The operations that address a policy by name only
//!   (`UpdatePolicyDescription`, `DeletePolicy`, `CreatePolicyVersion`,
//!   `SetDefaultPolicyVersion`, `DeletePolicyVersion`) act on the account's custom policies;
//!   when the name is not a custom policy of the account but is a system policy, they fail with
//!   `NoPermission` (403), otherwise with `EntityNotExist.Policy`.
//! - A custom policy may not take the name (case-insensitively) of a system policy:
//!   `EntityAlreadyExists.Policy`.
//! - Version numbers are never reused within a policy (`next_version`).
//! - `ListPolicies` orders by (`PolicyType`, name): custom policies first, then system ones; the
//!   `Marker` is `<PolicyType>:<lower-cased name>` of the last item returned.
//! - `ListPolicyVersions` lists versions oldest first; the other lists order by name.
//! - `CascadingDelete` deletes the non-default versions only; attachments still conflict.
//! - Change log: attaching/detaching logs the target (user, group or role); every write to a
//!   policy (description, versions, default version, deletion) logs the policy, by its
//!   lower-cased name within the account.

use async_trait::async_trait;
use sqlx::AnyConnection;
use sqlx::any::AnyRow;
use tessera_iam::{AccountId, Entity, Error, PolicyType, Result, names};
use tessera_policy::PolicyKind;

use crate::model::{
    Attachment, Committed, EntityKind, NewPolicy, Page, Paged, PolicyEntities, PolicyInfo,
    PolicyVersion, RotateStrategy, Target,
};
use crate::sql::{
    SqlStore, db_error, exists_or_db_error, get, get_time, name_key, new_numeric_id, page_bounds,
    paged, timestamp,
};

/// Policies, versions and attachments.
#[async_trait]
pub trait PolicyStore: Send + Sync {
    /// `CreatePolicy`: a custom policy whose version `v1` is the default.
    async fn create_policy(
        &self,
        account: &AccountId,
        policy: &NewPolicy,
    ) -> Result<Committed<(PolicyInfo, PolicyVersion)>>;
    /// `GetPolicy`: the policy and its default version.
    async fn get_policy(
        &self,
        account: &AccountId,
        policy_type: PolicyType,
        name: &str,
    ) -> Result<(PolicyInfo, PolicyVersion)>;
    /// `ListPolicies`: the system policies and the account's custom ones (or only one type),
    /// ordered by (type, name); `MaxItems` 1–1000.
    async fn list_policies(
        &self,
        account: &AccountId,
        policy_type: Option<PolicyType>,
        page: &Page,
    ) -> Result<Paged<PolicyInfo>>;
    /// `UpdatePolicyDescription` of a custom policy.
    async fn update_policy_description(
        &self,
        account: &AccountId,
        name: &str,
        description: &str,
    ) -> Result<Committed<PolicyInfo>>;
    /// `DeletePolicy` of a custom policy. Fails with `DeleteConflict.Policy.User` / `.Group` /
    /// `.Role` while attached, and with `DeleteConflict.Policy.Version` while it has
    /// non-default versions unless `cascade` (`CascadingDelete`).
    async fn delete_policy(
        &self,
        account: &AccountId,
        name: &str,
        cascade: bool,
    ) -> Result<Committed<()>>;
    /// `CreatePolicyVersion` of a custom policy, numbered `v<next>`.
    async fn create_policy_version(
        &self,
        account: &AccountId,
        name: &str,
        document: &str,
        set_as_default: bool,
        rotate: RotateStrategy,
    ) -> Result<Committed<PolicyVersion>>;
    async fn get_policy_version(
        &self,
        account: &AccountId,
        policy_type: PolicyType,
        name: &str,
        version_id: &str,
    ) -> Result<PolicyVersion>;
    /// `ListPolicyVersions`, oldest first.
    async fn list_policy_versions(
        &self,
        account: &AccountId,
        policy_type: PolicyType,
        name: &str,
    ) -> Result<Vec<PolicyVersion>>;
    /// `SetDefaultPolicyVersion` of a custom policy; returns the updated policy.
    async fn set_default_policy_version(
        &self,
        account: &AccountId,
        name: &str,
        version_id: &str,
    ) -> Result<Committed<PolicyInfo>>;
    /// `DeletePolicyVersion`; the default version cannot be deleted
    /// (`DeleteConflict.Policy.Version.Default`).
    async fn delete_policy_version(
        &self,
        account: &AccountId,
        name: &str,
        version_id: &str,
    ) -> Result<Committed<()>>;
    /// `AttachPolicyToUser` / `…ToGroup` / `…ToRole`.
    async fn attach_policy(
        &self,
        account: &AccountId,
        target: Target<'_>,
        policy_type: PolicyType,
        name: &str,
    ) -> Result<Committed<()>>;
    /// `DetachPolicyFromUser` / `…FromGroup` / `…FromRole`.
    async fn detach_policy(
        &self,
        account: &AccountId,
        target: Target<'_>,
        policy_type: PolicyType,
        name: &str,
    ) -> Result<Committed<()>>;
    /// `ListPoliciesForUser` / `…ForGroup` / `…ForRole`: the policies attached directly,
    /// ordered by (type, name).
    async fn list_policies_for(
        &self,
        account: &AccountId,
        target: Target<'_>,
    ) -> Result<Vec<Attachment>>;
    /// `ListEntitiesForPolicy`: the account's users, groups and roles the policy is attached
    /// to, each ordered by name.
    async fn list_entities_for_policy(
        &self,
        account: &AccountId,
        policy_type: PolicyType,
        name: &str,
    ) -> Result<PolicyEntities>;
}

/// The columns of a policy `p`, with the number of attachments in account `$1`.
const POLICY_COLUMNS: &str = "p.account_id, p.id, p.name, p.policy_type, p.description, \
     p.default_version, p.next_version, p.created_at, p.updated_at, \
     (SELECT COUNT(*) FROM attachments c \
      WHERE c.account_id = $1 AND c.policy_account = p.account_id AND c.policy_id = p.id) \
     AS attachment_count";

/// A policy row: its key, its version counters and what the API shows.
struct PolicyRow {
    /// `''` for system policies.
    account_id: String,
    id: String,
    default_version: i64,
    next_version: i64,
    info: PolicyInfo,
}

fn version_id(n: i64) -> String {
    format!("v{n}")
}

fn policy_from_row(row: &AnyRow) -> Result<PolicyRow> {
    let policy_type =
        PolicyType::parse(&get::<String>(row, "policy_type")?).map_err(|_| Error::internal())?;
    let default_version: i64 = get(row, "default_version")?;
    Ok(PolicyRow {
        account_id: get(row, "account_id")?,
        id: get(row, "id")?,
        default_version,
        next_version: get(row, "next_version")?,
        info: PolicyInfo {
            name: get(row, "name")?,
            policy_type,
            description: get(row, "description")?,
            default_version: version_id(default_version),
            attachment_count: u32::try_from(get::<i64>(row, "attachment_count")?)
                .unwrap_or(u32::MAX),
            created_at: get_time(row, "created_at")?,
            updated_at: get_time(row, "updated_at")?,
        },
    })
}

fn version_from_row(row: &AnyRow, default_version: i64) -> Result<PolicyVersion> {
    let version: i64 = get(row, "version")?;
    Ok(PolicyVersion {
        version_id: version_id(version),
        is_default: version == default_version,
        document: get(row, "document")?,
        created_at: get_time(row, "created_at")?,
    })
}

/// The `account_id` a policy of `policy_type` is stored under.
fn policy_account(account: &AccountId, policy_type: PolicyType) -> String {
    match policy_type {
        PolicyType::System => String::new(),
        PolicyType::Custom => account.as_str().to_owned(),
    }
}

/// `v<N>` with N a positive number without leading zeros.
fn parse_version_id(text: &str) -> Result<i64> {
    text.strip_prefix('v')
        .filter(|digits| {
            !digits.is_empty()
                && !digits.starts_with('0')
                && digits.bytes().all(|b| b.is_ascii_digit())
        })
        .and_then(|digits| digits.parse::<i64>().ok())
        .ok_or_else(|| Error::format("VersionId", "v<N>, e.g. v1"))
}

fn validate_document(store: &SqlStore, document: &str) -> Result<()> {
    tessera_policy::parse(document, PolicyKind::Identity, &store.limits)
        .map(|_| ())
        .map_err(Error::from)
}

fn system_policy_is_read_only() -> Error {
    Error::no_permission("System policies are read-only: they can be attached, not modified.")
}

/// How a [`Target`] is stored and reported.
struct TargetRef<'a> {
    kind: &'static str,
    name: &'a str,
    /// `User.Policy`, `Group.Policy`, `Role.Policy`.
    attachment: Entity,
    change: EntityKind,
}

fn target_ref(target: Target<'_>) -> TargetRef<'_> {
    match target {
        Target::User(name) => TargetRef {
            kind: "user",
            name,
            attachment: Entity::UserPolicy,
            change: EntityKind::User,
        },
        Target::Group(name) => TargetRef {
            kind: "group",
            name,
            attachment: Entity::GroupPolicy,
            change: EntityKind::Group,
        },
        Target::Role(name) => TargetRef {
            kind: "role",
            name,
            attachment: Entity::RolePolicy,
            change: EntityKind::Role,
        },
    }
}

impl SqlStore {
    /// The policy `name` of `policy_type` visible to `account`, if any.
    async fn find_policy(
        conn: &mut AnyConnection,
        account: &AccountId,
        policy_type: PolicyType,
        name: &str,
    ) -> Result<Option<PolicyRow>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {POLICY_COLUMNS} FROM policies p \
             WHERE p.account_id = $2 AND p.name_key = $3 AND p.policy_type = $4"
        ));
        sqlx::query(sql)
            .bind(account.as_str().to_owned())
            .bind(policy_account(account, policy_type))
            .bind(name_key(name))
            .bind(policy_type.as_str())
            .fetch_optional(conn)
            .await
            .map_err(|e| db_error("get policy", &e))?
            .as_ref()
            .map(policy_from_row)
            .transpose()
    }

    /// The policy `name` of `policy_type`, or `EntityNotExist.Policy`.
    async fn fetch_policy(
        conn: &mut AnyConnection,
        account: &AccountId,
        policy_type: PolicyType,
        name: &str,
    ) -> Result<PolicyRow> {
        SqlStore::find_policy(conn, account, policy_type, name)
            .await?
            .ok_or_else(|| Error::not_exist(Entity::Policy))
    }

    /// The account's custom policy `name`, for a write: `NoPermission` if `name` is a system
    /// policy, `EntityNotExist.Policy` if it is neither.
    async fn custom_policy_for_write(
        conn: &mut AnyConnection,
        account: &AccountId,
        name: &str,
    ) -> Result<PolicyRow> {
        if let Some(row) = SqlStore::find_policy(conn, account, PolicyType::Custom, name).await? {
            return Ok(row);
        }
        if SqlStore::find_policy(conn, account, PolicyType::System, name)
            .await?
            .is_some()
        {
            return Err(system_policy_is_read_only());
        }
        Err(Error::not_exist(Entity::Policy))
    }

    async fn fetch_version(
        conn: &mut AnyConnection,
        policy: &PolicyRow,
        version: i64,
    ) -> Result<PolicyVersion> {
        let row = sqlx::query(
            "SELECT version, document, created_at FROM policy_versions \
             WHERE account_id = $1 AND policy_id = $2 AND version = $3",
        )
        .bind(policy.account_id.clone())
        .bind(policy.id.clone())
        .bind(version)
        .fetch_optional(conn)
        .await
        .map_err(|e| db_error("get policy version", &e))?
        .ok_or_else(|| Error::not_exist(Entity::PolicyVersion))?;
        version_from_row(&row, policy.default_version)
    }

    async fn fetch_versions(
        conn: &mut AnyConnection,
        policy: &PolicyRow,
    ) -> Result<Vec<PolicyVersion>> {
        sqlx::query(
            "SELECT version, document, created_at FROM policy_versions \
             WHERE account_id = $1 AND policy_id = $2 ORDER BY version",
        )
        .bind(policy.account_id.clone())
        .bind(policy.id.clone())
        .fetch_all(conn)
        .await
        .map_err(|e| db_error("policy versions", &e))?
        .iter()
        .map(|row| version_from_row(row, policy.default_version))
        .collect()
    }

    /// The id of the user, group or role `target`, or `EntityNotExist.User` etc.
    async fn target_id(
        conn: &mut AnyConnection,
        account: &AccountId,
        target: Target<'_>,
    ) -> Result<String> {
        match target {
            Target::User(name) => SqlStore::user_id(conn, account, name).await,
            Target::Group(name) => SqlStore::group_id(conn, account, name).await,
            Target::Role(name) => SqlStore::role_id(conn, account, name).await,
        }
    }
}

#[async_trait]
impl PolicyStore for SqlStore {
    async fn create_policy(
        &self,
        account: &AccountId,
        policy: &NewPolicy,
    ) -> Result<Committed<(PolicyInfo, PolicyVersion)>> {
        names::policy_name(&policy.name)?;
        if let Some(d) = &policy.description {
            names::description(d)?;
        }
        validate_document(self, &policy.document)?;
        let mut w = self.write().await?;
        self.require_account(&mut w.tx, account).await?;
        if SqlStore::find_policy(&mut w.tx, account, PolicyType::System, &policy.name)
            .await?
            .is_some()
        {
            return Err(Error::already_exists(Entity::Policy));
        }
        let count = sqlx::query("SELECT COUNT(*) AS n FROM policies WHERE account_id = $1")
            .bind(account.as_str().to_owned())
            .fetch_one(&mut *w.tx)
            .await
            .map_err(|e| db_error("count policies", &e))?;
        let quota = self.quotas_in(&mut w.tx, account).await?.custom_policies;
        if get::<i64>(&count, "n")? >= i64::from(quota) {
            return Err(Error::limit_exceeded(Entity::Policy, quota));
        }
        let id = new_numeric_id();
        let description = policy.description.clone().unwrap_or_default();
        sqlx::query(
            "INSERT INTO policies (account_id, id, name, name_key, policy_type, description, \
             default_version, next_version, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'Custom', $5, 1, 2, $6, $6)",
        )
        .bind(account.as_str().to_owned())
        .bind(id.clone())
        .bind(policy.name.clone())
        .bind(name_key(&policy.name))
        .bind(description.clone())
        .bind(w.now)
        .execute(&mut *w.tx)
        .await
        .map_err(exists_or_db_error(Entity::Policy, "create policy"))?;
        sqlx::query(
            "INSERT INTO policy_versions (account_id, policy_id, version, document, created_at) \
             VALUES ($1, $2, 1, $3, $4)",
        )
        .bind(account.as_str().to_owned())
        .bind(id)
        .bind(policy.document.clone())
        .bind(w.now)
        .execute(&mut *w.tx)
        .await
        .map_err(|e| db_error("create policy version", &e))?;
        w.changed(Some(account), EntityKind::Policy, &name_key(&policy.name))
            .await?;
        let now = timestamp(w.now);
        let revision = w.commit().await?;
        let info = PolicyInfo {
            name: policy.name.clone(),
            policy_type: PolicyType::Custom,
            description,
            default_version: version_id(1),
            attachment_count: 0,
            created_at: now,
            updated_at: now,
        };
        let version = PolicyVersion {
            version_id: version_id(1),
            is_default: true,
            document: policy.document.clone(),
            created_at: now,
        };
        Ok(Committed {
            value: (info, version),
            revision,
        })
    }

    async fn get_policy(
        &self,
        account: &AccountId,
        policy_type: PolicyType,
        name: &str,
    ) -> Result<(PolicyInfo, PolicyVersion)> {
        let mut tx = self.read().await?;
        let policy = SqlStore::fetch_policy(&mut tx, account, policy_type, name).await?;
        let version = SqlStore::fetch_version(&mut tx, &policy, policy.default_version).await?;
        tx.commit().await.map_err(|e| db_error("read", &e))?;
        Ok((policy.info, version))
    }

    async fn list_policies(
        &self,
        account: &AccountId,
        policy_type: Option<PolicyType>,
        page: &Page,
    ) -> Result<Paged<PolicyInfo>> {
        let (limit, marker) = page_bounds(page, 1000)?;
        let (after_type, after_key) = if marker.is_empty() {
            (String::new(), String::new())
        } else {
            let (t, key) = marker
                .split_once(':')
                .filter(|(t, _)| PolicyType::parse(t).is_ok())
                .ok_or_else(|| {
                    Error::invalid(
                        "InvalidParameter.Marker",
                        "The parameter - \"Marker\" is not a marker this operation returned.",
                    )
                })?;
            (t.to_owned(), key.to_owned())
        };
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {POLICY_COLUMNS} FROM policies p \
             WHERE (p.account_id = '' OR p.account_id = $1) \
               AND ($2 = '' OR p.policy_type = $2) \
               AND (p.policy_type > $3 OR (p.policy_type = $3 AND p.name_key > $4)) \
             ORDER BY p.policy_type, p.name_key LIMIT $5"
        ));
        let rows = sqlx::query(sql)
            .bind(account.as_str().to_owned())
            .bind(policy_type.map_or("", PolicyType::as_str))
            .bind(after_type)
            .bind(after_key)
            .bind(limit + 1)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error("list policies", &e))?;
        let items = rows
            .iter()
            .map(|row| {
                let policy = policy_from_row(row)?;
                let marker = format!(
                    "{}:{}",
                    policy.info.policy_type.as_str(),
                    name_key(&policy.info.name)
                );
                Ok((marker, policy.info))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(paged(items, limit))
    }

    async fn update_policy_description(
        &self,
        account: &AccountId,
        name: &str,
        description: &str,
    ) -> Result<Committed<PolicyInfo>> {
        names::description(description)?;
        let mut w = self.write().await?;
        let policy = SqlStore::custom_policy_for_write(&mut w.tx, account, name).await?;
        sqlx::query(
            "UPDATE policies SET description = $3, updated_at = $4 \
             WHERE account_id = $1 AND id = $2",
        )
        .bind(policy.account_id.clone())
        .bind(policy.id.clone())
        .bind(description.to_owned())
        .bind(w.now)
        .execute(&mut *w.tx)
        .await
        .map_err(|e| db_error("update policy", &e))?;
        w.changed(Some(account), EntityKind::Policy, &name_key(name))
            .await?;
        let updated_at = timestamp(w.now);
        let revision = w.commit().await?;
        Ok(Committed {
            value: PolicyInfo {
                description: description.to_owned(),
                updated_at,
                ..policy.info
            },
            revision,
        })
    }

    async fn delete_policy(
        &self,
        account: &AccountId,
        name: &str,
        cascade: bool,
    ) -> Result<Committed<()>> {
        let mut w = self.write().await?;
        let policy = SqlStore::custom_policy_for_write(&mut w.tx, account, name).await?;
        let kinds = sqlx::query(
            "SELECT DISTINCT target_kind FROM attachments \
             WHERE account_id = $1 AND policy_account = $1 AND policy_id = $2",
        )
        .bind(account.as_str().to_owned())
        .bind(policy.id.clone())
        .fetch_all(&mut *w.tx)
        .await
        .map_err(|e| db_error("policy attachments", &e))?
        .iter()
        .map(|row| get::<String>(row, "target_kind"))
        .collect::<Result<Vec<_>>>()?;
        let conflicts = [
            (
                "user",
                "Policy.User",
                "The policy CAN NOT be deleted while it is attached to users.",
            ),
            (
                "group",
                "Policy.Group",
                "The policy CAN NOT be deleted while it is attached to groups.",
            ),
            (
                "role",
                "Policy.Role",
                "The policy CAN NOT be deleted while it is attached to roles.",
            ),
        ];
        for (kind, code, message) in conflicts {
            if kinds.iter().any(|k| k == kind) {
                return Err(Error::delete_conflict(code, message));
            }
        }
        if !cascade {
            let others = sqlx::query(
                "SELECT 1 AS one FROM policy_versions \
                 WHERE account_id = $1 AND policy_id = $2 AND version <> $3",
            )
            .bind(account.as_str().to_owned())
            .bind(policy.id.clone())
            .bind(policy.default_version)
            .fetch_optional(&mut *w.tx)
            .await
            .map_err(|e| db_error("policy versions", &e))?;
            if others.is_some() {
                return Err(Error::delete_conflict(
                    "Policy.Version",
                    "The policy CAN NOT has any version except the default version.",
                ));
            }
        }
        sqlx::query("DELETE FROM policy_versions WHERE account_id = $1 AND policy_id = $2")
            .bind(account.as_str().to_owned())
            .bind(policy.id.clone())
            .execute(&mut *w.tx)
            .await
            .map_err(|e| db_error("delete policy versions", &e))?;
        sqlx::query("DELETE FROM policies WHERE account_id = $1 AND id = $2")
            .bind(account.as_str().to_owned())
            .bind(policy.id)
            .execute(&mut *w.tx)
            .await
            .map_err(|e| db_error("delete policy", &e))?;
        w.changed(Some(account), EntityKind::Policy, &name_key(name))
            .await?;
        w.commit_with(()).await
    }

    async fn create_policy_version(
        &self,
        account: &AccountId,
        name: &str,
        document: &str,
        set_as_default: bool,
        rotate: RotateStrategy,
    ) -> Result<Committed<PolicyVersion>> {
        validate_document(self, document)?;
        let mut w = self.write().await?;
        let policy = SqlStore::custom_policy_for_write(&mut w.tx, account, name).await?;
        let versions = sqlx::query(
            "SELECT version FROM policy_versions \
             WHERE account_id = $1 AND policy_id = $2 ORDER BY version",
        )
        .bind(account.as_str().to_owned())
        .bind(policy.id.clone())
        .fetch_all(&mut *w.tx)
        .await
        .map_err(|e| db_error("policy versions", &e))?
        .iter()
        .map(|row| get::<i64>(row, "version"))
        .collect::<Result<Vec<_>>>()?;
        let quota = self
            .quotas_in(&mut w.tx, account)
            .await?
            .versions_per_policy;
        let excess = versions.len().saturating_sub(
            usize::try_from(quota)
                .unwrap_or(usize::MAX)
                .saturating_sub(1),
        );
        // Normally one version is over; more only if the quota was lowered since. Rotation
        // deletes as many of the oldest non-default versions as needed, or fails.
        if excess > 0 {
            let oldest: Vec<i64> = match rotate {
                RotateStrategy::None => Vec::new(),
                RotateStrategy::DeleteOldestNonDefaultVersionWhenLimitExceeded => versions
                    .iter()
                    .copied()
                    .filter(|v| *v != policy.default_version)
                    .take(excess)
                    .collect(),
            };
            if oldest.len() < excess {
                return Err(Error::limit_exceeded(Entity::PolicyVersion, quota));
            }
            for version in oldest {
                sqlx::query(
                    "DELETE FROM policy_versions \
                     WHERE account_id = $1 AND policy_id = $2 AND version = $3",
                )
                .bind(account.as_str().to_owned())
                .bind(policy.id.clone())
                .bind(version)
                .execute(&mut *w.tx)
                .await
                .map_err(|e| db_error("rotate policy version", &e))?;
            }
        }
        let version = policy.next_version;
        sqlx::query(
            "INSERT INTO policy_versions (account_id, policy_id, version, document, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(account.as_str().to_owned())
        .bind(policy.id.clone())
        .bind(version)
        .bind(document.to_owned())
        .bind(w.now)
        .execute(&mut *w.tx)
        .await
        .map_err(|e| db_error("create policy version", &e))?;
        let default_version = if set_as_default {
            version
        } else {
            policy.default_version
        };
        sqlx::query(
            "UPDATE policies SET next_version = $3, default_version = $4, updated_at = $5 \
             WHERE account_id = $1 AND id = $2",
        )
        .bind(account.as_str().to_owned())
        .bind(policy.id.clone())
        .bind(version + 1)
        .bind(default_version)
        .bind(w.now)
        .execute(&mut *w.tx)
        .await
        .map_err(|e| db_error("update policy", &e))?;
        w.changed(Some(account), EntityKind::Policy, &name_key(name))
            .await?;
        let created_at = timestamp(w.now);
        let revision = w.commit().await?;
        Ok(Committed {
            value: PolicyVersion {
                version_id: version_id(version),
                is_default: set_as_default,
                document: document.to_owned(),
                created_at,
            },
            revision,
        })
    }

    async fn get_policy_version(
        &self,
        account: &AccountId,
        policy_type: PolicyType,
        name: &str,
        version_id: &str,
    ) -> Result<PolicyVersion> {
        let version = parse_version_id(version_id)?;
        let mut tx = self.read().await?;
        let policy = SqlStore::fetch_policy(&mut tx, account, policy_type, name).await?;
        let found = SqlStore::fetch_version(&mut tx, &policy, version).await?;
        tx.commit().await.map_err(|e| db_error("read", &e))?;
        Ok(found)
    }

    async fn list_policy_versions(
        &self,
        account: &AccountId,
        policy_type: PolicyType,
        name: &str,
    ) -> Result<Vec<PolicyVersion>> {
        let mut tx = self.read().await?;
        let policy = SqlStore::fetch_policy(&mut tx, account, policy_type, name).await?;
        let versions = SqlStore::fetch_versions(&mut tx, &policy).await?;
        tx.commit().await.map_err(|e| db_error("read", &e))?;
        Ok(versions)
    }

    async fn set_default_policy_version(
        &self,
        account: &AccountId,
        name: &str,
        version_id: &str,
    ) -> Result<Committed<PolicyInfo>> {
        let version = parse_version_id(version_id)?;
        let mut w = self.write().await?;
        let policy = SqlStore::custom_policy_for_write(&mut w.tx, account, name).await?;
        SqlStore::fetch_version(&mut w.tx, &policy, version).await?;
        sqlx::query(
            "UPDATE policies SET default_version = $3, updated_at = $4 \
             WHERE account_id = $1 AND id = $2",
        )
        .bind(account.as_str().to_owned())
        .bind(policy.id.clone())
        .bind(version)
        .bind(w.now)
        .execute(&mut *w.tx)
        .await
        .map_err(|e| db_error("set default policy version", &e))?;
        w.changed(Some(account), EntityKind::Policy, &name_key(name))
            .await?;
        let updated_at = timestamp(w.now);
        let revision = w.commit().await?;
        Ok(Committed {
            value: PolicyInfo {
                default_version: self::version_id(version),
                updated_at,
                ..policy.info
            },
            revision,
        })
    }

    async fn delete_policy_version(
        &self,
        account: &AccountId,
        name: &str,
        version_id: &str,
    ) -> Result<Committed<()>> {
        let version = parse_version_id(version_id)?;
        let mut w = self.write().await?;
        let policy = SqlStore::custom_policy_for_write(&mut w.tx, account, name).await?;
        if version == policy.default_version {
            return Err(Error::delete_conflict(
                "Policy.Version.Default",
                "The default policy version CAN NOT been deleted directly.",
            ));
        }
        let done = sqlx::query(
            "DELETE FROM policy_versions \
             WHERE account_id = $1 AND policy_id = $2 AND version = $3",
        )
        .bind(account.as_str().to_owned())
        .bind(policy.id.clone())
        .bind(version)
        .execute(&mut *w.tx)
        .await
        .map_err(|e| db_error("delete policy version", &e))?;
        if done.rows_affected() == 0 {
            return Err(Error::not_exist(Entity::PolicyVersion));
        }
        w.changed(Some(account), EntityKind::Policy, &name_key(name))
            .await?;
        w.commit_with(()).await
    }

    async fn attach_policy(
        &self,
        account: &AccountId,
        target: Target<'_>,
        policy_type: PolicyType,
        name: &str,
    ) -> Result<Committed<()>> {
        let t = target_ref(target);
        let mut w = self.write().await?;
        let target_id = SqlStore::target_id(&mut w.tx, account, target).await?;
        let policy = SqlStore::fetch_policy(&mut w.tx, account, policy_type, name).await?;
        let attached = sqlx::query(
            "SELECT policy_account, policy_id FROM attachments \
             WHERE account_id = $1 AND target_kind = $2 AND target_id = $3",
        )
        .bind(account.as_str().to_owned())
        .bind(t.kind)
        .bind(target_id.clone())
        .fetch_all(&mut *w.tx)
        .await
        .map_err(|e| db_error("attachments", &e))?;
        let mut same_type = 0u32;
        for row in &attached {
            let owner: String = get(row, "policy_account")?;
            let id: String = get(row, "policy_id")?;
            if owner == policy.account_id && id == policy.id {
                return Err(Error::already_exists(t.attachment));
            }
            if owner.is_empty() == policy.account_id.is_empty() {
                same_type += 1;
            }
        }
        let quotas = self.quotas_in(&mut w.tx, account).await?;
        let quota = match policy_type {
            PolicyType::System => quotas.system_policies_per_entity,
            PolicyType::Custom => quotas.custom_policies_per_entity,
        };
        if same_type >= quota {
            return Err(Error::limit_exceeded(t.attachment, quota));
        }
        sqlx::query(
            "INSERT INTO attachments (account_id, target_kind, target_id, policy_account, \
             policy_id, attached_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(account.as_str().to_owned())
        .bind(t.kind)
        .bind(target_id)
        .bind(policy.account_id)
        .bind(policy.id)
        .bind(w.now)
        .execute(&mut *w.tx)
        .await
        .map_err(exists_or_db_error(t.attachment, "attach policy"))?;
        w.changed(Some(account), t.change, &name_key(t.name))
            .await?;
        w.commit_with(()).await
    }

    async fn detach_policy(
        &self,
        account: &AccountId,
        target: Target<'_>,
        policy_type: PolicyType,
        name: &str,
    ) -> Result<Committed<()>> {
        let t = target_ref(target);
        let mut w = self.write().await?;
        let target_id = SqlStore::target_id(&mut w.tx, account, target).await?;
        let policy = SqlStore::fetch_policy(&mut w.tx, account, policy_type, name).await?;
        let done = sqlx::query(
            "DELETE FROM attachments WHERE account_id = $1 AND target_kind = $2 \
             AND target_id = $3 AND policy_account = $4 AND policy_id = $5",
        )
        .bind(account.as_str().to_owned())
        .bind(t.kind)
        .bind(target_id)
        .bind(policy.account_id)
        .bind(policy.id)
        .execute(&mut *w.tx)
        .await
        .map_err(|e| db_error("detach policy", &e))?;
        if done.rows_affected() == 0 {
            return Err(Error::not_exist(t.attachment));
        }
        w.changed(Some(account), t.change, &name_key(t.name))
            .await?;
        w.commit_with(()).await
    }

    async fn list_policies_for(
        &self,
        account: &AccountId,
        target: Target<'_>,
    ) -> Result<Vec<Attachment>> {
        let t = target_ref(target);
        let mut tx = self.read().await?;
        let target_id = SqlStore::target_id(&mut tx, account, target).await?;
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {POLICY_COLUMNS}, a.attached_at FROM attachments a \
             JOIN policies p ON p.account_id = a.policy_account AND p.id = a.policy_id \
             WHERE a.account_id = $1 AND a.target_kind = $2 AND a.target_id = $3 \
             ORDER BY p.policy_type, p.name_key"
        ));
        let rows = sqlx::query(sql)
            .bind(account.as_str().to_owned())
            .bind(t.kind)
            .bind(target_id)
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| db_error("policies for entity", &e))?;
        tx.commit().await.map_err(|e| db_error("read", &e))?;
        rows.iter()
            .map(|row| {
                Ok(Attachment {
                    policy: policy_from_row(row)?.info,
                    attached_at: get_time(row, "attached_at")?,
                })
            })
            .collect()
    }

    async fn list_entities_for_policy(
        &self,
        account: &AccountId,
        policy_type: PolicyType,
        name: &str,
    ) -> Result<PolicyEntities> {
        let mut tx = self.read().await?;
        let policy = SqlStore::fetch_policy(&mut tx, account, policy_type, name).await?;
        let mut lists: [Vec<(String, jiff::Timestamp)>; 3] = Default::default();
        for (list, (kind, table)) in
            lists
                .iter_mut()
                .zip([("user", "users"), ("group", "groups"), ("role", "roles")])
        {
            let sql = sqlx::AssertSqlSafe(format!(
                "SELECT e.name, a.attached_at FROM attachments a \
                 JOIN {table} e ON e.account_id = a.account_id AND e.id = a.target_id \
                 WHERE a.account_id = $1 AND a.target_kind = $2 \
                   AND a.policy_account = $3 AND a.policy_id = $4 \
                 ORDER BY e.name_key"
            ));
            *list = sqlx::query(sql)
                .bind(account.as_str().to_owned())
                .bind(kind)
                .bind(policy.account_id.clone())
                .bind(policy.id.clone())
                .fetch_all(&mut *tx)
                .await
                .map_err(|e| db_error("entities for policy", &e))?
                .iter()
                .map(|row| Ok((get(row, "name")?, get_time(row, "attached_at")?)))
                .collect::<Result<Vec<_>>>()?;
        }
        tx.commit().await.map_err(|e| db_error("read", &e))?;
        let [users, groups, roles] = lists;
        Ok(PolicyEntities {
            users,
            groups,
            roles,
        })
    }
}
