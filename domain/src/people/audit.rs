//! The audit log: every mutation runs inside a `Change`, which writes who, when, what, the
//! target and a before/after diff, and chains each entry to the previous one by SHA-256 so a
//! changed, removed or inserted row is found by `verify_chain`.
//!
//! `Change::begin` first updates the single `audit_head` row. That write lock is held until
//! commit, so on both databases mutations append to the chain one at a time, and a refused
//! mutation rolls back with nothing written. It is the writers' lock: keep what runs under it
//! short (a long writer such as an import commits in batches, see `recipients::import`).
//!
//! Waiting for it is first come, first served. PostgreSQL queues row-lock waiters itself.
//! SQLite's busy handler only polls (every 100 ms once a writer has waited a while), so a writer
//! that commits short transactions back to back would starve one that waits; on SQLite the
//! writers of one database file therefore queue in process (`turnstile`) before they lock.
use crate::core::error::{DomainError, DomainResult};
use crate::core::pagination::{self, Lead, Page, PageArgs};
use crate::people::access::{Actor, Permission};
use chrono::{DateTime, SubsecRound, Utc};
use entities::{audit_head, audit_log};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait,
    DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;
use tokio::sync::{Mutex as Turn, OwnedMutexGuard};

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Keys whose values never reach the audit log in clear.
const SECRET_KEYS: &[&str] = &["password", "password_hash", "token", "token_hash", "secret"];

/// Creates the chain head if the database is new. Idempotent, safe from several replicas.
pub async fn ensure_head(db: &DatabaseConnection) -> DomainResult<()> {
    let head = audit_head::ActiveModel {
        id: Set(1),
        seq: Set(0),
        last_hash: Set(GENESIS.into()),
    };
    audit_head::Entity::insert(head)
        .on_conflict_do_nothing_on([audit_head::Column::Id])
        .exec(db)
        .await?;
    Ok(())
}

/// A row whose writes are audited: the target type the log names, the row's id, and its
/// snapshot — the fields the log shows, personal data already masked (the snapshot is where
/// masking lives; secrets are hidden again by `diff`). Implemented next to each entity's rules.
pub trait Audited {
    /// The log's `target_type` ("Recipient", "Contract", …).
    const TARGET: &'static str;
    /// The log's `target_id`.
    fn audit_id(&self) -> String;
    /// The fields as the log shows them.
    fn snapshot(&self) -> Value;
}

/// The model an ActiveModel writes.
type ModelOf<A> = <<A as ActiveModelTrait>::Entity as EntityTrait>::Model;

/// One mutation: a database transaction plus the audit entries it will append on commit.
pub struct Change {
    txn: DatabaseTransaction,
    actor_id: Option<i64>,
    action: &'static str,
    seq: i64,
    last_hash: String,
    at: DateTime<Utc>,
    wrote: bool,
    locked: bool,
    /// SQLite: this writer's turn, held until commit or drop (after `txn`, so it is let go
    /// once the transaction is).
    _turn: Option<OwnedMutexGuard<()>>,
}

/// How long a SQLite writer waits for its turn: the connection's busy timeout (`core::db`).
const TURN_WAIT: Duration = Duration::from_secs(30);

/// The queue of SQLite writers of `db`'s database file (`None` on PostgreSQL).
fn turnstile(db: &DatabaseConnection) -> Option<Arc<Turn<()>>> {
    static TURNSTILES: LazyLock<Mutex<HashMap<PathBuf, Arc<Turn<()>>>>> = LazyLock::new(Default::default);
    if db.get_database_backend() != sea_orm::DbBackend::Sqlite {
        return None;
    }
    let file = db
        .get_sqlite_connection_pool()
        .connect_options()
        .get_filename()
        .to_path_buf();
    let mut all = TURNSTILES.lock().unwrap_or_else(|p| p.into_inner());
    Some(all.entry(file).or_default().clone())
}

impl Change {
    pub async fn begin(
        db: &DatabaseConnection,
        actor: Option<&Actor>,
        action: &'static str,
    ) -> DomainResult<Change> {
        let turn = match turnstile(db) {
            Some(t) => Some(
                tokio::time::timeout(TURN_WAIT, t.lock_owned())
                    .await
                    .map_err(|_| {
                        DomainError::internal(anyhow::anyhow!(
                            "SQLite writer waited {TURN_WAIT:?} for its turn"
                        ))
                    })?,
            ),
            None => None,
        };
        let mut change = Change::begin_unlocked(db, actor, action).await?;
        change._turn = turn;
        change.lock().await?;
        Ok(change)
    }

