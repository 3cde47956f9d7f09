//! The per-category counters shown on the campaign screen (`Category.verifiedCount`,
//! `Category.servedCount`). They live on the category row so the most read page of the system
//! counts nothing. Every status change of a recipient or a disbursement goes through
//! `recipient_moved` / `disbursement_moved` inside its own transaction, so a counter moves
//! exactly when the row it counts does; bulk loaders (demo, generators) call `recount`.
use crate::error::DomainResult;
use crate::funds::SERVED_STATES;
use entities::category;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

const VERIFIED: &str = crate::recipients::Status::Verified.as_str();

/// +1, −1 or 0: how a move from `before` to `after` changes a count of states in `counted`.
fn delta(before: &str, after: &str, counted: &[&str]) -> i32 {
    i32::from(counted.contains(&after)) - i32::from(counted.contains(&before))
}

async fn add<C: ConnectionTrait>(
    db: &C,
    category_id: i64,
    col: category::Column,
    by: i32,
) -> DomainResult<()> {
    if by != 0 {
        category::Entity::update_many()
            .col_expr(col, Expr::col(col).add(by))
            .filter(category::Column::Id.eq(category_id))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// A recipient of `category_id` went from status `before` to `after`.
pub async fn recipient_moved<C: ConnectionTrait>(
    db: &C,
    category_id: i64,
    before: &str,
    after: &str,
) -> DomainResult<()> {
    add(
        db,
        category_id,
        category::Column::VerifiedCount,
        delta(before, after, &[VERIFIED]),
    )
    .await
}

/// A disbursement of `category_id` went from status `before` to `after`.
pub async fn disbursement_moved<C: ConnectionTrait>(
    db: &C,
    category_id: i64,
    before: &str,
    after: &str,
) -> DomainResult<()> {
    add(
        db,
        category_id,
        category::Column::ServedCount,
        delta(before, after, &SERVED_STATES),
    )
    .await
}

/// Sets the counters of a campaign's categories from the rows themselves (after bulk loads
/// that bypass the transitions).
pub async fn recount<C: ConnectionTrait>(db: &C, campaign_id: i64) -> DomainResult<()> {
    let served = SERVED_STATES
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ");
    category::Entity::update_many()
        .col_expr(
            category::Column::VerifiedCount,
            Expr::cust(format!(
                "(SELECT COUNT(*) FROM recipients r WHERE r.category_id = categories.id \
                 AND r.status = '{VERIFIED}')"
            )),
        )
        .col_expr(
            category::Column::ServedCount,
            Expr::cust(format!(
                "(SELECT COUNT(*) FROM disbursements d WHERE d.category_id = categories.id \
                 AND d.status IN ({served}))"
            )),
        )
        .filter(category::Column::CampaignId.eq(campaign_id))
        .exec(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas() {
        assert_eq!(delta("NOMINATED", "VERIFIED", &[VERIFIED]), 1);
        assert_eq!(delta("VERIFIED", "REJECTED", &[VERIFIED]), -1);
        assert_eq!(delta("NOMINATED", "REJECTED", &[VERIFIED]), 0);
        assert_eq!(delta("APPROVED", "PAID", &SERVED_STATES), 1);
        assert_eq!(delta("PAID", "CONFIRMED", &SERVED_STATES), 0);
        assert_eq!(delta("PAID", "CANCELLED", &SERVED_STATES), -1);
    }
}
