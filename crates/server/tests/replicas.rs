#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! Two `tesserad` processes on one PostgreSQL database converge: a write through one is enforced
//! by the other (LISTEN/NOTIFY wake-up, polling fallback), `min_revision` gives read-your-writes
//! through either, and a replica whose database connections were cut catches up by itself.

mod support;

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use support::{ClientCredential, SignedChannel};
use tessera_credentials::Secret;
use tessera_proto::v1 as pb;
use tessera_proto::v1::authorizer_client::AuthorizerClient;
use tessera_proto::v1::ram_client::RamClient;

/// A `tesserad serve` child process and the address it serves on.
struct Replica {
    child: Child,
    addr: SocketAddr,
}

impl Replica {
    fn spawn(data: &Path, url: &str, master_key: &str, operator: (&str, &str)) -> Replica {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tesserad"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data)
            .args(["--database-url", url])
            .env("TESSERA_MASTER_KEY", master_key)
            .env("TESSERA_OPERATOR_ACCESS_KEY_ID", operator.0)
            .env("TESSERA_OPERATOR_ACCESS_KEY_SECRET", operator.1)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                // Keep draining after the caller stopped listening, so the child never blocks
                // on a full pipe.
                let _ = lines_tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut log = String::new();
        let addr = loop {
            let line = lines_rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|_| panic!("tesserad did not start; log:\n{log}"));
            log.push_str(&line);
            log.push('\n');
            if line.contains("tesserad is serving")
                && let Some(rest) = line.split("listen=").nth(1)
            {
                break rest.split_whitespace().next().unwrap().parse().unwrap();
            }
        };
        Replica { child, addr }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn object(account: &str, key: &str) -> String {
    format!("acs:oss:*:{account}:bucket/{key}")
}

async fn decide(
    channel: &SignedChannel,
    account: &str,
    principal: &str,
    min_revision: u64,
) -> pb::Decision {
    let answer = AuthorizerClient::new(channel.clone())
        .authorize(pb::AuthorizeRequest {
            subject: Some(pb::Subject {
                kind: Some(pb::subject::Kind::PrincipalArn(principal.into())),
                ..Default::default()
            }),
            item: Some(pb::AuthorizeItem {
                action: "oss:GetObject".into(),
                resource: object(account, "report.csv"),
                context: Vec::new(),
            }),
            min_revision,
            explain: false,
        })
        .await
        .unwrap()
        .into_inner();
    pb::Decision::try_from(answer.result.unwrap().decision).unwrap()
}

/// Polls `replica` until it decides `want` for `principal`; returns how long that took.
async fn converges(
    channel: &SignedChannel,
    account: &str,
    principal: &str,
    want: pb::Decision,
) -> Duration {
    let started = Instant::now();
    while decide(channel, account, principal, 0).await != want {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the other replica still does not decide {want:?} after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    started.elapsed()
}

const READ_BUCKET: &str =
    r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:GetObject","Resource":"*"}]}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_one_database_converge() {
    let postgres = support::Postgres::create("tessera_replicas_test").await;
    let dir = tempfile::tempdir().unwrap();
    let master_key = base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>());
    let operator = tessera_credentials::sts::new_long_term_access_key(&mut rand::rng());
    let operator_secret = String::from_utf8(operator.secret.expose().to_vec()).unwrap();
    let creds = (operator.id.as_str(), operator_secret.as_str());
    let a = Replica::spawn(&dir.path().join("a"), &postgres.url, &master_key, creds);
    let b = Replica::spawn(&dir.path().join("b"), &postgres.url, &master_key, creds);
    let root = ClientCredential::AccessKey {
        id: operator.id.clone(),
        secret: Secret::from(operator_secret.as_str()),
        security_token: None,
    };
    let via_a = SignedChannel::connect(a.addr, root.clone()).await;
    let via_b = SignedChannel::connect(b.addr, root).await;
    let mut ram_a = RamClient::new(via_a.clone());

    // The account (both replicas bootstrapped the same operator).
    let account = tessera_proto::v1::sts_client::StsClient::new(via_b.clone())
        .get_caller_identity(pb::GetCallerIdentityRequest {})
        .await
        .unwrap()
        .into_inner()
        .principal
        .unwrap()
        .account_id;
    let alice = format!("acs:ram::{account}:user/alice");

    // Alice is created through A; B learns of her and caches her (no policies yet).
    ram_a
        .create_user(pb::CreateUserRequest {
            user_name: "alice".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    converges(&via_b, &account, &alice, pb::Decision::ImplicitDeny).await;

    // A policy attached through A is enforced by B without min_revision (the feed) ...
    ram_a
        .create_policy(pb::CreatePolicyRequest {
            policy_name: "read-bucket".into(),
            policy_document: READ_BUCKET.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let attach = |user: &str| pb::AttachmentRequest {
        policy_type: "Custom".into(),
        policy_name: "read-bucket".into(),
        target_kind: pb::TargetKind::User as i32,
        target_name: user.into(),
    };
    ram_a.attach_policy(attach("alice")).await.unwrap();
    let took = converges(&via_b, &account, &alice, pb::Decision::Allow).await;
    eprintln!("replica B enforced the attachment after {took:?}");

    // ... and exactly with min_revision: the detach's revision, asked of B at once.
    let detached = ram_a
        .detach_policy(attach("alice"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        decide(&via_b, &account, &alice, detached.revision).await,
        pb::Decision::ImplicitDeny
    );

    // A key deactivated through A stops working on B.
    let key = ram_a
        .create_access_key(pb::CreateAccessKeyRequest {
            user_name: "alice".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let key_id = key.access_key.unwrap().access_key_id;
    let alice_on_b = via_b.with(ClientCredential::AccessKey {
        id: key_id.clone(),
        secret: Secret::from(key.access_key_secret.as_str()),
        security_token: None,
    });
    let whoami = || {
        let channel = alice_on_b.clone();
        async move {
            tessera_proto::v1::sts_client::StsClient::new(channel)
                .get_caller_identity(pb::GetCallerIdentityRequest {})
                .await
        }
    };
    let started = Instant::now();
    while whoami().await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the new key never worked on B"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    ram_a
        .update_access_key(pb::UpdateAccessKeyRequest {
            user_name: "alice".into(),
            user_access_key_id: key_id.clone(),
            status: "Inactive".into(),
        })
        .await
        .unwrap();
    support::refused_eventually("InvalidAccessKeyId.Inactive", whoami).await;

    // Cut every database connection of both replicas (their LISTEN connections too); a write
    // through A afterwards still reaches B: the pools reconnect, the feed catches up.
    terminate_connections(&postgres.url).await;
    let mut reattached = None;
    let started = Instant::now();
    while reattached.is_none() {
        match ram_a.attach_policy(attach("alice")).await {
            Ok(done) => reattached = Some(done.into_inner()),
            Err(status) => {
                assert!(
                    started.elapsed() < Duration::from_secs(10),
                    "A did not recover from the cut: {status:?}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    let took = converges(&via_b, &account, &alice, pb::Decision::Allow).await;
    eprintln!("after the cut, replica B enforced the attachment after {took:?}");

    drop(a);
    drop(b);
    postgres.drop_database().await;
}

/// Terminates every other session on the test's database.
async fn terminate_connections(url: &str) {
    use sqlx::{Connection as _, Executor as _};
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    conn.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .await
    .unwrap();
    conn.close().await.unwrap();
}
