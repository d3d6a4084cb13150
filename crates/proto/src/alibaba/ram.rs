//! RAM `2015-05-01`: the operation table and the response objects.

use serde_json::Value;

use tessera_iam::oidc::split_list;

use super::{Obj, Ram, empty, operations, wrapped};
use crate::v1 as pb;

const USER: i32 = pb::TargetKind::User as i32;
const GROUP: i32 = pb::TargetKind::Group as i32;
const ROLE: i32 = pb::TargetKind::Role as i32;

operations! {
    /// Calls the RAM action `action` on `service` with `params` (see the module documentation);
    /// an action not in [`RAM_ACTIONS`] is `InvalidAction.NotFound`.
    fn call_ram(&dyn Ram), RAM_ACTIONS, describe_ram;

    // Users
    CreateUser => create_user |p| pb::CreateUserRequest {
        user_name: p.required("UserName")?,
        display_name: p.text("DisplayName"),
        email: p.text("Email"),
        mobile_phone: p.text("MobilePhone"),
        comments: p.text("Comments"),
    } => |r| Obj::new().put("User", user(r.user.as_ref())).done();
    GetUser => get_user |p| user_ref(p)? => |r| Obj::new().put("User", user(r.user.as_ref())).done();
    UpdateUser => update_user |p| pb::UpdateUserRequest {
        user_name: p.required("UserName")?,
        new_user_name: p.option("NewUserName"),
        new_display_name: p.option("NewDisplayName"),
        new_email: p.option("NewEmail"),
        new_mobile_phone: p.option("NewMobilePhone"),
        new_comments: p.option("NewComments"),
    } => |r| Obj::new().put("User", user(r.user.as_ref())).done();
    DeleteUser => delete_user |p| user_ref(p)? => |_| empty();
    ListUsers => list_users |p| pb::ListRequest { page: p.page(1000)? } => |r| paged(
        wrapped("Users", "User", r.users.iter().map(|u| user(Some(u))).collect()),
        r.is_truncated,
        &r.marker,
    );

    // Groups and memberships
    CreateGroup => create_group |p| pb::CreateGroupRequest {
        group_name: p.required("GroupName")?,
        comments: p.text("Comments"),
    } => |r| Obj::new().put("Group", group(r.group.as_ref())).done();
    GetGroup => get_group |p| group_ref(p)? => |r| Obj::new().put("Group", group(r.group.as_ref())).done();
    UpdateGroup => update_group |p| pb::UpdateGroupRequest {
        group_name: p.required("GroupName")?,
        new_group_name: p.option("NewGroupName"),
        new_comments: p.option("NewComments"),
    } => |r| Obj::new().put("Group", group(r.group.as_ref())).done();
    DeleteGroup => delete_group |p| group_ref(p)? => |_| empty();
    ListGroups => list_groups |p| pb::ListRequest { page: p.page(100)? } => |r| paged(
        wrapped("Groups", "Group", r.groups.iter().map(|g| group(Some(g))).collect()),
        r.is_truncated,
        &r.marker,
    );
    AddUserToGroup => add_user_to_group |p| membership(p)? => |_| empty();
    RemoveUserFromGroup => remove_user_from_group |p| membership(p)? => |_| empty();
    ListGroupsForUser => list_groups_for_user |p| user_ref(p)? => |r| Obj::new()
        .list(wrapped("Groups", "Group", r.groups.iter().map(|g| group(Some(g))).collect()))
        .done();
    ListUsersForGroup => list_users_for_group |p| pb::ListUsersForGroupRequest {
        group_name: p.required("GroupName")?,
        page: p.page(1000)?,
    } => |r| paged(
        wrapped("Users", "User", r.users.iter().map(|u| user(Some(u))).collect()),
        r.is_truncated,
        &r.marker,
    );

    // Roles
    CreateRole => create_role |p| pb::CreateRoleRequest {
        role_name: p.required("RoleName")?,
        assume_role_policy_document: p.required("AssumeRolePolicyDocument")?,
        description: p.text("Description"),
        max_session_duration: p.uint("MaxSessionDuration")?.unwrap_or(0),
    } => |r| Obj::new().put("Role", role(r.role.as_ref(), true)).done();
    GetRole => get_role |p| role_ref(p)? => |r| Obj::new().put("Role", role(r.role.as_ref(), true)).done();
    UpdateRole => update_role |p| pb::UpdateRoleRequest {
        role_name: p.required("RoleName")?,
        new_assume_role_policy_document: p.option("NewAssumeRolePolicyDocument"),
        new_description: p.option("NewDescription"),
        new_max_session_duration: p.uint("NewMaxSessionDuration")?,
    } => |r| Obj::new().put("Role", role(r.role.as_ref(), true)).done();
    DeleteRole => delete_role |p| role_ref(p)? => |_| empty();
    ListRoles => list_roles |p| pb::ListRequest { page: p.page(1000)? } => |r| paged(
        wrapped("Roles", "Role", r.roles.iter().map(|x| role(Some(x), false)).collect()),
        r.is_truncated,
        &r.marker,
    );
    // Tessera's extension: sessions of the role issued before now stop working.
    RevokeRoleSessions => revoke_role_sessions |p| role_ref(p)? => |r| Obj::new()
        .put("Role", role(r.role.as_ref(), true))
        .done();

    // Policies and versions
    CreatePolicy => create_policy |p| pb::CreatePolicyRequest {
        policy_name: p.required("PolicyName")?,
        policy_document: p.required("PolicyDocument")?,
        description: p.text("Description"),
    } => |r| Obj::new().put("Policy", policy(r.policy.as_ref(), None)).done();
    GetPolicy => get_policy |p| policy_ref(p)? => |r| {
        let default = r.default_policy_version.as_ref();
        let mut answer = Obj::new().put("Policy", policy(r.policy.as_ref(), default));
        if let Some(version) = default {
            answer = answer.put("DefaultPolicyVersion", policy_version(version));
        }
        answer.done()
    };
    ListPolicies => list_policies |p| pb::ListPoliciesRequest {
        policy_type: p.text("PolicyType"),
        page: p.page(1000)?,
    } => |r| paged(
        wrapped("Policies", "Policy", r.policies.iter().map(|x| policy(Some(x), None)).collect()),
        r.is_truncated,
        &r.marker,
    );
    UpdatePolicyDescription => update_policy_description |p| pb::UpdatePolicyDescriptionRequest {
        policy_name: p.required("PolicyName")?,
        new_description: p.text("NewDescription"),
    } => |r| Obj::new().put("Policy", policy(r.policy.as_ref(), None)).done();
    DeletePolicy => delete_policy |p| pb::DeletePolicyRequest {
        policy_name: p.required("PolicyName")?,
        cascading_delete: p.flag("CascadingDelete")?.unwrap_or(false),
    } => |_| empty();
    CreatePolicyVersion => create_policy_version |p| pb::CreatePolicyVersionRequest {
        policy_name: p.required("PolicyName")?,
        policy_document: p.required("PolicyDocument")?,
        set_as_default: p.flag("SetAsDefault")?.unwrap_or(false),
        rotate_strategy: p.text("RotateStrategy"),
    } => |r| Obj::new()
        .put("PolicyVersion", r.policy_version.as_ref().map_or_else(empty, policy_version))
        .done();
    GetPolicyVersion => get_policy_version |p| version_ref(p)? => |r| Obj::new()
        .put("PolicyVersion", r.policy_version.as_ref().map_or_else(empty, policy_version))
        .done();
    ListPolicyVersions => list_policy_versions |p| policy_ref(p)? => |r| Obj::new()
        .list(wrapped(
            "PolicyVersions",
            "PolicyVersion",
            r.policy_versions.iter().map(policy_version).collect(),
        ))
        .done();
    SetDefaultPolicyVersion => set_default_policy_version |p| version_ref(p)? => |_| empty();
    DeletePolicyVersion => delete_policy_version |p| version_ref(p)? => |_| empty();

    // Attachments
    AttachPolicyToUser => attach_policy |p| attachment(p, USER, "UserName")? => |_| empty();
    AttachPolicyToGroup => attach_policy |p| attachment(p, GROUP, "GroupName")? => |_| empty();
    AttachPolicyToRole => attach_policy |p| attachment(p, ROLE, "RoleName")? => |_| empty();
    DetachPolicyFromUser => detach_policy |p| attachment(p, USER, "UserName")? => |_| empty();
    DetachPolicyFromGroup => detach_policy |p| attachment(p, GROUP, "GroupName")? => |_| empty();
    DetachPolicyFromRole => detach_policy |p| attachment(p, ROLE, "RoleName")? => |_| empty();
    ListPoliciesForUser => list_policies_for |p| attached_to(p, USER, "UserName")? => |r| attached(&r);
    ListPoliciesForGroup => list_policies_for |p| attached_to(p, GROUP, "GroupName")? => |r| attached(&r);
    ListPoliciesForRole => list_policies_for |p| attached_to(p, ROLE, "RoleName")? => |r| attached(&r);
    ListEntitiesForPolicy => list_entities_for_policy |p| policy_ref(p)? => |r| Obj::new()
        .list(wrapped("Users", "User", entities(&r.users, "UserName")))
        .list(wrapped("Groups", "Group", entities(&r.groups, "GroupName")))
        .list(wrapped("Roles", "Role", entities(&r.roles, "RoleName")))
        .done();

    // Access keys (UserName omitted: the caller's own)
    CreateAccessKey => create_access_key |p| pb::CreateAccessKeyRequest {
        user_name: p.text("UserName"),
    } => |r| {
        let key = access_key(r.access_key.as_ref());
        let key = match key {
            Value::Object(mut fields) => {
                fields.insert("AccessKeySecret".into(), r.access_key_secret.as_str().into());
                Value::Object(fields)
            }
            other => other,
        };
        Obj::new().put("AccessKey", key).done()
    };
    UpdateAccessKey => update_access_key |p| pb::UpdateAccessKeyRequest {
        user_name: p.text("UserName"),
        user_access_key_id: p.required("UserAccessKeyId")?,
        status: p.required("Status")?,
    } => |_| empty();
    DeleteAccessKey => delete_access_key |p| access_key_ref(p)? => |_| empty();
    ListAccessKeys => list_access_keys |p| pb::CreateAccessKeyRequest {
        user_name: p.text("UserName"),
    } => |r| Obj::new()
        .list(wrapped(
            "AccessKeys",
            "AccessKey",
            r.access_keys.iter().map(|k| access_key(Some(k))).collect(),
        ))
        .done();
    GetAccessKeyLastUsed => get_access_key_last_used |p| access_key_ref(p)? => |r| Obj::new()
        .put(
            "AccessKeyLastUsed",
            Obj::new().date("LastUsedDate", r.last_used_date.as_ref()).done(),
        )
        .done();

    // Login profiles
    CreateLoginProfile => create_login_profile |p| pb::LoginProfileRequest {
        user_name: p.required("UserName")?,
        password: p.required("Password")?,
        password_reset_required: p.flag("PasswordResetRequired")?,
        mfa_bind_required: p.flag("MFABindRequired")?,
    } => |r| Obj::new().put("LoginProfile", login_profile(r.login_profile.as_ref())).done();
    GetLoginProfile => get_login_profile |p| user_ref(p)? => |r| Obj::new()
        .put("LoginProfile", login_profile(r.login_profile.as_ref()))
        .done();
    UpdateLoginProfile => update_login_profile |p| pb::LoginProfileRequest {
        user_name: p.required("UserName")?,
        password: p.text("Password"),
        password_reset_required: p.flag("PasswordResetRequired")?,
        mfa_bind_required: p.flag("MFABindRequired")?,
    } => |_| empty();
    DeleteLoginProfile => delete_login_profile |p| user_ref(p)? => |_| empty();

    // Virtual MFA devices
    CreateVirtualMFADevice => create_virtual_mfa_device |p| pb::CreateVirtualMfaDeviceRequest {
        virtual_mfa_device_name: p.required("VirtualMFADeviceName")?,
    } => |r| Obj::new()
        .put(
            "VirtualMFADevice",
            Obj::new()
                .text("SerialNumber", r.device.as_ref().map_or("", |d| d.serial_number.as_str()))
                .put("Base32StringSeed", r.base32_string_seed.as_str())
                .done(),
        )
        .done();
    ListVirtualMFADevices => list_virtual_mfa_devices |_p| pb::ListVirtualMfaDevicesRequest {}
        => |r| Obj::new()
            .list(wrapped(
                "VirtualMFADevices",
                "VirtualMFADevice",
                r.devices.iter().map(mfa_device).collect(),
            ))
            .done();
    DeleteVirtualMFADevice => delete_virtual_mfa_device |p| pb::MfaDeviceRef {
        serial_number: p.required("SerialNumber")?,
    } => |_| empty();
    BindMFADevice => bind_mfa_device |p| pb::BindMfaDeviceRequest {
        serial_number: p.required("SerialNumber")?,
        user_name: p.required("UserName")?,
        authentication_code1: p.required("AuthenticationCode1")?,
        authentication_code2: p.required("AuthenticationCode2")?,
    } => |_| empty();
    UnbindMFADevice => unbind_mfa_device |p| user_ref(p)? => |r| Obj::new()
        .put("MFADevice", user_mfa_device(r.device.as_ref()))
        .done();
    GetUserMFAInfo => get_user_mfa_info |p| user_ref(p)? => |r| Obj::new()
        .put("MFADevice", user_mfa_device(r.device.as_ref()))
        .done();

    // OIDC identity providers (IMS 2019-08-15's operations, served with RAM's): `ClientIds` and
    // `Fingerprints` are comma-separated lists, in requests and answers alike.
    CreateOIDCProvider => create_oidc_provider |p| pb::CreateOidcProviderRequest {
        oidc_provider_name: p.required("OIDCProviderName")?,
        issuer_url: p.required("IssuerUrl")?,
        client_ids: split_list(&p.text("ClientIds")),
        fingerprints: split_list(&p.text("Fingerprints")),
        description: p.text("Description"),
        issuance_limit_time: p.uint("IssuanceLimitTime")?.unwrap_or(0),
    } => |r| oidc_answer(&r);
    GetOIDCProvider => get_oidc_provider |p| oidc_ref(p)? => |r| oidc_answer(&r);
    UpdateOIDCProvider => update_oidc_provider |p| pb::UpdateOidcProviderRequest {
        oidc_provider_name: p.required("OIDCProviderName")?,
        client_ids: p.option("ClientIds").map(|v| pb::StringList { items: split_list(&v) }),
        new_description: p.option("NewDescription"),
        issuance_limit_time: p.uint("IssuanceLimitTime")?,
    } => |r| oidc_answer(&r);
    DeleteOIDCProvider => delete_oidc_provider |p| oidc_ref(p)? => |_| empty();
    ListOIDCProviders => list_oidc_providers |p| pb::ListRequest { page: p.page(1000)? } => |r| paged(
        wrapped("OIDCProviders", "OIDCProvider", r.oidc_providers.iter().map(|x| oidc_provider(Some(x))).collect()),
        r.is_truncated,
        &r.marker,
    );
    AddClientIdToOIDCProvider => add_client_id_to_oidc_provider |p| oidc_client_id(p)? => |r| oidc_answer(&r);
    RemoveClientIdFromOIDCProvider => remove_client_id_from_oidc_provider |p| oidc_client_id(p)? => |r| oidc_answer(&r);
    AddFingerprintToOIDCProvider => add_fingerprint_to_oidc_provider |p| oidc_fingerprint(p)? => |r| oidc_answer(&r);
    RemoveFingerprintFromOIDCProvider => remove_fingerprint_from_oidc_provider |p| oidc_fingerprint(p)? => |r| oidc_answer(&r);

    // The account
    GetAccountSummary => get_account_summary |_p| pb::GetAccountSummaryRequest {} => |r| {
        let summary: serde_json::Map<String, Value> =
            r.summary.iter().map(|(k, v)| (k.clone(), Value::from(*v))).collect();
        Obj::new().put("SummaryMap", Value::Object(summary)).done()
    };
    GetAccountAlias => get_account_alias |_p| pb::SetAccountAliasRequest::default()
        => |r| Obj::new().put("AccountAlias", r.account_alias).done();
    SetAccountAlias => set_account_alias |p| pb::SetAccountAliasRequest {
        account_alias: p.required("AccountAlias")?,
    } => |_| empty();
    ClearAccountAlias => clear_account_alias |_p| pb::SetAccountAliasRequest::default() => |_| empty();
}

