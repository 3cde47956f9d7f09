//! The indicator system (绩效评价指标体系): the campaign's template (default: the table of
//! `contract/api-contract.md`), the scores computed from the figures with what they measured,
//! the evaluators' scores of the rest (`scoreIndicator`, with a written reason), the total and
//! the grade. Points are kept in hundredths (`centi`), so sums are exact and a score of 14 is
//! 1400; they are spoken as floats at the edge.
use crate::core::error::{DomainError, DomainResult};
use crate::core::money::Money;
use crate::core::services::Services;
use crate::evaluation::figures::Figures;
use crate::evaluation::state::{SCORING_STEPS, load, require_open};
use crate::people::access::{Actor, Permission};
use crate::people::audit::{Audited, Change};
use entities::evaluation_indicator;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

/// How an indicator gets its score.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// weight × min(1, spent / budget)
    BudgetExecution,
    /// weight × mean over categories of min(1, served / planned)
    Quantity,
    /// weight × share of served recipients VERIFIED when their disbursement was planned
    Quality,
    /// weight × share of paid disbursements paid on or before the deadline
    Timeliness,
    /// weight × share of paid disbursements at or under their category's standard
    Cost,
    /// full at the target share of satisfied answers, else weight × share / target
    Satisfaction,
    /// the sum of its children
    Sum,
    /// scored by an evaluator with a written reason
    Manual,
}

/// The satisfaction target (满意度 ≥ 90%).
pub const SATISFACTION_TARGET: f64 = 0.90;

/// One row of the default template: code, name, parent, weight (points), rule.
pub struct TemplateRow {
    pub code: &'static str,
    pub name: &'static str,
    pub parent: Option<&'static str>,
    pub weight: i32,
    pub rule: Rule,
}

/// The default template (api-contract.md, "Evaluation indicators"), in report order.
pub const DEFAULT_TEMPLATE: [TemplateRow; 10] = [
    TemplateRow {
        code: "BUDGET_EXECUTION",
        name: "预算执行率",
        parent: None,
        weight: 10,
        rule: Rule::BudgetExecution,
    },
    TemplateRow {
        code: "OUTPUT",
        name: "产出指标",
        parent: None,
        weight: 50,
        rule: Rule::Sum,
    },
    TemplateRow {
        code: "OUTPUT.QUANTITY",
        name: "数量指标",
        parent: Some("OUTPUT"),
        weight: 20,
        rule: Rule::Quantity,
    },
    TemplateRow {
        code: "OUTPUT.QUALITY",
        name: "质量指标",
        parent: Some("OUTPUT"),
        weight: 10,
        rule: Rule::Quality,
    },
    TemplateRow {
        code: "OUTPUT.TIMELINESS",
        name: "时效指标",
        parent: Some("OUTPUT"),
        weight: 10,
        rule: Rule::Timeliness,
    },
    TemplateRow {
        code: "OUTPUT.COST",
        name: "成本指标",
        parent: Some("OUTPUT"),
        weight: 10,
        rule: Rule::Cost,
    },
    TemplateRow {
        code: "BENEFIT",
        name: "效益指标",
        parent: None,
        weight: 30,
        rule: Rule::Sum,
    },
    TemplateRow {
        code: "BENEFIT.SOCIAL",
        name: "社会效益",
        parent: Some("BENEFIT"),
        weight: 15,
        rule: Rule::Manual,
    },
    TemplateRow {
        code: "BENEFIT.SUSTAINABLE",
        name: "可持续影响",
        parent: Some("BENEFIT"),
        weight: 15,
        rule: Rule::Manual,
    },
    TemplateRow {
        code: "SATISFACTION",
        name: "满意度指标",
        parent: None,
        weight: 10,
        rule: Rule::Satisfaction,
    },
];

/// The rule of an indicator code of the template.
pub fn rule_of(code: &str) -> Option<Rule> {
    DEFAULT_TEMPLATE.iter().find(|r| r.code == code).map(|r| r.rule)
}

/// One indicator of a campaign's template as stored or as defaulted.
#[derive(Clone, Debug, PartialEq)]
pub struct TemplateEntry {
    pub code: String,
    pub name: String,
    pub parent: Option<String>,
    pub weight_centi: i64,
    pub rule: Rule,
    /// The evaluator's score, or a computed score frozen at ARCHIVED.
    pub score_centi: Option<i64>,
    pub comment: Option<String>,
    /// Frozen at ARCHIVED.
    pub measured: Option<String>,
}

