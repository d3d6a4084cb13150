#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! The `tessera.v1.Ram` service end to end (users and groups): `tessera_server::run` on
//! 127.0.0.1:0 with SQLite and with PostgreSQL, called over real HTTP/2 with ACS3-signed requests (a pass-through
//! codec, as in tests/auth.rs: the test serializes the message, signs exactly those bytes with
//! `sign_grpc` and sends them).

use std::marker::PhantomData;
use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use tessera_credentials::signature::{new_nonce, sign_grpc};
use tessera_credentials::sts::new_long_term_access_key;
use tessera_credentials::{MasterKey, Sealer, Secret};
use tessera_proto::v1 as pb;
use tessera_server::Config;
use tessera_store::{
    AccountId, KeyStore as _, NewAccessKey, NewUser, PolicyStore as _, PolicyType, SqlStore,
    StoreConfig, Target, UserStore as _,
};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::metadata::{MetadataKey, MetadataValue};
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};

const CREATE_USER: &str = "/tessera.v1.Ram/CreateUser";
const GET_USER: &str = "/tessera.v1.Ram/GetUser";
const UPDATE_USER: &str = "/tessera.v1.Ram/UpdateUser";
const DELETE_USER: &str = "/tessera.v1.Ram/DeleteUser";
const LIST_USERS: &str = "/tessera.v1.Ram/ListUsers";
const CREATE_GROUP: &str = "/tessera.v1.Ram/CreateGroup";
const GET_GROUP: &str = "/tessera.v1.Ram/GetGroup";
const UPDATE_GROUP: &str = "/tessera.v1.Ram/UpdateGroup";
const DELETE_GROUP: &str = "/tessera.v1.Ram/DeleteGroup";
const LIST_GROUPS: &str = "/tessera.v1.Ram/ListGroups";
const ADD_USER_TO_GROUP: &str = "/tessera.v1.Ram/AddUserToGroup";
const REMOVE_USER_FROM_GROUP: &str = "/tessera.v1.Ram/RemoveUserFromGroup";
const LIST_GROUPS_FOR_USER: &str = "/tessera.v1.Ram/ListGroupsForUser";
const LIST_USERS_FOR_GROUP: &str = "/tessera.v1.Ram/ListUsersForGroup";
const CREATE_ROLE: &str = "/tessera.v1.Ram/CreateRole";

mod support;

use support::{RawCodec, Running, start};

/// An access key as a client holds it.
struct Key {
    id: String,
    secret: Secret,
}

struct Harness {
    channel: Channel,
    authority: String,
    store: SqlStore,
    sealer: Sealer,
    operator: AccountId,
    operator_key: Key,
}

impl Harness {
    async fn new(running: &Running, data: &Path, url: &str) -> Harness {
        use base64::Engine as _;
        let channel = Endpoint::from_shared(format!("http://{}", running.addr))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let text = std::fs::read_to_string(data.join("operator.json")).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let master = base64::engine::general_purpose::STANDARD
            .decode(
                std::fs::read_to_string(data.join("master.key"))
                    .unwrap()
                    .trim(),
            )
            .unwrap();
        Harness {
            channel,
            authority: running.addr.to_string(),
            store: SqlStore::connect(&StoreConfig::new(url)).await.unwrap(),
            sealer: Sealer::new(MasterKey::new(1, &master).unwrap()),
            operator: AccountId::parse(json["AccountId"].as_str().unwrap()).unwrap(),
            operator_key: Key {
                id: json["AccessKeyId"].as_str().unwrap().to_owned(),
                secret: Secret::from(json["AccessKeySecret"].as_str().unwrap()),
            },
        }
    }

