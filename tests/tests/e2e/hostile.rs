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
    // Not on the API's port: anyone who reaches the API would read them.
    let r = app
        .http
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(code(&body), Some("NOT_FOUND"));
    // On their own address (`SONGNUAN_METRICS_LISTEN`), as `api serve` does.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let metrics_addr = listener.local_addr().unwrap();
    tokio::spawn(api::serve_metrics(
        listener,
        api::telemetry::metrics_handle(),
        std::future::pending(),
    ));
    let m = app
        .http
        .get(format!("http://{metrics_addr}/metrics"))
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

/// POSTs a body as it is and returns the status and the JSON answer (a refusal must be JSON).
async fn post_raw(app: &TestApp, body: &str) -> (u16, serde_json::Value) {
    let r = app
        .http
        .post(format!("{}/graphql", app.base))
        .header("content-type", "application/json")
        .body(body.to_string())
        .timeout(std::time::Duration::from_secs(10))
        .send()
        .await
        .expect("answered within 10 s");
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    let v = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
    (status, v)
}

/// `F0` spreads `F1` twice, and so on: 2^n fields once expanded, a few bytes per level.
fn doubling_chain(n: usize) -> String {
    let mut q = String::from("query { ...F0 }");
    for i in 0..n {
        q.push_str(&format!(
            " fragment F{i} on Query {{ ...F{j} ...F{j} }}",
            j = i + 1
        ));
    }
    q.push_str(&format!(" fragment F{n} on Query {{ __typename }}"));
    q
}

#[tokio::test]
async fn fragment_cycles_and_doubling_chains_are_refused_at_once_without_login() {
    // A server stuck in a bomb holds this test's runtime thread too, so no client timeout
    // could fire: a watchdog thread ends the test binary instead of letting it hang.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watched = done.clone();
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(60));
        if !watched.load(std::sync::atomic::Ordering::SeqCst) {
            eprintln!("fragment bomb test: no answer after 60 s, the server is stuck");
            std::process::abort();
        }
    });
    let app = TestApp::spawn().await;
    let cycle = "query { ...F0 } fragment F0 on Query { ...F1 ...F1 } fragment F1 on Query { ...F0 ...F0 }";
    let started = std::time::Instant::now();
    let (status, v) = post_raw(&app, &json!({ "query": cycle }).to_string()).await;
    assert_eq!(status, 200);
    assert_eq!(code(&v), Some("VALIDATION"), "{v}");
    assert!(
        v["errors"][0]["message"].as_str().unwrap().contains("循环引用"),
        "{v}"
    );
    // Two copies side by side, then the health check: nothing is left spinning.
    let (cycle_body, chain_body) = (
        json!({ "query": cycle }).to_string(),
        json!({ "query": doubling_chain(23) }).to_string(),
    );
    let (a, b) = tokio::join!(post_raw(&app, &cycle_body), post_raw(&app, &chain_body));
    assert_eq!(code(&a.1), Some("VALIDATION"));
    assert_eq!(code(&b.1), Some("VALIDATION"), "{}", b.1);
    assert!(b.1["errors"][0]["message"].as_str().unwrap().contains("查询过大"));
    // 2^60 fields in about 3 KB.
    let (_, v) = post_raw(&app, &json!({ "query": doubling_chain(60) }).to_string()).await;
    assert_eq!(code(&v), Some("VALIDATION"));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    still_serving(&app).await;
    // A chain that expands to little is answered as usual.
    let admin = app.admin().await;
    let v = app.ok(Some(&admin), &doubling_chain(4), json!({})).await;
    assert_eq!(v["__typename"], "Query");
    done.store(true, std::sync::atomic::Ordering::SeqCst);
}

#[tokio::test]
async fn fields_whose_cost_grows_with_the_data_count_as_such() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let aliases = |n: usize| {
        let fields: Vec<String> = (0..n)
            .map(|i| format!("a{i}: verifyAuditChain {{ ok }}"))
            .collect();
        format!("{{ {} }}", fields.join(" "))
    };
    let started = std::time::Instant::now();
    let v = app.gql(Some(&admin), &aliases(490), json!({})).await;
    assert_eq!(code(&v), Some("VALIDATION"), "{v}");
    assert!(v["data"].is_null(), "nothing ran: {v}");
    let v = app.gql(Some(&admin), &aliases(3), json!({})).await;
    assert_eq!(code(&v), Some("VALIDATION"), "{v}");
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    let v = app.ok(Some(&admin), &aliases(2), json!({})).await;
    assert_eq!(v["a1"]["ok"], true);
    // Progress counts more than a plain field: 100 aliases of it are too many for one request.
    let id = app.create_campaign(&admin, "进度").await;
    let progress: Vec<String> = (0..100)
        .map(|i| format!("p{i}: campaign(id: \"{id}\") {{ progress {{ verifiedCount }} }}"))
        .collect();
    let v = app
        .gql(Some(&admin), &format!("{{ {} }}", progress.join(" ")), json!({}))
        .await;
    assert_eq!(code(&v), Some("VALIDATION"), "{v}");
}