// --- request messages shared by several actions ---

type Params = super::Params;
type Result<T> = std::result::Result<T, tonic::Status>;

fn user_ref(p: &Params) -> Result<pb::GetUserRequest> {
    Ok(pb::GetUserRequest {
        user_name: p.required("UserName")?,
    })
}

fn group_ref(p: &Params) -> Result<pb::GetGroupRequest> {
    Ok(pb::GetGroupRequest {
        group_name: p.required("GroupName")?,
    })
}

fn role_ref(p: &Params) -> Result<pb::GetRoleRequest> {
    Ok(pb::GetRoleRequest {
        role_name: p.required("RoleName")?,
    })
}

fn membership(p: &Params) -> Result<pb::MembershipRequest> {
    Ok(pb::MembershipRequest {
        group_name: p.required("GroupName")?,
        user_name: p.required("UserName")?,
    })
}

/// `PolicyName` and `PolicyType` (the service decides what an absent type means).
fn policy_ref(p: &Params) -> Result<pb::PolicyRef> {
    Ok(pb::PolicyRef {
        policy_name: p.required("PolicyName")?,
        policy_type: p.text("PolicyType"),
    })
}

fn version_ref(p: &Params) -> Result<pb::PolicyVersionRef> {
    Ok(pb::PolicyVersionRef {
        policy_name: p.required("PolicyName")?,
        policy_type: p.text("PolicyType"),
        version_id: p.required("VersionId")?,
    })
}

