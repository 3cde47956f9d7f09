//! Visits (走访慰问) under the 八项规定 (轻车简从): each visit records its team, how many people took
//! part and how many vehicles were used, and whom it visited. A campaign may set limits; a visit
//! above them is recorded and flagged, never refused, so the record stays complete.
use crate::core::error::{DomainError, DomainResult};
use crate::core::services::Services;
use crate::people::access::{Actor, Permission};
use crate::people::audit::Change;
use crate::people::organizations::clean_name;
use crate::plan::campaign as campaigns;
use crate::plan::stages::{Stage, stage_of};
use chrono::NaiveDate;
use entities::{campaign, recipient, visit, visit_recipient};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, JoinType, QueryFilter,
    QueryOrder, QuerySelect, RelationDef,
};
use serde_json::json;
use std::collections::{BTreeSet, HashMap};

/// Visits are recorded while help is handed out and while the campaign is reviewed.
const RECORDING_STAGES: [Stage; 2] = [Stage::Distribution, Stage::Review];
/// Most recipients one visit may list.
pub const MAX_RECIPIENTS: usize = 500;
/// Bounds that catch typing errors (a limit or a count beyond them is not a real visit).
const MAX_PARTICIPANTS: i32 = 10_000;
const MAX_VEHICLES: i32 = 1_000;
const MAX_TEAM_CHARS: usize = 200;
const MAX_NOTE_CHARS: usize = 1000;

/// Why a visit is above the campaign's limits (`Visit.reasons`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// More participants than `max_visit_participants`.
    ParticipantsOverLimit,
    /// More vehicles than `max_visit_vehicles`.
    VehiclesOverLimit,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::ParticipantsOverLimit => "PARTICIPANTS_OVER_LIMIT",
            Reason::VehiclesOverLimit => "VEHICLES_OVER_LIMIT",
        }
    }
}

/// The limits a visit with these numbers exceeds (none when the campaign sets none).
pub fn over_limits(
    participants: i32,
    vehicles: i32,
    max_participants: Option<i32>,
    max_vehicles: Option<i32>,
) -> Vec<Reason> {
    let mut out = Vec::new();
    if max_participants.is_some_and(|m| participants > m) {
        out.push(Reason::ParticipantsOverLimit);
    }
    if max_vehicles.is_some_and(|m| vehicles > m) {
        out.push(Reason::VehiclesOverLimit);
    }
    out
}

/// The reasons of a stored visit against the campaign's current limits.
pub fn reasons(v: &visit::Model, c: &campaign::Model) -> Vec<Reason> {
    over_limits(
        v.participants,
        v.vehicles,
        c.max_visit_participants,
        c.max_visit_vehicles,
    )
}

/// A visit as answered: the row, the limits it exceeds now, and its recipients when asked for.
#[derive(Clone, Debug)]
pub struct VisitRecord {
    pub visit: visit::Model,
    pub reasons: Vec<Reason>,
    /// `None` when the caller did not ask for them.
    pub recipients: Option<Vec<recipient::Model>>,
}

fn limit(field: &'static str, v: Option<i32>, max: i32) -> DomainResult<Option<i32>> {
    match v {
        Some(n) if !(1..=max).contains(&n) => Err(DomainError::validation(
            field,
            format!("上限应在 1 至 {max} 之间，不设上限请留空"),
        )),
        _ => Ok(v),
    }
}

fn limits_snapshot(c: &campaign::Model) -> serde_json::Value {
    json!({"max_visit_participants": c.max_visit_participants, "max_visit_vehicles": c.max_visit_vehicles})
}

