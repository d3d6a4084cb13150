//! Start-up: open and migrate the store, load (or create) the master key, make sure a signing
//! key exists, and bootstrap the platform operator on first start. Idempotent: a second start
//! on the same store creates nothing.
//!
//! The STS derivation key (from which the secrets of `STS.` access keys are derived, so any
//! replica verifies them statelessly) must be the same on every replica. The store has no row
//! for it, and a signing-key-like row would be the wrong place, so it is derived from the
//! master key: `HMAC-SHA256(master key bytes, "tessera sts key derivation v1")` (see
//! [`sts_derivation_key`]). Consequence: **rotating the master key invalidates every live STS
//! credential** (their secrets no longer derive; their security tokens, signed by the
//! signing keys, still verify as bearer tokens). STS credentials live at most 12 hours.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac as _};
use serde::Serialize;
use sha2::Sha256;
use tessera_credentials::sts::new_long_term_access_key;
use tessera_credentials::token::SigningKey;
use tessera_credentials::{MasterKey, Sealer, Secret, StsKeyDerivation};
use tessera_store::{
    AccessKeyStatus, AccountId, AccountStatus, AccountStore, KeyStore, NewAccessKey, NewSigningKey,
    OperatorStore, SigningKeyStatus, SqlStore, StoreConfig, SystemStore,
};

use crate::config::{Config, decode_master_key};
use crate::error::ServerError;

/// The master key file in the data directory: base64 of 32 random bytes.
pub const MASTER_KEY_FILE: &str = "master.key";
/// The operator credential file written on first start.
pub const OPERATOR_FILE: &str = "operator.json";
/// The name of the operator's account.
pub const OPERATOR_ACCOUNT_NAME: &str = "operator";
/// The id the master key is known by in sealed values.
pub const MASTER_KEY_ID: u8 = 1;
/// The JWS algorithm of the signing keys.
pub const SIGNING_ALGORITHM: &str = "EdDSA";

/// The label the STS derivation key is derived from the master key with.
pub const STS_DERIVATION_LABEL: &[u8] = b"tessera sts key derivation v1";

/// The sealing context of an access key's secret.
pub fn access_key_context(key_id: &str) -> Vec<u8> {
    format!("access-key:{key_id}").into_bytes()
}

/// The sealing context of a signing key's private key.
pub fn signing_key_context(kid: &str) -> Vec<u8> {
    format!("signing-key:{kid}").into_bytes()
}

/// The sealing context of a virtual MFA device's TOTP seed (by its serial number,
/// `acs:ram::<account>:mfa/<name>`, so a seed cannot be moved to another device or account).
pub fn mfa_seed_context(serial_number: &str) -> Vec<u8> {
    format!("mfa-seed:{serial_number}").into_bytes()
}

/// What start-up produced: the open store and what the services need.
#[derive(Debug, Clone)]
pub struct Bootstrapped {
    pub store: SqlStore,
    pub sealer: Sealer,
    /// The platform operator's account.
    pub operator_account: AccountId,
    /// The newest active signing key.
    pub signing_key: SigningKey,
    /// Derives the secrets of `STS.` access keys (the same on every replica sharing the
    /// master key; see the module documentation).
    pub sts_keys: StsKeyDerivation,
}

/// The STS derivation key: `HMAC-SHA256(master key bytes, "tessera sts key derivation v1")`.
/// Every replica with the same master key derives the same key; rotating the master key
/// changes it (and so invalidates live STS credentials).
pub fn sts_derivation_key(master_key: &[u8]) -> Result<StsKeyDerivation, ServerError> {
    let mut mac = Hmac::<Sha256>::new_from_slice(master_key)
        .map_err(|_| ServerError::Config("the master key cannot key HMAC-SHA256".into()))?;
    mac.update(STS_DERIVATION_LABEL);
    let key = Secret::new(mac.finalize().into_bytes().to_vec());
    StsKeyDerivation::new(key).map_err(|e| ServerError::Config(format!("STS derivation key: {e}")))
}

/// The operator credential as written to `operator.json`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct OperatorFile<'a> {
    account_id: &'a str,
    access_key_id: &'a str,
    access_key_secret: &'a str,
}

/// Opens the store and prepares it; see the module documentation.
pub async fn bootstrap(config: &Config) -> Result<Bootstrapped, ServerError> {
    if config.uses_embedded_database() {
        ensure_data_dir(&config.data_dir)?;
    }
    let (master_key, sts_keys) = load_master_key(config)?;
    let sealer = Sealer::new(master_key);
    let mut store_config = StoreConfig::new(config.effective_database_url());
    store_config.max_connections = config.database_max_connections;
    let store = SqlStore::connect(&store_config)
        .await
        .map_err(|e| ServerError::store("open the database", e))?;
    let prepared = prepare(config, &store, &sealer).await;
    match prepared {
        Ok((operator_account, signing_key)) => Ok(Bootstrapped {
            store,
            sealer,
            operator_account,
            signing_key,
            sts_keys,
        }),
        Err(e) => {
            store.close().await;
            Err(e)
        }
    }
}

