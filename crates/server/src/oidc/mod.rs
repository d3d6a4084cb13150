//! OIDC token verification for `AssumeRoleWithOIDC`: [`OidcVerifier::verify`] takes the token
//! as received, the provider it claims to come from and the request time, and answers the
//! verified claims ([`tessera_iam::oidc::Verified`]) or the error the caller gets.
//!
//! In order:
//! 1. size: 4–20,000 characters (`InvalidParameter.OIDCToken.Length`);
//! 2. the header: a compact JWS whose `alg` is an asymmetric algorithm — RS256/384/512,
//!    PS256/384/512, ES256/384 or EdDSA. `none` and the HMAC algorithms are refused by name
//!    (`AuthenticationFail.OIDCToken.Invalid`), so a public key can never be used as an HMAC
//!    secret;
//! 3. the key: the issuer's JWKS ([`keys`]: discovered from
//!    `<IssuerUrl>/.well-known/openid-configuration`, cached with a TTL, refetched on an unknown
//!    `kid`; fetched as [`fetch`] says), the key named by `kid` (without a `kid`, every key of
//!    the algorithm's family is tried). Only signing keys (`use` absent or `sig`) of the token's
//!    algorithm family whose `alg`, if given, is the token's count. No such key:
//!    `AuthenticationFail.OIDCToken.InvalidSignature`;
//! 4. the signature (`jsonwebtoken`): `AuthenticationFail.OIDCToken.InvalidSignature`;
//! 5. the claims, with the time passed in ([`tessera_iam::oidc::check_claims`]): `iss`, `aud`,
//!    `exp`, `nbf`, `iat` (60 s leeway), `IssuanceLimitTime`, `sub`.
//!
//! Keys that cannot be fetched (and are not cached, or outlived their TTL) are
//! `ServiceUnavailable.OIDCProvider` (503, retryable): the token may well be valid, the caller
//! should try again rather than treat it as rejected. A TLS failure reaching the issuer is
//! `AuthenticationFail.OIDCToken.HttpsUrlInvalid`.

pub mod fetch;
pub mod keys;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use tessera_iam::{Error, oidc};
use tessera_store::OidcProvider;

use crate::config::OidcSettings;
use fetch::{CaFileError, Fetcher};
use keys::KeyCache;

/// The algorithms a token may be signed with.
pub const ALLOWED_ALGORITHMS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Keys without a `kid` tried at most for a token without one.
const MAX_CANDIDATES: usize = 16;

/// Verifies OIDC tokens (see the module documentation). Cheap to clone; clones share the key
/// cache.
#[derive(Debug, Clone)]
pub struct OidcVerifier {
    keys: KeyCache,
}

impl OidcVerifier {
    /// A verifier with `settings`' TTL, timeout, CA file and HTTP allowance.
    pub fn new(settings: &OidcSettings) -> Result<OidcVerifier, CaFileError> {
        let fetcher = Fetcher::new(
            settings.fetch_timeout,
            settings.allow_http_issuers,
            settings.ca_file.as_deref(),
        )?;
        Ok(OidcVerifier {
            keys: KeyCache::new(fetcher, settings.jwks_ttl),
        })
    }

