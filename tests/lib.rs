//! Shared code of Tessera's integration tests.
//!
//! # Decision fixtures
//!
//! `tests/fixtures/decisions/*.json` describe authorization decisions as data (in the spirit of
//! cedar-policy's integration tests), one file per topic, so that the same expectations can be
//! replayed against the policy engine (`tests/decisions.rs`) and against a running server.
//!
//! ```json
//! {
//!   "description": "what the file is about",
//!   "policies": [{"name": "p1", "document": {"Version": "1", "Statement": [...]}}],
//!   "session_policy": null,
//!   "trust_policy": null,
//!   "requests": [{
//!     "description": "what this request shows",
//!     "action": "oss:GetObject",
//!     "resource": "acs:oss:*:*:bucket/key",
//!     "principal": null,
//!     "context": {"acs:SourceIp": "192.0.2.7", "acs:TagKeys": ["env", "team"]},
//!     "decision": "Allow",
//!     "matched": [{"policy": "p1", "statement": 0}]
//!   }]
//! }
//! ```
//!
//! * `policies` are identity policies ([`PolicyKind::Identity`]), evaluated together as one
//!   principal's set (a user's own and its groups' policies, or a role's policies).
//! * `session_policy` ([`PolicyKind::Session`]) is intersected with them: both must allow, a
//!   Deny in either wins. Its statements are reported as policy [`SESSION_POLICY`].
//! * `trust_policy` ([`PolicyKind::Trust`]) is a role's trust policy, reported as policy
//!   [`TRUST_POLICY`]. Without identity policies the trust policy alone decides (the role's side
//!   of `AssumeRole`); with them the fixture models both sides of `AssumeRole`: the caller's
//!   identity policies (`sts:AssumeRole` on the role ARN, the request's `resource`) AND the trust
//!   policy (the request's `principal`), combined with [`Decision::and`].
//! * A `document` is a JSON object serialized to text before parsing, or a JSON string used as
//!   the document text verbatim (for shapes a JSON object cannot express).
//! * `principal` is an ARN: `acs:ram::<acct>:root`, `acs:ram::<acct>:user/<name>`,
//!   `acs:ram::<acct>:assumed-role/<role>/<session>` (or `role/<role>/<session>`, or an
//!   `acs:sts::` prefix), `service:<name>` (`service:ecs.aliyuncs.com`), or an identity provider
//!   `acs:ram::<acct>:saml-provider/<name>` / `oidc-provider/<name>`. See [`parse_principal`].
//! * `context` values are a string or an array of strings (a multi-valued key).
//! * `decision` is `Allow`, `ExplicitDeny` or `ImplicitDeny`; `matched` lists the statements
//!   that decided it (every matching Deny for an explicit deny, every matching Allow of every
//!   party for an allow, nothing for an implicit deny), compared as a multiset; an entry may
//!   add `"sid"` to check the reported Sid too.
//! * `known_bug` (optional) marks a request whose expectation follows the documented semantics
//!   but which the engine currently gets wrong; the main replay skips it and an ignored test
//!   replays it (`cargo test -p tessera-tests -- --ignored`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tessera_policy::{
    Context, Decision, Limits, Permissions, Policy, PolicyKind, PolicyLabel, PolicySet, Principal,
    Request, StatementRef, parse,
};

/// The policy name that fixture `matched` entries use for the session policy.
pub const SESSION_POLICY: &str = "session";
/// The policy name that fixture `matched` entries use for the trust policy.
pub const TRUST_POLICY: &str = "trust";

/// Where the decision fixtures live.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/decisions")
}

/// One fixture file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    pub description: String,
    #[serde(default)]
    pub policies: Vec<NamedPolicy>,
    #[serde(default)]
    pub session_policy: Option<Value>,
    #[serde(default)]
    pub trust_policy: Option<Value>,
    pub requests: Vec<FixtureRequest>,
}

/// An identity policy of a fixture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedPolicy {
    pub name: String,
    pub document: Value,
}

/// One request of a fixture and its expected outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixtureRequest {
    pub description: String,
    pub action: String,
    pub resource: String,
    #[serde(default)]
    pub principal: Option<String>,
    #[serde(default)]
    pub context: BTreeMap<String, ContextValues>,
    pub decision: ExpectedDecision,
    #[serde(default)]
    pub matched: Vec<MatchedRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_bug: Option<String>,
}

