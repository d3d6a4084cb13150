//! Client-side signing: the exact inverse of the verifier ([`super::SignedRequest`]).
//!
//! - [`sign_acs3`]: an ACS3-HMAC-SHA256 HTTP request, as Alibaba's Python SDK
//!   (`alibabacloud_tea_openapi`, `do_request`) signs it: every header given is signed, plus
//!   `x-acs-date`, `x-acs-signature-nonce`, `x-acs-content-sha256` and, with a security
//!   token, `x-acs-accesskey-id` and `x-acs-security-token`.
//! - [`sign_rpc_v1`]: an RPC v1 (HMAC-SHA1) request's parameters.
//! - [`sign_grpc`]: ACS3-HMAC-SHA256 over a Tessera gRPC call, carried in metadata
//!   (`docs/grpc-authentication.md`).
//!
//! No clock reads and no randomness: the caller passes the time and the nonce (see
//! [`new_nonce`]).

use std::fmt;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use rand::{CryptoRng, Rng};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::acs3::{ALGORITHM, canonical_query};
use super::encode::{hex, percent_encode};
use super::{MAX_NONCE_LEN, SignatureError, rpc, short};
use crate::Secret;
use crate::expiration::format_expiration;

/// The ACS3 headers the signer adds itself; a caller may not pass them in.
const ADDED_BY_SIGNER: [&str; 6] = [
    "authorization",
    "x-acs-date",
    "x-acs-signature-nonce",
    "x-acs-content-sha256",
    "x-acs-accesskey-id",
    "x-acs-security-token",
];

/// The RPC v1 parameters the signer adds itself; a caller may not pass them in.
/// (`SecurityToken`, for STS credentials, is an ordinary parameter the caller adds.)
const RPC_ADDED_BY_SIGNER: [&str; 6] = [
    "AccessKeyId",
    "Signature",
    "SignatureMethod",
    "SignatureNonce",
    "SignatureVersion",
    "Timestamp",
];

/// The headers (or gRPC metadata entries) an ACS3 signer adds to a request, with the
/// intermediate strings for diagnostics. `Debug` redacts the security token.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    headers: Vec<(String, String)>,
    canonical_request: String,
    string_to_sign: String,
    signature: String,
}

impl SignedHeaders {
    /// The headers to add, names lower-case, in this order: `x-acs-date`,
    /// `x-acs-signature-nonce`, `x-acs-content-sha256`, then (with a security token; HTTP
    /// only) `x-acs-accesskey-id`, then (with a security token) `x-acs-security-token`, and
    /// last `authorization`.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The headers to add (see [`SignedHeaders::headers`]).
    pub fn into_headers(self) -> Vec<(String, String)> {
        self.headers
    }

    /// One added header by (lower-case) name.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The `authorization` value: `ACS3-HMAC-SHA256 Credential=…,SignedHeaders=…,Signature=…`.
    pub fn authorization(&self) -> &str {
        self.get("authorization").unwrap_or_default()
    }

    /// The hex signature.
    pub fn signature(&self) -> &str {
        &self.signature
    }

    /// The canonical request that was hashed (contains the security token, if any).
    pub fn canonical_request(&self) -> &str {
        &self.canonical_request
    }

    /// `ACS3-HMAC-SHA256\n<hex sha256 of the canonical request>`.
    pub fn string_to_sign(&self) -> &str {
        &self.string_to_sign
    }
}

impl fmt::Debug for SignedHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, v)| {
                if k == "x-acs-security-token" {
                    (k.as_str(), "<redacted>")
                } else {
                    (k.as_str(), v.as_str())
                }
            })
            .collect();
        f.debug_struct("SignedHeaders")
            .field("headers", &headers)
            .field("string_to_sign", &self.string_to_sign)
            .finish_non_exhaustive()
    }
}

/// A fresh nonce: 32 lower-case hex characters (128 bits) from `rng` (use a CSPRNG such as
/// `rand::rng()`), the shape the Python SDK sends.
pub fn new_nonce<R: CryptoRng + ?Sized>(rng: &mut R) -> String {
    let mut bytes = [0u8; 16];
    rng.fill(&mut bytes);
    hex(&bytes)
}

