//! The `AssumeRole` decision: parameter rules, both sides of the authorization, the session's
//! duration.
//!
//! The server parses `RoleArn` ([`RoleArn::parse`]), resolves the role (case-insensitively, in
//! the role's account), compiles its trust policy, and calls [`assume_role`], which applies in
//! order:
//!
//! 1. **Root callers are refused**: `NoPermission`, "Roles may not be assumed by root
//!    accounts." (spec §3.4).
//! 2. **Parameters**: `RoleSessionName` ([`names::role_session_name`]); `DurationSeconds`
//!    (900 ..= the role's `MaxSessionDuration`, default 3,600; when the caller is itself a role
//!    session — *role chaining* — at most 3,600, and an explicit longer request is an error,
//!    not silently shortened); `ExternalId` (2–1,224 characters of `[A-Za-z0-9_+=,.@:/-]`);
//!    `SourceIdentity` (2–64 characters of `[A-Za-z0-9_+=,.@-]`; a chained session inherits the
//!    caller's and may not change it); the session `Policy` (size, then grammar).
//! 3. **Both sides** (spec §3.4, DESIGN.md §2): the caller's own policies must allow
//!    `sts:AssumeRole` on `acs:ram::<role-account>:role/<role-name>` — the one action whose
//!    identity-side grant may name another account's resource (see
//!    [`mod@crate::authorize`]) — *and* the role's trust policy must allow the caller's principal.
//!    Both are evaluated with the caller's request context plus `sts:ExternalId` and
//!    `sts:SourceIdentity`, combined with [`Decision::and`]: an explicit Deny on either side
//!    wins, and both must allow. An empty (missing) trust policy allows nobody. Callers without
//!    identity policies (services, federated identities) are decided by the trust policy
//!    alone, as RAM does for service roles and SSO.
//! 4. **Refusal** is `NoPermission` with STS's message, "You are not authorized to do this
//!    action. You should be authorized by RAM.", whichever side refused; the
//!    [`Authorization`] carried by [`AssumeRoleError`] says which, for the audit log only.
//!
//! The role's ARN is evaluated in the entity form with an empty region
//! (`acs:ram::<account>:role/<Name>`, the stored name's case). An empty request field matches
//! `*` in a policy (DESIGN.md §2), so grants written as `acs:ram:*:<account>:role/<Name>` (RAM's
//! documented form) and as `acs:ram::<account>:role/<Name>` both apply.

use std::fmt;

use jiff::{SignedDuration, Timestamp};
use tessera_policy::{Decision, Limits, Permissions, Policy, PolicyKind, PolicySet, Request};

use crate::authorize::{Authorization, Reason, authorize};
use crate::error::{Entity, Error};
use crate::ids::AccountId;
use crate::names;
use crate::principal::{Caller, RequestFacts};

/// `DurationSeconds` when the request does not say.
pub const DEFAULT_DURATION_SECONDS: u32 = 3600;
/// The shortest session.
pub const MIN_DURATION_SECONDS: u32 = 900;
/// The longest session a role session may start (role chaining), as in AWS STS.
pub const CHAINED_MAX_DURATION_SECONDS: u32 = 3600;

/// STS's message for a refused AssumeRole (either side).
pub const NOT_AUTHORIZED_MESSAGE: &str =
    "You are not authorized to do this action. You should be authorized by RAM.";
/// STS's message for a root caller.
pub const ROOT_MESSAGE: &str = "Roles may not be assumed by root accounts.";

/// A parsed `RoleArn` parameter: `acs:ram::<16-digit account>:role/<role name>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RoleArn {
    pub account: AccountId,
    /// The name as written; resolve it case-insensitively.
    pub name: String,
}

impl RoleArn {
    /// Parses `acs:ram::<account>:role/<name>` (a `*` region, as policies write it, is accepted
    /// too). Anything else is `InvalidParameter.RoleArn`.
    pub fn parse(text: &str) -> Result<RoleArn, Error> {
        let bad = || {
            Error::invalid(
                "InvalidParameter.RoleArn",
                "The parameter RoleArn is wrongly formed.",
            )
        };
        let rest = text.strip_prefix("acs:ram:").ok_or_else(bad)?;
        let rest = rest
            .strip_prefix(':')
            .or_else(|| rest.strip_prefix("*:"))
            .ok_or_else(bad)?;
        let (account, resource) = rest.split_once(':').ok_or_else(bad)?;
        let account = AccountId::parse(account).map_err(|_| bad())?;
        let name = resource.strip_prefix("role/").ok_or_else(bad)?;
        names::role_name(name).map_err(|_| bad())?;
        Ok(RoleArn {
            account,
            name: name.to_owned(),
        })
    }
}

impl fmt::Display for RoleArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "acs:ram::{}:role/{}", self.account, self.name)
    }
}

/// What the decision needs to know about the role being assumed.
#[derive(Debug, Clone, Copy)]
pub struct RoleFacts<'a> {
    pub account: &'a AccountId,
    /// The role's stable id (`AssumedRoleId` is `<role id>:<session name>`).
    pub id: &'a str,
    /// The stored name (its case is what ARNs show).
    pub name: &'a str,
    /// The compiled trust policy (`AssumeRolePolicyDocument`); empty allows nobody.
    pub trust: &'a PolicySet,
    /// `MaxSessionDuration` in seconds (3,600–43,200; values outside are clamped into it).
    pub max_session_duration: u32,
}

