use std::collections::BTreeSet;

use tessera_store::{
    AccountStore, GroupStore, NewUser, Page, SqlStore, StoreConfig, UserStore, UserUpdate,
};

use crate::support::{account, assert_code};

conformance!(
    create_get_update_delete,
    names_are_unique_case_insensitively,
    field_validation,
    pagination_visits_every_user_once,
    accounts_are_isolated,
    quota_is_enforced,
    concurrent_creates_of_one_name_yield_one_user,
    principal_of_a_new_user_is_empty
);

fn new_user(name: &str) -> NewUser {
    NewUser {
        name: name.into(),
        ..Default::default()
    }
}

async fn create_get_update_delete(store: &SqlStore) {
    let a = account(store).await;
    let created = store
        .create_user(
            &a,
            &NewUser {
                name: "Alice".into(),
                display_name: Some("Alice A.".into()),
                email: Some("alice@example.com".into()),
                mobile_phone: Some("86-18600008888".into()),
                comments: Some("first".into()),
            },
        )
        .await
        .unwrap()
        .value;
    assert_eq!(created.name, "Alice");
    assert_eq!(created.display_name, "Alice A.");
    assert_eq!(created.id.len(), 16);
    assert_eq!(store.get_user(&a, "alice").await.unwrap(), created);
    assert_eq!(store.get_user(&a, "ALICE").await.unwrap().name, "Alice");

    let defaulted = store.create_user(&a, &new_user("bob")).await.unwrap().value;
    assert_eq!(defaulted.display_name, "bob");
    assert_eq!(defaulted.email, "");

    let renamed = store
        .update_user(
            &a,
            "alice",
            &UserUpdate {
                new_name: Some("alice2".into()),
                comments: Some("renamed".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .value;
    assert_eq!(renamed.id, created.id);
    assert_eq!(renamed.name, "alice2");
    assert_eq!(renamed.display_name, "Alice A.");
    assert_eq!(renamed.comments, "renamed");
    assert_code(store.get_user(&a, "Alice").await, "EntityNotExist.User");
    // Case-only rename of the same user is allowed.
    store
        .update_user(
            &a,
            "alice2",
            &UserUpdate {
                new_name: Some("ALICE2".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_code(
        store
            .update_user(
                &a,
                "alice2",
                &UserUpdate {
                    new_name: Some("Bob".into()),
                    ..Default::default()
                },
            )
            .await,
        "EntityAlreadyExists.User",
    );
    store.delete_user(&a, "alice2").await.unwrap();
    assert_code(store.get_user(&a, "alice2").await, "EntityNotExist.User");
    assert_code(store.delete_user(&a, "alice2").await, "EntityNotExist.User");
    assert_code(
        store
            .update_user(&a, "nobody", &UserUpdate::default())
            .await,
        "EntityNotExist.User",
    );
}

async fn names_are_unique_case_insensitively(store: &SqlStore) {
    let a = account(store).await;
    store.create_user(&a, &new_user("Alice")).await.unwrap();
    assert_code(
        store.create_user(&a, &new_user("alice")).await,
        "EntityAlreadyExists.User",
    );
    assert_code(
        store.create_user(&a, &new_user("ALICE")).await,
        "EntityAlreadyExists.User",
    );
}

async fn field_validation(store: &SqlStore) {
    let a = account(store).await;
    let cases = [
        (new_user(""), "InvalidParameter.UserName.Length"),
        (
            new_user(&"u".repeat(65)),
            "InvalidParameter.UserName.Length",
        ),
        (new_user("a b"), "InvalidParameter.UserName.InvalidChars"),
        (
            NewUser {
                email: Some("not-an-email".into()),
                ..new_user("x")
            },
            "InvalidParameter.Email.Format",
        ),
        (
            NewUser {
                mobile_phone: Some("12345".into()),
                ..new_user("x")
            },
            "InvalidParameter.MobilePhone.Format",
        ),
        (
            NewUser {
                display_name: Some("d".repeat(129)),
                ..new_user("x")
            },
            "InvalidParameter.DisplayName.Length",
        ),
        (
            NewUser {
                comments: Some("c".repeat(129)),
                ..new_user("x")
            },
            "InvalidParameter.Comments.Length",
        ),
    ];
    for (user, code) in cases {
        assert_code(store.create_user(&a, &user).await, code);
    }
    assert_eq!(
        store
            .list_users(&a, &Page::default())
            .await
            .unwrap()
            .items
            .len(),
        0
    );
    assert_code(
        store.list_users(&a, &Page::first(0)).await,
        "InvalidParameter.MaxItems.Range",
    );
    assert_code(
        store.list_users(&a, &Page::first(1001)).await,
        "InvalidParameter.MaxItems.Range",
    );
}

async fn pagination_visits_every_user_once(store: &SqlStore) {
    let a = account(store).await;
    let names: BTreeSet<String> = (0..23).map(|i| format!("User{i:02}")).collect();
    for name in &names {
        store.create_user(&a, &new_user(name)).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut page = Page::first(5);
    loop {
        let result = store.list_users(&a, &page).await.unwrap();
        assert!(result.items.len() <= 5);
        seen.extend(result.items.into_iter().map(|u| u.name));
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
    assert_eq!(seen.len(), names.len());
    assert_eq!(seen.iter().cloned().collect::<BTreeSet<_>>(), names);
    let all = store.list_users(&a, &Page::default()).await.unwrap();
    assert_eq!(all.items.len(), 23);
    assert!(!all.is_truncated);
}

async fn accounts_are_isolated(store: &SqlStore) {
    let a = account(store).await;
    let b = account(store).await;
    store.create_user(&a, &new_user("alice")).await.unwrap();
    // The same name in another account is a different user.
    store.create_user(&b, &new_user("alice")).await.unwrap();
    store.create_user(&a, &new_user("only-a")).await.unwrap();
    assert_code(store.get_user(&b, "only-a").await, "EntityNotExist.User");
    assert_code(store.delete_user(&b, "only-a").await, "EntityNotExist.User");
    assert_code(
        store
            .update_user(&b, "only-a", &UserUpdate::default())
            .await,
        "EntityNotExist.User",
    );
    assert_eq!(
        store
            .list_users(&b, &Page::default())
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    store.create_group(&b, "g", None).await.unwrap();
    assert_code(
        store.add_user_to_group(&b, "g", "only-a").await,
        "EntityNotExist.User",
    );
    store.delete_user(&b, "alice").await.unwrap();
    assert!(store.get_user(&a, "alice").await.is_ok());
    assert_eq!(store.account_usage(&a).await.unwrap().users, 2);
    assert_eq!(store.account_usage(&b).await.unwrap().users, 0);
}

async fn quota_is_enforced(store: &SqlStore) {
    // A second handle on the same database with a tiny quota.
    let a = account(store).await;
    let small = tiny_quota_store(store).await;
    for i in 0..3 {
        small
            .create_user(&a, &new_user(&format!("u{i}")))
            .await
            .unwrap();
    }
    assert_code(
        small.create_user(&a, &new_user("u3")).await,
        "LimitExceeded.User",
    );
    small.delete_user(&a, "u0").await.unwrap();
    small.create_user(&a, &new_user("u3")).await.unwrap();
    // Another account has its own budget.
    let b = account(store).await;
    small.create_user(&b, &new_user("u0")).await.unwrap();
}

async fn tiny_quota_store(store: &SqlStore) -> SqlStore {
    let mut config = StoreConfig::new(store.url().to_owned());
    config.quotas.users = 3;
    config.max_connections = 4;
    SqlStore::connect(&config).await.unwrap()
}

async fn concurrent_creates_of_one_name_yield_one_user(store: &SqlStore) {
    let a = account(store).await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = store.clone();
        let a = a.clone();
        let name = if i % 2 == 0 { "Racer" } else { "racer" };
        tasks.push(tokio::spawn(async move {
            store.create_user(&a, &new_user(name)).await
        }));
    }
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(e.code(), "EntityAlreadyExists.User", "{e}"),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(
        store
            .list_users(&a, &Page::default())
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}

async fn principal_of_a_new_user_is_empty(store: &SqlStore) {
    let a = account(store).await;
    let created = store.create_user(&a, &new_user("alice")).await.unwrap();
    let (principal, revision) = store.load_user_principal(&a, "Alice").await.unwrap();
    assert_eq!(principal.user.name, "alice");
    assert!(principal.groups.is_empty());
    assert!(principal.policies.is_empty());
    assert!(revision >= created.revision);
    assert_code(
        store.load_user_principal(&a, "bob").await,
        "EntityNotExist.User",
    );
    let at = jiff::Timestamp::from_second(1_800_000_000).unwrap();
    store.record_user_login(&a, "alice", at).await.unwrap();
    assert_eq!(
        store.get_user(&a, "alice").await.unwrap().last_login_at,
        Some(at)
    );
}
