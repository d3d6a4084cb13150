//! The client-side signers (`sign_acs3`, `sign_rpc_v1`, `sign_grpc`) against the verifier
//! (`SignedRequest::parse` + `verify`) and the specification's test vectors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use jiff::Timestamp;
use tessera_credentials::signature::{
    SignatureError, SignatureScheme, SignedRequest, encode_params, new_nonce, sign_acs3, sign_grpc,
    sign_grpc_with_details, sign_rpc_v1,
};
use tessera_credentials::{ReplayGuard, Secret};

const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

type Pairs = Vec<(String, String)>;

fn pairs(p: &[(&str, &str)]) -> Pairs {
    p.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn parse(
    method: &str,
    path: &str,
    query: &str,
    headers: &Pairs,
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

/// Parses and verifies with `secret`.
fn check(
    method: &str,
    path: &str,
    query: &str,
    headers: &Pairs,
    body: &[u8],
    secret: &str,
) -> Result<SignedRequest, SignatureError> {
    let req = parse(method, path, query, headers, body)?;
    req.verify(&Secret::from(secret))?;
    Ok(req)
}

// ---------------------------------------------------------------- ACS3 over HTTP

/// Spec §6.3: the vector computed with tea-openapi's own Python functions.
#[test]
fn acs3_reproduces_the_specification_vector() {
    let signed = sign_acs3(
        "POST",
        "/",
        &[
            ("DurationSeconds", "3600"),
            ("RoleArn", "acs:ram::123456789012:role/testrole"),
            ("RoleSessionName", "alice"),
        ],
        &[
            ("host", "sts.aliyuncs.com"),
            ("x-acs-version", "2015-04-01"),
            ("x-acs-action", "AssumeRole"),
            ("accept", "application/json"),
        ],
        b"",
        "testid",
        &Secret::from("testsecret"),
        None,
        at("2023-10-26T09:01:01Z"),
        "d410180a5abf7fe235dd9b74aca91fc0",
    )
    .unwrap();
    assert_eq!(
        signed.canonical_request(),
        "POST
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
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        signed.string_to_sign(),
        "ACS3-HMAC-SHA256\nba4680bc1f323f1f1409afb6f0bfeb7cde306cd17cbad3989f798f759c452114"
    );
    assert_eq!(
        signed.authorization(),
        "ACS3-HMAC-SHA256 Credential=testid,SignedHeaders=accept;host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=41e8a9e0b76245d5c19584cc47055d6bcd4ffd711902fe342f74817935774ade"
    );
    assert_eq!(
        signed.signature(),
        "41e8a9e0b76245d5c19584cc47055d6bcd4ffd711902fe342f74817935774ade"
    );
    let names: Vec<&str> = signed.headers().iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "x-acs-date",
            "x-acs-signature-nonce",
            "x-acs-content-sha256",
            "authorization"
        ]
    );
    assert_eq!(signed.get("x-acs-date"), Some("2023-10-26T09:01:01Z"));
    assert_eq!(signed.get("x-acs-content-sha256"), Some(EMPTY_SHA256));
}

/// Builds the request the way an HTTP client would send it: the given headers, the
/// signer's headers, and transport headers nobody signs.
fn acs3_request(given: &[(&str, &str)], signed: &[(String, String)]) -> Pairs {
    let mut headers = pairs(given);
    headers.extend(signed.iter().cloned());
    headers.push(("Content-Length".into(), "0".into()));
    headers.push(("Accept-Encoding".into(), "identity".into()));
    headers
}

