//! The working-day calendar kept in the database (`calendar_days`): seeded from the shipped State
//! Council file on first start, extended by ADMIN each November (`setCalendarDays`), and loaded
//! per use — a few hundred rows — so that every API replica counts with the same days right
//! after an edit. An edit re-derives the provisional entry deadlines in the same change.
use crate::core::error::{DomainError, DomainResult};
use crate::core::services::Services;
use crate::people::access::{Actor, Permission};
use crate::people::audit::Change;
use crate::plan::calendar::{Calendar, CalendarDay, CalendarError, DayKind, MAX_DAYS, WorkingDays};
use chrono::{Datelike, NaiveDate, Weekday};
use entities::{calendar_day, campaign, disbursement};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QueryOrder,
    QuerySelect, RelationDef,
};
use serde_json::json;
use std::collections::{BTreeMap, HashMap, HashSet};

/// The shipped arrangements (2025 and 2026), the same file `Calendar::official` reads.
const OFFICIAL_CSV: &str = include_str!("../../data/cn-official-2025-2026.csv");

/// Most days one `setCalendarDays` call may set: a year has about 30 listed days, so this is
/// room for several years while bounding the statement and the audit entries.
pub const MAX_DAYS_PER_CALL: usize = 400;
/// Longest festival name (the column is 50 characters).
pub const MAX_NAME_CHARS: usize = 50;
/// Years a calendar day may lie in.
const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;
/// Disbursement ids per UPDATE statement when deadlines are recomputed.
const UPDATE_CHUNK: usize = 500;

fn row(d: &CalendarDay) -> calendar_day::ActiveModel {
    calendar_day::ActiveModel {
        day: Set(d.date),
        kind: Set(d.kind.as_str().into()),
        name: Set(d.name.clone()),
    }
}

fn day_of(m: calendar_day::Model) -> DomainResult<CalendarDay> {
    let kind = m.kind.parse::<DayKind>().ok().ok_or_else(|| {
        DomainError::internal(anyhow::anyhow!(
            "calendar_days {}: unknown kind {:?}",
            m.day,
            m.kind
        ))
    })?;
    Ok(CalendarDay {
        date: m.day,
        kind,
        name: m.name,
    })
}

fn snapshot(kind: &str, name: &str) -> serde_json::Value {
    json!({"kind": kind, "name": name})
}

/// On an empty table, inserts the shipped official days. Two replicas starting together may both
/// see the table empty: the insert skips dates already there, so the second one changes nothing.
pub async fn seed_official<C: ConnectionTrait>(db: &C) -> DomainResult<()> {
    if calendar_day::Entity::find().one(db).await?.is_some() {
        return Ok(());
    }
    // The file is compiled in and checked by `calendar`'s unit tests.
    let days = Calendar::parse_csv(OFFICIAL_CSV).map_err(DomainError::internal)?;
    calendar_day::Entity::insert_many(days.iter().map(row))
        .on_conflict_do_nothing_on([calendar_day::Column::Day])
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// The calendar as stored now. Inside a `Change`, pass `change.txn()`: the chain lock then keeps
/// a concurrent `setCalendarDays` from changing it before the change commits.
pub async fn load<C: ConnectionTrait>(db: &C) -> DomainResult<Calendar> {
    let rows = calendar_day::Entity::find().all(db).await?;
    let days = rows.into_iter().map(day_of).collect::<DomainResult<Vec<_>>>()?;
    Ok(Calendar::new(days))
}

fn days_arg(field: &'static str, days: i32) -> DomainResult<u32> {
    u32::try_from(days)
        .ok()
        .filter(|d| *d <= MAX_DAYS)
        .ok_or_else(|| DomainError::validation(field, format!("天数应在 0 至 {MAX_DAYS} 之间")))
}

fn walk(cal: &Calendar, date: NaiveDate, date_field: &'static str, days: u32) -> DomainResult<WorkingDays> {
    cal.working_days_after(date, days).map_err(|e| match e {
        CalendarError::DateOutOfRange => DomainError::validation(date_field, "日期超出范围"),
        other => other.into(),
    })
}

/// `workingDaysAfter`: the `days`-th working day after `date` (date itself not counted), for any
/// authenticated caller. `provisional` says a year without published arrangements was crossed.
pub async fn working_days_after(
    s: &Services,
    _actor: &Actor,
    date: NaiveDate,
    days: i32,
) -> DomainResult<WorkingDays> {
    let days = days_arg("days", days)?;
    let cal = load(&s.db).await?;
    walk(&cal, date, "date", days)
}

/// The entry deadline of a payment made on `paid_on`: `days` working days later (the campaign's
/// `entry_deadline_days`), provisional when it reaches a year the calendar does not know.
pub fn entry_deadline(cal: &Calendar, paid_on: NaiveDate, days: i32) -> DomainResult<WorkingDays> {
    let days = days_arg("entryDeadlineDays", days)?;
    walk(cal, paid_on, "paidOn", days)
}

/// One day as an administrator sends it; `kind` is `HOLIDAY`/`WORKDAY` (any case).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DayInput {
    pub date: NaiveDate,
    pub kind: String,
    pub name: String,
}

