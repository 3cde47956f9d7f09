//! The GraphQL schema: one module per domain area (auth, organizations, users, campaigns,
//! recipients, funds, procurement, calendar, visits, audit, jobs), merged into the roots by `schema`;
//! `context` is what every resolver reads from its request. Parsing, limits, kept answers and
//! metrics around the schema are the request runtime (the `runtime` module beside `http`).
pub mod aid;
pub mod audit;
pub mod auth;
pub mod calendar;
pub mod campaigns;
pub mod context;
pub mod enums;
pub mod errors;
pub mod evaluation;
pub mod funds;
pub mod jobs;
pub mod loaders;
pub mod organizations;
pub mod procurement;
pub mod recipients;
pub mod reminders;
pub mod reports;
pub mod scalars;
pub mod schema;
pub mod users;
pub mod visits;

// The paths other crates and older code use (`api::graphql::schema_sdl`, `Caller`, …).
pub use context::{Caller, ClientAddr, PageInfo, actor, connection, id_of, page_args, services};
pub use schema::{
    MAX_COMPLEXITY, MAX_DEPTH, MAX_NODES, MutationRoot, QueryRoot, SongnuanSchema, build_schema, schema_sdl,
};
