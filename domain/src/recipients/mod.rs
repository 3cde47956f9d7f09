//! The recipients layer (慰问对象): nomination by grassroots unions and the help centre, vetting,
//! de-duplication ("不漏不重"), encrypted personal data with masked answers, 冒领 warning flags,
//! earlier help (history), scoped paginated lists and the spreadsheet import. Stands on `plan`,
//! `people` and `core`.
//!
//! - `fields`: validate and seal a recipient's fields;
//! - `rules`: nominate, update, vet (verify / reject), reveal;
//! - `queries`: views, lists, flags, history, batches;
//! - `import`: `importRecipients`.
pub mod fields;
pub mod import;
pub mod queries;
pub mod rules;

// Public face (`domain::recipients::…`); code inside the crate imports from the files above.
pub use crate::plan::statuses::Status;
pub use fields::{RecipientFields, Sealed, ValidFields, seal, validate};
pub use queries::{HistoryEntry, RecipientFilter, RecipientView, flags_of, history_of, list, load_many};
pub use rules::{
    Nomination, RecipientPatch, VerificationMethod, build_row, get, nominate, reject, reveal, status_of,
    update, verify,
};
