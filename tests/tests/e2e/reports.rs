//! Reports (issue 12, point 5): `generateReport` queues a REPORT job, the worker writes the
//! file, `report(id)` shows it DONE with a `downloadUrl`, and `GET /files/{id}` serves it to a
//! token that may read it. The evaluation report (DOCX, Markdown) of the 2025 campaign loaded
//! by the demo is unzipped and read; the ledger and the provincial export are read back with
//! calamine; the permission rules of both the mutation and the download are walked.
use calamine::{Data, Reader, Xlsx};
use serde_json::{Value, json};
use songnuan_tests::{TestApp, code, id_number};
use std::io::{Cursor, Read};
use std::time::{Duration, Instant};

const GENERATE: &str = "mutation($c:ID!,$k:ReportKind!,$f:ReportFormat!){generateReport(campaignId:$c,kind:$k,format:$f){id kind format status downloadUrl error}}";
const REPORT: &str = "query($id:ID!){report(id:$id){id kind format status downloadUrl error}}";

/// Queues a report and returns its id (asserting it starts QUEUED).
async fn generate(app: &TestApp, token: &str, campaign: &str, kind: &str, format: &str) -> String {
    let d = app
        .ok(
            Some(token),
            GENERATE,
            json!({"c": campaign, "k": kind, "f": format}),
        )
        .await;
    let r = &d["generateReport"];
    assert_eq!(r["status"], "QUEUED", "{r}");
    assert_eq!(r["kind"], kind);
    assert_eq!(r["format"], format);
    assert!(r["downloadUrl"].is_null());
    r["id"].as_str().unwrap().to_string()
}

