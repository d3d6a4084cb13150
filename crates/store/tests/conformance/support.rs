//! Test databases: a SQLite file in a temporary directory, or a fresh PostgreSQL database.

use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, Executor};
use tessera_store::{AccountId, AccountStore, Error, NewUser, SqlStore, StoreConfig, UserStore};

/// The PostgreSQL server tests use when `$TESSERA_TEST_DATABASE_URL` is not set.
const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub struct TestDb {
    pub store: SqlStore,
    postgres: Option<(PgConnectOptions, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("tessera.db").display()
        );
        let store = open(&url).await;
        TestDb {
            store,
            postgres: None,
            _dir: Some(dir),
        }
    }

    pub async fn postgres() -> TestDb {
        let server = std::env::var("TESSERA_TEST_DATABASE_URL")
            .unwrap_or_else(|_| DEFAULT_POSTGRES.to_owned());
        let admin = PgConnectOptions::from_str(&server).unwrap();
        let mut conn = admin.connect().await.unwrap_or_else(|e| {
            panic!(
                "no PostgreSQL at {server} ({e}); run the tests with tests/run.sh, which \
                 provides one, or set TESSERA_TEST_DATABASE_URL"
            )
        });
        let name = format!("tessera_test_{:016x}", rand::random::<u64>());
        conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await
            .unwrap();
        conn.close().await.unwrap();
        let url = admin.clone().database(&name).to_url_lossy().to_string();
        let store = open(&url).await;
        TestDb {
            store,
            postgres: Some((admin, name)),
            _dir: None,
        }
    }

    /// Closes the store and drops the PostgreSQL database.
    pub async fn finish(self) {
        self.store.close().await;
        if let Some((admin, name)) = self.postgres {
            let mut conn = admin.connect().await.unwrap();
            conn.execute(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .await
            .unwrap();
        }
    }
}

async fn open(url: &str) -> SqlStore {
    let mut config = StoreConfig::new(url);
    config.max_connections = 8;
    let store = SqlStore::connect(&config).await.unwrap();
    store.migrate().await.unwrap();
    store
}

/// A fresh account.
pub async fn account(store: &SqlStore) -> AccountId {
    store.create_account("test").await.unwrap().value.id
}

/// Creates user `name` in account `a` with default fields.
pub async fn user(store: &SqlStore, a: &AccountId, name: &str) {
    store
        .create_user(
            a,
            &NewUser {
                name: name.into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
}

/// Asserts `result` failed with RAM error `code`.
#[track_caller]
pub fn assert_code<T: std::fmt::Debug>(result: Result<T, Error>, code: &str) {
    match result {
        Ok(v) => panic!("expected {code}, got Ok({v:?})"),
        Err(e) => assert_eq!(e.code(), code, "{e}"),
    }
}
