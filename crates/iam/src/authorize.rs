//! The decision pipeline for an ordinary request: may this caller perform this action on this
//! resource, given its policies?
//!
//! [`authorize`] applies, in order:
//!
//! 1. **Root.** An account's root identity is allowed everything inside its own account, without
//!    evaluating any policy ([`Reason::RootOfAccount`]) — except `sts:AssumeRole`, which RAM
//!    refuses to root identities ([`Reason::RootCannotAssumeRole`]). A resource of another
//!    account is denied to root like to anyone ([`Reason::CrossAccount`]).
//! 2. **Policies.** Everyone else is decided by its [`Permissions`]: for a user its own and its
//!    groups' policies, for a role session the role's policies ∩ the session policy (both must
//!    allow; a Deny in either wins) ([`Reason::Policies`]).
//! 3. **Own account.** Identity-based policies only grant access to resources of the caller's
//!    own account (DESIGN.md §2): a request resource `acs:<svc>:<region>:<account>:<rel>` whose
//!    account field names another account is implicitly denied even if a policy allows it
//!    ([`Reason::CrossAccount`]); cross-account access goes through role assumption. An explicit
//!    Deny still reports [`Decision::ExplicitDeny`] (with [`Reason::Policies`]).
//!
//! Which resources are *not* attributed to another account, so that the policies alone decide:
//! an account field that is empty or `*` (OSS buckets, `acs:oss:*:*:bucket`), the pseudo-account
//! `system` (system policies, `acs:ram::system:policy/<name>`, readable by every account), and
//! anything that is not an `acs:` ARN with at least five fields (a bare `*`). Any other value,
//! including one with wildcards, is compared literally with the caller's account.
//!
//! **The exception: `sts:AssumeRole`.** It is the one action whose identity-side grant may name
//! another account's resource (`acs:ram:*:<other>:role/<name>`): assuming a role of another
//! account *is* the cross-account path, and the role's trust policy is the other account's
//! consent. So the own-account rule does not apply to it ([`CROSS_ACCOUNT_ACTIONS`]); the full
//! AssumeRole decision (both sides) is [`crate::assume_role::assume_role`].
//!
//! Callers without an account (platform services, federated identities) are not bound by the
//! own-account rule: what they hold is granted platform-wide by the operator, and their
//! policies alone decide.
//!
//! [`authorize`] allocates nothing; [`authorize_explained`] also reports the deciding
//! statements.

use std::fmt;

use tessera_policy::{Decision, Match, Permissions, Request};

use crate::error::Error;
use crate::principal::Caller;

/// Actions whose identity-side grants may name resources of other accounts (compared
/// ASCII-case-insensitively, like all actions).
pub const CROSS_ACCOUNT_ACTIONS: &[&str] = &["sts:AssumeRole"];

/// RAM's message for a denied admin operation (`NoPermission`, 403).
pub const NO_PERMISSION_MESSAGE: &str = "You are not authorized to do this action.";

/// Why a decision came out the way it did. Safe for audit logs; not all of it is for callers
/// (a denied AssumeRole never tells the caller which side refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The caller is the root identity of the resource's account: allowed without policies.
    RootOfAccount,
    /// The caller's policies decided (the [`Decision`] says how; explain for the statements).
    Policies,
    /// The resource belongs to another account; identity policies cannot grant it.
    CrossAccount,
    /// Root identities may not assume roles.
    RootCannotAssumeRole,
    /// The operation works inside the caller's account and the caller has none (a service or a
    /// federated identity).
    NoAccount,
    /// The operation is open to every authenticated caller (`GetCallerIdentity`).
    AlwaysAllowed,
    /// The operation asks about the caller itself (`Authorize` without another principal).
    AboutSelf,
    /// The operation applies only to RAM users (`ChangePassword` by a role session).
    NotAUser,
    /// The AssumeRole decision: each side's decision and their combination
    /// ([`Decision::and`]). `identity` is `None` for callers without identity policies
    /// (services, federated identities), whose assumption the trust policy alone decides.
    AssumeRole {
        identity: Option<Decision>,
        trust: Decision,
    },
}

