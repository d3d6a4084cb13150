//! The scenarios: what one call of each is.
//!
//! | scenario | call |
//! |---|---|
//! | `health` | `grpc.health.v1.Health/Check`: the transport floor |
//! | `health-bearer` | the same check carrying the service's bearer token (which health ignores): what the token's bytes cost on the wire |
//! | `caller-identity` | the service (bearer token) calls `Sts/GetCallerIdentity`: the floor of an authenticated `tessera.v1` RPC (authentication and every layer, no decision) |
//! | `authorize` | the service (bearer token) asks `Authorize` about a tenant session's security token (cached principal, cached session) |
//! | `authorize-signed` | the same, the service signing each call with its access key (ACS3) |
//! | `authorize-arn` | the same with the subject named by principal ARN (a tenant user) |
//! | `authorize-cold` | `authorize` against a server that caches no principals (`principal_cache_capacity = 0`): every call loads the role's policies from the store and compiles them |
//! | `batch-authorize` | `BatchAuthorize` of 100 items about a session token; reports decisions/s |
//! | `assume-role` | a tenant user (signed) assumes role `app` |
//! | `admin-write` | a tenant root (signed) alternates `CreateUser` and `AttachPolicy` on the new user |

use std::sync::Arc;

use tessera_proto::v1 as pb;
use tonic::transport::Channel;

use crate::call::{Auth, Encoded, encode, unary};
use crate::seed::{ASSUME_ROLE, ATTACH_POLICY, CREATE_USER, Seeded};

pub const NAMES: &[&str] = &[
    "health",
    "health-bearer",
    "caller-identity",
    "authorize",
    "authorize-signed",
    "authorize-arn",
    "authorize-cold",
    "batch-authorize",
    "assume-role",
    "admin-write",
];

pub const HEALTH_CHECK: &str = "/grpc.health.v1.Health/Check";
pub const GET_CALLER_IDENTITY: &str = "/tessera.v1.Sts/GetCallerIdentity";
pub const AUTHORIZE: &str = "/tessera.v1.Authorizer/Authorize";
/// The scenario that runs against the uncached server.
pub const AUTHORIZE_COLD: &str = "authorize-cold";
pub const BATCH_AUTHORIZE: &str = "/tessera.v1.Authorizer/BatchAuthorize";
pub const BATCH_ITEMS: usize = 100;

/// A scenario ready to run: everything each call needs, prepared once.
pub enum Prepared {
    /// The (empty) health check request, encoded, and how it is sent.
    Health(Encoded, Auth),
    /// Pre-encoded requests (one per subject), cycled through.
    Unary {
        path: &'static str,
        requests: Arc<Vec<Encoded>>,
        auth: Arc<Vec<Auth>>,
        /// Decisions per call.
        decisions: u64,
        batch: bool,
    },
    AdminWrite {
        roots: Arc<Vec<Auth>>,
    },
}

fn item(account: &str, key: &str) -> pb::AuthorizeItem {
    pb::AuthorizeItem {
        action: "oss:GetObject".into(),
        resource: format!("acs:oss:*:{account}:bucket/{key}"),
        context: Vec::new(),
    }
}

fn token_subject(token: &str) -> pb::Subject {
    pb::Subject {
        kind: Some(pb::subject::Kind::SecurityToken(token.into())),
        source_ip: "10.0.0.1".into(),
        secure_transport: true,
    }
}

