//! Writ's schema, as SeaORM migrations that run unchanged on SQLite and
//! PostgreSQL. Files are named `mYYYYMMDD_HHMMSS_what.rs`; never edit one
//! that has shipped, add a new one.

pub use sea_orm_migration::prelude::*;

mod m20261126_000001_init;
mod m20261126_000002_public_keys;
mod m20261126_000003_federation;
mod m20261126_000004_federation_rules;
mod m20261126_000005_sealed_secrets;
mod m20261126_000006_credentials;
mod m20261126_000007_credential_providers;
mod m20261126_000008_oauth_providers;
mod m20261205_000009_cheap_refusals;
mod m20261205_000010_audit_retention;
mod m20261205_000011_secret_screens;
mod m20261205_000012_admin_tokens;
mod m20261205_000013_resource_server_status;
mod m20261212_000014_token_exchange;
mod m20261213_000015_replicas;
mod m20261213_000016_admin_audit;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_init::Migration),
            Box::new(m20261126_000002_public_keys::Migration),
            Box::new(m20261126_000003_federation::Migration),
            Box::new(m20261126_000004_federation_rules::Migration),
            Box::new(m20261126_000005_sealed_secrets::Migration),
            Box::new(m20261126_000006_credentials::Migration),
            Box::new(m20261126_000007_credential_providers::Migration),
            Box::new(m20261126_000008_oauth_providers::Migration),
            Box::new(m20261205_000009_cheap_refusals::Migration),
            Box::new(m20261205_000010_audit_retention::Migration),
            Box::new(m20261205_000011_secret_screens::Migration),
            Box::new(m20261205_000012_admin_tokens::Migration),
            Box::new(m20261205_000013_resource_server_status::Migration),
            Box::new(m20261212_000014_token_exchange::Migration),
            Box::new(m20261213_000015_replicas::Migration),
            Box::new(m20261213_000016_admin_audit::Migration),
        ]
    }
}
