//! The NOTICE job: sends the recipient's notice of a paid disbursement (queued by `markPaid`,
//! `funds::notices::queue`) through an `SmsProvider`.
//!
//! The notice row's status is the truth: a job that runs again for a notice already SENT does
//! nothing. The clear phone number exists only inside this job (decrypted from the recipient's
//! ciphertext) and is never logged; logs carry the mask.
//!
//! Providers: `LogProvider` (default) and the HTTP provider (`work::sms_http`). Receipts
//! (SENT → DELIVERED / FAILED) are `work::receipts`. Not yet here: letters (LETTER notices stay
//! PENDING and get no job until the letter batch exists).
use crate::core::error::{DomainError, DomainResult};
use crate::core::identity::mask_phone;
use crate::core::money::Money;
use crate::core::services::Services;
use crate::funds::notices::{self as notice_rows, NoticeChannel, NoticeStatus};
use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use entities::{campaign, disbursement, job, notice, recipient};
use futures::future::BoxFuture;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QuerySelect, TransactionTrait};
use std::collections::{BTreeMap, HashMap, HashSet};

/// One SMS to send. The phone is clear here only; `Debug` shows its mask.
pub struct Sms {
    /// Our idempotency key, the provider's out-id.
    pub out_id: String,
    pub phone: String,
    /// Template parameters: the name, the amount ("500.00"), the campaign's name, `paidOn`.
    pub name: String,
    pub amount: String,
    pub campaign: String,
    pub paid_on: Option<NaiveDate>,
}

impl std::fmt::Debug for Sms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sms")
            .field("out_id", &self.out_id)
            .field("phone", &mask_phone(&self.phone))
            .field("amount", &self.amount)
            .finish_non_exhaustive()
    }
}

/// An SMS gateway. Providers do not de-duplicate: exactly-once is ours (see `send`).
pub trait SmsProvider: Send + Sync {
    /// The provider accepted the message (`Ok`), or refused / could not be reached / did not
    /// answer in time (`Err`, the reason as the operator should read it). An `Err` does not
    /// prove the message was not sent.
    fn send<'a>(&'a self, sms: &'a Sms) -> BoxFuture<'a, Result<(), String>>;

    /// Whether the provider holds a message with this out-id (Aliyun `QuerySendDetails`):
    /// asked before any resend of a notice whose earlier attempt has an unknown outcome.
    /// `Err`: the provider could not say; nothing is sent then.
    fn query<'a>(&'a self, sms: &'a Sms) -> BoxFuture<'a, Result<bool, String>>;
}

/// The default provider: records the notice in the log (masked number), sends nothing.
pub struct LogProvider;

impl SmsProvider for LogProvider {
    fn send<'a>(&'a self, sms: &'a Sms) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            tracing::info!(
                out_id = %sms.out_id,
                phone = %mask_phone(&sms.phone),
                amount = %sms.amount,
                "短信通知（log 通道，未实际发送）"
            );
            Ok(())
        })
    }

    /// The log keeps nothing to ask: an earlier attempt that reached `send` succeeded at once,
    /// so an unknown outcome is one that never got there.
    fn query<'a>(&'a self, _sms: &'a Sms) -> BoxFuture<'a, Result<bool, String>> {
        Box::pin(async { Ok(false) })
    }
}

fn gone(what: &str) -> DomainError {
    DomainError::internal(anyhow::anyhow!("{what}"))
}

/// What a NOTICE job came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The notice is SENT (now or before); the job is done.
    Done,
    /// Not now (the number's daily limit): run the job again at this time, its attempt not
    /// counted.
    Later(DateTime<Utc>, String),
}

/// The marker written on the notice BEFORE the provider is called: if the runner dies or the
/// answer is lost, the next attempt sees `attempts > 0` and asks the provider first.
const IN_FLIGHT: &str = "发送中：结果未知（下次尝试前先向短信服务商查询）";

