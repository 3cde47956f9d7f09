//! Procurement (政府采购): suppliers identified by their 统一社会信用代码 (GB 32100-2015),
//! contracts of a campaign with their lines (item, quantity, unit price), deliveries (到货),
//! payments to the supplier (through the budget guard and the special ledger), and the
//! allocation of delivered units to GOODS disbursements.
use crate::Services;
use crate::access::{Actor, Permission};
use crate::audit::Change;
use crate::campaigns::{self, Stage};
use crate::error::{DomainError, DomainResult, on_unique};
use crate::funds::{budget, ledger};
use crate::money::Money;
use crate::organizations::clean_name;
use chrono::NaiveDate;
use entities::{campaign, contract, contract_line, delivery, supplier};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};
use serde_json::json;
use std::collections::HashMap;
use std::fmt;

// ---------------------------------------------------------------------------------------------
// 统一社会信用代码
// ---------------------------------------------------------------------------------------------

/// The 31 characters of GB 32100-2015 (no I, O, Z, S, V), in value order.
const CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// Weights of positions 1–17 (3^(i-1) mod 31).
const WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
/// 登记管理部门码: 1 机构编制, 5 民政, 9 工商, A 宗教, N 农业/其他, Y 其他 … (1–9, A, N, Y).
const REGISTRARS: &[u8] = b"123456789ANY";

/// A valid 统一社会信用代码: 18 characters of the GB 32100 charset, upper case, with a correct
/// check character. Not personal data (it is printed on every business licence).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CreditCode(String);

fn value_of(c: u8) -> Option<u32> {
    CHARSET.iter().position(|&x| x == c).map(|p| p as u32)
}

impl CreditCode {
    /// Parses client input: surrounding spaces are trimmed and lower case is upper-cased.
    /// Every failure is VALIDATION on the field `creditCode`.
    pub fn parse(raw: &str) -> DomainResult<CreditCode> {
        let bad = |msg: &'static str| DomainError::validation("creditCode", msg);
        let code = raw.trim().to_ascii_uppercase();
        if code.chars().count() != 18 {
            return Err(bad("统一社会信用代码应为 18 位"));
        }
        let bytes = code.as_bytes();
        if !bytes.iter().all(|&b| value_of(b).is_some()) {
            return Err(bad("统一社会信用代码含有无效字符（不使用 I、O、Z、S、V）"));
        }
        if !REGISTRARS.contains(&bytes[0]) {
            return Err(bad("统一社会信用代码的登记管理部门代码无效"));
        }
        if !bytes[2..8].iter().all(u8::is_ascii_digit) {
            return Err(bad("统一社会信用代码的第 3–8 位应为行政区划码（数字）"));
        }
        let check = Self::check_char(&code[..17]).ok_or_else(|| bad("统一社会信用代码含有无效字符"))?;
        if bytes[17] as char != check {
            return Err(bad("统一社会信用代码校验位错误"));
        }
        Ok(CreditCode(code))
    }

