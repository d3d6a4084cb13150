//! Seeds the server through its own API, as the operator:
//!
//! - in the operator's account, the service that asks `Authorize`: user `bench-svc` with an
//!   access key, allowed to assume role `bench-svc-role`; both hold the platform-wide Authorize
//!   grant; the role session's token is the service's bearer token;
//! - `accounts` tenant accounts (Operator/CreateAccount; their root keys drive `admin-write`),
//!   each with policy `reader` (oss:GetObject on `bucket/*`, denied on `bucket/private/*`),
//!   role `app` (the reader policy; trusted by the account), group `apps` (reader, and
//!   sts:AssumeRole on role `app`) and `users` users in it;
//! - for the first `sessions` users of each account an access key (they drive `assume-role`) and
//!   a session of role `app` (their tokens are the `authorize` subjects).

use std::sync::Arc;

use anyhow::Context as _;
use tessera_credentials::Secret;
use tessera_proto::v1 as pb;
use tonic::transport::Channel;

use crate::call::{Auth, Key, encode, unary};

pub const CREATE_ACCOUNT: &str = "/tessera.v1.Operator/CreateAccount";
pub const SET_ACCOUNT_QUOTA: &str = "/tessera.v1.Operator/SetAccountQuota";
pub const GRANT: &str = "/tessera.v1.Operator/GrantPlatformAuthorize";
pub const CREATE_USER: &str = "/tessera.v1.Ram/CreateUser";
pub const CREATE_GROUP: &str = "/tessera.v1.Ram/CreateGroup";
pub const ADD_USER_TO_GROUP: &str = "/tessera.v1.Ram/AddUserToGroup";
pub const CREATE_ROLE: &str = "/tessera.v1.Ram/CreateRole";
pub const CREATE_POLICY: &str = "/tessera.v1.Ram/CreatePolicy";
pub const ATTACH_POLICY: &str = "/tessera.v1.Ram/AttachPolicy";
pub const CREATE_ACCESS_KEY: &str = "/tessera.v1.Ram/CreateAccessKey";
pub const ASSUME_ROLE: &str = "/tessera.v1.Sts/AssumeRole";
pub const GET_CALLER_IDENTITY: &str = "/tessera.v1.Sts/GetCallerIdentity";

/// The tenants' policy: an allow with a typical network condition (the subjects' source
/// address is 10.0.0.1) and a deny carving out a prefix.
const READER: &str = r#"{"Version":"1","Statement":[
  {"Effect":"Allow","Action":"oss:GetObject","Resource":"acs:oss:*:*:bucket/*",
   "Condition":{"IpAddress":{"acs:SourceIp":["10.0.0.0/8","192.168.0.0/16"]}}},
  {"Effect":"Deny","Action":"oss:GetObject","Resource":"acs:oss:*:*:bucket/private/*"}]}"#;

/// How long the seeded sessions last: longer than any bench run.
const SESSION_SECONDS: u32 = 43_200;

/// One tenant account as seeded.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub account_id: String,
    pub root: Key,
    pub user_names: Vec<String>,
    /// Access keys of the first users (AssumeRole callers).
    pub user_keys: Vec<Key>,
    /// Session tokens of role `app` (Authorize subjects).
    pub tokens: Vec<String>,
}

/// What the scenarios need.
#[derive(Debug, Clone)]
pub struct Seeded {
    /// The service's access key and bearer token (a session of `bench-svc-role`).
    pub service_key: Key,
    pub service_token: String,
    pub tenants: Vec<Tenant>,
}

/// Seeding parameters.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    pub accounts: usize,
    pub users: usize,
    pub sessions: usize,
}

/// A connection and the authority it was opened to.
#[derive(Debug, Clone)]
pub struct Target {
    pub channel: Channel,
    pub authority: String,
}

impl Target {
    async fn call<M: prost::Message, R: prost::Message + Default + Send + 'static>(
        &self,
        key: &Key,
        path: &'static str,
        message: &M,
    ) -> anyhow::Result<R> {
        unary(
            self.channel.clone(),
            &self.authority,
            path,
            encode(message),
            &Auth::Signed(key.clone()),
        )
        .await
        .with_context(|| path.to_owned())
    }
}

