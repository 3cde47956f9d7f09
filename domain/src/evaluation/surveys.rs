//! Satisfaction surveys (满意度回访, by 电话 / 现场 / 微信): one answer per recipient per campaign
//! — a new answer replaces the old, both audited — and only of served recipients (a PAID or
//! CONFIRMED disbursement: someone who was not helped cannot say how the help was).
//! `satisfaction_of` is `CampaignProgress.satisfactionRate`.
use crate::core::error::{DomainError, DomainResult};
use crate::core::services::Services;
use crate::evaluation::state::{FIELD_STEPS, load, require_open};
use crate::people::access::{Actor, Permission};
use crate::people::audit::{Audited, Change};
use crate::plan::statuses::SERVED_STATES;
use entities::{disbursement, recipient, survey_response};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde_json::json;
use std::collections::HashMap;

crate::core::codes::coded_enum! {
    pub enum SurveyChannel {
        Phone = "PHONE",
        Onsite = "ONSITE",
        Wechat = "WECHAT",
    }
}

impl SurveyChannel {
    pub fn label(self) -> &'static str {
        match self {
            SurveyChannel::Phone => "电话回访",
            SurveyChannel::Onsite => "现场咨询",
            SurveyChannel::Wechat => "微信互动",
        }
    }
}

const MAX_COMMENT_CHARS: usize = 1000;

impl Audited for survey_response::Model {
    const TARGET: &'static str = "SurveyResponse";
    fn audit_id(&self) -> String {
        self.id.to_string()
    }
    fn snapshot(&self) -> serde_json::Value {
        // The comment is the recipient's own words and may name people: it stays out of the log.
        json!({"campaign_id": self.campaign_id, "recipient_id": self.recipient_id, "channel": self.channel,
               "satisfied": self.satisfied, "has_comment": self.comment.is_some(), "recorded_by": self.recorded_by})
    }
}

/// An answer as the caller reports it.
#[derive(Clone, Debug)]
pub struct NewSurvey {
    pub recipient_id: i64,
    pub channel: SurveyChannel,
    pub satisfied: bool,
    pub comment: Option<String>,
}

fn clean_comment(c: Option<&str>) -> DomainResult<Option<String>> {
    match c.map(str::trim).filter(|c| !c.is_empty()) {
        Some(c) if c.chars().count() > MAX_COMMENT_CHARS => Err(DomainError::validation(
            "comment",
            format!("回访意见不能超过 {MAX_COMMENT_CHARS} 个字符"),
        )),
        Some(c) => Ok(Some(c.to_string())),
        None => Ok(None),
    }
}

/// Whether the recipient was served (has a PAID or CONFIRMED disbursement).
pub async fn is_served<C: ConnectionTrait>(db: &C, recipient_id: i64) -> DomainResult<bool> {
    Ok(disbursement::Entity::find()
        .filter(disbursement::Column::RecipientId.eq(recipient_id))
        .filter(disbursement::Column::Status.is_in(SERVED_STATES))
        .count(db)
        .await?
        > 0)
}

/// `recordSurvey` (EVALUATOR, CASEWORKER) while the evaluation is in FIELDWORK..FEEDBACK.
pub async fn record_survey(
    s: &Services,
    actor: &Actor,
    new: NewSurvey,
) -> DomainResult<survey_response::Model> {
    actor.require(Permission::RecordSurveys)?;
    let comment = clean_comment(new.comment.as_deref())?;
    let mut change = Change::begin(&s.db, Some(actor), "recordSurvey").await?;
    let who = recipient::Entity::find_by_id(new.recipient_id)
        .one(change.txn())
        .await?
        .ok_or_else(|| DomainError::not_found("慰问对象"))?;
    let state = load(change.txn(), actor, who.campaign_id).await?;
    require_open(&state, &FIELD_STEPS, "登记满意度回访")?;
    if !is_served(change.txn(), who.id).await? {
        return Err(DomainError::validation(
            "recipientId",
            "只能回访已发放到位的慰问对象",
        ));
    }
    let existing = survey_response::Entity::find()
        .filter(survey_response::Column::CampaignId.eq(who.campaign_id))
        .filter(survey_response::Column::RecipientId.eq(who.id))
        .one(change.txn())
        .await?;
    let saved = match existing {
        Some(before) => {
            let mut am: survey_response::ActiveModel = before.clone().into();
            am.channel = Set(new.channel.as_str().into());
            am.satisfied = Set(new.satisfied);
            am.comment = Set(comment);
            am.recorded_by = Set(actor.user_id);
            am.recorded_at = Set(change.now());
            change.update_audited(&before, am).await?
        }
        None => {
            change
                .insert_audited(survey_response::ActiveModel {
                    campaign_id: Set(who.campaign_id),
                    recipient_id: Set(who.id),
                    channel: Set(new.channel.as_str().into()),
                    satisfied: Set(new.satisfied),
                    comment: Set(comment),
                    recorded_by: Set(actor.user_id),
                    recorded_at: Set(change.now()),
                    ..Default::default()
                })
                .await?
        }
    };
    change.commit().await?;
    Ok(saved)
}

/// The share of satisfied answers per campaign (`CampaignProgress.satisfactionRate`), one
/// statement for several campaigns; a campaign without answers has no entry.
pub async fn satisfaction_of<C: ConnectionTrait>(
    db: &C,
    campaign_ids: &[i64],
) -> DomainResult<HashMap<i64, f64>> {
    let rows: Vec<(i64, i64, i64)> = survey_response::Entity::find()
        .select_only()
        .column(survey_response::Column::CampaignId)
        .column_as(Expr::cust("CAST(COUNT(*) AS BIGINT)"), "n")
        .column_as(
            Expr::cust("CAST(SUM(CASE WHEN satisfied THEN 1 ELSE 0 END) AS BIGINT)"),
            "satisfied",
        )
        .filter(survey_response::Column::CampaignId.is_in(campaign_ids.iter().copied()))
        .group_by(survey_response::Column::CampaignId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter(|(_, n, _)| *n > 0)
        .map(|(c, n, yes)| (c, yes as f64 / n as f64))
        .collect())
}

/// A campaign's answers, oldest first (EVALUATOR and whoever reads the evaluation).
pub async fn responses(
    s: &Services,
    actor: &Actor,
    campaign_id: i64,
) -> DomainResult<Vec<survey_response::Model>> {
    actor.require(Permission::ReadEvaluation)?;
    let state = load(&s.db, actor, campaign_id).await?;
    Ok(survey_response::Entity::find()
        .filter(survey_response::Column::CampaignId.eq(state.campaign.id))
        .order_by_asc(survey_response::Column::Id)
        .all(&s.db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_are_trimmed_and_bounded() {
        assert_eq!(clean_comment(Some("  ")).unwrap(), None);
        assert_eq!(clean_comment(Some(" 满意 ")).unwrap().as_deref(), Some("满意"));
        let e = clean_comment(Some(&"字".repeat(1001))).unwrap_err();
        assert_eq!((e.code(), e.field()), ("VALIDATION", Some("comment")));
    }
}
