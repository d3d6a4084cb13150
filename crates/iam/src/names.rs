//! RAM's name and field rules (spec §4.6), each returning the exact RAM error code.

use crate::error::{Error, Result};

fn check(
    field: &str,
    value: &str,
    min: usize,
    max: usize,
    allowed: impl Fn(char) -> bool,
) -> Result<()> {
    let len = value.chars().count();
    if len < min || len > max {
        return Err(Error::length(field, min, max));
    }
    if !value.chars().all(allowed) {
        return Err(Error::invalid_chars(field));
    }
    Ok(())
}

fn alnum_or(extra: &'static [char]) -> impl Fn(char) -> bool {
    move |c| c.is_ascii_alphanumeric() || extra.contains(&c)
}

/// `UserName`: 1–64 letters, digits, `.`, `-`, `_`.
pub fn user_name(v: &str) -> Result<()> {
    check("UserName", v, 1, 64, alnum_or(&['.', '-', '_']))
}

/// `GroupName`: 1–64 letters, digits, `.`, `-`, `_`.
pub fn group_name(v: &str) -> Result<()> {
    check("GroupName", v, 1, 64, alnum_or(&['.', '-', '_']))
}

/// `RoleName`: 1–64 letters, digits, `.`, `-`.
pub fn role_name(v: &str) -> Result<()> {
    check("RoleName", v, 1, 64, alnum_or(&['.', '-']))
}

/// `PolicyName`: 1–128 letters, digits, `-`.
pub fn policy_name(v: &str) -> Result<()> {
    check("PolicyName", v, 1, 128, alnum_or(&['-']))
}

/// `VirtualMFADeviceName`: 1–64 letters, digits, `.`, `-`.
pub fn mfa_device_name(v: &str) -> Result<()> {
    check("VirtualMFADeviceName", v, 1, 64, alnum_or(&['.', '-']))
}

/// `RoleSessionName`: 2–64 letters, digits, `.`, `@`, `-`, `_`.
pub fn role_session_name(v: &str) -> Result<()> {
    check("RoleSessionName", v, 2, 64, alnum_or(&['.', '@', '-', '_']))
}

fn printable(c: char) -> bool {
    !c.is_control()
}

/// `DisplayName`: 1–128 printable characters.
pub fn display_name(v: &str) -> Result<()> {
    check("DisplayName", v, 1, 128, printable)
}

/// `Comments` of users and groups: up to 128 printable characters.
pub fn comments(v: &str) -> Result<()> {
    check("Comments", v, 0, 128, printable)
}

/// `Description` of roles and policies: up to 1,024 characters (newlines allowed).
pub fn description(v: &str) -> Result<()> {
    check("Description", v, 0, 1024, |c| {
        !c.is_control() || c == '\n' || c == '\t'
    })
}

/// `Email`: `local@domain.tld`, up to 128 characters.
pub fn email(v: &str) -> Result<()> {
    let well_formed = v.len() <= 128
        && v.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && domain.contains('.')
                && !domain.contains("..")
                && local.chars().all(|c| c.is_ascii_graphic() && c != '@')
                && domain
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        });
    if well_formed {
        Ok(())
    } else {
        Err(Error::format("Email", "name@example.com"))
    }
}

/// `MobilePhone`: `<country code>-<number>`, e.g. `86-18600008888`.
pub fn mobile_phone(v: &str) -> Result<()> {
    let digits = |s: &str, min: usize, max: usize| {
        (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
    };
    match v.split_once('-') {
        Some((cc, number)) if digits(cc, 1, 4) && digits(number, 4, 20) => Ok(()),
        _ => Err(Error::format(
            "MobilePhone",
            "<country code>-<number>, e.g. 86-18600008888",
        )),
    }
}

/// `AccountAlias`: 3–32 lower-case letters, digits and single inner hyphens.
pub fn account_alias(v: &str) -> Result<()> {
    let len = v.chars().count();
    if !(3..=32).contains(&len) {
        return Err(Error::length("AccountAlias", 3, 32));
    }
    let chars_ok = v
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !chars_ok || v.starts_with('-') || v.ends_with('-') || v.contains("--") {
        return Err(Error::format(
            "AccountAlias",
            "lower-case letters, digits and single hyphens, not at either end",
        ));
    }
    Ok(())
}

/// `MaxSessionDuration` of a role: 3,600–43,200 seconds.
pub fn max_session_duration(seconds: i64) -> Result<()> {
    if (3600..=43200).contains(&seconds) {
        Ok(())
    } else {
        Err(Error::range("MaxSessionDuration", 3600, 43200))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(user_name("alice.b-c_d").is_ok());
        assert_eq!(
            user_name("").unwrap_err().code(),
            "InvalidParameter.UserName.Length"
        );
        assert_eq!(
            user_name(&"a".repeat(65)).unwrap_err().code(),
            "InvalidParameter.UserName.Length"
        );
        assert!(user_name(&"a".repeat(64)).is_ok());
        assert_eq!(
            user_name("al ice").unwrap_err().code(),
            "InvalidParameter.UserName.InvalidChars"
        );
        assert_eq!(
            user_name("alice@x").unwrap_err().code(),
            "InvalidParameter.UserName.InvalidChars"
        );
        assert!(group_name("dev_ops.1").is_ok());
        assert_eq!(
            role_name("ecs_admin").unwrap_err().code(),
            "InvalidParameter.RoleName.InvalidChars"
        );
        assert!(role_name("ECSAdmin.v-2").is_ok());
        assert!(policy_name("Read-Only-1").is_ok());
        assert_eq!(
            policy_name("read.only").unwrap_err().code(),
            "InvalidParameter.PolicyName.InvalidChars"
        );
        assert!(policy_name(&"p".repeat(128)).is_ok());
        assert_eq!(
            role_session_name("a").unwrap_err().code(),
            "InvalidParameter.RoleSessionName.Length"
        );
        assert!(role_session_name("alice@example.com").is_ok());
    }

    #[test]
    fn fields() {
        assert!(display_name("Alice Ł.").is_ok());
        assert!(display_name("a\u{7}").is_err());
        assert!(comments("").is_ok());
        assert_eq!(
            comments(&"c".repeat(129)).unwrap_err().code(),
            "InvalidParameter.Comments.Length"
        );
        assert!(description(&"d".repeat(1024)).is_ok());
        assert!(email("alice@example.com").is_ok());
        for bad in [
            "alice",
            "alice@",
            "@example.com",
            "a@b",
            "a@.b.c",
            "a b@c.d",
        ] {
            assert_eq!(
                email(bad).unwrap_err().code(),
                "InvalidParameter.Email.Format",
                "{bad}"
            );
        }
        assert!(mobile_phone("86-18600008888").is_ok());
        assert_eq!(
            mobile_phone("18600008888").unwrap_err().code(),
            "InvalidParameter.MobilePhone.Format"
        );
        assert!(account_alias("my-corp").is_ok());
        assert_eq!(
            account_alias("ab").unwrap_err().code(),
            "InvalidParameter.AccountAlias.Length"
        );
        for bad in ["My-corp", "-corp", "corp-", "my--corp", "my_corp"] {
            assert_eq!(
                account_alias(bad).unwrap_err().code(),
                "InvalidParameter.AccountAlias.Format",
                "{bad}"
            );
        }
        assert!(max_session_duration(3600).is_ok());
        assert!(max_session_duration(43200).is_ok());
        assert_eq!(
            max_session_duration(3599).unwrap_err().code(),
            "InvalidParameter.MaxSessionDuration.Range"
        );
    }
}
