//! The `tessera.v1` gRPC API (proto/tessera/v1), generated: message types, client stubs and
//! server traits. Convert to domain types at the edge (the server's service modules), never
//! deeper.
//!
//! [`alibaba`] maps Alibaba Cloud's RAM/STS API (action names, parameters, response JSON) onto
//! these services, for the server's HTTP endpoint and the CLI alike.

#![allow(clippy::all, clippy::pedantic, missing_debug_implementations)]

pub mod alibaba;
mod redact;

/// Package `tessera.v1`.
pub mod v1 {
    tonic::include_proto!("tessera.v1");

    /// The encoded `FileDescriptorSet`, for gRPC server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/tessera_v1_descriptor.bin"));
}

/// Calls `$callback! { $($args)* { <every Ram method> } }` with each method of
/// `tessera.v1.Ram` as `method(Request) -> Response;`: the one list for code that must
/// implement or forward the whole service (the CLI's forwarding client, test fakes).
#[macro_export]
macro_rules! with_ram_methods {
    ($callback:ident! { $($args:tt)* }) => {
        $callback! { $($args)* {
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
            create_oidc_provider(CreateOidcProviderRequest) -> OidcProviderResponse;
            get_oidc_provider(OidcProviderRef) -> OidcProviderResponse;
            update_oidc_provider(UpdateOidcProviderRequest) -> OidcProviderResponse;
            delete_oidc_provider(OidcProviderRef) -> WriteResult;
            list_oidc_providers(ListRequest) -> ListOidcProvidersResponse;
            add_client_id_to_oidc_provider(OidcProviderClientIdRequest) -> OidcProviderResponse;
            remove_client_id_from_oidc_provider(OidcProviderClientIdRequest) -> OidcProviderResponse;
            add_fingerprint_to_oidc_provider(OidcProviderFingerprintRequest) -> OidcProviderResponse;
            remove_fingerprint_from_oidc_provider(OidcProviderFingerprintRequest) -> OidcProviderResponse;
        } }
    };
}
