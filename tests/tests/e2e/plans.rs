//! Every list reads a page, not the table (issue 13). A data set with the skew that breaks plans
//! — a small campaign created first, a large one created last with a larger one between them;
//! rare audit entries and jobs written first, common ones after — is written with plain SQL
//! and analysed. Each connection (recipients, disbursements, auditLog, jobs; filters, a deep
//! cursor, a GRASSROOTS caller) is asked through the schema on a connection that records the
//! statements it runs, and every recorded statement is planned again:
//! - PostgreSQL: `EXPLAIN (ANALYZE, FORMAT JSON)` of the prepared statement with its own
//!   values, under `force_generic_plan` and `force_custom_plan`. The rows its scans read
//!   (returned plus removed by filters, times loops) must stay within a few pages; a count
//!   (`totalCount`) may read the rows it counts, no more.
//! - SQLite (no row counts in its plans): `EXPLAIN QUERY PLAN` of each page statement must walk
//!   an index in the list's order (no sort of the matching rows) and search, not scan, a
//!   filtered table.
use sea_orm::sea_query::{PostgresQueryBuilder, QueryBuilder};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use serde_json::{Value, json};
use songnuan_tests::TestApp;
use std::sync::{Arc, Mutex};

const PAGE: u64 = 50;
/// Rows a page statement may read: the page and its look-ahead row, a few times over, and the
/// small look-ups around it (the campaign, categories, organisations of a scope).
const PAGE_BOUND: u64 = 4 * (PAGE + 1) + 100;
/// The tables of the connections.
const LISTS: [&str; 4] = ["recipients", "disbursements", "audit_log", "jobs"];
const SMALL: u32 = 300;
const MIDDLE: u32 = 12_000;
const LARGE: u32 = 8_000;
const RARE: u32 = 200;
const COMMON: u32 = 12_000;

