//! Principals: who a trust policy's `Principal` element names, and who is asking.

use std::fmt;

/// The identity making a request, as a trust policy sees it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Principal {
    /// An account's root identity (`acs:ram::<account>:root`).
    Root { account: String },
    /// A RAM user (`acs:ram::<account>:user/<name>`).
    User { account: String, name: String },
    /// A role session (`acs:ram::<account>:assumed-role/<role>/<session>`).
    RoleSession {
        account: String,
        role: String,
        session: String,
    },
    /// A cloud service acting on the account's behalf (`ecs.aliyuncs.com`).
    Service { name: String },
    /// A federated identity from a SAML/OIDC provider (the provider's ARN).
    Federated { provider: String },
}

impl Principal {
    /// The account the principal belongs to, if any.
    pub fn account(&self) -> Option<&str> {
        match self {
            Principal::Root { account }
            | Principal::User { account, .. }
            | Principal::RoleSession { account, .. } => Some(account),
            Principal::Service { .. } | Principal::Federated { .. } => None,
        }
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Principal::Root { account } => write!(f, "acs:ram::{account}:root"),
            Principal::User { account, name } => write!(f, "acs:ram::{account}:user/{name}"),
            Principal::RoleSession {
                account,
                role,
                session,
            } => write!(f, "acs:ram::{account}:assumed-role/{role}/{session}"),
            Principal::Service { name } => f.write_str(name),
            Principal::Federated { provider } => f.write_str(provider),
        }
    }
}

/// One entry of a trust policy's `Principal` element, compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PrincipalPattern {
    /// `"Principal": "*"`: anyone at all.
    Anyone,
    /// `"RAM": "*"`: any RAM identity of any account.
    AnyRam,
    /// `"RAM": "acs:ram::<account>:root"` (or the bare account id): any identity of the account.
    Account(Box<str>),
    User {
        account: Box<str>,
        name: Box<str>,
    },
    Role {
        account: Box<str>,
        role: Box<str>,
    },
    RoleSession {
        account: Box<str>,
        role: Box<str>,
        session: Box<str>,
    },
    Service(Box<str>),
    Federated(Box<str>),
}

/// The `Principal` element's type keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PrincipalType {
    Ram,
    Service,
    Federated,
}

impl PrincipalType {
    pub(crate) const ALL: [(&'static str, PrincipalType); 3] = [
        ("RAM", PrincipalType::Ram),
        ("Service", PrincipalType::Service),
        ("Federated", PrincipalType::Federated),
    ];
}

impl PrincipalPattern {
    /// Parses one value listed under `ty`; the error says what a valid value looks like.
    pub(crate) fn parse(ty: PrincipalType, value: &str) -> Result<PrincipalPattern, String> {
        match ty {
            PrincipalType::Ram => parse_ram(value),
            PrincipalType::Service => {
                let ok = !value.is_empty()
                    && value.len() <= 256
                    && value
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
                if ok {
                    Ok(PrincipalPattern::Service(value.to_ascii_lowercase().into()))
                } else {
                    Err(format!(
                        "\"{value}\" is not a service name (for example \"ecs.aliyuncs.com\")"
                    ))
                }
            }
            PrincipalType::Federated => {
                let (account, resource) =
                    split_ram_arn(value).ok_or_else(|| federated_hint(value))?;
                let valid = is_account(account)
                    && ["saml-provider/", "oidc-provider/"]
                        .iter()
                        .any(|p| resource.strip_prefix(p).is_some_and(is_name));
                if valid {
                    // Canonical spelling (empty region), so `acs:ram:*:…` and `acs:ram::…` match.
                    Ok(PrincipalPattern::Federated(
                        format!("acs:ram::{account}:{resource}").into(),
                    ))
                } else {
                    Err(federated_hint(value))
                }
            }
        }
    }

