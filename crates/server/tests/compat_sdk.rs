#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! Alibaba Cloud's official Python SDKs, unmodified, against a real tesserad over loopback:
//! `alibabacloud-ram20150501` and `alibabacloud-sts20150401` (ACS3-HMAC-SHA256 by default, RPC
//! v1 HMAC-SHA1 with `signature_algorithm='v2'`), the older `aliyun-python-sdk-core` (RPC v1),
//! and `alibabacloud-credentials`' `ram_role_arn` provider (RPC v1 GET, `+` for spaces)
//! obtaining and refreshing role credentials. The scripts are in `tests/compat_sdk/`; they get
//! the endpoint and keys in their environment and print JSON that the tests assert on.
//!
//! The SDKs are installed (pinned, `tests/compat_sdk/requirements.txt`) into a cached
//! virtualenv by `tests/run.sh`, which exports its interpreter as `TESSERA_TEST_PYTHON`.
//! Without it these tests fail and say so: they never skip.
//!
//! SQLite only: the HTTP layer is what is under test here (`compat_http.rs` runs the same
//! operations on both backends).

#[path = "support/oidc.rs"]
mod issuer;
mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use support::{Backend, TestServer};
use tessera_store::{AccountId, AccountStore as _};
use tokio::io::AsyncWriteExt as _;

fn python() -> PathBuf {
    match std::env::var_os("TESSERA_TEST_PYTHON") {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => panic!(
            "TESSERA_TEST_PYTHON is not set. These tests drive Alibaba Cloud's official Python \
             SDKs; run the tests with tests/run.sh, which installs the pinned SDKs \
             (crates/server/tests/compat_sdk/requirements.txt) into a cached virtualenv and \
             sets TESSERA_TEST_PYTHON to its python"
        ),
    }
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/compat_sdk")
        .join(name)
}

/// Runs `script` with `env` and `stdin`; returns its stdout as JSON (fails on a non-zero exit,
/// showing stderr).
async fn run(name: &str, env: &[(&str, String)], stdin: &Value) -> Value {
    let mut command = tokio::process::Command::new(python());
    command
        .arg(script(name))
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        // The SDKs read these; the environment of the test runner must not steer them.
        .env_remove("ALIBABA_CLOUD_ACCESS_KEY_ID")
        .env_remove("ALIBABA_CLOUD_ACCESS_KEY_SECRET")
        .env_remove("ALIBABA_CLOUD_ROLE_ARN")
        .env_remove("ALIBABA_CLOUD_STS_REGION")
        .env("NO_PROXY", "*")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {:?} (TESSERA_TEST_PYTHON): {e}", python()));
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.to_string().as_bytes()).await.unwrap();
    drop(input);
    let output = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .expect("the SDK script did not finish within 120 s")
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{name} failed ({}):\n{stderr}\nstdout: {stdout}",
        output.status
    );
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{name} printed no JSON ({e}):\n{stdout}\nstderr: {stderr}"))
}

#[derive(Clone)]
struct Key {
    id: String,
    secret: String,
    token: Option<String>,
}

impl Key {
    fn json(&self) -> Value {
        json!({"id": self.id, "secret": self.secret, "token": self.token})
    }
}

/// One call for `sdk_calls.py`: `flavour` is `v3` / `v2` (the tea SDKs' ACS3 / RPC v1) or
/// `core` (aliyun-python-sdk-core).
fn call(flavour: &str, key: &Key, product: &str, action: &str, params: Value) -> Value {
    let (sdk, signature) = match flavour {
        "core" => ("core", "v2"),
        v => ("tea", v),
    };
    json!({"sdk": sdk, "signature": signature, "key": key.json(), "product": product,
           "action": action, "params": params})
}

/// Runs `calls` through the SDKs; returns the results in order.
async fn sdk(server: &TestServer, calls: Vec<Value>) -> Vec<Value> {
    let endpoint = server.running.addr.to_string();
    let n = calls.len();
    let results = run(
        "sdk_calls.py",
        &[("TESSERA_ENDPOINT", endpoint)],
        &Value::Array(calls),
    )
    .await;
    let results = results.as_array().unwrap().clone();
    assert_eq!(results.len(), n);
    results
}

