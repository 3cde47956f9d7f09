//! Visits (走访慰问, 八项规定) end to end: limits, visits within and above them (flagged with
//! reasons, never refused), the flagged list, and refusals that leave nothing behind.
use serde_json::{Value, json};
use songnuan_tests::{TestApp, code};

const RECORD: &str = "mutation($i:VisitInput!){recordVisit(input:$i){id visitedOn team participants vehicles note flagged reasons recipients{id name}}}";
const LIST: &str = "query($c:ID!,$f:Boolean){visits(campaignId:$c,flaggedOnly:$f){id team participants vehicles flagged reasons recipients{id name}}}";
const LIMITS: &str =
    "mutation($c:ID!,$p:Int,$v:Int){setVisitLimits(campaignId:$c,maxParticipants:$p,maxVehicles:$v){id}}";

struct World {
    app: TestApp,
    admin: String,
    cw: String,
    root: String,
    /// In DISTRIBUTION, with `recipients`.
    campaign: String,
    recipients: Vec<String>,
}

/// A campaign in DISTRIBUTION: screened recipients, funding recorded by FINANCE.
async fn world() -> World {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let root = app.root_org(&admin).await;
    let cw = app.user_token(&admin, "helpcentre", &["CASEWORKER"], &root).await;
    let fin = app.user_token(&admin, "finance", &["FINANCE"], &root).await;
    let campaign = app.screening_campaign(&admin).await;
    let mut recipients = Vec::new();
    for n in 1..=3 {
        recipients.push(app.nominate_person(&cw, &campaign, &root, n).await);
    }
    app.advance(&admin, &campaign, "PROCUREMENT").await;
    app.fund(&fin, &campaign, "150000.00").await;
    app.advance(&admin, &campaign, "DISTRIBUTION").await;
    World {
        app,
        admin,
        cw,
        root,
        campaign,
        recipients,
    }
}

fn visit(campaign: &str, participants: i32, vehicles: i32, recipients: &[&String]) -> Value {
    json!({"campaignId": campaign, "visitedOn": "2025-01-20", "team": "县总工会慰问组",
           "participants": participants, "vehicles": vehicles, "recipientIds": recipients, "note": "送米面油"})
}

async fn record(app: &TestApp, token: &str, input: Value) -> Value {
    app.gql(Some(token), RECORD, json!({"i": input})).await
}

