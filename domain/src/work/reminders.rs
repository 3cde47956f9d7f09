//! Entry reminders (资金发放30个工作日内录入): the daily ENTRY_REMINDERS job.
//!
//! **The rule** (`level`): a disbursement PAID or CONFIRMED, not entered (`entered_at` null),
//! whose `entry_deadline` is at most K working days after `today` on the official calendar
//! (`Calendar::working_days_after(today, K)`, K = `SONGNUAN_REMINDER_DAYS`, default 5) is
//! `DUE_SOON`; one whose deadline is before `today` is `OVERDUE`. Entered records never count.
//! `generate` groups them per campaign and level into one `reminders` row per campaign, level
//! and day (unique, inserted ON CONFLICT DO NOTHING), so however many workers run the day,
//! there is one reminder each.
//!
//! **The clock** is injected: `today` is an Asia/Shanghai date (China has no DST: UTC+8). The
//! job carries its day in its target (`date:2025-01-23`) and is queued once per day under the
//! key `reminders:<date>` (`queue_day`) once `SONGNUAN_REMINDER_AT` (default 09:00) has passed
//! (`schedule`, called by every runner's loop): the outbox's unique key leaves one job per day
//! whatever the number of replicas; a retry on a later day still works for its own day.
//!
//! **The group robot** (`SONGNUAN_ROBOT_WEBHOOK`): each of the day's reminders not yet posted
//! is claimed by setting `posted_at` (conditional UPDATE) and then POSTed as the 企业微信/钉钉
//! text message; a failure clears the claim and fails the job, which retries with backoff. A
//! posted reminder is never posted again; a crash between the claim and the POST loses that
//! post rather than doubling it. Each POST has `SONGNUAN_ROBOT_TIMEOUT_MS` (default 10 s), so a
//! robot that never answers cannot hold the job; an expired POST is a failure like any other.
//! The robots have neither an idempotency key nor a way to ask what they received, so an answer
//! lost after the robot took the message (it took it, then answered too late) cannot be told
//! from a message it never took: the retry posts it again and the group sees it twice. We
//! choose that over losing the reminder (the robot test pins both cases).
//!
//! **OVERDUE also goes to the campaign's ADMINs** (`campaign_admins`: enabled users with the
//! ADMIN role in the campaign's organisation or one above it). Everyone who reads `reminders`
//! (ADMIN, CASEWORKER, AUDITOR) sees every level in the API; the group-robot post of an OVERDUE
//! reminder names the admins in its text (`@显示名`) and @-mentions them by username, in both
//! robots' shapes (企业微信 `text.mentioned_list`, 钉钉 `at.atUserIds`; each ignores the other's
//! field), so the IM user ids must equal the usernames for the mention to ring. DUE_SOON goes
//! to the caseworkers only.
use crate::core::error::{DomainError, DomainResult};
use crate::core::outbox::{self, NewJob, kinds};
use crate::core::services::Services;
use crate::people::access::Role;
use crate::people::access::{Actor, Permission};
use crate::plan::calendar::Calendar;
use crate::plan::statuses::awaiting_entry;
use crate::plan::{calendar_store, campaign};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, SubsecRound, Utc};
use entities::{campaign as campaign_row, disbursement, job, organization, reminder, user};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::json;
use std::collections::BTreeMap;

crate::core::codes::coded_enum! {
    pub enum ReminderLevel {
        /// The deadline is within K working days (today included).
        DueSoon = "DUE_SOON",
        /// The deadline has passed.
        Overdue = "OVERDUE",
    }
}

impl ReminderLevel {
    fn zh(self) -> &'static str {
        match self {
            ReminderLevel::DueSoon => "即将到期",
            ReminderLevel::Overdue => "已逾期",
        }
    }
}

pub fn level_of(r: &reminder::Model) -> ReminderLevel {
    r.level.parse().unwrap_or(ReminderLevel::DueSoon)
}

/// Asia/Shanghai: UTC+8 all year (no daylight saving since 1991).
pub fn shanghai() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8")
}

