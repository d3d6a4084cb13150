//! [`AssumeRoleProvider`]: temporary credentials of a role, assumed with base credentials and
//! refreshed before they expire — what `alibabacloud-credentials`' `ram_role_arn` provider
//! does, over Tessera's gRPC `Sts/AssumeRole`.

use std::sync::{Arc, RwLock};

use jiff::{SignedDuration, Timestamp};
use tessera_proto::v1 as pb;
use tessera_proto::v1::sts_client::StsClient;

use crate::Error;
use crate::credential::{Credential, CredentialsProvider};
use crate::signing::SignedChannel;

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

/// The parameters of the AssumeRole calls a provider makes.
#[derive(Debug, Clone, Default)]
pub struct AssumeRoleParams {
    /// `acs:ram::<account>:role/<name>`.
    pub role_arn: String,
    /// 2..64 characters of letters, digits, `.`, `@`, `-`, `_`.
    pub role_session_name: String,
    /// An optional session policy (JSON) narrowing the role's permissions.
    pub policy: Option<String>,
    /// 900..the role's MaxSessionDuration; `None`: the server's default, 3600.
    pub duration_seconds: Option<u32>,
    pub external_id: Option<String>,
    pub source_identity: Option<String>,
}

/// Temporary credentials of one role: the first call assumes the role with the base
/// credentials of `sts`, later calls reuse the cached credentials until less than the refresh
/// margin of their lifetime remains, and then assume it again.
///
/// Shared safely between tasks (clones share one cache): concurrent callers needing a refresh
/// wait for the one AssumeRole in flight instead of making their own. If a refresh fails while
/// the cached credentials are still valid, those are returned (the next call tries again); once
/// they have expired, the failure is returned.
///
/// ```no_run
/// # async fn example() -> Result<(), tessera_client::Error> {
/// use tessera_client::{AssumeRoleProvider, Client, Credential};
///
/// let base = Client::connect("http://127.0.0.1:7733", Credential::access_key("LTAI…", "…")).await?;
/// let provider = AssumeRoleProvider::new(
///     base.sts(),
///     "acs:ram::1234567890123456:role/reader",
///     "my-service",
/// );
/// let as_role = base.with_provider(provider);
/// let me = as_role
///     .sts()
///     .get_caller_identity(tessera_client::pb::GetCallerIdentityRequest {})
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AssumeRoleProvider {
    shared: Arc<Shared>,
}

struct Shared {
    sts: StsClient<SignedChannel>,
    params: AssumeRoleParams,
    clock: Arc<dyn Clock>,
    margin: f64,
    cached: RwLock<Option<Cached>>,
    /// Held while refreshing: one AssumeRole at a time.
    refreshing: tokio::sync::Mutex<()>,
}

#[derive(Clone)]
struct Cached {
    credential: Credential,
    /// When to refresh: `margin` of the lifetime before `expiration`.
    refresh_at: Timestamp,
    expiration: Timestamp,
}

impl std::fmt::Debug for AssumeRoleProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssumeRoleProvider")
            .field("params", &self.shared.params)
            .field("margin", &self.shared.margin)
            .finish_non_exhaustive()
    }
}

impl AssumeRoleProvider {
    /// Assumes `role_arn` as session `role_session_name` through `sts` (a client signed with
    /// the base credentials), on the system clock with the default margin.
    pub fn new(
        sts: StsClient<SignedChannel>,
        role_arn: impl Into<String>,
        role_session_name: impl Into<String>,
    ) -> AssumeRoleProvider {
        AssumeRoleProvider::with_params(
            sts,
            AssumeRoleParams {
                role_arn: role_arn.into(),
                role_session_name: role_session_name.into(),
                ..AssumeRoleParams::default()
            },
        )
    }

