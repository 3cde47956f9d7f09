//! Test harness: the real API (router, middleware, database) on 127.0.0.1:0 with a fresh
//! database per test — an SQLite file by default, or a new PostgreSQL database when
//! `SONGNUAN_TEST_DATABASE_URL` names a server (`.ci/run` runs the suite both ways). With
//! `SONGNUAN_TEST_REDIS_URL` (or a test's own `REDIS_URL`) the jobs go through Redis: the API
//! only queues them and an in-process worker (the `worker` crate, with the test's settings and
//! SMS provider) runs them, on a queue of the test's own so parallel tests never take each
//! other's tasks.
pub mod fake_province;
pub mod fake_robot;
pub mod fake_server;
pub mod fake_sms;
pub mod layers;
pub mod redis_server;

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::PathBuf;

pub const ADMIN_PASSWORD: &str = "admin-pass-123";
pub const TEST_SECRET: &str = "songnuan-test-secret-0123456789abcdef";

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub db: DatabaseConnection,
    pub settings: domain::Settings,
    pub dir: PathBuf,
    /// This test's Redis queue (the key prefix), used when the settings name a Redis.
    pub queue: String,
    pg_db: Option<(String, String)>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    worker_stop: Option<tokio::sync::oneshot::Sender<()>>,
}

fn temp_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("songnuan-test-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// The PostgreSQL server URL without a database name, e.g. postgres://postgres@127.0.0.1:5432
fn pg_server() -> Option<String> {
    std::env::var("SONGNUAN_TEST_DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"))
}

