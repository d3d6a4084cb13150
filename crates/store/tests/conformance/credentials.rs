use tessera_store::{
    AccountId, CredentialStore, EntityKind, LoginProfileUpdate, NewLoginProfile, SqlStore,
    StoreConfig, SystemStore, UserStore, UserUpdate,
};

use crate::support::{account, assert_code, user};

conformance!(
    login_profile_lifecycle,
    login_profile_errors,
    login_secret_for_sign_in,
    mfa_device_lifecycle,
    mfa_device_names_and_serials,
    bind_conflicts,
    bind_refuses_a_replaced_seed,
    mfa_device_quota,
    user_delete_conflicts_with_credentials,
    credentials_are_isolated_between_accounts,
    credential_writes_are_logged,
    secrets_stay_out_of_debug_output
);

const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";
const HASH2: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$b3RoZXJoYXNo";

fn profile(reset: bool, mfa: bool) -> NewLoginProfile {
    NewLoginProfile {
        password_hash: HASH.into(),
        password_reset_required: reset,
        mfa_bind_required: mfa,
    }
}

fn serial(a: &AccountId, name: &str) -> String {
    format!("acs:ram::{a}:mfa/{name}")
}

async fn login_profile_lifecycle(store: &SqlStore) {
    let a = account(store).await;
    user(store, &a, "Alice").await;
    let created = store
        .create_login_profile(&a, "alice", &profile(true, false))
        .await
        .unwrap()
        .value;
    assert_eq!(created.user_name, "Alice");
    assert!(created.password_reset_required);
    assert!(!created.mfa_bind_required);
    assert_eq!(store.get_login_profile(&a, "ALICE").await.unwrap(), created);

    let updated = store
        .update_login_profile(
            &a,
            "alice",
            &LoginProfileUpdate {
                mfa_bind_required: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .value;
    assert!(updated.password_reset_required);
    assert!(updated.mfa_bind_required);
    assert_eq!(updated.created_at, created.created_at);
    // Only the hash changes; the flags stay.
    store
        .update_login_profile(
            &a,
            "alice",
            &LoginProfileUpdate {
                password_hash: Some(HASH2.into()),
                password_reset_required: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let secret = store.login_secret(&a, "alice").await.unwrap().unwrap();
    assert_eq!(secret.password_hash, HASH2);
    assert!(!secret.profile.password_reset_required);
    assert!(secret.profile.mfa_bind_required);

    // The profile follows a renamed user.
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
        store
            .get_login_profile(&a, "alicia")
            .await
            .unwrap()
            .user_name,
        "alicia"
    );

    store.delete_login_profile(&a, "alicia").await.unwrap();
    assert_code(
        store.get_login_profile(&a, "alicia").await,
        "EntityNotExist.User.LoginProfile",
    );
    assert_code(
        store.delete_login_profile(&a, "alicia").await,
        "EntityNotExist.User.LoginProfile",
    );
    // It can be created again.
    store
        .create_login_profile(&a, "alicia", &profile(false, false))
        .await
        .unwrap();
}

async fn login_profile_errors(store: &SqlStore) {
    let a = account(store).await;
    user(store, &a, "alice").await;
    assert_code(
        store
            .create_login_profile(&a, "ghost", &profile(false, false))
            .await,
        "EntityNotExist.User",
    );
    assert_code(
        store.get_login_profile(&a, "ghost").await,
        "EntityNotExist.User",
    );
    assert_code(
        store
            .update_login_profile(&a, "ghost", &LoginProfileUpdate::default())
            .await,
        "EntityNotExist.User",
    );
    assert_code(
        store.delete_login_profile(&a, "ghost").await,
        "EntityNotExist.User",
    );
    assert_code(
        store.get_login_profile(&a, "alice").await,
        "EntityNotExist.User.LoginProfile",
    );
    assert_code(
        store
            .update_login_profile(&a, "alice", &LoginProfileUpdate::default())
            .await,
        "EntityNotExist.User.LoginProfile",
    );
    // Only PHC strings are stored: a plain password is refused, and not echoed.
    let plain = NewLoginProfile {
        password_hash: "hunter2-plain".into(),
        ..profile(false, false)
    };
    match store.create_login_profile(&a, "alice", &plain).await {
        Err(e) => {
            assert_eq!(e.code(), "InvalidParameter.PasswordHash");
            assert!(!e.message().contains("hunter2"));
        }
        Ok(v) => panic!("stored a plain password: {v:?}"),
    }
    store
        .create_login_profile(&a, "alice", &profile(false, false))
        .await
        .unwrap();
    assert_code(
        store
            .create_login_profile(&a, "ALICE", &profile(false, false))
            .await,
        "EntityAlreadyExists.User.LoginProfile",
    );
    assert_code(
        store
            .update_login_profile(
                &a,
                "alice",
                &LoginProfileUpdate {
                    password_hash: Some("plain".into()),
                    ..Default::default()
                },
            )
            .await,
        "InvalidParameter.PasswordHash",
    );
}

async fn login_secret_for_sign_in(store: &SqlStore) {
    let a = account(store).await;
    user(store, &a, "alice").await;
    user(store, &a, "bob").await;
    // No user and no profile look the same.
    assert!(store.login_secret(&a, "ghost").await.unwrap().is_none());
    assert!(store.login_secret(&a, "bob").await.unwrap().is_none());
    store
        .create_login_profile(&a, "alice", &profile(false, true))
        .await
        .unwrap();
    let secret = store.login_secret(&a, "Alice").await.unwrap().unwrap();
    assert_eq!(secret.password_hash, HASH);
    // A real argon2id hash round-trips and verifies.
    let password = tessera_credentials::Secret::from("Sign-In-2026");
    let hash = tessera_credentials::hash_password(&password).unwrap();
    store
        .update_login_profile(
            &a,
            "alice",
            &LoginProfileUpdate {
                password_hash: Some(hash),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let stored = store.login_secret(&a, "alice").await.unwrap().unwrap();
    assert!(tessera_credentials::verify_password(&password, &stored.password_hash).unwrap());
    assert!(
        !tessera_credentials::verify_password(
            &tessera_credentials::Secret::from("wrong-Password-1"),
            &stored.password_hash
        )
        .unwrap()
    );
    assert!(secret.profile.mfa_bind_required);
    assert_eq!(secret.mfa, None);
    let device = store
        .create_virtual_mfa_device(&a, "alice-phone", b"sealed-seed-1")
        .await
        .unwrap()
        .value;
    // An unbound device is not the user's.
    assert_eq!(
        store.login_secret(&a, "alice").await.unwrap().unwrap().mfa,
        None
    );
    store
        .bind_mfa_device(&a, "alice", &device.serial_number, b"sealed-seed-1")
        .await
        .unwrap();
    let mfa = store
        .login_secret(&a, "alice")
        .await
        .unwrap()
        .unwrap()
        .mfa
        .unwrap();
    assert_eq!(mfa.serial_number, device.serial_number);
    assert_eq!(mfa.sealed_seed, b"sealed-seed-1".to_vec());
}

async fn mfa_device_lifecycle(store: &SqlStore) {
    let a = account(store).await;
    user(store, &a, "alice").await;
    let created = store
        .create_virtual_mfa_device(&a, "Phone-1", b"seed")
        .await
        .unwrap()
        .value;
    assert_eq!(created.serial_number, serial(&a, "Phone-1"));
    assert_eq!(created.name, "Phone-1");
    assert_eq!(created.user_name, None);
    assert_eq!(created.activated_at, None);
    assert_eq!(
        store.list_virtual_mfa_devices(&a).await.unwrap(),
        vec![created.clone()]
    );
    let seed = store
        .virtual_mfa_device_seed(&a, &created.serial_number)
        .await
        .unwrap();
    assert_eq!(seed.sealed_seed, b"seed".to_vec());
    assert_eq!(store.get_user_mfa_device(&a, "alice").await.unwrap(), None);

    let bound = store
        .bind_mfa_device(&a, "Alice", &created.serial_number, b"seed")
        .await
        .unwrap()
        .value;
    assert_eq!(bound.user_name.as_deref(), Some("alice"));
    assert!(bound.activated_at.is_some());
    assert_eq!(
        store.get_user_mfa_device(&a, "alice").await.unwrap(),
        Some(bound.clone())
    );
    assert_eq!(
        store.list_virtual_mfa_devices(&a).await.unwrap(),
        vec![bound.clone()]
    );
    assert_code(
        store
            .delete_virtual_mfa_device(&a, &created.serial_number)
            .await,
        "DeleteConflict.VirtualMFADevice.User",
    );

    let unbound = store.unbind_mfa_device(&a, "alice").await.unwrap().value;
    assert_eq!(unbound.serial_number, created.serial_number);
    assert_eq!(unbound.user_name, None);
    assert_eq!(unbound.activated_at, None);
    assert_eq!(store.get_user_mfa_device(&a, "alice").await.unwrap(), None);
    assert_code(
        store.unbind_mfa_device(&a, "alice").await,
        "EntityNotExist.User.MFADevice",
    );
    store
        .delete_virtual_mfa_device(&a, &created.serial_number)
        .await
        .unwrap();
    assert!(store.list_virtual_mfa_devices(&a).await.unwrap().is_empty());
    assert_code(
        store
            .delete_virtual_mfa_device(&a, &created.serial_number)
            .await,
        "EntityNotExist.VirtualMFADevice",
    );
    assert_code(
        store
            .virtual_mfa_device_seed(&a, &created.serial_number)
            .await,
        "EntityNotExist.VirtualMFADevice",
    );
    assert_code(
        store
            .bind_mfa_device(&a, "alice", &created.serial_number, b"seed")
            .await,
        "EntityNotExist.VirtualMFADevice",
    );
    // The name is free again.
    store
        .create_virtual_mfa_device(&a, "phone-1", b"seed2")
        .await
        .unwrap();
    assert_code(
        store.get_user_mfa_device(&a, "ghost").await,
        "EntityNotExist.User",
    );
    assert_code(
        store.unbind_mfa_device(&a, "ghost").await,
        "EntityNotExist.User",
    );
}

async fn mfa_device_names_and_serials(store: &SqlStore) {
    let a = account(store).await;
    store
        .create_virtual_mfa_device(&a, "Token.A", b"seed")
        .await
        .unwrap();
    assert_code(
        store
            .create_virtual_mfa_device(&a, "token.a", b"seed")
            .await,
        "EntityAlreadyExists.VirtualMFADevice",
    );
    assert_code(
        store
            .create_virtual_mfa_device(&a, "bad_name", b"seed")
            .await,
        "InvalidParameter.VirtualMFADeviceName.InvalidChars",
    );
    assert_code(
        store.create_virtual_mfa_device(&a, "", b"seed").await,
        "InvalidParameter.VirtualMFADeviceName.Length",
    );
    assert_code(
        store
            .create_virtual_mfa_device(&a, &"m".repeat(65), b"seed")
            .await,
        "InvalidParameter.VirtualMFADeviceName.Length",
    );
    assert_code(
        store.create_virtual_mfa_device(&a, "empty-seed", b"").await,
        "MissingBase32StringSeed",
    );
    store
        .create_virtual_mfa_device(&a, "alpha", b"seed")
        .await
        .unwrap();
    let listed = store.list_virtual_mfa_devices(&a).await.unwrap();
    assert_eq!(
        listed.iter().map(|d| d.name.as_str()).collect::<Vec<_>>(),
        vec!["alpha", "Token.A"]
    );
    // Serial numbers resolve case-insensitively in the name, but only in their own account and
    // only when well formed.
    store
        .virtual_mfa_device_seed(&a, &serial(&a, "TOKEN.a"))
        .await
        .unwrap();
    for bad in [
        "Token.A".to_owned(),
        format!("acs:ram::{a}:mfa/"),
        format!("acs:ram::{a}:user/Token.A"),
        "acs:ram::1999999999999999:mfa/Token.A".to_owned(),
        format!("acs:ram::{a}:mfa/Token.A/x"),
    ] {
        assert_code(
            store.virtual_mfa_device_seed(&a, &bad).await,
            "EntityNotExist.VirtualMFADevice",
        );
        assert_code(
            store.delete_virtual_mfa_device(&a, &bad).await,
            "EntityNotExist.VirtualMFADevice",
        );
    }
    store
        .delete_virtual_mfa_device(&a, &serial(&a, "token.A"))
        .await
        .unwrap();
    let ghost = AccountId::parse("1999999999999999").unwrap();
    assert_code(
        store.create_virtual_mfa_device(&ghost, "x", b"seed").await,
        "EntityNotExist.Account",
    );
}

async fn bind_conflicts(store: &SqlStore) {
    let a = account(store).await;
    user(store, &a, "alice").await;
    user(store, &a, "bob").await;
    let d1 = store
        .create_virtual_mfa_device(&a, "d1", b"seed1")
        .await
        .unwrap()
        .value;
    let d2 = store
        .create_virtual_mfa_device(&a, "d2", b"seed2")
        .await
        .unwrap()
        .value;
    store
        .bind_mfa_device(&a, "alice", &d1.serial_number, b"seed1")
        .await
        .unwrap();
    // Alice has a device already: the same one or another.
    assert_code(
        store
            .bind_mfa_device(&a, "alice", &d1.serial_number, b"seed1")
            .await,
        "EntityAlreadyExists.User.MFADevice",
    );
    assert_code(
        store
            .bind_mfa_device(&a, "alice", &d2.serial_number, b"seed2")
            .await,
        "EntityAlreadyExists.User.MFADevice",
    );
    // d1 is Alice's.
    assert_code(
        store
            .bind_mfa_device(&a, "bob", &d1.serial_number, b"seed1")
            .await,
        "EntityAlreadyExists.VirtualMFADevice.User",
    );
    assert_code(
        store
            .bind_mfa_device(&a, "ghost", &d2.serial_number, b"seed2")
            .await,
        "EntityNotExist.User",
    );
    store
        .bind_mfa_device(&a, "bob", &d2.serial_number, b"seed2")
        .await
        .unwrap();
    assert_eq!(
        store
            .get_user_mfa_device(&a, "bob")
            .await
            .unwrap()
            .unwrap()
            .serial_number,
        d2.serial_number
    );
    // Concurrent binds of one device to different users: exactly one wins.
    let d3 = store
        .create_virtual_mfa_device(&a, "d3", b"seed3")
        .await
        .unwrap()
        .value;
    let mut tasks = Vec::new();
    for i in 0..4 {
        let name = format!("racer{i}");
        user(store, &a, &name).await;
        let store = store.clone();
        let a = a.clone();
        let serial = d3.serial_number.clone();
        tasks.push(tokio::spawn(async move {
            store.bind_mfa_device(&a, &name, &serial, b"seed3").await
        }));
    }
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(e.code(), "EntityAlreadyExists.VirtualMFADevice.User", "{e}"),
        }
    }
    assert_eq!(ok, 1);
}

/// The device a bind verified its codes against may be deleted and recreated (same serial
/// number, new seed) before the bind: the bind then refuses, as the codes are not the new
/// device's.
async fn bind_refuses_a_replaced_seed(store: &SqlStore) {
    let a = account(store).await;
    user(store, &a, "alice").await;
    let device = store
        .create_virtual_mfa_device(&a, "phone", b"old-seed")
        .await
        .unwrap()
        .value;
    let verified = store
        .virtual_mfa_device_seed(&a, &device.serial_number)
        .await
        .unwrap();
    store
        .delete_virtual_mfa_device(&a, &device.serial_number)
        .await
        .unwrap();
    let recreated = store
        .create_virtual_mfa_device(&a, "Phone", b"new-seed")
        .await
        .unwrap()
        .value;
    assert_code(
        store
            .bind_mfa_device(&a, "alice", &recreated.serial_number, &verified.sealed_seed)
            .await,
        "CheckAuthenticationCodeFail",
    );
    assert_eq!(store.get_user_mfa_device(&a, "alice").await.unwrap(), None);
    let usage = tessera_store::AccountStore::account_usage(store, &a)
        .await
        .unwrap();
    assert_eq!(
        (usage.virtual_mfa_devices, usage.virtual_mfa_devices_in_use),
        (1, 0)
    );
    store
        .bind_mfa_device(&a, "alice", &recreated.serial_number, b"new-seed")
        .await
        .unwrap();
    let usage = tessera_store::AccountStore::account_usage(store, &a)
        .await
        .unwrap();
    assert_eq!(
        (usage.virtual_mfa_devices, usage.virtual_mfa_devices_in_use),
        (1, 1)
    );
}

async fn mfa_device_quota(store: &SqlStore) {
    let a = account(store).await;
    let b = account(store).await;
    let mut config = StoreConfig::new(store.url().to_owned());
    config.quotas.virtual_mfa_devices = 2;
    config.max_connections = 2;
    let small = SqlStore::connect(&config).await.unwrap();
    small
        .create_virtual_mfa_device(&a, "m1", b"s")
        .await
        .unwrap();
    small
        .create_virtual_mfa_device(&a, "m2", b"s")
        .await
        .unwrap();
    assert_code(
        small.create_virtual_mfa_device(&a, "m3", b"s").await,
        "LimitExceeded.VirtualMFADevice",
    );
    small
        .create_virtual_mfa_device(&b, "m1", b"s")
        .await
        .unwrap();
    small
        .delete_virtual_mfa_device(&a, &serial(&a, "m1"))
        .await
        .unwrap();
    small
        .create_virtual_mfa_device(&a, "m3", b"s")
        .await
        .unwrap();
    assert_eq!(
        tessera_store::AccountStore::account_usage(store, &a)
            .await
            .unwrap()
            .virtual_mfa_devices,
        2
    );
    small.close().await;
}

async fn user_delete_conflicts_with_credentials(store: &SqlStore) {
    let a = account(store).await;
    user(store, &a, "alice").await;
    store
        .create_login_profile(&a, "alice", &profile(false, false))
        .await
        .unwrap();
    assert_code(
        store.delete_user(&a, "alice").await,
        "DeleteConflict.User.LoginProfile",
    );
    store.delete_login_profile(&a, "alice").await.unwrap();
    let device = store
        .create_virtual_mfa_device(&a, "alice-mfa", b"seed")
        .await
        .unwrap()
        .value;
    store
        .bind_mfa_device(&a, "alice", &device.serial_number, b"seed")
        .await
        .unwrap();
    assert_code(
        store.delete_user(&a, "alice").await,
        "DeleteConflict.User.MFADevice",
    );
    store.unbind_mfa_device(&a, "alice").await.unwrap();
    store.delete_user(&a, "alice").await.unwrap();
    // The device survives its user, unbound.
    assert_eq!(store.list_virtual_mfa_devices(&a).await.unwrap().len(), 1);
}

async fn credentials_are_isolated_between_accounts(store: &SqlStore) {
    let a = account(store).await;
    let b = account(store).await;
    user(store, &a, "alice").await;
    user(store, &b, "alice").await;
    store
        .create_login_profile(&a, "alice", &profile(false, false))
        .await
        .unwrap();
    assert_code(
        store.get_login_profile(&b, "alice").await,
        "EntityNotExist.User.LoginProfile",
    );
    assert!(store.login_secret(&b, "alice").await.unwrap().is_none());
    assert_code(
        store.delete_login_profile(&b, "alice").await,
        "EntityNotExist.User.LoginProfile",
    );
    let device = store
        .create_virtual_mfa_device(&a, "shared-name", b"seed-a")
        .await
        .unwrap()
        .value;
    // The same name in B is another device.
    let device_b = store
        .create_virtual_mfa_device(&b, "shared-name", b"seed-b")
        .await
        .unwrap()
        .value;
    assert_ne!(device.serial_number, device_b.serial_number);
    // A's serial number means nothing in B.
    assert_code(
        store
            .bind_mfa_device(&b, "alice", &device.serial_number, b"seed-a")
            .await,
        "EntityNotExist.VirtualMFADevice",
    );
    assert_code(
        store
            .delete_virtual_mfa_device(&b, &device.serial_number)
            .await,
        "EntityNotExist.VirtualMFADevice",
    );
    assert_code(
        store
            .virtual_mfa_device_seed(&b, &device.serial_number)
            .await,
        "EntityNotExist.VirtualMFADevice",
    );
    store
        .bind_mfa_device(&a, "alice", &device.serial_number, b"seed-a")
        .await
        .unwrap();
    assert_eq!(store.get_user_mfa_device(&b, "alice").await.unwrap(), None);
    assert_code(
        store.unbind_mfa_device(&b, "alice").await,
        "EntityNotExist.User.MFADevice",
    );
    assert_eq!(
        store
            .virtual_mfa_device_seed(&b, &device_b.serial_number)
            .await
            .unwrap()
            .sealed_seed,
        b"seed-b".to_vec()
    );
    assert_eq!(store.list_virtual_mfa_devices(&b).await.unwrap().len(), 1);
    assert_eq!(
        store.list_virtual_mfa_devices(&b).await.unwrap()[0].user_name,
        None
    );
}

async fn credential_writes_are_logged(store: &SqlStore) {
    let a = account(store).await;
    user(store, &a, "Alice").await;
    let start = store.current_revision().await.unwrap();
    let p = store
        .create_login_profile(&a, "alice", &profile(false, false))
        .await
        .unwrap();
    let u = store
        .update_login_profile(&a, "alice", &LoginProfileUpdate::default())
        .await
        .unwrap();
    let d = store
        .create_virtual_mfa_device(&a, "Dev", b"seed")
        .await
        .unwrap();
    let bound = store
        .bind_mfa_device(&a, "alice", &d.value.serial_number, b"seed")
        .await
        .unwrap();
    let unbound = store.unbind_mfa_device(&a, "alice").await.unwrap();
    let deleted_device = store
        .delete_virtual_mfa_device(&a, &d.value.serial_number)
        .await
        .unwrap();
    let deleted_profile = store.delete_login_profile(&a, "alice").await.unwrap();
    let changes = store.changes_since(start, 100).await.unwrap();
    assert!(changes.iter().all(|c| c.account.as_ref() == Some(&a)));
    assert_eq!(
        changes
            .iter()
            .map(|c| (c.revision, c.kind, c.entity.as_str()))
            .collect::<Vec<_>>(),
        vec![
            (p.revision, EntityKind::LoginProfile, "alice"),
            (u.revision, EntityKind::LoginProfile, "alice"),
            (d.revision, EntityKind::MfaDevice, "dev"),
            (bound.revision, EntityKind::MfaDevice, "dev"),
            (bound.revision, EntityKind::LoginProfile, "alice"),
            (unbound.revision, EntityKind::MfaDevice, "dev"),
            (unbound.revision, EntityKind::LoginProfile, "alice"),
            (deleted_device.revision, EntityKind::MfaDevice, "dev"),
            (deleted_profile.revision, EntityKind::LoginProfile, "alice"),
        ]
    );
}

async fn secrets_stay_out_of_debug_output(store: &SqlStore) {
    let a = account(store).await;
    user(store, &a, "alice").await;
    store
        .create_login_profile(&a, "alice", &profile(false, false))
        .await
        .unwrap();
    let device = store
        .create_virtual_mfa_device(&a, "dev", b"TOPSECRETSEED")
        .await
        .unwrap()
        .value;
    store
        .bind_mfa_device(&a, "alice", &device.serial_number, b"TOPSECRETSEED")
        .await
        .unwrap();
    let secret = store.login_secret(&a, "alice").await.unwrap().unwrap();
    let seed = store
        .virtual_mfa_device_seed(&a, &device.serial_number)
        .await
        .unwrap();
    let update = LoginProfileUpdate {
        password_hash: Some(HASH2.into()),
        ..Default::default()
    };
    let debug = format!("{secret:?} {seed:?} {:?} {update:?}", profile(false, false));
    assert!(!debug.contains("argon2"), "{debug}");
    assert!(!debug.contains("TOPSECRETSEED"), "{debug}");
    // The seed bytes, as Debug would print a Vec<u8>, are absent too.
    assert!(!debug.contains("84, 79, 80"), "{debug}");
    assert!(debug.contains(&device.serial_number));
}
