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
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, TransactionTrait};

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

/// Runs one NOTICE job. Exactly once, whatever fails where:
///
/// 1. a notice already SENT/DELIVERED: nothing to do;
/// 2. a notice with an earlier attempt (`attempts > 0`, its outcome possibly unknown: a
///    timeout, a cut connection, a crash after the provider accepted): ask the provider by
///    out-id (`SmsProvider::query`); if it has the message, mark SENT without resending; if it
///    cannot say, fail the attempt (retried later), never resend blind;
/// 3. the number's daily limit (`within_daily_limit`): over it, `Outcome::Later`;
/// 4. record the attempt (`attempts + 1`, `IN_FLIGHT`) with a conditional UPDATE on the
///    attempts just read, so of two runners on one notice only one goes on;
/// 5. call the provider; accepted → SENT, `notifiedAt`; refused or no answer → the reason,
///    and the job is retried (back to 2).
pub async fn send(s: &Services, sms: &dyn SmsProvider, j: &job::Model) -> DomainResult<Outcome> {
    let id = j
        .target
        .as_deref()
        .and_then(notice_rows::parse_target)
        .ok_or_else(|| gone("任务目标无效"))?;
    let n = notice_rows::of_disbursement(&s.db, id)
        .await?
        .ok_or_else(|| gone(&format!("发放记录 #{id} 没有通知记录")))?;
    match notice_rows::status_of(&n) {
        NoticeStatus::Sent | NoticeStatus::Delivered => return Ok(Outcome::Done), // done before
        NoticeStatus::Pending | NoticeStatus::Failed => {}
    }
    if notice_rows::channel_of(&n) != NoticeChannel::Sms {
        return Err(gone("书面通知尚未实现"));
    }
    let d = disbursement::Entity::find_by_id(id)
        .one(&s.db)
        .await?
        .ok_or_else(|| gone(&format!("发放记录 #{id} 不存在")))?;
    let r = recipient::Entity::find_by_id(d.recipient_id)
        .one(&s.db)
        .await?
        .ok_or_else(|| gone("慰问对象不存在"))?;
    let c = campaign::Entity::find_by_id(d.campaign_id)
        .one(&s.db)
        .await?
        .ok_or_else(|| gone("项目不存在"))?;
    let phone = match &r.phone_enc {
        Some(enc) => s.cipher.decrypt(enc)?,
        None => return Err(gone("慰问对象没有手机号")),
    };
    let message = Sms {
        out_id: n.out_id.clone(),
        phone,
        name: r.name.clone(),
        amount: Money::from_fen(d.amount_fen).to_string(),
        campaign: c.name.clone(),
        paid_on: d.paid_on,
    };
    if n.attempts > 0 {
        match sms.query(&message).await {
            Ok(true) => {
                tracing::info!(out_id = %n.out_id, "短信服务商已收到此前的发送，不再重发");
                mark_sent(s, &n).await?;
                return Ok(Outcome::Done);
            }
            Ok(false) => {}
            Err(reason) => {
                let reason = format!("无法向短信服务商查询此前的发送，暂不重发: {reason}");
                note_error(s, &n, &reason).await?;
                return Err(gone(&reason));
            }
        }
    }
    if let Some(phone_index) = &r.phone_index {
        let limit = s.settings.sms.per_number_daily;
        if let Some(at) = over_daily_limit(s, n.id, phone_index, limit).await? {
            let reason = format!("该号码今日短信已达上限（{limit} 条），明日再发");
            note_error(s, &n, &reason).await?;
            return Ok(Outcome::Later(at, reason));
        }
    }
    if !start_attempt(s, &n).await? {
        return Err(gone("通知正由其他执行器发送"));
    }
    if let Err(reason) = sms.send(&message).await {
        note_error(s, &n, &reason).await?;
        return Err(gone(&format!("短信发送失败: {reason}")));
    }
    drop(message);
    mark_sent(s, &n).await?;
    Ok(Outcome::Done)
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
/// still unresolved, other than this one. `Some(tomorrow)` when the limit is reached. Two
/// runners sending to one number in the same instant may both pass (one over the limit).
async fn over_daily_limit(
    s: &Services,
    notice_id: i64,
    phone_index: &str,
    limit: u32,
) -> DomainResult<Option<DateTime<Utc>>> {
    let (today, tomorrow) = shanghai_day(Utc::now());
    let same_number = Query::select()
        .column(disbursement::Column::Id)
        .from(disbursement::Entity)
        .and_where(
            disbursement::Column::RecipientId.in_subquery(
                Query::select()
                    .column(recipient::Column::Id)
                    .from(recipient::Entity)
                    .and_where(recipient::Column::PhoneIndex.eq(phone_index))
                    .to_owned(),
            ),
        )
        .to_owned();
    let used = notice::Entity::find()
        .filter(notice::Column::DisbursementId.in_subquery(same_number))
        .filter(notice::Column::Id.ne(notice_id))
        .filter(
            Condition::any().add(notice::Column::SentAt.gte(today)).add(
                Condition::all()
                    .add(notice::Column::Status.eq(NoticeStatus::Pending.as_str()))
                    .add(notice::Column::Attempts.gt(0))
                    .add(notice::Column::UpdatedAt.gte(today)),
            ),
        )
        .count(&s.db)
        .await?;
    Ok((used >= u64::from(limit)).then_some(tomorrow))
}

/// Records an attempt before the provider is called; false when another runner did first.
async fn start_attempt(s: &Services, n: &notice::Model) -> DomainResult<bool> {
    let now = Utc::now().trunc_subsecs(6);
    let res = notice::Entity::update_many()
        .col_expr(
            notice::Column::Attempts,
            Expr::col(notice::Column::Attempts).add(1),
        )
        .col_expr(notice::Column::LastError, Expr::value(IN_FLIGHT))
        .col_expr(notice::Column::UpdatedAt, Expr::value(now))
        .filter(notice::Column::Id.eq(n.id))
        .filter(notice::Column::Attempts.eq(n.attempts))
        .filter(notice::Column::Status.is_in([NoticeStatus::Pending.as_str(), NoticeStatus::Failed.as_str()]))
        .exec(&s.db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// SENT with `sentAt`, and the disbursement's `notifiedAt`, in one transaction.
async fn mark_sent(s: &Services, n: &notice::Model) -> DomainResult<()> {
    let now = Utc::now().trunc_subsecs(6);
    let txn = s.db.begin().await?;
    notice::Entity::update_many()
        .col_expr(notice::Column::Status, Expr::value(NoticeStatus::Sent.as_str()))
        .col_expr(notice::Column::SentAt, Expr::value(now))
        .col_expr(notice::Column::LastError, Expr::value(Option::<String>::None))
        .col_expr(notice::Column::UpdatedAt, Expr::value(now))
        .filter(notice::Column::Id.eq(n.id))
        .filter(notice::Column::Status.is_in([NoticeStatus::Pending.as_str(), NoticeStatus::Failed.as_str()]))
        .exec(&txn)
        .await?;
    disbursement::Entity::update_many()
        .col_expr(disbursement::Column::NotifiedAt, Expr::value(now))
        .filter(disbursement::Column::Id.eq(n.disbursement_id))
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
