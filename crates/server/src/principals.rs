//! The principal cache (DESIGN.md §5): compiled identity permissions of users and roles, keyed
//! by account, kind and lower-cased name, loaded from the store on a miss and evicted from the
//! change log.
//!
//! # Loading
//!
//! A miss runs [`UserStore::load_user_principal`] or [`RoleStore::load_role_principal`] (one
//! consistent snapshot and its revision), parses every policy's default version with
//! [`PolicyKind::Identity`] and compiles them into one [`PolicySet`]. Concurrent misses of one
//! key share one load (moka's `try_get_with`); errors are not cached. A stored document that no
//! longer parses is a server bug (documents are validated when written): it is logged and the
//! load fails closed with `InternalError`.
//!
//! # Invalidation
//!
//! [`PrincipalCache::invalidate`] maps each [`Change`] to the entries it can affect:
//!
//! | change | evicts |
//! |---|---|
//! | user `<name>` (update, rename: old and new name, delete, membership, attachment) | that user |
//! | role `<name>` (update, delete, attachment, revocation) | that role |
//! | group, policy (membership lists, attachments, versions, default version, deletion) | every entry of the account |
//! | account (status, alias, quotas) | every entry of the account |
//! | a global change of a principal kind (no account: system policies) | everything |
//! | access keys, login profiles, MFA devices, tokens, signing keys | nothing (not part of a compiled set) |
//!
//! Group and policy changes are handled coarsely on purpose: finding exactly the users of a
//! group or the holders of a policy would need the store (or a reverse index kept in sync with
//! it), while an account-wide eviction is always correct and such writes are rare next to
//! decisions.
//!
//! **The load/invalidate race.** A load that read its snapshot at revision R before a change
//! C > R committed, and inserts after C's invalidation ran, would otherwise stay cached stale.
//! So every invalidation is first recorded in a bounded log of recent invalidations, and the
//! first time an entry is read after its insertion it is checked against that log: if a
//! recorded invalidation after R covers it (or the log no longer reaches back to R), the entry
//! is evicted and loaded again. Invalidations that start after that check find the entry in the
//! cache and evict it there. Checked entries are marked, so the check costs one atomic load per
//! read afterwards.
//!
//! [`run_invalidation`] applies every batch of a [`ChangeFeed`]; because the feed counts a batch
//! as processed only when the consumer asks for the next one, a `min_revision` wait on the
//! feed's watcher returns only after the batch's evictions (read-your-writes).

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tessera_iam::{AccountId, Caller, Error, PolicyType};
use tessera_policy::{Limits, PolicyKind, PolicyLabel, PolicySet, parse};
use tessera_store::{
    Change, ChangeFeed, EntityKind, LoadedPolicy, Revision, RoleStore, SqlStore, UserStore,
};

use crate::caller::{Generation, Memo};

/// The default capacity of the cache, in principals.
pub const DEFAULT_CAPACITY: u64 = 100_000;

/// Stored documents were validated against the account's limits when written; compiling them
/// again must never fail on size, whatever limits were configured then.
const STORED_LIMITS: Limits = Limits {
    identity_chars: 1 << 20,
    session_chars: 1 << 20,
    trust_chars: 1 << 20,
};

/// How many recent invalidations are remembered for the load/invalidate race check.
const RECENT_INVALIDATIONS: usize = 4096;

/// How many times a read reloads an entry that turned out stale before it gives up on the
/// cache and uses a fresh, uncached load.
const STALE_RETRIES: usize = 3;

/// A user or a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrincipalKind {
    User,
    Role,
}

impl PrincipalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::User => "user",
            PrincipalKind::Role => "role",
        }
    }
}

/// A cache key: account, kind and the principal's name key (ASCII lower case, as the store
/// and the change log name entities).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PrincipalKey {
    pub account: AccountId,
    pub kind: PrincipalKind,
    pub name_key: String,
}

impl PrincipalKey {
    pub fn new(account: AccountId, kind: PrincipalKind, name: &str) -> PrincipalKey {
        PrincipalKey {
            account,
            kind,
            name_key: name.to_ascii_lowercase(),
        }
    }

    pub fn user(account: AccountId, name: &str) -> PrincipalKey {
        PrincipalKey::new(account, PrincipalKind::User, name)
    }

    pub fn role(account: AccountId, name: &str) -> PrincipalKey {
        PrincipalKey::new(account, PrincipalKind::Role, name)
    }

