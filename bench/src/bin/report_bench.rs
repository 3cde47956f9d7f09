//! The evaluation report's cost: the report's data (`domain::reports::data::build`, which reads
//! the evaluation with its figures) and the DOCX (chart, layout, zip) for one campaign, as the
//! REPORT job does them. Prints the time of each run and the process's peak RSS.
//!
//!   # the 2025 campaign, loaded from the demo into a fresh database:
//!   DATABASE_URL=sqlite:///tmp/rb.db?mode=rwc SONGNUAN_SECRET=… \
//!     cargo run --release -p songnuan-bench --bin report_bench -- --demo
//!   # a campaign of gen_province (`--disbursed 1000000` makes one with a million paid rows):
//!   DATABASE_URL=postgres://…/songnuan_bench SONGNUAN_SECRET=… \
//!     cargo run --release -p songnuan-bench --bin report_bench -- --campaign <id>
use clap::Parser;
use domain::reports::{ReportFormat, data, job};
use std::sync::Arc;
use std::time::Instant;

#[derive(Parser)]
struct Args {
    /// The campaign to report on.
    #[arg(long)]
    campaign: Option<i64>,
    /// Load the 2025 demo campaign first and report on it.
    #[arg(long)]
    demo: bool,
    #[arg(long, default_value_t = 3)]
    runs: u32,
    /// Also write the last DOCX here.
    #[arg(long)]
    out: Option<String>,
}

/// Peak resident set size of this process (VmHWM), in MiB.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let settings = domain::Settings::from_env().map_err(|e| anyhow::anyhow!("{e}"))?;
    let db = domain::db::connect(&settings).await?;
    domain::db::migrate(&db).await?;
    domain::bootstrap::run(&db, &settings)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let services = domain::Services::new(db, Arc::new(settings));
    let campaign = if args.demo {
        let data = domain::demo::parse(domain::demo::FUMIN_2025).map_err(|e| anyhow::anyhow!("{e}"))?;
        domain::demo::load(&services, &data, Some(domain::demo::FUMIN_2025_RECIPIENTS))
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .campaign_id
    } else {
        args.campaign
            .ok_or_else(|| anyhow::anyhow!("--campaign <id> or --demo"))?
    };
    println!("campaign {campaign}; peak RSS before: {:.1} MiB", peak_rss_mib());
    for run in 1..=args.runs {
        let t = Instant::now();
        let d = data::build(&services, campaign, job::today())
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let read = t.elapsed();
        let t2 = Instant::now();
        let bytes = tokio::task::spawn_blocking(move || job::render_evaluation(&d, ReportFormat::Docx))
            .await?
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let render = t2.elapsed();
        println!(
            "run {run}: data {:.1?} + DOCX {:.1?} = {:.1?}; {} bytes; peak RSS {:.1} MiB",
            read,
            render,
            t.elapsed(),
            bytes.len(),
            peak_rss_mib()
        );
        if run == args.runs
            && let Some(out) = &args.out
        {
            std::fs::write(out, &bytes)?;
        }
    }
    Ok(())
}