#[test]
fn acs3_get_with_query_round_trips() {
    let secret = Secret::from("s3cr3t");
    let query = [
        ("UserName", "alice"),
        ("Comments", "a b*c~d/e+f é"),
        ("Empty", ""),
    ];
    let given = [
        ("Host", "127.0.0.1:18080"),
        ("x-acs-action", "GetUser"),
        ("x-acs-version", "2015-05-01"),
        ("User-Agent", "tessera-cli/0.1"),
        ("accept", "application/json"),
    ];
    let now = at("2026-11-22T04:42:12.750Z");
    let signed = sign_acs3(
        "GET",
        "/",
        &query,
        &given,
        b"",
        "LTAI5tKEY",
        &secret,
        None,
        now,
        "nonce-1",
    )
    .unwrap();
    let wire_query = encode_params(&query);
    let headers = acs3_request(&given, signed.headers());
    let req = check("GET", "/", &wire_query, &headers, b"", "s3cr3t").unwrap();
    assert_eq!(req.scheme(), SignatureScheme::Acs3HmacSha256);
    assert_eq!(req.canonical_request(), Some(signed.canonical_request()));
    assert_eq!(req.string_to_sign(), signed.string_to_sign());
    assert_eq!(req.access_key_id(), "LTAI5tKEY");
    assert_eq!(req.action(), Some("GetUser"));
    assert_eq!(req.param("Comments"), Some("a b*c~d/e+f é"));
    assert_eq!(req.nonce(), "nonce-1");
    // Whole seconds on the wire.
    assert_eq!(req.timestamp(), at("2026-11-22T04:42:12Z"));
    assert_eq!(req.check_timestamp(now), Ok(()));
    assert_eq!(req.security_token(), None);
    // Signed headers: every one given plus the signer's three.
    assert!(signed.authorization().contains(
        "SignedHeaders=accept;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,"
    ));

    // Wrong secret, changed method, changed query: rejected.
    assert_eq!(
        req.verify(&Secret::from("s3cr3T")),
        Err(SignatureError::SignatureDoesNotMatch)
    );
    assert_eq!(
        check("POST", "/", &wire_query, &headers, b"", "s3cr3t").unwrap_err(),
        SignatureError::SignatureDoesNotMatch
    );
    let more = format!("{wire_query}&Extra=1");
    assert_eq!(
        check("GET", "/", &more, &headers, b"", "s3cr3t").unwrap_err(),
        SignatureError::SignatureDoesNotMatch
    );
    // `+` on the wire decodes as a space: the query an SDK sends with `urlencode` verifies too.
    let plus_query = wire_query.replace("%20", "+");
    assert!(check("GET", "/", &plus_query, &headers, b"", "s3cr3t").is_ok());
    // Every signed header matters.
    for name in [
        "host",
        "x-acs-action",
        "x-acs-version",
        "user-agent",
        "accept",
        "x-acs-date",
        "x-acs-signature-nonce",
    ] {
        let tampered: Pairs = headers
            .iter()
            .map(|(k, v)| {
                if k.eq_ignore_ascii_case(name) {
                    let v = if name == "x-acs-date" {
                        "2026-11-22T04:42:13Z".to_owned()
                    } else {
                        format!("{v}x")
                    };
                    (k.clone(), v)
                } else {
                    (k.clone(), v.clone())
                }
            })
            .collect();
        assert_eq!(
            check("GET", "/", &wire_query, &tampered, b"", "s3cr3t").unwrap_err(),
            SignatureError::SignatureDoesNotMatch,
            "{name}"
        );
    }
}

