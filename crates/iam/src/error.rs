//! The one error table: every domain error has a RAM error code, an HTTP status and a gRPC
//! status, decided here and nowhere else.
//!
//! Messages follow RAM's fixed English templates (`The parameter - "UserName" contains invalid
//! chars.`, `The user does not exist.`) and never contain secrets.

use std::borrow::Cow;
use std::fmt;

/// The class of an error: decides its HTTP and gRPC status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A parameter is missing, malformed, out of range, or a policy document is invalid.
    InvalidParameter,
    /// The named entity does not exist in the account.
    NotFound,
    /// An entity with that name (or that attachment/membership) already exists.
    AlreadyExists,
    /// A quota would be exceeded.
    LimitExceeded,
    /// The entity still has dependents (DeleteConflict.*).
    Conflict,
    /// The caller could not be identified (bad key, signature, token).
    Unauthenticated,
    /// The caller is identified but not allowed.
    PermissionDenied,
    /// Too many requests: rate limits and load shedding.
    Throttled,
    /// Temporarily unable to serve (overload, shutting down, database unreachable).
    Unavailable,
    /// The request did not complete within its deadline.
    Timeout,
    /// A bug or an unexpected failure; details go to the log, not to the caller.
    Internal,
}

/// gRPC status codes, mirrored here so the domain does not depend on the transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrpcCode {
    InvalidArgument,
    NotFound,
    AlreadyExists,
    ResourceExhausted,
    FailedPrecondition,
    Unauthenticated,
    PermissionDenied,
    Unavailable,
    DeadlineExceeded,
    Internal,
}

impl ErrorKind {
    /// HTTP status of the Alibaba-compatible API.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::InvalidParameter => 400,
            ErrorKind::NotFound => 404,
            ErrorKind::AlreadyExists | ErrorKind::LimitExceeded | ErrorKind::Conflict => 409,
            ErrorKind::Unauthenticated | ErrorKind::PermissionDenied => 403,
            ErrorKind::Throttled => 429,
            ErrorKind::Unavailable => 503,
            ErrorKind::Timeout => 504,
            ErrorKind::Internal => 500,
        }
    }

    pub fn grpc_code(self) -> GrpcCode {
        match self {
            ErrorKind::InvalidParameter => GrpcCode::InvalidArgument,
            ErrorKind::NotFound => GrpcCode::NotFound,
            ErrorKind::AlreadyExists => GrpcCode::AlreadyExists,
            ErrorKind::LimitExceeded | ErrorKind::Throttled => GrpcCode::ResourceExhausted,
            ErrorKind::Conflict => GrpcCode::FailedPrecondition,
            ErrorKind::Unauthenticated => GrpcCode::Unauthenticated,
            ErrorKind::PermissionDenied => GrpcCode::PermissionDenied,
            ErrorKind::Unavailable => GrpcCode::Unavailable,
            ErrorKind::Timeout => GrpcCode::DeadlineExceeded,
            ErrorKind::Internal => GrpcCode::Internal,
        }
    }
}

/// The kinds of entity error codes name (`EntityNotExist.<Entity>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Entity {
    Account,
    AccountAlias,
    User,
    Group,
    Role,
    Policy,
    PolicyVersion,
    AccessKey,
    LoginProfile,
    VirtualMfaDevice,
    UserMfaDevice,
    UserGroup,
    UserPolicy,
    GroupPolicy,
    RolePolicy,
    SigningKey,
    /// A platform-wide `Authorize` grant (operator).
    PlatformGrant,
    /// An OIDC identity provider (`acs:ram::<account>:oidc-provider/<name>`).
    OidcProvider,
    /// A client id of an OIDC provider.
    OidcClientId,
    /// A certificate fingerprint of an OIDC provider.
    OidcFingerprint,
}

