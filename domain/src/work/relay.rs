//! The relay's side of the outbox: which `jobs` rows are to be handed to the Redis queue, and
//! the hand-over mark (`jobs.handed_at`). The queue itself (apalis on Redis) lives in the
//! `worker` crate; the row stays the truth of every job (attempts, status, last error), the
//! queue only carries `{job_id, attempt}` to a consumer, which claims the row by id
//! (`runner::claim_by_id`) and runs it with the runner's code.
//!
//! **What is handed over**: a due job (`QUEUED` with `run_at <= now`, or `RUNNING` whose lease
//! ran out) that was never handed over, or whose row changed since (`updated_at > handed_at`:
//! claimed, requeued after a failure, retried by an operator), or whose last hand-over is older
//! than the hand-over timeout (Redis may have lost it: a restarted Redis without persistence
//! forgets its queue; the row does not).
//!
//! **The mark is written before the push** (`mark`), and taken back if the push fails
//! (`unmark`): a change that happens after the push (a fast consumer claims and requeues the
//! job) is then always newer than the mark, so it is never mistaken for handed over. A relay
//! that dies between mark and push loses nothing: the job is handed over again after the
//! timeout.
//!
//! **Copies are harmless**: two relays, or a re-push of a task Redis still had, give the queue
//! the same idempotency key (`key`: job, attempt and the row's version), which Redis drops
//! (SETNX); and a copy that does reach a consumer claims nothing, as the conditional UPDATE
//! only takes a due row.
use crate::core::error::DomainResult;
use crate::core::outbox::JobStatus;
use crate::work::runner::due;
use chrono::{DateTime, SubsecRound, Utc};
use entities::job;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use std::time::Duration;

/// A job to hand to the queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handover {
    pub job_id: i64,
    /// Attempts made so far (the claim makes it `attempt + 1`).
    pub attempt: i32,
    /// The row's `updated_at` when it was picked: its version.
    pub version: DateTime<Utc>,
}

impl Handover {
    /// The queue's idempotency key: one task per job state. The attempt alone would not do:
    /// `retryJob` sets the attempts back to 0, a state the queue has seen before.
    pub fn key(&self) -> String {
        format!(
            "job:{}:{}:{}",
            self.job_id,
            self.attempt,
            self.version.timestamp_micros()
        )
    }
}

/// At most `limit` due jobs to hand over now (see the module's statement), oldest first.
pub async fn pending(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    timeout: Duration,
    limit: u64,
) -> DomainResult<Vec<Handover>> {
    let stale = chrono::Duration::from_std(timeout)
        .ok()
        .and_then(|d| now.checked_sub_signed(d))
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    let rows: Vec<(i64, i32, DateTime<Utc>)> = job::Entity::find()
        .select_only()
        .column(job::Column::Id)
        .column(job::Column::Attempts)
        .column(job::Column::UpdatedAt)
        .filter(due(now))
        .filter(
            Condition::any()
                .add(job::Column::HandedAt.is_null())
                .add(Expr::col(job::Column::HandedAt).lt(Expr::col(job::Column::UpdatedAt)))
                .add(job::Column::HandedAt.lt(stale)),
        )
        .order_by_asc(job::Column::RunAt)
        .order_by_asc(job::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(job_id, attempt, version)| Handover {
            job_id,
            attempt,
            version,
        })
        .collect())
}

/// Marks the jobs handed over at `at` (before they are pushed). `updated_at` is not touched:
/// it is the version the mark is compared with.
pub async fn mark(db: &DatabaseConnection, ids: &[i64], at: DateTime<Utc>) -> DomainResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    job::Entity::update_many()
        .col_expr(job::Column::HandedAt, Expr::value(at))
        .filter(job::Column::Id.is_in(ids.iter().copied()))
        .exec(db)
        .await?;
    Ok(())
}

/// Takes back the mark `at` of jobs whose push failed, so the next poll tries them again.
pub async fn unmark(db: &DatabaseConnection, ids: &[i64], at: DateTime<Utc>) -> DomainResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    job::Entity::update_many()
        .col_expr(job::Column::HandedAt, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(job::Column::Id.is_in(ids.iter().copied()))
        .filter(job::Column::HandedAt.eq(at))
        .exec(db)
        .await?;
    Ok(())
}

/// The state of the jobs, for `/ready` and the metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueStats {
    pub queued: u64,
    pub running: u64,
    pub done: u64,
    pub failed: u64,
    /// Seconds the oldest due QUEUED job has waited since it became due (0: none waiting).
    pub oldest_queued_secs: u64,
}

/// Counts the jobs by status, and how long the oldest due one has waited.
pub async fn stats(db: &DatabaseConnection) -> DomainResult<QueueStats> {
    let now = Utc::now().trunc_subsecs(6);
    let counts: Vec<(String, i64)> = job::Entity::find()
        .select_only()
        .column(job::Column::Status)
        .column_as(job::Column::Id.count(), "n")
        .group_by(job::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    let mut s = QueueStats::default();
    for (status, n) in counts {
        let n = u64::try_from(n).unwrap_or(0);
        match status.parse::<JobStatus>() {
            Ok(JobStatus::Queued) => s.queued = n,
            Ok(JobStatus::Running) => s.running = n,
            Ok(JobStatus::Done) => s.done = n,
            Ok(JobStatus::Failed) => s.failed = n,
            Err(_) => {}
        }
    }
    let oldest: Option<DateTime<Utc>> = job::Entity::find()
        .select_only()
        .column(job::Column::RunAt)
        .filter(job::Column::Status.eq(JobStatus::Queued.as_str()))
        .filter(job::Column::RunAt.lte(now))
        .order_by_asc(job::Column::RunAt)
        .limit(1)
        .into_tuple()
        .one(db)
        .await?;
    if let Some(at) = oldest {
        s.oldest_queued_secs = u64::try_from((now - at).num_seconds()).unwrap_or(0);
    }
    Ok(s)
}
