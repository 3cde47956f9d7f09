//! The HTTP SMS provider against the fake provider on loopback (`songnuan_tests::fake_sms`):
//! exactly one provider request per notice with the right phone, amount and template
//! parameters; sends whose answer is lost (recorded, then past the client's timeout) are
//! resolved by asking the provider by out-id, never resent; receipts move SENT → DELIVERED /
//! FAILED once; the per-number daily limit defers the extra notices.
use super::worker::{eventually, jobs, notices, paid_with};
use entities::{job, notice};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use songnuan_tests::TestApp;
use songnuan_tests::fake_sms::{Behaviour, FakeSms};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

const RECEIPT_SECRET: &str = "receipt-secret-0123456789";

async fn app_with(fake: &FakeSms, extra: &[(&str, &str)]) -> TestApp {
    let owned = fake.settings();
    let mut vars: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
    vars.push(("SONGNUAN_JOB_BACKOFF_MS", "10"));
    vars.extend_from_slice(extra);
    TestApp::spawn_with(&vars).await
}

fn phone(n: u32) -> Option<String> {
    Some(format!("1390000{n:04}"))
}

/// Waits until every notice of the campaign is SENT; returns the notices.
async fn all_sent(app: &TestApp, finance: &str, campaign: &str, n: usize) -> Vec<Value> {
    let ok = eventually(Duration::from_secs(90), || async {
        let ns = notices(app, finance, campaign).await;
        ns.len() == n && ns.iter().all(|x| x["notice"]["status"] == "SENT")
    })
    .await;
    let ns = notices(app, finance, campaign).await;
    assert!(ok, "not all notices sent: {ns:?}");
    ns
}

fn out_ids(disbursements: &[String]) -> HashSet<String> {
    disbursements.iter().map(|d| format!("sn-notice-{d}")).collect()
}

