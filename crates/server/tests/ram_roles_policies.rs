#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! The `tessera.v1.Ram` service's roles, policies, policy versions and attachments end to end:
//! `tessera_server::run` on 127.0.0.1:0, called with the generated `RamClient` over signed
//! channels (the operator account's root, users' keys, a role session's bearer token). Every
//! scenario runs on SQLite and on PostgreSQL.
//!
//! Scenarios: [`roles`] (CRUD, paging, quota, RAM's errors), [`policies`] (CRUD, versions,
//! rotation, read-only system policies), [`attachments`] (attach/detach to users, groups,
//! roles, the lists, conflicts, quota), [`authorization`] (refusals, scoped grants,
//! delegated attaching, tenant isolation) and [`effects`] (what attaching, detaching, a new
//! default version and `RevokeRoleSessions` change for the callers they concern).

mod support;

use std::future::Future;
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use support::{Backend, ClientCredential, SignedChannel, TestServer, assert_code};
use tessera_credentials::sts::new_access_key_id;
use tessera_credentials::token::new_token_id;
use tessera_credentials::{SessionClaims, SigningKey};
use tessera_proto::v1 as pb;
use tessera_proto::v1::ram_client::RamClient;
use tessera_store::{AccountStore as _, QuotaName, SystemStore as _};
use tonic::{Code, Status};

type Ram = RamClient<SignedChannel>;

const TRUST: &str = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":["acs:ram::1234567890123456:root"]}}]}"#;
const OTHER_TRUST: &str = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":["ecs.aliyuncs.com"]}}]}"#;

/// Runs `$scenario(&TestServer)` once on SQLite and once on PostgreSQL.
macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let server = TestServer::start(Backend::Sqlite, stringify!($scenario)).await;
                super::$scenario(&server).await;
                server.stop().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgresql() {
                let server = TestServer::start(Backend::Postgres, stringify!($scenario)).await;
                super::$scenario(&server).await;
                server.stop().await;
            }
        }
    )*};
}

on_both_backends!(roles, policies, attachments, authorization, effects);

// --- helpers ---

fn allow(actions: &[&str], resources: &[&str]) -> String {
    serde_json::json!({
        "Version": "1",
        "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resources}],
    })
    .to_string()
}

/// Asserts `result` failed with `grpc`/`code` and a message containing `fragment` (a policy
/// error's `line:column`).
#[track_caller]
fn assert_message<T: std::fmt::Debug>(
    result: Result<T, Status>,
    grpc: Code,
    code: &str,
    fragment: &str,
) {
    let status = result.expect_err("the call should fail");
    assert_eq!(status.code(), grpc, "{status:?}");
    assert!(
        status.message().starts_with(&format!("{code}: ")) && status.message().contains(fragment),
        "expected {code}: …{fragment}…, got {status:?}"
    );
}

