//! Prometheus metrics (`metrics` facade, `metrics-exporter-prometheus` recorder), served as
//! text at `GET /metrics` on the service port. Names and labels:
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `tessera_rpc_requests_total` | counter | `method` (`tessera.v1.Sts/AssumeRole`), `grpc_code` (`OK`, `PERMISSION_DENIED`, …) |
//! | `tessera_rpc_errors_total` | counter | `method`, `grpc_code`, `error_code` (`NoPermission`, `Throttling.User`, …) |
//! | `tessera_rpc_duration_seconds` | histogram | `method` |
//! | `tessera_rpc_in_flight` | gauge | |
//! | `tessera_rpc_shed_total`, `tessera_rpc_timeouts_total` | counter | |
//! | `tessera_rate_limited_total` | counter | `operation` |
//! | `tessera_authorize_decisions_total` | counter | `decision` (`Allow`, `ExplicitDeny`, `ImplicitDeny`) |
//! | `tessera_tokens_issued_total` | counter | `kind` (`AssumeRole`, `SignIn`) |
//! | `tessera_cache_requests_total` | counter | `cache` (`principals`, `access_keys`, `sessions`, `certificates`), `result` (`hit`, `miss`) |
//! | `tessera_cache_entries` | gauge | `cache` |
//! | `tessera_store_duration_seconds` | histogram | `operation` (the loads behind the caches, the scrape's head read) |
//! | `tessera_change_feed_lag_revisions` | gauge | (committed head − revision the caches have applied, at scrape time) |
//! | `tessera_change_feed_batch_seconds` | histogram | (time to apply one batch of changes to the caches) |
//! | `tessera_store_reachable` | gauge | (1 while the change feed's reads of the database succeed, 0 from a failed read until one succeeds) |
//! | `tessera_authorize_degraded_total` | counter | (Authorize/BatchAuthorize answers served from the caches while the database was unreachable) |
//! | `tessera_audit_events_written_total` | counter | (audit events stored) |
//! | `tessera_audit_dropped_total` | counter | `reason` (`full`: the buffer was full; `store`: the store refused them past the retry time; `closed`: recorded during shutdown) |
//! | `tessera_audit_buffered_events` | gauge | (audit events waiting for the writer, at scrape time) |
//!
//! A cache's hit ratio is `rate(…{result="hit"}) / rate(tessera_cache_requests_total)`.
//! Labels are bounded: methods are the served ones (anything else is `unknown`), codes come
//! from the fixed tables. Nothing carries a secret, a principal or an account.
//!
//! The recorder is global to the process (one tesserad per process); [`install`] sets it once.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use metrics::{
    Counter, Gauge, Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge,
    histogram,
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tessera_store::{FeedWatcher, SqlStore};

use crate::audit::AuditSink;
use crate::auth::Authenticator;
use crate::principals::PrincipalCache;

pub const RPC_REQUESTS: &str = "tessera_rpc_requests_total";
pub const RPC_ERRORS: &str = "tessera_rpc_errors_total";
pub const RPC_DURATION: &str = "tessera_rpc_duration_seconds";
pub const RPC_IN_FLIGHT: &str = "tessera_rpc_in_flight";
pub const RPC_SHED: &str = "tessera_rpc_shed_total";
pub const RPC_TIMEOUTS: &str = "tessera_rpc_timeouts_total";
pub const RATE_LIMITED: &str = "tessera_rate_limited_total";
pub const DECISIONS: &str = "tessera_authorize_decisions_total";
pub const TOKENS_ISSUED: &str = "tessera_tokens_issued_total";
pub const CACHE_REQUESTS: &str = "tessera_cache_requests_total";
pub const CACHE_ENTRIES: &str = "tessera_cache_entries";
pub const STORE_DURATION: &str = "tessera_store_duration_seconds";
pub const FEED_LAG: &str = "tessera_change_feed_lag_revisions";
pub const FEED_BATCH: &str = "tessera_change_feed_batch_seconds";
pub const STORE_REACHABLE: &str = "tessera_store_reachable";
pub const AUTHORIZE_DEGRADED: &str = "tessera_authorize_degraded_total";
pub const AUDIT_WRITTEN: &str = "tessera_audit_events_written_total";
pub const AUDIT_DROPPED: &str = "tessera_audit_dropped_total";
pub const AUDIT_BUFFERED: &str = "tessera_audit_buffered_events";

