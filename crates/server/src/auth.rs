//! Caller authentication for the `tessera.v1` gRPC services: a tower [`Layer`] that wraps each
//! service (not health, not reflection, not `Sts/SignIn` or `Sts/AssumeRoleWithOIDC`, whose
//! credentials are their parameters), authenticates every request as
//! `docs/grpc-authentication.md` specifies and inserts a [`crate::caller::Authenticated`] into the
//! request's extensions, or answers the call itself.
//!
//! # Credentials
//!
//! - `authorization: Bearer <security token>`: the token is verified against the store's
//!   signing keys (active ones and retired ones still inside their verification window; the
//!   key set is cached and reloaded every minute, and when a token names a key the cache does
//!   not hold, so a rotation is picked up at once; such reloads are serialized and coalesced,
//!   so unknown `kid`s cannot make more than one store read run at a time). Then the session
//!   is checked against the store (see *Revocation*). Caller: [`Caller::RoleSession`] for a
//!   role session token (`AssumeRole`); [`Caller::User`] for a user session token (`SignIn`),
//!   whose user must still exist with the same id, with `acs:MFAPresent` true when the
//!   sign-in verified an MFA code.
//! - `authorization: ACS3-HMAC-SHA256 …`: the request body is buffered (at most
//!   [`MAX_REQUEST_BYTES`]; more is `RESOURCE_EXHAUSTED`), the first gRPC message's bytes are
//!   taken from its 5-byte frame (an uncompressed frame is required) and the ACS3 signature is
//!   verified over `POST`, the method path, an empty query, the metadata with `:authority` as
//!   `host`, and those bytes. Order: signature, then key and account status, then the 15-minute
//!   clock window and the nonce ([`ReplayGuard`]), so forged calls cannot burn nonces.
//!   - Long-term keys: looked up with `find_access_key` (cached, see *Caches*), secret unsealed
//!     with the context `access-key:<id>`. Caller: [`Caller::Root`] for a key without a user,
//!     else [`Caller::User`]. The key's last use is recorded off the hot path (a detached task,
//!     at most once a minute per key and replica, errors only logged).
//!   - `STS.` keys: the secret is derived ([`StsKeyDerivation`]; bootstrap derives the
//!     derivation key from the master key), the request must carry `x-acs-security-token`
//!     (`MissingSecurityToken`), whose `ak` claim must be the signing key id
//!     (`InvalidSecurityToken.MismatchWithAccessKey`); the token is then checked like a bearer
//!     token. Caller: [`Caller::RoleSession`].
//!   - A security token sent with a long-term key is refused
//!     (`InvalidSecurityToken.MismatchWithAccessKey`).
//! - No `authorization`, on a TLS connection whose client certificate names a principal
//!   ([`crate::tls`]): that principal — the account's root or a user, which must exist in an
//!   active account (cached like access keys, evicted with the account's keys).
//!   Caller: [`Caller::Root`] or [`Caller::User`].
//! - No `authorization` otherwise: `MissingSignature`. Another scheme: `InvalidSignatureMethod`.
//!
//! Requests on TLS connections carry `acs:SecureTransport = true`.
//!
//! # Codes chosen where the contract leaves a choice
//!
//! | situation | code |
//! |---|---|
//! | key `Inactive` | `InvalidAccessKeyId.Inactive` |
//! | the key's account is suspended | `InvalidAccessKeyId.Inactive` (message: the account is suspended), so clients branch on the documented table |
//! | token id revoked, role sessions revoked after the token was issued, role (user) deleted (or deleted and recreated: other id), account suspended | `InvalidSecurityToken.Revoked` (not in the table of `docs/grpc-authentication.md` yet; STS has no public code for it, this follows the `InvalidSecurityToken.*` family) |
//! | expired token | `InvalidSecurityToken.Expired` |
//! | compressed or truncated gRPC frame | `InvalidParameter` |
//! | body over 4 MiB | `RESOURCE_EXHAUSTED`, `MessageTooLarge` |
//! | store unreachable / failing | `UNAVAILABLE` / `INTERNAL` with the store's code, never `UNAUTHENTICATED` |
//!
//! Every failure answers with the message `<Code>: <Message>` and the trailer
//! `x-tessera-error-code: <Code>` (a trailers-only response). Messages never carry secrets.
//!
//! # Caches and their bounds
//!
//! - Access keys (id → owner, status, unsealed secret, user id): positive lookups only. The
//!   change feed evicts a key when it changes and every key of an account when the account or
//!   one of its users changes, so deactivating or deleting a key, suspending an account or
//!   renaming/deleting a user takes effect as soon as this replica's feed delivers the change
//!   (at once on the writing replica, within the feed's bound elsewhere);
//!   [`ACCESS_KEY_CACHE_TTL`] (5 min) is the backstop.
//! - Signing keys: reloaded every [`VERIFIER_REFRESH`] (60 s) and on an unknown `kid`; a
//!   retired key leaves the set at the first reload after its verification window closed.
//! - Verified sessions (SHA-256 of the token → caller and credential): a token is verified and
//!   checked against the store (revocation, the role's or user's existence and id, the role's
//!   `sessions_revoked_before`, the account's status) once, then served from the cache until it
//!   expires or the change feed reports a change to its account's roles, users, token
//!   revocations or status ([`Authenticator::evict`]; an epoch makes a load
//!   that raced the eviction stale too); [`SESSION_CACHE_TTL`] (5 min) is the backstop.
//!   Each connection also remembers the bearer session it last presented ([`LastBearer`]),
//!   so a client that sends the same token on every call is not hashed and looked up each
//!   time; the remembered session passes the same checks as a cached one (evictions,
//!   expiry, the cache's time to live).
//! - Nonces: per replica ([`ReplayGuard`]).

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use http_body_util::{BodyExt as _, Full, Limited};
use jiff::Timestamp;
use sha2::{Digest as _, Sha256};
use tessera_credentials::signature::SignatureError;
use tessera_credentials::sts::is_sts_access_key_id;
use tessera_credentials::{
    ReplayGuard, Sealer, Secret, SessionClaims, SessionSubject, SignedRequest, StsKeyDerivation,
    TokenError, TokenVerifier,
};
use tessera_iam::{AccountId, Caller, ErrorKind};
use tessera_policy::{Limits, PolicyKind, PolicyLabel, PolicySet};
use tessera_store::{
    AccessKeyStatus, AccountStatus, AccountStore, KeyStore, RoleStore, SqlStore, SystemStore,
    UserStore,
};
use tonic::body::Body;
use tonic::codegen::Bytes;
use tonic::codegen::http;
use tonic::metadata::MetadataValue;
use tonic::server::NamedService;
use tonic::transport::server::TcpConnectInfo;
use tower::{Layer, Service};

