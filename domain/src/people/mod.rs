//! The people layer: who may do what (`access`: roles, permissions, subtree scope), the
//! tamper-evident audit chain every change writes (`audit`), organisations, users and
//! authentication. Stands on `core` only.
pub mod access;
pub mod audit;
pub mod auth;
pub mod organizations;
pub mod users;
