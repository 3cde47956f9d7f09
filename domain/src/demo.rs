//! Demo data: loads a campaign with its organisations, users and categories from a TOML file
//! (`demo/fumin-2025.toml`), through the same domain functions the API uses. The plan (tree,
//! users, campaign, categories, vetted recipients) is one audited change; the money then moves
//! through the API's own writers (funding, supplier, contract, delivery, contract payment,
//! disbursements planned → approved → paid → confirmed → entered, stage by stage), each acting
//! as the demo user whose role it needs (maker-checker: the help centre plans, finance
//! approves). Loading twice does nothing the second time.
use crate::core::error::{DomainError, DomainResult};
use crate::core::services::Services;
use crate::people::access::{Actor, Role};
use crate::people::audit::Change;
use crate::people::auth::actor_of;
use crate::people::organizations::{self, OrgKind};
use crate::people::users::{self, NewUser};
use crate::plan::campaign::{self as campaigns, NewCampaign};
use crate::plan::categories::{self, NewCategory, RecipientKind};
use crate::plan::stages::Stage;
use crate::recipients::fields::RecipientFields;
use crate::recipients::rules as recipients;
use crate::reports::rules::{ReportFormat, ReportKind};
use chrono::NaiveDate;
use entities::{campaign, category, disbursement, job, notice, organization, recipient, report, user};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
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
    /// Surveys, sample, scores and narratives (needs the campaign in REVIEW and an EVALUATOR).
    pub evaluation: Option<crate::evaluation::demo::DemoEvaluation>,
    /// Reports asked for once everything above is done (`generateReport`), so a new user finds
    /// them ready to download.
    #[serde(default)]
    pub reports: Vec<DemoReport>,
}

