use sea_orm::entity::prelude::*;

/// A generated report (EVALUATION_REPORT, LEDGER, PROVINCIAL_EXPORT) and its file. Its status
/// is its REPORT job's (`job_id`); the file columns are set by the job when the file is written.
/// The file's id in `GET /files/{id}` is the report's id.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reports")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub campaign_id: i64,
    /// EVALUATION_REPORT, LEDGER, PROVINCIAL_EXPORT
    pub kind: String,
    /// DOCX, XLSX, MARKDOWN
    pub format: String,
    /// The REPORT job that writes the file (set in the transaction that creates the report).
    pub job_id: Option<i64>,
    pub requested_by: i64,
    /// The download's file name (UTF-8), set when the file is written.
    pub file_name: Option<String>,
    /// Where the file is, relative to the data directory.
    pub file_path: Option<String>,
    pub content_type: Option<String>,
    pub size_bytes: Option<i64>,
    /// SHA-256 of the file, hex.
    pub sha256: Option<String>,
    pub created_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
