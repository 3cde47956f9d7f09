//! The campaigns layer (a campaign's plan): campaigns and who may see them, their categories,
//! the stages with the one stage check (`stages::require_stage`), the status codes counted per
//! category with their counters, and the official working-day calendar. Stands on `people`
//! and `core`; moving a campaign forward needs money figures and is `lifecycle`, above `funds`.
pub mod calendar;
pub mod calendar_store;
pub mod campaign;
pub mod categories;
pub mod counters;
pub mod stages;
pub mod statuses;
