//! `markPaid` latency against a running API, through the contract only (so the same client
//! measures any release of the server: `bench/mark_paid.sh` runs it against the build before
//! the outbox and the current one).
//!
//! It sets up its own campaign: N recipients with phones, verified, funded, one cash
//! disbursement each, planned by a caseworker and approved by finance (maker-checker), then
//! marks them paid with `concurrency` clients and prints p50 / p90 / p99 / max and the rate.
//! Set-up requests are not timed.
use anyhow::{Context, Result, bail};
use clap::Parser;
use rand::{SeedableRng, rngs::StdRng};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    /// The API's GraphQL endpoint.
    #[arg(long, default_value = "http://127.0.0.1:18095/graphql")]
    url: String,
    #[arg(long, env = "SONGNUAN_ADMIN_PASSWORD")]
    admin_password: String,
    /// Disbursements to mark paid.
    #[arg(long, default_value_t = 2000)]
    n: usize,
    /// Clients marking paid at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Distinguishes the users and campaign of repeated runs on one database.
    #[arg(long, default_value = "1")]
    run: String,
}

struct Client {
    http: reqwest::Client,
    url: String,
}

impl Client {
    async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Result<Value> {
        let mut req = self
            .http
            .post(&self.url)
            .json(&json!({"query": query, "variables": variables}));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let v: Value = req.send().await?.json().await?;
        if let Some(e) = v.get("errors") {
            bail!("{query}: {e}");
        }
        Ok(v["data"].clone())
    }

    async fn login(&self, user: &str, password: &str) -> Result<String> {
        let d = self
            .gql(
                None,
                "mutation($u:String!,$p:String!){login(username:$u,password:$p){token}}",
                json!({"u": user, "p": password}),
            )
            .await?;
        Ok(d["login"]["token"].as_str().context("no token")?.to_string())
    }
}

/// Runs `f` over `items` with `width` requests in flight; the results in order.
async fn each<T, F, Fut>(items: Vec<T>, width: usize, f: F) -> Result<Vec<String>>
where
    T: Send + 'static,
    F: Fn(T) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<String>> + Send,
{
    use futures::StreamExt;
    let f = Arc::new(f);
    futures::stream::iter(items.into_iter().map(|x| {
        let f = f.clone();
        async move { f(x).await }
    }))
    .buffered(width)
    .collect::<Vec<_>>()
    .await
    .into_iter()
    .collect()
}

