//! Token issuance, one module per grant / client-authentication method.

pub mod client_auth;
pub mod client_credentials;

pub const GRANT_CLIENT_CREDENTIALS: &str = "client_credentials";
