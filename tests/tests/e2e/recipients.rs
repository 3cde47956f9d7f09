//! Recipients end to end: nomination, validation, 不漏不重, vetting, masks and reveal, 冒领 flags,
//! history, scoped lists, and no personal data in clear at rest.
use serde_json::{Value, json};
use songnuan_tests::{TestApp, code, id_number};

const NOMINATE: &str = "mutation($i:NominateInput!){nominateRecipient(input:$i){id name status kind idNumberMasked phoneMasked bankName bankAccountMasked nominatedBy{id} category{code}}}";

fn person(campaign: &str, org: &str, n: u32) -> Value {
    json!({"campaignId": campaign, "categoryCode": "HARDSHIP", "kind": "PERSON", "name": format!("职工{n}"),
           "idNumber": id_number(n), "phone": format!("1390000{:04}", n % 10000), "bankName": "农业银行",
           "bankAccount": format!("62284800{:08}", n), "nominatedById": org})
}

async fn nominate(app: &TestApp, token: &str, input: Value) -> Value {
    app.gql(Some(token), NOMINATE, json!({"i": input})).await
}

#[tokio::test]
async fn nominate_mask_verify_reject_and_stage_rules() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let root = app.root_org(&admin).await;
    let cw = app.user_token(&admin, "helpcentre", &["CASEWORKER"], &root).await;
    let c = app.screening_campaign(&admin).await;

    let mut input = person(&c, &root, 1);
    input["idNumber"] = json!(id_number(1).to_lowercase());
    input["phone"] = json!("13800135678");
    input["bankAccount"] = json!("6228480012341234");
    let v = nominate(&app, &cw, input).await;
    let r = &v["data"]["nominateRecipient"];
    assert_eq!(r["status"], "NOMINATED", "{v}");
    let id = id_number(1);
    assert_eq!(
        r["idNumberMasked"],
        format!("{}**********{}", &id[..4], &id[14..])
    );
    assert_eq!(r["phoneMasked"], "138****5678");
    assert_eq!(r["bankAccountMasked"], "**** 1234");
    let rid = r["id"].as_str().unwrap().to_string();

    // a unit: no ID number
    let unit = json!({"campaignId": c, "categoryCode": "SERVICE_DEPT", "kind": "UNIT", "name": "富民县公安局", "nominatedById": root});
    let v = nominate(&app, &cw, unit.clone()).await;
    assert!(v["data"]["nominateRecipient"]["idNumberMasked"].is_null(), "{v}");
    let uid = v["data"]["nominateRecipient"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        code(&nominate(&app, &cw, unit).await),
        Some("DUPLICATE_RECIPIENT")
    );

    let d = app
        .ok(Some(&cw), "mutation($id:ID!){verifyRecipient(id:$id,method:HOME_VISIT,note:\"入户走访\"){status verificationMethod}}", json!({"id": rid}))
        .await;
    assert_eq!(
        d["verifyRecipient"],
        json!({"status": "VERIFIED", "verificationMethod": "HOME_VISIT"})
    );
    let v = app
        .gql(
            Some(&cw),
            "mutation($id:ID!){verifyRecipient(id:$id,method:DATA_CHECK){status}}",
            json!({"id": rid}),
        )
        .await;
    assert_eq!(code(&v), Some("CONFLICT"), "verified twice");
    let d = app
        .ok(
            Some(&cw),
            "mutation($id:ID!){rejectRecipient(id:$id,reason:\"不符合条件\"){status rejectionReason}}",
            json!({"id": uid}),
        )
        .await;
    assert_eq!(d["rejectRecipient"]["rejectionReason"], "不符合条件");
    let v = app
        .gql(
            Some(&cw),
            "mutation($id:ID!){rejectRecipient(id:$id,reason:\"  \"){status}}",
            json!({"id": rid}),
        )
        .await;
    assert_eq!(code(&v), Some("VALIDATION"));

    // FINANCE may not vet; GRASSROOTS may not vet
    let fin = app.user_token(&admin, "finance", &["FINANCE"], &root).await;
    let v = app
        .gql(
            Some(&fin),
            "mutation($id:ID!){rejectRecipient(id:$id,reason:\"x\"){status}}",
            json!({"id": rid}),
        )
        .await;
    assert_eq!(code(&v), Some("FORBIDDEN"));

    // the stage rules: vetting goes on in PROCUREMENT, nominations do not; nothing in DISTRIBUTION
    app.advance(&admin, &c, "PROCUREMENT").await;
    let before = app.audit_count().await;
    assert_eq!(
        code(&nominate(&app, &cw, person(&c, &root, 2)).await),
        Some("INVALID_STAGE")
    );
    app.ok(
        Some(&cw),
        "mutation($id:ID!){rejectRecipient(id:$id,reason:\"复核不符合\"){status}}",
        json!({"id": rid}),
    )
    .await;
    app.fund(&admin, &c, "1000.00").await;
    app.advance(&admin, &c, "DISTRIBUTION").await;
    let v = app
        .gql(
            Some(&cw),
            "mutation($id:ID!){verifyRecipient(id:$id,method:DATA_CHECK){status}}",
            json!({"id": uid}),
        )
        .await;
    assert_eq!(code(&v), Some("INVALID_STAGE"));
    assert_eq!(
        app.audit_count().await,
        before + 3,
        "only the reject, the funding and the advance were written"
    );

    // a campaign still in PREPARATION takes no nominations either
    let prep = app.create_campaign(&admin, "准备中").await;
    app.add_category(&admin, &prep, "HARDSHIP").await;
    assert_eq!(
        code(&nominate(&app, &cw, person(&prep, &root, 3)).await),
        Some("INVALID_STAGE")
    );
}

