//! The key that signs new security tokens: the newest `Active` signing key in the store, opened
//! with the sealer. Held in memory and reloaded after the change feed reports a signing-key
//! change (a rotation by the Operator service inserts a new key and retires the old one), so a
//! replica signs with the new key as soon as its feed delivers the change. Tokens signed with
//! the old key keep verifying: verification (`auth`) uses every key still inside its window.

use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

use tessera_credentials::{Sealer, SigningKey};
use tessera_iam::Error;
use tessera_store::{SigningKeyStatus, SqlStore, SystemStore as _};

use crate::bootstrap::signing_key_context;

/// The current signing key, reloaded after [`SigningKeys::changed`].
pub struct SigningKeys {
    store: SqlStore,
    sealer: Sealer,
    /// `None` after a change: the next [`SigningKeys::current`] reloads.
    current: RwLock<Option<SigningKey>>,
    /// Bumped by every change, so a reload that read the keys before a change does not cache
    /// its (possibly stale) result.
    generation: AtomicU64,
    /// Serializes reloads: one store read for any number of waiting callers.
    reload: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kid = self.cached().map(|k| k.kid().to_owned());
        f.debug_struct("SigningKeys")
            .field("kid", &kid)
            .finish_non_exhaustive()
    }
}

impl SigningKeys {
    /// Starts with `initial` (what bootstrap ensured).
    pub fn new(store: SqlStore, sealer: Sealer, initial: SigningKey) -> SigningKeys {
        SigningKeys {
            store,
            sealer,
            current: RwLock::new(Some(initial)),
            generation: AtomicU64::new(0),
            reload: tokio::sync::Mutex::new(()),
        }
    }

    /// Forgets the held key (for the change feed: a signing key was added or retired).
    pub fn changed(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        match self.current.write() {
            Ok(mut current) => *current = None,
            Err(poisoned) => *poisoned.into_inner() = None,
        }
    }

    /// The key to sign with now, reloaded from the store after a change.
    pub async fn current(&self) -> Result<SigningKey, Error> {
        if let Some(key) = self.cached() {
            return Ok(key);
        }
        let _guard = self.reload.lock().await;
        if let Some(key) = self.cached() {
            return Ok(key);
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let key = self.load().await?;
        if self.generation.load(Ordering::SeqCst) == generation {
            match self.current.write() {
                Ok(mut current) => *current = Some(key.clone()),
                Err(poisoned) => *poisoned.into_inner() = Some(key.clone()),
            }
        }
        Ok(key)
    }

    fn cached(&self) -> Option<SigningKey> {
        match self.current.read() {
            Ok(current) => current.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The newest active key in the store, opened.
    async fn load(&self) -> Result<SigningKey, Error> {
        let keys = self.store.list_signing_keys().await?;
        // Listed oldest first.
        let stored = keys
            .iter()
            .rev()
            .find(|k| k.status == SigningKeyStatus::Active)
            .ok_or_else(|| {
                tracing::error!("no active signing key in the store: cannot issue tokens");
                Error::unavailable("No token-signing key is active.")
            })?;
        let der = self
            .sealer
            .open(
                &stored.sealed_private_key,
                &signing_key_context(&stored.kid),
            )
            .map_err(|error| {
                tracing::error!(kid = %stored.kid, %error, "cannot open the signing key");
                Error::internal()
            })?;
        let key = SigningKey::from_pkcs8_der(&der, Some(&stored.kid)).map_err(|error| {
            tracing::error!(kid = %stored.kid, %error, "the stored signing key is unusable");
            Error::internal()
        })?;
        tracing::info!(kid = key.kid(), "token-signing key loaded");
        Ok(key)
    }
}