#[test]
fn acs3_post_with_form_body_round_trips() {
    let secret = Secret::from("s3cr3t");
    let body = encode_params(&[
        ("PolicyDocument", r#"{"Version": "1", "Statement": []}"#),
        ("Description", "my policy"),
    ]);
    let given = [
        ("host", "tessera.example.com"),
        ("x-acs-action", "CreatePolicy"),
        ("x-acs-version", "2015-05-01"),
        ("content-type", "application/x-www-form-urlencoded"),
    ];
    let signed = sign_acs3(
        "POST",
        "/",
        &[("PolicyName", "P")],
        &given,
        body.as_bytes(),
        "LTAI5tKEY",
        &secret,
        None,
        at("2026-11-22T04:42:12Z"),
        "n2",
    )
    .unwrap();
    assert!(
        signed
            .authorization()
            .contains("SignedHeaders=content-type;host;")
    );
    let headers = acs3_request(&given, signed.headers());
    let req = check(
        "POST",
        "/",
        "PolicyName=P",
        &headers,
        body.as_bytes(),
        "s3cr3t",
    )
    .unwrap();
    assert_eq!(req.param("PolicyName"), Some("P"));
    assert_eq!(
        req.param("PolicyDocument"),
        Some(r#"{"Version": "1", "Statement": []}"#)
    );
    assert_eq!(req.param("Description"), Some("my policy"));
    // A changed body no longer matches its hash; a changed body with a recomputed hash no
    // longer matches the signature.
    let other = body
        .replace("my+policy", "my+pol1cy")
        .replace("my%20policy", "my%20pol1cy");
    assert_eq!(
        check(
            "POST",
            "/",
            "PolicyName=P",
            &headers,
            other.as_bytes(),
            "s3cr3t"
        )
        .unwrap_err(),
        SignatureError::ContentSha256Mismatch
    );
    let resigned = sign_acs3(
        "POST",
        "/",
        &[("PolicyName", "P")],
        &given,
        other.as_bytes(),
        "LTAI5tKEY",
        &secret,
        None,
        at("2026-11-22T04:42:12Z"),
        "n2",
    )
    .unwrap();
    let mut forged = headers.clone();
    for (k, v) in &mut forged {
        if k == "x-acs-content-sha256" {
            *v = resigned.get("x-acs-content-sha256").unwrap().to_owned();
        }
    }
    assert_eq!(
        check(
            "POST",
            "/",
            "PolicyName=P",
            &forged,
            other.as_bytes(),
            "s3cr3t"
        )
        .unwrap_err(),
        SignatureError::SignatureDoesNotMatch
    );
}

#[test]
fn acs3_with_a_security_token_signs_it_and_the_key_id_header() {
    let signed = sign_acs3(
        "POST",
        "/",
        &[] as &[(&str, &str)],
        &[
            ("host", "sts.example.com"),
            ("x-acs-action", "GetCallerIdentity"),
            ("x-acs-version", "2015-04-01"),
        ],
        b"",
        "STS.NTempKey",
        &Secret::from("tmp-secret"),
        Some("eyJhbGciOiJFZERTQSJ9.e30.c2ln+/="),
        at("2026-11-22T04:42:12Z"),
        "n3",
    )
    .unwrap();
    let names: Vec<&str> = signed.headers().iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "x-acs-date",
            "x-acs-signature-nonce",
            "x-acs-content-sha256",
            "x-acs-accesskey-id",
            "x-acs-security-token",
            "authorization"
        ]
    );
    assert!(signed.authorization().contains(
        "SignedHeaders=host;x-acs-accesskey-id;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-security-token;x-acs-signature-nonce;x-acs-version,"
    ));
    let debug = format!("{signed:?}");
    assert!(!debug.contains("c2ln+/="), "{debug}");
    assert!(debug.contains("<redacted>"));

    let headers = acs3_request(
        &[
            ("host", "sts.example.com"),
            ("x-acs-action", "GetCallerIdentity"),
            ("x-acs-version", "2015-04-01"),
        ],
        signed.headers(),
    );
    let req = check("POST", "/", "", &headers, b"", "tmp-secret").unwrap();
    assert_eq!(req.access_key_id(), "STS.NTempKey");
    assert_eq!(
        req.security_token(),
        Some("eyJhbGciOiJFZERTQSJ9.e30.c2ln+/=")
    );
    let tampered: Pairs = headers
        .iter()
        .map(|(k, v)| {
            if k == "x-acs-security-token" {
                (k.clone(), v.replace("e30", "e31"))
            } else {
                (k.clone(), v.clone())
            }
        })
        .collect();
    assert_eq!(
        check("POST", "/", "", &tampered, b"", "tmp-secret").unwrap_err(),
        SignatureError::SignatureDoesNotMatch
    );
}

