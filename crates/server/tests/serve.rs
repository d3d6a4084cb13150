#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! `tessera_server::run` on a real listener, checked with real clients: tonic-health's and
//! the reflection client over gRPC, hyper over HTTP, on the same port.

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use base64::Engine as _;
use http_body_util::{BodyExt as _, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tessera_credentials::{MasterKey, Sealer, Secret};
use tessera_server::{Config, ServerError};
use tessera_store::{
    AccountId, AccountStore, KeyStore, OperatorStore, Page, SqlStore, StoreConfig, SystemStore,
};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

/// A server started with [`start`].
struct Running {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    handle: JoinHandle<Result<(), ServerError>>,
}

impl Running {
    /// Triggers shutdown and waits (at most 5 s) for `run` to return.
    async fn shutdown(mut self) -> Result<(), ServerError> {
        let _ = self.stop.take().unwrap().send(());
        let started = Instant::now();
        let result = tokio::time::timeout(Duration::from_secs(5), self.handle)
            .await
            .expect("run did not return within 5 s of the shutdown signal")
            .unwrap();
        assert!(started.elapsed() < Duration::from_secs(5));
        result
    }
}

async fn start(config: Config) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let handle = tokio::spawn(tessera_server::run(config, listener, async move {
        let _ = stopped.await;
    }));
    let running = Running {
        addr,
        stop: Some(stop),
        handle,
    };
    wait_ready(&running).await;
    running
}

/// Polls `/healthz` until it answers 200 (bootstrap runs before serving).
async fn wait_ready(running: &Running) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(!running.handle.is_finished(), "run returned before serving");
        if let Ok((200, _, _)) = http_get(running.addr, "/healthz").await {
            return;
        }
        assert!(Instant::now() < deadline, "server not ready within 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// GET over HTTP/1.1: (status, content type, body).
async fn http_get(addr: SocketAddr, path: &str) -> Result<(u16, String, String), String> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let uri = format!("http://{addr}{path}").parse().unwrap();
    let response = client.get(uri).await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((
        status,
        content_type,
        String::from_utf8(body.to_vec()).unwrap(),
    ))
}

async fn channel(addr: SocketAddr) -> Channel {
    Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

async fn health(channel: &Channel, service: &str) -> i32 {
    HealthClient::new(channel.clone())
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .status
}

async fn reflected_services(channel: &Channel) -> Vec<String> {
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = ServerReflectionClient::new(channel.clone())
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let response = responses.message().await.unwrap().unwrap();
    match response.message_response {
        Some(MessageResponse::ListServicesResponse(list)) => {
            list.service.into_iter().map(|s| s.name).collect()
        }
        other => panic!("unexpected reflection response {other:?}"),
    }
}

/// The gRPC and HTTP checks every backend must pass. Returns the JWKS document.
async fn check_surface(addr: SocketAddr) -> serde_json::Value {
    let channel = channel(addr).await;
    assert_eq!(health(&channel, "").await, ServingStatus::Serving as i32);
    for service in tessera_server::SERVICES {
        assert_eq!(
            health(&channel, service).await,
            ServingStatus::Serving as i32
        );
    }
    let services = reflected_services(&channel).await;
    for expected in [
        "tessera.v1.Authorizer",
        "tessera.v1.Sts",
        "tessera.v1.Ram",
        "tessera.v1.Operator",
        "grpc.health.v1.Health",
    ] {
        assert!(
            services.iter().any(|s| s == expected),
            "{expected} not in {services:?}"
        );
    }

    let (status, _, body) = http_get(addr, "/healthz").await.unwrap();
    assert_eq!((status, body.trim()), (200, "ok"));
    let (status, _, _) = http_get(addr, "/no-such-page").await.unwrap();
    assert_eq!(status, 404);
    let (status, content_type, body) = http_get(addr, "/.well-known/jwks.json").await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(content_type, "application/json");
    let jwks: serde_json::Value = serde_json::from_str(&body).unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1, "{body}");
    assert_eq!(keys[0]["kty"], "OKP");
    assert_eq!(keys[0]["crv"], "Ed25519");
    assert_eq!(keys[0]["alg"], "EdDSA");
    // The JWKS is what offline verifiers load.
    tessera_credentials::TokenVerifier::from_jwks("tessera", &body).unwrap();
    jwks
}

