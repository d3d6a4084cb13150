#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! The `tessera.v1.Ram` credential operations end to end, on SQLite and on PostgreSQL, through
//! the generated `RamClient` over signed channels: access keys (and what their status does to
//! authentication), login profiles, virtual MFA devices and binding with TOTP codes, the
//! account summary and alias. Each scenario checks the happy path, RAM's error codes,
//! authorization (no policy → `NoPermission`, a grant on the resource → allowed, a grant on
//! another resource → refused), and that no response, error or log line carries a secret after
//! the call that created it.

mod support;

use std::fmt::Debug;
use std::future::Future;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use support::{Backend, SignedChannel, TestServer, assert_code};
use tessera_credentials::{Secret, totp};
use tessera_proto::v1 as pb;
use tessera_proto::v1::ram_client::RamClient;
use tessera_proto::v1::sts_client::StsClient;
use tessera_store::{
    AccountStore as _, CredentialStore as _, NewPolicy, PolicyStore as _, PolicyType, Target,
};
use tonic::{Code, Status};

type Ram = RamClient<SignedChannel>;

// --- log capture and the secret check ---

/// Everything the process logs (the server runs in it), at DEBUG and above.
fn logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&buffer);
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || LogSink(Arc::clone(&sink)))
            .try_init();
        buffer
    })
    .clone()
}

struct LogSink(Arc<Mutex<Vec<u8>>>);

impl Write for LogSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What a scenario saw after each secret was created (every later response and error, in
/// Debug form), and the secrets that must appear neither there nor in the logs.
#[derive(Default)]
struct Leaks {
    transcript: String,
    secrets: Vec<String>,
}

impl Leaks {
    fn secret(&mut self, secret: impl Into<String>) {
        let secret = secret.into();
        assert!(secret.len() >= 8, "too short to search for: {secret:?}");
        self.secrets.push(secret);
    }

    /// Records `result` (a response or an error) and hands it back.
    fn saw<T: Debug>(&mut self, result: Result<T, Status>) -> Result<T, Status> {
        self.transcript.push_str(&format!("{result:?}\n"));
        result
    }

    fn check(&self) {
        tracing::info!("the end of the scenario");
        let logs = String::from_utf8_lossy(&logs().lock().unwrap()).into_owned();
        assert!(
            logs.contains("the end of the scenario"),
            "logs are captured"
        );
        for secret in &self.secrets {
            assert!(
                !self.transcript.contains(secret.as_str()),
                "a secret in a response or error: {secret}\n{}",
                self.transcript
            );
            assert!(
                !logs.contains(secret.as_str()),
                "a secret in the logs: {secret}"
            );
        }
    }
}

// --- helpers ---

fn ok<T>(result: Result<tonic::Response<T>, Status>) -> Result<T, Status> {
    result.map(tonic::Response::into_inner)
}

/// Polls `probe` until it yields a value; fails after 10 s (the change feed's bound is 1 s).
async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(Instant::now() < deadline, "{what}: not within 10 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn identity(channel: SignedChannel) -> Result<pb::GetCallerIdentityResponse, Status> {
    ok(StsClient::new(channel)
        .get_caller_identity(pb::GetCallerIdentityRequest {})
        .await)
}

async fn create_user(ram: &mut Ram, name: &str) {
    ram.create_user(pb::CreateUserRequest {
        user_name: name.into(),
        ..Default::default()
    })
    .await
    .unwrap();
}

/// Creates a custom policy allowing `actions` on `resource` and attaches it to `user`, straight
/// in the store (before the user's first call, so no cache holds its permissions yet).
async fn grant(server: &TestServer, user: &str, actions: &[&str], resource: &str) {
    let name = format!("grant-{user}");
    let document = serde_json::json!({
        "Version": "1",
        "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resource}],
    });
    server
        .store
        .create_policy(
            &server.operator,
            &NewPolicy {
                name: name.clone(),
                document: document.to_string(),
                description: None,
            },
        )
        .await
        .unwrap();
    server
        .store
        .attach_policy(
            &server.operator,
            Target::User(user),
            PolicyType::Custom,
            &name,
        )
        .await
        .unwrap();
}

/// A RAM client signed with a new key of `user` in the operator's account.
async fn client_of(server: &TestServer, user: &str) -> Ram {
    let (_, _, channel) = server.key_for(&server.operator, Some(user)).await;
    RamClient::new(channel)
}

fn user_ref(name: &str) -> pb::GetUserRequest {
    pb::GetUserRequest {
        user_name: name.into(),
    }
}

fn key_ref(user: &str, id: &str) -> pb::AccessKeyRef {
    pb::AccessKeyRef {
        user_name: user.into(),
        user_access_key_id: id.into(),
    }
}

fn key_status(user: &str, id: &str, status: &str) -> pb::UpdateAccessKeyRequest {
    pb::UpdateAccessKeyRequest {
        user_name: user.into(),
        user_access_key_id: id.into(),
        status: status.into(),
    }
}

fn keys_of(user: &str) -> pb::CreateAccessKeyRequest {
    pb::CreateAccessKeyRequest {
        user_name: user.into(),
    }
}

fn ids(listed: &pb::ListAccessKeysResponse) -> Vec<&str> {
    listed
        .access_keys
        .iter()
        .map(|k| k.access_key_id.as_str())
        .collect()
}

/// RFC 4648 base32 (no padding) to bytes.
fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut held, mut out) = (0u64, 0u32, Vec::new());
    for c in text.bytes() {
        let value = ALPHABET.iter().position(|&a| a == c).unwrap() as u64;
        bits = (bits << 5) | value;
        held += 5;
        if held >= 8 {
            held -= 8;
            out.push((bits >> held) as u8);
            bits &= (1 << held) - 1;
        }
    }
    out
}

