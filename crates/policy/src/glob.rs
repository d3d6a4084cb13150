//! Wildcard patterns (`*` = any run of characters, `?` = one character), compiled once.
//!
//! Most patterns in real policies are a literal, `prefix*`, `*suffix` or `*`; those get a
//! dedicated representation so matching them is a single slice comparison. Everything else
//! falls back to the classic linear-time star/backtrack matcher. Matching never allocates.
//!
//! Two case modes: actions match ASCII case-insensitively (RAM treats action names that way),
//! resources and `StringLike` values case-sensitively. A case-insensitive glob stores its
//! pattern lower-cased.

use smol_str::SmolStr;

/// Whether a glob folds ASCII case when matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    Sensitive,
    Insensitive,
}

/// The literals are [`SmolStr`]s: up to 23 bytes (a service code, an account id, most ARN
/// fields) are stored inline, so matching them reads no other cache line — which counts when a
/// decision's policy set is one of thousands and not in the CPU caches.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Shape {
    Any,
    Exact(SmolStr),
    Prefix(SmolStr),
    Suffix(SmolStr),
    Contains(SmolStr),
    /// Only `*` wildcards (no `?`), e.g. `acs:oss:*:*:bucket-a/*`.
    Stars(Stars),
    Wild(SmolStr),
}

/// A `*`-only pattern split at its stars: `prefix*middle[0]*…*middle[n-1]*suffix`. Matching
/// anchors the prefix and suffix and finds each middle segment left to right (leftmost match
/// first), which is exact when `*` is the only wildcard, and linear in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stars {
    /// The whole pattern, for [`Glob::service_literal`].
    pattern: Box<str>,
    prefix: Box<[u8]>,
    /// Non-empty literal segments between stars (`**` yields none).
    middle: Box<[Box<[u8]>]>,
    suffix: Box<[u8]>,
}

/// A compiled wildcard pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    shape: Shape,
    case: Case,
    /// For resource patterns: the pattern split at its colons (see [`Glob::matches_arn`]).
    arn: Option<ArnFields>,
}

/// Most colons an ARN may have for the per-field fast path (`acs:svc:region:account:rel`
/// has four; relative ids with a few more colons still qualify).
const ARN_MAX_COLONS: usize = 7;

/// A resource pattern cut at its (necessarily literal) colons into one glob per field.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ArnFields {
    /// How many fields the pattern has (colons + 1).
    len: usize,
    /// The fields that are not `*`, as (index, glob), last field first: the relative id is
    /// where patterns of one service differ, so a mismatch is usually found at once.
    checks: Box<[(usize, Glob)]>,
}

/// A request's resource ARN with the positions of its colons, computed once per decision.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Arn<'a> {
    text: &'a str,
    /// Offsets of the first `ARN_MAX_COLONS` colons.
    colons: [usize; ARN_MAX_COLONS],
    /// How many colons the ARN has in total.
    count: usize,
}

impl<'a> Arn<'a> {
    pub(crate) fn new(text: &'a str) -> Arn<'a> {
        let mut colons = [0; ARN_MAX_COLONS];
        let mut count = 0;
        for (i, b) in text.bytes().enumerate() {
            if b == b':' {
                if let Some(slot) = colons.get_mut(count) {
                    *slot = i;
                }
                count += 1;
            }
        }
        Arn {
            text,
            colons,
            count,
        }
    }

    /// Field `i` (0-based) of an ARN with at most `ARN_MAX_COLONS` colons.
    #[inline]
    fn field(&self, i: usize) -> &'a [u8] {
        let bytes = self.text.as_bytes();
        let start = if i == 0 { 0 } else { self.colons[i - 1] + 1 };
        let end = if i < self.count {
            self.colons[i]
        } else {
            bytes.len()
        };
        &bytes[start..end]
    }
}

