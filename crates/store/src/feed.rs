//! The change feed: how a server replica learns every committed change, in revision order,
//! without gaps, to invalidate its caches (DESIGN.md §5).
//!
//! # Wake-ups and polling
//!
//! A feed task re-reads the `changes` log whenever it is woken, and at the latest every
//! [`FeedOptions::poll_interval`] (the fallback that bounds staleness whatever happens to the
//! wake-ups):
//! - PostgreSQL: every write transaction runs `pg_notify('tessera_changes', <revision>)` before
//!   it commits. `NOTIFY` is transactional, so a listener hears of a write exactly when it
//!   becomes visible, and never of a rolled-back one. The feed `LISTEN`s on its own connection
//!   (a [`PgListener`] opened from the store's URL). Notifications are transient: after the
//!   listener (re)connects, the feed reads the log again, so whatever committed while it was
//!   deaf is picked up at once; if the listener fails, it is rebuilt after one poll interval and
//!   polling carries the feed meanwhile.
//! - Both backends: commits through the same [`SqlStore`] (or a clone of it) also wake its
//!   feeds in-process. That is the only wake-up SQLite has; another process (or another
//!   `SqlStore::connect` on the same file) is seen through polling.
//!
//! # Gap-freedom
//!
//! Every write transaction starts with `UPDATE revision SET value = value + 1 … RETURNING`,
//! which takes the single revision row's lock (PostgreSQL) or the database's write lock (SQLite
//! `BEGIN IMMEDIATE`) until it ends. So writers are serialized: revision N+1 is only handed out
//! after the transaction of revision N committed, and a rolled-back transaction also rolls back
//! its increment, consuming no revision. Hence, once revision R is visible, every revision up to R
//! is committed and visible too, and revisions are dense.
//!
//! They are not dense in the `changes` table, though: a write may commit a revision without
//! appending any change row. So the feed does not infer progress from change rows alone. Each
//! read first takes the committed head revision H (`current_revision`), then reads
//! `changes_since(latest, batch)` (a later snapshot, which therefore holds every change of
//! revisions ≤ H). If the read was not cut at `batch`, the feed has seen everything up to
//! `max(H, last change read)` and advances there, past revisions without changes; if it was cut
//! (`changes_since` never splits a revision), it advances to the last revision read and reads on.
//!
//! # Progress and read-your-writes
//!
//! [`ChangeFeed::latest`] is the highest revision the *consumer* is done with: a batch counts as
//! processed when the consumer calls [`ChangeFeed::next`] again (or drops the feed), so a replica
//! that evicts its caches between two `next` calls never lets [`FeedWatcher::wait_for`] return
//! before the eviction. Revisions without changes are passed over inside `next` without being
//! returned. `Authorize` with `min_revision` calls [`FeedWatcher::wait_for`] on a watcher cloned
//! from the feed.
//!
//! # Reachability
//!
//! Each read of the log tells whether the database answered: [`FeedWatcher::store_reachable`]
//! is `false` from a failed read until a read succeeds again (at most a poll interval plus the
//! store's acquire timeout behind the database's real state), so a replica can say when it is
//! answering from its caches alone.
//!
//! Dropping the [`ChangeFeed`] stops its task (and the listener's connection).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::postgres::PgListener;
use tessera_iam::Error;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::model::{Change, Revision};
use crate::sql::{Backend, SqlStore};
use crate::system::SystemStore;

/// The PostgreSQL notification channel every write notifies (payload: the revision).
pub(crate) const NOTIFY_CHANNEL: &str = "tessera_changes";

/// Batches read ahead of the consumer before the feed task waits for it.
const QUEUE: usize = 16;

/// How a [`ChangeFeed`] reads the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedOptions {
    /// The longest the feed goes without reading the log, wake-ups or not. Default 500 ms,
    /// which keeps the 1 s staleness bound even when wake-ups are lost.
    pub poll_interval: Duration,
    /// Change rows per read (a revision is never split, so a batch may hold more). Default 1000.
    pub batch: u32,
    /// PostgreSQL: `LISTEN` for commit notifications (default `true`). With `false` the feed
    /// relies on polling and in-process wake-ups alone. Ignored on SQLite.
    pub listen: bool,
}

impl Default for FeedOptions {
    fn default() -> FeedOptions {
        FeedOptions {
            poll_interval: Duration::from_millis(500),
            batch: 1000,
            listen: true,
        }
    }
}

/// Why [`FeedWatcher::wait_for`] gave up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedWaitError {
    /// The feed did not reach `wanted` within `timeout`; it was at `reached`.
    TimedOut {
        wanted: Revision,
        reached: Revision,
        timeout: Duration,
    },
    /// The feed was dropped before it reached `wanted`.
    Stopped { wanted: Revision, reached: Revision },
}

