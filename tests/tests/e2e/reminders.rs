//! Entry reminders (issue 11 point 4) as of fixed days: DUE_SOON exactly K = 5 working days
//! before the deadline across the 2025 Spring Festival (春节 01-28 … 02-04, 01-26 worked), none
//! one working day earlier, OVERDUE after, none once entered; one reminder per campaign, level
//! and day however many workers run; the daily job (one per day by its key), the group robot
//! (a loopback axum server) posted once per reminder even through a failed attempt; who may
//! read them.
use axum::{Json, Router, extract::State, http::StatusCode, routing::post};
use chrono::NaiveDate;
use domain::reminders;
use serde_json::{Value, json};
use songnuan_tests::{TestApp, code};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn services(app: &TestApp) -> domain::Services {
    domain::Services::new(app.db.clone(), Arc::new(app.settings.clone()))
}

struct Setup {
    admin: String,
    caseworker: String,
    finance: String,
    auditor: String,
    grassroots: String,
    campaign: String,
    /// Paid 2025-01-23 → deadline 2025-02-06; paid 2025-01-24 → deadline 2025-02-07.
    disbursements: Vec<String>,
}

/// A DISTRIBUTION campaign whose records are due 5 working days after payment, with two
/// payments made just before the Spring Festival.
async fn setup(app: &TestApp) -> Setup {
    let admin = app.admin().await;
    let root = app.root_org(&admin).await;
    let caseworker = app.user_token(&admin, "helpcentre", &["CASEWORKER"], &root).await;
    let finance = app.user_token(&admin, "finance", &["FINANCE"], &root).await;
    let auditor = app.user_token(&admin, "auditor", &["AUDITOR"], &root).await;
    let grassroots = app.user_token(&admin, "grassroots", &["GRASSROOTS"], &root).await;
    let campaign = app
        .ok(
            Some(&admin),
            "mutation($i:CreateCampaignInput!){createCampaign(input:$i){id}}",
            json!({"i": {"name": "春节送温暖", "year": 2025, "budget": "150000.00", "startsOn": "2025-01-15",
                         "deadline": "2025-01-28", "entryDeadlineDays": 5}}),
        )
        .await["createCampaign"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.add_category(&admin, &campaign, "HARDSHIP").await;
    app.advance(&admin, &campaign, "SCREENING").await;
    let mut recipients = Vec::new();
    for n in 0..2 {
        let r = app.nominate_person(&caseworker, &campaign, &root, n).await;
        app.ok(
            Some(&caseworker),
            "mutation($id:ID!){verifyRecipient(id:$id,method:HOME_VISIT){id}}",
            json!({"id": r}),
        )
        .await;
        recipients.push(r);
    }
    app.advance(&admin, &campaign, "PROCUREMENT").await;
    app.fund(&finance, &campaign, "150000.00").await;
    app.advance(&admin, &campaign, "DISTRIBUTION").await;
    let mut disbursements = Vec::new();
    for (n, paid_on) in ["2025-01-23", "2025-01-24"].iter().enumerate() {
        disbursements.push(
            app.pay_cash(
                &caseworker,
                &finance,
                &recipients[n],
                "500.00",
                &format!("BANK-{n}"),
                paid_on,
            )
            .await,
        );
    }
    let d = app
        .ok(
            Some(&finance),
            "query($c:ID!){disbursements(campaignId:$c,first:10){edges{node{id entryDeadline}}}}",
            json!({"c": campaign}),
        )
        .await;
    let mut deadlines: Vec<String> = d["disbursements"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["entryDeadline"].as_str().unwrap().to_string())
        .collect();
    deadlines.sort();
    assert_eq!(deadlines, ["2025-02-06", "2025-02-07"]);
    Setup {
        admin,
        caseworker,
        finance,
        auditor,
        grassroots,
        campaign,
        disbursements,
    }
}

const REMINDERS: &str = "query($c:ID!){reminders(campaignId:$c){id campaign{id name} level createdOn disbursementCount earliestDeadline}}";

async fn listed(app: &TestApp, token: &str, campaign: &str) -> Vec<Value> {
    app.ok(Some(token), REMINDERS, json!({"c": campaign})).await["reminders"]
        .as_array()
        .unwrap()
        .clone()
}

/// (createdOn, level, disbursementCount, earliestDeadline) of each listed reminder.
fn summary(rs: &[Value]) -> Vec<(String, String, i64, String)> {
    rs.iter()
        .map(|r| {
            (
                r["createdOn"].as_str().unwrap().to_string(),
                r["level"].as_str().unwrap().to_string(),
                r["disbursementCount"].as_i64().unwrap(),
                r["earliestDeadline"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn reminders_follow_the_working_day_calendar_once_per_campaign_level_and_day() {
    let app = TestApp::spawn_with(&[("SONGNUAN_JOB_RUNNER", "off")]).await;
    let s = setup(&app).await;
    let svc = services(&app);

    // 6 working days before 02-06 (the Spring Festival in between): nothing yet.
    assert_eq!(reminders::generate(&svc, day("2025-01-22")).await.unwrap(), 0);
    // Exactly 5 working days before 02-06 (01-24, 01-26, 01-27, 02-05, 02-06): DUE_SOON for
    // the first payment only (02-07 is 6 working days away).
    assert_eq!(reminders::generate(&svc, day("2025-01-23")).await.unwrap(), 1);
    // Two workers the same day, at once: nothing more.
    let (a, b) = tokio::join!(
        reminders::generate(&svc, day("2025-01-23")),
        reminders::generate(&svc, day("2025-01-23"))
    );
    assert_eq!(a.unwrap() + b.unwrap(), 0);
    let rs = listed(&app, &s.caseworker, &s.campaign).await;
    assert_eq!(
        summary(&rs),
        [("2025-01-23".into(), "DUE_SOON".into(), 1, "2025-02-06".into())]
    );
    assert_eq!(rs[0]["campaign"]["id"], s.campaign.as_str());
    assert_eq!(rs[0]["campaign"]["name"], "春节送温暖");

    // During the holiday the window reaches 02-07: both are due soon, one reminder for both.
    assert_eq!(reminders::generate(&svc, day("2025-01-30")).await.unwrap(), 1);
    // 02-07: the first is overdue, the second due today.
    assert_eq!(reminders::generate(&svc, day("2025-02-07")).await.unwrap(), 2);
    assert_eq!(reminders::generate(&svc, day("2025-02-07")).await.unwrap(), 0);
    let rs = listed(&app, &s.admin, &s.campaign).await;
    let mut newest = summary(&rs);
    // Newest first (by day); within a day the order is by id, newest first.
    newest[..2].sort();
    assert_eq!(
        newest,
        [
            ("2025-02-07".into(), "DUE_SOON".into(), 1, "2025-02-07".into()),
            ("2025-02-07".into(), "OVERDUE".into(), 1, "2025-02-06".into()),
            ("2025-01-30".into(), "DUE_SOON".into(), 2, "2025-02-06".into()),
            ("2025-01-23".into(), "DUE_SOON".into(), 1, "2025-02-06".into()),
        ]
    );

    // Entered: no reminder any more, overdue or not.
    app.ok(
        Some(&s.caseworker),
        "mutation($ids:[ID!]!){markEntered(ids:$ids,provincialRef:\"YN-2025-009\"){id}}",
        json!({"ids": [s.disbursements[0]]}),
    )
    .await;
    assert_eq!(reminders::generate(&svc, day("2025-02-10")).await.unwrap(), 1);
    let rs = listed(&app, &s.auditor, &s.campaign).await;
    assert_eq!(
        summary(&rs[..1]),
        [("2025-02-10".into(), "OVERDUE".into(), 1, "2025-02-07".into())]
    );
    app.ok(
        Some(&s.caseworker),
        "mutation($ids:[ID!]!){markEntered(ids:$ids,provincialRef:\"YN-2025-010\"){id}}",
        json!({"ids": [s.disbursements[1]]}),
    )
    .await;
    assert_eq!(reminders::generate(&svc, day("2025-02-11")).await.unwrap(), 0);
    assert_eq!(listed(&app, &s.admin, &s.campaign).await.len(), 5);

    // Who may read them.
    for token in [&s.finance, &s.grassroots] {
        let v = app.gql(Some(token), REMINDERS, json!({"c": s.campaign})).await;
        assert_eq!(code(&v), Some("FORBIDDEN"), "{v}");
    }
    let v = app.gql(None, REMINDERS, json!({"c": s.campaign})).await;
    assert_eq!(code(&v), Some("UNAUTHENTICATED"), "{v}");
    let v = app.gql(Some(&s.admin), REMINDERS, json!({"c": "999999"})).await;
    assert_eq!(code(&v), Some("NOT_FOUND"), "{v}");
}

/// The group robot: records every body it accepts, refuses the first `fail` requests (500).
#[derive(Default)]
struct Robot {
    accepted: Mutex<Vec<Value>>,
    requests: AtomicUsize,
    fail: AtomicUsize,
}

async fn robot_hook(State(r): State<Arc<Robot>>, Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    let n = r.requests.fetch_add(1, Ordering::SeqCst);
    if n < r.fail.load(Ordering::SeqCst) {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"errcode": -1, "errmsg": "busy"})),
        );
    }
    r.accepted.lock().unwrap().push(body);
    (StatusCode::OK, Json(json!({"errcode": 0, "errmsg": "ok"})))
}

async fn robot(fail: usize) -> (Arc<Robot>, String) {
    let r = Arc::new(Robot::default());
    r.fail.store(fail, Ordering::SeqCst);
    let app = Router::new()
        .route("/robot/send", post(robot_hook))
        .with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (r, format!("http://{addr}/robot/send?key=test"))
}

const JOBS: &str = "{jobs(kind:\"ENTRY_REMINDERS\",first:50){edges{node{status attempts target lastError}}}}";

async fn reminder_jobs(app: &TestApp, admin: &str) -> Vec<Value> {
    app.ok(Some(admin), JOBS, json!({})).await["jobs"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
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
async fn the_daily_job_runs_once_per_day_and_posts_each_reminder_once_to_the_robot() {
    let (robot, url) = robot(1).await;
    let app = TestApp::spawn_with(&[
        ("SONGNUAN_ROBOT_WEBHOOK", url.as_str()),
        ("SONGNUAN_JOB_BACKOFF_MS", "20"),
    ])
    .await;
    let s = setup(&app).await;
    let now = chrono::Utc::now();
    // Two replicas queue the same day: one job.
    reminders::queue_day(&app.db, day("2025-01-23"), now)
        .await
        .unwrap();
    reminders::queue_day(&app.db, day("2025-01-23"), now)
        .await
        .unwrap();
    domain::outbox::wake();
    let done = eventually(Duration::from_secs(30), || async {
        let js = reminder_jobs(&app, &s.admin).await;
        js.len() == 1 && js[0]["status"] == "DONE"
    })
    .await;
    let js = reminder_jobs(&app, &s.admin).await;
    assert!(done, "{js:?}");
    // The robot refused the first post: the job ran again and posted the reminder then.
    assert_eq!(js[0]["attempts"], 2, "{js:?}");
    assert_eq!(js[0]["target"], "date:2025-01-23");
    assert_eq!(robot.requests.load(Ordering::SeqCst), 2);
    {
        let accepted = robot.accepted.lock().unwrap();
        assert_eq!(accepted.len(), 1);
        assert_eq!(accepted[0]["msgtype"], "text");
        let text = accepted[0]["text"]["content"].as_str().unwrap();
        assert!(text.contains("春节送温暖"), "{text}");
        assert!(text.contains("2025-02-06"), "{text}");
    }
    // Another worker running the same day again: no new reminder, no second post.
    let svc = services(&app);
    assert_eq!(reminders::generate(&svc, day("2025-01-23")).await.unwrap(), 0);
    assert_eq!(reminders::post(&svc, day("2025-01-23")).await.unwrap(), 0);
    assert_eq!(robot.accepted.lock().unwrap().len(), 1);

    // 02-07: two reminders (OVERDUE and DUE_SOON), two posts.
    reminders::queue_day(&app.db, day("2025-02-07"), now)
        .await
        .unwrap();
    domain::outbox::wake();
    let done = eventually(Duration::from_secs(30), || async {
        let js = reminder_jobs(&app, &s.admin).await;
        js.len() == 2 && js.iter().all(|j| j["status"] == "DONE")
    })
    .await;
    assert!(done, "{:?}", reminder_jobs(&app, &s.admin).await);
    assert_eq!(robot.accepted.lock().unwrap().len(), 3);
    assert_eq!(robot.requests.load(Ordering::SeqCst), 4);
    assert_eq!(listed(&app, &s.caseworker, &s.campaign).await.len(), 3);
}

#[tokio::test]
async fn the_runner_queues_todays_job_once_at_the_configured_time() {
    // 00:00 Asia/Shanghai has always passed: today's job is queued at once.
    let app = TestApp::spawn_with(&[("SONGNUAN_REMINDER_AT", "00:00")]).await;
    let admin = app.admin().await;
    let today = chrono::Utc::now()
        .with_timezone(&reminders::shanghai())
        .date_naive();
    let done = eventually(Duration::from_secs(30), || async {
        let js = reminder_jobs(&app, &admin).await;
        js.iter().any(|j| j["status"] == "DONE")
    })
    .await;
    assert!(done, "{:?}", reminder_jobs(&app, &admin).await);
    // A second runner (a fresh process) scheduling the same day adds nothing.
    let mut last = None;
    reminders::schedule(&services(&app), chrono::Utc::now(), &mut last).await;
    assert_eq!(last, Some(today));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let js = reminder_jobs(&app, &admin).await;
    assert_eq!(js.len(), 1, "{js:?}");
    // Unless the day turned over at Shanghai midnight during the test.
    assert_eq!(js[0]["target"], format!("date:{today}"));
}
