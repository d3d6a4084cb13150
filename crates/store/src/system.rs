//! Platform-level data: token-signing keys, token revocations, the change log and the audit log.

use std::fmt::Write as _;

use async_trait::async_trait;
use jiff::Timestamp;
use sqlx::any::AnyRow;
use tessera_iam::{AccountId, Entity, Error, Result};

use crate::model::{
    AuditDecision, AuditEvent, AuditOrder, AuditQuery, Change, Committed, EntityKind,
    NewSigningKey, Revision, SigningKey, SigningKeyStatus,
};
use crate::sql::{
    SqlStore, WriteTx, db_error, exists_or_db_error, get, get_opt_time, get_time, micros,
};

/// Signing keys, token revocations, the change log, the audit log.
#[async_trait]
pub trait SystemStore: Send + Sync {
    /// Stores a new active signing key → `EntityAlreadyExists.SigningKey` for a known `kid`.
    /// Change: [`EntityKind::SigningKey`] `kid`, no account.
    async fn insert_signing_key(&self, key: &NewSigningKey) -> Result<Committed<SigningKey>>;
    /// A rotation in one transaction: stores `key` as the new active key and retires every
    /// previously active key at `retire_at`, so there is never a moment without an active key
    /// nor one with two. → `EntityAlreadyExists.SigningKey` for a known `kid`. Returns the new
    /// key and the kids retired. Changes: [`EntityKind::SigningKey`] of the new key and of each
    /// retired one, no account.
    async fn rotate_signing_key(
        &self,
        key: &NewSigningKey,
        retire_at: Timestamp,
    ) -> Result<Committed<(SigningKey, Vec<String>)>>;
    /// Every signing key, active and retired, oldest first.
    async fn list_signing_keys(&self) -> Result<Vec<SigningKey>>;
    /// Marks a key retired at `at` (it keeps verifying; the caller stops signing with it).
    /// Retiring a retired key keeps its first retirement time. `EntityNotExist.SigningKey`.
    async fn retire_signing_key(&self, kid: &str, at: Timestamp) -> Result<Committed<SigningKey>>;

    /// Revokes one token (by its token id) until `expires_at`, after which it is invalid
    /// anyway. Revoking twice keeps the later expiry. Change: [`EntityKind::Token`] `token_id`.
    async fn revoke_token(
        &self,
        account: &AccountId,
        token_id: &str,
        expires_at: Timestamp,
    ) -> Result<Committed<()>>;
    async fn is_token_revoked(&self, account: &AccountId, token_id: &str) -> Result<bool>;
    /// Forgets revocations of tokens that expired before `before` (no revision: no cache can
    /// hold an expired token). Returns how many were removed.
    async fn purge_expired_revocations(&self, before: Timestamp) -> Result<u64>;

    /// Change-log entries after revision `after`, in revision order. Returns at most `limit`
    /// entries, except that a revision is never split: the entries of the last revision
    /// returned are all included, so resuming after the last entry's revision misses nothing.
    /// Entries of kinds this version does not know are skipped (with a warning).
    async fn changes_since(&self, after: Revision, limit: u32) -> Result<Vec<Change>>;

    /// Appends audit events (one transaction; no revision, no change log).
    async fn append_audit_events(&self, events: &[AuditEvent]) -> Result<()>;
    /// One page of the account's audit events with their ids, in `query.order` of id (which is
    /// insertion order); the next page continues with `after_id` = the last id returned.
    async fn list_audit_events(
        &self,
        account: &AccountId,
        query: &AuditQuery,
    ) -> Result<Vec<(i64, AuditEvent)>>;
    /// Deletes up to `limit` audit events (of every account: a platform-level retention task)
    /// recorded before `before`, oldest first. Returns how many were deleted; fewer than
    /// `limit` means none older is left.
    async fn purge_audit_events(&self, before: Timestamp, limit: u32) -> Result<u64>;
}

const SIGNING_KEY_COLUMNS: &str =
    "kid, algorithm, sealed_private_key, public_key, status, created_at, retired_at";

fn signing_key_from_row(row: &AnyRow) -> Result<SigningKey> {
    Ok(SigningKey {
        kid: get(row, "kid")?,
        algorithm: get(row, "algorithm")?,
        sealed_private_key: get(row, "sealed_private_key")?,
        public_key: get(row, "public_key")?,
        status: SigningKeyStatus::from_db(&get::<String>(row, "status")?),
        created_at: get_time(row, "created_at")?,
        retired_at: get_opt_time(row, "retired_at")?,
    })
}

const AUDIT_COLUMNS: &str = "id, account_id, at, request_id, principal, event_name, action, \
     resource, decision, error_code, source_ip, detail";