    /// The check character of a 17-character body (None if the body is not 17 charset
    /// characters): charset[(31 − Σ value·weight mod 31) mod 31].
    pub fn check_char(body: &str) -> Option<char> {
        let b = body.as_bytes();
        if b.len() != 17 {
            return None;
        }
        let mut sum = 0u32;
        for (c, w) in b.iter().zip(WEIGHTS) {
            sum += value_of(*c)? * w;
        }
        Some(CHARSET[((31 - sum % 31) % 31) as usize] as char)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

// ---------------------------------------------------------------------------------------------
// Validation helpers
// ---------------------------------------------------------------------------------------------

/// Most units of one contract line (keeps every quantity sum far inside i32).
const MAX_QUANTITY: i32 = 10_000_000;
/// Most lines of one contract.
const MAX_LINES: usize = 200;
/// Largest contract total: 10 000 000 000.00 CNY, as for any single amount.
const MAX_TOTAL_FEN: i64 = 1_000_000_000_000;

/// Trimmed free text of 1..=max characters (no control characters except line breaks).
fn required_text(field: &'static str, raw: &str, max: usize, what: &str) -> DomainResult<String> {
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
fn optional_text(
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
fn at_line(n: usize, e: DomainError) -> DomainError {
    match e {
        DomainError::Validation { field, message } => DomainError::Validation {
            field,
            message: format!("第 {n} 项：{message}").into(),
        },
        other => other,
    }
}

fn open_campaign(c: &campaign::Model, what: &str) -> DomainResult<()> {
    if campaigns::stage_of(c) == Stage::Closed {
        return Err(DomainError::InvalidStage(
            format!("项目已结项，不能{what}").into(),
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Audit snapshots
// ---------------------------------------------------------------------------------------------

fn supplier_snapshot(s: &supplier::Model) -> serde_json::Value {
    json!({"name": s.name, "credit_code": s.credit_code, "contact": s.contact})
}

fn contract_snapshot(c: &contract::Model) -> serde_json::Value {
    json!({
        "campaign_id": c.campaign_id, "supplier_id": c.supplier_id, "reference": c.reference,
        "signed_on": c.signed_on.to_string(), "delivery_date": c.delivery_date.to_string(),
        "after_sale_terms": c.after_sale_terms, "total": Money::from_fen(c.total_fen).to_string(),
        "paid": Money::from_fen(c.paid_fen).to_string(),
    })
}

fn line_snapshot(l: &contract_line::Model) -> serde_json::Value {
    json!({
        "contract_id": l.contract_id, "item": l.item, "quantity": l.quantity,
        "unit_price": Money::from_fen(l.unit_price_fen).to_string(), "delivered": l.delivered,
        "allocated": l.allocated,
    })
}

// ---------------------------------------------------------------------------------------------
// Suppliers
// ---------------------------------------------------------------------------------------------

/// `createSupplier`: FINANCE. The credit code is unique (CONFLICT when already registered).
pub async fn create_supplier(
    s: &Services,
    actor: &Actor,
    name: &str,
    credit_code: &str,
    contact: Option<&str>,
) -> DomainResult<supplier::Model> {
    actor.require(Permission::ManageProcurement)?;
    let name = clean_name("name", name, 200)?;
    let code = CreditCode::parse(credit_code)?;
    let contact = optional_text("contact", contact, 200, "联系方式")?;
    let mut change = Change::begin(&s.db, Some(actor), "createSupplier").await?;
    let created = supplier::ActiveModel {
        name: Set(name),
        credit_code: Set(code.as_str().to_string()),
        contact: Set(contact),
        created_at: Set(change.now()),
        ..Default::default()
    }
    .insert(change.txn())
    .await
    .map_err(on_unique(|| {
        DomainError::Conflict("该统一社会信用代码的供应商已登记".into())
    }))?;
    change
        .record(
            "Supplier",
            Some(created.id.to_string()),
            None,
            Some(&supplier_snapshot(&created)),
        )
        .await?;
    change.commit().await?;
    Ok(created)
}

/// Every supplier (suppliers are shared by all campaigns), in registration order.
pub async fn suppliers(s: &Services, actor: &Actor) -> DomainResult<Vec<supplier::Model>> {
    actor.require(Permission::ReadMoney)?;
    Ok(supplier::Entity::find()
        .order_by_asc(supplier::Column::Id)
        .all(&s.db)
        .await?)
}

// ---------------------------------------------------------------------------------------------
// Contracts
// ---------------------------------------------------------------------------------------------

/// One line of a new contract, as the client sent it.
#[derive(Clone, Debug)]
pub struct NewLine {
    pub item: String,
    pub quantity: i32,
    /// As sent; parsed by `Money::parse` (field `unitPrice`).
    pub unit_price: String,
}

/// A new contract, as the client sent it.
#[derive(Clone, Debug)]
pub struct NewContract {
    pub campaign_id: i64,
    pub supplier_id: i64,
    pub reference: String,
    pub signed_on: NaiveDate,
    pub delivery_date: NaiveDate,
    pub after_sale_terms: String,
    pub lines: Vec<NewLine>,
}

/// A contract with its supplier and its lines (in line order).
#[derive(Clone, Debug)]
pub struct ContractView {
    pub contract: contract::Model,
    pub supplier: supplier::Model,
    pub lines: Vec<contract_line::Model>,
}

#[derive(Debug)]
struct ValidLine {
    item: String,
    quantity: i32,
    unit_price_fen: i64,
}

#[derive(Debug)]
struct ValidContract {
    reference: String,
    after_sale_terms: String,
    lines: Vec<ValidLine>,
    total_fen: i64,
}

fn validate_contract(c: &NewContract) -> DomainResult<ValidContract> {
    let reference = required_text("reference", &c.reference, 100, "合同编号")?;
    if c.delivery_date < c.signed_on {
        return Err(DomainError::validation(
            "deliveryDate",
            "交货日期不能早于签订日期",
        ));
    }
    let after_sale_terms = required_text("afterSaleTerms", &c.after_sale_terms, 2000, "售后条款")?;
    if c.lines.is_empty() {
        return Err(DomainError::validation("lines", "合同至少包含一项物资"));
    }
    if c.lines.len() > MAX_LINES {
        return Err(DomainError::validation(
            "lines",
            format!("合同最多包含 {MAX_LINES} 项物资"),
        ));
    }
    let too_large = || DomainError::validation("lines", "合同总额超出允许范围");
    let mut lines = Vec::with_capacity(c.lines.len());
    let mut total_fen: i64 = 0;
    for (i, l) in c.lines.iter().enumerate() {
        let n = i + 1;
        let item = clean_name("item", &l.item, 200).map_err(|e| at_line(n, e))?;
        if l.quantity <= 0 || l.quantity > MAX_QUANTITY {
            return Err(at_line(
                n,
                DomainError::validation("quantity", format!("数量应为 1–{MAX_QUANTITY}")),
            ));
        }
        let price = Money::parse("unitPrice", &l.unit_price).map_err(|e| at_line(n, e))?;
        if price == Money::ZERO {
            return Err(at_line(n, DomainError::validation("unitPrice", "单价必须大于 0")));
        }
        let amount = price
            .fen()
            .checked_mul(i64::from(l.quantity))
            .ok_or_else(too_large)?;
        total_fen = total_fen.checked_add(amount).ok_or_else(too_large)?;
        lines.push(ValidLine {
            item,
            quantity: l.quantity,
            unit_price_fen: price.fen(),
        });
    }
    if total_fen > MAX_TOTAL_FEN {
        return Err(too_large());
    }
    Ok(ValidContract {
        reference,
        after_sale_terms,
        lines,
        total_fen,
    })
}

/// `createContract`: FINANCE, for a visible campaign that is not closed.
pub async fn create_contract(s: &Services, actor: &Actor, new: NewContract) -> DomainResult<ContractView> {
    actor.require(Permission::ManageProcurement)?;
    let v = validate_contract(&new)?;
    let mut change = Change::begin(&s.db, Some(actor), "createContract").await?;
    let campaign = campaigns::find_visible(change.txn(), actor, new.campaign_id).await?;
    open_campaign(&campaign, "签订采购合同")?;
    let supplier = crate::db::find::<supplier::Entity, _>(change.txn(), new.supplier_id, "供应商").await?;
    let created = contract::ActiveModel {
        campaign_id: Set(campaign.id),
        supplier_id: Set(supplier.id),
        reference: Set(v.reference),
        signed_on: Set(new.signed_on),
        delivery_date: Set(new.delivery_date),
        after_sale_terms: Set(v.after_sale_terms),
        total_fen: Set(v.total_fen),
        paid_fen: Set(0),
        created_by: Set(actor.user_id),
        created_at: Set(change.now()),
        ..Default::default()
    }
    .insert(change.txn())
    .await?;
    change
        .record(
            "Contract",
            Some(created.id.to_string()),
            None,
            Some(&contract_snapshot(&created)),
        )
        .await?;
    let mut lines = Vec::with_capacity(v.lines.len());
    for l in v.lines {
        let line = contract_line::ActiveModel {
            contract_id: Set(created.id),
            item: Set(l.item),
            quantity: Set(l.quantity),
            unit_price_fen: Set(l.unit_price_fen),
            delivered: Set(0),
            allocated: Set(0),
            ..Default::default()
        }
        .insert(change.txn())
        .await?;
        change
            .record(
                "ContractLine",
                Some(line.id.to_string()),
                None,
                Some(&line_snapshot(&line)),
            )
            .await?;
        lines.push(line);
    }
    change.commit().await?;
    Ok(ContractView {
        contract: created,
        supplier,
        lines,
    })
}

/// Attaches suppliers and lines to contracts: one query for all lines, one for all suppliers.
async fn views<C: ConnectionTrait>(
    db: &C,
    contracts: Vec<contract::Model>,
) -> DomainResult<Vec<ContractView>> {
    if contracts.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = contracts.iter().map(|c| c.id).collect();
    let mut supplier_ids: Vec<i64> = contracts.iter().map(|c| c.supplier_id).collect();
    supplier_ids.sort_unstable();
    supplier_ids.dedup();
    let mut lines: HashMap<i64, Vec<contract_line::Model>> = HashMap::new();
    for l in contract_line::Entity::find()
        .filter(contract_line::Column::ContractId.is_in(ids))
        .order_by_asc(contract_line::Column::Id)
        .all(db)
        .await?
    {
        lines.entry(l.contract_id).or_default().push(l);
    }
    let suppliers: HashMap<i64, supplier::Model> = supplier::Entity::find()
        .filter(supplier::Column::Id.is_in(supplier_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    contracts
        .into_iter()
        .map(|c| {
            let supplier = suppliers
                .get(&c.supplier_id)
                .cloned()
                .ok_or_else(|| DomainError::not_found("供应商"))?;
            let lines = lines.remove(&c.id).unwrap_or_default();
            Ok(ContractView {
                contract: c,
                supplier,
                lines,
            })
        })
        .collect()
}

/// The contracts of a visible campaign with their suppliers and lines, in signing order.
pub async fn contracts(s: &Services, actor: &Actor, campaign_id: i64) -> DomainResult<Vec<ContractView>> {
    actor.require(Permission::ReadMoney)?;
    let campaign = campaigns::find_visible(&s.db, actor, campaign_id).await?;
    let rows = contract::Entity::find()
        .filter(contract::Column::CampaignId.eq(campaign.id))
        .order_by_asc(contract::Column::Id)
        .all(&s.db)
        .await?;
    views(&s.db, rows).await
}

/// A contract whose campaign the caller sees (NOT_FOUND otherwise), with that campaign.
async fn visible_contract<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    id: i64,
) -> DomainResult<(contract::Model, campaign::Model)> {
    let c = crate::db::find::<contract::Entity, _>(db, id, "合同").await?;
    let campaign = campaigns::find_visible(db, actor, c.campaign_id)
        .await
        .map_err(|_| DomainError::not_found("合同"))?;
    Ok((c, campaign))
}

// ---------------------------------------------------------------------------------------------
// Deliveries (到货)
// ---------------------------------------------------------------------------------------------

/// `recordDelivery`: FINANCE records units of a line received; never more than contracted.
pub async fn record_delivery(
    s: &Services,
    actor: &Actor,
    line_id: i64,
    quantity: i32,
    delivered_on: NaiveDate,
    note: Option<&str>,
) -> DomainResult<contract_line::Model> {
    actor.require(Permission::ManageProcurement)?;
    if quantity <= 0 || quantity > MAX_QUANTITY {
        return Err(DomainError::validation(
            "quantity",
            format!("到货数量应为 1–{MAX_QUANTITY}"),
        ));
    }
    let note = optional_text("note", note, 2000, "备注")?;
    let mut change = Change::begin(&s.db, Some(actor), "recordDelivery").await?;
    let before = crate::db::find::<contract_line::Entity, _>(change.txn(), line_id, "合同明细").await?;
    let (_, campaign) = visible_contract(change.txn(), actor, before.contract_id)
        .await
        .map_err(|_| DomainError::not_found("合同明细"))?;
    open_campaign(&campaign, "登记到货")?;
    let over = || {
        DomainError::validation(
            "quantity",
            format!(
                "到货数量超过合同数量：还可到货 {}",
                Ord::max(before.quantity - before.delivered, 0)
            ),
        )
    };
    // Both quantities are ≤ MAX_QUANTITY, so the sum fits; the conditional UPDATE keeps the
    // rule even if a writer ever got past the audit-chain lock.
    if before.delivered + quantity > before.quantity {
        return Err(over());
    }
    let updated = contract_line::Entity::update_many()
        .col_expr(
            contract_line::Column::Delivered,
            Expr::col(contract_line::Column::Delivered).add(quantity),
        )
        .filter(contract_line::Column::Id.eq(before.id))
        .filter(
            Expr::col(contract_line::Column::Delivered)
                .add(quantity)
                .lte(Expr::col(contract_line::Column::Quantity)),
        )
        .exec(change.txn())
        .await?;
    if updated.rows_affected == 0 {
        return Err(over());
    }
    let d = delivery::ActiveModel {
        contract_line_id: Set(before.id),
        quantity: Set(quantity),
        delivered_on: Set(delivered_on),
        note: Set(note),
        created_by: Set(actor.user_id),
        created_at: Set(change.now()),
        ..Default::default()
    }
    .insert(change.txn())
    .await?;
    change
        .record(
            "Delivery",
            Some(d.id.to_string()),
            None,
            Some(&json!({"contract_line_id": d.contract_line_id, "quantity": d.quantity, "delivered_on": d.delivered_on.to_string(), "note": d.note})),
        )
        .await?;
    let after = crate::db::find::<contract_line::Entity, _>(change.txn(), before.id, "合同明细").await?;
    change
        .record(
            "ContractLine",
            Some(after.id.to_string()),
            Some(&line_snapshot(&before)),
            Some(&line_snapshot(&after)),
        )
        .await?;
    change.commit().await?;
    Ok(after)
}

// ---------------------------------------------------------------------------------------------
// Payments
// ---------------------------------------------------------------------------------------------

/// `payContract`: FINANCE pays the supplier. Never more than the contract's unpaid total; the
/// amount counts against the campaign's budget (BUDGET_EXCEEDED) and is booked in its ledger.
pub async fn pay_contract(
    s: &Services,
    actor: &Actor,
    contract_id: i64,
    amount: &str,
    paid_on: NaiveDate,
    reference: &str,
) -> DomainResult<ContractView> {
    actor.require(Permission::ManageProcurement)?;
    let amount = Money::parse("amount", amount)?;
    if amount == Money::ZERO {
        return Err(DomainError::validation("amount", "付款金额必须大于 0"));
    }
    let reference = required_text("reference", reference, 200, "付款凭证号")?;
    let mut change = Change::begin(&s.db, Some(actor), "payContract").await?;
    let (before, campaign) = visible_contract(change.txn(), actor, contract_id).await?;
    open_campaign(&campaign, "支付合同款")?;
    let unpaid = before.total_fen - before.paid_fen;
    let over = || {
        DomainError::validation(
            "amount",
            format!(
                "付款金额超过合同未付金额：还可支付 {} 元",
                Money::from_fen(Ord::max(unpaid, 0))
            ),
        )
    };
    if amount.fen() > unpaid {
        return Err(over());
    }
    let updated = contract::Entity::update_many()
        .col_expr(
            contract::Column::PaidFen,
            Expr::col(contract::Column::PaidFen).add(amount.fen()),
        )
        .filter(contract::Column::Id.eq(before.id))
        .filter(
            Expr::col(contract::Column::PaidFen)
                .add(amount.fen())
                .lte(Expr::col(contract::Column::TotalFen)),
        )
        .exec(change.txn())
        .await?;
    if updated.rows_affected == 0 {
        return Err(over());
    }
    budget::commit(&change, campaign.id, amount.fen()).await?;
    ledger::book(
        &mut change,
        ledger::Booking {
            campaign_id: campaign.id,
            amount_fen: -amount.fen(),
            kind: ledger::EntryKind::ContractPayment,
            reference: &reference,
            booked_on: paid_on,
            source_id: Some(before.id),
            created_by: actor.user_id,
        },
    )
    .await?;
    let after = crate::db::find::<contract::Entity, _>(change.txn(), before.id, "合同").await?;
    change
        .record(
            "Contract",
            Some(after.id.to_string()),
            Some(&contract_snapshot(&before)),
            Some(&contract_snapshot(&after)),
        )
        .await?;
    let view = views(change.txn(), vec![after])
        .await?
        .pop()
        .ok_or_else(|| DomainError::not_found("合同"))?;
    change.commit().await?;
    Ok(view)
}

// ---------------------------------------------------------------------------------------------
// Allocation to GOODS disbursements
// ---------------------------------------------------------------------------------------------

/// Hands out one delivered unit of a line to a GOODS disbursement of `campaign_id`, inside the
/// caller's change (which does the permission checks and the audit entry). The line must belong
/// to a contract of that campaign (VALIDATION `contractLineId`) and have a delivered unit not yet
/// handed out (CONFLICT). One conditional UPDATE, so it holds under concurrent requests.
pub async fn allocate_line(
    change: &Change,
    campaign_id: i64,
    line_id: i64,
) -> DomainResult<contract_line::Model> {
    let not_ours = || DomainError::validation("contractLineId", "该物资不属于本项目的采购合同");
    let line = contract_line::Entity::find_by_id(line_id)
        .one(change.txn())
        .await?
        .ok_or_else(not_ours)?;
    let owner = contract::Entity::find_by_id(line.contract_id)
        .one(change.txn())
        .await?;
    if owner.is_none_or(|c| c.campaign_id != campaign_id) {
        return Err(not_ours());
    }
    let updated = contract_line::Entity::update_many()
        .col_expr(
            contract_line::Column::Allocated,
            Expr::col(contract_line::Column::Allocated).add(1),
        )
        .filter(contract_line::Column::Id.eq(line.id))
        .filter(Expr::col(contract_line::Column::Allocated).lt(Expr::col(contract_line::Column::Delivered)))
        .exec(change.txn())
        .await?;
    if updated.rows_affected == 0 {
        return Err(DomainError::Conflict("该物资已全部发放或尚未到货".into()));
    }
    contract_line::Entity::find_by_id(line.id)
        .one(change.txn())
        .await?
        .ok_or_else(not_ours)
}

/// Gives one allocated unit back (a cancelled GOODS disbursement), inside the caller's change.
/// CONFLICT when the line has nothing allocated (the counter never goes below zero).
pub async fn release_line(change: &Change, line_id: i64) -> DomainResult<()> {
    let updated = contract_line::Entity::update_many()
        .col_expr(
            contract_line::Column::Allocated,
            Expr::col(contract_line::Column::Allocated).sub(1),
        )
        .filter(contract_line::Column::Id.eq(line_id))
        .filter(contract_line::Column::Allocated.gt(0))
        .exec(change.txn())
        .await?;
    if updated.rows_affected == 0 {
        return Err(DomainError::Conflict("该物资没有可退回的发放数量".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Codes checked by hand against the GB 32100 formula (published examples).
    const VALID: [&str; 4] = [
        "91350100M000100Y43",
        "91110000802100433B",
        "91440300708461136T",
        "91330000142916567N",
    ];

    #[test]
    fn known_good_codes_parse() {
        for c in VALID {
            assert_eq!(CreditCode::parse(c).unwrap().as_str(), c);
            assert_eq!(CreditCode::check_char(&c[..17]), c.chars().last());
        }
    }

    #[test]
    fn lower_case_and_spaces_are_normalised() {
        let c = CreditCode::parse("  91350100m000100y43 ").unwrap();
        assert_eq!(c.to_string(), "91350100M000100Y43");
    }

    #[test]
    fn known_bad_codes_are_refused_on_credit_code() {
        for bad in [
            "91350100M000100Y44", // wrong check character
            "91350100M000100Y4",  // 17 characters
            "91350100M000100Y433",
            "",
            "91350100I000100Y43", // I is not in the charset
            "91350100M0001O0Y43", // neither is O
            "9135010OM000100Y43",
            "01350100M000100Y43",  // registrar 0 does not exist
            "913501A0M000100Y43",  // region code must be digits
            "９1350100M000100Y43", // full-width digit
            "911100001000013983",  // widely copied, but its check character is 4
            "91310000MA1FL4CW8E",  // check character should be D
        ] {
            let e = CreditCode::parse(bad).unwrap_err();
            assert_eq!(e.code(), "VALIDATION", "{bad}");
            assert_eq!(e.field(), Some("creditCode"), "{bad}");
        }
    }

    fn body() -> impl Strategy<Value = String> {
        let registrar = proptest::sample::select(REGISTRARS.to_vec());
        let any_char = proptest::sample::select(CHARSET.to_vec());
        let digit = proptest::sample::select(b"0123456789".to_vec());
        (
            registrar,
            any_char.clone(),
            proptest::collection::vec(digit, 6),
            proptest::collection::vec(any_char, 9),
        )
            .prop_map(|(r, k, region, rest)| {
                let mut b = vec![r, k];
                b.extend(region);
                b.extend(rest);
                String::from_utf8(b).unwrap()
            })
    }

    fn valid_code() -> impl Strategy<Value = String> {
        body().prop_map(|b| {
            let check = CreditCode::check_char(&b).unwrap();
            format!("{b}{check}")
        })
    }

    proptest! {
        #[test]
        fn generated_codes_parse(code in valid_code()) {
            let parsed = CreditCode::parse(&code).unwrap();
            prop_assert_eq!(parsed.as_str(), code.as_str());
            prop_assert!(CreditCode::parse(&code.to_lowercase()).is_ok());
        }

        #[test]
        fn any_single_substitution_is_caught(
            code in valid_code(),
            pos in 0usize..18,
            replacement in proptest::sample::select(CHARSET.to_vec()),
        ) {
            let mut b = code.clone().into_bytes();
            prop_assume!(b[pos] != replacement);
            b[pos] = replacement;
            let changed = String::from_utf8(b).unwrap();
            let e = CreditCode::parse(&changed).unwrap_err();
            prop_assert_eq!(e.field(), Some("creditCode"));
        }

        #[test]
        fn arbitrary_input_never_panics(raw in "\\PC{0,24}") {
            let _ = CreditCode::parse(&raw);
        }
    }

    fn line(item: &str, quantity: i32, price: &str) -> NewLine {
        NewLine {
            item: item.into(),
            quantity,
            unit_price: price.into(),
        }
    }

    fn contract_with(lines: Vec<NewLine>) -> NewContract {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        NewContract {
            campaign_id: 1,
            supplier_id: 1,
            reference: "FMCG-2025-001".into(),
            signed_on: d("2025-01-10"),
            delivery_date: d("2025-01-20"),
            after_sale_terms: "质量问题七日内包换".into(),
            lines,
        }
    }

    #[test]
    fn contract_total_is_the_sum_of_its_lines() {
        let v = validate_contract(&contract_with(vec![
            line("大米 10kg", 100, "55.50"),
            line("食用油 5L", 40, "79.90"),
        ]))
        .unwrap();
        assert_eq!(v.total_fen, 100 * 5550 + 40 * 7990);
    }

    #[test]
    fn bad_contracts_name_their_field() {
        let field = |c: NewContract| validate_contract(&c).err().unwrap().field().map(String::from);
        assert_eq!(field(contract_with(vec![])).as_deref(), Some("lines"));
        assert_eq!(
            field(contract_with(vec![line("米", 0, "1.00")])).as_deref(),
            Some("quantity")
        );
        assert_eq!(
            field(contract_with(vec![line("米", 1, "1.001")])).as_deref(),
            Some("unitPrice")
        );
        assert_eq!(
            field(contract_with(vec![line("米", 1, "0")])).as_deref(),
            Some("unitPrice")
        );
        assert_eq!(
            field(contract_with(vec![line(" ", 1, "1")])).as_deref(),
            Some("item")
        );
        assert_eq!(
            field(contract_with(vec![
                line("米", MAX_QUANTITY, "9999999999.99"),
                line("油", MAX_QUANTITY, "9999999999.99"),
            ]))
            .as_deref(),
            Some("lines")
        );
        let mut early = contract_with(vec![line("米", 1, "1")]);
        early.delivery_date = early.signed_on.pred_opt().unwrap();
        assert_eq!(field(early).as_deref(), Some("deliveryDate"));
        let mut no_terms = contract_with(vec![line("米", 1, "1")]);
        no_terms.after_sale_terms = "  ".into();
        assert_eq!(field(no_terms).as_deref(), Some("afterSaleTerms"));
        let mut long_terms = contract_with(vec![line("米", 1, "1")]);
        long_terms.after_sale_terms = "保".repeat(2001);
        assert_eq!(field(long_terms).as_deref(), Some("afterSaleTerms"));
        let e = validate_contract(&contract_with(vec![line("米", 1, "1"), line("油", -1, "1")])).unwrap_err();
        assert!(e.to_string().starts_with("第 2 项"), "{e}");
    }
}
