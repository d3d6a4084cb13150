//! Per-account rate limits (GCRA, `governor`), configured per operation: `rate_limits` maps an
//! RPC name (`AssumeRole`) to the requests per second one account may make (a burst of the
//! same size is allowed), and `"*"` sets the rate of every other operation, each counted on
//! its own. `AssumeRole` is limited to 100 per second per account by default, as Alibaba
//! Cloud does; 0 lifts a limit.
//!
//! The layer sits right behind authentication: the account is the authenticated caller's
//! (shared by its root, users and role sessions); a caller without an account is counted by
//! its ARN. Unauthenticated calls (`SignIn`, `AssumeRoleWithOIDC`) are not limited here;
//! `AssumeRoleWithOIDC` checks the role's account itself ([`RateLimitLayer::check_account`],
//! the same bucket whether the call came over gRPC or HTTP). A refusal is
//! `RESOURCE_EXHAUSTED` with `Throttling.User: Request was denied due to user flow control.`,
//! the `x-tessera-error-code` trailer, and the wait before a retry can pass as `retry-after`
//! (whole seconds, at least 1) and `grpc-retry-pushback-ms` (gRPC's retry pushback).
//!
//! Time is tokio's ([`TokioClock`]), so tests can pause it. Idle accounts are dropped from the
//! limiters' tables every [`CLEANUP_EVERY`] checks, which bounds their memory by the accounts
//! active within one period.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};
use tonic::codegen::http;
use tonic::metadata::MetadataValue;
use tonic::server::NamedService;
use tower::{Layer, Service};

use super::{BoxFuture, method_name, refusal};
use crate::caller::Authenticated;
use crate::config::ANY_OPERATION;

/// How many checks of one limiter pass between two sweeps of its idle keys.
pub const CLEANUP_EVERY: u64 = 4096;
/// The response metadata with the seconds to wait before retrying.
pub const RETRY_AFTER: &str = "retry-after";
/// gRPC's server pushback metadata: milliseconds before a retry.
pub const RETRY_PUSHBACK_MS: &str = "grpc-retry-pushback-ms";

/// governor's clock on tokio's time (which tests can pause).
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioClock;

impl Clock for TokioClock {
    type Instant = std::time::Instant;

    fn now(&self) -> std::time::Instant {
        tokio::time::Instant::now().into_std()
    }
}

type KeyedLimiter =
    RateLimiter<String, DashMapStateStore<String>, TokioClock, NoOpMiddleware<std::time::Instant>>;

/// One configured rate.
#[derive(Debug)]
struct Limiter {
    limiter: KeyedLimiter,
    checks: AtomicU64,
}

impl Limiter {
    fn new(per_second: NonZeroU32) -> Limiter {
        Limiter {
            limiter: RateLimiter::dashmap_with_clock(Quota::per_second(per_second), TokioClock),
            checks: AtomicU64::new(0),
        }
    }

    /// `Ok` if `key` may pass now, else how long until it may.
    fn check(&self, key: &String) -> Result<(), Duration> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % CLEANUP_EVERY == CLEANUP_EVERY - 1 {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        self.limiter
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(TokioClock.now()))
    }
}

/// The configured limiters.
#[derive(Debug, Default)]
struct Limits {
    /// `None`: the operation is configured without a limit (0), whatever `"*"` says.
    by_operation: HashMap<String, Option<Limiter>>,
    /// `"*"`: every operation without its own entry, keyed by operation and account.
    any: Option<Limiter>,
}

/// Limits requests per account and operation (see the module docs).
#[derive(Debug, Clone)]
pub struct RateLimitLayer {
    limits: Arc<Limits>,
}

