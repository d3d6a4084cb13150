#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! The audit trail end to end, on SQLite and PostgreSQL: RAM mutations (allowed, failed,
//! denied), AssumeRole (granted and refused), sign-ins (failed and successful), Authorize
//! decisions (denied always, allowed when sampled) and operator mutations are recorded with
//! their fields, never with a secret; `LookupEvents` filters, pages and stays inside the
//! caller's account; a full buffer drops and counts instead of blocking; retention prunes.

mod support;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use support::{Backend, SignedChannel, TestServer, assert_code};
use tessera_proto::v1 as pb;
use tessera_proto::v1::audit_client::AuditClient;
use tessera_proto::v1::authorizer_client::AuthorizerClient;
use tessera_proto::v1::operator_client::OperatorClient;
use tessera_proto::v1::ram_client::RamClient;
use tessera_proto::v1::sts_client::StsClient;
use tessera_store::{AccountId, AccountStore as _, AuditDecision, AuditEvent, SystemStore as _};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tonic::Code;

const PASSWORD: &str = "Correct-Horse-9";
const WRONG_PASSWORD: &str = "Wrong-Horse-42";

macro_rules! both {
    ($scenario:ident, $sqlite:ident, $postgres:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $sqlite() {
            $scenario(Backend::Sqlite).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $postgres() {
            $scenario(Backend::Postgres).await;
        }
    };
}

both!(
    the_trail_records_what_happened_and_finds_it,
    the_trail_records_what_happened_and_finds_it_sqlite,
    the_trail_records_what_happened_and_finds_it_postgres
);

// --- calling ---

fn lookup(
    event_name: &str,
    principal_arn: &str,
    max_results: u32,
    next_token: &str,
) -> pb::LookupEventsRequest {
    pb::LookupEventsRequest {
        event_name: event_name.into(),
        principal_arn: principal_arn.into(),
        max_results,
        next_token: next_token.into(),
        ..Default::default()
    }
}

/// Every event matching `request`, following `NextToken` page by page.
async fn all_events(
    channel: &SignedChannel,
    request: pb::LookupEventsRequest,
) -> Vec<pb::AuditEvent> {
    let mut audit = AuditClient::new(channel.clone());
    let mut events = Vec::new();
    let mut request = request;
    loop {
        let page = audit
            .lookup_events(request.clone())
            .await
            .unwrap()
            .into_inner();
        assert!(page.events.len() <= request.max_results.max(20) as usize);
        events.extend(page.events);
        if page.next_token.is_empty() {
            return events;
        }
        request.next_token = page.next_token;
    }
}

/// Polls until `count` events match `request` (the writer stores them off the request path).
async fn events_eventually(
    channel: &SignedChannel,
    request: pb::LookupEventsRequest,
    count: usize,
) -> Vec<pb::AuditEvent> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let events = all_events(channel, request.clone()).await;
        if events.len() >= count {
            assert_eq!(events.len(), count, "{events:#?}");
            return events;
        }
        assert!(Instant::now() < deadline, "only {events:#?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn ask(principal: &str, action: &str, resource: &str) -> pb::AuthorizeRequest {
    pb::AuthorizeRequest {
        subject: Some(pb::Subject {
            kind: Some(pb::subject::Kind::PrincipalArn(principal.into())),
            source_ip: "203.0.113.9".into(),
            secure_transport: false,
        }),
        item: Some(pb::AuthorizeItem {
            action: action.into(),
            resource: resource.into(),
            context: Vec::new(),
        }),
        min_revision: 0,
        explain: false,
    }
}

fn with_request_id<T>(message: T, id: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("x-request-id", id.parse().unwrap());
    request
}

/// `GET path` over plain HTTP/1.1: the body.
async fn http_get(addr: SocketAddr, path: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8(response).unwrap();
    text.split_once("\r\n\r\n").unwrap().1.to_owned()
}

/// The value of `metric`'s sample whose labels include `labels`.
fn sample(exposition: &str, metric: &str, labels: &str) -> Option<f64> {
    exposition.lines().find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let rest = series.strip_prefix(metric)?;
        ((rest.is_empty() || rest.starts_with('{')) && rest.contains(labels))
            .then(|| value.parse().ok())
            .flatten()
    })
}

// --- scenarios ---

