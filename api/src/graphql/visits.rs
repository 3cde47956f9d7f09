//! Visits (走访慰问) and the campaign's 八项规定 limits: `setVisitLimits`, `recordVisit`, `visits`.
use super::aid::Recipient;
use super::campaigns::Campaign;
use super::context::{actor, id_of, services};
use super::errors::ApiResult;
use super::scalars::Date;
use async_graphql::{Context, ID, InputObject, Object};
use domain::DomainError;
use domain::visits::{self as rules, NewVisit, VisitRecord};

pub struct Visit(VisitRecord);

#[Object]
impl Visit {
    async fn id(&self) -> ID {
        ID(self.0.visit.id.to_string())
    }
    async fn visited_on(&self) -> Date {
        Date(self.0.visit.visited_on)
    }
    async fn team(&self) -> &str {
        &self.0.visit.team
    }
    async fn participants(&self) -> i32 {
        self.0.visit.participants
    }
    async fn vehicles(&self) -> i32 {
        self.0.visit.vehicles
    }
    async fn note(&self) -> Option<&str> {
        self.0.visit.note.as_deref()
    }
    /// Above a limit of the campaign when it was recorded.
    async fn flagged(&self) -> bool {
        self.0.visit.flagged
    }
    /// The campaign's current limits this visit exceeds: PARTICIPANTS_OVER_LIMIT,
    /// VEHICLES_OVER_LIMIT.
    async fn reasons(&self) -> Vec<String> {
        self.0.reasons.iter().map(|r| r.as_str().to_string()).collect()
    }
    async fn recipients(&self) -> Vec<Recipient> {
        self.0
            .recipients
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(Recipient::from)
            .collect()
    }
}

#[derive(InputObject)]
pub struct VisitInput {
    campaign_id: ID,
    visited_on: Date,
    /// 1–200 characters, e.g. "县总工会慰问组".
    team: String,
    /// At least 1.
    participants: i32,
    vehicles: i32,
    /// 1–500 recipients of the campaign; duplicates count once.
    recipient_ids: Vec<ID>,
    note: Option<String>,
}

/// Recipient ids are checked as one input: a malformed one is VALIDATION on `recipientIds`.
fn recipient_ids(ids: &[ID]) -> ApiResult<Vec<i64>> {
    ids.iter()
        .map(|id| {
            domain::pagination::parse_id(id.as_str(), "慰问对象")
                .map_err(|_| DomainError::validation("recipientIds", "走访对象须为本项目的慰问对象").into())
        })
        .collect()
}

#[derive(Default)]
pub struct VisitQuery;

#[Object]
impl VisitQuery {
    /// A campaign's visits, newest first; everyone but GRASSROOTS.
    async fn visits(
        &self,
        ctx: &Context<'_>,
        campaign_id: ID,
        flagged_only: Option<bool>,
    ) -> ApiResult<Vec<Visit>> {
        let s = services(ctx);
        let actor = actor(ctx)?;
        let with_recipients = ctx.look_ahead().field("recipients").exists();
        let rows = rules::visits(
            s,
            actor,
            id_of(&campaign_id, "项目")?,
            flagged_only.unwrap_or(false),
            with_recipients,
        )
        .await?;
        Ok(rows.into_iter().map(Visit).collect())
    }
}

#[derive(Default)]
pub struct VisitMutation;

#[Object]
impl VisitMutation {
    /// ADMIN: sets both limits; an absent or null value removes that limit.
    async fn set_visit_limits(
        &self,
        ctx: &Context<'_>,
        campaign_id: ID,
        max_participants: Option<i32>,
        max_vehicles: Option<i32>,
    ) -> ApiResult<Campaign> {
        let s = services(ctx);
        let actor = actor(ctx)?;
        let updated = rules::set_visit_limits(
            s,
            actor,
            id_of(&campaign_id, "项目")?,
            max_participants,
            max_vehicles,
        )
        .await?;
        Ok(updated.into())
    }

    /// CASEWORKER, ADMIN, while the campaign is in DISTRIBUTION or REVIEW. A visit above a limit
    /// is recorded and flagged, not refused.
    async fn record_visit(&self, ctx: &Context<'_>, input: VisitInput) -> ApiResult<Visit> {
        let s = services(ctx);
        let actor = actor(ctx)?;
        let new = NewVisit {
            campaign_id: id_of(&input.campaign_id, "项目")?,
            visited_on: input.visited_on.0,
            team: input.team,
            participants: input.participants,
            vehicles: input.vehicles,
            recipient_ids: recipient_ids(&input.recipient_ids)?,
            note: input.note,
        };
        Ok(Visit(rules::record_visit(s, actor, new).await?))
    }
}
