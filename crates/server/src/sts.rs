//! The `tessera.v1.Sts` service: `AssumeRole`, `GetCallerIdentity`, `GetJwks`, the user
//! `SignIn` and `AssumeRoleWithOIDC` (its own module, `oidc`).
//!
//! # AssumeRole
//!
//! `RoleArn` is parsed, the role is read from the store **in the role's account** — the one
//! place a caller's request reads another account, and only to hand the role to
//! [`tessera_iam::assume_role()`], which decides both sides (the caller's own `sts:AssumeRole` on
//! the role ARN, with its session policy if it is a role session, and the role's trust policy),
//! refuses root, checks the parameters and caps role chaining at one hour. A role that does not
//! exist (or whose account is not active) is answered by [`tessera_iam::role_not_found`]: only
//! a caller allowed to assume that ARN learns `EntityNotExist.Role`, anyone else gets the same
//! `NoPermission` as for a role it may not assume, so role names cannot be probed.
//!
//! A grant is minted into STS credentials: an `STS.` access key id, its secret *derived* from
//! the id ([`StsKeyDerivation`], so a request signed with it verifies on any replica without a
//! database read), and a security token signed with the current signing key
//! ([`SigningKeys`]) carrying the session (role id and name, session name, source identity,
//! session policy). `Expiration` is in whole seconds (`YYYY-MM-DDTHH:MM:SSZ` once rendered).
//! `AssumedRoleUser.Arn` is the session's ARN as `GetCallerIdentity` reports it
//! (`acs:ram::<account>:assumed-role/<role>/<session>`).
//!
//! # SignIn
//!
//! The one unauthenticated RPC (the auth layer lets `SIGN_IN_PATH` through). Account id, user
//! name and password, plus the current TOTP code when the user has a bound MFA device. A wrong
//! account, user or password — or a suspended account, or a user without a login profile — all
//! answer `AuthenticationFail.Password` after the same work: the password is always verified
//! with argon2 (against a dummy hash when there is nothing to verify against), so neither the
//! answer nor its time tells them apart. Only after the password matched does the MFA code
//! count: missing → `MissingMFACode`; wrong, expired or already used →
//! `CheckAuthenticationCodeFail`. The answer is a *user session*: STS-style credentials whose
//! token authenticates as the user ([`tessera_iam::Caller::User`]) for one hour, with
//! `acs:MFAPresent` true when an MFA code was verified, and the login profile's
//! `PasswordResetRequired` / `MFABindRequired`. The login is recorded on the user.

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use rand::Rng as _;
use tessera_credentials::sts::{new_access_key_id, sts_token_id};
use tessera_credentials::{
    Sealer, Secret, SessionClaims, SessionSubject, StsKeyDerivation, TokenIssuer,
};
use tessera_iam::{
    AccountId, AssumeRoleError, AssumeRoleParams, Caller, Error, ErrorKind, RoleArn, RoleFacts,
    names,
};
use tessera_policy::{Limits, Permissions};
use tessera_proto::v1 as pb;
use tessera_store::{
    AccountStatus, AccountStore as _, CredentialStore as _, LoginSecret, SqlStore,
    SystemStore as _, UserStore as _,
};
use tonic::{Request, Response, Status};

use crate::audit::AuditSink;
use crate::audit::record::{Noted, Origin, clip, note, outcome};
mod oidc;

pub use oidc::Rejection as OidcRejection;

use crate::auth::TOKEN_ISSUER;
use crate::authorizer::{caller_policies, status};
use crate::bootstrap::mfa_seed_context;
use crate::caller::authenticated;
use crate::principals::{CompiledPrincipal, PrincipalCache, PrincipalKey};
use crate::signing::SigningKeys;

/// How long a user session (`SignIn`) lasts.
pub const USER_SESSION_SECONDS: i64 = 3600;

/// How long the last accepted MFA step of a user is remembered. A code is accepted one step
/// (30 s) either side of now, so a step can be replayed for at most 90 s; remembering it for
/// longer than that is enough to refuse every replay this replica sees.
const MFA_STEP_MEMORY: Duration = Duration::from_secs(300);

