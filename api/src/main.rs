//! `api`: serve the GraphQL API (default), apply migrations, load demo data, print the schema.
use clap::{Parser, Subcommand};
use migration::MigratorTrait;
use std::process::ExitCode;

// Many small allocations per request (GraphQL documents, rows): mimalloc handles them with
// less contention between threads than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "api", about = "送暖 Songnuan API server")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Database migrations: up (default), down, status.
    Migrate {
        #[arg(default_value = "up")]
        action: String,
    },
    /// Load the demo data (the 2025 富民县 campaign) into the configured database.
    Demo {
        /// A TOML data file; the shipped demo/fumin-2025.toml when absent.
        #[arg(long)]
        file: Option<std::path::PathBuf>,
    },
    /// Print the GraphQL schema (SDL), as committed in schema.graphql.
    Schema,
}

fn main() -> ExitCode {
    api::telemetry::init_logging();
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("songnuan: 无法启动运行时: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = rt.block_on(run(cli.command.unwrap_or(Command::Serve)));
    // A request abandoned at the end of the shutdown grace may still hold a worker thread:
    // do not wait for it.
    rt.shutdown_timeout(std::time::Duration::from_millis(500));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line, no backtrace: what failed and why.
            eprintln!("songnuan: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cmd: Command) -> anyhow::Result<()> {
    if let Command::Schema = cmd {
        print!("{}", api::graphql::schema_sdl());
        return Ok(());
    }
    let settings = domain::Settings::from_env()?;
    if settings.dev_secret {
        tracing::warn!(
            "!!! 未设置 SONGNUAN_SECRET：使用 {} 下生成的开发密钥。生产环境必须设置 SONGNUAN_SECRET !!!",
            settings.data_dir.display()
        );
    }
    match cmd {
        Command::Serve => {
            let listen = settings.listen;
            let metrics_listen = settings.metrics_listen;
            let state = api::prepare(settings).await?;
            let bind = |addr| async move {
                tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|e| anyhow::anyhow!("无法监听 {addr}: {e}"))
            };
            let listener = bind(listen).await?;
            // One signal stops both servers.
            let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
            if let Some(addr) = metrics_listen {
                let metrics_listener = bind(addr).await?;
                let mut stop = stop_rx.clone();
                let handle = state.metrics.clone();
                tokio::spawn(async move {
                    let stopped = async move {
                        let _ = stop.wait_for(|s| *s).await;
                    };
                    if let Err(e) = api::serve_metrics(metrics_listener, handle, stopped).await {
                        tracing::error!(error = %e, "metrics server failed");
                    }
                });
                tracing::info!("指标端点: http://{addr}/metrics");
            }
            tracing::info!("送暖 API 已启动: http://{listen}/graphql");
            let stopped = async move {
                domain::shutdown::signal().await;
                tracing::info!("收到停止信号，正在完成进行中的请求…");
                let _ = stop_tx.send(true);
            };
            api::serve(listener, state, stopped).await
        }
        Command::Migrate { action } => {
            let db = domain::db::connect(&settings).await?;
            match action.as_str() {
                "up" => migration::Migrator::up(&db, None).await?,
                "down" => migration::Migrator::down(&db, Some(1)).await?,
                "status" => migration::Migrator::status(&db).await?,
                other => anyhow::bail!("未知的迁移操作 {other}（可用: up, down, status）"),
            }
            Ok(())
        }
        Command::Demo { file } => {
            let read = |p: &std::path::Path| {
                std::fs::read_to_string(p).map_err(|e| anyhow::anyhow!("无法读取 {}: {e}", p.display()))
            };
            let (text, recipients) = match &file {
                Some(p) => {
                    let text = read(p)?;
                    let data = domain::demo::parse(&text).map_err(|e| anyhow::anyhow!("{e}"))?;
                    // The recipients file sits beside the TOML file.
                    let dir = p.parent().unwrap_or(std::path::Path::new("."));
                    let csv = data
                        .campaign
                        .recipients
                        .as_ref()
                        .map(|name| read(&dir.join(name)))
                        .transpose()?;
                    (text, csv)
                }
                None => (
                    domain::demo::FUMIN_2025.to_string(),
                    Some(domain::demo::FUMIN_2025_RECIPIENTS.to_string()),
                ),
            };
            let data = domain::demo::parse(&text).map_err(|e| anyhow::anyhow!("{e}"))?;
            // The demo pays everyone at once: its letters need not wait for a burst to end.
            let mut settings = settings;
            settings.letter_delay = std::time::Duration::ZERO;
            let state = api::prepare(settings).await?;
            let s = domain::demo::load(&state.services, &data, recipients.as_deref())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            if s.already_loaded {
                println!("演示数据已存在（项目 id {}），未重复加载。", s.campaign_id);
            } else {
                println!(
                    "已加载演示数据：项目 id {}，新增组织 {} 个、用户 {} 个（密码见数据文件 demo_password）、类别 {} 个、慰问对象 {} 个。",
                    s.campaign_id, s.organizations, s.users, s.categories, s.recipients
                );
            }
            run_demo_jobs(&state, &s).await
        }
        Command::Schema => unreachable!("handled above"),
    }
}

/// Runs the demo's jobs (notices, letters, reports) now when this process is the one that runs
/// jobs (no `REDIS_URL`), so the notices are sent and the reports ready to download when the
/// command ends; with Redis the `worker` runs them. Prints what they left behind.
async fn run_demo_jobs(state: &api::AppState, s: &domain::demo::DemoSummary) -> anyhow::Result<()> {
    let services = &state.services;
    match state.runner.clone() {
        Some(r) => {
            let runner = domain::runner::Runner::new(services.clone(), r.config, r.sms);
            let (_keep, stop) = tokio::sync::watch::channel(false);
            let mut ran = 0;
            // Each pass claims the due jobs; a failed one waits for its backoff, so the loop
            // ends when nothing is due.
            loop {
                let n = runner.run_due(&stop).await.map_err(|e| anyhow::anyhow!("{e}"))?;
                if n == 0 {
                    break;
                }
                ran += n;
                println!("已执行任务 {ran} 个…");
            }
        }
        None => println!("任务已写入队列，由 worker 进程执行（已设置 REDIS_URL 或关闭了内置执行器）。"),
    }
    let o = domain::demo::outcome(services, s.campaign_id, &s.reports)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for (channel, status, n) in &o.notices {
        println!("通知 {channel} · {status}: {n} 条");
    }
    for r in &o.reports {
        match (r.status.as_str(), &r.file_name) {
            ("DONE", Some(name)) => println!(
                "报表 {} {} 已生成「{name}」：GET /files/{}（用可读该项目的账号登录，带 Bearer token 下载；report(id: \"{}\") 可查）",
                r.kind, r.format, r.id, r.id
            ),
            (status, _) => println!(
                "报表 {} {}（id {}）状态 {status}{}",
                r.kind,
                r.format,
                r.id,
                r.error.as_deref().map(|e| format!("：{e}")).unwrap_or_default()
            ),
        }
    }
    Ok(())
}
