//! Condition operators: names, typed values, and evaluation against a request context.
//!
//! Semantics (DESIGN.md §2): values of one key are OR-ed; keys of one operator and operators of
//! one block are AND-ed. A negated operator (`StringNotEquals`, `NotIpAddress`, …) is true iff
//! the request value matches none of the listed values. A missing key makes a positive
//! operator false and a negated one true; `…IfExists` makes any operator true on a missing key.
//! `ForAnyValue:` is true iff some request value satisfies the operator (false on a missing
//! key); `ForAllValues:` iff every request value does (true on a missing key). Without a
//! qualifier a multi-valued key behaves like `ForAnyValue:` for positive operators and as the
//! negation of the positive operator for negated ones. A request value that cannot be read as
//! the operator's type (a `NumericEquals` on `"abc"`) matches no listed value.

use std::cmp::Ordering;
use std::fmt;

use ipnet::IpNet;

use crate::context::{Context, ContextValue};
use crate::glob::{Case, Glob};
use crate::value::{Instant, Number};

/// The type family of an operator, which decides how its values are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueType {
    String,
    Numeric,
    Date,
    Bool,
    Ip,
    Null,
}

macro_rules! operators {
    ($($name:ident => $ty:ident, $negated:expr;)*) => {
        /// A condition operator without its `…IfExists` suffix or set qualifier.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Operator { $($name,)* }

        impl Operator {
            pub const ALL: &'static [Operator] = &[$(Operator::$name,)*];

            pub fn name(self) -> &'static str {
                match self { $(Operator::$name => stringify!($name),)* }
            }

            pub fn value_type(self) -> ValueType {
                match self { $(Operator::$name => ValueType::$ty,)* }
            }

            /// True for `…Not…` operators: they hold when nothing listed matches.
            pub fn is_negated(self) -> bool {
                match self { $(Operator::$name => $negated,)* }
            }
        }
    };
}

operators! {
    StringEquals => String, false;
    StringNotEquals => String, true;
    StringEqualsIgnoreCase => String, false;
    StringNotEqualsIgnoreCase => String, true;
    StringLike => String, false;
    StringNotLike => String, true;
    NumericEquals => Numeric, false;
    NumericNotEquals => Numeric, true;
    NumericLessThan => Numeric, false;
    NumericLessThanEquals => Numeric, false;
    NumericGreaterThan => Numeric, false;
    NumericGreaterThanEquals => Numeric, false;
    DateEquals => Date, false;
    DateNotEquals => Date, true;
    DateLessThan => Date, false;
    DateLessThanEquals => Date, false;
    DateGreaterThan => Date, false;
    DateGreaterThanEquals => Date, false;
    Bool => Bool, false;
    IpAddress => Ip, false;
    NotIpAddress => Ip, true;
    Null => Null, false;
}

impl Operator {
    pub fn from_name(name: &str) -> Option<Operator> {
        Operator::ALL.iter().copied().find(|op| op.name() == name)
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a multi-valued request key is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SetQualifier {
    /// No qualifier (single-valued semantics; see the module docs for multi-valued keys).
    Single,
    ForAnyValue,
    ForAllValues,
}

/// A full operator as written in a policy: `[ForAnyValue:|ForAllValues:]Operator[IfExists]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OperatorSpec {
    pub qualifier: SetQualifier,
    pub operator: Operator,
    pub if_exists: bool,
}

impl OperatorSpec {
    /// Parses an operator name; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<OperatorSpec, String> {
        let (qualifier, rest) = if let Some(rest) = text.strip_prefix("ForAnyValue:") {
            (SetQualifier::ForAnyValue, rest)
        } else if let Some(rest) = text.strip_prefix("ForAllValues:") {
            (SetQualifier::ForAllValues, rest)
        } else if let Some((prefix, _)) = text.split_once(':') {
            return Err(format!(
                "unknown set qualifier \"{prefix}:\" in condition operator \"{text}\"; use ForAnyValue: or ForAllValues:"
            ));
        } else {
            (SetQualifier::Single, text)
        };
        let (base, if_exists) = match rest.strip_suffix("IfExists") {
            Some(base) => (base, true),
            None => (rest, false),
        };
        let Some(operator) = Operator::from_name(base) else {
            let hint = Operator::ALL
                .iter()
                .find(|op| op.name().eq_ignore_ascii_case(base))
                .map(|op| {
                    format!(
                        "; operators are case-sensitive: did you mean \"{}\"?",
                        op.name()
                    )
                })
                .unwrap_or_default();
            return Err(format!("unknown condition operator \"{text}\"{hint}"));
        };
        if operator == Operator::Null && (if_exists || qualifier != SetQualifier::Single) {
            return Err(format!(
                "\"{text}\": Null takes neither IfExists nor a set qualifier"
            ));
        }
        Ok(OperatorSpec {
            qualifier,
            operator,
            if_exists,
        })
    }
}

