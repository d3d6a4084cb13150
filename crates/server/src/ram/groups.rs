//! Groups and memberships.

use tessera_iam::Target;
use tessera_proto::v1 as pb;
use tessera_store::GroupStore as _;
use tonic::{Request, Response, Status};

use super::*;

// --- groups ---

pub(super) async fn create_group(
    svc: &RamService,
    request: Request<pb::CreateGroupRequest>,
) -> Result<Response<pb::GroupResponse>, Status> {
    let req = request.get_ref();
    let account = svc
        .authorize(&request, "CreateGroup", &group_target(&req.group_name))
        .await?;
    let comments = Some(req.comments.as_str()).filter(|c| !c.is_empty());
    let committed = svc
        .store()
        .create_group(&account, &req.group_name, comments)
        .await
        .map_err(err)?;
    Ok(Response::new(pb::GroupResponse {
        group: Some(group(committed.value, None)),
        revision: revision(committed.revision),
    }))
}

pub(super) async fn get_group(
    svc: &RamService,
    request: Request<pb::GetGroupRequest>,
) -> Result<Response<pb::GroupResponse>, Status> {
    let name = &request.get_ref().group_name;
    let account = svc
        .authorize(&request, "GetGroup", &group_target(name))
        .await?;
    let found = svc.store().get_group(&account, name).await.map_err(err)?;
    Ok(Response::new(pb::GroupResponse {
        group: Some(group(found, None)),
        revision: 0,
    }))
}

pub(super) async fn update_group(
    svc: &RamService,
    request: Request<pb::UpdateGroupRequest>,
) -> Result<Response<pb::GroupResponse>, Status> {
    let req = request.get_ref();
    let account = svc
        .authorize(&request, "UpdateGroup", &group_target(&req.group_name))
        .await?;
    // A rename needs the permission on the new name too (see `update_user`).
    if let Some(new_name) = req.new_group_name.as_deref()
        && !new_name.eq_ignore_ascii_case(&req.group_name)
    {
        svc.authorize(&request, "UpdateGroup", &group_target(new_name))
            .await?;
    }
    let committed = svc
        .store()
        .update_group(
            &account,
            &req.group_name,
            req.new_group_name.as_deref(),
            req.new_comments.as_deref(),
        )
        .await
        .map_err(err)?;
    Ok(Response::new(pb::GroupResponse {
        group: Some(group(committed.value, None)),
        revision: revision(committed.revision),
    }))
}

pub(super) async fn delete_group(
    svc: &RamService,
    request: Request<pb::GetGroupRequest>,
) -> Result<Response<pb::WriteResult>, Status> {
    let name = &request.get_ref().group_name;
    let account = svc
        .authorize(&request, "DeleteGroup", &group_target(name))
        .await?;
    let committed = svc
        .store()
        .delete_group(&account, name)
        .await
        .map_err(err)?;
    Ok(write_result(committed.revision))
}

pub(super) async fn list_groups(
    svc: &RamService,
    request: Request<pb::ListRequest>,
) -> Result<Response<pb::ListGroupsResponse>, Status> {
    let account = svc
        .authorize(&request, "ListGroups", &Target::default())
        .await?;
    let page = page(request.into_inner().page);
    let listed = svc
        .store()
        .list_groups(&account, &page)
        .await
        .map_err(err)?;
    Ok(Response::new(pb::ListGroupsResponse {
        groups: listed.items.into_iter().map(|g| group(g, None)).collect(),
        is_truncated: listed.is_truncated,
        marker: listed.marker.unwrap_or_default(),
    }))
}

pub(super) async fn add_user_to_group(
    svc: &RamService,
    request: Request<pb::MembershipRequest>,
) -> Result<Response<pb::WriteResult>, Status> {
    let req = request.get_ref();
    let target = Target {
        user_name: Some(&req.user_name),
        group_name: Some(&req.group_name),
        ..Target::default()
    };
    let account = svc.authorize(&request, "AddUserToGroup", &target).await?;
    let committed = svc
        .store()
        .add_user_to_group(&account, &req.group_name, &req.user_name)
        .await
        .map_err(err)?;
    Ok(write_result(committed.revision))
}

pub(super) async fn remove_user_from_group(
    svc: &RamService,
    request: Request<pb::MembershipRequest>,
) -> Result<Response<pb::WriteResult>, Status> {
    let req = request.get_ref();
    let target = Target {
        user_name: Some(&req.user_name),
        group_name: Some(&req.group_name),
        ..Target::default()
    };
    let account = svc
        .authorize(&request, "RemoveUserFromGroup", &target)
        .await?;
    let committed = svc
        .store()
        .remove_user_from_group(&account, &req.group_name, &req.user_name)
        .await
        .map_err(err)?;
    Ok(write_result(committed.revision))
}

pub(super) async fn list_groups_for_user(
    svc: &RamService,
    request: Request<pb::GetUserRequest>,
) -> Result<Response<pb::ListGroupsResponse>, Status> {
    let name = &request.get_ref().user_name;
    let account = svc
        .authorize(&request, "ListGroupsForUser", &user_target(name))
        .await?;
    let groups = svc
        .store()
        .list_groups_for_user(&account, name)
        .await
        .map_err(err)?;
    Ok(Response::new(pb::ListGroupsResponse {
        groups: groups
            .into_iter()
            .map(|m| group(m.entity, Some(m.joined_at)))
            .collect(),
        is_truncated: false,
        marker: String::new(),
    }))
}

pub(super) async fn list_users_for_group(
    svc: &RamService,
    request: Request<pb::ListUsersForGroupRequest>,
) -> Result<Response<pb::ListUsersResponse>, Status> {
    let account = svc
        .authorize(
            &request,
            "ListUsersForGroup",
            &group_target(&request.get_ref().group_name),
        )
        .await?;
    let req = request.into_inner();
    let page = page(req.page);
    let listed = svc
        .store()
        .list_users_for_group(&account, &req.group_name, &page)
        .await
        .map_err(err)?;
    Ok(Response::new(pb::ListUsersResponse {
        users: listed
            .items
            .into_iter()
            .map(|m| user(m.entity, Some(m.joined_at)))
            .collect(),
        is_truncated: listed.is_truncated,
        marker: listed.marker.unwrap_or_default(),
    }))
}
