//! Campaigns (项目), their categories with planned counts and standards, and the stage life
//! cycle PREPARATION → SCREENING → PROCUREMENT → DISTRIBUTION → REVIEW → CLOSED: forward one
//! step at a time, by ADMIN, each step behind the guard in `stage_guard`.
use crate::access::{Actor, Permission, Scope};
use crate::audit::Change;
use crate::error::{DomainError, DomainResult, on_unique};
use crate::money::Money;
use crate::organizations::clean_name;
use chrono::NaiveDate;
use entities::{campaign, category, organization};
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
};
use serde_json::json;
use std::collections::HashMap;

pub mod counters;

crate::codes::coded_enum! {
    #[derive(PartialOrd, Ord)]
    pub enum Stage {
        Preparation = "PREPARATION",
        Screening = "SCREENING",
        Procurement = "PROCUREMENT",
        Distribution = "DISTRIBUTION",
        Review = "REVIEW",
        Closed = "CLOSED",
    }
}

impl Stage {
    pub fn label(self) -> &'static str {
        match self {
            Stage::Preparation => "前期筹备",
            Stage::Screening => "对象审核",
            Stage::Procurement => "物资筹备",
            Stage::Distribution => "慰问发放",
            Stage::Review => "后期复盘",
            Stage::Closed => "已结项",
        }
    }

    pub fn next(self) -> Option<Stage> {
        let i = Stage::ALL.iter().position(|s| *s == self)?;
        Stage::ALL.get(i + 1).copied()
    }
}

pub fn stage_of(c: &campaign::Model) -> Stage {
    c.stage.parse().unwrap_or(Stage::Preparation)
}

crate::codes::coded_enum! {
    pub enum RecipientKind {
        Person = "PERSON",
        Unit = "UNIT",
    }
}

pub fn policy_refs(c: &campaign::Model) -> Vec<String> {
    serde_json::from_str(&c.policy_refs).unwrap_or_default()
}

fn snapshot(c: &campaign::Model) -> serde_json::Value {
    json!({
        "name": c.name, "year": c.year, "budget": Money::from_fen(c.budget_fen).to_string(),
        "stage": c.stage, "starts_on": c.starts_on.to_string(), "deadline": c.deadline.to_string(),
        "policy_refs": policy_refs(c), "organization_id": c.organization_id,
        "entry_deadline_days": c.entry_deadline_days,
    })
}

fn category_snapshot(c: &category::Model) -> serde_json::Value {
    json!({
        "campaign_id": c.campaign_id, "code": c.code, "name": c.name, "recipient_kind": c.recipient_kind,
        "planned_count": c.planned_count, "standard": Money::from_fen(c.standard_fen).to_string(),
    })
}

pub struct NewCampaign<'a> {
    pub name: &'a str,
    pub year: i32,
    /// As the client sent it; parsed by `Money::parse`.
    pub budget: &'a str,
    pub starts_on: NaiveDate,
    pub deadline: NaiveDate,
    pub policy_refs: Vec<String>,
    /// Owning organisation; the caller's own when absent.
    pub organization_id: Option<i64>,
    /// Working days allowed for provincial system entry after payment (default 30).
    pub entry_deadline_days: Option<i32>,
}

#[derive(Debug)]
struct ValidCampaign {
    name: String,
    budget: Money,
    policy_refs: Vec<String>,
    entry_deadline_days: i32,
}

fn validate(new: &NewCampaign<'_>) -> DomainResult<ValidCampaign> {
    let name = clean_name("name", new.name, 200)?;
    if !(2000..=2100).contains(&new.year) {
        return Err(DomainError::validation("year", "年度应在 2000 到 2100 之间"));
    }
    let budget = Money::parse("budget", new.budget)?;
    if budget == Money::ZERO {
        return Err(DomainError::validation("budget", "预算必须大于 0"));
    }
    if new.deadline < new.starts_on {
        return Err(DomainError::validation("deadline", "截止日期不能早于开始日期"));
    }
    if new.policy_refs.len() > 20 {
        return Err(DomainError::validation("policyRefs", "政策依据最多 20 条"));
    }
    let policy_refs = new
        .policy_refs
        .iter()
        .map(|r| clean_name("policyRefs", r, 200))
        .collect::<DomainResult<Vec<_>>>()?;
    let entry_deadline_days = new.entry_deadline_days.unwrap_or(30);
    if !(1..=365).contains(&entry_deadline_days) {
        return Err(DomainError::validation(
            "entryDeadlineDays",
            "录入时限应在 1 到 365 个工作日之间",
        ));
    }
    Ok(ValidCampaign {
        name,
        budget,
        policy_refs,
        entry_deadline_days,
    })
}

