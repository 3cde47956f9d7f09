//! sea-orm models of the Songnuan schema. Plain data: every rule lives in the `domain` crate.
//! Money columns end in `_fen` (integer fen, exact on SQLite and PostgreSQL).
pub mod api_token;
pub mod audit_head;
pub mod audit_log;
pub mod calendar_day;
pub mod campaign;
pub mod category;
pub mod contract;
pub mod contract_line;
pub mod delivery;
pub mod disbursement;
pub mod job;
pub mod ledger_entry;
pub mod login_failure;
pub mod login_throttle;
pub mod notice;
pub mod organization;
pub mod recipient;
pub mod reminder;
pub mod supplier;
pub mod user;
pub mod visit;
pub mod visit_recipient;
