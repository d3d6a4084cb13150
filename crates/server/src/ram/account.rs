//! The account: `GetAccountSummary` and the account alias (`SetAccountAlias`,
//! `GetAccountAlias`, `ClearAccountAlias`), all authorized on `acs:ram::<account>:*`.
//!
//! - `GetAccountSummary`: the account's entity counts and quotas under RAM's `SummaryMap`
//!   names (`Users`/`UsersQuota`, `Groups`, `Roles`, `Policies` — custom ones —, `MFADevices`,
//!   `MFADevicesInUse`, `AccessKeysPerUserQuota`, `AttachedPoliciesPer{User,Group,Role}Quota`,
//!   `PolicySizeQuota`, …), plus every quota Tessera configures by its `SetAccountQuota` name
//!   and `AccessKeys` (all keys of the account, root's included).
//! - The alias: 3–32 lower-case letters, digits and single hyphens, not at either end
//!   (`InvalidParameter.AccountAlias.Length`/`.Format`), unique across accounts
//!   (`EntityAlreadyExists.AccountAlias`). An alias that looks like an account id is refused
//!   (`.Format`) because sign-in accepts either, so it could pass for another account. Without
//!   an alias, `GetAccountAlias` answers the account id, the default alias in RAM.

use std::collections::HashMap;

use tessera_iam::QuotaName;
use tessera_proto::v1 as pb;
use tessera_store::AccountStore as _;
use tonic::{Request, Response, Status};

use super::*;

/// The `SummaryMap` of `usage` and `quotas`.
fn summary(
    usage: &tessera_store::AccountUsage,
    quotas: &tessera_iam::Quotas,
) -> HashMap<String, u32> {
    let mut map: HashMap<String, u32> = QuotaName::ALL
        .iter()
        .map(|&name| (name.as_str().to_owned(), quotas.get(name)))
        .collect();
    // One quota per entity in Tessera; RAM reports it for each kind of entity.
    for entity in ["Group", "Role"] {
        map.insert(
            format!("AttachedPoliciesPer{entity}Quota"),
            quotas.custom_policies_per_entity,
        );
        map.insert(
            format!("AttachedSystemPoliciesPer{entity}Quota"),
            quotas.system_policies_per_entity,
        );
    }
    let policy_size = tessera_policy::Limits::default().identity_chars;
    map.insert(
        "PolicySizeQuota".to_owned(),
        u32::try_from(policy_size).unwrap_or(u32::MAX),
    );
    for (name, count) in [
        ("Users", usage.users),
        ("Groups", usage.groups),
        ("Roles", usage.roles),
        ("Policies", usage.custom_policies),
        ("AccessKeys", usage.access_keys),
        ("MFADevices", usage.virtual_mfa_devices),
        ("MFADevicesInUse", usage.virtual_mfa_devices_in_use),
    ] {
        map.insert(name.to_owned(), count);
    }
    map
}

pub(super) async fn get_account_summary(
    svc: &RamService,
    request: Request<pb::GetAccountSummaryRequest>,
) -> Result<Response<pb::GetAccountSummaryResponse>, Status> {
    let account = svc
        .authorize(&request, "GetAccountSummary", &Target::default())
        .await?;
    let usage = svc.store().account_usage(&account).await.map_err(err)?;
    let quotas = svc.store().quotas(&account).await.map_err(err)?;
    Ok(Response::new(pb::GetAccountSummaryResponse {
        summary: summary(&usage, &quotas),
    }))
}

pub(super) async fn set_account_alias(
    svc: &RamService,
    request: Request<pb::SetAccountAliasRequest>,
) -> Result<Response<pb::WriteResult>, Status> {
    let account = svc
        .authorize(&request, "SetAccountAlias", &Target::default())
        .await?;
    let alias = &request.get_ref().account_alias;
    if alias.is_empty() {
        return Err(err(Error::missing("AccountAlias")));
    }
    // The store checks RAM's rules; this one is Tessera's (see the module documentation).
    if AccountId::parse(alias).is_ok() {
        return Err(err(Error::format(
            "AccountAlias",
            "an alias that is not an account id",
        )));
    }
    let committed = svc
        .store()
        .set_account_alias(&account, Some(alias))
        .await
        .map_err(err)?;
    Ok(write_result(committed.revision))
}

pub(super) async fn clear_account_alias(
    svc: &RamService,
    request: Request<pb::SetAccountAliasRequest>,
) -> Result<Response<pb::WriteResult>, Status> {
    let account = svc
        .authorize(&request, "ClearAccountAlias", &Target::default())
        .await?;
    let committed = svc
        .store()
        .set_account_alias(&account, None)
        .await
        .map_err(err)?;
    Ok(write_result(committed.revision))
}

pub(super) async fn get_account_alias(
    svc: &RamService,
    request: Request<pb::SetAccountAliasRequest>,
) -> Result<Response<pb::SetAccountAliasRequest>, Status> {
    let account = svc
        .authorize(&request, "GetAccountAlias", &Target::default())
        .await?;
    let found = svc.store().get_account(&account).await.map_err(err)?;
    Ok(Response::new(pb::SetAccountAliasRequest {
        account_alias: found.alias.unwrap_or_else(|| found.id.as_str().to_owned()),
    }))
}
