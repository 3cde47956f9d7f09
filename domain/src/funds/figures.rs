//! Money figures of campaigns, in one aggregate statement over disbursements (the campaign
//! screen's progress, the stage guards of `lifecycle`), and a page's disbursements by recipient.
use crate::core::error::DomainResult;
use crate::core::services::Services;
use chrono::NaiveDate;
use entities::disbursement;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::HashMap;

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
    Ok(figures_of(db, &[campaign_id], today)
        .await?
        .remove(&campaign_id)
        .unwrap_or_default())
}

/// The figures of several campaigns in one statement (a list asking for `progress`); every
/// requested campaign has an entry.
pub async fn figures_of<C: ConnectionTrait>(
    db: &C,
    campaign_ids: &[i64],
    today: NaiveDate,
) -> DomainResult<HashMap<i64, MoneyFigures>> {
    let day = today.format("%Y-%m-%d").to_string();
    // Dates compare as ISO text on SQLite and as dates on PostgreSQL.
    let overdue = if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        format!("CASE WHEN entry_deadline < DATE '{day}' THEN 1 ELSE 0 END")
    } else {
        format!("CASE WHEN entry_deadline < '{day}' THEN 1 ELSE 0 END")
    };
    // A handful of groups per campaign (status × entered × past deadline), read from the
    // covering index `ix_disbursements_figures` without touching the table; summed up here.
    let groups: Vec<(i64, String, i32, i32, i64, i64)> = disbursement::Entity::find()
        .select_only()
        .column(disbursement::Column::CampaignId)
        .column(disbursement::Column::Status)
        .column_as(
            Expr::cust("CASE WHEN entered_at IS NULL THEN 0 ELSE 1 END"),
            "entered",
        )
        .column_as(Expr::cust(overdue.clone()), "past_deadline")
        .column_as(Expr::cust("CAST(COUNT(*) AS BIGINT)"), "n")
        .column_as(
            Expr::cust("CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT)"),
            "total",
        )
        .filter(disbursement::Column::CampaignId.is_in(campaign_ids.iter().copied()))
        .group_by(disbursement::Column::CampaignId)
        .group_by(disbursement::Column::Status)
        .group_by(Expr::cust("CASE WHEN entered_at IS NULL THEN 0 ELSE 1 END"))
        .group_by(Expr::cust(overdue))
        .into_tuple()
        .all(db)
        .await?;
    let mut out: HashMap<i64, MoneyFigures> = campaign_ids
        .iter()
        .map(|id| (*id, MoneyFigures::default()))
        .collect();
    for (campaign, status, entered, past, n, total) in groups {
        let f = out.entry(campaign).or_default();
        let paid = status == "PAID" || status == "CONFIRMED";
        if status != "CANCELLED" {
            f.committed_fen += total;
        }
        if paid {
            f.spent_fen += total;
            // One active disbursement per recipient: paid rows are served recipients.
            f.served += n;
            if entered == 0 {
                f.not_entered += n;
                if past == 1 {
                    f.entry_overdue += n;
                }
            }
        }
        if status == "PLANNED" || status == "APPROVED" {
            f.open += n;
        }
        if status == "PAID" {
            f.paid_unconfirmed += n;
        }
    }
    Ok(out)
}
