//! Per-account quotas (spec §4.7, current limits page), configurable per deployment and account.

/// Quotas of one account. Defaults are Alibaba RAM's current limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Quotas {
    pub users: u32,
    pub groups: u32,
    pub roles: u32,
    pub custom_policies: u32,
    pub groups_per_user: u32,
    pub access_keys_per_user: u32,
    pub system_policies_per_entity: u32,
    pub custom_policies_per_entity: u32,
    pub versions_per_policy: u32,
    pub mfa_devices_per_user: u32,
    pub virtual_mfa_devices: u32,
}

impl Default for Quotas {
    fn default() -> Self {
        Quotas {
            users: 5000,
            groups: 300,
            roles: 1000,
            custom_policies: 1500,
            groups_per_user: 10,
            access_keys_per_user: 2,
            system_policies_per_entity: 20,
            custom_policies_per_entity: 10,
            versions_per_policy: 5,
            mfa_devices_per_user: 1,
            virtual_mfa_devices: 5000,
        }
    }
}
