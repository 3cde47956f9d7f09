//! Campaigns and categories end to end: create, read back exactly, stage life cycle, demo data.
use serde_json::json;
use songnuan_tests::{TestApp, code};

#[tokio::test]
async fn admin_creates_organisation_user_campaign_and_categories() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let root = app.root_org(&admin).await;
    let town = app
        .create_org(&admin, "永定街道工会联合会", "TOWN_FEDERATION", Some(&root))
        .await;
    let worker = app.user_token(&admin, "helpcentre", &["CASEWORKER"], &root).await;
    assert!(!worker.is_empty());

    let d = app
        .ok(
            Some(&admin),
            "mutation($i:CreateCampaignInput!){createCampaign(input:$i){id name year budget stage startsOn deadline policyRefs organization{id name}}}",
            json!({"i": {"name": "2025年元旦春节送温暖", "year": 2025, "budget": "150000", "startsOn": "2025-01-15", "deadline": "2025-01-28", "policyRefs": ["昆工通〔2025〕32号"]}}),
        )
        .await;
    let c = &d["createCampaign"];
    assert_eq!(c["budget"], "150000.00", "money always has two decimals");
    assert_eq!(c["stage"], "PREPARATION");
    assert_eq!(c["startsOn"], "2025-01-15");
    assert_eq!(c["deadline"], "2025-01-28");
    assert_eq!(c["policyRefs"], json!(["昆工通〔2025〕32号"]));
    assert_eq!(c["organization"]["id"], root.as_str());
    let id = c["id"].as_str().unwrap().to_string();

    for (code_, kind, planned, standard) in [
        ("HARDSHIP", "PERSON", 58, "500"),
        ("SERVICE_DEPT", "UNIT", 8, "7750.5"),
    ] {
        app.ok(
            Some(&admin),
            "mutation($c:ID!,$i:CategoryInput!){addCategory(campaignId:$c,input:$i){id}}",
            json!({"c": id, "i": {"code": code_, "name": code_, "recipientKind": kind, "plannedCount": planned, "standardAmount": standard}}),
        )
        .await;
    }
    let d = app
        .ok(
            Some(&admin),
            "query($id:ID!){campaign(id:$id){categories{code recipientKind plannedCount standardAmount verifiedCount servedCount} progress{plannedRecipients servedRecipients committed spent completionRate executionRate entryOverdue satisfactionRate}}}",
            json!({"id": id}),
        )
        .await;
    let cats = d["campaign"]["categories"].as_array().unwrap();
    assert_eq!(cats.len(), 2);
    assert_eq!(cats[0]["standardAmount"], "500.00");
    assert_eq!(cats[1]["standardAmount"], "7750.50");
    assert_eq!(cats[1]["recipientKind"], "UNIT");
    assert_eq!(d["campaign"]["progress"]["plannedRecipients"], 66);
    assert_eq!(d["campaign"]["progress"]["committed"], "0.00");
    assert!(d["campaign"]["progress"]["satisfactionRate"].is_null());

    // the same code twice in one campaign
    let v = app
        .gql(
            Some(&admin),
            "mutation($c:ID!,$i:CategoryInput!){addCategory(campaignId:$c,input:$i){id}}",
            json!({"c": id, "i": {"code": "HARDSHIP", "name": "x", "recipientKind": "PERSON", "plannedCount": 1, "standardAmount": "1"}}),
        )
        .await;
    assert_eq!(code(&v), Some("CONFLICT"));

    // campaigns(year) filters
    let d = app
        .ok(
            Some(&admin),
            "{a:campaigns(year:2025){id} b:campaigns(year:2024){id}}",
            json!({}),
        )
        .await;
    assert_eq!(d["a"].as_array().unwrap().len(), 1);
    assert_eq!(d["b"].as_array().unwrap().len(), 0);

    // the tree
    let d = app
        .ok(
            Some(&admin),
            "{organizations{id name kind parent{id} children{id}}}",
            json!({}),
        )
        .await;
    let orgs = d["organizations"].as_array().unwrap();
    assert_eq!(orgs.len(), 2);
    assert_eq!(orgs[0]["children"][0]["id"], town.as_str());
    assert_eq!(orgs[1]["parent"]["id"], root.as_str());
}

