//! Money: the special ledger (专项台账), the campaign's committed sum (the budget guard's
//! counter), procurement (suppliers, contracts, lines, deliveries, payments), the official
//! working-day calendar, and visits (走访慰问) with their limits.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // The budget guard: committed never exceeds budget, enforced by a conditional UPDATE.
        m.alter_table(
            Table::alter()
                .table(Campaigns::Table)
                .add_column(big_integer(Campaigns::CommittedFen).default(0))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Campaigns::Table)
                .add_column(integer_null(Campaigns::MaxVisitParticipants))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Campaigns::Table)
                .add_column(integer_null(Campaigns::MaxVisitVehicles))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(LedgerEntries::Table)
                .col(big_pk_auto(LedgerEntries::Id))
                .col(big_integer(LedgerEntries::CampaignId))
                // Signed: + funding, − spending.
                .col(big_integer(LedgerEntries::AmountFen))
                .col(string_len(LedgerEntries::Kind, 20))
                .col(string_len(LedgerEntries::Reference, 200))
                .col(date(LedgerEntries::BookedOn))
                .col(big_integer_null(LedgerEntries::SourceId))
                .col(big_integer_null(LedgerEntries::ReversesId))
                .col(big_integer(LedgerEntries::CreatedBy))
                .col(timestamp_with_time_zone(LedgerEntries::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(LedgerEntries::Table, LedgerEntries::CampaignId)
                        .to(Campaigns::Table, Campaigns::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_ledger_campaign")
                .table(LedgerEntries::Table)
                .col(LedgerEntries::CampaignId)
                .col(LedgerEntries::Id)
                .to_owned(),
        )
        .await?;
        // An entry is reversed at most once.
        m.create_index(
            Index::create()
                .name("ux_ledger_reverses")
                .table(LedgerEntries::Table)
                .col(LedgerEntries::ReversesId)
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Suppliers::Table)
                .col(big_pk_auto(Suppliers::Id))
                .col(string_len(Suppliers::Name, 200))
                .col(string_len_uniq(Suppliers::CreditCode, 18))
                .col(string_len_null(Suppliers::Contact, 200))
                .col(timestamp_with_time_zone(Suppliers::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Contracts::Table)
                .col(big_pk_auto(Contracts::Id))
                .col(big_integer(Contracts::CampaignId))
                .col(big_integer(Contracts::SupplierId))
                .col(string_len(Contracts::Reference, 100))
                .col(date(Contracts::SignedOn))
                .col(date(Contracts::DeliveryDate))
                .col(text(Contracts::AfterSaleTerms))
                .col(big_integer(Contracts::TotalFen))
                .col(big_integer(Contracts::PaidFen).default(0))
                .col(big_integer(Contracts::CreatedBy))
                .col(timestamp_with_time_zone(Contracts::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Contracts::Table, Contracts::CampaignId)
                        .to(Campaigns::Table, Campaigns::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Contracts::Table, Contracts::SupplierId)
                        .to(Suppliers::Table, Suppliers::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ContractLines::Table)
                .col(big_pk_auto(ContractLines::Id))
                .col(big_integer(ContractLines::ContractId))
                .col(string_len(ContractLines::Item, 200))
                .col(integer(ContractLines::Quantity))
                .col(big_integer(ContractLines::UnitPriceFen))
                .col(integer(ContractLines::Delivered).default(0))
                // Units handed out through GOODS disbursements (never above `delivered`).
                .col(integer(ContractLines::Allocated).default(0))
                .foreign_key(
                    ForeignKey::create()
                        .from(ContractLines::Table, ContractLines::ContractId)
                        .to(Contracts::Table, Contracts::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Deliveries::Table)
                .col(big_pk_auto(Deliveries::Id))
                .col(big_integer(Deliveries::ContractLineId))
                .col(integer(Deliveries::Quantity))
                .col(date(Deliveries::DeliveredOn))
                .col(text_null(Deliveries::Note))
                .col(big_integer(Deliveries::CreatedBy))
                .col(timestamp_with_time_zone(Deliveries::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Deliveries::Table, Deliveries::ContractLineId)
                        .to(ContractLines::Table, ContractLines::Id),
                )
                .to_owned(),
        )
        .await?;

        // Foreign keys are not indexed by PostgreSQL on its own.
        m.create_index(
            Index::create()
                .name("ix_contracts_campaign")
                .table(Contracts::Table)
                .col(Contracts::CampaignId)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_contract_lines_contract")
                .table(ContractLines::Table)
                .col(ContractLines::ContractId)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_deliveries_line")
                .table(Deliveries::Table)
                .col(Deliveries::ContractLineId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(CalendarDays::Table)
                .col(date(CalendarDays::Day).primary_key())
                .col(string_len(CalendarDays::Kind, 10))
                .col(string_len(CalendarDays::Name, 50))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Visits::Table)
                .col(big_pk_auto(Visits::Id))
                .col(big_integer(Visits::CampaignId))
                .col(date(Visits::VisitedOn))
                .col(string_len(Visits::Team, 200))
                .col(integer(Visits::Participants))
                .col(integer(Visits::Vehicles))
                .col(text_null(Visits::Note))
                .col(boolean(Visits::Flagged))
                .col(big_integer(Visits::CreatedBy))
                .col(timestamp_with_time_zone(Visits::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Visits::Table, Visits::CampaignId)
                        .to(Campaigns::Table, Campaigns::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_visits_campaign")
                .table(Visits::Table)
                .col(Visits::CampaignId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(VisitRecipients::Table)
                .col(big_integer(VisitRecipients::VisitId))
                .col(big_integer(VisitRecipients::RecipientId))
                .primary_key(
                    Index::create()
                        .col(VisitRecipients::VisitId)
                        .col(VisitRecipients::RecipientId),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(VisitRecipients::Table, VisitRecipients::VisitId)
                        .to(Visits::Table, Visits::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(VisitRecipients::Table, VisitRecipients::RecipientId)
                        .to(Recipients::Table, Recipients::Id),
                )
                .to_owned(),
        )
        .await?;
        // `campaign{progress}`: every figure from this index alone (index-only scan).
        m.create_index(
            Index::create()
                .name("ix_disbursements_figures")
                .table(Disbursements::Table)
                .col(Disbursements::CampaignId)
                .col(Disbursements::Status)
                .col(Disbursements::EnteredAt)
                .col(Disbursements::EntryDeadline)
                .col(Disbursements::AmountFen)
                .to_owned(),
        )
        .await?;
        // Overdue entry look-ups (status, deadline) and the annual cap (per person, per year).
        m.create_index(
            Index::create()
                .name("ix_disbursements_entry")
                .table(Disbursements::Table)
                .col(Disbursements::CampaignId)
                .col(Disbursements::EnteredAt)
                .col(Disbursements::EntryDeadline)
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            VisitRecipients::Table.into_iden(),
            Visits::Table.into_iden(),
            CalendarDays::Table.into_iden(),
            Deliveries::Table.into_iden(),
            ContractLines::Table.into_iden(),
            Contracts::Table.into_iden(),
            Suppliers::Table.into_iden(),
            LedgerEntries::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Campaigns {
    Table,
    Id,
    CommittedFen,
    MaxVisitParticipants,
    MaxVisitVehicles,
}

#[derive(DeriveIden)]
enum Recipients {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Disbursements {
    Table,
    CampaignId,
    Status,
    EnteredAt,
    EntryDeadline,
    AmountFen,
}

#[derive(DeriveIden)]
enum LedgerEntries {
    Table,
    Id,
    CampaignId,
    AmountFen,
    Kind,
    Reference,
    BookedOn,
    SourceId,
    ReversesId,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Suppliers {
    Table,
    Id,
    Name,
    CreditCode,
    Contact,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Contracts {
    Table,
    Id,
    CampaignId,
    SupplierId,
    Reference,
    SignedOn,
    DeliveryDate,
    AfterSaleTerms,
    TotalFen,
    PaidFen,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ContractLines {
    Table,
    Id,
    ContractId,
    Item,
    Quantity,
    UnitPriceFen,
    Delivered,
    Allocated,
}

#[derive(DeriveIden)]
enum Deliveries {
    Table,
    Id,
    ContractLineId,
    Quantity,
    DeliveredOn,
    Note,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum CalendarDays {
    Table,
    Day,
    Kind,
    Name,
}

#[derive(DeriveIden)]
enum Visits {
    Table,
    Id,
    CampaignId,
    VisitedOn,
    Team,
    Participants,
    Vehicles,
    Note,
    Flagged,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum VisitRecipients {
    Table,
    VisitId,
    RecipientId,
}
