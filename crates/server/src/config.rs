//! `tesserad serve` configuration: defaults < TOML file (`--config`) < `TESSERA_*` environment
//! variables < command-line flags, merged by figment.
//!
//! | key (TOML) | environment | default |
//! |---|---|---|
//! | `listen` | `TESSERA_LISTEN` | `127.0.0.1:7733` |
//! | `data_dir` | `TESSERA_DATA_DIR` | `./tessera-data` |
//! | `database_url` | `TESSERA_DATABASE_URL` | `sqlite://<data_dir>/tessera.db?mode=rwc` |
//! | `database_max_connections` | `TESSERA_DATABASE_MAX_CONNECTIONS` | 16 |
//! | `master_key` | `TESSERA_MASTER_KEY` | generated into `<data_dir>/master.key` |
//! | `operator_access_key_id` | `TESSERA_OPERATOR_ACCESS_KEY_ID` | generated on first start |
//! | `operator_access_key_secret` | `TESSERA_OPERATOR_ACCESS_KEY_SECRET` | generated on first start |
//! | `shutdown_grace_seconds` | `TESSERA_SHUTDOWN_GRACE_SECONDS` | 10 |
//! | `tls_cert` | `TESSERA_TLS_CERT` | none: plaintext (PEM certificate chain file) |
//! | `tls_key` | `TESSERA_TLS_KEY` | none (PEM private key file; with `tls_cert`) |
//! | `tls_client_ca` | `TESSERA_TLS_CLIENT_CA` | none: no client certificates (PEM CA file; mTLS) |

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Deserializer, Serialize};
use tessera_credentials::Secret;

/// The default listen port (gRPC and HTTP share it).
pub const DEFAULT_PORT: u16 = 7733;
/// The default data directory, relative to the working directory.
pub const DEFAULT_DATA_DIR: &str = "tessera-data";
/// The environment variables' prefix.
pub const ENV_PREFIX: &str = "TESSERA_";

/// The keys read from the environment (as `TESSERA_<KEY>` in upper case).
const ENV_KEYS: &[&str] = &[
    "listen",
    "data_dir",
    "database_url",
    "database_max_connections",
    "master_key",
    "operator_access_key_id",
    "operator_access_key_secret",
    "shutdown_grace_seconds",
    "tls_cert",
    "tls_key",
    "tls_client_ca",
];

/// The server's configuration. `Debug` redacts the secrets and the database URL (which may
/// carry a password).
#[derive(Clone)]
pub struct Config {
    /// gRPC and HTTP share this address.
    pub listen: SocketAddr,
    /// Holds the SQLite database (by default), `master.key` (unless a master key is
    /// configured) and `operator.json` (written on first start).
    pub data_dir: PathBuf,
    /// `postgres://…` or `sqlite://…`; `None`: SQLite in [`Config::data_dir`].
    pub database_url: Option<String>,
    pub database_max_connections: u32,
    /// The 32-byte master key that seals secrets at rest; `None`: the key in
    /// `<data_dir>/master.key`, generated on first start.
    pub master_key: Option<Secret>,
    /// The operator's access key, instead of a generated one (then no `operator.json`).
    pub operator_access_key_id: Option<String>,
    pub operator_access_key_secret: Option<Secret>,
    /// How long shutdown waits for in-flight requests.
    pub shutdown_grace: Duration,
    /// TLS (and mTLS) on the port; `None`: plaintext.
    pub tls: Option<crate::tls::TlsFiles>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, DEFAULT_PORT)),
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            database_url: None,
            database_max_connections: 16,
            master_key: None,
            operator_access_key_id: None,
            operator_access_key_secret: None,
            shutdown_grace: Duration::from_secs(10),
            tls: None,
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field(
                "database_url",
                &self.database_url.as_deref().map(redact_url),
            )
            .field("database_max_connections", &self.database_max_connections)
            .field("master_key", &self.master_key)
            .field("operator_access_key_id", &self.operator_access_key_id)
            .field(
                "operator_access_key_secret",
                &self.operator_access_key_secret,
            )
            .field("shutdown_grace", &self.shutdown_grace)
            .field("tls", &self.tls)
            .finish()
    }
}

/// The scheme of a database URL, the rest redacted.
pub(crate) fn redact_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, _)) => format!("{scheme}://<redacted>"),
        None => String::from("<redacted>"),
    }
}

/// Why the configuration could not be loaded. Never contains secret values.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Figment(#[from] Box<figment::Error>),
    #[error("configuration: {0}")]
    Invalid(String),
}