#[track_caller]
fn ok(result: &Value) -> &Value {
    assert_eq!(result["ok"], true, "{result:#}");
    assert!(result["body"]["RequestId"].is_string(), "{result:#}");
    &result["body"]
}

#[track_caller]
fn refused(result: &Value, status: u16, code: &str) {
    assert_eq!(result["ok"], false, "{result:#}");
    assert_eq!(
        (result["status"].as_u64(), result["code"].as_str()),
        (Some(u64::from(status)), Some(code)),
        "{result:#}"
    );
    assert!(
        result["request_id"]
            .as_str()
            .is_some_and(|id| id.len() == 36),
        "{result:#}"
    );
}

#[track_caller]
fn assert_expiration(credentials: &Value) {
    let expiration = credentials["Expiration"].as_str().unwrap();
    let at: jiff::Timestamp = expiration.parse().unwrap();
    assert_eq!(at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(), expiration);
    assert!(
        credentials["AccessKeyId"]
            .as_str()
            .unwrap()
            .starts_with("STS.")
    );
    assert!(!credentials["AccessKeySecret"].as_str().unwrap().is_empty());
    assert!(!credentials["SecurityToken"].as_str().unwrap().is_empty());
}

fn session_key(assumed: &Value) -> Key {
    let c = &assumed["Credentials"];
    Key {
        id: c["AccessKeyId"].as_str().unwrap().to_owned(),
        secret: c["AccessKeySecret"].as_str().unwrap().to_owned(),
        token: Some(c["SecurityToken"].as_str().unwrap().to_owned()),
    }
}

