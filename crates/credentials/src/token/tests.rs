use super::*;
use crate::{MasterKey, Sealer};
use jsonwebtoken::{EncodingKey, Header};

const ISSUER: &str = "tessera";

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn typical_claims(access_key_id: &str) -> SessionClaims {
    let mut rng = rand::rng();
    SessionClaims {
        issuer: ISSUER.into(),
        account_id: "1234567890123456".into(),
        subject: SessionSubject::Role {
            role_id: "300123456789012345".into(),
            role_name: "test-role".into(),
            session_name: "alice-session".into(),
            source_identity: None,
        },
        issued_at: at("2026-11-22T04:42:03Z"),
        expires_at: at("2026-11-22T05:42:03Z"),
        token_id: new_token_id(&mut rng),
        access_key_id: access_key_id.into(),
        session_policy: None,
    }
}

fn key() -> SigningKey {
    SigningKey::generate(&mut rand::rng()).unwrap()
}

fn verifier(keys: &[&SigningKey]) -> TokenVerifier {
    keys.iter().fold(TokenVerifier::new(ISSUER), |v, k| {
        v.with_key(k.public_key().clone())
    })
}

fn segment_json(token: &str, index: usize) -> serde_json::Value {
    let part = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// `token` verifies to `claims` (at a time it is valid), also as the token of
/// `access_key_id`.
fn assert_verifies(k: &SigningKey, token: &str, claims: &SessionClaims, access_key_id: &str) {
    let now = at("2026-11-22T05:00:00Z");
    assert_eq!(verifier(&[k]).verify(token, now), Ok(claims.clone()));
    assert_eq!(
        verifier(&[k]).verify_for_access_key(token, access_key_id, now),
        Ok(claims.clone())
    );
}

#[test]
fn issue_and_verify_round_trip() {
    let k = key();
    let claims = typical_claims("STS.NUgYrLnoC37mZZCNnAbe");
    let token = TokenIssuer::issue(&claims, &k).unwrap();
    assert_verifies(&k, &token, &claims, "STS.NUgYrLnoC37mZZCNnAbe");
    assert_eq!(
        claims.role_arn().as_deref(),
        Some("acs:ram::1234567890123456:role/test-role")
    );
    assert_eq!(
        claims.assumed_role_id().as_deref(),
        Some("300123456789012345:alice-session")
    );

    // Header and claim names are the compact ones documented.
    let header = segment_json(&token, 0);
    assert_eq!(header, serde_json::json!({"alg": "EdDSA", "kid": k.kid()}));
    let body = segment_json(&token, 1);
    let names: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        ["acc", "ak", "exp", "iat", "iss", "jti", "rid", "rn", "sn"]
    );
    assert_eq!(body["exp"], 1_795_326_123_i64);
    assert_eq!(claims.token_id.len(), 22);
}

#[test]
fn the_access_key_id_is_left_out_when_the_token_id_names_it() {
    // As Tessera issues them: the token id is the STS key id's random part.
    let k = key();
    let mut claims = typical_claims("STS.NUgYrLnoC37mZZCNnAbe");
    claims.token_id = "NUgYrLnoC37mZZCNnAbe".into();
    let token = TokenIssuer::issue(&claims, &k).unwrap();
    let body = segment_json(&token, 1);
    assert!(body.get("ak").is_none(), "{body}");
    assert_verifies(&k, &token, &claims, "STS.NUgYrLnoC37mZZCNnAbe");
    let now = at("2026-11-22T05:00:00Z");
    assert_eq!(
        verifier(&[&k]).verify_for_access_key(&token, "STS.NUgYrLnoC37mZZCNnAbX", now),
        Err(TokenError::MismatchWithAccessKey)
    );
    // Shorter than the same session with an unrelated token id (which carries `ak`).
    let other = TokenIssuer::issue(&typical_claims("STS.NUgYrLnoC37mZZCNnAbe"), &k).unwrap();
    assert!(
        token.len() + 40 < other.len(),
        "{} vs {}",
        token.len(),
        other.len()
    );
    assert!(token.len() < 380, "{} bytes", token.len());
}