impl Entity {
    /// The dotted name used in error codes (`User.AccessKey`).
    pub fn code_name(self) -> &'static str {
        match self {
            Entity::Account => "Account",
            Entity::AccountAlias => "AccountAlias",
            Entity::User => "User",
            Entity::Group => "Group",
            Entity::Role => "Role",
            Entity::Policy => "Policy",
            Entity::PolicyVersion => "Policy.Version",
            Entity::AccessKey => "User.AccessKey",
            Entity::LoginProfile => "User.LoginProfile",
            Entity::VirtualMfaDevice => "VirtualMFADevice",
            Entity::UserMfaDevice => "User.MFADevice",
            Entity::UserGroup => "User.Group",
            Entity::UserPolicy => "User.Policy",
            Entity::GroupPolicy => "Group.Policy",
            Entity::RolePolicy => "Role.Policy",
            Entity::SigningKey => "SigningKey",
            Entity::PlatformGrant => "PlatformGrant",
            Entity::OidcProvider => "OIDCProvider",
            Entity::OidcClientId => "OIDCProvider.ClientId",
            Entity::OidcFingerprint => "OIDCProvider.Fingerprint",
        }
    }

    /// How messages name the entity (`The user does not exist.`).
    pub fn noun(self) -> &'static str {
        match self {
            Entity::Account => "account",
            Entity::AccountAlias => "account alias",
            Entity::User => "user",
            Entity::Group => "group",
            Entity::Role => "role",
            Entity::Policy => "policy",
            Entity::PolicyVersion => "policy version",
            Entity::AccessKey => "access key",
            Entity::LoginProfile => "login profile",
            Entity::VirtualMfaDevice => "virtual MFA device",
            Entity::UserMfaDevice => "MFA device of the user",
            Entity::UserGroup => "group membership",
            Entity::UserPolicy => "policy attachment of the user",
            Entity::GroupPolicy => "policy attachment of the group",
            Entity::RolePolicy => "policy attachment of the role",
            Entity::SigningKey => "signing key",
            Entity::PlatformGrant => "platform-wide Authorize grant",
            Entity::OidcProvider => "OIDC provider",
            Entity::OidcClientId => "client id of the OIDC provider",
            Entity::OidcFingerprint => "fingerprint of the OIDC provider",
        }
    }
}

