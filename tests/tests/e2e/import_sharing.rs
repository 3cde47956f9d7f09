//! Imports that share the database (issue 13, point 2): a large import commits in batches, so
//! another writer waits for one batch, not for the file; a nomination that lands between two
//! batches still leaves one recipient per ID number; every batch's rows are named in the audit
//! log and the counters match the rows; a file over a limit is refused before a row is written.
use serde_json::{Value, json};
use songnuan_tests::{TestApp, code};
use std::time::{Duration, Instant};

/// Test person `n` (n < 15,000,000): a valid ID number of its own.
fn person_id(n: u32) -> String {
    let birth =
        chrono::NaiveDate::from_ymd_opt(1960, 1, 1).unwrap() + chrono::Duration::days((n % 15000) as i64);
    domain::identity::make_id_number(530124, birth, (n / 15000) % 1000)
}

/// A UTF-8 csv of `n` people nominated by `org`, in HARDSHIP and FRONTLINE alternately;
/// `bad` rows (0-based) get a wrong check digit. Data row `i` is spreadsheet row `i + 2`.
fn people_csv(n: u32, org: &str, bad: &[u32]) -> Vec<u8> {
    let mut text = String::from("类别编码,类型,姓名,身份证号,手机号,推荐单位\n");
    for i in 0..n {
        let mut id = person_id(i);
        if bad.contains(&i) {
            let last = if id.ends_with('0') { '1' } else { '0' };
            id = format!("{}{last}", &id[..17]);
        }
        let code = if i % 2 == 0 { "HARDSHIP" } else { "FRONTLINE" };
        text.push_str(&format!(
            "{code},个人,职工{i},{id},1380013{:04},{org}\n",
            i % 10_000
        ));
    }
    text.into_bytes()
}

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    use sea_orm::ConnectionTrait;
    let backend = app.db.get_database_backend();
    let row = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(backend, sql.to_string()))
        .await
        .expect("query")
        .expect("a row");
    row.try_get_by_index::<i64>(0).expect("an integer")
}

/// Admin token, the root organisation's id and name, a campaign in SCREENING.
async fn setup(app: &TestApp) -> (String, String, String, String) {
    let admin = app.admin().await;
    let root = app.root_org(&admin).await;
    let name =
        app.ok(Some(&admin), "{me{organization{name}}}", json!({})).await["me"]["organization"]["name"]
            .as_str()
            .unwrap()
            .to_string();
    let c = app.screening_campaign(&admin).await;
    (admin, root, name, c)
}

