//! The provincial platform push (PROVINCIAL_PUSH): paid records not yet entered go to the
//! provincial aid platform in batches; its receipt marks each entered with the platform's
//! reference, through the same rule as the pull path (`funds::disbursements::enter`, used by
//! `markEntered`).
//!
//! **The request** (`POST SONGNUAN_PROVINCE_URL`, `Authorization: Bearer SONGNUAN_PROVINCE_TOKEN`,
//! at most `SONGNUAN_PROVINCE_BATCH` records):
//!
//! ```json
//! {"records": [{"idempotencyKey": "disbursement:42", "campaign": "2025年春节送温暖", "campaignYear": 2025,
//!               "organization": "富民县总工会", "category": "HARDSHIP", "categoryName": "困难职工",
//!               "recipientKind": "PERSON", "name": "张三", "idNumber": "530124198001010012",
//!               "kind": "CASH", "amount": "500.00", "items": null,
//!               "paidOn": "2025-01-23", "bankReference": "BANK-0001"}]}
//! ```
//!
//! **The receipt** (HTTP 2xx): `{"records": [{"idempotencyKey": "disbursement:42", "reference":
//! "YN-2025-000123"}, {"idempotencyKey": "disbursement:43", "error": "…"}]}`. A record with a
//! reference is entered (`enteredAt`, `provincialRef`, audited as `provincialPush` with no
//! actor); one refused or missing stays unentered and fails the job with its reason (retried
//! with backoff, FAILED after `maxAttempts`; the next period's job tries again). Any other HTTP
//! status, a timeout or a broken answer fails the job the same way.
//!
//! **Personal data.** The platform keeps the real-name record of who was helped (it checks
//! people across counties), so a PERSON's name and clear ID number go in the request: the
//! number is decrypted inside this job only, never logged, never written to the job's error,
//! and sent only over the authenticated channel — the setting refuses a plain-http URL unless
//! it is on this host. Phone numbers and bank accounts are not sent (the platform does not need
//! them; the bank's transfer reference identifies the payment). A UNIT has no ID number
//! (`idNumber: null`).
//!
//! **Exactly once.** The job carries no records: each run reads the records due now (PAID or
//! CONFIRMED, `entered_at` null), so nothing queued can be lost or stale, and a record paid at
//! any time goes with the next run. Each record's idempotency key is stable
//! (`disbursement:<id>`), so a request resent after a lost answer, a timeout or a crash between
//! the platform's receipt and our commit gets the same reference back from the platform
//! (platforms de-duplicate on it), and entering an entered record changes nothing. Two runs at
//! once (a retry beside the next period's job) are harmless for the same reasons.
//!
//! **Scheduling.** Every runner calls `schedule` in its loop: once per period
//! (`SONGNUAN_PROVINCE_EVERY_SECS`, default 600 s) it queues the period's job under the key
//! `province:<period start>` when records are due — one job per period however many replicas
//! run (the outbox's unique key), none when nothing is due. Queuing it from `markPaid` under a
//! per-campaign key instead would lose records: a key already used by a finished job adds no
//! new job for a payment made after it ran.
use crate::core::error::{DomainError, DomainResult};
use crate::core::money::Money;
use crate::core::outbox::{self, NewJob, kinds};
use crate::core::services::Services;
use crate::core::settings::ProvinceSettings;
use crate::funds::disbursement_refs::{DisbursementRefs, Organizations};
use crate::funds::disbursements::{self, Entry};
use crate::people::audit::Change;
use crate::plan::statuses::awaiting_entry;
use chrono::{DateTime, NaiveDate, SubsecRound, TimeZone, Utc};
use entities::{disbursement, job};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// One record as the platform receives it (`Debug` is not derived: it holds the clear ID number).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PushRecord {
    /// `disbursement:<id>`: the same for every resend of the record.
    pub idempotency_key: String,
    pub campaign: String,
    pub campaign_year: i32,
    /// The organisation running the campaign (the sender).
    pub organization: String,
    /// The category's code and name.
    pub category: String,
    pub category_name: String,
    /// PERSON or UNIT.
    pub recipient_kind: String,
    pub name: String,
    /// Clear, for a PERSON; null for a UNIT.
    pub id_number: Option<String>,
    /// CASH or GOODS.
    pub kind: String,
    /// Two decimals, e.g. "500.00".
    pub amount: String,
    pub items: Option<String>,
    pub paid_on: Option<NaiveDate>,
    pub bank_reference: Option<String>,
}

