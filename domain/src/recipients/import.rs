//! `importRecipients`: a spreadsheet (xlsx, or csv in UTF-8 / UTF-8 BOM / GBK) of nominations.
//! Valid rows are imported, every invalid row is reported with its spreadsheet row number,
//! field and a zh-CN message.
//!
//! **Sharing the database.** The file is judged row by row on a blocking thread (validation,
//! sealing, in-file duplicates) and written in batches of [`batch_size`] rows, each batch its own
//! transaction: it takes the writers' lock (`Change::begin`), inserts, moves the counters, appends
//! one audit entry naming the batch's recipients, and commits. Other writers therefore wait for
//! at most one batch, not for the whole file. A duplicate of a recipient already in the campaign
//! is found by the insert itself (`ON CONFLICT (campaign_id, dedup_key) DO NOTHING RETURNING`,
//! on the unique index), so a nomination of the same ID number that lands between two batches
//! makes that row an invalid row, never a second recipient.
//!
//! **What a file may be.** `sheet` checks the whole file (size, rows, shared strings, inflated
//! size, shape) before it delivers a row, so a file over a limit or unreadable is refused before
//! anything is written, at the point the limit is crossed.
//!
//! **A failure midway** (the database gone, the campaign moved out of SCREENING by another user,
//! the server stopping) ends the import with that error. Batches already committed stay, each
//! complete: its rows, its counter moves and its audit entry were one transaction, so the
//! counters are exact and the audit log names every imported recipient. The failing batch leaves
//! nothing. Importing the same file again finishes the job: the rows already imported are then
//! reported as duplicates (不漏不重), the rest imported. The audit entry of the last batch carries
//! the totals (`"total"`); an import without it did not finish.
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
use chrono::SubsecRound;
use entities::{category, organization, recipient};
use sea_orm::sea_query::{OnConflict, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryTrait};
use serde_json::json;
use sheet::{self, Column, SheetRow};
use std::collections::{BTreeMap, HashMap, HashSet};
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

/// Rows written per transaction: the most a writer queued behind an import waits for. With
/// 2000, a writer waited up to 1.3 s while compilers shared the two cores
/// (`bench/import_wait.sh`); a quarter of that keeps it well under a second. The cost is ~8
/// statements a batch. Within the bound values a statement may carry on both
/// databases (27 columns a row: SQLite 32766, PostgreSQL 65535).
pub fn batch_size(_backend: DbBackend) -> usize {
    500
}

/// What the reading thread needs to judge a row without touching the database.
struct RowRules {
    categories: HashMap<String, category::Model>,
    /// Visible organisations by name (a name may occur under several parents).
    orgs: HashMap<String, Vec<i64>>,
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

/// A row that passed every check the file alone can answer; the database decides the rest.
struct Candidate {
    row: u32,
    /// The column a duplicate is reported on (ID number for people, name for units).
    dup_field: &'static str,
    dedup_key: String,
    model: recipient::ActiveModel,
}

type RowResult = Result<Candidate, ImportRowError>;

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
    let dup_field = if kind == RecipientKind::Person {
        "id_number"
    } else {
        "name"
    };
    if let Some(first) = seen.get(&sealed.dedup_key) {
        return Err(err(Some(dup_field), format!("与第 {first} 行重复（不漏不重）")));
    }
    seen.insert(sealed.dedup_key.clone(), r.row);
    let dedup_key = sealed.dedup_key.clone();
    Ok(Candidate {
        row: r.row,
        dup_field,
        dedup_key,
        model: new_row(
            &rules.campaign,
            category,
            &valid,
            sealed,
            org,
            rules.actor_id,
            rules.now,
        ),
    })
}

