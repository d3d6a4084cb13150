//! The `tessera.v1.Sts` service: `GetCallerIdentity` and `GetJwks`. `AssumeRole` and `SignIn`
//! are not implemented yet (`UNIMPLEMENTED`).

use tessera_iam::Caller;
use tessera_proto::v1 as pb;
use tessera_store::{SqlStore, SystemStore as _};
use tonic::{Request, Response, Status};

use crate::caller::authenticated;

/// The Sts service. Every method but `SignIn` runs behind [`crate::auth::AuthLayer`].
#[derive(Debug, Clone)]
pub struct StsService {
    store: SqlStore,
}

impl StsService {
    pub fn new(store: SqlStore) -> StsService {
        StsService { store }
    }
}

/// `GetCallerIdentity`'s answer for `caller`.
pub fn caller_identity(caller: &Caller) -> pb::GetCallerIdentityResponse {
    let account_id = caller
        .account()
        .map(|a| a.as_str().to_owned())
        .unwrap_or_default();
    let (identity_type, principal_id, user_id, role_id) = match caller {
        // As STS answers for a root identity: the account id is its principal and user id.
        Caller::Root { account } => (
            "Account",
            account.as_str().to_owned(),
            account.as_str().to_owned(),
            String::new(),
        ),
        Caller::User { user_id, .. } => {
            ("RAMUser", user_id.clone(), user_id.clone(), String::new())
        }
        Caller::RoleSession {
            role_id,
            session_name,
            ..
        } => (
            "AssumedRoleUser",
            format!("{role_id}:{session_name}"),
            String::new(),
            role_id.clone(),
        ),
        Caller::Service { name } => ("Service", name.clone(), String::new(), String::new()),
        Caller::Federated { provider } => {
            ("Federated", provider.clone(), String::new(), String::new())
        }
    };
    pb::GetCallerIdentityResponse {
        principal: Some(pb::Principal {
            arn: caller.arn(),
            account_id,
            identity_type: identity_type.to_owned(),
            principal_id,
        }),
        user_id,
        role_id,
    }
}

#[tonic::async_trait]
impl pb::sts_server::Sts for StsService {
    async fn assume_role(
        &self,
        request: Request<pb::AssumeRoleRequest>,
    ) -> Result<Response<pb::AssumeRoleResponse>, Status> {
        authenticated(&request)?;
        Err(Status::unimplemented(
            "NotImplemented: AssumeRole is not implemented by this server yet.",
        ))
    }

    async fn get_caller_identity(
        &self,
        request: Request<pb::GetCallerIdentityRequest>,
    ) -> Result<Response<pb::GetCallerIdentityResponse>, Status> {
        let caller = authenticated(&request)?;
        Ok(Response::new(caller_identity(&caller.caller)))
    }

    async fn get_jwks(
        &self,
        request: Request<pb::GetJwksRequest>,
    ) -> Result<Response<pb::GetJwksResponse>, Status> {
        let caller = authenticated(&request)?;
        let keys = self
            .store
            .list_signing_keys()
            .await
            .map_err(|e| Status::unavailable(format!("{}: {}", e.code(), e.message())))?;
        let public = crate::http::verification_keys(&keys, caller.received_at);
        Ok(Response::new(pb::GetJwksResponse {
            jwks_json: tessera_credentials::token::jwks(&public),
        }))
    }

    async fn sign_in(
        &self,
        _request: Request<pb::SignInRequest>,
    ) -> Result<Response<pb::SignInResponse>, Status> {
        Err(Status::unimplemented(
            "NotImplemented: SignIn is not implemented by this server yet.",
        ))
    }
}
