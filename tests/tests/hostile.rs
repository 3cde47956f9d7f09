//! Bad input gets the contract's code (or a 4xx), nothing is written, the server keeps serving.
use serde_json::json;
use songnuan_tests::{TestApp, code};

async fn still_serving(app: &TestApp) {
    let r = app.http.get(format!("{}/health", app.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn bad_money_dates_and_enums_are_validation_errors_and_write_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let create = "mutation($i:CreateCampaignInput!){createCampaign(input:$i){id}}";
    let base = json!({"name": "项目", "year": 2025, "budget": "1.00", "startsOn": "2025-01-15", "deadline": "2025-01-28"});
    let before = app.audit_count().await;
    for (field, value, expect_field) in [
        ("budget", json!("-100.00"), Some("budget")),
        ("budget", json!("100.123"), Some("budget")),
        ("budget", json!("1e9"), Some("budget")),
        ("budget", json!("abc"), Some("budget")),
        ("budget", json!(""), Some("budget")),
        ("year", json!(1900), Some("year")),
        ("name", json!(""), Some("name")),
        ("deadline", json!("2025-01-01"), Some("deadline")),
        ("startsOn", json!("2025-13-45"), None),
        ("startsOn", json!("15/01/2025"), None),
        ("budget", json!(true), None),
    ] {
        let mut input = base.clone();
        input[field] = value.clone();
        let v = app.gql(Some(&admin), create, json!({"i": input})).await;
        assert_eq!(code(&v), Some("VALIDATION"), "{field}={value}: {v}");
        if let Some(f) = expect_field {
            assert_eq!(v["errors"][0]["extensions"]["field"], f, "{v}");
        }
        assert!(v["data"].is_null() || v["data"]["createCampaign"].is_null());
    }
    // unknown enum value, inline and as a variable
    let v = app
        .gql(
            Some(&admin),
            "mutation{createOrganization(input:{name:\"x\",kind:PLANET}){id}}",
            json!({}),
        )
        .await;
    assert_eq!(code(&v), Some("VALIDATION"));
    let v = app
        .gql(
            Some(&admin),
            "mutation($i:CreateOrganizationInput!){createOrganization(input:$i){id}}",
            json!({"i": {"name": "x", "kind": "PLANET"}}),
        )
        .await;
    assert_eq!(code(&v), Some("VALIDATION"));
    // category money
    let id = app.create_campaign(&admin, "钱").await;
    let after_campaign = app.audit_count().await;
    for amount in ["-1", "0.001", "12.345"] {
        let v = app
            .gql(
                Some(&admin),
                "mutation($c:ID!,$i:CategoryInput!){addCategory(campaignId:$c,input:$i){id}}",
                json!({"c": id, "i": {"code": "X", "name": "x", "recipientKind": "PERSON", "plannedCount": 1, "standardAmount": amount}}),
            )
            .await;
        assert_eq!(code(&v), Some("VALIDATION"));
        assert_eq!(v["errors"][0]["extensions"]["field"], "standardAmount");
    }
    assert_eq!(app.audit_count().await, after_campaign);
    assert_eq!(
        after_campaign,
        before + 1,
        "only the one valid campaign was written"
    );
    // messages never leak internals
    let v = app.gql(Some(&admin), create, json!({"i": {"name": "x"}})).await;
    let msg = v["errors"][0]["message"].as_str().unwrap().to_lowercase();
    assert!(!msg.contains("sql") && !msg.contains("/src/"), "{msg}");
    still_serving(&app).await;
}

#[tokio::test]
async fn missing_expired_and_forged_tokens_are_unauthenticated() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let before = app.audit_count().await;
    let write = "mutation{createOrganization(input:{name:\"x\",kind:FEDERATION}){id}}";
    let expired = domain::auth::issue_session_token(
        &app.settings,
        1,
        0,
        chrono::Utc::now() - chrono::Duration::hours(13),
    );
    let mut forged = admin.clone();
    forged.pop();
    forged.push(if admin.ends_with('A') { 'B' } else { 'A' });
    let other_key = domain::Settings::from_lookup(|k| match k {
        "SONGNUAN_SECRET" => Some("a-completely-different-secret-0123456789".into()),
        "SONGNUAN_DATA_DIR" => Some(app.dir.display().to_string()),
        _ => None,
    })
    .unwrap();
    let foreign = domain::auth::issue_session_token(&other_key, 1, 0, chrono::Utc::now());
    for token in [
        expired.as_str(),
        forged.as_str(),
        foreign.as_str(),
        "garbage",
        "snt_unknown",
    ] {
        let v = app.gql(Some(token), write, json!({})).await;
        assert_eq!(code(&v), Some("UNAUTHENTICATED"), "{token}");
    }
    // not a bearer scheme at all
    let r = app
        .http
        .post(format!("{}/graphql", app.base))
        .header("authorization", "Basic YWRtaW46eA==")
        .json(&json!({"query": "{me{id}}"}))
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(code(&v), Some("UNAUTHENTICATED"));
    let v = app.gql(None, write, json!({})).await;
    assert_eq!(code(&v), Some("UNAUTHENTICATED"));
    assert_eq!(app.audit_count().await, before);
    still_serving(&app).await;
}

#[tokio::test]
async fn depth_body_size_and_malformed_json_are_refused() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let before = app.audit_count().await;

    // depth 15: organizations{children{children{…}}}
    let mut q = String::from("id");
    for _ in 0..14 {
        q = format!("children{{{q}}}");
    }
    let v = app
        .gql(Some(&admin), &format!("{{organizations{{{q}}}}}"), json!({}))
        .await;
    assert_eq!(code(&v), Some("VALIDATION"), "{v}");
    assert!(v["data"].is_null());
    // depth 10 is fine
    let mut q = String::from("id");
    for _ in 0..8 {
        q = format!("children{{{q}}}");
    }
    app.ok(Some(&admin), &format!("{{organizations{{{q}}}}}"), json!({}))
        .await;
    // a fragment cycle does not hang the server
    let v = app
        .gql(
            Some(&admin),
            "query{organizations{...A}} fragment A on Organization{children{...A}}",
            json!({}),
        )
        .await;
    assert_eq!(code(&v), Some("VALIDATION"));

    // 11 MB body
    let big = format!(
        "{{\"query\":\"{{me{{id}}}}\",\"variables\":{{\"x\":\"{}\"}}}}",
        "a".repeat(11 * 1024 * 1024)
    );
    let r = app
        .http
        .post(format!("{}/graphql", app.base))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);

    // malformed JSON
    for body in ["{\"query\": ", "not json", "[1,2", ""] {
        let r = app
            .http
            .post(format!("{}/graphql", app.base))
            .header("content-type", "application/json")
            .bearer_auth(&admin)
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_client_error(), "{body}: {}", r.status());
    }
    // a query that is not GraphQL
    let v = app
        .gql(Some(&admin), "mutation { createOrganization(", json!({}))
        .await;
    assert_eq!(code(&v), Some("VALIDATION"));
    // too complex: many aliases
    let wide: String = (0..1200).map(|i| format!("a{i}:me{{id}} ")).collect();
    let v = app.gql(Some(&admin), &format!("{{{wide}}}"), json!({})).await;
    assert_eq!(code(&v), Some("VALIDATION"));

    assert_eq!(app.audit_count().await, before);
    still_serving(&app).await;
}