/// "已在本项目中登记": the row's recipient is in the campaign already (before the import, or
/// nominated while it ran).
fn already_registered(c: &Candidate) -> ImportRowError {
    ImportRowError {
        row: c.row,
        field: Some(c.dup_field),
        message: "已在本项目中登记（不漏不重）".into(),
    }
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
    // The rules rows are judged by, read without the writers' lock: each batch checks the
    // campaign again under it, and the unique index decides duplicates.
    let campaign = campaigns::find_visible(&s.db, actor, campaign_id).await?;
    require_stage(&campaign, &NOMINATION_STAGES, "导入慰问对象")?;
    let categories = category::Entity::find()
        .filter(category::Column::CampaignId.eq(campaign.id))
        .all(&s.db)
        .await?
        .into_iter()
        .map(|c| (c.code.clone(), c))
        .collect();
    let mut org_q = organization::Entity::find();
    if let Scope::Subtree(prefix) = actor.scope() {
        org_q = org_q.filter(organization::Column::Path.starts_with(prefix));
    }
    let mut orgs: HashMap<String, Vec<i64>> = HashMap::new();
    for o in org_q.all(&s.db).await? {
        orgs.entry(o.name).or_default().push(o.id);
    }
    let rules = RowRules {
        categories,
        orgs,
        campaign: campaign.clone(),
        actor_id: actor.user_id,
        now: chrono::Utc::now().trunc_subsecs(6),
    };

    let size = batch_size(s.db.get_database_backend());
    // The reader runs at most a batch ahead of the writer: memory stays at two batches.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Candidate>(size);
    let services = s.clone();
    let reader = tokio::task::spawn_blocking(move || {
        // In-file duplicates: a key per valid row (≤ sheet::MAX_ROWS keys of ~70 bytes).
        let mut seen: HashMap<String, u32> = HashMap::new();
        let mut errors: Vec<ImportRowError> = Vec::new();
        let mut rejected = 0u32;
        let result = sheet::read_file(&path, |row: SheetRow| -> Result<(), ()> {
            match judge(&services, &rules, &mut seen, &row) {
                Ok(candidate) => tx.blocking_send(candidate).map_err(|_| ()),
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

    let mut tally = Tally::default();
    let mut batch = Vec::with_capacity(size);
    loop {
        let next = rx.recv().await;
        let done = next.is_none();
        batch.extend(next);
        if batch.len() < size && !done {
            continue;
        }
        if !done {
            if let Err(e) = write_batch(
                s,
                actor,
                campaign.id,
                std::mem::take(&mut batch),
                &mut tally,
                false,
            )
            .await
            {
                // Dropping the receiver stops the reader at its next row.
                drop(rx);
                let _ = reader.await;
                return Err(e);
            }
            continue;
        }
        // The reader has finished: its verdict on the file, then the last batch with the totals.
        let (read, rejected, errors) = reader.await.map_err(DomainError::internal)?;
        match read {
            Ok(()) => {}
            Err(sheet::ReadError::Sheet(e)) => return Err(DomainError::validation("file", e.to_string())),
            Err(sheet::ReadError::Callback(())) => {
                return Err(DomainError::internal(anyhow::anyhow!(
                    "import writer stopped early"
                )));
            }
        }
        tally.rejected += rejected;
        tally.errors.extend(errors);
        write_batch(
            s,
            actor,
            campaign.id,
            std::mem::take(&mut batch),
            &mut tally,
            true,
        )
        .await?;
        break;
    }
    let mut errors = tally.errors;
    errors.sort_by_key(|e| e.row);
    errors.truncate(MAX_REPORTED_ERRORS);
    tracing::info!(
        campaign = campaign.id,
        imported = tally.imported,
        rejected = tally.rejected,
        batches = tally.batches,
        "recipients imported"
    );
    Ok(ImportReport {
        imported: tally.imported,
        rejected: tally.rejected,
        errors,
    })
}

/// What the batches written so far add up to.
#[derive(Default)]
struct Tally {
    imported: u32,
    rejected: u32,
    batches: u32,
    /// Invalid rows (the reader's and the duplicates the database found), in no order yet.
    errors: Vec<ImportRowError>,
}

/// Writes one batch in its own transaction under the writers' lock: the rows whose key is not
/// yet in the campaign, their categories' counters, and an audit entry naming them. `last`
/// marks the final batch (possibly empty), whose entry carries the import's totals.
async fn write_batch(
    s: &Services,
    actor: &Actor,
    campaign_id: i64,
    batch: Vec<Candidate>,
    tally: &mut Tally,
    last: bool,
) -> DomainResult<()> {
    let mut change = Change::begin(&s.db, Some(actor), "importRecipients").await?;
    // Another user may have moved the campaign on since the last batch.
    let campaign = campaigns::find_visible(change.txn(), actor, campaign_id).await?;
    require_stage(&campaign, &NOMINATION_STAGES, "导入慰问对象")?;
    let rows = batch.first().map(|c| c.row).zip(batch.last().map(|c| c.row));
    let inserted = insert_new(change.txn(), &batch).await?;
    let mut per_category: BTreeMap<i64, i32> = BTreeMap::new();
    let mut keys: HashSet<&str> = HashSet::with_capacity(inserted.len());
    let mut ids: Vec<i64> = Vec::with_capacity(inserted.len());
    for (id, category_id, key) in &inserted {
        *per_category.entry(*category_id).or_default() += 1;
        keys.insert(key);
        ids.push(*id);
    }
    let duplicates: Vec<ImportRowError> = batch
        .iter()
        .filter(|c| !keys.contains(c.dedup_key.as_str()))
        .map(already_registered)
        .collect();
    for (category_id, n) in per_category {
        counters::recipients_added(change.txn(), category_id, n).await?;
    }
    let imported = tally.imported + inserted.len() as u32;
    let rejected = tally.rejected + duplicates.len() as u32;
    let mut entry = json!({
        "batch": tally.batches + 1,
        "rows": rows.map(|(first, last)| [first, last]),
        "imported": inserted.len(),
        "duplicates": duplicates.len(),
        "recipientIds": id_runs(ids),
    });
    if last {
        entry["total"] = json!({"imported": imported, "rejected": rejected});
    }
    change
        .record(
            "Campaign",
            Some(campaign_id.to_string()),
            None,
            Some(&json!({ "import": entry })),
        )
        .await?;
    change.commit().await?;
    tally.imported = imported;
    tally.rejected = rejected;
    tally.batches += 1;
    tally.errors.extend(duplicates);
    Ok(())
}

/// Inserts the candidates, skipping those whose key the campaign already holds (the unique
/// index on `(campaign_id, dedup_key)` decides, so a concurrent nomination cannot slip between
/// a look-up and the insert); returns `(id, category_id, dedup_key)` of the rows written.
async fn insert_new<C: ConnectionTrait>(
    db: &C,
    batch: &[Candidate],
) -> DomainResult<Vec<(i64, i64, String)>> {
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    let mut insert = recipient::Entity::insert_many(batch.iter().map(|c| c.model.clone())).into_query();
    insert
        .on_conflict(
            OnConflict::columns([recipient::Column::CampaignId, recipient::Column::DedupKey])
                .do_nothing()
                .to_owned(),
        )
        .returning(Query::returning().columns([
            recipient::Column::Id,
            recipient::Column::CategoryId,
            recipient::Column::DedupKey,
        ]));
    db.query_all(&insert)
        .await?
        .into_iter()
        .map(|r| {
            Ok((
                r.try_get::<i64>("", "id")?,
                r.try_get::<i64>("", "category_id")?,
                r.try_get::<String>("", "dedup_key")?,
            ))
        })
        .collect()
}

/// Ids as `[first, last]` runs: a batch's ids are one run unless the sequence was shared.
fn id_runs(mut ids: Vec<i64>) -> Vec<[i64; 2]> {
    ids.sort_unstable();
    let mut runs: Vec<[i64; 2]> = Vec::new();
    for id in ids {
        match runs.last_mut() {
            Some(run) if run[1] + 1 == id => run[1] = id,
            _ => runs.push([id, id]),
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::id_runs;

    #[test]
    fn ids_are_written_as_runs() {
        assert_eq!(id_runs(vec![]), Vec::<[i64; 2]>::new());
        assert_eq!(id_runs(vec![7, 5, 6, 10, 9, 12]), vec![[5, 7], [9, 10], [12, 12]]);
    }
}
