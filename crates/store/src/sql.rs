//! The SQL implementation shared by both backends, through sqlx's `Any` driver.
//!
//! Queries are written once in the SQL both PostgreSQL and SQLite accept (`$N` parameters,
//! `RETURNING`, `ON CONFLICT`); only `BEGIN` differs. Columns use three types: TEXT, BIGINT
//! (integers, booleans as 0/1, timestamps as microseconds since the epoch) and BLOB/BYTEA.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use rand::Rng;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{Any, AnyPool, Executor, Row, SqlSafeStr, Transaction};
use tessera_iam::{AccountId, Error, Quotas, Result};
use tokio::sync::watch;

use crate::model::{Committed, EntityKind, Page, Paged, Revision};

/// Which database a [`SqlStore`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// The store's notion of "now"; replaceable so tests control time.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// How to open the store.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// `postgres://…` or `sqlite://path?mode=rwc`.
    pub url: String,
    pub max_connections: u32,
    /// Default quotas of every account.
    pub quotas: Quotas,
    /// Policy document size limits.
    pub limits: tessera_policy::Limits,
    /// How long a call waits for a database connection before failing with
    /// `ServiceUnavailable`: short, so that with the database unreachable a request that needs
    /// it fails fast (callers answer from their caches what they can).
    pub acquire_timeout: Duration,
}

/// The default [`StoreConfig::acquire_timeout`].
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

impl StoreConfig {
    pub fn new(url: impl Into<String>) -> StoreConfig {
        StoreConfig {
            url: url.into(),
            max_connections: 16,
            quotas: Quotas::default(),
            limits: tessera_policy::Limits::default(),
            acquire_timeout: DEFAULT_ACQUIRE_TIMEOUT,
        }
    }
}

/// The store over one database.
#[derive(Clone)]
pub struct SqlStore {
    pub(crate) pool: AnyPool,
    url: String,
    pub(crate) backend: Backend,
    pub(crate) quotas: Quotas,
    pub(crate) limits: tessera_policy::Limits,
    clock: Clock,
    /// Signalled with the revision after every commit through this handle (and its clones):
    /// the in-process wake-up of [`crate::ChangeFeed`]s.
    pub(crate) commits: Arc<watch::Sender<Revision>>,
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl SqlStore {
    /// Connects (creating a SQLite file if needed). Does not migrate: call [`SqlStore::migrate`].
    pub async fn connect(config: &StoreConfig) -> Result<SqlStore> {
        sqlx::any::install_default_drivers();
        let backend =
            if config.url.starts_with("postgres:") || config.url.starts_with("postgresql:") {
                Backend::Postgres
            } else if config.url.starts_with("sqlite:") {
                Backend::Sqlite
            } else {
                return Err(Error::invalid(
                    "InvalidParameter.DatabaseUrl",
                    "The database URL must start with postgres:// or sqlite://.",
                ));
            };
        let mut options = AnyPoolOptions::new()
            .max_connections(config.max_connections.max(1))
            .acquire_timeout(config.acquire_timeout);
        if backend == Backend::Sqlite {
            // WAL lets readers proceed while the single writer writes.
            options = options.after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA synchronous = NORMAL").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    conn.execute("PRAGMA busy_timeout = 10000").await?;
                    Ok(())
                })
            });
        }
        let pool = options
            .connect(&config.url)
            .await
            .map_err(|e| db_error("connect", &e))?;
        Ok(SqlStore {
            pool,
            url: config.url.clone(),
            backend,
            quotas: config.quotas,
            limits: config.limits,
            clock: Arc::new(Timestamp::now),
            commits: Arc::new(watch::Sender::new(Revision(0))),
        })
    }

    /// Replaces the clock (tests).
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> SqlStore {
        self.clock = clock;
        self
    }

    /// The URL this store was opened with (it may carry credentials: never log it).
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub(crate) fn now(&self) -> Timestamp {
        (self.clock)()
    }

    /// Applies the embedded migrations of this backend (forward-only).
    pub async fn migrate(&self) -> Result<()> {
        let files: &[(i64, &str, &'static str)] = match self.backend {
            Backend::Postgres => POSTGRES_MIGRATIONS,
            Backend::Sqlite => SQLITE_MIGRATIONS,
        };
        let migrations = files
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    Cow::Borrowed(*description),
                    MigrationType::Simple,
                    sqlx::AssertSqlSafe(*sql).into_sql_str(),
                    false,
                )
            })
            .collect();
        Migrator::with_migrations(migrations)
            .run(&self.pool)
            .await
            .map_err(|e| {
                log_internal("migrate", &e);
                Error::internal()
            })
    }

    /// A pooled connection for a multi-statement read outside a transaction.
    pub(crate) async fn conn(&self) -> Result<sqlx::pool::PoolConnection<Any>> {
        self.pool
            .acquire()
            .await
            .map_err(|e| db_error("acquire", &e))
    }

    /// Closes the pool (waits for connections to be returned).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Begins a write: a transaction holding the next revision, which serializes writers.
    pub(crate) async fn write(&self) -> Result<WriteTx> {
        let begin = match self.backend {
            Backend::Postgres => "BEGIN",
            Backend::Sqlite => "BEGIN IMMEDIATE",
        };
        let mut tx = self
            .pool
            .begin_with(begin)
            .await
            .map_err(|e| db_error("begin", &e))?;
        let row = sqlx::query("UPDATE revision SET value = value + 1 WHERE id = 1 RETURNING value")
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| db_error("revision", &e))?;
        let revision = Revision(get(&row, "value")?);
        Ok(WriteTx {
            tx,
            revision,
            now: micros(self.now()),
            seq: 0,
            backend: self.backend,
            commits: Arc::clone(&self.commits),
        })
    }

    /// Begins a read-only transaction: one consistent snapshot for multi-query reads.
    pub(crate) async fn read(&self) -> Result<Transaction<'static, Any>> {
        let begin = match self.backend {
            Backend::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
            Backend::Sqlite => "BEGIN",
        };
        self.pool
            .begin_with(begin)
            .await
            .map_err(|e| db_error("begin read", &e))
    }

    /// The latest committed revision.
    pub async fn current_revision(&self) -> Result<Revision> {
        let row = sqlx::query("SELECT value FROM revision WHERE id = 1")
            .fetch_one(&self.pool)
            .await
            .map_err(|e| db_error("revision", &e))?;
        Ok(Revision(get(&row, "value")?))
    }
}

