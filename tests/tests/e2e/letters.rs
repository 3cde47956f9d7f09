//! LETTER notices (issue 11, point 3): persons without a phone and units get a printed written
//! notice (书面告知); the worker prints a campaign's pending letters into one DOCX, one page per
//! letter, sets `notifiedAt` and the notice SENT, and never prints a letter twice.
use crate::worker::{eventually, notices};
use domain::work::letters;
use serde_json::{Value, json};
use songnuan_tests::{TestApp, id_number};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Setup {
    finance: String,
    admin: String,
    campaign: String,
    /// (disbursement id, name, amount, letter?) in payment order.
    paid: Vec<(String, String, &'static str, bool)>,
    /// How long the payments took, from the first markPaid on.
    paying: Duration,
}

fn services(app: &TestApp) -> domain::Services {
    domain::Services::new(app.db.clone(), Arc::new(app.settings.clone()))
}

/// A DISTRIBUTION campaign paying four recipients: a person without a phone, a person with
/// one (an SMS, no letter), another person without a phone, and a unit.
async fn setup(app: &TestApp) -> Setup {
    let admin = app.admin().await;
    let root = app.root_org(&admin).await;
    let caseworker = app.user_token(&admin, "helpcentre", &["CASEWORKER"], &root).await;
    let finance = app.user_token(&admin, "finance", &["FINANCE"], &root).await;
    let campaign = app.create_campaign(&admin, "2025年春节送温暖").await;
    for (code, name, kind, amount) in [
        ("HARDSHIP", "困难职工", "PERSON", "500.00"),
        ("PUBLIC_SERVICE", "公共服务单位", "UNIT", "2000.00"),
    ] {
        app.ok(
            Some(&admin),
            "mutation($c:ID!,$i:CategoryInput!){addCategory(campaignId:$c,input:$i){id}}",
            json!({"c": campaign, "i": {"code": code, "name": name, "recipientKind": kind, "plannedCount": 5, "standardAmount": amount}}),
        )
        .await;
    }
    app.advance(&admin, &campaign, "SCREENING").await;
    let people: [(&str, &str, &str, Option<&str>, &'static str); 4] = [
        ("张秀兰", "HARDSHIP", "PERSON", None, "500.00"),
        ("李建国", "HARDSHIP", "PERSON", Some("13900001111"), "500.00"),
        ("王桂芳", "HARDSHIP", "PERSON", None, "480.00"),
        ("富民县环卫所", "PUBLIC_SERVICE", "UNIT", None, "2000.00"),
    ];
    let mut recipients = Vec::new();
    for (n, (name, category, kind, phone, _)) in people.iter().enumerate() {
        let mut input = json!({"campaignId": campaign, "categoryCode": category, "kind": kind,
            "name": name, "nominatedById": root});
        if *kind == "PERSON" {
            input["idNumber"] = json!(id_number(n as u32));
        }
        if let Some(p) = phone {
            input["phone"] = json!(p);
        }
        let id = app
            .ok(
                Some(&caseworker),
                "mutation($i:NominateInput!){nominateRecipient(input:$i){id}}",
                json!({ "i": input }),
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
    app.fund(&finance, &campaign, "150000.00").await;
    app.advance(&admin, &campaign, "DISTRIBUTION").await;
    let started = Instant::now();
    let mut paid = Vec::new();
    for (n, (name, _, _, phone, amount)) in people.iter().enumerate() {
        let id = app
            .pay_cash(
                &caseworker,
                &finance,
                &recipients[n],
                amount,
                &format!("ZZ2025-{n:04}"),
                "2025-01-20",
            )
            .await;
        paid.push((id, name.to_string(), *amount, phone.is_none()));
    }
    Setup {
        finance,
        admin,
        campaign,
        paid,
        paying: started.elapsed(),
    }
}

fn docx_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// The text of `word/document.xml` inside a DOCX.
fn document_xml(file: &Path) -> String {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(file).unwrap()).unwrap();
    let mut xml = String::new();
    zip.by_name("word/document.xml")
        .unwrap()
        .read_to_string(&mut xml)
        .unwrap();
    xml
}

/// The document's pages: its XML split at the page breaks.
fn pages(xml: &str) -> Vec<String> {
    xml.split("w:type=\"page\"").map(str::to_string).collect()
}

fn letters_dir(app: &TestApp, campaign: &str) -> PathBuf {
    app.dir
        .join("files")
        .join("letters")
        .join(format!("campaign-{campaign}"))
}

const LETTER_JOBS: &str = "{jobs(kind:\"LETTERS\",first:50){edges{node{status attempts target}}}}";

#[tokio::test]
async fn letters_are_printed_one_page_each_in_one_batch_per_campaign() {
    let app = TestApp::spawn_with(&[("SONGNUAN_LETTER_DELAY_SECS", "4")]).await;
    let s = setup(&app).await;
    let letter_count = s.paid.iter().filter(|p| p.3).count();
    let all_sent = eventually(Duration::from_secs(60), || async {
        notices(&app, &s.finance, &s.campaign)
            .await
            .iter()
            .all(|n| n["notice"]["status"] == "SENT")
    })
    .await;
    let ns = notices(&app, &s.finance, &s.campaign).await;
    assert!(all_sent, "{ns:?}");
    let by_id = |id: &str| -> Value { ns.iter().find(|n| n["id"] == id).unwrap().clone() };
    for (id, name, _, letter) in &s.paid {
        let n = by_id(id);
        let channel = if *letter { "LETTER" } else { "SMS" };
        assert_eq!(n["notice"]["channel"], channel, "{name}: {n}");
        assert!(n["notifiedAt"].is_string(), "{name}: {n}");
        assert!(n["notice"]["sentAt"].is_string(), "{name}: {n}");
    }

    let dir = letters_dir(&app, &s.campaign);
    let files = docx_files(&dir);
    assert!(
        files.iter().all(|f| f.extension().is_some_and(|e| e == "docx")),
        "{files:?}"
    );
    // All the payments were made before the first letter job was due: one batch.
    if s.paying < Duration::from_secs(4) {
        assert_eq!(files.len(), 1, "{files:?}");
    }
    // Every letter once, across the batches; a page each.
    let mut printed = 0;
    for f in &files {
        let xml = document_xml(f);
        let pages = pages(&xml);
        for page in &pages {
            let on_page: Vec<&String> = s
                .paid
                .iter()
                .filter(|p| page.contains(p.1.as_str()))
                .map(|p| &p.1)
                .collect();
            assert_eq!(on_page.len(), 1, "one letter per page: {on_page:?}");
            assert!(page.contains("送温暖慰问告知书"));
            assert!(page.contains("2025年春节送温暖"));
            assert!(page.contains("2025年1月20日"));
        }
        printed += pages.len();
        for (_, name, amount, letter) in &s.paid {
            if !*letter {
                assert!(
                    !xml.contains(name.as_str()),
                    "an SMS recipient got a letter: {name}"
                );
                continue;
            }
            if xml.contains(name.as_str()) {
                let page = pages.iter().find(|p| p.contains(name.as_str())).unwrap();
                assert!(page.contains(&format!("人民币 {amount} 元")), "{name}");
            }
        }
        // Persons are identified by the masked ID number only.
        for n in 0..3u32 {
            assert!(!xml.contains(&id_number(n)), "clear ID number in a letter");
        }
        assert!(xml.contains("同志："));
        assert!(xml.contains("富民县环卫所："));
    }
    assert_eq!(printed, letter_count);

    // One LETTERS job per letter, all done (the later ones found their letter printed).
    let letter_jobs = || async {
        app.ok(Some(&s.admin), LETTER_JOBS, json!({})).await["jobs"]["edges"]
            .as_array()
            .unwrap()
            .clone()
    };
    let all_done = eventually(Duration::from_secs(60), || async {
        letter_jobs().await.iter().all(|j| j["node"]["status"] == "DONE")
    })
    .await;
    let js = letter_jobs().await;
    assert!(all_done, "{js:?}");
    assert_eq!(js.len(), letter_count, "{js:?}");
    assert_eq!(docx_files(&dir), files, "the later jobs printed nothing");
    // Nothing pending: printing again makes nothing.
    let campaign: i64 = s.campaign.parse().unwrap();
    assert!(
        letters::print_campaign(&services(&app), campaign)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(docx_files(&dir).len(), files.len());
}

#[tokio::test]
async fn two_batches_at_once_print_each_letter_once() {
    // The letter jobs are not due during the test: the batches are made here, side by side.
    let app = TestApp::spawn_with(&[("SONGNUAN_LETTER_DELAY_SECS", "86400")]).await;
    let s = setup(&app).await;
    let ns = notices(&app, &s.finance, &s.campaign).await;
    let pending: Vec<&Value> = ns.iter().filter(|n| n["notice"]["channel"] == "LETTER").collect();
    assert_eq!(pending.len(), 3);
    assert!(
        pending
            .iter()
            .all(|n| n["notice"]["status"] == "PENDING" && n["notifiedAt"].is_null())
    );
    let svc = services(&app);
    let campaign: i64 = s.campaign.parse().unwrap();
    let (a, b) = tokio::join!(
        letters::print_campaign(&svc, campaign),
        letters::print_campaign(&svc, campaign)
    );
    let batches: Vec<letters::Batch> = [a.unwrap(), b.unwrap()].into_iter().flatten().collect();
    let mut ids: Vec<String> = batches
        .iter()
        .flat_map(|b| b.disbursement_ids.iter().map(|i| i.to_string()))
        .collect();
    ids.sort();
    let mut expected: Vec<String> = s.paid.iter().filter(|p| p.3).map(|p| p.0.clone()).collect();
    expected.sort();
    assert_eq!(ids, expected, "each letter in exactly one batch");
    assert_eq!(docx_files(&letters_dir(&app, &s.campaign)).len(), batches.len());
    for b in &batches {
        assert_eq!(pages(&document_xml(&b.file)).len(), b.disbursement_ids.len());
    }
    let ns = notices(&app, &s.finance, &s.campaign).await;
    for n in ns.iter().filter(|n| n["notice"]["channel"] == "LETTER") {
        assert_eq!(n["notice"]["status"], "SENT", "{n}");
        assert!(n["notifiedAt"].is_string(), "{n}");
    }
}
