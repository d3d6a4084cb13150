//! Security tokens: compact JWS (RFC 7515) signed with Ed25519 (`alg` `EdDSA`), with a `kid`
//! naming the signing key, so any service holding the public keys (see [`jwks`]) can verify
//! them offline. A token travels on every request made with STS credentials, so its claims
//! are short. A token is either a *role session* (`AssumeRole`) or a *user session* (a RAM
//! user's `SignIn`), told apart by which claims it carries ([`SessionSubject`]):
//!
//! | claim | meaning | [`SessionClaims`] field |
//! |---|---|---|
//! | `iss` | issuer (the Tessera deployment) | `issuer` |
//! | `acc` | account id of the role or user | `account_id` |
//! | `rid` | role id (role sessions) | [`SessionSubject::Role`] `role_id` |
//! | `rn`  | role name (the role ARN is `acs:ram::<acc>:role/<rn>`) | `role_name` |
//! | `sn`  | role session name | `session_name` |
//! | `si`  | source identity (omitted when absent) | `source_identity` |
//! | `uid` | user id (user sessions) | [`SessionSubject::User`] `user_id` |
//! | `un`  | user name | `user_name` |
//! | `mfa` | `true` when the sign-in verified an MFA code (omitted when not) | `mfa_present` |
//! | `iat` | issued at, Unix seconds | `issued_at` |
//! | `exp` | expires at, Unix seconds | `expires_at` |
//! | `jti` | token id: the STS key id's random part as Tessera issues them ([`crate::sts::sts_token_id`]) | `token_id` |
//! | `ak`  | the STS access key id the token belongs to; omitted when it is `STS.` + `jti` (as Tessera issues them) | `access_key_id` |
//! | `pol` | session policy, inline as compact JSON (omitted when absent) | `session_policy` |
//!
//! A token with both role and user claims, or with neither complete, is malformed. A typical
//! role session token is about 370 bytes (header 52, claims about 230, signature 86 characters):
//! it travels on every call, so every byte is paid for many times.
//!
//! The header is `{"alg":"EdDSA","kid":"…"}` (no `typ`). Verification checks the signature
//! with the key named by `kid` (current or retired keys), the algorithm (only `EdDSA`: `none`
//! and `HS*` are refused before any key is used), the issuer and the expiry against a `now`
//! passed in, with a small leeway.
//!
//! Verification is jsonwebtoken's (its `rust_crypto` provider, ed25519-dalek). Signing uses
//! ed25519-dalek directly with the key parsed once: jsonwebtoken parses the PKCS#8 key and
//! derives its public key again on every signature, which doubled the cost of `AssumeRole`.
//! Enabling jsonwebtoken's `aws_lc_rs` feature as well anywhere in the workspace would leave
//! it without a default provider.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::Signer as _;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use jiff::{SignedDuration, Timestamp};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use rand::CryptoRng;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use crate::Secret;
use crate::sts::{STS_ACCESS_KEY_PREFIX, sts_token_id};

/// Tokens longer than this are refused without parsing.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;
/// Default clock leeway for `exp` and `iat`.
pub const DEFAULT_LEEWAY: SignedDuration = SignedDuration::from_secs(30);

/// Why a token could not be issued or verified. Messages never contain key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a well-formed token of ours. Code `InvalidSecurityToken.Malformed`.
    #[error("The security token is malformed: {0}.")]
    Malformed(&'static str),
    /// The signature does not verify. Code `InvalidSecurityToken.Malformed`.
    #[error("The security token signature is not valid.")]
    BadSignature,
    /// Signed by a key this verifier does not hold. Code `InvalidSecurityToken.Malformed`.
    #[error("The security token was signed by an unknown key ({0}).")]
    UnknownKey(String),
    /// Issued by another issuer. Code `InvalidSecurityToken.Malformed`.
    #[error("The security token was not issued by this service.")]
    WrongIssuer,
    /// Code `InvalidSecurityToken.Expired`.
    #[error("The security token has expired.")]
    Expired,
    /// Issued in the future (beyond the leeway). Code `InvalidSecurityToken.Malformed`.
    #[error("The security token is not valid yet.")]
    NotYetValid,
    /// The token belongs to another access key. Code
    /// `InvalidSecurityToken.MismatchWithAccessKey`.
    #[error("The security token does not belong to the access key used.")]
    MismatchWithAccessKey,
    /// A signing or public key could not be used. Code `InternalError`.
    #[error("invalid token key: {0}")]
    InvalidKey(&'static str),
    /// The claims could not be encoded. Code `InternalError`.
    #[error("the token could not be issued: {0}")]
    Issue(&'static str),
}

impl TokenError {
    /// The RAM/STS-style error code.
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::Expired => "InvalidSecurityToken.Expired",
            TokenError::MismatchWithAccessKey => "InvalidSecurityToken.MismatchWithAccessKey",
            TokenError::InvalidKey(_) | TokenError::Issue(_) => "InternalError",
            TokenError::Malformed(_)
            | TokenError::BadSignature
            | TokenError::UnknownKey(_)
            | TokenError::WrongIssuer
            | TokenError::NotYetValid => "InvalidSecurityToken.Malformed",
        }
    }
}