fn weekday_zh(w: Weekday) -> &'static str {
    ["周一", "周二", "周三", "周四", "周五", "周六", "周日"][w.num_days_from_monday() as usize]
}

/// The rules of `Calendar::parse_csv`, for days sent through the API: a known kind, a name of
/// 1–50 characters, a make-up working day only on a weekend, each date once. Sorted by date.
pub fn validate_days(days: Vec<DayInput>) -> DomainResult<Vec<CalendarDay>> {
    if days.is_empty() {
        return Err(DomainError::validation("days", "请至少填写一天"));
    }
    if days.len() > MAX_DAYS_PER_CALL {
        return Err(DomainError::validation(
            "days",
            format!("每次最多设置 {MAX_DAYS_PER_CALL} 天"),
        ));
    }
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(days.len());
    for d in days {
        let date = d.date;
        if !YEARS.contains(&date.year()) {
            return Err(DomainError::validation(
                "date",
                format!("{date}：日期应在 {} 至 {} 年之间", YEARS.start(), YEARS.end()),
            ));
        }
        if !seen.insert(date) {
            return Err(DomainError::validation("date", format!("{date}：日期重复")));
        }
        let kind = d
            .kind
            .trim()
            .to_ascii_lowercase()
            .parse::<DayKind>()
            .ok()
            .ok_or_else(|| {
                DomainError::validation(
                    "kind",
                    format!("{date}：类型应为 HOLIDAY（放假）或 WORKDAY（调休上班）"),
                )
            })?;
        let name = d.name.trim();
        let n = name.chars().count();
        if n == 0 {
            return Err(DomainError::validation("name", format!("{date}：名称不能为空")));
        }
        if n > MAX_NAME_CHARS || name.chars().any(char::is_control) {
            return Err(DomainError::validation(
                "name",
                format!("{date}：名称应为 1 至 {MAX_NAME_CHARS} 个字符，不含控制字符"),
            ));
        }
        let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
        if kind == DayKind::Workday && !weekend {
            return Err(DomainError::validation(
                "kind",
                format!(
                    "{date} 是{}，调休上班日只能是周六或周日",
                    weekday_zh(date.weekday())
                ),
            ));
        }
        out.push(CalendarDay {
            date,
            kind,
            name: name.to_string(),
        });
    }
    out.sort_by_key(|d| d.date);
    Ok(out)
}

/// `setCalendarDays` (ADMIN): inserts or replaces the given days in one audited change, then
/// recomputes every provisional entry deadline with the new calendar. Returns the days as stored,
/// by date. Days that already hold the same kind and name are left alone (and not audited).
pub async fn set_days(s: &Services, actor: &Actor, days: Vec<DayInput>) -> DomainResult<Vec<CalendarDay>> {
    actor.require(Permission::ManageCalendar)?;
    let days = validate_days(days)?;
    let mut change = Change::begin(&s.db, Some(actor), "setCalendarDays").await?;
    let existing: HashMap<NaiveDate, calendar_day::Model> = calendar_day::Entity::find()
        .filter(calendar_day::Column::Day.is_in(days.iter().map(|d| d.date)))
        .all(change.txn())
        .await?
        .into_iter()
        .map(|m| (m.day, m))
        .collect();
    let changed: Vec<&CalendarDay> = days
        .iter()
        .filter(|d| {
            existing
                .get(&d.date)
                .is_none_or(|e| e.kind != d.kind.as_str() || e.name != d.name)
        })
        .collect();
    if !changed.is_empty() {
        calendar_day::Entity::insert_many(changed.iter().map(|d| row(d)))
            .on_conflict(
                OnConflict::column(calendar_day::Column::Day)
                    .update_columns([calendar_day::Column::Kind, calendar_day::Column::Name])
                    .to_owned(),
            )
            .exec_without_returning(change.txn())
            .await?;
        for d in &changed {
            let before = existing.get(&d.date).map(|e| snapshot(&e.kind, &e.name));
            change
                .record(
                    "CalendarDay",
                    Some(d.date.to_string()),
                    before.as_ref(),
                    Some(&snapshot(d.kind.as_str(), &d.name)),
                )
                .await?;
        }
        recompute_entry_deadlines(&mut change).await?;
    }
    change.commit().await?;
    Ok(days)
}

