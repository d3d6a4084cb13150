#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The `tessera` binary against a real server (SQLite and PostgreSQL): the seed lab's aliyun
//! commands with `tessera` in place of `aliyun`, operator commands, Authorize exit codes,
//! errors on standard error, credentials precedence, role profiles and `login`.

mod common;
mod lab;

use std::time::{Duration, Instant};

use common::Run;
use lab::{Backend, Lab};
use serde_json::{Value, json};

macro_rules! both {
    ($scenario:ident, $sqlite:ident, $postgres:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $sqlite() {
            $scenario(Backend::Sqlite).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $postgres() {
            $scenario(Backend::Postgres).await;
        }
    };
}

/// Runs until it succeeds (an effect propagating through the change feed), at most 10 s.
async fn ok_eventually(lab: &Lab, args: &[&str]) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let run = lab.run(args).await;
        if run.code == Some(0) {
            return run.json();
        }
        assert!(Instant::now() < deadline, "still failing: {run:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Asserts a failed remote command: exit status, nothing on standard output, the error
/// object on standard error with `code` and a request id (`None`: nothing was sent).
#[track_caller]
fn assert_error(run: &Run, exit: i32, code: &str) -> Value {
    assert_eq!(run.code, Some(exit), "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
    let error = run.error();
    assert_eq!(error["Code"], code, "{run:?}");
    assert!(error["Message"].as_str().is_some_and(|m| !m.is_empty()));
    let keys: Vec<&String> = error.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["Code", "Message", "RequestId"]);
    error
}

#[track_caller]
fn assert_request_id(value: &Value) {
    let id = value["RequestId"].as_str().unwrap_or_default();
    assert_eq!(id.len(), 36, "{value}");
    assert_eq!(id.matches('-').count(), 4, "{value}");
}

/// Configures profile `operator` from operator.json and creates account `name` with it;
/// profile `name` holds the new root key (made current). Returns the account id.
async fn bootstrap(lab: &Lab, name: &str) -> String {
    let operator_file = lab.operator_file();
    let configured = lab
        .run(&[
            "configure",
            "set",
            "--profile",
            "operator",
            "--credentials-file",
            operator_file.to_str().unwrap(),
        ])
        .await;
    Lab::ok(&configured);
    let created = lab
        .run(&[
            "--profile",
            "operator",
            "operator",
            "CreateAccount",
            "--AccountName",
            name,
        ])
        .await;
    let account = Lab::ok(&created);
    let id = account["AccountId"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 16, "{account}");
    assert!(
        account["AccessKey"]["AccessKeyId"]
            .as_str()
            .unwrap()
            .starts_with("LTAI")
    );
    assert!(
        !account["AccessKey"]["AccessKeySecret"]
            .as_str()
            .unwrap()
            .is_empty()
    );
    let file = format!("{name}.json");
    lab.scratch.write(&file, &created.stdout);
    Lab::ok(
        &lab.run(&[
            "configure",
            "set",
            "--profile",
            name,
            "--credentials-file",
            &file,
        ])
        .await,
    );
    id
}

/// Creates an access key for `user` and configures profile `profile` with it (made current).
async fn user_profile(lab: &Lab, admin: &str, user: &str, profile: &str) {
    let created = lab
        .run(&[
            "--profile",
            admin,
            "ram",
            "CreateAccessKey",
            "--UserName",
            user,
        ])
        .await;
    let key = Lab::ok(&created);
    assert_eq!(key["AccessKey"]["Status"], "Active");
    let file = format!("{profile}.json");
    lab.scratch.write(&file, &created.stdout);
    Lab::ok(
        &lab.run(&[
            "configure",
            "set",
            "--profile",
            profile,
            "--credentials-file",
            &file,
        ])
        .await,
    );
}

fn trust_root(account: &str) -> String {
    json!({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
        "Principal": {"RAM": format!("acs:ram::{account}:root")}}]})
    .to_string()
}

