//! Verification of Alibaba Cloud request signatures, exactly as the official SDKs compute
//! them:
//!
//! - **RPC v1** (`SignatureMethod=HMAC-SHA1`, `SignatureVersion=1.0`): the parameters of the
//!   query string and of an `application/x-www-form-urlencoded` body, merged (without
//!   `Signature`), sorted and RFC 3986-encoded, make the canonicalized query string;
//!   the string to sign is `METHOD&%2F&<encoded canonical query>` and the signature
//!   `base64(HMAC-SHA1(secret + "&", string to sign))`. credentials-python encodes spaces
//!   as `+` instead of `%20` (spec §6.1 quirk); that variant is accepted too.
//! - **ACS3-HMAC-SHA256**: the `Authorization` header names the key (`Credential`), the
//!   signed headers and the hex signature; the canonical request is rebuilt from the method,
//!   the path, the canonical query string, the *signed* headers only (lower-cased names,
//!   trimmed values), the signed-header list and the body's SHA-256 (which must equal
//!   `x-acs-content-sha256`); the signature is `hex(HMAC-SHA256(secret,
//!   "ACS3-HMAC-SHA256\n" + hex(sha256(canonical request))))`.
//!
//! Signing (the client side, the exact inverse): [`sign_acs3`], [`sign_rpc_v1`] and, for
//! Tessera's gRPC API, [`sign_grpc`].
//!
//! Use: [`SignedRequest::parse`] the request (no secret needed, so the server can look up
//! [`SignedRequest::access_key_id`] first), then [`SignedRequest::verify`] with the secret,
//! [`SignedRequest::check_timestamp`] against the server clock and
//! [`ReplayGuard::check_and_remember`] the nonce. All comparisons of signatures are
//! constant-time. Errors carry the RAM/POP error code ([`SignatureError::code`]) and a
//! message that never contains secret material.

mod acs3;
mod encode;
mod replay;
mod rpc;
mod signer;

use std::fmt;

use hmac::{Hmac, Mac};
use jiff::{SignedDuration, Timestamp};
use sha1::Sha1;
use sha2::Sha256;

pub use replay::ReplayGuard;
pub use signer::{
    SignedHeaders, encode_params, new_nonce, sign_acs3, sign_grpc, sign_grpc_with_details,
    sign_rpc_v1,
};

use crate::expiration;

/// How far a request's `Timestamp` / `x-acs-date` may be from the server's clock, either way.
pub const TIMESTAMP_WINDOW: SignedDuration = SignedDuration::from_secs(15 * 60);

/// Longest accepted `SignatureNonce` / `x-acs-signature-nonce` (the SDKs send 32–36 chars).
pub const MAX_NONCE_LEN: usize = 256;

/// Which signature scheme a request used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureScheme {
    /// RPC signature v1: `SignatureMethod=HMAC-SHA1`, `SignatureVersion=1.0`.
    RpcV1,
    /// `Authorization: ACS3-HMAC-SHA256 …`.
    Acs3HmacSha256,
}

/// A signing parameter the request lacks (error code `Missing<Name>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingParam {
    AccessKeyId,
    Signature,
    SignatureMethod,
    SignatureVersion,
    SignatureNonce,
    Timestamp,
}

impl MissingParam {
    pub fn name(self) -> &'static str {
        match self {
            MissingParam::AccessKeyId => "AccessKeyId",
            MissingParam::Signature => "Signature",
            MissingParam::SignatureMethod => "SignatureMethod",
            MissingParam::SignatureVersion => "SignatureVersion",
            MissingParam::SignatureNonce => "SignatureNonce",
            MissingParam::Timestamp => "Timestamp",
        }
    }

    fn code(self) -> &'static str {
        match self {
            MissingParam::AccessKeyId => "MissingAccessKeyId",
            MissingParam::Signature => "MissingSignature",
            MissingParam::SignatureMethod => "MissingSignatureMethod",
            MissingParam::SignatureVersion => "MissingSignatureVersion",
            MissingParam::SignatureNonce => "MissingSignatureNonce",
            MissingParam::Timestamp => "MissingTimestamp",
        }
    }
}

