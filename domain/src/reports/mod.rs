//! Reports (issue 12, point 5): the evaluation report (DOCX, Markdown), the ledger workbook and
//! the provincial export (XLSX), generated as REPORT jobs and downloaded from `GET /files/{id}`.
//!
//! - `rules`: kinds, formats, who may generate and read each kind
//! - `requests`: `generateReport` (report row + job in one transaction), `report`, downloads
//! - `job`: the REPORT job that writes the file
//! - `data`: the report's figures as plain data, read by one function (`data::build`)
//! - `outline`: the report's text in the seed's seven parts, as blocks
//! - `markdown`, `docx`, `chart`: the blocks laid out (DOCX after GB/T 9704-2012)
//! - `rows`, `ledger_xlsx`, `provincial_xlsx`: the workbooks, streamed page by page
//! - `files`: where files live under the data directory
pub mod chart;
pub mod data;
pub mod docx;
pub mod files;
pub mod job;
pub mod ledger_xlsx;
pub mod markdown;
pub mod outline;
pub mod provincial_xlsx;
pub mod requests;
pub mod rows;
pub mod rules;

pub use requests::{Download, ReportView, download, generate, get};
pub use rules::{ReportFormat, ReportKind};
