//! Contracts of a campaign with their lines (item, quantity, unit price), and the allocation of
//! delivered units to GOODS disbursements (and their release when one is cancelled).
use crate::core::error::{DomainError, DomainResult};
use crate::core::money::Money;
use crate::core::services::Services;
use crate::funds::procurement::checks::*;
use crate::people::access::{Actor, Permission};
use crate::people::audit::Change;
use crate::people::organizations::clean_name;
use crate::plan::campaign as campaigns;
use chrono::NaiveDate;
use entities::{campaign, contract, contract_line, supplier};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use std::collections::HashMap;

// ---------------------------------------------------------------------------------------------
// Contracts
// ---------------------------------------------------------------------------------------------

/// One line of a new contract, as the client sent it.
#[derive(Clone, Debug)]
pub struct NewLine {
    pub item: String,
    pub quantity: i32,
    /// As sent; parsed by `Money::parse` (field `unitPrice`).
    pub unit_price: String,
}

/// A new contract, as the client sent it.
#[derive(Clone, Debug)]
pub struct NewContract {
    pub campaign_id: i64,
    pub supplier_id: i64,
    pub reference: String,
    pub signed_on: NaiveDate,
    pub delivery_date: NaiveDate,
    pub after_sale_terms: String,
    pub lines: Vec<NewLine>,
}

/// A contract with its supplier and its lines (in line order).
#[derive(Clone, Debug)]
pub struct ContractView {
    pub contract: contract::Model,
    pub supplier: supplier::Model,
    pub lines: Vec<contract_line::Model>,
}

#[derive(Debug)]
pub(super) struct ValidLine {
    item: String,
    quantity: i32,
    unit_price_fen: i64,
}

#[derive(Debug)]
pub(super) struct ValidContract {
    reference: String,
    after_sale_terms: String,
    lines: Vec<ValidLine>,
    pub(super) total_fen: i64,
}

pub(super) fn validate_contract(c: &NewContract) -> DomainResult<ValidContract> {
    let reference = required_text("reference", &c.reference, 100, "合同编号")?;
    if c.delivery_date < c.signed_on {
        return Err(DomainError::validation(
            "deliveryDate",
            "交货日期不能早于签订日期",
        ));
    }
    let after_sale_terms = required_text("afterSaleTerms", &c.after_sale_terms, 2000, "售后条款")?;
    if c.lines.is_empty() {
        return Err(DomainError::validation("lines", "合同至少包含一项物资"));
    }
    if c.lines.len() > MAX_LINES {
        return Err(DomainError::validation(
            "lines",
            format!("合同最多包含 {MAX_LINES} 项物资"),
        ));
    }
    let too_large = || DomainError::validation("lines", "合同总额超出允许范围");
    let mut lines = Vec::with_capacity(c.lines.len());
    let mut total_fen: i64 = 0;
    for (i, l) in c.lines.iter().enumerate() {
        let n = i + 1;
        let item = clean_name("item", &l.item, 200).map_err(|e| at_line(n, e))?;
        if l.quantity <= 0 || l.quantity > MAX_QUANTITY {
            return Err(at_line(
                n,
                DomainError::validation("quantity", format!("数量应为 1–{MAX_QUANTITY}")),
            ));
        }
        let price = Money::parse("unitPrice", &l.unit_price).map_err(|e| at_line(n, e))?;
        if price == Money::ZERO {
            return Err(at_line(n, DomainError::validation("unitPrice", "单价必须大于 0")));
        }
        let amount = price
            .fen()
            .checked_mul(i64::from(l.quantity))
            .ok_or_else(too_large)?;
        total_fen = total_fen.checked_add(amount).ok_or_else(too_large)?;
        lines.push(ValidLine {
            item,
            quantity: l.quantity,
            unit_price_fen: price.fen(),
        });
    }
    if total_fen > MAX_TOTAL_FEN {
        return Err(too_large());
    }
    Ok(ValidContract {
        reference,
        after_sale_terms,
        lines,
        total_fen,
    })
}

/// `createContract`: FINANCE, for a visible campaign that is not closed.
pub async fn create_contract(s: &Services, actor: &Actor, new: NewContract) -> DomainResult<ContractView> {
    actor.require(Permission::ManageProcurement)?;
    let v = validate_contract(&new)?;
    let mut change = Change::begin(&s.db, Some(actor), "createContract").await?;
    let campaign = campaigns::find_visible(change.txn(), actor, new.campaign_id).await?;
    open_campaign(&campaign, "签订采购合同")?;
    let supplier =
        crate::core::db::find::<supplier::Entity, _>(change.txn(), new.supplier_id, "供应商").await?;
    let am = contract::ActiveModel {
        campaign_id: Set(campaign.id),
        supplier_id: Set(supplier.id),
        reference: Set(v.reference),
        signed_on: Set(new.signed_on),
        delivery_date: Set(new.delivery_date),
        after_sale_terms: Set(v.after_sale_terms),
        total_fen: Set(v.total_fen),
        paid_fen: Set(0),
        created_by: Set(actor.user_id),
        created_at: Set(change.now()),
        ..Default::default()
    };
    let created = change.insert_audited(am).await?;
    let mut lines = Vec::with_capacity(v.lines.len());
    for l in v.lines {
        let line = change
            .insert_audited(contract_line::ActiveModel {
                contract_id: Set(created.id),
                item: Set(l.item),
                quantity: Set(l.quantity),
                unit_price_fen: Set(l.unit_price_fen),
                delivered: Set(0),
                allocated: Set(0),
                ..Default::default()
            })
            .await?;
        lines.push(line);
    }
    change.commit().await?;
    Ok(ContractView {
        contract: created,
        supplier,
        lines,
    })
}

