//! What is read of recipients: the answer view (masks only), scoped paginated lists with their
//! filters, 冒领 warning flags, earlier help (history) and DataLoader batches.
use crate::core::crypto::PiiField;
use crate::core::error::{DomainError, DomainResult};
use crate::core::identity::IdNumber;
use crate::core::pagination::{self, Lead, Page, PageArgs};
use crate::core::services::Services;
use crate::people::access::{Actor, Permission, Scope};
use crate::people::organizations;
use crate::plan::campaign as campaigns;
use crate::plan::categories::{self};
use crate::plan::counters;
use crate::plan::statuses::Status;
use crate::recipients::rules::status_of;
use entities::{campaign, category, disbursement, recipient};
use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DerivePartialModel, EntityTrait,
    QueryFilter, QuerySelect,
};
use std::collections::HashMap;

#[derive(Clone, Debug, Default)]
pub struct RecipientFilter {
    pub category_code: Option<String>,
    pub status: Option<Status>,
    pub nominated_by: Option<i64>,
    /// A name prefix, or an exact ID number (matched through the blind index).
    pub search: Option<String>,
    /// Only recipients carrying a 冒领 warning flag (or only those without).
    pub flagged: Option<bool>,
}

/// Shares a bank account or phone with a recipient of another identity in the same campaign.
/// Plain SQL that reads the same on PostgreSQL and SQLite.
const FLAGGED_SQL: &str = "EXISTS (SELECT 1 FROM recipients r2 WHERE r2.campaign_id = recipients.campaign_id \
     AND r2.dedup_key <> recipients.dedup_key \
     AND ((r2.bank_account_index = recipients.bank_account_index) OR (r2.phone_index = recipients.phone_index)))";

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// A recipient as answers show it: masks, never the sealed values or their indexes. Lists read
/// only these columns (half the row, and the widest half).
#[derive(Clone, Debug, PartialEq, Eq, DerivePartialModel)]
#[sea_orm(entity = "recipient::Entity", from_query_result)]
pub struct RecipientView {
    pub id: i64,
    pub campaign_id: i64,
    pub category_id: i64,
    pub kind: String,
    pub name: String,
    pub id_number_mask: Option<String>,
    pub phone_mask: Option<String>,
    pub bank_name: Option<String>,
    pub bank_account_mask: Option<String>,
    pub nominated_by: i64,
    pub status: String,
    pub verification_method: Option<String>,
    pub verification_note: Option<String>,
    pub rejection_reason: Option<String>,
}

impl RecipientView {
    pub fn status(&self) -> Status {
        self.status.parse().unwrap_or(Status::Nominated)
    }
}

impl From<recipient::Model> for RecipientView {
    fn from(m: recipient::Model) -> Self {
        RecipientView {
            id: m.id,
            campaign_id: m.campaign_id,
            category_id: m.category_id,
            kind: m.kind,
            name: m.name,
            id_number_mask: m.id_number_mask,
            phone_mask: m.phone_mask,
            bank_name: m.bank_name,
            bank_account_mask: m.bank_account_mask,
            nominated_by: m.nominated_by,
            status: m.status,
            verification_method: m.verification_method,
            verification_note: m.verification_note,
            rejection_reason: m.rejection_reason,
        }
    }
}

