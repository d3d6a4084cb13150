//! tesserad: Tessera's service. [`run`] serves gRPC (tonic) and HTTP (axum) on one listener
//! (plaintext, or TLS with optional client certificates: [`tls`]): requests with content type
//! `application/grpc*` go to the gRPC services, the rest to the HTTP routes. Served:
//! `grpc.health.v1`, server reflection (v1 and v1alpha) over the `tessera.v1` descriptors, and
//! behind the authentication layer ([`auth`]) `tessera.v1.Sts` ([`sts`]: AssumeRole, SignIn,
//! GetCallerIdentity, GetJwks), `tessera.v1.Ram` ([`ram`]: RAM's admin API), the
//! `tessera.v1.Authorizer` ([`authorizer`]), `tessera.v1.Operator` ([`operator`]) and
//! `tessera.v1.Audit` ([`audit`]: the audit trail, written off the request path); HTTP
//! `GET /healthz`, `GET /.well-known/jwks.json`, `GET /metrics` ([`telemetry`]) and Alibaba's
//! RPC-style RAM/STS API on `/` (`compat`, over the same service instances). The gRPC side runs
//! behind the overload-protection and bookkeeping layers of [`layers`]. One change-feed task
//! (`follow_changes`) keeps every cache in step with the store's change log.

pub mod audit;
pub mod auth;
pub mod authorizer;
pub mod batched_writes;
pub mod bootstrap;
pub mod caller;
mod compat;
pub mod config;
mod error;
mod http;
pub mod layers;
pub mod oidc;
pub mod operator;
pub mod principals;
pub mod ram;
pub mod signing;
pub mod sts;
pub mod telemetry;
pub mod tls;

use std::future::{Future, IntoFuture as _};
use std::net::SocketAddr;
use std::sync::Arc;

use axum::serve::ListenerExt as _;
use tessera_store::{Revision, SqlStore, StoreConfig};
use tokio::net::TcpListener;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

pub use bootstrap::{Bootstrapped, bootstrap};
pub use config::{Config, ConfigError, Overrides};
pub use error::ServerError;

/// The `tessera.v1` services this build serves, as the health service names them (reported
/// SERVING alongside the overall `""`). Each service adds itself here when it lands.
pub const SERVICES: &[&str] = &[
    "tessera.v1.Sts",
    "tessera.v1.Authorizer",
    "tessera.v1.Ram",
    "tessera.v1.Operator",
    "tessera.v1.Audit",
];

/// Opens the database at `url` and applies every pending migration (forward-only).
/// Returns the current change-log revision.
pub async fn migrate(url: &str) -> Result<Revision, tessera_store::Error> {
    let store = SqlStore::connect(&StoreConfig::new(url)).await?;
    store.migrate().await?;
    let revision = store.current_revision().await;
    store.close().await;
    revision
}

/// Bootstraps (see [`bootstrap()`]) and serves on `listener` until `shutdown` completes; then
/// stops accepting, lets in-flight requests finish for up to [`Config::shutdown_grace`], and
/// closes the store.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServerError> {
    let boot = bootstrap(&config).await?;
    let result = serve(&config, &boot, listener, shutdown).await;
    boot.store.close().await;
    result
}