    /// Assumes the role with all of `params`.
    pub fn with_params(sts: StsClient<SignedChannel>, params: AssumeRoleParams) -> Self {
        AssumeRoleProvider {
            shared: Arc::new(Shared {
                sts,
                params,
                clock: Arc::new(SystemClock),
                margin: DEFAULT_REFRESH_MARGIN,
                cached: RwLock::new(None),
                refreshing: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// Reads the time from `clock`. Call before the first use: the cache is reset.
    pub fn clock(self, clock: impl Clock) -> Self {
        self.rebuild(|s| s.clock = Arc::new(clock))
    }

    /// Refreshes when less than `margin` (0..1) of the credentials' lifetime remains.
    pub fn refresh_margin(self, margin: f64) -> Self {
        let margin = if margin.is_nan() {
            DEFAULT_REFRESH_MARGIN
        } else {
            margin.clamp(0.0, 1.0)
        };
        self.rebuild(|s| s.margin = margin)
    }

    fn rebuild(self, change: impl FnOnce(&mut Shared)) -> Self {
        let old = &self.shared;
        let mut shared = Shared {
            sts: old.sts.clone(),
            params: old.params.clone(),
            clock: old.clock.clone(),
            margin: old.margin,
            cached: RwLock::new(None),
            refreshing: tokio::sync::Mutex::new(()),
        };
        change(&mut shared);
        AssumeRoleProvider {
            shared: Arc::new(shared),
        }
    }

    /// The role this provider assumes.
    pub fn params(&self) -> &AssumeRoleParams {
        &self.shared.params
    }

    /// When the cached credentials expire, if there are any.
    pub fn expiration(&self) -> Option<Timestamp> {
        self.cached().map(|c| c.expiration)
    }

    fn cached(&self) -> Option<Cached> {
        // A poisoned lock only means a panic elsewhere mid-write of a plain value.
        match self.shared.cached.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn store(&self, cached: Cached) {
        match self.shared.cached.write() {
            Ok(mut guard) => *guard = Some(cached),
            Err(poisoned) => *poisoned.into_inner() = Some(cached),
        }
    }

    /// The credentials, refreshed first if they are due.
    async fn current(&self) -> Result<Credential, Error> {
        let now = self.shared.clock.now();
        if let Some(cached) = self.cached().filter(|c| now < c.refresh_at) {
            return Ok(cached.credential);
        }
        let _refreshing = self.shared.refreshing.lock().await;
        // Another task may have refreshed while this one waited.
        let now = self.shared.clock.now();
        let cached = self.cached();
        if let Some(cached) = cached.as_ref().filter(|c| now < c.refresh_at) {
            return Ok(cached.credential.clone());
        }
        match self.assume(now).await {
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

    async fn assume(&self, now: Timestamp) -> Result<Cached, Error> {
        let p = &self.shared.params;
        let request = pb::AssumeRoleRequest {
            role_arn: p.role_arn.clone(),
            role_session_name: p.role_session_name.clone(),
            policy: p.policy.clone().unwrap_or_default(),
            duration_seconds: p.duration_seconds.unwrap_or_default(),
            external_id: p.external_id.clone().unwrap_or_default(),
            source_identity: p.source_identity.clone().unwrap_or_default(),
        };
        let response = self.shared.sts.clone().assume_role(request).await?;
        let credentials = response.into_inner().credentials.ok_or_else(|| {
            Error::Status(tonic::Status::internal(
                "InternalError: AssumeRole returned no credentials",
            ))
        })?;
        let expiration = credentials
            .expiration
            .and_then(|t| Timestamp::new(t.seconds, t.nanos).ok())
            .ok_or_else(|| {
                Error::Status(tonic::Status::internal(
                    "InternalError: AssumeRole returned credentials without an expiration",
                ))
            })?;
        let lifetime = expiration.duration_since(now);
        let margin =
            SignedDuration::try_from_secs_f64(lifetime.as_secs_f64().max(0.0) * self.shared.margin)
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

#[async_trait::async_trait]
impl CredentialsProvider for AssumeRoleProvider {
    async fn credential(&self) -> Result<Credential, Error> {
        self.current().await
    }
}
