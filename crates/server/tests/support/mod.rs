//! Shared pieces of the server's integration tests: a pass-through codec (so a test sends
//! exactly the message bytes it signed), a server started on 127.0.0.1:0, and a fresh
//! PostgreSQL database.
#![allow(dead_code)]

use std::marker::PhantomData;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::{Duration, Instant};

use prost::bytes::{Buf as _, BufMut as _};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions as _, Connection as _, Executor as _};
use tessera_server::{Config, ServerError};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::Status;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http;
use tonic::transport::Endpoint;

/// Sends `Vec<u8>` as the message bytes; decodes the answer as `R`.
pub struct RawCodec<R>(pub PhantomData<R>);

pub struct RawEncoder;

pub struct ProstDecoder<R>(PhantomData<R>);

impl<R: prost::Message + Default + Send + 'static> Codec for RawCodec<R> {
    type Encode = Vec<u8>;
    type Decode = R;
    type Encoder = RawEncoder;
    type Decoder = ProstDecoder<R>;

    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }

    fn decoder(&mut self) -> ProstDecoder<R> {
        ProstDecoder(PhantomData)
    }
}

impl Encoder for RawEncoder {
    type Item = Vec<u8>;
    type Error = Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl<R: prost::Message + Default> Decoder for ProstDecoder<R> {
    type Item = R;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<R>, Status> {
        let bytes = src.copy_to_bytes(src.remaining());
        R::decode(bytes)
            .map(Some)
            .map_err(|e| Status::internal(e.to_string()))
    }
}

/// A server started on 127.0.0.1:0 with its data directory.
pub struct Running {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    handle: JoinHandle<Result<(), ServerError>>,
}

impl Running {
    pub async fn shutdown(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(10), self.handle)
            .await
            .expect("run did not return")
            .unwrap()
            .unwrap();
    }
}