#[test]
fn acs3_rejects_malformed_input() {
    let secret = Secret::from("s");
    let now = at("2026-11-22T04:42:12Z");
    let sign = |path: &str, query: &[(&str, &str)], headers: &[(&str, &str)], nonce: &str| {
        sign_acs3(
            "POST", path, query, headers, b"", "k", &secret, None, now, nonce,
        )
    };
    let host = [("host", "h")];
    assert!(sign("/", &[], &host, "n").is_ok());
    // An empty path is `/`.
    assert_eq!(
        sign("", &[], &host, "n").unwrap(),
        sign("/", &[], &host, "n").unwrap()
    );
    let bad: Vec<(&str, SignatureError)> = vec![
        (
            "no host",
            sign("/", &[], &[("accept", "x")], "n").unwrap_err(),
        ),
        ("empty nonce", sign("/", &[], &host, "").unwrap_err()),
        (
            "long nonce",
            sign("/", &[], &host, &"n".repeat(257)).unwrap_err(),
        ),
        ("relative path", sign("a/b", &[], &host, "n").unwrap_err()),
        (
            "repeated header",
            sign("/", &[], &[("host", "h"), ("Host", "h")], "n").unwrap_err(),
        ),
        (
            "signer's header",
            sign("/", &[], &[("host", "h"), ("X-Acs-Date", "x")], "n").unwrap_err(),
        ),
        (
            "authorization",
            sign("/", &[], &[("host", "h"), ("authorization", "x")], "n").unwrap_err(),
        ),
        (
            "newline",
            sign("/", &[], &[("host", "h\r\nx-evil: 1")], "n").unwrap_err(),
        ),
        (
            "bad name",
            sign("/", &[], &[("host", "h"), ("a b", "x")], "n").unwrap_err(),
        ),
        (
            "repeated parameter",
            sign("/", &[("a", "1"), ("a", "2")], &host, "n").unwrap_err(),
        ),
    ];
    for (what, err) in bad {
        assert_eq!(err.code(), "InvalidParameter", "{what}: {err}");
    }
    let err = sign_acs3(
        "post",
        "/",
        &[("a", "1")],
        &host,
        b"",
        "k",
        &secret,
        None,
        now,
        "n",
    )
    .unwrap_err();
    assert_eq!(err.code(), "InvalidParameter");
    let err = sign_acs3(
        "POST",
        "/",
        &[("a", "1")],
        &host,
        b"",
        "k,x",
        &secret,
        None,
        now,
        "n",
    )
    .unwrap_err();
    assert_eq!(err.code(), "InvalidParameter");
}

// ---------------------------------------------------------------- RPC v1

/// The RAM documentation's example (spec §6.1).
#[test]
fn rpc_reproduces_the_documentation_vector() {
    let params = sign_rpc_v1(
        "GET",
        &[
            ("Action", "CreateUser"),
            ("Format", "JSON"),
            ("UserName", "test"),
            ("Version", "2015-05-01"),
        ],
        "testid",
        &Secret::from("testsecret"),
        at("2015-08-18T03:15:45Z"),
        "6a6e0ca6-4557-11e5-86a2-b8e8563dc8d2",
    )
    .unwrap();
    assert_eq!(
        params.last(),
        Some(&(
            "Signature".to_owned(),
            "kRA2cnpJVacIhDMzXnoNZG9tDCI=".to_owned()
        ))
    );
    let req = check(
        "GET",
        "/",
        &encode_params(&params),
        &vec![],
        b"",
        "testsecret",
    )
    .unwrap();
    assert_eq!(
        req.string_to_sign(),
        "GET&%2F&AccessKeyId%3Dtestid%26Action%3DCreateUser%26Format%3DJSON%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D6a6e0ca6-4557-11e5-86a2-b8e8563dc8d2%26SignatureVersion%3D1.0%26Timestamp%3D2015-08-18T03%253A15%253A45Z%26UserName%3Dtest%26Version%3D2015-05-01"
    );
}

