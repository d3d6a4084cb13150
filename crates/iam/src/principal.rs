//! The authenticated caller, its ARNs, and the request context Tessera builds for it.
//!
//! A [`Caller`] is who the server has authenticated (an access key, a security token, a
//! certificate). It knows its ARN, its account, how trust policies see it
//! ([`Caller::to_policy_principal`]) and which global condition keys it contributes to a request
//! ([`Caller::fill_context`]).
//!
//! # ARNs
//!
//! | caller | [`Caller::arn`] |
//! |---|---|
//! | root | `acs:ram::<account>:root` |
//! | RAM user | `acs:ram::<account>:user/<name>` |
//! | role session | `acs:ram::<account>:assumed-role/<role>/<session>` |
//! | service | its service name (`ecs.aliyuncs.com`): services have no ARN |
//! | federated | the identity provider's ARN |
//!
//! Alibaba documents two spellings of a role session's ARN (spec §1.5). Tessera's canonical one
//! is `assumed-role/<role>/<session>`; policies may also name a session as
//! `acs:ram::<account>:role/<role>/<session>`:
//!
//! - in a trust policy's `Principal`, both spellings name the same session
//!   (`tessera_policy` parses both), and `role/<role>` names every session of the role;
//! - in conditions on `acs:PrincipalARN`, a role session's request carries **three** values:
//!   `…:assumed-role/<role>/<session>`, `…:role/<role>/<session>` and the role's own ARN
//!   `…:role/<role>` (what AWS's `aws:PrincipalArn` holds for a session). A positive operator
//!   matches if any spelling matches; a negated one (`StringNotLike`) holds only if none does,
//!   so `Deny … StringNotEquals acs:PrincipalARN acs:ram::<a>:role/Admin` exempts Admin's
//!   sessions as expected. (`ForAllValues:` over this key sees all three values.)
//!
//! # Context keys
//!
//! [`Caller::fill_context`] sets, from the caller and the transport facts of the request
//! ([`RequestFacts`]):
//!
//! | key | value | when |
//! |---|---|---|
//! | `acs:CurrentTime` | `YYYY-MM-DDTHH:MM:SSZ` (UTC, whole seconds) | always |
//! | `acs:SecureTransport` | `true` / `false` | always |
//! | `acs:MFAPresent` | `true` / `false` | always |
//! | `acs:SourceIp` | the peer address (IPv4-mapped IPv6 addresses as IPv4) | when known |
//! | `acs:UserAgent`, `acs:Referer`, `acs:SourceVpc` | as received | when present |
//! | `acs:AccessId` | the access key id that signed the request (`LTAI…`, `STS.…`) | when the request was signed with a key |
//! | `acs:PrincipalARN` | the caller's ARN(s), see above | RAM identities (root, users, role sessions) |
//! | `acs:PrincipalAccount` | the caller's 16-digit account id | RAM identities |
//! | `acs:TokenIssueTime` | when the session was issued, same format as `acs:CurrentTime` | role sessions |
//! | `sts:SourceIdentity` | the session's source identity | role sessions that have one |
//!
//! `acs:PrincipalARN`, `acs:PrincipalAccount`, `acs:AccessId`, `acs:TokenIssueTime` and
//! `sts:SourceIdentity` are Tessera extensions (DESIGN.md §2). Services set no principal keys.
//! Keys that depend on the resource (`acs:ResourceTag/<k>`) are the caller's to add.

use std::fmt;
use std::net::IpAddr;

use jiff::Timestamp;
use tessera_policy::{Context, Principal};

use crate::ids::AccountId;

