//! The records the store reads and writes.

use jiff::Timestamp;
use tessera_iam::{AccountId, PolicyType};

/// A monotonically increasing change-log position. Every committed write has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Revision(pub i64);

/// The result of a write and the revision it committed at (for read-your-writes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed<T> {
    pub value: T,
    pub revision: Revision,
}

/// `Marker`/`MaxItems` paging, as RAM's List* operations take it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    /// The `Marker` returned by the previous page; `None` for the first page.
    pub marker: Option<String>,
    /// Defaults to 100.
    pub max_items: Option<u32>,
}

impl Page {
    pub fn first(max_items: u32) -> Page {
        Page {
            marker: None,
            max_items: Some(max_items),
        }
    }

    pub fn after(marker: impl Into<String>, max_items: u32) -> Page {
        Page {
            marker: Some(marker.into()),
            max_items: Some(max_items),
        }
    }
}

/// One page of a list. `marker` is set iff `is_truncated`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub is_truncated: bool,
    pub marker: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountStatus {
    Active,
    Suspended,
}

impl AccountStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "Active",
            AccountStatus::Suspended => "Suspended",
        }
    }

    /// `Active` or `Suspended` (as `SetAccountStatus` takes it) → `InvalidParameter.Status`.
    pub fn parse(s: &str) -> tessera_iam::Result<AccountStatus> {
        match s {
            "Active" => Ok(AccountStatus::Active),
            "Suspended" => Ok(AccountStatus::Suspended),
            _ => Err(tessera_iam::Error::invalid(
                "InvalidParameter.Status",
                "The parameter - \"Status\" must be \"Active\" or \"Suspended\".",
            )),
        }
    }

    pub(crate) fn from_db(s: &str) -> AccountStatus {
        if s == "Suspended" {
            AccountStatus::Suspended
        } else {
            AccountStatus::Active
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    pub name: String,
    pub alias: Option<String>,
    pub status: AccountStatus,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub name: String,
    pub display_name: String,
    pub email: String,
    pub mobile_phone: String,
    pub comments: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub last_login_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewUser {
    pub name: String,
    /// Defaults to the user name.
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub mobile_phone: Option<String>,
    pub comments: Option<String>,
}

/// `UpdateUser`: only the fields that are `Some` change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserUpdate {
    pub new_name: Option<String>,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub mobile_phone: Option<String>,
    pub comments: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub id: String,
    pub name: String,
    pub comments: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A group as listed for a user, with the time the user joined it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership<T> {
    pub entity: T,
    pub joined_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub id: String,
    pub name: String,
    pub description: String,
    /// The trust policy (`AssumeRolePolicyDocument`), as submitted.
    pub trust_policy: String,
    pub max_session_duration: u32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Sessions issued before this instant are invalid (`RevokeRoleSessions`).
    pub sessions_revoked_before: Option<Timestamp>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewRole {
    pub name: String,
    pub trust_policy: String,
    pub description: Option<String>,
    /// Defaults to 3,600 seconds.
    pub max_session_duration: Option<u32>,
}

/// `UpdateRole`: only the fields that are `Some` change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleUpdate {
    pub trust_policy: Option<String>,
    pub description: Option<String>,
    pub max_session_duration: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyInfo {
    pub name: String,
    pub policy_type: PolicyType,
    pub description: String,
    /// `v<N>`.
    pub default_version: String,
    pub attachment_count: u32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyVersion {
    /// `v<N>`; numbers are never reused within a policy.
    pub version_id: String,
    pub is_default: bool,
    pub document: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewPolicy {
    pub name: String,
    pub document: String,
    pub description: Option<String>,
}

/// What `CreatePolicyVersion` does when the policy already has the maximum of versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RotateStrategy {
    /// Fail with `LimitExceeded.Policy.Version`.
    #[default]
    None,
    /// Delete the oldest non-default version first.
    DeleteOldestNonDefaultVersionWhenLimitExceeded,
}

/// Who a policy is attached to, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target<'a> {
    User(&'a str),
    Group(&'a str),
    Role(&'a str),
}

/// A policy attached to a user, group or role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub policy: PolicyInfo,
    pub attached_at: Timestamp,
}

/// `ListEntitiesForPolicy`: names and attach times.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyEntities {
    pub users: Vec<(String, Timestamp)>,
    pub groups: Vec<(String, Timestamp)>,
    pub roles: Vec<(String, Timestamp)>,
}

/// A policy's default version, as the decision engine needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedPolicy {
    pub name: String,
    pub policy_type: PolicyType,
    pub version_id: String,
    pub document: String,
}

/// Everything needed to decide for a user: itself, its groups, and the default versions of
/// every policy attached to it or to its groups (deduplicated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPrincipal {
    pub user: User,
    pub groups: Vec<String>,
    pub policies: Vec<LoadedPolicy>,
}

/// Everything needed to decide for a role session: the role (with its trust policy and
/// revocation time) and its policies' default versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolePrincipal {
    pub role: Role,
    pub policies: Vec<LoadedPolicy>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccessKeyStatus {
    Active,
    Inactive,
}

impl AccessKeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessKeyStatus::Active => "Active",
            AccessKeyStatus::Inactive => "Inactive",
        }
    }

    pub fn parse(s: &str) -> tessera_iam::Result<AccessKeyStatus> {
        match s {
            "Active" => Ok(AccessKeyStatus::Active),
            "Inactive" => Ok(AccessKeyStatus::Inactive),
            _ => Err(tessera_iam::Error::invalid(
                "InvalidParameter.Status",
                "The parameter - \"Status\" must be \"Active\" or \"Inactive\".",
            )),
        }
    }
}

