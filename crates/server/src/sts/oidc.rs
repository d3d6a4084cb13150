//! `AssumeRoleWithOIDC`: an OIDC token of a registered provider for a role session.
//!
//! Unauthenticated (the token is the credential; the auth layer lets the method through and
//! the HTTP endpoint serves it unsigned). In order:
//!
//! 1. `OIDCProviderArn`, `RoleArn`, `OIDCToken`, `RoleSessionName` are required
//!    (`Missing<Name>`); the ARNs must parse (`InvalidParameter.OIDCProviderArn`,
//!    `InvalidParameter.RoleArn`);
//! 2. the rate limit of the role's account (`AssumeRoleWithOIDC`, 100/s by default), the same
//!    bucket over gRPC and HTTP;
//! 3. the provider, read in its account (which must be active): `EntityNotExist.OIDCProvider`;
//! 4. the token, verified against the provider ([`crate::oidc`]): signature with the issuer's
//!    keys, `iss`, `aud` among the client ids, `exp`/`nbf`/`iat`, `IssuanceLimitTime`;
//! 5. the role (`EntityNotExist.Role` — only a holder of a valid token gets this far) and
//!    [`tessera_iam::assume_role()`] with the caller [`Caller::Federated`] (the provider's ARN)
//!    and the token's `oidc:iss`, `oidc:aud`, `oidc:sub` in the context: the role's trust
//!    policy alone decides (`NoPermission`), `DurationSeconds` is 900..the role's maximum,
//!    the session policy is checked as for `AssumeRole`;
//! 6. credentials are minted as for `AssumeRole`; the answer adds `OIDCTokenInfo`.
//!
//! Every refusal goes through [`StsService::record_oidc_rejection`], the one place it is
//! recorded (the log, and the audit trail of the role's account once `RoleArn` named one);
//! every granted exchange is recorded as an STS issuance.

use std::net::IpAddr;

use tessera_credentials::SessionSubject;
use tessera_iam::{
    AccountId, AssumeRoleParams, Authorization, Caller, Error, ErrorKind, RoleArn, oidc,
};
use tessera_policy::{Limits, Permissions};
use tessera_proto::v1 as pb;
use tessera_store::AuditDecision;
use tessera_store::{AccountStatus, AccountStore as _, OidcProvider, OidcProviderStore as _};
use tonic::{Request, Status};

use super::{StsService, given};
use crate::audit::record::{Origin, clip, request_id};
use crate::authorizer::status;
use crate::caller::Anonymous;

/// The operation's name, for rate limits and metrics.
pub const OPERATION: &str = "AssumeRoleWithOIDC";

/// A refused exchange and what is known about it, for the audit record. Holds no secret: not
/// the token, only its verified subject.
#[derive(Debug)]
pub struct Rejection {
    /// What the caller gets.
    pub status: Status,
    /// The RAM error code.
    pub code: String,
    pub provider_arn: String,
    pub role_arn: String,
    /// The account the exchange would act in (the role's), once `RoleArn` parsed.
    pub account: Option<AccountId>,
    /// The token's subject, once the token verified.
    pub subject: Option<String>,
    /// The trust policy's decision, when it refused.
    pub authorization: Option<Authorization>,
    pub source_ip: Option<IpAddr>,
}

/// What a refusal is built from as the exchange goes.
struct Progress<'a> {
    request: &'a pb::AssumeRoleWithOidcRequest,
    anonymous: &'a Anonymous,
    account: Option<AccountId>,
    subject: Option<String>,
}

impl Progress<'_> {
    fn reject(&self, error: &Error, authorization: Option<Authorization>) -> Rejection {
        self.reject_status(status(error), error.code(), authorization)
    }

    fn reject_status(
        &self,
        status: Status,
        code: &str,
        authorization: Option<Authorization>,
    ) -> Rejection {
        Rejection {
            status,
            code: code.to_owned(),
            provider_arn: self.request.oidc_provider_arn.chars().take(512).collect(),
            role_arn: self.request.role_arn.chars().take(512).collect(),
            account: self.account.clone(),
            subject: self.subject.clone(),
            authorization,
            source_ip: self.anonymous.source_ip,
        }
    }
}

