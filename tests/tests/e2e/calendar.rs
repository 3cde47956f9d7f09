//! The working-day calendar end to end: `workingDaysAfter` on the shipped days, a year not loaded
//! yet (weekends only), ADMIN's `setCalendarDays` changing answers and recomputing provisional
//! entry deadlines, and refusals that leave nothing behind.
use chrono::NaiveDate;
use entities::disbursement;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
use serde_json::{Value, json};
use songnuan_tests::{TestApp, code, id_number};

const AFTER: &str = "query($d:Date!,$n:Int!){workingDaysAfter(date:$d,days:$n)}";
const SET: &str = "mutation($days:[CalendarDayInput!]!){setCalendarDays(days:$days){date kind name}}";
const DAYS: &str = "query($y:Int!){calendarDays(year:$y){date kind name}}";

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

async fn after(app: &TestApp, token: &str, date: &str, days: i32) -> Value {
    app.gql(Some(token), AFTER, json!({"d": date, "n": days})).await
}

async fn after_ok(app: &TestApp, token: &str, date: &str, days: i32) -> String {
    let v = after(app, token, date, days).await;
    assert!(v.get("errors").is_none(), "{v}");
    v["data"]["workingDaysAfter"].as_str().unwrap().to_string()
}

async fn set_days(app: &TestApp, token: &str, days: Value) -> Value {
    app.gql(Some(token), SET, json!({"days": days})).await
}

#[tokio::test]
async fn working_days_after_follows_the_stored_calendar() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let root = app.root_org(&admin).await;
    let cw = app.user_token(&admin, "helpcentre", &["CASEWORKER"], &root).await;

    // The domain's worked example: the 2025 Spring Festival break and its make-up days.
    assert_eq!(after_ok(&app, &admin, "2025-01-27", 30).await, "2025-03-17");
    // Any authenticated caller may ask; nobody else.
    assert_eq!(after_ok(&app, &cw, "2025-01-27", 1).await, "2025-02-05");
    assert_eq!(after_ok(&app, &cw, "2025-10-04", 0).await, "2025-10-04");
    let v = app.gql(None, AFTER, json!({"d": "2025-01-27", "n": 30})).await;
    assert_eq!(code(&v), Some("UNAUTHENTICATED"), "{v}");

    // 2027 is not loaded: only weekends are off, so 2027-01-01 (a Friday) is a working day.
    assert_eq!(after_ok(&app, &cw, "2026-12-31", 1).await, "2027-01-01");
    assert_eq!(after_ok(&app, &cw, "2026-12-30", 3).await, "2027-01-04");

    let days = app.ok(Some(&cw), DAYS, json!({"y": 2025})).await;
    let days = days["calendarDays"].as_array().unwrap();
    assert_eq!(days.len(), 33);
    assert_eq!(
        days[0],
        json!({"date": "2025-01-01", "kind": "HOLIDAY", "name": "元旦"})
    );
    assert!(days.contains(&json!({"date": "2025-01-26", "kind": "WORKDAY", "name": "春节"})));
    assert_eq!(
        app.ok(Some(&cw), DAYS, json!({"y": 2027})).await["calendarDays"],
        json!([])
    );

    // ADMIN publishes 元旦 2027: the answer moves and the edit is audited.
    let audit = app.audit_count().await;
    let v = set_days(
        &app,
        &admin,
        json!([{"date": "2027-01-01", "kind": "HOLIDAY", "name": " 元旦 "}]),
    )
    .await;
    assert_eq!(
        v["data"]["setCalendarDays"],
        json!([{"date": "2027-01-01", "kind": "HOLIDAY", "name": "元旦"}]),
        "{v}"
    );
    assert_eq!(app.audit_count().await, audit + 1);
    assert_eq!(after_ok(&app, &cw, "2026-12-31", 1).await, "2027-01-04");
    assert_eq!(after_ok(&app, &cw, "2026-12-30", 3).await, "2027-01-05");
    assert_eq!(
        app.ok(Some(&cw), DAYS, json!({"y": 2027})).await["calendarDays"],
        json!([{"date": "2027-01-01", "kind": "HOLIDAY", "name": "元旦"}])
    );

    // A make-up Saturday is worked; replacing a day keeps one row for it.
    let v = set_days(
        &app,
        &admin,
        json!([
            {"date": "2027-01-09", "kind": "WORKDAY", "name": "元旦"},
            {"date": "2027-01-01", "kind": "HOLIDAY", "name": "新年"},
        ]),
    )
    .await;
    assert!(v.get("errors").is_none(), "{v}");
    assert_eq!(after_ok(&app, &cw, "2027-01-08", 1).await, "2027-01-09");
    assert_eq!(app.audit_count().await, audit + 3);
    assert_eq!(
        app.ok(Some(&cw), DAYS, json!({"y": 2027})).await["calendarDays"],
        json!([
            {"date": "2027-01-01", "kind": "HOLIDAY", "name": "新年"},
            {"date": "2027-01-09", "kind": "WORKDAY", "name": "元旦"},
        ])
    );
}

