//! Logs never carry personal data: everything the server logs (at every level) during
//! nominations, an import with bad rows, a reveal and a paid disbursement's SMS notice (sent
//! by the embedded job runner) is captured and searched.
use serde_json::json;
use songnuan_tests::{TestApp, id_number};
use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_personal_data_in_logs() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .init();
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let root = app.root_org(&admin).await;
    let c = app.screening_campaign(&admin).await;
    let secrets = [
        id_number(900),
        "13912345678".to_string(),
        "6228480099998888".to_string(),
        id_number(901),
    ];
    let v = app
        .gql(
            Some(&admin),
            "mutation($i:NominateInput!){nominateRecipient(input:$i){id}}",
            json!({"i": {"campaignId": c, "categoryCode": "HARDSHIP", "kind": "PERSON", "name": "甲", "idNumber": secrets[0], "phone": secrets[1], "bankAccount": secrets[2], "nominatedById": root}}),
        )
        .await;
    let rid = v["data"]["nominateRecipient"]["id"].as_str().unwrap().to_string();
    // a duplicate and an invalid phone: refusals are logged too
    app.gql(
        Some(&admin),
        "mutation($i:NominateInput!){nominateRecipient(input:$i){id}}",
        json!({"i": {"campaignId": c, "categoryCode": "HARDSHIP", "kind": "PERSON", "name": "乙", "idNumber": secrets[0], "nominatedById": root}}),
    )
    .await;
    let org = app.ok(Some(&admin), "{me{organization{name}}}", json!({})).await["me"]["organization"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let text = format!(
        "类别编码,类型,姓名,身份证号,手机号,开户行,银行账号,推荐单位\nHARDSHIP,个人,丙,{},{},农行,{},{org}\nHARDSHIP,个人,丁,{},bad-phone,农行,{},{org}\n",
        secrets[3], secrets[1], secrets[2], secrets[0], secrets[2]
    );
    let v = app.import(&admin, &c, "p.csv", text.into_bytes()).await;
    assert_eq!(v["data"]["importRecipients"]["imported"], 1, "{v}");
    app.ok(
        Some(&admin),
        "mutation($id:ID!){revealRecipient(id:$id,field:ID_NUMBER)}",
        json!({"id": rid}),
    )
    .await;
    // Paid: the notice job decrypts the phone and sends it (log provider) with the mask only.
    let caseworker = app.user_token(&admin, "helpcentre", &["CASEWORKER"], &root).await;
    let finance = app.user_token(&admin, "finance", &["FINANCE"], &root).await;
    app.ok(
        Some(&caseworker),
        "mutation($id:ID!){verifyRecipient(id:$id,method:HOME_VISIT){id}}",
        json!({"id": rid}),
    )
    .await;
    app.advance(&admin, &c, "PROCUREMENT").await;
    app.fund(&finance, &c, "150000.00").await;
    app.advance(&admin, &c, "DISTRIBUTION").await;
    app.pay_cash(&caseworker, &finance, &rid, "500.00", "BANK-1", "2025-01-20")
        .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !String::from_utf8_lossy(&capture.0.lock().unwrap()).contains("139****5678") {
        assert!(
            std::time::Instant::now() < deadline,
            "the notice was not sent in time"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("recipients imported"),
        "the capture works: {} bytes",
        logs.len()
    );
    for s in &secrets {
        assert!(!logs.contains(s.as_str()), "a personal value reached the logs");
    }
}
