//! Access keys: long-term `LTAI…` keys (random id and secret, the secret stored sealed) and
//! STS temporary keys, whose secrets are *derived*, not stored:
//! `secret = base64url(HMAC-SHA256(derivation key, access key id))` (43 characters, no
//! padding), so any replica holding the derivation key can verify a request signed with
//! STS credentials without a database read.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::{CryptoRng, Rng};
use sha2::Sha256;

use crate::Secret;

/// Prefix of every STS access key id.
pub const STS_ACCESS_KEY_PREFIX: &str = "STS.";
/// Prefix of every long-term access key id.
pub const LONG_TERM_ACCESS_KEY_PREFIX: &str = "LTAI";
/// Random characters after `STS.` (base58: 20 × 5.86 ≈ 117 bits).
pub const STS_ACCESS_KEY_RANDOM_LEN: usize = 20;
/// Random characters after `LTAI` (alphanumeric: 20 × 5.95 ≈ 119 bits).
pub const LONG_TERM_ACCESS_KEY_RANDOM_LEN: usize = 20;
/// Length of a long-term access key secret (alphanumeric: 30 × 5.95 ≈ 178 bits).
pub const LONG_TERM_SECRET_LEN: usize = 30;
/// Shortest derivation key accepted.
pub const MIN_DERIVATION_KEY_LEN: usize = 32;

const BASE58: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
const ALPHANUMERIC: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The derivation key was too short.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an STS derivation key must be at least {MIN_DERIVATION_KEY_LEN} bytes, not {0}")]
pub struct DerivationKeyLength(pub usize);

/// Derives STS access key secrets from their ids.
#[derive(Clone)]
pub struct StsKeyDerivation {
    /// HMAC-SHA256 already keyed with the derivation key.
    keyed: Hmac<Sha256>,
}

impl StsKeyDerivation {
    /// `key` must be at least 32 bytes (generate it with a CSPRNG and store it sealed).
    pub fn new(key: Secret) -> Result<StsKeyDerivation, DerivationKeyLength> {
        if key.len() < MIN_DERIVATION_KEY_LEN {
            return Err(DerivationKeyLength(key.len()));
        }
        let keyed = Hmac::<Sha256>::new_from_slice(key.expose())
            .map_err(|_| DerivationKeyLength(key.len()))?;
        Ok(StsKeyDerivation { keyed })
    }

    /// The secret of `access_key_id`: base64url (no padding) of
    /// HMAC-SHA256(derivation key, access key id).
    pub fn derive(&self, access_key_id: &str) -> Secret {
        let mut mac = self.keyed.clone();
        mac.update(access_key_id.as_bytes());
        let tag = zeroize::Zeroizing::new(mac.finalize().into_bytes());
        Secret::new(URL_SAFE_NO_PAD.encode(tag.as_slice()).into_bytes())
    }

    /// A fresh STS access key id together with its derived secret.
    pub fn new_access_key<R: CryptoRng + ?Sized>(&self, rng: &mut R) -> AccessKeyPair {
        let id = new_access_key_id(rng);
        let secret = self.derive(&id);
        AccessKeyPair { id, secret }
    }
}

impl fmt::Debug for StsKeyDerivation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StsKeyDerivation(<redacted>)")
    }
}

/// A fresh STS access key id: `STS.` + 20 random base58 characters (e.g.
/// `STS.NUgYrLnoC37mZZCNnAbe`).
pub fn new_access_key_id<R: CryptoRng + ?Sized>(rng: &mut R) -> String {
    let mut id = String::with_capacity(STS_ACCESS_KEY_PREFIX.len() + STS_ACCESS_KEY_RANDOM_LEN);
    id.push_str(STS_ACCESS_KEY_PREFIX);
    push_random(&mut id, rng, BASE58, STS_ACCESS_KEY_RANDOM_LEN);
    id
}

/// The id of the session token an STS key id belongs to, as Tessera issues them: the key id's
/// random part (so a token need not carry its key id). `None` for a long-term key id.
pub fn sts_token_id(access_key_id: &str) -> Option<&str> {
    access_key_id.strip_prefix(STS_ACCESS_KEY_PREFIX)
}

/// Whether `access_key_id` names an STS (temporary) key.
pub fn is_sts_access_key_id(access_key_id: &str) -> bool {
    access_key_id.starts_with(STS_ACCESS_KEY_PREFIX)
}

/// An access key id and its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKeyPair {
    pub id: String,
    pub secret: Secret,
}

/// A fresh long-term access key: id `LTAI` + 20 alphanumeric characters, secret 30
/// alphanumeric characters, both from `rng` (use a CSPRNG such as `rand::rng()`).
pub fn new_long_term_access_key<R: CryptoRng + ?Sized>(rng: &mut R) -> AccessKeyPair {
    let mut id =
        String::with_capacity(LONG_TERM_ACCESS_KEY_PREFIX.len() + LONG_TERM_ACCESS_KEY_RANDOM_LEN);
    id.push_str(LONG_TERM_ACCESS_KEY_PREFIX);
    push_random(&mut id, rng, ALPHANUMERIC, LONG_TERM_ACCESS_KEY_RANDOM_LEN);
    let mut secret = zeroize::Zeroizing::new(String::with_capacity(LONG_TERM_SECRET_LEN));
    push_random(&mut secret, rng, ALPHANUMERIC, LONG_TERM_SECRET_LEN);
    AccessKeyPair {
        id,
        secret: Secret::new(secret.as_bytes().to_vec()),
    }
}

