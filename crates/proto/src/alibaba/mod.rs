//! Alibaba Cloud's RPC-style APIs — RAM `2015-05-01` and STS `2015-04-01` — mapped onto the
//! `tessera.v1` services: the one place that knows Alibaba's action names, parameter names and
//! types, RAM's defaults and response JSON shapes. Two users drive it: the server's HTTP endpoint
//! (so the official SDKs work unmodified) and the `tessera` CLI (`tessera ram CreateUser
//! --UserName x` prints exactly what the API answers).
//!
//! # How a call goes
//!
//! [`call`] (or [`call_ram`] / [`call_sts`] when the API is known) takes the action name and
//! the Alibaba parameters ([`Params`]), builds the `tessera.v1` request message (parameter
//! errors are RAM's: `MissingUserName`, `InvalidParameter.MaxItems.Format`, …), calls the
//! method of the generated **server trait** ([`Ram`] / [`Sts`], object-safe async traits) and
//! renders the response as Alibaba's JSON — `{"User": {...}}`, `{"Users": {"User": [...]},
//! "IsTruncated": false}`, `{"Credentials": {...}, "AssumedRoleUser": {...}}`, dates as
//! `YYYY-MM-DDTHH:MM:SSZ` — **without** `RequestId`, which the caller adds.
//!
//! The trait object is whatever implements the service: the server passes its own
//! `RamService`/`StsService` (in process, one implementation behind gRPC and HTTP); the CLI
//! implements the traits by forwarding to a gRPC client. Each request message is wrapped in a
//! `tonic::Request` made from `template()` — its metadata and extensions are kept: the server's
//! template carries the authenticated caller, the CLI's is `tonic::Request::new(())`.
//!
//! ```no_run
//! # async fn example(ram: &dyn tessera_proto::v1::ram_server::Ram) -> Result<(), tonic::Status> {
//! use tessera_proto::alibaba::{self, Params};
//! let params = Params::new([("UserName", "alice"), ("DisplayName", "Alice")]);
//! let json = alibaba::call_ram(ram, "CreateUser", &params, || tonic::Request::new(())).await?;
//! assert_eq!(json["User"]["UserName"], "alice");
//! # Ok(()) }
//! ```
//!
//! # Errors
//!
//! Every failure is a `tonic::Status` whose message is `"<Code>: <Message>"` and whose
//! metadata `x-tessera-error-code` ([`ERROR_CODE_METADATA`]) carries the code; [`status`] makes
//! one from a domain error (the server's services use it too). [`AlibabaError::from_status`]
//! turns any status back into Alibaba's terms — code, message, HTTP status (from the one error
//! table, [`tessera_iam::ErrorKind::http_status`]; the gateway's authentication codes are 400,
//! or 404 for an unknown key, as Alibaba's gateway answers them), and for a rate-limited call
//! (`RESOURCE_EXHAUSTED` that is not a `LimitExceeded.*` quota) `Throttling.User` with a retry
//! hint — and [`AlibabaError::body`] renders `{"RequestId","HostId","Code","Message","Recommend"}`.
//!
//! # The operations
//!
//! [`RAM_ACTIONS`] and [`STS_ACTIONS`] list them (`docs/alibaba-compat.md` documents the
//! surface and the known differences). Operations Tessera does not implement (password
//! policy, security preferences, tags, `ChangePassword`) answer `InvalidAction.NotFound`.
//! `RevokeRoleSessions` (RAM version) is Tessera's extension.

#![warn(clippy::all)]

mod ram;
mod sts;

use std::fmt;

use serde_json::{Map, Value};
use tessera_iam::{Error, ErrorKind, GrpcCode};
use tonic::Status;

pub use self::ram::{RAM_ACTIONS, call_ram};
pub use self::sts::{STS_ACTIONS, call_sts};

/// The parameters of `action` of the RAM (`ram`) or STS (`sts`) API, from the operation table
/// itself: every name the action reads, whether it is required, and its kind. `None` for an
/// unknown product or action.
pub fn parameters(product: &str, action: &str) -> Option<Vec<Parameter>> {
    match product {
        "ram" => self::ram::describe_ram(action),
        "sts" => self::sts::describe_sts(action),
        _ => None,
    }
}
pub use crate::v1::ram_server::Ram;
pub use crate::v1::sts_server::Sts;

/// RAM's API version.
pub const RAM_VERSION: &str = "2015-05-01";
/// STS's API version.
pub const STS_VERSION: &str = "2015-04-01";

