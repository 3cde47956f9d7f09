//! The REPORT job: makes the file of one report (target "report:<id>") and records it on the
//! report row. Reading is async (aggregates, pages of rows); drawing, laying out and zipping run
//! on a blocking thread so the runtime keeps serving requests meanwhile. A job run twice (its
//! runner died after writing) writes the same file again and records it once.
use crate::core::error::{DomainError, DomainResult};
use crate::core::services::Services;
use crate::reports::data::{self, ReportData};
use crate::reports::ledger_xlsx::{self, EntryRow, LedgerInput, ProcurementRow};
use crate::reports::rows::{self, Personal, Which};
use crate::reports::rules::{ReportFormat, ReportKind};
use crate::reports::{chart, docx, files, markdown, outline, provincial_xlsx};
use chrono::{NaiveDate, SubsecRound, Utc};
use entities::{category, contract, contract_line, job, ledger_entry, report, supplier};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use std::collections::HashMap;
use std::path::Path;

/// The day in Asia/Shanghai (UTC+8 all year), the report's date.
pub fn today() -> NaiveDate {
    (Utc::now() + chrono::Duration::hours(8)).date_naive()
}

fn report_id(j: &job::Model) -> DomainResult<i64> {
    j.target
        .as_deref()
        .and_then(|t| t.strip_prefix("report:"))
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| DomainError::internal(anyhow::anyhow!("报表任务的目标无效")))
}

/// Runs one REPORT job.
pub async fn run(s: &Services, j: &job::Model) -> DomainResult<()> {
    let id = report_id(j)?;
    let r = report::Entity::find_by_id(id)
        .one(&s.db)
        .await?
        .ok_or_else(|| DomainError::internal(anyhow::anyhow!("报表 {id} 不存在")))?;
    let kind: ReportKind = r
        .kind
        .parse()
        .map_err(|_| DomainError::internal(anyhow::anyhow!("报表类型无效")))?;
    let format: ReportFormat = r
        .format
        .parse()
        .map_err(|_| DomainError::internal(anyhow::anyhow!("报表格式无效")))?;
    let today = today();
    let rel = files::relative_path(r.campaign_id, r.id, format.extension());
    let path = files::absolute(&s.settings.data_dir, &rel)?;
    files::prepare(&path)?;
    let (campaign_name, written) = match kind {
        ReportKind::EvaluationReport => {
            let d = evaluation_data(s, r.campaign_id, today).await?;
            let name = d.overview.campaign_name.clone();
            let bytes = tokio::task::spawn_blocking(move || render_evaluation(&d, format))
                .await
                .map_err(DomainError::internal)??;
            (name, files::write(&path, &bytes)?)
        }
        ReportKind::Ledger => {
            let input = ledger_input(s, r.campaign_id, today).await?;
            let name = input.data.overview.campaign_name.clone();
            let temp = files::temporary(&path);
            let (tx, rx) = tokio::sync::mpsc::channel(2);
            let t = temp.clone();
            let writer = tokio::task::spawn_blocking(move || ledger_xlsx::write(&t, &input, rx));
            let read = rows::send_pages(s, r.campaign_id, Which::All, Personal::Masked, tx).await;
            finish_streamed(writer.await.map_err(DomainError::internal)?, read, &temp)?;
            (name, files::commit(&temp, &path)?)
        }
        ReportKind::ProvincialExport => {
            let d = data::build(s, r.campaign_id, today).await?;
            let name = d.overview.campaign_name.clone();
            let temp = files::temporary(&path);
            let (tx, rx) = tokio::sync::mpsc::channel(2);
            let (t, campaign) = (temp.clone(), name.clone());
            let writer = tokio::task::spawn_blocking(move || provincial_xlsx::write(&t, &campaign, rx));
            let read = rows::send_pages(s, r.campaign_id, Which::DueForEntry, Personal::Clear, tx).await;
            finish_streamed(
                writer.await.map_err(DomainError::internal)?.map(|_| ()),
                read,
                &temp,
            )?;
            (name, files::commit(&temp, &path)?)
        }
    };
    let file_name = files::safe_name(&format!(
        "{}{}-{}.{}",
        campaign_name,
        kind.title(),
        today.format("%Y%m%d"),
        format.extension()
    ));
    report::Entity::update_many()
        .col_expr(report::Column::FileName, Expr::value(file_name))
        .col_expr(report::Column::FilePath, Expr::value(rel))
        .col_expr(report::Column::ContentType, Expr::value(format.content_type()))
        .col_expr(report::Column::SizeBytes, Expr::value(written.size))
        .col_expr(report::Column::Sha256, Expr::value(written.sha256))
        .col_expr(
            report::Column::FinishedAt,
            Expr::value(Utc::now().trunc_subsecs(6)),
        )
        .filter(report::Column::Id.eq(r.id))
        .exec(&s.db)
        .await?;
    Ok(())
}