#[tokio::test]
async fn invalid_fields_are_refused_with_their_codes_and_nothing_written() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let root = app.root_org(&admin).await;
    let c = app.screening_campaign(&admin).await;
    let before = app.audit_count().await;
    let mut bad_check = person(&c, &root, 1);
    let id = id_number(1);
    let wrong = if id.ends_with('0') { '1' } else { '0' };
    bad_check["idNumber"] = json!(format!("{}{wrong}", &id[..17]));
    let cases: Vec<(Value, &str, Option<&str>)> = vec![
        (bad_check, "INVALID_ID_NUMBER", None),
        (
            {
                let mut p = person(&c, &root, 2);
                p["idNumber"] = json!("53012419901301123X");
                p
            },
            "INVALID_ID_NUMBER",
            None,
        ),
        (
            {
                let mut p = person(&c, &root, 3);
                p["idNumber"] = Value::Null;
                p
            },
            "VALIDATION",
            Some("idNumber"),
        ),
        (
            {
                let mut p = person(&c, &root, 4);
                p["phone"] = json!("12345");
                p
            },
            "VALIDATION",
            Some("phone"),
        ),
        (
            {
                let mut p = person(&c, &root, 5);
                p["bankAccount"] = json!("62-28");
                p
            },
            "VALIDATION",
            Some("bankAccount"),
        ),
        (
            {
                let mut p = person(&c, &root, 6);
                p["name"] = json!("");
                p
            },
            "VALIDATION",
            Some("name"),
        ),
        (
            {
                let mut p = person(&c, &root, 7);
                p["categoryCode"] = json!("NOPE");
                p
            },
            "VALIDATION",
            Some("categoryCode"),
        ),
        (
            {
                let mut p = person(&c, &root, 8);
                p["categoryCode"] = json!("SERVICE_DEPT");
                p
            },
            "VALIDATION",
            Some("kind"),
        ),
        (
            {
                let mut p = person(&c, &root, 9);
                p["kind"] = json!("UNIT");
                p["categoryCode"] = json!("SERVICE_DEPT");
                p
            },
            "VALIDATION",
            Some("idNumber"),
        ),
        (
            {
                let mut p = person(&c, &root, 10);
                p["nominatedById"] = json!("99999");
                p
            },
            "NOT_FOUND",
            None,
        ),
        (
            {
                let mut p = person(&c, &root, 11);
                p["campaignId"] = json!("99999");
                p
            },
            "NOT_FOUND",
            None,
        ),
    ];
    for (input, expect, field) in cases {
        let v = nominate(&app, &admin, input.clone()).await;
        assert_eq!(code(&v), Some(expect), "{input}: {v}");
        if let Some(f) = field {
            assert_eq!(v["errors"][0]["extensions"]["field"], f, "{v}");
        }
        let msg = v["errors"][0]["message"].as_str().unwrap();
        for secret in ["idNumber", "phone", "bankAccount"] {
            if let Some(val) = input[secret].as_str().filter(|s| s.len() > 6) {
                assert!(!msg.contains(val), "error message leaks {secret}: {msg}");
            }
        }
    }
    assert_eq!(app.audit_count().await, before);
}