/// Whose session a security token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionSubject {
    /// A role session, made by `AssumeRole`.
    Role {
        role_id: String,
        role_name: String,
        session_name: String,
        source_identity: Option<String>,
    },
    /// A RAM user's session, made by `SignIn` (password and, when bound, an MFA code).
    User {
        user_id: String,
        user_name: String,
        /// Whether the sign-in verified an MFA code (`acs:MFAPresent`).
        mfa_present: bool,
    },
}

/// What a security token says about a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionClaims {
    pub issuer: String,
    /// The account of the role or user.
    pub account_id: String,
    pub subject: SessionSubject,
    /// Whole seconds (sub-second precision is dropped when issued).
    pub issued_at: Timestamp,
    /// Whole seconds.
    pub expires_at: Timestamp,
    pub token_id: String,
    pub access_key_id: String,
    /// The session policy as compact JSON text.
    pub session_policy: Option<String>,
}

impl SessionClaims {
    /// `acs:ram::<account>:role/<role name>` for a role session.
    pub fn role_arn(&self) -> Option<String> {
        match &self.subject {
            SessionSubject::Role { role_name, .. } => {
                Some(format!("acs:ram::{}:role/{role_name}", self.account_id))
            }
            SessionSubject::User { .. } => None,
        }
    }

    /// `<role id>:<session name>` (the AssumeRole `AssumedRoleUser.AssumedRoleId`) for a role
    /// session.
    pub fn assumed_role_id(&self) -> Option<String> {
        match &self.subject {
            SessionSubject::Role {
                role_id,
                session_name,
                ..
            } => Some(format!("{role_id}:{session_name}")),
            SessionSubject::User { .. } => None,
        }
    }
}

/// A fresh token id: 16 random bytes, base64url (22 characters).
pub fn new_token_id<R: CryptoRng + ?Sized>(rng: &mut R) -> String {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The claims as carried in the token.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireClaims {
    iss: String,
    acc: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    si: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    uid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    un: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    mfa: bool,
    iat: i64,
    exp: i64,
    jti: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ak: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pol: Option<Box<RawValue>>,
}

impl WireClaims {
    fn from_claims(c: &SessionClaims) -> Result<WireClaims, TokenError> {
        let pol = match &c.session_policy {
            Some(policy) => Some(
                RawValue::from_string(compact_json(policy))
                    .map_err(|_| TokenError::Issue("the session policy is not valid JSON"))?,
            ),
            None => None,
        };
        let mut wire = WireClaims {
            iss: c.issuer.clone(),
            acc: c.account_id.clone(),
            rid: None,
            rn: None,
            sn: None,
            si: None,
            uid: None,
            un: None,
            mfa: false,
            iat: c.issued_at.as_second(),
            exp: c.expires_at.as_second(),
            jti: c.token_id.clone(),
            ak: (sts_token_id(&c.access_key_id) != Some(&c.token_id))
                .then(|| c.access_key_id.clone()),
            pol,
        };
        match &c.subject {
            SessionSubject::Role {
                role_id,
                role_name,
                session_name,
                source_identity,
            } => {
                wire.rid = Some(role_id.clone());
                wire.rn = Some(role_name.clone());
                wire.sn = Some(session_name.clone());
                wire.si.clone_from(source_identity);
            }
            SessionSubject::User {
                user_id,
                user_name,
                mfa_present,
            } => {
                wire.uid = Some(user_id.clone());
                wire.un = Some(user_name.clone());
                wire.mfa = *mfa_present;
            }
        }
        Ok(wire)
    }

    fn into_claims(self) -> Result<SessionClaims, TokenError> {
        let time = |s| Timestamp::from_second(s).map_err(|_| TokenError::Malformed("bad time"));
        let subject = match (self.rid, self.rn, self.sn, self.uid, self.un) {
            (Some(role_id), Some(role_name), Some(session_name), None, None) if !self.mfa => {
                SessionSubject::Role {
                    role_id,
                    role_name,
                    session_name,
                    source_identity: self.si,
                }
            }
            (None, None, None, Some(user_id), Some(user_name)) if self.si.is_none() => {
                SessionSubject::User {
                    user_id,
                    user_name,
                    mfa_present: self.mfa,
                }
            }
            _ => return Err(TokenError::Malformed("neither a role nor a user session")),
        };
        Ok(SessionClaims {
            issuer: self.iss,
            account_id: self.acc,
            subject,
            issued_at: time(self.iat)?,
            expires_at: time(self.exp)?,
            access_key_id: self
                .ak
                .unwrap_or_else(|| format!("{STS_ACCESS_KEY_PREFIX}{}", self.jti)),
            token_id: self.jti,
            session_policy: self.pol.map(|p| p.get().to_owned()),
        })
    }
}

/// Removes the insignificant whitespace of a JSON text (outside strings); the text is
/// validated afterwards.
fn compact_json(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in s.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            out.push(c);
        }
    }
    out
}

