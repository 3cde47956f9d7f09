//! Demo data: loads a campaign with its organisations, users and categories from a TOML file
//! (`demo/fumin-2025.toml`), through the same domain functions the API uses, in one audited
//! change. Loading twice does nothing the second time.
use crate::core::error::{DomainError, DomainResult};
use crate::core::services::Services;
use crate::people::access::Role;
use crate::people::audit::Change;
use crate::people::organizations::{self, OrgKind};
use crate::people::users::{self, NewUser};
use crate::plan::campaign::{self as campaigns, NewCampaign};
use crate::plan::categories::{self, NewCategory, RecipientKind};
use crate::plan::stages::Stage;
use crate::recipients::fields::RecipientFields;
use crate::recipients::rules as recipients;
use chrono::NaiveDate;
use entities::{campaign, category, organization, recipient, user};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde::Deserialize;
use std::collections::HashMap;

/// The data file shipped with the project.
pub const FUMIN_2025: &str = include_str!("../../demo/fumin-2025.toml");
/// Its recipients (synthetic names, valid ID numbers), in the import file format.
pub const FUMIN_2025_RECIPIENTS: &str = include_str!("../../demo/fumin-2025-recipients.csv");

#[derive(Deserialize)]
pub struct DemoData {
    pub federation: String,
    pub demo_password: String,
    #[serde(default)]
    pub organizations: Vec<DemoOrg>,
    #[serde(default)]
    pub users: Vec<DemoUser>,
    pub campaign: DemoCampaign,
}

#[derive(Deserialize)]
pub struct DemoOrg {
    pub name: String,
    pub kind: String,
    pub parent: String,
}

#[derive(Deserialize)]
pub struct DemoUser {
    pub username: String,
    pub display_name: String,
    pub roles: Vec<String>,
    pub organization: String,
}

#[derive(Deserialize)]
pub struct DemoCampaign {
    pub name: String,
    pub year: i32,
    pub budget: String,
    pub starts_on: NaiveDate,
    pub deadline: NaiveDate,
    #[serde(default)]
    pub policy_refs: Vec<String>,
    pub entry_deadline_days: Option<i32>,
    pub categories: Vec<DemoCategory>,
    /// A CSV in the import format, beside the TOML file: loaded as VERIFIED recipients.
    pub recipients: Option<String>,
    /// The stage the campaign is left in (default PREPARATION).
    pub stage: Option<String>,
    /// Funding, procurement and payments: a fully distributed campaign.
    pub distribution: Option<DemoDistribution>,
}

#[derive(Deserialize)]
pub struct DemoDistribution {
    pub funding_amount: String,
    pub funding_reference: String,
    pub funding_received_on: NaiveDate,
    pub paid_on: NaiveDate,
    pub confirmed_on: NaiveDate,
    pub bank_reference_prefix: String,
    pub provincial_ref: String,
    /// The UNIT category served with goods from the contract.
    pub goods_category: String,
    pub supplier: String,
    pub supplier_credit_code: String,
    pub contract_reference: String,
    pub contract_signed_on: NaiveDate,
    pub contract_delivery_date: NaiveDate,
    pub after_sale_terms: String,
    pub goods_item: String,
}

#[derive(Deserialize)]
pub struct DemoCategory {
    pub code: String,
    pub name: String,
    pub recipient_kind: String,
    pub planned_count: i32,
    pub standard_amount: String,
}

pub fn parse(text: &str) -> DomainResult<DemoData> {
    toml::from_str(text)
        .map_err(|e| DomainError::validation("file", format!("演示数据文件格式错误: {}", e.message())))
}

pub struct DemoSummary {
    pub campaign_id: i64,
    pub organizations: usize,
    pub users: usize,
    pub categories: usize,
    pub recipients: usize,
    pub already_loaded: bool,
}