/// The Sts service. Every method but `SignIn` runs behind [`crate::auth::AuthLayer`].
#[derive(Debug)]
pub struct StsService {
    cache: PrincipalCache,
    signing: Arc<SigningKeys>,
    sts_keys: StsKeyDerivation,
    /// Opens the sealed MFA seeds.
    sealer: Sealer,
    /// `<account>/<user id>` → the last MFA step accepted at sign-in, to refuse a replayed
    /// code (RFC 6238 §5.2). In memory, per replica: with several replicas behind a balancer a
    /// code seen by one could still be replayed once on another within its 90 s window (with
    /// the password, which the replayer must have too). Closing that needs the step in the
    /// store (a conditional update on the MFA device row).
    mfa_steps: moka::future::Cache<String, u64>,
    /// An argon2 hash of a random password, verified when there is no user to verify against
    /// (made on first use, with the same parameters as the stored hashes).
    dummy_hash: tokio::sync::OnceCell<String>,
    audit: AuditSink,
    /// Verifies `AssumeRoleWithOIDC` tokens.
    oidc: Option<crate::oidc::OidcVerifier>,
    /// The per-account rate limits, for the unauthenticated `AssumeRoleWithOIDC` (checked
    /// against the role's account).
    rate_limits: Option<crate::layers::rate_limit::RateLimitLayer>,
}

impl StsService {
    /// The service: callers' permissions through `cache` (whose store it also uses), tokens
    /// signed with `signing`, STS secrets derived with `sts_keys`, MFA seeds opened with
    /// `sealer`.
    pub fn new(
        cache: PrincipalCache,
        signing: Arc<SigningKeys>,
        sts_keys: StsKeyDerivation,
        sealer: Sealer,
    ) -> StsService {
        StsService {
            cache,
            signing,
            sts_keys,
            sealer,
            mfa_steps: moka::future::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(MFA_STEP_MEMORY)
                .build(),
            dummy_hash: tokio::sync::OnceCell::new(),
            audit: AuditSink::disabled(),
            oidc: None,
            rate_limits: None,
        }
    }

    /// Records `AssumeRole` and `SignIn` (granted or refused) in `audit`.
    #[must_use]
    pub fn with_audit(mut self, audit: AuditSink) -> StsService {
        self.audit = audit;
        self
    }

    /// Verifies `AssumeRoleWithOIDC` tokens with `verifier` (without one, the operation fails).
    #[must_use]
    pub fn with_oidc(mut self, verifier: crate::oidc::OidcVerifier) -> StsService {
        self.oidc = Some(verifier);
        self
    }

    /// Applies `limits` to `AssumeRoleWithOIDC`, by the role's account.
    #[must_use]
    pub fn with_rate_limits(
        mut self,
        limits: crate::layers::rate_limit::RateLimitLayer,
    ) -> StsService {
        self.rate_limits = Some(limits);
        self
    }

    fn store(&self) -> &SqlStore {
        self.cache.store()
    }

