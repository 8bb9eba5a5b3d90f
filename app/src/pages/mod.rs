pub mod agents;
pub mod client_detail;
pub mod credential_providers;
pub mod credentials;
pub mod federation;
pub mod login;
pub mod m2m;
pub mod resource_servers;
