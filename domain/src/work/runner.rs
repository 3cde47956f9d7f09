//! The embedded job runner: claims due jobs from the `jobs` table (the outbox) and runs them.
//!
//! **Claiming** is one conditional UPDATE, its due-ness repeated in the WHERE (for a batch,
//! `id IN (…)`: `claim_many`):
//!
//! ```sql
//! UPDATE jobs SET status = 'RUNNING', locked_by = $me, locked_until = $now + lease,
//!                 attempts = attempts + 1, updated_at = $now
//!  WHERE id = $id AND ((status = 'QUEUED' AND run_at <= $now)
//!                   OR (status = 'RUNNING' AND locked_until < $now))
//! RETURNING *
//! ```
//!
//! so of two runners that saw the same candidate only one changes the row (the other's UPDATE
//! matches nothing), on SQLite and PostgreSQL alike; a job whose runner died (its lease ran out)
//! is claimed again. Every later write of the job names `locked_by = $me`, so a runner that lost
//! its lease cannot overwrite the new holder's outcome.
//!
//! **Outcome**: DONE; or, on an error, QUEUED again at `now + backoff(attempts)` (exponential
//! from `backoff_base`, capped at `backoff_cap`, with jitter: a random point in its upper half),
//! and FAILED with the reason once `max_attempts` attempts were made.
use crate::core::error::{DomainError, DomainResult};
use crate::core::outbox::{self, JobStatus, kinds};
use crate::core::services::Services;
use crate::reports::job as report_job;
use crate::work::notices::{self, SmsProvider};
use crate::work::reminders;
use crate::work::{letters, province};
use chrono::{DateTime, SubsecRound, Utc};
use entities::job;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tracing::Instrument;

/// How a runner works; `from_settings` for the process, tests build their own.
#[derive(Clone, Debug)]
pub struct RunnerConfig {
    /// Unique per runner (host, pid, random): the holder named in `locked_by`.
    pub name: String,
    /// How often an idle runner looks for due jobs (`SONGNUAN_JOB_POLL_MS`).
    pub poll: Duration,
    /// How long a claim holds a job; a runner that died gives it up when this runs out.
    pub lease: Duration,
    /// The first retry's delay (`SONGNUAN_JOB_BACKOFF_MS`), doubled at each further attempt.
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// Jobs claimed at a time.
    pub batch: u64,
}

impl RunnerConfig {
    pub fn from_settings(s: &crate::core::settings::Settings) -> RunnerConfig {
        RunnerConfig {
            name: unique_name(),
            poll: s.job_poll,
            lease: Duration::from_secs(60),
            backoff_base: s.job_backoff_base,
            backoff_cap: Duration::from_secs(3600),
            batch: 10,
        }
    }
}

/// host-pid-random: two runners never share a name, even one restarted at once.
pub fn unique_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
    format!("{host}-{}-{:08x}", std::process::id(), rand::random::<u32>())
}

/// The delay before attempt `attempts + 1`: base · 2^(attempts−1), capped, jittered into its
/// upper half so failed jobs of one burst do not all come back together.
pub fn backoff(base: Duration, cap: Duration, attempts: i32) -> Duration {
    let exp = attempts.clamp(1, 31) as u32 - 1;
    let full = base.saturating_mul(2u32.saturating_pow(exp)).min(cap);
    let half = full / 2;
    half + full.mul_f64(rand::random::<f64>() * 0.5)
}

/// A job any runner may take now: queued and due, or running under a lease that ran out. The
/// relay hands over exactly these rows, so the claim and the hand-over agree by construction.
pub(crate) fn due(now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(
            Condition::all()
                .add(job::Column::Status.eq(JobStatus::Queued.as_str()))
                .add(job::Column::RunAt.lte(now)),
        )
        .add(
            Condition::all()
                .add(job::Column::Status.eq(JobStatus::Running.as_str()))
                .add(job::Column::LockedUntil.lt(now)),
        )
}

