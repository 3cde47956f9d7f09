//! Recipients (慰问对象) with encrypted personal data and blind indexes, and disbursements.
//! Personal data columns: `*_enc` (AES-256-GCM, key id inside the value), `*_index` (HMAC blind
//! index for equality look-ups), `*_mask` (what answers show).
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Recipients::Table)
                .col(big_pk_auto(Recipients::Id))
                .col(big_integer(Recipients::CampaignId))
                .col(big_integer(Recipients::CategoryId))
                .col(string_len(Recipients::Kind, 10))
                .col(string_len(Recipients::Name, 100))
                .col(text_null(Recipients::IdNumberEnc))
                .col(string_len_null(Recipients::IdNumberIndex, 64))
                .col(string_len_null(Recipients::IdNumberMask, 32))
                .col(text_null(Recipients::PhoneEnc))
                .col(string_len_null(Recipients::PhoneIndex, 64))
                .col(string_len_null(Recipients::PhoneMask, 32))
                .col(string_len_null(Recipients::BankName, 100))
                .col(text_null(Recipients::BankAccountEnc))
                .col(string_len_null(Recipients::BankAccountIndex, 64))
                .col(string_len_null(Recipients::BankAccountMask, 32))
                .col(big_integer(Recipients::NominatedBy))
                .col(string_len(Recipients::Status, 12))
                .col(string_len_null(Recipients::VerificationMethod, 16))
                .col(text_null(Recipients::VerificationNote))
                .col(text_null(Recipients::RejectionReason))
                .col(timestamp_with_time_zone_null(Recipients::VettedAt))
                .col(big_integer_null(Recipients::VettedBy))
                // "不漏不重": the ID number's blind index for a person, "U:" + name for a unit.
                .col(string_len(Recipients::DedupKey, 128))
                .col(big_integer(Recipients::CreatedBy))
                .col(timestamp_with_time_zone(Recipients::CreatedAt))
                .col(timestamp_with_time_zone(Recipients::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Recipients::Table, Recipients::CampaignId)
                        .to(Campaigns::Table, Campaigns::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Recipients::Table, Recipients::CategoryId)
                        .to(Categories::Table, Categories::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Recipients::Table, Recipients::NominatedBy)
                        .to(Organizations::Table, Organizations::Id),
                )
                .to_owned(),
        )
        .await?;
        let idx = |name: &str, cols: &[Recipients], unique: bool| {
            let mut i = Index::create();
            i.name(name).table(Recipients::Table);
            for c in cols {
                i.col(*c);
            }
            if unique {
                i.unique();
            }
            i.to_owned()
        };
        m.create_index(idx(
            "ux_recipients_campaign_dedup",
            &[Recipients::CampaignId, Recipients::DedupKey],
            true,
        ))
        .await?;
        // Pages of a campaign in id order (without it PostgreSQL walks the primary key).
        m.create_index(idx(
            "ix_recipients_campaign_id",
            &[Recipients::CampaignId, Recipients::Id],
            false,
        ))
        .await?;
        m.create_index(idx(
            "ix_recipients_campaign_category",
            &[Recipients::CampaignId, Recipients::CategoryId, Recipients::Status],
            false,
        ))
        .await?;
        m.create_index(idx(
            "ix_recipients_campaign_status",
            &[Recipients::CampaignId, Recipients::Status],
            false,
        ))
        .await?;
        m.create_index(idx(
            "ix_recipients_campaign_nominator",
            &[Recipients::CampaignId, Recipients::NominatedBy],
            false,
        ))
        .await?;
        m.create_index(idx(
            "ix_recipients_campaign_name",
            &[Recipients::CampaignId, Recipients::Name],
            false,
        ))
        .await?;
        m.create_index(idx("ix_recipients_id_index", &[Recipients::IdNumberIndex], false))
            .await?;
        m.create_index(idx(
            "ix_recipients_campaign_phone",
            &[Recipients::CampaignId, Recipients::PhoneIndex],
            false,
        ))
        .await?;
        m.create_index(idx(
            "ix_recipients_campaign_bank",
            &[Recipients::CampaignId, Recipients::BankAccountIndex],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Disbursements::Table)
                .col(big_pk_auto(Disbursements::Id))
                .col(big_integer(Disbursements::CampaignId))
                .col(big_integer(Disbursements::RecipientId))
                .col(big_integer(Disbursements::CategoryId))
                .col(string_len(Disbursements::Kind, 10))
                .col(big_integer(Disbursements::AmountFen))
                .col(string_len(Disbursements::Status, 12))
                .col(text_null(Disbursements::Items))
                .col(big_integer_null(Disbursements::ContractLineId))
                .col(string_len_null(Disbursements::BankReference, 100))
                .col(date_null(Disbursements::PaidOn))
                .col(date_null(Disbursements::ConfirmedOn))
                .col(timestamp_with_time_zone_null(Disbursements::NotifiedAt))
                .col(date_null(Disbursements::EntryDeadline))
                .col(boolean(Disbursements::EntryDeadlineProvisional).default(false))
                .col(timestamp_with_time_zone_null(Disbursements::EnteredAt))
                .col(string_len_null(Disbursements::ProvincialRef, 100))
                .col(string_len(Disbursements::IdempotencyKey, 128))
                .col(string_len(Disbursements::RequestHash, 64))
                .col(text_null(Disbursements::CancelReason))
                // The recipient id while the disbursement is active, NULL once cancelled: a
                // unique index on it allows one active disbursement per recipient (portable
                // stand-in for a partial index).
                .col(big_integer_null(Disbursements::ActiveRecipient))
                .col(boolean(Disbursements::RecipientVerifiedAtPlan))
                .col(big_integer(Disbursements::PlannedBy))
                .col(big_integer_null(Disbursements::ApprovedBy))
                .col(timestamp_with_time_zone(Disbursements::CreatedAt))
                .col(timestamp_with_time_zone(Disbursements::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Disbursements::Table, Disbursements::CampaignId)
                        .to(Campaigns::Table, Campaigns::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Disbursements::Table, Disbursements::RecipientId)
                        .to(Recipients::Table, Recipients::Id),
                )
                .to_owned(),
        )
        .await?;
        let didx = |name: &str, cols: &[Disbursements], unique: bool| {
            let mut i = Index::create();
            i.name(name).table(Disbursements::Table);
            for c in cols {
                i.col(*c);
            }
            if unique {
                i.unique();
            }
            i.to_owned()
        };
        m.create_index(didx(
            "ux_disbursements_idempotency",
            &[Disbursements::IdempotencyKey],
            true,
        ))
        .await?;
        m.create_index(didx(
            "ux_disbursements_active_recipient",
            &[Disbursements::ActiveRecipient],
            true,
        ))
        .await?;
        m.create_index(didx(
            "ix_disbursements_recipient",
            &[Disbursements::RecipientId],
            false,
        ))
        .await?;
        m.create_index(didx(
            "ix_disbursements_campaign_id",
            &[Disbursements::CampaignId, Disbursements::Id],
            false,
        ))
        .await?;
        m.create_index(didx(
            "ix_disbursements_campaign_status",
            &[Disbursements::CampaignId, Disbursements::Status],
            false,
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Disbursements::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Recipients::Table).to_owned())
            .await?;
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Campaigns {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Categories {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Recipients {
    Table,
    Id,
    CampaignId,
    CategoryId,
    Kind,
    Name,
    IdNumberEnc,
    IdNumberIndex,
    IdNumberMask,
    PhoneEnc,
    PhoneIndex,
    PhoneMask,
    BankName,
    BankAccountEnc,
    BankAccountIndex,
    BankAccountMask,
    NominatedBy,
    Status,
    VerificationMethod,
    VerificationNote,
    RejectionReason,
    VettedAt,
    VettedBy,
    DedupKey,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Disbursements {
    Table,
    Id,
    CampaignId,
    RecipientId,
    CategoryId,
    Kind,
    AmountFen,
    Status,
    Items,
    ContractLineId,
    BankReference,
    PaidOn,
    ConfirmedOn,
    NotifiedAt,
    EntryDeadline,
    EntryDeadlineProvisional,
    EnteredAt,
    ProvincialRef,
    IdempotencyKey,
    RequestHash,
    CancelReason,
    ActiveRecipient,
    RecipientVerifiedAtPlan,
    PlannedBy,
    ApprovedBy,
    CreatedAt,
    UpdatedAt,
}