#[tokio::test]
async fn enabling_an_enabled_user_changes_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let org = app.root_org(&admin).await;
    let token = app.user_token(&admin, "caseworker1", &["CASEWORKER"], &org).await;
    let me = app.ok(Some(&token), "{me{id}}", json!({})).await;
    let id = me["me"]["id"].as_str().unwrap().to_string();
    let before = app.audit_count().await;
    let v = app
        .ok(
            Some(&admin),
            "mutation($id:ID!){enableUser(id:$id){id disabled}}",
            json!({"id": id}),
        )
        .await;
    assert_eq!(v["enableUser"]["disabled"], false);
    assert_eq!(app.audit_count().await, before, "no audit entry for a no-op");
    // The user is still logged in.
    app.ok(Some(&token), "{me{id}}", json!({})).await;
    // A real change still logs out and is audited, once.
    app.ok(
        Some(&admin),
        "mutation($id:ID!){disableUser(id:$id){id}}",
        json!({"id": id}),
    )
    .await;
    assert_eq!(app.audit_count().await, before + 1);
    let v = app.gql(Some(&token), "{me{id}}", json!({})).await;
    assert_eq!(code(&v), Some("UNAUTHENTICATED"));
    app.ok(
        Some(&admin),
        "mutation($id:ID!){disableUser(id:$id){id}}",
        json!({"id": id}),
    )
    .await;
    assert_eq!(app.audit_count().await, before + 1, "disabling twice writes once");
}

#[tokio::test]
async fn malformed_bodies_and_odd_paths_get_the_contract_shape() {
    let app = TestApp::spawn().await;
    let zh = |v: &serde_json::Value| {
        let m = v["errors"][0]["message"].as_str().unwrap_or_default().to_string();
        assert!(
            m.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "zh-CN message: {m}"
        );
        assert!(
            !m.contains("Error(") && !m.contains("line") && !m.contains("Batch"),
            "no Rust debug text: {m}"
        );
    };
    for body in [
        r#"[{"query":"{__typename}"},{"query":"{__typename}"}]"#,
        r#"{"query": "{__typename}""#,
        r#"not json at all"#,
        r#"{"query": 42}"#,
        r#"{"variables": {}}"#,
    ] {
        let (status, v) = post_raw(&app, body).await;
        assert_eq!(status, 400, "{body}: {v}");
        assert_eq!(code(&v), Some("VALIDATION"), "{body}: {v}");
        zh(&v);
    }
    // Unknown paths and methods.
    let r = app
        .http
        .get(format!("{}/nowhere", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(code(&v), Some("NOT_FOUND"));
    let r = app
        .http
        .delete(format!("{}/graphql", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(code(&v), Some("VALIDATION"));
    zh(&v);
    // A chunked body (no Content-Length) over the 2 MiB limit: 413, as a declared one is.
    let (status, v) = chunked_post(&app, 3 * 1024 * 1024).await;
    assert_eq!(status, 413, "{v}");
    assert_eq!(code(&v), Some("VALIDATION"));
    let (status, _) = chunked_post(&app, 1024).await;
    assert_eq!(status, 200);
    // Dates outside 1900–2200 in and out.
    let admin = app.admin().await;
    for (date, days) in [
        ("9999-12-31", 3660),
        ("2200-12-20", 3660),
        ("1899-12-31", 1),
        ("2025-1-5", 1),
    ] {
        let v = app
            .gql(
                Some(&admin),
                "query($d:Date!,$n:Int!){workingDaysAfter(date:$d,days:$n)}",
                json!({"d": date, "n": days}),
            )
            .await;
        assert_eq!(code(&v), Some("VALIDATION"), "{date}+{days}: {v}");
    }
    let v = app
        .ok(
            Some(&admin),
            "{workingDaysAfter(date:\"2200-12-01\",days:3)}",
            json!({}),
        )
        .await;
    assert_eq!(v["workingDaysAfter"], "2200-12-04");
    still_serving(&app).await;
}

/// Sends `size` bytes of a JSON body in 64 KiB chunks without a Content-Length and returns the
/// status and JSON answer.
async fn chunked_post(app: &TestApp, size: usize) -> (u16, serde_json::Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.base.trim_start_matches("http://");
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    // {"query":"{__typename}","x":"aaaa…"}
    let mut body = br#"{"query":"{__typename}","x":""#.to_vec();
    body.resize(size.saturating_sub(2).max(body.len()), b'a');
    body.extend_from_slice(br#""}"#);
    for chunk in body.chunks(64 * 1024) {
        let frame = [format!("{:x}\r\n", chunk.len()).as_bytes(), chunk, b"\r\n"].concat();
        // The server may answer and close before the whole body is sent.
        if conn.write_all(&frame).await.is_err() {
            break;
        }
    }
    let _ = conn.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), conn.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer);
    let status: u16 = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let json_start = text.find("\r\n\r\n").map(|i| i + 4).unwrap_or(0);
    let body = &text[json_start..];
    // The answer itself may be chunked: take the JSON object inside.
    let v = body
        .find('{')
        .and_then(|a| body.rfind('}').map(|b| &body[a..=b]))
        .and_then(|j| serde_json::from_str(j).ok())
        .unwrap_or(serde_json::Value::Null);
    (status, v)
}

#[tokio::test]
async fn a_stopping_server_waits_for_requests_only_as_long_as_its_grace() {
    use tokio::io::AsyncWriteExt;
    let app = TestApp::spawn().await;
    let mut settings = app.settings.clone();
    settings.shutdown_grace = std::time::Duration::from_secs(1);
    let state = api::prepare(settings).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(api::serve(listener, state, async {
        let _ = stopped.await;
    }));
    // A request in flight that never finishes: its body stops half-way.
    let mut stuck = tokio::net::TcpStream::connect(addr).await.unwrap();
    stuck
        .write_all(
            format!("POST /graphql HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"query\":")
                .as_bytes(),
        )
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let started = std::time::Instant::now();
    stop.send(()).unwrap();
    let ended = tokio::time::timeout(std::time::Duration::from_secs(10), server).await;
    assert!(ended.is_ok(), "the server was still draining after 10 s");
    let took = started.elapsed();
    assert!(
        took >= std::time::Duration::from_millis(900) && took < std::time::Duration::from_secs(5),
        "ended after {took:?}, grace 1 s"
    );
    drop(stuck);
}
