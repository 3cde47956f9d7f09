//! The figures an evaluation is made of, read from the data in a handful of aggregate
//! statements (no row per recipient is loaded, whatever the campaign's size): the plan against
//! what was served per category, the money, the payment dates against the deadline, the
//! provincial entry, the satisfaction surveys and the latest sample. Plain data: the indicators
//! (`indicators`), the narrative drafts (`narratives`) and the reports are computed from it,
//! and an ARCHIVED evaluation keeps it frozen as JSON.
use crate::core::error::{DomainError, DomainResult};
use crate::core::money::Money;
use crate::evaluation::surveys::SurveyChannel;
use crate::funds::figures as money_figures;
use crate::funds::ledger::EntryKind;
use crate::plan::campaign::policy_refs;
use crate::plan::statuses::SERVED_STATES;
use chrono::NaiveDate;
use entities::{campaign, category, ledger_entry, sample, survey_response};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Plan against result of one category (慰问类别).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CategoryFigures {
    pub code: String,
    pub name: String,
    /// PERSON or UNIT.
    pub recipient_kind: String,
    pub planned: i64,
    /// Recipients with a PAID or CONFIRMED disbursement.
    pub served: i64,
    pub standard_fen: i64,
    /// Paid out to this category (PAID + CONFIRMED).
    pub spent_fen: i64,
}

impl CategoryFigures {
    pub fn standard(&self) -> Money {
        Money::from_fen(self.standard_fen)
    }
    pub fn spent(&self) -> Money {
        Money::from_fen(self.spent_fen)
    }
    /// served / planned, not capped (0 when nothing was planned).
    pub fn completion(&self) -> f64 {
        if self.planned <= 0 {
            0.0
        } else {
            self.served as f64 / self.planned as f64
        }
    }
}

/// The satisfaction surveys (满意度回访) of a campaign.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SurveyFigures {
    pub responses: i64,
    pub satisfied: i64,
    pub by_phone: i64,
    pub onsite: i64,
    pub by_wechat: i64,
}

impl SurveyFigures {
    /// satisfied / responses; None before the first answer.
    pub fn rate(&self) -> Option<f64> {
        (self.responses > 0).then(|| self.satisfied as f64 / self.responses as f64)
    }
}

/// The latest sample drawn for the surveys.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SampleFigures {
    pub id: i64,
    pub seed: i64,
    pub size: i64,
    /// Served recipients it was drawn from.
    pub population: i64,
    /// Non-empty strata (category × nominating organisation).
    pub strata: i64,
}

impl SampleFigures {
    /// The method in the report's words.
    pub fn method(&self) -> String {
        format!(
            "分层随机抽样：按慰问类别和推荐单位分为 {} 层，按比例分配样本并保证每类对象至少 1 人，\
             从 {} 名已发放对象中抽取 {} 名（随机种子 {}，可复现）",
            self.strata, self.population, self.size, self.seed
        )
    }
}

/// Every figure of a campaign's evaluation. Money in fen (`*_fen`, with `Money` accessors);
/// counts of disbursements are of paid ones (PAID or CONFIRMED) unless named otherwise.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    pub campaign_id: i64,
    pub campaign_name: String,
    pub year: i32,
    pub starts_on: NaiveDate,
    /// The campaign's deadline (春节前).
    pub deadline: NaiveDate,
    pub policy_refs: Vec<String>,
    pub budget_fen: i64,
    /// Funding booked into the special ledger (reversals deducted).
    pub funded_fen: i64,
    /// The first and the last day funding was received.
    pub first_funding_on: Option<NaiveDate>,
    pub last_funding_on: Option<NaiveDate>,
    /// Paid out (PAID + CONFIRMED disbursements).
    pub spent_fen: i64,
    /// In the order the categories were added.
    pub categories: Vec<CategoryFigures>,
    /// Paid disbursements: all, by bank transfer (CASH), in goods.
    pub paid: i64,
    pub paid_cash: i64,
    pub paid_goods: i64,
    /// Paid disbursements whose recipient was VERIFIED when the disbursement was planned.
    pub verified_at_plan: i64,
    /// Paid on or before the deadline.
    pub paid_on_time: i64,
    /// At or under their category's standard.
    pub within_standard: i64,
    pub first_paid_on: Option<NaiveDate>,
    pub last_paid_on: Option<NaiveDate>,
    /// Paid, not entered into the provincial platform, and past the entry deadline (as of `as_of`).
    pub entry_overdue: i64,
    /// Paid and not entered into the provincial platform.
    pub not_entered: i64,
    pub surveys: SurveyFigures,
    pub sample: Option<SampleFigures>,
    /// The day the figures were read (frozen with an ARCHIVED evaluation).
    pub as_of: NaiveDate,
}

