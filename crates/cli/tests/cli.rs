#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The top-level command line: version, help, usage errors.

mod common;

use common::tessera;

#[test]
fn version_names_the_tool_and_its_version() {
    let run = tessera(&["--version"]);
    assert_eq!(run.code, Some(0));
    assert_eq!(
        run.stdout.trim(),
        format!("tessera {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn help_lists_the_policy_command_and_exit_statuses() {
    let run = tessera(&["--help"]);
    assert_eq!(run.code, Some(0));
    assert!(run.stdout.contains("policy"), "{}", run.stdout);
    assert!(run.stdout.contains("Exit status"), "{}", run.stdout);
}

#[test]
fn policy_help_lists_validate_and_simulate() {
    let run = tessera(&["policy", "--help"]);
    assert_eq!(run.code, Some(0));
    for needle in ["validate", "simulate", "FILE:LINE:COLUMN"] {
        assert!(run.stdout.contains(needle), "{needle}: {}", run.stdout);
    }
}

#[test]
fn simulate_help_documents_the_clock_read() {
    let run = tessera(&["policy", "simulate", "--help"]);
    assert_eq!(run.code, Some(0));
    assert!(run.stdout.contains("acs:CurrentTime"), "{}", run.stdout);
}

#[test]
fn missing_subcommand_is_a_usage_error() {
    let run = tessera(&[]);
    assert_eq!(run.code, Some(2));
    assert!(run.stdout.is_empty());
    assert!(run.stderr.contains("Usage"), "{}", run.stderr);
}

#[test]
fn unknown_subcommand_is_a_usage_error() {
    let run = tessera(&["policy", "frobnicate"]);
    assert_eq!(run.code, Some(2));
    assert!(run.stdout.is_empty());
}
