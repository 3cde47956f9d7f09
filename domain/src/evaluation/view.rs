//! The evaluation as answered (`Evaluation`) and as the reports read it: the step, every
//! indicator with its weight, score and what it measured, the total and grade, the narratives,
//! and the figures they come from (frozen once ARCHIVED).
use crate::core::error::{DomainError, DomainResult};
use crate::core::services::Services;
use crate::evaluation::figures::{Figures, compute};
use crate::evaluation::indicators::{
    Grade, IndicatorScore, default_entries, entries_of, score_all, total_centi,
};
use crate::evaluation::narratives::{Narrative, of_campaign};
use crate::evaluation::state::{State, Step, has_evaluation, state_of};
use crate::people::access::{Actor, Permission};
use crate::plan::campaign::find_visible;
use entities::{campaign, evaluation_indicator};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

/// A campaign's evaluation, complete.
#[derive(Clone, Debug)]
pub struct Evaluation {
    /// The campaign's id (one evaluation per campaign; also the evaluation's id).
    pub campaign_id: i64,
    pub campaign: campaign::Model,
    pub step: Step,
    /// Every indicator in report order: first-level ones with their children after them.
    pub indicators: Vec<IndicatorScore>,
    pub total_centi: i64,
    pub grade: Grade,
    /// The sections written so far, in report order (none before SCORING).
    pub narratives: Vec<Narrative>,
    pub figures: Figures,
}

impl Evaluation {
    pub fn total_score(&self) -> f64 {
        self.total_centi as f64 / 100.0
    }
    /// The indicator with this code.
    pub fn indicator(&self, code: &str) -> Option<&IndicatorScore> {
        self.indicators.iter().find(|i| i.code == code)
    }
}

/// `evaluation(campaignId)`: None before the campaign's REVIEW (and when the caller may not
/// see the campaign: `campaign(id)` answers null then too). Whoever reads all reads it.
pub async fn evaluation(s: &Services, actor: &Actor, campaign_id: i64) -> DomainResult<Option<Evaluation>> {
    actor.require(Permission::ReadEvaluation)?;
    let campaign = match find_visible(&s.db, actor, campaign_id).await {
        Ok(c) => c,
        Err(DomainError::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    if !has_evaluation(&campaign) {
        return Ok(None);
    }
    Ok(Some(evaluation_of(&s.db, campaign).await?))
}

/// The evaluation of a campaign in REVIEW or later, without an access check (report jobs,
/// benchmarks: the caller has checked who asks).
pub async fn evaluation_of<C: ConnectionTrait>(
    db: &C,
    campaign: campaign::Model,
) -> DomainResult<Evaluation> {
    let state = state_of(db, campaign).await?;
    build(db, state).await
}

async fn build<C: ConnectionTrait>(db: &C, state: State) -> DomainResult<Evaluation> {
    let frozen: Option<Figures> = state
        .row
        .as_ref()
        .and_then(|r| r.figures.as_deref())
        .map(serde_json::from_str)
        .transpose()
        .map_err(DomainError::internal)?;
    let figures = match frozen {
        Some(f) => f,
        None => compute(db, &state.campaign, chrono::Utc::now().date_naive()).await?,
    };
    let entries = if state.row.is_some() {
        let rows = evaluation_indicator::Entity::find()
            .filter(evaluation_indicator::Column::CampaignId.eq(state.campaign.id))
            .all(db)
            .await?;
        entries_of(&rows)
    } else {
        default_entries()
    };
    let indicators = score_all(&entries, &figures);
    let total = total_centi(&indicators);
    let narratives = of_campaign(db, state.campaign.id).await?;
    Ok(Evaluation {
        campaign_id: state.campaign.id,
        campaign: state.campaign,
        step: state.step,
        indicators,
        total_centi: total,
        grade: Grade::of_centi(total),
        narratives,
        figures,
    })
}
