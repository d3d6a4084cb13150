//! Every request captured from the official SDKs (`tests/data/sdk-wire-captures.md`, a copy
//! of `shared/reference/sdk-wire-captures.md`) is parsed and its canonical request / string
//! to sign rebuilt byte for byte as the capture tool printed it.
//!
//! The secret of the capture keys (`LTAI5tTESTACCESSKEYID01`, `STS.NTestTemporaryKey…`) is
//! not in the captures, but the `*-badsecret` captures are real SDK requests signed with
//! the secret `WrongSecret` (found by trying candidates against their strings to sign):
//! they must verify end to end with it, and fail with `SignatureDoesNotMatch` with any
//! other secret (including the capture key's real one).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use jiff::{SignedDuration, Timestamp};
use tessera_credentials::signature::{
    SignatureError, SignatureScheme, SignedHeaders, SignedRequest, sign_acs3, sign_rpc_v1,
};
use tessera_credentials::{ReplayGuard, Secret};

const CAPTURES: &str = include_str!("data/sdk-wire-captures.md");
/// The secret the `*-badsecret` flavours were signed with.
const BAD_SECRET: &str = "WrongSecret";

#[derive(Debug)]
struct Capture {
    title: String,
    scheme: String,
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: String,
    ok: bool,
    variant: String,
    canonical_request: Option<String>,
    string_to_sign: Option<String>,
}

impl Capture {
    fn flavour(&self) -> &str {
        self.title.split_whitespace().next().unwrap()
    }

    fn parse(&self) -> Result<SignedRequest, SignatureError> {
        self.parse_with(&self.headers, &self.query, &self.body)
    }

    fn parse_with(
        &self,
        headers: &[(String, String)],
        query: &str,
        body: &str,
    ) -> Result<SignedRequest, SignatureError> {
        SignedRequest::parse(
            &self.method,
            &self.path,
            query,
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            body.as_bytes(),
        )
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The text of the fenced block that follows `marker` in `section`.
fn fenced_after<'a>(section: &'a str, marker: &str) -> Option<&'a str> {
    let start = section.find(marker)? + marker.len();
    let rest = &section[start..];
    let end = rest.find("\n```")?;
    Some(&rest[..end])
}

fn captures() -> Vec<Capture> {
    CAPTURES
        .split("\n## ")
        .skip(1)
        .map(|section| {
            let title = section.lines().next().unwrap().to_owned();
            let http = fenced_after(section, "```http\n").unwrap();
            let (head, body) = match http.split_once("\n\n") {
                Some((h, b)) => (h, b.to_owned()),
                None => (http.trim_end_matches('\n'), String::new()),
            };
            let mut lines = head.lines();
            let mut request_line = lines.next().unwrap().split(' ');
            let method = request_line.next().unwrap().to_owned();
            let target = request_line.next().unwrap();
            let (path, query) = target.split_once('?').unwrap_or((target, ""));
            let headers = lines
                .map(|l| {
                    let (k, v) = l.split_once(": ").unwrap();
                    (k.to_owned(), v.to_owned())
                })
                .collect();
            let check = section
                .lines()
                .find(|l| l.starts_with("Signature check: "))
                .unwrap();
            let ok = check.contains(" ok=True");
            let variant = check.split(" variant=").nth(1).unwrap().to_owned();
            let scheme = title
                .split('<')
                .nth(1)
                .and_then(|s| s.split('>').next())
                .unwrap()
                .to_owned();
            Capture {
                canonical_request: fenced_after(section, "Canonical request (ACS3):\n```\n")
                    .map(str::to_owned),
                string_to_sign: fenced_after(section, "String to sign:\n```\n").map(str::to_owned),
                title,
                scheme,
                method,
                path: path.to_owned(),
                query: query.to_owned(),
                headers,
                body,
                ok,
                variant,
            }
        })
        .collect()
}