    /// The key of the principal whose policies decide for `caller`: a user, or a role
    /// session's role; `None` for callers decided without stored policies (root, services,
    /// federated identities).
    pub fn of_caller(caller: &Caller) -> Option<PrincipalKey> {
        match caller {
            Caller::User { account, name, .. } => Some(PrincipalKey::user(account.clone(), name)),
            Caller::RoleSession {
                account, role_name, ..
            } => Some(PrincipalKey::role(account.clone(), role_name)),
            _ => None,
        }
    }
}

/// A user's or a role's identity permissions, compiled, with what a decision needs to know
/// about the principal.
pub struct CompiledPrincipal {
    pub account: AccountId,
    pub kind: PrincipalKind,
    /// The user id or role id.
    pub id: String,
    /// The name as stored (its case is what ARNs show).
    pub name: String,
    /// The identity policies (for a user: its own and its groups'), labelled with name and
    /// version; their types are in [`CompiledPrincipal::policy_type`].
    pub identity: PolicySet,
    /// The type of each policy of `identity`, in label order.
    policy_types: Vec<PolicyType>,
    /// A role's trust side, which `AssumeRole` decides with (`None` for a user).
    pub trust: Option<RoleTrust>,
    /// The revision of the snapshot the principal was loaded from.
    pub revision: Revision,
    /// Checked against the recent invalidations since insertion (see the module docs).
    verified: AtomicBool,
}

/// What `AssumeRole` needs of a role besides its id and name, loaded and compiled with its
/// identity policies (so a cached role is assumed without reading the store).
#[derive(Debug)]
pub struct RoleTrust {
    /// The compiled trust policy; `None` when the stored document does not parse (assuming
    /// the role then fails closed, while its sessions keep their permissions).
    pub policy: Option<PolicySet>,
    /// The longest session `AssumeRole` may grant, in seconds.
    pub max_session_duration: u32,
}

impl fmt::Debug for CompiledPrincipal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompiledPrincipal")
            .field("account", &self.account)
            .field("kind", &self.kind)
            .field("id", &self.id)
            .field("name", &self.name)
            .field("policies", &self.identity.labels())
            .field("revision", &self.revision)
            .finish_non_exhaustive()
    }
}

impl CompiledPrincipal {
    /// The type (System/Custom) of the policy `label` of [`CompiledPrincipal::identity`]
    /// (compared by identity: pass a label the set returned).
    pub fn policy_type(&self, label: &PolicyLabel) -> Option<PolicyType> {
        let index = self
            .identity
            .labels()
            .iter()
            .position(|l| std::ptr::eq(l, label))?;
        self.policy_types.get(index).copied()
    }

    /// The user as a [`Caller`] (`None` for a role: a role is only ever a caller through one
    /// of its sessions).
    pub fn user_caller(&self) -> Option<Caller> {
        (self.kind == PrincipalKind::User).then(|| Caller::User {
            account: self.account.clone(),
            user_id: self.id.clone(),
            name: self.name.clone(),
        })
    }

    /// `acs:ram::<account>:user/<name>` or `acs:ram::<account>:role/<name>`.
    pub fn arn(&self) -> String {
        format!(
            "acs:ram::{}:{}/{}",
            self.account,
            self.kind.as_str(),
            self.name
        )
    }
}

/// What one recorded invalidation covered.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Scope {
    Key(PrincipalKey),
    Account(AccountId),
    All,
}

impl Scope {
    fn covers(&self, key: &PrincipalKey) -> bool {
        match self {
            Scope::Key(k) => k == key,
            Scope::Account(a) => *a == key.account,
            Scope::All => true,
        }
    }
}

/// The bounded log of recent invalidations.
#[derive(Debug, Default)]
struct Recent {
    entries: VecDeque<(Revision, Scope)>,
    /// The highest revision of an entry dropped from the log.
    dropped_through: Revision,
}

impl Recent {
    fn record(&mut self, revision: Revision, scope: Scope) {
        if self.entries.len() >= RECENT_INVALIDATIONS
            && let Some((dropped, _)) = self.entries.pop_front()
        {
            self.dropped_through = self.dropped_through.max(dropped);
        }
        self.entries.push_back((revision, scope));
    }

    /// Was an entry of `key` loaded at `revision` possibly invalidated before it was cached?
    fn stale(&self, key: &PrincipalKey, revision: Revision) -> bool {
        self.dropped_through > revision
            || self
                .entries
                .iter()
                .any(|(r, scope)| *r > revision && scope.covers(key))
    }
}

