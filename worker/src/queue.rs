//! The consumers: an apalis worker on Redis that claims each task's job row by id and runs it
//! with the runner's code. Built around the apalis 1.0 faults on Redis:
//!
//! - a slow Redis reply is fatal to an apalis worker (its backend stops): the connection has
//!   an explicit response timeout (`Options::redis_timeout`) and the `Monitor` restarts a
//!   stopped worker (`should_restart`), after Redis answers a PING again (`before_start`), so
//!   an outage or a slow reply never leaves the process without consumers;
//! - apalis refuses a worker whose name it saw alive recently: each start has a new name
//!   (`Options::name`, plus the restart count);
//! - apalis' attempts on Redis are always 25: the handler returns `Ok` whatever the job did,
//!   and the row counts the attempts (`max_attempts`, backoff: the runner's);
//! - the stock interval poll strategy can lose its wake-up: `Tick` polls its timer again after
//!   it fires, so the timer always holds the worker's waker.
use crate::Options;
use apalis::prelude::*;
use apalis_redis::{Config, ConnectionManager, RedisStorage};
use domain::Services;
use domain::notices::SmsProvider;
use domain::runner::{Runner, RunnerConfig};
use futures::StreamExt;
use futures::channel::mpsc;
use redis::aio::ConnectionManagerConfig;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::watch;

/// The task on the queue: which job row to claim. The attempt is the row's when it was handed
/// over (for the logs; the claim decides).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct JobTask {
    pub job_id: i64,
    pub attempt: i32,
}

/// The apalis queue's settings for `options`.
pub fn config(options: &Options) -> Config {
    Config::default()
        .queue(&options.queue)
        .batch_size(options.concurrency.clamp(1, 100))
        .heartbeat_interval(options.heartbeat)
        .missed_heartbeats(3)
        // Long enough that a re-push of a task Redis still holds is dropped; short enough
        // that Redis does not keep every key forever.
        .idempotency_ttl(Some(Duration::from_secs(3600)))
}

fn manager_config(options: &Options) -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_response_timeout(Some(options.redis_timeout))
        .set_connection_timeout(Some(Duration::from_secs(2)))
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_secs(1))
}

/// Connects to Redis, retrying every second while it is down (the stock connect hangs on a
/// Redis that does not answer): the connection, or `None` when stopped first.
pub async fn connect(
    options: &Options,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<Option<ConnectionManager>> {
    let client = redis::Client::open(options.redis_url.as_str())?;
    let mut warned = false;
    loop {
        if *stop.borrow() {
            return Ok(None);
        }
        let attempt = client.get_connection_manager_with_config(manager_config(options));
        match tokio::time::timeout(Duration::from_secs(5), attempt).await {
            Ok(Ok(conn)) => return Ok(Some(conn)),
            Ok(Err(e)) if !warned => tracing::warn!(error = %e, "Redis 无法连接，每秒重试"),
            Err(_) if !warned => tracing::warn!("Redis 连接超时，每秒重试"),
            _ => {}
        }
        warned = true;
        tokio::select! {
            _ = stop.changed() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// Whether Redis answers a PING within `within`.
pub async fn ping(conn: &mut ConnectionManager, within: Duration) -> bool {
    let cmd = redis::cmd("PING");
    let ping = cmd.query_async::<String>(conn);
    matches!(tokio::time::timeout(within, ping).await, Ok(Ok(_)))
}

/// Wakes this process's consumers when the relay pushed tasks, so they fetch at once instead of
/// at their next poll.
#[derive(Clone, Default)]
pub struct Wakers(Arc<Mutex<Vec<mpsc::Sender<()>>>>);

impl Wakers {
    fn subscribe(&self) -> mpsc::Receiver<()> {
        let (tx, rx) = mpsc::channel(1);
        if let Ok(mut all) = self.0.lock() {
            all.push(tx);
        }
        rx
    }

    pub fn wake(&self) {
        if let Ok(mut all) = self.0.lock() {
            // A full channel already holds a wake-up; a closed one belongs to a stopped worker.
            all.retain_mut(|tx| match tx.try_send(()) {
                Ok(()) => true,
                Err(e) => !e.is_disconnected(),
            });
        }
    }
}

/// The consumers' poll strategy: every `poll`, and at each wake-up from the relay. The timer is
/// polled again after it fires (so it always holds the worker's waker: the stock interval
/// strategy does not, and can stall a worker with tasks waiting).
pub struct Tick {
    interval: tokio::time::Interval,
    woken: mpsc::Receiver<()>,
}

impl Tick {
    fn new(every: Duration, woken: mpsc::Receiver<()>) -> Tick {
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Tick { interval, woken }
    }
}

impl PollStrategy for Tick {
    fn poll_drive(&mut self, cx: &mut Context<'_>, _: &PollSnapshot) -> Poll<Option<()>> {
        let mut fired = false;
        while self.interval.poll_tick(cx).is_ready() {
            fired = true;
        }
        while let Poll::Ready(Some(())) = self.woken.poll_next_unpin(cx) {
            fired = true;
        }
        if fired {
            Poll::Ready(Some(()))
        } else {
            Poll::Pending
        }
    }
}

/// What a consumer's handler holds: the way into this worker's batches.
pub struct Consumer {
    batches: tokio::sync::mpsc::UnboundedSender<Waiting>,
}

/// A task's job id and where its handler waits for the batch's end.
type Waiting = (i64, tokio::sync::oneshot::Sender<Result<(), String>>);

impl Consumer {
    /// Starts the batcher (on the current runtime): the tasks handed to the handlers within a
    /// moment of each other (apalis fetches them together) are claimed with one statement and
    /// run as one batch (`Runner::run_claimed_many`: NOTICE jobs share their statements and
    /// call the provider together). At most `Options::concurrency` jobs per batch.
    pub fn new(services: Services, sms: Arc<dyn SmsProvider>, options: &Options) -> Consumer {
        let mut config = RunnerConfig::from_settings(&services.settings);
        config.name = options.name.clone();
        config.lease = options.lease;
        let runner = Arc::new(Runner::new(services.clone(), config, sms));
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(gather(runner, services, rx, options.concurrency.max(1)));
        Consumer { batches: tx }
    }

    /// Has the task's job claimed and run in the next batch. `Err` only when the claim itself
    /// could not be made (the database is unreachable): apalis then retries the task later. A
    /// task whose job is not due (a copy, a stale task, a job held by another worker) does
    /// nothing.
    pub async fn handle(&self, task: JobTask) -> Result<(), BoxDynError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.batches
            .send((task.job_id, tx))
            .map_err(|_| -> BoxDynError { "任务批处理已停止".into() })?;
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(reason)) => Err(format!("任务 #{} 领取失败: {reason}", task.job_id).into()),
            Err(_) => Err(format!("任务 #{} 执行中断", task.job_id).into()),
        }
    }
}

/// Collects the waiting tasks into batches: the first one, then whatever arrives within 2 ms
/// (tasks fetched together reach the handlers within microseconds), up to `max`.
async fn gather(
    runner: Arc<Runner>,
    services: Services,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<Waiting>,
    max: usize,
) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        let window = tokio::time::sleep(Duration::from_millis(2));
        tokio::pin!(window);
        while batch.len() < max {
            tokio::select! {
                biased;
                next = rx.recv() => match next {
                    Some(w) => batch.push(w),
                    None => break,
                },
                _ = &mut window => break,
            }
        }
        let runner = runner.clone();
        let services = services.clone();
        tokio::spawn(async move { run_batch(&runner, &services, batch).await });
    }
}

