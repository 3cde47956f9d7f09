//! What operators see of the background jobs: `jobs` (ADMIN, AUDITOR; newest first) and
//! `retryJob` (ADMIN; a FAILED job back to QUEUED with its attempts reset, audited).
use crate::core::error::{DomainError, DomainResult};
use crate::core::outbox::{self, JobStatus};
use crate::core::pagination::{self, Lead, Page, PageArgs};
use crate::core::services::Services;
use crate::people::access::{Actor, Permission};
use crate::people::audit::{Audited, Change};
use entities::job;
use sea_orm::{ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter};
use serde_json::json;

pub fn status_of(j: &job::Model) -> JobStatus {
    j.status.parse().unwrap_or(JobStatus::Queued)
}

impl Audited for job::Model {
    const TARGET: &'static str = "Job";
    fn audit_id(&self) -> String {
        self.id.to_string()
    }
    fn snapshot(&self) -> serde_json::Value {
        json!({
            "kind": self.kind, "target": self.target, "status": self.status,
            "attempts": self.attempts, "max_attempts": self.max_attempts, "last_error": self.last_error,
        })
    }
}

#[derive(Clone, Debug, Default)]
pub struct JobFilter {
    pub kind: Option<String>,
    pub status: Option<JobStatus>,
}

/// Newest first.
pub async fn list(
    s: &Services,
    actor: &Actor,
    filter: &JobFilter,
    page: PageArgs<'_>,
) -> DomainResult<Page<job::Model>> {
    actor.require(Permission::ReadJobs)?;
    // A filtered page walks `(status, id)` or `(kind, id)` (migration m20260109) from the
    // cursor down; the other filter, when both are given, is checked on the rows walked.
    let mut cond = Condition::all();
    let lead = match (filter.status, &filter.kind) {
        (Some(st), kind) => {
            if let Some(k) = kind {
                cond = cond.add(job::Column::Kind.eq(k.as_str()));
            }
            Some(Lead::new(job::Column::Status, st.as_str()))
        }
        (None, Some(k)) => Some(Lead::new(job::Column::Kind, k.as_str())),
        (None, None) => None,
    };
    pagination::fetch(
        &s.db,
        job::Entity::find().filter(cond),
        lead,
        job::Column::Id,
        page,
        true,
    )
    .await
}

/// A FAILED job back to QUEUED, due now, its attempts and error cleared (CONFLICT otherwise).
pub async fn retry(s: &Services, actor: &Actor, id: i64) -> DomainResult<job::Model> {
    actor.require(Permission::ManageJobs)?;
    let mut change = Change::begin(&s.db, Some(actor), "retryJob").await?;
    let before = crate::core::db::find::<job::Entity, _>(change.txn(), id, "任务").await?;
    if status_of(&before) != JobStatus::Failed {
        return Err(DomainError::Conflict(
            format!(
                "任务 #{} 当前为 {}，只有失败的任务可以重试",
                before.id, before.status
            )
            .into(),
        ));
    }
    let now = change.now();
    let mut am: job::ActiveModel = before.clone().into();
    am.status = Set(JobStatus::Queued.as_str().into());
    am.attempts = Set(0);
    am.last_error = Set(None);
    am.run_at = Set(now);
    am.locked_by = Set(None);
    am.locked_until = Set(None);
    am.updated_at = Set(now);
    let after = change.update_audited(&before, am).await?;
    change.commit().await?;
    outbox::wake();
    Ok(after)
}
