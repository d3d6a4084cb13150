//! Decides the benchmark request N times, for instruction counts that neighbours on a shared
//! machine cannot disturb (criterion's wall-clock numbers can vary by 50% here):
//!
//! ```sh
//! cargo build --release -p tessera-policy --example decide_loop
//! for n in 0 20000; do valgrind --tool=callgrind --callgrind-out-file=cg.$n \
//!     target/release/examples/decide_loop $n; done
//! # instructions per decision = (total(20000) - total(0)) / 20000
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;

use tessera_policy::{
    Context, Decision, Limits, PolicyKind, PolicyLabel, PolicySet, Request, parse,
};

fn main() {
    let n: usize = std::env::args().nth(1).map_or(1, |a| a.parse().unwrap());
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/data");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    let policies: Vec<_> = paths
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).unwrap();
            let parsed = parse(&text, PolicyKind::Identity, &Limits::default()).unwrap();
            (PolicyLabel::new(path.display().to_string()), parsed.policy)
        })
        .collect();
    let set = PolicySet::new(policies.iter().map(|(label, p)| (label.clone(), p)));
    let context = Context::new()
        .with("acs:SourceIp", "10.20.30.40")
        .with("acs:CurrentTime", "2026-06-15T08:30:00Z")
        .with("acs:SecureTransport", "true")
        .with("acs:ResourceTag/env", "prod")
        .with("acs:ResourceTag/team", "data-platform");
    let request = Request::new(
        "oss:GetObject",
        "acs:oss:cn-hangzhou:1234567890123456:bucket-a/reports/2026/q1.csv",
        &context,
    );
    let mut allowed = 0usize;
    for _ in 0..n {
        if black_box(&set).decide(black_box(&request)) == Decision::Allow {
            allowed += 1;
        }
    }
    println!("{allowed} of {n} allowed");
}
