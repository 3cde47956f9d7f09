//! Background jobs as operators see them: `jobs` (ADMIN, AUDITOR; newest first) and `retryJob`
//! (ADMIN; a FAILED job back to QUEUED). The answer is never kept (`answers::NEVER_KEPT`): the
//! `jobs` table changes at every claim and is not tracked by `data_version`.
use super::context::{PageInfo, actor, connection, id_of, page_args, services};
use super::enums::JobStatus;
use super::errors::ApiResult;
use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use domain::jobs::JobFilter;
use entities::job;

pub struct Job(pub job::Model);

#[Object]
impl Job {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    async fn status(&self) -> JobStatus {
        domain::jobs::status_of(&self.0).into()
    }
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    async fn max_attempts(&self) -> i32 {
        self.0.max_attempts
    }
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    async fn target(&self) -> Option<&str> {
        self.0.target.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

#[derive(SimpleObject)]
pub struct JobEdge {
    cursor: String,
    node: Job,
}

#[derive(SimpleObject)]
pub struct JobConnection {
    edges: Vec<JobEdge>,
    page_info: PageInfo,
    total_count: i32,
}

#[derive(Default)]
pub struct JobQuery;

#[Object]
impl JobQuery {
    /// Newest first. ADMIN, AUDITOR.
    async fn jobs(
        &self,
        ctx: &Context<'_>,
        kind: Option<String>,
        status: Option<JobStatus>,
        #[graphql(default = 50)] first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<JobConnection> {
        let filter = JobFilter {
            kind,
            status: status.map(Into::into),
        };
        let page = domain::jobs::list(
            services(ctx),
            actor(ctx)?,
            &filter,
            page_args(ctx, first, after.as_deref()),
        )
        .await?;
        let (edges, page_info, total_count) =
            connection(page, |j| j.id, |cursor, j| JobEdge { cursor, node: Job(j) });
        Ok(JobConnection {
            edges,
            page_info,
            total_count,
        })
    }
}

#[derive(Default)]
pub struct JobMutation;

#[Object]
impl JobMutation {
    /// ADMIN; a FAILED job only (else CONFLICT); back to QUEUED with its attempts reset.
    async fn retry_job(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Job> {
        let id = id_of(&id, "任务")?;
        Ok(Job(domain::jobs::retry(services(ctx), actor(ctx)?, id).await?))
    }
}
