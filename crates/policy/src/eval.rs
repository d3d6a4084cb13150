//! Compiled policy sets and decisions.
//!
//! A [`PolicySet`] flattens the statements of several policies and indexes them by action, once,
//! so that a decision touches only the statements that can match: an exact-action hash lookup
//! (the request action is lower-cased into a stack buffer), per-service lists for patterns like
//! `ecs:Describe*`, and a short scan list for `*`-service patterns and `NotAction`. Deny and
//! Allow statements are indexed separately so a decision checks denies first and stops at the
//! first Allow. Deciding allocates nothing; explaining writes into a caller-owned buffer.

use std::collections::HashMap;
use std::fmt;

use foldhash::fast::RandomState;

use crate::context::Context;
use crate::glob::Arn;
use crate::policy::{Effect, Policy, Statement};
use crate::principal::Principal;

/// The outcome of an authorization decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// A matching Allow and no matching Deny.
    Allow,
    /// At least one matching Deny.
    ExplicitDeny,
    /// Nothing matched (the default).
    ImplicitDeny,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "Allow",
            Decision::ExplicitDeny => "ExplicitDeny",
            Decision::ImplicitDeny => "ImplicitDeny",
        }
    }

    pub fn is_allowed(self) -> bool {
        self == Decision::Allow
    }

    /// Both parties must allow: an explicit deny from either wins, then both must allow.
    /// This combines a role's policies with a session policy, and the two sides of AssumeRole.
    #[must_use]
    pub fn and(self, other: Decision) -> Decision {
        match (self, other) {
            (Decision::ExplicitDeny, _) | (_, Decision::ExplicitDeny) => Decision::ExplicitDeny,
            (Decision::Allow, Decision::Allow) => Decision::Allow,
            _ => Decision::ImplicitDeny,
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What is being asked: may `principal` perform `action` on `resource` in `context`?
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// `<service>:<action>`, matched case-insensitively.
    pub action: &'a str,
    /// The resource ARN, matched case-sensitively.
    pub resource: &'a str,
    /// The caller, for trust policies (`Principal`); identity policies ignore it.
    pub principal: Option<&'a Principal>,
    pub context: &'a Context,
}

impl<'a> Request<'a> {
    pub fn new(action: &'a str, resource: &'a str, context: &'a Context) -> Self {
        Request {
            action,
            resource,
            principal: None,
            context,
        }
    }

    #[must_use]
    pub fn with_principal(mut self, principal: &'a Principal) -> Self {
        self.principal = Some(principal);
        self
    }
}

/// How the caller names a policy in a set, echoed back in explanations.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PolicyLabel {
    pub name: String,
    /// The policy version (`v1`…), when the policy has versions.
    pub version: Option<String>,
}

impl PolicyLabel {
    pub fn new(name: impl Into<String>) -> Self {
        PolicyLabel {
            name: name.into(),
            version: None,
        }
    }

    #[must_use]
    pub fn with_version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
        self
    }
}

/// A statement of a [`PolicySet`] (an index into it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StatementRef(u32);

/// A matched statement, described: which policy, which statement, its Sid and effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatchedStatement<'a> {
    pub policy: &'a PolicyLabel,
    /// Zero-based index of the statement within its policy.
    pub statement: usize,
    pub sid: Option<&'a str>,
    pub effect: Effect,
}

#[derive(Debug, Clone)]
struct Entry {
    policy: u32,
    index: u32,
    statement: Statement,
}

/// Longest action the exact-action index can hold (validated actions are shorter).
const ACTION_BUF: usize = 256;

/// The request action lower-cased once per decision, on the stack, for the index lookups.
struct ActionKey {
    buf: [u8; ACTION_BUF],
    len: usize,
    /// False when the action was longer than the buffer (it then matches no literal).
    complete: bool,
}

