//! What the console and the admin API change: clients and their
//! credentials, federation, resource servers and grants, the vault's
//! credentials and credential providers, administrators and their API
//! tokens.

pub mod admin_tokens;
pub mod admins;
pub mod audit_log;
pub mod audit_search;
pub mod clients;
pub mod credential_providers;
pub mod credentials;
pub mod federation;
pub(crate) mod lifecycle;
pub mod public_keys;
pub mod resource_servers;
pub mod user_identity_providers;
