//! A fake group robot on loopback, for tests and local runs: a real HTTP server (axum) taking
//! the text messages `domain::work::reminders` posts to `SONGNUAN_ROBOT_WEBHOOK`, in both
//! robots' shapes:
//!
//! - 企业微信 `POST /cgi-bin/webhook/send?key=…`,
//!   `{"msgtype":"text","text":{"content":…,"mentioned_list":[…]}}`;
//! - 钉钉 `POST /robot/send?access_token=…`,
//!   `{"msgtype":"text","text":{"content":…},"at":{"atUserIds":[…],"isAtAll":false}}`.
//!
//! Like the real robots it answers HTTP 200 `{"errcode":0,"errmsg":"ok"}` when it takes a
//! message and HTTP 200 with a non-zero `errcode` when it refuses one (unknown key, not a text
//! message, empty content, rate limit), and each robot reads only its own mention field — so a
//! test sees what each robot would ring. It records every request (taken or not) and every
//! message taken, and on command answers the next requests HTTP 500, refuses them with a
//! non-zero `errcode`, answers slowly (the message taken, the answer late: past the client's
//! timeout the answer is lost), or stalls them (the message not taken: the client times out).
//! The real robots de-duplicate nothing and cannot be asked what they received; neither can
//! this fake, so a test sees exactly how often a message would reach the group.
use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The webhook key (企业微信 `key`, 钉钉 `access_token`) the fake accepts.
pub const KEY: &str = "fake-robot-key-0001";

/// Which robot a request was addressed to (by its path).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Robot {
    /// 企业微信 `/cgi-bin/webhook/send?key=…`.
    WeCom,
    /// 钉钉 `/robot/send?access_token=…`.
    DingTalk,
}

/// What the fake does with one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// Takes the message, answers `errcode` 0 at once.
    Accept,
    /// Answers HTTP 500 (the robot's server failing); takes nothing.
    Fail,
    /// Answers HTTP 200 with the robot's rate-limit `errcode` (企业微信 45009, 钉钉 130101),
    /// as the real robots refuse; takes nothing.
    Refuse,
    /// Takes the message at once and answers after this long. Past the client's timeout the
    /// message has reached the group but the client never learns it.
    Slow(Duration),
    /// Answers HTTP 504 after this long without taking the message. Past the client's
    /// timeout the client sees the same timeout as with `Slow`, but nothing reached the group.
    Stall(Duration),
}

/// One request as the robot received it, with what it answered.
#[derive(Clone, Debug)]
pub struct RobotRequest {
    pub robot: Robot,
    /// The `key` / `access_token` sent.
    pub key: Option<String>,
    pub body: Value,
    pub behaviour: Behaviour,
    /// The HTTP status answered (or to be answered, for a request still waiting).
    pub status: u16,
    /// The `errcode` answered (none for the HTTP 504, which has no JSON body).
    pub errcode: Option<i64>,
    /// Whether the message was taken (reached the group).
    pub taken: bool,
    /// When it arrived.
    pub at: Instant,
}

/// A message the robot took, as the group would see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RobotMessage {
    pub robot: Robot,
    pub content: String,
    /// The users @-mentioned, read from this robot's own field only (企业微信
    /// `text.mentioned_list`, 钉钉 `at.atUserIds`).
    pub mentioned: Vec<String>,
}

#[derive(Default)]
struct Inner {
    requests: Mutex<Vec<RobotRequest>>,
    messages: Mutex<Vec<RobotMessage>>,
    /// Behaviours for the next requests, in order; then `default`.
    next: Mutex<VecDeque<Behaviour>>,
    /// For requests with nothing queued: `None` is `Accept`.
    default: Mutex<Option<Behaviour>>,
}

#[derive(Clone)]
pub struct FakeRobot {
    /// The server's base address, e.g. `http://127.0.0.1:40123`.
    pub base: String,
    inner: Arc<Inner>,
}

impl FakeRobot {
    /// Starts the fake on 127.0.0.1 (a free port), taking everything.
    pub async fn start() -> FakeRobot {
        FakeRobot::start_on("127.0.0.1:0").await
    }

    /// Starts the fake on `addr` (e.g. "127.0.0.1:9600" for a local run).
    pub async fn start_on(addr: &str) -> FakeRobot {
        let inner = Arc::new(Inner::default());
        let app = Router::new()
            .route("/cgi-bin/webhook/send", post(wecom))
            .route("/robot/send", post(dingtalk))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .expect("bind fake robot");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeRobot {
            base: format!("http://{addr}"),
            inner,
        }
    }

    /// The 企业微信 webhook address with the right key.
    pub fn wecom_url(&self) -> String {
        format!("{}/cgi-bin/webhook/send?key={KEY}", self.base)
    }

    /// The 钉钉 webhook address with the right token.
    pub fn dingtalk_url(&self) -> String {
        format!("{}/robot/send?access_token={KEY}", self.base)
    }

    /// The settings that point the API at this fake (`SONGNUAN_ROBOT_WEBHOOK`, 企业微信 shape).
    pub fn settings(&self) -> Vec<(&'static str, String)> {
        vec![("SONGNUAN_ROBOT_WEBHOOK", self.wecom_url())]
    }

    /// The next request gets `b` (after those already queued).
    pub fn then(&self, b: Behaviour) {
        self.inner.next.lock().unwrap().push_back(b);
    }

    /// The next `n` requests are answered HTTP 500.
    pub fn fail_next(&self, n: usize) {
        (0..n).for_each(|_| self.then(Behaviour::Fail));
    }

