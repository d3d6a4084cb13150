//! Credentials: secret values, sealing them at rest, and (to come) tokens and request
//! signatures. No database and no network: callers store the sealed bytes.

mod seal;
mod secret;

pub use seal::{MasterKey, SealError, Sealer};
pub use secret::Secret;
