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
//! | `request_timeout_ms` | `TESSERA_REQUEST_TIMEOUT_MS` | 10000 (per RPC; a shorter `grpc-timeout` from the caller wins) |
//! | `max_concurrent_requests` | `TESSERA_MAX_CONCURRENT_REQUESTS` | 1024 (RPCs in flight; more are shed at once) |
//! | `rate_limits` (table) | `TESSERA_RATE_LIMITS` (`{AssumeRole=100}`) | `{ AssumeRole = 100, AssumeRoleWithOIDC = 100 }`: requests per second per account (for `AssumeRoleWithOIDC`, the role's account), by operation; `"*"`: every other operation; 0: no limit |
//! | `log_format` | `TESSERA_LOG_FORMAT` | `text` (or `json`) |
//! | `log_filter` | `TESSERA_LOG_FILTER` | `info` (a `tracing` filter; `RUST_LOG` wins when set) |
//! | `otlp_traces` | `TESSERA_OTLP_TRACES` | `auto`: export spans over OTLP/gRPC when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `…_TRACES_ENDPOINT`) is set; `on`, `off` |
//! | `metrics` | `TESSERA_METRICS` | `true`: Prometheus text at `GET /metrics` on the service port |
//! | `principal_cache_capacity` | `TESSERA_PRINCIPAL_CACHE_CAPACITY` | 100000 (compiled principals kept in memory; 0: none, every decision loads from the store — for measuring cold decisions) |
//! | `[audit]` (table) | `TESSERA_AUDIT` (`{sample_allowed=0.01}`) | see [`Audit`]: `enabled = true`, `buffer_capacity = 10000`, `sample_allowed = 0.0`, `retention_days = 90` |
//! | `oidc_jwks_ttl_seconds` | `TESSERA_OIDC_JWKS_TTL_SECONDS` | 3600: how long an OIDC issuer's fetched keys are used (1–86400) |
//! | `oidc_fetch_timeout_ms` | `TESSERA_OIDC_FETCH_TIMEOUT_MS` | 5000: one discovery or JWKS fetch (100–60000) |
//! | `oidc_ca_file` | `TESSERA_OIDC_CA_FILE` | none: issuers without fingerprints are verified against the system's roots; a PEM file adds CAs |
//! | `oidc_allow_http_issuers` | `TESSERA_OIDC_ALLOW_HTTP_ISSUERS` | `false`: OIDC providers need `https://` issuers (`true` is for tests) |
//!
//! Unknown keys (in the file) are rejected, and so are unknown operations in `rate_limits`.
//! [`Config::redacted_toml`] prints the effective configuration with the secrets redacted
//! (`tesserad check-config`).

use std::collections::BTreeMap;
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
    "request_timeout_ms",
    "max_concurrent_requests",
    "rate_limits",
    "log_format",
    "log_filter",
    "otlp_traces",
    "metrics",
    "principal_cache_capacity",
    "audit",
    "oidc_jwks_ttl_seconds",
    "oidc_fetch_timeout_ms",
    "oidc_ca_file",
    "oidc_allow_http_issuers",
];

/// The most RPCs in flight by default.
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 1024;
/// The default per-RPC timeout.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// `AssumeRole` (and `AssumeRoleWithOIDC`) calls per second per account by default, as Alibaba
/// Cloud allows.
pub const DEFAULT_ASSUME_ROLE_RATE: u32 = 100;
/// The `rate_limits` key that applies to every operation without its own entry.
pub const ANY_OPERATION: &str = "*";

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
    /// Overload protection: timeouts, the concurrency limit, per-account rate limits.
    pub limits: Limits,
    /// Logs, traces and metrics.
    pub telemetry: Telemetry,
    /// The audit trail ([`crate::audit`]).
    pub audit: Audit,
    /// Compiled principals kept in memory ([`crate::principals::PrincipalCache`]); 0 keeps
    /// none.
    pub principal_cache_capacity: u64,
    /// OIDC federation (`AssumeRoleWithOIDC`).
    pub oidc: OidcSettings,
}