/// The default template, before the campaign's evaluation is written.
pub fn default_entries() -> Vec<TemplateEntry> {
    DEFAULT_TEMPLATE
        .iter()
        .map(|r| TemplateEntry {
            code: r.code.into(),
            name: r.name.into(),
            parent: r.parent.map(Into::into),
            weight_centi: i64::from(r.weight) * 100,
            rule: r.rule,
            score_centi: None,
            comment: None,
            measured: None,
        })
        .collect()
}

/// A campaign's stored template, in report order.
pub fn entries_of(rows: &[evaluation_indicator::Model]) -> Vec<TemplateEntry> {
    let mut rows: Vec<&evaluation_indicator::Model> = rows.iter().collect();
    rows.sort_by_key(|r| (r.position, r.id));
    rows.into_iter()
        .map(|r| TemplateEntry {
            code: r.code.clone(),
            name: r.name.clone(),
            parent: r.parent_code.clone(),
            weight_centi: r.weight_centi.into(),
            // A code the template no longer knows is scored by hand rather than by guess.
            rule: rule_of(&r.code).unwrap_or(if r.computed { Rule::Sum } else { Rule::Manual }),
            score_centi: r.score_centi.map(Into::into),
            comment: r.comment.clone(),
            measured: r.measured.clone(),
        })
        .collect()
}

/// The rows of the default template for a campaign (written with its evaluation).
pub fn template_rows(campaign_id: i64) -> Vec<evaluation_indicator::ActiveModel> {
    DEFAULT_TEMPLATE
        .iter()
        .enumerate()
        .map(|(i, r)| evaluation_indicator::ActiveModel {
            campaign_id: Set(campaign_id),
            code: Set(r.code.into()),
            name: Set(r.name.into()),
            parent_code: Set(r.parent.map(Into::into)),
            position: Set(i as i32),
            weight_centi: Set(r.weight * 100),
            computed: Set(r.rule != Rule::Manual),
            score_centi: Set(None),
            comment: Set(None),
            scored_by: Set(None),
            scored_at: Set(None),
            measured: Set(None),
            ..Default::default()
        })
        .collect()
}

/// 优 良 中 差.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grade {
    Excellent,
    Good,
    Fair,
    Poor,
}

impl Grade {
    pub const ALL: &'static [Grade] = &[Grade::Excellent, Grade::Good, Grade::Fair, Grade::Poor];

    pub const fn as_str(self) -> &'static str {
        match self {
            Grade::Excellent => "EXCELLENT",
            Grade::Good => "GOOD",
            Grade::Fair => "FAIR",
            Grade::Poor => "POOR",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Grade::Excellent => "优",
            Grade::Good => "良",
            Grade::Fair => "中",
            Grade::Poor => "差",
        }
    }

    /// ≥ 90 优, ≥ 80 良, ≥ 60 中, else 差 (财政 practice).
    pub fn of_centi(total: i64) -> Grade {
        match total {
            t if t >= 9000 => Grade::Excellent,
            t if t >= 8000 => Grade::Good,
            t if t >= 6000 => Grade::Fair,
            _ => Grade::Poor,
        }
    }
}

/// One indicator as answered (`IndicatorScore`).
#[derive(Clone, Debug, PartialEq)]
pub struct IndicatorScore {
    pub code: String,
    pub name: String,
    /// The first-level indicator this one is part of; None for first-level ones.
    pub parent: Option<String>,
    pub weight_centi: i64,
    pub score_centi: i64,
    /// Computed from the data (as opposed to scored by an evaluator).
    pub computed: bool,
    /// What was measured, e.g. "150000.00/150000.00 = 100%".
    pub measured: Option<String>,
    /// The evaluator's reason.
    pub comment: Option<String>,
    /// An evaluator's indicator not scored yet (its score counts 0).
    pub unscored: bool,
}

impl IndicatorScore {
    pub fn weight(&self) -> f64 {
        self.weight_centi as f64 / 100.0
    }
    pub fn score(&self) -> f64 {
        self.score_centi as f64 / 100.0
    }
}

/// `part / whole` as a percentage, at most two decimals ("100%", "98.5%").
pub fn percent(part: i64, whole: i64) -> String {
    if whole <= 0 {
        return "0%".into();
    }
    // Rounded half up to 0.01 %, exactly.
    let basis = (part as i128 * 100_000 / whole as i128 + 5) / 10;
    let s = format!("{}.{:02}", basis / 100, basis % 100);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}%")
}

