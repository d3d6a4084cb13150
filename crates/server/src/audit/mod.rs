//! The audit trail (ActionTrail-like, `docs/audit.md`): every admin mutation (RAM and
//! Operator), every STS issuance and sign-in (granted or refused), every denied `Authorize`
//! decision and a configurable sample of allowed ones, each recorded with time, account,
//! principal ARN, source IP, event name, action, resource, decision, request id and error code.
//!
//! - Recording ([`AuditSink::record`]) is a `try_send` into a bounded channel: it never waits,
//!   so no request (least of all a decision) is slowed by the store. A full buffer drops the
//!   event and counts it (`tessera_audit_dropped_total{reason="full"}`, and a warning in the log
//!   from the writer).
//! - One writer task ([`start`]) takes what is buffered in batches (gathered for up to
//!   [`GATHER`]) into
//!   [`SystemStore::append_audit_events`]; a failing store is retried with backoff for up to
//!   [`STORE_RETRY`], after which the batch is dropped and counted (`reason="store"`). On
//!   shutdown it stops taking new events and writes what is buffered ([`AuditTask::finish`]).
//! - A pruning task deletes events older than `retention_days` ([`prune`]).
//! - [`record`] builds events from requests; [`lookup`] serves `tessera.v1.Audit/LookupEvents`.

pub mod lookup;
pub mod record;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable as _};
use jiff::{SignedDuration, Timestamp};
use tessera_store::{AuditEvent, SqlStore, SystemStore as _};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

pub use lookup::AuditService;

use crate::config::Audit as Settings;
use crate::telemetry::metrics;

/// Events per store write (one transaction).
const BATCH: usize = 1024;
/// How long the writer, once caught up, waits after an event for more: one transaction per
/// window instead of one per event or two (each commit costs the database more than the rows
/// it writes); an event is stored at most this much later (a backlog is written at once).
const GATHER: Duration = Duration::from_millis(50);
/// How long the writer retries a failing store before dropping a batch.
pub const STORE_RETRY: Duration = Duration::from_secs(10);
/// How often old events are pruned.
const PRUNE_INTERVAL: Duration = Duration::from_secs(3600);
/// Events deleted per pruning statement.
const PRUNE_BATCH: u32 = 10_000;

/// Where requests record events (cheap to clone). A disabled sink records nothing.
#[derive(Debug, Clone)]
pub struct AuditSink {
    inner: Option<Arc<Inner>>,
}

#[derive(Debug)]
struct Inner {
    events: mpsc::Sender<AuditEvent>,
    capacity: usize,
    sample_allowed: f64,
    /// Drops of a full buffer since the writer last reported them.
    dropped_full: AtomicU64,
}

impl AuditSink {
    /// A sink that records nothing (audit disabled, or services built without one).
    pub fn disabled() -> AuditSink {
        AuditSink { inner: None }
    }

    pub fn enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// Buffers `event` for the writer, or drops it (counted) if the buffer is full. Never
    /// waits.
    pub fn record(&self, event: AuditEvent) {
        let Some(inner) = &self.inner else {
            return;
        };
        match inner.events.try_send(event) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                inner.dropped_full.fetch_add(1, Ordering::Relaxed);
                metrics::audit_dropped("full");
            }
            // The writer has stopped (shutting down): the server is no longer answering.
            Err(mpsc::error::TrySendError::Closed(_)) => metrics::audit_dropped("closed"),
        }
    }

    /// Whether this allowed `Authorize` decision is one of the sample recorded.
    pub fn sample_allowed(&self) -> bool {
        self.inner.as_ref().is_some_and(|inner| {
            inner.sample_allowed > 0.0 && rand::random::<f64>() < inner.sample_allowed
        })
    }

    /// Events buffered and not yet taken by the writer.
    pub fn buffered(&self) -> usize {
        self.inner
            .as_ref()
            .map_or(0, |inner| inner.capacity - inner.events.capacity())
    }
}

/// The writer and pruning tasks of a running server.
#[derive(Debug)]
pub struct AuditTask {
    stop: oneshot::Sender<()>,
    writer: JoinHandle<()>,
    pruner: Option<JoinHandle<()>>,
}

impl AuditTask {
    /// Stops taking new events, writes the buffered ones (retrying the store for at most
    /// [`STORE_RETRY`]) and stops pruning.
    pub async fn finish(self) {
        if let Some(pruner) = &self.pruner {
            pruner.abort();
        }
        let _ = self.stop.send(());
        let _ = self.writer.await;
    }
}

