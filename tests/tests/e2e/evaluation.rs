//! The performance evaluation (issue 12, points 1–4): the 2025 富民县 campaign replayed through
//! the API from the data files of `demo/` (built from `docs/domain.md`: 244 people and 8 units,
//! 150000.00, everything paid before the deadline), then surveyed on a 30-person sample, scored
//! and archived — BUDGET_EXECUTION 10, OUTPUT 50, BENEFIT 28, SATISFACTION 10, total 98, 优 —
//! and the rules: steps, frozen archive, hand scores, sampling, surveys, access.
use serde_json::{Value, json};
use songnuan_tests::{TestApp, code};
use std::collections::{BTreeMap, BTreeSet};

/// What the evaluators of the seed report did (the acceptance of issue 12): a 30-person
/// sample, everyone satisfied, the two benefit indicators 14 points each.
const SAMPLE_SIZE: i32 = 30;
const SEED: i32 = 2025;
const BENEFIT_SCORE: f64 = 14.0;

const EVALUATION: &str = "query($c:ID!){evaluation(campaignId:$c){id step totalScore grade
    campaign{id} indicators{code name weight score measured comment parentCode computed}
    narratives{section text drafted}}}";
const ADVANCE: &str = "mutation($c:ID!,$to:EvaluationStep!){advanceEvaluation(campaignId:$c,to:$to){step}}";
const SURVEY: &str =
    "mutation($i:SurveyInput!){recordSurvey(input:$i){id channel satisfied comment recipient{id}}}";
const DRAW: &str = "mutation($c:ID!,$n:Int!,$s:Int!){drawSample(campaignId:$c,size:$n,seed:$s){id seed recipients{id category{code} nominatedBy{id}}}}";
const SCORE: &str = "mutation($c:ID!,$code:String!,$s:Float!,$r:String!){scoreIndicator(campaignId:$c,code:$code,score:$s,comment:$r){totalScore}}";
const NARRATIVE: &str = "mutation($c:ID!,$s:NarrativeSection!,$t:String!){setNarrative(campaignId:$c,section:$s,text:$t){narratives{section text}}}";
const SIZE: &str =
    "query($c:ID!,$conf:Float!,$m:Float!){sampleSize(campaignId:$c,confidence:$conf,margin:$m)}";

fn gql_str(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .to_string()
}

/// The campaign of 2025, everything paid, confirmed and entered, in REVIEW.
struct Replay {
    app: TestApp,
    admin: String,
    caseworker: String,
    evaluator: String,
    campaign: String,
}

