#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! `tessera.v1.Sts` `AssumeRole` and `SignIn` end to end, on SQLite and PostgreSQL: the
//! generated clients over signed channels, with roles, policies, login profiles and MFA devices
//! arranged directly in the store.

mod support;

use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use support::{Backend, ClientCredential, SignedChannel, TestServer, assert_code};
use tessera_credentials::token::new_token_id;
use tessera_credentials::{Secret, SessionClaims, SessionSubject, SigningKey, totp};
use tessera_proto::v1 as pb;
use tessera_proto::v1::ram_client::RamClient;
use tessera_proto::v1::sts_client::StsClient;
use tessera_server::bootstrap::{mfa_seed_context, signing_key_context};
use tessera_store::{
    AccountId, AccountStatus, AccountStore as _, CredentialStore as _, NewLoginProfile, NewPolicy,
    NewRole, NewSigningKey, NewUser, PolicyStore as _, PolicyType, Role, RoleStore as _,
    SigningKeyStatus, SystemStore as _, Target, UserStore as _,
};
use tonic::Code;

// --- arranging ---

async fn account(server: &TestServer, name: &str) -> AccountId {
    server.store.create_account(name).await.unwrap().value.id
}

async fn user(server: &TestServer, account: &AccountId, name: &str) -> String {
    server
        .store
        .create_user(
            account,
            &NewUser {
                name: name.into(),
                ..NewUser::default()
            },
        )
        .await
        .unwrap()
        .value
        .id
}