#[tokio::test]
async fn a_hundred_payments_make_exactly_a_hundred_provider_requests_with_the_right_parameters() {
    let fake = FakeSms::start().await;
    let app = app_with(&fake, &[]).await;
    const N: usize = 100;
    let p = paid_with(&app, N as u32, phone).await;
    let ns = all_sent(&app, &p.finance, &p.campaign, N).await;
    for n in &ns {
        assert!(n["notifiedAt"].is_string(), "{n}");
        assert_eq!(n["notice"]["attempts"], 1, "{n}");
        assert!(n["notice"]["lastError"].is_null(), "{n}");
    }
    assert_eq!(fake.send_requests(), N as u64);
    assert_eq!(fake.queries(), 0, "nothing to ask: every answer arrived");
    let sends = fake.sends();
    assert_eq!(sends.len(), N);
    assert!(fake.duplicates().is_empty());
    let got: HashSet<String> = sends.iter().map(|s| s.out_id.clone()).collect();
    assert_eq!(got, out_ids(&p.disbursements));
    for s in &sends {
        let n: u32 = s.phone[7..].parse().unwrap();
        assert_eq!(Some(s.phone.clone()), phone(n));
        assert_eq!(s.params["name"], format!("职工{n}"), "{s:?}");
        assert_eq!(s.params["amount"], "500.00");
        assert_eq!(s.params["campaign"], "送温暖");
        assert_eq!(s.params["paidOn"], "2025-01-20");
        assert_eq!(s.sign, "送暖");
        assert_eq!(s.template, "SMS_0001");
        assert_eq!(s.authorization.as_deref(), Some("Bearer fake-access-key"));
    }
    let done = jobs(&app, &p.admin, Some("DONE")).await;
    assert_eq!(done.len(), N);
    // No receipt secret configured: the hook does not exist.
    let r = app
        .http
        .post(format!("{}/hooks/sms-receipt", app.base))
        .json(&json!([]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn lost_answers_are_resolved_by_asking_the_provider_never_by_resending() {
    let fake = FakeSms::start().await;
    // Every tenth out-id: the first send is recorded, then its answer comes after the client
    // gave up. Every tenth + 5: the first send is refused (not recorded).
    fake.set_rule(|out_id, earlier| {
        let n: u64 = out_id.rsplit('-').next().unwrap().parse().unwrap();
        match (n % 10, earlier) {
            (0, 0) => Behaviour::RecordThenStall(Duration::from_millis(1500)),
            (5, 0) => Behaviour::Refuse,
            (7, _) => Behaviour::Slow(Duration::from_millis(20)),
            _ => Behaviour::Accept,
        }
    });
    let app = app_with(&fake, &[("SONGNUAN_SMS_TIMEOUT_MS", "300")]).await;
    const N: usize = 100;
    let p = paid_with(&app, N as u32, phone).await;
    let ns = all_sent(&app, &p.finance, &p.campaign, N).await;
    let sends = fake.sends();
    assert!(
        fake.duplicates().is_empty(),
        "duplicates: {:?}",
        fake.duplicates()
    );
    assert_eq!(sends.len(), N, "0 missing");
    let got: HashSet<String> = sends.iter().map(|s| s.out_id.clone()).collect();
    assert_eq!(got, out_ids(&p.disbursements));
    let stalled = p
        .disbursements
        .iter()
        .filter(|d| d.parse::<u64>().unwrap() % 10 == 0)
        .count() as u64;
    let refused = p
        .disbursements
        .iter()
        .filter(|d| d.parse::<u64>().unwrap() % 10 == 5)
        .count() as u64;
    assert!(stalled >= 9 && refused >= 9, "{stalled} {refused}");
    // One request per notice, plus the refused first tries; the lost answers were asked about.
    assert_eq!(fake.send_requests(), N as u64 + refused);
    assert_eq!(fake.queries(), stalled + refused);
    let by_id: HashMap<String, &Value> = ns
        .iter()
        .map(|n| (n["id"].as_str().unwrap().to_string(), n))
        .collect();
    for d in &p.disbursements {
        let n = by_id[d];
        assert!(n["notifiedAt"].is_string(), "{n}");
        assert!(n["notice"]["lastError"].is_null(), "{n}");
        let expected = if d.parse::<u64>().unwrap() % 10 == 5 { 2 } else { 1 };
        assert_eq!(n["notice"]["attempts"], expected, "{n}");
    }
    assert_eq!(jobs(&app, &p.admin, Some("DONE")).await.len(), N);
}

#[tokio::test]
async fn an_accepted_send_whose_commit_was_lost_is_not_sent_again() {
    // Our crash after the provider accepted: the notice shows an attempt (PENDING, attempts 1)
    // and the provider has the message; the job runs again.
    let fake = FakeSms::start().await;
    let app = app_with(&fake, &[]).await;
    let p = paid_with(&app, 2, phone).await;
    all_sent(&app, &p.finance, &p.campaign, 2).await;
    assert_eq!(fake.send_requests(), 2);
    notice::Entity::update_many()
        .col_expr(notice::Column::Status, Expr::value("PENDING"))
        .col_expr(
            notice::Column::SentAt,
            Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
        )
        .exec(&app.db)
        .await
        .unwrap();
    job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value("QUEUED"))
        .exec(&app.db)
        .await
        .unwrap();
    domain::outbox::wake();
    all_sent(&app, &p.finance, &p.campaign, 2).await;
    assert_eq!(fake.send_requests(), 2, "asked, not resent");
    assert_eq!(fake.queries(), 2);
}

async fn push(app: &TestApp, secret: Option<&str>, body: Value) -> (u16, Value) {
    let mut req = app
        .http
        .post(format!("{}/hooks/sms-receipt", app.base))
        .json(&body);
    if let Some(s) = secret {
        req = req.header("x-sms-receipt-secret", s);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn receipts_move_sent_to_delivered_or_failed_once_and_need_the_secret() {
    let fake = FakeSms::start().await;
    let app = app_with(&fake, &[("SONGNUAN_SMS_RECEIPT_SECRET", RECEIPT_SECRET)]).await;
    let p = paid_with(&app, 3, phone).await;
    all_sent(&app, &p.finance, &p.campaign, 3).await;
    let [a, b, c] = [0, 1, 2].map(|i| p.disbursements[i].clone());
    let receipts = json!([
        {"out_id": format!("sn-notice-{a}"), "success": true, "err_code": "DELIVERED", "err_msg": "用户接收成功",
         "report_time": "2025-01-20 10:00:00", "phone_number": "13900000000", "biz_id": "x"},
        {"out_id": format!("sn-notice-{b}"), "success": false, "err_code": "IS_CLOSE", "err_msg": "停机",
         "report_time": "2025-01-20 10:00:01"},
        {"out_id": "sn-notice-999999", "success": true, "err_code": "DELIVERED", "err_msg": "", "report_time": "2025-01-20 10:00:02"},
    ]);
    for secret in [None, Some("wrong-secret-0123456789")] {
        let (status, v) = push(&app, secret, receipts.clone()).await;
        assert_eq!(status, 401, "{v}");
        assert_eq!(v["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{v}");
    }
    let untouched = notices(&app, &p.finance, &p.campaign).await;
    assert!(untouched.iter().all(|n| n["notice"]["status"] == "SENT"));
    let (status, v) = push(&app, Some(RECEIPT_SECRET), receipts.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(v["code"], 0);
    assert_eq!(
        (v["applied"].clone(), v["unchanged"].clone(), v["unknown"].clone()),
        (json!(2), json!(0), json!(1)),
        "{v}"
    );
    let after = notices(&app, &p.finance, &p.campaign).await;
    let by_id: HashMap<String, Value> = after
        .iter()
        .map(|n| (n["id"].as_str().unwrap().to_string(), n["notice"].clone()))
        .collect();
    assert_eq!(by_id[&a]["status"], "DELIVERED");
    assert!(
        by_id[&a]["deliveredAt"]
            .as_str()
            .unwrap()
            .starts_with("2025-01-20T02:00:00"),
        "{}",
        by_id[&a]
    );
    assert_eq!(by_id[&b]["status"], "FAILED");
    assert!(
        by_id[&b]["lastError"].as_str().unwrap().contains("IS_CLOSE"),
        "{}",
        by_id[&b]
    );
    assert_eq!(by_id[&c]["status"], "SENT");
    // A replay changes nothing.
    let (status, v) = push(&app, Some(RECEIPT_SECRET), receipts).await;
    assert_eq!(status, 200);
    assert_eq!(
        (v["applied"].clone(), v["unchanged"].clone(), v["unknown"].clone()),
        (json!(0), json!(2), json!(1)),
        "{v}"
    );
    assert_eq!(notices(&app, &p.finance, &p.campaign).await, after);
    // Not an array: refused in the contract's shape.
    let (status, v) = push(&app, Some(RECEIPT_SECRET), json!({"out_id": "x"})).await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["errors"][0]["extensions"]["code"], "VALIDATION");
    // Too many receipts in one push.
    let many: Vec<Value> = (0..1001)
        .map(|i| json!({"out_id": format!("x{i}"), "success": true}))
        .collect();
    let (status, _) = push(&app, Some(RECEIPT_SECRET), Value::Array(many)).await;
    assert_eq!(status, 413);
}

#[tokio::test]
async fn the_daily_limit_per_number_defers_the_extra_notices() {
    let fake = FakeSms::start().await;
    let app = app_with(&fake, &[("SONGNUAN_SMS_PER_NUMBER_DAILY", "2")]).await;
    // Four people share one number (e.g. a family phone).
    let p = paid_with(&app, 4, |_| Some("13911112222".into())).await;
    let settled = eventually(Duration::from_secs(60), || async {
        let ns = notices(&app, &p.finance, &p.campaign).await;
        let sent = ns.iter().filter(|n| n["notice"]["status"] == "SENT").count();
        let waiting = ns
            .iter()
            .filter(|n| {
                n["notice"]["lastError"]
                    .as_str()
                    .is_some_and(|e| e.contains("上限"))
            })
            .count();
        sent == 2 && waiting == 2
    })
    .await;
    let ns = notices(&app, &p.finance, &p.campaign).await;
    assert!(settled, "{ns:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(fake.send_requests(), 2);
    for n in ns.iter().filter(|n| n["notice"]["status"] != "SENT") {
        assert_eq!(n["notice"]["status"], "PENDING", "deferred, not failed: {n}");
        assert_eq!(n["notice"]["attempts"], 0);
        assert!(n["notifiedAt"].is_null());
    }
    let queued = jobs(&app, &p.admin, Some("QUEUED")).await;
    assert_eq!(queued.len(), 2, "{queued:?}");
    for j in &queued {
        assert_eq!(j["attempts"], 0, "{j}");
        assert!(j["lastError"].as_str().unwrap().contains("上限"), "{j}");
    }
    // The next day: yesterday's sends no longer count, the deferred jobs are due.
    let yesterday = chrono::Utc::now() - chrono::Duration::days(1);
    notice::Entity::update_many()
        .col_expr(notice::Column::SentAt, Expr::value(yesterday))
        .filter(notice::Column::Status.eq("SENT"))
        .exec(&app.db)
        .await
        .unwrap();
    job::Entity::update_many()
        .col_expr(job::Column::RunAt, Expr::value(yesterday))
        .filter(job::Column::Status.eq("QUEUED"))
        .exec(&app.db)
        .await
        .unwrap();
    domain::outbox::wake();
    all_sent(&app, &p.finance, &p.campaign, 4).await;
    assert_eq!(fake.send_requests(), 4);
    assert!(fake.duplicates().is_empty());
}

#[tokio::test]
async fn a_lost_answer_the_provider_cannot_be_asked_about_is_never_resent_blind() {
    let fake = FakeSms::start().await;
    // Every first send is recorded and its answer lost; the queries fail.
    fake.set_rule(|_, earlier| {
        if earlier == 0 {
            Behaviour::RecordThenStall(Duration::from_millis(1000))
        } else {
            Behaviour::Accept
        }
    });
    fake.fail_queries(true);
    let app = app_with(&fake, &[("SONGNUAN_SMS_TIMEOUT_MS", "200")]).await;
    let p = paid_with(&app, 3, phone).await;
    // The job is marked FAILED just before its notice: wait for both.
    let failed = eventually(Duration::from_secs(60), || async {
        jobs(&app, &p.admin, Some("FAILED")).await.len() == 3
            && notices(&app, &p.finance, &p.campaign)
                .await
                .iter()
                .all(|n| n["notice"]["status"] == "FAILED")
    })
    .await;
    let ns = notices(&app, &p.finance, &p.campaign).await;
    assert!(failed, "{ns:?}");
    assert_eq!(fake.send_requests(), 3, "asked (and failed to ask), never resent");
    assert!(fake.queries() >= 3 * 4, "{}", fake.queries());
    for n in &ns {
        assert_eq!(n["notice"]["status"], "FAILED", "{n}");
        assert_eq!(n["notice"]["attempts"], 1, "{n}");
        assert!(n["notice"]["lastError"].as_str().unwrap().contains("查询"), "{n}");
        assert!(n["notifiedAt"].is_null());
    }
    // The provider answers again; an operator retries the jobs: asked, found, SENT — no resend.
    fake.fail_queries(false);
    for j in jobs(&app, &p.admin, Some("FAILED")).await {
        app.ok(
            Some(&p.admin),
            "mutation($id:ID!){retryJob(id:$id){id status}}",
            json!({"id": j["id"]}),
        )
        .await;
    }
    all_sent(&app, &p.finance, &p.campaign, 3).await;
    assert_eq!(fake.send_requests(), 3);
    assert!(fake.duplicates().is_empty());
}
