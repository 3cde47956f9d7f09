//! Who may do what: the role matrix of `docs/domain.md`, in one table (`Permission::allows`).
//! Every service function takes an `Actor` and asks here first, so every query and mutation
//! inherits the same rules whatever the API layer does.
use crate::core::error::{DomainError, DomainResult};
use std::fmt;

crate::core::codes::coded_enum! {
    #[derive(PartialOrd, Ord)]
    pub enum Role {
        Admin = "ADMIN",
        Caseworker = "CASEWORKER",
        Finance = "FINANCE",
        Grassroots = "GRASSROOTS",
        Evaluator = "EVALUATOR",
        Auditor = "AUDITOR",
        Integration = "INTEGRATION",
    }
}

impl Role {
    /// Roles stored as "ADMIN,AUDITOR"; unknown names are skipped (never grant by accident).
    pub fn parse_list(s: &str) -> Vec<Role> {
        let mut v: Vec<Role> = s.split(',').filter_map(|r| r.trim().parse().ok()).collect();
        v.sort();
        v.dedup();
        v
    }

    pub fn join(roles: &[Role]) -> String {
        roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",")
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An authenticated caller.
#[derive(Clone, Debug)]
pub struct Actor {
    pub user_id: i64,
    pub username: String,
    pub roles: Vec<Role>,
    pub organization_id: i64,
    /// The materialised path of the caller's organisation ("/1/5/"): its subtree is every
    /// organisation whose path starts with it.
    pub org_path: String,
}

/// Everything a caller can ask to do, named after the operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Permission {
    // Organisations and users
    ReadOrganizations,
    ManageOrganizations,
    ReadUsers,
    ManageUsers,
    ManageApiTokens,
    // Campaigns
    ReadCampaigns,
    ManageCampaigns,
    AdvanceCampaign,
    // Recipients
    ReadRecipients,
    NominateRecipients,
    VetRecipients,
    RevealPersonalData,
    // Money
    ReadMoney,
    /// Whether and how much a recipient the caller may read was helped: a disbursement's
    /// status, kind, amount and payment date, wherever the disbursement is reached.
    ReadHelpReceived,
    /// The rest of a disbursement: bank and provincial references, the entry, notice and
    /// receipt trail, the goods handed over.
    ReadPaymentDetails,
    RecordFunding,
    PlanDisbursements,
    ApproveDisbursements,
    PayDisbursements,
    ConfirmReceipts,
    CancelDisbursements,
    MarkEntered,
    ManageProcurement,
    // Calendar and visits
    ManageCalendar,
    RecordVisits,
    SetVisitLimits,
    // Audit
    ReadAuditLog,
    // Background jobs (`jobs`, `retryJob`)
    ReadJobs,
    ManageJobs,
    // Entry reminders (`reminders`)
    ReadReminders,
    // Reports (`generateReport`): the evaluation report, the ledger workbook. The provincial
    // export carries clear personal data and follows `RevealPersonalData` instead.
    GenerateEvaluationReport,
    GenerateLedger,
    // The performance evaluation (绩效评价): `evaluation`, `sampleSize`; `recordSurvey`; the
    // evaluators' work (`advanceEvaluation`, `drawSample`, `scoreIndicator`, `setNarrative`)
    ReadEvaluation,
    RecordSurveys,
    Evaluate,
}

impl Permission {
    pub const ALL: [Permission; 35] = [
        Permission::ReadOrganizations,
        Permission::ManageOrganizations,
        Permission::ReadUsers,
        Permission::ManageUsers,
        Permission::ManageApiTokens,
        Permission::ReadCampaigns,
        Permission::ManageCampaigns,
        Permission::AdvanceCampaign,
        Permission::ReadRecipients,
        Permission::NominateRecipients,
        Permission::VetRecipients,
        Permission::RevealPersonalData,
        Permission::ReadMoney,
        Permission::ReadHelpReceived,
        Permission::ReadPaymentDetails,
        Permission::RecordFunding,
        Permission::PlanDisbursements,
        Permission::ApproveDisbursements,
        Permission::PayDisbursements,
        Permission::ConfirmReceipts,
        Permission::CancelDisbursements,
        Permission::MarkEntered,
        Permission::ManageProcurement,
        Permission::ManageCalendar,
        Permission::RecordVisits,
        Permission::SetVisitLimits,
        Permission::ReadAuditLog,
        Permission::ReadJobs,
        Permission::ManageJobs,
        Permission::ReadReminders,
        Permission::GenerateEvaluationReport,
        Permission::GenerateLedger,
        Permission::ReadEvaluation,
        Permission::RecordSurveys,
        Permission::Evaluate,
    ];

