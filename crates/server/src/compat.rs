//! Alibaba Cloud's RPC-style HTTP API on the one port — RAM `2015-05-01` and STS `2015-04-01` —
//! so the official SDKs and `alibabacloud-credentials` work by changing only the endpoint
//! (`docs/alibaba-compat.md` is the compatibility surface).
//!
//! `GET` or `POST /`, parameters in the query string and/or an
//! `application/x-www-form-urlencoded` body; the operation is the `Action`/`Version`
//! parameters (RPC signature v1) or the `x-acs-action`/`x-acs-version` headers (ACS3). Each
//! request:
//!
//! 1. is parsed and canonicalized ([`SignedRequest::parse`]: RPC v1 HMAC-SHA1, including the
//!    `+`-for-space variant credentials-python signs, or ACS3-HMAC-SHA256 with the canonical
//!    headers exactly from `SignedHeaders` and the body hash checked);
//! 2. is authenticated by the same [`Authenticator`] as gRPC (long-term and STS keys, key and
//!    account status, the 15-minute window, the nonce), and gets the same
//!    [`Authenticated`] facts (peer address, TLS, user agent) the gRPC layer builds;
//! 3. is dispatched in process, through the one Alibaba mapping
//!    ([`tessera_proto::alibaba::call`]), to the same `RamService`/`StsService` instances gRPC
//!    serves — one implementation;
//! 4. is answered with Alibaba's JSON plus `RequestId` (also in the `x-acs-request-id` header),
//!    or with `{"RequestId","HostId","Code","Message","Recommend"}` and the error's HTTP status
//!    ([`AlibabaError`]); a throttled call (`Throttling.User`) carries `x-acs-retry-after`
//!    (milliseconds, read by the SDKs) and `Retry-After` (seconds).
//!
//! Responses are always JSON (`Format=XML` is answered in JSON too). Client certificates do not
//! authenticate here: Alibaba's API is signed — except `AssumeRoleWithOIDC`, which is served
//! unsigned too (spec §9.1: its credential is the `OIDCToken` parameter); any other unsigned
//! request is `MissingSignature`.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt as _, Limited};
use serde_json::Value;
use tessera_credentials::SignedRequest;
use tessera_credentials::signature::{MissingParam, SignatureError};
use tessera_proto::alibaba::{self, AlibabaError, Params};

use crate::auth::{AuthError, Authenticator, MAX_REQUEST_BYTES, peer_ip};
use crate::caller::{Anonymous, Authenticated};
use crate::layers::rate_limit::RateLimitLayer;
use crate::layers::request_id::RequestId;
use crate::ram::RamService;
use crate::sts::StsService;
use crate::tls::TlsConnection;

/// The header echoing the request id.
pub const REQUEST_ID_HEADER: &str = "x-acs-request-id";
/// The header with a throttled call's retry hint in milliseconds (what the SDKs read).
pub const RETRY_AFTER_MS_HEADER: &str = "x-acs-retry-after";
const JSON: &str = "application/json;charset=utf-8";

/// The services and the authenticator the endpoint dispatches to (the gRPC side's own).
#[derive(Clone)]
pub(crate) struct Compat {
    ram: RamService,
    sts: Arc<StsService>,
    auth: Arc<Authenticator>,
    rate_limits: RateLimitLayer,
}

impl Compat {
    pub(crate) fn new(
        ram: RamService,
        sts: Arc<StsService>,
        auth: Arc<Authenticator>,
        rate_limits: RateLimitLayer,
    ) -> Compat {
        Compat {
            ram,
            sts,
            auth,
            rate_limits,
        }
    }
}

/// `/`: `GET` and `POST` (other methods: `UnsupportedHTTPMethod`).
pub(crate) async fn handle(State(compat): State<Compat>, request: Request<Body>) -> Response {
    let received_at = compat.auth.now();
    let request_id = RequestId::generate();
    let (parts, body) = request.into_parts();
    let host = host(&parts.headers, &parts.uri);
    let answer = match Limited::new(body, MAX_REQUEST_BYTES).collect().await {
        _ if !matches!(parts.method, Method::GET | Method::POST) => Err(AlibabaError {
            http_status: 400,
            code: "UnsupportedHTTPMethod".into(),
            message: "Specified signature method is not supported: use GET or POST.".into(),
            retry_after_ms: None,
        }),
        Ok(body) => {
            serve(
                &compat,
                &parts,
                &body.to_bytes(),
                received_at,
                &host,
                &request_id,
            )
            .await
        }
        Err(_) => Err(AlibabaError {
            http_status: 413,
            code: "InvalidParameter.RequestSize".into(),
            message: format!("The request exceeds {MAX_REQUEST_BYTES} bytes."),
            retry_after_ms: None,
        }),
    };
    match answer {
        Ok((action, value)) => {
            tracing::debug!(request_id = %request_id, action = %action, "Alibaba API call served");
            success(value, request_id.as_str())
        }
        Err(error) => {
            tracing::info!(
                request_id = %request_id,
                code = %error.code,
                status = error.http_status,
                "Alibaba API call refused"
            );
            error_response(&error, request_id.as_str(), &host)
        }
    }
}