fn id_of(v: &Value, field: &str) -> Result<String> {
    Ok(v[field]["id"]
        .as_str()
        .with_context(|| format!("{field}: {v}"))?
        .to_string())
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let c = Arc::new(Client {
        http: reqwest::Client::new(),
        url: args.url.clone(),
    });
    let run = &args.run;
    let admin = c.login("admin", &args.admin_password).await?;
    let orgs = c
        .gql(Some(&admin), "{organizations{id parent{id}}}", json!({}))
        .await?;
    let root = orgs["organizations"]
        .as_array()
        .and_then(|a| a.iter().find(|o| o["parent"].is_null()))
        .and_then(|o| o["id"].as_str())
        .context("no root organisation")?
        .to_string();
    let mut tokens = Vec::new();
    for (name, role) in [("mpcw", "CASEWORKER"), ("mpfin", "FINANCE")] {
        let user = format!("{name}{run}");
        c.gql(
            Some(&admin),
            "mutation($i:CreateUserInput!){createUser(input:$i){id}}",
            json!({"i": {"username": user, "password": "bench-pass-123", "displayName": user, "roles": [role], "organizationId": root}}),
        )
        .await?;
        tokens.push(c.login(&user, "bench-pass-123").await?);
    }
    let (cw, fin) = (Arc::new(tokens[0].clone()), Arc::new(tokens[1].clone()));
    let n = args.n;
    let budget = format!("{}.00", n * 500);
    let campaign = id_of(
        &c.gql(
            Some(&admin),
            "mutation($i:CreateCampaignInput!){createCampaign(input:$i){id}}",
            json!({"i": {"name": format!("markPaid 基准 {run}"), "year": 2025, "budget": budget,
                         "startsOn": "2025-01-15", "deadline": "2025-01-28"}}),
        )
        .await?,
        "createCampaign",
    )?;
    c.gql(
        Some(&admin),
        "mutation($c:ID!,$i:CategoryInput!){addCategory(campaignId:$c,input:$i){id}}",
        json!({"c": campaign, "i": {"code": "HARDSHIP", "name": "困难职工", "recipientKind": "PERSON", "plannedCount": n, "standardAmount": "500.00"}}),
    )
    .await?;
    let advance = |to: &'static str| {
        let (c, admin, campaign) = (c.clone(), admin.clone(), campaign.clone());
        async move {
            c.gql(
                Some(&admin),
                "mutation($id:ID!,$to:CampaignStage!){advanceCampaign(id:$id,to:$to){id}}",
                json!({"id": campaign, "to": to}),
            )
            .await
        }
    };
    advance("SCREENING").await?;

    let t = Instant::now();
    let mut rng = StdRng::seed_from_u64(run.bytes().map(u64::from).sum());
    let people: Vec<(String, String, String)> = (0..n)
        .map(|i| {
            (
                songnuan_bench::name(&mut rng),
                songnuan_bench::id_number(&mut rng, 530124 + (i / 1000) as u32, i as u32),
                songnuan_bench::phone(&mut rng),
            )
        })
        .collect();
    let recipients = {
        let (c, cw, campaign, root) = (c.clone(), cw.clone(), campaign.clone(), root.clone());
        each(people, 8, move |(name, id_number, phone)| {
            let (c, cw, campaign, root) = (c.clone(), cw.clone(), campaign.clone(), root.clone());
            async move {
                let r = id_of(
                    &c.gql(
                        Some(&cw),
                        "mutation($i:NominateInput!){nominateRecipient(input:$i){id}}",
                        json!({"i": {"campaignId": campaign, "categoryCode": "HARDSHIP", "kind": "PERSON", "name": name,
                                     "idNumber": id_number, "phone": phone, "bankName": "农村信用社",
                                     "bankAccount": "6217000000000000", "nominatedById": root}}),
                    )
                    .await?,
                    "nominateRecipient",
                )?;
                c.gql(
                    Some(&cw),
                    "mutation($id:ID!){verifyRecipient(id:$id,method:HOME_VISIT){id}}",
                    json!({"id": r}),
                )
                .await?;
                Ok(r)
            }
        })
        .await?
    };
    advance("PROCUREMENT").await?;
    c.gql(
        Some(&fin),
        "mutation($c:ID!,$a:Decimal!){recordFunding(campaignId:$c,amount:$a,reference:\"bench\",receivedOn:\"2025-01-10\"){id}}",
        json!({"c": campaign, "a": budget}),
    )
    .await?;
    advance("DISTRIBUTION").await?;
    let planned = {
        let (c, cw) = (c.clone(), cw.clone());
        each(recipients, 8, move |r| {
            let (c, cw) = (c.clone(), cw.clone());
            async move {
                id_of(
                    &c.gql(
                        Some(&cw),
                        "mutation($i:DisburseInput!){disburse(input:$i){id}}",
                        json!({"i": {"recipientId": r, "kind": "CASH", "amount": "500.00", "idempotencyKey": format!("mp-{r}")}}),
                    )
                    .await?,
                    "disburse",
                )
            }
        })
        .await?
    };
    for chunk in planned.chunks(200) {
        c.gql(
            Some(&fin),
            "mutation($ids:[ID!]!){approveDisbursements(ids:$ids){id}}",
            json!({"ids": chunk}),
        )
        .await?;
    }
    eprintln!(
        "set-up: {n} approved disbursements in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    // The measured part: markPaid on each, `concurrency` at a time.
    let next = Arc::new(AtomicUsize::new(0));
    let planned = Arc::new(planned);
    let t = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..args.concurrency {
        let (c, fin, next, planned) = (c.clone(), fin.clone(), next.clone(), planned.clone());
        workers.push(tokio::spawn(async move {
            let mut took = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(id) = planned.get(i) else { break };
                let t = Instant::now();
                c.gql(
                    Some(&fin),
                    "mutation($id:ID!,$r:String!,$p:Date!){markPaid(id:$id,bankReference:$r,paidOn:$p){id}}",
                    json!({"id": id, "r": format!("BANK-{id}"), "p": "2025-01-20"}),
                )
                .await?;
                took.push(t.elapsed());
            }
            anyhow::Ok(took)
        }));
    }
    let mut took: Vec<Duration> = Vec::new();
    for w in workers {
        took.extend(w.await??);
    }
    let wall = t.elapsed();
    took.sort();
    let pct = |p: f64| took[((took.len() as f64 * p).ceil() as usize).clamp(1, took.len()) - 1];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "markPaid ×{} at {} clients: {:.0} req/s   p50 {:.2} ms   p90 {:.2} ms   p99 {:.2} ms   max {:.2} ms",
        took.len(),
        args.concurrency,
        took.len() as f64 / wall.as_secs_f64(),
        ms(pct(0.50)),
        ms(pct(0.90)),
        ms(pct(0.99)),
        ms(*took.last().context("nothing measured")?),
    );
    Ok(())
}
