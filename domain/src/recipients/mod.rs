//! Recipients (慰问对象): nomination by grassroots unions and the help centre, vetting,
//! de-duplication ("不漏不重"), encrypted personal data with masked answers, 冒领 warning flags,
//! earlier help (history) and scoped, paginated lists.
pub mod import;

use crate::Services;
use crate::access::{Actor, Permission, Scope};
use crate::audit::Change;
use crate::campaigns::{self, RecipientKind, Stage, stage_of};
use crate::crypto::{FieldCipher, PiiField};
use crate::error::{DomainError, DomainResult, on_unique};
use crate::identity::{self, BankAccount, IdNumber, Phone};
use crate::organizations;
use crate::pagination::{self, Page, PageArgs};
use entities::{campaign, category, disbursement, organization, recipient};
use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DerivePartialModel,
    EntityTrait, QueryFilter, QuerySelect,
};
use serde_json::json;
use std::collections::HashMap;

crate::codes::coded_enum! {
    pub enum Status {
        Nominated = "NOMINATED",
        Verified = "VERIFIED",
        Rejected = "REJECTED",
    }
}

pub fn status_of(r: &recipient::Model) -> Status {
    r.status.parse().unwrap_or(Status::Nominated)
}

crate::codes::coded_enum! {
    /// 入户走访 / 数据比对 / 信息核实
    pub enum VerificationMethod {
        HomeVisit = "HOME_VISIT",
        DataCheck = "DATA_CHECK",
        InfoCheck = "INFO_CHECK",
    }
}

/// Nominations are taken while recipients are screened.
const NOMINATION_STAGES: [Stage; 1] = [Stage::Screening];
/// Vetting may continue while goods are procured.
const VETTING_STAGES: [Stage; 2] = [Stage::Screening, Stage::Procurement];

fn require_stage(c: &campaign::Model, allowed: &[Stage], what: &str) -> DomainResult<()> {
    let s = stage_of(c);
    if allowed.contains(&s) {
        Ok(())
    } else {
        Err(DomainError::InvalidStage(
            format!("项目处于“{}”阶段，不能{what}", s.label()).into(),
        ))
    }
}

/// A recipient's fields as a client sent them.
#[derive(Clone, Debug, Default)]
pub struct RecipientFields {
    pub kind: Option<RecipientKind>,
    pub name: String,
    pub id_number: Option<String>,
    pub phone: Option<String>,
    pub bank_name: Option<String>,
    pub bank_account: Option<String>,
}

