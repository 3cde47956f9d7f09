//! Procurement (政府采购) end to end: suppliers with a 统一社会信用代码, contracts with lines,
//! deliveries, payments through the budget guard into the ledger; refusals that write nothing;
//! roles; and the allocation of delivered units to GOODS disbursements under concurrency.
use domain::audit::Change;
use domain::procurement;
use entities::{campaign, contract_line, ledger_entry};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use songnuan_tests::{TestApp, code};

const GOOD_CODE: &str = "91350100M000100Y43";
const OTHER_CODE: &str = "91110000802100433B";

const CREATE_SUPPLIER: &str =
    "mutation($i:SupplierInput!){createSupplier(input:$i){id name creditCode contact}}";
const CREATE_CONTRACT: &str = "mutation($i:ContractInput!){createContract(input:$i){id reference signedOn deliveryDate afterSaleTerms total paid supplier{id name} lines{id item quantity unitPrice delivered allocated}}}";
const DELIVER: &str = "mutation($l:ID!,$q:Int!,$d:Date!,$n:String){recordDelivery(lineId:$l,quantity:$q,deliveredOn:$d,note:$n){id delivered allocated quantity}}";
const PAY: &str = "mutation($c:ID!,$a:Decimal!,$d:Date!,$r:String!){payContract(contractId:$c,amount:$a,paidOn:$d,reference:$r){id total paid}}";
const CONTRACTS: &str = "query($c:ID!){contracts(campaignId:$c){id reference total paid supplier{name creditCode} lines{item quantity unitPrice delivered allocated}}}";

struct Setup {
    app: TestApp,
    admin: String,
    root: String,
    finance: String,
}

async fn setup() -> Setup {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let root = app.root_org(&admin).await;
    let finance = app.user_token(&admin, "finance", &["FINANCE"], &root).await;
    Setup {
        app,
        admin,
        root,
        finance,
    }
}

async fn supplier(app: &TestApp, token: &str, code: &str) -> String {
    let d = app
        .ok(
            Some(token),
            CREATE_SUPPLIER,
            json!({"i": {"name": "昆明惠民商贸有限公司", "creditCode": code, "contact": "李经理"}}),
        )
        .await;
    d["createSupplier"]["id"].as_str().unwrap().to_string()
}

fn contract_input(campaign: &str, supplier: &str, lines: Value) -> Value {
    json!({"campaignId": campaign, "supplierId": supplier, "reference": "FMZC-2025-001",
           "signedOn": "2025-01-10", "deliveryDate": "2025-01-20",
           "afterSaleTerms": "质量问题七日内包退换，供应商承担运费", "lines": lines})
}

fn line(item: &str, quantity: i32, price: &str) -> Value {
    json!({"item": item, "quantity": quantity, "unitPrice": price})
}

