#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! TLS and mTLS on the one port: a CA made with rcgen issues the server's certificate and
//! client certificates whose URI SAN names a principal; tonic clients connect over TLS with and
//! without a client certificate. SQLite (the transport does not depend on the backend).

mod support;

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, SanType,
};
use support::{Backend, ClientCredential, SignedChannel, TestServer, assert_code};
use tessera_proto::v1 as pb;
use tessera_proto::v1::ram_client::RamClient;
use tessera_proto::v1::sts_client::StsClient;
use tessera_store::{NewPolicy, NewUser, PolicyStore as _, PolicyType, Target, UserStore as _};
use tonic::Code;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        Ca {
            issuer: CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap(),
        }
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A leaf certificate and its key, as PEM.
    fn issue(&self, sans: Vec<SanType>, usage: ExtendedKeyUsagePurpose) -> (String, String) {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.subject_alt_names = sans;
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    fn client(&self, principal: &str) -> Identity {
        let (cert, key) = self.issue(
            vec![SanType::URI(principal.try_into().unwrap())],
            ExtendedKeyUsagePurpose::ClientAuth,
        );
        Identity::from_pem(cert, key)
    }
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

async fn connect(
    server: &TestServer,
    ca: &Ca,
    identity: Option<Identity>,
) -> Result<Channel, tonic::transport::Error> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca.pem()))
        .domain_name("localhost");
    if let Some(identity) = identity {
        tls = tls.identity(identity);
    }
    Endpoint::from_shared(format!("https://{}", server.running.addr))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
}

const SECURE_ONLY: &str = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:GetUser",
  "Resource":"*","Condition":{"Bool":{"acs:SecureTransport":"true"}}}]}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_and_client_certificates() {
    let ca = Ca::new("tessera test CA");
    let files = tempfile::tempdir().unwrap();
    let (server_cert, server_key) = ca.issue(
        vec![
            SanType::DnsName("localhost".try_into().unwrap()),
            SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        ],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let tls = tessera_server::tls::TlsFiles {
        cert: write(files.path(), "server.pem", &server_cert),
        key: write(files.path(), "server.key", &server_key),
        client_ca: Some(write(files.path(), "ca.pem", &ca.pem())),
    };
    let server = TestServer::start_with(Backend::Sqlite, "unused", |c| c.tls = Some(tls)).await;
    let account = server.operator.clone();
    server
        .store
        .create_user(
            &account,
            &NewUser {
                name: "alice".into(),
                ..NewUser::default()
            },
        )
        .await
        .unwrap();
    server
        .store
        .create_policy(
            &account,
            &NewPolicy {
                name: "secure-only".into(),
                document: SECURE_ONLY.into(),
                description: None,
            },
        )
        .await
        .unwrap();
    server
        .store
        .attach_policy(
            &account,
            Target::User("alice"),
            PolicyType::Custom,
            "secure-only",
        )
        .await
        .unwrap();
    let get_alice = || pb::GetUserRequest {
        user_name: "alice".into(),
    };

    // TLS without a client certificate: signed calls work as on plaintext.
    let plain_tls = connect(&server, &ca, None).await.unwrap();
    let root = SignedChannel::over(
        plain_tls.clone(),
        server.running.addr.to_string(),
        ClientCredential::AccessKey {
            id: server.operator_key_id.clone(),
            secret: server.operator_key_secret.clone(),
            security_token: None,
        },
    );
    let identity = StsClient::new(root)
        .get_caller_identity(pb::GetCallerIdentityRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(identity.principal.unwrap().identity_type, "Account");
    // Without any credential: still MissingSignature.
    assert_code(
        StsClient::new(plain_tls)
            .get_caller_identity(pb::GetCallerIdentityRequest {})
            .await,
        Code::Unauthenticated,
        "MissingSignature",
    );

    // A certificate naming the root of the account authenticates as the root.
    let root_arn = format!("acs:ram::{}:root", account.as_str());
    let as_root = connect(&server, &ca, Some(ca.client(&root_arn)))
        .await
        .unwrap();
    let identity = StsClient::new(as_root)
        .get_caller_identity(pb::GetCallerIdentityRequest {})
        .await
        .unwrap()
        .into_inner();
    let principal = identity.principal.unwrap();
    assert_eq!(principal.identity_type, "Account");
    assert_eq!(principal.account_id, account.as_str());

    // A certificate naming a user: that user, and the connection is secure transport (the
    // policy allows GetUser only then).
    let alice_arn = format!("acs:ram::{}:user/alice", account.as_str());
    let as_alice = connect(&server, &ca, Some(ca.client(&alice_arn)))
        .await
        .unwrap();
    let identity = StsClient::new(as_alice.clone())
        .get_caller_identity(pb::GetCallerIdentityRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(identity.principal.unwrap().arn, alice_arn);
    let user = RamClient::new(as_alice.clone())
        .get_user(get_alice())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(user.user.unwrap().user_name, "alice");
    assert_code(
        RamClient::new(as_alice)
            .list_users(pb::ListRequest::default())
            .await,
        Code::PermissionDenied,
        "NoPermission",
    );

    // A certificate naming a principal that does not exist, or not naming one at all.
    let as_bob = connect(
        &server,
        &ca,
        Some(ca.client(&format!("acs:ram::{}:user/bob", account.as_str()))),
    )
    .await
    .unwrap();
    assert_code(
        RamClient::new(as_bob).get_user(get_alice()).await,
        Code::Unauthenticated,
        "InvalidClientCertificate.PrincipalNotFound",
    );
    let no_principal = connect(
        &server,
        &ca,
        Some(ca.client("spiffe://example.org/workload")),
    )
    .await
    .unwrap();
    assert_code(
        RamClient::new(no_principal).get_user(get_alice()).await,
        Code::Unauthenticated,
        "MissingSignature",
    );

    // A certificate from another CA fails the handshake; so does a plaintext client.
    let rogue = Ca::new("rogue CA");
    let refused = match connect(&server, &ca, Some(rogue.client(&root_arn))).await {
        Err(_) => true,
        Ok(channel) => StsClient::new(channel)
            .get_caller_identity(pb::GetCallerIdentityRequest {})
            .await
            .is_err(),
    };
    assert!(refused, "a certificate of another CA must not authenticate");
    let plaintext = Endpoint::from_shared(format!("http://{}", server.running.addr))
        .unwrap()
        .connect()
        .await;
    if let Ok(channel) = plaintext {
        let status = StsClient::new(channel)
            .get_caller_identity(pb::GetCallerIdentityRequest {})
            .await
            .unwrap_err();
        assert_ne!(status.code(), Code::Ok);
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_tls_files_stop_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = tessera_server::Config {
        data_dir: dir.path().join("data"),
        tls: Some(tessera_server::tls::TlsFiles {
            cert: dir.path().join("missing.pem"),
            key: dir.path().join("missing.key"),
            client_ca: None,
        }),
        ..tessera_server::Config::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let error = tessera_server::run(config, listener, std::future::pending())
        .await
        .unwrap_err();
    assert!(error.to_string().contains("missing.pem"), "{error}");
}
