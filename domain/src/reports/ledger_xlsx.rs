//! The LEDGER workbook (专项台账, XLSX): 汇总 (summary), one sheet per category, 发放明细 (every
//! disbursement, personal data masked), 资金到位 (funding and the other ledger entries),
//! 政府采购 (contracts and their lines).
//!
//! Money is a number cell with the format "0.00", never text, so sums work in Excel. Every
//! text from the data goes through `write_string`: a name like "=1+1" (an imported one can)
//! is a string cell, never a formula. Sheets are written in constant-memory mode, row by row,
//! fed page by page (`rows::send_pages`), so a province-sized campaign does not fill memory.
use crate::core::error::{DomainError, DomainResult};
use crate::core::money::Money;
use crate::reports::data::{ReportData, percent};
use crate::reports::rows::DisbursementRow;
use chrono::NaiveDate;
use rust_xlsxwriter::{Format, FormatAlign, Workbook, Worksheet, XlsxError};
use std::collections::HashMap;
use std::path::Path;
use tokio::sync::mpsc;

/// A ledger entry (资金到位 sheet).
#[derive(Clone, Debug)]
pub struct EntryRow {
    pub booked_on: NaiveDate,
    /// zh-CN kind (资金到位, 慰问金发放, 合同付款, 冲销).
    pub kind: &'static str,
    /// Signed fen: + funding, − spending.
    pub amount_fen: i64,
    pub reference: String,
}

/// One contract line (政府采购 sheet).
#[derive(Clone, Debug)]
pub struct ProcurementRow {
    pub contract: String,
    pub supplier: String,
    pub credit_code: String,
    pub signed_on: NaiveDate,
    pub delivery_date: NaiveDate,
    pub item: String,
    pub quantity: i64,
    pub unit_price_fen: i64,
    pub delivered: i64,
    pub contract_paid_fen: i64,
}

pub struct LedgerInput {
    pub data: ReportData,
    /// (category id, name) in the order of `data.categories`.
    pub categories: Vec<(i64, String)>,
    pub entries: Vec<EntryRow>,
    pub procurement: Vec<ProcurementRow>,
}

const DISBURSEMENT_HEADER: [&str; 14] = [
    "序号",
    "慰问类别",
    "姓名/单位",
    "推荐单位",
    "身份证号",
    "手机号",
    "开户行",
    "银行账号",
    "发放方式",
    "状态",
    "金额（元）",
    "发放日期",
    "银行流水号",
    "物资",
];
const DISBURSEMENT_WIDTHS: [f64; 14] = [
    8.0, 24.0, 20.0, 24.0, 22.0, 16.0, 18.0, 14.0, 10.0, 10.0, 14.0, 12.0, 22.0, 28.0,
];

struct Formats {
    header: Format,
    money: Format,
    title: Format,
}

fn formats() -> Formats {
    Formats {
        header: Format::new().set_bold().set_align(FormatAlign::Center),
        money: Format::new().set_num_format("0.00"),
        title: Format::new().set_bold().set_font_size(14),
    }
}

fn xerr(e: XlsxError) -> DomainError {
    DomainError::internal(anyhow::anyhow!("台账写入失败：{e}"))
}

/// A sheet name Excel accepts: at most 31 characters, none of []:*?/\, unique in the book.
pub fn sheet_name(name: &str, taken: &mut Vec<String>) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if matches!(c, '[' | ']' | ':' | '*' | '?' | '/' | '\\') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let clean = clean.trim_matches('\'').trim();
    let base: String = if clean.is_empty() {
        "类别".into()
    } else {
        clean.chars().take(28).collect()
    };
    let mut candidate = base.clone();
    let mut n = 2;
    while taken.iter().any(|t| t.to_lowercase() == candidate.to_lowercase()) {
        candidate = format!("{base}({n})");
        n += 1;
    }
    taken.push(candidate.clone());
    candidate
}

fn header(
    ws: &mut Worksheet,
    row: u32,
    cells: &[&str],
    widths: &[f64],
    f: &Formats,
) -> Result<(), XlsxError> {
    for (i, (h, w)) in cells.iter().zip(widths).enumerate() {
        ws.set_column_width(i as u16, *w)?;
        ws.write_string_with_format(row, i as u16, *h, &f.header)?;
    }
    Ok(())
}

fn text(ws: &mut Worksheet, row: u32, col: u16, s: &str) -> Result<(), XlsxError> {
    if !s.is_empty() {
        ws.write_string(row, col, s)?;
    }
    Ok(())
}