impl fmt::Display for FeedWaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FeedWaitError::TimedOut {
                wanted,
                reached,
                timeout,
            } => write!(
                f,
                "the change feed did not reach revision {} within {} ms (it is at revision {})",
                wanted.0,
                timeout.as_millis(),
                reached.0
            ),
            FeedWaitError::Stopped { wanted, reached } => write!(
                f,
                "the change feed stopped at revision {} before reaching revision {}",
                reached.0, wanted.0
            ),
        }
    }
}

impl std::error::Error for FeedWaitError {}

impl From<FeedWaitError> for Error {
    /// A caller's `min_revision` that could not be reached in time: retryable.
    fn from(error: FeedWaitError) -> Error {
        Error::unavailable(format!("{error}; retry later."))
    }
}

/// One read of the log: the changes, and the revision the feed has seen everything up to.
#[derive(Debug)]
struct Batch {
    through: Revision,
    changes: Vec<Change>,
}

/// A running feed of committed changes. Created by [`SqlStore::change_feed`] (inside a Tokio
/// runtime); dropping it stops the feed.
#[derive(Debug)]
pub struct ChangeFeed {
    batches: mpsc::Receiver<Batch>,
    processed: watch::Sender<Revision>,
    /// The revision the batch last returned by `next` completes, published on the next call.
    pending: Option<Revision>,
    /// Whether the feed's last read of the log succeeded.
    reachable: Arc<AtomicBool>,
    task: JoinHandle<()>,
}

impl ChangeFeed {
    /// The next batch of changes: every change after the previous batch's (or after `from`),
    /// in revision order, each exactly once, never splitting a revision; never empty.
    ///
    /// Calling `next` marks the previously returned batch as processed (it advances
    /// [`ChangeFeed::latest`] and releases [`FeedWatcher::wait_for`]ers). Returns `None` once the
    /// feed has stopped because the store was closed. Cancel-safe.
    pub async fn next(&mut self) -> Option<Vec<Change>> {
        if let Some(revision) = self.pending.take() {
            self.publish(revision);
        }
        loop {
            let batch = self.batches.recv().await?;
            if batch.changes.is_empty() {
                // Revisions that committed no changes: nothing to process.
                self.publish(batch.through);
                continue;
            }
            self.pending = Some(batch.through);
            return Some(batch.changes);
        }
    }

    /// The highest revision processed so far (see [`ChangeFeed::next`]); `from` at first.
    pub fn latest(&self) -> Revision {
        *self.processed.borrow()
    }

    /// See [`FeedWatcher::wait_for`].
    pub async fn wait_for(
        &self,
        min_revision: Revision,
        timeout: Duration,
    ) -> Result<Revision, FeedWaitError> {
        self.watcher().wait_for(min_revision, timeout).await
    }

    /// A handle to follow the feed's progress from other tasks (cheap to clone).
    pub fn watcher(&self) -> FeedWatcher {
        FeedWatcher {
            processed: self.processed.subscribe(),
            reachable: self.reachable.clone(),
        }
    }

    fn publish(&self, revision: Revision) {
        self.processed.send_if_modified(|latest| {
            let advanced = revision > *latest;
            if advanced {
                *latest = revision;
            }
            advanced
        });
    }
}

impl Drop for ChangeFeed {
    fn drop(&mut self) {
        self.task.abort();
        if let Some(revision) = self.pending.take() {
            self.publish(revision);
        }
    }
}

/// Follows a [`ChangeFeed`]'s progress: what `Authorize` uses for `min_revision`.
#[derive(Debug, Clone)]
pub struct FeedWatcher {
    processed: watch::Receiver<Revision>,
    reachable: Arc<AtomicBool>,
}

impl FeedWatcher {
    /// Whether the feed's last read of the change log reached the database (see the module
    /// documentation); `true` before the first read.
    pub fn store_reachable(&self) -> bool {
        self.reachable.load(Ordering::Relaxed)
    }

    /// The highest revision the feed's consumer has processed.
    pub fn latest(&self) -> Revision {
        *self.processed.borrow()
    }

    /// Waits until the feed has processed `min_revision` and returns the revision it reached:
    /// at once if it already has, else as soon as it does, or [`FeedWaitError::TimedOut`] after
    /// `timeout` (or [`FeedWaitError::Stopped`] if the feed is dropped first).
    pub async fn wait_for(
        &self,
        min_revision: Revision,
        timeout: Duration,
    ) -> Result<Revision, FeedWaitError> {
        let reached = self.latest();
        if reached >= min_revision {
            return Ok(reached);
        }
        let mut processed = self.processed.clone();
        let waited = tokio::time::timeout(timeout, async {
            processed
                .wait_for(|r| *r >= min_revision)
                .await
                .map(|reached| *reached)
        })
        .await;
        let reached = *processed.borrow();
        match waited {
            Ok(Ok(reached)) => Ok(reached),
            Ok(Err(_)) => Err(FeedWaitError::Stopped {
                wanted: min_revision,
                reached,
            }),
            Err(_) => Err(FeedWaitError::TimedOut {
                wanted: min_revision,
                reached,
                timeout,
            }),
        }
    }
}

