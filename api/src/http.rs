//! HTTP surface: `/graphql` (POST: the API; GET: offline GraphiQL), `/health`, `/ready`, plus
//! request limits and per-route metrics; `/metrics` on its own address (`metrics_router`).
//! Every refusal, down to an unknown path, has the contract's error shape.
use crate::AppState;
use crate::graphql::context::Caller;
use crate::runtime;
use async_graphql_axum::GraphQLRequest;
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, MatchedPath, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use http_body_util::BodyExt;
use metrics_exporter_prometheus::PrometheusHandle;
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower_http::trace::TraceLayer;

// Kept here for callers of `api::http::execute`; the request runtime is `crate::runtime`.
pub use crate::runtime::execute;

/// JSON bodies: 2 MiB. Multipart uploads (spreadsheets): 20 MiB.
pub const JSON_LIMIT: usize = 2 * 1024 * 1024;
pub const UPLOAD_LIMIT: usize = 20 * 1024 * 1024;

pub fn router(state: AppState) -> Router {
    let mut routes = Router::new()
        .route("/graphql", get(graphiql).post(graphql))
        .route("/graphiql/{file}", get(graphiql_asset))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/files/{id}", get(file));
    // The SMS receipt hook exists only when its secret is configured.
    if state.services.settings.sms.receipt_secret.is_some() {
        routes = routes.route(SMS_RECEIPT_PATH, post(sms_receipt));
    }
    routes
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(middleware::from_fn(limit_body))
        .layer(middleware::from_fn(http_metrics))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

fn bearer(headers: &HeaderMap) -> Option<Result<String, ()>> {
    let raw = headers.get(header::AUTHORIZATION)?;
    let text = raw.to_str().map_err(|_| ());
    Some(text.and_then(|t| {
        t.strip_prefix("Bearer ")
            .or_else(|| t.strip_prefix("bearer "))
            .map(|t| t.trim().to_string())
            .ok_or(())
    }))
}

fn client_addr(state: &AppState, headers: &HeaderMap, peer: SocketAddr) -> String {
    if state.services.settings.trust_forwarded_for
        && let Some(first) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
    {
        return first.trim().chars().take(64).collect();
    }
    peer.ip().to_string()
}

async fn graphql(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    req: GraphQLRequest<BadRequest>,
) -> Response {
    let (caller, data_version) = match bearer(&headers) {
        None => (Caller::Anonymous, None),
        Some(Err(())) => (
            Caller::Refused(Arc::new(domain::DomainError::unauthenticated())),
            None,
        ),
        Some(Ok(token)) => {
            match domain::auth::authenticate(&state.services.db, &state.services.settings, &token).await {
                Ok(a) => (Caller::Known(a.actor), Some(a.data_version)),
                Err(e) => (Caller::Refused(Arc::new(e)), None),
            }
        }
    };
    let req = req.into_inner();
    if req.query.trim().is_empty() {
        return refuse(StatusCode::BAD_REQUEST, "请求缺少查询（query）");
    }
    let addr = client_addr(&state, &headers, peer);
    runtime::answer(&state, caller, data_version, addr, req).await
}

async fn graphiql() -> Html<&'static str> {
    Html(include_str!("../assets/graphiql/index.html"))
}

async fn graphiql_asset(Path(file): Path<String>) -> Response {
    let (body, mime): (&'static [u8], &'static str) = match file.as_str() {
        "react.production.min.js" => (
            include_bytes!("../assets/graphiql/react.production.min.js"),
            "text/javascript; charset=utf-8",
        ),
        "react-dom.production.min.js" => (
            include_bytes!("../assets/graphiql/react-dom.production.min.js"),
            "text/javascript; charset=utf-8",
        ),
        "graphiql.min.js" => (
            include_bytes!("../assets/graphiql/graphiql.min.js"),
            "text/javascript; charset=utf-8",
        ),
        "graphiql.min.css" => (
            include_bytes!("../assets/graphiql/graphiql.min.css"),
            "text/css; charset=utf-8",
        ),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(mime)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            ),
        ],
        body,
    )
        .into_response()
}

async fn health() -> impl IntoResponse {
    axum::Json(json!({"status": "ok"}))
}

/// 200 when the database (and the queue, if configured) answers; 503 otherwise.
async fn ready(State(state): State<AppState>) -> Response {
    let db_ok = domain::db::ping(&state.services.db).await;
    let queue = match &state.redis {
        None => "embedded",
        Some(client) => {
            if redis_ping(client).await {
                "ok"
            } else {
                "unreachable"
            }
        }
    };
    let ok = db_ok && queue != "unreachable";
    let mut body = json!({
        "status": if ok { "ready" } else { "not ready" },
        "database": if db_ok { "ok" } else { "unreachable" },
        "queue": queue,
    });
    // The jobs as the outbox holds them (the truth in both modes): how many wait, run, failed,
    // and how long the oldest due one has waited. Informative: it never makes the answer 503.
    if db_ok && let Ok(s) = domain::work::relay::stats(&state.services.db).await {
        body["jobs"] = json!({
            "queued": s.queued,
            "running": s.running,
            "failed": s.failed,
            "oldestQueuedSeconds": s.oldest_queued_secs,
        });
    }
    let code = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, axum::Json(body)).into_response()
}

