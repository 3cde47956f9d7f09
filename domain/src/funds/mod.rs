//! Funds: the ledger (专项台账), the budget guard, and disbursements (慰问金 / 慰问品) with their
//! life cycle PLANNED → APPROVED → PAID → CONFIRMED (or CANCELLED).
pub mod budget;
pub mod disbursements;
pub mod ledger;

use crate::Services;
use crate::error::DomainResult;
use chrono::NaiveDate;
use entities::disbursement;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
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

/// Money figures of a campaign in one aggregate statement (no rows loaded). A recipient has
/// at most one active disbursement, so counting paid rows counts served recipients.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MoneyFigures {
    pub committed_fen: i64,
    pub spent_fen: i64,
    pub served: i64,
    pub entry_overdue: i64,
    pub open: i64,
    pub paid_unconfirmed: i64,
    pub not_entered: i64,
}

pub async fn figures<C: ConnectionTrait>(
    db: &C,
    campaign_id: i64,
    today: NaiveDate,
) -> DomainResult<MoneyFigures> {
    let day = today.format("%Y-%m-%d").to_string();
    // Dates compare as ISO text on SQLite and as dates on PostgreSQL.
    let deadline_cmp = if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        format!("entry_deadline < DATE '{day}'")
    } else {
        format!("entry_deadline < '{day}'")
    };
    let row: Option<(i64, i64, i64, i64, i64, i64, i64)> = disbursement::Entity::find()
        .select_only()
        .column_as(Expr::cust("CAST(COALESCE(SUM(CASE WHEN status <> 'CANCELLED' THEN amount_fen ELSE 0 END), 0) AS BIGINT)"), "committed")
        .column_as(Expr::cust("CAST(COALESCE(SUM(CASE WHEN status IN ('PAID', 'CONFIRMED') THEN amount_fen ELSE 0 END), 0) AS BIGINT)"), "spent")
        .column_as(Expr::cust("CAST(COUNT(CASE WHEN status IN ('PAID', 'CONFIRMED') THEN 1 END) AS BIGINT)"), "served")
        .column_as(
            Expr::cust(format!(
                "CAST(COALESCE(SUM(CASE WHEN status IN ('PAID', 'CONFIRMED') AND entered_at IS NULL AND {deadline_cmp} THEN 1 ELSE 0 END), 0) AS BIGINT)"
            )),
            "overdue",
        )
        .column_as(Expr::cust("CAST(COALESCE(SUM(CASE WHEN status IN ('PLANNED', 'APPROVED') THEN 1 ELSE 0 END), 0) AS BIGINT)"), "open")
        .column_as(Expr::cust("CAST(COALESCE(SUM(CASE WHEN status = 'PAID' THEN 1 ELSE 0 END), 0) AS BIGINT)"), "paid_unconfirmed")
        .column_as(
            Expr::cust("CAST(COALESCE(SUM(CASE WHEN status IN ('PAID', 'CONFIRMED') AND entered_at IS NULL THEN 1 ELSE 0 END), 0) AS BIGINT)"),
            "not_entered",
        )
        .filter(disbursement::Column::CampaignId.eq(campaign_id))
        .into_tuple()
        .one(db)
        .await?;
    let (committed_fen, spent_fen, served, entry_overdue, open, paid_unconfirmed, not_entered) =
        row.unwrap_or_default();
    Ok(MoneyFigures {
        committed_fen,
        spent_fen,
        served,
        entry_overdue,
        open,
        paid_unconfirmed,
        not_entered,
    })
}