fn disbursement_campaign() -> RelationDef {
    disbursement::Entity::belongs_to(campaign::Entity)
        .from(disbursement::Column::CampaignId)
        .to(campaign::Column::Id)
        .into()
}

/// For every disbursement whose deadline is provisional and which has been paid:
/// `entry_deadline = paid_on + campaign.entry_deadline_days` working days on the calendar as the
/// open change sees it, with the new provisional flag. Each changed disbursement gets an audit
/// entry. Returns how many changed.
pub async fn recompute_entry_deadlines(change: &mut Change) -> DomainResult<u64> {
    let cal = load(change.txn()).await?;
    let rows: Vec<(i64, NaiveDate, Option<NaiveDate>, i32)> = disbursement::Entity::find()
        .select_only()
        .column(disbursement::Column::Id)
        .column(disbursement::Column::PaidOn)
        .column(disbursement::Column::EntryDeadline)
        .column_as(
            Expr::col((campaign::Entity, campaign::Column::EntryDeadlineDays)),
            "entry_deadline_days",
        )
        .join(JoinType::InnerJoin, disbursement_campaign())
        .filter(disbursement::Column::EntryDeadlineProvisional.eq(true))
        .filter(disbursement::Column::PaidOn.is_not_null())
        .order_by_asc(disbursement::Column::Id)
        .into_tuple()
        .all(change.txn())
        .await?;
    // Many payments share a day and a campaign rule: compute each pair once.
    let mut computed: HashMap<(NaiveDate, i32), WorkingDays> = HashMap::new();
    let mut updates: BTreeMap<(NaiveDate, bool), Vec<i64>> = BTreeMap::new();
    for (id, paid_on, old, days) in rows {
        let new = match computed.get(&(paid_on, days)) {
            Some(w) => *w,
            None => {
                let w = entry_deadline(&cal, paid_on, days)?;
                computed.insert((paid_on, days), w);
                w
            }
        };
        if old == Some(new.date) && new.provisional {
            continue;
        }
        change
            .record(
                "Disbursement",
                Some(id.to_string()),
                Some(&json!({
                    "entry_deadline": old.map(|d| d.to_string()),
                    "entry_deadline_provisional": true,
                })),
                Some(&json!({
                    "entry_deadline": new.date.to_string(),
                    "entry_deadline_provisional": new.provisional,
                })),
            )
            .await?;
        updates.entry((new.date, new.provisional)).or_default().push(id);
    }
    let mut total = 0;
    for ((date, provisional), ids) in updates {
        for chunk in ids.chunks(UPDATE_CHUNK) {
            let r = disbursement::Entity::update_many()
                .col_expr(disbursement::Column::EntryDeadline, Expr::value(date))
                .col_expr(
                    disbursement::Column::EntryDeadlineProvisional,
                    Expr::value(provisional),
                )
                .col_expr(disbursement::Column::UpdatedAt, Expr::value(change.now()))
                .filter(disbursement::Column::Id.is_in(chunk.iter().copied()))
                .exec(change.txn())
                .await?;
            total += r.rows_affected;
        }
    }
    Ok(total)
}