/// Histogram buckets in seconds: 50 µs (a cached decision) to 10 s (the default timeout).
const BUCKETS: &[f64] = &[
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0,
];

/// How often the recorder's histograms are compacted between scrapes.
pub const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Installs the process's Prometheus recorder (once; later calls return the same handle).
/// `None` if another recorder was installed first (by an embedding program).
pub fn install() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = match PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
            {
                Ok(builder) => builder,
                Err(error) => {
                    tracing::warn!(%error, "metrics: bad histogram buckets; no metrics");
                    return None;
                }
            };
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if let Err(error) = metrics::set_global_recorder(recorder) {
                tracing::warn!(%error, "metrics: another recorder is installed; /metrics is off");
                return None;
            }
            describe();
            HOT_COUNTERS.get_or_init(HotCounters::register);
            Some(handle)
        })
        .clone()
}

fn describe() {
    describe_counter!(
        RPC_REQUESTS,
        "RPCs finished, by method and gRPC status code."
    );
    describe_counter!(
        RPC_ERRORS,
        "RPCs that failed, by method, gRPC code and error code."
    );
    describe_histogram!(RPC_DURATION, Unit::Seconds, "RPC duration, by method.");
    describe_gauge!(RPC_IN_FLIGHT, "RPCs in flight under the concurrency limit.");
    describe_counter!(RPC_SHED, "RPCs refused at the concurrency limit.");
    describe_counter!(RPC_TIMEOUTS, "RPCs cancelled at their deadline.");
    describe_counter!(RATE_LIMITED, "RPCs refused by a per-account rate limit.");
    describe_counter!(
        DECISIONS,
        "Authorize and BatchAuthorize decisions, by outcome."
    );
    describe_counter!(TOKENS_ISSUED, "Security tokens issued, by kind.");
    describe_counter!(CACHE_REQUESTS, "Cache lookups, by cache and hit or miss.");
    describe_gauge!(CACHE_ENTRIES, "Entries per cache (approximate).");
    describe_histogram!(
        STORE_DURATION,
        Unit::Seconds,
        "Store call duration, by operation."
    );
    describe_gauge!(
        FEED_LAG,
        "Revisions committed but not yet applied to this replica's caches."
    );
    describe_histogram!(
        FEED_BATCH,
        Unit::Seconds,
        "Time to apply one change-feed batch."
    );
    describe_gauge!(
        STORE_REACHABLE,
        "1 while this replica's reads of the database succeed, else 0."
    );
    describe_counter!(
        AUTHORIZE_DEGRADED,
        "Authorize answers served from the caches while the database was unreachable."
    );
    describe_counter!(AUDIT_WRITTEN, "Audit events stored.");
    describe_counter!(AUDIT_DROPPED, "Audit events dropped, by reason.");
    describe_gauge!(AUDIT_BUFFERED, "Audit events waiting to be stored.");
}

/// One finished RPC.
pub(crate) fn rpc_finished(
    method: &'static str,
    code: tonic::Code,
    error_code: Option<String>,
    elapsed: Duration,
) {
    let grpc_code = code_name(code);
    counter!(RPC_REQUESTS, "method" => method, "grpc_code" => grpc_code).increment(1);
    histogram!(RPC_DURATION, "method" => method).record(elapsed.as_secs_f64());
    if code != tonic::Code::Ok {
        let error_code = error_code.unwrap_or_else(|| String::from("-"));
        counter!(RPC_ERRORS, "method" => method, "grpc_code" => grpc_code, "error_code" => error_code)
            .increment(1);
    }
}

