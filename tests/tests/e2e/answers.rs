//! Kept answers (`api/src/runtime/answers.rs`): a repeated read is served without running the
//! schema, and is never served after the data changed — through the API, or with plain SQL
//! behind the API's back (the `data_version` triggers) — nor to another caller.
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use songnuan_tests::{TestApp, counting_connection};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

const PAGE: &str = "query($c:ID!){recipients(campaignId:$c,first:50){totalCount edges{node{id name status \
    category{code name} nominatedBy{name} disbursements{id amount status}}}}}";

async fn data_version(app: &TestApp) -> i64 {
    let backend = app.db.get_database_backend();
    let row = app
        .db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT seq FROM data_version WHERE id = 1",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

/// A second server on the same database whose connection counts the statements it runs.
async fn counting_server(app: &TestApp) -> (String, Arc<AtomicUsize>, tokio::sync::oneshot::Sender<()>) {
    let (db, statements) = counting_connection(&app.settings.database_url).await;
    let services = domain::Services::new(db, Arc::new(app.settings.clone()));
    let state = api::state_from(services, None);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = api::serve(listener, state, async {
            let _ = rx.await;
        })
        .await;
    });
    (base, statements, tx)
}

/// A screening campaign with three people nominated by the federation, and a counting server.
struct Counted {
    app: TestApp,
    admin: String,
    root: String,
    campaign: String,
    base: String,
    statements: Arc<AtomicUsize>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn three_nominated() -> Counted {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let root = app.root_org(&admin).await;
    let campaign = app.screening_campaign(&admin).await;
    for n in 0..3 {
        app.nominate_person(&admin, &campaign, &root, n).await;
    }
    let (base, statements, stop) = counting_server(&app).await;
    Counted {
        app,
        admin,
        root,
        campaign,
        base,
        statements,
        _stop: stop,
    }
}

async fn post(http: &reqwest::Client, base: &str, token: &str, query: &str, vars: Value) -> String {
    http.post(format!("{base}/graphql"))
        .bearer_auth(token)
        .json(&json!({"query": query, "variables": vars}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_repeated_read_runs_only_the_authentication_statement() {
    // Every field bound: the servers and the database live until the test ends.
    let Counted {
        app: _app,
        admin,
        root: _,
        campaign: c,
        base,
        statements,
        _stop,
    } = three_nominated().await;
    let http = reqwest::Client::new();

    statements.store(0, Ordering::SeqCst);
    let first = post(&http, &base, &admin, PAGE, json!({"c": c})).await;
    let fresh = statements.load(Ordering::SeqCst);
    assert!(first.contains("\"totalCount\":3"), "{first}");
    assert!(fresh >= 3, "a fresh answer runs the page's statements ({fresh})");

    statements.store(0, Ordering::SeqCst);
    let again = post(&http, &base, &admin, PAGE, json!({"c": c})).await;
    assert_eq!(again, first, "the kept answer is the same bytes");
    assert_eq!(statements.load(Ordering::SeqCst), 1, "only the caller is checked");

    // Answers with errors (here: no such campaign) are not kept: each is asked again.
    for _ in 0..2 {
        statements.store(0, Ordering::SeqCst);
        let refused = post(&http, &base, &admin, PAGE, json!({"c": "999999"})).await;
        assert!(refused.contains("NOT_FOUND"), "{refused}");
        assert!(statements.load(Ordering::SeqCst) > 1, "{refused}");
    }
}

#[tokio::test]
async fn requests_that_miss_together_share_one_making() {
    let Counted {
        app,
        admin,
        root,
        campaign: c,
        base,
        statements,
        _stop,
    } = three_nominated().await;
    let http = reqwest::Client::new();
    statements.store(0, Ordering::SeqCst);
    post(&http, &base, &admin, PAGE, json!({"c": c})).await;
    let fresh = statements.load(Ordering::SeqCst) - 1;

    // A write makes the kept page stale; then twenty clients refresh it at once.
    app.nominate_person(&admin, &c, &root, 9).await;
    statements.store(0, Ordering::SeqCst);
    let answers =
        futures::future::join_all((0..20).map(|_| post(&http, &base, &admin, PAGE, json!({"c": c})))).await;
    for a in &answers {
        assert!(a.contains("\"totalCount\":4"), "{a}");
        assert_eq!(a, &answers[0]);
    }
    let n = statements.load(Ordering::SeqCst);
    // 20 authentications; the page itself made once (twice if one maker finished before the
    // last asker arrived), not twenty times.
    assert!(
        n <= 20 + 2 * fresh,
        "{n} statements for 20 askers (one making: {fresh})"
    );
}

#[tokio::test]
async fn a_change_through_the_api_is_seen_at_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let root = app.root_org(&admin).await;
    let c = app.screening_campaign(&admin).await;
    let r = app.nominate_person(&admin, &c, &root, 1).await;
    let before = app.ok(Some(&admin), PAGE, json!({"c": c})).await;
    assert_eq!(before["recipients"]["edges"][0]["node"]["name"], "职工1");
    app.ok(Some(&admin), PAGE, json!({"c": c})).await;

    app.ok(
        Some(&admin),
        "mutation($id:ID!){updateRecipient(id:$id,input:{name:\"改过的名字\"}){id}}",
        json!({"id": r}),
    )
    .await;
    let after = app.ok(Some(&admin), PAGE, json!({"c": c})).await;
    assert_eq!(after["recipients"]["edges"][0]["node"]["name"], "改过的名字");

    app.nominate_person(&admin, &c, &root, 2).await;
    let after = app.ok(Some(&admin), PAGE, json!({"c": c})).await;
    assert_eq!(after["recipients"]["totalCount"], 2);
}

#[tokio::test]
async fn a_change_made_with_plain_sql_is_seen_at_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let root = app.root_org(&admin).await;
    let c = app.screening_campaign(&admin).await;
    let r = app.nominate_person(&admin, &c, &root, 1).await;
    for _ in 0..2 {
        let page = app.ok(Some(&admin), PAGE, json!({"c": c})).await;
        assert_eq!(page["recipients"]["edges"][0]["node"]["name"], "职工1");
    }

    // Behind the API's back, one table at a time: each edit is in the next answer.
    app.exec(&format!("UPDATE recipients SET name = '直接改的' WHERE id = {r}"))
        .await;
    let page = app.ok(Some(&admin), PAGE, json!({"c": c})).await;
    assert_eq!(page["recipients"]["edges"][0]["node"]["name"], "直接改的");

    app.exec(&format!(
        "UPDATE organizations SET name = '改名的总工会' WHERE id = {root}"
    ))
    .await;
    let page = app.ok(Some(&admin), PAGE, json!({"c": c})).await;
    assert_eq!(
        page["recipients"]["edges"][0]["node"]["nominatedBy"]["name"],
        "改名的总工会"
    );

    app.exec(&format!(
        "UPDATE categories SET name = '改名的类别' WHERE campaign_id = {c}"
    ))
    .await;
    let page = app.ok(Some(&admin), PAGE, json!({"c": c})).await;
    assert_eq!(
        page["recipients"]["edges"][0]["node"]["category"]["name"],
        "改名的类别"
    );

    app.exec(&format!("DELETE FROM recipients WHERE id = {r}")).await;
    let page = app.ok(Some(&admin), PAGE, json!({"c": c})).await;
    assert_eq!(page["recipients"]["edges"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn answers_are_kept_per_caller() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let root = app.root_org(&admin).await;
    let a = app
        .create_org(&admin, "甲基层工会", "GRASSROOTS", Some(&root))
        .await;
    let b = app
        .create_org(&admin, "乙基层工会", "GRASSROOTS", Some(&root))
        .await;
    let c = app.screening_campaign(&admin).await;
    app.nominate_person(&admin, &c, &a, 1).await;
    app.nominate_person(&admin, &c, &b, 2).await;
    app.nominate_person(&admin, &c, &b, 3).await;
    let ga = app.user_token(&admin, "jia01", &["GRASSROOTS"], &a).await;
    let gb = app.user_token(&admin, "yi001", &["GRASSROOTS"], &b).await;
    let total = |v: Value| v["recipients"]["totalCount"].clone();
    for _ in 0..2 {
        assert_eq!(total(app.ok(Some(&admin), PAGE, json!({"c": c})).await), 3);
        assert_eq!(total(app.ok(Some(&ga), PAGE, json!({"c": c})).await), 1);
        assert_eq!(total(app.ok(Some(&gb), PAGE, json!({"c": c})).await), 2);
    }
    // `me` is the caller's own, same text or not.
    let me = "{me{username}}";
    assert_eq!(app.ok(Some(&ga), me, json!({})).await["me"]["username"], "jia01");
    assert_eq!(app.ok(Some(&gb), me, json!({})).await["me"]["username"], "yi001");
}

#[tokio::test]
async fn every_table_advances_the_data_version_and_a_rolled_back_write_does_not() {
    let app = TestApp::spawn().await;
    let backend = app.db.get_database_backend();
    let pg = app.is_postgres();
    let (tables_sql, triggers_sql) = if pg {
        (
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
            "SELECT DISTINCT tgrelid::regclass::text FROM pg_trigger WHERE tgname LIKE 'data\\_version\\_%'",
        )
    } else {
        (
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
            "SELECT DISTINCT tbl_name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'data\\_version\\_%' ESCAPE '\\'",
        )
    };
    let names = |sql: &'static str| {
        let db = app.db.clone();
        async move {
            db.query_all_raw(Statement::from_string(backend, sql))
                .await
                .unwrap()
                .iter()
                .map(|r| r.try_get_by_index::<String>(0).unwrap())
                .collect::<std::collections::BTreeSet<String>>()
        }
    };
    let tables = names(tables_sql).await;
    let tracked = names(triggers_sql).await;
    assert!(tables.len() > 15, "{tables:?}");
    for t in &tables {
        if !migration::UNTRACKED_TABLES.contains(&t.as_str()) {
            assert!(tracked.contains(t), "table {t} has no data_version trigger");
        }
    }

    // A committed write advances it; many rows in one transaction are one step on PostgreSQL.
    let v0 = data_version(&app).await;
    app.admin().await;
    let v1 = data_version(&app).await;
    assert!(v1 > v0, "login writes the audit log");
    app.exec("UPDATE users SET display_name = display_name").await;
    let v2 = data_version(&app).await;
    assert!(v2 > v1);
    if pg {
        assert_eq!(v2, v1 + 1, "one step per transaction");
    }

    // A write that is rolled back leaves it where it was.
    let v3 = data_version(&app).await;
    let txn = sea_orm::TransactionTrait::begin(&app.db).await.unwrap();
    txn.execute_raw(Statement::from_string(
        backend,
        "UPDATE users SET display_name = 'x'",
    ))
    .await
    .unwrap();
    txn.rollback().await.unwrap();
    assert_eq!(data_version(&app).await, v3);
}

#[tokio::test]
async fn the_audit_trail_is_always_read_afresh() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    app.root_org(&admin).await;
    // Someone with the database in hand switches the triggers off before tampering.
    if app.is_postgres() {
        app.exec("ALTER TABLE audit_log DISABLE TRIGGER USER").await;
    } else {
        app.exec("DROP TRIGGER data_version_audit_log_update").await;
    }
    // However the root field is wrapped: 17 nested inline fragments, a fragment spread inside
    // them, or plainly.
    let wrapped = format!(
        "{{{}verifyAuditChain{{ok}}{}}}",
        "... on Query {".repeat(17),
        "}".repeat(17)
    );
    let spread = format!(
        "query{{{}...V{}}} fragment V on Query{{... on Query{{verifyAuditChain{{ok}}}}}}",
        "... on Query {".repeat(20),
        "}".repeat(20)
    );
    let log = "{auditLog(first:1,action:\"login\"){edges{node{action}}}}";
    for verify in ["{verifyAuditChain{ok}}", wrapped.as_str(), spread.as_str()] {
        audit_read_afresh(&app, &admin, verify, log).await;
    }
}

/// The audit trail answers as the database is now, however often it was asked before.
async fn audit_read_afresh(app: &TestApp, admin: &str, verify: &str, log: &str) {
    for _ in 0..2 {
        assert_eq!(
            app.ok(Some(admin), verify, json!({})).await["verifyAuditChain"]["ok"],
            true,
            "{verify}"
        );
        assert_eq!(
            app.ok(Some(admin), log, json!({})).await["auditLog"]["edges"][0]["node"]["action"],
            "login"
        );
    }
    let v = data_version(app).await;
    app.exec("UPDATE audit_log SET action = 'forged' WHERE action = 'login'")
        .await;
    assert_eq!(
        data_version(app).await,
        v,
        "the edit went unnoticed by the triggers"
    );
    assert_eq!(
        app.ok(Some(admin), verify, json!({})).await["verifyAuditChain"]["ok"],
        false,
        "{verify}"
    );
    assert_eq!(
        app.ok(Some(admin), log, json!({})).await["auditLog"]["edges"],
        json!([])
    );
    // Undo the forgery for the next shape (the edit left the hashes as they were).
    app.exec("UPDATE audit_log SET action = 'login' WHERE action = 'forged'")
        .await;
}
