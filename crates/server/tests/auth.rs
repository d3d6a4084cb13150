#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! gRPC caller authentication end to end: `tessera_server::run` on 127.0.0.1:0, called over
//! real HTTP/2 with `Sts/GetCallerIdentity` and `Sts/GetJwks`.
//!
//! How the tests sign: a tonic interceptor cannot see the message, so calls go through
//! [`RawCodec`], a pass-through codec that sends a `Vec<u8>` as the message bytes as is (and
//! decodes the answer with prost). The test serializes (or makes up) the bytes, signs exactly
//! those with `sign_grpc` and sends them: what clients in other languages do with
//! `request_serializer=None` (docs/grpc-authentication.md §2.2). It also lets a test send
//! bytes that differ from the signed ones.

use std::marker::PhantomData;
use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, Instant};

use base64::Engine as _;
use jiff::{SignedDuration, Timestamp};
use tessera_credentials::signature::{new_nonce, sign_grpc};
use tessera_credentials::sts::{new_access_key_id, new_long_term_access_key};
use tessera_credentials::token::new_token_id;
use tessera_credentials::{MasterKey, Sealer, Secret, SessionClaims, SessionSubject, SigningKey};
use tessera_proto::v1 as pb;
use tessera_server::Config;
use tessera_server::auth::ERROR_CODE_TRAILER;
use tessera_store::{
    AccessKeyStatus, AccountId, AccountStatus, AccountStore as _, KeyStore as _, NewAccessKey,
    NewRole, NewSigningKey, NewUser, Role, RoleStore as _, SqlStore, StoreConfig, SystemStore as _,
    UserStore as _,
};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::metadata::{MetadataKey, MetadataValue};
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};

const GET_CALLER_IDENTITY: &str = "/tessera.v1.Sts/GetCallerIdentity";
const GET_JWKS: &str = "/tessera.v1.Sts/GetJwks";
const TRUST: &str = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":["acs:ram::1234567890123456:root"]}}]}"#;

mod support;

use support::{RawCodec, Running, start};

/// An access key as a client holds it.
#[derive(Clone)]
struct Key {
    id: String,
    secret: Secret,
    token: Option<String>,
}

/// What a test needs besides the server: a client, the store, the sealer, the signing key.
struct Harness {
    channel: Channel,
    authority: String,
    store: SqlStore,
    sealer: Sealer,
    master: Vec<u8>,
    operator: AccountId,
    operator_key: Key,
}

impl Harness {
    async fn new(running: &Running, data: &Path, url: &str) -> Harness {
        let channel = Endpoint::from_shared(format!("http://{}", running.addr))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let text = std::fs::read_to_string(data.join("operator.json")).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let master = base64::engine::general_purpose::STANDARD
            .decode(
                std::fs::read_to_string(data.join("master.key"))
                    .unwrap()
                    .trim(),
            )
            .unwrap();
        Harness {
            channel,
            authority: running.addr.to_string(),
            store: SqlStore::connect(&StoreConfig::new(url)).await.unwrap(),
            sealer: Sealer::new(MasterKey::new(1, &master).unwrap()),
            master,
            operator: AccountId::parse(json["AccountId"].as_str().unwrap()).unwrap(),
            operator_key: Key {
                id: json["AccessKeyId"].as_str().unwrap().to_owned(),
                secret: Secret::from(json["AccessKeySecret"].as_str().unwrap()),
                token: None,
            },
        }
    }

