//! Songnuan's background worker.
//!
//! **With `REDIS_URL`** (`run`): the jobs go through Redis with apalis. The `jobs` table (the
//! outbox) stays the durable truth of every job — attempts, status, last error, counted by us,
//! not by apalis (whose Redis backend hard-codes 25 attempts). Two parts run in each worker:
//!
//! - the **relay** (`relay`) hands due rows to the queue as small tasks `{job_id, attempt}`,
//!   with an idempotency key per job state, and hands them over again when Redis may have lost
//!   them (see `domain::work::relay`);
//! - the **consumers** (`queue`): an apalis worker (with `concurrency` tasks at a time) that
//!   claims the row by id with the runner's conditional UPDATE — a copy or a stale task claims
//!   nothing — and runs it with the runner's code, which writes the outcome (DONE, QUEUED again
//!   after a backoff, FAILED after the job's `max_attempts`). The handler returns `Ok` to apalis
//!   whatever the job's outcome, so apalis never retries on its own.
//!
//! Several workers may run at once. The daily ENTRY_REMINDERS job is queued by the relay's
//! loop (`reminders::schedule`; its key `reminders:<date>` leaves one job per day).
//!
//! **Without `REDIS_URL`** the API runs the jobs itself (the embedded runner); a `worker`
//! process started anyway runs the same embedded runner next to it (`run_embedded`): claims
//! keep them apart.
pub mod options;
pub mod queue;
pub mod relay;

pub use options::Options;

use domain::Services;
use domain::notices::SmsProvider;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Runs the relay and the consumers on Redis until `shutdown` resolves; then stops handing
/// over, lets the jobs in flight finish (at most `Options::shutdown_grace`; a job cut off there
/// goes back when its lease runs out) and returns. Waits (retrying) while Redis is down.
pub async fn run(
    services: Services,
    sms: Arc<dyn SmsProvider>,
    options: Options,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (stop_tx, stop) = watch::channel(false);
    let stopper = tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let Some(conn) = queue::connect(&options, stop.clone()).await? else {
        return Ok(());
    };
    tracing::info!(worker = %options.name, queue = %options.queue, "送暖 worker 已连接 Redis");
    let wakers = queue::Wakers::default();
    let relay = tokio::spawn(relay::run(
        services.clone(),
        conn.clone(),
        options.clone(),
        wakers.clone(),
        stop.clone(),
    ));
    let consumers = queue::consume(services, sms, conn, options, wakers, stop.clone()).await;
    let _ = relay.await;
    stopper.abort();
    consumers
}

/// Without Redis: the embedded runner (as the API runs it) until `shutdown` resolves.
pub async fn run_embedded(
    services: Services,
    sms: Arc<dyn SmsProvider>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let config = domain::runner::RunnerConfig::from_settings(&services.settings);
    let runner = domain::runner::Runner::new(services, config, sms);
    let (stop_tx, stop) = watch::channel(false);
    let handle = tokio::spawn(runner.run(stop));
    shutdown.await;
    let _ = stop_tx.send(true);
    let _ = handle.await;
}

/// Removes expired login-failure records every `every`, until `shutdown` resolves.
pub async fn run_housekeeping(
    services: Services,
    every: Duration,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = tick.tick() => {
                match domain::auth::purge_login_failures(&services.db, &services.settings).await {
                    Ok(n) if n > 0 => tracing::info!(removed = n, "housekeeping: expired login failures removed"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = ?e, "housekeeping failed; will retry"),
                }
            }
        }
    }
}
