//! Disbursements: `disburse` (PLANNED) → `approveDisbursements` (FINANCE, never the planner:
//! maker-checker) → `markPaid` (bank reference; the entry deadline is set from the official
//! calendar) → `confirmReceipt` (签字确认); or `cancelDisbursement` (releases the budget).
//! `markEntered` records entry into the provincial platform.
use crate::core::error::{DomainError, DomainResult, on_unique};
use crate::core::money::Money;
use crate::core::outbox;
use crate::core::services::Services;
pub use crate::funds::disbursement_reads::{DisbursementField, DisbursementFilter, list, may_read};
use crate::funds::procurement::contracts as procurement;
use crate::funds::{budget, ledger, notices};
use crate::people::access::{Actor, Permission};
use crate::people::audit::{Audited, Change};
use crate::plan::campaign as campaigns;
use crate::plan::stages::{Stage, require_stage};
pub use crate::plan::statuses::DStatus;
use crate::plan::statuses::Status;
use crate::plan::{calendar_store, counters};
use crate::recipients::rules as recipient_rules;
use chrono::NaiveDate;
use entities::{campaign, category, disbursement, recipient};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use serde_json::json;
use sha2::{Digest, Sha256};

pub fn status_of(d: &disbursement::Model) -> DStatus {
    d.status.parse().unwrap_or(DStatus::Planned)
}

crate::core::codes::coded_enum! {
    pub enum DKind {
        Cash = "CASH",
        Goods = "GOODS",
    }
}

/// Batch calls take at most this many ids (the contract's limit).
pub const MAX_BATCH: usize = 500;

pub struct DisburseRequest {
    pub recipient_id: i64,
    pub kind: DKind,
    pub amount: String,
    pub items: Option<String>,
    pub idempotency_key: String,
    /// GOODS from a procurement contract line: the goods were paid through the contract, so
    /// this disbursement commits no budget of its own.
    pub contract_line_id: Option<i64>,
}

fn request_hash(r: &DisburseRequest, amount: Money, items: &Option<String>) -> String {
    let text = format!(
        "{}|{}|{}|{}|{}",
        r.recipient_id,
        r.kind.as_str(),
        amount.fen(),
        items.as_deref().unwrap_or(""),
        r.contract_line_id.map(|l| l.to_string()).unwrap_or_default()
    );
    hex::encode(Sha256::digest(text.as_bytes()))
}

impl Audited for disbursement::Model {
    const TARGET: &'static str = "Disbursement";
    fn audit_id(&self) -> String {
        self.id.to_string()
    }
    fn snapshot(&self) -> serde_json::Value {
        let d = self;
        json!({
            "recipient_id": d.recipient_id, "kind": d.kind, "amount": Money::from_fen(d.amount_fen).to_string(),
            "status": d.status, "items": d.items, "bank_reference": d.bank_reference,
            "paid_on": d.paid_on.map(|x| x.to_string()), "confirmed_on": d.confirmed_on.map(|x| x.to_string()),
            "entry_deadline": d.entry_deadline.map(|x| x.to_string()), "provincial_ref": d.provincial_ref,
            "cancel_reason": d.cancel_reason, "contract_line_id": d.contract_line_id,
        })
    }
}

pub async fn disburse(s: &Services, actor: &Actor, r: DisburseRequest) -> DomainResult<disbursement::Model> {
    actor.require(Permission::PlanDisbursements)?;
    let key = r.idempotency_key.trim();
    if key.is_empty() || key.len() > 128 {
        return Err(DomainError::validation("idempotencyKey", "幂等键为 1–128 个字符"));
    }
    let amount = Money::parse("amount", &r.amount)?;
    if amount == Money::ZERO {
        return Err(DomainError::validation("amount", "发放金额必须大于 0"));
    }
    let items = r
        .items
        .as_deref()
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .map(String::from);
    if items.as_ref().is_some_and(|i| i.chars().count() > 500) {
        return Err(DomainError::validation("items", "物资说明不能超过 500 个字符"));
    }
    if r.kind == DKind::Goods && items.is_none() {
        return Err(DomainError::validation("items", "实物慰问必须写明发放的物资"));
    }
    if r.kind == DKind::Cash && r.contract_line_id.is_some() {
        return Err(DomainError::validation(
            "contractLineId",
            "现金慰问不对应采购合同",
        ));
    }
    let hash = request_hash(&r, amount, &items);
    // Everything that can be judged from committed data is judged before the audit-chain lock
    // is taken, so the locked part (which serialises all writers) stays a few statements long.
    // What could change meanwhile is re-checked under the lock: the stage (in the budget
    // UPDATE), the budget, one active disbursement per recipient and the key (unique indexes).
    // Vetting is closed in DISTRIBUTION, so the recipient's status cannot change.
    // A replay of a finished request is answered from the stored disbursement: here when a
    // check fails (e.g. the stage moved on since), or at insert time via the key's unique index.
    match plan(s, actor, &r, key, amount, items, &hash).await {
        Ok(created) => Ok(created),
        // A replay of a finished request is answered from the stored disbursement, whatever
        // refused it this time (the stage moved on, the budget is spent, the key's unique index).
        Err(e) => match find_by_key(&s.db, key).await? {
            Some(existing) => replay(existing, &hash),
            None => Err(e),
        },
    }
}

