//! The audit log: every mutation leaves an entry with a diff; the chain detects tampering.
use serde_json::{Value, json};
use songnuan_tests::{TestApp, code};

#[tokio::test]
async fn mutations_are_logged_with_actor_target_and_diff_newest_first() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let id = app.create_campaign(&admin, "审计项目").await;
    app.add_category(&admin, &id, "HARDSHIP").await;
    app.advance(&admin, &id, "SCREENING").await;

    let d = app
        .ok(
            Some(&admin),
            "query($t:String){auditLog(first:2,targetType:\"Campaign\",targetId:$t){totalCount edges{cursor node{id at action targetType targetId diff actor{username}}} pageInfo{hasNextPage endCursor}}}",
            json!({"t": id}),
        )
        .await;
    let log = &d["auditLog"];
    assert_eq!(log["totalCount"], 2);
    let newest = &log["edges"][0]["node"];
    assert_eq!(newest["action"], "advanceCampaign");
    assert_eq!(newest["actor"]["username"], "admin");
    let diff: Value = serde_json::from_str(newest["diff"].as_str().unwrap()).unwrap();
    assert_eq!(
        diff["stage"],
        json!({"before": "PREPARATION", "after": "SCREENING"})
    );
    assert_eq!(log["edges"][1]["node"]["action"], "createCampaign");
    assert_eq!(log["pageInfo"]["hasNextPage"], false);

    // cursor pagination over everything, one at a time, no repeats
    let total = app.ok(Some(&admin), "{auditLog{totalCount}}", json!({})).await["auditLog"]["totalCount"]
        .as_i64()
        .unwrap();
    let mut after: Option<String> = None;
    let mut seen = Vec::new();
    loop {
        let d = app
            .ok(
                Some(&admin),
                "query($a:String){auditLog(first:1,after:$a){edges{node{id}} pageInfo{hasNextPage endCursor}}}",
                json!({"a": after}),
            )
            .await;
        seen.push(
            d["auditLog"]["edges"][0]["node"]["id"]
                .as_str()
                .unwrap()
                .parse::<i64>()
                .unwrap(),
        );
        if !d["auditLog"]["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = d["auditLog"]["pageInfo"]["endCursor"].as_str().map(String::from);
    }
    assert_eq!(seen.len() as i64, total);
    assert!(seen.windows(2).all(|w| w[0] > w[1]), "newest first: {seen:?}");

    // user creation is logged without the password hash in clear
    let d = app
        .ok(
            Some(&admin),
            "{auditLog(action:\"bootstrap\"){edges{node{diff}}}}",
            json!({}),
        )
        .await;
    let text = d.to_string();
    assert!(text.contains("[已隐藏]") && !text.contains("argon2"), "{text}");

    // bad cursors and page sizes
    assert_eq!(
        code(
            &app.gql(Some(&admin), "{auditLog(after:\"zzz\"){totalCount}}", json!({}))
                .await
        ),
        Some("VALIDATION")
    );
    assert_eq!(
        code(
            &app.gql(Some(&admin), "{auditLog(first:201){totalCount}}", json!({}))
                .await
        ),
        Some("VALIDATION")
    );
}

#[tokio::test]
async fn tampering_with_one_row_is_detected() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    for i in 0..3 {
        app.create_campaign(&admin, &format!("项目{i}")).await;
    }
    let verify = "{verifyAuditChain{ok checked firstBrokenId}}";
    let d = app.ok(Some(&admin), verify, json!({})).await;
    assert_eq!(d["verifyAuditChain"]["ok"], true);
    let n = d["verifyAuditChain"]["checked"].as_i64().unwrap();
    assert!(n >= 5);

    // quietly lower the budget recorded for the first campaign
    let d = app
        .ok(
            Some(&admin),
            "{auditLog(action:\"createCampaign\"){edges{node{id}}}}",
            json!({}),
        )
        .await;
    let first: i64 = d["auditLog"]["edges"][2]["node"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    app.exec(&format!(
        "UPDATE audit_log SET diff = REPLACE(diff, '150000.00', '1.00') WHERE id = {first}"
    ))
    .await;
    let d = app.ok(Some(&admin), verify, json!({})).await;
    assert_eq!(
        d["verifyAuditChain"],
        json!({"ok": false, "checked": first - 1, "firstBrokenId": first.to_string()})
    );
}

#[tokio::test]
async fn deleting_a_row_or_the_tail_is_detected() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    for i in 0..3 {
        app.create_campaign(&admin, &format!("项目{i}")).await;
    }
    let verify = "{verifyAuditChain{ok firstBrokenId}}";
    app.exec("DELETE FROM audit_log WHERE id = (SELECT MAX(id) FROM audit_log)")
        .await;
    let d = app.ok(Some(&admin), verify, json!({})).await;
    assert_eq!(d["verifyAuditChain"]["ok"], false, "tail removal");
    app.exec("UPDATE audit_head SET seq = seq - 1, last_hash = (SELECT hash FROM audit_log WHERE id = (SELECT MAX(id) FROM audit_log))").await;
    let d = app.ok(Some(&admin), verify, json!({})).await;
    assert_eq!(
        d["verifyAuditChain"]["ok"], true,
        "head repaired by hand: consistent again"
    );
    app.exec("DELETE FROM audit_log WHERE id = 2").await;
    let d = app.ok(Some(&admin), verify, json!({})).await;
    assert_eq!(d["verifyAuditChain"], json!({"ok": false, "firstBrokenId": "2"}));
}