async fn root_of(server: &TestServer, name: &str) -> (AccountId, Key) {
    let account = server.store.create_account(name).await.unwrap().value.id;
    let (id, secret, _) = server.key_for(&account, None).await;
    let secret = String::from_utf8(secret.expose().to_vec()).unwrap();
    let key = Key {
        id,
        secret,
        token: None,
    };
    (account, key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_sdks_manage_ram_and_assume_roles() {
    // Fail before starting anything when the SDKs are not there.
    python();
    let server = TestServer::start(Backend::Sqlite, "unused").await;
    let (account, root) = root_of(&server, "acme").await;
    let acct = account.as_str();
    let wrong = Key {
        secret: "not-the-secret".into(),
        ..root.clone()
    };
    let unknown = Key {
        id: "LTAI5tNoSuchKey0000000000".into(),
        ..root.clone()
    };
    // Pretty-printed, non-ASCII: spaces and `+` must survive every canonicalization.
    let alice_policy = format!(
        r#"{{"Version": "1", "Statement": [
  {{"Effect": "Allow", "Action": "ram:GetUser", "Resource": "acs:ram:*:{acct}:user/alice"}},
  {{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "acs:ram:*:{acct}:role/reader"}},
  {{"Effect": "Deny", "Action": "ram:DeleteUser", "Resource": "acs:ram:*:{acct}:user/ü-*"}}]}}"#
    );
    let trust = format!(
        r#"{{"Version": "1", "Statement": [{{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {{"RAM": ["acs:ram::{acct}:root"]}}}}]}}"#
    );

    // RAM as the account's root, through every SDK flavour.
    let r = sdk(
        &server,
        vec![
            call("v3", &root, "ram", "CreateUser", json!({"UserName": "alice", "DisplayName": "Alice Example", "Email": "alice@example.com", "Comments": "made by test + more"})),
            call("v2", &root, "ram", "CreateUser", json!({"UserName": "bob", "Comments": "v2 here"})),
            call("core", &root, "ram", "CreateUser", json!({"UserName": "carol", "DisplayName": "Carol C"})),
            call("v3", &root, "ram", "GetUser", json!({"UserName": "alice"})),
            call("v2", &root, "ram", "GetUser", json!({"UserName": "alice"})),
            call("core", &root, "ram", "GetUser", json!({"UserName": "alice"})),
            call("v3", &root, "ram", "ListUsers", json!({"MaxItems": 2})),
            call("v3", &root, "ram", "CreateAccessKey", json!({"UserName": "alice"})),
            call("v2", &root, "ram", "ListAccessKeys", json!({"UserName": "alice"})),
            call("v3", &root, "ram", "CreateGroup", json!({"GroupName": "devs", "Comments": "developers"})),
            call("core", &root, "ram", "AddUserToGroup", json!({"GroupName": "devs", "UserName": "alice"})),
            call("v2", &root, "ram", "ListGroupsForUser", json!({"UserName": "alice"})),
            call("v3", &root, "ram", "CreatePolicy", json!({"PolicyName": "AliceSelf", "PolicyDocument": alice_policy, "Description": "alice's own: a + b ü*~/"})),
            call("v2", &root, "ram", "CreatePolicyVersion", json!({"PolicyName": "AliceSelf", "PolicyDocument": alice_policy, "SetAsDefault": true})),
            call("core", &root, "ram", "AttachPolicyToUser", json!({"PolicyType": "Custom", "PolicyName": "AliceSelf", "UserName": "alice"})),
            call("v3", &root, "ram", "ListPoliciesForUser", json!({"UserName": "alice"})),
            call("v3", &root, "ram", "CreateRole", json!({"RoleName": "reader", "AssumeRolePolicyDocument": trust, "Description": "reads RAM", "MaxSessionDuration": 7200})),
            call("v2", &root, "ram", "AttachPolicyToRole", json!({"PolicyType": "System", "PolicyName": "AliyunRAMReadOnlyAccess", "RoleName": "reader"})),
            call("core", &root, "ram", "GetRole", json!({"RoleName": "reader"})),
            call("v3", &root, "ram", "GetPolicy", json!({"PolicyName": "AliceSelf", "PolicyType": "Custom"})),
            call("v3", &root, "sts", "GetCallerIdentity", json!({})),
            // Errors, each as the SDK surfaces it.
            call("v3", &root, "ram", "GetUser", json!({"UserName": "nobody"})),
            call("core", &root, "ram", "GetUser", json!({"UserName": "nobody"})),
            call("v2", &root, "ram", "CreateUser", json!({"UserName": "alice"})),
            call("v3", &root, "ram", "CreateUser", json!({"UserName": "no spaces allowed"})),
            call("v3", &wrong, "ram", "GetUser", json!({"UserName": "alice"})),
            call("v2", &wrong, "ram", "GetUser", json!({"UserName": "alice"})),
            call("core", &wrong, "ram", "GetUser", json!({"UserName": "alice"})),
            call("v3", &unknown, "sts", "GetCallerIdentity", json!({})),
            call("core", &unknown, "sts", "GetCallerIdentity", json!({})),
            call("v3", &root, "ram", "DeleteGroup", json!({"GroupName": "devs"})),
        ],
    )
    .await;
    for (i, result) in r.iter().enumerate().take(21) {
        assert_eq!(result["ok"], true, "call {i}: {result:#}");
    }
    assert_eq!(ok(&r[0])["User"]["UserName"], "alice");
    assert_eq!(ok(&r[0])["User"]["Comments"], "made by test + more");
    assert_eq!(ok(&r[1])["User"]["UserName"], "bob");
    assert_eq!(ok(&r[2])["User"]["DisplayName"], "Carol C");
    for got in &r[3..6] {
        let user = &ok(got)["User"];
        assert_eq!(user["DisplayName"], "Alice Example");
        assert_eq!(user["Email"], "alice@example.com");
        assert_eq!(user["UserId"], ok(&r[0])["User"]["UserId"]);
    }
    let page = ok(&r[6]);
    assert_eq!(page["Users"]["User"].as_array().unwrap().len(), 2);
    assert_eq!(page["IsTruncated"], true);
    assert!(page["Marker"].is_string());
    let alice_key = &ok(&r[7])["AccessKey"];
    assert_eq!(alice_key["Status"], "Active");
    assert_eq!(
        ok(&r[8])["AccessKeys"]["AccessKey"][0]["AccessKeyId"],
        alice_key["AccessKeyId"]
    );
    assert_eq!(ok(&r[11])["Groups"]["Group"][0]["GroupName"], "devs");
    assert_eq!(ok(&r[12])["Policy"]["DefaultVersion"], "v1");
    assert_eq!(
        ok(&r[12])["Policy"]["Description"],
        "alice's own: a + b ü*~/"
    );
    assert_eq!(ok(&r[13])["PolicyVersion"]["VersionId"], "v2");
    assert_eq!(ok(&r[13])["PolicyVersion"]["IsDefaultVersion"], true);
    assert_eq!(
        ok(&r[15])["Policies"]["Policy"][0]["PolicyName"],
        "AliceSelf"
    );
    assert_eq!(ok(&r[16])["Role"]["MaxSessionDuration"], 7200);
    assert_eq!(
        ok(&r[16])["Role"]["Arn"],
        format!("acs:ram::{acct}:role/reader")
    );
    assert_eq!(ok(&r[18])["Role"]["AssumeRolePolicyDocument"], trust);
    assert_eq!(
        ok(&r[19])["DefaultPolicyVersion"]["PolicyDocument"],
        alice_policy
    );
    assert_eq!(ok(&r[20])["IdentityType"], "Account");
    assert_eq!(ok(&r[20])["AccountId"], acct);
    refused(&r[21], 404, "EntityNotExist.User");
    assert_eq!(r[21]["exception"], "ClientException");
    refused(&r[22], 404, "EntityNotExist.User");
    assert_eq!(r[22]["message"], "The user does not exist.");
    refused(&r[23], 409, "EntityAlreadyExists.User");
    refused(&r[24], 400, "InvalidParameter.UserName.InvalidChars");
    refused(&r[25], 400, "SignatureDoesNotMatch");
    refused(&r[26], 400, "SignatureDoesNotMatch");
    // The core SDK parses the string to sign out of the message (and fails with an IndexError
    // when there is none, as a bare message would be).
    refused(&r[27], 400, "SignatureDoesNotMatch");
    assert!(
        r[27]["message"]
            .as_str()
            .unwrap()
            .contains(" server string to sign is:POST&%2F&AccessKeyId%3D"),
        "{:#}",
        r[27]
    );
    refused(&r[28], 404, "InvalidAccessKeyId.NotFound");
    refused(&r[29], 404, "InvalidAccessKeyId.NotFound");
    refused(&r[30], 409, "DeleteConflict.Group.User");

    // As alice: her policy allows her own user and assuming the role, nothing else.
    let alice = Key {
        id: alice_key["AccessKeyId"].as_str().unwrap().to_owned(),
        secret: alice_key["AccessKeySecret"].as_str().unwrap().to_owned(),
        token: None,
    };
    let role_arn = format!("acs:ram::{acct}:role/reader");
    let assume = |session: &str| json!({"RoleArn": role_arn, "RoleSessionName": session, "DurationSeconds": 900});
    let r = sdk(
        &server,
        vec![
            call("v3", &alice, "ram", "GetUser", json!({"UserName": "alice"})),
            call("v3", &alice, "ram", "GetUser", json!({"UserName": "bob"})),
            call(
                "core",
                &alice,
                "ram",
                "CreateUser",
                json!({"UserName": "mallory"}),
            ),
            call("v3", &alice, "sts", "GetCallerIdentity", json!({})),
            call("v3", &alice, "sts", "AssumeRole", assume("session-v3")),
            call("v2", &alice, "sts", "AssumeRole", assume("session-v2")),
            call("core", &alice, "sts", "AssumeRole", assume("session-core")),
            call("v3", &root, "sts", "AssumeRole", assume("root-session")),
            call(
                "v2",
                &alice,
                "sts",
                "AssumeRole",
                json!({"RoleArn": role_arn, "RoleSessionName": "too-short", "DurationSeconds": 60}),
            ),
            call(
                "v2",
                &alice,
                "sts",
                "AssumeRole",
                json!({"RoleArn": role_arn}),
            ),
        ],
    )
    .await;
    assert_eq!(ok(&r[0])["User"]["UserName"], "alice");
    refused(&r[1], 403, "NoPermission");
    refused(&r[2], 403, "NoPermission");
    assert_eq!(ok(&r[3])["IdentityType"], "RAMUser");
    assert_eq!(ok(&r[3])["Arn"], format!("acs:ram::{acct}:user/alice"));
    let mut sessions = Vec::new();
    for (result, name) in r[4..7]
        .iter()
        .zip(["session-v3", "session-v2", "session-core"])
    {
        let assumed = ok(result);
        assert_expiration(&assumed["Credentials"]);
        assert!(
            assumed["AssumedRoleUser"]["Arn"]
                .as_str()
                .unwrap()
                .ends_with(&format!(":assumed-role/reader/{name}")),
            "{assumed:#}"
        );
        assert!(
            assumed["AssumedRoleUser"]["AssumedRoleId"]
                .as_str()
                .unwrap()
                .ends_with(&format!(":{name}"))
        );
        sessions.push(session_key(assumed));
    }
    refused(&r[7], 403, "NoPermission");
    refused(&r[8], 400, "InvalidParameter.DurationSeconds");
    refused(&r[9], 400, "MissingRoleSessionName");

    // With the STS credentials: both signature versions carry the token; the role reads RAM
    // through its policy and writes nothing.
    let r = sdk(
        &server,
        vec![
            call("v3", &sessions[0], "sts", "GetCallerIdentity", json!({})),
            call("v2", &sessions[1], "sts", "GetCallerIdentity", json!({})),
            call("core", &sessions[2], "sts", "GetCallerIdentity", json!({})),
            call("v3", &sessions[0], "ram", "ListUsers", json!({})),
            call(
                "v2",
                &sessions[1],
                "ram",
                "GetRole",
                json!({"RoleName": "reader"}),
            ),
            call(
                "core",
                &sessions[2],
                "ram",
                "CreateUser",
                json!({"UserName": "mallory"}),
            ),
            call(
                "v3",
                &Key {
                    token: None,
                    ..sessions[0].clone()
                },
                "sts",
                "GetCallerIdentity",
                json!({}),
            ),
            call(
                "v2",
                &Key {
                    secret: "forged".into(),
                    ..sessions[1].clone()
                },
                "sts",
                "GetCallerIdentity",
                json!({}),
            ),
        ],
    )
    .await;
    for (result, name) in r[..3]
        .iter()
        .zip(["session-v3", "session-v2", "session-core"])
    {
        let identity = ok(result);
        assert_eq!(identity["IdentityType"], "AssumedRoleUser");
        assert_eq!(identity["AccountId"], acct);
        assert!(
            identity["Arn"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/reader/{name}"))
        );
    }
    assert_eq!(ok(&r[3])["Users"]["User"].as_array().unwrap().len(), 3);
    assert_eq!(ok(&r[4])["Role"]["RoleName"], "reader");
    refused(&r[5], 403, "NoPermission");
    refused(&r[6], 400, "MissingSecurityToken");
    refused(&r[7], 400, "SignatureDoesNotMatch");

    // alibabacloud-credentials' ram_role_arn provider, as alice.
    let out = run(
        "ram_role_arn.py",
        &[
            ("TESSERA_ENDPOINT", server.running.addr.to_string()),
            ("TESSERA_ACCESS_KEY_ID", alice.id.clone()),
            ("TESSERA_ACCESS_KEY_SECRET", alice.secret.clone()),
            ("TESSERA_ROLE_ARN", role_arn.clone()),
        ],
        &Value::Null,
    )
    .await;
    let short = &out["short"];
    // DurationSeconds=900: stale on arrival (Expiration - 15 min), so every call refreshes.
    assert!(short["first"].as_str().unwrap().starts_with("STS."));
    assert_ne!(short["first"], short["second"], "{out:#}");
    assert_eq!(short["provider_name"], "ram_role_arn/static_ak");
    assert_eq!(short["identity"]["IdentityType"], "AssumedRoleUser");
    assert!(
        short["identity"]["Arn"]
            .as_str()
            .unwrap()
            .ends_with("/reader/short-session")
    );
    // DurationSeconds=3600: cached until 15 min before Expiration, then refreshed once.
    let long = &out["long"];
    assert_eq!(long["one"], long["two"], "{out:#}");
    assert_ne!(long["two"], long["three"], "{out:#}");
    assert_eq!(long["three"], long["four"], "{out:#}");
    assert!(
        long["identity"]["Arn"]
            .as_str()
            .unwrap()
            .ends_with("/reader/long-session")
    );
    let failed = &out["wrong_secret"];
    assert_eq!(failed["raised"], true, "{out:#}");
    let message = failed["message"].as_str().unwrap();
    assert!(message.contains("http_code: 400"), "{message}");
    assert!(
        message.contains("\"Code\":\"SignatureDoesNotMatch\""),
        "{message}"
    );

    // The provider's credentials are the same kind of session the gRPC API issues: revoking
    // the role's sessions over gRPC ends them for the SDKs too.
    let (_, _, root_channel) = server.key_for(&account, None).await;
    tessera_proto::v1::ram_client::RamClient::new(root_channel)
        .revoke_role_sessions(tessera_proto::v1::GetRoleRequest {
            role_name: "reader".into(),
        })
        .await
        .unwrap();
    // The revocation reaches the session cache through the change feed: poll with a deadline.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let r = sdk(
            &server,
            vec![call(
                "v3",
                &sessions[0],
                "sts",
                "GetCallerIdentity",
                json!({}),
            )],
        )
        .await;
        if r[0]["ok"] == false {
            refused(&r[0], 400, "InvalidSecurityToken.Revoked");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the revoked session still works"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    server.stop().await;
}