fn money(ws: &mut Worksheet, row: u32, col: u16, fen: i64, f: &Formats) -> Result<(), XlsxError> {
    ws.write_number_with_format(row, col, fen as f64 / 100.0, &f.money)?;
    Ok(())
}

fn date(d: Option<NaiveDate>) -> String {
    d.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default()
}

fn disbursement_row(
    ws: &mut Worksheet,
    row: u32,
    n: u64,
    d: &DisbursementRow,
    f: &Formats,
) -> Result<(), XlsxError> {
    ws.write_number(row, 0, n as f64)?;
    text(ws, row, 1, &d.category)?;
    text(ws, row, 2, &d.recipient)?;
    text(ws, row, 3, &d.nominated_by)?;
    text(ws, row, 4, d.id_number.as_deref().unwrap_or(""))?;
    text(ws, row, 5, d.phone.as_deref().unwrap_or(""))?;
    text(ws, row, 6, d.bank_name.as_deref().unwrap_or(""))?;
    text(ws, row, 7, d.bank_account.as_deref().unwrap_or(""))?;
    text(ws, row, 8, d.method)?;
    text(ws, row, 9, d.status)?;
    money(ws, row, 10, d.amount_fen, f)?;
    text(ws, row, 11, &date(d.paid_on))?;
    text(ws, row, 12, d.bank_reference.as_deref().unwrap_or(""))?;
    text(ws, row, 13, d.items.as_deref().unwrap_or(""))?;
    Ok(())
}

/// Writes the workbook to `path`, taking the disbursement rows from `rows` until it closes.
/// Runs on a blocking thread.
pub fn write(
    path: &Path,
    input: &LedgerInput,
    mut rows: mpsc::Receiver<Vec<DisbursementRow>>,
) -> DomainResult<()> {
    let f = formats();
    let mut book = Workbook::new();
    let mut taken = vec![
        "汇总".to_string(),
        "发放明细".into(),
        "资金到位".into(),
        "政府采购".into(),
    ];
    // Sheet indexes: 0 summary, 1.. categories, then details, funding, procurement.
    summary(
        book.add_worksheet().set_name("汇总").map_err(xerr)?,
        &input.data,
        &f,
    )
    .map_err(xerr)?;
    let mut sheet_of: HashMap<i64, usize> = HashMap::new();
    for (i, (id, name)) in input.categories.iter().enumerate() {
        let ws = book.add_worksheet_with_constant_memory().map_err(xerr)?;
        ws.set_name(sheet_name(name, &mut taken)).map_err(xerr)?;
        header(ws, 0, &DISBURSEMENT_HEADER, &DISBURSEMENT_WIDTHS, &f).map_err(xerr)?;
        sheet_of.insert(*id, i + 1);
    }
    let details = input.categories.len() + 1;
    {
        let ws = book.add_worksheet_with_constant_memory().map_err(xerr)?;
        ws.set_name("发放明细").map_err(xerr)?;
        header(ws, 0, &DISBURSEMENT_HEADER, &DISBURSEMENT_WIDTHS, &f).map_err(xerr)?;
    }
    let mut next_row: HashMap<usize, u32> = HashMap::new();
    let mut n_all = 0u64;
    while let Some(page) = rows.blocking_recv() {
        for d in &page {
            n_all += 1;
            let ws = book.worksheet_from_index(details).map_err(xerr)?;
            disbursement_row(ws, n_all as u32, n_all, d, &f).map_err(xerr)?;
            if let Some(&sheet) = sheet_of.get(&d.category_id) {
                let r = next_row.entry(sheet).or_insert(1);
                let ws = book.worksheet_from_index(sheet).map_err(xerr)?;
                disbursement_row(ws, *r, *r as u64, d, &f).map_err(xerr)?;
                *r += 1;
            }
        }
    }
    funding(
        book.add_worksheet().set_name("资金到位").map_err(xerr)?,
        &input.entries,
        &f,
    )
    .map_err(xerr)?;
    procurement(
        book.add_worksheet().set_name("政府采购").map_err(xerr)?,
        &input.procurement,
        &f,
    )
    .map_err(xerr)?;
    book.save(path).map_err(xerr)?;
    Ok(())
}

