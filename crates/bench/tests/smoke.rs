//! `tessera-bench --spawn` end to end at a tiny scale: every scenario runs, answers as the
//! seeded policies say (an `authorize` call the policy does not allow counts as an error), and
//! prints its JSON line.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

/// Every scenario, in the order the bench reports them.
const SCENARIOS: &str = "health,health-bearer,caller-identity,authorize,authorize-signed,authorize-arn,authorize-cold,batch-authorize,assume-role,admin-write";

#[test]
fn every_scenario_runs_without_errors() {
    let output = Command::new(env!("CARGO_BIN_EXE_tessera-bench"))
        .args([
            "--spawn",
            "--scenario",
            SCENARIOS,
            "--duration",
            "0.3",
            "--rounds",
            "1",
            "--connections",
            "1",
            "--in-flight",
            "2",
            "--accounts",
            "2",
            "--users",
            "2",
            "--sessions",
            "1",
        ])
        .output()
        .expect("tessera-bench runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "tessera-bench failed: {stderr}");
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
        .collect();
    let names: Vec<&str> = lines
        .iter()
        .map(|l| l["scenario"].as_str().unwrap())
        .collect();
    assert_eq!(names, SCENARIOS.split(',').collect::<Vec<_>>());
    for line in &lines {
        assert_eq!(line["errors"], 0, "{line}\n{stderr}");
        assert!(line["rps"].as_f64().unwrap() > 0.0, "{line}");
        assert!(line["p99_us"].as_u64().unwrap() >= line["p50_us"].as_u64().unwrap());
    }
    let batch = lines
        .iter()
        .find(|l| l["scenario"] == "batch-authorize")
        .unwrap();
    // rps is rounded to a tenth.
    let per_call = batch["decisions_per_s"].as_f64().unwrap() / batch["rps"].as_f64().unwrap();
    assert!(
        (per_call - 100.0).abs() < 0.5,
        "a batch call decides its 100 items: {batch}"
    );
}