/// Creates the custom policy `name` with `statements` (a JSON array's items) and attaches it.
async fn grant(
    server: &TestServer,
    account: &AccountId,
    target: Target<'_>,
    name: &str,
    statements: &str,
) {
    server
        .store
        .create_policy(
            account,
            &NewPolicy {
                name: name.into(),
                document: format!(r#"{{"Version":"1","Statement":[{statements}]}}"#),
                description: None,
            },
        )
        .await
        .unwrap();
    server
        .store
        .attach_policy(account, target, PolicyType::Custom, name)
        .await
        .unwrap();
}

async fn role(
    server: &TestServer,
    account: &AccountId,
    name: &str,
    trust_statements: &str,
    max_session_duration: u32,
) -> Role {
    server
        .store
        .create_role(
            account,
            &NewRole {
                name: name.into(),
                trust_policy: format!(r#"{{"Version":"1","Statement":[{trust_statements}]}}"#),
                description: None,
                max_session_duration: Some(max_session_duration),
            },
        )
        .await
        .unwrap()
        .value
}

fn trust_root(account: &AccountId) -> String {
    format!(
        r#"{{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{{"RAM":"acs:ram::{account}:root"}}}}"#
    )
}

fn allow_assume(resource: &str) -> String {
    format!(r#"{{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"{resource}"}}"#)
}

// --- calling ---

fn assume(arn: &str, session: &str) -> pb::AssumeRoleRequest {
    pb::AssumeRoleRequest {
        role_arn: arn.into(),
        role_session_name: session.into(),
        ..Default::default()
    }
}

async fn assume_role(
    channel: &SignedChannel,
    request: pb::AssumeRoleRequest,
) -> Result<pb::AssumeRoleResponse, tonic::Status> {
    StsClient::new(channel.clone())
        .assume_role(request)
        .await
        .map(tonic::Response::into_inner)
}

/// A channel authenticated with `credentials` as a bearer token.
fn bearer(server: &TestServer, credentials: &pb::Credentials) -> SignedChannel {
    server
        .root
        .with(ClientCredential::Bearer(credentials.security_token.clone()))
}

/// A channel signing with `credentials`' STS key and carrying its token.
fn sts_signed(server: &TestServer, credentials: &pb::Credentials) -> SignedChannel {
    server.root.with(ClientCredential::AccessKey {
        id: credentials.access_key_id.clone(),
        secret: Secret::from(credentials.access_key_secret.as_str()),
        security_token: Some(credentials.security_token.clone()),
    })
}

async fn identity(channel: &SignedChannel) -> Result<pb::GetCallerIdentityResponse, tonic::Status> {
    StsClient::new(channel.clone())
        .get_caller_identity(pb::GetCallerIdentityRequest {})
        .await
        .map(tonic::Response::into_inner)
}

async fn get_user(channel: &SignedChannel, name: &str) -> Result<pb::UserResponse, tonic::Status> {
    RamClient::new(channel.clone())
        .get_user(pb::GetUserRequest {
            user_name: name.into(),
        })
        .await
        .map(tonic::Response::into_inner)
}

async fn list_users(channel: &SignedChannel) -> Result<pb::ListUsersResponse, tonic::Status> {
    RamClient::new(channel.clone())
        .list_users(pb::ListRequest::default())
        .await
        .map(tonic::Response::into_inner)
}

/// The `kid` in a token's JWS header.
fn kid(token: &str) -> String {
    use base64::Engine as _;
    let header = token.split('.').next().unwrap();
    let json: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .unwrap(),
    )
    .unwrap();
    json["kid"].as_str().unwrap().to_owned()
}

/// Checks the shape of minted credentials and that they expire `seconds` after a moment
/// between `before` and now.
#[track_caller]
fn check_credentials(credentials: &pb::Credentials, before: Timestamp, seconds: i64) {
    let id = &credentials.access_key_id;
    assert!(id.starts_with("STS.") && id.len() == 24, "{id}");
    assert_eq!(credentials.access_key_secret.len(), 43);
    assert!(credentials.security_token.split('.').count() == 3);
    let expiration = credentials.expiration.unwrap();
    assert_eq!(expiration.nanos, 0, "whole seconds");
    let after = Timestamp::now().as_second();
    assert!(
        (before.as_second() + seconds..=after + seconds).contains(&expiration.seconds),
        "{expiration:?} not {seconds} s after the call"
    );
    let rendered =
        tessera_credentials::format_expiration(Timestamp::from_second(expiration.seconds).unwrap());
    assert!(
        tessera_credentials::parse_expiration(&rendered).is_some(),
        "{rendered}"
    );
}

// --- AssumeRole ---

async fn assume_role_scenario(backend: Backend) {
    let server = TestServer::start(backend, "sts_assume").await;
    let a = account(&server, "a").await;
    let b = account(&server, "b").await;
    for name in ["alice", "bob", "carol"] {
        user(&server, &a, name).await;
    }
    let arn = |account: &AccountId, name: &str| format!("acs:ram::{account}:role/{name}");
    let deploy = role(&server, &a, "Deploy", &trust_root(&a), 7200).await;
    role(&server, &a, "Other", &trust_root(&a), 3600).await;
    role(&server, &a, "Closed", &trust_root(&b), 3600).await;
    let partner_trust = format!(
        r#"{{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{{"RAM":"acs:ram::{a}:root"}},"Condition":{{"StringEquals":{{"sts:ExternalId":"partner-7f3a"}}}}}}"#
    );
    role(&server, &a, "Partner", &partner_trust, 3600).await;
    let chain_trust = format!(
        r#"{{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{{"RAM":"acs:ram::{a}:role/Deploy"}}}}"#
    );
    role(&server, &a, "Chain", &chain_trust, 43200).await;
    let cross = role(&server, &b, "CrossRole", &trust_root(&a), 3600).await;
    role(&server, &b, "BOnly", &trust_root(&b), 3600).await;

    // alice: Deploy only in A, and every role of B. carol: every role of A. bob: nothing.
    grant(
        &server,
        &a,
        Target::User("alice"),
        "assume-deploy",
        &format!(
            "{},{}",
            allow_assume(&format!("acs:ram:*:{a}:role/Deploy")),
            allow_assume(&format!("acs:ram:*:{b}:role/*"))
        ),
    )
    .await;
    grant(
        &server,
        &a,
        Target::User("carol"),
        "assume-any-of-a",
        &allow_assume(&format!("acs:ram:*:{a}:role/*")),
    )
    .await;
    // Deploy's sessions may read users and chain into Chain.
    grant(
        &server,
        &a,
        Target::Role("Deploy"),
        "deploy-permissions",
        &format!(
            r#"{{"Effect":"Allow","Action":["ram:GetUser","ram:ListUsers"],"Resource":"*"}},{}"#,
            allow_assume(&format!("acs:ram:*:{a}:role/Chain"))
        ),
    )
    .await;
    grant(
        &server,
        &b,
        Target::Role("CrossRole"),
        "cross-permissions",
        r#"{"Effect":"Allow","Action":"ram:ListUsers","Resource":"*"}"#,
    )
    .await;
    let (_, _, alice) = server.key_for(&a, Some("alice")).await;
    let (_, _, bob) = server.key_for(&a, Some("bob")).await;
    let (_, _, carol) = server.key_for(&a, Some("carol")).await;
    let (_, _, root_a) = server.key_for(&a, None).await;

    // The happy path: alice assumes Deploy (the trust policy names her account).
    let before = Timestamp::now();
    let granted = assume_role(&alice, assume(&arn(&a, "Deploy"), "s1"))
        .await
        .unwrap();
    let credentials = granted.credentials.unwrap();
    check_credentials(&credentials, before, 3600);
    let session_arn = format!("acs:ram::{a}:assumed-role/Deploy/s1");
    let user_info = granted.assumed_role_user.unwrap();
    assert_eq!(user_info.arn, session_arn);
    assert_eq!(user_info.assumed_role_id, format!("{}:s1", deploy.id));
    assert_eq!(granted.source_identity, "");
    let keys = server.store.list_signing_keys().await.unwrap();
    assert_eq!(kid(&credentials.security_token), keys[0].kid);

    // The credentials work as a bearer token and as an STS key signing with its token.
    for channel in [
        bearer(&server, &credentials),
        sts_signed(&server, &credentials),
    ] {
        let who = identity(&channel).await.unwrap();
        let principal = who.principal.unwrap();
        assert_eq!(principal.identity_type, "AssumedRoleUser");
        assert_eq!(principal.arn, session_arn);
        assert_eq!(principal.account_id, a.as_str());
        assert_eq!(principal.principal_id, format!("{}:s1", deploy.id));
        assert_eq!(who.role_id, deploy.id);
        // The role's permissions apply: it may read users, not create them.
        get_user(&channel, "bob").await.unwrap();
        assert_code(
            RamClient::new(channel.clone())
                .create_user(pb::CreateUserRequest {
                    user_name: "mallory".into(),
                    ..Default::default()
                })
                .await,
            Code::PermissionDenied,
            "NoPermission",
        );
    }
    // The derived secret is bound to its key id: another id with this secret fails.
    let forged = server.root.with(ClientCredential::AccessKey {
        id: "STS.4Kq8ZxVbN2mP7rT9wYc3".into(),
        secret: Secret::from(credentials.access_key_secret.as_str()),
        security_token: Some(credentials.security_token.clone()),
    });
    assert_code(
        identity(&forged).await,
        Code::Unauthenticated,
        "SignatureDoesNotMatch",
    );

    // A session policy narrows the session to ListUsers.
    let narrowed = assume_role(
        &alice,
        pb::AssumeRoleRequest {
            policy: r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:ListUsers","Resource":"*"}]}"#.into(),
            ..assume(&arn(&a, "Deploy"), "narrow")
        },
    )
    .await
    .unwrap()
    .credentials
    .unwrap();
    let narrowed = bearer(&server, &narrowed);
    list_users(&narrowed).await.unwrap();
    assert_code(
        get_user(&narrowed, "bob").await,
        Code::PermissionDenied,
        "NoPermission",
    );

    // DurationSeconds: 900 ..= the role's MaxSessionDuration (7,200 for Deploy).
    for (seconds, expected) in [
        (900, Ok(900)),
        (7200, Ok(7200)),
        (899, Err(())),
        (7201, Err(())),
    ] {
        let before = Timestamp::now();
        let result = assume_role(
            &alice,
            pb::AssumeRoleRequest {
                duration_seconds: seconds,
                ..assume(&arn(&a, "Deploy"), "timed")
            },
        )
        .await;
        match expected {
            Ok(lifetime) => {
                check_credentials(&result.unwrap().credentials.unwrap(), before, lifetime)
            }
            Err(()) => assert_code(
                result,
                Code::InvalidArgument,
                "InvalidParameter.DurationSeconds",
            ),
        }
    }

    // Parameters.
    assert_code(
        assume_role(&alice, assume("", "s1")).await,
        Code::InvalidArgument,
        "MissingRoleArn",
    );
    assert_code(
        assume_role(&alice, assume(&arn(&a, "Deploy"), "")).await,
        Code::InvalidArgument,
        "MissingRoleSessionName",
    );
    assert_code(
        assume_role(&alice, assume(&format!("acs:ram::{a}:user/Deploy"), "s1")).await,
        Code::InvalidArgument,
        "InvalidParameter.RoleArn",
    );
    assert_code(
        assume_role(&alice, assume(&arn(&a, "Deploy"), "a/b")).await,
        Code::InvalidArgument,
        "InvalidParameter.RoleSessionName.InvalidChars",
    );
    assert_code(
        assume_role(
            &alice,
            pb::AssumeRoleRequest {
                policy: r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:*"}]}"#
                    .into(),
                ..assume(&arn(&a, "Deploy"), "s1")
            },
        )
        .await,
        Code::InvalidArgument,
        "InvalidParameter.PolicyGrammar",
    );

    // Root cannot assume roles.
    let refused = assume_role(&root_a, assume(&arn(&a, "Deploy"), "s1"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert_eq!(
        refused.message(),
        "NoPermission: Roles may not be assumed by root accounts."
    );

    // Without sts:AssumeRole, or with it on another role: NoPermission, and an unknown role
    // looks the same to such a caller; a caller allowed on the ARN learns that it is unknown.
    let not_authorized =
        "NoPermission: You are not authorized to do this action. You should be authorized by RAM.";
    for (channel, role_name) in [
        (&bob, "Deploy"),
        (&bob, "Ghost"),
        (&alice, "Other"),
        (&alice, "Ghost"),
    ] {
        let refused = assume_role(channel, assume(&arn(&a, role_name), "s1"))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied, "{role_name}");
        assert_eq!(refused.message(), not_authorized, "{role_name}");
    }
    assert_code(
        assume_role(&carol, assume(&arn(&a, "Ghost"), "s1")).await,
        Code::NotFound,
        "EntityNotExist.Role",
    );
    assume_role(&carol, assume(&arn(&a, "Other"), "s1"))
        .await
        .unwrap();

    // The trust policy refuses: Closed trusts only account B.
    let refused = assume_role(&carol, assume(&arn(&a, "Closed"), "s1"))
        .await
        .unwrap_err();
    assert_eq!(refused.message(), not_authorized);

    // ExternalId: required by Partner's trust policy, and must match.
    let with_external_id = |external_id: &str| pb::AssumeRoleRequest {
        external_id: external_id.into(),
        ..assume(&arn(&a, "Partner"), "partner")
    };
    for external_id in ["", "partner-other"] {
        assert_code(
            assume_role(&carol, with_external_id(external_id)).await,
            Code::PermissionDenied,
            "NoPermission",
        );
    }
    assert_code(
        assume_role(&carol, with_external_id("x")).await,
        Code::InvalidArgument,
        "InvalidParameter.ExternalId",
    );
    assume_role(&carol, with_external_id("partner-7f3a"))
        .await
        .unwrap();

    // Cross-account: CrossRole in B trusts A; alice holds sts:AssumeRole on B's roles, carol
    // only on A's.
    let crossed = assume_role(&alice, assume(&arn(&b, "CrossRole"), "xa"))
        .await
        .unwrap();
    let cross_session = crossed.assumed_role_user.unwrap();
    assert_eq!(
        cross_session.arn,
        format!("acs:ram::{b}:assumed-role/CrossRole/xa")
    );
    assert_eq!(cross_session.assumed_role_id, format!("{}:xa", cross.id));
    let in_b = bearer(&server, &crossed.credentials.unwrap());
    let who = identity(&in_b).await.unwrap().principal.unwrap();
    assert_eq!(who.account_id, b.as_str());
    // The session acts in B with CrossRole's permissions: it lists B's users (none).
    assert!(list_users(&in_b).await.unwrap().users.is_empty());
    assert_code(
        assume_role(&carol, assume(&arn(&b, "CrossRole"), "xa")).await,
        Code::PermissionDenied,
        "NoPermission",
    );
    // BOnly does not trust A; a role B lacks is reported to alice, who may assume B's roles.
    assert_code(
        assume_role(&alice, assume(&arn(&b, "BOnly"), "xa")).await,
        Code::PermissionDenied,
        "NoPermission",
    );
    assert_code(
        assume_role(&alice, assume(&arn(&b, "Ghost"), "xa")).await,
        Code::NotFound,
        "EntityNotExist.Role",
    );

    // Role chaining: a Deploy session assumes Chain (max 43,200) for at most an hour.
    for channel in [
        bearer(&server, &credentials),
        sts_signed(&server, &credentials),
    ] {
        let before = Timestamp::now();
        let chained = assume_role(&channel, assume(&arn(&a, "Chain"), "hop"))
            .await
            .unwrap();
        check_credentials(&chained.credentials.unwrap(), before, 3600);
        assert_eq!(
            chained.assumed_role_user.unwrap().arn,
            format!("acs:ram::{a}:assumed-role/Chain/hop")
        );
        assert_code(
            assume_role(
                &channel,
                pb::AssumeRoleRequest {
                    duration_seconds: 3601,
                    ..assume(&arn(&a, "Chain"), "hop")
                },
            )
            .await,
            Code::InvalidArgument,
            "InvalidParameter.DurationSeconds",
        );
    }
    // Only Deploy's sessions are trusted by Chain.
    assert_code(
        assume_role(&carol, assume(&arn(&a, "Chain"), "hop")).await,
        Code::PermissionDenied,
        "NoPermission",
    );

    // An expired token (signed with the server's key, expired an hour ago) is refused.
    let stored = keys
        .iter()
        .rev()
        .find(|k| k.status == SigningKeyStatus::Active)
        .unwrap();
    let der = server
        .sealer
        .open(
            &stored.sealed_private_key,
            &signing_key_context(&stored.kid),
        )
        .unwrap();
    let key = SigningKey::from_pkcs8_der(&der, Some(&stored.kid)).unwrap();
    let issued_at = Timestamp::from_second(Timestamp::now().as_second() - 7200).unwrap();
    let expired = key
        .sign(&SessionClaims {
            issuer: "tessera".into(),
            account_id: a.as_str().to_owned(),
            subject: SessionSubject::Role {
                role_id: deploy.id.clone(),
                role_name: "Deploy".into(),
                session_name: "old".into(),
                source_identity: None,
            },
            issued_at,
            expires_at: issued_at
                .checked_add(SignedDuration::from_secs(3600))
                .unwrap(),
            token_id: new_token_id(&mut rand::rng()),
            access_key_id: "STS.4Kq8ZxVbN2mP7rT9wYc3".into(),
            session_policy: None,
        })
        .unwrap();
    assert_code(
        identity(&server.root.with(ClientCredential::Bearer(expired))).await,
        Code::Unauthenticated,
        "InvalidSecurityToken.Expired",
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assume_role_on_sqlite() {
    assume_role_scenario(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assume_role_on_postgres() {
    assume_role_scenario(Backend::Postgres).await;
}

// --- SignIn ---

const PASSWORD: &str = "Correct-Horse-9";

async fn login_profile(server: &TestServer, account: &AccountId, user: &str, reset: bool) {
    let password_hash = tessera_credentials::hash_password(&Secret::from(PASSWORD)).unwrap();
    server
        .store
        .create_login_profile(
            account,
            user,
            &NewLoginProfile {
                password_hash,
                password_reset_required: reset,
                mfa_bind_required: false,
            },
        )
        .await
        .unwrap();
}

/// Binds a new virtual MFA device to `user`; returns its seed.
async fn mfa_device(server: &TestServer, account: &AccountId, user: &str) -> Secret {
    let seed = totp::new_seed();
    let name = format!("{user}-phone");
    let serial = format!("acs:ram::{account}:mfa/{name}");
    let sealed = server
        .sealer
        .seal(&seed, &mfa_seed_context(&serial))
        .unwrap();
    let device = server
        .store
        .create_virtual_mfa_device(account, &name, &sealed)
        .await
        .unwrap()
        .value;
    assert_eq!(device.serial_number, serial);
    server
        .store
        .bind_mfa_device(account, user, &serial, &sealed)
        .await
        .unwrap();
    seed
}

/// A plain channel: SignIn needs no credential.
async fn anonymous(server: &TestServer) -> StsClient<tonic::transport::Channel> {
    StsClient::connect(format!("http://{}", server.running.addr))
        .await
        .unwrap()
}

fn sign_in_request(
    account: &AccountId,
    user: &str,
    password: &str,
    code: &str,
) -> pb::SignInRequest {
    pb::SignInRequest {
        account_id: account.as_str().to_owned(),
        user_name: user.into(),
        password: password.into(),
        mfa_code: code.into(),
    }
}

/// A six-digit code that is not valid now (nor a step either side).
fn wrong_code(seed: &Secret) -> String {
    let now = Timestamp::now();
    let valid: Vec<String> = [-30, 0, 30]
        .iter()
        .map(|s| {
            totp::code_at(
                seed,
                now.checked_add(SignedDuration::from_secs(*s)).unwrap(),
            )
        })
        .collect();
    (0..10)
        .map(|d| format!("{d}{d}{d}{d}{d}{d}"))
        .find(|c| !valid.contains(c))
        .unwrap()
}

async fn sign_in_scenario(backend: Backend) {
    let server = TestServer::start(backend, "sts_sign_in").await;
    let a = account(&server, "a").await;
    let dave_id = user(&server, &a, "dave").await;
    let erin_id = user(&server, &a, "erin").await;
    user(&server, &a, "frank").await;
    login_profile(&server, &a, "dave", true).await;
    login_profile(&server, &a, "erin", false).await;
    let seed = mfa_device(&server, &a, "erin").await;
    // GetUser is allowed only with MFA; both users hold the same policy.
    let mfa_only = r#"{"Effect":"Allow","Action":"ram:GetUser","Resource":"*","Condition":{"Bool":{"acs:MFAPresent":"true"}}}"#;
    grant(&server, &a, Target::User("dave"), "mfa-only", mfa_only).await;
    server
        .store
        .attach_policy(&a, Target::User("erin"), PolicyType::Custom, "mfa-only")
        .await
        .unwrap();
    let mut sts = anonymous(&server).await;

    // dave: no MFA device; password only.
    let before = Timestamp::now();
    let signed_in = sts
        .sign_in(sign_in_request(&a, "DAVE", PASSWORD, ""))
        .await
        .unwrap()
        .into_inner();
    let credentials = signed_in.credentials.unwrap();
    check_credentials(&credentials, before, 3600);
    let principal = signed_in.principal.unwrap();
    assert_eq!(principal.arn, format!("acs:ram::{a}:user/dave"));
    assert_eq!(principal.identity_type, "RAMUser");
    assert_eq!(principal.principal_id, dave_id);
    assert_eq!(principal.account_id, a.as_str());
    assert!(signed_in.password_reset_required);
    assert!(!signed_in.mfa_bind_required);
    assert!(
        server
            .store
            .get_user(&a, "dave")
            .await
            .unwrap()
            .last_login_at
            .is_some()
    );
    let dave_channels = [
        bearer(&server, &credentials),
        sts_signed(&server, &credentials),
    ];
    for channel in &dave_channels {
        let who = identity(channel).await.unwrap();
        assert_eq!(who.user_id, dave_id);
        assert_eq!(who.principal.unwrap().identity_type, "RAMUser");
        // No MFA at sign-in: the MFA-only grant does not apply.
        assert_code(
            get_user(channel, "dave").await,
            Code::PermissionDenied,
            "NoPermission",
        );
    }

    // Wrong password, unknown user, user without a login profile, unknown account: one answer.
    let unknown_account = AccountId::parse("9999999999999999").unwrap();
    let mut answers = Vec::new();
    for request in [
        sign_in_request(&a, "dave", "Wrong-Horse-9", ""),
        sign_in_request(&a, "nobody", PASSWORD, ""),
        sign_in_request(&a, "frank", PASSWORD, ""),
        sign_in_request(&unknown_account, "dave", PASSWORD, ""),
        // The password is checked before MFA is asked for.
        sign_in_request(&a, "erin", "Wrong-Horse-9", ""),
    ] {
        let status = sts.sign_in(request).await.unwrap_err();
        answers.push((status.code(), status.message().to_owned()));
    }
    assert_eq!(
        answers[0],
        (
            Code::Unauthenticated,
            "AuthenticationFail.Password: The account ID, user name or password is incorrect."
                .to_owned()
        )
    );
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");

    // Parameters.
    for (request, code) in [
        (
            pb::SignInRequest {
                account_id: String::new(),
                ..sign_in_request(&a, "dave", PASSWORD, "")
            },
            "MissingAccountId",
        ),
        (sign_in_request(&a, "", PASSWORD, ""), "MissingUserName"),
        (sign_in_request(&a, "dave", "", ""), "MissingPassword"),
        (
            pb::SignInRequest {
                account_id: "12".into(),
                ..sign_in_request(&a, "dave", PASSWORD, "")
            },
            "InvalidParameter.AccountId.Format",
        ),
        (
            sign_in_request(&a, "da ve", PASSWORD, ""),
            "InvalidParameter.UserName.InvalidChars",
        ),
    ] {
        assert_code(sts.sign_in(request).await, Code::InvalidArgument, code);
    }

    // erin: the MFA code is required after the password, checked, and accepted once.
    assert_code(
        sts.sign_in(sign_in_request(&a, "erin", PASSWORD, "")).await,
        Code::InvalidArgument,
        "MissingMFACode",
    );
    assert_code(
        sts.sign_in(sign_in_request(&a, "erin", PASSWORD, &wrong_code(&seed)))
            .await,
        Code::PermissionDenied,
        "CheckAuthenticationCodeFail",
    );
    let code = totp::code_at(&seed, Timestamp::now());
    let signed_in = sts
        .sign_in(sign_in_request(&a, "erin", PASSWORD, &code))
        .await
        .unwrap()
        .into_inner();
    assert!(!signed_in.password_reset_required);
    assert_code(
        sts.sign_in(sign_in_request(&a, "erin", PASSWORD, &code))
            .await,
        Code::PermissionDenied,
        "CheckAuthenticationCodeFail",
    );
    let erin = signed_in.credentials.unwrap();
    for channel in [bearer(&server, &erin), sts_signed(&server, &erin)] {
        let who = identity(&channel).await.unwrap();
        assert_eq!(who.user_id, erin_id);
        // acs:MFAPresent is true for erin's session: the MFA-only grant decides GetUser.
        let got = get_user(&channel, "dave").await.unwrap();
        assert_eq!(got.user.unwrap().user_name, "dave");
        assert_code(
            list_users(&channel).await,
            Code::PermissionDenied,
            "NoPermission",
        );
    }
    // erin's long-term access key carries no MFA.
    let (_, _, erin_key) = server.key_for(&a, Some("erin")).await;
    assert_code(
        get_user(&erin_key, "dave").await,
        Code::PermissionDenied,
        "NoPermission",
    );

    // A user session ends with its user: deleting dave revokes his tokens.
    server.store.delete_login_profile(&a, "dave").await.unwrap();
    server
        .store
        .detach_policy(&a, Target::User("dave"), PolicyType::Custom, "mfa-only")
        .await
        .unwrap();
    server.store.delete_user(&a, "dave").await.unwrap();
    for channel in &dave_channels {
        support::refused_eventually("InvalidSecurityToken.Revoked", || identity(channel)).await;
    }

    // A suspended account signs nobody in, with the same answer.
    server
        .store
        .set_account_status(&a, AccountStatus::Suspended)
        .await
        .unwrap();
    let status = sts
        .sign_in(sign_in_request(
            &a,
            "erin",
            PASSWORD,
            &totp::code_at(&seed, Timestamp::now()),
        ))
        .await
        .unwrap_err();
    assert_eq!((status.code(), status.message().to_owned()), answers[0]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_on_sqlite() {
    sign_in_scenario(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_on_postgres() {
    sign_in_scenario(Backend::Postgres).await;
}

// --- signing-key rotation ---

async fn rotation_scenario(backend: Backend) {
    let server = TestServer::start(backend, "sts_rotation").await;
    let a = account(&server, "a").await;
    user(&server, &a, "alice").await;
    login_profile(&server, &a, "alice", false).await;
    role(&server, &a, "Deploy", &trust_root(&a), 3600).await;
    grant(
        &server,
        &a,
        Target::User("alice"),
        "assume-deploy",
        &allow_assume(&format!("acs:ram:*:{a}:role/Deploy")),
    )
    .await;
    let (_, _, alice) = server.key_for(&a, Some("alice")).await;
    let deploy = format!("acs:ram::{a}:role/Deploy");
    let old_kid = server.store.list_signing_keys().await.unwrap()[0]
        .kid
        .clone();
    let old = assume_role(&alice, assume(&deploy, "before"))
        .await
        .unwrap()
        .credentials
        .unwrap();
    assert_eq!(kid(&old.security_token), old_kid);

    // Rotate as the Operator service does: a new active key, the old one retired.
    let key = SigningKey::generate(&mut rand::rng()).unwrap();
    server
        .store
        .insert_signing_key(&NewSigningKey {
            kid: key.kid().to_owned(),
            algorithm: "EdDSA".into(),
            sealed_private_key: server
                .sealer
                .seal(&key.to_pkcs8_der(), &signing_key_context(key.kid()))
                .unwrap(),
            public_key: key.public_key().as_bytes().to_vec(),
        })
        .await
        .unwrap();
    server
        .store
        .retire_signing_key(&old_kid, Timestamp::now())
        .await
        .unwrap();

    // The server learns of it through its change feed: poll until new tokens carry the new kid.
    let deadline = Instant::now() + Duration::from_secs(20);
    let new = loop {
        let credentials = assume_role(&alice, assume(&deploy, "after"))
            .await
            .unwrap()
            .credentials
            .unwrap();
        if kid(&credentials.security_token) == key.kid() {
            break credentials;
        }
        assert_eq!(kid(&credentials.security_token), old_kid);
        assert!(Instant::now() < deadline, "the rotation was not picked up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let signed_in = anonymous(&server)
        .await
        .sign_in(sign_in_request(&a, "alice", PASSWORD, ""))
        .await
        .unwrap()
        .into_inner()
        .credentials
        .unwrap();
    assert_eq!(kid(&signed_in.security_token), key.kid());
    // Tokens of both keys verify, as bearer tokens and with their STS keys.
    for credentials in [&old, &new, &signed_in] {
        identity(&bearer(&server, credentials)).await.unwrap();
        identity(&sts_signed(&server, credentials)).await.unwrap();
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_key_rotation_on_sqlite() {
    rotation_scenario(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_key_rotation_on_postgres() {
    rotation_scenario(Backend::Postgres).await;
}
