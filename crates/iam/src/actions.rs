//! The admin action table: for every RAM/STS/Tessera operation the server exposes, the action
//! it is authorized as and the resource(s) it is authorized on — RAM's authorization table, so
//! that a tenant delegates administration with ordinary policies (DESIGN.md §3).
//!
//! One row per operation ([`OPERATIONS`]); [`authorize_operation`] decides a call.
//!
//! # Resources
//!
//! Request resources are built in the entity-ARN form with an **empty region**
//! (`acs:ram::<account>:user/<name>`). DESIGN.md §2 makes an empty request field match `*` in
//! a policy, so both the form RAM's authorization table documents (`acs:ram:*:<account>:user/<name>`)
//! and the entity ARN the API returns (`acs:ram::<account>:user/<name>`) work in `Resource`.
//!
//! | resource kind | ARN | used by |
//! |---|---|---|
//! | [`ResourceKind::User`] | `acs:ram::<a>:user/<UserName>` | user, login profile, MFA binding ops |
//! | [`ResourceKind::UserOrCaller`] | the `UserName`'s, or the caller's own when omitted | access key ops |
//! | [`ResourceKind::CallerUser`] | the caller's own user (root: `acs:ram::<a>:root`) | `ChangePassword` |
//! | [`ResourceKind::Group`] / [`ResourceKind::Role`] | `…:group/<GroupName>` / `…:role/<RoleName>` | group / role ops |
//! | [`ResourceKind::Policy`] | `acs:ram::<a>:policy/<PolicyName>`, system: `acs:ram::system:policy/<PolicyName>` (by `PolicyType`, default Custom) | reading and attaching policies |
//! | [`ResourceKind::CustomPolicy`] | `acs:ram::<a>:policy/<PolicyName>` | changing policies (system ones are read-only) |
//! | [`ResourceKind::Users`] etc. | `…:user/*`, `…:group/*`, `…:role/*`, `…:policy/*`, `…:mfa/*` | `List*` of a whole type |
//! | [`ResourceKind::MfaDevice`] / [`ResourceKind::MfaSerial`] | `…:mfa/<VirtualMFADeviceName>` / the `SerialNumber` itself | virtual MFA devices |
//! | [`ResourceKind::OidcProvider`] / [`ResourceKind::OidcProviders`] | `…:oidc-provider/<OIDCProviderName>` / `…:oidc-provider/*` | OIDC identity providers |
//! | [`ResourceKind::Account`] | `acs:ram::<a>:*` | account-level settings, `GetAccountSummary` |
//! | [`ResourceKind::RoleArn`] | the `RoleArn`'s role (any account) | `AssumeRole` |
//! | [`ResourceKind::Principal`] | the ARN of the principal asked about | `Authorize`, `SimulatePrincipalPolicy` |
//! | [`ResourceKind::OperatedAccount`] | `acs:tessera::<a>:account/<AccountId>` | the operator's per-account operations |
//! | [`ResourceKind::OperatedAccounts`] | `acs:tessera::<a>:account/*` | `CreateAccount`, `ListAccounts` |
//! | [`ResourceKind::Platform`] | `acs:tessera::<a>:*` | signing keys, platform-wide `Authorize` grants |
//! | [`ResourceKind::Trail`] | `acs:actiontrail::<a>:*` | the account's audit trail (`LookupEvents`) |
//!
//! Decisions where RAM's table and the brief differ or are silent:
//!
//! - `Create*` operations name the new entity (`ram:CreateUser` on `…:user/<new name>`, as
//!   DESIGN.md §3 and RAM's current `CreateRole` page say); RAM's older table lists `user/*`,
//!   which still matches as a policy pattern.
//! - `List*` of a whole type use `<type>/*` (RAM's table), not `acs:ram:*:<a>:*`: a grant on
//!   `acs:ram:*:<a>:user/*` then lets its holder list users, and grants on `acs:ram:*:<a>:*` or
//!   `*` still work.
//! - Operations on two entities need an Allow on **both** (every listed resource must be
//!   allowed, an explicit deny on any wins): `AddUserToGroup`/`RemoveUserFromGroup` (user and
//!   group, as RAM's table lists) and `Attach…`/`Detach…` (the target entity *and* the policy,
//!   as Resource Management's `AttachPolicy` lists). This lets an account delegate "may attach
//!   only these policies" without also handing out `AdministratorAccess`.
//! - Access-key operations take an optional `UserName`; without it they act on the caller
//!   (spec §4.4), so a user managing its own keys needs a grant on its own user ARN. A role
//!   session must name the user (`MissingUserName`).
//! - `RevokeRoleSessions` is a Tessera extension, so it is **`tessera:RevokeRoleSessions`** on
//!   the role (DESIGN.md §3: extensions use the `tessera:` service code). `ram:*` grants
//!   (`AliyunRAMFullAccess`) do not include it; `*` (`AdministratorAccess`) does. Deleting the
//!   role, which `ram:DeleteRole` allows, also ends its sessions.
//! - `Authorize`, `BatchAuthorize` (`tessera:Authorize`) and `SimulatePrincipalPolicy`
//!   (`tessera:SimulatePrincipalPolicy`) are always allowed about the caller itself, and need a
//!   grant on the other principal's ARN otherwise; the own-account rule then confines RAM
//!   identities to their own account, while platform services are decided by what the operator
//!   granted them (see [`mod@crate::authorize`]).
//! - Always allowed for any authenticated caller: `GetCallerIdentity` (spec §5.3), `GetJwks`
//!   (public keys), `ValidatePolicy` and `SimulateCustomPolicy` (they read nothing of the
//!   account).
//! - `AssumeRole`'s row gives the identity side only; the decision is
//!   [`crate::assume_role::assume_role`].
//! - The operator's operations (`tessera:CreateAccount`, `tessera:GetAccount`, …) are only ever
//!   called by principals of the platform operator's account; the server refuses everyone else
//!   before this table is consulted (the table does not know which account is the operator's).
//!   Their resources live in the caller's (the operator's) account under the `tessera` service:
//!   `account/<AccountId>` for what acts on one tenant account (the id is validated first),
//!   `account/*` for creating (the new id is not known yet) and listing accounts, and `*` for
//!   platform-level operations (rotating the signing key, platform-wide `Authorize` grants,
//!   whose principal lives in another account and so cannot be the resource). The operator's
//!   root may do all of them; its users and roles need policies such as
//!   `{"Effect":"Allow","Action":"tessera:ListAccounts","Resource":"acs:tessera::<op>:*"}`.
//! - Names in parameters are validated (RAM's name rules) before ARNs are built from them, so a
//!   name can never smuggle `*` or `:` into a resource.

