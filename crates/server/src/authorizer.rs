//! The `tessera.v1.Authorizer` service: decisions for internal services (DESIGN.md §2, §3, §5).
//!
//! - `ValidatePolicy` and `SimulateCustomPolicy` touch no stored data and are open to every
//!   authenticated caller (their rows in [`tessera_iam::OPERATIONS`] say `Always`).
//! - `Authorize`, `BatchAuthorize` and `SimulatePrincipalPolicy` decide for a principal named by
//!   ARN: `acs:ram::<account>:user/<name>`, `acs:ram::<account>:role/<name>` (the role's
//!   policies), `acs:ram::<account>:assumed-role/<role>/<session>` (also spelled
//!   `role/<role>/<session>`; the role's policies) or `acs:ram::<account>:root`. The principal's
//!   compiled policies come from the [`PrincipalCache`]; the context is the item's entries plus
//!   the keys Tessera sets for that principal ([`Caller::fill_context`] with the time the request
//!   was received and the subject's `source_ip`/`secure_transport`), which replace any
//!   caller-supplied values of those keys. The decision is [`tessera_iam::authorize()`] (root,
//!   the own-account rule), or [`tessera_iam::authorize_explained`] when `explain` is set.
//!
//! # Who may ask
//!
//! Asking about oneself is always allowed (the authenticated caller and the subject are
//! [`Caller::same_principal`]); then the caller's own credential is used as the subject, so a
//! role session's session policy applies too. Otherwise the caller needs the operation's action
//! (`tessera:Authorize` for Authorize/BatchAuthorize, `tessera:SimulatePrincipalPolicy`) on the
//! subject's ARN, decided with the caller's own permissions (loaded through the same cache); the
//! root identity of the subject's account is allowed. A caller the operator granted
//! `Authorize` platform-wide (`Operator/GrantPlatformAuthorize`, to a user or a role — a role's
//! sessions hold its grant) may ask about principals of every account; without such a grant
//! every cross-account question (and every question by a caller without an account) is refused
//! with `NoPermission`. Grants are cached per caller ([`PlatformGrants`]) and dropped whenever a
//! grant, a user or a role changes (deleting a principal deletes its grant without a grant
//! change of its own).
//! The caller is authorized before the subject is loaded, so an unauthorized caller cannot
//! probe which principals exist.
//!
//! # Subjects that prove possession
//!
//! A subject given as a `security_token` or a `signed_request` (the Alibaba API request, RPC v1
//! or ACS3, as it reached the asking service) is verified exactly as the authentication layer
//! verifies callers ([`Authenticator::authenticate_bearer`],
//! [`Authenticator::authenticate_request`]: signature, expiry, revocation, key and account
//! status, the clock window and the nonce — so a signed request decides once). The verified
//! principal is then decided for with everything its credential carries: a role session's issue
//! time, source identity and session policy, the access key id. Who may ask follows the same
//! rule as for ARNs: about itself always, otherwise `tessera:Authorize` in the subject's
//! account. A subject that fails verification answers `UNAUTHENTICATED` with the subject's error
//! code and a message starting `Subject:` (the asking service is authenticated; its client is
//! not), so the service can pass the refusal on.
//!
//! # The database unreachable
//!
//! Decisions need only cached data once a principal is loaded: the principal cache has no time
//! limit (the change feed evicts what changes, and catches up from the log when the database is
//! back), the asker's credential is cached by the authentication layer (at most
//! [`crate::auth::ACCESS_KEY_CACHE_TTL`]). So while the database is away, questions about cached
//! principals keep being answered as before, and the others fail closed with `UNAVAILABLE`
//! (`ServiceUnavailable`) within the store's short connection-acquire timeout
//! (`crates/server/tests/degraded.rs`).
//!
//! # Audit and degraded answers
//!
//! Every denied decision is recorded in the audit trail of the subject's account (event
//! `Authorize`, the item's action and resource, the subject's source address, the asker and
//! the reason in the detail), and a configurable sample of allowed ones
//! ([`crate::audit::AuditSink::sample_allowed`]); recording is a `try_send`, never a wait. An
//! answer served while this replica's change feed finds the database unreachable counts in
//! `tessera_authorize_degraded_total`.
//!
//! # Choices
//!
//! - An ARN names a principal without proving possession of a credential, so an ARN-named role
//!   session has no known issue time or source identity: `acs:TokenIssueTime` and
//!   `sts:SourceIdentity` are absent (conditions on them see a missing key), and no session
//!   policy applies. A plain role ARN carries `acs:PrincipalARN` = the role's ARN only, and is
//!   reported with identity type `Role` (a Tessera extension of STS's identity types).
//! - `min_revision`: with a change feed, the request waits (at most [`DEFAULT_WAIT`], else
//!   `UNAVAILABLE`) until the feed has applied that revision to the cache. Without a feed, a
//!   cached principal older than `min_revision` is reloaded; if the store itself is not there
//!   yet, `UNAVAILABLE`. The response's `revision` is the larger of the compiled set's load
//!   revision and the revision waited for.
//! - `SimulateCustomPolicy` decides with the policies alone ([`Permissions::explain`]: no root
//!   rule, no own-account rule, the item context as given) and always reports the matched
//!   statements, named `policy-<index>` (and `session` for the session policy).
//! - `SimulatePrincipalPolicy` always explains.
//! - `reason` is always set, to the [`Reason`]'s variant name (`Policies`, `RootOfAccount`,
//!   `CrossAccount`, …).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tessera_iam::{Caller, Error, Operation, Reason, RequestFacts, names};
use tessera_policy::{
    Context, Decision, Limits, Match, Permissions, PolicyKind, PolicyLabel, PolicySet, Request,
    Source, detect_kind, parse,
};
use tessera_proto::v1 as pb;
use tessera_proto::v1::authorizer_server::{Authorizer, AuthorizerServer};
use tessera_store::{FeedWatcher, Revision};
use tonic::{Request as GrpcRequest, Response, Status};