impl fmt::Display for OperatorSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.qualifier {
            SetQualifier::Single => {}
            SetQualifier::ForAnyValue => f.write_str("ForAnyValue:")?,
            SetQualifier::ForAllValues => f.write_str("ForAllValues:")?,
        }
        f.write_str(self.operator.name())?;
        if self.if_exists {
            f.write_str("IfExists")?;
        }
        Ok(())
    }
}

/// The listed values of one condition key, pre-parsed for the operator's type.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Values {
    Strings(Box<[Box<str>]>),
    /// Unicode lower-cased, for the `IgnoreCase` operators.
    Folded(Box<[Box<str>]>),
    Globs(Box<[Glob]>),
    Numbers(Box<[Number]>),
    Instants(Box<[Instant]>),
    Bools(Box<[bool]>),
    Nets(Box<[IpNet]>),
    /// `Null: true` means "the key must be absent".
    Null(bool),
}

/// One `operator: { key: values }` entry, compiled.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub(crate) spec: OperatorSpec,
    /// Lower-cased, as context keys are stored.
    pub(crate) key: Box<str>,
    /// `context::key_hash(&key)`, for the context lookup.
    pub(crate) key_hash: u64,
    pub(crate) values: Values,
}

impl Condition {
    pub fn spec(&self) -> OperatorSpec {
        self.spec
    }

    /// The condition key, lower-cased.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Builds a condition from already-validated raw values.
    pub(crate) fn build(spec: OperatorSpec, key: &str, raw: &[&str]) -> Result<Condition, String> {
        let op = spec.operator;
        let values = match op {
            Operator::StringEquals | Operator::StringNotEquals => {
                Values::Strings(raw.iter().map(|s| Box::from(*s)).collect())
            }
            Operator::StringEqualsIgnoreCase | Operator::StringNotEqualsIgnoreCase => {
                Values::Folded(raw.iter().map(|s| s.to_lowercase().into()).collect())
            }
            Operator::StringLike | Operator::StringNotLike => {
                Values::Globs(raw.iter().map(|s| Glob::new(s, Case::Sensitive)).collect())
            }
            _ => match op.value_type() {
                ValueType::Numeric => Values::Numbers(parse_all(raw, Number::parse, "a number")?),
                ValueType::Date => Values::Instants(parse_all(
                    raw,
                    Instant::parse,
                    "an ISO 8601 date (e.g. 2026-01-31T00:00:00Z) or epoch seconds",
                )?),
                ValueType::Bool => Values::Bools(parse_all(
                    raw,
                    crate::value::parse_bool,
                    "\"true\" or \"false\"",
                )?),
                ValueType::Ip => Values::Nets(parse_all(
                    raw,
                    |s| crate::value::parse_net(s).map(|(net, _)| net),
                    "an IP address or CIDR block",
                )?),
                ValueType::Null => match raw {
                    [one] => Values::Null(crate::value::parse_bool(one).ok_or_else(|| {
                        format!("\"{one}\" is not a valid Null value; use \"true\" or \"false\"")
                    })?),
                    _ => return Err("Null takes exactly one value, \"true\" or \"false\"".into()),
                },
                ValueType::String => Values::Strings(raw.iter().map(|s| Box::from(*s)).collect()),
            },
        };
        let key = key.to_ascii_lowercase();
        Ok(Condition {
            spec,
            key_hash: crate::context::key_hash(&key),
            key: key.into(),
            values,
        })
    }

    /// Evaluates this condition against `context`.
    pub fn evaluate(&self, context: &Context) -> bool {
        let present = context.get_hashed(&self.key, self.key_hash);
        if let Values::Null(must_be_absent) = self.values {
            return must_be_absent == present.is_empty();
        }
        let negated = self.spec.operator.is_negated();
        if present.is_empty() {
            return self.spec.if_exists
                || match self.spec.qualifier {
                    SetQualifier::Single => negated,
                    SetQualifier::ForAnyValue => false,
                    SetQualifier::ForAllValues => true,
                };
        }
        // `hits(v)`: v matches at least one listed value (the positive relation).
        let hits = |v: &ContextValue| self.any_listed_value_matches(v);
        match self.spec.qualifier {
            SetQualifier::Single if negated => !present.iter().any(hits),
            SetQualifier::Single => present.iter().any(hits),
            SetQualifier::ForAnyValue => present.iter().any(|v| hits(v) != negated),
            SetQualifier::ForAllValues => present.iter().all(|v| hits(v) != negated),
        }
    }

