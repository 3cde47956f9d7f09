//! Procurement (政府采购): `Supplier`, `Contract`, `ContractLine`; suppliers and a campaign's
//! contracts, and the FINANCE mutations (supplier, contract, delivery, payment).
use super::context::{actor, id_of, services};
use super::errors::ApiResult;
use super::scalars::{Date, Decimal};
use async_graphql::{Context, ID, InputObject, Object};
use domain::Money;
use domain::procurement::{self as rules, ContractView, NewContract, NewLine};
use entities::{contract_line, supplier};

pub struct Supplier(pub supplier::Model);

#[Object]
impl Supplier {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// 统一社会信用代码 (GB 32100), 18 characters.
    async fn credit_code(&self) -> &str {
        &self.0.credit_code
    }
    async fn contact(&self) -> Option<&str> {
        self.0.contact.as_deref()
    }
}

pub struct Contract(pub ContractView);

#[Object]
impl Contract {
    async fn id(&self) -> ID {
        ID(self.0.contract.id.to_string())
    }
    async fn supplier(&self) -> Supplier {
        Supplier(self.0.supplier.clone())
    }
    /// The contract's number (合同编号).
    async fn reference(&self) -> &str {
        &self.0.contract.reference
    }
    async fn signed_on(&self) -> Date {
        Date(self.0.contract.signed_on)
    }
    async fn delivery_date(&self) -> Date {
        Date(self.0.contract.delivery_date)
    }
    async fn after_sale_terms(&self) -> &str {
        &self.0.contract.after_sale_terms
    }
    /// Σ quantity × unit price.
    async fn total(&self) -> Decimal {
        Money::from_fen(self.0.contract.total_fen).into()
    }
    async fn paid(&self) -> Decimal {
        Money::from_fen(self.0.contract.paid_fen).into()
    }
    async fn lines(&self) -> Vec<ContractLine> {
        self.0.lines.iter().cloned().map(ContractLine).collect()
    }
}

pub struct ContractLine(pub contract_line::Model);

#[Object]
impl ContractLine {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn item(&self) -> &str {
        &self.0.item
    }
    async fn quantity(&self) -> i32 {
        self.0.quantity
    }
    async fn unit_price(&self) -> Decimal {
        Money::from_fen(self.0.unit_price_fen).into()
    }
    /// Units received so far.
    async fn delivered(&self) -> i32 {
        self.0.delivered
    }
    /// Units handed out through GOODS disbursements (never above `delivered`).
    async fn allocated(&self) -> i32 {
        self.0.allocated
    }
}

#[derive(InputObject)]
pub struct SupplierInput {
    name: String,
    /// 统一社会信用代码; lower case and surrounding spaces are accepted.
    credit_code: String,
    contact: Option<String>,
}

#[derive(InputObject)]
pub struct ContractLineInput {
    item: String,
    quantity: i32,
    unit_price: Decimal,
}

#[derive(InputObject)]
pub struct ContractInput {
    campaign_id: ID,
    supplier_id: ID,
    reference: String,
    signed_on: Date,
    delivery_date: Date,
    after_sale_terms: String,
    lines: Vec<ContractLineInput>,
}

#[derive(Default)]
pub struct ProcurementQuery;

#[Object]
impl ProcurementQuery {
    /// Every registered supplier (everyone but GRASSROOTS).
    async fn suppliers(&self, ctx: &Context<'_>) -> ApiResult<Vec<Supplier>> {
        let s = services(ctx);
        Ok(rules::suppliers(s, actor(ctx)?)
            .await?
            .into_iter()
            .map(Supplier)
            .collect())
    }

    /// The campaign's procurement contracts with their lines (everyone but GRASSROOTS).
    async fn contracts(&self, ctx: &Context<'_>, campaign_id: ID) -> ApiResult<Vec<Contract>> {
        let s = services(ctx);
        Ok(rules::contracts(s, actor(ctx)?, id_of(&campaign_id, "项目")?)
            .await?
            .into_iter()
            .map(Contract)
            .collect())
    }
}

#[derive(Default)]
pub struct ProcurementMutation;

#[Object]
impl ProcurementMutation {
    /// FINANCE; the credit code is unique (CONFLICT).
    async fn create_supplier(&self, ctx: &Context<'_>, input: SupplierInput) -> ApiResult<Supplier> {
        let s = services(ctx);
        Ok(Supplier(
            rules::create_supplier(
                s,
                actor(ctx)?,
                &input.name,
                &input.credit_code,
                input.contact.as_deref(),
            )
            .await?,
        ))
    }

    /// FINANCE; the campaign must not be CLOSED.
    async fn create_contract(&self, ctx: &Context<'_>, input: ContractInput) -> ApiResult<Contract> {
        let s = services(ctx);
        let new = NewContract {
            campaign_id: id_of(&input.campaign_id, "项目")?,
            supplier_id: id_of(&input.supplier_id, "供应商")?,
            reference: input.reference,
            signed_on: input.signed_on.0,
            delivery_date: input.delivery_date.0,
            after_sale_terms: input.after_sale_terms,
            lines: input
                .lines
                .into_iter()
                .map(|l| NewLine {
                    item: l.item,
                    quantity: l.quantity,
                    unit_price: l.unit_price.raw(),
                })
                .collect(),
        };
        Ok(Contract(rules::create_contract(s, actor(ctx)?, new).await?))
    }

    /// FINANCE; never more than the line's contracted quantity in total.
    async fn record_delivery(
        &self,
        ctx: &Context<'_>,
        line_id: ID,
        quantity: i32,
        delivered_on: Date,
        note: Option<String>,
    ) -> ApiResult<ContractLine> {
        let s = services(ctx);
        Ok(ContractLine(
            rules::record_delivery(
                s,
                actor(ctx)?,
                id_of(&line_id, "合同明细")?,
                quantity,
                delivered_on.0,
                note.as_deref(),
            )
            .await?,
        ))
    }

    /// FINANCE; at most the unpaid total, within the campaign's budget (BUDGET_EXCEEDED), booked
    /// in the campaign's ledger as CONTRACT_PAYMENT.
    async fn pay_contract(
        &self,
        ctx: &Context<'_>,
        contract_id: ID,
        amount: Decimal,
        paid_on: Date,
        reference: String,
    ) -> ApiResult<Contract> {
        let s = services(ctx);
        Ok(Contract(
            rules::pay_contract(
                s,
                actor(ctx)?,
                id_of(&contract_id, "合同")?,
                &amount.raw(),
                paid_on.0,
                &reference,
            )
            .await?,
        ))
    }
}
