//! `Disbursement` (the money operations arrive with the money module).
use super::enums::{DisbursementKind, DisbursementStatus};
use super::errors::ApiResult;
use super::loaders::{Batched, RecipientLoader};
use super::recipients::Recipient;
use super::scalars::{Date, Decimal};
use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use domain::{DomainError, Money};
use entities::disbursement;

pub struct Disbursement(pub disbursement::Model);

#[Object]
impl Disbursement {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn recipient(&self, ctx: &Context<'_>) -> ApiResult<Recipient> {
        let loader = ctx.data_unchecked::<Batched<RecipientLoader>>();
        loader
            .load_one(self.0.recipient_id)
            .await?
            .map(Recipient)
            .ok_or_else(|| DomainError::not_found("慰问对象").into())
    }
    async fn kind(&self) -> DisbursementKind {
        DisbursementKind::parse(&self.0.kind)
    }
    async fn amount(&self) -> Decimal {
        Money::from_fen(self.0.amount_fen).into()
    }
    async fn status(&self) -> DisbursementStatus {
        DisbursementStatus::parse(&self.0.status)
    }
    /// GOODS: what was handed over.
    async fn items(&self) -> Option<&str> {
        self.0.items.as_deref()
    }
    async fn bank_reference(&self) -> Option<&str> {
        self.0.bank_reference.as_deref()
    }
    async fn paid_on(&self) -> Option<Date> {
        self.0.paid_on.map(Date)
    }
    async fn confirmed_on(&self) -> Option<Date> {
        self.0.confirmed_on.map(Date)
    }
    /// When the recipient's notice went out.
    async fn notified_at(&self) -> Option<DateTime<Utc>> {
        self.0.notified_at
    }
    /// paidOn + the campaign's working days (official calendar).
    async fn entry_deadline(&self) -> Option<Date> {
        self.0.entry_deadline.map(Date)
    }
    /// True when the deadline falls in a year the calendar does not know yet (weekends only).
    async fn entry_deadline_provisional(&self) -> bool {
        self.0.entry_deadline_provisional
    }
    async fn entered_at(&self) -> Option<DateTime<Utc>> {
        self.0.entered_at
    }
    async fn provincial_ref(&self) -> Option<&str> {
        self.0.provincial_ref.as_deref()
    }
}