    /// For hot paths whose own writes are safe without the chain lock (conditional updates,
    /// unique indexes): on PostgreSQL the lock is taken only at the first `record`, so the
    /// serialised part of the transaction is the audit append alone. SQLite has one writer at
    /// a time anyway and must not upgrade a read transaction, so there it locks at once.
    pub async fn begin_late(
        db: &DatabaseConnection,
        actor: Option<&Actor>,
        action: &'static str,
    ) -> DomainResult<Change> {
        if db.get_database_backend() == sea_orm::DbBackend::Sqlite {
            return Change::begin(db, actor, action).await;
        }
        Change::begin_unlocked(db, actor, action).await
    }

    async fn begin_unlocked(
        db: &DatabaseConnection,
        actor: Option<&Actor>,
        action: &'static str,
    ) -> DomainResult<Change> {
        let txn = db.begin().await?;
        Ok(Change {
            txn,
            actor_id: actor.map(|a| a.user_id),
            action,
            seq: 0,
            last_hash: String::new(),
            at: Utc::now().trunc_subsecs(6),
            wrote: false,
            locked: false,
            _turn: None,
        })
    }

    /// Takes the chain lock: a write first (PostgreSQL row lock, SQLite RESERVED lock), so
    /// what is read next cannot go stale; RETURNING hands back the head in the same round trip.
    async fn lock(&mut self) -> DomainResult<()> {
        let head = audit_head::Entity::update_many()
            .col_expr(audit_head::Column::Seq, Expr::col(audit_head::Column::Seq))
            .filter(audit_head::Column::Id.eq(1))
            .exec_with_returning(&self.txn)
            .await?
            .pop()
            .ok_or_else(|| DomainError::internal(anyhow::anyhow!("audit_head row missing")))?;
        self.seq = head.seq;
        self.last_hash = head.last_hash;
        self.locked = true;
        Ok(())
    }

