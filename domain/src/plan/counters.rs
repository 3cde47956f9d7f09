//! The per-category counters: recipients nominated, recipients VERIFIED
//! (`Category.verifiedCount`) and recipients served (`Category.servedCount`). They live on the
//! category row so the most read pages (the campaign screen, the size of a recipient list)
//! count nothing. A nomination goes through `recipient_added` and every status change through
//! `recipient_moved` / `disbursement_moved`, inside the same transaction as the row, so a counter
//! moves exactly when the row it counts does; an import adds each batch's rows with
//! `recipients_added` in that batch's transaction; bulk loaders (demo, generators) call `recount`.
use crate::core::error::DomainResult;
use crate::plan::statuses::{SERVED_STATES, Status};
use entities::category;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

const VERIFIED: &str = Status::Verified.as_str();

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

/// A recipient was nominated into `category_id`.
pub async fn recipient_added<C: ConnectionTrait>(db: &C, category_id: i64) -> DomainResult<()> {
    add(db, category_id, category::Column::RecipientCount, 1).await
}

/// `n` recipients were nominated into `category_id` at once (a batch of an import, in the
/// batch's transaction).
pub async fn recipients_added<C: ConnectionTrait>(db: &C, category_id: i64, n: i32) -> DomainResult<()> {
    add(db, category_id, category::Column::RecipientCount, n).await
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
            category::Column::RecipientCount,
            Expr::cust("(SELECT COUNT(*) FROM recipients r WHERE r.category_id = categories.id)"),
        )
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

/// Recipients of a campaign, or of one category of it by code, from the counters: the total of
/// an unfiltered list for a caller who sees every recipient.
pub async fn recipients_in<C: ConnectionTrait>(
    db: &C,
    campaign_id: i64,
    category_code: Option<&str>,
) -> DomainResult<u64> {
    let mut q = category::Entity::find()
        .select_only()
        .column_as(
            Expr::cust("CAST(COALESCE(SUM(categories.recipient_count), 0) AS BIGINT)"),
            "n",
        )
        .filter(category::Column::CampaignId.eq(campaign_id));
    if let Some(code) = category_code {
        q = q.filter(category::Column::Code.eq(code.trim()));
    }
    let n: Option<i64> = q.into_tuple().one(db).await?;
    Ok(u64::try_from(n.unwrap_or(0)).unwrap_or(0))
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
