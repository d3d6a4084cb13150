#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! The `tessera.v1.Operator` service end to end, on SQLite and PostgreSQL: the generated
//! clients over signed channels against `tessera_server::run`.

mod support;

use std::time::{Duration, Instant};

use support::{Backend, SignedChannel, TestServer, assert_code};
use tessera_credentials::Secret;
use tessera_proto::v1 as pb;
use tessera_proto::v1::operator_client::OperatorClient;
use tessera_proto::v1::ram_client::RamClient;
use tessera_proto::v1::sts_client::StsClient;
use tessera_store::{
    AccountId, NewPolicy, NewRole, OperatorStore as _, PolicyStore as _, PolicyType,
    RoleStore as _, SigningKeyStatus, SystemStore as _, Target,
};
use tonic::Code;

/// `both!(scenario, …)`: for each `async fn scenario(&TestServer)`, one test per backend
/// (`sqlite::scenario`, `postgres::scenario`), each on a fresh server.
macro_rules! both {
    ($($scenario:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    let server = crate::TestServer::start(crate::Backend::Sqlite, "unused").await;
                    super::$scenario(&server).await;
                    server.stop().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    let server =
                        crate::TestServer::start(crate::Backend::Postgres, "tessera_operator").await;
                    super::$scenario(&server).await;
                    server.stop().await;
                }
            )*
        }
    };
}

both!(
    accounts_are_created_read_and_listed,
    new_accounts_are_tenants_not_operators,
    suspension_stops_an_accounts_keys,
    quotas_are_set_and_reset,
    signing_key_rotation_publishes_both_keys,
    platform_authorize_grants,
    operator_users_need_tessera_policies,
    accounts_never_see_each_other,
);

/// Retries `$check` (an expression that may `.await`) until it is true; fails after 10 s.
/// For effects that travel through the change feed.
macro_rules! eventually {
    ($what:expr, $check:expr) => {{
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if $check {
                break;
            }
            assert!(Instant::now() < deadline, "not within 10 s: {}", $what);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }};
}

fn operator(channel: &SignedChannel) -> OperatorClient<SignedChannel> {
    OperatorClient::new(channel.clone())
}

fn ram(channel: &SignedChannel) -> RamClient<SignedChannel> {
    RamClient::new(channel.clone())
}

/// An account created through the API, with a channel signed by its root key.
struct Tenant {
    account: pb::Account,
    id: AccountId,
    key_id: String,
    root: SignedChannel,
}

async fn create_account(server: &TestServer, name: &str) -> Tenant {
    let created = operator(&server.root)
        .create_account(pb::CreateAccountRequest { name: name.into() })
        .await
        .unwrap()
        .into_inner();
    let account = created.account.unwrap();
    let secret = Secret::from(created.root_access_key_secret.as_str());
    Tenant {
        id: AccountId::parse(&account.account_id).unwrap(),
        root: server.signed(&created.root_access_key_id, &secret),
        key_id: created.root_access_key_id,
        account,
    }
}

fn get(account_id: &str) -> pb::GetAccountRequest {
    pb::GetAccountRequest {
        account_id: account_id.into(),
    }
}

fn set_status(account_id: &str, status: &str) -> pb::SetAccountStatusRequest {
    pb::SetAccountStatusRequest {
        account_id: account_id.into(),
        status: status.into(),
    }
}

fn grant(arn: &str) -> pb::GrantPlatformAuthorizeRequest {
    pb::GrantPlatformAuthorizeRequest {
        principal_arn: arn.into(),
    }
}

fn list(marker: &str, max_items: u32) -> pb::ListAccountsRequest {
    pb::ListAccountsRequest {
        page: Some(pb::Page {
            marker: marker.into(),
            max_items,
        }),
    }
}

async fn create_user(
    channel: &SignedChannel,
    name: &str,
) -> Result<pb::UserResponse, tonic::Status> {
    ram(channel)
        .create_user(pb::CreateUserRequest {
            user_name: name.into(),
            ..Default::default()
        })
        .await
        .map(tonic::Response::into_inner)
}