/// An Ed25519 public key with its key id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    kid: String,
    bytes: [u8; 32],
}

impl PublicKey {
    /// A public key from its 32 raw bytes; `kid` defaults to [`PublicKey::thumbprint_kid`].
    pub fn from_bytes(bytes: &[u8], kid: Option<&str>) -> Result<PublicKey, TokenError> {
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| TokenError::InvalidKey("an Ed25519 public key is 32 bytes"))?;
        ed25519_dalek::VerifyingKey::from_bytes(&bytes)
            .map_err(|_| TokenError::InvalidKey("not an Ed25519 public key"))?;
        let kid = match kid {
            Some(k) if !k.is_empty() => k.to_owned(),
            Some(_) => return Err(TokenError::InvalidKey("empty key id")),
            None => Self::thumbprint_kid(&bytes),
        };
        Ok(PublicKey { kid, bytes })
    }

    /// The default key id: the first 16 characters of the RFC 7638 JWK thumbprint
    /// (base64url SHA-256 of `{"crv":"Ed25519","kty":"OKP","x":"…"}`).
    pub fn thumbprint_kid(bytes: &[u8; 32]) -> String {
        let jwk = format!(
            r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
            URL_SAFE_NO_PAD.encode(bytes)
        );
        let mut kid = URL_SAFE_NO_PAD.encode(Sha256::digest(jwk.as_bytes()));
        kid.truncate(16);
        kid
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    fn to_jwk(&self) -> Jwk {
        Jwk {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x: URL_SAFE_NO_PAD.encode(self.bytes),
            kid: Some(self.kid.clone()),
            alg: Some("EdDSA".into()),
            use_: Some("sig".into()),
        }
    }
}

/// An Ed25519 signing key. Stored as PKCS#8 DER ([`SigningKey::to_pkcs8_der`], meant to be
/// sealed with [`crate::Sealer`]) plus the public key bytes.
#[derive(Clone)]
pub struct SigningKey {
    public: PublicKey,
    pkcs8: Secret,
    /// Parsed once (zeroized on drop).
    signer: ed25519_dalek::SigningKey,
    /// The JWS header `{"alg":"EdDSA","kid":"…"}`, base64url-encoded once.
    encoded_header: String,
}

