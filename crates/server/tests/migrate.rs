#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

/// `tesserad migrate` creates and migrates a SQLite database, and is idempotent.
#[test]
fn migrate_creates_and_updates_a_sqlite_database() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    for _ in 0..2 {
        let out = Command::new(env!("CARGO_BIN_EXE_tesserad"))
            .args(["migrate", "--database-url", &url])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(stderr.contains("database is up to date"), "{stderr}");
    }
    assert!(dir.path().join("t.db").exists());
}

#[test]
fn migrate_rejects_an_unknown_database_url() {
    let out = Command::new(env!("CARGO_BIN_EXE_tesserad"))
        .args(["migrate", "--database-url", "mysql://x"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("postgres:// or sqlite://"), "{stderr}");
}
