use tessera_store::{
    AccessKeyStatus, AccountId, AccountStatus, AccountStore, EntityKind, KeyStore, NewAccessKey,
    SqlStore, StoreConfig, SystemStore, UserStore, UserUpdate,
};

use crate::support::{account, assert_code, user};

conformance!(
    create_list_update_delete,
    root_keys,
    find_access_key_returns_the_owner,
    keys_are_isolated_between_owners_and_accounts,
    quota_per_owner,
    concurrent_creates_respect_the_quota,
    last_used,
    user_with_keys_cannot_be_deleted,
    writes_are_logged_for_cache_eviction,
    validation_and_unknown_owners,
    sealed_secrets_round_trip
);

fn new_key(id: &str) -> NewAccessKey {
    NewAccessKey {
        id: id.into(),
        sealed_secret: format!("sealed-{id}").into_bytes(),
    }
}

async fn create_list_update_delete(store: &SqlStore) {
    let a = account(store).await;
    user(store, &a, "alice").await;
    let created = store
        .create_access_key(&a, Some("Alice"), &new_key("LTAIalice1"))
        .await
        .unwrap();
    assert_eq!(created.value.id, "LTAIalice1");
    assert_eq!(created.value.status, AccessKeyStatus::Active);
    assert_eq!(created.value.last_used_at, None);
    store
        .create_access_key(&a, Some("alice"), &new_key("LTAIalice2"))
        .await
        .unwrap();
    let listed = store.list_access_keys(&a, Some("ALICE")).await.unwrap();
    assert_eq!(
        listed.iter().map(|k| k.id.as_str()).collect::<Vec<_>>(),
        vec!["LTAIalice1", "LTAIalice2"]
    );
    assert_eq!(listed[0], created.value);

    let updated = store
        .update_access_key_status(&a, Some("alice"), "LTAIalice1", AccessKeyStatus::Inactive)
        .await
        .unwrap();
    assert!(updated.revision > created.revision);
    assert_eq!(updated.value.status, AccessKeyStatus::Inactive);
    assert_eq!(
        store.list_access_keys(&a, Some("alice")).await.unwrap()[0].status,
        AccessKeyStatus::Inactive
    );
    let owner = store.find_access_key("LTAIalice1").await.unwrap().unwrap();
    assert_eq!(owner.status, AccessKeyStatus::Inactive);
    store
        .update_access_key_status(&a, Some("alice"), "LTAIalice1", AccessKeyStatus::Active)
        .await
        .unwrap();

    store
        .delete_access_key(&a, Some("alice"), "LTAIalice1")
        .await
        .unwrap();
    assert_code(
        store
            .delete_access_key(&a, Some("alice"), "LTAIalice1")
            .await,
        "EntityNotExist.User.AccessKey",
    );
    assert_code(
        store
            .update_access_key_status(&a, Some("alice"), "LTAIalice1", AccessKeyStatus::Active)
            .await,
        "EntityNotExist.User.AccessKey",
    );
    assert!(store.find_access_key("LTAIalice1").await.unwrap().is_none());
    assert_eq!(
        store
            .list_access_keys(&a, Some("alice"))
            .await
            .unwrap()
            .len(),
        1
    );
    // Renaming the user keeps its keys.
    store
        .update_user(
            &a,
            "alice",
            &UserUpdate {
                new_name: Some("alicia".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        store.list_access_keys(&a, Some("alicia")).await.unwrap()[0].id,
        "LTAIalice2"
    );
    assert_eq!(
        store
            .find_access_key("LTAIalice2")
            .await
            .unwrap()
            .unwrap()
            .user_name
            .as_deref(),
        Some("alicia")
    );
}

async fn root_keys(store: &SqlStore) {
    let a = account(store).await;
    user(store, &a, "alice").await;
    store
        .create_access_key(&a, None, &new_key("LTAIroot1"))
        .await
        .unwrap();
    store
        .create_access_key(&a, Some("alice"), &new_key("LTAIalice"))
        .await
        .unwrap();
    let root = store.list_access_keys(&a, None).await.unwrap();
    assert_eq!(root.len(), 1);
    assert_eq!(root[0].id, "LTAIroot1");
    let owner = store.find_access_key("LTAIroot1").await.unwrap().unwrap();
    assert_eq!(owner.account, a);
    assert_eq!(owner.user_name, None);
    assert_eq!(owner.account_status, AccountStatus::Active);
    // A suspended account's keys resolve, marked suspended, so authentication can refuse them.
    store
        .set_account_status(&a, AccountStatus::Suspended)
        .await
        .unwrap();
    let owner = store.find_access_key("LTAIroot1").await.unwrap().unwrap();
    assert_eq!(owner.account_status, AccountStatus::Suspended);
    store
        .set_account_status(&a, AccountStatus::Active)
        .await
        .unwrap();
    // A user's key is not root's, and root's is not a user's.
    assert_code(
        store.delete_access_key(&a, None, "LTAIalice").await,
        "EntityNotExist.User.AccessKey",
    );
    assert_code(
        store
            .delete_access_key(&a, Some("alice"), "LTAIroot1")
            .await,
        "EntityNotExist.User.AccessKey",
    );
    store
        .update_access_key_status(&a, None, "LTAIroot1", AccessKeyStatus::Inactive)
        .await
        .unwrap();
    store
        .delete_access_key(&a, None, "LTAIroot1")
        .await
        .unwrap();
    assert!(store.list_access_keys(&a, None).await.unwrap().is_empty());
}

async fn find_access_key_returns_the_owner(store: &SqlStore) {
    let a = account(store).await;
    let b = account(store).await;
    user(store, &a, "Alice").await;
    user(store, &b, "bob").await;
    store
        .create_access_key(&a, Some("alice"), &new_key("LTAIa"))
        .await
        .unwrap();
    store
        .create_access_key(&b, Some("bob"), &new_key("LTAIb"))
        .await
        .unwrap();
    let found_a = store.find_access_key("LTAIa").await.unwrap().unwrap();
    assert_eq!(found_a.account, a);
    assert_eq!(found_a.user_name.as_deref(), Some("Alice"));
    assert_eq!(found_a.status, AccessKeyStatus::Active);
    assert_eq!(found_a.sealed_secret, b"sealed-LTAIa".to_vec());
    let found_b = store.find_access_key("LTAIb").await.unwrap().unwrap();
    assert_eq!(found_b.account, b);
    assert_eq!(found_b.user_name.as_deref(), Some("bob"));
    assert!(store.find_access_key("LTAInone").await.unwrap().is_none());
    // Key ids are exact.
    assert!(store.find_access_key("ltaia").await.unwrap().is_none());
    // Debug output never shows the secret.
    let debug = format!("{found_a:?} {:?}", new_key("LTAIx"));
    assert!(!debug.contains("sealed-"), "{debug}");
}

async fn keys_are_isolated_between_owners_and_accounts(store: &SqlStore) {
    let a = account(store).await;
    let b = account(store).await;
    user(store, &a, "alice").await;
    user(store, &a, "mallory").await;
    // The same user name in B.
    user(store, &b, "alice").await;
    store
        .create_access_key(&a, Some("alice"), &new_key("LTAIaliceA"))
        .await
        .unwrap();
    store
        .create_access_key(&a, None, &new_key("LTAIrootA"))
        .await
        .unwrap();

    for key in ["LTAIaliceA", "LTAIrootA"] {
        // Via another user of A.
        assert_code(
            store
                .update_access_key_status(&a, Some("mallory"), key, AccessKeyStatus::Inactive)
                .await,
            "EntityNotExist.User.AccessKey",
        );
        assert_code(
            store.delete_access_key(&a, Some("mallory"), key).await,
            "EntityNotExist.User.AccessKey",
        );
        assert_code(
            store
                .get_access_key_last_used(&a, Some("mallory"), key)
                .await,
            "EntityNotExist.User.AccessKey",
        );
        // Via B, as the same-named user and as root.
        for owner in [Some("alice"), None] {
            assert_code(
                store
                    .update_access_key_status(&b, owner, key, AccessKeyStatus::Inactive)
                    .await,
                "EntityNotExist.User.AccessKey",
            );
            assert_code(
                store.delete_access_key(&b, owner, key).await,
                "EntityNotExist.User.AccessKey",
            );
            assert_code(
                store.get_access_key_last_used(&b, owner, key).await,
                "EntityNotExist.User.AccessKey",
            );
        }
        assert_code(
            store
                .record_access_key_use(&b, key, jiff::Timestamp::now())
                .await,
            "EntityNotExist.User.AccessKey",
        );
    }
    assert!(
        store
            .list_access_keys(&a, Some("mallory"))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .list_access_keys(&b, Some("alice"))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.list_access_keys(&b, None).await.unwrap().is_empty());
    // Nothing changed in A.
    let keys = store.list_access_keys(&a, Some("alice")).await.unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].status, AccessKeyStatus::Active);
    assert_eq!(keys[0].last_used_at, None);
    assert_eq!(store.list_access_keys(&a, None).await.unwrap().len(), 1);
}

