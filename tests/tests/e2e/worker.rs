//! The worker's foundation: `markPaid` queues the recipient's notice in its own transaction,
//! the embedded runner sends it once (log provider), jobs are claimed by one runner only, a
//! poison job ends FAILED and `retryJob` puts it back; who may see and retry jobs.
use domain::outbox::{self, NewJob};
use serde_json::{Value, json};
use songnuan_tests::{TestApp, code, id_number};
use std::collections::HashSet;
use std::time::{Duration, Instant};

pub(crate) struct Paid {
    pub admin: String,
    pub finance: String,
    pub campaign: String,
    pub disbursements: Vec<String>,
}

/// A DISTRIBUTION campaign with `people` verified persons (with a phone when `phones`), each
/// paid 500.00 (planned by a caseworker, approved and paid by finance).
async fn paid(app: &TestApp, people: u32, phones: bool) -> Paid {
    paid_with(app, people, |n| phones.then(|| format!("1390000{n:04}"))).await
}

/// `paid`, with each person's phone (or none) given by `phone`.
pub(crate) async fn paid_with(app: &TestApp, people: u32, phone: impl Fn(u32) -> Option<String>) -> Paid {
    let admin = app.admin().await;
    let root = app.root_org(&admin).await;
    let caseworker = app.user_token(&admin, "helpcentre", &["CASEWORKER"], &root).await;
    let finance = app.user_token(&admin, "finance", &["FINANCE"], &root).await;
    let campaign = app.create_campaign(&admin, "送温暖").await;
    app.ok(
        Some(&admin),
        "mutation($c:ID!,$i:CategoryInput!){addCategory(campaignId:$c,input:$i){id}}",
        json!({"c": campaign, "i": {"code": "HARDSHIP", "name": "困难职工", "recipientKind": "PERSON", "plannedCount": people, "standardAmount": "500.00"}}),
    )
    .await;
    app.advance(&admin, &campaign, "SCREENING").await;
    let mut recipients = Vec::new();
    for n in 0..people {
        let mut input = json!({"campaignId": campaign, "categoryCode": "HARDSHIP", "kind": "PERSON",
            "name": format!("职工{n}"), "idNumber": id_number(n), "nominatedById": root});
        if let Some(p) = phone(n) {
            input["phone"] = json!(p);
        }
        let id = app
            .ok(
                Some(&caseworker),
                "mutation($i:NominateInput!){nominateRecipient(input:$i){id}}",
                json!({ "i": input }),
            )
            .await["nominateRecipient"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        app.ok(
            Some(&caseworker),
            "mutation($id:ID!){verifyRecipient(id:$id,method:HOME_VISIT){id}}",
            json!({"id": id}),
        )
        .await;
        recipients.push(id);
    }
    app.advance(&admin, &campaign, "PROCUREMENT").await;
    app.fund(&finance, &campaign, "150000.00").await;
    app.advance(&admin, &campaign, "DISTRIBUTION").await;
    let mut disbursements = Vec::new();
    for (n, r) in recipients.iter().enumerate() {
        disbursements.push(
            app.pay_cash(
                &caseworker,
                &finance,
                r,
                "500.00",
                &format!("BANK-{n}"),
                "2025-01-20",
            )
            .await,
        );
    }
    Paid {
        admin,
        finance,
        campaign,
        disbursements,
    }
}

pub(crate) const NOTICES: &str = "query($c:ID!){disbursements(campaignId:$c,first:200){edges{node{id notifiedAt notice{channel status attempts lastError sentAt deliveredAt}}}}}";

pub(crate) async fn notices(app: &TestApp, token: &str, campaign: &str) -> Vec<Value> {
    app.ok(Some(token), NOTICES, json!({"c": campaign})).await["disbursements"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

const JOBS: &str = "query($k:String,$s:JobStatus){jobs(kind:$k,status:$s,first:200){totalCount edges{node{id kind status attempts maxAttempts lastError target createdAt updatedAt}}}}";

pub(crate) async fn jobs(app: &TestApp, token: &str, status: Option<&str>) -> Vec<Value> {
    app.ok(Some(token), JOBS, json!({"s": status})).await["jobs"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

/// Polls `check` until it holds or `within` passes.
pub(crate) async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn mark_paid_queues_one_notice_each_and_the_runner_sends_them_once() {
    let app = TestApp::spawn().await;
    const N: usize = 12;
    let p = paid(&app, N as u32, true).await;
    let all_sent = eventually(Duration::from_secs(30), || async {
        let ns = notices(&app, &p.finance, &p.campaign).await;
        ns.len() == N && ns.iter().all(|n| n["notice"]["status"] == "SENT")
    })
    .await;
    let ns = notices(&app, &p.finance, &p.campaign).await;
    assert!(all_sent, "not all notices sent in time: {ns:?}");
    for n in &ns {
        assert_eq!(n["notice"]["channel"], "SMS");
        assert_eq!(n["notice"]["attempts"], 1);
        assert!(n["notice"]["sentAt"].is_string(), "{n}");
        assert!(n["notifiedAt"].is_string(), "{n}");
        assert!(n["notice"]["deliveredAt"].is_null());
    }
    let done = jobs(&app, &p.admin, Some("DONE")).await;
    assert_eq!(done.len(), N, "{done:?}");
    let targets: HashSet<String> = done
        .iter()
        .map(|j| j["target"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(targets.len(), N);
    for j in &done {
        assert_eq!(j["kind"], "NOTICE");
        assert_eq!(j["attempts"], 1);
        assert_eq!(j["maxAttempts"], 5);
    }
    let all = jobs(&app, &p.admin, None).await;
    assert_eq!(all.len(), N, "no other job: {all:?}");
    // Newest first.
    let ids: Vec<i64> = all
        .iter()
        .map(|j| j["id"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");
    // Queuing again by the same key changes nothing (the outbox is idempotent).
    let first = &p.disbursements[0];
    outbox::enqueue(
        &app.db,
        NewJob {
            kind: outbox::kinds::NOTICE,
            target: Some(format!("disbursement:{first}")),
            idempotency_key: format!("notice:{first}"),
            max_attempts: 5,
        },
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(jobs(&app, &p.admin, None).await.len(), N);
}

#[tokio::test]
async fn a_recipient_without_a_phone_gets_a_letter_notice_and_no_sms_job() {
    // Letters wait for their batch (`SONGNUAN_LETTER_DELAY_SECS`; printed in letters.rs).
    let app = TestApp::spawn_with(&[("SONGNUAN_LETTER_DELAY_SECS", "86400")]).await;
    let p = paid(&app, 2, false).await;
    let ns = notices(&app, &p.finance, &p.campaign).await;
    assert_eq!(ns.len(), 2);
    for n in &ns {
        assert_eq!(n["notice"]["channel"], "LETTER");
        assert_eq!(n["notice"]["status"], "PENDING");
        assert!(n["notifiedAt"].is_null());
    }
    // One LETTERS job per letter, not yet due; no NOTICE (SMS) job.
    let js = jobs(&app, &p.admin, None).await;
    assert_eq!(js.len(), 2, "{js:?}");
    assert!(
        js.iter()
            .all(|j| j["kind"] == "LETTERS" && j["status"] == "QUEUED"),
        "{js:?}"
    );
}

#[tokio::test]
async fn concurrent_claimers_never_take_the_same_job() {
    // No embedded runner here: the test's claimers are the only ones.
    let app = TestApp::spawn_with(&[("SONGNUAN_JOB_RUNNER", "off")]).await;
    const N: usize = 120;
    for i in 0..N {
        outbox::enqueue(
            &app.db,
            NewJob {
                kind: "TEST",
                target: None,
                idempotency_key: format!("test:{i}"),
                max_attempts: 5,
            },
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    }
    let mut tasks = Vec::new();
    for r in 0..4 {
        let db = app.db.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let got = domain::runner::claim(&db, &format!("runner-{r}"), Duration::from_secs(60), 7)
                    .await
                    .unwrap();
                if got.is_empty() {
                    break;
                }
                for j in got {
                    assert_eq!(j.status, "RUNNING");
                    assert_eq!(j.attempts, 1, "claimed once");
                    assert_eq!(j.locked_by.as_deref(), Some(format!("runner-{r}").as_str()));
                    mine.push(j.id);
                }
            }
            mine
        }));
    }
    let mut seen = HashSet::new();
    let mut total = 0;
    for t in tasks {
        for id in t.await.unwrap() {
            total += 1;
            assert!(seen.insert(id), "job {id} claimed twice");
        }
    }
    assert_eq!(total, N);
    // Held by a lease: nothing more to claim until it runs out.
    assert!(
        domain::runner::claim(&app.db, "late", Duration::from_secs(60), 10)
            .await
            .unwrap()
            .is_empty()
    );
    // A runner that died: its lease ran out, the job is claimed again by another.
    app.exec(
        "UPDATE jobs SET locked_until = created_at WHERE id IN (SELECT id FROM jobs ORDER BY id LIMIT 3)",
    )
    .await;
    let again = domain::runner::claim(&app.db, "heir", Duration::from_secs(60), 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 3);
    assert!(
        again
            .iter()
            .all(|j| j.attempts == 2 && j.locked_by.as_deref() == Some("heir"))
    );
}

#[tokio::test]
async fn a_poison_job_ends_failed_with_its_reason_and_retry_job_requeues_it() {
    let app = TestApp::spawn_with(&[("SONGNUAN_JOB_BACKOFF_MS", "10")]).await;
    let admin = app.admin().await;
    // A NOTICE job whose disbursement has no notice: its handler fails every time.
    outbox::enqueue(
        &app.db,
        NewJob {
            kind: outbox::kinds::NOTICE,
            target: Some("disbursement:999999".into()),
            idempotency_key: "notice:999999".into(),
            max_attempts: 3,
        },
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    let failed = eventually(Duration::from_secs(30), || async {
        jobs(&app, &admin, Some("FAILED")).await.len() == 1
    })
    .await;
    let all = jobs(&app, &admin, None).await;
    assert!(failed, "{all:?}");
    let j = &all[0];
    assert_eq!(j["status"], "FAILED");
    assert_eq!(j["attempts"], 3);
    assert!(j["lastError"].as_str().unwrap().contains("999999"), "{j}");
    let id = j["id"].as_str().unwrap().to_string();
    let audits = app.audit_count().await;
    let retried = app
        .ok(
            Some(&admin),
            "mutation($id:ID!){retryJob(id:$id){id status attempts lastError}}",
            json!({"id": id}),
        )
        .await;
    assert_eq!(retried["retryJob"]["status"], "QUEUED");
    assert_eq!(retried["retryJob"]["attempts"], 0);
    assert!(retried["retryJob"]["lastError"].is_null());
    assert_eq!(app.audit_count().await, audits + 1, "retryJob is audited");
    // It runs again (and, still poison, fails again after its attempts).
    let again = eventually(Duration::from_secs(30), || async {
        let js = jobs(&app, &admin, Some("FAILED")).await;
        js.len() == 1 && js[0]["attempts"] == 3
    })
    .await;
    assert!(again);
    // Only a FAILED job may be retried.
    app.exec("UPDATE jobs SET status = 'DONE'").await;
    let v = app
        .gql(
            Some(&admin),
            "mutation($id:ID!){retryJob(id:$id){id}}",
            json!({"id": id}),
        )
        .await;
    assert_eq!(code(&v), Some("CONFLICT"), "{v}");
    let v = app
        .gql(Some(&admin), "mutation{retryJob(id:\"424242\"){id}}", json!({}))
        .await;
    assert_eq!(code(&v), Some("NOT_FOUND"), "{v}");
}

#[tokio::test]
async fn only_admin_and_auditor_read_jobs_only_admin_retries() {
    let app = TestApp::spawn_with(&[("SONGNUAN_JOB_RUNNER", "off")]).await;
    let admin = app.admin().await;
    let root = app.root_org(&admin).await;
    let grassroots_org = app
        .create_org(&admin, "基层工会", "GRASSROOTS", Some(&root))
        .await;
    let auditor = app.user_token(&admin, "auditor", &["AUDITOR"], &root).await;
    let grassroots = app
        .user_token(&admin, "grassroots", &["GRASSROOTS"], &grassroots_org)
        .await;
    let finance = app.user_token(&admin, "finance", &["FINANCE"], &root).await;
    let caseworker = app.user_token(&admin, "caseworker", &["CASEWORKER"], &root).await;
    outbox::enqueue(
        &app.db,
        NewJob {
            kind: "TEST",
            target: None,
            idempotency_key: "t".into(),
            max_attempts: 5,
        },
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(jobs(&app, &auditor, None).await.len(), 1);
    assert_eq!(jobs(&app, &admin, Some("QUEUED")).await.len(), 1);
    assert!(jobs(&app, &admin, Some("FAILED")).await.is_empty());
    for t in [&grassroots, &finance, &caseworker] {
        let v = app.gql(Some(t), JOBS, json!({})).await;
        assert_eq!(code(&v), Some("FORBIDDEN"), "{v}");
    }
    let id = jobs(&app, &admin, None).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for t in [&auditor, &grassroots, &finance] {
        let v = app
            .gql(
                Some(t),
                "mutation($id:ID!){retryJob(id:$id){id}}",
                json!({"id": id}),
            )
            .await;
        assert_eq!(code(&v), Some("FORBIDDEN"), "{v}");
    }
    let v = app.gql(None, JOBS, json!({})).await;
    assert_eq!(code(&v), Some("UNAUTHENTICATED"), "{v}");
}

#[tokio::test]
async fn grassroots_reads_no_notice_of_its_nominees() {
    let app = TestApp::spawn_with(&[("SONGNUAN_JOB_RUNNER", "off")]).await;
    let p = paid(&app, 1, true).await;
    let root = app.root_org(&p.admin).await;
    let g = app
        .user_token(&p.admin, "grassroots", &["GRASSROOTS"], &root)
        .await;
    let v = app
        .gql(
            Some(&g),
            "query($c:ID!){recipients(campaignId:$c){edges{node{disbursements{amount notice{status}}}}}}",
            json!({"c": p.campaign}),
        )
        .await;
    assert_eq!(code(&v), Some("FORBIDDEN"), "{v}");
    // The finance office reads it: PENDING, the runner being off.
    let ns = notices(&app, &p.finance, &p.campaign).await;
    assert_eq!(ns[0]["notice"]["status"], "PENDING");
    assert_eq!(ns[0]["notice"]["attempts"], 0);
}

/// An SMS provider for tests: refuses the first attempt of every out-id, then accepts and
/// remembers what it was asked to send.
#[derive(Default)]
struct Recording {
    calls: std::sync::Mutex<Vec<(String, String, String)>>,
    accepted: std::sync::Mutex<Vec<String>>,
}

impl domain::notices::SmsProvider for Recording {
    fn send<'a>(
        &'a self,
        sms: &'a domain::notices::Sms,
    ) -> futures::future::BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let mut calls = self.calls.lock().unwrap();
            let first = !calls.iter().any(|(o, _, _)| *o == sms.out_id);
            calls.push((sms.out_id.clone(), sms.phone.clone(), sms.amount.clone()));
            if first {
                return Err("网关超时（测试）".into());
            }
            self.accepted.lock().unwrap().push(sms.out_id.clone());
            Ok(())
        })
    }

    fn query<'a>(
        &'a self,
        sms: &'a domain::notices::Sms,
    ) -> futures::future::BoxFuture<'a, Result<bool, String>> {
        Box::pin(async move { Ok(self.accepted.lock().unwrap().contains(&sms.out_id)) })
    }
}

fn runner(app: &TestApp, name: &str, sms: std::sync::Arc<Recording>) -> domain::runner::Runner {
    let services = domain::Services::new(app.db.clone(), std::sync::Arc::new(app.settings.clone()));
    let config = domain::runner::RunnerConfig {
        name: name.into(),
        poll: Duration::from_millis(20),
        lease: Duration::from_secs(60),
        backoff_base: Duration::from_millis(5),
        backoff_cap: Duration::from_millis(50),
        batch: 3,
    };
    domain::runner::Runner::new(services, config, sms)
}

#[tokio::test]
async fn two_runners_with_a_failing_provider_send_every_notice_exactly_once() {
    let app = TestApp::spawn_with(&[("SONGNUAN_JOB_RUNNER", "off")]).await;
    const N: usize = 10;
    let p = paid(&app, N as u32, true).await;
    let sms = std::sync::Arc::new(Recording::default());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let a = tokio::spawn(runner(&app, "a", sms.clone()).run(stopped.clone()));
    let b = tokio::spawn(runner(&app, "b", sms.clone()).run(stopped.clone()));
    let all_sent = eventually(Duration::from_secs(30), || async {
        let ns = notices(&app, &p.finance, &p.campaign).await;
        ns.iter().all(|n| n["notice"]["status"] == "SENT")
    })
    .await;
    stop.send(true).unwrap();
    a.await.unwrap();
    b.await.unwrap();
    assert!(all_sent, "{:?}", notices(&app, &p.finance, &p.campaign).await);
    for n in notices(&app, &p.finance, &p.campaign).await {
        assert_eq!(n["notice"]["attempts"], 2, "{n}");
        assert!(n["notice"]["lastError"].is_null(), "{n}");
        assert!(n["notifiedAt"].is_string());
    }
    let accepted = sms.accepted.lock().unwrap().clone();
    assert_eq!(accepted.len(), N, "{accepted:?}");
    assert_eq!(
        accepted.iter().collect::<HashSet<_>>().len(),
        N,
        "a notice sent twice"
    );
    // The clear number reached the provider (decrypted in the job), with the amount.
    for (_, phone, amount) in sms.calls.lock().unwrap().iter() {
        assert!(phone.starts_with("1390000") && phone.len() == 11, "{phone}");
        assert_eq!(amount, "500.00");
    }
    let done = jobs(&app, &p.admin, Some("DONE")).await;
    assert_eq!(done.len(), N);
    assert!(
        done.iter()
            .all(|j| j["attempts"] == 2 && j["lastError"].is_null())
    );
    // The jobs run again (a relay's duplicate, a lost lease): the notices are SENT, nothing is
    // sent again.
    app.exec("UPDATE jobs SET status = 'QUEUED', attempts = 0").await;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let c = tokio::spawn(runner(&app, "c", sms.clone()).run(stopped));
    let rerun = eventually(Duration::from_secs(30), || async {
        jobs(&app, &p.admin, Some("DONE")).await.len() == N
    })
    .await;
    stop.send(true).unwrap();
    c.await.unwrap();
    assert!(rerun);
    assert_eq!(sms.accepted.lock().unwrap().len(), N);
    assert_eq!(sms.calls.lock().unwrap().len(), 2 * N);
}
