//! Generated reports (`generateReport`): one row per request, its REPORT job (`job_id`, whose
//! status is the report's) and, once written, its file under the data directory. The file's
//! id in `GET /files/{id}` is the report's id. Tracked by `data_version` (`report` reads it;
//! the `report` query is never kept anyway, its status living in the untracked `jobs`).
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Reports::Table)
                .col(big_pk_auto(Reports::Id))
                .col(big_integer(Reports::CampaignId))
                // EVALUATION_REPORT, LEDGER, PROVINCIAL_EXPORT
                .col(string_len(Reports::Kind, 40))
                // DOCX, XLSX, MARKDOWN
                .col(string_len(Reports::Format, 20))
                .col(big_integer_null(Reports::JobId))
                .col(big_integer(Reports::RequestedBy))
                // set by the job once the file is written
                .col(string_len_null(Reports::FileName, 255))
                .col(string_len_null(Reports::FilePath, 500))
                .col(string_len_null(Reports::ContentType, 120))
                .col(big_integer_null(Reports::SizeBytes))
                .col(string_len_null(Reports::Sha256, 64))
                .col(timestamp_with_time_zone(Reports::CreatedAt))
                .col(timestamp_with_time_zone_null(Reports::FinishedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Reports::Table, Reports::CampaignId)
                        .to(Campaigns::Table, Campaigns::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Reports::Table, Reports::JobId)
                        .to(Jobs::Table, Jobs::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_reports_campaign")
                .table(Reports::Table)
                .col(Reports::CampaignId)
                .to_owned(),
        )
        .await?;
        crate::track_data_version(m, "reports").await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Reports::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Reports {
    Table,
    Id,
    CampaignId,
    Kind,
    Format,
    JobId,
    RequestedBy,
    FileName,
    FilePath,
    ContentType,
    SizeBytes,
    Sha256,
    CreatedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum Campaigns {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Jobs {
    Table,
    Id,
}
