//! The end-to-end tests, one binary with a module per area: the real server on a random port
//! over SQLite, or PostgreSQL (+ Redis) when `SONGNUAN_TEST_DATABASE_URL` is set (see the
//! harness in `tests/src/lib.rs`). One binary links the application once instead of fifteen
//! times. `pii_logs` stays a binary of its own: it installs the process's global log
//! subscriber, which would capture (and slow) every other test here.
mod answers;
mod audit;
mod auth;
mod calendar;
mod campaigns;
mod evaluation;
mod hostile;
mod import;
mod import_sharing;
mod layers;
mod letters;
mod money;
mod nested_access;
mod overdue;
mod plans;
mod procurement;
mod province;
mod queries;
mod queue;
mod recipients;
mod reminder_setup;
mod reminders;
mod reports;
mod roles;
mod schema;
mod sms;
mod visits;
mod worker;
