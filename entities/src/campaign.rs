use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "campaigns")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub year: i32,
    pub budget_fen: i64,
    pub stage: String,
    pub starts_on: Date,
    pub deadline: Date,
    /// JSON array of strings.
    pub policy_refs: String,
    pub organization_id: i64,
    pub entry_deadline_days: i32,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
