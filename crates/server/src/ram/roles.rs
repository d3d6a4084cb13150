//! Roles: `CreateRole`, `GetRole`, `UpdateRole` (trust policy too), `DeleteRole`, `ListRoles`, `RevokeRoleSessions`.

use tessera_proto::v1 as pb;
use tonic::{Request, Response, Status};

use super::*;

pub(super) async fn create_role(
    _svc: &RamService,
    _request: Request<pb::CreateRoleRequest>,
) -> Result<Response<pb::RoleResponse>, Status> {
    Err(unimplemented("CreateRole"))
}

pub(super) async fn get_role(
    _svc: &RamService,
    _request: Request<pb::GetRoleRequest>,
) -> Result<Response<pb::RoleResponse>, Status> {
    Err(unimplemented("GetRole"))
}

pub(super) async fn update_role(
    _svc: &RamService,
    _request: Request<pb::UpdateRoleRequest>,
) -> Result<Response<pb::RoleResponse>, Status> {
    Err(unimplemented("UpdateRole"))
}

pub(super) async fn delete_role(
    _svc: &RamService,
    _request: Request<pb::GetRoleRequest>,
) -> Result<Response<pb::WriteResult>, Status> {
    Err(unimplemented("DeleteRole"))
}

pub(super) async fn list_roles(
    _svc: &RamService,
    _request: Request<pb::ListRequest>,
) -> Result<Response<pb::ListRolesResponse>, Status> {
    Err(unimplemented("ListRoles"))
}

pub(super) async fn revoke_role_sessions(
    _svc: &RamService,
    _request: Request<pb::GetRoleRequest>,
) -> Result<Response<pb::RoleResponse>, Status> {
    Err(unimplemented("RevokeRoleSessions"))
}
