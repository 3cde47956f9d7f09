//! `importRecipients`: xlsx, UTF-8 csv and GBK csv with the same rows give the same exact
//! counts and row numbers; scope, stage and size limits apply; nothing half-written.
use serde_json::{Value, json};
use songnuan_tests::{TestApp, code, id_number};

/// Header (row 1) and rows 2..: the cases the acceptance list names.
fn rows(existing: &str, org: &str) -> Vec<Vec<String>> {
    let bad_check = {
        let id = id_number(503);
        let wrong = if id.ends_with('0') { '1' } else { '0' };
        format!("{}{wrong}", &id[..17])
    };
    let p = |code: &str, name: &str, id: &str, org: &str| {
        vec![
            code.into(),
            "个人".into(),
            name.into(),
            id.into(),
            "13800138000".into(),
            "农业银行".into(),
            "6228480012345678".into(),
            org.into(),
        ]
    };
    vec![
        vec![
            "类别编码",
            "类型",
            "姓名",
            "身份证号",
            "手机号",
            "开户行",
            "银行账号",
            "推荐单位",
        ]
        .into_iter()
        .map(String::from)
        .collect(),
        p("HARDSHIP", "张一", &id_number(501), org),  // 2 ok
        p("FRONTLINE", "张二", &id_number(502), org), // 3 ok
        p("HARDSHIP", "张三", &id_number(501), org),  // 4 duplicate of row 2
        p("HARDSHIP", "张四", existing, org),         // 5 already in the campaign
        p("HARDSHIP", "张五", &bad_check, org),       // 6 bad check digit
        p("NO_SUCH", "张六", &id_number(506), org),   // 7 unknown category
        p("HARDSHIP", "张七", &id_number(507), "不存在的工会"), // 8 unknown organisation
        vec![
            "SERVICE_DEPT".into(),
            "单位".into(),
            "富民县融媒体中心".into(),
            "".into(),
            "".into(),
            "".into(),
            "".into(),
            org.into(),
        ], // 9 ok (unit)
        p("INJURED", "张九", &id_number(509).to_lowercase(), org), // 10 ok (lower-case x accepted)
    ]
}

fn expected() -> Vec<(i64, &'static str)> {
    vec![
        (4, "id_number"),
        (5, "id_number"),
        (6, "id_number"),
        (7, "category_code"),
        (8, "nominated_by"),
    ]
}

fn csv_text(rows: &[Vec<String>]) -> String {
    rows.iter().map(|r| r.join(",")).collect::<Vec<_>>().join("\r\n") + "\r\n"
}

fn xlsx(rows: &[Vec<String>]) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            if !v.is_empty() {
                ws.write_string(r as u32, c as u16, v).unwrap();
            }
        }
    }
    wb.save_to_buffer().unwrap()
}

async fn setup(app: &TestApp) -> (String, String, String) {
    let admin = app.admin().await;
    let root = app.root_org(&admin).await;
    let c = app.screening_campaign(&admin).await;
    app.ok(
        Some(&admin),
        "mutation($i:NominateInput!){nominateRecipient(input:$i){id}}",
        json!({"i": {"campaignId": c, "categoryCode": "HARDSHIP", "kind": "PERSON", "name": "已登记", "idNumber": id_number(500), "nominatedById": root}}),
    )
    .await;
    (admin, root, c)
}