impl Glob {
    /// Compiles `pattern`. Every string is a valid pattern.
    pub fn new(pattern: &str, case: Case) -> Self {
        let shape = match case {
            Case::Sensitive => classify(pattern),
            Case::Insensitive => classify(&pattern.to_ascii_lowercase()),
        };
        Glob {
            shape,
            case,
            arn: None,
        }
    }

    /// A case-sensitive resource pattern, with the per-field form [`Glob::matches_arn`] uses.
    pub(crate) fn resource(pattern: &str) -> Self {
        let mut glob = Glob::new(pattern, Case::Sensitive);
        let colons = pattern.bytes().filter(|&b| b == b':').count();
        if colons > 0 && colons <= ARN_MAX_COLONS && !glob.is_any() {
            let mut checks: Vec<(usize, Glob)> = pattern
                .split(':')
                .map(|f| Glob::new(f, Case::Sensitive))
                .enumerate()
                .filter(|(_, g)| !g.is_any())
                .collect();
            checks.reverse();
            glob.arn = Some(ArnFields {
                len: colons + 1,
                checks: checks.into(),
            });
        }
        glob
    }

    /// Same as `self.matches(text)` for the ARN's text; faster for patterns built by
    /// [`Glob::resource`].
    ///
    /// Every colon of the pattern is literal and must match its own colon of the text. So a
    /// text with fewer colons cannot match, and a text with exactly as many colons matches iff
    /// each field matches the corresponding field of the pattern: no wildcard can take a
    /// colon. Texts with more colons go through the whole-string matcher.
    #[inline]
    pub(crate) fn matches_arn(&self, arn: &Arn) -> bool {
        match &self.arn {
            Some(a) if arn.count + 1 == a.len => a
                .checks
                .iter()
                .all(|(i, g)| g.matches_with::<false>(arn.field(*i))),
            Some(a) if arn.count + 1 < a.len => false,
            _ => self.matches(arn.text),
        }
    }

    /// True when the pattern matches every string.
    pub fn is_any(&self) -> bool {
        matches!(self.shape, Shape::Any)
    }

    /// The literal this pattern equals, if it has no wildcard (lower-cased when insensitive).
    pub fn literal(&self) -> Option<&str> {
        match &self.shape {
            Shape::Exact(s) => Some(s.as_str()),
            _ => None,
        }
    }

    /// For an action pattern like `ecs:Describe*`: the service code before the colon, when it
    /// is literal (`None` for `*`, `*:Get*` or `e?s:List*`).
    pub fn service_literal(&self) -> Option<&str> {
        let pattern = match &self.shape {
            Shape::Any => return None,
            Shape::Exact(p) | Shape::Prefix(p) | Shape::Wild(p) => p.as_str(),
            Shape::Stars(s) => &s.pattern,
            Shape::Suffix(_) | Shape::Contains(_) => return None,
        };
        let (service, _) = pattern.split_once(':')?;
        (!service.contains(['*', '?'])).then_some(service)
    }

    /// `self.matches(text)` for a `text` already ASCII-lower-cased (the request action, once
    /// per decision): a case-insensitive pattern is stored lower-cased, so no folding remains.
    #[inline]
    pub(crate) fn matches_lowered(&self, lowered: &[u8]) -> bool {
        self.matches_with::<false>(lowered)
    }

    /// Does `text` match the whole pattern?
    pub fn matches(&self, text: &str) -> bool {
        match self.case {
            Case::Sensitive => self.matches_with::<false>(text.as_bytes()),
            Case::Insensitive => self.matches_with::<true>(text.as_bytes()),
        }
    }

