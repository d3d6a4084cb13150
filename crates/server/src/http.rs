//! The HTTP side of the listener (`/healthz`, `/.well-known/jwks.json`, and Alibaba's
//! RPC-style API on `/`: [`crate::compat`]), and the dispatch between HTTP and gRPC.

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use jiff::{SignedDuration, Timestamp};
use tessera_credentials::PublicKey;
use tessera_store::{SigningKey, SigningKeyStatus, SqlStore, SystemStore};
use tower::ServiceExt as _;

/// The longest a security token can live (RAM's maximum `MaxSessionDuration`, 12 h) plus the
/// verifiers' clock leeway: a retired signing key stays published this long after retirement.
pub const RETIRED_KEY_PUBLICATION: SignedDuration = SignedDuration::from_secs(43_200 + 300);

#[derive(Clone)]
pub(crate) struct AppState {
    pub store: SqlStore,
    /// Alibaba's RPC-style API on `/` ([`crate::compat`]).
    pub compat: crate::compat::Compat,
    /// `None`: metrics are off (`GET /metrics` is 404).
    pub metrics: Option<crate::telemetry::metrics::Endpoint>,
}

/// One service for the listener: gRPC requests (content type `application/grpc…`) go to
/// `grpc`, everything else to the HTTP routes.
pub(crate) fn app(state: AppState, grpc: Router) -> Router {
    let compat = Router::new()
        .route("/", any(crate::compat::handle))
        .with_state(state.compat.clone());
    let http = Router::new()
        .route("/healthz", get(healthz))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .with_state(state)
        .merge(compat);
    Router::new().fallback_service(tower::service_fn(move |request: Request<Body>| {
        let router = if is_grpc(&request) {
            grpc.clone()
        } else {
            http.clone()
        };
        router.oneshot(request)
    }))
}

fn is_grpc(request: &Request<Body>) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"))
}

async fn not_found() -> StatusCode {
    StatusCode::NOT_FOUND
}

/// 200 `ok` once the store answers; 503 otherwise.
async fn healthz(State(state): State<AppState>) -> Response {
    match state.store.current_revision().await {
        Ok(_) => (StatusCode::OK, "ok\n").into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable\n").into_response(),
    }
}

/// The Prometheus text exposition of the metrics ([`crate::telemetry::metrics`]).
async fn metrics(State(state): State<AppState>) -> Response {
    let Some(endpoint) = &state.metrics else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut response = (StatusCode::OK, endpoint.render().await).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// The public keys of the signing keys that can still verify a token at `now`: the active
/// ones and those retired less than [`RETIRED_KEY_PUBLICATION`] ago. Unusable rows are
/// skipped with a warning.
pub(crate) fn verification_keys(keys: &[SigningKey], now: Timestamp) -> Vec<PublicKey> {
    keys.iter()
        .filter(|k| match (k.status, k.retired_at) {
            (SigningKeyStatus::Active, _) | (SigningKeyStatus::Retired, None) => true,
            (SigningKeyStatus::Retired, Some(at)) => at
                .checked_add(RETIRED_KEY_PUBLICATION)
                .is_ok_and(|until| until > now),
        })
        .filter_map(
            |k| match PublicKey::from_bytes(&k.public_key, Some(&k.kid)) {
                Ok(key) => Some(key),
                Err(error) => {
                    tracing::warn!(kid = %k.kid, %error, "skipping an unusable signing key");
                    None
                }
            },
        )
        .collect()
}

/// The JWKS of the signing keys that can still verify a token: the active ones and those
/// retired less than [`RETIRED_KEY_PUBLICATION`] ago.
async fn jwks(State(state): State<AppState>) -> Response {
    let keys = match state.store.list_signing_keys().await {
        Ok(keys) => keys,
        Err(_) => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
    };
    let public = verification_keys(&keys, Timestamp::now());
    let body = tessera_credentials::token::jwks(&public);
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=60"),
    );
    response
}