fn with_database(server: &str, name: &str) -> String {
    // Replace (or add) the path component.
    let (scheme, rest) = server.split_once("://").expect("url with scheme");
    let host = rest.split('/').next().unwrap_or(rest);
    format!("{scheme}://{host}/{name}")
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(&[]).await
    }

    /// Starts a server with extra environment settings (as the process would read them).
    pub async fn spawn_with(extra: &[(&str, &str)]) -> TestApp {
        let dir = temp_dir();
        let mut vars: HashMap<String, String> = HashMap::new();
        vars.insert("SONGNUAN_DATA_DIR".into(), dir.display().to_string());
        vars.insert("SONGNUAN_SECRET".into(), TEST_SECRET.into());
        vars.insert("SONGNUAN_ADMIN_PASSWORD".into(), ADMIN_PASSWORD.into());
        vars.insert("SONGNUAN_DB_MAX_CONNECTIONS".into(), "8".into());
        // No daily reminder job unless a test asks for one (it would show among the jobs).
        vars.insert("SONGNUAN_REMINDER_AT".into(), "off".into());
        let mut pg_db = None;
        if let Some(server) = pg_server() {
            let name = format!("sn_test_{}", rand::random::<u64>());
            let admin = domain::db::connect_url(&with_database(&server, "postgres"), 1)
                .await
                .expect("connect to PostgreSQL server");
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create test database");
            vars.insert("DATABASE_URL".into(), with_database(&server, &name));
            pg_db = Some((server, name));
        }
        if let Ok(redis) = std::env::var("SONGNUAN_TEST_REDIS_URL") {
            vars.insert("REDIS_URL".into(), redis);
        }
        for (k, v) in extra {
            vars.insert(k.to_string(), v.to_string());
        }
        let settings = domain::Settings::from_lookup(|k| vars.get(k).cloned()).expect("test settings");
        let state = api::prepare(settings.clone()).await.expect("prepare app");
        let db = state.services.db.clone();
        let queue = format!("sn-test:{:016x}", rand::random::<u64>());
        // With Redis the API only queues: the in-process worker runs the jobs (unless the test
        // turned the runners off to run its own).
        let mut worker_stop = None;
        if settings.job_runner
            && let Some(url) = &settings.redis_url
        {
            let sms = domain::notices::provider_from_settings(&settings.sms).expect("SMS provider");
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            tokio::spawn(worker::run(
                state.services.clone(),
                sms,
                test_worker_options(url, &queue),
                async {
                    let _ = rx.await;
                },
            ));
            worker_stop = Some(tx);
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = api::serve(listener, state, async {
                let _ = rx.await;
            })
            .await;
        });
        TestApp {
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            db,
            settings,
            dir,
            queue,
            pg_db,
            shutdown: Some(tx),
            worker_stop,
        }
    }

    /// Options for a worker on this test's queue at `redis_url` (a test starting its own).
    pub fn worker_options(&self, redis_url: &str) -> worker::Options {
        test_worker_options(redis_url, &self.queue)
    }

    pub fn is_postgres(&self) -> bool {
        self.pg_db.is_some()
    }

    /// POSTs a GraphQL request and returns the whole JSON answer (`data` and `errors`).
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut req = self
            .http
            .post(format!("{}/graphql", self.base))
            .json(&json!({"query": query, "variables": variables}));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.expect("send");
        assert!(resp.status().is_success(), "HTTP {}", resp.status());
        resp.json().await.expect("json answer")
    }

    /// Like `gql`, but panics on any error and returns `data`.
    pub async fn ok(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let v = self.gql(token, query, variables).await;
        assert!(v.get("errors").is_none(), "unexpected errors: {v}");
        v["data"].clone()
    }

    pub async fn login(&self, username: &str, password: &str) -> String {
        let d = self
            .ok(
                None,
                "mutation($u:String!,$p:String!){login(username:$u,password:$p){token}}",
                json!({"u": username, "p": password}),
            )
            .await;
        d["login"]["token"].as_str().expect("token").to_string()
    }

    pub async fn admin(&self) -> String {
        self.login("admin", ADMIN_PASSWORD).await
    }

    /// The id of the root federation the server created on first start.
    pub async fn root_org(&self, token: &str) -> String {
        let d = self.ok(Some(token), "{me{organization{id}}}", json!({})).await;
        d["me"]["organization"]["id"].as_str().unwrap().to_string()
    }

    pub async fn create_org(&self, token: &str, name: &str, kind: &str, parent: Option<&str>) -> String {
        let d = self
            .ok(
                Some(token),
                "mutation($i:CreateOrganizationInput!){createOrganization(input:$i){id}}",
                json!({"i": {"name": name, "kind": kind, "parentId": parent}}),
            )
            .await;
        d["createOrganization"]["id"].as_str().unwrap().to_string()
    }

    /// Creates a user with the given roles in `org` and returns a logged-in token.
    pub async fn user_token(&self, admin: &str, username: &str, roles: &[&str], org: &str) -> String {
        self.ok(
            Some(admin),
            "mutation($i:CreateUserInput!){createUser(input:$i){id}}",
            json!({"i": {"username": username, "password": "password-123", "displayName": username, "roles": roles, "organizationId": org}}),
        )
        .await;
        self.login(username, "password-123").await
    }

    pub async fn create_campaign(&self, token: &str, name: &str) -> String {
        let d = self
            .ok(
                Some(token),
                "mutation($i:CreateCampaignInput!){createCampaign(input:$i){id}}",
                json!({"i": {"name": name, "year": 2025, "budget": "150000.00", "startsOn": "2025-01-15", "deadline": "2025-01-28", "policyRefs": ["昆工通〔2025〕32号"]}}),
            )
            .await;
        d["createCampaign"]["id"].as_str().unwrap().to_string()
    }

    pub async fn add_category(&self, token: &str, campaign: &str, code: &str) -> String {
        let d = self
            .ok(
                Some(token),
                "mutation($c:ID!,$i:CategoryInput!){addCategory(campaignId:$c,input:$i){id}}",
                json!({"c": campaign, "i": {"code": code, "name": code, "recipientKind": "PERSON", "plannedCount": 58, "standardAmount": "500.00"}}),
            )
            .await;
        d["addCategory"]["id"].as_str().unwrap().to_string()
    }

    /// `importRecipients` as a frontend sends it: a GraphQL multipart request.
    pub async fn import(&self, token: &str, campaign: &str, filename: &str, bytes: Vec<u8>) -> Value {
        let operations = json!({
            "query": "mutation($c:ID!,$f:Upload!){importRecipients(campaignId:$c,file:$f){imported rejected errors{row field message}}}",
            "variables": {"c": campaign, "f": null}
        });
        let form = reqwest::multipart::Form::new()
            .text("operations", operations.to_string())
            .text("map", json!({"0": ["variables.f"]}).to_string())
            .part(
                "0",
                reqwest::multipart::Part::bytes(bytes).file_name(filename.to_string()),
            );
        let resp = self
            .http
            .post(format!("{}/graphql", self.base))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .expect("send");
        assert!(resp.status().is_success(), "HTTP {}", resp.status());
        resp.json().await.expect("json")
    }

    /// A campaign in SCREENING with the demo's seven categories, and its id.
    pub async fn screening_campaign(&self, admin: &str) -> String {
        let data = domain::demo::parse(domain::demo::FUMIN_2025).expect("demo file");
        let id = self.create_campaign(admin, "筛查中的项目").await;
        for c in &data.campaign.categories {
            self.ok(
                Some(admin),
                "mutation($c:ID!,$i:CategoryInput!){addCategory(campaignId:$c,input:$i){id}}",
                json!({"c": id, "i": {"code": c.code, "name": c.name, "recipientKind": c.recipient_kind, "plannedCount": c.planned_count, "standardAmount": c.standard_amount}}),
            )
            .await;
        }
        self.advance(admin, &id, "SCREENING").await;
        id
    }

    /// Nominates test person `n` (a valid ID number, category HARDSHIP) for `org`; the new id.
    pub async fn nominate_person(&self, token: &str, campaign: &str, org: &str, n: u32) -> String {
        let d = self
            .ok(
                Some(token),
                "mutation($i:NominateInput!){nominateRecipient(input:$i){id}}",
                json!({"i": {"campaignId": campaign, "categoryCode": "HARDSHIP", "kind": "PERSON",
                             "name": format!("职工{n}"), "idNumber": id_number(n), "nominatedById": org}}),
            )
            .await;
        d["nominateRecipient"]["id"]
            .as_str()
            .expect("recipient id")
            .to_string()
    }

    /// Two street federations under `root`, each with one grassroots union: the set-up of the
    /// GRASSROOTS scope tests (G1 is 永定环卫所工会 under T1, G2 大营快递工会 under T2).
    pub async fn two_towns(&self, admin: &str, root: &str) -> Towns {
        let t1 = self
            .create_org(admin, "永定街道工会联合会", "TOWN_FEDERATION", Some(root))
            .await;
        let g1 = self
            .create_org(admin, "永定环卫所工会", "GRASSROOTS", Some(&t1))
            .await;
        let t2 = self
            .create_org(admin, "大营街道工会联合会", "TOWN_FEDERATION", Some(root))
            .await;
        let g2 = self
            .create_org(admin, "大营快递工会", "GRASSROOTS", Some(&t2))
            .await;
        Towns { t1, g1, t2, g2 }
    }

    /// Records funding (as ADMIN or FINANCE): DISTRIBUTION needs money in the ledger.
    pub async fn fund(&self, token: &str, campaign: &str, amount: &str) {
        self.ok(
            Some(token),
            "mutation($c:ID!,$a:Decimal!){recordFunding(campaignId:$c,amount:$a,reference:\"富财预〔2025〕1号\",receivedOn:\"2025-01-10\"){id}}",
            json!({"c": campaign, "a": amount}),
        )
        .await;
    }

    /// A cash payment to a VERIFIED recipient in a DISTRIBUTION campaign, taken to PAID:
    /// planned by `caseworker`, approved and paid by `finance` (maker-checker). Returns its id.
    pub async fn pay_cash(
        &self,
        caseworker: &str,
        finance: &str,
        recipient: &str,
        amount: &str,
        bank_ref: &str,
        paid_on: &str,
    ) -> String {
        let d = self
            .ok(
                Some(caseworker),
                "mutation($i:DisburseInput!){disburse(input:$i){id}}",
                json!({"i": {"recipientId": recipient, "kind": "CASH", "amount": amount, "idempotencyKey": format!("k-{recipient}")}}),
            )
            .await;
        let id = d["disburse"]["id"].as_str().unwrap().to_string();
        self.ok(
            Some(finance),
            "mutation($ids:[ID!]!){approveDisbursements(ids:$ids){id}}",
            json!({"ids": [id]}),
        )
        .await;
        self.ok(
            Some(finance),
            "mutation($id:ID!,$r:String!,$p:Date!){markPaid(id:$id,bankReference:$r,paidOn:$p){id}}",
            json!({"id": id, "r": bank_ref, "p": paid_on}),
        )
        .await;
        id
    }

    /// Moves a campaign one stage on (`advanceCampaign`), failing the test on any refusal.
    pub async fn advance(&self, token: &str, campaign: &str, to: &str) {
        self.ok(
            Some(token),
            "mutation($id:ID!,$to:CampaignStage!){advanceCampaign(id:$id,to:$to){id}}",
            json!({"id": campaign, "to": to}),
        )
        .await;
    }

    /// Moves a campaign through each of `stages` in turn.
    pub async fn advance_through(&self, token: &str, campaign: &str, stages: &[&str]) {
        for to in stages {
            self.advance(token, campaign, to).await;
        }
    }

    pub async fn audit_count(&self) -> u64 {
        domain::audit::count(&self.db).await.expect("count audit")
    }

    /// Runs raw SQL against the test database (for tampering tests).
    pub async fn exec(&self, sql: &str) {
        let backend = self.db.get_database_backend();
        self.db
            .execute_raw(Statement::from_string(backend, sql.to_string()))
            .await
            .expect("raw sql");
    }
}

