//! Decision latency of the policy engine against `cedar-policy` on the same principal
//! (DESIGN.md §8: median ≤ 0.3 µs for 10 policies / 50 statements, ≥ 10× faster than Cedar).
//!
//! The principal is ten RAM policy documents in `benches/data/` (50 statements: exact and
//! wildcard actions, resource globs, IpAddress / StringEquals / StringLike / Date* / Bool
//! conditions and one Deny). The Cedar side is generated from the same documents, one Cedar
//! policy per RAM statement, and both engines are checked to agree — on the decision and on
//! the set of statements that decided it — for every request in [`cases`] before anything is
//! timed. `cargo test --benches -p tessera-policy` runs those checks without timing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::hint::black_box;
use std::str::FromStr;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use tessera_policy::{
    Context, Decision, Limits, PolicyKind, PolicyLabel, PolicySet, Request, parse,
};

/// The principal's policies, in attachment order.
const DOCUMENTS: [(&str, &str); 10] = [
    ("ecs-operator", include_str!("data/01-ecs-operator.json")),
    ("rds-readonly", include_str!("data/02-rds-readonly.json")),
    ("log-admin", include_str!("data/03-log-admin.json")),
    (
        "oss-bucket-b-writer",
        include_str!("data/04-oss-bucket-b-writer.json"),
    ),
    ("kms-app-keys", include_str!("data/05-kms-app-keys.json")),
    (
        "ram-self-service",
        include_str!("data/06-ram-self-service.json"),
    ),
    ("oss-shared", include_str!("data/07-oss-shared.json")),
    (
        "bucket-a-readers",
        include_str!("data/08-bucket-a-readers.json"),
    ),
    ("guardrails", include_str!("data/09-guardrails.json")),
    ("misc-tools", include_str!("data/10-misc-tools.json")),
];

const STATEMENTS: usize = 50;

// ---------------------------------------------------------------------------------------------
// Requests

/// One request, described once and encoded for both engines.
#[derive(Debug, Clone)]
struct Case {
    name: &'static str,
    action: &'static str,
    resource: &'static str,
    source_ip: &'static str,
    time: &'static str,
    secure: bool,
    /// `acs:ResourceTag/<key>` values.
    tags: Vec<(&'static str, &'static str)>,
    expect: Decision,
    /// The statements that decide it (`policy/index`): every matching Deny for an explicit
    /// deny, every matching Allow for an allow.
    decided_by: &'static [&'static str],
}

const BUCKET_A_REPORT: &str = "acs:oss:cn-hangzhou:1234567890123456:bucket-a/reports/2026/q1.csv";
const INSTANCE: &str = "acs:ecs:cn-hangzhou:1234567890123456:instance/i-bp1f2k9xq3example";
const DB: &str = "acs:rds:cn-hangzhou:1234567890123456:dbinstance/rm-bp1example";

/// The timed request: `oss:GetObject` on an object of bucket-a, from the office network,
/// over TLS, within the grant's validity window. On the way to the Allow (the wildcard
/// `oss:Get*` statement of the 8th policy, five conditions), the engine must reject the Deny
/// on `oss:*` (resource), two bucket-b statements (resource), an expired contractor grant
/// (IP range) and a finance-only grant (tag pattern).
fn benchmark_case() -> Case {
    Case {
        name: "benchmark: late wildcard Allow after conditions",
        action: "oss:GetObject",
        resource: BUCKET_A_REPORT,
        source_ip: "10.20.30.40",
        time: "2026-06-15T08:30:00Z",
        secure: true,
        tags: vec![("env", "prod"), ("team", "data-platform")],
        expect: Decision::Allow,
        decided_by: &["bucket-a-readers/1"],
    }
}