fn audit_from_row(row: &AnyRow) -> Result<(i64, AuditEvent)> {
    let account = AccountId::parse(&get::<String>(row, "account_id")?).map_err(|_| {
        tracing::error!(target: "tessera_store", "audit event of a malformed account id");
        Error::internal()
    })?;
    let decision = AuditDecision::from_db(&get::<String>(row, "decision")?).ok_or_else(|| {
        tracing::error!(target: "tessera_store", "audit event with an unknown decision");
        Error::internal()
    })?;
    Ok((
        get(row, "id")?,
        AuditEvent {
            account,
            at: get_time(row, "at")?,
            request_id: get(row, "request_id")?,
            principal: get(row, "principal")?,
            event_name: get(row, "event_name")?,
            action: get(row, "action")?,
            resource: get(row, "resource")?,
            decision,
            error_code: get(row, "error_code")?,
            source_ip: get(row, "source_ip")?,
            detail: get(row, "detail")?,
        },
    ))
}

/// An identifier we store and look up (`kid`, token id): 1–128 printable ASCII characters.
fn validate_id(field: &str, id: &str) -> Result<()> {
    if id.is_empty() || id.len() > 128 {
        return Err(Error::length(field, 1, 128));
    }
    if !id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::invalid_chars(field));
    }
    Ok(())
}

fn validate_signing_key(key: &NewSigningKey) -> Result<()> {
    validate_id("Kid", &key.kid)?;
    validate_id("Algorithm", &key.algorithm)?;
    if key.sealed_private_key.is_empty() || key.public_key.is_empty() {
        return Err(Error::missing("SigningKey"));
    }
    Ok(())
}

/// Inserts `key` as an active signing key inside `w` and appends its change.
async fn insert_signing_key_in(w: &mut WriteTx, key: &NewSigningKey) -> Result<SigningKey> {
    let sql = sqlx::AssertSqlSafe(format!(
        "INSERT INTO signing_keys ({SIGNING_KEY_COLUMNS}) \
         VALUES ($1, $2, $3, $4, 'Active', $5, NULL) RETURNING {SIGNING_KEY_COLUMNS}"
    ));
    let row = sqlx::query(sql)
        .bind(key.kid.clone())
        .bind(key.algorithm.clone())
        .bind(key.sealed_private_key.clone())
        .bind(key.public_key.clone())
        .bind(w.now)
        .fetch_one(&mut *w.tx)
        .await
        .map_err(exists_or_db_error(Entity::SigningKey, "insert signing key"))?;
    let value = signing_key_from_row(&row)?;
    w.changed(None, EntityKind::SigningKey, &value.kid).await?;
    Ok(value)
}

/// Escapes `\`, `%` and `_` for `LIKE … ESCAPE '\'`.
fn like_prefix(prefix: &str) -> String {
    let mut pattern = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '\\' | '%' | '_') {
            pattern.push('\\');
        }
        pattern.push(c.to_ascii_lowercase());
    }
    pattern.push('%');
    pattern
}

/// Columns (and so parameters) per audit event row.
const AUDIT_PARAMS: usize = 11;
/// Rows per `INSERT` of audit events.
const AUDIT_BATCH: usize = 80;

#[async_trait]
impl SystemStore for SqlStore {
    async fn insert_signing_key(&self, key: &NewSigningKey) -> Result<Committed<SigningKey>> {
        validate_signing_key(key)?;
        let mut w = self.write().await?;
        let value = insert_signing_key_in(&mut w, key).await?;
        w.commit_with(value).await
    }

    async fn rotate_signing_key(
        &self,
        key: &NewSigningKey,
        retire_at: Timestamp,
    ) -> Result<Committed<(SigningKey, Vec<String>)>> {
        validate_signing_key(key)?;
        let mut w = self.write().await?;
        let rows = sqlx::query(
            "UPDATE signing_keys SET status = 'Retired', retired_at = $1 \
             WHERE status = 'Active' RETURNING kid",
        )
        .bind(micros(retire_at))
        .fetch_all(&mut *w.tx)
        .await
        .map_err(|e| db_error("retire signing keys", &e))?;
        let mut retired = rows
            .iter()
            .map(|row| get::<String>(row, "kid"))
            .collect::<Result<Vec<_>>>()?;
        retired.sort();
        for kid in &retired {
            w.changed(None, EntityKind::SigningKey, kid).await?;
        }
        let value = insert_signing_key_in(&mut w, key).await?;
        w.commit_with((value, retired)).await
    }

