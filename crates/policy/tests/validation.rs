//! Validation table: every way a document can be wrong, with the code, position and message
//! the author sees, plus the warnings of valid documents.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tessera_policy::{ErrorCode, Limits, PolicyKind, WarningCode, parse};

/// `(document, kind, line, column, message fragment)`; the code is MalformedPolicyDocument.
const MALFORMED: &[(&str, PolicyKind, u32, u32, &str)] = &[
    // JSON syntax
    ("", PolicyKind::Identity, 1, 1, "empty"),
    ("   \n ", PolicyKind::Identity, 1, 1, "empty"),
    ("{", PolicyKind::Identity, 1, 1, "invalid JSON"),
    (
        "{\"Version\": \"1\",}",
        PolicyKind::Identity,
        1,
        16,
        "invalid JSON: Trailing commas",
    ),
    (
        "{\"Version\": '1'}",
        PolicyKind::Identity,
        1,
        13,
        "invalid JSON",
    ),
    (
        "// c\n{}",
        PolicyKind::Identity,
        1,
        1,
        "invalid JSON: Comments",
    ),
    (
        "{\"Version\": \"1\"} {}",
        PolicyKind::Identity,
        1,
        18,
        "more than one JSON value",
    ),
    ("[]", PolicyKind::Identity, 1, 1, "must be a JSON object"),
    (
        "\"policy\"",
        PolicyKind::Identity,
        1,
        1,
        "must be a JSON object",
    ),
    // top level
    (
        "{\"Statement\": []}",
        PolicyKind::Identity,
        1,
        1,
        "Version is required",
    ),
    (
        "{\"Version\": 1, \"Statement\": []}",
        PolicyKind::Identity,
        1,
        13,
        "Version must be the string \"1\", not 1",
    ),
    (
        "{\"Version\": \"2\", \"Statement\": []}",
        PolicyKind::Identity,
        1,
        13,
        "Version must be the string \"1\"",
    ),
    (
        "{\"Version\": \"1\"}",
        PolicyKind::Identity,
        1,
        1,
        "Statement is required",
    ),
    (
        "{\"Version\": \"1\", \"Statement\": []}",
        PolicyKind::Identity,
        1,
        31,
        "Statement must not be empty",
    ),
    (
        "{\"Version\": \"1\", \"Statement\": \"x\"}",
        PolicyKind::Identity,
        1,
        31,
        "statement object or an array",
    ),
    (
        "{\"Version\": \"1\", \"Statement\": [1]}",
        PolicyKind::Identity,
        1,
        32,
        "statement 0 must be a JSON object",
    ),
    (
        "{\"version\": \"1\", \"Statement\": []}",
        PolicyKind::Identity,
        1,
        2,
        "did you mean \"Version\"",
    ),
    (
        "{\"Version\": \"1\", \"Id\": \"x\", \"Statement\": []}",
        PolicyKind::Identity,
        1,
        18,
        "Id is not a RAM policy element",
    ),
    (
        "{\"Version\": \"1\", \"Version\": \"1\", \"Statement\": []}",
        PolicyKind::Identity,
        1,
        18,
        "duplicate key \"Version\"",
    ),
];

fn statement(body: &str) -> String {
    format!("{{\"Version\": \"1\", \"Statement\": [\n{body}\n]}}")
}

