//! What a resolver reads from its request: the services, the caller (resolved once per request
//! by the HTTP layer), the client's address, and the helpers every connection field shares.
use super::errors::{ApiError, ApiResult};
use async_graphql::Context;
use domain::{Actor, DomainError, Scope, Services};
use std::sync::Arc;

/// Who is calling, resolved once per request by the HTTP layer from the bearer token.
pub enum Caller {
    Anonymous,
    Known(Actor),
    Refused(Arc<DomainError>),
}

impl Caller {
    pub fn scope(&self) -> Scope {
        match self {
            Caller::Known(a) => a.scope(),
            // Nothing is visible without an actor; an empty prefix that matches no path.
            _ => Scope::Subtree("\u{0}".into()),
        }
    }
}

/// The client's address, for the login throttle.
pub struct ClientAddr(pub String);

pub fn services<'a>(ctx: &Context<'a>) -> &'a Services {
    ctx.data_unchecked::<Services>()
}

/// The authenticated caller, or UNAUTHENTICATED.
pub fn actor<'a>(ctx: &Context<'a>) -> ApiResult<&'a Actor> {
    match ctx.data_opt::<Caller>() {
        Some(Caller::Known(a)) => Ok(a),
        Some(Caller::Refused(e)) => Err(ApiError(e.clone())),
        _ => Err(DomainError::unauthenticated().into()),
    }
}

/// Parses an `ID!` argument into a row id (anything else is NOT_FOUND).
pub fn id_of(id: &async_graphql::ID, what: &'static str) -> ApiResult<i64> {
    Ok(domain::pagination::parse_id(id.as_str(), what)?)
}

/// Relay-style page information shared by every connection.
#[derive(async_graphql::SimpleObject)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
}

/// Edges, `PageInfo` and `totalCount` of a domain page: every connection of the contract is
/// assembled from these three.
pub fn connection<M, E>(
    page: domain::pagination::Page<M>,
    id: impl Fn(&M) -> i64,
    edge: impl Fn(String, M) -> E,
) -> (Vec<E>, PageInfo, i32) {
    let end_cursor = page
        .items
        .last()
        .map(|m| domain::pagination::encode_cursor(id(m)));
    let edges = page
        .items
        .into_iter()
        .map(|m| edge(domain::pagination::encode_cursor(id(&m)), m))
        .collect();
    let info = PageInfo {
        has_next_page: page.has_next,
        end_cursor,
    };
    // `total` is None only when the query did not select `totalCount` (see `page_args`).
    let total = page.total.unwrap_or(0).min(i32::MAX as u64) as i32;
    (edges, info, total)
}

/// The page a connection field asks for: `totalCount` is counted only when selected.
pub fn page_args<'a>(
    ctx: &Context<'_>,
    first: Option<i32>,
    after: Option<&'a str>,
) -> domain::pagination::PageArgs<'a> {
    domain::pagination::PageArgs {
        first: first.map(i64::from),
        after,
        with_total: ctx.look_ahead().field("totalCount").exists(),
    }
}