pub(crate) fn in_flight(delta: f64) {
    match HOT_COUNTERS.get() {
        Some(hot) => hot.in_flight.increment(delta),
        None => gauge!(RPC_IN_FLIGHT).increment(delta),
    }
}

pub(crate) fn shed() {
    counter!(RPC_SHED).increment(1);
}

pub(crate) fn timed_out() {
    counter!(RPC_TIMEOUTS).increment(1);
}

pub(crate) fn rate_limited(operation: String) {
    counter!(RATE_LIMITED, "operation" => operation).increment(1);
}

/// One `Authorize`/`BatchAuthorize` decision (`Allow`, `ExplicitDeny`, `ImplicitDeny`).
pub(crate) fn decisions(outcome: &'static str, count: u64) {
    if let Some(counters) = HOT_COUNTERS.get()
        && let Some((_, counter)) = counters.decisions.iter().find(|(n, _)| *n == outcome)
    {
        counter.increment(count);
        return;
    }
    counter!(DECISIONS, "decision" => outcome).increment(count);
}

/// One security token issued (`AssumeRole`, `SignIn`).
pub fn token_issued(kind: &'static str) {
    counter!(TOKENS_ISSUED, "kind" => kind).increment(1);
}

/// One cache lookup.
pub fn cache_lookup(cache: &'static str, hit: bool) {
    if let Some(counters) = HOT_COUNTERS.get()
        && let Some(counter) = counters.cache_lookup(cache, hit)
    {
        counter.increment(1);
        return;
    }
    let result = if hit { "hit" } else { "miss" };
    counter!(CACHE_REQUESTS, "cache" => cache, "result" => result).increment(1);
}

/// The metrics every `Authorize` updates, registered once with the installed recorder:
/// looking a labelled counter up by name costs more than the rest of a cached lookup.
struct HotCounters {
    /// `tessera_rpc_in_flight` (twice per limited RPC).
    in_flight: Gauge,
    /// `[hit, miss]` of the `sessions` and `principals` caches.
    sessions: [Counter; 2],
    principals: [Counter; 2],
    /// By decision name, as [`decisions`] is called.
    decisions: [(&'static str, Counter); 4],
}

static HOT_COUNTERS: OnceLock<HotCounters> = OnceLock::new();

impl HotCounters {
    fn register() -> HotCounters {
        let cache = |name: &'static str| {
            [
                counter!(CACHE_REQUESTS, "cache" => name, "result" => "hit"),
                counter!(CACHE_REQUESTS, "cache" => name, "result" => "miss"),
            ]
        };
        let decision = |name: &'static str| (name, counter!(DECISIONS, "decision" => name));
        HotCounters {
            in_flight: gauge!(RPC_IN_FLIGHT),
            sessions: cache("sessions"),
            principals: cache("principals"),
            decisions: [
                decision("Allow"),
                decision("ExplicitDeny"),
                decision("ImplicitDeny"),
                decision("Unspecified"),
            ],
        }
    }

    fn cache_lookup(&self, cache: &str, hit: bool) -> Option<&Counter> {
        let pair = match cache {
            "sessions" => &self.sessions,
            "principals" => &self.principals,
            _ => return None,
        };
        Some(&pair[usize::from(!hit)])
    }
}

/// Times one store call; recorded when dropped.
#[derive(Debug)]
pub struct StoreTimer {
    operation: &'static str,
    started: Instant,
}

/// Starts timing the store call `operation` (`load_user_principal`, …).
pub fn store_timer(operation: &'static str) -> StoreTimer {
    StoreTimer {
        operation,
        started: Instant::now(),
    }
}

impl Drop for StoreTimer {
    fn drop(&mut self) {
        histogram!(STORE_DURATION, "operation" => self.operation)
            .record(self.started.elapsed().as_secs_f64());
    }
}

/// One change-feed batch applied in `elapsed`.
pub fn feed_batch(elapsed: Duration) {
    histogram!(FEED_BATCH).record(elapsed.as_secs_f64());
}

/// One Authorize/BatchAuthorize answer served while the database was unreachable.
pub(crate) fn authorize_degraded() {
    counter!(AUTHORIZE_DEGRADED).increment(1);
}

/// `n` audit events stored.
pub(crate) fn audit_written(n: usize) {
    counter!(AUDIT_WRITTEN).increment(n as u64);
}

/// One audit event dropped (`full`, `closed`).
pub(crate) fn audit_dropped(reason: &'static str) {
    counter!(AUDIT_DROPPED, "reason" => reason).increment(1);
}

/// `n` audit events dropped (`store`).
pub(crate) fn audit_dropped_many(reason: &'static str, n: usize) {
    counter!(AUDIT_DROPPED, "reason" => reason).increment(n as u64);
}

/// The gRPC code as Prometheus label (the canonical upper-case names).
pub fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code;
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// What `/metrics` samples at scrape time besides the recorded metrics.
struct Probes {
    principals: PrincipalCache,
    authenticator: Arc<Authenticator>,
    store: SqlStore,
    feed: FeedWatcher,
    audit: AuditSink,
}

/// The `/metrics` endpoint of one server.
#[derive(Clone)]
pub struct Endpoint {
    handle: PrometheusHandle,
    probes: Arc<Probes>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint").finish_non_exhaustive()
    }
}

