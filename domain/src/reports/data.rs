//! What the evaluation report says, as plain data (`ReportData`), read from the database by ONE
//! function (`build`): the renderers (`markdown`, `docx`, `chart`) know no database and no
//! rule, so the figures they print are exactly these, and a test can feed them any data.
//!
//! Every figure is an aggregate over the campaign's rows (grouped sums and counts, the
//! per-category counters), so building the data costs the same for 252 recipients as for a
//! million disbursements.
use crate::core::error::DomainResult;
use crate::core::money::Money;
use crate::core::services::Services;
use crate::evaluation::figures::{Figures, compute as compute_figures};
use crate::evaluation::indicators::{SATISFACTION_TARGET, points};
use crate::evaluation::narratives::Section;
use crate::evaluation::state::has_evaluation;
use crate::evaluation::view::{Evaluation, evaluation_of};
use crate::plan::categories::RecipientKind;
use chrono::NaiveDate;
use entities::{campaign, disbursement, ledger_entry, organization, recipient};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect};

/// Everything the evaluation report prints.
#[derive(Clone, Debug, PartialEq)]
pub struct ReportData {
    pub overview: Overview,
    /// Targets against what was done, per category, in the campaign's order.
    pub categories: Vec<CategoryRow>,
    pub budget: BudgetFigures,
    pub timeline: Timeline,
    /// The evaluation's figures; `None` while the campaign has no evaluation yet (the report
    /// then says so in parts three, four and the narratives).
    pub evaluation: Option<EvaluationFigures>,
    /// The day the report was made (Asia/Shanghai).
    pub generated_on: NaiveDate,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Overview {
    pub campaign_name: String,
    pub year: i32,
    /// The owning organisation (富民县总工会).
    pub organization: String,
    pub policy_refs: Vec<String>,
    pub starts_on: NaiveDate,
    pub deadline: NaiveDate,
    /// The campaign's stage code (REVIEW, CLOSED, …).
    pub stage: String,
    /// Organisations that nominated at least one served recipient.
    pub nominating_organizations: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CategoryRow {
    pub code: String,
    pub name: String,
    /// A UNIT category (public-service departments) counts units, not people.
    pub unit: bool,
    pub planned: i64,
    /// Recipients with a PAID or CONFIRMED disbursement.
    pub served: i64,
    /// The category's standard per head (the most one may receive).
    pub standard: Money,
    /// Paid and confirmed amounts in the category.
    pub spent: Money,
}

impl CategoryRow {
    /// served / planned in whole per cent, rounded down (never shows 100% before it is).
    pub fn completion_percent(&self) -> i64 {
        if self.planned <= 0 {
            return 0;
        }
        self.served * 100 / self.planned
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct BudgetFigures {
    pub budget: Money,
    /// Funding booked to the special ledger (reversed funding taken off).
    pub funded: Money,
    /// Paid and confirmed disbursements (预算执行: spent / budget).
    pub spent: Money,
    /// Supplier payments under procurement contracts (the goods handed out as disbursements).
    pub contract_payments: Money,
    /// The ledger's balance: funding less every payment out of it.
    pub balance: i64,
}

impl BudgetFigures {
    /// 预算执行率 in per cent with two decimals ("100.00"), computed on fen (exact).
    pub fn execution_percent(&self) -> String {
        percent(self.spent.fen(), self.budget.fen())
    }
}

/// `part / whole` as a percentage with two decimals, exact (integer arithmetic, half up).
pub fn percent(part: i64, whole: i64) -> String {
    if whole <= 0 {
        return "0.00".into();
    }
    let basis_points = (part as i128 * 10_000 * 2 + whole as i128) / (whole as i128 * 2);
    format!("{}.{:02}", basis_points / 100, basis_points % 100)
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Timeline {
    pub first_funding_on: Option<NaiveDate>,
    pub first_paid_on: Option<NaiveDate>,
    pub last_paid_on: Option<NaiveDate>,
    /// Paid disbursements (PAID or CONFIRMED).
    pub paid: i64,
    /// Of them, paid after the campaign's deadline.
    pub paid_after_deadline: i64,
    /// Of them, receipt confirmed (签字确认).
    pub confirmed: i64,
    /// Of them, entered into the provincial platform.
    pub entered: i64,
    /// Paid, not entered, past the entry deadline (30 working days) on the report's day.
    pub entry_overdue: i64,
}

/// The evaluation's part of the report, filled by the evaluation module's figures.
#[derive(Clone, Debug, PartialEq)]
pub struct EvaluationFigures {
    /// The evaluation's step in zh-CN (准备 … 归档).
    pub step: String,
    /// First-level rows each followed by their second-level rows, in the template's order.
    pub indicators: Vec<IndicatorRow>,
    pub total_score: String,
    /// 优, 良, 中, 差.
    pub grade: String,
    pub satisfaction: Option<Satisfaction>,
    pub narratives: Narratives,
}

#[derive(Clone, Debug, PartialEq)]
pub struct IndicatorRow {
    /// 一级指标 (预算执行率, 产出指标, …).
    pub level1: String,
    /// 二级指标; `None` on a first-level row that has no second level.
    pub level2: Option<String>,
    /// 分值, two decimals at most ("10", "2.5").
    pub weight: String,
    /// 得分; `None` while an indicator scored by hand is not scored yet.
    pub score: Option<String>,
    /// How the score was measured ("150000.00/150000.00 = 100%") or the evaluator's reason.
    pub note: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Satisfaction {
    /// The sample drawn (people), with its seed.
    pub sample_size: i64,
    pub seed: Option<String>,
    /// The sampling method in the report's words (strata, allocation, seed).
    pub method: Option<String>,
    /// Served recipients the sample was drawn from.
    pub population: i64,
    pub surveyed: i64,
    pub satisfied: i64,
    /// Answers per method, in zh-CN ("电话回访", 28).
    pub methods: Vec<(String, i64)>,
    /// The target share in per cent ("90").
    pub target_percent: String,
}

impl Satisfaction {
    pub fn rate_percent(&self) -> String {
        percent(self.satisfied, self.surveyed)
    }
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Narratives {
    pub conclusion: Option<String>,
    pub experience: Option<String>,
    pub problems: Option<String>,
    pub suggestions: Option<String>,
}

/// The report's data for one campaign: the evaluation's figures (frozen when it is ARCHIVED,
/// so the report prints what was scored) with its indicators and narratives once the campaign
/// has an evaluation (REVIEW on); before that the same figures computed today. A few figures
/// only the report prints (the owner's name, contract payments, the ledger's balance, receipts
/// confirmed, nominating organisations) are read beside them.
pub async fn build(s: &Services, campaign_id: i64, today: NaiveDate) -> DomainResult<ReportData> {
    let db = &s.db;
    let c = campaign::Entity::find_by_id(campaign_id)
        .one(db)
        .await?
        .ok_or_else(|| crate::core::error::DomainError::not_found("项目"))?;
    let (f, evaluation) = if has_evaluation(&c) {
        let e = evaluation_of(db, c.clone()).await?;
        (e.figures.clone(), Some(e))
    } else {
        (compute_figures(db, &c, today).await?, None)
    };
    let org = organization::Entity::find_by_id(c.organization_id)
        .one(db)
        .await?
        .map(|o| o.name)
        .unwrap_or_default();
    let categories = f
        .categories
        .iter()
        .map(|k| CategoryRow {
            code: k.code.clone(),
            name: k.name.clone(),
            unit: k.recipient_kind == RecipientKind::Unit.as_str(),
            planned: k.planned,
            served: k.served,
            standard: k.standard(),
            spent: k.spent(),
        })
        .collect();
    let (contract_payments, balance) = ledger_figures(db, c.id).await?;
    let budget = BudgetFigures {
        budget: f.budget(),
        funded: f.funded(),
        spent: f.spent(),
        contract_payments,
        balance,
    };
    let timeline = Timeline {
        first_funding_on: f.first_funding_on,
        first_paid_on: f.first_paid_on,
        last_paid_on: f.last_paid_on,
        paid: f.paid,
        paid_after_deadline: f.paid_late(),
        confirmed: confirmed(db, c.id).await?,
        entered: f.paid - f.not_entered,
        entry_overdue: f.entry_overdue,
    };
    let overview = Overview {
        campaign_name: f.campaign_name.clone(),
        year: f.year,
        organization: org,
        policy_refs: f.policy_refs.clone(),
        starts_on: f.starts_on,
        deadline: f.deadline,
        stage: c.stage.clone(),
        nominating_organizations: nominating_organizations(db, campaign_id).await?,
    };
    Ok(ReportData {
        overview,
        categories,
        budget,
        timeline,
        evaluation: evaluation.as_ref().map(|e| evaluation_figures(e, &f)),
        generated_on: today,
    })
}

/// The evaluation's part: indicators as 一级/二级 rows, the total and grade, the surveys on
/// their sample, the narratives.
fn evaluation_figures(e: &Evaluation, f: &Figures) -> EvaluationFigures {
    let name_of = |code: &str| {
        e.indicators
            .iter()
            .find(|i| i.code == code)
            .map(|i| i.name.clone())
            .unwrap_or_else(|| code.to_string())
    };
    let indicators = e
        .indicators
        .iter()
        .map(|i| IndicatorRow {
            level1: match &i.parent {
                Some(p) => name_of(p),
                None => i.name.clone(),
            },
            level2: i.parent.as_ref().map(|_| i.name.clone()),
            weight: points(i.weight_centi),
            score: (!i.unscored).then(|| points(i.score_centi)),
            note: i.measured.clone().or_else(|| i.comment.clone()),
        })
        .collect();
    let satisfaction = (f.surveys.responses > 0 || f.sample.is_some()).then(|| Satisfaction {
        sample_size: f.sample.as_ref().map(|x| x.size).unwrap_or(0),
        seed: f.sample.as_ref().map(|x| x.seed.to_string()),
        method: f.sample.as_ref().map(|x| x.method()),
        population: f.sample.as_ref().map(|x| x.population).unwrap_or(f.paid),
        surveyed: f.surveys.responses,
        satisfied: f.surveys.satisfied,
        methods: [
            ("电话回访", f.surveys.by_phone),
            ("现场咨询", f.surveys.onsite),
            ("微信互动", f.surveys.by_wechat),
        ]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(m, n)| (m.to_string(), n))
        .collect(),
        target_percent: format!("{}", (SATISFACTION_TARGET * 100.0).round() as i64),
    });
    let text = |section: Section| {
        e.narratives
            .iter()
            .find(|n| n.section == section)
            .map(|n| n.text.clone())
    };
    EvaluationFigures {
        step: e.step.label().to_string(),
        indicators,
        total_score: points(e.total_centi),
        grade: e.grade.label().to_string(),
        satisfaction,
        narratives: Narratives {
            conclusion: text(Section::Conclusion),
            experience: text(Section::Experience),
            problems: text(Section::Problems),
            suggestions: text(Section::Suggestions),
        },
    }
}

/// Supplier payments out of the ledger, and the ledger's balance (every entry, signed).
async fn ledger_figures<C: ConnectionTrait>(db: &C, campaign_id: i64) -> DomainResult<(Money, i64)> {
    let rows: Vec<(String, i64)> = ledger_entry::Entity::find()
        .select_only()
        .column(ledger_entry::Column::Kind)
        .column_as(
            Expr::cust("CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT)"),
            "total",
        )
        .filter(ledger_entry::Column::CampaignId.eq(campaign_id))
        .group_by(ledger_entry::Column::Kind)
        .into_tuple()
        .all(db)
        .await?;
    let balance = rows.iter().map(|(_, t)| t).sum();
    let contract = rows
        .iter()
        .filter(|(k, _)| k == "CONTRACT_PAYMENT")
        .map(|(_, t)| -t)
        .sum::<i64>();
    Ok((Money::from_fen(contract.max(0)), balance))
}

async fn confirmed<C: ConnectionTrait>(db: &C, campaign_id: i64) -> DomainResult<i64> {
    Ok(disbursement::Entity::find()
        .filter(disbursement::Column::CampaignId.eq(campaign_id))
        .filter(disbursement::Column::Status.eq("CONFIRMED"))
        .count(db)
        .await? as i64)
}

const PAID: [&str; 2] = ["PAID", "CONFIRMED"];

async fn nominating_organizations<C: ConnectionTrait>(db: &C, campaign_id: i64) -> DomainResult<i64> {
    let n: Option<i64> = recipient::Entity::find()
        .select_only()
        .column_as(
            Expr::cust("CAST(COUNT(DISTINCT recipients.nominated_by) AS BIGINT)"),
            "n",
        )
        .filter(recipient::Column::CampaignId.eq(campaign_id))
        .filter(
            recipient::Column::Id.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(disbursement::Column::RecipientId)
                    .from(disbursement::Entity)
                    .and_where(disbursement::Column::CampaignId.eq(campaign_id))
                    .and_where(disbursement::Column::Status.is_in(PAID))
                    .to_owned(),
            ),
        )
        .into_tuple()
        .one(db)
        .await?;
    Ok(n.unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_are_exact_with_two_decimals() {
        assert_eq!(percent(15_000_000, 15_000_000), "100.00");
        assert_eq!(percent(1, 3), "33.33");
        assert_eq!(percent(2, 3), "66.67");
        assert_eq!(percent(0, 0), "0.00");
    }
}
