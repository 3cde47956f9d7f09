//! The worker's foundation: `jobs`, the durable outbox and record of every background job, and
//! `notices`, the recipient's notice of one disbursement.
//!
//! `jobs` is written in the same transaction as the change that causes it (e.g. `markPaid`)
//! and claimed by runners with a conditional UPDATE on (status, run_at, locked_until). It changes
//! at every claim, so it is NOT tracked by `data_version` (see `UNTRACKED_TABLES`): tracking it
//! would empty the kept answers several times a second; the `jobs` query is never kept instead.
//! `notices` feeds answers (`Disbursement.notice`) and is tracked.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Jobs::Table)
                .col(big_pk_auto(Jobs::Id))
                // NOTICE, ENTRY_REMINDERS, PROVINCIAL_PUSH, REPORT …
                .col(string_len(Jobs::Kind, 40))
                // what the job works on, e.g. "disbursement:42"
                .col(string_len_null(Jobs::Target, 200))
                // QUEUED, RUNNING, DONE, FAILED
                .col(string_len(Jobs::Status, 20))
                .col(integer(Jobs::Attempts).default(0))
                .col(integer(Jobs::MaxAttempts).default(5))
                .col(text_null(Jobs::LastError))
                // a job is queued once per key
                .col(string_len(Jobs::IdempotencyKey, 200).unique_key())
                // not before: backoff after a failure
                .col(timestamp_with_time_zone(Jobs::RunAt))
                // the runner holding the lease, and until when (a dead runner's job runs again)
                .col(string_len_null(Jobs::LockedBy, 200))
                .col(timestamp_with_time_zone_null(Jobs::LockedUntil))
                .col(timestamp_with_time_zone(Jobs::CreatedAt))
                .col(timestamp_with_time_zone(Jobs::UpdatedAt))
                .to_owned(),
        )
        .await?;
        // claiming: due QUEUED jobs (and RUNNING ones whose lease expired)
        m.create_index(
            Index::create()
                .name("ix_jobs_status_run_at")
                .table(Jobs::Table)
                .col(Jobs::Status)
                .col(Jobs::RunAt)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Notices::Table)
                .col(big_pk_auto(Notices::Id))
                // one notice per disbursement, whatever happens to the jobs
                .col(big_integer(Notices::DisbursementId).unique_key())
                // SMS, LETTER
                .col(string_len(Notices::Channel, 10))
                // PENDING, SENT, DELIVERED, FAILED
                .col(string_len(Notices::Status, 20))
                .col(integer(Notices::Attempts).default(0))
                .col(text_null(Notices::LastError))
                // our idempotency key, the provider's out-id
                .col(string_len(Notices::OutId, 64).unique_key())
                .col(timestamp_with_time_zone_null(Notices::SentAt))
                .col(timestamp_with_time_zone_null(Notices::DeliveredAt))
                .col(timestamp_with_time_zone(Notices::CreatedAt))
                .col(timestamp_with_time_zone(Notices::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Notices::Table, Notices::DisbursementId)
                        .to(Disbursements::Table, Disbursements::Id),
                )
                .to_owned(),
        )
        .await?;
        crate::track_data_version(m, "notices").await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Notices::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Jobs::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Jobs {
    Table,
    Id,
    Kind,
    Target,
    Status,
    Attempts,
    MaxAttempts,
    LastError,
    IdempotencyKey,
    RunAt,
    LockedBy,
    LockedUntil,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Notices {
    Table,
    Id,
    DisbursementId,
    Channel,
    Status,
    Attempts,
    LastError,
    OutId,
    SentAt,
    DeliveredAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Disbursements {
    Table,
    Id,
}
