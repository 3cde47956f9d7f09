//! The one error type of the domain. The API maps it once to the contract's `extensions.code`;
//! messages are short zh-CN text for people and never carry SQL, paths or personal data.
use std::borrow::Cow;

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    #[error("{0}")]
    Unauthenticated(Cow<'static, str>),
    #[error("{0}")]
    Forbidden(Cow<'static, str>),
    #[error("{0}")]
    NotFound(Cow<'static, str>),
    #[error("{message}")]
    Validation {
        field: Option<Cow<'static, str>>,
        message: Cow<'static, str>,
    },
    #[error("{0}")]
    Conflict(Cow<'static, str>),
    #[error("{0}")]
    DuplicateRecipient(Cow<'static, str>),
    #[error("{0}")]
    OverStandard(Cow<'static, str>),
    #[error("{0}")]
    BudgetExceeded(Cow<'static, str>),
    #[error("{0}")]
    InvalidStage(Cow<'static, str>),
    #[error("{0}")]
    InvalidIdNumber(Cow<'static, str>),
    #[error("操作过于频繁，请稍后再试")]
    RateLimited,
    /// Something broke inside (database down, bug). Logged with context, shown as "INTERNAL".
    #[error("服务器内部错误")]
    Internal(#[source] anyhow::Error),
}

pub type DomainResult<T> = Result<T, DomainError>;

impl DomainError {
    /// The contract's `extensions.code`.
    pub fn code(&self) -> &'static str {
        match self {
            DomainError::Unauthenticated(_) => "UNAUTHENTICATED",
            DomainError::Forbidden(_) => "FORBIDDEN",
            DomainError::NotFound(_) => "NOT_FOUND",
            DomainError::Validation { .. } => "VALIDATION",
            DomainError::Conflict(_) => "CONFLICT",
            DomainError::DuplicateRecipient(_) => "DUPLICATE_RECIPIENT",
            DomainError::OverStandard(_) => "OVER_STANDARD",
            DomainError::BudgetExceeded(_) => "BUDGET_EXCEEDED",
            DomainError::InvalidStage(_) => "INVALID_STAGE",
            DomainError::InvalidIdNumber(_) => "INVALID_ID_NUMBER",
            DomainError::RateLimited => "RATE_LIMITED",
            DomainError::Internal(_) => "INTERNAL",
        }
    }

    pub fn field(&self) -> Option<&str> {
        match self {
            DomainError::Validation { field, .. } => field.as_deref(),
            _ => None,
        }
    }

    pub fn validation(field: impl Into<Cow<'static, str>>, message: impl Into<Cow<'static, str>>) -> Self {
        DomainError::Validation {
            field: Some(field.into()),
            message: message.into(),
        }
    }

    pub fn unauthenticated() -> Self {
        DomainError::Unauthenticated("未登录或登录已失效，请重新登录".into())
    }

    pub fn forbidden() -> Self {
        DomainError::Forbidden("无权执行此操作".into())
    }

    pub fn not_found(what: &'static str) -> Self {
        DomainError::NotFound(format!("{what}不存在").into())
    }

    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        DomainError::Internal(e.into())
    }
}

impl From<sea_orm::DbErr> for DomainError {
    fn from(e: sea_orm::DbErr) -> Self {
        DomainError::Internal(e.into())
    }
}

impl From<sea_orm::TransactionError<DomainError>> for DomainError {
    fn from(e: sea_orm::TransactionError<DomainError>) -> Self {
        match e {
            sea_orm::TransactionError::Connection(db) => db.into(),
            sea_orm::TransactionError::Transaction(d) => d,
        }
    }
}

/// True when the database refused a write because of a unique index: the caller turns that
/// into CONFLICT / DUPLICATE_RECIPIENT instead of INTERNAL.
pub fn is_unique_violation(e: &sea_orm::DbErr) -> bool {
    matches!(e.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_)))
}

/// For `map_err` on a write: a unique-index refusal becomes `conflict()`, anything else stays
/// a database error.
pub fn on_unique(conflict: impl FnOnce() -> DomainError) -> impl FnOnce(sea_orm::DbErr) -> DomainError {
    move |e| {
        if is_unique_violation(&e) {
            conflict()
        } else {
            e.into()
        }
    }
}