use crate::audit::{AuditSink, record};
use crate::auth::{AuthError, Authenticator};
use crate::caller::{self, Authenticated, Credential, Generation, Memo};
use crate::principals::{CompiledPrincipal, PrincipalCache, PrincipalKey};

/// How long a `min_revision` waits for the change feed by default.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(5);

/// The most items one BatchAuthorize/SimulatePrincipalPolicy/SimulateCustomPolicy decides.
pub const MAX_ITEMS: usize = 1000;

/// The most documents one SimulateCustomPolicy takes.
pub const MAX_DOCUMENTS: usize = 100;

/// The `tessera.v1.Authorizer` service.
#[derive(Debug, Clone)]
pub struct AuthorizerService {
    cache: PrincipalCache,
    grants: PlatformGrants,
    /// Verifies subjects given as a security token or a signed request.
    authenticator: Arc<Authenticator>,
    feed: Option<FeedWatcher>,
    wait_timeout: Duration,
    audit: AuditSink,
}

impl AuthorizerService {
    /// A service deciding from `cache` (and its store), without a change feed, verifying
    /// credential subjects with `authenticator`.
    pub fn new(cache: PrincipalCache, authenticator: Arc<Authenticator>) -> AuthorizerService {
        AuthorizerService {
            grants: PlatformGrants::new(cache.store().clone()),
            cache,
            authenticator,
            feed: None,
            wait_timeout: DEFAULT_WAIT,
            audit: AuditSink::disabled(),
        }
    }

    /// Records denied (and sampled allowed) decisions in `audit`.
    #[must_use]
    pub fn with_audit(mut self, audit: AuditSink) -> AuthorizerService {
        self.audit = audit;
        self
    }

    /// Follows the feed that invalidates `cache` ([`crate::principals::run_invalidation`]),
    /// for `min_revision`.
    #[must_use]
    pub fn with_feed(mut self, watcher: FeedWatcher) -> AuthorizerService {
        self.feed = Some(watcher);
        self
    }

    /// How long a `min_revision` waits for the feed.
    #[must_use]
    pub fn with_wait_timeout(mut self, timeout: Duration) -> AuthorizerService {
        self.wait_timeout = timeout;
        self
    }

    pub fn cache(&self) -> &PrincipalCache {
        &self.cache
    }

    /// The platform-grant cache, for the change feed to invalidate.
    pub fn platform_grants(&self) -> &PlatformGrants {
        &self.grants
    }

    /// The tonic service.
    pub fn into_server(self) -> AuthorizerServer<AuthorizerService> {
        AuthorizerServer::new(self)
    }
}

/// Maps a domain error to its gRPC status (the error table's code), with the message
/// `"<Code>: <Message>"` and the code in the `x-tessera-error-code` metadata, so that the
/// Alibaba-compatible HTTP API (and any client) reads the code without parsing text.
pub fn status(e: &Error) -> Status {
    tessera_proto::alibaba::status(e)
}

fn err(e: Error) -> Status {
    status(&e)
}

#[tonic::async_trait]
impl Authorizer for AuthorizerService {
    async fn authorize(
        &self,
        request: GrpcRequest<pb::AuthorizeRequest>,
    ) -> Result<Response<pb::AuthorizeResponse>, Status> {
        let auth = caller::authenticated(&request)?;
        let req = request.get_ref();
        let item = req
            .item
            .as_ref()
            .ok_or_else(|| err(Error::missing("Item")))?;
        let subject = subject(req.subject.as_ref())?;
        let decided = self
            .decide(
                auth,
                "Authorize",
                &subject,
                std::slice::from_ref(item),
                req.min_revision,
                req.explain,
            )
            .await?;
        crate::telemetry::record_authorize(
            decided
                .results
                .iter()
                .map(|r| (item.action.as_str(), r.decision)),
        );
        self.answered(&request, auth, &decided, std::slice::from_ref(item), false);
        Ok(Response::new(pb::AuthorizeResponse {
            result: decided.results.into_iter().next(),
            principal: Some(decided.principal),
            revision: decided.revision,
        }))
    }

    async fn batch_authorize(
        &self,
        request: GrpcRequest<pb::BatchAuthorizeRequest>,
    ) -> Result<Response<pb::BatchAuthorizeResponse>, Status> {
        let auth = caller::authenticated(&request)?;
        let req = request.get_ref();
        let subject = subject(req.subject.as_ref())?;
        let decided = self
            .decide(
                auth,
                "BatchAuthorize",
                &subject,
                &req.items,
                req.min_revision,
                req.explain,
            )
            .await?;
        crate::telemetry::record_authorize(
            req.items
                .iter()
                .zip(&decided.results)
                .map(|(item, r)| (item.action.as_str(), r.decision)),
        );
        self.answered(&request, auth, &decided, &req.items, true);
        Ok(Response::new(decided.into_batch()))
    }

    async fn simulate_principal_policy(
        &self,
        request: GrpcRequest<pb::SimulatePrincipalPolicyRequest>,
    ) -> Result<Response<pb::BatchAuthorizeResponse>, Status> {
        let auth = caller::authenticated(&request)?;
        let req = request.get_ref();
        if req.principal_arn.is_empty() {
            return Err(err(Error::missing("PrincipalArn")));
        }
        let subject = Subject {
            kind: SubjectKind::Arn(&req.principal_arn),
            source_ip: "",
            secure_transport: false,
        };
        let decided = self
            .decide(
                auth,
                "SimulatePrincipalPolicy",
                &subject,
                &req.items,
                req.min_revision,
                true,
            )
            .await?;
        Ok(Response::new(decided.into_batch()))
    }

    async fn simulate_custom_policy(
        &self,
        request: GrpcRequest<pb::SimulateCustomPolicyRequest>,
    ) -> Result<Response<pb::SimulateCustomPolicyResponse>, Status> {
        caller::authenticated(&request)?;
        let req = request.get_ref();
        simulate_custom(req).map(Response::new).map_err(err)
    }