pub async fn load(s: &Services, data: &DemoData, recipients_csv: Option<&str>) -> DomainResult<DemoSummary> {
    let db = &s.db;
    let mut change = Change::begin(db, None, "loadDemo").await?;
    if let Some(existing) = campaign::Entity::find()
        .filter(campaign::Column::Name.eq(data.campaign.name.as_str()))
        .filter(campaign::Column::Year.eq(data.campaign.year))
        .one(change.txn())
        .await?
    {
        return Ok(DemoSummary {
            campaign_id: existing.id,
            organizations: 0,
            users: 0,
            categories: 0,
            recipients: 0,
            already_loaded: true,
        });
    }
    // The bootstrap made the root federation with a generic name; the demo names it.
    let root = match organizations::find_root(change.txn()).await? {
        Some(r) if r.name != data.federation => {
            let mut am: organization::ActiveModel = r.clone().into();
            am.name = Set(data.federation.clone());
            let renamed = am.update(change.txn()).await?;
            change
                .record(
                    "Organization",
                    Some(renamed.id.to_string()),
                    Some(&serde_json::json!({"name": r.name})),
                    Some(&serde_json::json!({"name": renamed.name})),
                )
                .await?;
            renamed
        }
        Some(r) => r,
        None => organizations::insert(&mut change, &data.federation, OrgKind::Federation, None).await?,
    };
    let mut orgs: HashMap<String, organization::Model> = HashMap::new();
    orgs.insert(root.name.clone(), root.clone());
    let mut new_orgs = 0;
    for o in &data.organizations {
        let parent = orgs.get(&o.parent).cloned().ok_or_else(|| {
            DomainError::validation("organizations", format!("上级组织“{}”未定义", o.parent))
        })?;
        let kind: OrgKind = o
            .kind
            .parse()
            .map_err(|_| DomainError::validation("organizations", format!("组织类型“{}”无效", o.kind)))?;
        let existing = organization::Entity::find()
            .filter(organization::Column::ParentId.eq(parent.id))
            .filter(organization::Column::Name.eq(o.name.as_str()))
            .one(change.txn())
            .await?;
        let org = match existing {
            Some(e) => e,
            None => {
                new_orgs += 1;
                organizations::insert(&mut change, &o.name, kind, Some(&parent)).await?
            }
        };
        orgs.insert(org.name.clone(), org);
    }
    let mut new_users = 0;
    for u in &data.users {
        let org = orgs
            .get(&u.organization)
            .ok_or_else(|| DomainError::validation("users", format!("组织“{}”未定义", u.organization)))?;
        let roles: Vec<Role> = u.roles.iter().filter_map(|r| r.parse().ok()).collect();
        let exists = user::Entity::find()
            .filter(user::Column::Username.eq(u.username.as_str()))
            .one(change.txn())
            .await?
            .is_some();
        if !exists {
            users::insert(
                &mut change,
                &NewUser {
                    username: &u.username,
                    password: &data.demo_password,
                    display_name: &u.display_name,
                    roles: &roles,
                    organization_id: org.id,
                },
            )
            .await?;
            new_users += 1;
        }
    }
    let c = &data.campaign;
    let created = campaigns::insert(
        &mut change,
        &NewCampaign {
            name: &c.name,
            year: c.year,
            budget: &c.budget,
            starts_on: c.starts_on,
            deadline: c.deadline,
            policy_refs: c.policy_refs.clone(),
            organization_id: Some(root.id),
            entry_deadline_days: c.entry_deadline_days,
        },
        root.id,
    )
    .await?;
    let mut categories = HashMap::new();
    for cat in &c.categories {
        let kind: RecipientKind = cat.recipient_kind.parse().map_err(|_| {
            DomainError::validation("categories", format!("对象类型“{}”无效", cat.recipient_kind))
        })?;
        let made = categories::insert_category(
            &mut change,
            &created,
            &NewCategory {
                code: &cat.code,
                name: &cat.name,
                recipient_kind: kind,
                planned_count: cat.planned_count,
                standard_amount: &cat.standard_amount,
            },
        )
        .await?;
        categories.insert(made.code.clone(), made);
    }
    let recipients = match recipients_csv {
        Some(text) => load_recipients(s, &mut change, &created, &categories, &orgs, text).await?,
        None => 0,
    };
    if let Some(dist) = &c.distribution {
        distribute(&mut change, &created, &categories, dist).await?;
    }
    let mut created = crate::core::db::find::<campaign::Entity, _>(change.txn(), created.id, "项目").await?;
    if let Some(stage) = &c.stage {
        let stage: Stage = stage
            .parse()
            .map_err(|_| DomainError::validation("stage", format!("阶段“{stage}”无效")))?;
        let mut am: campaign::ActiveModel = created.clone().into();
        am.stage = Set(stage.as_str().into());
        created = am.update(change.txn()).await?;
    }
    // Recipients and payments were written as rows, not through the transitions.
    crate::plan::counters::recount(change.txn(), created.id).await?;
    change
        .record(
            "Campaign",
            Some(created.id.to_string()),
            None,
            Some(&serde_json::json!({"demo_recipients": recipients, "stage": created.stage})),
        )
        .await?;
    change.commit().await?;
    Ok(DemoSummary {
        campaign_id: created.id,
        organizations: new_orgs,
        users: new_users,
        categories: c.categories.len(),
        recipients,
        already_loaded: false,
    })
}

