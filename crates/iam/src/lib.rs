//! Tessera's domain: what an account holds and the rules it obeys, independent of storage and
//! transport. Pure: no I/O, no clock reads (time is always a parameter).
//!
//! - [`error`]: the one table of domain errors → RAM code, HTTP status, gRPC status.
//! - [`names`]: RAM's name and field rules.
//! - [`quotas`]: per-account quotas.
//! - [`ids`]: account ids, policy types, ARNs.
//! - [`principal`]: the authenticated [`Caller`], its ARNs and its request context keys.
//! - [`mod@authorize`]: the decision for an ordinary request (root, policies, own-account rule).
//! - [`mod@assume_role`]: the `AssumeRole` decision (both sides, durations, parameters).
//! - [`actions`]: the admin action table (operation → action → resource ARNs).
//! - [`oidc`]: OIDC identity providers' field rules and `AssumeRoleWithOIDC`'s claim checks.

pub mod actions;
pub mod assume_role;
pub mod authorize;
pub mod error;
pub mod ids;
pub mod names;
pub mod oidc;
pub mod principal;
pub mod quotas;

pub use actions::{
    Access, Api, OPERATIONS, Operation, ResourceKind, Rule, Target, authorize_operation, operation,
};
pub use assume_role::{
    AssumeRoleError, AssumeRoleGrant, AssumeRoleParams, RoleArn, RoleFacts, assume_role,
    role_not_found,
};
pub use authorize::{Authorization, Reason, ResourceArn, authorize, authorize_explained};
pub use error::{Entity, Error, ErrorKind, GrpcCode, Result};
pub use ids::{AccountId, PolicyType, arn};
pub use principal::{Caller, RequestFacts, format_time};
pub use quotas::{QuotaName, Quotas};