#[tokio::test]
async fn one_id_number_once_per_campaign_even_under_concurrency() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let root = app.root_org(&admin).await;
    let c = app.screening_campaign(&admin).await;
    let calls = (0..20).map(|i| {
        let mut p = person(&c, &root, 42);
        p["name"] = json!(format!("重复{i}"));
        p["phone"] = json!(format!("1370000{i:04}"));
        let app = &app;
        let admin = admin.clone();
        async move { nominate(app, &admin, p).await }
    });
    let results = futures::future::join_all(calls).await;
    let ok = results.iter().filter(|v| v.get("errors").is_none()).count();
    let dup = results
        .iter()
        .filter(|v| code(v) == Some("DUPLICATE_RECIPIENT"))
        .count();
    assert_eq!((ok, dup), (1, 19), "{results:?}");
    let d = app
        .ok(
            Some(&admin),
            "query($c:ID!){recipients(campaignId:$c){totalCount}}",
            json!({"c": c}),
        )
        .await;
    assert_eq!(d["recipients"]["totalCount"], 1);

    // the same person in another (later) campaign is fine, and shows the earlier one
    let c2 = app.screening_campaign(&admin).await;
    let v = nominate(&app, &admin, person(&c2, &root, 42)).await;
    let rid = v["data"]["nominateRecipient"]["id"].as_str().unwrap().to_string();
    let d = app
        .ok(
            Some(&admin),
            "query($id:ID!){recipient(id:$id){history{campaign{id} status helped}}}",
            json!({"id": rid}),
        )
        .await;
    // both campaigns start on the same day: "earlier" means starting before, so none yet
    assert_eq!(d["recipient"]["history"], json!([]));
    let c3 = app
        .ok(
            Some(&admin),
            "mutation($i:CreateCampaignInput!){createCampaign(input:$i){id}}",
            json!({"i": {"name": "2026年送温暖", "year": 2026, "budget": "1000.00", "startsOn": "2026-01-10", "deadline": "2026-02-10"}}),
        )
        .await["createCampaign"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.add_category(&admin, &c3, "HARDSHIP").await;
    app.advance(&admin, &c3, "SCREENING").await;
    let v = nominate(&app, &admin, person(&c3, &root, 42)).await;
    let rid = v["data"]["nominateRecipient"]["id"].as_str().unwrap().to_string();
    let d = app
        .ok(
            Some(&admin),
            "query($id:ID!){recipient(id:$id){history{campaign{year} categoryName status helped}}}",
            json!({"id": rid}),
        )
        .await;
    assert_eq!(d["recipient"]["history"].as_array().unwrap().len(), 2, "{d}");
    assert_eq!(d["recipient"]["history"][0]["campaign"]["year"], 2025);
}

#[tokio::test]
async fn shared_bank_accounts_and_phones_are_flagged() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let root = app.root_org(&admin).await;
    let c = app.screening_campaign(&admin).await;
    let a = person(&c, &root, 1);
    let mut b = person(&c, &root, 2);
    b["bankAccount"] = a["bankAccount"].clone();
    let mut cc = person(&c, &root, 3);
    cc["phone"] = a["phone"].clone();
    for p in [a, b, cc, person(&c, &root, 4)] {
        nominate(&app, &admin, p).await;
    }
    let d = app
        .ok(
            Some(&admin),
            "query($c:ID!){all:recipients(campaignId:$c){edges{node{name flags}}} flagged:recipients(campaignId:$c,filter:{flagged:true}){totalCount} clean:recipients(campaignId:$c,filter:{flagged:false}){totalCount edges{node{name}}}}",
            json!({"c": c}),
        )
        .await;
    let flags: Vec<Value> = d["all"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["flags"].clone())
        .collect();
    assert_eq!(flags[0], json!(["SHARED_BANK_ACCOUNT", "SHARED_PHONE"]));
    assert_eq!(flags[1], json!(["SHARED_BANK_ACCOUNT"]));
    assert_eq!(flags[2], json!(["SHARED_PHONE"]));
    assert_eq!(flags[3], json!([]));
    assert_eq!(d["flagged"]["totalCount"], 3);
    assert_eq!(d["clean"]["totalCount"], 1);
    assert_eq!(d["clean"]["edges"][0]["node"]["name"], "职工4");
}

