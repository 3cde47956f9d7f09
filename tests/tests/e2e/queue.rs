//! The queue (apalis on Redis) against a Redis of the test's own (`RedisServer`, a spare port,
//! nothing on disk), so these run on SQLite and PostgreSQL runs alike: 100 payments make 100
//! provider requests through Redis; a Redis outage loses no notice and doubles none; the apalis
//! faults (a slow reply, a worker restarted at once, 25 attempts on Redis) do not bite; a job
//! whose worker died runs again; `/ready` and `/metrics` report the jobs.
use super::worker::{eventually, jobs, notices, paid_with};
use chrono::NaiveDate;
use domain::outbox::{self, NewJob};
use serde_json::{Value, json};
use songnuan_tests::TestApp;
use songnuan_tests::fake_sms::FakeSms;
use songnuan_tests::redis_server::RedisServer;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

fn phone(n: u32) -> Option<String> {
    Some(format!("1390000{n:04}"))
}

/// The API on `redis` (it only queues) with the fake provider; the in-process worker runs the
/// jobs unless `own_worker` (the test starts and stops its own).
async fn app_on(redis: &RedisServer, fake: Option<&FakeSms>, own_worker: bool) -> TestApp {
    let url = redis.url();
    let mut owned: Vec<(&str, String)> = fake.map(|f| f.settings()).unwrap_or_default();
    owned.push(("REDIS_URL", url));
    owned.push(("SONGNUAN_JOB_BACKOFF_MS", "10".into()));
    if own_worker {
        owned.push(("SONGNUAN_JOB_RUNNER", "off".into()));
    }
    let vars: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
    TestApp::spawn_with(&vars).await
}

/// Starts a worker of the test on its queue; stopping: send on the returned channel.
fn start_worker(
    app: &TestApp,
    options: worker::Options,
    sms: Arc<dyn domain::notices::SmsProvider>,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    let services = domain::Services::new(app.db.clone(), Arc::new(app.settings.clone()));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(worker::run(services, sms, options, async {
        let _ = rx.await;
    }));
    (tx, handle)
}

