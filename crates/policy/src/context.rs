//! The request context: multi-valued condition keys and their values.
//!
//! Keys are case-insensitive (stored ASCII-lower-cased). Each value is parsed once, when it is
//! inserted, into every type an operator may compare it as, so evaluating a condition never
//! parses or allocates.

use std::net::IpAddr;

use crate::glob::same_bytes;
use crate::value::{self, Instant, Number};

/// One value of a context key, with its typed interpretations.
#[derive(Debug, Clone, PartialEq)]
pub struct ContextValue {
    raw: Box<str>,
    /// Unicode lower case of `raw`, when it differs from `raw`.
    folded: Option<Box<str>>,
    number: Option<Number>,
    instant: Option<Instant>,
    boolean: Option<bool>,
    ip: Option<IpAddr>,
}

impl ContextValue {
    pub fn new(raw: &str) -> ContextValue {
        // Only attempt the parses a value's first character allows: most values are plain
        // strings, and each failed parse and each lower-cased copy costs.
        let folded = if raw.is_ascii() {
            raw.bytes()
                .any(|b| b.is_ascii_uppercase())
                .then(|| raw.to_ascii_lowercase().into_boxed_str())
        } else {
            let lower = raw.to_lowercase();
            (lower != raw).then(|| lower.into_boxed_str())
        };
        let first = raw.bytes().next().unwrap_or(b' ');
        let numeric_start = first.is_ascii_digit() || matches!(first, b'-' | b'+');
        // `YYYY-MM-DD…` or epoch seconds.
        let date_like = raw.as_bytes().get(4) == Some(&b'-')
            || first.is_ascii_digit() && raw.bytes().all(|b| b.is_ascii_digit());
        let ip_like = (first.is_ascii_hexdigit() || first == b':')
            && raw.bytes().any(|b| b == b'.' || b == b':');
        ContextValue {
            number: if numeric_start {
                Number::parse(raw)
            } else {
                None
            },
            instant: if date_like { Instant::parse(raw) } else { None },
            boolean: if matches!(first, b't' | b'f' | b'T' | b'F') {
                value::parse_bool(raw)
            } else {
                None
            },
            ip: if ip_like { value::parse_ip(raw) } else { None },
            raw: raw.into(),
            folded,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }

    pub(crate) fn folded(&self) -> &str {
        self.folded.as_deref().unwrap_or(&self.raw)
    }

    pub(crate) fn number(&self) -> Option<Number> {
        self.number
    }

    pub(crate) fn instant(&self) -> Option<Instant> {
        self.instant
    }

    pub(crate) fn boolean(&self) -> Option<bool> {
        self.boolean
    }

    pub(crate) fn ip(&self) -> Option<IpAddr> {
        self.ip
    }
}

/// The condition keys of one request. Cheap to build, immutable while deciding.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Context {
    /// Sorted by key; keys lower-cased, each with its [`key_hash`].
    entries: Vec<(u64, Box<str>, Vec<ContextValue>)>,
}

impl Context {
    pub fn new() -> Context {
        Context::default()
    }

    /// Adds `value` to `key` (keys are multi-valued: inserting twice gives two values).
    pub fn insert(&mut self, key: &str, value: &str) {
        let key = key.to_ascii_lowercase();
        let value = ContextValue::new(value);
        match self
            .entries
            .binary_search_by(|(_, k, _)| (**k).cmp(key.as_str()))
        {
            Ok(i) => self.entries[i].2.push(value),
            Err(i) => {
                let hash = key_hash(&key);
                self.entries.insert(i, (hash, key.into(), vec![value]));
            }
        }
    }

    /// Builder form of [`Context::insert`].
    #[must_use]
    pub fn with(mut self, key: &str, value: &str) -> Context {
        self.insert(key, value);
        self
    }

    /// Replaces every value of `key`.
    pub fn set(&mut self, key: &str, value: &str) {
        self.remove(key);
        self.insert(key, value);
    }

    pub fn remove(&mut self, key: &str) {
        let key = key.to_ascii_lowercase();
        self.entries.retain(|(_, k, _)| **k != *key);
    }

    /// The values of `key` (empty when absent). `key` is matched case-insensitively.
    pub fn get(&self, key: &str) -> &[ContextValue] {
        if key.bytes().any(|b| b.is_ascii_uppercase()) {
            return self.get_lower(&key.to_ascii_lowercase());
        }
        self.get_lower(key)
    }

