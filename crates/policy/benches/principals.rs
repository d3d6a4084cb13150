//! One decision each for many distinct principals: how the decision time grows when the
//! compiled policy sets no longer stay in the CPU caches (DESIGN.md §8: Authorize latency flat
//! from 10 to 10,000 accounts).
//!
//! Each principal has its own compiled set of two statements, as `tessera-bench` seeds its
//! tenants (an Allow of `oss:GetObject` under an `IpAddress` condition, a Deny on a prefix),
//! with its account in the resource patterns so that no two sets are alike. Each iteration
//! decides for the next principal in turn, about an object of its own account.
//! `cargo test --benches -p tessera-policy` checks every decision without timing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tessera_policy::{
    Context, Decision, Limits, PolicyKind, PolicyLabel, PolicySet, Request, parse,
};

/// Numbers of principals measured.
const SIZES: [usize; 3] = [10, 1_000, 10_000];

fn account(i: usize) -> String {
    format!("{:016}", 1_000_000_000_000_000 + i)
}

/// The compiled set of principal `i`.
fn principal(i: usize) -> PolicySet {
    let account = account(i);
    let document = format!(
        r#"{{"Version":"1","Statement":[
  {{"Effect":"Allow","Action":"oss:GetObject","Resource":"acs:oss:*:{account}:bucket/*",
   "Condition":{{"IpAddress":{{"acs:SourceIp":["10.0.0.0/8","192.168.0.0/16"]}}}}}},
  {{"Effect":"Deny","Action":"oss:GetObject","Resource":"acs:oss:*:{account}:bucket/private/*"}}]}}"#
    );
    let policy = parse(&document, PolicyKind::Identity, &Limits::default())
        .expect("the document parses")
        .policy;
    PolicySet::new([(PolicyLabel::new("reader"), &policy)])
}

/// Principals and the resource each asks about.
fn population(n: usize) -> Vec<(PolicySet, String)> {
    (0..n)
        .map(|i| {
            let resource = format!("acs:oss:*:{}:bucket/reports/2026.csv", account(i));
            (principal(i), resource)
        })
        .collect()
}

fn context() -> Context {
    Context::new().with("acs:SourceIp", "10.0.0.1")
}

fn bench(c: &mut Criterion) {
    let context = context();
    let mut group = c.benchmark_group("principals");
    for n in SIZES {
        let principals = population(n);
        for (set, resource) in &principals {
            let request = Request::new("oss:GetObject", resource, &context);
            assert_eq!(set.decide(&request), Decision::Allow);
        }
        let mut next = 0;
        group.bench_function(format!("decide/{n}"), |b| {
            b.iter(|| {
                let (set, resource) = &principals[next];
                next = (next + 1) % principals.len();
                let request = Request::new("oss:GetObject", resource, &context);
                black_box(set.decide(black_box(&request)))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
