//! The `tessera.v1.Operator` service: the platform operator's API — tenant accounts (create
//! with a root access key, read, list, suspend/reactivate, per-account quotas), token-signing
//! key rotation, and platform-wide `Authorize` grants.
//!
//! Each call:
//! 1. takes the authenticated caller; a caller outside the platform operator's account
//!    (another tenant's root or user, a service) is refused with `NoPermission` before
//!    anything else is looked at, so nothing about accounts leaks to it (not even whether a
//!    parameter is well-formed);
//! 2. authorizes the operation's `tessera:` row of [`tessera_iam::OPERATIONS`] (resources
//!    `acs:tessera::<operator>:account/<AccountId>`, `…:account/*` or `…:*`, see
//!    [`tessera_iam::actions`]): the operator's root may do everything, its users and role
//!    sessions need policies allowing the action;
//! 3. calls the store and maps every domain error through [`crate::authorizer::status`].
//!
//! Decisions:
//! - `CreateAccount` creates the account and its root's access key in one store transaction
//!   ([`tessera_store::AccountStore::create_account_with_root_key`]): if the key cannot be stored, no
//!   account is left behind. The secret is in the answer only.
//! - The operator's own account cannot be suspended (`OperationDenied.OperatorAccount`,
//!   `FAILED_PRECONDITION`): that would lock the platform out of its own administration.
//! - Suspending an account takes effect through the change feed: the authentication layer's
//!   key cache drops the account's keys when the `Account` change arrives, and then refuses
//!   them (`InvalidAccessKeyId.Inactive`); token-authenticated calls read the status anyway.
//! - `RotateSigningKey` generates an Ed25519 key, seals it like bootstrap does, and stores it
//!   while retiring every active key, in one transaction
//!   ([`tessera_store::SystemStore::rotate_signing_key`]) at the request's time; retired keys stay published
//!   and verifying until their tokens have expired.

use jiff::Timestamp;
use tessera_credentials::Sealer;
use tessera_credentials::sts::new_long_term_access_key;
use tessera_credentials::token::SigningKey;
use tessera_iam::{AccountId, Error, QuotaName, Target, authorize_operation};
use tessera_policy::Permissions;
use tessera_proto::v1 as pb;
use tessera_proto::v1::operator_server::{Operator, OperatorServer};
use tessera_store::{
    AccountStatus, AccountStore as _, NewAccessKey, NewSigningKey, OperatorStore as _, Revision,
    SqlStore, SystemStore as _,
};
use tonic::{Request, Response, Status};

use crate::audit::AuditSink;
use crate::audit::record::{Noted, note};
use crate::authorizer::{caller_policies, status};
use crate::bootstrap::{SIGNING_ALGORITHM, access_key_context, signing_key_context};
use crate::caller::authenticated;
use crate::principals::PrincipalCache;

/// The `tessera.v1.Operator` service.
#[derive(Debug, Clone)]
pub struct OperatorService {
    cache: PrincipalCache,
    /// Seals new root access key secrets and signing keys at rest.
    sealer: Sealer,
    /// The platform operator's account: the only one whose principals may call.
    operator: AccountId,
    audit: AuditSink,
}

impl OperatorService {
    /// A service over `cache`'s store for the operator of `operator` (its callers'
    /// permissions are loaded through `cache`).
    pub fn new(cache: PrincipalCache, sealer: Sealer, operator: AccountId) -> OperatorService {
        OperatorService {
            cache,
            sealer,
            operator,
            audit: AuditSink::disabled(),
        }
    }

    /// Records mutations in `audit` (in the operator's account).
    #[must_use]
    pub fn with_audit(mut self, audit: AuditSink) -> OperatorService {
        self.audit = audit;
        self
    }

    /// The tonic service.
    pub fn into_server(self) -> OperatorServer<OperatorService> {
        OperatorServer::new(self)
    }

    fn store(&self) -> &SqlStore {
        self.cache.store()
    }

    /// Authorizes `operation` on `target` for the request's caller, who must belong to the
    /// operator's account; returns when the request was received.
    async fn authorize<T>(
        &self,
        request: &Request<T>,
        operation: &str,
        target: &Target<'_>,
    ) -> Result<Timestamp, Status> {
        let auth = authenticated(request)?;
        if auth.caller.account() != Some(&self.operator) {
            return Err(no_permission());
        }
        let row = tessera_iam::operation(operation).ok_or_else(|| {
            tracing::error!(operation, "no row in the operation table");
            status(&Error::internal())
        })?;
        if row.access == tessera_iam::Access::Write {
            note(request, || Noted::operation(row, &auth.caller, target));
        }
        let (own, session) = caller_policies(&self.cache, auth).await.map_err(err)?;
        let identity = crate::authorizer::identity_policies(own.as_ref());
        let permissions = Permissions::new(identity, session.as_deref());
        let context = auth.caller.context(&auth.facts());
        authorize_operation(row, &auth.caller, &permissions, target, &context)
            .inspect(|a| crate::telemetry::record_decision(row.action, a.decision))
            .and_then(tessera_iam::Authorization::require)
            .map_err(err)?;
        Ok(auth.received_at)
    }

