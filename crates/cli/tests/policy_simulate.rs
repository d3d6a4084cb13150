#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `tessera policy simulate`: decisions, their explanation as JSON, and invalid input.

mod common;

use common::Scratch;
use serde_json::json;

const PHOTOS: &str = r#"{
  "Version": "1",
  "Statement": [
    {
      "Sid": "ReadPhotos",
      "Effect": "Allow",
      "Action": ["oss:GetObject", "oss:ListObjects"],
      "Resource": "acs:oss:*:123456:photos/*"
    },
    {
      "Effect": "Allow",
      "Action": "oss:*",
      "Resource": "acs:oss:*:123456:photos/*"
    },
    {
      "Sid": "NoDelete",
      "Effect": "Deny",
      "Action": "oss:DeleteObject",
      "Resource": "*"
    }
  ]
}
"#;

const PUT_DOCS: &str = r#"{
  "Version": "1",
  "Statement": {"Sid": "PutDocs", "Effect": "Allow", "Action": "oss:PutObject", "Resource": "acs:oss:*:123456:docs/*"}
}
"#;

const SESSION_LIST_ONLY: &str = r#"{
  "Version": "1",
  "Statement": [
    {"Sid": "ListOnly", "Effect": "Allow", "Action": "oss:ListObjects", "Resource": "*"}
  ]
}
"#;

const SESSION_DENY_GET: &str = r#"{
  "Version": "1",
  "Statement": [
    {"Effect": "Allow", "Action": "oss:*", "Resource": "*"},
    {"Sid": "NoGet", "Effect": "Deny", "Action": "oss:GetObject", "Resource": "*"}
  ]
}
"#;

const TAG_KEYS: &str = r#"{
  "Version": "1",
  "Statement": [
    {
      "Sid": "OnlyKnownTags",
      "Effect": "Allow",
      "Action": "ecs:RunInstances",
      "Resource": "*",
      "Condition": {
        "ForAllValues:StringEquals": {"acs:TagKeys": ["env", "team"]},
        "Null": {"acs:TagKeys": "false"}
      }
    }
  ]
}
"#;

const OFFICE_IP: &str = r#"{
  "Version": "1",
  "Statement": [
    {
      "Sid": "FromOffice",
      "Effect": "Allow",
      "Action": "oss:GetObject",
      "Resource": "*",
      "Condition": {"IpAddress": {"acs:SourceIp": "192.0.2.0/24"}}
    }
  ]
}
"#;

const SINCE_2020: &str = r#"{
  "Version": "1",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": "oss:GetObject",
      "Resource": "*",
      "Condition": {"DateGreaterThan": {"acs:CurrentTime": "2020-01-01T00:00:00Z"}}
    }
  ]
}
"#;

const USER_AGENT: &str = r#"{
  "Version": "1",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": "oss:GetObject",
      "Resource": "*",
      "Condition": {"StringEquals": {"acs:UserAgent": "a=b"}}
    }
  ]
}
"#;

/// `"allow"` at line 4, column 16.
const BAD: &str = r#"{
  "Version": "1",
  "Statement": [
    {"Effect": "allow", "Action": "oss:GetObject", "Resource": "*"}
  ]
}
"#;

const GET_PHOTO: [&str; 4] = [
    "--action",
    "oss:GetObject",
    "--resource",
    "acs:oss:*:123456:photos/cat.jpg",
];

fn args<'a>(head: &[&'a str], tail: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec!["policy", "simulate"];
    all.extend_from_slice(head);
    all.extend_from_slice(tail);
    all
}

fn photos() -> Scratch {
    let s = Scratch::new("photos");
    s.write("photos.json", PHOTOS)
        .write("put-docs.json", PUT_DOCS)
        .write("list-only.json", SESSION_LIST_ONLY)
        .write("deny-get.json", SESSION_DENY_GET);
    s
}

#[test]
fn allow_lists_every_matching_allow() {
    let s = photos();
    let run = s.run(&args(&["--policy", "photos.json"], &GET_PHOTO));
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(run.stderr, "");
    assert_eq!(
        run.json(),
        json!({
            "Decision": "Allow",
            "MatchedStatements": [
                {"Policy": "photos.json", "Statement": 0, "Sid": "ReadPhotos", "Effect": "Allow"},
                {"Policy": "photos.json", "Statement": 1, "Sid": null, "Effect": "Allow"},
            ]
        })
    );
}

#[test]
fn output_keeps_the_documented_key_order() {
    let s = photos();
    let run = s.run(&args(&["--policy", "photos.json"], &GET_PHOTO));
    assert_eq!(
        run.stdout,
        "{\n  \"Decision\": \"Allow\",\n  \"MatchedStatements\": [\n    \
         {\"Policy\": \"photos.json\", \"Statement\": 0, \"Sid\": \"ReadPhotos\", \"Effect\": \"Allow\"},\n    \
         {\"Policy\": \"photos.json\", \"Statement\": 1, \"Sid\": null, \"Effect\": \"Allow\"}\n  ]\n}\n"
    );
}

