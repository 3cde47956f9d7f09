//! The core layer: what every rule stands on and that knows nothing of people, campaigns or
//! money flows — errors, money, identity numbers, field encryption, stored codes, pagination,
//! the database connection, the settings, the password rule, the `Services` bundle and the
//! outbox's writer (a job row in the caller's transaction).
pub(crate) mod codes;
pub mod crypto;
pub mod db;
pub mod error;
pub mod identity;
pub mod money;
pub mod outbox;
pub mod pagination;
pub mod passwords;
pub mod services;
pub mod settings;
pub mod shutdown;
