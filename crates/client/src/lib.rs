//! `tessera-client`: the Rust client SDK of Tessera's gRPC API (`tessera.v1`).
//!
//! [`Client::connect`] opens one HTTP/2 connection and hands out the generated tonic clients of
//! every service — [`Client::ram`], [`Client::sts`], [`Client::authorizer`],
//! [`Client::operator`], [`Client::audit`] — over a [`SignedChannel`] that, for every call:
//!
//! - authenticates it with the current [`Credential`] of a [`CredentialsProvider`]: an
//!   ACS3-HMAC-SHA256 signature over gRPC metadata made with an access key (with a security
//!   token for STS credentials), or a bearer security token (`docs/grpc-authentication.md`);
//! - bounds it by a deadline ([`CallPolicy::deadline`], 30 s unless the request sets its own
//!   with `tonic::Request::set_timeout`);
//! - retries idempotent reads ([`is_idempotent`]: `Get*`, `List*`, `Authorize`, …) that fail
//!   with `UNAVAILABLE`, with exponential backoff and jitter ([`RetryPolicy`]), each retry
//!   signed anew with a fresh nonce.
//!
//! [`AssumeRoleProvider`] is a provider that assumes a role with base credentials and refreshes
//! the role's temporary credentials before they expire; [`OidcTokenFileProvider`] does the same
//! for a workload holding an OIDC token file (a Kubernetes service-account token), exchanging
//! it with `AssumeRoleWithOIDC`.
//!
//! Calls fail with [`tonic::Status`] whose message is `"<Code>: <Message>"` with RAM's or STS's
//! error code ([`error_code`] extracts it).
//!
//! ```no_run
//! use tessera_client::{Client, Credential, pb};
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::connect(
//!     "http://127.0.0.1:7733",
//!     Credential::access_key("LTAI…", "…"),
//! )
//! .await?;
//! let user = client
//!     .ram()
//!     .create_user(pb::CreateUserRequest {
//!         user_name: "alice".into(),
//!         ..Default::default()
//!     })
//!     .await?
//!     .into_inner();
//! # Ok(()) }
//! ```
//!
//! `examples/quickstart.rs` is a complete program.

mod credential;
mod error;
mod oidc;
mod policy;
mod refresh;
mod role;
mod signing;

use std::time::Duration;

use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

pub use credential::{Credential, CredentialsProvider, SharedProvider};
pub use error::{ERROR_CODE_METADATA, Error, error_code, error_message};
pub use oidc::{OidcParams, OidcTokenFileProvider};
pub use policy::{CallPolicy, DEFAULT_DEADLINE, RetryPolicy, is_idempotent};
pub use refresh::{Clock, DEFAULT_REFRESH_MARGIN, SystemClock};
pub use role::{AssumeRoleParams, AssumeRoleProvider};
pub use signing::{BoxError, Signed, SignedChannel, SigningLayer};
/// The secret type access key secrets are held in.
pub use tessera_credentials::Secret;
/// The `tessera.v1` messages and generated clients.
pub use tessera_proto::v1 as pb;

use tessera_proto::v1::audit_client::AuditClient;
use tessera_proto::v1::authorizer_client::AuthorizerClient;
use tessera_proto::v1::operator_client::OperatorClient;
use tessera_proto::v1::ram_client::RamClient;
use tessera_proto::v1::sts_client::StsClient;

/// The port `tesserad serve` listens on by default.
pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:7733";

/// A connection to a Tessera server with the credentials its calls are signed with. Cheap to
/// clone; clones share the connection.
#[derive(Debug, Clone)]
pub struct Client {
    channel: SignedChannel,
}

impl Client {
    /// Connects to `endpoint` (`http://host:port` or `https://host:port`) with the default
    /// [`CallPolicy`]; every call is authenticated with `credentials`.
    pub async fn connect(
        endpoint: &str,
        credentials: impl CredentialsProvider,
    ) -> Result<Client, Error> {
        Client::builder(endpoint).connect(credentials).await
    }

    /// A client to configure before connecting.
    pub fn builder(endpoint: &str) -> ClientBuilder {
        ClientBuilder {
            endpoint: endpoint.to_owned(),
            policy: CallPolicy::default(),
            connect_timeout: Duration::from_secs(10),
            ca_certificate: None,
        }
    }

    /// A client over an existing signed channel.
    pub fn from_channel(channel: SignedChannel) -> Client {
        Client { channel }
    }

    /// `tessera.v1.Ram`: users, groups, roles, policies, attachments, access keys, MFA.
    pub fn ram(&self) -> RamClient<SignedChannel> {
        RamClient::new(self.channel.clone())
    }

    /// `tessera.v1.Sts`: AssumeRole, GetCallerIdentity, GetJwks, SignIn.
    pub fn sts(&self) -> StsClient<SignedChannel> {
        StsClient::new(self.channel.clone())
    }

    /// `tessera.v1.Authorizer`: Authorize, BatchAuthorize, simulations, ValidatePolicy.
    pub fn authorizer(&self) -> AuthorizerClient<SignedChannel> {
        AuthorizerClient::new(self.channel.clone())
    }

    /// `tessera.v1.Operator`: accounts, quotas, signing keys, platform grants.
    pub fn operator(&self) -> OperatorClient<SignedChannel> {
        OperatorClient::new(self.channel.clone())
    }

    /// `tessera.v1.Audit`: the account's audit trail (LookupEvents).
    pub fn audit(&self) -> AuditClient<SignedChannel> {
        AuditClient::new(self.channel.clone())
    }

    /// The signed channel, for other generated clients or custom calls.
    pub fn channel(&self) -> &SignedChannel {
        &self.channel
    }

    /// The same connection, signing with `credentials`.
    pub fn with_provider(&self, credentials: impl CredentialsProvider) -> Client {
        Client {
            channel: self.channel.with_provider(credentials),
        }
    }

    /// The same connection and credentials under another call policy.
    pub fn with_policy(&self, policy: CallPolicy) -> Client {
        Client {
            channel: self.channel.with_policy(policy),
        }
    }
}

/// Options of a [`Client`] before it connects.
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    endpoint: String,
    policy: CallPolicy,
    connect_timeout: Duration,
    ca_certificate: Option<Vec<u8>>,
}