#[test]
fn explicit_deny_lists_only_the_denies() {
    let s = photos();
    let run = s.run(&args(
        &["--policy", "put-docs.json", "--policy", "photos.json"],
        &[
            "--action",
            "oss:DeleteObject",
            "--resource",
            "acs:oss:*:123456:photos/cat.jpg",
        ],
    ));
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        run.json(),
        json!({
            "Decision": "ExplicitDeny",
            "MatchedStatements": [
                {"Policy": "photos.json", "Statement": 2, "Sid": "NoDelete", "Effect": "Deny"},
            ]
        })
    );
}

#[test]
fn implicit_deny_lists_nothing() {
    let s = photos();
    let run = s.run(&args(
        &["--policy", "photos.json"],
        &[
            "--action",
            "oss:PutObject",
            "--resource",
            "acs:oss:*:123456:docs/report.pdf",
        ],
    ));
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        run.json(),
        json!({"Decision": "ImplicitDeny", "MatchedStatements": []})
    );
}

#[test]
fn statements_of_several_policies_are_labelled_by_file() {
    let s = photos();
    let run = s.run(&args(
        &["--policy", "photos.json", "--policy", "put-docs.json"],
        &[
            "--action",
            "oss:PutObject",
            "--resource",
            "acs:oss:*:123456:docs/report.pdf",
        ],
    ));
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        run.json(),
        json!({
            "Decision": "Allow",
            "MatchedStatements": [
                {"Policy": "put-docs.json", "Statement": 0, "Sid": "PutDocs", "Effect": "Allow"},
            ]
        })
    );
}

#[test]
fn session_policy_narrows_an_allow_to_implicit_deny() {
    let s = photos();
    let run = s.run(&args(
        &[
            "--policy",
            "photos.json",
            "--session-policy",
            "list-only.json",
        ],
        &GET_PHOTO,
    ));
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        run.json(),
        json!({"Decision": "ImplicitDeny", "MatchedStatements": []})
    );
}

#[test]
fn allow_through_a_session_policy_lists_both_sides() {
    let s = photos();
    let run = s.run(&args(
        &[
            "--policy",
            "photos.json",
            "--session-policy",
            "list-only.json",
        ],
        &[
            "--action",
            "oss:ListObjects",
            "--resource",
            "acs:oss:*:123456:photos/",
        ],
    ));
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        run.json(),
        json!({
            "Decision": "Allow",
            "MatchedStatements": [
                {"Policy": "photos.json", "Statement": 0, "Sid": "ReadPhotos", "Effect": "Allow"},
                {"Policy": "photos.json", "Statement": 1, "Sid": null, "Effect": "Allow"},
                {"Policy": "list-only.json", "Statement": 0, "Sid": "ListOnly", "Effect": "Allow"},
            ]
        })
    );
}

#[test]
fn deny_in_the_session_policy_wins() {
    let s = photos();
    let run = s.run(&args(
        &[
            "--policy",
            "photos.json",
            "--session-policy",
            "deny-get.json",
        ],
        &GET_PHOTO,
    ));
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        run.json(),
        json!({
            "Decision": "ExplicitDeny",
            "MatchedStatements": [
                {"Policy": "deny-get.json", "Statement": 1, "Sid": "NoGet", "Effect": "Deny"},
            ]
        })
    );
}

#[test]
fn repeated_context_key_is_multi_valued_for_for_all_values() {
    let s = Scratch::new("for-all-values");
    s.write("tags.json", TAG_KEYS);
    let base = [
        "--policy",
        "tags.json",
        "--action",
        "ecs:RunInstances",
        "--resource",
        "acs:ecs:cn-hangzhou:123456:instance/*",
    ];
    let decision = |context: &[&str]| {
        let run = s.run(&args(&base, context));
        assert_eq!(run.code, Some(0), "{run:?}");
        run.json()
    };
    assert_eq!(
        decision(&[
            "--context",
            "acs:TagKeys=env",
            "--context",
            "acs:TagKeys=team"
        ]),
        json!({
            "Decision": "Allow",
            "MatchedStatements": [
                {"Policy": "tags.json", "Statement": 0, "Sid": "OnlyKnownTags", "Effect": "Allow"},
            ]
        })
    );
    let implicit = json!({"Decision": "ImplicitDeny", "MatchedStatements": []});
    assert_eq!(
        decision(&[
            "--context",
            "acs:TagKeys=env",
            "--context",
            "acs:TagKeys=owner",
            "--context",
            "acs:TagKeys=team",
        ]),
        implicit
    );
    // Absent key: ForAllValues: alone would be true, the Null check makes it false.
    assert_eq!(decision(&[]), implicit);
}

