//! Property tests of the policy engine.
//!
//! Random small policies (random effects; Action or NotAction patterns from a small alphabet
//! with wildcards and random letter case; resource globs; a few condition operators, with
//! `IfExists` and set qualifiers, on a few keys) and random requests and contexts check that:
//!
//! (a) the indexed [`PolicySet::decide`] equals a naive reference built from
//!     [`Statement::matches`] over every statement;
//! (b) [`PolicySet::explain`] returns the same decision, and reports exactly the statements that
//!     match with the deciding effect (checked through [`PolicySet::describe`] against the
//!     original statements);
//! (c) a `Deny *` on `*` policy anywhere makes every decision an explicit deny;
//! (d) adding an Allow-only policy never turns an Allow into a deny (nor lifts a deny);
//! (e) a session policy never widens: with a session, the decision is Allow only if identity and
//!     session alone both allow, an explicit deny iff either alone denies explicitly;
//! (f) `parse` never panics, on arbitrary strings and on mutated valid documents.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use tessera_policy::{
    Context, Decision, Effect, Limits, Permissions, Policy, PolicyKind, PolicyLabel, PolicySet,
    Request, StatementRef, parse,
};

// ---------------------------------------------------------------------------------------------
// Alphabets

const ACTION_PATTERNS: &[&str] = &[
    "*",
    "*:*",
    "ecs:*",
    "ecs:DescribeInstances",
    "ecs:Describe*",
    "ecs:Describe?nstances",
    "oss:GetObject",
    "oss:Get*",
    "oss:*Object",
    "*:GetObject",
    "*:Describe*",
    "e?s:*",
    "?ss:Put*",
    "ram:ListUsers",
    "ram:*User*",
    "kms:Get*",
];

const REQUEST_ACTIONS: &[&str] = &[
    "ecs:DescribeInstances",
    "ecs:DescribeImages",
    "ecs:RunInstances",
    "oss:GetObject",
    "oss:PutObject",
    "oss:GetBucketInfo",
    "ram:ListUsers",
    "ram:CreateUser",
    "rds:DescribeDBInstances",
    "kms:GetObject",
    "eds:StopDesktop",
];

const RESOURCE_PATTERNS: &[&str] = &[
    "*",
    "acs:oss:*:*:bucket/*",
    "acs:oss:*:*:bucket/a",
    "acs:oss:*:*:Bucket/*",
    "acs:oss:*:*:bucket/?",
    "acs:ecs:*:123:instance/*",
    "acs:ram:*:123:role/x",
    "acs:*",
];

const REQUEST_RESOURCES: &[&str] = &[
    "acs:oss:*:*:bucket/a",
    "acs:oss:cn-hangzhou:123:bucket/bb",
    "acs:oss:*:*:Bucket/a",
    "acs:ecs:cn-hangzhou:123:instance/i-1",
    "acs:ecs::123:instance/i-2",
    "acs:ram::123:role/x",
    "acs:ram::123:role/X",
];

/// A condition key, the operators that fit it, and the values policies and requests use.
struct Key {
    name: &'static str,
    operators: &'static [&'static str],
    policy_values: &'static [&'static str],
    request_values: &'static [&'static str],
}

const KEYS: &[Key] = &[
    Key {
        name: "k:s",
        operators: &[
            "StringEquals",
            "StringNotEquals",
            "StringEqualsIgnoreCase",
            "StringNotEqualsIgnoreCase",
            "StringLike",
            "StringNotLike",
        ],
        policy_values: &["a", "b", "A", "a*", "?"],
        request_values: &["a", "b", "A", "ab", ""],
    },
    Key {
        name: "k:n",
        operators: &[
            "NumericEquals",
            "NumericNotEquals",
            "NumericLessThan",
            "NumericLessThanEquals",
            "NumericGreaterThan",
            "NumericGreaterThanEquals",
        ],
        policy_values: &["1", "5", "10.5", "-2"],
        request_values: &["0", "5", "5.0", "10.5", "11", "x"],
    },
    Key {
        name: "acs:CurrentTime",
        operators: &[
            "DateEquals",
            "DateNotEquals",
            "DateLessThan",
            "DateLessThanEquals",
            "DateGreaterThan",
            "DateGreaterThanEquals",
        ],
        policy_values: &[
            "2026-01-01T00:00:00Z",
            "2026-06-01",
            "2026-03-01T08:00:00+08:00",
            "1767225600",
        ],
        request_values: &[
            "2025-12-31T23:00:00Z",
            "2026-03-01T00:00:00Z",
            "2026-06-01T00:00:00Z",
            "2026-01-01T08:00:00+08:00",
            "later",
        ],
    },
    Key {
        name: "acs:SecureTransport",
        operators: &["Bool"],
        policy_values: &["true", "false"],
        request_values: &["true", "false", "TRUE", "no"],
    },
    Key {
        name: "acs:SourceIp",
        operators: &["IpAddress", "NotIpAddress"],
        policy_values: &[
            "10.0.0.0/8",
            "192.0.2.1",
            "2001:db8::/32",
            "::ffff:192.0.2.0/120",
        ],
        request_values: &[
            "10.1.2.3",
            "192.0.2.1",
            "2001:db8::5",
            "::ffff:10.0.0.1",
            "junk",
        ],
    },
];

