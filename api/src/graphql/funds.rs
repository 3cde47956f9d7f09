//! Money: the ledger (`recordFunding`, `ledger`), disbursements and their life cycle.
use super::enums::{DisbursementKind, DisbursementStatus};
use super::errors::ApiResult;
use super::loaders::{Batched, RecipientLoader};
use super::recipients::Recipient;
use super::{actor, id_of, services};
use super::scalars::{Date, Decimal};
use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use domain::{DomainError, Money};
use entities::disbursement;

pub struct Disbursement(pub disbursement::Model);

#[Object]
impl Disbursement {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn recipient(&self, ctx: &Context<'_>) -> ApiResult<Recipient> {
        let loader = ctx.data_unchecked::<Batched<RecipientLoader>>();
        loader
            .load_one(self.0.recipient_id)
            .await?
            .map(Recipient)
            .ok_or_else(|| DomainError::not_found("慰问对象").into())
    }
    async fn kind(&self) -> DisbursementKind {
        DisbursementKind::parse(&self.0.kind)
    }
    async fn amount(&self) -> Decimal {
        Money::from_fen(self.0.amount_fen).into()
    }
    async fn status(&self) -> DisbursementStatus {
        DisbursementStatus::parse(&self.0.status)
    }
    /// GOODS: what was handed over.
    async fn items(&self) -> Option<&str> {
        self.0.items.as_deref()
    }
    async fn bank_reference(&self) -> Option<&str> {
        self.0.bank_reference.as_deref()
    }
    async fn paid_on(&self) -> Option<Date> {
        self.0.paid_on.map(Date)
    }
    async fn confirmed_on(&self) -> Option<Date> {
        self.0.confirmed_on.map(Date)
    }
    /// When the recipient's notice went out.
    async fn notified_at(&self) -> Option<DateTime<Utc>> {
        self.0.notified_at
    }
    /// paidOn + the campaign's working days (official calendar).
    async fn entry_deadline(&self) -> Option<Date> {
        self.0.entry_deadline.map(Date)
    }
    /// True when the deadline falls in a year the calendar does not know yet (weekends only).
    async fn entry_deadline_provisional(&self) -> bool {
        self.0.entry_deadline_provisional
    }
    async fn entered_at(&self) -> Option<DateTime<Utc>> {
        self.0.entered_at
    }
    async fn provincial_ref(&self) -> Option<&str> {
        self.0.provincial_ref.as_deref()
    }
}

/// One entry of the special ledger: + funding, − spending.
pub struct LedgerEntry(pub entities::ledger_entry::Model);

#[Object]
impl LedgerEntry {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Signed: positive for funding, negative for spending.
    async fn amount(&self) -> Decimal {
        Decimal::Signed(self.0.amount_fen)
    }
    async fn reference(&self) -> &str {
        &self.0.reference
    }
    async fn booked_on(&self) -> Date {
        Date(self.0.booked_on)
    }
    /// FUNDING, DISBURSEMENT, CONTRACT_PAYMENT or REVERSAL.
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    /// The entry this one reverses.
    async fn reverses_id(&self) -> Option<ID> {
        self.0.reverses_id.map(|i| ID(i.to_string()))
    }
}

/// A campaign's ledger with its totals.
#[derive(async_graphql::SimpleObject)]
pub struct Ledger {
    entries: Vec<LedgerEntry>,
    /// Funding received (net of reversals).
    funded: Decimal,
    /// Funding minus spending.
    balance: Decimal,
}

#[derive(Default)]
pub struct FundsQuery;

#[Object]
impl FundsQuery {
    /// FINANCE, ADMIN and the reading roles; entries oldest first.
    async fn ledger(&self, ctx: &Context<'_>, campaign_id: ID) -> ApiResult<Ledger> {
        let s = services(ctx);
        let l = domain::funds::ledger::ledger(s, actor(ctx)?, id_of(&campaign_id, "项目")?).await?;
        Ok(Ledger {
            entries: l.entries.into_iter().map(LedgerEntry).collect(),
            funded: Decimal::Signed(l.funded),
            balance: Decimal::Signed(l.balance),
        })
    }
}

#[derive(Default)]
pub struct FundsMutation;

#[Object]
impl FundsMutation {
    /// FINANCE: funding from the finance bureau arrives in the campaign's ledger.
    async fn record_funding(
        &self,
        ctx: &Context<'_>,
        campaign_id: ID,
        amount: Decimal,
        reference: String,
        received_on: Date,
    ) -> ApiResult<LedgerEntry> {
        let s = services(ctx);
        let e = domain::funds::ledger::record_funding(
            s,
            actor(ctx)?,
            id_of(&campaign_id, "项目")?,
            &amount.raw(),
            &reference,
            received_on.0,
        )
        .await?;
        Ok(LedgerEntry(e))
    }

    /// FINANCE: reverses a funding entry booked in error (an opposite entry is added).
    async fn reverse_ledger_entry(&self, ctx: &Context<'_>, id: ID, reason: String) -> ApiResult<LedgerEntry> {
        let s = services(ctx);
        Ok(LedgerEntry(
            domain::funds::ledger::reverse(s, actor(ctx)?, id_of(&id, "台账条目")?, &reason).await?,
        ))
    }
}
