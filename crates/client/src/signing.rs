//! A tower layer that authenticates every gRPC call, gives it a deadline and retries the
//! idempotent ones: put it in front of a [`tonic::transport::Channel`] and the generated clients
//! (`RamClient::new(signed)`, …) work unchanged.
//!
//! Per call, [`Signed`] buffers the request body (every `tessera.v1` method is unary: one
//! length-prefixed message), then for each attempt asks the [`CredentialsProvider`] for the
//! current credential and authenticates the attempt as `docs/grpc-authentication.md`
//! specifies: `authorization: Bearer …`, or an ACS3-HMAC-SHA256 signature
//! ([`tessera_credentials::signature::sign_grpc`]) over the method path, the channel's
//! `:authority` and the message bytes exactly as sent, with the current time and a fresh nonce.
//! A retry is therefore a new call, never a replay. Retries and the deadline follow the
//! channel's [`CallPolicy`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use backon::Retryable as _;
use http_body_util::BodyExt as _;
use tonic::body::Body;
use tonic::codegen::http::{self, HeaderName, HeaderValue};
use tonic::transport::Channel;
use tower::{Layer, Service, ServiceExt as _};

use crate::Error;
use crate::credential::{Credential, CredentialsProvider, SharedProvider};
use crate::policy::{CallPolicy, RetryPolicy, is_idempotent};

/// What the services of this module fail with (tonic turns it into a `Status`).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Wraps a service in [`Signed`].
#[derive(Clone)]
pub struct SigningLayer {
    authority: Arc<str>,
    provider: SharedProvider,
    policy: Arc<CallPolicy>,
}

impl std::fmt::Debug for SigningLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningLayer")
            .field("authority", &self.authority)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl SigningLayer {
    /// Signs for `authority` (the `:authority` the channel sends: `host[:port]` of the
    /// endpoint URI) with credentials from `provider`, under `policy`.
    pub fn new(
        authority: impl Into<String>,
        provider: impl CredentialsProvider,
        policy: CallPolicy,
    ) -> SigningLayer {
        SigningLayer {
            authority: Arc::from(authority.into()),
            provider: Arc::new(provider),
            policy: Arc::new(policy),
        }
    }
}

impl<S> Layer<S> for SigningLayer {
    type Service = Signed<S>;

    fn layer(&self, inner: S) -> Signed<S> {
        Signed {
            inner,
            authority: self.authority.clone(),
            provider: self.provider.clone(),
            policy: self.policy.clone(),
        }
    }
}

/// A service (normally a [`Channel`]) whose calls are authenticated, bounded by a deadline and,
/// for idempotent reads, retried: see the [module docs](self).
#[derive(Clone)]
pub struct Signed<S> {
    inner: S,
    authority: Arc<str>,
    provider: SharedProvider,
    policy: Arc<CallPolicy>,
}

/// A signing [`Channel`]: what [`crate::Client`]'s service clients run over.
pub type SignedChannel = Signed<Channel>;

impl<S> std::fmt::Debug for Signed<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signed")
            .field("authority", &self.authority)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl<S: Clone> Signed<S> {
    /// Signs calls on `inner`, which reaches the server as `authority`, with credentials from
    /// `provider` and the default [`CallPolicy`].
    pub fn new(inner: S, authority: impl Into<String>, provider: impl CredentialsProvider) -> Self {
        SigningLayer::new(authority, provider, CallPolicy::default()).layer(inner)
    }

    /// The same connection, signing with another provider.
    pub fn with_provider(&self, provider: impl CredentialsProvider) -> Self {
        Signed {
            provider: Arc::new(provider),
            ..self.clone()
        }
    }

    /// The same connection, signing with another fixed credential.
    pub fn with_credential(&self, credential: Credential) -> Self {
        self.with_provider(credential)
    }

    /// The same connection and credentials under another call policy.
    pub fn with_policy(&self, policy: CallPolicy) -> Self {
        Signed {
            policy: Arc::new(policy),
            ..self.clone()
        }
    }

    /// The `:authority` signatures are computed for.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// The call policy in force.
    pub fn policy(&self) -> &CallPolicy {
        &self.policy
    }

    /// The credentials provider.
    pub fn provider(&self) -> &SharedProvider {
        &self.provider
    }
}

