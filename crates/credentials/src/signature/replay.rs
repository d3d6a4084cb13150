//! The replay guard: a bounded, thread-safe cache of the nonces seen recently.

use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use moka::Expiry;
use moka::sync::Cache;

use super::{SignatureError, TIMESTAMP_WINDOW, check_timestamp};

/// Kept beyond the moment a request's timestamp leaves the window, to absorb clock steps.
const MARGIN: SignedDuration = SignedDuration::from_secs(60);

/// Remembers `(access key id, nonce)` pairs for as long as a request carrying them could
/// still pass the timestamp check (its timestamp + 15 minutes, plus a minute of margin), so a
/// captured request cannot be replayed within the window.
///
/// Bounded: past `max_entries` the least useful entries are evicted (a replay of an evicted
/// nonce would then pass, so size it for the peak request rate × 30 minutes). Per replica:
/// replicas behind a load balancer each keep their own, so a replay sent to another replica
/// is only caught by a shared store. Clones share one cache. Entry lifetimes are measured
/// by the cache's own monotonic clock, from the `now` given at insertion.
#[derive(Clone)]
pub struct ReplayGuard {
    cache: Cache<(String, String), Duration>,
}

/// Each entry lives for the duration stored as its value.
struct UntilWindowCloses;

impl Expiry<(String, String), Duration> for UntilWindowCloses {
    fn expire_after_create(
        &self,
        _key: &(String, String),
        ttl: &Duration,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(*ttl)
    }
}

impl ReplayGuard {
    /// A reasonable default size.
    pub const DEFAULT_CAPACITY: u64 = 1_000_000;

    pub fn new(max_entries: u64) -> ReplayGuard {
        ReplayGuard {
            cache: Cache::builder()
                .max_capacity(max_entries)
                .expire_after(UntilWindowCloses)
                .build(),
        }
    }

    /// Checks `timestamp` against `now` (15-minute window), then records the nonce:
    /// `Err(SignatureNonceUsed)` if this key id already used it within the window. Atomic:
    /// of concurrent calls with the same pair, exactly one succeeds. Call it after the
    /// signature verified, so unauthenticated requests cannot fill the cache.
    pub fn check_and_remember(
        &self,
        access_key_id: &str,
        nonce: &str,
        timestamp: Timestamp,
        now: Timestamp,
    ) -> Result<(), SignatureError> {
        check_timestamp(timestamp, now)?;
        // Time left before `timestamp` leaves the window, never negative here.
        let left = TIMESTAMP_WINDOW - now.duration_since(timestamp);
        let ttl = Duration::try_from(left + MARGIN).unwrap_or(Duration::from_secs(60));
        let entry = self
            .cache
            .entry((access_key_id.to_owned(), nonce.to_owned()))
            .or_insert_with(|| ttl);
        if entry.is_fresh() {
            Ok(())
        } else {
            Err(SignatureError::SignatureNonceUsed)
        }
    }

    /// Approximate number of remembered nonces.
    pub fn len(&self) -> u64 {
        self.cache.run_pending_tasks();
        self.cache.entry_count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for ReplayGuard {
    fn default() -> ReplayGuard {
        ReplayGuard::new(ReplayGuard::DEFAULT_CAPACITY)
    }
}

impl std::fmt::Debug for ReplayGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplayGuard")
            .field("entries", &self.cache.entry_count())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn a_nonce_is_accepted_once_per_key() {
        let guard = ReplayGuard::new(100);
        let t = ts("2026-11-22T04:42:03Z");
        let now = ts("2026-11-22T04:43:00Z");
        assert_eq!(guard.check_and_remember("LTAI1", "n1", t, now), Ok(()));
        assert_eq!(
            guard.check_and_remember("LTAI1", "n1", t, now),
            Err(SignatureError::SignatureNonceUsed)
        );
        assert_eq!(
            guard
                .check_and_remember("LTAI1", "n1", t, now)
                .unwrap_err()
                .code(),
            "SignatureNonceUsed"
        );
        // Another key may use the same nonce; the same key another nonce.
        assert_eq!(guard.check_and_remember("LTAI2", "n1", t, now), Ok(()));
        assert_eq!(guard.check_and_remember("LTAI1", "n2", t, now), Ok(()));
        assert_eq!(guard.len(), 3);
    }

    #[test]
    fn stale_or_future_timestamps_are_rejected_before_remembering() {
        let guard = ReplayGuard::new(100);
        let now = ts("2026-11-22T05:00:00Z");
        for t in ["2026-11-22T04:44:59Z", "2026-11-22T05:15:01Z"] {
            assert_eq!(
                guard.check_and_remember("LTAI1", "n", ts(t), now),
                Err(SignatureError::InvalidTimeStampExpired)
            );
        }
        assert!(guard.is_empty());
        // Edges of the window are inside.
        assert_eq!(
            guard.check_and_remember("LTAI1", "a", ts("2026-11-22T04:45:00Z"), now),
            Ok(())
        );
        assert_eq!(
            guard.check_and_remember("LTAI1", "b", ts("2026-11-22T05:15:00Z"), now),
            Ok(())
        );
    }

    #[test]
    fn concurrent_replays_admit_exactly_one() {
        let guard = Arc::new(ReplayGuard::new(1000));
        let t = ts("2026-11-22T04:42:03Z");
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let guard = Arc::clone(&guard);
                std::thread::spawn(move || guard.check_and_remember("LTAI1", "same", t, t).is_ok())
            })
            .collect();
        let admitted = handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|ok| *ok)
            .count();
        assert_eq!(admitted, 1);
    }
}