#[tokio::test]
async fn reveal_is_for_those_who_pay_or_vet_and_is_audited() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let root = app.root_org(&admin).await;
    let c = app.screening_campaign(&admin).await;
    let v = nominate(&app, &admin, person(&c, &root, 7)).await;
    let rid = v["data"]["nominateRecipient"]["id"].as_str().unwrap().to_string();
    let reveal = "mutation($id:ID!,$f:PiiField!){revealRecipient(id:$id,field:$f)}";
    for (role, allowed) in [
        ("CASEWORKER", true),
        ("FINANCE", true),
        ("EVALUATOR", false),
        ("AUDITOR", false),
        ("GRASSROOTS", false),
        ("INTEGRATION", false),
    ] {
        let t = app
            .user_token(&admin, &format!("u{}", role.to_lowercase()), &[role], &root)
            .await;
        let before = app.audit_count().await;
        let v = app
            .gql(Some(&t), reveal, json!({"id": rid, "f": "ID_NUMBER"}))
            .await;
        if allowed {
            assert_eq!(v["data"]["revealRecipient"], id_number(7), "{role}");
            assert_eq!(app.audit_count().await, before + 1);
        } else {
            assert_eq!(code(&v), Some("FORBIDDEN"), "{role}");
            assert_eq!(app.audit_count().await, before);
        }
    }
    let d = app
        .ok(Some(&admin), reveal, json!({"id": rid, "f": "PHONE"}))
        .await;
    assert_eq!(d["revealRecipient"], "13900000007");
    let d = app
        .ok(Some(&admin), reveal, json!({"id": rid, "f": "BANK_ACCOUNT"}))
        .await;
    assert_eq!(d["revealRecipient"], "6228480000000007");
    let d = app
        .ok(
            Some(&admin),
            "{auditLog(action:\"revealRecipient\"){totalCount edges{node{actor{username} targetId diff}}}}",
            json!({}),
        )
        .await;
    assert_eq!(d["auditLog"]["totalCount"], 4);
    let text = d.to_string();
    assert!(
        !text.contains(&id_number(7)) && !text.contains("13900000007"),
        "{text}"
    );
    assert!(text.contains("id_number") && text.contains("bank_account"));
}

#[tokio::test]
async fn stored_rows_hold_no_personal_data_in_clear() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let root = app.root_org(&admin).await;
    let c = app.screening_campaign(&admin).await;
    let mut clear = Vec::new();
    for n in 100..110 {
        let p = person(&c, &root, n);
        clear.push(p["idNumber"].as_str().unwrap().to_string());
        clear.push(p["phone"].as_str().unwrap().to_string());
        clear.push(p["bankAccount"].as_str().unwrap().to_string());
        nominate(&app, &admin, p).await;
    }
    use sea_orm::EntityTrait;
    let rows = entities::recipient::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(rows.len(), 10);
    let dump = format!("{rows:?}");
    let audit = format!(
        "{:?}",
        entities::audit_log::Entity::find().all(&app.db).await.unwrap()
    );
    for v in &clear {
        assert!(!dump.contains(v.as_str()), "clear value in recipients table");
        assert!(!audit.contains(v.as_str()), "clear value in the audit log");
    }
    if !app.is_postgres() {
        // The SQLite file itself (and its write-ahead log).
        app.exec("PRAGMA wal_checkpoint(TRUNCATE)").await;
        let mut bytes = std::fs::read(app.dir.join("songnuan.db")).unwrap();
        if let Ok(wal) = std::fs::read(app.dir.join("songnuan.db-wal")) {
            bytes.extend(wal);
        }
        for v in &clear {
            assert!(
                !bytes.windows(v.len()).any(|w| w == v.as_bytes()),
                "clear value in the database file"
            );
        }
        // …while a value that is stored in clear (the name) is found, so the scan works.
        assert!(bytes.windows("职工100".len()).any(|w| w == "职工100".as_bytes()));
    }
}