/// Starts auditing into `store` as `settings` say: the sink requests record into, and the
/// tasks behind it. Disabled settings give a disabled sink and no tasks.
pub fn start(store: SqlStore, settings: &Settings) -> (AuditSink, Option<AuditTask>) {
    if !settings.enabled {
        return (AuditSink::disabled(), None);
    }
    let capacity = settings.buffer_capacity.max(1);
    let (events, receiver) = mpsc::channel(capacity);
    let inner = Arc::new(Inner {
        events,
        capacity,
        sample_allowed: settings.sample_allowed,
        dropped_full: AtomicU64::new(0),
    });
    let (stop, stopped) = oneshot::channel();
    let writer = tokio::spawn(write(store.clone(), receiver, inner.clone(), stopped));
    let pruner = (settings.retention_days > 0).then(|| {
        let retention = SignedDuration::from_hours(24 * i64::from(settings.retention_days));
        tokio::spawn(prune_every(store, retention))
    });
    let task = AuditTask {
        stop,
        writer,
        pruner,
    };
    (AuditSink { inner: Some(inner) }, Some(task))
}

/// The writer: batches of buffered events into the store until stopped, then the rest.
async fn write(
    store: SqlStore,
    mut events: mpsc::Receiver<AuditEvent>,
    inner: Arc<Inner>,
    mut stopped: oneshot::Receiver<()>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        tokio::select! {
            biased;
            _ = &mut stopped => break,
            n = events.recv_many(&mut batch, BATCH) => {
                if n == 0 {
                    break;
                }
                if batch.len() < BATCH && events.is_empty() {
                    // Caught up: let the window fill (asleep, not woken by every event),
                    // then take what arrived. With a backlog, write at once.
                    tokio::time::sleep(GATHER).await;
                    while batch.len() < BATCH {
                        match events.try_recv() {
                            Ok(event) => batch.push(event),
                            Err(_) => break,
                        }
                    }
                }
                report_drops(&inner);
                store_batch(&store, &mut batch).await;
            }
        }
    }
    // Shutting down: take nothing new, write what is buffered.
    events.close();
    while events.recv_many(&mut batch, BATCH).await > 0 {
        store_batch(&store, &mut batch).await;
    }
    report_drops(&inner);
}

/// Writes (and empties) `batch`, retrying a failing store for up to [`STORE_RETRY`].
async fn store_batch(store: &SqlStore, batch: &mut Vec<AuditEvent>) {
    let backoff = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(50))
        .with_max_delay(Duration::from_secs(2))
        .with_total_delay(Some(STORE_RETRY))
        .with_max_times(usize::MAX)
        .with_jitter();
    let events = &*batch;
    let written = (|| async { store.append_audit_events(events).await })
        .retry(backoff)
        .notify(|error, after| {
            tracing::debug!(%error, retry_in = ?after, "audit events not written yet; retrying");
        })
        .await;
    match written {
        Ok(()) => metrics::audit_written(batch.len()),
        Err(error) => {
            tracing::warn!(
                %error,
                events = batch.len(),
                "the store did not take audit events in time; dropped them"
            );
            metrics::audit_dropped_many("store", batch.len());
        }
    }
    batch.clear();
}

fn report_drops(inner: &Inner) {
    let dropped = inner.dropped_full.swap(0, Ordering::Relaxed);
    if dropped > 0 {
        tracing::warn!(
            dropped,
            capacity = inner.capacity,
            "the audit buffer was full: events were dropped (see tessera_audit_dropped_total)"
        );
    }
}

/// Prunes every [`PRUNE_INTERVAL`] (the first time at start).
async fn prune_every(store: SqlStore, retention: SignedDuration) {
    let mut every = tokio::time::interval(PRUNE_INTERVAL);
    loop {
        every.tick().await;
        match prune(&store, Timestamp::now(), retention).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "pruned audit events past their retention"),
            Err(error) => tracing::warn!(%error, "could not prune audit events; will retry"),
        }
    }
}

/// Deletes every event older than `retention` at `now`, in bounded batches; returns how many.
pub async fn prune(
    store: &SqlStore,
    now: Timestamp,
    retention: SignedDuration,
) -> Result<u64, tessera_store::Error> {
    let Ok(before) = now.checked_sub(retention) else {
        return Ok(0);
    };
    let mut total = 0;
    loop {
        let deleted = store.purge_audit_events(before, PRUNE_BATCH).await?;
        total += deleted;
        if deleted < u64::from(PRUNE_BATCH) {
            return Ok(total);
        }
    }
}