/// Why a request's signature was not accepted. Messages never contain secret material (they
/// may quote short, client-chosen names such as a signature method).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// A signing parameter is absent. Code `Missing<Name>` (e.g. `MissingAccessKeyId`).
    #[error("{} is mandatory for this action.", .0.name())]
    Missing(MissingParam),
    /// The signature is structurally incomplete (e.g. a required header is not signed).
    /// Code `IncompleteSignature`.
    #[error("The request signature does not conform to Aliyun standards: {0}")]
    Incomplete(String),
    /// An unsupported algorithm, signature method, version or type. Code
    /// `InvalidSignatureMethod`.
    #[error("Specified signature method is not supported: {0}")]
    InvalidSignatureMethod(String),
    /// The recomputed signature differs. Code `SignatureDoesNotMatch`.
    #[error("Specified signature is not matched with our calculation.")]
    SignatureDoesNotMatch,
    /// `x-acs-content-sha256` is not the SHA-256 of the body. Code `SignatureDoesNotMatch`.
    #[error("Specified x-acs-content-sha256 is not matched with the request body.")]
    ContentSha256Mismatch,
    /// Code `InvalidTimeStamp.Format`.
    #[error("Specified time stamp or date value is not well formatted.")]
    InvalidTimeStampFormat,
    /// Outside the 15-minute window. Code `InvalidTimeStamp.Expired`.
    #[error("Specified time stamp or date value is expired.")]
    InvalidTimeStampExpired,
    /// Code `SignatureNonceUsed`.
    #[error("Specified signature nonce was used already.")]
    SignatureNonceUsed,
    /// A malformed or duplicated parameter. Code `InvalidParameter`.
    #[error("The specified parameter is not valid: {0}")]
    InvalidParameter(String),
}

impl SignatureError {
    /// The RAM/POP error code.
    pub fn code(&self) -> &'static str {
        match self {
            SignatureError::Missing(p) => p.code(),
            SignatureError::Incomplete(_) => "IncompleteSignature",
            SignatureError::InvalidSignatureMethod(_) => "InvalidSignatureMethod",
            SignatureError::SignatureDoesNotMatch | SignatureError::ContentSha256Mismatch => {
                "SignatureDoesNotMatch"
            }
            SignatureError::InvalidTimeStampFormat => "InvalidTimeStamp.Format",
            SignatureError::InvalidTimeStampExpired => "InvalidTimeStamp.Expired",
            SignatureError::SignatureNonceUsed => "SignatureNonceUsed",
            SignatureError::InvalidParameter(_) => "InvalidParameter",
        }
    }

    /// The HTTP status the gateway uses for this error (400 for all of them; spec §6.2).
    pub fn http_status(&self) -> u16 {
        400
    }
}

/// Checks that `timestamp` is within [`TIMESTAMP_WINDOW`] of `now`, either way.
pub fn check_timestamp(timestamp: Timestamp, now: Timestamp) -> Result<(), SignatureError> {
    if now.duration_since(timestamp).abs() <= TIMESTAMP_WINDOW {
        Ok(())
    } else {
        Err(SignatureError::InvalidTimeStampExpired)
    }
}

/// A parsed, not yet verified, signed request.
#[derive(Clone)]
pub struct SignedRequest {
    scheme: SignatureScheme,
    access_key_id: String,
    security_token: Option<String>,
    timestamp: Timestamp,
    nonce: String,
    action: Option<String>,
    version: Option<String>,
    params: Vec<(String, String)>,
    proof: Proof,
}

#[derive(Clone)]
enum Proof {
    Rpc {
        /// The spec string to sign first, then the credentials-python (`+`) variant if it
        /// differs.
        strings_to_sign: Vec<String>,
        /// Base64 as received.
        signature: String,
    },
    Acs3 {
        canonical_request: String,
        string_to_sign: String,
        /// Hex as received.
        signature: String,
    },
}

