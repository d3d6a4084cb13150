//! The Authorizer service over a real store (SQLite file and a fresh PostgreSQL database), called
//! through the generated trait with an [`Authenticated`] inserted as the auth layer would.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tessera_iam::{AccountId, Caller, format_time};
use tessera_proto::v1 as pb;
use tessera_proto::v1::authorizer_server::Authorizer;
use tessera_server::authorizer::AuthorizerService;
use tessera_server::caller::{Authenticated, Credential};
use tessera_server::principals::{PrincipalCache, run_invalidation};
use tessera_store::{
    AccountStore, FeedOptions, GroupStore, NewPolicy, NewRole, NewUser, PolicyStore, PolicyType,
    Revision, RoleStore, SqlStore, StoreConfig, SystemStore, Target, UserStore,
};

// --- databases ---

struct TestDb {
    store: SqlStore,
    postgres: Option<support::Postgres>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("tessera.db").display()
        );
        TestDb {
            store: open(&url).await,
            postgres: None,
            _dir: Some(dir),
        }
    }

    async fn postgres() -> TestDb {
        let postgres = support::Postgres::create("tessera_test").await;
        TestDb {
            store: open(&postgres.url).await,
            postgres: Some(postgres),
            _dir: None,
        }
    }

    async fn finish(self) {
        self.store.close().await;
        if let Some(postgres) = self.postgres {
            postgres.drop_database().await;
        }
    }
}

async fn open(url: &str) -> SqlStore {
    let mut config = StoreConfig::new(url);
    config.max_connections = 8;
    let store = SqlStore::connect(&config).await.unwrap();
    store.migrate().await.unwrap();
    store
}

/// Runs `$scenario(&SqlStore)` on SQLite and on PostgreSQL.
macro_rules! both {
    ($scenario:ident, $sqlite:ident, $postgres:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $sqlite() {
            let db = TestDb::sqlite().await;
            $scenario(&db.store).await;
            db.finish().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $postgres() {
            let db = TestDb::postgres().await;
            $scenario(&db.store).await;
            db.finish().await;
        }
    };
}

// --- callers and requests ---

fn authenticated(caller: Caller) -> Authenticated {
    Authenticated {
        caller: Arc::new(caller),
        credential: Arc::new(Credential::AccessKey {
            access_key_id: "LTAI5tTestKey".into(),
        }),
        memos: None,
        received_at: Timestamp::now(),
        source_ip: Some("192.0.2.1".parse().unwrap()),
        secure_transport: true,
        user_agent: None,
        mfa_present: false,
    }
}

fn root(account: &AccountId) -> Authenticated {
    authenticated(Caller::Root {
        account: account.clone(),
    })
}

async fn user_caller(store: &SqlStore, account: &AccountId, name: &str) -> Authenticated {
    let user = store.get_user(account, name).await.unwrap();
    authenticated(Caller::User {
        account: account.clone(),
        user_id: user.id,
        name: user.name,
    })
}

fn request<T>(message: T, auth: &Authenticated) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.extensions_mut().insert(auth.clone());
    request
}

fn item(action: &str, resource: &str) -> pb::AuthorizeItem {
    pb::AuthorizeItem {
        action: action.into(),
        resource: resource.into(),
        context: Vec::new(),
    }
}

fn by_arn(arn: &str) -> pb::Subject {
    pb::Subject {
        kind: Some(pb::subject::Kind::PrincipalArn(arn.into())),
        source_ip: String::new(),
        secure_transport: false,
    }
}

fn authorize_request(arn: &str, item: pb::AuthorizeItem, explain: bool) -> pb::AuthorizeRequest {
    pb::AuthorizeRequest {
        subject: Some(by_arn(arn)),
        item: Some(item),
        min_revision: 0,
        explain,
    }
}

/// An authenticator over `store` (for subjects given as credentials; these tests name
/// subjects by ARN).
fn authenticator(store: &SqlStore) -> std::sync::Arc<tessera_server::auth::Authenticator> {
    let sealer = tessera_credentials::Sealer::new(
        tessera_credentials::MasterKey::new(1, &[7u8; 32]).unwrap(),
    );
    let sts = tessera_credentials::StsKeyDerivation::new(tessera_credentials::Secret::new(
        [9u8; 32].to_vec(),
    ))
    .unwrap();
    std::sync::Arc::new(tessera_server::auth::Authenticator::new(
        store.clone(),
        sealer,
        sts,
    ))
}

fn service(store: &SqlStore) -> AuthorizerService {
    AuthorizerService::new(
        PrincipalCache::new(store.clone(), 1000),
        authenticator(store),
    )
}

fn decision(result: &pb::AuthorizeResult) -> pb::Decision {
    pb::Decision::try_from(result.decision).unwrap()
}

/// Authorize by ARN; the decision and reason, or the status code and message.
async fn ask(
    svc: &AuthorizerService,
    auth: &Authenticated,
    arn: &str,
    action: &str,
    resource: &str,
) -> Result<(pb::Decision, String), (tonic::Code, String)> {
    svc.authorize(request(
        authorize_request(arn, item(action, resource), false),
        auth,
    ))
    .await
    .map(|r| {
        let result = r.into_inner().result.unwrap();
        (decision(&result), result.reason)
    })
    .map_err(|s| (s.code(), s.message().to_owned()))
}

