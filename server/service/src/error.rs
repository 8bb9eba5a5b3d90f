//! The service layer's one error type. Its `Display` is safe to show a
//! console user or an API caller: internal causes are logged, not returned.

use writ_core::names::InvalidInput;
use writ_types::errors::ErrorKind;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error("sign-in failed: wrong user name or password")]
    BadLogin,
    #[error("too many failed sign-ins: try again in {0} seconds")]
    Throttled(i64),
    #[error("the server is busy checking other sign-ins: try again shortly")]
    Busy,
    #[error("authentication required")]
    Unauthenticated,
    #[error("internal error: the server could not complete the request")]
    Internal,
}

impl ServiceError {
    /// What kind of failure this is; transports map the kind to a status.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::NotFound(_) => ErrorKind::NotFound,
            Self::Conflict(_) => ErrorKind::Conflict,
            Self::Invalid(_) => ErrorKind::Invalid,
            Self::BadLogin | Self::Unauthenticated => ErrorKind::Unauthenticated,
            Self::Throttled(_) | Self::Busy => ErrorKind::Throttled,
            Self::Internal => ErrorKind::Internal,
        }
    }
}

impl From<InvalidInput> for ServiceError {
    fn from(e: InvalidInput) -> Self {
        Self::Invalid(e.to_string())
    }
}

impl From<sea_orm::DbErr> for ServiceError {
    fn from(e: sea_orm::DbErr) -> Self {
        tracing::error!(error = %e, "database error");
        Self::Internal
    }
}

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

/// Maps a unique-constraint violation to a clear conflict message.
pub fn conflict_on_unique(e: sea_orm::DbErr, message: impl Into<String>) -> ServiceError {
    match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
            ServiceError::Conflict(message.into())
        }
        _ => e.into(),
    }
}
