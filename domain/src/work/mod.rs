//! The work layer: the background jobs above the money and the life cycle — the runner that
//! claims and runs the outbox's jobs (`runner`), the NOTICE job with its SMS providers
//! (`notices`), and what operators see of the jobs (`jobs`: list, retry). The outbox's writer
//! (`core::outbox`) and the notice rows (`funds::notices`) sit lower, so `markPaid` can queue.
//! The daily ENTRY_REMINDERS job, its rule and the group robot are `reminders`; the push of paid
//! records to the provincial platform is `province`; the printed LETTER notices are `letters`.
pub mod jobs;
pub mod letters;
pub mod notices;
pub mod province;
pub mod receipts;
pub mod relay;
pub mod reminders;
pub mod runner;
pub mod sms_http;