fn check(v: &Value) {
    let r = &v["data"]["importRecipients"];
    assert_eq!(r["imported"], 4, "{v}");
    assert_eq!(r["rejected"], 5, "{v}");
    let got: Vec<(i64, String)> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["row"].as_i64().unwrap(),
                e["field"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let want: Vec<(i64, String)> = expected().into_iter().map(|(r, f)| (r, f.to_string())).collect();
    assert_eq!(got, want, "{v}");
    for e in r["errors"].as_array().unwrap() {
        let m = e["message"].as_str().unwrap();
        assert!(
            !m.is_empty() && !m.contains(&id_number(501)) && !m.contains("6228480012345678"),
            "{m}"
        );
    }
    assert!(
        r["errors"][0]["message"].as_str().unwrap().contains("第 2 行"),
        "in-file duplicate names the first row"
    );
}

async fn run(name: &str, bytes: impl Fn(&[Vec<String>]) -> Vec<u8>) {
    let app = TestApp::spawn().await;
    let (admin, _root, c) = setup(&app).await;
    let federation = app.ok(Some(&admin), "{me{organization{name}}}", json!({})).await["me"]["organization"]
        ["name"]
        .as_str()
        .unwrap()
        .to_string();
    let data = rows(&id_number(500), &federation);
    let before = app.audit_count().await;
    let v = app.import(&admin, &c, name, bytes(&data)).await;
    check(&v);
    assert_eq!(app.audit_count().await, before + 1, "one audit entry per import");
    let d = app
        .ok(
            Some(&admin),
            "query($c:ID!){recipients(campaignId:$c){totalCount edges{node{name idNumberMasked}}}}",
            json!({"c": c}),
        )
        .await;
    assert_eq!(d["recipients"]["totalCount"], 5, "1 existing + 4 imported");
    let names: Vec<&str> = d["recipients"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["已登记", "张一", "张二", "富民县融媒体中心", "张九"]);
    // importing the same file again: every row is now a duplicate (or invalid), nothing added
    let v = app.import(&admin, &c, name, bytes(&data)).await;
    assert_eq!(v["data"]["importRecipients"]["imported"], 0, "{v}");
    assert_eq!(v["data"]["importRecipients"]["rejected"], 9);
}

#[tokio::test]
async fn xlsx_import_reports_exact_rows() {
    run("对象.xlsx", xlsx).await;
}

#[tokio::test]
async fn utf8_csv_import_reports_exact_rows() {
    run("对象.csv", |r| format!("\u{feff}{}", csv_text(r)).into_bytes()).await;
    run("objects.csv", |r| csv_text(r).into_bytes()).await;
}

#[tokio::test]
async fn gbk_csv_import_reports_exact_rows() {
    run("对象.csv", |r| {
        encoding_rs::GBK.encode(&csv_text(r)).0.into_owned()
    })
    .await;
}

#[tokio::test]
async fn english_headers_work_too() {
    let app = TestApp::spawn().await;
    let (admin, _root, c) = setup(&app).await;
    let org = app.ok(Some(&admin), "{me{organization{name}}}", json!({})).await["me"]["organization"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let text = format!(
        "name,id_number,category_code,kind,nominated_by,phone,bank_name,bank_account\n王五,{},HARDSHIP,PERSON,{org},,,\n",
        id_number(600)
    );
    let v = app.import(&admin, &c, "en.csv", text.into_bytes()).await;
    assert_eq!(v["data"]["importRecipients"]["imported"], 1, "{v}");
}

#[tokio::test]
async fn bad_files_stage_scope_and_size() {
    let app = TestApp::spawn().await;
    let (admin, root, c) = setup(&app).await;
    let before = app.audit_count().await;
    // not a spreadsheet, a missing header, an empty file: VALIDATION on "file", nothing written
    for (name, bytes) in [
        ("x.xlsx", b"PK\x03\x04 definitely not a zip".to_vec()),
        ("x.csv", "姓名,手机号\n张三,13800138000\n".as_bytes().to_vec()),
        ("x.csv", Vec::new()),
    ] {
        let v = app.import(&admin, &c, name, bytes).await;
        assert_eq!(code(&v), Some("VALIDATION"), "{v}");
        assert_eq!(v["errors"][0]["extensions"]["field"], "file");
    }
    assert_eq!(app.audit_count().await, before);

    // GRASSROOTS imports only for its subtree
    let t1 = app
        .create_org(&admin, "永定街道工会联合会", "TOWN_FEDERATION", Some(&root))
        .await;
    app.create_org(&admin, "大营街道工会联合会", "TOWN_FEDERATION", Some(&root))
        .await;
    let gr = app.user_token(&admin, "yongding", &["GRASSROOTS"], &t1).await;
    let text = format!(
        "类别编码,类型,姓名,身份证号,推荐单位\nHARDSHIP,个人,甲,{},永定街道工会联合会\nHARDSHIP,个人,乙,{},大营街道工会联合会\n",
        id_number(700),
        id_number(701)
    );
    let v = app.import(&gr, &c, "g.csv", text.into_bytes()).await;
    assert_eq!(v["data"]["importRecipients"]["imported"], 1, "{v}");
    assert_eq!(v["data"]["importRecipients"]["errors"][0]["row"], 3);
    assert_eq!(
        v["data"]["importRecipients"]["errors"][0]["field"],
        "nominated_by"
    );

    // FINANCE may not import
    let fin = app.user_token(&admin, "finance", &["FINANCE"], &root).await;
    let v = app.import(&fin, &c, "g.csv", b"a".to_vec()).await;
    assert_eq!(code(&v), Some("FORBIDDEN"));

    // over 20 MB: refused before it is read
    let big = vec![b'a'; 21 * 1024 * 1024];
    let form = reqwest::multipart::Form::new()
        .text("operations", json!({"query": "mutation($c:ID!,$f:Upload!){importRecipients(campaignId:$c,file:$f){imported}}", "variables": {"c": c, "f": null}}).to_string())
        .text("map", json!({"0": ["variables.f"]}).to_string())
        .part("0", reqwest::multipart::Part::bytes(big).file_name("big.csv"));
    let r = app
        .http
        .post(format!("{}/graphql", app.base))
        .bearer_auth(&admin)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);

    // after SCREENING no more imports
    app.advance(&admin, &c, "PROCUREMENT").await;
    let v = app.import(&admin, &c, "g.csv", b"x".to_vec()).await;
    assert_eq!(code(&v), Some("INVALID_STAGE"));
}
