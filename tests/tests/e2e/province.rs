//! The provincial platform push (issue 11, point 5) against the fake platform on loopback
//! (`songnuan_tests::fake_province`): through two failed attempts every record is entered once
//! with the platform's reference, in batches of the configured size; a lost answer is resent
//! under the same keys and gets the same references; a record entered by the pull path is not
//! pushed and a pushed one answers `markEntered` as the rule says; a wrong token ends FAILED
//! with a clear reason after `maxAttempts`; the runner queues the push by itself.
use crate::worker::{Paid, eventually, paid_with};
use chrono::Utc;
use domain::work::province;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use songnuan_tests::fake_province::{FakeProvince, TOKEN};
use songnuan_tests::{TestApp, code, id_number};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// Settings of a test that queues its push jobs itself: one period a day, so the runner's own
/// scheduling adds at most the same day's job (same key), fast retries, no letters printed.
fn settings<'a>(fake: &'a [(&'static str, String)], extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut v: Vec<(&str, &str)> = fake.iter().map(|(k, v)| (*k, v.as_str())).collect();
    v.extend([
        ("SONGNUAN_PROVINCE_EVERY_SECS", "86400"),
        ("SONGNUAN_JOB_BACKOFF_MS", "20"),
        ("SONGNUAN_LETTER_DELAY_SECS", "86400"),
    ]);
    v.extend_from_slice(extra);
    v
}

/// Queues today's push job (the key the runner would use for this period).
async fn queue_push(app: &TestApp) {
    let now = Utc::now();
    let every = app.settings.province.as_ref().unwrap().every;
    province::queue(&app.db, province::period_start(now, every), now)
        .await
        .unwrap();
    domain::outbox::wake();
}

const PUSH_JOBS: &str =
    "{jobs(kind:\"PROVINCIAL_PUSH\",first:50){edges{node{id status attempts maxAttempts lastError target}}}}";

async fn push_jobs(app: &TestApp, admin: &str) -> Vec<Value> {
    app.ok(Some(admin), PUSH_JOBS, json!({})).await["jobs"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

/// Waits until every push job has ended (DONE or FAILED); the jobs.
async fn settled(app: &TestApp, admin: &str) -> Vec<Value> {
    let ok = eventually(Duration::from_secs(60), || async {
        let js = push_jobs(app, admin).await;
        !js.is_empty()
            && js
                .iter()
                .all(|j| j["status"] == "DONE" || j["status"] == "FAILED")
    })
    .await;
    let js = push_jobs(app, admin).await;
    assert!(ok, "push jobs did not settle: {js:?}");
    js
}

const ENTRIES: &str =
    "query($c:ID!){disbursements(campaignId:$c,first:200){edges{node{id enteredAt provincialRef}}}}";

/// (enteredAt, provincialRef) per disbursement id.
async fn entries(app: &TestApp, token: &str, campaign: &str) -> HashMap<String, (Value, Value)> {
    app.ok(Some(token), ENTRIES, json!({"c": campaign})).await["disbursements"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let n = &e["node"];
            (
                n["id"].as_str().unwrap().to_string(),
                (n["enteredAt"].clone(), n["provincialRef"].clone()),
            )
        })
        .collect()
}

fn key(id: &str) -> String {
    format!("disbursement:{id}")
}

/// Audit entries written by the push.
async fn push_audits(app: &TestApp) -> u64 {
    entities::audit_log::Entity::find()
        .filter(entities::audit_log::Column::Action.eq("provincialPush"))
        .count(&app.db)
        .await
        .unwrap()
}

async fn integration_user(app: &TestApp, p: &Paid) -> String {
    let root = app.root_org(&p.admin).await;
    app.user_token(&p.admin, "province", &["INTEGRATION"], &root)
        .await
}

const MARK_ENTERED: &str =
    "mutation($ids:[ID!]!,$r:String!){markEntered(ids:$ids,provincialRef:$r){id enteredAt provincialRef}}";

#[tokio::test]
async fn through_two_failed_attempts_every_record_is_entered_once_with_the_platforms_reference() {
    let fake = FakeProvince::start().await;
    let fs = fake.settings();
    let app = TestApp::spawn_with(&settings(&fs, &[("SONGNUAN_PROVINCE_BATCH", "2")])).await;
    let p = paid_with(&app, 5, |_| None).await;
    let integration = integration_user(&app, &p).await;
    assert!(
        entries(&app, &p.finance, &p.campaign)
            .await
            .values()
            .all(|(at, r)| at.is_null() && r.is_null())
    );

    fake.fail_next(2);
    queue_push(&app).await;
    let js = settled(&app, &p.admin).await;
    assert_eq!(js.len(), 1, "{js:?}");
    assert_eq!(js[0]["status"], "DONE", "{js:?}");
    // Two attempts answered 503, the third went through.
    assert_eq!(js[0]["attempts"], 3, "{js:?}");

    let requests = fake.requests();
    let statuses: Vec<u16> = requests.iter().map(|r| r.status).collect();
    // 5 records in batches of 2: 2 + 2 + 1 on the attempt that got through.
    assert_eq!(statuses, [503, 503, 200, 200, 200], "{statuses:?}");
    let sizes: Vec<usize> = requests[2..].iter().map(|r| r.records.len()).collect();
    assert_eq!(sizes, [2, 2, 1]);
    assert!(
        requests
            .iter()
            .all(|r| r.authorization.as_deref() == Some(&format!("Bearer {TOKEN}")))
    );
    // Each record accepted once, every one of them.
    let accepted: Vec<String> = requests[2..].iter().flat_map(|r| r.keys()).collect();
    let distinct: HashSet<&String> = accepted.iter().collect();
    assert_eq!(accepted.len(), 5);
    assert_eq!(distinct.len(), 5);

    // Entered with the platform's own reference.
    let refs = fake.references();
    let es = entries(&app, &p.finance, &p.campaign).await;
    for id in &p.disbursements {
        let (at, r) = &es[id];
        assert!(at.is_string(), "{id} not entered: {es:?}");
        assert_eq!(r.as_str(), Some(refs[&key(id)].as_str()), "{id}");
    }
    // The records carry what the province needs: the real name and ID number, the amount as a
    // string, the payment date and reference, the campaign.
    let records = fake.records();
    for (n, id) in p.disbursements.iter().enumerate() {
        let r = &records[&key(id)];
        assert_eq!(r["name"], format!("职工{n}"));
        assert_eq!(r["idNumber"], id_number(n as u32));
        assert_eq!(r["recipientKind"], "PERSON");
        assert_eq!(r["amount"], "500.00");
        assert_eq!(r["paidOn"], "2025-01-20");
        assert_eq!(r["bankReference"], format!("BANK-{n}"));
        assert_eq!(r["campaign"], "送温暖");
        assert_eq!(r["category"], "HARDSHIP");
        assert!(r.get("phone").is_none() && r.get("bankAccount").is_none(), "{r}");
    }
    // Audited like markEntered: one entry per record entered.
    assert_eq!(push_audits(&app).await, 5);

    // Both paths idempotent: markEntered with the platform's reference changes nothing …
    let first = &p.disbursements[0];
    let (at_before, _) = es[first].clone();
    let v = app
        .ok(
            Some(&integration),
            MARK_ENTERED,
            json!({"ids": [first], "r": refs[&key(first)]}),
        )
        .await;
    assert_eq!(v["markEntered"][0]["enteredAt"], at_before);
    assert_eq!(v["markEntered"][0]["provincialRef"], refs[&key(first)].as_str());
    // … another reference is refused (the first entry stands) …
    let v = app
        .gql(
            Some(&integration),
            MARK_ENTERED,
            json!({"ids": [first], "r": "OTHER-1"}),
        )
        .await;
    assert_eq!(code(&v), Some("CONFLICT"), "{v}");
    // … and pushing again sends nothing: nothing is due.
    let pushed = province::push_due(&services(&app)).await.unwrap();
    assert_eq!(pushed, province::Pushed::default());
    assert_eq!(fake.requests().len(), 5);
    assert_eq!(push_audits(&app).await, 5);
    assert_eq!(entries(&app, &p.finance, &p.campaign).await, es);
}

fn services(app: &TestApp) -> domain::Services {
    domain::Services::new(app.db.clone(), std::sync::Arc::new(app.settings.clone()))
}

#[tokio::test]
async fn a_lost_answer_is_resent_under_the_same_keys_and_records_entered_by_pull_are_not_pushed() {
    let fake = FakeProvince::start().await;
    let fs = fake.settings();
    let app = TestApp::spawn_with(&settings(&fs, &[("SONGNUAN_PROVINCE_TIMEOUT_MS", "300")])).await;
    let p = paid_with(&app, 4, |_| None).await;
    let integration = integration_user(&app, &p).await;
    // The help centre entered the first by hand (the pull path).
    app.ok(
        Some(&integration),
        MARK_ENTERED,
        json!({"ids": [p.disbursements[0]], "r": "PULL-0001"}),
    )
    .await;
    // The platform will refuse the last record.
    let refused = key(&p.disbursements[3]);
    fake.refuse(&refused);

    // The platform records the first request, then answers too late: the answer is lost.
    fake.answer_after(Duration::from_millis(1500));
    queue_push(&app).await;
    assert!(eventually(Duration::from_secs(30), || async { !fake.requests().is_empty() }).await);
    fake.answer_after(Duration::ZERO);
    let js = settled(&app, &p.admin).await;
    assert_eq!(js.len(), 1, "{js:?}");
    let job = &js[0];
    // Timeout, then the refused record on every later attempt: FAILED, naming the record.
    assert_eq!(job["status"], "FAILED", "{job}");
    assert_eq!(job["attempts"], job["maxAttempts"]);
    let reason = job["lastError"].as_str().unwrap();
    assert!(reason.contains("拒收 1 条"), "{reason}");
    assert!(reason.contains(&format!("#{}", p.disbursements[3])), "{reason}");
    assert!(reason.contains("记录不符合录入要求"), "{reason}");

    let requests = fake.requests();
    // The pull-entered record was never sent.
    assert!(
        requests
            .iter()
            .all(|r| !r.keys().contains(&key(&p.disbursements[0])))
    );
    // The first (lost) request held records 1, 2, 3; the resend used the same keys and got the
    // same references (the platform de-duplicated), so each was entered once.
    assert_eq!(
        requests[0].keys(),
        [
            key(&p.disbursements[1]),
            key(&p.disbursements[2]),
            refused.clone()
        ]
    );
    let refs = fake.references();
    assert_eq!(refs.len(), 2, "{refs:?}");
    let es = entries(&app, &p.finance, &p.campaign).await;
    assert_eq!(es[&p.disbursements[0]].1, "PULL-0001");
    for id in &p.disbursements[1..3] {
        assert_eq!(es[id].1.as_str(), Some(refs[&key(id)].as_str()), "{id}");
    }
    assert!(es[&p.disbursements[3]].0.is_null());
    assert_eq!(push_audits(&app).await, 2);
    // Once entered by the push, records are no longer sent: the later attempts held only the
    // refused one.
    let last = requests.last().unwrap();
    assert_eq!(last.keys(), std::slice::from_ref(&refused));
    // The platform accepts it later: retryJob re-runs the job, which enters it.
    fake.accept(&refused);
    app.ok(
        Some(&p.admin),
        "mutation($id:ID!){retryJob(id:$id){status}}",
        json!({"id": job["id"]}),
    )
    .await;
    domain::outbox::wake();
    let done = eventually(Duration::from_secs(60), || async {
        push_jobs(&app, &p.admin).await[0]["status"] == "DONE"
    })
    .await;
    assert!(done, "{:?}", push_jobs(&app, &p.admin).await);
    let es = entries(&app, &p.finance, &p.campaign).await;
    assert_eq!(
        es[&p.disbursements[3]].1.as_str(),
        Some(fake.references()[&refused].as_str())
    );
    assert_eq!(push_audits(&app).await, 3);
}

#[tokio::test]
async fn a_wrong_token_ends_failed_with_a_clear_reason_after_max_attempts() {
    let fake = FakeProvince::start().await;
    let fs = vec![
        ("SONGNUAN_PROVINCE_URL", fake.url.clone()),
        ("SONGNUAN_PROVINCE_TOKEN", "wrong-token".to_string()),
    ];
    let app = TestApp::spawn_with(&settings(&fs, &[])).await;
    let p = paid_with(&app, 1, |_| None).await;
    queue_push(&app).await;
    let js = settled(&app, &p.admin).await;
    assert_eq!(js.len(), 1, "{js:?}");
    let job = &js[0];
    assert_eq!(job["status"], "FAILED", "{job}");
    assert_eq!(job["attempts"], 5);
    assert_eq!(job["maxAttempts"], 5);
    let reason = job["lastError"].as_str().unwrap();
    assert!(reason.contains("访问令牌"), "{reason}");
    assert!(reason.contains("401"), "{reason}");
    assert!(reason.contains("SONGNUAN_PROVINCE_TOKEN"), "{reason}");
    // No personal data in the reason.
    assert!(!reason.contains(&id_number(0)), "{reason}");
    let requests = fake.requests();
    assert_eq!(requests.len(), 5);
    assert!(
        requests
            .iter()
            .all(|r| r.status == 401 && r.authorization.as_deref() == Some("Bearer wrong-token"))
    );
    let es = entries(&app, &p.finance, &p.campaign).await;
    assert!(es.values().all(|(at, r)| at.is_null() && r.is_null()));
    assert!(fake.references().is_empty());
}

#[tokio::test]
async fn the_runner_queues_the_push_by_itself_once_records_are_due() {
    let fake = FakeProvince::start().await;
    let fs = fake.settings();
    let mut extra: Vec<(&str, &str)> = fs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    extra.extend([
        ("SONGNUAN_PROVINCE_EVERY_SECS", "1"),
        ("SONGNUAN_LETTER_DELAY_SECS", "86400"),
    ]);
    let app = TestApp::spawn_with(&extra).await;
    let p = paid_with(&app, 3, |_| None).await;
    let all_entered = eventually(Duration::from_secs(60), || async {
        entries(&app, &p.finance, &p.campaign)
            .await
            .values()
            .all(|(at, _)| at.is_string())
    })
    .await;
    assert!(all_entered, "{:?}", entries(&app, &p.finance, &p.campaign).await);
    let refs = fake.references();
    let es = entries(&app, &p.finance, &p.campaign).await;
    for id in &p.disbursements {
        assert_eq!(es[id].1.as_str(), Some(refs[&key(id)].as_str()));
    }
    // Nothing due any more: no further jobs are queued, period after period.
    let settled_jobs = settled(&app, &p.admin).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let later = push_jobs(&app, &p.admin).await;
    assert_eq!(later.len(), settled_jobs.len(), "{later:?}");
    assert!(later.iter().all(|j| j["status"] == "DONE"), "{later:?}");
    assert_eq!(push_audits(&app).await, 3);
}
