//! The developer API that workloads call with a Writ access token: vault
//! credentials, minted JWTs and OAuth tokens of credential providers.

pub mod dev_tokens;
pub mod developer_api;
pub mod oauth_flows;
