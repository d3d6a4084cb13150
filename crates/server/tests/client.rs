#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! The generated tonic clients over [`support::SignedChannel`]: the harness the other
//! integration tests build on, checked on its own.

mod support;

use support::{Backend, ClientCredential, TestServer, assert_code};
use tessera_proto::v1 as pb;
use tessera_proto::v1::ram_client::RamClient;
use tessera_proto::v1::sts_client::StsClient;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_clients_sign_every_call() {
    let server = TestServer::start(Backend::Sqlite, "unused").await;
    let mut ram = RamClient::new(server.root.clone());
    let created = ram
        .create_user(pb::CreateUserRequest {
            user_name: "alice".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.user.unwrap().user_name, "alice");
    let identity = StsClient::new(server.root.clone())
        .get_caller_identity(pb::GetCallerIdentityRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(identity.principal.unwrap().identity_type, "Account");

    // A wrong secret and a bogus bearer token are refused.
    let wrong = server.signed(&server.operator_key_id, &"not the secret".into());
    assert_code(
        RamClient::new(wrong)
            .get_user(pb::GetUserRequest {
                user_name: "alice".into(),
            })
            .await,
        tonic::Code::Unauthenticated,
        "SignatureDoesNotMatch",
    );
    let bearer = server
        .root
        .with(ClientCredential::Bearer("not-a-token".into()));
    let refused = RamClient::new(bearer)
        .get_user(pb::GetUserRequest {
            user_name: "alice".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    server.stop().await;
}