/// Validated fields, personal data in clear (never logged, never stored as such).
pub struct ValidFields {
    pub kind: RecipientKind,
    pub name: String,
    pub id_number: Option<IdNumber>,
    pub phone: Option<Phone>,
    pub bank_name: Option<String>,
    pub bank_account: Option<BankAccount>,
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The shape rules of a recipient: a PERSON has a valid ID number, a UNIT has none.
pub fn validate(f: &RecipientFields, kind: RecipientKind) -> DomainResult<ValidFields> {
    let name = identity::person_name(&f.name)?;
    let id_number = match (kind, non_empty(&f.id_number)) {
        (RecipientKind::Person, Some(raw)) => Some(IdNumber::parse(raw)?),
        (RecipientKind::Person, None) => {
            return Err(DomainError::validation(
                "idNumber",
                "个人慰问对象必须填写身份证号码",
            ));
        }
        (RecipientKind::Unit, Some(_)) => {
            return Err(DomainError::validation(
                "idNumber",
                "单位慰问对象不填写身份证号码",
            ));
        }
        (RecipientKind::Unit, None) => None,
    };
    let phone = non_empty(&f.phone).map(Phone::parse).transpose()?;
    let bank_account = non_empty(&f.bank_account).map(BankAccount::parse).transpose()?;
    let bank_name = match non_empty(&f.bank_name) {
        Some(b) if b.chars().count() > 100 || b.chars().any(char::is_control) => {
            return Err(DomainError::validation(
                "bankName",
                "开户行名称不能超过 100 个字符",
            ));
        }
        Some(b) => Some(b.to_string()),
        None => None,
    };
    Ok(ValidFields {
        kind,
        name,
        id_number,
        phone,
        bank_name,
        bank_account,
    })
}

/// Encrypted, indexed and masked form of the personal fields, plus the de-duplication key.
pub struct Sealed {
    pub id_enc: Option<String>,
    pub id_index: Option<String>,
    pub id_mask: Option<String>,
    pub phone_enc: Option<String>,
    pub phone_index: Option<String>,
    pub phone_mask: Option<String>,
    pub bank_enc: Option<String>,
    pub bank_index: Option<String>,
    pub bank_mask: Option<String>,
    pub dedup_key: String,
}

pub fn seal(cipher: &FieldCipher, v: &ValidFields) -> Sealed {
    let id = v.id_number.as_ref().map(|i| i.as_str());
    let phone = v.phone.as_ref().map(|p| p.as_str());
    let bank = v.bank_account.as_ref().map(|b| b.as_str());
    let id_index = id.map(|i| cipher.blind_index(PiiField::IdNumber, i));
    Sealed {
        id_enc: id.map(|i| cipher.encrypt(i)),
        id_mask: id.map(identity::mask_id_number),
        phone_enc: phone.map(|p| cipher.encrypt(p)),
        phone_index: phone.map(|p| cipher.blind_index(PiiField::Phone, p)),
        phone_mask: phone.map(identity::mask_phone),
        bank_enc: bank.map(|b| cipher.encrypt(b)),
        bank_index: bank.map(|b| cipher.blind_index(PiiField::BankAccount, b)),
        bank_mask: bank.map(identity::mask_bank_account),
        dedup_key: match &id_index {
            Some(ix) => format!("P:{ix}"),
            None => format!("U:{}", v.name),
        },
        id_index,
    }
}

/// What the audit log keeps of a recipient: masks only.
fn snapshot(r: &recipient::Model) -> serde_json::Value {
    json!({
        "campaign_id": r.campaign_id, "category_id": r.category_id, "kind": r.kind, "name": r.name,
        "id_number": r.id_number_mask, "phone": r.phone_mask, "bank_name": r.bank_name,
        "bank_account": r.bank_account_mask, "nominated_by": r.nominated_by, "status": r.status,
        "verification_method": r.verification_method, "rejection_reason": r.rejection_reason,
    })
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
    let org = crate::db::find::<organization::Entity, _>(db, id, "推荐单位").await?;
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
    let created = new_row(
        &campaign,
        &category,
        &valid,
        sealed,
        org.id,
        actor.user_id,
        change.now(),
    )
    .insert(change.txn())
    .await
    .map_err(on_unique(|| duplicate_error(kind)))?;
    campaigns::counters::recipient_added(change.txn(), category.id).await?;
    change
        .record(
            "Recipient",
            Some(created.id.to_string()),
            None,
            Some(&snapshot(&created)),
        )
        .await?;
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
async fn find_visible<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    id: i64,
) -> DomainResult<(recipient::Model, campaign::Model)> {
    let r = crate::db::find::<recipient::Entity, _>(db, id, "慰问对象").await?;
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
        None => crate::db::find::<category::Entity, _>(change.txn(), before.category_id, "类别").await?,
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
    let after = am
        .update(change.txn())
        .await
        .map_err(on_unique(|| duplicate_error(kind)))?;
    change
        .record(
            "Recipient",
            Some(id.to_string()),
            Some(&snapshot(&before)),
            Some(&snapshot(&after)),
        )
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
    let after = am.update(change.txn()).await?;
    campaigns::counters::recipient_moved(change.txn(), after.category_id, &before.status, &after.status)
        .await?;
    change
        .record(
            "Recipient",
            Some(id.to_string()),
            Some(&snapshot(&before)),
            Some(&snapshot(&after)),
        )
        .await?;
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

#[derive(Clone, Debug, Default)]
pub struct RecipientFilter {
    pub category_code: Option<String>,
    pub status: Option<Status>,
    pub nominated_by: Option<i64>,
    /// A name prefix, or an exact ID number (matched through the blind index).
    pub search: Option<String>,
    /// Only recipients carrying a 冒领 warning flag (or only those without).
    pub flagged: Option<bool>,
}

/// Shares a bank account or phone with a recipient of another identity in the same campaign.
/// Plain SQL that reads the same on PostgreSQL and SQLite.
const FLAGGED_SQL: &str = "EXISTS (SELECT 1 FROM recipients r2 WHERE r2.campaign_id = recipients.campaign_id \
     AND r2.dedup_key <> recipients.dedup_key \
     AND ((r2.bank_account_index = recipients.bank_account_index) OR (r2.phone_index = recipients.phone_index)))";

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// A recipient as answers show it: masks, never the sealed values or their indexes. Lists read
/// only these columns (half the row, and the widest half).
#[derive(Clone, Debug, PartialEq, Eq, DerivePartialModel)]
#[sea_orm(entity = "recipient::Entity", from_query_result)]
pub struct RecipientView {
    pub id: i64,
    pub campaign_id: i64,
    pub category_id: i64,
    pub kind: String,
    pub name: String,
    pub id_number_mask: Option<String>,
    pub phone_mask: Option<String>,
    pub bank_name: Option<String>,
    pub bank_account_mask: Option<String>,
    pub nominated_by: i64,
    pub status: String,
    pub verification_method: Option<String>,
    pub verification_note: Option<String>,
    pub rejection_reason: Option<String>,
}

impl RecipientView {
    pub fn status(&self) -> Status {
        self.status.parse().unwrap_or(Status::Nominated)
    }
}

impl From<recipient::Model> for RecipientView {
    fn from(m: recipient::Model) -> Self {
        RecipientView {
            id: m.id,
            campaign_id: m.campaign_id,
            category_id: m.category_id,
            kind: m.kind,
            name: m.name,
            id_number_mask: m.id_number_mask,
            phone_mask: m.phone_mask,
            bank_name: m.bank_name,
            bank_account_mask: m.bank_account_mask,
            nominated_by: m.nominated_by,
            status: m.status,
            verification_method: m.verification_method,
            verification_note: m.verification_note,
            rejection_reason: m.rejection_reason,
        }
    }
}

/// One page of a campaign's recipients, ordered by id, with the filter's total.
pub async fn list(
    s: &Services,
    actor: &Actor,
    campaign_id: i64,
    filter: &RecipientFilter,
    page: PageArgs<'_>,
) -> DomainResult<Page<RecipientView>> {
    actor.require(Permission::ReadRecipients)?;
    let mut cond = Condition::all().add(recipient::Column::CampaignId.eq(campaign_id));
    if let Scope::Subtree(prefix) = actor.scope() {
        cond = cond.add(recipient::Column::NominatedBy.in_subquery(organizations::subtree_ids(&prefix)));
    }
    if let Some(code) = &filter.category_code {
        cond = cond.add(
            recipient::Column::CategoryId.in_subquery(campaigns::category_ids_with_code(campaign_id, code)),
        );
    }
    if let Some(st) = filter.status {
        cond = cond.add(recipient::Column::Status.eq(st.as_str()));
    }
    if let Some(org) = filter.nominated_by {
        cond = cond.add(recipient::Column::NominatedBy.eq(org));
    }
    if let Some(q) = filter.search.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        if q.chars().count() > 50 {
            return Err(DomainError::validation("search", "搜索内容不能超过 50 个字符"));
        }
        match IdNumber::parse(q) {
            Ok(id) => {
                cond = cond.add(
                    recipient::Column::IdNumberIndex
                        .eq(s.cipher.blind_index(PiiField::IdNumber, id.as_str())),
                )
            }
            Err(_) => {
                cond = cond.add(
                    recipient::Column::Name.like(LikeExpr::new(format!("{}%", escape_like(q))).escape('\\')),
                )
            }
        }
    }
    match filter.flagged {
        Some(true) => cond = cond.add(Expr::cust(FLAGGED_SQL)),
        Some(false) => cond = cond.add(Expr::cust(format!("NOT {FLAGGED_SQL}"))),
        None => {}
    }
    // The campaign's visibility rides in the page's own statements; only an empty page needs
    // a look at the campaign, to tell "nothing here" from "no such campaign".
    if let Some(visible) = campaigns::visible_subquery(&actor.scope(), campaign_id) {
        cond = cond.add(recipient::Column::CampaignId.in_subquery(visible));
    }
    // The whole list (or one category of it) of a caller who sees every recipient is sized by
    // the category counters instead of counting rows: it is the list's default view.
    let by_counters = page.with_total
        && actor.scope() == Scope::All
        && filter.status.is_none()
        && filter.nominated_by.is_none()
        && filter.search.as_deref().is_none_or(|q| q.trim().is_empty())
        && filter.flagged.is_none();
    let total = async {
        if by_counters {
            campaigns::counters::recipients_in(&s.db, campaign_id, filter.category_code.as_deref())
                .await
                .map(Some)
        } else {
            Ok(None)
        }
    };
    let rows = pagination::fetch(
        &s.db,
        recipient::Entity::find().filter(cond),
        recipient::Column::Id,
        PageArgs {
            with_total: page.with_total && !by_counters,
            ..page
        },
        false,
    );
    let (mut page, total) = futures::try_join!(rows, total)?;
    if by_counters {
        page.total = total;
    }
    if page.items.is_empty() {
        campaigns::find_visible(&s.db, actor, campaign_id).await?;
    }
    Ok(page)
}

/// Warning flags of a page of recipients, in two grouped queries (no N+1).
pub async fn flags_of(
    s: &Services,
    rows: &[recipient::Model],
) -> DomainResult<HashMap<i64, Vec<&'static str>>> {
    let mut out: HashMap<i64, Vec<&'static str>> = HashMap::new();
    let campaigns: Vec<i64> = rows.iter().map(|r| r.campaign_id).collect();
    for (col, flag) in [
        (recipient::Column::BankAccountIndex, "SHARED_BANK_ACCOUNT"),
        (recipient::Column::PhoneIndex, "SHARED_PHONE"),
    ] {
        let get = |r: &recipient::Model| match col {
            recipient::Column::BankAccountIndex => r.bank_account_index.clone(),
            _ => r.phone_index.clone(),
        };
        let keys: Vec<String> = rows.iter().filter_map(get).collect();
        if keys.is_empty() {
            continue;
        }
        let shared: Vec<(i64, String, i64)> = recipient::Entity::find()
            .select_only()
            .column(recipient::Column::CampaignId)
            .column(col)
            .column_as(Expr::col(recipient::Column::DedupKey).count_distinct(), "n")
            .filter(recipient::Column::CampaignId.is_in(campaigns.clone()))
            .filter(col.is_in(keys))
            .group_by(recipient::Column::CampaignId)
            .group_by(col)
            .into_tuple()
            .all(&s.db)
            .await?;
        let shared: HashMap<(i64, String), i64> = shared.into_iter().map(|(c, k, n)| ((c, k), n)).collect();
        for r in rows {
            if let Some(k) = get(r)
                && shared.get(&(r.campaign_id, k)).copied().unwrap_or(0) > 1
            {
                out.entry(r.id).or_default().push(flag);
            }
        }
    }
    Ok(out)
}

