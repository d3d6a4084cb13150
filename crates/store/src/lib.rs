//! Tessera's identity store: one async trait ([`Store`]), served by PostgreSQL in production and
//! SQLite as the embedded default, through one SQL implementation ([`SqlStore`]).
//!
//! Rules every method keeps:
//! - Tenant data is addressed by account: every such method takes the [`AccountId`] first and
//!   every query filters by it, so no call can reach another account's rows by omission.
//!   The one deliberate exception is [`KeyStore::find_access_key`], which resolves an access key
//!   id to its account during authentication.
//! - Names are case-preserving and unique case-insensitively within an account.
//! - Every write runs in one transaction that first takes the next change-log revision (which
//!   serializes writers, so a check-then-write is race-free) and appends to the `changes` log;
//!   the revision is returned in [`Committed`]. A [`ChangeFeed`] follows the log (PostgreSQL
//!   `LISTEN/NOTIFY` or in-process wake-ups, polling as the fallback) for cache invalidation.
//! - Errors are [`tessera_iam::Error`]s with RAM's codes; database failures become
//!   `InternalError`/`ServiceUnavailable` with the cause logged, never shown.

mod feed;
mod model;
mod sql;

mod accounts;
mod credentials;
mod groups;
mod keys;
mod oidc_providers;
mod operator;
mod policies;
mod roles;
mod system;
mod users;

pub use feed::{ChangeFeed, FeedOptions, FeedWaitError, FeedWatcher};
pub use model::*;
pub use sql::{Backend, Clock, SqlStore, StoreConfig};
pub use tessera_iam::{AccountId, Error, PolicyType, QuotaName, Quotas, Result};

pub use accounts::{AccountStore, AccountUsage};
pub use credentials::CredentialStore;
pub use groups::GroupStore;
pub use keys::KeyStore;
pub use oidc_providers::OidcProviderStore;
pub use operator::OperatorStore;
pub use policies::PolicyStore;
pub use roles::{DEFAULT_MAX_SESSION_DURATION, RoleStore};
pub use system::SystemStore;
pub use users::UserStore;

/// The whole store: what the server holds.
pub trait Store:
    AccountStore
    + UserStore
    + GroupStore
    + RoleStore
    + PolicyStore
    + KeyStore
    + CredentialStore
    + SystemStore
    + OperatorStore
    + OidcProviderStore
{
}

impl<T> Store for T where
    T: AccountStore
        + UserStore
        + GroupStore
        + RoleStore
        + PolicyStore
        + KeyStore
        + CredentialStore
        + SystemStore
        + OperatorStore
        + OidcProviderStore
{
}
