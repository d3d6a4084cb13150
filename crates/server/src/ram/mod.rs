//! The `tessera.v1.Ram` service: RAM's management API over gRPC.
//!
//! One module per family of operations (users, groups, roles, policies, access keys, console
//! credentials, the account); each RPC is the function of the same name there, taking the
//! service and the request, and the `Ram` impl at the bottom only hands requests to them.
//!
//! Each call:
//! 1. takes the authenticated caller ([`crate::caller::authenticated`]); a caller without an
//!    account (a service, a federated identity) is refused with `NoPermission`;
//! 2. authorizes the operation's row of [`tessera_iam::OPERATIONS`] with
//!    [`tessera_iam::authorize_operation`] against the caller's own permissions, loaded through
//!    the [`PrincipalCache`] (the root of the account is allowed; a user's or a role session's
//!    policies decide otherwise; a role session's session policy applies too). Parameter
//!    errors the table detects (`MissingUserName`, `InvalidParameter.UserName.InvalidChars`, …)
//!    come first; a refusal is `PERMISSION_DENIED` with `NoPermission: …`;
//! 3. calls the store in the caller's own account;
//! 4. maps every domain error through [`crate::authorizer::status`].
//!
//! Writes answer with the change-log revision they committed at. The change feed (wired in
//! `serve`) invalidates the caches after every write.

mod access_keys;
mod account;
mod console;
mod groups;
mod policies;
mod roles;
mod users;

use tessera_credentials::Sealer;
use tessera_iam::{AccountId, Error, Target, authorize_operation};
use tessera_policy::{Permissions, PolicySet};
use tessera_proto::v1 as pb;
use tessera_proto::v1::ram_server::{Ram, RamServer};
use tessera_store::Revision;
use tonic::{Request, Response, Status};

use crate::authorizer::{caller_policies, status};
use crate::caller::authenticated;
use crate::principals::PrincipalCache;

/// The `tessera.v1.Ram` service.
#[derive(Debug, Clone)]
pub struct RamService {
    cache: PrincipalCache,
    /// Seals access key secrets and MFA seeds at rest.
    sealer: Sealer,
}

impl RamService {
    /// A service over `cache`'s store, loading callers' permissions through `cache`.
    pub fn new(cache: PrincipalCache, sealer: Sealer) -> RamService {
        RamService { cache, sealer }
    }

    /// The tonic service.
    pub fn into_server(self) -> RamServer<RamService> {
        RamServer::new(self)
    }

    /// Authorizes `operation` on `target` for the request's caller; returns the caller's
    /// account, the one every store call works in.
    async fn authorize<T>(
        &self,
        request: &Request<T>,
        operation: &str,
        target: &Target<'_>,
    ) -> Result<AccountId, Status> {
        let auth = authenticated(request)?;
        let Some(account) = auth.caller.account().cloned() else {
            return Err(status(&Error::no_permission(
                tessera_iam::authorize::NO_PERMISSION_MESSAGE,
            )));
        };
        let row = tessera_iam::operation(operation).ok_or_else(|| {
            tracing::error!(operation, "no row in the operation table");
            status(&Error::internal())
        })?;
        let (own, session) = caller_policies(&self.cache, auth).await.map_err(err)?;
        let empty = PolicySet::empty();
        let identity = own.as_ref().map_or(&empty, |c| &c.identity);
        let permissions = Permissions::new(identity, session.as_deref());
        let context = auth.caller.context(&auth.facts());
        authorize_operation(row, &auth.caller, &permissions, target, &context)
            .inspect(|a| crate::telemetry::record_decision(row.action, a.decision))
            .and_then(tessera_iam::Authorization::require)
            .map_err(err)?;
        Ok(account)
    }

    fn store(&self) -> &tessera_store::SqlStore {
        self.cache.store()
    }
}

fn err(e: Error) -> Status {
    status(&e)
}

fn user_target(name: &str) -> Target<'_> {
    Target {
        user_name: Some(name),
        ..Target::default()
    }
}

fn group_target(name: &str) -> Target<'_> {
    Target {
        group_name: Some(name),
        ..Target::default()
    }
}

fn timestamp(t: jiff::Timestamp) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.as_second(),
        nanos: t.subsec_nanosecond(),
    }
}

fn revision(r: Revision) -> u64 {
    u64::try_from(r.0).unwrap_or(0)
}

fn page(p: Option<pb::Page>) -> tessera_store::Page {
    let p = p.unwrap_or_default();
    tessera_store::Page {
        marker: Some(p.marker).filter(|m| !m.is_empty()),
        max_items: Some(p.max_items).filter(|m| *m != 0),
    }
}

fn user(u: tessera_store::User, joined: Option<jiff::Timestamp>) -> pb::User {
    pb::User {
        user_id: u.id,
        user_name: u.name,
        display_name: u.display_name,
        email: u.email,
        mobile_phone: u.mobile_phone,
        comments: u.comments,
        create_date: Some(timestamp(u.created_at)),
        update_date: Some(timestamp(u.updated_at)),
        last_login_date: u.last_login_at.map(timestamp),
        join_date: joined.map(timestamp),
    }
}

fn group(g: tessera_store::Group, joined: Option<jiff::Timestamp>) -> pb::Group {
    pb::Group {
        group_id: g.id,
        group_name: g.name,
        comments: g.comments,
        create_date: Some(timestamp(g.created_at)),
        update_date: Some(timestamp(g.updated_at)),
        join_date: joined.map(timestamp),
    }
}