impl Reason {
    /// A short English explanation, for audit logs and `Authorize`'s explanation.
    pub fn describe(self) -> &'static str {
        match self {
            Reason::RootOfAccount => "the root identity may do everything in its own account",
            Reason::Policies => "decided by the caller's policies",
            Reason::CrossAccount => {
                "the resource belongs to another account; identity policies grant access only \
                 to the caller's own account (assume a role of that account instead)"
            }
            Reason::RootCannotAssumeRole => "roles may not be assumed by root accounts",
            Reason::NoAccount => "the caller belongs to no account",
            Reason::AlwaysAllowed => "the operation is open to every authenticated caller",
            Reason::AboutSelf => "the caller may always ask about itself",
            Reason::NotAUser => "the operation applies only to RAM users",
            Reason::AssumeRole {
                identity: Some(Decision::Allow),
                trust: Decision::Allow,
            }
            | Reason::AssumeRole {
                identity: None,
                trust: Decision::Allow,
            } => "the caller's policies and the role's trust policy both allow",
            Reason::AssumeRole {
                identity: Some(Decision::ExplicitDeny),
                ..
            } => "the caller's policies explicitly deny sts:AssumeRole on the role",
            Reason::AssumeRole {
                trust: Decision::ExplicitDeny,
                ..
            } => "the role's trust policy explicitly denies the caller",
            Reason::AssumeRole {
                identity: Some(Decision::ImplicitDeny),
                ..
            } => "the caller's policies do not allow sts:AssumeRole on the role",
            Reason::AssumeRole { .. } => "the role's trust policy does not allow the caller",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// A decision and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Authorization {
    pub decision: Decision,
    pub reason: Reason,
}

impl Authorization {
    pub fn new(decision: Decision, reason: Reason) -> Authorization {
        Authorization { decision, reason }
    }

    pub fn is_allowed(self) -> bool {
        self.decision.is_allowed()
    }

    /// Both must allow (for operations on several resources): the first explicit deny wins,
    /// then the first implicit deny, else the first allow.
    #[must_use]
    pub fn and(self, other: Authorization) -> Authorization {
        match (self.decision, other.decision) {
            (Decision::ExplicitDeny, _) => self,
            (_, Decision::ExplicitDeny) => other,
            (Decision::ImplicitDeny, _) => self,
            (_, Decision::ImplicitDeny) => other,
            (Decision::Allow, Decision::Allow) => self,
        }
    }

    /// `Ok(self)` if allowed, else RAM's `NoPermission` error (the reason is not revealed).
    pub fn require(self) -> Result<Authorization, Error> {
        if self.is_allowed() {
            Ok(self)
        } else {
            Err(Error::no_permission(NO_PERMISSION_MESSAGE))
        }
    }
}

impl fmt::Display for Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.decision, self.reason)
    }
}

/// Decides `request` for `caller` under `permissions` (see the module documentation).
/// Allocation-free.
pub fn authorize(
    caller: &Caller,
    permissions: &Permissions<'_>,
    request: &Request<'_>,
) -> Authorization {
    decide(caller, request, || permissions.decide(request))
}

/// [`authorize`], appending the statements that decided to `out` (see
/// [`Permissions::explain`]); nothing is appended unless the policies decided.
pub fn authorize_explained(
    caller: &Caller,
    permissions: &Permissions<'_>,
    request: &Request<'_>,
    out: &mut Vec<Match>,
) -> Authorization {
    let start = out.len();
    let authorization = decide(caller, request, || permissions.explain(request, out));
    if authorization.reason != Reason::Policies {
        out.truncate(start);
    }
    authorization
}

