//! The special ledger (专项台账, 专款专用): every funding, payment to a recipient and payment
//! to a supplier is an entry of one campaign; entries are never edited, only reversed.
use crate::core::error::{DomainError, DomainResult};
use crate::core::money::Money;
use crate::core::services::Services;
use crate::people::access::{Actor, Permission};
use crate::people::audit::{Audited, Change};
use crate::plan::campaign as campaigns;
use crate::plan::stages::{Stage, stage_of};
use chrono::NaiveDate;
use entities::ledger_entry;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;

crate::core::codes::coded_enum! {
    pub enum EntryKind {
        Funding = "FUNDING",
        Disbursement = "DISBURSEMENT",
        ContractPayment = "CONTRACT_PAYMENT",
        Reversal = "REVERSAL",
    }
}

/// One ledger entry to book. `amount_fen` is signed: + funding, − spending.
pub struct Booking<'a> {
    pub campaign_id: i64,
    pub amount_fen: i64,
    pub kind: EntryKind,
    pub reference: &'a str,
    pub booked_on: NaiveDate,
    /// The disbursement or contract the money moved for.
    pub source_id: Option<i64>,
    pub created_by: i64,
}

impl Audited for ledger_entry::Model {
    const TARGET: &'static str = "LedgerEntry";
    fn audit_id(&self) -> String {
        self.id.to_string()
    }
    fn snapshot(&self) -> serde_json::Value {
        json!({"campaign_id": self.campaign_id, "amount_fen": self.amount_fen, "kind": self.kind, "reference": self.reference, "booked_on": self.booked_on.to_string()})
    }
}

/// Books one entry inside an open change and audits it.
pub async fn book(change: &mut Change, b: Booking<'_>) -> DomainResult<ledger_entry::Model> {
    let Booking {
        campaign_id,
        amount_fen,
        kind,
        reference,
        booked_on,
        source_id,
        created_by,
    } = b;
    change
        .insert_audited(ledger_entry::ActiveModel {
            campaign_id: Set(campaign_id),
            amount_fen: Set(amount_fen),
            kind: Set(kind.as_str().into()),
            reference: Set(reference.to_string()),
            booked_on: Set(booked_on),
            source_id: Set(source_id),
            reverses_id: Set(None),
            created_by: Set(created_by),
            created_at: Set(change.now()),
            ..Default::default()
        })
        .await
}

fn clean_reference(raw: &str) -> DomainResult<String> {
    let r = raw.trim();
    if r.is_empty() || r.chars().count() > 200 || r.chars().any(char::is_control) {
        return Err(DomainError::validation("reference", "凭证/文号为 1–200 个字符"));
    }
    Ok(r.to_string())
}

/// `recordFunding`: money from the finance bureau arrives in the campaign's ledger.
pub async fn record_funding(
    s: &Services,
    actor: &Actor,
    campaign_id: i64,
    amount: &str,
    reference: &str,
    received_on: NaiveDate,
) -> DomainResult<ledger_entry::Model> {
    actor.require(Permission::RecordFunding)?;
    let amount = Money::parse("amount", amount)?;
    if amount == Money::ZERO {
        return Err(DomainError::validation("amount", "到账金额必须大于 0"));
    }
    let reference = clean_reference(reference)?;
    let mut change = Change::begin(&s.db, Some(actor), "recordFunding").await?;
    let campaign = campaigns::find_visible(change.txn(), actor, campaign_id).await?;
    if stage_of(&campaign) == Stage::Closed {
        return Err(DomainError::InvalidStage("项目已结项，不能再登记资金".into()));
    }
    let entry = book(
        &mut change,
        Booking {
            campaign_id: campaign.id,
            amount_fen: amount.fen(),
            kind: EntryKind::Funding,
            reference: &reference,
            booked_on: received_on,
            source_id: None,
            created_by: actor.user_id,
        },
    )
    .await?;
    change.commit().await?;
    Ok(entry)
}

