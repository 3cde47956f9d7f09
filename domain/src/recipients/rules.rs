//! The rules of a recipient: nominate (by grassroots unions and the help centre, de-duplicated:
//! "不漏不重"), edit while NOMINATED, vet (verify or reject) and reveal a personal field.
use crate::core::crypto::{FieldCipher, PiiField};
use crate::core::error::{DomainError, DomainResult, on_unique};
use crate::core::services::Services;
use crate::people::access::{Actor, Permission, Scope};
use crate::people::audit::{Audited, Change};
use crate::plan::campaign as campaigns;
use crate::plan::categories::RecipientKind;
use crate::plan::counters;
use crate::plan::stages::{Stage, require_stage};
use crate::plan::statuses::Status;
use crate::recipients::fields::{RecipientFields, Sealed, ValidFields, seal, validate};
use entities::{campaign, category, organization, recipient};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::json;

pub fn status_of(r: &recipient::Model) -> Status {
    r.status.parse().unwrap_or(Status::Nominated)
}

crate::core::codes::coded_enum! {
    /// 入户走访 / 数据比对 / 信息核实
    pub enum VerificationMethod {
        HomeVisit = "HOME_VISIT",
        DataCheck = "DATA_CHECK",
        InfoCheck = "INFO_CHECK",
    }
}

/// Nominations are taken while recipients are screened.
pub(crate) const NOMINATION_STAGES: [Stage; 1] = [Stage::Screening];
/// Vetting may continue while goods are procured.
const VETTING_STAGES: [Stage; 2] = [Stage::Screening, Stage::Procurement];

/// What the audit log keeps of a recipient: masks only.
impl Audited for recipient::Model {
    const TARGET: &'static str = "Recipient";
    fn audit_id(&self) -> String {
        self.id.to_string()
    }
    fn snapshot(&self) -> serde_json::Value {
        let r = self;
        json!({
            "campaign_id": r.campaign_id, "category_id": r.category_id, "kind": r.kind, "name": r.name,
            "id_number": r.id_number_mask, "phone": r.phone_mask, "bank_name": r.bank_name,
            "bank_account": r.bank_account_mask, "nominated_by": r.nominated_by, "status": r.status,
            "verification_method": r.verification_method, "rejection_reason": r.rejection_reason,
        })
    }
}

fn duplicate_error(kind: RecipientKind) -> DomainError {
    match kind {
        RecipientKind::Person => {
            DomainError::DuplicateRecipient("该身份证号码已在本项目中登记（不漏不重）".into())
        }
        RecipientKind::Unit => DomainError::DuplicateRecipient("该单位已在本项目中登记".into()),
    }
}

pub(crate) fn kind_of_category(c: &category::Model) -> RecipientKind {
    c.recipient_kind.parse().unwrap_or(RecipientKind::Person)
}

async fn category_by_code<C: ConnectionTrait>(
    db: &C,
    campaign_id: i64,
    code: &str,
) -> DomainResult<category::Model> {
    category::Entity::find()
        .filter(category::Column::CampaignId.eq(campaign_id))
        .filter(category::Column::Code.eq(code.trim()))
        .one(db)
        .await?
        .ok_or_else(|| DomainError::validation("categoryCode", "该项目没有这个类别编码"))
}

/// The nominating organisation must exist and lie inside the caller's subtree.
async fn nominator<C: ConnectionTrait>(db: &C, actor: &Actor, id: i64) -> DomainResult<organization::Model> {
    let org = crate::core::db::find::<organization::Entity, _>(db, id, "推荐单位").await?;
    if !actor.scope().contains_path(&org.path) {
        return Err(DomainError::Forbidden(
            "只能为本单位及下级单位推荐慰问对象".into(),
        ));
    }
    Ok(org)
}

pub struct Nomination {
    pub campaign_id: i64,
    pub category_code: String,
    pub fields: RecipientFields,
    pub nominated_by: i64,
}