/// `calendarDays(year)`: the stored days of one year, by date (any authenticated caller).
pub async fn list_days(s: &Services, _actor: &Actor, year: i32) -> DomainResult<Vec<CalendarDay>> {
    let (Some(first), Some(last)) = (
        NaiveDate::from_ymd_opt(year, 1, 1),
        NaiveDate::from_ymd_opt(year, 12, 31),
    ) else {
        return Err(DomainError::validation("year", "年份无效"));
    };
    calendar_day::Entity::find()
        .filter(calendar_day::Column::Day.between(first, last))
        .order_by_asc(calendar_day::Column::Day)
        .all(&s.db)
        .await?
        .into_iter()
        .map(day_of)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn input(date: NaiveDate, kind: &str, name: &str) -> DayInput {
        DayInput {
            date,
            kind: kind.into(),
            name: name.into(),
        }
    }

    fn field_of(e: &DomainError) -> (&'static str, Option<&str>) {
        (e.code(), e.field())
    }

    #[test]
    fn validate_accepts_either_case_trims_and_sorts() {
        let days = validate_days(vec![
            input(d(2027, 2, 20), "WORKDAY", " 春节 "),
            input(d(2027, 1, 1), "holiday", "元旦"),
            input(d(2027, 2, 6), " Holiday ", "春节"),
        ])
        .unwrap();
        assert_eq!(
            days,
            vec![
                CalendarDay {
                    date: d(2027, 1, 1),
                    kind: DayKind::Holiday,
                    name: "元旦".into()
                },
                CalendarDay {
                    date: d(2027, 2, 6),
                    kind: DayKind::Holiday,
                    name: "春节".into()
                },
                CalendarDay {
                    date: d(2027, 2, 20),
                    kind: DayKind::Workday,
                    name: "春节".into()
                },
            ]
        );
    }

    #[test]
    fn validate_refuses_like_the_csv_reader() {
        // 2027-01-04 is a Monday.
        let e = validate_days(vec![input(d(2027, 1, 4), "WORKDAY", "元旦")]).unwrap_err();
        assert_eq!(field_of(&e), ("VALIDATION", Some("kind")));
        assert_eq!(e.to_string(), "2027-01-04 是周一，调休上班日只能是周六或周日");

        let e = validate_days(vec![input(d(2027, 1, 1), "OFF", "元旦")]).unwrap_err();
        assert_eq!(field_of(&e), ("VALIDATION", Some("kind")));

        for name in ["", "   ", &"节".repeat(51), "元\u{7}旦"] {
            let e = validate_days(vec![input(d(2027, 1, 1), "HOLIDAY", name)]).unwrap_err();
            assert_eq!(field_of(&e), ("VALIDATION", Some("name")), "{name:?}");
        }
        assert!(validate_days(vec![input(d(2027, 1, 1), "HOLIDAY", &"节".repeat(50))]).is_ok());

        let e = validate_days(vec![
            input(d(2027, 1, 1), "HOLIDAY", "元旦"),
            input(d(2027, 1, 1), "HOLIDAY", "元旦"),
        ])
        .unwrap_err();
        assert_eq!(field_of(&e), ("VALIDATION", Some("date")));
        assert_eq!(e.to_string(), "2027-01-01：日期重复");

        let e = validate_days(vec![input(d(1999, 1, 1), "HOLIDAY", "元旦")]).unwrap_err();
        assert_eq!(field_of(&e), ("VALIDATION", Some("date")));

        let e = validate_days(vec![]).unwrap_err();
        assert_eq!(field_of(&e), ("VALIDATION", Some("days")));
        let many: Vec<DayInput> = d(2027, 1, 1)
            .iter_days()
            .take(MAX_DAYS_PER_CALL + 1)
            .map(|x| input(x, "HOLIDAY", "测试"))
            .collect();
        let e = validate_days(many.clone()).unwrap_err();
        assert_eq!(field_of(&e), ("VALIDATION", Some("days")));
        assert!(validate_days(many[..MAX_DAYS_PER_CALL].to_vec()).is_ok());
    }

    #[test]
    fn entry_deadline_uses_the_given_calendar_and_checks_days() {
        let cal = Calendar::official();
        let w = entry_deadline(&cal, d(2025, 1, 27), 30).unwrap();
        assert_eq!((w.date, w.provisional), (d(2025, 3, 17), false));
        // 2026-12-28 + 30 reaches 2027, which the shipped calendar does not know.
        let w = entry_deadline(&cal, d(2026, 12, 28), 30).unwrap();
        assert_eq!((w.date, w.provisional), (d(2027, 2, 8), true));
        for bad in [-1, 3661] {
            let e = entry_deadline(&cal, d(2025, 1, 27), bad).unwrap_err();
            assert_eq!(field_of(&e), ("VALIDATION", Some("entryDeadlineDays")));
        }
        let e = entry_deadline(&cal, NaiveDate::MAX, 1).unwrap_err();
        assert_eq!(field_of(&e), ("VALIDATION", Some("paidOn")));
    }

    #[test]
    fn shipped_file_is_the_one_the_calendar_module_reads() {
        let days = Calendar::parse_csv(OFFICIAL_CSV).unwrap();
        assert_eq!(Calendar::new(days), Calendar::official());
    }

    /// A migrated SQLite file with the admin created, and the admin as an actor.
    async fn database() -> (Services, Actor, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("songnuan-cal-{}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.join("t.db").display());
        let settings = crate::core::settings::Settings::from_lookup(|k| match k {
            "DATABASE_URL" => Some(url.clone()),
            "SONGNUAN_DATA_DIR" => Some(dir.display().to_string()),
            "SONGNUAN_SECRET" => Some("songnuan-unit-test-secret-0123456789abcdef".into()),
            "SONGNUAN_ADMIN_PASSWORD" => Some("admin-pass-123".into()),
            _ => None,
        })
        .unwrap();
        let db = crate::core::db::connect_url(&url, 4).await.unwrap();
        crate::core::db::migrate(&db).await.unwrap();
        crate::bootstrap::run(&db, &settings).await.unwrap();
        let admin = entities::user::Entity::find().one(&db).await.unwrap().unwrap();
        let actor = Actor {
            user_id: admin.id,
            username: admin.username,
            roles: vec![crate::people::access::Role::Admin],
            organization_id: admin.organization_id,
            org_path: "/1/".into(),
        };
        (Services::new(db, std::sync::Arc::new(settings)), actor, dir)
    }

    #[tokio::test]
    async fn seeding_is_idempotent_and_edits_are_audited() {
        let (s, admin, dir) = database().await;
        // bootstrap seeded already; seeding again (twice at once) changes nothing.
        let (a, b) = tokio::join!(seed_official(&s.db), seed_official(&s.db));
        a.unwrap();
        b.unwrap();
        assert_eq!(load(&s.db).await.unwrap(), Calendar::official());
        assert_eq!(list_days(&s, &admin, 2025).await.unwrap().len(), 33);

        let audit = crate::people::audit::count(&s.db).await.unwrap();
        let w = working_days_after(&s, &admin, d(2026, 12, 31), 1).await.unwrap();
        assert_eq!((w.date, w.provisional), (d(2027, 1, 1), true));
        set_days(&s, &admin, vec![input(d(2027, 1, 1), "HOLIDAY", "元旦")])
            .await
            .unwrap();
        let w = working_days_after(&s, &admin, d(2026, 12, 31), 1).await.unwrap();
        assert_eq!((w.date, w.provisional), (d(2027, 1, 4), false));
        assert_eq!(crate::people::audit::count(&s.db).await.unwrap(), audit + 1);
        // The same day again is no change; a renamed one is.
        set_days(&s, &admin, vec![input(d(2027, 1, 1), "holiday", "元旦")])
            .await
            .unwrap();
        assert_eq!(crate::people::audit::count(&s.db).await.unwrap(), audit + 1);
        set_days(&s, &admin, vec![input(d(2027, 1, 1), "HOLIDAY", "新年")])
            .await
            .unwrap();
        assert_eq!(crate::people::audit::count(&s.db).await.unwrap(), audit + 2);
        assert_eq!(list_days(&s, &admin, 2027).await.unwrap()[0].name, "新年");

        let e = working_days_after(&s, &admin, d(2025, 1, 1), 3661)
            .await
            .unwrap_err();
        assert_eq!(field_of(&e), ("VALIDATION", Some("days")));
        let mut clerk = admin.clone();
        clerk.roles = vec![crate::people::access::Role::Caseworker];
        let e = set_days(&s, &clerk, vec![input(d(2027, 1, 1), "HOLIDAY", "元旦")])
            .await
            .unwrap_err();
        assert_eq!(e.code(), "FORBIDDEN");
        assert!(working_days_after(&s, &clerk, d(2025, 1, 27), 30).await.is_ok());
        assert_eq!(crate::people::audit::count(&s.db).await.unwrap(), audit + 2);
        drop(s);
        let _ = std::fs::remove_dir_all(dir);
    }
}