/// Inserts a campaign inside an open change (the API and demo data come here).
pub async fn insert(
    change: &mut Change,
    new: &NewCampaign<'_>,
    organization_id: i64,
) -> DomainResult<campaign::Model> {
    let v = validate(new)?;
    let created = campaign::ActiveModel {
        name: Set(v.name),
        year: Set(new.year),
        budget_fen: Set(v.budget.fen()),
        stage: Set(Stage::Preparation.as_str().into()),
        starts_on: Set(new.starts_on),
        deadline: Set(new.deadline),
        policy_refs: Set(serde_json::to_string(&v.policy_refs).map_err(DomainError::internal)?),
        organization_id: Set(organization_id),
        entry_deadline_days: Set(v.entry_deadline_days),
        created_at: Set(change.now()),
        ..Default::default()
    }
    .insert(change.txn())
    .await?;
    change
        .record(
            "Campaign",
            Some(created.id.to_string()),
            None,
            Some(&snapshot(&created)),
        )
        .await?;
    Ok(created)
}

pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    new: NewCampaign<'_>,
) -> DomainResult<campaign::Model> {
    actor.require(Permission::ManageCampaigns)?;
    validate(&new)?;
    let mut change = Change::begin(db, Some(actor), "createCampaign").await?;
    let org_id = new.organization_id.unwrap_or(actor.organization_id);
    let org = organization::Entity::find_by_id(org_id)
        .one(change.txn())
        .await?
        .filter(|o| actor.scope().contains_path(&o.path))
        .ok_or_else(|| DomainError::not_found("组织"))?;
    let created = insert(&mut change, &new, org.id).await?;
    change.commit().await?;
    Ok(created)
}

pub struct NewCategory<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub recipient_kind: RecipientKind,
    pub planned_count: i32,
    pub standard_amount: &'a str,
}

/// Categories are part of the plan: they may be added while the campaign is prepared or its
/// recipients screened, not once money is being bought or handed out.
const CATEGORY_STAGES: [Stage; 2] = [Stage::Preparation, Stage::Screening];

pub async fn insert_category(
    change: &mut Change,
    campaign: &campaign::Model,
    new: &NewCategory<'_>,
) -> DomainResult<category::Model> {
    let code = new.code.trim();
    let code_ok = (1..=32).contains(&code.len())
        && code.starts_with(|c: char| c.is_ascii_uppercase())
        && code
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if !code_ok {
        return Err(DomainError::validation(
            "code",
            "类别编码为大写字母开头的 1–32 位大写字母、数字或下划线",
        ));
    }
    let name = clean_name("name", new.name, 100)?;
    if !(0..=1_000_000).contains(&new.planned_count) {
        return Err(DomainError::validation(
            "plannedCount",
            "计划人数应在 0 到 1000000 之间",
        ));
    }
    let standard = Money::parse("standardAmount", new.standard_amount)?;
    if !CATEGORY_STAGES.contains(&stage_of(campaign)) {
        return Err(DomainError::InvalidStage(
            format!("项目处于“{}”阶段，不能再增加类别", stage_of(campaign).label()).into(),
        ));
    }
    let created = category::ActiveModel {
        campaign_id: Set(campaign.id),
        code: Set(code.to_string()),
        name: Set(name),
        recipient_kind: Set(new.recipient_kind.as_str().into()),
        planned_count: Set(new.planned_count),
        standard_fen: Set(standard.fen()),
        ..Default::default()
    }
    .insert(change.txn())
    .await
    .map_err(on_unique(|| {
        DomainError::Conflict("该项目已有相同编码的类别".into())
    }))?;
    change
        .record(
            "Category",
            Some(created.id.to_string()),
            None,
            Some(&category_snapshot(&created)),
        )
        .await?;
    Ok(created)
}