/// weight × num / den, at most the weight, rounded half up to hundredths of a point.
fn share(weight: i64, num: i64, den: i64) -> i64 {
    if den <= 0 || num <= 0 {
        return 0;
    }
    let num = num.min(den);
    ((weight as i128 * num as i128 * 2 + den as i128) / (2 * den as i128)) as i64
}

/// Points as the report writes them ("14", "13.5").
pub fn points(centi: i64) -> String {
    let s = format!("{}.{:02}", centi / 100, (centi % 100).abs());
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A ratio indicator: `weight × num / den` (`share`: capped at the weight, 0 without a `den`),
/// measured as "`label`num/den = percent" with `num` and `den` written by `show` (counts as
/// they are, fen as yuan). One place, so every ratio indicator scores and reads alike.
fn ratio(weight: i64, label: &str, num: i64, den: i64, show: fn(i64) -> String) -> (i64, Option<String>) {
    (
        share(weight, num, den),
        Some(format!(
            "{label}{}/{} = {}",
            show(num),
            show(den),
            percent(num, den)
        )),
    )
}

/// A count as a ratio indicator writes it ("150").
fn count(n: i64) -> String {
    n.to_string()
}

/// Fen as a ratio indicator writes them: yuan with two decimals ("150000.00").
fn yuan(fen: i64) -> String {
    Money::from_fen(fen).to_string()
}

/// A computed score and what it measured.
fn compute(rule: Rule, weight: i64, f: &Figures) -> (i64, Option<String>) {
    match rule {
        Rule::BudgetExecution => ratio(weight, "", f.spent_fen, f.budget_fen, yuan),
        Rule::Quantity => {
            // Mean over the categories with a plan of min(1, served / planned).
            let planned: Vec<_> = f.categories.iter().filter(|c| c.planned > 0).collect();
            if planned.is_empty() {
                return (0, Some("没有计划慰问人数".into()));
            }
            let k = planned.len();
            let mut acc = 0f64;
            for c in &planned {
                acc += c.served.min(c.planned) as f64 / c.planned as f64;
            }
            let mean = acc / k as f64;
            let score = (weight as f64 * mean).round() as i64;
            let served: i64 = planned.iter().map(|c| c.served.min(c.planned)).sum();
            let planned_total: i64 = planned.iter().map(|c| c.planned).sum();
            let full = planned.iter().filter(|c| c.served >= c.planned).count();
            (
                score.min(weight),
                Some(format!(
                    "{} 类对象中 {} 类完成计划，实际慰问 {}/{} 人（个），各类完成率平均 {}",
                    k,
                    full,
                    served,
                    planned_total,
                    percent((mean * 1_000_000.0).round() as i64, 1_000_000)
                )),
            )
        }
        Rule::Quality => ratio(weight, "审核确认后发放 ", f.verified_at_plan, f.paid, count),
        Rule::Timeliness => ratio(
            weight,
            &format!("{} 前发放 ", f.deadline),
            f.paid_on_time,
            f.paid,
            count,
        ),
        Rule::Cost => ratio(weight, "未超标准发放 ", f.within_standard, f.paid, count),
        Rule::Satisfaction => {
            let s = &f.surveys;
            if s.responses == 0 {
                return (0, Some("尚无满意度回访记录".into()));
            }
            // Full at the target: weight × min(1, (satisfied/responses) / 0.90), exactly:
            // weight × satisfied × 10 / (responses × 9).
            let score = share(weight, s.satisfied * 10, s.responses * 9);
            (
                score,
                Some(format!(
                    "满意 {}/{} = {}（目标 ≥ {}）",
                    s.satisfied,
                    s.responses,
                    percent(s.satisfied, s.responses),
                    percent(9, 10)
                )),
            )
        }
        Rule::Sum | Rule::Manual => (0, None),
    }
}

/// Every indicator of `template` scored against `f`: computed ones from the figures (or as
/// frozen), the evaluators' as they scored them, sums from their children.
pub fn score_all(template: &[TemplateEntry], f: &Figures) -> Vec<IndicatorScore> {
    let mut out: Vec<IndicatorScore> = template
        .iter()
        .map(|e| {
            let (score, measured, unscored) = match e.rule {
                Rule::Manual => (e.score_centi.unwrap_or(0), None, e.score_centi.is_none()),
                Rule::Sum => (0, None, false),
                rule => match (e.score_centi, &e.measured) {
                    // Frozen at ARCHIVED.
                    (Some(score), Some(m)) => (score, Some(m.clone()), false),
                    _ => {
                        let (s, m) = compute(rule, e.weight_centi, f);
                        (s, m, false)
                    }
                },
            };
            IndicatorScore {
                code: e.code.clone(),
                name: e.name.clone(),
                parent: e.parent.clone(),
                weight_centi: e.weight_centi,
                score_centi: score,
                computed: e.rule != Rule::Manual,
                measured,
                comment: e.comment.clone(),
                unscored,
            }
        })
        .collect();
    for i in 0..out.len() {
        if template[i].rule != Rule::Sum {
            continue;
        }
        let code = out[i].code.clone();
        let children: Vec<&IndicatorScore> = out
            .iter()
            .filter(|c| c.parent.as_deref() == Some(code.as_str()))
            .collect();
        let total: i64 = children.iter().map(|c| c.score_centi).sum();
        let measured = children
            .iter()
            .map(|c| format!("{} {}", c.name, points(c.score_centi)))
            .collect::<Vec<_>>()
            .join(" + ");
        let unscored = children.iter().any(|c| c.unscored);
        out[i].score_centi = total;
        out[i].measured = (!measured.is_empty()).then_some(measured);
        out[i].unscored = unscored;
    }
    out
}

/// The sum of the first-level indicators.
pub fn total_centi(scores: &[IndicatorScore]) -> i64 {
    scores
        .iter()
        .filter(|s| s.parent.is_none())
        .map(|s| s.score_centi)
        .sum()
}

impl Audited for evaluation_indicator::Model {
    const TARGET: &'static str = "IndicatorScore";
    fn audit_id(&self) -> String {
        self.id.to_string()
    }
    fn snapshot(&self) -> serde_json::Value {
        json!({"campaign_id": self.campaign_id, "code": self.code, "weight_centi": self.weight_centi,
               "score_centi": self.score_centi, "comment": self.comment, "measured": self.measured})
    }
}

const MAX_REASON_CHARS: usize = 2000;

/// A score as sent (points, e.g. 14 or 13.5) in hundredths: finite, at most two decimals.
fn score_in_centi(score: f64) -> DomainResult<i64> {
    let bad = |m: &'static str| DomainError::validation("score", m);
    if !score.is_finite() {
        return Err(bad("得分须为数字"));
    }
    let centi = (score * 100.0).round();
    if ((score * 100.0) - centi).abs() > 1e-6 {
        return Err(bad("得分最多保留两位小数"));
    }
    if centi < 0.0 {
        return Err(bad("得分不能为负数"));
    }
    if centi > 1e9 {
        return Err(bad("得分超出分值"));
    }
    Ok(centi as i64)
}

/// `scoreIndicator` (EVALUATOR) in SCORING..FEEDBACK: an indicator scored by hand (BENEFIT.*)
/// gets a score between 0 and its weight and a written reason. A computed indicator, an
/// unknown code, a score out of range or a missing reason is VALIDATION, nothing written.
pub async fn score_indicator(
    s: &Services,
    actor: &Actor,
    campaign_id: i64,
    code: &str,
    score: f64,
    comment: &str,
) -> DomainResult<()> {
    actor.require(Permission::Evaluate)?;
    let mut change = Change::begin(&s.db, Some(actor), "scoreIndicator").await?;
    let state = load(change.txn(), actor, campaign_id).await?;
    require_open(&state, &SCORING_STEPS, "评分")?;
    let row = evaluation_indicator::Entity::find()
        .filter(evaluation_indicator::Column::CampaignId.eq(campaign_id))
        .filter(evaluation_indicator::Column::Code.eq(code.trim()))
        .one(change.txn())
        .await?
        .ok_or_else(|| DomainError::validation("code", format!("指标“{}”不存在", code.trim())))?;
    if row.computed {
        return Err(DomainError::validation(
            "code",
            format!("“{}”由系统根据数据计算，不能人工评分", row.name),
        ));
    }
    let centi = score_in_centi(score)?;
    if centi > i64::from(row.weight_centi) {
        return Err(DomainError::validation(
            "score",
            format!(
                "“{}”的得分不能超过其分值 {}",
                row.name,
                points(row.weight_centi.into())
            ),
        ));
    }
    let reason = comment.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Err(DomainError::validation(
            "comment",
            format!("请填写评分理由（不超过 {MAX_REASON_CHARS} 个字符）"),
        ));
    }
    let mut am: evaluation_indicator::ActiveModel = row.clone().into();
    am.score_centi = Set(Some(centi as i32));
    am.comment = Set(Some(reason.to_string()));
    am.scored_by = Set(Some(actor.user_id));
    am.scored_at = Set(Some(change.now()));
    change.update_audited(&row, am).await?;
    change.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests;