async fn policy(store: &SqlStore, account: &AccountId, name: &str, statements: &str) {
    store
        .create_policy(
            account,
            &NewPolicy {
                name: name.into(),
                document: format!(r#"{{"Version":"1","Statement":[{statements}]}}"#),
                description: None,
            },
        )
        .await
        .unwrap();
}

async fn new_user(store: &SqlStore, account: &AccountId, name: &str) {
    store
        .create_user(
            account,
            &NewUser {
                name: name.into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
}

// --- ValidatePolicy / SimulateCustomPolicy (no store access) ---

#[tokio::test]
async fn validate_policy_reports_positions_and_warnings() {
    let db = TestDb::sqlite().await;
    let svc = service(&db.store);
    let anyone = root(&AccountId::parse("1111111111111111").unwrap());
    let validate = |document: &str, kind: pb::PolicyKind| {
        svc.validate_policy(request(
            pb::ValidatePolicyRequest {
                document: document.into(),
                kind: kind as i32,
            },
            &anyone,
        ))
    };

    let bad = "{\n  \"Version\": \"1\",\n  \"Statement\": [{\"Effect\": \"Alow\", \"Action\": \"oss:*\", \"Resource\": \"*\"}]\n}";
    let got = validate(bad, pb::PolicyKind::Identity)
        .await
        .unwrap()
        .into_inner();
    assert!(!got.valid);
    let error = &got.errors[0];
    assert_eq!(error.code, "MalformedPolicyDocument");
    assert_eq!(error.line, 3);
    let line = bad.lines().nth(2).unwrap();
    let column = line.find("\"Alow\"").unwrap() + 1;
    assert_eq!(error.column as usize, column, "{error:?}");
    assert!(error.message.contains("Effect"), "{}", error.message);

    let open = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    let got = validate(open, pb::PolicyKind::Unspecified)
        .await
        .unwrap()
        .into_inner();
    assert!(got.valid && got.errors.is_empty());
    assert_eq!(got.warnings[0].code, "OverlyPermissive");
    assert_eq!(got.warnings[0].line, 1);
    assert!(got.warnings[0].column > 1);

    // Unspecified detects a trust policy from its Principal; Identity rejects it.
    let trust = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":["acs:ram::1111111111111111:root"]}}]}"#;
    assert!(
        validate(trust, pb::PolicyKind::Unspecified)
            .await
            .unwrap()
            .into_inner()
            .valid
    );
    assert!(
        !validate(trust, pb::PolicyKind::Identity)
            .await
            .unwrap()
            .into_inner()
            .valid
    );
    let long = format!(
        r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"oss:GetObject","Resource":"{}"}}]}}"#,
        "x".repeat(3000)
    );
    let got = validate(&long, pb::PolicyKind::Session)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.errors[0].code, "InvalidParameter.Policy.Length");

    // Unauthenticated requests (no auth layer) fail closed.
    let status = svc
        .validate_policy(tonic::Request::new(pb::ValidatePolicyRequest {
            document: open.into(),
            kind: 0,
        }))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unauthenticated);
    db.finish().await;
}

#[tokio::test]
async fn simulate_custom_policy_decides_and_explains() {
    let db = TestDb::sqlite().await;
    let svc = service(&db.store);
    let anyone = root(&AccountId::parse("1111111111111111").unwrap());
    let allow =
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:Get*","Resource":"*"}]}"#;
    let deny = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"ecs:*","Resource":"*"},{"Sid":"NoSecrets","Effect":"Deny","Action":"oss:GetObject","Resource":"acs:oss:*:*:secrets/*"}]}"#;
    let simulate = |documents: Vec<String>, items: Vec<pb::AuthorizeItem>| {
        svc.simulate_custom_policy(request(
            pb::SimulateCustomPolicyRequest {
                policy_documents: documents,
                session_policy: String::new(),
                items,
            },
            &anyone,
        ))
    };
    let got = simulate(
        vec![allow.into(), deny.into()],
        vec![
            item("oss:GetObject", "acs:oss:*:*:photos/cat.jpg"),
            item("oss:GetObject", "acs:oss:*:*:secrets/key"),
            item("rds:CreateDBInstance", "*"),
        ],
    )
    .await
    .unwrap()
    .into_inner();
    assert_eq!(got.results.len(), 3);
    assert_eq!(decision(&got.results[0]), pb::Decision::Allow);
    let m = &got.results[0].matched[0];
    assert_eq!(
        (m.source.as_str(), m.policy_name.as_str(), m.statement_index),
        ("identity", "policy-0", 0)
    );
    assert_eq!(m.effect, "Allow");
    assert_eq!(decision(&got.results[1]), pb::Decision::ExplicitDeny);
    let m = &got.results[1].matched[0];
    assert_eq!(
        (
            m.policy_name.as_str(),
            m.statement_index,
            m.sid.as_str(),
            m.effect.as_str()
        ),
        ("policy-1", 1, "NoSecrets", "Deny")
    );
    assert_eq!(decision(&got.results[2]), pb::Decision::ImplicitDeny);
    assert!(got.results[2].matched.is_empty());

    let status = simulate(vec![allow.into(), "{\"Version\":".into()], vec![])
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(
        status
            .message()
            .starts_with("MalformedPolicyDocument: policy-1"),
        "{}",
        status.message()
    );
    db.finish().await;
}

