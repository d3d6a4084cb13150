#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! Alibaba's RPC-style HTTP API on the server's port, over raw HTTP/1.1 on real sockets:
//!
//! - every request the official SDKs were captured sending (the shared
//!   `sdk-wire-captures.md`) is replayed byte for byte: with the capture key registered under
//!   the secret the `*-badsecret` captures were signed with, those verify through the endpoint
//!   (and are then refused as expired: they are from the capture session), the others are
//!   `SignatureDoesNotMatch`, the unknown key's `InvalidAccessKeyId.NotFound`;
//! - requests signed here with Tessera's own signers (RPC v1 over GET, POST query and form
//!   body; ACS3 with query and form body; with STS credentials) drive RAM and STS operations,
//!   RAM's error codes, authorization, replay and clock checks — on SQLite and PostgreSQL.
//!
//! The official Python SDKs themselves are driven by `compat_sdk.rs`.

mod support;

use std::net::SocketAddr;

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use support::{Backend, TestServer};
use tessera_credentials::Secret;
use tessera_credentials::signature::{encode_params, new_nonce, sign_acs3, sign_rpc_v1};
use tessera_proto::v1 as pb;
use tessera_proto::v1::ram_client::RamClient;
use tessera_store::{AccountId, AccountStore as _, KeyStore as _, NewAccessKey, SystemStore as _};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const CAPTURES: &str = include_str!("../../credentials/tests/data/sdk-wire-captures.md");
const CAPTURE_KEY: &str = "LTAI5tTESTACCESSKEYID01";
/// The secret the `*-badsecret` captures were signed with.
const CAPTURE_BAD_SECRET: &str = "WrongSecret";
const RAM: &str = "2015-05-01";
const STS: &str = "2015-04-01";

// --- HTTP ---

#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    json: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A success: 200, and the same `RequestId` in the body and the header.
    #[track_caller]
    fn ok(self) -> Value {
        assert_eq!(self.status, 200, "{self:?}");
        let id = self.json["RequestId"].as_str().unwrap();
        assert_eq!(self.header("x-acs-request-id"), Some(id));
        self.json
    }

    /// A failure with Alibaba's error body.
    #[track_caller]
    fn refused(self, status: u16, code: &str) -> Answer {
        assert_eq!(
            (self.status, self.json["Code"].as_str()),
            (status, Some(code)),
            "{self:?}"
        );
        let body = self.json.as_object().unwrap();
        for key in ["RequestId", "HostId", "Code", "Message", "Recommend"] {
            assert!(body[key].is_string(), "{key}: {self:?}");
        }
        assert_eq!(body.len(), 5, "{self:?}");
        assert_eq!(self.header("x-acs-request-id"), body["RequestId"].as_str());
        assert_eq!(
            self.header("content-type"),
            Some("application/json;charset=utf-8")
        );
        self
    }
}

/// Sends one request (`head` without the blank line) and reads the answer.
async fn send(addr: SocketAddr, head: &str, body: &[u8]) -> Answer {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut request = head.replace("\r\n", "\n").replace('\n', "\r\n");
    request.push_str("\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed before a full answer");
        buf.extend_from_slice(&chunk[..n]);
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let text = String::from_utf8_lossy(&buf[..end]).to_string();
        let mut lines = text.split("\r\n");
        let status: u16 = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers: Vec<(String, String)> = lines
            .map(|l| {
                let (k, v) = l.split_once(": ").unwrap();
                (k.to_owned(), v.to_owned())
            })
            .collect();
        let length: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .map_or(0, |(_, v)| v.parse().unwrap());
        if buf.len() < end + 4 + length {
            continue;
        }
        let body = &buf[end + 4..end + 4 + length];
        let json = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(body).unwrap()
        };
        return Answer {
            status,
            headers,
            json,
        };
    }
}

// --- signing here ---

#[derive(Clone)]
struct Key {
    id: String,
    secret: Secret,
    token: Option<String>,
}

impl Key {
    fn new(id: &str, secret: &Secret) -> Key {
        Key {
            id: id.to_owned(),
            secret: secret.clone(),
            token: None,
        }
    }

