//! A fake provincial aid platform on loopback, for tests and local runs: a real HTTP server
//! (axum) taking the batch push of `domain::work::province` (`POST /api/aid-records/batch`,
//! bearer token, `{"records":[{"idempotencyKey",…}]}`) and answering the receipt
//! `{"records":[{"idempotencyKey","reference"}]}`.
//!
//! Like a real platform it de-duplicates by the idempotency key: the same key always gets the
//! same reference, however often it is sent. It records every request it receives (accepted or
//! not), checks the token (401 otherwise), and on command answers HTTP 503 to the next N
//! requests, records a request and then answers only after a delay (slowly, or past the
//! client's timeout: "accepted, answer lost"), or refuses single records by key.
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The token the fake accepts (`Authorization: Bearer …`).
pub const TOKEN: &str = "fake-province-token-0001";

/// One request as the platform received it.
#[derive(Clone, Debug)]
pub struct PushRequest {
    pub authorization: Option<String>,
    /// The records, as sent.
    pub records: Vec<Value>,
    /// What the fake answered: the HTTP status.
    pub status: u16,
}

impl PushRequest {
    pub fn keys(&self) -> Vec<String> {
        self.records
            .iter()
            .map(|r| r["idempotencyKey"].as_str().unwrap_or_default().to_string())
            .collect()
    }
}

#[derive(Default)]
struct Inner {
    requests: Mutex<Vec<PushRequest>>,
    /// Reference per idempotency key (the platform's de-duplication).
    references: Mutex<HashMap<String, String>>,
    /// The first record received per key.
    records: Mutex<HashMap<String, Value>>,
    /// The next this many requests get HTTP 503.
    fail_next: AtomicU64,
    /// Accepted requests wait this long (ms) after recording before answering.
    delay_ms: AtomicU64,
    refused: Mutex<HashSet<String>>,
    seq: AtomicU64,
}

#[derive(Clone)]
pub struct FakeProvince {
    /// The batch endpoint (`SONGNUAN_PROVINCE_URL`).
    pub url: String,
    inner: Arc<Inner>,
}

impl FakeProvince {
    /// Starts the fake on 127.0.0.1 (a free port), accepting everything.
    pub async fn start() -> FakeProvince {
        FakeProvince::start_on("127.0.0.1:0").await
    }

    /// Starts the fake on `addr` (e.g. "127.0.0.1:9500" for a local run).
    pub async fn start_on(addr: &str) -> FakeProvince {
        let inner = Arc::new(Inner::default());
        let app = Router::new()
            .route("/api/aid-records/batch", post(batch))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .expect("bind fake province");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeProvince {
            url: format!("http://{addr}/api/aid-records/batch"),
            inner,
        }
    }

    /// The settings that point the API at this fake (`SONGNUAN_PROVINCE_URL`, `_TOKEN`).
    pub fn settings(&self) -> Vec<(&'static str, String)> {
        vec![
            ("SONGNUAN_PROVINCE_URL", self.url.clone()),
            ("SONGNUAN_PROVINCE_TOKEN", TOKEN.into()),
        ]
    }

    /// The next `n` requests are answered HTTP 503 (nothing recorded as accepted).
    pub fn fail_next(&self, n: u64) {
        self.inner.fail_next.store(n, Ordering::SeqCst);
    }

    /// Accepted requests are recorded (references assigned) and answered only after `delay`:
    /// slowly, or — past the client's timeout — never seen by it.
    pub fn answer_after(&self, delay: Duration) {
        self.inner
            .delay_ms
            .store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    /// Records with this key are refused (an `error` in the receipt, no reference).
    pub fn refuse(&self, key: &str) {
        self.inner.refused.lock().unwrap().insert(key.to_string());
    }

    /// Records with this key are accepted again.
    pub fn accept(&self, key: &str) {
        self.inner.refused.lock().unwrap().remove(key);
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<PushRequest> {
        self.inner.requests.lock().unwrap().clone()
    }

    /// The reference given to each key.
    pub fn references(&self) -> HashMap<String, String> {
        self.inner.references.lock().unwrap().clone()
    }

    /// The first record received with each key.
    pub fn records(&self) -> HashMap<String, Value> {
        self.inner.records.lock().unwrap().clone()
    }
}

async fn batch(State(inner): State<Arc<Inner>>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let records = body["records"].as_array().cloned().unwrap_or_default();
    let log = |status: StatusCode| {
        inner.requests.lock().unwrap().push(PushRequest {
            authorization: authorization.clone(),
            records: records.clone(),
            status: status.as_u16(),
        });
    };
    if authorization.as_deref() != Some(&format!("Bearer {TOKEN}")) {
        log(StatusCode::UNAUTHORIZED);
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"code": "UNAUTHORIZED", "message": "访问令牌无效"})),
        )
            .into_response();
    }
    let failing = inner
        .fail_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if failing {
        log(StatusCode::SERVICE_UNAVAILABLE);
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"code": "BUSY", "message": "系统繁忙，请稍后重试"})),
        )
            .into_response();
    }
    log(StatusCode::OK);
    let mut answers = Vec::with_capacity(records.len());
    for r in &records {
        let key = r["idempotencyKey"].as_str().unwrap_or_default().to_string();
        if key.is_empty() || inner.refused.lock().unwrap().contains(&key) {
            answers.push(json!({"idempotencyKey": key, "error": "记录不符合录入要求"}));
            continue;
        }
        let reference = inner
            .references
            .lock()
            .unwrap()
            .entry(key.clone())
            .or_insert_with(|| {
                let n = inner.seq.fetch_add(1, Ordering::SeqCst) + 1;
                format!("YNJZ-{n:06}")
            })
            .clone();
        inner
            .records
            .lock()
            .unwrap()
            .entry(key.clone())
            .or_insert_with(|| r.clone());
        answers.push(json!({"idempotencyKey": key, "reference": reference}));
    }
    let delay = inner.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    (StatusCode::OK, Json(json!({"records": answers}))).into_response()
}