#[derive(Serialize)]
struct PushRequest<'a> {
    records: &'a [PushRecord],
}

/// The platform's answer for one record: a reference, or the reason it was refused.
#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptRecord {
    pub idempotency_key: String,
    pub reference: Option<String>,
    pub error: Option<String>,
}

#[derive(Deserialize, Debug)]
struct Receipt {
    records: Vec<ReceiptRecord>,
}

/// The idempotency key of a record at the platform.
pub fn record_key(disbursement_id: i64) -> String {
    format!("disbursement:{disbursement_id}")
}

fn internal(reason: String) -> DomainError {
    DomainError::internal(anyhow::anyhow!("{reason}"))
}

/// The start of the period holding `now` (periods of `every` counted from the Unix epoch).
pub fn period_start(now: DateTime<Utc>, every: std::time::Duration) -> DateTime<Utc> {
    let step = every.as_secs().max(1) as i64;
    let t = now.timestamp();
    Utc.timestamp_opt(t - t.rem_euclid(step), 0)
        .single()
        .unwrap_or(now)
}

/// Queues the push job of the period starting at `start` (once per period, whoever asks).
pub async fn queue<C: ConnectionTrait>(
    conn: &C,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    let stamp = start.format("%Y-%m-%dT%H:%M:%SZ");
    outbox::enqueue(
        conn,
        NewJob {
            kind: kinds::PROVINCIAL_PUSH,
            target: Some(format!("every:{stamp}")),
            idempotency_key: format!("province:{stamp}"),
            max_attempts: outbox::DEFAULT_MAX_ATTEMPTS,
        },
        now,
    )
    .await
}

/// Called by each runner's loop: queues this period's job when the push is configured and
/// records are due, remembering in `last` the period this runner has looked at (one look per
/// period).
pub async fn schedule(s: &Services, now: DateTime<Utc>, last: &mut Option<DateTime<Utc>>) {
    let Some(cfg) = &s.settings.province else {
        return;
    };
    let start = period_start(now, cfg.every);
    if *last == Some(start) {
        return;
    }
    let queued = async {
        if due_count(&s.db).await? > 0 {
            queue(&s.db, start, now.trunc_subsecs(6)).await?;
        }
        DomainResult::Ok(())
    };
    match queued.await {
        Ok(()) => *last = Some(start),
        Err(e) => tracing::warn!(error = ?e, "省级平台推送任务排队失败，稍后重试"),
    }
}

/// Records due for the platform: PAID or CONFIRMED, not entered.
pub async fn due_count<C: ConnectionTrait>(db: &C) -> DomainResult<u64> {
    Ok(disbursement::Entity::find()
        .filter(awaiting_entry())
        .count(db)
        .await?)
}

/// What one run of the job did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// Requests made.
    pub requests: usize,
    /// Records entered by this run.
    pub entered: usize,
    /// Records the platform answered for that were already entered (unchanged).
    pub unchanged: usize,
    /// Records refused (or left out of the receipt), with the reason.
    pub refused: Vec<(i64, String)>,
}

/// The PROVINCIAL_PUSH job: pushes every due record in batches, in id order. A failed request
/// fails the job at once (the batches before it stay entered); refused records fail it at the
/// end, after the other batches went.
pub async fn run_job(s: &Services, _j: &job::Model) -> DomainResult<()> {
    let pushed = push_due(s).await?;
    if let Some((id, reason)) = pushed.refused.first() {
        return Err(internal(format!(
            "省级平台拒收 {} 条记录（首条 发放记录 #{id}：{reason}）",
            pushed.refused.len()
        )));
    }
    Ok(())
}

