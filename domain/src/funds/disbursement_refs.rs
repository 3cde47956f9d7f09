//! What a page of disbursements refers to — its campaigns, categories and recipients, and the
//! organisations it names — read with one query per table, by the ids the page holds, into maps
//! keyed by id. The workbooks (`reports::rows`) and the provincial push (`work::province`) both
//! write disbursements page by page; reading only what the page names keeps each page's reads
//! bounded by the page, never by a table (a province holds thousands of organisations and
//! millions of recipients).
use crate::core::error::DomainResult;
use entities::{campaign, category, disbursement, organization, recipient};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use std::collections::{HashMap, HashSet};

/// Which organisations the page needs by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Organizations {
    /// The unions that nominated the page's recipients (the workbooks' 推荐单位).
    Nominating,
    /// The organisations running the page's campaigns (the sender the platform is told).
    Running,
}

/// The rows a page refers to, by id. A row the page names but the database no longer holds is
/// simply absent: each caller decides whether that is an error.
#[derive(Debug, Default)]
pub struct DisbursementRefs {
    pub campaigns: HashMap<i64, campaign::Model>,
    pub categories: HashMap<i64, category::Model>,
    pub recipients: HashMap<i64, recipient::Model>,
    /// Names of the organisations asked for (`Organizations`), and only those.
    pub organizations: HashMap<i64, String>,
}

impl DisbursementRefs {
    /// Reads what `page` refers to (four queries, whatever the page's size; none when empty).
    pub async fn read<C: ConnectionTrait>(
        db: &C,
        page: &[disbursement::Model],
        orgs: Organizations,
    ) -> DomainResult<Self> {
        if page.is_empty() {
            return Ok(Self::default());
        }
        let ids = |f: fn(&disbursement::Model) -> i64| page.iter().map(f).collect::<HashSet<i64>>();
        let campaigns: HashMap<i64, campaign::Model> = campaign::Entity::find()
            .filter(campaign::Column::Id.is_in(ids(|d| d.campaign_id)))
            .all(db)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        let categories: HashMap<i64, category::Model> = category::Entity::find()
            .filter(category::Column::Id.is_in(ids(|d| d.category_id)))
            .all(db)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        let recipients: HashMap<i64, recipient::Model> = recipient::Entity::find()
            .filter(recipient::Column::Id.is_in(ids(|d| d.recipient_id)))
            .all(db)
            .await?
            .into_iter()
            .map(|r| (r.id, r))
            .collect();
        let wanted: HashSet<i64> = match orgs {
            Organizations::Nominating => recipients.values().map(|r| r.nominated_by).collect(),
            Organizations::Running => campaigns.values().map(|c| c.organization_id).collect(),
        };
        let organizations: HashMap<i64, String> = organization::Entity::find()
            .filter(organization::Column::Id.is_in(wanted))
            .all(db)
            .await?
            .into_iter()
            .map(|o| (o.id, o.name))
            .collect();
        Ok(Self {
            campaigns,
            categories,
            recipients,
            organizations,
        })
    }
}