/// `setVisitLimits` (ADMIN): both limits at once; `None` removes that limit. Visits already
/// recorded keep their flag; their reasons follow the new limits.
pub async fn set_visit_limits(
    s: &Services,
    actor: &Actor,
    campaign_id: i64,
    max_participants: Option<i32>,
    max_vehicles: Option<i32>,
) -> DomainResult<campaign::Model> {
    actor.require(Permission::SetVisitLimits)?;
    let max_participants = limit("maxParticipants", max_participants, MAX_PARTICIPANTS)?;
    let max_vehicles = limit("maxVehicles", max_vehicles, MAX_VEHICLES)?;
    let mut change = Change::begin(&s.db, Some(actor), "setVisitLimits").await?;
    let before = campaigns::find_visible(change.txn(), actor, campaign_id).await?;
    if before.max_visit_participants == max_participants && before.max_visit_vehicles == max_vehicles {
        return Ok(before);
    }
    let mut am: campaign::ActiveModel = before.clone().into();
    am.max_visit_participants = Set(max_participants);
    am.max_visit_vehicles = Set(max_vehicles);
    let after = am.update(change.txn()).await?;
    change
        .record(
            "Campaign",
            Some(campaign_id.to_string()),
            Some(&limits_snapshot(&before)),
            Some(&limits_snapshot(&after)),
        )
        .await?;
    change.commit().await?;
    Ok(after)
}

/// A visit as a caseworker reports it.
#[derive(Clone, Debug)]
pub struct NewVisit {
    pub campaign_id: i64,
    pub visited_on: NaiveDate,
    pub team: String,
    pub participants: i32,
    pub vehicles: i32,
    pub recipient_ids: Vec<i64>,
    pub note: Option<String>,
}

struct ValidVisit {
    team: String,
    note: Option<String>,
    /// Distinct, ascending.
    recipient_ids: Vec<i64>,
}

fn validate(v: &NewVisit) -> DomainResult<ValidVisit> {
    let team = clean_name("team", &v.team, MAX_TEAM_CHARS)?;
    if !(1..=MAX_PARTICIPANTS).contains(&v.participants) {
        return Err(DomainError::validation(
            "participants",
            format!("参与人数应在 1 至 {MAX_PARTICIPANTS} 之间"),
        ));
    }
    if !(0..=MAX_VEHICLES).contains(&v.vehicles) {
        return Err(DomainError::validation(
            "vehicles",
            format!("车辆数应在 0 至 {MAX_VEHICLES} 之间"),
        ));
    }
    let note = match v.note.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) if n.chars().count() > MAX_NOTE_CHARS => {
            return Err(DomainError::validation(
                "note",
                format!("备注不能超过 {MAX_NOTE_CHARS} 个字符"),
            ));
        }
        Some(n) => Some(n.to_string()),
        None => None,
    };
    let recipient_ids: Vec<i64> = v
        .recipient_ids
        .iter()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if recipient_ids.is_empty() || recipient_ids.len() > MAX_RECIPIENTS {
        return Err(DomainError::validation(
            "recipientIds",
            format!("走访对象应为 1 至 {MAX_RECIPIENTS} 个"),
        ));
    }
    Ok(ValidVisit {
        team,
        note,
        recipient_ids,
    })
}

fn snapshot(v: &visit::Model, recipient_ids: &[i64]) -> serde_json::Value {
    // The note is free text and may name people: it stays out of the log.
    json!({
        "campaign_id": v.campaign_id, "visited_on": v.visited_on.to_string(), "team": v.team,
        "participants": v.participants, "vehicles": v.vehicles, "flagged": v.flagged,
        "recipient_ids": recipient_ids,
    })
}