#[tokio::test]
async fn every_list_reads_a_page_not_the_table() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let root = app.root_org(&admin).await;
    let towns = app.two_towns(&admin, &root).await;
    let grassroots = app
        .user_token(&admin, "plan_g1", &["GRASSROOTS"], &towns.g1)
        .await;

    // Created in this order: the skew is where each campaign's rows sit in the table.
    let small = campaign(&app, &admin, "小项目").await;
    let middle = campaign(&app, &admin, "中项目").await;
    let large = campaign(&app, &admin, "大项目").await;
    for (c, n) in [(&small, SMALL), (&middle, MIDDLE), (&large, LARGE)] {
        recipients(&app, c, n, &towns.g1, &towns.g2).await;
    }
    for (c, n) in [(&small, SMALL), (&middle, MIDDLE), (&large, LARGE)] {
        disbursements(&app, c, n / 2).await;
        domain::campaigns::counters::recount(&app.db, c.id)
            .await
            .expect("recount");
    }
    audit_entries(&app).await;
    jobs(&app).await;
    app.exec("ANALYZE").await;

    let url = app.settings.database_url.clone();
    let recorded: Arc<Mutex<Vec<Statement>>> = Arc::default();
    let mut db = domain::db::connect_url(&url, 4).await.expect("connect");
    let sink = recorded.clone();
    db.set_metric_callback(move |info| sink.lock().unwrap().push(info.statement.clone()));
    let state = api::state_from(domain::Services::new(db, Arc::new(app.settings.clone())), None);
    let admin_actor = actor(&app, &admin).await;
    let grassroots_actor = actor(&app, &grassroots).await;

    // A cursor well inside the large campaign (a late page of a late campaign).
    let deep = {
        let rows = app
            .db
            .query_one_raw(Statement::from_string(
                app.db.get_database_backend(),
                format!(
                    "SELECT id FROM recipients WHERE campaign_id = {} ORDER BY id LIMIT 1 OFFSET {}",
                    large.id,
                    LARGE * 3 / 4
                ),
            ))
            .await
            .unwrap()
            .unwrap();
        domain::pagination::encode_cursor(rows.try_get_by_index::<i64>(0).unwrap())
    };
    let deep_disbursement = {
        let rows = app
            .db
            .query_one_raw(Statement::from_string(
                app.db.get_database_backend(),
                format!(
                    "SELECT id FROM disbursements WHERE campaign_id = {} ORDER BY id LIMIT 1 OFFSET {}",
                    large.id,
                    LARGE / 3
                ),
            ))
            .await
            .unwrap()
            .unwrap();
        domain::pagination::encode_cursor(rows.try_get_by_index::<i64>(0).unwrap())
    };

    let recipient_page = "query($c:ID!,$f:RecipientFilter,$a:String){recipients(campaignId:$c,filter:$f,first:50,after:$a){
        totalCount edges{node{id name status category{code name} nominatedBy{name} disbursements{id amount status}}}
        pageInfo{hasNextPage endCursor}}}";
    let disbursement_page = "query($c:ID!,$f:DisbursementFilter,$a:String){disbursements(campaignId:$c,filter:$f,first:50,after:$a){
        totalCount edges{node{id amount status recipient{name}}} pageInfo{hasNextPage}}}";
    let audit_page =
        "query($t:String,$i:String,$x:String){auditLog(first:50,targetType:$t,targetId:$i,action:$x){
        totalCount edges{node{id action targetType targetId}}}}";
    let job_page = "query($k:String,$s:JobStatus){jobs(first:50,kind:$k,status:$s){totalCount edges{node{id kind status}}}}";
    let g1 = towns.g1.as_str();
    let cases: Vec<(&str, &domain::Actor, &str, Value)> = vec![
        (
            "recipients, large campaign",
            &admin_actor,
            recipient_page,
            json!({"c": large.gid}),
        ),
        (
            "recipients, small campaign",
            &admin_actor,
            recipient_page,
            json!({"c": small.gid}),
        ),
        (
            "recipients, large campaign, deep cursor",
            &admin_actor,
            recipient_page,
            json!({"c": large.gid, "a": deep}),
        ),
        (
            "recipients, large campaign, status",
            &admin_actor,
            recipient_page,
            json!({"c": large.gid, "f": {"status": "NOMINATED"}}),
        ),
        (
            "recipients, large campaign, category",
            &admin_actor,
            recipient_page,
            json!({"c": large.gid, "f": {"categoryCode": "FRONTLINE"}}),
        ),
        (
            "recipients, large campaign, category and status",
            &admin_actor,
            recipient_page,
            json!({"c": large.gid, "f": {"categoryCode": "FRONTLINE", "status": "NOMINATED"}}),
        ),
        (
            "recipients, large campaign, nominated by",
            &admin_actor,
            recipient_page,
            json!({"c": large.gid, "f": {"nominatedById": g1}}),
        ),
        (
            "recipients, large campaign, GRASSROOTS caller",
            &grassroots_actor,
            recipient_page,
            json!({"c": large.gid}),
        ),
        (
            "recipients, small campaign, GRASSROOTS caller",
            &grassroots_actor,
            recipient_page,
            json!({"c": small.gid}),
        ),
        (
            "disbursements, large campaign",
            &admin_actor,
            disbursement_page,
            json!({"c": large.gid}),
        ),
        (
            "disbursements, small campaign",
            &admin_actor,
            disbursement_page,
            json!({"c": small.gid}),
        ),
        (
            "disbursements, large campaign, deep cursor",
            &admin_actor,
            disbursement_page,
            json!({"c": large.gid, "a": deep_disbursement}),
        ),
        (
            "disbursements, large campaign, status",
            &admin_actor,
            disbursement_page,
            json!({"c": large.gid, "f": {"status": "PLANNED"}}),
        ),
        (
            "disbursements, large campaign, category",
            &admin_actor,
            disbursement_page,
            json!({"c": large.gid, "f": {"categoryCode": "FRONTLINE"}}),
        ),
        ("auditLog", &admin_actor, audit_page, json!({})),
        (
            "auditLog, rare target type",
            &admin_actor,
            audit_page,
            json!({"t": "PlanProbe"}),
        ),
        (
            "auditLog, rare target",
            &admin_actor,
            audit_page,
            json!({"t": "PlanProbe", "i": "7"}),
        ),
        (
            "auditLog, rare action",
            &admin_actor,
            audit_page,
            json!({"x": "planProbe"}),
        ),
        ("jobs", &admin_actor, job_page, json!({})),
        (
            "jobs, rare status",
            &admin_actor,
            job_page,
            json!({"s": "FAILED"}),
        ),
        (
            "jobs, rare kind",
            &admin_actor,
            job_page,
            json!({"k": "PLAN_PROBE"}),
        ),
    ];

    // One connection, so PREPARE, SET and EXECUTE share a session.
    let explain_db = domain::db::connect_url(&url, 1).await.expect("connect");
    let mut failures = Vec::new();
    for (name, actor, query, vars) in cases {
        recorded.lock().unwrap().clear();
        let req = async_graphql::Request::new(query).variables(async_graphql::Variables::from_json(vars));
        let resp = api::http::execute(
            &state,
            api::graphql::Caller::Known(actor.clone()),
            "test".into(),
            req,
        )
        .await;
        assert!(resp.errors.is_empty(), "{name}: {:?}", resp.errors);
        let data = resp.data.into_json().unwrap();
        let conn = data.as_object().unwrap().values().next().unwrap();
        let shown = conn["edges"].as_array().unwrap().len() as u64;
        let total = conn["totalCount"].as_u64().unwrap();
        assert!(shown > 0, "{name}: the data set must fill the page: {data}");
        let statements = std::mem::take(&mut *recorded.lock().unwrap());
        for st in statements
            .iter()
            .filter(|s| s.sql.trim_start().starts_with("SELECT"))
        {
            let counts = st.sql.contains("COUNT(");
            if app.is_postgres() {
                // The rows counted are the ones the caller may see: for a GRASSROOTS caller
                // its own unions' rows (a quarter of the campaign here), never the campaign's.
                let bound = if counts { total + 2 * PAGE } else { PAGE_BOUND };
                for mode in ["force_generic_plan", "force_custom_plan"] {
                    let plan = explain_pg(&explain_db, st, mode).await;
                    let read = rows_read(&plan[0]["Plan"]);
                    println!(
                        "{name:<52} {mode:<19} rows read {read:>6} (bound {bound:>5}): {}",
                        short(&st.sql)
                    );
                    if read > bound {
                        failures.push(format!(
                            "{name}, {mode}: {read} rows read (bound {bound}) by\n  {}\n  plan: {}",
                            st.sql,
                            plan_outline(&plan[0]["Plan"], 0)
                        ));
                    }
                }
            } else if st.sql.contains("LIMIT")
                && st.sql.contains("ORDER BY")
                && LISTS.contains(&listed_table(&st.sql).as_str())
            {
                let plan = explain_sqlite(&explain_db, st).await;
                println!("{name:<52} {}: {}", plan.join(" | "), short(&st.sql));
                let table = listed_table(&st.sql);
                let filtered = !(name == "auditLog" || name == "jobs");
                let access = plan.iter().find(|d| {
                    d.starts_with(&format!("SEARCH {table} ")) || d.starts_with(&format!("SCAN {table}"))
                });
                let ok = plan.iter().all(|d| !d.contains("TEMP B-TREE FOR ORDER BY"))
                    && access.is_some_and(|a| {
                        !filtered
                            || (a.starts_with("SEARCH") && (a.contains("INDEX") || a.contains("PRIMARY KEY")))
                    });
                if !ok {
                    failures.push(format!("{name}: {} for\n  {}", plan.join(" | "), st.sql));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "statements reading more than their page:\n{}",
        failures.join("\n")
    );
}

/// Unions in the table that no recipient of the campaign was nominated by.
const OTHER_UNIONS: u32 = 500;

/// A workbook (LEDGER, PROVINCIAL_EXPORT) reads, for each page of rows it writes, the
/// organisations that page names (its recipients' nominators), not the organisations table.
/// The pages are read through a connection that records its statements; each organisations
/// statement is run again and must return the page's two nominating unions, out of a table
/// holding `OTHER_UNIONS` more.
#[tokio::test]
async fn a_workbook_page_reads_the_organizations_it_names_not_the_table() {
    use domain::reports::rows::{self, Personal, Which};
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let root = app.root_org(&admin).await;
    let towns = app.two_towns(&admin, &root).await;
    app.exec(&format!(
        "{}INSERT INTO organizations (name, kind, parent_id, path, created_at) \
         SELECT 'plan union ' || i, 'GRASSROOTS', {root}, '/plan/' || i || '/', \
         (SELECT MIN(created_at) FROM organizations) FROM s",
        series(OTHER_UNIONS)
    ))
    .await;
    let c = campaign(&app, &admin, "台账项目").await;
    // Two pages of rows, each with recipients of both town unions.
    let n = rows::PAGE as u32 + 500;
    recipients(&app, &c, n, &towns.g1, &towns.g2).await;
    disbursements(&app, &c, n).await;

    let recorded: Arc<Mutex<Vec<Statement>>> = Arc::default();
    let mut db = domain::db::connect_url(&app.settings.database_url, 2)
        .await
        .expect("connect");
    let sink = recorded.clone();
    db.set_metric_callback(move |info| sink.lock().unwrap().push(info.statement.clone()));
    let services = domain::Services::new(db, Arc::new(app.settings.clone()));
    let (tx, mut rx) = tokio::sync::mpsc::channel(2);
    let reading =
        tokio::spawn(
            async move { rows::send_pages(&services, c.id, Which::All, Personal::Masked, tx).await },
        );
    let mut written = 0;
    let mut nominators = std::collections::BTreeSet::new();
    while let Some(page) = rx.recv().await {
        written += page.len();
        nominators.extend(page.into_iter().map(|r| r.nominated_by));
    }
    reading.await.unwrap().expect("rows read");
    assert_eq!(written, n as usize, "every disbursement written");
    assert_eq!(
        nominators.into_iter().collect::<Vec<_>>(),
        ["大营快递工会", "永定环卫所工会"],
        "each row names its nominating union"
    );

    let statements = std::mem::take(&mut *recorded.lock().unwrap());
    let org_reads: Vec<&Statement> = statements
        .iter()
        .filter(|st| listed_table(&st.sql) == "organizations")
        .collect();
    for st in &org_reads {
        let read = app.db.query_all_raw((*st).clone()).await.expect("run again");
        assert_eq!(
            read.len(),
            2,
            "the page's two nominating unions, not the table ({} more): {}",
            OTHER_UNIONS,
            st.sql
        );
    }
    assert_eq!(org_reads.len(), 2, "one organisations read per page");
}

async fn actor(app: &TestApp, token: &str) -> domain::Actor {
    domain::auth::authenticate(&app.db, &app.settings, token)
        .await
        .expect("authenticate")
        .actor
}

struct Campaign {
    id: i64,
    gid: String,
    hardship: i64,
    frontline: i64,
}

async fn campaign(app: &TestApp, admin: &str, name: &str) -> Campaign {
    let gid = app.create_campaign(admin, name).await;
    let hardship = app.add_category(admin, &gid, "HARDSHIP").await;
    let frontline = app.add_category(admin, &gid, "FRONTLINE").await;
    Campaign {
        id: gid.parse().unwrap(),
        gid,
        hardship: hardship.parse().unwrap(),
        frontline: frontline.parse().unwrap(),
    }
}

/// `n` rows, as `INSERT … SELECT` over a counter that reads the same on both databases.
fn series(n: u32) -> String {
    format!("WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) ")
}

/// Every 10th NOMINATED, the rest VERIFIED; every 8th FRONTLINE; every 4th nominated by `g1`.
async fn recipients(app: &TestApp, c: &Campaign, n: u32, g1: &str, g2: &str) {
    let at = format!("(SELECT created_at FROM campaigns WHERE id = {})", c.id);
    app.exec(&format!(
        "{}INSERT INTO recipients (campaign_id, category_id, kind, name, nominated_by, status, dedup_key, \
         created_by, created_at, updated_at) \
         SELECT {id}, CASE WHEN i % 8 = 0 THEN {f} ELSE {h} END, 'PERSON', 'P' || i, \
         CASE WHEN i % 4 = 0 THEN {g1} ELSE {g2} END, CASE WHEN i % 10 = 0 THEN 'NOMINATED' ELSE 'VERIFIED' END, \
         'plan:' || i, 1, {at}, {at} FROM s",
        series(n),
        id = c.id,
        f = c.frontline,
        h = c.hardship,
    ))
    .await;
}

/// One disbursement for each of the first `n` recipients of the campaign: every 10th PLANNED,
/// the rest PAID.
async fn disbursements(app: &TestApp, c: &Campaign, n: u32) {
    app.exec(&format!(
        "INSERT INTO disbursements (campaign_id, recipient_id, category_id, kind, amount_fen, status, \
         entry_deadline_provisional, idempotency_key, request_hash, active_recipient, recipient_verified_at_plan, \
         planned_by, created_at, updated_at) \
         SELECT campaign_id, id, category_id, 'CASH', 50000, CASE WHEN id % 10 = 0 THEN 'PLANNED' ELSE 'PAID' END, \
         false, 'plan-' || id, '', id, true, 1, created_at, updated_at \
         FROM (SELECT * FROM recipients WHERE campaign_id = {} ORDER BY id LIMIT {n}) r",
        c.id
    ))
    .await;
}

/// `RARE` entries of a target type and action nobody else writes, then `COMMON` others: the
/// rare ones sit at the far end of a newest-first walk.
async fn audit_entries(app: &TestApp) {
    for (n, kind, action, target) in [
        (RARE, "PlanProbe", "planProbe", "'7'"),
        (COMMON, "PlanBulk", "planBulk", "CAST(i % 100 AS TEXT)"),
    ] {
        app.exec(&format!(
            "{}INSERT INTO audit_log (id, at, actor_id, action, target_type, target_id, diff, prev_hash, hash) \
             SELECT (SELECT COALESCE(MAX(id), 0) FROM audit_log) + i, (SELECT MIN(at) FROM audit_log), 1, \
             '{action}', '{kind}', {target}, NULL, '', '' FROM s",
            series(n)
        ))
        .await;
    }
}

/// `RARE` FAILED jobs of a kind of their own, then `COMMON` DONE ones.
async fn jobs(app: &TestApp) {
    for (n, kind, status) in [(RARE, "PLAN_PROBE", "FAILED"), (COMMON, "PLAN_BULK", "DONE")] {
        app.exec(&format!(
            "{}INSERT INTO jobs (kind, target, status, attempts, max_attempts, idempotency_key, run_at, \
             created_at, updated_at) \
             SELECT '{kind}', NULL, '{status}', 1, 5, '{kind}-' || i, t.at, t.at, t.at \
             FROM s, (SELECT MIN(created_at) AS at FROM campaigns) t",
            series(n)
        ))
        .await;
    }
}

/// The plan PostgreSQL runs for `st` prepared (its parameters as a generic plan sees them) and
/// executed with its values, in `mode`.
async fn explain_pg(db: &DatabaseConnection, st: &Statement, mode: &str) -> Value {
    let params: Vec<&sea_orm::Value> = st.values.iter().flat_map(|v| v.0.iter()).collect();
    let values: Vec<String> = params
        .iter()
        .map(|v| PostgresQueryBuilder.value_to_string(v))
        .collect();
    // Declared as the driver binds them (an `ARRAY [ $1 ]` alone would be taken for text).
    let types: Vec<&str> = params.iter().map(|v| pg_type(v)).collect();
    let prepare = if types.is_empty() {
        format!("PREPARE plan_probe AS {}", st.sql)
    } else {
        format!("PREPARE plan_probe({}) AS {}", types.join(", "), st.sql)
    };
    db.execute_unprepared(&prepare).await.expect("prepare");
    db.execute_unprepared(&format!("SET plan_cache_mode = {mode}"))
        .await
        .unwrap();
    let execute = if values.is_empty() {
        "EXECUTE plan_probe".to_string()
    } else {
        format!("EXECUTE plan_probe({})", values.join(", "))
    };
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("EXPLAIN (ANALYZE, FORMAT JSON) {execute}"),
        ))
        .await
        .expect("explain")
        .expect("a plan");
    db.execute_unprepared("DEALLOCATE plan_probe; RESET plan_cache_mode")
        .await
        .unwrap();
    row.try_get_by_index::<Value>(0).expect("plan json")
}

