//! `advanceEvaluation`: the evaluation moves one step at a time (准备 → 实施 → 评价 → 反馈 → 归档),
//! by an EVALUATOR or ADMIN. The first move writes the evaluation with the campaign's indicator
//! template; entering SCORING drafts the narratives from the figures; FEEDBACK needs every
//! indicator scored by hand to have its score; ARCHIVED freezes the computed figures and
//! indicators (stored, so later changes to the data do not move an archived score).
use crate::core::error::{DomainError, DomainResult};
use crate::core::services::Services;
use crate::evaluation::figures::compute;
use crate::evaluation::indicators::{Rule, entries_of, score_all, template_rows};
use crate::evaluation::narratives::write_drafts;
use crate::evaluation::state::{State, Step, load, require_open};
use crate::people::access::{Actor, Permission};
use crate::people::audit::Change;
use entities::{evaluation, evaluation_indicator};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

/// Writes the evaluation and its template if this is its first change.
async fn ensure_row(change: &mut Change, state: &State) -> DomainResult<evaluation::Model> {
    if let Some(row) = &state.row {
        return Ok(row.clone());
    }
    let row = change
        .insert_audited(evaluation::ActiveModel {
            campaign_id: Set(state.campaign.id),
            step: Set(Step::Preparing.as_str().into()),
            figures: Set(None),
            created_at: Set(change.now()),
            updated_at: Set(change.now()),
        })
        .await?;
    for am in template_rows(state.campaign.id) {
        change.insert_audited(am).await?;
    }
    Ok(row)
}

async fn indicators_of(change: &Change, campaign_id: i64) -> DomainResult<Vec<evaluation_indicator::Model>> {
    Ok(evaluation_indicator::Entity::find()
        .filter(evaluation_indicator::Column::CampaignId.eq(campaign_id))
        .all(change.txn())
        .await?)
}

pub async fn advance(s: &Services, actor: &Actor, campaign_id: i64, to: Step) -> DomainResult<Step> {
    actor.require(Permission::Evaluate)?;
    let mut change = Change::begin(&s.db, Some(actor), "advanceEvaluation").await?;
    let state = load(change.txn(), actor, campaign_id).await?;
    let next = state.step.next();
    // Archived: frozen (VALIDATION) before any talk of steps.
    require_open(&state, &[state.step], "推进")?;
    if next != Some(to) {
        let msg = match next {
            Some(n) => format!(
                "绩效评价处于“{}”步骤，只能推进到“{}”",
                state.step.label(),
                n.label()
            ),
            None => "绩效评价已归档".to_string(),
        };
        return Err(DomainError::InvalidStage(msg.into()));
    }
    let before = ensure_row(&mut change, &state).await?;
    let today = chrono::Utc::now().date_naive();
    let mut am: evaluation::ActiveModel = before.clone().into();
    match to {
        Step::Scoring => {
            let f = compute(change.txn(), &state.campaign, today).await?;
            write_drafts(&mut change, campaign_id, &f).await?;
        }
        Step::Feedback => {
            let rows = indicators_of(&change, campaign_id).await?;
            let open: Vec<&str> = rows
                .iter()
                .filter(|r| !r.computed && r.score_centi.is_none())
                .map(|r| r.name.as_str())
                .collect();
            if !open.is_empty() {
                return Err(DomainError::InvalidStage(
                    format!("还有指标未评分：{}", open.join("、")).into(),
                ));
            }
        }
        Step::Archived => {
            let f = compute(change.txn(), &state.campaign, today).await?;
            let rows = indicators_of(&change, campaign_id).await?;
            let entries = entries_of(&rows);
            let scores = score_all(&entries, &f);
            for (entry, score) in entries.iter().zip(&scores) {
                if matches!(entry.rule, Rule::Manual | Rule::Sum) {
                    continue;
                }
                let Some(row) = rows.iter().find(|r| r.code == entry.code) else {
                    continue;
                };
                let mut frozen: evaluation_indicator::ActiveModel = row.clone().into();
                frozen.score_centi = Set(Some(score.score_centi as i32));
                frozen.measured = Set(score.measured.clone());
                change.update_audited(row, frozen).await?;
            }
            am.figures = Set(Some(serde_json::to_string(&f).map_err(DomainError::internal)?));
        }
        Step::Preparing | Step::Fieldwork => {}
    }
    am.step = Set(to.as_str().into());
    am.updated_at = Set(change.now());
    change.update_audited(&before, am).await?;
    change.commit().await?;
    Ok(to)
}