    pub fn txn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.at
    }

    /// Appends one audit entry for `target`; `before`/`after` are JSON objects of the target's
    /// fields (personal data already masked by the caller; secrets are hidden here).
    pub async fn record(
        &mut self,
        target_type: &str,
        target_id: Option<String>,
        before: Option<&Value>,
        after: Option<&Value>,
    ) -> DomainResult<()> {
        if !self.locked {
            self.lock().await?;
        }
        let diff = diff(before, after).map(|d| d.to_string());
        let seq = self.seq + 1;
        let hash = entry_hash(
            &self.last_hash,
            seq,
            self.at,
            self.actor_id,
            self.action,
            target_type,
            target_id.as_deref(),
            diff.as_deref(),
        );
        audit_log::Entity::insert(audit_log::ActiveModel {
            id: Set(seq),
            at: Set(self.at),
            actor_id: Set(self.actor_id),
            action: Set(self.action.to_string()),
            target_type: Set(target_type.to_string()),
            target_id: Set(target_id),
            diff: Set(diff),
            prev_hash: Set(self.last_hash.clone()),
            hash: Set(hash.clone()),
        })
        .exec_without_returning(&self.txn)
        .await?;
        self.seq = seq;
        self.last_hash = hash;
        self.wrote = true;
        Ok(())
    }

    /// Inserts the row through the transaction and audits it (no before, the row's snapshot after).
    pub async fn insert_audited<A>(&mut self, am: A) -> DomainResult<ModelOf<A>>
    where
        A: ActiveModelTrait + ActiveModelBehavior + Send,
        ModelOf<A>: IntoActiveModel<A> + Audited,
    {
        self.insert_audited_or(am, DomainError::from).await
    }

    /// `insert_audited`, with the database error mapped by `on_error` (e.g. `on_unique(…)`).
    pub async fn insert_audited_or<A>(
        &mut self,
        am: A,
        on_error: impl FnOnce(DbErr) -> DomainError,
    ) -> DomainResult<ModelOf<A>>
    where
        A: ActiveModelTrait + ActiveModelBehavior + Send,
        ModelOf<A>: IntoActiveModel<A> + Audited,
    {
        let created = am.insert(&self.txn).await.map_err(on_error)?;
        self.audit_insert(&created).await?;
        Ok(created)
    }

    /// Updates the row through the transaction and audits it with its before/after snapshots.
    /// An ActiveModel that changes nothing writes nothing, not even an audit entry: `before`
    /// comes back as it is.
    pub async fn update_audited<A>(&mut self, before: &ModelOf<A>, am: A) -> DomainResult<ModelOf<A>>
    where
        A: ActiveModelTrait + ActiveModelBehavior + Send,
        ModelOf<A>: IntoActiveModel<A> + Audited + Clone,
    {
        self.update_audited_or(before, am, DomainError::from).await
    }

    /// `update_audited`, with the database error mapped by `on_error` (e.g. `on_unique(…)`).
    pub async fn update_audited_or<A>(
        &mut self,
        before: &ModelOf<A>,
        am: A,
        on_error: impl FnOnce(DbErr) -> DomainError,
    ) -> DomainResult<ModelOf<A>>
    where
        A: ActiveModelTrait + ActiveModelBehavior + Send,
        ModelOf<A>: IntoActiveModel<A> + Audited + Clone,
    {
        if !am.is_changed() {
            return Ok(before.clone());
        }
        let after = am.update(&self.txn).await.map_err(on_error)?;
        self.audit_update(before, &after).await?;
        Ok(after)
    }

    /// Audits a row already inserted (when more was written to it before the entry).
    pub async fn audit_insert<M: Audited>(&mut self, created: &M) -> DomainResult<()> {
        self.record(
            M::TARGET,
            Some(created.audit_id()),
            None,
            Some(&created.snapshot()),
        )
        .await
    }

    /// Audits a row already updated (by a conditional or bulk update), `before` → `after`.
    pub async fn audit_update<M: Audited>(&mut self, before: &M, after: &M) -> DomainResult<()> {
        self.record(
            M::TARGET,
            Some(after.audit_id()),
            Some(&before.snapshot()),
            Some(&after.snapshot()),
        )
        .await
    }

    pub async fn commit(self) -> DomainResult<()> {
        if self.wrote {
            audit_head::Entity::update_many()
                .col_expr(audit_head::Column::Seq, Expr::value(self.seq))
                .col_expr(audit_head::Column::LastHash, Expr::value(self.last_hash.clone()))
                .filter(audit_head::Column::Id.eq(1))
                .exec(&self.txn)
                .await?;
        }
        self.txn.commit().await?;
        Ok(())
    }
}

