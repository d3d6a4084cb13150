//! Access keys: create (the secret is shown once), update status, delete, list, last used.

use tessera_proto::v1 as pb;
use tonic::{Request, Response, Status};

use super::*;

pub(super) async fn create_access_key(
    _svc: &RamService,
    _request: Request<pb::CreateAccessKeyRequest>,
) -> Result<Response<pb::CreateAccessKeyResponse>, Status> {
    Err(unimplemented("CreateAccessKey"))
}

pub(super) async fn update_access_key(
    _svc: &RamService,
    _request: Request<pb::UpdateAccessKeyRequest>,
) -> Result<Response<pb::AccessKeyResponse>, Status> {
    Err(unimplemented("UpdateAccessKey"))
}

pub(super) async fn delete_access_key(
    _svc: &RamService,
    _request: Request<pb::AccessKeyRef>,
) -> Result<Response<pb::WriteResult>, Status> {
    Err(unimplemented("DeleteAccessKey"))
}

pub(super) async fn list_access_keys(
    _svc: &RamService,
    _request: Request<pb::CreateAccessKeyRequest>,
) -> Result<Response<pb::ListAccessKeysResponse>, Status> {
    Err(unimplemented("ListAccessKeys"))
}

pub(super) async fn get_access_key_last_used(
    _svc: &RamService,
    _request: Request<pb::AccessKeyRef>,
) -> Result<Response<pb::AccessKeyLastUsedResponse>, Status> {
    Err(unimplemented("GetAccessKeyLastUsed"))
}