    /// The role matrix. ADMIN may do everything; the rest is listed per permission.
    pub fn allows(self, role: Role) -> bool {
        use Permission::*;
        use Role::*;
        if role == Admin {
            return true;
        }
        match self {
            // Everyone reads organisations and campaigns; GRASSROOTS only within its scope
            // (applied by the query, see `Actor::scope`).
            // INTEGRATION reads recipients through the disbursements it enters.
            ReadOrganizations | ReadCampaigns | ReadRecipients => true,
            // 基层工会初步摸排 → 上报 (own subtree only, see `Scope`); the help centre too.
            NominateRecipients => matches!(role, Caseworker | Grassroots),
            VetRecipients => matches!(role, Caseworker),
            // Those who pay or vet need the clear values; every reveal is audited.
            RevealPersonalData => matches!(role, Caseworker | Finance),
            ReadUsers | ReadAuditLog | ReadJobs => matches!(role, Auditor),
            // the help centre enters the records; the auditor checks the deadlines were kept
            ReadReminders => matches!(role, Caseworker | Auditor),
            // 绩效评价工作小组 writes the evaluation report; the ledger workbook (专项台账) is
            // finance's book and the evaluators' working paper.
            GenerateEvaluationReport => matches!(role, Evaluator),
            GenerateLedger => matches!(role, Finance | Evaluator),
            // Money, procurement, visits: everyone but GRASSROOTS reads (INTEGRATION for entry).
            // A disbursement reached through a recipient (`Recipient.disbursements`) obeys the
            // same split field by field (`funds::disbursements::DisbursementField`): GRASSROOTS
            // sees whether and how much its own nominees were helped, never the references.
            ReadMoney | ReadPaymentDetails => !matches!(role, Grassroots),
            ReadHelpReceived => true,
            // 办公室人事财务: funding, ledger, procurement, approval (审核) and the bank transfer.
            RecordFunding | ApproveDisbursements | PayDisbursements | ManageProcurement => {
                matches!(role, Finance)
            }
            // 困难职工帮扶中心: plans, receipts (签字确认), provincial entry, visits.
            PlanDisbursements | ConfirmReceipts | RecordVisits => matches!(role, Caseworker),
            CancelDisbursements => matches!(role, Caseworker | Finance),
            // The provincial platform confirms entry through its API token.
            MarkEntered => matches!(role, Caseworker | Integration),
            // 绩效评价工作小组 scores; the help centre also calls recipients back (电话回访); whoever
            // reads all reads the evaluation — not GRASSROOTS (campaign-wide money and the
            // sampled people) nor the provincial platform.
            ReadEvaluation => matches!(role, Caseworker | Finance | Evaluator | Auditor),
            RecordSurveys => matches!(role, Caseworker | Evaluator),
            Evaluate => matches!(role, Evaluator),
            ManageOrganizations | ManageUsers | ManageApiTokens | ManageCampaigns | AdvanceCampaign
            | ManageCalendar | SetVisitLimits | ManageJobs => false,
        }
    }
}

impl Actor {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn can(&self, p: Permission) -> bool {
        self.roles.iter().any(|r| p.allows(*r))
    }

    pub fn require(&self, p: Permission) -> DomainResult<()> {
        if self.can(p) {
            Ok(())
        } else {
            Err(DomainError::forbidden())
        }
    }

    /// How far this caller sees: GRASSROOTS-only callers are limited to their subtree;
    /// anyone holding another role sees the whole tree (they "read all").
    pub fn scope(&self) -> Scope {
        if self.roles.iter().all(|r| *r == Role::Grassroots) {
            Scope::Subtree(self.org_path.clone())
        } else {
            Scope::All
        }
    }
}

/// The part of the organisation tree a caller may see and touch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    All,
    /// Materialised path prefix of the caller's organisation.
    Subtree(String),
}

impl Scope {
    /// Inside the caller's subtree (may read and write there).
    pub fn contains_path(&self, path: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Subtree(prefix) => path.starts_with(prefix.as_str()),
        }
    }

    /// An ancestor of the caller's organisation: visible by name (a campaign's owner, a parent
    /// link) but not part of the subtree.
    pub fn is_ancestor_path(&self, path: &str) -> bool {
        match self {
            Scope::All => false,
            Scope::Subtree(prefix) => prefix.starts_with(path) && prefix.len() > path.len(),
        }
    }

    pub fn can_see_path(&self, path: &str) -> bool {
        self.contains_path(path) || self.is_ancestor_path(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_may_do_everything_auditor_only_reads() {
        for p in Permission::ALL {
            assert!(p.allows(Role::Admin));
        }
        assert!(Permission::ReadAuditLog.allows(Role::Auditor));
        assert!(!Permission::ManageCampaigns.allows(Role::Auditor));
        assert!(!Permission::ReadAuditLog.allows(Role::Finance));
    }

    #[test]
    fn grassroots_sees_help_received_but_no_payment_details() {
        assert!(Permission::ReadHelpReceived.allows(Role::Grassroots));
        assert!(!Permission::ReadPaymentDetails.allows(Role::Grassroots));
        assert!(!Permission::ReadMoney.allows(Role::Grassroots));
        // Whoever reads the money lists reads every field of what they list.
        for &role in Role::ALL {
            if Permission::ReadMoney.allows(role) {
                assert!(Permission::ReadPaymentDetails.allows(role), "{role}");
                assert!(Permission::ReadHelpReceived.allows(role), "{role}");
            }
        }
    }

    #[test]
    fn scope_paths() {
        let s = Scope::Subtree("/1/5/".into());
        assert!(s.contains_path("/1/5/"));
        assert!(s.contains_path("/1/5/12/"));
        assert!(!s.contains_path("/1/50/"));
        assert!(s.is_ancestor_path("/1/"));
        assert!(!s.is_ancestor_path("/1/5/"));
        assert!(!s.can_see_path("/1/6/"));
    }

    #[test]
    fn role_list_round_trip_ignores_unknown() {
        assert_eq!(
            Role::parse_list("AUDITOR,ADMIN,BOGUS"),
            vec![Role::Admin, Role::Auditor]
        );
        assert_eq!(Role::join(&[Role::Admin, Role::Auditor]), "ADMIN,AUDITOR");
    }
}