async fn quota_per_owner(store: &SqlStore) {
    let a = account(store).await;
    user(store, &a, "alice").await;
    user(store, &a, "bob").await;
    store
        .create_access_key(&a, Some("alice"), &new_key("LTAIa1"))
        .await
        .unwrap();
    store
        .create_access_key(&a, Some("alice"), &new_key("LTAIa2"))
        .await
        .unwrap();
    assert_code(
        store
            .create_access_key(&a, Some("alice"), &new_key("LTAIa3"))
            .await,
        "LimitExceeded.User.AccessKey",
    );
    // Other owners have their own budget, root included.
    store
        .create_access_key(&a, Some("bob"), &new_key("LTAIb1"))
        .await
        .unwrap();
    store
        .create_access_key(&a, None, &new_key("LTAIr1"))
        .await
        .unwrap();
    store
        .create_access_key(&a, None, &new_key("LTAIr2"))
        .await
        .unwrap();
    assert_code(
        store.create_access_key(&a, None, &new_key("LTAIr3")).await,
        "LimitExceeded.User.AccessKey",
    );
    // Deleting frees a slot.
    store
        .delete_access_key(&a, Some("alice"), "LTAIa1")
        .await
        .unwrap();
    store
        .create_access_key(&a, Some("alice"), &new_key("LTAIa3"))
        .await
        .unwrap();
    assert_eq!(store.account_usage(&a).await.unwrap().access_keys, 5);

    // A configured quota.
    let mut config = StoreConfig::new(store.url().to_owned());
    config.quotas.access_keys_per_user = 1;
    config.max_connections = 2;
    let small = SqlStore::connect(&config).await.unwrap();
    assert_code(
        small
            .create_access_key(&a, Some("bob"), &new_key("LTAIb2"))
            .await,
        "LimitExceeded.User.AccessKey",
    );
    small.close().await;
}

