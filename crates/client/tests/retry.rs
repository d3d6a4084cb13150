#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Deadlines and retries of the signed channel, against a small Sts server that fails calls on
//! demand.

mod support;

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::time::Duration;

use jiff::Timestamp;
use support::FakeClock;
use tessera_client::{Client, Credential, RetryPolicy, error_code, pb};

/// Short delays: the test is about how many attempts are made, not how long they wait.
fn quick_retries(max_retries: usize) -> RetryPolicy {
    RetryPolicy {
        max_retries,
        min_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        factor: 2.0,
    }
}

async fn client(addr: std::net::SocketAddr, retry: RetryPolicy) -> Client {
    Client::builder(&format!("http://{addr}"))
        .retry(retry)
        .connect(Credential::access_key("LTAItest", "secret"))
        .await
        .unwrap()
}

#[tokio::test]
async fn an_unavailable_read_is_retried_each_time_signed_anew() {
    let (addr, state) = support::start(FakeClock::at(Timestamp::now())).await;
    state.identity_failures.store(2, Ordering::SeqCst);
    let client = client(addr, quick_retries(3)).await;

    let identity = client
        .sts()
        .get_caller_identity(pb::GetCallerIdentityRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(identity.principal.unwrap().arn, "acs:ram::1:root");

    let seen = state.seen("GetCallerIdentity");
    assert_eq!(seen.len(), 3, "two failures, then success: {seen:?}");
    let nonces: HashSet<_> = seen.iter().map(|s| s.nonce.clone().unwrap()).collect();
    assert_eq!(nonces.len(), 3, "every attempt has its own nonce: {seen:?}");
    for s in &seen {
        assert!(
            s.authorization
                .as_deref()
                .unwrap()
                .starts_with("ACS3-HMAC-SHA256 Credential=LTAItest,"),
            "{s:?}"
        );
        assert!(s.timeout.is_some(), "the deadline travels: {s:?}");
    }
}

#[tokio::test]
async fn retries_stop_after_the_configured_number() {
    let (addr, state) = support::start(FakeClock::at(Timestamp::now())).await;
    state.identity_failures.store(10, Ordering::SeqCst);
    let client = client(addr, quick_retries(2)).await;

    let status = client
        .sts()
        .get_caller_identity(pb::GetCallerIdentityRequest {})
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable);
    assert_eq!(error_code(&status), "ServiceUnavailable");
    assert_eq!(state.seen("GetCallerIdentity").len(), 3);

    // Disabled retries: one attempt.
    let status = client
        .with_policy(tessera_client::CallPolicy {
            retry: RetryPolicy::none(),
            ..Default::default()
        })
        .sts()
        .get_caller_identity(pb::GetCallerIdentityRequest {})
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable);
    assert_eq!(state.seen("GetCallerIdentity").len(), 4);
}

#[tokio::test]
async fn writes_and_other_errors_are_not_retried() {
    let (addr, state) = support::start(FakeClock::at(Timestamp::now())).await;
    let client = client(addr, quick_retries(3)).await;

    // AssumeRole mints a session: not a read.
    state.assume_failures.store(1, Ordering::SeqCst);
    let status = client
        .sts()
        .assume_role(pb::AssumeRoleRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable);
    assert_eq!(state.seen("AssumeRole").len(), 1);

    // SignIn neither (an MFA code is good once).
    let status = client
        .sts()
        .sign_in(pb::SignInRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable);
    assert_eq!(state.seen("SignIn").len(), 1);

    // A read refused for another reason is final.
    *state.identity_failure_code.lock().unwrap() = tonic::Code::PermissionDenied;
    state.identity_failures.store(1, Ordering::SeqCst);
    let status = client
        .sts()
        .get_caller_identity(pb::GetCallerIdentityRequest {})
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    assert_eq!(state.seen("GetCallerIdentity").len(), 1);
}

#[tokio::test]
async fn a_call_past_its_deadline_fails_with_deadline_exceeded() {
    let (addr, state) = support::start(FakeClock::at(Timestamp::now())).await;
    let client = Client::builder(&format!("http://{addr}"))
        .deadline(Duration::from_millis(200))
        .connect(Credential::access_key("LTAItest", "secret"))
        .await
        .unwrap();
    // GetJwks never answers.
    let status = client
        .sts()
        .get_jwks(pb::GetJwksRequest {})
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::DeadlineExceeded, "{status:?}");
    assert_eq!(error_code(&status), "DeadlineExceeded");

    // A call's own timeout replaces the default.
    let mut request = tonic::Request::new(pb::GetJwksRequest {});
    request.set_timeout(Duration::from_millis(50));
    let client = client.with_policy(tessera_client::CallPolicy {
        deadline: Duration::from_secs(3600),
        ..Default::default()
    });
    let status = client.sts().get_jwks(request).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::DeadlineExceeded, "{status:?}");
    assert_eq!(state.seen("GetJwks").len(), 2);
}

#[tokio::test]
async fn an_unreachable_server_is_a_connect_error() {
    // Bind and drop: a port nothing listens on.
    let addr = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let err = Client::connect(
        &format!("http://{addr}"),
        Credential::access_key("LTAItest", "secret"),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), "ServiceUnavailable");

    let err = Client::connect("ftp://example", Credential::Anonymous)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "InvalidEndpoint");
}