async fn redis_ping(client: &redis::Client) -> bool {
    let attempt = async {
        let mut conn = client.get_multiplexed_async_connection().await.ok()?;
        redis::cmd("PING").query_async::<String>(&mut conn).await.ok()
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(2), attempt).await,
        Ok(Some(_))
    )
}

/// The operations router: `/metrics` only, served on its own listen address
/// (`SONGNUAN_METRICS_LISTEN`), never on the API's port.
pub fn metrics_router(handle: PrometheusHandle) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .fallback(no_route)
        .with_state(handle)
}

async fn metrics(State(handle): State<PrometheusHandle>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        handle.render(),
    )
        .into_response()
}

/// A refusal in the contract's shape: `{"errors":[{"message", "extensions":{"code"}}]}`.
fn refuse_with(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({"errors": [{"message": message, "extensions": {"code": code}}]});
    (status, axum::Json(body)).into_response()
}

fn refuse(status: StatusCode, message: &str) -> Response {
    refuse_with(status, "VALIDATION", message)
}

fn too_large() -> Response {
    refuse(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!(
            "请求体过大（JSON 最多 {} MiB，上传最多 {} MiB）",
            JSON_LIMIT >> 20,
            UPLOAD_LIMIT >> 20
        ),
    )
}

/// A request body that is not one GraphQL request, answered in the contract's shape with a
/// zh-CN message (async-graphql-axum's own rejection is plain text with Rust debug output).
pub struct BadRequest(async_graphql::ParseRequestError);

impl From<async_graphql::ParseRequestError> for BadRequest {
    fn from(e: async_graphql::ParseRequestError) -> Self {
        BadRequest(e)
    }
}

impl IntoResponse for BadRequest {
    fn into_response(self) -> Response {
        use async_graphql::ParseRequestError as E;
        // A streamed upload cut by `limit_body` surfaces as a read error deep inside the
        // multipart parser; its text is the only mark it leaves.
        let cut = format!("{:?}", self.0).contains("length limit exceeded");
        let message = match &self.0 {
            _ if cut => return too_large(),
            E::PayloadTooLarge => return too_large(),
            E::UnsupportedBatch => "不支持批量请求：请求体应为一个 JSON 对象（含 query），不能是数组",
            E::InvalidRequest(_) => {
                "请求体不是有效的 GraphQL 请求：应为 JSON 对象，含字符串 query，可选 variables（对象）与 operationName"
            }
            E::Io(_) => "无法读取请求体",
            E::InvalidFilesMap(_) | E::InvalidMultipart(_) | E::MissingOperatorsPart | E::MissingMapPart => {
                "上传请求格式错误：应符合 GraphQL multipart 请求规范（operations、map 与文件部分）"
            }
            E::NotUpload | E::MissingFiles => "上传请求缺少文件",
            _ => "请求格式错误",
        };
        tracing::debug!(error = %self.0, "request body refused");
        refuse(StatusCode::BAD_REQUEST, message)
    }
}

pub const SMS_RECEIPT_PATH: &str = "/hooks/sms-receipt";
/// The header carrying `SONGNUAN_SMS_RECEIPT_SECRET` on a receipt push.
pub const SMS_RECEIPT_SECRET_HEADER: &str = "x-sms-receipt-secret";
/// A receipt push is at most this large (and `receipts::MAX_RECEIPTS` long).
pub const SMS_RECEIPT_LIMIT: usize = 256 * 1024;