/// A person's record in an earlier campaign.
#[derive(Clone, Debug)]
pub struct HistoryEntry {
    pub campaign: campaign::Model,
    pub category_name: String,
    pub status: Status,
    /// Paid or confirmed in that campaign.
    pub helped: bool,
}

/// Earlier campaigns (starting before this one) in which the same ID number was nominated,
/// among the campaigns the caller may read (`campaigns::visible_condition`): a GRASSROOTS
/// caller learns nothing of a campaign `campaign(id)` refuses it, not even its name.
pub async fn history_of(
    s: &Services,
    scope: &Scope,
    rows: &[recipient::Model],
) -> DomainResult<HashMap<i64, Vec<HistoryEntry>>> {
    let indexes: Vec<String> = rows.iter().filter_map(|r| r.id_number_index.clone()).collect();
    let mut out: HashMap<i64, Vec<HistoryEntry>> = HashMap::new();
    if indexes.is_empty() {
        return Ok(out);
    }
    let others = recipient::Entity::find()
        .filter(recipient::Column::IdNumberIndex.is_in(indexes))
        .all(&s.db)
        .await?;
    let campaign_ids: Vec<i64> = others.iter().chain(rows).map(|r| r.campaign_id).collect();
    let mut visible = campaign::Entity::find().filter(campaign::Column::Id.is_in(campaign_ids));
    if let Some(cond) = campaigns::visible_condition(scope) {
        visible = visible.filter(cond);
    }
    // Entries whose campaign is not here are left out below.
    let campaigns: HashMap<i64, campaign::Model> =
        visible.all(&s.db).await?.into_iter().map(|c| (c.id, c)).collect();
    let category_ids: Vec<i64> = others.iter().map(|r| r.category_id).collect();
    let categories: HashMap<i64, String> = category::Entity::find()
        .filter(category::Column::Id.is_in(category_ids))
        .all(&s.db)
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    let other_ids: Vec<i64> = others.iter().map(|r| r.id).collect();
    let helped: std::collections::HashSet<i64> = disbursement::Entity::find()
        .select_only()
        .column(disbursement::Column::RecipientId)
        .filter(disbursement::Column::RecipientId.is_in(other_ids))
        .filter(disbursement::Column::Status.is_in(["PAID", "CONFIRMED"]))
        .into_tuple::<i64>()
        .all(&s.db)
        .await?
        .into_iter()
        .collect();
    for r in rows {
        let Some(ix) = &r.id_number_index else { continue };
        let Some(mine) = campaigns.get(&r.campaign_id) else {
            continue;
        };
        let mut entries: Vec<HistoryEntry> = others
            .iter()
            .filter(|o| o.id_number_index.as_ref() == Some(ix) && o.campaign_id != r.campaign_id)
            .filter_map(|o| {
                let c = campaigns.get(&o.campaign_id)?;
                (c.starts_on < mine.starts_on).then(|| HistoryEntry {
                    campaign: c.clone(),
                    category_name: categories.get(&o.category_id).cloned().unwrap_or_default(),
                    status: status_of(o),
                    helped: helped.contains(&o.id),
                })
            })
            .collect();
        entries.sort_by_key(|e| std::cmp::Reverse(e.campaign.starts_on));
        out.insert(r.id, entries);
    }
    Ok(out)
}

