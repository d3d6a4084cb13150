//! Typed interpretations of condition values: numbers, dates, booleans and IP addresses.
//!
//! Policy values and request-context values go through the same parsers, so a value means the
//! same thing on both sides of a comparison.

use std::cmp::Ordering;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

/// A number as RAM's `Numeric*` operators compare it: integers exactly, anything else as f64.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    Int(i64),
    Float(f64),
}

impl Number {
    /// Parses a decimal integer or a finite decimal/exponent number. No surrounding spaces.
    pub fn parse(text: &str) -> Option<Number> {
        if text.is_empty() || text.trim() != text {
            return None;
        }
        if let Ok(i) = text.parse::<i64>() {
            return Some(Number::Int(i));
        }
        // Rust's float grammar also takes "inf", "NaN" and "infinity": only digits may start it.
        let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
        if !digits.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        text.parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Number::Float)
    }

    pub fn compare(self, other: Number) -> Option<Ordering> {
        match (self, other) {
            (Number::Int(a), Number::Int(b)) => Some(a.cmp(&b)),
            (a, b) => a.as_f64().partial_cmp(&b.as_f64()),
        }
    }

    #[allow(clippy::cast_precision_loss)] // comparing an integer with a fraction is inexact by nature
    fn as_f64(self) -> f64 {
        match self {
            Number::Int(i) => i as f64,
            Number::Float(f) => f,
        }
    }
}

/// A point in time as nanoseconds since the Unix epoch.
///
/// Accepted forms: RFC 3339 / ISO 8601 with `Z` or an offset (`2012-11-11T23:59:59Z`,
/// `2026-01-01T08:00:00+08:00`, fractions allowed), a bare date (`2012-11-11`, midnight UTC),
/// or integer epoch seconds. A date-time without an offset is ambiguous and rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(i128);

impl Instant {
    pub fn parse(text: &str) -> Option<Instant> {
        if text.is_empty() || text.len() > 64 || text.trim() != text {
            return None;
        }
        if text.bytes().all(|b| b.is_ascii_digit()) {
            let secs: i64 = text.parse().ok()?;
            return jiff::Timestamp::from_second(secs)
                .ok()
                .map(|t| Instant(t.as_nanosecond()));
        }
        if let Ok(ts) = jiff::Timestamp::from_str(text) {
            return Some(Instant(ts.as_nanosecond()));
        }
        if text.len() == 10 {
            let date = jiff::civil::Date::from_str(text).ok()?;
            let ts = date.to_zoned(jiff::tz::TimeZone::UTC).ok()?.timestamp();
            return Some(Instant(ts.as_nanosecond()));
        }
        None
    }

    /// From a [`jiff::Timestamp`], for callers that hold the current time.
    pub fn from_timestamp(ts: jiff::Timestamp) -> Instant {
        Instant(ts.as_nanosecond())
    }

    pub fn as_nanos(self) -> i128 {
        self.0
    }
}

/// `true`/`false`, ASCII case-insensitive.
pub fn parse_bool(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// An IPv4/IPv6 address; IPv4-mapped IPv6 addresses become IPv4 so both spellings match.
pub fn parse_ip(text: &str) -> Option<IpAddr> {
    IpAddr::from_str(text).ok().map(|ip| ip.to_canonical())
}

/// An address or CIDR block, as `IpAddress`/`NotIpAddress` accept them. Returns the network
/// and whether host bits were set (`10.0.0.1/8` is accepted as `10.0.0.0/8`).
pub fn parse_net(text: &str) -> Option<(IpNet, bool)> {
    if let Some(ip) = parse_ip(text) {
        return Some((IpNet::from(ip), false));
    }
    let net = IpNet::from_str(text).ok()?;
    let net = canonical_net(net);
    let trunc = net.trunc();
    Some((trunc, trunc != net))
}

/// `::ffff:10.0.0.0/104` is the IPv4 block `10.0.0.0/8`.
fn canonical_net(net: IpNet) -> IpNet {
    if let IpNet::V6(v6) = net
        && let Some(v4) = v6.addr().to_ipv4_mapped()
        && v6.prefix_len() >= 96
        && let Ok(mapped) = ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96)
    {
        return IpNet::V4(mapped);
    }
    net
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(Number::parse("42"), Some(Number::Int(42)));
        assert_eq!(Number::parse("-7"), Some(Number::Int(-7)));
        assert_eq!(Number::parse("1.5"), Some(Number::Float(1.5)));
        assert_eq!(Number::parse("1e3"), Some(Number::Float(1000.0)));
        for bad in [
            "",
            " 1",
            "1 ",
            "abc",
            "NaN",
            "inf",
            "-infinity",
            "1e999",
            "0x10",
            "1,5",
        ] {
            assert_eq!(Number::parse(bad), None, "{bad}");
        }
        let big = Number::parse("9007199254740993").unwrap_or(Number::Int(0));
        let big_minus_one = Number::parse("9007199254740992").unwrap_or(Number::Int(0));
        assert_eq!(big.compare(big_minus_one), Some(Ordering::Greater));
        assert_eq!(
            Number::Int(2).compare(Number::Float(2.5)),
            Some(Ordering::Less)
        );
    }

    #[test]
    fn instants() {
        let z = Instant::parse("2012-11-11T23:59:59Z");
        let offset = Instant::parse("2012-11-12T07:59:59+08:00");
        assert!(z.is_some());
        assert_eq!(z, offset);
        assert!(Instant::parse("2012-11-11T23:59:59.5Z") > z);
        assert_eq!(
            Instant::parse("2012-11-11"),
            Instant::parse("2012-11-11T00:00:00Z")
        );
        assert_eq!(Instant::parse("0"), Instant::parse("1970-01-01T00:00:00Z"));
        for bad in [
            "",
            "2012-11-11T23:59:59",
            "2012-13-01",
            "yesterday",
            " 2012-11-11",
            "2012-11-11T25:00:00Z",
            "99999999999999999999",
        ] {
            assert_eq!(Instant::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn booleans() {
        assert_eq!(parse_bool("true"), Some(true));
        assert_eq!(parse_bool("FALSE"), Some(false));
        assert_eq!(parse_bool("yes"), None);
    }

    #[test]
    fn addresses_and_networks() {
        assert_eq!(parse_ip("::ffff:10.1.2.3"), parse_ip("10.1.2.3"));
        let (net, host_bits) = parse_net("10.0.0.1/8").unwrap_or_else(|| (IpNet::default(), false));
        assert_eq!(net.to_string(), "10.0.0.0/8");
        assert!(host_bits);
        let (net, host_bits) =
            parse_net("2001:db8::/32").unwrap_or_else(|| (IpNet::default(), true));
        assert_eq!(net.to_string(), "2001:db8::/32");
        assert!(!host_bits);
        let (net, _) = parse_net("::ffff:10.0.0.0/104").unwrap_or_else(|| (IpNet::default(), true));
        assert_eq!(net.to_string(), "10.0.0.0/8");
        let (net, _) = parse_net("192.0.2.7").unwrap_or_else(|| (IpNet::default(), true));
        assert_eq!(net.to_string(), "192.0.2.7/32");
        for bad in [
            "10.0.0.0/33",
            "10.0.0",
            "300.1.1.1",
            "10.0.0.0/",
            "fe80::1%eth0",
            "",
        ] {
            assert_eq!(parse_net(bad), None, "{bad}");
        }
    }
}