/// An access key as listed (never with its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKey {
    pub id: String,
    pub status: AccessKeyStatus,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

/// A new access key: the id and the secret already sealed by the caller.
#[derive(Clone, PartialEq, Eq)]
pub struct NewAccessKey {
    pub id: String,
    pub sealed_secret: Vec<u8>,
}

impl std::fmt::Debug for NewAccessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAccessKey")
            .field("id", &self.id)
            .field("sealed_secret", &"<redacted>")
            .finish()
    }
}

/// Whose key an access key id is: the one lookup that starts without an account.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessKeyOwner {
    pub account: AccountId,
    /// A suspended account's keys must not authenticate.
    pub account_status: AccountStatus,
    /// `None` for the account's root identity.
    pub user_name: Option<String>,
    pub status: AccessKeyStatus,
    pub sealed_secret: Vec<u8>,
}

impl std::fmt::Debug for AccessKeyOwner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKeyOwner")
            .field("account", &self.account)
            .field("account_status", &self.account_status)
            .field("user_name", &self.user_name)
            .field("status", &self.status)
            .field("sealed_secret", &"<redacted>")
            .finish()
    }
}

/// A change-log entry: which entity of which account changed at `revision`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub revision: Revision,
    /// `None` for global entities (accounts' system data, signing keys, system policies).
    pub account: Option<AccountId>,
    pub kind: EntityKind,
    /// The entity's name key (lower-cased name) or id.
    pub entity: String,
}

/// What kind of entity a change concerns; decides which caches it invalidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntityKind {
    Account,
    User,
    Group,
    Role,
    Policy,
    AccessKey,
    LoginProfile,
    MfaDevice,
    SigningKey,
    Token,
    /// A platform-wide `Authorize` grant; the entity is the principal's ARN with its name
    /// lower-cased (`acs:ram::<account>:user/<name key>`), the account the principal's.
    PlatformGrant,
    /// An OIDC identity provider; the entity is its name key.
    OidcProvider,
}