/// One page of a campaign's recipients, ordered by id, with the filter's total.
pub async fn list(
    s: &Services,
    actor: &Actor,
    campaign_id: i64,
    filter: &RecipientFilter,
    page: PageArgs<'_>,
) -> DomainResult<Page<RecipientView>> {
    actor.require(Permission::ReadRecipients)?;
    // Each equality below is a column of an index `(campaign_id, …, id)` (migration
    // m20260109): with the campaign as the page's lead, the page is a range of that index.
    let mut cond = Condition::all();
    if let Scope::Subtree(prefix) = actor.scope() {
        // The caller's unions as values, read first (a GRASSROOTS subtree is a handful of
        // rows): `nominated_by IN (values)` beside the campaign makes the count a range of
        // `(campaign_id, nominated_by, id)` holding the caller's rows only. Given the unions as
        // a sub-query, the planner cannot tell which unions (nor how many of the campaign's
        // rows) it yields, and counted by reading every row of the campaign.
        let unions = subtree_unions(&s.db, &prefix).await?;
        cond = cond.add(recipient::Column::NominatedBy.is_in(unions));
    }
    if let Some(code) = &filter.category_code {
        // A code names at most one category of a campaign (unique index): an equality with a
        // scalar sub-query, which the planner treats as a constant, where `IN (…)` would be a
        // join.
        cond = cond.add(
            Expr::col(recipient::Column::CategoryId.as_column_ref()).eq(pagination::scalar(
                categories::category_ids_with_code(campaign_id, code),
            )),
        );
    }
    if let Some(st) = filter.status {
        cond = cond.add(recipient::Column::Status.eq(st.as_str()));
    }
    if let Some(org) = filter.nominated_by {
        cond = cond.add(recipient::Column::NominatedBy.eq(org));
    }
    if let Some(q) = filter.search.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        if q.chars().count() > 50 {
            return Err(DomainError::validation("search", "搜索内容不能超过 50 个字符"));
        }
        match IdNumber::parse(q) {
            Ok(id) => {
                cond = cond.add(
                    recipient::Column::IdNumberIndex
                        .eq(s.cipher.blind_index(PiiField::IdNumber, id.as_str())),
                )
            }
            Err(_) => {
                cond = cond.add(
                    recipient::Column::Name.like(LikeExpr::new(format!("{}%", escape_like(q))).escape('\\')),
                )
            }
        }
    }
    match filter.flagged {
        Some(true) => cond = cond.add(Expr::cust(FLAGGED_SQL)),
        Some(false) => cond = cond.add(Expr::cust(format!("NOT {FLAGGED_SQL}"))),
        None => {}
    }
    // The campaign's visibility rides in the page's own statements; only an empty page needs
    // a look at the campaign, to tell "nothing here" from "no such campaign".
    if let Some(visible) = campaigns::visible_subquery(&actor.scope(), campaign_id) {
        // Uncorrelated: checked once per statement, and the campaign stays a plain value.
        cond = cond.add(Expr::exists(visible));
    }
    let lead = Lead::new(recipient::Column::CampaignId, campaign_id);
    // The whole list (or one category of it) of a caller who sees every recipient is sized by
    // the category counters instead of counting rows: it is the list's default view.
    let by_counters = page.with_total
        && actor.scope() == Scope::All
        && filter.status.is_none()
        && filter.nominated_by.is_none()
        && filter.search.as_deref().is_none_or(|q| q.trim().is_empty())
        && filter.flagged.is_none();
    let total = async {
        if by_counters {
            counters::recipients_in(&s.db, campaign_id, filter.category_code.as_deref())
                .await
                .map(Some)
        } else {
            Ok(None)
        }
    };
    let rows = pagination::fetch(
        &s.db,
        recipient::Entity::find().filter(cond),
        Some(lead),
        recipient::Column::Id,
        PageArgs {
            with_total: page.with_total && !by_counters,
            ..page
        },
        false,
    );
    let (mut page, total) = futures::try_join!(rows, total)?;
    if by_counters {
        page.total = total;
    }
    if page.items.is_empty() {
        campaigns::find_visible(&s.db, actor, campaign_id).await?;
    }
    Ok(page)
}

/// Ids of the organisations in the subtree under `prefix` (`organizations::subtree_ids`, the
/// one definition of a subtree), as values.
async fn subtree_unions(db: &DatabaseConnection, prefix: &str) -> DomainResult<Vec<i64>> {
    let st = db
        .get_database_backend()
        .build(&organizations::subtree_ids(prefix));
    let rows = db.query_all_raw(st).await?;
    Ok(rows
        .iter()
        .map(|r| r.try_get_by_index::<i64>(0))
        .collect::<Result<_, _>>()?)
}

/// Warning flags of a page of recipients, in two grouped queries (no N+1).
pub async fn flags_of(
    s: &Services,
    rows: &[recipient::Model],
) -> DomainResult<HashMap<i64, Vec<&'static str>>> {
    let mut out: HashMap<i64, Vec<&'static str>> = HashMap::new();
    let campaigns: Vec<i64> = rows.iter().map(|r| r.campaign_id).collect();
    for (col, flag) in [
        (recipient::Column::BankAccountIndex, "SHARED_BANK_ACCOUNT"),
        (recipient::Column::PhoneIndex, "SHARED_PHONE"),
    ] {
        let get = |r: &recipient::Model| match col {
            recipient::Column::BankAccountIndex => r.bank_account_index.clone(),
            _ => r.phone_index.clone(),
        };
        let keys: Vec<String> = rows.iter().filter_map(get).collect();
        if keys.is_empty() {
            continue;
        }
        let shared: Vec<(i64, String, i64)> = recipient::Entity::find()
            .select_only()
            .column(recipient::Column::CampaignId)
            .column(col)
            .column_as(Expr::col(recipient::Column::DedupKey).count_distinct(), "n")
            .filter(recipient::Column::CampaignId.is_in(campaigns.clone()))
            .filter(col.is_in(keys))
            .group_by(recipient::Column::CampaignId)
            .group_by(col)
            .into_tuple()
            .all(&s.db)
            .await?;
        let shared: HashMap<(i64, String), i64> = shared.into_iter().map(|(c, k, n)| ((c, k), n)).collect();
        for r in rows {
            if let Some(k) = get(r)
                && shared.get(&(r.campaign_id, k)).copied().unwrap_or(0) > 1
            {
                out.entry(r.id).or_default().push(flag);
            }
        }
    }
    Ok(out)
}