async fn concurrent_creates_respect_the_quota(store: &SqlStore) {
    let a = account(store).await;
    user(store, &a, "alice").await;
    let mut tasks = Vec::new();
    for i in 0..6 {
        let store = store.clone();
        let a = a.clone();
        tasks.push(tokio::spawn(async move {
            store
                .create_access_key(&a, Some("alice"), &new_key(&format!("LTAIrace{i}")))
                .await
        }));
    }
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(e.code(), "LimitExceeded.User.AccessKey", "{e}"),
        }
    }
    assert_eq!(ok, 2);
    assert_eq!(
        store
            .list_access_keys(&a, Some("alice"))
            .await
            .unwrap()
            .len(),
        2
    );
}

async fn last_used(store: &SqlStore) {
    let a = account(store).await;
    user(store, &a, "alice").await;
    store
        .create_access_key(&a, Some("alice"), &new_key("LTAIused"))
        .await
        .unwrap();
    assert_eq!(
        store
            .get_access_key_last_used(&a, Some("alice"), "LTAIused")
            .await
            .unwrap(),
        None
    );
    let before = store.current_revision().await.unwrap();
    let t1 = jiff::Timestamp::from_second(1_800_000_000).unwrap();
    let t0 = jiff::Timestamp::from_second(1_700_000_000).unwrap();
    store
        .record_access_key_use(&a, "LTAIused", t1)
        .await
        .unwrap();
    // An older use recorded late does not move it back.
    store
        .record_access_key_use(&a, "LTAIused", t0)
        .await
        .unwrap();
    assert_eq!(
        store
            .get_access_key_last_used(&a, Some("alice"), "LTAIused")
            .await
            .unwrap(),
        Some(t1)
    );
    assert_eq!(
        store.list_access_keys(&a, Some("alice")).await.unwrap()[0].last_used_at,
        Some(t1)
    );
    // Recording a use is neither a revision nor a change.
    assert_eq!(store.current_revision().await.unwrap(), before);
    assert_code(
        store.record_access_key_use(&a, "LTAInone", t1).await,
        "EntityNotExist.User.AccessKey",
    );
    assert_code(
        store
            .get_access_key_last_used(&a, Some("alice"), "LTAInone")
            .await,
        "EntityNotExist.User.AccessKey",
    );
}

async fn user_with_keys_cannot_be_deleted(store: &SqlStore) {
    let a = account(store).await;
    user(store, &a, "alice").await;
    store
        .create_access_key(&a, Some("alice"), &new_key("LTAIdel"))
        .await
        .unwrap();
    assert_code(
        store.delete_user(&a, "alice").await,
        "DeleteConflict.User.AccessKey",
    );
    store
        .delete_access_key(&a, Some("alice"), "LTAIdel")
        .await
        .unwrap();
    store.delete_user(&a, "alice").await.unwrap();
}

