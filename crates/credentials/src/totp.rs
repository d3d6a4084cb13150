//! Virtual MFA devices: RFC 6238 time-based one-time codes (HMAC-SHA1, 6 digits, 30-second
//! steps — what RAM's virtual MFA devices and every authenticator app use), computed and
//! compared (in constant time) by `totp-rs`.
//!
//! Time is passed in. A code stays valid one step either side of now (clock skew between the
//! phone and the server). RFC 6238 §5.2 asks that a code be accepted only once: the check
//! functions return the step they matched so the caller can refuse a step at or before the last
//! one it accepted.

use jiff::Timestamp;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use rand::RngCore as _;
use totp_rs::{Algorithm, Builder, Totp};

use crate::Secret;

/// Seed length: 160 bits, as RFC 4226 recommends for HMAC-SHA1.
pub const SEED_LEN: usize = 20;
const DIGITS: usize = 6;
const STEP_SECONDS: u64 = 30;
/// Steps either side of now that are still accepted.
const SKEW_STEPS: u64 = 1;

/// A new random seed.
pub fn new_seed() -> Secret {
    let mut bytes = vec![0u8; SEED_LEN];
    rand::rng().fill_bytes(&mut bytes);
    Secret::new(bytes)
}

/// The seed as authenticator apps take it typed in: RFC 4648 base32 without padding.
pub fn seed_base32(seed: &Secret) -> Secret {
    Secret::new(
        totp_rs::Secret::from(seed.expose().to_vec())
            .to_base32()
            .into_bytes(),
    )
}

/// The `otpauth://totp/...` URI a QR code carries (Google Authenticator's key-URI format):
/// `otpauth://totp/<issuer>:<account name>?secret=<base32>&issuer=<issuer>&algorithm=SHA1&digits=6&period=30`.
pub fn otpauth_uri(seed: &Secret, issuer: &str, account_name: &str) -> Secret {
    let base32 = seed_base32(seed);
    let base32 = String::from_utf8_lossy(base32.expose());
    let issuer = utf8_percent_encode(issuer, NON_ALPHANUMERIC).to_string();
    let name = utf8_percent_encode(account_name, NON_ALPHANUMERIC);
    Secret::new(
        format!(
            "otpauth://totp/{issuer}:{name}?secret={base32}&issuer={issuer}\
             &algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}"
        )
        .into_bytes(),
    )
}

fn totp(seed: &Secret) -> Totp {
    // No RFC length check: seeds made here are 20 bytes; the check would only refuse shorter
    // ones that a restored backup might hold, and a wrong seed simply never matches.
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS as u8)
        .with_step_duration(STEP_SECONDS)
        .with_skew(0)
        .with_secret(seed.expose().to_vec())
        .build_noncompliant()
}

fn step_of(at: Timestamp) -> Option<u64> {
    u64::try_from(at.as_second()).ok().map(|s| s / STEP_SECONDS)
}

fn is_code(code: &str) -> bool {
    code.len() == DIGITS && code.bytes().all(|b| b.is_ascii_digit())
}

fn matches(totp: &Totp, code: &str, step: u64) -> bool {
    totp.check(code, step.saturating_mul(STEP_SECONDS))
        .is_some()
}

/// The code for `at` (what the authenticator app shows then). For tests and clients.
pub fn code_at(seed: &Secret, at: Timestamp) -> String {
    let step = step_of(at).unwrap_or(0);
    totp(seed).generate(step * STEP_SECONDS).to_string()
}

/// The step `code` belongs to if it is valid at `at` (±1 step), else `None`.
pub fn check(seed: &Secret, code: &str, at: Timestamp) -> Option<u64> {
    let now = step_of(at)?;
    if !is_code(code) {
        return None;
    }
    let totp = totp(seed);
    (now.saturating_sub(SKEW_STEPS)..=now + SKEW_STEPS).find(|&step| matches(&totp, code, step))
}

/// `BindMFADevice`'s proof of possession: `first` and `second` are two consecutive codes, the
/// second valid at `at` (±1 step). Returns the second code's step.
pub fn check_consecutive(seed: &Secret, first: &str, second: &str, at: Timestamp) -> Option<u64> {
    let now = step_of(at)?;
    if !is_code(first) || !is_code(second) {
        return None;
    }
    let totp = totp(seed);
    (now.saturating_sub(SKEW_STEPS).max(1)..=now + SKEW_STEPS)
        .find(|&step| matches(&totp, second, step) && matches(&totp, first, step - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(seconds).unwrap()
    }

    // RFC 6238 appendix B, SHA-1, truncated to 6 digits.
    const RFC_SEED: &[u8] = b"12345678901234567890";

    #[test]
    fn rfc6238_test_vectors() {
        let seed = Secret::new(RFC_SEED.to_vec());
        for (time, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(code_at(&seed, at(time)), code, "t = {time}");
            assert!(check(&seed, code, at(time)).is_some());
        }
    }

    #[test]
    fn one_step_of_skew_either_way_and_no_more() {
        let seed = new_seed();
        let code = code_at(&seed, at(1_000_000_020));
        let step = 1_000_000_020 / 30;
        assert_eq!(check(&seed, &code, at(1_000_000_020)), Some(step));
        assert_eq!(check(&seed, &code, at(1_000_000_050)), Some(step));
        assert_eq!(check(&seed, &code, at(1_000_000_000 - 10)), Some(step));
        assert_eq!(check(&seed, &code, at(1_000_000_020 + 61)), None);
        assert_eq!(check(&seed, &code, at(1_000_000_020 - 61)), None);
    }

    #[test]
    fn malformed_codes_never_match() {
        let seed = Secret::new(RFC_SEED.to_vec());
        for code in ["", "28708", "2870822", "28708a", " 287082", "２８７０８２"] {
            assert_eq!(check(&seed, code, at(59)), None, "{code:?}");
        }
        assert_eq!(check(&seed, "287082", at(-5)), None);
    }

    #[test]
    fn consecutive_codes_in_order_only() {
        let seed = new_seed();
        let t = 1_700_000_000;
        let first = code_at(&seed, at(t));
        let second = code_at(&seed, at(t + 30));
        let step = (t + 30) as u64 / 30;
        assert_eq!(
            check_consecutive(&seed, &first, &second, at(t + 30)),
            Some(step)
        );
        // Entered a little later: still fine.
        assert_eq!(
            check_consecutive(&seed, &first, &second, at(t + 60)),
            Some(step)
        );
        assert_eq!(check_consecutive(&seed, &second, &first, at(t + 30)), None);
        assert_eq!(check_consecutive(&seed, &first, &first, at(t + 30)), None);
        assert_eq!(check_consecutive(&seed, &first, &second, at(t + 200)), None);
    }

    #[test]
    fn uri_and_base32() {
        let seed = Secret::new(RFC_SEED.to_vec());
        assert_eq!(
            seed_base32(&seed).expose(),
            b"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
        let uri = otpauth_uri(&seed, "Tessera", "alice@1234");
        assert_eq!(
            String::from_utf8_lossy(uri.expose()),
            "otpauth://totp/Tessera:alice%401234?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=Tessera&algorithm=SHA1&digits=6&period=30"
        );
        assert_eq!(new_seed().len(), SEED_LEN);
    }
}