impl RoleFacts<'_> {
    /// `acs:ram::<account>:role/<name>`: the resource `sts:AssumeRole` is authorized on.
    pub fn arn(&self) -> String {
        format!("acs:ram::{}:role/{}", self.account, self.name)
    }
}

/// The request's parameters, as received (empty optional strings count as absent).
#[derive(Debug, Clone, Copy, Default)]
pub struct AssumeRoleParams<'a> {
    pub session_name: &'a str,
    pub duration_seconds: Option<u32>,
    pub external_id: Option<&'a str>,
    pub source_identity: Option<&'a str>,
    /// The session policy (`Policy`) text.
    pub policy: Option<&'a str>,
    /// Size limits for the session policy (`session_chars`, 2,048 by default).
    pub policy_limits: Limits,
    /// Condition keys an identity provider vouched for (`oidc:iss`, `oidc:aud`, `oidc:sub`),
    /// added to the request context of a federated caller; ignored for any other caller.
    pub federated_claims: &'a [(&'a str, &'a str)],
}

/// A granted AssumeRole: what the new session is. The server mints the credentials.
#[derive(Debug, Clone, PartialEq)]
pub struct AssumeRoleGrant {
    pub account: AccountId,
    pub role_id: String,
    pub role_name: String,
    pub session_name: String,
    /// The requested one, or the one inherited from a chaining caller's session.
    pub source_identity: Option<String>,
    /// The parsed session policy; the session's permissions are the role's ∩ this.
    pub session_policy: Option<Policy>,
    pub duration_seconds: u32,
    /// The request time, truncated to whole seconds.
    pub issued_at: Timestamp,
    /// `issued_at + duration_seconds`.
    pub expires_at: Timestamp,
    /// `Allow` with [`Reason::AssumeRole`], for the audit log.
    pub authorization: Authorization,
}

impl AssumeRoleGrant {
    /// `acs:ram::<account>:role/<role>`.
    pub fn role_arn(&self) -> String {
        format!("acs:ram::{}:role/{}", self.account, self.role_name)
    }

    /// `acs:ram::<account>:assumed-role/<role>/<session>` (Tessera's canonical session ARN).
    pub fn assumed_role_arn(&self) -> String {
        format!(
            "acs:ram::{}:assumed-role/{}/{}",
            self.account, self.role_name, self.session_name
        )
    }

    /// `<role id>:<session name>` (`AssumedRoleUser.AssumedRoleId`).
    pub fn assumed_role_id(&self) -> String {
        format!("{}:{}", self.role_id, self.session_name)
    }

    /// The caller the new session's credentials will authenticate as.
    pub fn caller(&self) -> Caller {
        Caller::RoleSession {
            account: self.account.clone(),
            role_id: self.role_id.clone(),
            role_name: self.role_name.clone(),
            session_name: self.session_name.clone(),
            issued_at: self.issued_at,
            source_identity: self.source_identity.clone(),
        }
    }
}

/// A refused AssumeRole: the error for the caller, and — when the refusal was an authorization
/// decision — why, for the audit log (never for the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumeRoleError {
    pub error: Error,
    pub authorization: Option<Authorization>,
}

impl AssumeRoleError {
    fn denied(message: &'static str, authorization: Authorization) -> AssumeRoleError {
        AssumeRoleError {
            error: Error::no_permission(message),
            authorization: Some(authorization),
        }
    }
}

impl From<Error> for AssumeRoleError {
    fn from(error: Error) -> Self {
        AssumeRoleError {
            error,
            authorization: None,
        }
    }
}

impl From<AssumeRoleError> for Error {
    fn from(e: AssumeRoleError) -> Self {
        e.error
    }
}

impl fmt::Display for AssumeRoleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for AssumeRoleError {}

/// Decides an AssumeRole (see the module documentation). `caller_permissions` are the caller's
/// identity policies (∩ its session policy when it is a role session); `facts` carry the
/// request time and transport facts.
pub fn assume_role(
    caller: &Caller,
    caller_permissions: &Permissions<'_>,
    role: &RoleFacts<'_>,
    params: &AssumeRoleParams<'_>,
    facts: &RequestFacts<'_>,
) -> Result<AssumeRoleGrant, AssumeRoleError> {
    if caller.is_root() {
        return Err(root_refused());
    }
    names::role_session_name(params.session_name)?;
    let duration_seconds = duration(caller, role, params.duration_seconds)?;
    let external_id = non_empty(params.external_id);
    if let Some(external_id) = external_id {
        validate_external_id(external_id)?;
    }
    let source_identity = source_identity(caller, non_empty(params.source_identity))?;
    let session_policy = match params.policy {
        Some(text) => Some(parse_session_policy(text, &params.policy_limits)?),
        None => None,
    };

    let mut context = caller.context(facts);
    context.remove("sts:ExternalId");
    if let Some(external_id) = external_id {
        context.insert("sts:ExternalId", external_id);
    }
    context.remove("sts:SourceIdentity");
    if let Some(source_identity) = source_identity {
        context.insert("sts:SourceIdentity", source_identity);
    }
    if let Caller::Federated { .. } = caller {
        for (key, _) in params.federated_claims {
            context.remove(key);
        }
        for (key, value) in params.federated_claims {
            context.insert(key, value);
        }
    }
    let arn = role.arn();
    let principal = caller.to_policy_principal();
    let identity_request = Request::new("sts:AssumeRole", &arn, &context);
    let identity = match caller {
        Caller::Service { .. } | Caller::Federated { .. } => None,
        _ => Some(authorize(caller, caller_permissions, &identity_request).decision),
    };
    let trust = role
        .trust
        .decide(&identity_request.with_principal(&principal));
    let decision = identity.unwrap_or(Decision::Allow).and(trust);
    let authorization = Authorization::new(decision, Reason::AssumeRole { identity, trust });
    if !decision.is_allowed() {
        return Err(AssumeRoleError::denied(
            NOT_AUTHORIZED_MESSAGE,
            authorization,
        ));
    }

    let issued_at = Timestamp::from_second(facts.now.as_second()).map_err(|_| Error::internal())?;
    let expires_at = issued_at
        .checked_add(SignedDuration::from_secs(i64::from(duration_seconds)))
        .map_err(|_| Error::internal())?;
    Ok(AssumeRoleGrant {
        account: role.account.clone(),
        role_id: role.id.to_owned(),
        role_name: role.name.to_owned(),
        session_name: params.session_name.to_owned(),
        source_identity: source_identity.map(str::to_owned),
        session_policy,
        duration_seconds,
        issued_at,
        expires_at,
        authorization,
    })
}