#[test]
fn the_test_data_is_the_shared_reference() {
    let shared = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/reference/sdk-wire-captures.md"
    );
    // The shared folder sits beside the repository; skip quietly where it does not.
    if let Ok(text) = std::fs::read_to_string(shared) {
        assert!(
            text == CAPTURES,
            "shared/reference/sdk-wire-captures.md changed: copy it to tests/data/"
        );
    }
}

#[test]
fn the_captures_are_all_there() {
    let all = captures();
    assert_eq!(all.len(), 56);
    let count = |f: &dyn Fn(&Capture) -> bool| all.iter().filter(|c| f(c)).count();
    assert_eq!(count(&|c| c.ok), 44);
    assert_eq!(count(&|c| c.flavour().ends_with("-badsecret")), 6);
    assert_eq!(count(&|c| c.flavour().ends_with("-unknownkey")), 6);
    assert_eq!(count(&|c| c.scheme == "ACS3-HMAC-SHA256"), 17);
    assert_eq!(count(&|c| c.scheme == "RPC-v1"), 39);
    // Every form body is exactly as long as its Content-Length says.
    for c in &all {
        if let Some(len) = c.header("Content-Length") {
            assert_eq!(c.body.len().to_string(), len, "{}", c.title);
        }
    }
}

#[test]
fn every_capture_parses_and_rebuilds_the_printed_strings() {
    let mut rebuilt = 0;
    for c in captures() {
        let req = c.parse().unwrap_or_else(|e| panic!("{}: {e:?}", c.title));
        let expected_scheme = match c.scheme.as_str() {
            "ACS3-HMAC-SHA256" => SignatureScheme::Acs3HmacSha256,
            "RPC-v1" => SignatureScheme::RpcV1,
            other => panic!("{other}"),
        };
        assert_eq!(req.scheme(), expected_scheme, "{}", c.title);

        // Access key id, token, action, version, nonce, timestamp as sent.
        let expected_key = if c.flavour().ends_with("-unknownkey") {
            "LTAI5tUNKNOWNKEY"
        } else if c.title.contains("[STS token]") {
            if c.flavour().starts_with("cred-A") {
                "STS.NTestTemporaryKey000001"
            } else {
                "STS.NTestTemporaryKey000007"
            }
        } else {
            "LTAI5tTESTACCESSKEYID01"
        };
        assert_eq!(req.access_key_id(), expected_key, "{}", c.title);
        if c.title.contains("[STS token]") {
            let token = req.security_token().unwrap();
            assert!(
                token.starts_with("CAIStubSecurityToken00000"),
                "{}",
                c.title
            );
            assert!(token.ends_with("+/=PaddingLikeRealTokens"), "{}", c.title);
        } else {
            assert_eq!(req.security_token(), None, "{}", c.title);
        }
        let action = c.title.rsplit(" — ").next().unwrap();
        assert_eq!(req.action(), Some(action), "{}", c.title);
        assert!(
            matches!(req.version(), Some("2015-04-01" | "2015-05-01")),
            "{}",
            c.title
        );
        assert!(!req.nonce().is_empty());
        assert!(req.timestamp().to_string().starts_with("2026-11-22T04:42:"));

        if let Some(canonical) = &c.canonical_request {
            assert_eq!(
                req.canonical_request(),
                Some(canonical.as_str()),
                "{}",
                c.title
            );
        }
        if let Some(sts) = &c.string_to_sign {
            rebuilt += 1;
            let variants = req.strings_to_sign();
            let ours = match c.variant.as_str() {
                "quote_plus (+ for space)" => variants[1],
                _ => variants[0],
            };
            assert_eq!(ours, sts, "{}", c.title);
        }
    }
    // Only the 6 unknown-key captures print no canonical strings.
    assert_eq!(rebuilt, 50);
}