use crate::bootstrap::access_key_context;
use crate::caller::{Authenticated, Credential, SessionMemos};
use crate::telemetry::metrics;
use crate::tls::TlsConnection;

/// The `iss` of the security tokens this deployment issues and accepts.
pub const TOKEN_ISSUER: &str = "tessera";
/// The largest request body buffered to verify a signature (gRPC's default message limit).
pub const MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;
/// How long a looked-up access key is trusted before it is read again. The change feed evicts
/// keys as soon as they change; this is the backstop, and also how long callers already cached
/// keep being authenticated while the database is unreachable.
pub const ACCESS_KEY_CACHE_TTL: Duration = Duration::from_secs(300);
/// How many access keys the cache holds at most.
pub const ACCESS_KEY_CACHE_CAPACITY: u64 = 100_000;
/// How long a verified session stays cached at most (the change feed evicts it sooner when its
/// account, role or user changes or its token is revoked).
pub const SESSION_CACHE_TTL: Duration = Duration::from_secs(300);
/// How many session-eviction records accumulate before the expired ones are pruned.
const EVICTION_RECORDS_PRUNE_AT: usize = 10_000;
/// How many verified sessions the cache holds at most.
pub const SESSION_CACHE_CAPACITY: u64 = 100_000;
/// How often the signing keys are reloaded.
pub const VERIFIER_REFRESH: Duration = Duration::from_secs(60);
/// How often a key's last use is written, per key and replica.
const LAST_USE_INTERVAL_SECONDS: i64 = 60;
/// The trailer naming the error code of a failed call.
pub const ERROR_CODE_TRAILER: &str = "x-tessera-error-code";
/// An unauthenticated `tessera.v1` method: password sign-in.
pub const SIGN_IN_PATH: &str = "/tessera.v1.Sts/SignIn";
/// An unauthenticated `tessera.v1` method: the OIDC token is the credential.
pub const ASSUME_ROLE_WITH_OIDC_PATH: &str = "/tessera.v1.Sts/AssumeRoleWithOIDC";

/// Whether the method at `path` is served without authentication.
pub fn is_anonymous(path: &str) -> bool {
    path == SIGN_IN_PATH || path == ASSUME_ROLE_WITH_OIDC_PATH
}

/// The time source; replaceable in tests.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// Why a call was not authenticated: the gRPC code, the error code and a message without
/// secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthError {
    pub grpc: tonic::Code,
    pub code: String,
    pub message: String,
}

impl AuthError {
    fn unauthenticated(code: &str, message: impl Into<String>) -> AuthError {
        AuthError {
            grpc: tonic::Code::Unauthenticated,
            code: code.to_owned(),
            message: message.into(),
        }
    }

    fn revoked(message: &str) -> AuthError {
        AuthError::unauthenticated("InvalidSecurityToken.Revoked", message)
    }

    fn store(error: &tessera_iam::Error) -> AuthError {
        let grpc = match error.kind() {
            ErrorKind::Unavailable | ErrorKind::Throttled => tonic::Code::Unavailable,
            _ => tonic::Code::Internal,
        };
        AuthError {
            grpc,
            code: error.code().to_owned(),
            message: error.message().to_owned(),
        }
    }

    fn internal() -> AuthError {
        AuthError {
            grpc: tonic::Code::Internal,
            code: "InternalError".into(),
            message: "An internal error occurred.".into(),
        }
    }

    /// The gRPC status: message `<Code>: <Message>`, metadata `x-tessera-error-code`.
    pub fn to_status(&self) -> tonic::Status {
        let mut status = tonic::Status::new(self.grpc, format!("{}: {}", self.code, self.message));
        if let Ok(value) = MetadataValue::try_from(self.code.as_str()) {
            status.metadata_mut().insert(ERROR_CODE_TRAILER, value);
        }
        status
    }

    fn into_response(self) -> http::Response<Body> {
        self.to_status().into_http()
    }
}

impl From<SignatureError> for AuthError {
    fn from(e: SignatureError) -> AuthError {
        AuthError::unauthenticated(e.code(), e.to_string())
    }
}

impl From<TokenError> for AuthError {
    fn from(e: TokenError) -> AuthError {
        match e {
            TokenError::InvalidKey(_) | TokenError::Issue(_) => {
                tracing::error!(error = %e, "token verification failed unexpectedly");
                AuthError::internal()
            }
            e => AuthError::unauthenticated(e.code(), e.to_string()),
        }
    }
}

/// An authenticated caller and its credential, shared (a cached session's or certificate's
/// are handed to every request that presents it).
pub type Identity = (Arc<Caller>, Arc<Credential>);

/// A security token verified and checked against the store.
struct VerifiedSession {
    expires_at: Timestamp,
    /// Shared with every request that presents the token (no per-request copies).
    caller: Arc<Caller>,
    credential: Arc<Credential>,
    /// [`Authenticator::epoch`] when the load started.
    epoch: u64,
    /// The eviction scopes that cover it: its account, its role or user, its token id.
    scopes: [String; 3],
    /// When it was verified: it is trusted for [`SESSION_CACHE_TTL`] at most.
    loaded_at: Instant,
    memos: Arc<SessionMemos>,
}

/// The bearer session last verified on one client connection (the caller's own token, which
/// a client sends on every call). One per connection, in every request's extensions.
#[derive(Default)]
pub struct LastBearer(std::sync::Mutex<Option<Remembered>>);

/// A token and the session verified for it.
struct Remembered {
    token: Box<[u8]>,
    session: Arc<VerifiedSession>,
}

impl std::fmt::Debug for LastBearer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LastBearer")
    }
}

impl LastBearer {
    /// The remembered session if it is `token`'s (compared in constant time: clients behind a
    /// shared proxy connection must not learn each other's tokens from timing).
    fn get(&self, token: &str) -> Option<Arc<VerifiedSession>> {
        let last = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let remembered = last.as_ref()?;
        // Word at a time (`subtle` goes byte by byte, slower than hashing the token).
        constant_time_eq::constant_time_eq(&remembered.token, token.as_bytes())
            .then(|| Arc::clone(&remembered.session))
    }

    fn remember(&self, token: &str, session: &Arc<VerifiedSession>) {
        let mut last = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *last = Some(Remembered {
            token: token.as_bytes().into(),
            session: Arc::clone(session),
        });
    }
}