/// The audit trail (`[audit]`, [`crate::audit`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Audit {
    /// Record events at all (default `true`).
    pub enabled: bool,
    /// Events buffered between the requests that record them and the writer (default 10000).
    /// When it is full, further events are dropped and counted, never waited for.
    pub buffer_capacity: usize,
    /// The fraction (0.0–1.0) of allowed `Authorize` decisions recorded (default 0.0: none).
    /// Denied decisions are always recorded. Allowed ones are the bulk of a deployment's
    /// traffic (thousands per second), so recording them is a choice: 0.01 keeps one in a
    /// hundred.
    pub sample_allowed: f64,
    /// Days events are kept (default 90, as ActionTrail's event history); 0 keeps them forever.
    pub retention_days: u32,
}

impl Default for Audit {
    fn default() -> Audit {
        Audit {
            enabled: true,
            buffer_capacity: 10_000,
            sample_allowed: 0.0,
            retention_days: 90,
        }
    }
}

impl Audit {
    fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=1_000_000).contains(&self.buffer_capacity) {
            return Err(ConfigError::Invalid(
                "audit.buffer_capacity must be between 1 and 1000000".into(),
            ));
        }
        if !(0.0..=1.0).contains(&self.sample_allowed) {
            return Err(ConfigError::Invalid(
                "audit.sample_allowed must be a fraction between 0.0 and 1.0".into(),
            ));
        }
        if self.retention_days > 36_500 {
            return Err(ConfigError::Invalid(
                "audit.retention_days must be at most 36500 (0 keeps events forever)".into(),
            ));
        }
        Ok(())
    }
}

/// How OIDC issuers are reached ([`crate::oidc`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcSettings {
    /// How long an issuer's fetched keys are used; while the issuer is unreachable, cached
    /// keys keep working until then.
    pub jwks_ttl: Duration,
    /// The longest one discovery or JWKS fetch may take.
    pub fetch_timeout: Duration,
    /// PEM CA certificates trusted for issuers without fingerprints, besides the system's.
    pub ca_file: Option<PathBuf>,
    /// Accept `http://` issuer URLs (tests only: plain HTTP lets anyone on the path forge keys).
    pub allow_http_issuers: bool,
}

/// The default [`OidcSettings::jwks_ttl`].
pub const DEFAULT_OIDC_JWKS_TTL: Duration = Duration::from_secs(3600);
/// The default [`OidcSettings::fetch_timeout`].
pub const DEFAULT_OIDC_FETCH_TIMEOUT: Duration = Duration::from_secs(5);

impl Default for OidcSettings {
    fn default() -> OidcSettings {
        OidcSettings {
            jwks_ttl: DEFAULT_OIDC_JWKS_TTL,
            fetch_timeout: DEFAULT_OIDC_FETCH_TIMEOUT,
            ca_file: None,
            allow_http_issuers: false,
        }
    }
}

/// Overload protection ([`crate::layers`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// The longest one RPC may take (health and reflection excepted).
    pub request_timeout: Duration,
    /// The most RPCs in flight at once; further ones are refused at once (never queued).
    pub max_concurrent_requests: usize,
    /// Requests per second per account, by operation name (`AssumeRole`) or [`ANY_OPERATION`];
    /// 0 means no limit.
    pub rate_limits: BTreeMap<String, u32>,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_concurrent_requests: DEFAULT_MAX_CONCURRENT_REQUESTS,
            rate_limits: BTreeMap::from([
                ("AssumeRole".to_owned(), DEFAULT_ASSUME_ROLE_RATE),
                ("AssumeRoleWithOIDC".to_owned(), DEFAULT_ASSUME_ROLE_RATE),
            ]),
        }
    }
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (with the span fields: request id, account, …).
    Json,
}

/// Whether spans are exported over OTLP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OtlpTraces {
    /// When the standard `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
    /// is set (and `OTEL_SDK_DISABLED` is not `true`).
    Auto,
    /// Always (the exporter's default endpoint is `http://localhost:4317`).
    On,
    Off,
}

/// Logs, traces and metrics ([`crate::telemetry`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Telemetry {
    pub log_format: LogFormat,
    /// A `tracing` filter directive (`info`, `tessera_server=debug,info`); `RUST_LOG` wins.
    pub log_filter: String,
    pub otlp_traces: OtlpTraces,
    /// Serve Prometheus metrics at `GET /metrics`.
    pub metrics: bool,
}