impl EntityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Account => "account",
            EntityKind::User => "user",
            EntityKind::Group => "group",
            EntityKind::Role => "role",
            EntityKind::Policy => "policy",
            EntityKind::AccessKey => "access_key",
            EntityKind::LoginProfile => "login_profile",
            EntityKind::MfaDevice => "mfa_device",
            EntityKind::SigningKey => "signing_key",
            EntityKind::Token => "token",
            EntityKind::PlatformGrant => "platform_grant",
            EntityKind::OidcProvider => "oidc_provider",
        }
    }

    pub(crate) fn from_db(s: &str) -> Option<EntityKind> {
        [
            EntityKind::Account,
            EntityKind::User,
            EntityKind::Group,
            EntityKind::Role,
            EntityKind::Policy,
            EntityKind::AccessKey,
            EntityKind::LoginProfile,
            EntityKind::MfaDevice,
            EntityKind::SigningKey,
            EntityKind::Token,
            EntityKind::PlatformGrant,
            EntityKind::OidcProvider,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// An OIDC identity provider (`CreateOIDCProvider`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcProvider {
    pub name: String,
    /// The `iss` of its tokens; discovery is `<issuer_url>/.well-known/openid-configuration`.
    pub issuer_url: String,
    /// The audiences accepted (`aud`), in the order given.
    pub client_ids: Vec<String>,
    /// SHA-1 fingerprints (lower-case hex) of certificates the issuer's HTTPS chain must
    /// contain; empty: the chain is verified against the trusted roots.
    pub fingerprints: Vec<String>,
    pub description: String,
    /// How old (`iat`) a token may be, in hours.
    pub issuance_limit_hours: u32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewOidcProvider {
    pub name: String,
    pub issuer_url: String,
    pub client_ids: Vec<String>,
    pub fingerprints: Vec<String>,
    pub description: Option<String>,
    /// Defaults to 12 hours.
    pub issuance_limit_hours: Option<u32>,
}

/// `UpdateOIDCProvider`: only the fields that are `Some` change (`client_ids` replaces them
/// all).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OidcProviderUpdate {
    pub client_ids: Option<Vec<String>>,
    pub description: Option<String>,
    pub issuance_limit_hours: Option<u32>,
}

/// `CreateLoginProfile`: the password already hashed by the caller (an argon2 PHC string); the
/// store never sees or hashes a password.
#[derive(Clone, PartialEq, Eq)]
pub struct NewLoginProfile {
    pub password_hash: String,
    pub password_reset_required: bool,
    pub mfa_bind_required: bool,
}

impl std::fmt::Debug for NewLoginProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewLoginProfile")
            .field("password_hash", &"<redacted>")
            .field("password_reset_required", &self.password_reset_required)
            .field("mfa_bind_required", &self.mfa_bind_required)
            .finish()
    }
}

/// A user's console login profile as shown (never with its password hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginProfile {
    pub user_name: String,
    pub password_reset_required: bool,
    pub mfa_bind_required: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// `UpdateLoginProfile` / `ChangePassword`: only the fields that are `Some` change.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct LoginProfileUpdate {
    /// A new argon2 PHC string.
    pub password_hash: Option<String>,
    pub password_reset_required: Option<bool>,
    pub mfa_bind_required: Option<bool>,
}

impl std::fmt::Debug for LoginProfileUpdate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginProfileUpdate")
            .field(
                "password_hash",
                &self.password_hash.as_ref().map(|_| "<redacted>"),
            )
            .field("password_reset_required", &self.password_reset_required)
            .field("mfa_bind_required", &self.mfa_bind_required)
            .finish()
    }
}

/// What sign-in verifies: the password hash and, if the user has a bound MFA device, its seed.
#[derive(Clone, PartialEq, Eq)]
pub struct LoginSecret {
    pub profile: LoginProfile,
    pub password_hash: String,
    /// The user's bound virtual MFA device, if any.
    pub mfa: Option<MfaSecret>,
}

impl std::fmt::Debug for LoginSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginSecret")
            .field("profile", &self.profile)
            .field("password_hash", &"<redacted>")
            .field("mfa", &self.mfa)
            .finish()
    }
}

/// A virtual MFA device's TOTP seed, sealed by the caller.
#[derive(Clone, PartialEq, Eq)]
pub struct MfaSecret {
    pub serial_number: String,
    pub sealed_seed: Vec<u8>,
}

impl std::fmt::Debug for MfaSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaSecret")
            .field("serial_number", &self.serial_number)
            .field("sealed_seed", &"<redacted>")
            .finish()
    }
}

/// A virtual MFA device as listed (never with its seed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualMfaDevice {
    /// `acs:ram::<account>:mfa/<name>`, with the name as created.
    pub serial_number: String,
    pub name: String,
    /// The user it is bound to.
    pub user_name: Option<String>,
    /// When it was bound (`ActivateDate`).
    pub activated_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigningKeyStatus {
    /// Signs new tokens (the newest active key) and verifies.
    Active,
    /// Only verifies tokens issued before it was retired.
    Retired,
}

impl SigningKeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SigningKeyStatus::Active => "Active",
            SigningKeyStatus::Retired => "Retired",
        }
    }

    pub(crate) fn from_db(s: &str) -> SigningKeyStatus {
        if s == "Retired" {
            SigningKeyStatus::Retired
        } else {
            SigningKeyStatus::Active
        }
    }
}

