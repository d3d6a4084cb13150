use tessera_store::{
    AccessKeyStatus, AccountId, AccountStatus, AccountStore, EntityKind, KeyStore, NewAccessKey,
    NewUser, Page, QuotaName, Quotas, SqlStore, SystemStore, UserStore,
};

use crate::support::{account, assert_code};

conformance!(
    create_get_and_list,
    status_and_alias,
    unknown_account,
    revisions_increase_with_every_write,
    quotas_can_be_overridden_per_account,
    account_and_root_key_in_one_transaction
);

async fn create_get_and_list(store: &SqlStore) {
    let created = store.create_account("Acme").await.unwrap();
    let a = created.value;
    assert_eq!(a.id.as_str().len(), 16);
    assert_eq!(a.status, AccountStatus::Active);
    assert_eq!(store.get_account(&a.id).await.unwrap(), a);
    let b = store.create_account("Globex").await.unwrap().value;
    let first = store.list_accounts(&Page::first(1)).await.unwrap();
    assert_eq!(first.items.len(), 1);
    assert!(first.is_truncated);
    let rest = store
        .list_accounts(&Page::after(first.marker.clone().unwrap(), 10))
        .await
        .unwrap();
    assert!(!rest.is_truncated);
    let mut ids: Vec<_> = first
        .items
        .iter()
        .chain(&rest.items)
        .map(|a| a.id.clone())
        .collect();
    ids.sort();
    let mut expected = vec![a.id, b.id];
    expected.sort();
    assert_eq!(ids, expected);
    assert_code(
        store.create_account("").await,
        "InvalidParameter.AccountName.Length",
    );
}

async fn status_and_alias(store: &SqlStore) {
    let a = account(store).await;
    let b = account(store).await;
    let suspended = store
        .set_account_status(&a, AccountStatus::Suspended)
        .await
        .unwrap();
    assert_eq!(suspended.value.status, AccountStatus::Suspended);
    let aliased = store
        .set_account_alias(&a, Some("acme-corp"))
        .await
        .unwrap();
    assert_eq!(aliased.value.alias.as_deref(), Some("acme-corp"));
    assert_code(
        store.set_account_alias(&b, Some("acme-corp")).await,
        "EntityAlreadyExists.AccountAlias",
    );
    assert_code(
        store.set_account_alias(&b, Some("Bad_Alias")).await,
        "InvalidParameter.AccountAlias.Format",
    );
    let cleared = store.set_account_alias(&a, None).await.unwrap();
    assert_eq!(cleared.value.alias, None);
    store
        .set_account_alias(&b, Some("acme-corp"))
        .await
        .unwrap();
}

async fn unknown_account(store: &SqlStore) {
    let ghost = AccountId::parse("1999999999999999").unwrap();
    assert_code(store.get_account(&ghost).await, "EntityNotExist.Account");
    assert_code(
        store
            .set_account_status(&ghost, AccountStatus::Active)
            .await,
        "EntityNotExist.Account",
    );
    assert_code(
        store
            .create_user(
                &ghost,
                &tessera_store::NewUser {
                    name: "alice".into(),
                    ..Default::default()
                },
            )
            .await,
        "EntityNotExist.Account",
    );
    assert_code(store.account_usage(&ghost).await, "EntityNotExist.Account");
}

async fn revisions_increase_with_every_write(store: &SqlStore) {
    let start = store.current_revision().await.unwrap();
    let a = store.create_account("a").await.unwrap();
    assert!(a.revision > start);
    let b = store
        .set_account_status(&a.value.id, AccountStatus::Suspended)
        .await
        .unwrap();
    assert!(b.revision > a.revision);
    assert_eq!(store.current_revision().await.unwrap(), b.revision);
    // A failed write commits nothing.
    let ghost = AccountId::parse("1999999999999999").unwrap();
    assert!(
        store
            .set_account_status(&ghost, AccountStatus::Active)
            .await
            .is_err()
    );
    assert_eq!(store.current_revision().await.unwrap(), b.revision);
}

