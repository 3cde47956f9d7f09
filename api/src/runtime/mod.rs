//! The request runtime: what happens to one GraphQL request between the HTTP handler and the
//! schema. Its query text is parsed, measured and labelled once (`operations`, `document`), a
//! read-only answer may come from the kept answers (`answers`), and otherwise the schema runs it
//! with the caller, the DataLoaders and the contract's error codes.
pub mod answers;
pub mod document;
pub mod operations;

use crate::AppState;
use crate::graphql::context::{Caller, ClientAddr};
use crate::graphql::errors::ApiError;
use crate::graphql::loaders;
use crate::graphql::schema::{MAX_DEPTH, MAX_NODES, root_field_names};
use answers::{Answers, Served};
use async_graphql_axum::GraphQLResponse;
use axum::body::Bytes;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use std::time::Instant;

/// The query cache, depth limit and metric labels every request goes through.
pub fn build_operations() -> operations::Operations {
    operations::Operations::new(MAX_DEPTH, MAX_NODES, root_field_names())
}

/// Answers one request: from the kept answers when the same caller asked the same read-only
/// question at the same data version today (see `answers`), else by running it.
pub(crate) async fn answer(
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
                let error = async_graphql::Error::from(ApiError::from(internal));
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
