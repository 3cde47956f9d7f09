//! Entry reminders (资金发放30个工作日内录入): one row per campaign, level and day, written by the
//! daily ENTRY_REMINDERS job. The unique (campaign_id, level, created_on) makes the row the
//! truth however many workers run the day (insert ON CONFLICT DO NOTHING); `posted_at` marks
//! the row sent to the group robot, so a retried job never posts it twice. Tracked by
//! `data_version` (`reminders` is an answer).
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Reminders::Table)
                .col(big_pk_auto(Reminders::Id))
                .col(big_integer(Reminders::CampaignId))
                // DUE_SOON, OVERDUE
                .col(string_len(Reminders::Level, 20))
                // the day (Asia/Shanghai) the reminder is for
                .col(date(Reminders::CreatedOn))
                .col(integer(Reminders::DisbursementCount))
                .col(date(Reminders::EarliestDeadline))
                // when the group robot accepted it (null: not posted, or no robot configured)
                .col(timestamp_with_time_zone_null(Reminders::PostedAt))
                .col(timestamp_with_time_zone(Reminders::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Reminders::Table, Reminders::CampaignId)
                        .to(Campaigns::Table, Campaigns::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_reminders_campaign_level_day")
                .table(Reminders::Table)
                .col(Reminders::CampaignId)
                .col(Reminders::Level)
                .col(Reminders::CreatedOn)
                .unique()
                .to_owned(),
        )
        .await?;
        crate::track_data_version(m, "reminders").await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Reminders::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Reminders {
    Table,
    Id,
    CampaignId,
    Level,
    CreatedOn,
    DisbursementCount,
    EarliestDeadline,
    PostedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Campaigns {
    Table,
    Id,
}