/// Who is making a request, as authenticated by the server.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Caller {
    /// An account's root identity: all permissions inside its own account.
    Root { account: AccountId },
    /// A RAM user.
    User {
        account: AccountId,
        /// The user's stable id (not its name, which may change).
        user_id: String,
        name: String,
    },
    /// A session of a role, from `AssumeRole`.
    RoleSession {
        account: AccountId,
        role_id: String,
        role_name: String,
        session_name: String,
        /// When the session's token was issued.
        issued_at: Timestamp,
        source_identity: Option<String>,
    },
    /// A platform service (`ecs.aliyuncs.com`), authenticated by the platform (mTLS). It belongs
    /// to no account; what it may do is granted by the operator.
    Service { name: String },
    /// A federated identity from a SAML/OIDC provider (the provider's ARN). Such a caller only
    /// ever appears on the trust side of `AssumeRoleWithSAML`/`…WithOIDC`; it belongs to no
    /// account and has no identity policies.
    Federated { provider: String },
}

impl Caller {
    /// The account the caller belongs to; `None` for services and federated identities.
    pub fn account(&self) -> Option<&AccountId> {
        match self {
            Caller::Root { account }
            | Caller::User { account, .. }
            | Caller::RoleSession { account, .. } => Some(account),
            Caller::Service { .. } | Caller::Federated { .. } => None,
        }
    }

    /// The caller's canonical ARN (see the module documentation for the table).
    pub fn arn(&self) -> String {
        match self {
            Caller::Root { account } => format!("acs:ram::{account}:root"),
            Caller::User { account, name, .. } => format!("acs:ram::{account}:user/{name}"),
            Caller::RoleSession {
                account,
                role_name,
                session_name,
                ..
            } => format!("acs:ram::{account}:assumed-role/{role_name}/{session_name}"),
            Caller::Service { name } => name.clone(),
            Caller::Federated { provider } => provider.clone(),
        }
    }

    /// Every ARN the caller answers to in `acs:PrincipalARN` conditions: the canonical one
    /// first, then (for role sessions) `…:role/<role>/<session>` and `…:role/<role>`.
    /// Empty for services and federated identities.
    pub fn principal_arns(&self) -> Vec<String> {
        match self {
            Caller::Root { .. } | Caller::User { .. } => vec![self.arn()],
            Caller::RoleSession {
                account,
                role_name,
                session_name,
                ..
            } => {
                let role = format!("acs:ram::{account}:role/{role_name}");
                vec![self.arn(), format!("{role}/{session_name}"), role]
            }
            Caller::Service { .. } | Caller::Federated { .. } => Vec::new(),
        }
    }

    /// How a trust policy's `Principal` element sees the caller.
    pub fn to_policy_principal(&self) -> Principal {
        match self {
            Caller::Root { account } => Principal::Root {
                account: account.as_str().to_owned(),
            },
            Caller::User { account, name, .. } => Principal::User {
                account: account.as_str().to_owned(),
                name: name.clone(),
            },
            Caller::RoleSession {
                account,
                role_name,
                session_name,
                ..
            } => Principal::RoleSession {
                account: account.as_str().to_owned(),
                role: role_name.clone(),
                session: session_name.clone(),
            },
            Caller::Service { name } => Principal::Service { name: name.clone() },
            Caller::Federated { provider } => Principal::Federated {
                provider: provider.clone(),
            },
        }
    }