async fn quotas_can_be_overridden_per_account(store: &SqlStore) {
    let a = account(store).await;
    let b = account(store).await;
    assert_eq!(store.quotas(&a).await.unwrap(), Quotas::default());
    let set = store
        .set_account_quota(&a, QuotaName::Users, Some(1))
        .await
        .unwrap();
    assert_eq!(set.value.users, 1);
    assert_eq!(store.quotas(&a).await.unwrap().users, 1);
    assert_eq!(
        store.quotas(&b).await.unwrap().users,
        Quotas::default().users
    );
    let user = |name: &str| NewUser {
        name: name.into(),
        ..Default::default()
    };
    store.create_user(&a, &user("one")).await.unwrap();
    assert_code(
        store.create_user(&a, &user("two")).await,
        "LimitExceeded.User",
    );
    store.create_user(&b, &user("one")).await.unwrap();
    store.create_user(&b, &user("two")).await.unwrap();
    store
        .set_account_quota(&a, QuotaName::Users, None)
        .await
        .unwrap();
    store.create_user(&a, &user("two")).await.unwrap();
    let ghost = AccountId::parse("1999999999999999").unwrap();
    assert_code(
        store
            .set_account_quota(&ghost, QuotaName::Users, Some(1))
            .await,
        "EntityNotExist.Account",
    );
    assert_code(store.quotas(&ghost).await, "EntityNotExist.Account");
}

fn root_key(id: &str) -> NewAccessKey {
    NewAccessKey {
        id: id.into(),
        sealed_secret: b"sealed".to_vec(),
    }
}

async fn account_count(store: &SqlStore) -> usize {
    store
        .list_accounts(&Page::first(1000))
        .await
        .unwrap()
        .items
        .len()
}

async fn account_and_root_key_in_one_transaction(store: &SqlStore) {
    let start = store.current_revision().await.unwrap();
    let created = store
        .create_account_with_root_key("Initech", &root_key("LTAIroot1"))
        .await
        .unwrap();
    let (account, key) = &created.value;
    assert_eq!(account.name, "Initech");
    assert_eq!(account.status, AccountStatus::Active);
    assert_eq!(key.id, "LTAIroot1");
    assert_eq!(key.status, AccessKeyStatus::Active);
    assert_eq!(store.get_account(&account.id).await.unwrap(), *account);
    // The key is the new account's root key.
    let owner = store.find_access_key("LTAIroot1").await.unwrap().unwrap();
    assert_eq!(owner.account, account.id);
    assert_eq!(owner.user_name, None);
    assert_eq!(owner.sealed_secret, b"sealed".to_vec());
    assert_eq!(
        store.list_access_keys(&account.id, None).await.unwrap(),
        vec![key.clone()]
    );
    // Both changes at the one revision.
    let changes: Vec<_> = store
        .changes_since(start, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.revision, c.account.unwrap(), c.kind, c.entity))
        .collect();
    assert_eq!(
        changes,
        vec![
            (
                created.revision,
                account.id.clone(),
                EntityKind::Account,
                account.id.as_str().to_owned()
            ),
            (
                created.revision,
                account.id.clone(),
                EntityKind::AccessKey,
                "LTAIroot1".to_owned()
            ),
        ]
    );

    // When the key cannot be stored (here: its id is taken), the account is not created.
    let before = account_count(store).await;
    let revision = store.current_revision().await.unwrap();
    assert_code(
        store
            .create_account_with_root_key("Hooli", &root_key("LTAIroot1"))
            .await,
        "InternalError",
    );
    assert_eq!(account_count(store).await, before);
    assert_eq!(store.current_revision().await.unwrap(), revision);

    // Parameters are checked before anything is written.
    for (name, key, code) in [
        (
            "",
            root_key("LTAIok"),
            "InvalidParameter.AccountName.Length",
        ),
        (
            &*"n".repeat(65),
            root_key("LTAIok"),
            "InvalidParameter.AccountName.Length",
        ),
        (
            "bad\nname",
            root_key("LTAIok"),
            "InvalidParameter.AccountName.InvalidChars",
        ),
        (
            "Hooli",
            root_key("bad id"),
            "InvalidParameter.AccessKeyId.InvalidChars",
        ),
        (
            "Hooli",
            NewAccessKey {
                id: "LTAIok".into(),
                sealed_secret: Vec::new(),
            },
            "MissingAccessKeySecret",
        ),
    ] {
        assert_code(store.create_account_with_root_key(name, &key).await, code);
    }
    assert_eq!(account_count(store).await, before);
    assert_eq!(store.current_revision().await.unwrap(), revision);
}