fn key_of(id: String, secret: String) -> Key {
    Key {
        id,
        secret: Secret::new(secret.into_bytes()),
        security_token: None,
    }
}

fn trust_own_root(account_id: &str) -> String {
    format!(
        r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{{"RAM":"acs:ram::{account_id}:root"}}}}]}}"#
    )
}

fn allow_assume(account_id: &str, role: &str) -> String {
    format!(
        r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"acs:ram::{account_id}:role/{role}"}}]}}"#
    )
}

async fn policy(target: &Target, root: &Key, name: &str, document: &str) -> anyhow::Result<()> {
    let _: pb::PolicyResponse = target
        .call(
            root,
            CREATE_POLICY,
            &pb::CreatePolicyRequest {
                policy_name: name.into(),
                policy_document: document.into(),
                description: String::new(),
            },
        )
        .await?;
    Ok(())
}

async fn attach(
    target: &Target,
    root: &Key,
    kind: pb::TargetKind,
    name: &str,
    policy: &str,
) -> anyhow::Result<()> {
    let _: pb::WriteResult = target
        .call(
            root,
            ATTACH_POLICY,
            &pb::AttachmentRequest {
                target_kind: kind as i32,
                target_name: name.into(),
                policy_name: policy.into(),
                policy_type: "Custom".into(),
            },
        )
        .await?;
    Ok(())
}

async fn role(target: &Target, root: &Key, account_id: &str, name: &str) -> anyhow::Result<()> {
    let _: pb::RoleResponse = target
        .call(
            root,
            CREATE_ROLE,
            &pb::CreateRoleRequest {
                role_name: name.into(),
                assume_role_policy_document: trust_own_root(account_id),
                description: String::new(),
                max_session_duration: SESSION_SECONDS,
            },
        )
        .await?;
    Ok(())
}

async fn user_with_key(target: &Target, root: &Key, name: &str) -> anyhow::Result<Key> {
    let _: pb::UserResponse = target
        .call(
            root,
            CREATE_USER,
            &pb::CreateUserRequest {
                user_name: name.into(),
                ..Default::default()
            },
        )
        .await?;
    access_key(target, root, name).await
}

async fn access_key(target: &Target, root: &Key, name: &str) -> anyhow::Result<Key> {
    let created: pb::CreateAccessKeyResponse = target
        .call(
            root,
            CREATE_ACCESS_KEY,
            &pb::CreateAccessKeyRequest {
                user_name: name.into(),
            },
        )
        .await?;
    let id = created
        .access_key
        .map(|k| k.access_key_id)
        .context("CreateAccessKey returned no key")?;
    Ok(key_of(id, created.access_key_secret))
}

/// A session of `role` in `account_id` assumed with `key`: its bearer token.
pub async fn assume(
    target: &Target,
    key: &Key,
    account_id: &str,
    role: &str,
    session: &str,
) -> anyhow::Result<String> {
    let assumed: pb::AssumeRoleResponse = target
        .call(
            key,
            ASSUME_ROLE,
            &pb::AssumeRoleRequest {
                role_arn: format!("acs:ram::{account_id}:role/{role}"),
                role_session_name: session.into(),
                duration_seconds: SESSION_SECONDS,
                ..Default::default()
            },
        )
        .await?;
    assumed
        .credentials
        .map(|c| c.security_token)
        .context("AssumeRole returned no credentials")
}

