//! [`OidcTokenFileProvider`]: role credentials for a workload that holds an OIDC token in a
//! file — a Kubernetes projected service-account token — exchanged with
//! `Sts/AssumeRoleWithOIDC` and refreshed before they expire; what
//! `alibabacloud-credentials`' `oidc_role_arn` provider does, over Tessera's gRPC.
//!
//! The file is read again at every exchange, so a token the kubelet rotated is picked up.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use jiff::Timestamp;
use tessera_proto::v1 as pb;
use tessera_proto::v1::sts_client::StsClient;

use crate::Error;
use crate::credential::{Credential, CredentialsProvider};
use crate::refresh::{Clock, DEFAULT_REFRESH_MARGIN, Refresher, SystemClock};
use crate::signing::SignedChannel;

/// The environment variables [`OidcTokenFileProvider::from_env`] reads, as Alibaba Cloud's
/// SDKs (and its RRSA webhook for Kubernetes) name them.
pub const ENV_ROLE_ARN: &str = "ALIBABA_CLOUD_ROLE_ARN";
pub const ENV_OIDC_PROVIDER_ARN: &str = "ALIBABA_CLOUD_OIDC_PROVIDER_ARN";
pub const ENV_OIDC_TOKEN_FILE: &str = "ALIBABA_CLOUD_OIDC_TOKEN_FILE";
pub const ENV_ROLE_SESSION_NAME: &str = "ALIBABA_CLOUD_ROLE_SESSION_NAME";

/// The parameters of the exchanges a provider makes.
#[derive(Debug, Clone, Default)]
pub struct OidcParams {
    /// `acs:ram::<account>:oidc-provider/<name>`.
    pub oidc_provider_arn: String,
    /// `acs:ram::<account>:role/<name>`.
    pub role_arn: String,
    /// 2..64 characters of letters, digits, `.`, `@`, `-`, `_`.
    pub role_session_name: String,
    /// An optional session policy (JSON) narrowing the role's permissions.
    pub policy: Option<String>,
    /// 900..the role's MaxSessionDuration; `None`: the server's default, 3600.
    pub duration_seconds: Option<u32>,
}

/// Temporary credentials of a role for the holder of an OIDC token file. The first call reads
/// the file and exchanges the token through `sts` (a client whose calls need no credential:
/// `Client::connect(endpoint, Credential::Anonymous)`); later calls reuse the credentials
/// until less than the refresh margin of their lifetime remains, then read the file and
/// exchange again. Clones share one cache; concurrent callers wait for the one exchange in
/// flight; a failed refresh falls back to the cached credentials while they are valid.
///
/// ```no_run
/// # async fn example() -> Result<(), tessera_client::Error> {
/// use tessera_client::{Client, Credential, OidcTokenFileProvider};
///
/// let anonymous = Client::connect("https://tessera.example:7733", Credential::Anonymous).await?;
/// // ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN, ALIBABA_CLOUD_OIDC_TOKEN_FILE
/// let provider = OidcTokenFileProvider::from_env(anonymous.sts())?;
/// let as_role = anonymous.with_provider(provider);
/// let me = as_role
///     .sts()
///     .get_caller_identity(tessera_client::pb::GetCallerIdentityRequest {})
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct OidcTokenFileProvider {
    shared: Arc<Shared>,
}

struct Shared {
    sts: StsClient<SignedChannel>,
    params: OidcParams,
    token_file: PathBuf,
    refresher: Refresher,
}

impl std::fmt::Debug for OidcTokenFileProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcTokenFileProvider")
            .field("params", &self.shared.params)
            .field("token_file", &self.shared.token_file)
            .field("margin", &self.shared.refresher.margin())
            .finish_non_exhaustive()
    }
}