/// Pushes the due records (see `run_job`); what it did.
pub async fn push_due(s: &Services) -> DomainResult<Pushed> {
    let cfg = s
        .settings
        .province
        .as_ref()
        .ok_or_else(|| internal("未配置省级平台（SONGNUAN_PROVINCE_URL）".into()))?;
    let client = reqwest::Client::builder()
        .timeout(cfg.timeout)
        .build()
        .map_err(DomainError::internal)?;
    let mut out = Pushed::default();
    let mut after_id = 0i64;
    loop {
        // Keyset by id: a refused record is not picked up again by this run.
        let due = disbursement::Entity::find()
            .filter(awaiting_entry())
            .filter(disbursement::Column::Id.gt(after_id))
            .order_by_asc(disbursement::Column::Id)
            .limit(u64::from(cfg.batch))
            .all(&s.db)
            .await?;
        let Some(last) = due.last() else {
            break;
        };
        after_id = last.id;
        let records = records_of(s, &due).await?;
        out.requests += 1;
        let receipt = post(&client, cfg, &records).await?;
        drop(records);
        apply(s, &due, receipt, &mut out).await?;
    }
    if out.requests > 0 {
        tracing::info!(
            requests = out.requests,
            entered = out.entered,
            unchanged = out.unchanged,
            refused = out.refused.len(),
            "省级平台推送完成"
        );
    }
    Ok(out)
}

/// The request records of a batch: what it refers to read at once (`DisbursementRefs`, the
/// organisations being the campaigns' own, the sender); ID numbers decrypted here.
async fn records_of(s: &Services, due: &[disbursement::Model]) -> DomainResult<Vec<PushRecord>> {
    let DisbursementRefs {
        campaigns,
        categories,
        recipients,
        organizations: orgs,
    } = DisbursementRefs::read(&s.db, due, Organizations::Running).await?;
    let mut out = Vec::with_capacity(due.len());
    for d in due {
        let missing = |what: &str| internal(format!("发放记录 #{} 的{what}不存在", d.id));
        let c = campaigns.get(&d.campaign_id).ok_or_else(|| missing("项目"))?;
        let cat = categories.get(&d.category_id).ok_or_else(|| missing("类别"))?;
        let r = recipients
            .get(&d.recipient_id)
            .ok_or_else(|| missing("慰问对象"))?;
        let id_number = match &r.id_number_enc {
            Some(enc) => Some(s.cipher.decrypt(enc)?),
            None => None,
        };
        out.push(PushRecord {
            idempotency_key: record_key(d.id),
            campaign: c.name.clone(),
            campaign_year: c.year,
            organization: orgs.get(&c.organization_id).cloned().unwrap_or_default(),
            category: cat.code.clone(),
            category_name: cat.name.clone(),
            recipient_kind: r.kind.clone(),
            name: r.name.clone(),
            id_number,
            kind: d.kind.clone(),
            amount: Money::from_fen(d.amount_fen).to_string(),
            items: d.items.clone(),
            paid_on: d.paid_on,
            bank_reference: d.bank_reference.clone(),
        });
    }
    Ok(out)
}

/// At most `n` characters of what the platform said (it may be long; never our request).
fn snippet(text: &str, n: usize) -> String {
    text.chars().filter(|c| !c.is_control()).take(n).collect()
}

/// One request. Any failure is the reason as an operator should read it (no personal data:
/// only the HTTP status and the platform's own words).
async fn post(
    client: &reqwest::Client,
    cfg: &ProvinceSettings,
    records: &[PushRecord],
) -> DomainResult<Receipt> {
    let resp = client
        .post(&cfg.url)
        .bearer_auth(&cfg.token)
        .json(&PushRequest { records })
        .send()
        .await
        .map_err(|e| {
            let what = if e.is_timeout() {
                format!("省级平台在 {} 毫秒内没有应答", cfg.timeout.as_millis())
            } else {
                "无法连接省级平台".to_string()
            };
            // reqwest's error text names the URL only (no body).
            internal(format!("{what}：{e}"))
        })?;
    let status = resp.status();
    let text = resp
        .text()
        .await
        .map_err(|e| internal(format!("省级平台应答读取失败：{e}")))?;
    if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
        return Err(internal(format!(
            "省级平台拒绝了访问令牌（HTTP {}），请检查 SONGNUAN_PROVINCE_TOKEN：{}",
            status.as_u16(),
            snippet(&text, 200)
        )));
    }
    if !status.is_success() {
        return Err(internal(format!(
            "省级平台应答 HTTP {}：{}",
            status.as_u16(),
            snippet(&text, 200)
        )));
    }
    serde_json::from_str::<Receipt>(&text)
        .map_err(|e| internal(format!("省级平台回执格式无效（{e}）：{}", snippet(&text, 200))))
}