/// The cache of compiled principals. Cheap to clone (shared).
#[derive(Clone)]
pub struct PrincipalCache {
    store: SqlStore,
    /// `false` for a capacity of 0: every lookup loads (moka would still hand out an entry
    /// until its next maintenance).
    enabled: bool,
    cache: moka::future::Cache<PrincipalKey, Arc<CompiledPrincipal>>,
    recent: Arc<Mutex<Recent>>,
    /// Bumped after every invalidation (see [`Generation`]).
    generation: Arc<Generation>,
}

impl fmt::Debug for PrincipalCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrincipalCache")
            .field("entries", &self.cache.entry_count())
            .finish_non_exhaustive()
    }
}

impl PrincipalCache {
    /// A cache of at most `capacity` principals over `store` (0: nothing is kept, every
    /// lookup loads and compiles).
    pub fn new(store: SqlStore, capacity: u64) -> PrincipalCache {
        let cache = moka::future::Cache::builder()
            .name("principals")
            .max_capacity(capacity)
            .support_invalidation_closures()
            .build();
        PrincipalCache {
            store,
            enabled: capacity > 0,
            cache,
            recent: Arc::new(Mutex::new(Recent::default())),
            generation: Arc::default(),
        }
    }

    pub fn store(&self) -> &SqlStore {
        &self.store
    }

    /// The number of cached principals (approximate: moka counts lazily).
    pub fn entry_count(&self) -> u64 {
        self.cache.entry_count()
    }

    /// The number of cached principals once pending insertions and evictions are applied
    /// (for `/metrics`).
    pub async fn settled_entry_count(&self) -> u64 {
        self.cache.run_pending_tasks().await;
        self.cache.entry_count()
    }

    /// The compiled principal of `key`, from the cache or loaded. Errors are the store's
    /// (`EntityNotExist.User`/`.Role`, `ServiceUnavailable`, …) or `InternalError`.
    pub async fn get(&self, key: &PrincipalKey) -> Result<Arc<CompiledPrincipal>, Error> {
        if !self.enabled {
            crate::telemetry::metrics::cache_lookup("principals", false);
            return load(&self.store, key).await;
        }
        for _ in 0..STALE_RETRIES {
            let mut loaded = false;
            let entry = self
                .cache
                .try_get_with_by_ref(key, async {
                    loaded = true;
                    load(&self.store, key).await
                })
                .await
                .map_err(|e| (*e).clone());
            crate::telemetry::metrics::cache_lookup("principals", !loaded);
            let entry = entry?;
            if entry.verified.load(Ordering::Acquire) {
                return Ok(entry);
            }
            if !self.is_stale(key, entry.revision) {
                entry.verified.store(true, Ordering::Release);
                return Ok(entry);
            }
            self.cache.invalidate(key).await;
        }
        // Invalidations keep racing the loads: decide on a fresh snapshot, uncached.
        load(&self.store, key).await
    }

    /// [`PrincipalCache::get`], remembered in `memo` (a session's, for the principal it names;
    /// `None` without a session) until the cache next invalidates anything. Not with the cache
    /// disabled: every lookup loads then.
    pub async fn get_remembered(
        &self,
        key: &PrincipalKey,
        memo: Option<&Memo<Arc<CompiledPrincipal>>>,
    ) -> Result<Arc<CompiledPrincipal>, Error> {
        let Some(memo) = memo.filter(|_| self.enabled) else {
            return self.get(key).await;
        };
        let generation = self.generation.current();
        if let Some(compiled) = memo.get(generation, crate::auth::SESSION_CACHE_TTL) {
            crate::telemetry::metrics::cache_lookup("principals", true);
            return Ok(compiled);
        }
        let compiled = self.get(key).await?;
        memo.set(generation, Arc::clone(&compiled));
        Ok(compiled)
    }

    /// Loads `key` afresh, bypassing and replacing any cached entry (for a `min_revision`
    /// newer than the cached entry when no change feed is running).
    pub async fn reload(&self, key: &PrincipalKey) -> Result<Arc<CompiledPrincipal>, Error> {
        self.cache.invalidate(key).await;
        self.generation.bump();
        self.get(key).await
    }

