//! What procurement checks everywhere: text fields, line numbers in errors, an open campaign,
//! and what the audit log keeps of suppliers, contracts and lines.
use crate::core::error::{DomainError, DomainResult};
use crate::core::money::Money;
use crate::people::audit::Audited;
use crate::plan::stages::{Stage, stage_of};
use entities::{campaign, contract, contract_line, delivery, supplier};
use serde_json::json;

// ---------------------------------------------------------------------------------------------
// Validation helpers
// ---------------------------------------------------------------------------------------------

/// Most units of one contract line (keeps every quantity sum far inside i32).
pub(super) const MAX_QUANTITY: i32 = 10_000_000;
/// Most lines of one contract.
pub(super) const MAX_LINES: usize = 200;
/// Largest contract total: 10 000 000 000.00 CNY, as for any single amount.
pub(super) const MAX_TOTAL_FEN: i64 = 1_000_000_000_000;

/// Trimmed free text of 1..=max characters (no control characters except line breaks).
pub(super) fn required_text(field: &'static str, raw: &str, max: usize, what: &str) -> DomainResult<String> {
    let t = raw.trim();
    let n = t.chars().count();
    if n == 0 || n > max {
        return Err(DomainError::validation(
            field,
            format!("{what}应为 1–{max} 个字符"),
        ));
    }
    if t.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(DomainError::validation(field, format!("{what}含有非法字符")));
    }
    Ok(t.to_string())
}

/// Optional free text: blank is None.
pub(super) fn optional_text(
    field: &'static str,
    raw: Option<&str>,
    max: usize,
    what: &str,
) -> DomainResult<Option<String>> {
    match raw.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => required_text(field, t, max, what).map(Some),
        None => Ok(None),
    }
}

/// Prefixes a validation message with the (1-based) line it belongs to.
pub(super) fn at_line(n: usize, e: DomainError) -> DomainError {
    match e {
        DomainError::Validation { field, message } => DomainError::Validation {
            field,
            message: format!("第 {n} 项：{message}").into(),
        },
        other => other,
    }
}

pub(super) fn open_campaign(c: &campaign::Model, what: &str) -> DomainResult<()> {
    if stage_of(c) == Stage::Closed {
        return Err(DomainError::InvalidStage(
            format!("项目已结项，不能{what}").into(),
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Audit snapshots
// ---------------------------------------------------------------------------------------------

impl Audited for supplier::Model {
    const TARGET: &'static str = "Supplier";
    fn audit_id(&self) -> String {
        self.id.to_string()
    }
    fn snapshot(&self) -> serde_json::Value {
        json!({"name": self.name, "credit_code": self.credit_code, "contact": self.contact})
    }
}

impl Audited for contract::Model {
    const TARGET: &'static str = "Contract";
    fn audit_id(&self) -> String {
        self.id.to_string()
    }
    fn snapshot(&self) -> serde_json::Value {
        let c = self;
        json!({
            "campaign_id": c.campaign_id, "supplier_id": c.supplier_id, "reference": c.reference,
            "signed_on": c.signed_on.to_string(), "delivery_date": c.delivery_date.to_string(),
            "after_sale_terms": c.after_sale_terms, "total": Money::from_fen(c.total_fen).to_string(),
            "paid": Money::from_fen(c.paid_fen).to_string(),
        })
    }
}

impl Audited for contract_line::Model {
    const TARGET: &'static str = "ContractLine";
    fn audit_id(&self) -> String {
        self.id.to_string()
    }
    fn snapshot(&self) -> serde_json::Value {
        let l = self;
        json!({
            "contract_id": l.contract_id, "item": l.item, "quantity": l.quantity,
            "unit_price": Money::from_fen(l.unit_price_fen).to_string(), "delivered": l.delivered,
            "allocated": l.allocated,
        })
    }
}

impl Audited for delivery::Model {
    const TARGET: &'static str = "Delivery";
    fn audit_id(&self) -> String {
        self.id.to_string()
    }
    fn snapshot(&self) -> serde_json::Value {
        let d = self;
        json!({"contract_line_id": d.contract_line_id, "quantity": d.quantity, "delivered_on": d.delivered_on.to_string(), "note": d.note})
    }
}
