//! Funds: the ledger (专项台账), the budget guard, and disbursements (慰问金 / 慰问品) with their
//! life cycle PLANNED → APPROVED → PAID → CONFIRMED (or CANCELLED).
pub mod budget;
pub mod ledger;

use crate::Services;
use crate::error::DomainResult;
use entities::disbursement;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::HashMap;

/// Disbursement states that count as paid out ("served").
pub const SERVED_STATES: [&str; 2] = ["PAID", "CONFIRMED"];

/// Disbursements of several recipients at once (DataLoader), oldest first.
pub async fn of_recipients(
    s: &Services,
    recipient_ids: &[i64],
) -> DomainResult<HashMap<i64, Vec<disbursement::Model>>> {
    let rows = disbursement::Entity::find()
        .filter(disbursement::Column::RecipientId.is_in(recipient_ids.iter().copied()))
        .order_by_asc(disbursement::Column::Id)
        .all(&s.db)
        .await?;
    let mut out: HashMap<i64, Vec<disbursement::Model>> = HashMap::new();
    for d in rows {
        out.entry(d.recipient_id).or_default().push(d);
    }
    Ok(out)
}

/// Recipients with a PAID or CONFIRMED disbursement, per category.
pub async fn served_counts(s: &Services, category_ids: &[i64]) -> DomainResult<HashMap<i64, i32>> {
    let rows: Vec<(i64, i64)> = disbursement::Entity::find()
        .select_only()
        .column(disbursement::Column::CategoryId)
        .column_as(disbursement::Column::RecipientId.count(), "n")
        .filter(disbursement::Column::CategoryId.is_in(category_ids.iter().copied()))
        .filter(disbursement::Column::Status.is_in(SERVED_STATES))
        .group_by(disbursement::Column::CategoryId)
        .into_tuple()
        .all(&s.db)
        .await?;
    Ok(rows.into_iter().map(|(c, n)| (c, n as i32)).collect())
}