async fn serve(
    config: &Config,
    boot: &Bootstrapped,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServerError> {
    let (health, health_service) = tonic_health::server::health_reporter();
    set_status(&health, ServingStatus::Serving).await;
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(tessera_proto::v1::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| ServerError::Config(format!("reflection: {e}")))?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(tessera_proto::v1::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .map_err(|e| ServerError::Config(format!("reflection: {e}")))?;
    let authenticator = Arc::new(auth::Authenticator::new(
        boot.store.clone(),
        boot.sealer.clone(),
        boot.sts_keys.clone(),
    ));
    let layers = layers::Layers::new(&config.limits);
    let authenticated = layers.authenticated(authenticator.clone());
    // Caches follow the change log: principals, access keys and signing keys are evicted as
    // soon as this replica's feed delivers the change (the feed wakes on this replica's own
    // commits at once, on other replicas' via LISTEN/NOTIFY or polling).
    let cache =
        principals::PrincipalCache::new(boot.store.clone(), config.principal_cache_capacity);
    let signing_keys = Arc::new(signing::SigningKeys::new(
        boot.store.clone(),
        boot.sealer.clone(),
        boot.signing_key.clone(),
    ));
    // The audit trail: services record into the sink, a task writes to the store.
    let (audit, audit_task) = audit::start(boot.store.clone(), &config.audit);
    // One instance of each service behind both gRPC and the Alibaba-compatible HTTP API.
    let oidc =
        oidc::OidcVerifier::new(&config.oidc).map_err(|e| ServerError::Config(e.to_string()))?;
    let sts_service = Arc::new(
        sts::StsService::new(
            cache.clone(),
            signing_keys.clone(),
            boot.sts_keys.clone(),
            boot.sealer.clone(),
        )
        .with_audit(audit.clone())
        .with_oidc(oidc)
        .with_rate_limits(layers.rate_limits().clone()),
    );
    let sts = tower::Layer::layer(
        &authenticated,
        tessera_proto::v1::sts_server::StsServer::from_arc(sts_service.clone()),
    );
    let from = boot
        .store
        .current_revision()
        .await
        .map_err(|e| ServerError::store("read the change log", e))?;
    let feed = boot
        .store
        .change_feed(from, tessera_store::FeedOptions::default());
    let watcher = feed.watcher();
    let authorizer = authorizer::AuthorizerService::new(cache.clone(), authenticator.clone())
        .with_feed(watcher.clone())
        .with_audit(audit.clone());
    let invalidation = tokio::spawn(follow_changes(
        feed,
        cache.clone(),
        authenticator.clone(),
        authorizer.platform_grants().clone(),
        signing_keys,
    ));
    let ram_service = ram::RamService::new(cache.clone(), boot.sealer.clone())
        .with_feed(watcher.clone())
        .with_audit(audit.clone())
        .with_http_issuers(config.oidc.allow_http_issuers);
    let ram = tower::Layer::layer(&authenticated, ram_service.clone().into_server());
    let operator = tower::Layer::layer(
        &authenticated,
        operator::OperatorService::new(
            cache.clone(),
            boot.sealer.clone(),
            boot.operator_account.clone(),
        )
        .with_audit(audit.clone())
        .into_server(),
    );
    let audit_service = tower::Layer::layer(
        &authenticated,
        audit::AuditService::new(cache.clone()).into_server(),
    );
    let authorizer = tower::Layer::layer(&authenticated, authorizer.into_server());
    let metrics = config
        .telemetry
        .metrics
        .then(|| {
            telemetry::metrics::Endpoint::new(
                cache.clone(),
                authenticator.clone(),
                boot.store.clone(),
                watcher.clone(),
                audit.clone(),
            )
        })
        .flatten();
    let upkeep = metrics.clone().map(|m| tokio::spawn(m.upkeep()));
    let grpc = tonic::service::Routes::new(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(sts)
        .add_service(authorizer)
        .add_service(ram)
        .add_service(operator)
        .add_service(audit_service)
        .prepare()
        .into_axum_router();
    let grpc = layers.around_grpc(grpc);
    let app = http::app(
        http::AppState {
            store: boot.store.clone(),
            compat: compat::Compat::new(
                ram_service,
                sts_service,
                authenticator.clone(),
                layers.rate_limits().clone(),
            ),
            metrics,
        },
        grpc,
    );

    let local = listener
        .local_addr()
        .map_or_else(|_| String::from("?"), |a| a.to_string());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut task = match &config.tls {
        Some(files) => {
            let acceptor = tls::acceptor(files)?;
            tokio::spawn(tls::serve(listener, acceptor, app, stopped))
        }
        None => {
            let listener = batched_writes::BatchedListener(listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            }));
            // Per connection: the peer's address and the bearer session it last presented
            // ([`auth::LastBearer`]), in each of its requests.
            let app = tower::service_fn(move |incoming: axum::serve::IncomingStream<'_, _>| {
                let peer: SocketAddr = *incoming.remote_addr();
                let last_bearer = Arc::new(auth::LastBearer::default());
                let app = tower::ServiceExt::map_request(
                    app.clone(),
                    move |mut request: axum::extract::Request| {
                        request
                            .extensions_mut()
                            .insert(axum::extract::ConnectInfo(peer));
                        request.extensions_mut().insert(Arc::clone(&last_bearer));
                        request
                    },
                );
                std::future::ready(Ok::<_, std::convert::Infallible>(app))
            });
            let server = axum::serve(listener, app).with_graceful_shutdown(async move {
                let mut stopped = stopped;
                let _ = stopped.wait_for(|s| *s).await;
            });
            tokio::spawn(server.into_future())
        }
    };
    tracing::info!(
        listen = %local,
        tls = config.tls.is_some(),
        client_certificates = config.tls.as_ref().is_some_and(|t| t.client_ca.is_some()),
        operator_account = %boot.operator_account.as_str(),
        kid = boot.signing_key.kid(),
        "tesserad is serving gRPC and HTTP"
    );

    tokio::pin!(shutdown);
    let ended = tokio::select! {
        ended = &mut task => Some(ended),
        () = &mut shutdown => None,
    };
    invalidation.abort();
    if let Some(upkeep) = &upkeep {
        upkeep.abort();
    }
    let result = match ended {
        Some(ended) => finished(ended),
        None => drain(config, &health, &stop, task).await,
    };
    // Requests are done: store what they recorded.
    if let Some(audit_task) = audit_task {
        audit_task.finish().await;
    }
    result
}

