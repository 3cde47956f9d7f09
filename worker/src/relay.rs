//! The relay: hands due `jobs` rows to the Redis queue (the rule is `domain::work::relay`'s)
//! and queues the periodic jobs (`runner::Periodic`: the day's ENTRY_REMINDERS, the
//! provincial push). A Redis outage never loses a job: the push fails,
//! the mark is taken back, and the row is handed over once Redis is back.
use crate::Options;
use crate::queue::{self, JobTask, Wakers};
use apalis::prelude::TaskBuilder;
use apalis_redis::ConnectionManager;
use chrono::{SubsecRound, Utc};
use domain::Services;
use domain::work::relay;
use std::time::Duration;
use tokio::sync::watch;

/// Hands over until `stop` turns true: at once when a job is queued in this process, otherwise
/// every `Options::poll`; right away again while there is more than one batch to hand over.
pub async fn run(
    services: Services,
    mut conn: ConnectionManager,
    options: Options,
    wakers: Wakers,
    mut stop: watch::Receiver<bool>,
) {
    let config = queue::config(&options);
    let mut periodic = domain::runner::Periodic::default();
    let mut failures = 0u32;
    loop {
        if *stop.borrow() {
            break;
        }
        periodic.queue_due(&services, Utc::now()).await;
        let woken = domain::outbox::wakeups().notified();
        let wait = match hand_over(&services, &mut conn, &config, &options).await {
            Ok(n) => {
                failures = 0;
                if n > 0 {
                    wakers.wake();
                }
                if n as u64 >= options.relay_batch {
                    continue;
                }
                options.poll
            }
            Err(e) => {
                if failures == 0 {
                    tracing::warn!(error = %e, "任务交给队列失败，稍后重试（任务仍在数据库中）");
                }
                failures = failures.saturating_add(1);
                // Up to 2 s between tries while Redis (or the database) is away.
                options
                    .poll
                    .saturating_mul(failures.min(10))
                    .min(Duration::from_secs(2))
            }
        };
        tokio::select! {
            _ = stop.changed() => {}
            _ = woken => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// One round: marks the due jobs handed over, pushes them, and takes the mark back if the
/// push failed. The number handed over.
pub async fn hand_over(
    services: &Services,
    conn: &mut ConnectionManager,
    config: &apalis_redis::Config,
    options: &Options,
) -> anyhow::Result<usize> {
    let db = &services.db;
    let now = Utc::now().trunc_subsecs(6);
    let due = relay::pending(db, now, options.handover_timeout, options.relay_batch).await?;
    if due.is_empty() {
        return Ok(0);
    }
    let ids: Vec<i64> = due.iter().map(|h| h.job_id).collect();
    relay::mark(db, &ids, now).await?;
    let mut tasks = Vec::with_capacity(due.len());
    for h in &due {
        let task = JobTask {
            job_id: h.job_id,
            attempt: h.attempt,
        };
        tasks.push(
            TaskBuilder::new(serde_json::to_vec(&task)?)
                .idempotency_key(h.key())
                .build(),
        );
    }
    let pushed = tokio::time::timeout(
        options.redis_timeout,
        apalis_redis::queries::push_tasks(conn, config, &tasks),
    )
    .await;
    match pushed {
        Ok(Ok((enqueued, scheduled))) => {
            let fresh = u64::from(enqueued) + u64::from(scheduled);
            metrics::counter!("songnuan_queue_handed_over_total").increment(fresh);
            metrics::counter!("songnuan_queue_copies_dropped_total")
                .increment(due.len() as u64 - fresh.min(due.len() as u64));
            tracing::debug!(jobs = due.len(), fresh, "任务已交给队列");
            Ok(due.len())
        }
        Ok(Err(e)) => {
            relay::unmark(db, &ids, now).await?;
            Err(anyhow::anyhow!("Redis: {e}"))
        }
        Err(_) => {
            relay::unmark(db, &ids, now).await?;
            Err(anyhow::anyhow!("Redis 响应超时"))
        }
    }
}
