//! Writ's storage and service layer. The console's server functions and the
//! HTTP handlers both call [`Writ`]; neither touches SQL.

pub mod entities;
pub mod error;
pub mod service;

pub use error::{Result, ServiceError};
pub use service::metrics::CONTENT_TYPE as METRICS_CONTENT_TYPE;
pub use service::{
    Actor, ActorKind, CallbackOutcome, Caller, ClientSource, DevApiError, Readiness, TokenQuery,
    Writ, WritOptions,
};
