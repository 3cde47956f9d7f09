//! The status codes of the rows a campaign counts: a recipient's (NOMINATED → VERIFIED or
//! REJECTED) and a disbursement's (PLANNED → APPROVED → PAID → CONFIRMED, or CANCELLED). The
//! transitions are rules of `recipients` and `funds`; the codes live here, below both, so the
//! category counters (`plan::counters`) count them without reaching up.

crate::core::codes::coded_enum! {
    pub enum Status {
        Nominated = "NOMINATED",
        Verified = "VERIFIED",
        Rejected = "REJECTED",
    }
}

crate::core::codes::coded_enum! {
    pub enum DStatus {
        Planned = "PLANNED",
        Approved = "APPROVED",
        Paid = "PAID",
        Confirmed = "CONFIRMED",
        Cancelled = "CANCELLED",
    }
}

/// Disbursement states that count as paid out ("served").
pub const SERVED_STATES: [&str; 2] = [DStatus::Paid.as_str(), DStatus::Confirmed.as_str()];

/// Disbursements awaiting entry into the provincial platform: served, not yet entered. The
/// one definition behind the push, the reminders, the overdue filter and the provincial export.
pub fn awaiting_entry() -> sea_orm::Condition {
    use sea_orm::ColumnTrait;
    sea_orm::Condition::all()
        .add(entities::disbursement::Column::Status.is_in(SERVED_STATES))
        .add(entities::disbursement::Column::EnteredAt.is_null())
}