    async fn validate_policy(
        &self,
        request: GrpcRequest<pb::ValidatePolicyRequest>,
    ) -> Result<Response<pb::ValidatePolicyResponse>, Status> {
        caller::authenticated(&request)?;
        let req = request.get_ref();
        validate(req).map(Response::new).map_err(err)
    }
}

// --- subjects ---

/// The subject of a decision, with the transport facts the asking service saw.
struct Subject<'a> {
    kind: SubjectKind<'a>,
    source_ip: &'a str,
    secure_transport: bool,
}

enum SubjectKind<'a> {
    Arn(&'a str),
    SecurityToken(&'a str),
    SignedRequest(&'a pb::SignedHttpRequest),
}

fn subject(subject: Option<&pb::Subject>) -> Result<Subject<'_>, Status> {
    let given = subject.ok_or_else(|| err(Error::missing("Subject")))?;
    let kind = match &given.kind {
        Some(pb::subject::Kind::PrincipalArn(arn)) => SubjectKind::Arn(arn),
        Some(pb::subject::Kind::SecurityToken(token)) if !token.is_empty() => {
            SubjectKind::SecurityToken(token)
        }
        Some(pb::subject::Kind::SecurityToken(_)) => {
            return Err(err(Error::missing("SecurityToken")));
        }
        Some(pb::subject::Kind::SignedRequest(request)) => SubjectKind::SignedRequest(request),
        None => return Err(err(Error::missing("Subject"))),
    };
    Ok(Subject {
        kind,
        source_ip: &given.source_ip,
        secure_transport: given.secure_transport,
    })
}

/// A subject's credential failed verification: `UNAUTHENTICATED` (or the store's
/// unavailability) with the subject's code, the message saying it is about the subject.
fn subject_refused(e: &AuthError) -> Status {
    AuthError {
        grpc: e.grpc,
        code: e.code.clone(),
        message: format!("Subject: {}", e.message),
    }
    .to_status()
}

/// A principal named by ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Named {
    Root(tessera_iam::AccountId),
    User {
        account: tessera_iam::AccountId,
        name: String,
    },
    Role {
        account: tessera_iam::AccountId,
        name: String,
    },
    Session {
        account: tessera_iam::AccountId,
        role: String,
        session: String,
    },
}

impl Named {
    /// Parses `acs:ram:[*]:<account>:(root|user/<n>|role/<n>|role/<r>/<s>|assumed-role/<r>/<s>)`.
    fn parse(text: &str) -> Result<Named, Error> {
        let bad = || {
            Error::invalid(
                "InvalidParameter.PrincipalArn",
                "The parameter PrincipalArn is wrongly formed.",
            )
        };
        let rest = text.strip_prefix("acs:ram:").ok_or_else(bad)?;
        let rest = rest
            .strip_prefix(':')
            .or_else(|| rest.strip_prefix("*:"))
            .ok_or_else(bad)?;
        let (account, resource) = rest.split_once(':').ok_or_else(bad)?;
        let account = tessera_iam::AccountId::parse(account).map_err(|_| bad())?;
        if resource == "root" {
            return Ok(Named::Root(account));
        }
        if let Some(name) = resource.strip_prefix("user/") {
            names::user_name(name).map_err(|_| bad())?;
            return Ok(Named::User {
                account,
                name: name.to_owned(),
            });
        }
        let session = |rest: &str| -> Result<Named, Error> {
            let (role, session) = rest.split_once('/').ok_or_else(bad)?;
            names::role_name(role).map_err(|_| bad())?;
            names::role_session_name(session).map_err(|_| bad())?;
            Ok(Named::Session {
                account: account.clone(),
                role: role.to_owned(),
                session: session.to_owned(),
            })
        };
        if let Some(rest) = resource.strip_prefix("assumed-role/") {
            return session(rest);
        }
        if let Some(rest) = resource.strip_prefix("role/") {
            if rest.contains('/') {
                return session(rest);
            }
            names::role_name(rest).map_err(|_| bad())?;
            return Ok(Named::Role {
                account,
                name: rest.to_owned(),
            });
        }
        Err(bad())
    }

    /// The verified caller as a name (`None` for callers that are no principal of an account).
    fn of(caller: &Caller) -> Option<Named> {
        match caller {
            Caller::Root { account } => Some(Named::Root(account.clone())),
            Caller::User { account, name, .. } => Some(Named::User {
                account: account.clone(),
                name: name.clone(),
            }),
            Caller::RoleSession {
                account,
                role_name,
                session_name,
                ..
            } => Some(Named::Session {
                account: account.clone(),
                role: role_name.clone(),
                session: session_name.clone(),
            }),
            Caller::Service { .. } | Caller::Federated { .. } => None,
        }
    }

    fn account(&self) -> &tessera_iam::AccountId {
        match self {
            Named::Root(account)
            | Named::User { account, .. }
            | Named::Role { account, .. }
            | Named::Session { account, .. } => account,
        }
    }

    /// The canonical ARN, as given (names keep the caller's case).
    fn arn(&self) -> String {
        match self {
            Named::Root(account) => account.root_arn(),
            Named::User { account, name } => tessera_iam::arn::user(account, name),
            Named::Role { account, name } => tessera_iam::arn::role(account, name),
            Named::Session {
                account,
                role,
                session,
            } => tessera_iam::arn::assumed_role(account, role, session),
        }
    }

    /// The principal as a [`Caller`] (ids unknown), to compare with the authenticated caller;
    /// `None` for a plain role, which is never a caller itself.
    fn probe(&self, now: jiff::Timestamp) -> Option<Caller> {
        match self {
            Named::Root(account) => Some(Caller::Root {
                account: account.clone(),
            }),
            Named::User { account, name } => Some(Caller::User {
                account: account.clone(),
                user_id: String::new(),
                name: name.clone(),
            }),
            Named::Session {
                account,
                role,
                session,
            } => Some(Caller::RoleSession {
                account: account.clone(),
                role_id: String::new(),
                role_name: role.clone(),
                session_name: session.clone(),
                issued_at: now,
                source_identity: None,
            }),
            Named::Role { .. } => None,
        }
    }