impl SigningKey {
    /// A fresh key from `rng` (use a CSPRNG such as `rand::rng()`); its kid is the
    /// thumbprint kid.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Result<SigningKey, TokenError> {
        let mut seed = zeroize::Zeroizing::new([0u8; 32]);
        rng.fill_bytes(seed.as_mut());
        let key = ed25519_dalek::SigningKey::from_bytes(&seed);
        let der = key
            .to_pkcs8_der()
            .map_err(|_| TokenError::InvalidKey("PKCS#8 encoding failed"))?;
        Self::from_pkcs8_der(&Secret::new(der.as_bytes().to_vec()), None)
    }

    /// Loads a key from PKCS#8 DER; `kid` defaults to the thumbprint kid.
    pub fn from_pkcs8_der(der: &Secret, kid: Option<&str>) -> Result<SigningKey, TokenError> {
        let key = ed25519_dalek::SigningKey::from_pkcs8_der(der.expose())
            .map_err(|_| TokenError::InvalidKey("not an Ed25519 PKCS#8 private key"))?;
        let public = PublicKey::from_bytes(key.verifying_key().as_bytes(), kid)?;
        let header = serde_json::to_vec(&serde_json::json!({"alg": "EdDSA", "kid": public.kid}))
            .map_err(|_| TokenError::InvalidKey("the key id does not encode"))?;
        Ok(SigningKey {
            public,
            pkcs8: der.clone(),
            signer: key,
            encoded_header: URL_SAFE_NO_PAD.encode(header),
        })
    }

    /// The private key as PKCS#8 DER, to be sealed by the store.
    pub fn to_pkcs8_der(&self) -> Secret {
        self.pkcs8.clone()
    }

    pub fn kid(&self) -> &str {
        self.public.kid()
    }

    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// Signs `claims` into a compact JWS.
    pub fn sign(&self, claims: &SessionClaims) -> Result<String, TokenError> {
        let wire = WireClaims::from_claims(claims)?;
        let payload =
            serde_json::to_vec(&wire).map_err(|_| TokenError::Issue("the claims do not encode"))?;
        // `<header>.<payload>.<signature>`, each base64url without padding (RFC 7515 §7.1).
        let mut token =
            String::with_capacity(self.encoded_header.len() + payload.len() * 4 / 3 + 90);
        token.push_str(&self.encoded_header);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
        let signature = self.signer.sign(token.as_bytes());
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature.to_bytes(), &mut token);
        Ok(token)
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.public.kid)
            .finish_non_exhaustive()
    }
}

/// Issues security tokens.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokenIssuer;

impl TokenIssuer {
    /// Signs `claims` with `key` into a compact JWS.
    pub fn issue(claims: &SessionClaims, key: &SigningKey) -> Result<String, TokenError> {
        key.sign(claims)
    }
}

/// Verifies security tokens against a set of public keys (the current one and retired ones
/// that may still have live tokens).
#[derive(Clone)]
pub struct TokenVerifier {
    issuer: String,
    keys: Vec<(PublicKey, DecodingKey)>,
    leeway: SignedDuration,
    validation: Validation,
}

impl TokenVerifier {
    /// A verifier accepting tokens whose `iss` is `issuer`; add keys with
    /// [`TokenVerifier::with_key`].
    pub fn new(issuer: impl Into<String>) -> TokenVerifier {
        let issuer = issuer.into();
        let mut validation = Validation::new(Algorithm::EdDSA);
        // Expiry is checked against the caller's `now`, not the system clock.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        validation.set_issuer(&[issuer.as_str()]);
        TokenVerifier {
            issuer,
            keys: Vec::new(),
            leeway: DEFAULT_LEEWAY,
            validation,
        }
    }

    /// Adds (or replaces, by kid) a public key.
    #[must_use]
    pub fn with_key(mut self, key: PublicKey) -> TokenVerifier {
        self.add_key(key);
        self
    }

    /// Adds (or replaces, by kid) a public key.
    pub fn add_key(&mut self, key: PublicKey) {
        self.remove_key(&key.kid);
        let decoding = DecodingKey::from_ed_der(&key.bytes);
        self.keys.push((key, decoding));
    }

    /// Forgets a key: tokens it signed no longer verify.
    pub fn remove_key(&mut self, kid: &str) {
        self.keys.retain(|(k, _)| k.kid != kid);
    }

