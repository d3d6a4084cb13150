#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! `Authorize` for subjects that prove possession of a credential: a request the subject signed
//! (RPC v1 HMAC-SHA1 and ACS3-HMAC-SHA256, as an Alibaba SDK sends it to the asking service),
//! verified by Tessera (signature, clock window, nonce) and decided with the subject's own
//! policies and the facts its credential carries; a security token made by AssumeRole (with its
//! session policy) or SignIn; and the operator's platform-wide grant for asking across
//! accounts. On SQLite and PostgreSQL.

mod support;

use jiff::Timestamp;
use support::{Backend, ClientCredential, TestServer, assert_code};
use tessera_credentials::Secret;
use tessera_credentials::signature::{encode_params, new_nonce, sign_acs3, sign_rpc_v1};
use tessera_proto::v1 as pb;
use tessera_proto::v1::authorizer_client::AuthorizerClient;
use tessera_proto::v1::operator_client::OperatorClient;
use tessera_proto::v1::ram_client::RamClient;
use tessera_proto::v1::sts_client::StsClient;
use tessera_store::{
    AccountId, AccountStore as _, NewPolicy, NewRole, NewUser, PolicyStore as _, PolicyType,
    RoleStore as _, RotateStrategy, Target, UserStore as _,
};
use tonic::Code;

const READ_BUCKET_A: &str = r#"{"Version":"1","Statement":[
  {"Effect":"Allow","Action":"oss:GetObject","Resource":"acs:oss:*:*:bucket-a/*"},
  {"Effect":"Deny","Action":"oss:GetObject","Resource":"acs:oss:*:*:bucket-a/private/*"},
  {"Effect":"Allow","Action":"oss:PutObject","Resource":"*",
   "Condition":{"IpAddress":{"acs:SourceIp":"10.0.0.0/8"}}}
]}"#;

const MAY_AUTHORIZE: &str = r#"{"Version":"1","Statement":[
  {"Effect":"Allow","Action":"tessera:Authorize","Resource":"*"}
]}"#;

/// An RPC v1 GET request as an SDK sends it: the query carries everything.
fn rpc_v1_request(key_id: &str, secret: &Secret) -> pb::SignedHttpRequest {
    let params = sign_rpc_v1(
        "GET",
        &[
            ("Action", "GetObject"),
            ("Version", "2019-05-17"),
            ("Format", "JSON"),
        ],
        key_id,
        secret,
        Timestamp::now(),
        &new_nonce(&mut rand::rng()),
    )
    .unwrap();
    pb::SignedHttpRequest {
        method: "GET".into(),
        path: "/".into(),
        query: encode_params(&params),
        headers: vec![header("host", "oss.internal.example")],
        body: Vec::new(),
    }
}

/// An ACS3 POST request with a JSON body.
fn acs3_request(key_id: &str, secret: &Secret) -> pb::SignedHttpRequest {
    let body = br#"{"Key":"report.csv"}"#;
    let headers = [
        ("host", "oss.internal.example"),
        ("content-type", "application/json"),
        ("x-acs-action", "GetObject"),
        ("x-acs-version", "2019-05-17"),
    ];
    let signed = sign_acs3(
        "POST",
        "/",
        &[("Bucket", "bucket-a")],
        &headers,
        body,
        key_id,
        secret,
        None,
        Timestamp::now(),
        &new_nonce(&mut rand::rng()),
    )
    .unwrap();
    pb::SignedHttpRequest {
        method: "POST".into(),
        path: "/".into(),
        query: "Bucket=bucket-a".into(),
        headers: headers
            .iter()
            .map(|(n, v)| header(n, v))
            .chain(signed.headers().iter().map(|(n, v)| header(n, v)))
            .collect(),
        body: body.to_vec(),
    }
}

fn header(name: &str, value: &str) -> pb::HttpHeader {
    pb::HttpHeader {
        name: name.into(),
        value: value.into(),
    }
}

fn item(action: &str, resource: &str) -> pb::AuthorizeItem {
    pb::AuthorizeItem {
        action: action.into(),
        resource: resource.into(),
        context: Vec::new(),
    }
}

fn signed_subject(request: pb::SignedHttpRequest, source_ip: &str) -> pb::Subject {
    pb::Subject {
        kind: Some(pb::subject::Kind::SignedRequest(request)),
        source_ip: source_ip.into(),
        secure_transport: true,
    }
}

fn decision(result: &pb::AuthorizeResult) -> pb::Decision {
    pb::Decision::try_from(result.decision).unwrap()
}