/// Organisation ids made by `TestApp::two_towns`.
pub struct Towns {
    pub t1: String,
    pub g1: String,
    pub t2: String,
    pub g2: String,
}

/// A connection to `url` that counts the SQL statements it runs (`SHOW_SQL=1` prints them),
/// for the no-N+1 and kept-answer tests.
pub async fn counting_connection(
    url: &str,
) -> (DatabaseConnection, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let statements = std::sync::Arc::new(AtomicUsize::new(0));
    let mut db = domain::db::connect_url(url, 4).await.expect("connect");
    let counter = statements.clone();
    db.set_metric_callback(move |info| {
        if std::env::var("SHOW_SQL").is_ok() {
            eprintln!(
                "SQL: {}",
                info.statement.sql.chars().take(150).collect::<String>()
            );
        }
        counter.fetch_add(1, Ordering::SeqCst);
    });
    (db, statements)
}

/// The `extensions.code` of the first error, if any.
pub fn code(v: &Value) -> Option<&str> {
    v["errors"][0]["extensions"]["code"].as_str()
}

/// The worker of a test: its own queue, quicker polls and hand-overs than production.
pub fn test_worker_options(redis_url: &str, queue: &str) -> worker::Options {
    let mut o = worker::Options::new(redis_url);
    o.queue = queue.to_string();
    o.concurrency = 16;
    o.poll = std::time::Duration::from_millis(50);
    o.handover_timeout = std::time::Duration::from_secs(5);
    o.heartbeat = std::time::Duration::from_secs(2);
    o.shutdown_grace = std::time::Duration::from_secs(2);
    o
}

