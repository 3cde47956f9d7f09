//! Campaigns (项目): created by ADMIN with a budget, a period and their policy references, and
//! who may see them (the one visibility rule). Categories are `categories`, the stages
//! `stages`, moving forward `lifecycle`.
use crate::core::error::{DomainError, DomainResult};
use crate::core::money::Money;
use crate::people::access::{Actor, Permission, Scope};
use crate::people::audit::{Audited, Change};
use crate::people::organizations::clean_name;
use crate::plan::stages::Stage;
use chrono::NaiveDate;
use entities::{campaign, organization};
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder,
};
use serde_json::json;
use std::collections::HashMap;

pub fn policy_refs(c: &campaign::Model) -> Vec<String> {
    serde_json::from_str(&c.policy_refs).unwrap_or_default()
}
impl Audited for campaign::Model {
    const TARGET: &'static str = "Campaign";
    fn audit_id(&self) -> String {
        self.id.to_string()
    }
    fn snapshot(&self) -> serde_json::Value {
        let c = self;
        json!({
            "name": c.name, "year": c.year, "budget": Money::from_fen(c.budget_fen).to_string(),
            "stage": c.stage, "starts_on": c.starts_on.to_string(), "deadline": c.deadline.to_string(),
            "policy_refs": policy_refs(c), "organization_id": c.organization_id,
            "entry_deadline_days": c.entry_deadline_days,
        })
    }
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
    let am = campaign::ActiveModel {
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
    };
    change.insert_audited(am).await
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
            .add(
                campaign::Column::OrganizationId
                    .in_subquery(crate::people::organizations::subtree_ids(prefix)),
            ),
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

#[cfg(test)]
mod tests {
    use super::*;

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
