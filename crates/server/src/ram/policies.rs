//! Policies, their versions and attachments: `CreatePolicy`, `GetPolicy`, `ListPolicies`,
//! `UpdatePolicyDescription`, `DeletePolicy`, `CreatePolicyVersion`, `GetPolicyVersion`,
//! `ListPolicyVersions`, `SetDefaultPolicyVersion`, `DeletePolicyVersion`, `AttachPolicy`,
//! `DetachPolicy`, `ListPoliciesFor` and `ListEntitiesForPolicy`.
//!
//! - `PolicyType` (`System`|`Custom`) is required where RAM requires it (reading a policy, its
//!   versions or entities, attaching and detaching): `MissingPolicyType`, and
//!   `InvalidParameter.PolicyType` for any other value. It picks the policy's ARN the call is
//!   authorized on (`acs:ram::system:policy/<name>` for system policies). `ListPolicies` takes
//!   it as an optional filter.
//! - Writes to a policy act on the account's custom policies; a system policy's name is refused
//!   by the store with `NoPermission` (system policies are read-only).
//! - `AttachPolicy`/`DetachPolicy`/`ListPoliciesFor` carry the kind of entity
//!   (`TargetKind`) and are authorized as RAM's per-kind operation (`AttachPolicyToUser`,
//!   `DetachPolicyFromRole`, `ListPoliciesForGroup`, …); attaching and detaching need an Allow on
//!   both the entity and the policy. A missing kind is `MissingTargetKind`.
//! - The store reports the RAM codes of the rest: `EntityAlreadyExists.Policy`,
//!   `EntityAlreadyExists.User.Policy` (…`.Group.Policy`, `.Role.Policy`),
//!   `EntityNotExist.Policy.Version`, `LimitExceeded.Policy.Version` (5 versions),
//!   `DeleteConflict.Policy.User`/`.Group`/`.Role`/`.Version`,
//!   `DeleteConflict.Policy.Version.Default`, located `MalformedPolicyDocument`.
//!
//! `GetPolicy` and `CreatePolicy` answer with the default version's document too, as RAM's
//! `GetPolicy` does.

use tessera_iam::{Error, PolicyType, Target};
use tessera_proto::v1 as pb;
use tessera_store::{PolicyStore as _, RotateStrategy};
use tonic::{Request, Response, Status};

use super::*;

fn policy(p: tessera_store::PolicyInfo) -> pb::Policy {
    pb::Policy {
        policy_name: p.name,
        policy_type: p.policy_type.as_str().to_owned(),
        description: p.description,
        default_version: p.default_version,
        attachment_count: p.attachment_count,
        create_date: Some(timestamp(p.created_at)),
        update_date: Some(timestamp(p.updated_at)),
    }
}

fn policy_version(v: tessera_store::PolicyVersion) -> pb::PolicyVersion {
    pb::PolicyVersion {
        version_id: v.version_id,
        is_default_version: v.is_default,
        policy_document: v.document,
        create_date: Some(timestamp(v.created_at)),
    }
}

/// A required `PolicyType`.
fn policy_type(text: &str) -> Result<PolicyType, Status> {
    if text.is_empty() {
        return Err(err(Error::missing("PolicyType")));
    }
    PolicyType::parse(text).map_err(err)
}

/// An optional `PolicyType` (a filter, or a parameter RAM does not take).
fn optional_policy_type(text: &str) -> Result<Option<PolicyType>, Status> {
    if text.is_empty() {
        return Ok(None);
    }
    PolicyType::parse(text).map(Some).map_err(err)
}

fn policy_target(name: &str, policy_type: Option<PolicyType>) -> Target<'_> {
    Target {
        policy_name: Some(name),
        policy_type,
        ..Target::default()
    }
}

fn version_id(text: &str) -> Result<&str, Status> {
    if text.is_empty() {
        return Err(err(Error::missing("VersionId")));
    }
    Ok(text)
}

fn rotate_strategy(text: &str) -> Result<RotateStrategy, Status> {
    match text {
        "" | "None" => Ok(RotateStrategy::None),
        "DeleteOldestNonDefaultVersionWhenLimitExceeded" => {
            Ok(RotateStrategy::DeleteOldestNonDefaultVersionWhenLimitExceeded)
        }
        _ => Err(err(Error::format(
            "RotateStrategy",
            "None or DeleteOldestNonDefaultVersionWhenLimitExceeded",
        ))),
    }
}