/// `recordVisit` (CASEWORKER, ADMIN) while the campaign is in DISTRIBUTION or REVIEW. Every
/// recipient must belong to the campaign (duplicates count once). Above a limit the visit is
/// stored with `flagged = true`.
pub async fn record_visit(s: &Services, actor: &Actor, new: NewVisit) -> DomainResult<VisitRecord> {
    actor.require(Permission::RecordVisits)?;
    let valid = validate(&new)?;
    let mut change = Change::begin(&s.db, Some(actor), "recordVisit").await?;
    let campaign = campaigns::find_visible(change.txn(), actor, new.campaign_id).await?;
    let stage = stage_of(&campaign);
    if !RECORDING_STAGES.contains(&stage) {
        return Err(DomainError::InvalidStage(
            format!("项目处于“{}”阶段，不能登记走访慰问", stage.label()).into(),
        ));
    }
    let recipients = recipient::Entity::find()
        .filter(recipient::Column::Id.is_in(valid.recipient_ids.iter().copied()))
        .filter(recipient::Column::CampaignId.eq(campaign.id))
        .order_by_asc(recipient::Column::Id)
        .all(change.txn())
        .await?;
    if recipients.len() != valid.recipient_ids.len() {
        return Err(DomainError::validation(
            "recipientIds",
            "走访对象须为本项目的慰问对象",
        ));
    }
    let reasons = over_limits(
        new.participants,
        new.vehicles,
        campaign.max_visit_participants,
        campaign.max_visit_vehicles,
    );
    let created = visit::ActiveModel {
        campaign_id: Set(campaign.id),
        visited_on: Set(new.visited_on),
        team: Set(valid.team),
        participants: Set(new.participants),
        vehicles: Set(new.vehicles),
        note: Set(valid.note),
        flagged: Set(!reasons.is_empty()),
        created_by: Set(actor.user_id),
        created_at: Set(change.now()),
        ..Default::default()
    }
    .insert(change.txn())
    .await?;
    visit_recipient::Entity::insert_many(valid.recipient_ids.iter().map(|&rid| {
        visit_recipient::ActiveModel {
            visit_id: Set(created.id),
            recipient_id: Set(rid),
        }
    }))
    .exec_without_returning(change.txn())
    .await?;
    change
        .record(
            "Visit",
            Some(created.id.to_string()),
            None,
            Some(&snapshot(&created, &valid.recipient_ids)),
        )
        .await?;
    change.commit().await?;
    Ok(VisitRecord {
        visit: created,
        reasons,
        recipients: Some(recipients),
    })
}

/// `visits(campaignId, flaggedOnly)`: a campaign's visits, newest first (everyone but
/// GRASSROOTS). With `with_recipients`, the recipients of all of them come in one query.
pub async fn visits(
    s: &Services,
    actor: &Actor,
    campaign_id: i64,
    flagged_only: bool,
    with_recipients: bool,
) -> DomainResult<Vec<VisitRecord>> {
    actor.require(Permission::ReadMoney)?;
    let campaign = campaigns::find_visible(&s.db, actor, campaign_id).await?;
    let mut q = visit::Entity::find().filter(visit::Column::CampaignId.eq(campaign.id));
    if flagged_only {
        q = q.filter(visit::Column::Flagged.eq(true));
    }
    let rows = q
        .order_by_desc(visit::Column::VisitedOn)
        .order_by_desc(visit::Column::Id)
        .all(&s.db)
        .await?;
    let mut of_visit = if with_recipients && !rows.is_empty() {
        let ids: Vec<i64> = rows.iter().map(|v| v.id).collect();
        Some(recipients_of(&s.db, &ids).await?)
    } else {
        None
    };
    Ok(rows
        .into_iter()
        .map(|v| VisitRecord {
            reasons: reasons(&v, &campaign),
            recipients: of_visit.as_mut().map(|m| m.remove(&v.id).unwrap_or_default()),
            visit: v,
        })
        .collect())
}

fn visit_recipient_recipient() -> RelationDef {
    visit_recipient::Entity::belongs_to(recipient::Entity)
        .from(visit_recipient::Column::RecipientId)
        .to(recipient::Column::Id)
        .into()
}