#[test]
fn rpc_get_round_trips() {
    let params = sign_rpc_v1(
        "GET",
        &[
            ("Action", "AssumeRole"),
            ("Version", "2015-04-01"),
            ("Format", "JSON"),
            ("RoleArn", "acs:ram::1234567890123456:role/test-role"),
            ("RoleSessionName", "alice"),
            (
                "Policy",
                r#"{"Version": "1", "Statement": [{"Action": "oss:Get*"}]}"#,
            ),
            ("SecurityToken", "tok+/="),
        ],
        "STS.NKey",
        &Secret::from("s3cr3t"),
        at("2026-11-22T04:42:12Z"),
        "7f1e",
    )
    .unwrap();
    let names: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names[7..],
        [
            "Timestamp",
            "SignatureNonce",
            "SignatureMethod",
            "SignatureVersion",
            "AccessKeyId",
            "Signature"
        ]
    );
    let query = encode_params(&params);
    let req = check("GET", "/", &query, &vec![], b"", "s3cr3t").unwrap();
    assert_eq!(req.scheme(), SignatureScheme::RpcV1);
    assert_eq!(req.access_key_id(), "STS.NKey");
    assert_eq!(req.security_token(), Some("tok+/="));
    assert_eq!(req.action(), Some("AssumeRole"));
    assert_eq!(req.nonce(), "7f1e");
    assert_eq!(req.timestamp(), at("2026-11-22T04:42:12Z"));
    assert_eq!(
        req.param("Policy"),
        Some(r#"{"Version": "1", "Statement": [{"Action": "oss:Get*"}]}"#)
    );
    assert_eq!(
        check("POST", "/", &query, &vec![], b"", "s3cr3t").unwrap_err(),
        SignatureError::SignatureDoesNotMatch
    );
    assert_eq!(
        check("GET", "/", &query, &vec![], b"", "s3cr3T").unwrap_err(),
        SignatureError::SignatureDoesNotMatch
    );
    // Any parameter changed, added or removed breaks it.
    for i in 0..params.len() - 1 {
        let mut changed = params.clone();
        changed[i].1.push('0');
        assert!(
            check("GET", "/", &encode_params(&changed), &vec![], b"", "s3cr3t").is_err(),
            "{}",
            params[i].0
        );
        let mut removed = params.clone();
        removed.remove(i);
        assert!(
            check("GET", "/", &encode_params(&removed), &vec![], b"", "s3cr3t").is_err(),
            "{}",
            params[i].0
        );
    }
    let extra = format!("{query}&RegionId=cn-hangzhou");
    assert_eq!(
        check("GET", "/", &extra, &vec![], b"", "s3cr3t").unwrap_err(),
        SignatureError::SignatureDoesNotMatch
    );
}

#[test]
fn rpc_post_round_trips_wherever_the_parameters_travel() {
    let params = sign_rpc_v1(
        "POST",
        &[
            ("Action", "CreateUser"),
            ("Version", "2015-05-01"),
            ("Format", "JSON"),
            ("UserName", "alice"),
            ("DisplayName", "Alice Example"),
            ("SignatureType", ""),
        ],
        "LTAI5tKEY",
        &Secret::from("s3cr3t"),
        at("2026-11-22T04:42:12Z"),
        "n",
    )
    .unwrap();
    let form = pairs(&[("Content-Type", "application/x-www-form-urlencoded")]);
    // All in the query; all in the form body; common ones in the query and the rest in
    // the body (the Go SDK's split).
    let (common, api): (Pairs, Pairs) = params
        .iter()
        .cloned()
        .partition(|(k, _)| k.starts_with("Signature") || k == "AccessKeyId" || k == "Timestamp");
    let cases: [(String, Pairs, String); 3] = [
        (encode_params(&params), vec![], String::new()),
        (String::new(), form.clone(), encode_params(&params)),
        (encode_params(&common), form, encode_params(&api)),
    ];
    for (query, headers, body) in cases {
        let req = check("POST", "/", &query, &headers, body.as_bytes(), "s3cr3t").unwrap();
        assert_eq!(req.param("DisplayName"), Some("Alice Example"));
        assert_eq!(req.param("SignatureType"), Some(""));
        assert_eq!(
            check("GET", "/", &query, &headers, body.as_bytes(), "s3cr3t").unwrap_err(),
            SignatureError::SignatureDoesNotMatch
        );
    }
}

