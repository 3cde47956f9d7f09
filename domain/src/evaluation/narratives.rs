//! The narrative sections of the evaluation report (评价结论 · 经验做法 · 存在问题 · 相关建议).
//! When the evaluation enters SCORING each section starts as a draft written from the figures:
//! the findings the data shows by itself — funding that arrived shortly before the deadline
//! (the 2025 report's own problem, 资金到位时间较晚), payments after the deadline, provincial
//! entries overdue, categories below their target, satisfaction below the target — and the
//! evaluators edit them (`setNarrative`) until the evaluation is archived.
use crate::core::error::{DomainError, DomainResult};
use crate::core::services::Services;
use crate::evaluation::figures::Figures;
use crate::evaluation::indicators::{SATISFACTION_TARGET, percent};
use crate::evaluation::state::{SCORING_STEPS, load, require_open};
use crate::people::access::{Actor, Permission};
use crate::people::audit::{Audited, Change};
use chrono::{DateTime, Utc};
use entities::narrative;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::json;

crate::core::codes::coded_enum! {
    pub enum Section {
        Conclusion = "CONCLUSION",
        Experience = "EXPERIENCE",
        Problems = "PROBLEMS",
        Suggestions = "SUGGESTIONS",
    }
}

impl Section {
    pub fn label(self) -> &'static str {
        match self {
            Section::Conclusion => "评价结论",
            Section::Experience => "主要经验及做法",
            Section::Problems => "存在的问题及原因分析",
            Section::Suggestions => "相关建议",
        }
    }
}

/// One section as answered (`Narrative`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Narrative {
    pub section: Section,
    pub text: String,
    /// Still the draft written from the figures.
    pub drafted: bool,
}

/// Funding that arrives this close to the deadline (or later) leaves the work too little time.
pub const LATE_FUNDING_DAYS: i64 = 30;
const MAX_TEXT_CHARS: usize = 20_000;

/// What the figures say went wrong, each with its suggestion.
fn findings(f: &Figures) -> Vec<(String, String)> {
    let mut out = Vec::new();
    match (f.first_funding_on, f.funding_days_before_deadline()) {
        (Some(on), Some(days)) if days < LATE_FUNDING_DAYS => out.push((
            format!(
                "预算执行进度有待优化：资金于 {on} 到位，距截止日期 {} 仅 {days} 天，慰问经费支付和物资采购时间紧张。",
                f.deadline
            ),
            "加强预算管理，提前做好项目资金申报和预算编制，争取资金早到位、早安排、早实施。".to_string(),
        )),
        (None, _) => out.push((
            "项目尚未登记资金到账。".to_string(),
            "及时登记资金到账情况，设立专项台账，专款专用。".to_string(),
        )),
        _ => {}
    }
    if f.paid_late() > 0 {
        out.push((
            format!(
                "有 {} 笔慰问金（物资）在截止日期 {} 之后发放。",
                f.paid_late(),
                f.deadline
            ),
            "合理安排发放进度，确保慰问在截止日期（春节）前发放到位。".to_string(),
        ));
    }
    if f.entry_overdue > 0 {
        out.push((
            format!(
                "有 {} 笔发放记录超过录入时限仍未录入省帮扶工作管理系统。",
                f.entry_overdue
            ),
            "在资金发放 30 个工作日内完成省平台录入，专人跟踪到期提醒。".to_string(),
        ));
    }
    let below: Vec<String> = f
        .below_target()
        .map(|c| format!("{}（计划 {}，实际 {}）", c.name, c.planned, c.served))
        .collect();
    if !below.is_empty() {
        out.push((
            format!("部分类别未完成计划慰问数量：{}。", below.join("；")),
            "加强基层摸排和对象审核，确保符合条件的对象应帮尽帮、不漏一人。".to_string(),
        ));
    }
    if f.within_standard < f.paid {
        out.push((
            format!("有 {} 笔发放高于所在类别的慰问标准。", f.paid - f.within_standard),
            "严格执行慰问标准，超标准发放须说明依据并重新审核。".to_string(),
        ));
    }
    match f.surveys.rate() {
        Some(rate) if rate < SATISFACTION_TARGET => out.push((
            format!(
                "受慰问对象满意度为 {}，低于 {} 的绩效目标。",
                percent(f.surveys.satisfied, f.surveys.responses),
                percent(9, 10)
            ),
            "梳理回访中反映的问题，改进慰问组织和发放方式，提升职工满意度。".to_string(),
        )),
        None => out.push((
            "尚未开展满意度回访。".to_string(),
            "按抽样方案通过电话、现场和微信开展满意度回访。".to_string(),
        )),
        _ => {}
    }
    out
}