/// The metadata (trailer) naming the error code of a failed call.
pub const ERROR_CODE_METADATA: &str = "x-tessera-error-code";
/// Metadata a rate limiter may set on a `RESOURCE_EXHAUSTED` status: milliseconds to wait.
pub const RETRY_AFTER_METADATA: &str = "x-tessera-retry-after-ms";
/// The retry hint of a throttled call that carried none.
pub const DEFAULT_RETRY_AFTER_MS: u64 = 1000;

/// Which Alibaba API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Api {
    Ram,
    Sts,
}

impl Api {
    /// The API a `Version` names.
    pub fn from_version(version: &str) -> Option<Api> {
        match version {
            RAM_VERSION => Some(Api::Ram),
            STS_VERSION => Some(Api::Sts),
            _ => None,
        }
    }

    /// The API that has `action` (the action names of the two APIs do not overlap).
    pub fn of_action(action: &str) -> Option<Api> {
        if RAM_ACTIONS.contains(&action) {
            Some(Api::Ram)
        } else if STS_ACTIONS.contains(&action) {
            Some(Api::Sts)
        } else {
            None
        }
    }

    pub fn version(self) -> &'static str {
        match self {
            Api::Ram => RAM_VERSION,
            Api::Sts => STS_VERSION,
        }
    }

    /// The product name as Alibaba spells it (`Ram`, `Sts`).
    pub fn product(self) -> &'static str {
        match self {
            Api::Ram => "Ram",
            Api::Sts => "Sts",
        }
    }

    /// The actions served.
    pub fn actions(self) -> &'static [&'static str] {
        match self {
            Api::Ram => RAM_ACTIONS,
            Api::Sts => STS_ACTIONS,
        }
    }
}

/// Calls `action` of the API `version` names: `MissingAction`/`MissingVersion` when absent,
/// `InvalidVersion` for a version not served, `InvalidAction.NotFound` for an action that API
/// does not have.
pub async fn call(
    ram: &dyn Ram,
    sts: &dyn Sts,
    version: Option<&str>,
    action: Option<&str>,
    params: &Params,
    template: impl Fn() -> tonic::Request<()>,
) -> Result<Value, Status> {
    let action = action
        .filter(|a| !a.is_empty())
        .ok_or_else(|| status(&Error::missing("Action")))?;
    let version = version
        .filter(|v| !v.is_empty())
        .ok_or_else(|| status(&Error::missing("Version")))?;
    match Api::from_version(version) {
        Some(Api::Ram) => call_ram(ram, action, params, template).await,
        Some(Api::Sts) => call_sts(sts, action, params, template).await,
        None => Err(status(&Error::invalid_version())),
    }
}

// --- parameters ---

/// The parameters of one call, by Alibaba's names (`UserName`, `MaxItems`, …), values as sent.
/// A parameter given with an empty value counts as absent where it is required. `Debug` prints
/// the names only (values may be passwords or MFA codes).
#[derive(Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
    /// Set by [`Params::recording`]: every parameter an operation reads is noted here.
    recorder: Option<std::sync::Mutex<Vec<Parameter>>>,
}

impl Clone for Params {
    fn clone(&self) -> Params {
        Params::new(self.pairs.clone())
    }
}

/// One parameter an operation takes (see [`parameters`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter {
    /// Alibaba's name (`UserName`).
    pub name: String,
    pub required: bool,
    pub kind: ParameterKind,
}

/// What a parameter's value must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParameterKind {
    Text,
    /// A non-negative integer.
    Integer,
    /// `true` or `false`.
    Boolean,
}

impl ParameterKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ParameterKind::Text => "string",
            ParameterKind::Integer => "integer",
            ParameterKind::Boolean => "true|false",
        }
    }
}

