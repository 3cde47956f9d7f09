//! `generateReport`, `report(id)` and the download behind `GET /files/{id}`.
//!
//! A request writes the report row and its REPORT job (the outbox) in one audited transaction,
//! so a report exists exactly when its job does; the worker writes the file
//! (`reports::job::run`). The report's status is its job's: QUEUED → RUNNING → DONE, or
//! FAILED with the reason (`lastError`), visible in `jobs` too.
use crate::core::error::{DomainError, DomainResult};
use crate::core::outbox::{self, JobStatus, NewJob, kinds};
use crate::core::services::Services;
use crate::people::access::Actor;
use crate::people::audit::{Audited, Change};
use crate::plan::campaign::find_visible;
use crate::reports::files;
use crate::reports::rules::{self, ReportFormat, ReportKind};
use entities::{job, report};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::json;
use std::path::PathBuf;

/// Attempts before a report job is FAILED (a file that cannot be made rarely gets better).
pub const MAX_ATTEMPTS: i32 = 3;

impl Audited for report::Model {
    const TARGET: &'static str = "Report";
    fn audit_id(&self) -> String {
        self.id.to_string()
    }
    fn snapshot(&self) -> serde_json::Value {
        json!({
            "campaign_id": self.campaign_id, "kind": self.kind, "format": self.format,
            "job_id": self.job_id, "file_name": self.file_name, "size_bytes": self.size_bytes,
            "sha256": self.sha256,
        })
    }
}

/// A report as the API shows it: the row and its job's status.
#[derive(Clone, Debug)]
pub struct ReportView {
    pub report: report::Model,
    pub kind: ReportKind,
    pub format: ReportFormat,
    pub status: JobStatus,
    /// The job's reason when FAILED (or the last failure while retried).
    pub error: Option<String>,
}

impl ReportView {
    /// `/files/{id}` when the file is ready.
    pub fn download_url(&self) -> Option<String> {
        (self.status == JobStatus::Done && self.report.file_path.is_some())
            .then(|| format!("/files/{}", self.report.id))
    }
}

fn kind_of(r: &report::Model) -> DomainResult<(ReportKind, ReportFormat)> {
    let bad = || DomainError::internal(anyhow::anyhow!("报表 {} 的类型无效", r.id));
    Ok((
        r.kind.parse().map_err(|_| bad())?,
        r.format.parse().map_err(|_| bad())?,
    ))
}

async fn view<C: ConnectionTrait>(db: &C, r: report::Model) -> DomainResult<ReportView> {
    let (kind, format) = kind_of(&r)?;
    let j = match r.job_id {
        Some(id) => job::Entity::find_by_id(id).one(db).await?,
        None => None,
    };
    let (status, error) = match j {
        Some(j) => (j.status.parse().unwrap_or(JobStatus::Queued), j.last_error),
        None => (JobStatus::Failed, Some("任务缺失".into())),
    };
    // The job records the file on the row before it is marked DONE: a row read just before
    // that and a job read just after is read again.
    let r = if status == JobStatus::Done && r.file_path.is_none() {
        report::Entity::find_by_id(r.id).one(db).await?.unwrap_or(r)
    } else {
        r
    };
    Ok(ReportView {
        report: r,
        kind,
        format,
        status,
        error,
    })
}

/// Queues a report of `kind` in `format` for a campaign the caller may read.
pub async fn generate(
    s: &Services,
    actor: &Actor,
    campaign_id: i64,
    kind: ReportKind,
    format: ReportFormat,
) -> DomainResult<ReportView> {
    rules::may_generate(actor, kind, format)?;
    let mut change = Change::begin(&s.db, Some(actor), "generateReport").await?;
    find_visible(change.txn(), actor, campaign_id).await?;
    let now = change.now();
    let row = report::ActiveModel {
        campaign_id: Set(campaign_id),
        kind: Set(kind.as_str().into()),
        format: Set(format.as_str().into()),
        job_id: Set(None),
        requested_by: Set(actor.user_id),
        created_at: Set(now),
        ..Default::default()
    };
    let inserted = report::Entity::insert(row).exec(change.txn()).await?;
    let id = inserted.last_insert_id;
    let key = format!("report:{id}");
    outbox::enqueue(
        change.txn(),
        NewJob {
            kind: kinds::REPORT,
            target: Some(key.clone()),
            idempotency_key: key.clone(),
            max_attempts: MAX_ATTEMPTS,
        },
        now,
    )
    .await?;
    let job_id: Option<i64> = job::Entity::find()
        .filter(job::Column::IdempotencyKey.eq(key.as_str()))
        .one(change.txn())
        .await?
        .map(|j| j.id);
    report::Entity::update_many()
        .col_expr(report::Column::JobId, Expr::value(job_id))
        .filter(report::Column::Id.eq(id))
        .exec(change.txn())
        .await?;
    let created = report::Entity::find_by_id(id)
        .one(change.txn())
        .await?
        .ok_or_else(|| DomainError::internal(anyhow::anyhow!("报表行缺失")))?;
    // The audit entry names the report with its job; for the provincial export it is the
    // record that clear personal data was asked for.
    change.audit_insert(&created).await?;
    let v = view(change.txn(), created).await?;
    change.commit().await?;
    outbox::wake();
    Ok(v)
}

/// A report of a campaign the caller may read (NOT_FOUND otherwise), of a kind it may read
/// (FORBIDDEN otherwise).
async fn find_readable(s: &Services, actor: &Actor, id: i64) -> DomainResult<report::Model> {
    let r = report::Entity::find_by_id(id)
        .one(&s.db)
        .await?
        .ok_or_else(|| DomainError::not_found("报表"))?;
    find_visible(&s.db, actor, r.campaign_id)
        .await
        .map_err(|_| DomainError::not_found("报表"))?;
    let (kind, _) = kind_of(&r)?;
    if !rules::may_read(actor, kind) {
        return Err(DomainError::forbidden());
    }
    Ok(r)
}

/// `report(id)`.
pub async fn get(s: &Services, actor: &Actor, id: i64) -> DomainResult<ReportView> {
    let r = find_readable(s, actor, id).await?;
    view(&s.db, r).await
}

/// A file ready to send.
#[derive(Clone, Debug)]
pub struct Download {
    pub path: PathBuf,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
}

/// The file of report `id` for `GET /files/{id}`: the same rules as `report(id)`, and the file
/// must be written (NOT_FOUND before). A download of clear personal data is audited.
pub async fn download(s: &Services, actor: &Actor, id: i64) -> DomainResult<Download> {
    let r = find_readable(s, actor, id).await?;
    let v = view(&s.db, r).await?;
    let (Some(rel), Some(name), true) = (
        v.report.file_path.as_deref(),
        v.report.file_name.as_deref(),
        v.status == JobStatus::Done,
    ) else {
        return Err(DomainError::not_found("报表文件（尚未生成）"));
    };
    let path = files::absolute(&s.settings.data_dir, rel)?;
    if !path.is_file() {
        return Err(DomainError::not_found("报表文件"));
    }
    if v.kind.reveals_personal_data() {
        let mut change = Change::begin(&s.db, Some(actor), "downloadReport").await?;
        change
            .record(
                report::Model::TARGET,
                Some(v.report.id.to_string()),
                None,
                Some(&json!({"downloaded": name, "sha256": v.report.sha256})),
            )
            .await?;
        change.commit().await?;
    }
    Ok(Download {
        path,
        file_name: name.to_string(),
        content_type: v.format.content_type().to_string(),
        size: v.report.size_bytes.unwrap_or(0),
    })
}
