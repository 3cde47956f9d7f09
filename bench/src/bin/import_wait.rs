//! How long another writer waits while an import runs (issue 13): uploads `--file` to a fresh
//! campaign in SCREENING (the six categories `gen_import` writes) and, from the moment the upload
//! starts until its answer arrives, runs ADMIN `createOrganization` back to back, timing each.
//! Prints the import's time and answer, the writes' count, p50, p99 and max, and — with `--pid`
//! (the API's process) — its peak resident memory (`VmHWM`) before and after.
//!
//!   import_wait --url http://127.0.0.1:18095/graphql --password … --file big.xlsx --pid 1234
use clap::Parser;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    #[arg(long)]
    url: String,
    /// The `admin` user's password.
    #[arg(long)]
    password: String,
    #[arg(long)]
    file: std::path::PathBuf,
    /// The API's process id, for its peak RSS.
    #[arg(long)]
    pid: Option<u32>,
    #[arg(long, default_value = "import")]
    label: String,
}

async fn gql(
    http: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    query: &str,
    vars: Value,
) -> anyhow::Result<Value> {
    let mut req = http.post(url).json(&json!({"query": query, "variables": vars}));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let v: Value = req.send().await?.json().await?;
    if !v["errors"].is_null() {
        anyhow::bail!("{query}: {v}");
    }
    Ok(v["data"].clone())
}

/// `VmHWM` (peak resident set) of a process, in MB.
fn peak_rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let http = reqwest::Client::new();
    let url = a.url.as_str();
    let token = gql(
        &http,
        url,
        None,
        "mutation($p:String!){login(username:\"admin\",password:$p){token}}",
        json!({"p": a.password}),
    )
    .await?["login"]["token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let t = Some(token.as_str());
    let root =
        gql(&http, url, t, "{me{organization{id}}}", json!({})).await?["me"]["organization"]["id"].clone();
    let c = gql(
        &http,
        url,
        t,
        "mutation($i:CreateCampaignInput!){createCampaign(input:$i){id}}",
        json!({"i": {"name": format!("导入等待基准 {}", a.label), "year": 2025, "budget": "9000000.00",
                     "startsOn": "2025-01-15", "deadline": "2025-01-28", "policyRefs": []}}),
    )
    .await?["createCampaign"]["id"]
        .clone();
    for code in [
        "HARDSHIP",
        "COUNTY_HARDSHIP",
        "INJURED",
        "MODEL_WORKER",
        "NEW_EMPLOYMENT",
        "FRONTLINE",
    ] {
        gql(
            &http,
            url,
            t,
            "mutation($c:ID!,$i:CategoryInput!){addCategory(campaignId:$c,input:$i){id}}",
            json!({"c": c, "i": {"code": code, "name": code, "recipientKind": "PERSON", "plannedCount": 100000, "standardAmount": "500.00"}}),
        )
        .await?;
    }
    gql(
        &http,
        url,
        t,
        "mutation($id:ID!){advanceCampaign(id:$id,to:SCREENING){id}}",
        json!({"id": c}),
    )
    .await?;

    let before = a.pid.and_then(peak_rss_mb);
    let bytes = std::fs::read(&a.file)?;
    let size_kb = bytes.len() / 1024;
    let ops = json!({
        "query": "mutation($c:ID!,$f:Upload!){importRecipients(campaignId:$c,file:$f){imported rejected}}",
        "variables": {"c": c, "f": null}
    });
    let form = reqwest::multipart::Form::new()
        .text("operations", ops.to_string())
        .text("map", json!({"0": ["variables.f"]}).to_string())
        .part(
            "0",
            reqwest::multipart::Part::bytes(bytes).file_name(a.file.display().to_string()),
        );
    let started = Instant::now();
    let import = {
        let (http, url, token) = (http.clone(), a.url.clone(), token.clone());
        tokio::spawn(async move {
            let answer: Value = http
                .post(&url)
                .bearer_auth(token)
                .multipart(form)
                .send()
                .await?
                .json()
                .await?;
            anyhow::Ok((answer, started.elapsed()))
        })
    };
    let mut waits = Vec::new();
    let mut i = 0u32;
    while !import.is_finished() {
        i += 1;
        let w = Instant::now();
        gql(
            &http,
            url,
            t,
            "mutation($i:CreateOrganizationInput!){createOrganization(input:$i){id}}",
            json!({"i": {"name": format!("基准工会{}-{i}", a.label), "kind": "GRASSROOTS", "parentId": root}}),
        )
        .await?;
        waits.push(w.elapsed());
    }
    let (answer, took) = import.await??;
    waits.sort();
    let outcome = if answer["errors"].is_null() {
        answer["data"]["importRecipients"].to_string()
    } else {
        format!("refused: {}", answer["errors"][0]["message"])
    };
    println!(
        "{:<10} {:>7} KB  import {:>7.2} s  {}",
        a.label,
        size_kb,
        took.as_secs_f64(),
        outcome
    );
    println!(
        "{:<10} createOrganization during it: {} writes, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        "",
        waits.len(),
        percentile(&waits, 0.5).as_secs_f64() * 1e3,
        percentile(&waits, 0.99).as_secs_f64() * 1e3,
        waits.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
    if let (Some(pid), Some(before)) = (a.pid, before) {
        println!(
            "{:<10} API peak RSS (VmHWM): {before:.0} MB before, {:.0} MB after",
            "",
            peak_rss_mb(pid).unwrap_or_default()
        );
    }
    Ok(())
}
