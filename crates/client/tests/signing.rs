#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The signing layer: what each call carries, checked by parsing and verifying it as the
//! server does (`tessera_credentials::SignedRequest`) over the exact bytes sent.

use std::sync::{Arc, Mutex};

use http_body_util::BodyExt as _;
use prost::Message as _;
use tessera_client::{Credential, Error, Signed, pb};
use tessera_credentials::{Secret, SignedRequest};
use tonic::body::Body;
use tonic::codegen::http;

const AUTHORITY: &str = "tessera.example.com:8443";

/// One request as the inner service received it.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: http::HeaderMap,
    message: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Parses the call as the server does, with `:authority` as `host`.
    fn signed(&self) -> SignedRequest {
        let headers = self
            .headers
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
            .chain([("host".to_owned(), AUTHORITY.as_bytes().to_vec())]);
        SignedRequest::parse("POST", &self.path, "", headers, &self.message).unwrap()
    }
}

/// What the recording service saw.
type Log = Arc<Mutex<Vec<Received>>>;

/// A signed service over an inner one that records each request and answers
/// GetCallerIdentity.
fn recording(credential: impl tessera_client::CredentialsProvider) -> (Signed<impl Inner>, Log) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let seen = log.clone();
    let inner = tower::service_fn(move |request: http::Request<Body>| {
        let seen = seen.clone();
        async move {
            let (parts, body) = request.into_parts();
            let frame = body.collect().await.unwrap().to_bytes();
            seen.lock().unwrap().push(Received {
                path: parts.uri.path().to_owned(),
                headers: parts.headers,
                message: frame[5..].to_vec(),
            });
            Ok::<_, std::convert::Infallible>(grpc_response(&pb::GetCallerIdentityResponse {
                user_id: "42".into(),
                ..Default::default()
            }))
        }
    });
    (Signed::new(inner, AUTHORITY, credential), log)
}

/// What the recorder is: a service like a channel.
trait Inner:
    tower::Service<
        http::Request<Body>,
        Response = http::Response<Body>,
        Error = std::convert::Infallible,
        Future: Send,
    > + Clone
    + Send
    + 'static
{
}

impl<S> Inner for S where
    S: tower::Service<
            http::Request<Body>,
            Response = http::Response<Body>,
            Error = std::convert::Infallible,
            Future: Send,
        > + Clone
        + Send
        + 'static
{
}

/// A successful unary gRPC response carrying `message`.
fn grpc_response(message: &impl prost::Message) -> http::Response<Body> {
    let bytes = message.encode_to_vec();
    let mut frame = vec![0u8];
    frame.extend_from_slice(&u32::try_from(bytes.len()).unwrap().to_be_bytes());
    frame.extend_from_slice(&bytes);
    let mut trailers = http::HeaderMap::new();
    trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
    let frames = futures_frames(frame, trailers);
    http::Response::builder()
        .header("content-type", "application/grpc")
        .body(Body::new(http_body_util::StreamBody::new(frames)))
        .unwrap()
}

fn futures_frames(
    data: Vec<u8>,
    trailers: http::HeaderMap,
) -> tokio_stream::Iter<
    std::vec::IntoIter<Result<http_body::Frame<tonic::codegen::Bytes>, tonic::Status>>,
> {
    tokio_stream::iter(vec![
        Ok(http_body::Frame::data(tonic::codegen::Bytes::from(data))),
        Ok(http_body::Frame::trailers(trailers)),
    ])
}

async fn caller_identity<S>(signed: S) -> Result<pb::GetCallerIdentityResponse, tonic::Status>
where
    S: tonic::client::GrpcService<Body>,
    S::Error: Into<tonic::codegen::StdError>,
    S::ResponseBody: http_body::Body<Data = tonic::codegen::Bytes> + Send + 'static,
    <S::ResponseBody as http_body::Body>::Error: Into<tonic::codegen::StdError> + Send,
{
    pb::sts_client::StsClient::new(signed)
        .get_caller_identity(pb::GetCallerIdentityRequest {})
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn access_key_calls_carry_a_verifiable_acs3_signature_over_the_message_sent() {
    let (signed, log) = recording(Credential::access_key("LTAIexample", "the-secret"));
    let request = pb::CreateUserRequest {
        user_name: "alice".into(),
        comments: "made by test".into(),
        ..Default::default()
    };
    pb::ram_client::RamClient::new(signed.clone())
        .create_user(request.clone())
        .await
        .unwrap_err(); // the recorder answers with the wrong message type
    let response = caller_identity(signed).await.unwrap();
    assert_eq!(response.user_id, "42");

    let log = log.lock().unwrap().clone();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].path, "/tessera.v1.Ram/CreateUser");
    assert_eq!(log[0].message, request.encode_to_vec());
    let mut nonces = Vec::new();
    for received in &log {
        let signed = received.signed();
        assert_eq!(signed.access_key_id(), "LTAIexample");
        assert_eq!(signed.security_token(), None);
        signed.verify(&Secret::from("the-secret")).unwrap();
        assert!(
            signed.verify(&Secret::from("another-secret")).is_err(),
            "the signature depends on the secret"
        );
        signed.check_timestamp(jiff::Timestamp::now()).unwrap();
        assert_eq!(signed.nonce().len(), 32);
        nonces.push(signed.nonce().to_owned());
        assert!(received.header("grpc-timeout").is_some());
    }
    assert_ne!(nonces[0], nonces[1], "a fresh nonce per call");
}

#[tokio::test]
async fn sts_credentials_sign_their_security_token() {
    let (signed, log) = recording(Credential::sts("STS.example", "sts-secret", "the.token"));
    caller_identity(signed).await.unwrap();
    let received = log.lock().unwrap()[0].clone();
    assert_eq!(received.header("x-acs-security-token"), Some("the.token"));
    let parsed = received.signed();
    assert_eq!(parsed.security_token(), Some("the.token"));
    parsed.verify(&Secret::from("sts-secret")).unwrap();
    assert!(
        received
            .header("authorization")
            .unwrap()
            .contains("SignedHeaders=host;x-acs-content-sha256;x-acs-date;x-acs-security-token;x-acs-signature-nonce,")
    );
}

#[tokio::test]
async fn bearer_and_anonymous_calls() {
    let (signed, log) = recording(Credential::bearer("eyJ.token.sig"));
    caller_identity(signed.clone()).await.unwrap();
    // The same connection with another credential.
    caller_identity(signed.with_credential(Credential::Anonymous))
        .await
        .unwrap();
    let log = log.lock().unwrap().clone();
    assert_eq!(log[0].header("authorization"), Some("Bearer eyJ.token.sig"));
    assert_eq!(log[0].header("x-acs-signature-nonce"), None);
    assert_eq!(log[1].header("authorization"), None);
}

/// A provider that cannot provide.
struct Broken;

#[async_trait::async_trait]
impl tessera_client::CredentialsProvider for Broken {
    async fn credential(&self) -> Result<Credential, Error> {
        Err(Error::Status(tonic::Status::permission_denied(
            "NoPermission: not allowed to assume the role",
        )))
    }
}

#[tokio::test]
async fn a_provider_failure_fails_the_call_without_sending_it() {
    let (signed, log) = recording(Broken);
    let status = caller_identity(signed).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    assert_eq!(tessera_client::error_code(&status), "NoPermission");
    assert!(log.lock().unwrap().is_empty());

    // A credential that cannot travel as metadata is refused before sending, too.
    let (signed, log) = recording(Credential::bearer("line\nbreak"));
    let status = caller_identity(signed).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unauthenticated);
    assert!(log.lock().unwrap().is_empty());
}