fn summary(ws: &mut Worksheet, d: &ReportData, f: &Formats) -> Result<(), XlsxError> {
    ws.set_column_width(0, 34.0)?;
    for c in 1..6 {
        ws.set_column_width(c, 16.0)?;
    }
    ws.write_string_with_format(0, 0, format!("{} 专项台账", d.overview.campaign_name), &f.title)?;
    let b = &d.budget;
    let lines: [(&str, Option<Money>); 4] = [
        ("项目预算（元）", Some(b.budget)),
        ("到位资金（元）", Some(b.funded)),
        ("实际支出（元）", Some(b.spent)),
        ("合同付款（元）", Some(b.contract_payments)),
    ];
    let mut row = 2;
    for (label, value) in lines {
        ws.write_string(row, 0, label)?;
        if let Some(v) = value {
            money(ws, row, 1, v.fen(), f)?;
        }
        row += 1;
    }
    ws.write_string(row, 0, "台账余额（元）")?;
    money(ws, row, 1, b.balance, f)?;
    row += 1;
    ws.write_string(row, 0, "预算执行率（%）")?;
    ws.write_number_with_format(
        row,
        1,
        b.execution_percent().parse::<f64>().unwrap_or(0.0),
        &f.money,
    )?;
    row += 2;
    for (i, h) in [
        "慰问类别",
        "计划",
        "实际",
        "完成率（%）",
        "标准（元）",
        "支出（元）",
    ]
    .iter()
    .enumerate()
    {
        ws.write_string_with_format(row, i as u16, *h, &f.header)?;
    }
    for c in &d.categories {
        row += 1;
        ws.write_string(row, 0, &c.name)?;
        ws.write_number(row, 1, c.planned as f64)?;
        ws.write_number(row, 2, c.served as f64)?;
        ws.write_number_with_format(
            row,
            3,
            percent(c.served, c.planned).parse::<f64>().unwrap_or(0.0),
            &f.money,
        )?;
        money(ws, row, 4, c.standard.fen(), f)?;
        money(ws, row, 5, c.spent.fen(), f)?;
    }
    Ok(())
}

fn funding(ws: &mut Worksheet, entries: &[EntryRow], f: &Formats) -> Result<(), XlsxError> {
    header(
        ws,
        0,
        &["日期", "类型", "金额（元）", "摘要"],
        &[12.0, 12.0, 16.0, 60.0],
        f,
    )?;
    for (i, e) in entries.iter().enumerate() {
        let row = i as u32 + 1;
        ws.write_string(row, 0, e.booked_on.format("%Y-%m-%d").to_string())?;
        ws.write_string(row, 1, e.kind)?;
        // Signed: spending out of the ledger is negative.
        ws.write_number_with_format(row, 2, e.amount_fen as f64 / 100.0, &f.money)?;
        text(ws, row, 3, &e.reference)?;
    }
    Ok(())
}

fn procurement(ws: &mut Worksheet, lines: &[ProcurementRow], f: &Formats) -> Result<(), XlsxError> {
    header(
        ws,
        0,
        &[
            "合同编号",
            "供应商",
            "统一社会信用代码",
            "签订日期",
            "交货日期",
            "物品",
            "数量",
            "单价（元）",
            "金额（元）",
            "已交付",
            "合同已付（元）",
        ],
        &[20.0, 24.0, 22.0, 12.0, 12.0, 30.0, 8.0, 12.0, 14.0, 8.0, 14.0],
        f,
    )?;
    for (i, l) in lines.iter().enumerate() {
        let row = i as u32 + 1;
        text(ws, row, 0, &l.contract)?;
        text(ws, row, 1, &l.supplier)?;
        text(ws, row, 2, &l.credit_code)?;
        ws.write_string(row, 3, l.signed_on.format("%Y-%m-%d").to_string())?;
        ws.write_string(row, 4, l.delivery_date.format("%Y-%m-%d").to_string())?;
        text(ws, row, 5, &l.item)?;
        ws.write_number(row, 6, l.quantity as f64)?;
        money(ws, row, 7, l.unit_price_fen, f)?;
        money(ws, row, 8, l.unit_price_fen * l.quantity, f)?;
        ws.write_number(row, 9, l.delivered as f64)?;
        money(ws, row, 10, l.contract_paid_fen, f)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheet_names_are_legal_and_unique() {
        let mut taken = vec!["汇总".to_string()];
        assert_eq!(sheet_name("汇总", &mut taken), "汇总(2)");
        assert_eq!(sheet_name("a/b:c", &mut taken), "a_b_c");
        let long = "消防、应急、文旅、城管（农民工）一线人员以及其他很长很长的类别名称";
        let n = sheet_name(long, &mut taken);
        assert!(n.chars().count() <= 31, "{n}");
        assert_ne!(sheet_name(long, &mut taken), n);
    }
}
