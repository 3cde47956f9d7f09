//! The two object types that refer to each other: a `Recipient` lists its `disbursements`, a
//! `Disbursement` names its `recipient`. They live together here so that `recipients` (the
//! list, nomination, vetting) and `funds` (the ledger, the payment life cycle) both build on
//! them without importing each other.
use super::campaigns::{Campaign, Category};
use super::context::actor;
use super::enums::{
    DisbursementKind, DisbursementStatus, NoticeChannel, NoticeStatus, RecipientKind, RecipientStatus,
    VerificationMethod,
};
use super::errors::ApiResult;
use super::loaders::{
    CampaignLoader, CategoryLoader, DisbursementsOfRecipient, FlagsLoader, HistoryLoader, NoticeLoader,
    OrgLoader, RecipientLoader, loader,
};
use super::organizations::Organization;
use super::scalars::{Date, Decimal};
use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use domain::funds::disbursements::{self, DisbursementField};
use domain::recipients as rules;
use domain::{DomainError, Money};
use entities::{disbursement, notice, recipient};

/// A recipient as answers show it (see `domain::recipients::RecipientView`).
pub struct Recipient(pub rules::RecipientView);

impl From<recipient::Model> for Recipient {
    fn from(m: recipient::Model) -> Self {
        Recipient(m.into())
    }
}