/// Enters the batch's records the receipt gives a reference for, in one audited transaction
/// (action `provincialPush`, no actor), through `disbursements::enter`.
async fn apply(
    s: &Services,
    due: &[disbursement::Model],
    receipt: Receipt,
    out: &mut Pushed,
) -> DomainResult<()> {
    let mut answers: HashMap<String, ReceiptRecord> = receipt
        .records
        .into_iter()
        .map(|r| (r.idempotency_key.clone(), r))
        .collect();
    let mut change = Change::begin(&s.db, None, "provincialPush").await?;
    for d in due {
        let answer = answers.remove(&record_key(d.id));
        let reference = match answer {
            Some(ReceiptRecord {
                reference: Some(reference),
                ..
            }) => reference,
            Some(ReceiptRecord { error, .. }) => {
                let reason = snippet(error.as_deref().unwrap_or("未说明原因"), 200);
                out.refused.push((d.id, reason));
                continue;
            }
            None => {
                out.refused.push((d.id, "平台回执中没有这条记录".into()));
                continue;
            }
        };
        // Read again inside the transaction: the pull path may have entered it meanwhile.
        let Some(current) = disbursement::Entity::find_by_id(d.id).one(change.txn()).await? else {
            continue;
        };
        match disbursements::enter(&mut change, current, &reference).await {
            Ok(Entry::Entered(_)) => out.entered += 1,
            Ok(Entry::Same(_)) => out.unchanged += 1,
            Ok(Entry::Other(kept)) => {
                tracing::warn!(
                    disbursement = d.id,
                    kept = ?kept.provincial_ref,
                    "记录已以另一编号录入（拉取方式），保留原编号"
                );
                out.unchanged += 1;
            }
            // A reference our rule refuses (empty, too long): that record only.
            Err(e @ (DomainError::Validation { .. } | DomainError::Conflict(_))) => {
                out.refused.push((d.id, format!("平台编号无效：{e}")));
            }
            Err(e) => return Err(e),
        }
    }
    change.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn periods_start_on_multiples_of_their_length() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let ten = Duration::from_secs(600);
        assert_eq!(
            period_start(at("2025-01-23T09:07:59Z"), ten),
            at("2025-01-23T09:00:00Z")
        );
        assert_eq!(
            period_start(at("2025-01-23T09:10:00Z"), ten),
            at("2025-01-23T09:10:00Z")
        );
        assert_eq!(
            period_start(at("2025-01-23T09:10:00.5Z"), Duration::from_secs(1)),
            at("2025-01-23T09:10:00Z")
        );
    }

    #[test]
    fn the_request_shape_is_camel_case_with_the_amount_as_a_string() {
        let r = PushRecord {
            idempotency_key: record_key(42),
            campaign: "春节送温暖".into(),
            campaign_year: 2025,
            organization: "县总工会".into(),
            category: "HARDSHIP".into(),
            category_name: "困难职工".into(),
            recipient_kind: "UNIT".into(),
            name: "环卫所".into(),
            id_number: None,
            kind: "CASH".into(),
            amount: Money::from_fen(50_000).to_string(),
            items: None,
            paid_on: NaiveDate::from_ymd_opt(2025, 1, 23),
            bank_reference: Some("B-1".into()),
        };
        let v = serde_json::to_value(PushRequest { records: &[r] }).unwrap();
        let rec = &v["records"][0];
        assert_eq!(rec["idempotencyKey"], "disbursement:42");
        assert_eq!(rec["amount"], "500.00");
        assert_eq!(rec["paidOn"], "2025-01-23");
        assert_eq!(rec["idNumber"], serde_json::Value::Null);
        assert_eq!(rec["recipientKind"], "UNIT");
    }
}