// --- Authorize ---

/// Account A: alice (AllowOss, group devs with DenyDelete), bob (no policies), carol
/// (AuthorizeOthers: tessera:Authorize on A's users), role Ops (AllowEcs). Account B: eve
/// (allowed everything).
struct World {
    a: AccountId,
    b: AccountId,
}

impl World {
    fn arn(&self, rest: &str) -> String {
        format!("acs:ram::{}:{rest}", self.a)
    }
}

async fn world(store: &SqlStore) -> World {
    let a = store.create_account("a").await.unwrap().value.id;
    let b = store.create_account("b").await.unwrap().value.id;
    for name in ["alice", "bob", "carol"] {
        new_user(store, &a, name).await;
    }
    policy(
        store,
        &a,
        "AllowOss",
        r#"{"Effect":"Allow","Action":"oss:*","Resource":"*"}"#,
    )
    .await;
    policy(
        store,
        &a,
        "DenyDelete",
        r#"{"Sid":"NoDelete","Effect":"Deny","Action":"oss:DeleteObject","Resource":"*"}"#,
    )
    .await;
    policy(
        store,
        &a,
        "AuthorizeOthers",
        &format!(
            r#"{{"Effect":"Allow","Action":"tessera:Authorize","Resource":"acs:ram:*:{a}:user/*"}}"#
        ),
    )
    .await;
    policy(
        store,
        &a,
        "AllowEcs",
        r#"{"Effect":"Allow","Action":"ecs:*","Resource":"*"}"#,
    )
    .await;
    store
        .attach_policy(&a, Target::User("alice"), PolicyType::Custom, "AllowOss")
        .await
        .unwrap();
    store.create_group(&a, "devs", None).await.unwrap();
    store.add_user_to_group(&a, "devs", "alice").await.unwrap();
    store
        .attach_policy(&a, Target::Group("devs"), PolicyType::Custom, "DenyDelete")
        .await
        .unwrap();
    store
        .attach_policy(
            &a,
            Target::User("carol"),
            PolicyType::Custom,
            "AuthorizeOthers",
        )
        .await
        .unwrap();
    store
        .create_role(
            &a,
            &NewRole {
                name: "Ops".into(),
                trust_policy: format!(
                    r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{{"RAM":["acs:ram::{a}:root"]}}}}]}}"#
                ),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    store
        .attach_policy(&a, Target::Role("Ops"), PolicyType::Custom, "AllowEcs")
        .await
        .unwrap();
    new_user(store, &b, "eve").await;
    store
        .attach_policy(
            &b,
            Target::User("eve"),
            PolicyType::System,
            "AdministratorAccess",
        )
        .await
        .unwrap();
    World { a, b }
}