    /// `GetCallerIdentity`'s `IdentityType`: `Account`, `RAMUser` or `AssumedRoleUser`
    /// (`Service` and `Federated` are Tessera's own).
    pub fn identity_type(&self) -> &'static str {
        match self {
            Caller::Root { .. } => "Account",
            Caller::User { .. } => "RAMUser",
            Caller::RoleSession { .. } => "AssumedRoleUser",
            Caller::Service { .. } => "Service",
            Caller::Federated { .. } => "Federated",
        }
    }

    pub fn is_root(&self) -> bool {
        matches!(self, Caller::Root { .. })
    }

    pub fn is_role_session(&self) -> bool {
        matches!(self, Caller::RoleSession { .. })
    }

    /// Do `self` and `other` designate the same principal? Accounts compare exactly, names
    /// ASCII-case-insensitively (names are unique case-insensitively); ids, issue times and
    /// source identities are ignored, so two sessions of one role with one session name are
    /// the same principal, as they are for policies.
    pub fn same_principal(&self, other: &Caller) -> bool {
        match (self, other) {
            (Caller::Root { account: a }, Caller::Root { account: b }) => a == b,
            (
                Caller::User {
                    account: a,
                    name: n,
                    ..
                },
                Caller::User {
                    account: b,
                    name: m,
                    ..
                },
            ) => a == b && n.eq_ignore_ascii_case(m),
            (
                Caller::RoleSession {
                    account: a,
                    role_name: r,
                    session_name: s,
                    ..
                },
                Caller::RoleSession {
                    account: b,
                    role_name: q,
                    session_name: t,
                    ..
                },
            ) => a == b && r.eq_ignore_ascii_case(q) && s == t,
            (Caller::Service { name: a }, Caller::Service { name: b }) => a.eq_ignore_ascii_case(b),
            (Caller::Federated { provider: a }, Caller::Federated { provider: b }) => {
                a.eq_ignore_ascii_case(b)
            }
            _ => false,
        }
    }

    /// Adds the caller's and the request's global condition keys to `context` (replacing any
    /// values those keys already had). See the module documentation for the keys.
    pub fn fill_context(&self, facts: &RequestFacts<'_>, context: &mut Context) {
        self.fill_context_where(facts, context, |_| true);
    }

    /// [`Caller::fill_context`] for the keys `wanted` accepts only (given in their canonical
    /// spelling, e.g. `acs:SourceIp`); the others are neither computed nor touched. Deciding
    /// with `wanted` = "a condition tests this key" ([`tessera_policy::Permissions::uses_key`])
    /// gives the same decisions for a fraction of the work: formatting times and addresses
    /// and typing each value is most of what a context costs.
    pub fn fill_context_where(
        &self,
        facts: &RequestFacts<'_>,
        context: &mut Context,
        wanted: impl Fn(&str) -> bool,
    ) {
        if wanted("acs:CurrentTime") {
            context.set("acs:CurrentTime", &format_time(facts.now));
        }
        if wanted("acs:SecureTransport") {
            context.set("acs:SecureTransport", bool_str(facts.secure_transport));
        }
        if wanted("acs:MFAPresent") {
            context.set("acs:MFAPresent", bool_str(facts.mfa_present));
        }
        let optional = [
            ("acs:UserAgent", facts.user_agent),
            ("acs:Referer", facts.referer),
            ("acs:SourceVpc", facts.source_vpc),
            ("acs:AccessId", facts.access_key_id),
        ];
        for (key, value) in optional {
            if wanted(key) {
                context.remove(key);
                if let Some(value) = value {
                    context.insert(key, value);
                }
            }
        }
        if wanted("acs:SourceIp") {
            context.remove("acs:SourceIp");
            if let Some(ip) = facts.source_ip {
                context.insert("acs:SourceIp", &ip.to_canonical().to_string());
            }
        }
        if wanted("acs:PrincipalARN") {
            context.remove("acs:PrincipalARN");
            for arn in self.principal_arns() {
                context.insert("acs:PrincipalARN", &arn);
            }
        }
        if wanted("acs:PrincipalAccount") {
            context.remove("acs:PrincipalAccount");
            if let Some(account) = self.account() {
                context.insert("acs:PrincipalAccount", account.as_str());
            }
        }
        let (issued_at, source_identity) = match self {
            Caller::RoleSession {
                issued_at,
                source_identity,
                ..
            } => (Some(*issued_at), source_identity.as_deref()),
            _ => (None, None),
        };
        if wanted("acs:TokenIssueTime") {
            context.remove("acs:TokenIssueTime");
            if let Some(issued_at) = issued_at {
                context.insert("acs:TokenIssueTime", &format_time(issued_at));
            }
        }
        if wanted("sts:SourceIdentity") {
            context.remove("sts:SourceIdentity");
            if let Some(source_identity) = source_identity {
                context.insert("sts:SourceIdentity", source_identity);
            }
        }
    }

    /// A fresh context with the keys of [`Caller::fill_context`].
    pub fn context(&self, facts: &RequestFacts<'_>) -> Context {
        let mut context = Context::new();
        self.fill_context(facts, &mut context);
        context
    }
}