/// The type sqlx binds a value as.
fn pg_type(v: &sea_orm::Value) -> &'static str {
    use sea_orm::Value::*;
    match v {
        Bool(_) => "boolean",
        TinyInt(_) | SmallInt(_) | TinyUnsigned(_) => "smallint",
        Int(_) | SmallUnsigned(_) => "integer",
        BigInt(_) | Unsigned(_) | BigUnsigned(_) => "bigint",
        Float(_) => "real",
        Double(_) => "double precision",
        String(_) | Char(_) => "text",
        ChronoDate(_) => "date",
        ChronoDateTimeUtc(_) => "timestamptz",
        other => panic!("a parameter type to declare for {other:?}"),
    }
}

/// Rows the plan's scans touched: returned and removed by filters, times the loops.
fn rows_read(node: &Value) -> u64 {
    let n = |k: &str| node[k].as_f64().unwrap_or(0.0);
    // A bitmap heap scan counts the rows its index scan found: count them once.
    let scan = node.get("Relation Name").is_some() && node["Node Type"] != "Bitmap Index Scan";
    let own = if scan {
        ((n("Actual Rows") + n("Rows Removed by Filter") + n("Rows Removed by Index Recheck"))
            * n("Actual Loops").max(1.0)) as u64
    } else {
        0
    };
    own + node["Plans"]
        .as_array()
        .map(|ps| ps.iter().map(rows_read).sum())
        .unwrap_or(0)
}

