//! TLS on the one port (rustls), with optional client certificates (mTLS).
//!
//! With `tls_cert`/`tls_key` configured, every connection is TLS (ALPN `h2`, `http/1.1`) and
//! requests carry `acs:SecureTransport = true`. With `tls_client_ca` too, clients may present a
//! certificate issued by that CA; a verified certificate whose subject alternative names include
//! a URI that is a principal ARN — `acs:ram::<account>:user/<name>` or `acs:ram::<account>:root`,
//! the way SPIFFE puts a workload's identity in a URI SAN — authenticates requests that carry no
//! `authorization` metadata as that principal ([`crate::auth`]). A certificate is optional (the
//! other credentials keep working); one that does not verify fails the handshake.
//!
//! Connections are served by hyper directly (axum's `serve` has no TLS): each accepted socket is
//! handshaken in its own task (a slow client cannot stall the accept loop), tracked in a
//! `JoinSet` so that dropping the server drops them all, and drained gracefully on shutdown.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::ServerError;
use crate::auth::LastBearer;
use crate::batched_writes::BatchedWrites;

/// How long a client may take to complete the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the server's certificate, key and (for mTLS) the client CA are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM: the server certificate, then its chain.
    pub cert: PathBuf,
    /// PEM: the private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// PEM: the CA certificates client certificates must chain to; `None`: no client
    /// certificates are asked for.
    pub client_ca: Option<PathBuf>,
}

/// What the TLS layer learned about a request's connection (a request extension).
#[derive(Debug, Clone, Default)]
pub struct TlsConnection {
    /// The principal ARN of the verified client certificate, if it named one.
    pub client_principal: Option<String>,
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>, ServerError> {
    std::fs::read(path)
        .map_err(|e| ServerError::Config(format!("cannot read the {what} {}: {e}", path.display())))
}

fn certificates(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, ServerError> {
    let pem = read(path, what)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ServerError::Config(format!("the {what} {}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(ServerError::Config(format!(
            "the {what} {} holds no PEM certificate",
            path.display()
        )));
    }
    Ok(certs)
}

/// The acceptor for `files`: fails on unreadable or malformed files, naming the file (never
/// its contents).
pub fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor, ServerError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = certificates(&files.cert, "TLS certificate")?;
    let key_pem = zeroize::Zeroizing::new(read(&files.key, "TLS key")?);
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| {
        ServerError::Config(format!(
            "the TLS key {} holds no PEM private key",
            files.key.display()
        ))
    })?;
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| ServerError::Config(format!("TLS: {e}")))?;
    let builder = match &files.client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in certificates(ca, "client CA")? {
                roots.add(cert).map_err(|e| {
                    ServerError::Config(format!("the client CA {}: {e}", ca.display()))
                })?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .allow_unauthenticated()
            .build()
            .map_err(|e| ServerError::Config(format!("the client CA {}: {e}", ca.display())))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(|e| ServerError::Config(format!("TLS certificate and key: {e}")))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The principal ARN a client certificate names: its first URI subject alternative name of
/// the form `acs:ram::<account>:user/<name>` or `acs:ram::<account>:root`.
pub fn certificate_principal(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let san = cert.subject_alternative_name().ok()??;
    san.value.general_names.iter().find_map(|name| match name {
        x509_parser::extensions::GeneralName::URI(uri) if is_principal_arn(uri) => {
            Some((*uri).to_owned())
        }
        _ => None,
    })
}

fn is_principal_arn(uri: &str) -> bool {
    let Some(rest) = uri.strip_prefix("acs:ram::") else {
        return false;
    };
    match rest.split_once(':') {
        Some((account, resource)) => {
            tessera_iam::AccountId::parse(account).is_ok()
                && (resource == "root"
                    || resource
                        .strip_prefix("user/")
                        .is_some_and(|n| tessera_iam::names::user_name(n).is_ok()))
        }
        None => false,
    }
}

/// Serves `app` over TLS on `listener` until `stopped` turns true, then stops accepting and
/// waits for the open connections to finish their requests (the caller bounds the wait).
pub async fn serve(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    app: axum::Router,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopped.wait_for(|s| *s) => break,
        };
        let (tcp, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let app = app.clone();
        let watcher = graceful.watcher();
        connections.spawn(async move {
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(error)) => {
                    tracing::debug!(%peer, %error, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake timed out");
                    return;
                }
            };
            let connection = TlsConnection {
                client_principal: tls
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|certs| certs.first())
                    .and_then(|cert| certificate_principal(cert)),
            };
            let last_bearer = Arc::new(LastBearer::default());
            let service = tower::ServiceBuilder::new()
                .map_request(move |mut request: hyper::Request<hyper::body::Incoming>| {
                    request
                        .extensions_mut()
                        .insert(ConnectInfo::<SocketAddr>(peer));
                    request.extensions_mut().insert(Arc::clone(&last_bearer));
                    request.extensions_mut().insert(connection.clone());
                    request
                })
                .service(app);
            let builder = auto::Builder::new(TokioExecutor::new());
            let serving = builder.serve_connection_with_upgrades(
                TokioIo::new(BatchedWrites::new(tls)),
                TowerToHyperService::new(service),
            );
            if let Err(error) = watcher.watch(serving.into_owned()).await {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
        });
        // Reap finished connections so the set does not grow without bound.
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    graceful.shutdown().await;
    while connections.join_next().await.is_some() {}
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principal_arns_only() {
        assert!(is_principal_arn("acs:ram::1234567890123456:user/alice"));
        assert!(is_principal_arn("acs:ram::1234567890123456:root"));
        assert!(!is_principal_arn("acs:ram::1234567890123456:role/admin"));
        assert!(!is_principal_arn("acs:ram::12:user/alice"));
        assert!(!is_principal_arn("acs:ram::1234567890123456:user/"));
        assert!(!is_principal_arn("spiffe://example.org/alice"));
        assert!(!is_principal_arn("acs:ram:cn:1234567890123456:user/alice"));
    }
}