fn attachment(p: &Params, kind: i32, target: &str) -> Result<pb::AttachmentRequest> {
    Ok(pb::AttachmentRequest {
        target_kind: kind,
        target_name: p.required(target)?,
        policy_name: p.required("PolicyName")?,
        policy_type: p.required("PolicyType")?,
    })
}

fn attached_to(p: &Params, kind: i32, target: &str) -> Result<pb::ListPoliciesForRequest> {
    Ok(pb::ListPoliciesForRequest {
        target_kind: kind,
        target_name: p.required(target)?,
    })
}

fn oidc_ref(p: &Params) -> Result<pb::OidcProviderRef> {
    Ok(pb::OidcProviderRef {
        oidc_provider_name: p.required("OIDCProviderName")?,
    })
}

fn oidc_client_id(p: &Params) -> Result<pb::OidcProviderClientIdRequest> {
    Ok(pb::OidcProviderClientIdRequest {
        oidc_provider_name: p.required("OIDCProviderName")?,
        client_id: p.required("ClientId")?,
    })
}

fn oidc_fingerprint(p: &Params) -> Result<pb::OidcProviderFingerprintRequest> {
    Ok(pb::OidcProviderFingerprintRequest {
        oidc_provider_name: p.required("OIDCProviderName")?,
        fingerprint: p.required("Fingerprint")?,
    })
}

