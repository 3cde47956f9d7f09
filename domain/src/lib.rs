//! Songnuan's domain layer: every rule (permissions, money, stages, audit) lives here and is
//! called by the API's thin resolvers and by the worker. Tested without GraphQL.
//!
//! The modules are arranged in layers; a module imports only from its own layer or lower ones,
//! and no two modules import each other (`tests/src/layers.rs` checks both, on the source):
//!
//! | layer | folder | what |
//! |---|---|---|
//! | 7 top | `demo`, `bootstrap` | demo data, first start |
//! | 6 work | `work/` | background jobs: the runner, the NOTICE job and its SMS providers, jobs list and retry |
//! | 5¾ reports | `reports/` | the evaluation report (DOCX, Markdown), ledger and provincial workbooks; the REPORT job |
//! | 5½ evaluation | `evaluation/` | surveys, sampling, indicators, narratives, the evaluation's steps |
//! | 5 life cycle | `lifecycle` | `advance` with its `stage_guard` (needs money figures), `progress` |
//! | 4 funds | `funds/` | ledger, budget, disbursements, notices, procurement, visits, figures |
//! | 3 recipients | `recipients/` | nominate, vet, reveal, import; lists, flags, history |
//! | 2 campaigns | `plan/` | campaign, categories, stages (`require_stage`), statuses, counters, calendar |
//! | 1 people | `people/` | access (roles), audit, auth, organizations, users |
//! | 0 core | `core/` | error, money, identity, crypto, codes, pagination, db, settings, services, outbox |
pub mod bootstrap;
pub mod core;
pub mod demo;
pub mod evaluation;
pub mod funds;
pub mod lifecycle;
pub mod people;
pub mod plan;
pub mod recipients;
pub mod reports;
pub mod work;

// ---------------------------------------------------------------------------------------------
// The crate's public face: the paths the api, worker, tests and bench use (`domain::money`,
// `domain::campaigns::advance`, `domain::Services`, …). Code inside the crate never imports
// through these; it uses the layered paths (`crate::core::money`, `crate::lifecycle::advance`),
// so the layering test can judge every import.
// ---------------------------------------------------------------------------------------------
pub use crate::core::{crypto, db, error, identity, money, outbox, pagination, settings, shutdown};
pub use crate::funds::{procurement, visits};
pub use crate::people::{access, audit, auth, organizations, users};
pub use crate::plan::{calendar, calendar_store};
pub use crate::work::{jobs, reminders, runner};

/// Campaigns as the API sees them: the plan (`plan::campaign`, `plan::categories`,
/// `plan::stages`, `plan::counters`) and the life cycle above the money (`lifecycle`).
pub mod campaigns {
    pub use crate::lifecycle::{Progress, advance, progress};
    pub use crate::plan::campaign::*;
    pub use crate::plan::categories::*;
    pub use crate::plan::counters;
    pub use crate::plan::stages::*;
}

/// Recipient notices: the rows `markPaid` queues (`funds::notices`) and the NOTICE job that
/// sends them with its SMS providers (`work::notices`).
pub mod notices {
    pub use crate::funds::notices::*;
    pub use crate::work::notices::*;
    pub use crate::work::receipts;
    pub use crate::work::sms_http::{HttpProvider, provider_from_settings, template_param};
}

pub use crate::core::error::{DomainError, DomainResult};
pub use crate::core::money::Money;
pub use crate::core::services::Services;
pub use crate::core::settings::Settings;
pub use crate::people::access::{Actor, Permission, Role, Scope};