    fn key(&self) -> Option<PrincipalKey> {
        match self {
            Named::Root(_) => None,
            Named::User { account, name } => Some(PrincipalKey::user(account.clone(), name)),
            Named::Role { account, name }
            | Named::Session {
                account,
                role: name,
                ..
            } => Some(PrincipalKey::role(account.clone(), name)),
        }
    }
}

/// A resolved subject: who is decided for, with which policies.
struct Resolved {
    /// Decides root and the own-account rule.
    caller: Arc<Caller>,
    compiled: Option<Arc<CompiledPrincipal>>,
    /// The session policy of the caller's own role session (about itself only).
    session: Option<Arc<PolicySet>>,
    /// `acs:PrincipalARN` replaced by this ARN alone (plain roles).
    principal_arn_override: Option<String>,
    /// No token, so no issue time (ARN-named role sessions).
    drop_token_keys: bool,
    /// A verified credential subject: its request facts (access key id, MFA) are the ones
    /// the context gets.
    verified: Option<Authenticated>,
    principal: pb::Principal,
}

struct Decided {
    results: Vec<pb::AuthorizeResult>,
    principal: pb::Principal,
    revision: u64,
    /// The subject's source address as the asking service gave it.
    source_ip: Option<IpAddr>,
}

impl Decided {
    fn into_batch(self) -> pb::BatchAuthorizeResponse {
        pb::BatchAuthorizeResponse {
            results: self.results,
            principal: Some(self.principal),
            revision: self.revision,
        }
    }
}

impl AuthorizerService {
    /// Authorizes the asker, waits for `min_revision`, resolves the subject and decides every
    /// item in order.
    async fn decide(
        &self,
        auth: &Authenticated,
        operation: &str,
        subject: &Subject<'_>,
        items: &[pb::AuthorizeItem],
        min_revision: u64,
        explain: bool,
    ) -> Result<Decided, Status> {
        if items.len() > MAX_ITEMS {
            return Err(err(too_many("Items", MAX_ITEMS)));
        }
        let source_ip = parse_source_ip(subject.source_ip).map_err(err)?;
        let min_revision = i64::try_from(min_revision)
            .map(Revision)
            .map_err(|_| err(Error::range("MinRevision", 0, i64::MAX)))?;
        let verified = self
            .verify(auth, subject, source_ip)
            .await
            .map_err(|e| subject_refused(&e))?;
        let named = match (&subject.kind, &verified) {
            (SubjectKind::Arn(arn), _) => Named::parse(arn).map_err(err)?,
            (_, Some(verified)) => Named::of(&verified.caller).ok_or_else(|| {
                err(Error::no_permission(
                    tessera_iam::authorize::NO_PERMISSION_MESSAGE,
                ))
            })?,
            (_, None) => return Err(err(Error::internal())),
        };

        let about_self = match &verified {
            Some(verified) => verified.caller.same_principal(&auth.caller),
            None => named
                .probe(auth.received_at)
                .is_some_and(|p| p.same_principal(&auth.caller)),
        };
        if !about_self {
            self.authorize_asker(auth, operation, &named)
                .await
                .map_err(err)?;
        }

        let waited = self.wait(min_revision).await.map_err(err)?;
        let resolved = match verified {
            Some(verified) => self.resolve_verified(verified, min_revision).await,
            None => self.resolve(auth, &named, about_self, min_revision).await,
        }
        .map_err(err)?;

        let mut facts = match &resolved.verified {
            Some(verified) => verified.facts(),
            None => RequestFacts::at(auth.received_at),
        };
        facts.source_ip = source_ip;
        facts.secure_transport = subject.secure_transport;
        let identity = identity_policies(resolved.compiled.as_ref());
        let permissions = Permissions::new(identity, resolved.session.as_deref());
        // Only the keys some condition tests: the others cannot change the decision.
        let wanted = |key: &str| permissions.uses_key(key);
        // Tessera's keys, replacing any an item supplies.
        let fill = |context: &mut Context| {
            resolved.caller.fill_context_where(&facts, context, wanted);
            if let Some(arn) = &resolved.principal_arn_override
                && wanted("acs:PrincipalARN")
            {
                context.set("acs:PrincipalARN", arn);
            }
            if resolved.drop_token_keys {
                context.remove("acs:TokenIssueTime");
                context.remove("sts:SourceIdentity");
            }
        };
        // Built once for the items without context entries (most of a batch).
        let mut shared = Context::new();
        fill(&mut shared);
        let mut results = Vec::with_capacity(items.len());
        let mut matches = Vec::new();
        for item in items {
            check_item(item).map_err(err)?;
            let own;
            let context = if item.context.is_empty() {
                &shared
            } else {
                let mut context = item_context(item, &permissions).map_err(err)?;
                fill(&mut context);
                own = context;
                &own
            };
            let request = Request::new(&item.action, &item.resource, context);
            let result = if explain {
                matches.clear();
                let authorization = tessera_iam::authorize_explained(
                    &resolved.caller,
                    &permissions,
                    &request,
                    &mut matches,
                );
                pb::AuthorizeResult {
                    decision: decision(authorization.decision),
                    matched: described(&permissions, resolved.compiled.as_deref(), &matches),
                    reason: reason_name(authorization.reason).to_owned(),
                }
            } else {
                let authorization =
                    tessera_iam::authorize(&resolved.caller, &permissions, &request);
                pb::AuthorizeResult {
                    decision: decision(authorization.decision),
                    matched: Vec::new(),
                    reason: reason_name(authorization.reason).to_owned(),
                }
            };
            results.push(result);
        }
        let loaded = resolved.compiled.as_ref().map(|c| c.revision);
        let revision = loaded
            .into_iter()
            .chain(waited)
            .max()
            .map_or(0, |r| u64::try_from(r.0).unwrap_or(0));
        Ok(Decided {
            results,
            principal: resolved.principal,
            revision,
            source_ip,
        })
    }

