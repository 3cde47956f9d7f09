//! Reports (`generateReport`, `report`): thin resolvers over `domain::reports`. The file itself
//! is served by `GET /files/{id}` (`http::file`). `report` is never kept (`answers::NEVER_KEPT`):
//! its status is its job's, and `jobs` is not tracked by `data_version`.
use super::context::{actor, id_of, services};
use super::enums::JobStatus;
use super::errors::ApiResult;
use async_graphql::{Context, Enum, ID, Object};
use domain::reports::ReportView;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "ReportKind", remote = "domain::reports::ReportKind")]
pub enum ReportKind {
    EvaluationReport,
    Ledger,
    ProvincialExport,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "ReportFormat", remote = "domain::reports::ReportFormat")]
pub enum ReportFormat {
    Docx,
    Xlsx,
    Markdown,
}

pub struct Report(pub ReportView);

#[Object]
impl Report {
    async fn id(&self) -> ID {
        ID(self.0.report.id.to_string())
    }
    async fn kind(&self) -> ReportKind {
        self.0.kind.into()
    }
    async fn format(&self) -> ReportFormat {
        self.0.format.into()
    }
    async fn status(&self) -> JobStatus {
        self.0.status.into()
    }
    /// Set when DONE; GET it with the same bearer token.
    async fn download_url(&self) -> Option<String> {
        self.0.download_url()
    }
    /// Why the job failed (FAILED), or its last failure while it is retried.
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
}

#[derive(Default)]
pub struct ReportQuery;

#[Object]
impl ReportQuery {
    /// A report of a campaign the caller may read; null when there is none.
    async fn report(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<Report>> {
        let id = id_of(&id, "报表")?;
        match domain::reports::get(services(ctx), actor(ctx)?, id).await {
            Ok(v) => Ok(Some(Report(v))),
            Err(domain::DomainError::NotFound(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

#[derive(Default)]
pub struct ReportMutation;

#[Object]
impl ReportMutation {
    /// QUEUED; the worker writes the file. EVALUATION_REPORT (DOCX, MARKDOWN): EVALUATOR;
    /// LEDGER (XLSX): FINANCE, EVALUATOR; PROVINCIAL_EXPORT (XLSX, personal data in clear):
    /// CASEWORKER, FINANCE; ADMIN all.
    async fn generate_report(
        &self,
        ctx: &Context<'_>,
        campaign_id: ID,
        kind: ReportKind,
        format: ReportFormat,
    ) -> ApiResult<Report> {
        let campaign_id = id_of(&campaign_id, "项目")?;
        Ok(Report(
            domain::reports::generate(
                services(ctx),
                actor(ctx)?,
                campaign_id,
                kind.into(),
                format.into(),
            )
            .await?,
        ))
    }
}
