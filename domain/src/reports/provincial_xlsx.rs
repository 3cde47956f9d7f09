//! The PROVINCIAL_EXPORT workbook: the records due for entry into the provincial aid platform
//! (云南省工会帮扶工作管理系统) — disbursements PAID or CONFIRMED and not yet entered — with the
//! personal data in clear, for the help centre to enter by hand. Only roles that may reveal
//! personal data get it (`rules`); its generation and every download are audited.
//!
//! Columns, in this order (`COLUMNS`, one sheet "待录入"):
//! 序号 · 系统编号 (the disbursement's id) · 项目名称 · 慰问类别 · 对象类型 (个人/单位) ·
//! 姓名/单位名称 · 身份证号 · 手机号 · 开户行 · 银行账号 · 推荐单位 · 发放方式 (现金/物资) ·
//! 金额（元） · 发放日期 · 银行流水号 · 录入截止日期.
//!
//! Like the ledger: money as numbers with "0.00", every text a string cell (never a formula).
use crate::core::error::{DomainError, DomainResult};
use crate::reports::rows::DisbursementRow;
use rust_xlsxwriter::{Format, FormatAlign, Workbook, XlsxError};
use std::path::Path;
use tokio::sync::mpsc;

pub const SHEET: &str = "待录入";

pub const COLUMNS: [&str; 16] = [
    "序号",
    "系统编号",
    "项目名称",
    "慰问类别",
    "对象类型",
    "姓名/单位名称",
    "身份证号",
    "手机号",
    "开户行",
    "银行账号",
    "推荐单位",
    "发放方式",
    "金额（元）",
    "发放日期",
    "银行流水号",
    "录入截止日期",
];
const WIDTHS: [f64; 16] = [
    8.0, 10.0, 30.0, 24.0, 10.0, 20.0, 22.0, 14.0, 18.0, 24.0, 24.0, 10.0, 12.0, 12.0, 22.0, 14.0,
];

fn xerr(e: XlsxError) -> DomainError {
    DomainError::internal(anyhow::anyhow!("省平台录入清单写入失败：{e}"))
}

/// Writes the workbook to `path` from the rows received (clear personal data). Runs on a
/// blocking thread.
pub fn write(
    path: &Path,
    campaign: &str,
    mut rows: mpsc::Receiver<Vec<DisbursementRow>>,
) -> DomainResult<u64> {
    let header = Format::new().set_bold().set_align(FormatAlign::Center);
    let money = Format::new().set_num_format("0.00");
    let mut book = Workbook::new();
    let ws = book.add_worksheet_with_constant_memory().map_err(xerr)?;
    ws.set_name(SHEET).map_err(xerr)?;
    for (i, (h, w)) in COLUMNS.iter().zip(WIDTHS).enumerate() {
        ws.set_column_width(i as u16, w).map_err(xerr)?;
        ws.write_string_with_format(0, i as u16, *h, &header)
            .map_err(xerr)?;
    }
    let mut n = 0u64;
    let date = |d: Option<chrono::NaiveDate>| d.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default();
    while let Some(page) = rows.blocking_recv() {
        for d in &page {
            n += 1;
            let row = n as u32;
            let texts: [(u16, String); 12] = [
                (2, campaign.to_string()),
                (3, d.category.clone()),
                (4, if d.unit { "单位" } else { "个人" }.to_string()),
                (5, d.recipient.clone()),
                (6, d.id_number.clone().unwrap_or_default()),
                (7, d.phone.clone().unwrap_or_default()),
                (8, d.bank_name.clone().unwrap_or_default()),
                (9, d.bank_account.clone().unwrap_or_default()),
                (10, d.nominated_by.clone()),
                (11, d.method.to_string()),
                (13, date(d.paid_on)),
                (14, d.bank_reference.clone().unwrap_or_default()),
            ];
            ws.write_number(row, 0, n as f64).map_err(xerr)?;
            ws.write_number(row, 1, d.id as f64).map_err(xerr)?;
            for (col, t) in texts {
                if !t.is_empty() {
                    ws.write_string(row, col, t).map_err(xerr)?;
                }
            }
            ws.write_number_with_format(row, 12, d.amount_fen as f64 / 100.0, &money)
                .map_err(xerr)?;
            let deadline = date(d.entry_deadline);
            if !deadline.is_empty() {
                ws.write_string(row, 15, deadline).map_err(xerr)?;
            }
        }
    }
    book.save(path).map_err(xerr)?;
    Ok(n)
}