async fn authorize_scenario(store: &SqlStore) {
    use pb::Decision::{Allow, ExplicitDeny, ImplicitDeny};
    let w = world(store).await;
    let svc = service(store);
    let alice = user_caller(store, &w.a, "alice").await;
    let bob = user_caller(store, &w.a, "bob").await;
    let carol = user_caller(store, &w.a, "carol").await;
    let eve = user_caller(store, &w.b, "eve").await;
    let alice_arn = w.arn("user/alice");
    let own_bucket = format!("acs:oss:*:{}:bucket/key", w.a);
    let other_bucket = format!("acs:oss:*:{}:bucket/key", w.b);

    // Alice about herself: user + group policies, the own-account rule.
    let ok = |d: pb::Decision, reason: &str| Ok((d, reason.to_owned()));
    assert_eq!(
        ask(&svc, &alice, &alice_arn, "oss:GetObject", &own_bucket).await,
        ok(Allow, "Policies")
    );
    assert_eq!(
        ask(&svc, &alice, &alice_arn, "oss:DeleteObject", &own_bucket).await,
        ok(ExplicitDeny, "Policies")
    );
    assert_eq!(
        ask(&svc, &alice, &alice_arn, "ecs:StartInstance", "*").await,
        ok(ImplicitDeny, "Policies")
    );
    assert_eq!(
        ask(&svc, &alice, &alice_arn, "oss:GetObject", &other_bucket).await,
        ok(ImplicitDeny, "CrossAccount")
    );
    // Name case does not matter for "about itself" nor for the lookup.
    assert_eq!(
        ask(&svc, &alice, &w.arn("user/ALICE"), "oss:GetObject", "*").await,
        ok(Allow, "Policies")
    );

    // Explained: the deciding statements with policy name, type, version, Sid.
    let explained = svc
        .authorize(request(
            authorize_request(&alice_arn, item("oss:DeleteObject", &own_bucket), true),
            &alice,
        ))
        .await
        .unwrap()
        .into_inner();
    let result = explained.result.unwrap();
    assert_eq!(result.matched.len(), 1);
    let m = &result.matched[0];
    assert_eq!(m.source, "identity");
    assert_eq!(m.policy_name, "DenyDelete");
    assert_eq!(m.policy_type, "Custom");
    assert_eq!(m.version_id, "v1");
    assert_eq!((m.statement_index, m.sid.as_str()), (0, "NoDelete"));
    let principal = explained.principal.unwrap();
    assert_eq!(principal.arn, alice_arn);
    assert_eq!(principal.account_id, w.a.as_str());
    assert_eq!(principal.identity_type, "RAMUser");
    assert_eq!(principal.principal_id, alice.caller_user_id());
    assert!(explained.revision > 0);

    // A role by ARN, and one of its sessions.
    let root_a = root(&w.a);
    assert_eq!(
        ask(&svc, &root_a, &w.arn("role/Ops"), "ecs:StartInstance", "*").await,
        ok(Allow, "Policies")
    );
    assert_eq!(
        ask(&svc, &root_a, &w.arn("role/Ops"), "oss:GetObject", "*").await,
        ok(ImplicitDeny, "Policies")
    );
    let session = svc
        .authorize(request(
            authorize_request(
                &w.arn("assumed-role/ops/deploy-1"),
                item("ecs:StartInstance", "*"),
                false,
            ),
            &root_a,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(decision(session.result.as_ref().unwrap()), Allow);
    let principal = session.principal.unwrap();
    assert_eq!(principal.arn, w.arn("assumed-role/Ops/deploy-1"));
    assert_eq!(principal.identity_type, "AssumedRoleUser");
    assert!(principal.principal_id.ends_with(":deploy-1"));

    // Root of the account about its user; root itself.
    assert_eq!(
        ask(&svc, &root_a, &alice_arn, "oss:GetObject", "*").await,
        ok(Allow, "Policies")
    );
    assert_eq!(
        ask(&svc, &root_a, &w.arn("root"), "ecs:DeleteInstance", "*").await,
        ok(Allow, "RootOfAccount")
    );

    // Bob has no tessera:Authorize: may ask about himself only.
    assert_eq!(
        ask(&svc, &bob, &w.arn("user/bob"), "oss:GetObject", "*").await,
        ok(ImplicitDeny, "Policies")
    );
    let denied = ask(&svc, &bob, &alice_arn, "oss:GetObject", "*").await;
    let (code, message) = denied.unwrap_err();
    assert_eq!(code, tonic::Code::PermissionDenied);
    assert!(message.starts_with("NoPermission: "), "{message}");
    // ... and learns nothing about who exists.
    assert_eq!(
        ask(&svc, &bob, &w.arn("user/nobody"), "oss:GetObject", "*")
            .await
            .unwrap_err()
            .0,
        tonic::Code::PermissionDenied
    );
    // Carol holds tessera:Authorize on the account's users (not on its roles).
    assert_eq!(
        ask(&svc, &carol, &alice_arn, "oss:GetObject", "*").await,
        ok(Allow, "Policies")
    );
    assert_eq!(
        ask(&svc, &carol, &w.arn("role/Ops"), "ecs:StartInstance", "*")
            .await
            .unwrap_err()
            .0,
        tonic::Code::PermissionDenied
    );
    assert_eq!(
        ask(&svc, &carol, &w.arn("user/nobody"), "oss:GetObject", "*")
            .await
            .unwrap_err()
            .0,
        tonic::Code::NotFound
    );
    // Another account's caller, even an administrator there, is refused.
    let (code, _) = ask(&svc, &eve, &alice_arn, "oss:GetObject", "*")
        .await
        .unwrap_err();
    assert_eq!(code, tonic::Code::PermissionDenied);
    assert_eq!(
        ask(&svc, &root(&w.b), &alice_arn, "oss:GetObject", "*")
            .await
            .unwrap_err()
            .0,
        tonic::Code::PermissionDenied
    );

    // Malformed subjects and items.
    assert_eq!(
        ask(&svc, &alice, "acs:ram::1:user/alice", "oss:GetObject", "*")
            .await
            .unwrap_err()
            .0,
        tonic::Code::InvalidArgument
    );
    assert_eq!(
        ask(&svc, &alice, &alice_arn, "", "*").await.unwrap_err().0,
        tonic::Code::InvalidArgument
    );
    for kind in [
        pb::subject::Kind::SecurityToken("eyJ...".into()),
        pb::subject::Kind::SignedRequest(pb::SignedHttpRequest::default()),
    ] {
        let status = svc
            .authorize(request(
                pb::AuthorizeRequest {
                    subject: Some(pb::Subject {
                        kind: Some(kind),
                        source_ip: String::new(),
                        secure_transport: false,
                    }),
                    item: Some(item("oss:GetObject", "*")),
                    min_revision: 0,
                    explain: false,
                },
                &alice,
            ))
            .await
            .unwrap_err();
        // Verified like a caller's credential (tests/authorize_subjects.rs has the rest).
        assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");
        assert!(status.message().contains("Subject:"), "{status:?}");
    }

    // Context: the subject's facts reach conditions; caller-supplied Tessera keys do not.
    policy(
        store,
        &w.a,
        "OfficeOnly",
        r#"{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*","Condition":{"IpAddress":{"acs:SourceIp":"10.0.0.0/8"},"Bool":{"acs:SecureTransport":"true"},"StringEquals":{"kms:Purpose":"backup"}}}"#,
    )
    .await;
    let attached = store
        .attach_policy(&w.a, Target::User("bob"), PolicyType::Custom, "OfficeOnly")
        .await
        .unwrap();
    svc.cache()
        .invalidate(
            &store
                .changes_since(Revision(attached.revision.0 - 1), 100)
                .await
                .unwrap(),
        )
        .await;
    let decrypt = |source_ip: &str, secure: bool, purpose: &str| pb::AuthorizeRequest {
        subject: Some(pb::Subject {
            kind: Some(pb::subject::Kind::PrincipalArn(w.arn("user/bob"))),
            source_ip: source_ip.into(),
            secure_transport: secure,
        }),
        item: Some(pb::AuthorizeItem {
            action: "kms:Decrypt".into(),
            resource: "*".into(),
            context: vec![
                pb::ContextEntry {
                    key: "kms:Purpose".into(),
                    values: vec![purpose.into()],
                },
                pb::ContextEntry {
                    key: "acs:SourceIp".into(),
                    values: vec!["10.1.2.3".into()],
                },
            ],
        }),
        min_revision: 0,
        explain: false,
    };
    for (ip, secure, purpose, expected) in [
        ("10.9.9.9", true, "backup", Allow),
        ("192.0.2.9", true, "backup", ImplicitDeny),
        ("", true, "backup", ImplicitDeny),
        ("10.9.9.9", false, "backup", ImplicitDeny),
        ("10.9.9.9", true, "restore", ImplicitDeny),
    ] {
        let got = svc
            .authorize(request(decrypt(ip, secure, purpose), &bob))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            decision(got.result.as_ref().unwrap()),
            expected,
            "{ip} {secure} {purpose}"
        );
    }
    let bad_ip = svc
        .authorize(request(decrypt("not-an-ip", true, "backup"), &bob))
        .await
        .unwrap_err();
    assert_eq!(bad_ip.code(), tonic::Code::InvalidArgument);

    // Invalidation: detaching the group's deny changes the decision once the changes are
    // applied, and not before.
    let before = store.current_revision().await.unwrap();
    store
        .detach_policy(
            &w.a,
            Target::Group("devs"),
            PolicyType::Custom,
            "DenyDelete",
        )
        .await
        .unwrap();
    assert_eq!(
        ask(&svc, &alice, &alice_arn, "oss:DeleteObject", &own_bucket).await,
        ok(ExplicitDeny, "Policies"),
        "cached until invalidated"
    );
    let changes = store.changes_since(before, 100).await.unwrap();
    assert!(!changes.is_empty());
    svc.cache().invalidate(&changes).await;
    assert_eq!(
        ask(&svc, &alice, &alice_arn, "oss:DeleteObject", &own_bucket).await,
        ok(Allow, "Policies")
    );
    // A user change evicts that user: detaching alice's own policy.
    let before = store.current_revision().await.unwrap();
    store
        .detach_policy(&w.a, Target::User("alice"), PolicyType::Custom, "AllowOss")
        .await
        .unwrap();
    svc.cache()
        .invalidate(&store.changes_since(before, 100).await.unwrap())
        .await;
    assert_eq!(
        ask(&svc, &alice, &alice_arn, "oss:GetObject", "*").await,
        ok(ImplicitDeny, "Policies")
    );
}

trait UserId {
    fn caller_user_id(&self) -> String;
}

impl UserId for Authenticated {
    fn caller_user_id(&self) -> String {
        match &*self.caller {
            Caller::User { user_id, .. } => user_id.clone(),
            other => panic!("not a user: {other}"),
        }
    }
}

both!(authorize_scenario, authorize_sqlite, authorize_postgres);

async fn batch_scenario(store: &SqlStore) {
    let w = world(store).await;
    let svc = service(store);
    let alice = user_caller(store, &w.a, "alice").await;
    let items = vec![
        item("oss:GetObject", "*"),
        item("oss:DeleteObject", "*"),
        item("ecs:StartInstance", "*"),
        item("oss:PutObject", &format!("acs:oss:*:{}:b/k", w.b)),
        item("oss:ListObjects", "*"),
    ];
    let got = svc
        .batch_authorize(request(
            pb::BatchAuthorizeRequest {
                subject: Some(by_arn(&w.arn("user/alice"))),
                items: items.clone(),
                min_revision: 0,
                explain: true,
            },
            &alice,
        ))
        .await
        .unwrap()
        .into_inner();
    let decisions: Vec<(pb::Decision, &str)> = got
        .results
        .iter()
        .map(|r| (decision(r), r.reason.as_str()))
        .collect();
    use pb::Decision::{Allow, ExplicitDeny, ImplicitDeny};
    assert_eq!(
        decisions,
        [
            (Allow, "Policies"),
            (ExplicitDeny, "Policies"),
            (ImplicitDeny, "Policies"),
            (ImplicitDeny, "CrossAccount"),
            (Allow, "Policies"),
        ]
    );
    assert_eq!(got.results[0].matched[0].policy_name, "AllowOss");
    assert_eq!(got.results[1].matched[0].policy_name, "DenyDelete");
    assert!(got.results[3].matched.is_empty());
    assert_eq!(got.principal.unwrap().arn, w.arn("user/alice"));

    // SimulatePrincipalPolicy: carol has no tessera:SimulatePrincipalPolicy; root does.
    let simulate = |auth: &Authenticated| {
        svc.simulate_principal_policy(request(
            pb::SimulatePrincipalPolicyRequest {
                principal_arn: w.arn("user/alice"),
                items: items.clone(),
                min_revision: 0,
            },
            auth,
        ))
    };
    let carol = user_caller(store, &w.a, "carol").await;
    assert_eq!(
        simulate(&carol).await.unwrap_err().code(),
        tonic::Code::PermissionDenied
    );
    let got = simulate(&root(&w.a)).await.unwrap().into_inner();
    assert_eq!(got.results.len(), items.len());
    assert_eq!(decision(&got.results[1]), ExplicitDeny);
    assert_eq!(got.results[1].matched[0].sid, "NoDelete");
    assert_eq!(
        simulate(&alice).await.unwrap().into_inner().results.len(),
        items.len(),
        "about herself"
    );
}

both!(batch_scenario, batch_sqlite, batch_postgres);

/// `min_revision` with a running change feed: the decision after a write reflects it.
async fn min_revision_scenario(store: &SqlStore) {
    let w = world(store).await;
    let cache = PrincipalCache::new(store.clone(), 1000);
    let feed = store.change_feed(
        store.current_revision().await.unwrap(),
        FeedOptions {
            poll_interval: Duration::from_secs(30),
            ..FeedOptions::default()
        },
    );
    let svc = AuthorizerService::new(cache.clone(), authenticator(store))
        .with_feed(feed.watcher())
        .with_wait_timeout(Duration::from_secs(5));
    let invalidation = tokio::spawn(run_invalidation(feed, cache));
    let bob = user_caller(store, &w.a, "bob").await;
    let bob_arn = w.arn("user/bob");
    let get = |min_revision: u64| pb::AuthorizeRequest {
        subject: Some(by_arn(&bob_arn)),
        item: Some(item("oss:GetObject", "*")),
        min_revision,
        explain: false,
    };
    let first = svc
        .authorize(request(get(0), &bob))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        decision(first.result.as_ref().unwrap()),
        pb::Decision::ImplicitDeny
    );

    for round in 0..3 {
        let committed = if round % 2 == 0 {
            store
                .attach_policy(&w.a, Target::User("bob"), PolicyType::Custom, "AllowOss")
                .await
                .unwrap()
        } else {
            store
                .detach_policy(&w.a, Target::User("bob"), PolicyType::Custom, "AllowOss")
                .await
                .unwrap()
        };
        let min = u64::try_from(committed.revision.0).unwrap();
        let got = svc
            .authorize(request(get(min), &bob))
            .await
            .unwrap()
            .into_inner();
        let expected = if round % 2 == 0 {
            pb::Decision::Allow
        } else {
            pb::Decision::ImplicitDeny
        };
        assert_eq!(decision(got.result.as_ref().unwrap()), expected, "{round}");
        assert!(got.revision >= min, "{} < {min}", got.revision);
    }

    // A revision that never comes: UNAVAILABLE after the wait.
    let svc = svc.with_wait_timeout(Duration::from_millis(200));
    let status = svc
        .authorize(request(get(1 << 40), &bob))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable);
    assert!(
        status.message().starts_with("ServiceUnavailable: "),
        "{}",
        status.message()
    );
    invalidation.abort();
}