/// Statement-level cases: `(statement body, kind, line, column, fragment)`; the statement starts
/// on line 2, column 1.
const STATEMENT_CASES: &[(&str, PolicyKind, u32, u32, &str)] = &[
    (
        r#"{"Effect": "allow", "Action": "ecs:*", "Resource": "*"}"#,
        PolicyKind::Identity,
        2,
        12,
        "Effect must be \"Allow\" or \"Deny\", not \"allow\" (Effect is case-sensitive)",
    ),
    (
        r#"{"Effect": "Permit", "Action": "ecs:*", "Resource": "*"}"#,
        PolicyKind::Identity,
        2,
        12,
        "not \"Permit\"",
    ),
    (
        r#"{"Effect": true, "Action": "ecs:*", "Resource": "*"}"#,
        PolicyKind::Identity,
        2,
        12,
        "Effect must be the string",
    ),
    (
        r#"{"Action": "ecs:*", "Resource": "*"}"#,
        PolicyKind::Identity,
        2,
        1,
        "Effect is required",
    ),
    (
        r#"{"Effect": "Allow", "Resource": "*"}"#,
        PolicyKind::Identity,
        2,
        1,
        "needs Action or NotAction",
    ),
    (
        r#"{"Effect": "Allow", "Action": "ecs:*", "NotAction": "oss:*", "Resource": "*"}"#,
        PolicyKind::Identity,
        2,
        40,
        "Action or NotAction, not both",
    ),
    (
        r#"{"Effect": "Allow", "Action": "ecs:*"}"#,
        PolicyKind::Identity,
        2,
        1,
        "needs Resource",
    ),
    (
        r#"{"Effect": "Allow", "Action": [], "Resource": "*"}"#,
        PolicyKind::Identity,
        2,
        31,
        "Action must not be an empty array",
    ),
    (
        r#"{"Effect": "Allow", "Action": ["ecs:A", 7], "Resource": "*"}"#,
        PolicyKind::Identity,
        2,
        41,
        "each action in Action must be a string, not 7",
    ),
    (
        r#"{"Effect": "Allow", "Action": {"a": 1}, "Resource": "*"}"#,
        PolicyKind::Identity,
        2,
        31,
        "Action must be a string or an array of strings",
    ),
    (
        r#"{"Effect": "Allow", "Action": "DescribeInstances", "Resource": "*"}"#,
        PolicyKind::Identity,
        2,
        31,
        "has no service code",
    ),
    (
        r#"{"Effect": "Allow", "Action": "ecs:", "Resource": "*"}"#,
        PolicyKind::Identity,
        2,
        31,
        "service code and an action name",
    ),
    (
        r#"{"Effect": "Allow", "Action": "ecs:a:b", "Resource": "*"}"#,
        PolicyKind::Identity,
        2,
        31,
        "more than one colon",
    ),
    (
        r#"{"Effect": "Allow", "Action": "ecs:Describe Instances", "Resource": "*"}"#,
        PolicyKind::Identity,
        2,
        31,
        "invalid character ' '",
    ),
    (
        r#"{"Effect": "Allow", "Action": "ecs:*", "Resource": "bucket/*"}"#,
        PolicyKind::Identity,
        2,
        52,
        "must be \"*\" or an ARN",
    ),
    (
        r#"{"Effect": "Allow", "Action": "ecs:*", "Resource": ""}"#,
        PolicyKind::Identity,
        2,
        52,
        "resource must not be empty",
    ),
    (
        r#"{"Effect": "Allow", "Action": "ecs:*", "Resource": "acs:oss:*:*:a\u0000b"}"#,
        PolicyKind::Identity,
        2,
        52,
        "control character",
    ),
    (
        r#"{"Effect": "Allow", "Action": "ecs:*", "NotResource": "*"}"#,
        PolicyKind::Identity,
        2,
        40,
        "NotResource is not supported",
    ),
    (
        r#"{"Effect": "Allow", "action": "ecs:*", "Resource": "*"}"#,
        PolicyKind::Identity,
        2,
        21,
        "did you mean \"Action\"",
    ),
    (
        r#"{"Effect": "Allow", "Action": "ecs:*", "Resource": "*", "Foo": 1}"#,
        PolicyKind::Identity,
        2,
        57,
        "unknown element \"Foo\" in a statement",
    ),
    (
        r#"{"Sid": 3, "Effect": "Allow", "Action": "ecs:*", "Resource": "*"}"#,
        PolicyKind::Identity,
        2,
        9,
        "Sid must be a string",
    ),
    (
        r#"{"Effect": "Allow", "Action": "ecs:*", "Effect": "Deny", "Resource": "*"}"#,
        PolicyKind::Identity,
        2,
        40,
        "duplicate key \"Effect\"",
    ),
    (
        r#"{"Effect": "Allow", "Action": "ecs:*", "Resource": "*", "Principal": {"RAM": "1"}}"#,
        PolicyKind::Identity,
        2,
        57,
        "Principal is only allowed in trust policies",
    ),
    // conditions
    (
        r#"{"Effect": "Allow", "Action": "ecs:*", "Resource": "*", "Condition": []}"#,
        PolicyKind::Identity,
        2,
        70,
        "Condition must be an object",
    ),
    (
        r#"{"Effect": "Allow", "Action": "ecs:*", "Resource": "*", "Condition": {"StringEqual": {"a:b": "c"}}}"#,
        PolicyKind::Identity,
        2,
        71,
        "unknown condition operator \"StringEqual\"",
    ),
    (
        r#"{"Effect": "Allow", "Action": "ecs:*", "Resource": "*", "Condition": {"stringequals": {"a:b": "c"}}}"#,
        PolicyKind::Identity,
        2,
        71,
        "did you mean \"StringEquals\"",
    ),
    (
        r#"{"Effect": "Allow", "Action": "ecs:*", "Resource": "*", "Condition": {"ForSome:StringEquals": {"a:b": "c"}}}"#,
        PolicyKind::Identity,
        2,
        71,
        "unknown set qualifier",
    ),
    (
        r#"{"Effect": "Allow", "Action": "ecs:*", "Resource": "*", "Condition": {"StringEquals": {}}}"#,
        PolicyKind::Identity,
        2,
        87,
        "must list at least one condition key",
    ),
    (
        r#"{"Effect": "Allow", "Action": "ecs:*", "Resource": "*", "Condition": {"StringEquals": "x"}}"#,
        PolicyKind::Identity,
        2,
        87,
        "must be an object of condition keys",
    ),
    (
        r#"{"Effect": "Allow", "Action": "ecs:*", "Resource": "*", "Condition": {"StringEquals": {"nocolon": "c"}}}"#,
        PolicyKind::Identity,
        2,
        88,
        "is not a condition key",
    ),
    (
        r#"{"Effect": "Allow", "Action": "ecs:*", "Resource": "*", "Condition": {"StringEquals": {"a:b": []}}}"#,
        PolicyKind::Identity,
        2,
        95,
        "empty list of values",
    ),
    (
        r#"{"Effect": "Allow", "Action": "ecs:*", "Resource": "*", "Condition": {"StringEquals": {"a:b": null}}}"#,
        PolicyKind::Identity,
        2,
        95,
        "must be strings, numbers or booleans, not null",
    ),
    (
        r#"{"Effect": "Allow", "Action": "ecs:*", "Resource": "*", "Condition": {"StringEquals": {"a:b": [["x"]]}}}"#,
        PolicyKind::Identity,
        2,
        96,
        "not [\"x\"]",
    ),
    (
        r#"{"Effect": "Allow", "Action": "ecs:*", "Resource": "*", "Condition": {"IpAddress": {"acs:SourceIp": ["10.0.0.0/8", "10.0.0.0/33"]}}}"#,
        PolicyKind::Identity,
        2,
        116,
        "\"10.0.0.0/33\" is not an IP address or CIDR block",
    ),
    (
        r#"{"Effect": "Allow", "Action": "ecs:*", "Resource": "*", "Condition": {"IpAddress": {"acs:SourceIp": "300.1.1.1"}}}"#,
        PolicyKind::Identity,
        2,
        101,
        "not an IP address",
    ),
    (
        r#"{"Effect": "Allow", "Action": "ecs:*", "Resource": "*", "Condition": {"DateLessThan": {"acs:CurrentTime": "2026-02-30T00:00:00Z"}}}"#,
        PolicyKind::Identity,
        2,
        107,
        "not an ISO 8601 date",
    ),
    (
        r#"{"Effect": "Allow", "Action": "ecs:*", "Resource": "*", "Condition": {"DateLessThan": {"acs:CurrentTime": "2026-01-01T00:00:00"}}}"#,
        PolicyKind::Identity,
        2,
        107,
        "not an ISO 8601 date",
    ),
    (
        r#"{"Effect": "Allow", "Action": "ecs:*", "Resource": "*", "Condition": {"NumericLessThan": {"ecs:Count": "ten"}}}"#,
        PolicyKind::Identity,
        2,
        104,
        "\"ten\" is not a number",
    ),
    (
        r#"{"Effect": "Allow", "Action": "ecs:*", "Resource": "*", "Condition": {"Bool": {"acs:SecureTransport": "yes"}}}"#,
        PolicyKind::Identity,
        2,
        103,
        "not \"true\" or \"false\"",
    ),
    (
        r#"{"Effect": "Allow", "Action": "ecs:*", "Resource": "*", "Condition": {"NullIfExists": {"a:b": "true"}}}"#,
        PolicyKind::Identity,
        2,
        71,
        "Null takes neither IfExists",
    ),
    // trust policies
    (
        r#"{"Effect": "Allow", "Action": "sts:AssumeRole"}"#,
        PolicyKind::Trust,
        2,
        1,
        "needs Principal",
    ),
    (
        r#"{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"RAM": "1"}, "Resource": "*"}"#,
        PolicyKind::Trust,
        2,
        76,
        "trust policy has no Resource",
    ),
    (
        r#"{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"ram": "1"}}"#,
        PolicyKind::Trust,
        2,
        63,
        "did you mean \"RAM\"",
    ),
    (
        r#"{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": "1"}}"#,
        PolicyKind::Trust,
        2,
        63,
        "expected RAM, Service or Federated",
    ),
    (
        r#"{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {}}"#,
        PolicyKind::Trust,
        2,
        62,
        "at least one principal",
    ),
    (
        r#"{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"RAM": "acs:ram::12ab:root"}}"#,
        PolicyKind::Trust,
        2,
        70,
        "is not a RAM principal",
    ),
    (
        r#"{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "ecs service"}}"#,
        PolicyKind::Trust,
        2,
        74,
        "is not a service name",
    ),
    (
        r#"{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Federated": "acs:ram::1:user/x"}}"#,
        PolicyKind::Trust,
        2,
        76,
        "is not an identity provider ARN",
    ),
    (
        r#"{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": ["x"]}"#,
        PolicyKind::Trust,
        2,
        62,
        "Principal must be \"*\" or an object",
    ),
];