/// A session already verified (remembered or cached), unless it has expired since.
fn served(
    session: Arc<VerifiedSession>,
    now: Timestamp,
) -> Result<Arc<VerifiedSession>, AuthError> {
    metrics::cache_lookup("sessions", true);
    if now >= session.expires_at {
        return Err(TokenError::Expired.into());
    }
    Ok(session)
}

/// What a change (from the change feed) makes stale in the authentication caches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eviction<'a> {
    /// The account's status: every key, certificate and session of the account.
    Account,
    /// A user (by lower-cased name): its keys, certificates and sessions.
    User(&'a str),
    /// A role (by lower-cased name): its sessions.
    Role(&'a str),
    /// A revoked token (by token id).
    Token(&'a str),
}

impl Eviction<'_> {
    /// The session scope this eviction bumps.
    fn scope(&self, account: &AccountId) -> String {
        let account = account.as_str();
        match self {
            Eviction::Account => account.to_owned(),
            Eviction::User(name) => format!("{account}/user/{name}"),
            Eviction::Role(name) => format!("{account}/role/{name}"),
            Eviction::Token(id) => format!("{account}/token/{id}"),
        }
    }
}

/// A client certificate's principal, looked up.
struct CertificateEntry {
    account: AccountId,
    caller: Arc<Caller>,
}

/// A looked-up long-term access key.
struct KeyEntry {
    account: AccountId,
    account_status: AccountStatus,
    /// `(user id, user name)`; `None` for the account's root identity.
    user: Option<(String, String)>,
    status: AccessKeyStatus,
    secret: Secret,
    /// Unix seconds of the last recorded use by this replica.
    last_recorded: AtomicI64,
}

/// The token verifier and when it was loaded.
struct VerifierSnapshot {
    verifier: Arc<TokenVerifier>,
    loaded_at: Instant,
}

/// Authenticates requests; shared by every wrapped service.
pub struct Authenticator {
    store: SqlStore,
    sealer: Sealer,
    sts_keys: StsKeyDerivation,
    replay: ReplayGuard,
    keys: moka::future::Cache<String, Arc<KeyEntry>>,
    /// Verified sessions by SHA-256 of their token.
    sessions: moka::future::Cache<[u8; 32], Arc<VerifiedSession>>,
    /// Bumped by every session eviction; an entry loaded before its account's last eviction
    /// is stale.
    epoch: std::sync::atomic::AtomicU64,
    /// The epoch of the last eviction of each scope (see [`Eviction`]).
    evicted_sessions: RwLock<std::collections::HashMap<String, (u64, Instant)>>,
    /// Principals of client certificates (principal ARN → caller).
    certificates: moka::future::Cache<String, Arc<CertificateEntry>>,
    verifier: RwLock<Option<Arc<VerifierSnapshot>>>,
    reload: tokio::sync::Mutex<()>,
    clock: Clock,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("cached_access_keys", &self.keys.entry_count())
            .field("replay", &self.replay)
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    pub fn new(store: SqlStore, sealer: Sealer, sts_keys: StsKeyDerivation) -> Authenticator {
        Authenticator {
            store,
            sealer,
            sts_keys,
            replay: ReplayGuard::default(),
            keys: moka::future::Cache::builder()
                .max_capacity(ACCESS_KEY_CACHE_CAPACITY)
                .time_to_live(ACCESS_KEY_CACHE_TTL)
                .build(),
            sessions: moka::future::Cache::builder()
                .max_capacity(SESSION_CACHE_CAPACITY)
                .time_to_live(SESSION_CACHE_TTL)
                .support_invalidation_closures()
                .build(),
            epoch: std::sync::atomic::AtomicU64::new(1),
            evicted_sessions: RwLock::new(std::collections::HashMap::new()),
            certificates: moka::future::Cache::builder()
                .max_capacity(ACCESS_KEY_CACHE_CAPACITY)
                .time_to_live(ACCESS_KEY_CACHE_TTL)
                .build(),
            verifier: RwLock::new(None),
            reload: tokio::sync::Mutex::new(()),
            clock: Arc::new(Timestamp::now),
        }
    }

    /// Replaces the clock (tests).
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Authenticator {
        self.clock = clock;
        self
    }

    pub(crate) fn now(&self) -> Timestamp {
        (self.clock)()
    }

    /// The number of entries of each cache, by cache name, once pending insertions and
    /// evictions are applied (for `/metrics`).
    pub async fn cache_entries(&self) -> [(&'static str, u64); 3] {
        self.keys.run_pending_tasks().await;
        self.sessions.run_pending_tasks().await;
        self.certificates.run_pending_tasks().await;
        [
            ("access_keys", self.keys.entry_count()),
            ("sessions", self.sessions.entry_count()),
            ("certificates", self.certificates.entry_count()),
        ]
    }

    /// Forgets a cached access key (for the change feed).
    pub async fn evict_access_key(&self, key_id: &str) {
        self.keys.invalidate(key_id).await;
    }

    /// Evicts what a change in `account` makes stale (for the change feed): keys and
    /// certificates of the account or user, sessions of the account, user, role or token.
    pub async fn evict(&self, account: &AccountId, what: Eviction<'_>) {
        let user_matches = |user: Option<&str>| match what {
            Eviction::Account => true,
            Eviction::User(name) => user.is_some_and(|u| u.eq_ignore_ascii_case(name)),
            Eviction::Role(_) | Eviction::Token(_) => false,
        };
        let stale: Vec<Arc<String>> = self
            .keys
            .iter()
            .filter(|(_, entry)| {
                entry.account == *account
                    && user_matches(entry.user.as_ref().map(|(_, name)| name.as_str()))
            })
            .map(|(key_id, _)| key_id)
            .collect();
        for key_id in stale {
            self.keys.invalidate(key_id.as_str()).await;
        }
        let stale: Vec<Arc<String>> = self
            .certificates
            .iter()
            .filter(|(_, entry)| {
                let user = match &*entry.caller {
                    Caller::User { name, .. } => Some(name.as_str()),
                    _ => None,
                };
                entry.account == *account
                    && (what == Eviction::Account || (user.is_some() && user_matches(user)))
            })
            .map(|(arn, _)| arn)
            .collect();
        for arn in stale {
            self.certificates.invalidate(arn.as_str()).await;
        }
        self.evict_sessions(what.scope(account));
    }

    /// Makes the next token verification reload the signing keys (for the change feed).
    pub fn signing_keys_changed(&self) {
        match self.verifier.write() {
            Ok(mut v) => *v = None,
            Err(poisoned) => *poisoned.into_inner() = None,
        }
    }

    /// The current token verifier, reloaded if older than [`VERIFIER_REFRESH`].
    pub async fn verifier(&self) -> Result<Arc<TokenVerifier>, AuthError> {
        if let Some(snapshot) = self.snapshot()
            && snapshot.loaded_at.elapsed() < VERIFIER_REFRESH
        {
            return Ok(Arc::clone(&snapshot.verifier));
        }
        let oldest = Instant::now()
            .checked_sub(VERIFIER_REFRESH)
            .unwrap_or_else(Instant::now);
        self.reload_verifier(oldest).await
    }

    fn snapshot(&self) -> Option<Arc<VerifierSnapshot>> {
        match self.verifier.read() {
            Ok(v) => v.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Reloads the signing keys unless a load started at or after `oldest` already finished.
    /// Reloads are serialized and coalesced: callers that waited for one in progress use its
    /// result, so at most one `list_signing_keys` runs at a time whatever the request rate.
    async fn reload_verifier(&self, oldest: Instant) -> Result<Arc<TokenVerifier>, AuthError> {
        let _guard = self.reload.lock().await;
        if let Some(snapshot) = self.snapshot()
            && snapshot.loaded_at >= oldest
        {
            return Ok(Arc::clone(&snapshot.verifier));
        }
        let started = Instant::now();
        let keys = {
            let _timer = metrics::store_timer("list_signing_keys");
            self.store.list_signing_keys().await
        }
        .map_err(|e| AuthError::store(&e))?;
        let mut verifier = TokenVerifier::new(TOKEN_ISSUER);
        for key in crate::http::verification_keys(&keys, self.now()) {
            verifier.add_key(key);
        }
        let verifier = Arc::new(verifier);
        let snapshot = Arc::new(VerifierSnapshot {
            verifier: Arc::clone(&verifier),
            loaded_at: started,
        });
        match self.verifier.write() {
            Ok(mut v) => *v = Some(snapshot),
            Err(poisoned) => *poisoned.into_inner() = Some(snapshot),
        }
        Ok(verifier)
    }

    /// Verifies a token's signature, issuer and times; on an unknown `kid` (a rotation this
    /// replica has not seen yet) reloads the keys once and retries.
    async fn verify_token(&self, token: &str, now: Timestamp) -> Result<SessionClaims, AuthError> {
        let verifier = self.verifier().await?;
        match verifier.verify(token, now) {
            Err(TokenError::UnknownKey(_)) => {
                let verifier = self.reload_verifier(Instant::now()).await?;
                Ok(verifier.verify(token, now)?)
            }
            other => Ok(other?),
        }
    }

    /// The session's store-side checks: token id not revoked, account active, and for a role
    /// session the role still the same role with its sessions not revoked since the token was
    /// issued, for a user session the user still the same user. Returns the caller and the
    /// credential.
    async fn check_session(
        &self,
        claims: SessionClaims,
    ) -> Result<(Caller, Credential), AuthError> {
        let _timer = metrics::store_timer("check_session");
        let account = AccountId::parse(&claims.account_id).map_err(|_| {
            AuthError::unauthenticated(
                "InvalidSecurityToken.Malformed",
                "The security token is malformed: bad account.",
            )
        })?;
        let session_policy = match &claims.session_policy {
            None => None,
            Some(text) => {
                let parsed = tessera_policy::parse(text, PolicyKind::Session, &Limits::default())
                    .map_err(|_| {
                    AuthError::unauthenticated(
                        "InvalidSecurityToken.Malformed",
                        "The security token is malformed: bad session policy.",
                    )
                })?;
                Some(Arc::new(PolicySet::new([(
                    PolicyLabel::new("session"),
                    &parsed.policy,
                )])))
            }
        };
        let revoked = self
            .store
            .is_token_revoked(&account, &claims.token_id)
            .await
            .map_err(|e| AuthError::store(&e))?;
        if revoked {
            return Err(AuthError::revoked("The security token has been revoked."));
        }
        let (caller, mfa_present) = match claims.subject {
            SessionSubject::Role {
                role_id,
                role_name,
                session_name,
                source_identity,
            } => {
                let role = match self.store.get_role(&account, &role_name).await {
                    Ok(role) => role,
                    Err(e) if e.kind() == ErrorKind::NotFound => {
                        return Err(AuthError::revoked(
                            "The role of this session no longer exists.",
                        ));
                    }
                    Err(e) => return Err(AuthError::store(&e)),
                };
                if role.id != role_id {
                    return Err(AuthError::revoked(
                        "The role of this session was deleted (a role of the same name is another role).",
                    ));
                }
                if role
                    .sessions_revoked_before
                    .is_some_and(|before| claims.issued_at < before)
                {
                    return Err(AuthError::revoked(
                        "The sessions of this role issued before a revocation are no longer valid.",
                    ));
                }
                let caller = Caller::RoleSession {
                    account: account.clone(),
                    role_id,
                    role_name: role.name,
                    session_name,
                    issued_at: claims.issued_at,
                    source_identity,
                };
                (caller, false)
            }
            SessionSubject::User {
                user_id,
                user_name,
                mfa_present,
            } => {
                let user = match self.store.get_user(&account, &user_name).await {
                    Ok(user) => user,
                    Err(e) if e.kind() == ErrorKind::NotFound => {
                        return Err(AuthError::revoked(
                            "The user of this session no longer exists.",
                        ));
                    }
                    Err(e) => return Err(AuthError::store(&e)),
                };
                if user.id != user_id {
                    return Err(AuthError::revoked(
                        "The user of this session was deleted (a user of the same name is another user).",
                    ));
                }
                let caller = Caller::User {
                    account: account.clone(),
                    user_id,
                    name: user.name,
                };
                (caller, mfa_present)
            }
        };
        let status = match self.store.get_account(&account).await {
            Ok(a) => a.status,
            Err(e) if e.kind() == ErrorKind::NotFound => AccountStatus::Suspended,
            Err(e) => return Err(AuthError::store(&e)),
        };
        if status != AccountStatus::Active {
            return Err(AuthError::revoked(
                "The account of this session is suspended.",
            ));
        }
        let credential = Credential::SecurityToken {
            token_id: claims.token_id,
            access_key_id: claims.access_key_id,
            expires_at: claims.expires_at,
            session_policy,
            mfa_present,
        };
        Ok((caller, credential))
    }

    /// Authenticates a bearer security token: the caller, and the answers its session shares.
    pub async fn authenticate_bearer(
        &self,
        token: &str,
        now: Timestamp,
    ) -> Result<(Identity, Arc<SessionMemos>), AuthError> {
        let session = self.cached_session(token, now).await?;
        let identity = (Arc::clone(&session.caller), Arc::clone(&session.credential));
        Ok((identity, Arc::clone(&session.memos)))
    }

    /// A verified session: the one `last` remembers if nothing evicted it since its load and
    /// it is younger than the cache's time to live, else [`Authenticator::cached_session`]'s,
    /// which `last` then remembers.
    async fn session(
        &self,
        token: &str,
        now: Timestamp,
        last: Option<&LastBearer>,
    ) -> Result<Arc<VerifiedSession>, AuthError> {
        let Some(last) = last else {
            return self.cached_session(token, now).await;
        };
        if let Some(session) = last
            .get(token)
            .filter(|s| self.is_current(s) && s.loaded_at.elapsed() < SESSION_CACHE_TTL)
        {
            return served(session, now);
        }
        let session = self.cached_session(token, now).await?;
        last.remember(token, &session);
        Ok(session)
    }

    /// A verified session: from the cache (unless its account changed since it was loaded, or
    /// it has expired), else verified and checked against the store and cached.
    async fn cached_session(
        &self,
        token: &str,
        now: Timestamp,
    ) -> Result<Arc<VerifiedSession>, AuthError> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(cached) = self.sessions.get(&digest).await
            && self.is_current(&cached)
        {
            return served(cached, now);
        }
        metrics::cache_lookup("sessions", false);
        // Read before the store is: an eviction of the account that lands while this load is
        // under way makes the loaded entry stale at once (see `evict_account_sessions`).
        let epoch = self.epoch.load(Ordering::Acquire);
        let claims = self.verify_token(token, now).await?;
        let expires_at = claims.expires_at;
        let (caller, credential) = self.check_session(claims).await?;
        let account = caller.account().ok_or_else(AuthError::internal)?;
        let principal = match &caller {
            Caller::RoleSession { role_name, .. } => {
                Eviction::Role(&role_name.to_ascii_lowercase()).scope(account)
            }
            Caller::User { name, .. } => Eviction::User(&name.to_ascii_lowercase()).scope(account),
            _ => Eviction::Account.scope(account),
        };
        let token_scope = match &credential {
            Credential::SecurityToken { token_id, .. } => Eviction::Token(token_id).scope(account),
            _ => Eviction::Account.scope(account),
        };
        let scopes = [Eviction::Account.scope(account), principal, token_scope];
        let session = Arc::new(VerifiedSession {
            expires_at,
            caller: Arc::new(caller),
            credential: Arc::new(credential),
            epoch,
            scopes,
            loaded_at: Instant::now(),
            memos: Arc::default(),
        });
        self.sessions.insert(digest, Arc::clone(&session)).await;
        Ok(session)
    }

    /// Whether no eviction covering `session` happened since its load started.
    fn is_current(&self, session: &VerifiedSession) -> bool {
        // No eviction at all since the load began (the common case): nothing to look up.
        if session.epoch >= self.epoch.load(Ordering::Acquire) {
            return true;
        }
        let check = |map: &std::collections::HashMap<String, (u64, Instant)>| {
            session.scopes.iter().all(|scope| {
                map.get(scope)
                    .is_none_or(|&(evicted, _)| session.epoch >= evicted)
            })
        };
        match self.evicted_sessions.read() {
            Ok(map) => check(&map),
            Err(poisoned) => check(&poisoned.into_inner()),
        }
    }

    /// Forgets the cached sessions `scope` covers. Sessions being loaded while this runs are
    /// not taken as current either (their load started at an older epoch).
    fn evict_sessions(&self, scope: String) {
        let epoch = self.epoch.fetch_add(1, Ordering::AcqRel) + 1;
        let record = |map: &mut std::collections::HashMap<String, (u64, Instant)>| {
            let now = Instant::now();
            // A record matters only to sessions loaded before it, which live at most the
            // cache's TTL: older records can go (checked when the map has grown).
            if map.len() >= EVICTION_RECORDS_PRUNE_AT {
                map.retain(|_, (_, at)| now.duration_since(*at) < SESSION_CACHE_TTL);
            }
            map.insert(scope.clone(), (epoch, now));
        };
        match self.evicted_sessions.write() {
            Ok(mut map) => record(&mut map),
            Err(poisoned) => record(&mut poisoned.into_inner()),
        }
        // Only fails when the cache was built without invalidation closures, which it is not.
        let _ = self
            .sessions
            .invalidate_entries_if(move |_, session| session.scopes.contains(&scope));
    }

    /// Authenticates an ACS3-signed call. `headers` is the metadata; `authority` the
    /// `:authority`; `message` the request message bytes as received.
    pub async fn authenticate_signed(
        &self,
        path: &str,
        authority: &str,
        headers: &http::HeaderMap,
        message: &[u8],
        now: Timestamp,
    ) -> Result<Identity, AuthError> {
        let metadata = headers
            .iter()
            .filter(|(name, _)| *name != http::header::HOST)
            .map(|(name, value)| (name.as_str(), value.as_bytes()))
            .chain(std::iter::once(("host", authority.as_bytes())));
        let request = SignedRequest::parse("POST", path, "", metadata, message)?;
        self.authenticate_request(&request, now).await
    }

    /// Authenticates a parsed signed request — an ACS3 call over gRPC metadata, or an Alibaba
    /// API request (RPC v1 or ACS3) such as the Authorizer's signed-request subjects: the
    /// signature with the key's secret (an `STS.` key's derived one, with its token), the key's
    /// and account's status, then the clock window and the nonce (remembered only once
    /// everything else verified, so a forged request cannot burn a nonce).
    pub async fn authenticate_request(
        &self,
        request: &SignedRequest,
        now: Timestamp,
    ) -> Result<Identity, AuthError> {
        let key_id = request.access_key_id();
        if is_sts_access_key_id(key_id) {
            let Some(token) = request.security_token() else {
                return Err(AuthError::unauthenticated(
                    "MissingSecurityToken",
                    "SecurityToken is mandatory for this action.",
                ));
            };
            request.verify(&self.sts_keys.derive(key_id))?;
            let session = self.cached_session(token, now).await?;
            let matches = matches!(
                &*session.credential,
                Credential::SecurityToken { access_key_id, .. } if access_key_id == key_id
            );
            if !matches {
                return Err(TokenError::MismatchWithAccessKey.into());
            }
            self.replay
                .check_and_remember(key_id, request.nonce(), request.timestamp(), now)?;
            return Ok((Arc::clone(&session.caller), Arc::clone(&session.credential)));
        }
        let entry = self.access_key(key_id).await?;
        request.verify(&entry.secret)?;
        if request.security_token().is_some() {
            return Err(TokenError::MismatchWithAccessKey.into());
        }
        if entry.status != AccessKeyStatus::Active {
            return Err(AuthError::unauthenticated(
                "InvalidAccessKeyId.Inactive",
                "Specified access key is disabled.",
            ));
        }
        if entry.account_status != AccountStatus::Active {
            return Err(AuthError::unauthenticated(
                "InvalidAccessKeyId.Inactive",
                "The account of the specified access key is suspended.",
            ));
        }
        self.replay
            .check_and_remember(key_id, request.nonce(), request.timestamp(), now)?;
        self.record_use(key_id, &entry, now);
        let caller = match &entry.user {
            None => Caller::Root {
                account: entry.account.clone(),
            },
            Some((user_id, name)) => Caller::User {
                account: entry.account.clone(),
                user_id: user_id.clone(),
                name: name.clone(),
            },
        };
        let credential = Credential::AccessKey {
            access_key_id: key_id.to_owned(),
        };
        Ok((Arc::new(caller), Arc::new(credential)))
    }

    /// Authenticates the principal a verified client certificate names (an ARN checked by
    /// [`crate::tls`]): the account's root or one of its users.
    pub async fn authenticate_certificate(
        &self,
        principal_arn: &str,
    ) -> Result<Identity, AuthError> {
        let mut loaded = false;
        let entry = self
            .certificates
            .try_get_with_by_ref(principal_arn, async {
                loaded = true;
                let _timer = metrics::store_timer("load_certificate_principal");
                self.load_certificate_principal(principal_arn).await
            })
            .await
            .map_err(|e| AuthError::clone(&e));
        metrics::cache_lookup("certificates", !loaded);
        let entry = entry?;
        let credential = Credential::ClientCertificate {
            principal_arn: principal_arn.to_owned(),
        };
        Ok((Arc::clone(&entry.caller), Arc::new(credential)))
    }

    async fn load_certificate_principal(
        &self,
        principal_arn: &str,
    ) -> Result<Arc<CertificateEntry>, AuthError> {
        let unknown = || {
            AuthError::unauthenticated(
                "InvalidClientCertificate.PrincipalNotFound",
                "The principal the client certificate names does not exist.",
            )
        };
        let (account, resource) = principal_arn
            .strip_prefix("acs:ram::")
            .and_then(|rest| rest.split_once(':'))
            .ok_or_else(unknown)?;
        let account = AccountId::parse(account).map_err(|_| unknown())?;
        let status = match self.store.get_account(&account).await {
            Ok(a) => a.status,
            Err(e) if e.kind() == ErrorKind::NotFound => return Err(unknown()),
            Err(e) => return Err(AuthError::store(&e)),
        };
        if status != AccountStatus::Active {
            return Err(AuthError::unauthenticated(
                "InvalidClientCertificate.Inactive",
                "The account of the client certificate's principal is suspended.",
            ));
        }
        let caller = match resource.strip_prefix("user/") {
            None if resource == "root" => Caller::Root {
                account: account.clone(),
            },
            None => return Err(unknown()),
            Some(name) => match self.store.get_user(&account, name).await {
                Ok(user) => Caller::User {
                    account: account.clone(),
                    user_id: user.id,
                    name: user.name,
                },
                Err(e) if e.kind() == ErrorKind::NotFound => return Err(unknown()),
                Err(e) => return Err(AuthError::store(&e)),
            },
        };
        Ok(Arc::new(CertificateEntry {
            account,
            caller: Arc::new(caller),
        }))
    }

    /// The long-term key `key_id`, from the cache or the store.
    async fn access_key(&self, key_id: &str) -> Result<Arc<KeyEntry>, AuthError> {
        let mut loaded = false;
        let entry = self
            .keys
            .try_get_with_by_ref(key_id, async {
                loaded = true;
                let _timer = metrics::store_timer("load_access_key");
                self.load_access_key(key_id).await
            })
            .await
            .map_err(|e| AuthError::clone(&e));
        metrics::cache_lookup("access_keys", !loaded);
        entry
    }

    async fn load_access_key(&self, key_id: &str) -> Result<Arc<KeyEntry>, AuthError> {
        let owner = self
            .store
            .find_access_key(key_id)
            .await
            .map_err(|e| AuthError::store(&e))?
            .ok_or_else(|| {
                AuthError::unauthenticated(
                    "InvalidAccessKeyId.NotFound",
                    "Specified access key is not found.",
                )
            })?;
        let secret = self
            .sealer
            .open(&owner.sealed_secret, &access_key_context(key_id))
            .map_err(|error| {
                tracing::error!(access_key_id = %key_id, %error, "cannot open a stored access key secret");
                AuthError::internal()
            })?;
        let user = match owner.user_name {
            None => None,
            Some(name) => match self.store.get_user(&owner.account, &name).await {
                Ok(user) => Some((user.id, user.name)),
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    return Err(AuthError::unauthenticated(
                        "InvalidAccessKeyId.NotFound",
                        "Specified access key is not found.",
                    ));
                }
                Err(e) => return Err(AuthError::store(&e)),
            },
        };
        Ok(Arc::new(KeyEntry {
            account: owner.account,
            account_status: owner.account_status,
            user,
            status: owner.status,
            secret,
            last_recorded: AtomicI64::new(i64::MIN),
        }))
    }

    /// Records the key's use in a detached task, at most once a minute per key (best effort).
    fn record_use(&self, key_id: &str, entry: &KeyEntry, now: Timestamp) {
        let seconds = now.as_second();
        let last = entry.last_recorded.load(Ordering::Relaxed);
        if seconds.saturating_sub(last) < LAST_USE_INTERVAL_SECONDS
            || entry
                .last_recorded
                .compare_exchange(last, seconds, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let store = self.store.clone();
        let account = entry.account.clone();
        let key_id = key_id.to_owned();
        tokio::spawn(async move {
            if let Err(error) = store.record_access_key_use(&account, &key_id, now).await {
                tracing::debug!(access_key_id = %key_id, %error, "could not record an access key use");
            }
        });
    }

    /// Authenticates one gRPC request (buffering its body for a signed one) and returns it
    /// with the [`Authenticated`] caller in its extensions.
    pub async fn authenticate(
        &self,
        request: http::Request<Body>,
    ) -> Result<http::Request<Body>, AuthError> {
        let received_at = self.now();
        let (mut parts, body) = request.into_parts();
        let tls = parts.extensions.get::<TlsConnection>().cloned();
        let authorization = match parts.headers.get(http::header::AUTHORIZATION) {
            None if tls.as_ref().is_some_and(|t| t.client_principal.is_some()) => None,
            None => {
                return Err(AuthError::unauthenticated(
                    "MissingSignature",
                    "The request is not authenticated: send authorization metadata \
                     (a Bearer security token or an ACS3-HMAC-SHA256 signature).",
                ));
            }
            Some(value) => Some(value.to_str().map_err(|_| {
                SignatureError::InvalidParameter("header authorization is not valid UTF-8".into())
            })?),
        };
        let certificate = tls.as_ref().and_then(|t| t.client_principal.as_deref());
        let authorization = authorization.map(str::trim).unwrap_or_default();
        let scheme = authorization.split_whitespace().next().unwrap_or_default();
        let mut memos = None;
        let (body, (caller, credential)) = if let (true, Some(principal)) =
            (authorization.is_empty(), certificate)
        {
            (body, self.authenticate_certificate(principal).await?)
        } else if scheme.eq_ignore_ascii_case("bearer") {
            let token = authorization[scheme.len()..].trim();
            let last = parts.extensions.get::<Arc<LastBearer>>().map(Arc::as_ref);
            let session = self.session(token, received_at, last).await?;
            memos = Some(Arc::clone(&session.memos));
            let identity = (Arc::clone(&session.caller), Arc::clone(&session.credential));
            (body, identity)
        } else if scheme.starts_with("ACS3-") {
            let bytes = read_body(body).await?;
            let message = first_message(&bytes)?;
            let authority = authority(&parts).ok_or_else(|| {
                AuthError::from(SignatureError::Incomplete(
                    "the request has no :authority to sign as host".into(),
                ))
            })?;
            let result = self
                .authenticate_signed(
                    parts.uri.path(),
                    &authority,
                    &parts.headers,
                    message,
                    received_at,
                )
                .await?;
            (Body::new(Full::new(bytes)), result)
        } else {
            return Err(
                SignatureError::InvalidSignatureMethod(scheme.chars().take(64).collect()).into(),
            );
        };
        let mfa_present = credential.mfa_present();
        crate::telemetry::record_caller(&caller);
        let authenticated = Authenticated {
            caller,
            credential,
            memos,
            received_at,
            source_ip: peer_ip(&parts.extensions),
            secure_transport: tls.is_some(),
            user_agent: parts
                .headers
                .get(http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            mfa_present,
        };
        parts.extensions.insert(authenticated);
        Ok(http::Request::from_parts(parts, body))
    }
}

/// The body, at most [`MAX_REQUEST_BYTES`].
async fn read_body(body: Body) -> Result<Bytes, AuthError> {
    match Limited::new(body, MAX_REQUEST_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(AuthError {
            grpc: tonic::Code::ResourceExhausted,
            code: "MessageTooLarge".into(),
            message: format!("The request exceeds {MAX_REQUEST_BYTES} bytes."),
        }),
        Err(_) => Err(AuthError {
            grpc: tonic::Code::Cancelled,
            code: "RequestCancelled".into(),
            message: "The request body could not be read.".into(),
        }),
    }
}

/// The payload of the first length-prefixed gRPC message in `body`.
fn first_message(body: &[u8]) -> Result<&[u8], AuthError> {
    let invalid = |what: &str| AuthError::from(SignatureError::InvalidParameter(what.to_owned()));
    let Some((header, rest)) = body.split_first_chunk::<5>() else {
        return Err(invalid("the request carries no complete gRPC message"));
    };
    if header[0] != 0 {
        return Err(invalid(
            "a compressed request message cannot be verified; send it uncompressed",
        ));
    }
    let len = u32::from_be_bytes([header[1], header[2], header[3], header[4]]);
    usize::try_from(len)
        .ok()
        .and_then(|len| rest.get(..len))
        .ok_or_else(|| invalid("the request carries no complete gRPC message"))
}

/// The `:authority` (the URI's authority over HTTP/2, else the `host` header).
fn authority(parts: &http::request::Parts) -> Option<String> {
    if let Some(authority) = parts.uri.authority() {
        return Some(authority.as_str().to_owned());
    }
    parts
        .headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The peer address the transport recorded (never a forwarded header).
pub(crate) fn peer_ip(extensions: &http::Extensions) -> Option<IpAddr> {
    let addr = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0)
        .or_else(|| {
            extensions
                .get::<TcpConnectInfo>()
                .and_then(|c| c.remote_addr)
        })?;
    Some(addr.ip().to_canonical())
}

/// Wraps a `tessera.v1` service with [`Authenticate`].
#[derive(Debug, Clone)]
pub struct AuthLayer {
    auth: Arc<Authenticator>,
}

impl AuthLayer {
    pub fn new(auth: Arc<Authenticator>) -> AuthLayer {
        AuthLayer { auth }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = Authenticate<S>;

    fn layer(&self, inner: S) -> Authenticate<S> {
        Authenticate {
            inner,
            auth: Arc::clone(&self.auth),
        }
    }
}

/// A service that authenticates every call before `S` sees it (except the anonymous
/// methods, [`is_anonymous`]).
#[derive(Debug, Clone)]
pub struct Authenticate<S> {
    inner: S,
    auth: Arc<Authenticator>,
}

impl<S: NamedService> NamedService for Authenticate<S> {
    const NAME: &'static str = S::NAME;
}

impl<S> Service<http::Request<Body>> for Authenticate<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<http::Response<Body>, Infallible>> + Send>,
    >;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<Body>) -> Self::Future {
        // The clone that was driven to readiness serves this call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let auth = Arc::clone(&self.auth);
        Box::pin(async move {
            if is_anonymous(request.uri().path()) {
                let peer = crate::caller::Peer(peer_ip(request.extensions()));
                request.extensions_mut().insert(peer);
                return inner.call(request).await;
            }
            match auth.authenticate(request).await {
                Ok(request) => inner.call(request).await,
                Err(error) => Ok(error.into_response()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn verified(account: &str) -> Arc<VerifiedSession> {
        let account = AccountId::parse(account).unwrap();
        Arc::new(VerifiedSession {
            expires_at: Timestamp::MAX,
            caller: Arc::new(Caller::Root {
                account: account.clone(),
            }),
            credential: Arc::new(Credential::ClientCertificate {
                principal_arn: account.root_arn(),
            }),
            epoch: 1,
            scopes: [account.as_str().to_owned(), String::new(), String::new()],
            loaded_at: Instant::now(),
            memos: Arc::default(),
        })
    }

    #[test]
    fn a_connection_remembers_only_the_token_it_last_presented() {
        let last = LastBearer::default();
        assert!(last.get("token-a").is_none());
        let a = verified("1000000000000001");
        last.remember("token-a", &a);
        assert!(Arc::ptr_eq(&last.get("token-a").unwrap(), &a));
        // A prefix, an extension or another token of the same length is not it.
        for other in ["token-", "token-ab", "token-b", ""] {
            assert!(last.get(other).is_none(), "{other}");
        }
        let b = verified("1000000000000002");
        last.remember("token-b", &b);
        assert!(last.get("token-a").is_none());
        assert!(Arc::ptr_eq(&last.get("token-b").unwrap(), &b));
    }

    fn framed(message: &[u8]) -> Vec<u8> {
        let mut body = vec![0];
        body.extend_from_slice(&u32::try_from(message.len()).unwrap().to_be_bytes());
        body.extend_from_slice(message);
        body
    }

    #[test]
    fn the_first_message_is_taken_from_its_frame() {
        assert_eq!(first_message(&framed(b"abc")).unwrap(), b"abc");
        assert_eq!(first_message(&framed(b"")).unwrap(), b"");
        let mut two = framed(b"one");
        two.extend(framed(b"two"));
        assert_eq!(first_message(&two).unwrap(), b"one");
        for bad in [&b""[..], &[0, 0, 0, 0], &[0, 0, 0, 0, 4, 1, 2]] {
            assert_eq!(first_message(bad).unwrap_err().code, "InvalidParameter");
        }
        let mut compressed = framed(b"abc");
        compressed[0] = 1;
        let error = first_message(&compressed).unwrap_err();
        assert_eq!(error.code, "InvalidParameter");
        assert!(error.message.contains("compressed"));
    }

    #[test]
    fn errors_carry_the_code_in_message_and_trailer() {
        let status = AuthError::from(SignatureError::SignatureDoesNotMatch).to_status();
        assert_eq!(status.code(), tonic::Code::Unauthenticated);
        assert_eq!(
            status.message(),
            "SignatureDoesNotMatch: Specified signature is not matched with our calculation."
        );
        assert_eq!(
            status.metadata().get(ERROR_CODE_TRAILER).unwrap(),
            "SignatureDoesNotMatch"
        );
        let response = AuthError::from(TokenError::Expired).into_response();
        assert_eq!(response.headers()["grpc-status"], "16");
        assert_eq!(
            response.headers()[ERROR_CODE_TRAILER],
            "InvalidSecurityToken.Expired"
        );
    }

    /// The clock decides expiry: the same token is accepted now and refused once the
    /// replaced clock passes its expiry.
    #[tokio::test]
    async fn token_expiry_follows_the_replaceable_clock() {
        use tessera_credentials::token::new_token_id;
        use tessera_credentials::{MasterKey, SigningKey};
        use tessera_store::{NewRole, NewSigningKey, StoreConfig};

        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let store = SqlStore::connect(&StoreConfig::new(url)).await.unwrap();
        store.migrate().await.unwrap();
        let sealer = Sealer::new(MasterKey::new(1, &[3; 32]).unwrap());
        let key = SigningKey::generate(&mut rand::rng()).unwrap();
        store
            .insert_signing_key(&NewSigningKey {
                kid: key.kid().to_owned(),
                algorithm: "EdDSA".into(),
                sealed_private_key: vec![0; 64],
                public_key: key.public_key().as_bytes().to_vec(),
            })
            .await
            .unwrap();
        let account = store.create_account("t").await.unwrap().value.id;
        let role = store
            .create_role(
                &account,
                &NewRole {
                    name: "R".into(),
                    trust_policy: r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":["acs:ram::1234567890123456:root"]}}]}"#.into(),
                    ..NewRole::default()
                },
            )
            .await
            .unwrap()
            .value;
        let issued_at = Timestamp::from_second(Timestamp::now().as_second()).unwrap();
        let claims = SessionClaims {
            issuer: TOKEN_ISSUER.into(),
            account_id: account.as_str().to_owned(),
            subject: tessera_credentials::SessionSubject::Role {
                role_id: role.id.clone(),
                role_name: role.name.clone(),
                session_name: "s".into(),
                source_identity: None,
            },
            issued_at,
            expires_at: issued_at
                .checked_add(jiff::SignedDuration::from_secs(900))
                .unwrap(),
            token_id: new_token_id(&mut rand::rng()),
            access_key_id: "STS.test".into(),
            session_policy: None,
        };
        let token = key.sign(&claims).unwrap();
        let sts = crate::bootstrap::sts_derivation_key(&[3; 32]).unwrap();
        let now = Arc::new(std::sync::Mutex::new(issued_at));
        let clock_now = Arc::clone(&now);
        let auth = Authenticator::new(store.clone(), sealer, sts)
            .with_clock(Arc::new(move || *clock_now.lock().unwrap()));
        let ((caller, credential), _) = auth.authenticate_bearer(&token, auth.now()).await.unwrap();
        assert_eq!(caller.arn(), format!("acs:ram::{account}:assumed-role/R/s"));
        assert!(matches!(
            *credential,
            Credential::SecurityToken {
                session_policy: None,
                ..
            }
        ));
        *now.lock().unwrap() = issued_at
            .checked_add(jiff::SignedDuration::from_secs(900 + 31))
            .unwrap();
        let error = auth
            .authenticate_bearer(&token, auth.now())
            .await
            .unwrap_err();
        assert_eq!(error.code, "InvalidSecurityToken.Expired");
        store.close().await;
    }

    #[test]
    fn peer_addresses_come_from_the_connection() {
        let mut extensions = http::Extensions::new();
        assert_eq!(peer_ip(&extensions), None);
        extensions.insert(ConnectInfo(SocketAddr::from((
            std::net::Ipv6Addr::from([0, 0, 0, 0, 0, 0xffff, 0x0a00, 0x0001]),
            5,
        ))));
        assert_eq!(peer_ip(&extensions), Some(IpAddr::from([10, 0, 0, 1])));
    }
}
