use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::encode::{hex, percent_encode};
use super::*;
use crate::Secret;

const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn hmac_sha1_b64(key: &[u8], msg: &str) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(key).unwrap();
    mac.update(msg.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

fn hmac_sha256_hex(key: &[u8], msg: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(msg.as_bytes());
    hex(&mac.finalize().into_bytes())
}

fn query_of(params: &[(&str, &str)]) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

type OwnedHeaders = Vec<(String, String)>;

fn headers_of(h: &[(&str, &str)]) -> OwnedHeaders {
    h.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn parse(
    method: &str,
    path: &str,
    query: &str,
    headers: &OwnedHeaders,
    body: &[u8],
) -> Result<SignedRequest, SignatureError> {
    SignedRequest::parse(
        method,
        path,
        query,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        body,
    )
}

// ---------------------------------------------------------------- RPC v1

/// The RAM documentation's example (spec §6.1): GET, key `testid`, secret `testsecret`.
const RAM_DOC_PARAMS: &[(&str, &str)] = &[
    ("AccessKeyId", "testid"),
    ("Action", "CreateUser"),
    ("Format", "JSON"),
    ("SignatureMethod", "HMAC-SHA1"),
    ("SignatureNonce", "6a6e0ca6-4557-11e5-86a2-b8e8563dc8d2"),
    ("SignatureVersion", "1.0"),
    ("Timestamp", "2015-08-18T03:15:45Z"),
    ("UserName", "test"),
    ("Version", "2015-05-01"),
];
const RAM_DOC_STRING_TO_SIGN: &str = "GET&%2F&AccessKeyId%3Dtestid%26Action%3DCreateUser%26Format%3DJSON%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D6a6e0ca6-4557-11e5-86a2-b8e8563dc8d2%26SignatureVersion%3D1.0%26Timestamp%3D2015-08-18T03%253A15%253A45Z%26UserName%3Dtest%26Version%3D2015-05-01";

/// Signs `params` as the SDKs do; returns the full query (with `Signature`).
fn signed_rpc_query(method: &str, params: &[(&str, &str)], secret: &str) -> String {
    let unsigned = format!("{}&Signature=x", query_of(params));
    let req = parse(method, "/", &unsigned, &vec![], b"").unwrap();
    let sig = hmac_sha1_b64(format!("{secret}&").as_bytes(), req.string_to_sign());
    format!("{}&Signature={}", query_of(params), percent_encode(&sig))
}

#[test]
fn rpc_ram_documentation_vector() {
    let query = format!(
        "{}&Signature={}",
        query_of(RAM_DOC_PARAMS),
        percent_encode("kRA2cnpJVacIhDMzXnoNZG9tDCI=")
    );
    let req = parse("GET", "/", &query, &vec![], b"").unwrap();
    assert_eq!(req.scheme(), SignatureScheme::RpcV1);
    assert_eq!(req.string_to_sign(), RAM_DOC_STRING_TO_SIGN);
    assert_eq!(req.strings_to_sign(), vec![RAM_DOC_STRING_TO_SIGN]);
    assert_eq!(req.access_key_id(), "testid");
    assert_eq!(req.action(), Some("CreateUser"));
    assert_eq!(req.version(), Some("2015-05-01"));
    assert_eq!(req.nonce(), "6a6e0ca6-4557-11e5-86a2-b8e8563dc8d2");
    assert_eq!(req.timestamp().to_string(), "2015-08-18T03:15:45Z");
    assert_eq!(req.security_token(), None);
    assert_eq!(req.param("UserName"), Some("test"));
    assert_eq!(req.param("Signature"), None);
    assert_eq!(req.canonical_request(), None);
    assert_eq!(req.verify(&Secret::from("testsecret")), Ok(()));
    let err = req.verify(&Secret::from("testsecreT")).unwrap_err();
    assert_eq!(err, SignatureError::SignatureDoesNotMatch);
    assert_eq!(err.code(), "SignatureDoesNotMatch");
    assert_eq!(err.http_status(), 400);
    // Our own signer reproduces the documented signature.
    assert!(
        signed_rpc_query("GET", RAM_DOC_PARAMS, "testsecret").ends_with(&format!(
            "Signature={}",
            percent_encode("kRA2cnpJVacIhDMzXnoNZG9tDCI=")
        ))
    );
}

#[test]
fn rpc_tampering_with_any_parameter_fails() {
    let secret = Secret::from("testsecret");
    let good = signed_rpc_query("POST", RAM_DOC_PARAMS, "testsecret");
    assert_eq!(
        parse("POST", "/", &good, &vec![], b"")
            .unwrap()
            .verify(&secret),
        Ok(())
    );
    // Another HTTP method.
    assert_eq!(
        parse("GET", "/", &good, &vec![], b"")
            .unwrap()
            .verify(&secret),
        Err(SignatureError::SignatureDoesNotMatch)
    );
    for (i, (name, _)) in RAM_DOC_PARAMS.iter().enumerate() {
        // Change one value.
        let mut params = RAM_DOC_PARAMS.to_vec();
        let changed = if *name == "Timestamp" {
            "2015-08-18T03:15:46Z"
        } else {
            "other"
        };
        params[i].1 = changed;
        let sig = good.rsplit_once("&Signature=").unwrap().1;
        let query = format!("{}&Signature={sig}", query_of(&params));
        match parse("POST", "/", &query, &vec![], b"") {
            Ok(req) => assert_eq!(
                req.verify(&secret),
                Err(SignatureError::SignatureDoesNotMatch),
                "{name}"
            ),
            // Changing a signing parameter's value may be refused before verification.
            Err(e) => assert!(
                matches!(e, SignatureError::InvalidSignatureMethod(_)),
                "{name}: {e:?}"
            ),
        }
    }
    // An extra parameter.
    let extra = format!("{good}&RegionId=cn-hangzhou");
    assert_eq!(
        parse("POST", "/", &extra, &vec![], b"")
            .unwrap()
            .verify(&secret),
        Err(SignatureError::SignatureDoesNotMatch)
    );
    // A removed (non-required) parameter.
    let removed = good.replace("&UserName=test", "");
    assert_eq!(
        parse("POST", "/", &removed, &vec![], b"")
            .unwrap()
            .verify(&secret),
        Err(SignatureError::SignatureDoesNotMatch)
    );
    // A signature that is not base64.
    let garbage = format!("{}&Signature=%%%", query_of(RAM_DOC_PARAMS));
    assert_eq!(
        parse("POST", "/", &garbage, &vec![], b"")
            .unwrap()
            .verify(&secret),
        Err(SignatureError::SignatureDoesNotMatch)
    );
}

#[test]
fn rpc_parameters_may_travel_in_a_form_body() {
    let secret = Secret::from("testsecret");
    let good = signed_rpc_query("POST", RAM_DOC_PARAMS, "testsecret");
    // Move UserName and Action to a form body (as the Go SDK does for API parameters).
    let query = good
        .replace("&UserName=test", "")
        .replace("&Action=CreateUser", "");
    let body = b"UserName=test&Action=CreateUser";
    let form = headers_of(&[(
        "Content-Type",
        "application/x-www-form-urlencoded; charset=utf-8",
    )]);
    let req = parse("POST", "/", &query, &form, body).unwrap();
    assert_eq!(req.action(), Some("CreateUser"));
    assert_eq!(req.verify(&secret), Ok(()));
    // Without the form content type the body is not parameters.
    let req = parse("POST", "/", &query, &vec![], body).unwrap();
    assert_eq!(
        req.verify(&secret),
        Err(SignatureError::SignatureDoesNotMatch)
    );
    // A parameter given both in the query and the body is refused.
    let err = parse("POST", "/", &good, &form, b"UserName=test").unwrap_err();
    assert_eq!(err.code(), "InvalidParameter");
    let err = parse("POST", "/", &format!("{good}&UserName=x"), &vec![], b"").unwrap_err();
    assert_eq!(err.code(), "InvalidParameter");
}

#[test]
fn rpc_accepts_credentials_python_plus_for_space() {
    let mut params = RAM_DOC_PARAMS.to_vec();
    params.push(("Policy", r#"{"Version": "1"}"#));
    let req = parse(
        "GET",
        "/",
        &format!("{}&Signature=x", query_of(&params)),
        &vec![],
        b"",
    )
    .unwrap();
    let variants = req.strings_to_sign();
    assert_eq!(variants.len(), 2);
    assert!(variants[0].contains("%253A%2520%25221%2522"));
    assert!(variants[1].contains("%253A%2B%25221%2522"));
    for variant in variants {
        let sig = hmac_sha1_b64(b"testsecret&", variant);
        // credentials-python sends spaces as `+` in the query.
        let query = format!(
            "{}&Signature={}",
            query_of(&params).replace("%20", "+"),
            percent_encode(&sig)
        );
        let req = parse("GET", "/", &query, &vec![], b"").unwrap();
        assert_eq!(req.param("Policy"), Some(r#"{"Version": "1"}"#));
        assert_eq!(req.verify(&Secret::from("testsecret")), Ok(()));
        assert_eq!(
            req.verify(&Secret::from("other")),
            Err(SignatureError::SignatureDoesNotMatch)
        );
    }
}

#[test]
fn rpc_signing_parameters_are_checked() {
    let with = |name: &str, value: Option<&str>| {
        let mut params: Vec<(&str, &str)> = RAM_DOC_PARAMS
            .iter()
            .copied()
            .filter(|(k, _)| *k != name)
            .collect();
        if let Some(v) = value {
            params.push((name, v));
        }
        let query = format!("{}&Signature=abc%3D", query_of(&params));
        parse("GET", "/", &query, &vec![], b"")
            .map(|_| ())
            .unwrap_err()
    };
    let cases = [
        ("AccessKeyId", None, "MissingAccessKeyId"),
        ("AccessKeyId", Some(""), "MissingAccessKeyId"),
        ("SignatureMethod", None, "MissingSignatureMethod"),
        (
            "SignatureMethod",
            Some("HMAC-SHA256"),
            "InvalidSignatureMethod",
        ),
        ("SignatureVersion", None, "MissingSignatureVersion"),
        ("SignatureVersion", Some("2.0"), "InvalidSignatureMethod"),
        (
            "SignatureType",
            Some("BEARERTOKEN"),
            "InvalidSignatureMethod",
        ),
        ("SignatureNonce", None, "MissingSignatureNonce"),
        ("Timestamp", None, "MissingTimestamp"),
        (
            "Timestamp",
            Some("2015-08-18 03:15:45"),
            "InvalidTimeStamp.Format",
        ),
        ("Timestamp", Some("1439867745"), "InvalidTimeStamp.Format"),
        (
            "Timestamp",
            Some("2015-08-18T03:15:45+08:00"),
            "InvalidTimeStamp.Format",
        ),
    ];
    for (name, value, code) in cases {
        assert_eq!(with(name, value).code(), code, "{name}={value:?}");
    }
    let long_nonce = "n".repeat(MAX_NONCE_LEN + 1);
    assert_eq!(
        with("SignatureNonce", Some(&long_nonce)).code(),
        "InvalidParameter"
    );
    // The Go SDK's empty SignatureType is fine; so is a fractional timestamp.
    let mut params = RAM_DOC_PARAMS.to_vec();
    params.push(("SignatureType", ""));
    params[6].1 = "2015-08-18T03:15:45.123Z";
    let query = format!("{}&Signature=abc%3D", query_of(&params));
    let req = parse("GET", "/", &query, &vec![], b"").unwrap();
    assert_eq!(req.timestamp().to_string(), "2015-08-18T03:15:45.123Z");
    // No signature at all.
    let query = query_of(RAM_DOC_PARAMS);
    let err = parse("GET", "/", &query, &vec![], b"").unwrap_err();
    assert_eq!(err.code(), "MissingSignature");
    let err = parse("GET", "/", "Action=GetCallerIdentity", &vec![], b"").unwrap_err();
    assert_eq!(err.code(), "MissingSignature");
    let bearer = headers_of(&[("Authorization", "Bearer abc.def.ghi")]);
    let err = parse("GET", "/", "Action=GetCallerIdentity", &bearer, b"").unwrap_err();
    assert_eq!(err, SignatureError::InvalidSignatureMethod("Bearer".into()));
}

#[test]
fn rpc_security_token_and_timestamp_window() {
    let mut params = RAM_DOC_PARAMS.to_vec();
    params.push(("SecurityToken", "tok+/="));
    let query = signed_rpc_query("POST", &params, "testsecret");
    let req = parse("POST", "/", &query, &vec![], b"").unwrap();
    assert_eq!(req.security_token(), Some("tok+/="));
    assert_eq!(req.verify(&Secret::from("testsecret")), Ok(()));
    let debug = format!("{req:?}");
    assert!(!debug.contains("tok+/="), "{debug}");
    assert!(debug.contains("<redacted>"));

    let at = |s: &str| s.parse::<Timestamp>().unwrap();
    assert_eq!(req.check_timestamp(at("2015-08-18T03:30:45Z")), Ok(()));
    assert_eq!(req.check_timestamp(at("2015-08-18T03:00:45Z")), Ok(()));
    assert_eq!(
        req.check_timestamp(at("2015-08-18T03:30:46Z")),
        Err(SignatureError::InvalidTimeStampExpired)
    );
    let err = req.check_timestamp(at("2015-08-18T03:00:44Z")).unwrap_err();
    assert_eq!(err.code(), "InvalidTimeStamp.Expired");
}

// ---------------------------------------------------------------- ACS3-HMAC-SHA256

/// The spec §6.3 vector, computed with tea-openapi's own functions.
const V3_QUERY: &str = "DurationSeconds=3600&RoleArn=acs%3Aram%3A%3A123456789012%3Arole%2Ftestrole&RoleSessionName=alice";
const V3_SIGNED: &str =
    "accept;host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version";
const V3_SIGNATURE: &str = "41e8a9e0b76245d5c19584cc47055d6bcd4ffd711902fe342f74817935774ade";
const V3_CANONICAL: &str = "POST
/
DurationSeconds=3600&RoleArn=acs%3Aram%3A%3A123456789012%3Arole%2Ftestrole&RoleSessionName=alice
accept:application/json
host:sts.aliyuncs.com
x-acs-action:AssumeRole
x-acs-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
x-acs-date:2023-10-26T09:01:01Z
x-acs-signature-nonce:d410180a5abf7fe235dd9b74aca91fc0
x-acs-version:2015-04-01

accept;host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn v3_headers(signature: &str) -> OwnedHeaders {
    headers_of(&[
        ("accept", "application/json"),
        ("host", "sts.aliyuncs.com"),
        ("x-acs-action", "AssumeRole"),
        ("x-acs-content-sha256", EMPTY_SHA256),
        ("x-acs-date", "2023-10-26T09:01:01Z"),
        ("x-acs-signature-nonce", "d410180a5abf7fe235dd9b74aca91fc0"),
        ("x-acs-version", "2015-04-01"),
        (
            "Authorization",
            &format!(
                "ACS3-HMAC-SHA256 Credential=testid,SignedHeaders={V3_SIGNED},Signature={signature}"
            ),
        ),
    ])
}

fn set_header(headers: &mut OwnedHeaders, name: &str, value: &str) {
    match headers
        .iter_mut()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
    {
        Some(h) => h.1 = value.to_owned(),
        None => headers.push((name.to_owned(), value.to_owned())),
    }
}

/// Re-signs an ACS3 request with `secret` (replacing the Authorization signature).
fn resign(
    method: &str,
    path: &str,
    query: &str,
    headers: &mut OwnedHeaders,
    body: &[u8],
    secret: &str,
) {
    let req = parse(method, path, query, headers, body).unwrap();
    let sig = hmac_sha256_hex(secret.as_bytes(), req.string_to_sign());
    let auth = headers
        .iter_mut()
        .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        .unwrap();
    let prefix = auth.1.rsplit_once("Signature=").unwrap().0.to_owned();
    auth.1 = format!("{prefix}Signature={sig}");
}

#[test]
fn acs3_specification_vector() {
    let req = parse("POST", "/", V3_QUERY, &v3_headers(V3_SIGNATURE), b"").unwrap();
    assert_eq!(req.scheme(), SignatureScheme::Acs3HmacSha256);
    assert_eq!(req.canonical_request(), Some(V3_CANONICAL));
    assert_eq!(
        hex(&Sha256::digest(V3_CANONICAL.as_bytes())),
        "ba4680bc1f323f1f1409afb6f0bfeb7cde306cd17cbad3989f798f759c452114"
    );
    assert_eq!(
        req.string_to_sign(),
        "ACS3-HMAC-SHA256\nba4680bc1f323f1f1409afb6f0bfeb7cde306cd17cbad3989f798f759c452114"
    );
    assert_eq!(req.access_key_id(), "testid");
    assert_eq!(req.action(), Some("AssumeRole"));
    assert_eq!(req.version(), Some("2015-04-01"));
    assert_eq!(req.nonce(), "d410180a5abf7fe235dd9b74aca91fc0");
    assert_eq!(req.timestamp().to_string(), "2023-10-26T09:01:01Z");
    assert_eq!(
        req.param("RoleArn"),
        Some("acs:ram::123456789012:role/testrole")
    );
    assert_eq!(req.verify(&Secret::from("testsecret")), Ok(()));
    assert_eq!(
        req.verify(&Secret::from("testsecret ")),
        Err(SignatureError::SignatureDoesNotMatch)
    );
    // Upper-case hex is accepted too.
    let upper = parse(
        "POST",
        "/",
        V3_QUERY,
        &v3_headers(&V3_SIGNATURE.to_ascii_uppercase()),
        b"",
    )
    .unwrap();
    assert_eq!(upper.verify(&Secret::from("testsecret")), Ok(()));
}

#[test]
fn acs3_tampering_with_signed_parts_fails() {
    let secret = Secret::from("testsecret");
    let check = |method: &str, path: &str, query: &str, headers: &OwnedHeaders, body: &[u8]| {
        parse(method, path, query, headers, body).and_then(|r| r.verify(&secret))
    };
    let good = v3_headers(V3_SIGNATURE);
    assert_eq!(check("POST", "/", V3_QUERY, &good, b""), Ok(()));

    for name in V3_SIGNED.split(';') {
        let mut headers = good.clone();
        let value = match name {
            "x-acs-date" => "2023-10-26T09:01:02Z",
            "x-acs-content-sha256" => "00",
            _ => "tampered",
        };
        set_header(&mut headers, name, value);
        let expected = if name == "x-acs-content-sha256" {
            SignatureError::ContentSha256Mismatch
        } else {
            SignatureError::SignatureDoesNotMatch
        };
        assert_eq!(
            check("POST", "/", V3_QUERY, &headers, b""),
            Err(expected),
            "{name}"
        );
    }
    // Query: changed value, extra parameter, removed parameter.
    for query in [
        V3_QUERY.replace("alice", "bob"),
        format!("{V3_QUERY}&Policy=x"),
        V3_QUERY.replace("&RoleSessionName=alice", ""),
    ] {
        assert_eq!(
            check("POST", "/", &query, &good, b""),
            Err(SignatureError::SignatureDoesNotMatch),
            "{query}"
        );
    }
    // Method and path.
    assert_eq!(
        check("GET", "/", V3_QUERY, &good, b""),
        Err(SignatureError::SignatureDoesNotMatch)
    );
    assert_eq!(
        check("POST", "/other", V3_QUERY, &good, b""),
        Err(SignatureError::SignatureDoesNotMatch)
    );
    // A body that the content hash does not cover.
    assert_eq!(
        check("POST", "/", V3_QUERY, &good, b"RoleSessionName=mallory"),
        Err(SignatureError::ContentSha256Mismatch)
    );
    // Another Credential: the key id is not in the string to sign (the secret binds it),
    // so the server looks up that key's secret, which does not match.
    let other: OwnedHeaders = good
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.replace("Credential=testid", "Credential=testid2"),
            )
        })
        .collect();
    let req = parse("POST", "/", V3_QUERY, &other, b"").unwrap();
    assert_eq!(req.access_key_id(), "testid2");
    assert_eq!(
        req.verify(&Secret::from("secret-of-testid2")),
        Err(SignatureError::SignatureDoesNotMatch)
    );
}

#[test]
fn acs3_unsigned_headers_do_not_matter() {
    let secret = Secret::from("testsecret");
    let mut headers = v3_headers(V3_SIGNATURE);
    headers.push(("User-Agent".into(), "AlibabaCloud (something else)".into()));
    headers.push(("X-Forwarded-For".into(), "10.0.0.1".into()));
    headers.push(("x-acs-credentials-provider".into(), "static_ak".into()));
    headers.push(("Accept-Encoding".into(), "identity".into()));
    // Header names in any case, values with surrounding whitespace.
    set_header(&mut headers, "host", "  sts.aliyuncs.com ");
    for h in &mut headers {
        if h.0 == "accept" {
            h.0 = "Accept".into();
        }
    }
    let req = parse("POST", "/", V3_QUERY, &headers, b"").unwrap();
    assert_eq!(req.verify(&secret), Ok(()));
}

#[test]
fn acs3_required_headers_must_be_signed() {
    let drop_signed = |name: &str| {
        let list: Vec<&str> = V3_SIGNED.split(';').filter(|h| *h != name).collect();
        let mut headers = v3_headers("00");
        let auth = format!(
            "ACS3-HMAC-SHA256 Credential=testid,SignedHeaders={},Signature=00",
            list.join(";")
        );
        set_header(&mut headers, "Authorization", &auth);
        parse("POST", "/", V3_QUERY, &headers, b"").unwrap_err()
    };
    for name in [
        "host",
        "x-acs-date",
        "x-acs-signature-nonce",
        "x-acs-content-sha256",
        "x-acs-action",
        "x-acs-version",
    ] {
        let err = drop_signed(name);
        assert_eq!(err.code(), "IncompleteSignature", "{name}");
        assert!(err.to_string().contains(name), "{err}");
    }
    // `accept` is not required.
    let mut headers = v3_headers("00");
    set_header(
        &mut headers,
        "Authorization",
        "ACS3-HMAC-SHA256 Credential=testid,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=00",
    );
    resign("POST", "/", V3_QUERY, &mut headers, b"", "testsecret");
    let req = parse("POST", "/", V3_QUERY, &headers, b"").unwrap();
    assert_eq!(req.verify(&Secret::from("testsecret")), Ok(()));

    // A security token must be signed when present.
    let mut headers = v3_headers("00");
    headers.push(("x-acs-security-token".into(), "tok".into()));
    assert_eq!(
        parse("POST", "/", V3_QUERY, &headers, b"")
            .unwrap_err()
            .code(),
        "IncompleteSignature"
    );
    set_header(
        &mut headers,
        "Authorization",
        &format!(
            "ACS3-HMAC-SHA256 Credential=testid,SignedHeaders={V3_SIGNED};x-acs-security-token,Signature=00"
        ),
    );
    resign("POST", "/", V3_QUERY, &mut headers, b"", "testsecret");
    let req = parse("POST", "/", V3_QUERY, &headers, b"").unwrap();
    assert_eq!(req.security_token(), Some("tok"));
    assert_eq!(req.verify(&Secret::from("testsecret")), Ok(()));

    // RPC-style calls need x-acs-action and x-acs-version.
    let mut headers = v3_headers("00");
    headers.retain(|(k, _)| k != "x-acs-action");
    assert_eq!(
        parse("POST", "/", V3_QUERY, &headers, b"")
            .unwrap_err()
            .code(),
        "IncompleteSignature"
    );
    // A signed header must be present.
    let mut headers = v3_headers("00");
    headers.retain(|(k, _)| k != "accept");
    let err = parse("POST", "/", V3_QUERY, &headers, b"").unwrap_err();
    assert_eq!(err.code(), "IncompleteSignature");
    assert!(err.to_string().contains("accept"));
    // x-acs-accesskey-id must agree with the Credential.
    let mut headers = v3_headers("00");
    headers.push(("x-acs-accesskey-id".into(), "someone-else".into()));
    set_header(
        &mut headers,
        "Authorization",
        "ACS3-HMAC-SHA256 Credential=testid,SignedHeaders=accept;host;x-acs-accesskey-id;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=00",
    );
    assert_eq!(
        parse("POST", "/", V3_QUERY, &headers, b"")
            .unwrap_err()
            .code(),
        "IncompleteSignature"
    );
}

#[test]
fn acs3_form_body_is_hashed_and_its_content_type_signed() {
    let body = b"PolicyDocument=%7B%7D&Description=a+b";
    let sha = hex(&Sha256::digest(body));
    let mut headers = headers_of(&[
        ("host", "h"),
        ("x-acs-action", "CreatePolicy"),
        ("x-acs-version", "2015-05-01"),
        ("x-acs-date", "2026-11-22T04:42:12Z"),
        ("x-acs-signature-nonce", "n"),
        ("x-acs-content-sha256", &sha),
        ("content-type", "application/x-www-form-urlencoded"),
        (
            "authorization",
            "ACS3-HMAC-SHA256 Credential=k,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=00",
        ),
    ]);
    let err = parse("POST", "/", "PolicyName=P", &headers, body).unwrap_err();
    assert_eq!(err.code(), "IncompleteSignature");
    set_header(
        &mut headers,
        "authorization",
        "ACS3-HMAC-SHA256 Credential=k,SignedHeaders=content-type;host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=00",
    );
    resign("POST", "/", "PolicyName=P", &mut headers, body, "s");
    let req = parse("POST", "/", "PolicyName=P", &headers, body).unwrap();
    assert_eq!(req.verify(&Secret::from("s")), Ok(()));
    assert_eq!(req.param("PolicyName"), Some("P"));
    assert_eq!(req.param("PolicyDocument"), Some("{}"));
    assert_eq!(req.param("Description"), Some("a b"));
    assert_eq!(
        parse(
            "POST",
            "/",
            "PolicyName=P",
            &headers,
            b"PolicyDocument=%7B%7D&Description=a+c"
        )
        .unwrap_err(),
        SignatureError::ContentSha256Mismatch
    );
}

#[test]
fn acs3_other_algorithms_and_malformed_headers_are_rejected() {
    for (auth, code) in [
        (
            "ACS3-HMAC-SM3 Credential=testid,SignedHeaders=host,Signature=00",
            "InvalidSignatureMethod",
        ),
        (
            "ACS3-RSA-SHA256 Credential=testid,SignedHeaders=host,Signature=00",
            "InvalidSignatureMethod",
        ),
        ("ACS3-HMAC-SHA256", "MissingAccessKeyId"),
        (
            "ACS3-HMAC-SHA256 SignedHeaders=host,Signature=00",
            "MissingAccessKeyId",
        ),
        (
            &format!("ACS3-HMAC-SHA256 Credential=testid,SignedHeaders={V3_SIGNED}"),
            "MissingSignature",
        ),
        (
            "ACS3-HMAC-SHA256 Credential=testid,Signature=00",
            "IncompleteSignature",
        ),
        (
            "ACS3-HMAC-SHA256 Credential=testid,Credential=x,SignedHeaders=host,Signature=00",
            "IncompleteSignature",
        ),
        (
            "ACS3-HMAC-SHA256 Credential=testid,Bogus,Signature=00",
            "IncompleteSignature",
        ),
        (
            &format!(
                "ACS3-HMAC-SHA256 Credential=testid,SignedHeaders=Host;{V3_SIGNED},Signature=00"
            ),
            "IncompleteSignature",
        ),
        (
            &format!(
                "ACS3-HMAC-SHA256 Credential=testid,SignedHeaders=host;{V3_SIGNED},Signature=00"
            ),
            "IncompleteSignature",
        ),
    ] {
        let mut headers = v3_headers("00");
        set_header(&mut headers, "Authorization", auth);
        let err = parse("POST", "/", V3_QUERY, &headers, b"").unwrap_err();
        assert_eq!(err.code(), code, "{auth}: {err}");
    }
    let mut headers = v3_headers("00");
    set_header(&mut headers, "x-acs-date", "2023-10-26 09:01:01");
    assert_eq!(
        parse("POST", "/", V3_QUERY, &headers, b"").unwrap_err(),
        SignatureError::InvalidTimeStampFormat
    );
}

#[test]
fn error_messages_never_contain_the_secret() {
    let secret = "SuperSecretValue0123456789abcd";
    let query = signed_rpc_query("GET", RAM_DOC_PARAMS, secret);
    let req = parse("GET", "/", &query, &vec![], b"").unwrap();
    let err = req.verify(&Secret::from("wrong")).unwrap_err();
    assert!(!err.to_string().contains(secret));
    assert!(!format!("{err:?}").contains(secret));
    assert!(!format!("{req:?}").contains(secret));
    assert!(!req.string_to_sign().contains(secret));
    for err in [
        SignatureError::Missing(MissingParam::Timestamp),
        SignatureError::SignatureNonceUsed,
        SignatureError::InvalidTimeStampFormat,
        SignatureError::ContentSha256Mismatch,
    ] {
        assert!(!err.to_string().is_empty());
    }
    assert_eq!(
        SignatureError::Missing(MissingParam::Timestamp).to_string(),
        "Timestamp is mandatory for this action."
    );
}

#[test]
fn acs3_grpc_content_type_need_not_be_signed_on_a_method_path() {
    let body = b"\n\x05alice";
    let sha = hex(&Sha256::digest(body));
    let headers_with = |content_type: &str| {
        let mut headers = headers_of(&[
            ("host", "tessera.example.com:8443"),
            ("x-acs-date", "2026-11-22T04:42:12Z"),
            ("x-acs-signature-nonce", "n"),
            ("x-acs-content-sha256", &sha),
            ("content-type", content_type),
            ("te", "trailers"),
            ("x-acs-action", "CreateUser"),
            ("x-acs-version", "2015-05-01"),
            (
                "authorization",
                "ACS3-HMAC-SHA256 Credential=k,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=00",
            ),
        ]);
        if let Ok(req) = parse("POST", "/tessera.v1.Ram/CreateUser", "", &headers, body) {
            let sig = hmac_sha256_hex(b"s", req.string_to_sign());
            set_header(
                &mut headers,
                "authorization",
                &format!(
                    "ACS3-HMAC-SHA256 Credential=k,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature={sig}"
                ),
            );
        }
        headers
    };
    for grpc in [
        "application/grpc",
        "application/grpc+proto",
        "Application/GRPC;charset=utf-8",
    ] {
        let headers = headers_with(grpc);
        let req = parse("POST", "/tessera.v1.Ram/CreateUser", "", &headers, body).unwrap();
        assert_eq!(req.verify(&Secret::from("s")), Ok(()), "{grpc}");
        // On `/` (the Alibaba-compatible HTTP API) the rule is unchanged.
        assert_eq!(
            parse("POST", "/", "", &headers, body).unwrap_err(),
            SignatureError::Incomplete("header content-type must be signed".into()),
            "{grpc}"
        );
    }
    for other in ["application/grpcx", "application/json", "text/plain"] {
        let err = parse(
            "POST",
            "/tessera.v1.Ram/CreateUser",
            "",
            &headers_with(other),
            body,
        )
        .unwrap_err();
        assert_eq!(
            err,
            SignatureError::Incomplete("header content-type must be signed".into()),
            "{other}"
        );
    }
}
