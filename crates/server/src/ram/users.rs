//! Users: `CreateUser`, `GetUser`, `UpdateUser`, `DeleteUser`, `ListUsers`.

use tessera_iam::Target;
use tessera_proto::v1 as pb;
use tessera_store::UserStore as _;
use tonic::{Request, Response, Status};

use super::*;

// --- users ---

pub(super) async fn create_user(
    svc: &RamService,
    request: Request<pb::CreateUserRequest>,
) -> Result<Response<pb::UserResponse>, Status> {
    let account = svc
        .authorize(
            &request,
            "CreateUser",
            &user_target(&request.get_ref().user_name),
        )
        .await?;
    let req = request.into_inner();
    let new = tessera_store::NewUser {
        name: req.user_name,
        display_name: given(req.display_name),
        email: given(req.email),
        mobile_phone: given(req.mobile_phone),
        comments: given(req.comments),
    };
    let committed = svc.store().create_user(&account, &new).await.map_err(err)?;
    Ok(Response::new(pb::UserResponse {
        user: Some(user(committed.value, None)),
        revision: revision(committed.revision),
    }))
}

pub(super) async fn get_user(
    svc: &RamService,
    request: Request<pb::GetUserRequest>,
) -> Result<Response<pb::UserResponse>, Status> {
    let name = &request.get_ref().user_name;
    let account = svc
        .authorize(&request, "GetUser", &user_target(name))
        .await?;
    let found = svc.store().get_user(&account, name).await.map_err(err)?;
    Ok(Response::new(pb::UserResponse {
        user: Some(user(found, None)),
        revision: 0,
    }))
}

pub(super) async fn update_user(
    svc: &RamService,
    request: Request<pb::UpdateUserRequest>,
) -> Result<Response<pb::UserResponse>, Status> {
    let account = svc
        .authorize(
            &request,
            "UpdateUser",
            &user_target(&request.get_ref().user_name),
        )
        .await?;
    // A rename needs the permission on the new name too (as AWS IAM asks for both ARNs),
    // so a grant scoped to `user/dev-*` cannot rename a user out of its scope.
    if let Some(new_name) = request.get_ref().new_user_name.as_deref()
        && !new_name.eq_ignore_ascii_case(&request.get_ref().user_name)
    {
        svc.authorize(&request, "UpdateUser", &user_target(new_name))
            .await?;
    }
    let req = request.into_inner();
    let update = tessera_store::UserUpdate {
        new_name: req.new_user_name,
        display_name: req.new_display_name,
        email: req.new_email,
        mobile_phone: req.new_mobile_phone,
        comments: req.new_comments,
    };
    let committed = svc
        .store()
        .update_user(&account, &req.user_name, &update)
        .await
        .map_err(err)?;
    Ok(Response::new(pb::UserResponse {
        user: Some(user(committed.value, None)),
        revision: revision(committed.revision),
    }))
}

pub(super) async fn delete_user(
    svc: &RamService,
    request: Request<pb::GetUserRequest>,
) -> Result<Response<pb::WriteResult>, Status> {
    let name = &request.get_ref().user_name;
    let account = svc
        .authorize(&request, "DeleteUser", &user_target(name))
        .await?;
    let committed = svc.store().delete_user(&account, name).await.map_err(err)?;
    Ok(write_result(committed.revision))
}

pub(super) async fn list_users(
    svc: &RamService,
    request: Request<pb::ListRequest>,
) -> Result<Response<pb::ListUsersResponse>, Status> {
    let account = svc
        .authorize(&request, "ListUsers", &Target::default())
        .await?;
    let page = page(request.into_inner().page);
    let listed = svc.store().list_users(&account, &page).await.map_err(err)?;
    Ok(Response::new(pb::ListUsersResponse {
        users: listed.items.into_iter().map(|u| user(u, None)).collect(),
        is_truncated: listed.is_truncated,
        marker: listed.marker.unwrap_or_default(),
    }))
}
