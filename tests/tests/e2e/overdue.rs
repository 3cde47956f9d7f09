//! OVERDUE entry reminders also go to the campaign's ADMINs (contract, "Entry reminders"): the
//! group-robot post of an OVERDUE reminder names and @-mentions the enabled ADMINs of the
//! campaign's organisation and those above it (企业微信 `mentioned_list`, 钉钉 `at.atUserIds`);
//! a DUE_SOON post mentions nobody; ADMINs read both in `reminders`.
use crate::reminder_setup::{day, services, setup};
use domain::reminders;
use serde_json::{Value, json};
use songnuan_tests::TestApp;
use songnuan_tests::fake_robot::{FakeRobot, Robot};

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
    let robot = FakeRobot::start().await;
    let url = robot.wecom_url();
    let app = TestApp::spawn_with(&[("SONGNUAN_ROBOT_WEBHOOK", url.as_str())]).await;
    // Deadlines 2025-02-06 and 2025-02-07; caseworker `helpcentre` and `finance` among others.
    let s = setup(&app).await;
    let (admin, root) = (&s.admin, &s.root);
    let towns = app.two_towns(admin, root).await;
    // The campaign's admins: `admin` (系统管理员) and 赵主任 at the county federation. Not: a
    // town's admin (below the campaign's organisation), a disabled admin, a caseworker.
    create_user(&app, admin, "zhaozhuren", "赵主任", &["ADMIN", "AUDITOR"], root).await;
    create_user(&app, admin, "town-admin", "街道管理员", &["ADMIN"], &towns.t1).await;
    let gone = create_user(&app, admin, "former-admin", "前任管理员", &["ADMIN"], root).await;
    app.ok(
        Some(admin),
        "mutation($id:ID!){disableUser(id:$id){id}}",
        json!({"id": gone}),
    )
    .await;

    // 02-07: the first is OVERDUE, the second DUE_SOON.
    let svc = services(&app);
    let feb7 = day("2025-02-07");
    assert_eq!(reminders::generate(&svc, feb7).await.unwrap(), 2);
    assert_eq!(reminders::post(&svc, feb7).await.unwrap(), 2);

    let bodies = robot.taken_bodies();
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
    // As the 企业微信 robot reads them (its own `mentioned_list` only): the OVERDUE post rings
    // the two admins, the DUE_SOON one nobody.
    let mut rung: Vec<(Robot, Vec<String>)> = robot
        .messages()
        .into_iter()
        .map(|m| (m.robot, m.mentioned))
        .collect();
    rung.sort();
    assert_eq!(
        rung,
        [
            (Robot::WeCom, vec![]),
            (Robot::WeCom, vec!["admin".to_string(), "zhaozhuren".to_string()]),
        ]
    );

    // In the API, an ADMIN reads both levels.
    let rs = app
        .ok(
            Some(admin),
            "query($c:ID!){reminders(campaignId:$c){level disbursementCount}}",
            json!({"c": s.campaign}),
        )
        .await["reminders"]
        .as_array()
        .unwrap()
        .clone();
    let mut levels: Vec<&str> = rs.iter().map(|r| r["level"].as_str().unwrap()).collect();
    levels.sort();
    assert_eq!(levels, ["DUE_SOON", "OVERDUE"]);

    // The same body through a 钉钉 webhook (its own `at.atUserIds` only) rings them too: 02-10,
    // both records OVERDUE, one reminder, posted by a worker configured for 钉钉.
    let mut dingtalk = app.settings.clone();
    dingtalk.robot_webhook = Some(robot.dingtalk_url());
    let svc = domain::Services::new(app.db.clone(), std::sync::Arc::new(dingtalk));
    let later = day("2025-02-10");
    assert_eq!(reminders::generate(&svc, later).await.unwrap(), 1);
    assert_eq!(reminders::post(&svc, later).await.unwrap(), 1);
    let last = robot.messages().pop().unwrap();
    assert_eq!(last.robot, Robot::DingTalk);
    assert!(
        last.content.contains("已逾期") && last.content.contains("@赵主任"),
        "{last:?}"
    );
    assert_eq!(last.mentioned, ["admin", "zhaozhuren"]);
}