// ---------------------------------------------------------------------------------------------
// Generated documents

/// Flips the ASCII case of the letters of `s` selected by the bits of `seed`.
fn recase(s: &str, seed: u64) -> String {
    s.chars()
        .enumerate()
        .map(|(i, c)| {
            if seed >> (i % 64) & 1 == 1 {
                if c.is_ascii_lowercase() {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            } else {
                c
            }
        })
        .collect()
}

#[derive(Debug, Clone)]
struct GenCondition {
    operator: String,
    key: &'static str,
    values: Vec<String>,
}

fn condition() -> impl Strategy<Value = GenCondition> {
    (
        0..KEYS.len(),
        any::<prop::sample::Index>(),
        0u8..4,
        any::<bool>(),
        prop::collection::vec(any::<prop::sample::Index>(), 1..=3),
        any::<bool>(),
    )
        .prop_map(|(k, op, qualifier, if_exists, values, null_absent)| {
            let key = &KEYS[k];
            if qualifier == 3 {
                // Null: the key must be absent (true) or present (false).
                return GenCondition {
                    operator: "Null".into(),
                    key: key.name,
                    values: vec![null_absent.to_string()],
                };
            }
            let base = key.operators[op.index(key.operators.len())];
            let prefix = match qualifier {
                1 => "ForAnyValue:",
                2 => "ForAllValues:",
                _ => "",
            };
            let suffix = if if_exists { "IfExists" } else { "" };
            GenCondition {
                operator: format!("{prefix}{base}{suffix}"),
                key: key.name,
                values: values
                    .iter()
                    .map(|i| key.policy_values[i.index(key.policy_values.len())].to_owned())
                    .collect(),
            }
        })
}

#[derive(Debug, Clone)]
struct GenStatement {
    deny: bool,
    not_action: bool,
    actions: Vec<String>,
    resources: Vec<&'static str>,
    conditions: Vec<GenCondition>,
    /// Write single-element lists as a bare string.
    scalar: bool,
}

impl GenStatement {
    fn to_json(&self) -> Value {
        let list = |items: Vec<Value>| -> Value {
            if self.scalar && items.len() == 1 {
                items.into_iter().next().unwrap_or(Value::Null)
            } else {
                Value::Array(items)
            }
        };
        let mut s = Map::new();
        s.insert(
            "Effect".into(),
            json!(if self.deny { "Deny" } else { "Allow" }),
        );
        s.insert(
            if self.not_action {
                "NotAction"
            } else {
                "Action"
            }
            .into(),
            list(self.actions.iter().map(|a| json!(a)).collect()),
        );
        s.insert(
            "Resource".into(),
            list(self.resources.iter().map(|r| json!(r)).collect()),
        );
        if !self.conditions.is_empty() {
            let mut block = Map::new();
            for c in &self.conditions {
                let keys = block
                    .entry(c.operator.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(keys) = keys {
                    keys.insert(
                        c.key.into(),
                        list(c.values.iter().map(|v| json!(v)).collect()),
                    );
                }
            }
            s.insert("Condition".into(), Value::Object(block));
        }
        Value::Object(s)
    }
}

fn statement() -> impl Strategy<Value = GenStatement> {
    (
        prop::bool::weighted(0.3),
        prop::bool::weighted(0.15),
        prop::collection::vec((0..ACTION_PATTERNS.len(), any::<u64>()), 1..=3),
        prop::collection::vec(0..RESOURCE_PATTERNS.len(), 1..=2),
        prop::collection::vec(condition(), 0..=2),
        any::<bool>(),
    )
        .prop_map(
            |(deny, not_action, actions, resources, conditions, scalar)| GenStatement {
                deny,
                not_action,
                actions: actions
                    .into_iter()
                    .map(|(i, seed)| recase(ACTION_PATTERNS[i], seed))
                    .collect(),
                resources: resources
                    .into_iter()
                    .map(|i| RESOURCE_PATTERNS[i])
                    .collect(),
                conditions,
                scalar,
            },
        )
}

fn document(statements: &[GenStatement]) -> String {
    let list: Vec<Value> = statements.iter().map(GenStatement::to_json).collect();
    json!({"Version": "1", "Statement": list}).to_string()
}

fn policy_doc() -> impl Strategy<Value = String> {
    prop::collection::vec(statement(), 1..=4).prop_map(|s| document(&s))
}

/// An Allow-only policy document.
fn allow_doc() -> impl Strategy<Value = String> {
    prop::collection::vec(statement(), 1..=3).prop_map(|mut statements| {
        for s in &mut statements {
            s.deny = false;
        }
        document(&statements)
    })
}

#[derive(Debug, Clone)]
struct GenRequest {
    action: String,
    resource: &'static str,
    context: Vec<(&'static str, Vec<&'static str>)>,
}

fn request() -> impl Strategy<Value = GenRequest> {
    (
        0..REQUEST_ACTIONS.len(),
        any::<u64>(),
        0..REQUEST_RESOURCES.len(),
        prop::collection::vec(
            (
                0..KEYS.len(),
                prop::collection::vec(any::<prop::sample::Index>(), 1..=3),
            ),
            0..=4,
        ),
    )
        .prop_map(|(a, seed, r, context)| GenRequest {
            action: recase(REQUEST_ACTIONS[a], seed),
            resource: REQUEST_RESOURCES[r],
            context: context
                .into_iter()
                .map(|(k, values)| {
                    let key = &KEYS[k];
                    let values = values
                        .iter()
                        .map(|i| key.request_values[i.index(key.request_values.len())])
                        .collect();
                    (key.name, values)
                })
                .collect(),
        })
}

impl GenRequest {
    fn context(&self) -> Context {
        let mut context = Context::new();
        for (key, values) in &self.context {
            for v in values {
                context.insert(key, v);
            }
        }
        context
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers

fn must_parse(text: &str, kind: PolicyKind) -> Policy {
    match parse(text, kind, &Limits::default()) {
        Ok(parsed) => parsed.policy,
        Err(e) => panic!("generated document does not parse: {e}\n{text}"),
    }
}

/// Policies labelled `p0`, `p1`, … so a label leads back to its policy.
fn compile(policies: &[Policy]) -> PolicySet {
    PolicySet::new(
        policies
            .iter()
            .enumerate()
            .map(|(i, p)| (PolicyLabel::new(format!("p{i}")), p)),
    )
}

/// Every statement (policy index, statement index) of `policies` that matches with `effect`.
fn matching(policies: &[Policy], request: &Request, effect: Effect) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (p, policy) in policies.iter().enumerate() {
        for (s, statement) in policy.statements().iter().enumerate() {
            if statement.effect() == effect && statement.matches(request) {
                out.push((p, s));
            }
        }
    }
    out
}

/// The naive reference: deny if any Deny matches, else allow if any Allow matches.
fn reference(policies: &[Policy], request: &Request) -> Decision {
    if !matching(policies, request, Effect::Deny).is_empty() {
        Decision::ExplicitDeny
    } else if !matching(policies, request, Effect::Allow).is_empty() {
        Decision::Allow
    } else {
        Decision::ImplicitDeny
    }
}

/// (policy index, statement index) of an explained statement.
fn locate(set: &PolicySet, r: StatementRef) -> (usize, usize, Effect) {
    let described = set.describe(r).expect("explained statements are described");
    let p = described
        .policy
        .name
        .strip_prefix('p')
        .and_then(|n| n.parse().ok())
        .expect("labels are p<index>");
    (p, described.statement, described.effect)
}

// ---------------------------------------------------------------------------------------------
// Properties

proptest! {
    /// (a) and (b): the index agrees with the reference; explain agrees with decide and reports
    /// exactly the matching statements of the deciding effect.
    #[test]
    fn index_matches_reference_and_explain(
        docs in prop::collection::vec(policy_doc(), 1..=3),
        requests in prop::collection::vec(request(), 1..=4),
    ) {
        let policies: Vec<Policy> =
            docs.iter().map(|d| must_parse(d, PolicyKind::Identity)).collect();
        let set = compile(&policies);
        for r in &requests {
            let context = r.context();
            let request = Request::new(&r.action, r.resource, &context);
            let decided = set.decide(&request);
            prop_assert_eq!(decided, reference(&policies, &request), "request {:?}", r);

            let mut out = Vec::new();
            let explained = set.explain(&request, &mut out);
            prop_assert_eq!(explained, decided);
            let mut reported: Vec<(usize, usize)> = Vec::new();
            for &m in &out {
                let (p, s, effect) = locate(&set, m);
                let original = &policies[p].statements()[s];
                prop_assert_eq!(effect, original.effect());
                prop_assert!(original.matches(&request), "reported {p}/{s} does not match");
                reported.push((p, s));
            }
            let expected = match decided {
                Decision::ExplicitDeny => matching(&policies, &request, Effect::Deny),
                Decision::Allow => matching(&policies, &request, Effect::Allow),
                Decision::ImplicitDeny => Vec::new(),
            };
            reported.sort_unstable();
            prop_assert_eq!(reported, expected, "explain must report every deciding statement once");
        }
    }

    /// (c) A Deny of everything, in any position, wins over anything.
    #[test]
    fn deny_all_wins(
        docs in prop::collection::vec(policy_doc(), 0..=3),
        position in any::<prop::sample::Index>(),
        requests in prop::collection::vec(request(), 1..=4),
    ) {
        let deny_all = r#"{"Version":"1","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#;
        let mut policies: Vec<Policy> =
            docs.iter().map(|d| must_parse(d, PolicyKind::Identity)).collect();
        let at = position.index(policies.len() + 1);
        policies.insert(at, must_parse(deny_all, PolicyKind::Identity));
        let set = compile(&policies);
        for r in &requests {
            let context = r.context();
            let request = Request::new(&r.action, r.resource, &context);
            prop_assert_eq!(set.decide(&request), Decision::ExplicitDeny);
            let mut out = Vec::new();
            prop_assert_eq!(set.explain(&request, &mut out), Decision::ExplicitDeny);
            prop_assert!(out.iter().any(|&m| locate(&set, m).0 == at));
        }
    }

    /// (d) Adding an Allow-only policy is monotonic: an Allow stays an Allow, an explicit deny
    /// stays an explicit deny.
    #[test]
    fn adding_allows_never_denies(
        docs in prop::collection::vec(policy_doc(), 0..=3),
        extra in allow_doc(),
        requests in prop::collection::vec(request(), 1..=4),
    ) {
        let mut policies: Vec<Policy> =
            docs.iter().map(|d| must_parse(d, PolicyKind::Identity)).collect();
        let before = compile(&policies);
        policies.push(must_parse(&extra, PolicyKind::Identity));
        let after = compile(&policies);
        for r in &requests {
            let context = r.context();
            let request = Request::new(&r.action, r.resource, &context);
            let (b, a) = (before.decide(&request), after.decide(&request));
            match b {
                Decision::Allow => prop_assert_eq!(a, Decision::Allow),
                Decision::ExplicitDeny => prop_assert_eq!(a, Decision::ExplicitDeny),
                Decision::ImplicitDeny => prop_assert_ne!(a, Decision::ExplicitDeny),
            }
        }
    }

    /// (e) A session policy never widens the identity's permissions, and a deny on either side
    /// wins; `Permissions::explain` agrees with `Permissions::decide`.
    #[test]
    fn session_policy_never_widens(
        identity_docs in prop::collection::vec(policy_doc(), 0..=3),
        session_doc in policy_doc(),
        requests in prop::collection::vec(request(), 1..=4),
    ) {
        let identity: Vec<Policy> =
            identity_docs.iter().map(|d| must_parse(d, PolicyKind::Identity)).collect();
        let identity = compile(&identity);
        let session = compile(&[must_parse(&session_doc, PolicyKind::Session)]);
        let alone = Permissions::new(&identity, None);
        let with_session = Permissions::new(&identity, Some(&session));
        for r in &requests {
            let context = r.context();
            let request = Request::new(&r.action, r.resource, &context);
            let i = identity.decide(&request);
            let s = session.decide(&request);
            prop_assert_eq!(alone.decide(&request), i);
            let combined = with_session.decide(&request);
            prop_assert_eq!(
                combined == Decision::Allow,
                i == Decision::Allow && s == Decision::Allow
            );
            prop_assert_eq!(
                combined == Decision::ExplicitDeny,
                i == Decision::ExplicitDeny || s == Decision::ExplicitDeny
            );
            let mut out = Vec::new();
            prop_assert_eq!(with_session.explain(&request, &mut out), combined);
            prop_assert_eq!(out.is_empty(), combined == Decision::ImplicitDeny);
            for m in out {
                let described = with_session.describe(m).expect("described");
                let want = if combined == Decision::Allow { Effect::Allow } else { Effect::Deny };
                prop_assert_eq!(described.effect, want);
            }
        }
    }

    /// (f) Arbitrary strings never make the parser panic.
    #[test]
    fn parse_never_panics_on_arbitrary_strings(text in any::<String>()) {
        for kind in [PolicyKind::Identity, PolicyKind::Session, PolicyKind::Trust] {
            let _ = parse(&text, kind, &Limits::default());
        }
    }

    /// (f) Nor do JSON-looking strings made of the characters policies are made of.
    #[test]
    fn parse_never_panics_on_json_like_strings(
        text in r#"[\[\]{}":,0-9a-zA-Z*?\\/. \n-]{0,300}"#
    ) {
        for kind in [PolicyKind::Identity, PolicyKind::Session, PolicyKind::Trust] {
            let _ = parse(&text, kind, &Limits::default());
        }
    }

    /// (f) Nor do valid documents with random byte flips, insertions, deletions and
    /// truncations; whatever still parses compiles and decides consistently.
    #[test]
    fn parse_never_panics_on_mutated_documents(
        doc in policy_doc(),
        edits in prop::collection::vec((0u8..4, any::<prop::sample::Index>(), any::<u8>()), 1..=6),
        r in request(),
    ) {
        let mut bytes = doc.into_bytes();
        for (op, at, byte) in edits {
            if bytes.is_empty() {
                break;
            }
            let i = at.index(bytes.len());
            match op {
                0 => bytes[i] ^= byte | 1,
                1 => bytes.insert(i, byte),
                2 => {
                    bytes.remove(i);
                }
                _ => bytes.truncate(i),
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        for kind in [PolicyKind::Identity, PolicyKind::Session, PolicyKind::Trust] {
            if let Ok(parsed) = parse(&text, kind, &Limits::default()) {
                let policies = [parsed.policy];
                let set = compile(&policies);
                let context = r.context();
                let request = Request::new(&r.action, r.resource, &context);
                prop_assert_eq!(set.decide(&request), reference(&policies, &request));
            }
        }
    }
}

/// Deeply nested JSON within the size limit must be rejected, not overflow the stack, even on
/// a thread with a small (2 MiB, the default for spawned threads and tokio workers) stack.
#[test]
fn deep_nesting_is_rejected_without_overflowing_the_stack() {
    let handle = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(|| {
            let limit = Limits::default().identity_chars;
            let arrays = "[".repeat(limit);
            let objects = r#"{"a":"#.repeat(limit / 5);
            // Well-formed JSON, so the validator walks the whole tree too.
            let depth = (limit - 40) / 2;
            let statement = format!(
                r#"{{"Version":"1","Statement":{{"Sid":{}{}}}}}"#,
                "[".repeat(depth),
                "]".repeat(depth)
            );
            for text in [arrays, objects, statement] {
                for kind in [PolicyKind::Identity, PolicyKind::Session, PolicyKind::Trust] {
                    assert!(parse(&text, kind, &Limits::default()).is_err());
                }
            }
        })
        .expect("spawn");
    handle.join().expect("the parser must not panic");
}