/// Pays every verified recipient its category's standard: persons by bank transfer, the goods
/// category from one procurement contract; everything confirmed and entered. Money goes
/// through the ledger and the budget guard like any payment.
async fn distribute(
    change: &mut Change,
    campaign: &campaign::Model,
    categories: &HashMap<String, category::Model>,
    d: &DemoDistribution,
) -> DomainResult<()> {
    use crate::funds::{budget, ledger};
    use entities::{contract, contract_line, disbursement, supplier};
    let funding = crate::core::money::Money::parse("funding_amount", &d.funding_amount)?;
    ledger::book(
        change,
        ledger::Booking {
            campaign_id: campaign.id,
            amount_fen: funding.fen(),
            kind: ledger::EntryKind::Funding,
            reference: &d.funding_reference,
            booked_on: d.funding_received_on,
            source_id: None,
            created_by: 0,
        },
    )
    .await?;
    let recipients = recipient::Entity::find()
        .filter(recipient::Column::CampaignId.eq(campaign.id))
        .filter(recipient::Column::Status.eq("VERIFIED"))
        .all(change.txn())
        .await?;
    let by_id: HashMap<i64, &category::Model> = categories.values().map(|c| (c.id, c)).collect();
    let goods = categories
        .get(&d.goods_category)
        .ok_or_else(|| DomainError::validation("goods_category", "物资类别未定义"))?;
    let units = recipients.iter().filter(|r| r.category_id == goods.id).count() as i32;
    let code = crate::funds::procurement::suppliers::CreditCode::parse(&d.supplier_credit_code)?;
    let sup = supplier::ActiveModel {
        name: Set(d.supplier.clone()),
        credit_code: Set(code.as_str().to_string()),
        contact: Set(None),
        created_at: Set(change.now()),
        ..Default::default()
    }
    .insert(change.txn())
    .await?;
    let total = goods.standard_fen * units as i64;
    let k = contract::ActiveModel {
        campaign_id: Set(campaign.id),
        supplier_id: Set(sup.id),
        reference: Set(d.contract_reference.clone()),
        signed_on: Set(d.contract_signed_on),
        delivery_date: Set(d.contract_delivery_date),
        after_sale_terms: Set(d.after_sale_terms.clone()),
        total_fen: Set(total),
        paid_fen: Set(total),
        created_by: Set(0),
        created_at: Set(change.now()),
        ..Default::default()
    }
    .insert(change.txn())
    .await?;
    let line = contract_line::ActiveModel {
        contract_id: Set(k.id),
        item: Set(d.goods_item.clone()),
        quantity: Set(units),
        unit_price_fen: Set(goods.standard_fen),
        delivered: Set(units),
        allocated: Set(units),
        ..Default::default()
    }
    .insert(change.txn())
    .await?;
    change
        .record(
            "Contract",
            Some(k.id.to_string()),
            None,
            Some(&serde_json::json!({"supplier": sup.name, "total_fen": total})),
        )
        .await?;
    budget::commit(change, campaign.id, total).await?;
    ledger::book(
        change,
        ledger::Booking {
            campaign_id: campaign.id,
            amount_fen: -total,
            kind: ledger::EntryKind::ContractPayment,
            reference: &d.contract_reference,
            booked_on: d.contract_delivery_date,
            source_id: Some(k.id),
            created_by: 0,
        },
    )
    .await?;
    let calendar = crate::plan::calendar_store::load(change.txn()).await?;
    let deadline =
        crate::plan::calendar_store::entry_deadline(&calendar, d.paid_on, campaign.entry_deadline_days)?;
    for (n, r) in recipients.iter().enumerate() {
        let cat = by_id
            .get(&r.category_id)
            .ok_or_else(|| DomainError::not_found("类别"))?;
        let is_goods = cat.id == goods.id;
        if !is_goods {
            budget::commit(change, campaign.id, cat.standard_fen).await?;
        }
        let bank_reference = format!("{}{:04}", d.bank_reference_prefix, n + 1);
        let row = disbursement::ActiveModel {
            campaign_id: Set(campaign.id),
            recipient_id: Set(r.id),
            category_id: Set(cat.id),
            kind: Set(if is_goods { "GOODS" } else { "CASH" }.into()),
            amount_fen: Set(cat.standard_fen),
            status: Set("CONFIRMED".into()),
            items: Set(is_goods.then(|| d.goods_item.clone())),
            contract_line_id: Set(is_goods.then_some(line.id)),
            bank_reference: Set((!is_goods).then(|| bank_reference.clone())),
            paid_on: Set(Some(d.paid_on)),
            confirmed_on: Set(Some(d.confirmed_on)),
            notified_at: Set(None),
            entry_deadline: Set(Some(deadline.date)),
            entry_deadline_provisional: Set(deadline.provisional),
            entered_at: Set(Some(change.now())),
            provincial_ref: Set(Some(d.provincial_ref.clone())),
            idempotency_key: Set(format!("demo-{}-{}", campaign.id, r.id)),
            request_hash: Set(String::new()),
            cancel_reason: Set(None),
            active_recipient: Set(Some(r.id)),
            recipient_verified_at_plan: Set(true),
            planned_by: Set(0),
            approved_by: Set(Some(0)),
            created_at: Set(change.now()),
            updated_at: Set(change.now()),
            ..Default::default()
        }
        .insert(change.txn())
        .await?;
        if !is_goods {
            ledger::book(
                change,
                ledger::Booking {
                    campaign_id: campaign.id,
                    amount_fen: -row.amount_fen,
                    kind: ledger::EntryKind::Disbursement,
                    reference: &bank_reference,
                    booked_on: d.paid_on,
                    source_id: Some(row.id),
                    created_by: 0,
                },
            )
            .await?;
        }
    }
    Ok(())
}

