//! The evaluation's steps (准备 → 实施 → 评价 → 反馈 → 归档) and the one check that an operation is
//! allowed in the current step (`require_open`). The evaluation follows the campaign: it does
//! not exist before the campaign's REVIEW stage; from then on it is PREPARING until the first
//! `advanceEvaluation` writes its row (`evaluations`, keyed by the campaign).
use crate::core::error::{DomainError, DomainResult};
use crate::people::access::Actor;
use crate::people::audit::Audited;
use crate::plan::campaign::find_visible;
use crate::plan::stages::{Stage, stage_of};
use entities::{campaign, evaluation};
use sea_orm::{ConnectionTrait, EntityTrait};
use serde_json::json;

crate::core::codes::coded_enum! {
    #[derive(PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
    pub enum Step {
        Preparing = "PREPARING",
        Fieldwork = "FIELDWORK",
        Scoring = "SCORING",
        Feedback = "FEEDBACK",
        Archived = "ARCHIVED",
    }
}

impl Step {
    pub fn label(self) -> &'static str {
        match self {
            Step::Preparing => "准备",
            Step::Fieldwork => "实施",
            Step::Scoring => "评价",
            Step::Feedback => "反馈",
            Step::Archived => "归档",
        }
    }

    pub fn next(self) -> Option<Step> {
        let i = Step::ALL.iter().position(|s| *s == self)?;
        Step::ALL.get(i + 1).copied()
    }
}

/// Sampling and surveys: 实施 through 反馈.
pub const FIELD_STEPS: [Step; 3] = [Step::Fieldwork, Step::Scoring, Step::Feedback];
/// Scores and narratives: 评价 through 反馈.
pub const SCORING_STEPS: [Step; 2] = [Step::Scoring, Step::Feedback];

impl Audited for evaluation::Model {
    const TARGET: &'static str = "Evaluation";
    fn audit_id(&self) -> String {
        self.campaign_id.to_string()
    }
    fn snapshot(&self) -> serde_json::Value {
        // The frozen figures are large and derived: the log records that they were frozen.
        json!({"campaign_id": self.campaign_id, "step": self.step, "frozen": self.figures.is_some()})
    }
}

/// A campaign's evaluation as stored: the campaign, its row (none before the first change) and
/// its step.
#[derive(Clone, Debug)]
pub struct State {
    pub campaign: campaign::Model,
    pub row: Option<evaluation::Model>,
    pub step: Step,
}

/// Whether the campaign has an evaluation at all (REVIEW and after).
pub fn has_evaluation(c: &campaign::Model) -> bool {
    stage_of(c) >= Stage::Review
}

/// The evaluation of a campaign the caller may see; INVALID_STAGE before the campaign's REVIEW.
pub async fn load<C: ConnectionTrait>(db: &C, actor: &Actor, campaign_id: i64) -> DomainResult<State> {
    let campaign = find_visible(db, actor, campaign_id).await?;
    if !has_evaluation(&campaign) {
        return Err(DomainError::InvalidStage(
            format!(
                "项目处于“{}”阶段，进入后期复盘后才开始绩效评价",
                stage_of(&campaign).label()
            )
            .into(),
        ));
    }
    state_of(db, campaign).await
}

/// The stored state of a campaign's evaluation (no visibility or stage check).
pub async fn state_of<C: ConnectionTrait>(db: &C, campaign: campaign::Model) -> DomainResult<State> {
    let row = evaluation::Entity::find_by_id(campaign.id).one(db).await?;
    let step = row
        .as_ref()
        .and_then(|r| r.step.parse().ok())
        .unwrap_or(Step::Preparing);
    Ok(State { campaign, row, step })
}

/// The one step check of an evaluation operation (`what`, e.g. "登记满意度回访"): an ARCHIVED
/// evaluation is frozen (VALIDATION, whatever the operation); otherwise the step must be one
/// of `allowed` (INVALID_STAGE).
pub fn require_open(state: &State, allowed: &[Step], what: &str) -> DomainResult<()> {
    if state.step == Step::Archived {
        return Err(DomainError::Validation {
            field: None,
            message: "绩效评价已归档，不能再修改".into(),
        });
    }
    if allowed.contains(&state.step) {
        Ok(())
    } else {
        Err(DomainError::InvalidStage(
            format!("绩效评价处于“{}”步骤，不能{what}", state.step.label()).into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_go_forward_one_at_a_time() {
        assert_eq!(Step::Preparing.next(), Some(Step::Fieldwork));
        assert_eq!(Step::Feedback.next(), Some(Step::Archived));
        assert_eq!(Step::Archived.next(), None);
        assert_eq!("SCORING".parse(), Ok(Step::Scoring));
    }
}
