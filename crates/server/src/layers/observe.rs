//! The span and the RED metrics of every RPC.
//!
//! The span (`rpc`, level INFO; OpenTelemetry kind `server`, name `tessera.v1.Sts/AssumeRole`)
//! carries `rpc.system`, `rpc.service`, `rpc.method`, `request_id`, and — recorded by the code
//! that learns them — `account` and `principal` (authentication), `action` and `decision` (an
//! authorization), then `rpc.grpc.status_code` and `error_code` when the RPC ends. A caller's
//! W3C `traceparent` (and `tracestate`) makes the span a child of the caller's span. Every
//! handler runs inside the span, so its logs carry these fields too.
//!
//! The RPC ends when its response body does: the gRPC status is read from the headers of a
//! trailers-only response (every error) or from the trailers, and the error code from the
//! `x-tessera-error-code` trailer or the `<Code>: ` prefix of the message. A response dropped
//! before its end (the client went away) counts as `CANCELLED`. Then the counters and the
//! duration histogram of [`crate::telemetry::metrics`] are recorded and the span closes.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::Instant;

use pin_project_lite::pin_project;
use tonic::codegen::http;
use tower::{Layer, Service};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use super::BoxFuture;
use super::request_id::RequestId;
use crate::auth::ERROR_CODE_TRAILER;
use crate::telemetry::metrics;

/// Paths served besides the `tessera.v1` methods (the health and reflection services).
const OTHER_METHODS: &[&str] = &[
    "/grpc.health.v1.Health/Check",
    "/grpc.health.v1.Health/Watch",
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
];

/// The method label of a path: the served method without the leading `/`, else `unknown`
/// (so no caller can grow the label set).
pub fn method_label(path: &str) -> &'static str {
    let known = super::operation_paths()
        .get(path)
        .map(String::as_str)
        .or_else(|| OTHER_METHODS.iter().copied().find(|m| *m == path));
    known.map_or("unknown", |p| p.strip_prefix('/').unwrap_or(p))
}

/// Spans and metrics for every RPC.
#[derive(Debug, Clone, Copy, Default)]
pub struct ObserveLayer;

impl ObserveLayer {
    pub fn new() -> ObserveLayer {
        ObserveLayer
    }
}

impl<S> Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Observe<S> {
        Observe { inner }
    }
}

/// See [`ObserveLayer`].
#[derive(Debug, Clone)]
pub struct Observe<S> {
    inner: S,
}

impl<S, B, R> Service<http::Request<B>> for Observe<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>, Error = Infallible>,
    S::Future: Send + 'static,
    R: http_body::Body + Send + 'static,
{
    type Response = http::Response<ObservedBody<R>>;
    type Error = Infallible;
    type Future = BoxFuture<http::Response<ObservedBody<R>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let started = Instant::now();
        let path = request.uri().path();
        let method = method_label(path);
        let (service, rpc) = method.split_once('/').unwrap_or(("unknown", "unknown"));
        let request_id = request.extensions().get::<RequestId>().cloned();
        let span = tracing::info_span!(
            "rpc",
            otel.name = method,
            otel.kind = "server",
            otel.status_code = tracing::field::Empty,
            rpc.system = "grpc",
            rpc.service = service,
            rpc.method = rpc,
            request_id = request_id.as_ref().map_or("-", RequestId::as_str),
            account = tracing::field::Empty,
            principal = tracing::field::Empty,
            action = tracing::field::Empty,
            decision = tracing::field::Empty,
            rpc.grpc.status_code = tracing::field::Empty,
            error_code = tracing::field::Empty,
        );
        if let Some(parent) = crate::telemetry::remote_context(request.headers()) {
            // Without the OpenTelemetry layer (no exporter) there is no trace to join.
            let _ = span.set_parent(parent);
        }
        let response = {
            let _entered = span.enter();
            self.inner.call(request)
        };
        let finish = Finish {
            method,
            started,
            span: span.clone(),
            code: None,
            error_code: None,
        };
        Box::pin(tracing::Instrument::instrument(
            async move {
                let Ok(response) = response.await;
                let (parts, body) = response.into_parts();
                let mut finish = finish;
                let done = match status_of(&parts.headers) {
                    // A trailers-only response (every error): it ends here.
                    Some(code) => {
                        finish.code = Some(code);
                        finish.error_code = error_code(&parts.headers);
                        drop(finish);
                        None
                    }
                    None => Some(finish),
                };
                Ok(http::Response::from_parts(
                    parts,
                    ObservedBody {
                        inner: body,
                        finish: done,
                    },
                ))
            },
            span,
        ))
    }
}

