//! Tessera's domain: what an account holds and the rules it obeys, independent of storage and
//! transport. Pure: no I/O, no clock reads.
//!
//! - [`error`]: the one table of domain errors → RAM code, HTTP status, gRPC status.
//! - [`names`]: RAM's name and field rules.
//! - [`quotas`]: per-account quotas.
//! - [`ids`]: account ids, policy types, ARNs.

pub mod error;
pub mod ids;
pub mod names;
pub mod quotas;

pub use error::{Entity, Error, ErrorKind, GrpcCode, Result};
pub use ids::{AccountId, PolicyType, arn};
pub use quotas::{QuotaName, Quotas};