    /// Sets the clock leeway applied to `exp` and `iat` (default 30 s).
    #[must_use]
    pub fn with_leeway(mut self, leeway: SignedDuration) -> TokenVerifier {
        self.leeway = leeway.abs();
        self
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The public keys held.
    pub fn keys(&self) -> impl Iterator<Item = &PublicKey> {
        self.keys.iter().map(|(k, _)| k)
    }

    /// A verifier holding the Ed25519 keys of a JWKS document (other key types are skipped).
    pub fn from_jwks(issuer: impl Into<String>, jwks: &str) -> Result<TokenVerifier, TokenError> {
        let set: JwkSet = serde_json::from_str(jwks)
            .map_err(|_| TokenError::InvalidKey("not a JWKS document"))?;
        let mut verifier = TokenVerifier::new(issuer);
        for jwk in set.keys {
            if jwk.kty != "OKP" || jwk.crv != "Ed25519" {
                continue;
            }
            if jwk.alg.as_deref().is_some_and(|a| a != "EdDSA") {
                return Err(TokenError::InvalidKey("an Ed25519 JWK with another alg"));
            }
            let bytes = URL_SAFE_NO_PAD
                .decode(&jwk.x)
                .map_err(|_| TokenError::InvalidKey("bad JWK x"))?;
            verifier.add_key(PublicKey::from_bytes(&bytes, jwk.kid.as_deref())?);
        }
        Ok(verifier)
    }

    /// Verifies `token` at time `now` and returns its claims.
    pub fn verify(&self, token: &str, now: Timestamp) -> Result<SessionClaims, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed("too long"));
        }
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| TokenError::Malformed("not a compact JWS"))?;
        if header.alg != Algorithm::EdDSA {
            return Err(TokenError::Malformed("algorithm not allowed"));
        }
        if header.crit.is_some() {
            return Err(TokenError::Malformed("unsupported critical header"));
        }
        let kid = header.kid.ok_or(TokenError::Malformed("no key id"))?;
        let (_, key) = self
            .keys
            .iter()
            .find(|(k, _)| k.kid == kid)
            .ok_or_else(|| TokenError::UnknownKey(kid.chars().take(64).collect()))?;
        let data = jsonwebtoken::decode::<WireClaims>(token, key, &self.validation).map_err(
            |e| match e.kind() {
                ErrorKind::InvalidSignature => TokenError::BadSignature,
                ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
                ErrorKind::InvalidAlgorithm => TokenError::Malformed("algorithm not allowed"),
                _ => TokenError::Malformed("bad claims"),
            },
        )?;
        let claims = data.claims.into_claims()?;
        if claims.expires_at <= claims.issued_at {
            return Err(TokenError::Malformed("expires before it is issued"));
        }
        if now.duration_since(claims.expires_at) > self.leeway {
            return Err(TokenError::Expired);
        }
        if claims.issued_at.duration_since(now) > self.leeway {
            return Err(TokenError::NotYetValid);
        }
        Ok(claims)
    }

    /// [`TokenVerifier::verify`], then checks that the token belongs to `access_key_id`
    /// (the key that signed the request carrying it).
    pub fn verify_for_access_key(
        &self,
        token: &str,
        access_key_id: &str,
        now: Timestamp,
    ) -> Result<SessionClaims, TokenError> {
        let claims = self.verify(token, now)?;
        if claims.access_key_id != access_key_id {
            return Err(TokenError::MismatchWithAccessKey);
        }
        Ok(claims)
    }

    /// The JWKS of the keys held.
    pub fn jwks(&self) -> String {
        jwks(self.keys())
    }
}

impl fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("issuer", &self.issuer)
            .field("kids", &self.keys().map(PublicKey::kid).collect::<Vec<_>>())
            .field("leeway", &self.leeway)
            .finish()
    }
}

#[derive(Serialize, Deserialize)]
struct Jwk {
    kty: String,
    #[serde(default)]
    crv: String,
    #[serde(default)]
    x: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    alg: Option<String>,
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    use_: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct JwkSet {
    keys: Vec<Jwk>,
}

/// The RFC 7517/8037 JWKS document of `keys`:
/// `{"keys":[{"kty":"OKP","crv":"Ed25519","x":…,"kid":…,"alg":"EdDSA","use":"sig"}]}`.
pub fn jwks<'a>(keys: impl IntoIterator<Item = &'a PublicKey>) -> String {
    let set = JwkSet {
        keys: keys.into_iter().map(PublicKey::to_jwk).collect(),
    };
    // Serializing plain strings cannot fail.
    serde_json::to_string(&set).unwrap_or_else(|_| String::from(r#"{"keys":[]}"#))
}

#[cfg(test)]
mod tests;
