//! The LETTERS job: printable written notices (书面告知) for the recipients an SMS cannot reach —
//! persons without a phone, and units (`funds::notices::channel_for`).
//!
//! **One job per letter, one batch per campaign.** `markPaid` queues, in the payment's
//! transaction, a LETTERS job per LETTER notice (key `letter:<disbursement id>`), due
//! `SONGNUAN_LETTER_DELAY_SECS` (default 60) later. The first of a campaign's jobs to run prints
//! every PENDING letter of that campaign into one DOCX (`print_campaign`), one A4 page per
//! letter; the jobs of the letters it printed then find nothing pending and finish. So no letter
//! waits on a job that was never queued, and a burst of payments makes one document.
//!
//! **Each letter once.** Inside one transaction the batch claims its notices with a conditional
//! UPDATE (PENDING → SENT, `sentAt`), sets the disbursements' `notifiedAt` ("the letter was
//! produced"), writes the file, and only then commits; a failed write rolls the claim back, and
//! a concurrent batch's UPDATE of the same notice matches nothing once this one committed, so two
//! runners never print the same letter into two documents. (A crash between the file and the
//! commit leaves an orphan file whose letters are printed again by the next batch.)
//!
//! **The file**: `<data dir>/files/letters/campaign-<id>/letters-<UTC time>-<first notice id>.docx`.
//! A letter carries the recipient's name (and, for a person, the masked ID number, never the
//! clear one: letters are handled by many hands), the campaign, the amount or the goods, the
//! payment date and bank reference, the sending organisation and the date.
use crate::core::error::{DomainError, DomainResult};
use crate::core::money::Money;
use crate::core::services::Services;
use crate::funds::notices::{self as notice_rows, NoticeChannel, NoticeStatus};
use crate::plan::categories::RecipientKind;
use chrono::{NaiveDate, SubsecRound, Utc};
use docx_rs::{
    AlignmentType, BreakType, Docx, LineSpacing, PageMargin, Paragraph, Run, RunFonts, SpecialIndentType,
};
use entities::{campaign, disbursement, job, notice, organization, recipient};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, TransactionTrait};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn internal(reason: String) -> DomainError {
    DomainError::internal(anyhow::anyhow!("{reason}"))
}

/// One printed letter's content.
#[derive(Debug, Clone)]
pub struct Letter {
    pub disbursement_id: i64,
    pub name: String,
    pub unit: bool,
    /// The masked ID number of a person.
    pub id_mask: Option<String>,
    pub campaign: String,
    pub organization: String,
    pub amount: Money,
    /// The goods, for a GOODS disbursement.
    pub items: Option<String>,
    pub paid_on: Option<NaiveDate>,
    pub bank_reference: Option<String>,
}

/// A printed batch.
#[derive(Debug, Clone)]
pub struct Batch {
    /// The DOCX file.
    pub file: PathBuf,
    /// The disbursements whose letters it holds, in order.
    pub disbursement_ids: Vec<i64>,
}

/// The LETTERS job: prints its campaign's pending letters (its own among them, unless an
/// earlier batch did).
pub async fn run_job(s: &Services, j: &job::Model) -> DomainResult<()> {
    let id = j
        .target
        .as_deref()
        .and_then(notice_rows::parse_target)
        .ok_or_else(|| internal(format!("书面通知任务的目标无效: {:?}", j.target)))?;
    let d = disbursement::Entity::find_by_id(id)
        .one(&s.db)
        .await?
        .ok_or_else(|| internal(format!("发放记录 #{id} 不存在")))?;
    print_campaign(s, d.campaign_id).await?;
    Ok(())
}

