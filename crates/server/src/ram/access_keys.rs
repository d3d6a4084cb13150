//! Access keys: `CreateAccessKey` (the secret is in its response and nowhere else, ever),
//! `UpdateAccessKey` (`Active`/`Inactive`), `DeleteAccessKey`, `ListAccessKeys`,
//! `GetAccessKeyLastUsed`.
//!
//! Every operation acts on the keys of the named user or, with an empty `UserName`, on the
//! caller's own: a root caller's own keys are the root identity's, a RAM user's its own (a role
//! session must name the user: `MissingUserName`, from the operations table). Authorization is
//! on that user's ARN (the root's for its own keys), so a grant on a user's own ARN lets that
//! user manage its own keys.
//!
//! A new secret is sealed under [`access_key_context`] — what the authenticator opens it with —
//! so the key signs requests as soon as the write commits. Deactivating or deleting a key
//! appends an access-key change that evicts the authenticator's cached copy on every replica.

use tessera_credentials::sts::new_long_term_access_key;
use tessera_iam::Caller;
use tessera_proto::v1 as pb;
use tessera_store::{AccessKeyStatus, KeyStore as _, NewAccessKey};
use tonic::{Request, Response, Status};

use super::*;
use crate::bootstrap::access_key_context;

/// Whose keys a request with `user_name` addresses: the named user, else the caller's own
/// (`None`: the root identity's).
fn key_owner<T>(request: &Request<T>, user_name: &str) -> Result<Option<String>, Status> {
    if !user_name.is_empty() {
        return Ok(Some(user_name.to_owned()));
    }
    match &*authenticated(request)?.caller {
        Caller::Root { .. } => Ok(None),
        Caller::User { name, .. } => Ok(Some(name.clone())),
        // The operations table refuses these first; kept total for safety.
        _ => Err(err(Error::missing("UserName"))),
    }
}

fn access_key(k: tessera_store::AccessKey) -> pb::AccessKey {
    pb::AccessKey {
        access_key_id: k.id,
        status: k.status.as_str().to_owned(),
        create_date: Some(timestamp(k.created_at)),
    }
}

fn required<'a>(value: &'a str, field: &str) -> Result<&'a str, Status> {
    if value.is_empty() {
        Err(err(Error::missing(field)))
    } else {
        Ok(value)
    }
}

pub(super) async fn create_access_key(
    svc: &RamService,
    request: Request<pb::CreateAccessKeyRequest>,
) -> Result<Response<pb::CreateAccessKeyResponse>, Status> {
    let user_name = &request.get_ref().user_name;
    let account = svc
        .authorize(&request, "CreateAccessKey", &user_target(user_name))
        .await?;
    let owner = key_owner(&request, user_name)?;
    let pair = new_long_term_access_key(&mut rand::rng());
    let sealed_secret = svc
        .sealer
        .seal(&pair.secret, &access_key_context(&pair.id))
        .map_err(|e| {
            tracing::error!(error = %e, "sealing a new access key secret failed");
            err(Error::internal())
        })?;
    let committed = svc
        .store()
        .create_access_key(
            &account,
            owner.as_deref(),
            &NewAccessKey {
                id: pair.id,
                sealed_secret,
            },
        )
        .await
        .map_err(err)?;
    // Secrets are ASCII alphanumerics; the lossy conversion never replaces anything.
    let access_key_secret = String::from_utf8_lossy(pair.secret.expose()).into_owned();
    Ok(Response::new(pb::CreateAccessKeyResponse {
        access_key: Some(access_key(committed.value)),
        access_key_secret,
        revision: revision(committed.revision),
    }))
}

pub(super) async fn update_access_key(
    svc: &RamService,
    request: Request<pb::UpdateAccessKeyRequest>,
) -> Result<Response<pb::AccessKeyResponse>, Status> {
    let req = request.get_ref();
    let account = svc
        .authorize(&request, "UpdateAccessKey", &user_target(&req.user_name))
        .await?;
    let owner = key_owner(&request, &req.user_name)?;
    let key_id = required(&req.user_access_key_id, "UserAccessKeyId")?;
    let status = AccessKeyStatus::parse(required(&req.status, "Status")?).map_err(err)?;
    let committed = svc
        .store()
        .update_access_key_status(&account, owner.as_deref(), key_id, status)
        .await
        .map_err(err)?;
    Ok(Response::new(pb::AccessKeyResponse {
        access_key: Some(access_key(committed.value)),
        revision: revision(committed.revision),
    }))
}

pub(super) async fn delete_access_key(
    svc: &RamService,
    request: Request<pb::AccessKeyRef>,
) -> Result<Response<pb::WriteResult>, Status> {
    let req = request.get_ref();
    let account = svc
        .authorize(&request, "DeleteAccessKey", &user_target(&req.user_name))
        .await?;
    let owner = key_owner(&request, &req.user_name)?;
    let key_id = required(&req.user_access_key_id, "UserAccessKeyId")?;
    let committed = svc
        .store()
        .delete_access_key(&account, owner.as_deref(), key_id)
        .await
        .map_err(err)?;
    Ok(write_result(committed.revision))
}

pub(super) async fn list_access_keys(
    svc: &RamService,
    request: Request<pb::CreateAccessKeyRequest>,
) -> Result<Response<pb::ListAccessKeysResponse>, Status> {
    let user_name = &request.get_ref().user_name;
    let account = svc
        .authorize(&request, "ListAccessKeys", &user_target(user_name))
        .await?;
    let owner = key_owner(&request, user_name)?;
    let keys = svc
        .store()
        .list_access_keys(&account, owner.as_deref())
        .await
        .map_err(err)?;
    Ok(Response::new(pb::ListAccessKeysResponse {
        access_keys: keys.into_iter().map(access_key).collect(),
    }))
}

pub(super) async fn get_access_key_last_used(
    svc: &RamService,
    request: Request<pb::AccessKeyRef>,
) -> Result<Response<pb::AccessKeyLastUsedResponse>, Status> {
    let req = request.get_ref();
    let account = svc
        .authorize(
            &request,
            "GetAccessKeyLastUsed",
            &user_target(&req.user_name),
        )
        .await?;
    let owner = key_owner(&request, &req.user_name)?;
    let key_id = required(&req.user_access_key_id, "UserAccessKeyId")?;
    let last_used = svc
        .store()
        .get_access_key_last_used(&account, owner.as_deref(), key_id)
        .await
        .map_err(err)?;
    Ok(Response::new(pb::AccessKeyLastUsedResponse {
        last_used_date: last_used.map(timestamp),
    }))
}
