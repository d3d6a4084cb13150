//! Building audit events from requests.
//!
//! A service that audits whole calls (the RAM and Operator services, `AssumeRole`) wraps each
//! call in [`AuditSink::begin`] / [`AuditSink::finish`]: `begin` takes the request's
//! [`Origin`] (who, from where, which request, when) and puts an empty [`Slot`] in its
//! extensions; while authorizing, the service [`note`]s the operation there (only mutations,
//! access level `Write`, are noted); `finish` records one event from the note and the call's
//! outcome: `Allow` for success, `Deny` for a refusal (`PERMISSION_DENIED`, `UNAUTHENTICATED`),
//! `Error` otherwise, with the RAM error code. A call that fails before it is noted (a
//! malformed request the service rejects before authorizing) records nothing: it named no
//! operation on anything.
//!
//! `SignIn` and `Authorize` decisions build their events directly ([`Origin::sign_in`],
//! [`decision`]). No field ever holds a secret: events carry names, ARNs, codes and addresses.

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use jiff::Timestamp;
use tessera_iam::{AccountId, Caller, Operation};
use tessera_proto::alibaba::AlibabaError;
use tessera_store::{AuditDecision, AuditEvent};
use tonic::{Request, Status};

use super::AuditSink;
use crate::caller::Authenticated;
use crate::layers::request_id::RequestId;

/// The longest text taken from a request into an event (resources and actions of `Authorize`
/// items, role ARNs): longer text is cut.
const MAX_FIELD: usize = 1024;

/// The facts of a request every event of it shares.
#[derive(Debug, Clone)]
pub struct Origin {
    pub account: AccountId,
    pub principal: String,
    pub source_ip: String,
    pub request_id: String,
    pub at: Timestamp,
}

impl Origin {
    /// The origin of an authenticated request of a caller with an account (`None` for
    /// services and federated callers, whose events belong to no account).
    pub fn of<T>(request: &Request<T>) -> Option<Origin> {
        let auth = request.extensions().get::<Authenticated>()?;
        Origin::of_caller(auth, request_id(request))
    }

    fn of_caller(auth: &Authenticated, request_id: String) -> Option<Origin> {
        Some(Origin {
            account: auth.caller.account()?.clone(),
            principal: auth.caller.arn(),
            source_ip: ip(auth.source_ip),
            request_id,
            at: auth.received_at,
        })
    }

    /// A sign-in attempt of `user` of `account` (the request is not authenticated).
    pub fn sign_in<T>(
        request: &Request<T>,
        account: &AccountId,
        user: &str,
        at: Timestamp,
    ) -> Origin {
        Origin {
            account: account.clone(),
            principal: tessera_iam::arn::user(account, user),
            source_ip: ip(request
                .extensions()
                .get::<crate::caller::Peer>()
                .and_then(|p| p.0)),
            request_id: request_id(request),
            at,
        }
    }

    /// An event of this origin.
    pub fn event(
        &self,
        event_name: &str,
        action: &str,
        resource: String,
        outcome: (AuditDecision, String),
        detail: String,
    ) -> AuditEvent {
        AuditEvent {
            account: self.account.clone(),
            at: self.at,
            request_id: self.request_id.clone(),
            principal: self.principal.clone(),
            event_name: event_name.to_owned(),
            action: clip(action),
            resource,
            decision: outcome.0,
            error_code: outcome.1,
            source_ip: self.source_ip.clone(),
            detail,
        }
    }
}

/// The request id the request-id layer (or the HTTP API) gave the request.
pub fn request_id<T>(request: &Request<T>) -> String {
    request
        .extensions()
        .get::<RequestId>()
        .map(|id| id.as_str().to_owned())
        .unwrap_or_default()
}

fn ip(ip: Option<IpAddr>) -> String {
    ip.map(|ip| ip.to_string()).unwrap_or_default()
}

/// `text`, cut to [`MAX_FIELD`] bytes (at a character boundary).
pub fn clip(text: &str) -> String {
    clip_str(text).to_owned()
}