    /// Lookup by an already lower-cased key.
    pub(crate) fn get_lower(&self, key: &str) -> &[ContextValue] {
        self.get_hashed(key, key_hash(key))
    }

    /// Lookup by an already lower-cased key and its [`key_hash`]: the evaluation path
    /// (conditions hash their key once, when compiled). A scan of the hashes, without string
    /// comparisons until one matches; contexts hold a few dozen keys at most.
    #[inline]
    pub(crate) fn get_hashed(&self, key: &str, hash: u64) -> &[ContextValue] {
        self.entries
            .iter()
            .find(|(h, k, _)| *h == hash && same_bytes(k.as_bytes(), key.as_bytes()))
            .map_or(&[], |(_, _, values)| values.as_slice())
    }

    /// Keys (lower-cased) and their values, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[ContextValue])> {
        self.entries.iter().map(|(_, k, v)| (&**k, v.as_slice()))
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// A fixed (not per-process) 64-bit hash of a lower-cased context key: FxHash-style over
/// 8-byte words, so a key costs a few multiplications.
pub(crate) fn key_hash(key: &str) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let bytes = key.as_bytes();
    let mut hash = bytes.len() as u64;
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        hash = (hash.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    let mut last = [0u8; 8];
    let tail = words.remainder();
    last[..tail.len()].copy_from_slice(tail);
    (hash.rotate_left(5) ^ u64::from_le_bytes(last)).wrapping_mul(K)
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for Context {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut context = Context::new();
        for (k, v) in iter {
            context.insert(k.as_ref(), v.as_ref());
        }
        context
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_case_insensitive_and_multi_valued() {
        let ctx = Context::new()
            .with("acs:SourceIp", "10.0.0.1")
            .with("ACS:SOURCEIP", "10.0.0.2")
            .with("acs:MFAPresent", "true");
        assert_eq!(ctx.get("acs:sourceip").len(), 2);
        assert_eq!(ctx.get("acs:SourceIP").len(), 2);
        assert_eq!(ctx.get("acs:mfapresent")[0].boolean(), Some(true));
        assert!(ctx.get("acs:missing").is_empty());
    }

    #[test]
    fn values_are_typed_once() {
        let v = ContextValue::new("2026-01-01T00:00:00Z");
        assert!(v.instant().is_some());
        assert_eq!(v.number(), None);
        let v = ContextValue::new("10.0.0.1");
        assert!(v.ip().is_some());
        let v = ContextValue::new("MiXeD");
        assert_eq!(v.folded(), "mixed");
        assert_eq!(v.as_str(), "MiXeD");
    }

    #[test]
    fn every_typed_form_is_recognised() {
        for (raw, number, instant, boolean, ip) in [
            ("42", true, true, false, false),
            ("-5", true, false, false, false),
            ("+5", true, false, false, false),
            ("1.5e3", true, false, false, false),
            ("2026-06-01", false, true, false, false),
            ("2026-06-01T12:00:00.000Z", false, true, false, false),
            ("2026-06-01T20:00:00+08:00", false, true, false, false),
            ("TRUE", false, false, true, false),
            ("false", false, false, true, false),
            ("10.20.30.40", false, false, false, true),
            ("::1", false, false, false, true),
            ("fe80::1", false, false, false, true),
            ("::ffff:10.0.0.1", false, false, false, true),
            ("2001:db8::1", false, false, false, true),
            ("data-platform", false, false, false, false),
            ("", false, false, false, false),
        ] {
            let v = ContextValue::new(raw);
            assert_eq!(v.number().is_some(), number, "{raw} number");
            assert_eq!(v.instant().is_some(), instant, "{raw} instant");
            assert_eq!(v.boolean().is_some(), boolean, "{raw} boolean");
            assert_eq!(v.ip().is_some(), ip, "{raw} ip");
        }
        assert_eq!(ContextValue::new("ÄB").folded(), "äb");
        assert_eq!(ContextValue::new("ab").folded(), "ab");
    }

    #[test]
    fn set_replaces() {
        let mut ctx = Context::new().with("a:b", "1").with("a:b", "2");
        ctx.set("A:B", "3");
        assert_eq!(ctx.get("a:b").len(), 1);
        assert_eq!(ctx.get("a:b")[0].as_str(), "3");
    }
}