impl ActionKey {
    #[inline]
    fn new(action: &str) -> ActionKey {
        let mut buf = [0u8; ACTION_BUF];
        let len = action.len().min(ACTION_BUF);
        for (dst, src) in buf[..len].iter_mut().zip(action.as_bytes()) {
            *dst = src.to_ascii_lowercase();
        }
        ActionKey {
            buf,
            len,
            complete: action.len() <= ACTION_BUF,
        }
    }

    #[inline]
    fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// What a decision computes once from the request: the lower-cased action and the split ARN.
struct Key<'r> {
    action: ActionKey,
    resource: Arn<'r>,
}

impl<'r> Key<'r> {
    #[inline]
    fn new(request: &Request<'r>) -> Key<'r> {
        Key {
            action: ActionKey::new(request.action),
            resource: Arn::new(request.resource),
        }
    }
}

/// Statement ids per effect: `[deny, allow]`.
type ByEffect = [Box<[u32]>; 2];

type Map = HashMap<Box<[u8]>, ByEffect, RandomState>;

fn slot(effect: Effect) -> usize {
    match effect {
        Effect::Deny => 0,
        Effect::Allow => 1,
    }
}

/// The action index of a set. Each key maps to the Deny and the Allow statements it reaches,
/// so a decision hashes the action (and its service) once per set, not once per effect.
#[derive(Debug, Default)]
struct ActionIndex {
    /// Lower-cased literal action → statements listing it.
    exact: Map,
    /// Lower-cased service code → statements with a wildcard action of that service.
    by_service: Map,
    /// Statements with a wildcard service (`*`, `*:Get*`) or `NotAction`.
    scan: ByEffect,
}

/// The index entries one request reaches in one set, looked up once per decision.
struct Hits<'s> {
    exact: Option<&'s ByEffect>,
    service: Option<&'s ByEffect>,
    scan: &'s ByEffect,
}

/// Statements of one or more policies, compiled for evaluation.
#[derive(Debug)]
pub struct PolicySet {
    labels: Vec<PolicyLabel>,
    entries: Vec<Entry>,
    index: ActionIndex,
    /// Every condition key the statements test (lower-cased, deduplicated), so that a caller
    /// builds only the context keys that can matter ([`PolicySet::uses_key`]).
    condition_keys: Box<[Box<str>]>,
}