async fn writes_are_logged_for_cache_eviction(store: &SqlStore) {
    let a = account(store).await;
    user(store, &a, "alice").await;
    let start = store.current_revision().await.unwrap();
    let created = store
        .create_access_key(&a, Some("alice"), &new_key("LTAIlog"))
        .await
        .unwrap();
    let updated = store
        .update_access_key_status(&a, Some("alice"), "LTAIlog", AccessKeyStatus::Inactive)
        .await
        .unwrap();
    let deleted = store
        .delete_access_key(&a, Some("alice"), "LTAIlog")
        .await
        .unwrap();
    let changes = store.changes_since(start, 100).await.unwrap();
    assert_eq!(
        changes
            .iter()
            .map(|c| (c.revision, c.account.clone(), c.kind, c.entity.as_str()))
            .collect::<Vec<_>>(),
        vec![
            (
                created.revision,
                Some(a.clone()),
                EntityKind::AccessKey,
                "LTAIlog"
            ),
            (
                updated.revision,
                Some(a.clone()),
                EntityKind::AccessKey,
                "LTAIlog"
            ),
            (
                deleted.revision,
                Some(a.clone()),
                EntityKind::AccessKey,
                "LTAIlog"
            ),
        ]
    );
    // Failed writes commit nothing.
    assert!(
        store
            .delete_access_key(&a, Some("alice"), "LTAIlog")
            .await
            .is_err()
    );
    assert_eq!(store.current_revision().await.unwrap(), deleted.revision);
}

async fn validation_and_unknown_owners(store: &SqlStore) {
    let a = account(store).await;
    assert_code(
        store
            .create_access_key(&a, Some("ghost"), &new_key("LTAIx"))
            .await,
        "EntityNotExist.User",
    );
    assert_code(
        store.list_access_keys(&a, Some("ghost")).await,
        "EntityNotExist.User",
    );
    assert_code(
        store
            .update_access_key_status(&a, Some("ghost"), "LTAIx", AccessKeyStatus::Active)
            .await,
        "EntityNotExist.User",
    );
    assert_code(
        store.delete_access_key(&a, Some("ghost"), "LTAIx").await,
        "EntityNotExist.User",
    );
    assert_code(
        store
            .get_access_key_last_used(&a, Some("ghost"), "LTAIx")
            .await,
        "EntityNotExist.User",
    );
    let ghost_account = AccountId::parse("1999999999999999").unwrap();
    assert_code(
        store
            .create_access_key(&ghost_account, None, &new_key("LTAIx"))
            .await,
        "EntityNotExist.Account",
    );
    assert_code(
        store.create_access_key(&a, None, &new_key("")).await,
        "InvalidParameter.AccessKeyId.Length",
    );
    assert_code(
        store.create_access_key(&a, None, &new_key("LTAI x")).await,
        "InvalidParameter.AccessKeyId.InvalidChars",
    );
    assert_code(
        store
            .create_access_key(
                &a,
                None,
                &NewAccessKey {
                    id: "LTAIempty".into(),
                    sealed_secret: Vec::new(),
                },
            )
            .await,
        "MissingAccessKeySecret",
    );
    assert_code(AccessKeyStatus::parse("active"), "InvalidParameter.Status");
    assert!(store.list_access_keys(&a, None).await.unwrap().is_empty());
}

/// The store keeps what the sealer produced, byte for byte: secrets at rest are AES-256-GCM
/// sealed and bound to their key id.
async fn sealed_secrets_round_trip(store: &SqlStore) {
    use tessera_credentials::{MasterKey, Sealer, Secret};
    let sealer = Sealer::new(MasterKey::new(1, &[42; 32]).unwrap());
    let a = account(store).await;
    user(store, &a, "alice").await;
    let secret = Secret::from("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    let sealed = sealer.seal(&secret, b"access-key:LTAIsealed").unwrap();
    store
        .create_access_key(
            &a,
            Some("alice"),
            &NewAccessKey {
                id: "LTAIsealed".into(),
                sealed_secret: sealed,
            },
        )
        .await
        .unwrap();
    let owner = store.find_access_key("LTAIsealed").await.unwrap().unwrap();
    assert_eq!(
        sealer
            .open(&owner.sealed_secret, b"access-key:LTAIsealed")
            .unwrap(),
        secret
    );
    assert!(!format!("{owner:?}").contains("wJalr"));
}
