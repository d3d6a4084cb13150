//! [`AssumeRoleProvider`]: temporary credentials of a role, assumed with base credentials and
//! refreshed before they expire — what `alibabacloud-credentials`' `ram_role_arn` provider
//! does, over Tessera's gRPC `Sts/AssumeRole`.

use std::sync::Arc;

use jiff::Timestamp;
use tessera_proto::v1 as pb;
use tessera_proto::v1::sts_client::StsClient;

use crate::Error;
use crate::credential::{Credential, CredentialsProvider};
use crate::refresh::{Clock, DEFAULT_REFRESH_MARGIN, Refresher, SystemClock};
use crate::signing::SignedChannel;

/// The parameters of the AssumeRole calls a provider makes.
#[derive(Debug, Clone, Default)]
pub struct AssumeRoleParams {
    /// `acs:ram::<account>:role/<name>`.
    pub role_arn: String,
    /// 2..64 characters of letters, digits, `.`, `@`, `-`, `_`.
    pub role_session_name: String,
    /// An optional session policy (JSON) narrowing the role's permissions.
    pub policy: Option<String>,
    /// 900..the role's MaxSessionDuration; `None`: the server's default, 3600.
    pub duration_seconds: Option<u32>,
    pub external_id: Option<String>,
    pub source_identity: Option<String>,
}

/// Temporary credentials of one role: the first call assumes the role with the base
/// credentials of `sts`, later calls reuse the cached credentials until less than the refresh
/// margin of their lifetime remains, and then assume it again.
///
/// Shared safely between tasks (clones share one cache): concurrent callers needing a refresh
/// wait for the one AssumeRole in flight instead of making their own. If a refresh fails while
/// the cached credentials are still valid, those are returned (the next call tries again); once
/// they have expired, the failure is returned.
///
/// ```no_run
/// # async fn example() -> Result<(), tessera_client::Error> {
/// use tessera_client::{AssumeRoleProvider, Client, Credential};
///
/// let base = Client::connect("http://127.0.0.1:7733", Credential::access_key("LTAI…", "…")).await?;
/// let provider = AssumeRoleProvider::new(
///     base.sts(),
///     "acs:ram::1234567890123456:role/reader",
///     "my-service",
/// );
/// let as_role = base.with_provider(provider);
/// let me = as_role
///     .sts()
///     .get_caller_identity(tessera_client::pb::GetCallerIdentityRequest {})
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AssumeRoleProvider {
    shared: Arc<Shared>,
}

struct Shared {
    sts: StsClient<SignedChannel>,
    params: AssumeRoleParams,
    refresher: Refresher,
}

impl std::fmt::Debug for AssumeRoleProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssumeRoleProvider")
            .field("params", &self.shared.params)
            .field("margin", &self.shared.refresher.margin())
            .finish_non_exhaustive()
    }
}

impl AssumeRoleProvider {
    /// Assumes `role_arn` as session `role_session_name` through `sts` (a client signed with
    /// the base credentials), on the system clock with the default margin.
    pub fn new(
        sts: StsClient<SignedChannel>,
        role_arn: impl Into<String>,
        role_session_name: impl Into<String>,
    ) -> AssumeRoleProvider {
        AssumeRoleProvider::with_params(
            sts,
            AssumeRoleParams {
                role_arn: role_arn.into(),
                role_session_name: role_session_name.into(),
                ..AssumeRoleParams::default()
            },
        )
    }

    /// Assumes the role with all of `params`.
    pub fn with_params(sts: StsClient<SignedChannel>, params: AssumeRoleParams) -> Self {
        AssumeRoleProvider {
            shared: Arc::new(Shared {
                sts,
                params,
                refresher: Refresher::new(Arc::new(SystemClock), DEFAULT_REFRESH_MARGIN),
            }),
        }
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
        AssumeRoleProvider {
            shared: Arc::new(Shared {
                sts: self.shared.sts.clone(),
                params: self.shared.params.clone(),
                refresher,
            }),
        }
    }

    /// The role this provider assumes.
    pub fn params(&self) -> &AssumeRoleParams {
        &self.shared.params
    }

    /// When the cached credentials expire, if there are any.
    pub fn expiration(&self) -> Option<Timestamp> {
        self.shared.refresher.expiration()
    }

    async fn assume(&self) -> Result<pb::Credentials, Error> {
        let p = &self.shared.params;
        let request = pb::AssumeRoleRequest {
            role_arn: p.role_arn.clone(),
            role_session_name: p.role_session_name.clone(),
            policy: p.policy.clone().unwrap_or_default(),
            duration_seconds: p.duration_seconds.unwrap_or_default(),
            external_id: p.external_id.clone().unwrap_or_default(),
            source_identity: p.source_identity.clone().unwrap_or_default(),
        };
        let response = self.shared.sts.clone().assume_role(request).await?;
        response.into_inner().credentials.ok_or_else(|| {
            Error::Status(tonic::Status::internal(
                "InternalError: AssumeRole returned no credentials",
            ))
        })
    }
}

#[async_trait::async_trait]
impl CredentialsProvider for AssumeRoleProvider {
    async fn credential(&self) -> Result<Credential, Error> {
        self.shared.refresher.current(|| self.assume()).await
    }
}
