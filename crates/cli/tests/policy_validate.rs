#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `tessera policy validate`: exit status and the exact diagnostic lines.

mod common;

use common::Scratch;

const VALID: &str = r#"{
  "Version": "1",
  "Statement": [
    {
      "Sid": "ReadPhotos",
      "Effect": "Allow",
      "Action": ["oss:GetObject", "oss:ListObjects"],
      "Resource": "acs:oss:*:123456:photos/*",
      "Condition": {"IpAddress": {"acs:SourceIp": "192.0.2.0/24"}}
    }
  ]
}
"#;

/// A statement on line 4, column 5 that allows everything.
const ADMIN: &str = r#"{
  "Version": "1",
  "Statement": [
    {"Effect": "Allow", "Action": "*", "Resource": "*"}
  ]
}
"#;

/// `"allow"` (line 5, column 17) instead of `"Allow"`.
const WRONG_CASE_EFFECT: &str = r#"{
  "Version": "1",
  "Statement": [
    {
      "Effect": "allow",
      "Action": "oss:GetObject",
      "Resource": "*"
    }
  ]
}
"#;

/// The statement object (line 4, column 5) has no Resource.
const MISSING_RESOURCE: &str = r#"{
  "Version": "1",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": "oss:GetObject"
    }
  ]
}
"#;

/// The operator `StringEqual` (line 9, column 9) does not exist.
const UNKNOWN_OPERATOR: &str = r#"{
  "Version": "1",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": "oss:GetObject",
      "Resource": "*",
      "Condition": {
        "StringEqual": {"acs:UserAgent": "curl/8.0"}
      }
    }
  ]
}
"#;

/// A trailing comma at line 4, column 55.
const TRAILING_COMMA: &str = r#"{
  "Version": "1",
  "Statement": [
    {"Effect": "Allow", "Action": "*", "Resource": "*",}
  ]
}
"#;

const TRUST: &str = r#"{
  "Version": "1",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": "sts:AssumeRole",
      "Principal": {"RAM": ["acs:ram::123456:root"]}
    }
  ]
}
"#;

/// A valid identity policy of more than `chars` characters.
fn long_policy(chars: usize) -> String {
    let mut actions = Vec::new();
    let mut text = String::new();
    while text.chars().count() <= chars {
        actions.push(format!("\"oss:GetObject{}\"", actions.len()));
        text = format!(
            "{{\"Version\": \"1\", \"Statement\": [{{\"Effect\": \"Allow\", \"Action\": [{}], \"Resource\": \"*\"}}]}}",
            actions.join(", ")
        );
    }
    text
}