    pub(crate) fn matches(&self, who: &Principal) -> bool {
        match (self, who) {
            (PrincipalPattern::Anyone, _) => true,
            (PrincipalPattern::AnyRam, p) => p.account().is_some(),
            (PrincipalPattern::Account(a), p) => p.account() == Some(&**a),
            (
                PrincipalPattern::User { account, name },
                Principal::User {
                    account: a,
                    name: n,
                },
            ) => **account == **a && name.eq_ignore_ascii_case(n),
            (
                PrincipalPattern::Role { account, role },
                Principal::RoleSession {
                    account: a,
                    role: r,
                    ..
                },
            ) => **account == **a && role.eq_ignore_ascii_case(r),
            (
                PrincipalPattern::RoleSession {
                    account,
                    role,
                    session,
                },
                Principal::RoleSession {
                    account: a,
                    role: r,
                    session: s,
                },
            ) => **account == **a && role.eq_ignore_ascii_case(r) && **session == **s,
            (PrincipalPattern::Service(name), Principal::Service { name: n }) => {
                name.eq_ignore_ascii_case(n)
            }
            (PrincipalPattern::Federated(arn), Principal::Federated { provider }) => {
                match split_ram_arn(provider) {
                    Some((account, resource)) => split_ram_arn(arn)
                        .is_some_and(|(a, r)| a == account && r.eq_ignore_ascii_case(resource)),
                    None => arn.eq_ignore_ascii_case(provider),
                }
            }
            _ => false,
        }
    }

    /// True for patterns that admit principals of any account.
    pub(crate) fn is_open(&self) -> bool {
        matches!(self, PrincipalPattern::Anyone | PrincipalPattern::AnyRam)
    }
}

fn parse_ram(value: &str) -> Result<PrincipalPattern, String> {
    if value == "*" {
        return Ok(PrincipalPattern::AnyRam);
    }
    if is_account(value) {
        return Ok(PrincipalPattern::Account(value.into()));
    }
    let hint = || {
        format!(
            "\"{value}\" is not a RAM principal; use an account id or an ARN such as \
             acs:ram::<account-id>:root, acs:ram::<account-id>:user/<name> or \
             acs:ram::<account-id>:role/<name>"
        )
    };
    let (account, resource) = split_ram_arn(value).ok_or_else(hint)?;
    if !is_account(account) {
        return Err(hint());
    }
    let account: Box<str> = account.into();
    if resource == "root" {
        return Ok(PrincipalPattern::Account(account));
    }
    if let Some(name) = resource.strip_prefix("user/")
        && is_name(name)
    {
        return Ok(PrincipalPattern::User {
            account,
            name: name.into(),
        });
    }
    if let Some(role) = resource.strip_prefix("role/") {
        if is_name(role) {
            return Ok(PrincipalPattern::Role {
                account,
                role: role.into(),
            });
        }
        return session_pattern(account, role).ok_or_else(hint);
    }
    if let Some(rest) = resource.strip_prefix("assumed-role/") {
        return session_pattern(account, rest).ok_or_else(hint);
    }
    Err(hint())
}

fn session_pattern(account: Box<str>, role_and_session: &str) -> Option<PrincipalPattern> {
    let (role, session) = role_and_session.split_once('/')?;
    (is_name(role) && is_name(session)).then(|| PrincipalPattern::RoleSession {
        account,
        role: role.into(),
        session: session.into(),
    })
}

/// Splits `acs:ram::<account>:<resource>` (region empty or `*`; `acs:sts` accepted for
/// assumed-role ARNs).
fn split_ram_arn(value: &str) -> Option<(&str, &str)> {
    let rest = value
        .strip_prefix("acs:ram:")
        .or_else(|| value.strip_prefix("acs:sts:"))?;
    let rest = rest.strip_prefix("*:").or_else(|| rest.strip_prefix(':'))?;
    rest.split_once(':')
}

fn is_account(s: &str) -> bool {
    !s.is_empty() && s.len() <= 32 && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'@' | b'='))
}