impl fmt::Display for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.arn())
    }
}

/// What the transport knows about a request, for the global condition keys. Time is passed in:
/// this crate never reads the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestFacts<'a> {
    /// When the server received the request (`acs:CurrentTime`).
    pub now: Timestamp,
    /// The peer address of the connection, not `X-Forwarded-For` (`acs:SourceIp`).
    pub source_ip: Option<IpAddr>,
    /// Whether the request arrived over TLS (`acs:SecureTransport`).
    pub secure_transport: bool,
    pub user_agent: Option<&'a str>,
    pub referer: Option<&'a str>,
    pub source_vpc: Option<&'a str>,
    /// Whether the caller authenticated with MFA (`acs:MFAPresent`); false for requests signed
    /// with access keys.
    pub mfa_present: bool,
    /// The access key id the request was signed with (`acs:AccessId`).
    pub access_key_id: Option<&'a str>,
}

impl<'a> RequestFacts<'a> {
    /// Facts with only the time known: no address, plain transport, no MFA, no key.
    pub fn at(now: Timestamp) -> RequestFacts<'a> {
        RequestFacts {
            now,
            source_ip: None,
            secure_transport: false,
            user_agent: None,
            referer: None,
            source_vpc: None,
            mfa_present: false,
            access_key_id: None,
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` in UTC, sub-seconds truncated: the one date format of the RAM/STS
/// APIs and of Tessera's date-valued context keys.
pub fn format_time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn bool_str(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_policy::{Decision, Limits, PolicyKind, PolicyLabel, PolicySet, Request, parse};

    const A: &str = "1234567890123456";

    fn account() -> AccountId {
        AccountId::parse(A).unwrap()
    }

    fn user(name: &str) -> Caller {
        Caller::User {
            account: account(),
            user_id: "u-1".into(),
            name: name.into(),
        }
    }

    fn session(source_identity: Option<&str>) -> Caller {
        Caller::RoleSession {
            account: account(),
            role_id: "r-1".into(),
            role_name: "Admin".into(),
            session_name: "alice".into(),
            issued_at: "2026-03-04T05:06:07.89Z".parse().unwrap(),
            source_identity: source_identity.map(str::to_owned),
        }
    }

    fn values(ctx: &Context, key: &str) -> Vec<String> {
        ctx.get(key).iter().map(|v| v.as_str().to_owned()).collect()
    }

    #[test]
    fn arns_and_accounts() {
        let cases = [
            (
                Caller::Root { account: account() },
                "acs:ram::1234567890123456:root",
                Some(A),
                "Account",
            ),
            (
                user("bob"),
                "acs:ram::1234567890123456:user/bob",
                Some(A),
                "RAMUser",
            ),
            (
                session(None),
                "acs:ram::1234567890123456:assumed-role/Admin/alice",
                Some(A),
                "AssumedRoleUser",
            ),
            (
                Caller::Service {
                    name: "ecs.aliyuncs.com".into(),
                },
                "ecs.aliyuncs.com",
                None,
                "Service",
            ),
            (
                Caller::Federated {
                    provider: "acs:ram::1234567890123456:saml-provider/idp".into(),
                },
                "acs:ram::1234567890123456:saml-provider/idp",
                None,
                "Federated",
            ),
        ];
        for (caller, arn, acct, identity_type) in cases {
            assert_eq!(caller.arn(), arn);
            assert_eq!(caller.to_string(), arn);
            assert_eq!(caller.account().map(AccountId::as_str), acct, "{arn}");
            assert_eq!(caller.identity_type(), identity_type);
            // The policy crate renders principals the same way.
            assert_eq!(caller.to_policy_principal().to_string(), arn);
            assert_eq!(
                caller.to_policy_principal().account(),
                acct,
                "{arn}: policy principal account"
            );
        }
        assert_eq!(
            session(None).principal_arns(),
            vec![
                "acs:ram::1234567890123456:assumed-role/Admin/alice",
                "acs:ram::1234567890123456:role/Admin/alice",
                "acs:ram::1234567890123456:role/Admin",
            ]
        );
        assert!(
            Caller::Service {
                name: "ecs.aliyuncs.com".into()
            }
            .principal_arns()
            .is_empty()
        );
    }

    #[test]
    fn a_filtered_context_holds_exactly_the_wanted_keys_of_the_full_one() {
        let mut facts = RequestFacts::at("2026-05-06T07:08:09Z".parse().unwrap());
        facts.source_ip = Some("10.1.2.3".parse().unwrap());
        facts.access_key_id = Some("STS.key");
        let caller = session(Some("ci"));
        let full = caller.context(&facts);
        let wanted = ["acs:SourceIp", "sts:SourceIdentity", "acs:TokenIssueTime"];
        let mut filtered = Context::new().with("acs:CurrentTime", "caller-supplied");
        caller.fill_context_where(&facts, &mut filtered, |k| wanted.contains(&k));
        for (key, values) in full.iter() {
            let expected: Vec<&str> = if wanted.iter().any(|w| w.eq_ignore_ascii_case(key)) {
                values.iter().map(|v| v.as_str()).collect()
            } else if key == "acs:currenttime" {
                // Untouched: not wanted, so not replaced either.
                vec!["caller-supplied"]
            } else {
                Vec::new()
            };
            let got: Vec<&str> = filtered.get(key).iter().map(|v| v.as_str()).collect();
            assert_eq!(got, expected, "{key}");
        }
        assert_eq!(values(&filtered, "acs:SourceIp"), ["10.1.2.3"]);
    }

    #[test]
    fn same_principal_ignores_ids_and_name_case() {
        let mut other = user("BOB");
        if let Caller::User { user_id, .. } = &mut other {
            *user_id = "u-2".into();
        }
        assert!(user("bob").same_principal(&other));
        assert!(!user("bob").same_principal(&user("alice")));
        assert!(session(None).same_principal(&session(Some("x"))));
        assert!(!session(None).same_principal(&user("alice")));
        assert!(
            Caller::Root { account: account() }
                .same_principal(&Caller::Root { account: account() })
        );
    }

    #[test]
    fn context_of_a_user_request() {
        let facts = RequestFacts {
            now: "2026-01-02T03:04:05.999999Z".parse().unwrap(),
            source_ip: Some("::ffff:192.0.2.7".parse().unwrap()),
            secure_transport: true,
            user_agent: Some("aliyun-cli/3"),
            referer: None,
            source_vpc: Some("vpc-1"),
            mfa_present: false,
            access_key_id: Some("LTAI5tExample"),
        };
        let ctx = user("bob").context(&facts);
        assert_eq!(values(&ctx, "acs:CurrentTime"), ["2026-01-02T03:04:05Z"]);
        assert_eq!(values(&ctx, "acs:SourceIp"), ["192.0.2.7"]);
        assert_eq!(values(&ctx, "acs:SecureTransport"), ["true"]);
        assert_eq!(values(&ctx, "acs:MFAPresent"), ["false"]);
        assert_eq!(values(&ctx, "acs:UserAgent"), ["aliyun-cli/3"]);
        assert_eq!(values(&ctx, "acs:SourceVpc"), ["vpc-1"]);
        assert!(ctx.get("acs:Referer").is_empty());
        assert_eq!(values(&ctx, "acs:AccessId"), ["LTAI5tExample"]);
        assert_eq!(
            values(&ctx, "acs:PrincipalARN"),
            ["acs:ram::1234567890123456:user/bob"]
        );
        assert_eq!(values(&ctx, "acs:PrincipalAccount"), [A]);
        assert!(ctx.get("acs:TokenIssueTime").is_empty());
        assert!(ctx.get("sts:SourceIdentity").is_empty());
    }

    #[test]
    fn context_of_a_session_request_and_refilling_replaces() {
        let facts = RequestFacts::at("2026-01-02T03:04:05Z".parse().unwrap());
        let mut ctx = user("bob").context(&RequestFacts {
            referer: Some("https://old"),
            source_ip: Some("10.0.0.1".parse().unwrap()),
            ..facts
        });
        session(Some("alice@corp")).fill_context(&facts, &mut ctx);
        assert_eq!(values(&ctx, "acs:TokenIssueTime"), ["2026-03-04T05:06:07Z"]);
        assert_eq!(values(&ctx, "sts:SourceIdentity"), ["alice@corp"]);
        assert_eq!(values(&ctx, "acs:PrincipalARN").len(), 3);
        assert!(ctx.get("acs:Referer").is_empty(), "stale keys are removed");
        assert!(ctx.get("acs:SourceIp").is_empty());
        assert_eq!(values(&ctx, "acs:SecureTransport"), ["false"]);
        let service = Caller::Service {
            name: "ecs.aliyuncs.com".into(),
        };
        service.fill_context(&facts, &mut ctx);
        assert!(ctx.get("acs:PrincipalARN").is_empty());
        assert!(ctx.get("acs:PrincipalAccount").is_empty());
        assert!(ctx.get("acs:TokenIssueTime").is_empty());
    }

    /// The keys work in real conditions: dates compare, ARNs match in either session spelling.
    #[test]
    fn context_keys_drive_conditions() {
        let doc = r#"{"Version":"1","Statement":[
            {"Effect":"Allow","Action":"oss:GetObject","Resource":"*","Condition":{
                "DateLessThan":{"acs:CurrentTime":"2026-06-01T00:00:00Z"},
                "DateGreaterThan":{"acs:TokenIssueTime":"2026-01-01T00:00:00Z"},
                "StringLike":{"acs:PrincipalARN":"acs:ram::*:role/Admin/*"},
                "StringEquals":{"acs:PrincipalAccount":"1234567890123456"}}},
            {"Effect":"Deny","Action":"oss:DeleteObject","Resource":"*","Condition":{
                "StringNotEquals":{"acs:PrincipalARN":"acs:ram::1234567890123456:role/Admin"}}}]}"#;
        let policy = parse(doc, PolicyKind::Identity, &Limits::default())
            .unwrap()
            .policy;
        let allow_delete = parse(
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:DeleteObject","Resource":"*"}]}"#,
            PolicyKind::Identity,
            &Limits::default(),
        )
        .unwrap()
        .policy;
        let set = PolicySet::new([
            (PolicyLabel::new("p"), &policy),
            (PolicyLabel::new("d"), &allow_delete),
        ]);
        let facts = RequestFacts::at("2026-05-01T00:00:00Z".parse().unwrap());
        let ctx = session(None).context(&facts);
        let decide = |action: &str, ctx: &Context| set.decide(&Request::new(action, "x", ctx));
        assert_eq!(decide("oss:GetObject", &ctx), Decision::Allow);
        assert_eq!(decide("oss:DeleteObject", &ctx), Decision::Allow);
        let later =
            session(None).context(&RequestFacts::at("2026-07-01T00:00:00Z".parse().unwrap()));
        assert_eq!(decide("oss:GetObject", &later), Decision::ImplicitDeny);
        let bob = user("bob").context(&facts);
        assert_eq!(decide("oss:GetObject", &bob), Decision::ImplicitDeny);
        assert_eq!(decide("oss:DeleteObject", &bob), Decision::ExplicitDeny);
    }

    #[test]
    fn times_are_whole_seconds_utc() {
        let t: Timestamp = "2026-01-02T03:04:05.5+08:00".parse().unwrap();
        assert_eq!(format_time(t), "2026-01-01T19:04:05Z");
        assert_eq!(format_time(Timestamp::UNIX_EPOCH), "1970-01-01T00:00:00Z");
    }
}
