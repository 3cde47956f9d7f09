//! The queue's hand-over mark: `jobs.handed_at`, when a relay last handed the job to the Redis
//! queue (apalis). The row stays the truth; the mark only spares the relay from pushing the
//! same state again at every poll. A job whose row changed after its hand-over (claimed,
//! requeued, retried: `updated_at > handed_at`) is handed over again as soon as it is due; an
//! unchanged one only after the hand-over timeout (Redis may have lost it: it keeps nothing
//! on disk here). Null for jobs never handed over (embedded runner, no Redis).
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Jobs::Table)
                .add_column(timestamp_with_time_zone_null(Jobs::HandedAt))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Jobs::Table)
                .drop_column(Jobs::HandedAt)
                .to_owned(),
        )
        .await
    }
}

#[derive(DeriveIden)]
enum Jobs {
    Table,
    HandedAt,
}