    /// `message`, serialized and signed with `key`, sent to `path`.
    async fn call<M: prost::Message, R: prost::Message + Default + Send + 'static>(
        &self,
        key: &Key,
        path: &'static str,
        message: &M,
    ) -> Result<R, Status> {
        let bytes = message.encode_to_vec();
        let metadata = sign_grpc(
            path,
            &self.authority,
            &bytes,
            &key.id,
            &key.secret,
            None,
            Timestamp::now(),
            &new_nonce(&mut rand::rng()),
        )
        .unwrap();
        let mut grpc = tonic::client::Grpc::new(self.channel.clone());
        grpc.ready().await.unwrap();
        let mut request = tonic::Request::new(bytes);
        for (name, value) in &metadata {
            request.metadata_mut().insert(
                MetadataKey::from_str(name).unwrap(),
                MetadataValue::try_from(value.as_str()).unwrap(),
            );
        }
        grpc.unary(
            request,
            PathAndQuery::from_static(path),
            RawCodec::<R>(PhantomData),
        )
        .await
        .map(tonic::Response::into_inner)
    }

    /// The same, signed with the operator's root key.
    async fn root<M: prost::Message, R: prost::Message + Default + Send + 'static>(
        &self,
        path: &'static str,
        message: &M,
    ) -> Result<R, Status> {
        self.call(&self.operator_key, path, message).await
    }

    /// A new long-term key of `user` in the operator's account, sealed like the server does.
    async fn create_key(&self, user: &str) -> Key {
        let pair = new_long_term_access_key(&mut rand::rng());
        let sealed_secret = self
            .sealer
            .seal(&pair.secret, format!("access-key:{}", pair.id).as_bytes())
            .unwrap();
        self.store
            .create_access_key(
                &self.operator,
                Some(user),
                &NewAccessKey {
                    id: pair.id.clone(),
                    sealed_secret,
                },
            )
            .await
            .unwrap();
        Key {
            id: pair.id,
            secret: pair.secret,
        }
    }
}

/// Asserts `grpc` with the message `"<code>: …"`.
#[track_caller]
fn assert_status<T: std::fmt::Debug>(result: Result<T, Status>, grpc: Code, code: &str) {
    let status = result.expect_err("the call should fail");
    assert_eq!(status.code(), grpc, "{status:?}");
    assert!(
        status.message().starts_with(&format!("{code}: ")),
        "{status:?}"
    );
}

fn user_names(users: &[pb::User]) -> Vec<&str> {
    users.iter().map(|u| u.user_name.as_str()).collect()
}

fn group_names(groups: &[pb::Group]) -> Vec<&str> {
    groups.iter().map(|g| g.group_name.as_str()).collect()
}