pub async fn add_category(
    db: &DatabaseConnection,
    actor: &Actor,
    campaign_id: i64,
    new: NewCategory<'_>,
) -> DomainResult<category::Model> {
    actor.require(Permission::ManageCampaigns)?;
    let mut change = Change::begin(db, Some(actor), "addCategory").await?;
    let campaign = find_visible(change.txn(), actor, campaign_id).await?;
    let created = insert_category(&mut change, &campaign, &new).await?;
    change.commit().await?;
    Ok(created)
}

/// What must hold before a campaign may enter `to`. Later issues (money, evaluation) add their
/// conditions here, so every stage rule stays in one place.
async fn stage_guard<C: ConnectionTrait>(db: &C, campaign: &campaign::Model, to: Stage) -> DomainResult<()> {
    match to {
        Stage::Screening => {
            let n = category::Entity::find()
                .filter(category::Column::CampaignId.eq(campaign.id))
                .count(db)
                .await?;
            if n == 0 {
                return Err(DomainError::InvalidStage(
                    "项目还没有慰问类别，不能进入对象审核".into(),
                ));
            }
        }
        Stage::Distribution => {
            let (_, funded) = crate::funds::ledger::sums(db, campaign.id).await?;
            if funded <= 0 {
                return Err(DomainError::InvalidStage(
                    "尚未登记资金到账，不能进入慰问发放".into(),
                ));
            }
        }
        Stage::Review => {
            let m = crate::funds::figures(db, campaign.id, chrono::Utc::now().date_naive()).await?;
            if m.open > 0 {
                return Err(DomainError::InvalidStage(
                    format!("还有 {} 笔发放未付款或未撤销，不能进入后期复盘", m.open).into(),
                ));
            }
        }
        Stage::Closed => {
            let m = crate::funds::figures(db, campaign.id, chrono::Utc::now().date_naive()).await?;
            if m.paid_unconfirmed > 0 || m.not_entered > 0 {
                return Err(DomainError::InvalidStage(
                    format!(
                        "还有 {} 笔未签字确认、{} 笔未录入省平台，不能结项",
                        m.paid_unconfirmed, m.not_entered
                    )
                    .into(),
                ));
            }
        }
        Stage::Preparation | Stage::Procurement => {}
    }
    Ok(())
}

pub async fn advance(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    to: Stage,
) -> DomainResult<campaign::Model> {
    actor.require(Permission::AdvanceCampaign)?;
    let mut change = Change::begin(db, Some(actor), "advanceCampaign").await?;
    let before = find_visible(change.txn(), actor, id).await?;
    let current = stage_of(&before);
    if current.next() != Some(to) {
        let msg = match current.next() {
            Some(n) => format!("项目处于“{}”阶段，只能推进到“{}”", current.label(), n.label()),
            None => "项目已结项，不能再推进".to_string(),
        };
        return Err(DomainError::InvalidStage(msg.into()));
    }
    stage_guard(change.txn(), &before, to).await?;
    let mut am: campaign::ActiveModel = before.clone().into();
    am.stage = Set(to.as_str().into());
    let after = am.update(change.txn()).await?;
    change
        .record(
            "Campaign",
            Some(id.to_string()),
            Some(&snapshot(&before)),
            Some(&snapshot(&after)),
        )
        .await?;
    change.commit().await?;
    Ok(after)
}

