use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use jiff::Timestamp;
use tessera_store::{
    AccountId, AccountStore, NewPolicy, NewRole, Page, PolicyStore, PolicyType, RoleStore,
    RoleUpdate, RotateStrategy, SqlStore, StoreConfig, Target,
};

use crate::support::{account, assert_code};

conformance!(
    create_get_update_delete,
    field_validation,
    names_are_unique_case_insensitively,
    pagination_visits_every_role_once,
    quota_is_enforced,
    delete_conflicts_while_policies_are_attached,
    revoking_sessions_moves_forward,
    role_principal_has_default_versions,
    accounts_are_isolated,
    concurrent_creates_of_one_name_yield_one_role
);

pub const TRUST: &str = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":["acs:ram::1234567890123456:root"]}}]}"#;
const TRUST_SERVICE: &str = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":["ecs.aliyuncs.com"]}}]}"#;

pub fn new_role(name: &str) -> NewRole {
    NewRole {
        name: name.into(),
        trust_policy: TRUST.into(),
        ..Default::default()
    }
}

fn doc(action: &str) -> String {
    format!(
        r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"{action}","Resource":"*"}}]}}"#
    )
}

async fn create_get_update_delete(store: &SqlStore) {
    let a = account(store).await;
    let created = store
        .create_role(
            &a,
            &NewRole {
                name: "ECSAdmin".into(),
                trust_policy: TRUST.into(),
                description: Some("Manages ECS.".into()),
                max_session_duration: Some(7200),
            },
        )
        .await
        .unwrap();
    let role = created.value;
    assert_eq!(role.name, "ECSAdmin");
    assert_eq!(role.id.len(), 16);
    assert_eq!(role.description, "Manages ECS.");
    assert_eq!(role.trust_policy, TRUST);
    assert_eq!(role.max_session_duration, 7200);
    assert_eq!(role.sessions_revoked_before, None);
    assert_eq!(role.created_at, role.updated_at);
    assert_eq!(store.get_role(&a, "ecsadmin").await.unwrap(), role);
    assert_eq!(store.get_role(&a, "ECSADMIN").await.unwrap(), role);

    let defaulted = store.create_role(&a, &new_role("plain")).await.unwrap();
    assert!(defaulted.revision > created.revision);
    assert_eq!(defaulted.value.max_session_duration, 3600);
    assert_eq!(
        tessera_store::DEFAULT_MAX_SESSION_DURATION,
        defaulted.value.max_session_duration
    );
    assert_eq!(defaulted.value.description, "");

    // Partial update: only the given fields change.
    let updated = store
        .update_role(
            &a,
            "ecsadmin",
            &RoleUpdate {
                max_session_duration: Some(43200),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(updated.revision > defaulted.revision);
    assert_eq!(updated.value.id, role.id);
    assert_eq!(updated.value.name, "ECSAdmin");
    assert_eq!(updated.value.max_session_duration, 43200);
    assert_eq!(updated.value.description, "Manages ECS.");
    assert_eq!(updated.value.trust_policy, TRUST);
    let updated = store
        .update_role(
            &a,
            "ECSAdmin",
            &RoleUpdate {
                trust_policy: Some(TRUST_SERVICE.into()),
                description: Some(String::new()),
                max_session_duration: None,
            },
        )
        .await
        .unwrap()
        .value;
    assert_eq!(updated.trust_policy, TRUST_SERVICE);
    assert_eq!(updated.description, "");
    assert_eq!(updated.max_session_duration, 43200);
    assert_eq!(store.get_role(&a, "ecsadmin").await.unwrap(), updated);
    assert_code(
        store
            .update_role(&a, "nobody", &RoleUpdate::default())
            .await,
        "EntityNotExist.Role",
    );

    store.delete_role(&a, "ECSADMIN").await.unwrap();
    assert_code(store.get_role(&a, "ECSAdmin").await, "EntityNotExist.Role");
    assert_code(
        store.delete_role(&a, "ECSAdmin").await,
        "EntityNotExist.Role",
    );
    // The name is free again.
    store.create_role(&a, &new_role("ecsadmin")).await.unwrap();
}

async fn field_validation(store: &SqlStore) {
    let a = account(store).await;
    let cases = [
        (new_role(""), "InvalidParameter.RoleName.Length"),
        (
            new_role(&"r".repeat(65)),
            "InvalidParameter.RoleName.Length",
        ),
        (
            new_role("ecs_admin"),
            "InvalidParameter.RoleName.InvalidChars",
        ),
        (
            new_role("ecs admin"),
            "InvalidParameter.RoleName.InvalidChars",
        ),
        (
            NewRole {
                description: Some("d".repeat(1025)),
                ..new_role("r")
            },
            "InvalidParameter.Description.Length",
        ),
        (
            NewRole {
                max_session_duration: Some(3599),
                ..new_role("r")
            },
            "InvalidParameter.MaxSessionDuration.Range",
        ),
        (
            NewRole {
                max_session_duration: Some(43201),
                ..new_role("r")
            },
            "InvalidParameter.MaxSessionDuration.Range",
        ),
        (
            NewRole {
                trust_policy: "{".into(),
                ..new_role("r")
            },
            "MalformedPolicyDocument",
        ),
        (
            NewRole {
                trust_policy: String::new(),
                ..new_role("r")
            },
            "MalformedPolicyDocument",
        ),
        (
            // An identity policy is not a trust policy: no Principal.
            NewRole {
                trust_policy: doc("ecs:*"),
                ..new_role("r")
            },
            "MalformedPolicyDocument",
        ),
        (
            NewRole {
                trust_policy: format!("{TRUST}{}", " ".repeat(5000)),
                ..new_role("r")
            },
            "InvalidParameter.AssumeRolePolicyDocument.Length",
        ),
    ];
    for (role, code) in cases {
        assert_code(store.create_role(&a, &role).await, code);
    }
    assert!(
        store
            .list_roles(&a, &Page::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    // Boundaries are accepted.
    store
        .create_role(
            &a,
            &NewRole {
                description: Some("d".repeat(1024)),
                max_session_duration: Some(43200),
                ..new_role(&"R".repeat(64))
            },
        )
        .await
        .unwrap();
    store.create_role(&a, &new_role("a.b-c")).await.unwrap();

    let updates = [
        (
            RoleUpdate {
                description: Some("d".repeat(1025)),
                ..Default::default()
            },
            "InvalidParameter.Description.Length",
        ),
        (
            RoleUpdate {
                max_session_duration: Some(100),
                ..Default::default()
            },
            "InvalidParameter.MaxSessionDuration.Range",
        ),
        (
            RoleUpdate {
                trust_policy: Some("[]".into()),
                ..Default::default()
            },
            "MalformedPolicyDocument",
        ),
    ];
    for (update, code) in updates {
        assert_code(store.update_role(&a, "a.b-c", &update).await, code);
    }
    let unchanged = store.get_role(&a, "a.b-c").await.unwrap();
    assert_eq!(unchanged.trust_policy, TRUST);
    assert_eq!(unchanged.max_session_duration, 3600);
    assert_code(
        store.list_roles(&a, &Page::first(0)).await,
        "InvalidParameter.MaxItems.Range",
    );
    assert_code(
        store.list_roles(&a, &Page::first(1001)).await,
        "InvalidParameter.MaxItems.Range",
    );
    store.list_roles(&a, &Page::first(1000)).await.unwrap();
}

async fn names_are_unique_case_insensitively(store: &SqlStore) {
    let a = account(store).await;
    store.create_role(&a, &new_role("Admin")).await.unwrap();
    for name in ["admin", "ADMIN", "Admin"] {
        assert_code(
            store.create_role(&a, &new_role(name)).await,
            "EntityAlreadyExists.Role",
        );
    }
}

async fn pagination_visits_every_role_once(store: &SqlStore) {
    let a = account(store).await;
    let names: BTreeSet<String> = (0..13).map(|i| format!("Role{i:02}")).collect();
    for name in &names {
        store.create_role(&a, &new_role(name)).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut page = Page::first(5);
    loop {
        let result = store.list_roles(&a, &page).await.unwrap();
        assert!(result.items.len() <= 5);
        seen.extend(result.items.into_iter().map(|r| r.name));
        match result.marker {
            Some(marker) => {
                assert!(result.is_truncated);
                page = Page::after(marker, 5);
            }
            None => {
                assert!(!result.is_truncated);
                break;
            }
        }
    }
    assert_eq!(seen, names.iter().cloned().collect::<Vec<_>>());
    let all = store.list_roles(&a, &Page::default()).await.unwrap();
    assert_eq!(all.items.len(), 13);
    assert!(!all.is_truncated);
    assert_eq!(all.marker, None);
}

async fn quota_is_enforced(store: &SqlStore) {
    let a = account(store).await;
    let mut config = StoreConfig::new(store.url().to_owned());
    config.quotas.roles = 2;
    config.max_connections = 2;
    let small = SqlStore::connect(&config).await.unwrap();
    small.create_role(&a, &new_role("r1")).await.unwrap();
    small.create_role(&a, &new_role("r2")).await.unwrap();
    assert_code(
        small.create_role(&a, &new_role("r3")).await,
        "LimitExceeded.Role",
    );
    small.delete_role(&a, "r1").await.unwrap();
    small.create_role(&a, &new_role("r3")).await.unwrap();
    let b = account(store).await;
    small.create_role(&b, &new_role("r1")).await.unwrap();
    assert_eq!(small.account_usage(&a).await.unwrap().roles, 2);
    small.close().await;
}

async fn delete_conflicts_while_policies_are_attached(store: &SqlStore) {
    let a = account(store).await;
    store.create_role(&a, &new_role("worker")).await.unwrap();
    store
        .attach_policy(
            &a,
            Target::Role("worker"),
            PolicyType::System,
            "ReadOnlyAccess",
        )
        .await
        .unwrap();
    assert_code(
        store.delete_role(&a, "worker").await,
        "DeleteConflict.Role.Policy",
    );
    store
        .detach_policy(
            &a,
            Target::Role("Worker"),
            PolicyType::System,
            "readonlyaccess",
        )
        .await
        .unwrap();
    store.delete_role(&a, "worker").await.unwrap();
    assert_code(store.get_role(&a, "worker").await, "EntityNotExist.Role");
}

/// A clock the test moves by hand.
fn manual_clock(start: i64) -> (Arc<AtomicI64>, tessera_store::Clock) {
    let now = Arc::new(AtomicI64::new(start));
    let reader = now.clone();
    let clock: tessera_store::Clock =
        Arc::new(move || Timestamp::from_second(reader.load(Ordering::SeqCst)).unwrap());
    (now, clock)
}

async fn revoking_sessions_moves_forward(store: &SqlStore) {
    let a = account(store).await;
    let (now, clock) = manual_clock(1_799_999_000);
    let timed = store.clone().with_clock(clock);
    let created = timed.create_role(&a, &new_role("app")).await.unwrap();
    assert_eq!(created.value.sessions_revoked_before, None);

    now.store(1_800_000_000, Ordering::SeqCst);
    let first = timed.revoke_role_sessions(&a, "APP").await.unwrap();
    assert!(first.revision > created.revision);
    let t1 = Timestamp::from_second(1_800_000_000).unwrap();
    assert_eq!(first.value.sessions_revoked_before, Some(t1));
    assert_eq!(first.value.updated_at, created.value.updated_at);
    assert_eq!(
        timed
            .get_role(&a, "app")
            .await
            .unwrap()
            .sessions_revoked_before,
        Some(t1)
    );

    now.store(1_800_000_100, Ordering::SeqCst);
    let second = timed.revoke_role_sessions(&a, "app").await.unwrap();
    assert!(second.revision > first.revision);
    let t2 = Timestamp::from_second(1_800_000_100).unwrap();
    assert_eq!(second.value.sessions_revoked_before, Some(t2));

    // A clock that steps back never moves the revocation time backwards.
    now.store(1_800_000_050, Ordering::SeqCst);
    let third = timed.revoke_role_sessions(&a, "app").await.unwrap();
    assert_eq!(third.value.sessions_revoked_before, Some(t2));

    // Other updates keep it.
    let updated = timed
        .update_role(
            &a,
            "app",
            &RoleUpdate {
                description: Some("x".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.value.sessions_revoked_before, Some(t2));
    let (principal, _) = timed.load_role_principal(&a, "app").await.unwrap();
    assert_eq!(principal.role.sessions_revoked_before, Some(t2));

    assert_code(
        timed.revoke_role_sessions(&a, "nobody").await,
        "EntityNotExist.Role",
    );
}

async fn role_principal_has_default_versions(store: &SqlStore) {
    let a = account(store).await;
    let created = store.create_role(&a, &new_role("app")).await.unwrap();
    let (principal, revision) = store.load_role_principal(&a, "App").await.unwrap();
    assert_eq!(principal.role, created.value);
    assert!(principal.policies.is_empty());
    assert!(revision >= created.revision);

    store
        .create_policy(
            &a,
            &NewPolicy {
                name: "oss-read".into(),
                document: doc("oss:Get*"),
                description: None,
            },
        )
        .await
        .unwrap();
    store
        .create_policy(
            &a,
            &NewPolicy {
                name: "unattached".into(),
                document: doc("ecs:*"),
                description: None,
            },
        )
        .await
        .unwrap();
    store
        .attach_policy(&a, Target::Role("app"), PolicyType::Custom, "oss-read")
        .await
        .unwrap();
    let attached = store
        .attach_policy(
            &a,
            Target::Role("app"),
            PolicyType::System,
            "AliyunSTSAssumeRoleAccess",
        )
        .await
        .unwrap();
    let (principal, revision) = store.load_role_principal(&a, "app").await.unwrap();
    assert!(revision >= attached.revision);
    let summary = principal
        .policies
        .iter()
        .map(|p| {
            (
                p.policy_type,
                p.name.as_str(),
                p.version_id.as_str(),
                p.document.as_str(),
            )
        })
        .collect::<Vec<_>>();
    assert_eq!(
        summary,
        vec![
            (
                PolicyType::Custom,
                "oss-read",
                "v1",
                doc("oss:Get*").as_str()
            ),
            (
                PolicyType::System,
                "AliyunSTSAssumeRoleAccess",
                "v1",
                r#"{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Resource":"*"}],"Version":"1"}"#
            ),
        ]
    );

    // A new non-default version changes nothing; making it the default does.
    store
        .create_policy_version(&a, "oss-read", &doc("oss:*"), false, RotateStrategy::None)
        .await
        .unwrap();
    let (principal, _) = store.load_role_principal(&a, "app").await.unwrap();
    assert_eq!(principal.policies[0].version_id, "v1");
    assert_eq!(principal.policies[0].document, doc("oss:Get*"));
    let set = store
        .set_default_policy_version(&a, "oss-read", "v2")
        .await
        .unwrap();
    let (principal, revision) = store.load_role_principal(&a, "app").await.unwrap();
    assert!(revision >= set.revision);
    assert_eq!(principal.policies[0].version_id, "v2");
    assert_eq!(principal.policies[0].document, doc("oss:*"));

    store
        .detach_policy(
            &a,
            Target::Role("app"),
            PolicyType::System,
            "AliyunSTSAssumeRoleAccess",
        )
        .await
        .unwrap();
    let (principal, _) = store.load_role_principal(&a, "app").await.unwrap();
    assert_eq!(principal.policies.len(), 1);
    assert_eq!(principal.policies[0].name, "oss-read");
    assert_code(
        store.load_role_principal(&a, "nobody").await,
        "EntityNotExist.Role",
    );
}

async fn accounts_are_isolated(store: &SqlStore) {
    let a = account(store).await;
    let b = account(store).await;
    store.create_role(&a, &new_role("only-a")).await.unwrap();
    store.create_role(&a, &new_role("shared")).await.unwrap();
    // The same name in another account is a different role.
    let b_shared = store.create_role(&b, &new_role("shared")).await.unwrap();
    assert_code(store.get_role(&b, "only-a").await, "EntityNotExist.Role");
    assert_code(
        store
            .update_role(
                &b,
                "only-a",
                &RoleUpdate {
                    description: Some("hijacked".into()),
                    ..Default::default()
                },
            )
            .await,
        "EntityNotExist.Role",
    );
    assert_code(store.delete_role(&b, "only-a").await, "EntityNotExist.Role");
    assert_code(
        store.revoke_role_sessions(&b, "only-a").await,
        "EntityNotExist.Role",
    );
    assert_code(
        store.load_role_principal(&b, "only-a").await,
        "EntityNotExist.Role",
    );
    assert_code(
        store
            .attach_policy(
                &b,
                Target::Role("only-a"),
                PolicyType::System,
                "AdministratorAccess",
            )
            .await,
        "EntityNotExist.Role",
    );
    assert_code(
        store.list_policies_for(&b, Target::Role("only-a")).await,
        "EntityNotExist.Role",
    );
    let listed = store.list_roles(&b, &Page::default()).await.unwrap();
    assert_eq!(listed.items, vec![b_shared.value]);
    store.delete_role(&b, "shared").await.unwrap();
    assert!(store.get_role(&a, "shared").await.is_ok());
    assert_eq!(store.get_role(&a, "only-a").await.unwrap().description, "");
    assert_eq!(store.account_usage(&a).await.unwrap().roles, 2);
    assert_eq!(store.account_usage(&b).await.unwrap().roles, 0);
    // Tenant-scoped writes need an existing account.
    let ghost = AccountId::parse("9999999999999999").unwrap();
    assert_code(
        store.create_role(&ghost, &new_role("r")).await,
        "EntityNotExist.Account",
    );
}

async fn concurrent_creates_of_one_name_yield_one_role(store: &SqlStore) {
    let a = account(store).await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = store.clone();
        let a = a.clone();
        let name = if i % 2 == 0 { "Racer" } else { "racer" };
        tasks.push(tokio::spawn(async move {
            store.create_role(&a, &new_role(name)).await
        }));
    }
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(e.code(), "EntityAlreadyExists.Role", "{e}"),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(
        store
            .list_roles(&a, &Page::default())
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}