macro_rules! migrations {
    ($dir:literal: $(($version:literal, $name:literal)),* $(,)?) => {
        &[$(($version, $name, include_str!(concat!("../../../migrations/", $dir, "/", $version, "_", $name, ".sql")))),*]
    };
}

const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = migrations!("postgres": (1, "initial"), (2, "system_policies"), (3, "operator"), (4, "platform_grants"), (5, "oidc_providers"), (6, "audit_lookup"));
const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = migrations!("sqlite": (1, "initial"), (2, "system_policies"), (3, "operator"), (4, "platform_grants"), (5, "oidc_providers"), (6, "audit_lookup"));

/// A write transaction at a fixed revision. Dropping it without [`WriteTx::commit`] rolls back.
pub(crate) struct WriteTx {
    pub tx: Transaction<'static, Any>,
    pub revision: Revision,
    /// The transaction's timestamp, in microseconds.
    pub now: i64,
    /// Change-log entries written so far in this transaction.
    seq: i64,
    backend: Backend,
    commits: Arc<watch::Sender<Revision>>,
}

impl WriteTx {
    /// Appends a change-log entry for `entity` (a name key or id) at this revision.
    pub async fn changed(
        &mut self,
        account: Option<&AccountId>,
        kind: EntityKind,
        entity: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO changes (revision, seq, account_id, entity_kind, entity_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(self.revision.0)
        .bind(self.seq)
        .bind(account.map_or("", AccountId::as_str).to_owned())
        .bind(kind.as_str())
        .bind(entity.to_owned())
        .bind(self.now)
        .execute(&mut *self.tx)
        .await
        .map_err(|e| db_error("changes", &e))?;
        self.seq += 1;
        Ok(())
    }

    /// Commits, then wakes the change feeds: on PostgreSQL through `NOTIFY` (transactional, so
    /// delivered to every replica's listener exactly when the commit becomes visible, and never
    /// for a rolled-back write), and in-process through the store's commit signal.
    pub async fn commit(mut self) -> Result<Revision> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(crate::feed::NOTIFY_CHANNEL)
                .bind(self.revision.0.to_string())
                .execute(&mut *self.tx)
                .await
                .map_err(|e| db_error("notify", &e))?;
        }
        self.tx.commit().await.map_err(|e| db_error("commit", &e))?;
        let revision = self.revision;
        self.commits
            .send_modify(|latest| *latest = (*latest).max(revision));
        Ok(revision)
    }

    /// Commits and returns `value` with the revision it committed at.
    pub async fn commit_with<T>(self, value: T) -> Result<Committed<T>> {
        let revision = self.commit().await?;
        Ok(Committed { value, revision })
    }
}