#[Object]
impl Recipient {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn campaign(&self, ctx: &Context<'_>) -> ApiResult<Campaign> {
        let loader = loader::<CampaignLoader>(ctx);
        loader
            .load_one(self.0.campaign_id)
            .await?
            .map(Campaign::from)
            .ok_or_else(|| DomainError::not_found("项目").into())
    }
    async fn category(&self, ctx: &Context<'_>) -> ApiResult<Category> {
        let loader = loader::<CategoryLoader>(ctx);
        loader
            .load_one(self.0.category_id)
            .await?
            .map(Category)
            .ok_or_else(|| DomainError::not_found("类别").into())
    }
    async fn kind(&self) -> RecipientKind {
        self.0
            .kind
            .parse::<domain::campaigns::RecipientKind>()
            .unwrap_or(domain::campaigns::RecipientKind::Person)
            .into()
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// "5301**********1234"; PERSON only.
    async fn id_number_masked(&self) -> Option<&str> {
        self.0.id_number_mask.as_deref()
    }
    async fn phone_masked(&self) -> Option<&str> {
        self.0.phone_mask.as_deref()
    }
    async fn bank_name(&self) -> Option<&str> {
        self.0.bank_name.as_deref()
    }
    async fn bank_account_masked(&self) -> Option<&str> {
        self.0.bank_account_mask.as_deref()
    }
    async fn nominated_by(&self, ctx: &Context<'_>) -> ApiResult<Organization> {
        let loader = loader::<OrgLoader>(ctx);
        loader
            .load_one(self.0.nominated_by)
            .await?
            .map(Organization)
            .ok_or_else(|| DomainError::not_found("推荐单位").into())
    }
    async fn status(&self) -> RecipientStatus {
        self.0.status().into()
    }
    async fn verification_method(&self) -> Option<VerificationMethod> {
        self.0
            .verification_method
            .as_deref()
            .and_then(|m| m.parse::<rules::VerificationMethod>().ok())
            .map(Into::into)
    }
    async fn verification_note(&self) -> Option<&str> {
        self.0.verification_note.as_deref()
    }
    async fn rejection_reason(&self) -> Option<&str> {
        self.0.rejection_reason.as_deref()
    }
    async fn disbursements(&self, ctx: &Context<'_>) -> ApiResult<Vec<Disbursement>> {
        let loader = loader::<DisbursementsOfRecipient>(ctx);
        Ok(loader
            .load_one(self.0.id)
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(Disbursement)
            .collect())
    }
    /// 冒领 warning signs for the caseworker: SHARED_BANK_ACCOUNT, SHARED_PHONE (shared with a
    /// recipient of another identity in this campaign).
    async fn flags(&self, ctx: &Context<'_>) -> ApiResult<Vec<String>> {
        let loader = loader::<FlagsLoader>(ctx);
        Ok(loader
            .load_one(self.0.id)
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(String::from)
            .collect())
    }
    /// Earlier campaigns in which the same person was nominated, newest first.
    async fn history(&self, ctx: &Context<'_>) -> ApiResult<Vec<RecipientHistory>> {
        let loader = loader::<HistoryLoader>(ctx);
        Ok(loader
            .load_one(self.0.id)
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(RecipientHistory)
            .collect())
    }
}

pub struct RecipientHistory(domain::recipients::HistoryEntry);

#[Object]
impl RecipientHistory {
    async fn campaign(&self) -> Campaign {
        self.0.campaign.clone().into()
    }
    async fn category_name(&self) -> &str {
        &self.0.category_name
    }
    async fn status(&self) -> RecipientStatus {
        self.0.status.into()
    }
    /// Paid (or confirmed) in that campaign.
    async fn helped(&self) -> bool {
        self.0.helped
    }
}

/// A disbursement, however it was reached (the root list, `Recipient.disbursements`, a
/// mutation's answer): each field asks `disbursements::may_read` first, so a field refused to a
/// caller is refused on every path (FORBIDDEN on that field, null in `data`).
pub struct Disbursement(pub disbursement::Model);

/// The caller may read `field` of a disbursement (`DisbursementField::permission`).
fn readable(ctx: &Context<'_>, field: DisbursementField) -> ApiResult<()> {
    Ok(disbursements::may_read(actor(ctx)?, field)?)
}

#[Object]
impl Disbursement {
    async fn id(&self, ctx: &Context<'_>) -> ApiResult<ID> {
        readable(ctx, DisbursementField::Id)?;
        Ok(ID(self.0.id.to_string()))
    }
    async fn recipient(&self, ctx: &Context<'_>) -> ApiResult<Recipient> {
        readable(ctx, DisbursementField::Recipient)?;
        let loader = loader::<RecipientLoader>(ctx);
        loader
            .load_one(self.0.recipient_id)
            .await?
            .map(Recipient::from)
            .ok_or_else(|| DomainError::not_found("慰问对象").into())
    }
    async fn kind(&self, ctx: &Context<'_>) -> ApiResult<DisbursementKind> {
        readable(ctx, DisbursementField::Kind)?;
        Ok(self.0.kind.parse().unwrap_or(disbursements::DKind::Cash).into())
    }
    async fn amount(&self, ctx: &Context<'_>) -> ApiResult<Decimal> {
        readable(ctx, DisbursementField::Amount)?;
        Ok(Money::from_fen(self.0.amount_fen).into())
    }
    async fn status(&self, ctx: &Context<'_>) -> ApiResult<DisbursementStatus> {
        readable(ctx, DisbursementField::Status)?;
        Ok(disbursements::status_of(&self.0).into())
    }
    /// GOODS: what was handed over.
    async fn items(&self, ctx: &Context<'_>) -> ApiResult<Option<&str>> {
        readable(ctx, DisbursementField::Items)?;
        Ok(self.0.items.as_deref())
    }
    async fn bank_reference(&self, ctx: &Context<'_>) -> ApiResult<Option<&str>> {
        readable(ctx, DisbursementField::BankReference)?;
        Ok(self.0.bank_reference.as_deref())
    }
    async fn paid_on(&self, ctx: &Context<'_>) -> ApiResult<Option<Date>> {
        readable(ctx, DisbursementField::PaidOn)?;
        Ok(self.0.paid_on.map(Date))
    }
    async fn confirmed_on(&self, ctx: &Context<'_>) -> ApiResult<Option<Date>> {
        readable(ctx, DisbursementField::ConfirmedOn)?;
        Ok(self.0.confirmed_on.map(Date))
    }
    /// When the recipient's notice went out.
    async fn notified_at(&self, ctx: &Context<'_>) -> ApiResult<Option<DateTime<Utc>>> {
        readable(ctx, DisbursementField::NotifiedAt)?;
        Ok(self.0.notified_at)
    }
    /// The recipient's notice; null until markPaid queued it.
    async fn notice(&self, ctx: &Context<'_>) -> ApiResult<Option<Notice>> {
        readable(ctx, DisbursementField::Notice)?;
        Ok(loader::<NoticeLoader>(ctx).load_one(self.0.id).await?.map(Notice))
    }
    /// paidOn + the campaign's working days (official calendar).
    async fn entry_deadline(&self, ctx: &Context<'_>) -> ApiResult<Option<Date>> {
        readable(ctx, DisbursementField::EntryDeadline)?;
        Ok(self.0.entry_deadline.map(Date))
    }
    /// True when the deadline falls in a year the calendar does not know yet (weekends only).
    async fn entry_deadline_provisional(&self, ctx: &Context<'_>) -> ApiResult<bool> {
        readable(ctx, DisbursementField::EntryDeadlineProvisional)?;
        Ok(self.0.entry_deadline_provisional)
    }
    async fn entered_at(&self, ctx: &Context<'_>) -> ApiResult<Option<DateTime<Utc>>> {
        readable(ctx, DisbursementField::EnteredAt)?;
        Ok(self.0.entered_at)
    }
    async fn provincial_ref(&self, ctx: &Context<'_>) -> ApiResult<Option<&str>> {
        readable(ctx, DisbursementField::ProvincialRef)?;
        Ok(self.0.provincial_ref.as_deref())
    }
}

/// The recipient's notice of a disbursement (reached only through `Disbursement.notice`, whose
/// read rule it obeys).
pub struct Notice(pub notice::Model);

#[Object]
impl Notice {
    async fn channel(&self) -> NoticeChannel {
        domain::notices::channel_of(&self.0).into()
    }
    async fn status(&self) -> NoticeStatus {
        domain::notices::status_of(&self.0).into()
    }
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    async fn sent_at(&self) -> Option<DateTime<Utc>> {
        self.0.sent_at
    }
    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.0.delivered_at
    }
}