#[test]
fn badsecret_captures_verify_with_the_secret_they_were_signed_with_only() {
    let mut verified = 0;
    for c in captures()
        .into_iter()
        .filter(|c| c.flavour().ends_with("-badsecret"))
    {
        let req = c.parse().unwrap();
        assert_eq!(req.verify(&Secret::from(BAD_SECRET)), Ok(()), "{}", c.title);
        for other in ["", "WrongSecret ", "wrongsecret", "TestAccessKeySecret"] {
            assert_eq!(
                req.verify(&Secret::from(other)),
                Err(SignatureError::SignatureDoesNotMatch),
                "{}",
                c.title
            );
        }
        verified += 1;
    }
    assert_eq!(verified, 6);
}

#[test]
fn good_captures_do_not_verify_with_a_wrong_secret() {
    for c in captures().into_iter().filter(|c| c.ok) {
        let req = c.parse().unwrap();
        let err = req.verify(&Secret::from(BAD_SECRET)).unwrap_err();
        assert_eq!(err, SignatureError::SignatureDoesNotMatch, "{}", c.title);
        assert_eq!(err.code(), "SignatureDoesNotMatch");
    }
}

/// With the real secret unknown, tampering is shown on the rebuilt string to sign (which the
/// signature covers) and, for the badsecret captures, on verification itself.
#[test]
fn tampering_with_a_capture_changes_what_is_signed() {
    for c in captures() {
        let original = c.parse().unwrap();
        let signed_with_known_secret = c.flavour().ends_with("-badsecret");
        let assert_tampered = |what: &str, tampered: Result<SignedRequest, SignatureError>| {
            let tampered = match tampered {
                Ok(r) => r,
                // Refused outright (content hash, timestamp format…) is fine too.
                Err(_) => return,
            };
            assert!(
                tampered
                    .strings_to_sign()
                    .iter()
                    .all(|s| !original.strings_to_sign().contains(s)),
                "{}: {what}",
                c.title
            );
            if signed_with_known_secret {
                assert_eq!(
                    tampered.verify(&Secret::from(BAD_SECRET)),
                    Err(SignatureError::SignatureDoesNotMatch),
                    "{}: {what}",
                    c.title
                );
            }
        };

        match original.scheme() {
            SignatureScheme::Acs3HmacSha256 => {
                let auth = c.header("Authorization").unwrap();
                let signed = auth
                    .split("SignedHeaders=")
                    .nth(1)
                    .unwrap()
                    .split(',')
                    .next()
                    .unwrap();
                for name in signed.split(';') {
                    let headers: Vec<(String, String)> = c
                        .headers
                        .iter()
                        .map(|(k, v)| {
                            if k.eq_ignore_ascii_case(name) {
                                (k.clone(), format!("{v}x"))
                            } else {
                                (k.clone(), v.clone())
                            }
                        })
                        .collect();
                    assert_tampered(name, c.parse_with(&headers, &c.query, &c.body));
                }
                if !c.query.is_empty() {
                    let query = format!("{}&Extra=1", c.query);
                    assert_tampered("query", c.parse_with(&c.headers, &query, &c.body));
                }
                // Unsigned extra headers change nothing.
                let mut headers = c.headers.clone();
                headers.push(("X-Forwarded-For".into(), "203.0.113.9".into()));
                headers.push(("Via".into(), "1.1 proxy".into()));
                let extra = c.parse_with(&headers, &c.query, &c.body).unwrap();
                assert_eq!(
                    extra.string_to_sign(),
                    original.string_to_sign(),
                    "{}",
                    c.title
                );
                if signed_with_known_secret {
                    assert_eq!(extra.verify(&Secret::from(BAD_SECRET)), Ok(()));
                }
                // A changed body no longer matches x-acs-content-sha256.
                let err = c
                    .parse_with(&c.headers, &c.query, &format!("{}&x=1", c.body))
                    .unwrap_err();
                assert_eq!(err, SignatureError::ContentSha256Mismatch, "{}", c.title);
            }
            SignatureScheme::RpcV1 => {
                // Change each parameter (in the query) except the signature itself.
                for (i, segment) in c.query.split('&').enumerate() {
                    if segment.starts_with("Signature=") {
                        continue;
                    }
                    let query: Vec<String> = c
                        .query
                        .split('&')
                        .enumerate()
                        .map(|(j, s)| {
                            if i == j {
                                format!("{s}0")
                            } else {
                                s.to_owned()
                            }
                        })
                        .collect();
                    assert_tampered(segment, c.parse_with(&c.headers, &query.join("&"), &c.body));
                }
                // And each form body parameter.
                for (i, _) in c.body.split('&').enumerate().filter(|_| !c.body.is_empty()) {
                    let body: Vec<String> = c
                        .body
                        .split('&')
                        .enumerate()
                        .map(|(j, s)| {
                            if i == j {
                                format!("{s}0")
                            } else {
                                s.to_owned()
                            }
                        })
                        .collect();
                    assert_tampered("body", c.parse_with(&c.headers, &c.query, &body.join("&")));
                }
                // Headers are not part of an RPC signature.
                let mut headers = c.headers.clone();
                headers.push(("X-Forwarded-For".into(), "203.0.113.9".into()));
                let extra = c.parse_with(&headers, &c.query, &c.body).unwrap();
                assert_eq!(extra.string_to_sign(), original.string_to_sign());
            }
        }
    }
}

