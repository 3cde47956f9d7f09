//! `importRecipients`: a spreadsheet (xlsx, or csv in UTF-8 / UTF-8 BOM / GBK) of nominations.
//! Valid rows are imported, every invalid row is reported with its spreadsheet row number,
//! field and a zh-CN message. The file is read row by row on a blocking thread and handed to
//! the database in batches through a bounded channel, so memory does not grow with the file.
use crate::core::error::{DomainError, DomainResult};
use crate::core::services::Services;
use crate::people::access::{Actor, Permission, Scope};
use crate::people::audit::Change;
use crate::plan::campaign as campaigns;
use crate::plan::categories::RecipientKind;
use crate::plan::counters;
use crate::plan::stages::require_stage;
use crate::recipients::fields::{RecipientFields, ValidFields, seal, validate};
use crate::recipients::rules::{NOMINATION_STAGES, kind_of_category, new_row};
use entities::{category, organization, recipient};
use sea_orm::{ColumnTrait, DbBackend, EntityTrait, QueryFilter, QuerySelect};
use serde_json::json;
use sheet::{self, Column, SheetRow};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

/// Invalid rows reported in full; beyond this only counted (a hostile file cannot make the
/// answer arbitrarily large).
pub const MAX_REPORTED_ERRORS: usize = 1000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportRowError {
    pub row: u32,
    /// The spreadsheet column (English header name), when one field is at fault.
    pub field: Option<&'static str>,
    pub message: String,
}

#[derive(Clone, Debug, Default)]
pub struct ImportReport {
    pub imported: u32,
    pub rejected: u32,
    pub errors: Vec<ImportRowError>,
}

/// What the reading thread needs to judge a row without touching the database.
struct RowRules {
    categories: HashMap<String, category::Model>,
    /// Visible organisations by name (a name may occur under several parents).
    orgs: HashMap<String, Vec<i64>>,
    /// De-duplication keys already in the campaign.
    existing: HashSet<String>,
    campaign: entities::campaign::Model,
    actor_id: i64,
    now: chrono::DateTime<chrono::Utc>,
}

fn column_of(domain_field: Option<&str>) -> Option<&'static str> {
    Some(match domain_field? {
        "name" => "name",
        "idNumber" => "id_number",
        "phone" => "phone",
        "bankName" => "bank_name",
        "bankAccount" => "bank_account",
        "kind" => "kind",
        "categoryCode" => "category_code",
        _ => return None,
    })
}

fn parse_kind(raw: &str) -> Option<RecipientKind> {
    match raw.trim().to_ascii_uppercase().as_str() {
        "PERSON" | "个人" | "人员" => Some(RecipientKind::Person),
        "UNIT" | "单位" => Some(RecipientKind::Unit),
        _ => None,
    }
}

type RowResult = Result<recipient::ActiveModel, ImportRowError>;

/// Judges one row; `seen` maps the de-duplication keys of earlier valid rows to their rows.
fn judge(s: &Services, rules: &RowRules, seen: &mut HashMap<String, u32>, r: &SheetRow) -> RowResult {
    let err = |field: Option<&'static str>, message: String| ImportRowError {
        row: r.row,
        field,
        message,
    };
    let code = r
        .get(Column::CategoryCode)
        .ok_or_else(|| err(Some("category_code"), "类别编码不能为空".into()))?;
    let category = rules.categories.get(code.trim()).ok_or_else(|| {
        err(
            Some("category_code"),
            format!("该项目没有类别编码“{}”", truncate(code)),
        )
    })?;
    let kind = match r.get(Column::Kind) {
        Some(k) => {
            parse_kind(k).ok_or_else(|| err(Some("kind"), "类型应为 PERSON/个人 或 UNIT/单位".into()))?
        }
        None => kind_of_category(category),
    };
    if kind != kind_of_category(category) {
        return Err(err(Some("kind"), "对象类型与类别不符".into()));
    }
    let fields = RecipientFields {
        kind: Some(kind),
        name: r.get(Column::Name).unwrap_or_default().to_string(),
        id_number: r.get(Column::IdNumber).map(String::from),
        phone: r.get(Column::Phone).map(String::from),
        bank_name: r.get(Column::BankName).map(String::from),
        bank_account: r.get(Column::BankAccount).map(String::from),
    };
    let valid: ValidFields = validate(&fields, kind).map_err(|e| {
        let field = match &e {
            DomainError::InvalidIdNumber(_) => Some("id_number"),
            other => column_of(other.field()),
        };
        err(field, e.to_string())
    })?;
    let org_name = r
        .get(Column::NominatedBy)
        .ok_or_else(|| err(Some("nominated_by"), "推荐单位不能为空".into()))?;
    let org = match rules.orgs.get(org_name.trim()).map(Vec::as_slice) {
        Some([one]) => *one,
        Some([_, _, ..]) => {
            return Err(err(
                Some("nominated_by"),
                "推荐单位名称不唯一，请联系管理员".into(),
            ));
        }
        _ => {
            return Err(err(
                Some("nominated_by"),
                format!("推荐单位“{}”不存在或不在本单位范围内", truncate(org_name)),
            ));
        }
    };
    let sealed = seal(&s.cipher, &valid);
    let dup_field = Some(if kind == RecipientKind::Person {
        "id_number"
    } else {
        "name"
    });
    if rules.existing.contains(&sealed.dedup_key) {
        return Err(err(dup_field, "已在本项目中登记（不漏不重）".into()));
    }
    if let Some(first) = seen.get(&sealed.dedup_key) {
        return Err(err(dup_field, format!("与第 {first} 行重复（不漏不重）")));
    }
    seen.insert(sealed.dedup_key.clone(), r.row);
    Ok(new_row(
        &rules.campaign,
        category,
        &valid,
        sealed,
        org,
        rules.actor_id,
        rules.now,
    ))
}

