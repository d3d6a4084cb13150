//! Sealing secrets at rest with AES-256-GCM under a master key.
//!
//! Sealed format: `version (1) | key id (1) | nonce (12) | ciphertext+tag`. The key id names
//! the master key that sealed it, so master keys can be rotated: a [`Sealer`] seals with its
//! current key and opens with any key it holds. The caller's *context* (e.g. the access key
//! id) is bound as associated data, so a sealed value copied to another row does not open.

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};

use crate::secret::Secret;

const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
const HEADER_LEN: usize = 2 + NONCE_LEN;

/// A 32-byte master key with a one-byte id.
#[derive(Clone)]
pub struct MasterKey {
    id: u8,
    cipher: Aes256Gcm,
}

impl MasterKey {
    /// `bytes` must be exactly 32 bytes.
    pub fn new(id: u8, bytes: &[u8]) -> Result<MasterKey, SealError> {
        if bytes.len() != 32 {
            return Err(SealError::KeyLength(bytes.len()));
        }
        Ok(MasterKey {
            id,
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(bytes)),
        })
    }

    pub fn id(&self) -> u8 {
        self.id
    }
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Why a value could not be sealed or opened. Never contains secret material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("a master key must be 32 bytes, not {0}")]
    KeyLength(usize),
    #[error("sealed value is truncated or of an unknown format")]
    Format,
    #[error("sealed with master key {0}, which this sealer does not hold")]
    UnknownKey(u8),
    #[error("sealed value does not authenticate (wrong key, wrong context or tampered)")]
    Authentication,
}

/// Seals with the current master key; opens with any held key.
#[derive(Debug, Clone)]
pub struct Sealer {
    current: MasterKey,
    previous: Vec<MasterKey>,
}

impl Sealer {
    pub fn new(current: MasterKey) -> Sealer {
        Sealer {
            current,
            previous: Vec::new(),
        }
    }

    /// Adds an older key that can still open what it sealed.
    #[must_use]
    pub fn with_previous(mut self, key: MasterKey) -> Sealer {
        self.previous.push(key);
        self
    }

    /// Seals `secret`, bound to `context`.
    pub fn seal(&self, secret: &Secret, context: &[u8]) -> Result<Vec<u8>, SealError> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ciphertext = self
            .current
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: secret.expose(),
                    aad: context,
                },
            )
            .map_err(|_| SealError::Authentication)?;
        let mut sealed = Vec::with_capacity(HEADER_LEN + ciphertext.len());
        sealed.push(VERSION);
        sealed.push(self.current.id);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    /// Opens a value sealed with `context` by any held key.
    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Secret, SealError> {
        if sealed.len() < HEADER_LEN + 16 || sealed[0] != VERSION {
            return Err(SealError::Format);
        }
        let key_id = sealed[1];
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == key_id)
            .ok_or(SealError::UnknownKey(key_id))?;
        let nonce = Nonce::from_slice(&sealed[2..HEADER_LEN]);
        key.cipher
            .decrypt(
                nonce,
                Payload {
                    msg: &sealed[HEADER_LEN..],
                    aad: context,
                },
            )
            .map(Secret::new)
            .map_err(|_| SealError::Authentication)
    }

    /// Whether `sealed` was sealed by an older key and should be re-sealed.
    pub fn needs_reseal(&self, sealed: &[u8]) -> bool {
        sealed.get(1) != Some(&self.current.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: u8, fill: u8) -> MasterKey {
        MasterKey::new(id, &[fill; 32]).unwrap()
    }

    #[test]
    fn round_trip_bound_to_context() {
        let sealer = Sealer::new(key(1, 7));
        let secret = Secret::from("s3cr3t-value");
        let sealed = sealer.seal(&secret, b"access-key:LTAI1").unwrap();
        assert!(!sealed.windows(6).any(|w| w == b"s3cr3t"));
        assert_eq!(sealer.open(&sealed, b"access-key:LTAI1").unwrap(), secret);
        assert_eq!(
            sealer.open(&sealed, b"access-key:LTAI2"),
            Err(SealError::Authentication)
        );
        // Two seals of one secret differ (fresh nonces).
        assert_ne!(sealed, sealer.seal(&secret, b"access-key:LTAI1").unwrap());
    }

    #[test]
    fn tampering_and_format_errors() {
        let sealer = Sealer::new(key(1, 7));
        let mut sealed = sealer.seal(&Secret::from("x"), b"c").unwrap();
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert_eq!(sealer.open(&sealed, b"c"), Err(SealError::Authentication));
        assert_eq!(sealer.open(&[1, 1, 0], b"c"), Err(SealError::Format));
        assert_eq!(sealer.open(&[], b"c"), Err(SealError::Format));
        let mut other_version = sealer.seal(&Secret::from("x"), b"c").unwrap();
        other_version[0] = 9;
        assert_eq!(sealer.open(&other_version, b"c"), Err(SealError::Format));
        assert!(matches!(
            MasterKey::new(1, &[0; 16]),
            Err(SealError::KeyLength(16))
        ));
    }

    #[test]
    fn rotation_keeps_old_values_readable() {
        let old = Sealer::new(key(1, 1));
        let sealed_old = old.seal(&Secret::from("old"), b"c").unwrap();
        let rotated = Sealer::new(key(2, 2)).with_previous(key(1, 1));
        assert_eq!(
            rotated.open(&sealed_old, b"c").unwrap(),
            Secret::from("old")
        );
        assert!(rotated.needs_reseal(&sealed_old));
        let sealed_new = rotated.seal(&Secret::from("new"), b"c").unwrap();
        assert!(!rotated.needs_reseal(&sealed_new));
        assert_eq!(old.open(&sealed_new, b"c"), Err(SealError::UnknownKey(2)));
        // A wrong key with a colliding id fails authentication, not silently.
        let impostor = Sealer::new(key(1, 9));
        assert_eq!(
            impostor.open(&sealed_old, b"c"),
            Err(SealError::Authentication)
        );
    }
}
