//! GraphQL enums of the contract, each derived from the domain's own enum: `remote` makes
//! async-graphql generate the conversions both ways as exhaustive matches, so a variant added
//! to or removed from either side fails to compile. The GraphQL values are the variant names
//! in SCREAMING_CASE, which are the domain's codes (`as_str`); the test below holds them equal,
//! so no code is spelled in this crate.
use async_graphql::Enum;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "Role", remote = "domain::Role")]
pub enum Role {
    Admin,
    Caseworker,
    Finance,
    Grassroots,
    Evaluator,
    Auditor,
    Integration,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "OrgKind", remote = "domain::organizations::OrgKind")]
pub enum OrgKind {
    Federation,
    TownFederation,
    SystemUnion,
    Grassroots,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "CampaignStage", remote = "domain::campaigns::Stage")]
pub enum CampaignStage {
    Preparation,
    Screening,
    Procurement,
    Distribution,
    Review,
    Closed,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "RecipientKind", remote = "domain::campaigns::RecipientKind")]
pub enum RecipientKind {
    Person,
    Unit,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "RecipientStatus", remote = "domain::recipients::Status")]
pub enum RecipientStatus {
    Nominated,
    Verified,
    Rejected,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(
    name = "VerificationMethod",
    remote = "domain::recipients::VerificationMethod"
)]
pub enum VerificationMethod {
    HomeVisit,
    DataCheck,
    InfoCheck,
}

// Which personal field `revealRecipient` shows in clear (no doc comment: it would enter the SDL).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "PiiField", remote = "domain::crypto::PiiField")]
pub enum PiiField {
    IdNumber,
    Phone,
    BankAccount,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "DisbursementKind", remote = "domain::funds::disbursements::DKind")]
pub enum DisbursementKind {
    Cash,
    Goods,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "DisbursementStatus", remote = "domain::funds::disbursements::DStatus")]
pub enum DisbursementStatus {
    Planned,
    Approved,
    Paid,
    Confirmed,
    Cancelled,
}

/// HOLIDAY: 放假 (a day off whatever the weekday); WORKDAY: 调休上班 (a worked Saturday or Sunday).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "DayKind", remote = "domain::calendar::DayKind")]
pub enum DayKind {
    Holiday,
    Workday,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "NoticeChannel", remote = "domain::notices::NoticeChannel")]
pub enum NoticeChannel {
    Sms,
    Letter,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "NoticeStatus", remote = "domain::notices::NoticeStatus")]
pub enum NoticeStatus {
    Pending,
    Sent,
    Delivered,
    Failed,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "JobStatus", remote = "domain::outbox::JobStatus")]
pub enum JobStatus {
    Queued,
    Running,
    Done,
    Failed,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "ReminderLevel", remote = "domain::reminders::ReminderLevel")]
pub enum ReminderLevel {
    DueSoon,
    Overdue,
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::resolver_utils::EnumType;

    /// Each GraphQL value, in order, is the domain's code for the same variant (the calendar's
    /// day kinds are stored in lower case and spoken in upper case).
    fn same_codes<E, D>(domain_all: &[D], code: fn(D) -> &'static str)
    where
        E: EnumType + Copy + Into<D> + 'static,
        D: Copy + PartialEq + std::fmt::Debug,
    {
        let items = E::items();
        assert_eq!(items.len(), domain_all.len(), "{}", std::any::type_name::<E>());
        for (item, d) in items.iter().zip(domain_all) {
            let value: D = item.value.into();
            assert_eq!(value, *d, "{}", item.name);
            assert_eq!(item.name, code(*d).to_uppercase(), "{:?}", d);
        }
    }

    #[test]
    fn graphql_values_are_the_domain_codes() {
        same_codes::<Role, _>(domain::Role::ALL, domain::Role::as_str);
        same_codes::<OrgKind, _>(domain::organizations::OrgKind::ALL, |k| k.as_str());
        same_codes::<CampaignStage, _>(domain::campaigns::Stage::ALL, |k| k.as_str());
        same_codes::<RecipientKind, _>(domain::campaigns::RecipientKind::ALL, |k| k.as_str());
        same_codes::<RecipientStatus, _>(domain::recipients::Status::ALL, |k| k.as_str());
        same_codes::<VerificationMethod, _>(domain::recipients::VerificationMethod::ALL, |k| k.as_str());
        same_codes::<DisbursementKind, _>(domain::funds::disbursements::DKind::ALL, |k| k.as_str());
        same_codes::<DisbursementStatus, _>(domain::funds::disbursements::DStatus::ALL, |k| k.as_str());
        same_codes::<DayKind, _>(domain::calendar::DayKind::ALL, |k| k.as_str());
        same_codes::<NoticeChannel, _>(domain::notices::NoticeChannel::ALL, |k| k.as_str());
        same_codes::<NoticeStatus, _>(domain::notices::NoticeStatus::ALL, |k| k.as_str());
        same_codes::<JobStatus, _>(domain::outbox::JobStatus::ALL, |k| k.as_str());
        same_codes::<ReminderLevel, _>(domain::reminders::ReminderLevel::ALL, |k| k.as_str());
    }
}