    /// Verifies `token` as issued by `provider`'s issuer, at `now`.
    pub async fn verify(
        &self,
        token: &str,
        provider: &OidcProvider,
        now: Timestamp,
    ) -> Result<oidc::Verified, Error> {
        let length = token.chars().count();
        if !(oidc::TOKEN_MIN_CHARS..=oidc::TOKEN_MAX_CHARS).contains(&length) {
            return Err(Error::length(
                "OIDCToken",
                oidc::TOKEN_MIN_CHARS,
                oidc::TOKEN_MAX_CHARS,
            ));
        }
        let algorithm = algorithm(token)?;
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| Error::oidc_token_invalid("The header of the token does not parse."))?;
        let kid = header.kid.as_deref();
        let found = self
            .keys
            .lookup(&provider.issuer_url, &provider.fingerprints, kid, now)
            .await?;
        let candidates: Vec<&Jwk> = match kid {
            Some(kid) => found.set.find(kid).into_iter().collect(),
            None => found.set.keys.iter().take(MAX_CANDIDATES).collect(),
        };
        let usable: Vec<DecodingKey> = candidates
            .into_iter()
            .filter(|jwk| fits(jwk, algorithm))
            .filter_map(|jwk| DecodingKey::from_jwk(jwk).ok())
            .collect();
        if usable.is_empty() {
            if let Some(error) = found.refresh_failed {
                return Err(error);
            }
            return Err(Error::oidc_invalid_signature(match kid {
                Some(_) => {
                    "No signing key of the OIDC provider's issuer has the token's kid \
                            for its algorithm."
                }
                None => {
                    "No signing key of the OIDC provider's issuer fits the token's \
                         algorithm."
                }
            }));
        }
        let mut validation = Validation::new(algorithm);
        // The claims are checked below, with the request's time and Alibaba's error codes.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let mut last = None;
        for key in &usable {
            match jsonwebtoken::decode::<Value>(token, key, &validation) {
                Ok(data) => return check(&data.claims, provider, now),
                Err(e) => last = Some(e),
            }
        }
        use jsonwebtoken::errors::ErrorKind as K;
        // The signature is decoded and verified before the payload is read: a base64 error
        // is the signature's, a JSON or UTF-8 one the (signed) payload's.
        Err(match last.as_ref().map(|e| e.kind()) {
            Some(K::Json(_) | K::Utf8(_)) => {
                Error::oidc_token_invalid("The claims of the token are not a JSON object.")
            }
            _ => Error::oidc_invalid_signature(
                "The signature of the token does not verify with the OIDC provider's key.",
            ),
        })
    }
}

/// The token's `alg`, read from the header before anything else so that `none` and HMAC get
/// a clear refusal.
fn algorithm(token: &str) -> Result<Algorithm, Error> {
    let malformed = || {
        Error::oidc_token_invalid(
            "The token is not a JSON Web Token: three base64url parts separated by '.'.",
        )
    };
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed());
    };
    let header: Value = URL_SAFE_NO_PAD
        .decode(header)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(malformed)?;
    let name = header["alg"].as_str().unwrap_or_default();
    ALLOWED_ALGORITHMS
        .iter()
        .copied()
        .find(|a| format!("{a:?}") == name)
        .ok_or_else(|| {
            let name: String = name.chars().take(16).collect();
            Error::oidc_token_invalid(format!(
                "The algorithm \"{name}\" of the token is not allowed: use RS256, RS384, RS512, \
                 PS256, PS384, PS512, ES256, ES384 or EdDSA."
            ))
        })
}

/// Whether `jwk` may verify a token signed with `algorithm`.
fn fits(jwk: &Jwk, algorithm: Algorithm) -> bool {
    if matches!(&jwk.common.public_key_use, Some(u) if *u != PublicKeyUse::Signature) {
        return false;
    }
    if let Some(alg) = &jwk.common.key_algorithm
        && format!("{alg:?}") != format!("{algorithm:?}")
    {
        return false;
    }
    let family = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => jsonwebtoken::AlgorithmFamily::Rsa,
        AlgorithmParameters::EllipticCurve(_) => jsonwebtoken::AlgorithmFamily::Ec,
        AlgorithmParameters::OctetKeyPair(_) => jsonwebtoken::AlgorithmFamily::Ed,
        // Symmetric or unknown keys never verify an OIDC token.
        _ => return false,
    };
    family == algorithm.family()
}