/// Authenticates and dispatches one request; returns the action and its answer.
async fn serve(
    compat: &Compat,
    parts: &axum::http::request::Parts,
    body: &[u8],
    received_at: jiff::Timestamp,
    host: &str,
    request_id: &RequestId,
) -> Result<(String, Value), AlibabaError> {
    let headers = parts
        .headers
        .iter()
        .filter(|(name, _)| *name != header::HOST)
        .map(|(name, value)| (name.as_str(), value.as_bytes()))
        .chain(std::iter::once(("host", host.as_bytes())))
        .collect::<Vec<_>>();
    let tls = parts.extensions.get::<TlsConnection>();
    let anonymous = Anonymous {
        received_at,
        source_ip: peer_ip(&parts.extensions),
        secure_transport: tls.is_some(),
        user_agent: parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    };
    let signed = match SignedRequest::parse(
        parts.method.as_str(),
        parts.uri.path(),
        parts.uri.query().unwrap_or_default(),
        headers.iter().copied(),
        body,
    ) {
        Ok(signed) => signed,
        Err(missing @ SignatureError::Missing(MissingParam::Signature)) => {
            return serve_anonymous(compat, parts, &headers, body, anonymous)
                .await?
                .ok_or_else(|| refused(&AuthError::from(missing)));
        }
        Err(e) => return Err(refused(&AuthError::from(e))),
    };
    let (caller, credential) = compat
        .auth
        .authenticate_request(&signed, received_at)
        .await
        .map_err(|e| {
            let mut error = refused(&e);
            let mismatch = SignatureError::SignatureDoesNotMatch.to_string();
            if e.message == mismatch {
                // As Alibaba's gateway answers: aliyun-python-sdk-core splits the string to
                // sign out of the message (and fails on a message without it) to tell a wrong
                // secret from a wrong canonicalization. It holds nothing the client did not
                // send.
                error.message = format!(
                    "{mismatch} server string to sign is:{}",
                    signed.string_to_sign()
                );
            }
            error
        })?;
    let authenticated = Authenticated {
        mfa_present: credential.mfa_present(),
        caller,
        credential,
        memos: None,
        received_at,
        source_ip: peer_ip(&parts.extensions),
        secure_transport: tls.is_some(),
        user_agent: parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    };
    let params = Params::new(signed.params().iter().cloned());
    let template = || {
        let mut request = tonic::Request::new(());
        request.extensions_mut().insert(authenticated.clone());
        // The id the answer carries, so the audit trail records the same.
        request.extensions_mut().insert(request_id.clone());
        request.extensions_mut().insert(anonymous.clone());
        request
    };
    let action = signed.action().unwrap_or_default().to_owned();
    // The per-account rate limits of the gRPC side, by the Alibaba action's name
    // (`AssumeRoleWithOIDC` limits the role's account itself).
    if !ANONYMOUS_ACTIONS.contains(&action.as_str()) {
        compat
            .rate_limits
            .check(&authenticated, &action)
            .map_err(|status| AlibabaError::from_status(&status))?;
    }
    let value = alibaba::call(
        &compat.ram,
        &*compat.sts,
        signed.version(),
        signed.action(),
        &params,
        template,
    )
    .await
    .map_err(|status| AlibabaError::from_status(&status))?;
    Ok((action, value))
}

/// The actions served unsigned (spec §9.1): their credential is a parameter.
const ANONYMOUS_ACTIONS: &[&str] = &["AssumeRoleWithOIDC"];