use tessera_policy::{Context, Decision, Permissions, Request};

use crate::assume_role::RoleArn;
use crate::authorize::{Authorization, Reason, authorize};
use crate::error::{Entity, Error};
use crate::ids::{AccountId, PolicyType, arn};
use crate::names;
use crate::principal::Caller;

/// Which API an operation belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Api {
    /// RAM 2015-05-01 (`ram.aliyuncs.com`-compatible).
    Ram,
    /// STS 2015-04-01.
    Sts,
    /// Tessera's own (gRPC only).
    Tessera,
    /// The audit trail, by ActionTrail's action names (gRPC only).
    ActionTrail,
}

/// RAM's access level of an operation. Audit records every [`Access::Write`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    Read,
    List,
    Write,
}

/// How an operation is authorized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// The caller's policies, on every resource of the row.
    Policies,
    /// Any authenticated caller.
    Always,
    /// Always about the caller itself; otherwise the caller's policies on the principal.
    PoliciesUnlessSelf,
}

/// What a resource of an operation is built from (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceKind {
    User,
    UserOrCaller,
    CallerUser,
    Group,
    Role,
    Policy,
    CustomPolicy,
    Users,
    Groups,
    Roles,
    Policies,
    MfaDevices,
    MfaDevice,
    MfaSerial,
    OidcProvider,
    OidcProviders,
    Account,
    RoleArn,
    Principal,
    OperatedAccount,
    OperatedAccounts,
    Platform,
    Trail,
}

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    /// The API operation (`CreateUser`), as the `Action` parameter spells it.
    pub name: &'static str,
    pub api: Api,
    /// The action policies name (`ram:CreateUser`).
    pub action: &'static str,
    pub access: Access,
    pub rule: Rule,
    /// The resources it is authorized on; all must be allowed.
    pub resources: &'static [ResourceKind],
}

/// The parameters resources are built from (those the operation has; the rest `None`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Target<'a> {
    pub user_name: Option<&'a str>,
    pub group_name: Option<&'a str>,
    pub role_name: Option<&'a str>,
    pub policy_name: Option<&'a str>,
    /// `PolicyType`; Custom when absent.
    pub policy_type: Option<PolicyType>,
    pub mfa_device_name: Option<&'a str>,
    pub serial_number: Option<&'a str>,
    pub role_arn: Option<&'a str>,
    /// The principal an `Authorize`/`SimulatePrincipalPolicy` asks about; the caller when absent.
    pub principal: Option<&'a Caller>,
    /// `AccountId`: the tenant account an operator operation acts on.
    pub account_id: Option<&'a str>,
    /// `OIDCProviderName`.
    pub oidc_provider_name: Option<&'a str>,
}

use Access::{List, Read, Write};
use ResourceKind as K;

const fn ram(
    name: &'static str,
    action: &'static str,
    access: Access,
    resources: &'static [ResourceKind],
) -> Operation {
    Operation {
        name,
        api: Api::Ram,
        action,
        access,
        rule: Rule::Policies,
        resources,
    }
}

const fn other(
    api: Api,
    name: &'static str,
    action: &'static str,
    access: Access,
    rule: Rule,
    resources: &'static [ResourceKind],
) -> Operation {
    Operation {
        name,
        api,
        action,
        access,
        rule,
        resources,
    }
}