async fn the_trail_records_what_happened_and_finds_it(backend: Backend) {
    let server = TestServer::start_with(backend, "tessera_audit_test", |config| {
        config.audit.sample_allowed = 1.0;
    })
    .await;
    let a: AccountId = server
        .store
        .create_account("audited")
        .await
        .unwrap()
        .value
        .id;
    let (_, _, root) = server.key_for(&a, None).await;
    let root_arn = format!("acs:ram::{a}:root");
    let alice_arn = format!("acs:ram::{a}:user/alice");
    let mut ram = RamClient::new(root.clone());

    // RAM mutations: allowed, failed; reads are not recorded.
    ram.create_user(with_request_id(
        pb::CreateUserRequest {
            user_name: "alice".into(),
            ..Default::default()
        },
        "audit-test-create-alice",
    ))
    .await
    .unwrap();
    let duplicate = ram
        .create_user(pb::CreateUserRequest {
            user_name: "alice".into(),
            ..Default::default()
        })
        .await;
    assert_code(duplicate, Code::AlreadyExists, "EntityAlreadyExists.User");
    ram.get_user(pb::GetUserRequest {
        user_name: "alice".into(),
    })
    .await
    .unwrap();
    let key = ram
        .create_access_key(pb::CreateAccessKeyRequest {
            user_name: "alice".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let key_id = key.access_key.unwrap().access_key_id;
    ram.create_login_profile(pb::LoginProfileRequest {
        user_name: "alice".into(),
        password: PASSWORD.into(),
        ..Default::default()
    })
    .await
    .unwrap();
    ram.create_role(pb::CreateRoleRequest {
        role_name: "deploy".into(),
        assume_role_policy_document: format!(
            r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{{"RAM":"acs:ram::{a}:root"}}}}]}}"#
        ),
        ..Default::default()
    })
    .await
    .unwrap();
    ram.create_policy(pb::CreatePolicyRequest {
        policy_name: "assume-deploy".into(),
        policy_document: format!(
            r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"acs:ram::{a}:role/deploy"}}]}}"#
        ),
        ..Default::default()
    })
    .await
    .unwrap();
    ram.attach_policy(pb::AttachmentRequest {
        target_kind: pb::TargetKind::User as i32,
        target_name: "alice".into(),
        policy_name: "assume-deploy".into(),
        policy_type: "Custom".into(),
    })
    .await
    .unwrap();

    // Alice: a denied mutation, a granted and a refused AssumeRole.
    let alice = server.signed(&key_id, &key.access_key_secret.as_str().into());
    let denied = RamClient::new(alice.clone())
        .create_user(pb::CreateUserRequest {
            user_name: "mallory".into(),
            ..Default::default()
        })
        .await;
    assert_code(denied, Code::PermissionDenied, "NoPermission");
    let mut sts = StsClient::new(alice.clone());
    let deadline = Instant::now() + Duration::from_secs(10);
    let assumed = loop {
        // The attachment reaches alice's cached permissions through the change feed.
        match sts
            .assume_role(pb::AssumeRoleRequest {
                role_arn: format!("acs:ram::{a}:role/deploy"),
                role_session_name: "ci".into(),
                ..Default::default()
            })
            .await
        {
            Ok(answer) => break answer.into_inner(),
            Err(status) => {
                assert!(Instant::now() < deadline, "{status:?}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    let session_secret = assumed.credentials.unwrap().access_key_secret;
    let refused = sts
        .assume_role(pb::AssumeRoleRequest {
            role_arn: format!("acs:ram::{a}:role/other"),
            role_session_name: "ci".into(),
            ..Default::default()
        })
        .await;
    assert_code(refused, Code::PermissionDenied, "NoPermission");

    // Sign-ins: a wrong password, then the right one.
    let mut anonymous = StsClient::new(root.clone());
    let sign_in = |password: &str| pb::SignInRequest {
        account_id: a.as_str().to_owned(),
        user_name: "alice".into(),
        password: password.into(),
        mfa_code: String::new(),
    };
    assert_code(
        anonymous.sign_in(sign_in(WRONG_PASSWORD)).await,
        Code::Unauthenticated,
        "AuthenticationFail.Password",
    );
    anonymous.sign_in(sign_in(PASSWORD)).await.unwrap();

    // Authorize: a denied decision and (sampled at 1.0 here) an allowed one.
    let mut authorizer = AuthorizerClient::new(root.clone());
    let bucket = format!("acs:oss:*:{a}:bucket/report.csv");
    let answer = authorizer
        .authorize(ask(&alice_arn, "oss:GetObject", &bucket))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        answer.result.unwrap().decision,
        pb::Decision::ImplicitDeny as i32
    );
    let deploy = format!("acs:ram::{a}:role/deploy");
    let answer = authorizer
        .authorize(ask(&alice_arn, "sts:AssumeRole", &deploy))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.result.unwrap().decision, pb::Decision::Allow as i32);

    // --- what the trail holds ---

    let created = events_eventually(&root, lookup("CreateUser", "", 0, ""), 3).await;
    // Newest first: mallory (denied), alice again (failed), alice.
    let ids: Vec<u64> = created
        .iter()
        .map(|e| e.event_id.parse().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");
    let [mallory, again, first] = &created[..] else {
        panic!("{created:#?}")
    };
    assert_eq!(first.event_name, "CreateUser");
    assert_eq!(first.action, "ram:CreateUser");
    assert_eq!(first.account_id, a.as_str());
    assert_eq!(first.principal_arn, root_arn);
    assert_eq!(first.resource, alice_arn);
    assert_eq!(first.decision, "Allow");
    assert_eq!(first.error_code, "");
    assert_eq!(first.source_ip_address, "127.0.0.1");
    assert_eq!(first.request_id, "audit-test-create-alice");
    let age = Timestamp::now().as_second() - first.event_time.as_ref().unwrap().seconds;
    assert!((0..600).contains(&age), "{first:?}");
    assert_eq!(again.decision, "Error");
    assert_eq!(again.error_code, "EntityAlreadyExists.User");
    assert_eq!(
        again.request_id.len(),
        36,
        "a generated request id: {again:?}"
    );
    assert_eq!(mallory.decision, "Deny");
    assert_eq!(mallory.error_code, "NoPermission");
    assert_eq!(mallory.principal_arn, alice_arn);
    assert_eq!(mallory.resource, format!("acs:ram::{a}:user/mallory"));

    // Two resources of an attachment; reads are not recorded.
    let attached = events_eventually(&root, lookup("AttachPolicyToUser", "", 0, ""), 1).await;
    assert_eq!(
        attached[0].resource,
        format!("acs:ram::{a}:user/alice,acs:ram::{a}:policy/assume-deploy")
    );
    assert!(
        all_events(&root, lookup("GetUser", "", 0, ""))
            .await
            .is_empty()
    );

    let assumes = events_eventually(&root, lookup("AssumeRole", "", 0, ""), 2).await;
    assert_eq!(assumes[0].decision, "Deny");
    assert_eq!(assumes[0].error_code, "NoPermission");
    assert_eq!(assumes[0].resource, format!("acs:ram::{a}:role/other"));
    assert_eq!(assumes[1].decision, "Allow");
    assert_eq!(assumes[1].action, "sts:AssumeRole");
    assert_eq!(assumes[1].principal_arn, alice_arn);
    assert_eq!(assumes[1].resource, deploy);
    assert!(
        assumes[1].detail.contains(r#""RoleSessionName":"ci""#),
        "{:?}",
        assumes[1]
    );

    let sign_ins = events_eventually(&root, lookup("SignIn", "", 0, ""), 2).await;
    assert_eq!(sign_ins[0].decision, "Allow");
    assert_eq!(sign_ins[1].decision, "Deny");
    assert_eq!(sign_ins[1].error_code, "AuthenticationFail.Password");
    assert_eq!(sign_ins[1].principal_arn, alice_arn);
    assert_eq!(sign_ins[1].source_ip_address, "127.0.0.1");

    let decisions = events_eventually(&root, lookup("Authorize", "", 0, ""), 2).await;
    let (allowed, denied) = (&decisions[0], &decisions[1]);
    assert_eq!(denied.decision, "Deny");
    assert_eq!(denied.principal_arn, alice_arn);
    assert_eq!(denied.action, "oss:GetObject");
    assert_eq!(denied.resource, bucket);
    assert_eq!(denied.source_ip_address, "203.0.113.9");
    let detail: serde_json::Value = serde_json::from_str(&denied.detail).unwrap();
    assert_eq!(detail["Asker"], root_arn.as_str());
    assert_eq!(detail["Decision"], "ImplicitDeny");
    assert_eq!(allowed.decision, "Allow");
    assert_eq!(allowed.action, "sts:AssumeRole");

    // By principal: everything alice did or was decided about, and nothing else.
    let by_alice = all_events(&root, lookup("", &alice_arn, 0, "")).await;
    assert_eq!(by_alice.len(), 1 + 2 + 2 + 2, "{by_alice:#?}");
    assert!(by_alice.iter().all(|e| e.principal_arn == alice_arn));

    // Pages of two cover everything once, newest first.
    let everything = all_events(&root, lookup("", "", 50, "")).await;
    let paged = all_events(&root, lookup("", "", 2, "")).await;
    assert_eq!(paged, everything);
    let ids: BTreeSet<&str> = paged.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(ids.len(), paged.len());

    // Time ranges.
    let now = Timestamp::now().as_second();
    let at = |seconds| Some(prost_types::Timestamp { seconds, nanos: 0 });
    let in_range = all_events(
        &root,
        pb::LookupEventsRequest {
            start_time: at(now - 600),
            end_time: at(now + 600),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(in_range, everything);
    let later = all_events(
        &root,
        pb::LookupEventsRequest {
            start_time: at(now + 600),
            ..Default::default()
        },
    )
    .await;
    assert!(later.is_empty());

    // Bad parameters.
    let mut audit = AuditClient::new(root.clone());
    assert_code(
        audit.lookup_events(lookup("", "", 0, "not-a-token")).await,
        Code::InvalidArgument,
        "InvalidParameter.NextToken",
    );
    assert_code(
        audit.lookup_events(lookup("", "", 51, "")).await,
        Code::InvalidArgument,
        "InvalidParameter.MaxResults.Range",
    );
    assert_code(
        audit
            .lookup_events(pb::LookupEventsRequest {
                start_time: at(now),
                end_time: at(now - 1),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        "InvalidParameter.TimeRange",
    );

    // Alice may not read the trail; other accounts see nothing of it.
    assert_code(
        AuditClient::new(alice.clone())
            .lookup_events(lookup("", "", 0, ""))
            .await,
        Code::PermissionDenied,
        "NoPermission",
    );
    let operator_view = all_events(&server.root, lookup("", "", 50, "")).await;
    assert!(
        operator_view
            .iter()
            .all(|e| e.account_id == server.operator.as_str())
    );
    assert!(
        all_events(&server.root, lookup("", &alice_arn, 0, ""))
            .await
            .is_empty()
    );

    // Operator mutations are recorded in the operator's account.
    OperatorClient::new(server.root.clone())
        .create_account(pb::CreateAccountRequest {
            name: "another".into(),
        })
        .await
        .unwrap();
    let accounts = events_eventually(&server.root, lookup("CreateAccount", "", 0, ""), 1).await;
    assert_eq!(accounts[0].action, "tessera:CreateAccount");
    assert_eq!(accounts[0].account_id, server.operator.as_str());

    // No secret anywhere: passwords, the access key secret, the session's secret.
    let everything = all_events(&root, lookup("", "", 50, "")).await;
    let text = format!("{everything:?}");
    for secret in [
        PASSWORD,
        WRONG_PASSWORD,
        key.access_key_secret.as_str(),
        session_secret.as_str(),
    ] {
        assert!(!text.contains(secret), "a secret in the trail: {text}");
    }
    server.stop().await;
}

/// A subject without policies (every item denied), named by ARN, in `account`.
async fn denied_subject(server: &TestServer) -> pb::Subject {
    let account = server.operator.as_str();
    RamClient::new(server.root.clone())
        .create_user(pb::CreateUserRequest {
            user_name: "nobody".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    pb::Subject {
        kind: Some(pb::subject::Kind::PrincipalArn(format!(
            "acs:ram::{account}:user/nobody"
        ))),
        ..Default::default()
    }
}

fn object(account: &str, i: usize) -> pb::AuthorizeItem {
    pb::AuthorizeItem {
        action: "oss:GetObject".into(),
        resource: format!("acs:oss:*:{account}:bucket/object-{i}"),
        context: Vec::new(),
    }
}

/// A buffer of one event takes a burst of denied decisions: every answer comes whole, the
/// overflow is dropped and counted, what fit is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_buffer_drops_and_counts_instead_of_blocking() {
    let server = TestServer::start_with(Backend::Sqlite, "tessera_audit_full", |config| {
        config.audit.buffer_capacity = 1;
    })
    .await;
    let account = server.operator.as_str().to_owned();
    let subject = denied_subject(&server).await;
    // 200 denied decisions at once, each its own event.
    let calls = (0..200).map(|i| {
        let mut client = AuthorizerClient::new(server.root.clone());
        let request = pb::AuthorizeRequest {
            subject: Some(subject.clone()),
            item: Some(object(&account, i)),
            min_revision: 0,
            explain: false,
        };
        tokio::spawn(async move { client.authorize(request).await })
    });
    let calls: Vec<_> = calls.collect();
    for call in calls {
        let answer = call.await.unwrap().unwrap().into_inner();
        assert_eq!(
            answer.result.unwrap().decision,
            pb::Decision::ImplicitDeny as i32
        );
    }

    let metrics = http_get(server.running.addr, "/metrics").await;
    let dropped = sample(&metrics, "tessera_audit_dropped_total", r#"reason="full""#)
        .unwrap_or_else(|| panic!("no drops counted:\n{metrics}"));
    assert!(dropped >= 1.0, "{dropped}");
    // What fit in the buffer is stored; the rest was dropped.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stored = all_events(&server.root, lookup("Authorize", "", 50, "")).await;
        if !stored.is_empty() {
            assert!(stored.len() < 200, "{}", stored.len());
            break;
        }
        assert!(Instant::now() < deadline, "nothing stored");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.stop().await;
}

/// A `BatchAuthorize` call is one event, however many items it denies: `Detail.Items` lists
/// each denied item with its index; allowed items (not sampled) are left out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_one_event_listing_its_denied_items() {
    let server = TestServer::start(Backend::Sqlite, "tessera_audit_batch").await;
    let account = server.operator.as_str().to_owned();
    let subject = denied_subject(&server).await;
    let items: Vec<pb::AuthorizeItem> = (0..3).map(|i| object(&account, i)).collect();
    let answer = AuthorizerClient::new(server.root.clone())
        .batch_authorize(pb::BatchAuthorizeRequest {
            subject: Some(subject),
            items,
            min_revision: 0,
            explain: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.results.len(), 3);

    let events = events_eventually(&server.root, lookup("BatchAuthorize", "", 0, ""), 1).await;
    assert_eq!(events.len(), 1, "{events:#?}");
    let event = &events[0];
    assert_eq!(event.decision, "Deny");
    assert_eq!(
        event.principal_arn,
        format!("acs:ram::{account}:user/nobody")
    );
    assert_eq!(event.action, "oss:GetObject");
    assert_eq!(
        event.resource,
        format!("acs:oss:*:{account}:bucket/object-0")
    );
    let detail: serde_json::Value = serde_json::from_str(&event.detail).unwrap();
    let listed = detail["Items"].as_array().unwrap();
    assert_eq!(listed.len(), 3, "{detail}");
    for (i, item) in listed.iter().enumerate() {
        assert_eq!(item["Index"], i);
        assert_eq!(item["Decision"], "ImplicitDeny");
        assert_eq!(
            item["Resource"],
            format!("acs:oss:*:{account}:bucket/object-{i}")
        );
    }
    // No per-item Authorize events besides.
    assert!(
        all_events(&server.root, lookup("Authorize", "", 0, ""))
            .await
            .is_empty()
    );
    server.stop().await;
}

/// Retention: events older than the retention at the given time are pruned, newer ones stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_prunes_old_events() {
    let server = TestServer::start(Backend::Sqlite, "tessera_audit_retention").await;
    let a = server.store.create_account("old").await.unwrap().value.id;
    let now = Timestamp::now();
    let event = |days_ago: i64| AuditEvent {
        account: a.clone(),
        at: now - SignedDuration::from_hours(24 * days_ago),
        request_id: format!("{days_ago}-days-ago"),
        principal: format!("acs:ram::{a}:root"),
        event_name: "CreateUser".into(),
        action: "ram:CreateUser".into(),
        resource: format!("acs:ram::{a}:user/u{days_ago}"),
        decision: AuditDecision::Allow,
        error_code: String::new(),
        source_ip: String::new(),
        detail: String::new(),
    };
    server
        .store
        .append_audit_events(&[event(400), event(91), event(89), event(1)])
        .await
        .unwrap();
    let pruned =
        tessera_server::audit::prune(&server.store, now, SignedDuration::from_hours(24 * 90))
            .await
            .unwrap();
    assert_eq!(pruned, 2);
    let left: Vec<String> = server
        .store
        .list_audit_events(&a, &tessera_store::AuditQuery::default())
        .await
        .unwrap()
        .into_iter()
        .map(|(_, e)| e.request_id)
        .collect();
    assert_eq!(left, ["89-days-ago", "1-days-ago"]);
    server.stop().await;
}