impl PolicySet {
    /// Compiles `policies` (for a user: its own and its groups'; for a role: the role's).
    pub fn new<'p>(policies: impl IntoIterator<Item = (PolicyLabel, &'p Policy)>) -> PolicySet {
        let mut labels = Vec::new();
        let mut entries = Vec::new();
        for (label, policy) in policies {
            let policy_id = to_u32(labels.len());
            labels.push(label);
            for (index, statement) in policy.statements.iter().enumerate() {
                entries.push(Entry {
                    policy: policy_id,
                    index: to_u32(index),
                    statement: statement.clone(),
                });
            }
        }
        let index = build_index(&entries);
        let mut condition_keys: Vec<Box<str>> = entries
            .iter()
            .flat_map(|e| e.statement.conditions().iter().map(|c| c.key().into()))
            .collect();
        condition_keys.sort_unstable();
        condition_keys.dedup();
        PolicySet {
            labels,
            entries,
            index,
            condition_keys: condition_keys.into(),
        }
    }

    /// Whether any statement has a condition on `key` (compared case-insensitively). A context
    /// key no statement tests cannot change a decision, so callers may leave it out.
    pub fn uses_key(&self, key: &str) -> bool {
        self.condition_keys
            .iter()
            .any(|k| k.eq_ignore_ascii_case(key))
    }

    /// Whether any statement has a condition at all.
    pub fn has_conditions(&self) -> bool {
        !self.condition_keys.is_empty()
    }

    /// A set with no policies: every request is implicitly denied.
    pub fn empty() -> PolicySet {
        PolicySet::new([])
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn labels(&self) -> &[PolicyLabel] {
        &self.labels
    }

    /// Decides `request`, allocation-free.
    pub fn decide(&self, request: &Request) -> Decision {
        let key = Key::new(request);
        let hits = self.hits(&key);
        if self.any(Effect::Deny, &hits, request, &key) {
            Decision::ExplicitDeny
        } else if self.any(Effect::Allow, &hits, request, &key) {
            Decision::Allow
        } else {
            Decision::ImplicitDeny
        }
    }

    /// Decides `request` and appends the statements that decided it to `out`: every matching
    /// Deny for an explicit deny, every matching Allow for an allow, nothing for an implicit
    /// deny. Appended in policy and statement order.
    pub fn explain(&self, request: &Request, out: &mut Vec<StatementRef>) -> Decision {
        let start = out.len();
        let key = Key::new(request);
        let hits = self.hits(&key);
        self.collect(Effect::Deny, &hits, request, &key, out);
        if out.len() > start {
            out[start..].sort_unstable();
            return Decision::ExplicitDeny;
        }
        self.collect(Effect::Allow, &hits, request, &key, out);
        if out.len() > start {
            out[start..].sort_unstable();
            return Decision::Allow;
        }
        Decision::ImplicitDeny
    }

    /// Describes a statement returned by [`PolicySet::explain`] on this set.
    pub fn describe(&self, r: StatementRef) -> Option<MatchedStatement<'_>> {
        let entry = self.entries.get(r.0 as usize)?;
        Some(MatchedStatement {
            policy: self.labels.get(entry.policy as usize)?,
            statement: entry.index as usize,
            sid: entry.statement.sid(),
            effect: entry.statement.effect(),
        })
    }

    /// Looks the request's action and service up in the index.
    #[inline]
    fn hits(&self, key: &Key) -> Hits<'_> {
        let lowered = key.action.bytes();
        let exact = if key.action.complete {
            self.index.exact.get(lowered)
        } else {
            None
        };
        let service = lowered
            .iter()
            .position(|&b| b == b':')
            .and_then(|colon| self.index.by_service.get(&lowered[..colon]));
        Hits {
            exact,
            service,
            scan: &self.index.scan,
        }
    }

    fn any(&self, effect: Effect, hits: &Hits, request: &Request, key: &Key) -> bool {
        let mut found = false;
        self.visit(effect, hits, request, key, |_| {
            found = true;
            false
        });
        found
    }

    fn collect(
        &self,
        effect: Effect,
        hits: &Hits,
        request: &Request,
        key: &Key,
        out: &mut Vec<StatementRef>,
    ) {
        self.visit(effect, hits, request, key, |id| {
            out.push(StatementRef(id));
            true
        });
    }

    /// Calls `f` with every matching statement of `index` until it returns false.
    #[inline]
    fn visit(
        &self,
        effect: Effect,
        hits: &Hits,
        request: &Request,
        key: &Key,
        mut f: impl FnMut(u32) -> bool,
    ) {
        let action = request.action;
        let action_key = &key.action;
        let slot = slot(effect);
        let rest = |id: u32| {
            self.entries.get(id as usize).is_some_and(|e| {
                e.statement.matches_besides_action(
                    &key.resource,
                    request.principal,
                    request.context,
                )
            })
        };
        if let Some(ids) = hits.exact {
            for &id in ids[slot].iter() {
                if rest(id) && !f(id) {
                    return;
                }
            }
        }
        // Statements reached through the wildcard lists skip actions their literal patterns
        // already matched through the exact index, so nothing is visited twice.
        let wild = |id: u32| {
            self.entries
                .get(id as usize)
                .is_some_and(|e| admits_by_wildcard(&e.statement, action, action_key))
        };
        if let Some(ids) = hits.service {
            for &id in ids[slot].iter() {
                if wild(id) && rest(id) && !f(id) {
                    return;
                }
            }
        }
        for &id in hits.scan[slot].iter() {
            if wild(id) && rest(id) && !f(id) {
                return;
            }
        }
    }
}

