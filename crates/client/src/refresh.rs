//! The refresh logic the temporary-credential providers share ([`crate::AssumeRoleProvider`],
//! [`crate::OidcTokenFileProvider`]): cached credentials are reused until less than the
//! refresh margin of their lifetime remains; one refresh runs at a time (concurrent callers
//! wait for it); a failed refresh falls back to the cached credentials while they are still
//! valid. Time comes from a [`Clock`], so tests move it.

use std::sync::{Arc, RwLock};

use jiff::{SignedDuration, Timestamp};
use tessera_proto::v1 as pb;

use crate::Error;
use crate::credential::Credential;

/// Where a provider reads the time, so that tests can move it.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// The share of a session's lifetime left when a provider refreshes by default: a fifth (12
/// minutes of a one-hour session).
pub const DEFAULT_REFRESH_MARGIN: f64 = 0.2;

#[derive(Clone)]
struct Cached {
    credential: Credential,
    /// When to refresh: `margin` of the lifetime before `expiration`.
    refresh_at: Timestamp,
    expiration: Timestamp,
}

/// One provider's cache (see the module documentation).
pub(crate) struct Refresher {
    clock: Arc<dyn Clock>,
    margin: f64,
    cached: RwLock<Option<Cached>>,
    /// Held while refreshing: one fetch at a time.
    refreshing: tokio::sync::Mutex<()>,
}

impl Refresher {
    /// An empty cache on `clock` refreshing with `margin` (clamped to 0..1; NaN: the default).
    pub(crate) fn new(clock: Arc<dyn Clock>, margin: f64) -> Refresher {
        let margin = if margin.is_nan() {
            DEFAULT_REFRESH_MARGIN
        } else {
            margin.clamp(0.0, 1.0)
        };
        Refresher {
            clock,
            margin,
            cached: RwLock::new(None),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    pub(crate) fn margin(&self) -> f64 {
        self.margin
    }

    pub(crate) fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    /// When the cached credentials expire, if there are any.
    pub(crate) fn expiration(&self) -> Option<Timestamp> {
        self.cached().map(|c| c.expiration)
    }

    fn cached(&self) -> Option<Cached> {
        // A poisoned lock only means a panic elsewhere mid-write of a plain value.
        match self.cached.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn store(&self, cached: Cached) {
        match self.cached.write() {
            Ok(mut guard) => *guard = Some(cached),
            Err(poisoned) => *poisoned.into_inner() = Some(cached),
        }
    }

    /// The credentials, fetched anew with `fetch` first if they are due.
    pub(crate) async fn current<F, Fut>(&self, fetch: F) -> Result<Credential, Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<pb::Credentials, Error>>,
    {
        let now = self.clock.now();
        if let Some(cached) = self.cached().filter(|c| now < c.refresh_at) {
            return Ok(cached.credential);
        }
        let _refreshing = self.refreshing.lock().await;
        // Another task may have refreshed while this one waited.
        let now = self.clock.now();
        let cached = self.cached();
        if let Some(cached) = cached.as_ref().filter(|c| now < c.refresh_at) {
            return Ok(cached.credential.clone());
        }
        match fetch().await.and_then(|c| self.cache_entry(c, now)) {
            Ok(fresh) => {
                self.store(fresh.clone());
                Ok(fresh.credential)
            }
            Err(e) => match cached.filter(|c| now < c.expiration) {
                Some(still_valid) => Ok(still_valid.credential),
                None => Err(e),
            },
        }
    }

    fn cache_entry(&self, credentials: pb::Credentials, now: Timestamp) -> Result<Cached, Error> {
        let expiration = credentials
            .expiration
            .and_then(|t| Timestamp::new(t.seconds, t.nanos).ok())
            .ok_or_else(|| {
                Error::Status(tonic::Status::internal(
                    "InternalError: the server returned credentials without an expiration",
                ))
            })?;
        let lifetime = expiration.duration_since(now);
        let margin =
            SignedDuration::try_from_secs_f64(lifetime.as_secs_f64().max(0.0) * self.margin)
                .unwrap_or_default();
        Ok(Cached {
            credential: Credential::sts(
                credentials.access_key_id,
                credentials.access_key_secret,
                credentials.security_token,
            ),
            refresh_at: expiration.checked_sub(margin).unwrap_or(expiration),
            expiration,
        })
    }
}
