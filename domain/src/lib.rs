//! Songnuan's domain layer: every rule (permissions, money, stages, audit) lives here and is
//! called by the API's thin resolvers and by the worker. Tested without GraphQL.
pub mod access;
pub mod audit;
pub mod auth;
pub mod bootstrap;
pub mod calendar;
pub mod calendar_store;
pub mod campaigns;
mod codes;
pub mod crypto;
pub mod db;
pub mod demo;
pub mod error;
pub mod funds;
pub mod identity;
pub mod money;
pub mod organizations;
pub mod pagination;
pub mod procurement;
pub mod recipients;
pub mod settings;
pub mod users;
pub mod visits;

pub use access::{Actor, Permission, Role, Scope};
pub use error::{DomainError, DomainResult};
pub use money::Money;
pub use settings::Settings;

/// What every service call needs: the database, the settings (keys, limits) and the cipher
/// for personal data.
#[derive(Clone)]
pub struct Services {
    pub db: sea_orm::DatabaseConnection,
    pub settings: std::sync::Arc<Settings>,
    pub cipher: std::sync::Arc<crypto::FieldCipher>,
}

impl Services {
    pub fn new(db: sea_orm::DatabaseConnection, settings: std::sync::Arc<Settings>) -> Services {
        let cipher = std::sync::Arc::new(crypto::FieldCipher::new(&settings.keys));
        Services { db, settings, cipher }
    }
}