/// The entity an attachment request names, as the store takes it, and its operation names.
struct Attachable<'a> {
    entity: tessera_store::Target<'a>,
    /// Authorization target: the entity's name in its field.
    target: Target<'a>,
    attach: &'static str,
    detach: &'static str,
    list: &'static str,
}

fn attachable(kind: i32, name: &str) -> Result<Attachable<'_>, Status> {
    use pb::TargetKind as K;
    let kind =
        K::try_from(kind).map_err(|_| err(Error::format("TargetKind", "USER, GROUP or ROLE")))?;
    let none = Target::default();
    Ok(match kind {
        K::Unspecified => return Err(err(Error::missing("TargetKind"))),
        K::User => Attachable {
            entity: tessera_store::Target::User(name),
            target: Target {
                user_name: Some(name),
                ..none
            },
            attach: "AttachPolicyToUser",
            detach: "DetachPolicyFromUser",
            list: "ListPoliciesForUser",
        },
        K::Group => Attachable {
            entity: tessera_store::Target::Group(name),
            target: Target {
                group_name: Some(name),
                ..none
            },
            attach: "AttachPolicyToGroup",
            detach: "DetachPolicyFromGroup",
            list: "ListPoliciesForGroup",
        },
        K::Role => Attachable {
            entity: tessera_store::Target::Role(name),
            target: Target {
                role_name: Some(name),
                ..none
            },
            attach: "AttachPolicyToRole",
            detach: "DetachPolicyFromRole",
            list: "ListPoliciesForRole",
        },
    })
}

// --- policies ---

pub(super) async fn create_policy(
    svc: &RamService,
    request: Request<pb::CreatePolicyRequest>,
) -> Result<Response<pb::PolicyResponse>, Status> {
    let account = svc
        .authorize(
            &request,
            "CreatePolicy",
            &policy_target(&request.get_ref().policy_name, None),
        )
        .await?;
    let req = request.into_inner();
    if req.policy_document.is_empty() {
        return Err(err(Error::missing("PolicyDocument")));
    }
    let new = tessera_store::NewPolicy {
        name: req.policy_name,
        document: req.policy_document,
        description: given(req.description),
    };
    let committed = svc
        .store()
        .create_policy(&account, &new)
        .await
        .map_err(err)?;
    let (info, version) = committed.value;
    Ok(Response::new(pb::PolicyResponse {
        policy: Some(policy(info)),
        default_policy_version: Some(policy_version(version)),
        revision: revision(committed.revision),
    }))
}

pub(super) async fn get_policy(
    svc: &RamService,
    request: Request<pb::PolicyRef>,
) -> Result<Response<pb::PolicyResponse>, Status> {
    let req = request.get_ref();
    let policy_type = policy_type(&req.policy_type)?;
    let account = svc
        .authorize(
            &request,
            "GetPolicy",
            &policy_target(&req.policy_name, Some(policy_type)),
        )
        .await?;
    let (info, version) = svc
        .store()
        .get_policy(&account, policy_type, &req.policy_name)
        .await
        .map_err(err)?;
    Ok(Response::new(pb::PolicyResponse {
        policy: Some(policy(info)),
        default_policy_version: Some(policy_version(version)),
        revision: 0,
    }))
}

pub(super) async fn list_policies(
    svc: &RamService,
    request: Request<pb::ListPoliciesRequest>,
) -> Result<Response<pb::ListPoliciesResponse>, Status> {
    let filter = optional_policy_type(&request.get_ref().policy_type)?;
    let account = svc
        .authorize(&request, "ListPolicies", &Target::default())
        .await?;
    let page = page(request.into_inner().page);
    let listed = svc
        .store()
        .list_policies(&account, filter, &page)
        .await
        .map_err(err)?;
    Ok(Response::new(pb::ListPoliciesResponse {
        policies: listed.items.into_iter().map(policy).collect(),
        is_truncated: listed.is_truncated,
        marker: listed.marker.unwrap_or_default(),
    }))
}