    fn any_listed_value_matches(&self, v: &ContextValue) -> bool {
        use Operator as O;
        let op = self.spec.operator;
        match &self.values {
            Values::Strings(list) => list.iter().any(|s| **s == *v.as_str()),
            Values::Folded(list) => list.iter().any(|s| **s == *v.folded()),
            Values::Globs(list) => list.iter().any(|g| g.matches(v.as_str())),
            Values::Numbers(list) => v.number().is_some_and(|n| {
                list.iter()
                    .any(|p| n.compare(*p).is_some_and(|o| ordering_holds(op, o)))
            }),
            Values::Instants(list) => v
                .instant()
                .is_some_and(|t| list.iter().any(|p| ordering_holds(op, t.cmp(p)))),
            Values::Bools(list) => v.boolean().is_some_and(|b| list.contains(&b)),
            Values::Nets(list) => v
                .ip()
                .is_some_and(|ip| list.iter().any(|n| n.contains(&ip))),
            Values::Null(_) => {
                debug_assert!(matches!(op, O::Null));
                false
            }
        }
    }
}

/// Does `request <op> policy` hold, given `request.cmp(policy)`?
fn ordering_holds(op: Operator, ord: Ordering) -> bool {
    use Operator as O;
    match op {
        O::NumericEquals | O::NumericNotEquals | O::DateEquals | O::DateNotEquals => {
            ord == Ordering::Equal
        }
        O::NumericLessThan | O::DateLessThan => ord == Ordering::Less,
        O::NumericLessThanEquals | O::DateLessThanEquals => ord != Ordering::Greater,
        O::NumericGreaterThan | O::DateGreaterThan => ord == Ordering::Greater,
        O::NumericGreaterThanEquals | O::DateGreaterThanEquals => ord != Ordering::Less,
        _ => false,
    }
}