/// Organisations whose campaigns a scoped caller may see: its ancestors (a county campaign
/// covers its unions) and its own subtree. The one rule for a campaign, whatever the path that
/// reaches it: the roots (`find_visible`, `list`), the lists carrying it in their statements
/// (`visible_subquery`, `visible_ids`), `Recipient.campaign` (`load_many`) and a recipient's
/// earlier campaigns (`recipients::history_of`).
pub(crate) fn visible_condition(scope: &Scope) -> Option<Condition> {
    let Scope::Subtree(prefix) = scope else {
        return None;
    };
    let ancestors: Vec<i64> = prefix.split('/').filter_map(|p| p.parse().ok()).collect();
    Some(
        Condition::any()
            .add(campaign::Column::OrganizationId.is_in(ancestors))
            .add(campaign::Column::OrganizationId.in_subquery(crate::organizations::subtree_ids(prefix))),
    )
}

/// The campaign `id` if a scoped caller may see it, as a sub-query, so a list can carry the
/// visibility check in its own statement; `None` for a caller who sees every campaign.
pub(crate) fn visible_subquery(scope: &Scope, id: i64) -> Option<sea_orm::sea_query::SelectStatement> {
    let cond = visible_condition(scope)?;
    Some(
        Query::select()
            .column(campaign::Column::Id)
            .from(campaign::Entity)
            .and_where(campaign::Column::Id.eq(id))
            .cond_where(cond)
            .to_owned(),
    )
}

/// Ids of every campaign a scoped caller may see, as a sub-query; `None` for a caller who sees
/// every campaign.
pub(crate) fn visible_ids(scope: &Scope) -> Option<sea_orm::sea_query::SelectStatement> {
    let cond = visible_condition(scope)?;
    Some(
        Query::select()
            .column(campaign::Column::Id)
            .from(campaign::Entity)
            .cond_where(cond)
            .to_owned(),
    )
}

/// Ids of a campaign's categories with `code` (none or one), as a sub-query for list filters.
pub(crate) fn category_ids_with_code(campaign_id: i64, code: &str) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(category::Column::Id)
        .from(category::Entity)
        .and_where(category::Column::CampaignId.eq(campaign_id))
        .and_where(category::Column::Code.eq(code.trim()))
        .to_owned()
}

pub(crate) async fn find_visible<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    id: i64,
) -> DomainResult<campaign::Model> {
    let mut q = campaign::Entity::find_by_id(id);
    if let Some(cond) = visible_condition(&actor.scope()) {
        q = q.filter(cond);
    }
    q.one(db).await?.ok_or_else(|| DomainError::not_found("项目"))
}

/// A campaign with its categories (their counters are columns of the category row). For a
/// caller who sees every campaign this is a single statement (the hot read path of the
/// frontends); scoped callers take two.
pub async fn get_with_categories(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
) -> DomainResult<(campaign::Model, Vec<category::Model>)> {
    actor.require(Permission::ReadCampaigns)?;
    if actor.scope() != Scope::All {
        let c = find_visible(db, actor, id).await?;
        let cats = categories_of(db, &[c.id])
            .await?
            .remove(&c.id)
            .unwrap_or_default();
        return Ok((c, cats));
    }
    let rows = campaign::Entity::find_by_id(id)
        .find_with_related(category::Entity)
        .order_by_asc(category::Column::Id)
        .all(db)
        .await?;
    rows.into_iter()
        .next()
        .ok_or_else(|| DomainError::not_found("项目"))
}

pub async fn get(db: &DatabaseConnection, actor: &Actor, id: i64) -> DomainResult<campaign::Model> {
    actor.require(Permission::ReadCampaigns)?;
    find_visible(db, actor, id).await
}

pub async fn list(
    db: &DatabaseConnection,
    actor: &Actor,
    year: Option<i32>,
) -> DomainResult<Vec<campaign::Model>> {
    actor.require(Permission::ReadCampaigns)?;
    let mut q = campaign::Entity::find();
    if let Some(cond) = visible_condition(&actor.scope()) {
        q = q.filter(cond);
    }
    if let Some(y) = year {
        q = q.filter(campaign::Column::Year.eq(y));
    }
    Ok(q.order_by_desc(campaign::Column::Year)
        .order_by_desc(campaign::Column::Id)
        .all(db)
        .await?)
}

