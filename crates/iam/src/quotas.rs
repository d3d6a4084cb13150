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
    /// OIDC identity providers per account (Alibaba: 100 identity providers).
    pub oidc_providers: u32,
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
            oidc_providers: 100,
        }
    }
}

macro_rules! quota_names {
    ($($field:ident => $variant:ident, $name:literal;)*) => {
        /// A quota's name, as `SetAccountQuota` and `GetAccountSummary` spell it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum QuotaName { $($variant,)* }

        impl QuotaName {
            pub const ALL: &'static [QuotaName] = &[$(QuotaName::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(QuotaName::$variant => $name,)* }
            }

            pub fn parse(name: &str) -> Option<QuotaName> {
                QuotaName::ALL.iter().copied().find(|q| q.as_str() == name)
            }
        }

        impl Quotas {
            pub fn get(&self, name: QuotaName) -> u32 {
                match name { $(QuotaName::$variant => self.$field,)* }
            }

            pub fn set(&mut self, name: QuotaName, value: u32) {
                match name { $(QuotaName::$variant => self.$field = value,)* }
            }
        }
    };
}

quota_names! {
    users => Users, "UsersQuota";
    groups => Groups, "GroupsQuota";
    roles => Roles, "RolesQuota";
    custom_policies => CustomPolicies, "PoliciesQuota";
    groups_per_user => GroupsPerUser, "GroupsPerUserQuota";
    access_keys_per_user => AccessKeysPerUser, "AccessKeysPerUserQuota";
    system_policies_per_entity => SystemPoliciesPerEntity, "AttachedSystemPoliciesPerUserQuota";
    custom_policies_per_entity => CustomPoliciesPerEntity, "AttachedPoliciesPerUserQuota";
    versions_per_policy => VersionsPerPolicy, "VersionsPerPolicyQuota";
    mfa_devices_per_user => MfaDevicesPerUser, "MFADevicesPerUserQuota";
    virtual_mfa_devices => VirtualMfaDevices, "VirtualMFADevicesQuota";
    oidc_providers => OidcProviders, "OIDCProvidersQuota";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_set() {
        let mut q = Quotas::default();
        for name in QuotaName::ALL {
            assert_eq!(QuotaName::parse(name.as_str()), Some(*name));
            q.set(*name, 7);
            assert_eq!(q.get(*name), 7);
        }
        assert_eq!(QuotaName::parse("Nope"), None);
    }
}
