#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! OIDC federation end to end: `tessera_server::run` on 127.0.0.1:0 and a real OIDC issuer on
//! loopback ([`support::oidc::Issuer`]: discovery, JWKS, tokens signed with keys it
//! generates).
//!
//! - [`providers`]: the RAM operations on OIDC providers over gRPC (CRUD, client ids,
//!   fingerprints, RAM's errors, authorization, `https://` required unless allowed).

mod support;

use support::{Backend, TestServer, assert_code};
use tessera_proto::v1 as pb;
use tessera_proto::v1::ram_client::RamClient;
use tonic::Code;

const FINGERPRINT: &str = "902ef2deeb3c5b13ea4c3d5193629309e231ae55";

/// Runs `$scenario(&TestServer)` on SQLite and PostgreSQL, with plain-HTTP issuers allowed.
macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let server = start(Backend::Sqlite, stringify!($scenario)).await;
                super::$scenario(&server).await;
                server.stop().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgresql() {
                let server = start(Backend::Postgres, stringify!($scenario)).await;
                super::$scenario(&server).await;
                server.stop().await;
            }
        }
    )*};
}

on_both_backends!(providers);

async fn start(backend: Backend, prefix: &str) -> TestServer {
    TestServer::start_with(backend, prefix, |c| c.oidc.allow_http_issuers = true).await
}

fn create(name: &str, issuer: &str, client_ids: &[&str]) -> pb::CreateOidcProviderRequest {
    pb::CreateOidcProviderRequest {
        oidc_provider_name: name.into(),
        issuer_url: issuer.into(),
        client_ids: client_ids.iter().map(|c| (*c).to_owned()).collect(),
        ..Default::default()
    }
}

fn named(name: &str) -> pb::OidcProviderRef {
    pb::OidcProviderRef {
        oidc_provider_name: name.into(),
    }
}