/// [`clip`], borrowed.
fn clip_str(text: &str) -> &str {
    if text.len() <= MAX_FIELD {
        return text;
    }
    let mut end = MAX_FIELD;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The decision and error code of a call's outcome.
pub fn outcome<R>(result: &Result<R, Status>) -> (AuditDecision, String) {
    match result {
        Ok(_) => (AuditDecision::Allow, String::new()),
        Err(status) => {
            let decision = match status.code() {
                tonic::Code::PermissionDenied | tonic::Code::Unauthenticated => AuditDecision::Deny,
                _ => AuditDecision::Error,
            };
            (decision, AlibabaError::from_status(status).code)
        }
    }
}

/// What a service noted about the call being audited.
#[derive(Debug, Clone)]
pub struct Noted {
    pub event_name: &'static str,
    pub action: &'static str,
    /// The resource ARN(s), comma-separated.
    pub resource: String,
    /// A JSON object, or empty.
    pub detail: String,
}

impl Noted {
    /// A call of `operation` by `caller` on `target`'s resources (empty when the parameters
    /// name none: the call then fails on them).
    pub fn operation(
        operation: &Operation,
        caller: &Caller,
        target: &tessera_iam::Target<'_>,
    ) -> Noted {
        Noted {
            event_name: operation.name,
            action: operation.action,
            resource: operation
                .resource_arns(caller, target)
                .map(|arns| arns.join(","))
                .unwrap_or_default(),
            detail: String::new(),
        }
    }
}

/// Where a service notes the call being audited (the first note wins: a rename authorizes
/// twice, and the event names the entity as it was).
#[derive(Debug, Clone, Default)]
pub struct Slot(Arc<OnceLock<Noted>>);

/// Notes the operation of `request`, when the call is being audited.
pub fn note<T>(request: &Request<T>, noted: impl FnOnce() -> Noted) {
    if let Some(slot) = request.extensions().get::<Slot>()
        && slot.0.get().is_none()
    {
        let _ = slot.0.set(noted());
    }
}

/// A call being audited (see [`AuditSink::begin`]).
#[derive(Debug)]
pub struct Pending {
    origin: Origin,
    slot: Slot,
}

impl AuditSink {
    /// Starts auditing the call of `request` (nothing when auditing is off or the caller
    /// belongs to no account).
    pub fn begin<T>(&self, request: &mut Request<T>) -> Option<Pending> {
        if !self.enabled() {
            return None;
        }
        let origin = Origin::of(request)?;
        let slot = Slot::default();
        request.extensions_mut().insert(slot.clone());
        Some(Pending { origin, slot })
    }

    /// Records the call's event, if the service noted an operation.
    pub fn finish<R>(&self, pending: Option<Pending>, result: &Result<R, Status>) {
        let Some(pending) = pending else {
            return;
        };
        let Some(noted) = pending.slot.0.get() else {
            return;
        };
        self.record(pending.origin.event(
            noted.event_name,
            noted.action,
            noted.resource.clone(),
            outcome(result),
            noted.detail.clone(),
        ));
    }
}

/// The event of one `Authorize` decision about `principal` (of `account`): the item's action
/// and resource, the subject's source address as the asking service passed it, the asker and
/// the reason in the detail.
#[derive(Debug)]
pub struct Decision<'a> {
    pub account: &'a AccountId,
    pub principal: &'a str,
    pub action: &'a str,
    pub resource: &'a str,
    pub allowed: bool,
    /// `ExplicitDeny`, `ImplicitDeny` or `Allow`.
    pub decision: &'a str,
    /// The reason's name (`Policies`, `CrossAccount`, …).
    pub reason: &'a str,
    pub source_ip: Option<IpAddr>,
}

/// The event of an `Authorize` decision asked by `asker`.
pub fn decision<T>(request: &Request<T>, asker: &Authenticated, d: &Decision<'_>) -> AuditEvent {
    AuditEvent {
        account: d.account.clone(),
        at: asker.received_at,
        request_id: request_id(request),
        principal: clip(d.principal),
        event_name: "Authorize".to_owned(),
        action: clip(d.action),
        resource: clip(d.resource),
        decision: if d.allowed {
            AuditDecision::Allow
        } else {
            AuditDecision::Deny
        },
        error_code: String::new(),
        source_ip: ip(d.source_ip),
        detail: serde_json::json!({
            "Asker": asker.caller.arn(),
            "Decision": d.decision,
            "Reason": d.reason,
        })
        .to_string(),
    }
}

/// The one event of a `BatchAuthorize` call that has recorded decisions (`recorded`: the
/// item's index and decision; at least one): a call is one event however many items it
/// denies, as every other API call is, so a large batch of denials costs the trail one row.
/// The action and resource are the first recorded item's; the decision is `Deny` if any
/// recorded item was denied; `Detail.Items` lists every recorded item.
pub fn batch_decisions<T>(
    request: &Request<T>,
    asker: &Authenticated,
    recorded: &[(usize, Decision<'_>)],
) -> Option<AuditEvent> {
    let (_, first) = recorded.first()?;
    // Serialized straight from borrowed fields (no JSON value tree: a batch may list
    // hundreds of items, and this runs on the request path).
    #[derive(serde::Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Item<'a> {
        index: usize,
        action: &'a str,
        resource: &'a str,
        decision: &'a str,
        reason: &'a str,
    }
    #[derive(serde::Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Detail<'a> {
        asker: String,
        items: Vec<Item<'a>>,
    }
    let detail = Detail {
        asker: asker.caller.arn(),
        items: recorded
            .iter()
            .map(|(index, d)| Item {
                index: *index,
                action: clip_str(d.action),
                resource: clip_str(d.resource),
                decision: d.decision,
                reason: d.reason,
            })
            .collect(),
    };
    let any_denied = recorded.iter().any(|(_, d)| !d.allowed);
    Some(AuditEvent {
        account: first.account.clone(),
        at: asker.received_at,
        request_id: request_id(request),
        principal: clip(first.principal),
        event_name: "BatchAuthorize".to_owned(),
        action: clip(first.action),
        resource: clip(first.resource),
        decision: if any_denied {
            AuditDecision::Deny
        } else {
            AuditDecision::Allow
        },
        error_code: String::new(),
        source_ip: ip(first.source_ip),
        detail: serde_json::to_string(&detail).unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn long_fields_are_cut_at_a_character_boundary() {
        assert_eq!(clip("short"), "short");
        let long = "é".repeat(MAX_FIELD);
        let cut = clip(&long);
        assert!(cut.len() <= MAX_FIELD && cut.len() >= MAX_FIELD - 1);
        assert!(cut.chars().all(|c| c == 'é'));
    }

    #[test]
    fn outcomes_name_the_decision_and_the_code() {
        assert_eq!(
            outcome::<()>(&Ok(())),
            (AuditDecision::Allow, String::new())
        );
        let denied = crate::authorizer::status(&tessera_iam::Error::no_permission("no"));
        assert_eq!(
            outcome::<()>(&Err(denied)),
            (AuditDecision::Deny, "NoPermission".to_owned())
        );
        let failed =
            crate::authorizer::status(&tessera_iam::Error::not_exist(tessera_iam::Entity::User));
        assert_eq!(
            outcome::<()>(&Err(failed)),
            (AuditDecision::Error, "EntityNotExist.User".to_owned())
        );
    }
}
