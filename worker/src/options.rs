//! How a worker on Redis runs: read from the environment (`Options::from_env`), or built by
//! tests (the harness gives each test a queue of its own).
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Options {
    /// `REDIS_URL`.
    pub redis_url: String,
    /// The apalis queue: the prefix of every Redis key (`SONGNUAN_QUEUE`, default
    /// `songnuan:jobs`). Workers and relays of one deployment share it.
    pub queue: String,
    /// This process's name: host, pid, start time and a random part, so a worker restarted at
    /// once is never refused its name by Redis (apalis refuses a name seen alive recently).
    /// The consumer's apalis name adds its restart count.
    pub name: String,
    /// Jobs run at once by this worker (`SONGNUAN_WORKER_CONCURRENCY`, default 32).
    pub concurrency: usize,
    /// How often the relay looks for due jobs and an idle consumer asks Redis for tasks
    /// (`SONGNUAN_JOB_POLL_MS`, default 200; a job queued in this process wakes them at once).
    pub poll: Duration,
    /// Rows handed over per relay round (`SONGNUAN_RELAY_BATCH`, default 500).
    pub relay_batch: u64,
    /// An unchanged job is handed over again after this long (`SONGNUAN_HANDOVER_TIMEOUT_SECS`,
    /// default 60): Redis keeps nothing on disk and may have lost it.
    pub handover_timeout: Duration,
    /// How long a claim holds a job (`SONGNUAN_JOB_LEASE_SECS`, default 60): a job whose
    /// worker died runs again after it.
    pub lease: Duration,
    /// A Redis reply slower than this is an error (`SONGNUAN_REDIS_TIMEOUT_MS`, default 5000);
    /// the consumer is then restarted, never left dead.
    pub redis_timeout: Duration,
    /// apalis' heartbeat; a worker silent for 3 heartbeats is dead and its fetched tasks go
    /// back to the queue (`SONGNUAN_WORKER_HEARTBEAT_SECS`, default 5).
    pub heartbeat: Duration,
    /// How long a stopping worker lets its jobs in flight finish (`SONGNUAN_SHUTDOWN_GRACE_SECS`,
    /// default 10).
    pub shutdown_grace: Duration,
}

impl Options {
    /// Defaults for `redis_url` and this process.
    pub fn new(redis_url: &str) -> Options {
        Options {
            redis_url: redis_url.to_string(),
            queue: "songnuan:jobs".into(),
            name: unique_name(),
            concurrency: 64,
            poll: Duration::from_millis(200),
            relay_batch: 500,
            handover_timeout: Duration::from_secs(60),
            lease: Duration::from_secs(60),
            redis_timeout: Duration::from_secs(5),
            heartbeat: Duration::from_secs(5),
            shutdown_grace: Duration::from_secs(10),
        }
    }

    /// From the process's settings and environment (see each field).
    pub fn from_env(settings: &domain::Settings, redis_url: &str) -> anyhow::Result<Options> {
        Options::from_lookup(settings, redis_url, |k| std::env::var(k).ok())
    }

    pub fn from_lookup(
        settings: &domain::Settings,
        redis_url: &str,
        get: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Options> {
        let num = |key: &str, default: u64, min: u64, max: u64| -> anyhow::Result<u64> {
            match get(key) {
                None => Ok(default),
                Some(v) => match v.trim().parse::<u64>() {
                    Ok(n) if (min..=max).contains(&n) => Ok(n),
                    _ => anyhow::bail!("{key} 应为 {min} 到 {max} 之间的整数（当前: {v}）"),
                },
            }
        };
        let mut o = Options::new(redis_url);
        if let Some(q) = get("SONGNUAN_QUEUE").filter(|q| !q.trim().is_empty()) {
            o.queue = q.trim().to_string();
        }
        o.concurrency = num("SONGNUAN_WORKER_CONCURRENCY", 64, 1, 1024)? as usize;
        o.poll = settings.job_poll;
        o.relay_batch = num("SONGNUAN_RELAY_BATCH", 500, 1, 10_000)?;
        o.handover_timeout = Duration::from_secs(num("SONGNUAN_HANDOVER_TIMEOUT_SECS", 60, 1, 86_400)?);
        o.lease = Duration::from_secs(num("SONGNUAN_JOB_LEASE_SECS", 60, 1, 86_400)?);
        o.redis_timeout = Duration::from_millis(num("SONGNUAN_REDIS_TIMEOUT_MS", 5000, 50, 600_000)?);
        o.heartbeat = Duration::from_secs(num("SONGNUAN_WORKER_HEARTBEAT_SECS", 5, 1, 600)?);
        o.shutdown_grace = settings.shutdown_grace;
        Ok(o)
    }
}

/// host-pid-start time-random.
pub fn unique_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    format!(
        "{host}-{}-{started}-{:06x}",
        std::process::id(),
        rand::random::<u32>() & 0xff_ffff
    )
}