impl SignedRequest {
    /// Parses a request. `path` is the request path as received (still percent-encoded,
    /// without the query), `query` the raw query string (without `?`), `headers` every
    /// header as received (names in any case; repeated names are joined with `,`), `body`
    /// the raw body.
    ///
    /// A request with an `Authorization: ACS3-…` header is an ACS3 request; otherwise one
    /// carrying `Signature`/`SignatureMethod`/`AccessKeyId` parameters is RPC v1.
    ///
    /// ACS3 requires `host` among the headers: over HTTP/2 pass the `:authority` as `host`.
    /// The same call verifies ACS3 signatures carried in gRPC metadata: `method` `POST`,
    /// `path` the gRPC method path, `body` the message bytes exactly as received (a path
    /// other than `/` does not require `x-acs-action`/`x-acs-version`, and a
    /// `content-type: application/grpc…` header need not be signed). [`sign_grpc`] makes
    /// such signatures; `docs/grpc-authentication.md` is the wire contract.
    ///
    /// Parsing does all the canonicalization work, needs no secret and never reads a clock.
    pub fn parse<I, K, V>(
        method: &str,
        path: &str,
        query: &str,
        headers: I,
        body: &[u8],
    ) -> Result<SignedRequest, SignatureError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<[u8]>,
    {
        let headers = Headers::new(headers);
        let (query_params, params) = collect_params(query, &headers, body)?;
        let authorization = headers.get_str("authorization")?;
        if let Some(auth) = authorization.as_deref().map(str::trim)
            && auth.starts_with("ACS3-")
        {
            return acs3::parse(method, path, &query_params, params, &headers, auth, body);
        }
        let is_rpc = params.iter().any(|(k, _)| {
            matches!(
                k.as_str(),
                "Signature" | "SignatureMethod" | "SignatureVersion" | "AccessKeyId"
            )
        });
        if is_rpc {
            return rpc::parse(method, params);
        }
        match authorization {
            Some(auth) => {
                let scheme = auth.split_whitespace().next().unwrap_or_default();
                Err(SignatureError::InvalidSignatureMethod(short(scheme)))
            }
            None => Err(SignatureError::Missing(MissingParam::Signature)),
        }
    }