/// Reads the registered claims and checks them against `provider` at `now`.
fn check(claims: &Value, provider: &OidcProvider, now: Timestamp) -> Result<oidc::Verified, Error> {
    if !claims.is_object() {
        return Err(Error::oidc_token_invalid(
            "The claims of the token are not a JSON object.",
        ));
    }
    let text = |name: &str| claims[name].as_str().map(str::to_owned);
    // NumericDate may be fractional (RFC 7519 §2); whole seconds are what counts here.
    let date = |name: &str| {
        let v = &claims[name];
        v.as_i64().or_else(|| {
            v.as_f64()
                .filter(|f| f.is_finite())
                .map(|f| f.floor() as i64)
        })
    };
    let audiences = match &claims["aud"] {
        Value::String(a) => vec![a.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(|a| a.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    let read = oidc::TokenClaims {
        issuer: text("iss"),
        subject: text("sub"),
        audiences,
        expires_at: date("exp"),
        not_before: date("nbf"),
        issued_at: date("iat"),
    };
    oidc::check_claims(
        &read,
        &oidc::ProviderFacts {
            issuer_url: &provider.issuer_url,
            client_ids: &provider.client_ids,
            issuance_limit_hours: provider.issuance_limit_hours,
        },
        now,
    )
}

#[cfg(test)]
#[path = "../../tests/support/oidc.rs"]
mod issuer;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::time::Duration;

    use jiff::SignedDuration;
    use serde_json::json;

    use super::issuer::{Issuer, KeyKind, SigningKey};
    use super::*;

    const TTL: Duration = Duration::from_secs(600);

    fn verifier(ca_file: Option<std::path::PathBuf>) -> OidcVerifier {
        OidcVerifier::new(&OidcSettings {
            jwks_ttl: TTL,
            fetch_timeout: Duration::from_secs(5),
            ca_file,
            allow_http_issuers: true,
        })
        .unwrap()
    }

    fn provider(issuer: &Issuer, fingerprints: &[&str]) -> OidcProvider {
        OidcProvider {
            name: "test".into(),
            issuer_url: issuer.url.clone(),
            client_ids: vec!["sts.aliyuncs.com".into(), "other".into()],
            fingerprints: fingerprints.iter().map(|f| (*f).to_owned()).collect(),
            description: String::new(),
            issuance_limit_hours: 12,
            created_at: Timestamp::UNIX_EPOCH,
            updated_at: Timestamp::UNIX_EPOCH,
        }
    }

    fn now() -> Timestamp {
        Timestamp::from_second(Timestamp::now().as_second()).unwrap()
    }

    fn later(t: Timestamp, seconds: i64) -> Timestamp {
        t.checked_add(SignedDuration::from_secs(seconds)).unwrap()
    }

    async fn code(v: &OidcVerifier, token: &str, p: &OidcProvider, at: Timestamp) -> String {
        match v.verify(token, p, at).await {
            Ok(_) => "OK".into(),
            Err(e) => e.code().to_owned(),
        }
    }

    fn b64(value: &Value) -> String {
        URL_SAFE_NO_PAD.encode(value.to_string())
    }

    #[tokio::test]
    async fn tokens_are_verified_against_the_issuers_keys() {
        let issuer = Issuer::start(KeyKind::Es256).await;
        let v = verifier(None);
        let p = provider(&issuer, &[]);
        let t = now();
        let s = t.as_second();
        let good = issuer.token("system:serviceaccount:apps:web", "sts.aliyuncs.com", s);
        let verified = v.verify(&good, &p, t).await.unwrap();
        assert_eq!(verified.subject, "system:serviceaccount:apps:web");
        assert_eq!(verified.issuer, issuer.url);
        assert_eq!(verified.client_ids, ["sts.aliyuncs.com"]);
        assert_eq!(verified.issued_at.as_second(), s);
        assert_eq!(verified.expires_at.as_second(), s + 3600);

        let mut claims = issuer.claims("sub", "sts.aliyuncs.com", s);
        let key = issuer.key();
        let with = |change: &dyn Fn(&mut Value)| {
            let mut c = claims.clone();
            change(&mut c);
            key.sign(&c)
        };
        let cases: Vec<(&str, String, &str)> = vec![
            (
                "wrong audience",
                with(&|c| c["aud"] = json!("someone-else")),
                "AuthenticationFail.OIDCToken.AudienceNotMatch",
            ),
            (
                "audience list",
                with(&|c| c["aud"] = json!(["x", "other"])),
                "OK",
            ),
            (
                "wrong issuer",
                with(&|c| c["iss"] = json!("https://evil.example")),
                "AuthenticationFail.OIDCToken.Invalid",
            ),
            (
                "expired",
                with(&|c| c["exp"] = json!(s - 120)),
                "AuthenticationFail.OIDCToken.Expired",
            ),
            (
                "fractional dates",
                with(&|c| c["exp"] = json!(s as f64 + 600.5)),
                "OK",
            ),
            (
                "not yet valid",
                with(&|c| c["nbf"] = json!(s + 600)),
                "AuthenticationFail.OIDCToken.Invalid",
            ),
            (
                "no subject",
                with(&|c| c["sub"] = Value::Null),
                "AuthenticationFail.OIDCToken.Invalid",
            ),
            (
                "too old",
                with(&|c| c["iat"] = json!(s - 13 * 3600)),
                "AuthenticationFail.OIDCToken.Invalid",
            ),
        ];
        for (name, token, expected) in cases {
            assert_eq!(code(&v, &token, &p, t).await, expected, "{name}");
        }

        // Another key under the issuer's kid: the signature does not verify.
        let forged = SigningKey::generate(KeyKind::Es256, &key.kid).sign(&claims);
        assert_eq!(
            code(&v, &forged, &p, t).await,
            "AuthenticationFail.OIDCToken.InvalidSignature"
        );
        // A tampered payload.
        let parts: Vec<&str> = good.split('.').collect();
        claims["sub"] = json!("system:serviceaccount:kube-system:admin");
        let tampered = format!("{}.{}.{}", parts[0], b64(&claims), parts[2]);
        assert_eq!(
            code(&v, &tampered, &p, t).await,
            "AuthenticationFail.OIDCToken.InvalidSignature"
        );
        // alg none, and HMAC with the public key as the secret.
        let none = format!(
            "{}.{}.",
            b64(&json!({"alg": "none", "kid": key.kid})),
            b64(&claims)
        );
        assert_eq!(
            code(&v, &none, &p, t).await,
            "AuthenticationFail.OIDCToken.Invalid"
        );
        let err = v.verify(&none, &p, t).await.unwrap_err();
        assert!(err.message().contains("\"none\""), "{err}");
        let public = serde_json::to_vec(&key.jwk).unwrap();
        let mut header = jsonwebtoken::Header::new(Algorithm::HS256);
        header.kid = Some(key.kid.clone());
        let hmac = jsonwebtoken::encode(
            &header,
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(&public),
        )
        .unwrap();
        assert_eq!(
            code(&v, &hmac, &p, t).await,
            "AuthenticationFail.OIDCToken.Invalid"
        );
        // Malformed, too short, too long.
        for (token, expected) in [
            ("a.b", "InvalidParameter.OIDCToken.Length"),
            ("abc.def", "AuthenticationFail.OIDCToken.Invalid"),
            ("not-a-jwt-at-all", "AuthenticationFail.OIDCToken.Invalid"),
            ("a.b.c.d", "AuthenticationFail.OIDCToken.Invalid"),
        ] {
            assert_eq!(code(&v, token, &p, t).await, expected, "{token}");
        }
        let huge = format!("{}.{}.x", b64(&json!({"alg": "ES256"})), "a".repeat(20_000));
        assert_eq!(
            code(&v, &huge, &p, t).await,
            "InvalidParameter.OIDCToken.Length"
        );
        // One fetch served all of the above.
        assert_eq!(issuer.key_fetches(), 1);
    }

    #[tokio::test]
    async fn rotation_refetches_once_and_unknown_kids_cannot_hammer_the_issuer() {
        let issuer = Issuer::start(KeyKind::Es256).await;
        let v = verifier(None);
        let p = provider(&issuer, &[]);
        let t = now();
        let s = t.as_second();
        let before = issuer.token("a", "sts.aliyuncs.com", s);
        assert_eq!(code(&v, &before, &p, t).await, "OK");
        issuer.rotate(KeyKind::Rs256);
        let after = issuer.token("a", "sts.aliyuncs.com", s);
        assert_eq!(
            code(&v, &after, &p, t).await,
            "OK",
            "the new kid is fetched"
        );
        assert_eq!(issuer.key_fetches(), 2);
        // The old key left the issuer's set.
        assert_eq!(
            code(&v, &before, &p, t).await,
            "AuthenticationFail.OIDCToken.InvalidSignature"
        );
        let bogus = SigningKey::generate(KeyKind::Es256, "made-up");
        let token = bogus.sign(&issuer.claims("a", "sts.aliyuncs.com", s));
        for _ in 0..5 {
            assert_eq!(
                code(&v, &token, &p, t).await,
                "AuthenticationFail.OIDCToken.InvalidSignature"
            );
        }
        // The rotation's refetch was the last one allowed within the interval.
        assert_eq!(issuer.key_fetches(), 2);
        let t2 = later(t, 11);
        assert_eq!(
            code(&v, &token, &p, t2).await,
            "AuthenticationFail.OIDCToken.InvalidSignature"
        );
        assert_eq!(issuer.key_fetches(), 3, "one refetch per interval");
    }

    #[tokio::test]
    async fn cached_keys_outlive_the_issuer_until_their_ttl() {
        let issuer = Issuer::start(KeyKind::Es256).await;
        let v = verifier(None);
        let p = provider(&issuer, &[]);
        let t = now();
        let s = t.as_second();
        let token = issuer.token("a", "sts.aliyuncs.com", s);
        assert_eq!(code(&v, &token, &p, t).await, "OK");
        issuer.stop();
        let ttl = i64::try_from(TTL.as_secs()).unwrap();
        assert_eq!(code(&v, &token, &p, later(t, ttl - 1)).await, "OK");
        let expired = later(t, ttl);
        let err = v.verify(&token, &p, expired).await.unwrap_err();
        assert_eq!(err.code(), "ServiceUnavailable.OIDCProvider");
        assert_eq!(err.http_status(), 503);
        assert!(err.message().contains("could not be fetched"), "{err}");
        // An issuer that never answered: the same, at once.
        let gone = Issuer::start(KeyKind::Es256).await;
        let q = provider(&gone, &[]);
        gone.stop();
        let token = gone.token("a", "sts.aliyuncs.com", s);
        assert_eq!(
            code(&v, &token, &q, t).await,
            "ServiceUnavailable.OIDCProvider"
        );
    }

    #[tokio::test]
    async fn https_issuers_are_pinned_by_fingerprint_or_verified_against_trusted_roots() {
        let issuer = Issuer::start_tls(KeyKind::Es256).await;
        let fingerprint = issuer.fingerprint.clone().unwrap();
        let t = now();
        let token = issuer.token("a", "sts.aliyuncs.com", t.as_second());
        let v = verifier(None);
        assert_eq!(
            code(&v, &token, &provider(&issuer, &[&fingerprint]), t).await,
            "OK"
        );
        let other = "0123456789abcdef0123456789abcdef01234567";
        let wrong = provider(&issuer, &[other]);
        let err = v.verify(&token, &wrong, t).await.unwrap_err();
        assert_eq!(err.code(), "AuthenticationFail.OIDCToken.HttpsUrlInvalid");
        assert!(err.message().contains("fingerprint"), "{err}");
        // No fingerprints: the self-signed certificate is not among the trusted roots...
        assert_eq!(
            code(&v, &token, &provider(&issuer, &[]), t).await,
            "AuthenticationFail.OIDCToken.HttpsUrlInvalid"
        );
    }

    #[tokio::test]
    async fn a_configured_ca_file_is_trusted() {
        // An issuer whose certificate is issued by a CA of the CA file.
        let dir = tempfile::tempdir().unwrap();
        let issuer = Issuer::start_tls(KeyKind::Es256).await;
        let pem = issuer.certificate_pem.clone().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, pem).unwrap();
        let v = verifier(Some(path));
        let t = now();
        let token = issuer.token("a", "sts.aliyuncs.com", t.as_second());
        assert_eq!(code(&v, &token, &provider(&issuer, &[]), t).await, "OK");
        let missing = OidcVerifier::new(&OidcSettings {
            ca_file: Some(dir.path().join("nope.pem")),
            ..OidcSettings::default()
        });
        assert!(missing.is_err());
    }
}