fn access_key_ref(p: &Params) -> Result<pb::AccessKeyRef> {
    Ok(pb::AccessKeyRef {
        user_name: p.text("UserName"),
        user_access_key_id: p.required("UserAccessKeyId")?,
    })
}

// --- response objects ---

/// A page of a list: the wrapped list, `IsTruncated`, and `Marker` when there is more.
fn paged(list: (String, Value), is_truncated: bool, marker: &str) -> Value {
    let answer = Obj::new().list(list).put("IsTruncated", is_truncated);
    if is_truncated {
        answer.text("Marker", marker).done()
    } else {
        answer.done()
    }
}

fn user(u: Option<&pb::User>) -> Value {
    let Some(u) = u else { return super::empty() };
    Obj::new()
        .put("UserId", u.user_id.as_str())
        .put("UserName", u.user_name.as_str())
        .text("DisplayName", &u.display_name)
        .text("Email", &u.email)
        .text("MobilePhone", &u.mobile_phone)
        .text("Comments", &u.comments)
        .date("CreateDate", u.create_date.as_ref())
        .date("UpdateDate", u.update_date.as_ref())
        .date("LastLoginDate", u.last_login_date.as_ref())
        .date("JoinDate", u.join_date.as_ref())
        .done()
}

fn group(g: Option<&pb::Group>) -> Value {
    let Some(g) = g else { return super::empty() };
    Obj::new()
        .put("GroupId", g.group_id.as_str())
        .put("GroupName", g.group_name.as_str())
        .text("Comments", &g.comments)
        .date("CreateDate", g.create_date.as_ref())
        .date("UpdateDate", g.update_date.as_ref())
        .date("JoinDate", g.join_date.as_ref())
        .done()
}