both!(
    min_revision_scenario,
    min_revision_sqlite,
    min_revision_postgres
);

/// A cache of capacity 0 keeps nothing: with no feed at all, every decision sees the store as
/// it is now (what `principal_cache_capacity = 0` and tessera-bench's `authorize-cold` use).
async fn uncached_scenario(store: &SqlStore) {
    let w = world(store).await;
    let cache = PrincipalCache::new(store.clone(), 0);
    let svc = AuthorizerService::new(cache.clone(), authenticator(store));
    let bob = user_caller(store, &w.a, "bob").await;
    let ask_bob = pb::AuthorizeRequest {
        subject: Some(by_arn(&w.arn("user/bob"))),
        item: Some(item("oss:GetObject", "*")),
        min_revision: 0,
        explain: false,
    };
    for round in 0..4 {
        let expected = if round % 2 == 0 {
            pb::Decision::ImplicitDeny
        } else {
            pb::Decision::Allow
        };
        let got = svc
            .authorize(request(ask_bob.clone(), &bob))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(decision(got.result.as_ref().unwrap()), expected, "{round}");
        if round % 2 == 0 {
            store
                .attach_policy(&w.a, Target::User("bob"), PolicyType::Custom, "AllowOss")
                .await
                .unwrap();
        } else {
            store
                .detach_policy(&w.a, Target::User("bob"), PolicyType::Custom, "AllowOss")
                .await
                .unwrap();
        }
    }
    assert_eq!(cache.settled_entry_count().await, 0);
}

