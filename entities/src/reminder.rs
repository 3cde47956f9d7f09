use sea_orm::entity::prelude::*;

/// An entry reminder: one per campaign, level and day (unique), written by the daily job.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reminders")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub campaign_id: i64,
    /// DUE_SOON, OVERDUE
    pub level: String,
    /// The day (Asia/Shanghai) the reminder is for.
    pub created_on: Date,
    pub disbursement_count: i32,
    pub earliest_deadline: Date,
    /// When the group robot accepted it; null when not posted (or no robot configured).
    pub posted_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
