//! The recipient's notice of a paid disbursement (以书面、短信等形式及时告知): one row per
//! disbursement, written by `markPaid` in the payment's own transaction together with its NOTICE
//! job (`core::outbox`). The row's status is the truth of what was sent: the job that sends it
//! (`work::notices`) does nothing for a notice already SENT, however often it runs.
use crate::core::error::DomainResult;
use crate::core::outbox::{self, NewJob};
use crate::people::audit::Change;
use crate::plan::categories::RecipientKind;
use entities::{disbursement, notice, recipient};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use std::collections::HashMap;

crate::core::codes::coded_enum! {
    pub enum NoticeChannel {
        Sms = "SMS",
        Letter = "LETTER",
    }
}

crate::core::codes::coded_enum! {
    pub enum NoticeStatus {
        Pending = "PENDING",
        Sent = "SENT",
        Delivered = "DELIVERED",
        Failed = "FAILED",
    }
}

pub fn channel_of(n: &notice::Model) -> NoticeChannel {
    n.channel.parse().unwrap_or(NoticeChannel::Letter)
}

pub fn status_of(n: &notice::Model) -> NoticeStatus {
    n.status.parse().unwrap_or(NoticeStatus::Pending)
}

/// SMS when the recipient is a PERSON with a phone, otherwise a written LETTER.
pub fn channel_for(r: &recipient::Model) -> NoticeChannel {
    let person = r.kind.parse::<RecipientKind>().ok() == Some(RecipientKind::Person);
    if person && r.phone_enc.is_some() {
        NoticeChannel::Sms
    } else {
        NoticeChannel::Letter
    }
}

/// The notice's out-id (our idempotency key at the provider) and the NOTICE job's key.
pub fn out_id(disbursement_id: i64) -> String {
    format!("sn-notice-{disbursement_id}")
}

/// The NOTICE job's target.
pub fn target(disbursement_id: i64) -> String {
    format!("disbursement:{disbursement_id}")
}

/// The disbursement id of a NOTICE job's target ("disbursement:42").
pub fn parse_target(target: &str) -> Option<i64> {
    target.strip_prefix("disbursement:")?.parse().ok()
}

/// Queues the notice of a disbursement just paid, inside the payment's `Change`: a PENDING
/// notice row and its job — NOTICE for an SMS; LETTERS for a letter, due `letter_delay` later
/// so the payments of a burst are printed in one batch per campaign (`work::letters`) — both
/// once per disbursement whatever is retried.
pub async fn queue(
    change: &mut Change,
    paid: &disbursement::Model,
    r: &recipient::Model,
    letter_delay: std::time::Duration,
) -> DomainResult<()> {
    let now = change.now();
    let channel = channel_for(r);
    let row = notice::ActiveModel {
        disbursement_id: Set(paid.id),
        channel: Set(channel.as_str().to_string()),
        status: Set(NoticeStatus::Pending.as_str().to_string()),
        attempts: Set(0),
        last_error: Set(None),
        out_id: Set(out_id(paid.id)),
        sent_at: Set(None),
        delivered_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    notice::Entity::insert(row)
        .on_conflict_do_nothing_on([notice::Column::DisbursementId])
        .exec_without_returning(change.txn())
        .await?;
    if channel != NoticeChannel::Sms {
        // Each letter has its own job (so none is lost); the first to run prints every
        // pending letter of the campaign, the others find theirs printed.
        let run_at = now + chrono::Duration::from_std(letter_delay).unwrap_or_default();
        return outbox::enqueue_at(
            change.txn(),
            NewJob {
                kind: outbox::kinds::LETTERS,
                target: Some(target(paid.id)),
                idempotency_key: format!("letter:{}", paid.id),
                max_attempts: outbox::DEFAULT_MAX_ATTEMPTS,
            },
            now,
            run_at,
        )
        .await;
    }
    outbox::enqueue(
        change.txn(),
        NewJob {
            kind: outbox::kinds::NOTICE,
            target: Some(target(paid.id)),
            idempotency_key: format!("notice:{}", paid.id),
            max_attempts: outbox::DEFAULT_MAX_ATTEMPTS,
        },
        now,
    )
    .await
}

/// The notice of one disbursement, if one was queued.
pub async fn of_disbursement<C: ConnectionTrait>(
    db: &C,
    disbursement_id: i64,
) -> DomainResult<Option<notice::Model>> {
    Ok(notice::Entity::find()
        .filter(notice::Column::DisbursementId.eq(disbursement_id))
        .one(db)
        .await?)
}

/// The notices of many disbursements, by disbursement id (for the loader).
pub async fn by_disbursement<C: ConnectionTrait>(
    db: &C,
    ids: &[i64],
) -> DomainResult<HashMap<i64, notice::Model>> {
    Ok(notice::Entity::find()
        .filter(notice::Column::DisbursementId.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|n| (n.disbursement_id, n))
        .collect())
}