/// Does `statement` admit `action` other than through one of its literal action patterns?
fn admits_by_wildcard(statement: &Statement, action: &str, key: &ActionKey) -> bool {
    let actions = &statement.actions;
    if actions.negated {
        return actions.admit(action);
    }
    if key.complete {
        let lowered = key.bytes();
        let mut wild = false;
        for glob in actions.patterns.iter() {
            if glob.literal().is_some() {
                if glob.matches_lowered(lowered) {
                    return false;
                }
            } else if !wild {
                wild = glob.matches_lowered(lowered);
            }
        }
        return wild;
    }
    let mut wild = false;
    for glob in actions.patterns.iter() {
        match glob.literal() {
            Some(literal) if action.len() <= ACTION_BUF && literal.eq_ignore_ascii_case(action) => {
                return false;
            }
            Some(_) => {}
            None => wild = wild || glob.matches(action),
        }
    }
    wild
}

fn build_index(entries: &[Entry]) -> ActionIndex {
    type Lists = [Vec<u32>; 2];
    let mut exact: HashMap<Box<[u8]>, Lists, RandomState> = HashMap::default();
    let mut by_service: HashMap<Box<[u8]>, Lists, RandomState> = HashMap::default();
    let mut scan: Lists = Default::default();
    for (id, entry) in entries.iter().enumerate() {
        let statement = &entry.statement;
        let slot = slot(statement.effect);
        let id = to_u32(id);
        if statement.actions.negated {
            scan[slot].push(id);
            continue;
        }
        let mut services: Vec<&str> = Vec::new();
        let mut wild_service = false;
        for glob in statement.actions.patterns.iter() {
            if let Some(literal) = glob.literal() {
                let ids = &mut exact.entry(literal.as_bytes().into()).or_default()[slot];
                if ids.last() != Some(&id) {
                    ids.push(id);
                }
                continue;
            }
            match glob.service_literal() {
                Some(service) if !services.contains(&service) => services.push(service),
                Some(_) => {}
                None => wild_service = true,
            }
        }
        if wild_service {
            scan[slot].push(id);
        } else {
            for service in services {
                by_service.entry(service.as_bytes().into()).or_default()[slot].push(id);
            }
        }
    }
    let freeze_lists = |[deny, allow]: Lists| -> ByEffect { [deny.into(), allow.into()] };
    let freeze = |m: HashMap<Box<[u8]>, Lists, RandomState>| -> Map {
        m.into_iter().map(|(k, v)| (k, freeze_lists(v))).collect()
    };
    ActionIndex {
        exact: freeze(exact),
        by_service: freeze(by_service),
        scan: freeze_lists(scan),
    }
}

fn to_u32(n: usize) -> u32 {
    // Policy sets are bounded by document sizes and quotas, far below 2^32 statements.
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The policies that govern one principal: its identity policies and, for a role session
/// with a session policy, that policy. Both must allow (DESIGN.md §2).
#[derive(Debug, Clone, Copy)]
pub struct Permissions<'a> {
    pub identity: &'a PolicySet,
    pub session: Option<&'a PolicySet>,
}

/// Which set of a [`Permissions`] a matched statement belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    Identity,
    Session,
}

/// A statement that decided a request, as [`Permissions::explain`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Match {
    pub source: Source,
    pub statement: StatementRef,
}

impl<'a> Permissions<'a> {
    pub fn new(identity: &'a PolicySet, session: Option<&'a PolicySet>) -> Self {
        Permissions { identity, session }
    }

    /// Whether a condition of either set tests `key` (see [`PolicySet::uses_key`]).
    pub fn uses_key(&self, key: &str) -> bool {
        self.identity.uses_key(key) || self.session.is_some_and(|s| s.uses_key(key))
    }

