#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! The production surface of a real server, on SQLite and PostgreSQL: Prometheus `/metrics`
//! after real calls (RPC counters, errors by code, decisions, token issuance, caches, store
//! latency, change-feed lag; never a secret), request ids echoed in the response metadata,
//! load shedding at the concurrency limit, per-RPC timeouts and the per-account `AssumeRole`
//! rate limit; and the real binary exporting its RPC spans over OTLP to a collector, as
//! children of the caller's W3C trace context.

mod support;

use std::marker::PhantomData;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use support::{Backend, RawCodec, SignedChannel, TestServer, assert_code};
use tessera_proto::v1 as pb;
use tessera_proto::v1::authorizer_client::AuthorizerClient;
use tessera_proto::v1::ram_client::RamClient;
use tessera_proto::v1::sts_client::StsClient;
use tessera_server::auth::ERROR_CODE_TRAILER;
use tessera_store::{
    AccountId, AccountStore as _, NewPolicy, NewRole, NewUser, PolicyStore as _, PolicyType,
    RoleStore as _, Target, UserStore as _,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tonic::Code;
use tonic::transport::Endpoint;

/// `both!(scenario, …)`: one test per backend for each `async fn scenario(Backend)`.
macro_rules! both {
    ($($scenario:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    super::$scenario(crate::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    super::$scenario(crate::Backend::Postgres).await;
                }
            )*
        }
    };
}

both!(
    metrics_count_rpcs_decisions_tokens_and_caches_without_secrets,
    request_ids_are_echoed,
    a_full_server_sheds_at_once_and_health_still_answers,
    a_slow_call_ends_at_the_timeout,
    assume_role_is_rate_limited_per_account,
    spans_reach_an_otlp_collector_under_the_callers_trace,
);

// --- arranging ---

const PREFIX: &str = "tessera_observability";

/// A user `name` in `account` allowed to assume every role, and a role `Reader` its account's
/// users may assume. Returns the role's ARN.
async fn assumable_role(server: &TestServer, account: &AccountId, user: &str) -> String {
    server
        .store
        .create_user(
            account,
            &NewUser {
                name: user.into(),
                ..NewUser::default()
            },
        )
        .await
        .unwrap();
    server
        .store
        .create_policy(
            account,
            &NewPolicy {
                name: "AssumeAll".into(),
                document: r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#.into(),
                description: None,
            },
        )
        .await
        .unwrap();
    server
        .store
        .attach_policy(account, Target::User(user), PolicyType::Custom, "AssumeAll")
        .await
        .unwrap();
    server
        .store
        .create_role(
            account,
            &NewRole {
                name: "Reader".into(),
                trust_policy: format!(
                    r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{{"RAM":"acs:ram::{account}:root"}}}}]}}"#
                ),
                description: None,
                max_session_duration: None,
            },
        )
        .await
        .unwrap();
    format!("acs:ram::{account}:role/Reader")
}

async fn assume_role(
    channel: &SignedChannel,
    role_arn: &str,
    session: &str,
) -> Result<tonic::Response<pb::AssumeRoleResponse>, tonic::Status> {
    StsClient::new(channel.clone())
        .assume_role(pb::AssumeRoleRequest {
            role_arn: role_arn.into(),
            role_session_name: session.into(),
            ..Default::default()
        })
        .await
}

async fn identity(
    channel: &SignedChannel,
) -> Result<tonic::Response<pb::GetCallerIdentityResponse>, tonic::Status> {
    StsClient::new(channel.clone())
        .get_caller_identity(pb::GetCallerIdentityRequest {})
        .await
}

/// `GET path` over plain HTTP/1.1: the status code and the body.
async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
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
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    // Chunked bodies: the exposition has no line that is a bare hex number, so dropping the
    // chunk-size lines is enough for reading samples.
    (status, body.to_owned())
}

/// The value of the sample of `metric` whose labels include every one of `labels`
/// (`name="value"`), if there is one.
fn sample(exposition: &str, metric: &str, labels: &[&str]) -> Option<f64> {
    exposition.lines().find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let rest = series.strip_prefix(metric)?;
        let matches =
            (rest.is_empty() || rest.starts_with('{')) && labels.iter().all(|l| rest.contains(l));
        matches.then(|| value.parse().ok()).flatten()
    })
}