    /// Verifies the signature with the access key secret, in constant time.
    pub fn verify(&self, secret: &crate::Secret) -> Result<(), SignatureError> {
        use base64::Engine as _;
        use subtle::ConstantTimeEq;

        match &self.proof {
            Proof::Rpc {
                strings_to_sign,
                signature,
            } => {
                let provided = base64::engine::general_purpose::STANDARD
                    .decode(signature.trim())
                    .map_err(|_| SignatureError::SignatureDoesNotMatch)?;
                let mut key = zeroize::Zeroizing::new(Vec::with_capacity(secret.len() + 1));
                key.extend_from_slice(secret.expose());
                key.push(b'&');
                let mut matched = subtle::Choice::from(0);
                for string_to_sign in strings_to_sign {
                    let mut mac = Hmac::<Sha1>::new_from_slice(&key)
                        .map_err(|_| SignatureError::SignatureDoesNotMatch)?;
                    mac.update(string_to_sign.as_bytes());
                    matched |= mac.finalize().into_bytes().as_slice().ct_eq(&provided);
                }
                if bool::from(matched) {
                    Ok(())
                } else {
                    Err(SignatureError::SignatureDoesNotMatch)
                }
            }
            Proof::Acs3 {
                string_to_sign,
                signature,
                ..
            } => {
                let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose())
                    .map_err(|_| SignatureError::SignatureDoesNotMatch)?;
                mac.update(string_to_sign.as_bytes());
                let computed = encode::hex(&mac.finalize().into_bytes());
                let provided = signature.to_ascii_lowercase();
                if bool::from(computed.as_bytes().ct_eq(provided.as_bytes())) {
                    Ok(())
                } else {
                    Err(SignatureError::SignatureDoesNotMatch)
                }
            }
        }
    }

    /// Checks the request time against `now` (15-minute window, either way).
    pub fn check_timestamp(&self, now: Timestamp) -> Result<(), SignatureError> {
        check_timestamp(self.timestamp, now)
    }

    pub fn scheme(&self) -> SignatureScheme {
        self.scheme
    }

    /// `AccessKeyId` (RPC) or the `Credential` of the `Authorization` header (ACS3).
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// `SecurityToken` parameter (RPC) or `x-acs-security-token` header (ACS3).
    pub fn security_token(&self) -> Option<&str> {
        self.security_token.as_deref()
    }

    /// `Timestamp` (RPC) or `x-acs-date` (ACS3).
    pub fn timestamp(&self) -> Timestamp {
        self.timestamp
    }

    /// `SignatureNonce` (RPC) or `x-acs-signature-nonce` (ACS3).
    pub fn nonce(&self) -> &str {
        &self.nonce
    }

    /// `Action` parameter (RPC) or `x-acs-action` header (ACS3, falling back to a signed
    /// `Action` query parameter).
    pub fn action(&self) -> Option<&str> {
        self.action.as_deref()
    }

    /// `Version` parameter (RPC) or `x-acs-version` header (ACS3, same fallback).
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// Every request parameter (query and form body merged, decoded), except `Signature`.
    pub fn params(&self) -> &[(String, String)] {
        &self.params
    }

    /// One request parameter by exact name.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The string to sign the server computed (the spec variant for RPC). Contains no
    /// secret; useful in a `SignatureDoesNotMatch` response, as Alibaba's gateway does.
    pub fn string_to_sign(&self) -> &str {
        match &self.proof {
            Proof::Rpc {
                strings_to_sign, ..
            } => strings_to_sign
                .first()
                .map(String::as_str)
                .unwrap_or_default(),
            Proof::Acs3 { string_to_sign, .. } => string_to_sign,
        }
    }

    /// Every string to sign that is accepted (RPC: the spec one, then the
    /// credentials-python `+`-for-space one when it differs).
    pub fn strings_to_sign(&self) -> Vec<&str> {
        match &self.proof {
            Proof::Rpc {
                strings_to_sign, ..
            } => strings_to_sign.iter().map(String::as_str).collect(),
            Proof::Acs3 { string_to_sign, .. } => vec![string_to_sign.as_str()],
        }
    }

    /// The ACS3 canonical request (None for RPC).
    pub fn canonical_request(&self) -> Option<&str> {
        match &self.proof {
            Proof::Rpc { .. } => None,
            Proof::Acs3 {
                canonical_request, ..
            } => Some(canonical_request),
        }
    }
}

impl fmt::Debug for SignedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedRequest")
            .field("scheme", &self.scheme)
            .field("access_key_id", &self.access_key_id)
            .field(
                "security_token",
                &self.security_token.as_ref().map(|_| "<redacted>"),
            )
            .field("timestamp", &self.timestamp)
            .field("nonce", &self.nonce)
            .field("action", &self.action)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// Headers with lower-cased names, in arrival order.
struct Headers(Vec<(String, Vec<u8>)>);

impl Headers {
    fn new<I, K, V>(headers: I) -> Headers
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<[u8]>,
    {
        Headers(
            headers
                .into_iter()
                .map(|(k, v)| (k.as_ref().to_ascii_lowercase(), v.as_ref().to_vec()))
                .collect(),
        )
    }

    fn contains(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }

    /// Every value of `name`, each trimmed, joined with `,`; None if absent.
    fn get_str(&self, name: &str) -> Result<Option<String>, SignatureError> {
        let mut joined: Option<String> = None;
        for (_, value) in self.0.iter().filter(|(k, _)| k == name) {
            let value = std::str::from_utf8(value).map_err(|_| {
                SignatureError::InvalidParameter(format!(
                    "header {} is not valid UTF-8",
                    short(name)
                ))
            })?;
            let value = value.trim();
            match &mut joined {
                Some(s) => {
                    s.push(',');
                    s.push_str(value);
                }
                None => joined = Some(value.to_owned()),
            }
        }
        Ok(joined)
    }