impl RateLimitLayer {
    /// Limiters for `rates` (operation name or `"*"` → requests per second; 0: none).
    pub fn new(rates: &BTreeMap<String, u32>) -> RateLimitLayer {
        let mut limits = Limits::default();
        for (operation, rate) in rates {
            let limiter = NonZeroU32::new(*rate).map(Limiter::new);
            if operation == ANY_OPERATION {
                limits.any = limiter;
            } else {
                limits.by_operation.insert(operation.clone(), limiter);
            }
        }
        RateLimitLayer {
            limits: Arc::new(limits),
        }
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimit<S>;

    fn layer(&self, inner: S) -> RateLimit<S> {
        RateLimit {
            inner,
            limits: Arc::clone(&self.limits),
        }
    }
}

/// See [`RateLimitLayer`].
#[derive(Debug, Clone)]
pub struct RateLimit<S> {
    inner: S,
    limits: Arc<Limits>,
}

impl<S: NamedService> NamedService for RateLimit<S> {
    const NAME: &'static str = S::NAME;
}

impl RateLimitLayer {
    /// The same limits for a call that does not pass through the layer (Alibaba's HTTP API):
    /// `Err` is the refusal, with its retry hints.
    pub fn check(&self, auth: &Authenticated, operation: &str) -> Result<(), tonic::Status> {
        self.limits.check_caller(auth, operation).map_err(|wait| {
            crate::telemetry::metrics::rate_limited(operation.to_owned());
            throttled(wait)
        })
    }
}

impl RateLimitLayer {
    /// The limit of `operation` for `account`, for an unauthenticated call that names the
    /// account it acts in (`AssumeRoleWithOIDC`: the role's).
    pub fn check_account(
        &self,
        account: &tessera_iam::AccountId,
        operation: &str,
    ) -> Result<(), tonic::Status> {
        self.limits
            .check_key(operation, || account.as_str().to_owned())
            .map_err(|wait| {
                crate::telemetry::metrics::rate_limited(operation.to_owned());
                throttled(wait)
            })
    }
}

impl Limits {
    /// `Ok` if the request may pass, else how long until it may.
    fn check<B>(&self, request: &http::Request<B>) -> Result<(), Duration> {
        let Some(auth) = request.extensions().get::<Authenticated>() else {
            return Ok(());
        };
        self.check_caller(auth, method_name(request.uri().path()))
    }

    fn check_caller(&self, auth: &Authenticated, operation: &str) -> Result<(), Duration> {
        self.check_key(operation, || match auth.caller.account() {
            Some(account) => account.as_str().to_owned(),
            None => auth.caller.arn(),
        })
    }

    /// The limit of `operation` for the caller keyed `key()` (an account id, or an ARN),
    /// built only when some limiter counts `operation` (most have none).
    fn check_key(&self, operation: &str, key: impl FnOnce() -> String) -> Result<(), Duration> {
        match self.by_operation.get(operation) {
            Some(Some(limiter)) => limiter.check(&key()),
            // Configured without a limit, whatever `"*"` says.
            Some(None) => Ok(()),
            None => match &self.any {
                Some(limiter) => limiter.check(&format!("{operation} {}", key())),
                None => Ok(()),
            },
        }
    }
}

impl<S, B, R> Service<http::Request<B>> for RateLimit<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>, Error = Infallible>,
    S::Future: Send + 'static,
    R: Default + Send + 'static,
{
    type Response = http::Response<R>;
    type Error = Infallible;
    type Future = BoxFuture<http::Response<R>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        match self.limits.check(&request) {
            Ok(()) => Box::pin(self.inner.call(request)),
            Err(wait) => {
                let operation = method_name(request.uri().path()).to_owned();
                crate::telemetry::metrics::rate_limited(operation);
                let response = throttled(wait).into_http();
                Box::pin(std::future::ready(Ok(response)))
            }
        }
    }
}

