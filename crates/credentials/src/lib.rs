//! Credentials: secret values, sealing them at rest, password hashes (argon2id), access keys (long-term and STS, whose
//! secrets are derived), security tokens (Ed25519 JWS) and Alibaba request signatures (RPC v1
//! HMAC-SHA1 and ACS3-HMAC-SHA256, also over gRPC metadata): verifying them, and making them
//! for clients. No database, no network and no clock reads: callers store the sealed bytes
//! and pass the current time in.

pub mod expiration;
mod password;
mod seal;
mod secret;
pub mod signature;
pub mod sts;
pub mod token;
pub mod totp;

pub use expiration::{format_expiration, parse_expiration};
pub use password::{PasswordError, check_strength, hash_password, verify_password};
pub use seal::{MasterKey, SealError, Sealer};
pub use secret::Secret;
pub use signature::{ReplayGuard, SignatureError, SignedRequest};
pub use sts::{AccessKeyPair, StsKeyDerivation};
pub use token::{
    PublicKey, SessionClaims, SessionSubject, SigningKey, TokenError, TokenIssuer, TokenVerifier,
};