    /// The STS credentials of an `AssumeRole` answer.
    fn from_credentials(answer: &Value) -> Key {
        let c = &answer["Credentials"];
        Key {
            id: c["AccessKeyId"].as_str().unwrap().to_owned(),
            secret: Secret::from(c["AccessKeySecret"].as_str().unwrap()),
            token: Some(c["SecurityToken"].as_str().unwrap().to_owned()),
        }
    }
}

/// Where the parameters of an RPC v1 request travel.
#[derive(Clone, Copy, PartialEq)]
enum Rpc {
    Get,
    PostQuery,
    PostForm,
}

struct Client {
    addr: SocketAddr,
}

impl Client {
    /// An RPC v1 (HMAC-SHA1) request signed at `at`.
    async fn rpc_at(
        &self,
        how: Rpc,
        key: &Key,
        version: &str,
        action: &str,
        params: &[(&str, &str)],
        at: Timestamp,
    ) -> Answer {
        let method = if how == Rpc::Get { "GET" } else { "POST" };
        let mut all: Vec<(String, String)> = vec![
            ("Action".into(), action.into()),
            ("Version".into(), version.into()),
            ("Format".into(), "JSON".into()),
        ];
        all.extend(
            params
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        if let Some(token) = &key.token {
            all.push(("SecurityToken".into(), token.clone()));
        }
        let nonce = new_nonce(&mut rand::rng());
        let signed = sign_rpc_v1(method, &all, &key.id, &key.secret, at, &nonce).unwrap();
        let encoded = encode_params(&signed);
        let host = format!("host: {}", self.addr);
        match how {
            Rpc::Get | Rpc::PostQuery => {
                let head = format!("{method} /?{encoded} HTTP/1.1\n{host}\ncontent-length: 0");
                send(self.addr, &head, b"").await
            }
            Rpc::PostForm => {
                let head = format!(
                    "POST / HTTP/1.1\n{host}\ncontent-type: application/x-www-form-urlencoded\ncontent-length: {}",
                    encoded.len()
                );
                send(self.addr, &head, encoded.as_bytes()).await
            }
        }
    }

    async fn rpc(
        &self,
        how: Rpc,
        key: &Key,
        version: &str,
        action: &str,
        params: &[(&str, &str)],
    ) -> Answer {
        self.rpc_at(how, key, version, action, params, Timestamp::now())
            .await
    }

    /// An ACS3-HMAC-SHA256 request: `query` in the query string, `form` (if any) as the body.
    async fn acs3(
        &self,
        key: &Key,
        version: &str,
        action: &str,
        query: &[(&str, &str)],
        form: Option<&[(&str, &str)]>,
    ) -> Answer {
        let host = self.addr.to_string();
        let body = form.map(encode_params).unwrap_or_default();
        let mut headers = vec![
            ("host", host.as_str()),
            ("x-acs-action", action),
            ("x-acs-version", version),
            ("accept", "application/json"),
        ];
        if form.is_some() {
            headers.push(("content-type", "application/x-www-form-urlencoded"));
        }
        let signed = sign_acs3(
            "POST",
            "/",
            query,
            &headers,
            body.as_bytes(),
            &key.id,
            &key.secret,
            key.token.as_deref(),
            Timestamp::now(),
            &new_nonce(&mut rand::rng()),
        )
        .unwrap();
        let mut head = format!("POST /?{} HTTP/1.1", encode_params(query));
        for (k, v) in headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .chain(signed.into_headers())
        {
            head.push_str(&format!("\n{k}: {v}"));
        }
        head.push_str(&format!("\ncontent-length: {}", body.len()));
        send(self.addr, &head, body.as_bytes()).await
    }
}

// --- the captured SDK requests ---

struct Capture {
    title: String,
    head: String,
    body: String,
}

fn captures() -> Vec<Capture> {
    CAPTURES
        .split("\n## ")
        .skip(1)
        .map(|section| {
            let title = section.lines().next().unwrap().to_owned();
            let start = section.find("```http\n").unwrap() + "```http\n".len();
            let rest = &section[start..];
            let http = &rest[..rest.find("\n```").unwrap()];
            let (head, body) = match http.split_once("\n\n") {
                Some((h, b)) => (h.to_owned(), b.to_owned()),
                None => (http.trim_end_matches('\n').to_owned(), String::new()),
            };
            Capture { title, head, body }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn captured_sdk_requests_reach_the_signature_check() {
    let server = TestServer::start(Backend::Sqlite, "unused").await;
    let account = server
        .store
        .create_account("captures")
        .await
        .unwrap()
        .value
        .id;
    let sealed_secret = server
        .sealer
        .seal(
            &Secret::from(CAPTURE_BAD_SECRET),
            format!("access-key:{CAPTURE_KEY}").as_bytes(),
        )
        .unwrap();
    server
        .store
        .create_access_key(
            &account,
            None,
            &NewAccessKey {
                id: CAPTURE_KEY.into(),
                sealed_secret,
            },
        )
        .await
        .unwrap();
    let all = captures();
    assert_eq!(all.len(), 56);
    let mut seen = [0; 3];
    for capture in &all {
        let flavour = capture.title.split_whitespace().next().unwrap();
        let answer = send(server.running.addr, &capture.head, capture.body.as_bytes()).await;
        let (status, code, slot) = if flavour.ends_with("-badsecret") {
            // Verified with the secret they were signed with; the time stamp is hours old.
            (400, "InvalidTimeStamp.Expired", 0)
        } else if flavour.ends_with("-unknownkey") {
            (404, "InvalidAccessKeyId.NotFound", 1)
        } else {
            // The capture key's real secret (or the STS key's) is not the one registered.
            (400, "SignatureDoesNotMatch", 2)
        };
        assert_eq!(
            (answer.status, answer.json["Code"].as_str()),
            (status, Some(code)),
            "{}: {answer:?}",
            capture.title
        );
        answer.refused(status, code);
        seen[slot] += 1;
    }
    assert_eq!(seen, [6, 6, 44]);
    server.stop().await;
}

// --- requests signed here ---

fn user_name_of(answer: &Value) -> &str {
    answer["User"]["UserName"].as_str().unwrap()
}

async fn scenario(backend: Backend) {
    let server = TestServer::start(backend, "compat_http").await;
    let http = Client {
        addr: server.running.addr,
    };
    let account: AccountId = server.store.create_account("acme").await.unwrap().value.id;
    let (root_id, root_secret, root_channel) = server.key_for(&account, None).await;
    let root = Key::new(&root_id, &root_secret);

    // Users through every way of sending RPC v1 and ACS3; the same user over gRPC.
    let created = http
        .rpc(
            Rpc::PostQuery,
            &root,
            RAM,
            "CreateUser",
            &[
                ("UserName", "alice"),
                ("DisplayName", "Alice Example"),
                ("Comments", "made by test + more"),
            ],
        )
        .await
        .ok();
    assert_eq!(user_name_of(&created), "alice");
    assert_eq!(created["User"]["DisplayName"], "Alice Example");
    assert_eq!(created["User"]["Comments"], "made by test + more");
    let date = created["User"]["CreateDate"].as_str().unwrap();
    assert!(
        date.len() == 20 && date.ends_with('Z') && date.as_bytes()[10] == b'T',
        "{date}"
    );
    // Audited like the gRPC call, with the request id the answer carried and the peer address.
    let request_id = created["RequestId"].as_str().unwrap().to_owned();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let audited = loop {
        let events = server
            .store
            .list_audit_events(&account, &tessera_store::AuditQuery::default())
            .await
            .unwrap();
        if let Some((_, event)) = events
            .into_iter()
            .find(|(_, e)| e.event_name == "CreateUser")
        {
            break event;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "CreateUser not audited"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(audited.request_id, request_id);
    assert_eq!(audited.source_ip, "127.0.0.1");
    assert_eq!(audited.principal, format!("acs:ram::{account}:root"));
    assert_eq!(audited.resource, format!("acs:ram::{account}:user/alice"));
    assert_eq!(audited.decision, tessera_store::AuditDecision::Allow);
    http.rpc(
        Rpc::PostForm,
        &root,
        RAM,
        "CreateUser",
        &[("UserName", "bob")],
    )
    .await
    .ok();
    let got = http
        .rpc(Rpc::Get, &root, RAM, "GetUser", &[("UserName", "bob")])
        .await
        .ok();
    assert_eq!(user_name_of(&got), "bob");
    let got = http
        .acs3(&root, RAM, "GetUser", &[("UserName", "alice")], None)
        .await
        .ok();
    assert_eq!(got["User"]["UserId"], created["User"]["UserId"]);
    http.acs3(
        &root,
        RAM,
        "CreateUser",
        &[],
        Some(&[("UserName", "carol"), ("Email", "carol@example.com")]),
    )
    .await
    .ok();
    let over_grpc = RamClient::new(root_channel.clone())
        .get_user(pb::GetUserRequest {
            user_name: "carol".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(over_grpc.user.unwrap().email, "carol@example.com");
    let page = http
        .rpc(Rpc::Get, &root, RAM, "ListUsers", &[("MaxItems", "2")])
        .await
        .ok();
    assert_eq!(page["Users"]["User"].as_array().unwrap().len(), 2);
    assert_eq!(page["IsTruncated"], true);
    let marker = page["Marker"].as_str().unwrap().to_owned();
    let rest = http
        .rpc(Rpc::Get, &root, RAM, "ListUsers", &[("Marker", &marker)])
        .await
        .ok();
    assert_eq!(rest["Users"]["User"].as_array().unwrap().len(), 1);
    assert_eq!(rest["IsTruncated"], false);

    // RAM's error codes and statuses.
    http.rpc(Rpc::Get, &root, RAM, "GetUser", &[("UserName", "nobody")])
        .await
        .refused(404, "EntityNotExist.User");
    http.rpc(Rpc::Get, &root, RAM, "CreateUser", &[("UserName", "alice")])
        .await
        .refused(409, "EntityAlreadyExists.User");
    http.rpc(Rpc::Get, &root, RAM, "CreateUser", &[])
        .await
        .refused(400, "MissingUserName");
    http.rpc(
        Rpc::Get,
        &root,
        RAM,
        "CreateUser",
        &[("UserName", "bad name!")],
    )
    .await
    .refused(400, "InvalidParameter.UserName.InvalidChars");
    http.rpc(Rpc::Get, &root, RAM, "ListUsers", &[("MaxItems", "many")])
        .await
        .refused(400, "InvalidParameter.MaxItems.Format");
    http.rpc(Rpc::Get, &root, RAM, "ChangeEverything", &[])
        .await
        .refused(404, "InvalidAction.NotFound");
    http.rpc(Rpc::Get, &root, RAM, "AssumeRole", &[])
        .await
        .refused(404, "InvalidAction.NotFound");
    http.rpc(
        Rpc::Get,
        &root,
        "2019-08-15",
        "GetUser",
        &[("UserName", "alice")],
    )
    .await
    .refused(400, "InvalidVersion");
    http.acs3(&root, "", "GetUser", &[("UserName", "alice")], None)
        .await
        .refused(400, "MissingVersion");

    // Authentication failures.
    let wrong = Key::new(&root_id, &Secret::from("not the secret"));
    let mismatch = http
        .rpc(Rpc::Get, &wrong, RAM, "GetUser", &[("UserName", "alice")])
        .await
        .refused(400, "SignatureDoesNotMatch");
    // As Alibaba's gateway writes it (aliyun-python-sdk-core parses the string to sign out).
    let message = mismatch.json["Message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "Specified signature is not matched with our calculation. server string to sign is:GET&%2F&AccessKeyId%3D"
        ),
        "{message}"
    );
    http.acs3(&wrong, RAM, "GetUser", &[("UserName", "alice")], None)
        .await
        .refused(400, "SignatureDoesNotMatch");
    let unknown = Key::new("LTAI5tNoSuchKey0000000000", &root_secret);
    http.rpc(Rpc::Get, &unknown, RAM, "GetUser", &[("UserName", "alice")])
        .await
        .refused(404, "InvalidAccessKeyId.NotFound");
    let stale = Timestamp::now() - SignedDuration::from_mins(20);
    http.rpc_at(
        Rpc::Get,
        &root,
        RAM,
        "GetUser",
        &[("UserName", "alice")],
        stale,
    )
    .await
    .refused(400, "InvalidTimeStamp.Expired");
    let head = format!("GET /?Action=GetUser&Version={RAM}&UserName=alice HTTP/1.1\nhost: x");
    send(http.addr, &head, b"")
        .await
        .refused(400, "MissingSignature");
    let head = "PUT / HTTP/1.1\nhost: x\ncontent-length: 0";
    send(http.addr, head, b"")
        .await
        .refused(400, "UnsupportedHTTPMethod");
    // A signed request is accepted once.
    let nonce = new_nonce(&mut rand::rng());
    let params = [
        ("Action", "GetUser"),
        ("Version", RAM),
        ("UserName", "alice"),
    ];
    let signed = sign_rpc_v1(
        "GET",
        &params,
        &root_id,
        &root_secret,
        Timestamp::now(),
        &nonce,
    )
    .unwrap();
    let head = format!("GET /?{} HTTP/1.1\nhost: x", encode_params(&signed));
    send(http.addr, &head, b"").await.ok();
    send(http.addr, &head, b"")
        .await
        .refused(400, "SignatureNonceUsed");

    // Authorization: a user without a policy is refused; a grant scoped to its own user allows
    // that user only.
    let alice_key = http
        .rpc(
            Rpc::Get,
            &root,
            RAM,
            "CreateAccessKey",
            &[("UserName", "alice")],
        )
        .await
        .ok();
    let alice = Key::new(
        alice_key["AccessKey"]["AccessKeyId"].as_str().unwrap(),
        &Secret::from(alice_key["AccessKey"]["AccessKeySecret"].as_str().unwrap()),
    );
    assert_eq!(alice_key["AccessKey"]["Status"], "Active");
    http.acs3(&alice, RAM, "GetUser", &[("UserName", "alice")], None)
        .await
        .refused(403, "NoPermission");
    let acct = account.as_str();
    let document = format!(
        r#"{{"Version":"1","Statement":[
            {{"Effect":"Allow","Action":"ram:GetUser","Resource":"acs:ram:*:{acct}:user/alice"}},
            {{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"acs:ram:*:{acct}:role/reader"}},
            {{"Effect":"Allow","Action":"ram:ListRoles","Resource":"*",
              "Condition":{{"IpAddress":{{"acs:SourceIp":"127.0.0.0/8"}}}}}},
            {{"Effect":"Allow","Action":"ram:ListGroups","Resource":"*",
              "Condition":{{"IpAddress":{{"acs:SourceIp":"10.0.0.0/8"}}}}}},
            {{"Effect":"Allow","Action":"ram:ListUsers","Resource":"*",
              "Condition":{{"Bool":{{"acs:SecureTransport":"true"}}}}}}]}}"#
    );
    http.acs3(
        &root,
        RAM,
        "CreatePolicy",
        &[("PolicyName", "AliceSelf")],
        Some(&[
            ("PolicyDocument", &document),
            ("Description", "alice's own"),
        ]),
    )
    .await
    .ok();
    http.rpc(
        Rpc::PostForm,
        &root,
        RAM,
        "AttachPolicyToUser",
        &[
            ("PolicyType", "Custom"),
            ("PolicyName", "AliceSelf"),
            ("UserName", "alice"),
        ],
    )
    .await
    .ok();
    let mine = http
        .acs3(&alice, RAM, "GetUser", &[("UserName", "alice")], None)
        .await
        .ok();
    assert_eq!(user_name_of(&mine), "alice");
    http.acs3(&alice, RAM, "GetUser", &[("UserName", "bob")], None)
        .await
        .refused(403, "NoPermission");
    // Conditions see the request's facts: the peer address, plain HTTP.
    http.rpc(Rpc::Get, &alice, RAM, "ListRoles", &[]).await.ok();
    http.rpc(Rpc::Get, &alice, RAM, "ListGroups", &[])
        .await
        .refused(403, "NoPermission");
    http.acs3(&alice, RAM, "ListUsers", &[], None)
        .await
        .refused(403, "NoPermission");
    let listed = http
        .rpc(
            Rpc::Get,
            &root,
            RAM,
            "ListPoliciesForUser",
            &[("UserName", "alice")],
        )
        .await
        .ok();
    assert_eq!(listed["Policies"]["Policy"][0]["PolicyName"], "AliceSelf");
    assert_eq!(listed["Policies"]["Policy"][0]["PolicyType"], "Custom");

    // STS: alice assumes a role trusted by the account, then calls with the STS credentials
    // (both signature versions); the role reads RAM through its policy.
    let trust = format!(
        r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{{"RAM":["acs:ram::{acct}:root"]}}}}]}}"#
    );
    let role = http
        .rpc(
            Rpc::PostForm,
            &root,
            RAM,
            "CreateRole",
            &[
                ("RoleName", "reader"),
                ("AssumeRolePolicyDocument", &trust),
                ("MaxSessionDuration", "7200"),
            ],
        )
        .await
        .ok();
    assert_eq!(role["Role"]["MaxSessionDuration"], 7200);
    assert_eq!(role["Role"]["Arn"], format!("acs:ram::{acct}:role/reader"));
    http.rpc(
        Rpc::Get,
        &root,
        RAM,
        "AttachPolicyToRole",
        &[
            ("PolicyType", "System"),
            ("PolicyName", "AliyunRAMReadOnlyAccess"),
            ("RoleName", "reader"),
        ],
    )
    .await
    .ok();
    let role_arn = format!("acs:ram::{acct}:role/reader");
    let assumed = http
        .rpc(
            Rpc::Get,
            &alice,
            STS,
            "AssumeRole",
            &[
                ("RoleArn", &role_arn),
                ("RoleSessionName", "alice-session"),
                ("DurationSeconds", "900"),
            ],
        )
        .await
        .ok();
    let expiration = assumed["Credentials"]["Expiration"].as_str().unwrap();
    let parsed: Timestamp = expiration.parse().unwrap();
    assert_eq!(
        parsed.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        expiration
    );
    let lifetime = parsed.duration_since(Timestamp::now()).as_secs();
    assert!((880..=900).contains(&lifetime), "{lifetime}");
    assert!(
        assumed["Credentials"]["AccessKeyId"]
            .as_str()
            .unwrap()
            .starts_with("STS.")
    );
    assert!(
        assumed["AssumedRoleUser"]["AssumedRoleId"]
            .as_str()
            .unwrap()
            .ends_with(":alice-session")
    );
    let session = Key::from_credentials(&assumed);
    for answer in [
        http.rpc(Rpc::PostQuery, &session, STS, "GetCallerIdentity", &[])
            .await,
        http.acs3(&session, STS, "GetCallerIdentity", &[], None)
            .await,
    ] {
        let identity = answer.ok();
        assert_eq!(identity["IdentityType"], "AssumedRoleUser");
        assert_eq!(identity["AccountId"], acct);
        assert_eq!(identity["Arn"], assumed["AssumedRoleUser"]["Arn"]);
        assert_eq!(identity["RoleId"], role["Role"]["RoleId"]);
    }
    let listed = http.acs3(&session, RAM, "ListUsers", &[], None).await.ok();
    assert_eq!(listed["Users"]["User"].as_array().unwrap().len(), 3);
    http.acs3(
        &session,
        RAM,
        "CreateUser",
        &[("UserName", "mallory")],
        None,
    )
    .await
    .refused(403, "NoPermission");
    let tokenless = Key {
        token: None,
        ..session.clone()
    };
    http.rpc(Rpc::Get, &tokenless, STS, "GetCallerIdentity", &[])
        .await
        .refused(400, "MissingSecurityToken");
    let root_identity = http
        .rpc(Rpc::Get, &root, STS, "GetCallerIdentity", &[])
        .await
        .ok();
    assert_eq!(root_identity["IdentityType"], "Account");
    http.rpc(
        Rpc::Get,
        &root,
        STS,
        "AssumeRole",
        &[("RoleArn", &role_arn), ("RoleSessionName", "root")],
    )
    .await
    .refused(403, "NoPermission");
    http.rpc(
        Rpc::Get,
        &alice,
        STS,
        "AssumeRole",
        &[
            ("RoleArn", &format!("acs:ram::{acct}:role/nope")),
            ("RoleSessionName", "x"),
        ],
    )
    .await
    .refused(403, "NoPermission");

    // Policies, versions, deletion conflicts.
    let version = http
        .acs3(
            &root,
            RAM,
            "CreatePolicyVersion",
            &[("PolicyName", "AliceSelf"), ("SetAsDefault", "true")],
            Some(&[("PolicyDocument", &document)]),
        )
        .await
        .ok();
    assert_eq!(version["PolicyVersion"]["VersionId"], "v2");
    assert_eq!(version["PolicyVersion"]["IsDefaultVersion"], true);
    let policy = http
        .rpc(
            Rpc::Get,
            &root,
            RAM,
            "GetPolicy",
            &[("PolicyName", "AliceSelf"), ("PolicyType", "Custom")],
        )
        .await
        .ok();
    assert_eq!(policy["Policy"]["DefaultVersion"], "v2");
    assert_eq!(policy["Policy"]["AttachmentCount"], 1);
    assert_eq!(policy["DefaultPolicyVersion"]["VersionId"], "v2");
    let versions = http
        .rpc(
            Rpc::Get,
            &root,
            RAM,
            "ListPolicyVersions",
            &[("PolicyName", "AliceSelf"), ("PolicyType", "Custom")],
        )
        .await
        .ok();
    assert_eq!(
        versions["PolicyVersions"]["PolicyVersion"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let conflict = http
        .rpc(Rpc::Get, &root, RAM, "DeleteUser", &[("UserName", "alice")])
        .await;
    assert_eq!(conflict.status, 409, "{conflict:?}");
    assert!(
        conflict.json["Code"]
            .as_str()
            .unwrap()
            .starts_with("DeleteConflict.User."),
        "{conflict:?}"
    );
    http.rpc(Rpc::Get, &root, RAM, "DeleteUser", &[("UserName", "bob")])
        .await
        .ok();
    let summary = http
        .rpc(Rpc::Get, &root, RAM, "GetAccountSummary", &[])
        .await
        .ok();
    assert_eq!(summary["SummaryMap"]["Users"], 2);

    // Another account's root sees none of it.
    let other: AccountId = server.store.create_account("other").await.unwrap().value.id;
    let (other_id, other_secret, _) = server.key_for(&other, None).await;
    http.rpc(
        Rpc::Get,
        &Key::new(&other_id, &other_secret),
        RAM,
        "GetUser",
        &[("UserName", "alice")],
    )
    .await
    .refused(404, "EntityNotExist.User");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alibaba_api_on_sqlite() {
    scenario(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alibaba_api_on_postgres() {
    scenario(Backend::Postgres).await;
}

/// The per-account rate limits apply to Alibaba's API too: over the limit, `Throttling.User`
/// with the retry hints the SDKs read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_answer_throttling_user() {
    let server = TestServer::start_with(Backend::Sqlite, "compat_http", |config| {
        config.limits.rate_limits = [("GetUser".to_owned(), 1)].into();
    })
    .await;
    let http = Client {
        addr: server.running.addr,
    };
    let account: AccountId = server.store.create_account("acme").await.unwrap().value.id;
    let (root_id, root_secret, _) = server.key_for(&account, None).await;
    let root = Key::new(&root_id, &root_secret);
    http.rpc(
        Rpc::PostForm,
        &root,
        RAM,
        "CreateUser",
        &[("UserName", "alice")],
    )
    .await
    .ok();
    // A burst of one per second: the second GetUser within the second is refused.
    let mut throttled = None;
    for _ in 0..5 {
        let answer = http
            .rpc(Rpc::Get, &root, RAM, "GetUser", &[("UserName", "alice")])
            .await;
        if answer.status != 200 {
            throttled = Some(answer);
            break;
        }
    }
    let answer = throttled.expect("five GetUser calls in a row were all allowed at 1/s");
    let answer = answer.refused(429, "Throttling.User");
    let retry_ms: u64 = answer.header("x-acs-retry-after").unwrap().parse().unwrap();
    assert!(retry_ms > 0 && retry_ms <= 1000, "{answer:?}");
    // Other operations are not limited.
    http.rpc(Rpc::Get, &root, RAM, "ListUsers", &[]).await.ok();
    server.stop().await;
}
