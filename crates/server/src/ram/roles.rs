//! Roles: `CreateRole`, `GetRole`, `UpdateRole` (trust policy, description, session duration),
//! `DeleteRole`, `ListRoles`, and Tessera's `RevokeRoleSessions`.
//!
//! A role is answered with its ARN (`acs:ram::<account>:role/<name>`), id, trust policy as
//! submitted, `MaxSessionDuration` and dates. The store validates the name, description,
//! duration (3,600–43,200 s, 3,600 when 0/absent) and the trust policy (errors located at their
//! JSON line and column, `MalformedPolicyDocument`…), refuses a taken name
//! (`EntityAlreadyExists.Role`), the account's role quota (`LimitExceeded.Role`) and deleting a
//! role with attached policies (`DeleteConflict.Role.Policy`).
//!
//! `RevokeRoleSessions` (action `tessera:RevokeRoleSessions`) invalidates every session of the
//! role issued before now: token authentication reads the role's revocation time on every call,
//! so existing tokens are refused from the next request on.

use tessera_iam::{AccountId, Error, Target, arn};
use tessera_proto::v1 as pb;
use tessera_store::RoleStore as _;
use tonic::{Request, Response, Status};

use super::*;

fn role_target(name: &str) -> Target<'_> {
    Target {
        role_name: Some(name),
        ..Target::default()
    }
}

fn role(account: &AccountId, r: tessera_store::Role) -> pb::Role {
    pb::Role {
        arn: arn::role(account, &r.name),
        role_id: r.id,
        role_name: r.name,
        description: r.description,
        assume_role_policy_document: r.trust_policy,
        max_session_duration: r.max_session_duration,
        create_date: Some(timestamp(r.created_at)),
        update_date: Some(timestamp(r.updated_at)),
    }
}

fn role_response(
    account: &AccountId,
    committed: tessera_store::Committed<tessera_store::Role>,
) -> Response<pb::RoleResponse> {
    Response::new(pb::RoleResponse {
        role: Some(role(account, committed.value)),
        revision: revision(committed.revision),
    })
}

pub(super) async fn create_role(
    svc: &RamService,
    request: Request<pb::CreateRoleRequest>,
) -> Result<Response<pb::RoleResponse>, Status> {
    let account = svc
        .authorize(
            &request,
            "CreateRole",
            &role_target(&request.get_ref().role_name),
        )
        .await?;
    let req = request.into_inner();
    if req.assume_role_policy_document.is_empty() {
        return Err(err(Error::missing("AssumeRolePolicyDocument")));
    }
    let new = tessera_store::NewRole {
        name: req.role_name,
        trust_policy: req.assume_role_policy_document,
        description: given(req.description),
        max_session_duration: Some(req.max_session_duration).filter(|s| *s != 0),
    };
    let committed = svc.store().create_role(&account, &new).await.map_err(err)?;
    Ok(role_response(&account, committed))
}

pub(super) async fn get_role(
    svc: &RamService,
    request: Request<pb::GetRoleRequest>,
) -> Result<Response<pb::RoleResponse>, Status> {
    let name = &request.get_ref().role_name;
    let account = svc
        .authorize(&request, "GetRole", &role_target(name))
        .await?;
    let found = svc.store().get_role(&account, name).await.map_err(err)?;
    Ok(Response::new(pb::RoleResponse {
        role: Some(role(&account, found)),
        revision: 0,
    }))
}

pub(super) async fn update_role(
    svc: &RamService,
    request: Request<pb::UpdateRoleRequest>,
) -> Result<Response<pb::RoleResponse>, Status> {
    let account = svc
        .authorize(
            &request,
            "UpdateRole",
            &role_target(&request.get_ref().role_name),
        )
        .await?;
    let req = request.into_inner();
    let update = tessera_store::RoleUpdate {
        trust_policy: req.new_assume_role_policy_document,
        description: req.new_description,
        max_session_duration: req.new_max_session_duration,
    };
    let committed = svc
        .store()
        .update_role(&account, &req.role_name, &update)
        .await
        .map_err(err)?;
    Ok(role_response(&account, committed))
}

pub(super) async fn delete_role(
    svc: &RamService,
    request: Request<pb::GetRoleRequest>,
) -> Result<Response<pb::WriteResult>, Status> {
    let name = &request.get_ref().role_name;
    let account = svc
        .authorize(&request, "DeleteRole", &role_target(name))
        .await?;
    let committed = svc.store().delete_role(&account, name).await.map_err(err)?;
    Ok(write_result(committed.revision))
}

pub(super) async fn list_roles(
    svc: &RamService,
    request: Request<pb::ListRequest>,
) -> Result<Response<pb::ListRolesResponse>, Status> {
    let account = svc
        .authorize(&request, "ListRoles", &Target::default())
        .await?;
    let page = page(request.into_inner().page);
    let listed = svc.store().list_roles(&account, &page).await.map_err(err)?;
    Ok(Response::new(pb::ListRolesResponse {
        roles: listed
            .items
            .into_iter()
            .map(|r| role(&account, r))
            .collect(),
        is_truncated: listed.is_truncated,
        marker: listed.marker.unwrap_or_default(),
    }))
}

pub(super) async fn revoke_role_sessions(
    svc: &RamService,
    request: Request<pb::GetRoleRequest>,
) -> Result<Response<pb::RoleResponse>, Status> {
    let name = &request.get_ref().role_name;
    let account = svc
        .authorize(&request, "RevokeRoleSessions", &role_target(name))
        .await?;
    let committed = svc
        .store()
        .revoke_role_sessions(&account, name)
        .await
        .map_err(err)?;
    Ok(role_response(&account, committed))
}
