//! Passwords of login profiles: argon2id PHC strings, verified in constant time by the
//! `argon2` crate; RAM's default strength rule checked before hashing.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::secret::Secret;

/// Why a password was refused or could not be hashed. Never contains the password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// RAM's `InvalidParameter.Password.TooWeak`.
    #[error("the password is too weak: {0}")]
    TooWeak(&'static str),
    #[error("the stored password hash is malformed")]
    MalformedHash,
    #[error("password hashing failed")]
    Hashing,
}

impl PasswordError {
    /// The RAM error code.
    pub fn code(&self) -> &'static str {
        match self {
            PasswordError::TooWeak(_) => "InvalidParameter.Password.TooWeak",
            PasswordError::MalformedHash | PasswordError::Hashing => "InternalError",
        }
    }
}

/// RAM's default password policy: 8–32 characters, not all of one class, no control
/// characters.
pub fn check_strength(password: &Secret) -> Result<(), PasswordError> {
    let text = std::str::from_utf8(password.expose())
        .map_err(|_| PasswordError::TooWeak("it must be valid UTF-8 text"))?;
    let len = text.chars().count();
    if len < 8 {
        return Err(PasswordError::TooWeak("it must have at least 8 characters"));
    }
    if len > 32 {
        return Err(PasswordError::TooWeak("it must have at most 32 characters"));
    }
    if text.chars().any(char::is_control) {
        return Err(PasswordError::TooWeak(
            "it must not contain control characters",
        ));
    }
    let classes = [
        text.chars().any(|c| c.is_ascii_lowercase()),
        text.chars().any(|c| c.is_ascii_uppercase()),
        text.chars().any(|c| c.is_ascii_digit()),
        text.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    if classes.iter().filter(|&&present| present).count() < 2 {
        return Err(PasswordError::TooWeak(
            "it must mix at least two of lower case, upper case, digits and symbols",
        ));
    }
    Ok(())
}

/// Hashes `password` (after [`check_strength`]) into an argon2id PHC string for storage.
pub fn hash_password(password: &Secret) -> Result<String, PasswordError> {
    check_strength(password)?;
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.expose(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|_| PasswordError::Hashing)
}

/// Does `password` match the stored PHC string? Constant-time in the argon2 crate.
pub fn verify_password(password: &Secret, stored: &str) -> Result<bool, PasswordError> {
    let parsed = PasswordHash::new(stored).map_err(|_| PasswordError::MalformedHash)?;
    Ok(Argon2::default()
        .verify_password(password.expose(), &parsed)
        .is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let password = Secret::from("Correct-Horse-9");
        let stored = hash_password(&password).unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(!stored.contains("Correct-Horse-9"));
        assert!(verify_password(&password, &stored).unwrap());
        assert!(!verify_password(&Secret::from("correct-horse-9"), &stored).unwrap());
        // Fresh salts: two hashes of one password differ.
        assert_ne!(stored, hash_password(&password).unwrap());
        assert_eq!(
            verify_password(&password, "not-a-phc-string"),
            Err(PasswordError::MalformedHash)
        );
    }

    #[test]
    fn strength() {
        for weak in ["short1A", "alllowercase", "12345678", &"aA1".repeat(11)] {
            let err = check_strength(&Secret::from(weak)).unwrap_err();
            assert_eq!(err.code(), "InvalidParameter.Password.TooWeak", "{weak}");
            assert!(!err.to_string().contains(weak));
        }
        for ok in ["abcdefg1", "Passw0rd!", "日本語のpassword"] {
            assert!(check_strength(&Secret::from(ok)).is_ok(), "{ok}");
        }
    }
}
