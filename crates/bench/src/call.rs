//! Unary calls as the bench makes them: a message encoded once, then per call either signed
//! (ACS3-HMAC-SHA256 over gRPC metadata with a fresh nonce, as `docs/grpc-authentication.md`
//! specifies) or sent with a bearer token. A pass-through codec sends the pre-encoded bytes, so
//! the client spends nothing on re-encoding and the signature covers exactly what is sent.

use std::marker::PhantomData;
use std::str::FromStr as _;

use prost::bytes::{Buf as _, BufMut as _, Bytes};
use tessera_credentials::Secret;
use tessera_credentials::signature::{new_nonce, sign_grpc};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::metadata::{AsciiMetadataValue, MetadataKey, MetadataValue};
use tonic::transport::Channel;
use tonic::{Request, Status};

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
    Signed(Key),
    /// `authorization: Bearer <token>`, prepared once.
    Bearer(AsciiMetadataValue),
}

impl Auth {
    pub fn bearer(token: &str) -> anyhow::Result<Auth> {
        Ok(Auth::Bearer(AsciiMetadataValue::try_from(format!(
            "Bearer {token}"
        ))?))
    }
}

/// Calls `path` with the encoded `message`, authenticated by `auth`; `authority` is what the
/// channel sends as `:authority` (`host:port`).
pub async fn unary<R: prost::Message + Default + Send + 'static>(
    channel: Channel,
    authority: &str,
    path: &'static str,
    message: Bytes,
    auth: &Auth,
) -> Result<R, Status> {
    let mut request = Request::new(message.clone());
    match auth {
        Auth::Bearer(value) => {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Auth::Signed(key) => {
            let metadata = sign_grpc(
                path,
                authority,
                &message,
                &key.id,
                &key.secret,
                key.security_token.as_deref(),
                jiff::Timestamp::now(),
                &new_nonce(&mut rand::rng()),
            )
            .map_err(|e| Status::internal(e.to_string()))?;
            for (name, value) in metadata {
                let name =
                    MetadataKey::from_str(&name).map_err(|e| Status::internal(e.to_string()))?;
                let value = MetadataValue::try_from(value.as_str())
                    .map_err(|e| Status::internal(e.to_string()))?;
                request.metadata_mut().insert(name, value);
            }
        }
    }
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|e| Status::unavailable(e.to_string()))?;
    grpc.unary(
        request,
        PathAndQuery::from_static(path),
        PassThrough::<R>(PhantomData),
    )
    .await
    .map(tonic::Response::into_inner)
}

/// Encodes `message` once.
pub fn encode(message: &impl prost::Message) -> Bytes {
    Bytes::from(message.encode_to_vec())
}

/// Sends `Bytes` as the message; decodes the answer as `R`.
struct PassThrough<R>(PhantomData<R>);

struct BytesEncoder;

struct ProstDecoder<R>(PhantomData<R>);

impl<R: prost::Message + Default + Send + 'static> Codec for PassThrough<R> {
    type Encode = Bytes;
    type Decode = R;
    type Encoder = BytesEncoder;
    type Decoder = ProstDecoder<R>;

    fn encoder(&mut self) -> BytesEncoder {
        BytesEncoder
    }

    fn decoder(&mut self) -> ProstDecoder<R> {
        ProstDecoder(PhantomData)
    }
}

impl Encoder for BytesEncoder {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl<R: prost::Message + Default> Decoder for ProstDecoder<R> {
    type Item = R;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<R>, Status> {
        let bytes = src.copy_to_bytes(src.remaining());
        R::decode(bytes)
            .map(Some)
            .map_err(|e| Status::internal(e.to_string()))
    }
}
