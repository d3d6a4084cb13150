use jiff::Timestamp;
use tessera_store::{
    AccessKeyStatus, AccountId, AccountStore, AuditDecision, AuditEvent, AuditOrder, AuditQuery,
    EntityKind, GroupStore, KeyStore, NewAccessKey, NewSigningKey, NewUser, Revision,
    SigningKeyStatus, SqlStore, SystemStore, UserStore,
};

use crate::support::{account, assert_code};

conformance!(
    signing_keys_insert_list_retire,
    signing_key_errors,
    rotation_retires_every_active_key_at_one_revision,
    token_revocation,
    revocations_are_isolated_between_accounts,
    changes_since_returns_writes_in_order,
    changes_since_never_splits_a_revision,
    audit_events_order_and_paging,
    audit_event_filters,
    audit_events_are_per_account,
    audit_lookup_filters,
    audit_events_are_purged_by_age
);

fn signing_key(kid: &str) -> NewSigningKey {
    NewSigningKey {
        kid: kid.into(),
        algorithm: "EdDSA".into(),
        sealed_private_key: format!("PRIVATE-{kid}").into_bytes(),
        public_key: format!("public-{kid}").into_bytes(),
    }
}

fn ts(second: i64) -> Timestamp {
    Timestamp::from_second(second).unwrap()
}

async fn signing_keys_insert_list_retire(store: &SqlStore) {
    assert!(store.list_signing_keys().await.unwrap().is_empty());
    let start = store.current_revision().await.unwrap();
    let k1 = store.insert_signing_key(&signing_key("k1")).await.unwrap();
    assert_eq!(k1.value.kid, "k1");
    assert_eq!(k1.value.algorithm, "EdDSA");
    assert_eq!(k1.value.status, SigningKeyStatus::Active);
    assert_eq!(k1.value.retired_at, None);
    assert_eq!(k1.value.sealed_private_key, b"PRIVATE-k1".to_vec());
    assert_eq!(k1.value.public_key, b"public-k1".to_vec());
    let k2 = store.insert_signing_key(&signing_key("k2")).await.unwrap();
    let listed = store.list_signing_keys().await.unwrap();
    assert_eq!(listed, vec![k1.value.clone(), k2.value.clone()]);

    let retired = store
        .retire_signing_key("k1", ts(1_800_000_000))
        .await
        .unwrap();
    assert_eq!(retired.value.status, SigningKeyStatus::Retired);
    assert_eq!(retired.value.retired_at, Some(ts(1_800_000_000)));
    assert_eq!(
        retired.value.sealed_private_key,
        k1.value.sealed_private_key
    );
    // Retiring again keeps the first time.
    let again = store
        .retire_signing_key("k1", ts(1_900_000_000))
        .await
        .unwrap();
    assert_eq!(again.value.retired_at, Some(ts(1_800_000_000)));
    let listed = store.list_signing_keys().await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].status, SigningKeyStatus::Retired);
    assert_eq!(listed[1].status, SigningKeyStatus::Active);

    // Global changes: no account.
    let changes = store.changes_since(start, 100).await.unwrap();
    assert_eq!(
        changes
            .iter()
            .map(|c| (c.revision, c.account.clone(), c.kind, c.entity.as_str()))
            .collect::<Vec<_>>(),
        vec![
            (k1.revision, None, EntityKind::SigningKey, "k1"),
            (k2.revision, None, EntityKind::SigningKey, "k2"),
            (retired.revision, None, EntityKind::SigningKey, "k1"),
            (again.revision, None, EntityKind::SigningKey, "k1"),
        ]
    );
    // Debug output never shows the private key.
    let debug = format!("{:?} {:?}", listed, signing_key("k9"));
    assert!(!debug.contains("PRIVATE"), "{debug}");
    assert!(!debug.contains("80, 82, 73"), "{debug}");
}