fn ids(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn visits_above_the_limits_are_recorded_and_flagged() {
    let World {
        app,
        admin,
        cw,
        root,
        campaign: c,
        recipients: r,
    } = world().await;

    let audit = app.audit_count().await;
    let d = app
        .ok(Some(&admin), LIMITS, json!({"c": c, "p": 5, "v": 2}))
        .await;
    assert_eq!(d["setVisitLimits"]["id"], c.as_str());
    assert_eq!(app.audit_count().await, audit + 1);

    // Within the limits (exactly at them), duplicates counted once.
    let v = record(&app, &cw, visit(&c, 5, 2, &[&r[1], &r[0], &r[1]])).await;
    let within = &v["data"]["recordVisit"];
    assert_eq!(within["flagged"], false, "{v}");
    assert_eq!(within["reasons"], json!([]));
    assert_eq!(within["visitedOn"], "2025-01-20");
    assert_eq!(within["team"], "县总工会慰问组");
    assert_eq!(within["note"], "送米面油");
    assert_eq!(ids(&within["recipients"]), vec![r[0].as_str(), r[1].as_str()]);
    assert_eq!(within["recipients"][0]["name"], "职工1");

    // Above both: recorded, flagged, both reasons.
    let v = record(&app, &cw, visit(&c, 8, 3, &[&r[2]])).await;
    let both = &v["data"]["recordVisit"];
    assert_eq!(both["flagged"], true, "{v}");
    assert_eq!(
        both["reasons"],
        json!(["PARTICIPANTS_OVER_LIMIT", "VEHICLES_OVER_LIMIT"])
    );
    // Above one (ADMIN may record too).
    let v = record(&app, &admin, visit(&c, 3, 4, &[&r[0]])).await;
    assert_eq!(
        v["data"]["recordVisit"]["reasons"],
        json!(["VEHICLES_OVER_LIMIT"]),
        "{v}"
    );
    assert_eq!(app.audit_count().await, audit + 4);

    let all = app.ok(Some(&cw), LIST, json!({"c": c})).await;
    assert_eq!(all["visits"].as_array().unwrap().len(), 3);
    let flagged = app.ok(Some(&cw), LIST, json!({"c": c, "f": true})).await;
    let flagged = flagged["visits"].as_array().unwrap();
    assert_eq!(flagged.len(), 2);
    assert!(flagged.iter().all(|x| x["flagged"] == true));
    let first = flagged
        .iter()
        .find(|x| x["id"] == both["id"])
        .expect("the visit above both limits");
    assert_eq!(first["participants"], 8);
    assert_eq!(first["recipients"], json!([{"id": r[2], "name": "职工3"}]));
    let unflagged = app.ok(Some(&cw), LIST, json!({"c": c, "f": false})).await;
    assert_eq!(unflagged["visits"].as_array().unwrap().len(), 3);

    // Everyone but GRASSROOTS reads visits.
    let auditor = app.user_token(&admin, "auditor", &["AUDITOR"], &root).await;
    assert_eq!(
        app.ok(Some(&auditor), LIST, json!({"c": c})).await["visits"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let union = app
        .create_org(&admin, "永定环卫所工会", "GRASSROOTS", Some(&root))
        .await;
    let grassroots = app
        .user_token(&admin, "grassroots", &["GRASSROOTS"], &union)
        .await;
    let v = app.gql(Some(&grassroots), LIST, json!({"c": c})).await;
    assert_eq!(code(&v), Some("FORBIDDEN"), "{v}");

    // New limits: flags stay as recorded, reasons follow the current limits.
    app.ok(Some(&admin), LIMITS, json!({"c": c, "p": 10})).await;
    let d = app.ok(Some(&cw), LIST, json!({"c": c, "f": true})).await;
    for x in d["visits"].as_array().unwrap() {
        assert_eq!(x["flagged"], true);
        assert_eq!(x["reasons"], json!([]), "{x}");
    }
    let v = record(&app, &cw, visit(&c, 11, 9, &[&r[0]])).await;
    assert_eq!(
        v["data"]["recordVisit"]["reasons"],
        json!(["PARTICIPANTS_OVER_LIMIT"]),
        "{v}"
    );

    // Limits: ADMIN only, at least 1.
    let audit = app.audit_count().await;
    let v = app.gql(Some(&cw), LIMITS, json!({"c": c, "p": 5})).await;
    assert_eq!(code(&v), Some("FORBIDDEN"), "{v}");
    for (vars, field) in [
        (json!({"c": c, "p": 0}), "maxParticipants"),
        (json!({"c": c, "v": -1}), "maxVehicles"),
    ] {
        let v = app.gql(Some(&admin), LIMITS, vars).await;
        assert_eq!(code(&v), Some("VALIDATION"), "{v}");
        assert_eq!(v["errors"][0]["extensions"]["field"], field);
    }
    let v = app
        .gql(Some(&admin), LIMITS, json!({"c": "999999", "p": 5}))
        .await;
    assert_eq!(code(&v), Some("NOT_FOUND"), "{v}");
    assert_eq!(app.audit_count().await, audit);
}

#[tokio::test]
async fn refused_visits_leave_nothing_behind() {
    let World {
        app,
        admin,
        cw,
        root,
        campaign: c,
        recipients: r,
    } = world().await;
    // Another campaign, still in SCREENING, with a recipient of its own.
    let other = app.screening_campaign(&admin).await;
    let stranger = app.nominate_person(&cw, &other, &root, 50).await;
    let union = app
        .create_org(&admin, "永定环卫所工会", "GRASSROOTS", Some(&root))
        .await;
    let grassroots = app
        .user_token(&admin, "grassroots", &["GRASSROOTS"], &union)
        .await;
    let fin = app.user_token(&admin, "finance2", &["FINANCE"], &root).await;
    let before = app.audit_count().await;

    // Wrong stage.
    let v = record(&app, &cw, visit(&other, 3, 1, &[&stranger])).await;
    assert_eq!(code(&v), Some("INVALID_STAGE"), "{v}");
    // A recipient of another campaign, alone or with one of ours; an id that is no recipient.
    for ids in [
        vec![&stranger],
        vec![&r[0], &stranger],
        vec![&"999999".to_string()],
        vec![&"abc".to_string()],
    ] {
        let v = record(&app, &cw, visit(&c, 3, 1, &ids)).await;
        assert_eq!(code(&v), Some("VALIDATION"), "{ids:?}: {v}");
        assert_eq!(v["errors"][0]["extensions"]["field"], "recipientIds");
    }
    // Not allowed to record.
    for token in [&grassroots, &fin] {
        let v = record(&app, token, visit(&c, 3, 1, &[&r[0]])).await;
        assert_eq!(code(&v), Some("FORBIDDEN"), "{v}");
    }
    let v = app
        .gql(None, RECORD, json!({"i": visit(&c, 3, 1, &[&r[0]])}))
        .await;
    assert_eq!(code(&v), Some("UNAUTHENTICATED"), "{v}");
    // Bad numbers and texts.
    let mut bad = Vec::new();
    let mut i = visit(&c, 0, 1, &[&r[0]]);
    bad.push((i.clone(), "participants"));
    i = visit(&c, 3, -1, &[&r[0]]);
    bad.push((i.clone(), "vehicles"));
    i = visit(&c, 3, 1, &[]);
    bad.push((i.clone(), "recipientIds"));
    i = visit(&c, 3, 1, &[&r[0]]);
    i["team"] = json!("   ");
    bad.push((i.clone(), "team"));
    i["team"] = json!("组".repeat(201));
    bad.push((i.clone(), "team"));
    for (input, field) in bad {
        let v = record(&app, &cw, input).await;
        assert_eq!(code(&v), Some("VALIDATION"), "{field}: {v}");
        assert_eq!(v["errors"][0]["extensions"]["field"], field);
    }
    // A campaign that does not exist.
    let v = record(&app, &cw, visit("999999", 3, 1, &[&r[0]])).await;
    assert_eq!(code(&v), Some("NOT_FOUND"), "{v}");

    assert_eq!(app.audit_count().await, before);
    assert_eq!(
        app.ok(Some(&cw), LIST, json!({"c": c})).await["visits"],
        json!([])
    );

    // Visits are still recorded while the campaign is reviewed.
    app.advance(&admin, &c, "REVIEW").await;
    let before = app.audit_count().await;
    let v = record(&app, &cw, visit(&c, 3, 1, &[&r[0]])).await;
    assert_eq!(v["data"]["recordVisit"]["flagged"], false, "{v}");
    assert_eq!(app.audit_count().await, before + 1);
}