impl<S, E> Service<http::Request<Body>> for Signed<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>, Error = E>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
    E: Into<BoxError> + Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<http::Response<Body>, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        // The clone is not ready; the ready one (`self.inner`) makes the first attempt.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(run(
            inner,
            request,
            self.authority.clone(),
            self.provider.clone(),
            self.policy.clone(),
        ))
    }
}

/// How one attempt ended, when not with a response to return.
enum Attempt<E> {
    /// The server answered `UNAVAILABLE` (or a proxy 502/503/504): retryable.
    Unavailable(http::Response<Body>),
    /// The transport failed (connection refused, reset…): retryable.
    Transport(E),
    /// The attempt could not be made (no credential): final.
    Refused(tonic::Status),
}

impl<E> Attempt<E> {
    fn retryable(&self) -> bool {
        !matches!(self, Attempt::Refused(_))
    }
}

async fn run<S, E>(
    inner: S,
    request: http::Request<Body>,
    authority: Arc<str>,
    provider: SharedProvider,
    policy: Arc<CallPolicy>,
) -> Result<http::Response<Body>, BoxError>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>, Error = E>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
    E: Into<BoxError> + Send + 'static,
{
    let (parts, body) = request.into_parts();
    let budget = grpc_timeout(&parts.headers).unwrap_or(policy.deadline);
    let deadline = tokio::time::Instant::now() + budget;
    let backoff = if is_idempotent(parts.uri.path()) {
        policy.retry.backoff()
    } else {
        RetryPolicy::none().backoff()
    };

    let calls = async {
        let message = body.collect().await.map_err(BoxError::from)?.to_bytes();
        let attempt = move || {
            let mut service = inner.clone();
            let parts = parts.clone();
            let message = message.clone();
            let provider = provider.clone();
            let authority = authority.clone();
            async move {
                let credential = provider
                    .credential()
                    .await
                    .map_err(|e| Attempt::Refused(e.into_status()))?;
                let mut parts = parts;
                let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
                if let Ok(value) = HeaderValue::try_from(encode_grpc_timeout(remaining)) {
                    parts.headers.insert(GRPC_TIMEOUT, value);
                }
                authenticate(&mut parts, &message, &credential, &authority)
                    .map_err(|e| Attempt::Refused(e.into_status()))?;
                let request =
                    http::Request::from_parts(parts, Body::new(http_body_util::Full::new(message)));
                let ready = service.ready().await.map_err(Attempt::Transport)?;
                let response = ready.call(request).await.map_err(Attempt::Transport)?;
                if is_unavailable(&response) {
                    return Err(Attempt::Unavailable(response));
                }
                Ok(response)
            }
        };
        let outcome = attempt.retry(backoff).when(Attempt::retryable).await;
        Ok::<_, BoxError>(outcome)
    };

    match tokio::time::timeout_at(deadline, calls).await {
        Err(_elapsed) => Ok(tonic::Status::deadline_exceeded(format!(
            "DeadlineExceeded: the call did not complete within {}",
            DisplayDuration(budget)
        ))
        .into_http()),
        Ok(Err(body_error)) => Err(body_error),
        Ok(Ok(Ok(response) | Err(Attempt::Unavailable(response)))) => Ok(response),
        Ok(Ok(Err(Attempt::Transport(e)))) => Err(e.into()),
        Ok(Ok(Err(Attempt::Refused(status)))) => Ok(status.into_http()),
    }
}