/// A person's record in an earlier campaign.
#[derive(Clone, Debug)]
pub struct HistoryEntry {
    pub campaign: campaign::Model,
    pub category_name: String,
    pub status: Status,
    /// Paid or confirmed in that campaign.
    pub helped: bool,
}

/// Earlier campaigns (starting before this one) in which the same ID number was nominated,
/// among the campaigns the caller may read (`campaigns::visible_condition`): a GRASSROOTS
/// caller learns nothing of a campaign `campaign(id)` refuses it, not even its name.
pub async fn history_of(
    s: &Services,
    scope: &Scope,
    rows: &[recipient::Model],
) -> DomainResult<HashMap<i64, Vec<HistoryEntry>>> {
    let indexes: Vec<String> = rows.iter().filter_map(|r| r.id_number_index.clone()).collect();
    let mut out: HashMap<i64, Vec<HistoryEntry>> = HashMap::new();
    if indexes.is_empty() {
        return Ok(out);
    }
    let others = recipient::Entity::find()
        .filter(recipient::Column::IdNumberIndex.is_in(indexes))
        .all(&s.db)
        .await?;
    let campaign_ids: Vec<i64> = others.iter().chain(rows).map(|r| r.campaign_id).collect();
    let mut visible = campaign::Entity::find().filter(campaign::Column::Id.is_in(campaign_ids));
    if let Some(cond) = campaigns::visible_condition(scope) {
        visible = visible.filter(cond);
    }
    // Entries whose campaign is not here are left out below.
    let campaigns: HashMap<i64, campaign::Model> =
        visible.all(&s.db).await?.into_iter().map(|c| (c.id, c)).collect();
    let category_ids: Vec<i64> = others.iter().map(|r| r.category_id).collect();
    let categories: HashMap<i64, String> = category::Entity::find()
        .filter(category::Column::Id.is_in(category_ids))
        .all(&s.db)
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    let other_ids: Vec<i64> = others.iter().map(|r| r.id).collect();
    let helped: std::collections::HashSet<i64> = disbursement::Entity::find()
        .select_only()
        .column(disbursement::Column::RecipientId)
        .filter(disbursement::Column::RecipientId.is_in(other_ids))
        .filter(disbursement::Column::Status.is_in(["PAID", "CONFIRMED"]))
        .into_tuple::<i64>()
        .all(&s.db)
        .await?
        .into_iter()
        .collect();
    for r in rows {
        let Some(ix) = &r.id_number_index else { continue };
        let Some(mine) = campaigns.get(&r.campaign_id) else {
            continue;
        };
        let mut entries: Vec<HistoryEntry> = others
            .iter()
            .filter(|o| o.id_number_index.as_ref() == Some(ix) && o.campaign_id != r.campaign_id)
            .filter_map(|o| {
                let c = campaigns.get(&o.campaign_id)?;
                (c.starts_on < mine.starts_on).then(|| HistoryEntry {
                    campaign: c.clone(),
                    category_name: categories.get(&o.category_id).cloned().unwrap_or_default(),
                    status: status_of(o),
                    helped: helped.contains(&o.id),
                })
            })
            .collect();
        entries.sort_by_key(|e| std::cmp::Reverse(e.campaign.starts_on));
        out.insert(r.id, entries);
    }
    Ok(out)
}

/// Ids of the recipients nominated inside the subtree under `prefix`, as a sub-query.
pub(crate) fn nominated_within(prefix: &str) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(recipient::Column::Id)
        .from(recipient::Entity)
        .and_where(recipient::Column::NominatedBy.in_subquery(organizations::subtree_ids(prefix)))
        .to_owned()
}

/// Batch load by id (DataLoader for `Disbursement.recipient`); the caller's scope applies as
/// at the root (`find_visible`): a scoped caller gets what its subtree nominated in a campaign
/// it may read, in one statement.
pub async fn load_many(
    s: &Services,
    scope: &Scope,
    ids: &[i64],
) -> DomainResult<HashMap<i64, recipient::Model>> {
    let mut q = recipient::Entity::find().filter(recipient::Column::Id.is_in(ids.iter().copied()));
    if let Scope::Subtree(prefix) = scope {
        q = q.filter(recipient::Column::NominatedBy.in_subquery(organizations::subtree_ids(prefix)));
    }
    if let Some(visible) = campaigns::visible_ids(scope) {
        q = q.filter(recipient::Column::CampaignId.in_subquery(visible));
    }
    Ok(q.all(&s.db).await?.into_iter().map(|r| (r.id, r)).collect())
}