/// The writer's outcome first (its error explains a reader stopped by a closed channel); a
/// failed file is removed.
fn finish_streamed(written: DomainResult<()>, read: DomainResult<()>, temp: &Path) -> DomainResult<()> {
    let outcome = written.and(read);
    if outcome.is_err() {
        let _ = std::fs::remove_file(temp);
    }
    outcome
}

/// The report's data: `data::build` plus the evaluation's figures.
pub async fn evaluation_data(s: &Services, campaign_id: i64, today: NaiveDate) -> DomainResult<ReportData> {
    data::build(s, campaign_id, today).await
}

/// The evaluation report's file in `format` (DOCX or MARKDOWN).
pub fn render_evaluation(d: &ReportData, format: ReportFormat) -> DomainResult<Vec<u8>> {
    let blocks = outline::outline(d);
    let png = chart::planned_vs_served(&d.categories)?;
    match format {
        ReportFormat::Docx => docx::render(&blocks, &png, d.categories.len()),
        ReportFormat::Markdown => Ok(markdown::render(&blocks, &png).into_bytes()),
        ReportFormat::Xlsx => Err(DomainError::internal(anyhow::anyhow!("评价报告不生成 XLSX"))),
    }
}

fn entry_kind(kind: &str) -> &'static str {
    match kind {
        "FUNDING" => "资金到位",
        "DISBURSEMENT" => "慰问金发放",
        "CONTRACT_PAYMENT" => "合同付款",
        "REVERSAL" => "冲销",
        _ => "其他",
    }
}

async fn ledger_input(s: &Services, campaign_id: i64, today: NaiveDate) -> DomainResult<LedgerInput> {
    let data = data::build(s, campaign_id, today).await?;
    let categories: Vec<(i64, String)> = category::Entity::find()
        .filter(category::Column::CampaignId.eq(campaign_id))
        .order_by_asc(category::Column::Id)
        .all(&s.db)
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    // Funding and contract payments are few; cash disbursements have their own sheet, so the
    // funding sheet lists every entry but the per-payment ones.
    let entries = ledger_entry::Entity::find()
        .filter(ledger_entry::Column::CampaignId.eq(campaign_id))
        .filter(ledger_entry::Column::Kind.ne("DISBURSEMENT"))
        .order_by_asc(ledger_entry::Column::BookedOn)
        .order_by_asc(ledger_entry::Column::Id)
        .all(&s.db)
        .await?
        .into_iter()
        .map(|e| EntryRow {
            booked_on: e.booked_on,
            kind: entry_kind(&e.kind),
            amount_fen: e.amount_fen,
            reference: e.reference,
        })
        .collect();
    let contracts = contract::Entity::find()
        .filter(contract::Column::CampaignId.eq(campaign_id))
        .order_by_asc(contract::Column::Id)
        .all(&s.db)
        .await?;
    let suppliers: HashMap<i64, supplier::Model> = supplier::Entity::find()
        .filter(supplier::Column::Id.is_in(contracts.iter().map(|c| c.supplier_id)))
        .all(&s.db)
        .await?
        .into_iter()
        .map(|x| (x.id, x))
        .collect();
    let lines = contract_line::Entity::find()
        .filter(contract_line::Column::ContractId.is_in(contracts.iter().map(|c| c.id)))
        .order_by_asc(contract_line::Column::Id)
        .all(&s.db)
        .await?;
    let by_id: HashMap<i64, &contract::Model> = contracts.iter().map(|c| (c.id, c)).collect();
    let procurement = lines
        .into_iter()
        .filter_map(|l| {
            let c = by_id.get(&l.contract_id)?;
            let sup = suppliers.get(&c.supplier_id);
            Some(ProcurementRow {
                contract: c.reference.clone(),
                supplier: sup.map(|x| x.name.clone()).unwrap_or_default(),
                credit_code: sup.map(|x| x.credit_code.clone()).unwrap_or_default(),
                signed_on: c.signed_on,
                delivery_date: c.delivery_date,
                item: l.item,
                quantity: l.quantity as i64,
                unit_price_fen: l.unit_price_fen,
                delivered: l.delivered as i64,
                contract_paid_fen: c.paid_fen,
            })
        })
        .collect();
    Ok(LedgerInput {
        data,
        categories,
        entries,
        procurement,
    })
}
