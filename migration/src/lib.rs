//! Schema migrations for Songnuan. Schema only: this crate never imports the entities and
//! never seeds data, so an old migration keeps meaning the same thing forever.
pub use sea_orm_migration::prelude::*;

mod m20260101_000001_foundation;
mod m20260102_000001_recipients;
mod m20260103_000001_money;
mod m20260104_000001_category_counters;
mod m20260105_000001_data_version;
mod m20260106_000001_login_throttle;
mod m20260107_000001_jobs_notices;
mod m20260108_000001_reminders;
mod m20260109_000001_job_handover;
mod m20260110_000001_evaluation;
mod m20260112_000001_reports;
mod m20260113_000001_page_indexes;
mod m20260115_000001_phone_lookup;

pub use m20260105_000001_data_version::{UNTRACKED_TABLES, track as track_data_version};

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20260101_000001_foundation::Migration),
            Box::new(m20260102_000001_recipients::Migration),
            Box::new(m20260103_000001_money::Migration),
            Box::new(m20260104_000001_category_counters::Migration),
            Box::new(m20260105_000001_data_version::Migration),
            Box::new(m20260106_000001_login_throttle::Migration),
            Box::new(m20260107_000001_jobs_notices::Migration),
            Box::new(m20260108_000001_reminders::Migration),
            Box::new(m20260109_000001_job_handover::Migration),
            Box::new(m20260110_000001_evaluation::Migration),
            Box::new(m20260112_000001_reports::Migration),
            Box::new(m20260113_000001_page_indexes::Migration),
            Box::new(m20260115_000001_phone_lookup::Migration),
        ]
    }
}
