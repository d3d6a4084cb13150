//! RPC signature v1 (HMAC-SHA1): rebuilding the string to sign from the parameters.

use super::encode::{percent_encode, percent_encode_plus};
use super::{
    MissingParam, Proof, SignatureError, SignatureScheme, SignedRequest, check_nonce,
    parse_request_time, short,
};

/// Builds the [`SignedRequest`] of an RPC v1 request from its merged parameters.
pub(super) fn parse(
    method: &str,
    mut params: Vec<(String, String)>,
) -> Result<SignedRequest, SignatureError> {
    let signature = match params.iter().position(|(k, _)| k == "Signature") {
        Some(i) => params.remove(i).1,
        None => return Err(SignatureError::Missing(MissingParam::Signature)),
    };
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let required = |name: MissingParam| match get(name.name()) {
        Some(v) if !v.is_empty() => Ok(v.to_owned()),
        _ => Err(SignatureError::Missing(name)),
    };

    let sig_method = required(MissingParam::SignatureMethod)?;
    if sig_method != "HMAC-SHA1" {
        return Err(SignatureError::InvalidSignatureMethod(short(&sig_method)));
    }
    let sig_version = required(MissingParam::SignatureVersion)?;
    if sig_version != "1.0" {
        return Err(SignatureError::InvalidSignatureMethod(format!(
            "SignatureVersion {}",
            short(&sig_version)
        )));
    }
    // The Go SDK always sends `SignatureType=` (empty); a value selects another mode
    // (e.g. BEARERTOKEN), which is not supported.
    if let Some(kind) = get("SignatureType")
        && !kind.is_empty()
    {
        return Err(SignatureError::InvalidSignatureMethod(format!(
            "SignatureType {}",
            short(kind)
        )));
    }
    let access_key_id = required(MissingParam::AccessKeyId)?;
    let timestamp = parse_request_time(&required(MissingParam::Timestamp)?)?;
    let nonce = required(MissingParam::SignatureNonce)?;
    check_nonce(&nonce)?;
    let security_token = get("SecurityToken")
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    let action = get("Action").map(str::to_owned);
    let version = get("Version").map(str::to_owned);

    let mut sorted: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    sorted.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let spec = string_to_sign(method, &sorted, percent_encode);
    let mut strings_to_sign = vec![spec];
    if sorted
        .iter()
        .any(|(k, v)| k.contains(' ') || v.contains(' '))
    {
        strings_to_sign.push(string_to_sign(method, &sorted, percent_encode_plus));
    }

    Ok(SignedRequest {
        scheme: SignatureScheme::RpcV1,
        access_key_id,
        security_token,
        timestamp,
        nonce,
        action,
        version,
        params,
        proof: Proof::Rpc {
            strings_to_sign,
            signature,
        },
    })
}

/// `METHOD&%2F&percentEncode(k1=v1&k2=v2…)`, names and values encoded with `encode`.
pub(super) fn string_to_sign(
    method: &str,
    sorted: &[(&str, &str)],
    encode: fn(&str) -> String,
) -> String {
    let mut canonical = String::new();
    for (i, (k, v)) in sorted.iter().enumerate() {
        if i > 0 {
            canonical.push('&');
        }
        canonical.push_str(&encode(k));
        canonical.push('=');
        canonical.push_str(&encode(v));
    }
    format!("{method}&%2F&{}", percent_encode(&canonical))
}
