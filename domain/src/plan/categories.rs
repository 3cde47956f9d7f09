//! A campaign's categories (慰问类别) with their planned counts and standards: part of the
//! plan, added while the campaign is prepared or its recipients screened.
use crate::core::error::{DomainError, DomainResult, on_unique};
use crate::core::money::Money;
use crate::people::access::{Actor, Permission, Scope};
use crate::people::audit::{Audited, Change};
use crate::people::organizations::clean_name;
use crate::plan::campaign::find_visible;
use crate::plan::stages::{Stage, stage_of};
use entities::{campaign, category};
use sea_orm::sea_query::Query;
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;
use std::collections::HashMap;

crate::core::codes::coded_enum! {
    pub enum RecipientKind {
        Person = "PERSON",
        Unit = "UNIT",
    }
}
impl Audited for category::Model {
    const TARGET: &'static str = "Category";
    fn audit_id(&self) -> String {
        self.id.to_string()
    }
    fn snapshot(&self) -> serde_json::Value {
        let c = self;
        json!({
            "campaign_id": c.campaign_id, "code": c.code, "name": c.name, "recipient_kind": c.recipient_kind,
            "planned_count": c.planned_count, "standard": Money::from_fen(c.standard_fen).to_string(),
        })
    }
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
    let am = category::ActiveModel {
        campaign_id: Set(campaign.id),
        code: Set(code.to_string()),
        name: Set(name),
        recipient_kind: Set(new.recipient_kind.as_str().into()),
        planned_count: Set(new.planned_count),
        standard_fen: Set(standard.fen()),
        ..Default::default()
    };
    change
        .insert_audited_or(
            am,
            on_unique(|| DomainError::Conflict("该项目已有相同编码的类别".into())),
        )
        .await
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
/// Ids of a campaign's categories with `code` (none or one), as a sub-query for list filters.
pub(crate) fn category_ids_with_code(campaign_id: i64, code: &str) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(category::Column::Id)
        .from(category::Entity)
        .and_where(category::Column::CampaignId.eq(campaign_id))
        .and_where(category::Column::Code.eq(code.trim()))
        .to_owned()
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
