use sea_orm::entity::prelude::*;

/// One narrative section of a campaign's evaluation (the report's conclusion, experience,
/// problems, suggestions): drafted from the figures, then edited by the evaluators.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "narratives")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub campaign_id: i64,
    /// CONCLUSION, EXPERIENCE, PROBLEMS, SUGGESTIONS
    pub section: String,
    pub text: String,
    /// Still the draft written from the figures.
    pub drafted: bool,
    pub updated_by: Option<i64>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