pub async fn start(config: Config) -> Running {
    let config_has_tls = config.tls.is_some();
    let operator_file = config.data_dir.join("operator.json");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let handle = tokio::spawn(tessera_server::run(config, listener, async move {
        let _ = stopped.await;
    }));
    let deadline = Instant::now() + Duration::from_secs(30);
    // Over TLS the probe below cannot speak plaintext; the listener is bound already, so
    // clients simply wait for the server to start accepting once bootstrap wrote the
    // operator's credential.
    loop {
        assert!(!handle.is_finished(), "run returned before serving");
        if config_has_tls {
            let written = std::fs::read_to_string(&operator_file)
                .ok()
                .is_some_and(|t| serde_json::from_str::<serde_json::Value>(&t).is_ok());
            if written {
                break;
            }
            assert!(Instant::now() < deadline, "server not ready within 30 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        if let Ok(channel) = Endpoint::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
        {
            let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
            if health
                .check(tonic_health::pb::HealthCheckRequest::default())
                .await
                .is_ok()
            {
                break;
            }
        }
        assert!(Instant::now() < deadline, "server not ready within 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Running {
        addr,
        stop: Some(stop),
        handle,
    }
}

/// PostgreSQL from `$TESSERA_TEST_DATABASE_URL`, else 127.0.0.1:5432; a fresh database per
/// test. Fails (does not skip) without PostgreSQL: `tests/run.sh` always provides one.
pub struct Postgres {
    admin: PgConnectOptions,
    name: String,
    pub url: String,
}

impl Postgres {
    pub async fn create(prefix: &str) -> Postgres {
        let server = std::env::var("TESSERA_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let admin = PgConnectOptions::from_str(&server).unwrap();
        let mut conn = admin.connect().await.unwrap_or_else(|e| {
            panic!(
                "no PostgreSQL at {server} ({e}); run the tests with tests/run.sh, which \
                 provides one, or set TESSERA_TEST_DATABASE_URL"
            )
        });
        let name = format!("{prefix}_{:016x}", rand::random::<u64>());
        conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await
            .unwrap();
        conn.close().await.unwrap();
        let url = admin.clone().database(&name).to_url_lossy().to_string();
        Postgres { admin, name, url }
    }

    pub async fn drop_database(self) {
        let mut conn = self.admin.connect().await.unwrap();
        conn.execute(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        )))
        .await
        .unwrap();
    }
}

/// How a [`SignedChannel`] proves who it is (`AccessKey { id, secret, security_token }` or
/// `Bearer(token)`).
pub use tessera_client::Credential as ClientCredential;

/// A channel that authenticates every call with `tessera_client`'s signing layer, so the
/// generated clients (`tessera_proto::v1::ram_client::RamClient::new(signed)`, …) can be used
/// as is. Tests check the server's answers exactly, so the harness never retries.
#[derive(Clone)]
pub struct SignedChannel(tessera_client::SignedChannel);

/// No retries; a deadline long enough for the slowest call on a busy machine.
fn harness_policy() -> tessera_client::CallPolicy {
    tessera_client::CallPolicy {
        deadline: Duration::from_secs(120),
        retry: tessera_client::RetryPolicy::none(),
    }
}

impl SignedChannel {
    pub async fn connect(addr: SocketAddr, credential: ClientCredential) -> SignedChannel {
        let inner = Endpoint::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        SignedChannel::over(inner, addr.to_string(), credential)
    }

    /// Signs calls on an existing channel (e.g. a TLS one) that reaches the server as
    /// `authority`.
    pub fn over(
        inner: tonic::transport::Channel,
        authority: String,
        credential: ClientCredential,
    ) -> SignedChannel {
        SignedChannel(
            tessera_client::SignedChannel::new(inner, authority, credential)
                .with_policy(harness_policy()),
        )
    }

    /// The same connection with another credential.
    pub fn with(&self, credential: ClientCredential) -> SignedChannel {
        SignedChannel(self.0.with_credential(credential))
    }
}

impl tower::Service<http::Request<tonic::body::Body>> for SignedChannel {
    type Response = http::Response<tonic::body::Body>;
    type Error = tessera_client::BoxError;
    type Future =
        <tessera_client::SignedChannel as tower::Service<http::Request<tonic::body::Body>>>::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        self.0.call(request)
    }
}

/// The database a [`TestServer`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A running server with its data directory and database, the operator account's root
/// credential as a [`SignedChannel`], and a direct store handle (for arranging state the API
/// under test cannot, and for checking what was stored).
pub struct TestServer {
    pub running: Running,
    pub dir: tempfile::TempDir,
    pub url: String,
    pub store: tessera_store::SqlStore,
    pub sealer: tessera_credentials::Sealer,
    pub operator: tessera_store::AccountId,
    pub operator_key_id: String,
    pub operator_key_secret: tessera_credentials::Secret,
    /// Signed with the operator's root access key.
    pub root: SignedChannel,
    postgres: Option<Postgres>,
}

impl TestServer {
    /// Starts a server on `backend` (PostgreSQL: a fresh database named after `prefix`).
    pub async fn start(backend: Backend, prefix: &str) -> TestServer {
        Self::start_with(backend, prefix, |_| {}).await
    }

    /// The same, with `configure` adjusting the config first.
    pub async fn start_with(
        backend: Backend,
        prefix: &str,
        configure: impl FnOnce(&mut Config),
    ) -> TestServer {
        use base64::Engine as _;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let postgres = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(Postgres::create(prefix).await),
        };
        let mut config = Config {
            data_dir: data.clone(),
            database_url: postgres.as_ref().map(|p| p.url.clone()),
            database_max_connections: if postgres.is_some() { 4 } else { 5 },
            ..Config::default()
        };
        configure(&mut config);
        let url = config.effective_database_url();
        let running = start(config).await;
        let text = std::fs::read_to_string(data.join("operator.json")).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let master = base64::engine::general_purpose::STANDARD
            .decode(
                std::fs::read_to_string(data.join("master.key"))
                    .unwrap()
                    .trim(),
            )
            .unwrap();
        let operator_key_id = json["AccessKeyId"].as_str().unwrap().to_owned();
        let operator_key_secret =
            tessera_credentials::Secret::from(json["AccessKeySecret"].as_str().unwrap());
        let root = SignedChannel::connect(
            running.addr,
            ClientCredential::AccessKey {
                id: operator_key_id.clone(),
                secret: operator_key_secret.clone(),
                security_token: None,
            },
        )
        .await;
        TestServer {
            store: tessera_store::SqlStore::connect(&tessera_store::StoreConfig::new(&url))
                .await
                .unwrap(),
            sealer: tessera_credentials::Sealer::new(
                tessera_credentials::MasterKey::new(1, &master).unwrap(),
            ),
            operator: tessera_store::AccountId::parse(json["AccountId"].as_str().unwrap()).unwrap(),
            operator_key_id,
            operator_key_secret,
            root,
            running,
            dir,
            url,
            postgres,
        }
    }

    /// A channel on this server signed with `id`/`secret`.
    pub fn signed(&self, id: &str, secret: &tessera_credentials::Secret) -> SignedChannel {
        self.root.with(ClientCredential::AccessKey {
            id: id.to_owned(),
            secret: secret.clone(),
            security_token: None,
        })
    }

    /// A new long-term access key for `user` (or the root when `None`) of `account`, sealed as
    /// the server seals them, written straight to the store; returns a channel signed with it.
    pub async fn key_for(
        &self,
        account: &tessera_store::AccountId,
        user: Option<&str>,
    ) -> (String, tessera_credentials::Secret, SignedChannel) {
        use tessera_store::KeyStore as _;
        let pair = tessera_credentials::sts::new_long_term_access_key(&mut rand::rng());
        let sealed_secret = self
            .sealer
            .seal(&pair.secret, format!("access-key:{}", pair.id).as_bytes())
            .unwrap();
        self.store
            .create_access_key(
                account,
                user,
                &tessera_store::NewAccessKey {
                    id: pair.id.clone(),
                    sealed_secret,
                },
            )
            .await
            .unwrap();
        let channel = self.signed(&pair.id, &pair.secret);
        (pair.id, pair.secret, channel)
    }

    /// Stops the server and drops its database.
    pub async fn stop(self) {
        self.store.close().await;
        self.running.shutdown().await;
        if let Some(postgres) = self.postgres {
            postgres.drop_database().await;
        }
    }
}

