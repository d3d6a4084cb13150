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
//!   the revision is returned in [`Committed`].
//! - Errors are [`tessera_iam::Error`]s with RAM's codes; database failures become
//!   `InternalError`/`ServiceUnavailable` with the cause logged, never shown.

mod model;
mod sql;

mod accounts;
mod groups;
mod users;

pub use model::*;
pub use sql::{Backend, Clock, SqlStore, StoreConfig};
pub use tessera_iam::{AccountId, Error, PolicyType, Quotas, Result};

pub use accounts::{AccountStore, AccountUsage};
pub use groups::GroupStore;
pub use users::UserStore;

/// The whole store: what the server holds.
pub trait Store: AccountStore + UserStore + GroupStore {}

impl<T: AccountStore + UserStore + GroupStore> Store for T {}
