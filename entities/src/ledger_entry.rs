use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ledger_entries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub campaign_id: i64,
    /// Signed: + funding, − spending.
    pub amount_fen: i64,
    /// FUNDING, DISBURSEMENT, CONTRACT_PAYMENT, REVERSAL
    pub kind: String,
    pub reference: String,
    pub booked_on: Date,
    pub source_id: Option<i64>,
    pub reverses_id: Option<i64>,
    pub created_by: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
