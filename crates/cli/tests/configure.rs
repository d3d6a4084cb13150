#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `tessera configure set|list` and how commands find (or miss) their credentials, without a
//! server.

mod common;

use common::Scratch;
use serde_json::json;

fn config_file(scratch: &Scratch) -> serde_json::Value {
    let text = std::fs::read_to_string(scratch.home().join(".tessera/config.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn set_writes_a_private_file_and_list_never_shows_secrets() {
    let scratch = Scratch::new("configure-set");
    let run = scratch.run(&[
        "configure",
        "set",
        "--profile",
        "dev",
        "--access-key-id",
        "LTAIdevKey123",
        "--access-key-secret",
        "dev-secret-value",
        "--endpoint",
        "http://127.0.0.1:7733",
    ]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        run.json(),
        json!({"Profile": {"Name": "dev", "Mode": "AK", "AccessKeyId": "***123",
            "Endpoint": "http://127.0.0.1:7733", "Current": true}})
    );
    #[cfg(unix)]
    {
        assert_eq!(mode(&scratch.home().join(".tessera/config.json")), 0o600);
        assert_eq!(mode(&scratch.home().join(".tessera")), 0o700);
    }
    let file = config_file(&scratch);
    assert_eq!(file["current"], "dev");
    assert_eq!(file["profiles"][0]["access_key_id"], "LTAIdevKey123");
    assert_eq!(file["profiles"][0]["access_key_secret"], "dev-secret-value");

    // A second profile becomes current; the first keeps its settings.
    let run = scratch.run(&[
        "configure",
        "set",
        "--profile",
        "ops",
        "--access-key-id",
        "LTAIopsKey456",
        "--access-key-secret",
        "ops-secret-value",
    ]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let list = scratch.run(&["configure", "list"]);
    assert_eq!(list.code, Some(0), "{list:?}");
    assert_eq!(
        list.json(),
        json!({"Current": "ops", "Profiles": [
            {"Name": "dev", "Mode": "AK", "AccessKeyId": "***123",
             "Endpoint": "http://127.0.0.1:7733", "Current": false},
            {"Name": "ops", "Mode": "AK", "AccessKeyId": "***456", "Current": true}
        ]})
    );
    for run in [&run, &list] {
        assert!(!run.stdout.contains("secret-value") && !run.stderr.contains("secret-value"));
    }

    // Updating one setting keeps the others; the mode survives too.
    let run = scratch.run(&[
        "configure",
        "set",
        "--profile",
        "dev",
        "--endpoint",
        "http://h:1",
    ]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let file = config_file(&scratch);
    assert_eq!(file["profiles"][0]["endpoint"], "http://h:1");
    assert_eq!(file["profiles"][0]["access_key_secret"], "dev-secret-value");
    #[cfg(unix)]
    assert_eq!(mode(&scratch.home().join(".tessera/config.json")), 0o600);

    let table = scratch.run(&["configure", "list", "--output", "table"]);
    assert_eq!(table.code, Some(0), "{table:?}");
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert!(lines[0].starts_with("AccessKeyId"), "{}", table.stdout);
    assert!(
        lines[2].contains("***123") && lines[2].contains("http://h:1"),
        "{}",
        table.stdout
    );
}

#[test]
fn ram_role_arn_profiles_need_a_role_and_a_session_name() {
    let scratch = Scratch::new("configure-role");
    let base = [
        "configure",
        "set",
        "--profile",
        "reader",
        "--access-key-id",
        "LTAIbase",
        "--access-key-secret",
        "base-secret",
        "--ram-role-arn",
        "acs:ram::1234567890123456:role/reader",
    ];
    let run = scratch.run(&base);
    assert_eq!(run.code, Some(2), "{run:?}");
    let error = run.error();
    assert_eq!(error["Code"], "InvalidConfiguration");
    assert!(
        error["Message"]
            .as_str()
            .unwrap()
            .contains("--role-session-name"),
        "{error}"
    );
    assert_eq!(error["RequestId"], serde_json::Value::Null);
    assert!(!scratch.home().join(".tessera/config.json").exists());

    let mut args = base.to_vec();
    args.extend(["--role-session-name", "cli", "--expired-seconds", "900"]);
    let run = scratch.run(&args);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        run.json()["Profile"],
        json!({"Name": "reader", "Mode": "RamRoleArn", "AccessKeyId": "***ase",
            "RamRoleArn": "acs:ram::1234567890123456:role/reader",
            "RoleSessionName": "cli", "ExpiredSeconds": 900, "Current": true})
    );
}

#[test]
fn credentials_files_of_every_shape_are_read() {
    let scratch = Scratch::new("configure-files");
    scratch
        .write(
            "operator.json",
            r#"{"AccountId": "1", "AccessKeyId": "LTAIop", "AccessKeySecret": "op-secret"}"#,
        )
        .write(
            "account.json",
            r#"{"AccountId": "2", "AccessKey": {"AccessKeyId": "LTAIroot", "AccessKeySecret": "root-secret"}}"#,
        )
        .write(
            "session.json",
            r#"{"Credentials": {"AccessKeyId": "STS.x", "AccessKeySecret": "s",
                "SecurityToken": "tok", "Expiration": "2030-01-01T00:00:00Z"}}"#,
        )
        .write("empty.json", "{}");
    for (profile, file, mode, id) in [
        ("op", "operator.json", "AK", "LTAIop"),
        ("root", "account.json", "AK", "LTAIroot"),
        ("session", "session.json", "StsToken", "STS.x"),
    ] {
        let run = scratch.run(&[
            "configure",
            "set",
            "--profile",
            profile,
            "--credentials-file",
            file,
        ]);
        assert_eq!(run.code, Some(0), "{run:?}");
        assert_eq!(run.json()["Profile"]["Mode"], mode);
        let saved = config_file(&scratch)["profiles"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == profile)
            .cloned()
            .unwrap();
        assert_eq!(saved["access_key_id"], id);
    }
    let saved = config_file(&scratch)["profiles"][2].clone();
    assert_eq!(saved["sts_token"], "tok");
    assert_eq!(saved["sts_expiration"], "2030-01-01T00:00:00Z");

    // From standard input, too.
    let run = scratch.run_env(
        &[
            "configure",
            "set",
            "--profile",
            "piped",
            "--credentials-file",
            "-",
        ],
        &[],
        r#"{"AccessKeyId": "LTAIpiped", "AccessKeySecret": "p"}"#,
    );
    assert_eq!(run.code, Some(0), "{run:?}");

    let run = scratch.run(&["configure", "set", "--credentials-file", "empty.json"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.error()["Message"]
            .as_str()
            .unwrap()
            .contains("no AccessKeyId")
    );
}

#[test]
fn configure_set_takes_keys_from_the_command_line_only() {
    let scratch = Scratch::new("configure-env");
    let run = scratch.run_env(
        &["configure", "set", "--profile", "p"],
        &[
            ("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAIfromenv"),
            ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "env-secret"),
        ],
        "",
    );
    assert_eq!(run.code, Some(2), "{run:?}");
    assert_eq!(run.error()["Code"], "InvalidConfiguration");
}

#[test]
fn commands_without_credentials_fail_with_a_json_error() {
    let scratch = Scratch::new("no-credentials");
    let run = scratch.run(&["ram", "ListUsers"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stdout.is_empty());
    let error = run.error();
    assert_eq!(error["Code"], "MissingCredentials");
    assert_eq!(error["RequestId"], serde_json::Value::Null);

    let run = scratch.run(&["--profile", "nope", "ram", "ListUsers"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert_eq!(run.error()["Code"], "InvalidConfiguration");

    // A key without its secret.
    let run = scratch.run(&["ram", "ListUsers", "--access-key-id", "LTAIx"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert_eq!(run.error()["Code"], "MissingAccessKeySecret");

    // A malformed configuration file is reported, not ignored.
    std::fs::create_dir_all(scratch.home().join(".tessera")).unwrap();
    std::fs::write(scratch.home().join(".tessera/config.json"), "{not json").unwrap();
    let run = scratch.run(&["ram", "ListUsers"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert_eq!(run.error()["Code"], "InvalidConfiguration");
}
