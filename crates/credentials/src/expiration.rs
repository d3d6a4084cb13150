//! The one date format the SDKs accept for `Expiration` (and send as `Timestamp` /
//! `x-acs-date`): `YYYY-MM-DDTHH:MM:SSZ`, UTC, whole seconds, no offset.
//! credentials-python parses it with `%Y-%m-%dT%H:%M:%SZ` and Go with
//! `2006-01-02T15:04:05Z`; fractions or offsets break them.

use jiff::Timestamp;

/// Formats `t` as `YYYY-MM-DDTHH:MM:SSZ` (UTC; sub-second precision is truncated).
pub fn format_expiration(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Parses exactly `YYYY-MM-DDTHH:MM:SSZ`; anything else (fractions, offsets, lower-case
/// `t`/`z`, missing seconds) is `None`.
pub fn parse_expiration(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    let shape_ok = b.len() == 20
        && b.iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'-',
            10 => c == b'T',
            13 | 16 => c == b':',
            19 => c == b'Z',
            _ => c.is_ascii_digit(),
        });
    if !shape_ok {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_whole_seconds_in_utc() {
        let t: Timestamp = "2015-04-09T11:52:19.987654321Z".parse().unwrap();
        assert_eq!(format_expiration(t), "2015-04-09T11:52:19Z");
        let t: Timestamp = "2026-01-02T03:04:05+08:00".parse().unwrap();
        assert_eq!(format_expiration(t), "2026-01-01T19:04:05Z");
        assert_eq!(
            format_expiration(Timestamp::UNIX_EPOCH),
            "1970-01-01T00:00:00Z"
        );
    }

    #[test]
    fn parses_only_the_exact_format() {
        let t = parse_expiration("2015-04-09T11:52:19Z").unwrap();
        assert_eq!(t.as_second(), 1_428_580_339);
        assert_eq!(format_expiration(t), "2015-04-09T11:52:19Z");
        for bad in [
            "2015-04-09T11:52:19.5Z",
            "2015-04-09T11:52:19+00:00",
            "2015-04-09 11:52:19Z",
            "2015-04-09t11:52:19z",
            "2015-04-09T11:52Z",
            "2015-13-09T11:52:19Z",
            "2015-02-30T11:52:19Z",
            "",
        ] {
            assert_eq!(parse_expiration(bad), None, "{bad}");
        }
    }
}