/// The value(s) of one context key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ContextValues {
    One(String),
    Many(Vec<String>),
}

impl ContextValues {
    pub fn values(&self) -> &[String] {
        match self {
            ContextValues::One(v) => std::slice::from_ref(v),
            ContextValues::Many(v) => v,
        }
    }
}

/// A decision as fixtures spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ExpectedDecision {
    Allow,
    ExplicitDeny,
    ImplicitDeny,
}

impl From<ExpectedDecision> for Decision {
    fn from(d: ExpectedDecision) -> Decision {
        match d {
            ExpectedDecision::Allow => Decision::Allow,
            ExpectedDecision::ExplicitDeny => Decision::ExplicitDeny,
            ExpectedDecision::ImplicitDeny => Decision::ImplicitDeny,
        }
    }
}

/// A statement that decided a request: policy name and zero-based statement index.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchedRef {
    pub policy: String,
    pub statement: usize,
    /// When given, the Sid the engine must report for the statement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

impl fmt::Display for MatchedRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}]", self.policy, self.statement)?;
        if let Some(sid) = &self.sid {
            write!(f, " (Sid {sid:?})")?;
        }
        Ok(())
    }
}

impl FixtureRequest {
    /// The request context.
    pub fn context(&self) -> Context {
        let mut context = Context::new();
        for (key, values) in &self.context {
            for value in values.values() {
                context.insert(key, value);
            }
        }
        context
    }

    /// The caller, parsed from its ARN.
    pub fn principal(&self) -> Result<Option<Principal>, String> {
        self.principal.as_deref().map(parse_principal).transpose()
    }

    /// A one-line summary for failure messages.
    pub fn summary(&self) -> String {
        let mut s = format!("{} on {}", self.action, self.resource);
        if let Some(p) = &self.principal {
            s.push_str(&format!(" by {p}"));
        }
        if !self.context.is_empty() {
            let ctx: Vec<String> = self
                .context
                .iter()
                .map(|(k, v)| format!("{k}={:?}", v.values()))
                .collect();
            s.push_str(&format!(" with {}", ctx.join(", ")));
        }
        s
    }
}

/// Parses a principal ARN as fixtures write it (see the module docs).
pub fn parse_principal(arn: &str) -> Result<Principal, String> {
    let bad = |why: &str| format!("principal {arn:?}: {why}");
    if let Some(name) = arn.strip_prefix("service:") {
        if name.is_empty() {
            return Err(bad("empty service name"));
        }
        return Ok(Principal::Service {
            name: name.to_owned(),
        });
    }
    let rest = arn
        .strip_prefix("acs:ram:")
        .or_else(|| arn.strip_prefix("acs:sts:"))
        .ok_or_else(|| bad("expected acs:ram:... or service:<name>"))?;
    let rest = rest
        .strip_prefix(':')
        .or_else(|| rest.strip_prefix("*:"))
        .ok_or_else(|| bad("the region field must be empty or *"))?;
    let (account, resource) = rest
        .split_once(':')
        .ok_or_else(|| bad("expected <account>:<resource>"))?;
    if account.is_empty() || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("the account must be numeric"));
    }
    let account = account.to_owned();
    let nonempty = |s: &str| (!s.is_empty() && !s.contains('/')).then(|| s.to_owned());
    if resource == "root" {
        return Ok(Principal::Root { account });
    }
    if let Some(name) = resource.strip_prefix("user/") {
        let name = nonempty(name).ok_or_else(|| bad("bad user name"))?;
        return Ok(Principal::User { account, name });
    }
    if let Some(rest) = resource
        .strip_prefix("assumed-role/")
        .or_else(|| resource.strip_prefix("role/"))
    {
        let (role, session) = rest
            .split_once('/')
            .ok_or_else(|| bad("expected assumed-role/<role>/<session>"))?;
        let role = nonempty(role).ok_or_else(|| bad("bad role name"))?;
        let session = nonempty(session).ok_or_else(|| bad("bad session name"))?;
        return Ok(Principal::RoleSession {
            account,
            role,
            session,
        });
    }
    if resource.starts_with("saml-provider/") || resource.starts_with("oidc-provider/") {
        return Ok(Principal::Federated {
            provider: arn.to_owned(),
        });
    }
    Err(bad(
        "expected root, user/<n>, assumed-role/<r>/<s>, saml-provider/<n> or oidc-provider/<n>",
    ))
}

