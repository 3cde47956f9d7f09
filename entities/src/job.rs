use sea_orm::entity::prelude::*;

/// A background job: the durable outbox row written with the change that causes it, and the
/// record operators see (`jobs`). Claimed by a runner with a lease (`locked_by`, `locked_until`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "jobs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// NOTICE, …
    pub kind: String,
    /// What the job works on, e.g. "disbursement:42".
    pub target: Option<String>,
    /// QUEUED, RUNNING, DONE, FAILED
    pub status: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub last_error: Option<String>,
    /// Unique: a job is queued once per key.
    pub idempotency_key: String,
    pub run_at: DateTimeUtc,
    pub locked_by: Option<String>,
    pub locked_until: Option<DateTimeUtc>,
    /// When a relay last handed the job to the Redis queue (null: never; see the relay).
    pub handed_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