impl Default for Telemetry {
    fn default() -> Telemetry {
        Telemetry {
            log_format: LogFormat::Text,
            log_filter: String::from("info"),
            otlp_traces: OtlpTraces::Auto,
            metrics: true,
        }
    }
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
            limits: Limits::default(),
            telemetry: Telemetry::default(),
            audit: Audit::default(),
            principal_cache_capacity: crate::principals::DEFAULT_CAPACITY,
            oidc: OidcSettings::default(),
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
            .field("limits", &self.limits)
            .field("telemetry", &self.telemetry)
            .field("audit", &self.audit)
            .field("principal_cache_capacity", &self.principal_cache_capacity)
            .field("oidc", &self.oidc)
            .finish()
    }
}

/// What replaces a secret in printed configuration.
const REDACTED: &str = "<redacted>";

/// The longest `request_timeout_ms`: one hour.
const MAX_REQUEST_TIMEOUT_MS: u64 = 3_600_000;

/// Validates the overload-protection settings.
fn limits(
    request_timeout_ms: u64,
    max_concurrent_requests: usize,
    rate_limits: BTreeMap<String, u32>,
) -> Result<Limits, ConfigError> {
    if !(1..=MAX_REQUEST_TIMEOUT_MS).contains(&request_timeout_ms) {
        return Err(ConfigError::Invalid(format!(
            "request_timeout_ms must be between 1 and {MAX_REQUEST_TIMEOUT_MS}"
        )));
    }
    if max_concurrent_requests == 0 {
        return Err(ConfigError::Invalid(
            "max_concurrent_requests must be at least 1".into(),
        ));
    }
    if let Some(unknown) = rate_limits
        .keys()
        .find(|op| op.as_str() != ANY_OPERATION && !crate::layers::is_operation(op))
    {
        return Err(ConfigError::Invalid(format!(
            "rate_limits: `{unknown}` is not an operation (use an RPC name such as \
             AssumeRole or CreateUser, or \"*\" for every other operation)"
        )));
    }
    Ok(Limits {
        request_timeout: Duration::from_millis(request_timeout_ms),
        max_concurrent_requests,
        rate_limits,
    })
}

