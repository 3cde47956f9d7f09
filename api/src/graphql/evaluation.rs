//! The performance evaluation (绩效评价): `evaluation`, `sampleSize`, `recordSurvey`,
//! `drawSample`, `advanceEvaluation`, `scoreIndicator`, `setNarrative` — thin resolvers over
//! `domain::evaluation`, where every rule (steps, access, scores) lives.
use super::aid::Recipient;
use super::campaigns::Campaign;
use super::context::{actor, id_of, services};
use super::errors::ApiResult;
use super::loaders::{RecipientLoader, loader};
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use domain::DomainError;
use domain::evaluation as rules;
use entities::survey_response;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "SurveyChannel", remote = "domain::evaluation::SurveyChannel")]
pub enum SurveyChannel {
    Phone,
    Onsite,
    Wechat,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "EvaluationStep", remote = "domain::evaluation::Step")]
pub enum EvaluationStep {
    Preparing,
    Fieldwork,
    Scoring,
    Feedback,
    Archived,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "Grade", remote = "domain::evaluation::Grade")]
pub enum Grade {
    Excellent,
    Good,
    Fair,
    Poor,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "NarrativeSection", remote = "domain::evaluation::Section")]
pub enum NarrativeSection {
    Conclusion,
    Experience,
    Problems,
    Suggestions,
}

async fn recipient_of(ctx: &Context<'_>, id: i64) -> ApiResult<Recipient> {
    loader::<RecipientLoader>(ctx)
        .load_one(id)
        .await?
        .map(Recipient::from)
        .ok_or_else(|| DomainError::not_found("慰问对象").into())
}

pub struct SurveyResponse(survey_response::Model);

#[Object]
impl SurveyResponse {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn recipient(&self, ctx: &Context<'_>) -> ApiResult<Recipient> {
        recipient_of(ctx, self.0.recipient_id).await
    }
    async fn channel(&self) -> SurveyChannel {
        self.0
            .channel
            .parse::<rules::SurveyChannel>()
            .unwrap_or(rules::SurveyChannel::Phone)
            .into()
    }
    async fn satisfied(&self) -> bool {
        self.0.satisfied
    }
    async fn comment(&self) -> Option<&str> {
        self.0.comment.as_deref()
    }
}

pub struct Sample(rules::SampleRecord);

#[Object]
impl Sample {
    async fn id(&self) -> ID {
        ID(self.0.sample.id.to_string())
    }
    async fn seed(&self) -> i32 {
        // Drawn from an Int argument: always in range.
        i32::try_from(self.0.sample.seed).unwrap_or_default()
    }
    /// In the order they were drawn.
    async fn recipients(&self, ctx: &Context<'_>) -> ApiResult<Vec<Recipient>> {
        let found = loader::<RecipientLoader>(ctx)
            .load_many(self.0.recipient_ids.iter().copied())
            .await?;
        Ok(self
            .0
            .recipient_ids
            .iter()
            .filter_map(|id| found.get(id).cloned())
            .map(Recipient::from)
            .collect())
    }
    /// Served recipients the sample was drawn from.
    async fn population(&self) -> i32 {
        self.0.sample.population
    }
}

#[derive(SimpleObject)]
pub struct IndicatorScore {
    code: String,
    name: String,
    weight: f64,
    score: f64,
    measured: Option<String>,
    comment: Option<String>,
    /// The first-level indicator this one belongs to (null for first-level ones).
    parent_code: Option<String>,
    /// Computed from the data; false: scored by an evaluator with a reason.
    computed: bool,
}

#[derive(SimpleObject)]
pub struct Narrative {
    section: NarrativeSection,
    text: String,
    /// Still the draft written from the figures.
    drafted: bool,
}

pub struct Evaluation(rules::Evaluation);

#[Object]
impl Evaluation {
    /// One evaluation per campaign: its id is the campaign's.
    async fn id(&self) -> ID {
        ID(self.0.campaign_id.to_string())
    }
    async fn campaign(&self) -> Campaign {
        Campaign::from(self.0.campaign.clone())
    }
    async fn step(&self) -> EvaluationStep {
        self.0.step.into()
    }
    async fn indicators(&self) -> Vec<IndicatorScore> {
        self.0
            .indicators
            .iter()
            .map(|i| IndicatorScore {
                code: i.code.clone(),
                name: i.name.clone(),
                weight: i.weight(),
                score: i.score(),
                measured: i.measured.clone(),
                comment: i.comment.clone(),
                parent_code: i.parent.clone(),
                computed: i.computed,
            })
            .collect()
    }
    async fn total_score(&self) -> f64 {
        self.0.total_score()
    }
    async fn grade(&self) -> Grade {
        self.0.grade.into()
    }
    async fn narratives(&self) -> Vec<Narrative> {
        self.0
            .narratives
            .iter()
            .map(|n| Narrative {
                section: n.section.into(),
                text: n.text.clone(),
                drafted: n.drafted,
            })
            .collect()
    }
}

#[derive(InputObject)]
pub struct SurveyInput {
    recipient_id: ID,
    channel: SurveyChannel,
    satisfied: bool,
    comment: Option<String>,
}