async fn prepare(
    config: &Config,
    store: &SqlStore,
    sealer: &Sealer,
) -> Result<(AccountId, SigningKey), ServerError> {
    store
        .migrate()
        .await
        .map_err(|e| ServerError::store("migrate the database", e))?;
    let signing_key = ensure_signing_key(store, sealer).await?;
    let operator = ensure_operator(config, store, sealer).await?;
    Ok((operator, signing_key))
}

/// Creates the data directory (mode 0700) if it does not exist.
fn ensure_data_dir(dir: &Path) -> Result<(), ServerError> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|e| ServerError::io(format!("create the data directory {}", dir.display()), e))
}

/// The configured master key, or the one in `<data_dir>/master.key` (created if missing), and
/// the STS derivation key derived from it.
fn load_master_key(config: &Config) -> Result<(MasterKey, StsKeyDerivation), ServerError> {
    let bytes = match &config.master_key {
        Some(key) => key.clone(),
        None => {
            ensure_data_dir(&config.data_dir)?;
            let path = config.data_dir.join(MASTER_KEY_FILE);
            read_or_create_master_key(&path)?
        }
    };
    let master = MasterKey::new(MASTER_KEY_ID, bytes.expose())
        .map_err(|e| ServerError::Config(format!("master key: {e}")))?;
    Ok((master, sts_derivation_key(bytes.expose())?))
}

fn read_or_create_master_key(path: &Path) -> Result<Secret, ServerError> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let text = zeroize::Zeroizing::new(text);
            warn_if_readable_by_others(path);
            decode_master_key(&text)
                .map_err(|e| ServerError::Config(format!("{}: {e}", path.display())))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
            rand::Rng::fill(&mut rand::rng(), bytes.as_mut_slice());
            let mut text = zeroize::Zeroizing::new(STANDARD.encode(bytes.as_slice()));
            text.push('\n');
            write_private_file(path, text.as_bytes(), true)?;
            tracing::info!(path = %path.display(), "generated a new master key");
            Ok(Secret::new(bytes.to_vec()))
        }
        Err(e) => Err(ServerError::io(format!("read {}", path.display()), e)),
    }
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(path = %path.display(), "the master key file is accessible to group or others; chmod 600 it");
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

