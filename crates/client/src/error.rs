//! The client's error type.

/// Why the client could not do what was asked. Calls themselves fail with [`tonic::Status`]
/// (message `"<Code>: <Message>"` with the RAM/STS error code first, see [`error_code`]).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The endpoint is not a valid `http://` or `https://` URI with a host.
    #[error("InvalidEndpoint: {0}")]
    InvalidEndpoint(String),
    /// Connecting to the server failed.
    #[error("ServiceUnavailable: cannot connect to the server: {}", Chain(.0))]
    Connect(#[source] tonic::transport::Error),
    /// A call the client made for itself (e.g. AssumeRole for a credentials provider) failed.
    #[error("{}", .0.message())]
    Status(#[from] tonic::Status),
    /// A credential cannot be used as given (e.g. a value that cannot be sent as metadata).
    #[error("InvalidParameter: {0}")]
    InvalidCredential(String),
}

impl Error {
    /// The RAM/STS error code of this error (`NoPermission`, `EntityNotExist.Role`, …).
    pub fn code(&self) -> &str {
        match self {
            Error::InvalidEndpoint(_) => "InvalidEndpoint",
            Error::Connect(_) => "ServiceUnavailable",
            Error::Status(status) => error_code(status),
            Error::InvalidCredential(_) => "InvalidParameter",
        }
    }

    /// The status a call fails with when this error stops it before it is sent.
    pub fn into_status(self) -> tonic::Status {
        match self {
            Error::Status(status) => status,
            Error::Connect(e) => tonic::Status::unavailable(format!(
                "ServiceUnavailable: cannot connect to the server: {e}"
            )),
            other @ Error::InvalidEndpoint(_) => tonic::Status::invalid_argument(other.to_string()),
            other @ Error::InvalidCredential(_) => {
                tonic::Status::unauthenticated(other.to_string())
            }
        }
    }
}

/// An error with its causes, `outer: inner: innermost` (tonic's transport errors say little
/// at the top: `transport error`).
struct Chain<'a>(&'a (dyn std::error::Error + 'static));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Some errors repeat their source in their own text: print each text once.
        let mut written = self.0.to_string();
        let mut source = self.0.source();
        while let Some(e) = source {
            let text = e.to_string();
            if !written.contains(&text) {
                written = format!("{written}: {text}");
            }
            source = e.source();
        }
        f.write_str(&written)
    }
}

/// The trailer carrying a failed call's error code alone.
pub const ERROR_CODE_METADATA: &str = "x-tessera-error-code";

/// The error code of a failed call: the `x-tessera-error-code` metadata when present, else the
/// part of the message before `": "` (every Tessera message starts `"<Code>: "`), else a code
/// named after the gRPC status (`Unavailable` → `ServiceUnavailable`, …) for failures that
/// never reached Tessera.
pub fn error_code(status: &tonic::Status) -> &str {
    if let Some(code) = status
        .metadata()
        .get(ERROR_CODE_METADATA)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
    {
        return code;
    }
    if let Some((code, _)) = status.message().split_once(": ")
        && !code.is_empty()
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_')
    {
        return code;
    }
    match status.code() {
        tonic::Code::Unavailable => "ServiceUnavailable",
        tonic::Code::DeadlineExceeded => "RequestTimeout",
        tonic::Code::Unauthenticated => "InvalidCredential",
        tonic::Code::PermissionDenied => "NoPermission",
        tonic::Code::InvalidArgument => "InvalidParameter",
        tonic::Code::NotFound => "EntityNotExist",
        tonic::Code::ResourceExhausted => "Throttling",
        tonic::Code::Unimplemented => "UnsupportedOperation",
        _ => "InternalError",
    }
}

/// The message of a failed call without its leading `"<Code>: "`.
pub fn error_message(status: &tonic::Status) -> &str {
    let code = error_code(status);
    status
        .message()
        .strip_prefix(code)
        .and_then(|rest| rest.strip_prefix(": "))
        .unwrap_or(status.message())
}

#[cfg(test)]
mod tests {
    use super::{error_code, error_message};

    #[test]
    fn codes_come_from_the_trailer_then_the_message_then_the_status() {
        let mut status = tonic::Status::permission_denied("NoPermission: You are not allowed");
        assert_eq!(error_code(&status), "NoPermission");
        assert_eq!(error_message(&status), "You are not allowed");
        status
            .metadata_mut()
            .insert("x-tessera-error-code", "Other.Code".parse().unwrap());
        assert_eq!(error_code(&status), "Other.Code");
        assert_eq!(error_message(&status), "NoPermission: You are not allowed");

        let transport = tonic::Status::unavailable("tcp connect error: Connection refused");
        assert_eq!(error_code(&transport), "ServiceUnavailable");
        assert_eq!(
            error_message(&transport),
            "tcp connect error: Connection refused"
        );
    }
}
