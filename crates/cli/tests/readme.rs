#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The README's quickstart, run as printed: every ```sh block after a
//! `<!-- run by crates/cli/tests/readme.rs -->` line, in one bash script (`set -euo
//! pipefail`), with the built `tessera` on the PATH, against a real server whose data
//! directory is `./tessera-data`, as `tesserad serve` leaves it.

mod common;
mod lab;

use std::process::{Command, Stdio};

use lab::{Backend, Lab};

const MARKER: &str = "<!-- run by crates/cli/tests/readme.rs -->";

/// The marked blocks of the README, in order.
fn quickstart() -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let mut script = String::new();
    let mut rest = readme.as_str();
    while let Some(at) = rest.find(MARKER) {
        let after = rest[at + MARKER.len()..].trim_start();
        let body = after
            .strip_prefix("```sh\n")
            .expect("a ```sh block right after the marker");
        let end = body.find("\n```").expect("the block ends");
        script.push_str(&body[..=end]);
        rest = &body[end..];
    }
    assert!(script.lines().count() > 10, "no quickstart found");
    script
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_quickstart_works_as_printed() {
    let lab = Lab::start(Backend::Sqlite, "cli_readme").await;
    let dir = lab.scratch.path().to_owned();
    std::os::unix::fs::symlink(lab.server.dir.path().join("data"), dir.join("tessera-data"))
        .unwrap();
    let script = format!("set -euo pipefail\n{}", quickstart());
    std::fs::write(dir.join("quickstart.sh"), &script).unwrap();
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_tessera"))
        .parent()
        .unwrap()
        .to_owned();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let home = lab.scratch.home();
    let endpoint = lab.endpoint.clone();
    let output = tokio::task::spawn_blocking(move || {
        let mut command = Command::new("bash");
        for name in common::AMBIENT {
            command.env_remove(name);
        }
        command
            .arg("quickstart.sh")
            .current_dir(&dir)
            .env("PATH", path)
            .env("HOME", home)
            // The one difference from a user's machine: the server's port.
            .env("TESSERA_ENDPOINT", endpoint)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        output.status.success(),
        "the quickstart failed:\n{stdout}\n{stderr}"
    );

    // Every step printed what the README says it does.
    let decisions: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.trim().strip_prefix("\"Decision\": "))
        .collect();
    assert_eq!(
        decisions,
        [
            "\"Allow\",",
            "\"ImplicitDeny\",",
            "\"Allow\",",
            "\"ImplicitDeny\","
        ],
        "{stdout}"
    );
    for line in [
        "\"UserName\": \"alice\"",
        "\"GroupName\": \"oss-readonly-lab-group\"",
        "\ndenied\n",
        "denied by the session policy",
        "assumed-role/photo-reader/alice-cli",
    ] {
        assert!(stdout.contains(line), "{line}: {stdout}");
    }
    let account: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(lab.scratch.path().join("acme.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(account["AccountId"].as_str().unwrap().len(), 16);

    // The revocation reaches the server's caches through its change feed: the last command
    // may have run just before; it fails from then on.
    lab.refused_eventually(
        &["--profile", "session", "sts", "GetCallerIdentity"],
        "InvalidSecurityToken.Revoked",
    )
    .await;
    lab.stop().await;
}