/// One `generateReport` of the demo: `kind` and `format` as in the contract, asked by the data
/// file's user `by` (who must be allowed to, as through the API).
#[derive(Deserialize)]
pub struct DemoReport {
    pub kind: String,
    pub format: String,
    pub by: String,
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
    /// The reports queued (ids), in the data file's order.
    pub reports: Vec<i64>,
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
            reports: Vec::new(),
            already_loaded: true,
        });
    }
    // The bootstrap made the root federation with a generic name; the demo names it.
    let root = match organizations::find_root(change.txn()).await? {
        Some(r) if r.name != data.federation => {
            let mut am: organization::ActiveModel = r.clone().into();
            am.name = Set(data.federation.clone());
            change.update_audited(&r, am).await?
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
    let stage: Option<Stage> = match &c.stage {
        Some(stage) => Some(
            stage
                .parse()
                .map_err(|_| DomainError::validation("stage", format!("阶段“{stage}”无效")))?,
        ),
        None => None,
    };
    // The recipients were written as rows (vetted as the data file says), not through the
    // transitions: their counters are counted once.
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
    // From here on, the API's writers, as the users whose roles they need.
    let cast = Cast::find(s, data).await?;
    if let Some(dist) = &c.distribution {
        distribute(s, &cast, &created, &categories, dist).await?;
    }
    if let Some(stage) = stage {
        advance_to(s, &cast.admin, created.id, stage).await?;
    }
    if let Some(e) = &c.evaluation {
        let evaluator = data
            .users
            .iter()
            .find(|u| {
                u.roles
                    .iter()
                    .any(|r| r.parse::<Role>().ok() == Some(Role::Evaluator))
            })
            .ok_or_else(|| DomainError::validation("users", "演示评价需要一个 EVALUATOR 用户"))?;
        let evaluator = actor_named(s, &evaluator.username).await?;
        crate::evaluation::demo::run(s, &evaluator, created.id, e).await?;
    }
    let mut reports = Vec::with_capacity(c.reports.len());
    for r in &c.reports {
        let kind: ReportKind = r
            .kind
            .parse()
            .map_err(|_| DomainError::validation("reports", format!("报表类型“{}”无效", r.kind)))?;
        let format: ReportFormat = r
            .format
            .parse()
            .map_err(|_| DomainError::validation("reports", format!("报表格式“{}”无效", r.format)))?;
        let by = actor_named(s, &r.by).await?;
        reports.push(
            crate::reports::requests::generate(s, &by, created.id, kind, format)
                .await?
                .report
                .id,
        );
    }
    Ok(DemoSummary {
        campaign_id: created.id,
        organizations: new_orgs,
        users: new_users,
        categories: c.categories.len(),
        recipients,
        reports,
        already_loaded: false,
    })
}

/// What the demo's jobs left behind, for the console of `api demo`: the campaign's notices
/// counted by channel and status, and each report with its job's status.
pub struct DemoOutcome {
    /// (channel, status, count), ordered.
    pub notices: Vec<(String, String, i64)>,
    pub reports: Vec<DemoReportOutcome>,
}

pub struct DemoReportOutcome {
    pub id: i64,
    pub kind: String,
    pub format: String,
    /// The job's status (QUEUED, RUNNING, DONE, FAILED).
    pub status: String,
    pub file_name: Option<String>,
    pub error: Option<String>,
}

/// Reads the outcome of the demo campaign's jobs (as far as they have run).
pub async fn outcome(s: &Services, campaign_id: i64, report_ids: &[i64]) -> DomainResult<DemoOutcome> {
    use sea_orm::sea_query::Query;
    let paid_here = Query::select()
        .column(disbursement::Column::Id)
        .from(disbursement::Entity)
        .and_where(disbursement::Column::CampaignId.eq(campaign_id))
        .to_owned();
    let mut counts: std::collections::BTreeMap<(String, String), i64> = Default::default();
    for n in notice::Entity::find()
        .filter(notice::Column::DisbursementId.in_subquery(paid_here))
        .all(&s.db)
        .await?
    {
        *counts.entry((n.channel, n.status)).or_default() += 1;
    }
    let mut reports = Vec::with_capacity(report_ids.len());
    for r in report::Entity::find()
        .filter(report::Column::Id.is_in(report_ids.iter().copied()))
        .order_by_asc(report::Column::Id)
        .all(&s.db)
        .await?
    {
        let j = match r.job_id {
            Some(id) => job::Entity::find_by_id(id).one(&s.db).await?,
            None => None,
        };
        reports.push(DemoReportOutcome {
            id: r.id,
            kind: r.kind,
            format: r.format,
            status: j.as_ref().map(|j| j.status.clone()).unwrap_or_default(),
            file_name: r.file_name,
            error: j.and_then(|j| j.last_error),
        });
    }
    Ok(DemoOutcome {
        notices: counts.into_iter().map(|((c, st), n)| (c, st, n)).collect(),
        reports,
    })
}

/// Who does what in the demo: an ADMIN (the bootstrap's) moves the stages, the data file's
/// FINANCE user funds, buys, approves and pays, its CASEWORKER plans, confirms and enters.
struct Cast {
    admin: Actor,
    finance: Actor,
    caseworker: Actor,
}

impl Cast {
    async fn find(s: &Services, data: &DemoData) -> DomainResult<Cast> {
        let admin = user::Entity::find()
            .order_by_asc(user::Column::Id)
            .all(&s.db)
            .await?
            .into_iter()
            .find(|u| Role::parse_list(&u.roles).contains(&Role::Admin) && !u.disabled)
            .ok_or_else(|| DomainError::validation("users", "载入演示数据需要一个管理员用户"))?;
        let with_role = |role: Role| {
            data.users
                .iter()
                .find(|u| u.roles.iter().any(|r| r.parse::<Role>().ok() == Some(role)))
                .map(|u| u.username.clone())
                .ok_or_else(|| {
                    DomainError::validation("users", format!("演示数据须有一个 {} 用户", role.as_str()))
                })
        };
        Ok(Cast {
            admin: actor_named(s, &admin.username).await?,
            finance: actor_named(s, &with_role(Role::Finance)?).await?,
            caseworker: actor_named(s, &with_role(Role::Caseworker)?).await?,
        })
    }
}

async fn actor_named(s: &Services, username: &str) -> DomainResult<Actor> {
    let u = user::Entity::find()
        .filter(user::Column::Username.eq(username))
        .one(&s.db)
        .await?
        .ok_or_else(|| DomainError::not_found("用户"))?;
    let org = crate::core::db::find::<organization::Entity, _>(&s.db, u.organization_id, "组织").await?;
    Ok(actor_of(&u, &org))
}

/// Moves the campaign forward one stage at a time (each behind its guard) up to `to`.
async fn advance_to(s: &Services, admin: &Actor, campaign_id: i64, to: Stage) -> DomainResult<()> {
    loop {
        let c = crate::core::db::find::<campaign::Entity, _>(&s.db, campaign_id, "项目").await?;
        let now = crate::plan::stages::stage_of(&c);
        match now.next() {
            Some(next) if now < to => {
                crate::lifecycle::advance(&s.db, admin, campaign_id, next).await?;
            }
            _ => return Ok(()),
        }
    }
}

/// Pays every verified recipient its category's standard: persons by bank transfer, the goods
/// category from one procurement contract (delivered and paid in full); everything confirmed
/// and entered. All through the API's writers, so money goes through the ledger, the budget
/// guard, the stage checks and maker-checker like any payment.
async fn distribute(
    s: &Services,
    cast: &Cast,
    campaign: &campaign::Model,
    categories: &HashMap<String, category::Model>,
    d: &DemoDistribution,
) -> DomainResult<()> {
    use crate::core::money::Money;
    use crate::funds::disbursements::{self, DKind, DisburseRequest, MAX_BATCH};
    use crate::funds::ledger;
    use crate::funds::procurement::{contracts, deliveries, payments, suppliers};
    use entities::supplier;
    let (finance, caseworker) = (&cast.finance, &cast.caseworker);
    ledger::record_funding(
        s,
        finance,
        campaign.id,
        &d.funding_amount,
        &d.funding_reference,
        d.funding_received_on,
    )
    .await?;
    let recipients = recipient::Entity::find()
        .filter(recipient::Column::CampaignId.eq(campaign.id))
        .filter(recipient::Column::Status.eq("VERIFIED"))
        .order_by_asc(recipient::Column::Id)
        .all(&s.db)
        .await?;
    let by_id: HashMap<i64, &category::Model> = categories.values().map(|c| (c.id, c)).collect();
    let goods = categories
        .get(&d.goods_category)
        .ok_or_else(|| DomainError::validation("goods_category", "物资类别未定义"))?;
    let units = recipients.iter().filter(|r| r.category_id == goods.id).count() as i32;
    let unit_price = Money::from_fen(goods.standard_fen);
    let total = Money::from_fen(goods.standard_fen * units as i64);

    // The goods: a supplier (found by its credit code when already registered), a contract
    // with one line, its delivery and its payment.
    advance_to(s, &cast.admin, campaign.id, Stage::Procurement).await?;
    let code = suppliers::CreditCode::parse(&d.supplier_credit_code)?;
    let sup = match supplier::Entity::find()
        .filter(supplier::Column::CreditCode.eq(code.as_str()))
        .one(&s.db)
        .await?
    {
        Some(sup) => sup,
        None => suppliers::create_supplier(s, finance, &d.supplier, code.as_str(), None).await?,
    };
    let contract = contracts::create_contract(
        s,
        finance,
        contracts::NewContract {
            campaign_id: campaign.id,
            supplier_id: sup.id,
            reference: d.contract_reference.clone(),
            signed_on: d.contract_signed_on,
            delivery_date: d.contract_delivery_date,
            after_sale_terms: d.after_sale_terms.clone(),
            lines: vec![contracts::NewLine {
                item: d.goods_item.clone(),
                quantity: units,
                unit_price: unit_price.to_string(),
            }],
        },
    )
    .await?;
    let line = contract
        .lines
        .first()
        .ok_or_else(|| DomainError::internal(anyhow::anyhow!("demo contract has no line")))?
        .id;
    if units > 0 {
        deliveries::record_delivery(s, finance, line, units, d.contract_delivery_date, None).await?;
        payments::pay_contract(
            s,
            finance,
            contract.contract.id,
            &total.to_string(),
            d.contract_delivery_date,
            &d.contract_reference,
        )
        .await?;
    }

    // The payments: planned by the help centre, approved and paid by finance (never the
    // planner), confirmed and entered by the help centre.
    advance_to(s, &cast.admin, campaign.id, Stage::Distribution).await?;
    let mut planned = Vec::with_capacity(recipients.len());
    for (n, r) in recipients.iter().enumerate() {
        let cat = by_id
            .get(&r.category_id)
            .ok_or_else(|| DomainError::not_found("类别"))?;
        let is_goods = cat.id == goods.id;
        let row = disbursements::disburse(
            s,
            caseworker,
            DisburseRequest {
                recipient_id: r.id,
                kind: if is_goods { DKind::Goods } else { DKind::Cash },
                amount: Money::from_fen(cat.standard_fen).to_string(),
                items: is_goods.then(|| d.goods_item.clone()),
                idempotency_key: format!("demo-{}-{}", campaign.id, r.id),
                contract_line_id: is_goods.then_some(line),
            },
        )
        .await?;
        // Cash by bank transfer (numbered as the bank's list); goods against the contract.
        let reference = if is_goods {
            d.contract_reference.clone()
        } else {
            format!("{}{:04}", d.bank_reference_prefix, n + 1)
        };
        planned.push((row.id, reference));
    }
    let ids: Vec<i64> = planned.iter().map(|(id, _)| *id).collect();
    for batch in ids.chunks(MAX_BATCH) {
        disbursements::approve(s, finance, batch).await?;
    }
    for (id, reference) in &planned {
        disbursements::mark_paid(s, finance, *id, reference, d.paid_on).await?;
        disbursements::confirm_receipt(s, caseworker, *id, d.confirmed_on).await?;
    }
    for batch in ids.chunks(MAX_BATCH) {
        disbursements::mark_entered(s, caseworker, batch, &d.provincial_ref).await?;
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
