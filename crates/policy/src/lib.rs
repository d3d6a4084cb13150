//! The RAM policy language: parse, validate, compile, evaluate, explain.
//!
//! This crate is pure: no I/O, no async, no clock reads. Time reaches it as the
//! `acs:CurrentTime` value of a request [`Context`].
//!
//! ```
//! use tessera_policy::{parse, Context, Decision, Limits, PolicyKind, PolicyLabel, PolicySet, Request};
//!
//! let doc = r#"{"Version": "1", "Statement": [
//!     {"Effect": "Allow", "Action": "oss:Get*", "Resource": "acs:oss:*:*:photos/*",
//!      "Condition": {"IpAddress": {"acs:SourceIp": "192.0.2.0/24"}}}]}"#;
//! let parsed = parse(doc, PolicyKind::Identity, &Limits::default()).map_err(|e| e.to_string())?;
//! let set = PolicySet::new([(PolicyLabel::new("photos-read"), &parsed.policy)]);
//! let context = Context::new().with("acs:SourceIp", "192.0.2.7");
//! let request = Request::new("oss:GetObject", "acs:oss:*:*:photos/cat.jpg", &context);
//! assert_eq!(set.decide(&request), Decision::Allow);
//! # Ok::<(), String>(())
//! ```

mod condition;
mod context;
mod error;
mod eval;
mod glob;
mod parse;
mod policy;
mod principal;
mod value;

pub use condition::{Condition, Operator, OperatorSpec, SetQualifier, ValueType};
pub use context::{Context, ContextValue};
pub use error::{
    ErrorCode, PolicyError, PolicyErrors, PolicyKind, PolicyWarning, Position, WarningCode,
};
pub use eval::{
    Decision, Match, MatchedStatement, Permissions, PolicyLabel, PolicySet, Request, Source,
    StatementRef,
};
pub use glob::{Case, Glob};
pub use parse::{Limits, Parsed, detect_kind, parse};
pub use policy::{Effect, Policy, Statement};
pub use principal::Principal;
pub use value::Instant;