/// `POST /hooks/sms-receipt`: the SMS provider's delivery reports (`domain::notices::receipts`).
/// Refused with 401 without the shared secret (compared in constant time); answers
/// `{"code":0}` as the providers expect, with what the push did.
async fn sms_receipt(State(state): State<AppState>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    use domain::notices::receipts;
    let Some(expected) = state.services.settings.sms.receipt_secret.as_deref() else {
        return no_route().await;
    };
    let given = headers
        .get(SMS_RECEIPT_SECRET_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !receipts::secret_matches(given, expected) {
        return refuse_with(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", "回执密钥缺失或错误");
    }
    if body.len() > SMS_RECEIPT_LIMIT {
        return too_large();
    }
    let list: Vec<receipts::Receipt> = match serde_json::from_slice(&body) {
        Ok(l) => l,
        Err(_) => return refuse(StatusCode::BAD_REQUEST, "回执应为 JSON 数组"),
    };
    if list.len() > receipts::MAX_RECEIPTS {
        return too_large();
    }
    match receipts::apply(&state.services, &list).await {
        Ok(done) => axum::Json(json!({
            "code": 0,
            "msg": "成功",
            "applied": done.applied,
            "unchanged": done.unchanged,
            "unknown": done.unknown,
        }))
        .into_response(),
        Err(e) => {
            tracing::error!(error = ?e, "短信回执处理失败");
            refuse_with(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", "内部错误")
        }
    }
}

/// `GET /files/{id}`: a generated report's file, for a bearer token that may read it (the
/// rules of `report(id)`, `domain::reports::download`): 401 without a valid token, 404 for a
/// report that does not exist, is not ready or belongs to a campaign the caller may not read,
/// 403 for a kind the caller may not read. The file name travels as RFC 5987 UTF-8
/// (`filename*=UTF-8''…`) with an ASCII fallback; the body is streamed from disk.
async fn file(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let token = match bearer(&headers) {
        Some(Ok(t)) => t,
        _ => {
            return refuse_with(
                StatusCode::UNAUTHORIZED,
                "UNAUTHENTICATED",
                "需要登录：请携带 Authorization: Bearer 令牌",
            );
        }
    };
    let actor = match domain::auth::authenticate(&state.services.db, &state.services.settings, &token).await {
        Ok(a) => a.actor,
        Err(e) => return domain_refusal(&e),
    };
    let Ok(id) = id.parse::<i64>() else {
        return refuse_with(StatusCode::NOT_FOUND, "NOT_FOUND", "没有这个文件");
    };
    let d = match domain::reports::download(&state.services, &actor, id).await {
        Ok(d) => d,
        Err(e) => return domain_refusal(&e),
    };
    let f = match tokio::fs::File::open(&d.path).await {
        Ok(f) => f,
        Err(e) => {
            tracing::error!(error = %e, "报表文件无法打开");
            return refuse_with(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", "内部错误");
        }
    };
    let stream = futures::stream::unfold(f, |mut f| async move {
        use tokio::io::AsyncReadExt;
        let mut buf = vec![0u8; 64 * 1024];
        match f.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(axum::body::Bytes::from(buf)), f))
            }
            Err(e) => Some((Err(e), f)),
        }
    });
    let mut resp = Body::from_stream(stream).into_response();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&d.content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&content_disposition(&d.file_name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if d.size > 0 {
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(d.size as u64));
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    resp
}

/// `attachment; filename="<ASCII fallback>"; filename*=UTF-8''<percent-encoded UTF-8>`
/// (RFC 6266 with the RFC 5987 encoding: everything but attr-char is %XX).
pub fn content_disposition(name: &str) -> String {
    let mut encoded = String::new();
    for b in name.as_bytes() {
        let c = *b as char;
        if c.is_ascii_alphanumeric() || "!#$&+-.^_`|~".contains(c) {
            encoded.push(c);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("bin");
    // Old clients read only `filename`: the name itself when it is plain ASCII, else a generic one.
    let plain = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    let fallback = if plain {
        name.to_string()
    } else {
        format!("report.{ext}")
    };
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

/// A domain refusal outside GraphQL, in the contract's shape with the matching HTTP status.
fn domain_refusal(e: &domain::DomainError) -> Response {
    let status = match e.code() {
        "UNAUTHENTICATED" => StatusCode::UNAUTHORIZED,
        "FORBIDDEN" => StatusCode::FORBIDDEN,
        "NOT_FOUND" => StatusCode::NOT_FOUND,
        "INTERNAL" => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    if status == StatusCode::INTERNAL_SERVER_ERROR {
        tracing::error!(error = ?e, "文件下载失败");
        return refuse_with(status, "INTERNAL", "内部错误");
    }
    refuse_with(status, e.code(), &e.to_string())
}

/// Paths and methods the server does not serve, in the same shape as every other refusal.
async fn no_route() -> Response {
    refuse_with(StatusCode::NOT_FOUND, "NOT_FOUND", "没有这个地址")
}

async fn wrong_method() -> Response {
    refuse(StatusCode::METHOD_NOT_ALLOWED, "不支持此请求方法")
}

/// Caps request bodies before anything reads them: by Content-Length at once, and for
/// streamed bodies while reading.
async fn limit_body(req: Request, next: Next) -> Response {
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let limit = if multipart { UPLOAD_LIMIT } else { JSON_LIMIT };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return too_large();
    }
    let (parts, body) = req.into_parts();
    let body = http_body_util::Limited::new(body, limit);
    if multipart {
        // Uploads are streamed to the importer; a cut stream is mapped to 413 by `BadRequest`.
        return next.run(Request::from_parts(parts, Body::new(body))).await;
    }
    // JSON is read whole anyway: read it here, so a chunked body past the limit is a 413.
    match body.collect().await {
        Ok(collected) => {
            next.run(Request::from_parts(parts, Body::from(collected.to_bytes())))
                .await
        }
        Err(e) if e.is::<http_body_util::LengthLimitError>() => too_large(),
        Err(_) => refuse(StatusCode::BAD_REQUEST, "无法读取请求体"),
    }
}

/// Request counts and latencies per route (matched path, so labels stay bounded).
async fn http_metrics(req: Request, next: Next) -> Response {
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().as_str().to_owned();
    let start = Instant::now();
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    metrics::counter!("songnuan_http_requests_total", "path" => path.clone(), "method" => method, "status" => status)
        .increment(1);
    metrics::histogram!("songnuan_http_request_seconds", "path" => path)
        .record(start.elapsed().as_secs_f64());
    resp
}