    fn is_stale(&self, key: &PrincipalKey, revision: Revision) -> bool {
        match self.recent.lock() {
            Ok(recent) => recent.stale(key, revision),
            // A panic while holding the lock cannot leave the log unsafe to read, but be
            // conservative: treat the entry as stale.
            Err(_) => true,
        }
    }

    /// Evicts every entry `changes` can affect (see the module documentation), then makes
    /// every memo stale.
    pub async fn invalidate(&self, changes: &[Change]) {
        self.evict(changes).await;
        self.generation.bump();
    }

    async fn evict(&self, changes: &[Change]) {
        let mut scopes: Vec<(Revision, Scope)> = Vec::new();
        for change in changes {
            if let Some(scope) = scope_of(change) {
                scopes.push((change.revision, scope));
            }
        }
        if scopes.is_empty() {
            return;
        }
        // Record first, then evict: a load racing this call either sees the record when it
        // checks its entry, or inserted before the eviction below.
        match self.recent.lock() {
            Ok(mut recent) => {
                for (revision, scope) in &scopes {
                    recent.record(*revision, scope.clone());
                }
            }
            Err(poisoned) => {
                let mut recent = poisoned.into_inner();
                for (revision, scope) in &scopes {
                    recent.record(*revision, scope.clone());
                }
            }
        }
        if scopes.iter().any(|(_, s)| *s == Scope::All) {
            self.cache.invalidate_all();
            return;
        }
        let mut accounts: Vec<AccountId> = Vec::new();
        for (_, scope) in scopes {
            match scope {
                Scope::Key(key) => {
                    if !accounts.contains(&key.account) {
                        self.cache.invalidate(&key).await;
                    }
                }
                Scope::Account(account) => {
                    if !accounts.contains(&account) {
                        accounts.push(account);
                    }
                }
                Scope::All => {}
            }
        }
        if accounts.is_empty() {
            return;
        }
        let evict = accounts.clone();
        if let Err(error) = self
            .cache
            .invalidate_entries_if(move |key, _| evict.contains(&key.account))
        {
            tracing::warn!(%error, "principal cache: cannot evict by account; evicting everything");
            self.cache.invalidate_all();
        }
    }

    /// Evicts everything (tests, operator commands).
    pub fn invalidate_all(&self) {
        self.cache.invalidate_all();
        self.generation.bump();
    }
}

/// What a change evicts; `None` for entities no compiled principal depends on.
fn scope_of(change: &Change) -> Option<Scope> {
    let principal_data = matches!(
        change.kind,
        EntityKind::User
            | EntityKind::Role
            | EntityKind::Group
            | EntityKind::Policy
            | EntityKind::Account
    );
    if !principal_data {
        return None;
    }
    let Some(account) = &change.account else {
        // A global change to principal data (a system policy): everything.
        return Some(Scope::All);
    };
    Some(match change.kind {
        EntityKind::User => Scope::Key(PrincipalKey::user(account.clone(), &change.entity)),
        EntityKind::Role => Scope::Key(PrincipalKey::role(account.clone(), &change.entity)),
        _ => Scope::Account(account.clone()),
    })
}

/// Applies every batch of `feed` to `cache` until the feed stops (the store was closed).
pub async fn run_invalidation(mut feed: ChangeFeed, cache: PrincipalCache) {
    while let Some(changes) = feed.next().await {
        cache.invalidate(&changes).await;
    }
    tracing::debug!("change feed stopped; principal cache invalidation ends");
}

async fn load(store: &SqlStore, key: &PrincipalKey) -> Result<Arc<CompiledPrincipal>, Error> {
    let timer = crate::telemetry::metrics::store_timer(match key.kind {
        PrincipalKind::User => "load_user_principal",
        PrincipalKind::Role => "load_role_principal",
    });
    let (id, name, policies, trust, revision) = match key.kind {
        PrincipalKind::User => {
            let (user, revision) = store
                .load_user_principal(&key.account, &key.name_key)
                .await?;
            (user.user.id, user.user.name, user.policies, None, revision)
        }
        PrincipalKind::Role => {
            let (role, revision) = store
                .load_role_principal(&key.account, &key.name_key)
                .await?;
            let trust = RoleTrust {
                policy: compile_trust(key, &role.role.trust_policy),
                max_session_duration: role.role.max_session_duration,
            };
            (
                role.role.id,
                role.role.name,
                role.policies,
                Some(trust),
                revision,
            )
        }
    };
    drop(timer);
    let (identity, policy_types) = compile(key, &policies)?;
    Ok(Arc::new(CompiledPrincipal {
        account: key.account.clone(),
        kind: key.kind,
        id,
        name,
        identity,
        policy_types,
        trust,
        revision,
        verified: AtomicBool::new(false),
    }))
}