/// Stops accepting and lets in-flight requests finish for up to the grace period.
async fn drain(
    config: &Config,
    health: &HealthReporter,
    stop: &tokio::sync::watch::Sender<bool>,
    mut task: tokio::task::JoinHandle<std::io::Result<()>>,
) -> Result<(), ServerError> {
    tracing::info!("shutting down: draining in-flight requests");
    set_status(health, ServingStatus::NotServing).await;
    let _ = stop.send(true);
    match tokio::time::timeout(config.shutdown_grace, &mut task).await {
        Ok(ended) => finished(ended),
        Err(_) => {
            tracing::warn!(
                grace = ?config.shutdown_grace,
                "in-flight requests did not finish in time; closing their connections"
            );
            task.abort();
            let _ = task.await;
            Ok(())
        }
    }
}

/// Applies every change-log batch to the caches until the feed stops (the store was closed):
/// compiled principals, access keys, verified sessions, client-certificate principals,
/// platform grants and the signing keys.
async fn follow_changes(
    mut feed: tessera_store::ChangeFeed,
    principals: principals::PrincipalCache,
    authenticator: Arc<auth::Authenticator>,
    grants: authorizer::PlatformGrants,
    signing_keys: Arc<signing::SigningKeys>,
) {
    use tessera_store::EntityKind;
    while let Some(changes) = feed.next().await {
        let started = std::time::Instant::now();
        principals.invalidate(&changes).await;
        if changes.iter().any(|c| {
            matches!(
                c.kind,
                EntityKind::PlatformGrant | EntityKind::User | EntityKind::Role
            )
        }) {
            grants.invalidate_all();
        }
        for change in &changes {
            match change.kind {
                EntityKind::AccessKey => authenticator.evict_access_key(&change.entity).await,
                EntityKind::SigningKey => {
                    authenticator.signing_keys_changed();
                    signing_keys.changed();
                }
                EntityKind::Account | EntityKind::User | EntityKind::Role | EntityKind::Token => {
                    let Some(account) = &change.account else {
                        continue;
                    };
                    let what = match change.kind {
                        EntityKind::User => auth::Eviction::User(&change.entity),
                        EntityKind::Role => auth::Eviction::Role(&change.entity),
                        EntityKind::Token => auth::Eviction::Token(&change.entity),
                        _ => auth::Eviction::Account,
                    };
                    authenticator.evict(account, what).await;
                }
                _ => {}
            }
        }
        telemetry::metrics::feed_batch(started.elapsed());
    }
    tracing::debug!("change feed stopped; cache invalidation ends");
}

fn finished(ended: Result<std::io::Result<()>, tokio::task::JoinError>) -> Result<(), ServerError> {
    match ended {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(ServerError::Serve(e)),
        Err(e) => Err(ServerError::Serve(std::io::Error::other(e.to_string()))),
    }
}

async fn set_status(health: &HealthReporter, status: ServingStatus) {
    health.set_service_status("", status).await;
    for service in SERVICES {
        health.set_service_status(*service, status).await;
    }
}