impl Params {
    pub fn new<I, K, V>(pairs: I) -> Params
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Params {
            pairs: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            recorder: None,
        }
    }

    /// Parameters that note every name an operation reads, answering required ones with a
    /// placeholder so that the operation reads them all: how [`parameters`] learns an
    /// operation's parameters from the one table, without a second list.
    fn recording() -> Params {
        Params {
            pairs: Vec::new(),
            recorder: Some(std::sync::Mutex::new(Vec::new())),
        }
    }

    fn note(&self, name: &str, required: bool, kind: ParameterKind) {
        let Some(recorder) = &self.recorder else {
            return;
        };
        let mut noted = match recorder.lock() {
            Ok(noted) => noted,
            Err(poisoned) => poisoned.into_inner(),
        };
        match noted.iter_mut().find(|p| p.name == name) {
            // Read as text first, then checked as a number (pages): keep the stricter kind.
            Some(known) => {
                known.required |= required;
                if kind != ParameterKind::Text {
                    known.kind = kind;
                }
            }
            None => noted.push(Parameter {
                name: name.to_owned(),
                required,
                kind,
            }),
        }
    }

    fn recorded(self) -> Vec<Parameter> {
        self.recorder
            .map(|r| match r.into_inner() {
                Ok(noted) => noted,
                Err(poisoned) => poisoned.into_inner(),
            })
            .unwrap_or_default()
    }

    /// The value of `name` (exact spelling), if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The names given, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.pairs.iter().map(|(k, _)| k.as_str())
    }

    /// A string parameter; absent is empty.
    fn text(&self, name: &str) -> String {
        self.note(name, false, ParameterKind::Text);
        self.get(name).unwrap_or_default().to_owned()
    }

    /// An optional string parameter: `None` when absent (an update that leaves it as it is).
    fn option(&self, name: &str) -> Option<String> {
        self.note(name, false, ParameterKind::Text);
        self.get(name).map(str::to_owned)
    }

    /// A required parameter: `Missing<Name>` when absent or empty.
    fn required(&self, name: &str) -> Result<String, Status> {
        self.note(name, true, ParameterKind::Text);
        if self.recorder.is_some() {
            return Ok(String::from("-"));
        }
        match self.get(name) {
            Some(v) if !v.is_empty() => Ok(v.to_owned()),
            _ => Err(status(&Error::missing(name))),
        }
    }

    /// A non-negative integer parameter: `InvalidParameter.<Name>.Format` when it is not one.
    fn uint(&self, name: &str) -> Result<Option<u32>, Status> {
        self.note(name, false, ParameterKind::Integer);
        match self.get(name) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse::<u32>()
                .map(Some)
                .map_err(|_| status(&Error::format(name, "a non-negative integer"))),
        }
    }

    /// A Boolean parameter, `true` or `false` in any case: `InvalidParameter.<Name>.Format`
    /// otherwise.
    fn flag(&self, name: &str) -> Result<Option<bool>, Status> {
        self.note(name, false, ParameterKind::Boolean);
        match self.get(name) {
            None => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(_) => Err(status(&Error::format(name, "true or false"))),
        }
    }

    /// `Marker` and `MaxItems` (1..=`max`; absent is the server's default, 100).
    fn page(&self, max: u32) -> Result<Option<crate::v1::Page>, Status> {
        let max_items = match self.uint("MaxItems")? {
            None => 0,
            Some(n) if (1..=max).contains(&n) => n,
            Some(_) => return Err(status(&Error::range("MaxItems", 1, i64::from(max)))),
        };
        Ok(Some(crate::v1::Page {
            marker: self.text("Marker"),
            max_items,
        }))
    }
}