/// Polls `report(id)` until DONE or FAILED (at most 60 s).
async fn finished(app: &TestApp, token: &str, id: &str) -> Value {
    let start = Instant::now();
    loop {
        let d = app.ok(Some(token), REPORT, json!({"id": id})).await;
        let r = d["report"].clone();
        if r["status"] == "DONE" || r["status"] == "FAILED" {
            return r;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "report still {r}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn get_file(app: &TestApp, token: Option<&str>, url: &str) -> reqwest::Response {
    let mut req = app.http.get(format!("{}{}", app.base, url));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.expect("send")
}

/// Generates, waits for DONE, downloads: (bytes, content type, content disposition).
async fn produce(
    app: &TestApp,
    token: &str,
    campaign: &str,
    kind: &str,
    format: &str,
) -> (String, Vec<u8>, String, String) {
    let id = generate(app, token, campaign, kind, format).await;
    let r = finished(app, token, &id).await;
    assert_eq!(r["status"], "DONE", "{r}");
    let url = r["downloadUrl"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_string();
    assert_eq!(url, format!("/files/{id}"));
    let resp = get_file(app, Some(token), &url).await;
    assert_eq!(resp.status(), 200);
    let header = |n: &str| {
        resp.headers()
            .get(n)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    let (ct, cd) = (header("content-type"), header("content-disposition"));
    let bytes = resp.bytes().await.unwrap().to_vec();
    (id, bytes, ct, cd)
}

fn zip_text(bytes: &[u8], name: &str) -> String {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut s = String::new();
    zip.by_name(name).unwrap().read_to_string(&mut s).unwrap();
    s
}

fn zip_names(bytes: &[u8]) -> Vec<String> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    (0..zip.len())
        .map(|i| zip.by_index(i).unwrap().name().unwrap().to_string())
        .collect()
}

/// The visible text of a WordprocessingML part: the contents of its `<w:t>` elements.
fn texts(xml: &str) -> String {
    let mut out = String::new();
    for piece in xml.split("<w:t").skip(1) {
        if let Some(start) = piece.find('>')
            && let Some(end) = piece.find("</w:t>")
            && start < end
        {
            out.push_str(&piece[start + 1..end]);
        }
        out.push('\n');
    }
    out
}

/// The demo's 2025 campaign (REVIEW, everything paid) and an EVALUATOR's token.
async fn demo_campaign(app: &TestApp) -> (String, String) {
    let data = domain::demo::parse(domain::demo::FUMIN_2025).unwrap();
    let services = domain::Services::new(app.db.clone(), std::sync::Arc::new(app.settings.clone()));
    let s = domain::demo::load(&services, &data, Some(domain::demo::FUMIN_2025_RECIPIENTS))
        .await
        .unwrap();
    let evaluator = app.login("evaluator", &data.demo_password).await;
    (s.campaign_id.to_string(), evaluator)
}

/// `api demo` (issue 12, point 6): the data file's `[[campaign.reports]]` are asked for as the
/// users it names, so a new user finds the evaluation report and the ledger ready to download;
/// the payments' notices are sent by the same jobs. Nothing here names a report the test
/// asked for itself: every id comes from the demo.
#[tokio::test]
async fn the_demo_leaves_its_reports_ready_to_download_and_its_notices_sent() {
    let app = TestApp::spawn().await;
    let data = domain::demo::parse(domain::demo::FUMIN_2025).unwrap();
    let services = domain::Services::new(app.db.clone(), std::sync::Arc::new(app.settings.clone()));
    let s = domain::demo::load(&services, &data, Some(domain::demo::FUMIN_2025_RECIPIENTS))
        .await
        .unwrap();
    let asked: Vec<(String, String)> = data
        .campaign
        .reports
        .iter()
        .map(|r| (r.kind.clone(), r.format.clone()))
        .collect();
    assert!(
        asked.contains(&("EVALUATION_REPORT".into(), "DOCX".into())),
        "{asked:?}"
    );
    assert_eq!(s.reports.len(), asked.len());
    let evaluator = app.login("evaluator", &data.demo_password).await;
    let grassroots = app.login("yongding", &data.demo_password).await;
    for (id, (kind, format)) in s.reports.iter().zip(&asked) {
        let id = id.to_string();
        let r = finished(&app, &evaluator, &id).await;
        assert_eq!(r["status"], "DONE", "{r}");
        assert_eq!((&r["kind"], &r["format"]), (&json!(kind), &json!(format)));
        let url = r["downloadUrl"].as_str().unwrap().to_string();
        let resp = get_file(&app, Some(&evaluator), &url).await;
        assert_eq!(resp.status(), 200, "{kind} {format}");
        let bytes = resp.bytes().await.unwrap();
        if format == "DOCX" {
            assert!(texts(&zip_text(&bytes, "word/document.xml")).contains("一、基本情况"));
        }
        // A union that may not read the money gets no file.
        assert_ne!(get_file(&app, Some(&grassroots), &url).await.status(), 200);
    }
    // One notice per payment, and every SMS among them sent by the demo's jobs.
    let start = Instant::now();
    loop {
        let o = domain::demo::outcome(&services, s.campaign_id, &s.reports)
            .await
            .unwrap();
        let total: i64 = o.notices.iter().map(|(_, _, n)| n).sum();
        assert_eq!(total, 252, "{:?}", o.notices);
        let sms_pending: i64 = o
            .notices
            .iter()
            .filter(|(c, st, _)| c == "SMS" && st == "PENDING")
            .map(|(_, _, n)| n)
            .sum();
        let sms_sent: i64 = o
            .notices
            .iter()
            .filter(|(c, st, _)| c == "SMS" && (st == "SENT" || st == "DELIVERED"))
            .map(|(_, _, n)| n)
            .sum();
        if sms_pending == 0 {
            assert!(sms_sent > 0, "{:?}", o.notices);
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "{:?}", o.notices);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn the_evaluation_report_as_docx_has_the_seven_parts_the_figures_the_chart_and_the_layout() {
    let app = TestApp::spawn().await;
    let (campaign, evaluator) = demo_campaign(&app).await;
    let admin = app.admin().await;
    // The figures the report must print, as the API states them.
    let c = app
        .ok(
            Some(&admin),
            "query($id:ID!){campaign(id:$id){budget categories{name plannedCount servedCount}}}",
            json!({"id": campaign}),
        )
        .await;
    let budget = c["campaign"]["budget"].as_str().unwrap().to_string();
    let (id, bytes, ct, cd) = produce(&app, &evaluator, &campaign, "EVALUATION_REPORT", "DOCX").await;
    assert_eq!(
        ct,
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    );
    assert!(cd.starts_with("attachment;"), "{cd}");
    // RFC 5987: the UTF-8 name percent-encoded ("绩效评价报告" is in it).
    assert!(cd.contains("filename*=UTF-8''"), "{cd}");
    assert!(
        cd.contains("%E7%BB%A9%E6%95%88%E8%AF%84%E4%BB%B7%E6%8A%A5%E5%91%8A"),
        "{cd}"
    );
    assert!(cd.ends_with(".docx"), "{cd}");

    let xml = zip_text(&bytes, "word/document.xml");
    let text = texts(&xml);
    let mut at = 0;
    for part in [
        "一、基本情况",
        "二、绩效评价工作开展情况",
        "三、综合评价情况及评价结论",
        "四、绩效评价指标分析",
        "五、主要经验及做法",
        "六、存在的问题及原因分析",
        "七、相关建议",
    ] {
        let pos = text[at..]
            .find(part)
            .unwrap_or_else(|| panic!("{part} missing or out of order"));
        at += pos;
    }
    // Figures from the data: the budget, the execution rate, every category with its plan and
    // what was served.
    assert!(text.contains(&format!("项目预算{budget}元")), "budget");
    assert!(text.contains("预算执行率为100.00%"));
    for k in c["campaign"]["categories"].as_array().unwrap() {
        let name = k["name"].as_str().unwrap();
        let planned = k["plannedCount"].as_i64().unwrap();
        let served = k["servedCount"].as_i64().unwrap();
        assert!(
            text.contains(&format!("计划慰问{name}{planned}")) && text.contains(&format!("实际慰问{served}")),
            "{name} {planned}/{served}"
        );
    }
    // The indicator table in the 一级/二级 指标 · 分值 · 得分 form.
    for h in [
        "一级指标",
        "二级指标",
        "分值",
        "得分",
        "预算执行率",
        "产出指标",
        "满意度指标",
    ] {
        assert!(text.contains(h), "{h}");
    }
    // The chart: a PNG part, referenced from the body.
    let names = zip_names(&bytes);
    let png = names
        .iter()
        .find(|n| n.starts_with("word/media/") && n.ends_with(".png"))
        .expect("an image part");
    let mut zip = zip::ZipArchive::new(Cursor::new(&bytes[..])).unwrap();
    let mut head = [0u8; 8];
    zip.by_name(png).unwrap().read_exact(&mut head).unwrap();
    assert_eq!(&head[..4], b"\x89PNG");
    assert!(
        xml.contains("<pic:pic") || xml.contains("a:graphic"),
        "image drawn in the body"
    );
    // Page numbers: a PAGE field in the footers, between dashes.
    let footers: Vec<String> = names
        .iter()
        .filter(|n| n.starts_with("word/footer"))
        .map(|n| zip_text(&bytes, n))
        .collect();
    assert_eq!(footers.len(), 2, "odd and even footers");
    for f in &footers {
        assert!(f.contains(">PAGE<") || f.contains("PAGE"), "{f}");
        assert!(texts(f).contains("— "), "{f}");
    }
    assert!(zip_text(&bytes, "word/settings.xml").contains("evenAndOddHeaders"));
    // Fonts: 仿宋 body, 黑体 and 楷体 headings, 小标宋 title (宋体 its alternative).
    let styles = zip_text(&bytes, "word/styles.xml");
    for f in [
        "w:eastAsia=\"仿宋\"",
        "w:eastAsia=\"黑体\"",
        "w:eastAsia=\"楷体\"",
        "w:eastAsia=\"方正小标宋简体\"",
    ] {
        assert!(styles.contains(f), "{f}");
    }
    assert!(styles.contains("w:val=\"44\""), "title 22 pt");
    assert!(styles.contains("w:val=\"32\""), "body 16 pt");
    let font_table = zip_text(&bytes, "word/fontTable.xml");
    assert!(font_table.contains("w:name=\"方正小标宋简体\"><w:altName w:val=\"宋体\""));
    // A4, margins 37/28/26/35 mm, 22 lines.
    assert!(
        xml.contains("w:w=\"11906\"") && xml.contains("w:h=\"16838\""),
        "A4"
    );
    for m in [
        "w:top=\"2098\"",
        "w:left=\"1587\"",
        "w:right=\"1474\"",
        "w:bottom=\"1984\"",
    ] {
        assert!(xml.contains(m), "{m}");
    }
    assert!(xml.contains("w:linePitch=\"579\""), "22 lines");
    // The job was a REPORT job, listed by `jobs`.
    let jobs = app
        .ok(
            Some(&admin),
            "{jobs(kind:\"REPORT\"){edges{node{status target}}}}",
            json!({}),
        )
        .await;
    let target = format!("report:{id}");
    assert!(
        jobs["jobs"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["node"]["target"] == target.as_str() && e["node"]["status"] == "DONE")
    );
}

#[tokio::test]
async fn the_evaluation_report_as_markdown_has_the_seven_parts_and_the_table() {
    let app = TestApp::spawn().await;
    let (campaign, evaluator) = demo_campaign(&app).await;
    let (_, bytes, ct, cd) = produce(&app, &evaluator, &campaign, "EVALUATION_REPORT", "MARKDOWN").await;
    assert_eq!(ct, "text/markdown; charset=utf-8");
    assert!(cd.ends_with(".md"), "{cd}");
    let md = String::from_utf8(bytes).unwrap();
    for part in [
        "## 一、基本情况",
        "## 二、绩效评价工作开展情况",
        "## 三、综合评价情况及评价结论",
        "## 四、绩效评价指标分析",
        "## 五、主要经验及做法",
        "## 六、存在的问题及原因分析",
        "## 七、相关建议",
    ] {
        assert!(md.contains(&format!("\n{part}\n")), "{part}");
    }
    assert!(md.contains("| 慰问类别 | 计划 | 实际 | 完成率 | 标准（元） | 支出（元） |"));
    assert!(md.contains("| 一级指标 | 二级指标 | 分值 | 得分 | 说明 |"));
    assert!(md.contains("](data:image/png;base64,"), "the chart inline");
}

/// A campaign in DISTRIBUTION with one person named "=1+1" paid 500.00 (and one more paid
/// 300.00), ready for the workbooks. Returns (admin, caseworker, finance, campaign).
async fn paid_campaign(app: &TestApp) -> (String, String, String, String) {
    let admin = app.admin().await;
    let root = app.root_org(&admin).await;
    let caseworker = app
        .user_token(&admin, "caseworker1", &["CASEWORKER"], &root)
        .await;
    let finance = app.user_token(&admin, "finance1", &["FINANCE"], &root).await;
    let campaign = app.screening_campaign(&admin).await;
    let mut ids = Vec::new();
    for (n, name, category) in [(1u32, "=1+1", "HARDSHIP"), (2, "李四", "FRONTLINE")] {
        let d = app
            .ok(
                Some(&caseworker),
                "mutation($i:NominateInput!){nominateRecipient(input:$i){id}}",
                json!({"i": {"campaignId": campaign, "categoryCode": category, "kind": "PERSON", "name": name,
                             "idNumber": id_number(n), "phone": format!("1380000{n:04}"),
                             "bankName": "富民县农村信用社", "bankAccount": format!("62170000000000{n:04}"),
                             "nominatedById": root}}),
            )
            .await;
        let id = d["nominateRecipient"]["id"].as_str().unwrap().to_string();
        app.ok(
            Some(&caseworker),
            "mutation($id:ID!){verifyRecipient(id:$id,method:HOME_VISIT){id}}",
            json!({"id": id}),
        )
        .await;
        ids.push(id);
    }
    app.advance(&admin, &campaign, "PROCUREMENT").await;
    app.fund(&finance, &campaign, "150000.00").await;
    app.advance(&admin, &campaign, "DISTRIBUTION").await;
    app.pay_cash(
        &caseworker,
        &finance,
        &ids[0],
        "500.00",
        "BANK-0001",
        "2025-01-20",
    )
    .await;
    app.pay_cash(
        &caseworker,
        &finance,
        &ids[1],
        "300.00",
        "BANK-0002",
        "2025-01-21",
    )
    .await;
    (admin, caseworker, finance, campaign)
}

fn sheet(bytes: &[u8], name: &str) -> calamine::Range<Data> {
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes.to_vec())).unwrap();
    book.worksheet_range(name).unwrap()
}

#[tokio::test]
async fn the_ledger_has_numeric_money_with_two_decimals_and_formula_looking_names_as_text() {
    let app = TestApp::spawn().await;
    let (_, _, finance, campaign) = paid_campaign(&app).await;
    let (_, bytes, ct, _) = produce(&app, &finance, &campaign, "LEDGER", "XLSX").await;
    assert_eq!(
        ct,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes.clone())).unwrap();
    let names = book.sheet_names();
    for s in ["汇总", "发放明细", "资金到位", "政府采购"] {
        assert!(names.iter().any(|n| n == s), "{s} in {names:?}");
    }
    // One sheet per category (the demo's seven).
    assert_eq!(names.len(), 4 + 7, "{names:?}");
    let details = sheet(&bytes, "发放明细");
    let rows: Vec<&[Data]> = details.rows().collect();
    assert_eq!(rows.len(), 3, "header and two payments");
    assert_eq!(
        rows[1][2],
        Data::String("=1+1".into()),
        "a name is a string, never a formula"
    );
    assert_eq!(rows[1][10], Data::Float(500.0), "money is a number");
    assert_eq!(rows[2][10], Data::Float(300.0));
    // Personal data masked.
    let id1 = id_number(1);
    assert_eq!(
        rows[1][4],
        Data::String(format!("{}**********{}", &id1[..4], &id1[14..]))
    );
    assert_eq!(rows[1][7], Data::String("**** 0001".into()));
    // The category sheet of 困难职工 lists the "=1+1" payment.
    let hardship = names.iter().find(|n| n.starts_with("困难职工")).unwrap().clone();
    let h = sheet(&bytes, &hardship);
    assert_eq!(h.rows().count(), 2);
    // Funding is a number too, and the summary's figures.
    let funding = sheet(&bytes, "资金到位");
    assert_eq!(funding.rows().nth(1).unwrap()[2], Data::Float(150000.0));
    // Every money cell carries the "0.00" format; no cell anywhere is a formula.
    let styles = zip_text(&bytes, "xl/styles.xml");
    assert!(styles.contains("formatCode=\"0.00\""), "{styles}");
    for n in zip_names(&bytes)
        .iter()
        .filter(|n| n.starts_with("xl/worksheets/sheet"))
    {
        let x = zip_text(&bytes, n);
        assert!(!x.contains("<f>") && !x.contains("<f "), "a formula in {n}");
    }
    let details_xml = zip_names(&bytes)
        .into_iter()
        .filter(|n| n.starts_with("xl/worksheets/sheet"))
        .map(|n| zip_text(&bytes, &n))
        .find(|x| x.contains("=1+1") || x.contains("BANK-0001"))
        .expect("the details sheet");
    // The amount cell K2 is a number cell (no t="s"/"str"/"inlineStr") with a style (the format).
    let k2 = details_xml.split("<c r=\"K2\"").nth(1).unwrap();
    let k2 = &k2[..k2.find("</c>").unwrap()];
    assert!(
        !k2.contains(" t=\"") && k2.contains(" s=\"") && k2.contains("<v>500</v>"),
        "{k2}"
    );
}

#[tokio::test]
async fn the_provincial_export_is_for_roles_that_may_reveal_and_every_download_is_audited() {
    let app = TestApp::spawn().await;
    let (admin, caseworker, _, campaign) = paid_campaign(&app).await;
    let root = app.root_org(&admin).await;
    let evaluator = app.user_token(&admin, "evaluator1", &["EVALUATOR"], &root).await;
    let auditor = app.user_token(&admin, "auditor1", &["AUDITOR"], &root).await;
    let before = app.audit_count().await;
    for t in [&evaluator, &auditor] {
        let v = app
            .gql(
                Some(t),
                GENERATE,
                json!({"c": campaign, "k": "PROVINCIAL_EXPORT", "f": "XLSX"}),
            )
            .await;
        assert_eq!(code(&v), Some("FORBIDDEN"), "{v}");
    }
    assert_eq!(app.audit_count().await, before, "refusals write nothing");
    // A wrong format for the kind.
    let v = app
        .gql(
            Some(&caseworker),
            GENERATE,
            json!({"c": campaign, "k": "PROVINCIAL_EXPORT", "f": "DOCX"}),
        )
        .await;
    assert_eq!(code(&v), Some("VALIDATION"), "{v}");
    let (id, bytes, _, _) = produce(&app, &caseworker, &campaign, "PROVINCIAL_EXPORT", "XLSX").await;
    let s = sheet(&bytes, "待录入");
    let rows: Vec<&[Data]> = s.rows().collect();
    assert_eq!(rows.len(), 3, "both payments are due for entry");
    assert_eq!(rows[0][6], Data::String("身份证号".into()));
    assert_eq!(rows[1][5], Data::String("=1+1".into()));
    assert_eq!(rows[1][6], Data::String(id_number(1)), "the ID number in clear");
    assert_eq!(rows[1][9], Data::String("621700000000000001".into()));
    assert_eq!(rows[1][12], Data::Float(500.0));
    // The generation and the download are in the audit log.
    let log = app
        .ok(
            Some(&admin),
            "query($id:String){auditLog(targetType:\"Report\",targetId:$id){edges{node{action}}}}",
            json!({"id": id}),
        )
        .await;
    let actions: Vec<&str> = log["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, vec!["downloadReport", "generateReport"], "newest first");
    // Neither the evaluator nor the auditor may read it or download it.
    for t in [&evaluator, &auditor] {
        let v = app.gql(Some(t), REPORT, json!({"id": id})).await;
        assert_eq!(code(&v), Some("FORBIDDEN"), "{v}");
        let resp = get_file(&app, Some(t), &format!("/files/{id}")).await;
        assert_eq!(resp.status(), 403);
    }
}

#[tokio::test]
async fn downloads_need_a_token_that_may_read_the_campaign() {
    let app = TestApp::spawn().await;
    let (admin, _, finance, campaign) = paid_campaign(&app).await;
    let root = app.root_org(&admin).await;
    let (id, _, _, _) = produce(&app, &finance, &campaign, "LEDGER", "XLSX").await;
    let url = format!("/files/{id}");
    // No token, a bad token: 401 in the contract's shape.
    let resp = get_file(&app, None, &url).await;
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(code(&body), Some("UNAUTHENTICATED"));
    assert_eq!(get_file(&app, Some("not-a-token"), &url).await.status(), 401);
    // A grassroots union elsewhere cannot see the campaign: as if there were no report.
    let towns = app.two_towns(&admin, &root).await;
    let grassroots = app
        .user_token(&admin, "grassroots1", &["GRASSROOTS"], &towns.g1)
        .await;
    let hidden = app
        .ok(
            Some(&admin),
            "mutation($i:CreateCampaignInput!){createCampaign(input:$i){id}}",
            json!({"i": {"name": "大营街道内部慰问", "year": 2025, "budget": "1000.00", "startsOn": "2025-01-15",
                         "deadline": "2025-01-28", "organizationId": towns.t2}}),
        )
        .await["createCampaign"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (hidden_report, _, _, _) = produce(&app, &finance, &hidden, "LEDGER", "XLSX").await;
    let resp = get_file(&app, Some(&grassroots), &format!("/files/{hidden_report}")).await;
    assert_eq!(resp.status(), 404);
    let v = app
        .gql(Some(&grassroots), REPORT, json!({"id": hidden_report}))
        .await;
    assert!(v["data"]["report"].is_null(), "{v}");
    // The county campaign it may see, but a ledger is money: refused.
    assert_eq!(get_file(&app, Some(&grassroots), &url).await.status(), 403);
    let v = app
        .gql(
            Some(&grassroots),
            GENERATE,
            json!({"c": campaign, "k": "LEDGER", "f": "XLSX"}),
        )
        .await;
    assert_eq!(code(&v), Some("FORBIDDEN"));
    // The auditor reads all: it downloads the ledger the finance office generated.
    let auditor = app.user_token(&admin, "auditor1", &["AUDITOR"], &root).await;
    assert_eq!(get_file(&app, Some(&auditor), &url).await.status(), 200);
    // An unknown file.
    assert_eq!(get_file(&app, Some(&admin), "/files/999999").await.status(), 404);
}

#[tokio::test]
async fn a_report_that_cannot_be_written_fails_with_its_reason() {
    let app = TestApp::spawn_with(&[("SONGNUAN_JOB_BACKOFF_MS", "10")]).await;
    let (_, _, finance, campaign) = paid_campaign(&app).await;
    // A file where the reports folder should be: nothing can be written under it.
    std::fs::write(app.dir.join("reports"), b"not a folder").unwrap();
    let id = generate(&app, &finance, &campaign, "LEDGER", "XLSX").await;
    let r = finished(&app, &finance, &id).await;
    assert_eq!(r["status"], "FAILED", "{r}");
    assert!(r["error"].as_str().is_some_and(|e| !e.is_empty()), "{r}");
    assert!(r["downloadUrl"].is_null());
    assert_eq!(
        get_file(&app, Some(&finance), &format!("/files/{id}"))
            .await
            .status(),
        404
    );
}