    fn matches_with<const FOLD: bool>(&self, text: &[u8]) -> bool {
        match &self.shape {
            Shape::Any => true,
            Shape::Exact(p) => eq::<FOLD>(p.as_bytes(), text),
            Shape::Prefix(p) => text.len() >= p.len() && eq::<FOLD>(p.as_bytes(), &text[..p.len()]),
            Shape::Suffix(p) => {
                text.len() >= p.len() && eq::<FOLD>(p.as_bytes(), &text[text.len() - p.len()..])
            }
            Shape::Contains(p) => contains::<FOLD>(text, p.as_bytes()),
            Shape::Stars(s) => stars_match::<FOLD>(s, text),
            Shape::Wild(p) => wild_match::<FOLD>(p.as_bytes(), text),
        }
    }
}

fn classify(pattern: &str) -> Shape {
    let is_wild = |c: char| c == '*' || c == '?';
    if !pattern.contains(is_wild) {
        return Shape::Exact(pattern.into());
    }
    if pattern.chars().all(|c| c == '*') {
        return Shape::Any;
    }
    let inner_literal = |s: &str| !s.contains(is_wild);
    if let Some(prefix) = pattern.strip_suffix('*')
        && inner_literal(prefix)
    {
        return Shape::Prefix(prefix.into());
    }
    if let Some(suffix) = pattern.strip_prefix('*') {
        if inner_literal(suffix) {
            return Shape::Suffix(suffix.into());
        }
        if let Some(middle) = suffix.strip_suffix('*')
            && inner_literal(middle)
        {
            return Shape::Contains(middle.into());
        }
    }
    if !pattern.contains('?') {
        return Shape::Stars(split_stars(pattern));
    }
    Shape::Wild(pattern.into())
}

fn split_stars(pattern: &str) -> Stars {
    let mut parts: Vec<&[u8]> = pattern.as_bytes().split(|&b| b == b'*').collect();
    // At least one star, so at least two parts: the first is the prefix, the last the suffix.
    let suffix: Box<[u8]> = parts.pop().unwrap_or_default().into();
    let prefix: Box<[u8]> = if parts.is_empty() {
        Box::default()
    } else {
        parts.remove(0).into()
    };
    let middle = parts
        .into_iter()
        .filter(|s| !s.is_empty())
        .map(Box::from)
        .collect();
    Stars {
        prefix,
        middle,
        suffix,
        pattern: pattern.into(),
    }
}

fn stars_match<const FOLD: bool>(s: &Stars, text: &[u8]) -> bool {
    let (prefix, suffix) = (&*s.prefix, &*s.suffix);
    if text.len() < prefix.len() + suffix.len()
        || !eq::<FOLD>(prefix, &text[..prefix.len()])
        || !eq::<FOLD>(suffix, &text[text.len() - suffix.len()..])
    {
        return false;
    }
    let mut rest = &text[prefix.len()..text.len() - suffix.len()];
    for segment in s.middle.iter() {
        match find::<FOLD>(rest, segment) {
            Some(at) => rest = &rest[at + segment.len()..],
            None => return false,
        }
    }
    true
}

/// First position of the non-empty `needle` in `haystack`. A match always starts on a
/// character boundary: the needle's first byte is never a UTF-8 continuation byte.
#[inline]
fn find<const FOLD: bool>(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let last = haystack.len().checked_sub(needle.len())?;
    let mut i = 0;
    while i <= last {
        if byte_eq::<FOLD>(first, haystack[i])
            && rest
                .iter()
                .zip(&haystack[i + 1..])
                .all(|(p, t)| byte_eq::<FOLD>(*p, *t))
        {
            return Some(i);
        }
        i += 1;
    }
    None
}

#[inline]
fn byte_eq<const FOLD: bool>(pattern: u8, text: u8) -> bool {
    if FOLD {
        pattern == text.to_ascii_lowercase()
    } else {
        pattern == text
    }
}

#[inline]
fn eq<const FOLD: bool>(pattern: &[u8], text: &[u8]) -> bool {
    if FOLD {
        pattern.len() == text.len()
            && pattern
                .iter()
                .zip(text)
                .all(|(p, t)| byte_eq::<true>(*p, *t))
    } else {
        same_bytes(pattern, text)
    }
}

