//! The one mapping from domain errors to the contract's `extensions.code` (and `field`).
//! Internal errors are logged here with their cause and shown to clients only as INTERNAL.
use async_graphql::ErrorExtensions;
use domain::DomainError;
use std::sync::Arc;

/// Resolver error type. Deliberately not `Display`, so async-graphql's blanket conversion
/// (message only, no code) can never be picked by accident.
#[derive(Clone)]
pub struct ApiError(pub Arc<DomainError>);

pub type ApiResult<T> = Result<T, ApiError>;

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        ApiError(Arc::new(e))
    }
}

impl From<Arc<DomainError>> for ApiError {
    fn from(e: Arc<DomainError>) -> Self {
        ApiError(e)
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(e: sea_orm::DbErr) -> Self {
        ApiError(Arc::new(e.into()))
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(e: ApiError) -> Self {
        let e: &DomainError = &e.0;
        if let DomainError::Internal(cause) = e {
            tracing::error!(error = ?cause, "internal error");
        }
        async_graphql::Error::new(e.to_string()).extend_with(|_, ext| {
            ext.set("code", e.code());
            if let Some(f) = e.field() {
                ext.set("field", f);
            }
        })
    }
}

/// An input the schema itself rejects (bad enum, wrong type): VALIDATION with the field name.
pub fn validation(field: &'static str, message: impl Into<String>) -> ApiError {
    DomainError::validation(field, message.into()).into()
}
