//! Account ids, policy types and ARNs.

use std::fmt;

use crate::error::{Error, Result};

/// A 16-digit account (tenant) id, held inline: comparing and cloning one (on every
/// authorization, for every cached principal) reads no other memory and allocates nothing.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId([u8; 16]);

impl AccountId {
    pub fn parse(text: &str) -> Result<AccountId> {
        match <[u8; 16]>::try_from(text.as_bytes()) {
            Ok(digits) if digits.iter().all(u8::is_ascii_digit) && digits[0] != b'0' => {
                Ok(AccountId(digits))
            }
            _ => Err(Error::format("AccountId", "16 digits, not starting with 0")),
        }
    }

    pub fn as_str(&self) -> &str {
        // ASCII digits, checked by `parse`: always UTF-8.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// `acs:ram::<account>:root`.
    pub fn root_arn(&self) -> String {
        format!("acs:ram::{self}:root")
    }
}

impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AccountId").field(&self.as_str()).finish()
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `System` (global, read-only) or `Custom` (per account).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PolicyType {
    System,
    Custom,
}

impl PolicyType {
    pub fn parse(text: &str) -> Result<PolicyType> {
        match text {
            "System" => Ok(PolicyType::System),
            "Custom" => Ok(PolicyType::Custom),
            _ => Err(Error::invalid(
                "InvalidParameter.PolicyType",
                "The parameter - \"PolicyType\" must be \"System\" or \"Custom\".",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PolicyType::System => "System",
            PolicyType::Custom => "Custom",
        }
    }
}

impl fmt::Display for PolicyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Entity ARNs as the API returns them (empty region).
pub mod arn {
    use super::{AccountId, PolicyType};

    pub fn user(account: &AccountId, name: &str) -> String {
        format!("acs:ram::{account}:user/{name}")
    }

    pub fn group(account: &AccountId, name: &str) -> String {
        format!("acs:ram::{account}:group/{name}")
    }

    pub fn role(account: &AccountId, name: &str) -> String {
        format!("acs:ram::{account}:role/{name}")
    }

    pub fn assumed_role(account: &AccountId, role: &str, session: &str) -> String {
        format!("acs:ram::{account}:assumed-role/{role}/{session}")
    }

    /// `acs:ram::<account>:policy/<name>`, or `acs:ram::system:policy/<name>` for system policies.
    pub fn policy(account: &AccountId, policy_type: PolicyType, name: &str) -> String {
        match policy_type {
            PolicyType::System => format!("acs:ram::system:policy/{name}"),
            PolicyType::Custom => format!("acs:ram::{account}:policy/{name}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids() {
        assert!(AccountId::parse("1234567890123456").is_ok());
        for bad in [
            "123",
            "0234567890123456",
            "12345678901234567",
            "12345678901234ab",
            "éééééééé",
            "",
        ] {
            assert!(AccountId::parse(bad).is_err(), "{bad}");
        }
        let a = AccountId::parse("1234567890123456").unwrap();
        assert_eq!(a.as_str(), "1234567890123456");
        assert_eq!(a.to_string(), "1234567890123456");
        assert_eq!(format!("{a:?}"), "AccountId(\"1234567890123456\")");
        assert!(a < AccountId::parse("2234567890123456").unwrap());
        assert_eq!(a.root_arn(), "acs:ram::1234567890123456:root");
        assert_eq!(
            arn::role(&a, "Admin"),
            "acs:ram::1234567890123456:role/Admin"
        );
        assert_eq!(
            arn::policy(&a, PolicyType::System, "ReadOnlyAccess"),
            "acs:ram::system:policy/ReadOnlyAccess"
        );
    }

    #[test]
    fn policy_types() {
        assert_eq!(PolicyType::parse("System").unwrap(), PolicyType::System);
        assert_eq!(
            PolicyType::parse("system").unwrap_err().code(),
            "InvalidParameter.PolicyType"
        );
    }
}
