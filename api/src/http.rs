//! HTTP surface: `/graphql` (POST: the API; GET: offline GraphiQL), `/health`, `/ready`,
//! `/metrics`, plus request limits and per-route metrics.
use crate::AppState;
use crate::graphql::answers::{self, Answers, Served};
use crate::graphql::{Caller, ClientAddr, loaders, operations};
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, MatchedPath, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower_http::trace::TraceLayer;

/// JSON bodies: 2 MiB. Multipart uploads (spreadsheets): 20 MiB.
pub const JSON_LIMIT: usize = 2 * 1024 * 1024;
pub const UPLOAD_LIMIT: usize = 20 * 1024 * 1024;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/graphql", get(graphiql).post(graphql))
        .route("/graphiql/{file}", get(graphiql_asset))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
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
    req: GraphQLRequest,
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
    let addr = client_addr(&state, &headers, peer);
    answer(&state, caller, data_version, addr, req.into_inner()).await
}

/// Answers one request: from the kept answers when the same caller asked the same read-only
/// question at the same data version today (see `graphql::answers`), else by running it.
async fn answer(
    state: &AppState,
    caller: Caller,
    data_version: Option<i64>,
    client_addr: String,
    req: async_graphql::Request,
) -> Response {
    let start = Instant::now();
    let prepared = match state.operations.prepare(&req.query) {
        Ok(p) => p,
        Err(e) => return GraphQLResponse::from(refused(e)).into_response(),
    };
    // The key (query text and variables) is built only for answers that may be kept.
    let key = match (&caller, data_version) {
        (Caller::Known(actor), Some(version)) if state.answers.enabled() && answers::may_keep(&prepared) => {
            Answers::key(actor.user_id, &req).map(|k| (k, version))
        }
        _ => None,
    };
    let Some((key, version)) = key else {
        return GraphQLResponse::from(run(state, caller, client_addr, req, &prepared, start).await)
            .into_response();
    };
    let today = Utc::now().date_naive();
    let made = state.answers.answer(key, version, today, || async {
        let resp = run(state, caller, client_addr, req, &prepared, start).await;
        let keep = resp.is_ok() && resp.http_headers.is_empty() && resp.cache_control.value().is_none();
        match serde_json::to_vec(&resp) {
            Ok(b) => (Bytes::from(b), keep),
            Err(e) => {
                tracing::error!(error = %e, "answer could not be serialised");
                let internal = domain::DomainError::internal(anyhow::anyhow!("serialise answer: {e}"));
                let error = async_graphql::Error::from(crate::graphql::errors::ApiError::from(internal));
                let resp =
                    async_graphql::Response::from_errors(vec![error.into_server_error(Default::default())]);
                (Bytes::from(serde_json::to_vec(&resp).unwrap_or_default()), false)
            }
        }
    });
    let (body, served) = made.await;
    if served != Served::Made {
        // A made answer was counted by `run`; a kept or shared one is counted here.
        operations::record_outcome(&prepared.fields, "ok", start.elapsed());
    }
    graphql_json(body)
}

/// The body and content type async-graphql-axum gives an answer, so kept and fresh answers
/// look the same to a client.
fn graphql_json(body: Bytes) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/graphql-response+json"),
        )],
        body,
    )
        .into_response()
}

fn refused(e: async_graphql::ServerError) -> async_graphql::Response {
    with_codes(async_graphql::Response::from_errors(vec![e]))
}

/// Runs one GraphQL request for a caller: request data, DataLoaders, and the error-code rule.
/// Never cached (tests call it to count statements).
pub async fn execute(
    state: &AppState,
    caller: Caller,
    client_addr: String,
    req: async_graphql::Request,
) -> async_graphql::Response {
    let start = Instant::now();
    match state.operations.prepare(&req.query) {
        Ok(prepared) => run(state, caller, client_addr, req, &prepared, start).await,
        Err(e) => refused(e),
    }
}

async fn run(
    state: &AppState,
    caller: Caller,
    client_addr: String,
    req: async_graphql::Request,
    prepared: &operations::Prepared,
    start: Instant,
) -> async_graphql::Response {
    let scope = caller.scope();
    let mut req = req.data(caller).data(ClientAddr(client_addr));
    req.set_parsed_query(prepared.doc.clone());
    let req = loaders::attach(req, &state.services, &scope);
    let resp = with_codes(state.schema.execute(req).await);
    operations::record(&prepared.fields, &resp, start.elapsed());
    resp
}

/// Errors raised by async-graphql itself (parse, unknown field or enum value, wrong type,
/// complexity) carry no code: they are all bad input.
fn with_codes(mut resp: async_graphql::Response) -> async_graphql::Response {
    for e in resp.errors.iter_mut() {
        let ext = e.extensions.get_or_insert_with(Default::default);
        if ext.get("code").is_none() {
            ext.set("code", "VALIDATION");
        }
    }
    resp
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
    let body = json!({
        "status": if ok { "ready" } else { "not ready" },
        "database": if db_ok { "ok" } else { "unreachable" },
        "queue": queue,
    });
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

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        state.metrics.render(),
    )
        .into_response()
}

fn refuse(status: StatusCode, message: &str) -> Response {
    let body = json!({"errors": [{"message": message, "extensions": {"code": "VALIDATION"}}]});
    (status, axum::Json(body)).into_response()
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
        return refuse(StatusCode::PAYLOAD_TOO_LARGE, "请求体过大");
    }
    let (parts, body) = req.into_parts();
    let body = Body::new(http_body_util::Limited::new(body, limit));
    next.run(Request::from_parts(parts, body)).await
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
