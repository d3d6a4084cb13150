#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::any::Any;
use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::json;
use tonic::{Request, Response, Status};

use super::*;
use crate::v1 as pb;

/// A service that records every call (method, request message's `Debug`, whether the template's
/// marker extension arrived) and answers with a canned response, or the default one.
#[derive(Default)]
struct Fake {
    calls: Mutex<Vec<(&'static str, String, bool)>>,
    answers: Mutex<HashMap<&'static str, Box<dyn Any + Send>>>,
}

#[derive(Clone)]
struct Marker;

impl Fake {
    fn answer<T: Send + 'static>(&self, method: &'static str, response: T) {
        self.answers
            .lock()
            .unwrap()
            .insert(method, Box::new(response));
    }

    fn record<T: fmt::Debug, R: Default + 'static>(
        &self,
        method: &'static str,
        request: Request<T>,
    ) -> Result<Response<R>, Status> {
        let marked = request.extensions().get::<Marker>().is_some();
        self.calls
            .lock()
            .unwrap()
            .push((method, format!("{:?}", request.get_ref()), marked));
        let canned = self.answers.lock().unwrap().remove(method);
        Ok(Response::new(
            canned
                .and_then(|b| b.downcast::<R>().ok())
                .map(|b| *b)
                .unwrap_or_default(),
        ))
    }

    fn last(&self) -> (&'static str, String, bool) {
        self.calls.lock().unwrap().last().cloned().unwrap()
    }
}

macro_rules! fake {
    ($trait:path { $($method:ident($req:ident) -> $resp:ident;)* }) => {
        #[tonic::async_trait]
        impl $trait for Fake {
            $(
                async fn $method(
                    &self,
                    request: Request<pb::$req>,
                ) -> Result<Response<pb::$resp>, Status> {
                    self.record(stringify!($method), request)
                }
            )*
        }
    };
}

crate::with_ram_methods!(fake! { Ram });

fake!(Sts {
    assume_role(AssumeRoleRequest) -> AssumeRoleResponse;
    get_caller_identity(GetCallerIdentityRequest) -> GetCallerIdentityResponse;
    get_jwks(GetJwksRequest) -> GetJwksResponse;
    sign_in(SignInRequest) -> SignInResponse;
    assume_role_with_oidc(AssumeRoleWithOidcRequest) -> AssumeRoleWithOidcResponse;
});

fn plain() -> Request<()> {
    Request::new(())
}

fn marked() -> Request<()> {
    let mut request = Request::new(());
    request.extensions_mut().insert(Marker);
    request
}

fn run<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

fn ts(seconds: i64) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds, nanos: 0 })
}

/// 2015-01-23T12:33:18Z
const JAN_23: i64 = 1_422_016_398;

#[track_caller]
fn assert_error(result: Result<Value, Status>, grpc: tonic::Code, code: &str) {
    let status = result.expect_err("should fail");
    assert_eq!(status.code(), grpc, "{status:?}");
    assert!(
        status.message().starts_with(&format!("{code}: ")),
        "{status:?}"
    );
    assert_eq!(
        status.metadata().get(ERROR_CODE_METADATA).unwrap(),
        code,
        "{status:?}"
    );
}

/// Every parameter any action requires, so that every action reaches its service method.
fn everything() -> Params {
    Params::new([
        ("UserName", "alice"),
        ("GroupName", "devs"),
        ("RoleName", "ops"),
        ("PolicyName", "ReadAll"),
        ("PolicyType", "Custom"),
        ("PolicyDocument", "{}"),
        ("AssumeRolePolicyDocument", "{}"),
        ("VersionId", "v2"),
        ("UserAccessKeyId", "LTAIxyz"),
        ("Status", "Inactive"),
        ("Password", "Secret-123"),
        ("VirtualMFADeviceName", "phone"),
        ("SerialNumber", "acs:ram::1:mfa/phone"),
        ("AuthenticationCode1", "123456"),
        ("AuthenticationCode2", "654321"),
        ("AccountAlias", "acme"),
        ("RoleArn", "acs:ram::1234567890123456:role/ops"),
        ("RoleSessionName", "s1"),
        ("OIDCProviderName", "k8s"),
        ("IssuerUrl", "https://issuer.example"),
        ("ClientId", "sts"),
        ("Fingerprint", "902ef2deeb3c5b13ea4c3d5193629309e231ae55"),
        (
            "OIDCProviderArn",
            "acs:ram::1234567890123456:oidc-provider/k8s",
        ),
        ("OIDCToken", "eyJ.x.y"),
    ])
}

