use sea_orm::entity::prelude::*;

/// A stratified random sample of a campaign's served recipients, reproducible from its seed.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "samples")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub campaign_id: i64,
    pub seed: i64,
    pub size: i32,
    /// Served recipients it was drawn from.
    pub population: i32,
    /// Non-empty strata (category × nominating organisation).
    pub strata: i32,
    pub created_by: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
