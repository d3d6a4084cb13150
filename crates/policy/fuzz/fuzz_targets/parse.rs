//! Fuzzes the policy parser: `parse` must never panic, whatever the input and the policy kind,
//! and whatever it accepts must compile into a `PolicySet` whose indexed decision agrees with
//! `explain` and with the naive per-statement reference (`Statement::matches`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_policy::{
    Context, Decision, Effect, Limits, PolicyKind, PolicyLabel, PolicySet, Principal, Request,
    detect_kind, parse,
};

/// Fixed requests decided against every document that parses.
const REQUESTS: &[(&str, &str)] = &[
    ("oss:GetObject", "acs:oss:*:*:bucket/key"),
    (
        "ECS:DescribeInstances",
        "acs:ecs:cn-hangzhou:1234567890123456:instance/i-1",
    ),
    ("sts:AssumeRole", "acs:ram::1234567890123456:role/admin"),
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = detect_kind(text);
    let limits = Limits::default();
    let context = Context::new()
        .with("acs:SourceIp", "192.0.2.7")
        .with("acs:SecureTransport", "true")
        .with("acs:CurrentTime", "2026-06-01T12:00:00Z")
        .with("acs:TagKeys", "env")
        .with("acs:TagKeys", "team")
        .with("sts:ExternalId", "abc");
    let principal = Principal::User {
        account: "1234567890123456".into(),
        name: "alice".into(),
    };
    for kind in [PolicyKind::Identity, PolicyKind::Session, PolicyKind::Trust] {
        let Ok(parsed) = parse(text, kind, &limits) else {
            continue;
        };
        let policy = &parsed.policy;
        let set = PolicySet::new([(PolicyLabel::new("fuzz"), policy)]);
        for (action, resource) in REQUESTS {
            let request = Request::new(action, resource, &context).with_principal(&principal);
            let decided = set.decide(&request);
            let mut out = Vec::new();
            let explained = set.explain(&request, &mut out);
            assert_eq!(decided, explained, "decide vs explain");
            let matches = |effect: Effect| {
                policy
                    .statements()
                    .iter()
                    .any(|s| s.effect() == effect && s.matches(&request))
            };
            let naive = if matches(Effect::Deny) {
                Decision::ExplicitDeny
            } else if matches(Effect::Allow) {
                Decision::Allow
            } else {
                Decision::ImplicitDeny
            };
            assert_eq!(decided, naive, "index vs reference");
            for r in out {
                let described = set.describe(r).expect("explained statements are described");
                let statement = &policy.statements()[described.statement];
                assert!(
                    statement.matches(&request),
                    "explained statement does not match"
                );
            }
        }
    }
});