impl OidcTokenFileProvider {
    /// Exchanges the token in `token_file` with `params` through `sts`, on the system clock
    /// with the default margin.
    pub fn new(
        sts: StsClient<SignedChannel>,
        params: OidcParams,
        token_file: impl Into<PathBuf>,
    ) -> OidcTokenFileProvider {
        OidcTokenFileProvider {
            shared: Arc::new(Shared {
                sts,
                params,
                token_file: token_file.into(),
                refresher: Refresher::new(Arc::new(SystemClock), DEFAULT_REFRESH_MARGIN),
            }),
        }
    }

    /// The role, provider and token file from the environment ([`ENV_ROLE_ARN`],
    /// [`ENV_OIDC_PROVIDER_ARN`], [`ENV_OIDC_TOKEN_FILE`]; the session name from
    /// [`ENV_ROLE_SESSION_NAME`], else `tessera-client-<unix time>`).
    pub fn from_env(sts: StsClient<SignedChannel>) -> Result<OidcTokenFileProvider, Error> {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| Error::InvalidCredential(format!("{name} is not set")))
        };
        let session = std::env::var(ENV_ROLE_SESSION_NAME)
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| format!("tessera-client-{}", Timestamp::now().as_second()));
        Ok(OidcTokenFileProvider::new(
            sts,
            OidcParams {
                oidc_provider_arn: var(ENV_OIDC_PROVIDER_ARN)?,
                role_arn: var(ENV_ROLE_ARN)?,
                role_session_name: session,
                ..OidcParams::default()
            },
            var(ENV_OIDC_TOKEN_FILE)?,
        ))
    }

    /// Reads the time from `clock`. Call before the first use: the cache is reset.
    pub fn clock(self, clock: impl Clock) -> Self {
        let refresher = Refresher::new(Arc::new(clock), self.shared.refresher.margin());
        self.rebuild(refresher)
    }

    /// Refreshes when less than `margin` (0..1) of the credentials' lifetime remains.
    pub fn refresh_margin(self, margin: f64) -> Self {
        let refresher = Refresher::new(self.shared.refresher.clock(), margin);
        self.rebuild(refresher)
    }

    fn rebuild(self, refresher: Refresher) -> Self {
        OidcTokenFileProvider {
            shared: Arc::new(Shared {
                sts: self.shared.sts.clone(),
                params: self.shared.params.clone(),
                token_file: self.shared.token_file.clone(),
                refresher,
            }),
        }
    }

    /// The exchange's parameters.
    pub fn params(&self) -> &OidcParams {
        &self.shared.params
    }

    /// The token file.
    pub fn token_file(&self) -> &Path {
        &self.shared.token_file
    }

    /// When the cached credentials expire, if there are any.
    pub fn expiration(&self) -> Option<Timestamp> {
        self.shared.refresher.expiration()
    }

    async fn exchange(&self) -> Result<pb::Credentials, Error> {
        let file = &self.shared.token_file;
        let token = tokio::fs::read_to_string(file).await.map_err(|e| {
            Error::InvalidCredential(format!(
                "cannot read the OIDC token file {}: {}",
                file.display(),
                e.kind()
            ))
        })?;
        let p = &self.shared.params;
        let request = pb::AssumeRoleWithOidcRequest {
            oidc_provider_arn: p.oidc_provider_arn.clone(),
            role_arn: p.role_arn.clone(),
            // Files often end with a newline; the token never contains whitespace.
            oidc_token: token.trim().to_owned(),
            role_session_name: p.role_session_name.clone(),
            policy: p.policy.clone().unwrap_or_default(),
            duration_seconds: p.duration_seconds.unwrap_or_default(),
        };
        let response = self
            .shared
            .sts
            .clone()
            .assume_role_with_oidc(request)
            .await?;
        response.into_inner().credentials.ok_or_else(|| {
            Error::Status(tonic::Status::internal(
                "InternalError: AssumeRoleWithOIDC returned no credentials",
            ))
        })
    }
}

#[async_trait::async_trait]
impl CredentialsProvider for OidcTokenFileProvider {
    async fn credential(&self) -> Result<Credential, Error> {
        self.shared.refresher.current(|| self.exchange()).await
    }
}