#[test]
fn rpc_rejects_malformed_input() {
    let secret = Secret::from("s");
    let now = at("2026-11-22T04:42:12Z");
    for name in [
        "AccessKeyId",
        "Signature",
        "SignatureMethod",
        "SignatureNonce",
        "SignatureVersion",
        "Timestamp",
    ] {
        let err = sign_rpc_v1("GET", &[(name, "x")], "k", &secret, now, "n").unwrap_err();
        assert_eq!(err.code(), "InvalidParameter", "{name}");
    }
    let err = sign_rpc_v1("GET", &[("A", "1"), ("A", "2")], "k", &secret, now, "n").unwrap_err();
    assert_eq!(err.code(), "InvalidParameter");
    let err = sign_rpc_v1("GET", &[("A", "1")], "k", &secret, now, "").unwrap_err();
    assert_eq!(err.code(), "InvalidParameter");
    let err = sign_rpc_v1("GET", &[("A", "1")], "", &secret, now, "n").unwrap_err();
    assert_eq!(err.code(), "InvalidParameter");
    let err = sign_rpc_v1("get", &[("A", "1")], "k", &secret, now, "n").unwrap_err();
    assert_eq!(err.code(), "InvalidParameter");
}

// ---------------------------------------------------------------- gRPC

const METHOD: &str = "/tessera.v1.Ram/CreateUser";
const AUTHORITY: &str = "tessera.example.com:8443";

/// What a gRPC server sees: `:authority` passed as `host`, the usual gRPC headers, the
/// signer's metadata.
fn grpc_headers(authority: &str, metadata: &[(String, String)]) -> Pairs {
    let mut headers = pairs(&[
        ("host", authority),
        ("content-type", "application/grpc"),
        ("te", "trailers"),
        ("user-agent", "tonic/0.14"),
        ("grpc-timeout", "5S"),
        ("grpc-accept-encoding", "gzip"),
    ]);
    headers.extend(metadata.iter().cloned());
    headers
}

fn grpc_check(
    method: &str,
    headers: &Pairs,
    message: &[u8],
    secret: &str,
) -> Result<SignedRequest, SignatureError> {
    check("POST", method, "", headers, message, secret)
}