async fn providers(server: &TestServer) {
    let mut ram = RamClient::new(server.root.clone());
    let account = server.operator.as_str();
    let created = ram
        .create_oidc_provider(pb::CreateOidcProviderRequest {
            fingerprints: vec![FINGERPRINT.to_ascii_uppercase()],
            description: "The cluster.".into(),
            issuance_limit_time: 6,
            ..create(
                "K8s",
                "https://issuer.example/cluster",
                &["sts.aliyuncs.com"],
            )
        })
        .await
        .unwrap()
        .into_inner();
    assert!(created.revision > 0);
    let p = created.oidc_provider.unwrap();
    assert_eq!(p.arn, format!("acs:ram::{account}:oidc-provider/K8s"));
    assert_eq!(p.oidc_provider_name, "K8s");
    assert_eq!(p.issuer_url, "https://issuer.example/cluster");
    assert_eq!(p.client_ids, ["sts.aliyuncs.com"]);
    assert_eq!(p.fingerprints, [FINGERPRINT]);
    assert_eq!(p.description, "The cluster.");
    assert_eq!(p.issuance_limit_time, 6);

    let got = ram
        .get_oidc_provider(named("k8s"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.oidc_provider.unwrap(), p);
    assert_code(
        ram.create_oidc_provider(create("k8S", "https://other.example", &[]))
            .await,
        Code::AlreadyExists,
        "EntityAlreadyExists.OIDCProvider",
    );
    assert_code(
        ram.get_oidc_provider(named("nope")).await,
        Code::NotFound,
        "EntityNotExist.OIDCProvider",
    );
    assert_code(
        ram.create_oidc_provider(create("bad name", "https://x.example", &[]))
            .await,
        Code::InvalidArgument,
        "InvalidParameter.OIDCProviderName.InvalidChars",
    );
    assert_code(
        ram.create_oidc_provider(create("noissuer", "", &[])).await,
        Code::InvalidArgument,
        "MissingIssuerUrl",
    );

    // Client ids and fingerprints, one at a time or all at once.
    let added = ram
        .add_client_id_to_oidc_provider(pb::OidcProviderClientIdRequest {
            oidc_provider_name: "K8s".into(),
            client_id: "web".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        added.oidc_provider.unwrap().client_ids,
        ["sts.aliyuncs.com", "web"]
    );
    assert_code(
        ram.add_client_id_to_oidc_provider(pb::OidcProviderClientIdRequest {
            oidc_provider_name: "K8s".into(),
            client_id: "web".into(),
        })
        .await,
        Code::AlreadyExists,
        "EntityAlreadyExists.OIDCProvider.ClientId",
    );
    assert_code(
        ram.remove_client_id_from_oidc_provider(pb::OidcProviderClientIdRequest {
            oidc_provider_name: "K8s".into(),
            client_id: "nope".into(),
        })
        .await,
        Code::NotFound,
        "EntityNotExist.OIDCProvider.ClientId",
    );
    assert_code(
        ram.add_client_id_to_oidc_provider(pb::OidcProviderClientIdRequest {
            oidc_provider_name: "K8s".into(),
            client_id: String::new(),
        })
        .await,
        Code::InvalidArgument,
        "MissingClientId",
    );
    let removed = ram
        .remove_fingerprint_from_oidc_provider(pb::OidcProviderFingerprintRequest {
            oidc_provider_name: "K8s".into(),
            fingerprint: FINGERPRINT.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(removed.oidc_provider.unwrap().fingerprints.is_empty());
    let updated = ram
        .update_oidc_provider(pb::UpdateOidcProviderRequest {
            oidc_provider_name: "K8s".into(),
            client_ids: Some(pb::StringList {
                items: vec!["a".into(), "b".into()],
            }),
            new_description: Some(String::new()),
            issuance_limit_time: None,
        })
        .await
        .unwrap()
        .into_inner()
        .oidc_provider
        .unwrap();
    assert_eq!(updated.client_ids, ["a", "b"]);
    assert_eq!(updated.description, "");
    assert_eq!(updated.issuance_limit_time, 6);

    ram.create_oidc_provider(create("Second", "http://127.0.0.1:9", &["a"]))
        .await
        .unwrap();
    let listed = ram
        .list_oidc_providers(pb::ListRequest {
            page: Some(pb::Page {
                marker: String::new(),
                max_items: 1,
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.oidc_providers.len(), 1);
    assert!(listed.is_truncated);
    assert_eq!(listed.oidc_providers[0].oidc_provider_name, "K8s");

    // A user needs ram:* grants on the provider.
    let user = tessera_store::NewUser {
        name: "dev".into(),
        ..Default::default()
    };
    tessera_store::UserStore::create_user(&server.store, &server.operator, &user)
        .await
        .unwrap();
    let (_, _, dev) = server.key_for(&server.operator, Some("dev")).await;
    let mut as_dev = RamClient::new(dev);
    assert_code(
        as_dev.get_oidc_provider(named("K8s")).await,
        Code::PermissionDenied,
        "NoPermission",
    );
    assert_code(
        as_dev.delete_oidc_provider(named("K8s")).await,
        Code::PermissionDenied,
        "NoPermission",
    );

    ram.delete_oidc_provider(named("k8s")).await.unwrap();
    assert_code(
        ram.delete_oidc_provider(named("k8s")).await,
        Code::NotFound,
        "EntityNotExist.OIDCProvider",
    );
}

/// Without `oidc_allow_http_issuers`, issuers must be `https://`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_issuers_are_refused_by_default() {
    let server = TestServer::start(Backend::Sqlite, "oidc_http").await;
    let mut ram = RamClient::new(server.root.clone());
    assert_code(
        ram.create_oidc_provider(create("local", "http://127.0.0.1:9", &["a"]))
            .await,
        Code::InvalidArgument,
        "InvalidParameter.IssuerUrl.Format",
    );
    ram.create_oidc_provider(create("remote", "https://issuer.example", &["a"]))
        .await
        .unwrap();
    server.stop().await;
}
