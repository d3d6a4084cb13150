//! Fetching an issuer's signing keys: `GET <issuer>/.well-known/openid-configuration`, then
//! `GET <jwks_uri>`, over HTTP/1.1 (hyper) on TLS (rustls with ring) — or plain HTTP where the
//! deployment allows it, for tests.
//!
//! TLS is verified in one of two ways:
//! - a provider with **fingerprints** (SHA-1 of a certificate, as Alibaba takes them): the
//!   presented chain must contain a certificate with one of them, and the chain must then
//!   verify (names included) with those pinned certificates as its only trust anchors — an
//!   attacker cannot just append the genuine CA certificate to its own chain;
//! - without fingerprints: against the system's root certificates plus the configured CA file.
//!
//! A failed TLS verification is `AuthenticationFail.OIDCToken.HttpsUrlInvalid` (the provider
//! is misconfigured or the issuer is being impersonated); anything else that goes wrong —
//! connection, timeout, status, body — is `ServiceUnavailable.OIDCProvider`. Redirects are not
//! followed, bodies are limited to [`MAX_BODY_BYTES`], and the whole fetch (both documents) to
//! the configured timeout.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt as _, Empty, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use jsonwebtoken::jwk::Jwk;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use serde_json::Value;
use sha1::{Digest as _, Sha1};
use tessera_iam::Error;
use tokio::net::TcpStream;

/// The largest discovery document or key set read.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Fetches key sets (see the module documentation).
#[derive(Clone)]
pub struct Fetcher {
    timeout: Duration,
    allow_http: bool,
    /// The system's roots and the configured CA file's certificates.
    roots: Arc<RootCertStore>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher")
            .field("timeout", &self.timeout)
            .field("allow_http", &self.allow_http)
            .field("roots", &self.roots.len())
            .finish()
    }
}

/// Why the configured CA file is unusable.
#[derive(Debug, thiserror::Error)]
#[error("oidc_ca_file {path}: {reason}")]
pub struct CaFileError {
    path: String,
    reason: String,
}

impl Fetcher {
    /// A fetcher with the system's roots, plus the certificates of `ca_file` (PEM) if given.
    pub fn new(
        timeout: Duration,
        allow_http: bool,
        ca_file: Option<&Path>,
    ) -> Result<Fetcher, CaFileError> {
        let mut roots = RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        if !native.errors.is_empty() {
            tracing::warn!(
                errors = native.errors.len(),
                "some system root certificates could not be read"
            );
        }
        let (added, ignored) = roots.add_parsable_certificates(native.certs);
        tracing::debug!(added, ignored, "system root certificates for OIDC issuers");
        if let Some(path) = ca_file {
            let error = |reason: String| CaFileError {
                path: path.display().to_string(),
                reason,
            };
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| error(e.to_string()))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| error(e.to_string()))?;
            if certs.is_empty() {
                return Err(error("no PEM certificate in it".into()));
            }
            for cert in certs {
                roots.add(cert).map_err(|e| error(e.to_string()))?;
            }
        }
        Ok(Fetcher {
            timeout,
            allow_http,
            roots: Arc::new(roots),
            provider: Arc::new(rustls::crypto::ring::default_provider()),
        })
    }

    /// The keys of `issuer` (the provider's `IssuerUrl`), TLS checked with `fingerprints`.
    /// Keys that do not parse are skipped; a set without a usable key is an error.
    pub async fn fetch(&self, issuer: &str, fingerprints: &[String]) -> Result<Vec<Jwk>, Error> {
        let work = async {
            let discovery = format!(
                "{}/.well-known/openid-configuration",
                issuer.trim_end_matches('/')
            );
            let document = self.get_json(&discovery, fingerprints).await?;
            // OpenID Connect Discovery §4.3: the document is the issuer's own.
            let named = document["issuer"].as_str().unwrap_or_default();
            if named.trim_end_matches('/') != issuer.trim_end_matches('/') {
                return Err(unavailable(
                    issuer,
                    "its discovery document names another issuer",
                ));
            }
            let jwks_uri = document["jwks_uri"]
                .as_str()
                .ok_or_else(|| unavailable(issuer, "its discovery document has no jwks_uri"))?;
            let set = self.get_json(jwks_uri, fingerprints).await?;
            let keys: Vec<Jwk> = set["keys"]
                .as_array()
                .map(|keys| {
                    keys.iter()
                        .filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
                        .collect()
                })
                .unwrap_or_default();
            if keys.is_empty() {
                return Err(unavailable(
                    issuer,
                    "its key set (jwks_uri) has no usable key",
                ));
            }
            Ok(keys)
        };
        match tokio::time::timeout(self.timeout, work).await {
            Ok(result) => result,
            Err(_) => Err(unavailable(
                issuer,
                &format!("no answer within {} ms", self.timeout.as_millis()),
            )),
        }
    }

    /// `GET url` → the JSON body of a 200 answer.
    async fn get_json(&self, url: &str, fingerprints: &[String]) -> Result<Value, Error> {
        let body = self.get(url, fingerprints).await?;
        serde_json::from_slice(&body).map_err(|_| unavailable(url, "the answer is not JSON"))
    }

    async fn get(&self, url: &str, fingerprints: &[String]) -> Result<Bytes, Error> {
        let uri: hyper::Uri = url
            .parse()
            .map_err(|_| unavailable(url, "the URL does not parse"))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") if self.allow_http => false,
            _ => {
                return Err(Error::oidc_https_url_invalid(format!(
                    "{url} is not an https URL."
                )));
            }
        };
        let host = uri
            .host()
            .ok_or_else(|| unavailable(url, "the URL has no host"))?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let authority = uri
            .authority()
            .map_or_else(|| host.clone(), |a| a.as_str().to_owned());
        let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
        let tcp = TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| unavailable(url, &format!("cannot connect ({})", e.kind())))?;
        let _ = tcp.set_nodelay(true);
        let request = hyper::Request::get(path)
            .header(hyper::header::HOST, authority)
            .header(hyper::header::ACCEPT, "application/json")
            .header(hyper::header::USER_AGENT, "tesserad")
            .body(Empty::<Bytes>::new())
            .map_err(|_| unavailable(url, "the request cannot be built"))?;
        if https {
            let config = rustls::ClientConfig::builder_with_provider(self.provider.clone())
                .with_safe_default_protocol_versions()
                .map_err(|_| Error::internal())?
                .dangerous()
                .with_custom_certificate_verifier(self.verifier(fingerprints)?)
                .with_no_client_auth();
            let name = ServerName::try_from(host.clone())
                .map_err(|_| unavailable(url, "the host is not a valid server name"))?;
            let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
                .connect(name, tcp)
                .await
                .map_err(|e| {
                    Error::oidc_https_url_invalid(format!(
                        "The TLS connection to {url} failed: {e}."
                    ))
                })?;
            send(url, TokioIo::new(tls), request).await
        } else {
            send(url, TokioIo::new(tcp), request).await
        }
    }

    /// The certificate verifier for a provider with `fingerprints` (none: the trusted roots).
    fn verifier(&self, fingerprints: &[String]) -> Result<Arc<dyn ServerCertVerifier>, Error> {
        if fingerprints.is_empty() {
            let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
                self.roots.clone(),
                self.provider.clone(),
            )
            .build()
            .map_err(|e| {
                Error::oidc_https_url_invalid(format!(
                    "No trusted root certificate is configured ({e})."
                ))
            })?;
            return Ok(verifier);
        }
        let pins = fingerprints.iter().filter_map(|f| decode_hex(f)).collect();
        Ok(Arc::new(Pinned {
            pins,
            provider: self.provider.clone(),
        }))
    }
}

