//! `worker`: runs Songnuan's background jobs against the same database as the API.
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
    let services = domain::Services::new(db, Arc::new(settings));
    tracing::info!("送暖 worker 已启动");
    worker::run_housekeeping(services, Duration::from_secs(600), async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await;
    tracing::info!("worker 已停止");
    Ok(())
}