/// Every operation, one row each.
#[rustfmt::skip]
pub const OPERATIONS: &[Operation] = &[
    // Users
    ram("CreateUser", "ram:CreateUser", Write, &[K::User]),
    ram("GetUser", "ram:GetUser", Read, &[K::User]),
    ram("UpdateUser", "ram:UpdateUser", Write, &[K::User]),
    ram("DeleteUser", "ram:DeleteUser", Write, &[K::User]),
    ram("ListUsers", "ram:ListUsers", List, &[K::Users]),
    // Login profiles and passwords
    ram("CreateLoginProfile", "ram:CreateLoginProfile", Write, &[K::User]),
    ram("GetLoginProfile", "ram:GetLoginProfile", Read, &[K::User]),
    ram("UpdateLoginProfile", "ram:UpdateLoginProfile", Write, &[K::User]),
    ram("DeleteLoginProfile", "ram:DeleteLoginProfile", Write, &[K::User]),
    ram("ChangePassword", "ram:ChangePassword", Write, &[K::CallerUser]),
    // Access keys
    ram("CreateAccessKey", "ram:CreateAccessKey", Write, &[K::UserOrCaller]),
    ram("UpdateAccessKey", "ram:UpdateAccessKey", Write, &[K::UserOrCaller]),
    ram("DeleteAccessKey", "ram:DeleteAccessKey", Write, &[K::UserOrCaller]),
    ram("ListAccessKeys", "ram:ListAccessKeys", List, &[K::UserOrCaller]),
    ram("GetAccessKeyLastUsed", "ram:GetAccessKeyLastUsed", Read, &[K::UserOrCaller]),
    // MFA
    ram("CreateVirtualMFADevice", "ram:CreateVirtualMFADevice", Write, &[K::MfaDevice]),
    ram("ListVirtualMFADevices", "ram:ListVirtualMFADevices", List, &[K::MfaDevices]),
    ram("DeleteVirtualMFADevice", "ram:DeleteVirtualMFADevice", Write, &[K::MfaSerial]),
    ram("BindMFADevice", "ram:BindMFADevice", Write, &[K::User]),
    ram("UnbindMFADevice", "ram:UnbindMFADevice", Write, &[K::User]),
    ram("GetUserMFAInfo", "ram:GetUserMFAInfo", Read, &[K::User]),
    // Groups
    ram("CreateGroup", "ram:CreateGroup", Write, &[K::Group]),
    ram("GetGroup", "ram:GetGroup", Read, &[K::Group]),
    ram("UpdateGroup", "ram:UpdateGroup", Write, &[K::Group]),
    ram("DeleteGroup", "ram:DeleteGroup", Write, &[K::Group]),
    ram("ListGroups", "ram:ListGroups", List, &[K::Groups]),
    ram("AddUserToGroup", "ram:AddUserToGroup", Write, &[K::User, K::Group]),
    ram("RemoveUserFromGroup", "ram:RemoveUserFromGroup", Write, &[K::User, K::Group]),
    ram("ListGroupsForUser", "ram:ListGroupsForUser", List, &[K::User]),
    ram("ListUsersForGroup", "ram:ListUsersForGroup", List, &[K::Group]),
    // Roles
    ram("CreateRole", "ram:CreateRole", Write, &[K::Role]),
    ram("GetRole", "ram:GetRole", Read, &[K::Role]),
    ram("UpdateRole", "ram:UpdateRole", Write, &[K::Role]),
    ram("DeleteRole", "ram:DeleteRole", Write, &[K::Role]),
    ram("ListRoles", "ram:ListRoles", List, &[K::Roles]),
    // Policies and versions
    ram("CreatePolicy", "ram:CreatePolicy", Write, &[K::CustomPolicy]),
    ram("GetPolicy", "ram:GetPolicy", Read, &[K::Policy]),
    ram("UpdatePolicyDescription", "ram:UpdatePolicyDescription", Write, &[K::CustomPolicy]),
    ram("DeletePolicy", "ram:DeletePolicy", Write, &[K::CustomPolicy]),
    ram("ListPolicies", "ram:ListPolicies", List, &[K::Policies]),
    ram("CreatePolicyVersion", "ram:CreatePolicyVersion", Write, &[K::CustomPolicy]),
    ram("GetPolicyVersion", "ram:GetPolicyVersion", Read, &[K::Policy]),
    ram("DeletePolicyVersion", "ram:DeletePolicyVersion", Write, &[K::CustomPolicy]),
    ram("ListPolicyVersions", "ram:ListPolicyVersions", List, &[K::Policy]),
    ram("SetDefaultPolicyVersion", "ram:SetDefaultPolicyVersion", Write, &[K::CustomPolicy]),
    ram("ListEntitiesForPolicy", "ram:ListEntitiesForPolicy", List, &[K::Policy]),
    // Attachments
    ram("AttachPolicyToUser", "ram:AttachPolicyToUser", Write, &[K::User, K::Policy]),
    ram("DetachPolicyFromUser", "ram:DetachPolicyFromUser", Write, &[K::User, K::Policy]),
    ram("AttachPolicyToGroup", "ram:AttachPolicyToGroup", Write, &[K::Group, K::Policy]),
    ram("DetachPolicyFromGroup", "ram:DetachPolicyFromGroup", Write, &[K::Group, K::Policy]),
    ram("AttachPolicyToRole", "ram:AttachPolicyToRole", Write, &[K::Role, K::Policy]),
    ram("DetachPolicyFromRole", "ram:DetachPolicyFromRole", Write, &[K::Role, K::Policy]),
    ram("ListPoliciesForUser", "ram:ListPoliciesForUser", List, &[K::User]),
    ram("ListPoliciesForGroup", "ram:ListPoliciesForGroup", List, &[K::Group]),
    ram("ListPoliciesForRole", "ram:ListPoliciesForRole", List, &[K::Role]),
    // OIDC identity providers (IMS 2019-08-15 operations, served with RAM's)
    ram("CreateOIDCProvider", "ram:CreateOIDCProvider", Write, &[K::OidcProvider]),
    ram("GetOIDCProvider", "ram:GetOIDCProvider", Read, &[K::OidcProvider]),
    ram("UpdateOIDCProvider", "ram:UpdateOIDCProvider", Write, &[K::OidcProvider]),
    ram("DeleteOIDCProvider", "ram:DeleteOIDCProvider", Write, &[K::OidcProvider]),
    ram("ListOIDCProviders", "ram:ListOIDCProviders", List, &[K::OidcProviders]),
    ram("AddClientIdToOIDCProvider", "ram:AddClientIdToOIDCProvider", Write, &[K::OidcProvider]),
    ram("RemoveClientIdFromOIDCProvider", "ram:RemoveClientIdFromOIDCProvider", Write, &[K::OidcProvider]),
    ram("AddFingerprintToOIDCProvider", "ram:AddFingerprintToOIDCProvider", Write, &[K::OidcProvider]),
    ram("RemoveFingerprintFromOIDCProvider", "ram:RemoveFingerprintFromOIDCProvider", Write, &[K::OidcProvider]),
    // The account
    ram("GetAccountSummary", "ram:GetAccountSummary", Read, &[K::Account]),
    ram("GetAccountAlias", "ram:GetAccountAlias", Read, &[K::Account]),
    ram("SetAccountAlias", "ram:SetAccountAlias", Write, &[K::Account]),
    ram("ClearAccountAlias", "ram:ClearAccountAlias", Write, &[K::Account]),
    ram("GetPasswordPolicy", "ram:GetPasswordPolicy", Read, &[K::Account]),
    ram("SetPasswordPolicy", "ram:SetPasswordPolicy", Write, &[K::Account]),
    ram("GetSecurityPreference", "ram:GetSecurityPreference", Read, &[K::Account]),
    ram("SetSecurityPreference", "ram:SetSecurityPreference", Write, &[K::Account]),
    // STS
    other(Api::Sts, "AssumeRole", "sts:AssumeRole", Write, Rule::Policies, &[K::RoleArn]),
    other(Api::Sts, "GetCallerIdentity", "sts:GetCallerIdentity", Read, Rule::Always, &[]),
    // Tessera extensions
    other(Api::Tessera, "RevokeRoleSessions", "tessera:RevokeRoleSessions", Write, Rule::Policies, &[K::Role]),
    other(Api::Tessera, "Authorize", "tessera:Authorize", Read, Rule::PoliciesUnlessSelf, &[K::Principal]),
    other(Api::Tessera, "BatchAuthorize", "tessera:Authorize", Read, Rule::PoliciesUnlessSelf, &[K::Principal]),
    other(Api::Tessera, "SimulatePrincipalPolicy", "tessera:SimulatePrincipalPolicy", Read, Rule::PoliciesUnlessSelf, &[K::Principal]),
    other(Api::Tessera, "SimulateCustomPolicy", "tessera:SimulateCustomPolicy", Read, Rule::Always, &[]),
    other(Api::Tessera, "ValidatePolicy", "tessera:ValidatePolicy", Read, Rule::Always, &[]),
    other(Api::Tessera, "GetJwks", "tessera:GetJwks", Read, Rule::Always, &[]),
    // The audit trail, as ActionTrail names its action
    other(Api::ActionTrail, "LookupEvents", "actiontrail:LookupEvents", Read, Rule::Policies, &[K::Trail]),
    // The platform operator's (callers of other accounts are refused before the table)
    other(Api::Tessera, "CreateAccount", "tessera:CreateAccount", Write, Rule::Policies, &[K::OperatedAccounts]),
    other(Api::Tessera, "GetAccount", "tessera:GetAccount", Read, Rule::Policies, &[K::OperatedAccount]),
    other(Api::Tessera, "ListAccounts", "tessera:ListAccounts", List, Rule::Policies, &[K::OperatedAccounts]),
    other(Api::Tessera, "SetAccountStatus", "tessera:SetAccountStatus", Write, Rule::Policies, &[K::OperatedAccount]),
    other(Api::Tessera, "SetAccountQuota", "tessera:SetAccountQuota", Write, Rule::Policies, &[K::OperatedAccount]),
    other(Api::Tessera, "RotateSigningKey", "tessera:RotateSigningKey", Write, Rule::Policies, &[K::Platform]),
    other(Api::Tessera, "GrantPlatformAuthorize", "tessera:GrantPlatformAuthorize", Write, Rule::Policies, &[K::Platform]),
    other(Api::Tessera, "RevokePlatformAuthorize", "tessera:RevokePlatformAuthorize", Write, Rule::Policies, &[K::Platform]),
];