/// A role; `full` with its trust policy (`ListRoles` leaves it out, as RAM does).
fn role(r: Option<&pb::Role>, full: bool) -> Value {
    let Some(r) = r else { return super::empty() };
    let answer = Obj::new()
        .put("RoleId", r.role_id.as_str())
        .put("RoleName", r.role_name.as_str())
        .put("Arn", r.arn.as_str())
        .text("Description", &r.description);
    let answer = if full {
        answer.put(
            "AssumeRolePolicyDocument",
            r.assume_role_policy_document.as_str(),
        )
    } else {
        answer
    };
    answer
        .put("MaxSessionDuration", r.max_session_duration)
        .date("CreateDate", r.create_date.as_ref())
        .date("UpdateDate", r.update_date.as_ref())
        .done()
}

/// A policy; with the default version's document when it is known (`GetPolicy`).
fn policy(p: Option<&pb::Policy>, default: Option<&pb::PolicyVersion>) -> Value {
    let Some(p) = p else { return super::empty() };
    let answer = Obj::new()
        .put("PolicyName", p.policy_name.as_str())
        .put("PolicyType", p.policy_type.as_str())
        .text("Description", &p.description)
        .put("DefaultVersion", p.default_version.as_str())
        .put("AttachmentCount", p.attachment_count);
    let answer = match default {
        Some(v) => answer.put("PolicyDocument", v.policy_document.as_str()),
        None => answer,
    };
    answer
        .date("CreateDate", p.create_date.as_ref())
        .date("UpdateDate", p.update_date.as_ref())
        .done()
}