/// The recipients of several visits in one query, each list by recipient id.
pub async fn recipients_of<C: ConnectionTrait>(
    db: &C,
    visit_ids: &[i64],
) -> DomainResult<HashMap<i64, Vec<recipient::Model>>> {
    let rows = visit_recipient::Entity::find()
        .join(JoinType::InnerJoin, visit_recipient_recipient())
        .select_also(recipient::Entity)
        .filter(visit_recipient::Column::VisitId.is_in(visit_ids.iter().copied()))
        .order_by_asc(visit_recipient::Column::VisitId)
        .order_by_asc(visit_recipient::Column::RecipientId)
        .all(db)
        .await?;
    let mut out: HashMap<i64, Vec<recipient::Model>> = HashMap::new();
    for (link, r) in rows {
        if let Some(r) = r {
            out.entry(link.visit_id).or_default().push(r);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_visit() -> NewVisit {
        NewVisit {
            campaign_id: 1,
            visited_on: NaiveDate::from_ymd_opt(2025, 1, 20).unwrap(),
            team: " 县总工会慰问组 ".into(),
            participants: 4,
            vehicles: 1,
            recipient_ids: vec![3, 1, 3, 2, 1],
            note: Some("  ".into()),
        }
    }

    fn refused(v: NewVisit) -> Option<String> {
        validate(&v).err().and_then(|e| e.field().map(str::to_string))
    }

    #[test]
    fn limits_flag_each_exceeded_one() {
        assert_eq!(over_limits(10, 5, None, None), vec![]);
        assert_eq!(over_limits(5, 2, Some(5), Some(2)), vec![]);
        assert_eq!(
            over_limits(6, 2, Some(5), Some(2)),
            vec![Reason::ParticipantsOverLimit]
        );
        assert_eq!(
            over_limits(5, 3, Some(5), Some(2)),
            vec![Reason::VehiclesOverLimit]
        );
        assert_eq!(
            over_limits(6, 3, Some(5), Some(2)),
            vec![Reason::ParticipantsOverLimit, Reason::VehiclesOverLimit]
        );
        assert_eq!(over_limits(6, 3, None, Some(3)), vec![]);
        assert_eq!(Reason::VehiclesOverLimit.as_str(), "VEHICLES_OVER_LIMIT");
    }

    #[test]
    fn validation_trims_collapses_duplicates_and_names_fields() {
        let v = validate(&new_visit()).unwrap();
        assert_eq!(v.team, "县总工会慰问组");
        assert_eq!(v.note, None);
        assert_eq!(v.recipient_ids, vec![1, 2, 3]);

        let mut n = new_visit();
        n.team = " ".into();
        assert_eq!(refused(n).as_deref(), Some("team"));
        let mut n = new_visit();
        n.team = "组".repeat(201);
        assert_eq!(refused(n).as_deref(), Some("team"));
        let mut n = new_visit();
        n.participants = 0;
        assert_eq!(refused(n).as_deref(), Some("participants"));
        let mut n = new_visit();
        n.vehicles = -1;
        assert_eq!(refused(n).as_deref(), Some("vehicles"));
        let mut n = new_visit();
        n.vehicles = 0;
        assert!(validate(&n).is_ok());
        let mut n = new_visit();
        n.recipient_ids = vec![];
        assert_eq!(refused(n).as_deref(), Some("recipientIds"));
        let mut n = new_visit();
        n.recipient_ids = (1..=501).collect();
        assert_eq!(refused(n).as_deref(), Some("recipientIds"));
        let mut n = new_visit();
        n.recipient_ids = (1..=500).chain(1..=500).collect();
        assert!(validate(&n).is_ok(), "duplicates count once");
        let mut n = new_visit();
        n.note = Some("字".repeat(1001));
        assert_eq!(refused(n).as_deref(), Some("note"));
    }

    #[test]
    fn limits_must_be_positive_when_set() {
        assert_eq!(limit("maxVehicles", None, MAX_VEHICLES).unwrap(), None);
        assert_eq!(limit("maxVehicles", Some(1), MAX_VEHICLES).unwrap(), Some(1));
        for bad in [0, -3, MAX_VEHICLES + 1] {
            let e = limit("maxVehicles", Some(bad), MAX_VEHICLES).unwrap_err();
            assert_eq!((e.code(), e.field()), ("VALIDATION", Some("maxVehicles")));
        }
    }
}