/// Echoes a short piece of a bad cell in a message (names and codes only, never personal data).
fn truncate(s: &str) -> String {
    s.chars().take(30).collect()
}

pub async fn import_file(
    s: &Services,
    actor: &Actor,
    campaign_id: i64,
    path: PathBuf,
) -> DomainResult<ImportReport> {
    actor.require(Permission::NominateRecipients)?;
    let mut change = Change::begin(&s.db, Some(actor), "importRecipients").await?;
    let campaign = campaigns::find_visible(change.txn(), actor, campaign_id).await?;
    require_stage(&campaign, &NOMINATION_STAGES, "导入慰问对象")?;
    let categories = category::Entity::find()
        .filter(category::Column::CampaignId.eq(campaign.id))
        .all(change.txn())
        .await?
        .into_iter()
        .map(|c| (c.code.clone(), c))
        .collect();
    let mut org_q = organization::Entity::find();
    if let Scope::Subtree(prefix) = actor.scope() {
        org_q = org_q.filter(organization::Column::Path.starts_with(prefix));
    }
    let mut orgs: HashMap<String, Vec<i64>> = HashMap::new();
    for o in org_q.all(change.txn()).await? {
        orgs.entry(o.name).or_default().push(o.id);
    }
    // Every mutation holds the audit-chain lock, so no nomination can slip in between this
    // read and the inserts below.
    let existing: HashSet<String> = recipient::Entity::find()
        .select_only()
        .column(recipient::Column::DedupKey)
        .filter(recipient::Column::CampaignId.eq(campaign.id))
        .into_tuple::<String>()
        .all(change.txn())
        .await?
        .into_iter()
        .collect();
    let rules = RowRules {
        categories,
        orgs,
        existing,
        campaign: campaign.clone(),
        actor_id: actor.user_id,
        now: change.now(),
    };

    let (tx, mut rx) = tokio::sync::mpsc::channel::<recipient::ActiveModel>(2048);
    let services = s.clone();
    let reader = tokio::task::spawn_blocking(move || {
        let mut seen: HashMap<String, u32> = HashMap::new();
        let mut errors: Vec<ImportRowError> = Vec::new();
        let mut rejected = 0u32;
        let result = sheet::read_file(&path, |row: SheetRow| -> Result<(), ()> {
            match judge(&services, &rules, &mut seen, &row) {
                Ok(model) => tx.blocking_send(model).map_err(|_| ()),
                Err(e) => {
                    rejected += 1;
                    if errors.len() < MAX_REPORTED_ERRORS {
                        errors.push(e);
                    }
                    Ok(())
                }
            }
        });
        (result.map(|_| ()), rejected, errors)
    });

    // SQLite allows 32766 bound values per statement, PostgreSQL 65535: 27 columns a row.
    let batch_size = match s.db.get_database_backend() {
        DbBackend::Sqlite => 1000,
        _ => 2000,
    };
    let mut batch = Vec::with_capacity(batch_size);
    let mut imported = 0u32;
    let mut write_error = None;
    while let Some(model) = rx.recv().await {
        batch.push(model);
        if batch.len() >= batch_size {
            imported += batch.len() as u32;
            if let Err(e) = recipient::Entity::insert_many(std::mem::take(&mut batch))
                .exec_without_returning(change.txn())
                .await
            {
                write_error = Some(e);
                break;
            }
        }
    }
    // Dropping the receiver stops the reader if a write failed.
    drop(rx);
    if write_error.is_none() && !batch.is_empty() {
        imported += batch.len() as u32;
        if let Err(e) = recipient::Entity::insert_many(batch)
            .exec_without_returning(change.txn())
            .await
        {
            write_error = Some(e);
        }
    }
    let (read, rejected, mut errors) = reader.await.map_err(DomainError::internal)?;
    if let Some(e) = write_error {
        return Err(e.into());
    }
    match read {
        Ok(()) => {}
        Err(sheet::ReadError::Sheet(e)) => return Err(DomainError::validation("file", e.to_string())),
        Err(sheet::ReadError::Callback(())) => {
            return Err(DomainError::internal(anyhow::anyhow!(
                "import writer stopped early"
            )));
        }
    }
    errors.sort_by_key(|e| e.row);
    counters::recount(change.txn(), campaign.id).await?;
    change
        .record(
            "Campaign",
            Some(campaign.id.to_string()),
            None,
            Some(&json!({"import": {"imported": imported, "rejected": rejected}})),
        )
        .await?;
    change.commit().await?;
    tracing::info!(campaign = campaign.id, imported, rejected, "recipients imported");
    Ok(ImportReport {
        imported,
        rejected,
        errors,
    })
}
