//! SMS receipts (`POST /hooks/sms-receipt`): the provider's delivery reports, in the common
//! providers' shape (a JSON array of `{out_id, success, err_code, err_msg, report_time}`), move a
//! SENT notice to DELIVERED (`deliveredAt`) or FAILED (`lastError`). Each move is a conditional
//! UPDATE from SENT, so a replayed receipt changes nothing; unknown out-ids are counted and
//! ignored.
use crate::core::error::DomainResult;
use crate::core::services::Services;
use crate::funds::notices::NoticeStatus;
use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use entities::notice;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde::Deserialize;
use sha2::Digest;

/// Most receipts one push may carry.
pub const MAX_RECEIPTS: usize = 1000;

/// One delivery report. Other fields the provider sends (`phone_number`, `biz_id`, …) are
/// ignored: the phone is never read from a receipt.
#[derive(Debug, Deserialize)]
pub struct Receipt {
    pub out_id: String,
    pub success: bool,
    #[serde(default)]
    pub err_code: Option<String>,
    #[serde(default)]
    pub err_msg: Option<String>,
    /// "YYYY-MM-DD HH:MM:SS", Beijing time (Aliyun's shape); now when absent or unreadable.
    #[serde(default)]
    pub report_time: Option<String>,
}

/// What one push did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// Notices moved (SENT → DELIVERED / FAILED).
    pub applied: u32,
    /// Known out-ids whose notice was not SENT (a replay, or a report before our commit).
    pub unchanged: u32,
    /// Out-ids we never sent.
    pub unknown: u32,
}

/// Whether `given` is the configured secret, in time independent of where they differ (both
/// are hashed first, so the length does not show either).
pub fn secret_matches(given: &str, expected: &str) -> bool {
    let a = sha2::Sha256::digest(given.as_bytes());
    let b = sha2::Sha256::digest(expected.as_bytes());
    a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn report_time(r: &Receipt) -> DateTime<Utc> {
    r.report_time
        .as_deref()
        .and_then(|t| NaiveDateTime::parse_from_str(t.trim(), "%Y-%m-%d %H:%M:%S").ok())
        .map(|t| t.and_utc() - chrono::Duration::hours(8))
        .unwrap_or_else(Utc::now)
        .trunc_subsecs(6)
}

/// Applies a push of receipts.
pub async fn apply(s: &Services, receipts: &[Receipt]) -> DomainResult<Applied> {
    let mut out = Applied::default();
    for r in receipts {
        let now = Utc::now().trunc_subsecs(6);
        let mut q = notice::Entity::update_many().col_expr(notice::Column::UpdatedAt, Expr::value(now));
        q = if r.success {
            q.col_expr(
                notice::Column::Status,
                Expr::value(NoticeStatus::Delivered.as_str()),
            )
            .col_expr(notice::Column::DeliveredAt, Expr::value(report_time(r)))
        } else {
            let reason = format!(
                "短信回执：未送达 {} {}",
                r.err_code.as_deref().unwrap_or(""),
                r.err_msg.as_deref().unwrap_or("")
            );
            q.col_expr(notice::Column::Status, Expr::value(NoticeStatus::Failed.as_str()))
                .col_expr(
                    notice::Column::LastError,
                    Expr::value(reason.trim().chars().take(1000).collect::<String>()),
                )
        };
        let moved = q
            .filter(notice::Column::OutId.eq(r.out_id.as_str()))
            .filter(notice::Column::Status.eq(NoticeStatus::Sent.as_str()))
            .exec(&s.db)
            .await?
            .rows_affected;
        if moved > 0 {
            out.applied += 1;
            continue;
        }
        let known = notice::Entity::find()
            .filter(notice::Column::OutId.eq(r.out_id.as_str()))
            .count(&s.db)
            .await?;
        if known > 0 {
            out.unchanged += 1;
        } else {
            out.unknown += 1;
        }
    }
    if out.unknown > 0 {
        tracing::warn!(unknown = out.unknown, "短信回执中有未知的 out_id，已忽略");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_whole() {
        assert!(secret_matches("0123456789abcdef", "0123456789abcdef"));
        assert!(!secret_matches("0123456789abcdeX", "0123456789abcdef"));
        assert!(!secret_matches("", "0123456789abcdef"));
    }

    #[test]
    fn report_time_is_beijing_time() {
        let r = Receipt {
            out_id: "x".into(),
            success: true,
            err_code: None,
            err_msg: None,
            report_time: Some("2025-01-20 08:30:00".into()),
        };
        assert_eq!(report_time(&r).to_rfc3339(), "2025-01-20T00:30:00+00:00");
    }
}