#[tokio::test]
async fn grassroots_nominates_and_lists_only_within_its_subtree() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let root = app.root_org(&admin).await;
    let t1 = app
        .create_org(&admin, "永定街道工会联合会", "TOWN_FEDERATION", Some(&root))
        .await;
    let g1 = app
        .create_org(&admin, "永定环卫所工会", "GRASSROOTS", Some(&t1))
        .await;
    let t2 = app
        .create_org(&admin, "大营街道工会联合会", "TOWN_FEDERATION", Some(&root))
        .await;
    let c = app.screening_campaign(&admin).await;
    let gr = app.user_token(&admin, "yongding", &["GRASSROOTS"], &t1).await;
    for (n, org) in [(1, &t1), (2, &g1)] {
        let v = nominate(&app, &gr, person(&c, org, n)).await;
        assert!(v.get("errors").is_none(), "{v}");
    }
    let before = app.audit_count().await;
    for org in [&t2, &root] {
        let v = nominate(&app, &gr, person(&c, org, 9)).await;
        assert_eq!(code(&v), Some("FORBIDDEN"), "{v}");
    }
    assert_eq!(app.audit_count().await, before);
    for n in 3..6 {
        nominate(&app, &admin, person(&c, &t2, n)).await;
    }
    let q = "query($c:ID!,$f:RecipientFilter){recipients(campaignId:$c,filter:$f){totalCount edges{node{id name nominatedBy{id}}}}}";
    let d = app.ok(Some(&gr), q, json!({"c": c})).await;
    assert_eq!(d["recipients"]["totalCount"], 2);
    assert_eq!(d["recipients"]["edges"].as_array().unwrap().len(), 2);
    let d = app
        .ok(Some(&gr), q, json!({"c": c, "f": {"nominatedById": t2}}))
        .await;
    assert_eq!(d["recipients"]["totalCount"], 0);
    let d = app.ok(Some(&admin), q, json!({"c": c})).await;
    assert_eq!(d["recipients"]["totalCount"], 5);
    // a recipient of another subtree is invisible by id
    let other = d["recipients"]["edges"][4]["node"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let d = app
        .ok(
            Some(&gr),
            "query($id:ID!){recipient(id:$id){id}}",
            json!({"id": other}),
        )
        .await;
    assert!(d["recipient"].is_null());
}

#[tokio::test]
async fn lists_filter_search_and_paginate() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let root = app.root_org(&admin).await;
    let c = app.screening_campaign(&admin).await;
    let mut ids = Vec::new();
    for n in 1..=7 {
        let mut p = person(&c, &root, n);
        if n > 5 {
            p["categoryCode"] = json!("INJURED");
            p["name"] = json!(format!("李{n}"));
        }
        let v = nominate(&app, &admin, p).await;
        ids.push(v["data"]["nominateRecipient"]["id"].as_str().unwrap().to_string());
    }
    app.ok(
        Some(&admin),
        "mutation($id:ID!){verifyRecipient(id:$id,method:INFO_CHECK){id}}",
        json!({"id": ids[0]}),
    )
    .await;
    let q = "query($c:ID!,$f:RecipientFilter,$n:Int,$a:String){recipients(campaignId:$c,filter:$f,first:$n,after:$a){totalCount edges{cursor node{id name}} pageInfo{hasNextPage endCursor}}}";
    let count = |d: &Value| d["recipients"]["totalCount"].as_i64().unwrap();
    assert_eq!(
        count(
            &app.ok(Some(&admin), q, json!({"c": c, "f": {"categoryCode": "INJURED"}}))
                .await
        ),
        2
    );
    assert_eq!(
        count(
            &app.ok(Some(&admin), q, json!({"c": c, "f": {"status": "VERIFIED"}}))
                .await
        ),
        1
    );
    assert_eq!(
        count(
            &app.ok(Some(&admin), q, json!({"c": c, "f": {"search": "李"}}))
                .await
        ),
        2
    );
    assert_eq!(
        count(
            &app.ok(Some(&admin), q, json!({"c": c, "f": {"search": "%"}}))
                .await
        ),
        0,
        "LIKE wildcards are literal"
    );
    let d = app
        .ok(Some(&admin), q, json!({"c": c, "f": {"search": id_number(3)}}))
        .await;
    assert_eq!(count(&d), 1);
    assert_eq!(d["recipients"]["edges"][0]["node"]["name"], "职工3");
    // pages of 3: 3 + 3 + 1, no overlap, totalCount stable
    let mut after: Option<String> = None;
    let mut seen = Vec::new();
    loop {
        let d = app.ok(Some(&admin), q, json!({"c": c, "n": 3, "a": after})).await;
        assert_eq!(count(&d), 7);
        for e in d["recipients"]["edges"].as_array().unwrap() {
            seen.push(e["node"]["id"].as_str().unwrap().to_string());
        }
        if !d["recipients"]["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = d["recipients"]["pageInfo"]["endCursor"]
            .as_str()
            .map(String::from);
    }
    assert_eq!(seen, ids);
    assert_eq!(
        code(&app.gql(Some(&admin), q, json!({"c": c, "n": 201})).await),
        Some("VALIDATION")
    );
}
