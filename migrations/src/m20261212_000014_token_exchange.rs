//! Token exchange (issue 16): user identity providers (trusted issuers of
//! people's tokens), each resource server's delegation policy, and the
//! audit record's `delegation` (the person and the agents acting for them).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Alias::new("user_identity_providers"))
                .col(
                    ColumnDef::new(Alias::new("id"))
                        .string_len(64)
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(Alias::new("name"))
                        .string_len(64)
                        .not_null()
                        .unique_key(),
                )
                .col(ColumnDef::new(Alias::new("description")).text().not_null())
                // Also inside `config`; a column of its own so the token
                // endpoint finds a subject token's provider by its `iss`.
                .col(
                    ColumnDef::new(Alias::new("issuer"))
                        .string_len(512)
                        .not_null(),
                )
                .col(ColumnDef::new(Alias::new("config")).text().not_null())
                .col(ColumnDef::new(Alias::new("trust_condition")).text().null())
                .col(ColumnDef::new(Alias::new("enabled")).boolean().not_null())
                .col(
                    ColumnDef::new(Alias::new("created_at"))
                        .big_integer()
                        .not_null(),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_user_identity_providers_issuer")
                .table(Alias::new("user_identity_providers"))
                .col(Alias::new("issuer"))
                .to_owned(),
        )
        .await?;
        // One column per statement: SQLite alters one column at a time.
        // Existing resource servers keep delegation off.
        let columns = [
            ColumnDef::new(Alias::new("delegation_enabled"))
                .boolean()
                .not_null()
                .default(false)
                .to_owned(),
            ColumnDef::new(Alias::new("delegation_permissions_expression"))
                .text()
                .null()
                .to_owned(),
            ColumnDef::new(Alias::new("delegation_max_chain_depth"))
                .big_integer()
                .not_null()
                .default(2)
                .to_owned(),
        ];
        for c in columns {
            m.alter_table(
                Table::alter()
                    .table(Alias::new("resource_servers"))
                    .add_column(c)
                    .to_owned(),
            )
            .await?;
        }
        m.alter_table(
            Table::alter()
                .table(Alias::new("audit_events"))
                .add_column(ColumnDef::new(Alias::new("delegation")).text().null())
                .to_owned(),
        )
        .await
    }
}
