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
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let handle = tokio::spawn(tessera_server::run(config, listener, async move {
        let _ = stopped.await;
    }));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(!handle.is_finished(), "run returned before serving");
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