impl StsService {
    /// The provider `arn` names, if it exists in an active account.
    async fn find_provider(&self, arn: &oidc::ProviderArn) -> Result<OidcProvider, Error> {
        match self.store().get_account(&arn.account).await {
            Ok(account) if account.status == AccountStatus::Active => {}
            Ok(_) => return Err(Error::not_exist(tessera_iam::Entity::OidcProvider)),
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(Error::not_exist(tessera_iam::Entity::OidcProvider));
            }
            Err(e) => return Err(e),
        }
        self.store()
            .get_oidc_provider(&arn.account, &arn.name)
            .await
    }

    /// The exchange (see the module documentation).
    pub(super) async fn assume_role_with_oidc_inner(
        &self,
        request: &pb::AssumeRoleWithOidcRequest,
        anonymous: &Anonymous,
    ) -> Result<pb::AssumeRoleWithOidcResponse, Rejection> {
        let mut progress = Progress {
            request,
            anonymous,
            account: None,
            subject: None,
        };
        for (name, value) in [
            ("OIDCProviderArn", &request.oidc_provider_arn),
            ("RoleArn", &request.role_arn),
            ("OIDCToken", &request.oidc_token),
            ("RoleSessionName", &request.role_session_name),
        ] {
            if value.is_empty() {
                return Err(progress.reject(&Error::missing(name), None));
            }
        }
        let provider_arn = oidc::ProviderArn::parse(&request.oidc_provider_arn)
            .map_err(|e| progress.reject(&e, None))?;
        let role_arn = RoleArn::parse(&request.role_arn).map_err(|e| progress.reject(&e, None))?;
        progress.account = Some(role_arn.account.clone());
        if let Some(limits) = &self.rate_limits {
            limits
                .check_account(&role_arn.account, OPERATION)
                .map_err(|s| progress.reject_status(s, "Throttling.User", None))?;
        }
        let verifier = self.oidc.as_ref().ok_or_else(|| {
            tracing::error!("AssumeRoleWithOIDC without an OIDC verifier: a wiring bug");
            progress.reject(&Error::internal(), None)
        })?;
        let provider = self
            .find_provider(&provider_arn)
            .await
            .map_err(|e| progress.reject(&e, None))?;
        let verified = verifier
            .verify(&request.oidc_token, &provider, anonymous.received_at)
            .await
            .map_err(|e| progress.reject(&e, None))?;
        progress.subject = Some(verified.subject.clone());

        let caller = Caller::Federated {
            provider: oidc::provider_arn(&provider_arn.account, &provider.name),
        };
        let facts = anonymous.facts();
        let no_identity = Permissions::new(crate::authorizer::identity_policies(None), None);
        let Some(role) = self
            .find_role(&role_arn, false)
            .await
            .map_err(|e| progress.reject(&e, None))?
        else {
            let e = tessera_iam::role_not_found(&caller, &no_identity, &role_arn, &facts);
            return Err(progress.reject(&e.error, e.authorization));
        };
        let role_facts =
            super::role_facts(&role_arn, &role).map_err(|e| progress.reject(&e, None))?;
        let claims = verified.condition_keys();
        let params = AssumeRoleParams {
            session_name: &request.role_session_name,
            duration_seconds: Some(request.duration_seconds).filter(|d| *d != 0),
            external_id: None,
            source_identity: None,
            policy: given(&request.policy),
            policy_limits: Limits::default(),
            federated_claims: &claims,
        };
        let grant = tessera_iam::assume_role(&caller, &no_identity, &role_facts, &params, &facts)
            .map_err(|e| progress.reject(&e.error, e.authorization))?;

        let credentials = self
            .issue(
                &grant.account,
                SessionSubject::Role {
                    role_id: grant.role_id.clone(),
                    role_name: grant.role_name.clone(),
                    session_name: grant.session_name.clone(),
                    source_identity: None,
                },
                grant.issued_at,
                grant.expires_at,
                params.policy.map(str::to_owned),
            )
            .await
            .map_err(|e| progress.reject(&e, None))?;
        crate::telemetry::metrics::token_issued(OPERATION);
        tracing::info!(
            provider = %caller,
            subject = %verified.subject,
            session = %grant.assumed_role_arn(),
            access_key_id = %credentials.access_key_id,
            expires_at = %grant.expires_at,
            "AssumeRoleWithOIDC granted"
        );
        let at = |t: jiff::Timestamp| prost_types::Timestamp {
            seconds: t.as_second(),
            nanos: 0,
        };
        Ok(pb::AssumeRoleWithOidcResponse {
            credentials: Some(credentials),
            assumed_role_user: Some(pb::AssumedRoleUser {
                arn: grant.assumed_role_arn(),
                assumed_role_id: grant.assumed_role_id(),
            }),
            oidc_token_info: Some(pb::OidcTokenInfo {
                subject: verified.subject,
                issuer: verified.issuer,
                client_ids: verified.client_ids,
                expiration_time: Some(at(verified.expires_at)),
                issuance_time: Some(at(verified.issued_at)),
                verification_info: "Success".to_owned(),
            }),
        })
    }

    /// Records a refused `AssumeRoleWithOIDC` in the audit trail of the role's account (event
    /// `AssumeRoleWithOIDC`, principal the provider ARN, resource the role ARN, the error code,
    /// the token's subject when it verified) — never the token. A refusal before `RoleArn`
    /// names an account belongs to no account's trail: the log has it.
    pub(super) fn record_oidc_rejection<T>(
        &self,
        request: &Request<T>,
        rejection: &Rejection,
        anonymous: &Anonymous,
    ) {
        tracing::info!(
            code = %rejection.code,
            provider = %rejection.provider_arn,
            role = %rejection.role_arn,
            account = ?rejection.account.as_ref().map(AccountId::as_str),
            subject = ?rejection.subject,
            decision = ?rejection.authorization.as_ref().map(|a| a.decision),
            reason = ?rejection.authorization.as_ref().map(|a| &a.reason),
            source_ip = ?rejection.source_ip,
            "AssumeRoleWithOIDC refused"
        );
        let Some(account) = &rejection.account else {
            return;
        };
        let decision = if rejection.authorization.is_some()
            || rejection.code.starts_with("AuthenticationFail")
            || rejection.code.starts_with("NoPermission")
        {
            AuditDecision::Deny
        } else {
            AuditDecision::Error
        };
        let origin = oidc_origin(request, account, &rejection.provider_arn, anonymous);
        let detail = rejection
            .subject
            .as_deref()
            .map(|subject| serde_json::json!({ "Subject": clip(subject) }).to_string())
            .unwrap_or_default();
        self.audit.record(origin.event(
            OPERATION,
            "sts:AssumeRoleWithOIDC",
            clip(&rejection.role_arn),
            (decision, rejection.code.clone()),
            detail,
        ));
    }

    /// Records a granted `AssumeRoleWithOIDC` (an STS issuance) in the role's account.
    pub(super) fn record_oidc_exchange(
        &self,
        request: &Request<pb::AssumeRoleWithOidcRequest>,
        anonymous: &Anonymous,
        answer: &pb::AssumeRoleWithOidcResponse,
    ) {
        let Ok(role_arn) = RoleArn::parse(&request.get_ref().role_arn) else {
            return;
        };
        let info = answer.oidc_token_info.as_ref();
        let provider = clip(&request.get_ref().oidc_provider_arn);
        let origin = oidc_origin(request, &role_arn.account, &provider, anonymous);
        let detail = serde_json::json!({
            "Subject": info.map(|i| clip(&i.subject)).unwrap_or_default(),
            "AssumedRoleUser": answer.assumed_role_user.as_ref().map(|u| u.arn.clone()).unwrap_or_default(),
        })
        .to_string();
        self.audit.record(origin.event(
            OPERATION,
            "sts:AssumeRoleWithOIDC",
            clip(&request.get_ref().role_arn),
            (AuditDecision::Allow, String::new()),
            detail,
        ));
    }
}

/// The origin of an exchange's event: the provider acting in the role's `account`.
fn oidc_origin<T>(
    request: &Request<T>,
    account: &AccountId,
    provider_arn: &str,
    anonymous: &Anonymous,
) -> Origin {
    Origin {
        account: account.clone(),
        principal: clip(provider_arn),
        source_ip: anonymous
            .source_ip
            .map(|ip| ip.to_string())
            .unwrap_or_default(),
        request_id: request_id(request),
        at: anonymous.received_at,
    }
}