/// The answer when `role_arn` names no role. Reporting `EntityNotExist.Role` to anyone would let
/// callers probe other accounts for role names, so only a caller whose own policies would allow
/// `sts:AssumeRole` on that ARN learns that the role does not exist; anyone else gets the same
/// `NoPermission` as for an existing role it may not assume (and root, the root refusal).
pub fn role_not_found(
    caller: &Caller,
    caller_permissions: &Permissions<'_>,
    role_arn: &RoleArn,
    facts: &RequestFacts<'_>,
) -> AssumeRoleError {
    if caller.is_root() {
        return root_refused();
    }
    let context = caller.context(facts);
    let arn = role_arn.to_string();
    let identity = match caller {
        Caller::Service { .. } | Caller::Federated { .. } => None,
        _ => Some(
            authorize(
                caller,
                caller_permissions,
                &Request::new("sts:AssumeRole", &arn, &context),
            )
            .decision,
        ),
    };
    if identity.is_none_or(Decision::is_allowed) {
        Error::not_exist(Entity::Role).into()
    } else {
        AssumeRoleError::denied(
            NOT_AUTHORIZED_MESSAGE,
            Authorization::new(
                Decision::ImplicitDeny,
                Reason::AssumeRole {
                    identity,
                    trust: Decision::ImplicitDeny,
                },
            ),
        )
    }
}

/// Parses a session policy (`Policy`): too long is `InvalidParameter.PolicySize`, anything
/// else wrong is `InvalidParameter.PolicyGrammar` with the parser's explanation (line, column).
pub fn parse_session_policy(text: &str, limits: &Limits) -> Result<Policy, Error> {
    match tessera_policy::parse(text, PolicyKind::Session, limits) {
        Ok(parsed) => Ok(parsed.policy),
        Err(errors) => match errors.code() {
            tessera_policy::ErrorCode::Length(_) => Err(Error::invalid(
                "InvalidParameter.PolicySize",
                format!(
                    "The size of Policy must be smaller than {} characters.",
                    limits.session_chars
                ),
            )),
            tessera_policy::ErrorCode::MalformedPolicyDocument => Err(Error::invalid(
                "InvalidParameter.PolicyGrammar",
                format!("The parameter Policy has not passed grammar check: {errors}"),
            )),
        },
    }
}

/// `ExternalId`: 2–1,224 characters of `[A-Za-z0-9_+=,.@:/-]` → `InvalidParameter.ExternalId`.
pub fn validate_external_id(value: &str) -> Result<(), Error> {
    let ok = (2..=1224).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@:/-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "InvalidParameter.ExternalId",
            "The parameter ExternalId is wrongly formed: 2 to 1224 characters of letters, \
             digits and _+=,.@:/-.",
        ))
    }
}

/// `SourceIdentity`: 2–64 characters of `[A-Za-z0-9_+=,.@-]` → `InvalidParameter.SourceIdentity`.
pub fn validate_source_identity(value: &str) -> Result<(), Error> {
    let ok = (2..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "InvalidParameter.SourceIdentity",
            "The parameter SourceIdentity is wrongly formed: 2 to 64 characters of letters, \
             digits and _+=,.@-.",
        ))
    }
}

fn root_refused() -> AssumeRoleError {
    AssumeRoleError::denied(
        ROOT_MESSAGE,
        Authorization::new(Decision::ImplicitDeny, Reason::RootCannotAssumeRole),
    )
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty())
}

/// The session's duration: the request's or the default, within 900 ..= the role's maximum
/// (3,600 when chaining).
fn duration(caller: &Caller, role: &RoleFacts<'_>, requested: Option<u32>) -> Result<u32, Error> {
    let role_max = role.max_session_duration.clamp(3600, 43200);
    let chained = caller.is_role_session();
    let max = if chained {
        role_max.min(CHAINED_MAX_DURATION_SECONDS)
    } else {
        role_max
    };
    let seconds = requested.unwrap_or(DEFAULT_DURATION_SECONDS);
    if (MIN_DURATION_SECONDS..=max).contains(&seconds) {
        return Ok(seconds);
    }
    let why = if chained && seconds <= role_max && seconds >= MIN_DURATION_SECONDS {
        " (a role session may start sessions of at most 3600 seconds)"
    } else {
        ""
    };
    Err(Error::invalid(
        "InvalidParameter.DurationSeconds",
        format!(
            "The Min/Max value of DurationSeconds is {MIN_DURATION_SECONDS}/{max} seconds{why}."
        ),
    ))
}