pub async fn nominate(s: &Services, actor: &Actor, n: Nomination) -> DomainResult<recipient::Model> {
    actor.require(Permission::NominateRecipients)?;
    let kind = n
        .fields
        .kind
        .ok_or_else(|| DomainError::validation("kind", "请填写对象类型"))?;
    let valid = validate(&n.fields, kind)?;
    let mut change = Change::begin(&s.db, Some(actor), "nominateRecipient").await?;
    let campaign = campaigns::find_visible(change.txn(), actor, n.campaign_id).await?;
    require_stage(&campaign, &NOMINATION_STAGES, "推荐慰问对象")?;
    let category = category_by_code(change.txn(), campaign.id, &n.category_code).await?;
    if kind_of_category(&category) != kind {
        return Err(DomainError::validation("kind", "对象类型与类别不符"));
    }
    let org = nominator(change.txn(), actor, n.nominated_by).await?;
    let sealed = seal(&s.cipher, &valid);
    let am = new_row(
        &campaign,
        &category,
        &valid,
        sealed,
        org.id,
        actor.user_id,
        change.now(),
    );
    let created = change
        .insert_audited_or(am, on_unique(|| duplicate_error(kind)))
        .await?;
    counters::recipient_added(change.txn(), category.id).await?;
    change.commit().await?;
    Ok(created)
}