    /// Sends `message` (bytes as is) to `path` with `metadata`.
    async fn call<R: prost::Message + Default + Send + 'static>(
        &self,
        path: &'static str,
        message: Vec<u8>,
        metadata: &[(String, String)],
    ) -> Result<R, Status> {
        let mut grpc = tonic::client::Grpc::new(self.channel.clone());
        grpc.ready().await.unwrap();
        let mut request = tonic::Request::new(message);
        for (name, value) in metadata {
            request.metadata_mut().insert(
                MetadataKey::from_str(name).unwrap(),
                MetadataValue::try_from(value.as_str()).unwrap(),
            );
        }
        grpc.unary(
            request,
            PathAndQuery::from_static(path),
            RawCodec::<R>(PhantomData),
        )
        .await
        .map(tonic::Response::into_inner)
    }

    /// The ACS3 metadata of a call signed with `key` at `at`.
    fn sign(&self, path: &str, message: &[u8], key: &Key, at: Timestamp) -> Vec<(String, String)> {
        sign_grpc(
            path,
            &self.authority,
            message,
            &key.id,
            &key.secret,
            key.token.as_deref(),
            at,
            &new_nonce(&mut rand::rng()),
        )
        .unwrap()
    }

    /// `GetCallerIdentity` signed with `key` now.
    async fn identity(&self, key: &Key) -> Result<pb::GetCallerIdentityResponse, Status> {
        let metadata = self.sign(GET_CALLER_IDENTITY, b"", key, Timestamp::now());
        self.call(GET_CALLER_IDENTITY, Vec::new(), &metadata).await
    }

    /// `GetCallerIdentity` with `authorization: Bearer <token>`.
    async fn identity_bearer(&self, token: &str) -> Result<pb::GetCallerIdentityResponse, Status> {
        let metadata = [("authorization".to_owned(), format!("Bearer {token}"))];
        self.call(GET_CALLER_IDENTITY, Vec::new(), &metadata).await
    }

    /// A new long-term key of `user` (or the root) in `account`, sealed like the server does.
    async fn create_key(&self, account: &AccountId, user: Option<&str>) -> Key {
        let pair = new_long_term_access_key(&mut rand::rng());
        let sealed_secret = self
            .sealer
            .seal(&pair.secret, format!("access-key:{}", pair.id).as_bytes())
            .unwrap();
        self.store
            .create_access_key(
                account,
                user,
                &NewAccessKey {
                    id: pair.id.clone(),
                    sealed_secret,
                },
            )
            .await
            .unwrap();
        Key {
            id: pair.id,
            secret: pair.secret,
            token: None,
        }
    }

    /// The store's active signing key, opened with the master key.
    async fn signing_key(&self) -> SigningKey {
        let keys = self.store.list_signing_keys().await.unwrap();
        let stored = keys.last().unwrap();
        let der = self
            .sealer
            .open(
                &stored.sealed_private_key,
                format!("signing-key:{}", stored.kid).as_bytes(),
            )
            .unwrap();
        SigningKey::from_pkcs8_der(&der, Some(&stored.kid)).unwrap()
    }

    async fn create_role(&self, name: &str) -> Role {
        self.store
            .create_role(
                &self.operator,
                &NewRole {
                    name: name.into(),
                    trust_policy: TRUST.into(),
                    ..NewRole::default()
                },
            )
            .await
            .unwrap()
            .value
    }

    /// STS credentials of a session of `role`: a token signed by `key`, issued at `issued_at`
    /// for `lifetime`, and the derived secret of its access key.
    fn session(
        &self,
        role: &Role,
        key: &SigningKey,
        issued_at: Timestamp,
        lifetime: SignedDuration,
    ) -> (SessionClaims, Key) {
        // Tokens carry whole seconds.
        let issued_at = Timestamp::from_second(issued_at.as_second()).unwrap();
        let access_key_id = new_access_key_id(&mut rand::rng());
        let claims = SessionClaims {
            issuer: "tessera".into(),
            account_id: self.operator.as_str().to_owned(),
            subject: SessionSubject::Role {
                role_id: role.id.clone(),
                role_name: role.name.clone(),
                session_name: "alice-session".into(),
                source_identity: None,
            },
            issued_at,
            expires_at: issued_at.checked_add(lifetime).unwrap(),
            token_id: new_token_id(&mut rand::rng()),
            access_key_id: access_key_id.clone(),
            session_policy: Some(
                r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:Get*","Resource":"*"}]}"#
                    .into(),
            ),
        };
        let token = key.sign(&claims).unwrap();
        let derivation = tessera_server::bootstrap::sts_derivation_key(&self.master).unwrap();
        let secret = derivation.derive(&access_key_id);
        (
            claims,
            Key {
                id: access_key_id,
                secret,
                token: Some(token),
            },
        )
    }
}