/// The refusal, with the retry hints for a wait of `wait`.
fn throttled(wait: Duration) -> tonic::Status {
    let mut status = refusal(&tessera_iam::Error::throttling_user());
    let millis = wait.as_millis().max(1);
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let metadata = status.metadata_mut();
    if let Ok(value) = MetadataValue::try_from(seconds.max(1).to_string()) {
        metadata.insert(RETRY_AFTER, value);
    }
    if let Ok(value) = MetadataValue::try_from(millis.to_string()) {
        metadata.insert(RETRY_PUSHBACK_MS, value);
    }
    status
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use jiff::Timestamp;
    use tessera_iam::{AccountId, Caller};
    use tower::ServiceExt as _;

    use super::*;
    use crate::auth::ERROR_CODE_TRAILER;
    use crate::caller::Credential;

    fn ok_service() -> impl Service<
        http::Request<()>,
        Response = http::Response<String>,
        Error = Infallible,
        Future = impl Send + 'static,
    > + Clone {
        tower::service_fn(|_: http::Request<()>| async {
            Ok::<_, Infallible>(http::Response::new(String::from("ok")))
        })
    }

    fn request(path: &str, account: Option<&str>) -> http::Request<()> {
        let mut request = http::Request::builder().uri(path).body(()).unwrap();
        if let Some(account) = account {
            request.extensions_mut().insert(Authenticated {
                caller: Arc::new(Caller::Root {
                    account: AccountId::parse(account).unwrap(),
                }),
                credential: Arc::new(Credential::AccessKey {
                    access_key_id: "LTAIexample".into(),
                }),
                memos: None,
                received_at: Timestamp::UNIX_EPOCH,
                source_ip: None,
                secure_transport: false,
                user_agent: None,
                mfa_present: false,
            });
        }
        request
    }

    const A: &str = "1111111111111111";
    const B: &str = "2222222222222222";
    const ASSUME_ROLE: &str = "/tessera.v1.Sts/AssumeRole";

    fn layer(rates: &[(&str, u32)]) -> RateLimitLayer {
        RateLimitLayer::new(
            &rates
                .iter()
                .map(|(op, rate)| ((*op).to_owned(), *rate))
                .collect(),
        )
    }

    fn grpc_status(response: &http::Response<String>) -> tonic::Status {
        tonic::Status::from_header_map(response.headers()).unwrap_or_else(|| tonic::Status::ok(""))
    }

    async fn call(layer: &RateLimitLayer, path: &str, account: Option<&str>) -> tonic::Status {
        let response = layer
            .layer(ok_service())
            .oneshot(request(path, account))
            .await
            .unwrap();
        grpc_status(&response)
    }

    #[tokio::test(start_paused = true)]
    async fn an_account_gets_its_rate_and_then_a_throttling_refusal_with_a_retry_hint() {
        let layer = layer(&[("AssumeRole", 2)]);
        assert_eq!(
            call(&layer, ASSUME_ROLE, Some(A)).await.code(),
            tonic::Code::Ok
        );
        assert_eq!(
            call(&layer, ASSUME_ROLE, Some(A)).await.code(),
            tonic::Code::Ok
        );
        let refused = call(&layer, ASSUME_ROLE, Some(A)).await;
        assert_eq!(refused.code(), tonic::Code::ResourceExhausted);
        assert_eq!(
            refused.message(),
            "Throttling.User: Request was denied due to user flow control."
        );
        assert_eq!(
            refused.metadata().get(ERROR_CODE_TRAILER).unwrap(),
            "Throttling.User"
        );
        assert_eq!(refused.metadata().get(RETRY_AFTER).unwrap(), "1");
        assert_eq!(refused.metadata().get(RETRY_PUSHBACK_MS).unwrap(), "500");

        // Another account has its own budget; another operation is not limited.
        assert_eq!(
            call(&layer, ASSUME_ROLE, Some(B)).await.code(),
            tonic::Code::Ok
        );
        assert_eq!(
            call(&layer, "/tessera.v1.Ram/CreateUser", Some(A))
                .await
                .code(),
            tonic::Code::Ok
        );

        // Half a second replenishes one request of a rate of 2/s.
        tokio::time::advance(Duration::from_millis(500)).await;
        assert_eq!(
            call(&layer, ASSUME_ROLE, Some(A)).await.code(),
            tonic::Code::Ok
        );
        assert_eq!(
            call(&layer, ASSUME_ROLE, Some(A)).await.code(),
            tonic::Code::ResourceExhausted
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_wildcard_limits_each_other_operation_on_its_own() {
        let layer = layer(&[("*", 1), ("AssumeRole", 0)]);
        let create = "/tessera.v1.Ram/CreateUser";
        let list = "/tessera.v1.Ram/ListUsers";
        assert_eq!(call(&layer, create, Some(A)).await.code(), tonic::Code::Ok);
        assert_eq!(call(&layer, list, Some(A)).await.code(), tonic::Code::Ok);
        assert_eq!(
            call(&layer, create, Some(A)).await.code(),
            tonic::Code::ResourceExhausted
        );
        // 0 lifts AssumeRole's limit, which the wildcard does not cover.
        for _ in 0..5 {
            assert_eq!(
                call(&layer, ASSUME_ROLE, Some(A)).await.code(),
                tonic::Code::Ok
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn unauthenticated_calls_pass() {
        let layer = layer(&[("*", 1)]);
        for _ in 0..3 {
            assert_eq!(
                call(&layer, "/tessera.v1.Sts/SignIn", None).await.code(),
                tonic::Code::Ok
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn idle_accounts_are_swept() {
        let limiter = Limiter::new(NonZeroU32::new(10).unwrap());
        for i in 0..CLEANUP_EVERY - 1 {
            limiter.check(&format!("account-{i}")).unwrap();
        }
        assert_eq!(
            limiter.limiter.len(),
            usize::try_from(CLEANUP_EVERY - 1).unwrap()
        );
        tokio::time::advance(Duration::from_secs(1)).await;
        limiter.check(&String::from("now")).unwrap();
        assert!(limiter.limiter.len() <= 1, "{}", limiter.limiter.len());
    }

    #[test]
    fn retry_hints_round_up() {
        let status = throttled(Duration::from_millis(1500));
        assert_eq!(status.metadata().get(RETRY_AFTER).unwrap(), "2");
        assert_eq!(status.metadata().get(RETRY_PUSHBACK_MS).unwrap(), "1500");
        let status = throttled(Duration::ZERO);
        assert_eq!(status.metadata().get(RETRY_AFTER).unwrap(), "1");
        assert_eq!(status.metadata().get(RETRY_PUSHBACK_MS).unwrap(), "1");
    }
}