/// An unsigned request: dispatched if it is one of [`ANONYMOUS_ACTIONS`] of STS (`None`
/// otherwise, and the caller answers `MissingSignature`).
async fn serve_anonymous(
    compat: &Compat,
    parts: &axum::http::request::Parts,
    headers: &[(&str, &[u8])],
    body: &[u8],
    anonymous: Anonymous,
) -> Result<Option<(String, Value)>, AlibabaError> {
    let params = tessera_credentials::signature::request_params(
        parts.uri.query().unwrap_or_default(),
        headers.iter().copied(),
        body,
    )
    .map_err(|e| refused(&AuthError::from(e)))?;
    let params = Params::new(params);
    let (Some(action), Some(version)) = (params.get("Action"), params.get("Version")) else {
        return Ok(None);
    };
    if !ANONYMOUS_ACTIONS.contains(&action) || version != alibaba::STS_VERSION {
        return Ok(None);
    }
    let template = || {
        let mut request = tonic::Request::new(());
        request.extensions_mut().insert(anonymous.clone());
        request
    };
    let value = alibaba::call_sts(&*compat.sts, action, &params, template)
        .await
        .map_err(|status| AlibabaError::from_status(&status))?;
    Ok(Some((action.to_owned(), value)))
}

fn refused(error: &AuthError) -> AlibabaError {
    AlibabaError::from_status(&error.to_status())
}

/// The `Host` (or HTTP/2 `:authority`) as received: what ACS3 signs as `host`, and the
/// error body's `HostId`.
fn host(headers: &HeaderMap, uri: &axum::http::Uri) -> String {
    headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| uri.authority().map(|a| a.as_str().to_owned()))
        .unwrap_or_default()
}

fn json_response(status: StatusCode, body: &Value, request_id: &str) -> Response {
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
    if let Ok(value) = HeaderValue::from_str(request_id) {
        headers.insert(REQUEST_ID_HEADER, value);
    }
    response
}

/// 200 with the answer and its `RequestId`.
fn success(mut value: Value, request_id: &str) -> Response {
    if let Value::Object(fields) = &mut value {
        fields.insert("RequestId".into(), request_id.into());
    }
    json_response(StatusCode::OK, &value, request_id)
}

/// Alibaba's error body with the error's status, and the retry hints of a throttled call.
fn error_response(error: &AlibabaError, request_id: &str, host: &str) -> Response {
    // The host is client-supplied: keep it short in the body.
    let host_id: String = host.chars().take(255).collect();
    let status =
        StatusCode::from_u16(error.http_status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = json_response(status, &error.body(request_id, &host_id), request_id);
    if let Some(ms) = error.retry_after_ms {
        let headers = response.headers_mut();
        headers.insert(RETRY_AFTER_MS_HEADER, HeaderValue::from(ms));
        headers.insert(header::RETRY_AFTER, HeaderValue::from(ms.div_ceil(1000)));
    }
    response
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    async fn body_json(response: Response) -> Value {
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn throttled_calls_carry_retry_hints() {
        let mut status = tonic::Status::resource_exhausted("RateLimited: slow down");
        status
            .metadata_mut()
            .insert(alibaba::RETRY_AFTER_METADATA, "1500".parse().unwrap());
        let error = AlibabaError::from_status(&status);
        let response = error_response(&error, "REQ-1", "127.0.0.1:7733");
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        let headers = response.headers();
        assert_eq!(headers[RETRY_AFTER_MS_HEADER], "1500");
        assert_eq!(headers[header::RETRY_AFTER], "2");
        assert_eq!(headers[REQUEST_ID_HEADER], "REQ-1");
        assert_eq!(headers[header::CONTENT_TYPE], JSON);
        let body = body_json(response).await;
        assert_eq!(body["Code"], "Throttling.User");
        assert_eq!(
            body["Message"],
            "Request was denied due to user flow control."
        );
        assert_eq!(body["RequestId"], "REQ-1");
        assert_eq!(body["HostId"], "127.0.0.1:7733");

        // Other errors carry no hint.
        let error = AlibabaError::from_status(&crate::authorizer::status(
            &tessera_iam::Error::no_permission("no"),
        ));
        let response = error_response(&error, "REQ-2", "h");
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(response.headers().get(RETRY_AFTER_MS_HEADER).is_none());
        assert!(response.headers().get(header::RETRY_AFTER).is_none());
    }

    #[tokio::test]
    async fn answers_carry_the_request_id() {
        let response = success(serde_json::json!({"User": {"UserName": "a"}}), "REQ-3");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[REQUEST_ID_HEADER], "REQ-3");
        let body = body_json(response).await;
        assert_eq!(
            body,
            serde_json::json!({"User": {"UserName": "a"}, "RequestId": "REQ-3"})
        );
    }
}
