//! Foundation: organisations, users, tokens, login throttling, campaigns, categories, audit log.
//! Money is stored as integer fen (BIGINT) so it is exact on SQLite as well as PostgreSQL.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Organizations::Table)
                .col(big_pk_auto(Organizations::Id))
                .col(string_len(Organizations::Name, 100))
                .col(string_len(Organizations::Kind, 20))
                .col(big_integer_null(Organizations::ParentId))
                // Materialised path "/1/5/12/": subtree checks are one indexed prefix match.
                .col(string_len(Organizations::Path, 512))
                .col(timestamp_with_time_zone(Organizations::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Organizations::Table, Organizations::ParentId)
                        .to(Organizations::Table, Organizations::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_organizations_parent_name")
                .table(Organizations::Table)
                .col(Organizations::ParentId)
                .col(Organizations::Name)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_organizations_path")
                .table(Organizations::Table)
                .col(Organizations::Path)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Users::Table)
                .col(big_pk_auto(Users::Id))
                .col(string_len_uniq(Users::Username, 64))
                .col(string_len(Users::DisplayName, 100))
                .col(string_len(Users::PasswordHash, 255))
                .col(string_len(Users::Roles, 200))
                .col(big_integer(Users::OrganizationId))
                .col(boolean(Users::Disabled).default(false))
                // Bumped on password change/reset/disable: every token carrying an older value dies.
                .col(integer(Users::TokenVersion).default(0))
                .col(timestamp_with_time_zone(Users::CreatedAt))
                .col(timestamp_with_time_zone(Users::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Users::Table, Users::OrganizationId)
                        .to(Organizations::Table, Organizations::Id),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(ApiTokens::Table)
                .col(big_pk_auto(ApiTokens::Id))
                .col(big_integer(ApiTokens::UserId))
                .col(string_len(ApiTokens::Name, 100))
                .col(string_len_uniq(ApiTokens::TokenHash, 64))
                .col(timestamp_with_time_zone(ApiTokens::ExpiresAt))
                .col(timestamp_with_time_zone_null(ApiTokens::RevokedAt))
                .col(big_integer(ApiTokens::CreatedBy))
                .col(timestamp_with_time_zone(ApiTokens::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(ApiTokens::Table, ApiTokens::UserId)
                        .to(Users::Table, Users::Id),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(LoginFailures::Table)
                .col(big_pk_auto(LoginFailures::Id))
                .col(string_len(LoginFailures::Username, 64))
                .col(string_len(LoginFailures::ClientAddr, 64))
                .col(timestamp_with_time_zone(LoginFailures::At))
                .to_owned(),
        )
        .await?;
        for (name, col) in [
            ("ix_login_failures_username", LoginFailures::Username),
            ("ix_login_failures_addr", LoginFailures::ClientAddr),
        ] {
            m.create_index(
                Index::create()
                    .name(name)
                    .table(LoginFailures::Table)
                    .col(col)
                    .col(LoginFailures::At)
                    .to_owned(),
            )
            .await?;
        }

        m.create_table(
            Table::create()
                .table(Campaigns::Table)
                .col(big_pk_auto(Campaigns::Id))
                .col(string_len(Campaigns::Name, 200))
                .col(integer(Campaigns::Year))
                .col(big_integer(Campaigns::BudgetFen))
                .col(string_len(Campaigns::Stage, 20))
                .col(date(Campaigns::StartsOn))
                .col(date(Campaigns::Deadline))
                .col(text(Campaigns::PolicyRefs))
                .col(big_integer(Campaigns::OrganizationId))
                .col(integer(Campaigns::EntryDeadlineDays).default(30))
                .col(timestamp_with_time_zone(Campaigns::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Campaigns::Table, Campaigns::OrganizationId)
                        .to(Organizations::Table, Organizations::Id),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Categories::Table)
                .col(big_pk_auto(Categories::Id))
                .col(big_integer(Categories::CampaignId))
                .col(string_len(Categories::Code, 32))
                .col(string_len(Categories::Name, 100))
                .col(string_len(Categories::RecipientKind, 10))
                .col(integer(Categories::PlannedCount))
                .col(big_integer(Categories::StandardFen))
                .foreign_key(
                    ForeignKey::create()
                        .from(Categories::Table, Categories::CampaignId)
                        .to(Campaigns::Table, Campaigns::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_categories_campaign_code")
                .table(Categories::Table)
                .col(Categories::CampaignId)
                .col(Categories::Code)
                .unique()
                .to_owned(),
        )
        .await?;

        // One row: the head of the audit hash chain. Every mutation updates it first, which
        // serialises writers on both databases and gives each entry its predecessor's hash.
        m.create_table(
            Table::create()
                .table(AuditHead::Table)
                .col(integer(AuditHead::Id).primary_key())
                .col(big_integer(AuditHead::Seq))
                .col(string_len(AuditHead::LastHash, 64))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(AuditLog::Table)
                // The chain sequence number, assigned under the head lock (not auto-increment).
                .col(big_integer(AuditLog::Id).primary_key())
                .col(timestamp_with_time_zone(AuditLog::At))
                .col(big_integer_null(AuditLog::ActorId))
                .col(string_len(AuditLog::Action, 64))
                .col(string_len(AuditLog::TargetType, 64))
                .col(string_len_null(AuditLog::TargetId, 64))
                .col(text_null(AuditLog::Diff))
                .col(string_len(AuditLog::PrevHash, 64))
                .col(string_len(AuditLog::Hash, 64))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_audit_log_target")
                .table(AuditLog::Table)
                .col(AuditLog::TargetType)
                .col(AuditLog::TargetId)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_audit_log_action")
                .table(AuditLog::Table)
                .col(AuditLog::Action)
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            AuditLog::Table.into_iden(),
            AuditHead::Table.into_iden(),
            Categories::Table.into_iden(),
            Campaigns::Table.into_iden(),
            LoginFailures::Table.into_iden(),
            ApiTokens::Table.into_iden(),
            Users::Table.into_iden(),
            Organizations::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
    Name,
    Kind,
    ParentId,
    Path,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Username,
    DisplayName,
    PasswordHash,
    Roles,
    OrganizationId,
    Disabled,
    TokenVersion,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    Id,
    UserId,
    Name,
    TokenHash,
    ExpiresAt,
    RevokedAt,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum LoginFailures {
    Table,
    Id,
    Username,
    ClientAddr,
    At,
}

#[derive(DeriveIden)]
enum Campaigns {
    Table,
    Id,
    Name,
    Year,
    BudgetFen,
    Stage,
    StartsOn,
    Deadline,
    PolicyRefs,
    OrganizationId,
    EntryDeadlineDays,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Categories {
    Table,
    Id,
    CampaignId,
    Code,
    Name,
    RecipientKind,
    PlannedCount,
    StandardFen,
}

#[derive(DeriveIden)]
enum AuditHead {
    Table,
    Id,
    Seq,
    LastHash,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    At,
    ActorId,
    Action,
    TargetType,
    TargetId,
    Diff,
    PrevHash,
    Hash,
}
