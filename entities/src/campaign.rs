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
    /// Planned + approved + paid + confirmed disbursements and contract payments that count
    /// against the budget; the budget guard's counter (never above `budget_fen`).
    pub committed_fen: i64,
    pub max_visit_participants: Option<i32>,
    pub max_visit_vehicles: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::category::Entity")]
    Categories,
}

impl Related<super::category::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Categories.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
