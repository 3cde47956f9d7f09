use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "disbursements")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub campaign_id: i64,
    pub recipient_id: i64,
    pub category_id: i64,
    pub kind: String,
    pub amount_fen: i64,
    pub status: String,
    pub items: Option<String>,
    pub contract_line_id: Option<i64>,
    pub bank_reference: Option<String>,
    pub paid_on: Option<Date>,
    pub confirmed_on: Option<Date>,
    pub notified_at: Option<DateTimeUtc>,
    pub entry_deadline: Option<Date>,
    pub entry_deadline_provisional: bool,
    pub entered_at: Option<DateTimeUtc>,
    pub provincial_ref: Option<String>,
    pub idempotency_key: String,
    pub request_hash: String,
    pub cancel_reason: Option<String>,
    /// The recipient id while active, NULL once cancelled (unique: one active per recipient).
    pub active_recipient: Option<i64>,
    pub recipient_verified_at_plan: bool,
    pub planned_by: i64,
    pub approved_by: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
