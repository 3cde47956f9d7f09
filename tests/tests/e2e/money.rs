//! Money end to end: the disbursement life cycle with maker-checker, the budget guard under
//! concurrency, idempotency, refusals that write nothing, entry deadlines on the official
//! calendar, progress figures and the stage guards.
use serde_json::{Value, json};
use songnuan_tests::{TestApp, code, id_number};

const DISBURSE: &str = "mutation($i:DisburseInput!){disburse(input:$i){id status amount kind}}";

struct Setup {
    admin: String,
    caseworker: String,
    finance: String,
    campaign: String,
    /// Verified recipients in HARDSHIP (standard 500.00).
    recipients: Vec<String>,
}

async fn setup(app: &TestApp, budget: &str, people: u32) -> Setup {
    let admin = app.admin().await;
    let root = app.root_org(&admin).await;
    let caseworker = app.user_token(&admin, "helpcentre", &["CASEWORKER"], &root).await;
    let finance = app.user_token(&admin, "finance", &["FINANCE"], &root).await;
    let campaign = app
        .ok(
            Some(&admin),
            "mutation($i:CreateCampaignInput!){createCampaign(input:$i){id}}",
            json!({"i": {"name": "送温暖", "year": 2025, "budget": budget, "startsOn": "2025-01-15", "deadline": "2025-01-28"}}),
        )
        .await["createCampaign"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for (code_, kind, std) in [
        ("HARDSHIP", "PERSON", "500.00"),
        ("SERVICE_DEPT", "UNIT", "7750.00"),
    ] {
        app.ok(
            Some(&admin),
            "mutation($c:ID!,$i:CategoryInput!){addCategory(campaignId:$c,input:$i){id}}",
            json!({"c": campaign, "i": {"code": code_, "name": code_, "recipientKind": kind, "plannedCount": people, "standardAmount": std}}),
        )
        .await;
    }
    app.advance(&admin, &campaign, "SCREENING").await;
    let mut recipients = Vec::new();
    for n in 0..people {
        let id = app
            .ok(
                Some(&caseworker),
                "mutation($i:NominateInput!){nominateRecipient(input:$i){id}}",
                json!({"i": {"campaignId": campaign, "categoryCode": "HARDSHIP", "kind": "PERSON", "name": format!("职工{n}"),
                    "idNumber": id_number(n), "bankAccount": format!("62284800{n:08}"), "nominatedById": root}}),
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
    app.fund(&finance, &campaign, budget).await;
    app.advance(&admin, &campaign, "DISTRIBUTION").await;
    Setup {
        admin,
        caseworker,
        finance,
        campaign,
        recipients,
    }
}

fn cash(recipient: &str, amount: &str, key: &str) -> Value {
    json!({"i": {"recipientId": recipient, "kind": "CASH", "amount": amount, "idempotencyKey": key}})
}

async fn ledger_len(app: &TestApp, token: &str, campaign: &str) -> usize {
    app.ok(
        Some(token),
        "query($c:ID!){ledger(campaignId:$c){entries{id}}}",
        json!({"c": campaign}),
    )
    .await["ledger"]["entries"]
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test]
async fn life_cycle_with_maker_checker_ledger_deadline_and_progress() {
    let app = TestApp::spawn().await;
    let s = setup(&app, "150000.00", 2).await;
    let d = app
        .ok(
            Some(&s.caseworker),
            DISBURSE,
            cash(&s.recipients[0], "500", "k-1"),
        )
        .await;
    assert_eq!(d["disburse"]["status"], "PLANNED");
    assert_eq!(d["disburse"]["amount"], "500.00");
    let id = d["disburse"]["id"].as_str().unwrap().to_string();

    // the planner may not approve its own plan — not even an ADMIN
    let own = app
        .ok(Some(&s.admin), DISBURSE, cash(&s.recipients[1], "300", "k-2"))
        .await["disburse"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let v = app
        .gql(
            Some(&s.admin),
            "mutation($ids:[ID!]!){approveDisbursements(ids:$ids){id}}",
            json!({"ids": [own]}),
        )
        .await;
    assert_eq!(code(&v), Some("FORBIDDEN"));
    // the caseworker may not approve at all
    let v = app
        .gql(
            Some(&s.caseworker),
            "mutation($ids:[ID!]!){approveDisbursements(ids:$ids){id}}",
            json!({"ids": [id]}),
        )
        .await;
    assert_eq!(code(&v), Some("FORBIDDEN"));
    // paying before approval
    let v = app
        .gql(
            Some(&s.finance),
            "mutation($id:ID!){markPaid(id:$id,bankReference:\"B1\",paidOn:\"2025-01-27\"){id}}",
            json!({"id": id}),
        )
        .await;
    assert_eq!(code(&v), Some("CONFLICT"));

    let d = app
        .ok(
            Some(&s.finance),
            "mutation($ids:[ID!]!){approveDisbursements(ids:$ids){status}}",
            json!({"ids": [id]}),
        )
        .await;
    assert_eq!(d["approveDisbursements"][0]["status"], "APPROVED");
    let d = app
        .ok(
            Some(&s.finance),
            "mutation($id:ID!){markPaid(id:$id,bankReference:\"ABC-0127\",paidOn:\"2025-01-27\"){status paidOn bankReference entryDeadline entryDeadlineProvisional}}",
            json!({"id": id}),
        )
        .await;
    assert_eq!(d["markPaid"]["status"], "PAID");
    assert_eq!(
        d["markPaid"]["entryDeadline"], "2025-03-17",
        "30 working days on the official calendar"
    );
    assert_eq!(d["markPaid"]["entryDeadlineProvisional"], false);

    let d = app
        .ok(
            Some(&s.finance),
            "query($c:ID!){ledger(campaignId:$c){balance funded entries{amount kind}}}",
            json!({"c": s.campaign}),
        )
        .await;
    assert_eq!(d["ledger"]["funded"], "150000.00");
    assert_eq!(d["ledger"]["balance"], "149500.00");
    assert_eq!(d["ledger"]["entries"][1]["amount"], "-500.00");

    // confirmation before payment date is refused; then confirmed
    let v = app
        .gql(
            Some(&s.caseworker),
            "mutation($id:ID!){confirmReceipt(id:$id,confirmedOn:\"2025-01-20\"){id}}",
            json!({"id": id}),
        )
        .await;
    assert_eq!(code(&v), Some("VALIDATION"));
    app.ok(
        Some(&s.caseworker),
        "mutation($id:ID!){confirmReceipt(id:$id,confirmedOn:\"2025-01-28\"){status}}",
        json!({"id": id}),
    )
    .await;

    let q = "query($c:ID!){campaign(id:$c){progress{plannedRecipients servedRecipients committed spent executionRate completionRate entryOverdue} categories{code servedCount}} overdue:disbursements(campaignId:$c,filter:{overdue:true}){totalCount} all:disbursements(campaignId:$c){totalCount edges{node{id status recipient{name}}}}}";
    let d = app.ok(Some(&s.admin), q, json!({"c": s.campaign})).await;
    let p = &d["campaign"]["progress"];
    assert_eq!(p["servedRecipients"], 1);
    assert_eq!(p["committed"], "800.00");
    assert_eq!(p["spent"], "500.00");
    assert_eq!(
        p["entryOverdue"], 1,
        "2025-03-17 has passed and it is not entered"
    );
    assert_eq!(d["overdue"]["totalCount"], 1);
    assert_eq!(d["all"]["totalCount"], 2);
    assert_eq!(d["campaign"]["categories"][0]["servedCount"], 1);

    // the REVIEW guard: an open plan is left
    let v = app
        .gql(
            Some(&s.admin),
            "mutation($id:ID!){advanceCampaign(id:$id,to:REVIEW){id}}",
            json!({"id": s.campaign}),
        )
        .await;
    assert_eq!(code(&v), Some("INVALID_STAGE"));
    app.ok(
        Some(&s.caseworker),
        "mutation($id:ID!){cancelDisbursement(id:$id,reason:\"对象放弃\"){status}}",
        json!({"id": own}),
    )
    .await;
    app.ok(
        Some(&s.admin),
        "mutation($id:ID!){advanceCampaign(id:$id,to:REVIEW){id}}",
        json!({"id": s.campaign}),
    )
    .await;
    // the CLOSED guard: paid but not entered
    let v = app
        .gql(
            Some(&s.admin),
            "mutation($id:ID!){advanceCampaign(id:$id,to:CLOSED){id}}",
            json!({"id": s.campaign}),
        )
        .await;
    assert_eq!(code(&v), Some("INVALID_STAGE"));
    let d = app
        .ok(Some(&s.caseworker), "mutation($ids:[ID!]!){markEntered(ids:$ids,provincialRef:\"YN-2025-001\"){enteredAt provincialRef}}", json!({"ids": [id]}))
        .await;
    assert_eq!(d["markEntered"][0]["provincialRef"], "YN-2025-001");
    // the same call again is harmless; another reference is a conflict
    app.ok(
        Some(&s.caseworker),
        "mutation($ids:[ID!]!){markEntered(ids:$ids,provincialRef:\"YN-2025-001\"){id}}",
        json!({"ids": [id]}),
    )
    .await;
    let v = app
        .gql(
            Some(&s.caseworker),
            "mutation($ids:[ID!]!){markEntered(ids:$ids,provincialRef:\"OTHER\"){id}}",
            json!({"ids": [id]}),
        )
        .await;
    assert_eq!(code(&v), Some("CONFLICT"));
    let d = app.ok(Some(&s.admin), q, json!({"c": s.campaign})).await;
    assert_eq!(d["campaign"]["progress"]["entryOverdue"], 0);
    assert_eq!(
        d["campaign"]["progress"]["committed"], "500.00",
        "the cancelled plan released its budget"
    );
    app.ok(
        Some(&s.admin),
        "mutation($id:ID!){advanceCampaign(id:$id,to:CLOSED){stage}}",
        json!({"id": s.campaign}),
    )
    .await;
}

#[tokio::test]
async fn every_refusal_writes_nothing() {
    let app = TestApp::spawn().await;
    let s = setup(&app, "150000.00", 3).await;
    let root = app.root_org(&s.admin).await;
    // a nominated (not verified) recipient: the campaign is past SCREENING, so insert through
    // a second campaign is not needed — reject one and use it
    app.ok(
        Some(&s.caseworker),
        DISBURSE,
        cash(&s.recipients[0], "500", "first"),
    )
    .await;
    let unit = app
        .gql(
            Some(&s.caseworker),
            "mutation($i:NominateInput!){nominateRecipient(input:$i){id}}",
            json!({"i": {"campaignId": s.campaign, "categoryCode": "SERVICE_DEPT", "kind": "UNIT", "name": "公安局", "nominatedById": root}}),
        )
        .await;
    assert_eq!(
        code(&unit),
        Some("INVALID_STAGE"),
        "no nominations during distribution"
    );
    let before_audit = app.audit_count().await;
    let before_ledger = ledger_len(&app, &s.finance, &s.campaign).await;
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            cash(&s.recipients[1], "500.01", "a"),
            "OVER_STANDARD",
            "above the category standard",
        ),
        (cash(&s.recipients[1], "-5", "b"), "VALIDATION", "negative"),
        (
            cash(&s.recipients[1], "1.001", "c"),
            "VALIDATION",
            "three decimals",
        ),
        (
            cash(&s.recipients[0], "100", "d"),
            "CONFLICT",
            "second active disbursement",
        ),
        (
            cash(&s.recipients[1], "100", "first"),
            "CONFLICT",
            "key reused with another payload",
        ),
        (
            json!({"i": {"recipientId": s.recipients[1], "kind": "GOODS", "amount": "100", "idempotencyKey": "e"}}),
            "VALIDATION",
            "goods without items",
        ),
        (cash("999999", "100", "f"), "NOT_FOUND", "unknown recipient"),
    ];
    for (input, expect, why) in cases {
        let v = app.gql(Some(&s.caseworker), DISBURSE, input).await;
        assert_eq!(code(&v), Some(expect), "{why}: {v}");
    }
    // FINANCE may not plan; GRASSROOTS sees no money
    let v = app
        .gql(Some(&s.finance), DISBURSE, cash(&s.recipients[2], "100", "g"))
        .await;
    assert_eq!(code(&v), Some("FORBIDDEN"));
    // wrong transitions
    let planned = app
        .ok(Some(&s.caseworker), DISBURSE, cash(&s.recipients[2], "100", "h"))
        .await["disburse"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mid_audit = app.audit_count().await;
    for (q, expect) in [
        (
            "mutation($id:ID!){confirmReceipt(id:$id,confirmedOn:\"2025-01-28\"){id}}",
            "CONFLICT",
        ),
        (
            "mutation($id:ID!){markPaid(id:$id,bankReference:\"X\",paidOn:\"2025-01-27\"){id}}",
            "CONFLICT",
        ),
    ] {
        let token = if q.contains("markPaid") {
            &s.finance
        } else {
            &s.caseworker
        };
        let v = app.gql(Some(token), q, json!({"id": planned})).await;
        assert_eq!(code(&v), Some(expect), "{q}");
    }
    let v = app
        .gql(
            Some(&s.caseworker),
            "mutation($ids:[ID!]!){markEntered(ids:$ids,provincialRef:\"R\"){id}}",
            json!({"ids": [planned]}),
        )
        .await;
    assert_eq!(code(&v), Some("CONFLICT"));
    assert_eq!(app.audit_count().await, mid_audit);
    assert_eq!(
        app.audit_count().await,
        before_audit + 1,
        "only the one valid plan"
    );
    assert_eq!(ledger_len(&app, &s.finance, &s.campaign).await, before_ledger);
}

#[tokio::test]
async fn idempotent_replay_returns_the_same_disbursement() {
    let app = TestApp::spawn().await;
    let s = setup(&app, "150000.00", 1).await;
    let a = app
        .ok(
            Some(&s.caseworker),
            DISBURSE,
            cash(&s.recipients[0], "300", "same-key"),
        )
        .await;
    let before = app.audit_count().await;
    let b = app
        .ok(
            Some(&s.caseworker),
            DISBURSE,
            cash(&s.recipients[0], "300.00", "same-key"),
        )
        .await;
    assert_eq!(a["disburse"]["id"], b["disburse"]["id"]);
    assert_eq!(app.audit_count().await, before, "a replay writes nothing");
    let v = app
        .gql(
            Some(&s.caseworker),
            DISBURSE,
            cash(&s.recipients[0], "299", "same-key"),
        )
        .await;
    assert_eq!(code(&v), Some("CONFLICT"));
}

#[tokio::test]
async fn concurrent_disbursements_never_exceed_the_budget() {
    let app = TestApp::spawn().await;
    // 50 people, budget for 33 × 300.00 (and 100.00 to spare)
    let s = setup(&app, "10000.00", 50).await;
    let before = (
        app.audit_count().await,
        ledger_len(&app, &s.finance, &s.campaign).await,
    );
    let calls = s.recipients.iter().enumerate().map(|(i, r)| {
        let app = &app;
        let token = s.caseworker.clone();
        let input = cash(r, "300.00", &format!("race-{i}"));
        async move { app.gql(Some(&token), DISBURSE, input).await }
    });
    let results = futures::future::join_all(calls).await;
    let ok = results.iter().filter(|v| v.get("errors").is_none()).count();
    let refused = results
        .iter()
        .filter(|v| code(v) == Some("BUDGET_EXCEEDED"))
        .count();
    assert_eq!(
        (ok, refused),
        (33, 17),
        "{:?}",
        results.iter().filter_map(|v| code(v)).collect::<Vec<_>>()
    );
    let d = app
        .ok(
            Some(&s.admin),
            "query($c:ID!){campaign(id:$c){budget progress{committed}}}",
            json!({"c": s.campaign}),
        )
        .await;
    assert_eq!(d["campaign"]["progress"]["committed"], "9900.00");
    use sea_orm::EntityTrait;
    let c = entities::campaign::Entity::find_by_id(s.campaign.parse::<i64>().unwrap())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.committed_fen, 990000);
    assert!(c.committed_fen <= c.budget_fen);
    // the refused ones wrote nothing: one audit entry per accepted plan, no ledger entry
    assert_eq!(app.audit_count().await, before.0 + 33);
    assert_eq!(ledger_len(&app, &s.finance, &s.campaign).await, before.1);
}

#[tokio::test]
async fn sixteen_concurrent_plans_for_one_recipient_leave_one() {
    let app = TestApp::spawn().await;
    let s = setup(&app, "150000.00", 1).await;
    let calls = (0..16).map(|i| {
        let app = &app;
        let token = s.caseworker.clone();
        let input = cash(&s.recipients[0], "200.00", &format!("one-{i}"));
        async move { app.gql(Some(&token), DISBURSE, input).await }
    });
    let results = futures::future::join_all(calls).await;
    assert_eq!(results.iter().filter(|v| v.get("errors").is_none()).count(), 1);
    assert!(
        results
            .iter()
            .filter(|v| v.get("errors").is_some())
            .all(|v| code(v) == Some("CONFLICT"))
    );
    let d = app
        .ok(
            Some(&s.admin),
            "query($c:ID!){disbursements(campaignId:$c){totalCount}}",
            json!({"c": s.campaign}),
        )
        .await;
    assert_eq!(d["disbursements"]["totalCount"], 1);
}

#[tokio::test]
async fn the_annual_cap_counts_every_campaign_of_the_year() {
    let app = TestApp::spawn_with(&[("SONGNUAN_ANNUAL_CAP", "600.00")]).await;
    let s = setup(&app, "150000.00", 1).await;
    app.ok(Some(&s.caseworker), DISBURSE, cash(&s.recipients[0], "500", "y1"))
        .await;
    // the same person in a second campaign of 2025
    let s2 = setup_second(&app, &s).await;
    let v = app
        .gql(Some(&s.caseworker), DISBURSE, cash(&s2, "200", "y2"))
        .await;
    assert_eq!(code(&v), Some("OVER_STANDARD"), "{v}");
    app.ok(Some(&s.caseworker), DISBURSE, cash(&s2, "100", "y3"))
        .await;
    // a list asking for progress gets each campaign's own figures (one batched statement)
    let d = app
        .ok(
            Some(&s.admin),
            "{campaigns(year:2025){id progress{committed}}}",
            json!({}),
        )
        .await;
    let mut got: Vec<(String, String)> = d["campaigns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                c["progress"]["committed"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    let second = app
        .ok(
            Some(&s.admin),
            "query($id:ID!){recipient(id:$id){campaign{id}}}",
            json!({"id": s2}),
        )
        .await["recipient"]["campaign"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut want = vec![
        (s.campaign.clone(), "500.00".to_string()),
        (second, "100.00".to_string()),
    ];
    want.sort();
    assert_eq!(got, want);
}

async fn setup_second(app: &TestApp, s: &Setup) -> String {
    let root = app.root_org(&s.admin).await;
    let c = app
        .ok(
            Some(&s.admin),
            "mutation($i:CreateCampaignInput!){createCampaign(input:$i){id}}",
            json!({"i": {"name": "夏送清凉", "year": 2025, "budget": "1000.00", "startsOn": "2025-07-01", "deadline": "2025-07-31"}}),
        )
        .await["createCampaign"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.add_category(&s.admin, &c, "HARDSHIP").await;
    app.ok(
        Some(&s.admin),
        "mutation($id:ID!){advanceCampaign(id:$id,to:SCREENING){id}}",
        json!({"id": c}),
    )
    .await;
    let r = app
        .ok(
            Some(&s.caseworker),
            "mutation($i:NominateInput!){nominateRecipient(input:$i){id}}",
            json!({"i": {"campaignId": c, "categoryCode": "HARDSHIP", "kind": "PERSON", "name": "职工0", "idNumber": id_number(0), "nominatedById": root}}),
        )
        .await["nominateRecipient"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.ok(
        Some(&s.caseworker),
        "mutation($id:ID!){verifyRecipient(id:$id,method:DATA_CHECK){id}}",
        json!({"id": r}),
    )
    .await;
    app.ok(
        Some(&s.admin),
        "mutation($id:ID!){advanceCampaign(id:$id,to:PROCUREMENT){id}}",
        json!({"id": c}),
    )
    .await;
    app.fund(&s.finance, &c, "1000.00").await;
    app.ok(
        Some(&s.admin),
        "mutation($id:ID!){advanceCampaign(id:$id,to:DISTRIBUTION){id}}",
        json!({"id": c}),
    )
    .await;
    r
}

#[tokio::test]
async fn the_provincial_platform_enters_with_its_api_token() {
    let app = TestApp::spawn().await;
    let s = setup(&app, "150000.00", 1).await;
    let root = app.root_org(&s.admin).await;
    let d = app
        .ok(Some(&s.caseworker), DISBURSE, cash(&s.recipients[0], "500", "p1"))
        .await;
    let id = d["disburse"]["id"].as_str().unwrap().to_string();
    app.ok(
        Some(&s.finance),
        "mutation($ids:[ID!]!){approveDisbursements(ids:$ids){id}}",
        json!({"ids": [id]}),
    )
    .await;
    app.ok(
        Some(&s.finance),
        "mutation($id:ID!){markPaid(id:$id,bankReference:\"B\",paidOn:\"2026-11-20\"){id}}",
        json!({"id": id}),
    )
    .await;
    let uid = app
        .ok(
            Some(&s.admin),
            "mutation($i:CreateUserInput!){createUser(input:$i){id}}",
            json!({"i": {"username": "province", "password": "password-123", "displayName": "省平台", "roles": ["INTEGRATION"], "organizationId": root}}),
        )
        .await["createUser"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let exp = (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339();
    let token = app
        .ok(
            Some(&s.admin),
            "mutation($u:ID!,$e:DateTime!){createApiToken(userId:$u,name:\"省平台\",expiresAt:$e){token}}",
            json!({"u": uid, "e": exp}),
        )
        .await["createApiToken"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    let d = app
        .ok(Some(&token), "query($c:ID!){disbursements(campaignId:$c,filter:{entered:false}){totalCount edges{node{id entryDeadline entryDeadlineProvisional recipient{name idNumberMasked}}}}}", json!({"c": s.campaign}))
        .await;
    assert_eq!(d["disbursements"]["totalCount"], 1);
    // 2026-11-20 + 30 working days: the walk ends in 2027, a year the calendar does not know yet
    // (weekends only, so 2027-01-01 counts) — the deadline is provisional
    assert_eq!(
        d["disbursements"]["edges"][0]["node"]["entryDeadline"],
        "2027-01-01"
    );
    assert_eq!(
        d["disbursements"]["edges"][0]["node"]["entryDeadlineProvisional"],
        true
    );
    app.ok(
        Some(&token),
        "mutation($ids:[ID!]!){markEntered(ids:$ids,provincialRef:\"YN-1\"){id}}",
        json!({"ids": [id]}),
    )
    .await;
    // the platform cannot plan or pay
    let v = app
        .gql(Some(&token), DISBURSE, cash(&s.recipients[0], "1", "p2"))
        .await;
    assert_eq!(code(&v), Some("FORBIDDEN"));
}

#[tokio::test]
async fn ledger_entries_are_reversed_never_edited() {
    let app = TestApp::spawn().await;
    let s = setup(&app, "150000.00", 1).await;
    // a second, mistaken funding entry
    let wrong = app
        .ok(
            Some(&s.finance),
            "mutation($c:ID!){recordFunding(campaignId:$c,amount:\"500.00\",reference:\"误录\",receivedOn:\"2025-01-11\"){id amount}}",
            json!({"c": s.campaign}),
        )
        .await["recordFunding"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let d = app
        .ok(
            Some(&s.finance),
            "mutation($id:ID!){reverseLedgerEntry(id:$id,reason:\"重复登记\"){amount kind reversesId}}",
            json!({"id": wrong}),
        )
        .await;
    assert_eq!(
        d["reverseLedgerEntry"],
        json!({"amount": "-500.00", "kind": "REVERSAL", "reversesId": wrong})
    );
    let v = app
        .gql(
            Some(&s.finance),
            "mutation($id:ID!){reverseLedgerEntry(id:$id,reason:\"again\"){id}}",
            json!({"id": wrong}),
        )
        .await;
    assert_eq!(code(&v), Some("CONFLICT"), "reversed once only");
    let d = app
        .ok(
            Some(&s.finance),
            "query($c:ID!){ledger(campaignId:$c){funded balance entries{kind}}}",
            json!({"c": s.campaign}),
        )
        .await;
    assert_eq!(d["ledger"]["funded"], "150000.00");
    assert_eq!(
        d["ledger"]["entries"].as_array().unwrap().len(),
        3,
        "the original stays"
    );
    // only FINANCE (and ADMIN) book money; GRASSROOTS cannot read it
    let v = app
        .gql(Some(&s.caseworker), "mutation($c:ID!){recordFunding(campaignId:$c,amount:\"1\",reference:\"x\",receivedOn:\"2025-01-11\"){id}}", json!({"c": s.campaign}))
        .await;
    assert_eq!(code(&v), Some("FORBIDDEN"));
    let v = app
        .gql(Some(&s.finance), "mutation($c:ID!){recordFunding(campaignId:$c,amount:\"-1\",reference:\"x\",receivedOn:\"2025-01-11\"){id}}", json!({"c": s.campaign}))
        .await;
    assert_eq!(code(&v), Some("VALIDATION"));
}

#[tokio::test]
async fn wrong_stage_and_unverified_recipients_are_refused_without_writes() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let root = app.root_org(&admin).await;
    let cw = app.user_token(&admin, "helpcentre", &["CASEWORKER"], &root).await;
    let c = app.screening_campaign(&admin).await;
    let mut ids = Vec::new();
    for n in 0..2 {
        let id = app
            .ok(
                Some(&cw),
                "mutation($i:NominateInput!){nominateRecipient(input:$i){id}}",
                json!({"i": {"campaignId": c, "categoryCode": "HARDSHIP", "kind": "PERSON", "name": format!("职工{n}"), "idNumber": id_number(n), "nominatedById": root}}),
            )
            .await["nominateRecipient"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        ids.push(id);
    }
    app.ok(
        Some(&cw),
        "mutation($id:ID!){verifyRecipient(id:$id,method:HOME_VISIT){id}}",
        json!({"id": ids[0]}),
    )
    .await;
    // SCREENING: not yet DISTRIBUTION
    let before = (app.audit_count().await, ledger_len(&app, &admin, &c).await);
    let v = app.gql(Some(&cw), DISBURSE, cash(&ids[0], "100", "s1")).await;
    assert_eq!(code(&v), Some("INVALID_STAGE"));
    app.advance(&admin, &c, "PROCUREMENT").await;
    let v = app.gql(Some(&cw), DISBURSE, cash(&ids[0], "100", "s2")).await;
    assert_eq!(code(&v), Some("INVALID_STAGE"));
    app.fund(&admin, &c, "10000.00").await;
    app.advance(&admin, &c, "DISTRIBUTION").await;
    let mid = (app.audit_count().await, ledger_len(&app, &admin, &c).await);
    assert_eq!(
        mid,
        (before.0 + 3, before.1 + 1),
        "only the two advances and the funding were written"
    );
    // a NOMINATED (not verified) recipient
    let v = app.gql(Some(&cw), DISBURSE, cash(&ids[1], "100", "s3")).await;
    assert_eq!(code(&v), Some("VALIDATION"));
    assert_eq!(v["errors"][0]["extensions"]["field"], "recipientId");
    assert_eq!((app.audit_count().await, ledger_len(&app, &admin, &c).await), mid);
    // and after REVIEW no more plans
    app.advance(&admin, &c, "REVIEW").await;
    let after_review = app.audit_count().await;
    let v = app.gql(Some(&cw), DISBURSE, cash(&ids[0], "100", "s4")).await;
    assert_eq!(code(&v), Some("INVALID_STAGE"));
    assert_eq!(app.audit_count().await, after_review);
}

#[tokio::test]
async fn goods_draw_on_delivered_contract_lines_and_refusals_write_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let root = app.root_org(&admin).await;
    let cw = app.user_token(&admin, "helpcentre", &["CASEWORKER"], &root).await;
    let fin = app.user_token(&admin, "finance", &["FINANCE"], &root).await;
    let c = app.screening_campaign(&admin).await;
    let mut units = Vec::new();
    for name in ["富民县公安局", "富民县人民医院", "富民县融媒体中心"] {
        let id = app
            .ok(
                Some(&cw),
                "mutation($i:NominateInput!){nominateRecipient(input:$i){id}}",
                json!({"i": {"campaignId": c, "categoryCode": "SERVICE_DEPT", "kind": "UNIT", "name": name, "nominatedById": root}}),
            )
            .await["nominateRecipient"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        app.ok(
            Some(&cw),
            "mutation($id:ID!){verifyRecipient(id:$id,method:INFO_CHECK){id}}",
            json!({"id": id}),
        )
        .await;
        units.push(id);
    }
    app.advance(&admin, &c, "PROCUREMENT").await;
    let sup = app
        .ok(
            Some(&fin),
            "mutation{createSupplier(input:{name:\"惠民商贸\",creditCode:\"91350100M000100Y43\"}){id}}",
            json!({}),
        )
        .await["createSupplier"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let k = app
        .ok(
            Some(&fin),
            "mutation($i:ContractInput!){createContract(input:$i){id lines{id}}}",
            json!({"i": {"campaignId": c, "supplierId": sup, "reference": "富工采〔2025〕01号", "signedOn": "2025-01-08", "deliveryDate": "2025-01-20",
                "afterSaleTerms": "7 日内调换", "lines": [{"item": "慰问物资", "quantity": 3, "unitPrice": "7750.00"}]}}),
        )
        .await;
    let line = k["createContract"]["lines"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // two of three delivered
    app.ok(
        Some(&fin),
        "mutation($l:ID!){recordDelivery(lineId:$l,quantity:2,deliveredOn:\"2025-01-20\"){delivered}}",
        json!({"l": line}),
    )
    .await;
    app.fund(&fin, &c, "150000.00").await;
    app.advance(&admin, &c, "DISTRIBUTION").await;
    let goods = |r: &str, key: &str| json!({"i": {"recipientId": r, "kind": "GOODS", "amount": "7750.00", "items": "慰问物资", "idempotencyKey": key, "contractLineId": line}});
    for (i, u) in units.iter().take(2).enumerate() {
        let d = app.ok(Some(&cw), DISBURSE, goods(u, &format!("g{i}"))).await;
        assert_eq!(d["disburse"]["kind"], "GOODS");
    }
    // the goods were paid through the contract: plans drawing on it commit no budget of their own
    use sea_orm::EntityTrait;
    let camp = entities::campaign::Entity::find_by_id(c.parse::<i64>().unwrap())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(camp.committed_fen, 0);
    // the third unit: not delivered yet
    let before = (app.audit_count().await, ledger_len(&app, &fin, &c).await);
    let v = app.gql(Some(&cw), DISBURSE, goods(&units[2], "g2")).await;
    assert_eq!(code(&v), Some("CONFLICT"), "{v}");
    // cash with a contract line makes no sense
    let mut bad = goods(&units[2], "g3");
    bad["i"]["kind"] = json!("CASH");
    assert_eq!(code(&app.gql(Some(&cw), DISBURSE, bad).await), Some("VALIDATION"));
    // a paid disbursement cannot be cancelled
    let paid = app
        .ok(
            Some(&cw),
            "query($c:ID!){disbursements(campaignId:$c){edges{node{id}}}}",
            json!({"c": c}),
        )
        .await["disbursements"]["edges"][0]["node"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        (app.audit_count().await, ledger_len(&app, &fin, &c).await),
        before
    );
    app.ok(
        Some(&fin),
        "mutation($ids:[ID!]!){approveDisbursements(ids:$ids){id}}",
        json!({"ids": [paid]}),
    )
    .await;
    app.ok(
        Some(&fin),
        "mutation($id:ID!){markPaid(id:$id,bankReference:\"实物\",paidOn:\"2025-01-25\"){id}}",
        json!({"id": paid}),
    )
    .await;
    let mid = (app.audit_count().await, ledger_len(&app, &fin, &c).await);
    assert_eq!(
        mid.1, before.1,
        "goods from a contract add no ledger entry of their own"
    );
    let v = app
        .gql(
            Some(&cw),
            "mutation($id:ID!){cancelDisbursement(id:$id,reason:\"误操作\"){id}}",
            json!({"id": paid}),
        )
        .await;
    assert_eq!(code(&v), Some("CONFLICT"));
    assert_eq!((app.audit_count().await, ledger_len(&app, &fin, &c).await), mid);
}

/// `Category.verifiedCount` / `servedCount` are counters on the category row: they follow every
/// transition (verify, reject, pay, confirm, cancel) and agree with a count of the rows.
#[tokio::test]
async fn category_counters_follow_every_transition() {
    let app = TestApp::spawn().await;
    let counts = |token: String, campaign: String| {
        let app = &app;
        async move {
            let q = "query($c:ID!){campaign(id:$c){categories{code verifiedCount servedCount}}
                verified:recipients(campaignId:$c,filter:{categoryCode:\"HARDSHIP\",status:VERIFIED}){totalCount}
                paid:disbursements(campaignId:$c,filter:{categoryCode:\"HARDSHIP\",status:PAID}){totalCount}
                confirmed:disbursements(campaignId:$c,filter:{categoryCode:\"HARDSHIP\",status:CONFIRMED}){totalCount}}";
            let d = app.ok(Some(&token), q, json!({"c": campaign})).await;
            let cat = d["campaign"]["categories"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["code"] == "HARDSHIP")
                .unwrap()
                .clone();
            let rows_verified = d["verified"]["totalCount"].as_i64().unwrap();
            let rows_served =
                d["paid"]["totalCount"].as_i64().unwrap() + d["confirmed"]["totalCount"].as_i64().unwrap();
            assert_eq!(cat["verifiedCount"].as_i64(), Some(rows_verified), "{d}");
            assert_eq!(cat["servedCount"].as_i64(), Some(rows_served), "{d}");
            (rows_verified, rows_served)
        }
    };

    // Vetting: verify, reject a verified one, reject a nominated one.
    let admin = app.admin().await;
    let root = app.root_org(&admin).await;
    let screening = app.screening_campaign(&admin).await;
    let mut ids = Vec::new();
    for n in 0..3u32 {
        let d = app
            .ok(
                Some(&admin),
                "mutation($i:NominateInput!){nominateRecipient(input:$i){id}}",
                json!({"i": {"campaignId": screening, "categoryCode": "HARDSHIP", "kind": "PERSON", "name": format!("职工{n}"),
                    "idNumber": id_number(100 + n), "nominatedById": root}}),
            )
            .await;
        ids.push(d["nominateRecipient"]["id"].as_str().unwrap().to_string());
    }
    assert_eq!(counts(admin.clone(), screening.clone()).await, (0, 0));
    for id in &ids[..2] {
        app.ok(
            Some(&admin),
            "mutation($id:ID!){verifyRecipient(id:$id,method:HOME_VISIT){id}}",
            json!({"id": id}),
        )
        .await;
    }
    assert_eq!(counts(admin.clone(), screening.clone()).await, (2, 0));
    for id in [&ids[0], &ids[2]] {
        app.ok(
            Some(&admin),
            "mutation($id:ID!){rejectRecipient(id:$id,reason:\"不符合条件\"){id}}",
            json!({"id": id}),
        )
        .await;
    }
    assert_eq!(counts(admin.clone(), screening.clone()).await, (1, 0));

    // List totals: the unfiltered list and a category's list are sized by the counters; the
    // status filters are counted row by row. They agree, after nominations and an import.
    let totals = |campaign: String| {
        let app = &app;
        let admin = admin.clone();
        async move {
            let q = "query($c:ID!){all:recipients(campaignId:$c,first:1){totalCount}
                hardship:recipients(campaignId:$c,first:1,filter:{categoryCode:\"HARDSHIP\"}){totalCount}
                n:recipients(campaignId:$c,first:1,filter:{status:NOMINATED}){totalCount}
                v:recipients(campaignId:$c,first:1,filter:{status:VERIFIED}){totalCount}
                r:recipients(campaignId:$c,first:1,filter:{status:REJECTED}){totalCount}
                hn:recipients(campaignId:$c,first:1,filter:{categoryCode:\"HARDSHIP\",status:NOMINATED}){totalCount}
                hv:recipients(campaignId:$c,first:1,filter:{categoryCode:\"HARDSHIP\",status:VERIFIED}){totalCount}
                hr:recipients(campaignId:$c,first:1,filter:{categoryCode:\"HARDSHIP\",status:REJECTED}){totalCount}}";
            let d = app.ok(Some(&admin), q, json!({"c": campaign})).await;
            let t = |k: &str| d[k]["totalCount"].as_i64().unwrap();
            assert_eq!(t("all"), t("n") + t("v") + t("r"), "{d}");
            assert_eq!(t("hardship"), t("hn") + t("hv") + t("hr"), "{d}");
            (t("all"), t("hardship"))
        }
    };
    assert_eq!(totals(screening.clone()).await, (3, 3));
    let csv = format!(
        "类别编码,类型,姓名,身份证号,推荐单位\nHARDSHIP,个人,甲,{},{root_name}\nINJURED,个人,乙,{},{root_name}\n",
        id_number(200),
        id_number(201),
        root_name =
            app.ok(Some(&admin), "{organizations{name}}", json!({})).await["organizations"][0]["name"]
                .as_str()
                .unwrap()
    );
    let v = app.import(&admin, &screening, "more.csv", csv.into_bytes()).await;
    assert_eq!(v["data"]["importRecipients"]["imported"], 2, "{v}");
    assert_eq!(totals(screening.clone()).await, (5, 4));

    // Payment: three planned and approved; two paid, one of them confirmed, one cancelled.
    let s = setup(&app, "10000.00", 3).await;
    assert_eq!(counts(s.admin.clone(), s.campaign.clone()).await, (3, 0));
    let mut planned = Vec::new();
    for (i, r) in s.recipients.iter().enumerate() {
        let d = app
            .ok(Some(&s.caseworker), DISBURSE, cash(r, "500.00", &format!("k{i}")))
            .await;
        planned.push(d["disburse"]["id"].as_str().unwrap().to_string());
    }
    app.ok(
        Some(&s.finance),
        "mutation($ids:[ID!]!){approveDisbursements(ids:$ids){status}}",
        json!({"ids": planned}),
    )
    .await;
    for id in &planned[..2] {
        app.ok(
            Some(&s.finance),
            "mutation($id:ID!){markPaid(id:$id,bankReference:\"B1\",paidOn:\"2025-01-27\"){id}}",
            json!({"id": id}),
        )
        .await;
    }
    assert_eq!(counts(s.admin.clone(), s.campaign.clone()).await, (3, 2));
    app.ok(
        Some(&s.caseworker),
        "mutation($id:ID!){confirmReceipt(id:$id,confirmedOn:\"2025-01-28\"){id}}",
        json!({"id": planned[0]}),
    )
    .await;
    app.ok(
        Some(&s.finance),
        "mutation($id:ID!){cancelDisbursement(id:$id,reason:\"重复\"){id}}",
        json!({"id": planned[2]}),
    )
    .await;
    assert_eq!(counts(s.admin.clone(), s.campaign.clone()).await, (3, 2));
}
