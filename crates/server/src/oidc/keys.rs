//! The issuers' keys, cached per issuer (and the fingerprints its TLS is checked with, so a
//! provider never uses keys fetched under another provider's pins).
//!
//! Time is passed in (the request's), so the rules below are exact and testable:
//! - keys fetched at `t` are used until `t + ttl`; after that they are fetched again, and if
//!   that fails the lookup fails (`ServiceUnavailable.OIDCProvider`) — an unreachable issuer
//!   is survived for as long as its keys are trusted, never longer;
//! - a token naming a `kid` the cached keys lack (the issuer rotated its keys) refetches at
//!   once, but at most once per [`REFRESH_INTERVAL`] per issuer, so tokens with made-up `kid`s
//!   cannot make the server hammer the issuer;
//! - after a failed fetch, the next attempt waits [`REFRESH_INTERVAL`] too (lookups in
//!   between answer from the cache, or with the failure);
//! - fetches of one issuer are serialized, so concurrent lookups share one fetch.

use std::sync::{Arc, RwLock};

use jiff::{SignedDuration, Timestamp};
use jsonwebtoken::jwk::Jwk;
use tessera_iam::Error;

use super::fetch::Fetcher;

/// The shortest time between two refetches of one issuer forced by an unknown `kid` or after
/// a failure.
pub const REFRESH_INTERVAL: SignedDuration = SignedDuration::from_secs(10);
/// How many issuers' keys are held at most.
pub const CAPACITY: u64 = 10_000;

/// One issuer's key set and when it was fetched.
#[derive(Debug)]
pub struct KeySet {
    pub keys: Vec<Jwk>,
    pub fetched_at: Timestamp,
}

impl KeySet {
    /// The key named `kid`, if any.
    pub fn find(&self, kid: &str) -> Option<&Jwk> {
        self.keys
            .iter()
            .find(|k| k.common.key_id.as_deref() == Some(kid))
    }
}

/// What a lookup found: the keys to verify with, and — when a refetch was wanted for an
/// unknown `kid` but failed — why.
#[derive(Debug)]
pub struct Found {
    pub set: Arc<KeySet>,
    pub refresh_failed: Option<Error>,
}

#[derive(Debug, Default)]
struct Slot {
    current: RwLock<Option<Arc<KeySet>>>,
    fetching: tokio::sync::Mutex<Attempts>,
}

#[derive(Debug, Default)]
struct Attempts {
    /// The last refetch forced by an unknown `kid`.
    forced_at: Option<Timestamp>,
    /// The last failed fetch, and why.
    failed: Option<(Timestamp, Error)>,
}

impl Slot {
    /// The cached set if it is still inside its TTL at `now`.
    fn fresh(&self, now: Timestamp, ttl: SignedDuration) -> Option<Arc<KeySet>> {
        let current = match self.current.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }?;
        (now.duration_since(current.fetched_at) < ttl).then_some(current)
    }

    fn store(&self, set: Arc<KeySet>) {
        match self.current.write() {
            Ok(mut guard) => *guard = Some(set),
            Err(poisoned) => *poisoned.into_inner() = Some(set),
        }
    }
}

/// The cache (see the module documentation).
#[derive(Debug, Clone)]
pub struct KeyCache {
    fetcher: Fetcher,
    ttl: SignedDuration,
    slots: moka::sync::Cache<String, Arc<Slot>>,
}

impl KeyCache {
    pub fn new(fetcher: Fetcher, ttl: std::time::Duration) -> KeyCache {
        KeyCache {
            fetcher,
            ttl: SignedDuration::try_from(ttl).unwrap_or(SignedDuration::from_hours(1)),
            slots: moka::sync::Cache::builder().max_capacity(CAPACITY).build(),
        }
    }

    /// The keys of `issuer` for a token naming `kid` (`None`: any key will do), at `now`.
    pub async fn lookup(
        &self,
        issuer: &str,
        fingerprints: &[String],
        kid: Option<&str>,
        now: Timestamp,
    ) -> Result<Found, Error> {
        let slot = self
            .slots
            .get_with(format!("{issuer} {}", fingerprints.join(",")), || {
                Arc::new(Slot::default())
            });
        let known = |set: &KeySet| kid.is_none_or(|kid| set.find(kid).is_some());
        let cached = slot.fresh(now, self.ttl);
        if let Some(set) = &cached
            && known(set)
        {
            return Ok(Found {
                set: set.clone(),
                refresh_failed: None,
            });
        }

        let mut attempts = slot.fetching.lock().await;
        // Another lookup may have fetched while this one waited.
        let cached = slot.fresh(now, self.ttl);
        if let Some(set) = &cached
            && known(set)
        {
            return Ok(Found {
                set: set.clone(),
                refresh_failed: None,
            });
        }
        let recently = |at: Timestamp| now.duration_since(at) < REFRESH_INTERVAL;
        let recent_failure = attempts
            .failed
            .as_ref()
            .filter(|(at, _)| recently(*at))
            .map(|(_, e)| e.clone());
        if let Some(set) = cached {
            // Fresh keys without the kid: refetch, unless that was tried just now.
            if let Some(error) = recent_failure {
                return Ok(Found {
                    set,
                    refresh_failed: Some(error),
                });
            }
            if attempts.forced_at.is_some_and(recently) {
                return Ok(Found {
                    set,
                    refresh_failed: None,
                });
            }
            attempts.forced_at = Some(now);
            return match self
                .fetch(&slot, &mut attempts, issuer, fingerprints, now)
                .await
            {
                Ok(set) => Ok(Found {
                    set,
                    refresh_failed: None,
                }),
                Err(error) => Ok(Found {
                    set,
                    refresh_failed: Some(error),
                }),
            };
        }
        if let Some(error) = recent_failure {
            return Err(error);
        }
        self.fetch(&slot, &mut attempts, issuer, fingerprints, now)
            .await
            .map(|set| Found {
                set,
                refresh_failed: None,
            })
    }

    async fn fetch(
        &self,
        slot: &Slot,
        attempts: &mut Attempts,
        issuer: &str,
        fingerprints: &[String],
        now: Timestamp,
    ) -> Result<Arc<KeySet>, Error> {
        match self.fetcher.fetch(issuer, fingerprints).await {
            Ok(keys) => {
                tracing::info!(issuer, keys = keys.len(), "fetched an OIDC issuer's keys");
                let set = Arc::new(KeySet {
                    keys,
                    fetched_at: now,
                });
                slot.store(set.clone());
                attempts.failed = None;
                Ok(set)
            }
            Err(error) => {
                tracing::warn!(
                    issuer,
                    code = error.code(),
                    reason = error.message(),
                    "could not fetch an OIDC issuer's keys"
                );
                attempts.failed = Some((now, error.clone()));
                Err(error)
            }
        }
    }
}
