//! Per-RPC timeouts: an RPC that has not answered within `request_timeout_ms` — or within the
//! caller's `grpc-timeout`, when that is shorter — is cancelled (its handler future dropped, so
//! an open store transaction rolls back) and answered with `DEADLINE_EXCEEDED`
//! (`RequestTimeout`). Health and reflection have no timeout (a `Watch` stream lives long).

use std::convert::Infallible;
use std::task::{Context, Poll};
use std::time::Duration;

use tonic::codegen::http;
use tower::{Layer, Service};

use super::{BoxFuture, exempt, refusal};

/// The gRPC header with the caller's deadline.
pub const GRPC_TIMEOUT: &str = "grpc-timeout";

/// Bounds every RPC's time.
#[derive(Debug, Clone, Copy)]
pub struct TimeoutLayer {
    limit: Duration,
}

impl TimeoutLayer {
    pub fn new(limit: Duration) -> TimeoutLayer {
        TimeoutLayer { limit }
    }
}

impl<S> Layer<S> for TimeoutLayer {
    type Service = Timeout<S>;

    fn layer(&self, inner: S) -> Timeout<S> {
        Timeout {
            inner,
            limit: self.limit,
        }
    }
}

/// See [`TimeoutLayer`].
#[derive(Debug, Clone)]
pub struct Timeout<S> {
    inner: S,
    limit: Duration,
}

impl<S, B, R> Service<http::Request<B>> for Timeout<S>
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
        if exempt(request.uri().path()) {
            return Box::pin(self.inner.call(request));
        }
        let limit = request
            .headers()
            .get(GRPC_TIMEOUT)
            .and_then(|v| parse_grpc_timeout(v.as_bytes()))
            .map_or(self.limit, |callers| callers.min(self.limit));
        let response = self.inner.call(request);
        Box::pin(async move {
            match tokio::time::timeout(limit, response).await {
                Ok(response) => response,
                Err(_) => {
                    crate::telemetry::metrics::timed_out();
                    Ok(refusal(&tessera_iam::Error::request_timeout()).into_http())
                }
            }
        })
    }
}

/// A `grpc-timeout` value: 1 to 8 digits and a unit (`H`, `M`, `S`, `m`, `u`, `n`); `None` if
/// malformed (then the server's limit applies alone).
pub fn parse_grpc_timeout(value: &[u8]) -> Option<Duration> {
    let (unit, digits) = value.split_last()?;
    if digits.is_empty() || digits.len() > 8 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let amount: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(match unit {
        b'H' => Duration::from_secs(amount.checked_mul(3600)?),
        b'M' => Duration::from_secs(amount.checked_mul(60)?),
        b'S' => Duration::from_secs(amount),
        b'm' => Duration::from_millis(amount),
        b'u' => Duration::from_micros(amount),
        b'n' => Duration::from_nanos(amount),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use tower::ServiceExt as _;

    use super::*;
    use crate::auth::ERROR_CODE_TRAILER;

    /// Answers after `delay` (paused clock: no real time passes).
    fn after(
        delay: Duration,
    ) -> impl Service<
        http::Request<()>,
        Response = http::Response<String>,
        Error = Infallible,
        Future = impl Send + 'static,
    > + Clone {
        tower::service_fn(move |_: http::Request<()>| async move {
            tokio::time::sleep(delay).await;
            Ok::<_, Infallible>(http::Response::new(String::from("done")))
        })
    }

    fn request(path: &str, grpc_timeout: Option<&'static str>) -> http::Request<()> {
        let mut request = http::Request::builder().uri(path).body(()).unwrap();
        if let Some(t) = grpc_timeout {
            request
                .headers_mut()
                .insert(GRPC_TIMEOUT, http::HeaderValue::from_static(t));
        }
        request
    }

    const PATH: &str = "/tessera.v1.Ram/ListUsers";

    #[tokio::test(start_paused = true)]
    async fn a_slow_call_ends_with_deadline_exceeded_at_the_limit() {
        let layer = TimeoutLayer::new(Duration::from_secs(2));
        let started = tokio::time::Instant::now();
        let response = layer
            .layer(after(Duration::from_secs(60)))
            .oneshot(request(PATH, None))
            .await
            .unwrap();
        assert_eq!(started.elapsed(), Duration::from_secs(2));
        let status = tonic::Status::from_header_map(response.headers()).unwrap();
        assert_eq!(status.code(), tonic::Code::DeadlineExceeded);
        assert_eq!(
            status.message(),
            "RequestTimeout: The request did not complete within its deadline."
        );
        assert_eq!(
            status.metadata().get(ERROR_CODE_TRAILER).unwrap(),
            "RequestTimeout"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_within_the_limit_answers() {
        let layer = TimeoutLayer::new(Duration::from_secs(2));
        let response = layer
            .layer(after(Duration::from_millis(1999)))
            .oneshot(request(PATH, None))
            .await
            .unwrap();
        assert_eq!(response.body(), "done");
    }

    #[tokio::test(start_paused = true)]
    async fn the_callers_shorter_deadline_wins_a_longer_one_does_not() {
        let layer = TimeoutLayer::new(Duration::from_secs(2));
        let started = tokio::time::Instant::now();
        let response = layer
            .layer(after(Duration::from_secs(60)))
            .oneshot(request(PATH, Some("300m")))
            .await
            .unwrap();
        assert_eq!(started.elapsed(), Duration::from_millis(300));
        assert_eq!(response.headers()["grpc-status"], "4");

        let started = tokio::time::Instant::now();
        let _ = layer
            .layer(after(Duration::from_secs(60)))
            .oneshot(request(PATH, Some("1H")))
            .await
            .unwrap();
        assert_eq!(started.elapsed(), Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn health_has_no_timeout() {
        let layer = TimeoutLayer::new(Duration::from_secs(2));
        let response = layer
            .layer(after(Duration::from_secs(60)))
            .oneshot(request("/grpc.health.v1.Health/Watch", None))
            .await
            .unwrap();
        assert_eq!(response.body(), "done");
    }

    #[test]
    fn grpc_timeouts_parse() {
        assert_eq!(parse_grpc_timeout(b"5S"), Some(Duration::from_secs(5)));
        assert_eq!(parse_grpc_timeout(b"2H"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_grpc_timeout(b"3M"), Some(Duration::from_secs(180)));
        assert_eq!(
            parse_grpc_timeout(b"250m"),
            Some(Duration::from_millis(250))
        );
        assert_eq!(parse_grpc_timeout(b"7u"), Some(Duration::from_micros(7)));
        assert_eq!(
            parse_grpc_timeout(b"99999999n"),
            Some(Duration::from_nanos(99_999_999))
        );
        for bad in [&b""[..], b"S", b"5", b"5s", b"123456789S", b"-5S", b"5 S"] {
            assert_eq!(parse_grpc_timeout(bad), None, "{bad:?}");
        }
    }
}