/// The rule for one unentered, paid disbursement as of `today`: OVERDUE past its deadline,
/// DUE_SOON when the deadline is at most `days` working days after `today`, else none.
pub fn level(
    cal: &Calendar,
    today: NaiveDate,
    deadline: NaiveDate,
    days: u32,
) -> DomainResult<Option<ReminderLevel>> {
    if deadline < today {
        return Ok(Some(ReminderLevel::Overdue));
    }
    let horizon = cal.working_days_after(today, days)?.date;
    Ok((deadline <= horizon).then_some(ReminderLevel::DueSoon))
}

/// Writes the reminders of `today` (one per campaign and level, unless already written): the
/// number of new rows.
pub async fn generate(s: &Services, today: NaiveDate) -> DomainResult<u64> {
    let cal = calendar_store::load(&s.db).await?;
    let days = s.settings.reminder_days;
    let horizon = cal.working_days_after(today, days)?.date;
    let due: Vec<(i64, NaiveDate)> = disbursement::Entity::find()
        .select_only()
        .column(disbursement::Column::CampaignId)
        .column(disbursement::Column::EntryDeadline)
        .filter(awaiting_entry())
        .filter(disbursement::Column::EntryDeadline.is_not_null())
        .filter(disbursement::Column::EntryDeadline.lte(horizon))
        .into_tuple()
        .all(&s.db)
        .await?;
    // (campaign, level) → (count, earliest deadline)
    let mut groups: BTreeMap<(i64, &'static str), (i32, NaiveDate)> = BTreeMap::new();
    for (campaign_id, deadline) in due {
        let Some(lvl) = level(&cal, today, deadline, days)? else {
            continue;
        };
        let g = groups.entry((campaign_id, lvl.as_str())).or_insert((0, deadline));
        g.0 += 1;
        g.1 = g.1.min(deadline);
    }
    let now = Utc::now().trunc_subsecs(6);
    let mut written = 0;
    for ((campaign_id, lvl), (count, earliest)) in groups {
        let row = reminder::ActiveModel {
            campaign_id: Set(campaign_id),
            level: Set(lvl.to_string()),
            created_on: Set(today),
            disbursement_count: Set(count),
            earliest_deadline: Set(earliest),
            posted_at: Set(None),
            created_at: Set(now),
            ..Default::default()
        };
        written += reminder::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([
                    reminder::Column::CampaignId,
                    reminder::Column::Level,
                    reminder::Column::CreatedOn,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(&s.db)
            .await?;
    }
    if written > 0 {
        tracing::info!(day = %today, reminders = written, "已生成录入提醒");
    }
    Ok(written)
}

/// The group-robot text of one reminder.
pub fn message(r: &reminder::Model, campaign_name: &str) -> String {
    format!(
        "【送暖·录入提醒】{day}：项目「{campaign_name}」有 {n} 笔已发放资金尚未录入省级平台（{zh}），最早录入截止日 {deadline}。",
        day = r.created_on,
        n = r.disbursement_count,
        zh = level_of(r).zh(),
        deadline = r.earliest_deadline,
    )
}

/// The campaign's ADMINs: enabled users with the ADMIN role whose organisation is the
/// campaign's or one above it (the materialised path), by id.
pub async fn campaign_admins<C: ConnectionTrait>(db: &C, campaign_id: i64) -> DomainResult<Vec<user::Model>> {
    let Some(c) = campaign_row::Entity::find_by_id(campaign_id).one(db).await? else {
        return Ok(Vec::new());
    };
    let Some(org) = organization::Entity::find_by_id(c.organization_id)
        .one(db)
        .await?
    else {
        return Ok(Vec::new());
    };
    let line: Vec<i64> = org.path.split('/').filter_map(|p| p.parse().ok()).collect();
    Ok(user::Entity::find()
        .filter(user::Column::OrganizationId.is_in(line))
        .filter(user::Column::Disabled.eq(false))
        .order_by_asc(user::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .filter(|u| Role::parse_list(&u.roles).contains(&Role::Admin))
        .collect())
}

/// The group-robot body of one reminder: the text message, and for an OVERDUE one the
/// campaign's admins named in the text and @-mentioned (企业微信 and 钉钉 shapes together).
pub fn robot_body(r: &reminder::Model, campaign_name: &str, admins: &[user::Model]) -> serde_json::Value {
    let mut content = message(r, campaign_name);
    if level_of(r) != ReminderLevel::Overdue || admins.is_empty() {
        return json!({"msgtype": "text", "text": {"content": content}});
    }
    let names: Vec<String> = admins.iter().map(|a| format!("@{}", a.display_name)).collect();
    content.push_str(&format!("\n请管理员督办：{}", names.join(" ")));
    let ids: Vec<&str> = admins.iter().map(|a| a.username.as_str()).collect();
    json!({
        "msgtype": "text",
        "text": {"content": content, "mentioned_list": ids},
        "at": {"atUserIds": ids, "isAtAll": false},
    })
}

/// Posts the reminders of `day` not yet posted to the group robot, each once; the number
/// posted. Nothing when no robot is configured.
pub async fn post(s: &Services, day: NaiveDate) -> DomainResult<usize> {
    let Some(url) = s.settings.robot_webhook.as_deref() else {
        return Ok(0);
    };
    let rows = reminder::Entity::find()
        .filter(reminder::Column::CreatedOn.eq(day))
        .filter(reminder::Column::PostedAt.is_null())
        .order_by_asc(reminder::Column::Id)
        .all(&s.db)
        .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let client = reqwest::Client::builder()
        .timeout(s.settings.robot_timeout)
        .build()
        .map_err(DomainError::internal)?;
    let mut posted = 0;
    for r in rows {
        let claimed = reminder::Entity::update_many()
            .col_expr(
                reminder::Column::PostedAt,
                Expr::value(Utc::now().trunc_subsecs(6)),
            )
            .filter(reminder::Column::Id.eq(r.id))
            .filter(reminder::Column::PostedAt.is_null())
            .exec(&s.db)
            .await?
            .rows_affected;
        if claimed == 0 {
            continue;
        }
        let name = campaign_row::Entity::find_by_id(r.campaign_id)
            .one(&s.db)
            .await?
            .map(|c| c.name)
            .unwrap_or_default();
        let admins = match level_of(&r) {
            ReminderLevel::Overdue => campaign_admins(&s.db, r.campaign_id).await?,
            ReminderLevel::DueSoon => Vec::new(),
        };
        let body = robot_body(&r, &name, &admins);
        if let Err(e) = send(&client, url, &body).await {
            reminder::Entity::update_many()
                .col_expr(
                    reminder::Column::PostedAt,
                    Expr::value(Option::<DateTime<Utc>>::None),
                )
                .filter(reminder::Column::Id.eq(r.id))
                .exec(&s.db)
                .await?;
            return Err(DomainError::internal(anyhow::anyhow!(
                "群机器人推送失败（提醒 #{}）：{e}",
                r.id
            )));
        }
        posted += 1;
    }
    Ok(posted)
}

/// One POST; an HTTP error status or a robot's non-zero `errcode` is a failure.
async fn send(client: &reqwest::Client, url: &str, body: &serde_json::Value) -> anyhow::Result<()> {
    let resp = client.post(url).json(body).send().await?.error_for_status()?;
    let text = resp.text().await.unwrap_or_default();
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text)
        && let Some(code) = v.get("errcode").and_then(|c| c.as_i64())
        && code != 0
    {
        anyhow::bail!("errcode {code}: {}", v["errmsg"]);
    }
    Ok(())
}

/// The ENTRY_REMINDERS job: generate the reminders of its day, then post them.
pub async fn run_job(s: &Services, j: &job::Model) -> DomainResult<()> {
    let day = j
        .target
        .as_deref()
        .and_then(|t| t.strip_prefix("date:"))
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .ok_or_else(|| DomainError::internal(anyhow::anyhow!("提醒任务的目标无效: {:?}", j.target)))?;
    generate(s, day).await?;
    post(s, day).await?;
    Ok(())
}

/// Queues the ENTRY_REMINDERS job of `day` (once per day, whoever asks: key `reminders:<day>`).
pub async fn queue_day<C: ConnectionTrait>(conn: &C, day: NaiveDate, now: DateTime<Utc>) -> DomainResult<()> {
    outbox::enqueue(
        conn,
        NewJob {
            kind: kinds::ENTRY_REMINDERS,
            target: Some(format!("date:{day}")),
            idempotency_key: format!("reminders:{day}"),
            max_attempts: outbox::DEFAULT_MAX_ATTEMPTS,
        },
        now,
    )
    .await
}

/// The Shanghai day whose job is due at `now`: today once `at` (Shanghai time) has passed.
pub fn due_day(now: DateTime<Utc>, at: NaiveTime) -> Option<NaiveDate> {
    let local = now.with_timezone(&shanghai());
    (local.time() >= at).then_some(local.date_naive())
}

/// Called by each runner's loop: queues today's job once `SONGNUAN_REMINDER_AT` has passed,
/// remembering in `last` the day already queued by this runner (one insert per day).
pub async fn schedule(s: &Services, now: DateTime<Utc>, last: &mut Option<NaiveDate>) {
    let Some(at) = s.settings.reminder_at else {
        return;
    };
    let Some(day) = due_day(now, at) else {
        return;
    };
    if *last == Some(day) {
        return;
    }
    match queue_day(&s.db, day, now.trunc_subsecs(6)).await {
        Ok(()) => *last = Some(day),
        Err(e) => tracing::warn!(error = ?e, "录入提醒任务排队失败，稍后重试"),
    }
}

/// A campaign's reminders, newest first: ADMIN, CASEWORKER, AUDITOR; NOT_FOUND when the
/// campaign does not exist or is out of sight.
pub async fn list(s: &Services, actor: &Actor, campaign_id: i64) -> DomainResult<Vec<reminder::Model>> {
    actor.require(Permission::ReadReminders)?;
    campaign::find_visible(&s.db, actor, campaign_id).await?;
    Ok(reminder::Entity::find()
        .filter(reminder::Column::CampaignId.eq(campaign_id))
        .order_by_desc(reminder::Column::CreatedOn)
        .order_by_desc(reminder::Column::Id)
        .all(&s.db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn due_soon_counts_working_days_across_the_spring_festival() {
        let cal = Calendar::official();
        // 2025-02-06 (Thu): five working days before it are 01-23 → 01-24, 01-26 (调休),
        // 01-27, 02-05, 02-06 (春节 01-28 … 02-04 in between).
        let deadline = d("2025-02-06");
        assert_eq!(
            level(&cal, d("2025-01-23"), deadline, 5).unwrap(),
            Some(ReminderLevel::DueSoon)
        );
        assert_eq!(level(&cal, d("2025-01-22"), deadline, 5).unwrap(), None);
        assert_eq!(
            level(&cal, deadline, deadline, 5).unwrap(),
            Some(ReminderLevel::DueSoon)
        );
        assert_eq!(
            level(&cal, d("2025-02-07"), deadline, 5).unwrap(),
            Some(ReminderLevel::Overdue)
        );
    }

    #[test]
    fn the_job_is_due_at_the_shanghai_time() {
        let at = NaiveTime::from_hms_opt(9, 0, 0).unwrap();
        let utc = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        // 00:59 UTC is 08:59 in Shanghai: not yet; 01:00 UTC is 09:00.
        assert_eq!(due_day(utc("2025-01-23T00:59:00Z"), at), None);
        assert_eq!(due_day(utc("2025-01-23T01:00:00Z"), at), Some(d("2025-01-23")));
        // 17:00 UTC on the 22nd is 01:00 on the 23rd in Shanghai: the 23rd's job at 00:30.
        let half_past_midnight = NaiveTime::from_hms_opt(0, 30, 0).unwrap();
        assert_eq!(
            due_day(utc("2025-01-22T17:00:00Z"), half_past_midnight),
            Some(d("2025-01-23"))
        );
        assert_eq!(due_day(utc("2025-01-22T17:00:00Z"), at), None);
    }
}