/// Creates a contract and returns (contract id, line ids).
async fn contract(
    app: &TestApp,
    token: &str,
    campaign: &str,
    supplier: &str,
    lines: Value,
) -> (String, Vec<String>) {
    let d = app
        .ok(
            Some(token),
            CREATE_CONTRACT,
            json!({"i": contract_input(campaign, supplier, lines)}),
        )
        .await;
    let c = &d["createContract"];
    let lines = c["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_string())
        .collect();
    (c["id"].as_str().unwrap().to_string(), lines)
}

async fn deliver(app: &TestApp, token: &str, line: &str, q: i32) -> Value {
    app.gql(
        Some(token),
        DELIVER,
        json!({"l": line, "q": q, "d": "2025-01-18", "n": "验收合格"}),
    )
    .await
}

async fn pay(app: &TestApp, token: &str, contract: &str, amount: &str) -> Value {
    app.gql(
        Some(token),
        PAY,
        json!({"c": contract, "a": amount, "d": "2025-01-22", "r": "转账凭证 0012"}),
    )
    .await
}

async fn committed_fen(app: &TestApp, campaign: &str) -> i64 {
    campaign::Entity::find_by_id(campaign.parse::<i64>().unwrap())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .committed_fen
}

async fn balance_fen(app: &TestApp, campaign: &str) -> i64 {
    domain::funds::ledger::balance_fen(&app.db, campaign.parse().unwrap())
        .await
        .unwrap()
}

async fn create_campaign_with_budget(app: &TestApp, token: &str, budget: &str) -> String {
    let d = app
        .ok(
            Some(token),
            "mutation($i:CreateCampaignInput!){createCampaign(input:$i){id}}",
            json!({"i": {"name": "小额项目", "year": 2025, "budget": budget, "startsOn": "2025-01-15", "deadline": "2025-01-28"}}),
        )
        .await;
    d["createCampaign"]["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn supplier_contract_deliveries_and_payments() {
    let Setup {
        app,
        admin,
        root,
        finance,
    } = setup().await;
    let c = app.create_campaign(&admin, "2025 年送温暖").await;
    app.fund(&finance, &c, "150000.00").await;
    let funded = balance_fen(&app, &c).await;
    assert_eq!(funded, 15_000_000);

    let before = app.audit_count().await;
    let d = app
        .ok(
            Some(&finance),
            CREATE_SUPPLIER,
            json!({"i": {"name": " 昆明惠民商贸有限公司 ", "creditCode": " 91350100m000100y43 ", "contact": "李经理 0871-12345678"}}),
        )
        .await;
    assert_eq!(d["createSupplier"]["name"], "昆明惠民商贸有限公司");
    assert_eq!(d["createSupplier"]["creditCode"], GOOD_CODE);
    let sid = d["createSupplier"]["id"].as_str().unwrap().to_string();
    assert_eq!(app.audit_count().await, before + 1);

    let d = app
        .ok(
            Some(&finance),
            "{suppliers{id name creditCode contact}}",
            json!({}),
        )
        .await;
    assert_eq!(d["suppliers"].as_array().unwrap().len(), 1);
    assert_eq!(d["suppliers"][0]["contact"], "李经理 0871-12345678");

    // two lines: 100 × 55.50 + 40 × 79.90 = 8746.00
    let before = app.audit_count().await;
    let d = app
        .ok(
            Some(&finance),
            CREATE_CONTRACT,
            json!({"i": contract_input(&c, &sid, json!([line("大米 10kg", 100, "55.50"), line("食用油 5L", 40, "79.9")]))}),
        )
        .await;
    let k = &d["createContract"];
    assert_eq!(k["total"], "8746.00", "{d}");
    assert_eq!(k["paid"], "0.00");
    assert_eq!(k["signedOn"], "2025-01-10");
    assert_eq!(k["deliveryDate"], "2025-01-20");
    assert_eq!(k["supplier"]["id"], sid.as_str());
    assert_eq!(k["lines"][1]["unitPrice"], "79.90");
    assert_eq!(k["lines"][0]["delivered"], 0);
    assert_eq!(
        app.audit_count().await,
        before + 3,
        "the contract and its two lines"
    );
    let kid = k["id"].as_str().unwrap().to_string();
    let rice = k["lines"][0]["id"].as_str().unwrap().to_string();
    let oil = k["lines"][1]["id"].as_str().unwrap().to_string();

    // deliveries, in parts
    let v = deliver(&app, &finance, &rice, 60).await;
    assert_eq!(v["data"]["recordDelivery"]["delivered"], 60, "{v}");
    let v = deliver(&app, &finance, &rice, 40).await;
    assert_eq!(v["data"]["recordDelivery"]["delivered"], 100, "{v}");
    let v = deliver(&app, &finance, &oil, 40).await;
    assert_eq!(v["data"]["recordDelivery"]["delivered"], 40, "{v}");
    let v = app
        .gql(
            Some(&finance),
            DELIVER,
            json!({"l": oil, "q": 1, "d": "2025-01-19"}),
        )
        .await;
    assert_eq!(code(&v), Some("VALIDATION"), "nothing left to deliver");

    // payments: into the ledger and against the budget
    let before = app.audit_count().await;
    let v = pay(&app, &finance, &kid, "5000.00").await;
    assert_eq!(v["data"]["payContract"]["paid"], "5000.00", "{v}");
    assert_eq!(
        app.audit_count().await,
        before + 2,
        "the ledger entry and the contract"
    );
    assert_eq!(committed_fen(&app, &c).await, 500_000);
    assert_eq!(balance_fen(&app, &c).await, funded - 500_000);
    let v = pay(&app, &finance, &kid, "3746").await;
    assert_eq!(v["data"]["payContract"]["paid"], "8746.00", "{v}");
    assert_eq!(v["data"]["payContract"]["total"], "8746.00");
    assert_eq!(committed_fen(&app, &c).await, 874_600);
    assert_eq!(balance_fen(&app, &c).await, funded - 874_600);
    let entries = ledger_entry::Entity::find()
        .filter(ledger_entry::Column::CampaignId.eq(c.parse::<i64>().unwrap()))
        .filter(ledger_entry::Column::Kind.eq("CONTRACT_PAYMENT"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(
        entries
            .iter()
            .map(|e| (e.amount_fen, e.source_id))
            .collect::<Vec<_>>(),
        vec![
            (-500_000, Some(kid.parse().unwrap())),
            (-374_600, Some(kid.parse().unwrap()))
        ]
    );
    assert_eq!(entries[0].reference, "转账凭证 0012");
    let d = app
        .ok(
            Some(&finance),
            "query($c:ID!){ledger(campaignId:$c){balance}}",
            json!({"c": c}),
        )
        .await;
    assert_eq!(d["ledger"]["balance"], "141254.00");

    // the campaign's contracts, read by a caseworker
    let cw = app.user_token(&admin, "helpcentre", &["CASEWORKER"], &root).await;
    let d = app.ok(Some(&cw), CONTRACTS, json!({"c": c})).await;
    assert_eq!(
        d["contracts"],
        json!([{"id": kid, "reference": "FMZC-2025-001", "total": "8746.00", "paid": "8746.00",
        "supplier": {"name": "昆明惠民商贸有限公司", "creditCode": GOOD_CODE},
        "lines": [
            {"item": "大米 10kg", "quantity": 100, "unitPrice": "55.50", "delivered": 100, "allocated": 0},
            {"item": "食用油 5L", "quantity": 40, "unitPrice": "79.90", "delivered": 40, "allocated": 0},
        ]}])
    );
    let other = app.create_campaign(&admin, "另一个项目").await;
    let d = app.ok(Some(&cw), CONTRACTS, json!({"c": other})).await;
    assert_eq!(d["contracts"], json!([]));
}

#[tokio::test]
async fn refusals_write_nothing() {
    let Setup {
        app, admin, finance, ..
    } = setup().await;
    let c = app.create_campaign(&admin, "2025 年送温暖").await;
    let sid = supplier(&app, &finance, GOOD_CODE).await;
    let (kid, lines) = contract(&app, &finance, &c, &sid, json!([line("棉被", 10, "300.00")])).await;
    let before = app.audit_count().await;
    let committed = committed_fen(&app, &c).await;

    // bad credit codes
    for bad in [
        "91350100M000100Y44",
        "91350100I000100Y43",
        "91350100M000100Y4",
        "",
    ] {
        let v = app
            .gql(
                Some(&finance),
                CREATE_SUPPLIER,
                json!({"i": {"name": "某公司", "creditCode": bad}}),
            )
            .await;
        assert_eq!(code(&v), Some("VALIDATION"), "{bad}: {v}");
        assert_eq!(v["errors"][0]["extensions"]["field"], "creditCode", "{v}");
    }
    // the same supplier twice (lower case is the same code)
    let v = app
        .gql(
            Some(&finance),
            CREATE_SUPPLIER,
            json!({"i": {"name": "同一家公司", "creditCode": GOOD_CODE.to_lowercase()}}),
        )
        .await;
    assert_eq!(code(&v), Some("CONFLICT"), "{v}");

    // contracts: no lines, delivery before signing, no after-sale terms, bad line, no supplier
    let bad_contract = |patch: Value| {
        let mut i = contract_input(&c, &sid, json!([line("棉被", 1, "300.00")]));
        for (k, v) in patch.as_object().unwrap() {
            i[k] = v.clone();
        }
        i
    };
    for (patch, field) in [
        (json!({"lines": []}), "lines"),
        (json!({"deliveryDate": "2025-01-09"}), "deliveryDate"),
        (json!({"afterSaleTerms": " "}), "afterSaleTerms"),
        (json!({"reference": ""}), "reference"),
        (json!({"lines": [line("棉被", 0, "300.00")]}), "quantity"),
        (json!({"lines": [line("棉被", 1, "-1.00")]}), "unitPrice"),
        (json!({"lines": [line("棉被", 1, "1.234")]}), "unitPrice"),
    ] {
        let v = app
            .gql(
                Some(&finance),
                CREATE_CONTRACT,
                json!({"i": bad_contract(patch.clone())}),
            )
            .await;
        assert_eq!(code(&v), Some("VALIDATION"), "{patch}: {v}");
        assert_eq!(v["errors"][0]["extensions"]["field"], field, "{patch}: {v}");
    }
    let v = app
        .gql(
            Some(&finance),
            CREATE_CONTRACT,
            json!({"i": bad_contract(json!({"supplierId": "999999"}))}),
        )
        .await;
    assert_eq!(code(&v), Some("NOT_FOUND"), "{v}");

    // over-delivery: 10 contracted
    let line_id = &lines[0];
    let v = deliver(&app, &finance, line_id, 11).await;
    assert_eq!(code(&v), Some("VALIDATION"), "{v}");
    assert_eq!(v["errors"][0]["extensions"]["field"], "quantity");
    let v = deliver(&app, &finance, line_id, 0).await;
    assert_eq!(code(&v), Some("VALIDATION"), "{v}");
    let v = deliver(&app, &finance, "999999", 1).await;
    assert_eq!(code(&v), Some("NOT_FOUND"), "{v}");

    // over-payment: 3000.00 contracted
    let v = pay(&app, &finance, &kid, "3000.01").await;
    assert_eq!(code(&v), Some("VALIDATION"), "{v}");
    assert_eq!(v["errors"][0]["extensions"]["field"], "amount");
    let v = pay(&app, &finance, &kid, "0").await;
    assert_eq!(code(&v), Some("VALIDATION"), "{v}");
    let v = pay(&app, &finance, &kid, "-5").await;
    assert_eq!(code(&v), Some("VALIDATION"), "{v}");

    assert_eq!(app.audit_count().await, before, "refusals write nothing");
    assert_eq!(committed_fen(&app, &c).await, committed);

    // what is allowed still is, up to the limit, and then no further
    let v = deliver(&app, &finance, line_id, 8).await;
    assert_eq!(v["data"]["recordDelivery"]["delivered"], 8, "{v}");
    let before = app.audit_count().await;
    let v = deliver(&app, &finance, line_id, 3).await;
    assert_eq!(code(&v), Some("VALIDATION"), "8 + 3 > 10: {v}");
    let v = pay(&app, &finance, &kid, "2000.00").await;
    assert_eq!(v["data"]["payContract"]["paid"], "2000.00", "{v}");
    let after_pay = app.audit_count().await;
    assert_eq!(after_pay, before + 2);
    let v = pay(&app, &finance, &kid, "1000.01").await;
    assert_eq!(code(&v), Some("VALIDATION"), "{v}");
    assert_eq!(app.audit_count().await, after_pay);
    assert_eq!(committed_fen(&app, &c).await, committed + 200_000);
}

#[tokio::test]
async fn a_payment_above_the_remaining_budget_is_refused() {
    let Setup {
        app, admin, finance, ..
    } = setup().await;
    let c = create_campaign_with_budget(&app, &admin, "1000.00").await;
    let sid = supplier(&app, &finance, GOOD_CODE).await;
    // a contract may be larger than the budget; paying it may not
    let (kid, _) = contract(
        &app,
        &finance,
        &c,
        &sid,
        json!([line("慰问品礼包", 50, "100.00")]),
    )
    .await;
    let before = app.audit_count().await;
    let balance = balance_fen(&app, &c).await;
    let v = pay(&app, &finance, &kid, "1000.01").await;
    assert_eq!(code(&v), Some("BUDGET_EXCEEDED"), "{v}");
    assert_eq!(app.audit_count().await, before);
    assert_eq!(committed_fen(&app, &c).await, 0);
    assert_eq!(balance_fen(&app, &c).await, balance, "nothing booked");
    let d = app.ok(Some(&finance), CONTRACTS, json!({"c": c})).await;
    assert_eq!(d["contracts"][0]["paid"], "0.00", "paid unchanged");

    let v = pay(&app, &finance, &kid, "1000.00").await;
    assert_eq!(v["data"]["payContract"]["paid"], "1000.00", "{v}");
    assert_eq!(committed_fen(&app, &c).await, 100_000);
    let before = app.audit_count().await;
    let v = pay(&app, &finance, &kid, "0.01").await;
    assert_eq!(code(&v), Some("BUDGET_EXCEEDED"), "{v}");
    assert_eq!(app.audit_count().await, before);
}

#[tokio::test]
async fn a_closed_campaign_takes_no_contracts_deliveries_or_payments() {
    let Setup {
        app, admin, finance, ..
    } = setup().await;
    let c = app.create_campaign(&admin, "2025 年送温暖").await;
    app.add_category(&admin, &c, "HARDSHIP").await;
    let sid = supplier(&app, &finance, GOOD_CODE).await;
    let (kid, lines) = contract(&app, &finance, &c, &sid, json!([line("棉被", 10, "300.00")])).await;
    app.fund(&finance, &c, "150000.00").await;
    app.advance_through(
        &admin,
        &c,
        &["SCREENING", "PROCUREMENT", "DISTRIBUTION", "REVIEW", "CLOSED"],
    )
    .await;
    let before = app.audit_count().await;
    let v = app
        .gql(
            Some(&finance),
            CREATE_CONTRACT,
            json!({"i": contract_input(&c, &sid, json!([line("棉被", 1, "300.00")]))}),
        )
        .await;
    assert_eq!(code(&v), Some("INVALID_STAGE"), "{v}");
    assert_eq!(
        code(&deliver(&app, &finance, &lines[0], 1).await),
        Some("INVALID_STAGE")
    );
    assert_eq!(
        code(&pay(&app, &finance, &kid, "100.00").await),
        Some("INVALID_STAGE")
    );
    assert_eq!(app.audit_count().await, before);
}

#[tokio::test]
async fn only_finance_and_admin_manage_procurement_and_grassroots_reads_nothing() {
    let Setup {
        app,
        admin,
        root,
        finance,
    } = setup().await;
    let c = app.create_campaign(&admin, "2025 年送温暖").await;
    // ADMIN may, too
    let sid = supplier(&app, &admin, GOOD_CODE).await;
    let (kid, lines) = contract(&app, &finance, &c, &sid, json!([line("棉被", 10, "300.00")])).await;
    let cw = app.user_token(&admin, "helpcentre", &["CASEWORKER"], &root).await;
    let g = app
        .create_org(&admin, "永定环卫所工会", "GRASSROOTS", Some(&root))
        .await;
    let gr = app.user_token(&admin, "grassroots", &["GRASSROOTS"], &g).await;
    let before = app.audit_count().await;
    for token in [&cw, &gr] {
        let v = app
            .gql(
                Some(token),
                CREATE_SUPPLIER,
                json!({"i": {"name": "某公司", "creditCode": OTHER_CODE}}),
            )
            .await;
        assert_eq!(code(&v), Some("FORBIDDEN"), "{v}");
        let v = app
            .gql(
                Some(token),
                CREATE_CONTRACT,
                json!({"i": contract_input(&c, &sid, json!([line("棉被", 1, "300.00")]))}),
            )
            .await;
        assert_eq!(code(&v), Some("FORBIDDEN"), "{v}");
        assert_eq!(code(&deliver(&app, token, &lines[0], 1).await), Some("FORBIDDEN"));
        assert_eq!(code(&pay(&app, token, &kid, "100.00").await), Some("FORBIDDEN"));
    }
    assert_eq!(app.audit_count().await, before);
    // reads: everyone but GRASSROOTS
    let v = app.gql(Some(&gr), "{suppliers{id}}", json!({})).await;
    assert_eq!(code(&v), Some("FORBIDDEN"), "{v}");
    let v = app.gql(Some(&gr), CONTRACTS, json!({"c": c})).await;
    assert_eq!(code(&v), Some("FORBIDDEN"), "{v}");
    let d = app.ok(Some(&cw), "{suppliers{id}}", json!({})).await;
    assert_eq!(d["suppliers"], json!([{"id": sid}]));
    let v = app.gql(None, "{suppliers{id}}", json!({})).await;
    assert_eq!(code(&v), Some("UNAUTHENTICATED"), "{v}");
}

async fn allocated(app: &TestApp, line: i64) -> i32 {
    contract_line::Entity::find_by_id(line)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .allocated
}

/// `allocate_line` in a change of its own, committed when it succeeds.
async fn allocate(db: &sea_orm::DatabaseConnection, campaign: i64, line: i64) -> domain::DomainResult<i32> {
    let change = Change::begin(db, None, "allocateTest").await?;
    let l = procurement::allocate_line(&change, campaign, line).await?;
    change.commit().await?;
    Ok(l.allocated)
}

#[tokio::test]
async fn allocation_never_exceeds_delivery() {
    let Setup {
        app, admin, finance, ..
    } = setup().await;
    let c = app.create_campaign(&admin, "2025 年送温暖").await;
    let other = app.create_campaign(&admin, "另一个项目").await;
    let sid = supplier(&app, &finance, GOOD_CODE).await;
    let (_, lines) = contract(
        &app,
        &finance,
        &c,
        &sid,
        json!([line("棉被", 5, "300.00"), line("大米", 5, "50.00")]),
    )
    .await;
    let (cid, line): (i64, i64) = (c.parse().unwrap(), lines[0].parse().unwrap());
    let undelivered: i64 = lines[1].parse().unwrap();
    deliver(&app, &finance, &lines[0], 2).await;

    assert_eq!(allocate(&app.db, cid, line).await.unwrap(), 1);
    assert_eq!(allocate(&app.db, cid, line).await.unwrap(), 2);
    let e = allocate(&app.db, cid, line).await.unwrap_err();
    assert_eq!(e.code(), "CONFLICT", "only 2 delivered");
    let e = allocate(&app.db, cid, undelivered).await.unwrap_err();
    assert_eq!(e.code(), "CONFLICT", "nothing delivered yet");
    let e = allocate(&app.db, other.parse().unwrap(), line).await.unwrap_err();
    assert_eq!((e.code(), e.field()), ("VALIDATION", Some("contractLineId")));
    let e = allocate(&app.db, cid, 999_999).await.unwrap_err();
    assert_eq!((e.code(), e.field()), ("VALIDATION", Some("contractLineId")));
    assert_eq!(allocated(&app, line).await, 2);

    // a cancelled GOODS disbursement gives its unit back, never below zero
    let change = Change::begin(&app.db, None, "releaseTest").await.unwrap();
    procurement::release_line(&change, line).await.unwrap();
    change.commit().await.unwrap();
    assert_eq!(allocated(&app, line).await, 1);
    let change = Change::begin(&app.db, None, "releaseTest").await.unwrap();
    let e = procurement::release_line(&change, undelivered).await.unwrap_err();
    assert_eq!(e.code(), "CONFLICT");
    drop(change);
    assert_eq!(allocated(&app, undelivered).await, 0);

    // the contract read shows it
    let d = app.ok(Some(&finance), CONTRACTS, json!({"c": c})).await;
    assert_eq!(d["contracts"][0]["lines"][0]["allocated"], 1);
    assert_eq!(d["contracts"][0]["lines"][0]["delivered"], 2);
}

#[tokio::test]
async fn concurrent_allocations_stop_at_the_delivered_count() {
    let Setup {
        app, admin, finance, ..
    } = setup().await;
    let c = app.create_campaign(&admin, "2025 年送温暖").await;
    let sid = supplier(&app, &finance, GOOD_CODE).await;
    let (_, lines) = contract(&app, &finance, &c, &sid, json!([line("棉被", 20, "300.00")])).await;
    deliver(&app, &finance, &lines[0], 3).await;
    let (cid, line): (i64, i64) = (c.parse().unwrap(), lines[0].parse().unwrap());

    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let db = app.db.clone();
            tokio::spawn(async move { allocate(&db, cid, line).await })
        })
        .collect();
    let mut ok = 0;
    let mut conflicts = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => {
                assert_eq!(e.code(), "CONFLICT", "{e:?}");
                conflicts += 1;
            }
        }
    }
    assert_eq!((ok, conflicts), (3, 7));
    assert_eq!(allocated(&app, line).await, 3);
}