fn cases() -> Vec<Case> {
    let base = benchmark_case();
    vec![
        base.clone(),
        Case {
            name: "allow: exact action and ecs:Describe* with IpAddress",
            action: "ecs:DescribeInstances",
            resource: INSTANCE,
            decided_by: &["ecs-operator/0", "ecs-operator/2"],
            ..base.clone()
        },
        Case {
            name: "implicit deny: nothing grants ecs:DeleteInstance",
            action: "ecs:DeleteInstance",
            resource: INSTANCE,
            expect: Decision::ImplicitDeny,
            decided_by: &[],
            ..base.clone()
        },
        Case {
            name: "explicit deny: the Deny on bucket-a/secret/* beats the Allow",
            resource: "acs:oss:cn-hangzhou:1234567890123456:bucket-a/secret/db-password.txt",
            expect: Decision::ExplicitDeny,
            decided_by: &["guardrails/0"],
            ..base.clone()
        },
        Case {
            name: "implicit deny: source IP outside every CIDR",
            source_ip: "203.0.113.9",
            expect: Decision::ImplicitDeny,
            decided_by: &[],
            ..base.clone()
        },
        Case {
            name: "implicit deny: after the DateLessThan bound",
            time: "2027-02-01T00:00:00Z",
            expect: Decision::ImplicitDeny,
            decided_by: &[],
            ..base.clone()
        },
        Case {
            name: "implicit deny: before the DateGreaterThan bound",
            time: "2025-12-01T00:00:00Z",
            expect: Decision::ImplicitDeny,
            decided_by: &[],
            ..base.clone()
        },
        Case {
            name: "implicit deny: Bool acs:SecureTransport false",
            secure: false,
            expect: Decision::ImplicitDeny,
            decided_by: &[],
            ..base.clone()
        },
        Case {
            name: "implicit deny: StringEquals tag missing",
            tags: vec![("team", "data-platform")],
            expect: Decision::ImplicitDeny,
            decided_by: &[],
            ..base.clone()
        },
        Case {
            name: "allow: expired contractor grant still valid in 2025 from 172.16/12",
            source_ip: "172.20.1.1",
            time: "2025-12-01T00:00:00Z",
            decided_by: &["oss-shared/1"],
            ..base.clone()
        },
        Case {
            name: "allow: StringLike tag pattern (finance reports)",
            source_ip: "203.0.113.9",
            tags: vec![("team", "finance-emea")],
            decided_by: &["oss-shared/4"],
            ..base.clone()
        },
        Case {
            name: "allow: log:* on a project glob",
            action: "log:GetLogStore",
            resource: "acs:log:cn-hangzhou:1234567890123456:project/app-web/logstore/access",
            decided_by: &["log-admin/0"],
            ..base.clone()
        },
        Case {
            name: "allow: rds:Describe* on a dbinstance",
            action: "rds:DescribeDBInstanceAttribute",
            resource: DB,
            decided_by: &["rds-readonly/0"],
            ..base.clone()
        },
        Case {
            name: "allow: StringLike data-* and Bool",
            action: "rds:ModifyDBInstanceSpec",
            resource: DB,
            decided_by: &["rds-readonly/2"],
            ..base.clone()
        },
        Case {
            name: "implicit deny: StringLike data-* fails",
            action: "rds:ModifyDBInstanceSpec",
            resource: DB,
            tags: vec![("team", "web")],
            expect: Decision::ImplicitDeny,
            decided_by: &[],
            ..base.clone()
        },
        Case {
            name: "allow: two overlapping kms statements",
            action: "kms:ListKeys",
            resource: "acs:kms:cn-hangzhou:1234567890123456:key/*",
            decided_by: &["kms-app-keys/1", "kms-app-keys/3"],
            ..base.clone()
        },
        Case {
            name: "implicit deny: exact action, resource glob fails (other bucket)",
            action: "oss:PutObject",
            resource: "acs:oss:cn-hangzhou:1234567890123456:bucket-c/incoming/x.csv",
            expect: Decision::ImplicitDeny,
            decided_by: &[],
            ..base.clone()
        },
        Case {
            name: "allow: exact action with IpAddress",
            action: "oss:PutObject",
            resource: "acs:oss:cn-hangzhou:1234567890123456:bucket-a/incoming/x.csv",
            decided_by: &["bucket-a-readers/2"],
            ..base
        },
    ]
}

// ---------------------------------------------------------------------------------------------
// Tessera

fn compile_tessera() -> PolicySet {
    let limits = Limits::default();
    let policies: Vec<_> = DOCUMENTS
        .iter()
        .map(|(name, text)| {
            let parsed = parse(black_box(text), PolicyKind::Identity, &limits)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            (PolicyLabel::new(*name), parsed.policy)
        })
        .collect();
    PolicySet::new(policies.iter().map(|(label, p)| (label.clone(), p)))
}

fn tessera_context(case: &Case) -> Context {
    let mut context = Context::new()
        .with("acs:SourceIp", case.source_ip)
        .with("acs:CurrentTime", case.time)
        .with(
            "acs:SecureTransport",
            if case.secure { "true" } else { "false" },
        );
    for (key, value) in &case.tags {
        context.insert(&format!("acs:ResourceTag/{key}"), value);
    }
    context
}

/// Decision and deciding statements (`policy/index`).
fn tessera_decide(set: &PolicySet, case: &Case) -> (Decision, BTreeSet<String>) {
    let context = tessera_context(case);
    let request = Request::new(case.action, case.resource, &context);
    let mut refs = Vec::new();
    let decision = set.explain(&request, &mut refs);
    assert_eq!(
        decision,
        set.decide(&request),
        "{}: explain vs decide",
        case.name
    );
    let matched = refs
        .into_iter()
        .map(|r| {
            let m = set.describe(r).expect("statement of this set");
            format!("{}/{}", m.policy.name, m.statement)
        })
        .collect();
    (decision, matched)
}

