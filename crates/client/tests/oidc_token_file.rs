#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The OIDC token-file credentials provider: an anonymous exchange of the file's token, the
//! file read again at every refresh (as the kubelet rotates projected tokens), refresh before
//! expiry on a fake clock, and the fallbacks when the file or the server fail.

mod support;

use std::sync::atomic::Ordering;

use jiff::{SignedDuration, Timestamp};
use support::FakeClock;
use tessera_client::{
    Client, Credential, CredentialsProvider as _, OidcParams, OidcTokenFileProvider, RetryPolicy,
};

fn params() -> OidcParams {
    OidcParams {
        oidc_provider_arn: "acs:ram::1234567890123456:oidc-provider/cluster".into(),
        role_arn: "acs:ram::1234567890123456:role/reader".into(),
        role_session_name: "pod".into(),
        ..OidcParams::default()
    }
}

fn key_id(credential: &Credential) -> String {
    credential.access_key_id().unwrap().to_owned()
}

#[tokio::test]
async fn the_token_file_is_exchanged_anonymously_and_read_again_at_every_refresh() {
    let clock = FakeClock::at("2026-03-01T00:00:00Z".parse::<Timestamp>().unwrap());
    let (addr, state) = support::start(clock.clone()).await;
    let anonymous = Client::builder(&format!("http://{addr}"))
        .retry(RetryPolicy::none())
        .connect(Credential::Anonymous)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "token-A\n").unwrap();
    let provider =
        OidcTokenFileProvider::new(anonymous.sts(), params(), &file).clock(clock.clone());
    assert_eq!(provider.token_file(), file);

    let first = provider.credential().await.unwrap();
    assert_eq!(key_id(&first), "STS.1");
    let seen = state.seen("AssumeRoleWithOIDC");
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].authorization, None,
        "the exchange is unauthenticated"
    );
    assert_eq!(*state.oidc_tokens.lock().unwrap(), ["token-A"]);

    // The kubelet rotates the token; the cached credentials are used until the margin.
    std::fs::write(&file, "token-B\n").unwrap();
    clock.advance(SignedDuration::from_mins(47));
    assert_eq!(key_id(&provider.credential().await.unwrap()), "STS.1");
    clock.advance(SignedDuration::from_mins(2));
    assert_eq!(key_id(&provider.credential().await.unwrap()), "STS.2");
    assert_eq!(*state.oidc_tokens.lock().unwrap(), ["token-A", "token-B"]);

    // The credentials sign calls as the role's session.
    let as_role = anonymous.with_provider(provider.clone());
    as_role
        .sts()
        .get_caller_identity(tessera_client::pb::GetCallerIdentityRequest {})
        .await
        .unwrap();
    let identity = state.seen("GetCallerIdentity");
    assert!(
        identity[0]
            .authorization
            .as_deref()
            .unwrap()
            .contains("Credential=STS.2,"),
        "{identity:?}"
    );

    // A missing file while the credentials are still valid: they keep being used; once they
    // have expired, the error.
    std::fs::remove_file(&file).unwrap();
    clock.advance(SignedDuration::from_mins(50));
    assert_eq!(key_id(&provider.credential().await.unwrap()), "STS.2");
    clock.advance(SignedDuration::from_mins(11));
    let error = provider.credential().await.unwrap_err();
    assert_eq!(error.code(), "InvalidParameter");
    assert!(error.to_string().contains("OIDC token file"), "{error}");

    // The server failing: the same fallback, then its error.
    std::fs::write(&file, "token-C").unwrap();
    state.assume_failures.store(1, Ordering::SeqCst);
    assert_eq!(
        provider.credential().await.unwrap_err().code(),
        "ServiceUnavailable"
    );
    assert_eq!(key_id(&provider.credential().await.unwrap()), "STS.4");
}
