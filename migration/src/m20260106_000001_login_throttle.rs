//! `login_throttle`: one row per throttled key ("user:<username>", "addr:<client address>")
//! counting the login attempts of its current window. A login reserves its attempt with one
//! atomic upsert per key before the password is checked (`domain::auth`), so the limit holds
//! whatever the number of concurrent requests or replicas. Replaces the counting of
//! `login_failures`, which stays in the schema but is no longer written.
//!
//! Not tracked by `data_version` (see `UNTRACKED_TABLES`): only `login` reads it.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(LoginThrottle::Table)
                // "user:" or "addr:" and at most 64 characters
                .col(string_len(LoginThrottle::Key, 80).primary_key())
                // unix seconds at which the current window began
                .col(big_integer(LoginThrottle::WindowStart))
                .col(integer(LoginThrottle::Attempts))
                .to_owned(),
        )
        .await?;
        // housekeeping deletes the expired windows
        m.create_index(
            Index::create()
                .name("ix_login_throttle_window_start")
                .table(LoginThrottle::Table)
                .col(LoginThrottle::WindowStart)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(LoginThrottle::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum LoginThrottle {
    Table,
    Key,
    WindowStart,
    Attempts,
}