/// `alibabacloud-credentials`' `oidc_role_arn` provider exchanges a token file (as Kubernetes
/// projects one) with an unsigned `AssumeRoleWithOIDC`, re-reading the file at every refresh.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_role_arn_provider_obtains_credentials() {
    use issuer::{Issuer, KeyKind};
    use tessera_proto::v1 as pb;

    python();
    let server = TestServer::start_with(Backend::Sqlite, "unused", |c| {
        c.oidc.allow_http_issuers = true;
    })
    .await;
    let issuer = Issuer::start(KeyKind::Rs256).await;
    let mut ram = tessera_proto::v1::ram_client::RamClient::new(server.root.clone());
    let provider_arn = ram
        .create_oidc_provider(pb::CreateOidcProviderRequest {
            oidc_provider_name: "cluster".into(),
            issuer_url: issuer.url.clone(),
            client_ids: vec!["sts.aliyuncs.com".into()],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .oidc_provider
        .unwrap()
        .arn;
    let trust = json!({
        "Version": "1",
        "Statement": [{
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Principal": {"Federated": [provider_arn]},
            "Condition": {"StringEquals": {
                "oidc:aud": "sts.aliyuncs.com",
                "oidc:sub": "system:serviceaccount:apps:web"
            }}
        }]
    });
    let role_arn = ram
        .create_role(pb::CreateRoleRequest {
            role_name: "pod-reader".into(),
            assume_role_policy_document: trust.to_string(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .role
        .unwrap()
        .arn;
    let now = jiff::Timestamp::now().as_second();
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(
        &token_file,
        issuer.token("system:serviceaccount:apps:web", "sts.aliyuncs.com", now),
    )
    .unwrap();
    let mut expired = issuer.claims("system:serviceaccount:apps:web", "sts.aliyuncs.com", now);
    expired["iat"] = json!(now - 7200);
    expired["exp"] = json!(now - 3600);
    let out = run(
        "oidc_role_arn.py",
        &[
            ("TESSERA_ENDPOINT", server.running.addr.to_string()),
            ("TESSERA_ROLE_ARN", role_arn.clone()),
            ("TESSERA_OIDC_PROVIDER_ARN", provider_arn.clone()),
            (
                "TESSERA_OIDC_TOKEN_FILE",
                token_file.to_string_lossy().into_owned(),
            ),
        ],
        &json!({"expired_token": issuer.sign(&expired)}),
    )
    .await;
    let cached = &out["cached"];
    assert!(
        cached["one"].as_str().unwrap().starts_with("STS."),
        "{out:#}"
    );
    assert_eq!(cached["one"], cached["two"], "{out:#}");
    assert_eq!(cached["provider_name"], "oidc_role_arn");
    assert_eq!(cached["identity"]["IdentityType"], "AssumedRoleUser");
    assert!(
        cached["identity"]["Arn"]
            .as_str()
            .unwrap()
            .ends_with(":assumed-role/pod-reader/pod-session"),
        "{out:#}"
    );
    let short = &out["short"];
    assert_ne!(short["first"], short["second"], "{out:#}");
    let failed = &out["expired"];
    assert_eq!(failed["raised"], true, "{out:#}");
    let message = failed["message"].as_str().unwrap();
    assert!(message.contains("http_code: 403"), "{message}");
    assert!(
        message.contains("AuthenticationFail.OIDCToken.Expired"),
        "{message}"
    );
    server.stop().await;
}