#[test]
fn valid_file_exits_zero_without_output() {
    let s = Scratch::new("valid");
    s.write("read-photos.json", VALID);
    let run = s.run(&["policy", "validate", "read-photos.json"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr, "");
}

#[test]
fn warnings_go_to_stderr_and_still_exit_zero() {
    let s = Scratch::new("warning");
    s.write("admin.json", ADMIN);
    let run = s.run(&["policy", "validate", "admin.json"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr_lines(),
        [
            "admin.json:4:5: warning: OverlyPermissive: this statement allows every action on every resource (full administrator access)"
        ]
    );
}

#[test]
fn wrong_case_effect_is_malformed() {
    let s = Scratch::new("wrong-case");
    s.write("p.json", WRONG_CASE_EFFECT);
    let run = s.run(&["policy", "validate", "p.json"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr_lines(),
        [
            r#"p.json:5:17: MalformedPolicyDocument: Effect must be "Allow" or "Deny", not "allow" (Effect is case-sensitive)"#
        ]
    );
}

#[test]
fn missing_resource_is_malformed() {
    let s = Scratch::new("missing-resource");
    s.write("p.json", MISSING_RESOURCE);
    let run = s.run(&["policy", "validate", "p.json"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert_eq!(
        run.stderr_lines(),
        [
            r#"p.json:4:5: MalformedPolicyDocument: every statement needs Resource (use "*" for all resources)"#
        ]
    );
}

#[test]
fn unknown_operator_is_malformed() {
    let s = Scratch::new("unknown-operator");
    s.write("p.json", UNKNOWN_OPERATOR);
    let run = s.run(&["policy", "validate", "p.json"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert_eq!(
        run.stderr_lines(),
        [r#"p.json:9:9: MalformedPolicyDocument: unknown condition operator "StringEqual""#]
    );
}

#[test]
fn malformed_json_is_reported_at_the_offending_character() {
    let s = Scratch::new("malformed-json");
    s.write("p.json", TRAILING_COMMA);
    let run = s.run(&["policy", "validate", "p.json"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert_eq!(
        run.stderr_lines(),
        ["p.json:4:55: MalformedPolicyDocument: invalid JSON: Trailing commas are not allowed"]
    );
}

#[test]
fn every_error_of_a_file_is_reported_in_document_order() {
    let s = Scratch::new("several-errors");
    // Version is an object spanning lines: the quoted snippet must not break the line.
    s.write(
        "p.json",
        "{\n  \"Version\": {\n    \"v\": 1\n  },\n  \"Statement\": {\"Effect\": \"allow\", \"Action\": \"oss:*\"}\n}\n",
    );
    let run = s.run(&["policy", "validate", "p.json"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert_eq!(
        run.stderr_lines(),
        [
            r#"p.json:2:14: MalformedPolicyDocument: Version must be the string "1", not { "v": 1 }"#,
            r#"p.json:5:16: MalformedPolicyDocument: every statement needs Resource (use "*" for all resources)"#,
            r#"p.json:5:27: MalformedPolicyDocument: Effect must be "Allow" or "Deny", not "allow" (Effect is case-sensitive)"#,
        ]
    );
}

#[test]
fn too_long_identity_policy_has_the_length_code() {
    let s = Scratch::new("too-long");
    let text = long_policy(6144);
    s.write("big.json", &text);
    let run = s.run(&["policy", "validate", "big.json"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    let lines = run.stderr_lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let total = text.chars().count();
    // The error points at the first character past the limit (all on line 1).
    assert_eq!(
        lines[0],
        format!(
            "big.json:1:6145: InvalidParameter.PolicyDocument.Length: the PolicyDocument is {total} characters long; the limit is 6144"
        )
    );
}

#[test]
fn max_length_overrides_the_limit_of_the_kind() {
    let s = Scratch::new("max-length");
    s.write("big.json", &long_policy(6144));
    s.write("small.json", VALID);
    let run = s.run(&["policy", "validate", "--max-length", "100000", "big.json"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let run = s.run(&["policy", "validate", "--max-length", "100", "small.json"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stderr
            .starts_with("small.json:7:6: InvalidParameter.PolicyDocument.Length: "),
        "{run:?}"
    );
}

#[test]
fn session_kind_has_the_session_limit_and_code() {
    let s = Scratch::new("session-kind");
    s.write("session.json", &long_policy(2048));
    let run = s.run(&["policy", "validate", "session.json"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let run = s.run(&["policy", "validate", "--kind", "session", "session.json"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stderr
            .starts_with("session.json:1:2049: InvalidParameter.Policy.Length: "),
        "{run:?}"
    );
}

#[test]
fn trust_policies_are_detected_and_kind_can_be_forced() {
    let s = Scratch::new("trust");
    s.write("trust.json", TRUST);
    let run = s.run(&["policy", "validate", "trust.json"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(run.stderr, "");
    let run = s.run(&["policy", "validate", "--kind", "trust", "trust.json"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let run = s.run(&["policy", "validate", "--kind", "identity", "trust.json"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert_eq!(
        run.stderr_lines(),
        [
            "trust.json:4:5: MalformedPolicyDocument: every statement needs Resource (use \"*\" for all resources)",
            "trust.json:7:7: MalformedPolicyDocument: Principal is only allowed in trust policies (a role's AssumeRolePolicyDocument)",
        ]
    );
}

#[test]
fn multiple_files_one_bad_reports_only_the_bad_one() {
    let s = Scratch::new("multiple");
    s.write("good.json", VALID);
    s.write("bad.json", WRONG_CASE_EFFECT);
    s.write("admin.json", ADMIN);
    let run = s.run(&["policy", "validate", "good.json", "bad.json", "admin.json"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert_eq!(run.stdout, "");
    let lines = run.stderr_lines();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].starts_with("bad.json:5:17: MalformedPolicyDocument: "),
        "{lines:?}"
    );
    assert!(
        lines[1].starts_with("admin.json:4:5: warning: OverlyPermissive: "),
        "{lines:?}"
    );
}

#[test]
fn unreadable_file_exits_two() {
    let s = Scratch::new("unreadable");
    s.write("good.json", VALID);
    let run = s.run(&["policy", "validate", "missing.json", "good.json"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    let lines = run.stderr_lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].starts_with("missing.json: "), "{lines:?}");
}

#[test]
fn non_utf8_file_exits_two() {
    let s = Scratch::new("non-utf8");
    std::fs::write(s.path().join("latin1.json"), b"{\"Version\": \"\xe9\"}").unwrap();
    let run = s.run(&["policy", "validate", "latin1.json"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert_eq!(
        run.stderr_lines(),
        ["latin1.json: not valid UTF-8 (invalid byte at offset 13)"]
    );
}

#[test]
fn dash_reads_standard_input() {
    let s = Scratch::new("stdin");
    let run = s.run_with_stdin(&["policy", "validate", "-"], WRONG_CASE_EFFECT);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stderr.starts_with("-:5:17: MalformedPolicyDocument: "),
        "{run:?}"
    );
    let run = s.run_with_stdin(&["policy", "validate", "-"], VALID);
    assert_eq!(run.code, Some(0), "{run:?}");
    let run = s.run_with_stdin(&["policy", "validate", "-", "-"], VALID);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert_eq!(
        run.stderr_lines(),
        ["-: standard input can be read only once"]
    );
}

#[test]
fn no_file_is_a_usage_error() {
    let s = Scratch::new("no-file");
    let run = s.run(&["policy", "validate"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert_eq!(run.stdout, "");
}

#[test]
fn unknown_kind_is_a_usage_error() {
    let s = Scratch::new("bad-kind");
    s.write("good.json", VALID);
    let run = s.run(&["policy", "validate", "--kind", "role", "good.json"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert_eq!(run.stdout, "");
}