#[test]
fn capture_timestamps_and_nonces() {
    let guard = ReplayGuard::new(10_000);
    let all: Vec<SignedRequest> = captures().iter().map(|c| c.parse().unwrap()).collect();
    for req in &all {
        let t = req.timestamp();
        assert_eq!(
            req.check_timestamp(t + SignedDuration::from_secs(60)),
            Ok(())
        );
        assert_eq!(
            req.check_timestamp(t + SignedDuration::from_secs(15 * 60 + 1)),
            Err(SignatureError::InvalidTimeStampExpired)
        );
        assert_eq!(
            guard.check_and_remember(req.access_key_id(), req.nonce(), t, t),
            Ok(()),
            "{req:?}"
        );
    }
    // Replaying any of them is caught.
    let later: Timestamp = "2026-11-22T04:50:00Z".parse().unwrap();
    for req in &all {
        assert_eq!(
            guard.check_and_remember(req.access_key_id(), req.nonce(), req.timestamp(), later),
            Err(SignatureError::SignatureNonceUsed)
        );
    }
}

// ---------------------------------------------------------------- the signer

/// Decodes a query string or form body (`+` is a space).
fn decode_form(raw: &str) -> Vec<(String, String)> {
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .unwrap()
            .into_owned()
    };
    raw.split('&')
        .filter(|s| !s.is_empty())
        .map(|s| {
            let (k, v) = s.split_once('=').unwrap_or((s, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// The headers the ACS3 signer adds itself.
const ADDED_BY_SIGNER: [&str; 6] = [
    "authorization",
    "x-acs-date",
    "x-acs-signature-nonce",
    "x-acs-content-sha256",
    "x-acs-accesskey-id",
    "x-acs-security-token",
];

/// Signs an ACS3 capture again from its parameters: the headers it signed other than the
/// signer's own, its query, body, key id, token, date and nonce.
fn resign_acs3(c: &Capture, secret: &str) -> SignedHeaders {
    let auth = c.header("Authorization").unwrap();
    let signed_names: Vec<&str> = auth
        .split("SignedHeaders=")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .split(';')
        .collect();
    let given: Vec<(String, String)> = c
        .headers
        .iter()
        .filter(|(k, _)| {
            let k = k.to_ascii_lowercase();
            signed_names.contains(&k.as_str()) && !ADDED_BY_SIGNER.contains(&k.as_str())
        })
        .cloned()
        .collect();
    let key_id = auth
        .split("Credential=")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap();
    sign_acs3(
        &c.method,
        &c.path,
        &decode_form(&c.query),
        &given,
        c.body.as_bytes(),
        key_id,
        &Secret::from(secret),
        c.header("x-acs-security-token"),
        c.header("x-acs-date").unwrap().parse().unwrap(),
        c.header("x-acs-signature-nonce").unwrap(),
    )
    .unwrap_or_else(|e| panic!("{}: {e:?}", c.title))
}

/// Signs an RPC capture again from its parameters (query and form body, without the ones
/// the signer adds).
fn resign_rpc(c: &Capture, secret: &str) -> Vec<(String, String)> {
    let mut all = decode_form(&c.query);
    let is_form = c
        .header("Content-Type")
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    if is_form {
        all.extend(decode_form(&c.body));
    }
    let get = |name: &str| {
        all.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    let (key_id, timestamp, nonce) = (get("AccessKeyId"), get("Timestamp"), get("SignatureNonce"));
    let params: Vec<(String, String)> = all
        .iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "AccessKeyId"
                    | "Signature"
                    | "SignatureMethod"
                    | "SignatureNonce"
                    | "SignatureVersion"
                    | "Timestamp"
            )
        })
        .cloned()
        .collect();
    sign_rpc_v1(
        &c.method,
        &params,
        &key_id,
        &Secret::from(secret),
        timestamp.parse().unwrap(),
        &nonce,
    )
    .unwrap_or_else(|e| panic!("{}: {e:?}", c.title))
}

#[test]
fn the_signer_reproduces_the_badsecret_captures_byte_for_byte() {
    let mut reproduced = 0;
    for c in captures()
        .into_iter()
        .filter(|c| c.flavour().ends_with("-badsecret"))
    {
        match c.scheme.as_str() {
            "ACS3-HMAC-SHA256" => {
                let signed = resign_acs3(&c, BAD_SECRET);
                assert_eq!(
                    signed.authorization(),
                    c.header("Authorization").unwrap(),
                    "{}",
                    c.title
                );
                for (name, value) in signed.headers() {
                    assert_eq!(c.header(name), Some(value.as_str()), "{}: {name}", c.title);
                }
            }
            _ => {
                let params = resign_rpc(&c, BAD_SECRET);
                let (name, signature) = params.last().unwrap();
                assert_eq!(name, "Signature");
                let sent = decode_form(&c.query)
                    .into_iter()
                    .find(|(k, _)| k == "Signature")
                    .unwrap()
                    .1;
                assert_eq!(signature, &sent, "{}", c.title);
            }
        }
        reproduced += 1;
    }
    assert_eq!(reproduced, 6);
}

/// Every capture (whatever its unknown secret), signed again from its parameters, has the
/// canonical request and string to sign the SDK printed, and verifies with our secret.
#[test]
fn the_signer_rebuilds_every_captures_signed_strings() {
    let mut rebuilt = 0;
    for c in captures() {
        match c.scheme.as_str() {
            "ACS3-HMAC-SHA256" => {
                let signed = resign_acs3(&c, "any");
                if let Some(canonical) = &c.canonical_request {
                    assert_eq!(signed.canonical_request(), canonical, "{}", c.title);
                    rebuilt += 1;
                }
                if let Some(sts) = &c.string_to_sign {
                    assert_eq!(signed.string_to_sign(), sts, "{}", c.title);
                }
                let mut headers: Vec<(String, String)> = c
                    .headers
                    .iter()
                    .filter(|(k, _)| !k.eq_ignore_ascii_case("authorization"))
                    .cloned()
                    .collect();
                headers.push(("Authorization".into(), signed.authorization().to_owned()));
                let req = c.parse_with(&headers, &c.query, &c.body).unwrap();
                assert_eq!(req.verify(&Secret::from("any")), Ok(()), "{}", c.title);
            }
            _ => {
                let params = resign_rpc(&c, "any");
                let query = tessera_credentials::signature::encode_params(&params);
                let req =
                    SignedRequest::parse(&c.method, &c.path, &query, [("", ""); 0], b"").unwrap();
                assert_eq!(req.verify(&Secret::from("any")), Ok(()), "{}", c.title);
                if let Some(sts) = &c.string_to_sign {
                    assert!(req.strings_to_sign().contains(&sts.as_str()), "{}", c.title);
                    rebuilt += 1;
                }
            }
        }
    }
    assert_eq!(rebuilt, 50);
}
