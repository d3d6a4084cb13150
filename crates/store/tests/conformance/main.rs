//! The store conformance suite: every test runs against SQLite and PostgreSQL, so the two
//! backends cannot drift. PostgreSQL comes from `$TESSERA_TEST_DATABASE_URL` (set by
//! `tests/run.sh`) or a server on 127.0.0.1:5432; each test gets a fresh database.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// `conformance!(name, ...)` inside a suite module generates, for each `async fn name(&SqlStore)`
/// of that module, one `#[tokio::test]` per backend: `<module>::sqlite::name` and
/// `<module>::postgres::name`.
macro_rules! conformance {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let db = crate::support::TestDb::sqlite().await;
                    super::$test(&db.store).await;
                    db.finish().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let db = crate::support::TestDb::postgres().await;
                    super::$test(&db.store).await;
                    db.finish().await;
                }
            )*
        }
    };
}

mod support;

mod accounts;
mod credentials;
mod feed;
mod groups;
mod keys;
mod oidc_providers;
mod operator;
mod policies;
mod roles;
mod system;
mod users;