/// Prepares `name` over `seeded`.
pub fn prepare(name: &str, seeded: &Seeded) -> anyhow::Result<Prepared> {
    let service_bearer = Auth::bearer(&seeded.service_token)?;
    let service_signed = Auth::Signed(seeded.service_key.clone());
    let sessions = seeded.tenants.iter().flat_map(|t| {
        t.tokens
            .iter()
            .map(move |token| (t.account_id.as_str(), token))
    });
    let authorize = |sessions: &mut dyn Iterator<Item = (&str, &String)>| -> Vec<Encoded> {
        sessions
            .map(|(account, token)| {
                encode(&pb::AuthorizeRequest {
                    subject: Some(token_subject(token)),
                    item: Some(item(account, "reports/2026.csv")),
                    min_revision: 0,
                    explain: false,
                })
            })
            .collect()
    };
    let prepared = match name {
        "health" | "health-bearer" => Prepared::Health(
            encode(&tonic_health::pb::HealthCheckRequest::default()),
            if name == "health" {
                Auth::Anonymous
            } else {
                service_bearer
            },
        ),
        "caller-identity" => Prepared::Unary {
            path: GET_CALLER_IDENTITY,
            requests: Arc::new(vec![encode(&pb::GetCallerIdentityRequest {})]),
            auth: Arc::new(vec![service_bearer]),
            decisions: 0,
            batch: false,
        },
        "authorize" | "authorize-signed" | AUTHORIZE_COLD => Prepared::Unary {
            path: AUTHORIZE,
            requests: Arc::new(authorize(&mut sessions.clone())),
            auth: Arc::new(vec![if name == "authorize" {
                service_bearer
            } else {
                service_signed
            }]),
            decisions: 1,
            batch: false,
        },
        "authorize-arn" => {
            let requests = seeded
                .tenants
                .iter()
                .flat_map(|t| {
                    t.user_names.iter().map(move |user| {
                        encode(&pb::AuthorizeRequest {
                            subject: Some(pb::Subject {
                                kind: Some(pb::subject::Kind::PrincipalArn(format!(
                                    "acs:ram::{}:user/{user}",
                                    t.account_id
                                ))),
                                source_ip: "10.0.0.1".into(),
                                secure_transport: true,
                            }),
                            item: Some(item(&t.account_id, "reports/2026.csv")),
                            min_revision: 0,
                            explain: false,
                        })
                    })
                })
                .collect();
            Prepared::Unary {
                path: AUTHORIZE,
                requests: Arc::new(requests),
                auth: Arc::new(vec![service_bearer]),
                decisions: 1,
                batch: false,
            }
        }
        "batch-authorize" => {
            let requests = sessions
                .map(|(account, token)| {
                    encode(&pb::BatchAuthorizeRequest {
                        subject: Some(token_subject(token)),
                        items: (0..BATCH_ITEMS)
                            .map(|i| {
                                if i % 10 == 9 {
                                    item(account, &format!("private/{i}"))
                                } else {
                                    item(account, &format!("reports/{i}.csv"))
                                }
                            })
                            .collect(),
                        min_revision: 0,
                        explain: false,
                    })
                })
                .collect();
            Prepared::Unary {
                path: BATCH_AUTHORIZE,
                requests: Arc::new(requests),
                auth: Arc::new(vec![service_bearer]),
                decisions: BATCH_ITEMS as u64,
                batch: true,
            }
        }
        "assume-role" => {
            let mut requests = Vec::new();
            let mut auth = Vec::new();
            for tenant in &seeded.tenants {
                for (key, user) in tenant.user_keys.iter().zip(&tenant.user_names) {
                    requests.push(encode(&pb::AssumeRoleRequest {
                        role_arn: format!("acs:ram::{}:role/app", tenant.account_id),
                        role_session_name: user.clone(),
                        ..Default::default()
                    }));
                    auth.push(Auth::Signed(key.clone()));
                }
            }
            Prepared::Unary {
                path: ASSUME_ROLE,
                requests: Arc::new(requests),
                auth: Arc::new(auth),
                decisions: 1,
                batch: false,
            }
        }
        "admin-write" => Prepared::AdminWrite {
            roots: Arc::new(
                seeded
                    .tenants
                    .iter()
                    .map(|t| Auth::Signed(t.root.clone()))
                    .collect(),
            ),
        },
        other => anyhow::bail!("unknown scenario {other:?}; known: {}", NAMES.join(", ")),
    };
    if let Prepared::Unary { requests, auth, .. } = &prepared
        && (requests.is_empty() || auth.is_empty())
    {
        anyhow::bail!("scenario {name} has nothing to call with: seed sessions (--sessions)");
    }
    Ok(prepared)
}

