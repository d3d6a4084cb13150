//! What the authentication layer establishes about a gRPC request, for the services: the
//! contract between `auth` (which inserts an [`Authenticated`] into the request's extensions)
//! and every service (which reads it with [`authenticated`]).

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use tessera_iam::{Caller, RequestFacts};
use tessera_proto::v1 as pb;

use crate::principals::CompiledPrincipal;

/// How the caller proved who it is.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A request signed with a long-term access key (ACS3-HMAC-SHA256 over gRPC metadata).
    AccessKey { access_key_id: String },
    /// An STS security token: a bearer token, or the token accompanying a request signed with
    /// the session's `STS.` access key.
    SecurityToken {
        token_id: String,
        access_key_id: String,
        expires_at: Timestamp,
        /// The session policy the token carries, compiled once when the token is verified
        /// (`None`: the role's full permissions).
        session_policy: Option<Arc<tessera_policy::PolicySet>>,
        /// A user session token whose sign-in verified an MFA code (`acs:MFAPresent`).
        mfa_present: bool,
    },
    /// A verified TLS client certificate naming the principal (mTLS, see [`crate::tls`]).
    ClientCertificate { principal_arn: String },
}

impl Credential {
    /// Whether the credential proves MFA: only a user session token made by a sign-in that
    /// verified an MFA code does.
    pub fn mfa_present(&self) -> bool {
        matches!(
            self,
            Credential::SecurityToken {
                mfa_present: true,
                ..
            }
        )
    }
}

/// Answers about the caller of one verified bearer session, worked out once and shared by
/// every request that presents its token (a service asks with the same token all day, and
/// `Authorize` subjects repeat). Each answer is kept with the generation of the cache it came
/// from and is used only while that cache has invalidated nothing since.
#[derive(Debug, Default)]
pub struct SessionMemos {
    /// Whether the caller holds the operator's platform-wide `Authorize` grant
    /// ([`crate::authorizer::PlatformGrants`]).
    pub platform_grant: Memo<bool>,
    /// The caller's compiled principal ([`crate::principals::PrincipalCache`]).
    pub compiled: Memo<Arc<CompiledPrincipal>>,
    /// The caller as `Authorize` answers name it (fixed for the session).
    pub principal: OnceLock<pb::Principal>,
}

/// How many invalidations a cache has made. The cache bumps it *after* each one evicts, and a
/// lookup reads it *before* asking the cache, so an answer remembered at one generation is
/// stale as soon as anything was invalidated since.
#[derive(Debug, Default)]
pub struct Generation(AtomicU64);

impl Generation {
    /// The generation to remember an answer at (read before the cache is asked).
    pub fn current(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    /// Makes every answer remembered so far stale (after an invalidation has evicted).
    pub fn bump(&self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }
}

/// One remembered answer, with the cache generation and the time it was worked out at.
pub struct Memo<T>(Mutex<Option<(u64, Instant, T)>>);

impl<T> Default for Memo<T> {
    fn default() -> Memo<T> {
        Memo(Mutex::new(None))
    }
}

impl<T> std::fmt::Debug for Memo<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Memo")
    }
}

impl<T: Clone> Memo<T> {
    /// The answer, if it was worked out at `generation` less than `max_age` ago.
    pub fn get(&self, generation: u64, max_age: Duration) -> Option<T> {
        let memo = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match &*memo {
            Some((at, when, value)) if *at == generation && when.elapsed() < max_age => {
                Some(value.clone())
            }
            _ => None,
        }
    }

    /// Remembers `value`, worked out at `generation` (read before the cache was asked).
    pub fn set(&self, generation: u64, value: T) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some((generation, Instant::now(), value));
    }
}

/// The authenticated caller of one request and the facts of the request that conditions see.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// Shared with the authentication caches: cloning an `Authenticated` copies no strings.
    pub caller: Arc<Caller>,
    pub credential: Arc<Credential>,
    /// The bearer session's shared answers (`None` for other credentials: each request
    /// works them out).
    pub memos: Option<Arc<SessionMemos>>,
    /// When the server received the request.
    pub received_at: Timestamp,
    /// The connection's peer address (never a forwarded header).
    pub source_ip: Option<IpAddr>,
    pub secure_transport: bool,
    pub user_agent: Option<String>,
    pub mfa_present: bool,
}

impl Authenticated {
    /// The request facts for building the policy context (`acs:*` keys).
    pub fn facts(&self) -> RequestFacts<'_> {
        let mut facts = RequestFacts::at(self.received_at);
        facts.source_ip = self.source_ip;
        facts.secure_transport = self.secure_transport;
        facts.user_agent = self.user_agent.as_deref();
        facts.mfa_present = self.mfa_present;
        facts.access_key_id = match &*self.credential {
            Credential::AccessKey { access_key_id }
            | Credential::SecurityToken { access_key_id, .. } => Some(access_key_id),
            Credential::ClientCertificate { .. } => None,
        };
        facts
    }
}

/// The peer address of a request that is not authenticated (`SignIn`), for its audit event.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub Option<IpAddr>);

/// The authenticated caller of `request`. The authentication layer runs before every
/// `tessera.v1` service, so a missing value is a server bug: it fails closed as
/// `UNAUTHENTICATED`.
pub fn authenticated<T>(request: &tonic::Request<T>) -> Result<&Authenticated, tonic::Status> {
    request.extensions().get::<Authenticated>().ok_or_else(|| {
        tonic::Status::unauthenticated("MissingSignature: the request is not authenticated")
    })
}

/// The facts of a request that carries no caller credential (`AssumeRoleWithOIDC`, whose
/// credential is a parameter): the HTTP endpoint inserts one into the request it dispatches;
/// over gRPC, [`Anonymous::of`] reads them from the connection.
#[derive(Debug, Clone)]
pub struct Anonymous {
    /// When the server received the request.
    pub received_at: Timestamp,
    /// The connection's peer address (never a forwarded header).
    pub source_ip: Option<IpAddr>,
    pub secure_transport: bool,
    pub user_agent: Option<String>,
}

impl Anonymous {
    /// The facts the HTTP endpoint inserted, else the gRPC connection's, received now.
    pub fn of<T>(request: &tonic::Request<T>) -> Anonymous {
        if let Some(inserted) = request.extensions().get::<Anonymous>() {
            return inserted.clone();
        }
        let extensions = request.extensions();
        let source_ip = extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0)
            .or_else(|| {
                extensions
                    .get::<tonic::transport::server::TcpConnectInfo>()
                    .and_then(|c| c.remote_addr)
            })
            .map(|a| a.ip().to_canonical());
        Anonymous {
            received_at: Timestamp::now(),
            source_ip,
            secure_transport: extensions.get::<crate::tls::TlsConnection>().is_some(),
            user_agent: request
                .metadata()
                .get("user-agent")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        }
    }

    /// The request facts for the policy context (`acs:*` keys).
    pub fn facts(&self) -> RequestFacts<'_> {
        let mut facts = RequestFacts::at(self.received_at);
        facts.source_ip = self.source_ip;
        facts.secure_transport = self.secure_transport;
        facts.user_agent = self.user_agent.as_deref();
        facts
    }
}