#[test]
fn grpc_round_trips_and_every_signed_part_matters() {
    let message = b"\n\x05alice\x12\rAlice Example";
    let secret = Secret::from("s3cr3t");
    let now = at("2026-11-22T04:42:12Z");
    let metadata = sign_grpc(
        METHOD,
        AUTHORITY,
        message,
        "LTAI5tKEY",
        &secret,
        None,
        now,
        "n-1",
    )
    .unwrap();
    let names: Vec<&str> = metadata.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "x-acs-date",
            "x-acs-signature-nonce",
            "x-acs-content-sha256",
            "authorization"
        ]
    );
    let auth = &metadata[3].1;
    assert!(auth.starts_with(
        "ACS3-HMAC-SHA256 Credential=LTAI5tKEY,SignedHeaders=host;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce,Signature="
    ));
    let headers = grpc_headers(AUTHORITY, &metadata);
    let req = grpc_check(METHOD, &headers, message, "s3cr3t").unwrap();
    assert_eq!(req.scheme(), SignatureScheme::Acs3HmacSha256);
    assert_eq!(req.access_key_id(), "LTAI5tKEY");
    assert_eq!(req.security_token(), None);
    assert_eq!(req.action(), None);
    assert_eq!(req.nonce(), "n-1");
    assert_eq!(req.timestamp(), now);
    assert!(req.params().is_empty());
    // Exactly the signer's metadata and host suffice.
    let mut minimal = pairs(&[("host", AUTHORITY)]);
    minimal.extend(metadata.iter().cloned());
    assert!(grpc_check(METHOD, &minimal, message, "s3cr3t").is_ok());

    let mismatch = Err(SignatureError::SignatureDoesNotMatch);
    let code = |r: Result<SignedRequest, SignatureError>| r.map(|_| ()).map_err(|e| e.code());
    assert_eq!(
        grpc_check(METHOD, &headers, message, "s3cr3T").map(|_| ()),
        mismatch
    );
    // Another method.
    assert_eq!(
        grpc_check("/tessera.v1.Ram/DeleteUser", &headers, message, "s3cr3t").map(|_| ()),
        mismatch
    );
    // Another authority.
    let elsewhere = grpc_headers("tessera.example.com", &metadata);
    assert_eq!(
        grpc_check(METHOD, &elsewhere, message, "s3cr3t").map(|_| ()),
        mismatch
    );
    // Other message bytes: the hash no longer matches; with the hash replaced too, the
    // signature no longer matches.
    let other = b"\n\x05alicf\x12\rAlice Example";
    assert_eq!(
        grpc_check(METHOD, &headers, other, "s3cr3t").map(|_| ()),
        Err(SignatureError::ContentSha256Mismatch)
    );
    let forged_hash = sign_grpc(
        METHOD,
        AUTHORITY,
        other,
        "LTAI5tKEY",
        &secret,
        None,
        now,
        "n-1",
    )
    .unwrap()[2]
        .1
        .clone();
    let replace = |name: &str, value: &str| -> Pairs {
        headers
            .iter()
            .map(|(k, v)| {
                if k == name {
                    (k.clone(), value.to_owned())
                } else {
                    (k.clone(), v.clone())
                }
            })
            .collect()
    };
    assert_eq!(
        grpc_check(
            METHOD,
            &replace("x-acs-content-sha256", &forged_hash),
            other,
            "s3cr3t"
        )
        .map(|_| ()),
        mismatch
    );
    // Another date or nonce.
    assert_eq!(
        grpc_check(
            METHOD,
            &replace("x-acs-date", "2026-11-22T04:42:13Z"),
            message,
            "s3cr3t"
        )
        .map(|_| ()),
        mismatch
    );
    assert_eq!(
        grpc_check(
            METHOD,
            &replace("x-acs-signature-nonce", "n-2"),
            message,
            "s3cr3t"
        )
        .map(|_| ()),
        mismatch
    );
    // Adding a security token that was not signed.
    let mut with_token = headers.clone();
    with_token.push(("x-acs-security-token".into(), "tok".into()));
    assert_eq!(
        code(grpc_check(METHOD, &with_token, message, "s3cr3t")),
        Err("IncompleteSignature")
    );
    // An empty message (a request with every field at its default) signs and verifies.
    let empty = sign_grpc(
        "/tessera.v1.Sts/GetCallerIdentity",
        AUTHORITY,
        b"",
        "LTAI5tKEY",
        &secret,
        None,
        now,
        "n-3",
    )
    .unwrap();
    assert_eq!(empty[2].1, EMPTY_SHA256);
    assert!(
        grpc_check(
            "/tessera.v1.Sts/GetCallerIdentity",
            &grpc_headers(AUTHORITY, &empty),
            b"",
            "s3cr3t"
        )
        .is_ok()
    );
}