async fn open_store(url: &str) -> SqlStore {
    SqlStore::connect(&StoreConfig::new(url)).await.unwrap()
}

fn sealer_from(master_key_base64: &str) -> Sealer {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(master_key_base64.trim())
        .unwrap();
    Sealer::new(MasterKey::new(1, &bytes).unwrap())
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// What `operator.json` holds.
struct OperatorFile {
    account: AccountId,
    key_id: String,
    secret: String,
}

fn read_operator_file(dir: &Path) -> OperatorFile {
    let text = std::fs::read_to_string(dir.join("operator.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    OperatorFile {
        account: AccountId::parse(json["AccountId"].as_str().unwrap()).unwrap(),
        key_id: json["AccessKeyId"].as_str().unwrap().to_owned(),
        secret: json["AccessKeySecret"].as_str().unwrap().to_owned(),
    }
}

/// The operator credential in `operator.json` is the one sealed in the store, under the
/// operator's account root, and the store holds one operator, one account and one signing key.
async fn check_bootstrapped_store(store: &SqlStore, operator: &OperatorFile, sealer: &Sealer) {
    assert_eq!(
        store.operator_account().await.unwrap().as_ref(),
        Some(&operator.account)
    );
    let owner = store
        .find_access_key(&operator.key_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(owner.account, operator.account);
    assert_eq!(owner.user_name, None);
    let secret = sealer
        .open(
            &owner.sealed_secret,
            format!("access-key:{}", operator.key_id).as_bytes(),
        )
        .unwrap();
    assert_eq!(secret, Secret::from(operator.secret.as_str()));
    assert_eq!(
        store
            .list_access_keys(&operator.account, None)
            .await
            .unwrap()
            .len(),
        1
    );
    let accounts = store.list_accounts(&Page::first(100)).await.unwrap();
    assert_eq!(accounts.items.len(), 1);
    assert_eq!(accounts.items[0].name, "operator");
    let signing = store.list_signing_keys().await.unwrap();
    assert_eq!(signing.len(), 1);
    let der = sealer
        .open(
            &signing[0].sealed_private_key,
            format!("signing-key:{}", signing[0].kid).as_bytes(),
        )
        .unwrap();
    let key = tessera_credentials::SigningKey::from_pkcs8_der(&der, Some(&signing[0].kid)).unwrap();
    assert_eq!(
        key.public_key().as_bytes().as_slice(),
        signing[0].public_key
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_grpc_and_http_on_one_port_with_sqlite_and_restarts_idempotently() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = Config {
        data_dir: data.clone(),
        ..Config::default()
    };

    let running = start(config.clone()).await;
    let jwks = check_surface(running.addr).await;
    // An open, idle gRPC connection does not hold up shutdown.
    let idle = channel(running.addr).await;
    assert_eq!(health(&idle, "").await, ServingStatus::Serving as i32);
    running.shutdown().await.unwrap();

    #[cfg(unix)]
    {
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&data.join("operator.json")), 0o600);
        assert_eq!(mode(&data.join("master.key")), 0o600);
    }
    let operator_json = std::fs::read(data.join("operator.json")).unwrap();
    let operator = read_operator_file(&data);
    assert!(operator.key_id.starts_with("LTAI"));
    assert_eq!(operator.secret.len(), 30);
    let sealer = sealer_from(&std::fs::read_to_string(data.join("master.key")).unwrap());
    let url = config.effective_database_url();
    let store = open_store(&url).await;
    check_bootstrapped_store(&store, &operator, &sealer).await;
    let kid = store.list_signing_keys().await.unwrap()[0].kid.clone();
    assert_eq!(jwks["keys"][0]["kid"], kid.as_str());
    store.close().await;

    // Restart on the same data directory: nothing new.
    let running = start(config.clone()).await;
    let jwks_again = check_surface(running.addr).await;
    assert_eq!(jwks_again, jwks);
    running.shutdown().await.unwrap();
    assert_eq!(
        std::fs::read(data.join("operator.json")).unwrap(),
        operator_json
    );
    let store = open_store(&url).await;
    check_bootstrapped_store(&store, &operator, &sealer).await;
    // The operator is recorded once: a later claim learns the recorded one.
    let other = store.create_account("other").await.unwrap().value.id;
    let claimed = store.claim_operator_account(&other).await.unwrap();
    assert_eq!(claimed.value, operator.account);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_master_key_and_operator_key_write_no_files() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let master = base64::engine::general_purpose::STANDARD.encode([42u8; 32]);
    let config = Config {
        data_dir: data.clone(),
        master_key: Some(Secret::new(vec![42u8; 32])),
        operator_access_key_id: Some("LTAIconfiguredOperator1".into()),
        operator_access_key_secret: Some(Secret::from("configured-operator-secret")),
        ..Config::default()
    };
    for _ in 0..2 {
        let running = start(config.clone()).await;
        check_surface(running.addr).await;
        running.shutdown().await.unwrap();
    }
    assert!(!data.join("operator.json").exists());
    assert!(!data.join("master.key").exists());
    let url = config.effective_database_url();
    let store = open_store(&url).await;
    let operator = OperatorFile {
        account: store.operator_account().await.unwrap().unwrap(),
        key_id: "LTAIconfiguredOperator1".into(),
        secret: "configured-operator-secret".into(),
    };
    check_bootstrapped_store(&store, &operator, &sealer_from(&master)).await;
    store.close().await;

    // The same key id with another secret is refused, not silently replaced.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let wrong_secret = Config {
        operator_access_key_secret: Some(Secret::from("another-secret")),
        ..config.clone()
    };
    let error = tessera_server::run(wrong_secret, listener, std::future::pending())
        .await
        .unwrap_err();
    assert!(error.to_string().contains("different secret"), "{error}");

    // Another master key cannot open the stored keys: refuse to start.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let wrong_master = Config {
        master_key: Some(Secret::new(vec![7u8; 32])),
        ..config
    };
    let error = tessera_server::run(wrong_master, listener, std::future::pending())
        .await
        .unwrap_err();
    assert!(
        matches!(error, ServerError::MasterKeyMismatch { .. }),
        "{error}"
    );
    assert!(!error.to_string().contains(&master));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_with_postgresql_and_restarts_idempotently() {
    let postgres = support::Postgres::create("tessera_server_test").await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = Config {
        data_dir: data.clone(),
        database_url: Some(postgres.url.clone()),
        database_max_connections: 4,
        ..Config::default()
    };
    let running = start(config.clone()).await;
    let jwks = check_surface(running.addr).await;
    running.shutdown().await.unwrap();
    // The data directory holds only the generated key and the operator file.
    assert!(!data.join("tessera.db").exists());
    let operator = read_operator_file(&data);
    let sealer = sealer_from(&std::fs::read_to_string(data.join("master.key")).unwrap());

    let running = start(config).await;
    assert_eq!(check_surface(running.addr).await, jwks);
    running.shutdown().await.unwrap();

    let store = open_store(&postgres.url).await;
    check_bootstrapped_store(&store, &operator, &sealer).await;
    store.close().await;
    postgres.drop_database().await;
}

/// `tesserad serve`: flags, the log (names operator.json, never the secret), SIGTERM.
#[cfg(unix)]
#[test]
fn tesserad_serve_logs_the_operator_file_and_stops_on_sigterm() {
    use std::io::{BufRead as _, BufReader};
    use std::process::{Command, Stdio};

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tesserad"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .env_remove("TESSERA_DATABASE_URL")
        .env_remove("TESSERA_MASTER_KEY")
        .env_remove("TESSERA_OPERATOR_ACCESS_KEY_ID")
        .env_remove("TESSERA_OPERATOR_ACCESS_KEY_SECRET")
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut log = String::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !log.contains("tesserad is serving") {
        let line = lines_rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("tesserad did not start; log:\n{log}"));
        log.push_str(&line);
        log.push('\n');
    }
    let operator = read_operator_file(&data);
    assert!(log.contains("operator.json"), "{log}");
    assert!(
        !log.contains(&operator.secret),
        "the log shows the secret:\n{log}"
    );

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = Instant::now();
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "tesserad did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    reader.join().unwrap();
    while let Ok(line) = lines_rx.try_recv() {
        log.push_str(&line);
        log.push('\n');
    }
    assert!(exit.success(), "{log}");
    assert!(log.contains("SIGTERM received"), "{log}");
}