/// Two consecutive codes of the seed a create call returned: the previous step's and the
/// current one's (the server accepts a step of skew either way, so this holds for 30 s).
fn codes(base32_seed: &str) -> (String, String) {
    let seed = Secret::new(base32_decode(base32_seed));
    assert_eq!(totp::seed_base32(&seed).expose(), base32_seed.as_bytes());
    let now = Timestamp::now();
    let before = now - SignedDuration::from_secs(30);
    (totp::code_at(&seed, before), totp::code_at(&seed, now))
}

fn bind(user: &str, serial: &str, (first, second): &(String, String)) -> pb::BindMfaDeviceRequest {
    pb::BindMfaDeviceRequest {
        serial_number: serial.into(),
        user_name: user.into(),
        authentication_code1: first.clone(),
        authentication_code2: second.clone(),
    }
}

fn new_device(name: &str) -> pb::CreateVirtualMfaDeviceRequest {
    pb::CreateVirtualMfaDeviceRequest {
        virtual_mfa_device_name: name.into(),
    }
}

// --- access keys ---

async fn access_keys(server: &TestServer) {
    let mut leaks = Leaks::default();
    let account = server.operator.clone();
    let mut root = RamClient::new(server.root.clone());
    for name in ["alice", "bob", "carol"] {
        create_user(&mut root, name).await;
    }

    // Created for alice: an LTAI id, Active, a 30-character secret shown this once.
    let created = ok(root.create_access_key(keys_of("alice")).await).unwrap();
    let key1 = created.access_key.clone().unwrap();
    assert!(key1.access_key_id.starts_with("LTAI"), "{key1:?}");
    assert_eq!(key1.status, "Active");
    assert!(key1.create_date.is_some());
    assert!(created.revision > 0);
    assert_eq!(created.access_key_secret.len(), 30);
    let secret1 = Secret::from(created.access_key_secret.as_str());
    leaks.secret(created.access_key_secret.clone());

    // It signs requests at once.
    let alice1 = server.signed(&key1.access_key_id, &secret1);
    let me = identity(alice1.clone()).await.unwrap();
    let principal = me.principal.unwrap();
    assert_eq!(principal.arn, format!("acs:ram::{account}:user/alice"));
    assert_eq!(principal.identity_type, "RAMUser");

    let listed = leaks
        .saw(ok(root.list_access_keys(keys_of("alice")).await))
        .unwrap();
    assert_eq!(ids(&listed), [key1.access_key_id.as_str()]);
    assert_eq!(listed.access_keys[0].status, "Active");

    // Two keys per user.
    let created2 = ok(root.create_access_key(keys_of("alice")).await).unwrap();
    let key2 = created2.access_key.unwrap();
    leaks.secret(created2.access_key_secret.clone());
    assert_code(
        leaks.saw(ok(root.create_access_key(keys_of("alice")).await)),
        Code::ResourceExhausted,
        "LimitExceeded.User.AccessKey",
    );
    let listed = leaks
        .saw(ok(root.list_access_keys(keys_of("alice")).await))
        .unwrap();
    assert_eq!(
        ids(&listed),
        [key1.access_key_id.as_str(), key2.access_key_id.as_str()]
    );
    assert_code(
        leaks.saw(ok(root.create_access_key(keys_of("nobody")).await)),
        Code::NotFound,
        "EntityNotExist.User",
    );
    assert_code(
        leaks.saw(ok(root.create_access_key(keys_of("bad name")).await)),
        Code::InvalidArgument,
        "InvalidParameter.UserName.InvalidChars",
    );

    // Deactivated: refused as soon as the change feed evicted the cached key.
    let updated = leaks
        .saw(ok(root
            .update_access_key(key_status("alice", &key1.access_key_id, "Inactive"))
            .await))
        .unwrap();
    assert_eq!(updated.access_key.unwrap().status, "Inactive");
    assert!(updated.revision > created2.revision);
    let refused = eventually("the inactive key refused", || {
        let channel = alice1.clone();
        async move { identity(channel).await.err() }
    })
    .await;
    assert_code::<()>(
        Err(refused),
        Code::Unauthenticated,
        "InvalidAccessKeyId.Inactive",
    );
    let listed = ok(root.list_access_keys(keys_of("alice")).await).unwrap();
    assert_eq!(listed.access_keys[0].status, "Inactive");
    // Active again: accepted again.
    ok(root
        .update_access_key(key_status("alice", &key1.access_key_id, "Active"))
        .await)
    .unwrap();
    eventually("the reactivated key accepted", || {
        let channel = alice1.clone();
        async move { identity(channel).await.ok() }
    })
    .await;
    for (request, grpc, code) in [
        (
            key_status("alice", &key1.access_key_id, "Disabled"),
            Code::InvalidArgument,
            "InvalidParameter.Status",
        ),
        (
            key_status("alice", &key1.access_key_id, ""),
            Code::InvalidArgument,
            "MissingStatus",
        ),
        (
            key_status("alice", "", "Active"),
            Code::InvalidArgument,
            "MissingUserAccessKeyId",
        ),
        (
            key_status("alice", "LTAInotakey", "Active"),
            Code::NotFound,
            "EntityNotExist.User.AccessKey",
        ),
        // Another user's key is not bob's.
        (
            key_status("bob", &key1.access_key_id, "Active"),
            Code::NotFound,
            "EntityNotExist.User.AccessKey",
        ),
        (
            key_status("nobody", &key1.access_key_id, "Active"),
            Code::NotFound,
            "EntityNotExist.User",
        ),
    ] {
        assert_code(
            leaks.saw(ok(root.update_access_key(request).await)),
            grpc,
            code,
        );
    }

    // Last use: recorded off the hot path, so polled; a key never used has none.
    let last_used = eventually("the last use recorded", || {
        let mut root = root.clone();
        let id = key1.access_key_id.clone();
        async move {
            ok(root.get_access_key_last_used(key_ref("alice", &id)).await)
                .unwrap()
                .last_used_date
        }
    })
    .await;
    assert!(last_used.seconds > 0);
    let never = leaks
        .saw(ok(root
            .get_access_key_last_used(key_ref("alice", &key2.access_key_id))
            .await))
        .unwrap();
    assert_eq!(never.last_used_date, None);
    assert_code(
        leaks.saw(ok(root
            .get_access_key_last_used(key_ref("alice", ""))
            .await)),
        Code::InvalidArgument,
        "MissingUserAccessKeyId",
    );

    // Deleted: gone from the list, refused as not found once evicted.
    let deleted = leaks
        .saw(ok(root
            .delete_access_key(key_ref("alice", &key1.access_key_id))
            .await))
        .unwrap();
    assert!(deleted.revision > 0);
    let refused = eventually("the deleted key refused", || {
        let channel = alice1.clone();
        async move {
            identity(channel)
                .await
                .err()
                .filter(|s| s.code() == Code::Unauthenticated && !s.message().contains("Inactive"))
        }
    })
    .await;
    assert_code::<()>(
        Err(refused),
        Code::Unauthenticated,
        "InvalidAccessKeyId.NotFound",
    );
    let listed = ok(root.list_access_keys(keys_of("alice")).await).unwrap();
    assert_eq!(ids(&listed), [key2.access_key_id.as_str()]);
    for result in [
        ok(root
            .delete_access_key(key_ref("alice", &key1.access_key_id))
            .await)
        .map(|_| ()),
        ok(root
            .get_access_key_last_used(key_ref("alice", &key1.access_key_id))
            .await)
        .map(|_| ()),
    ] {
        assert_code(
            leaks.saw(result),
            Code::NotFound,
            "EntityNotExist.User.AccessKey",
        );
    }
    assert_code(
        leaks.saw(ok(root.delete_access_key(key_ref("alice", "")).await)),
        Code::InvalidArgument,
        "MissingUserAccessKeyId",
    );

    // Without a user name, the root manages the root's own keys (the operator has one).
    let own = ok(root.list_access_keys(keys_of("")).await).unwrap();
    assert_eq!(ids(&own), [server.operator_key_id.as_str()]);
    let root_created = ok(root.create_access_key(keys_of("")).await).unwrap();
    let root_key = root_created.access_key.unwrap();
    leaks.secret(root_created.access_key_secret.clone());
    let root2 = server.signed(
        &root_key.access_key_id,
        &Secret::from(root_created.access_key_secret.as_str()),
    );
    let me = identity(root2.clone()).await.unwrap();
    assert_eq!(me.principal.unwrap().identity_type, "Account");
    assert_code(
        leaks.saw(ok(root.create_access_key(keys_of("")).await)),
        Code::ResourceExhausted,
        "LimitExceeded.User.AccessKey",
    );
    // The new root key manages the root's keys too, and deletes itself.
    let mut root2_ram = RamClient::new(root2);
    let own = leaks
        .saw(ok(root2_ram.list_access_keys(keys_of("")).await))
        .unwrap();
    assert_eq!(
        ids(&own),
        [
            server.operator_key_id.as_str(),
            root_key.access_key_id.as_str()
        ]
    );
    ok(root2_ram
        .delete_access_key(key_ref("", &root_key.access_key_id))
        .await)
    .unwrap();
    let own = ok(root.list_access_keys(keys_of("")).await).unwrap();
    assert_eq!(ids(&own), [server.operator_key_id.as_str()]);

    // Authorization. Bob has no policy: nothing, not even his own keys.
    let mut bob = client_of(server, "bob").await;
    assert_code(
        leaks.saw(ok(bob.list_access_keys(keys_of("")).await)),
        Code::PermissionDenied,
        "NoPermission",
    );
    assert_code(
        leaks.saw(ok(bob.create_access_key(keys_of("alice")).await)),
        Code::PermissionDenied,
        "NoPermission",
    );
    // Carol may manage her own keys only.
    grant(
        server,
        "carol",
        &[
            "ram:CreateAccessKey",
            "ram:ListAccessKeys",
            "ram:UpdateAccessKey",
            "ram:DeleteAccessKey",
            "ram:GetAccessKeyLastUsed",
        ],
        &format!("acs:ram:*:{account}:user/carol"),
    )
    .await;
    let mut carol = client_of(server, "carol").await;
    let carols = ok(carol.create_access_key(keys_of("")).await).unwrap();
    leaks.secret(carols.access_key_secret.clone());
    let carols_key = carols.access_key.unwrap().access_key_id;
    let listed = leaks
        .saw(ok(carol.list_access_keys(keys_of("")).await))
        .unwrap();
    assert_eq!(listed.access_keys.len(), 2);
    assert!(ids(&listed).contains(&carols_key.as_str()));
    let by_name = ok(carol.list_access_keys(keys_of("carol")).await).unwrap();
    assert_eq!(ids(&by_name), ids(&listed));
    ok(carol
        .update_access_key(key_status("", &carols_key, "Inactive"))
        .await)
    .unwrap();
    // … and nobody else's.
    assert_code(
        leaks.saw(ok(carol.list_access_keys(keys_of("alice")).await)),
        Code::PermissionDenied,
        "NoPermission",
    );
    assert_code(
        leaks.saw(ok(carol.create_access_key(keys_of("alice")).await)),
        Code::PermissionDenied,
        "NoPermission",
    );
    assert_code(
        leaks.saw(ok(carol
            .delete_access_key(key_ref("alice", &key2.access_key_id))
            .await)),
        Code::PermissionDenied,
        "NoPermission",
    );

    // Another account's root sees none of this account's users or keys.
    let other = server.store.create_account("other").await.unwrap().value.id;
    let (_, _, other_root) = server.key_for(&other, None).await;
    let mut other_root = RamClient::new(other_root);
    assert_code(
        leaks.saw(ok(other_root.list_access_keys(keys_of("alice")).await)),
        Code::NotFound,
        "EntityNotExist.User",
    );
    let others = ok(other_root.list_access_keys(keys_of("")).await).unwrap();
    assert_eq!(others.access_keys.len(), 1);
    assert!(!ids(&others).contains(&server.operator_key_id.as_str()));

    leaks.check();
}

