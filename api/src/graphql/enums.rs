//! GraphQL enums of the contract, each mapped to its domain type in one place.
use async_graphql::Enum;
use domain::Role as DRole;
use domain::campaigns::{RecipientKind as DRecipientKind, Stage};
use domain::organizations::OrgKind as DOrgKind;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "Role")]
pub enum Role {
    Admin,
    Caseworker,
    Finance,
    Grassroots,
    Evaluator,
    Auditor,
    Integration,
}

impl From<Role> for DRole {
    fn from(r: Role) -> Self {
        match r {
            Role::Admin => DRole::Admin,
            Role::Caseworker => DRole::Caseworker,
            Role::Finance => DRole::Finance,
            Role::Grassroots => DRole::Grassroots,
            Role::Evaluator => DRole::Evaluator,
            Role::Auditor => DRole::Auditor,
            Role::Integration => DRole::Integration,
        }
    }
}

impl From<DRole> for Role {
    fn from(r: DRole) -> Self {
        match r {
            DRole::Admin => Role::Admin,
            DRole::Caseworker => Role::Caseworker,
            DRole::Finance => Role::Finance,
            DRole::Grassroots => Role::Grassroots,
            DRole::Evaluator => Role::Evaluator,
            DRole::Auditor => Role::Auditor,
            DRole::Integration => Role::Integration,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "OrgKind")]
pub enum OrgKind {
    Federation,
    TownFederation,
    SystemUnion,
    Grassroots,
}

impl From<OrgKind> for DOrgKind {
    fn from(k: OrgKind) -> Self {
        match k {
            OrgKind::Federation => DOrgKind::Federation,
            OrgKind::TownFederation => DOrgKind::TownFederation,
            OrgKind::SystemUnion => DOrgKind::SystemUnion,
            OrgKind::Grassroots => DOrgKind::Grassroots,
        }
    }
}

impl From<DOrgKind> for OrgKind {
    fn from(k: DOrgKind) -> Self {
        match k {
            DOrgKind::Federation => OrgKind::Federation,
            DOrgKind::TownFederation => OrgKind::TownFederation,
            DOrgKind::SystemUnion => OrgKind::SystemUnion,
            DOrgKind::Grassroots => OrgKind::Grassroots,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "CampaignStage")]
pub enum CampaignStage {
    Preparation,
    Screening,
    Procurement,
    Distribution,
    Review,
    Closed,
}

impl From<CampaignStage> for Stage {
    fn from(s: CampaignStage) -> Self {
        match s {
            CampaignStage::Preparation => Stage::Preparation,
            CampaignStage::Screening => Stage::Screening,
            CampaignStage::Procurement => Stage::Procurement,
            CampaignStage::Distribution => Stage::Distribution,
            CampaignStage::Review => Stage::Review,
            CampaignStage::Closed => Stage::Closed,
        }
    }
}

impl From<Stage> for CampaignStage {
    fn from(s: Stage) -> Self {
        match s {
            Stage::Preparation => CampaignStage::Preparation,
            Stage::Screening => CampaignStage::Screening,
            Stage::Procurement => CampaignStage::Procurement,
            Stage::Distribution => CampaignStage::Distribution,
            Stage::Review => CampaignStage::Review,
            Stage::Closed => CampaignStage::Closed,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "RecipientKind")]
pub enum RecipientKind {
    Person,
    Unit,
}

impl From<RecipientKind> for DRecipientKind {
    fn from(k: RecipientKind) -> Self {
        match k {
            RecipientKind::Person => DRecipientKind::Person,
            RecipientKind::Unit => DRecipientKind::Unit,
        }
    }
}

impl From<DRecipientKind> for RecipientKind {
    fn from(k: DRecipientKind) -> Self {
        match k {
            DRecipientKind::Person => RecipientKind::Person,
            DRecipientKind::Unit => RecipientKind::Unit,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "RecipientStatus")]
pub enum RecipientStatus {
    Nominated,
    Verified,
    Rejected,
}

impl From<RecipientStatus> for domain::recipients::Status {
    fn from(s: RecipientStatus) -> Self {
        match s {
            RecipientStatus::Nominated => Self::Nominated,
            RecipientStatus::Verified => Self::Verified,
            RecipientStatus::Rejected => Self::Rejected,
        }
    }
}

impl From<domain::recipients::Status> for RecipientStatus {
    fn from(s: domain::recipients::Status) -> Self {
        use domain::recipients::Status as S;
        match s {
            S::Nominated => Self::Nominated,
            S::Verified => Self::Verified,
            S::Rejected => Self::Rejected,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "VerificationMethod")]
pub enum VerificationMethod {
    HomeVisit,
    DataCheck,
    InfoCheck,
}

impl From<VerificationMethod> for domain::recipients::VerificationMethod {
    fn from(m: VerificationMethod) -> Self {
        match m {
            VerificationMethod::HomeVisit => Self::HomeVisit,
            VerificationMethod::DataCheck => Self::DataCheck,
            VerificationMethod::InfoCheck => Self::InfoCheck,
        }
    }
}

impl From<domain::recipients::VerificationMethod> for VerificationMethod {
    fn from(m: domain::recipients::VerificationMethod) -> Self {
        use domain::recipients::VerificationMethod as M;
        match m {
            M::HomeVisit => Self::HomeVisit,
            M::DataCheck => Self::DataCheck,
            M::InfoCheck => Self::InfoCheck,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "PiiField")]
pub enum PiiField {
    IdNumber,
    Phone,
    BankAccount,
}

impl From<PiiField> for domain::crypto::PiiField {
    fn from(f: PiiField) -> Self {
        match f {
            PiiField::IdNumber => Self::IdNumber,
            PiiField::Phone => Self::Phone,
            PiiField::BankAccount => Self::BankAccount,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "DisbursementKind")]
pub enum DisbursementKind {
    Cash,
    Goods,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "DisbursementStatus")]
pub enum DisbursementStatus {
    Planned,
    Approved,
    Paid,
    Confirmed,
    Cancelled,
}

impl DisbursementKind {
    pub fn parse(s: &str) -> Self {
        if s == "GOODS" { Self::Goods } else { Self::Cash }
    }
}

impl DisbursementStatus {
    pub fn parse(s: &str) -> Self {
        match s {
            "APPROVED" => Self::Approved,
            "PAID" => Self::Paid,
            "CONFIRMED" => Self::Confirmed,
            "CANCELLED" => Self::Cancelled,
            _ => Self::Planned,
        }
    }
}