impl SqlStore {
    /// Starts a feed of every change committed after revision `from` (the backlog first, then
    /// new changes as they commit). A replica starting with empty caches passes
    /// [`SqlStore::current_revision`]. Must be called inside a Tokio runtime.
    pub fn change_feed(&self, from: Revision, options: FeedOptions) -> ChangeFeed {
        let (batches_tx, batches) = mpsc::channel(QUEUE);
        let reachable = Arc::new(AtomicBool::new(true));
        let task = tokio::spawn(run(
            self.clone(),
            from,
            options,
            batches_tx,
            reachable.clone(),
        ));
        ChangeFeed {
            batches,
            processed: watch::Sender::new(from),
            pending: None,
            reachable,
            task,
        }
    }
}

/// Aborts a task when dropped.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The feed task: reads the log, then waits for a wake-up or the poll interval, until the
/// consumer is gone or the store is closed.
async fn run(
    store: SqlStore,
    from: Revision,
    options: FeedOptions,
    batches: mpsc::Sender<Batch>,
    reachable: Arc<AtomicBool>,
) {
    let poll_interval = options.poll_interval;
    let batch = options.batch.max(1);
    let mut local = store.commits.subscribe();
    // The listener signals here; the sender stays in scope so `changed` never fails.
    let (wake_tx, mut wake) = watch::channel(0u64);
    let _listener = (store.backend == Backend::Postgres && options.listen).then(|| {
        AbortOnDrop(tokio::spawn(listen(
            store.url().to_owned(),
            wake_tx.clone(),
            poll_interval,
        )))
    });
    let mut latest = from;
    loop {
        local.mark_unchanged();
        wake.mark_unchanged();
        match catch_up(&store, &mut latest, batch, &batches).await {
            Ok(()) => {
                if !reachable.swap(true, Ordering::Relaxed) {
                    tracing::info!(target: "tessera_store", "the database is reachable again");
                }
            }
            Err(Stop::Consumer) => return,
            Err(Stop::Database) => {
                // Logged by the store; try again at the next poll unless the store is closed.
                if store.pool.is_closed() {
                    return;
                }
                if reachable.swap(false, Ordering::Relaxed) {
                    tracing::warn!(target: "tessera_store", "the database is unreachable; caches serve what they hold");
                }
            }
        }
        tokio::select! {
            () = tokio::time::sleep(poll_interval) => {}
            Ok(()) = local.changed() => {}
            Ok(()) = wake.changed() => {}
        }
    }
}

enum Stop {
    Consumer,
    Database,
}

/// Reads the log after `latest` until caught up, sending each read to the consumer.
async fn catch_up(
    store: &SqlStore,
    latest: &mut Revision,
    batch: u32,
    batches: &mpsc::Sender<Batch>,
) -> Result<(), Stop> {
    let limit = usize::try_from(batch).unwrap_or(usize::MAX);
    loop {
        // The head first: the changes read next come from a later snapshot, so they include
        // every change of every revision up to it (see the module documentation).
        let head = store.current_revision().await.map_err(|_| Stop::Database)?;
        let changes = store
            .changes_since(*latest, batch)
            .await
            .map_err(|_| Stop::Database)?;
        let cut = changes.len() >= limit;
        let through = match changes.last() {
            Some(last) if cut => last.revision,
            Some(last) => head.max(last.revision),
            None => head.max(*latest),
        };
        if through > *latest {
            batches
                .send(Batch { through, changes })
                .await
                .map_err(|_| Stop::Consumer)?;
            *latest = through;
        }
        if !cut {
            return Ok(());
        }
    }
}

/// PostgreSQL: listens for commit notifications and signals `wake` for each (bursts coalesce),
/// and after every (re)connection, since notifications sent while not listening are lost.
/// A failed listener is rebuilt after `retry`.
async fn listen(url: String, wake: watch::Sender<u64>, retry: Duration) {
    let signal = || wake.send_modify(|n| *n = n.wrapping_add(1));
    loop {
        match PgListener::connect(&url).await {
            Ok(mut listener) => match listener.listen(NOTIFY_CHANNEL).await {
                Ok(()) => {
                    signal();
                    loop {
                        match listener.try_recv().await {
                            Ok(Some(_)) => {
                                while listener.next_buffered().is_some() {}
                                signal();
                            }
                            // The connection was lost and re-established (with `LISTEN`).
                            Ok(None) => signal(),
                            Err(error) => {
                                tracing::warn!(target: "tessera_store", %error, "change feed listener failed; polling until it reconnects");
                                break;
                            }
                        }
                    }
                }
                Err(error) => {
                    tracing::warn!(target: "tessera_store", %error, "change feed LISTEN failed; polling");
                }
            },
            Err(error) => {
                tracing::warn!(target: "tessera_store", %error, "change feed listener cannot connect; polling");
            }
        }
        tokio::time::sleep(retry).await;
    }
}