/// Runs NOTICE jobs, together: the rows of all of them are read and written with a handful of
/// statements per batch, not per notice (a worker sends a thousand notices a second only so;
/// see `bench/queue.sh`). The outcome of each job, in the order given. Exactly once, whatever
/// fails where, for every notice:
///
/// 1. a notice already SENT/DELIVERED: nothing to do;
/// 2. a notice with an earlier attempt (`attempts > 0`, its outcome possibly unknown: a
///    timeout, a cut connection, a crash after the provider accepted): ask the provider by
///    out-id (`SmsProvider::query`); if it has the message, mark SENT without resending; if it
///    cannot say, fail the attempt (retried later), never resend blind;
/// 3. the number's daily limit (`DailyLimit`): over it, `Outcome::Later`;
/// 4. record the attempt (`attempts + 1`, `IN_FLIGHT`) with a conditional UPDATE on the
///    attempts just read, so of two runners on one notice only one goes on;
/// 5. call the provider; accepted → SENT, `notifiedAt`; refused or no answer → the reason,
///    and the job is retried (back to 2).
pub async fn send_batch(
    s: &Services,
    sms: &dyn SmsProvider,
    jobs: &[job::Model],
) -> Vec<DomainResult<Outcome>> {
    match prepare(s, jobs).await {
        Ok(mut pending) => {
            let outcomes = deliver(s, sms, &mut pending).await;
            pending
                .into_iter()
                .zip(outcomes)
                .map(|(p, o)| match p {
                    Step::Settled(r) => r,
                    Step::Send(_) => o,
                })
                .collect()
        }
        // The batch's rows could not be read: every job fails this attempt.
        Err(e) => {
            let reason = e.to_string();
            jobs.iter().map(|_| Err(gone(&reason))).collect()
        }
    }
}

/// A notice on its way: its row and the message (the clear number lives only here).
struct Outgoing {
    notice: notice::Model,
    phone_index: Option<String>,
    message: Sms,
}

enum Step {
    /// Decided without the provider's send (done before, or a row missing).
    Settled(DomainResult<Outcome>),
    Send(Box<Outgoing>),
}