#[tokio::test]
async fn the_standard_introspection_query_still_works() {
    let app = TestApp::spawn().await;
    let v = app.gql(None, INTROSPECTION, json!({})).await;
    assert!(v.get("errors").is_none(), "{v}");
    assert_eq!(v["data"]["__schema"]["queryType"]["name"], "Query");
}

#[tokio::test]
async fn graphiql_health_ready_and_metrics() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    app.ok(Some(&admin), "{campaigns{id}}", json!({})).await;
    let page = app
        .http
        .get(format!("{}/graphql", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("/graphiql/graphiql.min.js"));
    assert!(!html.contains("http://") && !html.contains("https://"), "no CDN");
    for asset in [
        "graphiql.min.js",
        "graphiql.min.css",
        "react.production.min.js",
        "react-dom.production.min.js",
    ] {
        let r = app
            .http
            .get(format!("{}/graphiql/{asset}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{asset}");
        assert!(r.bytes().await.unwrap().len() > 1000);
    }
    let r = app.http.get(format!("{}/ready", app.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let m = app
        .http
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(m.contains("songnuan_graphql_operations_total"), "{m}");
    assert!(m.contains("operation=\"campaigns\""));
    assert!(m.contains("songnuan_graphql_operation_seconds_bucket"));
    assert!(m.contains("songnuan_http_requests_total"));
}

/// graphql-js `getIntrospectionQuery()` as GraphiQL and code generators send it.
const INTROSPECTION: &str = r#"
query IntrospectionQuery {
  __schema {
    queryType { name }
    mutationType { name }
    subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) {
    name description
    args { ...InputValue }
    type { ...TypeRef }
    isDeprecated deprecationReason
  }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } } }
}
"#;