both!(uncached_scenario, uncached_sqlite, uncached_postgres);

/// Without a feed, `min_revision` newer than the cached set reloads it.
#[tokio::test]
async fn min_revision_without_a_feed_reloads() {
    let db = TestDb::sqlite().await;
    let store = &db.store;
    let w = world(store).await;
    let svc = service(store);
    let bob = user_caller(store, &w.a, "bob").await;
    assert_eq!(
        ask(&svc, &bob, &w.arn("user/bob"), "oss:GetObject", "*")
            .await
            .unwrap()
            .0,
        pb::Decision::ImplicitDeny
    );
    let committed = store
        .attach_policy(&w.a, Target::User("bob"), PolicyType::Custom, "AllowOss")
        .await
        .unwrap();
    let got = svc
        .authorize(request(
            pb::AuthorizeRequest {
                subject: Some(by_arn(&w.arn("user/bob"))),
                item: Some(item("oss:GetObject", "*")),
                min_revision: u64::try_from(committed.revision.0).unwrap(),
                explain: false,
            },
            &bob,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(decision(got.result.as_ref().unwrap()), pb::Decision::Allow);
    db.finish().await;
}

// --- decision fixtures ---

/// Keys Tessera sets itself for every decision (`Caller::fill_context`).
const TESSERA_KEYS: &[&str] = &[
    "acs:CurrentTime",
    "acs:SecureTransport",
    "acs:MFAPresent",
    "acs:SourceIp",
    "acs:UserAgent",
    "acs:Referer",
    "acs:SourceVpc",
    "acs:AccessId",
    "acs:PrincipalARN",
    "acs:PrincipalAccount",
    "acs:TokenIssueTime",
    "sts:SourceIdentity",
];

/// The keys of [`TESSERA_KEYS`] that every decision for a user carries.
const ALWAYS_SET: &[&str] = &[
    "acs:CurrentTime",
    "acs:SecureTransport",
    "acs:MFAPresent",
    "acs:PrincipalARN",
    "acs:PrincipalAccount",
];

/// How a fixture request maps onto an Authorize call: the subject facts and the received time
/// that reproduce its Tessera-set keys, or why it cannot be replayed.
struct Mapped {
    context: Vec<pb::ContextEntry>,
    source_ip: String,
    secure_transport: bool,
    now: Timestamp,
}

fn map_request(
    request: &tessera_tests::FixtureRequest,
    documents: &str,
    account: &AccountId,
) -> Result<Mapped, String> {
    if request.known_bug.is_some() {
        return Err("known bug".into());
    }
    if let Some(other) = tessera_iam::authorize::resource_account(&request.resource)
        && other != account.as_str()
    {
        return Err("resource of another account (own-account rule)".into());
    }
    let mut mapped = Mapped {
        context: Vec::new(),
        source_ip: String::new(),
        secure_transport: false,
        now: Timestamp::now(),
    };
    let lower_docs = documents.to_ascii_lowercase();
    let mut given = Vec::new();
    for (key, values) in &request.context {
        let values = values.values();
        let tessera_key = TESSERA_KEYS.iter().find(|k| k.eq_ignore_ascii_case(key));
        let Some(tessera_key) = tessera_key else {
            mapped.context.push(pb::ContextEntry {
                key: key.clone(),
                values: values.to_vec(),
            });
            continue;
        };
        given.push(*tessera_key);
        let [value] = values else {
            return Err(format!("{key} has several values"));
        };
        match *tessera_key {
            "acs:CurrentTime" => {
                let t: Timestamp = value.parse().map_err(|_| format!("{key}={value}"))?;
                if format_time(t) != *value {
                    return Err(format!("{key}={value} is not in Tessera's format"));
                }
                mapped.now = t;
            }
            "acs:SourceIp" => {
                let ip: std::net::IpAddr = value.parse().map_err(|_| format!("{key}={value}"))?;
                if ip.to_canonical().to_string() != *value {
                    return Err(format!("{key}={value} is not canonical"));
                }
                mapped.source_ip = value.clone();
            }
            "acs:SecureTransport" if value == "true" || value == "false" => {
                mapped.secure_transport = value == "true";
            }
            "acs:MFAPresent" if value == "false" => {}
            _ => return Err(format!("{key} cannot be set through Authorize")),
        }
    }
    // Keys Tessera sets for every user request would be present where the fixture has them
    // absent (the others stay absent for an ARN-named user without those facts).
    for key in ALWAYS_SET {
        if !given.contains(key) && lower_docs.contains(&key.to_ascii_lowercase()) {
            return Err(format!("the policies test {key}, which Tessera sets"));
        }
    }
    Ok(mapped)
}

/// Replays every identity-only decision fixture through Authorize: a user per fixture with the
/// fixture's policies attached as custom policies, each request asked by the user's ARN.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decision_fixtures_replay_through_authorize() {
    let db = TestDb::sqlite().await;
    let store = &db.store;
    let fixtures = tessera_tests::load_fixtures(&tessera_tests::fixtures_dir()).unwrap();
    let svc = service(store);
    let mut failures = Vec::new();
    let (mut replayed, mut skipped) = (0, 0);
    for (file, fixture) in &fixtures {
        if fixture.session_policy.is_some() || fixture.trust_policy.is_some() {
            skipped += fixture.requests.len();
            continue;
        }
        let account = store.create_account("fixtures").await.unwrap().value.id;
        // The account the fixture's resources mostly name is the subject's own: rewritten to
        // the real account's id everywhere (documents, resources, context values).
        let mut counts = std::collections::BTreeMap::<&str, usize>::new();
        for r in &fixture.requests {
            if let Some(a) = tessera_iam::authorize::resource_account(&r.resource)
                && AccountId::parse(a).is_ok()
            {
                *counts.entry(a).or_default() += 1;
            }
        }
        let own = counts
            .iter()
            .max_by_key(|(_, n)| **n)
            .map(|(a, _)| (*a).to_owned());
        let rewrite = |text: &str| match &own {
            Some(own) => text.replace(own.as_str(), account.as_str()),
            None => text.to_owned(),
        };
        new_user(store, &account, "subject").await;
        let mut names = std::collections::HashMap::new();
        let mut documents = String::new();
        for (i, p) in fixture.policies.iter().enumerate() {
            let name = format!("fx{i}");
            let text = rewrite(&tessera_tests::document_text(&p.document));
            documents.push_str(&text);
            store
                .create_policy(
                    &account,
                    &NewPolicy {
                        name: name.clone(),
                        document: text,
                        description: None,
                    },
                )
                .await
                .unwrap_or_else(|e| panic!("{file}: policy {}: {e}", p.name));
            store
                .attach_policy(&account, Target::User("subject"), PolicyType::Custom, &name)
                .await
                .unwrap_or_else(|e| panic!("{file}: attach {}: {e}", p.name));
            names.insert(name, p.name.clone());
        }
        let arn = format!("acs:ram::{account}:user/subject");
        let caller = user_caller(store, &account, "subject").await;
        for (i, r) in fixture.requests.iter().enumerate() {
            let mut r = r.clone();
            r.resource = rewrite(&r.resource);
            for values in r.context.values_mut() {
                *values = match values {
                    tessera_tests::ContextValues::One(v) => {
                        tessera_tests::ContextValues::One(rewrite(v))
                    }
                    tessera_tests::ContextValues::Many(vs) => {
                        tessera_tests::ContextValues::Many(vs.iter().map(|v| rewrite(v)).collect())
                    }
                };
            }
            let r = &r;
            let mapped = match map_request(r, &documents, &account) {
                Ok(m) => m,
                Err(why) => {
                    if std::env::var_os("TESSERA_SHOW_SKIPPED").is_some() {
                        eprintln!("skipped {file} #{i}: {why}");
                    }
                    skipped += 1;
                    continue;
                }
            };
            replayed += 1;
            let mut auth = caller.clone();
            auth.received_at = mapped.now;
            let got = svc
                .authorize(request(
                    pb::AuthorizeRequest {
                        subject: Some(pb::Subject {
                            kind: Some(pb::subject::Kind::PrincipalArn(arn.clone())),
                            source_ip: mapped.source_ip,
                            secure_transport: mapped.secure_transport,
                        }),
                        item: Some(pb::AuthorizeItem {
                            action: r.action.clone(),
                            resource: r.resource.clone(),
                            context: mapped.context,
                        }),
                        min_revision: 0,
                        explain: true,
                    },
                    &auth,
                ))
                .await;
            let result = match got {
                Ok(response) => response.into_inner().result.unwrap(),
                Err(status) => {
                    failures.push(format!("{file} #{i} {}: {status:?}", r.description));
                    continue;
                }
            };
            let expected = match r.decision {
                tessera_tests::ExpectedDecision::Allow => pb::Decision::Allow,
                tessera_tests::ExpectedDecision::ExplicitDeny => pb::Decision::ExplicitDeny,
                tessera_tests::ExpectedDecision::ImplicitDeny => pb::Decision::ImplicitDeny,
            };
            let mut want: Vec<(String, u32)> = r
                .matched
                .iter()
                .map(|m| (m.policy.clone(), u32::try_from(m.statement).unwrap()))
                .collect();
            want.sort();
            let mut have: Vec<(String, u32)> = result
                .matched
                .iter()
                .map(|m| {
                    (
                        names.get(&m.policy_name).cloned().unwrap_or_default(),
                        m.statement_index,
                    )
                })
                .collect();
            have.sort();
            if decision(&result) != expected || want != have {
                failures.push(format!(
                    "{file} #{i} {:?} ({}): expected {expected:?} {want:?}, got {:?} {have:?} ({})",
                    r.description,
                    r.summary(),
                    decision(&result),
                    result.reason
                ));
            }
        }
    }
    eprintln!("replayed {replayed} fixture requests through Authorize ({skipped} skipped)");
    assert!(replayed >= 200, "only {replayed} requests replayed");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    db.finish().await;
}