    /// [`OperatorService::authorize`] of an operation on the account `account_id` (validated
    /// by the operation table: `MissingAccountId`, `InvalidParameter.AccountId.Format`).
    async fn authorize_on_account<T>(
        &self,
        request: &Request<T>,
        operation: &str,
        account_id: &str,
    ) -> Result<(Timestamp, AccountId), Status> {
        let target = Target {
            account_id: Some(account_id),
            ..Target::default()
        };
        let now = self.authorize(request, operation, &target).await?;
        let account = AccountId::parse(account_id).map_err(err)?;
        Ok((now, account))
    }
}

fn err(e: Error) -> Status {
    status(&e)
}

fn no_permission() -> Status {
    err(Error::no_permission(
        tessera_iam::authorize::NO_PERMISSION_MESSAGE,
    ))
}

/// Logs an unexpected failure (without data) and answers `InternalError`.
fn internal(context: &str, error: &dyn std::fmt::Display) -> Status {
    tracing::error!(context, %error, "operator request failed");
    err(Error::internal())
}

fn timestamp(t: Timestamp) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.as_second(),
        nanos: t.subsec_nanosecond(),
    }
}

fn revision(r: Revision) -> u64 {
    u64::try_from(r.0).unwrap_or(0)
}

fn account(a: tessera_store::Account, revision: u64) -> pb::Account {
    pb::Account {
        account_id: a.id.as_str().to_owned(),
        name: a.name,
        alias: a.alias.unwrap_or_default(),
        status: a.status.as_str().to_owned(),
        create_date: Some(timestamp(a.created_at)),
        revision,
    }
}

fn write_result(r: Revision) -> Response<pb::WriteResult> {
    Response::new(pb::WriteResult {
        revision: revision(r),
    })
}

fn quota_name(name: &str) -> Result<QuotaName, Error> {
    if name.is_empty() {
        return Err(Error::missing("QuotaName"));
    }
    QuotaName::parse(name).ok_or_else(|| {
        Error::invalid(
            "InvalidParameter.QuotaName",
            "The parameter - \"QuotaName\" must name a quota as GetAccountSummary does \
             (UsersQuota, GroupsQuota, …).",
        )
    })
}

/// The calls (the `Operator` impl below hands each request to the method of the same name here,
/// recording mutations in the audit trail).
impl OperatorService {
    async fn create_account(
        &self,
        request: Request<pb::CreateAccountRequest>,
    ) -> Result<Response<pb::CreateAccountResponse>, Status> {
        self.authorize(&request, "CreateAccount", &Target::default())
            .await?;
        let name = request.into_inner().name;
        if name.is_empty() {
            return Err(err(Error::missing("AccountName")));
        }
        let pair = new_long_term_access_key(&mut rand::rng());
        let sealed_secret = self
            .sealer
            .seal(&pair.secret, &access_key_context(&pair.id))
            .map_err(|e| internal("seal a root access key", &e))?;
        let secret = std::str::from_utf8(pair.secret.expose())
            .map_err(|e| internal("root access key secret", &e))?
            .to_owned();
        let committed = self
            .store()
            .create_account_with_root_key(
                &name,
                &NewAccessKey {
                    id: pair.id.clone(),
                    sealed_secret,
                },
            )
            .await
            .map_err(err)?;
        let (created, _) = committed.value;
        tracing::info!(
            account = %created.id.as_str(),
            access_key_id = %pair.id,
            "created an account and its root access key"
        );
        Ok(Response::new(pb::CreateAccountResponse {
            account: Some(account(created, revision(committed.revision))),
            root_access_key_id: pair.id,
            root_access_key_secret: secret,
        }))
    }

    async fn get_account(
        &self,
        request: Request<pb::GetAccountRequest>,
    ) -> Result<Response<pb::Account>, Status> {
        let (_, id) = self
            .authorize_on_account(&request, "GetAccount", &request.get_ref().account_id)
            .await?;
        let found = self.store().get_account(&id).await.map_err(err)?;
        Ok(Response::new(account(found, 0)))
    }

    async fn list_accounts(
        &self,
        request: Request<pb::ListAccountsRequest>,
    ) -> Result<Response<pb::ListAccountsResponse>, Status> {
        self.authorize(&request, "ListAccounts", &Target::default())
            .await?;
        let page = request.into_inner().page.unwrap_or_default();
        let page = tessera_store::Page {
            marker: Some(page.marker).filter(|m| !m.is_empty()),
            max_items: Some(page.max_items).filter(|m| *m != 0),
        };
        let listed = self.store().list_accounts(&page).await.map_err(err)?;
        Ok(Response::new(pb::ListAccountsResponse {
            accounts: listed.items.into_iter().map(|a| account(a, 0)).collect(),
            is_truncated: listed.is_truncated,
            marker: listed.marker.unwrap_or_default(),
        }))
    }

