//! OAuth credential providers: the third-party tokens Writ fetched for each
//! consumer (sealed), and the user-delegated authorization sessions waiting
//! for a person's consent. The provider itself is a `credential_providers`
//! row of kind `oauth` (its client secret in `sealed_key`).

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
                .table(Alias::new("oauth_tokens"))
                .col(col("id").string_len(64).not_null().primary_key())
                .col(col("provider_id").string_len(64).not_null())
                .col(col("consumer_id").string_len(128).not_null())
                // The scope asked for (normalised): one cached token per scope.
                .col(col("scope").text().not_null())
                .col(col("token_type").string_len(64).not_null())
                .col(col("granted_scope").text().null())
                .col(col("sealed_access_token").text().not_null())
                .col(col("sealed_refresh_token").text().null())
                .col(col("expires_at").big_integer().not_null())
                .col(col("created_at").big_integer().not_null())
                .col(col("updated_at").big_integer().not_null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("oauth_tokens_consumer")
                .table(Alias::new("oauth_tokens"))
                .col(Alias::new("provider_id"))
                .col(Alias::new("consumer_id"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Alias::new("oauth_sessions"))
                .col(col("id").string_len(64).not_null().primary_key())
                .col(col("provider_id").string_len(64).not_null())
                .col(col("consumer_id").string_len(128).not_null())
                .col(col("scope").text().not_null())
                // SHA-256 of the `state` sent to the third party.
                .col(col("state_hash").string_len(64).not_null().unique_key())
                .col(col("sealed_verifier").text().not_null())
                .col(col("authorization_url").text().not_null())
                .col(col("status").string_len(32).not_null())
                .col(col("token_id").string_len(64).null())
                .col(col("error_code").string_len(64).null())
                .col(col("error_description").text().null())
                .col(col("expires_at").big_integer().not_null())
                .col(col("created_at").big_integer().not_null())
                .col(col("updated_at").big_integer().not_null())
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