#[tokio::test]
async fn refusals_change_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let root = app.root_org(&admin).await;
    let cw = app.user_token(&admin, "helpcentre", &["CASEWORKER"], &root).await;
    let fin = app.user_token(&admin, "finance", &["FINANCE"], &root).await;
    let new_year = json!([{"date": "2027-01-01", "kind": "HOLIDAY", "name": "元旦"}]);
    let before = app.audit_count().await;

    for token in [&cw, &fin] {
        let v = set_days(&app, token, new_year.clone()).await;
        assert_eq!(code(&v), Some("FORBIDDEN"), "{v}");
    }
    let v = app.gql(None, SET, json!({"days": new_year})).await;
    assert_eq!(code(&v), Some("UNAUTHENTICATED"), "{v}");

    let refused = [
        // 2027-01-04 is a Monday: a make-up working day must be a weekend day.
        (
            json!([{"date": "2027-01-04", "kind": "WORKDAY", "name": "元旦"}]),
            "kind",
        ),
        (
            json!([{"date": "2027-01-01", "kind": "HOLIDAY", "name": "  "}]),
            "name",
        ),
        (
            json!([{"date": "2027-01-01", "kind": "HOLIDAY", "name": "节".repeat(51)}]),
            "name",
        ),
        (
            json!([
                {"date": "2027-01-01", "kind": "HOLIDAY", "name": "元旦"},
                {"date": "2027-01-01", "kind": "HOLIDAY", "name": "元旦"},
            ]),
            "date",
        ),
        (json!([]), "days"),
    ];
    for (days, field) in refused {
        let v = set_days(&app, &admin, days.clone()).await;
        assert_eq!(code(&v), Some("VALIDATION"), "{days}: {v}");
        assert_eq!(v["errors"][0]["extensions"]["field"], field, "{days}: {v}");
    }
    // A valid day sent together with a bad one is not stored either.
    let v = set_days(
        &app,
        &admin,
        json!([
            {"date": "2027-01-01", "kind": "HOLIDAY", "name": "元旦"},
            {"date": "2027-01-05", "kind": "WORKDAY", "name": "元旦"},
        ]),
    )
    .await;
    assert_eq!(code(&v), Some("VALIDATION"), "{v}");
    let many: Vec<Value> = d("2027-01-01")
        .iter_days()
        .take(401)
        .map(|x| json!({"date": x.to_string(), "kind": "HOLIDAY", "name": "测试"}))
        .collect();
    let v = set_days(&app, &admin, json!(many)).await;
    assert_eq!(v["errors"][0]["extensions"]["field"], "days", "{v}");
    // An unknown kind is refused by the schema itself.
    let v = set_days(
        &app,
        &admin,
        json!([{"date": "2027-01-01", "kind": "OFF", "name": "元旦"}]),
    )
    .await;
    assert_eq!(code(&v), Some("VALIDATION"), "{v}");

    for days in [4000, 3661, -1] {
        let v = after(&app, &cw, "2025-01-27", days).await;
        assert_eq!(code(&v), Some("VALIDATION"), "{days}: {v}");
        assert_eq!(v["errors"][0]["extensions"]["field"], "days");
    }
    assert_eq!(after_ok(&app, &cw, "2025-01-01", 3660).await.len(), 10);
    let v = after(&app, &cw, "2025-13-01", 1).await;
    assert_eq!(code(&v), Some("VALIDATION"), "{v}");

    assert_eq!(app.audit_count().await, before);
    assert_eq!(
        app.ok(Some(&cw), DAYS, json!({"y": 2027})).await["calendarDays"],
        json!([])
    );
    assert_eq!(after_ok(&app, &cw, "2026-12-31", 1).await, "2027-01-01");
}

