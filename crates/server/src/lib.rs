//! tesserad: Tessera's service. Today: database migrations; the gRPC and HTTP service follows.

use tessera_store::{Revision, SqlStore, StoreConfig};

/// Opens the database at `url` and applies every pending migration (forward-only).
/// Returns the current change-log revision.
pub async fn migrate(url: &str) -> Result<Revision, tessera_store::Error> {
    let store = SqlStore::connect(&StoreConfig::new(url)).await?;
    store.migrate().await?;
    let revision = store.current_revision().await;
    store.close().await;
    revision
}