/// The checks and writes of one new plan (see `disburse`).
async fn plan(
    s: &Services,
    actor: &Actor,
    r: &DisburseRequest,
    key: &str,
    amount: Money,
    items: Option<String>,
    hash: &str,
) -> DomainResult<disbursement::Model> {
    let (rec, campaign) = recipient_rules::get_in(&s.db, actor, r.recipient_id).await?;
    require_stage(&campaign, &[Stage::Distribution], "计划发放")?;
    if recipient_rules::status_of(&rec) != Status::Verified {
        return Err(DomainError::validation(
            "recipientId",
            "慰问对象尚未审核通过（VERIFIED）",
        ));
    }
    let category = crate::core::db::find::<category::Entity, _>(&s.db, rec.category_id, "类别").await?;
    within_standard(&category, amount)?;
    // The annual cap reads other campaigns' plans: with it on, take the chain lock first so
    // plans for one person are judged one at a time across campaigns.
    let mut change = if s.settings.annual_cap.is_some() {
        Change::begin(&s.db, Some(actor), "disburse").await?
    } else {
        Change::begin_late(&s.db, Some(actor), "disburse").await?
    };
    match r.contract_line_id {
        Some(line) => {
            let now = campaigns::find_visible(change.txn(), actor, campaign.id).await?;
            require_stage(&now, &[Stage::Distribution], "计划发放")?;
            procurement::allocate_line(&change, campaign.id, line).await?;
        }
        None => budget::commit_in_stage(&change, campaign.id, amount.fen(), Stage::Distribution).await?,
    }
    if let Some(cap) = s.settings.annual_cap {
        within_annual_cap(change.txn(), &rec, &campaign, amount, cap).await?;
    }
    let am = disbursement::ActiveModel {
        campaign_id: Set(campaign.id),
        recipient_id: Set(rec.id),
        category_id: Set(category.id),
        kind: Set(r.kind.as_str().into()),
        amount_fen: Set(amount.fen()),
        status: Set(DStatus::Planned.as_str().into()),
        items: Set(items),
        contract_line_id: Set(r.contract_line_id),
        bank_reference: Set(None),
        paid_on: Set(None),
        confirmed_on: Set(None),
        notified_at: Set(None),
        entry_deadline: Set(None),
        entry_deadline_provisional: Set(false),
        entered_at: Set(None),
        provincial_ref: Set(None),
        idempotency_key: Set(key.to_string()),
        request_hash: Set(hash.to_string()),
        cancel_reason: Set(None),
        active_recipient: Set(Some(rec.id)),
        recipient_verified_at_plan: Set(true),
        planned_by: Set(actor.user_id),
        approved_by: Set(None),
        created_at: Set(change.now()),
        updated_at: Set(change.now()),
        ..Default::default()
    };
    let created = change
        .insert_audited_or(
            am,
            on_unique(|| DomainError::Conflict("该慰问对象已有一笔未撤销的发放".into())),
        )
        .await?;
    change.commit().await?;
    Ok(created)
}

/// Writes a transition and its audit entry (before/after snapshots).
async fn save(
    change: &mut Change,
    before: &disbursement::Model,
    am: disbursement::ActiveModel,
) -> DomainResult<disbursement::Model> {
    let after = change.update_audited(before, am).await?;
    counters::disbursement_moved(change.txn(), after.category_id, &before.status, &after.status).await?;
    Ok(after)
}