/// Asserts `UNAUTHENTICATED` with `code` in the message and the trailer.
#[track_caller]
fn assert_unauthenticated<T: std::fmt::Debug>(result: Result<T, Status>, code: &str) {
    assert_status(result, Code::Unauthenticated, code);
}

#[track_caller]
fn assert_status<T: std::fmt::Debug>(result: Result<T, Status>, grpc: Code, code: &str) {
    let status = result.expect_err("the call should fail");
    assert_eq!(status.code(), grpc, "{status:?}");
    assert!(
        status.message().starts_with(&format!("{code}: ")),
        "{status:?}"
    );
    assert_eq!(
        status
            .metadata()
            .get(ERROR_CODE_TRAILER)
            .map(|v| v.to_str().unwrap()),
        Some(code),
        "{status:?}"
    );
}

fn principal(response: &pb::GetCallerIdentityResponse) -> &pb::Principal {
    response.principal.as_ref().unwrap()
}

/// Every check, against a running server whose store is at `url`.
async fn exercise(running: &Running, data: &Path, url: &str) {
    let h = Harness::new(running, data, url).await;
    let account = h.operator.as_str().to_owned();

    // The operator's root key.
    let me = h.identity(&h.operator_key).await.unwrap();
    assert_eq!(
        principal(&me),
        &pb::Principal {
            arn: format!("acs:ram::{account}:root"),
            account_id: account.clone(),
            identity_type: "Account".into(),
            principal_id: account.clone(),
        }
    );
    assert_eq!(me.user_id, account);
    assert_eq!(me.role_id, "");
    // Non-empty message bytes (an unknown field) are hashed as received.
    let message = vec![0x08, 0x01];
    let metadata = h.sign(
        GET_CALLER_IDENTITY,
        &message,
        &h.operator_key,
        Timestamp::now(),
    );
    let me: pb::GetCallerIdentityResponse = h
        .call(GET_CALLER_IDENTITY, message, &metadata)
        .await
        .unwrap();
    assert_eq!(principal(&me).identity_type, "Account");
    // The key's use is recorded (off the hot path).
    let deadline = Instant::now() + Duration::from_secs(10);
    while h
        .store
        .get_access_key_last_used(&h.operator, None, &h.operator_key.id)
        .await
        .unwrap()
        .is_none()
    {
        assert!(Instant::now() < deadline, "last use not recorded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A RAM user's key.
    let alice = h
        .store
        .create_user(
            &h.operator,
            &NewUser {
                name: "alice".into(),
                ..NewUser::default()
            },
        )
        .await
        .unwrap()
        .value;
    let alice_key = h.create_key(&h.operator, Some("alice")).await;
    let me = h.identity(&alice_key).await.unwrap();
    assert_eq!(
        principal(&me),
        &pb::Principal {
            arn: format!("acs:ram::{account}:user/alice"),
            account_id: account.clone(),
            identity_type: "RAMUser".into(),
            principal_id: alice.id.clone(),
        }
    );
    assert_eq!(me.user_id, alice.id);

    // Signed-request failures.
    let wrong = Key {
        secret: Secret::from("not-the-secret"),
        ..alice_key.clone()
    };
    assert_unauthenticated(h.identity(&wrong).await, "SignatureDoesNotMatch");
    let unknown = Key {
        id: "LTAIunknownKey00000000000".into(),
        ..alice_key.clone()
    };
    assert_unauthenticated(h.identity(&unknown).await, "InvalidAccessKeyId.NotFound");
    let inactive = h.create_key(&h.operator, Some("alice")).await;
    h.store
        .update_access_key_status(
            &h.operator,
            Some("alice"),
            &inactive.id,
            AccessKeyStatus::Inactive,
        )
        .await
        .unwrap();
    assert_unauthenticated(h.identity(&inactive).await, "InvalidAccessKeyId.Inactive");
    let tenant = h.store.create_account("tenant").await.unwrap().value.id;
    let tenant_key = h.create_key(&tenant, None).await;
    h.store
        .set_account_status(&tenant, AccountStatus::Suspended)
        .await
        .unwrap();
    assert_unauthenticated(h.identity(&tenant_key).await, "InvalidAccessKeyId.Inactive");
    // Replay: the same metadata twice.
    let metadata = h.sign(GET_CALLER_IDENTITY, b"", &alice_key, Timestamp::now());
    h.call::<pb::GetCallerIdentityResponse>(GET_CALLER_IDENTITY, Vec::new(), &metadata)
        .await
        .unwrap();
    assert_unauthenticated(
        h.call::<pb::GetCallerIdentityResponse>(GET_CALLER_IDENTITY, Vec::new(), &metadata)
            .await,
        "SignatureNonceUsed",
    );
    // Stale and future dates.
    for offset in [-20 * 60, 20 * 60] {
        let at = Timestamp::now()
            .checked_add(SignedDuration::from_secs(offset))
            .unwrap();
        let metadata = h.sign(GET_CALLER_IDENTITY, b"", &alice_key, at);
        assert_unauthenticated(
            h.call::<pb::GetCallerIdentityResponse>(GET_CALLER_IDENTITY, Vec::new(), &metadata)
                .await,
            "InvalidTimeStamp.Expired",
        );
    }
    // Tampered message bytes.
    let metadata = h.sign(GET_CALLER_IDENTITY, b"", &alice_key, Timestamp::now());
    assert_unauthenticated(
        h.call::<pb::GetCallerIdentityResponse>(GET_CALLER_IDENTITY, vec![0x08, 0x01], &metadata)
            .await,
        "SignatureDoesNotMatch",
    );
    // Signed for another method.
    let metadata = h.sign(GET_JWKS, b"", &alice_key, Timestamp::now());
    assert_unauthenticated(
        h.call::<pb::GetCallerIdentityResponse>(GET_CALLER_IDENTITY, Vec::new(), &metadata)
            .await,
        "SignatureDoesNotMatch",
    );
    // No credentials; another scheme.
    assert_unauthenticated(
        h.call::<pb::GetCallerIdentityResponse>(GET_CALLER_IDENTITY, Vec::new(), &[])
            .await,
        "MissingSignature",
    );
    assert_unauthenticated(
        h.call::<pb::GetCallerIdentityResponse>(
            GET_CALLER_IDENTITY,
            Vec::new(),
            &[("authorization".into(), "Basic YWxpY2U6c2VjcmV0".into())],
        )
        .await,
        "InvalidSignatureMethod",
    );
    // Over 4 MiB: refused before anything is verified.
    let big = vec![0u8; 4 * 1024 * 1024 + 16];
    let metadata = h.sign(GET_CALLER_IDENTITY, b"", &alice_key, Timestamp::now());
    assert_status(
        h.call::<pb::GetCallerIdentityResponse>(GET_CALLER_IDENTITY, big, &metadata)
            .await,
        Code::ResourceExhausted,
        "MessageTooLarge",
    );

    // Security tokens, bearer and with a signed request.
    let key = h.signing_key().await;
    let role = h.create_role("Reader").await;
    let now = Timestamp::now();
    let (claims, sts_key) = h.session(&role, &key, now, SignedDuration::from_hours(1));
    let token = sts_key.token.clone().unwrap();
    let me = h.identity_bearer(&token).await.unwrap();
    assert_eq!(
        principal(&me),
        &pb::Principal {
            arn: format!("acs:ram::{account}:assumed-role/Reader/alice-session"),
            account_id: account.clone(),
            identity_type: "AssumedRoleUser".into(),
            principal_id: format!("{}:alice-session", role.id),
        }
    );
    assert_eq!(me.role_id, role.id);
    assert_eq!(me.user_id, "");
    let me = h.identity(&sts_key).await.unwrap();
    assert_eq!(principal(&me).identity_type, "AssumedRoleUser");
    // GetJwks with a bearer token.
    let jwks: pb::GetJwksResponse = h
        .call(
            GET_JWKS,
            Vec::new(),
            &[("authorization".into(), format!("Bearer {token}"))],
        )
        .await
        .unwrap();
    let verifier =
        tessera_credentials::TokenVerifier::from_jwks("tessera", &jwks.jwks_json).unwrap();
    assert_eq!(verifier.verify(&token, Timestamp::now()).unwrap(), claims);
    // STS keys: the token is required, and must be the key's.
    let no_token = Key {
        token: None,
        ..sts_key.clone()
    };
    assert_unauthenticated(h.identity(&no_token).await, "MissingSecurityToken");
    let (_, other_session) = h.session(&role, &key, now, SignedDuration::from_hours(1));
    let mismatched = Key {
        token: other_session.token.clone(),
        ..sts_key.clone()
    };
    assert_unauthenticated(
        h.identity(&mismatched).await,
        "InvalidSecurityToken.MismatchWithAccessKey",
    );
    let wrong_sts_secret = Key {
        secret: Secret::from("wrong"),
        ..sts_key.clone()
    };
    assert_unauthenticated(h.identity(&wrong_sts_secret).await, "SignatureDoesNotMatch");
    let with_token = Key {
        token: Some(token.clone()),
        ..alice_key.clone()
    };
    assert_unauthenticated(
        h.identity(&with_token).await,
        "InvalidSecurityToken.MismatchWithAccessKey",
    );

    // Expired (issued 2 h ago for 1 h), malformed, forged.
    let (_, expired) = h.session(
        &role,
        &key,
        now.checked_sub(SignedDuration::from_hours(2)).unwrap(),
        SignedDuration::from_hours(1),
    );
    let expired_token = expired.token.clone().unwrap();
    assert_unauthenticated(
        h.identity_bearer(&expired_token).await,
        "InvalidSecurityToken.Expired",
    );
    assert_unauthenticated(h.identity(&expired).await, "InvalidSecurityToken.Expired");
    assert_unauthenticated(
        h.identity_bearer("not-a-token").await,
        "InvalidSecurityToken.Malformed",
    );
    let stranger = SigningKey::generate(&mut rand::rng()).unwrap();
    let (_, forged) = h.session(&role, &stranger, now, SignedDuration::from_hours(1));
    assert_unauthenticated(
        h.identity_bearer(forged.token.as_deref().unwrap()).await,
        "InvalidSecurityToken.Malformed",
    );
    // Another key claiming the real kid.
    let impostor = SigningKey::from_pkcs8_der(
        &SigningKey::generate(&mut rand::rng())
            .unwrap()
            .to_pkcs8_der(),
        Some(key.kid()),
    )
    .unwrap();
    let (_, forged) = h.session(&role, &impostor, now, SignedDuration::from_hours(1));
    assert_unauthenticated(
        h.identity_bearer(forged.token.as_deref().unwrap()).await,
        "InvalidSecurityToken.Malformed",
    );

    // A new signing key is picked up without waiting for the periodic reload.
    let rotated = SigningKey::generate(&mut rand::rng()).unwrap();
    h.store
        .insert_signing_key(&NewSigningKey {
            kid: rotated.kid().to_owned(),
            algorithm: "EdDSA".into(),
            sealed_private_key: h
                .sealer
                .seal(
                    &rotated.to_pkcs8_der(),
                    format!("signing-key:{}", rotated.kid()).as_bytes(),
                )
                .unwrap(),
            public_key: rotated.public_key().as_bytes().to_vec(),
        })
        .await
        .unwrap();
    let (_, fresh) = h.session(&role, &rotated, now, SignedDuration::from_hours(1));
    h.identity_bearer(fresh.token.as_deref().unwrap())
        .await
        .unwrap();

    // Revocation of one token.
    let (revoked_claims, revoked) = h.session(&role, &key, now, SignedDuration::from_hours(1));
    let revoked_token = revoked.token.clone().unwrap();
    h.identity_bearer(&revoked_token).await.unwrap();
    h.store
        .revoke_token(
            &h.operator,
            &revoked_claims.token_id,
            revoked_claims.expires_at,
        )
        .await
        .unwrap();
    support::refused_eventually("InvalidSecurityToken.Revoked", || {
        h.identity_bearer(&revoked_token)
    })
    .await;
    support::refused_eventually("InvalidSecurityToken.Revoked", || h.identity(&revoked)).await;
    // The other sessions are unaffected.
    h.identity_bearer(&token).await.unwrap();

    // RevokeRoleSessions: sessions issued before are refused, later ones accepted.
    let issued_before = Timestamp::now()
        .checked_sub(SignedDuration::from_secs(5))
        .unwrap();
    let (_, before) = h.session(&role, &key, issued_before, SignedDuration::from_hours(1));
    h.identity_bearer(before.token.as_deref().unwrap())
        .await
        .unwrap();
    h.store
        .revoke_role_sessions(&h.operator, "Reader")
        .await
        .unwrap();
    support::refused_eventually("InvalidSecurityToken.Revoked", || {
        h.identity_bearer(before.token.as_deref().unwrap())
    })
    .await;
    support::refused_eventually("InvalidSecurityToken.Revoked", || h.identity(&before)).await;
    let issued_after = Timestamp::now()
        .checked_add(SignedDuration::from_secs(2))
        .unwrap();
    let (_, after) = h.session(&role, &key, issued_after, SignedDuration::from_hours(1));
    h.identity_bearer(after.token.as_deref().unwrap())
        .await
        .unwrap();

    // The role deleted, then recreated under the same name: old sessions stay dead.
    let (_, old) = h.session(&role, &key, issued_after, SignedDuration::from_hours(1));
    let old_token = old.token.clone().unwrap();
    h.identity_bearer(&old_token).await.unwrap();
    h.store.delete_role(&h.operator, "Reader").await.unwrap();
    support::refused_eventually("InvalidSecurityToken.Revoked", || {
        h.identity_bearer(&old_token)
    })
    .await;
    let recreated = h.create_role("Reader").await;
    assert_ne!(recreated.id, role.id);
    support::refused_eventually("InvalidSecurityToken.Revoked", || {
        h.identity_bearer(&old_token)
    })
    .await;
    let (_, new) = h.session(
        &recreated,
        &key,
        Timestamp::now(),
        SignedDuration::from_hours(1),
    );
    h.identity_bearer(new.token.as_deref().unwrap())
        .await
        .unwrap();

    // Unauthenticated surface: health, reflection, SignIn (which answers for itself).
    let mut health = tonic_health::pb::health_client::HealthClient::new(h.channel.clone());
    let served = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "tessera.v1.Sts".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        served.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
    let mut reflection =
        tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient::new(
            h.channel.clone(),
        );
    let request = tonic_reflection::pb::v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            tonic_reflection::pb::v1::server_reflection_request::MessageRequest::ListServices(
                String::new(),
            ),
        ),
    };
    let mut responses = reflection
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    assert!(responses.message().await.unwrap().is_some());
    let sign_in = pb::SignInRequest {
        account_id: account.clone(),
        user_name: "alice".into(),
        password: "irrelevant".into(),
        mfa_code: String::new(),
    };
    let status = pb::sts_client::StsClient::new(h.channel.clone())
        .sign_in(sign_in)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert!(
        status
            .message()
            .starts_with("AuthenticationFail.Password: "),
        "the service, not the auth layer, answered: {status:?}"
    );
    // The generated client, without credentials, is refused.
    let status = pb::sts_client::StsClient::new(h.channel.clone())
        .get_caller_identity(pb::GetCallerIdentityRequest {})
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);

    authorizer_is_served_behind_authentication(&h).await;
    cached_keys_follow_the_change_log(&h).await;
    h.store.close().await;
}

