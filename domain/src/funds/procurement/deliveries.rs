//! Deliveries (到货) against a contract line.
use crate::core::error::{DomainError, DomainResult};
use crate::core::services::Services;
use crate::funds::procurement::checks::*;
use crate::funds::procurement::contracts::*;
use crate::people::access::{Actor, Permission};
use crate::people::audit::Change;
use chrono::NaiveDate;
use entities::{contract_line, delivery};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

// ---------------------------------------------------------------------------------------------
// Deliveries (到货)
// ---------------------------------------------------------------------------------------------

/// `recordDelivery`: FINANCE records units of a line received; never more than contracted.
pub async fn record_delivery(
    s: &Services,
    actor: &Actor,
    line_id: i64,
    quantity: i32,
    delivered_on: NaiveDate,
    note: Option<&str>,
) -> DomainResult<contract_line::Model> {
    actor.require(Permission::ManageProcurement)?;
    if quantity <= 0 || quantity > MAX_QUANTITY {
        return Err(DomainError::validation(
            "quantity",
            format!("到货数量应为 1–{MAX_QUANTITY}"),
        ));
    }
    let note = optional_text("note", note, 2000, "备注")?;
    let mut change = Change::begin(&s.db, Some(actor), "recordDelivery").await?;
    let before = crate::core::db::find::<contract_line::Entity, _>(change.txn(), line_id, "合同明细").await?;
    let (_, campaign) = visible_contract(change.txn(), actor, before.contract_id)
        .await
        .map_err(|_| DomainError::not_found("合同明细"))?;
    open_campaign(&campaign, "登记到货")?;
    let over = || {
        DomainError::validation(
            "quantity",
            format!(
                "到货数量超过合同数量：还可到货 {}",
                Ord::max(before.quantity - before.delivered, 0)
            ),
        )
    };
    // Both quantities are ≤ MAX_QUANTITY, so the sum fits; the conditional UPDATE keeps the
    // rule even if a writer ever got past the audit-chain lock.
    if before.delivered + quantity > before.quantity {
        return Err(over());
    }
    let updated = contract_line::Entity::update_many()
        .col_expr(
            contract_line::Column::Delivered,
            Expr::col(contract_line::Column::Delivered).add(quantity),
        )
        .filter(contract_line::Column::Id.eq(before.id))
        .filter(
            Expr::col(contract_line::Column::Delivered)
                .add(quantity)
                .lte(Expr::col(contract_line::Column::Quantity)),
        )
        .exec(change.txn())
        .await?;
    if updated.rows_affected == 0 {
        return Err(over());
    }
    change
        .insert_audited(delivery::ActiveModel {
            contract_line_id: Set(before.id),
            quantity: Set(quantity),
            delivered_on: Set(delivered_on),
            note: Set(note),
            created_by: Set(actor.user_id),
            created_at: Set(change.now()),
            ..Default::default()
        })
        .await?;
    // The line moved by the conditional update above: its entry, before → after.
    let after =
        crate::core::db::find::<contract_line::Entity, _>(change.txn(), before.id, "合同明细").await?;
    change.audit_update(&before, &after).await?;
    change.commit().await?;
    Ok(after)
}