/// Categories of several campaigns in one query (DataLoader).
pub async fn categories_of(
    db: &DatabaseConnection,
    campaign_ids: &[i64],
) -> DomainResult<HashMap<i64, Vec<category::Model>>> {
    let rows = category::Entity::find()
        .filter(category::Column::CampaignId.is_in(campaign_ids.iter().copied()))
        .order_by_asc(category::Column::Id)
        .all(db)
        .await?;
    let mut out: HashMap<i64, Vec<category::Model>> = HashMap::new();
    for c in rows {
        out.entry(c.campaign_id).or_default().push(c);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_go_forward_one_at_a_time() {
        assert_eq!(Stage::Preparation.next(), Some(Stage::Screening));
        assert_eq!(Stage::Review.next(), Some(Stage::Closed));
        assert_eq!(Stage::Closed.next(), None);
        assert_eq!("DISTRIBUTION".parse(), Ok(Stage::Distribution));
    }

    fn new(budget: &str) -> NewCampaign<'_> {
        NewCampaign {
            name: "送温暖",
            year: 2025,
            budget,
            starts_on: NaiveDate::from_ymd_opt(2025, 1, 15).unwrap(),
            deadline: NaiveDate::from_ymd_opt(2025, 1, 28).unwrap(),
            policy_refs: vec!["昆工通〔2025〕32号".into()],
            organization_id: None,
            entry_deadline_days: None,
        }
    }

    #[test]
    fn campaign_validation() {
        assert!(validate(&new("150000.00")).is_ok());
        assert_eq!(validate(&new("-1")).unwrap_err().field(), Some("budget"));
        assert_eq!(validate(&new("1.001")).unwrap_err().field(), Some("budget"));
        assert_eq!(validate(&new("0")).unwrap_err().field(), Some("budget"));
        let mut bad_dates = new("1");
        bad_dates.deadline = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
        assert_eq!(validate(&bad_dates).unwrap_err().field(), Some("deadline"));
    }
}

/// A campaign's progress figures (`CampaignProgress`).
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    pub budget: Money,
    pub planned_recipients: i32,
    pub served_recipients: i32,
    pub committed: Money,
    pub spent: Money,
    pub entry_overdue: i32,
    pub satisfaction_rate: Option<f64>,
}

impl Progress {
    pub fn completion_rate(&self) -> f64 {
        ratio(self.served_recipients as i64, self.planned_recipients as i64)
    }

    pub fn execution_rate(&self) -> f64 {
        ratio(self.spent.fen(), self.budget.fen())
    }
}

fn ratio(part: i64, whole: i64) -> f64 {
    if whole <= 0 {
        0.0
    } else {
        (part as f64 / whole as f64).clamp(0.0, 1.0)
    }
}

/// Progress: the plan from the categories, the money from one aggregate over disbursements.
pub fn progress(
    c: &campaign::Model,
    categories: &[category::Model],
    money: &crate::funds::MoneyFigures,
) -> Progress {
    Progress {
        budget: Money::from_fen(c.budget_fen),
        planned_recipients: categories.iter().map(|k| k.planned_count).sum(),
        served_recipients: money.served as i32,
        committed: Money::from_fen(money.committed_fen),
        spent: Money::from_fen(money.spent_fen),
        entry_overdue: money.entry_overdue as i32,
        // Surveys come with the evaluation module.
        satisfaction_rate: None,
    }
}

/// Campaigns by id (DataLoader for `Recipient.campaign`); campaigns the caller may not see are
/// left out, whatever row pointed here.
pub async fn load_many(
    db: &DatabaseConnection,
    scope: &Scope,
    ids: &[i64],
) -> DomainResult<HashMap<i64, campaign::Model>> {
    let mut q = campaign::Entity::find().filter(campaign::Column::Id.is_in(ids.iter().copied()));
    if let Some(cond) = visible_condition(scope) {
        q = q.filter(cond);
    }
    Ok(q.all(db).await?.into_iter().map(|c| (c.id, c)).collect())
}

/// Categories by id (DataLoader for `Recipient.category`).
pub async fn categories_by_id(
    db: &DatabaseConnection,
    ids: &[i64],
) -> DomainResult<HashMap<i64, category::Model>> {
    Ok(category::Entity::find()
        .filter(category::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect())
}