fn policy_version(v: &pb::PolicyVersion) -> Value {
    Obj::new()
        .put("VersionId", v.version_id.as_str())
        .put("IsDefaultVersion", v.is_default_version)
        .put("PolicyDocument", v.policy_document.as_str())
        .date("CreateDate", v.create_date.as_ref())
        .done()
}

/// `ListPoliciesFor{User,Group,Role}`: the policies with their attach dates.
fn attached(r: &pb::ListAttachedPoliciesResponse) -> Value {
    let policies = r
        .policies
        .iter()
        .map(|a| {
            let Some(p) = a.policy.as_ref() else {
                return super::empty();
            };
            Obj::new()
                .put("PolicyName", p.policy_name.as_str())
                .put("PolicyType", p.policy_type.as_str())
                .text("Description", &p.description)
                .put("DefaultVersion", p.default_version.as_str())
                .date("AttachDate", a.attach_date.as_ref())
                .done()
        })
        .collect();
    Obj::new()
        .list(wrapped("Policies", "Policy", policies))
        .done()
}

fn entities(list: &[pb::AttachedEntity], name_key: &str) -> Vec<Value> {
    list.iter()
        .map(|e| {
            Obj::new()
                .put(name_key, e.name.as_str())
                .date("AttachDate", e.attach_date.as_ref())
                .done()
        })
        .collect()
}

fn access_key(k: Option<&pb::AccessKey>) -> Value {
    let Some(k) = k else { return super::empty() };
    Obj::new()
        .put("AccessKeyId", k.access_key_id.as_str())
        .put("Status", k.status.as_str())
        .date("CreateDate", k.create_date.as_ref())
        .done()
}

fn login_profile(l: Option<&pb::LoginProfile>) -> Value {
    let Some(l) = l else { return super::empty() };
    Obj::new()
        .put("UserName", l.user_name.as_str())
        .put("PasswordResetRequired", l.password_reset_required)
        .put("MFABindRequired", l.mfa_bind_required)
        .date("CreateDate", l.create_date.as_ref())
        .done()
}

/// A device in `ListVirtualMFADevices`: with its user when bound.
fn mfa_device(d: &pb::VirtualMfaDevice) -> Value {
    let answer = Obj::new()
        .put("SerialNumber", d.serial_number.as_str())
        .date("ActivateDate", d.activate_date.as_ref());
    if d.user_name.is_empty() {
        answer.done()
    } else {
        answer
            .put(
                "User",
                Obj::new().put("UserName", d.user_name.as_str()).done(),
            )
            .done()
    }
}

/// The `MFADevice` of `GetUserMFAInfo` / `UnbindMFADevice` (virtual devices only: `VMFA`).
fn user_mfa_device(d: Option<&pb::VirtualMfaDevice>) -> Value {
    let Some(d) = d else { return super::empty() };
    Obj::new()
        .put("SerialNumber", d.serial_number.as_str())
        .put("Type", "VMFA")
        .done()
}

/// An OIDC provider as IMS answers it: lists comma-joined, `IssuanceLimitTime` in hours.
fn oidc_provider(o: Option<&pb::OidcProvider>) -> Value {
    let Some(o) = o else { return super::empty() };
    Obj::new()
        .put("OIDCProviderName", o.oidc_provider_name.as_str())
        .put("Arn", o.arn.as_str())
        .put("IssuerUrl", o.issuer_url.as_str())
        .put("ClientIds", o.client_ids.join(","))
        .put("Fingerprints", o.fingerprints.join(","))
        .text("Description", &o.description)
        .put("IssuanceLimitTime", o.issuance_limit_time)
        .date("CreateDate", o.create_date.as_ref())
        .date("UpdateDate", o.update_date.as_ref())
        .done()
}

fn oidc_answer(r: &pb::OidcProviderResponse) -> Value {
    Obj::new()
        .put("OIDCProvider", oidc_provider(r.oidc_provider.as_ref()))
        .done()
}