#[test]
fn tokens_signed_here_verify_with_jsonwebtoken_alone() {
    let k = key();
    let token = TokenIssuer::issue(&typical_claims("STS.NUgYrLnoC37mZZCNnAbe"), &k).unwrap();
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    let decoded = jsonwebtoken::decode::<serde_json::Value>(
        &token,
        &DecodingKey::from_ed_der(k.public_key().as_bytes()),
        &validation,
    )
    .unwrap();
    assert_eq!(decoded.header.kid.as_deref(), Some(k.kid()));
    assert_eq!(decoded.claims["rn"], "test-role");
}

#[test]
fn token_size_for_a_typical_session() {
    let k = key();
    let mut claims = typical_claims("STS.NUgYrLnoC37mZZCNnAbe");
    let token = TokenIssuer::issue(&claims, &k).unwrap();
    eprintln!("typical token: {} bytes: {token}", token.len());
    assert!(token.len() < 600, "{} bytes", token.len());

    if let SessionSubject::Role {
        source_identity, ..
    } = &mut claims.subject
    {
        *source_identity = Some("alice@example.com".into());
    }
    claims.session_policy = Some(
        r#"{"Version": "1", "Statement": [{"Effect": "Allow", "Action": ["oss:Get*", "oss:List*"], "Resource": ["acs:oss:*:*:bucket-a/*"]}]}"#
            .into(),
    );
    let with_policy = TokenIssuer::issue(&claims, &k).unwrap();
    eprintln!(
        "with source identity and a {}-byte session policy: {} bytes",
        claims.session_policy.as_ref().unwrap().len(),
        with_policy.len()
    );
    let back = verifier(&[&k])
        .verify(&with_policy, at("2026-11-22T05:00:00Z"))
        .unwrap();
    // Inline and compacted (whitespace outside strings removed).
    assert_eq!(
        back.session_policy.as_deref(),
        Some(
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":["oss:Get*","oss:List*"],"Resource":["acs:oss:*:*:bucket-a/*"]}]}"#
        )
    );
    assert!(matches!(
        &back.subject,
        SessionSubject::Role { source_identity: Some(s), .. } if s == "alice@example.com"
    ));
    let body = segment_json(&with_policy, 1);
    assert!(body["pol"].is_object());
}

fn user_claims(mfa_present: bool) -> SessionClaims {
    SessionClaims {
        subject: SessionSubject::User {
            user_id: "208123456789012345".into(),
            user_name: "alice".into(),
            mfa_present,
        },
        ..typical_claims("STS.NUgYrLnoC37mZZCNnAbe")
    }
}

#[test]
fn user_sessions_round_trip_with_their_own_claims() {
    let k = key();
    let now = at("2026-11-22T05:00:00Z");
    for mfa in [false, true] {
        let claims = user_claims(mfa);
        let token = TokenIssuer::issue(&claims, &k).unwrap();
        eprintln!("user session token (mfa {mfa}): {} bytes", token.len());
        assert!(token.len() < 400, "{} bytes", token.len());
        assert_eq!(verifier(&[&k]).verify(&token, now), Ok(claims.clone()));
        assert_eq!(claims.role_arn(), None);
        assert_eq!(claims.assumed_role_id(), None);
        let body = segment_json(&token, 1);
        let mut names: Vec<&str> = body
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        names.sort_unstable();
        let expected: &[&str] = if mfa {
            &["acc", "ak", "exp", "iat", "iss", "jti", "mfa", "uid", "un"]
        } else {
            &["acc", "ak", "exp", "iat", "iss", "jti", "uid", "un"]
        };
        assert_eq!(names, expected);
    }
}

#[test]
fn mixed_or_incomplete_subjects_are_malformed() {
    let k = key();
    let now = at("2026-11-22T05:00:00Z");
    let sign = |edit: &dyn Fn(&mut WireClaims)| {
        let mut wire = WireClaims::from_claims(&typical_claims("STS.a")).unwrap();
        edit(&mut wire);
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = None;
        header.kid = Some(k.kid().to_owned());
        jsonwebtoken::encode(
            &header,
            &wire,
            &EncodingKey::from_ed_der(k.to_pkcs8_der().expose()),
        )
        .unwrap()
    };
    type Edit<'a> = &'a dyn Fn(&mut WireClaims);
    let cases: [(&str, Edit<'_>); 5] = [
        ("role and user", &|w| w.uid = Some("u".into())),
        ("role without a session name", &|w| w.sn = None),
        ("role with mfa", &|w| w.mfa = true),
        ("user with a source identity", &|w| {
            w.rid = None;
            w.rn = None;
            w.sn = None;
            w.uid = Some("u".into());
            w.un = Some("alice".into());
            w.si = Some("x@y".into());
        }),
        ("nobody", &|w| {
            w.rid = None;
            w.rn = None;
            w.sn = None;
        }),
    ];
    for (name, edit) in cases {
        assert_eq!(
            verifier(&[&k]).verify(&sign(edit), now),
            Err(TokenError::Malformed("neither a role nor a user session")),
            "{name}"
        );
    }
    // The untouched claims verify, so the refusals above are the subject's.
    assert!(verifier(&[&k]).verify(&sign(&|_| {}), now).is_ok());
}

#[test]
fn session_policies_must_be_json() {
    let mut claims = typical_claims("STS.a");
    claims.session_policy = Some("{not json".into());
    assert_eq!(
        TokenIssuer::issue(&claims, &key()),
        Err(TokenError::Issue("the session policy is not valid JSON"))
    );
    // Whitespace inside strings is kept.
    assert_eq!(
        compact_json(r#"{ "a b" : "c \" d" }"#),
        r#"{"a b":"c \" d"}"#
    );
}

#[test]
fn expiry_is_checked_against_now_with_leeway() {
    let k = key();
    let claims = typical_claims("STS.a");
    let token = TokenIssuer::issue(&claims, &k).unwrap();
    let v = verifier(&[&k]);
    assert!(v.verify(&token, at("2026-11-22T05:42:33Z")).is_ok());
    let err = v.verify(&token, at("2026-11-22T05:42:34Z")).unwrap_err();
    assert_eq!(err, TokenError::Expired);
    assert_eq!(err.code(), "InvalidSecurityToken.Expired");
    let strict = verifier(&[&k]).with_leeway(SignedDuration::ZERO);
    assert!(strict.verify(&token, at("2026-11-22T05:42:03Z")).is_ok());
    assert_eq!(
        strict.verify(&token, at("2026-11-22T05:42:04Z")),
        Err(TokenError::Expired)
    );
    // Issued in the future.
    assert!(v.verify(&token, at("2026-11-22T04:41:33Z")).is_ok());
    let err = v.verify(&token, at("2026-11-22T04:41:32Z")).unwrap_err();
    assert_eq!(err, TokenError::NotYetValid);
    assert_eq!(err.code(), "InvalidSecurityToken.Malformed");
    // exp before iat.
    let mut backwards = typical_claims("STS.a");
    backwards.expires_at = backwards.issued_at;
    let token = TokenIssuer::issue(&backwards, &k).unwrap();
    assert!(matches!(
        v.verify(&token, at("2026-11-22T04:42:03Z")),
        Err(TokenError::Malformed(_))
    ));
}

#[test]
fn the_token_must_belong_to_the_request_access_key() {
    let k = key();
    let token = TokenIssuer::issue(&typical_claims("STS.a"), &k).unwrap();
    let err = verifier(&[&k])
        .verify_for_access_key(&token, "STS.b", at("2026-11-22T05:00:00Z"))
        .unwrap_err();
    assert_eq!(err, TokenError::MismatchWithAccessKey);
    assert_eq!(err.code(), "InvalidSecurityToken.MismatchWithAccessKey");
}

#[test]
fn keys_rotate_by_kid() {
    let old = key();
    let new = key();
    assert_ne!(old.kid(), new.kid());
    let now = at("2026-11-22T05:00:00Z");
    let by_old = TokenIssuer::issue(&typical_claims("STS.a"), &old).unwrap();
    let by_new = TokenIssuer::issue(&typical_claims("STS.a"), &new).unwrap();
    let mut v = verifier(&[&new, &old]);
    assert!(v.verify(&by_old, now).is_ok());
    assert!(v.verify(&by_new, now).is_ok());
    v.remove_key(old.kid());
    let err = v.verify(&by_old, now).unwrap_err();
    assert_eq!(err, TokenError::UnknownKey(old.kid().to_owned()));
    assert_eq!(err.code(), "InvalidSecurityToken.Malformed");
    assert!(v.verify(&by_new, now).is_ok());
    // A key with a colliding kid but other bytes does not verify.
    let impostor = PublicKey::from_bytes(old.public_key().as_bytes(), Some(new.kid())).unwrap();
    let v = TokenVerifier::new(ISSUER).with_key(impostor);
    assert_eq!(v.verify(&by_new, now), Err(TokenError::BadSignature));
}

#[test]
fn tampered_tokens_fail() {
    let k = key();
    let v = verifier(&[&k]);
    let now = at("2026-11-22T05:00:00Z");
    let token = TokenIssuer::issue(&typical_claims("STS.a"), &k).unwrap();
    let parts: Vec<&str> = token.split('.').collect();

    // Another payload with the original signature.
    let mut forged_claims = typical_claims("STS.a");
    if let SessionSubject::Role { role_name, .. } = &mut forged_claims.subject {
        *role_name = "admin".into();
    }
    let forged = TokenIssuer::issue(&forged_claims, &k).unwrap();
    let forged_payload = forged.split('.').nth(1).unwrap();
    let spliced = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
    assert_eq!(v.verify(&spliced, now), Err(TokenError::BadSignature));

    // A flipped signature bit.
    let mut sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    sig[0] ^= 1;
    let flipped = format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode(sig));
    assert_eq!(v.verify(&flipped, now), Err(TokenError::BadSignature));

    // Garbage.
    for junk in ["", "a.b", "a.b.c", "....", &"x".repeat(MAX_TOKEN_LEN + 1)] {
        assert!(
            matches!(v.verify(junk, now), Err(TokenError::Malformed(_))),
            "{junk}"
        );
    }
    // Wrong issuer.
    let mut other = typical_claims("STS.a");
    other.issuer = "someone-else".into();
    let token = TokenIssuer::issue(&other, &k).unwrap();
    assert_eq!(v.verify(&token, now), Err(TokenError::WrongIssuer));
}

#[test]
fn algorithm_none_and_hmac_are_refused() {
    let k = key();
    let v = verifier(&[&k]);
    let now = at("2026-11-22T05:00:00Z");
    let token = TokenIssuer::issue(&typical_claims("STS.a"), &k).unwrap();
    let payload = token.split('.').nth(1).unwrap();

    let none_header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"none","kid":"{}"}}"#, k.kid()));
    for sig in ["", "AAAA"] {
        let forged = format!("{none_header}.{payload}.{sig}");
        assert!(matches!(
            v.verify(&forged, now),
            Err(TokenError::Malformed(_))
        ));
    }

    // HS256 keyed with the (public) Ed25519 key bytes: the classic key-confusion attack.
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(k.kid().to_owned());
    let wire = WireClaims::from_claims(&typical_claims("STS.a")).unwrap();
    let hs = jsonwebtoken::encode(
        &header,
        &wire,
        &EncodingKey::from_secret(k.public_key().as_bytes()),
    )
    .unwrap();
    assert_eq!(
        v.verify(&hs, now),
        Err(TokenError::Malformed("algorithm not allowed"))
    );
}

#[test]
fn unknown_claims_are_refused() {
    #[derive(Serialize)]
    struct Extra<'a> {
        #[serde(flatten)]
        base: &'a WireClaims,
        admin: bool,
    }
    let k = key();
    let wire = WireClaims::from_claims(&typical_claims("STS.a")).unwrap();
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(k.kid().to_owned());
    let token = jsonwebtoken::encode(
        &header,
        &Extra {
            base: &wire,
            admin: true,
        },
        &EncodingKey::from_ed_der(k.to_pkcs8_der().expose()),
    )
    .unwrap();
    assert_eq!(
        verifier(&[&k]).verify(&token, at("2026-11-22T05:00:00Z")),
        Err(TokenError::Malformed("bad claims"))
    );
}

#[test]
fn signing_keys_export_as_pkcs8_for_sealing() {
    let k = key();
    let der = k.to_pkcs8_der();
    assert!(!format!("{k:?}").contains(&format!("{:?}", der.expose())));
    let sealer = Sealer::new(MasterKey::new(1, &[9; 32]).unwrap());
    let sealed = sealer.seal(&der, k.kid().as_bytes()).unwrap();
    let reloaded =
        SigningKey::from_pkcs8_der(&sealer.open(&sealed, k.kid().as_bytes()).unwrap(), None)
            .unwrap();
    assert_eq!(reloaded.kid(), k.kid());
    assert_eq!(reloaded.public_key(), k.public_key());
    // A token signed by the reloaded key verifies with the original public key.
    let token = TokenIssuer::issue(&typical_claims("STS.a"), &reloaded).unwrap();
    assert!(
        verifier(&[&k])
            .verify(&token, at("2026-11-22T05:00:00Z"))
            .is_ok()
    );
    // An explicit kid is kept; the thumbprint kid is stable.
    let named = SigningKey::from_pkcs8_der(&der, Some("2026-11-k1")).unwrap();
    assert_eq!(named.kid(), "2026-11-k1");
    assert_eq!(
        PublicKey::thumbprint_kid(k.public_key().as_bytes()),
        k.kid()
    );
    assert_eq!(k.kid().len(), 16);
    // Bad inputs.
    assert!(matches!(
        SigningKey::from_pkcs8_der(&Secret::from("nope"), None),
        Err(TokenError::InvalidKey(_))
    ));
    assert!(matches!(
        PublicKey::from_bytes(&[1; 31], None),
        Err(TokenError::InvalidKey(_))
    ));
}

#[test]
fn thumbprint_matches_rfc_8037_example() {
    // RFC 8037 appendix A.3: the thumbprint of the A.2 public key.
    let x = URL_SAFE_NO_PAD
        .decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
        .unwrap();
    let key = PublicKey::from_bytes(&x, None).unwrap();
    assert_eq!(
        key.kid(),
        &"kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"[..16]
    );
}

#[test]
fn jwks_publishes_the_keys_and_round_trips() {
    let a = key();
    let b = key();
    let v = verifier(&[&a, &b]);
    let doc = v.jwks();
    let json: serde_json::Value = serde_json::from_str(&doc).unwrap();
    let keys = json["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(
        keys[0],
        serde_json::json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "x": URL_SAFE_NO_PAD.encode(a.public_key().as_bytes()),
            "kid": a.kid(),
            "alg": "EdDSA",
            "use": "sig",
        })
    );
    assert!(doc.starts_with(r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":""#));
    assert_eq!(jwks(v.keys()), doc);

    // A verifier built from the JWKS (as a service verifying offline would) accepts tokens.
    let offline = TokenVerifier::from_jwks(ISSUER, &doc).unwrap();
    let token = TokenIssuer::issue(&typical_claims("STS.a"), &b).unwrap();
    assert!(offline.verify(&token, at("2026-11-22T05:00:00Z")).is_ok());
    // Non-Ed25519 keys are skipped; junk is refused.
    let mixed = r#"{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}"#;
    assert_eq!(
        TokenVerifier::from_jwks(ISSUER, mixed)
            .unwrap()
            .keys()
            .count(),
        0
    );
    assert!(TokenVerifier::from_jwks(ISSUER, "[]").is_err());
    assert!(format!("{offline:?}").contains(b.kid()));
}