#[tokio::test]
async fn stages_advance_one_step_at_a_time_behind_guards() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let id = app.create_campaign(&admin, "阶段测试").await;
    let advance = "mutation($id:ID!,$to:CampaignStage!){advanceCampaign(id:$id,to:$to){stage}}";

    // no category yet: the SCREENING guard refuses
    let v = app
        .gql(Some(&admin), advance, json!({"id": id, "to": "SCREENING"}))
        .await;
    assert_eq!(code(&v), Some("INVALID_STAGE"));
    app.add_category(&admin, &id, "HARDSHIP").await;

    // skipping a stage, or going back, or staying
    for to in ["PROCUREMENT", "CLOSED", "PREPARATION"] {
        let v = app.gql(Some(&admin), advance, json!({"id": id, "to": to})).await;
        assert_eq!(code(&v), Some("INVALID_STAGE"), "{to}");
    }
    for to in ["SCREENING", "PROCUREMENT", "DISTRIBUTION", "REVIEW", "CLOSED"] {
        if to == "DISTRIBUTION" {
            // no money in the ledger yet: the DISTRIBUTION guard refuses
            let v = app.gql(Some(&admin), advance, json!({"id": id, "to": to})).await;
            assert_eq!(code(&v), Some("INVALID_STAGE"));
            app.fund(&admin, &id, "150000.00").await;
        }
        let d = app.ok(Some(&admin), advance, json!({"id": id, "to": to})).await;
        assert_eq!(d["advanceCampaign"]["stage"], to);
        if to == "PROCUREMENT" {
            // categories are part of the plan: closed once procurement starts
            let v = app
                .gql(
                    Some(&admin),
                    "mutation($c:ID!,$i:CategoryInput!){addCategory(campaignId:$c,input:$i){id}}",
                    json!({"c": id, "i": {"code": "LATE", "name": "x", "recipientKind": "PERSON", "plannedCount": 1, "standardAmount": "1"}}),
                )
                .await;
            assert_eq!(code(&v), Some("INVALID_STAGE"));
        }
    }
    let v = app
        .gql(Some(&admin), advance, json!({"id": id, "to": "CLOSED"}))
        .await;
    assert_eq!(code(&v), Some("INVALID_STAGE"));
    let v = app
        .gql(Some(&admin), advance, json!({"id": "999999", "to": "SCREENING"}))
        .await;
    assert_eq!(code(&v), Some("NOT_FOUND"));
}

#[tokio::test]
async fn demo_data_loads_the_2025_campaign_once() {
    let app = TestApp::spawn().await;
    let data = domain::demo::parse(domain::demo::FUMIN_2025).unwrap();
    let services = domain::Services::new(app.db.clone(), std::sync::Arc::new(app.settings.clone()));
    let csv = Some(domain::demo::FUMIN_2025_RECIPIENTS);
    let first = domain::demo::load(&services, &data, csv).await.unwrap();
    assert!(!first.already_loaded);
    assert_eq!(first.recipients, 252);
    assert!(
        domain::demo::load(&services, &data, csv)
            .await
            .unwrap()
            .already_loaded
    );
    let admin = app.admin().await;
    let d = app
        .ok(
            Some(&admin),
            "query($id:ID!){campaign(id:$id){name budget stage startsOn deadline organization{name} categories{code plannedCount standardAmount verifiedCount}}}",
            json!({"id": first.campaign_id.to_string()}),
        )
        .await;
    let c = &d["campaign"];
    assert_eq!(c["budget"], "150000.00");
    assert_eq!(c["startsOn"], "2025-01-15");
    assert_eq!(c["deadline"], "2025-01-28");
    assert_eq!(c["organization"]["name"], "富民县总工会");
    let cats = c["categories"].as_array().unwrap();
    assert_eq!(cats.len(), 7);
    let planned: i64 = cats.iter().map(|c| c["plannedCount"].as_i64().unwrap()).sum();
    assert_eq!(planned, 252, "244 people and 8 units");
    // every category's planned count is met by verified recipients from the data file
    for c in cats {
        assert_eq!(c["verifiedCount"], c["plannedCount"], "{c}");
    }
    assert_eq!(d["campaign"]["stage"], "REVIEW");
    // fully distributed: every figure of the 2025 campaign
    let d = app
        .ok(
            Some(&admin),
            "query($id:ID!){campaign(id:$id){progress{plannedRecipients servedRecipients completionRate committed spent executionRate entryOverdue} categories{code plannedCount servedCount}} ledger(campaignId:$id){funded balance}}",
            json!({"id": first.campaign_id.to_string()}),
        )
        .await;
    let p = &d["campaign"]["progress"];
    assert_eq!(p["plannedRecipients"], 252);
    assert_eq!(p["servedRecipients"], 252);
    assert_eq!(p["completionRate"], 1.0);
    assert_eq!(p["committed"], "150000.00");
    assert_eq!(p["spent"], "150000.00");
    assert_eq!(p["executionRate"], 1.0);
    assert_eq!(p["entryOverdue"], 0);
    for c in d["campaign"]["categories"].as_array().unwrap() {
        assert_eq!(c["servedCount"], c["plannedCount"], "{c}");
    }
    assert_eq!(d["ledger"]["funded"], "150000.00");
    assert_eq!(d["ledger"]["balance"], "0.00");
    let v = app
        .ok(Some(&admin), "query($id:ID!){disbursements(campaignId:$id,filter:{status:CONFIRMED,entered:true}){totalCount}}", json!({"id": first.campaign_id.to_string()}))
        .await;
    assert_eq!(v["disbursements"]["totalCount"], 252);
    // the demo users can log in with the file's password
    app.login("helpcentre", &data.demo_password).await;
}
