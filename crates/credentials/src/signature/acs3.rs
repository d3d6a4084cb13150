//! ACS3-HMAC-SHA256: parsing the `Authorization` header and rebuilding the canonical request.

use sha2::{Digest, Sha256};

use super::encode::{hex, percent_encode};
use super::{
    Headers, MissingParam, Proof, SignatureError, SignatureScheme, SignedRequest, check_nonce,
    parse_request_time, short,
};

/// The only ACS3 algorithm accepted.
pub(super) const ALGORITHM: &str = "ACS3-HMAC-SHA256";

/// Headers that must always be signed.
const ALWAYS_SIGNED: [&str; 4] = [
    "host",
    "x-acs-date",
    "x-acs-signature-nonce",
    "x-acs-content-sha256",
];

/// Headers that must be signed when present (and, for an RPC-style call on `/`, the first
/// two must be present).
const SIGNED_IF_PRESENT: [&str; 3] = ["x-acs-action", "x-acs-version", "x-acs-security-token"];

fn incomplete(msg: impl Into<String>) -> SignatureError {
    SignatureError::Incomplete(msg.into())
}

/// Builds the [`SignedRequest`] of an ACS3 request. `auth` is the trimmed `Authorization`
/// header, known to start with `ACS3-`.
pub(super) fn parse(
    method: &str,
    path: &str,
    query_params: &[(String, String)],
    params: Vec<(String, String)>,
    headers: &Headers,
    auth: &str,
    body: &[u8],
) -> Result<SignedRequest, SignatureError> {
    let (algorithm, fields) = auth
        .split_once(|c: char| c.is_ascii_whitespace())
        .unwrap_or((auth, ""));
    if algorithm != ALGORITHM {
        return Err(SignatureError::InvalidSignatureMethod(short(algorithm)));
    }

    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for field in fields.split(',').map(str::trim).filter(|f| !f.is_empty()) {
        let (name, value) = field
            .split_once('=')
            .ok_or_else(|| incomplete("malformed Authorization header"))?;
        let slot = match name.trim() {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => return Err(incomplete("unknown field in the Authorization header")),
        };
        if slot.replace(value.trim()).is_some() {
            return Err(incomplete("repeated field in the Authorization header"));
        }
    }
    let access_key_id = match credential {
        Some(c) if !c.is_empty() => c.to_owned(),
        _ => return Err(SignatureError::Missing(MissingParam::AccessKeyId)),
    };
    let signature = match signature {
        Some(s) if !s.is_empty() => s.to_owned(),
        _ => return Err(SignatureError::Missing(MissingParam::Signature)),
    };
    let signed_headers = signed_headers
        .ok_or_else(|| incomplete("the Authorization header has no SignedHeaders"))?;

    // The signed header names, as listed (the SDKs list them sorted).
    let mut names: Vec<&str> = Vec::new();
    for name in signed_headers.split(';') {
        if name.is_empty() || name.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(incomplete(
                "SignedHeaders must list non-empty, lower-case header names",
            ));
        }
        if names.contains(&name) {
            return Err(incomplete(format!(
                "header {} is listed twice in SignedHeaders",
                short(name)
            )));
        }
        names.push(name);
    }
    let rpc_style = path.is_empty() || path == "/";
    for required in ALWAYS_SIGNED {
        if !names.contains(&required) {
            return Err(incomplete(format!("header {required} must be signed")));
        }
    }
    for required in SIGNED_IF_PRESENT {
        let present = headers.contains(required);
        if rpc_style && !present && required != "x-acs-security-token" {
            return Err(incomplete(format!("header {required} is required")));
        }
        if present && !names.contains(&required) {
            return Err(incomplete(format!("header {required} must be signed")));
        }
    }
    // gRPC's `content-type: application/grpc…` is fixed by the protocol and need not be
    // signed (a gRPC method path is never `/`).
    let grpc = !rpc_style && headers.is_grpc();
    if !body.is_empty()
        && headers.contains("content-type")
        && !names.contains(&"content-type")
        && !grpc
    {
        return Err(incomplete("header content-type must be signed"));
    }

    // Canonical headers: `name:trimmed value\n` for each signed header, in listed order.
    let mut canonical_headers = String::new();
    let mut signed_values: Vec<(&str, String)> = Vec::with_capacity(names.len());
    for name in &names {
        let value = headers.get_str(name)?.ok_or_else(|| {
            incomplete(format!(
                "signed header {} is absent from the request",
                short(name)
            ))
        })?;
        canonical_headers.push_str(name);
        canonical_headers.push(':');
        canonical_headers.push_str(&value);
        canonical_headers.push('\n');
        signed_values.push((name, value));
    }
    let header = |name: &str| {
        signed_values
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    };

    let content_sha256 = header("x-acs-content-sha256").unwrap_or_default();
    let body_sha256 = hex(&Sha256::digest(body));
    if !content_sha256.eq_ignore_ascii_case(&body_sha256) {
        return Err(SignatureError::ContentSha256Mismatch);
    }
    let timestamp = parse_request_time(header("x-acs-date").unwrap_or_default())?;
    let nonce = header("x-acs-signature-nonce")
        .unwrap_or_default()
        .to_owned();
    if nonce.is_empty() {
        return Err(SignatureError::Missing(MissingParam::SignatureNonce));
    }
    check_nonce(&nonce)?;
    if let Some(id) = header("x-acs-accesskey-id")
        && id != access_key_id
    {
        return Err(incomplete("x-acs-accesskey-id differs from the Credential"));
    }
    let param = |name: &str| {
        query_params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let security_token = header("x-acs-security-token")
        .map(str::to_owned)
        .or_else(|| param("SecurityToken"))
        .filter(|t| !t.is_empty());
    let action = header("x-acs-action")
        .map(str::to_owned)
        .or_else(|| param("Action"));
    let version = header("x-acs-version")
        .map(str::to_owned)
        .or_else(|| param("Version"));

    let canonical_request = format!(
        "{method}\n{uri}\n{query}\n{canonical_headers}\n{signed_headers}\n{content_sha256}",
        uri = if path.is_empty() { "/" } else { path },
        query = canonical_query(query_params),
    );
    let string_to_sign = format!(
        "{ALGORITHM}\n{}",
        hex(&Sha256::digest(canonical_request.as_bytes()))
    );

    Ok(SignedRequest {
        scheme: SignatureScheme::Acs3HmacSha256,
        access_key_id,
        security_token,
        timestamp,
        nonce,
        action,
        version,
        params,
        proof: Proof::Acs3 {
            canonical_request,
            string_to_sign,
            signature,
        },
    })
}

/// Sorted by name, names and values RFC 3986-encoded, `k=v` joined by `&`.
pub(super) fn canonical_query(params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut out = String::new();
    for (i, (k, v)) in sorted.into_iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(&percent_encode(k));
        out.push('=');
        out.push_str(&percent_encode(v));
    }
    out
}