async fn rotation_retires_every_active_key_at_one_revision(store: &SqlStore) {
    let k1 = store.insert_signing_key(&signing_key("k1")).await.unwrap();
    // Two active keys (a bootstrap race, say): a rotation retires both.
    store.insert_signing_key(&signing_key("k2")).await.unwrap();
    store
        .retire_signing_key("k1", ts(1_700_000_000))
        .await
        .unwrap();
    store.insert_signing_key(&signing_key("k3")).await.unwrap();
    let start = store.current_revision().await.unwrap();
    let rotated = store
        .rotate_signing_key(&signing_key("k4"), ts(1_800_000_000))
        .await
        .unwrap();
    let (new, retired) = &rotated.value;
    assert_eq!(new.kid, "k4");
    assert_eq!(new.status, SigningKeyStatus::Active);
    assert_eq!(retired, &vec!["k2".to_owned(), "k3".to_owned()]);
    let listed = store.list_signing_keys().await.unwrap();
    let state: Vec<_> = listed
        .iter()
        .map(|k| (k.kid.as_str(), k.status, k.retired_at))
        .collect();
    assert_eq!(
        state,
        vec![
            // An already retired key keeps its retirement time.
            ("k1", SigningKeyStatus::Retired, Some(ts(1_700_000_000))),
            ("k2", SigningKeyStatus::Retired, Some(ts(1_800_000_000))),
            ("k3", SigningKeyStatus::Retired, Some(ts(1_800_000_000))),
            ("k4", SigningKeyStatus::Active, None),
        ]
    );
    assert_eq!(listed[0].sealed_private_key, k1.value.sealed_private_key);
    let changes: Vec<_> = store
        .changes_since(start, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.revision, c.account, c.kind, c.entity))
        .collect();
    let at = |kid: &str| {
        (
            rotated.revision,
            None,
            EntityKind::SigningKey,
            kid.to_owned(),
        )
    };
    assert_eq!(changes, vec![at("k2"), at("k3"), at("k4")]);

    // A known kid fails the whole rotation: nothing is retired.
    let revision = store.current_revision().await.unwrap();
    assert_code(
        store
            .rotate_signing_key(&signing_key("k2"), ts(1_900_000_000))
            .await,
        "EntityAlreadyExists.SigningKey",
    );
    assert_eq!(store.list_signing_keys().await.unwrap(), listed);
    assert_eq!(store.current_revision().await.unwrap(), revision);
}

async fn signing_key_errors(store: &SqlStore) {
    store.insert_signing_key(&signing_key("dup")).await.unwrap();
    assert_code(
        store.insert_signing_key(&signing_key("dup")).await,
        "EntityAlreadyExists.SigningKey",
    );
    assert_code(
        store.retire_signing_key("nope", Timestamp::now()).await,
        "EntityNotExist.SigningKey",
    );
    assert_code(
        store.insert_signing_key(&signing_key("")).await,
        "InvalidParameter.Kid.Length",
    );
    assert_code(
        store.insert_signing_key(&signing_key("a b")).await,
        "InvalidParameter.Kid.InvalidChars",
    );
    assert_code(
        store
            .insert_signing_key(&NewSigningKey {
                sealed_private_key: Vec::new(),
                ..signing_key("empty")
            })
            .await,
        "MissingSigningKey",
    );
    assert_eq!(store.list_signing_keys().await.unwrap().len(), 1);
}