impl fmt::Debug for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Params")
            .field("names", &self.names().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Params {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Params {
        Params::new(iter)
    }
}

/// `message` in a request made from `template` (its metadata and extensions kept).
fn request<T>(message: T, template: &impl Fn() -> tonic::Request<()>) -> tonic::Request<T> {
    let (metadata, extensions, ()) = template().into_parts();
    tonic::Request::from_parts(metadata, extensions, message)
}

/// Generates `call_<api>` and the list of its actions from the operation table: one entry per
/// action, `Action => method |params| <request message> => |response| <JSON>;`. The request
/// expression may use `?` on parameter errors.
macro_rules! operations {
    (
        $(#[$doc:meta])*
        fn $call:ident(&dyn $service:ident), $actions:ident, $describe:ident;
        $( $action:ident => $method:ident |$p:ident| $build:expr => |$r:pat_param| $render:expr; )*
    ) => {
        #[doc = concat!("The actions [`", stringify!($call), "`] serves.")]
        pub const $actions: &[&str] = &[$(stringify!($action)),*];

        /// The parameters `action` reads, in the order it reads them (`None`: no such action).
        pub(crate) fn $describe(action: &str) -> Option<Vec<$crate::alibaba::Parameter>> {
            match action {
                $(
                    stringify!($action) => {
                        let recording = $crate::alibaba::Params::recording();
                        {
                            let $p = &recording;
                            let build = || -> ::std::result::Result<(), tonic::Status> {
                                let _ = $build;
                                Ok(())
                            };
                            // A value check may stop the walk early; what was read is kept.
                            let _ = build();
                        }
                        Some(recording.recorded())
                    }
                )*
                _ => None,
            }
        }

        $(#[$doc])*
        pub async fn $call(
            service: &dyn $service,
            action: &str,
            params: &$crate::alibaba::Params,
            template: impl Fn() -> tonic::Request<()>,
        ) -> ::std::result::Result<serde_json::Value, tonic::Status> {
            match action {
                $(
                    stringify!($action) => {
                        let $p = params;
                        let message = $build;
                        let $r = service
                            .$method($crate::alibaba::request(message, &template))
                            .await?
                            .into_inner();
                        Ok($render)
                    }
                )*
                _ => Err($crate::alibaba::status(&tessera_iam::Error::invalid_action())),
            }
        }
    };
}
pub(crate) use operations;

// --- errors ---

/// The gRPC code of an error kind (the error table's choice).
pub fn grpc_code(kind: ErrorKind) -> tonic::Code {
    match kind.grpc_code() {
        GrpcCode::InvalidArgument => tonic::Code::InvalidArgument,
        GrpcCode::NotFound => tonic::Code::NotFound,
        GrpcCode::AlreadyExists => tonic::Code::AlreadyExists,
        GrpcCode::ResourceExhausted => tonic::Code::ResourceExhausted,
        GrpcCode::FailedPrecondition => tonic::Code::FailedPrecondition,
        GrpcCode::Unauthenticated => tonic::Code::Unauthenticated,
        GrpcCode::PermissionDenied => tonic::Code::PermissionDenied,
        GrpcCode::Unavailable => tonic::Code::Unavailable,
        GrpcCode::DeadlineExceeded => tonic::Code::DeadlineExceeded,
        GrpcCode::Internal => tonic::Code::Internal,
    }
}

/// The status of a domain error: its gRPC code, the message `"<Code>: <Message>"` and the
/// code in [`ERROR_CODE_METADATA`].
pub fn status(error: &Error) -> Status {
    let mut status = Status::new(grpc_code(error.kind()), error.to_string());
    if let Ok(value) = error.code().parse() {
        status.metadata_mut().insert(ERROR_CODE_METADATA, value);
    }
    status
}

/// Every error kind, to invert the table's gRPC codes.
const KINDS: [ErrorKind; 11] = [
    ErrorKind::InvalidParameter,
    ErrorKind::NotFound,
    ErrorKind::AlreadyExists,
    ErrorKind::LimitExceeded,
    ErrorKind::Conflict,
    ErrorKind::Unauthenticated,
    ErrorKind::PermissionDenied,
    ErrorKind::Throttled,
    ErrorKind::Unavailable,
    ErrorKind::Timeout,
    ErrorKind::Internal,
];

/// A failed call in Alibaba's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlibabaError {
    pub http_status: u16,
    /// `EntityNotExist.User`, `SignatureDoesNotMatch`, `Throttling.User`, …
    pub code: String,
    pub message: String,
    /// For `Throttling.User`: how long to wait before retrying, in milliseconds.
    pub retry_after_ms: Option<u64>,
}

impl AlibabaError {
    /// Reads a status made by [`status`] (or any other: the code then comes from the message's
    /// `"<Code>: "` prefix, else a generic one for the gRPC code).
    pub fn from_status(status: &Status) -> AlibabaError {
        let text = status.message();
        let (prefix, rest) = match text.split_once(": ") {
            Some((code, rest)) if is_code(code) => (Some(code), rest),
            _ => (None, text),
        };
        let code = status
            .metadata()
            .get(ERROR_CODE_METADATA)
            .and_then(|v| v.to_str().ok())
            .filter(|c| is_code(c))
            .or(prefix)
            .unwrap_or_else(|| generic_code(status.code()));
        let message = if prefix == Some(code) { rest } else { text };
        let grpc = status.code();
        if grpc == tonic::Code::ResourceExhausted && !code.starts_with("LimitExceeded") {
            let throttled = Error::throttling_user();
            let message = if code.starts_with("Throttling") {
                message
            } else {
                throttled.message()
            };
            return AlibabaError {
                http_status: throttled.http_status(),
                code: if code.starts_with("Throttling") {
                    code.to_owned()
                } else {
                    throttled.code().to_owned()
                },
                message: message.to_owned(),
                retry_after_ms: Some(retry_after_ms(status)),
            };
        }
        AlibabaError {
            http_status: http_status(grpc, code),
            code: code.to_owned(),
            message: message.to_owned(),
            retry_after_ms: None,
        }
    }

    /// Alibaba's error body: `{"RequestId","HostId","Code","Message","Recommend"}`.
    pub fn body(&self, request_id: &str, host_id: &str) -> Value {
        let mut body = Map::new();
        body.insert("RequestId".into(), request_id.into());
        body.insert("HostId".into(), host_id.into());
        body.insert("Code".into(), self.code.as_str().into());
        body.insert("Message".into(), self.message.as_str().into());
        body.insert(
            "Recommend".into(),
            format!(
                "Error code {} is described in Tessera's docs/alibaba-compat.md; the server log records request {request_id}.",
                self.code
            )
            .into(),
        );
        Value::Object(body)
    }
}

/// `Code.Like.This`: what an error code looks like.
fn is_code(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_uppercase())
        && s.len() <= 128
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.')
}

fn generic_code(grpc: tonic::Code) -> &'static str {
    match grpc {
        tonic::Code::InvalidArgument | tonic::Code::OutOfRange => "InvalidParameter",
        tonic::Code::PermissionDenied => "NoPermission",
        tonic::Code::Unauthenticated => "InvalidAccessKeyId",
        tonic::Code::Unavailable | tonic::Code::DeadlineExceeded | tonic::Code::Cancelled => {
            "ServiceUnavailable"
        }
        _ => "InternalError",
    }
}