    /// After an `Authorize`/`BatchAuthorize` answer: audits its denied (and sampled allowed)
    /// decisions (an `Authorize` event each; a batch's in one `BatchAuthorize` event), and
    /// counts it as degraded if the database is unreachable.
    fn answered<T>(
        &self,
        request: &GrpcRequest<T>,
        auth: &Authenticated,
        decided: &Decided,
        items: &[pb::AuthorizeItem],
        batch: bool,
    ) {
        if self.feed.as_ref().is_some_and(|f| !f.store_reachable()) {
            crate::telemetry::metrics::authorize_degraded();
        }
        if !self.audit.enabled() {
            return;
        }
        // Denied items, and allowed ones as sampled.
        let chosen: Vec<(usize, &pb::AuthorizeItem, &pb::AuthorizeResult)> = items
            .iter()
            .zip(&decided.results)
            .enumerate()
            .filter(|(_, (_, r))| {
                r.decision != pb::Decision::Allow as i32 || self.audit.sample_allowed()
            })
            .map(|(index, (item, result))| (index, item, result))
            .collect();
        if chosen.is_empty() {
            return;
        }
        let Ok(account) = tessera_iam::AccountId::parse(&decided.principal.account_id) else {
            return;
        };
        let recorded: Vec<(usize, record::Decision<'_>)> = chosen
            .into_iter()
            .map(|(index, item, result)| {
                let d = record::Decision {
                    account: &account,
                    principal: &decided.principal.arn,
                    action: &item.action,
                    resource: &item.resource,
                    allowed: result.decision == pb::Decision::Allow as i32,
                    decision: crate::telemetry::proto_decision_name(result.decision),
                    reason: &result.reason,
                    source_ip: decided.source_ip,
                };
                (index, d)
            })
            .collect();
        if batch {
            if let Some(event) = record::batch_decisions(request, auth, &recorded) {
                self.audit.record(event);
            }
        } else {
            for (_, d) in &recorded {
                self.audit.record(record::decision(request, auth, d));
            }
        }
    }

    /// May the authenticated caller ask `operation` about `named` (another principal)?
    async fn authorize_asker(
        &self,
        auth: &Authenticated,
        operation: &str,
        named: &Named,
    ) -> Result<(), Error> {
        let row: &Operation = tessera_iam::operation(operation).ok_or_else(|| {
            tracing::error!(operation, "no row in the operation table");
            Error::internal()
        })?;
        let refused = || Error::no_permission(tessera_iam::authorize::NO_PERMISSION_MESSAGE);
        let memo = auth.memos.as_deref().map(|m| &m.platform_grant);
        // Across accounts only with a platform-wide grant from the operator (which covers the
        // `tessera:Authorize` family only, not SimulatePrincipalPolicy).
        let grantable = row.action == "tessera:Authorize";
        if auth.caller.account() != Some(named.account()) {
            if grantable && self.grants.allows(&auth.caller, memo).await? {
                return Ok(());
            }
            return Err(refused());
        }
        let (own, session) = self.caller_policies(auth).await?;
        let identity = identity_policies(own.as_ref());
        let permissions = Permissions::new(identity, session.as_deref());
        let mut context = Context::new();
        auth.caller
            .fill_context_where(&auth.facts(), &mut context, |key| permissions.uses_key(key));
        let resource = named.arn();
        let request = Request::new(row.action, &resource, &context);
        match tessera_iam::authorize(&auth.caller, &permissions, &request).require() {
            Ok(_) => Ok(()),
            Err(_) if grantable && self.grants.allows(&auth.caller, memo).await? => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The authenticated caller's own policies (see [`caller_policies`]).
    async fn caller_policies(
        &self,
        auth: &Authenticated,
    ) -> Result<(Option<Arc<CompiledPrincipal>>, Option<Arc<PolicySet>>), Error> {
        caller_policies(&self.cache, auth).await
    }

    /// Waits until the feed has applied `min_revision` (nothing to wait for without a feed or
    /// without a `min_revision`).
    async fn wait(&self, min_revision: Revision) -> Result<Option<Revision>, Error> {
        if min_revision.0 <= 0 {
            return Ok(None);
        }
        let Some(feed) = &self.feed else {
            return Ok(None);
        };
        feed.wait_for(min_revision, self.wait_timeout)
            .await
            .map(Some)
            .map_err(Error::from)
    }

    /// The compiled principal of `key` (remembered in `memo`, the principal's session's, if it
    /// has one), reloaded if older than `min_revision` without a change feed.
    async fn load(
        &self,
        key: &PrincipalKey,
        memo: Option<&Memo<Arc<CompiledPrincipal>>>,
        min_revision: Revision,
    ) -> Result<Arc<CompiledPrincipal>, Error> {
        let compiled = self.cache.get_remembered(key, memo).await?;
        if self.feed.is_some() || compiled.revision >= min_revision {
            return Ok(compiled);
        }
        // No feed tells this replica about writes: a cached set older than the revision asked
        // for is reloaded from the store.
        let compiled = self.cache.reload(key).await?;
        if compiled.revision >= min_revision {
            Ok(compiled)
        } else {
            Err(Error::unavailable(format!(
                "The store is at revision {} and has not reached revision {}; retry later.",
                compiled.revision.0, min_revision.0
            )))
        }
    }

    /// Verifies a credential subject as the authentication layer verifies callers; `None` for
    /// a subject named by ARN.
    async fn verify(
        &self,
        auth: &Authenticated,
        subject: &Subject<'_>,
        source_ip: Option<IpAddr>,
    ) -> Result<Option<Authenticated>, AuthError> {
        let now = auth.received_at;
        let ((caller, credential), memos) = match subject.kind {
            SubjectKind::Arn(_) => return Ok(None),
            SubjectKind::SecurityToken(token) => {
                let (identity, memos) = self.authenticator.authenticate_bearer(token, now).await?;
                (identity, Some(memos))
            }
            SubjectKind::SignedRequest(request) => {
                let headers = request
                    .headers
                    .iter()
                    .map(|h| (h.name.as_str(), h.value.as_bytes()));
                let parsed = tessera_credentials::SignedRequest::parse(
                    &request.method,
                    &request.path,
                    &request.query,
                    headers,
                    &request.body,
                )?;
                let identity = self
                    .authenticator
                    .authenticate_request(&parsed, now)
                    .await?;
                (identity, None)
            }
        };
        Ok(Some(Authenticated {
            caller,
            memos,
            mfa_present: credential.mfa_present(),
            credential,
            received_at: now,
            source_ip,
            secure_transport: subject.secure_transport,
            user_agent: None,
        }))
    }

    /// A verified credential subject: its own policies and, for a role session, the session
    /// policy its token carries.
    async fn resolve_verified(
        &self,
        verified: Authenticated,
        min_revision: Revision,
    ) -> Result<Resolved, Error> {
        let memos = verified.memos.as_deref();
        let compiled = match PrincipalKey::of_caller(&verified.caller) {
            Some(key) => Some(
                self.load(&key, memos.map(|m| &m.compiled), min_revision)
                    .await
                    .map_err(|e| {
                        // Deleted since it authenticated: it holds no permissions.
                        if e.kind() == tessera_iam::ErrorKind::NotFound {
                            Error::no_permission(tessera_iam::authorize::NO_PERMISSION_MESSAGE)
                        } else {
                            e
                        }
                    })?,
            ),
            None => None,
        };
        let principal = match memos {
            Some(memos) => memos
                .principal
                .get_or_init(|| crate::sts::principal(&verified.caller))
                .clone(),
            None => crate::sts::principal(&verified.caller),
        };
        Ok(Resolved {
            caller: Arc::clone(&verified.caller),
            compiled,
            session: session_policy(&verified),
            principal_arn_override: None,
            drop_token_keys: false,
            principal,
            verified: Some(verified),
        })
    }

    async fn resolve(
        &self,
        auth: &Authenticated,
        named: &Named,
        about_self: bool,
        min_revision: Revision,
    ) -> Result<Resolved, Error> {
        let compiled = match named.key() {
            Some(key) => Some(self.load(&key, None, min_revision).await?),
            None => None,
        };
        let account = named.account().clone();
        let principal = |arn: String, identity_type: &str, id: String| pb::Principal {
            arn,
            account_id: account.as_str().to_owned(),
            identity_type: identity_type.to_owned(),
            principal_id: id,
        };
        let resolved = match (named, &compiled) {
            (Named::Root(account), _) => Resolved {
                caller: Arc::new(Caller::Root {
                    account: account.clone(),
                }),
                compiled: None,
                session: None,
                principal_arn_override: None,
                drop_token_keys: false,
                verified: None,
                principal: principal(account.root_arn(), "Account", account.as_str().to_owned()),
            },
            (Named::User { .. }, Some(user)) => {
                let caller = user.user_caller().ok_or_else(Error::internal)?;
                Resolved {
                    principal: principal(caller.arn(), "RAMUser", user.id.clone()),
                    caller: Arc::new(caller),
                    compiled: compiled.clone(),
                    session: None,
                    principal_arn_override: None,
                    drop_token_keys: false,
                    verified: None,
                }
            }
            (Named::Role { .. }, Some(role)) => Resolved {
                caller: Arc::new(Caller::RoleSession {
                    account: role.account.clone(),
                    role_id: role.id.clone(),
                    role_name: role.name.clone(),
                    session_name: String::new(),
                    issued_at: auth.received_at,
                    source_identity: None,
                }),
                principal_arn_override: Some(role.arn()),
                drop_token_keys: true,
                principal: principal(role.arn(), "Role", role.id.clone()),
                compiled: compiled.clone(),
                session: None,
                verified: None,
            },
            (Named::Session { session, .. }, Some(role)) => {
                // About itself: the caller's own session (issue time, source identity, session
                // policy). Otherwise a session known only by name.
                let (caller, session_policy, drop_token_keys) = match (&*auth.caller, about_self) {
                    (Caller::RoleSession { .. }, true) => {
                        (Arc::clone(&auth.caller), session_policy(auth), false)
                    }
                    _ => (
                        Arc::new(Caller::RoleSession {
                            account: role.account.clone(),
                            role_id: role.id.clone(),
                            role_name: role.name.clone(),
                            session_name: session.clone(),
                            issued_at: auth.received_at,
                            source_identity: None,
                        }),
                        None,
                        true,
                    ),
                };
                let id = format!("{}:{session}", role.id);
                Resolved {
                    principal: principal(
                        tessera_iam::arn::assumed_role(&role.account, &role.name, session),
                        "AssumedRoleUser",
                        id,
                    ),
                    caller,
                    compiled: compiled.clone(),
                    session: session_policy,
                    principal_arn_override: None,
                    drop_token_keys,
                    verified: None,
                }
            }
            (_, None) => return Err(Error::internal()),
        };
        Ok(resolved)
    }
}

/// The authenticated caller's own policies (remembered in its bearer session): a user's, or a
/// role session's role policies and session policy; none for root (decided without policies)
/// and for callers without an account.
pub(crate) async fn caller_policies(
    cache: &PrincipalCache,
    auth: &Authenticated,
) -> Result<(Option<Arc<CompiledPrincipal>>, Option<Arc<PolicySet>>), Error> {
    let Some(key) = PrincipalKey::of_caller(&auth.caller) else {
        return Ok((None, None));
    };
    let memo = auth.memos.as_deref().map(|m| &m.compiled);
    let own = match cache.get_remembered(&key, memo).await {
        Ok(own) => own,
        // The caller's own user or role is gone (deleted after it authenticated): it holds
        // no permissions.
        Err(e) if e.kind() == tessera_iam::ErrorKind::NotFound => {
            return Err(Error::no_permission(
                tessera_iam::authorize::NO_PERMISSION_MESSAGE,
            ));
        }
        Err(e) => return Err(e),
    };
    Ok((Some(own), session_policy(auth)))
}

/// The identity policies of `own` (see [`caller_policies`]), or none for a principal without
/// stored policies (root): that empty set is built once, not per request.
pub(crate) fn identity_policies(own: Option<&Arc<CompiledPrincipal>>) -> &PolicySet {
    static NONE: std::sync::LazyLock<PolicySet> = std::sync::LazyLock::new(PolicySet::empty);
    own.map_or(&NONE, |c| &c.identity)
}

/// The session policy of the caller's security token (compiled by the authentication layer).
fn session_policy(auth: &Authenticated) -> Option<Arc<PolicySet>> {
    match &*auth.credential {
        Credential::SecurityToken { session_policy, .. } => session_policy.clone(),
        Credential::AccessKey { .. } | Credential::ClientCertificate { .. } => None,
    }
}

// --- platform grants ---

/// How long a cached answer about a caller's platform grant lives at most (the change feed
/// drops them sooner).
const GRANT_CACHE_TTL: Duration = Duration::from_secs(30);

/// Whether callers hold the operator's platform-wide `Authorize` grant, cached per caller ARN
/// (and in the caller's session memos, see [`crate::caller::SessionMemos`]).
#[derive(Debug, Clone)]
pub struct PlatformGrants {
    store: tessera_store::SqlStore,
    cache: moka::future::Cache<String, bool>,
    /// Bumped after every invalidation (see [`Generation`]).
    generation: Arc<Generation>,
}

impl PlatformGrants {
    pub fn new(store: tessera_store::SqlStore) -> PlatformGrants {
        PlatformGrants {
            store,
            cache: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(GRANT_CACHE_TTL)
                .build(),
            generation: Arc::default(),
        }
    }

    /// Whether `caller` (a user, or a role session through its role) holds a grant; `memo`
    /// is the caller's session's, if it has one.
    pub async fn allows(&self, caller: &Caller, memo: Option<&Memo<bool>>) -> Result<bool, Error> {
        if !matches!(caller, Caller::User { .. } | Caller::RoleSession { .. }) {
            return Ok(false);
        }
        let generation = self.generation.current();
        if let Some(allowed) = memo.and_then(|m| m.get(generation, GRANT_CACHE_TTL)) {
            return Ok(allowed);
        }
        use tessera_store::OperatorStore as _;
        let arn = caller.arn();
        // The store's query is built only on a miss (not boxed on every call).
        let allowed = self
            .cache
            .try_get_with_by_ref(&arn, async {
                self.store.has_platform_authorize(&arn).await
            })
            .await
            .map_err(|e| (*e).clone())?;
        if let Some(memo) = memo {
            memo.set(generation, allowed);
        }
        Ok(allowed)
    }

    /// Forgets every cached answer (a grant, a user or a role changed).
    pub fn invalidate_all(&self) {
        self.cache.invalidate_all();
        self.generation.bump();
    }
}

// --- items, contexts, results ---

fn too_many(field: &str, max: usize) -> Error {
    Error::invalid(
        format!("InvalidParameter.{field}.Length"),
        format!("The parameter - \"{field}\" has more than {max} entries."),
    )
}

fn parse_source_ip(text: &str) -> Result<Option<IpAddr>, Error> {
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<IpAddr>()
        .map(Some)
        .map_err(|_| Error::format("SourceIp", "an IPv4 or IPv6 address"))
}

fn check_item(item: &pb::AuthorizeItem) -> Result<(), Error> {
    if item.action.is_empty() {
        return Err(Error::missing("Action"));
    }
    if item.resource.is_empty() {
        return Err(Error::missing("Resource"));
    }
    Ok(())
}

/// The item's context entries for the keys `permissions` tests (every entry is checked).
fn item_context(item: &pb::AuthorizeItem, permissions: &Permissions) -> Result<Context, Error> {
    let mut context = Context::new();
    for entry in &item.context {
        if entry.key.is_empty() {
            return Err(Error::missing("ContextKey"));
        }
        if !permissions.uses_key(&entry.key) {
            continue;
        }
        for value in &entry.values {
            context.insert(&entry.key, value);
        }
    }
    Ok(context)
}

fn decision(d: Decision) -> i32 {
    match d {
        Decision::Allow => pb::Decision::Allow as i32,
        Decision::ExplicitDeny => pb::Decision::ExplicitDeny as i32,
        Decision::ImplicitDeny => pb::Decision::ImplicitDeny as i32,
    }
}

/// The name `AuthorizeResult.reason` reports.
pub fn reason_name(reason: Reason) -> &'static str {
    match reason {
        Reason::RootOfAccount => "RootOfAccount",
        Reason::Policies => "Policies",
        Reason::CrossAccount => "CrossAccount",
        Reason::RootCannotAssumeRole => "RootCannotAssumeRole",
        Reason::NoAccount => "NoAccount",
        Reason::AlwaysAllowed => "AlwaysAllowed",
        Reason::AboutSelf => "AboutSelf",
        Reason::NotAUser => "NotAUser",
        Reason::AssumeRole { .. } => "AssumeRole",
    }
}

/// The matched statements, described. `compiled` gives the policy types of identity policies
/// (`None`: inline documents, reported as `Custom`).
fn described(
    permissions: &Permissions<'_>,
    compiled: Option<&CompiledPrincipal>,
    matches: &[Match],
) -> Vec<pb::MatchedStatement> {
    matches
        .iter()
        .filter_map(|m| {
            let statement = permissions.describe(*m)?;
            let (source, policy_type) = match m.source {
                Source::Identity => (
                    "identity",
                    match compiled {
                        Some(c) => c.policy_type(statement.policy).map_or("", |t| t.as_str()),
                        None => "Custom",
                    },
                ),
                Source::Session => ("session", ""),
            };
            Some(pb::MatchedStatement {
                source: source.to_owned(),
                policy_name: statement.policy.name.clone(),
                policy_type: policy_type.to_owned(),
                version_id: statement.policy.version.clone().unwrap_or_default(),
                statement_index: u32::try_from(statement.statement).unwrap_or(u32::MAX),
                sid: statement.sid.unwrap_or_default().to_owned(),
                effect: statement.effect.as_str().to_owned(),
            })
        })
        .collect()
}

// --- documents ---

fn parse_inline(text: &str, kind: PolicyKind, name: &str) -> Result<tessera_policy::Policy, Error> {
    parse(text, kind, &Limits::default())
        .map(|p| p.policy)
        .map_err(|errors| {
            let first = errors.first();
            Error::invalid(
                first.code.as_str(),
                format!(
                    "{name}: {} (at line {}, column {})",
                    first.message, first.position.line, first.position.column
                ),
            )
        })
}

fn simulate_custom(
    req: &pb::SimulateCustomPolicyRequest,
) -> Result<pb::SimulateCustomPolicyResponse, Error> {
    if req.policy_documents.len() > MAX_DOCUMENTS {
        return Err(too_many("PolicyDocuments", MAX_DOCUMENTS));
    }
    if req.items.len() > MAX_ITEMS {
        return Err(too_many("Items", MAX_ITEMS));
    }
    let mut policies = Vec::with_capacity(req.policy_documents.len());
    for (i, text) in req.policy_documents.iter().enumerate() {
        let name = format!("policy-{i}");
        let policy = parse_inline(text, PolicyKind::Identity, &name)?;
        policies.push((PolicyLabel::new(name), policy));
    }
    let identity = PolicySet::new(policies.iter().map(|(l, p)| (l.clone(), p)));
    let session = if req.session_policy.is_empty() {
        None
    } else {
        let policy = parse_inline(&req.session_policy, PolicyKind::Session, "session")?;
        Some(PolicySet::new([(PolicyLabel::new("session"), &policy)]))
    };
    let permissions = Permissions::new(&identity, session.as_ref());
    let mut results = Vec::with_capacity(req.items.len());
    let mut matches = Vec::new();
    for item in &req.items {
        check_item(item)?;
        let context = item_context(item, &permissions)?;
        let request = Request::new(&item.action, &item.resource, &context);
        matches.clear();
        let decided = permissions.explain(&request, &mut matches);
        results.push(pb::AuthorizeResult {
            decision: decision(decided),
            matched: described(&permissions, None, &matches),
            reason: reason_name(Reason::Policies).to_owned(),
        });
    }
    Ok(pb::SimulateCustomPolicyResponse { results })
}

fn validate(req: &pb::ValidatePolicyRequest) -> Result<pb::ValidatePolicyResponse, Error> {
    let kind = match pb::PolicyKind::try_from(req.kind) {
        Ok(pb::PolicyKind::Unspecified) => detect_kind(&req.document),
        Ok(pb::PolicyKind::Identity) => PolicyKind::Identity,
        Ok(pb::PolicyKind::Session) => PolicyKind::Session,
        Ok(pb::PolicyKind::Trust) => PolicyKind::Trust,
        Err(_) => {
            return Err(Error::invalid(
                "InvalidParameter.Kind",
                "The parameter - \"Kind\" must be IDENTITY, SESSION or TRUST.",
            ));
        }
    };
    let problem =
        |code: &str, position: tessera_policy::Position, message: &str| pb::PolicyProblem {
            code: code.to_owned(),
            line: position.line,
            column: position.column,
            message: message.to_owned(),
        };
    Ok(match parse(&req.document, kind, &Limits::default()) {
        Ok(parsed) => pb::ValidatePolicyResponse {
            valid: true,
            errors: Vec::new(),
            warnings: parsed
                .warnings
                .iter()
                .map(|w| problem(w.code.as_str(), w.position, &w.message))
                .collect(),
        },
        Err(errors) => pb::ValidatePolicyResponse {
            valid: false,
            errors: errors
                .iter()
                .map(|e| problem(e.code.as_str(), e.position, &e.message))
                .collect(),
            warnings: Vec::new(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "1111111111111111";

    #[test]
    fn principal_arns() {
        let a = tessera_iam::AccountId::parse(A).unwrap();
        let cases = [
            ("acs:ram::1111111111111111:root", Named::Root(a.clone())),
            (
                "acs:ram:*:1111111111111111:user/bob",
                Named::User {
                    account: a.clone(),
                    name: "bob".into(),
                },
            ),
            (
                "acs:ram::1111111111111111:role/Ops",
                Named::Role {
                    account: a.clone(),
                    name: "Ops".into(),
                },
            ),
            (
                "acs:ram::1111111111111111:assumed-role/Ops/s1",
                Named::Session {
                    account: a.clone(),
                    role: "Ops".into(),
                    session: "s1".into(),
                },
            ),
            (
                "acs:ram::1111111111111111:role/Ops/s1",
                Named::Session {
                    account: a.clone(),
                    role: "Ops".into(),
                    session: "s1".into(),
                },
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(Named::parse(text).unwrap(), expected, "{text}");
        }
        for bad in [
            "",
            "acs:ram::123:user/bob",
            "acs:ecs::1111111111111111:user/bob",
            "acs:ram::1111111111111111:user/",
            "acs:ram::1111111111111111:user/b*b",
            "acs:ram::1111111111111111:group/dev",
            "acs:ram::1111111111111111:assumed-role/Ops",
        ] {
            assert_eq!(
                Named::parse(bad).unwrap_err().code(),
                "InvalidParameter.PrincipalArn",
                "{bad}"
            );
        }
    }

    #[test]
    fn statuses() {
        let s = status(&Error::no_permission("nope"));
        assert_eq!(s.code(), tonic::Code::PermissionDenied);
        assert_eq!(s.message(), "NoPermission: nope");
        assert_eq!(
            s.metadata().get("x-tessera-error-code").unwrap(),
            "NoPermission"
        );
        assert_eq!(status(&Error::internal()).code(), tonic::Code::Internal);
        assert_eq!(
            status(&Error::missing("Subject")).code(),
            tonic::Code::InvalidArgument
        );
    }
}
