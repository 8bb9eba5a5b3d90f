//! Token issuance, one module per grant / client-authentication method.

pub mod client_auth;
pub mod client_credentials;
pub mod jwt_bearer;
pub mod token_request;

pub const GRANT_CLIENT_CREDENTIALS: &str = "client_credentials";
