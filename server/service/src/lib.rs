//! Writ's storage and service layer. The console's server functions and the
//! HTTP handlers both call [`Writ`]; neither touches SQL.

pub mod entities;
pub mod error;
pub mod service;

pub use error::{Result, ServiceError};
pub use service::{
    CallbackOutcome, Caller, ClientSource, DevApiError, TokenQuery, Writ, WritOptions,
};