async fn find_by_key<C: ConnectionTrait>(db: &C, key: &str) -> DomainResult<Option<disbursement::Model>> {
    Ok(disbursement::Entity::find()
        .filter(disbursement::Column::IdempotencyKey.eq(key))
        .one(db)
        .await?)
}

/// A replay returns what the first call made; the same key for another request is a conflict.
fn replay(existing: disbursement::Model, hash: &str) -> DomainResult<disbursement::Model> {
    if existing.request_hash == hash {
        Ok(existing)
    } else {
        Err(DomainError::Conflict("幂等键已用于另一笔不同的发放".into()))
    }
}

/// 无超标准发放: no payment above its category's standard amount (`OVER_STANDARD`).
pub fn within_standard(category: &category::Model, amount: Money) -> DomainResult<()> {
    if amount.fen() > category.standard_fen {
        return Err(DomainError::OverStandard(
            format!(
                "超过“{}”的慰问标准 {} 元（无超标准发放）",
                category.name,
                Money::from_fen(category.standard_fen)
            )
            .into(),
        ));
    }
    Ok(())
}

/// Provincial rules cap help per person per year (off unless `SONGNUAN_ANNUAL_CAP` is set).
async fn within_annual_cap<C: ConnectionTrait>(
    db: &C,
    rec: &recipient::Model,
    campaign: &campaign::Model,
    amount: Money,
    cap: Money,
) -> DomainResult<()> {
    let Some(index) = &rec.id_number_index else {
        return Ok(());
    };
    let already: Option<Option<i64>> = disbursement::Entity::find()
        .select_only()
        .column_as(
            Expr::cust("CAST(COALESCE(SUM(disbursements.amount_fen), 0) AS BIGINT)"),
            "total",
        )
        .filter(disbursement::Column::Status.ne(DStatus::Cancelled.as_str()))
        .filter(
            disbursement::Column::RecipientId.in_subquery(
                Query::select()
                    .column((recipient::Entity, recipient::Column::Id))
                    .from(recipient::Entity)
                    .inner_join(
                        campaign::Entity,
                        Expr::col((campaign::Entity, campaign::Column::Id))
                            .equals((recipient::Entity, recipient::Column::CampaignId)),
                    )
                    .and_where(
                        Expr::col((recipient::Entity, recipient::Column::IdNumberIndex)).eq(index.as_str()),
                    )
                    .and_where(Expr::col((campaign::Entity, campaign::Column::Year)).eq(campaign.year))
                    .to_owned(),
            ),
        )
        .into_tuple()
        .one(db)
        .await?;
    let total = already.flatten().unwrap_or(0) + amount.fen();
    if total > cap.fen() {
        return Err(DomainError::OverStandard(
            format!(
                "超过年度个人帮扶上限 {cap} 元（本年度已发放 {} 元）",
                Money::from_fen(total - amount.fen())
            )
            .into(),
        ));
    }
    Ok(())
}

async fn load_for_update<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    id: i64,
) -> DomainResult<(disbursement::Model, campaign::Model)> {
    let d = crate::core::db::find::<disbursement::Entity, _>(db, id, "发放记录").await?;
    let c = campaigns::find_visible(db, actor, d.campaign_id)
        .await
        .map_err(|_| DomainError::not_found("发放记录"))?;
    Ok((d, c))
}

fn wrong_state(d: &disbursement::Model, what: &str) -> DomainError {
    DomainError::Conflict(format!("发放记录 #{} 当前为 {}，不能{what}", d.id, d.status).into())
}

pub async fn approve(s: &Services, actor: &Actor, ids: &[i64]) -> DomainResult<Vec<disbursement::Model>> {
    actor.require(Permission::ApproveDisbursements)?;
    check_batch(ids)?;
    let mut change = Change::begin(&s.db, Some(actor), "approveDisbursements").await?;
    let mut out = Vec::with_capacity(ids.len());
    for &id in ids {
        let (before, campaign) = load_for_update(change.txn(), actor, id).await?;
        require_stage(&campaign, &[Stage::Distribution], "审核发放")?;
        if status_of(&before) != DStatus::Planned {
            return Err(wrong_state(&before, "审核"));
        }
        if before.planned_by == actor.user_id {
            return Err(DomainError::Forbidden(
                "不能审核自己计划的发放（审核与经办分离）".into(),
            ));
        }
        let mut am: disbursement::ActiveModel = before.clone().into();
        am.status = Set(DStatus::Approved.as_str().into());
        am.approved_by = Set(Some(actor.user_id));
        am.updated_at = Set(change.now());
        let after = save(&mut change, &before, am).await?;
        out.push(after);
    }
    change.commit().await?;
    Ok(out)
}

