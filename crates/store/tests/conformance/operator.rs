use tessera_store::{
    AccountId, EntityKind, NewRole, OperatorStore, RoleStore, SqlStore, SystemStore, UserStore,
    UserUpdate,
};

use crate::roles::TRUST;
use crate::support::{account, assert_code, user};

conformance!(
    the_first_claim_wins,
    an_unknown_account_cannot_be_claimed,
    platform_grants_grant_check_list_revoke,
    platform_grant_errors,
    platform_grants_follow_the_identity
);

async fn the_first_claim_wins(store: &SqlStore) {
    assert_eq!(store.operator_account().await.unwrap(), None);
    let first = account(store).await;
    let second = account(store).await;
    let claimed = store.claim_operator_account(&first).await.unwrap();
    assert_eq!(claimed.value, first);
    assert_eq!(store.operator_account().await.unwrap(), Some(first.clone()));
    // A later claim learns the existing operator and changes nothing.
    let again = store.claim_operator_account(&second).await.unwrap();
    assert_eq!(again.value, first);
    assert_eq!(again.revision, store.current_revision().await.unwrap());
    assert_eq!(store.operator_account().await.unwrap(), Some(first));
}

async fn an_unknown_account_cannot_be_claimed(store: &SqlStore) {
    let ghost = AccountId::parse("1999999999999999").unwrap();
    assert_code(
        store.claim_operator_account(&ghost).await,
        "EntityNotExist.Account",
    );
    assert_eq!(store.operator_account().await.unwrap(), None);
}