pub(crate) fn new_row(
    campaign: &campaign::Model,
    category: &category::Model,
    v: &ValidFields,
    sealed: Sealed,
    nominated_by: i64,
    created_by: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> recipient::ActiveModel {
    recipient::ActiveModel {
        campaign_id: Set(campaign.id),
        category_id: Set(category.id),
        kind: Set(v.kind.as_str().into()),
        name: Set(v.name.clone()),
        id_number_enc: Set(sealed.id_enc),
        id_number_index: Set(sealed.id_index),
        id_number_mask: Set(sealed.id_mask),
        phone_enc: Set(sealed.phone_enc),
        phone_index: Set(sealed.phone_index),
        phone_mask: Set(sealed.phone_mask),
        bank_name: Set(v.bank_name.clone()),
        bank_account_enc: Set(sealed.bank_enc),
        bank_account_index: Set(sealed.bank_index),
        bank_account_mask: Set(sealed.bank_mask),
        nominated_by: Set(nominated_by),
        status: Set(Status::Nominated.as_str().into()),
        verification_method: Set(None),
        verification_note: Set(None),
        rejection_reason: Set(None),
        vetted_at: Set(None),
        vetted_by: Set(None),
        dedup_key: Set(sealed.dedup_key),
        created_by: Set(created_by),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
}

/// Validates and seals one recipient into a row ready to insert (bulk loaders: demo data and the
/// benchmark generator; they insert inside their own change).
pub fn build_row(
    cipher: &FieldCipher,
    campaign: &campaign::Model,
    category: &category::Model,
    fields: &RecipientFields,
    nominated_by: i64,
    created_by: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> DomainResult<recipient::ActiveModel> {
    let kind = kind_of_category(category);
    let valid = validate(fields, kind)?;
    let sealed = seal(cipher, &valid);
    Ok(new_row(
        campaign,
        category,
        &valid,
        sealed,
        nominated_by,
        created_by,
        now,
    ))
}

/// Loads a recipient the caller may see: its campaign is visible, and a scoped caller only
/// sees what its subtree nominated.
pub(crate) async fn find_visible<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    id: i64,
) -> DomainResult<(recipient::Model, campaign::Model)> {
    let r = crate::core::db::find::<recipient::Entity, _>(db, id, "慰问对象").await?;
    let campaign = campaigns::find_visible(db, actor, r.campaign_id)
        .await
        .map_err(|_| DomainError::not_found("慰问对象"))?;
    if let Scope::Subtree(_) = actor.scope() {
        let org = organization::Entity::find_by_id(r.nominated_by).one(db).await?;
        if !org.is_some_and(|o| actor.scope().contains_path(&o.path)) {
            return Err(DomainError::not_found("慰问对象"));
        }
    }
    Ok((r, campaign))
}

/// A recipient the caller may see, inside an open change (money operations).
pub(crate) async fn get_in<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    id: i64,
) -> DomainResult<(recipient::Model, campaign::Model)> {
    find_visible(db, actor, id).await
}

pub async fn get(s: &Services, actor: &Actor, id: i64) -> DomainResult<recipient::Model> {
    actor.require(Permission::ReadRecipients)?;
    Ok(find_visible(&s.db, actor, id).await?.0)
}

/// Edits a nomination while it is still NOMINATED (fields left `None` stay as they are).
pub struct RecipientPatch {
    pub category_code: Option<String>,
    pub name: Option<String>,
    pub id_number: Option<String>,
    pub phone: Option<String>,
    pub bank_name: Option<String>,
    pub bank_account: Option<String>,
}

pub async fn update(
    s: &Services,
    actor: &Actor,
    id: i64,
    p: RecipientPatch,
) -> DomainResult<recipient::Model> {
    actor.require(Permission::NominateRecipients)?;
    let mut change = Change::begin(&s.db, Some(actor), "updateRecipient").await?;
    let (before, campaign) = find_visible(change.txn(), actor, id).await?;
    require_stage(&campaign, &NOMINATION_STAGES, "修改慰问对象")?;
    nominator(change.txn(), actor, before.nominated_by).await?;
    if status_of(&before) != Status::Nominated {
        return Err(DomainError::Conflict(
            "只能修改待审核（NOMINATED）的慰问对象".into(),
        ));
    }
    let category = match &p.category_code {
        Some(code) => category_by_code(change.txn(), campaign.id, code).await?,
        None => {
            crate::core::db::find::<category::Entity, _>(change.txn(), before.category_id, "类别").await?
        }
    };
    let kind: RecipientKind = before.kind.parse().unwrap_or(RecipientKind::Person);
    if kind_of_category(&category) != kind {
        return Err(DomainError::validation("categoryCode", "对象类型与类别不符"));
    }
    // Unchanged personal fields are decrypted to re-validate and re-seal the whole record.
    let clear = |enc: &Option<String>| enc.as_deref().map(|e| s.cipher.decrypt(e)).transpose();
    let fields = RecipientFields {
        kind: Some(kind),
        name: p.name.clone().unwrap_or_else(|| before.name.clone()),
        id_number: match p.id_number {
            Some(v) => Some(v),
            None => clear(&before.id_number_enc)?,
        },
        phone: match p.phone {
            Some(v) => Some(v),
            None => clear(&before.phone_enc)?,
        },
        bank_name: p.bank_name.or_else(|| before.bank_name.clone()),
        bank_account: match p.bank_account {
            Some(v) => Some(v),
            None => clear(&before.bank_account_enc)?,
        },
    };
    let valid = validate(&fields, kind)?;
    let sealed = seal(&s.cipher, &valid);
    let mut am: recipient::ActiveModel = before.clone().into();
    am.category_id = Set(category.id);
    am.name = Set(valid.name.clone());
    am.id_number_enc = Set(sealed.id_enc);
    am.id_number_index = Set(sealed.id_index);
    am.id_number_mask = Set(sealed.id_mask);
    am.phone_enc = Set(sealed.phone_enc);
    am.phone_index = Set(sealed.phone_index);
    am.phone_mask = Set(sealed.phone_mask);
    am.bank_name = Set(valid.bank_name.clone());
    am.bank_account_enc = Set(sealed.bank_enc);
    am.bank_account_index = Set(sealed.bank_index);
    am.bank_account_mask = Set(sealed.bank_mask);
    am.dedup_key = Set(sealed.dedup_key);
    am.updated_at = Set(change.now());
    let after = change
        .update_audited_or(&before, am, on_unique(|| duplicate_error(kind)))
        .await?;
    change.commit().await?;
    Ok(after)
}

fn clean_text(field: &'static str, raw: &str, max: usize, required: bool) -> DomainResult<Option<String>> {
    let t = raw.trim();
    if t.is_empty() {
        return if required {
            Err(DomainError::validation(field, "不能为空"))
        } else {
            Ok(None)
        };
    }
    if t.chars().count() > max {
        return Err(DomainError::validation(field, format!("不能超过 {max} 个字符")));
    }
    Ok(Some(t.to_string()))
}

async fn vet(
    s: &Services,
    actor: &Actor,
    id: i64,
    action: &'static str,
    to: Status,
    edit: impl FnOnce(&mut recipient::ActiveModel),
) -> DomainResult<recipient::Model> {
    actor.require(Permission::VetRecipients)?;
    let mut change = Change::begin(&s.db, Some(actor), action).await?;
    let (before, campaign) = find_visible(change.txn(), actor, id).await?;
    require_stage(&campaign, &VETTING_STAGES, "审核慰问对象")?;
    let from = status_of(&before);
    let allowed = match to {
        Status::Verified => from == Status::Nominated,
        Status::Rejected => from != Status::Rejected,
        Status::Nominated => false,
    };
    if !allowed {
        return Err(DomainError::Conflict(
            format!("慰问对象当前状态为 {}，不能执行此操作", from.as_str()).into(),
        ));
    }
    let mut am: recipient::ActiveModel = before.clone().into();
    am.status = Set(to.as_str().into());
    am.vetted_at = Set(Some(change.now()));
    am.vetted_by = Set(Some(actor.user_id));
    am.updated_at = Set(change.now());
    edit(&mut am);
    let after = change.update_audited(&before, am).await?;
    counters::recipient_moved(change.txn(), after.category_id, &before.status, &after.status).await?;
    change.commit().await?;
    Ok(after)
}

pub async fn verify(
    s: &Services,
    actor: &Actor,
    id: i64,
    method: VerificationMethod,
    note: Option<&str>,
) -> DomainResult<recipient::Model> {
    let note = note
        .map(|n| clean_text("note", n, 1000, false))
        .transpose()?
        .flatten();
    vet(s, actor, id, "verifyRecipient", Status::Verified, |am| {
        am.verification_method = Set(Some(method.as_str().into()));
        am.verification_note = Set(note);
        am.rejection_reason = Set(None);
    })
    .await
}

pub async fn reject(s: &Services, actor: &Actor, id: i64, reason: &str) -> DomainResult<recipient::Model> {
    let reason = clean_text("reason", reason, 1000, true)?;
    vet(s, actor, id, "rejectRecipient", Status::Rejected, |am| {
        am.rejection_reason = Set(reason);
    })
    .await
}

/// The clear value of one personal field, for a role that needs it; every reveal is audited
/// (which field, never the value).
pub async fn reveal(s: &Services, actor: &Actor, id: i64, field: PiiField) -> DomainResult<String> {
    actor.require(Permission::RevealPersonalData)?;
    let mut change = Change::begin(&s.db, Some(actor), "revealRecipient").await?;
    let (r, _) = find_visible(change.txn(), actor, id).await?;
    let (enc, name) = match field {
        PiiField::IdNumber => (&r.id_number_enc, "id_number"),
        PiiField::Phone => (&r.phone_enc, "phone"),
        PiiField::BankAccount => (&r.bank_account_enc, "bank_account"),
    };
    let enc = enc.as_deref().ok_or_else(|| DomainError::not_found("该字段"))?;
    let clear = s.cipher.decrypt(enc)?;
    change
        .record(
            "Recipient",
            Some(id.to_string()),
            None,
            Some(&json!({"revealed": name})),
        )
        .await?;
    change.commit().await?;
    Ok(clear)
}