fn check_batch(ids: &[i64]) -> DomainResult<()> {
    if ids.is_empty() || ids.len() > MAX_BATCH {
        return Err(DomainError::validation("ids", "每次 1–500 条"));
    }
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    if sorted.len() != ids.len() {
        return Err(DomainError::validation("ids", "编号重复"));
    }
    Ok(())
}

fn clean(field: &'static str, raw: &str, max: usize) -> DomainResult<String> {
    let t = raw.trim();
    if t.is_empty() || t.chars().count() > max || t.chars().any(char::is_control) {
        return Err(DomainError::validation(field, format!("应为 1–{max} 个字符")));
    }
    Ok(t.to_string())
}

/// The bank transfer is done: the money leaves the ledger and the 30-working-day entry
/// deadline starts (official calendar; provisional for a year the calendar does not know).
pub async fn mark_paid(
    s: &Services,
    actor: &Actor,
    id: i64,
    bank_reference: &str,
    paid_on: NaiveDate,
) -> DomainResult<disbursement::Model> {
    actor.require(Permission::PayDisbursements)?;
    let bank_reference = clean("bankReference", bank_reference, 100)?;
    let mut change = Change::begin(&s.db, Some(actor), "markPaid").await?;
    let (before, campaign) = load_for_update(change.txn(), actor, id).await?;
    require_stage(&campaign, &[Stage::Distribution], "登记付款")?;
    if status_of(&before) != DStatus::Approved {
        return Err(wrong_state(&before, "登记付款（须先审核）"));
    }
    let calendar = calendar_store::load(change.txn()).await?;
    let deadline = calendar_store::entry_deadline(&calendar, paid_on, campaign.entry_deadline_days)?;
    let mut am: disbursement::ActiveModel = before.clone().into();
    am.status = Set(DStatus::Paid.as_str().into());
    am.bank_reference = Set(Some(bank_reference.clone()));
    am.paid_on = Set(Some(paid_on));
    am.entry_deadline = Set(Some(deadline.date));
    am.entry_deadline_provisional = Set(deadline.provisional);
    am.updated_at = Set(change.now());
    let after = save(&mut change, &before, am).await?;
    // Goods from a contract were paid through the contract's own ledger entry.
    if after.contract_line_id.is_none() {
        ledger::book(
            &mut change,
            ledger::Booking {
                campaign_id: campaign.id,
                amount_fen: -after.amount_fen,
                kind: ledger::EntryKind::Disbursement,
                reference: &bank_reference,
                booked_on: paid_on,
                source_id: Some(after.id),
                created_by: actor.user_id,
            },
        )
        .await?;
    }
    // The recipient's notice and its job, committed with the payment or not at all.
    let recipient =
        crate::core::db::find::<recipient::Entity, _>(change.txn(), after.recipient_id, "慰问对象").await?;
    notices::queue(&mut change, &after, &recipient, s.settings.letter_delay).await?;
    change.commit().await?;
    outbox::wake();
    Ok(after)
}

pub async fn confirm_receipt(
    s: &Services,
    actor: &Actor,
    id: i64,
    confirmed_on: NaiveDate,
) -> DomainResult<disbursement::Model> {
    actor.require(Permission::ConfirmReceipts)?;
    let mut change = Change::begin(&s.db, Some(actor), "confirmReceipt").await?;
    let (before, campaign) = load_for_update(change.txn(), actor, id).await?;
    require_stage(&campaign, &[Stage::Distribution, Stage::Review], "签字确认")?;
    if status_of(&before) != DStatus::Paid {
        return Err(wrong_state(&before, "签字确认"));
    }
    if before.paid_on.is_some_and(|p| confirmed_on < p) {
        return Err(DomainError::validation("confirmedOn", "确认日期不能早于付款日期"));
    }
    let mut am: disbursement::ActiveModel = before.clone().into();
    am.status = Set(DStatus::Confirmed.as_str().into());
    am.confirmed_on = Set(Some(confirmed_on));
    am.updated_at = Set(change.now());
    let after = save(&mut change, &before, am).await?;
    change.commit().await?;
    Ok(after)
}

