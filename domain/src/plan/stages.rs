//! The stage life cycle PREPARATION → SCREENING → PROCUREMENT → DISTRIBUTION → REVIEW →
//! CLOSED, and `require_stage`: the one check that a campaign is in a stage allowing an action.
//! Moving forward (with the guards that need money figures) is `lifecycle`.
use crate::core::error::{DomainError, DomainResult};
use entities::campaign;

crate::core::codes::coded_enum! {
    #[derive(PartialOrd, Ord)]
    pub enum Stage {
        Preparation = "PREPARATION",
        Screening = "SCREENING",
        Procurement = "PROCUREMENT",
        Distribution = "DISTRIBUTION",
        Review = "REVIEW",
        Closed = "CLOSED",
    }
}

impl Stage {
    pub fn label(self) -> &'static str {
        match self {
            Stage::Preparation => "前期筹备",
            Stage::Screening => "对象审核",
            Stage::Procurement => "物资筹备",
            Stage::Distribution => "慰问发放",
            Stage::Review => "后期复盘",
            Stage::Closed => "已结项",
        }
    }

    pub fn next(self) -> Option<Stage> {
        let i = Stage::ALL.iter().position(|s| *s == self)?;
        Stage::ALL.get(i + 1).copied()
    }
}

pub fn stage_of(c: &campaign::Model) -> Stage {
    c.stage.parse().unwrap_or(Stage::Preparation)
}

/// The one stage check for an action (`what`, e.g. "推荐慰问对象"): the campaign must be in one of
/// the `allowed` stages.
pub fn require_stage(c: &campaign::Model, allowed: &[Stage], what: &str) -> DomainResult<()> {
    let s = stage_of(c);
    if allowed.contains(&s) {
        Ok(())
    } else {
        Err(DomainError::InvalidStage(
            format!("项目处于“{}”阶段，不能{what}", s.label()).into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_go_forward_one_at_a_time() {
        assert_eq!(Stage::Preparation.next(), Some(Stage::Screening));
        assert_eq!(Stage::Review.next(), Some(Stage::Closed));
        assert_eq!(Stage::Closed.next(), None);
        assert_eq!("DISTRIBUTION".parse(), Ok(Stage::Distribution));
    }
}