pub(super) async fn update_policy_description(
    svc: &RamService,
    request: Request<pb::UpdatePolicyDescriptionRequest>,
) -> Result<Response<pb::PolicyResponse>, Status> {
    let req = request.get_ref();
    let account = svc
        .authorize(
            &request,
            "UpdatePolicyDescription",
            &policy_target(&req.policy_name, None),
        )
        .await?;
    let committed = svc
        .store()
        .update_policy_description(&account, &req.policy_name, &req.new_description)
        .await
        .map_err(err)?;
    Ok(Response::new(pb::PolicyResponse {
        policy: Some(policy(committed.value)),
        default_policy_version: None,
        revision: revision(committed.revision),
    }))
}

pub(super) async fn delete_policy(
    svc: &RamService,
    request: Request<pb::DeletePolicyRequest>,
) -> Result<Response<pb::WriteResult>, Status> {
    let req = request.get_ref();
    let account = svc
        .authorize(
            &request,
            "DeletePolicy",
            &policy_target(&req.policy_name, None),
        )
        .await?;
    let committed = svc
        .store()
        .delete_policy(&account, &req.policy_name, req.cascading_delete)
        .await
        .map_err(err)?;
    Ok(write_result(committed.revision))
}

// --- versions ---

pub(super) async fn create_policy_version(
    svc: &RamService,
    request: Request<pb::CreatePolicyVersionRequest>,
) -> Result<Response<pb::PolicyVersionResponse>, Status> {
    let req = request.get_ref();
    let rotate = rotate_strategy(&req.rotate_strategy)?;
    let account = svc
        .authorize(
            &request,
            "CreatePolicyVersion",
            &policy_target(&req.policy_name, None),
        )
        .await?;
    if req.policy_document.is_empty() {
        return Err(err(Error::missing("PolicyDocument")));
    }
    let committed = svc
        .store()
        .create_policy_version(
            &account,
            &req.policy_name,
            &req.policy_document,
            req.set_as_default,
            rotate,
        )
        .await
        .map_err(err)?;
    Ok(Response::new(pb::PolicyVersionResponse {
        policy_version: Some(policy_version(committed.value)),
        revision: revision(committed.revision),
    }))
}

pub(super) async fn get_policy_version(
    svc: &RamService,
    request: Request<pb::PolicyVersionRef>,
) -> Result<Response<pb::PolicyVersionResponse>, Status> {
    let req = request.get_ref();
    let policy_type = policy_type(&req.policy_type)?;
    let account = svc
        .authorize(
            &request,
            "GetPolicyVersion",
            &policy_target(&req.policy_name, Some(policy_type)),
        )
        .await?;
    let found = svc
        .store()
        .get_policy_version(
            &account,
            policy_type,
            &req.policy_name,
            version_id(&req.version_id)?,
        )
        .await
        .map_err(err)?;
    Ok(Response::new(pb::PolicyVersionResponse {
        policy_version: Some(policy_version(found)),
        revision: 0,
    }))
}

pub(super) async fn list_policy_versions(
    svc: &RamService,
    request: Request<pb::PolicyRef>,
) -> Result<Response<pb::ListPolicyVersionsResponse>, Status> {
    let req = request.get_ref();
    let policy_type = policy_type(&req.policy_type)?;
    let account = svc
        .authorize(
            &request,
            "ListPolicyVersions",
            &policy_target(&req.policy_name, Some(policy_type)),
        )
        .await?;
    let versions = svc
        .store()
        .list_policy_versions(&account, policy_type, &req.policy_name)
        .await
        .map_err(err)?;
    Ok(Response::new(pb::ListPolicyVersionsResponse {
        policy_versions: versions.into_iter().map(policy_version).collect(),
    }))
}

pub(super) async fn set_default_policy_version(
    svc: &RamService,
    request: Request<pb::PolicyVersionRef>,
) -> Result<Response<pb::PolicyResponse>, Status> {
    let req = request.get_ref();
    // RAM takes no PolicyType here (only custom policies have versions to choose from); a
    // given one is still checked, and a system policy's name is refused by the store.
    optional_policy_type(&req.policy_type)?;
    let account = svc
        .authorize(
            &request,
            "SetDefaultPolicyVersion",
            &policy_target(&req.policy_name, None),
        )
        .await?;
    let committed = svc
        .store()
        .set_default_policy_version(&account, &req.policy_name, version_id(&req.version_id)?)
        .await
        .map_err(err)?;
    Ok(Response::new(pb::PolicyResponse {
        policy: Some(policy(committed.value)),
        default_policy_version: None,
        revision: revision(committed.revision),
    }))
}

