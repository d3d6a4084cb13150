use tessera_store::{GroupStore, Page, SqlStore, StoreConfig, UserStore};

use crate::support::{account, assert_code, user};

conformance!(
    create_get_update_delete,
    membership_lifecycle,
    delete_conflicts,
    groups_per_user_quota,
    list_users_for_group_paginates,
    principal_lists_groups
);

async fn create_get_update_delete(store: &SqlStore) {
    let a = account(store).await;
    let g = store
        .create_group(&a, "Dev-Ops", Some("team"))
        .await
        .unwrap()
        .value;
    assert_eq!(g.name, "Dev-Ops");
    assert_eq!(g.comments, "team");
    assert_eq!(store.get_group(&a, "dev-ops").await.unwrap(), g);
    assert_code(
        store.create_group(&a, "DEV-OPS", None).await,
        "EntityAlreadyExists.Group",
    );
    assert_code(
        store.create_group(&a, "bad name", None).await,
        "InvalidParameter.GroupName.InvalidChars",
    );
    assert_code(
        store.create_group(&a, &"g".repeat(65), None).await,
        "InvalidParameter.GroupName.Length",
    );
    let renamed = store
        .update_group(&a, "dev-ops", Some("platform"), Some("renamed"))
        .await
        .unwrap()
        .value;
    assert_eq!(renamed.id, g.id);
    assert_eq!(renamed.name, "platform");
    assert_eq!(renamed.comments, "renamed");
    assert_code(store.get_group(&a, "dev-ops").await, "EntityNotExist.Group");
    store.create_group(&a, "other", None).await.unwrap();
    assert_code(
        store
            .update_group(&a, "platform", Some("Other"), None)
            .await,
        "EntityAlreadyExists.Group",
    );
    let listed = store.list_groups(&a, &Page::default()).await.unwrap();
    assert_eq!(
        listed
            .items
            .iter()
            .map(|g| g.name.as_str())
            .collect::<Vec<_>>(),
        vec!["other", "platform"]
    );
    assert_code(
        store.list_groups(&a, &Page::first(101)).await,
        "InvalidParameter.MaxItems.Range",
    );
    store.delete_group(&a, "platform").await.unwrap();
    assert_code(
        store.delete_group(&a, "platform").await,
        "EntityNotExist.Group",
    );
}

async fn membership_lifecycle(store: &SqlStore) {
    let a = account(store).await;
    user(store, &a, "alice").await;
    store.create_group(&a, "dev", None).await.unwrap();
    store.create_group(&a, "ops", None).await.unwrap();
    store.add_user_to_group(&a, "DEV", "Alice").await.unwrap();
    store.add_user_to_group(&a, "ops", "alice").await.unwrap();
    assert_code(
        store.add_user_to_group(&a, "dev", "alice").await,
        "EntityAlreadyExists.User.Group",
    );
    assert_code(
        store.add_user_to_group(&a, "nope", "alice").await,
        "EntityNotExist.Group",
    );
    assert_code(
        store.add_user_to_group(&a, "dev", "nope").await,
        "EntityNotExist.User",
    );
    let groups = store.list_groups_for_user(&a, "alice").await.unwrap();
    assert_eq!(
        groups
            .iter()
            .map(|m| m.entity.name.as_str())
            .collect::<Vec<_>>(),
        vec!["dev", "ops"]
    );
    let members = store
        .list_users_for_group(&a, "dev", &Page::default())
        .await
        .unwrap();
    assert_eq!(members.items.len(), 1);
    assert_eq!(members.items[0].entity.name, "alice");
    store
        .remove_user_from_group(&a, "dev", "alice")
        .await
        .unwrap();
    assert_code(
        store.remove_user_from_group(&a, "dev", "alice").await,
        "EntityNotExist.User.Group",
    );
    assert_eq!(
        store.list_groups_for_user(&a, "alice").await.unwrap().len(),
        1
    );
    assert_code(
        store.list_groups_for_user(&a, "nope").await,
        "EntityNotExist.User",
    );
    assert_code(
        store
            .list_users_for_group(&a, "nope", &Page::default())
            .await,
        "EntityNotExist.Group",
    );
}

async fn delete_conflicts(store: &SqlStore) {
    let a = account(store).await;
    user(store, &a, "alice").await;
    store.create_group(&a, "dev", None).await.unwrap();
    store.add_user_to_group(&a, "dev", "alice").await.unwrap();
    assert_code(
        store.delete_group(&a, "dev").await,
        "DeleteConflict.Group.User",
    );
    assert_code(
        store.delete_user(&a, "alice").await,
        "DeleteConflict.User.Group",
    );
    store
        .remove_user_from_group(&a, "dev", "alice")
        .await
        .unwrap();
    store.delete_group(&a, "dev").await.unwrap();
    store.delete_user(&a, "alice").await.unwrap();
}

async fn groups_per_user_quota(store: &SqlStore) {
    let a = account(store).await;
    let mut config = StoreConfig::new(store.url().to_owned());
    config.quotas.groups_per_user = 2;
    config.max_connections = 2;
    let small = SqlStore::connect(&config).await.unwrap();
    user(&small, &a, "alice").await;
    for g in ["g1", "g2", "g3"] {
        small.create_group(&a, g, None).await.unwrap();
    }
    small.add_user_to_group(&a, "g1", "alice").await.unwrap();
    small.add_user_to_group(&a, "g2", "alice").await.unwrap();
    assert_code(
        small.add_user_to_group(&a, "g3", "alice").await,
        "LimitExceeded.User.Group",
    );
}

async fn list_users_for_group_paginates(store: &SqlStore) {
    let a = account(store).await;
    store.create_group(&a, "all", None).await.unwrap();
    for i in 0..7 {
        let name = format!("u{i}");
        user(store, &a, &name).await;
        store.add_user_to_group(&a, "all", &name).await.unwrap();
    }
    let first = store
        .list_users_for_group(&a, "all", &Page::first(3))
        .await
        .unwrap();
    assert!(first.is_truncated);
    let second = store
        .list_users_for_group(&a, "all", &Page::after(first.marker.unwrap(), 10))
        .await
        .unwrap();
    assert!(!second.is_truncated);
    assert_eq!(first.items.len() + second.items.len(), 7);
}

async fn principal_lists_groups(store: &SqlStore) {
    let a = account(store).await;
    user(store, &a, "alice").await;
    store.create_group(&a, "Beta", None).await.unwrap();
    store.create_group(&a, "alpha", None).await.unwrap();
    store.add_user_to_group(&a, "beta", "alice").await.unwrap();
    store.add_user_to_group(&a, "alpha", "alice").await.unwrap();
    let (principal, _) = store.load_user_principal(&a, "alice").await.unwrap();
    assert_eq!(
        principal.groups,
        vec!["alpha".to_owned(), "Beta".to_owned()]
    );
}
