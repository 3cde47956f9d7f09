//! Money: the ledger (`recordFunding`, `ledger`), disbursements and their life cycle.
use super::aid::Disbursement;
use super::context::{actor, id_of, services};
use super::enums::{DisbursementKind, DisbursementStatus};
use super::errors::ApiResult;
use super::scalars::{Date, Decimal};
use async_graphql::{Context, ID, Object};
use domain::funds::disbursements;

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
    page_info: super::context::PageInfo,
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
            status: f.status.map(Into::into),
            category_code: f.category_code,
            entered: f.entered,
            overdue: f.overdue,
        };
        let page = disbursements::list(
            s,
            actor(ctx)?,
            id_of(&campaign_id, "项目")?,
            &filter,
            super::context::page_args(ctx, first, after.as_deref()),
        )
        .await?;
        let (edges, page_info, total_count) = super::context::connection(
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
            kind: input.kind.into(),
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
