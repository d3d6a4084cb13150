use std::collections::BTreeSet;

use tessera_store::{
    AccountId, AccountStore, GroupStore, NewPolicy, Page, PolicyStore, PolicyType, Revision,
    RoleStore, RotateStrategy, SqlStore, StoreConfig, Target, UserStore,
};

use crate::roles::new_role;
use crate::support::{account, assert_code, user};

conformance!(
    create_get_update_delete,
    field_validation,
    names_are_unique_and_system_names_reserved,
    system_policies_are_seeded_and_read_only,
    list_policies_paginates_by_type_and_name,
    version_lifecycle,
    version_ids_are_never_reused,
    rotation_deletes_the_oldest_non_default_version,
    cascading_delete,
    delete_conflicts_while_attached,
    attach_detach_lifecycle,
    attachment_quotas,
    custom_policy_quota,
    user_principal_merges_own_and_group_policies,
    accounts_are_isolated,
    writes_log_the_entities_whose_permissions_change,
    concurrent_attaches_respect_the_quota,
    concurrent_version_creates_respect_the_limit
);

const ADMIN_DOC: &str =
    r#"{"Statement":[{"Action":"*","Effect":"Allow","Resource":"*"}],"Version":"1"}"#;
const ASSUME_DOC: &str =
    r#"{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Resource":"*"}],"Version":"1"}"#;

fn doc(action: &str) -> String {
    format!(
        r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"{action}","Resource":"*"}}]}}"#
    )
}

fn new_policy(name: &str, document: &str) -> NewPolicy {
    NewPolicy {
        name: name.into(),
        document: document.into(),
        description: None,
    }
}

async fn custom(store: &SqlStore, a: &AccountId, name: &str) {
    store
        .create_policy(a, &new_policy(name, &doc("oss:Get*")))
        .await
        .unwrap();
}

async fn attach(
    store: &SqlStore,
    a: &AccountId,
    target: Target<'_>,
    policy_type: PolicyType,
    name: &str,
) -> tessera_store::Committed<()> {
    store
        .attach_policy(a, target, policy_type, name)
        .await
        .unwrap()
}

/// A second handle on the same database with its own quotas.
async fn with_quotas(store: &SqlStore, set: impl FnOnce(&mut tessera_store::Quotas)) -> SqlStore {
    let mut config = StoreConfig::new(store.url().to_owned());
    set(&mut config.quotas);
    config.max_connections = 8;
    SqlStore::connect(&config).await.unwrap()
}

fn version_ids(versions: &[tessera_store::PolicyVersion]) -> Vec<(String, bool)> {
    versions
        .iter()
        .map(|v| (v.version_id.clone(), v.is_default))
        .collect()
}

async fn create_get_update_delete(store: &SqlStore) {
    let a = account(store).await;
    let created = store
        .create_policy(
            &a,
            &NewPolicy {
                name: "OSS-Reader".into(),
                document: doc("oss:Get*"),
                description: Some("Reads OSS.".into()),
            },
        )
        .await
        .unwrap();
    let (info, version) = created.value;
    assert_eq!(info.name, "OSS-Reader");
    assert_eq!(info.policy_type, PolicyType::Custom);
    assert_eq!(info.description, "Reads OSS.");
    assert_eq!(info.default_version, "v1");
    assert_eq!(info.attachment_count, 0);
    assert_eq!(info.created_at, info.updated_at);
    assert_eq!(version.version_id, "v1");
    assert!(version.is_default);
    assert_eq!(version.document, doc("oss:Get*"));
    assert_eq!(version.created_at, info.created_at);

    let (got, default) = store
        .get_policy(&a, PolicyType::Custom, "oss-reader")
        .await
        .unwrap();
    assert_eq!(got, info);
    assert_eq!(default, version);
    // The type is part of the address.
    assert_code(
        store.get_policy(&a, PolicyType::System, "OSS-Reader").await,
        "EntityNotExist.Policy",
    );
    assert_code(
        store.get_policy(&a, PolicyType::Custom, "nope").await,
        "EntityNotExist.Policy",
    );

    let updated = store
        .update_policy_description(&a, "OSS-READER", "Reads objects.")
        .await
        .unwrap();
    assert!(updated.revision > created.revision);
    assert_eq!(updated.value.description, "Reads objects.");
    assert_eq!(updated.value.name, "OSS-Reader");
    assert_eq!(updated.value.default_version, "v1");
    let (got, _) = store
        .get_policy(&a, PolicyType::Custom, "OSS-Reader")
        .await
        .unwrap();
    assert_eq!(got, updated.value);
    store
        .update_policy_description(&a, "OSS-Reader", "")
        .await
        .unwrap();
    assert_code(
        store.update_policy_description(&a, "nope", "x").await,
        "EntityNotExist.Policy",
    );

    let deleted = store.delete_policy(&a, "oss-reader", false).await.unwrap();
    assert!(deleted.revision > updated.revision);
    assert_code(
        store.get_policy(&a, PolicyType::Custom, "OSS-Reader").await,
        "EntityNotExist.Policy",
    );
    assert_code(
        store.delete_policy(&a, "OSS-Reader", false).await,
        "EntityNotExist.Policy",
    );
    // The name is free again and starts over at v1.
    let again = store
        .create_policy(&a, &new_policy("OSS-Reader", &doc("oss:List*")))
        .await
        .unwrap();
    assert_eq!(again.value.1.version_id, "v1");
}