/// Only before the money moves (PLANNED or APPROVED); the commitment is given back.
pub async fn cancel(s: &Services, actor: &Actor, id: i64, reason: &str) -> DomainResult<disbursement::Model> {
    actor.require(Permission::CancelDisbursements)?;
    let reason = clean("reason", reason, 500)?;
    let mut change = Change::begin(&s.db, Some(actor), "cancelDisbursement").await?;
    let (before, _campaign) = load_for_update(change.txn(), actor, id).await?;
    if !matches!(status_of(&before), DStatus::Planned | DStatus::Approved) {
        return Err(wrong_state(&before, "撤销（款项已付出）"));
    }
    match before.contract_line_id {
        Some(line) => procurement::release_line(&change, line).await?,
        None => budget::release(&change, before.campaign_id, before.amount_fen).await?,
    }
    let mut am: disbursement::ActiveModel = before.clone().into();
    am.status = Set(DStatus::Cancelled.as_str().into());
    am.cancel_reason = Set(Some(reason));
    am.active_recipient = Set(None);
    am.updated_at = Set(change.now());
    let after = save(&mut change, &before, am).await?;
    change.commit().await?;
    Ok(after)
}

/// Entry into the provincial platform (by the help centre or the platform itself). Repeating
/// a call with the same reference changes nothing; another reference is a conflict.
pub async fn mark_entered(
    s: &Services,
    actor: &Actor,
    ids: &[i64],
    provincial_ref: &str,
) -> DomainResult<Vec<disbursement::Model>> {
    actor.require(Permission::MarkEntered)?;
    check_batch(ids)?;
    let provincial_ref = clean("provincialRef", provincial_ref, 100)?;
    let mut change = Change::begin(&s.db, Some(actor), "markEntered").await?;
    let mut out = Vec::with_capacity(ids.len());
    for &id in ids {
        let (before, _) = load_for_update(change.txn(), actor, id).await?;
        match enter(&mut change, before, &provincial_ref).await? {
            Entry::Entered(d) | Entry::Same(d) => out.push(d),
            Entry::Other(_) => {
                return Err(DomainError::Conflict(
                    format!("发放记录 #{id} 已以另一编号录入").into(),
                ));
            }
        }
    }
    change.commit().await?;
    Ok(out)
}

/// What entering one record came to (`enter`).
#[derive(Debug)]
pub enum Entry {
    /// Entered now, with the reference given (audited).
    Entered(disbursement::Model),
    /// Entered before with the same reference: unchanged.
    Same(disbursement::Model),
    /// Entered before with another reference: unchanged (`markEntered` refuses it as a conflict,
    /// the push leaves the first entry standing).
    Other(disbursement::Model),
}

/// The entry rule, one place for both paths — the pull (`markEntered`) and the provincial
/// platform's push receipt (`work::province`): only a PAID or CONFIRMED record is entered, with
/// `enteredAt` now and the platform's reference, audited in `change`; an entered record is
/// never changed, so both paths are idempotent.
pub async fn enter(
    change: &mut Change,
    before: disbursement::Model,
    provincial_ref: &str,
) -> DomainResult<Entry> {
    let provincial_ref = clean("provincialRef", provincial_ref, 100)?;
    if !matches!(status_of(&before), DStatus::Paid | DStatus::Confirmed) {
        return Err(wrong_state(&before, "登记录入（须已付款）"));
    }
    if before.entered_at.is_some() {
        return Ok(
            if before.provincial_ref.as_deref() == Some(provincial_ref.as_str()) {
                Entry::Same(before)
            } else {
                Entry::Other(before)
            },
        );
    }
    let mut am: disbursement::ActiveModel = before.clone().into();
    am.entered_at = Set(Some(change.now()));
    am.provincial_ref = Set(Some(provincial_ref));
    am.updated_at = Set(change.now());
    Ok(Entry::Entered(save(change, &before, am).await?))
}
