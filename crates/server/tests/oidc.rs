#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! OIDC federation end to end: `tessera_server::run` on 127.0.0.1:0 and a real OIDC issuer on
//! loopback ([`issuer::Issuer`]: discovery, JWKS, tokens signed with keys it
//! generates).
//!
//! - [`providers`]: the RAM operations on OIDC providers over gRPC (CRUD, client ids,
//!   fingerprints, RAM's errors, authorization, `https://` required unless allowed).
//! - [`exchanges`]: `AssumeRoleWithOIDC` over unauthenticated gRPC: a good exchange (and the
//!   session it opens), wrong audience, wrong issuer, expired, signed by another key,
//!   `alg: none`, a subject the trust policy does not admit, a missing provider or role, key
//!   rotation at the issuer, an HTTPS issuer pinned by fingerprint, the issuer going down
//!   (cached keys keep working).
//! - [`over_http`]: the same over Alibaba's HTTP API, unsigned, as credentials-python sends it.
//! - the keys' TTL running out while the issuer is down, and the per-account rate limit.

#[path = "support/oidc.rs"]
mod issuer;
mod support;

use std::net::SocketAddr;

use issuer::{Issuer, KeyKind, SigningKey};
use jiff::Timestamp;
use serde_json::Value;
use support::{Backend, ClientCredential, TestServer, assert_code};
use tessera_proto::v1 as pb;
use tessera_proto::v1::ram_client::RamClient;
use tessera_proto::v1::sts_client::StsClient;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tonic::Code;
use tonic::transport::Channel;

const FINGERPRINT: &str = "902ef2deeb3c5b13ea4c3d5193629309e231ae55";

/// Runs `$scenario(&TestServer)` on SQLite and PostgreSQL, with plain-HTTP issuers allowed.
macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let server = start(Backend::Sqlite, stringify!($scenario)).await;
                super::$scenario(&server).await;
                server.stop().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgresql() {
                let server = start(Backend::Postgres, stringify!($scenario)).await;
                super::$scenario(&server).await;
                server.stop().await;
            }
        }
    )*};
}

on_both_backends!(providers, exchanges, over_http);

async fn start(backend: Backend, prefix: &str) -> TestServer {
    TestServer::start_with(backend, prefix, |c| c.oidc.allow_http_issuers = true).await
}

fn create(name: &str, issuer: &str, client_ids: &[&str]) -> pb::CreateOidcProviderRequest {
    pb::CreateOidcProviderRequest {
        oidc_provider_name: name.into(),
        issuer_url: issuer.into(),
        client_ids: client_ids.iter().map(|c| (*c).to_owned()).collect(),
        ..Default::default()
    }
}

fn named(name: &str) -> pb::OidcProviderRef {
    pb::OidcProviderRef {
        oidc_provider_name: name.into(),
    }
}

