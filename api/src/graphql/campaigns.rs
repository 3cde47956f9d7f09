//! `Campaign`, `Category`, `CampaignProgress` and the campaign life-cycle operations.
use super::context::{actor, id_of, services};
use super::enums::{CampaignStage, RecipientKind};
use super::errors::ApiResult;
use super::loaders::{CategoriesLoader, FiguresLoader, OrgLoader, SatisfactionLoader, loader};
use super::organizations::Organization;
use super::scalars::{Date, Decimal};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use domain::campaigns::{NewCampaign, NewCategory};
use domain::{DomainError, Money};
use entities::{campaign, category};
use std::sync::Arc;

/// A campaign; its categories are attached when the query that produced it fetched them up
/// front (`with_categories`), otherwise loaded through the DataLoader.
pub struct Campaign(pub campaign::Model, pub Option<Arc<Vec<category::Model>>>);

impl From<campaign::Model> for Campaign {
    fn from(m: campaign::Model) -> Self {
        Campaign(m, None)
    }
}

impl Campaign {
    async fn load_categories(&self, ctx: &Context<'_>) -> ApiResult<Vec<category::Model>> {
        if let Some(cats) = &self.1 {
            return Ok(cats.as_ref().clone());
        }
        let loader = loader::<CategoriesLoader>(ctx);
        Ok(loader.load_one(self.0.id).await?.unwrap_or_default())
    }
}

/// Campaigns for a root field: when the query asks for categories or progress, their
/// categories come in one query now instead of through the DataLoader's batch window.
async fn with_categories(ctx: &Context<'_>, rows: Vec<campaign::Model>) -> ApiResult<Vec<Campaign>> {
    let look = ctx.look_ahead();
    if rows.is_empty() || !(look.field("categories").exists() || look.field("progress").exists()) {
        return Ok(rows.into_iter().map(Campaign::from).collect());
    }
    let ids: Vec<i64> = rows.iter().map(|c| c.id).collect();
    let mut cats = domain::campaigns::categories_of(&services(ctx).db, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|c| {
            let mine = cats.remove(&c.id).unwrap_or_default();
            Campaign(c, Some(Arc::new(mine)))
        })
        .collect())
}

#[Object]
impl Campaign {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn year(&self) -> i32 {
        self.0.year
    }
    async fn budget(&self) -> Decimal {
        Money::from_fen(self.0.budget_fen).into()
    }
    async fn stage(&self) -> CampaignStage {
        domain::campaigns::stage_of(&self.0).into()
    }
    async fn starts_on(&self) -> Date {
        Date(self.0.starts_on)
    }
    async fn deadline(&self) -> Date {
        Date(self.0.deadline)
    }
    async fn policy_refs(&self) -> Vec<String> {
        domain::campaigns::policy_refs(&self.0)
    }
    /// Visit limits (八项规定: 轻车简从); a visit above them is flagged.
    async fn max_visit_participants(&self) -> Option<i32> {
        self.0.max_visit_participants
    }
    async fn max_visit_vehicles(&self) -> Option<i32> {
        self.0.max_visit_vehicles
    }
    /// Working days allowed between payment and entry into the provincial platform.
    async fn entry_deadline_days(&self) -> i32 {
        self.0.entry_deadline_days
    }
    async fn organization(&self, ctx: &Context<'_>) -> ApiResult<Organization> {
        let loader = loader::<OrgLoader>(ctx);
        loader
            .load_one(self.0.organization_id)
            .await?
            .map(Organization)
            .ok_or_else(|| DomainError::not_found("组织").into())
    }
    async fn categories(&self, ctx: &Context<'_>) -> ApiResult<Vec<Category>> {
        Ok(self
            .load_categories(ctx)
            .await?
            .into_iter()
            .map(Category)
            .collect())
    }
    // Sums over the campaign's money and recipients (batched over a list): counted as ten
    // fields towards the request's complexity.
    #[graphql(complexity = "10 + child_complexity")]
    async fn progress(&self, ctx: &Context<'_>) -> ApiResult<CampaignProgress> {
        let categories = self.load_categories(ctx).await?;
        // Batched: a list of campaigns asking for progress costs one statement.
        let money = loader::<FiguresLoader>(ctx)
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        let mut p = domain::campaigns::progress(&self.0, &categories, &money);
        if ctx.look_ahead().field("satisfactionRate").exists() {
            p.satisfaction_rate = loader::<SatisfactionLoader>(ctx).load_one(self.0.id).await?;
        }
        Ok(CampaignProgress {
            planned_recipients: p.planned_recipients,
            served_recipients: p.served_recipients,
            completion_rate: p.completion_rate(),
            committed: p.committed.into(),
            spent: p.spent.into(),
            execution_rate: p.execution_rate(),
            entry_overdue: p.entry_overdue,
            satisfaction_rate: p.satisfaction_rate,
        })
    }
}