    /// The role `arn` names, if it exists in an active account, from the principal cache
    /// (its trust policy is compiled with its permissions). The role's account may not be
    /// the caller's: the decision about it is `assume_role`'s. `account_active` says the
    /// caller's authentication already found that account active (its own account), which
    /// saves reading it.
    async fn find_role(
        &self,
        arn: &RoleArn,
        account_active: bool,
    ) -> Result<Option<Arc<CompiledPrincipal>>, Error> {
        if !account_active {
            match self.store().get_account(&arn.account).await {
                Ok(account) if account.status == AccountStatus::Active => {}
                Ok(_) => return Ok(None),
                Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(e),
            }
        }
        match self
            .cache
            .get(&PrincipalKey::role(arn.account.clone(), &arn.name))
            .await
        {
            Ok(role) => Ok(Some(role)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Mints STS credentials for a session of `account` from `issued_at` to `expires_at`.
    async fn issue(
        &self,
        account: &AccountId,
        subject: SessionSubject,
        issued_at: Timestamp,
        expires_at: Timestamp,
        session_policy: Option<String>,
    ) -> Result<pb::Credentials, Error> {
        let key = self.signing.current().await?;
        let access_key_id = new_access_key_id(&mut rand::rng());
        let token_id = sts_token_id(&access_key_id)
            .ok_or_else(Error::internal)?
            .to_owned();
        let secret = self.sts_keys.derive(&access_key_id);
        let access_key_secret = std::str::from_utf8(secret.expose())
            .map_err(|_| Error::internal())?
            .to_owned();
        let claims = SessionClaims {
            issuer: TOKEN_ISSUER.to_owned(),
            account_id: account.as_str().to_owned(),
            subject,
            issued_at,
            expires_at,
            token_id,
            access_key_id: access_key_id.clone(),
            session_policy,
        };
        let security_token = TokenIssuer::issue(&claims, &key).map_err(|error| {
            tracing::error!(%error, kid = key.kid(), "could not sign a security token");
            Error::internal()
        })?;
        Ok(pb::Credentials {
            access_key_id,
            access_key_secret,
            security_token,
            expiration: Some(prost_types::Timestamp {
                seconds: expires_at.as_second(),
                nanos: 0,
            }),
        })
    }

    /// What sign-in verifies for `user` of `account`: `None` when the account does not exist
    /// or is not active, or the user does not exist or has no login profile.
    async fn login_secret(
        &self,
        account: &AccountId,
        user: &str,
    ) -> Result<Option<LoginSecret>, Error> {
        let active = match self.store().get_account(account).await {
            Ok(a) => a.status == AccountStatus::Active,
            Err(e) if e.kind() == ErrorKind::NotFound => false,
            Err(e) => return Err(e),
        };
        // Read even for a missing account, so that case costs what the others cost.
        let secret = self.store().login_secret(account, user).await?;
        Ok(secret.filter(|_| active))
    }

    /// The hash verified when there is nothing to verify against.
    async fn dummy_hash(&self) -> Result<String, Error> {
        self.dummy_hash
            .get_or_try_init(|| async {
                tokio::task::spawn_blocking(|| {
                    let mut rng = rand::rng();
                    let random: String = (0..24)
                        .map(|_| char::from(rng.sample(rand::distr::Alphanumeric)))
                        .collect();
                    tessera_credentials::hash_password(&Secret::new(
                        format!("Dummy-{random}").into_bytes(),
                    ))
                })
                .await
                .map_err(|_| Error::internal())?
                .map_err(|error| {
                    tracing::error!(%error, "could not make the dummy password hash");
                    Error::internal()
                })
            })
            .await
            .cloned()
    }

    /// Records `step` as the last accepted MFA step of the user, unless it is not later than
    /// the one recorded: a code is accepted once.
    async fn accept_mfa_step(&self, account: &AccountId, user_id: &str, step: u64) -> bool {
        use moka::ops::compute::{CompResult, Op};
        let result = self
            .mfa_steps
            .entry(format!("{account}/{user_id}"))
            .and_compute_with(|entry| {
                let replayed = entry.is_some_and(|last| step <= *last.value());
                std::future::ready(if replayed { Op::Nop } else { Op::Put(step) })
            })
            .await;
        matches!(
            result,
            CompResult::Inserted(_) | CompResult::ReplacedWith(_)
        )
    }
}

fn err(e: Error) -> Status {
    status(&e)
}

/// An optional string parameter: empty is absent.
fn given(s: &str) -> Option<&str> {
    Some(s).filter(|s| !s.is_empty())
}

/// `GetCallerIdentity`'s answer for `caller`.
pub fn caller_identity(caller: &Caller) -> pb::GetCallerIdentityResponse {
    let (user_id, role_id) = match caller {
        // As STS answers for a root identity: the account id is its user id.
        Caller::Root { account } => (account.as_str().to_owned(), String::new()),
        Caller::User { user_id, .. } => (user_id.clone(), String::new()),
        Caller::RoleSession { role_id, .. } => (String::new(), role_id.clone()),
        Caller::Service { .. } | Caller::Federated { .. } => (String::new(), String::new()),
    };
    pb::GetCallerIdentityResponse {
        principal: Some(principal(caller)),
        user_id,
        role_id,
    }
}

/// The principal `caller` is, as answers name it (GetCallerIdentity, Authorize).
pub fn principal(caller: &Caller) -> pb::Principal {
    let account_id = caller
        .account()
        .map(|a| a.as_str().to_owned())
        .unwrap_or_default();
    let (identity_type, principal_id) = match caller {
        // The account id is a root identity's principal id.
        Caller::Root { account } => ("Account", account.as_str().to_owned()),
        Caller::User { user_id, .. } => ("RAMUser", user_id.clone()),
        Caller::RoleSession {
            role_id,
            session_name,
            ..
        } => ("AssumedRoleUser", format!("{role_id}:{session_name}")),
        Caller::Service { name } => ("Service", name.clone()),
        Caller::Federated { provider } => ("Federated", provider.clone()),
    };
    pb::Principal {
        arn: caller.arn(),
        account_id,
        identity_type: identity_type.to_owned(),
        principal_id,
    }
}

/// A refused AssumeRole: which side refused goes to the log, never to the caller.
fn refused(caller: &Caller, role_arn: &RoleArn, e: AssumeRoleError) -> Status {
    if let Some(authorization) = &e.authorization {
        tracing::info!(
            caller = %caller,
            role = %role_arn,
            decision = ?authorization.decision,
            reason = ?authorization.reason,
            "AssumeRole refused"
        );
    }
    status(&e.error)
}

impl StsService {
    /// `AssumeRole` (audited by the `Sts` impl).
    async fn assume_role_call(
        &self,
        request: Request<pb::AssumeRoleRequest>,
    ) -> Result<Response<pb::AssumeRoleResponse>, Status> {
        let auth = authenticated(&request)?;
        let req = request.get_ref();
        note(&request, || Noted {
            event_name: "AssumeRole",
            action: "sts:AssumeRole",
            resource: clip(&req.role_arn),
            detail: serde_json::json!({ "RoleSessionName": clip(&req.role_session_name) })
                .to_string(),
        });
        if req.role_arn.is_empty() {
            return Err(err(Error::missing("RoleArn")));
        }
        if req.role_session_name.is_empty() {
            return Err(err(Error::missing("RoleSessionName")));
        }
        let role_arn = RoleArn::parse(&req.role_arn).map_err(err)?;
        let (own, session) = caller_policies(&self.cache, auth).await.map_err(err)?;
        let identity = crate::authorizer::identity_policies(own.as_ref());
        let permissions = Permissions::new(identity, session.as_deref());
        let facts = auth.facts();

        let own_account = auth.caller.account() == Some(&role_arn.account);
        let Some(role) = self.find_role(&role_arn, own_account).await.map_err(err)? else {
            let e = tessera_iam::role_not_found(&auth.caller, &permissions, &role_arn, &facts);
            return Err(refused(&auth.caller, &role_arn, e));
        };
        let role_facts = role_facts(&role_arn, &role).map_err(err)?;
        let params = AssumeRoleParams {
            session_name: &req.role_session_name,
            duration_seconds: Some(req.duration_seconds).filter(|d| *d != 0),
            external_id: given(&req.external_id),
            source_identity: given(&req.source_identity),
            policy: given(&req.policy),
            policy_limits: Limits::default(),
            federated_claims: &[],
        };
        let grant =
            tessera_iam::assume_role(&auth.caller, &permissions, &role_facts, &params, &facts)
                .map_err(|e| refused(&auth.caller, &role_arn, e))?;

        let credentials = self
            .issue(
                &grant.account,
                SessionSubject::Role {
                    role_id: grant.role_id.clone(),
                    role_name: grant.role_name.clone(),
                    session_name: grant.session_name.clone(),
                    source_identity: grant.source_identity.clone(),
                },
                grant.issued_at,
                grant.expires_at,
                params.policy.map(str::to_owned),
            )
            .await
            .map_err(err)?;
        crate::telemetry::metrics::token_issued("AssumeRole");
        tracing::info!(
            caller = %auth.caller,
            session = %grant.assumed_role_arn(),
            access_key_id = %credentials.access_key_id,
            expires_at = %grant.expires_at,
            "AssumeRole granted"
        );
        Ok(Response::new(pb::AssumeRoleResponse {
            credentials: Some(credentials),
            assumed_role_user: Some(pb::AssumedRoleUser {
                arn: grant.assumed_role_arn(),
                assumed_role_id: grant.assumed_role_id(),
            }),
            source_identity: grant.source_identity.unwrap_or_default(),
        }))
    }
}

#[tonic::async_trait]
impl pb::sts_server::Sts for StsService {
    async fn assume_role(
        &self,
        mut request: Request<pb::AssumeRoleRequest>,
    ) -> Result<Response<pb::AssumeRoleResponse>, Status> {
        let audited = self.audit.begin(&mut request);
        let result = self.assume_role_call(request).await;
        self.audit.finish(audited, &result);
        result
    }

    async fn assume_role_with_oidc(
        &self,
        request: Request<pb::AssumeRoleWithOidcRequest>,
    ) -> Result<Response<pb::AssumeRoleWithOidcResponse>, Status> {
        let anonymous = crate::caller::Anonymous::of(&request);
        match self
            .assume_role_with_oidc_inner(request.get_ref(), &anonymous)
            .await
        {
            Ok(answer) => {
                self.record_oidc_exchange(&request, &anonymous, &answer);
                Ok(Response::new(answer))
            }
            Err(rejection) => {
                self.record_oidc_rejection(&request, &rejection, &anonymous);
                Err(rejection.status)
            }
        }
    }

    async fn get_caller_identity(
        &self,
        request: Request<pb::GetCallerIdentityRequest>,
    ) -> Result<Response<pb::GetCallerIdentityResponse>, Status> {
        let caller = authenticated(&request)?;
        Ok(Response::new(caller_identity(&caller.caller)))
    }

    async fn get_jwks(
        &self,
        request: Request<pb::GetJwksRequest>,
    ) -> Result<Response<pb::GetJwksResponse>, Status> {
        let caller = authenticated(&request)?;
        let keys = self
            .store()
            .list_signing_keys()
            .await
            .map_err(|e| Status::unavailable(format!("{}: {}", e.code(), e.message())))?;
        let public = crate::http::verification_keys(&keys, caller.received_at);
        Ok(Response::new(pb::GetJwksResponse {
            jwks_json: tessera_credentials::token::jwks(&public),
        }))
    }

    async fn sign_in(
        &self,
        request: Request<pb::SignInRequest>,
    ) -> Result<Response<pb::SignInResponse>, Status> {
        // Unauthenticated: no `Authenticated` carries the time, so it is read here, once.
        let received_at = Timestamp::now();
        // Attempts are recorded in the account they name, when it is a well-formed account id
        // and user name (anything else names no one); never the password or the MFA code.
        let origin = self.audit.enabled().then(|| {
            let req = request.get_ref();
            let account = AccountId::parse(&req.account_id).ok()?;
            names::user_name(&req.user_name).ok()?;
            Some(Origin::sign_in(
                &request,
                &account,
                &req.user_name,
                received_at,
            ))
        });
        let result = self.sign_in_call(request.into_inner(), received_at).await;
        if let Some(origin) = origin.flatten() {
            let resource = origin.principal.clone();
            let event = origin.event(
                "SignIn",
                "tessera:SignIn",
                resource,
                outcome(&result),
                String::new(),
            );
            self.audit.record(event);
        }
        result
    }
}

impl StsService {
    /// `SignIn` (audited by the `Sts` impl).
    async fn sign_in_call(
        &self,
        req: pb::SignInRequest,
        received_at: Timestamp,
    ) -> Result<Response<pb::SignInResponse>, Status> {
        if req.account_id.is_empty() {
            return Err(err(Error::missing("AccountId")));
        }
        if req.user_name.is_empty() {
            return Err(err(Error::missing("UserName")));
        }
        if req.password.is_empty() {
            return Err(err(Error::missing("Password")));
        }
        let account = AccountId::parse(&req.account_id).map_err(err)?;
        names::user_name(&req.user_name).map_err(err)?;
        let password = Secret::new(req.password.into_bytes());

        let secret = self
            .login_secret(&account, &req.user_name)
            .await
            .map_err(err)?;
        let hash = match &secret {
            Some(s) => s.password_hash.clone(),
            None => self.dummy_hash().await.map_err(err)?,
        };
        let matched = tokio::task::spawn_blocking(move || {
            tessera_credentials::verify_password(&password, &hash)
        })
        .await
        .map_err(|_| err(Error::internal()))?
        .map_err(|error| {
            tracing::error!(%error, account = %account, "a stored password hash is unusable");
            err(Error::internal())
        })?;
        let Some(secret) = secret.filter(|_| matched) else {
            return Err(err(Error::sign_in_failed()));
        };
        let user = match self.store().get_user(&account, &req.user_name).await {
            Ok(user) => user,
            // Deleted since the secret was read.
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(err(Error::sign_in_failed()));
            }
            Err(e) => return Err(err(e)),
        };

        let mfa_present = match &secret.mfa {
            None => false,
            Some(mfa) => {
                if req.mfa_code.is_empty() {
                    return Err(err(Error::missing("MFACode")));
                }
                let seed = self
                    .sealer
                    .open(&mfa.sealed_seed, &mfa_seed_context(&mfa.serial_number))
                    .map_err(|error| {
                        tracing::error!(serial = %mfa.serial_number, %error, "cannot open an MFA seed");
                        err(Error::internal())
                    })?;
                let Some(step) =
                    tessera_credentials::totp::check(&seed, &req.mfa_code, received_at)
                else {
                    return Err(err(Error::check_authentication_code_fail()));
                };
                if !self.accept_mfa_step(&account, &user.id, step).await {
                    return Err(err(Error::check_authentication_code_fail()));
                }
                true
            }
        };

        let issued_at =
            Timestamp::from_second(received_at.as_second()).map_err(|_| err(Error::internal()))?;
        let expires_at = issued_at
            .checked_add(SignedDuration::from_secs(USER_SESSION_SECONDS))
            .map_err(|_| err(Error::internal()))?;
        let credentials = self
            .issue(
                &account,
                SessionSubject::User {
                    user_id: user.id.clone(),
                    user_name: user.name.clone(),
                    mfa_present,
                },
                issued_at,
                expires_at,
                None,
            )
            .await
            .map_err(err)?;
        if let Err(error) = self
            .store()
            .record_user_login(&account, &user.name, received_at)
            .await
        {
            // The session is valid; a missed last-login time is not worth failing it.
            tracing::warn!(%error, account = %account, user = %user.name, "could not record a login");
        }
        let caller = Caller::User {
            account: account.clone(),
            user_id: user.id.clone(),
            name: user.name,
        };
        crate::telemetry::metrics::token_issued("SignIn");
        crate::telemetry::record_caller(&caller);
        tracing::info!(caller = %caller, mfa_present, "signed in");
        Ok(Response::new(pb::SignInResponse {
            credentials: Some(credentials),
            principal: Some(pb::Principal {
                arn: caller.arn(),
                account_id: account.as_str().to_owned(),
                identity_type: "RAMUser".to_owned(),
                principal_id: user.id,
            }),
            password_reset_required: secret.profile.password_reset_required,
            mfa_bind_required: secret.profile.mfa_bind_required,
        }))
    }
}

/// What `assume_role` decides with about the cached `role`; fails closed (`Internal`) when
/// its stored trust policy does not parse (logged when it was loaded).
pub(crate) fn role_facts<'a>(
    arn: &'a RoleArn,
    role: &'a CompiledPrincipal,
) -> Result<RoleFacts<'a>, Error> {
    let trust = role.trust.as_ref().ok_or_else(Error::internal)?;
    Ok(RoleFacts {
        account: &arn.account,
        id: &role.id,
        name: &role.name,
        trust: trust.policy.as_ref().ok_or_else(Error::internal)?,
        max_session_duration: trust.max_session_duration,
    })
}
