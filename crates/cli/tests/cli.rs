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

#[test]
fn help_lists_every_command() {
    let run = tessera(&["--help"]);
    for needle in [
        "ram",
        "sts",
        "operator",
        "authorize",
        "login",
        "configure",
        "ALIBABA_CLOUD_ACCESS_KEY_ID",
        "TESSERA_ENDPOINT",
        "--output",
    ] {
        assert!(run.stdout.contains(needle), "{needle}: {}", run.stdout);
    }
}

#[test]
fn ram_help_lists_the_operations() {
    let run = tessera(&["ram", "--help"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    for needle in [
        "CreateGroup",
        "AttachPolicyToGroup",
        "RevokeRoleSessions",
        "--Name VALUE",
    ] {
        assert!(run.stdout.contains(needle), "{needle}: {}", run.stdout);
    }
    let run = tessera(&["sts", "--help"]);
    assert!(run.stdout.contains("AssumeRole") && run.stdout.contains("GetCallerIdentity"));
}

#[test]
fn an_operations_help_lists_its_parameters() {
    let run = tessera(&["ram", "AttachPolicyToGroup", "--help"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let required = run
        .stdout
        .split("Required parameters:")
        .nth(1)
        .and_then(|rest| rest.split("Optional parameters:").next())
        .unwrap();
    for name in ["--GroupName", "--PolicyName", "--PolicyType"] {
        assert!(required.contains(name), "{name}: {}", run.stdout);
    }
    let run = tessera(&["sts", "AssumeRole", "-h"]);
    let (required, optional) = run.stdout.split_once("Optional parameters:").unwrap();
    assert!(required.contains("--RoleArn") && required.contains("--RoleSessionName"));
    assert!(
        optional.contains("--DurationSeconds  integer"),
        "{}",
        run.stdout
    );
    assert!(optional.contains("--Policy ") && optional.contains("--ExternalId"));
    let run = tessera(&["ram", "ListUsers", "--help"]);
    let (required, optional) = run.stdout.split_once("Optional parameters:").unwrap();
    assert!(required.contains("none"), "{}", run.stdout);
    assert!(optional.contains("--MaxItems") && optional.contains("--Marker"));
}

#[test]
fn ram_usage_errors() {
    let run = tessera(&["ram"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stderr.contains("Usage: tessera ram OPERATION"),
        "{}",
        run.stderr
    );

    let run = tessera(&["ram", "listusers"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    let error = run.error();
    assert_eq!(error["Code"], "InvalidAction.NotFound");
    assert!(
        error["Message"]
            .as_str()
            .unwrap()
            .contains("did you mean ListUsers?")
    );

    let run = tessera(&["ram", "CreateUser", "--UserName"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert_eq!(run.error()["Code"], "InvalidParameter");

    let run = tessera(&["ram", "CreateUser", "--user-name", "alice"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.error()["Message"]
            .as_str()
            .unwrap()
            .contains("unknown option --user-name")
    );
}

#[test]
fn operator_and_authorize_help_show_their_parameters() {
    let run = tessera(&["operator", "CreateAccount", "--help"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(
        run.stdout.contains("--AccountName <NAME>"),
        "{}",
        run.stdout
    );
    let run = tessera(&["operator", "--help"]);
    for needle in [
        "CreateAccount",
        "ListAccounts",
        "SuspendAccount",
        "RotateSigningKey",
        "GrantAuthorize",
    ] {
        assert!(run.stdout.contains(needle), "{needle}: {}", run.stdout);
    }
    let run = tessera(&["authorize", "--help"]);
    for needle in [
        "--action",
        "--resource",
        "--context",
        "--principal-arn",
        "0 allowed, 1 denied",
    ] {
        assert!(run.stdout.contains(needle), "{needle}: {}", run.stdout);
    }
}