/// One HTTP/1.1 request on `io`; the body of a 200 answer.
async fn send<I>(
    url: &str,
    io: TokioIo<I>,
    request: hyper::Request<Empty<Bytes>>,
) -> Result<Bytes, Error>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|_| unavailable(url, "the HTTP handshake failed"))?;
    let driver = tokio::spawn(async move {
        let _ = connection.await;
    });
    let result = async {
        let response = sender
            .send_request(request)
            .await
            .map_err(|_| unavailable(url, "the request failed"))?;
        if response.status() != hyper::StatusCode::OK {
            return Err(unavailable(
                url,
                &format!("it answered HTTP {}", response.status().as_u16()),
            ));
        }
        Limited::new(response.into_body(), MAX_BODY_BYTES)
            .collect()
            .await
            .map(|b| b.to_bytes())
            .map_err(|_| {
                unavailable(
                    url,
                    &format!("the answer could not be read (at most {MAX_BODY_BYTES} bytes)"),
                )
            })
    }
    .await;
    driver.abort();
    result
}

fn unavailable(url: &str, what: &str) -> Error {
    Error::oidc_keys_unavailable(format!(
        "The signing keys of the OIDC provider could not be fetched: {url}: {what}. Retry later."
    ))
}

fn decode_hex(text: &str) -> Option<[u8; 20]> {
    let mut out = [0u8; 20];
    if text.len() != 40 {
        return None;
    }
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// SHA-1 of a DER certificate: the fingerprint Alibaba (and AWS) providers carry.
pub fn fingerprint(der: &[u8]) -> [u8; 20] {
    Sha1::digest(der).into()
}

/// Accepts a chain only through a certificate whose fingerprint is pinned (see the module
/// documentation).
#[derive(Debug)]
struct Pinned {
    pins: Vec<[u8; 20]>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut anchors = RootCertStore::empty();
        for cert in std::iter::once(end_entity).chain(intermediates) {
            if self.pins.contains(&fingerprint(cert)) {
                anchors.add(cert.clone().into_owned())?;
            }
        }
        if anchors.is_empty() {
            return Err(rustls::Error::General(
                "no certificate of the chain matches a fingerprint of the OIDC provider".into(),
            ));
        }
        rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(anchors),
            self.provider.clone(),
        )
        .build()
        .map_err(|e| rustls::Error::General(e.to_string()))?
        .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