/// Logs a database failure (without data) and returns the error the caller sees.
pub(crate) fn db_error(context: &str, error: &sqlx::Error) -> Error {
    log_internal(context, error);
    // Lost or refused connections (and PostgreSQL shutting a session down: SQLSTATE class 08
    // connection exception, 57P0x operator intervention) are the database being unreachable,
    // which a retry may outlive; anything else is a bug or a broken schema.
    let unreachable = match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|code| code.starts_with("08") || code.starts_with("57P")),
        _ => false,
    };
    if unreachable {
        Error::unavailable("The identity store is unavailable; retry later.")
    } else {
        Error::internal()
    }
}

fn log_internal(context: &str, error: &dyn std::fmt::Display) {
    tracing::error!(target: "tessera_store", context, %error, "database operation failed");
}

/// Maps a failed insert/update: a unique-constraint violation is `EntityAlreadyExists` of
/// `entity`; anything else a database failure in `context`.
pub(crate) fn exists_or_db_error(
    entity: tessera_iam::Entity,
    context: &'static str,
) -> impl Fn(sqlx::Error) -> Error {
    move |e| {
        if is_unique_violation(&e) {
            Error::already_exists(entity)
        } else {
            db_error(context, &e)
        }
    }
}

/// True when `error` is a unique-constraint violation (a concurrent or duplicate insert).
pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.is_unique_violation())
}

/// Reads a column, mapping a type mismatch to an internal error.
pub(crate) fn get<'r, T>(row: &'r AnyRow, column: &str) -> Result<T>
where
    T: sqlx::Decode<'r, Any> + sqlx::Type<Any>,
{
    row.try_get(column).map_err(|e| db_error(column, &e))
}

pub(crate) fn micros(t: Timestamp) -> i64 {
    t.as_microsecond()
}

pub(crate) fn timestamp(micros: i64) -> Timestamp {
    Timestamp::from_microsecond(micros).unwrap_or(Timestamp::UNIX_EPOCH)
}

pub(crate) fn get_time(row: &AnyRow, column: &str) -> Result<Timestamp> {
    get::<i64>(row, column).map(timestamp)
}

pub(crate) fn get_opt_time(row: &AnyRow, column: &str) -> Result<Option<Timestamp>> {
    get::<Option<i64>>(row, column).map(|t| t.map(timestamp))
}

/// The lookup key of a name: names are unique case-insensitively.
pub(crate) fn name_key(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// A fresh 16-digit numeric id (not starting with 0), like RAM's UserId/RoleId.
pub(crate) fn new_numeric_id() -> String {
    let mut rng = rand::rng();
    let n: u64 = rng.random_range(1_000_000_000_000_000..10_000_000_000_000_000);
    n.to_string()
}

impl SqlStore {
    /// One page of an account's `table` in name order: the listing shared by users, groups
    /// and roles. `columns` must not include `name_key`, which this selects for the marker.
    pub(crate) async fn list_by_name<T>(
        &self,
        table: &'static str,
        columns: &'static str,
        account: &AccountId,
        page: &Page,
        max_items: u32,
        from_row: fn(&AnyRow) -> Result<T>,
    ) -> Result<Paged<T>> {
        let (limit, marker) = page_bounds(page, max_items)?;
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT name_key, {columns} FROM {table} \
             WHERE account_id = $1 AND name_key > $2 ORDER BY name_key LIMIT $3"
        ));
        let rows = sqlx::query(sql)
            .bind(account.as_str().to_owned())
            .bind(marker)
            .bind(limit + 1)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error(table, &e))?;
        let items = rows
            .iter()
            .map(|row| Ok((get(row, "name_key")?, from_row(row)?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(paged(items, limit))
    }
}

/// Validated `MaxItems` (default 100, at most `max`) and the marker of a page.
pub(crate) fn page_bounds(page: &Page, max: u32) -> Result<(i64, String)> {
    let limit = page.max_items.unwrap_or(100.min(max));
    if limit < 1 || limit > max {
        return Err(Error::range("MaxItems", 1, i64::from(max)));
    }
    Ok((i64::from(limit), page.marker.clone().unwrap_or_default()))
}

/// Turns `limit + 1` fetched rows into a page; the marker is the last item's key.
pub(crate) fn paged<T>(mut items: Vec<(String, T)>, limit: i64) -> Paged<T> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let is_truncated = items.len() > limit;
    items.truncate(limit);
    let marker = if is_truncated {
        items.last().map(|(key, _)| key.clone())
    } else {
        None
    };
    Paged {
        items: items.into_iter().map(|(_, item)| item).collect(),
        is_truncated,
        marker,
    }
}
