//! `auditLog` and `verifyAuditChain` (ADMIN, AUDITOR).
use super::context::PageInfo;
use super::context::{actor, services};
use super::errors::ApiResult;
use super::loaders::{UserLoader, loader};
use super::users::User;
use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use domain::audit::AuditFilter;
use entities::audit_log;

/// What one `verifyAuditChain` counts towards `schema::MAX_COMPLEXITY` (it reads every audit row).
pub const VERIFY_CHAIN_COMPLEXITY: usize = 400;

pub struct AuditEntry(pub audit_log::Model);

#[Object]
impl AuditEntry {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
    async fn actor(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        let Some(uid) = self.0.actor_id else {
            return Ok(None);
        };
        let loader = loader::<UserLoader>(ctx);
        Ok(loader.load_one(uid).await?.map(User::from))
    }
    /// The operation's name, e.g. "createCampaign".
    async fn action(&self) -> &str {
        &self.0.action
    }
    async fn target_type(&self) -> &str {
        &self.0.target_type
    }
    async fn target_id(&self) -> Option<&str> {
        self.0.target_id.as_deref()
    }
    /// JSON: `{"field": {"before": …, "after": …}}`, personal data masked.
    async fn diff(&self) -> Option<&str> {
        self.0.diff.as_deref()
    }
}

#[derive(SimpleObject)]
pub struct AuditEntryEdge {
    cursor: String,
    node: AuditEntry,
}

#[derive(SimpleObject)]
pub struct AuditEntryConnection {
    edges: Vec<AuditEntryEdge>,
    page_info: PageInfo,
    total_count: i32,
}

#[derive(SimpleObject)]
pub struct AuditChainReport {
    ok: bool,
    checked: i32,
    first_broken_id: Option<ID>,
}

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// Newest first. ADMIN, AUDITOR.
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 50)] first: Option<i32>,
        after: Option<String>,
        target_type: Option<String>,
        target_id: Option<String>,
        action: Option<String>,
    ) -> ApiResult<AuditEntryConnection> {
        let s = services(ctx);
        let filter = AuditFilter {
            target_type,
            target_id,
            action,
        };
        let page = domain::audit::list(
            &s.db,
            actor(ctx)?,
            &filter,
            super::context::page_args(ctx, first, after.as_deref()),
        )
        .await?;
        let (edges, page_info, total_count) = super::context::connection(
            page,
            |e| e.id,
            |cursor, e| AuditEntryEdge {
                cursor,
                node: AuditEntry(e),
            },
        );
        Ok(AuditEntryConnection {
            edges,
            page_info,
            total_count,
        })
    }

    // Reads and hashes the whole audit log, so its cost grows with the data: counted as
    // `VERIFY_CHAIN_COMPLEXITY` towards the request's limit, which allows two per request.
    #[graphql(complexity = "VERIFY_CHAIN_COMPLEXITY + child_complexity")]
    async fn verify_audit_chain(&self, ctx: &Context<'_>) -> ApiResult<AuditChainReport> {
        let s = services(ctx);
        let r = domain::audit::verify_chain(&s.db, actor(ctx)?).await?;
        Ok(AuditChainReport {
            ok: r.ok,
            checked: r.checked.min(i32::MAX as u64) as i32,
            first_broken_id: r.first_broken_id.map(|i| ID(i.to_string())),
        })
    }
}