/// The hash of one entry over its predecessor's hash and every stored field.
#[allow(clippy::too_many_arguments)]
fn entry_hash(
    prev: &str,
    seq: i64,
    at: DateTime<Utc>,
    actor_id: Option<i64>,
    action: &str,
    target_type: &str,
    target_id: Option<&str>,
    diff: Option<&str>,
) -> String {
    let mut h = Sha256::new();
    let actor = actor_id.map(|a| a.to_string()).unwrap_or_default();
    let micros = at.timestamp_micros().to_string();
    for part in [
        prev,
        &seq.to_string(),
        &micros,
        &actor,
        action,
        target_type,
        target_id.unwrap_or("\u{0}"),
        diff.unwrap_or("\u{0}"),
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Field-level diff: `{"field": {"before": x, "after": y}}` for every field that changed.
pub fn diff(before: Option<&Value>, after: Option<&Value>) -> Option<Value> {
    let empty = Map::new();
    let b = before.and_then(Value::as_object).unwrap_or(&empty);
    let a = after.and_then(Value::as_object).unwrap_or(&empty);
    let mut out = Map::new();
    let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        let (bv, av) = (b.get(k), a.get(k));
        if bv == av {
            continue;
        }
        let hide = |v: Option<&Value>| match v {
            None | Some(Value::Null) => Value::Null,
            Some(_) if SECRET_KEYS.contains(&k.as_str()) => Value::String("[已隐藏]".into()),
            Some(v) => v.clone(),
        };
        let mut change = Map::new();
        change.insert("before".into(), hide(bv));
        change.insert("after".into(), hide(av));
        out.insert(k.clone(), Value::Object(change));
    }
    if out.is_empty() && before.is_none() && after.is_none() {
        None
    } else {
        Some(Value::Object(out))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainReport {
    pub ok: bool,
    pub checked: u64,
    pub first_broken_id: Option<i64>,
}

/// Walks the whole chain in id order, a page at a time (memory stays flat on long logs).
pub async fn verify_chain(db: &DatabaseConnection, actor: &Actor) -> DomainResult<ChainReport> {
    actor.require(Permission::ReadAuditLog)?;
    const BATCH: u64 = 2000;
    let mut prev = GENESIS.to_string();
    let mut expected = 1i64;
    let mut checked = 0u64;
    loop {
        let rows = audit_log::Entity::find()
            .filter(audit_log::Column::Id.gte(expected))
            .order_by_asc(audit_log::Column::Id)
            .limit(BATCH)
            .all(db)
            .await?;
        let n = rows.len() as u64;
        for e in rows {
            let recomputed = entry_hash(
                &prev,
                e.id,
                e.at,
                e.actor_id,
                &e.action,
                &e.target_type,
                e.target_id.as_deref(),
                e.diff.as_deref(),
            );
            if e.id != expected || e.prev_hash != prev || e.hash != recomputed {
                return Ok(ChainReport {
                    ok: false,
                    checked,
                    first_broken_id: Some(expected.min(e.id)),
                });
            }
            checked += 1;
            prev = e.hash;
            expected += 1;
        }
        if n < BATCH {
            break;
        }
    }
    // Entries cut off the end of the chain leave the head pointing past the last row.
    let head = audit_head::Entity::find_by_id(1).one(db).await?;
    if let Some(h) = head
        && (h.seq != expected - 1 || h.last_hash != prev)
    {
        return Ok(ChainReport {
            ok: false,
            checked,
            first_broken_id: Some(expected),
        });
    }
    Ok(ChainReport {
        ok: true,
        checked,
        first_broken_id: None,
    })
}

#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub action: Option<String>,
}

/// Newest first, cursor = entry id.
pub async fn list(
    db: &DatabaseConnection,
    actor: &Actor,
    filter: &AuditFilter,
    page: PageArgs<'_>,
) -> DomainResult<Page<audit_log::Model>> {
    actor.require(Permission::ReadAuditLog)?;
    // A filtered page walks `(target_type, target_id, id)`, `(target_type, id)` or
    // `(action, id)` (migration m20260109) down from the cursor: the first filter given leads
    // (see `pagination::Lead`), the others are equalities on the index or checks on the rows
    // walked.
    let mut q = audit_log::Entity::find();
    let lead = if let Some(t) = &filter.target_type {
        Some(Lead::new(audit_log::Column::TargetType, t.as_str()))
    } else {
        filter
            .action
            .as_ref()
            .map(|a| Lead::new(audit_log::Column::Action, a.as_str()))
    };
    if let Some(t) = &filter.target_id {
        q = q.filter(audit_log::Column::TargetId.eq(t.as_str()));
    }
    if let (Some(_), Some(a)) = (&filter.target_type, &filter.action) {
        q = q.filter(audit_log::Column::Action.eq(a.as_str()));
    }
    pagination::fetch(db, q, lead, audit_log::Column::Id, page, true).await
}

/// Count of entries, for tests and `/metrics`.
pub async fn count<C: ConnectionTrait>(db: &C) -> DomainResult<u64> {
    Ok(audit_log::Entity::find().count(db).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_lists_changed_fields_and_hides_secrets() {
        let d = diff(
            Some(&json!({"name": "a", "password_hash": "x", "same": 1})),
            Some(&json!({"name": "b", "password_hash": "y", "same": 1})),
        )
        .unwrap();
        assert_eq!(d["name"]["before"], "a");
        assert_eq!(d["name"]["after"], "b");
        assert_eq!(d["password_hash"]["after"], "[已隐藏]");
        assert!(d.get("same").is_none());
    }

    #[test]
    fn hash_depends_on_every_field() {
        let at = Utc::now();
        let base = entry_hash(GENESIS, 1, at, Some(1), "a", "t", Some("1"), Some("{}"));
        assert_ne!(
            base,
            entry_hash(GENESIS, 1, at, Some(2), "a", "t", Some("1"), Some("{}"))
        );
        assert_ne!(
            base,
            entry_hash(GENESIS, 1, at, Some(1), "a", "t", Some("1"), Some("{ }"))
        );
        assert_ne!(
            base,
            entry_hash(GENESIS, 2, at, Some(1), "a", "t", Some("1"), Some("{}"))
        );
        assert_ne!(
            base,
            entry_hash(GENESIS, 1, at, Some(1), "a", "t", None, Some("{}"))
        );
    }
}