fn decide(
    caller: &Caller,
    request: &Request<'_>,
    policies: impl FnOnce() -> Decision,
) -> Authorization {
    let foreign = |own: &str| resource_account(request.resource).is_some_and(|a| a != own);
    match caller {
        Caller::Root { account } => {
            if request.action.eq_ignore_ascii_case("sts:AssumeRole") {
                Authorization::new(Decision::ImplicitDeny, Reason::RootCannotAssumeRole)
            } else if foreign(account.as_str()) {
                Authorization::new(Decision::ImplicitDeny, Reason::CrossAccount)
            } else {
                Authorization::new(Decision::Allow, Reason::RootOfAccount)
            }
        }
        _ => {
            let decision = policies();
            let cross = decision != Decision::ExplicitDeny
                && caller.account().is_some_and(|own| foreign(own.as_str()))
                && !CROSS_ACCOUNT_ACTIONS
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(request.action));
            if cross {
                Authorization::new(Decision::ImplicitDeny, Reason::CrossAccount)
            } else {
                Authorization::new(decision, Reason::Policies)
            }
        }
    }
}

/// The account a request resource belongs to, if it names one: `None` for an empty or `*`
/// account field, the `system` pseudo-account, and strings that are not ARNs.
pub fn resource_account(resource: &str) -> Option<&str> {
    let arn = ResourceArn::parse(resource)?;
    match arn.account {
        "" | "*" | "system" => None,
        account => Some(account),
    }
}

/// The fields of `acs:<service>:<region>:<account>:<relative-id>` (the relative id may contain
/// colons), borrowed from the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceArn<'a> {
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub relative: &'a str,
}