/// A domain error: kind, RAM code, message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    code: Cow<'static, str>,
    message: Cow<'static, str>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(
        kind: ErrorKind,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Error {
        Error {
            kind,
            code: code.into(),
            message: message.into(),
        }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The RAM error code (`EntityNotExist.User`).
    pub fn code(&self) -> &str {
        &self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn http_status(&self) -> u16 {
        self.kind.http_status()
    }

    pub fn grpc_code(&self) -> GrpcCode {
        self.kind.grpc_code()
    }

    // --- constructors, one per code family ---

    /// `MissingParameter`: a required parameter is absent.
    pub fn missing(field: &str) -> Error {
        Error::new(
            ErrorKind::InvalidParameter,
            format!("Missing{field}"),
            format!(
                "The input parameter \"{field}\" that is mandatory for processing this request is not supplied."
            ),
        )
    }

    /// `InvalidParameter.<Field>.InvalidChars`.
    pub fn invalid_chars(field: &str) -> Error {
        Error::new(
            ErrorKind::InvalidParameter,
            format!("InvalidParameter.{field}.InvalidChars"),
            format!("The parameter - \"{field}\" contains invalid chars."),
        )
    }

    /// `InvalidParameter.<Field>.Length`.
    pub fn length(field: &str, min: usize, max: usize) -> Error {
        Error::new(
            ErrorKind::InvalidParameter,
            format!("InvalidParameter.{field}.Length"),
            format!("The parameter - \"{field}\" beyond the length limit ({min}-{max})."),
        )
    }

    /// `InvalidParameter.<Field>.Format`.
    pub fn format(field: &str, expected: &str) -> Error {
        Error::new(
            ErrorKind::InvalidParameter,
            format!("InvalidParameter.{field}.Format"),
            format!("The parameter - \"{field}\" is not in the valid format: {expected}."),
        )
    }

    /// `InvalidParameter.<Field>.Range`.
    pub fn range(field: &str, min: i64, max: i64) -> Error {
        Error::new(
            ErrorKind::InvalidParameter,
            format!("InvalidParameter.{field}.Range"),
            format!("The parameter - \"{field}\" must be between {min} and {max}."),
        )
    }

    /// Any other `InvalidParameter.*` with its own message.
    pub fn invalid(
        code: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Error {
        Error::new(ErrorKind::InvalidParameter, code, message)
    }

    /// `InvalidParameter.NextToken`: a pagination token this server did not hand out.
    pub fn invalid_next_token() -> Error {
        Error::invalid(
            "InvalidParameter.NextToken",
            "The parameter - \"NextToken\" is invalid: pass the NextToken of the previous page.",
        )
    }

    /// `InvalidParameter.TimeRange`: a time range that ends before it starts.
    pub fn invalid_time_range() -> Error {
        Error::invalid(
            "InvalidParameter.TimeRange",
            "The parameter - \"EndTime\" must not be earlier than \"StartTime\".",
        )
    }

    /// `EntityNotExist.<Entity>`.
    pub fn not_exist(entity: Entity) -> Error {
        Error::new(
            ErrorKind::NotFound,
            format!("EntityNotExist.{}", entity.code_name()),
            format!("The {} does not exist.", entity.noun()),
        )
    }

    /// `EntityAlreadyExists.<Entity>`.
    pub fn already_exists(entity: Entity) -> Error {
        Error::new(
            ErrorKind::AlreadyExists,
            format!("EntityAlreadyExists.{}", entity.code_name()),
            format!("The {} does already EXIST.", entity.noun()),
        )
    }

    /// `LimitExceeded.<Entity>` with the quota that was hit.
    pub fn limit_exceeded(entity: Entity, quota: u32) -> Error {
        Error::new(
            ErrorKind::LimitExceeded,
            format!("LimitExceeded.{}", entity.code_name()),
            format!(
                "The count of {} exceeds the quota of {quota}.",
                entity.noun()
            ),
        )
    }

    /// `DeleteConflict.<What>`: `entity` still has `dependent`.
    pub fn delete_conflict(code_suffix: &str, message: impl Into<Cow<'static, str>>) -> Error {
        Error::new(
            ErrorKind::Conflict,
            format!("DeleteConflict.{code_suffix}"),
            message,
        )
    }

    /// `InvalidParameter.Password.TooWeak`: the password breaks the password policy; `reason`
    /// says which rule (never the password itself).
    pub fn password_too_weak(reason: &str) -> Error {
        Error::new(
            ErrorKind::InvalidParameter,
            "InvalidParameter.Password.TooWeak",
            format!("The password is too weak: {reason}."),
        )
    }

    /// `InvalidParameter.AuthenticationCode.Format`: an MFA authentication code (`field`) is
    /// not 6 digits.
    pub fn authentication_code_format(field: &str) -> Error {
        Error::new(
            ErrorKind::InvalidParameter,
            "InvalidParameter.AuthenticationCode.Format",
            format!("The parameter - \"{field}\" MUST be 6 numbers."),
        )
    }

    /// `CheckAuthenticationCodeFail` (403): an MFA authentication code is not the device's
    /// current one (wrong, expired, or already used).
    pub fn check_authentication_code_fail() -> Error {
        Error::new(
            ErrorKind::PermissionDenied,
            "CheckAuthenticationCodeFail",
            "The MFA authentication code is incorrect, expired or already used.",
        )
    }

    /// `OperationDenied.<What>`: no caller may do this to this entity (the platform operator's
    /// account cannot be suspended); not a permission question, so 409/`FAILED_PRECONDITION`.
    pub fn operation_denied(code_suffix: &str, message: impl Into<Cow<'static, str>>) -> Error {
        Error::new(
            ErrorKind::Conflict,
            format!("OperationDenied.{code_suffix}"),
            message,
        )
    }

    /// `NoPermission` (403).
    pub fn no_permission(message: impl Into<Cow<'static, str>>) -> Error {
        Error::new(ErrorKind::PermissionDenied, "NoPermission", message)
    }

    /// `AuthenticationFail.Password`: a sign-in's account, user name or password is wrong.
    /// One error for the three, so a caller cannot probe which accounts or users exist.
    pub fn sign_in_failed() -> Error {
        Error::new(
            ErrorKind::Unauthenticated,
            "AuthenticationFail.Password",
            "The account ID, user name or password is incorrect.",
        )
    }

    /// `AuthenticationFail.OIDCToken.Invalid`: an OIDC token is malformed, uses an algorithm
    /// that is not allowed, names another issuer, is not valid yet, or was issued too long
    /// ago; `reason` says which (it never repeats the token).
    pub fn oidc_token_invalid(reason: impl Into<Cow<'static, str>>) -> Error {
        Error::new(
            ErrorKind::Unauthenticated,
            "AuthenticationFail.OIDCToken.Invalid",
            reason,
        )
    }

    /// `AuthenticationFail.OIDCToken.Expired`: the token's `exp` has passed (beyond the leeway).
    pub fn oidc_token_expired() -> Error {
        Error::new(
            ErrorKind::Unauthenticated,
            "AuthenticationFail.OIDCToken.Expired",
            "This JsonWebToken is expired.",
        )
    }

    /// `AuthenticationFail.OIDCToken.AudienceNotMatch`: no `aud` of the token is a client id
    /// of the provider.
    pub fn oidc_audience_not_match() -> Error {
        Error::new(
            ErrorKind::Unauthenticated,
            "AuthenticationFail.OIDCToken.AudienceNotMatch",
            "Invalid audience: no audience of the token is a client id of the OIDC provider.",
        )
    }

    /// `AuthenticationFail.OIDCToken.InvalidSignature`: no key of the provider's issuer
    /// verifies the token.
    pub fn oidc_invalid_signature(reason: impl Into<Cow<'static, str>>) -> Error {
        Error::new(
            ErrorKind::Unauthenticated,
            "AuthenticationFail.OIDCToken.InvalidSignature",
            reason,
        )
    }

    /// `AuthenticationFail.OIDCToken.HttpsUrlInvalid`: the issuer's certificate chain failed
    /// validation (no fingerprint of the provider matches, or no trusted root).
    pub fn oidc_https_url_invalid(reason: impl Into<Cow<'static, str>>) -> Error {
        Error::new(
            ErrorKind::Unauthenticated,
            "AuthenticationFail.OIDCToken.HttpsUrlInvalid",
            reason,
        )
    }

    /// `ServiceUnavailable.OIDCProvider` (503): the issuer's signing keys could not be fetched
    /// and none are cached (or the cached ones outlived their TTL). Retryable, unlike the
    /// token errors: the token may be fine.
    pub fn oidc_keys_unavailable(reason: impl Into<Cow<'static, str>>) -> Error {
        Error::new(
            ErrorKind::Unavailable,
            "ServiceUnavailable.OIDCProvider",
            reason,
        )
    }

    /// `InternalError`; the cause goes to the log by the caller, never into the message.
    pub fn internal() -> Error {
        Error::new(
            ErrorKind::Internal,
            "InternalError",
            "An internal error occurred.",
        )
    }

    /// `ServiceUnavailable`.
    pub fn unavailable(message: impl Into<Cow<'static, str>>) -> Error {
        Error::new(ErrorKind::Unavailable, "ServiceUnavailable", message)
    }

    /// `Throttling.User`: the caller's account exceeded its rate limit for the operation
    /// (Alibaba's gateway answers this too).
    pub fn throttling_user() -> Error {
        Error::new(
            ErrorKind::Throttled,
            "Throttling.User",
            "Request was denied due to user flow control.",
        )
    }

    /// `InvalidAction.NotFound` (Alibaba's gateway, 404): no such operation in the API version.
    pub fn invalid_action() -> Error {
        Error::new(
            ErrorKind::NotFound,
            "InvalidAction.NotFound",
            "Specified api is not found, please check your url and method.",
        )
    }

    /// `InvalidVersion` (Alibaba's gateway): the `Version` names no API served here.
    pub fn invalid_version() -> Error {
        Error::new(
            ErrorKind::InvalidParameter,
            "InvalidVersion",
            "Specified parameter Version is not valid.",
        )
    }

    /// `Throttling`: the server is at its concurrency limit and sheds the request.
    pub fn request_throttling() -> Error {
        Error::new(
            ErrorKind::Throttled,
            "Throttling",
            "Request was denied due to request throttling.",
        )
    }

    /// `RequestTimeout`: the request did not complete within its deadline (the server's or
    /// the caller's `grpc-timeout`, whichever is shorter).
    pub fn request_timeout() -> Error {
        Error::new(
            ErrorKind::Timeout,
            "RequestTimeout",
            "The request did not complete within its deadline.",
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Error {}

impl From<&tessera_policy::PolicyErrors> for Error {
    fn from(errors: &tessera_policy::PolicyErrors) -> Error {
        // The code leads the message already (`<Code>: <Message>`): the message is the
        // position and the reason.
        let first = errors.first();
        Error::invalid(
            first.code.as_str(),
            format!("{}: {}", first.position, first.message),
        )
    }
}

impl From<tessera_policy::PolicyErrors> for Error {
    fn from(errors: tessera_policy::PolicyErrors) -> Error {
        Error::from(&errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table() {
        let cases = [
            (
                Error::invalid_chars("UserName"),
                "InvalidParameter.UserName.InvalidChars",
                400,
                GrpcCode::InvalidArgument,
            ),
            (
                Error::length("RoleName", 1, 64),
                "InvalidParameter.RoleName.Length",
                400,
                GrpcCode::InvalidArgument,
            ),
            (
                Error::missing("UserName"),
                "MissingUserName",
                400,
                GrpcCode::InvalidArgument,
            ),
            (
                Error::not_exist(Entity::User),
                "EntityNotExist.User",
                404,
                GrpcCode::NotFound,
            ),
            (
                Error::not_exist(Entity::AccessKey),
                "EntityNotExist.User.AccessKey",
                404,
                GrpcCode::NotFound,
            ),
            (
                Error::not_exist(Entity::PolicyVersion),
                "EntityNotExist.Policy.Version",
                404,
                GrpcCode::NotFound,
            ),
            (
                Error::already_exists(Entity::Role),
                "EntityAlreadyExists.Role",
                409,
                GrpcCode::AlreadyExists,
            ),
            (
                Error::already_exists(Entity::RolePolicy),
                "EntityAlreadyExists.Role.Policy",
                409,
                GrpcCode::AlreadyExists,
            ),
            (
                Error::limit_exceeded(Entity::AccessKey, 2),
                "LimitExceeded.User.AccessKey",
                409,
                GrpcCode::ResourceExhausted,
            ),
            (
                Error::delete_conflict("User.AccessKey", "x"),
                "DeleteConflict.User.AccessKey",
                409,
                GrpcCode::FailedPrecondition,
            ),
            (
                Error::operation_denied("OperatorAccount", "x"),
                "OperationDenied.OperatorAccount",
                409,
                GrpcCode::FailedPrecondition,
            ),
            (
                Error::not_exist(Entity::PlatformGrant),
                "EntityNotExist.PlatformGrant",
                404,
                GrpcCode::NotFound,
            ),
            (
                Error::no_permission("x"),
                "NoPermission",
                403,
                GrpcCode::PermissionDenied,
            ),
            (
                Error::throttling_user(),
                "Throttling.User",
                429,
                GrpcCode::ResourceExhausted,
            ),
            (
                Error::request_throttling(),
                "Throttling",
                429,
                GrpcCode::ResourceExhausted,
            ),
            (
                Error::request_timeout(),
                "RequestTimeout",
                504,
                GrpcCode::DeadlineExceeded,
            ),
            (
                Error::password_too_weak("it must have at least 8 characters"),
                "InvalidParameter.Password.TooWeak",
                400,
                GrpcCode::InvalidArgument,
            ),
            (
                Error::authentication_code_format("AuthenticationCode1"),
                "InvalidParameter.AuthenticationCode.Format",
                400,
                GrpcCode::InvalidArgument,
            ),
            (
                Error::check_authentication_code_fail(),
                "CheckAuthenticationCodeFail",
                403,
                GrpcCode::PermissionDenied,
            ),
            (Error::internal(), "InternalError", 500, GrpcCode::Internal),
            (
                Error::not_exist(Entity::OidcProvider),
                "EntityNotExist.OIDCProvider",
                404,
                GrpcCode::NotFound,
            ),
            (
                Error::already_exists(Entity::OidcClientId),
                "EntityAlreadyExists.OIDCProvider.ClientId",
                409,
                GrpcCode::AlreadyExists,
            ),
            (
                Error::limit_exceeded(Entity::OidcFingerprint, 5),
                "LimitExceeded.OIDCProvider.Fingerprint",
                409,
                GrpcCode::ResourceExhausted,
            ),
            (
                Error::oidc_token_invalid("x"),
                "AuthenticationFail.OIDCToken.Invalid",
                403,
                GrpcCode::Unauthenticated,
            ),
            (
                Error::oidc_token_expired(),
                "AuthenticationFail.OIDCToken.Expired",
                403,
                GrpcCode::Unauthenticated,
            ),
            (
                Error::oidc_audience_not_match(),
                "AuthenticationFail.OIDCToken.AudienceNotMatch",
                403,
                GrpcCode::Unauthenticated,
            ),
            (
                Error::oidc_invalid_signature("x"),
                "AuthenticationFail.OIDCToken.InvalidSignature",
                403,
                GrpcCode::Unauthenticated,
            ),
            (
                Error::oidc_https_url_invalid("x"),
                "AuthenticationFail.OIDCToken.HttpsUrlInvalid",
                403,
                GrpcCode::Unauthenticated,
            ),
            (
                Error::oidc_keys_unavailable("x"),
                "ServiceUnavailable.OIDCProvider",
                503,
                GrpcCode::Unavailable,
            ),
            (
                Error::invalid_action(),
                "InvalidAction.NotFound",
                404,
                GrpcCode::NotFound,
            ),
            (
                Error::invalid_version(),
                "InvalidVersion",
                400,
                GrpcCode::InvalidArgument,
            ),
            (
                Error::sign_in_failed(),
                "AuthenticationFail.Password",
                403,
                GrpcCode::Unauthenticated,
            ),
            (
                Error::check_authentication_code_fail(),
                "CheckAuthenticationCodeFail",
                403,
                GrpcCode::PermissionDenied,
            ),
        ];
        for (error, code, http, grpc) in cases {
            assert_eq!(error.code(), code);
            assert_eq!(error.http_status(), http, "{code}");
            assert_eq!(error.grpc_code(), grpc, "{code}");
        }
        assert_eq!(
            Error::not_exist(Entity::User).message(),
            "The user does not exist."
        );
        assert_eq!(
            Error::invalid_chars("UserName").message(),
            "The parameter - \"UserName\" contains invalid chars."
        );
    }

    #[test]
    fn policy_errors_become_malformed_policy_document() {
        let errors = tessera_policy::parse(
            "{",
            tessera_policy::PolicyKind::Identity,
            &Default::default(),
        )
        .err();
        let error = errors.map(Error::from);
        assert_eq!(
            error.as_ref().map(Error::code),
            Some("MalformedPolicyDocument")
        );
        assert_eq!(error.map(|e| e.http_status()), Some(400));
    }
}