/// Attaches suppliers and lines to contracts: one query for all lines, one for all suppliers.
pub(super) async fn views<C: ConnectionTrait>(
    db: &C,
    contracts: Vec<contract::Model>,
) -> DomainResult<Vec<ContractView>> {
    if contracts.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = contracts.iter().map(|c| c.id).collect();
    let mut supplier_ids: Vec<i64> = contracts.iter().map(|c| c.supplier_id).collect();
    supplier_ids.sort_unstable();
    supplier_ids.dedup();
    let mut lines: HashMap<i64, Vec<contract_line::Model>> = HashMap::new();
    for l in contract_line::Entity::find()
        .filter(contract_line::Column::ContractId.is_in(ids))
        .order_by_asc(contract_line::Column::Id)
        .all(db)
        .await?
    {
        lines.entry(l.contract_id).or_default().push(l);
    }
    let suppliers: HashMap<i64, supplier::Model> = supplier::Entity::find()
        .filter(supplier::Column::Id.is_in(supplier_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    contracts
        .into_iter()
        .map(|c| {
            let supplier = suppliers
                .get(&c.supplier_id)
                .cloned()
                .ok_or_else(|| DomainError::not_found("供应商"))?;
            let lines = lines.remove(&c.id).unwrap_or_default();
            Ok(ContractView {
                contract: c,
                supplier,
                lines,
            })
        })
        .collect()
}

/// The contracts of a visible campaign with their suppliers and lines, in signing order.
pub async fn contracts(s: &Services, actor: &Actor, campaign_id: i64) -> DomainResult<Vec<ContractView>> {
    actor.require(Permission::ReadMoney)?;
    let campaign = campaigns::find_visible(&s.db, actor, campaign_id).await?;
    let rows = contract::Entity::find()
        .filter(contract::Column::CampaignId.eq(campaign.id))
        .order_by_asc(contract::Column::Id)
        .all(&s.db)
        .await?;
    views(&s.db, rows).await
}

/// A contract whose campaign the caller sees (NOT_FOUND otherwise), with that campaign.
pub(super) async fn visible_contract<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    id: i64,
) -> DomainResult<(contract::Model, campaign::Model)> {
    let c = crate::core::db::find::<contract::Entity, _>(db, id, "合同").await?;
    let campaign = campaigns::find_visible(db, actor, c.campaign_id)
        .await
        .map_err(|_| DomainError::not_found("合同"))?;
    Ok((c, campaign))
}

// ---------------------------------------------------------------------------------------------
// Allocation to GOODS disbursements
// ---------------------------------------------------------------------------------------------

/// Hands out one delivered unit of a line to a GOODS disbursement of `campaign_id`, inside the
/// caller's change (which does the permission checks and the audit entry). The line must belong
/// to a contract of that campaign (VALIDATION `contractLineId`) and have a delivered unit not yet
/// handed out (CONFLICT). One conditional UPDATE, so it holds under concurrent requests.
pub async fn allocate_line(
    change: &Change,
    campaign_id: i64,
    line_id: i64,
) -> DomainResult<contract_line::Model> {
    let not_ours = || DomainError::validation("contractLineId", "该物资不属于本项目的采购合同");
    let line = contract_line::Entity::find_by_id(line_id)
        .one(change.txn())
        .await?
        .ok_or_else(not_ours)?;
    let owner = contract::Entity::find_by_id(line.contract_id)
        .one(change.txn())
        .await?;
    if owner.is_none_or(|c| c.campaign_id != campaign_id) {
        return Err(not_ours());
    }
    let updated = contract_line::Entity::update_many()
        .col_expr(
            contract_line::Column::Allocated,
            Expr::col(contract_line::Column::Allocated).add(1),
        )
        .filter(contract_line::Column::Id.eq(line.id))
        .filter(Expr::col(contract_line::Column::Allocated).lt(Expr::col(contract_line::Column::Delivered)))
        .exec(change.txn())
        .await?;
    if updated.rows_affected == 0 {
        return Err(DomainError::Conflict("该物资已全部发放或尚未到货".into()));
    }
    contract_line::Entity::find_by_id(line.id)
        .one(change.txn())
        .await?
        .ok_or_else(not_ours)
}

/// Gives one allocated unit back (a cancelled GOODS disbursement), inside the caller's change.
/// CONFLICT when the line has nothing allocated (the counter never goes below zero).
pub async fn release_line(change: &Change, line_id: i64) -> DomainResult<()> {
    let updated = contract_line::Entity::update_many()
        .col_expr(
            contract_line::Column::Allocated,
            Expr::col(contract_line::Column::Allocated).sub(1),
        )
        .filter(contract_line::Column::Id.eq(line_id))
        .filter(contract_line::Column::Allocated.gt(0))
        .exec(change.txn())
        .await?;
    if updated.rows_affected == 0 {
        return Err(DomainError::Conflict("该物资没有可退回的发放数量".into()));
    }
    Ok(())
}
