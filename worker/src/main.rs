//! `worker`: runs Songnuan's background jobs against the same database as the API. With
//! `REDIS_URL` it is the queue's consumer (and relay); without it, the embedded runner. Stops
//! on SIGTERM or Ctrl-C: jobs in flight finish (or go back when their lease runs out).
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,sea_orm=warn")),
        )
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("songnuan-worker: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let settings = domain::Settings::from_env()?;
    let db = domain::db::connect(&settings).await?;
    domain::db::migrate(&db).await?;
    let sms = domain::notices::provider_from_settings(&settings.sms)
        .map_err(|e| anyhow::anyhow!("短信通道无法创建: {e}"))?;
    let redis_url = settings.redis_url.clone();
    let services = domain::Services::new(db, Arc::new(settings));
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        domain::shutdown::signal().await;
        tracing::info!("收到停止信号：停止领取新任务，等待执行中的任务完成");
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let housekeeping = tokio::spawn(worker::run_housekeeping(
        services.clone(),
        Duration::from_secs(600),
        stopped(stop.clone()),
    ));
    match redis_url {
        Some(url) => {
            let options = worker::Options::from_env(&services.settings, &url)?;
            tracing::info!(worker = %options.name, queue = %options.queue, concurrency = options.concurrency, "送暖 worker 已启动（Redis 队列）");
            worker::run(services, sms, options, stopped(stop.clone())).await?;
        }
        None => {
            tracing::info!("送暖 worker 已启动（未设置 REDIS_URL：内嵌执行器）");
            worker::run_embedded(services, sms, stopped(stop.clone())).await;
        }
    }
    let _ = housekeeping.await;
    tracing::info!("worker 已停止");
    Ok(())
}