async fn caller_identity(channel: &SignedChannel) -> Result<pb::Principal, tonic::Status> {
    StsClient::new(channel.clone())
        .get_caller_identity(pb::GetCallerIdentityRequest {})
        .await
        .map(|r| r.into_inner().principal.unwrap())
}

/// Every Operator RPC refuses `channel`, a caller of another account than the operator's,
/// with `NoPermission`, even with malformed parameters (so it learns nothing about accounts).
async fn refused_everything(channel: &SignedChannel, some_account: &str) {
    refused_well_formed(channel, some_account).await;
    #[track_caller]
    fn denied<T>(result: Result<tonic::Response<T>, tonic::Status>) {
        assert_code(result.map(|_| ()), Code::PermissionDenied, "NoPermission");
    }
    let mut op = operator(channel);
    denied(op.create_account(pb::CreateAccountRequest::default()).await);
    denied(op.get_account(get("not-an-id")).await);
    denied(op.set_account_status(set_status("", "")).await);
    denied(op.list_accounts(list("", 5000)).await);
    denied(op.grant_platform_authorize(grant("")).await);
    denied(op.revoke_platform_authorize(grant("garbage")).await);
}

/// Every Operator RPC with well-formed parameters refuses `channel` with `NoPermission`.
/// (A principal of the operator's account learns of malformed parameters first, as RAM's
/// callers do.)
async fn refused_well_formed(channel: &SignedChannel, some_account: &str) {
    #[track_caller]
    fn denied<T>(result: Result<tonic::Response<T>, tonic::Status>) {
        assert_code(result.map(|_| ()), Code::PermissionDenied, "NoPermission");
    }
    let mut op = operator(channel);
    denied(
        op.create_account(pb::CreateAccountRequest { name: "x".into() })
            .await,
    );
    denied(op.get_account(get(some_account)).await);
    denied(op.get_account(get("1999999999999999")).await);
    denied(op.list_accounts(pb::ListAccountsRequest::default()).await);
    denied(
        op.set_account_status(set_status(some_account, "Suspended"))
            .await,
    );
    denied(
        op.set_account_quota(pb::SetAccountQuotaRequest {
            account_id: some_account.into(),
            name: "UsersQuota".into(),
            value: Some(1),
        })
        .await,
    );
    denied(op.rotate_signing_key(pb::RotateSigningKeyRequest {}).await);
    let arn = format!("acs:ram::{some_account}:user/nobody");
    denied(op.grant_platform_authorize(grant(&arn)).await);
    denied(op.revoke_platform_authorize(grant(&arn)).await);
}