fn plan_outline(node: &Value, depth: usize) -> String {
    let mut s = format!(
        "\n    {}{} {} {} rows={} removed={} loops={}",
        "  ".repeat(depth),
        node["Node Type"].as_str().unwrap_or("?"),
        node["Index Name"].as_str().unwrap_or(""),
        node["Relation Name"].as_str().unwrap_or(""),
        node["Actual Rows"],
        node["Rows Removed by Filter"],
        node["Actual Loops"]
    );
    for p in node["Plans"].as_array().into_iter().flatten() {
        s.push_str(&plan_outline(p, depth + 1));
    }
    s
}

async fn explain_sqlite(db: &DatabaseConnection, st: &Statement) -> Vec<String> {
    let q = Statement {
        sql: format!("EXPLAIN QUERY PLAN {}", st.sql),
        ..st.clone()
    };
    db.query_all_raw(q)
        .await
        .expect("explain query plan")
        .iter()
        .map(|r| r.try_get_by_index::<String>(3).unwrap())
        .collect()
}

/// The table a page statement lists: the first `FROM`.
fn listed_table(sql: &str) -> String {
    sql.split(" FROM ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or("")
        .trim_matches('"')
        .to_string()
}

fn short(sql: &str) -> String {
    let from = sql.find(" FROM ").unwrap_or(0);
    sql[from..].chars().take(150).collect()
}