/// The gRPC status code in `headers` (or trailers), if any.
fn status_of(headers: &http::HeaderMap) -> Option<tonic::Code> {
    headers
        .get("grpc-status")
        .map(|v| tonic::Code::from_bytes(v.as_bytes()))
}

/// The error code of a failed RPC: the `x-tessera-error-code` metadata, else the `<Code>` of
/// a `<Code>: <Message>` message when it looks like one.
fn error_code(headers: &http::HeaderMap) -> Option<String> {
    if let Some(code) = headers
        .get(ERROR_CODE_TRAILER)
        .and_then(|v| v.to_str().ok())
    {
        return Some(code.to_owned());
    }
    let message = headers.get("grpc-message")?.as_bytes();
    let end = message
        .windows(3)
        .position(|w| w == b"%3A" || w == b"%3a")
        .or_else(|| message.iter().position(|b| *b == b':'))?;
    let code = std::str::from_utf8(message.get(..end)?).ok()?;
    let plausible = (1..=64).contains(&code.len())
        && code.starts_with(|c: char| c.is_ascii_alphabetic())
        && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '.');
    plausible.then(|| code.to_owned())
}

/// Records the RPC when dropped: its code (`CANCELLED` if none was seen), the metrics, the
/// span's status fields, and a log line.
struct Finish {
    method: &'static str,
    started: Instant,
    span: tracing::Span,
    code: Option<tonic::Code>,
    error_code: Option<String>,
}

impl Drop for Finish {
    fn drop(&mut self) {
        let code = self.code.unwrap_or(tonic::Code::Cancelled);
        let elapsed: Duration = self.started.elapsed();
        let _entered = self.span.enter();
        self.span.record("rpc.grpc.status_code", code as i32);
        if let Some(error_code) = &self.error_code {
            self.span.record("error_code", error_code.as_str());
        }
        let server_fault = matches!(
            code,
            tonic::Code::Unknown
                | tonic::Code::DeadlineExceeded
                | tonic::Code::Unimplemented
                | tonic::Code::Internal
                | tonic::Code::Unavailable
                | tonic::Code::DataLoss
        );
        if server_fault {
            self.span.record("otel.status_code", "error");
            tracing::warn!(
                grpc_code = metrics::code_name(code),
                error_code = self.error_code.as_deref().unwrap_or("-"),
                elapsed_ms = elapsed.as_secs_f64() * 1000.0,
                "rpc failed"
            );
        } else {
            tracing::debug!(
                grpc_code = metrics::code_name(code),
                error_code = self.error_code.as_deref().unwrap_or("-"),
                elapsed_ms = elapsed.as_secs_f64() * 1000.0,
                "rpc finished"
            );
        }
        metrics::rpc_finished(self.method, code, self.error_code.take(), elapsed);
    }
}

pin_project! {
    /// A response body that records its RPC when it ends (see the module docs).
    pub struct ObservedBody<B> {
        #[pin]
        inner: B,
        finish: Option<Finish>,
    }
}

impl<B> std::fmt::Debug for ObservedBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObservedBody").finish_non_exhaustive()
    }
}