/// Prints every PENDING letter of the campaign into one DOCX; `None` when none is pending.
pub async fn print_campaign(s: &Services, campaign_id: i64) -> DomainResult<Option<Batch>> {
    let of_campaign = Query::select()
        .column(disbursement::Column::Id)
        .from(disbursement::Entity)
        .and_where(disbursement::Column::CampaignId.eq(campaign_id))
        .to_owned();
    let pending = notice::Entity::find()
        .filter(notice::Column::Channel.eq(NoticeChannel::Letter.as_str()))
        .filter(notice::Column::Status.eq(NoticeStatus::Pending.as_str()))
        .filter(notice::Column::DisbursementId.in_subquery(of_campaign))
        .order_by_asc(notice::Column::DisbursementId)
        .all(&s.db)
        .await?;
    if pending.is_empty() {
        return Ok(None);
    }
    let letters = contents(s, campaign_id, &pending).await?;
    let now = Utc::now().trunc_subsecs(6);
    let txn = s.db.begin().await?;
    let mut claimed = Vec::with_capacity(pending.len());
    for (n, letter) in pending.iter().zip(letters) {
        let res = notice::Entity::update_many()
            .col_expr(notice::Column::Status, Expr::value(NoticeStatus::Sent.as_str()))
            .col_expr(notice::Column::SentAt, Expr::value(now))
            .col_expr(
                notice::Column::Attempts,
                Expr::col(notice::Column::Attempts).add(1),
            )
            .col_expr(notice::Column::LastError, Expr::value(Option::<String>::None))
            .col_expr(notice::Column::UpdatedAt, Expr::value(now))
            .filter(notice::Column::Id.eq(n.id))
            .filter(notice::Column::Status.eq(NoticeStatus::Pending.as_str()))
            .exec(&txn)
            .await?;
        if res.rows_affected == 1 {
            claimed.push((n.id, letter));
        }
    }
    let Some(&(first_notice, _)) = claimed.first() else {
        txn.rollback().await?;
        return Ok(None);
    };
    let ids: Vec<i64> = claimed.iter().map(|(_, l)| l.disbursement_id).collect();
    disbursement::Entity::update_many()
        .col_expr(disbursement::Column::NotifiedAt, Expr::value(now))
        .filter(disbursement::Column::Id.is_in(ids.clone()))
        .filter(disbursement::Column::NotifiedAt.is_null())
        .exec(&txn)
        .await?;
    let letters: Vec<Letter> = claimed.into_iter().map(|(_, l)| l).collect();
    let today = now
        .with_timezone(&crate::work::reminders::shanghai())
        .date_naive();
    let bytes = tokio::task::spawn_blocking(move || document(&letters, today))
        .await
        .map_err(DomainError::internal)??;
    let dir = s
        .settings
        .data_dir
        .join("files")
        .join("letters")
        .join(format!("campaign-{campaign_id}"));
    let file = dir.join(format!(
        "letters-{}-{first_notice}.docx",
        now.format("%Y%m%dT%H%M%S")
    ));
    write_file(&dir, &file, &bytes).await?;
    if let Err(e) = txn.commit().await {
        let _ = tokio::fs::remove_file(&file).await;
        return Err(e.into());
    }
    tracing::info!(campaign = campaign_id, letters = ids.len(), file = %file.display(), "书面告知已生成");
    Ok(Some(Batch {
        file,
        disbursement_ids: ids,
    }))
}

/// Writes through a temporary name and renames, so a reader never sees half a file.
async fn write_file(dir: &Path, file: &Path, bytes: &[u8]) -> DomainResult<()> {
    let fail = |e: std::io::Error| internal(format!("无法写入书面告知文件 {}：{e}", file.display()));
    tokio::fs::create_dir_all(dir).await.map_err(fail)?;
    let tmp = file.with_extension("docx.part");
    tokio::fs::write(&tmp, bytes).await.map_err(fail)?;
    tokio::fs::rename(&tmp, file).await.map_err(fail)?;
    Ok(())
}

/// The letters of `pending` (same order), from their disbursements, recipients and campaign.
async fn contents(s: &Services, campaign_id: i64, pending: &[notice::Model]) -> DomainResult<Vec<Letter>> {
    let c = campaign::Entity::find_by_id(campaign_id)
        .one(&s.db)
        .await?
        .ok_or_else(|| internal(format!("项目 #{campaign_id} 不存在")))?;
    let org = organization::Entity::find_by_id(c.organization_id)
        .one(&s.db)
        .await?
        .map(|o| o.name)
        .unwrap_or_default();
    let ds: HashMap<i64, disbursement::Model> = disbursement::Entity::find()
        .filter(disbursement::Column::Id.is_in(pending.iter().map(|n| n.disbursement_id)))
        .all(&s.db)
        .await?
        .into_iter()
        .map(|d| (d.id, d))
        .collect();
    let rs: HashMap<i64, recipient::Model> = recipient::Entity::find()
        .filter(recipient::Column::Id.is_in(ds.values().map(|d| d.recipient_id)))
        .all(&s.db)
        .await?
        .into_iter()
        .map(|r| (r.id, r))
        .collect();
    pending
        .iter()
        .map(|n| {
            let d = ds
                .get(&n.disbursement_id)
                .ok_or_else(|| internal(format!("发放记录 #{} 不存在", n.disbursement_id)))?;
            let r = rs
                .get(&d.recipient_id)
                .ok_or_else(|| internal(format!("发放记录 #{} 的慰问对象不存在", d.id)))?;
            let unit = r.kind.parse::<RecipientKind>().ok() == Some(RecipientKind::Unit);
            Ok(Letter {
                disbursement_id: d.id,
                name: r.name.clone(),
                unit,
                id_mask: if unit { None } else { r.id_number_mask.clone() },
                campaign: c.name.clone(),
                organization: org.clone(),
                amount: Money::from_fen(d.amount_fen),
                items: d.items.clone(),
                paid_on: d.paid_on,
                bank_reference: d.bank_reference.clone(),
            })
        })
        .collect()
}