/// Writes `bytes` to a file only its owner may read (mode 0600). With `exclusive`, fails if
/// the file exists; otherwise replaces it through a temporary file and a rename.
fn write_private_file(path: &Path, bytes: &[u8], exclusive: bool) -> Result<(), ServerError> {
    let target: PathBuf = if exclusive {
        path.to_owned()
    } else {
        let mut name = path.as_os_str().to_owned();
        name.push(".tmp");
        let tmp = PathBuf::from(name);
        let _ = std::fs::remove_file(&tmp);
        tmp
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let write = || -> std::io::Result<()> {
        let mut file = options.open(&target)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        if !exclusive {
            std::fs::rename(&target, path)?;
        }
        Ok(())
    };
    write().map_err(|e| ServerError::io(format!("write {}", path.display()), e))
}

/// Makes sure an active signing key exists (creating one in an empty store) and that the
/// master key opens it; returns the newest active key.
async fn ensure_signing_key(store: &SqlStore, sealer: &Sealer) -> Result<SigningKey, ServerError> {
    let keys = store
        .list_signing_keys()
        .await
        .map_err(|e| ServerError::store("list signing keys", e))?;
    if let Some(stored) = keys
        .iter()
        .rev()
        .find(|k| k.status == SigningKeyStatus::Active)
    {
        let der = sealer
            .open(
                &stored.sealed_private_key,
                &signing_key_context(&stored.kid),
            )
            .map_err(|_| ServerError::MasterKeyMismatch {
                what: format!("signing key {}", stored.kid),
            })?;
        return SigningKey::from_pkcs8_der(&der, Some(&stored.kid)).map_err(|e| {
            ServerError::Config(format!(
                "stored signing key {} is unusable: {e}",
                stored.kid
            ))
        });
    }
    let key = SigningKey::generate(&mut rand::rng())
        .map_err(|e| ServerError::Config(format!("generate a signing key: {e}")))?;
    let sealed = sealer
        .seal(&key.to_pkcs8_der(), &signing_key_context(key.kid()))
        .map_err(|e| ServerError::Config(format!("seal the signing key: {e}")))?;
    store
        .insert_signing_key(&NewSigningKey {
            kid: key.kid().to_owned(),
            algorithm: SIGNING_ALGORITHM.to_owned(),
            sealed_private_key: sealed,
            public_key: key.public_key().as_bytes().to_vec(),
        })
        .await
        .map_err(|e| ServerError::store("store the signing key", e))?;
    tracing::info!(kid = key.kid(), "created a token-signing key");
    Ok(key)
}

/// The operator's account: bootstrapped on first start, checked on every later one.
async fn ensure_operator(
    config: &Config,
    store: &SqlStore,
    sealer: &Sealer,
) -> Result<AccountId, ServerError> {
    let configured = match (
        &config.operator_access_key_id,
        &config.operator_access_key_secret,
    ) {
        (Some(id), Some(secret)) => Some((id.as_str(), secret)),
        _ => None,
    };
    let existing = store
        .operator_account()
        .await
        .map_err(|e| ServerError::store("read the operator", e))?;
    if let Some(account) = existing {
        if let Some((id, secret)) = configured {
            ensure_configured_key(store, sealer, &account, id, secret).await?;
        }
        return Ok(account);
    }
    // First start: create the operator's account and root access key.
    let generated;
    let (key_id, secret) = match configured {
        Some((id, secret)) => (id.to_owned(), secret),
        None => {
            generated = new_long_term_access_key(&mut rand::rng());
            (generated.id.clone(), &generated.secret)
        }
    };
    let account = store
        .create_account(OPERATOR_ACCOUNT_NAME)
        .await
        .map_err(|e| ServerError::store("create the operator account", e))?
        .value
        .id;
    create_root_key(store, sealer, &account, &key_id, secret).await?;
    let operator = store
        .claim_operator_account(&account)
        .await
        .map_err(|e| ServerError::store("record the operator", e))?
        .value;
    if operator != account {
        // Another replica bootstrapped at the same time and won: retire what we created.
        tracing::warn!(
            operator = %operator.as_str(),
            "another instance bootstrapped the operator first; suspending the duplicate account"
        );
        let _ = store.delete_access_key(&account, None, &key_id).await;
        let _ = store
            .set_account_status(&account, AccountStatus::Suspended)
            .await;
        return Ok(operator);
    }
    if configured.is_some() {
        tracing::info!(
            account = %account.as_str(),
            access_key_id = %key_id,
            "bootstrapped the operator with the configured access key"
        );
    } else {
        let path = config.data_dir.join(OPERATOR_FILE);
        let secret_text = std::str::from_utf8(secret.expose())
            .map_err(|_| ServerError::Config("generated secret is not text".into()))?;
        let json = zeroize::Zeroizing::new(
            serde_json::to_vec_pretty(&OperatorFile {
                account_id: account.as_str(),
                access_key_id: &key_id,
                access_key_secret: secret_text,
            })
            .map_err(|e| ServerError::Config(format!("operator credential: {e}")))?,
        );
        ensure_data_dir(&config.data_dir)?;
        write_private_file(&path, &json, false)?;
        tracing::info!(
            account = %account.as_str(),
            access_key_id = %key_id,
            file = %path.display(),
            "bootstrapped the operator; its credential is in the file (mode 0600)"
        );
    }
    Ok(account)
}

async fn create_root_key(
    store: &SqlStore,
    sealer: &Sealer,
    account: &AccountId,
    key_id: &str,
    secret: &Secret,
) -> Result<(), ServerError> {
    let sealed_secret = sealer
        .seal(secret, &access_key_context(key_id))
        .map_err(|e| ServerError::Config(format!("seal the operator access key: {e}")))?;
    store
        .create_access_key(
            account,
            None,
            &NewAccessKey {
                id: key_id.to_owned(),
                sealed_secret,
            },
        )
        .await
        .map_err(|e| ServerError::store("create the operator access key", e))?;
    Ok(())
}

/// With `TESSERA_OPERATOR_ACCESS_KEY_ID`/`_SECRET` set on a later start: the key must be the
/// operator's root key with that secret; a new id is added to the operator's root keys.
async fn ensure_configured_key(
    store: &SqlStore,
    sealer: &Sealer,
    operator: &AccountId,
    key_id: &str,
    secret: &Secret,
) -> Result<(), ServerError> {
    let found = store
        .find_access_key(key_id)
        .await
        .map_err(|e| ServerError::store("look up the operator access key", e))?;
    match found {
        None => {
            create_root_key(store, sealer, operator, key_id, secret).await?;
            tracing::info!(access_key_id = %key_id, "added the configured operator access key");
            Ok(())
        }
        Some(owner) => {
            if &owner.account != operator || owner.user_name.is_some() {
                return Err(ServerError::Config(format!(
                    "the configured operator access key {key_id} belongs to another identity"
                )));
            }
            let stored = sealer
                .open(&owner.sealed_secret, &access_key_context(key_id))
                .map_err(|_| ServerError::MasterKeyMismatch {
                    what: format!("access key {key_id}"),
                })?;
            if &stored != secret {
                return Err(ServerError::Config(format!(
                    "the configured operator access key {key_id} has a different secret in the store"
                )));
            }
            if owner.status != AccessKeyStatus::Active {
                tracing::warn!(access_key_id = %key_id, "the configured operator access key is inactive");
            }
            Ok(())
        }
    }
}