    async fn set_account_status(
        &self,
        request: Request<pb::SetAccountStatusRequest>,
    ) -> Result<Response<pb::Account>, Status> {
        let (_, id) = self
            .authorize_on_account(&request, "SetAccountStatus", &request.get_ref().account_id)
            .await?;
        let req = request.into_inner();
        if req.status.is_empty() {
            return Err(err(Error::missing("Status")));
        }
        let new_status = AccountStatus::parse(&req.status).map_err(err)?;
        if new_status == AccountStatus::Suspended && id == self.operator {
            return Err(err(Error::operation_denied(
                "OperatorAccount",
                "The platform operator's account cannot be suspended.",
            )));
        }
        let committed = self
            .store()
            .set_account_status(&id, new_status)
            .await
            .map_err(err)?;
        tracing::info!(account = %id.as_str(), status = new_status.as_str(), "account status set");
        Ok(Response::new(account(
            committed.value,
            revision(committed.revision),
        )))
    }

    async fn set_account_quota(
        &self,
        request: Request<pb::SetAccountQuotaRequest>,
    ) -> Result<Response<pb::WriteResult>, Status> {
        let (_, id) = self
            .authorize_on_account(&request, "SetAccountQuota", &request.get_ref().account_id)
            .await?;
        let req = request.into_inner();
        let name = quota_name(&req.name).map_err(err)?;
        let committed = self
            .store()
            .set_account_quota(&id, name, req.value)
            .await
            .map_err(err)?;
        Ok(write_result(committed.revision))
    }

    async fn rotate_signing_key(
        &self,
        request: Request<pb::RotateSigningKeyRequest>,
    ) -> Result<Response<pb::RotateSigningKeyResponse>, Status> {
        let now = self
            .authorize(&request, "RotateSigningKey", &Target::default())
            .await?;
        let key = SigningKey::generate(&mut rand::rng())
            .map_err(|e| internal("generate a signing key", &e))?;
        let sealed_private_key = self
            .sealer
            .seal(&key.to_pkcs8_der(), &signing_key_context(key.kid()))
            .map_err(|e| internal("seal a signing key", &e))?;
        let committed = self
            .store()
            .rotate_signing_key(
                &NewSigningKey {
                    kid: key.kid().to_owned(),
                    algorithm: SIGNING_ALGORITHM.to_owned(),
                    sealed_private_key,
                    public_key: key.public_key().as_bytes().to_vec(),
                },
                now,
            )
            .await
            .map_err(err)?;
        let (stored, retired) = committed.value;
        tracing::info!(kid = %stored.kid, ?retired, "rotated the token-signing key");
        Ok(Response::new(pb::RotateSigningKeyResponse {
            kid: stored.kid,
            revision: revision(committed.revision),
        }))
    }

    async fn grant_platform_authorize(
        &self,
        request: Request<pb::GrantPlatformAuthorizeRequest>,
    ) -> Result<Response<pb::WriteResult>, Status> {
        self.authorize(&request, "GrantPlatformAuthorize", &Target::default())
            .await?;
        let arn = request.into_inner().principal_arn;
        let committed = self
            .store()
            .grant_platform_authorize(&arn)
            .await
            .map_err(err)?;
        tracing::info!(principal = %committed.value.principal_arn, "granted platform-wide Authorize");
        Ok(write_result(committed.revision))
    }

    async fn revoke_platform_authorize(
        &self,
        request: Request<pb::GrantPlatformAuthorizeRequest>,
    ) -> Result<Response<pb::WriteResult>, Status> {
        self.authorize(&request, "RevokePlatformAuthorize", &Target::default())
            .await?;
        let arn = request.into_inner().principal_arn;
        let committed = self
            .store()
            .revoke_platform_authorize(&arn)
            .await
            .map_err(err)?;
        tracing::info!(principal = %arn, "revoked platform-wide Authorize");
        Ok(write_result(committed.revision))
    }
}

/// `impl Operator for OperatorService`: each call audited around the method of the same name.
macro_rules! audited {
    ($($method:ident($req:ident) -> $resp:ident;)*) => {
        #[tonic::async_trait]
        impl Operator for OperatorService {
            $(
                async fn $method(
                    &self,
                    mut request: Request<pb::$req>,
                ) -> Result<Response<pb::$resp>, Status> {
                    let audited = self.audit.begin(&mut request);
                    let result = OperatorService::$method(self, request).await;
                    self.audit.finish(audited, &result);
                    result
                }
            )*
        }
    };
}

audited! {
    create_account(CreateAccountRequest) -> CreateAccountResponse;
    get_account(GetAccountRequest) -> Account;
    list_accounts(ListAccountsRequest) -> ListAccountsResponse;
    set_account_status(SetAccountStatusRequest) -> Account;
    set_account_quota(SetAccountQuotaRequest) -> WriteResult;
    rotate_signing_key(RotateSigningKeyRequest) -> RotateSigningKeyResponse;
    grant_platform_authorize(GrantPlatformAuthorizeRequest) -> WriteResult;
    revoke_platform_authorize(GrantPlatformAuthorizeRequest) -> WriteResult;
}
