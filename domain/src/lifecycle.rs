//! The campaign life cycle above the money: `advance` moves a campaign forward one stage at a
//! time, by ADMIN, each step behind the guard in `stage_guard` (the stage checks that need the
//! ledger and the disbursement figures), and `progress` puts the plan beside the money.
//! The check that an action is allowed in the current stage is `plan::stages::require_stage`.
use crate::core::error::{DomainError, DomainResult};
use crate::core::money::Money;
use crate::funds::figures::{self, MoneyFigures};
use crate::funds::ledger;
use crate::people::access::{Actor, Permission};
use crate::people::audit::Change;
use crate::plan::campaign::find_visible;
use crate::plan::stages::{Stage, stage_of};
use entities::{campaign, category};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait,
    QueryFilter,
};

/// What must hold before a campaign may enter `to`. Later issues (money, evaluation) add their
/// conditions here, so every stage rule stays in one place.
async fn stage_guard<C: ConnectionTrait>(db: &C, campaign: &campaign::Model, to: Stage) -> DomainResult<()> {
    match to {
        Stage::Screening => {
            let n = category::Entity::find()
                .filter(category::Column::CampaignId.eq(campaign.id))
                .count(db)
                .await?;
            if n == 0 {
                return Err(DomainError::InvalidStage(
                    "项目还没有慰问类别，不能进入对象审核".into(),
                ));
            }
        }
        Stage::Distribution => {
            let (_, funded) = ledger::sums(db, campaign.id).await?;
            if funded <= 0 {
                return Err(DomainError::InvalidStage(
                    "尚未登记资金到账，不能进入慰问发放".into(),
                ));
            }
        }
        Stage::Review => {
            let m = figures::figures(db, campaign.id, chrono::Utc::now().date_naive()).await?;
            if m.open > 0 {
                return Err(DomainError::InvalidStage(
                    format!("还有 {} 笔发放未付款或未撤销，不能进入后期复盘", m.open).into(),
                ));
            }
        }
        Stage::Closed => {
            let m = figures::figures(db, campaign.id, chrono::Utc::now().date_naive()).await?;
            if m.paid_unconfirmed > 0 || m.not_entered > 0 {
                return Err(DomainError::InvalidStage(
                    format!(
                        "还有 {} 笔未签字确认、{} 笔未录入省平台，不能结项",
                        m.paid_unconfirmed, m.not_entered
                    )
                    .into(),
                ));
            }
        }
        Stage::Preparation | Stage::Procurement => {}
    }
    Ok(())
}

pub async fn advance(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    to: Stage,
) -> DomainResult<campaign::Model> {
    actor.require(Permission::AdvanceCampaign)?;
    let mut change = Change::begin(db, Some(actor), "advanceCampaign").await?;
    let before = find_visible(change.txn(), actor, id).await?;
    let current = stage_of(&before);
    if current.next() != Some(to) {
        let msg = match current.next() {
            Some(n) => format!("项目处于“{}”阶段，只能推进到“{}”", current.label(), n.label()),
            None => "项目已结项，不能再推进".to_string(),
        };
        return Err(DomainError::InvalidStage(msg.into()));
    }
    stage_guard(change.txn(), &before, to).await?;
    let mut am: campaign::ActiveModel = before.clone().into();
    am.stage = Set(to.as_str().into());
    let after = change.update_audited(&before, am).await?;
    change.commit().await?;
    Ok(after)
}
/// A campaign's progress figures (`CampaignProgress`).
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    pub budget: Money,
    pub planned_recipients: i32,
    pub served_recipients: i32,
    pub committed: Money,
    pub spent: Money,
    pub entry_overdue: i32,
    pub satisfaction_rate: Option<f64>,
}

impl Progress {
    pub fn completion_rate(&self) -> f64 {
        ratio(self.served_recipients as i64, self.planned_recipients as i64)
    }

    pub fn execution_rate(&self) -> f64 {
        ratio(self.spent.fen(), self.budget.fen())
    }
}

fn ratio(part: i64, whole: i64) -> f64 {
    if whole <= 0 {
        0.0
    } else {
        (part as f64 / whole as f64).clamp(0.0, 1.0)
    }
}

/// Progress: the plan from the categories, the money from one aggregate over disbursements.
pub fn progress(c: &campaign::Model, categories: &[category::Model], money: &MoneyFigures) -> Progress {
    Progress {
        budget: Money::from_fen(c.budget_fen),
        planned_recipients: categories.iter().map(|k| k.planned_count).sum(),
        served_recipients: money.served as i32,
        committed: Money::from_fen(money.committed_fen),
        spent: Money::from_fen(money.spent_fen),
        entry_overdue: money.entry_overdue as i32,
        // From the surveys (`evaluation::satisfaction_of`), above this layer: the API fills it.
        satisfaction_rate: None,
    }
}
