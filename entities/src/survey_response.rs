use sea_orm::entity::prelude::*;

/// A satisfaction survey answer (满意度回访): one per recipient per campaign (unique).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "survey_responses")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub campaign_id: i64,
    pub recipient_id: i64,
    /// PHONE, ONSITE, WECHAT
    pub channel: String,
    pub satisfied: bool,
    pub comment: Option<String>,
    pub recorded_by: i64,
    pub recorded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