/// Compiles a role's stored trust policy; `None` (logged) when it does not parse.
fn compile_trust(key: &PrincipalKey, document: &str) -> Option<PolicySet> {
    match parse(document, PolicyKind::Trust, &STORED_LIMITS) {
        Ok(parsed) => Some(PolicySet::new([(
            PolicyLabel::new("trust"),
            &parsed.policy,
        )])),
        Err(errors) => {
            tracing::error!(account = %key.account.as_str(), role = %key.name_key, %errors,
                "a stored trust policy does not parse; assuming the role fails closed");
            None
        }
    }
}

/// Compiles stored policies; a document that does not parse fails the whole principal closed.
fn compile(
    key: &PrincipalKey,
    policies: &[LoadedPolicy],
) -> Result<(PolicySet, Vec<PolicyType>), Error> {
    let mut parsed = Vec::with_capacity(policies.len());
    for policy in policies {
        match parse(&policy.document, PolicyKind::Identity, &STORED_LIMITS) {
            Ok(p) => parsed.push((
                PolicyLabel::new(&policy.name).with_version(&policy.version_id),
                p.policy,
            )),
            Err(errors) => {
                tracing::error!(
                    account = %key.account,
                    principal = %key.name_key,
                    kind = key.kind.as_str(),
                    policy = %policy.name,
                    policy_type = policy.policy_type.as_str(),
                    version = %policy.version_id,
                    %errors,
                    "a stored policy document does not parse; failing closed"
                );
                return Err(Error::internal());
            }
        }
    }
    let types = policies.iter().map(|p| p.policy_type).collect();
    let set = PolicySet::new(parsed.iter().map(|(label, policy)| (label.clone(), policy)));
    Ok((set, types))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acct(a: &str) -> AccountId {
        AccountId::parse(a).unwrap()
    }

    fn change(account: Option<&str>, kind: EntityKind, entity: &str) -> Change {
        Change {
            revision: Revision(7),
            account: account.map(acct),
            kind,
            entity: entity.into(),
        }
    }

    const A: &str = "1111111111111111";

    #[test]
    fn scopes() {
        let a = acct(A);
        assert_eq!(
            scope_of(&change(Some(A), EntityKind::User, "bob")),
            Some(Scope::Key(PrincipalKey::user(a.clone(), "bob")))
        );
        assert_eq!(
            scope_of(&change(Some(A), EntityKind::Role, "ops")),
            Some(Scope::Key(PrincipalKey::role(a.clone(), "OPS")))
        );
        for kind in [EntityKind::Group, EntityKind::Policy, EntityKind::Account] {
            assert_eq!(
                scope_of(&change(Some(A), kind, "x")),
                Some(Scope::Account(a.clone()))
            );
        }
        assert_eq!(
            scope_of(&change(None, EntityKind::Policy, "readonlyaccess")),
            Some(Scope::All)
        );
        for kind in [
            EntityKind::AccessKey,
            EntityKind::LoginProfile,
            EntityKind::MfaDevice,
            EntityKind::Token,
        ] {
            assert_eq!(scope_of(&change(Some(A), kind, "x")), None);
        }
        assert_eq!(scope_of(&change(None, EntityKind::SigningKey, "k")), None);
    }

    #[test]
    fn recent_invalidations() {
        let bob = PrincipalKey::user(acct(A), "bob");
        let mut recent = Recent::default();
        recent.record(Revision(10), Scope::Key(PrincipalKey::user(acct(A), "Bob")));
        assert!(recent.stale(&bob, Revision(9)));
        assert!(!recent.stale(&bob, Revision(10)));
        assert!(!recent.stale(&PrincipalKey::role(acct(A), "bob"), Revision(1)));
        for i in 0..RECENT_INVALIDATIONS {
            recent.record(
                Revision(20 + i64::try_from(i).unwrap()),
                Scope::Account(acct("2222222222222222")),
            );
        }
        assert_eq!(recent.dropped_through, Revision(10));
        assert!(recent.stale(&bob, Revision(9)), "beyond the log: stale");
        assert!(!recent.stale(&bob, Revision(10)));
    }
}
