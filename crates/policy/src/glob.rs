//! Wildcard patterns (`*` = any run of characters, `?` = one character), compiled once.
//!
//! Most patterns in real policies are a literal, `prefix*`, `*suffix` or `*`; those get a
//! dedicated representation so matching them is a single slice comparison. Everything else
//! falls back to the classic linear-time star/backtrack matcher. Matching never allocates.
//!
//! Two case modes: actions match ASCII case-insensitively (RAM treats action names that way),
//! resources and `StringLike` values case-sensitively. A case-insensitive glob stores its
//! pattern lower-cased.

/// Whether a glob folds ASCII case when matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    Sensitive,
    Insensitive,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Shape {
    Any,
    Exact(Box<str>),
    Prefix(Box<str>),
    Suffix(Box<str>),
    Contains(Box<str>),
    Wild(Box<str>),
}

/// A compiled wildcard pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    shape: Shape,
    case: Case,
}

impl Glob {
    /// Compiles `pattern`. Every string is a valid pattern.
    pub fn new(pattern: &str, case: Case) -> Self {
        let owned: Box<str> = match case {
            Case::Sensitive => pattern.into(),
            Case::Insensitive => pattern.to_ascii_lowercase().into(),
        };
        let shape = classify(owned);
        Glob { shape, case }
    }

    /// True when the pattern matches every string.
    pub fn is_any(&self) -> bool {
        matches!(self.shape, Shape::Any)
    }

    /// The literal this pattern equals, if it has no wildcard (lower-cased when insensitive).
    pub fn literal(&self) -> Option<&str> {
        match &self.shape {
            Shape::Exact(s) => Some(s),
            _ => None,
        }
    }

    /// For an action pattern like `ecs:Describe*`: the service code before the colon, when it
    /// is literal (`None` for `*`, `*:Get*` or `e?s:List*`).
    pub fn service_literal(&self) -> Option<&str> {
        let pattern = match &self.shape {
            Shape::Any => return None,
            Shape::Exact(p) | Shape::Prefix(p) | Shape::Wild(p) => p,
            Shape::Suffix(_) | Shape::Contains(_) => return None,
        };
        let (service, _) = pattern.split_once(':')?;
        (!service.contains(['*', '?'])).then_some(service)
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
            Shape::Wild(p) => wild_match::<FOLD>(p.as_bytes(), text),
        }
    }
}

fn classify(pattern: Box<str>) -> Shape {
    let is_wild = |c: char| c == '*' || c == '?';
    if !pattern.contains(is_wild) {
        return Shape::Exact(pattern);
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
    Shape::Wild(pattern)
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
        pattern == text
    }
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
    fn empty_region_matches_star() {
        assert!(m("acs:ram:*:123:role/x", "acs:ram::123:role/x"));
    }
}