/// Replays `demo/fumin-2025.toml` and its recipients file through the API, as the roles do.
async fn replay_2025() -> Replay {
    let data = domain::demo::parse(domain::demo::FUMIN_2025).expect("demo file");
    let app = TestApp::spawn_with(&[("SONGNUAN_FEDERATION_NAME", &data.federation)]).await;
    let admin = app.admin().await;
    let root = app.root_org(&admin).await;
    let mut orgs: BTreeMap<String, String> = BTreeMap::from([(data.federation.clone(), root.clone())]);
    for o in &data.organizations {
        let parent = orgs[&o.parent].clone();
        let id = app.create_org(&admin, &o.name, &o.kind, Some(&parent)).await;
        orgs.insert(o.name.clone(), id);
    }
    let caseworker = app.user_token(&admin, "helpcentre", &["CASEWORKER"], &root).await;
    let finance = app.user_token(&admin, "finance", &["FINANCE"], &root).await;
    let evaluator = app.user_token(&admin, "evaluator", &["EVALUATOR"], &root).await;
    let c = &data.campaign;
    let d = c.distribution.as_ref().expect("distribution");
    let campaign = gql_str(
        &app.ok(
            Some(&admin),
            "mutation($i:CreateCampaignInput!){createCampaign(input:$i){id}}",
            json!({"i": {"name": c.name, "year": c.year, "budget": c.budget, "startsOn": c.starts_on,
                         "deadline": c.deadline, "policyRefs": c.policy_refs, "entryDeadlineDays": c.entry_deadline_days}}),
        )
        .await["createCampaign"]["id"],
    );
    let mut standard: BTreeMap<String, String> = BTreeMap::new();
    for k in &c.categories {
        app.ok(
            Some(&admin),
            "mutation($c:ID!,$i:CategoryInput!){addCategory(campaignId:$c,input:$i){id}}",
            json!({"c": campaign, "i": {"code": k.code, "name": k.name, "recipientKind": k.recipient_kind,
                                        "plannedCount": k.planned_count, "standardAmount": k.standard_amount}}),
        )
        .await;
        standard.insert(k.code.clone(), k.standard_amount.clone());
    }
    app.advance(&admin, &campaign, "SCREENING").await;
    let imported = app
        .import(
            &caseworker,
            &campaign,
            "fumin-2025-recipients.csv",
            domain::demo::FUMIN_2025_RECIPIENTS.as_bytes().to_vec(),
        )
        .await;
    let rows = domain::demo::FUMIN_2025_RECIPIENTS.lines().skip(1).count();
    assert_eq!(
        imported["data"]["importRecipients"]["imported"], rows,
        "{imported}"
    );

    // Every recipient (id, category), as the help centre lists them.
    let mut recipients: Vec<(String, String)> = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let d = app
            .ok(
                Some(&caseworker),
                "query($c:ID!,$a:String){recipients(campaignId:$c,first:200,after:$a){
                    edges{node{id category{code}}} pageInfo{hasNextPage endCursor}}}",
                json!({"c": campaign, "a": after}),
            )
            .await;
        let page = &d["recipients"];
        for e in page["edges"].as_array().unwrap() {
            recipients.push((gql_str(&e["node"]["id"]), gql_str(&e["node"]["category"]["code"])));
        }
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = Some(gql_str(&page["pageInfo"]["endCursor"]));
    }
    assert_eq!(recipients.len(), rows);
    for (id, _) in &recipients {
        app.ok(
            Some(&caseworker),
            "mutation($id:ID!){verifyRecipient(id:$id,method:DATA_CHECK){id}}",
            json!({"id": id}),
        )
        .await;
    }

    // Funding and the goods for the units (one procurement contract), then the payments.
    app.advance(&admin, &campaign, "PROCUREMENT").await;
    app.ok(
        Some(&finance),
        "mutation($c:ID!,$a:Decimal!,$r:String!,$d:Date!){recordFunding(campaignId:$c,amount:$a,reference:$r,receivedOn:$d){id}}",
        json!({"c": campaign, "a": d.funding_amount, "r": d.funding_reference, "d": d.funding_received_on}),
    )
    .await;
    let units: Vec<&String> = recipients
        .iter()
        .filter(|(_, k)| *k == d.goods_category)
        .map(|(id, _)| id)
        .collect();
    let unit_price = &standard[&d.goods_category];
    let supplier = gql_str(
        &app.ok(
            Some(&finance),
            "mutation($i:SupplierInput!){createSupplier(input:$i){id}}",
            json!({"i": {"name": d.supplier, "creditCode": d.supplier_credit_code}}),
        )
        .await["createSupplier"]["id"],
    );
    let contract = app
        .ok(
            Some(&finance),
            "mutation($i:ContractInput!){createContract(input:$i){id total lines{id}}}",
            json!({"i": {"campaignId": campaign, "supplierId": supplier, "reference": d.contract_reference,
                         "signedOn": d.contract_signed_on, "deliveryDate": d.contract_delivery_date,
                         "afterSaleTerms": d.after_sale_terms,
                         "lines": [{"item": d.goods_item, "quantity": units.len(), "unitPrice": unit_price}]}}),
        )
        .await;
    let line = gql_str(&contract["createContract"]["lines"][0]["id"]);
    app.ok(
        Some(&finance),
        "mutation($l:ID!,$q:Int!,$d:Date!){recordDelivery(lineId:$l,quantity:$q,deliveredOn:$d){id}}",
        json!({"l": line, "q": units.len(), "d": d.contract_delivery_date}),
    )
    .await;
    app.ok(
        Some(&finance),
        "mutation($c:ID!,$a:Decimal!,$d:Date!,$r:String!){payContract(contractId:$c,amount:$a,paidOn:$d,reference:$r){id}}",
        json!({"c": contract["createContract"]["id"], "a": contract["createContract"]["total"],
               "d": d.contract_delivery_date, "r": d.contract_reference}),
    )
    .await;

    app.advance(&admin, &campaign, "DISTRIBUTION").await;
    let mut planned = Vec::new();
    for (n, (id, cat)) in recipients.iter().enumerate() {
        let goods = *cat == d.goods_category;
        let input = if goods {
            json!({"recipientId": id, "kind": "GOODS", "amount": standard[cat], "items": d.goods_item,
                   "contractLineId": line, "idempotencyKey": format!("replay-{id}")})
        } else {
            json!({"recipientId": id, "kind": "CASH", "amount": standard[cat], "idempotencyKey": format!("replay-{id}")})
        };
        let made = app
            .ok(
                Some(&caseworker),
                "mutation($i:DisburseInput!){disburse(input:$i){id}}",
                json!({"i": input}),
            )
            .await;
        let reference = if goods {
            d.contract_reference.clone()
        } else {
            format!("{}{:04}", d.bank_reference_prefix, n + 1)
        };
        planned.push((gql_str(&made["disburse"]["id"]), reference));
    }
    let ids: Vec<&String> = planned.iter().map(|(id, _)| id).collect();
    for batch in ids.chunks(500) {
        app.ok(
            Some(&finance),
            "mutation($ids:[ID!]!){approveDisbursements(ids:$ids){id}}",
            json!({"ids": batch}),
        )
        .await;
    }
    for (id, reference) in &planned {
        app.ok(
            Some(&finance),
            "mutation($id:ID!,$r:String!,$p:Date!){markPaid(id:$id,bankReference:$r,paidOn:$p){id}}",
            json!({"id": id, "r": reference, "p": d.paid_on}),
        )
        .await;
        app.ok(
            Some(&caseworker),
            "mutation($id:ID!,$d:Date!){confirmReceipt(id:$id,confirmedOn:$d){id}}",
            json!({"id": id, "d": d.confirmed_on}),
        )
        .await;
    }
    for batch in ids.chunks(500) {
        app.ok(
            Some(&caseworker),
            "mutation($ids:[ID!]!,$r:String!){markEntered(ids:$ids,provincialRef:$r){id}}",
            json!({"ids": batch, "r": d.provincial_ref}),
        )
        .await;
    }
    app.advance(&admin, &campaign, "REVIEW").await;
    Replay {
        app,
        admin,
        caseworker,
        evaluator,
        campaign,
    }
}