#[test]
fn every_action_reaches_its_method_with_the_template() {
    let fake = Fake::default();
    let params = everything();
    let mut methods = Vec::new();
    for action in RAM_ACTIONS {
        let answer = run(call_ram(&fake, action, &params, marked));
        assert!(answer.is_ok(), "{action}: {answer:?}");
        let (method, _, marked) = fake.last();
        assert!(marked, "{action}: the template's extension was dropped");
        methods.push(method);
    }
    for action in STS_ACTIONS {
        run(call_sts(&fake, action, &params, marked)).unwrap();
        assert!(fake.last().2);
    }
    assert_eq!(
        fake.calls.lock().unwrap().len(),
        RAM_ACTIONS.len() + STS_ACTIONS.len()
    );
    // The attachment actions share a method each; all the others have their own.
    methods.sort_unstable();
    methods.dedup();
    assert_eq!(methods.len(), RAM_ACTIONS.len() - 6);
    assert_eq!(Api::of_action("AssumeRoleWithOIDC"), Some(Api::Sts));
    assert_eq!(Api::of_action("CreateOIDCProvider"), Some(Api::Ram));
    assert_eq!(Api::of_action("AssumeRole"), Some(Api::Sts));
    assert_eq!(Api::of_action("CreateUser"), Some(Api::Ram));
    assert_eq!(Api::of_action("ChangePassword"), None);
}