/// A database URL with its password (and any password-like query parameter) redacted; host,
/// port, user and database stay readable.
pub(crate) fn redact_url_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return String::from(REDACTED);
    };
    let (before_query, query) = match rest.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (rest, None),
    };
    let (authority, path) = match before_query.find('/') {
        Some(i) => before_query.split_at(i),
        None => (before_query, ""),
    };
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{user}:{REDACTED}@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_owned(),
    };
    let mut out = format!("{scheme}://{authority}{path}");
    if let Some(query) = query {
        let params: Vec<String> = query
            .split('&')
            .map(|param| match param.split_once('=') {
                Some((key, _)) if is_secret_parameter(key) => format!("{key}={REDACTED}"),
                _ => param.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

fn is_secret_parameter(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["pass", "secret", "token", "key"]
        .iter()
        .any(|word| key.contains(word))
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
    request_timeout_ms: u64,
    max_concurrent_requests: usize,
    rate_limits: BTreeMap<String, u32>,
    log_format: LogFormat,
    log_filter: String,
    otlp_traces: OtlpTraces,
    metrics: bool,
    principal_cache_capacity: u64,
    oidc_jwks_ttl_seconds: u64,
    oidc_fetch_timeout_ms: u64,
    #[serde(default)]
    oidc_ca_file: Option<PathBuf>,
    oidc_allow_http_issuers: bool,
    // Tables after the plain keys (TOML prints them last).
    #[serde(default)]
    audit: Audit,
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
            request_timeout_ms: duration_ms(d.limits.request_timeout),
            max_concurrent_requests: d.limits.max_concurrent_requests,
            rate_limits: d.limits.rate_limits,
            log_format: d.telemetry.log_format,
            log_filter: d.telemetry.log_filter,
            otlp_traces: d.telemetry.otlp_traces,
            metrics: d.telemetry.metrics,
            principal_cache_capacity: d.principal_cache_capacity,
            audit: d.audit,
            oidc_jwks_ttl_seconds: d.oidc.jwks_ttl.as_secs(),
            oidc_fetch_timeout_ms: duration_ms(d.oidc.fetch_timeout),
            oidc_ca_file: None,
            oidc_allow_http_issuers: d.oidc.allow_http_issuers,
        }
    }
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
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
        let limits = limits(
            raw.request_timeout_ms,
            raw.max_concurrent_requests,
            raw.rate_limits,
        )?;
        if let Err(error) = tracing_subscriber::EnvFilter::try_new(&raw.log_filter) {
            return Err(ConfigError::Invalid(format!(
                "log_filter is not a valid tracing filter: {error}"
            )));
        }
        if !(1..=86_400).contains(&raw.oidc_jwks_ttl_seconds) {
            return Err(ConfigError::Invalid(
                "oidc_jwks_ttl_seconds must be between 1 and 86400".into(),
            ));
        }
        if !(100..=60_000).contains(&raw.oidc_fetch_timeout_ms) {
            return Err(ConfigError::Invalid(
                "oidc_fetch_timeout_ms must be between 100 and 60000".into(),
            ));
        }
        let oidc = OidcSettings {
            jwks_ttl: Duration::from_secs(raw.oidc_jwks_ttl_seconds),
            fetch_timeout: Duration::from_millis(raw.oidc_fetch_timeout_ms),
            ca_file: given(raw.oidc_ca_file),
            allow_http_issuers: raw.oidc_allow_http_issuers,
        };
        let telemetry = Telemetry {
            log_format: raw.log_format,
            log_filter: raw.log_filter,
            otlp_traces: raw.otlp_traces,
            metrics: raw.metrics,
        };
        raw.audit.validate()?;
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
            limits,
            telemetry,
            principal_cache_capacity: raw.principal_cache_capacity,
            audit: raw.audit,
            oidc,
        })
    }

    /// The effective configuration as TOML that [`Config::load`] reads back, except that
    /// secrets (the master key, the operator's secret, a password in the database URL) are
    /// replaced by `<redacted>`.
    pub fn redacted_toml(&self) -> Result<String, ConfigError> {
        let redacted = || Some(String::from(REDACTED));
        let tls = self.tls.as_ref();
        let raw = Raw {
            listen: self.listen,
            data_dir: self.data_dir.clone(),
            database_url: Some(
                self.database_url
                    .as_deref()
                    .map_or_else(|| self.effective_database_url(), redact_url_password),
            ),
            database_max_connections: self.database_max_connections,
            master_key: self.master_key.as_ref().and_then(|_| redacted()),
            operator_access_key_id: self.operator_access_key_id.clone(),
            operator_access_key_secret: self
                .operator_access_key_secret
                .as_ref()
                .and_then(|_| redacted()),
            shutdown_grace_seconds: self.shutdown_grace.as_secs(),
            tls_cert: tls.map(|t| t.cert.clone()),
            tls_key: tls.map(|t| t.key.clone()),
            tls_client_ca: tls.and_then(|t| t.client_ca.clone()),
            request_timeout_ms: duration_ms(self.limits.request_timeout),
            max_concurrent_requests: self.limits.max_concurrent_requests,
            rate_limits: self.limits.rate_limits.clone(),
            log_format: self.telemetry.log_format,
            log_filter: self.telemetry.log_filter.clone(),
            otlp_traces: self.telemetry.otlp_traces,
            metrics: self.telemetry.metrics,
            principal_cache_capacity: self.principal_cache_capacity,
            audit: self.audit.clone(),
            oidc_jwks_ttl_seconds: self.oidc.jwks_ttl.as_secs(),
            oidc_fetch_timeout_ms: duration_ms(self.oidc.fetch_timeout),
            oidc_ca_file: self.oidc.ca_file.clone(),
            oidc_allow_http_issuers: self.oidc.allow_http_issuers,
        };
        toml::to_string(&raw).map_err(|e| ConfigError::Invalid(format!("cannot print: {e}")))
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

    #[test]
    fn limits_and_telemetry_have_defaults_and_settings() {
        let c = layered("", &Overrides::default()).unwrap();
        assert_eq!(c.limits, Limits::default());
        assert_eq!(c.limits.request_timeout, Duration::from_secs(10));
        assert_eq!(c.limits.max_concurrent_requests, 1024);
        assert_eq!(c.limits.rate_limits.get("AssumeRole"), Some(&100));
        assert_eq!(c.telemetry, Telemetry::default());

        let toml = "request_timeout_ms = 250\nmax_concurrent_requests = 8\n\
                    log_format = \"json\"\nlog_filter = \"tessera_server=debug,info\"\n\
                    otlp_traces = \"off\"\nmetrics = false\n\
                    [rate_limits]\nCreateUser = 5\n\"*\" = 50\n";
        let c = layered(toml, &Overrides::default()).unwrap();
        assert_eq!(c.limits.request_timeout, Duration::from_millis(250));
        assert_eq!(c.limits.max_concurrent_requests, 8);
        // A file's table adds to the default one: AssumeRole keeps its limit.
        assert_eq!(
            c.limits.rate_limits,
            BTreeMap::from([
                ("*".to_owned(), 50),
                ("AssumeRole".to_owned(), 100),
                ("AssumeRoleWithOIDC".to_owned(), 100),
                ("CreateUser".to_owned(), 5),
            ])
        );
        assert_eq!(c.telemetry.log_format, LogFormat::Json);
        assert_eq!(c.telemetry.log_filter, "tessera_server=debug,info");
        assert_eq!(c.telemetry.otlp_traces, OtlpTraces::Off);
        assert!(!c.telemetry.metrics);
    }

    #[test]
    fn oidc_settings() {
        let c = layered("", &Overrides::default()).unwrap();
        assert_eq!(c.oidc, OidcSettings::default());
        assert!(!c.oidc.allow_http_issuers);
        let toml = "oidc_jwks_ttl_seconds = 60\noidc_fetch_timeout_ms = 250\n\
                    oidc_ca_file = \"/etc/ca.pem\"\noidc_allow_http_issuers = true\n";
        let c = layered(toml, &Overrides::default()).unwrap();
        assert_eq!(c.oidc.jwks_ttl, Duration::from_secs(60));
        assert_eq!(c.oidc.fetch_timeout, Duration::from_millis(250));
        assert_eq!(c.oidc.ca_file.as_deref(), Some(Path::new("/etc/ca.pem")));
        assert!(c.oidc.allow_http_issuers);
        let printed = c.redacted_toml().unwrap();
        assert!(
            printed.contains("oidc_allow_http_issuers = true"),
            "{printed}"
        );
        for bad in [
            "oidc_jwks_ttl_seconds = 0",
            "oidc_jwks_ttl_seconds = 86401",
            "oidc_fetch_timeout_ms = 99",
            "oidc_allow_http_issuers = \"maybe\"",
        ] {
            assert!(layered(bad, &Overrides::default()).is_err(), "{bad}");
        }
    }

    #[test]
    fn rejects_bad_limits_and_telemetry_settings() {
        for bad in [
            "[rate_limits]\nAssumeRoles = 1",
            "[rate_limits]\nAssumeRole = -1",
            "[rate_limits]\nAssumeRole = \"fast\"",
            "rate_limit = 5",
            "request_timeout_ms = 0",
            "request_timeout_ms = 3600001",
            "max_concurrent_requests = 0",
            "log_format = \"xml\"",
            "otlp_traces = \"maybe\"",
            "metrics = \"sometimes\"",
            "log_filter = \"[[[\"",
        ] {
            let error = layered(bad, &Overrides::default()).unwrap_err();
            assert!(
                error.to_string().starts_with("configuration: "),
                "{bad}: {error}"
            );
        }
        let error = layered("[rate_limits]\nNope = 1", &Overrides::default()).unwrap_err();
        assert!(
            error.to_string().contains("`Nope` is not an operation"),
            "{error}"
        );
    }

    #[test]
    fn the_printed_configuration_redacts_secrets_and_reads_back() {
        let key = STANDARD.encode([9u8; 32]);
        let toml = format!(
            "database_url = \"postgres://tessera:hunter2@db:5432/tessera?sslmode=require&password=pw2\"\n\
             master_key = \"{key}\"\n\
             operator_access_key_id = \"LTAIoperator\"\n\
             operator_access_key_secret = \"operator-secret\"\n\
             [rate_limits]\nCreateUser = 3\n"
        );
        let c = layered(&toml, &Overrides::default()).unwrap();
        let printed = c.redacted_toml().unwrap();
        for secret in ["hunter2", "pw2", key.as_str(), "operator-secret"] {
            assert!(!printed.contains(secret), "{secret} in {printed}");
        }
        assert!(
            printed.contains(
                "postgres://tessera:<redacted>@db:5432/tessera?sslmode=require&password=<redacted>"
            ),
            "{printed}"
        );
        assert!(printed.contains("LTAIoperator"), "{printed}");
        assert!(printed.contains("CreateUser = 3"), "{printed}");

        // Everything but the secrets reads back as it was.
        let without_secrets: String = printed
            .lines()
            .filter(|l| !l.starts_with("master_key") && !l.starts_with("operator_access_key"))
            .map(|l| format!("{l}\n"))
            .collect();
        let back = layered(&without_secrets, &Overrides::default()).unwrap();
        assert_eq!(back.listen, c.listen);
        assert_eq!(back.limits, c.limits);
        assert_eq!(back.telemetry, c.telemetry);
        assert_eq!(back.shutdown_grace, c.shutdown_grace);
    }

    #[test]
    fn urls_keep_everything_but_passwords() {
        assert_eq!(
            redact_url_password("postgres://u:p@h/db"),
            "postgres://u:<redacted>@h/db"
        );
        assert_eq!(
            redact_url_password("postgres://u@h/db"),
            "postgres://u@h/db"
        );
        assert_eq!(
            redact_url_password("sqlite://data/t.db?mode=rwc"),
            "sqlite://data/t.db?mode=rwc"
        );
        assert_eq!(
            redact_url_password("postgres://h/db?sslkey=/k&user=u"),
            "postgres://h/db?sslkey=<redacted>&user=u"
        );
        assert_eq!(redact_url_password("no scheme"), "<redacted>");
    }

    #[test]
    fn the_deploy_example_is_valid() {
        let example = include_str!("../../../deploy/tesserad.example.toml");
        let c = layered(example, &Overrides::default()).unwrap();
        assert_eq!(c.listen, "0.0.0.0:7733".parse().unwrap());
        assert_eq!(c.limits, Limits::default());
        assert_eq!(c.telemetry, Telemetry::default());
    }

    #[test]
    fn the_principal_cache_capacity() {
        let c = layered("", &Overrides::default()).unwrap();
        assert_eq!(
            c.principal_cache_capacity,
            crate::principals::DEFAULT_CAPACITY
        );
        let c = layered("principal_cache_capacity = 0\n", &Overrides::default()).unwrap();
        assert_eq!(c.principal_cache_capacity, 0);
        let again = layered(&c.redacted_toml().unwrap(), &Overrides::default()).unwrap();
        assert_eq!(again.principal_cache_capacity, 0);
    }

    #[test]
    fn the_audit_table() {
        let c = layered("", &Overrides::default()).unwrap();
        assert_eq!(c.audit, Audit::default());
        assert!(c.audit.enabled);
        assert_eq!(c.audit.sample_allowed, 0.0);
        assert_eq!(c.audit.retention_days, 90);
        let c = layered(
            "[audit]\nsample_allowed = 0.25\nretention_days = 0\nbuffer_capacity = 5\n",
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(c.audit.sample_allowed, 0.25);
        assert_eq!(c.audit.retention_days, 0);
        assert_eq!(c.audit.buffer_capacity, 5);
        assert!(c.audit.enabled);
        // Printed and read back the same.
        let printed = c.redacted_toml().unwrap();
        let again = layered(&printed, &Overrides::default()).unwrap();
        assert_eq!(again.audit, c.audit);
        for bad in [
            "[audit]\nsample_allowed = 1.5\n",
            "[audit]\nsample_allowed = -0.1\n",
            "[audit]\nbuffer_capacity = 0\n",
            "[audit]\nretention_days = 40000\n",
            "[audit]\nunknown = 1\n",
        ] {
            assert!(layered(bad, &Overrides::default()).is_err(), "{bad}");
        }
    }
}