/// The HTTP status of a failed call: the error table's, by the kind whose gRPC code this is.
/// Authentication failures follow Alibaba's gateway instead: 404 for an unknown access key,
/// 400 for the rest (signature, time stamp, nonce, key status, security token), except the
/// table's own sign-in failure (`AuthenticationFail.*`).
fn http_status(grpc: tonic::Code, code: &str) -> u16 {
    let kind = match grpc {
        tonic::Code::Unauthenticated if code == "InvalidAccessKeyId.NotFound" => return 404,
        tonic::Code::Unauthenticated if !code.starts_with("AuthenticationFail") => return 400,
        tonic::Code::ResourceExhausted if code.starts_with("LimitExceeded") => {
            ErrorKind::LimitExceeded
        }
        tonic::Code::DeadlineExceeded | tonic::Code::Cancelled => ErrorKind::Unavailable,
        grpc => KINDS
            .into_iter()
            .find(|k| grpc_code(*k) == grpc)
            .unwrap_or(ErrorKind::Internal),
    };
    kind.http_status()
}

/// The retry hint of a throttled status: [`RETRY_AFTER_METADATA`] (ms), else a standard
/// `retry-after` (seconds), else [`DEFAULT_RETRY_AFTER_MS`].
fn retry_after_ms(status: &Status) -> u64 {
    let number = |name: &str| {
        status
            .metadata()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    number(RETRY_AFTER_METADATA)
        .or_else(|| number("retry-after").map(|s| s.saturating_mul(1000)))
        .filter(|ms| *ms > 0)
        .unwrap_or(DEFAULT_RETRY_AFTER_MS)
}

// --- rendering ---

/// `YYYY-MM-DDTHH:MM:SSZ` (UTC, whole seconds), as the APIs write every date.
pub fn format_date(t: &prost_types::Timestamp) -> Option<String> {
    jiff::Timestamp::from_second(t.seconds)
        .ok()
        .map(tessera_iam::format_time)
}

/// A JSON object built field by field; optional fields are left out when empty or absent, as
/// the APIs leave them out.
#[derive(Default)]
struct Obj(Map<String, Value>);

impl Obj {
    fn new() -> Obj {
        Obj::default()
    }

    /// A field that is always there.
    fn put(mut self, key: &str, value: impl Into<Value>) -> Obj {
        self.0.insert(key.to_owned(), value.into());
        self
    }

    /// A string field left out when empty.
    fn text(self, key: &str, value: &str) -> Obj {
        if value.is_empty() {
            self
        } else {
            self.put(key, value)
        }
    }

    /// A date field left out when absent.
    fn date(self, key: &str, value: Option<&prost_types::Timestamp>) -> Obj {
        match value.and_then(format_date) {
            Some(date) => self.put(key, date),
            None => self,
        }
    }

    fn done(self) -> Value {
        Value::Object(self.0)
    }
}

/// A list as the APIs wrap it: `{"<outer>": {"<inner>": [...]}}` (the XML-derived shape the
/// SDKs parse), as a field of an object.
fn wrapped(outer: &str, inner: &str, items: Vec<Value>) -> (String, Value) {
    let mut list = Map::new();
    list.insert(inner.to_owned(), Value::Array(items));
    (outer.to_owned(), Value::Object(list))
}

impl Obj {
    fn list(mut self, (key, value): (String, Value)) -> Obj {
        self.0.insert(key, value);
        self
    }
}

/// The answer of an operation that returns only `RequestId`.
fn empty() -> Value {
    Value::Object(Map::new())
}

#[cfg(test)]
mod tests;