fn indicator<'a>(e: &'a Value, code: &str) -> &'a Value {
    e["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["code"] == code)
        .unwrap_or_else(|| panic!("no indicator {code}: {e}"))
}

fn narrative<'a>(e: &'a Value, section: &str) -> &'a str {
    e["narratives"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["section"] == section)
        .and_then(|n| n["text"].as_str())
        .unwrap_or_else(|| panic!("no narrative {section}: {e}"))
}

#[tokio::test]
async fn the_2025_campaign_replayed_through_the_api_scores_98_excellent() {
    let started = std::time::Instant::now();
    let Replay {
        app,
        admin,
        caseworker,
        evaluator,
        campaign,
    } = replay_2025().await;
    let replayed = started.elapsed();
    let c = json!({"c": campaign});

    // From REVIEW on the evaluation exists, PREPARING, with the default template.
    let e = app.ok(Some(&evaluator), EVALUATION, c.clone()).await["evaluation"].clone();
    assert_eq!(e["step"], "PREPARING", "{e}");
    assert_eq!(e["id"], campaign);
    assert_eq!(e["indicators"].as_array().unwrap().len(), 10, "{e}");
    assert_eq!(
        indicator(&e, "BUDGET_EXECUTION")["measured"],
        "150000.00/150000.00 = 100%"
    );

    app.ok(
        Some(&evaluator),
        ADVANCE,
        json!({"c": campaign, "to": "FIELDWORK"}),
    )
    .await;
    // 95 % / ±5 % over the 252 served: 153 (Cochran with finite-population correction).
    let n = app
        .ok(
            Some(&evaluator),
            SIZE,
            json!({"c": campaign, "conf": 0.95, "m": 0.05}),
        )
        .await;
    assert_eq!(n["sampleSize"], 153);

    // The sample: 30 served recipients, every category represented; the same seed again
    // draws the same people.
    let drawn = app
        .ok(
            Some(&evaluator),
            DRAW,
            json!({"c": campaign, "n": SAMPLE_SIZE, "s": SEED}),
        )
        .await["drawSample"]
        .clone();
    assert_eq!(drawn["seed"], SEED);
    let people: Vec<String> = drawn["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| gql_str(&r["id"]))
        .collect();
    assert_eq!(people.len(), SAMPLE_SIZE as usize);
    assert_eq!(people.iter().collect::<BTreeSet<_>>().len(), people.len());
    let categories: BTreeSet<String> = drawn["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| gql_str(&r["category"]["code"]))
        .collect();
    let data = domain::demo::parse(domain::demo::FUMIN_2025).unwrap();
    let all: BTreeSet<String> = data.campaign.categories.iter().map(|k| k.code.clone()).collect();
    assert_eq!(categories, all, "every category in the sample");
    let again = app
        .ok(
            Some(&evaluator),
            DRAW,
            json!({"c": campaign, "n": SAMPLE_SIZE, "s": SEED}),
        )
        .await["drawSample"]
        .clone();
    assert_ne!(again["id"], drawn["id"], "stored as a new sample");
    assert_eq!(again["recipients"], drawn["recipients"], "same seed, same sample");
    let other = app
        .ok(
            Some(&evaluator),
            DRAW,
            json!({"c": campaign, "n": SAMPLE_SIZE, "s": SEED + 1}),
        )
        .await["drawSample"]
        .clone();
    assert_ne!(
        other["recipients"], drawn["recipients"],
        "another seed, another sample"
    );

    // Everyone called back is satisfied (电话回访 / 现场咨询 / 微信互动), by the evaluators and
    // the help centre.
    for (i, r) in people.iter().enumerate() {
        let channel = ["PHONE", "ONSITE", "WECHAT"][i % 3];
        let who = if i % 2 == 0 { &evaluator } else { &caseworker };
        app.ok(
            Some(who),
            SURVEY,
            json!({"i": {"recipientId": r, "channel": channel, "satisfied": true, "comment": "慰问及时，标准合理"}}),
        )
        .await;
    }
    let p = app
        .ok(
            Some(&admin),
            "query($c:ID!){campaign(id:$c){progress{satisfactionRate servedRecipients}}}",
            c.clone(),
        )
        .await;
    assert_eq!(p["campaign"]["progress"]["satisfactionRate"], 1.0, "{p}");
    assert_eq!(p["campaign"]["progress"]["servedRecipients"], 252, "{p}");

    // SCORING: the narratives start as drafts written from the figures; the seed's own problem
    // (资金到位时间较晚: funded 2025-01-10, deadline 2025-01-28) is found.
    app.ok(Some(&evaluator), ADVANCE, json!({"c": campaign, "to": "SCORING"}))
        .await;
    let e = app.ok(Some(&evaluator), EVALUATION, c.clone()).await["evaluation"].clone();
    let sections: Vec<&str> = e["narratives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["section"].as_str().unwrap())
        .collect();
    assert_eq!(sections, ["CONCLUSION", "EXPERIENCE", "PROBLEMS", "SUGGESTIONS"]);
    assert!(
        e["narratives"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["drafted"] == true)
    );
    let problems = narrative(&e, "PROBLEMS");
    assert!(
        problems.contains("2025-01-10") && problems.contains("18 天"),
        "{problems}"
    );
    assert!(!problems.contains("截止日期 2025-01-28 之后发放"), "{problems}");
    assert!(narrative(&e, "SUGGESTIONS").contains("资金早到位"), "{e}");
    assert!(narrative(&e, "CONCLUSION").contains("150000.00"), "{e}");
    assert!(narrative(&e, "EXPERIENCE").contains("银行转账"), "{e}");

    for code in ["BENEFIT.SOCIAL", "BENEFIT.SUSTAINABLE"] {
        app.ok(
            Some(&evaluator),
            SCORE,
            json!({"c": campaign, "code": code, "s": BENEFIT_SCORE,
                   "r": "有效缓解了困难职工的生活压力，密切了工会组织与职工群众的联系"}),
        )
        .await;
    }
    app.ok(
        Some(&evaluator),
        NARRATIVE,
        json!({"c": campaign, "s": "EXPERIENCE", "t": "加强组织领导，压实工作责任。"}),
    )
    .await;

    let e = app.ok(Some(&evaluator), EVALUATION, c.clone()).await["evaluation"].clone();
    let score = |code: &str| indicator(&e, code)["score"].as_f64().unwrap();
    assert_eq!(score("BUDGET_EXECUTION"), 10.0, "{e}");
    assert_eq!(score("OUTPUT"), 50.0, "{e}");
    for (code, weight) in [
        ("OUTPUT.QUANTITY", 20.0),
        ("OUTPUT.QUALITY", 10.0),
        ("OUTPUT.TIMELINESS", 10.0),
        ("OUTPUT.COST", 10.0),
    ] {
        assert_eq!(score(code), weight, "{code}: {e}");
        assert_eq!(indicator(&e, code)["parentCode"], "OUTPUT");
        assert_eq!(indicator(&e, code)["computed"], true);
    }
    assert_eq!(score("BENEFIT"), 28.0, "{e}");
    assert_eq!(score("SATISFACTION"), 10.0, "{e}");
    assert_eq!(e["totalScore"], 98.0, "{e}");
    assert_eq!(e["grade"], "EXCELLENT", "{e}");
    assert_eq!(
        indicator(&e, "OUTPUT.TIMELINESS")["measured"],
        "2025-01-28 前发放 252/252 = 100%"
    );
    assert_eq!(
        indicator(&e, "SATISFACTION")["measured"],
        "满意 30/30 = 100%（目标 ≥ 90%）"
    );
    assert!(
        indicator(&e, "BENEFIT.SOCIAL")["comment"]
            .as_str()
            .unwrap()
            .contains("生活压力")
    );
    assert_eq!(indicator(&e, "BENEFIT.SOCIAL")["computed"], false);
    assert_eq!(narrative(&e, "EXPERIENCE"), "加强组织领导，压实工作责任。");

    // The report helper's view of the same data (the domain's public face) agrees.
    let model = entities::campaign::Entity::find_by_id(campaign.parse::<i64>().unwrap());
    use sea_orm::EntityTrait;
    let model = model.one(&app.db).await.unwrap().unwrap();
    let view = domain::evaluation::evaluation_of(&app.db, model).await.unwrap();
    assert_eq!(view.total_centi, 9800);
    assert_eq!(view.figures.categories.len(), 7);
    assert!(view.figures.categories.iter().all(|k| k.served == k.planned));
    assert_eq!(view.figures.spent().to_string(), "150000.00");
    assert_eq!(view.figures.sample.as_ref().map(|s| s.size), Some(30));

    app.ok(
        Some(&evaluator),
        ADVANCE,
        json!({"c": campaign, "to": "FEEDBACK"}),
    )
    .await;
    app.ok(Some(&admin), ADVANCE, json!({"c": campaign, "to": "ARCHIVED"}))
        .await;
    let archived = app.ok(Some(&evaluator), EVALUATION, c.clone()).await["evaluation"].clone();
    assert_eq!(archived["step"], "ARCHIVED");
    assert_eq!(archived["totalScore"], 98.0);
    assert_eq!(archived["indicators"], e["indicators"], "archived as scored");
    eprintln!(
        "2025 replay: {} recipients through the API in {:?}; evaluation to ARCHIVED in {:?} ({})",
        252,
        replayed,
        started.elapsed() - replayed,
        if app.is_postgres() { "PostgreSQL" } else { "SQLite" }
    );
}

// ---------------------------------------------------------------------------------------------
// The rules, on a small campaign: three paid people (two unions), one verified and unpaid.
// ---------------------------------------------------------------------------------------------

struct Small {
    app: TestApp,
    admin: String,
    caseworker: String,
    finance: String,
    evaluator: String,
    campaign: String,
    paid: Vec<String>,
    unpaid: String,
    disbursements: Vec<String>,
}

async fn small(to_review: bool) -> Small {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let root = app.root_org(&admin).await;
    let towns = app.two_towns(&admin, &root).await;
    let caseworker = app.user_token(&admin, "helpcentre", &["CASEWORKER"], &root).await;
    let finance = app.user_token(&admin, "finance", &["FINANCE"], &root).await;
    let evaluator = app.user_token(&admin, "evaluator", &["EVALUATOR"], &root).await;
    let campaign = app.create_campaign(&admin, "2025年送温暖").await;
    app.add_category(&admin, &campaign, "HARDSHIP").await;
    app.advance(&admin, &campaign, "SCREENING").await;
    let mut people = Vec::new();
    for (n, org) in [(1, &towns.g1), (2, &towns.g1), (3, &towns.g2), (4, &towns.g2)] {
        let id = app.nominate_person(&caseworker, &campaign, org, n).await;
        app.ok(
            Some(&caseworker),
            "mutation($id:ID!){verifyRecipient(id:$id,method:HOME_VISIT){id}}",
            json!({"id": id}),
        )
        .await;
        people.push(id);
    }
    app.advance(&admin, &campaign, "PROCUREMENT").await;
    app.fund(&finance, &campaign, "150000.00").await;
    app.advance(&admin, &campaign, "DISTRIBUTION").await;
    let unpaid = people.pop().unwrap();
    let mut disbursements = Vec::new();
    for (i, p) in people.iter().enumerate() {
        disbursements.push(
            app.pay_cash(
                &caseworker,
                &finance,
                p,
                "500.00",
                &format!("BANK-{i}"),
                "2025-01-27",
            )
            .await,
        );
    }
    if to_review {
        // The unpaid person's plan would hold REVIEW back: they are verified, never planned.
        app.advance(&admin, &campaign, "REVIEW").await;
    }
    Small {
        app,
        admin,
        caseworker,
        finance,
        evaluator,
        campaign,
        paid: people,
        unpaid,
        disbursements,
    }
}

impl Small {
    async fn evaluation(&self) -> Value {
        self.app
            .ok(Some(&self.evaluator), EVALUATION, json!({"c": self.campaign}))
            .await["evaluation"]
            .clone()
    }

    async fn advance(&self, to: &str) {
        self.app
            .ok(
                Some(&self.evaluator),
                ADVANCE,
                json!({"c": self.campaign, "to": to}),
            )
            .await;
    }

    /// Runs `query` as `token` and expects `code` with nothing written (audit log and the
    /// evaluation as they were).
    async fn refused(&self, token: &str, query: &str, vars: Value, expected: &str) -> Value {
        let audit = self.app.audit_count().await;
        let before = self.evaluation().await;
        let v = self.app.gql(Some(token), query, vars).await;
        assert_eq!(code(&v), Some(expected), "{query}: {v}");
        assert!(
            v["data"].is_null()
                || v["data"]
                    .as_object()
                    .is_some_and(|d| d.values().all(Value::is_null)),
            "{v}"
        );
        assert_eq!(self.app.audit_count().await, audit, "nothing written: {query}");
        assert_eq!(self.evaluation().await, before, "evaluation unchanged: {query}");
        v
    }

    fn survey(&self, recipient: &str, satisfied: bool) -> Value {
        json!({"i": {"recipientId": recipient, "channel": "PHONE", "satisfied": satisfied}})
    }
}

#[tokio::test]
async fn operations_outside_their_step_are_invalid_stage_and_write_nothing() {
    let w = small(false).await;
    let app = &w.app;
    // Before REVIEW there is no evaluation.
    assert!(w.evaluation().await.is_null());
    let v = app
        .gql(
            Some(&w.evaluator),
            ADVANCE,
            json!({"c": w.campaign, "to": "FIELDWORK"}),
        )
        .await;
    assert_eq!(code(&v), Some("INVALID_STAGE"), "{v}");
    app.advance(&w.admin, &w.campaign, "REVIEW").await;
    assert_eq!(w.evaluation().await["step"], "PREPARING");

    let survey = w.survey(&w.paid[0], true);
    let draw = json!({"c": w.campaign, "n": 2, "s": 7});
    let score = json!({"c": w.campaign, "code": "BENEFIT.SOCIAL", "s": 10.0, "r": "理由"});
    let text = json!({"c": w.campaign, "s": "PROBLEMS", "t": "资金到位较晚"});
    // PREPARING: no surveys, samples, scores or narratives; no skipping a step.
    w.refused(&w.evaluator, SURVEY, survey.clone(), "INVALID_STAGE")
        .await;
    w.refused(&w.evaluator, DRAW, draw.clone(), "INVALID_STAGE").await;
    w.refused(&w.evaluator, SCORE, score.clone(), "INVALID_STAGE")
        .await;
    w.refused(&w.evaluator, NARRATIVE, text.clone(), "INVALID_STAGE")
        .await;
    w.refused(
        &w.evaluator,
        ADVANCE,
        json!({"c": w.campaign, "to": "SCORING"}),
        "INVALID_STAGE",
    )
    .await;
    w.refused(
        &w.evaluator,
        ADVANCE,
        json!({"c": w.campaign, "to": "PREPARING"}),
        "INVALID_STAGE",
    )
    .await;
    // Only an EVALUATOR or ADMIN moves it.
    w.refused(
        &w.finance,
        ADVANCE,
        json!({"c": w.campaign, "to": "FIELDWORK"}),
        "FORBIDDEN",
    )
    .await;
    w.advance("FIELDWORK").await;
    // FIELDWORK: surveys and samples, still no scores or narratives.
    app.ok(Some(&w.caseworker), SURVEY, survey.clone()).await;
    app.ok(Some(&w.evaluator), DRAW, draw.clone()).await;
    w.refused(&w.evaluator, SCORE, score.clone(), "INVALID_STAGE")
        .await;
    w.refused(&w.evaluator, NARRATIVE, text.clone(), "INVALID_STAGE")
        .await;
    // Entering FEEDBACK needs the hand scores.
    w.advance("SCORING").await;
    w.refused(
        &w.evaluator,
        ADVANCE,
        json!({"c": w.campaign, "to": "FEEDBACK"}),
        "INVALID_STAGE",
    )
    .await;
    app.ok(Some(&w.evaluator), SCORE, score.clone()).await;
    app.ok(Some(&w.evaluator), NARRATIVE, text.clone()).await;
    let e = w.evaluation().await;
    assert_eq!(narrative(&e, "PROBLEMS"), "资金到位较晚");
    for code in ["BENEFIT.SOCIAL", "BENEFIT.SUSTAINABLE"] {
        app.ok(
            Some(&w.evaluator),
            SCORE,
            json!({"c": w.campaign, "code": code, "s": 12.5, "r": "走访中职工反映良好"}),
        )
        .await;
    }
    w.advance("FEEDBACK").await;
    assert_eq!(indicator(&w.evaluation().await, "BENEFIT")["score"], 25.0);
}

#[tokio::test]
async fn hand_scores_are_refused_with_their_code_and_nothing_written() {
    let w = small(true).await;
    w.advance("FIELDWORK").await;
    w.advance("SCORING").await;
    let score = |code: &str, s: f64, r: &str| json!({"c": w.campaign, "code": code, "s": s, "r": r});
    // A computed indicator scored by hand.
    for code in ["BUDGET_EXECUTION", "OUTPUT.QUANTITY", "OUTPUT", "SATISFACTION"] {
        let v = w
            .refused(&w.evaluator, SCORE, score(code, 1.0, "理由"), "VALIDATION")
            .await;
        assert_eq!(v["errors"][0]["extensions"]["field"], "code", "{v}");
    }
    // Above the weight, below 0, more than two decimals.
    for s in [15.01, 16.0, -0.5, 3.125] {
        let v = w
            .refused(
                &w.evaluator,
                SCORE,
                score("BENEFIT.SOCIAL", s, "理由"),
                "VALIDATION",
            )
            .await;
        assert_eq!(v["errors"][0]["extensions"]["field"], "score", "{s}: {v}");
    }
    // No written reason; an unknown code; not an evaluator.
    w.refused(
        &w.evaluator,
        SCORE,
        score("BENEFIT.SOCIAL", 10.0, "  "),
        "VALIDATION",
    )
    .await;
    w.refused(
        &w.evaluator,
        SCORE,
        score("BENEFIT.OTHER", 10.0, "理由"),
        "VALIDATION",
    )
    .await;
    w.refused(
        &w.caseworker,
        SCORE,
        score("BENEFIT.SOCIAL", 10.0, "理由"),
        "FORBIDDEN",
    )
    .await;
    // The bounds themselves are fine.
    w.app
        .ok(Some(&w.evaluator), SCORE, score("BENEFIT.SOCIAL", 15.0, "全额"))
        .await;
    w.app
        .ok(
            Some(&w.evaluator),
            SCORE,
            score("BENEFIT.SUSTAINABLE", 0.0, "无持续影响"),
        )
        .await;
    let e = w.evaluation().await;
    assert_eq!(indicator(&e, "BENEFIT")["score"], 15.0, "{e}");
}

#[tokio::test]
async fn an_archived_evaluation_is_frozen_computed_figures_included() {
    let w = small(true).await;
    let app = &w.app;
    w.advance("FIELDWORK").await;
    for r in &w.paid {
        app.ok(Some(&w.evaluator), SURVEY, w.survey(r, true)).await;
    }
    w.advance("SCORING").await;
    for code in ["BENEFIT.SOCIAL", "BENEFIT.SUSTAINABLE"] {
        app.ok(
            Some(&w.evaluator),
            SCORE,
            json!({"c": w.campaign, "code": code, "s": 14.0, "r": "走访反映良好"}),
        )
        .await;
    }
    w.advance("FEEDBACK").await;
    w.advance("ARCHIVED").await;
    let frozen = w.evaluation().await;
    assert_eq!(frozen["step"], "ARCHIVED");
    assert_eq!(indicator(&frozen, "OUTPUT.TIMELINESS")["score"], 10.0);

    // Every change is VALIDATION, nothing written.
    for (token, query, vars) in [
        (&w.evaluator, SURVEY, w.survey(&w.paid[0], false)),
        (&w.caseworker, SURVEY, w.survey(&w.paid[1], false)),
        (&w.evaluator, DRAW, json!({"c": w.campaign, "n": 1, "s": 1})),
        (
            &w.evaluator,
            SCORE,
            json!({"c": w.campaign, "code": "BENEFIT.SOCIAL", "s": 1.0, "r": "改分"}),
        ),
        (
            &w.evaluator,
            NARRATIVE,
            json!({"c": w.campaign, "s": "CONCLUSION", "t": "改写"}),
        ),
        (&w.evaluator, ADVANCE, json!({"c": w.campaign, "to": "FEEDBACK"})),
        (&w.admin, ADVANCE, json!({"c": w.campaign, "to": "ARCHIVED"})),
    ] {
        w.refused(token, query, vars, "VALIDATION").await;
    }

    // The data moves under it (a payment's date rewritten behind the API's back): the archived
    // scores and figures do not.
    app.exec(&format!(
        "UPDATE disbursements SET paid_on = '2025-02-10' WHERE id = {}",
        w.disbursements[0]
    ))
    .await;
    assert_eq!(w.evaluation().await, frozen);
    assert_eq!(
        indicator(&frozen, "OUTPUT.TIMELINESS")["measured"],
        "2025-01-28 前发放 3/3 = 100%"
    );
}

#[tokio::test]
async fn computed_indicators_follow_the_data_until_archived() {
    let w = small(true).await;
    let app = &w.app;
    // A late payment (after the 2025-01-28 deadline) and no survey yet.
    app.exec(&format!(
        "UPDATE disbursements SET paid_on = '2025-02-10' WHERE id = {}",
        w.disbursements[0]
    ))
    .await;
    let e = w.evaluation().await;
    // 3 paid of 58 planned: 20 × 3/58 = 1.03; one of three late: 10 × 2/3 = 6.67.
    assert_eq!(indicator(&e, "OUTPUT.QUANTITY")["score"], 1.03, "{e}");
    assert_eq!(indicator(&e, "OUTPUT.TIMELINESS")["score"], 6.67, "{e}");
    assert_eq!(
        indicator(&e, "OUTPUT.TIMELINESS")["measured"],
        "2025-01-28 前发放 2/3 = 66.67%"
    );
    assert_eq!(indicator(&e, "SATISFACTION")["score"], 0.0);
    assert_eq!(
        indicator(&e, "BUDGET_EXECUTION")["measured"],
        "1500.00/150000.00 = 1%"
    );
    assert_eq!(indicator(&e, "BUDGET_EXECUTION")["score"], 0.1);
    // Two of three satisfied: 66.67 % of the 90 % target → 10 × (2/3)/0.9 = 7.41.
    w.advance("FIELDWORK").await;
    app.ok(Some(&w.evaluator), SURVEY, w.survey(&w.paid[0], true))
        .await;
    app.ok(Some(&w.evaluator), SURVEY, w.survey(&w.paid[1], true))
        .await;
    app.ok(Some(&w.evaluator), SURVEY, w.survey(&w.paid[2], false))
        .await;
    let e = w.evaluation().await;
    assert_eq!(indicator(&e, "SATISFACTION")["score"], 7.41, "{e}");
    // The drafts name what went wrong.
    w.advance("SCORING").await;
    let e = w.evaluation().await;
    let problems = narrative(&e, "PROBLEMS");
    for finding in ["1 笔", "之后发放", "计划 58，实际 3", "满意度为 66.67%"] {
        assert!(problems.contains(finding), "{finding}: {problems}");
    }
    let total: f64 = e["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["parentCode"].is_null())
        .map(|i| i["score"].as_f64().unwrap())
        .sum();
    assert!((e["totalScore"].as_f64().unwrap() - total).abs() < 1e-9, "{e}");
    assert_eq!(e["grade"], "POOR");
}

#[tokio::test]
async fn surveys_are_of_served_recipients_one_answer_each() {
    let w = small(true).await;
    let app = &w.app;
    w.advance("FIELDWORK").await;
    let progress = "query($c:ID!){campaign(id:$c){progress{satisfactionRate}}}";
    let rate = |v: Value| v["campaign"]["progress"]["satisfactionRate"].clone();
    assert!(rate(app.ok(Some(&w.admin), progress, json!({"c": w.campaign})).await).is_null());

    // Someone never paid cannot say how the help was.
    let v = w
        .refused(&w.evaluator, SURVEY, w.survey(&w.unpaid, true), "VALIDATION")
        .await;
    assert_eq!(v["errors"][0]["extensions"]["field"], "recipientId");
    // Only evaluators and the help centre call back.
    w.refused(&w.finance, SURVEY, w.survey(&w.paid[0], true), "FORBIDDEN")
        .await;

    let first = app
        .ok(Some(&w.evaluator), SURVEY, w.survey(&w.paid[0], true))
        .await;
    assert_eq!(
        rate(app.ok(Some(&w.admin), progress, json!({"c": w.campaign})).await),
        1.0
    );
    // A new answer replaces the old one (same row), audited.
    let audit = app.audit_count().await;
    let second = app
        .ok(
            Some(&w.caseworker),
            SURVEY,
            json!({"i": {"recipientId": w.paid[0], "channel": "WECHAT", "satisfied": false, "comment": "到账晚了两天"}}),
        )
        .await;
    assert_eq!(second["recordSurvey"]["id"], first["recordSurvey"]["id"]);
    assert_eq!(second["recordSurvey"]["channel"], "WECHAT");
    assert_eq!(app.audit_count().await, audit + 1);
    assert_eq!(
        rate(app.ok(Some(&w.admin), progress, json!({"c": w.campaign})).await),
        0.0
    );
    app.ok(Some(&w.evaluator), SURVEY, w.survey(&w.paid[1], true))
        .await;
    assert_eq!(
        rate(app.ok(Some(&w.admin), progress, json!({"c": w.campaign})).await),
        0.5
    );
    // Two entries on the answer's row: the first answer and its replacement; the recipient's
    // own words stay out of the log.
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let log = entities::audit_log::Entity::find()
        .filter(entities::audit_log::Column::TargetType.eq("SurveyResponse"))
        .filter(entities::audit_log::Column::TargetId.eq(gql_str(&first["recordSurvey"]["id"])))
        .all(&app.db)
        .await
        .unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["recordSurvey", "recordSurvey"]);
    assert!(
        log.iter()
            .all(|e| !e.diff.as_deref().unwrap_or_default().contains("到账晚了两天")),
        "the comment stays out of the log"
    );
}

#[tokio::test]
async fn sampling_sizes_and_draws() {
    let w = small(true).await;
    let app = &w.app;
    let size = |conf: f64, m: f64| json!({"c": w.campaign, "conf": conf, "m": m});
    // N = 3 served: the formula never asks for more than there are.
    assert_eq!(
        app.ok(Some(&w.evaluator), SIZE, size(0.95, 0.05)).await["sampleSize"],
        3
    );
    for (conf, m, field) in [
        (0.93, 0.05, "confidence"),
        (0.95, 0.0, "margin"),
        (0.95, 0.7, "margin"),
    ] {
        let v = app.gql(Some(&w.evaluator), SIZE, size(conf, m)).await;
        assert_eq!(code(&v), Some("VALIDATION"), "{v}");
        assert_eq!(v["errors"][0]["extensions"]["field"], field, "{v}");
        assert!(
            v["errors"][0]["message"]
                .as_str()
                .unwrap()
                .chars()
                .any(|c| c > '\u{4e00}')
        );
    }
    w.advance("FIELDWORK").await;
    for n in [0, 4, -1] {
        let v = w
            .refused(
                &w.evaluator,
                DRAW,
                json!({"c": w.campaign, "n": n, "s": 1}),
                "VALIDATION",
            )
            .await;
        assert_eq!(v["errors"][0]["extensions"]["field"], "size", "{v}");
    }
    w.refused(
        &w.caseworker,
        DRAW,
        json!({"c": w.campaign, "n": 2, "s": 1}),
        "FORBIDDEN",
    )
    .await;
    // Two of three, one from each union at least: the strata are (category, union).
    let mut seen = BTreeSet::new();
    for seed in 0..6 {
        let d = app
            .ok(
                Some(&w.evaluator),
                DRAW,
                json!({"c": w.campaign, "n": 2, "s": seed}),
            )
            .await;
        let orgs: BTreeSet<String> = d["drawSample"]["recipients"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| gql_str(&r["nominatedBy"]["id"]))
            .collect();
        assert_eq!(orgs.len(), 2, "one per nominating union: {d}");
        let ids: Vec<String> = d["drawSample"]["recipients"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| gql_str(&r["id"]))
            .collect();
        assert!(ids.iter().all(|id| w.paid.contains(id)), "served only: {d}");
        seen.insert(ids);
    }
    assert!(seen.len() > 1, "the seed decides who is drawn: {seen:?}");
}

#[tokio::test]
async fn who_reads_the_evaluation() {
    let w = small(true).await;
    let app = &w.app;
    let root = app.root_org(&w.admin).await;
    let towns_g1 = app
        .ok(Some(&w.admin), "{organizations{id name}}", json!({}))
        .await["organizations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "永定环卫所工会")
        .map(|o| gql_str(&o["id"]))
        .unwrap();
    let grassroots = app
        .user_token(&w.admin, "yongding", &["GRASSROOTS"], &towns_g1)
        .await;
    let integration = app
        .user_token(&w.admin, "province", &["INTEGRATION"], &root)
        .await;
    let auditor = app.user_token(&w.admin, "auditor", &["AUDITOR"], &root).await;
    for token in [&w.admin, &w.evaluator, &w.caseworker, &w.finance, &auditor] {
        let d = app.ok(Some(token), EVALUATION, json!({"c": w.campaign})).await;
        assert_eq!(d["evaluation"]["step"], "PREPARING", "{d}");
    }
    for token in [&grassroots, &integration] {
        for (q, vars) in [
            (EVALUATION, json!({"c": w.campaign})),
            (SIZE, json!({"c": w.campaign, "conf": 0.95, "m": 0.05})),
        ] {
            let v = app.gql(Some(token), q, vars).await;
            assert_eq!(code(&v), Some("FORBIDDEN"), "{v}");
        }
    }
    // The auditor reads, never writes.
    w.refused(
        &auditor,
        ADVANCE,
        json!({"c": w.campaign, "to": "FIELDWORK"}),
        "FORBIDDEN",
    )
    .await;
}