fn zh_date(d: NaiveDate) -> String {
    use chrono::Datelike;
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

/// At most `n` characters (a letter stays on its page).
fn cut(text: &str, n: usize) -> String {
    if text.chars().count() <= n {
        text.to_string()
    } else {
        text.chars().take(n).chain(['…']).collect()
    }
}

/// 3号 (16 pt) 仿宋 body text, 28 pt line pitch (GB/T 9704-like).
fn body(text: impl Into<String>) -> Paragraph {
    Paragraph::new()
        .add_run(Run::new().add_text(text).size(32))
        .line_spacing(LineSpacing::new().line(560))
}

/// The paragraphs of one letter.
pub fn letter_paragraphs(l: &Letter, today: NaiveDate) -> Vec<Paragraph> {
    let paid = l.paid_on.map(zh_date).unwrap_or_else(|| "近日".into());
    let what = match &l.items {
        Some(items) => format!("慰问品（{}），价值人民币 {} 元", cut(items, 120), l.amount),
        None => format!("慰问金人民币 {} 元", l.amount),
    };
    let transfer = match (&l.items, &l.bank_reference) {
        (None, Some(r)) => format!("，已通过银行转账发放（转账凭证号：{}）", cut(r, 60)),
        _ => String::new(),
    };
    let salutation = if l.unit {
        format!("{}：", l.name)
    } else {
        format!("{} 同志：", l.name)
    };
    let mut ps = vec![
        Paragraph::new()
            .align(AlignmentType::Center)
            .line_spacing(LineSpacing::new().before(0).after(400))
            .add_run(
                Run::new()
                    .add_text("送温暖慰问告知书")
                    .size(44)
                    .fonts(RunFonts::new().east_asia("黑体")),
            ),
        body(salutation),
        body(format!(
            "根据“{}”工作安排，{}于{}向您发放{}{}。特此告知，请注意查收。",
            l.campaign, l.organization, paid, what, transfer
        ))
        .indent(None, Some(SpecialIndentType::FirstLine(640)), None, None),
        body("如有疑问，请与发放单位联系。").indent(
            None,
            Some(SpecialIndentType::FirstLine(640)),
            None,
            None,
        ),
    ];
    if let Some(mask) = &l.id_mask {
        ps.push(body(format!("（身份证号：{mask}）")).indent(
            None,
            Some(SpecialIndentType::FirstLine(640)),
            None,
            None,
        ));
    }
    ps.push(body(""));
    ps.push(body(l.organization.clone()).align(AlignmentType::Right));
    ps.push(body(zh_date(today)).align(AlignmentType::Right));
    ps
}

/// The batch document: A4, one page per letter (a page break after each but the last).
pub fn document(letters: &[Letter], today: NaiveDate) -> DomainResult<Vec<u8>> {
    let mut doc = Docx::new()
        .page_size(11906, 16838)
        .page_margin(PageMargin::new().top(2098).bottom(1984).left(1587).right(1474))
        .default_fonts(
            RunFonts::new()
                .east_asia("仿宋")
                .ascii("Times New Roman")
                .hi_ansi("Times New Roman"),
        )
        .default_size(32);
    for (i, l) in letters.iter().enumerate() {
        for p in letter_paragraphs(l, today) {
            doc = doc.add_paragraph(p);
        }
        if i + 1 < letters.len() {
            doc = doc.add_paragraph(Paragraph::new().add_run(Run::new().add_break(BreakType::Page)));
        }
    }
    let mut out = std::io::Cursor::new(Vec::new());
    doc.pack(&mut out)
        .map_err(|e| internal(format!("书面告知文件生成失败：{e}")))?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn letter(id: i64, name: &str, unit: bool, items: Option<&str>) -> Letter {
        Letter {
            disbursement_id: id,
            name: name.into(),
            unit,
            id_mask: (!unit).then(|| "5301**********0012".to_string()),
            campaign: "春节送温暖".into(),
            organization: "县总工会".into(),
            amount: Money::from_fen(50_000),
            items: items.map(str::to_string),
            paid_on: NaiveDate::from_ymd_opt(2025, 1, 23),
            bank_reference: Some("ZZ-1".into()),
        }
    }

    #[test]
    fn a_batch_is_one_page_per_letter() {
        let letters = [
            letter(1, "张秀兰", false, None),
            letter(2, "环卫所", true, None),
            letter(3, "王桂芳", false, Some("米一袋、油一桶")),
        ];
        let bytes = document(&letters, NaiveDate::from_ymd_opt(2025, 1, 24).unwrap()).unwrap();
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut xml = String::new();
        zip.by_name("word/document.xml")
            .unwrap()
            .read_to_string(&mut xml)
            .unwrap();
        let pages: Vec<&str> = xml.split("w:type=\"page\"").collect();
        assert_eq!(pages.len(), 3);
        assert!(pages[0].contains("张秀兰 同志：") && pages[0].contains("慰问金人民币 500.00 元"));
        assert!(pages[0].contains("转账凭证号：ZZ-1") && pages[0].contains("5301**********0012"));
        assert!(pages[1].contains("环卫所：") && !pages[1].contains("身份证号"));
        assert!(pages[2].contains("慰问品（米一袋、油一桶），价值人民币 500.00 元"));
        assert!(
            pages
                .iter()
                .all(|p| p.contains("2025年1月23日") && p.contains("2025年1月24日"))
        );
    }
}