/// How many distinct calls `prepared` cycles through, for the scenarios that measure warm
/// caches (`authorize`, `authorize-signed`, `authorize-arn`, `batch-authorize`): each is made
/// once before timing, so that the rounds measure what the scenario names and not the first
/// sight of each subject (which matters at 10,000 accounts). `None` for the others.
pub fn warm_up_calls(name: &str, prepared: &Prepared) -> Option<usize> {
    let warm = matches!(
        name,
        "authorize" | "authorize-signed" | "authorize-arn" | "batch-authorize"
    );
    match prepared {
        Prepared::Unary { requests, auth, .. } if warm => Some(requests.len().max(auth.len())),
        _ => None,
    }
}

/// One call of `prepared` by `worker` (its `sequence`-th); the decisions it made.
pub async fn call(
    prepared: &Prepared,
    channel: Channel,
    authority: &str,
    run: u32,
    worker: usize,
    sequence: u64,
) -> Result<u64, String> {
    match prepared {
        Prepared::Health(request, auth) => unary::<tonic_health::pb::HealthCheckResponse>(
            channel,
            authority,
            HEALTH_CHECK,
            request.clone(),
            auth,
        )
        .await
        .map(|_| 1)
        .map_err(|s| s.to_string()),
        Prepared::Unary {
            path,
            requests,
            auth,
            decisions,
            batch,
        } => {
            let n = usize::try_from(sequence)
                .unwrap_or(0)
                .wrapping_add(worker * 7919);
            let request = requests[n % requests.len()].clone();
            let auth = &auth[n % auth.len()];
            if *batch {
                unary::<pb::BatchAuthorizeResponse>(channel, authority, path, request, auth)
                    .await
                    .map(|r| r.results.len() as u64)
                    .map_err(|s| s.to_string())
            } else if *path == AUTHORIZE {
                let answer =
                    unary::<pb::AuthorizeResponse>(channel, authority, path, request, auth)
                        .await
                        .map_err(|s| s.to_string())?;
                let allowed = answer
                    .result
                    .is_some_and(|r| r.decision == pb::Decision::Allow as i32);
                if allowed {
                    Ok(*decisions)
                } else {
                    Err("Authorize did not allow what the seeded policy allows".into())
                }
            } else if *path == GET_CALLER_IDENTITY {
                unary::<pb::GetCallerIdentityResponse>(channel, authority, path, request, auth)
                    .await
                    .map(|_| *decisions)
                    .map_err(|s| s.to_string())
            } else {
                unary::<pb::AssumeRoleResponse>(channel, authority, path, request, auth)
                    .await
                    .map(|_| *decisions)
                    .map_err(|s| s.to_string())
            }
        }
        Prepared::AdminWrite { roots } => {
            let root = &roots[worker % roots.len()];
            let user = format!("w{run:x}-{worker}-{}", sequence / 2);
            if sequence.is_multiple_of(2) {
                let request = encode(&pb::CreateUserRequest {
                    user_name: user,
                    ..Default::default()
                });
                unary::<pb::UserResponse>(channel, authority, CREATE_USER, request, root)
                    .await
                    .map(|_| 1)
                    .map_err(|s| s.to_string())
            } else {
                let request = encode(&pb::AttachmentRequest {
                    target_kind: pb::TargetKind::User as i32,
                    target_name: user,
                    policy_name: "reader".into(),
                    policy_type: "Custom".into(),
                });
                unary::<pb::WriteResult>(channel, authority, ATTACH_POLICY, request, root)
                    .await
                    .map(|_| 1)
                    .map_err(|s| s.to_string())
            }
        }
    }
}