async fn field_validation(store: &SqlStore) {
    let a = account(store).await;
    let trust = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":["acs:ram::1234567890123456:root"]}}]}"#;
    let cases = [
        (
            new_policy("", &doc("a:b")),
            "InvalidParameter.PolicyName.Length",
        ),
        (
            new_policy(&"p".repeat(129), &doc("a:b")),
            "InvalidParameter.PolicyName.Length",
        ),
        (
            new_policy("read.only", &doc("a:b")),
            "InvalidParameter.PolicyName.InvalidChars",
        ),
        (
            new_policy("read_only", &doc("a:b")),
            "InvalidParameter.PolicyName.InvalidChars",
        ),
        (
            NewPolicy {
                description: Some("d".repeat(1025)),
                ..new_policy("p", &doc("a:b"))
            },
            "InvalidParameter.Description.Length",
        ),
        (new_policy("p", "{"), "MalformedPolicyDocument"),
        (new_policy("p", ""), "MalformedPolicyDocument"),
        (new_policy("p", trust), "MalformedPolicyDocument"),
        (
            new_policy("p", &format!("{}{}", doc("a:b"), " ".repeat(6200))),
            "InvalidParameter.PolicyDocument.Length",
        ),
    ];
    for (policy, code) in cases {
        assert_code(store.create_policy(&a, &policy).await, code);
    }
    assert!(
        store
            .list_policies(&a, Some(PolicyType::Custom), &Page::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert_eq!(store.account_usage(&a).await.unwrap().custom_policies, 0);
    // Boundaries are accepted.
    store
        .create_policy(
            &a,
            &NewPolicy {
                description: Some("d".repeat(1024)),
                ..new_policy(&"P".repeat(128), &doc("a:b"))
            },
        )
        .await
        .unwrap();
    custom(store, &a, "p").await;
    assert_code(
        store
            .update_policy_description(&a, "p", &"d".repeat(1025))
            .await,
        "InvalidParameter.Description.Length",
    );
    assert_code(
        store
            .create_policy_version(&a, "p", "{", false, RotateStrategy::None)
            .await,
        "MalformedPolicyDocument",
    );
    assert_code(
        store
            .create_policy_version(&a, "p", trust, true, RotateStrategy::None)
            .await,
        "MalformedPolicyDocument",
    );
    assert_eq!(
        store
            .list_policy_versions(&a, PolicyType::Custom, "p")
            .await
            .unwrap()
            .len(),
        1
    );
    for max in [0, 1001] {
        assert_code(
            store.list_policies(&a, None, &Page::first(max)).await,
            "InvalidParameter.MaxItems.Range",
        );
    }
    store
        .list_policies(&a, None, &Page::first(1000))
        .await
        .unwrap();
}

async fn names_are_unique_and_system_names_reserved(store: &SqlStore) {
    let a = account(store).await;
    custom(store, &a, "Deployer").await;
    for name in ["deployer", "DEPLOYER", "Deployer"] {
        assert_code(
            store
                .create_policy(&a, &new_policy(name, &doc("a:b")))
                .await,
            "EntityAlreadyExists.Policy",
        );
    }
    for name in [
        "AdministratorAccess",
        "administratoraccess",
        "ReadOnlyAccess",
    ] {
        assert_code(
            store
                .create_policy(&a, &new_policy(name, &doc("a:b")))
                .await,
            "EntityAlreadyExists.Policy",
        );
    }
}

async fn system_policies_are_seeded_and_read_only(store: &SqlStore) {
    let a = account(store).await;
    let (admin, admin_v1) = store
        .get_policy(&a, PolicyType::System, "AdministratorAccess")
        .await
        .unwrap();
    assert_eq!(admin.name, "AdministratorAccess");
    assert_eq!(admin.policy_type, PolicyType::System);
    assert_eq!(admin.default_version, "v1");
    assert_eq!(admin.attachment_count, 0);
    assert_eq!(admin_v1.version_id, "v1");
    assert!(admin_v1.is_default);
    assert_eq!(admin_v1.document, ADMIN_DOC);
    let (sts, sts_v1) = store
        .get_policy(&a, PolicyType::System, "aliyunstsassumeroleaccess")
        .await
        .unwrap();
    assert_eq!(sts.name, "AliyunSTSAssumeRoleAccess");
    assert_eq!(sts.policy_type, PolicyType::System);
    assert_eq!(sts_v1.document, ASSUME_DOC);
    // Every seeded document is a valid policy.
    let system = store
        .list_policies(&a, Some(PolicyType::System), &Page::default())
        .await
        .unwrap();
    let names = system
        .items
        .iter()
        .map(|p| p.name.as_str())
        .collect::<BTreeSet<_>>();
    for expected in [
        "AdministratorAccess",
        "ReadOnlyAccess",
        "AliyunSTSAssumeRoleAccess",
        "AliyunRAMFullAccess",
        "AliyunRAMReadOnlyAccess",
    ] {
        assert!(names.contains(expected), "{expected} is seeded");
    }
    for p in &system.items {
        assert_eq!(p.policy_type, PolicyType::System);
        let (_, v) = store
            .get_policy(&a, PolicyType::System, &p.name)
            .await
            .unwrap();
        tessera_policy::parse(
            &v.document,
            tessera_policy::PolicyKind::Identity,
            &Default::default(),
        )
        .unwrap();
    }
    // Not custom policies of the account.
    assert_code(
        store
            .get_policy(&a, PolicyType::Custom, "AdministratorAccess")
            .await,
        "EntityNotExist.Policy",
    );
    assert!(
        store
            .list_policies(&a, Some(PolicyType::Custom), &Page::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert_eq!(
        version_ids(
            &store
                .list_policy_versions(&a, PolicyType::System, "AdministratorAccess")
                .await
                .unwrap()
        ),
        vec![("v1".to_owned(), true)]
    );
    assert_eq!(
        store
            .get_policy_version(&a, PolicyType::System, "AdministratorAccess", "v1")
            .await
            .unwrap(),
        admin_v1
    );

    // Read-only.
    assert_code(
        store
            .update_policy_description(&a, "AdministratorAccess", "mine")
            .await,
        "NoPermission",
    );
    assert_code(
        store.delete_policy(&a, "AdministratorAccess", true).await,
        "NoPermission",
    );
    assert_code(
        store
            .create_policy_version(
                &a,
                "AdministratorAccess",
                &doc("a:b"),
                true,
                RotateStrategy::None,
            )
            .await,
        "NoPermission",
    );
    assert_code(
        store
            .set_default_policy_version(&a, "AdministratorAccess", "v1")
            .await,
        "NoPermission",
    );
    assert_code(
        store
            .delete_policy_version(&a, "AliyunSTSAssumeRoleAccess", "v1")
            .await,
        "NoPermission",
    );
    let (unchanged, unchanged_v1) = store
        .get_policy(&a, PolicyType::System, "AdministratorAccess")
        .await
        .unwrap();
    assert_eq!(unchanged, admin);
    assert_eq!(unchanged_v1, admin_v1);

    // Attachable, and counted per account.
    user(store, &a, "alice").await;
    store
        .attach_policy(
            &a,
            Target::User("alice"),
            PolicyType::System,
            "AdministratorAccess",
        )
        .await
        .unwrap();
    store.create_role(&a, &new_role("app")).await.unwrap();
    store
        .attach_policy(
            &a,
            Target::Role("app"),
            PolicyType::System,
            "AliyunSTSAssumeRoleAccess",
        )
        .await
        .unwrap();
    let (admin, _) = store
        .get_policy(&a, PolicyType::System, "AdministratorAccess")
        .await
        .unwrap();
    assert_eq!(admin.attachment_count, 1);
    let b = account(store).await;
    let (admin_b, _) = store
        .get_policy(&b, PolicyType::System, "AdministratorAccess")
        .await
        .unwrap();
    assert_eq!(admin_b.attachment_count, 0);
    // A system policy in use still cannot be deleted.
    assert_code(
        store.delete_policy(&a, "AdministratorAccess", false).await,
        "NoPermission",
    );
}

async fn list_policies_paginates_by_type_and_name(store: &SqlStore) {
    let a = account(store).await;
    let customs = ["zeta", "Alpha", "mid-1", "mid-0", "b"];
    for name in customs {
        custom(store, &a, name).await;
    }
    let b = account(store).await;
    custom(store, &b, "other-account").await;
    let system = store
        .list_policies(&a, Some(PolicyType::System), &Page::first(1000))
        .await
        .unwrap();
    assert!(!system.is_truncated);
    let mut expected = customs
        .iter()
        .map(|n| (PolicyType::Custom, n.to_string()))
        .collect::<Vec<_>>();
    expected.sort_by_key(|(_, n)| n.to_ascii_lowercase());
    let mut system_names = system
        .items
        .iter()
        .map(|p| (PolicyType::System, p.name.clone()))
        .collect::<Vec<_>>();
    system_names.sort_by_key(|(_, n)| n.to_ascii_lowercase());
    expected.extend(system_names);

    let mut seen = Vec::new();
    let mut page = Page::first(4);
    let mut pages = 0;
    loop {
        let result = store.list_policies(&a, None, &page).await.unwrap();
        pages += 1;
        assert!(result.items.len() <= 4);
        seen.extend(result.items.iter().map(|p| (p.policy_type, p.name.clone())));
        match result.marker {
            Some(marker) => {
                assert!(result.is_truncated);
                page = Page::after(marker, 4);
            }
            None => {
                assert!(!result.is_truncated);
                break;
            }
        }
    }
    assert_eq!(seen, expected);
    assert_eq!(pages, expected.len().div_ceil(4));

    // One type only, paginated.
    let first = store
        .list_policies(&a, Some(PolicyType::Custom), &Page::first(3))
        .await
        .unwrap();
    assert!(first.is_truncated);
    let rest = store
        .list_policies(
            &a,
            Some(PolicyType::Custom),
            &Page::after(first.marker.unwrap(), 3),
        )
        .await
        .unwrap();
    assert!(!rest.is_truncated);
    let names = first
        .items
        .iter()
        .chain(&rest.items)
        .map(|p| p.name.as_str())
        .collect::<Vec<_>>();
    assert_eq!(names, vec!["Alpha", "b", "mid-0", "mid-1", "zeta"]);
    assert_code(
        store
            .list_policies(&a, None, &Page::after("garbage", 3))
            .await,
        "InvalidParameter.Marker",
    );
}

async fn version_lifecycle(store: &SqlStore) {
    let a = account(store).await;
    custom(store, &a, "p").await;
    let mut last = Revision::default();
    for i in 2..=4 {
        let v = store
            .create_policy_version(
                &a,
                "P",
                &doc(&format!("s{i}:*")),
                false,
                RotateStrategy::None,
            )
            .await
            .unwrap();
        assert!(v.revision > last);
        last = v.revision;
        assert_eq!(v.value.version_id, format!("v{i}"));
        assert!(!v.value.is_default);
        assert_eq!(v.value.document, doc(&format!("s{i}:*")));
    }
    let v5 = store
        .create_policy_version(&a, "p", &doc("s5:*"), true, RotateStrategy::None)
        .await
        .unwrap()
        .value;
    assert_eq!(v5.version_id, "v5");
    assert!(v5.is_default);
    let (info, default) = store.get_policy(&a, PolicyType::Custom, "p").await.unwrap();
    assert_eq!(info.default_version, "v5");
    assert_eq!(default, v5);
    assert_eq!(
        version_ids(
            &store
                .list_policy_versions(&a, PolicyType::Custom, "p")
                .await
                .unwrap()
        ),
        vec![
            ("v1".to_owned(), false),
            ("v2".to_owned(), false),
            ("v3".to_owned(), false),
            ("v4".to_owned(), false),
            ("v5".to_owned(), true),
        ]
    );
    assert_code(
        store
            .create_policy_version(&a, "p", &doc("s6:*"), false, RotateStrategy::None)
            .await,
        "LimitExceeded.Policy.Version",
    );
    let v3 = store
        .get_policy_version(&a, PolicyType::Custom, "p", "v3")
        .await
        .unwrap();
    assert_eq!(v3.document, doc("s3:*"));
    assert!(!v3.is_default);

    // SetDefaultPolicyVersion.
    let set = store
        .set_default_policy_version(&a, "p", "v3")
        .await
        .unwrap();
    assert_eq!(set.value.default_version, "v3");
    let (info, default) = store.get_policy(&a, PolicyType::Custom, "p").await.unwrap();
    assert_eq!(info.default_version, "v3");
    assert_eq!(default.document, doc("s3:*"));
    assert!(default.is_default);
    assert!(
        !store
            .get_policy_version(&a, PolicyType::Custom, "p", "v5")
            .await
            .unwrap()
            .is_default
    );

    // Version ids.
    for bad in [
        "3",
        "v",
        "v0",
        "v03",
        "V3",
        "x3",
        "v-1",
        "v3a",
        "",
        "v99999999999999999999",
    ] {
        assert_code(
            store
                .get_policy_version(&a, PolicyType::Custom, "p", bad)
                .await,
            "InvalidParameter.VersionId.Format",
        );
        assert_code(
            store.set_default_policy_version(&a, "p", bad).await,
            "InvalidParameter.VersionId.Format",
        );
        assert_code(
            store.delete_policy_version(&a, "p", bad).await,
            "InvalidParameter.VersionId.Format",
        );
    }
    assert_code(
        store
            .get_policy_version(&a, PolicyType::Custom, "p", "v6")
            .await,
        "EntityNotExist.Policy.Version",
    );
    assert_code(
        store.set_default_policy_version(&a, "p", "v6").await,
        "EntityNotExist.Policy.Version",
    );
    assert_code(
        store.delete_policy_version(&a, "p", "v6").await,
        "EntityNotExist.Policy.Version",
    );
    assert_code(
        store
            .get_policy_version(&a, PolicyType::Custom, "nope", "v1")
            .await,
        "EntityNotExist.Policy",
    );
    assert_code(
        store
            .list_policy_versions(&a, PolicyType::Custom, "nope")
            .await,
        "EntityNotExist.Policy",
    );
    assert_code(
        store
            .create_policy_version(&a, "nope", &doc("a:b"), false, RotateStrategy::None)
            .await,
        "EntityNotExist.Policy",
    );
    assert_code(
        store.set_default_policy_version(&a, "nope", "v1").await,
        "EntityNotExist.Policy",
    );
    assert_code(
        store.delete_policy_version(&a, "nope", "v1").await,
        "EntityNotExist.Policy",
    );

    // DeletePolicyVersion.
    assert_code(
        store.delete_policy_version(&a, "p", "v3").await,
        "DeleteConflict.Policy.Version.Default",
    );
    store.delete_policy_version(&a, "p", "v5").await.unwrap();
    assert_code(
        store.delete_policy_version(&a, "p", "v5").await,
        "EntityNotExist.Policy.Version",
    );
    assert_code(
        store
            .get_policy_version(&a, PolicyType::Custom, "p", "v5")
            .await,
        "EntityNotExist.Policy.Version",
    );
    // Room for one more.
    let v6 = store
        .create_policy_version(&a, "p", &doc("s6:*"), false, RotateStrategy::None)
        .await
        .unwrap()
        .value;
    assert_eq!(v6.version_id, "v6");
}

async fn version_ids_are_never_reused(store: &SqlStore) {
    let a = account(store).await;
    custom(store, &a, "p").await;
    for expected in 2..=10 {
        let v = store
            .create_policy_version(&a, "p", &doc("a:b"), true, RotateStrategy::None)
            .await
            .unwrap()
            .value;
        assert_eq!(v.version_id, format!("v{expected}"));
        // Delete the previous default to make room.
        store
            .delete_policy_version(&a, "p", &format!("v{}", expected - 1))
            .await
            .unwrap();
    }
    assert_eq!(
        version_ids(
            &store
                .list_policy_versions(&a, PolicyType::Custom, "p")
                .await
                .unwrap()
        ),
        vec![("v10".to_owned(), true)]
    );
}

async fn rotation_deletes_the_oldest_non_default_version(store: &SqlStore) {
    let a = account(store).await;
    custom(store, &a, "p").await;
    for _ in 2..=5 {
        store
            .create_policy_version(&a, "p", &doc("a:b"), false, RotateStrategy::None)
            .await
            .unwrap();
    }
    let rotate = RotateStrategy::DeleteOldestNonDefaultVersionWhenLimitExceeded;
    // v1 is the default: the oldest non-default is v2.
    let v6 = store
        .create_policy_version(&a, "p", &doc("c:d"), false, rotate)
        .await
        .unwrap()
        .value;
    assert_eq!(v6.version_id, "v6");
    let ids = |versions: Vec<tessera_store::PolicyVersion>| {
        versions
            .into_iter()
            .map(|v| v.version_id)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(store
            .list_policy_versions(&a, PolicyType::Custom, "p")
            .await
            .unwrap()),
        vec!["v1", "v3", "v4", "v5", "v6"]
    );
    store
        .set_default_policy_version(&a, "p", "v4")
        .await
        .unwrap();
    // Now v1 is the oldest non-default; the new version becomes the default.
    let v7 = store
        .create_policy_version(&a, "p", &doc("e:f"), true, rotate)
        .await
        .unwrap()
        .value;
    assert!(v7.is_default);
    assert_eq!(
        ids(store
            .list_policy_versions(&a, PolicyType::Custom, "p")
            .await
            .unwrap()),
        vec!["v3", "v4", "v5", "v6", "v7"]
    );
    let (info, default) = store.get_policy(&a, PolicyType::Custom, "p").await.unwrap();
    assert_eq!(info.default_version, "v7");
    assert_eq!(default.document, doc("e:f"));
    // Below the limit nothing is deleted.
    store.delete_policy_version(&a, "p", "v3").await.unwrap();
    store
        .create_policy_version(&a, "p", &doc("g:h"), false, rotate)
        .await
        .unwrap();
    assert_eq!(
        ids(store
            .list_policy_versions(&a, PolicyType::Custom, "p")
            .await
            .unwrap()),
        vec!["v4", "v5", "v6", "v7", "v8"]
    );

    // With a limit of one version, there is never a non-default version to delete.
    let single = with_quotas(store, |q| q.versions_per_policy = 1).await;
    custom(&single, &a, "q").await;
    assert_code(
        single
            .create_policy_version(&a, "q", &doc("a:b"), true, rotate)
            .await,
        "LimitExceeded.Policy.Version",
    );
    assert_eq!(
        ids(single
            .list_policy_versions(&a, PolicyType::Custom, "q")
            .await
            .unwrap()),
        vec!["v1"]
    );
    single.close().await;
}

async fn cascading_delete(store: &SqlStore) {
    let a = account(store).await;
    custom(store, &a, "p").await;
    store
        .create_policy_version(&a, "p", &doc("a:b"), false, RotateStrategy::None)
        .await
        .unwrap();
    store
        .create_policy_version(&a, "p", &doc("c:d"), true, RotateStrategy::None)
        .await
        .unwrap();
    assert_code(
        store.delete_policy(&a, "p", false).await,
        "DeleteConflict.Policy.Version",
    );
    assert_eq!(
        store
            .list_policy_versions(&a, PolicyType::Custom, "p")
            .await
            .unwrap()
            .len(),
        3
    );
    store.delete_policy(&a, "P", true).await.unwrap();
    assert_code(
        store.get_policy(&a, PolicyType::Custom, "p").await,
        "EntityNotExist.Policy",
    );
    assert_code(
        store
            .list_policy_versions(&a, PolicyType::Custom, "p")
            .await,
        "EntityNotExist.Policy",
    );
    assert_eq!(store.account_usage(&a).await.unwrap().custom_policies, 0);
    // Only the default version left: no cascade needed.
    custom(store, &a, "p").await;
    store
        .create_policy_version(&a, "p", &doc("a:b"), true, RotateStrategy::None)
        .await
        .unwrap();
    store.delete_policy_version(&a, "p", "v1").await.unwrap();
    store.delete_policy(&a, "p", false).await.unwrap();
    // Recreated policies start over.
    custom(store, &a, "p").await;
    assert_eq!(
        version_ids(
            &store
                .list_policy_versions(&a, PolicyType::Custom, "p")
                .await
                .unwrap()
        ),
        vec![("v1".to_owned(), true)]
    );
}

async fn delete_conflicts_while_attached(store: &SqlStore) {
    let a = account(store).await;
    custom(store, &a, "p").await;
    user(store, &a, "alice").await;
    store.create_group(&a, "dev", None).await.unwrap();
    store.create_role(&a, &new_role("app")).await.unwrap();
    let targets = [
        (Target::User("alice"), "DeleteConflict.Policy.User"),
        (Target::Group("dev"), "DeleteConflict.Policy.Group"),
        (Target::Role("app"), "DeleteConflict.Policy.Role"),
    ];
    for (target, code) in targets {
        store
            .attach_policy(&a, target, PolicyType::Custom, "p")
            .await
            .unwrap();
        assert_code(store.delete_policy(&a, "p", false).await, code);
        // Cascading deletes versions, not attachments.
        assert_code(store.delete_policy(&a, "p", true).await, code);
        store
            .detach_policy(&a, target, PolicyType::Custom, "p")
            .await
            .unwrap();
    }
    // The entities cannot be deleted while the policy is attached to them either.
    store
        .attach_policy(&a, Target::User("alice"), PolicyType::Custom, "p")
        .await
        .unwrap();
    store
        .attach_policy(
            &a,
            Target::Group("dev"),
            PolicyType::System,
            "ReadOnlyAccess",
        )
        .await
        .unwrap();
    assert_code(
        store.delete_user(&a, "alice").await,
        "DeleteConflict.User.Policy",
    );
    assert_code(
        store.delete_group(&a, "dev").await,
        "DeleteConflict.Group.Policy",
    );
    store
        .detach_policy(&a, Target::User("alice"), PolicyType::Custom, "p")
        .await
        .unwrap();
    store
        .detach_policy(
            &a,
            Target::Group("dev"),
            PolicyType::System,
            "ReadOnlyAccess",
        )
        .await
        .unwrap();
    store.delete_user(&a, "alice").await.unwrap();
    store.delete_group(&a, "dev").await.unwrap();
    store.delete_role(&a, "app").await.unwrap();
    store.delete_policy(&a, "p", false).await.unwrap();
}

async fn attach_detach_lifecycle(store: &SqlStore) {
    let a = account(store).await;
    custom(store, &a, "Deploy").await;
    custom(store, &a, "audit").await;
    user(store, &a, "alice").await;
    user(store, &a, "bob").await;
    store.create_group(&a, "dev", None).await.unwrap();
    store.create_role(&a, &new_role("app")).await.unwrap();
    let cases = [
        (Target::User("Alice"), "User"),
        (Target::Group("DEV"), "Group"),
        (Target::Role("App"), "Role"),
    ];
    let mut last = Revision::default();
    for (target, entity) in cases {
        let first = store
            .attach_policy(&a, target, PolicyType::Custom, "deploy")
            .await
            .unwrap();
        assert!(first.revision > last);
        last = first.revision;
        store
            .attach_policy(&a, target, PolicyType::System, "ReadOnlyAccess")
            .await
            .unwrap();
        assert_code(
            store
                .attach_policy(&a, target, PolicyType::Custom, "DEPLOY")
                .await,
            &format!("EntityAlreadyExists.{entity}.Policy"),
        );
        assert_code(
            store
                .attach_policy(&a, target, PolicyType::System, "readonlyaccess")
                .await,
            &format!("EntityAlreadyExists.{entity}.Policy"),
        );
        assert_code(
            store
                .attach_policy(&a, target, PolicyType::Custom, "nope")
                .await,
            "EntityNotExist.Policy",
        );
        // The type must match.
        assert_code(
            store
                .attach_policy(&a, target, PolicyType::Custom, "ReadOnlyAccess")
                .await,
            "EntityNotExist.Policy",
        );
        assert_code(
            store
                .attach_policy(&a, target, PolicyType::System, "deploy")
                .await,
            "EntityNotExist.Policy",
        );
        let attached = store.list_policies_for(&a, target).await.unwrap();
        assert_eq!(
            attached
                .iter()
                .map(|at| (at.policy.policy_type, at.policy.name.as_str()))
                .collect::<Vec<_>>(),
            vec![
                (PolicyType::Custom, "Deploy"),
                (PolicyType::System, "ReadOnlyAccess")
            ]
        );
        assert_eq!(attached[0].policy.default_version, "v1");
        assert!(attached[0].attached_at <= attached[1].attached_at);
        assert_code(
            store
                .detach_policy(&a, target, PolicyType::Custom, "audit")
                .await,
            &format!("EntityNotExist.{entity}.Policy"),
        );
        assert_code(
            store
                .detach_policy(&a, target, PolicyType::Custom, "nope")
                .await,
            "EntityNotExist.Policy",
        );
    }
    let missing = [
        (Target::User("nobody"), "EntityNotExist.User"),
        (Target::Group("nobody"), "EntityNotExist.Group"),
        (Target::Role("nobody"), "EntityNotExist.Role"),
    ];
    for (target, code) in missing {
        assert_code(
            store
                .attach_policy(&a, target, PolicyType::Custom, "deploy")
                .await,
            code,
        );
        assert_code(
            store
                .detach_policy(&a, target, PolicyType::Custom, "deploy")
                .await,
            code,
        );
        assert_code(store.list_policies_for(&a, target).await, code);
    }
    assert!(
        store
            .list_policies_for(&a, Target::User("bob"))
            .await
            .unwrap()
            .is_empty()
    );

    // Counts and entities.
    let (deploy, _) = store
        .get_policy(&a, PolicyType::Custom, "deploy")
        .await
        .unwrap();
    assert_eq!(deploy.attachment_count, 3);
    let (audit, _) = store
        .get_policy(&a, PolicyType::Custom, "audit")
        .await
        .unwrap();
    assert_eq!(audit.attachment_count, 0);
    let listed = store
        .list_policies(&a, Some(PolicyType::Custom), &Page::default())
        .await
        .unwrap();
    assert_eq!(
        listed
            .items
            .iter()
            .map(|p| (p.name.as_str(), p.attachment_count))
            .collect::<Vec<_>>(),
        vec![("audit", 0), ("Deploy", 3)]
    );
    let entities = store
        .list_entities_for_policy(&a, PolicyType::Custom, "Deploy")
        .await
        .unwrap();
    let names = |list: &[(String, jiff::Timestamp)]| {
        list.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>()
    };
    assert_eq!(names(&entities.users), vec!["alice"]);
    assert_eq!(names(&entities.groups), vec!["dev"]);
    assert_eq!(names(&entities.roles), vec!["app"]);
    store
        .attach_policy(
            &a,
            Target::User("bob"),
            PolicyType::System,
            "ReadOnlyAccess",
        )
        .await
        .unwrap();
    let entities = store
        .list_entities_for_policy(&a, PolicyType::System, "readonlyaccess")
        .await
        .unwrap();
    assert_eq!(names(&entities.users), vec!["alice", "bob"]);
    assert!(
        store
            .list_entities_for_policy(&a, PolicyType::Custom, "audit")
            .await
            .unwrap()
            == Default::default()
    );
    assert_code(
        store
            .list_entities_for_policy(&a, PolicyType::Custom, "nope")
            .await,
        "EntityNotExist.Policy",
    );

    // Detach.
    for (target, entity) in cases {
        let detached = store
            .detach_policy(&a, target, PolicyType::Custom, "Deploy")
            .await
            .unwrap();
        assert!(detached.revision > last);
        last = detached.revision;
        assert_code(
            store
                .detach_policy(&a, target, PolicyType::Custom, "deploy")
                .await,
            &format!("EntityNotExist.{entity}.Policy"),
        );
        assert_eq!(store.list_policies_for(&a, target).await.unwrap().len(), 1);
    }
    assert_eq!(
        store
            .list_entities_for_policy(&a, PolicyType::Custom, "deploy")
            .await
            .unwrap(),
        Default::default()
    );
    let (deploy, _) = store
        .get_policy(&a, PolicyType::Custom, "deploy")
        .await
        .unwrap();
    assert_eq!(deploy.attachment_count, 0);
}

async fn attachment_quotas(store: &SqlStore) {
    let a = account(store).await;
    let small = with_quotas(store, |q| {
        q.custom_policies_per_entity = 2;
        q.system_policies_per_entity = 1;
    })
    .await;
    for name in ["c1", "c2", "c3"] {
        custom(&small, &a, name).await;
    }
    user(&small, &a, "alice").await;
    small.create_group(&a, "dev", None).await.unwrap();
    small.create_role(&a, &new_role("app")).await.unwrap();
    let targets = [
        (Target::User("alice"), "LimitExceeded.User.Policy"),
        (Target::Group("dev"), "LimitExceeded.Group.Policy"),
        (Target::Role("app"), "LimitExceeded.Role.Policy"),
    ];
    for (target, code) in targets {
        small
            .attach_policy(&a, target, PolicyType::Custom, "c1")
            .await
            .unwrap();
        small
            .attach_policy(&a, target, PolicyType::Custom, "c2")
            .await
            .unwrap();
        assert_code(
            small
                .attach_policy(&a, target, PolicyType::Custom, "c3")
                .await,
            code,
        );
        // The system budget is separate.
        small
            .attach_policy(&a, target, PolicyType::System, "ReadOnlyAccess")
            .await
            .unwrap();
        assert_code(
            small
                .attach_policy(&a, target, PolicyType::System, "AdministratorAccess")
                .await,
            code,
        );
        // Detaching makes room.
        small
            .detach_policy(&a, target, PolicyType::Custom, "c1")
            .await
            .unwrap();
        small
            .attach_policy(&a, target, PolicyType::Custom, "c3")
            .await
            .unwrap();
        assert_eq!(small.list_policies_for(&a, target).await.unwrap().len(), 3);
    }
    small.close().await;
}

async fn custom_policy_quota(store: &SqlStore) {
    let a = account(store).await;
    let b = account(store).await;
    let small = with_quotas(store, |q| q.custom_policies = 2).await;
    custom(&small, &a, "p1").await;
    custom(&small, &a, "p2").await;
    assert_code(
        small
            .create_policy(&a, &new_policy("p3", &doc("a:b")))
            .await,
        "LimitExceeded.Policy",
    );
    // Versions do not count as policies; the other account has its own budget.
    small
        .create_policy_version(&a, "p1", &doc("c:d"), false, RotateStrategy::None)
        .await
        .unwrap();
    custom(&small, &b, "p1").await;
    small.delete_policy(&a, "p2", false).await.unwrap();
    custom(&small, &a, "p3").await;
    assert_eq!(small.account_usage(&a).await.unwrap().custom_policies, 2);
    small.close().await;
}

async fn user_principal_merges_own_and_group_policies(store: &SqlStore) {
    let a = account(store).await;
    user(store, &a, "alice").await;
    store.create_group(&a, "dev", None).await.unwrap();
    store.create_group(&a, "ops", None).await.unwrap();
    store.add_user_to_group(&a, "dev", "alice").await.unwrap();
    store.add_user_to_group(&a, "ops", "alice").await.unwrap();
    for (name, action) in [
        ("own", "own:*"),
        ("shared", "shared:*"),
        ("grouped", "grouped:*"),
        ("unused", "unused:*"),
    ] {
        store
            .create_policy(&a, &new_policy(name, &doc(action)))
            .await
            .unwrap();
    }
    attach(store, &a, Target::User("alice"), PolicyType::Custom, "own").await;
    attach(
        store,
        &a,
        Target::User("alice"),
        PolicyType::Custom,
        "shared",
    )
    .await;
    attach(
        store,
        &a,
        Target::Group("dev"),
        PolicyType::Custom,
        "shared",
    )
    .await;
    attach(
        store,
        &a,
        Target::Group("dev"),
        PolicyType::Custom,
        "grouped",
    )
    .await;
    attach(
        store,
        &a,
        Target::Group("ops"),
        PolicyType::Custom,
        "grouped",
    )
    .await;
    attach(
        store,
        &a,
        Target::Group("ops"),
        PolicyType::System,
        "ReadOnlyAccess",
    )
    .await;
    let last = attach(
        store,
        &a,
        Target::Group("ops"),
        PolicyType::System,
        "AdministratorAccess",
    )
    .await;
    // Someone else's attachment is not alice's.
    user(store, &a, "bob").await;
    attach(store, &a, Target::User("bob"), PolicyType::Custom, "unused").await;

    let summary = |principal: &tessera_store::UserPrincipal| {
        let mut list = principal
            .policies
            .iter()
            .map(|p| {
                (
                    p.policy_type,
                    p.name.clone(),
                    p.version_id.clone(),
                    p.document.clone(),
                )
            })
            .collect::<Vec<_>>();
        list.sort();
        list
    };
    let (principal, revision) = store.load_user_principal(&a, "alice").await.unwrap();
    assert!(revision >= last.revision);
    assert_eq!(
        summary(&principal),
        vec![
            (
                PolicyType::System,
                "AdministratorAccess".into(),
                "v1".into(),
                ADMIN_DOC.into()
            ),
            (
                PolicyType::System,
                "ReadOnlyAccess".into(),
                "v1".into(),
                store
                    .get_policy(&a, PolicyType::System, "ReadOnlyAccess")
                    .await
                    .unwrap()
                    .1
                    .document
            ),
            (
                PolicyType::Custom,
                "grouped".into(),
                "v1".into(),
                doc("grouped:*")
            ),
            (PolicyType::Custom, "own".into(), "v1".into(), doc("own:*")),
            (
                PolicyType::Custom,
                "shared".into(),
                "v1".into(),
                doc("shared:*")
            ),
        ]
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect::<Vec<_>>()
    );

    // A new default version shows up; a non-default one does not.
    store
        .create_policy_version(&a, "shared", &doc("shared2:*"), false, RotateStrategy::None)
        .await
        .unwrap();
    store
        .create_policy_version(
            &a,
            "grouped",
            &doc("grouped2:*"),
            true,
            RotateStrategy::None,
        )
        .await
        .unwrap();
    store
        .set_default_policy_version(&a, "own", "v1")
        .await
        .unwrap();
    let (principal, _) = store.load_user_principal(&a, "alice").await.unwrap();
    let find = |name: &str| {
        principal
            .policies
            .iter()
            .filter(|p| p.name == name)
            .map(|p| (p.version_id.clone(), p.document.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(find("shared"), vec![("v1".into(), doc("shared:*"))]);
    assert_eq!(find("grouped"), vec![("v2".into(), doc("grouped2:*"))]);
    store
        .set_default_policy_version(&a, "shared", "v2")
        .await
        .unwrap();
    let (principal, _) = store.load_user_principal(&a, "alice").await.unwrap();
    assert_eq!(
        principal
            .policies
            .iter()
            .filter(|p| p.name == "shared")
            .map(|p| (p.version_id.as_str(), p.document.clone()))
            .collect::<Vec<_>>(),
        vec![("v2", doc("shared2:*"))]
    );
    assert_eq!(principal.policies.len(), 5);

    // Leaving ops drops its system policies but keeps "grouped" (still via dev).
    store
        .remove_user_from_group(&a, "ops", "alice")
        .await
        .unwrap();
    store
        .detach_policy(&a, Target::User("alice"), PolicyType::Custom, "own")
        .await
        .unwrap();
    let (principal, _) = store.load_user_principal(&a, "alice").await.unwrap();
    let mut names = principal
        .policies
        .iter()
        .map(|p| p.name.as_str())
        .collect::<Vec<_>>();
    names.sort_unstable();
    assert_eq!(names, vec!["grouped", "shared"]);
}

async fn accounts_are_isolated(store: &SqlStore) {
    let a = account(store).await;
    let b = account(store).await;
    custom(store, &a, "secret").await;
    store
        .create_policy_version(&a, "secret", &doc("x:y"), false, RotateStrategy::None)
        .await
        .unwrap();
    user(store, &a, "alice").await;
    store
        .attach_policy(&a, Target::User("alice"), PolicyType::Custom, "secret")
        .await
        .unwrap();
    store
        .attach_policy(
            &a,
            Target::User("alice"),
            PolicyType::System,
            "AdministratorAccess",
        )
        .await
        .unwrap();
    user(store, &b, "mallory").await;
    store.create_group(&b, "g", None).await.unwrap();
    store.create_role(&b, &new_role("r")).await.unwrap();

    // B can neither see nor use A's custom policy.
    assert_code(
        store.get_policy(&b, PolicyType::Custom, "secret").await,
        "EntityNotExist.Policy",
    );
    assert!(
        !store
            .list_policies(&b, None, &Page::first(1000))
            .await
            .unwrap()
            .items
            .iter()
            .any(|p| p.name == "secret")
    );
    for target in [
        Target::User("mallory"),
        Target::Group("g"),
        Target::Role("r"),
    ] {
        assert_code(
            store
                .attach_policy(&b, target, PolicyType::Custom, "secret")
                .await,
            "EntityNotExist.Policy",
        );
    }
    // Nor A's users.
    assert_code(
        store
            .attach_policy(
                &b,
                Target::User("alice"),
                PolicyType::System,
                "ReadOnlyAccess",
            )
            .await,
        "EntityNotExist.User",
    );
    assert_code(
        store
            .detach_policy(&b, Target::User("alice"), PolicyType::Custom, "secret")
            .await,
        "EntityNotExist.User",
    );
    assert_code(
        store.list_policies_for(&b, Target::User("alice")).await,
        "EntityNotExist.User",
    );
    assert_code(
        store
            .list_policy_versions(&b, PolicyType::Custom, "secret")
            .await,
        "EntityNotExist.Policy",
    );
    assert_code(
        store
            .get_policy_version(&b, PolicyType::Custom, "secret", "v1")
            .await,
        "EntityNotExist.Policy",
    );
    assert_code(
        store
            .list_entities_for_policy(&b, PolicyType::Custom, "secret")
            .await,
        "EntityNotExist.Policy",
    );
    assert_code(
        store.update_policy_description(&b, "secret", "mine").await,
        "EntityNotExist.Policy",
    );
    assert_code(
        store
            .create_policy_version(&b, "secret", &doc("a:b"), true, RotateStrategy::None)
            .await,
        "EntityNotExist.Policy",
    );
    assert_code(
        store.set_default_policy_version(&b, "secret", "v2").await,
        "EntityNotExist.Policy",
    );
    assert_code(
        store.delete_policy_version(&b, "secret", "v2").await,
        "EntityNotExist.Policy",
    );
    assert_code(
        store.delete_policy(&b, "secret", true).await,
        "EntityNotExist.Policy",
    );
    // B's view of a system policy counts only B's attachments.
    assert_eq!(
        store
            .list_entities_for_policy(&b, PolicyType::System, "AdministratorAccess")
            .await
            .unwrap(),
        Default::default()
    );
    let b_admin = store
        .list_policies(&b, Some(PolicyType::System), &Page::first(1000))
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|p| p.name == "AdministratorAccess")
        .unwrap();
    assert_eq!(b_admin.attachment_count, 0);

    // The same name in B is a different policy with its own versions.
    custom(store, &b, "secret").await;
    assert_eq!(
        store
            .list_policy_versions(&b, PolicyType::Custom, "secret")
            .await
            .unwrap()
            .len(),
        1
    );
    store.delete_policy(&b, "secret", false).await.unwrap();
    let (info, _) = store
        .get_policy(&a, PolicyType::Custom, "secret")
        .await
        .unwrap();
    assert_eq!(info.attachment_count, 1);
    assert_eq!(
        store
            .list_policy_versions(&a, PolicyType::Custom, "secret")
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(store.account_usage(&a).await.unwrap().custom_policies, 1);
    assert_eq!(store.account_usage(&b).await.unwrap().custom_policies, 0);
    // Tenant-scoped writes need an existing account.
    let ghost = AccountId::parse("9999999999999999").unwrap();
    assert_code(
        store
            .create_policy(&ghost, &new_policy("p", &doc("a:b")))
            .await,
        "EntityNotExist.Account",
    );
}

/// The change-log entries `(kind, entity)` of one revision, read straight from the database.
async fn changes_at(store: &SqlStore, revision: Revision) -> Vec<(String, String, String)> {
    use sqlx::Row;
    let pool = sqlx::AnyPool::connect(store.url()).await.unwrap();
    let rows = sqlx::query(
        "SELECT account_id, entity_kind, entity_id FROM changes WHERE revision = $1 ORDER BY seq",
    )
    .bind(revision.0)
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    rows.iter()
        .map(|row| {
            (
                row.get::<String, _>("account_id"),
                row.get::<String, _>("entity_kind"),
                row.get::<String, _>("entity_id"),
            )
        })
        .collect()
}

async fn writes_log_the_entities_whose_permissions_change(store: &SqlStore) {
    let a = account(store).await;
    let acct = a.as_str().to_owned();
    let entry = |kind: &str, entity: &str| (acct.clone(), kind.to_owned(), entity.to_owned());
    user(store, &a, "Alice").await;
    store.create_group(&a, "Dev", None).await.unwrap();
    let mut revisions = Vec::new();

    let created_role = store.create_role(&a, &new_role("App")).await.unwrap();
    revisions.push(created_role.revision);
    assert_eq!(
        changes_at(store, created_role.revision).await,
        vec![entry("role", "app")]
    );
    let created = store
        .create_policy(&a, &new_policy("Deploy", &doc("a:b")))
        .await
        .unwrap();
    revisions.push(created.revision);
    assert_eq!(
        changes_at(store, created.revision).await,
        vec![entry("policy", "deploy")]
    );
    let checks: Vec<(Revision, (String, String, String))> = vec![
        (
            store
                .attach_policy(&a, Target::Group("dev"), PolicyType::Custom, "deploy")
                .await
                .unwrap()
                .revision,
            entry("group", "dev"),
        ),
        (
            store
                .attach_policy(
                    &a,
                    Target::User("ALICE"),
                    PolicyType::System,
                    "ReadOnlyAccess",
                )
                .await
                .unwrap()
                .revision,
            entry("user", "alice"),
        ),
        (
            store
                .attach_policy(&a, Target::Role("app"), PolicyType::Custom, "Deploy")
                .await
                .unwrap()
                .revision,
            entry("role", "app"),
        ),
        (
            store
                .create_policy_version(&a, "deploy", &doc("c:d"), false, RotateStrategy::None)
                .await
                .unwrap()
                .revision,
            entry("policy", "deploy"),
        ),
        (
            store
                .set_default_policy_version(&a, "DEPLOY", "v2")
                .await
                .unwrap()
                .revision,
            entry("policy", "deploy"),
        ),
        (
            store
                .delete_policy_version(&a, "deploy", "v1")
                .await
                .unwrap()
                .revision,
            entry("policy", "deploy"),
        ),
        (
            store
                .update_policy_description(&a, "deploy", "d")
                .await
                .unwrap()
                .revision,
            entry("policy", "deploy"),
        ),
        (
            store
                .detach_policy(&a, Target::Group("DEV"), PolicyType::Custom, "deploy")
                .await
                .unwrap()
                .revision,
            entry("group", "dev"),
        ),
        (
            store
                .detach_policy(&a, Target::Role("app"), PolicyType::Custom, "deploy")
                .await
                .unwrap()
                .revision,
            entry("role", "app"),
        ),
        (
            store
                .update_role(&a, "app", &Default::default())
                .await
                .unwrap()
                .revision,
            entry("role", "app"),
        ),
        (
            store
                .revoke_role_sessions(&a, "APP")
                .await
                .unwrap()
                .revision,
            entry("role", "app"),
        ),
        (
            store.delete_role(&a, "app").await.unwrap().revision,
            entry("role", "app"),
        ),
        (
            store
                .delete_policy(&a, "deploy", false)
                .await
                .unwrap()
                .revision,
            entry("policy", "deploy"),
        ),
    ];
    for (revision, expected) in checks {
        assert_eq!(changes_at(store, revision).await, vec![expected]);
        revisions.push(revision);
    }
    assert!(revisions.windows(2).all(|w| w[0] < w[1]), "{revisions:?}");
    // Failed writes commit nothing.
    let before = store.current_revision().await.unwrap();
    assert_code(
        store.delete_policy(&a, "deploy", false).await,
        "EntityNotExist.Policy",
    );
    assert_code(
        store
            .attach_policy(
                &a,
                Target::User("alice"),
                PolicyType::System,
                "ReadOnlyAccess",
            )
            .await,
        "EntityAlreadyExists.User.Policy",
    );
    assert_eq!(store.current_revision().await.unwrap(), before);
}

async fn concurrent_attaches_respect_the_quota(store: &SqlStore) {
    let a = account(store).await;
    let small = with_quotas(store, |q| q.custom_policies_per_entity = 5).await;
    user(&small, &a, "alice").await;
    for i in 0..8 {
        custom(&small, &a, &format!("p{i}")).await;
    }
    let mut tasks = Vec::new();
    for i in 0..8 {
        let small = small.clone();
        let a = a.clone();
        tasks.push(tokio::spawn(async move {
            small
                .attach_policy(
                    &a,
                    Target::User("alice"),
                    PolicyType::Custom,
                    &format!("p{i}"),
                )
                .await
        }));
    }
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(e.code(), "LimitExceeded.User.Policy", "{e}"),
        }
    }
    assert_eq!(ok, 5);
    assert_eq!(
        small
            .list_policies_for(&a, Target::User("alice"))
            .await
            .unwrap()
            .len(),
        5
    );
    // The same policy attached concurrently: exactly one wins.
    custom(&small, &a, "same").await;
    user(&small, &a, "bob").await;
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let small = small.clone();
        let a = a.clone();
        tasks.push(tokio::spawn(async move {
            small
                .attach_policy(&a, Target::User("bob"), PolicyType::Custom, "same")
                .await
        }));
    }
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(e.code(), "EntityAlreadyExists.User.Policy", "{e}"),
        }
    }
    assert_eq!(ok, 1);
    small.close().await;
}

async fn concurrent_version_creates_respect_the_limit(store: &SqlStore) {
    let a = account(store).await;
    custom(store, &a, "p").await;
    let spawn_all = |rotate: RotateStrategy| {
        (0..8)
            .map(|i| {
                let store = store.clone();
                let a = a.clone();
                tokio::spawn(async move {
                    store
                        .create_policy_version(
                            &a,
                            "p",
                            &doc(&format!("s{i}:*")),
                            i % 3 == 0,
                            rotate,
                        )
                        .await
                })
            })
            .collect::<Vec<_>>()
    };
    let mut ok = Vec::new();
    for task in spawn_all(RotateStrategy::None) {
        match task.await.unwrap() {
            Ok(v) => ok.push(v.value.version_id),
            Err(e) => assert_eq!(e.code(), "LimitExceeded.Policy.Version", "{e}"),
        }
    }
    assert_eq!(ok.len(), 4);
    let versions = store
        .list_policy_versions(&a, PolicyType::Custom, "p")
        .await
        .unwrap();
    assert_eq!(
        versions
            .iter()
            .map(|v| v.version_id.as_str())
            .collect::<Vec<_>>(),
        vec!["v1", "v2", "v3", "v4", "v5"]
    );
    assert_eq!(versions.iter().filter(|v| v.is_default).count(), 1);

    // With rotation every create succeeds, ids stay unique, and the limit holds.
    let mut ids = BTreeSet::new();
    for task in spawn_all(RotateStrategy::DeleteOldestNonDefaultVersionWhenLimitExceeded) {
        let v = task.await.unwrap().unwrap();
        assert!(ids.insert(v.value.version_id));
    }
    assert_eq!(ids.len(), 8);
    let versions = store
        .list_policy_versions(&a, PolicyType::Custom, "p")
        .await
        .unwrap();
    assert_eq!(versions.len(), 5);
    assert_eq!(versions.iter().filter(|v| v.is_default).count(), 1);
    assert_eq!(versions.last().unwrap().version_id, "v13");
    let (info, default) = store.get_policy(&a, PolicyType::Custom, "p").await.unwrap();
    assert_eq!(info.default_version, default.version_id);
    assert!(
        versions
            .iter()
            .any(|v| v.version_id == info.default_version)
    );
}
