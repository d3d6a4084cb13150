//! The `tessera.v1.Ram` service: RAM's management API over gRPC.
//!
//! One module per family of operations (users, groups, roles, policies, access keys, console
//! credentials, OIDC identity providers, the account); each RPC is the function of the same
//! name there, taking the service and the request, and the `Ram` impl at the bottom only hands
//! requests to them.
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
//! Every mutation (access level `Write` in the table), allowed, denied or failed, is recorded
//! in the audit trail ([`crate::audit::record`]) — once, where the `Ram` impl dispatches, so
//! gRPC and the Alibaba HTTP API (which calls the same impl) record alike.
//!
//! Writes answer with the change-log revision they committed at, once this replica's change
//! feed (wired in `serve`) has applied it to the caches: a caller's next call on this replica
//! sees its write (other replicas follow within the feed's bound, or at once with
//! `min_revision`).

mod access_keys;
mod account;
mod console;
mod groups;
mod oidc_providers;
mod policies;
mod roles;
mod users;

use tessera_credentials::Sealer;
use tessera_iam::{AccountId, Error, Target, authorize_operation};
use tessera_policy::Permissions;
use tessera_proto::v1 as pb;
use tessera_proto::v1::ram_server::{Ram, RamServer};
use tessera_store::{FeedWatcher, Revision};
use tonic::{Request, Response, Status};

use crate::audit::AuditSink;
use crate::audit::record::{Noted, note};
use crate::authorizer::{caller_policies, status};
use crate::caller::authenticated;
use crate::principals::PrincipalCache;

/// The `tessera.v1.Ram` service.
#[derive(Debug, Clone)]
pub struct RamService {
    cache: PrincipalCache,
    /// Seals access key secrets and MFA seeds at rest.
    sealer: Sealer,
    /// This replica's change feed: a write answers once the feed has applied it here.
    feed: Option<FeedWatcher>,
    audit: AuditSink,
    /// Whether OIDC providers may have `http://` issuers (tests only).
    allow_http_issuers: bool,
}

/// How long a write waits for this replica's feed to apply it before answering anyway.
const SETTLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

impl RamService {
    /// A service over `cache`'s store, loading callers' permissions through `cache`.
    pub fn new(cache: PrincipalCache, sealer: Sealer) -> RamService {
        RamService {
            cache,
            sealer,
            feed: None,
            audit: AuditSink::disabled(),
            allow_http_issuers: false,
        }
    }

    /// Records mutations in `audit`.
    #[must_use]
    pub fn with_audit(mut self, audit: AuditSink) -> RamService {
        self.audit = audit;
        self
    }

    /// Lets OIDC providers have plain `http://` issuer URLs (the `oidc_allow_http_issuers`
    /// setting, for tests; production issuers must be `https://`).
    #[must_use]
    pub fn with_http_issuers(mut self, allow: bool) -> RamService {
        self.allow_http_issuers = allow;
        self
    }

    /// Follows `watcher` (the feed that invalidates this replica's caches): each write answers
    /// only once its revision is applied, so the writer's next call on this replica sees it
    /// (read-your-writes here; other replicas within the feed's bound, or at once with
    /// `min_revision`).
    #[must_use]
    pub fn with_feed(mut self, watcher: FeedWatcher) -> RamService {
        self.feed = Some(watcher);
        self
    }

    /// Waits (briefly) until this replica's feed has applied `revision`.
    async fn settle(&self, revision: u64) {
        let (Some(feed), Ok(revision)) = (&self.feed, i64::try_from(revision)) else {
            return;
        };
        if revision <= 0 {
            return;
        }
        if let Err(error) = feed.wait_for(Revision(revision), SETTLE_TIMEOUT).await {
            // The write is committed; only this replica's caches lag (the feed catches up).
            tracing::warn!(revision, %error, "a write's revision was not applied in time");
        }
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
        if row.access == tessera_iam::Access::Write {
            note(request, || Noted::operation(row, &auth.caller, target));
        }
        let (own, session) = caller_policies(&self.cache, auth).await.map_err(err)?;
        let identity = crate::authorizer::identity_policies(own.as_ref());
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
/// The change-log revision a response reports (0 for reads).
trait Revisioned {
    fn revision(&self) -> u64;
}

macro_rules! revisioned {
    (writes: $($write:ident),*; reads: $($read:ident),*;) => {
        $(impl Revisioned for pb::$write {
            fn revision(&self) -> u64 {
                self.revision
            }
        })*
        $(impl Revisioned for pb::$read {
            fn revision(&self) -> u64 {
                0
            }
        })*
    };
}

revisioned! {
    writes: UserResponse, GroupResponse, RoleResponse, PolicyResponse, PolicyVersionResponse,
        CreateAccessKeyResponse, AccessKeyResponse, LoginProfileResponse,
        CreateVirtualMfaDeviceResponse, VirtualMfaDeviceResponse, WriteResult,
        OidcProviderResponse;
    reads: AccessKeyLastUsedResponse, GetAccountSummaryResponse, ListAccessKeysResponse,
        ListAttachedPoliciesResponse, ListEntitiesForPolicyResponse, ListGroupsResponse,
        ListPoliciesResponse, ListPolicyVersionsResponse, ListRolesResponse, ListUsersResponse,
        ListVirtualMfaDevicesResponse, SetAccountAliasRequest, ListOidcProvidersResponse;
}

macro_rules! delegate {
    ($($module:ident::$method:ident($req:ident) -> $resp:ident;)*) => {
        #[tonic::async_trait]
        impl Ram for RamService {
            $(
                async fn $method(
                    &self,
                    mut request: Request<pb::$req>,
                ) -> Result<Response<pb::$resp>, Status> {
                    let audited = self.audit.begin(&mut request);
                    let result = $module::$method(self, request).await;
                    self.audit.finish(audited, &result);
                    let response = result?;
                    self.settle(response.get_ref().revision()).await;
                    Ok(response)
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
    oidc_providers::create_oidc_provider(CreateOidcProviderRequest) -> OidcProviderResponse;
    oidc_providers::get_oidc_provider(OidcProviderRef) -> OidcProviderResponse;
    oidc_providers::update_oidc_provider(UpdateOidcProviderRequest) -> OidcProviderResponse;
    oidc_providers::delete_oidc_provider(OidcProviderRef) -> WriteResult;
    oidc_providers::list_oidc_providers(ListRequest) -> ListOidcProvidersResponse;
    oidc_providers::add_client_id_to_oidc_provider(OidcProviderClientIdRequest) -> OidcProviderResponse;
    oidc_providers::remove_client_id_from_oidc_provider(OidcProviderClientIdRequest) -> OidcProviderResponse;
    oidc_providers::add_fingerprint_to_oidc_provider(OidcProviderFingerprintRequest) -> OidcProviderResponse;
    oidc_providers::remove_fingerprint_from_oidc_provider(OidcProviderFingerprintRequest) -> OidcProviderResponse;
}