/// Nominates one PERSON recipient and returns (recipient id, category id).
async fn nominate(app: &TestApp, token: &str, campaign: &str, org: &str, n: u32) -> (i64, i64) {
    let d = app
        .ok(
            Some(token),
            "mutation($i:NominateInput!){nominateRecipient(input:$i){id category{id}}}",
            json!({"i": {"campaignId": campaign, "categoryCode": "HARDSHIP", "kind": "PERSON",
                         "name": format!("职工{n}"), "idNumber": id_number(n), "nominatedById": org}}),
        )
        .await;
    let r = &d["nominateRecipient"];
    (
        r["id"].as_str().unwrap().parse().unwrap(),
        r["category"]["id"].as_str().unwrap().parse().unwrap(),
    )
}

struct Row {
    campaign: i64,
    recipient: (i64, i64),
    paid_on: Option<&'static str>,
    deadline: Option<&'static str>,
    provisional: bool,
}

async fn insert_disbursement(app: &TestApp, planned_by: i64, key: &str, r: Row) -> i64 {
    let now = chrono::Utc::now();
    let m = disbursement::ActiveModel {
        campaign_id: Set(r.campaign),
        recipient_id: Set(r.recipient.0),
        category_id: Set(r.recipient.1),
        kind: Set("CASH".into()),
        amount_fen: Set(50_000),
        status: Set(if r.paid_on.is_some() { "PAID" } else { "PLANNED" }.into()),
        paid_on: Set(r.paid_on.map(d)),
        bank_reference: Set(r.paid_on.map(|_| format!("BANK-{key}"))),
        entry_deadline: Set(r.deadline.map(d)),
        entry_deadline_provisional: Set(r.provisional),
        idempotency_key: Set(key.into()),
        request_hash: Set("0".repeat(64)),
        active_recipient: Set(Some(r.recipient.0)),
        recipient_verified_at_plan: Set(true),
        planned_by: Set(planned_by),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .expect("insert disbursement");
    m.id
}

async fn stored(app: &TestApp, id: i64) -> (Option<String>, bool) {
    let m = disbursement::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    (
        m.entry_deadline.map(|x| x.to_string()),
        m.entry_deadline_provisional,
    )
}

#[tokio::test]
async fn publishing_a_year_recomputes_provisional_entry_deadlines() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let root = app.root_org(&admin).await;
    let me: i64 = app.ok(Some(&admin), "{me{id}}", json!({})).await["me"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();

    // Campaign A: the default 30 working days. Campaign B: 5 working days.
    let a: i64 = app.screening_campaign(&admin).await.parse().unwrap();
    let b = app
        .ok(
            Some(&admin),
            "mutation($i:CreateCampaignInput!){createCampaign(input:$i){id}}",
            json!({"i": {"name": "五日录入的项目", "year": 2026, "budget": "10000.00", "startsOn": "2026-12-01",
                         "deadline": "2026-12-31", "entryDeadlineDays": 5}}),
        )
        .await["createCampaign"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.add_category(&admin, &b, "HARDSHIP").await;
    app.advance(&admin, &b, "SCREENING").await;
    let a_s = a.to_string();
    let mut ra = Vec::new();
    for n in 1..=4 {
        ra.push(nominate(&app, &admin, &a_s, &root, n).await);
    }
    let rb = nominate(&app, &admin, &b, &root, 10).await;
    let b: i64 = b.parse().unwrap();

    // What the money module stored at payment time on the shipped calendar (2027 unknown).
    assert_eq!(after_ok(&app, &admin, "2026-12-28", 30).await, "2027-02-08");
    assert_eq!(after_ok(&app, &admin, "2026-12-28", 5).await, "2027-01-04");
    let paid_a = insert_disbursement(
        &app,
        me,
        "a1",
        Row {
            campaign: a,
            recipient: ra[0],
            paid_on: Some("2026-12-28"),
            deadline: Some("2027-02-08"),
            provisional: true,
        },
    )
    .await;
    let paid_b = insert_disbursement(
        &app,
        me,
        "b1",
        Row {
            campaign: b,
            recipient: rb,
            paid_on: Some("2026-12-28"),
            deadline: Some("2027-01-04"),
            provisional: true,
        },
    )
    .await;
    // Settled deadlines are left alone, even one that would come out differently.
    let settled = insert_disbursement(
        &app,
        me,
        "a2",
        Row {
            campaign: a,
            recipient: ra[1],
            paid_on: Some("2025-01-27"),
            deadline: Some("2025-03-18"),
            provisional: false,
        },
    )
    .await;
    // Not paid: no deadline to compute.
    let planned = insert_disbursement(
        &app,
        me,
        "a3",
        Row {
            campaign: a,
            recipient: ra[2],
            paid_on: None,
            deadline: None,
            provisional: true,
        },
    )
    .await;
    // Reaches 2028, still unknown afterwards: same date, still provisional, untouched.
    let still = insert_disbursement(
        &app,
        me,
        "a4",
        Row {
            campaign: a,
            recipient: ra[3],
            paid_on: Some("2027-12-20"),
            deadline: Some("2028-01-31"),
            provisional: true,
        },
    )
    .await;
    assert_eq!(after_ok(&app, &admin, "2027-12-20", 30).await, "2028-01-31");

    let audit = app.audit_count().await;
    let v = set_days(
        &app,
        &admin,
        json!([{"date": "2027-01-01", "kind": "HOLIDAY", "name": "元旦"}]),
    )
    .await;
    assert!(v.get("errors").is_none(), "{v}");

    // 2027-01-01 is off now and 2027 is known: one day later, settled.
    assert_eq!(stored(&app, paid_a).await, (Some("2027-02-09".into()), false));
    assert_eq!(after_ok(&app, &admin, "2026-12-28", 30).await, "2027-02-09");
    assert_eq!(stored(&app, paid_b).await, (Some("2027-01-05".into()), false));
    assert_eq!(stored(&app, settled).await, (Some("2025-03-18".into()), false));
    assert_eq!(stored(&app, planned).await, (None, true));
    assert_eq!(stored(&app, still).await, (Some("2028-01-31".into()), true));
    // The day and the two moved deadlines.
    assert_eq!(app.audit_count().await, audit + 3);
    let log = app
        .ok(
            Some(&admin),
            "query($id:String){auditLog(first:5,targetType:\"Disbursement\",targetId:$id){edges{node{action diff}}}}",
            json!({"id": paid_a.to_string()}),
        )
        .await;
    let node = &log["auditLog"]["edges"][0]["node"];
    assert_eq!(node["action"], "setCalendarDays");
    let diff: Value = serde_json::from_str(node["diff"].as_str().unwrap()).unwrap();
    assert_eq!(
        diff["entry_deadline"],
        json!({"before": "2027-02-08", "after": "2027-02-09"})
    );
}
