use sea_orm::entity::prelude::*;

/// A recipient drawn into a sample, with its place in the draw.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sample_members")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub sample_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub recipient_id: i64,
    pub position: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
