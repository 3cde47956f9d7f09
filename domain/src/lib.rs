//! Songnuan's domain layer: every rule (permissions, money, stages, audit) lives here and is
//! called by the API's thin resolvers and by the worker. Tested without GraphQL.
pub mod access;
pub mod audit;
pub mod auth;
pub mod bootstrap;
pub mod campaigns;
pub mod db;
pub mod demo;
pub mod error;
pub mod money;
pub mod organizations;
pub mod pagination;
pub mod settings;
pub mod users;

pub use access::{Actor, Permission, Role, Scope};
pub use error::{DomainError, DomainResult};
pub use money::Money;
pub use settings::Settings;

/// What every service call needs: the database and the settings (keys, limits).
#[derive(Clone)]
pub struct Services {
    pub db: sea_orm::DatabaseConnection,
    pub settings: std::sync::Arc<Settings>,
}
