use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "categories")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub campaign_id: i64,
    pub code: String,
    pub name: String,
    pub recipient_kind: String,
    pub planned_count: i32,
    pub standard_fen: i64,
    /// Recipients nominated into the category, any status (kept by `domain::campaigns::counters`).
    pub recipient_count: i32,
    /// Recipients VERIFIED in the category (kept by `domain::campaigns::counters`).
    pub verified_count: i32,
    /// Recipients with a PAID or CONFIRMED disbursement (kept by `domain::campaigns::counters`).
    pub served_count: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::campaign::Entity",
        from = "Column::CampaignId",
        to = "super::campaign::Column::Id"
    )]
    Campaign,
}

impl Related<super::campaign::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Campaign.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
