//! The GraphQL schema: one module per domain area (auth, organizations, users, campaigns,
//! audit), merged into the roots here, with the request limits and context helpers.
pub mod answers;
pub mod audit;
pub mod auth;
pub mod calendar;
pub mod campaigns;
pub mod document;
pub mod enums;
pub mod errors;
pub mod funds;
pub mod loaders;
pub mod operations;
pub mod organizations;
pub mod procurement;
pub mod recipients;
pub mod scalars;
pub mod users;
pub mod visits;

use async_graphql::{Context, EmptySubscription, MergedObject, Schema};
use domain::{Actor, DomainError, Scope, Services};
use errors::{ApiError, ApiResult};
use std::sync::Arc;

#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(
    auth::AuthQuery,
    organizations::OrganizationQuery,
    users::UserQuery,
    campaigns::CampaignQuery,
    recipients::RecipientQuery,
    funds::FundsQuery,
    procurement::ProcurementQuery,
    calendar::CalendarQuery,
    visits::VisitQuery,
    audit::AuditQuery,
);

#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    auth::AuthMutation,
    organizations::OrganizationMutation,
    users::UserMutation,
    campaigns::CampaignMutation,
    recipients::RecipientMutation,
    funds::FundsMutation,
    procurement::ProcurementMutation,
    calendar::CalendarMutation,
    visits::VisitMutation,
);

pub type SongnuanSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

/// Depth of ordinary operations (introspection is exempt: see `operations`).
pub const MAX_DEPTH: usize = 10;
/// Each field counts one, fields whose cost grows with the data more (see their
/// `complexity`); the standard introspection query stays well below.
pub const MAX_COMPLEXITY: usize = 1000;
/// What one `verifyAuditChain` counts towards `MAX_COMPLEXITY` (it reads every audit row).
pub const VERIFY_CHAIN_COMPLEXITY: usize = 400;
/// Selections (fields, spreads, inline fragments) of one request once its fragments are
/// expanded: measured before validation, which expands fragments (see `document`).
pub const MAX_NODES: usize = 2000;

/// The schema, without extensions: the depth limit and the metrics are applied around it by
/// `operations` (see there why).
pub fn build_schema(services: Services) -> SongnuanSchema {
    Schema::build(QueryRoot::default(), MutationRoot::default(), EmptySubscription)
        .data(services)
        .limit_complexity(MAX_COMPLEXITY)
        .limit_recursive_depth(64)
        .finish()
}

/// The query cache, depth limit and metric labels every request goes through.
pub fn build_operations() -> operations::Operations {
    operations::Operations::new(MAX_DEPTH, MAX_NODES, root_field_names())
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

/// Names of the Query and Mutation fields, the only labels the metrics accept.
fn root_field_names() -> std::collections::HashSet<String> {
    use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
    let sdl = schema_sdl();
    let mut out = std::collections::HashSet::new();
    if let Ok(doc) = async_graphql::parser::parse_schema(&sdl) {
        for def in doc.definitions {
            if let TypeSystemDefinition::Type(t) = def
                && matches!(t.node.name.node.as_str(), "Query" | "Mutation")
                && let TypeKind::Object(o) = &t.node.kind
            {
                out.extend(o.fields.iter().map(|f| f.node.name.node.to_string()));
            }
        }
    }
    out
}

/// The SDL of the served schema (committed as `schema.graphql`).
pub fn schema_sdl() -> String {
    Schema::build(QueryRoot::default(), MutationRoot::default(), EmptySubscription)
        .finish()
        .sdl()
}
