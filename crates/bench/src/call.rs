//! Unary calls as the bench makes them: a message encoded once (in its gRPC frame), then per
//! call either signed (ACS3-HMAC-SHA256 over gRPC metadata with a fresh nonce, as
//! `docs/grpc-authentication.md` specifies), sent with a bearer token, or sent as is.
//!
//! Each request goes out as Tessera's client SDK sends it (`tessera-client` buffers the message
//! to sign it): HEADERS and one DATA frame that ends the stream. tonic's generated clients
//! stream the message and end the stream with a second, empty DATA frame; h2 writes a DATA
//! payload over 256 bytes straight from the message instead of copying it into its buffer, so
//! that ending frame costs a second socket write for every request carrying a security token
//! (see `docs/benchmarks.md`). Every scenario, `health` included, goes through this one path.

use std::str::FromStr as _;

use http_body_util::{BodyExt as _, Full};
use prost::bytes::{Buf as _, BufMut as _, Bytes, BytesMut};
use tessera_credentials::Secret;
use tessera_credentials::signature::{new_nonce, sign_grpc};
use tonic::Status;
use tonic::codegen::http;
use tonic::transport::Channel;
use tower::ServiceExt as _;

/// A long-term or STS access key.
#[derive(Clone)]
pub struct Key {
    pub id: String,
    pub secret: Secret,
    pub security_token: Option<String>,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// How a call proves who makes it.
#[derive(Debug, Clone)]
pub enum Auth {
    /// Nothing (health checks).
    Anonymous,
    Signed(Key),
    /// `authorization: Bearer <token>`, prepared once.
    Bearer(http::HeaderValue),
}

impl Auth {
    pub fn bearer(token: &str) -> anyhow::Result<Auth> {
        Ok(Auth::Bearer(http::HeaderValue::try_from(format!(
            "Bearer {token}"
        ))?))
    }
}

/// The length of a gRPC message frame's prefix: the compression flag and the length.
const FRAME_PREFIX: usize = 5;

/// A request message encoded once, in its gRPC frame.
#[derive(Debug, Clone)]
pub struct Encoded(Bytes);

impl Encoded {
    /// The message without its frame (what a signature hashes).
    fn message(&self) -> &[u8] {
        &self.0[FRAME_PREFIX..]
    }
}

/// Encodes `message` once, framed.
pub fn encode(message: &impl prost::Message) -> Encoded {
    let len = message.encoded_len();
    let mut framed = BytesMut::with_capacity(FRAME_PREFIX + len);
    framed.put_u8(0);
    framed.put_u32(u32::try_from(len).unwrap_or(u32::MAX));
    // Cannot fail: the buffer was sized for the message.
    let _ = message.encode(&mut framed);
    Encoded(framed.freeze())
}

/// Calls `path` with the encoded `message`, authenticated by `auth`; `authority` is what the
/// channel sends as `:authority` (`host:port`).
pub async fn unary<R: prost::Message + Default>(
    channel: Channel,
    authority: &str,
    path: &'static str,
    message: Encoded,
    auth: &Auth,
) -> Result<R, Status> {
    let internal = |e: &dyn std::fmt::Display| Status::internal(e.to_string());
    let mut request = http::Request::builder()
        .method(http::Method::POST)
        .uri(path)
        .header(http::header::CONTENT_TYPE, "application/grpc")
        .header(http::header::TE, "trailers")
        .body(tonic::body::Body::new(Full::new(message.0.clone())))
        .map_err(|e| internal(&e))?;
    match auth {
        Auth::Anonymous => {}
        Auth::Bearer(value) => {
            request
                .headers_mut()
                .insert(http::header::AUTHORIZATION, value.clone());
        }
        Auth::Signed(key) => {
            let metadata = sign_grpc(
                path,
                authority,
                message.message(),
                &key.id,
                &key.secret,
                key.security_token.as_deref(),
                jiff::Timestamp::now(),
                &new_nonce(&mut rand::rng()),
            )
            .map_err(|e| internal(&e))?;
            for (name, value) in metadata {
                let name = http::HeaderName::from_str(&name).map_err(|e| internal(&e))?;
                let value = http::HeaderValue::try_from(value).map_err(|e| internal(&e))?;
                request.headers_mut().insert(name, value);
            }
        }
    }
    let response = channel
        .oneshot(request)
        .await
        .map_err(|e| Status::unavailable(e.to_string()))?;
    // A refusal may come as headers only (no message, no trailers).
    if let Some(status) = Status::from_header_map(response.headers())
        && status.code() != tonic::Code::Ok
    {
        return Err(status);
    }
    let collected = response
        .into_body()
        .collect()
        .await
        .map_err(|e| Status::unavailable(e.to_string()))?;
    let trailers = collected.trailers().cloned().unwrap_or_default();
    let status = Status::from_header_map(&trailers)
        .ok_or_else(|| Status::internal("the answer carries no grpc-status"))?;
    if status.code() != tonic::Code::Ok {
        return Err(status);
    }
    let mut body = collected.to_bytes();
    if body.len() < FRAME_PREFIX || body[0] != 0 {
        return Err(Status::internal(
            "the answer is not one uncompressed message",
        ));
    }
    body.advance(1);
    let len = body.get_u32() as usize;
    if body.len() != len {
        return Err(Status::internal("the answer is not one whole message"));
    }
    R::decode(body).map_err(|e| internal(&e))
}