    /// Decides `request`, allocation-free.
    pub fn decide(&self, request: &Request) -> Decision {
        let Some(session) = self.session else {
            return self.identity.decide(request);
        };
        let key = Key::new(request);
        let (id_hits, session_hits) = (self.identity.hits(&key), session.hits(&key));
        if self.identity.any(Effect::Deny, &id_hits, request, &key)
            || session.any(Effect::Deny, &session_hits, request, &key)
        {
            return Decision::ExplicitDeny;
        }
        if self.identity.any(Effect::Allow, &id_hits, request, &key)
            && session.any(Effect::Allow, &session_hits, request, &key)
        {
            Decision::Allow
        } else {
            Decision::ImplicitDeny
        }
    }

    /// Decides `request` and appends the deciding statements of both sets to `out` (identity
    /// first): the matching Denies of an explicit deny, the matching Allows of both sets for
    /// an allow, nothing for an implicit deny.
    pub fn explain(&self, request: &Request, out: &mut Vec<Match>) -> Decision {
        let start = out.len();
        let mut refs = Vec::new();
        let identity = self.identity.explain(request, &mut refs);
        let mut matches: Vec<Match> = refs
            .drain(..)
            .map(|statement| Match {
                source: Source::Identity,
                statement,
            })
            .collect();
        let decision = match self.session {
            None => identity,
            Some(session) => {
                let decision = session.explain(request, &mut refs);
                let combined = identity.and(decision);
                // Keep only the statements of the side(s) that produced the combined outcome.
                let keep = |d: Decision| d == combined;
                if !keep(identity) {
                    matches.clear();
                }
                if keep(decision) {
                    matches.extend(refs.drain(..).map(|statement| Match {
                        source: Source::Session,
                        statement,
                    }));
                }
                combined
            }
        };
        if decision != Decision::ImplicitDeny {
            out.extend(matches);
        }
        debug_assert!(decision == Decision::ImplicitDeny || out.len() > start);
        decision
    }

    /// Describes a match returned by [`Permissions::explain`].
    pub fn describe(&self, m: Match) -> Option<MatchedStatement<'a>> {
        match m.source {
            Source::Identity => self.identity.describe(m.statement),
            Source::Session => self.session?.describe(m.statement),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Limits, PolicyKind, parse};

    fn policy(statements: &str) -> Policy {
        let doc = format!("{{\"Version\":\"1\",\"Statement\":[{statements}]}}");
        parse(&doc, PolicyKind::Identity, &Limits::default())
            .unwrap()
            .policy
    }

    fn explain(set: &PolicySet, action: &str, resource: &str) -> (Decision, Vec<(String, usize)>) {
        let ctx = Context::new();
        let mut out = Vec::new();
        let d = set.explain(&Request::new(action, resource, &ctx), &mut out);
        let described = out
            .iter()
            .map(|r| {
                let m = set.describe(*r).unwrap();
                (m.policy.name.clone(), m.statement)
            })
            .collect();
        (d, described)
    }

