//! The set-up the entry-reminder tests share (`reminders`, `overdue`): a DISTRIBUTION campaign
//! 「春节送温暖」 whose records are due 5 working days after payment, with two payments made just
//! before the 2025 Spring Festival and not entered, and the injected clock (the rule runs as of
//! the fixed days the tests name, never the real date).
use chrono::NaiveDate;
use serde_json::json;
use songnuan_tests::TestApp;
use std::sync::Arc;

/// A fixed day of the reminder clock ("2025-01-23").
pub fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// The services the job runs with, to call `reminders::generate` / `post` as one more worker.
pub fn services(app: &TestApp) -> domain::Services {
    domain::Services::new(app.db.clone(), Arc::new(app.settings.clone()))
}

pub struct Setup {
    pub admin: String,
    /// The county federation (the campaign's organisation).
    pub root: String,
    /// `helpcentre`, `finance`, `auditor`, `grassroots`, all at the county federation.
    pub caseworker: String,
    pub finance: String,
    pub auditor: String,
    pub grassroots: String,
    pub campaign: String,
    /// Paid 2025-01-23 → deadline 2025-02-06; paid 2025-01-24 → deadline 2025-02-07.
    pub disbursements: Vec<String>,
}

/// The campaign 「春节送温暖」 (entry deadline 5 working days) with its two paid, unentered
/// records.
pub async fn setup(app: &TestApp) -> Setup {
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
    // 5 working days, the Spring Festival (01-28 … 02-04, 01-26 worked) in between.
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
        root,
        caseworker,
        finance,
        auditor,
        grassroots,
        campaign,
        disbursements,
    }
}