/// Removes the keys of a test's queue from the Redis at `url` (the shared one is not the
/// test's to fill).
async fn remove_queue(url: &str, queue: &str) {
    let Ok(client) = redis::Client::open(url) else {
        return;
    };
    let Ok(mut c) = client.get_multiplexed_async_connection().await else {
        return;
    };
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{queue}*"))
        .query_async(&mut c)
        .await
        .unwrap_or_default();
    for chunk in keys.chunks(500) {
        let _ = redis::cmd("DEL").arg(chunk).query_async::<i64>(&mut c).await;
    }
    let _ = redis::cmd("ZREM")
        .arg("core:apalis:queues:list")
        .arg(format!("{queue}:workers"))
        .query_async::<i64>(&mut c)
        .await;
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(tx) = self.worker_stop.take() {
            let _ = tx.send(());
        }
        if let Some(url) = self.settings.redis_url.clone() {
            let queue = self.queue.clone();
            let _ = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    rt.block_on(async {
                        let _ = tokio::time::timeout(
                            std::time::Duration::from_secs(5),
                            remove_queue(&url, &queue),
                        )
                        .await;
                    });
                }
            })
            .join();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some((server, name)) = self.pg_db.take() {
            // A thread of its own: Drop cannot await, and the test's runtime may be ending.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build();
                if let Ok(rt) = rt {
                    rt.block_on(async {
                        if let Ok(admin) =
                            domain::db::connect_url(&with_database(&server, "postgres"), 1).await
                        {
                            let _ = admin
                                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                .await;
                        }
                    });
                }
            })
            .join();
        }
    }
}

/// A valid 居民身份证号码 for test person number `n`.
pub fn id_number(n: u32) -> String {
    let birth =
        chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap() + chrono::Duration::days((n % 15000) as i64);
    domain::identity::make_id_number(530124, birth, n % 1000)
}
