//! The transactional outbox's writer: a job row inserted inside the caller's transaction, so
//! the job exists exactly when the change that causes it committed (`markPaid` → NOTICE).
//! Idempotent by key: a second enqueue with the same key is a no-op (unique index, ON CONFLICT
//! DO NOTHING), so a retried mutation or a replayed relay never doubles a job.
//!
//! Running the jobs is the worker layer's (`work::runner`); this module only writes and wakes.
use crate::core::error::DomainResult;
use chrono::{DateTime, Utc};
use entities::job;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};
use std::sync::OnceLock;
use tokio::sync::Notify;

crate::core::codes::coded_enum! {
    pub enum JobStatus {
        Queued = "QUEUED",
        Running = "RUNNING",
        Done = "DONE",
        Failed = "FAILED",
    }
}

/// The kinds of job (`Job.kind`).
pub mod kinds {
    /// The recipient's notice of one paid disbursement (target "disbursement:<id>").
    pub const NOTICE: &str = "NOTICE";
    /// The day's entry reminders (target "date:<YYYY-MM-DD>", key "reminders:<date>").
    pub const ENTRY_REMINDERS: &str = "ENTRY_REMINDERS";
    /// A generated report's file (target and key "report:<id>"), queued by `generateReport`.
    pub const REPORT: &str = "REPORT";
    /// Paid, unentered records pushed to the provincial platform (target "every:<period start>",
    /// key "province:<period start>"; `work::province`).
    pub const PROVINCIAL_PUSH: &str = "PROVINCIAL_PUSH";
    /// The printed written notices (书面告知) of a campaign, one DOCX batch (target
    /// "disbursement:<id>", key "letter:<id>"; `work::letters`).
    pub const LETTERS: &str = "LETTERS";
}

/// Attempts before a job that keeps failing ends FAILED.
pub const DEFAULT_MAX_ATTEMPTS: i32 = 5;

/// A job to queue.
pub struct NewJob {
    pub kind: &'static str,
    pub target: Option<String>,
    /// Unique: the job is queued once per key.
    pub idempotency_key: String,
    pub max_attempts: i32,
}

/// Inserts the job through `conn` (the caller's transaction) unless one with its key exists.
pub async fn enqueue<C: ConnectionTrait>(conn: &C, job: NewJob, now: DateTime<Utc>) -> DomainResult<()> {
    enqueue_at(conn, job, now, now).await
}

/// `enqueue`, the job due only from `run_at` (e.g. letters wait for a burst of payments).
pub async fn enqueue_at<C: ConnectionTrait>(
    conn: &C,
    job: NewJob,
    now: DateTime<Utc>,
    run_at: DateTime<Utc>,
) -> DomainResult<()> {
    let row = job::ActiveModel {
        kind: Set(job.kind.to_string()),
        target: Set(job.target),
        status: Set(JobStatus::Queued.as_str().to_string()),
        attempts: Set(0),
        max_attempts: Set(job.max_attempts),
        last_error: Set(None),
        idempotency_key: Set(job.idempotency_key),
        run_at: Set(run_at),
        locked_by: Set(None),
        locked_until: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    job::Entity::insert(row)
        .on_conflict_do_nothing_on([job::Column::IdempotencyKey])
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// The in-process wake-up of the runners: called after a commit that queued jobs, so an
/// embedded runner starts at once instead of at its next poll (polling still finds jobs
/// queued by other processes).
pub fn wakeups() -> &'static Notify {
    static WAKE: OnceLock<Notify> = OnceLock::new();
    WAKE.get_or_init(Notify::new)
}

pub fn wake() {
    wakeups().notify_waiters();
}
