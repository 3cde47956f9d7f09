//! Payments to the supplier, through the budget guard and the special ledger.
use crate::core::error::{DomainError, DomainResult};
use crate::core::money::Money;
use crate::core::services::Services;
use crate::funds::procurement::checks::*;
use crate::funds::procurement::contracts::*;
use crate::funds::{budget, ledger};
use crate::people::access::{Actor, Permission};
use crate::people::audit::Change;
use chrono::NaiveDate;
use entities::contract;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

// ---------------------------------------------------------------------------------------------
// Payments
// ---------------------------------------------------------------------------------------------

/// `payContract`: FINANCE pays the supplier. Never more than the contract's unpaid total; the
/// amount counts against the campaign's budget (BUDGET_EXCEEDED) and is booked in its ledger.
pub async fn pay_contract(
    s: &Services,
    actor: &Actor,
    contract_id: i64,
    amount: &str,
    paid_on: NaiveDate,
    reference: &str,
) -> DomainResult<ContractView> {
    actor.require(Permission::ManageProcurement)?;
    let amount = Money::parse("amount", amount)?;
    if amount == Money::ZERO {
        return Err(DomainError::validation("amount", "付款金额必须大于 0"));
    }
    let reference = required_text("reference", reference, 200, "付款凭证号")?;
    let mut change = Change::begin(&s.db, Some(actor), "payContract").await?;
    let (before, campaign) = visible_contract(change.txn(), actor, contract_id).await?;
    open_campaign(&campaign, "支付合同款")?;
    let unpaid = before.total_fen - before.paid_fen;
    let over = || {
        DomainError::validation(
            "amount",
            format!(
                "付款金额超过合同未付金额：还可支付 {} 元",
                Money::from_fen(Ord::max(unpaid, 0))
            ),
        )
    };
    if amount.fen() > unpaid {
        return Err(over());
    }
    let updated = contract::Entity::update_many()
        .col_expr(
            contract::Column::PaidFen,
            Expr::col(contract::Column::PaidFen).add(amount.fen()),
        )
        .filter(contract::Column::Id.eq(before.id))
        .filter(
            Expr::col(contract::Column::PaidFen)
                .add(amount.fen())
                .lte(Expr::col(contract::Column::TotalFen)),
        )
        .exec(change.txn())
        .await?;
    if updated.rows_affected == 0 {
        return Err(over());
    }
    budget::commit(&change, campaign.id, amount.fen()).await?;
    ledger::book(
        &mut change,
        ledger::Booking {
            campaign_id: campaign.id,
            amount_fen: -amount.fen(),
            kind: ledger::EntryKind::ContractPayment,
            reference: &reference,
            booked_on: paid_on,
            source_id: Some(before.id),
            created_by: actor.user_id,
        },
    )
    .await?;
    let after = crate::core::db::find::<contract::Entity, _>(change.txn(), before.id, "合同").await?;
    change.audit_update(&before, &after).await?;
    let view = views(change.txn(), vec![after])
        .await?
        .pop()
        .ok_or_else(|| DomainError::not_found("合同"))?;
    change.commit().await?;
    Ok(view)
}