/// A key that authenticated once (and so is cached) stops working when it is deactivated or
/// its account is suspended — through another store handle, like another replica's write — as
/// soon as the server's change feed delivers the change, long before the cache's 30 s TTL.
async fn cached_keys_follow_the_change_log(h: &Harness) {
    async fn refused_within(h: &Harness, key: &Key, code: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match h.identity(key).await {
                Err(status) if status.message().starts_with(code) => return,
                other if Instant::now() > deadline => {
                    panic!("still {other:?} 10 s after the change")
                }
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }
    let tenant = h.store.create_account("cached").await.unwrap().value.id;
    let key = h.create_key(&tenant, None).await;
    h.identity(&key).await.unwrap();
    h.store
        .update_access_key_status(&tenant, None, &key.id, AccessKeyStatus::Inactive)
        .await
        .unwrap();
    refused_within(h, &key, "InvalidAccessKeyId.Inactive").await;

    let other = h.create_key(&tenant, None).await;
    h.identity(&other).await.unwrap();
    h.store
        .set_account_status(&tenant, AccountStatus::Suspended)
        .await
        .unwrap();
    refused_within(h, &other, "InvalidAccessKeyId.Inactive").await;
}

/// The Authorizer service through the real server: refused without credentials, answering
/// signed calls.
async fn authorizer_is_served_behind_authentication(h: &Harness) {
    const VALIDATE: &str = "/tessera.v1.Authorizer/ValidatePolicy";
    const AUTHORIZE: &str = "/tessera.v1.Authorizer/Authorize";
    let validate = pb::ValidatePolicyRequest {
        document:
            r#"{"Version":"1","Statement":[{"Effect":"allow","Action":"ecs:*","Resource":"*"}]}"#
                .into(),
        kind: pb::PolicyKind::Identity as i32,
    };
    let bytes = prost::Message::encode_to_vec(&validate);
    assert_unauthenticated(
        h.call::<pb::ValidatePolicyResponse>(VALIDATE, bytes.clone(), &[])
            .await,
        "MissingSignature",
    );
    let metadata = h.sign(VALIDATE, &bytes, &h.operator_key, Timestamp::now());
    let response: pb::ValidatePolicyResponse = h.call(VALIDATE, bytes, &metadata).await.unwrap();
    assert!(!response.valid);
    assert_eq!(response.errors[0].code, "MalformedPolicyDocument");
    assert_eq!(
        (response.errors[0].line, response.errors[0].column),
        (1, 39)
    );

    // The operator's root asks about itself: root of its account.
    let account = h.operator.as_str();
    let authorize = pb::AuthorizeRequest {
        subject: Some(pb::Subject {
            kind: Some(pb::subject::Kind::PrincipalArn(format!(
                "acs:ram::{account}:root"
            ))),
            ..Default::default()
        }),
        item: Some(pb::AuthorizeItem {
            action: "oss:GetObject".into(),
            resource: format!("acs:oss:*:{account}:bucket/key"),
            context: Vec::new(),
        }),
        min_revision: 0,
        explain: true,
    };
    let bytes = prost::Message::encode_to_vec(&authorize);
    let metadata = h.sign(AUTHORIZE, &bytes, &h.operator_key, Timestamp::now());
    let response: pb::AuthorizeResponse = h.call(AUTHORIZE, bytes, &metadata).await.unwrap();
    let result = response.result.unwrap();
    assert_eq!(result.decision, pb::Decision::Allow as i32, "{result:?}");
    assert_eq!(result.reason, "RootOfAccount");
    assert_eq!(
        response.principal.unwrap().arn,
        format!("acs:ram::{account}:root")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authenticates_grpc_calls_with_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = Config {
        data_dir: data.clone(),
        ..Config::default()
    };
    let url = config.effective_database_url();
    let running = start(config).await;
    exercise(&running, &data, &url).await;
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authenticates_grpc_calls_with_postgresql() {
    let postgres = support::Postgres::create("tessera_auth_test").await;
    let url = postgres.url.clone();

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = Config {
        data_dir: data.clone(),
        database_url: Some(url.clone()),
        database_max_connections: 4,
        ..Config::default()
    };
    let running = start(config).await;
    exercise(&running, &data, &url).await;
    running.shutdown().await;

    postgres.drop_database().await;
}