/// The demo's recipients, vetted (数据比对) as the 2025 campaign's were.
async fn load_recipients(
    s: &Services,
    change: &mut Change,
    campaign: &campaign::Model,
    categories: &HashMap<String, category::Model>,
    orgs: &HashMap<String, organization::Model>,
    text: &str,
) -> DomainResult<usize> {
    let bad = |line: usize, m: &str| {
        DomainError::validation("recipients", format!("演示对象文件第 {line} 行: {m}"))
    };
    let mut reader = csv::ReaderBuilder::new().from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let mut rows = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|_| bad(line, "格式错误"))?;
        let get = |n: usize| {
            rec.get(n)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(String::from)
        };
        let category = categories
            .get(rec.get(0).unwrap_or_default())
            .ok_or_else(|| bad(line, "类别编码未定义"))?;
        let org = orgs
            .get(rec.get(7).unwrap_or_default())
            .ok_or_else(|| bad(line, "推荐单位未定义"))?;
        let fields = RecipientFields {
            kind: None,
            name: get(2).unwrap_or_default(),
            id_number: get(3),
            phone: get(4),
            bank_name: get(5),
            bank_account: get(6),
        };
        let mut row = recipients::build_row(&s.cipher, campaign, category, &fields, org.id, 0, change.now())
            .map_err(|e| bad(line, &e.to_string()))?;
        row.status = Set("VERIFIED".into());
        row.verification_method = Set(Some("DATA_CHECK".into()));
        row.vetted_at = Set(Some(change.now()));
        rows.push(row);
    }
    let n = rows.len();
    for chunk in rows.chunks(500) {
        recipient::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(change.txn())
            .await?;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_file_parses_with_seven_categories() {
        let d = parse(FUMIN_2025).unwrap();
        assert_eq!(d.campaign.categories.len(), 7);
        assert_eq!(d.campaign.budget, "150000.00");
        let people: i32 = d
            .campaign
            .categories
            .iter()
            .filter(|c| c.recipient_kind == "PERSON")
            .map(|c| c.planned_count)
            .sum();
        assert_eq!(people, 244);
    }
}