#[track_caller]
fn positive(exposition: &str, metric: &str, labels: &[&str]) {
    let value = sample(exposition, metric, labels)
        .unwrap_or_else(|| panic!("no {metric} {labels:?} in\n{exposition}"));
    assert!(value > 0.0, "{metric} {labels:?} = {value}");
}

/// A call that never finishes on its own: a request whose body never comes, with an
/// ACS3 `authorization` so the server waits for the body to verify it. Runs until aborted.
fn hanging_call(addr: SocketAddr) -> tokio::task::JoinHandle<Result<(), tonic::Status>> {
    tokio::spawn(async move {
        let channel = Endpoint::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut grpc = tonic::client::Grpc::new(channel);
        grpc.ready().await.unwrap();
        let mut request = tonic::Request::new(tokio_stream::pending::<Vec<u8>>());
        request.metadata_mut().insert(
            "authorization",
            "ACS3-HMAC-SHA256 Credential=LTAInever,SignedHeaders=host,Signature=00"
                .parse()
                .unwrap(),
        );
        grpc.client_streaming(
            request,
            tonic::codegen::http::uri::PathAndQuery::from_static(
                "/tessera.v1.Sts/GetCallerIdentity",
            ),
            RawCodec::<pb::GetCallerIdentityResponse>(PhantomData),
        )
        .await
        .map(|_| ())
    })
}

/// Polls `check` every 20 ms until it returns true, failing after 10 s.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(Instant::now() < deadline, "{what}: not within 10 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// --- scenarios ---

