//! The worked examples of `docs/grpc-authentication.md` are computed here, from a real
//! `tessera.v1.CreateUserRequest` encoded by the generated (prost) types, and the document
//! must contain exactly these values, so it cannot drift from the signer and verifier.
//!
//! To regenerate the values after a deliberate change:
//! `TESSERA_PRINT_DOC_EXAMPLE=1 cargo test -p tessera-credentials --test grpc_authentication_doc -- --nocapture`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use jiff::Timestamp;
use prost::Message;
use sha2::{Digest, Sha256};
use tessera_credentials::signature::{SignedHeaders, SignedRequest, sign_grpc_with_details};
use tessera_credentials::{ReplayGuard, Secret};
use tessera_proto::v1::CreateUserRequest;

const DOC: &str = include_str!("../../../docs/grpc-authentication.md");

const METHOD_PATH: &str = "/tessera.v1.Ram/CreateUser";
const AUTHORITY: &str = "tessera.example.com:8443";
const ACCESS_KEY_ID: &str = "LTAI5tExampleKeyId000001";
const SECRET: &str = "tesseraExampleSecret0000000001";
const DATE: &str = "2026-11-22T04:42:12Z";
const NONCE: &str = "3b5d5c3712955042212ec2c2a7d4e8a9";

const STS_ACCESS_KEY_ID: &str = "STS.NExampleTemporaryKey01";
const STS_SECRET: &str = "tesseraExampleStsSecret000000000001";
const STS_TOKEN: &str =
    "eyJhbGciOiJFZERTQSIsImtpZCI6ImV4YW1wbGUifQ.eyJqdGkiOiJleGFtcGxlIn0.ZXhhbXBsZS1zaWduYXR1cmU";
const STS_NONCE: &str = "9a1f4c2e7b3d4e5f8a6b7c8d9e0f1a2b";

fn message() -> Vec<u8> {
    CreateUserRequest {
        user_name: "alice".into(),
        display_name: "Alice Example".into(),
        email: "alice@example.com".into(),
        mobile_phone: String::new(),
        comments: "made by test".into(),
    }
    .encode_to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sign(key_id: &str, secret: &str, token: Option<&str>, nonce: &str) -> SignedHeaders {
    sign_grpc_with_details(
        METHOD_PATH,
        AUTHORITY,
        &message(),
        key_id,
        &Secret::from(secret),
        token,
        DATE.parse().unwrap(),
        nonce,
    )
    .unwrap()
}

fn block(text: &str) -> String {
    format!("```text\n{text}\n```\n")
}

fn metadata_block(signed: &SignedHeaders) -> String {
    let lines: Vec<String> = signed
        .headers()
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    block(&lines.join("\n"))
}

/// Every value the document quotes, in the order it quotes them.
fn fragments() -> Vec<(&'static str, String)> {
    let message = message();
    let plain = sign(ACCESS_KEY_ID, SECRET, None, NONCE);
    let sts = sign(STS_ACCESS_KEY_ID, STS_SECRET, Some(STS_TOKEN), STS_NONCE);
    let canonical_hash = plain
        .string_to_sign()
        .split('\n')
        .nth(1)
        .unwrap()
        .to_owned();
    vec![
        ("message bytes", block(&hex(&message))),
        ("message sha256", hex(&Sha256::digest(&message))),
        ("canonical request", block(plain.canonical_request())),
        ("canonical request sha256", canonical_hash),
        ("string to sign", block(plain.string_to_sign())),
        ("signature", plain.signature().to_owned()),
        ("metadata", metadata_block(&plain)),
        ("sts canonical request", block(sts.canonical_request())),
        ("sts signature", sts.signature().to_owned()),
        ("sts metadata", metadata_block(&sts)),
    ]
}

#[test]
fn the_document_quotes_the_computed_example() {
    let fragments = fragments();
    if std::env::var_os("TESSERA_PRINT_DOC_EXAMPLE").is_some() {
        for (name, text) in &fragments {
            println!("===== {name}\n{text}");
        }
    }
    for (name, text) in &fragments {
        assert!(
            DOC.contains(text.as_str()),
            "docs/grpc-authentication.md does not contain the {name}:\n{text}"
        );
    }
}

/// The example's message is what the proto says, field by field (tag, length, bytes).
#[test]
fn the_example_message_is_the_canonical_encoding() {
    let mut expected = Vec::new();
    for (field, value) in [
        (1u8, "alice"),
        (2, "Alice Example"),
        (3, "alice@example.com"),
        (5, "made by test"),
    ] {
        expected.push(field << 3 | 2);
        expected.push(u8::try_from(value.len()).unwrap());
        expected.extend_from_slice(value.as_bytes());
    }
    assert_eq!(message(), expected);
}

/// The server side of the example: the verifier accepts exactly these metadata entries
/// (with `:authority` as `host`, next to the headers every gRPC call carries), within the
/// window and once.
#[test]
fn the_verifier_accepts_the_example() {
    let message = message();
    for (key_id, secret, token, nonce) in [
        (ACCESS_KEY_ID, SECRET, None, NONCE),
        (STS_ACCESS_KEY_ID, STS_SECRET, Some(STS_TOKEN), STS_NONCE),
    ] {
        let signed = sign(key_id, secret, token, nonce);
        let mut headers: Vec<(String, String)> = vec![
            ("host".into(), AUTHORITY.into()),
            ("content-type".into(), "application/grpc".into()),
            ("te".into(), "trailers".into()),
            ("grpc-timeout".into(), "10S".into()),
        ];
        headers.extend(signed.headers().iter().cloned());
        let req = SignedRequest::parse(
            "POST",
            METHOD_PATH,
            "",
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            &message,
        )
        .unwrap();
        assert_eq!(req.canonical_request(), Some(signed.canonical_request()));
        assert_eq!(req.verify(&Secret::from(secret)), Ok(()));
        assert_eq!(req.access_key_id(), key_id);
        assert_eq!(req.security_token(), token);
        let now: Timestamp = "2026-11-22T04:50:00Z".parse().unwrap();
        assert_eq!(req.check_timestamp(now), Ok(()));
        let guard = ReplayGuard::new(10);
        assert_eq!(
            guard.check_and_remember(key_id, req.nonce(), req.timestamp(), now),
            Ok(())
        );
        assert_eq!(
            guard
                .check_and_remember(key_id, req.nonce(), req.timestamp(), now)
                .unwrap_err()
                .code(),
            "SignatureNonceUsed"
        );
    }
}