/// The row of operation `name` (exact spelling, as the `Action` parameter carries it).
pub fn operation(name: &str) -> Option<&'static Operation> {
    OPERATIONS.iter().find(|op| op.name == name)
}

impl Operation {
    /// The resources this call is authorized on, in row order. Errors are parameter errors
    /// (`MissingUserName`, `InvalidParameter.UserName.InvalidChars`, …) or, when the caller
    /// cannot be the subject of the operation at all, `NoPermission`.
    pub fn resource_arns(
        &self,
        caller: &Caller,
        target: &Target<'_>,
    ) -> Result<Vec<String>, Error> {
        match self.build(caller, target)? {
            Ok(resources) => Ok(resources),
            Err(_) => Err(Error::no_permission(
                crate::authorize::NO_PERMISSION_MESSAGE,
            )),
        }
    }

    /// Outer error: bad parameters. Inner error: an authorization-level refusal.
    fn build(
        &self,
        caller: &Caller,
        target: &Target<'_>,
    ) -> Result<Result<Vec<String>, Reason>, Error> {
        let mut out = Vec::with_capacity(self.resources.len());
        for kind in self.resources {
            match resource(*kind, caller, target)? {
                Ok(arn) => out.push(arn),
                Err(reason) => return Ok(Err(reason)),
            }
        }
        Ok(Ok(out))
    }
}

/// Decides a call of `operation` by `caller` (see the module documentation). `Err` only for
/// malformed parameters; a refusal is an `Ok` [`Authorization`] that is not allowed (turn it
/// into `NoPermission` with [`Authorization::require`]).
pub fn authorize_operation(
    operation: &Operation,
    caller: &Caller,
    permissions: &Permissions<'_>,
    target: &Target<'_>,
    context: &Context,
) -> Result<Authorization, Error> {
    match operation.rule {
        Rule::Always => return Ok(Authorization::new(Decision::Allow, Reason::AlwaysAllowed)),
        Rule::PoliciesUnlessSelf => {
            if target.principal.is_none_or(|p| p.same_principal(caller)) {
                return Ok(Authorization::new(Decision::Allow, Reason::AboutSelf));
            }
        }
        Rule::Policies => {}
    }
    let resources = match operation.build(caller, target)? {
        Ok(resources) => resources,
        Err(reason) => return Ok(Authorization::new(Decision::ImplicitDeny, reason)),
    };
    let mut combined: Option<Authorization> = None;
    for resource in &resources {
        let request = Request::new(operation.action, resource, context);
        let this = authorize(caller, permissions, &request);
        combined = Some(combined.map_or(this, |so_far| so_far.and(this)));
    }
    Ok(combined.unwrap_or(Authorization::new(Decision::ImplicitDeny, Reason::Policies)))
}

fn required<'a>(value: Option<&'a str>, field: &str) -> Result<&'a str, Error> {
    value
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Error::missing(field))
}

/// One resource ARN; `Ok(Err(reason))` when the caller cannot be the subject.
fn resource(
    kind: ResourceKind,
    caller: &Caller,
    target: &Target<'_>,
) -> Result<Result<String, Reason>, Error> {
    // The caller's account, for the kinds that live in it.
    macro_rules! account {
        () => {
            match caller.account() {
                Some(account) => account,
                None => return Ok(Err(Reason::NoAccount)),
            }
        };
    }
    let user = |account: &AccountId, name: Option<&str>| -> Result<String, Error> {
        let name = required(name, "UserName")?;
        names::user_name(name)?;
        Ok(arn::user(account, name))
    };
    let own = || match caller {
        Caller::User { .. } | Caller::Root { .. } => Some(caller.arn()),
        _ => None,
    };
    let policy = |account: &AccountId, policy_type: PolicyType| -> Result<String, Error> {
        let name = required(target.policy_name, "PolicyName")?;
        names::policy_name(name)?;
        Ok(arn::policy(account, policy_type, name))
    };
    let in_account = |account: &AccountId, rest: &str| format!("acs:ram::{account}:{rest}");
    let built = match kind {
        K::User => user(account!(), target.user_name)?,
        K::UserOrCaller => match (non_empty(target.user_name), own()) {
            (Some(name), _) => user(account!(), Some(name))?,
            (None, Some(arn)) => arn,
            (None, None) => return Err(Error::missing("UserName")),
        },
        K::CallerUser => match own() {
            Some(arn) => arn,
            None => return Ok(Err(Reason::NotAUser)),
        },
        K::Group => {
            let name = required(target.group_name, "GroupName")?;
            names::group_name(name)?;
            arn::group(account!(), name)
        }
        K::Role => {
            let name = required(target.role_name, "RoleName")?;
            names::role_name(name)?;
            arn::role(account!(), name)
        }
        K::Policy => policy(account!(), target.policy_type.unwrap_or(PolicyType::Custom))?,
        K::CustomPolicy => policy(account!(), PolicyType::Custom)?,
        K::Users => in_account(account!(), "user/*"),
        K::Groups => in_account(account!(), "group/*"),
        K::Roles => in_account(account!(), "role/*"),
        K::Policies => in_account(account!(), "policy/*"),
        K::MfaDevices => in_account(account!(), "mfa/*"),
        K::MfaDevice => {
            let name = required(target.mfa_device_name, "VirtualMFADeviceName")?;
            names::mfa_device_name(name)?;
            in_account(account!(), &format!("mfa/{name}"))
        }
        K::OidcProvider => {
            let name = required(target.oidc_provider_name, "OIDCProviderName")?;
            crate::oidc::provider_name(name)?;
            in_account(account!(), &format!("oidc-provider/{name}"))
        }
        K::OidcProviders => in_account(account!(), "oidc-provider/*"),
        K::Account => in_account(account!(), "*"),
        // Not necessarily in the caller's account: another account's role, the principal asked
        // about, a serial number (verbatim; one of another account is then denied by the
        // own-account rule, not reported as missing).
        K::RoleArn => RoleArn::parse(required(target.role_arn, "RoleArn")?)?.to_string(),
        K::Principal => target.principal.unwrap_or(caller).arn(),
        K::MfaSerial => {
            let serial = required(target.serial_number, "SerialNumber")?;
            if !is_serial_number(serial) {
                return Err(Error::not_exist(Entity::VirtualMfaDevice));
            }
            serial.to_owned()
        }
        K::OperatedAccount => {
            let id = AccountId::parse(required(target.account_id, "AccountId")?)?;
            format!("acs:tessera::{}:account/{id}", account!())
        }
        K::OperatedAccounts => format!("acs:tessera::{}:account/*", account!()),
        K::Platform => format!("acs:tessera::{}:*", account!()),
        K::Trail => format!("acs:actiontrail::{}:*", account!()),
    };
    Ok(Ok(built))
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty())
}

