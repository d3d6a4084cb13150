//! A real OIDC issuer on loopback for tests: serves `/.well-known/openid-configuration` and
//! `/jwks` (over plain HTTP, or HTTPS with a self-signed certificate whose SHA-1 fingerprint
//! it reports), and signs tokens with keys it generates (ES256 with `rcgen`/ring, RS256 with
//! `rsa`). [`Issuer::rotate`] replaces the signing key, [`Issuer::stop`] takes the issuer
//! down (connections are refused from then on), [`Issuer::key_fetches`] counts JWKS requests.
//!
//! Included by path (`#[path = "support/oidc.rs"] mod issuer;`) by the server's integration
//! tests that need it and by the unit tests of `src/oidc`, so it uses only dependencies both
//! have (and stays out of `support/mod.rs`, which the CLI's tests include too).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, EllipticCurveKeyParameters,
    EllipticCurveKeyType, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse, RSAKeyParameters, RSAKeyType,
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// The kind of key an issuer signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Es256,
    Rs256,
}

/// A signing key with its public JWK.
#[derive(Clone)]
pub struct SigningKey {
    pub kid: String,
    pub algorithm: Algorithm,
    encoding: EncodingKey,
    pub jwk: Jwk,
}

impl SigningKey {
    /// A fresh key of `kind` named `kid`.
    pub fn generate(kind: KeyKind, kid: &str) -> SigningKey {
        let common = |alg| CommonParameters {
            public_key_use: Some(PublicKeyUse::Signature),
            key_algorithm: Some(alg),
            key_id: Some(kid.to_owned()),
            ..Default::default()
        };
        match kind {
            KeyKind::Es256 => {
                let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
                let encoding = EncodingKey::from_ec_der(&pair.serialize_der());
                // The public key is the uncompressed point 04 || x || y.
                let point = pair.public_key_raw();
                assert_eq!(point.len(), 65);
                let b64 = |b: &[u8]| {
                    use base64::Engine as _;
                    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
                };
                SigningKey {
                    kid: kid.to_owned(),
                    algorithm: Algorithm::ES256,
                    encoding,
                    jwk: Jwk {
                        common: common(KeyAlgorithm::ES256),
                        algorithm: AlgorithmParameters::EllipticCurve(EllipticCurveKeyParameters {
                            key_type: EllipticCurveKeyType::EC,
                            curve: EllipticCurve::P256,
                            x: b64(&point[1..33]),
                            y: b64(&point[33..]),
                        }),
                    },
                }
            }
            KeyKind::Rs256 => {
                use rsa::pkcs1::EncodeRsaPrivateKey as _;
                use rsa::traits::PublicKeyParts as _;
                let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
                let der = private.to_pkcs1_der().unwrap();
                let b64 = |b: &[u8]| {
                    use base64::Engine as _;
                    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
                };
                SigningKey {
                    kid: kid.to_owned(),
                    algorithm: Algorithm::RS256,
                    encoding: EncodingKey::from_rsa_der(der.as_bytes()),
                    jwk: Jwk {
                        common: common(KeyAlgorithm::RS256),
                        algorithm: AlgorithmParameters::RSA(RSAKeyParameters {
                            key_type: RSAKeyType::RSA,
                            n: b64(&private.n().to_bytes_be()),
                            e: b64(&private.e().to_bytes_be()),
                        }),
                    },
                }
            }
        }
    }

    /// Signs `claims` with this key (header `alg` and `kid` set).
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.algorithm);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }
}

struct Shared {
    url: String,
    keys: Mutex<Vec<SigningKey>>,
    fetches: AtomicUsize,
    generation: AtomicUsize,
}

/// The issuer (see the module documentation).
pub struct Issuer {
    pub url: String,
    pub addr: SocketAddr,
    /// The SHA-1 fingerprint (lower-case hex) of the HTTPS certificate, when serving HTTPS.
    pub fingerprint: Option<String>,
    /// The HTTPS certificate (self-signed, so also its own CA) as PEM.
    pub certificate_pem: Option<String>,
    shared: Arc<Shared>,
    task: Mutex<Option<JoinHandle<()>>>,
}

