#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! `tesserad check-config`: the effective configuration (secrets redacted) on stdout and exit
//! 0, or the error on stderr and a non-zero exit. Runs the real binary with a clean
//! environment.

use std::path::PathBuf;
use std::process::{Command, Output};

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/tesserad.example.toml")
}

fn check_config(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tesserad"))
        .arg("check-config")
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[test]
fn the_deploy_example_is_accepted_and_printed() {
    let example = example();
    let output = check_config(&["--config", example.to_str().unwrap()], &[]);
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        stdout.starts_with("# tesserad: effective configuration"),
        "{stdout}"
    );
    for line in [
        "listen = \"0.0.0.0:7733\"",
        "data_dir = \"/var/lib/tessera\"",
        "request_timeout_ms = 10000",
        "max_concurrent_requests = 1024",
        "otlp_traces = \"auto\"",
        "[rate_limits]",
        "AssumeRole = 100",
        "[audit]",
        "sample_allowed = 0.0",
        "retention_days = 90",
    ] {
        assert!(
            stdout.lines().any(|l| l == line),
            "no {line:?} in\n{stdout}"
        );
    }
}

/// The chart's default `config` (a block scalar in values.yaml) is a valid configuration.
#[test]
fn the_helm_charts_default_config_is_accepted() {
    let values = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/helm/tessera/values.yaml"),
    )
    .unwrap();
    let block: String = values
        .lines()
        .skip_while(|l| *l != "config: |")
        .skip(1)
        .take_while(|l| l.is_empty() || l.starts_with("  "))
        .map(|l| format!("{}\n", l.strip_prefix("  ").unwrap_or(l)))
        .collect();
    assert!(block.contains("[rate_limits]"), "{block}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tesserad.toml");
    std::fs::write(&path, &block).unwrap();
    let output = check_config(&["--config", path.to_str().unwrap()], &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("log_format = \"json\""));
}

#[test]
fn environment_and_flags_apply_and_secrets_are_redacted() {
    let key = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";
    let example = example();
    let output = check_config(
        &[
            "--config",
            example.to_str().unwrap(),
            "--listen",
            "127.0.0.1:9000",
        ],
        &[
            ("TESSERA_MASTER_KEY", key),
            (
                "TESSERA_DATABASE_URL",
                "postgres://tessera:s3cret@db:5432/tessera",
            ),
            ("TESSERA_OPERATOR_ACCESS_KEY_ID", "LTAIoperator"),
            ("TESSERA_OPERATOR_ACCESS_KEY_SECRET", "operator-secret"),
            ("TESSERA_RATE_LIMITS", "{CreateUser=7}"),
            ("TESSERA_REQUEST_TIMEOUT_MS", "2500"),
        ],
    );
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{}", text(&output.stderr));
    for secret in [key, "s3cret", "operator-secret"] {
        assert!(!stdout.contains(secret), "{secret} in\n{stdout}");
    }
    for line in [
        "listen = \"127.0.0.1:9000\"",
        "database_url = \"postgres://tessera:<redacted>@db:5432/tessera\"",
        "master_key = \"<redacted>\"",
        "operator_access_key_id = \"LTAIoperator\"",
        "operator_access_key_secret = \"<redacted>\"",
        "request_timeout_ms = 2500",
        "AssumeRole = 100",
        "CreateUser = 7",
    ] {
        assert!(
            stdout.lines().any(|l| l == line),
            "no {line:?} in\n{stdout}"
        );
    }
}

#[test]
fn invalid_configurations_fail_with_the_error() {
    let dir = tempfile::tempdir().unwrap();
    type Env<'a> = &'a [(&'a str, &'a str)];
    let cases: [(&str, Env<'_>, &str); 5] = [
        ("lisen = \"0.0.0.0:1\"\n", &[], "lisen"),
        ("[rate_limits]\nAssumeRoles = 5\n", &[], "AssumeRoles"),
        (
            "",
            &[("TESSERA_MAX_CONCURRENT_REQUESTS", "0")],
            "max_concurrent_requests",
        ),
        ("", &[("TESSERA_MASTER_KEY", "c2hvcnQ=")], "master_key"),
        (
            "tls_cert = \"/nonexistent/cert.pem\"\ntls_key = \"/nonexistent/key.pem\"\n",
            &[],
            "TLS",
        ),
    ];
    for (i, (file, env, mentioned)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("{i}.toml"));
        std::fs::write(&path, file).unwrap();
        let output = check_config(&["--config", path.to_str().unwrap()], env);
        let stderr = text(&output.stderr);
        assert!(!output.status.success(), "{file:?} {env:?} was accepted");
        assert!(output.stdout.is_empty(), "{}", text(&output.stdout));
        assert!(
            stderr.starts_with("tesserad: invalid configuration") && stderr.contains(mentioned),
            "{file:?}: {stderr}"
        );
    }
    let output = check_config(&["--config", "/nonexistent/tesserad.toml"], &[]);
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("tesserad.toml"),
        "{}",
        text(&output.stderr)
    );
}
