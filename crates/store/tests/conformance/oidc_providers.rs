use tessera_store::{
    AccountStore, EntityKind, NewOidcProvider, OidcProviderStore, OidcProviderUpdate, Page,
    Revision, SqlStore, StoreConfig, SystemStore,
};

use crate::support::{account, assert_code};

conformance!(
    create_get_update_delete,
    field_validation,
    names_and_issuers_are_unique,
    client_ids_and_fingerprints,
    pagination_visits_every_provider_once,
    quota_is_enforced,
    accounts_are_isolated,
    writes_are_logged
);

const FP1: &str = "902EF2DEEB3C5B13EA4C3D5193629309E231AE55";
const FP2: &str = "0123456789abcdef0123456789abcdef01234567";

fn provider(name: &str, issuer: &str) -> NewOidcProvider {
    NewOidcProvider {
        name: name.into(),
        issuer_url: issuer.into(),
        client_ids: vec!["sts.aliyuncs.com".into()],
        ..Default::default()
    }
}

async fn create_get_update_delete(store: &SqlStore) {
    let a = account(store).await;
    let created = store
        .create_oidc_provider(
            &a,
            &NewOidcProvider {
                name: "K8s-Prod".into(),
                issuer_url: "https://oidc.example.com/cluster".into(),
                client_ids: vec!["sts.aliyuncs.com".into(), "app".into(), "app".into()],
                fingerprints: vec![FP1.into()],
                description: Some("The production cluster.".into()),
                issuance_limit_hours: Some(24),
            },
        )
        .await
        .unwrap();
    let p = created.value;
    assert_eq!(p.name, "K8s-Prod");
    assert_eq!(p.issuer_url, "https://oidc.example.com/cluster");
    assert_eq!(
        p.client_ids,
        ["sts.aliyuncs.com", "app"],
        "duplicates dropped"
    );
    assert_eq!(p.fingerprints, [FP1.to_ascii_lowercase()], "lower case");
    assert_eq!(p.description, "The production cluster.");
    assert_eq!(p.issuance_limit_hours, 24);
    assert_eq!(p.created_at, p.updated_at);
    assert_eq!(store.get_oidc_provider(&a, "k8s-prod").await.unwrap(), p);

    let defaulted = store
        .create_oidc_provider(&a, &provider("plain", "http://127.0.0.1:9/issuer"))
        .await
        .unwrap();
    assert!(defaulted.revision > created.revision);
    assert_eq!(defaulted.value.issuance_limit_hours, 12);
    assert_eq!(defaulted.value.description, "");
    assert!(defaulted.value.fingerprints.is_empty());

    // Partial update: only the given fields change; client ids are replaced.
    let updated = store
        .update_oidc_provider(
            &a,
            "K8S-PROD",
            &OidcProviderUpdate {
                client_ids: Some(vec!["x".into(), "y".into()]),
                issuance_limit_hours: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .value;
    assert_eq!(updated.client_ids, ["x", "y"]);
    assert_eq!(updated.issuance_limit_hours, 1);
    assert_eq!(updated.description, "The production cluster.");
    assert_eq!(updated.fingerprints, p.fingerprints);
    assert_eq!(updated.created_at, p.created_at);
    let emptied = store
        .update_oidc_provider(
            &a,
            "k8s-prod",
            &OidcProviderUpdate {
                client_ids: Some(Vec::new()),
                description: Some(String::new()),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .value;
    assert!(emptied.client_ids.is_empty());
    assert_eq!(emptied.description, "");

    store.delete_oidc_provider(&a, "K8S-prod").await.unwrap();
    assert_code(
        store.get_oidc_provider(&a, "k8s-prod").await,
        "EntityNotExist.OIDCProvider",
    );
    assert_code(
        store.delete_oidc_provider(&a, "k8s-prod").await,
        "EntityNotExist.OIDCProvider",
    );
    assert_code(
        store
            .update_oidc_provider(&a, "k8s-prod", &OidcProviderUpdate::default())
            .await,
        "EntityNotExist.OIDCProvider",
    );
}

async fn field_validation(store: &SqlStore) {
    let a = account(store).await;
    let cases: Vec<(NewOidcProvider, &str)> = vec![
        (
            provider("-bad", "https://a.example"),
            "InvalidParameter.OIDCProviderName.InvalidChars",
        ),
        (
            provider(&"n".repeat(129), "https://a.example"),
            "InvalidParameter.OIDCProviderName.Length",
        ),
        (
            provider("p", "ftp://a.example"),
            "InvalidParameter.IssuerUrl.Format",
        ),
        (
            provider("p", "https://a.example/?q=1"),
            "InvalidParameter.IssuerUrl.Format",
        ),
        (
            NewOidcProvider {
                client_ids: vec!["/x".into()],
                ..provider("p", "https://a.example")
            },
            "InvalidParameter.ClientId.InvalidChars",
        ),
        (
            NewOidcProvider {
                client_ids: (0..51).map(|i| format!("c{i}")).collect(),
                ..provider("p", "https://a.example")
            },
            "LimitExceeded.OIDCProvider.ClientId",
        ),
        (
            NewOidcProvider {
                fingerprints: vec!["abc".into()],
                ..provider("p", "https://a.example")
            },
            "InvalidParameter.Fingerprint.Format",
        ),
        (
            NewOidcProvider {
                fingerprints: (0..6).map(|i| format!("{i:040x}")).collect(),
                ..provider("p", "https://a.example")
            },
            "LimitExceeded.OIDCProvider.Fingerprint",
        ),
        (
            NewOidcProvider {
                description: Some("d".repeat(257)),
                ..provider("p", "https://a.example")
            },
            "InvalidParameter.Description.Length",
        ),
        (
            NewOidcProvider {
                issuance_limit_hours: Some(169),
                ..provider("p", "https://a.example")
            },
            "InvalidParameter.IssuanceLimitTime.Range",
        ),
    ];
    for (new, code) in cases {
        assert_code(store.create_oidc_provider(&a, &new).await, code);
    }
    assert!(
        store
            .list_oidc_providers(&a, &Page::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    store
        .create_oidc_provider(&a, &provider("p", "https://a.example"))
        .await
        .unwrap();
    assert_code(
        store
            .update_oidc_provider(
                &a,
                "p",
                &OidcProviderUpdate {
                    issuance_limit_hours: Some(0),
                    ..Default::default()
                },
            )
            .await,
        "InvalidParameter.IssuanceLimitTime.Range",
    );
}

async fn names_and_issuers_are_unique(store: &SqlStore) {
    let a = account(store).await;
    store
        .create_oidc_provider(&a, &provider("Cluster", "https://one.example"))
        .await
        .unwrap();
    assert_code(
        store
            .create_oidc_provider(&a, &provider("CLUSTER", "https://two.example"))
            .await,
        "EntityAlreadyExists.OIDCProvider",
    );
    assert_code(
        store
            .create_oidc_provider(&a, &provider("other", "https://one.example"))
            .await,
        "EntityAlreadyExists.OIDCProvider.IssuerUrl",
    );
}

async fn client_ids_and_fingerprints(store: &SqlStore) {
    let a = account(store).await;
    store
        .create_oidc_provider(&a, &provider("p", "https://a.example"))
        .await
        .unwrap();
    let added = store.add_oidc_client_id(&a, "P", "web").await.unwrap();
    assert_eq!(added.value.client_ids, ["sts.aliyuncs.com", "web"]);
    assert_code(
        store.add_oidc_client_id(&a, "p", "web").await,
        "EntityAlreadyExists.OIDCProvider.ClientId",
    );
    assert_code(
        store.add_oidc_client_id(&a, "p", "bad id").await,
        "InvalidParameter.ClientId.InvalidChars",
    );
    let removed = store
        .remove_oidc_client_id(&a, "p", "sts.aliyuncs.com")
        .await
        .unwrap();
    assert_eq!(removed.value.client_ids, ["web"]);
    assert_code(
        store
            .remove_oidc_client_id(&a, "p", "sts.aliyuncs.com")
            .await,
        "EntityNotExist.OIDCProvider.ClientId",
    );
    for i in 1..50 {
        store
            .add_oidc_client_id(&a, "p", &format!("c{i}"))
            .await
            .unwrap();
    }
    assert_code(
        store.add_oidc_client_id(&a, "p", "one-too-many").await,
        "LimitExceeded.OIDCProvider.ClientId",
    );
    assert_code(
        store.add_oidc_client_id(&a, "nope", "x").await,
        "EntityNotExist.OIDCProvider",
    );

    let with = store.add_oidc_fingerprint(&a, "p", FP1).await.unwrap();
    assert_eq!(with.value.fingerprints, [FP1.to_ascii_lowercase()]);
    assert_code(
        store
            .add_oidc_fingerprint(&a, "p", &FP1.to_ascii_lowercase())
            .await,
        "EntityAlreadyExists.OIDCProvider.Fingerprint",
    );
    for i in 0..4 {
        store
            .add_oidc_fingerprint(&a, "p", &format!("{i:040x}"))
            .await
            .unwrap();
    }
    assert_code(
        store.add_oidc_fingerprint(&a, "p", FP2).await,
        "LimitExceeded.OIDCProvider.Fingerprint",
    );
    let fewer = store.remove_oidc_fingerprint(&a, "p", FP1).await.unwrap();
    assert_eq!(fewer.value.fingerprints.len(), 4);
    assert_code(
        store.remove_oidc_fingerprint(&a, "p", FP1).await,
        "EntityNotExist.OIDCProvider.Fingerprint",
    );
}

async fn pagination_visits_every_provider_once(store: &SqlStore) {
    let a = account(store).await;
    for i in 0..7 {
        store
            .create_oidc_provider(
                &a,
                &provider(&format!("P{i}"), &format!("https://{i}.example")),
            )
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut page = Page::first(3);
    loop {
        let listed = store.list_oidc_providers(&a, &page).await.unwrap();
        seen.extend(listed.items.into_iter().map(|p| p.name));
        match listed.marker {
            Some(marker) => page = Page::after(marker, 3),
            None => break,
        }
    }
    assert_eq!(seen, ["P0", "P1", "P2", "P3", "P4", "P5", "P6"]);
    assert_code(
        store.list_oidc_providers(&a, &Page::first(1001)).await,
        "InvalidParameter.MaxItems.Range",
    );
}

async fn quota_is_enforced(store: &SqlStore) {
    let a = account(store).await;
    let mut config = StoreConfig::new(store.url().to_owned());
    config.quotas.oidc_providers = 2;
    config.max_connections = 2;
    let small = SqlStore::connect(&config).await.unwrap();
    for i in 0..2 {
        small
            .create_oidc_provider(
                &a,
                &provider(&format!("p{i}"), &format!("https://{i}.example")),
            )
            .await
            .unwrap();
    }
    assert_code(
        small
            .create_oidc_provider(&a, &provider("p2", "https://2.example"))
            .await,
        "LimitExceeded.OIDCProvider",
    );
    // Per account, and the override applies.
    small
        .set_account_quota(&a, tessera_store::QuotaName::OidcProviders, Some(3))
        .await
        .unwrap();
    small
        .create_oidc_provider(&a, &provider("p2", "https://2.example"))
        .await
        .unwrap();
    let b = account(store).await;
    small
        .create_oidc_provider(&b, &provider("p0", "https://0.example"))
        .await
        .unwrap();
    small.close().await;
}

async fn accounts_are_isolated(store: &SqlStore) {
    let a = account(store).await;
    let b = account(store).await;
    store
        .create_oidc_provider(&a, &provider("shared", "https://same.example"))
        .await
        .unwrap();
    // The same name and issuer in another account are another provider.
    store
        .create_oidc_provider(&b, &provider("shared", "https://same.example"))
        .await
        .unwrap();
    store.delete_oidc_provider(&b, "shared").await.unwrap();
    assert!(store.get_oidc_provider(&a, "shared").await.is_ok());
    assert_code(
        store.get_oidc_provider(&b, "shared").await,
        "EntityNotExist.OIDCProvider",
    );
    assert!(
        store
            .list_oidc_providers(&b, &Page::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

async fn writes_are_logged(store: &SqlStore) {
    let a = account(store).await;
    let before = store.current_revision().await.unwrap();
    store
        .create_oidc_provider(&a, &provider("Logged", "https://l.example"))
        .await
        .unwrap();
    store.add_oidc_client_id(&a, "logged", "x").await.unwrap();
    store.delete_oidc_provider(&a, "LOGGED").await.unwrap();
    let changes = store.changes_since(before, 100).await.unwrap();
    let ours: Vec<_> = changes
        .iter()
        .filter(|c| c.kind == EntityKind::OidcProvider)
        .collect();
    assert_eq!(ours.len(), 3, "{changes:?}");
    for change in ours {
        assert_eq!(change.account.as_ref(), Some(&a));
        assert_eq!(change.entity, "logged");
        assert!(change.revision > before);
    }
    assert!(store.current_revision().await.unwrap() > Revision(before.0 + 2));
}