impl Figures {
    pub fn budget(&self) -> Money {
        Money::from_fen(self.budget_fen)
    }
    pub fn funded(&self) -> Money {
        Money::from_fen(self.funded_fen)
    }
    pub fn spent(&self) -> Money {
        Money::from_fen(self.spent_fen)
    }
    /// spent / budget, not capped (0 without a budget).
    pub fn execution_rate(&self) -> f64 {
        if self.budget_fen <= 0 {
            0.0
        } else {
            self.spent_fen as f64 / self.budget_fen as f64
        }
    }
    pub fn planned(&self) -> i64 {
        self.categories.iter().map(|c| c.planned).sum()
    }
    pub fn served(&self) -> i64 {
        self.categories.iter().map(|c| c.served).sum()
    }
    /// Days between the first funding and the deadline (negative: after it).
    pub fn funding_days_before_deadline(&self) -> Option<i64> {
        self.first_funding_on.map(|d| (self.deadline - d).num_days())
    }
    /// Paid disbursements paid after the deadline.
    pub fn paid_late(&self) -> i64 {
        self.paid - self.paid_on_time
    }
    /// Categories that served fewer than planned.
    pub fn below_target(&self) -> impl Iterator<Item = &CategoryFigures> {
        self.categories.iter().filter(|c| c.served < c.planned)
    }
}

/// Reads the figures of `c` as of `today` (the entry deadlines are judged on that day).
pub async fn compute<C: ConnectionTrait>(
    db: &C,
    c: &campaign::Model,
    today: NaiveDate,
) -> DomainResult<Figures> {
    let cats = category::Entity::find()
        .filter(category::Column::CampaignId.eq(c.id))
        .order_by_asc(category::Column::Id)
        .all(db)
        .await?;
    let mut f = Figures {
        campaign_id: c.id,
        campaign_name: c.name.clone(),
        year: c.year,
        starts_on: c.starts_on,
        deadline: c.deadline,
        policy_refs: policy_refs(c),
        budget_fen: c.budget_fen,
        funded_fen: 0,
        first_funding_on: None,
        last_funding_on: None,
        spent_fen: 0,
        categories: Vec::with_capacity(cats.len()),
        paid: 0,
        paid_cash: 0,
        paid_goods: 0,
        verified_at_plan: 0,
        paid_on_time: 0,
        within_standard: 0,
        first_paid_on: None,
        last_paid_on: None,
        entry_overdue: 0,
        not_entered: 0,
        surveys: SurveyFigures::default(),
        sample: None,
        as_of: today,
    };
    let mut by_category: BTreeMap<i64, CategoryFigures> = cats
        .iter()
        .map(|k| {
            (
                k.id,
                CategoryFigures {
                    code: k.code.clone(),
                    name: k.name.clone(),
                    recipient_kind: k.recipient_kind.clone(),
                    planned: k.planned_count.into(),
                    served: k.served_count.into(),
                    standard_fen: k.standard_fen,
                    spent_fen: 0,
                },
            )
        })
        .collect();
    paid_groups(db, c, &mut f, &mut by_category).await?;
    f.categories = cats.iter().filter_map(|k| by_category.remove(&k.id)).collect();

    let (_, funded) = crate::funds::ledger::sums(db, c.id).await?;
    f.funded_fen = funded;
    let (first, last): (Option<NaiveDate>, Option<NaiveDate>) = ledger_entry::Entity::find()
        .select_only()
        .column_as(Expr::col(ledger_entry::Column::BookedOn).min(), "first")
        .column_as(Expr::col(ledger_entry::Column::BookedOn).max(), "last")
        .filter(ledger_entry::Column::CampaignId.eq(c.id))
        .filter(ledger_entry::Column::Kind.eq(EntryKind::Funding.as_str()))
        .into_tuple()
        .one(db)
        .await?
        .unwrap_or((None, None));
    f.first_funding_on = first;
    f.last_funding_on = last;

    let m = money_figures::figures(db, c.id, today).await?;
    f.entry_overdue = m.entry_overdue;
    f.not_entered = m.not_entered;

    f.surveys = surveys(db, c.id).await?;
    f.sample = sample::Entity::find()
        .filter(sample::Column::CampaignId.eq(c.id))
        .order_by_desc(sample::Column::Id)
        .one(db)
        .await?
        .map(|s| SampleFigures {
            id: s.id,
            seed: s.seed,
            size: s.size.into(),
            population: s.population.into(),
            strata: s.strata.into(),
        });
    Ok(f)
}