    async fn list_signing_keys(&self) -> Result<Vec<SigningKey>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {SIGNING_KEY_COLUMNS} FROM signing_keys ORDER BY created_at, kid"
        ));
        let rows = sqlx::query(sql)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error("list signing keys", &e))?;
        rows.iter().map(signing_key_from_row).collect()
    }

    async fn retire_signing_key(&self, kid: &str, at: Timestamp) -> Result<Committed<SigningKey>> {
        let mut w = self.write().await?;
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE signing_keys SET status = 'Retired', retired_at = COALESCE(retired_at, $2) \
             WHERE kid = $1 RETURNING {SIGNING_KEY_COLUMNS}"
        ));
        let row = sqlx::query(sql)
            .bind(kid.to_owned())
            .bind(micros(at))
            .fetch_optional(&mut *w.tx)
            .await
            .map_err(|e| db_error("retire signing key", &e))?
            .ok_or_else(|| Error::not_exist(Entity::SigningKey))?;
        let value = signing_key_from_row(&row)?;
        w.changed(None, EntityKind::SigningKey, kid).await?;
        w.commit_with(value).await
    }

    async fn revoke_token(
        &self,
        account: &AccountId,
        token_id: &str,
        expires_at: Timestamp,
    ) -> Result<Committed<()>> {
        validate_id("TokenId", token_id)?;
        let mut w = self.write().await?;
        self.require_account(&mut w.tx, account).await?;
        sqlx::query(
            "INSERT INTO revoked_tokens (account_id, token_id, expires_at, revoked_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, token_id) DO UPDATE SET \
             expires_at = CASE WHEN excluded.expires_at > revoked_tokens.expires_at \
                THEN excluded.expires_at ELSE revoked_tokens.expires_at END",
        )
        .bind(account.as_str().to_owned())
        .bind(token_id.to_owned())
        .bind(micros(expires_at))
        .bind(w.now)
        .execute(&mut *w.tx)
        .await
        .map_err(|e| db_error("revoke token", &e))?;
        w.changed(Some(account), EntityKind::Token, token_id)
            .await?;
        w.commit_with(()).await
    }

    async fn is_token_revoked(&self, account: &AccountId, token_id: &str) -> Result<bool> {
        let row = sqlx::query(
            "SELECT 1 AS one FROM revoked_tokens WHERE account_id = $1 AND token_id = $2",
        )
        .bind(account.as_str().to_owned())
        .bind(token_id.to_owned())
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| db_error("token revoked", &e))?;
        Ok(row.is_some())
    }

    async fn purge_expired_revocations(&self, before: Timestamp) -> Result<u64> {
        let done = sqlx::query("DELETE FROM revoked_tokens WHERE expires_at < $1")
            .bind(micros(before))
            .execute(&self.pool)
            .await
            .map_err(|e| db_error("purge revocations", &e))?;
        Ok(done.rows_affected())
    }

    async fn changes_since(&self, after: Revision, limit: u32) -> Result<Vec<Change>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut tx = self.read().await?;
        let mut rows = sqlx::query(
            "SELECT revision, seq, account_id, entity_kind, entity_id FROM changes \
             WHERE revision > $1 ORDER BY revision, seq LIMIT $2",
        )
        .bind(after.0)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| db_error("changes", &e))?;
        if rows.len() == usize::try_from(limit).unwrap_or(usize::MAX)
            && let Some(last) = rows.last()
        {
            // Complete the last revision, so no caller resumes in the middle of one.
            let revision: i64 = get(last, "revision")?;
            let seq: i64 = get(last, "seq")?;
            let rest = sqlx::query(
                "SELECT revision, seq, account_id, entity_kind, entity_id FROM changes \
                 WHERE revision = $1 AND seq > $2 ORDER BY seq",
            )
            .bind(revision)
            .bind(seq)
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| db_error("changes", &e))?;
            rows.extend(rest);
        }
        tx.commit().await.map_err(|e| db_error("read", &e))?;
        let mut changes = Vec::with_capacity(rows.len());
        for row in &rows {
            let kind_text: String = get(row, "entity_kind")?;
            let Some(kind) = EntityKind::from_db(&kind_text) else {
                tracing::warn!(
                    target: "tessera_store",
                    kind = %kind_text,
                    "skipping a change of an unknown entity kind"
                );
                continue;
            };
            let account_text: String = get(row, "account_id")?;
            let account = if account_text.is_empty() {
                None
            } else {
                Some(AccountId::parse(&account_text).map_err(|_| {
                    tracing::error!(target: "tessera_store", "change of a malformed account id");
                    Error::internal()
                })?)
            };
            changes.push(Change {
                revision: Revision(get(row, "revision")?),
                account,
                kind,
                entity: get(row, "entity_id")?,
            });
        }
        Ok(changes)
    }

    async fn append_audit_events(&self, events: &[AuditEvent]) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let begin = match self.backend {
            crate::Backend::Postgres => "BEGIN",
            crate::Backend::Sqlite => "BEGIN IMMEDIATE",
        };
        let mut tx = self
            .pool
            .begin_with(begin)
            .await
            .map_err(|e| db_error("begin audit", &e))?;
        for batch in events.chunks(AUDIT_BATCH) {
            let mut sql = String::from(
                "INSERT INTO audit_events (account_id, at, request_id, principal, event_name, \
                 action, resource, decision, error_code, source_ip, detail) VALUES ",
            );
            for i in 0..batch.len() {
                sql.push_str(if i == 0 { "(" } else { ", (" });
                for j in 1..=AUDIT_PARAMS {
                    let sep = if j == 1 { "" } else { ", " };
                    let _ = write!(sql, "{sep}${}", i * AUDIT_PARAMS + j);
                }
                sql.push(')');
            }
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for event in batch {
                query = query
                    .bind(event.account.as_str().to_owned())
                    .bind(micros(event.at))
                    .bind(event.request_id.clone())
                    .bind(event.principal.clone())
                    .bind(event.event_name.clone())
                    .bind(event.action.clone())
                    .bind(event.resource.clone())
                    .bind(event.decision.as_str())
                    .bind(event.error_code.clone())
                    .bind(event.source_ip.clone())
                    .bind(event.detail.clone());
            }
            query
                .execute(&mut *tx)
                .await
                .map_err(|e| db_error("append audit events", &e))?;
        }
        tx.commit().await.map_err(|e| db_error("commit audit", &e))
    }

    async fn list_audit_events(
        &self,
        account: &AccountId,
        query: &AuditQuery,
    ) -> Result<Vec<(i64, AuditEvent)>> {
        if !(1..=1000).contains(&query.limit) {
            return Err(Error::range("MaxItems", 1, 1000));
        }
        let (cmp, order) = match query.order {
            AuditOrder::OldestFirst => (">", "ASC"),
            AuditOrder::NewestFirst => ("<", "DESC"),
        };
        let mut sql = format!("SELECT {AUDIT_COLUMNS} FROM audit_events WHERE account_id = $1");
        let mut n = 1;
        if query.after_id.is_some() {
            n += 1;
            let _ = write!(sql, " AND id {cmp} ${n}");
        }
        if query.action_prefix.is_some() {
            n += 1;
            let _ = write!(sql, " AND LOWER(action) LIKE ${n} ESCAPE '\\'");
        }
        if query.decision.is_some() {
            n += 1;
            let _ = write!(sql, " AND decision = ${n}");
        }
        if query.start.is_some() {
            n += 1;
            let _ = write!(sql, " AND at >= ${n}");
        }
        if query.end.is_some() {
            n += 1;
            let _ = write!(sql, " AND at <= ${n}");
        }
        if query.event_name.is_some() {
            n += 1;
            let _ = write!(sql, " AND event_name = ${n}");
        }
        if query.principal.is_some() {
            n += 1;
            let _ = write!(sql, " AND principal = ${n}");
        }
        let _ = write!(sql, " ORDER BY id {order} LIMIT ${}", n + 1);
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(account.as_str().to_owned());
        if let Some(after) = query.after_id {
            q = q.bind(after);
        }
        if let Some(prefix) = &query.action_prefix {
            q = q.bind(like_prefix(prefix));
        }
        if let Some(decision) = query.decision {
            q = q.bind(decision.as_str());
        }
        if let Some(start) = query.start {
            q = q.bind(micros(start));
        }
        if let Some(end) = query.end {
            q = q.bind(micros(end));
        }
        if let Some(name) = &query.event_name {
            q = q.bind(name.clone());
        }
        if let Some(principal) = &query.principal {
            q = q.bind(principal.clone());
        }
        let rows = q
            .bind(i64::from(query.limit))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error("list audit events", &e))?;
        rows.iter().map(audit_from_row).collect()
    }

    async fn purge_audit_events(&self, before: Timestamp, limit: u32) -> Result<u64> {
        if limit == 0 {
            return Ok(0);
        }
        // In bounded batches (by the time index), so pruning a large backlog never holds a
        // long transaction or lock.
        let done = sqlx::query(
            "DELETE FROM audit_events WHERE id IN \
             (SELECT id FROM audit_events WHERE at < $1 ORDER BY at LIMIT $2)",
        )
        .bind(micros(before))
        .bind(i64::from(limit))
        .execute(&self.pool)
        .await
        .map_err(|e| db_error("purge audit events", &e))?;
        Ok(done.rows_affected())
    }
}