/// Reads the batch's notices, disbursements, recipients and campaigns (one statement each) and
/// builds each message.
async fn prepare(s: &Services, jobs: &[job::Model]) -> DomainResult<Vec<Step>> {
    let targets: Vec<Option<i64>> = jobs
        .iter()
        .map(|j| j.target.as_deref().and_then(notice_rows::parse_target))
        .collect();
    let ids: Vec<i64> = targets.iter().flatten().copied().collect();
    let notices = notice_rows::by_disbursement(&s.db, &ids).await?;
    let disbursements: HashMap<i64, disbursement::Model> = disbursement::Entity::find()
        .filter(disbursement::Column::Id.is_in(ids.iter().copied()))
        .all(&s.db)
        .await?
        .into_iter()
        .map(|d| (d.id, d))
        .collect();
    let recipients: HashMap<i64, recipient::Model> = recipient::Entity::find()
        .filter(recipient::Column::Id.is_in(disbursements.values().map(|d| d.recipient_id)))
        .all(&s.db)
        .await?
        .into_iter()
        .map(|r| (r.id, r))
        .collect();
    let campaigns: HashMap<i64, campaign::Model> = campaign::Entity::find()
        .filter(campaign::Column::Id.is_in(disbursements.values().map(|d| d.campaign_id)))
        .all(&s.db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let step = |target: Option<i64>| -> DomainResult<Step> {
        let id = target.ok_or_else(|| gone("任务目标无效"))?;
        let n = notices
            .get(&id)
            .ok_or_else(|| gone(&format!("发放记录 #{id} 没有通知记录")))?;
        match notice_rows::status_of(n) {
            NoticeStatus::Sent | NoticeStatus::Delivered => return Ok(Step::Settled(Ok(Outcome::Done))),
            NoticeStatus::Pending | NoticeStatus::Failed => {}
        }
        if notice_rows::channel_of(n) != NoticeChannel::Sms {
            return Err(gone("书面通知由 LETTERS 任务打印，不发短信"));
        }
        let d = disbursements
            .get(&id)
            .ok_or_else(|| gone(&format!("发放记录 #{id} 不存在")))?;
        let r = recipients
            .get(&d.recipient_id)
            .ok_or_else(|| gone("慰问对象不存在"))?;
        let c = campaigns.get(&d.campaign_id).ok_or_else(|| gone("项目不存在"))?;
        let phone = match &r.phone_enc {
            Some(enc) => s.cipher.decrypt(enc)?,
            None => return Err(gone("慰问对象没有手机号")),
        };
        Ok(Step::Send(Box::new(Outgoing {
            notice: n.clone(),
            phone_index: r.phone_index.clone(),
            message: Sms {
                out_id: n.out_id.clone(),
                phone,
                name: r.name.clone(),
                amount: Money::from_fen(d.amount_fen).to_string(),
                campaign: c.name.clone(),
                paid_on: d.paid_on,
            },
        })))
    };
    Ok(targets
        .into_iter()
        .map(|t| step(t).unwrap_or_else(|e| Step::Settled(Err(e))))
        .collect())
}

/// Steps 2–5 for every `Step::Send` of the batch; the outcome of each step, in order (those of
/// settled steps are placeholders).
async fn deliver(s: &Services, sms: &dyn SmsProvider, steps: &mut [Step]) -> Vec<DomainResult<Outcome>> {
    let mut outcomes: Vec<Option<DomainResult<Outcome>>> = steps.iter().map(|_| None).collect();
    let sending: Vec<usize> = (0..steps.len())
        .filter(|&i| matches!(steps[i], Step::Send(_)))
        .collect();
    let out = |i: usize| -> &Outgoing {
        match &steps[i] {
            Step::Send(o) => o,
            Step::Settled(_) => unreachable!("only sending steps are indexed"),
        }
    };
    // 2. Earlier attempts with an unknown outcome: ask the provider first.
    let asked = futures::future::join_all(
        sending
            .iter()
            .filter(|&&i| out(i).notice.attempts > 0)
            .map(|&i| async move { (i, sms.query(&out(i).message).await) }),
    )
    .await;
    let mut already_sent = Vec::new();
    for (i, answer) in asked {
        match answer {
            Ok(true) => {
                tracing::info!(out_id = %out(i).notice.out_id, "短信服务商已收到此前的发送，不再重发");
                already_sent.push(i);
            }
            Ok(false) => {}
            Err(reason) => {
                let reason = format!("无法向短信服务商查询此前的发送，暂不重发: {reason}");
                outcomes[i] = Some(
                    note_error(s, &out(i).notice, &reason)
                        .await
                        .and(Err(gone(&reason))),
                );
            }
        }
    }
    if !already_sent.is_empty() {
        let rows: Vec<&notice::Model> = already_sent.iter().map(|&i| &out(i).notice).collect();
        let marked = mark_sent(s, &rows).await.map_err(|e| e.to_string());
        for &i in &already_sent {
            outcomes[i] = Some(marked.clone().map(|_| Outcome::Done).map_err(|e| gone(&e)));
        }
    }
    // 3. The daily limit, per number, counting the batch's own earlier notices.
    let open: Vec<usize> = sending
        .iter()
        .copied()
        .filter(|&i| outcomes[i].is_none())
        .collect();
    let limit = s.settings.sms.per_number_daily;
    let numbers: Vec<(i64, Option<&str>)> = open
        .iter()
        .map(|&i| (out(i).notice.id, out(i).phone_index.as_deref()))
        .collect();
    let mut daily = match DailyLimit::read(s, &numbers).await {
        Ok(d) => d,
        Err(e) => {
            let reason = e.to_string();
            for &i in &open {
                outcomes[i] = Some(Err(gone(&reason)));
            }
            return finish(outcomes);
        }
    };
    let mut go = Vec::new();
    for &i in &open {
        let o = out(i);
        match daily.take(o.notice.id, o.phone_index.as_deref(), limit) {
            Some(tomorrow) => {
                let reason = format!("该号码今日短信已达上限（{limit} 条），明日再发");
                outcomes[i] = Some(
                    note_error(s, &o.notice, &reason)
                        .await
                        .map(|_| Outcome::Later(tomorrow, reason)),
                );
            }
            None => go.push(i),
        }
    }
    // 4. The attempts, recorded before the provider is called.
    let rows: Vec<&notice::Model> = go.iter().map(|&i| &out(i).notice).collect();
    let started = match start_attempts(s, &rows).await {
        Ok(started) => started,
        Err(e) => {
            let reason = e.to_string();
            for &i in &go {
                outcomes[i] = Some(Err(gone(&reason)));
            }
            return finish(outcomes);
        }
    };
    let mut calls = Vec::new();
    for &i in &go {
        if started.contains(&out(i).notice.id) {
            calls.push(i);
        } else {
            outcomes[i] = Some(Err(gone("通知正由其他执行器发送")));
        }
    }
    // 5. The provider, all of the batch at once.
    let answers = futures::future::join_all(
        calls
            .iter()
            .map(|&i| async move { (i, sms.send(&out(i).message).await) }),
    )
    .await;
    let mut accepted = Vec::new();
    for (i, answer) in answers {
        match answer {
            Ok(()) => accepted.push(i),
            Err(reason) => {
                outcomes[i] = Some(
                    note_error(s, &out(i).notice, &reason)
                        .await
                        .and(Err(gone(&format!("短信发送失败: {reason}")))),
                );
            }
        }
    }
    let rows: Vec<&notice::Model> = accepted.iter().map(|&i| &out(i).notice).collect();
    let marked = mark_sent(s, &rows).await.map_err(|e| e.to_string());
    for &i in &accepted {
        outcomes[i] = Some(marked.clone().map(|_| Outcome::Done).map_err(|e| gone(&e)));
    }
    // The clear numbers go with the messages.
    for &i in &sending {
        if let Step::Send(o) = &mut steps[i] {
            o.message.phone.clear();
        }
    }
    finish(outcomes)
}

fn finish(outcomes: Vec<Option<DomainResult<Outcome>>>) -> Vec<DomainResult<Outcome>> {
    outcomes
        .into_iter()
        .map(|o| o.unwrap_or(Ok(Outcome::Done)))
        .collect()
}

/// The start of today and of tomorrow in Asia/Shanghai (UTC+8, no daylight saving), in UTC.
fn shanghai_day(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let offset = chrono::Duration::hours(8);
    let local = (now + offset).date_naive();
    let start = local.and_hms_opt(0, 0, 0).expect("midnight").and_utc() - offset;
    (start, start + chrono::Duration::days(1))
}

/// The per-number daily limit, counted in the database so it holds across runners: notices
/// to the same number (the recipients' phone blind index) sent today, or attempted today and
/// still unresolved, other than the notice asking. Within a batch the notices to one number go
/// in order, each counting the ones before it. Two runners sending to one number in the same
/// instant may both pass (one over the limit).
struct DailyLimit {
    /// Per number: the notices that count today.
    used: HashMap<String, Vec<i64>>,
    tomorrow: DateTime<Utc>,
}

impl DailyLimit {
    /// Reads the notices that count for these numbers (three indexed statements).
    async fn read(s: &Services, numbers: &[(i64, Option<&str>)]) -> DomainResult<DailyLimit> {
        let (today, tomorrow) = shanghai_day(Utc::now());
        let mut used: HashMap<String, Vec<i64>> = HashMap::new();
        let wanted: Vec<String> = numbers
            .iter()
            .filter_map(|(_, p)| p.map(str::to_string))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        if wanted.is_empty() {
            return Ok(DailyLimit { used, tomorrow });
        }
        let phone_of: HashMap<i64, String> = recipient::Entity::find()
            .select_only()
            .column(recipient::Column::Id)
            .column(recipient::Column::PhoneIndex)
            .filter(recipient::Column::PhoneIndex.is_in(wanted))
            .into_tuple::<(i64, Option<String>)>()
            .all(&s.db)
            .await?
            .into_iter()
            .filter_map(|(id, p)| p.map(|p| (id, p)))
            .collect();
        let recipient_of: HashMap<i64, i64> = disbursement::Entity::find()
            .select_only()
            .column(disbursement::Column::Id)
            .column(disbursement::Column::RecipientId)
            .filter(disbursement::Column::RecipientId.is_in(phone_of.keys().copied()))
            .into_tuple::<(i64, i64)>()
            .all(&s.db)
            .await?
            .into_iter()
            .collect();
        let counted: Vec<(i64, i64)> = notice::Entity::find()
            .select_only()
            .column(notice::Column::Id)
            .column(notice::Column::DisbursementId)
            .filter(notice::Column::DisbursementId.is_in(recipient_of.keys().copied()))
            .filter(
                Condition::any().add(notice::Column::SentAt.gte(today)).add(
                    Condition::all()
                        .add(notice::Column::Status.eq(NoticeStatus::Pending.as_str()))
                        .add(notice::Column::Attempts.gt(0))
                        .add(notice::Column::UpdatedAt.gte(today)),
                ),
            )
            .into_tuple()
            .all(&s.db)
            .await?;
        for (notice_id, disbursement_id) in counted {
            if let Some(phone) = recipient_of.get(&disbursement_id).and_then(|r| phone_of.get(r)) {
                used.entry(phone.clone()).or_default().push(notice_id);
            }
        }
        Ok(DailyLimit { used, tomorrow })
    }

    /// `Some(tomorrow)` when this notice's number reached the limit; otherwise the notice now
    /// counts for the next ones of the batch.
    fn take(&mut self, notice_id: i64, phone: Option<&str>, limit: u32) -> Option<DateTime<Utc>> {
        let phone = phone?;
        let list = self.used.entry(phone.to_string()).or_default();
        let others = list.iter().filter(|&&id| id != notice_id).count();
        if others >= limit as usize {
            return Some(self.tomorrow);
        }
        if !list.contains(&notice_id) {
            list.push(notice_id);
        }
        None
    }
}

/// Records an attempt on each notice before the provider is called, with one conditional
/// UPDATE per distinct attempt count read (usually one): the ids whose attempt this runner
/// recorded; a notice missing from it was taken by another runner.
async fn start_attempts(s: &Services, rows: &[&notice::Model]) -> DomainResult<HashSet<i64>> {
    let now = Utc::now().trunc_subsecs(6);
    let mut by_attempts: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    for n in rows {
        by_attempts.entry(n.attempts).or_default().push(n.id);
    }
    let mut started = HashSet::new();
    for (attempts, ids) in by_attempts {
        let updated = notice::Entity::update_many()
            .col_expr(
                notice::Column::Attempts,
                Expr::col(notice::Column::Attempts).add(1),
            )
            .col_expr(notice::Column::LastError, Expr::value(IN_FLIGHT))
            .col_expr(notice::Column::UpdatedAt, Expr::value(now))
            .filter(notice::Column::Id.is_in(ids))
            .filter(notice::Column::Attempts.eq(attempts))
            .filter(
                notice::Column::Status.is_in([NoticeStatus::Pending.as_str(), NoticeStatus::Failed.as_str()]),
            )
            .exec_with_returning(&s.db)
            .await?;
        started.extend(updated.into_iter().map(|n| n.id));
    }
    Ok(started)
}

/// SENT with `sentAt`, and the disbursements' `notifiedAt`, in one transaction.
async fn mark_sent(s: &Services, rows: &[&notice::Model]) -> DomainResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let now = Utc::now().trunc_subsecs(6);
    let txn = s.db.begin().await?;
    notice::Entity::update_many()
        .col_expr(notice::Column::Status, Expr::value(NoticeStatus::Sent.as_str()))
        .col_expr(notice::Column::SentAt, Expr::value(now))
        .col_expr(notice::Column::LastError, Expr::value(Option::<String>::None))
        .col_expr(notice::Column::UpdatedAt, Expr::value(now))
        .filter(notice::Column::Id.is_in(rows.iter().map(|n| n.id)))
        .filter(notice::Column::Status.is_in([NoticeStatus::Pending.as_str(), NoticeStatus::Failed.as_str()]))
        .exec(&txn)
        .await?;
    disbursement::Entity::update_many()
        .col_expr(disbursement::Column::NotifiedAt, Expr::value(now))
        .filter(disbursement::Column::Id.is_in(rows.iter().map(|n| n.disbursement_id)))
        .filter(disbursement::Column::NotifiedAt.is_null())
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// The reason an attempt did not end SENT, on the notice (the attempt was counted before).
async fn note_error(s: &Services, n: &notice::Model, reason: &str) -> DomainResult<()> {
    let now = Utc::now().trunc_subsecs(6);
    notice::Entity::update_many()
        .col_expr(
            notice::Column::LastError,
            Expr::value(reason.chars().take(1000).collect::<String>()),
        )
        .col_expr(notice::Column::UpdatedAt, Expr::value(now))
        .filter(notice::Column::Id.eq(n.id))
        .exec(&s.db)
        .await?;
    Ok(())
}

/// The NOTICE job gave up: its notice, if still unsent, is FAILED (a `retryJob` sends it again).
pub async fn give_up(s: &Services, j: &job::Model) -> DomainResult<()> {
    let Some(id) = j.target.as_deref().and_then(notice_rows::parse_target) else {
        return Ok(());
    };
    notice::Entity::update_many()
        .col_expr(notice::Column::Status, Expr::value(NoticeStatus::Failed.as_str()))
        .col_expr(
            notice::Column::UpdatedAt,
            Expr::value(Utc::now().trunc_subsecs(6)),
        )
        .filter(notice::Column::DisbursementId.eq(id))
        .filter(notice::Column::Status.eq(NoticeStatus::Pending.as_str()))
        .exec(&s.db)
        .await?;
    Ok(())
}