/// Appends `n` characters drawn uniformly from `alphabet`.
fn push_random<R: CryptoRng + ?Sized>(out: &mut String, rng: &mut R, alphabet: &[u8], n: usize) {
    for _ in 0..n {
        let i = rng.random_range(0..alphabet.len());
        out.push(char::from(alphabet[i]));
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::signature::SignedRequest;

    fn derivation() -> StsKeyDerivation {
        StsKeyDerivation::new(Secret::new(vec![7; 32])).unwrap()
    }

    #[test]
    fn derivation_is_deterministic_and_key_bound() {
        let d = derivation();
        let a = d.derive("STS.NTestTemporaryKey000001");
        assert_eq!(a, d.derive("STS.NTestTemporaryKey000001"));
        assert_ne!(a, d.derive("STS.NTestTemporaryKey000002"));
        assert_eq!(a.len(), 43);
        assert!(
            a.expose()
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
        );
        let other = StsKeyDerivation::new(Secret::new(vec![8; 32])).unwrap();
        assert_ne!(a, other.derive("STS.NTestTemporaryKey000001"));
        // A clone (another replica with the same key) derives the same secret.
        assert_eq!(a, d.clone().derive("STS.NTestTemporaryKey000001"));
        assert_eq!(format!("{d:?}"), "StsKeyDerivation(<redacted>)");
    }

    #[test]
    fn derivation_matches_hmac_sha256_base64url() {
        // HMAC-SHA256(key = 32 × 0x07, "STS.abc"), computed independently with Python's hmac.
        let d = derivation();
        let expected = "rgIWz0EPdXq0aBTKWzKE6Pt0yneYM5ZOZh44MtKz3Oc";
        assert_eq!(d.derive("STS.abc").expose(), expected.as_bytes());
    }

    #[test]
    fn short_derivation_keys_are_refused() {
        assert_eq!(
            StsKeyDerivation::new(Secret::new(vec![1; 31])).unwrap_err(),
            DerivationKeyLength(31)
        );
    }

    #[test]
    fn access_key_ids_have_the_expected_shape() {
        let mut rng = rand::rng();
        let mut seen = HashSet::new();
        for _ in 0..1000 {
            let id = new_access_key_id(&mut rng);
            assert_eq!(id.len(), 24);
            assert!(is_sts_access_key_id(&id));
            assert!(id[4..].bytes().all(|b| BASE58.contains(&b)));
            assert!(seen.insert(id));
        }
        let pair = new_long_term_access_key(&mut rng);
        assert_eq!(pair.id.len(), 24);
        assert!(pair.id.starts_with("LTAI"));
        assert!(!is_sts_access_key_id(&pair.id));
        assert!(pair.id[4..].bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(pair.secret.len(), 30);
        assert!(
            pair.secret
                .expose()
                .iter()
                .all(|b| b.is_ascii_alphanumeric())
        );
        assert_ne!(pair.secret, new_long_term_access_key(&mut rng).secret);
        assert!(!format!("{pair:?}").contains(std::str::from_utf8(pair.secret.expose()).unwrap()));
    }

    #[test]
    fn a_derived_secret_verifies_an_sdk_style_request() {
        // Sign an RPC request with a derived secret the way the SDKs do, then verify it.
        let d = derivation();
        let pair = d.new_access_key(&mut rand::rng());
        let unsigned = format!(
            "AccessKeyId={}&Action=GetCallerIdentity&Format=JSON&SignatureMethod=HMAC-SHA1\
             &SignatureNonce=n1&SignatureVersion=1.0&Timestamp=2026-11-22T04%3A42%3A05Z\
             &Version=2015-04-01&SecurityToken=tok&Signature=x",
            pair.id
        );
        let parsed = SignedRequest::parse("GET", "/", &unsigned, [("host", "h")], b"").unwrap();
        let signature = {
            use base64::engine::general_purpose::STANDARD;
            let mut key = pair.secret.expose().to_vec();
            key.push(b'&');
            let mut mac = Hmac::<sha1::Sha1>::new_from_slice(&key).unwrap();
            mac.update(parsed.string_to_sign().as_bytes());
            STANDARD.encode(mac.finalize().into_bytes())
        };
        let signed = unsigned.replace(
            "Signature=x",
            &format!(
                "Signature={}",
                crate::signature::encode_for_tests(&signature)
            ),
        );
        let request = SignedRequest::parse("GET", "/", &signed, [("host", "h")], b"").unwrap();
        assert_eq!(request.access_key_id(), pair.id);
        let secret = d.derive(request.access_key_id());
        assert_eq!(request.verify(&secret), Ok(()));
        assert_eq!(
            request.verify(&d.derive("STS.other")),
            Err(crate::signature::SignatureError::SignatureDoesNotMatch)
        );
    }
}