// ---------------------------------------------------------------------------------------------
// Cedar: one policy per RAM statement, generated from the same documents.
//
// Encoding: principal `User::"alice"` (every policy is scoped to it, as a RAM principal's
// policies are); action `Action::"<service>:<Name>"`; resource `Resource::"<ARN>"`. Cedar has no
// glob over entity ids, so the context also carries the action and resource strings: statements
// listing only literal actions use the idiomatic scope `action in [Action::"…", …]`, statements
// with a wildcard action test `context.action like "oss:Get*"`, and resource globs are
// `context.resource like "acs:oss:*:*:bucket-a/*"`. Conditions: `acs:SourceIp` is an `ip`
// extension value (`isInRange`), `acs:CurrentTime` a `datetime` extension value, Bool a Cedar
// bool, `acs:ResourceTag/<k>` an optional attribute of the `tags` record (`has` guard, so a
// missing tag is false, not an evaluation error). Differences that the cases avoid: Cedar's
// `like` is case-sensitive and has no `?`, while RAM actions match case-insensitively.

fn json_strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().expect("string array"))
            .collect(),
        other => panic!("expected a string or an array of strings, got {other}"),
    }
}

fn any_of(parts: Vec<String>) -> String {
    if parts.len() == 1 {
        parts.into_iter().next().unwrap_or_default()
    } else {
        format!("({})", parts.join(" || "))
    }
}

fn cedar_string_match(subject: &str, pattern: &str) -> String {
    assert!(
        !pattern.contains(['?', '"', '\\']),
        "pattern not expressible as a Cedar literal: {pattern}"
    );
    if pattern.contains('*') {
        format!("{subject} like \"{pattern}\"")
    } else {
        format!("{subject} == \"{pattern}\"")
    }
}

fn cedar_condition(operator: &str, key: &str, values: &[&str]) -> String {
    let each = |f: &dyn Fn(&str) -> String| any_of(values.iter().map(|v| f(v)).collect());
    if let Some(tag) = key.strip_prefix("acs:ResourceTag/") {
        let attr = format!("context.tags.{tag}");
        let test = match operator {
            "StringEquals" | "StringLike" => each(&|v| cedar_string_match(&attr, v)),
            _ => panic!("unsupported operator on a tag: {operator}"),
        };
        return format!("(context.tags has {tag} && {test})");
    }
    match (operator, key) {
        ("IpAddress", "acs:SourceIp") => {
            each(&|v| format!("context.source_ip.isInRange(ip(\"{v}\"))"))
        }
        ("Bool", "acs:SecureTransport") => each(&|v| format!("context.secure_transport == {v}")),
        ("DateLessThan", "acs:CurrentTime") => {
            each(&|v| format!("context.current_time < datetime(\"{v}\")"))
        }
        ("DateGreaterThan", "acs:CurrentTime") => {
            each(&|v| format!("context.current_time > datetime(\"{v}\")"))
        }
        _ => panic!("no Cedar encoding for {operator} on {key}"),
    }
}

fn cedar_source() -> String {
    let mut out = String::new();
    let mut count = 0;
    for (name, text) in DOCUMENTS {
        let doc: Value = serde_json::from_str(text).expect("valid JSON");
        assert_eq!(doc["Version"], "1");
        let statements = match &doc["Statement"] {
            Value::Array(items) => items.clone(),
            one => vec![one.clone()],
        };
        for (index, st) in statements.iter().enumerate() {
            count += 1;
            let effect = match st["Effect"].as_str() {
                Some("Allow") => "permit",
                Some("Deny") => "forbid",
                other => panic!("effect {other:?}"),
            };
            let mut when = Vec::new();
            let actions = json_strings(&st["Action"]);
            let action_scope = if actions.iter().any(|a| a.contains('*')) {
                when.push(any_of(
                    actions
                        .iter()
                        .map(|a| cedar_string_match("context.action", a))
                        .collect(),
                ));
                "action".to_owned()
            } else if let [one] = actions.as_slice() {
                format!("action == Action::\"{one}\"")
            } else {
                let list: Vec<String> =
                    actions.iter().map(|a| format!("Action::\"{a}\"")).collect();
                format!("action in [{}]", list.join(", "))
            };
            let resources = json_strings(&st["Resource"]);
            if !resources.contains(&"*") {
                when.push(any_of(
                    resources
                        .iter()
                        .map(|r| cedar_string_match("context.resource", r))
                        .collect(),
                ));
            }
            if let Some(block) = st.get("Condition") {
                for (operator, keys) in block.as_object().expect("condition block") {
                    for (key, values) in keys.as_object().expect("condition keys") {
                        when.push(cedar_condition(operator, key, &json_strings(values)));
                    }
                }
            }
            out.push_str(&format!(
                "@id(\"{name}/{index}\")\n{effect} (principal == User::\"alice\", {action_scope}, resource)"
            ));
            if !when.is_empty() {
                out.push_str(&format!("\nwhen {{\n  {}\n}}", when.join("\n  && ")));
            }
            out.push_str(";\n\n");
        }
    }
    assert_eq!(count, STATEMENTS);
    out
}

