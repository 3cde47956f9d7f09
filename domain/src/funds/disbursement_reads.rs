//! What a reader sees of disbursements: the access rule of each field (`may_read`) and a
//! campaign's list with its filters (status, category, entered, overdue). The writers —
//! plan, approve, pay, confirm, cancel, enter — are `disbursements`, which re-exports these.
use crate::core::error::DomainResult;
use crate::core::pagination::{self, Lead, Page, PageArgs};
use crate::core::services::Services;
use crate::people::access::{Actor, Permission, Scope};
use crate::plan::campaign as campaigns;
use crate::plan::categories;
use crate::plan::statuses::DStatus;
use crate::recipients::queries as recipient_queries;
use chrono::NaiveDate;
use entities::disbursement;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter};

/// A field of a disbursement as answers show it (`Disbursement` in the schema).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DisbursementField {
    Id,
    Recipient,
    Kind,
    Amount,
    Status,
    PaidOn,
    EntryDeadlineProvisional,
    Items,
    BankReference,
    ConfirmedOn,
    NotifiedAt,
    Notice,
    EntryDeadline,
    EnteredAt,
    ProvincialRef,
}

impl DisbursementField {
    pub const ALL: [DisbursementField; 15] = [
        DisbursementField::Id,
        DisbursementField::Recipient,
        DisbursementField::Kind,
        DisbursementField::Amount,
        DisbursementField::Status,
        DisbursementField::PaidOn,
        DisbursementField::EntryDeadlineProvisional,
        DisbursementField::Items,
        DisbursementField::BankReference,
        DisbursementField::ConfirmedOn,
        DisbursementField::NotifiedAt,
        DisbursementField::Notice,
        DisbursementField::EntryDeadline,
        DisbursementField::EnteredAt,
        DisbursementField::ProvincialRef,
    ];

    /// The one rule per field, whatever path reached the disbursement (the root list, a
    /// recipient's `disbursements`, a mutation's answer, a fragment or an alias): whether and
    /// how much the recipient was helped for whoever reads the recipient; everything else —
    /// bank and provincial references, the entry, notice and receipt trail, the goods — for
    /// the roles that read the money.
    pub fn permission(self) -> Permission {
        use DisbursementField::*;
        match self {
            // `entryDeadlineProvisional` is non-null in the schema (a refusal would take the
            // whole disbursement, and the list holding it, with it) and tells nothing about
            // the money, the references or the person.
            Id | Recipient | Kind | Amount | Status | PaidOn | EntryDeadlineProvisional => {
                Permission::ReadHelpReceived
            }
            // The notice (its channel, status and trail) goes with `notifiedAt`.
            Items | BankReference | ConfirmedOn | NotifiedAt | Notice | EntryDeadline | EnteredAt
            | ProvincialRef => Permission::ReadPaymentDetails,
        }
    }
}

/// What `actor` may read of a disbursement it reached (the disbursement's recipient is one it
/// may read): FORBIDDEN for a field its roles do not read (`DisbursementField::permission`).
pub fn may_read(actor: &Actor, field: DisbursementField) -> DomainResult<()> {
    actor.require(field.permission())
}

#[derive(Clone, Debug, Default)]
pub struct DisbursementFilter {
    pub status: Option<DStatus>,
    pub category_code: Option<String>,
    pub entered: Option<bool>,
    /// PAID or CONFIRMED, not entered, past the entry deadline.
    pub overdue: Option<bool>,
}

fn overdue_condition(today: NaiveDate) -> Condition {
    crate::plan::statuses::awaiting_entry().add(disbursement::Column::EntryDeadline.lt(today))
}

pub async fn list(
    s: &Services,
    actor: &Actor,
    campaign_id: i64,
    filter: &DisbursementFilter,
    page: PageArgs<'_>,
) -> DomainResult<Page<disbursement::Model>> {
    actor.require(Permission::ReadMoney)?;
    // Equalities are columns of an index `(campaign_id, …, id)` (migration m20260109): with the
    // campaign as the page's lead, the page is a range of that index.
    let mut cond = Condition::all();
    if let Scope::Subtree(prefix) = actor.scope() {
        cond = cond
            .add(disbursement::Column::RecipientId.in_subquery(recipient_queries::nominated_within(&prefix)));
    }
    if let Some(st) = filter.status {
        cond = cond.add(disbursement::Column::Status.eq(st.as_str()));
    }
    if let Some(code) = &filter.category_code {
        // At most one category of a campaign has a code: a scalar sub-query, which the
        // planner treats as a constant, where `IN (…)` would be a join.
        cond = cond.add(
            Expr::col(disbursement::Column::CategoryId.as_column_ref()).eq(pagination::scalar(
                categories::category_ids_with_code(campaign_id, code),
            )),
        );
    }
    match filter.entered {
        Some(true) => cond = cond.add(disbursement::Column::EnteredAt.is_not_null()),
        Some(false) => cond = cond.add(disbursement::Column::EnteredAt.is_null()),
        None => {}
    }
    let today = chrono::Utc::now().date_naive();
    match filter.overdue {
        Some(true) => cond = cond.add(overdue_condition(today)),
        Some(false) => cond = cond.add(overdue_condition(today).not()),
        None => {}
    }
    // The campaign's visibility rides in the page's own statements; only an empty page needs
    // a look at the campaign, to tell "nothing here" from "no such campaign".
    if let Some(visible) = campaigns::visible_subquery(&actor.scope(), campaign_id) {
        // Uncorrelated: checked once per statement, and the campaign stays a plain value.
        cond = cond.add(Expr::exists(visible));
    }
    let lead = Lead::new(disbursement::Column::CampaignId, campaign_id);
    let page = pagination::fetch(
        &s.db,
        disbursement::Entity::find().filter(cond),
        Some(lead),
        disbursement::Column::Id,
        page,
        false,
    )
    .await?;
    if page.items.is_empty() {
        campaigns::find_visible(&s.db, actor, campaign_id).await?;
    }
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::people::access::Role;

    fn actor(roles: &[Role]) -> Actor {
        Actor {
            user_id: 1,
            username: "u".into(),
            roles: roles.to_vec(),
            organization_id: 5,
            org_path: "/1/5/".into(),
        }
    }

    #[test]
    fn grassroots_reads_whether_and_how_much_never_the_references() {
        use DisbursementField::*;
        let grassroots = actor(&[Role::Grassroots]);
        for f in [Id, Recipient, Kind, Amount, Status, PaidOn] {
            assert!(may_read(&grassroots, f).is_ok(), "{f:?}");
        }
        for f in [
            BankReference,
            ProvincialRef,
            EnteredAt,
            EntryDeadline,
            NotifiedAt,
            Notice,
        ] {
            assert_eq!(may_read(&grassroots, f).unwrap_err().code(), "FORBIDDEN", "{f:?}");
        }
        // Whoever reads the money lists reads every field; a second role widens, never narrows.
        for roles in [
            &[Role::Finance][..],
            &[Role::Integration],
            &[Role::Auditor],
            &[Role::Grassroots, Role::Evaluator],
        ] {
            for f in DisbursementField::ALL {
                assert!(may_read(&actor(roles), f).is_ok(), "{roles:?} {f:?}");
            }
        }
    }
}