async fn run_batch(runner: &Runner, services: &Services, batch: Vec<Waiting>) {
    let mut ids: Vec<i64> = batch.iter().map(|(id, _)| *id).collect();
    ids.sort_unstable();
    ids.dedup();
    let cfg = runner.config();
    let answer = match domain::runner::claim_many(&services.db, &cfg.name, cfg.lease, &ids).await {
        Ok(claimed) => {
            let stale = ids.len() - claimed.len();
            metrics::counter!("songnuan_queue_tasks_total", "outcome" => "stale").increment(stale as u64);
            metrics::counter!("songnuan_queue_tasks_total", "outcome" => "ran")
                .increment(claimed.len() as u64);
            if stale > 0 {
                tracing::debug!(stale, "任务已由他人执行或尚未到期，忽略");
            }
            if let Err(e) = runner.run_claimed_many(claimed, None).await {
                // An outcome could not be written: the lease runs out and the job runs again.
                tracing::warn!(error = ?e, "任务结果写入失败，租约到期后重试");
            }
            Ok(())
        }
        Err(e) => Err(e.to_string()),
    };
    for (_, waiting) in batch {
        let _ = waiting.send(answer.clone());
    }
}

async fn handle(task: JobTask, consumer: Data<Arc<Consumer>>) -> Result<(), BoxDynError> {
    consumer.handle(task).await
}

/// Runs the apalis consumer until `stop` turns true, then lets the jobs in flight finish for at
/// most `Options::shutdown_grace`.
pub async fn consume(
    services: Services,
    sms: Arc<dyn SmsProvider>,
    conn: ConnectionManager,
    options: Options,
    wakers: Wakers,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let consumer = Arc::new(Consumer::new(services, sms, &options));
    let cfg = config(&options);
    let base = options.name.clone();
    let grace = options.shutdown_grace;
    let stopping = stop.clone();
    let factory = move |restarts: usize| {
        let ping_conn = conn.clone();
        let timeout = options.redis_timeout;
        let backend = RedisStorage::<JobTask>::new(conn.clone())
            .with_config(cfg.clone())
            .poll_with_strategy(Tick::new(options.poll, wakers.subscribe()))
            .before_start(move |_| {
                let mut c = ping_conn.clone();
                async move {
                    // After an outage or a failed reply: start again once Redis answers.
                    let mut waited = 0u32;
                    while !ping(&mut c, timeout).await {
                        if waited == 0 {
                            tracing::warn!("Redis 未响应，消费者等待其恢复");
                        }
                        waited += 1;
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                    Ok(())
                }
            });
        WorkerBuilder::new(format!("{base}-{restarts}"))
            .backend(backend)
            .data(consumer.clone())
            .concurrency(options.concurrency)
            .build(handle)
    };
    let monitor = Monitor::new()
        .register(factory)
        .should_restart(move |worker, error| {
            let restart = !*stopping.borrow();
            if restart {
                tracing::warn!(worker = %worker.name(), error = %error, "队列消费者出错，重新启动");
            }
            restart
        })
        .shutdown_timeout(grace);
    let signal = async move {
        let _ = stop.wait_for(|s| *s).await;
        Ok(())
    };
    monitor
        .run_with_signal(signal)
        .await
        .map_err(|e| anyhow::anyhow!("队列消费者异常退出: {e}"))
}