    #[test]
    fn the_set_knows_which_condition_keys_its_statements_test() {
        let a = policy(
            r#"{"Effect":"Allow","Action":"oss:*","Resource":"*","Condition":{"IpAddress":{"acs:SourceIp":"10.0.0.0/8"},"StringEquals":{"oss:Prefix":"x"}}}"#,
        );
        let b = policy(r#"{"Effect":"Deny","Action":"ram:*","Resource":"*"}"#);
        let set = PolicySet::new([(PolicyLabel::new("a"), &a), (PolicyLabel::new("b"), &b)]);
        assert!(set.has_conditions());
        assert!(set.uses_key("acs:SourceIp"));
        assert!(set.uses_key("ACS:SOURCEIP"));
        assert!(set.uses_key("oss:prefix"));
        assert!(!set.uses_key("acs:CurrentTime"));
        let plain = PolicySet::new([(PolicyLabel::new("b"), &b)]);
        assert!(!plain.has_conditions());
        assert!(!plain.uses_key("acs:SourceIp"));
        let session = PolicySet::new([(PolicyLabel::new("a"), &a)]);
        assert!(Permissions::new(&plain, Some(&session)).uses_key("acs:SourceIp"));
        assert!(!Permissions::new(&plain, None).uses_key("acs:SourceIp"));
    }

    #[test]
    fn a_statement_reached_through_several_indexes_is_reported_once() {
        let p = policy(
            r#"{"Effect":"Allow","Action":["ecs:DescribeInstances","ecs:Describe*","*:Describe*","ECS:describeinstances"],"Resource":"*"}"#,
        );
        let set = PolicySet::new([(PolicyLabel::new("p"), &p)]);
        for action in [
            "ecs:DescribeInstances",
            "ECS:DESCRIBEINSTANCES",
            "ecs:DescribeDisks",
            "rds:DescribeDBInstances",
        ] {
            let (d, m) = explain(&set, action, "acs:ecs:*:*:instance/i-1");
            assert_eq!(d, Decision::Allow, "{action}");
            assert_eq!(m, vec![("p".to_owned(), 0)], "{action}");
        }
        assert_eq!(
            explain(&set, "ecs:RunInstances", "x").0,
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn not_action_and_ordering_across_policies() {
        let a = policy(
            r#"{"Effect":"Allow","NotAction":"ram:*","Resource":"*"},{"Effect":"Allow","Action":"oss:GetObject","Resource":"*"}"#,
        );
        let b =
            policy(r#"{"Sid":"no-delete","Effect":"Deny","Action":"oss:Delete*","Resource":"*"}"#);
        let set = PolicySet::new([
            (PolicyLabel::new("a"), &a),
            (PolicyLabel::new("b").with_version("v2"), &b),
        ]);
        assert_eq!(
            explain(&set, "oss:GetObject", "acs:oss:*:*:b/o"),
            (
                Decision::Allow,
                vec![("a".to_owned(), 0), ("a".to_owned(), 1)]
            )
        );
        assert_eq!(
            explain(&set, "ram:CreateUser", "*").0,
            Decision::ImplicitDeny
        );
        let (d, m) = explain(&set, "oss:DeleteObject", "*");
        assert_eq!((d, m), (Decision::ExplicitDeny, vec![("b".to_owned(), 0)]));
        let ctx = Context::new();
        let mut out = Vec::new();
        set.explain(&Request::new("oss:DeleteObject", "*", &ctx), &mut out);
        let described = set.describe(out[0]).unwrap();
        assert_eq!(described.sid, Some("no-delete"));
        assert_eq!(described.policy.version.as_deref(), Some("v2"));
        assert_eq!(described.effect, Effect::Deny);
    }

    #[test]
    fn over_long_and_odd_actions_never_match_literals_wrongly() {
        let p = policy(
            r#"{"Effect":"Allow","Action":["ecs:Describe*","*"],"Resource":"*"},{"Effect":"Deny","Action":"ecs:x","Resource":"*"}"#,
        );
        let set = PolicySet::new([(PolicyLabel::new("p"), &p)]);
        let long = format!("ecs:{}", "x".repeat(1000));
        assert_eq!(explain(&set, &long, "*").0, Decision::Allow);
        assert_eq!(explain(&set, "", "*").0, Decision::Allow);
        assert_eq!(explain(&set, "no-colon", "*").0, Decision::Allow);
        assert_eq!(explain(&set, "ECS:X", "*").0, Decision::ExplicitDeny);
    }

    #[test]
    fn permissions_intersect_identity_and_session() {
        let identity = policy(r#"{"Effect":"Allow","Action":["oss:*","ecs:*"],"Resource":"*"}"#);
        let session = policy(
            r#"{"Effect":"Allow","Action":["oss:Get*","rds:*"],"Resource":"*"},{"Effect":"Deny","Action":"ecs:Delete*","Resource":"*"}"#,
        );
        let id_set = PolicySet::new([(PolicyLabel::new("role"), &identity)]);
        let s_set = PolicySet::new([(PolicyLabel::new("session"), &session)]);
        let perms = Permissions::new(&id_set, Some(&s_set));
        let ctx = Context::new();
        let cases = [
            (
                "oss:GetObject",
                Decision::Allow,
                vec![Source::Identity, Source::Session],
            ),
            ("oss:PutObject", Decision::ImplicitDeny, vec![]),
            ("rds:CreateDB", Decision::ImplicitDeny, vec![]),
            (
                "ecs:DeleteInstance",
                Decision::ExplicitDeny,
                vec![Source::Session],
            ),
        ];
        for (action, expected, sources) in cases {
            let req = Request::new(action, "*", &ctx);
            assert_eq!(perms.decide(&req), expected, "{action}");
            let mut out = Vec::new();
            assert_eq!(perms.explain(&req, &mut out), expected, "{action}");
            assert_eq!(
                out.iter().map(|m| m.source).collect::<Vec<_>>(),
                sources,
                "{action}"
            );
            for m in out {
                assert!(perms.describe(m).is_some());
            }
        }
        let alone = Permissions::new(&id_set, None);
        assert_eq!(
            alone.decide(&Request::new("oss:PutObject", "*", &ctx)),
            Decision::Allow
        );
        assert_eq!(
            PolicySet::empty().decide(&Request::new("oss:PutObject", "*", &ctx)),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn decision_and_is_the_both_sides_rule() {
        use Decision::*;
        assert_eq!(Allow.and(Allow), Allow);
        assert_eq!(Allow.and(ImplicitDeny), ImplicitDeny);
        assert_eq!(ImplicitDeny.and(Allow), ImplicitDeny);
        assert_eq!(Allow.and(ExplicitDeny), ExplicitDeny);
        assert_eq!(ExplicitDeny.and(ImplicitDeny), ExplicitDeny);
        assert_eq!(ImplicitDeny.and(ImplicitDeny), ImplicitDeny);
    }

    #[test]
    fn trust_policies_match_principals() {
        let doc = r#"{"Version":"1","Statement":[
            {"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":["acs:ram::1111:root","acs:ram::2222:user/alice"]},
             "Condition":{"StringEquals":{"sts:ExternalId":"abc"}}},
            {"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":"ecs.aliyuncs.com"}},
            {"Effect":"Deny","Action":"sts:AssumeRole","Principal":{"RAM":"acs:ram::1111:user/mallory"}}]}"#;
        let trust = parse(doc, PolicyKind::Trust, &Limits::default())
            .unwrap()
            .policy;
        let set = PolicySet::new([(PolicyLabel::new("trust"), &trust)]);
        let with_id = Context::new().with("sts:ExternalId", "abc");
        let without = Context::new();
        let decide = |p: &Principal, ctx: &Context| {
            set.decide(
                &Request::new("sts:AssumeRole", "acs:ram::3333:role/r", ctx).with_principal(p),
            )
        };
        let user = |a: &str, n: &str| Principal::User {
            account: a.into(),
            name: n.into(),
        };
        assert_eq!(decide(&user("1111", "bob"), &with_id), Decision::Allow);
        assert_eq!(
            decide(&user("1111", "bob"), &without),
            Decision::ImplicitDeny
        );
        assert_eq!(decide(&user("2222", "ALICE"), &with_id), Decision::Allow);
        assert_eq!(
            decide(&user("2222", "bob"), &with_id),
            Decision::ImplicitDeny
        );
        assert_eq!(
            decide(&user("1111", "mallory"), &with_id),
            Decision::ExplicitDeny
        );
        let ecs = Principal::Service {
            name: "ecs.aliyuncs.com".into(),
        };
        assert_eq!(decide(&ecs, &without), Decision::Allow);
        // Without a principal, trust statements never match.
        assert_eq!(
            set.decide(&Request::new("sts:AssumeRole", "*", &with_id)),
            Decision::ImplicitDeny
        );
    }
}