fn federated_hint(value: &str) -> String {
    format!(
        "\"{value}\" is not an identity provider ARN (acs:ram::<account-id>:saml-provider/<name> \
         or acs:ram::<account-id>:oidc-provider/<name>)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ram(v: &str) -> PrincipalPattern {
        PrincipalPattern::parse(PrincipalType::Ram, v)
            .unwrap_or(PrincipalPattern::Federated("x".into()))
    }

    fn user(account: &str, name: &str) -> Principal {
        Principal::User {
            account: account.into(),
            name: name.into(),
        }
    }

    fn session(account: &str, role: &str, s: &str) -> Principal {
        Principal::RoleSession {
            account: account.into(),
            role: role.into(),
            session: s.into(),
        }
    }

    #[test]
    fn account_root_admits_everyone_of_the_account() {
        for p in [
            ram("acs:ram::1234567890123456:root"),
            ram("1234567890123456"),
        ] {
            assert!(p.matches(&user("1234567890123456", "alice")));
            assert!(p.matches(&session("1234567890123456", "r", "s")));
            assert!(p.matches(&Principal::Root {
                account: "1234567890123456".into()
            }));
            assert!(!p.matches(&user("9999999999999999", "alice")));
            assert!(!p.matches(&Principal::Service {
                name: "ecs.aliyuncs.com".into()
            }));
        }
    }

    #[test]
    fn users_roles_and_sessions() {
        let u = ram("acs:ram::1:user/Alice");
        assert!(u.matches(&user("1", "alice")));
        assert!(!u.matches(&user("1", "bob")));
        assert!(!u.matches(&user("2", "alice")));
        let r = ram("acs:ram::1:role/Admin");
        assert!(r.matches(&session("1", "admin", "anything")));
        assert!(!r.matches(&user("1", "admin")));
        let s = ram("acs:ram::1:assumed-role/Admin/alice");
        assert!(s.matches(&session("1", "ADMIN", "alice")));
        assert!(!s.matches(&session("1", "admin", "bob")));
        assert_eq!(ram("acs:ram::1:role/Admin/alice"), s);
        assert_eq!(ram("acs:ram:*:1:user/Alice"), u);
    }

    #[test]
    fn services_and_federation() {
        let s = PrincipalPattern::parse(PrincipalType::Service, "ECS.aliyuncs.com");
        assert!(s.is_ok_and(|p| p.matches(&Principal::Service {
            name: "ecs.aliyuncs.com".into()
        })));
        let f = PrincipalPattern::parse(PrincipalType::Federated, "acs:ram::1:saml-provider/idp");
        assert!(f.is_ok_and(|p| p.matches(&Principal::Federated {
            provider: "acs:ram::1:saml-provider/idp".into()
        })));
    }

    #[test]
    fn federated_providers_are_canonical() {
        let star =
            PrincipalPattern::parse(PrincipalType::Federated, "acs:ram:*:1:saml-provider/idp");
        let empty =
            PrincipalPattern::parse(PrincipalType::Federated, "acs:ram::1:saml-provider/idp");
        assert_eq!(star, empty);
        let star = star.unwrap_or(PrincipalPattern::Anyone);
        for provider in [
            "acs:ram::1:saml-provider/idp",
            "acs:ram:*:1:saml-provider/IDP",
        ] {
            assert!(star.matches(&Principal::Federated {
                provider: provider.into()
            }));
        }
        assert!(!star.matches(&Principal::Federated {
            provider: "acs:ram::2:saml-provider/idp".into()
        }));
    }

    #[test]
    fn invalid_values_are_rejected() {
        for bad in [
            "acs:ram::abc:root",
            "acs:ecs::1:root",
            "root",
            "acs:ram::1:group/g",
            "acs:ram::1:user/",
            "acs:ram::1:user/a*",
        ] {
            assert!(
                PrincipalPattern::parse(PrincipalType::Ram, bad).is_err(),
                "{bad}"
            );
        }
        assert!(PrincipalPattern::parse(PrincipalType::Service, "ecs aliyuncs").is_err());
        assert!(PrincipalPattern::parse(PrincipalType::Federated, "acs:ram::1:user/x").is_err());
    }
}