/// The text of an embedded document: a JSON string is used verbatim, anything else is
/// serialized (compactly, so size limits apply to the content rather than to indentation).
pub fn document_text(document: &Value) -> String {
    match document {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Parses an embedded document as a policy of `kind`, with a message naming the policy.
pub fn parse_document(name: &str, document: &Value, kind: PolicyKind) -> Result<Policy, String> {
    let text = document_text(document);
    parse(&text, kind, &Limits::default())
        .map(|parsed| parsed.policy)
        .map_err(|errors| {
            let all: Vec<String> = errors.iter().map(ToString::to_string).collect();
            format!(
                "policy {name:?} ({kind:?}) does not parse: {}\n  text: {text}",
                all.join("; ")
            )
        })
}

/// What the engine answered for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub decision: Decision,
    /// The deciding statements, sorted.
    pub matched: Vec<MatchedRef>,
}

/// A fixture's policies, parsed and compiled.
#[derive(Debug)]
pub struct CompiledFixture {
    identity: PolicySet,
    has_identity: bool,
    session: Option<PolicySet>,
    trust: Option<PolicySet>,
    /// Statement counts per policy name, to check `matched` references.
    statements: BTreeMap<String, usize>,
}

impl CompiledFixture {
    pub fn new(fixture: &Fixture) -> Result<CompiledFixture, String> {
        let mut statements = BTreeMap::new();
        let mut identity = Vec::new();
        for policy in &fixture.policies {
            if policy.name == SESSION_POLICY || policy.name == TRUST_POLICY {
                return Err(format!("policy name {:?} is reserved", policy.name));
            }
            let parsed = parse_document(&policy.name, &policy.document, PolicyKind::Identity)?;
            if statements
                .insert(policy.name.clone(), parsed.statements().len())
                .is_some()
            {
                return Err(format!("duplicate policy name {:?}", policy.name));
            }
            identity.push((PolicyLabel::new(&policy.name), parsed));
        }
        let mut single = |name: &str, doc: &Option<Value>, kind| -> Result<_, String> {
            let Some(doc) = doc else { return Ok(None) };
            let parsed = parse_document(name, doc, kind)?;
            statements.insert(name.to_owned(), parsed.statements().len());
            Ok(Some(PolicySet::new([(PolicyLabel::new(name), &parsed)])))
        };
        let session = single(SESSION_POLICY, &fixture.session_policy, PolicyKind::Session)?;
        let trust = single(TRUST_POLICY, &fixture.trust_policy, PolicyKind::Trust)?;
        Ok(CompiledFixture {
            identity: PolicySet::new(identity.iter().map(|(l, p)| (l.clone(), p))),
            has_identity: !fixture.policies.is_empty() || fixture.session_policy.is_some(),
            session,
            trust,
            statements,
        })
    }

    /// Evaluates `request` with `decide` and `explain` (which must agree) on every party.
    pub fn evaluate(&self, request: &FixtureRequest) -> Result<Outcome, String> {
        let context = request.context();
        let principal = request.principal()?;
        let mut req = Request::new(&request.action, &request.resource, &context);
        if let Some(p) = &principal {
            req = req.with_principal(p);
        }

        let permissions = Permissions::new(&self.identity, self.session.as_ref());
        let decided = permissions.decide(&req);
        let mut matches = Vec::new();
        let explained = permissions.explain(&req, &mut matches);
        if decided != explained {
            return Err(format!(
                "Permissions::decide says {decided} but Permissions::explain says {explained}"
            ));
        }
        let mut identity_matched = Vec::with_capacity(matches.len());
        for m in matches {
            let described = permissions
                .describe(m)
                .ok_or_else(|| format!("Permissions::describe({m:?}) is None"))?;
            identity_matched.push(MatchedRef {
                policy: described.policy.name.clone(),
                statement: described.statement,
                sid: described.sid.map(str::to_owned),
            });
        }
        if self.session.is_none() {
            let set_decided = self.identity.decide(&req);
            if set_decided != decided {
                return Err(format!(
                    "PolicySet::decide says {set_decided} but Permissions::decide says {decided}"
                ));
            }
        }

        let Some(trust) = &self.trust else {
            return Ok(outcome(decided, identity_matched));
        };
        let trust_decided = trust.decide(&req);
        let mut refs: Vec<StatementRef> = Vec::new();
        let trust_explained = trust.explain(&req, &mut refs);
        if trust_decided != trust_explained {
            return Err(format!(
                "trust PolicySet::decide says {trust_decided} but explain says {trust_explained}"
            ));
        }
        let mut trust_matched = Vec::with_capacity(refs.len());
        for r in refs {
            let described = trust
                .describe(r)
                .ok_or_else(|| format!("PolicySet::describe({r:?}) is None"))?;
            trust_matched.push(MatchedRef {
                policy: described.policy.name.clone(),
                statement: described.statement,
                sid: described.sid.map(str::to_owned),
            });
        }
        if !self.has_identity {
            return Ok(outcome(trust_decided, trust_matched));
        }
        // Both sides of AssumeRole: keep the statements of the side(s) that produced the result.
        let combined = decided.and(trust_decided);
        let mut matched = Vec::new();
        if combined != Decision::ImplicitDeny {
            if decided == combined {
                matched.extend(identity_matched);
            }
            if trust_decided == combined {
                matched.extend(trust_matched);
            }
        }
        Ok(outcome(combined, matched))
    }

    /// Checks that `matched` entries of `request` name existing statements.
    fn check_references(&self, request: &FixtureRequest) -> Result<(), String> {
        for m in &request.matched {
            match self.statements.get(&m.policy) {
                None => return Err(format!("matched entry {m} names an unknown policy")),
                Some(&n) if m.statement >= n => {
                    return Err(format!("matched entry {m}: the policy has {n} statements"));
                }
                Some(_) => {}
            }
        }
        Ok(())
    }
}

fn outcome(decision: Decision, mut matched: Vec<MatchedRef>) -> Outcome {
    matched.sort();
    Outcome { decision, matched }
}

/// Compares an outcome with a request's expectations; the error says what differs.
pub fn check(request: &FixtureRequest, actual: &Outcome) -> Result<(), String> {
    let expected_decision = Decision::from(request.decision);
    let key = |m: &MatchedRef| (m.policy.clone(), m.statement);
    let mut expected: Vec<_> = request.matched.iter().map(key).collect();
    expected.sort();
    let got: Vec<_> = actual.matched.iter().map(key).collect();
    let show = |v: &[(String, usize)]| {
        let items: Vec<String> = v.iter().map(|(p, s)| format!("{p}[{s}]")).collect();
        format!("[{}]", items.join(", "))
    };
    let mut problems = Vec::new();
    if actual.decision != expected_decision {
        problems.push(format!(
            "expected {expected_decision}, got {}",
            actual.decision
        ));
    }
    if expected != got {
        problems.push(format!(
            "expected matched {}, got {}",
            show(&expected),
            show(&got)
        ));
    }
    for m in request.matched.iter().filter(|m| m.sid.is_some()) {
        let reported = actual
            .matched
            .iter()
            .find(|a| a.policy == m.policy && a.statement == m.statement);
        if let Some(a) = reported
            && a.sid != m.sid
        {
            problems.push(format!("{m}: engine reports Sid {:?}", a.sid));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// A request whose outcome differs from its fixture, or that could not be evaluated.
#[derive(Debug, Clone)]
pub struct Failure {
    pub file: String,
    /// Index of the request in the file; `None` when the whole file failed (e.g. a policy does
    /// not parse).
    pub request: Option<usize>,
    pub description: String,
    pub summary: String,
    pub message: String,
    pub known_bug: Option<String>,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(i) = self.request else {
            return write!(f, "{}: {}", self.file, self.message);
        };
        write!(
            f,
            "{} request #{i} {:?}\n    request: {}\n    problem: {}",
            self.file, self.description, self.summary, self.message
        )?;
        if let Some(bug) = &self.known_bug {
            write!(f, "\n    known engine bug: {bug}")?;
        }
        Ok(())
    }
}

/// Which requests of a fixture to replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// Requests without `known_bug`.
    Regular,
    /// Only requests marked `known_bug`.
    KnownBugs,
}

/// Replays the selected requests of one fixture against the engine; returns the failures and
/// the number of requests replayed.
pub fn replay(file: &str, fixture: &Fixture, selection: Selection) -> (Vec<Failure>, usize) {
    let whole = |message: String| Failure {
        file: file.to_owned(),
        request: None,
        description: fixture.description.clone(),
        summary: String::new(),
        message,
        known_bug: None,
    };
    let compiled = match CompiledFixture::new(fixture) {
        Ok(c) => c,
        Err(e) => return (vec![whole(e)], 0),
    };
    let mut failures = Vec::new();
    let mut replayed = 0;
    for (i, request) in fixture.requests.iter().enumerate() {
        let selected = match selection {
            Selection::Regular => request.known_bug.is_none(),
            Selection::KnownBugs => request.known_bug.is_some(),
        };
        if !selected {
            continue;
        }
        replayed += 1;
        let result = compiled
            .check_references(request)
            .and_then(|()| compiled.evaluate(request))
            .and_then(|outcome| check(request, &outcome));
        if let Err(message) = result {
            failures.push(Failure {
                file: file.to_owned(),
                request: Some(i),
                description: request.description.clone(),
                summary: request.summary(),
                message,
                known_bug: request.known_bug.clone(),
            });
        }
    }
    (failures, replayed)
}

/// Authoring mistakes a fixture can contain beyond what serde checks.
pub fn lint(fixture: &Fixture) -> Vec<String> {
    let mut problems = Vec::new();
    if fixture.description.trim().is_empty() {
        problems.push("the fixture has no description".to_owned());
    }
    if fixture.requests.is_empty() {
        problems.push("the fixture has no requests".to_owned());
    }
    let mut seen = BTreeSet::new();
    for (i, r) in fixture.requests.iter().enumerate() {
        if r.description.trim().is_empty() {
            problems.push(format!("request #{i} has no description"));
        }
        if !seen.insert(r.description.as_str()) {
            problems.push(format!(
                "request #{i}: description {:?} is used twice",
                r.description
            ));
        }
        let deny = r.decision == ExpectedDecision::ImplicitDeny;
        if deny && !r.matched.is_empty() {
            problems.push(format!(
                "request #{i}: an ImplicitDeny has no matched statements"
            ));
        }
        if !deny && r.matched.is_empty() {
            problems.push(format!(
                "request #{i}: {:?} needs its matched statements",
                r.decision
            ));
        }
        if let Err(e) = r.principal() {
            problems.push(format!("request #{i}: {e}"));
        }
        if fixture.trust_policy.is_some() && r.principal.is_none() && !deny {
            problems.push(format!(
                "request #{i}: a trust policy cannot allow without a principal"
            ));
        }
    }
    problems
}

/// Loads every `*.json` fixture of `dir`, sorted by file name.
pub fn load_fixtures(dir: &Path) -> Result<Vec<(String, Fixture)>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    let mut out = Vec::with_capacity(paths.len());
    for path in paths {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{name}: {e}"))?;
        let fixture: Fixture =
            serde_json::from_str(&text).map_err(|e| format!("{name}: invalid fixture: {e}"))?;
        out.push((name, fixture));
    }
    Ok(out)
}

/// Every policy document of a fixture as text, with its kind (for seeding fuzz corpora).
pub fn documents(fixture: &Fixture) -> Vec<(PolicyKind, String)> {
    let mut out: Vec<(PolicyKind, String)> = fixture
        .policies
        .iter()
        .map(|p| (PolicyKind::Identity, document_text(&p.document)))
        .collect();
    if let Some(doc) = &fixture.session_policy {
        out.push((PolicyKind::Session, document_text(doc)));
    }
    if let Some(doc) = &fixture.trust_policy {
        out.push((PolicyKind::Trust, document_text(doc)));
    }
    out
}
