//! The budget guard: what is committed (planned + approved + paid + confirmed disbursements,
//! and payments to suppliers) never exceeds the budget. One conditional UPDATE does the check
//! and the booking at once, so it holds under concurrent requests from any number of API
//! replicas on both databases — no read-then-write, no in-process lock.
use crate::core::error::{DomainError, DomainResult};
use crate::core::money::Money;
use crate::people::audit::Change;
use crate::plan::stages::Stage;
use entities::campaign;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

/// Adds `amount_fen` to the campaign's committed sum, or refuses with BUDGET_EXCEEDED.
pub async fn commit(change: &Change, campaign_id: i64, amount_fen: i64) -> DomainResult<()> {
    let updated = campaign::Entity::update_many()
        .col_expr(
            campaign::Column::CommittedFen,
            Expr::col(campaign::Column::CommittedFen).add(amount_fen),
        )
        .filter(campaign::Column::Id.eq(campaign_id))
        .filter(
            Expr::col(campaign::Column::CommittedFen)
                .add(amount_fen)
                .lte(Expr::col(campaign::Column::BudgetFen)),
        )
        .exec(change.txn())
        .await?;
    if updated.rows_affected == 0 {
        let c = campaign::Entity::find_by_id(campaign_id)
            .one(change.txn())
            .await?;
        let remaining = c.map(|c| c.budget_fen - c.committed_fen).unwrap_or(0);
        return Err(DomainError::BudgetExceeded(
            format!(
                "超出项目预算：剩余可用 {} 元",
                Money::from_fen(Ord::max(remaining, 0))
            )
            .into(),
        ));
    }
    Ok(())
}

/// Like `commit`, and only while the campaign is in `stage` (checked in the same statement, so
/// a concurrent stage change cannot slip between the check and the booking).
pub async fn commit_in_stage(
    change: &Change,
    campaign_id: i64,
    amount_fen: i64,
    stage: Stage,
) -> DomainResult<()> {
    let updated = campaign::Entity::update_many()
        .col_expr(
            campaign::Column::CommittedFen,
            Expr::col(campaign::Column::CommittedFen).add(amount_fen),
        )
        .filter(campaign::Column::Id.eq(campaign_id))
        .filter(campaign::Column::Stage.eq(stage.as_str()))
        .filter(
            Expr::col(campaign::Column::CommittedFen)
                .add(amount_fen)
                .lte(Expr::col(campaign::Column::BudgetFen)),
        )
        .exec(change.txn())
        .await?;
    if updated.rows_affected == 0 {
        let c = crate::core::db::find::<campaign::Entity, _>(change.txn(), campaign_id, "项目").await?;
        if c.stage != stage.as_str() {
            return Err(DomainError::InvalidStage(
                format!("项目已不在“{}”阶段", stage.label()).into(),
            ));
        }
        return Err(DomainError::BudgetExceeded(
            format!(
                "超出项目预算：剩余可用 {} 元",
                Money::from_fen(Ord::max(c.budget_fen - c.committed_fen, 0))
            )
            .into(),
        ));
    }
    Ok(())
}

/// Gives a commitment back (a cancelled disbursement).
pub async fn release(change: &Change, campaign_id: i64, amount_fen: i64) -> DomainResult<()> {
    campaign::Entity::update_many()
        .col_expr(
            campaign::Column::CommittedFen,
            Expr::col(campaign::Column::CommittedFen).sub(amount_fen),
        )
        .filter(campaign::Column::Id.eq(campaign_id))
        .exec(change.txn())
        .await?;
    Ok(())
}