/// Encodes parameters as a query string or `application/x-www-form-urlencoded` body, in the
/// order given: names and values RFC 3986-encoded (space → `%20`), `k=v` joined by `&`.
/// What the verifier decodes back to the same parameters.
pub fn encode_params(params: &[(impl AsRef<str>, impl AsRef<str>)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in params.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(&percent_encode(k.as_ref()));
        out.push('=');
        out.push_str(&percent_encode(v.as_ref()));
    }
    out
}

fn invalid(msg: impl Into<String>) -> SignatureError {
    SignatureError::InvalidParameter(msg.into())
}

/// An HTTP method: non-empty, ASCII upper-case letters.
fn check_method(method: &str) -> Result<(), SignatureError> {
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(invalid("the HTTP method must be upper-case letters"));
    }
    Ok(())
}

/// A header value must fit on one header line: no control characters except tab.
fn check_header_value(name: &str, value: &str) -> Result<(), SignatureError> {
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err(invalid(format!(
            "header {} contains a control character",
            short(name)
        )));
    }
    Ok(())
}

/// An RFC 9110 token (header names are lower-cased by the caller).
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn check_nonce_value(nonce: &str) -> Result<(), SignatureError> {
    if nonce.is_empty() {
        return Err(invalid("the signature nonce is empty"));
    }
    if nonce.len() > MAX_NONCE_LEN {
        return Err(invalid("the signature nonce is too long"));
    }
    Ok(())
}

/// Signs an ACS3-HMAC-SHA256 HTTP request exactly as Alibaba's Python SDK does, and returns
/// the headers to add to it.
///
/// - `method`: `GET`, `POST`, …
/// - `path`: the request path as it will be sent (percent-encoded); `/` for the RPC-style
///   API (which also needs `x-acs-action` and `x-acs-version` among `headers`).
/// - `query_params`: the decoded query parameters (send them with [`encode_params`]; with
///   the Python SDK, `Action`/`Version` travel in headers, not here).
/// - `headers`: every header the request will carry that is to be signed, including `host`
///   (required: the `Host` / `:authority` exactly as sent, with the port if one is sent);
///   names in any case, each at most once. Transport headers added later by an HTTP library
///   (`content-length`, `accept-encoding`, …) are best left out: a header that is signed
///   must reach the server unchanged. With a body, pass its `content-type`.
/// - `body`: the exact body bytes (empty for none).
/// - `security_token`: for STS credentials; adds `x-acs-accesskey-id` and
///   `x-acs-security-token`, both signed.
/// - `now`, `nonce`: the request time (`x-acs-date`, whole seconds) and a fresh nonce
///   ([`new_nonce`]).
///
/// Errors (`InvalidParameter`) for malformed input: a header the signer adds itself among
/// `headers`, a repeated header or query parameter, no `host`, control characters in a
/// header value, an empty nonce, …
#[allow(clippy::too_many_arguments)]
pub fn sign_acs3(
    method: &str,
    path: &str,
    query_params: &[(impl AsRef<str>, impl AsRef<str>)],
    headers: &[(impl AsRef<str>, impl AsRef<str>)],
    body: &[u8],
    access_key_id: &str,
    secret: &Secret,
    security_token: Option<&str>,
    now: Timestamp,
    nonce: &str,
) -> Result<SignedHeaders, SignatureError> {
    let path = if path.is_empty() { "/" } else { path };
    if !path.starts_with('/') {
        return Err(invalid("the path must start with /"));
    }
    let query: Vec<(String, String)> = query_params
        .iter()
        .map(|(k, v)| (k.as_ref().to_owned(), v.as_ref().to_owned()))
        .collect();
    let mut names: Vec<&str> = query.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(invalid(format!(
            "query parameter {} is given more than once",
            short(w[0])
        )));
    }
    let mut given = Vec::new();
    for (name, value) in headers.iter() {
        let name = name.as_ref().to_ascii_lowercase();
        if ADDED_BY_SIGNER.contains(&name.as_str()) {
            return Err(invalid(format!("header {name} is added by the signer")));
        }
        given.push((name, value.as_ref().to_owned()));
    }
    if !given.iter().any(|(k, _)| k == "host") {
        return Err(invalid("the host header is required"));
    }
    acs3(
        method,
        path,
        &query,
        given,
        body,
        access_key_id,
        secret,
        security_token,
        true,
        now,
        nonce,
    )
}