/// Claims at most `limit` due jobs for `name` (see the module's statement). Two claimers never
/// get the same job while its lease runs.
pub async fn claim(
    db: &sea_orm::DatabaseConnection,
    name: &str,
    lease: Duration,
    limit: u64,
) -> DomainResult<Vec<job::Model>> {
    let now = Utc::now().trunc_subsecs(6);
    let candidates: Vec<i64> = job::Entity::find()
        .select_only()
        .column(job::Column::Id)
        .filter(due(now))
        .order_by_asc(job::Column::RunAt)
        .order_by_asc(job::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    claim_many(db, name, lease, &candidates).await
}

/// Claims job `id` for `name` if it is due (the module's conditional UPDATE): the job, or
/// `None` when it is not due (done, failed, waiting for its backoff, or held by a live lease).
/// The queue's consumers claim by the id their task names, so a copy of a task, or a stale
/// one, claims nothing.
pub async fn claim_by_id(
    db: &sea_orm::DatabaseConnection,
    name: &str,
    lease: Duration,
    id: i64,
) -> DomainResult<Option<job::Model>> {
    Ok(claim_many(db, name, lease, &[id]).await?.pop())
}

/// Claims, in one statement, those of the jobs `ids` that are due (the module's conditional
/// UPDATE, `id IN (…)` for `id = $id`): the jobs claimed, in id order.
pub async fn claim_many(
    db: &sea_orm::DatabaseConnection,
    name: &str,
    lease: Duration,
    ids: &[i64],
) -> DomainResult<Vec<job::Model>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let now = Utc::now().trunc_subsecs(6);
    let until = now + chrono::Duration::from_std(lease).map_err(DomainError::internal)?;
    let mut rows = job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value(JobStatus::Running.as_str()))
        .col_expr(job::Column::LockedBy, Expr::value(name))
        .col_expr(job::Column::LockedUntil, Expr::value(until))
        .col_expr(job::Column::Attempts, Expr::col(job::Column::Attempts).add(1))
        .col_expr(job::Column::UpdatedAt, Expr::value(now))
        .filter(job::Column::Id.is_in(ids.iter().copied()))
        .filter(due(now))
        .exec_with_returning(db)
        .await?;
    rows.sort_by_key(|j| j.id);
    Ok(rows)
}

/// The periodic jobs, queued by every runner's loop (and, with Redis, every relay's) when their
/// time comes: each is de-duplicated by its key, so any number of processes may call
/// `queue_due`; the state only spares the repeated inserts of one process.
#[derive(Debug, Default)]
pub struct Periodic {
    /// The day whose ENTRY_REMINDERS job was queued (see `reminders::schedule`).
    reminders_queued: Option<chrono::NaiveDate>,
    /// The period whose PROVINCIAL_PUSH job was looked at (`province::schedule`).
    province_looked: Option<DateTime<Utc>>,
}

impl Periodic {
    pub async fn queue_due(&mut self, s: &Services, now: DateTime<Utc>) {
        reminders::schedule(s, now, &mut self.reminders_queued).await;
        province::schedule(s, now, &mut self.province_looked).await;
    }
}

/// Runs jobs: `run` until stopped, or `run_due` once.
pub struct Runner {
    services: Services,
    config: RunnerConfig,
    sms: Arc<dyn SmsProvider>,
}

impl Runner {
    /// `sms`: the SMS provider the NOTICE jobs use (`notices::LogProvider` by default).
    pub fn new(services: Services, config: RunnerConfig, sms: Arc<dyn SmsProvider>) -> Runner {
        Runner {
            services,
            config,
            sms,
        }
    }

    pub fn config(&self) -> &RunnerConfig {
        &self.config
    }