/// Paid disbursements grouped by category, payment day and kind: a few rows per campaign.
async fn paid_groups<C: ConnectionTrait>(
    db: &C,
    c: &campaign::Model,
    f: &mut Figures,
    by_category: &mut BTreeMap<i64, CategoryFigures>,
) -> DomainResult<()> {
    let served = SERVED_STATES
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ");
    // Only the campaign id (an integer) and the status codes (constants) enter the text.
    let sql = format!(
        "SELECT d.category_id AS category_id, d.paid_on AS paid_on, d.kind AS kind, \
         CAST(COUNT(*) AS BIGINT) AS n, \
         CAST(COALESCE(SUM(d.amount_fen), 0) AS BIGINT) AS total, \
         CAST(SUM(CASE WHEN d.recipient_verified_at_plan THEN 1 ELSE 0 END) AS BIGINT) AS verified, \
         CAST(SUM(CASE WHEN d.amount_fen <= k.standard_fen THEN 1 ELSE 0 END) AS BIGINT) AS within \
         FROM disbursements d JOIN categories k ON k.id = d.category_id \
         WHERE d.campaign_id = {} AND d.status IN ({served}) \
         GROUP BY d.category_id, d.paid_on, d.kind",
        c.id
    );
    let rows = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?;
    for row in rows {
        let category_id: i64 = row.try_get("", "category_id")?;
        let paid_on: Option<NaiveDate> = row.try_get("", "paid_on")?;
        let kind: String = row.try_get("", "kind")?;
        let n: i64 = row.try_get("", "n")?;
        let total: i64 = row.try_get("", "total")?;
        let verified: i64 = row.try_get("", "verified")?;
        let within: i64 = row.try_get("", "within")?;
        f.paid += n;
        f.spent_fen += total;
        if kind == "GOODS" {
            f.paid_goods += n;
        } else {
            f.paid_cash += n;
        }
        f.verified_at_plan += verified;
        f.within_standard += within;
        if let Some(day) = paid_on {
            if day <= c.deadline {
                f.paid_on_time += n;
            }
            f.first_paid_on = Some(f.first_paid_on.map_or(day, |d| Ord::min(d, day)));
            f.last_paid_on = Some(f.last_paid_on.map_or(day, |d| Ord::max(d, day)));
        }
        let k = by_category
            .get_mut(&category_id)
            .ok_or_else(|| DomainError::internal(anyhow::anyhow!("disbursement of an unknown category")))?;
        k.spent_fen += total;
    }
    Ok(())
}

async fn surveys<C: ConnectionTrait>(db: &C, campaign_id: i64) -> DomainResult<SurveyFigures> {
    let groups: Vec<(String, bool, i64)> = survey_response::Entity::find()
        .select_only()
        .column(survey_response::Column::Channel)
        .column(survey_response::Column::Satisfied)
        .column_as(Expr::cust("CAST(COUNT(*) AS BIGINT)"), "n")
        .filter(survey_response::Column::CampaignId.eq(campaign_id))
        .group_by(survey_response::Column::Channel)
        .group_by(survey_response::Column::Satisfied)
        .into_tuple()
        .all(db)
        .await?;
    let mut s = SurveyFigures::default();
    for (channel, satisfied, n) in groups {
        s.responses += n;
        if satisfied {
            s.satisfied += n;
        }
        match channel.parse() {
            Ok(SurveyChannel::Phone) => s.by_phone += n,
            Ok(SurveyChannel::Onsite) => s.onsite += n,
            Ok(SurveyChannel::Wechat) => s.by_wechat += n,
            Err(()) => {}
        }
    }
    Ok(s)
}