async fn redis_count(redis: &RedisServer, cmd: &str, key: &str) -> i64 {
    match redis.command(&[cmd, key]).await {
        Ok(redis::Value::Int(n)) => n,
        other => panic!("{cmd} {key}: {other:?}"),
    }
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

async fn job_rows(app: &TestApp) -> Vec<entities::job::Model> {
    use sea_orm::{EntityTrait, QueryOrder};
    entities::job::Entity::find()
        .order_by_asc(entities::job::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
}

async fn all_done(app: &TestApp, n: usize) -> bool {
    let rows = job_rows(app).await;
    rows.len() == n && rows.iter().all(|j| j.status == "DONE")
}

#[tokio::test]
async fn a_hundred_payments_through_redis_make_exactly_a_hundred_provider_requests() {
    let redis = RedisServer::start().await;
    let fake = FakeSms::start().await;
    let app = app_on(&redis, Some(&fake), false).await;
    const N: usize = 100;
    let p = paid_with(&app, N as u32, phone).await;
    let sent = eventually(Duration::from_secs(90), || async {
        let ns = notices(&app, &p.finance, &p.campaign).await;
        ns.len() == N && ns.iter().all(|n| n["notice"]["status"] == "SENT")
    })
    .await;
    let ns = notices(&app, &p.finance, &p.campaign).await;
    assert!(sent, "not all sent: {ns:?}");
    for n in &ns {
        assert!(n["notifiedAt"].is_string(), "{n}");
        assert_eq!(n["notice"]["attempts"], 1, "{n}");
    }
    assert_eq!(fake.send_requests(), N as u64);
    assert!(fake.duplicates().is_empty());
    let sends = fake.sends();
    let out_ids: HashSet<String> = sends.iter().map(|s| s.out_id.clone()).collect();
    let expected: HashSet<String> = p.disbursements.iter().map(|d| format!("sn-notice-{d}")).collect();
    assert_eq!(out_ids, expected);
    for s in &sends {
        let n: u32 = s.phone[7..].parse().unwrap();
        assert_eq!(Some(s.phone.clone()), phone(n));
        assert_eq!(s.params["name"], format!("职工{n}"));
        assert_eq!(s.params["amount"], "500.00");
        assert_eq!(s.params["campaign"], "送温暖");
        assert_eq!(s.template, "SMS_0001");
    }
    assert_eq!(jobs(&app, &p.admin, Some("DONE")).await.len(), N);
    // Through Redis, not the embedded runner: the queue handed each job over and apalis
    // acknowledged each task; none died there.
    let done = redis_count(&redis, "SCARD", &format!("{}:done", app.queue)).await;
    assert!(done >= N as i64, "apalis acknowledged {done} tasks");
    assert_eq!(
        redis_count(&redis, "SCARD", &format!("{}:dead", app.queue)).await,
        0
    );
    let rows = job_rows(&app).await;
    assert!(rows.iter().all(|j| j.handed_at.is_some()));
}

#[tokio::test]
async fn redis_down_while_paying_loses_no_notice_and_sends_each_once() {
    let mut redis = RedisServer::start().await;
    let fake = FakeSms::start().await;
    let app = app_on(&redis, Some(&fake), false).await;
    redis.kill();
    assert!(!redis.answers().await);
    const N: usize = 50;
    // Every markPaid succeeds (`paid_with` fails the test on any error).
    let p = paid_with(&app, N as u32, phone).await;
    let ns = notices(&app, &p.finance, &p.campaign).await;
    assert!(ns.iter().all(|n| n["notice"]["status"] == "PENDING"), "{ns:?}");
    let queued = jobs(&app, &p.admin, Some("QUEUED")).await;
    assert_eq!(queued.len(), N, "every job is in the outbox");
    let r = app.http.get(format!("{}/ready", app.base)).send().await.unwrap();
    assert_eq!(r.status(), 503);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["queue"], "unreachable");
    assert_eq!(body["jobs"]["queued"], N);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(fake.send_requests(), 0);
    redis.restart().await;
    let sent = eventually(Duration::from_secs(90), || async {
        let ns = notices(&app, &p.finance, &p.campaign).await;
        ns.iter().all(|n| n["notice"]["status"] == "SENT")
    })
    .await;
    assert!(sent, "{:?}", notices(&app, &p.finance, &p.campaign).await);
    assert_eq!(fake.sends().len(), N);
    assert!(fake.duplicates().is_empty(), "{:?}", fake.duplicates());
    assert_eq!(fake.send_requests(), N as u64);
    let r = app.http.get(format!("{}/ready", app.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["queue"], "ok");
    assert_eq!(body["jobs"]["queued"], 0);
}

#[tokio::test]
async fn a_slow_redis_reply_does_not_stop_the_worker_for_good() {
    let redis = RedisServer::start().await;
    let app = app_on(&redis, None, true).await;
    let mut options = app.worker_options(&redis.url());
    // Shorter than the stall below: the slow reply is an error for the worker.
    options.redis_timeout = Duration::from_millis(200);
    let (stop, handle) = start_worker(&app, options, Arc::new(domain::notices::LogProvider));
    let now = chrono::Utc::now();
    domain::reminders::queue_day(&app.db, day("2025-01-23"), now)
        .await
        .unwrap();
    assert!(eventually(Duration::from_secs(20), || all_done(&app, 1)).await);
    let workers = format!("{}:workers", app.queue);
    assert_eq!(redis_count(&redis, "ZCARD", &workers).await, 1);
    // Redis answers nothing for 1.5 s (longer than the worker's response timeout).
    redis.command(&["CLIENT", "PAUSE", "1500", "ALL"]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2000)).await;
    // Jobs queued after it still run.
    for d in ["2025-01-24", "2025-01-27"] {
        domain::reminders::queue_day(&app.db, day(d), chrono::Utc::now())
            .await
            .unwrap();
    }
    let done = eventually(Duration::from_secs(30), || all_done(&app, 3)).await;
    assert!(done, "{:?}", job_rows(&app).await);
    // The consumer did fail and was restarted, under a new name.
    assert!(redis_count(&redis, "ZCARD", &workers).await >= 2);
    let _ = stop.send(());
    handle.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_worker_restarted_at_once_is_not_refused_its_name() {
    let redis = RedisServer::start().await;
    let app = app_on(&redis, None, true).await;
    let sms: Arc<dyn domain::notices::SmsProvider> = Arc::new(domain::notices::LogProvider);
    let first = app.worker_options(&redis.url());
    let (stop, handle) = start_worker(&app, first.clone(), sms.clone());
    domain::reminders::queue_day(&app.db, day("2025-01-23"), chrono::Utc::now())
        .await
        .unwrap();
    assert!(eventually(Duration::from_secs(20), || all_done(&app, 1)).await);
    let _ = stop.send(());
    handle.await.unwrap().unwrap();
    // The same process starts its worker again at once: a new name, accepted.
    let second = app.worker_options(&redis.url());
    assert_ne!(first.name, second.name);
    let (stop, handle) = start_worker(&app, second, sms);
    domain::reminders::queue_day(&app.db, day("2025-01-24"), chrono::Utc::now())
        .await
        .unwrap();
    let done = eventually(Duration::from_secs(20), || all_done(&app, 2)).await;
    assert!(done, "{:?}", job_rows(&app).await);
    let _ = stop.send(());
    handle.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_poison_job_fails_after_our_max_attempts_not_apalis_25_and_retry_job_reruns_it() {
    let redis = RedisServer::start().await;
    let app = app_on(&redis, None, false).await;
    let admin = app.admin().await;
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
    outbox::wake();
    let failed = eventually(Duration::from_secs(30), || async {
        jobs(&app, &admin, Some("FAILED")).await.len() == 1
    })
    .await;
    assert!(failed, "{:?}", jobs(&app, &admin, None).await);
    // It stays failed at 3 attempts: nothing retries it behind our back.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let js = jobs(&app, &admin, None).await;
    assert_eq!(js[0]["status"], "FAILED");
    assert_eq!(js[0]["attempts"], 3);
    assert!(js[0]["lastError"].as_str().unwrap().contains("999999"), "{js:?}");
    assert_eq!(
        redis_count(&redis, "SCARD", &format!("{}:dead", app.queue)).await,
        0,
        "apalis saw no failure"
    );
    let id = js[0]["id"].as_str().unwrap().to_string();
    let retried = app
        .ok(
            Some(&admin),
            "mutation($id:ID!){retryJob(id:$id){status attempts}}",
            json!({"id": id}),
        )
        .await;
    assert_eq!(retried["retryJob"]["status"], "QUEUED");
    // Handed over again (a new state of the row) and run again: 3 more attempts, FAILED.
    let again = eventually(Duration::from_secs(30), || async {
        let rows = job_rows(&app).await;
        rows[0].status == "FAILED" && rows[0].attempts == 3
    })
    .await;
    assert!(again, "{:?}", job_rows(&app).await);
    // apalis acknowledges a task after our handler wrote the row: the last ack may lag.
    let acked = eventually(Duration::from_secs(10), || async {
        redis_count(&redis, "SCARD", &format!("{}:done", app.queue)).await >= 6
    })
    .await;
    let done = redis_count(&redis, "SCARD", &format!("{}:done", app.queue)).await;
    assert!(acked, "six attempts went through Redis: {done}");
}

#[tokio::test]
async fn a_job_whose_worker_died_mid_job_runs_again() {
    let redis = RedisServer::start().await;
    let app = app_on(&redis, None, true).await;
    domain::reminders::queue_day(&app.db, day("2025-01-23"), chrono::Utc::now())
        .await
        .unwrap();
    let id = job_rows(&app).await[0].id;
    // A worker claims the job and dies before it writes an outcome: its lease runs out.
    let held = domain::runner::claim_by_id(&app.db, "dead-worker", Duration::from_secs(2), id)
        .await
        .unwrap()
        .expect("claimed");
    assert_eq!(held.status, "RUNNING");
    let (stop, handle) = start_worker(
        &app,
        app.worker_options(&redis.url()),
        Arc::new(domain::notices::LogProvider),
    );
    // Held by the dead worker's lease: nobody runs it yet.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let row = &job_rows(&app).await[0];
    assert_eq!(row.status, "RUNNING");
    assert_eq!(row.locked_by.as_deref(), Some("dead-worker"));
    let done = eventually(Duration::from_secs(20), || all_done(&app, 1)).await;
    let row = &job_rows(&app).await[0];
    assert!(done, "{row:?}");
    assert_eq!(row.attempts, 2, "{row:?}");
    assert!(row.locked_by.is_none());
    let _ = stop.send(());
    handle.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_stopping_worker_finishes_its_job_in_flight() {
    let redis = RedisServer::start().await;
    let fake = FakeSms::start().await;
    fake.set_rule(|_, _| songnuan_tests::fake_sms::Behaviour::Slow(Duration::from_millis(800)));
    let app = app_on(&redis, Some(&fake), true).await;
    let sms = domain::notices::provider_from_settings(&app.settings.sms).unwrap();
    let (stop, handle) = start_worker(&app, app.worker_options(&redis.url()), sms);
    let p = paid_with(&app, 1, phone).await;
    // Stop while the provider is answering.
    let running = eventually(Duration::from_secs(20), || async {
        job_rows(&app).await.iter().any(|j| j.status == "RUNNING")
    })
    .await;
    assert!(running);
    let _ = stop.send(());
    handle.await.unwrap().unwrap();
    let rows = job_rows(&app).await;
    assert_eq!(rows[0].status, "DONE", "{rows:?}");
    let ns = notices(&app, &p.finance, &p.campaign).await;
    assert_eq!(ns[0]["notice"]["status"], "SENT");
    assert_eq!(fake.sends().len(), 1);
}

#[tokio::test]
async fn ready_and_metrics_report_the_jobs() {
    let app = TestApp::spawn_with(&[("SONGNUAN_JOB_RUNNER", "off")]).await;
    for i in 0..3 {
        outbox::enqueue(
            &app.db,
            NewJob {
                kind: "TEST",
                target: None,
                idempotency_key: format!("t:{i}"),
                max_attempts: 5,
            },
            chrono::Utc::now() - chrono::Duration::seconds(30),
        )
        .await
        .unwrap();
    }
    app.exec("UPDATE jobs SET status = 'FAILED' WHERE idempotency_key = 't:2'")
        .await;
    let r = app.http.get(format!("{}/ready", app.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["jobs"]["queued"], 2);
    assert_eq!(body["jobs"]["running"], 0);
    assert_eq!(body["jobs"]["failed"], 1);
    let age = body["jobs"]["oldestQueuedSeconds"].as_u64().unwrap();
    assert!((30..120).contains(&age), "{body}");
    // The gauges on /metrics (refreshed every 2 s by the server).
    let handle = api::telemetry::metrics_handle();
    let seen = eventually(Duration::from_secs(10), || async {
        let text = handle.render();
        text.lines()
            .any(|l| l.starts_with("songnuan_jobs{status=\"QUEUED\"}"))
            && text.contains("songnuan_jobs_oldest_queued_seconds")
    })
    .await;
    assert!(seen, "{}", handle.render());
}