impl<'a> ResourceArn<'a> {
    /// Splits an ARN; `None` unless it starts with `acs:` and has all five fields.
    pub fn parse(text: &'a str) -> Option<ResourceArn<'a>> {
        let rest = text.strip_prefix("acs:")?;
        let mut fields = rest.splitn(4, ':');
        let service = fields.next()?;
        let region = fields.next()?;
        let account = fields.next()?;
        let relative = fields.next()?;
        Some(ResourceArn {
            service,
            region,
            account,
            relative,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::AccountId;
    use tessera_policy::{Context, Limits, PolicyKind, PolicyLabel, PolicySet, Source, parse};

    const A: &str = "1111111111111111";
    const B: &str = "2222222222222222";

    fn set(statements: &str) -> PolicySet {
        let doc = format!("{{\"Version\":\"1\",\"Statement\":[{statements}]}}");
        let policy = parse(&doc, PolicyKind::Identity, &Limits::default())
            .unwrap()
            .policy;
        PolicySet::new([(PolicyLabel::new("p"), &policy)])
    }

    fn user(account: &str) -> Caller {
        Caller::User {
            account: AccountId::parse(account).unwrap(),
            user_id: "u".into(),
            name: "bob".into(),
        }
    }

    fn root(account: &str) -> Caller {
        Caller::Root {
            account: AccountId::parse(account).unwrap(),
        }
    }

    fn role_session(account: &str) -> Caller {
        Caller::RoleSession {
            account: AccountId::parse(account).unwrap(),
            role_id: "r".into(),
            role_name: "ops".into(),
            session_name: "s".into(),
            issued_at: jiff::Timestamp::UNIX_EPOCH,
            source_identity: None,
        }
    }

    #[test]
    fn resource_accounts() {
        let cases = [
            ("acs:ecs:cn-hangzhou:1111111111111111:instance/i-1", Some(A)),
            ("acs:ram::2222222222222222:user/bob", Some(B)),
            ("acs:ram:*:2222222222222222:user/bob", Some(B)),
            ("acs:oss:*:*:bucket/key:with:colons", None),
            ("acs:oss:::bucket", None),
            ("acs:ram::system:policy/ReadOnlyAccess", None),
            ("acs:ram:*:12*:user/bob", Some("12*")),
            ("*", None),
            ("acs:ecs:*:1111111111111111", None),
            ("arn:aws:s3:::bucket", None),
        ];
        for (resource, expected) in cases {
            assert_eq!(resource_account(resource), expected, "{resource}");
        }
        assert_eq!(
            ResourceArn::parse("acs:oss:*:*:b/k:1"),
            Some(ResourceArn {
                service: "oss",
                region: "*",
                account: "*",
                relative: "b/k:1"
            })
        );
    }

    /// The own-account rule, table-driven: caller × resource × policy → decision, reason.
    #[test]
    fn own_account_rule() {
        use Decision::*;
        let allow_all = set(r#"{"Effect":"Allow","Action":"*","Resource":"*"}"#);
        let allow_b =
            set(r#"{"Effect":"Allow","Action":"ecs:*","Resource":"acs:ecs:*:2222222222222222:*"}"#);
        let deny_all = set(
            r#"{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"ecs:Delete*","Resource":"*"}"#,
        );
        let empty = PolicySet::empty();
        let own = "acs:ecs:cn-hangzhou:1111111111111111:instance/i-1";
        let other = "acs:ecs:cn-hangzhou:2222222222222222:instance/i-1";
        let oss = "acs:oss:*:*:bucket/key";
        let system = "acs:ram::system:policy/ReadOnlyAccess";
        let cases: Vec<(&str, Caller, &PolicySet, &str, &str, Decision, Reason)> = vec![
            (
                "user own",
                user(A),
                &allow_all,
                "ecs:StartInstance",
                own,
                Allow,
                Reason::Policies,
            ),
            (
                "user other",
                user(A),
                &allow_all,
                "ecs:StartInstance",
                other,
                ImplicitDeny,
                Reason::CrossAccount,
            ),
            (
                "policy names other account",
                user(A),
                &allow_b,
                "ecs:StartInstance",
                other,
                ImplicitDeny,
                Reason::CrossAccount,
            ),
            (
                "user oss any account",
                user(A),
                &allow_all,
                "oss:GetObject",
                oss,
                Allow,
                Reason::Policies,
            ),
            (
                "user no policy oss",
                user(A),
                &empty,
                "oss:GetObject",
                oss,
                ImplicitDeny,
                Reason::Policies,
            ),
            (
                "system policy readable",
                user(A),
                &allow_all,
                "ram:GetPolicy",
                system,
                Allow,
                Reason::Policies,
            ),
            (
                "user bare star",
                user(A),
                &allow_all,
                "ecs:DescribeRegions",
                "*",
                Allow,
                Reason::Policies,
            ),
            (
                "explicit deny own",
                user(A),
                &deny_all,
                "ecs:DeleteInstance",
                own,
                ExplicitDeny,
                Reason::Policies,
            ),
            (
                "explicit deny other",
                user(A),
                &deny_all,
                "ecs:DeleteInstance",
                other,
                ExplicitDeny,
                Reason::Policies,
            ),
            (
                "no grant own",
                user(A),
                &empty,
                "ecs:StartInstance",
                own,
                ImplicitDeny,
                Reason::Policies,
            ),
            (
                "session other",
                role_session(A),
                &allow_all,
                "ecs:StartInstance",
                other,
                ImplicitDeny,
                Reason::CrossAccount,
            ),
            (
                "session of B in B",
                role_session(B),
                &allow_b,
                "ecs:StartInstance",
                other,
                Allow,
                Reason::Policies,
            ),
            (
                "root own",
                root(A),
                &empty,
                "ecs:DeleteInstance",
                own,
                Allow,
                Reason::RootOfAccount,
            ),
            (
                "root ignores policies",
                root(A),
                &deny_all,
                "ecs:DeleteInstance",
                own,
                Allow,
                Reason::RootOfAccount,
            ),
            (
                "root oss",
                root(A),
                &empty,
                "oss:GetObject",
                oss,
                Allow,
                Reason::RootOfAccount,
            ),
            (
                "root other",
                root(A),
                &allow_all,
                "ecs:StartInstance",
                other,
                ImplicitDeny,
                Reason::CrossAccount,
            ),
            (
                "root assume role",
                root(A),
                &allow_all,
                "sts:AssumeRole",
                "acs:ram::1111111111111111:role/r",
                ImplicitDeny,
                Reason::RootCannotAssumeRole,
            ),
            (
                "assume role other account",
                user(A),
                &allow_all,
                "STS:assumerole",
                "acs:ram::2222222222222222:role/r",
                Allow,
                Reason::Policies,
            ),
            (
                "assume role not granted",
                user(A),
                &allow_b,
                "sts:AssumeRole",
                "acs:ram::2222222222222222:role/r",
                ImplicitDeny,
                Reason::Policies,
            ),
            (
                "service not account-bound",
                Caller::Service {
                    name: "ecs.aliyuncs.com".into(),
                },
                &allow_all,
                "ecs:StartInstance",
                other,
                Allow,
                Reason::Policies,
            ),
        ];
        let ctx = Context::new();
        for (name, caller, policies, action, resource, decision, reason) in cases {
            let perms = Permissions::new(policies, None);
            let request = Request::new(action, resource, &ctx);
            let got = authorize(&caller, &perms, &request);
            assert_eq!(got, Authorization::new(decision, reason), "{name}");
            let mut out = Vec::new();
            let explained = authorize_explained(&caller, &perms, &request, &mut out);
            assert_eq!(explained, got, "{name}: explained");
            assert_eq!(
                out.is_empty(),
                reason != Reason::Policies || decision == ImplicitDeny,
                "{name}: statements reported only when the policies decided"
            );
        }
    }

    #[test]
    fn session_policy_intersects_role_policies() {
        let role = set(
            r#"{"Effect":"Allow","Action":["oss:*","ecs:*"],"Resource":"*"},{"Effect":"Deny","Action":"oss:DeleteBucket","Resource":"*"}"#,
        );
        let session_policy = set(
            r#"{"Effect":"Allow","Action":["oss:Get*","oss:DeleteBucket","rds:*"],"Resource":"*"},{"Effect":"Deny","Action":"oss:GetBucketAcl","Resource":"*"}"#,
        );
        let perms = Permissions::new(&role, Some(&session_policy));
        let caller = role_session(A);
        let ctx = Context::new();
        let own = "acs:oss:*:*:bucket";
        let cases = [
            ("oss:GetObject", own, Decision::Allow, Reason::Policies),
            (
                "oss:PutObject",
                own,
                Decision::ImplicitDeny,
                Reason::Policies,
            ),
            (
                "rds:CreateDBInstance",
                own,
                Decision::ImplicitDeny,
                Reason::Policies,
            ),
            (
                "oss:DeleteBucket",
                own,
                Decision::ExplicitDeny,
                Reason::Policies,
            ),
            (
                "oss:GetBucketAcl",
                own,
                Decision::ExplicitDeny,
                Reason::Policies,
            ),
            (
                "oss:GetObject",
                "acs:oss:*:2222222222222222:bucket",
                Decision::ImplicitDeny,
                Reason::CrossAccount,
            ),
        ];
        for (action, resource, decision, reason) in cases {
            let request = Request::new(action, resource, &ctx);
            assert_eq!(
                authorize(&caller, &perms, &request),
                Authorization::new(decision, reason),
                "{action} {resource}"
            );
        }
        let mut out = Vec::new();
        let request = Request::new("oss:GetObject", own, &ctx);
        authorize_explained(&caller, &perms, &request, &mut out);
        let sources: Vec<Source> = out.iter().map(|m| m.source).collect();
        assert_eq!(sources, [Source::Identity, Source::Session]);
    }

    #[test]
    fn combining_and_requiring() {
        use Decision::*;
        let allow = Authorization::new(Allow, Reason::Policies);
        let root = Authorization::new(Allow, Reason::RootOfAccount);
        let implicit = Authorization::new(ImplicitDeny, Reason::CrossAccount);
        let explicit = Authorization::new(ExplicitDeny, Reason::Policies);
        assert_eq!(allow.and(root), allow);
        assert_eq!(allow.and(implicit), implicit);
        assert_eq!(implicit.and(explicit), explicit);
        assert_eq!(explicit.and(implicit), explicit);
        assert!(allow.require().is_ok());
        let err = implicit.require().unwrap_err();
        assert_eq!(err.code(), "NoPermission");
        assert_eq!(err.http_status(), 403);
        assert_eq!(err.message(), NO_PERMISSION_MESSAGE);
        assert!(
            implicit
                .to_string()
                .starts_with("ImplicitDeny (the resource belongs")
        );
    }
}