struct Cedar {
    policies: cedar_policy::PolicySet,
    entities: cedar_policy::Entities,
    authorizer: cedar_policy::Authorizer,
}

impl Cedar {
    fn new() -> Cedar {
        let source = cedar_source();
        let policies = cedar_policy::PolicySet::from_str(&source)
            .unwrap_or_else(|e| panic!("{e:?}\n{source}"));
        assert_eq!(policies.policies().count(), STATEMENTS);
        Cedar {
            policies,
            entities: cedar_policy::Entities::empty(),
            authorizer: cedar_policy::Authorizer::new(),
        }
    }

    fn request(case: &Case) -> cedar_policy::Request {
        let uid = |ty: &str, id: &str| {
            cedar_policy::EntityUid::from_type_name_and_id(
                cedar_policy::EntityTypeName::from_str(ty).expect("type name"),
                cedar_policy::EntityId::new(id),
            )
        };
        let tags: serde_json::Map<String, Value> = case
            .tags
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect();
        let context = cedar_policy::Context::from_json_value(
            json!({
                "action": case.action,
                "resource": case.resource,
                "source_ip": {"__extn": {"fn": "ip", "arg": case.source_ip}},
                "current_time": {"__extn": {"fn": "datetime", "arg": case.time}},
                "secure_transport": case.secure,
                "tags": tags,
            }),
            None,
        )
        .expect("context");
        cedar_policy::Request::new(
            uid("User", "alice"),
            uid("Action", case.action),
            uid("Resource", case.resource),
            context,
            None,
        )
        .expect("request")
    }

    fn decide(&self, case: &Case) -> (cedar_policy::Decision, BTreeSet<String>) {
        let response =
            self.authorizer
                .is_authorized(&Cedar::request(case), &self.policies, &self.entities);
        let errors: Vec<String> = response
            .diagnostics()
            .errors()
            .map(ToString::to_string)
            .collect();
        assert!(errors.is_empty(), "{}: Cedar errors {errors:?}", case.name);
        let matched = response
            .diagnostics()
            .reason()
            .map(|id| {
                self.policies
                    .annotation(id, "id")
                    .expect("@id annotation")
                    .to_owned()
            })
            .collect();
        (response.decision(), matched)
    }
}

/// Both engines must give the expected decision, for the same statements, on every case.
fn check_agreement(set: &PolicySet, cedar: &Cedar) {
    for case in cases() {
        let expected: BTreeSet<String> = case.decided_by.iter().map(|s| (*s).to_owned()).collect();
        let (decision, matched) = tessera_decide(set, &case);
        assert_eq!(decision, case.expect, "tessera: {}", case.name);
        assert_eq!(matched, expected, "tessera statements: {}", case.name);
        let (cedar_decision, cedar_matched) = cedar.decide(&case);
        let cedar_expect = if case.expect == Decision::Allow {
            cedar_policy::Decision::Allow
        } else {
            cedar_policy::Decision::Deny
        };
        assert_eq!(cedar_decision, cedar_expect, "cedar: {}", case.name);
        assert_eq!(cedar_matched, expected, "cedar policies: {}", case.name);
    }
}

// ---------------------------------------------------------------------------------------------
// Benchmarks

fn decision(c: &mut Criterion) {
    let set = compile_tessera();
    let cedar = Cedar::new();
    check_agreement(&set, &cedar);

    let case = benchmark_case();
    let context = tessera_context(&case);
    let request = Request::new(case.action, case.resource, &context);
    let cedar_request = Cedar::request(&case);

    let mut group = c.benchmark_group("decision");
    group.bench_function("tessera", |b| {
        b.iter(|| black_box(&set).decide(black_box(&request)));
    });
    group.bench_function("cedar", |b| {
        b.iter(|| {
            cedar
                .authorizer
                .is_authorized(
                    black_box(&cedar_request),
                    black_box(&cedar.policies),
                    black_box(&cedar.entities),
                )
                .decision()
        });
    });
    group.finish();
}

fn compile(c: &mut Criterion) {
    let mut group = c.benchmark_group("compile");
    group.bench_function("tessera", |b| b.iter(compile_tessera));
    group.finish();
}

criterion_group!(benches, decision, compile);
criterion_main!(benches);
