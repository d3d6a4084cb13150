//! Policies, their versions and attachments.

use tessera_proto::v1 as pb;
use tonic::{Request, Response, Status};

use super::*;

pub(super) async fn create_policy(
    _svc: &RamService,
    _request: Request<pb::CreatePolicyRequest>,
) -> Result<Response<pb::PolicyResponse>, Status> {
    Err(unimplemented("CreatePolicy"))
}

pub(super) async fn get_policy(
    _svc: &RamService,
    _request: Request<pb::PolicyRef>,
) -> Result<Response<pb::PolicyResponse>, Status> {
    Err(unimplemented("GetPolicy"))
}

pub(super) async fn list_policies(
    _svc: &RamService,
    _request: Request<pb::ListPoliciesRequest>,
) -> Result<Response<pb::ListPoliciesResponse>, Status> {
    Err(unimplemented("ListPolicies"))
}

pub(super) async fn update_policy_description(
    _svc: &RamService,
    _request: Request<pb::UpdatePolicyDescriptionRequest>,
) -> Result<Response<pb::PolicyResponse>, Status> {
    Err(unimplemented("UpdatePolicyDescription"))
}

pub(super) async fn delete_policy(
    _svc: &RamService,
    _request: Request<pb::DeletePolicyRequest>,
) -> Result<Response<pb::WriteResult>, Status> {
    Err(unimplemented("DeletePolicy"))
}

pub(super) async fn create_policy_version(
    _svc: &RamService,
    _request: Request<pb::CreatePolicyVersionRequest>,
) -> Result<Response<pb::PolicyVersionResponse>, Status> {
    Err(unimplemented("CreatePolicyVersion"))
}

pub(super) async fn get_policy_version(
    _svc: &RamService,
    _request: Request<pb::PolicyVersionRef>,
) -> Result<Response<pb::PolicyVersionResponse>, Status> {
    Err(unimplemented("GetPolicyVersion"))
}

pub(super) async fn list_policy_versions(
    _svc: &RamService,
    _request: Request<pb::PolicyRef>,
) -> Result<Response<pb::ListPolicyVersionsResponse>, Status> {
    Err(unimplemented("ListPolicyVersions"))
}

pub(super) async fn set_default_policy_version(
    _svc: &RamService,
    _request: Request<pb::PolicyVersionRef>,
) -> Result<Response<pb::PolicyResponse>, Status> {
    Err(unimplemented("SetDefaultPolicyVersion"))
}

pub(super) async fn delete_policy_version(
    _svc: &RamService,
    _request: Request<pb::PolicyVersionRef>,
) -> Result<Response<pb::WriteResult>, Status> {
    Err(unimplemented("DeletePolicyVersion"))
}

pub(super) async fn attach_policy(
    _svc: &RamService,
    _request: Request<pb::AttachmentRequest>,
) -> Result<Response<pb::WriteResult>, Status> {
    Err(unimplemented("AttachPolicy"))
}

pub(super) async fn detach_policy(
    _svc: &RamService,
    _request: Request<pb::AttachmentRequest>,
) -> Result<Response<pb::WriteResult>, Status> {
    Err(unimplemented("DetachPolicy"))
}

pub(super) async fn list_policies_for(
    _svc: &RamService,
    _request: Request<pb::ListPoliciesForRequest>,
) -> Result<Response<pb::ListAttachedPoliciesResponse>, Status> {
    Err(unimplemented("ListPoliciesFor"))
}

pub(super) async fn list_entities_for_policy(
    _svc: &RamService,
    _request: Request<pb::PolicyRef>,
) -> Result<Response<pb::ListEntitiesForPolicyResponse>, Status> {
    Err(unimplemented("ListEntitiesForPolicy"))
}