fn parse_all<T>(
    raw: &[&str],
    parse: impl Fn(&str) -> Option<T>,
    expected: &str,
) -> Result<Box<[T]>, String> {
    raw.iter()
        .map(|s| parse(s).ok_or_else(|| format!("\"{s}\" is not {expected}")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(op: &str, key: &str, values: &[&str]) -> Condition {
        let spec = OperatorSpec::parse(op).unwrap_or_else(|e| unreachable_spec(&e));
        Condition::build(spec, key, values).unwrap_or_else(|e| unreachable_cond(&e))
    }

    #[allow(clippy::panic)]
    fn unreachable_spec(e: &str) -> OperatorSpec {
        panic!("{e}")
    }

    #[allow(clippy::panic)]
    fn unreachable_cond(e: &str) -> Condition {
        panic!("{e}")
    }

    fn ctx(pairs: &[(&str, &str)]) -> Context {
        pairs.iter().copied().collect()
    }

    #[test]
    fn operator_names_round_trip() {
        for op in Operator::ALL {
            assert_eq!(Operator::from_name(op.name()), Some(*op));
        }
        let spec = OperatorSpec::parse("ForAllValues:StringLikeIfExists");
        assert_eq!(
            spec.map(|s| s.to_string()),
            Ok("ForAllValues:StringLikeIfExists".into())
        );
    }

    #[test]
    fn operator_name_errors() {
        let err = OperatorSpec::parse("stringequals")
            .err()
            .unwrap_or_default();
        assert!(err.contains("did you mean \"StringEquals\""), "{err}");
        assert!(OperatorSpec::parse("StringEqual").is_err());
        assert!(OperatorSpec::parse("ForSomeValues:StringEquals").is_err());
        assert!(OperatorSpec::parse("NullIfExists").is_err());
        assert!(OperatorSpec::parse("ForAnyValue:Null").is_err());
        assert!(OperatorSpec::parse("IfExists").is_err());
    }

    #[test]
    fn string_operators() {
        let c = ctx(&[("k:v", "Hello")]);
        assert!(cond("StringEquals", "k:v", &["Hello"]).evaluate(&c));
        assert!(!cond("StringEquals", "k:v", &["hello"]).evaluate(&c));
        assert!(cond("StringEquals", "K:V", &["x", "Hello"]).evaluate(&c));
        assert!(cond("StringNotEquals", "k:v", &["hello"]).evaluate(&c));
        assert!(!cond("StringNotEquals", "k:v", &["x", "Hello"]).evaluate(&c));
        assert!(cond("StringEqualsIgnoreCase", "k:v", &["HELLO"]).evaluate(&c));
        assert!(!cond("StringNotEqualsIgnoreCase", "k:v", &["hello"]).evaluate(&c));
        assert!(cond("StringNotEqualsIgnoreCase", "k:v", &["bye"]).evaluate(&c));
        assert!(cond("StringLike", "k:v", &["H*o"]).evaluate(&c));
        assert!(!cond("StringLike", "k:v", &["h*"]).evaluate(&c));
        assert!(cond("StringNotLike", "k:v", &["h*"]).evaluate(&c));
        assert!(!cond("StringNotLike", "k:v", &["H?llo"]).evaluate(&c));
        let unicode = ctx(&[("k:v", "ÄBC")]);
        assert!(cond("StringEqualsIgnoreCase", "k:v", &["äbc"]).evaluate(&unicode));
    }

    #[test]
    fn numeric_operators() {
        let c = ctx(&[("k:n", "10")]);
        assert!(cond("NumericEquals", "k:n", &["10"]).evaluate(&c));
        assert!(cond("NumericEquals", "k:n", &["10.0"]).evaluate(&c));
        assert!(cond("NumericNotEquals", "k:n", &["11"]).evaluate(&c));
        assert!(!cond("NumericNotEquals", "k:n", &["10"]).evaluate(&c));
        assert!(cond("NumericLessThan", "k:n", &["11"]).evaluate(&c));
        assert!(!cond("NumericLessThan", "k:n", &["10"]).evaluate(&c));
        assert!(cond("NumericLessThanEquals", "k:n", &["10"]).evaluate(&c));
        assert!(cond("NumericGreaterThan", "k:n", &["9.5"]).evaluate(&c));
        assert!(!cond("NumericGreaterThan", "k:n", &["10"]).evaluate(&c));
        assert!(cond("NumericGreaterThanEquals", "k:n", &["10"]).evaluate(&c));
        let garbage = ctx(&[("k:n", "ten")]);
        assert!(!cond("NumericEquals", "k:n", &["10"]).evaluate(&garbage));
        assert!(!cond("NumericLessThan", "k:n", &["10"]).evaluate(&garbage));
        assert!(cond("NumericNotEquals", "k:n", &["10"]).evaluate(&garbage));
    }

    #[test]
    fn date_operators() {
        let c = ctx(&[("acs:CurrentTime", "2026-06-01T12:00:00Z")]);
        let k = "acs:currenttime";
        assert!(cond("DateEquals", k, &["2026-06-01T20:00:00+08:00"]).evaluate(&c));
        assert!(cond("DateNotEquals", k, &["2026-06-01T12:00:01Z"]).evaluate(&c));
        assert!(cond("DateLessThan", k, &["2026-06-02"]).evaluate(&c));
        assert!(!cond("DateLessThan", k, &["2026-06-01T12:00:00Z"]).evaluate(&c));
        assert!(cond("DateLessThanEquals", k, &["2026-06-01T12:00:00Z"]).evaluate(&c));
        assert!(cond("DateGreaterThan", k, &["2026-01-01T00:00:00Z"]).evaluate(&c));
        assert!(cond("DateGreaterThanEquals", k, &["2026-06-01T12:00:00Z"]).evaluate(&c));
        assert!(!cond("DateGreaterThan", k, &["2027-01-01T00:00:00Z"]).evaluate(&c));
        assert!(cond("DateGreaterThan", k, &["1700000000"]).evaluate(&c));
    }

    #[test]
    fn bool_and_ip_operators() {
        let c = ctx(&[("acs:MFAPresent", "true"), ("acs:SourceIp", "192.0.2.10")]);
        assert!(cond("Bool", "acs:MFAPresent", &["true"]).evaluate(&c));
        assert!(!cond("Bool", "acs:MFAPresent", &["false"]).evaluate(&c));
        assert!(cond("IpAddress", "acs:SourceIp", &["192.0.2.0/24"]).evaluate(&c));
        assert!(cond("IpAddress", "acs:SourceIp", &["10.0.0.0/8", "192.0.2.10"]).evaluate(&c));
        assert!(!cond("IpAddress", "acs:SourceIp", &["2001:db8::/32"]).evaluate(&c));
        assert!(cond("NotIpAddress", "acs:SourceIp", &["10.0.0.0/8"]).evaluate(&c));
        assert!(!cond("NotIpAddress", "acs:SourceIp", &["192.0.2.0/24"]).evaluate(&c));
        let v6 = ctx(&[("acs:SourceIp", "2001:db8::1")]);
        assert!(cond("IpAddress", "acs:SourceIp", &["2001:db8::/32"]).evaluate(&v6));
        let mapped = ctx(&[("acs:SourceIp", "::ffff:192.0.2.10")]);
        assert!(cond("IpAddress", "acs:SourceIp", &["192.0.2.0/24"]).evaluate(&mapped));
    }

    #[test]
    fn missing_keys() {
        let empty = Context::new();
        assert!(!cond("StringEquals", "k:v", &["a"]).evaluate(&empty));
        assert!(cond("StringNotEquals", "k:v", &["a"]).evaluate(&empty));
        assert!(cond("StringEqualsIfExists", "k:v", &["a"]).evaluate(&empty));
        assert!(cond("NumericLessThanIfExists", "k:v", &["1"]).evaluate(&empty));
        assert!(!cond("ForAnyValue:StringEquals", "k:v", &["a"]).evaluate(&empty));
        assert!(cond("ForAnyValue:StringEqualsIfExists", "k:v", &["a"]).evaluate(&empty));
        assert!(cond("ForAllValues:StringEquals", "k:v", &["a"]).evaluate(&empty));
        assert!(cond("Null", "k:v", &["true"]).evaluate(&empty));
        assert!(!cond("Null", "k:v", &["false"]).evaluate(&empty));
        let present = ctx(&[("k:v", "x")]);
        assert!(!cond("Null", "k:v", &["true"]).evaluate(&present));
        assert!(cond("Null", "k:v", &["false"]).evaluate(&present));
        assert!(!cond("StringEqualsIfExists", "k:v", &["a"]).evaluate(&present));
    }

    #[test]
    fn set_qualifiers() {
        let tags = ctx(&[("k:tag", "a"), ("k:tag", "b")]);
        assert!(cond("ForAnyValue:StringEquals", "k:tag", &["b", "z"]).evaluate(&tags));
        assert!(!cond("ForAnyValue:StringEquals", "k:tag", &["z"]).evaluate(&tags));
        assert!(cond("ForAllValues:StringEquals", "k:tag", &["a", "b", "c"]).evaluate(&tags));
        assert!(!cond("ForAllValues:StringEquals", "k:tag", &["a"]).evaluate(&tags));
        // Negated with qualifiers apply per request value.
        assert!(cond("ForAnyValue:StringNotEquals", "k:tag", &["a"]).evaluate(&tags));
        assert!(!cond("ForAllValues:StringNotEquals", "k:tag", &["a"]).evaluate(&tags));
        assert!(cond("ForAllValues:StringNotEquals", "k:tag", &["z"]).evaluate(&tags));
        // No qualifier: positive = any value hits; negated = no value hits.
        assert!(cond("StringEquals", "k:tag", &["b"]).evaluate(&tags));
        assert!(!cond("StringNotEquals", "k:tag", &["b"]).evaluate(&tags));
        assert!(cond("StringNotEquals", "k:tag", &["z"]).evaluate(&tags));
    }

    #[test]
    fn bad_policy_values_are_rejected() {
        let spec = |s| OperatorSpec::parse(s).unwrap_or_else(|e| unreachable_spec(&e));
        assert!(Condition::build(spec("NumericEquals"), "k:n", &["ten"]).is_err());
        assert!(Condition::build(spec("DateLessThan"), "k:d", &["2026-02-30"]).is_err());
        assert!(Condition::build(spec("DateLessThan"), "k:d", &["2026-01-01T00:00:00"]).is_err());
        assert!(Condition::build(spec("Bool"), "k:b", &["yes"]).is_err());
        assert!(Condition::build(spec("IpAddress"), "k:ip", &["10.0.0.0/33"]).is_err());
        assert!(Condition::build(spec("Null"), "k:ip", &["true", "false"]).is_err());
        assert!(Condition::build(spec("Null"), "k:ip", &["maybe"]).is_err());
    }
}
