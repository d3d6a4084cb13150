//! The `tessera.v1.Ram` service: RAM's management API over gRPC.
//!
//! Implemented today: users (`CreateUser`, `GetUser`, `UpdateUser`, `DeleteUser`, `ListUsers`)
//! and groups (`CreateGroup`, `GetGroup`, `UpdateGroup`, `DeleteGroup`, `ListGroups`,
//! `AddUserToGroup`, `RemoveUserFromGroup`, `ListGroupsForUser`, `ListUsersForGroup`). Every
//! other RPC answers `UNIMPLEMENTED`.
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

use tessera_iam::{AccountId, Error, Target, authorize_operation};
use tessera_policy::{Permissions, PolicySet};
use tessera_proto::v1 as pb;
use tessera_proto::v1::ram_server::{Ram, RamServer};
use tessera_store::{GroupStore as _, Revision, UserStore as _};
use tonic::{Request, Response, Status};

use crate::authorizer::{caller_policies, status};
use crate::caller::authenticated;
use crate::principals::PrincipalCache;

/// The `tessera.v1.Ram` service.
#[derive(Debug, Clone)]
pub struct RamService {
    cache: PrincipalCache,
}

impl RamService {
    /// A service over `cache`'s store, loading callers' permissions through `cache`.
    pub fn new(cache: PrincipalCache) -> RamService {
        RamService { cache }
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

/// `impl Ram for RamService` with the implemented methods given as is and the others
/// answering `UNIMPLEMENTED`, naming the operation. (A macro in an `async_trait` impl is not
/// expanded before the attribute runs, so the macro wraps the whole impl.)
macro_rules! ram_impl {
    (
        implemented { $($implemented:tt)* }
        unimplemented { $($method:ident($req:ident) -> $resp:ident, $name:literal;)* }
    ) => {
        #[tonic::async_trait]
        impl Ram for RamService {
            $($implemented)*

            $(
                async fn $method(
                    &self,
                    _request: Request<pb::$req>,
                ) -> Result<Response<pb::$resp>, Status> {
                    Err(Status::unimplemented(concat!(
                        "tessera.v1.Ram/",
                        $name,
                        " is not implemented yet"
                    )))
                }
            )*
        }
    };
}

ram_impl! {
implemented {
    // --- users ---

    async fn create_user(
        &self,
        request: Request<pb::CreateUserRequest>,
    ) -> Result<Response<pb::UserResponse>, Status> {
        let account = self
            .authorize(
                &request,
                "CreateUser",
                &user_target(&request.get_ref().user_name),
            )
            .await?;
        let req = request.into_inner();
        let new = tessera_store::NewUser {
            name: req.user_name,
            display_name: given(req.display_name),
            email: given(req.email),
            mobile_phone: given(req.mobile_phone),
            comments: given(req.comments),
        };
        let committed = self
            .store()
            .create_user(&account, &new)
            .await
            .map_err(err)?;
        Ok(Response::new(pb::UserResponse {
            user: Some(user(committed.value, None)),
            revision: revision(committed.revision),
        }))
    }

    async fn get_user(
        &self,
        request: Request<pb::GetUserRequest>,
    ) -> Result<Response<pb::UserResponse>, Status> {
        let name = &request.get_ref().user_name;
        let account = self
            .authorize(&request, "GetUser", &user_target(name))
            .await?;
        let found = self.store().get_user(&account, name).await.map_err(err)?;
        Ok(Response::new(pb::UserResponse {
            user: Some(user(found, None)),
            revision: 0,
        }))
    }

    async fn update_user(
        &self,
        request: Request<pb::UpdateUserRequest>,
    ) -> Result<Response<pb::UserResponse>, Status> {
        let account = self
            .authorize(
                &request,
                "UpdateUser",
                &user_target(&request.get_ref().user_name),
            )
            .await?;
        // A rename needs the permission on the new name too (as AWS IAM asks for both ARNs),
        // so a grant scoped to `user/dev-*` cannot rename a user out of its scope.
        if let Some(new_name) = request.get_ref().new_user_name.as_deref()
            && !new_name.eq_ignore_ascii_case(&request.get_ref().user_name)
        {
            self.authorize(&request, "UpdateUser", &user_target(new_name))
                .await?;
        }
        let req = request.into_inner();
        let update = tessera_store::UserUpdate {
            new_name: req.new_user_name,
            display_name: req.new_display_name,
            email: req.new_email,
            mobile_phone: req.new_mobile_phone,
            comments: req.new_comments,
        };
        let committed = self
            .store()
            .update_user(&account, &req.user_name, &update)
            .await
            .map_err(err)?;
        Ok(Response::new(pb::UserResponse {
            user: Some(user(committed.value, None)),
            revision: revision(committed.revision),
        }))
    }

    async fn delete_user(
        &self,
        request: Request<pb::GetUserRequest>,
    ) -> Result<Response<pb::WriteResult>, Status> {
        let name = &request.get_ref().user_name;
        let account = self
            .authorize(&request, "DeleteUser", &user_target(name))
            .await?;
        let committed = self.store().delete_user(&account, name).await.map_err(err)?;
        Ok(write_result(committed.revision))
    }

    async fn list_users(
        &self,
        request: Request<pb::ListRequest>,
    ) -> Result<Response<pb::ListUsersResponse>, Status> {
        let account = self
            .authorize(&request, "ListUsers", &Target::default())
            .await?;
        let page = page(request.into_inner().page);
        let listed = self
            .store()
            .list_users(&account, &page)
            .await
            .map_err(err)?;
        Ok(Response::new(pb::ListUsersResponse {
            users: listed.items.into_iter().map(|u| user(u, None)).collect(),
            is_truncated: listed.is_truncated,
            marker: listed.marker.unwrap_or_default(),
        }))
    }

    // --- groups ---

    async fn create_group(
        &self,
        request: Request<pb::CreateGroupRequest>,
    ) -> Result<Response<pb::GroupResponse>, Status> {
        let req = request.get_ref();
        let account = self
            .authorize(&request, "CreateGroup", &group_target(&req.group_name))
            .await?;
        let comments = Some(req.comments.as_str()).filter(|c| !c.is_empty());
        let committed = self
            .store()
            .create_group(&account, &req.group_name, comments)
            .await
            .map_err(err)?;
        Ok(Response::new(pb::GroupResponse {
            group: Some(group(committed.value, None)),
            revision: revision(committed.revision),
        }))
    }

    async fn get_group(
        &self,
        request: Request<pb::GetGroupRequest>,
    ) -> Result<Response<pb::GroupResponse>, Status> {
        let name = &request.get_ref().group_name;
        let account = self
            .authorize(&request, "GetGroup", &group_target(name))
            .await?;
        let found = self.store().get_group(&account, name).await.map_err(err)?;
        Ok(Response::new(pb::GroupResponse {
            group: Some(group(found, None)),
            revision: 0,
        }))
    }

    async fn update_group(
        &self,
        request: Request<pb::UpdateGroupRequest>,
    ) -> Result<Response<pb::GroupResponse>, Status> {
        let req = request.get_ref();
        let account = self
            .authorize(&request, "UpdateGroup", &group_target(&req.group_name))
            .await?;
        // A rename needs the permission on the new name too (see `update_user`).
        if let Some(new_name) = req.new_group_name.as_deref()
            && !new_name.eq_ignore_ascii_case(&req.group_name)
        {
            self.authorize(&request, "UpdateGroup", &group_target(new_name))
                .await?;
        }
        let committed = self
            .store()
            .update_group(
                &account,
                &req.group_name,
                req.new_group_name.as_deref(),
                req.new_comments.as_deref(),
            )
            .await
            .map_err(err)?;
        Ok(Response::new(pb::GroupResponse {
            group: Some(group(committed.value, None)),
            revision: revision(committed.revision),
        }))
    }

    async fn delete_group(
        &self,
        request: Request<pb::GetGroupRequest>,
    ) -> Result<Response<pb::WriteResult>, Status> {
        let name = &request.get_ref().group_name;
        let account = self
            .authorize(&request, "DeleteGroup", &group_target(name))
            .await?;
        let committed = self
            .store()
            .delete_group(&account, name)
            .await
            .map_err(err)?;
        Ok(write_result(committed.revision))
    }

    async fn list_groups(
        &self,
        request: Request<pb::ListRequest>,
    ) -> Result<Response<pb::ListGroupsResponse>, Status> {
        let account = self
            .authorize(&request, "ListGroups", &Target::default())
            .await?;
        let page = page(request.into_inner().page);
        let listed = self
            .store()
            .list_groups(&account, &page)
            .await
            .map_err(err)?;
        Ok(Response::new(pb::ListGroupsResponse {
            groups: listed.items.into_iter().map(|g| group(g, None)).collect(),
            is_truncated: listed.is_truncated,
            marker: listed.marker.unwrap_or_default(),
        }))
    }

    async fn add_user_to_group(
        &self,
        request: Request<pb::MembershipRequest>,
    ) -> Result<Response<pb::WriteResult>, Status> {
        let req = request.get_ref();
        let target = Target {
            user_name: Some(&req.user_name),
            group_name: Some(&req.group_name),
            ..Target::default()
        };
        let account = self.authorize(&request, "AddUserToGroup", &target).await?;
        let committed = self
            .store()
            .add_user_to_group(&account, &req.group_name, &req.user_name)
            .await
            .map_err(err)?;
        Ok(write_result(committed.revision))
    }

    async fn remove_user_from_group(
        &self,
        request: Request<pb::MembershipRequest>,
    ) -> Result<Response<pb::WriteResult>, Status> {
        let req = request.get_ref();
        let target = Target {
            user_name: Some(&req.user_name),
            group_name: Some(&req.group_name),
            ..Target::default()
        };
        let account = self
            .authorize(&request, "RemoveUserFromGroup", &target)
            .await?;
        let committed = self
            .store()
            .remove_user_from_group(&account, &req.group_name, &req.user_name)
            .await
            .map_err(err)?;
        Ok(write_result(committed.revision))
    }

    async fn list_groups_for_user(
        &self,
        request: Request<pb::GetUserRequest>,
    ) -> Result<Response<pb::ListGroupsResponse>, Status> {
        let name = &request.get_ref().user_name;
        let account = self
            .authorize(&request, "ListGroupsForUser", &user_target(name))
            .await?;
        let groups = self
            .store()
            .list_groups_for_user(&account, name)
            .await
            .map_err(err)?;
        Ok(Response::new(pb::ListGroupsResponse {
            groups: groups
                .into_iter()
                .map(|m| group(m.entity, Some(m.joined_at)))
                .collect(),
            is_truncated: false,
            marker: String::new(),
        }))
    }

    async fn list_users_for_group(
        &self,
        request: Request<pb::ListUsersForGroupRequest>,
    ) -> Result<Response<pb::ListUsersResponse>, Status> {
        let account = self
            .authorize(
                &request,
                "ListUsersForGroup",
                &group_target(&request.get_ref().group_name),
            )
            .await?;
        let req = request.into_inner();
        let page = page(req.page);
        let listed = self
            .store()
            .list_users_for_group(&account, &req.group_name, &page)
            .await
            .map_err(err)?;
        Ok(Response::new(pb::ListUsersResponse {
            users: listed
                .items
                .into_iter()
                .map(|m| user(m.entity, Some(m.joined_at)))
                .collect(),
            is_truncated: listed.is_truncated,
            marker: listed.marker.unwrap_or_default(),
        }))
    }

}
    // --- not implemented yet ---
    unimplemented {
        create_role(CreateRoleRequest) -> RoleResponse, "CreateRole";
        get_role(GetRoleRequest) -> RoleResponse, "GetRole";
        update_role(UpdateRoleRequest) -> RoleResponse, "UpdateRole";
        delete_role(GetRoleRequest) -> WriteResult, "DeleteRole";
        list_roles(ListRequest) -> ListRolesResponse, "ListRoles";
        revoke_role_sessions(GetRoleRequest) -> RoleResponse, "RevokeRoleSessions";
        create_policy(CreatePolicyRequest) -> PolicyResponse, "CreatePolicy";
        get_policy(PolicyRef) -> PolicyResponse, "GetPolicy";
        list_policies(ListPoliciesRequest) -> ListPoliciesResponse, "ListPolicies";
        update_policy_description(UpdatePolicyDescriptionRequest) -> PolicyResponse, "UpdatePolicyDescription";
        delete_policy(DeletePolicyRequest) -> WriteResult, "DeletePolicy";
        create_policy_version(CreatePolicyVersionRequest) -> PolicyVersionResponse, "CreatePolicyVersion";
        get_policy_version(PolicyVersionRef) -> PolicyVersionResponse, "GetPolicyVersion";
        list_policy_versions(PolicyRef) -> ListPolicyVersionsResponse, "ListPolicyVersions";
        set_default_policy_version(PolicyVersionRef) -> PolicyResponse, "SetDefaultPolicyVersion";
        delete_policy_version(PolicyVersionRef) -> WriteResult, "DeletePolicyVersion";
        attach_policy(AttachmentRequest) -> WriteResult, "AttachPolicy";
        detach_policy(AttachmentRequest) -> WriteResult, "DetachPolicy";
        list_policies_for(ListPoliciesForRequest) -> ListAttachedPoliciesResponse, "ListPoliciesFor";
        list_entities_for_policy(PolicyRef) -> ListEntitiesForPolicyResponse, "ListEntitiesForPolicy";
        create_access_key(CreateAccessKeyRequest) -> CreateAccessKeyResponse, "CreateAccessKey";
        update_access_key(UpdateAccessKeyRequest) -> AccessKeyResponse, "UpdateAccessKey";
        delete_access_key(AccessKeyRef) -> WriteResult, "DeleteAccessKey";
        list_access_keys(CreateAccessKeyRequest) -> ListAccessKeysResponse, "ListAccessKeys";
        get_access_key_last_used(AccessKeyRef) -> AccessKeyLastUsedResponse, "GetAccessKeyLastUsed";
        create_login_profile(LoginProfileRequest) -> LoginProfileResponse, "CreateLoginProfile";
        get_login_profile(GetUserRequest) -> LoginProfileResponse, "GetLoginProfile";
        update_login_profile(LoginProfileRequest) -> LoginProfileResponse, "UpdateLoginProfile";
        delete_login_profile(GetUserRequest) -> WriteResult, "DeleteLoginProfile";
        create_virtual_mfa_device(CreateVirtualMfaDeviceRequest) -> CreateVirtualMfaDeviceResponse, "CreateVirtualMFADevice";
        list_virtual_mfa_devices(ListVirtualMfaDevicesRequest) -> ListVirtualMfaDevicesResponse, "ListVirtualMFADevices";
        delete_virtual_mfa_device(MfaDeviceRef) -> WriteResult, "DeleteVirtualMFADevice";
        bind_mfa_device(BindMfaDeviceRequest) -> WriteResult, "BindMFADevice";
        unbind_mfa_device(GetUserRequest) -> VirtualMfaDeviceResponse, "UnbindMFADevice";
        get_user_mfa_info(GetUserRequest) -> VirtualMfaDeviceResponse, "GetUserMFAInfo";
        get_account_summary(GetAccountSummaryRequest) -> GetAccountSummaryResponse, "GetAccountSummary";
        set_account_alias(SetAccountAliasRequest) -> WriteResult, "SetAccountAlias";
        clear_account_alias(SetAccountAliasRequest) -> WriteResult, "ClearAccountAlias";
        get_account_alias(SetAccountAliasRequest) -> SetAccountAliasRequest, "GetAccountAlias";
    }
}