/// Ids of the recipients nominated inside the subtree under `prefix`, as a sub-query.
pub(crate) fn nominated_within(prefix: &str) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(recipient::Column::Id)
        .from(recipient::Entity)
        .and_where(recipient::Column::NominatedBy.in_subquery(organizations::subtree_ids(prefix)))
        .to_owned()
}

/// Batch load by id (DataLoader for `Disbursement.recipient`); the caller's scope applies as
/// at the root (`find_visible`): a scoped caller gets what its subtree nominated in a campaign
/// it may read, in one statement.
pub async fn load_many(
    s: &Services,
    scope: &Scope,
    ids: &[i64],
) -> DomainResult<HashMap<i64, recipient::Model>> {
    let mut q = recipient::Entity::find().filter(recipient::Column::Id.is_in(ids.iter().copied()));
    if let Scope::Subtree(prefix) = scope {
        q = q.filter(recipient::Column::NominatedBy.in_subquery(organizations::subtree_ids(prefix)));
    }
    if let Some(visible) = campaigns::visible_ids(scope) {
        q = q.filter(recipient::Column::CampaignId.in_subquery(visible));
    }
    Ok(q.all(&s.db).await?.into_iter().map(|r| (r.id, r)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persons_need_an_id_number_units_must_not_have_one() {
        let person = RecipientFields {
            name: "张三".into(),
            ..Default::default()
        };
        assert_eq!(
            validate(&person, RecipientKind::Person).err().unwrap().field(),
            Some("idNumber")
        );
        let unit = RecipientFields {
            name: "富民县公安局".into(),
            id_number: Some("11010519491231002X".into()),
            ..Default::default()
        };
        assert_eq!(
            validate(&unit, RecipientKind::Unit).err().unwrap().field(),
            Some("idNumber")
        );
        let bad = RecipientFields {
            name: "张三".into(),
            id_number: Some("110105194912310021".into()),
            ..Default::default()
        };
        assert_eq!(
            validate(&bad, RecipientKind::Person).err().unwrap().code(),
            "INVALID_ID_NUMBER"
        );
    }

    #[test]
    fn sealed_values_hide_the_clear_text() {
        let keys = crate::settings::Keys::derive(b"0123456789abcdef0123456789abcdef");
        let cipher = FieldCipher::new(&keys);
        let v = validate(
            &RecipientFields {
                name: "张三".into(),
                id_number: Some("11010519491231002x".into()),
                phone: Some("13800138000".into()),
                bank_account: Some("6222020200001234567".into()),
                ..Default::default()
            },
            RecipientKind::Person,
        )
        .unwrap();
        let s = seal(&cipher, &v);
        for enc in [&s.id_enc, &s.phone_enc, &s.bank_enc] {
            let enc = enc.as_ref().unwrap();
            assert!(
                !enc.contains("11010519491231002X")
                    && !enc.contains("13800138000")
                    && !enc.contains("6222020200001234567")
            );
        }
        assert_eq!(s.id_mask.as_deref(), Some("1101**********002X"));
        assert_eq!(s.phone_mask.as_deref(), Some("138****8000"));
        assert_eq!(s.bank_mask.as_deref(), Some("**** 4567"));
        assert_eq!(
            cipher.decrypt(s.id_enc.as_ref().unwrap()).unwrap(),
            "11010519491231002X"
        );
        assert!(s.dedup_key.starts_with("P:"));
    }
}