/// Asserts that `result` failed with `grpc` and a message `"<code>: …"` (RAM's error code
/// first, as every Tessera status message is written).
#[track_caller]
pub fn assert_code<T: std::fmt::Debug>(result: Result<T, Status>, grpc: tonic::Code, code: &str) {
    let status = result.expect_err("the call should fail");
    assert_eq!(status.code(), grpc, "{status:?}");
    assert!(
        status.message().starts_with(&format!("{code}: ")),
        "expected {code}: {status:?}"
    );
}

/// Calls `call` until it fails with `code`, failing the test after 10 s. For effects that reach
/// the server's caches through the change feed: at once when the server made the write, within
/// the feed's polling interval when a test wrote through its own store handle.
pub async fn refused_eventually<T, F, Fut>(code: &str, mut call: F)
where
    T: std::fmt::Debug,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Status>>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match call().await {
            Err(status) if status.message().starts_with(&format!("{code}: ")) => return,
            other => assert!(
                Instant::now() < deadline,
                "still not refused with {code} after 10 s: {other:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A TCP proxy in front of PostgreSQL that a test can cut (every open connection closed, new
/// ones accepted and dropped at once) and restore: the database "unreachable" and back.
pub struct CuttableProxy {
    pub addr: SocketAddr,
    cut: std::sync::Arc<std::sync::atomic::AtomicBool>,
    connections: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
    accept: JoinHandle<()>,
}

impl CuttableProxy {
    /// Proxies to `upstream` (`host:port`).
    pub async fn start(upstream: String) -> CuttableProxy {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let cut = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let connections = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let accept = {
            let cut = cut.clone();
            let connections = connections.clone();
            tokio::spawn(async move {
                while let Ok((mut client, _)) = listener.accept().await {
                    if cut.load(Ordering::SeqCst) {
                        drop(client);
                        continue;
                    }
                    let upstream = upstream.clone();
                    let task = tokio::spawn(async move {
                        if let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    });
                    connections.lock().unwrap().push(task.abort_handle());
                }
            })
        };
        CuttableProxy {
            addr,
            cut,
            connections,
            accept,
        }
    }

    /// The database URL `url` rewritten to go through this proxy.
    pub fn url_for(&self, url: &str) -> String {
        let options = PgConnectOptions::from_str(url).unwrap();
        let through = format!("{}:{}", options.get_host(), options.get_port());
        url.replacen(&through, &self.addr.to_string(), 1)
    }

    pub fn cut(&self) {
        self.cut.store(true, std::sync::atomic::Ordering::SeqCst);
        for connection in self.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
    }

    pub fn restore(&self) {
        self.cut.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for CuttableProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

/// `host:port` of the PostgreSQL server the tests use (see [`Postgres`]).
pub fn pg_upstream() -> String {
    let server = std::env::var("TESSERA_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let options = PgConnectOptions::from_str(&server).unwrap();
    format!("{}:{}", options.get_host(), options.get_port())
}
