//! The Songnuan API server: GraphQL over axum plus the operational endpoints. Resolvers are
//! thin; every rule lives in the `domain` crate.
pub mod graphql;
pub mod http;
pub mod runtime;
pub mod telemetry;

use domain::bootstrap::{self, Bootstrap};
use domain::{Services, Settings};
use std::sync::Arc;

/// Everything the handlers share. Holds no per-user state: replicas are interchangeable.
#[derive(Clone)]
pub struct AppState {
    pub services: Services,
    pub schema: graphql::SongnuanSchema,
    pub operations: Arc<runtime::operations::Operations>,
    pub answers: Arc<runtime::answers::Answers>,
    pub redis: Option<redis::Client>,
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// The embedded job runner `serve` starts (none for states made by `state_from`).
    pub runner: Option<RunnerSetup>,
}

/// What the embedded job runner is made of: its settings and the SMS provider of the NOTICE
/// jobs (the `log` provider; tests may hand in their own).
#[derive(Clone)]
pub struct RunnerSetup {
    pub config: domain::runner::RunnerConfig,
    pub sms: Arc<dyn domain::notices::SmsProvider>,
}

/// Connects, migrates, bootstraps the first admin and builds the state.
pub async fn prepare(settings: Settings) -> anyhow::Result<AppState> {
    let db = domain::db::connect(&settings).await?;
    domain::db::migrate(&db).await?;
    let settings = Arc::new(settings);
    match bootstrap::run(&db, &settings)
        .await
        .map_err(|e| anyhow::anyhow!("{e}: {:?}", e))?
    {
        Bootstrap::AlreadyDone => {}
        Bootstrap::Created => {
            tracing::info!("首次启动：已创建总工会与 admin 账号（密码来自 SONGNUAN_ADMIN_PASSWORD）")
        }
        Bootstrap::CreatedWithPassword(p) => {
            // Printed once, on purpose outside the log stream.
            println!(
                "\n==== 首次启动：已创建 admin 账号 ====\n用户名: admin\n密码:   {p}\n请登录后立即修改密码（changePassword）。\n====================================\n"
            );
        }
    }
    let redis = match &settings.redis_url {
        Some(url) => Some(redis::Client::open(url.as_str())?),
        None => None,
    };
    // The SMS provider of the NOTICE jobs, chosen once (`SONGNUAN_SMS_PROVIDER`).
    let sms = domain::notices::provider_from_settings(&settings.sms)
        .map_err(|e| anyhow::anyhow!("短信通道无法创建: {e}"))?;
    // Without Redis the API runs the jobs itself (`SONGNUAN_JOB_RUNNER=off` leaves them to
    // other replicas). With `REDIS_URL` it only queues them (the outbox rows): the `worker`
    // processes hand them to Redis and run them.
    let embedded = settings.job_runner && settings.redis_url.is_none();
    let runner = embedded.then(|| RunnerSetup {
        config: domain::runner::RunnerConfig::from_settings(&settings),
        sms,
    });
    let mut state = state_from(Services::new(db, settings), redis);
    state.runner = runner;
    Ok(state)
}

/// The shared state over ready services (tests build one over an instrumented connection).
pub fn state_from(services: Services, redis: Option<redis::Client>) -> AppState {
    AppState {
        schema: graphql::build_schema(services.clone()),
        operations: Arc::new(runtime::build_operations()),
        answers: Arc::new(runtime::answers::Answers::new(
            services.settings.answer_cache_bytes,
        )),
        services,
        redis,
        metrics: telemetry::metrics_handle(),
        runner: None,
    }
}

/// Serves until `shutdown` resolves, then drains in-flight requests for at most the
/// configured grace (`Settings::shutdown_grace`) and returns, whatever is still running: an
/// orchestrator that sends SIGTERM relies on the process ending. The embedded job runner
/// (`AppState::runner`) runs alongside and stops with the server: the job in hand finishes (or
/// its lease runs out and another runner takes it), jobs claimed but not started go back.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let grace = state.services.settings.shutdown_grace;
    let (stop_runner, runner_stopped) = tokio::sync::watch::channel(false);
    let runner = state.runner.clone().map(|r| {
        let runner = domain::runner::Runner::new(state.services.clone(), r.config, r.sms);
        tokio::spawn(runner.run(runner_stopped.clone()))
    });
    let gauges = tokio::spawn(refresh_job_gauges(state.services.db.clone(), runner_stopped));
    let app = http::router(state);
    let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        let _ = stopping_tx.send(());
    });
    let grace_over = async move {
        if stopping_rx.await.is_err() {
            // The server ended on its own (an error): nothing to time.
            return std::future::pending().await;
        }
        tokio::time::sleep(grace).await;
    };
    let served = tokio::select! {
        served = server => served,
        () = grace_over => {
            tracing::warn!(grace_secs = grace.as_secs_f64(), "停止等待超时：仍有请求未完成，强制退出");
            Ok(())
        }
    };
    let _ = stop_runner.send(true);
    gauges.abort();
    if let Some(handle) = runner
        && tokio::time::timeout(std::time::Duration::from_secs(5), handle)
            .await
            .is_err()
    {
        tracing::warn!("任务执行器未在 5 秒内停止；其任务将在租约到期后由其他执行器接手");
    }
    served?;
    Ok(())
}

/// Keeps the job gauges of `/metrics` current (every 2 s, until `stop` turns true): jobs by
/// status (`songnuan_jobs{status}`) and how long the oldest due job has waited
/// (`songnuan_jobs_oldest_queued_seconds`). Read from the `jobs` table, the truth in both modes
/// (embedded or Redis), so any API replica reports the same figures.
pub async fn refresh_job_gauges(
    db: sea_orm::DatabaseConnection,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(2));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            _ = tick.tick() => {}
        }
        match domain::work::relay::stats(&db).await {
            Ok(s) => {
                for (status, n) in [
                    ("QUEUED", s.queued),
                    ("RUNNING", s.running),
                    ("DONE", s.done),
                    ("FAILED", s.failed),
                ] {
                    metrics::gauge!("songnuan_jobs", "status" => status).set(n as f64);
                }
                metrics::gauge!("songnuan_jobs_oldest_queued_seconds").set(s.oldest_queued_secs as f64);
            }
            Err(e) => tracing::debug!(error = ?e, "任务统计读取失败"),
        }
    }
}

/// Serves `/metrics` on its own listener until `shutdown` resolves.
pub async fn serve_metrics(
    listener: tokio::net::TcpListener,
    handle: metrics_exporter_prometheus::PrometheusHandle,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    axum::serve(listener, http::metrics_router(handle))
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}
