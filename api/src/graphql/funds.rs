//! Money: the ledger (`recordFunding`, `ledger`), disbursements and their life cycle.
use super::enums::{DisbursementKind, DisbursementStatus};
use super::errors::ApiResult;
use super::loaders::{RecipientLoader, loader};
use super::recipients::Recipient;
use super::scalars::{Date, Decimal};
use super::{actor, id_of, services};
use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use domain::funds::disbursements::{self, DStatus, DisbursementField};
use domain::{DomainError, Money};
use entities::disbursement;

/// A disbursement, however it was reached (the root list, `Recipient.disbursements`, a
/// mutation's answer): each field asks `disbursements::may_read` first, so a field refused to a
/// caller is refused on every path (FORBIDDEN on that field, null in `data`).
pub struct Disbursement(pub disbursement::Model);

/// The caller may read `field` of a disbursement (`DisbursementField::permission`).
fn readable(ctx: &Context<'_>, field: DisbursementField) -> ApiResult<()> {
    Ok(disbursements::may_read(actor(ctx)?, field)?)
}

#[Object]
impl Disbursement {
    async fn id(&self, ctx: &Context<'_>) -> ApiResult<ID> {
        readable(ctx, DisbursementField::Id)?;
        Ok(ID(self.0.id.to_string()))
    }
    async fn recipient(&self, ctx: &Context<'_>) -> ApiResult<Recipient> {
        readable(ctx, DisbursementField::Recipient)?;
        let loader = loader::<RecipientLoader>(ctx);
        loader
            .load_one(self.0.recipient_id)
            .await?
            .map(Recipient::from)
            .ok_or_else(|| DomainError::not_found("慰问对象").into())
    }
    async fn kind(&self, ctx: &Context<'_>) -> ApiResult<DisbursementKind> {
        readable(ctx, DisbursementField::Kind)?;
        Ok(DisbursementKind::parse(&self.0.kind))
    }
    async fn amount(&self, ctx: &Context<'_>) -> ApiResult<Decimal> {
        readable(ctx, DisbursementField::Amount)?;
        Ok(Money::from_fen(self.0.amount_fen).into())
    }
    async fn status(&self, ctx: &Context<'_>) -> ApiResult<DisbursementStatus> {
        readable(ctx, DisbursementField::Status)?;
        Ok(DisbursementStatus::parse(&self.0.status))
    }
    /// GOODS: what was handed over.
    async fn items(&self, ctx: &Context<'_>) -> ApiResult<Option<&str>> {
        readable(ctx, DisbursementField::Items)?;
        Ok(self.0.items.as_deref())
    }
    async fn bank_reference(&self, ctx: &Context<'_>) -> ApiResult<Option<&str>> {
        readable(ctx, DisbursementField::BankReference)?;
        Ok(self.0.bank_reference.as_deref())
    }
    async fn paid_on(&self, ctx: &Context<'_>) -> ApiResult<Option<Date>> {
        readable(ctx, DisbursementField::PaidOn)?;
        Ok(self.0.paid_on.map(Date))
    }
    async fn confirmed_on(&self, ctx: &Context<'_>) -> ApiResult<Option<Date>> {
        readable(ctx, DisbursementField::ConfirmedOn)?;
        Ok(self.0.confirmed_on.map(Date))
    }
    /// When the recipient's notice went out.
    async fn notified_at(&self, ctx: &Context<'_>) -> ApiResult<Option<DateTime<Utc>>> {
        readable(ctx, DisbursementField::NotifiedAt)?;
        Ok(self.0.notified_at)
    }
    /// paidOn + the campaign's working days (official calendar).
    async fn entry_deadline(&self, ctx: &Context<'_>) -> ApiResult<Option<Date>> {
        readable(ctx, DisbursementField::EntryDeadline)?;
        Ok(self.0.entry_deadline.map(Date))
    }
    /// True when the deadline falls in a year the calendar does not know yet (weekends only).
    async fn entry_deadline_provisional(&self, ctx: &Context<'_>) -> ApiResult<bool> {
        readable(ctx, DisbursementField::EntryDeadlineProvisional)?;
        Ok(self.0.entry_deadline_provisional)
    }
    async fn entered_at(&self, ctx: &Context<'_>) -> ApiResult<Option<DateTime<Utc>>> {
        readable(ctx, DisbursementField::EnteredAt)?;
        Ok(self.0.entered_at)
    }
    async fn provincial_ref(&self, ctx: &Context<'_>) -> ApiResult<Option<&str>> {
        readable(ctx, DisbursementField::ProvincialRef)?;
        Ok(self.0.provincial_ref.as_deref())
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

#[derive(async_graphql::SimpleObject)]
pub struct DisbursementEdge {
    cursor: String,
    node: Disbursement,
}

#[derive(async_graphql::SimpleObject)]
pub struct DisbursementConnection {
    edges: Vec<DisbursementEdge>,
    page_info: super::PageInfo,
    total_count: i32,
}

#[derive(async_graphql::InputObject, Default)]
pub struct DisbursementFilter {
    status: Option<DisbursementStatus>,
    category_code: Option<String>,
    entered: Option<bool>,
    /// PAID or CONFIRMED, not entered, past the entry deadline.
    overdue: Option<bool>,
}

#[derive(async_graphql::InputObject)]
pub struct DisburseInput {
    recipient_id: ID,
    kind: DisbursementKind,
    amount: Decimal,
    items: Option<String>,
    idempotency_key: String,
    /// GOODS from a procurement contract line (paid through the contract).
    contract_line_id: Option<ID>,
}

fn ids_of(ids: &[ID]) -> ApiResult<Vec<i64>> {
    ids.iter().map(|i| id_of(i, "发放记录")).collect()
}

fn d_status(s: DisbursementStatus) -> DStatus {
    match s {
        DisbursementStatus::Planned => DStatus::Planned,
        DisbursementStatus::Approved => DStatus::Approved,
        DisbursementStatus::Paid => DStatus::Paid,
        DisbursementStatus::Confirmed => DStatus::Confirmed,
        DisbursementStatus::Cancelled => DStatus::Cancelled,
    }
}

#[derive(Default)]
pub struct FundsQuery;

#[Object]
impl FundsQuery {
    async fn disbursements(
        &self,
        ctx: &Context<'_>,
        campaign_id: ID,
        filter: Option<DisbursementFilter>,
        #[graphql(default = 50)] first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<DisbursementConnection> {
        let s = services(ctx);
        let f = filter.unwrap_or_default();
        let filter = disbursements::DisbursementFilter {
            status: f.status.map(d_status),
            category_code: f.category_code,
            entered: f.entered,
            overdue: f.overdue,
        };
        let page = disbursements::list(
            s,
            actor(ctx)?,
            id_of(&campaign_id, "项目")?,
            &filter,
            super::page_args(ctx, first, after.as_deref()),
        )
        .await?;
        let (edges, page_info, total_count) = super::connection(
            page,
            |d| d.id,
            |cursor, d| DisbursementEdge {
                cursor,
                node: Disbursement(d),
            },
        );
        Ok(DisbursementConnection {
            edges,
            page_info,
            total_count,
        })
    }

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
    /// CASEWORKER: plans a disbursement (PLANNED); replaying the same idempotency key with the
    /// same payload returns the same disbursement.
    async fn disburse(&self, ctx: &Context<'_>, input: DisburseInput) -> ApiResult<Disbursement> {
        let s = services(ctx);
        let req = disbursements::DisburseRequest {
            recipient_id: id_of(&input.recipient_id, "慰问对象")?,
            kind: match input.kind {
                DisbursementKind::Cash => disbursements::DKind::Cash,
                DisbursementKind::Goods => disbursements::DKind::Goods,
            },
            amount: input.amount.raw(),
            items: input.items,
            idempotency_key: input.idempotency_key,
            contract_line_id: input
                .contract_line_id
                .as_ref()
                .map(|l| id_of(l, "合同物资"))
                .transpose()?,
        };
        Ok(Disbursement(disbursements::disburse(s, actor(ctx)?, req).await?))
    }

    /// FINANCE; never by the user who planned them. Up to 500 ids, all or nothing.
    async fn approve_disbursements(&self, ctx: &Context<'_>, ids: Vec<ID>) -> ApiResult<Vec<Disbursement>> {
        let s = services(ctx);
        let rows = disbursements::approve(s, actor(ctx)?, &ids_of(&ids)?).await?;
        Ok(rows.into_iter().map(Disbursement).collect())
    }

    /// FINANCE: APPROVED only; sets the entry deadline.
    async fn mark_paid(
        &self,
        ctx: &Context<'_>,
        id: ID,
        bank_reference: String,
        paid_on: Date,
    ) -> ApiResult<Disbursement> {
        let s = services(ctx);
        Ok(Disbursement(
            disbursements::mark_paid(
                s,
                actor(ctx)?,
                id_of(&id, "发放记录")?,
                &bank_reference,
                paid_on.0,
            )
            .await?,
        ))
    }

    /// CASEWORKER: 签字确认 of a PAID disbursement.
    async fn confirm_receipt(
        &self,
        ctx: &Context<'_>,
        id: ID,
        confirmed_on: Date,
    ) -> ApiResult<Disbursement> {
        let s = services(ctx);
        Ok(Disbursement(
            disbursements::confirm_receipt(s, actor(ctx)?, id_of(&id, "发放记录")?, confirmed_on.0).await?,
        ))
    }

    /// Before payment only; releases the budget.
    async fn cancel_disbursement(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: String,
    ) -> ApiResult<Disbursement> {
        let s = services(ctx);
        Ok(Disbursement(
            disbursements::cancel(s, actor(ctx)?, id_of(&id, "发放记录")?, &reason).await?,
        ))
    }

    /// CASEWORKER or the provincial platform (INTEGRATION). Up to 500 ids.
    async fn mark_entered(
        &self,
        ctx: &Context<'_>,
        ids: Vec<ID>,
        provincial_ref: String,
    ) -> ApiResult<Vec<Disbursement>> {
        let s = services(ctx);
        let rows = disbursements::mark_entered(s, actor(ctx)?, &ids_of(&ids)?, &provincial_ref).await?;
        Ok(rows.into_iter().map(Disbursement).collect())
    }

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
    async fn reverse_ledger_entry(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: String,
    ) -> ApiResult<LedgerEntry> {
        let s = services(ctx);
        Ok(LedgerEntry(
            domain::funds::ledger::reverse(s, actor(ctx)?, id_of(&id, "台账条目")?, &reason).await?,
        ))
    }
}