impl Endpoint {
    /// The endpoint, or `None` if no recorder could be installed.
    pub fn new(
        principals: PrincipalCache,
        authenticator: Arc<Authenticator>,
        store: SqlStore,
        feed: FeedWatcher,
        audit: AuditSink,
    ) -> Option<Endpoint> {
        Some(Endpoint {
            handle: install()?,
            probes: Arc::new(Probes {
                principals,
                authenticator,
                store,
                feed,
                audit,
            }),
        })
    }

    /// Samples the caches and the change feed, then renders every metric as Prometheus text.
    pub async fn render(&self) -> String {
        let probes = &self.probes;
        let principals = probes.principals.settled_entry_count().await;
        gauge!(CACHE_ENTRIES, "cache" => "principals").set(principals as f64);
        for (cache, entries) in probes.authenticator.cache_entries().await {
            gauge!(CACHE_ENTRIES, "cache" => cache).set(entries as f64);
        }
        let head = {
            let _timer = store_timer("current_revision");
            probes.store.current_revision().await
        };
        match head {
            Ok(head) => {
                let applied = probes.feed.latest();
                gauge!(FEED_LAG).set(head.0.saturating_sub(applied.0).max(0) as f64);
            }
            Err(error) => tracing::debug!(%error, "metrics: cannot read the head revision"),
        }
        let reachable = if probes.feed.store_reachable() {
            1.0
        } else {
            0.0
        };
        gauge!(STORE_REACHABLE).set(reachable);
        gauge!(AUDIT_BUFFERED).set(probes.audit.buffered() as f64);
        self.handle.run_upkeep();
        self.handle.render()
    }

    /// Compacts the histograms every [`UPKEEP_INTERVAL`] (between scrapes they would grow).
    pub async fn upkeep(self) {
        let mut every = tokio::time::interval(UPKEEP_INTERVAL);
        loop {
            every.tick().await;
            self.handle.run_upkeep();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn codes_have_their_canonical_names() {
        assert_eq!(code_name(tonic::Code::Ok), "OK");
        assert_eq!(
            code_name(tonic::Code::ResourceExhausted),
            "RESOURCE_EXHAUSTED"
        );
        assert_eq!(code_name(tonic::Code::Unauthenticated), "UNAUTHENTICATED");
    }
}