/// Signs a Tessera gRPC call with ACS3-HMAC-SHA256 and returns the metadata entries to send
/// (`x-acs-date`, `x-acs-signature-nonce`, `x-acs-content-sha256`, `x-acs-security-token`
/// with STS credentials, `authorization`), names lower-case.
///
/// - `method_path`: the gRPC method path, e.g. `/tessera.v1.Ram/CreateUser`.
/// - `authority`: `host[:port]` exactly as the client sends it in `:authority`.
/// - `message`: the serialized request message exactly as sent (the payload of the
///   length-prefixed gRPC message, without its 5-byte prefix, before any compression).
///
/// The canonical request is ACS3's with method `POST`, canonical URI `method_path`, an
/// empty canonical query and the signed headers `host` (= `authority`),
/// `x-acs-content-sha256` (hex SHA-256 of `message`), `x-acs-date`,
/// `x-acs-signature-nonce` and, with a token, `x-acs-security-token`.
#[allow(clippy::too_many_arguments)]
pub fn sign_grpc(
    method_path: &str,
    authority: &str,
    message: &[u8],
    access_key_id: &str,
    secret: &Secret,
    security_token: Option<&str>,
    now: Timestamp,
    nonce: &str,
) -> Result<Vec<(String, String)>, SignatureError> {
    sign_grpc_with_details(
        method_path,
        authority,
        message,
        access_key_id,
        secret,
        security_token,
        now,
        nonce,
    )
    .map(SignedHeaders::into_headers)
}

/// [`sign_grpc`], also returning the canonical request and string to sign.
#[allow(clippy::too_many_arguments)]
pub fn sign_grpc_with_details(
    method_path: &str,
    authority: &str,
    message: &[u8],
    access_key_id: &str,
    secret: &Secret,
    security_token: Option<&str>,
    now: Timestamp,
    nonce: &str,
) -> Result<SignedHeaders, SignatureError> {
    let path_ok = method_path.len() > 1
        && method_path.starts_with('/')
        && method_path.bytes().all(|b| b.is_ascii_graphic());
    if !path_ok {
        return Err(invalid(
            "the gRPC method path must look like /package.Service/Method",
        ));
    }
    if authority.is_empty() || !authority.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(invalid("the authority must be host[:port]"));
    }
    acs3(
        "POST",
        method_path,
        &[],
        vec![("host".to_owned(), authority.to_owned())],
        message,
        access_key_id,
        secret,
        security_token,
        false,
        now,
        nonce,
    )
}