async fn providers(server: &TestServer) {
    let mut ram = RamClient::new(server.root.clone());
    let account = server.operator.as_str();
    let created = ram
        .create_oidc_provider(pb::CreateOidcProviderRequest {
            fingerprints: vec![FINGERPRINT.to_ascii_uppercase()],
            description: "The cluster.".into(),
            issuance_limit_time: 6,
            ..create(
                "K8s",
                "https://issuer.example/cluster",
                &["sts.aliyuncs.com"],
            )
        })
        .await
        .unwrap()
        .into_inner();
    assert!(created.revision > 0);
    let p = created.oidc_provider.unwrap();
    assert_eq!(p.arn, format!("acs:ram::{account}:oidc-provider/K8s"));
    assert_eq!(p.oidc_provider_name, "K8s");
    assert_eq!(p.issuer_url, "https://issuer.example/cluster");
    assert_eq!(p.client_ids, ["sts.aliyuncs.com"]);
    assert_eq!(p.fingerprints, [FINGERPRINT]);
    assert_eq!(p.description, "The cluster.");
    assert_eq!(p.issuance_limit_time, 6);

    let got = ram
        .get_oidc_provider(named("k8s"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.oidc_provider.unwrap(), p);
    assert_code(
        ram.create_oidc_provider(create("k8S", "https://other.example", &[]))
            .await,
        Code::AlreadyExists,
        "EntityAlreadyExists.OIDCProvider",
    );
    assert_code(
        ram.get_oidc_provider(named("nope")).await,
        Code::NotFound,
        "EntityNotExist.OIDCProvider",
    );
    assert_code(
        ram.create_oidc_provider(create("bad name", "https://x.example", &[]))
            .await,
        Code::InvalidArgument,
        "InvalidParameter.OIDCProviderName.InvalidChars",
    );
    assert_code(
        ram.create_oidc_provider(create("noissuer", "", &[])).await,
        Code::InvalidArgument,
        "MissingIssuerUrl",
    );

    // Client ids and fingerprints, one at a time or all at once.
    let added = ram
        .add_client_id_to_oidc_provider(pb::OidcProviderClientIdRequest {
            oidc_provider_name: "K8s".into(),
            client_id: "web".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        added.oidc_provider.unwrap().client_ids,
        ["sts.aliyuncs.com", "web"]
    );
    assert_code(
        ram.add_client_id_to_oidc_provider(pb::OidcProviderClientIdRequest {
            oidc_provider_name: "K8s".into(),
            client_id: "web".into(),
        })
        .await,
        Code::AlreadyExists,
        "EntityAlreadyExists.OIDCProvider.ClientId",
    );
    assert_code(
        ram.remove_client_id_from_oidc_provider(pb::OidcProviderClientIdRequest {
            oidc_provider_name: "K8s".into(),
            client_id: "nope".into(),
        })
        .await,
        Code::NotFound,
        "EntityNotExist.OIDCProvider.ClientId",
    );
    assert_code(
        ram.add_client_id_to_oidc_provider(pb::OidcProviderClientIdRequest {
            oidc_provider_name: "K8s".into(),
            client_id: String::new(),
        })
        .await,
        Code::InvalidArgument,
        "MissingClientId",
    );
    let removed = ram
        .remove_fingerprint_from_oidc_provider(pb::OidcProviderFingerprintRequest {
            oidc_provider_name: "K8s".into(),
            fingerprint: FINGERPRINT.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(removed.oidc_provider.unwrap().fingerprints.is_empty());
    let updated = ram
        .update_oidc_provider(pb::UpdateOidcProviderRequest {
            oidc_provider_name: "K8s".into(),
            client_ids: Some(pb::StringList {
                items: vec!["a".into(), "b".into()],
            }),
            new_description: Some(String::new()),
            issuance_limit_time: None,
        })
        .await
        .unwrap()
        .into_inner()
        .oidc_provider
        .unwrap();
    assert_eq!(updated.client_ids, ["a", "b"]);
    assert_eq!(updated.description, "");
    assert_eq!(updated.issuance_limit_time, 6);

    ram.create_oidc_provider(create("Second", "http://127.0.0.1:9", &["a"]))
        .await
        .unwrap();
    let listed = ram
        .list_oidc_providers(pb::ListRequest {
            page: Some(pb::Page {
                marker: String::new(),
                max_items: 1,
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.oidc_providers.len(), 1);
    assert!(listed.is_truncated);
    assert_eq!(listed.oidc_providers[0].oidc_provider_name, "K8s");

    // A user needs ram:* grants on the provider.
    let user = tessera_store::NewUser {
        name: "dev".into(),
        ..Default::default()
    };
    tessera_store::UserStore::create_user(&server.store, &server.operator, &user)
        .await
        .unwrap();
    let (_, _, dev) = server.key_for(&server.operator, Some("dev")).await;
    let mut as_dev = RamClient::new(dev);
    assert_code(
        as_dev.get_oidc_provider(named("K8s")).await,
        Code::PermissionDenied,
        "NoPermission",
    );
    assert_code(
        as_dev.delete_oidc_provider(named("K8s")).await,
        Code::PermissionDenied,
        "NoPermission",
    );

    ram.delete_oidc_provider(named("k8s")).await.unwrap();
    assert_code(
        ram.delete_oidc_provider(named("k8s")).await,
        Code::NotFound,
        "EntityNotExist.OIDCProvider",
    );
}

/// Without `oidc_allow_http_issuers`, issuers must be `https://`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_issuers_are_refused_by_default() {
    let server = TestServer::start(Backend::Sqlite, "oidc_http").await;
    let mut ram = RamClient::new(server.root.clone());
    assert_code(
        ram.create_oidc_provider(create("local", "http://127.0.0.1:9", &["a"]))
            .await,
        Code::InvalidArgument,
        "InvalidParameter.IssuerUrl.Format",
    );
    ram.create_oidc_provider(create("remote", "https://issuer.example", &["a"]))
        .await
        .unwrap();
    server.stop().await;
}

// --- AssumeRoleWithOIDC ---

const AUDIENCE: &str = "sts.aliyuncs.com";
const SUBJECT: &str = "system:serviceaccount:apps:web";

fn unix_now() -> i64 {
    Timestamp::now().as_second()
}

/// The trust policy of a role for service accounts of namespace `apps` of `provider_arn`.
fn trust(provider_arn: &str, issuer: &str) -> String {
    serde_json::json!({
        "Version": "1",
        "Statement": [{
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Principal": {"Federated": [provider_arn]},
            "Condition": {
                "StringEquals": {"oidc:iss": issuer, "oidc:aud": AUDIENCE},
                "StringLike": {"oidc:sub": "system:serviceaccount:apps:*"}
            }
        }]
    })
    .to_string()
}

/// A provider `name` for `issuer` and a role `role` trusting it; returns the two ARNs.
async fn federate(
    server: &TestServer,
    issuer: &Issuer,
    name: &str,
    role: &str,
) -> (String, String) {
    let mut ram = RamClient::new(server.root.clone());
    let provider = ram
        .create_oidc_provider(pb::CreateOidcProviderRequest {
            fingerprints: issuer.fingerprint.iter().cloned().collect(),
            ..create(name, &issuer.url, &[AUDIENCE])
        })
        .await
        .unwrap()
        .into_inner()
        .oidc_provider
        .unwrap();
    let role = ram
        .create_role(pb::CreateRoleRequest {
            role_name: role.into(),
            assume_role_policy_document: trust(&provider.arn, &issuer.url),
            max_session_duration: 7200,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .role
        .unwrap();
    (provider.arn, role.arn)
}

/// An unauthenticated `Sts` client.
async fn anonymous_sts(addr: SocketAddr) -> StsClient<Channel> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    StsClient::new(channel)
}

fn exchange(provider: &str, role: &str, token: &str) -> pb::AssumeRoleWithOidcRequest {
    pb::AssumeRoleWithOidcRequest {
        oidc_provider_arn: provider.into(),
        role_arn: role.into(),
        oidc_token: token.into(),
        role_session_name: "pod-1".into(),
        ..Default::default()
    }
}

async fn exchanges(server: &TestServer) {
    let issuer = Issuer::start(KeyKind::Rs256).await;
    let (provider, role) = federate(server, &issuer, "cluster", "web-reader").await;
    let mut sts = anonymous_sts(server.running.addr).await;
    let now = unix_now();
    let token = issuer.token(SUBJECT, AUDIENCE, now);

    // A good exchange, and the session it opens.
    let answer = sts
        .assume_role_with_oidc(pb::AssumeRoleWithOidcRequest {
            duration_seconds: 7200,
            ..exchange(&provider, &role, &token)
        })
        .await
        .unwrap()
        .into_inner();
    let account = server.operator.as_str();
    let user = answer.assumed_role_user.unwrap();
    assert_eq!(
        user.arn,
        format!("acs:ram::{account}:assumed-role/web-reader/pod-1")
    );
    assert!(user.assumed_role_id.ends_with(":pod-1"));
    let info = answer.oidc_token_info.unwrap();
    assert_eq!(info.subject, SUBJECT);
    assert_eq!(info.issuer, issuer.url);
    assert_eq!(info.client_ids, [AUDIENCE]);
    assert_eq!(info.issuance_time.unwrap().seconds, now);
    assert_eq!(info.expiration_time.unwrap().seconds, now + 3600);
    assert_eq!(info.verification_info, "Success");
    let credentials = answer.credentials.unwrap();
    assert!(credentials.access_key_id.starts_with("STS."));
    let expiration = credentials.expiration.as_ref().unwrap().seconds;
    assert!((7190..=7210).contains(&(expiration - now)), "{expiration}");
    let session = server.root.with(ClientCredential::AccessKey {
        id: credentials.access_key_id.clone(),
        secret: tessera_credentials::Secret::from(credentials.access_key_secret.as_str()),
        security_token: Some(credentials.security_token.clone()),
    });
    let identity = StsClient::new(session)
        .get_caller_identity(pb::GetCallerIdentityRequest {})
        .await
        .unwrap()
        .into_inner();
    let principal = identity.principal.unwrap();
    assert_eq!(principal.arn, user.arn);
    assert_eq!(principal.identity_type, "AssumedRoleUser");

    // Refusals, each with Alibaba's code.
    let claims = issuer.claims(SUBJECT, AUDIENCE, now);
    let key = issuer.key();
    let with = |change: &dyn Fn(&mut Value)| {
        let mut c = claims.clone();
        change(&mut c);
        key.sign(&c)
    };
    let b64 = |v: &Value| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let none = format!(
        "{}.{}.",
        b64(&serde_json::json!({"alg": "none", "kid": key.kid})),
        b64(&claims)
    );
    let cases: Vec<(&str, pb::AssumeRoleWithOidcRequest, Code, &str)> = vec![
        (
            "wrong audience",
            exchange(
                &provider,
                &role,
                &with(&|c| c["aud"] = "someone-else".into()),
            ),
            Code::Unauthenticated,
            "AuthenticationFail.OIDCToken.AudienceNotMatch",
        ),
        (
            "wrong issuer",
            exchange(
                &provider,
                &role,
                &with(&|c| c["iss"] = "https://evil.example".into()),
            ),
            Code::Unauthenticated,
            "AuthenticationFail.OIDCToken.Invalid",
        ),
        (
            "expired",
            exchange(&provider, &role, &with(&|c| c["exp"] = (now - 300).into())),
            Code::Unauthenticated,
            "AuthenticationFail.OIDCToken.Expired",
        ),
        (
            "signed by another key",
            exchange(
                &provider,
                &role,
                &SigningKey::generate(KeyKind::Es256, &key.kid).sign(&claims),
            ),
            Code::Unauthenticated,
            "AuthenticationFail.OIDCToken.InvalidSignature",
        ),
        (
            "alg none",
            exchange(&provider, &role, &none),
            Code::Unauthenticated,
            "AuthenticationFail.OIDCToken.Invalid",
        ),
        (
            "a subject the trust policy does not admit",
            exchange(
                &provider,
                &role,
                &with(&|c| c["sub"] = "system:serviceaccount:kube-system:admin".into()),
            ),
            Code::PermissionDenied,
            "NoPermission",
        ),
        (
            "no such provider",
            exchange(&provider.replace("cluster", "nope"), &role, &token),
            Code::NotFound,
            "EntityNotExist.OIDCProvider",
        ),
        (
            "no such role",
            exchange(&provider, &role.replace("web-reader", "ghost"), &token),
            Code::NotFound,
            "EntityNotExist.Role",
        ),
        (
            "malformed provider ARN",
            exchange("acs:ram::1:oidc-provider/x", &role, &token),
            Code::InvalidArgument,
            "InvalidParameter.OIDCProviderArn",
        ),
        (
            "missing token",
            exchange(&provider, &role, ""),
            Code::InvalidArgument,
            "MissingOIDCToken",
        ),
        (
            "duration above the role's maximum",
            pb::AssumeRoleWithOidcRequest {
                duration_seconds: 7201,
                ..exchange(&provider, &role, &token)
            },
            Code::InvalidArgument,
            "InvalidParameter.DurationSeconds",
        ),
        (
            "bad session policy",
            pb::AssumeRoleWithOidcRequest {
                policy: "{".into(),
                ..exchange(&provider, &role, &token)
            },
            Code::InvalidArgument,
            "InvalidParameter.PolicyGrammar",
        ),
    ];
    for (name, request, grpc, code) in cases {
        let result = sts.assume_role_with_oidc(request).await;
        let status = result.as_ref().err().map(|s| s.message().to_owned());
        assert_code(result, grpc, code);
        assert!(
            !status.unwrap_or_default().contains(&token),
            "{name}: the token is never echoed"
        );
    }

    // A valid token of a provider the role's trust policy does not name: NoPermission.
    let other = Issuer::start(KeyKind::Es256).await;
    let (other_provider, _) = federate(server, &other, "other", "other-role").await;
    assert_code(
        sts.assume_role_with_oidc(exchange(
            &other_provider,
            &role,
            &other.token(SUBJECT, AUDIENCE, now),
        ))
        .await,
        Code::PermissionDenied,
        "NoPermission",
    );

    // Rotation at the issuer: the new kid is fetched at once.
    issuer.rotate(KeyKind::Es256);
    let rotated = issuer.token(SUBJECT, AUDIENCE, now);
    sts.assume_role_with_oidc(exchange(&provider, &role, &rotated))
        .await
        .unwrap();

    // An HTTPS issuer pinned by its certificate's fingerprint.
    let tls = Issuer::start_tls(KeyKind::Es256).await;
    let (tls_provider, tls_role) = federate(server, &tls, "pinned", "pinned-role").await;
    sts.assume_role_with_oidc(exchange(
        &tls_provider,
        &tls_role,
        &tls.token(SUBJECT, AUDIENCE, now),
    ))
    .await
    .unwrap();

    // The issuer goes down: the cached keys keep working (until their TTL, an hour here).
    issuer.stop();
    sts.assume_role_with_oidc(exchange(&provider, &role, &rotated))
        .await
        .unwrap();

    // Every exchange is in the role account's audit trail, granted and refused, without the
    // token: the provider as the principal, the role as the resource.
    // 4 granted; the refusals after `RoleArn` named the account: 10 of the 12 cases above
    // (not the missing token, nor the malformed provider ARN) and the untrusted provider.
    let events = audited_exchanges(server, 15).await;
    let granted: Vec<_> = events.iter().filter(|e| e.decision == "Allow").collect();
    assert_eq!(granted.len(), 4, "{events:#?}");
    assert!(
        granted
            .iter()
            .any(|e| e.principal_arn == provider && e.resource == role)
    );
    let expired = events
        .iter()
        .find(|e| e.error_code == "AuthenticationFail.OIDCToken.Expired")
        .unwrap();
    assert_eq!(expired.decision, "Deny");
    assert_eq!(expired.principal_arn, provider);
    let refused_subject = events
        .iter()
        .find(|e| e.error_code == "NoPermission" && e.principal_arn == provider)
        .unwrap();
    assert!(
        refused_subject
            .detail
            .contains("system:serviceaccount:kube-system:admin"),
        "{refused_subject:?}"
    );
    for event in &events {
        assert_eq!(event.event_name, "AssumeRoleWithOIDC");
        assert!(
            !format!("{event:?}").contains(&token),
            "no token in {event:?}"
        );
    }
}

/// Polls the audit trail of the server's tenant until `count` `AssumeRoleWithOIDC` events are
/// there (the writer stores them off the request path).
async fn audited_exchanges(server: &TestServer, count: usize) -> Vec<pb::AuditEvent> {
    let mut audit = tessera_proto::v1::audit_client::AuditClient::new(server.root.clone());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let mut events = Vec::new();
        let mut next_token = String::new();
        loop {
            let page = audit
                .lookup_events(pb::LookupEventsRequest {
                    event_name: "AssumeRoleWithOIDC".into(),
                    max_results: 50,
                    next_token,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner();
            events.extend(page.events);
            if page.next_token.is_empty() {
                break;
            }
            next_token = page.next_token;
        }
        if events.len() >= count || std::time::Instant::now() > deadline {
            assert_eq!(events.len(), count, "{events:#?}");
            return events;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

// --- over Alibaba's HTTP API, unsigned ---

/// `GET /?<query>` without a signature, as credentials-python sends `AssumeRoleWithOIDC`.
async fn unsigned_get(addr: SocketAddr, params: &[(&str, &str)]) -> (u16, Value) {
    let owned: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let query = tessera_credentials::signature::encode_params(&owned);
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "GET /?{query} HTTP/1.1\r\nhost: {addr}\r\nuser-agent: test\r\nconnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, serde_json::from_str(body.trim()).unwrap())
}

async fn over_http(server: &TestServer) {
    let issuer = Issuer::start(KeyKind::Es256).await;
    let (provider, role) = federate(server, &issuer, "http-cluster", "http-role").await;
    let now = unix_now();
    let token = issuer.token(SUBJECT, AUDIENCE, now);
    let timestamp = Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    let call = |token: String| {
        let provider = provider.clone();
        let role = role.clone();
        let timestamp = timestamp.clone();
        async move {
            unsigned_get(
                server.running.addr,
                &[
                    ("Action", "AssumeRoleWithOIDC"),
                    ("Format", "JSON"),
                    ("Version", "2015-04-01"),
                    ("DurationSeconds", "3600"),
                    ("OIDCProviderArn", &provider),
                    ("RoleArn", &role),
                    ("OIDCToken", &token),
                    ("RoleSessionName", "pod-1"),
                    ("Timestamp", &timestamp),
                ],
            )
            .await
        }
    };
    let (status, body) = call(token.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["RequestId"].is_string());
    assert!(
        body["Credentials"]["AccessKeyId"]
            .as_str()
            .unwrap()
            .starts_with("STS.")
    );
    assert_eq!(body["OIDCTokenInfo"]["Subject"], SUBJECT);
    assert_eq!(body["OIDCTokenInfo"]["ClientIds"], AUDIENCE);
    assert_eq!(
        body["AssumedRoleUser"]["Arn"],
        format!(
            "acs:ram::{}:assumed-role/http-role/pod-1",
            server.operator.as_str()
        )
    );
    let (status, body) = call(format!("{token}x")).await;
    assert_eq!(
        (status, body["Code"].as_str()),
        (403, Some("AuthenticationFail.OIDCToken.InvalidSignature")),
        "{body}"
    );
    // Only AssumeRoleWithOIDC is served unsigned.
    let (status, body) = unsigned_get(
        server.running.addr,
        &[
            ("Action", "GetCallerIdentity"),
            ("Version", "2015-04-01"),
            ("Format", "JSON"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["Code"].as_str()),
        (400, Some("MissingSignature")),
        "{body}"
    );
}

/// With a 1-second key TTL, an issuer that went down stops being usable once its keys expire:
/// `ServiceUnavailable.OIDCProvider`, 503 over HTTP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_expire_while_the_issuer_is_down() {
    let server = TestServer::start_with(Backend::Sqlite, "oidc_ttl", |c| {
        c.oidc.allow_http_issuers = true;
        c.oidc.jwks_ttl = std::time::Duration::from_secs(1);
    })
    .await;
    let issuer = Issuer::start(KeyKind::Es256).await;
    let (provider, role) = federate(&server, &issuer, "ttl", "ttl-role").await;
    let mut sts = anonymous_sts(server.running.addr).await;
    let token = issuer.token(SUBJECT, AUDIENCE, unix_now());
    sts.assume_role_with_oidc(exchange(&provider, &role, &token))
        .await
        .unwrap();
    issuer.stop();
    support::refused_eventually("ServiceUnavailable.OIDCProvider", || {
        let mut sts = sts.clone();
        let request = exchange(&provider, &role, &token);
        async move { sts.assume_role_with_oidc(request).await }
    })
    .await;
    let status = sts
        .assume_role_with_oidc(exchange(&provider, &role, &token))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert!(
        status.message().contains("could not be fetched"),
        "{status:?}"
    );
    server.stop().await;
}

/// `AssumeRoleWithOIDC` is limited per account (the role's), like `AssumeRole`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exchanges_are_rate_limited_per_account() {
    let server = TestServer::start_with(Backend::Sqlite, "oidc_rate", |c| {
        c.oidc.allow_http_issuers = true;
        c.limits
            .rate_limits
            .insert("AssumeRoleWithOIDC".to_owned(), 1);
    })
    .await;
    let issuer = Issuer::start(KeyKind::Es256).await;
    let (provider, role) = federate(&server, &issuer, "rated", "rated-role").await;
    let mut sts = anonymous_sts(server.running.addr).await;
    let token = issuer.token(SUBJECT, AUDIENCE, unix_now());
    sts.assume_role_with_oidc(exchange(&provider, &role, &token))
        .await
        .unwrap();
    assert_code(
        sts.assume_role_with_oidc(exchange(&provider, &role, &token))
            .await,
        Code::ResourceExhausted,
        "Throttling.User",
    );
    server.stop().await;
}