async fn token_revocation(store: &SqlStore) {
    let a = account(store).await;
    assert!(!store.is_token_revoked(&a, "tok-1").await.unwrap());
    let before = store.current_revision().await.unwrap();
    let revoked = store
        .revoke_token(&a, "tok-1", ts(2_000_000_000))
        .await
        .unwrap();
    assert!(revoked.revision > before);
    assert!(store.is_token_revoked(&a, "tok-1").await.unwrap());
    assert!(!store.is_token_revoked(&a, "tok-2").await.unwrap());
    // Revoking twice is fine and keeps the later expiry.
    store
        .revoke_token(&a, "tok-1", ts(1_000_000_000))
        .await
        .unwrap();
    store
        .revoke_token(&a, "tok-2", ts(1_000_000_000))
        .await
        .unwrap();
    let changes = store.changes_since(before, 100).await.unwrap();
    assert_eq!(
        changes
            .iter()
            .map(|c| (c.kind, c.entity.as_str()))
            .collect::<Vec<_>>(),
        vec![
            (EntityKind::Token, "tok-1"),
            (EntityKind::Token, "tok-1"),
            (EntityKind::Token, "tok-2"),
        ]
    );
    assert!(changes.iter().all(|c| c.account.as_ref() == Some(&a)));
    // Purging forgets tokens that expired before the cut-off, not the others.
    let at = store.current_revision().await.unwrap();
    assert_eq!(
        store
            .purge_expired_revocations(ts(1_500_000_000))
            .await
            .unwrap(),
        1
    );
    assert_eq!(store.current_revision().await.unwrap(), at);
    assert!(store.is_token_revoked(&a, "tok-1").await.unwrap());
    assert!(!store.is_token_revoked(&a, "tok-2").await.unwrap());
    assert_code(
        store.revoke_token(&a, "", ts(2_000_000_000)).await,
        "InvalidParameter.TokenId.Length",
    );
    let ghost = AccountId::parse("1999999999999999").unwrap();
    assert_code(
        store.revoke_token(&ghost, "tok", ts(2_000_000_000)).await,
        "EntityNotExist.Account",
    );
}

async fn revocations_are_isolated_between_accounts(store: &SqlStore) {
    let a = account(store).await;
    let b = account(store).await;
    store
        .revoke_token(&a, "same-id", ts(2_000_000_000))
        .await
        .unwrap();
    assert!(store.is_token_revoked(&a, "same-id").await.unwrap());
    assert!(!store.is_token_revoked(&b, "same-id").await.unwrap());
}