#[derive(SimpleObject)]
pub struct CampaignProgress {
    planned_recipients: i32,
    served_recipients: i32,
    /// served / planned, 0..1
    completion_rate: f64,
    /// planned + approved + paid + confirmed disbursements
    committed: Decimal,
    /// paid + confirmed
    spent: Decimal,
    /// spent / budget, 0..1
    execution_rate: f64,
    entry_overdue: i32,
    satisfaction_rate: Option<f64>,
}

/// A category; its counters are columns of the row (`domain::campaigns::counters`).
pub struct Category(pub category::Model);

#[Object]
impl Category {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn code(&self) -> &str {
        &self.0.code
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn recipient_kind(&self) -> RecipientKind {
        self.0
            .recipient_kind
            .parse::<domain::campaigns::RecipientKind>()
            .unwrap_or(domain::campaigns::RecipientKind::Person)
            .into()
    }
    async fn planned_count(&self) -> i32 {
        self.0.planned_count
    }
    async fn standard_amount(&self) -> Decimal {
        Money::from_fen(self.0.standard_fen).into()
    }
    /// Recipients VERIFIED in this category.
    async fn verified_count(&self) -> i32 {
        self.0.verified_count
    }
    /// Recipients with a PAID or CONFIRMED disbursement.
    async fn served_count(&self) -> i32 {
        self.0.served_count
    }
}

#[derive(InputObject)]
pub struct CreateCampaignInput {
    name: String,
    year: i32,
    budget: Decimal,
    starts_on: Date,
    deadline: Date,
    policy_refs: Option<Vec<String>>,
    /// Owning organisation; the caller's own when absent.
    organization_id: Option<ID>,
    /// Working days for provincial entry after payment (default 30).
    entry_deadline_days: Option<i32>,
}

#[derive(InputObject)]
pub struct CategoryInput {
    code: String,
    name: String,
    recipient_kind: RecipientKind,
    planned_count: i32,
    standard_amount: Decimal,
}

#[derive(Default)]
pub struct CampaignQuery;

#[Object]
impl CampaignQuery {
    async fn campaigns(&self, ctx: &Context<'_>, year: Option<i32>) -> ApiResult<Vec<Campaign>> {
        let s = services(ctx);
        let rows = domain::campaigns::list(&s.db, actor(ctx)?, year).await?;
        with_categories(ctx, rows).await
    }

    /// Null when it does not exist or the caller may not see it.
    async fn campaign(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<Campaign>> {
        let s = services(ctx);
        let actor = actor(ctx)?;
        let Ok(id) = id_of(&id, "项目") else {
            return Ok(None);
        };
        let look = ctx.look_ahead();
        if look.field("categories").exists() || look.field("progress").exists() {
            return match domain::campaigns::get_with_categories(&s.db, actor, id).await {
                Ok((c, cats)) => Ok(Some(Campaign(c, Some(Arc::new(cats))))),
                Err(DomainError::NotFound(_)) => Ok(None),
                Err(e) => Err(e.into()),
            };
        }
        match domain::campaigns::get(&s.db, actor, id).await {
            Ok(c) => Ok(Some(c.into())),
            Err(DomainError::NotFound(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

#[derive(Default)]
pub struct CampaignMutation;

#[Object]
impl CampaignMutation {
    async fn create_campaign(&self, ctx: &Context<'_>, input: CreateCampaignInput) -> ApiResult<Campaign> {
        let s = services(ctx);
        let budget = input.budget.raw();
        let organization_id = input
            .organization_id
            .as_ref()
            .map(|o| id_of(o, "组织"))
            .transpose()?;
        let created = domain::campaigns::create(
            &s.db,
            actor(ctx)?,
            NewCampaign {
                name: &input.name,
                year: input.year,
                budget: &budget,
                starts_on: input.starts_on.0,
                deadline: input.deadline.0,
                policy_refs: input.policy_refs.unwrap_or_default(),
                organization_id,
                entry_deadline_days: input.entry_deadline_days,
            },
        )
        .await?;
        Ok(created.into())
    }

    async fn add_category(
        &self,
        ctx: &Context<'_>,
        campaign_id: ID,
        input: CategoryInput,
    ) -> ApiResult<Category> {
        let s = services(ctx);
        let standard = input.standard_amount.raw();
        let created = domain::campaigns::add_category(
            &s.db,
            actor(ctx)?,
            id_of(&campaign_id, "项目")?,
            NewCategory {
                code: &input.code,
                name: &input.name,
                recipient_kind: input.recipient_kind.into(),
                planned_count: input.planned_count,
                standard_amount: &standard,
            },
        )
        .await?;
        Ok(Category(created))
    }

    /// One stage forward, ADMIN only; anything else is INVALID_STAGE.
    async fn advance_campaign(&self, ctx: &Context<'_>, id: ID, to: CampaignStage) -> ApiResult<Campaign> {
        let s = services(ctx);
        let updated = domain::campaigns::advance(&s.db, actor(ctx)?, id_of(&id, "项目")?, to.into()).await?;
        Ok(updated.into())
    }
}