/// `a == b` for short slices (ARN fields, action names, keys), inline: word compares with an
/// overlapping last word instead of a call to libc `memcmp`, which costs more at these sizes.
#[inline]
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n >= 8 {
        let mut i = 0;
        while i + 8 < n {
            if word(a, i) != word(b, i) {
                return false;
            }
            i += 8;
        }
        word(a, n - 8) == word(b, n - 8)
    } else if n >= 4 {
        half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4)
    } else {
        a.iter().zip(b).all(|(x, y)| x == y)
    }
}

#[inline]
fn word(s: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&s[at..at + 8]);
    u64::from_ne_bytes(w)
}

#[inline]
fn half(s: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&s[at..at + 4]);
    u32::from_ne_bytes(w)
}

fn contains<const FOLD: bool>(text: &[u8], needle: &[u8]) -> bool {
    if needle.len() > text.len() {
        return false;
    }
    (0..=text.len() - needle.len()).any(|i| eq::<FOLD>(needle, &text[i..i + needle.len()]))
}

/// Length in bytes of the UTF-8 sequence that starts with `lead` (1 for stray bytes, so the
/// matcher always makes progress).
#[inline]
fn char_len(lead: u8) -> usize {
    match lead {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// Iterative wildcard match with single-star backtracking: O(|pattern| * |text|) worst case,
/// no recursion, no allocation. `?` consumes one UTF-8 character, not one byte.
fn wild_match<const FOLD: bool>(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    // Position after the last `*` seen, and the text position it is currently matched up to.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                if p + 1 == pattern.len() {
                    return true;
                }
                star = Some((p + 1, t));
                p += 1;
            }
            Some(b'?') => {
                p += 1;
                t += char_len(text[t]);
            }
            Some(&c) if byte_eq::<FOLD>(c, text[t]) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((after_star, matched_to)) => {
                    let next = matched_to + char_len(text[matched_to]);
                    star = Some((after_star, next));
                    p = after_star;
                    t = next;
                }
                None => return false,
            },
        }
    }
    pattern[p.min(pattern.len())..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, text: &str) -> bool {
        Glob::new(pattern, Case::Sensitive).matches(text)
    }

    #[test]
    fn literal_shapes() {
        assert!(m("abc", "abc"));
        assert!(!m("abc", "abcd"));
        assert!(m("*", ""));
        assert!(m("**", "anything"));
        assert!(m("ab*", "ab"));
        assert!(m("ab*", "abzzz"));
        assert!(!m("ab*", "a"));
        assert!(m("*yz", "xyz"));
        assert!(!m("*yz", "yzx"));
        assert!(m("*mid*", "amidb"));
        assert!(m("*mid*", "mid"));
        assert!(!m("*mid*", "mi"));
    }

    #[test]
    fn general_patterns() {
        assert!(m("a?c", "abc"));
        assert!(!m("a?c", "ac"));
        assert!(m("a*b*c", "aXXbYYc"));
        assert!(!m("a*b*c", "aXXbYY"));
        assert!(m(
            "acs:oss:*:*:bucket/*.jpg",
            "acs:oss:cn-hangzhou:123:bucket/a/b.jpg"
        ));
        assert!(!m(
            "acs:oss:*:*:bucket/*.jpg",
            "acs:oss:cn-hangzhou:123:bucket/a/b.png"
        ));
        assert!(m("*a*a*a*", "aaa"));
        assert!(!m("*a*a*a*b", "aaaaaaaaaaaaaaaaaaaa"));
        assert!(m("?*", "x"));
        assert!(!m("?*", ""));
    }

    #[test]
    fn question_mark_is_one_character_not_one_byte() {
        assert!(m("a?c", "aéc"));
        assert!(m("a??c", "a日本c"));
        assert!(!m("a?c", "a日本c"));
        assert!(m("*?本", "日本"));
    }

    #[test]
    fn case_insensitive_folds_ascii_only_on_the_text() {
        let g = Glob::new("ECS:Describe*", Case::Insensitive);
        assert!(g.matches("ecs:describeinstances"));
        assert!(g.matches("ECS:DESCRIBEINSTANCES"));
        assert!(!g.matches("ecs:createinstance"));
        assert_eq!(
            Glob::new("Ram:GetUser", Case::Insensitive).literal(),
            Some("ram:getuser")
        );
        assert!(Glob::new("ram:Get?ser", Case::Insensitive).matches("RAM:GETUSER"));
    }

    #[test]
    fn case_sensitive_resources() {
        assert!(!m("acs:oss:*:*:Bucket", "acs:oss:*:*:bucket"));
    }

    #[test]
    fn stars_agree_with_the_backtracking_matcher() {
        let alphabet = ["a", "b", ":", "/", "é", "*", "A"];
        let texts = [
            "", "a", "ab", "ba", "a:b", "aab:b/", "a/a/a", "éa", "b:éb", "AbA", "abab:ab", "::",
            "a*b",
        ];
        let mut seed = 0x2545_f491_u64;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 7) as usize;
            let mut s = seed;
            let pattern: String = (0..len)
                .map(|_| {
                    s /= 7;
                    alphabet[(s % 7) as usize]
                })
                .collect();
            for case in [Case::Sensitive, Case::Insensitive] {
                let g = Glob::new(&pattern, case);
                let p = match case {
                    Case::Sensitive => pattern.clone(),
                    Case::Insensitive => pattern.to_ascii_lowercase(),
                };
                for text in texts {
                    let want = match case {
                        Case::Sensitive => wild_match::<false>(p.as_bytes(), text.as_bytes()),
                        Case::Insensitive => wild_match::<true>(p.as_bytes(), text.as_bytes()),
                    };
                    assert_eq!(g.matches(text), want, "{pattern:?} {text:?} {case:?}");
                }
            }
        }
    }

    #[test]
    fn arn_fields_agree_with_whole_string_matching() {
        let patterns = [
            "*",
            "acs:oss:*:*:bucket-a/*",
            "acs:oss:*:*:bucket-a",
            "acs:*:bucket-a/*",
            "acs:ecs:cn-hangzhou:123:instance/*",
            "acs:*",
            "*:bucket/x",
            "acs:ram::123:role/x",
            "acs:ram:*:123:role/?",
            "acs:oss:*:*:a:b/*",
            "a?c:x",
            "acs:log:*:*:project/app-*/*",
            "acs:oss:*:*:*",
            "::",
            "acs:oss:*:*:日本/*",
        ];
        let texts = [
            "",
            "acs:oss:cn-hangzhou:123:bucket-a/x",
            "acs:oss:::bucket-a/x",
            "acs:oss:::bucket-a",
            "acs:oss:r:a:c:bucket-a/y",
            "acs:oss:a:b:c:bucket-a/",
            "acs:ram::123:role/x",
            "acs:ram:cn:123:role/é",
            "acs:ram:cn:123:role/xy",
            "acs:oss:*:*:a:b/c",
            "a:c:x",
            "abc:x",
            "acs:log:r:1:project/app-web/logstore/a",
            "acs:log:r:1:project/db/x",
            "::",
            ":::",
            "acs:oss:r:a:日本/x",
            "acs:ecs:cn-hangzhou:123:instance/i-1",
            "acs:oss:a:b:c:d:e:f:g:h:bucket-a/x",
        ];
        for p in patterns {
            let g = Glob::resource(p);
            for t in texts {
                assert_eq!(g.matches_arn(&Arn::new(t)), g.matches(t), "{p:?} {t:?}");
            }
        }
    }

    #[test]
    fn empty_region_matches_star() {
        assert!(m("acs:ram:*:123:role/x", "acs:ram::123:role/x"));
    }
}