#[test]
fn source_ip_context_drives_ip_conditions() {
    let s = Scratch::new("source-ip");
    s.write("office.json", OFFICE_IP);
    let decision = |context: &[&str]| {
        let run = s.run(
            &args(&["--policy", "office.json"], &GET_PHOTO)
                .into_iter()
                .chain(context.iter().copied())
                .collect::<Vec<_>>(),
        );
        assert_eq!(run.code, Some(0), "{run:?}");
        run.json()
    };
    assert_eq!(
        decision(&["--context", "acs:SourceIp=192.0.2.7"]),
        json!({
            "Decision": "Allow",
            "MatchedStatements": [
                {"Policy": "office.json", "Statement": 0, "Sid": "FromOffice", "Effect": "Allow"},
            ]
        })
    );
    let implicit = json!({"Decision": "ImplicitDeny", "MatchedStatements": []});
    assert_eq!(
        decision(&["--context", "acs:SourceIp=198.51.100.1"]),
        implicit
    );
    assert_eq!(decision(&[]), implicit);
}

#[test]
fn current_time_defaults_to_the_clock_unless_given() {
    let s = Scratch::new("current-time");
    s.write("since-2020.json", SINCE_2020);
    let base = args(&["--policy", "since-2020.json"], &GET_PHOTO);
    let run = s.run(&base);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(run.json()["Decision"], "Allow");
    for key in ["acs:CurrentTime", "ACS:currenttime"] {
        let given = format!("{key}=2019-06-01T00:00:00Z");
        let mut with_time = base.clone();
        with_time.extend(["--context", given.as_str()]);
        let run = s.run(&with_time);
        assert_eq!(run.code, Some(0), "{run:?}");
        assert_eq!(run.json()["Decision"], "ImplicitDeny", "{key}");
    }
}

#[test]
fn context_value_is_everything_after_the_first_equals_sign() {
    let s = Scratch::new("equals-in-value");
    s.write("ua.json", USER_AGENT);
    let run = s.run(&args(
        &["--policy", "ua.json", "--context", "acs:UserAgent=a=b"],
        &GET_PHOTO,
    ));
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(run.json()["Decision"], "Allow");
}

#[test]
fn invalid_policy_files_are_reported_like_validate() {
    let s = photos();
    s.write("bad.json", BAD);
    s.write(
        "session-too-long.json",
        &format!("{SESSION_LIST_ONLY}{}", " ".repeat(2048)),
    );
    let run = s.run(&args(
        &[
            "--policy",
            "photos.json",
            "--policy",
            "bad.json",
            "--policy",
            "missing.json",
            "--session-policy",
            "session-too-long.json",
        ],
        &GET_PHOTO,
    ));
    assert_eq!(run.code, Some(2), "{run:?}");
    assert_eq!(run.stdout, "");
    let lines = run.stderr_lines();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(
        lines[0],
        r#"bad.json:4:16: MalformedPolicyDocument: Effect must be "Allow" or "Deny", not "allow" (Effect is case-sensitive)"#
    );
    assert!(lines[1].starts_with("missing.json: "), "{lines:?}");
    // The padding starts line 7; the error points at the first character past 2048.
    let before = SESSION_LIST_ONLY.chars().count();
    assert_eq!(
        lines[2],
        format!(
            "session-too-long.json:7:{}: InvalidParameter.Policy.Length: the Policy is {} characters long; the limit is 2048",
            2048 - before + 1,
            before + 2048
        )
    );
}

#[test]
fn trust_policy_is_not_an_identity_policy() {
    let s = Scratch::new("trust-as-identity");
    s.write(
        "trust.json",
        r#"{"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"RAM": "acs:ram::123456:root"}}]}"#,
    );
    let run = s.run(&args(&["--policy", "trust.json"], &GET_PHOTO));
    assert_eq!(run.code, Some(2), "{run:?}");
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr_lines(),
        [
            r#"trust.json:1:32: MalformedPolicyDocument: every statement needs Resource (use "*" for all resources)"#,
            "trust.json:1:80: MalformedPolicyDocument: Principal is only allowed in trust policies (a role's AssumeRolePolicyDocument)",
        ]
    );
}

#[test]
fn malformed_arguments_exit_two() {
    let s = photos();
    let cases: [&[&str]; 6] = [
        &["--context", "acs:SourceIp"],
        &["--context", "=192.0.2.7"],
        &["--context", "acs:Source Ip=192.0.2.7"],
        &["--action", ""],
        &["--resource", ""],
        &["--session-policy", "missing.json"],
    ];
    for extra in cases {
        let run = s.run(
            &args(&["--policy", "photos.json"], &GET_PHOTO)
                .into_iter()
                .chain(extra.iter().copied())
                .collect::<Vec<_>>(),
        );
        assert_eq!(run.code, Some(2), "{extra:?}: {run:?}");
        assert_eq!(run.stdout, "", "{extra:?}");
        assert!(!run.stderr.is_empty(), "{extra:?}");
    }
    let run = s.run(&[
        "policy",
        "simulate",
        "--policy",
        "photos.json",
        "--action",
        "oss:GetObject",
    ]);
    assert_eq!(run.code, Some(2), "{run:?}");
    let run = s.run(&args(&[], &GET_PHOTO));
    assert_eq!(run.code, Some(2), "{run:?}");
}
