//! The per-number daily SMS limit (`domain::work::notices`, `DailyLimit`) looks recipients up
//! by their phone's blind index across all campaigns (a family phone may be named in several).
//! The only index holding `phone_index` led with `campaign_id`, so each look-up read that whole
//! index: at province scale a million entries per notice sent.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name("ix_recipients_phone_index")
                .table(Alias::new("recipients"))
                .col(Alias::new("phone_index"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("ix_recipients_phone_index")
                .table(Alias::new("recipients"))
                .to_owned(),
        )
        .await
    }
}
