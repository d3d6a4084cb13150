#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! The database becomes unreachable (a proxy in front of PostgreSQL cuts every connection and
//! refuses new ones), then comes back: `Authorize` keeps answering from the cache for the
//! principals the server holds, fails closed with `UNAVAILABLE` for the others, admin writes
//! fail cleanly, and everything recovers by itself — nothing written before is lost. The
//! server says so in its metrics: `tessera_store_reachable` drops to 0 and comes back to 1, and
//! answers served meanwhile count in `tessera_authorize_degraded_total`.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use support::{Backend, CuttableProxy, TestServer};
use tessera_proto::v1 as pb;
use tessera_proto::v1::authorizer_client::AuthorizerClient;
use tessera_proto::v1::ram_client::RamClient;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tonic::Code;

const READ_BUCKET: &str =
    r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:GetObject","Resource":"*"}]}"#;

fn ask(account: &str, user: &str) -> pb::AuthorizeRequest {
    pb::AuthorizeRequest {
        subject: Some(pb::Subject {
            kind: Some(pb::subject::Kind::PrincipalArn(format!(
                "acs:ram::{account}:user/{user}"
            ))),
            ..Default::default()
        }),
        item: Some(pb::AuthorizeItem {
            action: "oss:GetObject".into(),
            resource: format!("acs:oss:*:{account}:bucket/report.csv"),
            context: Vec::new(),
        }),
        min_revision: 0,
        explain: false,
    }
}

fn decision(answer: &pb::AuthorizeResponse) -> pb::Decision {
    pb::Decision::try_from(answer.result.as_ref().unwrap().decision).unwrap()
}

/// The value of `metric` (a series without labels) at `GET /metrics` (0 when absent).
async fn metric(addr: SocketAddr, metric: &str) -> f64 {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
        .lines()
        .find_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            (series == metric).then(|| value.parse().ok()).flatten()
        })
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_from_cache_while_the_database_is_away() {
    let proxy = CuttableProxy::start(support::pg_upstream()).await;
    let server = TestServer::start_with(Backend::Postgres, "tessera_degraded_test", |config| {
        config.database_url = config.database_url.as_deref().map(|url| proxy.url_for(url));
    })
    .await;
    let account = server.operator.as_str().to_owned();
    let mut ram = RamClient::new(server.root.clone());
    let mut authorizer = AuthorizerClient::new(server.root.clone());
    for user in ["alice", "bob"] {
        ram.create_user(pb::CreateUserRequest {
            user_name: user.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    }
    ram.create_policy(pb::CreatePolicyRequest {
        policy_name: "read-bucket".into(),
        policy_document: READ_BUCKET.into(),
        ..Default::default()
    })
    .await
    .unwrap();
    let attached = ram
        .attach_policy(pb::AttachmentRequest {
            target_kind: pb::TargetKind::User as i32,
            target_name: "alice".into(),
            policy_name: "read-bucket".into(),
            policy_type: "Custom".into(),
        })
        .await
        .unwrap()
        .into_inner();
    // Alice is asked about (and so cached) at the attachment's revision; bob never is.
    let mut with_revision = ask(&account, "alice");
    with_revision.min_revision = attached.revision;
    let answer = authorizer
        .authorize(with_revision)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(decision(&answer), pb::Decision::Allow);
    let addr = server.running.addr;
    assert_eq!(metric(addr, "tessera_store_reachable").await, 1.0);
    let degraded_before = metric(addr, "tessera_authorize_degraded_total").await;

    proxy.cut();

    // Cached: still answered, the same way.
    let answer = authorizer
        .authorize(ask(&account, "alice"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(decision(&answer), pb::Decision::Allow);
    // Not cached: fails closed, promptly (the store's acquire timeout, not a hang).
    let started = Instant::now();
    let refused = authorizer
        .authorize(ask(&account, "bob"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");
    assert!(
        refused.message().starts_with("ServiceUnavailable: "),
        "{refused:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(15));
    // Admin writes fail cleanly.
    let write = ram
        .create_user(pb::CreateUserRequest {
            user_name: "carol".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(write.code(), Code::Unavailable, "{write:?}");
    // Once the server has noticed (its change feed's next read fails), it says so, and counts
    // the answers it serves from the cache.
    let deadline = Instant::now() + Duration::from_secs(20);
    while metric(addr, "tessera_store_reachable").await != 0.0 {
        assert!(Instant::now() < deadline, "the outage is not reported");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for _ in 0..3 {
        let answer = authorizer
            .authorize(ask(&account, "alice"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(decision(&answer), pb::Decision::Allow);
    }
    let degraded = metric(addr, "tessera_authorize_degraded_total").await;
    assert!(
        degraded >= degraded_before + 3.0,
        "{degraded_before} → {degraded}"
    );

    proxy.restore();

    // Recovers by itself: the write goes through, bob is decided, alice's grant is intact.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match ram
            .create_user(pb::CreateUserRequest {
                user_name: "carol".into(),
                ..Default::default()
            })
            .await
        {
            Ok(_) => break,
            Err(status) => {
                assert!(Instant::now() < deadline, "no recovery: {status:?}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    let answer = authorizer
        .authorize(ask(&account, "bob"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(decision(&answer), pb::Decision::ImplicitDeny);
    let answer = authorizer
        .authorize(ask(&account, "alice"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(decision(&answer), pb::Decision::Allow);
    let users = ram
        .list_users(pb::ListRequest::default())
        .await
        .unwrap()
        .into_inner();
    let names: Vec<_> = users.users.iter().map(|u| u.user_name.as_str()).collect();
    assert_eq!(names, ["alice", "bob", "carol"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while metric(addr, "tessera_store_reachable").await != 1.0 {
        assert!(Instant::now() < deadline, "the recovery is not reported");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Answers are no longer counted as degraded.
    let settled = metric(addr, "tessera_authorize_degraded_total").await;
    authorizer.authorize(ask(&account, "alice")).await.unwrap();
    assert_eq!(
        metric(addr, "tessera_authorize_degraded_total").await,
        settled
    );
    server.stop().await;
}