pub(super) async fn delete_policy_version(
    svc: &RamService,
    request: Request<pb::PolicyVersionRef>,
) -> Result<Response<pb::WriteResult>, Status> {
    let req = request.get_ref();
    optional_policy_type(&req.policy_type)?;
    let account = svc
        .authorize(
            &request,
            "DeletePolicyVersion",
            &policy_target(&req.policy_name, None),
        )
        .await?;
    let committed = svc
        .store()
        .delete_policy_version(&account, &req.policy_name, version_id(&req.version_id)?)
        .await
        .map_err(err)?;
    Ok(write_result(committed.revision))
}

// --- attachments ---

/// `AttachPolicy` (`attach`) or `DetachPolicy`.
async fn change_attachment(
    svc: &RamService,
    request: Request<pb::AttachmentRequest>,
    attach: bool,
) -> Result<Response<pb::WriteResult>, Status> {
    let req = request.get_ref();
    let entity = attachable(req.target_kind, &req.target_name)?;
    let policy_type = policy_type(&req.policy_type)?;
    let target = Target {
        policy_name: Some(&req.policy_name),
        policy_type: Some(policy_type),
        ..entity.target
    };
    let operation = if attach { entity.attach } else { entity.detach };
    let account = svc.authorize(&request, operation, &target).await?;
    let store = svc.store();
    let committed = if attach {
        store
            .attach_policy(&account, entity.entity, policy_type, &req.policy_name)
            .await
    } else {
        store
            .detach_policy(&account, entity.entity, policy_type, &req.policy_name)
            .await
    }
    .map_err(err)?;
    Ok(write_result(committed.revision))
}

pub(super) async fn attach_policy(
    svc: &RamService,
    request: Request<pb::AttachmentRequest>,
) -> Result<Response<pb::WriteResult>, Status> {
    change_attachment(svc, request, true).await
}

pub(super) async fn detach_policy(
    svc: &RamService,
    request: Request<pb::AttachmentRequest>,
) -> Result<Response<pb::WriteResult>, Status> {
    change_attachment(svc, request, false).await
}

pub(super) async fn list_policies_for(
    svc: &RamService,
    request: Request<pb::ListPoliciesForRequest>,
) -> Result<Response<pb::ListAttachedPoliciesResponse>, Status> {
    let req = request.get_ref();
    let entity = attachable(req.target_kind, &req.target_name)?;
    let account = svc.authorize(&request, entity.list, &entity.target).await?;
    let attached = svc
        .store()
        .list_policies_for(&account, entity.entity)
        .await
        .map_err(err)?;
    Ok(Response::new(pb::ListAttachedPoliciesResponse {
        policies: attached
            .into_iter()
            .map(|a| pb::AttachedPolicy {
                policy: Some(policy(a.policy)),
                attach_date: Some(timestamp(a.attached_at)),
            })
            .collect(),
    }))
}

pub(super) async fn list_entities_for_policy(
    svc: &RamService,
    request: Request<pb::PolicyRef>,
) -> Result<Response<pb::ListEntitiesForPolicyResponse>, Status> {
    let req = request.get_ref();
    let policy_type = policy_type(&req.policy_type)?;
    let account = svc
        .authorize(
            &request,
            "ListEntitiesForPolicy",
            &policy_target(&req.policy_name, Some(policy_type)),
        )
        .await?;
    let entities = svc
        .store()
        .list_entities_for_policy(&account, policy_type, &req.policy_name)
        .await
        .map_err(err)?;
    let listed = |list: Vec<(String, jiff::Timestamp)>| {
        list.into_iter()
            .map(|(name, attached_at)| pb::AttachedEntity {
                name,
                attach_date: Some(timestamp(attached_at)),
            })
            .collect()
    };
    Ok(Response::new(pb::ListEntitiesForPolicyResponse {
        users: listed(entities.users),
        groups: listed(entities.groups),
        roles: listed(entities.roles),
    }))
}