/// Adds the metadata that authenticates one attempt.
fn authenticate(
    parts: &mut http::request::Parts,
    message: &[u8],
    credential: &Credential,
    authority: &str,
) -> Result<(), Error> {
    let invalid = |what: &str| Error::InvalidCredential(format!("the {what} cannot be sent"));
    match credential {
        Credential::Anonymous => {}
        Credential::Bearer(token) => {
            let value = HeaderValue::try_from(format!("Bearer {token}"))
                .map_err(|_| invalid("security token"))?;
            parts.headers.insert(http::header::AUTHORIZATION, value);
        }
        Credential::AccessKey {
            id,
            secret,
            security_token,
        } => {
            // The message is the payload of the one gRPC frame, after its 5-byte prefix.
            let payload = message.get(5..).unwrap_or_default();
            let metadata = tessera_credentials::signature::sign_grpc(
                parts.uri.path(),
                authority,
                payload,
                id,
                secret,
                security_token.as_deref(),
                jiff::Timestamp::now(),
                &tessera_credentials::signature::new_nonce(&mut rand::rng()),
            )
            .map_err(|e| Error::InvalidCredential(e.to_string()))?;
            for (name, value) in metadata {
                let name = HeaderName::try_from(name).map_err(|_| invalid("signature"))?;
                let value =
                    HeaderValue::try_from(value).map_err(|_| invalid("access key or token"))?;
                parts.headers.insert(name, value);
            }
        }
    }
    Ok(())
}

/// Whether the response is gRPC `UNAVAILABLE` in its headers (tonic answers errors
/// trailers-only) or a gateway's 502/503/504, which gRPC clients read as `UNAVAILABLE`.
fn is_unavailable(response: &http::Response<Body>) -> bool {
    matches!(response.status().as_u16(), 502..=504)
        || tonic::Status::from_header_map(response.headers())
            .is_some_and(|s| s.code() == tonic::Code::Unavailable)
}

const GRPC_TIMEOUT: &str = "grpc-timeout";

/// The `grpc-timeout` a caller set on its request (`tonic::Request::set_timeout`).
fn grpc_timeout(headers: &http::HeaderMap) -> Option<Duration> {
    let value = headers.get(GRPC_TIMEOUT)?.to_str().ok()?;
    let unit = value.chars().last()?;
    let amount: u64 = value.get(..value.len() - unit.len_utf8())?.parse().ok()?;
    Some(match unit {
        'H' => Duration::from_secs(amount.saturating_mul(3600)),
        'M' => Duration::from_secs(amount.saturating_mul(60)),
        'S' => Duration::from_secs(amount),
        'm' => Duration::from_millis(amount),
        'u' => Duration::from_micros(amount),
        'n' => Duration::from_nanos(amount),
        _ => return None,
    })
}

/// `grpc-timeout` for `d`: at most 8 digits, in the finest unit that fits.
fn encode_grpc_timeout(d: Duration) -> String {
    const MAX: u128 = 99_999_999;
    let millis = d.as_millis();
    if millis <= MAX {
        format!("{}m", millis.max(1))
    } else {
        format!("{}S", d.as_secs().min(MAX as u64))
    }
}

/// A duration as `30s` or `1.5s`.
struct DisplayDuration(Duration);

impl std::fmt::Display for DisplayDuration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}s", self.0.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{encode_grpc_timeout, grpc_timeout};
    use tonic::codegen::http::{HeaderMap, HeaderValue};

    #[test]
    fn grpc_timeouts_round_trip() {
        for d in [
            Duration::from_millis(1),
            Duration::from_secs(30),
            Duration::from_secs(86_400 * 365),
        ] {
            let mut headers = HeaderMap::new();
            headers.insert(
                "grpc-timeout",
                HeaderValue::try_from(encode_grpc_timeout(d)).unwrap(),
            );
            assert_eq!(grpc_timeout(&headers), Some(d), "{d:?}");
        }
        let mut headers = HeaderMap::new();
        headers.insert("grpc-timeout", HeaderValue::from_static("5S"));
        assert_eq!(grpc_timeout(&headers), Some(Duration::from_secs(5)));
        headers.insert("grpc-timeout", HeaderValue::from_static("x"));
        assert_eq!(grpc_timeout(&headers), None);
        headers.insert("grpc-timeout", HeaderValue::from_static("12q"));
        assert_eq!(grpc_timeout(&headers), None);
    }
}
