//! Entry reminders (`reminders`): ADMIN, CASEWORKER, AUDITOR; newest first. Written by the
//! daily ENTRY_REMINDERS job (`domain::reminders`).
use super::campaigns::Campaign;
use super::context::{actor, id_of, services};
use super::enums::ReminderLevel;
use super::errors::ApiResult;
use super::loaders::{CampaignLoader, loader};
use super::scalars::Date;
use async_graphql::{Context, ID, Object};
use domain::DomainError;
use entities::reminder;

pub struct Reminder(pub reminder::Model);

#[Object]
impl Reminder {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn campaign(&self, ctx: &Context<'_>) -> ApiResult<Campaign> {
        loader::<CampaignLoader>(ctx)
            .load_one(self.0.campaign_id)
            .await?
            .map(Campaign::from)
            .ok_or_else(|| DomainError::not_found("项目").into())
    }
    async fn level(&self) -> ReminderLevel {
        domain::reminders::level_of(&self.0).into()
    }
    async fn created_on(&self) -> Date {
        Date(self.0.created_on)
    }
    async fn disbursement_count(&self) -> i32 {
        self.0.disbursement_count
    }
    async fn earliest_deadline(&self) -> Date {
        Date(self.0.earliest_deadline)
    }
}

#[derive(Default)]
pub struct ReminderQuery;

#[Object]
impl ReminderQuery {
    /// A campaign's entry reminders, newest first. ADMIN, CASEWORKER, AUDITOR.
    async fn reminders(&self, ctx: &Context<'_>, campaign_id: ID) -> ApiResult<Vec<Reminder>> {
        let id = id_of(&campaign_id, "项目")?;
        Ok(domain::reminders::list(services(ctx), actor(ctx)?, id)
            .await?
            .into_iter()
            .map(Reminder)
            .collect())
    }
}