#[test]
fn malformed_documents_are_rejected_with_positions() {
    let limits = Limits::default();
    let mut cases: Vec<(String, PolicyKind, u32, u32, &str)> = MALFORMED
        .iter()
        .map(|&(d, k, l, c, m)| (d.to_owned(), k, l, c, m))
        .collect();
    cases.extend(
        STATEMENT_CASES
            .iter()
            .map(|&(b, k, l, c, m)| (statement(b), k, l, c, m)),
    );
    let mut failures = Vec::new();
    for (doc, kind, line, column, fragment) in &cases {
        match parse(doc, *kind, &limits) {
            Ok(_) => failures.push(format!("accepted: {doc}")),
            Err(errors) => {
                let found = errors.iter().any(|e| {
                    e.code == ErrorCode::MalformedPolicyDocument
                        && e.position.line == *line
                        && e.position.column == *column
                        && e.message.contains(fragment)
                });
                if !found {
                    let got: Vec<String> = errors.iter().map(ToString::to_string).collect();
                    failures.push(format!(
                        "{doc}\n  expected {line}:{column} containing {fragment:?}\n  got {got:?}"
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_error_is_reported_in_document_order() {
    let doc = statement(
        r#"{"Effect": "allow", "Action": "ecs", "Resource": "bucket"},
{"Effect": "Deny", "Action": "ecs:*", "Resource": "*", "Condition": {"IpAddress": {"acs:SourceIp": "x"}}}"#,
    );
    let errors = parse(&doc, PolicyKind::Identity, &Limits::default()).unwrap_err();
    let lines: Vec<(u32, u32)> = errors
        .iter()
        .map(|e| (e.position.line, e.position.column))
        .collect();
    assert_eq!(lines, vec![(2, 12), (2, 31), (2, 50), (3, 100)]);
    assert_eq!(errors.first().position.line, 2);
    assert!(errors.to_string().contains("and 3 more"));
}

#[test]
fn length_limits_per_kind() {
    let padding = " ".repeat(3000);
    let doc = format!(
        "{{\"Version\": \"1\", {padding}\"Statement\": {{\"Effect\": \"Allow\", \"Action\": \"ecs:*\", \"Resource\": \"*\"}}}}"
    );
    let limits = Limits::default();
    assert!(parse(&doc, PolicyKind::Identity, &limits).is_ok());
    let err = parse(&doc, PolicyKind::Session, &limits).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Length(PolicyKind::Session));
    assert_eq!(err.code().as_str(), "InvalidParameter.Policy.Length");
    assert_eq!(err.first().position.column, 2049);
    assert!(err.first().message.contains("limit is 2048"));

    let tight = Limits {
        identity_chars: 100,
        ..Limits::default()
    };
    let err = parse(&doc, PolicyKind::Identity, &tight).unwrap_err();
    assert_eq!(
        err.code().as_str(),
        "InvalidParameter.PolicyDocument.Length"
    );

    // Characters, not bytes: 6,144 two-byte characters fit.
    let sid = "é".repeat(6144 - 90);
    let doc = format!(
        "{{\"Version\":\"1\",\"Statement\":{{\"Sid\":\"{sid}\",\"Effect\":\"Allow\",\"Action\":\"ecs:*\",\"Resource\":\"*\"}}}}"
    );
    assert!(doc.chars().count() <= 6144);
    assert!(doc.len() > 6144);
    assert!(parse(&doc, PolicyKind::Identity, &limits).is_ok());
}

#[test]
fn absurd_nesting_is_an_error_not_a_crash() {
    let deep = format!("{}{}", "[".repeat(3000), "]".repeat(3000));
    let big = Limits {
        identity_chars: 1 << 20,
        ..Limits::default()
    };
    let err = parse(&deep, PolicyKind::Identity, &big).unwrap_err();
    assert_eq!(err.code(), ErrorCode::MalformedPolicyDocument);
    let inside = statement(&format!(
        r#"{{"Effect": "Allow", "Action": "ecs:*", "Resource": "*", "Condition": {{"StringEquals": {{"a:b": {}{}}}}}}}"#,
        "[".repeat(2000),
        "]".repeat(2000)
    ));
    assert!(parse(&inside, PolicyKind::Identity, &big).is_err());
}

#[test]
fn accepted_shapes() {
    let limits = Limits::default();
    for doc in [
        // single statement object, single strings
        r#"{"Version":"1","Statement":{"Effect":"Allow","Action":"ecs:Describe*","Resource":"acs:ecs:*:*:instance/*"}}"#,
        // Sid, NotAction, arrays, every value form
        r#"{"Version":"1","Statement":[{"Sid":"s","Effect":"Deny","NotAction":["ram:*","sts:*"],"Resource":["*"]}]}"#,
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{
            "NumericLessThan":{"oss:MaxKeys":100},
            "Bool":{"acs:SecureTransport":true},
            "ForAnyValue:StringLike":{"acs:ResourceTag/team":["dev*","ops"]},
            "DateGreaterThan":{"acs:CurrentTime":"2026-01-01T08:00:00+08:00"},
            "IpAddress":{"acs:SourceIp":["2001:db8::/32","192.0.2.1"]},
            "Null":{"sts:SourceIdentity":"false"},
            "StringEqualsIfExists":{"acs:SourceVpc":"vpc-1"}}}]}"#,
        // empty condition block
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:GetObject","Resource":"*","Condition":{}}]}"#,
    ] {
        if let Err(e) = parse(doc, PolicyKind::Identity, &limits) {
            panic!("rejected {doc}: {e}");
        }
    }
    for doc in [
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":["acs:ram::1234567890123456:root","acs:ram::1:user/alice","acs:ram::1:role/r"]}}]}"#,
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":"ecs.aliyuncs.com"}}]}"#,
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Federated":"acs:ram::1:saml-provider/idp"},"Condition":{"StringEquals":{"saml:recipient":"https://signin.alibabacloud.com/saml-role/sso"}}}]}"#,
    ] {
        if let Err(e) = parse(doc, PolicyKind::Trust, &limits) {
            panic!("rejected {doc}: {e}");
        }
    }
}

/// `(statement body, kind, warning code, line, column)`.
const WARNINGS: &[(&str, PolicyKind, WarningCode, u32, u32)] = &[
    (
        r#"{"Effect": "Allow", "Action": "*", "Resource": "*"}"#,
        PolicyKind::Identity,
        WarningCode::OverlyPermissive,
        2,
        1,
    ),
    (
        r#"{"Effect": "Allow", "NotAction": "ram:*", "Resource": "*"}"#,
        PolicyKind::Identity,
        WarningCode::AllowWithNotAction,
        2,
        1,
    ),
    (
        r#"{"Effect": "Allow", "Action": "ecs:*", "Resource": "*", "Condition": {"StringEquals": {"acs:SourceIps": "x"}}}"#,
        PolicyKind::Identity,
        WarningCode::UnknownConditionKey,
        2,
        88,
    ),
    (
        r#"{"Effect": "Allow", "Action": "ecs:*", "Resource": "*", "Condition": {"StringEquals": {"acs:SourceIp": "10.0.0.1"}}}"#,
        PolicyKind::Identity,
        WarningCode::OperatorKeyMismatch,
        2,
        88,
    ),
    (
        r#"{"Effect": "Allow", "Action": "ecs:*", "Resource": "*", "Condition": {"StringLike": {"acs:CurrentTime": "2026*"}}}"#,
        PolicyKind::Identity,
        WarningCode::OperatorKeyMismatch,
        2,
        86,
    ),
    (
        r#"{"Effect": "Allow", "Action": "ecs:*", "Resource": "*", "Condition": {"IpAddress": {"acs:SourceIp": "10.0.0.1/8"}}}"#,
        PolicyKind::Identity,
        WarningCode::CidrHostBits,
        2,
        101,
    ),
    (
        r#"{"Effect": "Allow", "Action": "ecs:*", "Resource": "*", "Condition": {"ForAllValues:StringEquals": {"acs:TagKeys": ["a"]}}}"#,
        PolicyKind::Identity,
        WarningCode::ForAllValuesWithAllow,
        2,
        101,
    ),
    (
        r#"{"Effect": "Allow", "Action": "ecs:*", "Resource": "acs:ecs"}"#,
        PolicyKind::Identity,
        WarningCode::UnmatchableResource,
        2,
        52,
    ),
    (
        r#"{"Sid": "a", "Effect": "Allow", "Action": "ecs:*", "Resource": "*"}, {"Sid": "a", "Effect": "Allow", "Action": "oss:*", "Resource": "*"}"#,
        PolicyKind::Identity,
        WarningCode::DuplicateSid,
        2,
        70,
    ),
    (
        r#"{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": "*"}"#,
        PolicyKind::Trust,
        WarningCode::OpenTrust,
        2,
        1,
    ),
    (
        r#"{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"RAM": "*"}}"#,
        PolicyKind::Trust,
        WarningCode::OpenTrust,
        2,
        1,
    ),
    (
        r#"{"Effect": "Allow", "Action": "ecs:RunInstances", "Principal": {"RAM": "1"}}"#,
        PolicyKind::Trust,
        WarningCode::NonStsTrustAction,
        2,
        31,
    ),
];

#[test]
fn warnings_are_separate_from_errors() {
    let limits = Limits::default();
    let mut failures = Vec::new();
    for &(body, kind, code, line, column) in WARNINGS {
        let doc = statement(body);
        match parse(&doc, kind, &limits) {
            Err(e) => failures.push(format!("{body}: rejected: {e}")),
            Ok(parsed) => {
                let found = parsed.warnings.iter().any(|w| {
                    w.code == code && w.position.line == line && w.position.column == column
                });
                if !found {
                    failures.push(format!(
                        "{body}: expected {code} at {line}:{column}, got {:?}",
                        parsed.warnings
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // No warnings for an ordinary, well-scoped policy, or for a guarded ForAllValues.
    for body in [
        r#"{"Effect": "Allow", "Action": ["oss:GetObject", "oss:List*"], "Resource": "acs:oss:*:*:bucket/*", "Condition": {"IpAddress": {"acs:SourceIp": "192.0.2.0/24"}}}"#,
        r#"{"Effect": "Allow", "Action": "ecs:*", "Resource": "*", "Condition": {"ForAllValues:StringEquals": {"acs:TagKeys": ["a"]}, "Null": {"acs:TagKeys": "false"}}}"#,
        r#"{"Effect": "Deny", "Action": "*", "Resource": "*"}"#,
    ] {
        let parsed = parse(&statement(body), PolicyKind::Identity, &limits).unwrap();
        assert!(parsed.warnings.is_empty(), "{body}: {:?}", parsed.warnings);
    }
}
