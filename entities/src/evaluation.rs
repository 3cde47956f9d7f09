use sea_orm::entity::prelude::*;

/// The performance evaluation (绩效评价) of one campaign, keyed by the campaign. No row: the
/// campaign's evaluation has not been changed yet (PREPARING, default template).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "evaluations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub campaign_id: i64,
    /// PREPARING, FIELDWORK, SCORING, FEEDBACK, ARCHIVED
    pub step: String,
    /// The computed figures frozen at ARCHIVED (JSON); null before.
    pub figures: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