/// Reverses a funding entry booked in error (the original stays; an opposite entry is added).
pub async fn reverse(
    s: &Services,
    actor: &Actor,
    entry_id: i64,
    reason: &str,
) -> DomainResult<ledger_entry::Model> {
    actor.require(Permission::RecordFunding)?;
    let reason = clean_reference(reason)?;
    let mut change = Change::begin(&s.db, Some(actor), "reverseLedgerEntry").await?;
    let original =
        crate::core::db::find::<ledger_entry::Entity, _>(change.txn(), entry_id, "台账条目").await?;
    campaigns::find_visible(change.txn(), actor, original.campaign_id).await?;
    if original.kind != EntryKind::Funding.as_str() {
        return Err(DomainError::Conflict(
            "只能冲销资金到账条目；支出随其业务撤销".into(),
        ));
    }
    let already = ledger_entry::Entity::find()
        .filter(ledger_entry::Column::ReversesId.eq(original.id))
        .one(change.txn())
        .await?;
    if already.is_some() {
        return Err(DomainError::Conflict("该条目已冲销".into()));
    }
    // Funding may only be reversed while what remains still covers what is committed.
    let balance = balance_fen(change.txn(), original.campaign_id).await?;
    if balance - original.amount_fen < 0 {
        return Err(DomainError::Conflict("冲销后台账余额将为负".into()));
    }
    let entry = ledger_entry::ActiveModel {
        campaign_id: Set(original.campaign_id),
        amount_fen: Set(-original.amount_fen),
        kind: Set(EntryKind::Reversal.as_str().into()),
        reference: Set(format!("冲销 #{}: {reason}", original.id)),
        booked_on: Set(change.now().date_naive()),
        source_id: Set(None),
        reverses_id: Set(Some(original.id)),
        created_by: Set(actor.user_id),
        created_at: Set(change.now()),
        ..Default::default()
    }
    .insert(change.txn())
    .await?;
    change
        .record(
            "LedgerEntry",
            Some(entry.id.to_string()),
            None,
            Some(&json!({"reverses": original.id, "amount_fen": entry.amount_fen, "reason": reason})),
        )
        .await?;
    change.commit().await?;
    Ok(entry)
}

/// Sum of the campaign's entries (funding minus spending).
pub async fn balance_fen<C: sea_orm::ConnectionTrait>(db: &C, campaign_id: i64) -> DomainResult<i64> {
    Ok(sums(db, campaign_id).await?.0)
}

/// (balance, funded) in fen.
pub async fn sums<C: sea_orm::ConnectionTrait>(db: &C, campaign_id: i64) -> DomainResult<(i64, i64)> {
    use sea_orm::QuerySelect;
    use sea_orm::sea_query::Expr;
    let row: Option<(Option<i64>, Option<i64>)> = ledger_entry::Entity::find()
        .select_only()
        .column_as(Expr::cust("CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT)"), "balance")
        .column_as(
            Expr::cust("CAST(COALESCE(SUM(CASE WHEN kind IN ('FUNDING', 'REVERSAL') THEN amount_fen ELSE 0 END), 0) AS BIGINT)"),
            "funded",
        )
        .filter(ledger_entry::Column::CampaignId.eq(campaign_id))
        .into_tuple()
        .one(db)
        .await?;
    let (b, f) = row.unwrap_or((Some(0), Some(0)));
    Ok((b.unwrap_or(0), f.unwrap_or(0)))
}

pub struct Ledger {
    pub entries: Vec<ledger_entry::Model>,
    pub balance: i64,
    pub funded: i64,
}

pub async fn ledger(s: &Services, actor: &Actor, campaign_id: i64) -> DomainResult<Ledger> {
    actor.require(Permission::ReadMoney)?;
    let campaign = campaigns::find_visible(&s.db, actor, campaign_id).await?;
    let entries = ledger_entry::Entity::find()
        .filter(ledger_entry::Column::CampaignId.eq(campaign.id))
        .order_by_asc(ledger_entry::Column::Id)
        .all(&s.db)
        .await?;
    let (balance, funded) = sums(&s.db, campaign.id).await?;
    Ok(Ledger {
        entries,
        balance,
        funded,
    })
}
