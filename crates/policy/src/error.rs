//! Validation errors and warnings, positioned at the JSON line and column they concern.

use std::fmt;

/// What kind of document is being parsed: it decides the required elements and the size limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    /// A custom policy attached to users, groups or roles (`Resource` required, no `Principal`).
    Identity,
    /// The `Policy` parameter of `AssumeRole`: an identity policy with a smaller size limit.
    Session,
    /// A role's trust policy (`AssumeRolePolicyDocument`): `Principal` required, no `Resource`.
    Trust,
}

impl PolicyKind {
    /// The request parameter that carries this kind of document, as RAM/STS name it.
    pub fn parameter(self) -> &'static str {
        match self {
            PolicyKind::Identity => "PolicyDocument",
            PolicyKind::Session => "Policy",
            PolicyKind::Trust => "AssumeRolePolicyDocument",
        }
    }
}

/// The RAM error code of a policy error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The document is not valid JSON or not a valid policy.
    MalformedPolicyDocument,
    /// The document is longer than the limit for its kind.
    Length(PolicyKind),
}

impl ErrorCode {
    /// The code as RAM spells it (`MalformedPolicyDocument`, `InvalidParameter.PolicyDocument.Length`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MalformedPolicyDocument => "MalformedPolicyDocument",
            ErrorCode::Length(PolicyKind::Identity) => "InvalidParameter.PolicyDocument.Length",
            ErrorCode::Length(PolicyKind::Session) => "InvalidParameter.Policy.Length",
            ErrorCode::Length(PolicyKind::Trust) => {
                "InvalidParameter.AssumeRolePolicyDocument.Length"
            }
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A 1-based line and column (in characters) inside the policy text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub line: u32,
    pub column: u32,
}

impl Position {
    /// The position of byte `offset` in `text` (clamped to the text).
    pub fn at(text: &str, offset: usize) -> Position {
        let mut end = offset.min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let before = &text[..end];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
        let column = before[line_start..].chars().count() + 1;
        Position {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// One reason a document was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    pub code: ErrorCode,
    pub position: Position,
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.position, self.code, self.message)
    }
}

impl std::error::Error for PolicyError {}

/// Every reason a document was rejected, in document order; never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyErrors(Vec<PolicyError>);

impl PolicyErrors {
    pub(crate) fn new(mut errors: Vec<PolicyError>) -> Option<Self> {
        errors.sort_by_key(|e| e.position);
        (!errors.is_empty()).then_some(PolicyErrors(errors))
    }

    pub(crate) fn single(error: PolicyError) -> Self {
        PolicyErrors(vec![error])
    }

    /// The first error in document order.
    pub fn first(&self) -> &PolicyError {
        // Invariant: constructed only from a non-empty list.
        &self.0[0]
    }

    pub fn iter(&self) -> std::slice::Iter<'_, PolicyError> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The error code of the first error: what an API answer reports.
    pub fn code(&self) -> ErrorCode {
        self.first().code
    }
}

impl<'a> IntoIterator for &'a PolicyErrors {
    type Item = &'a PolicyError;
    type IntoIter = std::slice::Iter<'a, PolicyError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for PolicyErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let first = self.first();
        write!(f, "{} (at {})", first.message, first.position)?;
        if self.0.len() > 1 {
            write!(f, "; and {} more", self.0.len() - 1)?;
        }
        Ok(())
    }
}

impl std::error::Error for PolicyErrors {}

/// What a validation warning is about (in the spirit of AWS Access Analyzer's findings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WarningCode {
    /// `Allow` of every action on every resource without conditions.
    OverlyPermissive,
    /// `Allow` with `NotAction`: grants everything not listed, including future actions.
    AllowWithNotAction,
    /// A global condition key (`acs:`/`sts:`) that Tessera never sets, so the condition never
    /// sees a value.
    UnknownConditionKey,
    /// The operator's type does not fit the key (e.g. `StringEquals` on `acs:SourceIp`).
    OperatorKeyMismatch,
    /// Two statements share a `Sid`.
    DuplicateSid,
    /// A CIDR with host bits set (`10.0.0.1/8`); it is treated as its network.
    CidrHostBits,
    /// A trust policy that lets any principal assume the role.
    OpenTrust,
    /// `ForAllValues:` in an Allow is also true when the key is absent.
    ForAllValuesWithAllow,
    /// A resource pattern that can never match an ARN.
    UnmatchableResource,
    /// A trust policy action that is not an STS action.
    NonStsTrustAction,
}

impl WarningCode {
    pub fn as_str(self) -> &'static str {
        match self {
            WarningCode::OverlyPermissive => "OverlyPermissive",
            WarningCode::AllowWithNotAction => "AllowWithNotAction",
            WarningCode::UnknownConditionKey => "UnknownConditionKey",
            WarningCode::OperatorKeyMismatch => "OperatorKeyMismatch",
            WarningCode::DuplicateSid => "DuplicateSid",
            WarningCode::CidrHostBits => "CidrHostBits",
            WarningCode::OpenTrust => "OpenTrust",
            WarningCode::ForAllValuesWithAllow => "ForAllValuesWithAllow",
            WarningCode::UnmatchableResource => "UnmatchableResource",
            WarningCode::NonStsTrustAction => "NonStsTrustAction",
        }
    }
}

impl fmt::Display for WarningCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something valid but probably not what the author meant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyWarning {
    pub code: WarningCode,
    pub position: Position,
    pub message: String,
}

impl fmt::Display for PolicyWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.position, self.code, self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let text = "{\n  \"a\": \"é\", \"b\"\n}";
        assert_eq!(Position::at(text, 0), Position { line: 1, column: 1 });
        assert_eq!(Position::at(text, 4), Position { line: 2, column: 3 });
        let b = text.find("\"b\"").unwrap_or_default();
        assert_eq!(
            Position::at(text, b),
            Position {
                line: 2,
                column: 13
            }
        );
        assert_eq!(Position::at(text, 10_000).line, 3);
    }
}