/// Polls `check` until it returns `want`; the change feed evicts cached principals
/// asynchronously, so effects are awaited with a deadline, never a fixed sleep.
async fn eventually<F, Fut>(what: &str, want: bool, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    while check().await != want {
        assert!(Instant::now() < deadline, "not within 10 s: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn list_users_allowed(ram: &Ram) -> bool {
    match ram.clone().list_users(pb::ListRequest::default()).await {
        Ok(_) => true,
        Err(s) if s.code() == Code::PermissionDenied => false,
        Err(s) => panic!("ListUsers: {s:?}"),
    }
}

async fn list_roles_allowed(ram: &Ram) -> bool {
    match ram.clone().list_roles(pb::ListRequest::default()).await {
        Ok(_) => true,
        Err(s) if s.code() == Code::PermissionDenied => false,
        Err(s) => panic!("ListRoles: {s:?}"),
    }
}

async fn get_role_allowed(ram: &Ram, name: &str) -> bool {
    match ram
        .clone()
        .get_role(pb::GetRoleRequest {
            role_name: name.into(),
        })
        .await
    {
        Ok(_) => true,
        Err(s) if s.code() == Code::PermissionDenied => false,
        Err(s) => panic!("GetRole: {s:?}"),
    }
}

async fn create_role(ram: &mut Ram, name: &str) -> pb::Role {
    ram.create_role(pb::CreateRoleRequest {
        role_name: name.into(),
        assume_role_policy_document: TRUST.into(),
        ..Default::default()
    })
    .await
    .unwrap()
    .into_inner()
    .role
    .unwrap()
}

async fn create_user(ram: &mut Ram, name: &str) {
    ram.create_user(pb::CreateUserRequest {
        user_name: name.into(),
        ..Default::default()
    })
    .await
    .unwrap();
}

async fn create_policy(ram: &mut Ram, name: &str, document: &str) -> pb::PolicyResponse {
    ram.create_policy(pb::CreatePolicyRequest {
        policy_name: name.into(),
        policy_document: document.into(),
        description: String::new(),
    })
    .await
    .unwrap()
    .into_inner()
}

fn attachment(
    kind: pb::TargetKind,
    target: &str,
    policy: &str,
    policy_type: &str,
) -> pb::AttachmentRequest {
    pb::AttachmentRequest {
        target_kind: kind.into(),
        target_name: target.into(),
        policy_name: policy.into(),
        policy_type: policy_type.into(),
    }
}

fn policy_ref(name: &str, policy_type: &str) -> pb::PolicyRef {
    pb::PolicyRef {
        policy_name: name.into(),
        policy_type: policy_type.into(),
    }
}

fn version_ref(name: &str, version: &str) -> pb::PolicyVersionRef {
    pb::PolicyVersionRef {
        policy_name: name.into(),
        policy_type: "Custom".into(),
        version_id: version.into(),
    }
}

fn new_version(
    name: &str,
    document: &str,
    default: bool,
    rotate: &str,
) -> pb::CreatePolicyVersionRequest {
    pb::CreatePolicyVersionRequest {
        policy_name: name.into(),
        policy_document: document.into(),
        set_as_default: default,
        rotate_strategy: rotate.into(),
    }
}

fn page(marker: &str, max_items: u32) -> pb::ListRequest {
    pb::ListRequest {
        page: Some(pb::Page {
            marker: marker.into(),
            max_items,
        }),
    }
}

/// A user `name` in the operator account with an access key; a client signed with it.
async fn user_client(server: &TestServer, root: &mut Ram, name: &str) -> Ram {
    create_user(root, name).await;
    let (_, _, channel) = server.key_for(&server.operator, Some(name)).await;
    RamClient::new(channel)
}

// --- scenarios ---

/// CreateRole, GetRole, UpdateRole, DeleteRole, ListRoles, RevokeRoleSessions and their errors.
async fn roles(server: &TestServer) {
    let mut ram = RamClient::new(server.root.clone());
    let account = server.operator.as_str();

    // CreateRole answers with the ARN, the id, the trust policy as given, the duration.
    let created = ram
        .create_role(pb::CreateRoleRequest {
            role_name: "Deployer".into(),
            assume_role_policy_document: TRUST.into(),
            description: "deploys".into(),
            max_session_duration: 7200,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(created.revision > 0);
    let deployer = created.role.unwrap();
    assert_eq!(deployer.role_name, "Deployer");
    assert_eq!(deployer.arn, format!("acs:ram::{account}:role/Deployer"));
    assert!(!deployer.role_id.is_empty());
    assert_eq!(deployer.description, "deploys");
    assert_eq!(deployer.assume_role_policy_document, TRUST);
    assert_eq!(deployer.max_session_duration, 7200);
    assert!(deployer.create_date.is_some());
    assert_eq!(deployer.create_date, deployer.update_date);
    // 0 means the default, 3,600 s; the bounds are accepted.
    assert_eq!(
        create_role(&mut ram, "Reader").await.max_session_duration,
        3600
    );
    for (name, seconds) in [("Short", 3600), ("Long", 43200)] {
        let role = ram
            .create_role(pb::CreateRoleRequest {
                role_name: name.into(),
                assume_role_policy_document: TRUST.into(),
                max_session_duration: seconds,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .role
            .unwrap();
        assert_eq!(role.max_session_duration, seconds);
    }

    // CreateRole's parameter errors.
    let create =
        |name: &str, document: &str, seconds: u32, description: &str| pb::CreateRoleRequest {
            role_name: name.into(),
            assume_role_policy_document: document.into(),
            description: description.into(),
            max_session_duration: seconds,
        };
    let invalid = Code::InvalidArgument;
    assert_code(
        ram.create_role(create("", TRUST, 0, "")).await,
        invalid,
        "MissingRoleName",
    );
    assert_code(
        ram.create_role(create("bad_name", TRUST, 0, "")).await,
        invalid,
        "InvalidParameter.RoleName.InvalidChars",
    );
    assert_code(
        ram.create_role(create(&"r".repeat(65), TRUST, 0, "")).await,
        invalid,
        "InvalidParameter.RoleName.Length",
    );
    assert_code(
        ram.create_role(create("NoTrust", "", 0, "")).await,
        invalid,
        "MissingAssumeRolePolicyDocument",
    );
    for seconds in [3599, 43201] {
        assert_code(
            ram.create_role(create("Odd", TRUST, seconds, "")).await,
            invalid,
            "InvalidParameter.MaxSessionDuration.Range",
        );
    }
    assert_code(
        ram.create_role(create("Wordy", TRUST, 0, &"d".repeat(1025)))
            .await,
        invalid,
        "InvalidParameter.Description.Length",
    );
    // Trust-policy errors are located in the document (line:column).
    let broken = "{\"Version\":\"1\",\n\"Statement\":[{\"Effect\":\"Allow\",]}";
    assert_message(
        ram.create_role(create("Broken", broken, 0, "")).await,
        invalid,
        "MalformedPolicyDocument",
        "2:32: ",
    );
    let no_principal = "{\"Version\":\"1\",\n\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"sts:AssumeRole\"}]}";
    assert_message(
        ram.create_role(create("NoPrincipal", no_principal, 0, ""))
            .await,
        invalid,
        "MalformedPolicyDocument",
        "2:14: ",
    );
    // Names are unique case-insensitively.
    assert_code(
        ram.create_role(create("DEPLOYER", TRUST, 0, "")).await,
        Code::AlreadyExists,
        "EntityAlreadyExists.Role",
    );

    // GetRole resolves names case-insensitively.
    let got = ram
        .get_role(pb::GetRoleRequest {
            role_name: "deployer".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .role
        .unwrap();
    assert_eq!(got, deployer);
    assert_code(
        ram.get_role(pb::GetRoleRequest {
            role_name: "Nobody".into(),
        })
        .await,
        Code::NotFound,
        "EntityNotExist.Role",
    );
    assert_code(
        ram.get_role(pb::GetRoleRequest::default()).await,
        invalid,
        "MissingRoleName",
    );

    // UpdateRole changes only what it is given.
    let update = |trust: Option<&str>, description: Option<&str>, seconds: Option<u32>| {
        pb::UpdateRoleRequest {
            role_name: "Deployer".into(),
            new_assume_role_policy_document: trust.map(Into::into),
            new_description: description.map(Into::into),
            new_max_session_duration: seconds,
        }
    };
    let updated = ram
        .update_role(update(Some(OTHER_TRUST), None, Some(43200)))
        .await
        .unwrap()
        .into_inner();
    assert!(updated.revision > created.revision);
    let updated = updated.role.unwrap();
    assert_eq!(updated.assume_role_policy_document, OTHER_TRUST);
    assert_eq!(updated.max_session_duration, 43200);
    assert_eq!(updated.description, "deploys");
    assert_eq!(updated.role_id, deployer.role_id);
    assert_eq!(updated.create_date, deployer.create_date);
    let updated = ram
        .update_role(update(None, Some("ships"), None))
        .await
        .unwrap()
        .into_inner()
        .role
        .unwrap();
    assert_eq!(
        (updated.description.as_str(), updated.max_session_duration),
        ("ships", 43200)
    );
    assert_eq!(updated.assume_role_policy_document, OTHER_TRUST);
    assert_message(
        ram.update_role(update(Some(broken), None, None)).await,
        invalid,
        "MalformedPolicyDocument",
        "2:32: ",
    );
    assert_code(
        ram.update_role(update(None, None, Some(60))).await,
        invalid,
        "InvalidParameter.MaxSessionDuration.Range",
    );
    assert_code(
        ram.update_role(pb::UpdateRoleRequest {
            role_name: "Nobody".into(),
            new_description: Some("x".into()),
            ..Default::default()
        })
        .await,
        Code::NotFound,
        "EntityNotExist.Role",
    );
    // A refused update changed nothing.
    let unchanged = ram
        .get_role(pb::GetRoleRequest {
            role_name: "Deployer".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .role
        .unwrap();
    assert_eq!(unchanged, updated);

    // ListRoles pages by name, case-insensitively: Deployer, Long, Reader, Short.
    let first = ram.list_roles(page("", 3)).await.unwrap().into_inner();
    let names = |roles: &[pb::Role]| {
        roles
            .iter()
            .map(|r| r.role_name.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&first.roles), ["Deployer", "Long", "Reader"]);
    assert!(first.is_truncated);
    assert!(!first.marker.is_empty());
    assert_eq!(
        first.roles[0].arn,
        format!("acs:ram::{account}:role/Deployer")
    );
    let rest = ram
        .list_roles(page(&first.marker, 3))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(names(&rest.roles), ["Short"]);
    assert!(!rest.is_truncated);
    assert_eq!(rest.marker, "");
    let all = ram
        .list_roles(pb::ListRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.roles.len(), 4);
    assert!(!all.is_truncated);

    // The role quota.
    server
        .store
        .set_account_quota(&server.operator, QuotaName::Roles, Some(4))
        .await
        .unwrap();
    assert_code(
        ram.create_role(create("Fifth", TRUST, 0, "")).await,
        Code::ResourceExhausted,
        "LimitExceeded.Role",
    );
    server
        .store
        .set_account_quota(&server.operator, QuotaName::Roles, None)
        .await
        .unwrap();
    create_role(&mut ram, "Fifth").await;

    // RevokeRoleSessions answers with the role; the role's UpdateDate is not RAM's to move.
    let revoked = ram
        .revoke_role_sessions(pb::GetRoleRequest {
            role_name: "deployer".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(revoked.revision > 0);
    assert_eq!(revoked.role.unwrap(), updated);
    assert_code(
        ram.revoke_role_sessions(pb::GetRoleRequest {
            role_name: "Nobody".into(),
        })
        .await,
        Code::NotFound,
        "EntityNotExist.Role",
    );

    // DeleteRole refuses while a policy is attached.
    ram.attach_policy(attachment(
        pb::TargetKind::Role,
        "Deployer",
        "ReadOnlyAccess",
        "System",
    ))
    .await
    .unwrap();
    let delete = |name: &str| pb::GetRoleRequest {
        role_name: name.into(),
    };
    assert_code(
        ram.delete_role(delete("Deployer")).await,
        Code::FailedPrecondition,
        "DeleteConflict.Role.Policy",
    );
    ram.detach_policy(attachment(
        pb::TargetKind::Role,
        "Deployer",
        "ReadOnlyAccess",
        "System",
    ))
    .await
    .unwrap();
    let deleted = ram
        .delete_role(delete("Deployer"))
        .await
        .unwrap()
        .into_inner();
    assert!(deleted.revision > revoked.revision);
    assert_code(
        ram.get_role(delete("Deployer")).await,
        Code::NotFound,
        "EntityNotExist.Role",
    );
    assert_code(
        ram.delete_role(delete("Deployer")).await,
        Code::NotFound,
        "EntityNotExist.Role",
    );
    assert_code(
        ram.delete_role(delete("")).await,
        invalid,
        "MissingRoleName",
    );
}

/// CreatePolicy … DeletePolicy, the versions, rotation, read-only system policies.
async fn policies(server: &TestServer) {
    let mut ram = RamClient::new(server.root.clone());
    let invalid = Code::InvalidArgument;
    let v1_doc = allow(&["ram:ListUsers"], &["*"]);

    // CreatePolicy answers with the policy and its default version v1.
    let created = ram
        .create_policy(pb::CreatePolicyRequest {
            policy_name: "Ops".into(),
            policy_document: v1_doc.clone(),
            description: "operations".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(created.revision > 0);
    let ops = created.policy.clone().unwrap();
    assert_eq!(ops.policy_name, "Ops");
    assert_eq!(ops.policy_type, "Custom");
    assert_eq!(ops.description, "operations");
    assert_eq!(ops.default_version, "v1");
    assert_eq!(ops.attachment_count, 0);
    assert!(ops.create_date.is_some());
    let v1 = created.default_policy_version.unwrap();
    assert_eq!(
        (
            v1.version_id.as_str(),
            v1.is_default_version,
            v1.policy_document.as_str()
        ),
        ("v1", true, v1_doc.as_str())
    );

    // CreatePolicy's errors.
    let create = |name: &str, document: &str| pb::CreatePolicyRequest {
        policy_name: name.into(),
        policy_document: document.into(),
        description: String::new(),
    };
    assert_code(
        ram.create_policy(create("", &v1_doc)).await,
        invalid,
        "MissingPolicyName",
    );
    assert_code(
        ram.create_policy(create("bad_name", &v1_doc)).await,
        invalid,
        "InvalidParameter.PolicyName.InvalidChars",
    );
    assert_code(
        ram.create_policy(create(&"p".repeat(129), &v1_doc)).await,
        invalid,
        "InvalidParameter.PolicyName.Length",
    );
    assert_code(
        ram.create_policy(create("Empty", "")).await,
        invalid,
        "MissingPolicyDocument",
    );
    let broken =
        "{\"Version\":\"1\",\n  \"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"ram:GetUser\"}]}";
    assert_message(
        ram.create_policy(create("NoResource", broken)).await,
        invalid,
        "MalformedPolicyDocument",
        "2:16: ",
    );
    assert_message(
        ram.create_policy(create(
            "NotJson",
            "{\"Version\":\"1\",\n\n  \"Statement\": [",
        ))
        .await,
        invalid,
        "MalformedPolicyDocument",
        "3:16: ",
    );
    assert_code(
        ram.create_policy(create(
            "Big",
            &allow(&["ram:GetUser"], &[&"x".repeat(7000)]),
        ))
        .await,
        invalid,
        "InvalidParameter.PolicyDocument.Length",
    );
    assert_code(
        ram.create_policy(create("OPS", &v1_doc)).await,
        Code::AlreadyExists,
        "EntityAlreadyExists.Policy",
    );
    // A custom policy cannot take a system policy's name.
    assert_code(
        ram.create_policy(create("readonlyaccess", &v1_doc)).await,
        Code::AlreadyExists,
        "EntityAlreadyExists.Policy",
    );

    // GetPolicy: custom and system, with the default version's document.
    let got = ram
        .get_policy(policy_ref("ops", "Custom"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.policy.unwrap(), ops);
    assert_eq!(got.default_policy_version.unwrap().policy_document, v1_doc);
    let system = ram
        .get_policy(policy_ref("ReadOnlyAccess", "System"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(system.policy.as_ref().unwrap().policy_type, "System");
    assert!(
        system
            .default_policy_version
            .unwrap()
            .policy_document
            .contains("*:Get*")
    );
    assert_code(
        ram.get_policy(policy_ref("Ops", "")).await,
        invalid,
        "MissingPolicyType",
    );
    assert_code(
        ram.get_policy(policy_ref("Ops", "custom")).await,
        invalid,
        "InvalidParameter.PolicyType",
    );
    assert_code(
        ram.get_policy(policy_ref("", "Custom")).await,
        invalid,
        "MissingPolicyName",
    );
    assert_code(
        ram.get_policy(policy_ref("Nope", "Custom")).await,
        Code::NotFound,
        "EntityNotExist.Policy",
    );
    // The type is part of the identity: a system policy is not a custom one.
    assert_code(
        ram.get_policy(policy_ref("ReadOnlyAccess", "Custom")).await,
        Code::NotFound,
        "EntityNotExist.Policy",
    );
    assert_code(
        ram.get_policy(policy_ref("Ops", "System")).await,
        Code::NotFound,
        "EntityNotExist.Policy",
    );

    // ListPolicies: a type filter, and paging over both types (custom first).
    create_policy(&mut ram, "Audit", &allow(&["ram:Get*"], &["*"])).await;
    let list = |policy_type: &str, marker: &str, max_items: u32| pb::ListPoliciesRequest {
        policy_type: policy_type.into(),
        page: Some(pb::Page {
            marker: marker.into(),
            max_items,
        }),
    };
    let custom = ram
        .list_policies(list("Custom", "", 0))
        .await
        .unwrap()
        .into_inner();
    let names = |p: &[pb::Policy]| p.iter().map(|p| p.policy_name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&custom.policies), ["Audit", "Ops"]);
    let systems = ram
        .list_policies(list("System", "", 1000))
        .await
        .unwrap()
        .into_inner();
    assert!(systems.policies.iter().all(|p| p.policy_type == "System"));
    for name in [
        "AdministratorAccess",
        "ReadOnlyAccess",
        "AliyunRAMFullAccess",
    ] {
        assert!(names(&systems.policies).iter().any(|n| n == name), "{name}");
    }
    let mut walked = Vec::new();
    let mut marker = String::new();
    loop {
        let listed = ram
            .list_policies(list("", &marker, 2))
            .await
            .unwrap()
            .into_inner();
        assert!(listed.policies.len() <= 2);
        walked.extend(listed.policies);
        if !listed.is_truncated {
            break;
        }
        marker = listed.marker;
    }
    assert_eq!(walked.len(), 2 + systems.policies.len());
    assert_eq!(names(&walked[..2]), ["Audit", "Ops"]);
    assert_eq!(walked[2..], systems.policies[..]);
    assert_code(
        ram.list_policies(list("Both", "", 0)).await,
        invalid,
        "InvalidParameter.PolicyType",
    );

    // UpdatePolicyDescription; system policies are read-only.
    let describe = |name: &str, description: &str| pb::UpdatePolicyDescriptionRequest {
        policy_name: name.into(),
        new_description: description.into(),
    };
    let described = ram
        .update_policy_description(describe("Ops", "day-to-day operations"))
        .await
        .unwrap()
        .into_inner();
    assert!(described.revision > created.revision);
    assert_eq!(
        described.policy.unwrap().description,
        "day-to-day operations"
    );
    assert_code(
        ram.update_policy_description(describe("ReadOnlyAccess", "mine"))
            .await,
        Code::PermissionDenied,
        "NoPermission",
    );
    assert_code(
        ram.update_policy_description(describe("Nope", "x")).await,
        Code::NotFound,
        "EntityNotExist.Policy",
    );
    assert_code(
        ram.update_policy_description(describe("Ops", &"d".repeat(1025)))
            .await,
        invalid,
        "InvalidParameter.Description.Length",
    );

    // CreatePolicyVersion: not the default unless asked.
    let v2_doc = allow(&["ram:ListRoles"], &["*"]);
    let v2 = ram
        .create_policy_version(new_version("Ops", &v2_doc, false, ""))
        .await
        .unwrap()
        .into_inner();
    assert!(v2.revision > 0);
    let v2 = v2.policy_version.unwrap();
    assert_eq!(
        (
            v2.version_id.as_str(),
            v2.is_default_version,
            v2.policy_document.as_str()
        ),
        ("v2", false, v2_doc.as_str())
    );
    let default_of = |got: pb::PolicyResponse| got.policy.unwrap().default_version;
    assert_eq!(
        default_of(
            ram.get_policy(policy_ref("Ops", "Custom"))
                .await
                .unwrap()
                .into_inner()
        ),
        "v1"
    );
    let fetched = ram
        .get_policy_version(version_ref("Ops", "v2"))
        .await
        .unwrap()
        .into_inner()
        .policy_version
        .unwrap();
    assert_eq!(fetched, v2);
    let system_v1 = ram
        .get_policy_version(pb::PolicyVersionRef {
            policy_name: "ReadOnlyAccess".into(),
            policy_type: "System".into(),
            version_id: "v1".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .policy_version
        .unwrap();
    assert!(system_v1.is_default_version);

    // SetDefaultPolicyVersion.
    let set = ram
        .set_default_policy_version(version_ref("Ops", "v2"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(set.policy.unwrap().default_version, "v2");
    let got = ram
        .get_policy(policy_ref("Ops", "Custom"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.default_policy_version.unwrap().policy_document, v2_doc);
    let versions = |r: pb::ListPolicyVersionsResponse| {
        r.policy_versions
            .into_iter()
            .map(|v| (v.version_id, v.is_default_version))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        versions(
            ram.list_policy_versions(policy_ref("Ops", "Custom"))
                .await
                .unwrap()
                .into_inner()
        ),
        [("v1".to_owned(), false), ("v2".to_owned(), true)]
    );
    assert_eq!(
        versions(
            ram.list_policy_versions(policy_ref("AdministratorAccess", "System"))
                .await
                .unwrap()
                .into_inner()
        )
        .len(),
        1
    );

    // At most five versions; rotation deletes the oldest non-default one.
    for n in 3..=5 {
        let v = ram
            .create_policy_version(new_version("Ops", &v1_doc, false, "None"))
            .await
            .unwrap()
            .into_inner()
            .policy_version
            .unwrap();
        assert_eq!(v.version_id, format!("v{n}"));
    }
    assert_code(
        ram.create_policy_version(new_version("Ops", &v1_doc, false, ""))
            .await,
        Code::ResourceExhausted,
        "LimitExceeded.Policy.Version",
    );
    let v6 = ram
        .create_policy_version(new_version(
            "Ops",
            &v1_doc,
            true,
            "DeleteOldestNonDefaultVersionWhenLimitExceeded",
        ))
        .await
        .unwrap()
        .into_inner()
        .policy_version
        .unwrap();
    assert_eq!(
        (v6.version_id.as_str(), v6.is_default_version),
        ("v6", true)
    );
    let listed = versions(
        ram.list_policy_versions(policy_ref("Ops", "Custom"))
            .await
            .unwrap()
            .into_inner(),
    );
    assert_eq!(
        listed.iter().map(|(v, _)| v.as_str()).collect::<Vec<_>>(),
        ["v2", "v3", "v4", "v5", "v6"]
    );
    assert_eq!(listed.iter().filter(|(_, d)| *d).count(), 1);
    assert_code(
        ram.get_policy_version(version_ref("Ops", "v1")).await,
        Code::NotFound,
        "EntityNotExist.Policy.Version",
    );

    // Version errors.
    assert_code(
        ram.create_policy_version(new_version("Ops", &v1_doc, false, "Sometimes"))
            .await,
        invalid,
        "InvalidParameter.RotateStrategy.Format",
    );
    assert_code(
        ram.create_policy_version(new_version("Ops", "", false, ""))
            .await,
        invalid,
        "MissingPolicyDocument",
    );
    assert_message(
        ram.create_policy_version(new_version("Audit", broken, false, ""))
            .await,
        invalid,
        "MalformedPolicyDocument",
        "2:16: ",
    );
    assert_code(
        ram.create_policy_version(new_version("Nope", &v1_doc, false, ""))
            .await,
        Code::NotFound,
        "EntityNotExist.Policy",
    );
    assert_code(
        ram.create_policy_version(new_version("ReadOnlyAccess", &v1_doc, false, ""))
            .await,
        Code::PermissionDenied,
        "NoPermission",
    );
    assert_code(
        ram.get_policy_version(version_ref("Ops", "")).await,
        invalid,
        "MissingVersionId",
    );
    assert_code(
        ram.get_policy_version(version_ref("Ops", "2")).await,
        invalid,
        "InvalidParameter.VersionId.Format",
    );
    assert_code(
        ram.get_policy_version(version_ref("Nope", "v1")).await,
        Code::NotFound,
        "EntityNotExist.Policy",
    );
    assert_code(
        ram.set_default_policy_version(version_ref("Ops", "v1"))
            .await,
        Code::NotFound,
        "EntityNotExist.Policy.Version",
    );
    assert_code(
        ram.set_default_policy_version(version_ref("ReadOnlyAccess", "v1"))
            .await,
        Code::PermissionDenied,
        "NoPermission",
    );
    assert_code(
        ram.list_policy_versions(policy_ref("Nope", "Custom")).await,
        Code::NotFound,
        "EntityNotExist.Policy",
    );
    assert_code(
        ram.list_policy_versions(policy_ref("Ops", "")).await,
        invalid,
        "MissingPolicyType",
    );

    // DeletePolicyVersion: never the default one.
    assert_code(
        ram.delete_policy_version(version_ref("Ops", "v6")).await,
        Code::FailedPrecondition,
        "DeleteConflict.Policy.Version.Default",
    );
    ram.delete_policy_version(version_ref("Ops", "v2"))
        .await
        .unwrap();
    assert_code(
        ram.delete_policy_version(version_ref("Ops", "v2")).await,
        Code::NotFound,
        "EntityNotExist.Policy.Version",
    );
    assert_code(
        ram.delete_policy_version(version_ref("ReadOnlyAccess", "v1"))
            .await,
        Code::PermissionDenied,
        "NoPermission",
    );

    // DeletePolicy: refused while other versions exist, unless cascading.
    let delete = |name: &str, cascading_delete: bool| pb::DeletePolicyRequest {
        policy_name: name.into(),
        cascading_delete,
    };
    assert_code(
        ram.delete_policy(delete("Ops", false)).await,
        Code::FailedPrecondition,
        "DeleteConflict.Policy.Version",
    );
    ram.delete_policy(delete("Ops", true)).await.unwrap();
    assert_code(
        ram.get_policy(policy_ref("Ops", "Custom")).await,
        Code::NotFound,
        "EntityNotExist.Policy",
    );
    ram.delete_policy(delete("Audit", false)).await.unwrap();
    assert_code(
        ram.delete_policy(delete("Audit", false)).await,
        Code::NotFound,
        "EntityNotExist.Policy",
    );
    assert_code(
        ram.delete_policy(delete("AdministratorAccess", false))
            .await,
        Code::PermissionDenied,
        "NoPermission",
    );
    assert_code(
        ram.delete_policy(delete("", false)).await,
        invalid,
        "MissingPolicyName",
    );
    // The name is free again; versions start over at v1.
    let again = create_policy(&mut ram, "Ops", &v1_doc).await;
    assert_eq!(again.policy.unwrap().default_version, "v1");
}

/// AttachPolicy/DetachPolicy to users, groups and roles; ListPoliciesFor;
/// ListEntitiesForPolicy; DeletePolicy's attachment conflicts; the attachment quota.
async fn attachments(server: &TestServer) {
    use pb::TargetKind::{Group, Role, User};
    let mut ram = RamClient::new(server.root.clone());
    let invalid = Code::InvalidArgument;
    create_user(&mut ram, "bob").await;
    ram.create_group(pb::CreateGroupRequest {
        group_name: "dev".into(),
        comments: String::new(),
    })
    .await
    .unwrap();
    create_role(&mut ram, "Deployer").await;
    create_policy(&mut ram, "Ops", &allow(&["ram:Get*"], &["*"])).await;

    // One custom policy on each kind of entity, a system one on the user.
    for (kind, name) in [(User, "bob"), (Group, "dev"), (Role, "Deployer")] {
        let done = ram
            .attach_policy(attachment(kind, name, "Ops", "Custom"))
            .await
            .unwrap()
            .into_inner();
        assert!(done.revision > 0);
    }
    ram.attach_policy(attachment(User, "BOB", "readonlyaccess", "System"))
        .await
        .unwrap();
    // Attaching twice.
    for (kind, name, code) in [
        (User, "bob", "EntityAlreadyExists.User.Policy"),
        (Group, "DEV", "EntityAlreadyExists.Group.Policy"),
        (Role, "deployer", "EntityAlreadyExists.Role.Policy"),
    ] {
        assert_code(
            ram.attach_policy(attachment(kind, name, "Ops", "Custom"))
                .await,
            Code::AlreadyExists,
            code,
        );
    }

    // ListPoliciesFor: ordered by (type, name), with the attach dates.
    let policies_for = |kind: pb::TargetKind, name: &str| pb::ListPoliciesForRequest {
        target_kind: kind.into(),
        target_name: name.into(),
    };
    let bobs = ram
        .list_policies_for(policies_for(User, "bob"))
        .await
        .unwrap()
        .into_inner()
        .policies;
    let summary = |attached: &[pb::AttachedPolicy]| {
        attached
            .iter()
            .map(|a| {
                assert!(a.attach_date.is_some());
                let p = a.policy.as_ref().unwrap();
                (p.policy_name.clone(), p.policy_type.clone())
            })
            .collect::<Vec<_>>()
    };
    let pair = |n: &str, t: &str| (n.to_owned(), t.to_owned());
    assert_eq!(
        summary(&bobs),
        [pair("Ops", "Custom"), pair("ReadOnlyAccess", "System")]
    );
    for (kind, name) in [(Group, "dev"), (Role, "Deployer")] {
        let attached = ram
            .list_policies_for(policies_for(kind, name))
            .await
            .unwrap()
            .into_inner()
            .policies;
        assert_eq!(summary(&attached), [pair("Ops", "Custom")], "{name}");
    }

    // ListEntitiesForPolicy, and the attachment count.
    let entities = ram
        .list_entities_for_policy(policy_ref("Ops", "Custom"))
        .await
        .unwrap()
        .into_inner();
    let names = |e: &[pb::AttachedEntity]| {
        e.iter()
            .map(|e| {
                assert!(e.attach_date.is_some());
                e.name.clone()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&entities.users), ["bob"]);
    assert_eq!(names(&entities.groups), ["dev"]);
    assert_eq!(names(&entities.roles), ["Deployer"]);
    let ops = ram
        .get_policy(policy_ref("Ops", "Custom"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ops.policy.unwrap().attachment_count, 3);
    let system = ram
        .list_entities_for_policy(policy_ref("ReadOnlyAccess", "System"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(names(&system.users), ["bob"]);
    assert!(system.groups.is_empty() && system.roles.is_empty());
    assert_code(
        ram.list_entities_for_policy(policy_ref("Nope", "Custom"))
            .await,
        Code::NotFound,
        "EntityNotExist.Policy",
    );
    assert_code(
        ram.list_entities_for_policy(policy_ref("Ops", "")).await,
        invalid,
        "MissingPolicyType",
    );

    // Parameter and existence errors.
    let unspecified = pb::AttachmentRequest {
        target_kind: 0,
        ..attachment(User, "bob", "Ops", "Custom")
    };
    assert_code(
        ram.attach_policy(unspecified).await,
        invalid,
        "MissingTargetKind",
    );
    let unknown_kind = pb::AttachmentRequest {
        target_kind: 9,
        ..attachment(User, "bob", "Ops", "Custom")
    };
    assert_code(
        ram.attach_policy(unknown_kind).await,
        invalid,
        "InvalidParameter.TargetKind.Format",
    );
    for (kind, code) in [
        (User, "MissingUserName"),
        (Group, "MissingGroupName"),
        (Role, "MissingRoleName"),
    ] {
        assert_code(
            ram.attach_policy(attachment(kind, "", "Ops", "Custom"))
                .await,
            invalid,
            code,
        );
    }
    assert_code(
        ram.attach_policy(attachment(User, "bob", "", "Custom"))
            .await,
        invalid,
        "MissingPolicyName",
    );
    assert_code(
        ram.attach_policy(attachment(User, "bob", "Ops", "")).await,
        invalid,
        "MissingPolicyType",
    );
    assert_code(
        ram.attach_policy(attachment(User, "bob", "Ops", "CUSTOM"))
            .await,
        invalid,
        "InvalidParameter.PolicyType",
    );
    for (kind, code) in [
        (User, "EntityNotExist.User"),
        (Group, "EntityNotExist.Group"),
        (Role, "EntityNotExist.Role"),
    ] {
        assert_code(
            ram.attach_policy(attachment(kind, "ghost", "Ops", "Custom"))
                .await,
            Code::NotFound,
            code,
        );
        assert_code(
            ram.list_policies_for(policies_for(kind, "ghost")).await,
            Code::NotFound,
            code,
        );
    }
    assert_code(
        ram.attach_policy(attachment(User, "bob", "Nope", "Custom"))
            .await,
        Code::NotFound,
        "EntityNotExist.Policy",
    );
    assert_code(
        ram.attach_policy(attachment(User, "bob", "Ops", "System"))
            .await,
        Code::NotFound,
        "EntityNotExist.Policy",
    );
    assert_code(
        ram.list_policies_for(pb::ListPoliciesForRequest::default())
            .await,
        invalid,
        "MissingTargetKind",
    );

    // DeletePolicy refuses while attached: users, then groups, then roles.
    let delete = pb::DeletePolicyRequest {
        policy_name: "Ops".into(),
        cascading_delete: true,
    };
    for (kind, name, code) in [
        (User, "bob", "DeleteConflict.Policy.User"),
        (Group, "dev", "DeleteConflict.Policy.Group"),
        (Role, "Deployer", "DeleteConflict.Policy.Role"),
    ] {
        assert_code(
            ram.delete_policy(delete.clone()).await,
            Code::FailedPrecondition,
            code,
        );
        ram.detach_policy(attachment(kind, name, "Ops", "Custom"))
            .await
            .unwrap();
    }
    // Detaching what is not attached.
    for (kind, name, code) in [
        (User, "bob", "EntityNotExist.User.Policy"),
        (Group, "dev", "EntityNotExist.Group.Policy"),
        (Role, "Deployer", "EntityNotExist.Role.Policy"),
    ] {
        assert_code(
            ram.detach_policy(attachment(kind, name, "Ops", "Custom"))
                .await,
            Code::NotFound,
            code,
        );
    }
    let entities = ram
        .list_entities_for_policy(policy_ref("Ops", "Custom"))
        .await
        .unwrap()
        .into_inner();
    assert!(entities.users.is_empty() && entities.groups.is_empty() && entities.roles.is_empty());
    ram.delete_policy(delete).await.unwrap();
    assert_eq!(
        summary(
            &ram.list_policies_for(policies_for(User, "bob"))
                .await
                .unwrap()
                .into_inner()
                .policies
        ),
        [pair("ReadOnlyAccess", "System")]
    );

    // The per-entity quota of custom policies.
    server
        .store
        .set_account_quota(
            &server.operator,
            QuotaName::CustomPoliciesPerEntity,
            Some(1),
        )
        .await
        .unwrap();
    create_policy(&mut ram, "First", &allow(&["ram:GetUser"], &["*"])).await;
    create_policy(&mut ram, "Second", &allow(&["ram:GetUser"], &["*"])).await;
    ram.attach_policy(attachment(Group, "dev", "First", "Custom"))
        .await
        .unwrap();
    assert_code(
        ram.attach_policy(attachment(Group, "dev", "Second", "Custom"))
            .await,
        Code::ResourceExhausted,
        "LimitExceeded.Group.Policy",
    );
    // System policies count separately.
    ram.attach_policy(attachment(Group, "dev", "ReadOnlyAccess", "System"))
        .await
        .unwrap();
}

/// Who may call what: no policy, a grant scoped to some resources, `tessera:` actions,
/// attaching delegated for one policy only, and another account's root.
async fn authorization(server: &TestServer) {
    use pb::TargetKind::{Role, User};
    let mut root = RamClient::new(server.root.clone());
    let denied = Code::PermissionDenied;
    create_role(&mut root, "dev-app").await;
    create_role(&mut root, "prod-app").await;
    create_user(&mut root, "bob").await;
    create_policy(&mut root, "Ops", &allow(&["ram:GetUser"], &["*"])).await;
    let mut alice = user_client(server, &mut root, "alice").await;

    // Without a policy, every operation of the family is refused.
    assert_code(
        alice
            .create_role(pb::CreateRoleRequest {
                role_name: "mine".into(),
                assume_role_policy_document: TRUST.into(),
                ..Default::default()
            })
            .await,
        denied,
        "NoPermission",
    );
    assert_code(
        alice
            .get_role(pb::GetRoleRequest {
                role_name: "dev-app".into(),
            })
            .await,
        denied,
        "NoPermission",
    );
    assert_code(
        alice.list_roles(pb::ListRequest::default()).await,
        denied,
        "NoPermission",
    );
    assert_code(
        alice
            .revoke_role_sessions(pb::GetRoleRequest {
                role_name: "dev-app".into(),
            })
            .await,
        denied,
        "NoPermission",
    );
    assert_code(
        alice
            .create_policy(pb::CreatePolicyRequest {
                policy_name: "Mine".into(),
                policy_document: allow(&["*"], &["*"]),
                description: String::new(),
            })
            .await,
        denied,
        "NoPermission",
    );
    assert_code(
        alice.get_policy(policy_ref("Ops", "Custom")).await,
        denied,
        "NoPermission",
    );
    assert_code(
        alice
            .list_policies(pb::ListPoliciesRequest::default())
            .await,
        denied,
        "NoPermission",
    );
    assert_code(
        alice
            .attach_policy(attachment(User, "alice", "AdministratorAccess", "System"))
            .await,
        denied,
        "NoPermission",
    );
    assert_code(
        alice
            .list_policies_for(pb::ListPoliciesForRequest {
                target_kind: User.into(),
                target_name: "alice".into(),
            })
            .await,
        denied,
        "NoPermission",
    );
    // Parameter errors come before the refusal.
    assert_code(
        alice.get_role(pb::GetRoleRequest::default()).await,
        Code::InvalidArgument,
        "MissingRoleName",
    );

    // A grant on `role/dev-*`: dev-app yes, prod-app no; `ram:*` does not cover the
    // `tessera:` extension, a grant of it does.
    let account = server.operator.as_str();
    let dev_roles = format!("acs:ram:*:{account}:role/dev-*");
    create_policy(
        &mut root,
        "DevRoles",
        &allow(
            &["ram:*", "tessera:RevokeRoleSessions"],
            &[&dev_roles, &format!("acs:ram::{account}:policy/Ops")],
        ),
    )
    .await;
    create_policy(
        &mut root,
        "AttachReadOnly",
        &allow(
            &["ram:AttachPolicyToUser", "ram:DetachPolicyFromUser"],
            &[
                &format!("acs:ram:*:{account}:user/bob"),
                "acs:ram:*:system:policy/ReadOnlyAccess",
            ],
        ),
    )
    .await;
    for policy in ["DevRoles", "AttachReadOnly"] {
        root.attach_policy(attachment(User, "alice", policy, "Custom"))
            .await
            .unwrap();
    }
    eventually("alice may read dev-app", true, || {
        get_role_allowed(&alice, "dev-app")
    })
    .await;
    assert!(!get_role_allowed(&alice, "prod-app").await);
    let update = |name: &str| pb::UpdateRoleRequest {
        role_name: name.into(),
        new_description: Some("by alice".into()),
        ..Default::default()
    };
    alice.update_role(update("dev-app")).await.unwrap();
    assert_code(
        alice.update_role(update("prod-app")).await,
        denied,
        "NoPermission",
    );
    alice
        .revoke_role_sessions(pb::GetRoleRequest {
            role_name: "dev-app".into(),
        })
        .await
        .unwrap();
    assert_code(
        alice
            .revoke_role_sessions(pb::GetRoleRequest {
                role_name: "prod-app".into(),
            })
            .await,
        denied,
        "NoPermission",
    );
    let created = alice
        .create_role(pb::CreateRoleRequest {
            role_name: "dev-worker".into(),
            assume_role_policy_document: TRUST.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(created.into_inner().role.unwrap().role_name, "dev-worker");
    assert_code(
        alice
            .create_role(pb::CreateRoleRequest {
                role_name: "prod-worker".into(),
                assume_role_policy_document: TRUST.into(),
                ..Default::default()
            })
            .await,
        denied,
        "NoPermission",
    );
    // ListRoles needs `role/*`, which `role/dev-*` is not.
    assert!(!list_roles_allowed(&alice).await);
    // Policies: the custom Ops is granted, others are not; attaching to a role needs both.
    alice.get_policy(policy_ref("Ops", "Custom")).await.unwrap();
    assert_code(
        alice.get_policy(policy_ref("DevRoles", "Custom")).await,
        denied,
        "NoPermission",
    );
    alice
        .attach_policy(attachment(Role, "dev-app", "Ops", "Custom"))
        .await
        .unwrap();
    assert_code(
        alice
            .attach_policy(attachment(Role, "prod-app", "Ops", "Custom"))
            .await,
        denied,
        "NoPermission",
    );
    assert_code(
        alice
            .attach_policy(attachment(Role, "dev-app", "ReadOnlyAccess", "System"))
            .await,
        denied,
        "NoPermission",
    );
    alice
        .list_policies_for(pb::ListPoliciesForRequest {
            target_kind: Role.into(),
            target_name: "dev-app".into(),
        })
        .await
        .unwrap();

    // Delegated attaching: ReadOnlyAccess to bob only (and Ops, which DevRoles grants: both
    // resources may be granted by different policies).
    alice
        .attach_policy(attachment(User, "bob", "ReadOnlyAccess", "System"))
        .await
        .unwrap();
    for (user, policy, policy_type) in [
        ("bob", "AdministratorAccess", "System"),
        ("bob", "DevRoles", "Custom"),
        ("alice", "ReadOnlyAccess", "System"),
    ] {
        assert_code(
            alice
                .attach_policy(attachment(User, user, policy, policy_type))
                .await,
            denied,
            "NoPermission",
        );
    }
    alice
        .attach_policy(attachment(User, "bob", "Ops", "Custom"))
        .await
        .unwrap();
    for policy in [("ReadOnlyAccess", "System"), ("Ops", "Custom")] {
        alice
            .detach_policy(attachment(User, "bob", policy.0, policy.1))
            .await
            .unwrap();
    }
    // The change was made in the operator account, where root sees it.
    let bobs = root
        .list_policies_for(pb::ListPoliciesForRequest {
            target_kind: User.into(),
            target_name: "bob".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(bobs.policies.is_empty());

    // Another account's root sees none of it, and cannot reach it.
    let other = server.store.create_account("other").await.unwrap().value.id;
    let (_, _, channel) = server.key_for(&other, None).await;
    let mut stranger = RamClient::new(channel);
    assert_code(
        stranger
            .get_role(pb::GetRoleRequest {
                role_name: "dev-app".into(),
            })
            .await,
        Code::NotFound,
        "EntityNotExist.Role",
    );
    assert_code(
        stranger.get_policy(policy_ref("Ops", "Custom")).await,
        Code::NotFound,
        "EntityNotExist.Policy",
    );
    assert!(
        stranger
            .list_roles(pb::ListRequest::default())
            .await
            .unwrap()
            .into_inner()
            .roles
            .is_empty()
    );
    let custom = stranger
        .list_policies(pb::ListPoliciesRequest {
            policy_type: "Custom".into(),
            page: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(custom.policies.is_empty());
    assert_code(
        stranger
            .attach_policy(attachment(Role, "dev-app", "ReadOnlyAccess", "System"))
            .await,
        Code::NotFound,
        "EntityNotExist.Role",
    );
    // Its own role of the same name is its own.
    let own = create_role(&mut stranger, "dev-app").await;
    assert_eq!(own.arn, format!("acs:ram::{other}:role/dev-app"));
    assert_eq!(
        root.get_role(pb::GetRoleRequest {
            role_name: "dev-app".into()
        })
        .await
        .unwrap()
        .into_inner()
        .role
        .unwrap()
        .description,
        "by alice"
    );
}

/// The signing key the server issues tokens with, opened from the store.
async fn signing_key(server: &TestServer) -> SigningKey {
    let keys = server.store.list_signing_keys().await.unwrap();
    let stored = keys.last().unwrap();
    let der = server
        .sealer
        .open(
            &stored.sealed_private_key,
            format!("signing-key:{}", stored.kid).as_bytes(),
        )
        .unwrap();
    SigningKey::from_pkcs8_der(&der, Some(&stored.kid)).unwrap()
}

/// A bearer token of a session of `role` (in the operator account) issued at `issued_at`,
/// without a session policy: the role's own policies decide.
fn session_token(
    server: &TestServer,
    key: &SigningKey,
    role: &pb::Role,
    issued_at: Timestamp,
) -> String {
    let issued_at = Timestamp::from_second(issued_at.as_second()).unwrap();
    let claims = SessionClaims {
        issuer: "tessera".into(),
        account_id: server.operator.as_str().to_owned(),
        subject: tessera_credentials::token::SessionSubject::Role {
            role_id: role.role_id.clone(),
            role_name: role.role_name.clone(),
            session_name: "deploy-1".into(),
            source_identity: None,
        },
        issued_at,
        expires_at: issued_at
            .checked_add(SignedDuration::from_hours(1))
            .unwrap(),
        token_id: new_token_id(&mut rand::rng()),
        access_key_id: new_access_key_id(&mut rand::rng()),
        session_policy: None,
    };
    key.sign(&claims).unwrap()
}

/// What the writes change for the callers they concern: attaching and detaching a policy, a
/// new default version, a group's policy, a role's policy, `RevokeRoleSessions`.
async fn effects(server: &TestServer) {
    use pb::TargetKind::{Group, Role, User};
    let mut root = RamClient::new(server.root.clone());
    let alice = user_client(server, &mut root, "alice").await;
    create_policy(&mut root, "Lister", &allow(&["ram:ListUsers"], &["*"])).await;
    assert!(!list_users_allowed(&alice).await);

    // Attach: allowed; detach: refused again.
    root.attach_policy(attachment(User, "alice", "Lister", "Custom"))
        .await
        .unwrap();
    eventually("attaching lets alice list users", true, || {
        list_users_allowed(&alice)
    })
    .await;
    assert!(!list_roles_allowed(&alice).await);
    root.detach_policy(attachment(User, "alice", "Lister", "Custom"))
        .await
        .unwrap();
    eventually("detaching refuses alice again", false, || {
        list_users_allowed(&alice)
    })
    .await;

    // A new default version changes what the attached policy allows; so does going back.
    root.attach_policy(attachment(User, "alice", "Lister", "Custom"))
        .await
        .unwrap();
    eventually("reattached", true, || list_users_allowed(&alice)).await;
    let v2 = root
        .create_policy_version(new_version(
            "Lister",
            &allow(&["ram:ListRoles"], &["*"]),
            true,
            "",
        ))
        .await
        .unwrap()
        .into_inner()
        .policy_version
        .unwrap();
    assert_eq!(v2.version_id, "v2");
    eventually("v2 allows ListRoles", true, || list_roles_allowed(&alice)).await;
    eventually("v2 no longer allows ListUsers", false, || {
        list_users_allowed(&alice)
    })
    .await;
    // A version that is not the default changes nothing.
    root.create_policy_version(new_version("Lister", &allow(&["*"], &["*"]), false, ""))
        .await
        .unwrap();
    assert!(!list_users_allowed(&alice).await);
    root.set_default_policy_version(version_ref("Lister", "v1"))
        .await
        .unwrap();
    eventually("back to v1", true, || list_users_allowed(&alice)).await;
    eventually("v1 does not allow ListRoles", false, || {
        list_roles_allowed(&alice)
    })
    .await;
    root.detach_policy(attachment(User, "alice", "Lister", "Custom"))
        .await
        .unwrap();
    eventually("detached again", false, || list_users_allowed(&alice)).await;

    // Through a group.
    root.create_group(pb::CreateGroupRequest {
        group_name: "listers".into(),
        comments: String::new(),
    })
    .await
    .unwrap();
    root.add_user_to_group(pb::MembershipRequest {
        group_name: "listers".into(),
        user_name: "alice".into(),
    })
    .await
    .unwrap();
    root.attach_policy(attachment(Group, "listers", "Lister", "Custom"))
        .await
        .unwrap();
    eventually("the group's policy applies to alice", true, || {
        list_users_allowed(&alice)
    })
    .await;
    root.detach_policy(attachment(Group, "listers", "Lister", "Custom"))
        .await
        .unwrap();
    eventually("the group's policy detached", false, || {
        list_users_allowed(&alice)
    })
    .await;

    // A role session: the role's policies decide, and RevokeRoleSessions ends the session.
    let role = create_role(&mut root, "Deployer").await;
    let key = signing_key(server).await;
    let before = Timestamp::now()
        .checked_sub(SignedDuration::from_secs(5))
        .unwrap();
    let session = RamClient::new(server.root.with(ClientCredential::Bearer(session_token(
        server, &key, &role, before,
    ))));
    assert!(!get_role_allowed(&session, "Deployer").await);
    create_policy(
        &mut root,
        "ReadDeployer",
        &allow(&["ram:GetRole"], &[&role.arn]),
    )
    .await;
    root.attach_policy(attachment(Role, "Deployer", "ReadDeployer", "Custom"))
        .await
        .unwrap();
    eventually("the role's policy applies to its session", true, || {
        get_role_allowed(&session, "Deployer")
    })
    .await;
    root.revoke_role_sessions(pb::GetRoleRequest {
        role_name: "Deployer".into(),
    })
    .await
    .unwrap();
    // Verified sessions are cached; the change feed evicts them (at once: the server wrote).
    support::refused_eventually("InvalidSecurityToken.Revoked", || {
        let mut session = session.clone();
        async move {
            session
                .get_role(pb::GetRoleRequest {
                    role_name: "Deployer".into(),
                })
                .await
        }
    })
    .await;
    // A session issued after the revocation is valid.
    let after = Timestamp::now()
        .checked_add(SignedDuration::from_secs(2))
        .unwrap();
    let fresh = RamClient::new(server.root.with(ClientCredential::Bearer(session_token(
        server, &key, &role, after,
    ))));
    assert!(get_role_allowed(&fresh, "Deployer").await);
    // Detaching the role's policy takes effect for existing sessions.
    root.detach_policy(attachment(Role, "Deployer", "ReadDeployer", "Custom"))
        .await
        .unwrap();
    eventually("the role's policy detached", false, || {
        get_role_allowed(&fresh, "Deployer")
    })
    .await;
}