    /// Claims and runs due jobs until `stop` turns true: at once when a job is queued in this
    /// process, otherwise every `poll`. Jobs claimed but not started when it stops go back.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        tracing::info!(runner = %self.config.name, "任务执行器已启动");
        let mut periodic = Periodic::default();
        loop {
            if *stop.borrow() {
                break;
            }
            periodic.queue_due(&self.services, Utc::now()).await;
            let woken = outbox::wakeups().notified();
            let ran = match self.run_due(&stop).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = ?e, "任务领取失败，稍后重试");
                    0
                }
            };
            if ran > 0 {
                continue;
            }
            tokio::select! {
                _ = stop.changed() => {}
                _ = woken => {}
                _ = tokio::time::sleep(self.config.poll) => {}
            }
        }
        tracing::info!(runner = %self.config.name, "任务执行器已停止");
    }

    /// Claims one batch and runs it; the number of jobs claimed.
    pub async fn run_due(&self, stop: &watch::Receiver<bool>) -> DomainResult<usize> {
        let jobs = claim(
            &self.services.db,
            &self.config.name,
            self.config.lease,
            self.config.batch,
        )
        .await?;
        let n = jobs.len();
        self.run_claimed_many(jobs, Some(stop)).await?;
        Ok(n)
    }

    /// Runs a job this runner claimed (`claim`, `claim_by_id` with this runner's name) and
    /// writes its outcome: DONE, QUEUED again after a backoff, or FAILED after `max_attempts`.
    /// An error here is the outcome's write failing; the lease then runs out and the job is
    /// claimed again.
    pub async fn run_claimed(&self, j: job::Model) -> DomainResult<()> {
        let span = tracing::info_span!("job", id = j.id, kind = %j.kind, attempt = j.attempts);
        self.run_one(j).instrument(span).await
    }

    /// Runs jobs this runner claimed: the NOTICE jobs together (`notices::send_batch`: a few
    /// statements for the batch, the provider called for all at once), the others one by one.
    /// Once `stop` turns true, jobs not started yet go back to the queue.
    pub async fn run_claimed_many(
        &self,
        jobs: Vec<job::Model>,
        stop: Option<&watch::Receiver<bool>>,
    ) -> DomainResult<()> {
        let stopped = || stop.is_some_and(|s| *s.borrow());
        let (batch, others): (Vec<_>, Vec<_>) = jobs
            .into_iter()
            .partition(|j| j.kind == kinds::NOTICE && j.attempts <= j.max_attempts);
        if !batch.is_empty() {
            if stopped() {
                for j in &batch {
                    self.release(j).await?;
                }
            } else {
                let span = tracing::info_span!("notices", jobs = batch.len());
                self.run_notices(batch).instrument(span).await?;
            }
        }
        for j in others {
            if stopped() {
                self.release(&j).await?;
                continue;
            }
            self.run_claimed(j).await?;
        }
        Ok(())
    }

    async fn run_notices(&self, batch: Vec<job::Model>) -> DomainResult<()> {
        let outcomes = notices::send_batch(&self.services, self.sms.as_ref(), &batch).await;
        let mut done = Vec::new();
        for (j, outcome) in batch.iter().zip(outcomes) {
            match outcome {
                Ok(notices::Outcome::Done) => done.push(j.id),
                Ok(notices::Outcome::Later(at, reason)) => self.defer(j, at, reason).await?,
                Err(e) => self.settle(j, Err(e)).await?,
            }
        }
        self.finish(&done, JobStatus::Done, None, None).await?;
        tracing::info!(done = done.len(), "通知任务完成");
        Ok(())
    }

    async fn run_one(&self, j: job::Model) -> DomainResult<()> {
        // Claimed again after the runner of its last allowed attempt died.
        if j.attempts > j.max_attempts {
            return self
                .fail(&j, "执行中断（执行器退出），已达最大尝试次数".into(), true)
                .await;
        }
        let outcome = match j.kind.as_str() {
            // The batch path, with a batch of one: one way a notice is sent.
            kinds::NOTICE => return self.run_notices(vec![j]).await,
            kinds::ENTRY_REMINDERS => reminders::run_job(&self.services, &j).await,
            kinds::REPORT => report_job::run(&self.services, &j).await,
            kinds::PROVINCIAL_PUSH => province::run_job(&self.services, &j).await,
            kinds::LETTERS => letters::run_job(&self.services, &j).await,
            other => Err(DomainError::internal(anyhow::anyhow!("未知的任务类型 {other}"))),
        };
        self.settle(&j, outcome).await
    }

    /// Writes a job's outcome: DONE, or the failure (retried after a backoff, or FAILED).
    async fn settle(&self, j: &job::Model, outcome: DomainResult<()>) -> DomainResult<()> {
        match outcome {
            Ok(()) => {
                self.finish(&[j.id], JobStatus::Done, None, None).await?;
                tracing::info!("任务完成");
                Ok(())
            }
            Err(e) => {
                let reason = match &e {
                    DomainError::Internal(inner) => format!("{inner:#}"),
                    other => other.to_string(),
                };
                let last = j.attempts >= j.max_attempts;
                self.fail(j, reason, last).await
            }
        }
    }

    async fn fail(&self, j: &job::Model, reason: String, last: bool) -> DomainResult<()> {
        let reason: String = reason.chars().take(1000).collect();
        if last {
            tracing::warn!(attempts = j.attempts, error = %reason, "任务失败，不再重试");
            self.finish(&[j.id], JobStatus::Failed, Some(reason), None)
                .await?;
            if j.kind == kinds::NOTICE {
                notices::give_up(&self.services, j).await?;
            }
        } else {
            let delay = backoff(self.config.backoff_base, self.config.backoff_cap, j.attempts);
            tracing::warn!(attempts = j.attempts, retry_in_ms = delay.as_millis() as u64, error = %reason, "任务失败，将重试");
            let at = Utc::now().trunc_subsecs(6)
                + chrono::Duration::from_std(delay).map_err(DomainError::internal)?;
            self.finish(&[j.id], JobStatus::Queued, Some(reason), Some(at))
                .await?;
        }
        Ok(())
    }

    /// Writes the outcome of jobs `ids` (one statement), only while this runner still holds
    /// them.
    async fn finish(
        &self,
        ids: &[i64],
        status: JobStatus,
        error: Option<String>,
        run_at: Option<DateTime<Utc>>,
    ) -> DomainResult<()> {
        let now = Utc::now().trunc_subsecs(6);
        let mut q = job::Entity::update_many()
            .col_expr(job::Column::Status, Expr::value(status.as_str()))
            .col_expr(job::Column::LastError, Expr::value(error))
            .col_expr(job::Column::LockedBy, Expr::value(Option::<String>::None))
            .col_expr(
                job::Column::LockedUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(job::Column::UpdatedAt, Expr::value(now));
        if let Some(at) = run_at {
            q = q.col_expr(job::Column::RunAt, Expr::value(at));
        }
        if ids.is_empty() {
            return Ok(());
        }
        q.filter(job::Column::Id.is_in(ids.iter().copied()))
            .filter(job::Column::Status.eq(JobStatus::Running.as_str()))
            .filter(job::Column::LockedBy.eq(self.config.name.as_str()))
            .exec(&self.services.db)
            .await?;
        Ok(())
    }

    /// Puts a job back for later without counting the attempt (e.g. the number's daily SMS
    /// limit): it is not failing, it must wait.
    async fn defer(&self, j: &job::Model, at: DateTime<Utc>, reason: String) -> DomainResult<()> {
        tracing::info!(run_at = %at, reason = %reason, "任务推迟");
        job::Entity::update_many()
            .col_expr(job::Column::Status, Expr::value(JobStatus::Queued.as_str()))
            .col_expr(job::Column::Attempts, Expr::col(job::Column::Attempts).sub(1))
            .col_expr(job::Column::LastError, Expr::value(reason))
            .col_expr(job::Column::RunAt, Expr::value(at))
            .col_expr(job::Column::LockedBy, Expr::value(Option::<String>::None))
            .col_expr(
                job::Column::LockedUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(job::Column::UpdatedAt, Expr::value(Utc::now().trunc_subsecs(6)))
            .filter(job::Column::Id.eq(j.id))
            .filter(job::Column::Status.eq(JobStatus::Running.as_str()))
            .filter(job::Column::LockedBy.eq(self.config.name.as_str()))
            .exec(&self.services.db)
            .await?;
        Ok(())
    }

    /// Gives a claimed job back untouched (its attempt not counted).
    async fn release(&self, j: &job::Model) -> DomainResult<()> {
        job::Entity::update_many()
            .col_expr(job::Column::Status, Expr::value(JobStatus::Queued.as_str()))
            .col_expr(job::Column::Attempts, Expr::col(job::Column::Attempts).sub(1))
            .col_expr(job::Column::LockedBy, Expr::value(Option::<String>::None))
            .col_expr(
                job::Column::LockedUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(job::Column::Id.eq(j.id))
            .filter(job::Column::LockedBy.eq(self.config.name.as_str()))
            .exec(&self.services.db)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_is_capped_and_jittered() {
        let base = Duration::from_secs(1);
        let cap = Duration::from_secs(60);
        for _ in 0..100 {
            let b1 = backoff(base, cap, 1);
            assert!(b1 >= Duration::from_millis(500) && b1 <= base, "{b1:?}");
            let b3 = backoff(base, cap, 3);
            assert!(
                b3 >= Duration::from_secs(2) && b3 <= Duration::from_secs(4),
                "{b3:?}"
            );
            let b30 = backoff(base, cap, 30);
            assert!(b30 >= Duration::from_secs(30) && b30 <= cap, "{b30:?}");
        }
    }
}
