#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The assume-role credentials provider: caching, refresh before expiry on a fake clock, one
//! refresh at a time, and what happens when a refresh fails.

mod support;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use jiff::{SignedDuration, Timestamp};
use support::FakeClock;
use tessera_client::{
    AssumeRoleProvider, Client, Credential, CredentialsProvider as _, RetryPolicy,
};
use tokio::sync::Semaphore;

const ROLE: &str = "acs:ram::1234567890123456:role/reader";

async fn provider(clock: &FakeClock) -> (AssumeRoleProvider, Arc<support::State>, Client) {
    let (addr, state) = support::start(clock.clone()).await;
    let base = Client::builder(&format!("http://{addr}"))
        .retry(RetryPolicy::none())
        .connect(Credential::access_key("LTAIbase", "base-secret"))
        .await
        .unwrap();
    let provider = AssumeRoleProvider::new(base.sts(), ROLE, "tests").clock(clock.clone());
    (provider, state, base)
}

fn key_id(credential: &Credential) -> String {
    credential.access_key_id().unwrap().to_owned()
}

#[tokio::test]
async fn credentials_are_cached_and_refreshed_when_the_margin_is_reached() {
    let clock = FakeClock::at(start_time());
    let (provider, state, _) = provider(&clock).await;

    let first = provider.credential().await.unwrap();
    assert_eq!(key_id(&first), "STS.1");
    assert_eq!(first.security_token(), Some("token-1"));
    let assumed = state.seen("AssumeRole");
    assert_eq!(assumed.len(), 1);
    assert!(
        assumed[0]
            .authorization
            .as_deref()
            .unwrap()
            .contains("Credential=LTAIbase,"),
        "assumed with the base credentials: {assumed:?}"
    );

    // 47 of 60 minutes: more than a fifth left, the cache answers.
    clock.advance(SignedDuration::from_mins(47));
    assert_eq!(key_id(&provider.credential().await.unwrap()), "STS.1");
    assert_eq!(state.assume_calls.load(Ordering::SeqCst), 1);

    // 49 minutes: less than 12 left, refreshed.
    clock.advance(SignedDuration::from_mins(2));
    assert_eq!(key_id(&provider.credential().await.unwrap()), "STS.2");
    assert_eq!(state.assume_calls.load(Ordering::SeqCst), 2);
    assert_eq!(
        provider.expiration(),
        Some(clock_now(&clock) + SignedDuration::from_hours(1))
    );

    // Clones share the cache.
    assert_eq!(
        key_id(&provider.clone().credential().await.unwrap()),
        "STS.2"
    );
    assert_eq!(state.assume_calls.load(Ordering::SeqCst), 2);
}

fn clock_now(clock: &FakeClock) -> Timestamp {
    use tessera_client::Clock as _;
    clock.now()
}

#[tokio::test]
async fn a_custom_margin_moves_the_refresh() {
    let clock = FakeClock::at(start_time());
    let (provider, state, _) = provider(&clock).await;
    let provider = provider.refresh_margin(0.5);
    provider.credential().await.unwrap();
    clock.advance(SignedDuration::from_mins(29));
    provider.credential().await.unwrap();
    assert_eq!(state.assume_calls.load(Ordering::SeqCst), 1);
    clock.advance(SignedDuration::from_mins(2));
    assert_eq!(key_id(&provider.credential().await.unwrap()), "STS.2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_share_one_refresh() {
    let clock = FakeClock::at(start_time());
    let (provider, state, _) = provider(&clock).await;
    // AssumeRole answers only once the test lets it.
    let gate = Arc::new(Semaphore::new(0));
    *state.assume_gate.lock().unwrap() = Some(gate.clone());

    let start = Arc::new(tokio::sync::Barrier::new(17));
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let provider = provider.clone();
            let start = start.clone();
            tokio::spawn(async move {
                start.wait().await;
                provider.credential().await.unwrap()
            })
        })
        .collect();
    start.wait().await;
    // One AssumeRole is in flight; whichever callers are waiting wait for it.
    state.assume_arrived.notified().await;
    gate.add_permits(1000);
    for task in tasks {
        assert_eq!(key_id(&task.await.unwrap()), "STS.1");
    }
    assert_eq!(state.assume_calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_failed_refresh_keeps_valid_credentials_and_fails_expired_ones() {
    let clock = FakeClock::at(start_time());
    let (provider, state, _) = provider(&clock).await;
    provider.credential().await.unwrap();

    // Due for refresh, the refresh fails, the old credentials are still valid.
    clock.advance(SignedDuration::from_mins(55));
    state.assume_failures.store(1, Ordering::SeqCst);
    assert_eq!(key_id(&provider.credential().await.unwrap()), "STS.1");
    // The next call tries again, and succeeds.
    assert_eq!(key_id(&provider.credential().await.unwrap()), "STS.3");

    // Expired and the refresh fails: the error.
    clock.advance(SignedDuration::from_hours(2));
    state.assume_failures.store(1, Ordering::SeqCst);
    let err = provider.credential().await.unwrap_err();
    assert_eq!(err.code(), "ServiceUnavailable");
}

#[tokio::test]
async fn a_client_signs_with_the_role_credentials() {
    let clock = FakeClock::at(start_time());
    let (provider, state, base) = provider(&clock).await;
    let as_role = base.with_provider(provider);
    as_role
        .sts()
        .get_caller_identity(tessera_client::pb::GetCallerIdentityRequest {})
        .await
        .unwrap();
    let seen = state.seen("GetCallerIdentity");
    assert_eq!(seen.len(), 1);
    assert!(
        seen[0]
            .authorization
            .as_deref()
            .unwrap()
            .contains("Credential=STS.1,"),
        "{seen:?}"
    );
    assert_eq!(seen[0].security_token.as_deref(), Some("token-1"));
}

/// Whole seconds, as the server's expirations are.
fn start_time() -> Timestamp {
    Timestamp::from_second(1_800_000_000).unwrap()
}