impl<B: http_body::Body> http_body::Body for ObservedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<B::Data>, B::Error>>> {
        let this = self.project();
        let polled = this.inner.poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(trailers) = frame.trailers_ref()
                    && let Some(mut finish) = this.finish.take()
                {
                    finish.code = Some(status_of(trailers).unwrap_or(tonic::Code::Unknown));
                    finish.error_code = error_code(trailers);
                }
            }
            Poll::Ready(Some(Err(_))) => {
                if let Some(mut finish) = this.finish.take() {
                    finish.code = Some(tonic::Code::Unknown);
                }
            }
            Poll::Ready(None) => {
                if let Some(mut finish) = this.finish.take() {
                    // A body without trailers: no status, so no success either.
                    finish.code = Some(tonic::Code::Unknown);
                }
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use http_body_util::{BodyExt as _, Full, StreamBody};
    use tonic::codegen::Bytes;
    use tower::ServiceExt as _;

    use super::*;

    #[test]
    fn labels_are_the_served_methods_or_unknown() {
        assert_eq!(
            method_label("/tessera.v1.Sts/AssumeRole"),
            "tessera.v1.Sts/AssumeRole"
        );
        assert_eq!(
            method_label("/grpc.health.v1.Health/Check"),
            "grpc.health.v1.Health/Check"
        );
        assert_eq!(method_label("/tessera.v1.Sts/Nope"), "unknown");
        assert_eq!(method_label("/x"), "unknown");
    }

    #[test]
    fn error_codes_come_from_the_trailer_or_the_message() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(error_code(&headers), None);
        headers.insert(
            "grpc-message",
            "NoPermission%3A You are not authorized.".parse().unwrap(),
        );
        assert_eq!(error_code(&headers).as_deref(), Some("NoPermission"));
        headers.insert(
            "grpc-message",
            "EntityNotExist.User: The user does not exist."
                .parse()
                .unwrap(),
        );
        assert_eq!(error_code(&headers).as_deref(), Some("EntityNotExist.User"));
        headers.insert("grpc-message", "no code here".parse().unwrap());
        assert_eq!(error_code(&headers), None);
        headers.insert(ERROR_CODE_TRAILER, "Throttling.User".parse().unwrap());
        assert_eq!(error_code(&headers).as_deref(), Some("Throttling.User"));
    }

    type Frame = Result<http_body::Frame<Bytes>, Infallible>;
    type Frames = StreamBody<tokio_stream::Iter<std::vec::IntoIter<Frame>>>;

    /// A unary success after `delay`: a message frame, then trailers with `grpc-status: 0`.
    async fn success(delay: Duration) -> Result<http::Response<Frames>, Infallible> {
        tokio::time::sleep(delay).await;
        let mut trailers = http::HeaderMap::new();
        trailers.insert("grpc-status", "0".parse().unwrap());
        let frames: Vec<Frame> = vec![
            Ok(http_body::Frame::data(Bytes::from_static(b"message"))),
            Ok(http_body::Frame::trailers(trailers)),
        ];
        Ok(http::Response::new(StreamBody::new(tokio_stream::iter(
            frames,
        ))))
    }

    fn request(path: &str) -> http::Request<()> {
        http::Request::builder().uri(path).body(()).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn a_success_ends_with_its_trailers() {
        let service = tower::service_fn(|_: http::Request<()>| success(Duration::from_millis(3)));
        let response = ObserveLayer
            .layer(service)
            .oneshot(request("/tessera.v1.Sts/GetCallerIdentity"))
            .await
            .unwrap();
        assert!(response.body().finish.is_some(), "open until the trailers");
        let collected = response.into_body().collect().await.unwrap();
        assert_eq!(collected.trailers().unwrap()["grpc-status"], "0");
    }

    #[tokio::test(start_paused = true)]
    async fn an_error_ends_with_its_headers() {
        let failing = tower::service_fn(|_: http::Request<()>| async {
            Ok::<_, Infallible>(
                super::super::refusal(&tessera_iam::Error::throttling_user())
                    .into_http::<Full<Bytes>>(),
            )
        });
        let response = ObserveLayer
            .layer(failing)
            .oneshot(request("/tessera.v1.Sts/AssumeRole"))
            .await
            .unwrap();
        assert_eq!(response.headers()["grpc-status"], "8");
        assert!(response.body().finish.is_none(), "recorded at once");
    }

    #[test]
    fn statuses_are_read_from_headers_or_trailers() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(status_of(&headers), None);
        headers.insert("grpc-status", "7".parse().unwrap());
        assert_eq!(status_of(&headers), Some(tonic::Code::PermissionDenied));
    }
}
