//! The disbursement rows the workbooks list, read page by page (keyset on the id) and handed
//! over a bounded channel to the writer on a blocking thread, so memory stays flat whatever the
//! campaign's size. Personal data comes masked (the ledger) or decrypted (the provincial
//! export, for roles that may reveal); nothing else here differs.
use crate::core::error::{DomainError, DomainResult};
use crate::core::services::Services;
use crate::funds::disbursement_refs::{DisbursementRefs, Organizations};
use chrono::NaiveDate;
use entities::disbursement;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tokio::sync::mpsc;

/// Rows per page read.
pub const PAGE: u64 = 2_000;

/// One disbursement with its recipient, ready to be written.
#[derive(Clone, Debug)]
pub struct DisbursementRow {
    pub id: i64,
    pub category_id: i64,
    pub category: String,
    /// A unit (public-service department) rather than a person.
    pub unit: bool,
    pub recipient: String,
    pub nominated_by: String,
    pub id_number: Option<String>,
    pub phone: Option<String>,
    pub bank_name: Option<String>,
    pub bank_account: Option<String>,
    /// 现金 (bank transfer) or 物资 (goods).
    pub method: &'static str,
    /// zh-CN status.
    pub status: &'static str,
    pub amount_fen: i64,
    pub items: Option<String>,
    pub paid_on: Option<NaiveDate>,
    pub bank_reference: Option<String>,
    pub entry_deadline: Option<NaiveDate>,
    pub provincial_ref: Option<String>,
}

/// How personal data appears in the rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Personal {
    Masked,
    Clear,
}

/// Which disbursements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    /// Every disbursement of the campaign, cancelled ones included (the ledger).
    All,
    /// Paid or confirmed, not yet entered into the provincial platform (due for entry).
    DueForEntry,
}

pub fn status_zh(code: &str) -> &'static str {
    match code {
        "PLANNED" => "已计划",
        "APPROVED" => "已审核",
        "PAID" => "已发放",
        "CONFIRMED" => "已签收",
        "CANCELLED" => "已取消",
        _ => "未知",
    }
}

/// Reads the rows in id order and sends them page by page; stops early when the receiver is
/// gone (the writer failed).
pub async fn send_pages(
    s: &Services,
    campaign_id: i64,
    which: Which,
    personal: Personal,
    tx: mpsc::Sender<Vec<DisbursementRow>>,
) -> DomainResult<()> {
    let mut after = 0i64;
    loop {
        let mut q = disbursement::Entity::find()
            .filter(disbursement::Column::CampaignId.eq(campaign_id))
            .filter(disbursement::Column::Id.gt(after));
        if which == Which::DueForEntry {
            q = q.filter(crate::plan::statuses::awaiting_entry());
        }
        let page = q
            .order_by_asc(disbursement::Column::Id)
            .limit(PAGE)
            .all(&s.db)
            .await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        // Only what this page names: the organisations are its recipients' nominators, not
        // the table (a province's thousands of unions for every workbook).
        let refs = DisbursementRefs::read(&s.db, &page, Organizations::Nominating).await?;
        let mut rows = Vec::with_capacity(page.len());
        for d in page {
            let r = refs.recipients.get(&d.recipient_id);
            let c = refs.categories.get(&d.category_id);
            let field = |enc: Option<&String>, mask: Option<&String>| -> DomainResult<Option<String>> {
                match personal {
                    Personal::Masked => Ok(mask.cloned()),
                    Personal::Clear => enc.map(|e| s.cipher.decrypt(e)).transpose(),
                }
            };
            rows.push(DisbursementRow {
                id: d.id,
                category_id: d.category_id,
                category: c.map(|c| c.name.clone()).unwrap_or_default(),
                unit: r.is_some_and(|r| r.kind == "UNIT"),
                recipient: r.map(|r| r.name.clone()).unwrap_or_default(),
                nominated_by: r
                    .and_then(|r| refs.organizations.get(&r.nominated_by).cloned())
                    .unwrap_or_default(),
                id_number: field(
                    r.and_then(|r| r.id_number_enc.as_ref()),
                    r.and_then(|r| r.id_number_mask.as_ref()),
                )?,
                phone: field(
                    r.and_then(|r| r.phone_enc.as_ref()),
                    r.and_then(|r| r.phone_mask.as_ref()),
                )?,
                bank_name: r.and_then(|r| r.bank_name.clone()),
                bank_account: field(
                    r.and_then(|r| r.bank_account_enc.as_ref()),
                    r.and_then(|r| r.bank_account_mask.as_ref()),
                )?,
                method: if d.kind == "GOODS" { "物资" } else { "现金" },
                status: status_zh(&d.status),
                amount_fen: d.amount_fen,
                items: d.items,
                paid_on: d.paid_on,
                bank_reference: d.bank_reference,
                entry_deadline: d.entry_deadline,
                provincial_ref: d.provincial_ref,
            });
        }
        if tx.send(rows).await.is_err() {
            return Err(DomainError::internal(anyhow::anyhow!("报表写入已中止")));
        }
    }
    Ok(())
}