/// The new session's source identity: a chaining caller's own is inherited and may not change.
fn source_identity<'a>(
    caller: &'a Caller,
    requested: Option<&'a str>,
) -> Result<Option<&'a str>, Error> {
    if let Some(requested) = requested {
        validate_source_identity(requested)?;
    }
    let inherited = match caller {
        Caller::RoleSession {
            source_identity, ..
        } => source_identity.as_deref(),
        _ => None,
    };
    match (inherited, requested) {
        (Some(inherited), Some(requested)) if inherited != requested => Err(Error::invalid(
            "InvalidParameter.SourceIdentity",
            "The parameter SourceIdentity cannot differ from the source identity of the calling \
             session.",
        )),
        (Some(inherited), _) => Ok(Some(inherited)),
        (None, requested) => Ok(requested),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_policy::{PolicyLabel, parse};

    const A: &str = "1111111111111111";
    const B: &str = "2222222222222222";

    const TRUST_A_ROOT: &str = r#"{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":"acs:ram::1111111111111111:root"}}"#;
    const TRUST_B_ROOT: &str = r#"{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":"acs:ram::2222222222222222:root"}}"#;
    const TRUST_B_ALICE: &str = r#"{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":"acs:ram::2222222222222222:user/alice"}}"#;
    const TRUST_A_NOT_MALLORY: &str = r#"{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":"1111111111111111"}},
        {"Effect":"Deny","Action":"sts:AssumeRole","Principal":{"RAM":"acs:ram::1111111111111111:user/mallory"}}"#;
    const TRUST_OPS_ROLE: &str = r#"{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":"acs:ram::1111111111111111:role/ops"}}"#;
    const TRUST_ECS: &str = r#"{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":"ecs.aliyuncs.com"}}"#;
    const TRUST_B_WITH_EXTERNAL_ID: &str = r#"{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":"acs:ram::2222222222222222:root"},
        "Condition":{"StringEquals":{"sts:ExternalId":"partner-7f3a"}}}"#;
    const TRUST_A_WITH_SOURCE_IDENTITY: &str = r#"{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":"acs:ram::1111111111111111:root"},
        "Condition":{"StringLike":{"sts:SourceIdentity":"*@corp.example"}}}"#;
    const NO_TRUST: &str = "";

    const ALLOW_ASSUME_ANY: &str = r#"{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}"#;

    fn acct(a: &str) -> AccountId {
        AccountId::parse(a).unwrap()
    }

    fn compile(statements: &str, kind: PolicyKind) -> PolicySet {
        if statements.is_empty() {
            return PolicySet::empty();
        }
        let doc = format!("{{\"Version\":\"1\",\"Statement\":[{statements}]}}");
        let p = parse(&doc, kind, &Limits::default()).unwrap().policy;
        PolicySet::new([(PolicyLabel::new("p"), &p)])
    }

    fn identity(statements: &str) -> PolicySet {
        compile(statements, PolicyKind::Identity)
    }

    fn user(account: &str, name: &str) -> Caller {
        Caller::User {
            account: acct(account),
            user_id: format!("u-{name}"),
            name: name.into(),
        }
    }

    fn session(account: &str, role: &str, source_identity: Option<&str>) -> Caller {
        Caller::RoleSession {
            account: acct(account),
            role_id: "r-0".into(),
            role_name: role.into(),
            session_name: "chain".into(),
            issued_at: "2026-01-01T00:00:00Z".parse().unwrap(),
            source_identity: source_identity.map(str::to_owned),
        }
    }

    fn facts() -> RequestFacts<'static> {
        RequestFacts::at("2026-02-03T04:05:06.7Z".parse().unwrap())
    }

    fn params(session_name: &str) -> AssumeRoleParams<'_> {
        AssumeRoleParams {
            session_name,
            ..AssumeRoleParams::default()
        }
    }

    struct Role {
        account: AccountId,
        trust: PolicySet,
        max: u32,
    }

    impl Role {
        fn new(account: &str, trust: &str) -> Role {
            Role {
                account: acct(account),
                trust: compile(trust, PolicyKind::Trust),
                max: 3600,
            }
        }

        fn max(mut self, max: u32) -> Role {
            self.max = max;
            self
        }

        fn facts(&self) -> RoleFacts<'_> {
            RoleFacts {
                account: &self.account,
                id: "r-42",
                name: "Deploy",
                trust: &self.trust,
                max_session_duration: self.max,
            }
        }
    }

    fn run(
        caller: &Caller,
        identity: &PolicySet,
        role: &Role,
        params: &AssumeRoleParams<'_>,
    ) -> Result<AssumeRoleGrant, AssumeRoleError> {
        assume_role(
            caller,
            &Permissions::new(identity, None),
            &role.facts(),
            params,
            &facts(),
        )
    }

    fn code(r: &Result<AssumeRoleGrant, AssumeRoleError>) -> &str {
        match r {
            Ok(_) => "OK",
            Err(e) => e.error.code(),
        }
    }

    #[test]
    fn role_arns() {
        let ok = RoleArn::parse("acs:ram::1111111111111111:role/Deploy").unwrap();
        assert_eq!(ok.account.as_str(), A);
        assert_eq!(ok.name, "Deploy");
        assert_eq!(ok.to_string(), "acs:ram::1111111111111111:role/Deploy");
        assert!(RoleArn::parse("acs:ram:*:1111111111111111:role/a.b-c").is_ok());
        for bad in [
            "",
            "Deploy",
            "acs:ram::1111111111111111:user/Deploy",
            "acs:ram::1111111111111111:role/",
            "acs:ram::1111111111111111:role/a_b",
            "acs:ram::1111111111111111:role/a/b",
            "acs:ram::111:role/Deploy",
            "acs:ram::0111111111111111:role/Deploy",
            "acs:ram:cn-hangzhou:1111111111111111:role/Deploy",
            "acs:sts::1111111111111111:role/Deploy",
            "acs:ram::1111111111111111:assumed-role/Deploy/s",
            "ACS:RAM::1111111111111111:role/Deploy",
        ] {
            let err = RoleArn::parse(bad).unwrap_err();
            assert_eq!(err.code(), "InvalidParameter.RoleArn", "{bad}");
            assert_eq!(err.message(), "The parameter RoleArn is wrongly formed.");
            assert_eq!(err.http_status(), 400);
        }
    }

    /// name, caller, its identity policies, the role, the decision, the identity side, the trust side.
    type BothSides<'a> = (
        &'static str,
        Caller,
        &'a PolicySet,
        Role,
        Decision,
        Option<Decision>,
        Decision,
    );

    /// name, caller, the role's MaxSessionDuration, requested, granted seconds or error code.
    type DurationCase<'a> = (
        &'static str,
        &'a Caller,
        u32,
        Option<u32>,
        Result<u32, &'static str>,
    );

    /// Both sides, table-driven: caller × identity policy × trust policy → the combined
    /// decision and each side's.
    #[test]
    fn both_sides_must_allow() {
        use Decision::*;
        let any = identity(ALLOW_ASSUME_ANY);
        let exact_star_region = identity(
            r#"{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"acs:ram:*:1111111111111111:role/Deploy"}"#,
        );
        let exact_entity_form = identity(
            r#"{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"acs:ram::1111111111111111:role/Deploy"}"#,
        );
        let other_role = identity(
            r#"{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"acs:ram:*:1111111111111111:role/Other"}"#,
        );
        let denied = identity(
            r#"{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"sts:*","Resource":"*"}"#,
        );
        let none = PolicySet::empty();
        let ecs = Caller::Service {
            name: "ecs.aliyuncs.com".into(),
        };

        #[rustfmt::skip]
        let cases: Vec<BothSides<'_>> = vec![
            ("same account", user(A, "bob"), &any, Role::new(A, TRUST_A_ROOT), Allow, Some(Allow), Allow),
            ("exact ARN, * region", user(A, "bob"), &exact_star_region, Role::new(A, TRUST_A_ROOT), Allow, Some(Allow), Allow),
            ("exact ARN, entity form", user(A, "bob"), &exact_entity_form, Role::new(A, TRUST_A_ROOT), Allow, Some(Allow), Allow),
            ("grant names another role", user(A, "bob"), &other_role, Role::new(A, TRUST_A_ROOT), ImplicitDeny, Some(ImplicitDeny), Allow),
            ("no identity grant", user(A, "bob"), &none, Role::new(A, TRUST_A_ROOT), ImplicitDeny, Some(ImplicitDeny), Allow),
            ("identity explicit deny", user(A, "bob"), &denied, Role::new(A, TRUST_A_ROOT), ExplicitDeny, Some(ExplicitDeny), Allow),
            ("missing trust", user(A, "bob"), &any, Role::new(A, NO_TRUST), ImplicitDeny, Some(Allow), ImplicitDeny),
            ("trust names another account", user(A, "bob"), &any, Role::new(A, TRUST_B_ROOT), ImplicitDeny, Some(Allow), ImplicitDeny),
            ("trust explicit deny", user(A, "mallory"), &any, Role::new(A, TRUST_A_NOT_MALLORY), ExplicitDeny, Some(Allow), ExplicitDeny),
            ("trust deny + no grant", user(A, "mallory"), &none, Role::new(A, TRUST_A_NOT_MALLORY), ExplicitDeny, Some(ImplicitDeny), ExplicitDeny),
            ("bare account id in trust", user(A, "carol"), &any, Role::new(A, TRUST_A_NOT_MALLORY), Allow, Some(Allow), Allow),
            ("cross-account role", user(B, "bob"), &any, Role::new(A, TRUST_B_ROOT), Allow, Some(Allow), Allow),
            ("cross-account exact grant", user(B, "bob"), &exact_star_region, Role::new(A, TRUST_B_ROOT), Allow, Some(Allow), Allow),
            ("cross-account, trust not for B", user(B, "bob"), &any, Role::new(A, TRUST_A_ROOT), ImplicitDeny, Some(Allow), ImplicitDeny),
            ("cross-account, no grant in B", user(B, "bob"), &none, Role::new(A, TRUST_B_ROOT), ImplicitDeny, Some(ImplicitDeny), Allow),
            ("cross-account, named user", user(B, "ALICE"), &any, Role::new(A, TRUST_B_ALICE), Allow, Some(Allow), Allow),
            ("cross-account, other user", user(B, "bob"), &any, Role::new(A, TRUST_B_ALICE), ImplicitDeny, Some(Allow), ImplicitDeny),
            ("chaining from trusted role", session(A, "ops", None), &any, Role::new(A, TRUST_OPS_ROLE), Allow, Some(Allow), Allow),
            ("chaining from other role", session(A, "dev", None), &any, Role::new(A, TRUST_OPS_ROLE), ImplicitDeny, Some(Allow), ImplicitDeny),
            ("chaining across accounts", session(B, "ci", None), &any, Role::new(A, TRUST_B_ROOT), Allow, Some(Allow), Allow),
            ("a user is not the role", user(A, "ops"), &any, Role::new(A, TRUST_OPS_ROLE), ImplicitDeny, Some(Allow), ImplicitDeny),
            ("service role", ecs.clone(), &none, Role::new(A, TRUST_ECS), Allow, None, Allow),
            ("service not trusted", ecs.clone(), &any, Role::new(A, TRUST_A_ROOT), ImplicitDeny, None, ImplicitDeny),
            ("users cannot use service trust", user(A, "bob"), &any, Role::new(A, TRUST_ECS), ImplicitDeny, Some(Allow), ImplicitDeny),
        ];
        for (name, caller, identity, role, decision, identity_side, trust_side) in cases {
            let result = run(&caller, identity, &role, &params("s1"));
            let authorization = match &result {
                Ok(grant) => grant.authorization,
                Err(e) => {
                    // The caller never learns which side refused.
                    assert_eq!(e.error.code(), "NoPermission", "{name}");
                    assert_eq!(e.error.message(), NOT_AUTHORIZED_MESSAGE, "{name}");
                    assert_eq!(e.error.http_status(), 403, "{name}");
                    e.authorization.unwrap()
                }
            };
            let expected = Authorization::new(
                decision,
                Reason::AssumeRole {
                    identity: identity_side,
                    trust: trust_side,
                },
            );
            assert_eq!(authorization, expected, "{name}");
            assert_eq!(result.is_ok(), decision == Allow, "{name}");
        }
    }

    /// A session policy of the calling session is part of its permissions: chaining needs it
    /// to allow sts:AssumeRole too.
    #[test]
    fn chaining_respects_the_callers_session_policy() {
        let role_policies = identity(r#"{"Effect":"Allow","Action":"*","Resource":"*"}"#);
        let session_policy = identity(r#"{"Effect":"Allow","Action":"oss:*","Resource":"*"}"#);
        let role = Role::new(A, TRUST_OPS_ROLE);
        let caller = session(A, "ops", None);
        let with = |session: Option<&PolicySet>| {
            assume_role(
                &caller,
                &Permissions::new(&role_policies, session),
                &role.facts(),
                &params("s1"),
                &facts(),
            )
        };
        assert!(with(None).is_ok());
        let err = with(Some(&session_policy)).unwrap_err();
        assert_eq!(
            err.authorization.map(|a| a.reason),
            Some(Reason::AssumeRole {
                identity: Some(Decision::ImplicitDeny),
                trust: Decision::Allow
            })
        );
    }

    #[test]
    fn root_is_refused_before_anything_else() {
        let role = Role::new(A, TRUST_A_ROOT);
        let root = Caller::Root { account: acct(A) };
        let any = identity(ALLOW_ASSUME_ANY);
        // Even with a bad session name, the root refusal comes first.
        let err = run(&root, &any, &role, &params("x")).unwrap_err();
        assert_eq!(err.error.code(), "NoPermission");
        assert_eq!(err.error.message(), ROOT_MESSAGE);
        assert_eq!(
            err.authorization,
            Some(Authorization::new(
                Decision::ImplicitDeny,
                Reason::RootCannotAssumeRole
            ))
        );
        let missing = RoleArn::parse("acs:ram::1111111111111111:role/Nope").unwrap();
        let err = role_not_found(&root, &Permissions::new(&any, None), &missing, &facts());
        assert_eq!(err.error.message(), ROOT_MESSAGE);
    }

    #[test]
    fn external_id_conditions_and_format() {
        let role = Role::new(A, TRUST_B_WITH_EXTERNAL_ID);
        let any = identity(ALLOW_ASSUME_ANY);
        let caller = user(B, "bob");
        let with = |external_id: Option<&str>| {
            run(
                &caller,
                &any,
                &role,
                &AssumeRoleParams {
                    external_id,
                    ..params("s1")
                },
            )
        };
        assert_eq!(code(&with(Some("partner-7f3a"))), "OK");
        assert_eq!(code(&with(Some("partner-other"))), "NoPermission");
        assert_eq!(code(&with(None)), "NoPermission");
        assert_eq!(code(&with(Some(""))), "NoPermission", "empty = absent");
        for bad in ["x", "has space", "ü-nicode", &"a".repeat(1225)] {
            assert_eq!(
                code(&with(Some(bad))),
                "InvalidParameter.ExternalId",
                "{bad:.20}"
            );
        }
        for good in ["ab", "a+b=c,d.e@f:g/h-i_j", &"a".repeat(1224)] {
            assert!(validate_external_id(good).is_ok(), "{good:.20}");
        }
    }

    #[test]
    fn durations() {
        let any = identity(ALLOW_ASSUME_ANY);
        let user_a = user(A, "bob");
        let chained = session(A, "ops", None);
        let trust = r#"{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":"1111111111111111"}}"#;
        #[rustfmt::skip]
        let cases: Vec<DurationCase<'_>> = vec![
            ("default", &user_a, 3600, None, Ok(3600)),
            ("minimum", &user_a, 3600, Some(900), Ok(900)),
            ("below minimum", &user_a, 3600, Some(899), Err("InvalidParameter.DurationSeconds")),
            ("zero", &user_a, 3600, Some(0), Err("InvalidParameter.DurationSeconds")),
            ("role maximum", &user_a, 43200, Some(43200), Ok(43200)),
            ("above role maximum", &user_a, 7200, Some(7201), Err("InvalidParameter.DurationSeconds")),
            ("above default maximum", &user_a, 3600, Some(3601), Err("InvalidParameter.DurationSeconds")),
            ("chained default", &chained, 43200, None, Ok(3600)),
            ("chained at cap", &chained, 43200, Some(3600), Ok(3600)),
            ("chained above cap", &chained, 43200, Some(3601), Err("InvalidParameter.DurationSeconds")),
            ("chained minimum", &chained, 43200, Some(900), Ok(900)),
            ("bad stored maximum is clamped", &user_a, 100, None, Ok(3600)),
        ];
        for (name, caller, max, requested, expected) in cases {
            let role = Role::new(A, trust).max(max);
            let result = run(
                caller,
                &any,
                &role,
                &AssumeRoleParams {
                    duration_seconds: requested,
                    ..params("s1")
                },
            );
            match expected {
                Ok(seconds) => {
                    let grant = result.unwrap();
                    assert_eq!(grant.duration_seconds, seconds, "{name}");
                    assert_eq!(
                        grant.expires_at.as_second() - grant.issued_at.as_second(),
                        i64::from(seconds),
                        "{name}"
                    );
                }
                Err(code) => {
                    let err = result.unwrap_err();
                    assert_eq!(err.error.code(), code, "{name}");
                    assert_eq!(err.authorization, None, "{name}");
                }
            }
        }
        let role = Role::new(A, trust).max(43200);
        let err = run(
            &chained,
            &any,
            &role,
            &AssumeRoleParams {
                duration_seconds: Some(7200),
                ..params("s1")
            },
        )
        .unwrap_err();
        assert!(
            err.error.message().contains("at most 3600"),
            "{}",
            err.error
        );
    }

    #[test]
    fn session_names() {
        let any = identity(ALLOW_ASSUME_ANY);
        let role = Role::new(A, TRUST_A_ROOT);
        let caller = user(A, "bob");
        let long = "a".repeat(65);
        for (name, expected) in [
            ("alice@example.com", "OK"),
            ("a.b-c_d", "OK"),
            ("ab", "OK"),
            ("", "InvalidParameter.RoleSessionName.Length"),
            ("a", "InvalidParameter.RoleSessionName.Length"),
            (long.as_str(), "InvalidParameter.RoleSessionName.Length"),
            ("abc*abc", "InvalidParameter.RoleSessionName.InvalidChars"),
            ("a/b", "InvalidParameter.RoleSessionName.InvalidChars"),
            ("忍者神龟", "InvalidParameter.RoleSessionName.InvalidChars"),
        ] {
            assert_eq!(
                code(&run(&caller, &any, &role, &params(name))),
                expected,
                "{name}"
            );
        }
    }

    #[test]
    fn source_identity_is_checked_inherited_and_fixed() {
        let any = identity(ALLOW_ASSUME_ANY);
        let role = Role::new(A, TRUST_A_WITH_SOURCE_IDENTITY);
        let with = |caller: &Caller, source_identity: Option<&str>| {
            run(
                caller,
                &any,
                &role,
                &AssumeRoleParams {
                    source_identity,
                    ..params("s1")
                },
            )
        };
        let bob = user(A, "bob");
        let grant = with(&bob, Some("bob@corp.example")).unwrap();
        assert_eq!(grant.source_identity.as_deref(), Some("bob@corp.example"));
        assert_eq!(code(&with(&bob, Some("bob@elsewhere"))), "NoPermission");
        assert_eq!(code(&with(&bob, None)), "NoPermission");
        assert_eq!(
            code(&with(&bob, Some("bad identity"))),
            "InvalidParameter.SourceIdentity"
        );
        // A chained session inherits the caller's source identity, which satisfies the trust
        // condition without being repeated, and may not be changed.
        let chained = session(A, "ops", Some("alice@corp.example"));
        let grant = with(&chained, None).unwrap();
        assert_eq!(grant.source_identity.as_deref(), Some("alice@corp.example"));
        assert!(with(&chained, Some("alice@corp.example")).is_ok());
        assert_eq!(
            code(&with(&chained, Some("eve@corp.example"))),
            "InvalidParameter.SourceIdentity"
        );
        assert_eq!(
            grant.caller(),
            Caller::RoleSession {
                account: acct(A),
                role_id: "r-42".into(),
                role_name: "Deploy".into(),
                session_name: "s1".into(),
                issued_at: "2026-02-03T04:05:06Z".parse().unwrap(),
                source_identity: Some("alice@corp.example".into()),
            }
        );
    }

    #[test]
    fn session_policies() {
        let any = identity(ALLOW_ASSUME_ANY);
        let role = Role::new(A, TRUST_A_ROOT);
        let caller = user(A, "bob");
        let with = |policy: &str| {
            run(
                &caller,
                &any,
                &role,
                &AssumeRoleParams {
                    policy: Some(policy),
                    ..params("s1")
                },
            )
        };
        let good = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:Get*","Resource":"*"}]}"#;
        let grant = with(good).unwrap();
        assert_eq!(grant.session_policy.unwrap().statements().len(), 1);
        let err = with(r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:Get*"}]}"#)
            .unwrap_err();
        assert_eq!(err.error.code(), "InvalidParameter.PolicyGrammar");
        assert!(err.error.message().contains("(at "), "{}", err.error);
        assert_eq!(code(&with("{")), "InvalidParameter.PolicyGrammar");
        let huge = format!(
            r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"oss:Get*","Resource":"{}"}}]}}"#,
            "x".repeat(3000)
        );
        assert_eq!(code(&with(&huge)), "InvalidParameter.PolicySize");
    }

    #[test]
    fn the_grant() {
        let any = identity(ALLOW_ASSUME_ANY);
        let role = Role::new(A, TRUST_B_ROOT).max(7200);
        let grant = run(
            &user(B, "bob"),
            &any,
            &role,
            &AssumeRoleParams {
                duration_seconds: Some(7200),
                ..params("alice")
            },
        )
        .unwrap();
        assert_eq!(grant.role_arn(), "acs:ram::1111111111111111:role/Deploy");
        assert_eq!(
            grant.assumed_role_arn(),
            "acs:ram::1111111111111111:assumed-role/Deploy/alice"
        );
        assert_eq!(grant.assumed_role_arn(), grant.caller().arn());
        assert_eq!(grant.assumed_role_id(), "r-42:alice");
        assert_eq!(grant.issued_at.to_string(), "2026-02-03T04:05:06Z");
        assert_eq!(grant.expires_at.to_string(), "2026-02-03T06:05:06Z");
        assert_eq!(grant.source_identity, None);
        assert!(grant.authorization.is_allowed());
        // The error converts to the domain error for the transport.
        let err = run(&user(A, "bob"), &any, &role, &params("alice")).unwrap_err();
        let as_error: Error = err.clone().into();
        assert_eq!(as_error, err.error);
        assert_eq!(
            err.to_string(),
            format!("NoPermission: {NOT_AUTHORIZED_MESSAGE}")
        );
    }

    #[test]
    fn missing_roles_are_revealed_only_to_callers_allowed_to_assume_them() {
        let arn = RoleArn::parse("acs:ram::1111111111111111:role/Ghost").unwrap();
        let exact = identity(
            r#"{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"acs:ram:*:1111111111111111:role/Ghost"}"#,
        );
        let other = identity(
            r#"{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"acs:ram:*:1111111111111111:role/Deploy"}"#,
        );
        let cases = [
            (user(B, "bob"), &exact, "EntityNotExist.Role"),
            (user(A, "bob"), &exact, "EntityNotExist.Role"),
            (user(B, "bob"), &other, "NoPermission"),
            (
                Caller::Service {
                    name: "ecs.aliyuncs.com".into(),
                },
                &other,
                "EntityNotExist.Role",
            ),
        ];
        for (caller, policies, expected) in cases {
            let err = role_not_found(&caller, &Permissions::new(policies, None), &arn, &facts());
            assert_eq!(err.error.code(), expected, "{caller}");
        }
    }

    /// An OIDC exchange: the provider is the principal, its vouched claims are conditions.
    #[test]
    fn federated_callers_are_decided_by_the_trust_policy_and_their_claims() {
        let trust = r#"{"Effect":"Allow","Action":"sts:AssumeRole",
            "Principal":{"Federated":["acs:ram::1111111111111111:oidc-provider/k8s"]},
            "Condition":{"StringEquals":{"oidc:iss":"https://issuer.example","oidc:aud":"sts"},
                         "StringLike":{"oidc:sub":"system:serviceaccount:apps:*"}}}"#;
        let role = Role::new(A, trust);
        let none = PolicySet::empty();
        let provider = |name: &str| Caller::Federated {
            provider: format!("acs:ram::{A}:oidc-provider/{name}"),
        };
        let with = |caller: &Caller, claims: &[(&str, &str)]| {
            run(
                caller,
                &none,
                &role,
                &AssumeRoleParams {
                    federated_claims: claims,
                    ..params("pod-1")
                },
            )
        };
        let good = [
            ("oidc:iss", "https://issuer.example"),
            ("oidc:aud", "other"),
            ("oidc:aud", "sts"),
            ("oidc:sub", "system:serviceaccount:apps:web"),
        ];
        let grant = with(&provider("k8s"), &good).unwrap();
        assert_eq!(
            grant.authorization.reason,
            Reason::AssumeRole {
                identity: None,
                trust: Decision::Allow
            }
        );
        assert_eq!(grant.duration_seconds, 3600);
        assert_eq!(
            code(&with(&provider("K8S"), &good)),
            "OK",
            "names are case-insensitive"
        );
        assert_eq!(code(&with(&provider("other"), &good)), "NoPermission");
        let other_sub = [
            ("oidc:iss", "https://issuer.example"),
            ("oidc:aud", "sts"),
            ("oidc:sub", "system:serviceaccount:kube-system:admin"),
        ];
        assert_eq!(code(&with(&provider("k8s"), &other_sub)), "NoPermission");
        assert_eq!(code(&with(&provider("k8s"), &[])), "NoPermission");
        // Only federated callers carry claims: a user cannot smuggle them in.
        let user_trust = r#"{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":"1111111111111111"},
            "Condition":{"StringEquals":{"oidc:sub":"x"}}}"#;
        let role = Role::new(A, user_trust);
        let result = run(
            &user(A, "bob"),
            &identity(ALLOW_ASSUME_ANY),
            &role,
            &AssumeRoleParams {
                federated_claims: &[("oidc:sub", "x")],
                ..params("s1")
            },
        );
        assert_eq!(code(&result), "NoPermission");
    }
}
