//! A fake SMS provider on loopback, for tests and local runs: a real HTTP server (axum) in the
//! shape `domain::notices::HttpProvider` speaks (Aliyun `SendSms` / `QuerySendDetails`-like
//! JSON on `/sms/send` and `/sms/query`). It records every send (out-id, phone, template
//! parameters), answers queries from what it recorded, and on command refuses, answers slowly,
//! records a send and then sleeps past the client's timeout ("accepted, answer lost"), or fails
//! its queries.
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One send request as the provider received it.
#[derive(Clone, Debug)]
pub struct SentSms {
    pub out_id: String,
    pub phone: String,
    pub sign: String,
    pub template: String,
    /// `TemplateParam`, parsed.
    pub params: Value,
    pub authorization: Option<String>,
}

/// What the fake does with a send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// Records and accepts.
    Accept,
    /// Refuses (`Code` ≠ OK), records nothing.
    Refuse,
    /// Records, then answers after this long (past the client's timeout: the answer is lost).
    RecordThenStall(Duration),
    /// Answers after this long, then records and accepts.
    Slow(Duration),
}

type Rule = Box<dyn Fn(&str, u64) -> Behaviour + Send + Sync>;

struct Inner {
    sends: Mutex<Vec<SentSms>>,
    queries: AtomicU64,
    /// When set, `/sms/query` answers HTTP 503 (the provider cannot say).
    queries_fail: AtomicBool,
    /// Send requests that reached the fake, recorded or not.
    requests: AtomicU64,
    /// Send requests per out-id so far.
    per_out_id: Mutex<HashMap<String, u64>>,
    /// Decides each send from its out-id and how many send requests of it came before.
    rule: Mutex<Rule>,
}

#[derive(Clone)]
pub struct FakeSms {
    pub url: String,
    inner: Arc<Inner>,
}

impl FakeSms {
    /// Starts the fake on 127.0.0.1 (a free port), accepting everything.
    pub async fn start() -> FakeSms {
        FakeSms::start_on("127.0.0.1:0").await
    }

    /// Starts the fake on `addr` (e.g. "127.0.0.1:9400" for a local run), accepting everything.
    pub async fn start_on(addr: &str) -> FakeSms {
        let inner = Arc::new(Inner {
            sends: Mutex::new(Vec::new()),
            queries: AtomicU64::new(0),
            queries_fail: AtomicBool::new(false),
            requests: AtomicU64::new(0),
            per_out_id: Mutex::new(HashMap::new()),
            rule: Mutex::new(Box::new(|_, _| Behaviour::Accept)),
        });
        let app = Router::new()
            .route("/sms/send", post(send))
            .route("/sms/query", post(query))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind(addr).await.expect("bind fake sms");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeSms {
            url: format!("http://{addr}"),
            inner,
        }
    }

    /// From now on, `rule(out_id, earlier send requests of it)` decides each send.
    pub fn set_rule(&self, rule: impl Fn(&str, u64) -> Behaviour + Send + Sync + 'static) {
        *self.inner.rule.lock().unwrap() = Box::new(rule);
    }

    /// Makes `/sms/query` fail (HTTP 503) or answer again.
    pub fn fail_queries(&self, fail: bool) {
        self.inner.queries_fail.store(fail, Ordering::SeqCst);
    }

    /// The settings that make the API use this fake (`SONGNUAN_SMS_*`).
    pub fn settings(&self) -> Vec<(&'static str, String)> {
        vec![
            ("SONGNUAN_SMS_PROVIDER", "http".into()),
            ("SONGNUAN_SMS_URL", self.url.clone()),
            ("SONGNUAN_SMS_KEY", "fake-access-key".into()),
            ("SONGNUAN_SMS_SIGN", "送暖".into()),
            ("SONGNUAN_SMS_TEMPLATE", "SMS_0001".into()),
        ]
    }

    /// Every recorded send, in order.
    pub fn sends(&self) -> Vec<SentSms> {
        self.inner.sends.lock().unwrap().clone()
    }

    /// Send requests received (recorded or refused).
    pub fn send_requests(&self) -> u64 {
        self.inner.requests.load(Ordering::SeqCst)
    }

    pub fn queries(&self) -> u64 {
        self.inner.queries.load(Ordering::SeqCst)
    }

    /// Out-ids recorded more than once.
    pub fn duplicates(&self) -> Vec<String> {
        let mut seen = HashSet::new();
        self.sends()
            .into_iter()
            .filter(|s| !seen.insert(s.out_id.clone()))
            .map(|s| s.out_id)
            .collect()
    }
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or_default().to_string()
}

async fn send(State(inner): State<Arc<Inner>>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    inner.requests.fetch_add(1, Ordering::SeqCst);
    let out_id = text(&body, "OutId");
    let sms = SentSms {
        out_id: out_id.clone(),
        phone: text(&body, "PhoneNumbers"),
        sign: text(&body, "SignName"),
        template: text(&body, "TemplateCode"),
        params: serde_json::from_str(&text(&body, "TemplateParam")).unwrap_or(Value::Null),
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    };
    let earlier = {
        let mut seen = inner.per_out_id.lock().unwrap();
        let n = seen.entry(out_id.clone()).or_insert(0);
        *n += 1;
        *n - 1
    };
    let behaviour = (inner.rule.lock().unwrap())(&out_id, earlier);
    let ok =
        Json(json!({"Code": "OK", "Message": "OK", "BizId": format!("biz-{out_id}"), "RequestId": "fake"}));
    match behaviour {
        Behaviour::Accept => {
            inner.sends.lock().unwrap().push(sms);
            ok.into_response()
        }
        Behaviour::Refuse => (
            StatusCode::OK,
            Json(json!({"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发流控（测试）"})),
        )
            .into_response(),
        Behaviour::RecordThenStall(d) => {
            inner.sends.lock().unwrap().push(sms);
            tokio::time::sleep(d).await;
            ok.into_response()
        }
        Behaviour::Slow(d) => {
            tokio::time::sleep(d).await;
            inner.sends.lock().unwrap().push(sms);
            ok.into_response()
        }
    }
}

async fn query(State(inner): State<Arc<Inner>>, Json(body): Json<Value>) -> Response {
    inner.queries.fetch_add(1, Ordering::SeqCst);
    if inner.queries_fail.load(Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, "busy").into_response();
    }
    let out_id = text(&body, "OutId");
    let details: Vec<Value> = inner
        .sends
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.out_id == out_id)
        .map(|s| json!({"OutId": s.out_id, "PhoneNum": s.phone, "SendStatus": 3}))
        .collect();
    Json(json!({"Code": "OK", "TotalCount": details.len(), "SmsSendDetailDTOs": details})).into_response()
}