/// Command-line values, which override everything else. `None` leaves the value to the layers
/// below.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
}

/// What figment extracts; secrets become [`Secret`]s right after.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    listen: SocketAddr,
    data_dir: PathBuf,
    #[serde(default, deserialize_with = "string_like")]
    database_url: Option<String>,
    database_max_connections: u32,
    #[serde(default, deserialize_with = "string_like")]
    master_key: Option<String>,
    #[serde(default, deserialize_with = "string_like")]
    operator_access_key_id: Option<String>,
    #[serde(default, deserialize_with = "string_like")]
    operator_access_key_secret: Option<String>,
    shutdown_grace_seconds: u64,
    #[serde(default)]
    tls_cert: Option<PathBuf>,
    #[serde(default)]
    tls_key: Option<PathBuf>,
    #[serde(default)]
    tls_client_ca: Option<PathBuf>,
}

impl Raw {
    fn defaults() -> Raw {
        let d = Config::default();
        Raw {
            listen: d.listen,
            data_dir: d.data_dir,
            database_url: None,
            database_max_connections: d.database_max_connections,
            master_key: None,
            operator_access_key_id: None,
            operator_access_key_secret: None,
            shutdown_grace_seconds: d.shutdown_grace.as_secs(),
            tls_cert: None,
            tls_key: None,
            tls_client_ca: None,
        }
    }
}

/// A string, also from an environment value figment parsed as a number or boolean.
fn string_like<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Scalar {
        S(String),
        I(i64),
        U(u64),
        F(f64),
        B(bool),
    }
    Ok(Option::<Scalar>::deserialize(d)?.map(|v| match v {
        Scalar::S(s) => s,
        Scalar::I(i) => i.to_string(),
        Scalar::U(u) => u.to_string(),
        Scalar::F(f) => f.to_string(),
        Scalar::B(b) => b.to_string(),
    }))
}

impl Config {
    /// Loads the configuration: defaults, then `file` (if given; it must exist), then the
    /// `TESSERA_*` environment, then `overrides`.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Raw::defaults()));
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        figment = figment
            .merge(Env::prefixed(ENV_PREFIX).only(ENV_KEYS))
            .merge(Serialized::defaults(overrides));
        Config::from_figment(&figment)
    }

    /// Extracts a configuration from any figment (tests build one without the environment).
    pub fn from_figment(figment: &Figment) -> Result<Config, ConfigError> {
        let raw: Raw = figment.extract().map_err(Box::new)?;
        let master_key = raw
            .master_key
            .filter(|k| !k.trim().is_empty())
            .map(|k| decode_master_key(&k))
            .transpose()?;
        let operator_access_key_id = raw.operator_access_key_id.filter(|s| !s.is_empty());
        let operator_access_key_secret = raw
            .operator_access_key_secret
            .filter(|s| !s.is_empty())
            .map(|s| Secret::new(s.into_bytes()));
        if operator_access_key_id.is_some() != operator_access_key_secret.is_some() {
            return Err(ConfigError::Invalid(
                "operator_access_key_id and operator_access_key_secret \
                 (TESSERA_OPERATOR_ACCESS_KEY_ID/_SECRET) go together"
                    .into(),
            ));
        }
        if raw.shutdown_grace_seconds > 3600 {
            return Err(ConfigError::Invalid(
                "shutdown_grace_seconds must be at most 3600".into(),
            ));
        }
        let given = |p: Option<PathBuf>| p.filter(|p| !p.as_os_str().is_empty());
        let tls = match (
            given(raw.tls_cert),
            given(raw.tls_key),
            given(raw.tls_client_ca),
        ) {
            (None, None, None) => None,
            (Some(cert), Some(key), client_ca) => Some(crate::tls::TlsFiles {
                cert,
                key,
                client_ca,
            }),
            (None, None, Some(_)) => {
                return Err(ConfigError::Invalid(
                    "tls_client_ca needs tls_cert and tls_key (client certificates are a TLS \
                     feature)"
                        .into(),
                ));
            }
            _ => {
                return Err(ConfigError::Invalid(
                    "tls_cert and tls_key (TESSERA_TLS_CERT/_KEY) go together".into(),
                ));
            }
        };
        Ok(Config {
            listen: raw.listen,
            data_dir: raw.data_dir,
            database_url: raw.database_url.filter(|u| !u.is_empty()),
            database_max_connections: raw.database_max_connections.max(1),
            master_key,
            operator_access_key_id,
            operator_access_key_secret,
            shutdown_grace: Duration::from_secs(raw.shutdown_grace_seconds),
            tls,
        })
    }

    /// The database URL in effect: the configured one, or SQLite in the data directory.
    pub fn effective_database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("tessera.db").display()
            ),
        }
    }

    /// Whether the database is the embedded default (SQLite in the data directory).
    pub fn uses_embedded_database(&self) -> bool {
        self.database_url.is_none()
    }
}