async fn role(store: &SqlStore, a: &AccountId, name: &str) {
    store
        .create_role(
            a,
            &NewRole {
                name: name.into(),
                trust_policy: TRUST.into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
}

async fn platform_grants_grant_check_list_revoke(store: &SqlStore) {
    let a = account(store).await;
    let b = account(store).await;
    user(store, &a, "gateway").await;
    role(store, &b, "Checker").await;
    let start = store.current_revision().await.unwrap();
    let user_arn = format!("acs:ram::{a}:user/gateway");
    let role_arn = format!("acs:ram::{b}:role/Checker");
    assert!(!store.has_platform_authorize(&user_arn).await.unwrap());
    assert!(store.list_platform_grants().await.unwrap().is_empty());

    // Names resolve case-insensitively; the grant reports the name as the principal spells it.
    let granted = store
        .grant_platform_authorize(&format!("acs:ram::{a}:user/GATEWAY"))
        .await
        .unwrap();
    assert_eq!(granted.value.principal_arn, user_arn);
    assert_eq!(granted.value.account, a);
    assert!(store.has_platform_authorize(&user_arn).await.unwrap());
    assert!(
        store
            .has_platform_authorize(&format!("acs:ram::{a}:user/GateWay"))
            .await
            .unwrap()
    );
    // Nothing else holds it: not the role, not the account's root, not a user of the same
    // name in another account.
    assert!(!store.has_platform_authorize(&role_arn).await.unwrap());
    assert!(!store.has_platform_authorize(&a.root_arn()).await.unwrap());
    user(store, &b, "gateway").await;
    assert!(
        !store
            .has_platform_authorize(&format!("acs:ram::{b}:user/gateway"))
            .await
            .unwrap()
    );

    let role_grant = store.grant_platform_authorize(&role_arn).await.unwrap();
    assert!(role_grant.revision > granted.revision);
    assert!(store.has_platform_authorize(&role_arn).await.unwrap());
    // A session of the role holds the role's grant.
    assert!(
        store
            .has_platform_authorize(&format!("acs:ram::{b}:assumed-role/checker/s-1"))
            .await
            .unwrap()
    );
    let mut expected = vec![granted.value.clone(), role_grant.value.clone()];
    expected.sort_by(|x, y| x.principal_arn.cmp(&y.principal_arn));
    assert_eq!(store.list_platform_grants().await.unwrap(), expected);

    let revoked = store.revoke_platform_authorize(&user_arn).await.unwrap();
    assert!(!store.has_platform_authorize(&user_arn).await.unwrap());
    assert!(store.has_platform_authorize(&role_arn).await.unwrap());
    assert_eq!(
        store.list_platform_grants().await.unwrap(),
        vec![role_grant.value.clone()]
    );
    assert_code(
        store.revoke_platform_authorize(&user_arn).await,
        "EntityNotExist.PlatformGrant",
    );

    // Every write is a change of the principal's account.
    let changes: Vec<_> = store
        .changes_since(start, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.kind == EntityKind::PlatformGrant)
        .map(|c| (c.revision, c.account.unwrap(), c.entity))
        .collect();
    assert_eq!(
        changes,
        vec![
            (granted.revision, a.clone(), user_arn.clone()),
            (
                role_grant.revision,
                b.clone(),
                format!("acs:ram::{b}:role/checker")
            ),
            (revoked.revision, a.clone(), user_arn.clone()),
        ]
    );
}

async fn platform_grant_errors(store: &SqlStore) {
    let a = account(store).await;
    user(store, &a, "svc").await;
    let ghost = "1999999999999999";
    let cases = [
        (String::new(), "MissingPrincipalArn"),
        (a.root_arn(), "InvalidParameter.PrincipalArn.Format"),
        (
            format!("acs:ram:*:{a}:user/svc"),
            "InvalidParameter.PrincipalArn.Format",
        ),
        (
            format!("acs:ram::{a}:group/svc"),
            "InvalidParameter.PrincipalArn.Format",
        ),
        (
            format!("acs:ram::{a}:user/s*"),
            "InvalidParameter.PrincipalArn.Format",
        ),
        (
            format!("acs:ram::{a}:user/"),
            "InvalidParameter.PrincipalArn.Format",
        ),
        (
            format!("acs:ram::{a}:assumed-role/r/s"),
            "InvalidParameter.PrincipalArn.Format",
        ),
        (
            "acs:ram::12:user/svc".to_owned(),
            "InvalidParameter.PrincipalArn.Format",
        ),
        ("svc".to_owned(), "InvalidParameter.PrincipalArn.Format"),
        (
            format!("acs:ram::{ghost}:user/svc"),
            "EntityNotExist.Account",
        ),
        (format!("acs:ram::{a}:user/nobody"), "EntityNotExist.User"),
        (format!("acs:ram::{a}:role/nobody"), "EntityNotExist.Role"),
    ];
    for (arn, code) in &cases {
        assert_code(store.grant_platform_authorize(arn).await, code);
        assert_code(store.revoke_platform_authorize(arn).await, code);
        assert!(!store.has_platform_authorize(arn).await.unwrap(), "{arn}");
    }
    let arn = format!("acs:ram::{a}:user/svc");
    store.grant_platform_authorize(&arn).await.unwrap();
    let before = store.current_revision().await.unwrap();
    assert_code(
        store.grant_platform_authorize(&arn).await,
        "EntityAlreadyExists.PlatformGrant",
    );
    // Failed writes commit nothing.
    assert_eq!(store.current_revision().await.unwrap(), before);
}

async fn platform_grants_follow_the_identity(store: &SqlStore) {
    let a = account(store).await;
    user(store, &a, "old").await;
    role(store, &a, "Svc").await;
    let arn = |rest: &str| format!("acs:ram::{a}:{rest}");
    store
        .grant_platform_authorize(&arn("user/old"))
        .await
        .unwrap();
    store
        .grant_platform_authorize(&arn("role/Svc"))
        .await
        .unwrap();

    // A rename keeps the grant with the user.
    store
        .update_user(
            &a,
            "old",
            &UserUpdate {
                new_name: Some("new".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(
        store
            .has_platform_authorize(&arn("user/new"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .has_platform_authorize(&arn("user/old"))
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .list_platform_grants()
            .await
            .unwrap()
            .into_iter()
            .map(|g| g.principal_arn)
            .collect::<Vec<_>>(),
        vec![arn("role/Svc"), arn("user/new")]
    );

    // Deleting the principal deletes its grant: a new one of the same name has none.
    store.delete_user(&a, "new").await.unwrap();
    store.delete_role(&a, "svc").await.unwrap();
    assert!(store.list_platform_grants().await.unwrap().is_empty());
    user(store, &a, "new").await;
    role(store, &a, "Svc").await;
    assert!(
        !store
            .has_platform_authorize(&arn("user/new"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .has_platform_authorize(&arn("role/Svc"))
            .await
            .unwrap()
    );
    assert_code(
        store.revoke_platform_authorize(&arn("role/Svc")).await,
        "EntityNotExist.PlatformGrant",
    );
}