async fn seed_tenant(
    target: Target,
    operator: Key,
    index: usize,
    scale: Scale,
) -> anyhow::Result<Tenant> {
    let created: pb::CreateAccountResponse = target
        .call(
            &operator,
            CREATE_ACCOUNT,
            &pb::CreateAccountRequest {
                name: format!("bench-tenant-{index}"),
            },
        )
        .await?;
    let account_id = created
        .account
        .map(|a| a.account_id)
        .context("CreateAccount returned no account")?;
    let root = key_of(created.root_access_key_id, created.root_access_key_secret);
    // admin-write creates users for as long as it runs.
    let _: pb::WriteResult = target
        .call(
            &operator,
            SET_ACCOUNT_QUOTA,
            &pb::SetAccountQuotaRequest {
                account_id: account_id.clone(),
                name: "UsersQuota".into(),
                value: Some(10_000_000),
            },
        )
        .await?;
    policy(&target, &root, "reader", READER).await?;
    policy(
        &target,
        &root,
        "assume-app",
        &allow_assume(&account_id, "app"),
    )
    .await?;
    role(&target, &root, &account_id, "app").await?;
    attach(&target, &root, pb::TargetKind::Role, "app", "reader").await?;
    let _: pb::GroupResponse = target
        .call(
            &root,
            CREATE_GROUP,
            &pb::CreateGroupRequest {
                group_name: "apps".into(),
                comments: String::new(),
            },
        )
        .await?;
    attach(&target, &root, pb::TargetKind::Group, "apps", "reader").await?;
    attach(&target, &root, pb::TargetKind::Group, "apps", "assume-app").await?;
    let mut user_names = Vec::with_capacity(scale.users);
    let mut user_keys = Vec::new();
    let mut tokens = Vec::new();
    for u in 0..scale.users {
        let name = format!("u{u}");
        let _: pb::UserResponse = target
            .call(
                &root,
                CREATE_USER,
                &pb::CreateUserRequest {
                    user_name: name.clone(),
                    ..Default::default()
                },
            )
            .await?;
        let _: pb::WriteResult = target
            .call(
                &root,
                ADD_USER_TO_GROUP,
                &pb::MembershipRequest {
                    group_name: "apps".into(),
                    user_name: name.clone(),
                },
            )
            .await?;
        if u < scale.sessions {
            let key = access_key(&target, &root, &name).await?;
            tokens.push(assume(&target, &key, &account_id, "app", &name).await?);
            user_keys.push(key);
        }
        user_names.push(name);
    }
    Ok(Tenant {
        account_id,
        root,
        user_names,
        user_keys,
        tokens,
    })
}

/// Seeds `scale` through `target` with the operator's root key `operator`; `parallel` tenants
/// at a time.
pub async fn seed(
    target: &Target,
    operator: &Key,
    scale: Scale,
    parallel: usize,
) -> anyhow::Result<Seeded> {
    let identity: pb::GetCallerIdentityResponse = target
        .call(
            operator,
            GET_CALLER_IDENTITY,
            &pb::GetCallerIdentityRequest {},
        )
        .await?;
    let operator_account = identity
        .principal
        .map(|p| p.account_id)
        .context("GetCallerIdentity returned no principal")?;

    // The service, in the operator's account (names unique per run: the operator's account
    // may have been seeded before).
    let run = format!("{:08x}", rand::random::<u32>());
    let service_user = format!("bench-svc-{run}");
    let service_role = format!("bench-svc-role-{run}");
    let service_key = user_with_key(target, operator, &service_user).await?;
    role(target, operator, &operator_account, &service_role).await?;
    let assume_policy = format!("bench-assume-{run}");
    policy(
        target,
        operator,
        &assume_policy,
        &allow_assume(&operator_account, &service_role),
    )
    .await?;
    attach(
        target,
        operator,
        pb::TargetKind::User,
        &service_user,
        &assume_policy,
    )
    .await?;
    for arn in [
        format!("acs:ram::{operator_account}:user/{service_user}"),
        format!("acs:ram::{operator_account}:role/{service_role}"),
    ] {
        let _: pb::WriteResult = target
            .call(
                operator,
                GRANT,
                &pb::GrantPlatformAuthorizeRequest { principal_arn: arn },
            )
            .await?;
    }
    let service_token = assume(
        target,
        &service_key,
        &operator_account,
        &service_role,
        "bench-service",
    )
    .await?;

    let semaphore = Arc::new(tokio::sync::Semaphore::new(parallel.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for index in 0..scale.accounts {
        let target = target.clone();
        let operator = operator.clone();
        let semaphore = Arc::clone(&semaphore);
        tasks.spawn(async move {
            let _permit = semaphore.acquire_owned().await?;
            let tenant = seed_tenant(target, operator, index, scale).await?;
            anyhow::Ok((index, tenant))
        });
    }
    let mut tenants = Vec::with_capacity(scale.accounts);
    while let Some(joined) = tasks.join_next().await {
        tenants.push(joined??);
    }
    tenants.sort_by_key(|(index, _)| *index);
    Ok(Seeded {
        service_key,
        service_token,
        tenants: tenants.into_iter().map(|(_, t)| t).collect(),
    })
}
