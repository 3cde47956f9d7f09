//! The funds layer: the ledger (专项台账), the budget guard, disbursements (慰问金 / 慰问品) with
//! their life cycle PLANNED → APPROVED → PAID → CONFIRMED (or CANCELLED), procurement
//! (suppliers, contracts, deliveries, payments), visits, and the money figures. Stands on
//! `recipients`, `plan`, `people` and `core`.
pub mod budget;
pub mod disbursement_reads;
pub mod disbursement_refs;
pub mod disbursements;
pub mod figures;
pub mod ledger;
pub mod notices;
pub mod procurement;
pub mod visits;

// Public face (`domain::funds::…`); code inside the crate imports `funds::figures::…` and
// `plan::statuses::…` directly.
pub use crate::plan::statuses::SERVED_STATES;
pub use figures::{MoneyFigures, figures, figures_of, of_recipients};