#[tokio::test]
async fn a_writer_waits_for_a_batch_not_for_the_import() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    let (admin, root, org, c) = setup(&app).await;
    // Long enough that a writer held for the whole import would wait seconds (a debug build
    // imports a few thousand rows a second).
    let n = 30_000;
    let file = people_csv(n, &org, &[]);
    let campaign_id: i64 = c.parse().unwrap();
    let started = Instant::now();
    let import = {
        let (app, admin, c) = (app.clone(), admin.clone(), c.clone());
        tokio::spawn(async move {
            let v = app.import(&admin, &c, "大批.csv", file).await;
            (v, started.elapsed())
        })
    };
    // Wait for the first batch to be committed.
    let count = format!("SELECT COUNT(*) FROM recipients WHERE campaign_id = {campaign_id}");
    while scalar(&app, &count).await == 0 {
        assert!(
            !import.is_finished(),
            "the import ended before its first batch was seen"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Between batches, the person of the file's last row is nominated by hand: the import
    // must then report that row as a duplicate, not import the person twice.
    let last = n - 1;
    let t = Instant::now();
    let nominated = app
        .gql(
            Some(&admin),
            "mutation($i:NominateInput!){nominateRecipient(input:$i){id}}",
            json!({"i": {"campaignId": c, "categoryCode": "FRONTLINE", "kind": "PERSON",
                         "name": "手工推荐", "idNumber": person_id(last), "nominatedById": root}}),
        )
        .await;
    let mut waits = vec![t.elapsed()];
    assert!(nominated["errors"].is_null(), "{nominated}");
    let mut i = 0;
    while !import.is_finished() {
        i += 1;
        let t = Instant::now();
        app.create_org(
            &admin,
            &format!("导入期间新建的工会{i}"),
            "GRASSROOTS",
            Some(&root),
        )
        .await;
        waits.push(t.elapsed());
    }
    let (v, took) = import.await.unwrap();
    let r = &v["data"]["importRecipients"];
    assert_eq!(r["imported"], n - 1, "{v}");
    assert_eq!(r["rejected"], 1, "{v}");
    assert_eq!(r["errors"][0]["row"], last + 2, "{v}");
    assert_eq!(r["errors"][0]["field"], "id_number", "{v}");
    assert!(
        r["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("已在本项目中登记"),
        "{v}"
    );
    assert_eq!(
        scalar(&app, &count).await,
        i64::from(n),
        "n − 1 imported + 1 nominated"
    );
    let longest = waits.iter().max().unwrap();
    eprintln!(
        "import of {n} rows: {took:?}; {} writes during it, longest wait {longest:?}",
        waits.len()
    );
    assert!(
        waits.len() >= 3,
        "writers got through only {} times in {took:?}",
        waits.len()
    );
    assert!(*longest < Duration::from_secs(2), "a writer waited {longest:?}");
}

/// The `after` of each `importRecipients` audit entry, oldest first.
async fn import_entries(app: &TestApp) -> Vec<Value> {
    use sea_orm::{ConnectionTrait, Statement};
    let backend = app.db.get_database_backend();
    let rows = app
        .db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT diff FROM audit_log WHERE action = 'importRecipients' ORDER BY id",
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|r| {
            let diff: String = r.try_get_by_index(0).unwrap();
            serde_json::from_str::<Value>(&diff).unwrap()["import"]["after"].clone()
        })
        .collect()
}

#[tokio::test]
async fn batches_are_audited_and_counted_exactly() {
    let app = TestApp::spawn().await;
    let (admin, _root, org, c) = setup(&app).await;
    let campaign_id: i64 = c.parse().unwrap();
    let size = domain::recipients::import::batch_size(app.db.get_database_backend()) as u32;
    // Two full batches and a part, three rows invalid (one in each).
    let n = 2 * size + size / 3 + 3;
    let bad = [5, size + 7, 2 * size + 9];
    let before = app.audit_count().await;
    let v = app
        .import(&admin, &c, "批次.csv", people_csv(n, &org, &bad))
        .await;
    let r = &v["data"]["importRecipients"];
    let valid = n - bad.len() as u32;
    assert_eq!(r["imported"], valid, "{v}");
    assert_eq!(r["rejected"], 3, "{v}");
    let rows: Vec<i64> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["row"].as_i64().unwrap())
        .collect();
    assert_eq!(rows, bad.iter().map(|b| i64::from(*b) + 2).collect::<Vec<_>>());

    // One entry per batch of valid rows, the last with the totals.
    let entries = import_entries(&app).await;
    let batches = (valid / size + 1) as usize;
    assert_eq!(entries.len(), batches, "{entries:?}");
    assert_eq!(app.audit_count().await, before + batches as u64);
    let mut named: Vec<i64> = Vec::new();
    for (k, e) in entries.iter().enumerate() {
        assert_eq!(e["batch"], k + 1, "{e}");
        let mut in_entry = 0;
        for run in e["recipientIds"].as_array().unwrap() {
            let (a, b) = (run[0].as_i64().unwrap(), run[1].as_i64().unwrap());
            named.extend(a..=b);
            in_entry += b - a + 1;
        }
        assert_eq!(e["imported"], in_entry, "{e}");
        assert_eq!(e["total"].is_null(), k + 1 < batches, "{e}");
    }
    assert_eq!(
        entries.last().unwrap()["total"],
        json!({"imported": valid, "rejected": 3})
    );
    // Every imported recipient is named by exactly one entry, and nothing else is.
    named.sort_unstable();
    let mut ids: Vec<i64> = {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
        entities::recipient::Entity::find()
            .select_only()
            .column(entities::recipient::Column::Id)
            .filter(entities::recipient::Column::CampaignId.eq(campaign_id))
            .into_tuple()
            .all(&app.db)
            .await
            .unwrap()
    };
    ids.sort_unstable();
    assert_eq!(named, ids);

    // The counters agree with the rows, category by category, and the list's total with both.
    let counted = format!(
        "SELECT COUNT(*) FROM categories c WHERE c.campaign_id = {campaign_id} AND c.recipient_count <> \
         (SELECT COUNT(*) FROM recipients r WHERE r.category_id = c.id)"
    );
    assert_eq!(scalar(&app, &counted).await, 0, "a category's counter is off");
    let hardship = format!(
        "SELECT CAST(c.recipient_count AS BIGINT) FROM categories c WHERE c.campaign_id = {campaign_id} AND c.code = 'HARDSHIP'"
    );
    assert!(
        scalar(&app, &hardship).await > i64::from(size),
        "counted across batches"
    );
    let total = app
        .ok(
            Some(&admin),
            "query($c:ID!){recipients(campaignId:$c,first:1){totalCount}}",
            json!({"c": c}),
        )
        .await;
    assert_eq!(total["recipients"]["totalCount"], valid);
    let chain = app.ok(Some(&admin), "{verifyAuditChain{ok}}", json!({})).await;
    assert_eq!(chain["verifyAuditChain"]["ok"], true);

    // The same file again: every valid row is now a duplicate; one (empty) batch entry.
    let v = app
        .import(&admin, &c, "批次.csv", people_csv(n, &org, &bad))
        .await;
    assert_eq!(v["data"]["importRecipients"]["imported"], 0, "{v}");
    assert_eq!(v["data"]["importRecipients"]["rejected"], n, "{v}");
    assert_eq!(
        import_entries(&app).await.len(),
        batches + valid as usize / size as usize + 1
    );
    assert_eq!(scalar(&app, &counted).await, 0);
}