#[test]
fn grpc_with_a_security_token() {
    let message = b"\n\x05alice";
    let token = "eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0.eyJqdGkiOiJ0MSJ9.c2ln";
    let now = at("2026-11-22T04:42:12Z");
    let signed = sign_grpc_with_details(
        METHOD,
        AUTHORITY,
        message,
        "STS.NKey",
        &Secret::from("tmp"),
        Some(token),
        now,
        "n",
    )
    .unwrap();
    let names: Vec<&str> = signed.headers().iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "x-acs-date",
            "x-acs-signature-nonce",
            "x-acs-content-sha256",
            "x-acs-security-token",
            "authorization"
        ]
    );
    assert!(signed.authorization().contains(
        "SignedHeaders=host;x-acs-content-sha256;x-acs-date;x-acs-security-token;x-acs-signature-nonce,"
    ));
    let headers = grpc_headers(AUTHORITY, signed.headers());
    let req = grpc_check(METHOD, &headers, message, "tmp").unwrap();
    assert_eq!(req.security_token(), Some(token));
    assert_eq!(req.canonical_request(), Some(signed.canonical_request()));
    // Another token, or none: rejected.
    let other: Pairs = headers
        .iter()
        .map(|(k, v)| {
            if k == "x-acs-security-token" {
                (k.clone(), format!("{v}x"))
            } else {
                (k.clone(), v.clone())
            }
        })
        .collect();
    assert_eq!(
        grpc_check(METHOD, &other, message, "tmp").map(|_| ()),
        Err(SignatureError::SignatureDoesNotMatch)
    );
    let without: Pairs = headers
        .iter()
        .filter(|(k, _)| k != "x-acs-security-token")
        .cloned()
        .collect();
    assert!(grpc_check(METHOD, &without, message, "tmp").is_err());
    // The same call unsigned-with-token verifies differently.
    let plain = sign_grpc(
        METHOD,
        AUTHORITY,
        message,
        "STS.NKey",
        &Secret::from("tmp"),
        None,
        now,
        "n",
    )
    .unwrap();
    assert_ne!(plain.last(), signed.headers().last());
}

#[test]
fn grpc_clock_window_and_replay() {
    let message = b"\n\x05alice";
    let sent = at("2026-11-22T04:42:12Z");
    let metadata = sign_grpc(
        METHOD,
        AUTHORITY,
        message,
        "LTAI5tKEY",
        &Secret::from("s"),
        None,
        sent,
        "fresh",
    )
    .unwrap();
    let req = grpc_check(METHOD, &grpc_headers(AUTHORITY, &metadata), message, "s").unwrap();
    let guard = ReplayGuard::new(100);
    let later = at("2026-11-22T04:57:12Z");
    assert_eq!(req.check_timestamp(later), Ok(()));
    assert_eq!(
        req.check_timestamp(at("2026-11-22T04:57:13Z"))
            .unwrap_err()
            .code(),
        "InvalidTimeStamp.Expired"
    );
    assert_eq!(
        req.check_timestamp(at("2026-11-22T04:27:11Z"))
            .unwrap_err()
            .code(),
        "InvalidTimeStamp.Expired"
    );
    assert_eq!(
        guard.check_and_remember(req.access_key_id(), req.nonce(), req.timestamp(), sent),
        Ok(())
    );
    assert_eq!(
        guard
            .check_and_remember(req.access_key_id(), req.nonce(), req.timestamp(), later)
            .unwrap_err()
            .code(),
        "SignatureNonceUsed"
    );
}

#[test]
fn grpc_rejects_malformed_input() {
    let secret = Secret::from("s");
    let now = at("2026-11-22T04:42:12Z");
    for (path, authority) in [
        ("", AUTHORITY),
        ("/", AUTHORITY),
        ("tessera.v1.Ram/CreateUser", AUTHORITY),
        ("/tessera.v1.Ram/Create User", AUTHORITY),
        (METHOD, ""),
        (METHOD, "host name"),
    ] {
        let err = sign_grpc(path, authority, b"", "k", &secret, None, now, "n").unwrap_err();
        assert_eq!(err.code(), "InvalidParameter", "{path} {authority}");
    }
    let err = sign_grpc(METHOD, AUTHORITY, b"", "k", &secret, Some(""), now, "n").unwrap_err();
    assert_eq!(err.code(), "InvalidParameter");
    let err = sign_grpc(METHOD, AUTHORITY, b"", "k", &secret, Some("a\nb"), now, "n").unwrap_err();
    assert_eq!(err.code(), "InvalidParameter");
}

#[test]
fn nonces_are_32_hex_characters_and_differ() {
    let mut rng = rand::rng();
    let a = new_nonce(&mut rng);
    let b = new_nonce(&mut rng);
    assert_eq!(a.len(), 32);
    assert!(
        a.bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    assert_ne!(a, b);
}