/// `acs:ram::<16-digit account>:mfa/<device name>`: the serial numbers Tessera issues.
fn is_serial_number(serial: &str) -> bool {
    serial
        .strip_prefix("acs:ram::")
        .and_then(|rest| rest.split_once(':'))
        .is_some_and(|(account, resource)| {
            AccountId::parse(account).is_ok()
                && resource
                    .strip_prefix("mfa/")
                    .is_some_and(|name| names::mfa_device_name(name).is_ok())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authorize::ResourceArn;
    use std::collections::HashSet;
    use tessera_policy::{Limits, PolicyKind, PolicyLabel, PolicySet, parse};

    const A: &str = "1111111111111111";
    const B: &str = "2222222222222222";

    fn acct(a: &str) -> AccountId {
        AccountId::parse(a).unwrap()
    }

    fn user(account: &str, name: &str) -> Caller {
        Caller::User {
            account: acct(account),
            user_id: format!("u-{name}"),
            name: name.into(),
        }
    }

    fn session() -> Caller {
        Caller::RoleSession {
            account: acct(A),
            role_id: "r".into(),
            role_name: "ops".into(),
            session_name: "s".into(),
            issued_at: jiff::Timestamp::UNIX_EPOCH,
            source_identity: None,
        }
    }

    fn service() -> Caller {
        Caller::Service {
            name: "gateway.internal".into(),
        }
    }

    fn set(statements: &str) -> PolicySet {
        let doc = format!("{{\"Version\":\"1\",\"Statement\":[{statements}]}}");
        let policy = parse(&doc, PolicyKind::Identity, &Limits::default())
            .unwrap()
            .policy;
        PolicySet::new([(PolicyLabel::new("p"), &policy)])
    }

    fn full_target(principal: &Caller) -> Target<'_> {
        Target {
            user_name: Some("alice"),
            group_name: Some("dev"),
            role_name: Some("Deploy"),
            policy_name: Some("ReadOnlyAccess"),
            policy_type: Some(PolicyType::System),
            mfa_device_name: Some("phone"),
            serial_number: Some("acs:ram::1111111111111111:mfa/phone"),
            role_arn: Some("acs:ram::2222222222222222:role/Deploy"),
            principal: Some(principal),
            account_id: Some(B),
            oidc_provider_name: Some("k8s"),
        }
    }

    fn op(name: &str) -> &'static Operation {
        operation(name).unwrap()
    }

    fn decide(
        name: &str,
        caller: &Caller,
        policies: &PolicySet,
        target: &Target<'_>,
    ) -> Result<Authorization, Error> {
        authorize_operation(
            op(name),
            caller,
            &Permissions::new(policies, None),
            target,
            &Context::new(),
        )
    }

    #[test]
    fn the_table_is_well_formed() {
        let mut names = HashSet::new();
        for row in OPERATIONS {
            assert!(names.insert(row.name), "duplicate operation {}", row.name);
            let (service, action) = row.action.split_once(':').unwrap();
            let expected_service = match row.api {
                Api::Ram => "ram",
                Api::Sts => "sts",
                Api::Tessera => "tessera",
                Api::ActionTrail => "actiontrail",
            };
            assert_eq!(service, expected_service, "{}", row.name);
            assert!(!action.is_empty() && action.bytes().all(|b| b.is_ascii_alphanumeric()));
            if row.name != "BatchAuthorize" {
                assert_eq!(action, row.name, "action named after its operation");
            }
            assert_eq!(
                row.rule == Rule::Always,
                row.resources.is_empty(),
                "{}: only always-allowed operations have no resource",
                row.name
            );
            let writes = [
                "Create",
                "Update",
                "Delete",
                "Set",
                "Attach",
                "Detach",
                "Add",
                "Remove",
                "Bind",
                "Unbind",
                "Change",
                "Clear",
                "Revoke",
                "AssumeRole",
                "Rotate",
                "Grant",
            ];
            if row.name.starts_with("Get") {
                assert_eq!(row.access, Read, "{}", row.name);
            } else if row.name.starts_with("List") {
                assert_eq!(row.access, List, "{}", row.name);
            } else if writes.iter().any(|w| row.name.starts_with(w)) {
                assert_eq!(row.access, Write, "{}", row.name);
            } else {
                assert_eq!(row.access, Read, "{}", row.name);
            }
            assert_eq!(operation(row.name), Some(row));
        }
        assert!(
            operation("createuser").is_none(),
            "operation names are exact"
        );
        assert!(operation("NoSuchThing").is_none());
        for required in [
            "CreateUser",
            "AttachPolicyToRole",
            "GetAccountSummary",
            "AssumeRole",
            "GetCallerIdentity",
            "RevokeRoleSessions",
        ] {
            assert!(operation(required).is_some(), "{required}");
        }
    }

    /// Every row's builder produces parseable `acs:` ARNs of the right service and account.
    #[test]
    fn every_row_builds_parseable_arns() {
        let caller = user(A, "bob");
        let other = user(A, "carol");
        let target = full_target(&other);
        for row in OPERATIONS {
            let arns = row.resource_arns(&caller, &target).unwrap();
            assert_eq!(arns.len(), row.resources.len(), "{}", row.name);
            for (kind, resource) in row.resources.iter().zip(&arns) {
                let parsed = ResourceArn::parse(resource)
                    .unwrap_or_else(|| panic!("{}: {resource} is not an ARN", row.name));
                let service = match kind {
                    K::OperatedAccount | K::OperatedAccounts | K::Platform => "tessera",
                    K::Trail => "actiontrail",
                    _ => "ram",
                };
                assert_eq!(parsed.service, service, "{}: {resource}", row.name);
                assert_eq!(parsed.region, "", "{}: {resource}", row.name);
                let account = match kind {
                    K::RoleArn => B,
                    K::Policy => "system",
                    _ => A,
                };
                assert_eq!(parsed.account, account, "{}: {resource}", row.name);
                assert!(!parsed.relative.is_empty(), "{}", row.name);
            }
        }
    }

    #[test]
    fn resource_arns_by_kind() {
        let bob = user(A, "bob");
        let other = user(A, "carol");
        let t = full_target(&other);
        let custom = Target {
            policy_type: None,
            ..t
        };
        let arns = |name: &str, caller: &Caller, target: &Target<'_>| {
            op(name).resource_arns(caller, target).unwrap()
        };
        let a = |rest: &str| format!("acs:ram::{A}:{rest}");
        assert_eq!(arns("CreateUser", &bob, &t), [a("user/alice")]);
        assert_eq!(arns("ListUsers", &bob, &t), [a("user/*")]);
        assert_eq!(arns("ListPolicies", &bob, &t), [a("policy/*")]);
        assert_eq!(arns("GetAccountSummary", &bob, &t), [a("*")]);
        assert_eq!(
            arns("LookupEvents", &bob, &t),
            [format!("acs:actiontrail::{A}:*")]
        );
        assert_eq!(
            arns("AddUserToGroup", &bob, &t),
            [a("user/alice"), a("group/dev")]
        );
        assert_eq!(
            arns("AttachPolicyToRole", &bob, &t),
            [
                a("role/Deploy"),
                "acs:ram::system:policy/ReadOnlyAccess".to_owned()
            ]
        );
        assert_eq!(
            arns("AttachPolicyToUser", &bob, &custom),
            [a("user/alice"), a("policy/ReadOnlyAccess")]
        );
        // Changing a policy always names the custom one.
        assert_eq!(arns("DeletePolicy", &bob, &t), [a("policy/ReadOnlyAccess")]);
        assert_eq!(arns("CreateVirtualMFADevice", &bob, &t), [a("mfa/phone")]);
        assert_eq!(arns("DeleteVirtualMFADevice", &bob, &t), [a("mfa/phone")]);
        assert_eq!(
            arns("AssumeRole", &bob, &t),
            [format!("acs:ram::{B}:role/Deploy")]
        );
        assert_eq!(arns("Authorize", &bob, &t), [a("user/carol")]);
        assert_eq!(arns("RevokeRoleSessions", &bob, &t), [a("role/Deploy")]);
        assert_eq!(
            arns("CreateOIDCProvider", &bob, &t),
            [a("oidc-provider/k8s")]
        );
        assert_eq!(arns("ListOIDCProviders", &bob, &t), [a("oidc-provider/*")]);
        assert!(arns("GetCallerIdentity", &bob, &t).is_empty());
        let tessera = |rest: &str| format!("acs:tessera::{A}:{rest}");
        assert_eq!(
            arns("GetAccount", &bob, &t),
            [tessera(&format!("account/{B}"))]
        );
        assert_eq!(
            arns("SetAccountStatus", &bob, &t),
            [tessera(&format!("account/{B}"))]
        );
        assert_eq!(
            arns("SetAccountQuota", &bob, &t),
            [tessera(&format!("account/{B}"))]
        );
        assert_eq!(arns("CreateAccount", &bob, &t), [tessera("account/*")]);
        assert_eq!(arns("ListAccounts", &bob, &t), [tessera("account/*")]);
        for name in [
            "RotateSigningKey",
            "GrantPlatformAuthorize",
            "RevokePlatformAuthorize",
        ] {
            assert_eq!(arns(name, &bob, &t), [tessera("*")], "{name}");
        }

        // Self-service defaults.
        let none = Target::default();
        assert_eq!(arns("CreateAccessKey", &bob, &none), [a("user/bob")]);
        assert_eq!(
            arns("ListAccessKeys", &Caller::Root { account: acct(A) }, &none),
            [a("root")]
        );
        assert_eq!(
            arns("ChangePassword", &bob, &t),
            [a("user/bob")],
            "always the caller"
        );
        assert_eq!(arns("Authorize", &bob, &none), [a("user/bob")]);
    }

    #[test]
    fn bad_and_missing_parameters() {
        let bob = user(A, "bob");
        let sess = session();
        let svc = service();
        let err = |name: &str, caller: &Caller, target: Target<'_>| {
            op(name)
                .resource_arns(caller, &target)
                .unwrap_err()
                .code()
                .to_owned()
        };
        let cases: Vec<(&str, &Caller, Target<'_>, &str)> = vec![
            ("GetUser", &bob, Target::default(), "MissingUserName"),
            (
                "GetUser",
                &bob,
                Target {
                    user_name: Some(""),
                    ..Target::default()
                },
                "MissingUserName",
            ),
            (
                "GetUser",
                &bob,
                Target {
                    user_name: Some("a*"),
                    ..Target::default()
                },
                "InvalidParameter.UserName.InvalidChars",
            ),
            (
                "GetUser",
                &bob,
                Target {
                    user_name: Some("a:b"),
                    ..Target::default()
                },
                "InvalidParameter.UserName.InvalidChars",
            ),
            ("GetGroup", &bob, Target::default(), "MissingGroupName"),
            (
                "GetRole",
                &bob,
                Target {
                    role_name: Some("x_y"),
                    ..Target::default()
                },
                "InvalidParameter.RoleName.InvalidChars",
            ),
            ("GetPolicy", &bob, Target::default(), "MissingPolicyName"),
            (
                "AddUserToGroup",
                &bob,
                Target {
                    user_name: Some("alice"),
                    ..Target::default()
                },
                "MissingGroupName",
            ),
            (
                "CreateAccessKey",
                &sess,
                Target::default(),
                "MissingUserName",
            ),
            (
                "DeleteVirtualMFADevice",
                &bob,
                Target {
                    serial_number: Some("phone"),
                    ..Target::default()
                },
                "EntityNotExist.VirtualMFADevice",
            ),
            (
                "DeleteVirtualMFADevice",
                &bob,
                Target::default(),
                "MissingSerialNumber",
            ),
            (
                "AssumeRole",
                &bob,
                Target {
                    role_arn: Some("acs:ram::1:role/x"),
                    ..Target::default()
                },
                "InvalidParameter.RoleArn",
            ),
            ("AssumeRole", &bob, Target::default(), "MissingRoleArn"),
            ("ChangePassword", &sess, Target::default(), "NoPermission"),
            (
                "CreateUser",
                &svc,
                Target {
                    user_name: Some("x"),
                    ..Target::default()
                },
                "NoPermission",
            ),
            ("GetAccount", &bob, Target::default(), "MissingAccountId"),
            (
                "SetAccountStatus",
                &bob,
                Target {
                    account_id: Some(""),
                    ..Target::default()
                },
                "MissingAccountId",
            ),
            (
                "SetAccountQuota",
                &bob,
                Target {
                    account_id: Some("12*"),
                    ..Target::default()
                },
                "InvalidParameter.AccountId.Format",
            ),
            (
                "GetAccount",
                &bob,
                Target {
                    account_id: Some("0111111111111111"),
                    ..Target::default()
                },
                "InvalidParameter.AccountId.Format",
            ),
            ("ListAccounts", &svc, Target::default(), "NoPermission"),
        ];
        for (name, caller, target, code) in cases {
            assert_eq!(err(name, caller, target), code, "{name}");
        }
    }

    /// The forms of `Resource` a tenant may write: RAM's table form (`acs:ram:*:…`), the entity
    /// form (`acs:ram::…`), account-wide and type-wide wildcards.
    #[test]
    fn documented_policy_forms_grant_the_operations() {
        let bob = user(A, "bob");
        let other = user(A, "carol");
        let t = full_target(&other);
        let allow = |action: &str, resource: &str| {
            set(&format!(
                r#"{{"Effect":"Allow","Action":"{action}","Resource":"{resource}"}}"#
            ))
        };
        #[rustfmt::skip]
        let cases = [
            ("GetUser", allow("ram:GetUser", "acs:ram:*:1111111111111111:user/alice"), true),
            ("GetUser", allow("ram:GetUser", "acs:ram::1111111111111111:user/alice"), true),
            ("GetUser", allow("ram:Get*", "acs:ram:*:1111111111111111:user/*"), true),
            ("GetUser", allow("ram:GetUser", "acs:ram:*:1111111111111111:user/bob"), false),
            ("GetUser", allow("ram:GetUser", "acs:ram:*:2222222222222222:user/alice"), false),
            ("CreateUser", allow("ram:CreateUser", "acs:ram:*:1111111111111111:user/*"), true),
            ("ListUsers", allow("ram:ListUsers", "acs:ram:*:1111111111111111:user/*"), true),
            ("ListUsers", allow("ram:ListUsers", "acs:ram:*:1111111111111111:*"), true),
            ("ListUsers", allow("ram:ListUsers", "acs:ram:*:1111111111111111:user/alice"), false),
            ("ListUsers", allow("ram:List*", "*"), true),
            ("GetAccountSummary", allow("ram:GetAccountSummary", "acs:ram:*:1111111111111111:*"), true),
            ("GetAccountSummary", allow("ram:GetAccountSummary", "acs:ram:*:1111111111111111:user/*"), false),
            ("GetPolicy", allow("ram:GetPolicy", "acs:ram:*:system:policy/ReadOnlyAccess"), true),
            ("GetPolicy", allow("ram:GetPolicy", "acs:ram:*:*:policy/*"), true),
            ("RevokeRoleSessions", allow("tessera:RevokeRoleSessions", "acs:ram:*:1111111111111111:role/Deploy"), true),
            ("RevokeRoleSessions", allow("ram:*", "*"), false),
            ("RevokeRoleSessions", allow("*", "*"), true),
            ("ListAccounts", allow("tessera:ListAccounts", "acs:tessera::1111111111111111:*"), true),
            ("ListAccounts", allow("tessera:ListAccounts", "acs:tessera:*:1111111111111111:account/*"), true),
            ("ListAccounts", allow("tessera:GetAccount", "*"), false),
            ("ListAccounts", allow("ram:*", "*"), false),
            ("ListAccounts", allow("tessera:ListAccounts", "acs:tessera::2222222222222222:*"), false),
            ("GetAccount", allow("tessera:GetAccount", "acs:tessera::1111111111111111:account/2222222222222222"), true),
            ("GetAccount", allow("tessera:GetAccount", "acs:tessera::1111111111111111:account/3333333333333333"), false),
            ("SetAccountStatus", allow("tessera:*", "acs:tessera::1111111111111111:account/*"), true),
            ("SetAccountStatus", allow("tessera:GetAccount", "*"), false),
            ("RotateSigningKey", allow("tessera:RotateSigningKey", "acs:tessera::1111111111111111:*"), true),
            ("RotateSigningKey", allow("tessera:RotateSigningKey", "acs:tessera::1111111111111111:account/*"), false),
            ("GrantPlatformAuthorize", allow("tessera:GrantPlatformAuthorize", "*"), true),
            ("RevokePlatformAuthorize", allow("tessera:GrantPlatformAuthorize", "*"), false),
            ("CreateAccount", allow("*", "*"), true),
        ];
        for (name, policies, allowed) in cases {
            let got = decide(name, &bob, &policies, &t).unwrap();
            assert_eq!(got.is_allowed(), allowed, "{name}: {got}");
        }
    }

    /// Attaching needs the target and the policy: delegate "may attach only ReadOnlyAccess".
    #[test]
    fn attach_needs_the_target_and_the_policy() {
        let bob = user(A, "bob");
        let delegated = set(
            r#"{"Effect":"Allow","Action":["ram:AttachPolicyToUser","ram:DetachPolicyFromUser"],
                "Resource":["acs:ram:*:1111111111111111:user/*","acs:ram:*:system:policy/ReadOnlyAccess"]},
               {"Effect":"Deny","Action":"ram:AttachPolicyToUser","Resource":"acs:ram:*:1111111111111111:user/bob"}"#,
        );
        let target = |user_name: &'static str, policy: &'static str| Target {
            user_name: Some(user_name),
            policy_name: Some(policy),
            policy_type: Some(PolicyType::System),
            ..Target::default()
        };
        let d = |name: &str, t: Target<'_>| decide(name, &bob, &delegated, &t).unwrap();
        assert_eq!(
            d("AttachPolicyToUser", target("alice", "ReadOnlyAccess")),
            Authorization::new(Decision::Allow, Reason::Policies)
        );
        assert_eq!(
            d("AttachPolicyToUser", target("alice", "AdministratorAccess")),
            Authorization::new(Decision::ImplicitDeny, Reason::Policies)
        );
        // No self-escalation: the explicit deny on bob's own user wins.
        assert_eq!(
            d("AttachPolicyToUser", target("bob", "ReadOnlyAccess")),
            Authorization::new(Decision::ExplicitDeny, Reason::Policies)
        );
        assert!(d("DetachPolicyFromUser", target("bob", "ReadOnlyAccess")).is_allowed());
        let groups = set(
            r#"{"Effect":"Allow","Action":"ram:AddUserToGroup","Resource":"acs:ram:*:1111111111111111:group/dev"}"#,
        );
        let t = Target {
            user_name: Some("alice"),
            group_name: Some("dev"),
            ..Target::default()
        };
        assert!(
            !decide("AddUserToGroup", &bob, &groups, &t)
                .unwrap()
                .is_allowed()
        );
    }

    fn about(principal: &Caller) -> Target<'_> {
        Target {
            principal: Some(principal),
            ..Target::default()
        }
    }

    #[test]
    fn callers_and_rules() {
        use Decision::*;
        let all = set(r#"{"Effect":"Allow","Action":"*","Resource":"*"}"#);
        let none = PolicySet::empty();
        let root = Caller::Root { account: acct(A) };
        let bob = user(A, "bob");
        let bob_upper = user(A, "BOB");
        let carol = user(A, "carol");
        let alice_b = user(B, "alice");
        let user_t = Target {
            user_name: Some("alice"),
            ..Target::default()
        };
        let role_in = |arn: &'static str| Target {
            role_arn: Some(arn),
            ..Target::default()
        };
        #[rustfmt::skip]
        let cases: Vec<(&str, Caller, &PolicySet, Target<'_>, Authorization)> = vec![
            ("CreateUser", root.clone(), &none, user_t, Authorization::new(Allow, Reason::RootOfAccount)),
            ("CreateUser", bob.clone(), &none, user_t, Authorization::new(ImplicitDeny, Reason::Policies)),
            ("CreateUser", service(), &all, user_t, Authorization::new(ImplicitDeny, Reason::NoAccount)),
            ("ChangePassword", session(), &all, Target::default(), Authorization::new(ImplicitDeny, Reason::NotAUser)),
            ("GetCallerIdentity", bob.clone(), &none, Target::default(), Authorization::new(Allow, Reason::AlwaysAllowed)),
            ("GetCallerIdentity", service(), &none, Target::default(), Authorization::new(Allow, Reason::AlwaysAllowed)),
            ("Authorize", bob.clone(), &none, Target::default(), Authorization::new(Allow, Reason::AboutSelf)),
            ("Authorize", bob.clone(), &none, about(&bob_upper), Authorization::new(Allow, Reason::AboutSelf)),
            ("Authorize", bob.clone(), &none, about(&carol), Authorization::new(ImplicitDeny, Reason::Policies)),
            ("Authorize", bob.clone(), &all, about(&carol), Authorization::new(Allow, Reason::Policies)),
            ("Authorize", bob.clone(), &all, about(&alice_b), Authorization::new(ImplicitDeny, Reason::CrossAccount)),
            ("Authorize", service(), &all, about(&alice_b), Authorization::new(Allow, Reason::Policies)),
            ("SimulatePrincipalPolicy", root.clone(), &none, about(&carol), Authorization::new(Allow, Reason::RootOfAccount)),
            ("CreateAccount", root.clone(), &none, Target::default(), Authorization::new(Allow, Reason::RootOfAccount)),
            ("CreateAccount", bob.clone(), &none, Target::default(), Authorization::new(ImplicitDeny, Reason::Policies)),
            ("CreateAccount", service(), &all, Target::default(), Authorization::new(ImplicitDeny, Reason::NoAccount)),
            ("AssumeRole", bob.clone(), &all, role_in("acs:ram::2222222222222222:role/x"), Authorization::new(Allow, Reason::Policies)),
            ("AssumeRole", root.clone(), &all, role_in("acs:ram::1111111111111111:role/x"), Authorization::new(ImplicitDeny, Reason::RootCannotAssumeRole)),
        ];
        for (name, caller, policies, target, expected) in cases {
            assert_eq!(
                decide(name, &caller, policies, &target).unwrap(),
                expected,
                "{name} by {caller}"
            );
        }
    }

    #[test]
    fn explicit_deny_on_any_resource_wins() {
        let bob = user(A, "bob");
        let policies = set(r#"{"Effect":"Allow","Action":"ram:*","Resource":"*"},
               {"Effect":"Deny","Action":"ram:*","Resource":"acs:ram:*:1111111111111111:group/admins"}"#);
        let t = Target {
            user_name: Some("alice"),
            group_name: Some("admins"),
            ..Target::default()
        };
        assert_eq!(
            decide("AddUserToGroup", &bob, &policies, &t).unwrap(),
            Authorization::new(Decision::ExplicitDeny, Reason::Policies)
        );
        let t = Target {
            group_name: Some("dev"),
            ..t
        };
        assert!(
            decide("AddUserToGroup", &bob, &policies, &t)
                .unwrap()
                .is_allowed()
        );
    }
}
