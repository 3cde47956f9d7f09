//! The performance evaluation (绩效评价) of a campaign, layer 5½: above the life cycle (it reads
//! the money figures and the campaign's stage), below the background work (the report jobs
//! read it).
//!
//! | file | what |
//! |---|---|
//! | `state` | the steps PREPARING → FIELDWORK → SCORING → FEEDBACK → ARCHIVED, `require_open` |
//! | `steps` | `advance` (`advanceEvaluation`): template, narrative drafts, the freeze |
//! | `surveys` | `record_survey` (`recordSurvey`), `satisfaction_of` (`CampaignProgress.satisfactionRate`) |
//! | `sampling` | `sample_size` (Cochran + FPC), `draw_sample` (stratified, `SplitMix64`) |
//! | `figures` | `Figures`: every figure of the evaluation, in a few aggregate statements |
//! | `indicators` | the template, computed scores with `measured`, `score_indicator`, `Grade` |
//! | `narratives` | drafts written from the figures, `set_narrative` |
//! | `demo` | the evaluation of `api demo`'s campaign, from the data file |
//! | `view` | `Evaluation`: what `evaluation(campaignId)` answers and the reports print |
//!
//! ## For the reports (the public face, `domain::evaluation::…`)
//!
//! ```ignore
//! // With an access check (a resolver), None before the campaign's REVIEW:
//! let e: Option<Evaluation> = domain::evaluation::evaluation(&services, &actor, campaign_id).await?;
//! // Without one (a report job that checked who asked); the campaign must be in REVIEW or later:
//! let e: Evaluation = domain::evaluation::evaluation_of(&db, campaign_model).await?;
//!
//! e.step                       // Step::Scoring …  (e.step.label(): "评价")
//! e.total_score(), e.grade     // 98.0, Grade::Excellent (grade.label(): "优")
//! for i in &e.indicators {     // report order: BUDGET_EXECUTION, OUTPUT, OUTPUT.QUANTITY, …
//!     i.code; i.name;          // "OUTPUT.QUANTITY", "数量指标"
//!     i.parent;                // Some("OUTPUT") for 二级指标, None for 一级指标
//!     i.weight(); i.score();   // 20.0, 20.0 (points; exact hundredths in *_centi)
//!     i.measured;              // Some("150000.00/150000.00 = 100%") for computed ones
//!     i.comment;               // the evaluator's written reason (BENEFIT.*)
//! }
//! for n in &e.narratives { n.section /* Section::Conclusion … */; n.section.label(); n.text; }
//! let f: &Figures = &e.figures; // plain data, frozen when ARCHIVED:
//! f.campaign_name, f.year, f.starts_on, f.deadline, f.policy_refs,
//! f.budget(), f.funded(), f.spent(), f.execution_rate(),          // Money, Money, Money, 0..1
//! f.first_funding_on, f.last_funding_on, f.first_paid_on, f.last_paid_on,   // Option<NaiveDate>
//! f.funding_days_before_deadline(), f.paid, f.paid_cash, f.paid_goods, f.paid_on_time,
//! f.paid_late(), f.within_standard, f.verified_at_plan, f.entry_overdue, f.not_entered,
//! f.planned(), f.served(),
//! for c in &f.categories { c.code; c.name; c.recipient_kind; c.planned; c.served;
//!                          c.standard(); c.spent(); c.completion() }     // targets vs actuals
//! f.surveys.responses, f.surveys.satisfied, f.surveys.rate(),  // by_phone, onsite, by_wechat
//! f.sample.as_ref().map(|s| (s.size, s.population, s.seed, s.method())),  // 抽样方法 text
//! f.as_of                                                      // the day they were read
//! ```
pub mod demo;
pub mod figures;
pub mod indicators;
pub mod narratives;
pub mod sampling;
pub mod state;
pub mod steps;
pub mod surveys;
pub mod view;

pub use figures::{CategoryFigures, Figures, SampleFigures, SurveyFigures, compute as compute_figures};
pub use indicators::{DEFAULT_TEMPLATE, Grade, IndicatorScore, percent, points, score_indicator};
pub use narratives::{Narrative, Section, drafts, set_narrative};
pub use sampling::{SampleRecord, SplitMix64, cochran, draw_sample, members_of, sample_size};
pub use state::Step;
pub use steps::advance;
pub use surveys::{NewSurvey, SurveyChannel, record_survey, responses, satisfaction_of};
pub use view::{Evaluation, evaluation, evaluation_of};
