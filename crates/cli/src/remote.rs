//! The Alibaba mapping's service traits ([`tessera_proto::alibaba::Ram`] and `Sts`) implemented
//! by forwarding every call to a gRPC client, so that `tessera ram <Operation>` and
//! `tessera sts <Operation>` run the one table of `tessera_proto::alibaba` (the same the
//! server's HTTP API uses) over the network.

use tessera_client::BoxError;
use tessera_proto::alibaba;
use tessera_proto::v1 as pb;
use tessera_proto::v1::ram_client::RamClient;
use tessera_proto::v1::sts_client::StsClient;
use tonic::body::Body;
use tonic::codegen::http;
use tower::util::BoxCloneSyncService;

/// What the forwarders call over: a signed channel, or a stand-in that sends nothing.
pub type Transport = BoxCloneSyncService<http::Request<Body>, http::Response<Body>, TransportError>;

/// A transport failure. (A concrete type rather than a boxed error, so that the futures of the
/// forwarding methods are provably `Send`.)
#[derive(Debug)]
pub struct TransportError(BoxError);

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// The transport of a signed channel.
pub fn signed(channel: tessera_client::SignedChannel) -> Transport {
    use tower::ServiceExt as _;
    BoxCloneSyncService::new(channel.map_err(TransportError))
}

/// Forwards `tessera.v1.Ram` calls.
#[derive(Debug, Clone)]
pub struct RamForward(RamClient<Transport>);

/// Forwards `tessera.v1.Sts` calls.
#[derive(Debug, Clone)]
pub struct StsForward(StsClient<Transport>);

impl RamForward {
    pub fn new(transport: Transport) -> RamForward {
        RamForward(RamClient::new(transport))
    }
}

impl StsForward {
    pub fn new(transport: Transport) -> StsForward {
        StsForward(StsClient::new(transport))
    }
}

/// Implements a service trait by calling the same method of the client in `.0`.
macro_rules! forward {
    ($service:ident for $name:ident { $($method:ident($request:ident) -> $response:ident;)* }) => {
        #[tonic::async_trait]
        impl alibaba::$service for $name {
            $(
                async fn $method(
                    &self,
                    request: tonic::Request<pb::$request>,
                ) -> Result<tonic::Response<pb::$response>, tonic::Status> {
                    self.0.clone().$method(request).await
                }
            )*
        }
    };
}

forward! { Ram for RamForward {
    create_user(CreateUserRequest) -> UserResponse;
    get_user(GetUserRequest) -> UserResponse;
    update_user(UpdateUserRequest) -> UserResponse;
    delete_user(GetUserRequest) -> WriteResult;
    list_users(ListRequest) -> ListUsersResponse;
    create_group(CreateGroupRequest) -> GroupResponse;
    get_group(GetGroupRequest) -> GroupResponse;
    update_group(UpdateGroupRequest) -> GroupResponse;
    delete_group(GetGroupRequest) -> WriteResult;
    list_groups(ListRequest) -> ListGroupsResponse;
    add_user_to_group(MembershipRequest) -> WriteResult;
    remove_user_from_group(MembershipRequest) -> WriteResult;
    list_groups_for_user(GetUserRequest) -> ListGroupsResponse;
    list_users_for_group(ListUsersForGroupRequest) -> ListUsersResponse;
    create_role(CreateRoleRequest) -> RoleResponse;
    get_role(GetRoleRequest) -> RoleResponse;
    update_role(UpdateRoleRequest) -> RoleResponse;
    delete_role(GetRoleRequest) -> WriteResult;
    list_roles(ListRequest) -> ListRolesResponse;
    revoke_role_sessions(GetRoleRequest) -> RoleResponse;
    create_policy(CreatePolicyRequest) -> PolicyResponse;
    get_policy(PolicyRef) -> PolicyResponse;
    list_policies(ListPoliciesRequest) -> ListPoliciesResponse;
    update_policy_description(UpdatePolicyDescriptionRequest) -> PolicyResponse;
    delete_policy(DeletePolicyRequest) -> WriteResult;
    create_policy_version(CreatePolicyVersionRequest) -> PolicyVersionResponse;
    get_policy_version(PolicyVersionRef) -> PolicyVersionResponse;
    list_policy_versions(PolicyRef) -> ListPolicyVersionsResponse;
    set_default_policy_version(PolicyVersionRef) -> PolicyResponse;
    delete_policy_version(PolicyVersionRef) -> WriteResult;
    attach_policy(AttachmentRequest) -> WriteResult;
    detach_policy(AttachmentRequest) -> WriteResult;
    list_policies_for(ListPoliciesForRequest) -> ListAttachedPoliciesResponse;
    list_entities_for_policy(PolicyRef) -> ListEntitiesForPolicyResponse;
    create_access_key(CreateAccessKeyRequest) -> CreateAccessKeyResponse;
    update_access_key(UpdateAccessKeyRequest) -> AccessKeyResponse;
    delete_access_key(AccessKeyRef) -> WriteResult;
    list_access_keys(CreateAccessKeyRequest) -> ListAccessKeysResponse;
    get_access_key_last_used(AccessKeyRef) -> AccessKeyLastUsedResponse;
    create_login_profile(LoginProfileRequest) -> LoginProfileResponse;
    get_login_profile(GetUserRequest) -> LoginProfileResponse;
    update_login_profile(LoginProfileRequest) -> LoginProfileResponse;
    delete_login_profile(GetUserRequest) -> WriteResult;
    create_virtual_mfa_device(CreateVirtualMfaDeviceRequest) -> CreateVirtualMfaDeviceResponse;
    list_virtual_mfa_devices(ListVirtualMfaDevicesRequest) -> ListVirtualMfaDevicesResponse;
    delete_virtual_mfa_device(MfaDeviceRef) -> WriteResult;
    bind_mfa_device(BindMfaDeviceRequest) -> WriteResult;
    unbind_mfa_device(GetUserRequest) -> VirtualMfaDeviceResponse;
    get_user_mfa_info(GetUserRequest) -> VirtualMfaDeviceResponse;
    get_account_summary(GetAccountSummaryRequest) -> GetAccountSummaryResponse;
    set_account_alias(SetAccountAliasRequest) -> WriteResult;
    clear_account_alias(SetAccountAliasRequest) -> WriteResult;
    get_account_alias(SetAccountAliasRequest) -> SetAccountAliasRequest;
}}

forward! { Sts for StsForward {
    assume_role(AssumeRoleRequest) -> AssumeRoleResponse;
    get_caller_identity(GetCallerIdentityRequest) -> GetCallerIdentityResponse;
    get_jwks(GetJwksRequest) -> GetJwksResponse;
    sign_in(SignInRequest) -> SignInResponse;
}}
