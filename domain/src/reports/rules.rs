//! What a report is and who may have one: the kinds and formats of `generateReport`, the
//! formats each kind comes in, and who may generate and read each kind.
//!
//! | kind | formats | generate | read / download |
//! |---|---|---|---|
//! | EVALUATION_REPORT | DOCX, MARKDOWN | `GenerateEvaluationReport` (EVALUATOR) | `ReadMoney` |
//! | LEDGER | XLSX | `GenerateLedger` (FINANCE, EVALUATOR) | `ReadMoney` |
//! | PROVINCIAL_EXPORT | XLSX | `RevealPersonalData` (CASEWORKER, FINANCE) | `RevealPersonalData`, each download audited |
//!
//! ADMIN may do everything; on top of the role, the campaign must be one the caller may read
//! (`campaign::visible_condition`), for generating and for reading alike.
use crate::core::error::{DomainError, DomainResult};
use crate::people::access::{Actor, Permission};

crate::core::codes::coded_enum! {
    pub enum ReportKind {
        EvaluationReport = "EVALUATION_REPORT",
        Ledger = "LEDGER",
        ProvincialExport = "PROVINCIAL_EXPORT",
    }
}

crate::core::codes::coded_enum! {
    pub enum ReportFormat {
        Docx = "DOCX",
        Xlsx = "XLSX",
        Markdown = "MARKDOWN",
    }
}

impl ReportFormat {
    pub fn extension(self) -> &'static str {
        match self {
            ReportFormat::Docx => "docx",
            ReportFormat::Xlsx => "xlsx",
            ReportFormat::Markdown => "md",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ReportFormat::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            ReportFormat::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ReportFormat::Markdown => "text/markdown; charset=utf-8",
        }
    }
}

impl ReportKind {
    /// The formats this kind is made in.
    pub fn formats(self) -> &'static [ReportFormat] {
        match self {
            ReportKind::EvaluationReport => &[ReportFormat::Docx, ReportFormat::Markdown],
            ReportKind::Ledger | ReportKind::ProvincialExport => &[ReportFormat::Xlsx],
        }
    }

    /// The file name's stem (before the campaign's name and the date).
    pub fn title(self) -> &'static str {
        match self {
            ReportKind::EvaluationReport => "绩效评价报告",
            ReportKind::Ledger => "专项台账",
            ReportKind::ProvincialExport => "省平台录入清单",
        }
    }

    fn generate_permission(self) -> Permission {
        match self {
            ReportKind::EvaluationReport => Permission::GenerateEvaluationReport,
            ReportKind::Ledger => Permission::GenerateLedger,
            ReportKind::ProvincialExport => Permission::RevealPersonalData,
        }
    }

    fn read_permission(self) -> Permission {
        match self {
            ReportKind::EvaluationReport | ReportKind::Ledger => Permission::ReadMoney,
            ReportKind::ProvincialExport => Permission::RevealPersonalData,
        }
    }

    /// Whether the file carries personal data in clear (its downloads are audited).
    pub fn reveals_personal_data(self) -> bool {
        self == ReportKind::ProvincialExport
    }
}

/// The caller may ask for this kind in this format (the campaign's visibility is checked
/// where the campaign is read).
pub fn may_generate(actor: &Actor, kind: ReportKind, format: ReportFormat) -> DomainResult<()> {
    actor.require(kind.generate_permission())?;
    if !kind.formats().contains(&format) {
        let allowed: Vec<&str> = kind.formats().iter().map(|f| f.as_str()).collect();
        return Err(DomainError::validation(
            "format",
            format!("{} 只能生成为 {}", kind.as_str(), allowed.join("、")),
        ));
    }
    Ok(())
}

/// Whether the caller may read a report of this kind (and download its file).
pub fn may_read(actor: &Actor, kind: ReportKind) -> bool {
    actor.can(kind.read_permission())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::people::access::Role;

    fn actor(roles: &[Role]) -> Actor {
        Actor {
            user_id: 1,
            username: "u".into(),
            roles: roles.to_vec(),
            organization_id: 1,
            org_path: "/1/".into(),
        }
    }

    #[test]
    fn each_kind_has_its_generators_and_formats() {
        let evaluator = actor(&[Role::Evaluator]);
        let finance = actor(&[Role::Finance]);
        let caseworker = actor(&[Role::Caseworker]);
        let auditor = actor(&[Role::Auditor]);
        let grassroots = actor(&[Role::Grassroots]);
        use ReportFormat::*;
        use ReportKind::*;
        assert!(may_generate(&evaluator, EvaluationReport, Docx).is_ok());
        assert!(may_generate(&evaluator, EvaluationReport, Markdown).is_ok());
        assert_eq!(
            may_generate(&evaluator, EvaluationReport, Xlsx)
                .unwrap_err()
                .code(),
            "VALIDATION"
        );
        assert!(may_generate(&finance, Ledger, Xlsx).is_ok());
        assert!(may_generate(&caseworker, ProvincialExport, Xlsx).is_ok());
        for (who, kind) in [
            (&evaluator, ProvincialExport),
            (&auditor, ProvincialExport),
            (&auditor, EvaluationReport),
            (&grassroots, Ledger),
            (&caseworker, EvaluationReport),
        ] {
            assert_eq!(
                may_generate(who, kind, kind.formats()[0]).unwrap_err().code(),
                "FORBIDDEN"
            );
        }
        assert!(may_read(&auditor, EvaluationReport) && may_read(&auditor, Ledger));
        assert!(!may_read(&auditor, ProvincialExport) && !may_read(&evaluator, ProvincialExport));
        assert!(!may_read(&grassroots, EvaluationReport));
        assert!(may_read(&finance, ProvincialExport));
    }
}