async fn exercise(h: &Harness) {
    // The operator root creates a user and a group.
    let created: pb::UserResponse = h
        .root(
            CREATE_USER,
            &pb::CreateUserRequest {
                user_name: "alice".into(),
                display_name: "Alice".into(),
                email: "alice@example.com".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let alice = created.user.clone().unwrap();
    assert_eq!(alice.user_name, "alice");
    assert_eq!(alice.display_name, "Alice");
    assert_eq!(alice.email, "alice@example.com");
    assert!(!alice.user_id.is_empty());
    assert!(alice.create_date.is_some() && alice.update_date.is_some());
    assert!(alice.last_login_date.is_none() && alice.join_date.is_none());
    assert!(created.revision > 0);

    let group: pb::GroupResponse = h
        .root(
            CREATE_GROUP,
            &pb::CreateGroupRequest {
                group_name: "devs".into(),
                comments: "developers".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(group.group.as_ref().unwrap().group_name, "devs");
    assert_eq!(group.group.as_ref().unwrap().comments, "developers");
    assert!(group.revision > created.revision);

    // Membership.
    let added: pb::WriteResult = h
        .root(
            ADD_USER_TO_GROUP,
            &pb::MembershipRequest {
                group_name: "devs".into(),
                user_name: "alice".into(),
            },
        )
        .await
        .unwrap();
    assert!(added.revision > group.revision);

    // Lists.
    let users: pb::ListUsersResponse = h
        .root(LIST_USERS, &pb::ListRequest::default())
        .await
        .unwrap();
    assert_eq!(user_names(&users.users), ["alice"]);
    assert!(!users.is_truncated);
    let groups: pb::ListGroupsResponse = h
        .root(LIST_GROUPS, &pb::ListRequest::default())
        .await
        .unwrap();
    assert_eq!(group_names(&groups.groups), ["devs"]);
    let mine: pb::ListGroupsResponse = h
        .root(
            LIST_GROUPS_FOR_USER,
            &pb::GetUserRequest {
                user_name: "alice".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(group_names(&mine.groups), ["devs"]);
    assert!(mine.groups[0].join_date.is_some());
    let members: pb::ListUsersResponse = h
        .root(
            LIST_USERS_FOR_GROUP,
            &pb::ListUsersForGroupRequest {
                group_name: "devs".into(),
                page: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(user_names(&members.users), ["alice"]);
    assert!(members.users[0].join_date.is_some());

    // Renames.
    let renamed: pb::UserResponse = h
        .root(
            UPDATE_USER,
            &pb::UpdateUserRequest {
                user_name: "alice".into(),
                new_user_name: Some("alice2".into()),
                new_comments: Some("renamed".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let renamed_user = renamed.user.unwrap();
    assert_eq!(renamed_user.user_name, "alice2");
    assert_eq!(renamed_user.user_id, alice.user_id);
    assert_eq!(renamed_user.comments, "renamed");
    assert!(renamed.revision > added.revision);
    let got: pb::UserResponse = h
        .root(
            GET_USER,
            &pb::GetUserRequest {
                user_name: "alice2".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(got.user.unwrap().user_id, alice.user_id);
    assert_status(
        h.root::<_, pb::UserResponse>(
            GET_USER,
            &pb::GetUserRequest {
                user_name: "alice".into(),
            },
        )
        .await,
        Code::NotFound,
        "EntityNotExist.User",
    );
    let regrouped: pb::GroupResponse = h
        .root(
            UPDATE_GROUP,
            &pb::UpdateGroupRequest {
                group_name: "devs".into(),
                new_group_name: Some("engineers".into()),
                new_comments: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(regrouped.group.as_ref().unwrap().group_name, "engineers");
    assert_eq!(regrouped.group.as_ref().unwrap().comments, "developers");
    let got: pb::GroupResponse = h
        .root(
            GET_GROUP,
            &pb::GetGroupRequest {
                group_name: "engineers".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(got.group.unwrap().group_name, "engineers");

    // Errors, with RAM's codes and the right gRPC codes.
    assert_status(
        h.root::<_, pb::UserResponse>(
            CREATE_USER,
            &pb::CreateUserRequest {
                user_name: "ALICE2".into(),
                ..Default::default()
            },
        )
        .await,
        Code::AlreadyExists,
        "EntityAlreadyExists.User",
    );
    assert_status(
        h.root::<_, pb::UserResponse>(
            CREATE_USER,
            &pb::CreateUserRequest {
                user_name: "bad name!".into(),
                ..Default::default()
            },
        )
        .await,
        Code::InvalidArgument,
        "InvalidParameter.UserName.InvalidChars",
    );
    assert_status(
        h.root::<_, pb::GroupResponse>(
            GET_GROUP,
            &pb::GetGroupRequest {
                group_name: "devs".into(),
            },
        )
        .await,
        Code::NotFound,
        "EntityNotExist.Group",
    );
    assert_status(
        h.root::<_, pb::WriteResult>(
            DELETE_USER,
            &pb::GetUserRequest {
                user_name: "alice2".into(),
            },
        )
        .await,
        Code::FailedPrecondition,
        "DeleteConflict.User.Group",
    );
    assert_status(
        h.root::<_, pb::WriteResult>(
            DELETE_GROUP,
            &pb::GetGroupRequest {
                group_name: "engineers".into(),
            },
        )
        .await,
        Code::FailedPrecondition,
        "DeleteConflict.Group.User",
    );
    // Roles are served too (tests/ram_roles_policies.rs covers them).
    let nameless = h
        .root::<_, pb::RoleResponse>(CREATE_ROLE, &pb::CreateRoleRequest::default())
        .await
        .unwrap_err();
    assert_eq!(nameless.code(), Code::InvalidArgument, "{nameless:?}");
    assert!(
        nameless.message().starts_with("MissingRoleName: "),
        "{nameless:?}"
    );

    // A user with an access key but no policies is refused …
    h.store
        .create_user(
            &h.operator,
            &NewUser {
                name: "bob".into(),
                ..NewUser::default()
            },
        )
        .await
        .unwrap();
    let bob = h.create_key("bob").await;
    let carol = pb::CreateUserRequest {
        user_name: "carol".into(),
        ..Default::default()
    };
    assert_status(
        h.call::<_, pb::UserResponse>(&bob, CREATE_USER, &carol)
            .await,
        Code::PermissionDenied,
        "NoPermission",
    );
    assert_status(
        h.call::<_, pb::ListUsersResponse>(&bob, LIST_USERS, &pb::ListRequest::default())
            .await,
        Code::PermissionDenied,
        "NoPermission",
    );
    // … and allowed once AliyunRAMFullAccess is attached (through the store: the change feed
    // evicts bob's cached permissions).
    h.store
        .attach_policy(
            &h.operator,
            Target::User("bob"),
            PolicyType::System,
            "AliyunRAMFullAccess",
        )
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let carol_created: pb::UserResponse = loop {
        match h.call(&bob, CREATE_USER, &carol).await {
            Ok(created) => break created,
            Err(status) if status.code() == Code::PermissionDenied => {
                assert!(
                    Instant::now() < deadline,
                    "the attachment did not reach the cache within 10 s"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(status) => panic!("unexpected {status:?}"),
        }
    };
    assert_eq!(carol_created.user.unwrap().user_name, "carol");

    // Clean up through the API: remove, delete.
    let _: pb::WriteResult = h
        .root(
            REMOVE_USER_FROM_GROUP,
            &pb::MembershipRequest {
                group_name: "engineers".into(),
                user_name: "alice2".into(),
            },
        )
        .await
        .unwrap();
    let members: pb::ListUsersResponse = h
        .root(
            LIST_USERS_FOR_GROUP,
            &pb::ListUsersForGroupRequest {
                group_name: "engineers".into(),
                page: None,
            },
        )
        .await
        .unwrap();
    assert!(members.users.is_empty());
    let deleted: pb::WriteResult = h
        .root(
            DELETE_USER,
            &pb::GetUserRequest {
                user_name: "alice2".into(),
            },
        )
        .await
        .unwrap();
    assert!(deleted.revision > 0);
    let _: pb::WriteResult = h
        .root(
            DELETE_GROUP,
            &pb::GetGroupRequest {
                group_name: "engineers".into(),
            },
        )
        .await
        .unwrap();
    let users: pb::ListUsersResponse = h
        .call(&bob, LIST_USERS, &pb::ListRequest::default())
        .await
        .unwrap();
    assert_eq!(user_names(&users.users), ["bob", "carol"]);
    let groups: pb::ListGroupsResponse = h
        .root(LIST_GROUPS, &pb::ListRequest::default())
        .await
        .unwrap();
    assert!(groups.groups.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manages_users_and_groups_with_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = Config {
        data_dir: data.clone(),
        ..Config::default()
    };
    let url = config.effective_database_url();
    let running = start(config).await;
    let h = Harness::new(&running, &data, &url).await;
    exercise(&h).await;
    h.store.close().await;
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manages_users_and_groups_with_postgresql() {
    let postgres = support::Postgres::create("tessera_ram_test").await;
    let url = postgres.url.clone();

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = Config {
        data_dir: data.clone(),
        database_url: Some(url.clone()),
        database_max_connections: 4,
        ..Config::default()
    };
    let running = start(config).await;
    let h = Harness::new(&running, &data, &url).await;
    exercise(&h).await;
    h.store.close().await;
    running.shutdown().await;

    postgres.drop_database().await;
}