/// A new token-signing key: the private key already sealed by the caller.
#[derive(Clone, PartialEq, Eq)]
pub struct NewSigningKey {
    /// The JWS `kid`.
    pub kid: String,
    /// The JWS `alg` (`EdDSA`).
    pub algorithm: String,
    pub sealed_private_key: Vec<u8>,
    /// The public key in the encoding the caller chose (it is published as JWKS).
    pub public_key: Vec<u8>,
}

impl std::fmt::Debug for NewSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSigningKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("sealed_private_key", &"<redacted>")
            .field("public_key_len", &self.public_key.len())
            .finish()
    }
}

/// A token-signing key (global, not per account).
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey {
    pub kid: String,
    pub algorithm: String,
    pub sealed_private_key: Vec<u8>,
    pub public_key: Vec<u8>,
    pub status: SigningKeyStatus,
    pub created_at: Timestamp,
    pub retired_at: Option<Timestamp>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("sealed_private_key", &"<redacted>")
            .field("public_key_len", &self.public_key.len())
            .field("status", &self.status)
            .field("created_at", &self.created_at)
            .field("retired_at", &self.retired_at)
            .finish()
    }
}

/// A platform-wide `Authorize` grant: `principal_arn` may ask `Authorize` about principals of
/// any account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformGrant {
    /// `acs:ram::<account>:user/<name>` or `…:role/<name>`, with the name as the principal
    /// currently spells it.
    pub principal_arn: String,
    /// The principal's account.
    pub account: AccountId,
    pub created_at: Timestamp,
}

/// The outcome an audit event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditDecision {
    /// The request was allowed (and, for a mutation, succeeded).
    Allow,
    /// The request was denied by policy.
    Deny,
    /// The request was allowed but failed (`error_code` says why).
    Error,
}

impl AuditDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditDecision::Allow => "Allow",
            AuditDecision::Deny => "Deny",
            AuditDecision::Error => "Error",
        }
    }

    pub(crate) fn from_db(s: &str) -> Option<AuditDecision> {
        [
            AuditDecision::Allow,
            AuditDecision::Deny,
            AuditDecision::Error,
        ]
        .into_iter()
        .find(|d| d.as_str() == s)
    }
}

/// One audit (ActionTrail-like) record. Callers must not put secrets in any field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub account: AccountId,
    pub at: Timestamp,
    pub request_id: String,
    /// The caller's ARN (for an `Authorize` decision: the ARN of the principal decided about).
    pub principal: String,
    /// The API operation the event records: `CreateUser`, `AssumeRole`, `SignIn`, `Authorize`.
    pub event_name: String,
    /// The action performed or asked about: `ram:CreateUser`, `sts:AssumeRole`, and for an
    /// `Authorize` decision the item's action (`oss:GetObject`).
    pub action: String,
    pub resource: String,
    pub decision: AuditDecision,
    /// The RAM error code, or empty.
    pub error_code: String,
    /// The caller's address, or empty.
    pub source_ip: String,
    /// Free-form detail (JSON by convention), or empty.
    pub detail: String,
}

/// The order [`AuditQuery`] lists events in (by id, which is insertion order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AuditOrder {
    #[default]
    OldestFirst,
    NewestFirst,
}

/// A page of an account's audit events. Every filter given must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    /// Continue after this event id, in the direction of `order` (the last id of the previous
    /// page); `None` starts at the oldest (or newest) event.
    pub after_id: Option<i64>,
    /// 1–1000; defaults to 100.
    pub limit: u32,
    /// Only actions starting with this prefix, compared case-insensitively (`ram:` or
    /// `ram:CreateUser`).
    pub action_prefix: Option<String>,
    pub decision: Option<AuditDecision>,
    /// Only events at or after this time.
    pub start: Option<Timestamp>,
    /// Only events at or before this time.
    pub end: Option<Timestamp>,
    /// Only events of this name (exact: `CreateUser`).
    pub event_name: Option<String>,
    /// Only events of this principal ARN (exact).
    pub principal: Option<String>,
    pub order: AuditOrder,
}

impl Default for AuditQuery {
    fn default() -> Self {
        AuditQuery {
            after_id: None,
            limit: 100,
            action_prefix: None,
            decision: None,
            start: None,
            end: None,
            event_name: None,
            principal: None,
            order: AuditOrder::OldestFirst,
        }
    }
}
