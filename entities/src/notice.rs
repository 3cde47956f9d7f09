use sea_orm::entity::prelude::*;

/// The recipient's notice of one disbursement (one per disbursement): an SMS or a letter.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notices")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub disbursement_id: i64,
    /// SMS, LETTER
    pub channel: String,
    /// PENDING, SENT, DELIVERED, FAILED
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    /// Our idempotency key, sent to the provider as its out-id.
    pub out_id: String,
    pub sent_at: Option<DateTimeUtc>,
    pub delivered_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