    /// The next `n` requests are refused with a non-zero `errcode` (HTTP 200).
    pub fn refuse_next(&self, n: usize) {
        (0..n).for_each(|_| self.then(Behaviour::Refuse));
    }

    /// The next `n` requests wait `d` and are answered HTTP 504, their messages not taken.
    pub fn stall_next(&self, n: usize, d: Duration) {
        (0..n).for_each(|_| self.then(Behaviour::Stall(d)));
    }

    /// Requests with nothing queued are taken at once and answered after `d` (`ZERO`: at once).
    pub fn answer_after(&self, d: Duration) {
        *self.inner.default.lock().unwrap() = (!d.is_zero()).then_some(Behaviour::Slow(d));
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<RobotRequest> {
        self.inner.requests.lock().unwrap().clone()
    }

    /// Every message taken, in order (a message sent twice is here twice).
    pub fn messages(&self) -> Vec<RobotMessage> {
        self.inner.messages.lock().unwrap().clone()
    }

    /// The bodies of the requests whose message was taken, as sent.
    pub fn taken_bodies(&self) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r.taken)
            .map(|r| r.body)
            .collect()
    }
}

type Params = Query<HashMap<String, String>>;

async fn wecom(State(inner): State<Arc<Inner>>, Query(mut q): Params, body: String) -> Response {
    receive(&inner, Robot::WeCom, q.remove("key"), &body).await
}

async fn dingtalk(State(inner): State<Arc<Inner>>, Query(mut q): Params, body: String) -> Response {
    receive(&inner, Robot::DingTalk, q.remove("access_token"), &body).await
}

/// The robot's answer to a message it does not take: (errcode, errmsg), in each robot's
/// manner (the codes the real ones use for these cases).
fn refusal(robot: Robot, why: Refusal) -> (i64, &'static str) {
    match (robot, why) {
        (Robot::WeCom, Refusal::Key) => (93000, "invalid webhook url"),
        (Robot::WeCom, Refusal::Body) => (40008, "invalid message type"),
        (Robot::WeCom, Refusal::Rate) => (45009, "api freq out of limit"),
        (Robot::DingTalk, Refusal::Key) => (300001, "token is not exist"),
        (Robot::DingTalk, Refusal::Body) => (40035, "缺少参数 json"),
        (Robot::DingTalk, Refusal::Rate) => (130101, "send too fast, exceed 20 times per minute"),
    }
}

#[derive(Clone, Copy)]
enum Refusal {
    Key,
    Body,
    Rate,
}

/// The message in `body` as `robot` reads it, or why it refuses it.
fn read(robot: Robot, key: Option<&str>, body: &str) -> Result<RobotMessage, Refusal> {
    if key != Some(KEY) {
        return Err(Refusal::Key);
    }
    let v: Value = serde_json::from_str(body).map_err(|_| Refusal::Body)?;
    let content = v["text"]["content"].as_str().unwrap_or_default();
    if v["msgtype"] != "text" || content.is_empty() {
        return Err(Refusal::Body);
    }
    let mentioned = match robot {
        Robot::WeCom => &v["text"]["mentioned_list"],
        Robot::DingTalk => &v["at"]["atUserIds"],
    };
    Ok(RobotMessage {
        robot,
        content: content.to_string(),
        mentioned: mentioned
            .as_array()
            .map(|a| a.iter().filter_map(|m| m.as_str().map(str::to_string)).collect())
            .unwrap_or_default(),
    })
}

async fn receive(inner: &Inner, robot: Robot, key: Option<String>, body: &str) -> Response {
    let behaviour = inner
        .next
        .lock()
        .unwrap()
        .pop_front()
        .or(*inner.default.lock().unwrap())
        .unwrap_or(Behaviour::Accept);
    let message = read(robot, key.as_deref(), body);
    // What it answers, decided (and recorded) on arrival, so a test sees a request that is
    // still waiting to be answered.
    let (status, answer, taken, delay) = match (behaviour, &message) {
        (Behaviour::Fail, _) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Some((-1, "system busy")),
            false,
            Duration::ZERO,
        ),
        (Behaviour::Stall(d), _) => (StatusCode::GATEWAY_TIMEOUT, None, false, d),
        (_, Err(why)) => (StatusCode::OK, Some(refusal(robot, *why)), false, Duration::ZERO),
        (Behaviour::Refuse, Ok(_)) => (
            StatusCode::OK,
            Some(refusal(robot, Refusal::Rate)),
            false,
            Duration::ZERO,
        ),
        (Behaviour::Accept, Ok(_)) => (StatusCode::OK, Some((0, "ok")), true, Duration::ZERO),
        (Behaviour::Slow(d), Ok(_)) => (StatusCode::OK, Some((0, "ok")), true, d),
    };
    inner.requests.lock().unwrap().push(RobotRequest {
        robot,
        key,
        body: serde_json::from_str(body).unwrap_or(Value::String(body.to_string())),
        behaviour,
        status: status.as_u16(),
        errcode: answer.map(|(code, _)| code),
        taken,
        at: Instant::now(),
    });
    if taken && let Ok(m) = message {
        inner.messages.lock().unwrap().push(m);
    }
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    match answer {
        Some((errcode, errmsg)) => {
            (status, Json(json!({"errcode": errcode, "errmsg": errmsg}))).into_response()
        }
        // A gateway's timeout page, not the robot's JSON.
        None => (status, "504 Gateway Time-out").into_response(),
    }
}

/// The messages taken per content: how often each reached the group.
pub fn counts(messages: &[RobotMessage]) -> HashMap<String, usize> {
    let mut n = HashMap::new();
    for m in messages {
        *n.entry(m.content.clone()).or_insert(0) += 1;
    }
    n
}