impl ClientBuilder {
    /// The deadline of calls that set none (default [`DEFAULT_DEADLINE`]).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.policy.deadline = deadline;
        self
    }

    /// How idempotent reads are retried (default [`RetryPolicy::default`]).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.policy.retry = retry;
        self
    }

    /// How long connecting may take (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Trusts the CA certificates of this PEM for `https://` endpoints instead of the
    /// system's roots.
    pub fn ca_certificate(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca_certificate = Some(pem.into());
        self
    }

    /// Connects now: fails if the server cannot be reached.
    pub async fn connect(self, credentials: impl CredentialsProvider) -> Result<Client, Error> {
        let (endpoint, authority) = self.endpoint()?;
        let channel = endpoint.connect().await.map_err(Error::Connect)?;
        Ok(self.client(channel, authority, credentials))
    }

    /// Connects at the first call (which fails with `UNAVAILABLE` if the server cannot be
    /// reached, and is retried if it is a read).
    pub fn connect_lazy(self, credentials: impl CredentialsProvider) -> Result<Client, Error> {
        let (endpoint, authority) = self.endpoint()?;
        let channel = endpoint.connect_lazy();
        Ok(self.client(channel, authority, credentials))
    }

    fn client(
        self,
        channel: Channel,
        authority: String,
        credentials: impl CredentialsProvider,
    ) -> Client {
        use tower::Layer as _;
        Client {
            channel: SigningLayer::new(authority, credentials, self.policy).layer(channel),
        }
    }

    /// The endpoint and the `:authority` tonic sends for it (`host[:port]` as written).
    fn endpoint(&self) -> Result<(Endpoint, String), Error> {
        let invalid = |why: &str| Error::InvalidEndpoint(format!("{}: {why}", self.endpoint));
        let mut endpoint = Endpoint::from_shared(self.endpoint.clone())
            .map_err(|_| invalid("not a URI"))?
            .connect_timeout(self.connect_timeout);
        let uri = endpoint.uri().clone();
        let authority = uri
            .authority()
            .map(|a| a.as_str().to_owned())
            .filter(|a| !a.is_empty())
            .ok_or_else(|| invalid("expected http://HOST:PORT or https://HOST:PORT"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                let tls = ClientTlsConfig::new();
                let tls = match &self.ca_certificate {
                    Some(pem) => tls.ca_certificate(Certificate::from_pem(pem)),
                    None => tls.with_native_roots(),
                };
                endpoint = endpoint
                    .tls_config(tls)
                    .map_err(|e| invalid(&format!("TLS: {e}")))?;
            }
            _ => return Err(invalid("the scheme must be http or https")),
        }
        Ok((endpoint, authority))
    }
}