async fn seed_lab(backend: Backend) {
    let lab = Lab::start(backend, "cli_seed_lab").await;
    let a = bootstrap(&lab, "acme").await;

    // The printed root key works: the caller is the new account's root.
    let me = Lab::ok(&lab.run(&["sts", "GetCallerIdentity"]).await);
    assert_eq!(me["IdentityType"], "Account");
    assert_eq!(me["AccountId"], a.as_str());
    assert_eq!(me["Arn"], format!("acs:ram::{a}:root"));
    assert_request_id(&me);

    // The seed lab, as the aliyun CLI would run it.
    let user = Lab::ok(&lab.run(&["ram", "CreateUser", "--UserName", "alice"]).await);
    assert_eq!(user["User"]["UserName"], "alice");
    assert!(
        user["User"]["UserId"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );
    let group = Lab::ok(
        &lab.run(&[
            "ram",
            "CreateGroup",
            "--GroupName",
            "oss-readonly-lab-group",
        ])
        .await,
    );
    assert_eq!(group["Group"]["GroupName"], "oss-readonly-lab-group");
    let attached = Lab::ok(
        &lab.run(&[
            "ram",
            "AttachPolicyToGroup",
            "--PolicyType",
            "System",
            "--PolicyName",
            "AliyunOSSReadOnlyAccess",
            "--GroupName",
            "oss-readonly-lab-group",
        ])
        .await,
    );
    assert_eq!(
        attached.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["RequestId"]
    );
    Lab::ok(
        &lab.run(&[
            "ram",
            "AddUserToGroup",
            "--UserName",
            "alice",
            "--GroupName",
            "oss-readonly-lab-group",
        ])
        .await,
    );
    let members = Lab::ok(
        &lab.run(&[
            "ram",
            "ListUsersForGroup",
            "--GroupName",
            "oss-readonly-lab-group",
        ])
        .await,
    );
    assert_eq!(members["Users"]["User"][0]["UserName"], "alice");
    let policies = Lab::ok(
        &lab.run(&[
            "ram",
            "ListPoliciesForGroup",
            "--GroupName",
            "oss-readonly-lab-group",
        ])
        .await,
    );
    assert_eq!(
        policies["Policies"]["Policy"][0]["PolicyName"],
        "AliyunOSSReadOnlyAccess"
    );
    let users = Lab::ok(&lab.run(&["ram", "ListUsers"]).await);
    assert_eq!(users["Users"]["User"].as_array().unwrap().len(), 1);
    assert_eq!(users["IsTruncated"], false);

    // Authorize about alice: exit 0 allowed, 1 denied.
    let alice_arn = format!("acs:ram::{a}:user/alice");
    let photo = format!("acs:oss:*:{a}:photos/cat.jpg");
    let allowed = lab
        .run(&[
            "authorize",
            "--principal-arn",
            &alice_arn,
            "--action",
            "oss:GetObject",
            "--resource",
            &photo,
        ])
        .await;
    let decision = Lab::ok(&allowed);
    assert_eq!(decision["Decision"], "Allow");
    assert_eq!(decision["Principal"], alice_arn.as_str());
    assert!(decision["Revision"].as_u64().unwrap() > 0);
    assert_eq!(
        decision["MatchedStatements"][0]["PolicyName"],
        "AliyunOSSReadOnlyAccess"
    );
    assert_eq!(decision["MatchedStatements"][0]["Effect"], "Allow");
    let denied = lab
        .run(&[
            "authorize",
            "--principal-arn",
            &alice_arn,
            "--action",
            "oss:PutObject",
            "--resource",
            &photo,
        ])
        .await;
    assert_eq!(denied.code, Some(1), "{denied:?}");
    assert_eq!(denied.json()["Decision"], "ImplicitDeny");
    assert_eq!(denied.json()["MatchedStatements"], json!([]));

    // Errors: Alibaba's codes on standard error, exit status 1.
    let missing = lab.run(&["ram", "GetUser", "--UserName", "bob"]).await;
    let error = assert_error(&missing, 1, "EntityNotExist.User");
    assert_request_id(&error);
    let exists = lab.run(&["ram", "CreateUser", "--UserName", "alice"]).await;
    assert_error(&exists, 1, "EntityAlreadyExists.User");
    let bad = lab
        .run(&["ram", "CreateUser", "--UserName", "bad name!"])
        .await;
    assert_eq!(bad.code, Some(1), "{bad:?}");
    assert!(
        bad.error()["Code"]
            .as_str()
            .unwrap()
            .starts_with("InvalidParameter.UserName")
    );

    // Alice's own key: a RAM user without a policy for it is refused...
    Lab::ok(&lab.run(&["ram", "CreateUser", "--UserName", "bob"]).await);
    user_profile(&lab, "acme", "alice", "alice").await;
    let refused = lab.run(&["ram", "GetUser", "--UserName", "bob"]).await;
    assert_error(&refused, 1, "NoPermission");
    // ...allowed with a policy granting the action on the resource...
    let read_bob = json!({"Version": "1", "Statement": [{"Effect": "Allow",
        "Action": "ram:GetUser", "Resource": format!("acs:ram:*:{a}:user/bob")}]})
    .to_string();
    Lab::ok(
        &lab.run(&[
            "--profile",
            "acme",
            "ram",
            "CreatePolicy",
            "--PolicyName",
            "ReadBob",
            "--PolicyDocument",
            &read_bob,
        ])
        .await,
    );
    Lab::ok(
        &lab.run(&[
            "--profile",
            "acme",
            "ram",
            "AttachPolicyToUser",
            "--PolicyType",
            "Custom",
            "--PolicyName",
            "ReadBob",
            "--UserName",
            "alice",
        ])
        .await,
    );
    let bob = ok_eventually(&lab, &["ram", "GetUser", "--UserName", "bob"]).await;
    assert_eq!(bob["User"]["UserName"], "bob");
    // ...and refused on another resource.
    let other = lab.run(&["ram", "GetUser", "--UserName", "alice"]).await;
    assert_error(&other, 1, "NoPermission");

    // Authorize for the current credentials (a long-term key: about its own principal).
    let own = lab
        .run(&[
            "authorize",
            "--action",
            "oss:GetObject",
            "--resource",
            &photo,
        ])
        .await;
    assert_eq!(Lab::ok(&own)["Principal"], alice_arn.as_str());
    // Asking about someone else needs tessera:Authorize: an error, exit status 2.
    let root_arn = format!("acs:ram::{a}:root");
    let about_root = lab
        .run(&[
            "authorize",
            "--principal-arn",
            &root_arn,
            "--action",
            "oss:GetObject",
            "--resource",
            &photo,
        ])
        .await;
    assert_error(&about_root, 2, "NoPermission");

    // A role with a trust policy, assumed with a session policy.
    let role = Lab::ok(
        &lab.run(&[
            "--profile",
            "acme",
            "ram",
            "CreateRole",
            "--RoleName",
            "photo-reader",
            "--AssumeRolePolicyDocument",
            &trust_root(&a),
        ])
        .await,
    );
    let role_arn = role["Role"]["Arn"].as_str().unwrap().to_owned();
    assert_eq!(role_arn, format!("acs:ram::{a}:role/photo-reader"));
    for (policy, kind, target) in [
        ("AliyunOSSReadOnlyAccess", "--RoleName", "photo-reader"),
        ("AliyunSTSAssumeRoleAccess", "--UserName", "alice"),
    ] {
        let action = if kind == "--RoleName" {
            "AttachPolicyToRole"
        } else {
            "AttachPolicyToUser"
        };
        Lab::ok(
            &lab.run(&[
                "--profile",
                "acme",
                "ram",
                action,
                "--PolicyType",
                "System",
                "--PolicyName",
                policy,
                kind,
                target,
            ])
            .await,
        );
    }
    let session_policy = json!({"Version": "1", "Statement": [{"Effect": "Allow",
        "Action": "oss:GetObject", "Resource": "*"}]})
    .to_string();
    let assume = [
        "sts",
        "AssumeRole",
        "--RoleArn",
        &role_arn,
        "--RoleSessionName",
        "alice-reads",
        "--Policy",
        &session_policy,
    ];
    let assumed = ok_eventually(&lab, &assume).await;
    let credentials = &assumed["Credentials"];
    assert!(
        credentials["AccessKeyId"]
            .as_str()
            .unwrap()
            .starts_with("STS.")
    );
    assert!(credentials["Expiration"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        assumed["AssumedRoleUser"]["Arn"],
        format!("acs:ram::{a}:assumed-role/photo-reader/alice-reads")
    );
    lab.scratch
        .write("session.json", &serde_json::to_string(&assumed).unwrap());
    let configured = Lab::ok(
        &lab.run(&[
            "configure",
            "set",
            "--profile",
            "session",
            "--credentials-file",
            "session.json",
        ])
        .await,
    );
    assert_eq!(configured["Profile"]["Mode"], "StsToken");
    // The session policy narrows the role: GetObject allowed, ListObjects not.
    let session_get = lab
        .run(&[
            "authorize",
            "--action",
            "oss:GetObject",
            "--resource",
            &photo,
        ])
        .await;
    let decision = Lab::ok(&session_get);
    assert_eq!(
        decision["Principal"],
        format!("acs:ram::{a}:assumed-role/photo-reader/alice-reads")
    );
    let sources: Vec<&str> = decision["MatchedStatements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["Source"].as_str().unwrap())
        .collect();
    assert_eq!(sources, ["identity", "session"]);
    let session_list = lab
        .run(&[
            "authorize",
            "--action",
            "oss:ListObjects",
            "--resource",
            &format!("acs:oss:*:{a}:photos/"),
        ])
        .await;
    assert_eq!(session_list.code, Some(1), "{session_list:?}");
    // The security token alone is a bearer credential.
    let token = credentials["SecurityToken"].as_str().unwrap();
    let bearer = lab
        .run_env(
            &["sts", "GetCallerIdentity"],
            &[
                ("ALIBABA_CLOUD_SECURITY_TOKEN", token),
                ("TESSERA_PROFILE", ""),
            ],
            "",
        )
        .await;
    assert_eq!(Lab::ok(&bearer)["IdentityType"], "AssumedRoleUser");
    let bearer = lab
        .run(&["--security-token", token, "sts", "GetCallerIdentity"])
        .await;
    assert_eq!(
        Lab::ok(&bearer)["Arn"],
        format!("acs:ram::{a}:assumed-role/photo-reader/alice-reads")
    );

    // A RamRoleArn profile: the CLI assumes the role itself.
    Lab::ok(
        &lab.run(&[
            "configure",
            "set",
            "--profile",
            "reader",
            "--credentials-file",
            "alice.json",
            "--ram-role-arn",
            &role_arn,
            "--role-session-name",
            "alice-cli",
        ])
        .await,
    );
    let reader = Lab::ok(&lab.run(&["sts", "GetCallerIdentity"]).await);
    assert_eq!(reader["IdentityType"], "AssumedRoleUser");
    assert_eq!(
        reader["Arn"],
        format!("acs:ram::{a}:assumed-role/photo-reader/alice-cli")
    );
    let reader_get = lab
        .run(&[
            "authorize",
            "--action",
            "oss:GetObject",
            "--resource",
            &photo,
        ])
        .await;
    assert_eq!(
        Lab::ok(&reader_get)["Principal"],
        format!("acs:ram::{a}:assumed-role/photo-reader/alice-cli")
    );
    // A role the base credentials may not assume (a root cannot assume roles).
    Lab::ok(
        &lab.run(&[
            "configure",
            "set",
            "--profile",
            "root-role",
            "--credentials-file",
            "acme.json",
            "--ram-role-arn",
            &role_arn,
            "--role-session-name",
            "root",
        ])
        .await,
    );
    let refused = lab.run(&["sts", "GetCallerIdentity"]).await;
    assert_eq!(refused.code, Some(1), "{refused:?}");
    assert!(!refused.error()["Code"].as_str().unwrap().is_empty());

    // Revoking the role's sessions: the saved session stops working (exit 1; for authorize,
    // an error: 2).
    Lab::ok(
        &lab.run(&[
            "--profile",
            "acme",
            "ram",
            "RevokeRoleSessions",
            "--RoleName",
            "photo-reader",
        ])
        .await,
    );
    lab.refused_eventually(
        &["--profile", "session", "sts", "GetCallerIdentity"],
        "InvalidSecurityToken.Revoked",
    )
    .await;
    let revoked = lab
        .run(&[
            "--profile",
            "session",
            "authorize",
            "--action",
            "oss:GetObject",
            "--resource",
            &photo,
        ])
        .await;
    assert_error(&revoked, 2, "InvalidSecurityToken.Revoked");
    lab.stop().await;
}

both!(seed_lab, seed_lab_on_sqlite, seed_lab_on_postgres);

async fn operator_commands(backend: Backend) {
    let lab = Lab::start(backend, "cli_operator").await;
    let a = bootstrap(&lab, "acme").await;
    async fn run(lab: &Lab, args: &[&str]) -> Run {
        let mut all = vec!["--profile", "operator", "operator"];
        all.extend_from_slice(args);
        lab.run(&all).await
    }

    let listed = Lab::ok(&run(&lab, &["ListAccounts"]).await);
    let names: Vec<&str> = listed["Accounts"]["Account"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["AccountName"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"acme"), "{listed}");
    assert_eq!(listed["IsTruncated"], false);
    let first = Lab::ok(&run(&lab, &["ListAccounts", "--MaxItems", "1"]).await);
    assert_eq!(first["IsTruncated"], true);
    let marker = first["Marker"].as_str().unwrap();
    let second = Lab::ok(
        &run(
            &lab,
            &["ListAccounts", "--MaxItems", "1", "--Marker", marker],
        )
        .await,
    );
    assert_ne!(
        first["Accounts"]["Account"][0]["AccountId"],
        second["Accounts"]["Account"][0]["AccountId"]
    );

    let account = Lab::ok(&run(&lab, &["GetAccount", "--AccountId", &a]).await);
    assert_eq!(account["Account"]["AccountName"], "acme");
    assert_eq!(account["Account"]["Status"], "Active");
    assert!(
        account["Account"]["CreateDate"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );

    // Suspended: the account's key stops working until it is resumed.
    let suspended = Lab::ok(&run(&lab, &["SuspendAccount", "--AccountId", &a]).await);
    assert_eq!(suspended["Account"]["Status"], "Suspended");
    lab.refused_eventually(
        &["--profile", "acme", "ram", "ListUsers"],
        "InvalidAccessKeyId.Inactive",
    )
    .await;
    let resumed = Lab::ok(&run(&lab, &["ResumeAccount", "--AccountId", &a]).await);
    assert_eq!(resumed["Account"]["Status"], "Active");
    ok_eventually(&lab, &["--profile", "acme", "ram", "ListUsers"]).await;

    let quota = Lab::ok(
        &run(
            &lab,
            &[
                "SetAccountQuota",
                "--AccountId",
                &a,
                "--QuotaName",
                "UsersQuota",
                "--Value",
                "1",
            ],
        )
        .await,
    );
    assert!(quota["Revision"].as_u64().unwrap() > 0);
    Lab::ok(
        &lab.run(&["--profile", "acme", "ram", "CreateUser", "--UserName", "u1"])
            .await,
    );
    let over = lab
        .run(&["--profile", "acme", "ram", "CreateUser", "--UserName", "u2"])
        .await;
    assert_eq!(over.code, Some(1), "{over:?}");
    assert!(
        over.error()["Code"]
            .as_str()
            .unwrap()
            .starts_with("LimitExceeded")
    );

    let rotated = Lab::ok(&run(&lab, &["RotateSigningKey"]).await);
    assert!(!rotated["KeyId"].as_str().unwrap().is_empty());
    assert!(rotated["Revision"].as_u64().unwrap() > 0);
    assert_request_id(&rotated);

    // A service principal in another account asks Authorize about acme's users only once
    // the operator grants it.
    let s = bootstrap(&lab, "services").await;
    Lab::ok(
        &lab.run(&["ram", "CreateUser", "--UserName", "gateway"])
            .await,
    );
    user_profile(&lab, "services", "gateway", "gateway").await;
    let about_acme = [
        "authorize",
        "--principal-arn",
        &format!("acs:ram::{a}:user/u1"),
        "--action",
        "oss:GetObject",
        "--resource",
        "acs:oss:*:*:x",
    ];
    assert_error(&lab.run(&about_acme).await, 2, "NoPermission");
    let gateway_arn = format!("acs:ram::{s}:user/gateway");
    let granted = Lab::ok(&run(&lab, &["GrantAuthorize", "--PrincipalArn", &gateway_arn]).await);
    assert!(granted["Revision"].as_u64().unwrap() > 0);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let asked = lab.run(&about_acme).await;
        // u1 holds no policy: a decision (denied, exit 1), no longer an error.
        if asked.code == Some(1) {
            assert_eq!(asked.json()["Decision"], "ImplicitDeny");
            break;
        }
        assert!(Instant::now() < deadline, "grant not effective: {asked:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Lab::ok(&run(&lab, &["RevokeAuthorize", "--PrincipalArn", &gateway_arn]).await);

    // Only the operator's account may.
    let not_operator = lab
        .run(&[
            "--profile",
            "acme",
            "operator",
            "CreateAccount",
            "--AccountName",
            "x",
        ])
        .await;
    assert_eq!(not_operator.code, Some(1), "{not_operator:?}");
    assert!(!not_operator.error()["Code"].as_str().unwrap().is_empty());
    let unnamed = run(&lab, &["CreateAccount", "--AccountName", ""]).await;
    assert_error(&unnamed, 1, "MissingAccountName");
    lab.stop().await;
}

both!(
    operator_commands,
    operator_commands_on_sqlite,
    operator_commands_on_postgres
);

async fn credentials_precedence_and_output(backend: Backend) {
    let lab = Lab::start(backend, "cli_precedence").await;
    let a = bootstrap(&lab, "acme").await;
    Lab::ok(&lab.run(&["ram", "CreateUser", "--UserName", "alice"]).await);
    user_profile(&lab, "acme", "alice", "alice").await;
    // The current profile is alice's; acme's root key is in acme.json.
    let acme: Value = serde_json::from_str(
        &std::fs::read_to_string(lab.scratch.path().join("acme.json")).unwrap(),
    )
    .unwrap();
    let root_id = acme["AccessKey"]["AccessKeyId"].as_str().unwrap();
    let root_secret = acme["AccessKey"]["AccessKeySecret"].as_str().unwrap();
    let arn = |run: Run| Lab::ok(&run)["Arn"].as_str().unwrap().to_owned();
    let root = format!("acs:ram::{a}:root");
    let alice = format!("acs:ram::{a}:user/alice");
    let env_root = [
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", root_id),
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", root_secret),
    ];
    let who = ["sts", "GetCallerIdentity"];

    assert_eq!(arn(lab.run(&who).await), alice, "the current profile");
    assert_eq!(
        arn(lab.run_env(&who, &env_root, "").await),
        root,
        "env over current"
    );
    let named = ["--profile", "alice", "sts", "GetCallerIdentity"];
    assert_eq!(
        arn(lab.run_env(&named, &env_root, "").await),
        alice,
        "named over env"
    );
    let mut env_named = env_root.to_vec();
    env_named.push(("TESSERA_PROFILE", "alice"));
    assert_eq!(
        arn(lab.run_env(&who, &env_named, "").await),
        alice,
        "TESSERA_PROFILE"
    );
    let typed = [
        "--profile",
        "alice",
        "--access-key-id",
        root_id,
        "--access-key-secret",
        root_secret,
        "sts",
        "GetCallerIdentity",
    ];
    assert_eq!(arn(lab.run(&typed).await), root, "typed over profile");
    // Global options may follow the operation, as in the aliyun CLI.
    let after = [
        "sts",
        "GetCallerIdentity",
        "--access-key-id",
        root_id,
        "--access-key-secret",
        root_secret,
    ];
    assert_eq!(
        arn(lab.run(&after).await),
        root,
        "typed after the operation"
    );

    // --endpoint (typed) over TESSERA_ENDPOINT: nothing listens there.
    let unreachable = lab
        .run(&[
            "--endpoint",
            "http://127.0.0.1:9",
            "sts",
            "GetCallerIdentity",
        ])
        .await;
    assert_error(&unreachable, 1, "ServiceUnavailable");
    let invalid = lab
        .run(&["--endpoint", "ftp://x", "sts", "GetCallerIdentity"])
        .await;
    assert_error(&invalid, 2, "InvalidEndpoint");

    // --query and --output.
    let id = lab
        .run(&[
            "--profile",
            "acme",
            "sts",
            "GetCallerIdentity",
            "--query",
            "AccountId",
        ])
        .await;
    assert_eq!(id.code, Some(0), "{id:?}");
    assert_eq!(id.stdout, format!("{a}\n"));
    let name = lab
        .run(&[
            "--profile",
            "acme",
            "ram",
            "ListUsers",
            "--query",
            "Users.User[0].UserName",
        ])
        .await;
    assert_eq!(name.stdout, "alice\n");
    let nothing = lab
        .run(&[
            "--profile",
            "acme",
            "ram",
            "ListUsers",
            "--query",
            "Users.User[5]",
        ])
        .await;
    assert_error(&nothing, 1, "InvalidParameter.Query");
    let table = lab
        .run(&["--profile", "acme", "ram", "ListUsers", "--output", "table"])
        .await;
    assert_eq!(table.code, Some(0), "{table:?}");
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert!(
        lines[0].contains("UserName") && lines[0].contains("UserId"),
        "{}",
        table.stdout
    );
    assert!(lines[2].contains("alice"), "{}", table.stdout);
    assert!(
        table.stdout.contains("IsTruncated  false"),
        "{}",
        table.stdout
    );
    let decision = lab
        .run(&[
            "--profile",
            "acme",
            "--output",
            "table",
            "authorize",
            "--principal-arn",
            &alice,
            "--action",
            "oss:GetObject",
            "--resource",
            "acs:oss:*:*:x",
        ])
        .await;
    assert_eq!(decision.code, Some(1), "{decision:?}");
    assert!(decision.stdout.contains("Decision"), "{}", decision.stdout);
    assert!(
        decision.stdout.contains("ImplicitDeny"),
        "{}",
        decision.stdout
    );
    lab.stop().await;
}

both!(
    credentials_precedence_and_output,
    credentials_precedence_and_output_on_sqlite,
    credentials_precedence_and_output_on_postgres
);

/// The current TOTP code of a device whose seed `base32` CreateVirtualMFADevice returned, at
/// `offset` steps from now.
fn totp_code(base32: &str, offset: i64) -> String {
    let bytes = totp_rs::Secret::try_from_base32(base32)
        .unwrap()
        .as_bytes()
        .to_vec();
    let at = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_secs(30 * offset))
        .unwrap();
    tessera_credentials::totp::code_at(&tessera_credentials::Secret::new(bytes), at)
}

async fn login(backend: Backend) {
    let lab = Lab::start(backend, "cli_login").await;
    let a = bootstrap(&lab, "acme").await;
    Lab::ok(&lab.run(&["ram", "CreateUser", "--UserName", "alice"]).await);
    let password = "Correct-Horse-9-Battery";
    Lab::ok(
        &lab.run(&[
            "ram",
            "CreateLoginProfile",
            "--UserName",
            "alice",
            "--Password",
            password,
        ])
        .await,
    );
    let sign_in = [
        "login",
        "--account-id",
        &a,
        "--user-name",
        "alice",
        "--password-stdin",
    ];

    let signed_in = lab.run_env(&sign_in, &[], &format!("{password}\n")).await;
    let session = Lab::ok(&signed_in);
    assert!(
        session["Credentials"]["AccessKeyId"]
            .as_str()
            .unwrap()
            .starts_with("STS.")
    );
    assert!(
        !session["Credentials"]["SecurityToken"]
            .as_str()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        session["Principal"]["Arn"],
        format!("acs:ram::{a}:user/alice")
    );
    assert_eq!(session["Principal"]["IdentityType"], "RAMUser");
    assert_eq!(session["PasswordResetRequired"], false);
    assert_request_id(&session);

    let wrong = lab.run_env(&sign_in, &[], "not-the-password\n").await;
    assert_eq!(wrong.code, Some(1), "{wrong:?}");
    assert!(
        wrong.error()["Code"]
            .as_str()
            .unwrap()
            .starts_with("AuthenticationFail")
    );
    let no_password = lab
        .run(&["login", "--account-id", &a, "--user-name", "alice"])
        .await;
    assert_error(&no_password, 2, "MissingPassword");

    // With an MFA device: the code is required, and the session is saved as a profile.
    let device = Lab::ok(
        &lab.run(&[
            "ram",
            "CreateVirtualMFADevice",
            "--VirtualMFADeviceName",
            "alice-phone",
        ])
        .await,
    );
    let serial = device["VirtualMFADevice"]["SerialNumber"].as_str().unwrap();
    let seed = device["VirtualMFADevice"]["Base32StringSeed"]
        .as_str()
        .unwrap();
    Lab::ok(
        &lab.run(&[
            "ram",
            "BindMFADevice",
            "--UserName",
            "alice",
            "--SerialNumber",
            serial,
            "--AuthenticationCode1",
            &totp_code(seed, -1),
            "--AuthenticationCode2",
            &totp_code(seed, 0),
        ])
        .await,
    );
    let without_code = lab
        .run_env(
            &["login", "--account-id", &a, "--user-name", "alice"],
            &[("TESSERA_PASSWORD", password)],
            "",
        )
        .await;
    assert_eq!(without_code.code, Some(1), "{without_code:?}");
    let code = totp_code(seed, 0);
    let saved = lab
        .run_env(
            &[
                "login",
                "--account-id",
                &a,
                "--user-name",
                "alice",
                "--mfa-code",
                &code,
                "--save-profile",
                "alice-web",
            ],
            &[("TESSERA_PASSWORD", password)],
            "",
        )
        .await;
    let saved = Lab::ok(&saved);
    assert_eq!(saved["Profile"], "alice-web");
    assert!(saved.get("Credentials").is_none(), "{saved}");
    let listed = Lab::ok(&lab.run(&["configure", "list"]).await);
    let profile = listed["Profiles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["Name"] == "alice-web")
        .cloned()
        .unwrap();
    assert_eq!(profile["Mode"], "StsToken");
    assert_eq!(profile["Endpoint"], lab.endpoint.as_str());
    let me = Lab::ok(
        &lab.run(&["--profile", "alice-web", "sts", "GetCallerIdentity"])
            .await,
    );
    assert_eq!(me["Arn"], format!("acs:ram::{a}:user/alice"));
    lab.stop().await;
}

both!(login, login_on_sqlite, login_on_postgres);

async fn audit_lookup_events(backend: Backend) {
    let lab = Lab::start(backend, "cli_audit").await;
    let a = bootstrap(&lab, "acme").await;
    Lab::ok(&lab.run(&["ram", "CreateUser", "--UserName", "alice"]).await);
    Lab::ok(&lab.run(&["ram", "CreateUser", "--UserName", "bob"]).await);
    Lab::ok(&lab.run(&["ram", "GetUser", "--UserName", "bob"]).await);

    // Stored off the request path: eventually both creations, newest first.
    let deadline = Instant::now() + Duration::from_secs(10);
    let found = loop {
        let found = Lab::ok(
            &lab.run(&["audit", "LookupEvents", "--EventName", "CreateUser"])
                .await,
        );
        if found["Events"].as_array().unwrap().len() == 2 {
            break found;
        }
        assert!(Instant::now() < deadline, "{found}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let keys: Vec<&String> = found.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["Events", "NextToken"], "{found}");
    assert_eq!(found["NextToken"], "");
    let events = found["Events"].as_array().unwrap();
    let root = format!("acs:ram::{a}:root");
    assert_eq!(events[0]["EventName"], "CreateUser");
    assert_eq!(events[0]["Action"], "ram:CreateUser");
    assert_eq!(events[0]["PrincipalArn"], root.as_str());
    assert_eq!(events[0]["Resource"], format!("acs:ram::{a}:user/bob"));
    assert_eq!(events[0]["Decision"], "Allow");
    assert_eq!(events[0]["AccountId"], a.as_str());
    assert_eq!(events[1]["Resource"], format!("acs:ram::{a}:user/alice"));
    let time = events[0]["EventTime"].as_str().unwrap();
    assert!(time.len() == 20 && time.ends_with('Z'), "{time}");
    assert_eq!(events[0]["RequestId"].as_str().unwrap().len(), 36);

    // Pages of one, and filters by principal and time.
    let first = Lab::ok(
        &lab.run(&[
            "audit",
            "LookupEvents",
            "--EventName",
            "CreateUser",
            "--MaxResults",
            "1",
        ])
        .await,
    );
    assert_eq!(first["Events"][0]["Resource"], events[0]["Resource"]);
    let token = first["NextToken"].as_str().unwrap();
    assert!(!token.is_empty());
    let second = Lab::ok(
        &lab.run(&[
            "audit",
            "LookupEvents",
            "--EventName",
            "CreateUser",
            "--MaxResults",
            "1",
            "--NextToken",
            token,
        ])
        .await,
    );
    assert_eq!(second["Events"][0]["Resource"], events[1]["Resource"]);
    assert_eq!(second["NextToken"], "");
    let by_root = Lab::ok(
        &lab.run(&["audit", "LookupEvents", "--PrincipalArn", &root])
            .await,
    );
    assert_eq!(by_root["Events"].as_array().unwrap().len(), 2, "{by_root}");
    let future = Lab::ok(
        &lab.run(&[
            "audit",
            "LookupEvents",
            "--StartTime",
            "2999-01-01T00:00:00Z",
        ])
        .await,
    );
    assert_eq!(future["Events"], json!([]));

    // A table, one row per event.
    let table = lab
        .run(&[
            "audit",
            "LookupEvents",
            "--EventName",
            "CreateUser",
            "--output",
            "table",
        ])
        .await;
    assert_eq!(table.code, Some(0), "{table:?}");
    assert!(table.stdout.contains("EventName"), "{table:?}");
    assert!(table.stdout.contains("ram:CreateUser"), "{table:?}");

    // Bad input: a time that is not one (nothing sent), a token that is not one.
    let bad_time = lab
        .run(&["audit", "LookupEvents", "--StartTime", "yesterday"])
        .await;
    assert_eq!(bad_time.code, Some(2), "{bad_time:?}");
    let bad_token = lab
        .run(&["audit", "LookupEvents", "--NextToken", "nope"])
        .await;
    assert_error(&bad_token, 1, "InvalidParameter.NextToken");
    lab.stop().await;
}

both!(
    audit_lookup_events,
    audit_lookup_events_on_sqlite,
    audit_lookup_events_on_postgres
);
