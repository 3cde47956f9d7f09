//! The NOTICE job: sends the recipient's notice of a paid disbursement (queued by `markPaid`,
//! `funds::notices::queue`) through an `SmsProvider`.
//!
//! The notice row's status is the truth: a job that runs again for a notice already SENT does
//! nothing. The clear phone number exists only inside this job (decrypted from the recipient's
//! ciphertext) and is never logged; logs carry the mask.
//!
//! Not yet here (see README "Worker (foundation)"): the HTTP provider, asking the provider by
//! out-id before a resend whose outcome is unknown, receipts (DELIVERED), letters (LETTER
//! notices stay PENDING and get no job until the letter batch exists).
use crate::core::error::{DomainError, DomainResult};
use crate::core::identity::mask_phone;
use crate::core::money::Money;
use crate::core::services::Services;
use crate::funds::notices::{self as notice_rows, NoticeChannel, NoticeStatus};
use chrono::{NaiveDate, SubsecRound, Utc};
use entities::{campaign, disbursement, job, notice, recipient};
use futures::future::BoxFuture;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};

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

/// An SMS gateway. Providers do not de-duplicate: exactly-once is the notice row's status.
pub trait SmsProvider: Send + Sync {
    /// The provider accepted the message (`Ok`), or refused / could not be reached (`Err`, the
    /// reason as the operator should read it).
    fn send<'a>(&'a self, sms: &'a Sms) -> BoxFuture<'a, Result<(), String>>;
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
}

fn gone(what: &str) -> DomainError {
    DomainError::internal(anyhow::anyhow!("{what}"))
}

/// Runs one NOTICE job.
pub async fn send(s: &Services, sms: &dyn SmsProvider, j: &job::Model) -> DomainResult<()> {
    let id = j
        .target
        .as_deref()
        .and_then(notice_rows::parse_target)
        .ok_or_else(|| gone("任务目标无效"))?;
    let n = notice_rows::of_disbursement(&s.db, id)
        .await?
        .ok_or_else(|| gone(&format!("发放记录 #{id} 没有通知记录")))?;
    match notice_rows::status_of(&n) {
        NoticeStatus::Sent | NoticeStatus::Delivered => return Ok(()), // done before: nothing to do
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
    if let Err(reason) = sms.send(&message).await {
        attempt_failed(s, &n, &reason).await?;
        return Err(gone(&format!("短信发送失败: {reason}")));
    }
    drop(message);
    let now = Utc::now().trunc_subsecs(6);
    let txn = s.db.begin().await?;
    notice::Entity::update_many()
        .col_expr(notice::Column::Status, Expr::value(NoticeStatus::Sent.as_str()))
        .col_expr(notice::Column::SentAt, Expr::value(now))
        .col_expr(
            notice::Column::Attempts,
            Expr::col(notice::Column::Attempts).add(1),
        )
        .col_expr(notice::Column::LastError, Expr::value(Option::<String>::None))
        .col_expr(notice::Column::UpdatedAt, Expr::value(now))
        .filter(notice::Column::Id.eq(n.id))
        .filter(notice::Column::Status.is_in([NoticeStatus::Pending.as_str(), NoticeStatus::Failed.as_str()]))
        .exec(&txn)
        .await?;
    disbursement::Entity::update_many()
        .col_expr(disbursement::Column::NotifiedAt, Expr::value(now))
        .filter(disbursement::Column::Id.eq(id))
        .filter(disbursement::Column::NotifiedAt.is_null())
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

async fn attempt_failed(s: &Services, n: &notice::Model, reason: &str) -> DomainResult<()> {
    let now = Utc::now().trunc_subsecs(6);
    notice::Entity::update_many()
        .col_expr(
            notice::Column::Attempts,
            Expr::col(notice::Column::Attempts).add(1),
        )
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