type JsonBody = ([(axum::http::header::HeaderName, &'static str); 1], String);

fn json_body(value: &impl serde::Serialize) -> JsonBody {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        serde_json::to_string(value).unwrap(),
    )
}

async fn discovery(State(shared): State<Arc<Shared>>) -> JsonBody {
    json_body(&json!({
        "issuer": shared.url,
        "jwks_uri": format!("{}/jwks", shared.url),
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
    }))
}

async fn jwks(State(shared): State<Arc<Shared>>) -> JsonBody {
    shared.fetches.fetch_add(1, Ordering::SeqCst);
    let keys = shared
        .keys
        .lock()
        .unwrap()
        .iter()
        .map(|k| k.jwk.clone())
        .collect();
    json_body(&JwkSet { keys })
}

impl Issuer {
    /// An issuer over plain HTTP signing with a key of `kind`.
    pub async fn start(kind: KeyKind) -> Issuer {
        Issuer::serve(kind, false).await
    }

    /// An issuer over HTTPS (a self-signed certificate for 127.0.0.1).
    pub async fn start_tls(kind: KeyKind) -> Issuer {
        Issuer::serve(kind, true).await
    }

    async fn serve(kind: KeyKind, tls: bool) -> Issuer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let url = format!("{}://{addr}", if tls { "https" } else { "http" });
        let shared = Arc::new(Shared {
            url: url.clone(),
            keys: Mutex::new(vec![SigningKey::generate(kind, "key-1")]),
            fetches: AtomicUsize::new(0),
            generation: AtomicUsize::new(1),
        });
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .with_state(shared.clone());
        let (task, fingerprint, certificate_pem) = if tls {
            let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
            let pem = cert.cert.pem();
            let der = cert.cert.der().clone();
            let fingerprint = {
                use sha1::Digest as _;
                let digest = sha1::Sha1::digest(der.as_ref());
                digest
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
            };
            let key = rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der())
                .unwrap();
            let config = rustls::ServerConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![der], key)
            .unwrap();
            let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
            let task = tokio::spawn(async move {
                while let Ok((tcp, _)) = listener.accept().await {
                    let acceptor = acceptor.clone();
                    let app = app.clone();
                    tokio::spawn(async move {
                        let Ok(stream) = acceptor.accept(tcp).await else {
                            return;
                        };
                        let service = hyper_util::service::TowerToHyperService::new(app);
                        let _ = hyper_util::server::conn::auto::Builder::new(
                            hyper_util::rt::TokioExecutor::new(),
                        )
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                    });
                }
            });
            (task, Some(fingerprint), Some(pem))
        } else {
            let task = tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            });
            (task, None, None)
        };
        Issuer {
            url,
            addr,
            fingerprint,
            certificate_pem,
            shared,
            task: Mutex::new(Some(task)),
        }
    }

    /// The current signing key.
    pub fn key(&self) -> SigningKey {
        self.shared.keys.lock().unwrap().last().unwrap().clone()
    }

    /// Replaces the signing key with a new one of `kind` (the old one leaves the JWKS).
    pub fn rotate(&self, kind: KeyKind) -> SigningKey {
        let n = self.shared.generation.fetch_add(1, Ordering::SeqCst) + 1;
        let key = SigningKey::generate(kind, &format!("key-{n}"));
        *self.shared.keys.lock().unwrap() = vec![key.clone()];
        key
    }

    /// Takes the issuer down: every later connection is refused.
    pub fn stop(&self) {
        if let Some(task) = self.task.lock().unwrap().take() {
            task.abort();
        }
    }

    /// How many times the JWKS was served.
    pub fn key_fetches(&self) -> usize {
        self.shared.fetches.load(Ordering::SeqCst)
    }

    /// Standard claims of a token for `subject` and `audience`, issued at `now` (Unix
    /// seconds), valid for an hour.
    pub fn claims(&self, subject: &str, audience: &str, now: i64) -> Value {
        json!({
            "iss": self.url,
            "sub": subject,
            "aud": audience,
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
        })
    }

    /// `claims` signed with the current key.
    pub fn sign(&self, claims: &Value) -> String {
        self.key().sign(claims)
    }

    /// A valid token for `subject` and `audience` at `now`.
    pub fn token(&self, subject: &str, audience: &str, now: i64) -> String {
        self.sign(&self.claims(subject, audience, now))
    }
}

impl Drop for Issuer {
    fn drop(&mut self) {
        self.stop();
    }
}
