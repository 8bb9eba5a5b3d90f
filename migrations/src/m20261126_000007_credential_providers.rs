//! Credential providers (JWT now; OAuth to follow): their sealed signing
//! keys, which clients may use them, and the tokens they issued.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn col(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Alias::new("credential_providers"))
                .col(col("id").string_len(64).not_null().primary_key())
                .col(col("kind").string_len(16).not_null())
                .col(col("identifier").string_len(128).not_null().unique_key())
                .col(col("name").string_len(128).not_null())
                .col(col("description").text().not_null())
                .col(col("config").text().not_null())
                .col(col("sealed_key").text().not_null())
                .col(col("kid").string_len(128).not_null())
                .col(col("enabled").boolean().not_null())
                .col(col("created_at").big_integer().not_null())
                .col(col("updated_at").big_integer().not_null())
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Alias::new("provider_grants"))
                .col(col("id").string_len(64).not_null().primary_key())
                .col(col("provider_id").string_len(64).not_null())
                .col(col("client_pk").string_len(64).not_null())
                .col(col("created_at").big_integer().not_null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("provider_grants_unique")
                .table(Alias::new("provider_grants"))
                .col(Alias::new("provider_id"))
                .col(Alias::new("client_pk"))
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Alias::new("authentication_tokens"))
                .col(col("id").string_len(64).not_null().primary_key())
                .col(col("provider_id").string_len(64).not_null())
                .col(col("consumer_id").string_len(128).not_null())
                .col(col("token_hash").string_len(64).not_null().unique_key())
                .col(col("short_token_hash").string_len(64).null().unique_key())
                .col(col("sealed_jwt").text().not_null())
                .col(col("revoked").boolean().not_null())
                .col(col("created_at").big_integer().not_null())
                .col(col("updated_at").big_integer().not_null())
                .col(col("expires_at").big_integer().not_null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("authentication_tokens_consumer")
                .table(Alias::new("authentication_tokens"))
                .col(Alias::new("provider_id"))
                .col(Alias::new("consumer_id"))
                .to_owned(),
        )
        .await
    }
}