// --- login profiles ---

async fn login_profiles(server: &TestServer) {
    let mut leaks = Leaks::default();
    let account = server.operator.clone();
    let mut root = RamClient::new(server.root.clone());
    for name in ["alice", "bob", "carol", "dave"] {
        create_user(&mut root, name).await;
    }
    let password = "Str0ng-Passw0rd!";
    let new_password = "An0ther:Secret";
    let weak = "weakpassword";
    for secret in [password, new_password, weak] {
        leaks.secret(secret);
    }

    let created = leaks
        .saw(ok(root
            .create_login_profile(pb::LoginProfileRequest {
                user_name: "alice".into(),
                password: password.into(),
                password_reset_required: Some(true),
                mfa_bind_required: None,
            })
            .await))
        .unwrap();
    let profile = created.login_profile.unwrap();
    assert_eq!(profile.user_name, "alice");
    assert!(profile.password_reset_required);
    assert!(!profile.mfa_bind_required);
    assert!(profile.create_date.is_some());
    assert!(created.revision > 0);
    // Stored as an argon2id hash of the password.
    let stored = server
        .store
        .login_secret(&account, "alice")
        .await
        .unwrap()
        .unwrap();
    assert!(stored.password_hash.starts_with("$argon2id$"));
    assert!(
        tessera_credentials::verify_password(&Secret::from(password), &stored.password_hash)
            .unwrap()
    );
    leaks.secret(stored.password_hash.clone());

    let profile_request = |user: &str, password: &str| pb::LoginProfileRequest {
        user_name: user.into(),
        password: password.into(),
        ..Default::default()
    };
    for (request, grpc, code) in [
        (
            profile_request("alice", password),
            Code::AlreadyExists,
            "EntityAlreadyExists.User.LoginProfile",
        ),
        (
            profile_request("nobody", password),
            Code::NotFound,
            "EntityNotExist.User",
        ),
        (
            profile_request("bob", weak),
            Code::InvalidArgument,
            "InvalidParameter.Password.TooWeak",
        ),
        (
            profile_request("bob", "Sh0rt!"),
            Code::InvalidArgument,
            "InvalidParameter.Password.TooWeak",
        ),
        (
            profile_request("bob", ""),
            Code::InvalidArgument,
            "MissingPassword",
        ),
        (
            profile_request("", password),
            Code::InvalidArgument,
            "MissingUserName",
        ),
    ] {
        assert_code(
            leaks.saw(ok(root.create_login_profile(request).await)),
            grpc,
            code,
        );
    }

    let got = leaks
        .saw(ok(root.get_login_profile(user_ref("alice")).await))
        .unwrap()
        .login_profile
        .unwrap();
    assert_eq!(got, profile);
    assert_code(
        leaks.saw(ok(root.get_login_profile(user_ref("bob")).await)),
        Code::NotFound,
        "EntityNotExist.User.LoginProfile",
    );
    assert_code(
        leaks.saw(ok(root.get_login_profile(user_ref("nobody")).await)),
        Code::NotFound,
        "EntityNotExist.User",
    );

    // Flags only: the password (hash) stays.
    let updated = leaks
        .saw(ok(root
            .update_login_profile(pb::LoginProfileRequest {
                user_name: "alice".into(),
                mfa_bind_required: Some(true),
                ..Default::default()
            })
            .await))
        .unwrap();
    let profile = updated.login_profile.unwrap();
    assert!(profile.password_reset_required && profile.mfa_bind_required);
    assert!(updated.revision > created.revision);
    let after = server
        .store
        .login_secret(&account, "alice")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.password_hash, stored.password_hash);
    // A new password.
    let updated = leaks
        .saw(ok(root
            .update_login_profile(pb::LoginProfileRequest {
                user_name: "alice".into(),
                password: new_password.into(),
                password_reset_required: Some(false),
                ..Default::default()
            })
            .await))
        .unwrap();
    let profile = updated.login_profile.unwrap();
    assert!(!profile.password_reset_required && profile.mfa_bind_required);
    let after = server
        .store
        .login_secret(&account, "alice")
        .await
        .unwrap()
        .unwrap();
    leaks.secret(after.password_hash.clone());
    assert!(
        tessera_credentials::verify_password(&Secret::from(new_password), &after.password_hash)
            .unwrap()
    );
    assert!(
        !tessera_credentials::verify_password(&Secret::from(password), &after.password_hash)
            .unwrap()
    );
    assert_code(
        leaks.saw(ok(root
            .update_login_profile(profile_request("alice", weak))
            .await)),
        Code::InvalidArgument,
        "InvalidParameter.Password.TooWeak",
    );
    assert_code(
        leaks.saw(ok(root
            .update_login_profile(profile_request("bob", ""))
            .await)),
        Code::NotFound,
        "EntityNotExist.User.LoginProfile",
    );

    // Authorization: bob has no policy; carol may read alice's profile only.
    let mut bob = client_of(server, "bob").await;
    assert_code(
        leaks.saw(ok(bob.get_login_profile(user_ref("alice")).await)),
        Code::PermissionDenied,
        "NoPermission",
    );
    assert_code(
        leaks.saw(ok(bob
            .create_login_profile(profile_request("bob", password))
            .await)),
        Code::PermissionDenied,
        "NoPermission",
    );
    grant(
        server,
        "carol",
        &["ram:GetLoginProfile"],
        &format!("acs:ram:*:{account}:user/alice"),
    )
    .await;
    let mut carol = client_of(server, "carol").await;
    let seen = leaks
        .saw(ok(carol.get_login_profile(user_ref("alice")).await))
        .unwrap();
    assert_eq!(seen.login_profile.unwrap().user_name, "alice");
    assert_code(
        leaks.saw(ok(carol.get_login_profile(user_ref("dave")).await)),
        Code::PermissionDenied,
        "NoPermission",
    );
    assert_code(
        leaks.saw(ok(carol.delete_login_profile(user_ref("alice")).await)),
        Code::PermissionDenied,
        "NoPermission",
    );
    assert_code(
        leaks.saw(ok(carol
            .update_login_profile(profile_request("alice", new_password))
            .await)),
        Code::PermissionDenied,
        "NoPermission",
    );

    // Deleted.
    let deleted = ok(root.delete_login_profile(user_ref("alice")).await).unwrap();
    assert!(deleted.revision > updated.revision);
    assert_code(
        leaks.saw(ok(root.delete_login_profile(user_ref("alice")).await)),
        Code::NotFound,
        "EntityNotExist.User.LoginProfile",
    );
    assert_code(
        leaks.saw(ok(root.get_login_profile(user_ref("alice")).await)),
        Code::NotFound,
        "EntityNotExist.User.LoginProfile",
    );

    leaks.check();
}