/// The ACS3 signer. `given` has lower-case names, none of [`ADDED_BY_SIGNER`]; it is signed
/// but not returned.
#[allow(clippy::too_many_arguments)]
fn acs3(
    method: &str,
    path: &str,
    query: &[(String, String)],
    mut given: Vec<(String, String)>,
    body: &[u8],
    access_key_id: &str,
    secret: &Secret,
    security_token: Option<&str>,
    add_access_key_id_header: bool,
    now: Timestamp,
    nonce: &str,
) -> Result<SignedHeaders, SignatureError> {
    check_method(method)?;
    check_nonce_value(nonce)?;
    if access_key_id.is_empty()
        || !access_key_id
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b',' && b != b';')
    {
        return Err(invalid("malformed access key id"));
    }
    if security_token.is_some_and(|t| t.trim().is_empty()) {
        return Err(invalid("the security token is empty"));
    }

    let mut added = vec![
        ("x-acs-date".to_owned(), format_expiration(now)),
        ("x-acs-signature-nonce".to_owned(), nonce.to_owned()),
        (
            "x-acs-content-sha256".to_owned(),
            hex(&Sha256::digest(body)),
        ),
    ];
    if let Some(token) = security_token {
        if add_access_key_id_header {
            added.push(("x-acs-accesskey-id".to_owned(), access_key_id.to_owned()));
        }
        added.push(("x-acs-security-token".to_owned(), token.to_owned()));
    }

    given.extend(added.iter().cloned());
    for (name, value) in &given {
        if !is_token(name) {
            return Err(invalid(format!("malformed header name {}", short(name))));
        }
        check_header_value(name, value)?;
    }
    given.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    if let Some(w) = given.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(invalid(format!(
            "header {} is given more than once",
            short(&w[0].0)
        )));
    }

    let mut canonical_headers = String::new();
    let mut signed_headers = String::new();
    for (i, (name, value)) in given.iter().enumerate() {
        canonical_headers.push_str(name);
        canonical_headers.push(':');
        canonical_headers.push_str(value.trim());
        canonical_headers.push('\n');
        if i > 0 {
            signed_headers.push(';');
        }
        signed_headers.push_str(name);
    }
    let canonical_request = format!(
        "{method}\n{path}\n{query}\n{canonical_headers}\n{signed_headers}\n{payload}",
        query = canonical_query(query),
        payload = hex(&Sha256::digest(body)),
    );
    let string_to_sign = format!(
        "{ALGORITHM}\n{}",
        hex(&Sha256::digest(canonical_request.as_bytes()))
    );
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.expose()).map_err(|_| invalid("unusable secret"))?;
    mac.update(string_to_sign.as_bytes());
    let signature = hex(&mac.finalize().into_bytes());
    added.push((
        "authorization".to_owned(),
        format!(
            "{ALGORITHM} Credential={access_key_id},SignedHeaders={signed_headers},Signature={signature}"
        ),
    ));
    Ok(SignedHeaders {
        headers: added,
        canonical_request,
        string_to_sign,
        signature,
    })
}

/// Signs an RPC v1 (HMAC-SHA1) request: returns `params` followed by `Timestamp` (`now`,
/// whole seconds), `SignatureNonce`, `SignatureMethod=HMAC-SHA1`, `SignatureVersion=1.0`,
/// `AccessKeyId` and `Signature` (base64, not yet URL-encoded). Send them all, with
/// [`encode_params`], in the query string (GET) or in the query and/or an
/// `application/x-www-form-urlencoded` body (POST); the signature does not depend on where
/// each travels.
///
/// `params` are the decoded API parameters, each name at most once: `Action`, `Version`,
/// `Format`, the API's own parameters and, with STS credentials, `SecurityToken`. Passing
/// one of the parameters the signer adds is an error (`InvalidParameter`).
pub fn sign_rpc_v1(
    method: &str,
    params: &[(impl AsRef<str>, impl AsRef<str>)],
    access_key_id: &str,
    secret: &Secret,
    now: Timestamp,
    nonce: &str,
) -> Result<Vec<(String, String)>, SignatureError> {
    check_method(method)?;
    check_nonce_value(nonce)?;
    if access_key_id.is_empty() {
        return Err(invalid("the access key id is empty"));
    }
    let mut all = Vec::new();
    for (name, value) in params.iter() {
        let name = name.as_ref();
        if RPC_ADDED_BY_SIGNER.contains(&name) {
            return Err(invalid(format!("parameter {name} is added by the signer")));
        }
        all.push((name.to_owned(), value.as_ref().to_owned()));
    }
    all.extend([
        ("Timestamp".to_owned(), format_expiration(now)),
        ("SignatureNonce".to_owned(), nonce.to_owned()),
        ("SignatureMethod".to_owned(), "HMAC-SHA1".to_owned()),
        ("SignatureVersion".to_owned(), "1.0".to_owned()),
        ("AccessKeyId".to_owned(), access_key_id.to_owned()),
    ]);
    let mut sorted: Vec<(&str, &str)> = all.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    sorted.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    if let Some(w) = sorted.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(invalid(format!(
            "parameter {} is given more than once",
            short(w[0].0)
        )));
    }
    let string_to_sign = rpc::string_to_sign(method, &sorted, percent_encode);
    let mut key = zeroize::Zeroizing::new(Vec::with_capacity(secret.len() + 1));
    key.extend_from_slice(secret.expose());
    key.push(b'&');
    let mut mac = Hmac::<Sha1>::new_from_slice(&key).map_err(|_| invalid("unusable secret"))?;
    mac.update(string_to_sign.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    all.push(("Signature".to_owned(), signature));
    Ok(all)
}