async fn metrics_count_rpcs_decisions_tokens_and_caches_without_secrets(backend: Backend) {
    let server = TestServer::start(backend, PREFIX).await;
    let account = server.operator.clone();
    let role_arn = assumable_role(&server, &account, "alice").await;
    let (_, alice_secret, alice) = server.key_for(&account, Some("alice")).await;

    identity(&server.root).await.unwrap();
    identity(&server.root).await.unwrap();
    assert_code(
        RamClient::new(server.root.clone())
            .get_user(pb::GetUserRequest {
                user_name: "nobody".into(),
            })
            .await,
        Code::NotFound,
        "EntityNotExist.User",
    );
    let assumed = assume_role(&alice, &role_arn, "metrics")
        .await
        .unwrap()
        .into_inner();
    let credentials = assumed.credentials.unwrap();
    let decided = AuthorizerClient::new(server.root.clone())
        .authorize(pb::AuthorizeRequest {
            subject: Some(pb::Subject {
                kind: Some(pb::subject::Kind::PrincipalArn(format!(
                    "acs:ram::{account}:user/alice"
                ))),
                ..Default::default()
            }),
            item: Some(pb::AuthorizeItem {
                action: "sts:AssumeRole".into(),
                resource: role_arn.clone(),
                context: Vec::new(),
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(decided.result.unwrap().decision, pb::Decision::Allow as i32);

    let (status, metrics) = http_get(server.running.addr, "/metrics").await;
    assert_eq!(status, 200, "{metrics}");
    positive(
        &metrics,
        "tessera_rpc_requests_total",
        &[
            r#"method="tessera.v1.Sts/GetCallerIdentity""#,
            r#"grpc_code="OK""#,
        ],
    );
    assert!(
        sample(
            &metrics,
            "tessera_rpc_requests_total",
            &[
                r#"method="tessera.v1.Sts/GetCallerIdentity""#,
                r#"grpc_code="OK""#
            ]
        )
        .unwrap()
            >= 2.0
    );
    positive(
        &metrics,
        "tessera_rpc_errors_total",
        &[
            r#"method="tessera.v1.Ram/GetUser""#,
            r#"grpc_code="NOT_FOUND""#,
            r#"error_code="EntityNotExist.User""#,
        ],
    );
    positive(
        &metrics,
        "tessera_rpc_duration_seconds_count",
        &[r#"method="tessera.v1.Sts/AssumeRole""#],
    );
    positive(
        &metrics,
        "tessera_rpc_duration_seconds_bucket",
        &[
            r#"method="tessera.v1.Authorizer/Authorize""#,
            r#"le="+Inf""#,
        ],
    );
    positive(
        &metrics,
        "tessera_authorize_decisions_total",
        &[r#"decision="Allow""#],
    );
    positive(
        &metrics,
        "tessera_tokens_issued_total",
        &[r#"kind="AssumeRole""#],
    );
    positive(
        &metrics,
        "tessera_cache_requests_total",
        &[r#"cache="access_keys""#, r#"result="hit""#],
    );
    positive(
        &metrics,
        "tessera_cache_requests_total",
        &[r#"cache="principals""#, r#"result="miss""#],
    );
    positive(
        &metrics,
        "tessera_cache_entries",
        &[r#"cache="principals""#],
    );
    positive(
        &metrics,
        "tessera_store_duration_seconds_count",
        &[r#"operation="load_user_principal""#],
    );
    assert!(
        sample(&metrics, "tessera_change_feed_lag_revisions", &[]).is_some(),
        "{metrics}"
    );
    assert!(metrics.contains("# TYPE tessera_rpc_duration_seconds histogram"));

    // No secret, token or tenant identifier ever appears.
    let operator_secret = String::from_utf8(server.operator_key_secret.expose().to_vec()).unwrap();
    let alice_secret = String::from_utf8(alice_secret.expose().to_vec()).unwrap();
    for secret in [
        operator_secret.as_str(),
        alice_secret.as_str(),
        credentials.access_key_secret.as_str(),
        credentials.security_token.as_str(),
        credentials.access_key_id.as_str(),
        server.operator_key_id.as_str(),
        account.as_str(),
    ] {
        assert!(!metrics.contains(secret), "{secret} in /metrics");
    }
    server.stop().await;
}

async fn request_ids_are_echoed(backend: Backend) {
    let server = TestServer::start(backend, PREFIX).await;
    let mut sts = StsClient::new(server.root.clone());

    let mut request = tonic::Request::new(pb::GetCallerIdentityRequest {});
    request
        .metadata_mut()
        .insert("x-request-id", "req-2024.abc".parse().unwrap());
    let response = sts.get_caller_identity(request).await.unwrap();
    assert_eq!(
        response.metadata().get("x-request-id").unwrap(),
        "req-2024.abc"
    );
    assert_eq!(
        response.metadata().get("x-acs-request-id").unwrap(),
        "req-2024.abc"
    );

    // Alibaba's header is accepted too.
    let mut request = tonic::Request::new(pb::GetCallerIdentityRequest {});
    request
        .metadata_mut()
        .insert("x-acs-request-id", "ACS-ID-1".parse().unwrap());
    let response = sts.get_caller_identity(request).await.unwrap();
    assert_eq!(response.metadata().get("x-request-id").unwrap(), "ACS-ID-1");

    // Without one (or with an unusable one), the server makes one.
    let generated = identity(&server.root).await.unwrap();
    let id = generated
        .metadata()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(id.len(), 36, "{id}");
    let mut request = tonic::Request::new(pb::GetCallerIdentityRequest {});
    request
        .metadata_mut()
        .insert("x-request-id", "has spaces".parse().unwrap());
    let response = sts.get_caller_identity(request).await.unwrap();
    let other = response.metadata().get("x-request-id").unwrap();
    assert_ne!(other, "has spaces");
    assert_ne!(other, id.as_str());

    // Errors carry it as well.
    let mut request = tonic::Request::new(pb::GetUserRequest {
        user_name: "nobody".into(),
    });
    request
        .metadata_mut()
        .insert("x-request-id", "failing-1".parse().unwrap());
    let status = RamClient::new(server.root.clone())
        .get_user(request)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(status.metadata().get("x-request-id").unwrap(), "failing-1");
    server.stop().await;
}

async fn a_full_server_sheds_at_once_and_health_still_answers(backend: Backend) {
    let server = TestServer::start_with(backend, PREFIX, |config| {
        config.limits.max_concurrent_requests = 1;
    })
    .await;
    identity(&server.root).await.unwrap();

    // No other call runs while the hanging one starts (it would be the one shed); `/metrics`
    // is HTTP, outside the limit.
    let slow = hanging_call(server.running.addr);
    eventually("the hanging call takes the slot", || async {
        assert!(!slow.is_finished(), "the hanging call ended: {slow:?}");
        let (_, metrics) = http_get(server.running.addr, "/metrics").await;
        sample(&metrics, "tessera_rpc_in_flight", &[]).is_some_and(|n| n >= 1.0)
    })
    .await;
    let started = Instant::now();
    let refused = identity(&server.root).await;
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(1), "shed after {elapsed:?}");
    let status = refused.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert_eq!(
        status.message(),
        "Throttling: Request was denied due to request throttling."
    );
    assert_eq!(
        status.metadata().get(ERROR_CODE_TRAILER).unwrap(),
        "Throttling"
    );

    // Health is never shed.
    let channel = Endpoint::from_shared(format!("http://{}", server.running.addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let health = tonic_health::pb::health_client::HealthClient::new(channel)
        .check(tonic_health::pb::HealthCheckRequest {
            service: "tessera.v1.Sts".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        health.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );

    // The slot comes back when the hanging call goes away.
    slow.abort();
    let _ = slow.await;
    eventually("the slot is given back", || async {
        identity(&server.root).await.is_ok()
    })
    .await;
    let (_, metrics) = http_get(server.running.addr, "/metrics").await;
    positive(&metrics, "tessera_rpc_shed_total", &[]);
    positive(
        &metrics,
        "tessera_rpc_errors_total",
        &[
            r#"grpc_code="RESOURCE_EXHAUSTED""#,
            r#"error_code="Throttling""#,
        ],
    );
    server.stop().await;
}

async fn a_slow_call_ends_at_the_timeout(backend: Backend) {
    let server = TestServer::start_with(backend, PREFIX, |config| {
        config.limits.request_timeout = Duration::from_millis(300);
    })
    .await;
    let started = Instant::now();
    let ended = hanging_call(server.running.addr).await.unwrap();
    let elapsed = started.elapsed();
    let status = ended.unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert_eq!(
        status.message(),
        "RequestTimeout: The request did not complete within its deadline."
    );
    assert!(
        elapsed >= Duration::from_millis(300) && elapsed < Duration::from_secs(1),
        "{elapsed:?}"
    );
    // Quick calls are unaffected.
    identity(&server.root).await.unwrap();
    server.stop().await;
}

async fn assume_role_is_rate_limited_per_account(backend: Backend) {
    let server = TestServer::start_with(backend, PREFIX, |config| {
        config.limits.rate_limits = [("AssumeRole".to_owned(), 1)].into();
    })
    .await;
    let a = server.store.create_account("a").await.unwrap().value.id;
    let b = server.store.create_account("b").await.unwrap().value.id;
    let role_a = assumable_role(&server, &a, "alice").await;
    let role_b = assumable_role(&server, &b, "bob").await;
    let (_, _, alice) = server.key_for(&a, Some("alice")).await;
    let (_, _, root_a) = server.key_for(&a, None).await;
    let (_, _, bob) = server.key_for(&b, Some("bob")).await;

    assume_role(&alice, &role_a, "first").await.unwrap();
    // The account's budget (1/s) is spent: its next call is refused, whoever makes it.
    for channel in [&alice, &root_a] {
        let status = assume_role(channel, &role_a, "second").await.unwrap_err();
        assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
        assert_eq!(
            status.message(),
            "Throttling.User: Request was denied due to user flow control."
        );
        assert_eq!(
            status.metadata().get(ERROR_CODE_TRAILER).unwrap(),
            "Throttling.User"
        );
        assert_eq!(status.metadata().get("retry-after").unwrap(), "1");
        let pushback: u64 = status
            .metadata()
            .get("grpc-retry-pushback-ms")
            .unwrap()
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=1000).contains(&pushback), "{pushback}");
    }
    // Another account has its own budget; other operations are not limited.
    assume_role(&bob, &role_b, "first").await.unwrap();
    identity(&alice).await.unwrap();

    let (_, metrics) = http_get(server.running.addr, "/metrics").await;
    positive(
        &metrics,
        "tessera_rate_limited_total",
        &[r#"operation="AssumeRole""#],
    );
    server.stop().await;
}

// --- OTLP export (the real binary: telemetry is installed by `main`) ---

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;

/// An OTLP/gRPC trace receiver that hands every span to the test.
struct Collector(tokio::sync::mpsc::UnboundedSender<Span>);

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        for resource in request.into_inner().resource_spans {
            for scope in resource.scope_spans {
                for span in scope.spans {
                    let _ = self.0.send(span);
                }
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

fn attribute(span: &Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
        .map(|v| match v {
            AnyValue::StringValue(s) => s.clone(),
            AnyValue::IntValue(i) => i.to_string(),
            other => format!("{other:?}"),
        })
}

/// A free port on 127.0.0.1 (bound and released: the server binds it right after).
async fn free_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

async fn spans_reach_an_otlp_collector_under_the_callers_trace(backend: Backend) {
    let (spans_tx, mut spans) = tokio::sync::mpsc::unbounded_channel();
    let collector = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let collector_addr = collector.local_addr().unwrap();
    let receiver = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(Collector(spans_tx)))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(collector)),
    );

    let postgres = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(support::Postgres::create(PREFIX).await),
    };
    let dir = tempfile::tempdir().unwrap();
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port().await).parse().unwrap();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_tesserad"));
    command
        .args(["serve", "--listen", &addr.to_string()])
        .arg("--data-dir")
        .arg(dir.path())
        .env_clear()
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://{collector_addr}"),
        )
        .env("OTEL_BSP_SCHEDULE_DELAY", "20")
        // The log filter silences the logs, not the exported spans.
        .env("RUST_LOG", "warn")
        .kill_on_drop(true);
    if let Some(postgres) = &postgres {
        command.env("TESSERA_DATABASE_URL", &postgres.url);
    }
    let mut child = command.spawn().unwrap();
    let operator = dir.path().join("operator.json");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(child.try_wait().unwrap().is_none(), "tesserad exited");
        let written = std::fs::read_to_string(&operator)
            .ok()
            .is_some_and(|t| serde_json::from_str::<serde_json::Value>(&t).is_ok());
        if written && tokio::net::TcpStream::connect(addr).await.is_ok() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "tesserad not serving within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&operator).unwrap()).unwrap();
    let account = json["AccountId"].as_str().unwrap().to_owned();
    let key_secret = json["AccessKeySecret"].as_str().unwrap().to_owned();
    let root = SignedChannel::connect(
        addr,
        support::ClientCredential::AccessKey {
            id: json["AccessKeyId"].as_str().unwrap().to_owned(),
            secret: tessera_credentials::Secret::from(key_secret.as_str()),
            security_token: None,
        },
    )
    .await;

    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let parent_span_id = "00f067aa0ba902b7";
    let mut request = tonic::Request::new(pb::GetCallerIdentityRequest {});
    let metadata = request.metadata_mut();
    metadata.insert(
        "traceparent",
        format!("00-{trace_id}-{parent_span_id}-01")
            .parse()
            .unwrap(),
    );
    metadata.insert("x-request-id", "traced-1".parse().unwrap());
    StsClient::new(root.clone())
        .get_caller_identity(request)
        .await
        .unwrap();

    let span = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let span = spans.recv().await.unwrap();
            if span.name == "tessera.v1.Sts/GetCallerIdentity" {
                return span;
            }
        }
    })
    .await
    .expect("no span of the call reached the collector");
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    assert_eq!(hex(&span.trace_id), trace_id, "the caller's trace");
    assert_eq!(
        hex(&span.parent_span_id),
        parent_span_id,
        "the caller's span is the parent"
    );
    assert_eq!(span.kind, 2, "SPAN_KIND_SERVER");
    assert_eq!(attribute(&span, "rpc.system").as_deref(), Some("grpc"));
    assert_eq!(
        attribute(&span, "rpc.service").as_deref(),
        Some("tessera.v1.Sts")
    );
    assert_eq!(
        attribute(&span, "rpc.method").as_deref(),
        Some("GetCallerIdentity")
    );
    assert_eq!(attribute(&span, "request_id").as_deref(), Some("traced-1"));
    assert_eq!(
        attribute(&span, "account").as_deref(),
        Some(account.as_str())
    );
    assert_eq!(
        attribute(&span, "principal"),
        Some(format!("acs:ram::{account}:root"))
    );
    assert_eq!(
        attribute(&span, "rpc.grpc.status_code").as_deref(),
        Some("0")
    );
    let everything = format!("{span:?}");
    assert!(!everything.contains(&key_secret), "a secret in the span");

    child.kill().await.unwrap();
    receiver.abort();
    if let Some(postgres) = postgres {
        postgres.drop_database().await;
    }
}