// --- virtual MFA devices ---

async fn mfa_devices(server: &TestServer) {
    let mut leaks = Leaks::default();
    let account = server.operator.clone();
    let mut root = RamClient::new(server.root.clone());
    for name in ["alice", "bob", "carol"] {
        create_user(&mut root, name).await;
    }

    let created = ok(root
        .create_virtual_mfa_device(new_device("alice-phone"))
        .await)
    .unwrap();
    let serial = format!("acs:ram::{account}:mfa/alice-phone");
    let device = created.device.clone().unwrap();
    assert_eq!(device.serial_number, serial);
    assert_eq!(device.user_name, "");
    assert_eq!(device.activate_date, None);
    assert!(created.revision > 0);
    let seed = created.base32_string_seed.clone();
    assert_eq!(seed.len(), 32, "20 bytes of seed");
    assert!(
        created.otpauth_uri.starts_with("otpauth://totp/Tessera:"),
        "{}",
        created.otpauth_uri
    );
    assert!(created.otpauth_uri.contains(&format!("secret={seed}&")));
    leaks.secret(seed.clone());
    leaks.secret(created.otpauth_uri.clone());
    // The seed is stored sealed, under the device's serial number.
    let stored = server
        .store
        .virtual_mfa_device_seed(&account, &serial)
        .await
        .unwrap();
    let opened = server
        .sealer
        .open(
            &stored.sealed_seed,
            format!("mfa-device:{serial}").as_bytes(),
        )
        .unwrap();
    assert_eq!(totp::seed_base32(&opened).expose(), seed.as_bytes());

    for (name, grpc, code) in [
        (
            "Alice-Phone",
            Code::AlreadyExists,
            "EntityAlreadyExists.VirtualMFADevice",
        ),
        (
            "bad_name",
            Code::InvalidArgument,
            "InvalidParameter.VirtualMFADeviceName.InvalidChars",
        ),
        ("", Code::InvalidArgument, "MissingVirtualMFADeviceName"),
    ] {
        assert_code(
            leaks.saw(ok(root.create_virtual_mfa_device(new_device(name)).await)),
            grpc,
            code,
        );
    }
    let listed = leaks
        .saw(ok(root
            .list_virtual_mfa_devices(pb::ListVirtualMfaDevicesRequest {})
            .await))
        .unwrap();
    assert_eq!(listed.devices, std::slice::from_ref(&device));

    // Binding: the codes' format first, then their value.
    let good = codes(&seed);
    let swapped = (good.1.clone(), good.0.clone());
    let with = |first: &str, second: &str| (first.to_owned(), second.to_owned());
    for (request, grpc, code) in [
        (
            bind("alice", &serial, &with("12345", &good.1)),
            Code::InvalidArgument,
            "InvalidParameter.AuthenticationCode.Format",
        ),
        (
            bind("alice", &serial, &with(&good.0, "12345a")),
            Code::InvalidArgument,
            "InvalidParameter.AuthenticationCode.Format",
        ),
        (
            bind("alice", &serial, &with(&good.0, "")),
            Code::InvalidArgument,
            "MissingAuthenticationCode2",
        ),
        (
            bind("alice", "", &good),
            Code::InvalidArgument,
            "MissingSerialNumber",
        ),
        (
            bind("", &serial, &good),
            Code::InvalidArgument,
            "MissingUserName",
        ),
        (
            bind("alice", &serial, &swapped),
            Code::PermissionDenied,
            "CheckAuthenticationCodeFail",
        ),
        (
            bind("alice", &format!("acs:ram::{account}:mfa/nothing"), &good),
            Code::NotFound,
            "EntityNotExist.VirtualMFADevice",
        ),
        (
            bind("nobody", &serial, &good),
            Code::NotFound,
            "EntityNotExist.User",
        ),
    ] {
        assert_code(
            leaks.saw(ok(root.bind_mfa_device(request).await)),
            grpc,
            code,
        );
    }
    let bound = leaks
        .saw(ok(root
            .bind_mfa_device(bind("alice", &serial, &good))
            .await))
        .unwrap();
    assert!(bound.revision > created.revision);
    let info = leaks
        .saw(ok(root.get_user_mfa_info(user_ref("alice")).await))
        .unwrap()
        .device
        .unwrap();
    assert_eq!(info.serial_number, serial);
    assert_eq!(info.user_name, "alice");
    assert!(info.activate_date.is_some());
    let listed = leaks
        .saw(ok(root
            .list_virtual_mfa_devices(pb::ListVirtualMfaDevicesRequest {})
            .await))
        .unwrap();
    assert_eq!(listed.devices, std::slice::from_ref(&info));

    // One device per user, one user per device; a bound device stays.
    let spare = ok(root.create_virtual_mfa_device(new_device("spare")).await).unwrap();
    leaks.secret(spare.base32_string_seed.clone());
    let spare_serial = spare.device.unwrap().serial_number;
    assert_code(
        leaks.saw(ok(root
            .bind_mfa_device(bind(
                "alice",
                &spare_serial,
                &codes(&spare.base32_string_seed),
            ))
            .await)),
        Code::AlreadyExists,
        "EntityAlreadyExists.User.MFADevice",
    );
    assert_code(
        leaks.saw(ok(root.bind_mfa_device(bind("bob", &serial, &good)).await)),
        Code::AlreadyExists,
        "EntityAlreadyExists.VirtualMFADevice.User",
    );
    let device_ref = |serial: &str| pb::MfaDeviceRef {
        serial_number: serial.into(),
    };
    assert_code(
        leaks.saw(ok(root
            .delete_virtual_mfa_device(device_ref(&serial))
            .await)),
        Code::FailedPrecondition,
        "DeleteConflict.VirtualMFADevice.User",
    );
    assert_code(
        leaks.saw(ok(root.get_user_mfa_info(user_ref("bob")).await)),
        Code::NotFound,
        "EntityNotExist.User.MFADevice",
    );

    // Unbound, then deleted.
    let unbound = leaks
        .saw(ok(root.unbind_mfa_device(user_ref("alice")).await))
        .unwrap();
    let unbound_device = unbound.device.unwrap();
    assert_eq!(unbound_device.serial_number, serial);
    assert_eq!(unbound_device.user_name, "");
    assert_eq!(unbound_device.activate_date, None);
    assert!(unbound.revision > bound.revision);
    assert_code(
        leaks.saw(ok(root.unbind_mfa_device(user_ref("alice")).await)),
        Code::NotFound,
        "EntityNotExist.User.MFADevice",
    );
    ok(root.delete_virtual_mfa_device(device_ref(&serial)).await).unwrap();
    for (serial, grpc, code) in [
        (
            serial.clone(),
            Code::NotFound,
            "EntityNotExist.VirtualMFADevice",
        ),
        (
            "nonsense".to_owned(),
            Code::NotFound,
            "EntityNotExist.VirtualMFADevice",
        ),
        (String::new(), Code::InvalidArgument, "MissingSerialNumber"),
        // Another account's device is not the root's to touch.
        (
            "acs:ram::1999999999999999:mfa/spare".to_owned(),
            Code::PermissionDenied,
            "NoPermission",
        ),
    ] {
        assert_code(
            leaks.saw(ok(root
                .delete_virtual_mfa_device(device_ref(&serial))
                .await)),
            grpc,
            code,
        );
    }

    // A device deleted and recreated under the same serial number has a new seed: the old
    // device's codes do not bind it.
    ok(root
        .create_virtual_mfa_device(new_device("alice-phone"))
        .await)
    .map(|recreated| leaks.secret(recreated.base32_string_seed))
    .unwrap();
    assert_code(
        leaks.saw(ok(root
            .bind_mfa_device(bind("alice", &serial, &codes(&seed)))
            .await)),
        Code::PermissionDenied,
        "CheckAuthenticationCodeFail",
    );

    // Authorization: bob has no policy; carol manages `carol-*` devices and her own binding.
    let mut bob = client_of(server, "bob").await;
    assert_code(
        leaks.saw(ok(bob
            .create_virtual_mfa_device(new_device("bob-phone"))
            .await)),
        Code::PermissionDenied,
        "NoPermission",
    );
    assert_code(
        leaks.saw(ok(bob
            .list_virtual_mfa_devices(pb::ListVirtualMfaDevicesRequest {})
            .await)),
        Code::PermissionDenied,
        "NoPermission",
    );
    grant(
        server,
        "carol",
        &[
            "ram:CreateVirtualMFADevice",
            "ram:DeleteVirtualMFADevice",
            "ram:BindMFADevice",
            "ram:UnbindMFADevice",
            "ram:GetUserMFAInfo",
        ],
        &format!("acs:ram:*:{account}:*/carol*"),
    )
    .await;
    let mut carol = client_of(server, "carol").await;
    let carols = ok(carol
        .create_virtual_mfa_device(new_device("carol-phone"))
        .await)
    .unwrap();
    leaks.secret(carols.base32_string_seed.clone());
    let carols_serial = carols.device.unwrap().serial_number;
    ok(carol
        .bind_mfa_device(bind(
            "carol",
            &carols_serial,
            &codes(&carols.base32_string_seed),
        ))
        .await)
    .unwrap();
    let info = leaks
        .saw(ok(carol.get_user_mfa_info(user_ref("carol")).await))
        .unwrap();
    assert_eq!(info.device.unwrap().serial_number, carols_serial);
    for result in [
        ok(carol.create_virtual_mfa_device(new_device("other")).await).map(|_| ()),
        ok(carol.get_user_mfa_info(user_ref("alice")).await).map(|_| ()),
        ok(carol.unbind_mfa_device(user_ref("alice")).await).map(|_| ()),
        ok(carol
            .bind_mfa_device(bind(
                "bob",
                &spare_serial,
                &codes(&spare.base32_string_seed),
            ))
            .await)
        .map(|_| ()),
        ok(carol
            .delete_virtual_mfa_device(device_ref(&spare_serial))
            .await)
        .map(|_| ()),
        ok(carol
            .list_virtual_mfa_devices(pb::ListVirtualMfaDevicesRequest {})
            .await)
        .map(|_| ()),
    ] {
        assert_code(leaks.saw(result), Code::PermissionDenied, "NoPermission");
    }
    ok(carol.unbind_mfa_device(user_ref("carol")).await).unwrap();
    ok(carol
        .delete_virtual_mfa_device(device_ref(&carols_serial))
        .await)
    .unwrap();

    leaks.check();
}