/// An empty field as absent (the store treats absent optional fields as "not given").
fn given(s: String) -> Option<String> {
    Some(s).filter(|s| !s.is_empty())
}

fn write_result(r: Revision) -> Response<pb::WriteResult> {
    Response::new(pb::WriteResult {
        revision: revision(r),
    })
}

/// `impl Ram for RamService`, each method handing its request to the function of the same name
/// in the module that owns the operation. (A macro in an `async_trait` impl is not expanded
/// before the attribute runs, so the macro writes the whole impl.)
macro_rules! delegate {
    ($($module:ident::$method:ident($req:ident) -> $resp:ident;)*) => {
        #[tonic::async_trait]
        impl Ram for RamService {
            $(
                async fn $method(
                    &self,
                    request: Request<pb::$req>,
                ) -> Result<Response<pb::$resp>, Status> {
                    $module::$method(self, request).await
                }
            )*
        }
    };
}

delegate! {
    users::create_user(CreateUserRequest) -> UserResponse;
    users::get_user(GetUserRequest) -> UserResponse;
    users::update_user(UpdateUserRequest) -> UserResponse;
    users::delete_user(GetUserRequest) -> WriteResult;
    users::list_users(ListRequest) -> ListUsersResponse;
    groups::create_group(CreateGroupRequest) -> GroupResponse;
    groups::get_group(GetGroupRequest) -> GroupResponse;
    groups::update_group(UpdateGroupRequest) -> GroupResponse;
    groups::delete_group(GetGroupRequest) -> WriteResult;
    groups::list_groups(ListRequest) -> ListGroupsResponse;
    groups::add_user_to_group(MembershipRequest) -> WriteResult;
    groups::remove_user_from_group(MembershipRequest) -> WriteResult;
    groups::list_groups_for_user(GetUserRequest) -> ListGroupsResponse;
    groups::list_users_for_group(ListUsersForGroupRequest) -> ListUsersResponse;
    roles::create_role(CreateRoleRequest) -> RoleResponse;
    roles::get_role(GetRoleRequest) -> RoleResponse;
    roles::update_role(UpdateRoleRequest) -> RoleResponse;
    roles::delete_role(GetRoleRequest) -> WriteResult;
    roles::list_roles(ListRequest) -> ListRolesResponse;
    roles::revoke_role_sessions(GetRoleRequest) -> RoleResponse;
    policies::create_policy(CreatePolicyRequest) -> PolicyResponse;
    policies::get_policy(PolicyRef) -> PolicyResponse;
    policies::list_policies(ListPoliciesRequest) -> ListPoliciesResponse;
    policies::update_policy_description(UpdatePolicyDescriptionRequest) -> PolicyResponse;
    policies::delete_policy(DeletePolicyRequest) -> WriteResult;
    policies::create_policy_version(CreatePolicyVersionRequest) -> PolicyVersionResponse;
    policies::get_policy_version(PolicyVersionRef) -> PolicyVersionResponse;
    policies::list_policy_versions(PolicyRef) -> ListPolicyVersionsResponse;
    policies::set_default_policy_version(PolicyVersionRef) -> PolicyResponse;
    policies::delete_policy_version(PolicyVersionRef) -> WriteResult;
    policies::attach_policy(AttachmentRequest) -> WriteResult;
    policies::detach_policy(AttachmentRequest) -> WriteResult;
    policies::list_policies_for(ListPoliciesForRequest) -> ListAttachedPoliciesResponse;
    policies::list_entities_for_policy(PolicyRef) -> ListEntitiesForPolicyResponse;
    access_keys::create_access_key(CreateAccessKeyRequest) -> CreateAccessKeyResponse;
    access_keys::update_access_key(UpdateAccessKeyRequest) -> AccessKeyResponse;
    access_keys::delete_access_key(AccessKeyRef) -> WriteResult;
    access_keys::list_access_keys(CreateAccessKeyRequest) -> ListAccessKeysResponse;
    access_keys::get_access_key_last_used(AccessKeyRef) -> AccessKeyLastUsedResponse;
    console::create_login_profile(LoginProfileRequest) -> LoginProfileResponse;
    console::get_login_profile(GetUserRequest) -> LoginProfileResponse;
    console::update_login_profile(LoginProfileRequest) -> LoginProfileResponse;
    console::delete_login_profile(GetUserRequest) -> WriteResult;
    console::create_virtual_mfa_device(CreateVirtualMfaDeviceRequest) -> CreateVirtualMfaDeviceResponse;
    console::list_virtual_mfa_devices(ListVirtualMfaDevicesRequest) -> ListVirtualMfaDevicesResponse;
    console::delete_virtual_mfa_device(MfaDeviceRef) -> WriteResult;
    console::bind_mfa_device(BindMfaDeviceRequest) -> WriteResult;
    console::unbind_mfa_device(GetUserRequest) -> VirtualMfaDeviceResponse;
    console::get_user_mfa_info(GetUserRequest) -> VirtualMfaDeviceResponse;
    account::get_account_summary(GetAccountSummaryRequest) -> GetAccountSummaryResponse;
    account::set_account_alias(SetAccountAliasRequest) -> WriteResult;
    account::clear_account_alias(SetAccountAliasRequest) -> WriteResult;
    account::get_account_alias(SetAccountAliasRequest) -> SetAccountAliasRequest;
}