/// The evaluation after a change (the caller just changed it, so it may read it).
async fn reread(ctx: &Context<'_>, campaign_id: i64) -> ApiResult<Evaluation> {
    let s = services(ctx);
    rules::evaluation(s, actor(ctx)?, campaign_id)
        .await?
        .map(Evaluation)
        .ok_or_else(|| DomainError::not_found("绩效评价").into())
}

#[derive(Default)]
pub struct EvaluationQuery;

#[Object]
impl EvaluationQuery {
    /// Null until the campaign reaches REVIEW; ADMIN, EVALUATOR, CASEWORKER, FINANCE, AUDITOR.
    async fn evaluation(&self, ctx: &Context<'_>, campaign_id: ID) -> ApiResult<Option<Evaluation>> {
        let s = services(ctx);
        let Ok(id) = id_of(&campaign_id, "项目") else {
            return Ok(None);
        };
        Ok(rules::evaluation(s, actor(ctx)?, id).await?.map(Evaluation))
    }

    /// Survey formula with finite-population correction over the served recipients;
    /// confidence one of 0.80 0.85 0.90 0.95 0.98 0.99 0.999, margin 0.001–0.5.
    async fn sample_size(
        &self,
        ctx: &Context<'_>,
        campaign_id: ID,
        confidence: f64,
        margin: f64,
    ) -> ApiResult<i32> {
        let s = services(ctx);
        Ok(rules::sample_size(s, actor(ctx)?, id_of(&campaign_id, "项目")?, confidence, margin).await?)
    }
}

#[derive(Default)]
pub struct EvaluationMutation;

#[Object]
impl EvaluationMutation {
    /// EVALUATOR, CASEWORKER; served recipients only; a new answer replaces the old.
    async fn record_survey(&self, ctx: &Context<'_>, input: SurveyInput) -> ApiResult<SurveyResponse> {
        let s = services(ctx);
        let saved = rules::record_survey(
            s,
            actor(ctx)?,
            rules::NewSurvey {
                recipient_id: id_of(&input.recipient_id, "慰问对象")?,
                channel: input.channel.into(),
                satisfied: input.satisfied,
                comment: input.comment,
            },
        )
        .await?;
        Ok(SurveyResponse(saved))
    }

    /// EVALUATOR: a stratified random sample of the served recipients, reproducible from the seed.
    async fn draw_sample(
        &self,
        ctx: &Context<'_>,
        campaign_id: ID,
        size: i32,
        seed: i32,
    ) -> ApiResult<Sample> {
        let s = services(ctx);
        let drawn = rules::draw_sample(s, actor(ctx)?, id_of(&campaign_id, "项目")?, size, seed).await?;
        Ok(Sample(drawn))
    }

    /// One step forward (EVALUATOR, ADMIN); the evaluation exists once the campaign is in REVIEW.
    async fn advance_evaluation(
        &self,
        ctx: &Context<'_>,
        campaign_id: ID,
        to: EvaluationStep,
    ) -> ApiResult<Evaluation> {
        let s = services(ctx);
        let id = id_of(&campaign_id, "项目")?;
        rules::advance(s, actor(ctx)?, id, to.into()).await?;
        reread(ctx, id).await
    }

    /// EVALUATOR: an indicator scored by hand (BENEFIT.*), 0..weight, with a written reason.
    async fn score_indicator(
        &self,
        ctx: &Context<'_>,
        campaign_id: ID,
        code: String,
        score: f64,
        comment: String,
    ) -> ApiResult<Evaluation> {
        let s = services(ctx);
        let id = id_of(&campaign_id, "项目")?;
        rules::score_indicator(s, actor(ctx)?, id, &code, score, &comment).await?;
        reread(ctx, id).await
    }

    /// EVALUATOR: replaces a narrative section's text.
    async fn set_narrative(
        &self,
        ctx: &Context<'_>,
        campaign_id: ID,
        section: NarrativeSection,
        text: String,
    ) -> ApiResult<Evaluation> {
        let s = services(ctx);
        let id = id_of(&campaign_id, "项目")?;
        rules::set_narrative(s, actor(ctx)?, id, section.into(), &text).await?;
        reread(ctx, id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::resolver_utils::EnumType;

    fn same_codes<E, D>(domain_all: &[D], code: fn(D) -> &'static str)
    where
        E: EnumType + Copy + Into<D> + 'static,
        D: Copy + PartialEq + std::fmt::Debug,
    {
        let items = E::items();
        assert_eq!(items.len(), domain_all.len());
        for (item, d) in items.iter().zip(domain_all) {
            let value: D = item.value.into();
            assert_eq!(value, *d, "{}", item.name);
            assert_eq!(item.name, code(*d), "{:?}", d);
        }
    }

    #[test]
    fn graphql_values_are_the_domain_codes() {
        same_codes::<SurveyChannel, _>(rules::SurveyChannel::ALL, |k| k.as_str());
        same_codes::<EvaluationStep, _>(rules::Step::ALL, |k| k.as_str());
        same_codes::<Grade, _>(rules::Grade::ALL, |k| k.as_str());
        same_codes::<NarrativeSection, _>(rules::Section::ALL, |k| k.as_str());
    }
}
