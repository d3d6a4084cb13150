//! Percent-encoding and query parsing shared by both signature schemes.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode, utf8_percent_encode};

use super::SignatureError;

/// RFC 3986 unreserved characters stay as they are; every other byte becomes `%XY` with
/// upper-case hex. This is what the SDKs compute after their `+`→`%20`, `*`→`%2A`,
/// `%7E`→`~` fix-ups (Python `quote(s, safe="~")`, Go `url.QueryEscape` + replacements).
const RFC3986: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes `s` as the Alibaba SDKs do for signing (space → `%20`).
pub(crate) fn percent_encode(s: &str) -> String {
    utf8_percent_encode(s, RFC3986).to_string()
}

/// Percent-encodes `s` as credentials-python's `quote_plus` does (space → `+`, everything
/// else as [`percent_encode`]).
pub(crate) fn percent_encode_plus(s: &str) -> String {
    // A literal `+` is encoded as `%2B`, so every `%20` in the output came from a space.
    percent_encode(s).replace("%20", "+")
}

/// Decodes one `application/x-www-form-urlencoded` component: `+` is a space, `%XY` a byte.
fn form_decode(raw: &str) -> Result<String, SignatureError> {
    let spaced = raw.replace('+', " ");
    percent_decode(spaced.as_bytes())
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| SignatureError::InvalidParameter("a parameter is not valid UTF-8".into()))
}

/// Parses a query string or form body into decoded `(name, value)` pairs, in order.
/// A name without `=` has the empty value. Empty segments (`a=1&&b=2`) are skipped.
pub(crate) fn parse_form(raw: &str) -> Result<Vec<(String, String)>, SignatureError> {
    let mut out = Vec::new();
    for segment in raw.split('&').filter(|s| !s.is_empty()) {
        let (name, value) = segment.split_once('=').unwrap_or((segment, ""));
        out.push((form_decode(name)?, form_decode(value)?));
    }
    Ok(out)
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_the_sdks() {
        assert_eq!(percent_encode("a b*c~d/e+f"), "a%20b%2Ac~d%2Fe%2Bf");
        assert_eq!(percent_encode("é"), "%C3%A9");
        assert_eq!(percent_encode("AZaz09-_.~"), "AZaz09-_.~");
        assert_eq!(percent_encode(""), "");
        assert_eq!(percent_encode_plus("a b+c"), "a+b%2Bc");
    }

    #[test]
    fn parses_forms() {
        let p = parse_form("a=1&b=x+y%2Bz&&c&d=&e=%C3%A9").unwrap();
        let expected: Vec<(String, String)> =
            [("a", "1"), ("b", "x y+z"), ("c", ""), ("d", ""), ("e", "é")]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        assert_eq!(p, expected);
        assert!(parse_form("a=%FF").is_err());
        assert!(parse_form("").unwrap().is_empty());
    }

    #[test]
    fn hex_is_lower_case() {
        assert_eq!(hex(&[0x00, 0xab, 0xff]), "00abff");
    }
}