async fn user_with_policy(server: &TestServer, account: &AccountId, name: &str, policy: &str) {
    server
        .store
        .create_user(
            account,
            &NewUser {
                name: name.into(),
                ..NewUser::default()
            },
        )
        .await
        .unwrap();
    if policy.is_empty() {
        return;
    }
    let policy_name = format!("{name}-policy");
    server
        .store
        .create_policy(
            account,
            &NewPolicy {
                name: policy_name.clone(),
                document: policy.into(),
                description: None,
            },
        )
        .await
        .unwrap();
    server
        .store
        .attach_policy(
            account,
            Target::User(name),
            PolicyType::Custom,
            &policy_name,
        )
        .await
        .unwrap();
}

async fn signed_request_subjects(backend: Backend) {
    let server = TestServer::start(backend, "tessera_subjects_test").await;
    let account = server.operator.clone();
    user_with_policy(&server, &account, "alice", READ_BUCKET_A).await;
    user_with_policy(&server, &account, "svc", MAY_AUTHORIZE).await;
    user_with_policy(&server, &account, "nosy", "").await;
    let (alice_id, alice_secret, _) = server.key_for(&account, Some("alice")).await;
    let (_, _, svc) = server.key_for(&account, Some("svc")).await;
    let (_, _, nosy) = server.key_for(&account, Some("nosy")).await;
    let mut authorizer = AuthorizerClient::new(svc.clone());
    let object = |key: &str| format!("acs:oss:*:{}:bucket-a/{key}", account.as_str());

    // An RPC v1 request alice signed, asked about by a service allowed to ask.
    let batch = authorizer
        .batch_authorize(pb::BatchAuthorizeRequest {
            subject: Some(signed_subject(
                rpc_v1_request(&alice_id, &alice_secret),
                "10.1.2.3",
            )),
            items: vec![
                item("oss:GetObject", &object("report.csv")),
                item("oss:GetObject", &object("private/keys")),
                item("oss:DeleteObject", &object("report.csv")),
                // Allowed only from 10.0.0.0/8: the subject's source IP decides.
                item("oss:PutObject", &object("upload")),
            ],
            min_revision: 0,
            explain: true,
        })
        .await
        .unwrap()
        .into_inner();
    let decisions: Vec<_> = batch.results.iter().map(decision).collect();
    assert_eq!(
        decisions,
        [
            pb::Decision::Allow,
            pb::Decision::ExplicitDeny,
            pb::Decision::ImplicitDeny,
            pb::Decision::Allow,
        ]
    );
    assert_eq!(batch.results[0].matched.len(), 1);
    assert_eq!(batch.results[0].matched[0].policy_name, "alice-policy");
    let principal = batch.principal.unwrap();
    assert_eq!(
        principal.arn,
        format!("acs:ram::{}:user/alice", account.as_str())
    );
    assert_eq!(principal.identity_type, "RAMUser");

    // From outside 10.0.0.0/8 the conditional statement does not apply.
    let outside = authorizer
        .authorize(pb::AuthorizeRequest {
            subject: Some(signed_subject(
                rpc_v1_request(&alice_id, &alice_secret),
                "192.0.2.1",
            )),
            item: Some(item("oss:PutObject", &object("upload"))),
            min_revision: 0,
            explain: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        decision(outside.result.as_ref().unwrap()),
        pb::Decision::ImplicitDeny
    );

    // ACS3 too.
    let acs3 = authorizer
        .authorize(pb::AuthorizeRequest {
            subject: Some(signed_subject(acs3_request(&alice_id, &alice_secret), "")),
            item: Some(item("oss:GetObject", &object("report.csv"))),
            min_revision: 0,
            explain: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(decision(acs3.result.as_ref().unwrap()), pb::Decision::Allow);

    // A signed request decides once: the same nonce again is a replay.
    let request = rpc_v1_request(&alice_id, &alice_secret);
    let ask = |request: pb::SignedHttpRequest| pb::AuthorizeRequest {
        subject: Some(signed_subject(request, "")),
        item: Some(item("oss:GetObject", &object("report.csv"))),
        min_revision: 0,
        explain: false,
    };
    authorizer.authorize(ask(request.clone())).await.unwrap();
    let replayed = authorizer.authorize(ask(request)).await;
    assert_code(replayed, Code::Unauthenticated, "SignatureNonceUsed");

    // Tampered: a parameter changed after signing.
    let mut tampered = rpc_v1_request(&alice_id, &alice_secret);
    tampered.query = tampered.query.replace("GetObject", "DeleteObject");
    let refused = authorizer.authorize(ask(tampered)).await.unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
    assert!(
        refused
            .message()
            .starts_with("SignatureDoesNotMatch: Subject:"),
        "{refused:?}"
    );
    // Signed with a wrong secret; an unknown key.
    let wrong = authorizer
        .authorize(ask(rpc_v1_request(&alice_id, &Secret::from("wrong"))))
        .await;
    assert_code(wrong, Code::Unauthenticated, "SignatureDoesNotMatch");
    let unknown = authorizer
        .authorize(ask(rpc_v1_request(
            "LTAI5tUnknownKey0000000",
            &alice_secret,
        )))
        .await;
    assert_code(
        unknown,
        Code::Unauthenticated,
        "InvalidAccessKeyId.NotFound",
    );
    // Not signed at all.
    let unsigned = pb::SignedHttpRequest {
        method: "GET".into(),
        path: "/".into(),
        query: "Action=GetObject".into(),
        headers: vec![header("host", "oss.internal.example")],
        body: Vec::new(),
    };
    let refused = authorizer.authorize(ask(unsigned)).await.unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");

    // Asking about oneself needs no grant: alice asks about a request she signed.
    let (_, _, alice) = server.key_for(&account, Some("alice")).await;
    let own = AuthorizerClient::new(alice)
        .authorize(ask(rpc_v1_request(&alice_id, &alice_secret)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(decision(own.result.as_ref().unwrap()), pb::Decision::Allow);

    // A caller without `tessera:Authorize` may not ask about alice — and the subject's
    // credential is verified first, so a forged one is refused before the asker's rights are.
    let nosy_asks = AuthorizerClient::new(nosy)
        .authorize(ask(rpc_v1_request(&alice_id, &alice_secret)))
        .await;
    assert_code(nosy_asks, Code::PermissionDenied, "NoPermission");

    // Another account's service may not ask about this account's principals.
    let other = server
        .store
        .create_account("other-tenant")
        .await
        .unwrap()
        .value;
    user_with_policy(&server, &other.id, "svc", MAY_AUTHORIZE).await;
    let (_, _, other_svc) = server.key_for(&other.id, Some("svc")).await;
    let across = AuthorizerClient::new(other_svc)
        .authorize(ask(rpc_v1_request(&alice_id, &alice_secret)))
        .await;
    assert_code(across, Code::PermissionDenied, "NoPermission");

    // An empty token is a missing parameter.
    let empty = authorizer
        .authorize(pb::AuthorizeRequest {
            subject: Some(pb::Subject {
                kind: Some(pb::subject::Kind::SecurityToken(String::new())),
                ..Default::default()
            }),
            item: Some(item("oss:GetObject", &object("x"))),
            min_revision: 0,
            explain: false,
        })
        .await;
    assert_code(empty, Code::InvalidArgument, "MissingSecurityToken");
    let forged = authorizer
        .authorize(pb::AuthorizeRequest {
            subject: Some(pb::Subject {
                kind: Some(pb::subject::Kind::SecurityToken("e30.e30.e30".into())),
                ..Default::default()
            }),
            item: Some(item("oss:GetObject", &object("x"))),
            min_revision: 0,
            explain: false,
        })
        .await
        .unwrap_err();
    assert_eq!(forged.code(), Code::Unauthenticated, "{forged:?}");
    assert!(forged.message().contains("Subject:"), "{forged:?}");

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_request_subjects_with_sqlite() {
    signed_request_subjects(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_request_subjects_with_postgresql() {
    signed_request_subjects(Backend::Postgres).await;
}

/// `Authorize` about `arn` (a principal named, not proving anything) for `action` on `*`.
fn about_arn(arn: &str, action: &str) -> pb::AuthorizeRequest {
    pb::AuthorizeRequest {
        subject: Some(pb::Subject {
            kind: Some(pb::subject::Kind::PrincipalArn(arn.into())),
            ..Default::default()
        }),
        item: Some(item(action, "*")),
        min_revision: 0,
        explain: false,
    }
}

fn token_subject(token: &str) -> pb::Subject {
    pb::Subject {
        kind: Some(pb::subject::Kind::SecurityToken(token.into())),
        source_ip: String::new(),
        secure_transport: true,
    }
}

/// Polls `ask` until it returns `want` (the change feed applies writes at once on this
/// replica, but asynchronously), failing after 10 s.
async fn eventually<F, Fut>(what: &str, want: bool, mut ask: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while ask().await != want {
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: still not {want}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

async fn token_subjects_and_platform_grants(backend: Backend) {
    let server = TestServer::start(backend, "tessera_subjects_test").await;
    let account = server.operator.clone();
    let object = |key: &str| format!("acs:oss:*:{}:bucket-a/{key}", account.as_str());
    user_with_policy(&server, &account, "svc", MAY_AUTHORIZE).await;
    let (_, _, svc) = server.key_for(&account, Some("svc")).await;
    let mut authorizer = AuthorizerClient::new(svc.clone());

    // A role that reads bucket-a, assumed by alice with a session policy narrowing it to
    // bucket-a/public/*.
    let trust = format!(
        r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{{"RAM":"acs:ram::{}:root"}}}}]}}"#,
        account.as_str()
    );
    server
        .store
        .create_role(
            &account,
            &NewRole {
                name: "reader".into(),
                trust_policy: trust,
                description: None,
                max_session_duration: None,
            },
        )
        .await
        .unwrap();
    server
        .store
        .create_policy(
            &account,
            &NewPolicy {
                name: "read-bucket-a".into(),
                document: READ_BUCKET_A.into(),
                description: None,
            },
        )
        .await
        .unwrap();
    server
        .store
        .attach_policy(
            &account,
            Target::Role("reader"),
            PolicyType::Custom,
            "read-bucket-a",
        )
        .await
        .unwrap();
    let role_arn = format!("acs:ram::{}:role/reader", account.as_str());
    user_with_policy(
        &server,
        &account,
        "alice",
        &format!(
            r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"{role_arn}"}}]}}"#
        ),
    )
    .await;
    let (_, _, alice) = server.key_for(&account, Some("alice")).await;
    let assumed = StsClient::new(alice)
        .assume_role(pb::AssumeRoleRequest {
            role_arn: role_arn.clone(),
            role_session_name: "alice-reads".into(),
            policy: r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:*","Resource":"acs:oss:*:*:bucket-a/public/*"}]}"#.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let token = assumed.credentials.unwrap().security_token;

    let batch = authorizer
        .batch_authorize(pb::BatchAuthorizeRequest {
            subject: Some(token_subject(&token)),
            items: vec![
                item("oss:GetObject", &object("public/a.txt")),
                // The role allows it; the session policy does not.
                item("oss:GetObject", &object("report.csv")),
                item("oss:GetObject", &object("private/keys")),
            ],
            min_revision: 0,
            explain: true,
        })
        .await
        .unwrap()
        .into_inner();
    let decisions: Vec<_> = batch.results.iter().map(decision).collect();
    assert_eq!(
        decisions,
        [
            pb::Decision::Allow,
            pb::Decision::ImplicitDeny,
            pb::Decision::ExplicitDeny
        ]
    );
    assert!(
        batch.results[0]
            .matched
            .iter()
            .any(|m| m.source == "session"),
        "{:?}",
        batch.results[0]
    );
    let principal = batch.principal.unwrap();
    assert_eq!(principal.identity_type, "AssumedRoleUser");
    assert_eq!(
        principal.arn,
        format!(
            "acs:ram::{}:assumed-role/reader/alice-reads",
            account.as_str()
        )
    );

    // A token subject's session remembers its compiled permissions (and its bearer asker
    // its platform grant); every change to them still reaches the decisions.
    let about_token = || {
        let mut authorizer = authorizer.clone();
        let request = pb::AuthorizeRequest {
            subject: Some(token_subject(&token)),
            item: Some(item("oss:GetObject", &object("public/a.txt"))),
            min_revision: 0,
            explain: false,
        };
        async move {
            let answer = authorizer.authorize(request).await.unwrap().into_inner();
            decision(answer.result.as_ref().unwrap()) == pb::Decision::Allow
        }
    };
    // A new default version of the role's policy (a policy change: the session stays).
    let reader_policy = |version: Option<&'static str>| {
        let store = server.store.clone();
        let account = account.clone();
        async move {
            match version {
                Some(id) => {
                    store
                        .set_default_policy_version(&account, "read-bucket-a", id)
                        .await
                        .unwrap();
                }
                None => {
                    store
                        .create_policy_version(
                            &account,
                            "read-bucket-a",
                            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:PutObject","Resource":"*"}]}"#,
                            true,
                            RotateStrategy::None,
                        )
                        .await
                        .unwrap();
                }
            }
        }
    };
    assert!(about_token().await);
    reader_policy(None).await;
    eventually(
        "the policy's new version stops allowing",
        false,
        about_token,
    )
    .await;
    reader_policy(Some("v1")).await;
    eventually("the policy's first version allows again", true, about_token).await;

    let elsewhere = server
        .store
        .create_account("elsewhere")
        .await
        .unwrap()
        .value;
    user_with_policy(&server, &elsewhere.id, "target", "").await;
    let as_session = AuthorizerClient::new(svc.with(ClientCredential::Bearer(token.clone())));
    let target_arn = format!("acs:ram::{}:user/target", elsewhere.id.as_str());
    let ask_about_target = || {
        let mut as_session = as_session.clone();
        let request = about_arn(&target_arn, "oss:GetObject");
        async move { as_session.authorize(request).await }
    };
    let may_ask = || {
        let asked = ask_about_target();
        async move { asked.await.is_ok() }
    };
    assert_code(
        ask_about_target().await,
        Code::PermissionDenied,
        "NoPermission",
    );
    let reader_grant = || pb::GrantPlatformAuthorizeRequest {
        principal_arn: role_arn.clone(),
    };
    let mut operator = OperatorClient::new(server.root.clone());
    operator
        .grant_platform_authorize(reader_grant())
        .await
        .unwrap();
    eventually("the role's grant lets its session ask", true, may_ask).await;
    operator
        .revoke_platform_authorize(reader_grant())
        .await
        .unwrap();
    eventually("the revoked grant refuses its session", false, may_ask).await;

    // Revoking the role's sessions refuses the token as a subject too.
    RamClient::new(server.root.clone())
        .revoke_role_sessions(pb::GetRoleRequest {
            role_name: "reader".into(),
        })
        .await
        .unwrap();
    let ask_token = || pb::AuthorizeRequest {
        subject: Some(token_subject(&token)),
        item: Some(item("oss:GetObject", &object("public/a.txt"))),
        min_revision: 0,
        explain: false,
    };
    support::refused_eventually("InvalidSecurityToken.Revoked", || {
        let mut authorizer = authorizer.clone();
        let request = ask_token();
        async move { authorizer.authorize(request).await }
    })
    .await;

    // Another account's service may ask about this account's principals only with the
    // operator's platform-wide grant.
    let other = server
        .store
        .create_account("platform-services")
        .await
        .unwrap()
        .value;
    user_with_policy(&server, &other.id, "gateway", "").await;
    let (_, _, gateway) = server.key_for(&other.id, Some("gateway")).await;
    let mut gateway = AuthorizerClient::new(gateway);
    let svc_arn = format!("acs:ram::{}:user/svc", account.as_str());
    let ask_about_svc = || about_arn(&svc_arn, "tessera:Authorize");
    assert_code(
        gateway.authorize(ask_about_svc()).await,
        Code::PermissionDenied,
        "NoPermission",
    );
    let gateway_arn = format!("acs:ram::{}:user/gateway", other.id.as_str());
    let mut operator = OperatorClient::new(server.root.clone());
    operator
        .grant_platform_authorize(pb::GrantPlatformAuthorizeRequest {
            principal_arn: gateway_arn.clone(),
        })
        .await
        .unwrap();
    let asking = gateway.clone();
    eventually("the grant lets the gateway ask", true, || {
        let mut gateway = asking.clone();
        let request = ask_about_svc();
        async move { gateway.authorize(request).await.is_ok() }
    })
    .await;
    let answer = gateway
        .authorize(ask_about_svc())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        decision(answer.result.as_ref().unwrap()),
        pb::Decision::Allow
    );
    // The grant covers Authorize, not SimulatePrincipalPolicy.
    assert_code(
        AuthorizerClient::new(server.key_for(&other.id, Some("gateway")).await.2)
            .simulate_principal_policy(pb::SimulatePrincipalPolicyRequest {
                principal_arn: svc_arn.clone(),
                items: vec![item("tessera:Authorize", "*")],
                min_revision: 0,
            })
            .await,
        Code::PermissionDenied,
        "NoPermission",
    );
    operator
        .revoke_platform_authorize(pb::GrantPlatformAuthorizeRequest {
            principal_arn: gateway_arn,
        })
        .await
        .unwrap();
    eventually(
        "revoking the grant refuses the gateway again",
        false,
        || {
            let mut gateway = asking.clone();
            let request = ask_about_svc();
            async move { gateway.authorize(request).await.is_ok() }
        },
    )
    .await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_subjects_and_platform_grants_with_sqlite() {
    token_subjects_and_platform_grants(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_subjects_and_platform_grants_with_postgresql() {
    token_subjects_and_platform_grants(Backend::Postgres).await;
}
