use sea_orm::entity::prelude::*;

/// One indicator of a campaign's evaluation template, with its weight and (for the ones scored
/// by hand) the evaluator's score and reason. Points in hundredths (`*_centi`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "evaluation_indicators")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub campaign_id: i64,
    /// BUDGET_EXECUTION, OUTPUT.QUANTITY, BENEFIT.SOCIAL …
    pub code: String,
    pub name: String,
    /// The first-level indicator this one belongs to; null for first-level ones.
    pub parent_code: Option<String>,
    pub position: i32,
    pub weight_centi: i32,
    /// Computed from the data (true) or scored by an evaluator (false).
    pub computed: bool,
    /// The evaluator's score; for a computed indicator, its score frozen at ARCHIVED.
    pub score_centi: Option<i32>,
    pub comment: Option<String>,
    pub scored_by: Option<i64>,
    pub scored_at: Option<DateTimeUtc>,
    /// What a computed indicator measured, frozen at ARCHIVED.
    pub measured: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