/// A master key given as base64 of 32 bytes.
pub(crate) fn decode_master_key(text: &str) -> Result<Secret, ConfigError> {
    let bytes = STANDARD.decode(text.trim()).map(Secret::new).map_err(|_| {
        ConfigError::Invalid("master_key (TESSERA_MASTER_KEY) is not base64".into())
    })?;
    if bytes.len() != 32 {
        return Err(ConfigError::Invalid(format!(
            "master_key (TESSERA_MASTER_KEY) must be 32 bytes, not {}",
            bytes.len()
        )));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use figment::providers::Serialized;

    use super::*;

    fn layered(toml: &str, overrides: &Overrides) -> Result<Config, ConfigError> {
        let figment = Figment::from(Serialized::defaults(Raw::defaults()))
            .merge(Toml::string(toml))
            .merge(Serialized::defaults(overrides));
        Config::from_figment(&figment)
    }

    #[test]
    fn defaults() {
        let c = layered("", &Overrides::default()).unwrap();
        assert_eq!(c.listen, "127.0.0.1:7733".parse().unwrap());
        assert_eq!(c.data_dir, PathBuf::from("tessera-data"));
        assert_eq!(
            c.effective_database_url(),
            "sqlite://tessera-data/tessera.db?mode=rwc"
        );
        assert!(c.master_key.is_none());
        assert_eq!(c.shutdown_grace, Duration::from_secs(10));
    }

    #[test]
    fn file_then_flags() {
        let key = STANDARD.encode([7u8; 32]);
        let toml = format!(
            "listen = \"0.0.0.0:9000\"\ndata_dir = \"/var/lib/tessera\"\n\
             database_url = \"postgres://u:pw@db/tessera\"\nmaster_key = \"{key}\"\n"
        );
        let c = layered(&toml, &Overrides::default()).unwrap();
        assert_eq!(c.listen, "0.0.0.0:9000".parse().unwrap());
        assert_eq!(c.master_key.as_ref().unwrap().expose(), &[7u8; 32]);
        let debug = format!("{c:?}");
        assert!(!debug.contains("pw"), "{debug}");
        assert!(!debug.contains(&key), "{debug}");
        assert!(debug.contains("postgres://<redacted>"), "{debug}");

        let flags = Overrides {
            listen: Some("127.0.0.1:1".parse().unwrap()),
            data_dir: None,
            database_url: Some("sqlite://x.db".into()),
        };
        let c = layered(&toml, &flags).unwrap();
        assert_eq!(c.listen, "127.0.0.1:1".parse().unwrap());
        assert_eq!(c.data_dir, PathBuf::from("/var/lib/tessera"));
        assert_eq!(c.effective_database_url(), "sqlite://x.db");
    }

    #[test]
    fn rejects_bad_values() {
        assert!(layered("master_key = \"c2hvcnQ=\"", &Overrides::default()).is_err());
        assert!(layered("master_key = \"!!!\"", &Overrides::default()).is_err());
        assert!(layered("lisen = \"x\"", &Overrides::default()).is_err());
        assert!(layered("operator_access_key_id = \"LTAIx\"", &Overrides::default()).is_err());
        assert!(layered("tls_cert = \"c.pem\"", &Overrides::default()).is_err());
        assert!(layered("tls_client_ca = \"ca.pem\"", &Overrides::default()).is_err());
        let tls = layered(
            "tls_cert = \"c.pem\"\ntls_key = \"k.pem\"\ntls_client_ca = \"ca.pem\"",
            &Overrides::default(),
        )
        .unwrap()
        .tls
        .unwrap();
        assert_eq!(tls.client_ca, Some(PathBuf::from("ca.pem")));
        let both = "operator_access_key_id = \"LTAIx\"\noperator_access_key_secret = \"s\"";
        let c = layered(both, &Overrides::default()).unwrap();
        assert!(!format!("{c:?}").contains("\"s\""));
    }
}