async fn accounts_are_created_read_and_listed(server: &TestServer) {
    let mut op = operator(&server.root);
    let acme = create_account(server, "Acme Corp").await;
    assert_eq!(acme.account.name, "Acme Corp");
    assert_eq!(acme.account.status, "Active");
    assert_eq!(acme.account.alias, "");
    assert_eq!(acme.account.account_id.len(), 16);
    assert!(acme.account.create_date.is_some());
    assert!(acme.account.revision > 0);
    assert!(acme.key_id.starts_with("LTAI"), "{}", acme.key_id);
    assert_ne!(acme.id, server.operator);

    let read = op
        .get_account(get(acme.id.as_str()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        read,
        pb::Account {
            revision: 0,
            ..acme.account.clone()
        }
    );
    let own = op
        .get_account(get(server.operator.as_str()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(own.name, "operator");

    // CreateAccount's and GetAccount's parameter errors.
    assert_code(
        op.create_account(pb::CreateAccountRequest::default()).await,
        Code::InvalidArgument,
        "MissingAccountName",
    );
    assert_code(
        op.create_account(pb::CreateAccountRequest {
            name: "n".repeat(65),
        })
        .await,
        Code::InvalidArgument,
        "InvalidParameter.AccountName.Length",
    );
    assert_code(
        op.create_account(pb::CreateAccountRequest {
            name: "bad\nname".into(),
        })
        .await,
        Code::InvalidArgument,
        "InvalidParameter.AccountName.InvalidChars",
    );
    assert_code(
        op.get_account(get("")).await,
        Code::InvalidArgument,
        "MissingAccountId",
    );
    assert_code(
        op.get_account(get("12345")).await,
        Code::InvalidArgument,
        "InvalidParameter.AccountId.Format",
    );
    assert_code(
        op.get_account(get("1999999999999999")).await,
        Code::NotFound,
        "EntityNotExist.Account",
    );

    // Paging visits every account once: the operator's and the new ones.
    let globex = create_account(server, "Globex").await;
    let initech = create_account(server, "Initech").await;
    let mut seen = Vec::new();
    let mut marker = String::new();
    loop {
        let page = op
            .list_accounts(list(&marker, 2))
            .await
            .unwrap()
            .into_inner();
        assert!(page.accounts.len() <= 2);
        seen.extend(page.accounts.into_iter().map(|a| a.account_id));
        if !page.is_truncated {
            assert_eq!(page.marker, "");
            break;
        }
        marker = page.marker;
    }
    let mut expected: Vec<String> = [&server.operator, &acme.id, &globex.id, &initech.id]
        .iter()
        .map(|a| a.as_str().to_owned())
        .collect();
    expected.sort();
    assert_eq!(seen, expected);
    let all = op
        .list_accounts(pb::ListAccountsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.accounts.len(), 4);
    assert!(!all.is_truncated);
    assert_code(
        op.list_accounts(list("", 1001)).await,
        Code::InvalidArgument,
        "InvalidParameter.MaxItems.Range",
    );
}

async fn new_accounts_are_tenants_not_operators(server: &TestServer) {
    let tenant = create_account(server, "Tenant").await;
    // The root key works and is the new account's root.
    let identity = caller_identity(&tenant.root).await.unwrap();
    assert_eq!(identity.identity_type, "Account");
    assert_eq!(identity.account_id, tenant.id.as_str());
    assert_eq!(identity.arn, tenant.id.root_arn());
    // It administers its own account…
    let user = create_user(&tenant.root, "alice").await.unwrap();
    assert_eq!(user.user.unwrap().user_name, "alice");
    // …and nothing of the platform's.
    refused_everything(&tenant.root, tenant.id.as_str()).await;
    refused_everything(&tenant.root, server.operator.as_str()).await;
    // Its RAM users neither, even with every permission of their account.
    server
        .store
        .attach_policy(
            &tenant.id,
            Target::User("alice"),
            PolicyType::System,
            "AdministratorAccess",
        )
        .await
        .unwrap();
    let (_, _, alice) = server.key_for(&tenant.id, Some("alice")).await;
    create_user(&alice, "by-alice").await.unwrap();
    refused_everything(&alice, tenant.id.as_str()).await;
}

async fn suspension_stops_an_accounts_keys(server: &TestServer) {
    let mut op = operator(&server.root);
    let tenant = create_account(server, "Suspendable").await;
    // Used once, so the authentication layer has the key cached.
    caller_identity(&tenant.root).await.unwrap();

    let suspended = op
        .set_account_status(set_status(tenant.id.as_str(), "Suspended"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(suspended.status, "Suspended");
    assert!(suspended.revision > tenant.account.revision);
    eventually!(
        "the suspended account's root key is refused",
        match caller_identity(&tenant.root).await {
            Ok(_) => false,
            Err(status) => {
                assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
                assert!(
                    status
                        .message()
                        .starts_with("InvalidAccessKeyId.Inactive: "),
                    "{status:?}"
                );
                true
            }
        }
    );
    assert_code(
        create_user(&tenant.root, "bob").await,
        Code::Unauthenticated,
        "InvalidAccessKeyId.Inactive",
    );
    assert_eq!(
        op.get_account(get(tenant.id.as_str()))
            .await
            .unwrap()
            .into_inner()
            .status,
        "Suspended"
    );

    let active = op
        .set_account_status(set_status(tenant.id.as_str(), "Active"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(active.status, "Active");
    eventually!(
        "the reactivated account's root key works",
        caller_identity(&tenant.root).await.is_ok()
    );

    // Errors: parameters, an unknown account, and the operator's own account.
    assert_code(
        op.set_account_status(set_status(tenant.id.as_str(), ""))
            .await,
        Code::InvalidArgument,
        "MissingStatus",
    );
    assert_code(
        op.set_account_status(set_status(tenant.id.as_str(), "Paused"))
            .await,
        Code::InvalidArgument,
        "InvalidParameter.Status",
    );
    assert_code(
        op.set_account_status(set_status("", "Active")).await,
        Code::InvalidArgument,
        "MissingAccountId",
    );
    assert_code(
        op.set_account_status(set_status("1999999999999999", "Suspended"))
            .await,
        Code::NotFound,
        "EntityNotExist.Account",
    );
    assert_code(
        op.set_account_status(set_status(server.operator.as_str(), "Suspended"))
            .await,
        Code::FailedPrecondition,
        "OperationDenied.OperatorAccount",
    );
    let still = op
        .set_account_status(set_status(server.operator.as_str(), "Active"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(still.status, "Active");
    caller_identity(&server.root).await.unwrap();
}

async fn quotas_are_set_and_reset(server: &TestServer) {
    let mut op = operator(&server.root);
    let tenant = create_account(server, "Small").await;
    let quota = |value: Option<u32>| pb::SetAccountQuotaRequest {
        account_id: tenant.id.as_str().into(),
        name: "UsersQuota".into(),
        value,
    };
    let set = op
        .set_account_quota(quota(Some(1)))
        .await
        .unwrap()
        .into_inner();
    assert!(set.revision > 0);
    create_user(&tenant.root, "one").await.unwrap();
    assert_code(
        create_user(&tenant.root, "two").await,
        Code::ResourceExhausted,
        "LimitExceeded.User",
    );
    // Absent value: back to the deployment default.
    let reset = op
        .set_account_quota(quota(None))
        .await
        .unwrap()
        .into_inner();
    assert!(reset.revision > set.revision);
    create_user(&tenant.root, "two").await.unwrap();

    let with = |account_id: &str, name: &str| pb::SetAccountQuotaRequest {
        account_id: account_id.into(),
        name: name.into(),
        value: Some(5),
    };
    assert_code(
        op.set_account_quota(with(tenant.id.as_str(), "")).await,
        Code::InvalidArgument,
        "MissingQuotaName",
    );
    assert_code(
        op.set_account_quota(with(tenant.id.as_str(), "usersquota"))
            .await,
        Code::InvalidArgument,
        "InvalidParameter.QuotaName",
    );
    assert_code(
        op.set_account_quota(with("x", "UsersQuota")).await,
        Code::InvalidArgument,
        "InvalidParameter.AccountId.Format",
    );
    assert_code(
        op.set_account_quota(with("1999999999999999", "UsersQuota"))
            .await,
        Code::NotFound,
        "EntityNotExist.Account",
    );
}

async fn jwks_kids(channel: &SignedChannel) -> Vec<String> {
    let jwks = StsClient::new(channel.clone())
        .get_jwks(pb::GetJwksRequest {})
        .await
        .unwrap()
        .into_inner()
        .jwks_json;
    let json: serde_json::Value = serde_json::from_str(&jwks).unwrap();
    let mut kids: Vec<String> = json["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    kids.sort();
    kids
}

async fn signing_key_rotation_publishes_both_keys(server: &TestServer) {
    let mut op = operator(&server.root);
    let before = server.store.list_signing_keys().await.unwrap();
    assert_eq!(before.len(), 1);
    let first = before[0].kid.clone();
    assert_eq!(jwks_kids(&server.root).await, vec![first.clone()]);

    let rotated = op
        .rotate_signing_key(pb::RotateSigningKeyRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_ne!(rotated.kid, first);
    assert!(rotated.revision > 0);
    let keys = server.store.list_signing_keys().await.unwrap();
    let state: Vec<_> = keys.iter().map(|k| (k.kid.clone(), k.status)).collect();
    assert_eq!(
        state,
        vec![
            (first.clone(), SigningKeyStatus::Retired),
            (rotated.kid.clone(), SigningKeyStatus::Active),
        ]
    );
    assert!(keys[0].retired_at.is_some());
    // The retired key stays published (its tokens still verify) next to the new one.
    let mut expected = vec![first.clone(), rotated.kid.clone()];
    expected.sort();
    assert_eq!(jwks_kids(&server.root).await, expected);

    let again = op
        .rotate_signing_key(pb::RotateSigningKeyRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(again.revision > rotated.revision);
    let active: Vec<_> = server
        .store
        .list_signing_keys()
        .await
        .unwrap()
        .into_iter()
        .filter(|k| k.status == SigningKeyStatus::Active)
        .map(|k| k.kid)
        .collect();
    assert_eq!(active, vec![again.kid.clone()]);
    assert_eq!(jwks_kids(&server.root).await.len(), 3);
}

async fn platform_authorize_grants(server: &TestServer) {
    let mut op = operator(&server.root);
    let tenant = create_account(server, "Services").await;
    create_user(&tenant.root, "gateway").await.unwrap();
    server
        .store
        .create_role(
            &tenant.id,
            &NewRole {
                name: "Checker".into(),
                trust_policy: format!(
                    r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{{"RAM":["{}"]}}}}]}}"#,
                    tenant.id.root_arn()
                ),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let user_arn = format!("acs:ram::{}:user/gateway", tenant.id);
    let role_arn = format!("acs:ram::{}:role/Checker", tenant.id);

    let granted = op
        .grant_platform_authorize(grant(&user_arn))
        .await
        .unwrap()
        .into_inner();
    assert!(granted.revision > 0);
    let role_granted = op
        .grant_platform_authorize(grant(&role_arn))
        .await
        .unwrap()
        .into_inner();
    assert!(role_granted.revision > granted.revision);
    assert!(
        server
            .store
            .has_platform_authorize(&user_arn)
            .await
            .unwrap()
    );
    assert!(
        server
            .store
            .has_platform_authorize(&role_arn)
            .await
            .unwrap()
    );
    assert_code(
        op.grant_platform_authorize(grant(&user_arn)).await,
        Code::AlreadyExists,
        "EntityAlreadyExists.PlatformGrant",
    );

    let revoked = op
        .revoke_platform_authorize(grant(&user_arn))
        .await
        .unwrap()
        .into_inner();
    assert!(revoked.revision > role_granted.revision);
    assert!(
        !server
            .store
            .has_platform_authorize(&user_arn)
            .await
            .unwrap()
    );
    assert!(
        server
            .store
            .has_platform_authorize(&role_arn)
            .await
            .unwrap()
    );
    assert_code(
        op.revoke_platform_authorize(grant(&user_arn)).await,
        Code::NotFound,
        "EntityNotExist.PlatformGrant",
    );

    let in_tenant = |rest: &str| format!("acs:ram::{}:{rest}", tenant.id);
    let cases = [
        (String::new(), Code::InvalidArgument, "MissingPrincipalArn"),
        (
            tenant.id.root_arn(),
            Code::InvalidArgument,
            "InvalidParameter.PrincipalArn.Format",
        ),
        (
            in_tenant("group/dev"),
            Code::InvalidArgument,
            "InvalidParameter.PrincipalArn.Format",
        ),
        (
            "acs:ram::1999999999999999:user/gateway".to_owned(),
            Code::NotFound,
            "EntityNotExist.Account",
        ),
        (
            in_tenant("user/nobody"),
            Code::NotFound,
            "EntityNotExist.User",
        ),
        (
            in_tenant("role/nobody"),
            Code::NotFound,
            "EntityNotExist.Role",
        ),
    ];
    for (arn, code, ram_code) in cases {
        assert_code(
            op.grant_platform_authorize(grant(&arn)).await,
            code,
            ram_code,
        );
        assert_code(
            op.revoke_platform_authorize(grant(&arn)).await,
            code,
            ram_code,
        );
    }
}

async fn attach(server: &TestServer, user: &str, name: &str, statement: &str) {
    server
        .store
        .create_policy(
            &server.operator,
            &NewPolicy {
                name: name.into(),
                document: format!(r#"{{"Version":"1","Statement":[{statement}]}}"#),
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
            name,
        )
        .await
        .unwrap();
}

async fn operator_users_need_tessera_policies(server: &TestServer) {
    let b = create_account(server, "B").await;
    let c = create_account(server, "C").await;
    create_user(&server.root, "ops").await.unwrap();
    let (_, _, ops) = server.key_for(&server.operator, Some("ops")).await;
    let mut op = operator(&ops);

    // Without a policy: nothing.
    refused_well_formed(&ops, b.id.as_str()).await;

    // `tessera:ListAccounts` on the operator's platform resource: may list, nothing more.
    let platform = format!("acs:tessera::{}:*", server.operator);
    attach(
        server,
        "ops",
        "ListAccounts",
        &format!(r#"{{"Effect":"Allow","Action":"tessera:ListAccounts","Resource":"{platform}"}}"#),
    )
    .await;
    eventually!(
        "the attached policy lets ops list accounts",
        op.list_accounts(pb::ListAccountsRequest::default())
            .await
            .is_ok()
    );
    let listed = op
        .list_accounts(pb::ListAccountsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.accounts.len(), 3);
    assert_code(
        op.get_account(get(b.id.as_str())).await,
        Code::PermissionDenied,
        "NoPermission",
    );
    assert_code(
        op.create_account(pb::CreateAccountRequest { name: "D".into() })
            .await,
        Code::PermissionDenied,
        "NoPermission",
    );

    // A grant scoped to one account: that account only.
    attach(
        server,
        "ops",
        "ReadB",
        &format!(
            r#"{{"Effect":"Allow","Action":"tessera:GetAccount","Resource":"acs:tessera::{}:account/{}"}}"#,
            server.operator, b.id
        ),
    )
    .await;
    eventually!(
        "the scoped policy lets ops read account B",
        op.get_account(get(b.id.as_str())).await.is_ok()
    );
    assert_code(
        op.get_account(get(c.id.as_str())).await,
        Code::PermissionDenied,
        "NoPermission",
    );
    assert_code(
        op.set_account_status(set_status(b.id.as_str(), "Suspended"))
            .await,
        Code::PermissionDenied,
        "NoPermission",
    );
    // A grant naming the platform resource of another account grants nothing.
    attach(
        server,
        "ops",
        "Elsewhere",
        &format!(
            r#"{{"Effect":"Allow","Action":"tessera:RotateSigningKey","Resource":"acs:tessera::{}:*"}}"#,
            b.id
        ),
    )
    .await;
    // Nothing observable changes for ops with that one; a later attachment that does is the
    // sign both reached the cache (a change reloads the user's policies whole).
    attach(
        server,
        "ops",
        "Probe",
        &format!(
            r#"{{"Effect":"Allow","Action":"tessera:GetAccount","Resource":"acs:tessera::{}:account/{}"}}"#,
            server.operator, c.id
        ),
    )
    .await;
    eventually!(
        "the probe policy reaches the cache",
        op.get_account(get(c.id.as_str())).await.is_ok()
    );
    assert_code(
        op.rotate_signing_key(pb::RotateSigningKeyRequest {}).await,
        Code::PermissionDenied,
        "NoPermission",
    );
}

async fn accounts_never_see_each_other(server: &TestServer) {
    let a = create_account(server, "A").await;
    let b = create_account(server, "B").await;
    create_user(&a.root, "alice").await.unwrap();
    // B's root looks for A's user in its own account: it does not exist there.
    assert_code(
        ram(&b.root)
            .get_user(pb::GetUserRequest {
                user_name: "alice".into(),
            })
            .await,
        Code::NotFound,
        "EntityNotExist.User",
    );
    let listed = ram(&b.root)
        .list_users(pb::ListRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(listed.users.is_empty());
    // The same name in B is B's own user.
    let bobs_alice = create_user(&b.root, "alice").await.unwrap().user.unwrap();
    let as_a = ram(&a.root)
        .get_user(pb::GetUserRequest {
            user_name: "alice".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_ne!(as_a.user_id, bobs_alice.user_id);
    // Neither can read the other through the Operator service.
    refused_everything(&a.root, b.id.as_str()).await;
    refused_everything(&b.root, a.id.as_str()).await;
}
