use sea_orm::entity::prelude::*;

/// A nominated recipient. Personal data only as ciphertext (`*_enc`), blind index and mask.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "recipients")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub campaign_id: i64,
    pub category_id: i64,
    pub kind: String,
    pub name: String,
    pub id_number_enc: Option<String>,
    pub id_number_index: Option<String>,
    pub id_number_mask: Option<String>,
    pub phone_enc: Option<String>,
    pub phone_index: Option<String>,
    pub phone_mask: Option<String>,
    pub bank_name: Option<String>,
    pub bank_account_enc: Option<String>,
    pub bank_account_index: Option<String>,
    pub bank_account_mask: Option<String>,
    pub nominated_by: i64,
    pub status: String,
    pub verification_method: Option<String>,
    pub verification_note: Option<String>,
    pub rejection_reason: Option<String>,
    pub vetted_at: Option<DateTimeUtc>,
    pub vetted_by: Option<i64>,
    pub dedup_key: String,
    pub created_by: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
