//! OVERDUE entry reminders also go to the campaign's ADMINs (contract, "Entry reminders"): the
//! group-robot post of an OVERDUE reminder names and @-mentions the enabled ADMINs of the
//! campaign's organisation and those above it (企业微信 `mentioned_list`, 钉钉 `at.atUserIds`);
//! a DUE_SOON post mentions nobody; ADMINs read both in `reminders`.
use axum::{Json, Router, extract::State, routing::post};
use chrono::NaiveDate;
use domain::reminders;
use serde_json::{Value, json};
use songnuan_tests::TestApp;
use std::sync::{Arc, Mutex};

async fn robot_hook(State(bodies): State<Arc<Mutex<Vec<Value>>>>, Json(body): Json<Value>) -> Json<Value> {
    bodies.lock().unwrap().push(body);
    Json(json!({"errcode": 0, "errmsg": "ok"}))
}

/// A group robot on loopback recording every body.
async fn robot() -> (Arc<Mutex<Vec<Value>>>, String) {
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let app = Router::new()
        .route("/robot/send", post(robot_hook))
        .with_state(bodies.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (bodies, format!("http://{addr}/robot/send?key=test"))
}

async fn create_user(
    app: &TestApp,
    admin: &str,
    username: &str,
    display: &str,
    roles: &[&str],
    org: &str,
) -> String {
    app.ok(
        Some(admin),
        "mutation($i:CreateUserInput!){createUser(input:$i){id}}",
        json!({"i": {"username": username, "password": "password-123", "displayName": display, "roles": roles, "organizationId": org}}),
    )
    .await["createUser"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn overdue_reminders_name_and_mention_the_campaigns_admins_on_the_robot() {
    let (bodies, url) = robot().await;
    let app = TestApp::spawn_with(&[("SONGNUAN_ROBOT_WEBHOOK", url.as_str())]).await;
    let admin = app.admin().await;
    let root = app.root_org(&admin).await;
    let towns = app.two_towns(&admin, &root).await;
    // The campaign's admins: `admin` (系统管理员) and 赵主任 at the county federation. Not: a
    // town's admin (below the campaign's organisation), a disabled admin, a caseworker.
    create_user(&app, &admin, "zhaozhuren", "赵主任", &["ADMIN", "AUDITOR"], &root).await;
    create_user(&app, &admin, "town-admin", "街道管理员", &["ADMIN"], &towns.t1).await;
    let gone = create_user(&app, &admin, "former-admin", "前任管理员", &["ADMIN"], &root).await;
    app.ok(
        Some(&admin),
        "mutation($id:ID!){disableUser(id:$id){id}}",
        json!({"id": gone}),
    )
    .await;
    let caseworker = app.user_token(&admin, "helpcentre", &["CASEWORKER"], &root).await;
    let finance = app.user_token(&admin, "finance", &["FINANCE"], &root).await;

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
    // Deadlines 2025-02-06 and 2025-02-07 (5 working days, the Spring Festival in between).
    for (n, paid_on) in ["2025-01-23", "2025-01-24"].iter().enumerate() {
        app.pay_cash(
            &caseworker,
            &finance,
            &recipients[n],
            "500.00",
            &format!("BANK-{n}"),
            paid_on,
        )
        .await;
    }

    // 02-07: the first is OVERDUE, the second DUE_SOON.
    let svc = domain::Services::new(app.db.clone(), Arc::new(app.settings.clone()));
    let day = NaiveDate::from_ymd_opt(2025, 2, 7).unwrap();
    assert_eq!(reminders::generate(&svc, day).await.unwrap(), 2);
    assert_eq!(reminders::post(&svc, day).await.unwrap(), 2);

    let bodies = bodies.lock().unwrap().clone();
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    let (overdue, due_soon): (Vec<&Value>, Vec<&Value>) = bodies
        .iter()
        .partition(|b| b["text"]["content"].as_str().unwrap().contains("已逾期"));
    assert_eq!((overdue.len(), due_soon.len()), (1, 1), "{bodies:?}");
    let o = overdue[0];
    assert_eq!(o["msgtype"], "text");
    assert_eq!(o["text"]["mentioned_list"], json!(["admin", "zhaozhuren"]), "{o}");
    assert_eq!(o["at"]["atUserIds"], json!(["admin", "zhaozhuren"]), "{o}");
    assert_eq!(o["at"]["isAtAll"], false);
    let text = o["text"]["content"].as_str().unwrap();
    assert!(
        text.contains("春节送温暖") && text.contains("2025-02-06"),
        "{text}"
    );
    assert!(text.contains("@系统管理员") && text.contains("@赵主任"), "{text}");
    for not_mentioned in ["街道管理员", "前任管理员", "helpcentre", "finance"] {
        assert!(!text.contains(not_mentioned), "{text}");
    }
    // DUE_SOON goes to the caseworkers: nobody is mentioned.
    let d = due_soon[0];
    assert!(
        d["text"].get("mentioned_list").is_none() && d.get("at").is_none(),
        "{d}"
    );
    assert!(!d["text"]["content"].as_str().unwrap().contains('@'), "{d}");

    // In the API, an ADMIN reads both levels.
    let rs = app
        .ok(
            Some(&admin),
            "query($c:ID!){reminders(campaignId:$c){level disbursementCount}}",
            json!({"c": campaign}),
        )
        .await["reminders"]
        .as_array()
        .unwrap()
        .clone();
    let mut levels: Vec<&str> = rs.iter().map(|r| r["level"].as_str().unwrap()).collect();
    levels.sort();
    assert_eq!(levels, ["DUE_SOON", "OVERDUE"]);
}