/// An xlsx whose shared strings table holds `strings` empty strings (a few hundred KB on the
/// wire for millions) and whose sheet is a valid header and one row.
fn shared_strings_xlsx(strings: u64, org: &str) -> Vec<u8> {
    use std::io::Write;
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    let mut part = |name: &str, body: &str| {
        z.start_file(name, opts).unwrap();
        z.write_all(body.as_bytes()).unwrap();
    };
    part(
        "[Content_Types].xml",
        r#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>"#,
    );
    part(
        "_rels/.rels",
        r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
    );
    part(
        "xl/workbook.xml",
        r#"<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
    );
    part(
        "xl/_rels/workbook.xml.rels",
        r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#,
    );
    let cell = |r: &str, t: &str| format!(r#"<c r="{r}" t="inlineStr"><is><t>{t}</t></is></c>"#);
    let id = person_id(1);
    part(
        "xl/worksheets/sheet1.xml",
        &format!(
            r#"<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">{}{}{}{}{}</row><row r="2">{}{}{}{}{}</row></sheetData></worksheet>"#,
            cell("A1", "类别编码"),
            cell("B1", "类型"),
            cell("C1", "姓名"),
            cell("D1", "身份证号"),
            cell("E1", "推荐单位"),
            cell("A2", "HARDSHIP"),
            cell("B2", "个人"),
            cell("C2", "张三"),
            cell("D2", &id),
            cell("E2", org),
        ),
    );
    z.start_file("xl/sharedStrings.xml", opts).unwrap();
    write!(
        z,
        r#"<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="{strings}" uniqueCount="{strings}">"#
    )
    .unwrap();
    let chunk = "<si><t/></si>".repeat(10_000);
    for _ in 0..strings / 10_000 {
        z.write_all(chunk.as_bytes()).unwrap();
    }
    z.write_all(b"</sst>").unwrap();
    z.finish().unwrap().into_inner()
}

#[tokio::test]
async fn files_over_a_limit_are_refused_before_a_row_is_written() {
    let app = TestApp::spawn().await;
    let (admin, _root, org, c) = setup(&app).await;
    let before = app.audit_count().await;
    let refused = |v: &Value| {
        assert_eq!(code(v), Some("VALIDATION"), "{v}");
        assert_eq!(v["errors"][0]["extensions"]["field"], "file", "{v}");
        assert!(
            v["errors"][0]["message"].as_str().unwrap().contains("文件过大"),
            "{v}"
        );
    };

    // One row over the row limit: refused by the checking pass, nothing judged or written.
    let rows = sheet::MAX_ROWS + 1;
    let mut text = String::from("类别编码,类型,姓名,身份证号,推荐单位\n");
    for i in 0..rows {
        text.push_str(&format!("HARDSHIP,个人,职工{i},{},{org}\n", person_id(i)));
    }
    let t = Instant::now();
    let v = app.import(&admin, &c, "超限.csv", text.into_bytes()).await;
    eprintln!("{rows}-row csv refused in {:?}", t.elapsed());
    refused(&v);

    // Shared strings over the limit (the table of a file that is otherwise a valid sheet with
    // one row): refused while they are counted, before calamine loads them.
    let bomb = shared_strings_xlsx(sheet::MAX_SHARED_STRINGS + 10_000, &org);
    let t = Instant::now();
    let v = app.import(&admin, &c, "炸弹.xlsx", bomb.clone()).await;
    eprintln!(
        "{} shared strings ({} KB on the wire) refused in {:?}",
        sheet::MAX_SHARED_STRINGS + 10_000,
        bomb.len() / 1024,
        t.elapsed()
    );
    refused(&v);
    assert_eq!(app.audit_count().await, before, "nothing written");
    let campaign_id: i64 = c.parse().unwrap();
    assert_eq!(
        scalar(
            &app,
            &format!("SELECT COUNT(*) FROM recipients WHERE campaign_id = {campaign_id}")
        )
        .await,
        0
    );

    // The same sheet with a table within the limit is imported: only the count refused it.
    let v = app
        .import(&admin, &c, "正常.xlsx", shared_strings_xlsx(10_000, &org))
        .await;
    assert_eq!(v["data"]["importRecipients"]["imported"], 1, "{v}");
}