#[test]
fn parameters_become_the_request_message() {
    let fake = Fake::default();
    let params = Params::new([
        ("UserName", "alice"),
        ("DisplayName", "Alice Example"),
        ("Email", "alice@example.com"),
    ]);
    run(call_ram(&fake, "CreateUser", &params, plain)).unwrap();
    let (method, message, _) = fake.last();
    assert_eq!(method, "create_user");
    assert!(message.contains(r#"user_name: "alice""#), "{message}");
    assert!(message.contains(r#"display_name: "Alice Example""#));
    assert!(message.contains(r#"mobile_phone: """#));

    // Update fields: absent stays None, given (even empty) is Some.
    let params = Params::new([("UserName", "alice"), ("NewComments", "")]);
    run(call_ram(&fake, "UpdateUser", &params, plain)).unwrap();
    let message = fake.last().1;
    assert!(message.contains(r#"new_comments: Some("")"#), "{message}");
    assert!(message.contains("new_email: None"), "{message}");

    // Attachments name their target kind.
    let params = Params::new([
        ("RoleName", "ops"),
        ("PolicyName", "ReadAll"),
        ("PolicyType", "System"),
    ]);
    run(call_ram(&fake, "DetachPolicyFromRole", &params, plain)).unwrap();
    let (method, message, _) = fake.last();
    assert_eq!(method, "detach_policy");
    assert!(message.contains("target_kind: Role"), "{message}");
    assert!(message.contains(r#"target_name: "ops""#));

    // Integers, Booleans, paging and RAM's defaults.
    let params = Params::new([
        ("RoleArn", "acs:ram::1234567890123456:role/ops"),
        ("RoleSessionName", "s1"),
        ("DurationSeconds", "900"),
    ]);
    run(call_sts(&fake, "AssumeRole", &params, plain)).unwrap();
    assert!(fake.last().1.contains("duration_seconds: 900"));
    let params = Params::new([("PolicyName", "P"), ("PolicyDocument", "{}")]);
    run(call_ram(&fake, "CreatePolicyVersion", &params, plain)).unwrap();
    assert!(fake.last().1.contains("set_as_default: false"));
    let params = Params::new([
        ("PolicyName", "P"),
        ("PolicyDocument", "{}"),
        ("SetAsDefault", "TRUE"),
    ]);
    run(call_ram(&fake, "CreatePolicyVersion", &params, plain)).unwrap();
    assert!(fake.last().1.contains("set_as_default: true"));
    let params = Params::new([("Marker", "bob"), ("MaxItems", "2")]);
    run(call_ram(&fake, "ListUsers", &params, plain)).unwrap();
    let message = fake.last().1;
    assert!(message.contains(r#"marker: "bob""#) && message.contains("max_items: 2"));
    run(call_ram(&fake, "ListUsers", &Params::default(), plain)).unwrap();
    assert!(fake.last().1.contains("max_items: 0"));
    // The caller's own keys when UserName is omitted.
    run(call_ram(&fake, "ListAccessKeys", &Params::default(), plain)).unwrap();
    assert!(fake.last().1.contains(r#"user_name: """#));
}

#[test]
fn bad_parameters_are_rams_errors() {
    let fake = Fake::default();
    use tonic::Code::InvalidArgument;
    let none = Params::default();
    assert_error(
        run(call_ram(&fake, "CreateUser", &none, plain)),
        InvalidArgument,
        "MissingUserName",
    );
    assert_error(
        run(call_ram(
            &fake,
            "GetUser",
            &Params::new([("UserName", "")]),
            plain,
        )),
        InvalidArgument,
        "MissingUserName",
    );
    assert_error(
        run(call_ram(
            &fake,
            "AttachPolicyToUser",
            &Params::new([("UserName", "a"), ("PolicyName", "P")]),
            plain,
        )),
        InvalidArgument,
        "MissingPolicyType",
    );
    assert_error(
        run(call_sts(
            &fake,
            "AssumeRole",
            &Params::new([("RoleArn", "x")]),
            plain,
        )),
        InvalidArgument,
        "MissingRoleSessionName",
    );
    assert_error(
        run(call_ram(
            &fake,
            "ListUsers",
            &Params::new([("MaxItems", "ten")]),
            plain,
        )),
        InvalidArgument,
        "InvalidParameter.MaxItems.Format",
    );
    assert_error(
        run(call_ram(
            &fake,
            "ListGroups",
            &Params::new([("MaxItems", "101")]),
            plain,
        )),
        InvalidArgument,
        "InvalidParameter.MaxItems.Range",
    );
    assert_error(
        run(call_ram(
            &fake,
            "ListUsers",
            &Params::new([("MaxItems", "0")]),
            plain,
        )),
        InvalidArgument,
        "InvalidParameter.MaxItems.Range",
    );
    let params = Params::new([
        ("RoleArn", "acs:ram::1234567890123456:role/ops"),
        ("RoleSessionName", "s1"),
        ("DurationSeconds", "-1"),
    ]);
    assert_error(
        run(call_sts(&fake, "AssumeRole", &params, plain)),
        InvalidArgument,
        "InvalidParameter.DurationSeconds.Format",
    );
    let params = Params::new([("PolicyName", "P"), ("CascadingDelete", "yes")]);
    assert_error(
        run(call_ram(&fake, "DeletePolicy", &params, plain)),
        InvalidArgument,
        "InvalidParameter.CascadingDelete.Format",
    );
    // Nothing reached the service.
    assert!(fake.calls.lock().unwrap().is_empty());
    // Secrets stay out of Debug.
    let params = Params::new([("Password", "Secret-123")]);
    assert!(!format!("{params:?}").contains("Secret-123"));
}

#[test]
fn actions_and_versions_route() {
    let fake = Fake::default();
    let params = everything();
    let call = |version: Option<&'static str>, action: Option<&'static str>| {
        run(super::call(&fake, &fake, version, action, &params, plain))
    };
    assert!(call(Some(RAM_VERSION), Some("GetUser")).is_ok());
    assert!(call(Some(STS_VERSION), Some("GetCallerIdentity")).is_ok());
    use tonic::Code::{InvalidArgument, NotFound};
    assert_error(
        call(Some(RAM_VERSION), None),
        InvalidArgument,
        "MissingAction",
    );
    assert_error(
        call(None, Some("GetUser")),
        InvalidArgument,
        "MissingVersion",
    );
    assert_error(
        call(Some("2019-08-15"), Some("GetUser")),
        InvalidArgument,
        "InvalidVersion",
    );
    // An action of the other API, one Tessera does not implement, or a gRPC-only one.
    for action in ["AssumeRole", "ChangePassword", "SignIn", "create_user"] {
        assert_error(
            call(Some(RAM_VERSION), Some(action)),
            NotFound,
            "InvalidAction.NotFound",
        );
    }
    assert_error(
        call(Some(STS_VERSION), Some("CreateUser")),
        NotFound,
        "InvalidAction.NotFound",
    );
    let error = AlibabaError::from_status(&call(Some(STS_VERSION), Some("GetJwks")).unwrap_err());
    assert_eq!(error.http_status, 404);
}

#[test]
fn responses_are_alibabas_json() {
    let fake = Fake::default();
    let alice = pb::User {
        user_id: "2220000000000001".into(),
        user_name: "alice".into(),
        display_name: "Alice".into(),
        create_date: ts(JAN_23),
        update_date: ts(JAN_23 + 60),
        ..Default::default()
    };
    fake.answer(
        "create_user",
        pb::UserResponse {
            user: Some(alice.clone()),
            revision: 7,
        },
    );
    let answer = run(call_ram(
        &fake,
        "CreateUser",
        &Params::new([("UserName", "alice")]),
        plain,
    ))
    .unwrap();
    assert_eq!(
        answer,
        json!({"User": {
            "UserId": "2220000000000001", "UserName": "alice", "DisplayName": "Alice",
            "CreateDate": "2015-01-23T12:33:18Z", "UpdateDate": "2015-01-23T12:34:18Z",
        }})
    );

    fake.answer(
        "list_users",
        pb::ListUsersResponse {
            users: vec![alice.clone()],
            is_truncated: true,
            marker: "alice".into(),
        },
    );
    let answer = run(call_ram(&fake, "ListUsers", &Params::default(), plain)).unwrap();
    assert_eq!(answer["Users"]["User"][0]["UserName"], "alice");
    assert_eq!(answer["IsTruncated"], true);
    assert_eq!(answer["Marker"], "alice");
    let answer = run(call_ram(&fake, "ListUsers", &Params::default(), plain)).unwrap();
    assert_eq!(answer, json!({"Users": {"User": []}, "IsTruncated": false}));

    fake.answer(
        "get_policy",
        pb::PolicyResponse {
            policy: Some(pb::Policy {
                policy_name: "ReadAll".into(),
                policy_type: "Custom".into(),
                default_version: "v1".into(),
                attachment_count: 2,
                create_date: ts(JAN_23),
                ..Default::default()
            }),
            default_policy_version: Some(pb::PolicyVersion {
                version_id: "v1".into(),
                is_default_version: true,
                policy_document: "{\"Version\":\"1\"}".into(),
                create_date: ts(JAN_23),
            }),
            revision: 0,
        },
    );
    let answer = run(call_ram(
        &fake,
        "GetPolicy",
        &Params::new([("PolicyName", "ReadAll"), ("PolicyType", "Custom")]),
        plain,
    ))
    .unwrap();
    assert_eq!(answer["Policy"]["AttachmentCount"], 2);
    assert_eq!(answer["Policy"]["PolicyDocument"], "{\"Version\":\"1\"}");
    assert_eq!(answer["DefaultPolicyVersion"]["IsDefaultVersion"], true);
    assert_eq!(answer["DefaultPolicyVersion"]["VersionId"], "v1");

    fake.answer(
        "create_access_key",
        pb::CreateAccessKeyResponse {
            access_key: Some(pb::AccessKey {
                access_key_id: "LTAIabc".into(),
                status: "Active".into(),
                create_date: ts(JAN_23),
            }),
            access_key_secret: "s3cret".into(),
            revision: 1,
        },
    );
    let answer = run(call_ram(
        &fake,
        "CreateAccessKey",
        &Params::default(),
        plain,
    ))
    .unwrap();
    assert_eq!(
        answer,
        json!({"AccessKey": {"AccessKeyId": "LTAIabc", "Status": "Active",
            "CreateDate": "2015-01-23T12:33:18Z", "AccessKeySecret": "s3cret"}})
    );

    fake.answer(
        "list_entities_for_policy",
        pb::ListEntitiesForPolicyResponse {
            users: vec![pb::AttachedEntity {
                name: "alice".into(),
                attach_date: ts(JAN_23),
            }],
            ..Default::default()
        },
    );
    let answer = run(call_ram(
        &fake,
        "ListEntitiesForPolicy",
        &Params::new([("PolicyName", "ReadAll"), ("PolicyType", "Custom")]),
        plain,
    ))
    .unwrap();
    assert_eq!(
        answer,
        json!({"Users": {"User": [{"UserName": "alice", "AttachDate": "2015-01-23T12:33:18Z"}]},
            "Groups": {"Group": []}, "Roles": {"Role": []}})
    );

    let mut summary = HashMap::new();
    summary.insert("Users".to_owned(), 3);
    fake.answer(
        "get_account_summary",
        pb::GetAccountSummaryResponse { summary },
    );
    let answer = run(call_ram(
        &fake,
        "GetAccountSummary",
        &Params::default(),
        plain,
    ))
    .unwrap();
    assert_eq!(answer, json!({"SummaryMap": {"Users": 3}}));

    // Operations that return only RequestId.
    let answer = run(call_ram(
        &fake,
        "DeleteUser",
        &Params::new([("UserName", "a")]),
        plain,
    ));
    assert_eq!(answer.unwrap(), json!({}));
}

#[test]
fn sts_responses_are_alibabas_json() {
    let fake = Fake::default();
    fake.answer(
        "assume_role",
        pb::AssumeRoleResponse {
            credentials: Some(pb::Credentials {
                access_key_id: "STS.abc".into(),
                access_key_secret: "secret".into(),
                security_token: "token".into(),
                // Sub-seconds never show: the format is exactly YYYY-MM-DDTHH:MM:SSZ.
                expiration: Some(prost_types::Timestamp {
                    seconds: JAN_23,
                    nanos: 500_000_000,
                }),
            }),
            assumed_role_user: Some(pb::AssumedRoleUser {
                arn: "acs:ram::1234567890123456:assumed-role/ops/s1".into(),
                assumed_role_id: "300:s1".into(),
            }),
            source_identity: String::new(),
        },
    );
    let params = Params::new([
        ("RoleArn", "acs:ram::1234567890123456:role/ops"),
        ("RoleSessionName", "s1"),
    ]);
    let answer = run(call_sts(&fake, "AssumeRole", &params, plain)).unwrap();
    assert_eq!(
        answer,
        json!({
            "Credentials": {"AccessKeyId": "STS.abc", "AccessKeySecret": "secret",
                "SecurityToken": "token", "Expiration": "2015-01-23T12:33:18Z"},
            "AssumedRoleUser": {"Arn": "acs:ram::1234567890123456:assumed-role/ops/s1",
                "AssumedRoleId": "300:s1"},
        })
    );

    fake.answer(
        "get_caller_identity",
        pb::GetCallerIdentityResponse {
            principal: Some(pb::Principal {
                arn: "acs:ram::1234567890123456:user/alice".into(),
                account_id: "1234567890123456".into(),
                identity_type: "RAMUser".into(),
                principal_id: "222".into(),
            }),
            user_id: "222".into(),
            role_id: String::new(),
        },
    );
    let answer = run(call_sts(
        &fake,
        "GetCallerIdentity",
        &Params::default(),
        plain,
    ))
    .unwrap();
    assert_eq!(
        answer,
        json!({"IdentityType": "RAMUser", "AccountId": "1234567890123456",
            "PrincipalId": "222", "Arn": "acs:ram::1234567890123456:user/alice",
            "UserId": "222"})
    );
}

#[test]
fn oidc_requests_and_responses_are_alibabas() {
    let fake = Fake::default();
    let params = Params::new([
        ("OIDCProviderName", "k8s"),
        ("IssuerUrl", "https://issuer.example"),
        ("ClientIds", "sts.aliyuncs.com, web,,web"),
        ("Fingerprints", "902EF2DEEB3C5B13EA4C3D5193629309E231AE55"),
        ("IssuanceLimitTime", "6"),
    ]);
    run(call_ram(&fake, "CreateOIDCProvider", &params, plain)).unwrap();
    let (method, message, _) = fake.last();
    assert_eq!(method, "create_oidc_provider");
    assert!(
        message.contains(r#"client_ids: ["sts.aliyuncs.com", "web"]"#),
        "{message}"
    );
    assert!(message.contains("issuance_limit_time: 6"), "{message}");
    // UpdateOIDCProvider: ClientIds given replaces them all; absent leaves them.
    run(call_ram(
        &fake,
        "UpdateOIDCProvider",
        &Params::new([("OIDCProviderName", "k8s"), ("ClientIds", "a,b")]),
        plain,
    ))
    .unwrap();
    assert!(
        fake.last().1.contains(r#"items: ["a", "b"]"#),
        "{}",
        fake.last().1
    );
    run(call_ram(
        &fake,
        "UpdateOIDCProvider",
        &Params::new([("OIDCProviderName", "k8s")]),
        plain,
    ))
    .unwrap();
    assert!(
        fake.last().1.contains("client_ids: None"),
        "{}",
        fake.last().1
    );

    let provider = pb::OidcProvider {
        oidc_provider_name: "k8s".into(),
        arn: "acs:ram::1234567890123456:oidc-provider/k8s".into(),
        issuer_url: "https://issuer.example".into(),
        client_ids: vec!["sts.aliyuncs.com".into(), "web".into()],
        fingerprints: vec!["902ef2deeb3c5b13ea4c3d5193629309e231ae55".into()],
        description: String::new(),
        issuance_limit_time: 6,
        create_date: ts(JAN_23),
        update_date: ts(JAN_23),
    };
    let rendered = json!({
        "OIDCProviderName": "k8s",
        "Arn": "acs:ram::1234567890123456:oidc-provider/k8s",
        "IssuerUrl": "https://issuer.example",
        "ClientIds": "sts.aliyuncs.com,web",
        "Fingerprints": "902ef2deeb3c5b13ea4c3d5193629309e231ae55",
        "IssuanceLimitTime": 6,
        "CreateDate": "2015-01-23T12:33:18Z",
        "UpdateDate": "2015-01-23T12:33:18Z",
    });
    fake.answer(
        "get_oidc_provider",
        pb::OidcProviderResponse {
            oidc_provider: Some(provider.clone()),
            revision: 0,
        },
    );
    let answer = run(call_ram(&fake, "GetOIDCProvider", &params, plain)).unwrap();
    assert_eq!(answer, json!({ "OIDCProvider": rendered.clone() }));
    fake.answer(
        "list_oidc_providers",
        pb::ListOidcProvidersResponse {
            oidc_providers: vec![provider],
            is_truncated: false,
            marker: String::new(),
        },
    );
    let answer = run(call_ram(&fake, "ListOIDCProviders", &params, plain)).unwrap();
    assert_eq!(
        answer,
        json!({"OIDCProviders": {"OIDCProvider": [rendered]}, "IsTruncated": false})
    );

    fake.answer(
        "assume_role_with_oidc",
        pb::AssumeRoleWithOidcResponse {
            credentials: Some(pb::Credentials {
                access_key_id: "STS.abc".into(),
                access_key_secret: "secret".into(),
                security_token: "token".into(),
                expiration: ts(JAN_23),
            }),
            assumed_role_user: Some(pb::AssumedRoleUser {
                arn: "acs:ram::1234567890123456:assumed-role/ops/pod".into(),
                assumed_role_id: "300:pod".into(),
            }),
            oidc_token_info: Some(pb::OidcTokenInfo {
                subject: "system:serviceaccount:ns:sa".into(),
                issuer: "https://issuer.example".into(),
                client_ids: vec!["sts.aliyuncs.com".into()],
                expiration_time: ts(JAN_23),
                issuance_time: ts(JAN_23 - 60),
                verification_info: "Success".into(),
            }),
        },
    );
    let params = Params::new([
        (
            "OIDCProviderArn",
            "acs:ram::1234567890123456:oidc-provider/k8s",
        ),
        ("RoleArn", "acs:ram::1234567890123456:role/ops"),
        ("OIDCToken", "eyJ.x.y"),
        ("RoleSessionName", "pod"),
        ("DurationSeconds", "900"),
    ]);
    let answer = run(call_sts(&fake, "AssumeRoleWithOIDC", &params, plain)).unwrap();
    let (_, message, _) = fake.last();
    assert!(!message.contains("eyJ"), "the token is redacted: {message}");
    assert!(message.contains("duration_seconds: 900"), "{message}");
    assert_eq!(
        answer,
        json!({
            "Credentials": {"AccessKeyId": "STS.abc", "AccessKeySecret": "secret",
                "SecurityToken": "token", "Expiration": "2015-01-23T12:33:18Z"},
            "AssumedRoleUser": {"Arn": "acs:ram::1234567890123456:assumed-role/ops/pod",
                "AssumedRoleId": "300:pod"},
            "OIDCTokenInfo": {"Subject": "system:serviceaccount:ns:sa",
                "Issuer": "https://issuer.example", "ClientIds": "sts.aliyuncs.com",
                "ExpirationTime": "2015-01-23T12:33:18Z",
                "IssuanceTime": "2015-01-23T12:32:18Z", "VerificationInfo": "Success"},
        })
    );
    let missing = Params::new([("RoleArn", "acs:ram::1234567890123456:role/ops")]);
    assert_error(
        run(call_sts(&fake, "AssumeRoleWithOIDC", &missing, plain)),
        tonic::Code::InvalidArgument,
        "MissingOIDCProviderArn",
    );
}

#[test]
fn statuses_become_alibaba_errors() {
    use tessera_iam::Entity;
    let cases = [
        (
            status(&Error::not_exist(Entity::User)),
            404,
            "EntityNotExist.User",
        ),
        (status(&Error::missing("UserName")), 400, "MissingUserName"),
        (
            status(&Error::already_exists(Entity::Role)),
            409,
            "EntityAlreadyExists.Role",
        ),
        (
            status(&Error::limit_exceeded(Entity::AccessKey, 2)),
            409,
            "LimitExceeded.User.AccessKey",
        ),
        (
            status(&Error::delete_conflict("User.Group", "x")),
            409,
            "DeleteConflict.User.Group",
        ),
        (status(&Error::no_permission("nope")), 403, "NoPermission"),
        (status(&Error::internal()), 500, "InternalError"),
        (
            status(&Error::unavailable("down")),
            503,
            "ServiceUnavailable",
        ),
        (
            status(&Error::invalid_action()),
            404,
            "InvalidAction.NotFound",
        ),
        // Authentication, as the authenticator writes it (code in the message and metadata).
        (
            Status::unauthenticated(
                "SignatureDoesNotMatch: Specified signature is not matched with our calculation.",
            ),
            400,
            "SignatureDoesNotMatch",
        ),
        (
            Status::unauthenticated(
                "InvalidAccessKeyId.NotFound: Specified access key is not found.",
            ),
            404,
            "InvalidAccessKeyId.NotFound",
        ),
        (
            Status::unauthenticated(
                "InvalidTimeStamp.Expired: Specified time stamp or date value is expired.",
            ),
            400,
            "InvalidTimeStamp.Expired",
        ),
        (
            Status::unauthenticated(
                "SignatureNonceUsed: Specified signature nonce was used already.",
            ),
            400,
            "SignatureNonceUsed",
        ),
        (
            Status::unauthenticated(
                "InvalidSecurityToken.Expired: The security token has expired.",
            ),
            400,
            "InvalidSecurityToken.Expired",
        ),
        (
            status(&Error::sign_in_failed()),
            403,
            "AuthenticationFail.Password",
        ),
        // Statuses without a code: a generic one for the gRPC code.
        (Status::internal("boom"), 500, "InternalError"),
        (
            Status::unavailable("connection refused"),
            503,
            "ServiceUnavailable",
        ),
    ];
    for (status, http, code) in cases {
        let error = AlibabaError::from_status(&status);
        assert_eq!(
            (error.http_status, error.code.as_str()),
            (http, code),
            "{status:?}"
        );
        assert!(!error.message.starts_with(code), "{error:?}");
        assert_eq!(error.retry_after_ms, None);
    }
    let error = AlibabaError::from_status(&Status::internal("boom"));
    assert_eq!(error.message, "boom");
    let error = AlibabaError::from_status(&status(&Error::not_exist(Entity::User)));
    assert_eq!(error.message, "The user does not exist.");
    let body = error.body("5A1F-REQ", "127.0.0.1:7733");
    assert_eq!(body["RequestId"], "5A1F-REQ");
    assert_eq!(body["HostId"], "127.0.0.1:7733");
    assert_eq!(body["Code"], "EntityNotExist.User");
    assert_eq!(body["Message"], "The user does not exist.");
    assert!(body["Recommend"].as_str().unwrap().contains("5A1F-REQ"));
    assert_eq!(body.as_object().unwrap().len(), 5);
}

#[test]
fn rate_limits_are_throttling_with_a_retry_hint() {
    // A rate limiter's status, with and without a hint; a quota is not throttling.
    let mut limited = Status::resource_exhausted("RateLimited: too many AssumeRole calls");
    limited
        .metadata_mut()
        .insert(RETRY_AFTER_METADATA, "250".parse().unwrap());
    let error = AlibabaError::from_status(&limited);
    assert_eq!(error.code, "Throttling.User");
    assert_eq!(error.http_status, 429);
    assert_eq!(
        error.message,
        "Request was denied due to user flow control."
    );
    assert_eq!(error.retry_after_ms, Some(250));

    let bare = AlibabaError::from_status(&Status::resource_exhausted("slow down"));
    assert_eq!(bare.code, "Throttling.User");
    assert_eq!(bare.retry_after_ms, Some(DEFAULT_RETRY_AFTER_MS));

    let mut seconds = status(&Error::throttling_user());
    seconds
        .metadata_mut()
        .insert("retry-after", "3".parse().unwrap());
    let error = AlibabaError::from_status(&seconds);
    assert_eq!(error.code, "Throttling.User");
    assert_eq!(error.retry_after_ms, Some(3000));

    let api = AlibabaError::from_status(&Status::resource_exhausted(
        "Throttling.Api: Request was denied due to api flow control.",
    ));
    assert_eq!(api.code, "Throttling.Api");
    assert_eq!(api.message, "Request was denied due to api flow control.");

    let quota = AlibabaError::from_status(&status(&Error::limit_exceeded(
        tessera_iam::Entity::User,
        5000,
    )));
    assert_eq!((quota.http_status, quota.retry_after_ms), (409, None));
}

#[test]
fn dates_are_whole_seconds_in_utc() {
    assert_eq!(
        format_date(&prost_types::Timestamp {
            seconds: JAN_23,
            nanos: 999_999_999
        })
        .as_deref(),
        Some("2015-01-23T12:33:18Z")
    );
    assert_eq!(
        format_date(&prost_types::Timestamp {
            seconds: i64::MAX,
            nanos: 0
        }),
        None
    );
}

#[test]
fn every_action_describes_its_parameters() {
    use super::{ParameterKind, parameters};
    for action in super::RAM_ACTIONS {
        assert!(parameters("ram", action).is_some(), "{action}");
    }
    for action in super::STS_ACTIONS {
        assert!(parameters("sts", action).is_some(), "{action}");
    }
    let create = parameters("ram", "CreateRole").unwrap();
    let find = |name: &str| create.iter().find(|p| p.name == name).unwrap();
    assert!(find("RoleName").required && find("AssumeRolePolicyDocument").required);
    assert!(!find("Description").required);
    assert_eq!(find("MaxSessionDuration").kind, ParameterKind::Integer);
    assert_eq!(parameters("ram", "NoSuchAction"), None);
    assert_eq!(parameters("oss", "CreateUser"), None);
}