/// The drafts of the four sections, from the figures.
pub fn drafts(f: &Figures) -> Vec<(Section, String)> {
    let found = findings(f);
    let mut conclusion = format!(
        "{}预算资金 {} 元，到位资金 {} 元，实际支出 {} 元，预算执行率 {}。计划慰问 {} 人（个），实际慰问 {} 人（个），完成率 {}。",
        f.campaign_name,
        f.budget(),
        f.funded(),
        f.spent(),
        percent(f.spent_fen, f.budget_fen),
        f.planned(),
        f.served(),
        percent(f.served().min(f.planned()), f.planned()),
    );
    if f.paid > 0 {
        conclusion.push_str(&format!(
            "共发放 {} 笔，{} 前发放 {} 笔，未超标准发放 {} 笔。",
            f.paid, f.deadline, f.paid_on_time, f.within_standard
        ));
    }
    if f.surveys.responses > 0 {
        conclusion.push_str(&format!(
            "回访 {} 人，满意 {} 人，满意度 {}。",
            f.surveys.responses,
            f.surveys.satisfied,
            percent(f.surveys.satisfied, f.surveys.responses)
        ));
    }
    conclusion.push_str(if found.is_empty() {
        "项目资金管理规范，发放程序合规，慰问活动按时完成。"
    } else {
        "项目总体按计划实施，但存在以下问题需要改进（见“存在的问题”）。"
    });

    let mut experience = Vec::new();
    if f.paid > 0 && f.verified_at_plan == f.paid {
        experience.push(format!(
            "严格审核慰问对象，全部 {} 笔发放均在对象审核确认后安排，做到不漏不重。",
            f.paid
        ));
    }
    if f.paid_cash > 0 {
        experience.push(format!(
            "资金发放实行实名制，{} 笔慰问金通过银行转账发放到个人。",
            f.paid_cash
        ));
    }
    if f.paid_goods > 0 {
        experience.push(format!(
            "慰问物资按政府采购程序采购，向 {} 个单位（对象）发放物资。",
            f.paid_goods
        ));
    }
    if f.paid > 0 && f.paid_on_time == f.paid {
        experience.push(format!("全部慰问在截止日期 {} 前发放到位。", f.deadline));
    }
    if f.paid > 0 && f.within_standard == f.paid {
        experience.push("严格执行慰问标准，无超标准发放。".to_string());
    }
    if experience.is_empty() {
        experience.push("（待评价组根据实地走访情况补充）".to_string());
    }
    let numbered = |items: Vec<String>| {
        items
            .iter()
            .enumerate()
            .map(|(i, t)| format!("{}. {t}", i + 1))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let (problems, suggestions) = if found.is_empty() {
        (
            vec!["数据中未发现资金到位、发放时效、省平台录入、计划完成或满意度方面的问题。".to_string()],
            vec!["继续保持规范管理，提前做好下一年度慰问项目的资金申报和对象摸排。".to_string()],
        )
    } else {
        found.into_iter().unzip()
    };
    vec![
        (Section::Conclusion, conclusion),
        (Section::Experience, numbered(experience)),
        (Section::Problems, numbered(problems)),
        (Section::Suggestions, numbered(suggestions)),
    ]
}

impl Audited for narrative::Model {
    const TARGET: &'static str = "Narrative";
    fn audit_id(&self) -> String {
        self.id.to_string()
    }
    fn snapshot(&self) -> serde_json::Value {
        json!({"campaign_id": self.campaign_id, "section": self.section, "text": self.text, "drafted": self.drafted})
    }
}

/// Writes the drafts of a campaign's sections (on entering SCORING), replacing none that an
/// evaluator has already written.
pub async fn write_drafts(change: &mut Change, campaign_id: i64, f: &Figures) -> DomainResult<()> {
    let existing = narrative::Entity::find()
        .filter(narrative::Column::CampaignId.eq(campaign_id))
        .all(change.txn())
        .await?;
    for (section, text) in drafts(f) {
        if existing.iter().any(|n| n.section == section.as_str()) {
            continue;
        }
        change
            .insert_audited(narrative::ActiveModel {
                campaign_id: Set(campaign_id),
                section: Set(section.as_str().into()),
                text: Set(text),
                drafted: Set(true),
                updated_by: Set(None),
                updated_at: Set(change.now()),
                ..Default::default()
            })
            .await?;
    }
    Ok(())
}

/// A campaign's sections in report order.
pub async fn of_campaign<C: ConnectionTrait>(db: &C, campaign_id: i64) -> DomainResult<Vec<Narrative>> {
    let rows = narrative::Entity::find()
        .filter(narrative::Column::CampaignId.eq(campaign_id))
        .all(db)
        .await?;
    let mut out: Vec<Narrative> = rows
        .into_iter()
        .filter_map(|r| {
            Some(Narrative {
                section: r.section.parse().ok()?,
                text: r.text,
                drafted: r.drafted,
            })
        })
        .collect();
    out.sort_by_key(|n| Section::ALL.iter().position(|s| *s == n.section));
    Ok(out)
}

/// `setNarrative` (EVALUATOR) in SCORING..FEEDBACK: replaces a section's text.
pub async fn set_narrative(
    s: &Services,
    actor: &Actor,
    campaign_id: i64,
    section: Section,
    text: &str,
) -> DomainResult<()> {
    actor.require(Permission::Evaluate)?;
    let mut change = Change::begin(&s.db, Some(actor), "setNarrative").await?;
    let state = load(change.txn(), actor, campaign_id).await?;
    require_open(&state, &SCORING_STEPS, "修改评价文字")?;
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_TEXT_CHARS {
        return Err(DomainError::validation(
            "text",
            format!("内容应为 1 至 {MAX_TEXT_CHARS} 个字符"),
        ));
    }
    let now: DateTime<Utc> = change.now();
    let existing = narrative::Entity::find()
        .filter(narrative::Column::CampaignId.eq(campaign_id))
        .filter(narrative::Column::Section.eq(section.as_str()))
        .one(change.txn())
        .await?;
    match existing {
        Some(before) => {
            let mut am: narrative::ActiveModel = before.clone().into();
            am.text = Set(text.to_string());
            am.drafted = Set(false);
            am.updated_by = Set(Some(actor.user_id));
            am.updated_at = Set(now);
            change.update_audited(&before, am).await?;
        }
        None => {
            change
                .insert_audited(narrative::ActiveModel {
                    campaign_id: Set(campaign_id),
                    section: Set(section.as_str().into()),
                    text: Set(text.to_string()),
                    drafted: Set(false),
                    updated_by: Set(Some(actor.user_id)),
                    updated_at: Set(now),
                    ..Default::default()
                })
                .await?;
        }
    }
    change.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluation::figures::{CategoryFigures, SurveyFigures};
    use chrono::NaiveDate;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// A small campaign: two categories, everything as planned, funded well ahead.
    fn figures() -> Figures {
        Figures {
            campaign_id: 1,
            campaign_name: "送温暖".into(),
            year: 2025,
            starts_on: day("2025-01-15"),
            deadline: day("2025-01-28"),
            policy_refs: vec![],
            budget_fen: 100_000,
            funded_fen: 100_000,
            first_funding_on: Some(day("2024-12-01")),
            last_funding_on: Some(day("2024-12-01")),
            spent_fen: 100_000,
            categories: vec![
                CategoryFigures {
                    code: "A".into(),
                    name: "困难职工".into(),
                    recipient_kind: "PERSON".into(),
                    planned: 1,
                    served: 1,
                    standard_fen: 50_000,
                    spent_fen: 50_000,
                },
                CategoryFigures {
                    code: "B".into(),
                    name: "一线职工".into(),
                    recipient_kind: "PERSON".into(),
                    planned: 1,
                    served: 1,
                    standard_fen: 50_000,
                    spent_fen: 50_000,
                },
            ],
            paid: 2,
            paid_cash: 2,
            paid_goods: 0,
            verified_at_plan: 2,
            paid_on_time: 2,
            within_standard: 2,
            first_paid_on: Some(day("2025-01-20")),
            last_paid_on: Some(day("2025-01-20")),
            entry_overdue: 0,
            not_entered: 0,
            surveys: SurveyFigures {
                responses: 2,
                satisfied: 2,
                by_phone: 2,
                onsite: 0,
                by_wechat: 0,
            },
            sample: None,
            as_of: day("2025-03-01"),
        }
    }

    fn text(f: &Figures, s: Section) -> String {
        drafts(f).into_iter().find(|(k, _)| *k == s).unwrap().1
    }

    #[test]
    fn a_clean_campaign_has_no_findings() {
        let f = figures();
        assert!(findings(&f).is_empty());
        assert!(text(&f, Section::Problems).contains("未发现"));
        assert!(text(&f, Section::Experience).contains("银行转账"));
        assert!(text(&f, Section::Conclusion).contains("1000.00"));
    }

    #[test]
    fn each_finding_is_written_with_its_suggestion() {
        let mut f = figures();
        f.first_funding_on = Some(day("2025-01-10"));
        f.paid_on_time = 1;
        f.entry_overdue = 3;
        f.categories[1].served = 0;
        f.surveys.satisfied = 1;
        let problems = text(&f, Section::Problems);
        for part in [
            "2025-01-10",
            "仅 18 天",
            "有 1 笔",
            "有 3 笔",
            "一线职工（计划 1，实际 0）",
            "满意度为 50%",
        ] {
            assert!(problems.contains(part), "{part}: {problems}");
        }
        assert_eq!(
            text(&f, Section::Suggestions).lines().count(),
            problems.lines().count()
        );
        // Funding exactly LATE_FUNDING_DAYS ahead is in time.
        let mut f = figures();
        f.first_funding_on = Some(f.deadline - chrono::Duration::days(LATE_FUNDING_DAYS));
        assert!(findings(&f).is_empty());
    }
}
