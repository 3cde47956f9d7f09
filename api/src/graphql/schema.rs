//! The schema root: the Query and Mutation of every domain area merged, the request limits,
//! and the SDL committed as `schema.graphql`.
use super::{
    audit, auth, calendar, campaigns, evaluation, funds, jobs, organizations, procurement, recipients,
    reminders, reports, users, visits,
};
use async_graphql::{EmptySubscription, MergedObject, Schema};
use domain::Services;

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
    jobs::JobQuery,
    reminders::ReminderQuery,
    reports::ReportQuery,
    evaluation::EvaluationQuery,
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
    jobs::JobMutation,
    reports::ReportMutation,
    evaluation::EvaluationMutation,
);

pub type SongnuanSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

/// Depth of ordinary operations (introspection is exempt: see `runtime::operations`).
pub const MAX_DEPTH: usize = 10;
/// Each field counts one, fields whose cost grows with the data more (see their
/// `complexity`, e.g. `audit::VERIFY_CHAIN_COMPLEXITY`); the standard introspection query
/// stays well below.
pub const MAX_COMPLEXITY: usize = 1000;
/// Selections (fields, spreads, inline fragments) of one request once its fragments are
/// expanded: measured before validation, which expands fragments (see `runtime::document`).
pub const MAX_NODES: usize = 2000;

/// The schema, without extensions: the depth limit and the metrics are applied around it by
/// `runtime::operations` (see there why).
pub fn build_schema(services: Services) -> SongnuanSchema {
    Schema::build(QueryRoot::default(), MutationRoot::default(), EmptySubscription)
        .data(services)
        .limit_complexity(MAX_COMPLEXITY)
        .limit_recursive_depth(64)
        .finish()
}

/// Names of the Query and Mutation fields, the only labels the metrics accept.
pub fn root_field_names() -> std::collections::HashSet<String> {
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
