//! Request ids. Every RPC gets one: the caller's `x-request-id` (or Alibaba's
//! `x-acs-request-id`) when it is a plain token of at most [`MAX_LEN`] characters, else a new
//! random UUID in upper case (the form of RAM's `RequestId`). The id goes into the request's
//! extensions as a [`RequestId`] (the RPC's span and logs carry it) and back to the caller in
//! the response metadata under both names.

use std::convert::Infallible;
use std::task::{Context, Poll};

use tonic::codegen::http;
use tower::{Layer, Service};

use super::BoxFuture;

/// The request id header (the common name).
pub const REQUEST_ID: &str = "x-request-id";
/// Alibaba Cloud's request id header.
pub const ACS_REQUEST_ID: &str = "x-acs-request-id";
/// The longest request id accepted from a caller.
pub const MAX_LEN: usize = 128;

/// The request id of one RPC (visible ASCII only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(http::HeaderValue);

impl RequestId {
    /// A new random id: a version-4 UUID in upper case.
    pub fn generate() -> RequestId {
        let uuid = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
        let mut buffer = uuid::Uuid::encode_buffer();
        let text = uuid.hyphenated().encode_upper(&mut buffer);
        RequestId(http::HeaderValue::from_str(text).unwrap_or(http::HeaderValue::from_static("-")))
    }

    /// A caller's id, if it is acceptable: 1 to [`MAX_LEN`] characters of `[A-Za-z0-9._:/+=-]`
    /// (nothing that could forge a log line or smuggle markup).
    pub fn from_caller(value: &http::HeaderValue) -> Option<RequestId> {
        let bytes = value.as_bytes();
        let plain = |b: &u8| b.is_ascii_alphanumeric() || b"._:/+=-".contains(b);
        ((1..=MAX_LEN).contains(&bytes.len()) && bytes.iter().all(plain))
            .then(|| RequestId(value.clone()))
    }

    pub fn as_str(&self) -> &str {
        self.0.to_str().unwrap_or("-")
    }

    /// The request id of `headers`' RPC: the caller's, or a new one.
    fn of(headers: &http::HeaderMap) -> RequestId {
        [REQUEST_ID, ACS_REQUEST_ID]
            .iter()
            .filter_map(|name| headers.get(*name))
            .find_map(RequestId::from_caller)
            .unwrap_or_else(RequestId::generate)
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Gives every request a [`RequestId`] and echoes it.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestIdLayer;

impl<S> Layer<S> for RequestIdLayer {
    type Service = RequestIds<S>;

    fn layer(&self, inner: S) -> RequestIds<S> {
        RequestIds { inner }
    }
}

/// See [`RequestIdLayer`].
#[derive(Debug, Clone)]
pub struct RequestIds<S> {
    inner: S,
}

impl<S, B, R> Service<http::Request<B>> for RequestIds<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = http::Response<R>;
    type Error = Infallible;
    type Future = BoxFuture<http::Response<R>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let id = RequestId::of(request.headers());
        request.extensions_mut().insert(id.clone());
        let response = self.inner.call(request);
        Box::pin(async move {
            let Ok(mut response) = response.await;
            let headers = response.headers_mut();
            headers.insert(REQUEST_ID, id.0.clone());
            headers.insert(ACS_REQUEST_ID, id.0);
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use tower::ServiceExt as _;

    use super::*;

    /// Answers with the request id the inner service saw in the extensions.
    fn echo() -> impl Service<
        http::Request<()>,
        Response = http::Response<String>,
        Error = Infallible,
        Future = impl Send + 'static,
    > + Clone {
        tower::service_fn(|request: http::Request<()>| async move {
            let seen = request
                .extensions()
                .get::<RequestId>()
                .map(|id| id.as_str().to_owned())
                .unwrap_or_default();
            Ok::<_, Infallible>(http::Response::new(seen))
        })
    }

    async fn call(headers: &[(&str, &str)]) -> http::Response<String> {
        let mut request = http::Request::new(());
        for (name, value) in headers {
            request.headers_mut().insert(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                http::HeaderValue::from_str(value).unwrap(),
            );
        }
        RequestIdLayer.layer(echo()).oneshot(request).await.unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn a_callers_id_is_kept_and_echoed() {
        for name in [REQUEST_ID, ACS_REQUEST_ID] {
            let response = call(&[(name, "req-42.a:b")]).await;
            assert_eq!(response.body(), "req-42.a:b");
            assert_eq!(response.headers()[REQUEST_ID], "req-42.a:b");
            assert_eq!(response.headers()[ACS_REQUEST_ID], "req-42.a:b");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_missing_or_unacceptable_id_is_replaced() {
        let long = "a".repeat(MAX_LEN + 1);
        for headers in [
            vec![],
            vec![(REQUEST_ID, "two words")],
            vec![(REQUEST_ID, "<script>")],
            vec![(REQUEST_ID, long.as_str())],
        ] {
            let response = call(&headers).await;
            let id = response.body().clone();
            assert_eq!(id.len(), 36, "{id}");
            assert_eq!(&id[14..15], "4", "version 4: {id}");
            assert!(
                id.chars().all(|c| c == '-' || c.is_ascii_hexdigit()),
                "{id}"
            );
            assert_eq!(id, id.to_ascii_uppercase());
            assert_eq!(response.headers()[REQUEST_ID], id.as_str());
        }
        let a = call(&[]).await.body().clone();
        let b = call(&[]).await.body().clone();
        assert_ne!(a, b);
    }

    #[tokio::test(start_paused = true)]
    async fn the_common_header_wins_over_the_alibaba_one() {
        let response = call(&[(REQUEST_ID, "common"), (ACS_REQUEST_ID, "acs")]).await;
        assert_eq!(response.body(), "common");
        let response = call(&[(REQUEST_ID, "bad id"), (ACS_REQUEST_ID, "acs")]).await;
        assert_eq!(response.body(), "acs");
    }
}
