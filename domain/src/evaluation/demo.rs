//! The evaluation of a demo campaign (`api demo`), from the data file's `[campaign.evaluation]`:
//! the evaluator moves it through its steps, draws the sample, records the survey answers,
//! scores the indicators scored by hand and writes the narrative sections, all through the
//! same functions as the API. Figures come from the data file, never from here.
use crate::core::error::{DomainError, DomainResult};
use crate::core::services::Services;
use crate::evaluation::indicators::score_indicator;
use crate::evaluation::narratives::{Section, set_narrative};
use crate::evaluation::sampling::draw_sample;
use crate::evaluation::state::Step;
use crate::evaluation::steps::advance;
use crate::evaluation::surveys::{NewSurvey, SurveyChannel, record_survey};
use crate::people::access::Actor;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct DemoEvaluation {
    pub sample_size: i32,
    pub seed: i32,
    /// How many of the sample said they were satisfied (the first ones drawn).
    pub satisfied: i32,
    /// Where the evaluation is left (PREPARING … ARCHIVED).
    pub step: String,
    #[serde(default)]
    pub scores: Vec<DemoScore>,
    /// Section code (CONCLUSION, EXPERIENCE, PROBLEMS, SUGGESTIONS) → text; sections not given
    /// keep the draft written from the figures.
    #[serde(default)]
    pub narratives: Vec<DemoNarrative>,
}

#[derive(Deserialize)]
pub struct DemoScore {
    pub code: String,
    pub score: f64,
    pub reason: String,
}

#[derive(Deserialize)]
pub struct DemoNarrative {
    pub section: String,
    pub text: String,
}

/// Runs the demo evaluation of `campaign_id` (in REVIEW) as `evaluator`, up to `e.step`.
pub async fn run(s: &Services, evaluator: &Actor, campaign_id: i64, e: &DemoEvaluation) -> DomainResult<()> {
    let target: Step = e
        .step
        .parse()
        .map_err(|_| DomainError::validation("evaluation", format!("评价步骤“{}”无效", e.step)))?;
    let sections = e
        .narratives
        .iter()
        .map(|n| {
            n.section
                .parse::<Section>()
                .map(|s| (s, n.text.as_str()))
                .map_err(|_| DomainError::validation("evaluation", format!("评价章节“{}”无效", n.section)))
        })
        .collect::<DomainResult<Vec<_>>>()?;
    let mut step = Step::Preparing;
    while step < target {
        let Some(next) = step.next() else { break };
        step = advance(s, evaluator, campaign_id, next).await?;
        if step == Step::Scoring {
            for sc in &e.scores {
                score_indicator(s, evaluator, campaign_id, &sc.code, sc.score, &sc.reason).await?;
            }
            for (section, text) in &sections {
                set_narrative(s, evaluator, campaign_id, *section, text).await?;
            }
        }
        if step == Step::Fieldwork {
            let sample = draw_sample(s, evaluator, campaign_id, e.sample_size, e.seed).await?;
            for (i, rid) in sample.recipient_ids.iter().enumerate() {
                let channel = SurveyChannel::ALL[i % SurveyChannel::ALL.len()];
                record_survey(
                    s,
                    evaluator,
                    NewSurvey {
                        recipient_id: *rid,
                        channel,
                        satisfied: (i as i32) < e.satisfied,
                        comment: None,
                    },
                )
                .await?;
            }
        }
    }
    Ok(())
}