    /// `content-type: application/grpc`, `application/grpc+proto`, `application/grpc;…`.
    fn is_grpc(&self) -> bool {
        const GRPC: &[u8] = b"application/grpc";
        self.0.iter().any(|(k, v)| {
            k == "content-type"
                && v.len() >= GRPC.len()
                && v[..GRPC.len()].eq_ignore_ascii_case(GRPC)
                && matches!(v.get(GRPC.len()), None | Some(b'+' | b';'))
        })
    }

    fn is_form(&self) -> bool {
        self.0.iter().any(|(k, v)| {
            k == "content-type"
                && v.len() >= 33
                && v[..33].eq_ignore_ascii_case(b"application/x-www-form-urlencoded")
        })
    }
}

/// The parameters of an unsigned request (Alibaba's anonymous operations,
/// `AssumeRoleWithOIDC`): the query string's, then an `application/x-www-form-urlencoded`
/// body's, as [`SignedRequest::parse`] reads them; a name given twice is rejected.
pub fn request_params<I, K, V>(
    query: &str,
    headers: I,
    body: &[u8],
) -> Result<Vec<(String, String)>, SignatureError>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<[u8]>,
{
    collect_params(query, &Headers::new(headers), body).map(|(_, all)| all)
}

/// The query's parameters, and all parameters (query then form body).
type Collected = (Vec<(String, String)>, Vec<(String, String)>);

fn collect_params(
    query: &str,
    headers: &Headers,
    body: &[u8],
) -> Result<Collected, SignatureError> {
    let query_params = encode::parse_form(query)?;
    let form_params = if headers.is_form() && !body.is_empty() {
        let text = std::str::from_utf8(body).map_err(|_| {
            SignatureError::InvalidParameter("the form body is not valid UTF-8".into())
        })?;
        encode::parse_form(text)?
    } else {
        Vec::new()
    };
    let all = merge(&query_params, form_params)?;
    Ok((query_params, all))
}

/// Query parameters followed by form parameters; a name given twice is rejected.
fn merge(
    query: &[(String, String)],
    form: Vec<(String, String)>,
) -> Result<Vec<(String, String)>, SignatureError> {
    let mut all: Vec<(String, String)> = query.to_vec();
    all.extend(form);
    let mut names: Vec<&str> = all.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(SignatureError::InvalidParameter(format!(
            "parameter {} is given more than once",
            short(w[0])
        )));
    }
    Ok(all)
}

/// Parses `Timestamp` / `x-acs-date`: `YYYY-MM-DDTHH:MM:SSZ`, optionally with a fraction of
/// a second before the `Z`.
fn parse_request_time(s: &str) -> Result<Timestamp, SignatureError> {
    if let Some(t) = expiration::parse_expiration(s) {
        return Ok(t);
    }
    let fraction_ok = s.len() > 21
        && s.ends_with('Z')
        && s.as_bytes().get(19) == Some(&b'.')
        && s[20..s.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && s.len() <= 30;
    if fraction_ok {
        let whole = format!("{}Z", &s[..19]);
        if expiration::parse_expiration(&whole).is_some()
            && let Ok(t) = s.parse::<Timestamp>()
        {
            return Ok(t);
        }
    }
    Err(SignatureError::InvalidTimeStampFormat)
}

fn check_nonce(nonce: &str) -> Result<(), SignatureError> {
    if nonce.len() > MAX_NONCE_LEN {
        return Err(SignatureError::InvalidParameter(
            "the signature nonce is too long".into(),
        ));
    }
    Ok(())
}

/// A client-chosen name, shortened for an error message.
fn short(s: &str) -> String {
    s.chars().take(64).collect()
}

/// Percent-encodes like the SDKs (for tests elsewhere in the crate that build requests).
#[cfg(test)]
pub(crate) fn encode_for_tests(s: &str) -> String {
    encode::percent_encode(s)
}

#[cfg(test)]
mod tests;