async fn changes_since_returns_writes_in_order(store: &SqlStore) {
    let start = store.current_revision().await.unwrap();
    let created = store.create_account("acme").await.unwrap();
    let a = created.value.id.clone();
    let user = store
        .create_user(
            &a,
            &NewUser {
                name: "Alice".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let group = store.create_group(&a, "Dev", None).await.unwrap();
    let joined = store.add_user_to_group(&a, "dev", "alice").await.unwrap();
    let key = store
        .create_access_key(
            &a,
            Some("alice"),
            &NewAccessKey {
                id: "LTAIchanges".into(),
                sealed_secret: b"s".to_vec(),
            },
        )
        .await
        .unwrap();
    let deactivated = store
        .update_access_key_status(&a, Some("alice"), "LTAIchanges", AccessKeyStatus::Inactive)
        .await
        .unwrap();
    let all = store.changes_since(start, 100).await.unwrap();
    assert_eq!(
        all.iter()
            .map(|c| (c.revision, c.kind, c.entity.as_str()))
            .collect::<Vec<_>>(),
        vec![
            (created.revision, EntityKind::Account, a.as_str()),
            (user.revision, EntityKind::User, "alice"),
            (group.revision, EntityKind::Group, "dev"),
            (joined.revision, EntityKind::User, "alice"),
            (joined.revision, EntityKind::Group, "dev"),
            (key.revision, EntityKind::AccessKey, "LTAIchanges"),
            (deactivated.revision, EntityKind::AccessKey, "LTAIchanges"),
        ]
    );
    assert!(all.iter().all(|c| c.account.as_ref() == Some(&a)));
    // Resuming after a revision returns only what came later.
    let later = store.changes_since(joined.revision, 100).await.unwrap();
    assert_eq!(
        later.iter().map(|c| c.revision).collect::<Vec<_>>(),
        vec![key.revision, deactivated.revision]
    );
    assert!(
        store
            .changes_since(deactivated.revision, 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.changes_since(start, 0).await.unwrap().is_empty());
    // Paging by the last revision seen visits every change once.
    let mut seen = Vec::new();
    let mut after = start;
    loop {
        let page = store.changes_since(after, 2).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.revision;
        seen.extend(page);
    }
    assert_eq!(seen, all);
}

async fn changes_since_never_splits_a_revision(store: &SqlStore) {
    let a = account(store).await;
    for name in ["alice", "bob"] {
        store
            .create_user(
                &a,
                &NewUser {
                    name: name.into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
    }
    store.create_group(&a, "g", None).await.unwrap();
    let start = store.current_revision().await.unwrap();
    // One revision with two entries, then one with two more.
    let first = store.add_user_to_group(&a, "g", "alice").await.unwrap();
    let second = store.add_user_to_group(&a, "g", "bob").await.unwrap();
    let page = store.changes_since(start, 1).await.unwrap();
    assert_eq!(page.len(), 2);
    assert!(page.iter().all(|c| c.revision == first.revision));
    let page = store.changes_since(first.revision, 3).await.unwrap();
    assert_eq!(page.len(), 2);
    assert!(page.iter().all(|c| c.revision == second.revision));
    assert!(
        store
            .changes_since(Revision(i64::MAX - 1), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

fn event(a: &AccountId, i: i64, action: &str, decision: AuditDecision) -> AuditEvent {
    AuditEvent {
        account: a.clone(),
        at: ts(1_800_000_000 + i),
        request_id: format!("req-{i}"),
        principal: format!("acs:ram::{a}:user/alice"),
        event_name: action.split_once(':').map_or(action, |(_, n)| n).into(),
        action: action.into(),
        resource: format!("acs:ram:*:{a}:user/u{i}"),
        decision,
        error_code: if decision == AuditDecision::Error {
            "EntityNotExist.User".into()
        } else {
            String::new()
        },
        source_ip: "192.0.2.7".into(),
        detail: format!("{{\"i\":{i}}}"),
    }
}

async fn audit_events_order_and_paging(store: &SqlStore) {
    let a = account(store).await;
    let events: Vec<_> = (0..250)
        .map(|i| event(&a, i, "ram:CreateUser", AuditDecision::Allow))
        .collect();
    let before = store.current_revision().await.unwrap();
    store.append_audit_events(&events).await.unwrap();
    store.append_audit_events(&[]).await.unwrap();
    // Auditing is neither a revision nor a change.
    assert_eq!(store.current_revision().await.unwrap(), before);

    let first = store
        .list_audit_events(&a, &AuditQuery::default())
        .await
        .unwrap();
    assert_eq!(first.len(), 100);
    assert_eq!(first[0].1, events[0]);
    assert!(first.windows(2).all(|w| w[0].0 < w[1].0));
    // Oldest first, pages continue after the last id.
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list_audit_events(
                &a,
                &AuditQuery {
                    after_id: after,
                    limit: 60,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.0);
        all.extend(page);
    }
    assert_eq!(
        all.iter().map(|(_, e)| e.clone()).collect::<Vec<_>>(),
        events
    );
    // Newest first.
    let newest = store
        .list_audit_events(
            &a,
            &AuditQuery {
                limit: 3,
                order: AuditOrder::NewestFirst,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        newest
            .iter()
            .map(|(_, e)| e.request_id.as_str())
            .collect::<Vec<_>>(),
        vec!["req-249", "req-248", "req-247"]
    );
    let older = store
        .list_audit_events(
            &a,
            &AuditQuery {
                after_id: Some(newest[2].0),
                limit: 2,
                order: AuditOrder::NewestFirst,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        older
            .iter()
            .map(|(_, e)| e.request_id.as_str())
            .collect::<Vec<_>>(),
        vec!["req-246", "req-245"]
    );
    for limit in [0, 1001] {
        assert_code(
            store
                .list_audit_events(
                    &a,
                    &AuditQuery {
                        limit,
                        ..Default::default()
                    },
                )
                .await,
            "InvalidParameter.MaxItems.Range",
        );
    }
}

async fn audit_event_filters(store: &SqlStore) {
    let a = account(store).await;
    let events = vec![
        event(&a, 0, "ram:CreateUser", AuditDecision::Allow),
        event(&a, 1, "ram:DeleteUser", AuditDecision::Error),
        event(&a, 2, "sts:AssumeRole", AuditDecision::Allow),
        event(&a, 3, "tessera:Authorize", AuditDecision::Deny),
        event(&a, 4, "ram:CreateUserX", AuditDecision::Deny),
        event(&a, 5, "ram_Create%", AuditDecision::Allow),
    ];
    store.append_audit_events(&events).await.unwrap();
    let ids = |query: AuditQuery| {
        let store = store.clone();
        let a = a.clone();
        async move {
            store
                .list_audit_events(&a, &query)
                .await
                .unwrap()
                .into_iter()
                .map(|(_, e)| e.request_id)
                .collect::<Vec<_>>()
        }
    };
    let prefix = |p: &str| AuditQuery {
        action_prefix: Some(p.into()),
        ..Default::default()
    };
    assert_eq!(ids(prefix("ram:")).await, vec!["req-0", "req-1", "req-4"]);
    // Case-insensitive, like actions.
    assert_eq!(ids(prefix("RAM:createuser")).await, vec!["req-0", "req-4"]);
    // `_` and `%` are literal, not wildcards.
    assert_eq!(ids(prefix("ram_")).await, vec!["req-5"]);
    assert_eq!(ids(prefix("ram_Create%")).await, vec!["req-5"]);
    assert!(ids(prefix("%")).await.is_empty());
    assert_eq!(ids(prefix("")).await.len(), 6);
    let decision = |d| AuditQuery {
        decision: Some(d),
        ..Default::default()
    };
    assert_eq!(
        ids(decision(AuditDecision::Deny)).await,
        vec!["req-3", "req-4"]
    );
    assert_eq!(ids(decision(AuditDecision::Error)).await, vec!["req-1"]);
    assert_eq!(
        ids(AuditQuery {
            action_prefix: Some("ram:".into()),
            decision: Some(AuditDecision::Deny),
            order: AuditOrder::NewestFirst,
            ..Default::default()
        })
        .await,
        vec!["req-4"]
    );
}

async fn audit_events_are_per_account(store: &SqlStore) {
    let a = account(store).await;
    let b = account(store).await;
    store
        .append_audit_events(&[
            event(&a, 0, "ram:CreateUser", AuditDecision::Allow),
            event(&b, 1, "ram:CreateUser", AuditDecision::Allow),
            event(&a, 2, "ram:CreateUser", AuditDecision::Allow),
        ])
        .await
        .unwrap();
    let listed_a = store
        .list_audit_events(&a, &AuditQuery::default())
        .await
        .unwrap();
    assert_eq!(listed_a.len(), 2);
    assert!(listed_a.iter().all(|(_, e)| e.account == a));
    let listed_b = store
        .list_audit_events(&b, &AuditQuery::default())
        .await
        .unwrap();
    assert_eq!(listed_b.len(), 1);
    assert_eq!(listed_b[0].1.request_id, "req-1");
    // Another account's id as a cursor does not leak anything.
    let after_b = store
        .list_audit_events(
            &a,
            &AuditQuery {
                after_id: Some(listed_b[0].0),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(after_b.iter().all(|(_, e)| e.account == a));
}

/// The filters of LookupEvents: time range (inclusive), exact event name, exact principal,
/// combined with each other and with paging in both orders.
async fn audit_lookup_filters(store: &SqlStore) {
    let a = account(store).await;
    let b = account(store).await;
    let bob = format!("acs:ram::{a}:user/bob");
    let mut events: Vec<_> = (0..10)
        .map(|i| {
            let action = if i % 2 == 0 {
                "ram:CreateUser"
            } else {
                "ram:DeleteUser"
            };
            let mut e = event(&a, i, action, AuditDecision::Allow);
            if i >= 5 {
                e.principal = bob.clone();
            }
            e
        })
        .collect();
    // An Authorize decision: named Authorize, about another action.
    let mut asked = event(&a, 10, "oss:GetObject", AuditDecision::Deny);
    asked.event_name = "Authorize".into();
    events.push(asked);
    // Another account's events match the same filters but never show.
    let mut other = event(&b, 3, "ram:CreateUser", AuditDecision::Allow);
    other.principal = bob.clone();
    events.push(other);
    store.append_audit_events(&events).await.unwrap();
    let ids = |query: AuditQuery| {
        let store = store.clone();
        let a = a.clone();
        async move {
            store
                .list_audit_events(&a, &query)
                .await
                .unwrap()
                .into_iter()
                .map(|(id, e)| (id, e.request_id))
                .collect::<Vec<_>>()
        }
    };
    let names = |found: Vec<(i64, String)>| found.into_iter().map(|(_, r)| r).collect::<Vec<_>>();

    let range = AuditQuery {
        start: Some(ts(1_800_000_002)),
        end: Some(ts(1_800_000_004)),
        ..Default::default()
    };
    assert_eq!(names(ids(range.clone()).await), ["req-2", "req-3", "req-4"]);
    let from = AuditQuery {
        start: Some(ts(1_800_000_009)),
        ..Default::default()
    };
    assert_eq!(names(ids(from).await), ["req-9", "req-10"]);
    let until = AuditQuery {
        end: Some(ts(1_800_000_000)),
        ..Default::default()
    };
    assert_eq!(names(ids(until).await), ["req-0"]);
    let empty = AuditQuery {
        start: Some(ts(1_800_000_005)),
        end: Some(ts(1_800_000_004)),
        ..Default::default()
    };
    assert!(ids(empty).await.is_empty());

    let named = |name: &str| AuditQuery {
        event_name: Some(name.into()),
        ..Default::default()
    };
    assert_eq!(
        names(ids(named("DeleteUser")).await),
        ["req-1", "req-3", "req-5", "req-7", "req-9"]
    );
    assert_eq!(names(ids(named("Authorize")).await), ["req-10"]);
    // Exact: no prefix, no case folding, no wildcard.
    assert!(ids(named("Delete")).await.is_empty());
    assert!(ids(named("deleteuser")).await.is_empty());
    assert!(ids(named("%")).await.is_empty());

    let by = |arn: &str| AuditQuery {
        principal: Some(arn.into()),
        ..Default::default()
    };
    assert_eq!(
        names(ids(by(&bob)).await),
        ["req-5", "req-6", "req-7", "req-8", "req-9"]
    );
    assert!(ids(by(&format!("acs:ram::{a}:user/BOB"))).await.is_empty());

    // Everything at once, newest first, one event per page.
    let all = AuditQuery {
        start: Some(ts(1_800_000_001)),
        end: Some(ts(1_800_000_009)),
        event_name: Some("DeleteUser".into()),
        principal: Some(bob.clone()),
        order: AuditOrder::NewestFirst,
        limit: 1,
        ..Default::default()
    };
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = ids(AuditQuery {
            after_id: after,
            ..all.clone()
        })
        .await;
        let Some((id, request)) = page.into_iter().next() else {
            break;
        };
        after = Some(id);
        seen.push(request);
    }
    assert_eq!(seen, ["req-9", "req-7", "req-5"]);
}

async fn audit_events_are_purged_by_age(store: &SqlStore) {
    let a = account(store).await;
    let b = account(store).await;
    let mut events: Vec<_> = (0..7)
        .map(|i| event(&a, i, "ram:CreateUser", AuditDecision::Allow))
        .collect();
    events.push(event(&b, 1, "ram:CreateUser", AuditDecision::Allow));
    store.append_audit_events(&events).await.unwrap();
    assert_eq!(
        store
            .purge_audit_events(ts(1_800_000_003), 0)
            .await
            .unwrap(),
        0
    );
    // Bounded batches, oldest first, across accounts: req-0 and both req-1.
    assert_eq!(
        store
            .purge_audit_events(ts(1_800_000_002), 2)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .purge_audit_events(ts(1_800_000_002), 2)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .purge_audit_events(ts(1_800_000_002), 2)
            .await
            .unwrap(),
        0
    );
    // Strictly before: the event at the cut-off stays.
    assert_eq!(
        store
            .purge_audit_events(ts(1_800_000_003), 100)
            .await
            .unwrap(),
        1
    );
    let left: Vec<_> = store
        .list_audit_events(&a, &AuditQuery::default())
        .await
        .unwrap()
        .into_iter()
        .map(|(_, e)| e.request_id)
        .collect();
    assert_eq!(left, ["req-3", "req-4", "req-5", "req-6"]);
    assert!(
        store
            .list_audit_events(&b, &AuditQuery::default())
            .await
            .unwrap()
            .is_empty()
    );
}