// --- the account ---

async fn account_summary_and_alias(server: &TestServer) {
    let mut leaks = Leaks::default();
    let account = server.operator.clone();
    let mut root = RamClient::new(server.root.clone());
    let reader = root.clone();
    let summary = move || {
        let mut root = reader.clone();
        async move {
            ok(root
                .get_account_summary(pb::GetAccountSummaryRequest {})
                .await)
            .unwrap()
            .summary
        }
    };

    let before = summary().await;
    for (name, quota) in [
        ("UsersQuota", 5000),
        ("GroupsQuota", 300),
        ("RolesQuota", 1000),
        ("PoliciesQuota", 1500),
        ("AccessKeysPerUserQuota", 2),
        ("GroupsPerUserQuota", 10),
        ("AttachedPoliciesPerUserQuota", 10),
        ("AttachedPoliciesPerGroupQuota", 10),
        ("AttachedPoliciesPerRoleQuota", 10),
        ("AttachedSystemPoliciesPerUserQuota", 20),
        ("AttachedSystemPoliciesPerGroupQuota", 20),
        ("AttachedSystemPoliciesPerRoleQuota", 20),
        ("VersionsPerPolicyQuota", 5),
        ("PolicySizeQuota", 6144),
        ("MFADevicesPerUserQuota", 1),
    ] {
        assert_eq!(before.get(name), Some(&quota), "{name}");
    }
    // The operator's root key.
    assert_eq!(before.get("AccessKeys"), Some(&1));

    create_user(&mut root, "alice").await;
    create_user(&mut root, "bob").await;
    root.create_group(pb::CreateGroupRequest {
        group_name: "dev".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    ok(root.create_access_key(keys_of("alice")).await)
        .map(|created| leaks.secret(created.access_key_secret))
        .unwrap();
    let device = ok(root.create_virtual_mfa_device(new_device("phone")).await).unwrap();
    leaks.secret(device.base32_string_seed.clone());
    ok(root.create_virtual_mfa_device(new_device("spare")).await)
        .map(|created| leaks.secret(created.base32_string_seed))
        .unwrap();
    ok(root
        .bind_mfa_device(bind(
            "alice",
            &device.device.unwrap().serial_number,
            &codes(&device.base32_string_seed),
        ))
        .await)
    .unwrap();
    let after = summary().await;
    leaks.transcript.push_str(&format!("{after:?}\n"));
    for (name, added) in [
        ("Users", 2),
        ("Groups", 1),
        ("Roles", 0),
        ("Policies", 0),
        ("AccessKeys", 1),
        ("MFADevices", 2),
        ("MFADevicesInUse", 1),
    ] {
        assert_eq!(
            after.get(name).copied(),
            before.get(name).map(|n| n + added),
            "{name}"
        );
    }

    // The alias: the account id until one is set.
    let reader = root.clone();
    let alias = move || {
        let mut root = reader.clone();
        async move {
            ok(root
                .get_account_alias(pb::SetAccountAliasRequest::default())
                .await)
            .unwrap()
            .account_alias
        }
    };
    let set = |alias: &str| pb::SetAccountAliasRequest {
        account_alias: alias.into(),
    };
    assert_eq!(alias().await, account.as_str());
    let written = ok(root.set_account_alias(set("my-corp")).await).unwrap();
    assert!(written.revision > 0);
    assert_eq!(alias().await, "my-corp");
    for (value, grpc, code) in [
        (
            "My-Corp",
            Code::InvalidArgument,
            "InvalidParameter.AccountAlias.Format",
        ),
        (
            "my--corp",
            Code::InvalidArgument,
            "InvalidParameter.AccountAlias.Format",
        ),
        (
            "-corp",
            Code::InvalidArgument,
            "InvalidParameter.AccountAlias.Format",
        ),
        (
            "ab",
            Code::InvalidArgument,
            "InvalidParameter.AccountAlias.Length",
        ),
        (
            "a-very-long-alias-of-33-characters",
            Code::InvalidArgument,
            "InvalidParameter.AccountAlias.Length",
        ),
        ("", Code::InvalidArgument, "MissingAccountAlias"),
        // Looks like an account id.
        (
            "1999999999999999",
            Code::InvalidArgument,
            "InvalidParameter.AccountAlias.Format",
        ),
    ] {
        assert_code(
            leaks.saw(ok(root.set_account_alias(set(value)).await)),
            grpc,
            code,
        );
    }
    assert_eq!(alias().await, "my-corp");

    // Aliases are unique across accounts.
    let other = server.store.create_account("other").await.unwrap().value.id;
    let (_, _, other_root) = server.key_for(&other, None).await;
    let mut other_root = RamClient::new(other_root);
    assert_code(
        leaks.saw(ok(other_root.set_account_alias(set("my-corp")).await)),
        Code::AlreadyExists,
        "EntityAlreadyExists.AccountAlias",
    );
    ok(root
        .clear_account_alias(pb::SetAccountAliasRequest::default())
        .await)
    .unwrap();
    assert_eq!(alias().await, account.as_str());
    ok(other_root.set_account_alias(set("my-corp")).await).unwrap();
    assert_eq!(
        server
            .store
            .get_account(&other)
            .await
            .unwrap()
            .alias
            .as_deref(),
        Some("my-corp")
    );
    // The other account's summary counts its own entities only.
    let others = ok(other_root
        .get_account_summary(pb::GetAccountSummaryRequest {})
        .await)
    .unwrap()
    .summary;
    assert_eq!(others.get("Users"), Some(&0));
    assert_eq!(others.get("MFADevices"), Some(&0));
    assert_eq!(others.get("AccessKeys"), Some(&1));

    // Authorization: bob has no policy; carol may read the summary (granted on the account)
    // but not the alias (granted on users only).
    create_user(&mut root, "carol").await;
    let mut bob = client_of(server, "bob").await;
    for result in [
        ok(bob
            .get_account_summary(pb::GetAccountSummaryRequest {})
            .await)
        .map(|_| ()),
        ok(bob.set_account_alias(set("bobs")).await).map(|_| ()),
        ok(bob
            .clear_account_alias(pb::SetAccountAliasRequest::default())
            .await)
        .map(|_| ()),
        ok(bob
            .get_account_alias(pb::SetAccountAliasRequest::default())
            .await)
        .map(|_| ()),
    ] {
        assert_code(leaks.saw(result), Code::PermissionDenied, "NoPermission");
    }
    grant(
        server,
        "carol",
        &["ram:GetAccountSummary", "ram:GetAccountAlias"],
        &format!("acs:ram:*:{account}:*"),
    )
    .await;
    server
        .store
        .create_policy(
            &server.operator,
            &NewPolicy {
                name: "alias-on-users".into(),
                document: serde_json::json!({
                    "Version": "1",
                    "Statement": [{
                        "Effect": "Allow",
                        "Action": "ram:SetAccountAlias",
                        "Resource": format!("acs:ram:*:{account}:user/*"),
                    }],
                })
                .to_string(),
                description: None,
            },
        )
        .await
        .unwrap();
    server
        .store
        .attach_policy(
            &server.operator,
            Target::User("carol"),
            PolicyType::Custom,
            "alias-on-users",
        )
        .await
        .unwrap();
    let mut carol = client_of(server, "carol").await;
    let seen = ok(carol
        .get_account_summary(pb::GetAccountSummaryRequest {})
        .await)
    .unwrap()
    .summary;
    assert_eq!(seen.get("Users"), Some(&3));
    assert_eq!(
        ok(carol
            .get_account_alias(pb::SetAccountAliasRequest::default())
            .await)
        .unwrap()
        .account_alias,
        account.as_str()
    );
    assert_code(
        leaks.saw(ok(carol.set_account_alias(set("carols")).await)),
        Code::PermissionDenied,
        "NoPermission",
    );

    leaks.check();
}

// --- one test per scenario and backend ---

macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    super::logs();
                    let server =
                        super::TestServer::start(super::Backend::Sqlite, "unused").await;
                    super::$scenario(&server).await;
                    server.stop().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    super::logs();
                    let server =
                        super::TestServer::start(super::Backend::Postgres, "ram_credentials")
                            .await;
                    super::$scenario(&server).await;
                    server.stop().await;
                }
            )*
        }
    };
}

on_both_backends!(
    access_keys,
    login_profiles,
    mfa_devices,
    account_summary_and_alias
);
