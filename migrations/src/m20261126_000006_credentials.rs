//! The credential vault: API keys sealed under the master key, and which
//! clients may obtain them.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn id(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .string_len(64)
        .not_null()
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Alias::new("credentials"))
                .col(id("id").primary_key())
                .col(
                    ColumnDef::new(Alias::new("identifier"))
                        .string_len(128)
                        .not_null()
                        .unique_key(),
                )
                .col(
                    ColumnDef::new(Alias::new("name"))
                        .string_len(128)
                        .not_null(),
                )
                .col(ColumnDef::new(Alias::new("description")).text().not_null())
                .col(
                    ColumnDef::new(Alias::new("business_type"))
                        .string_len(16)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(Alias::new("credential_type"))
                        .string_len(16)
                        .not_null(),
                )
                .col(ColumnDef::new(Alias::new("sealed_value")).text().not_null())
                .col(ColumnDef::new(Alias::new("enabled")).boolean().not_null())
                .col(
                    ColumnDef::new(Alias::new("created_at"))
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(Alias::new("updated_at"))
                        .big_integer()
                        .not_null(),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Alias::new("credential_grants"))
                .col(id("id").primary_key())
                .col(id("credential_id"))
                .col(id("client_pk"))
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
                .name("credential_grants_unique")
                .table(Alias::new("credential_grants"))
                .col(Alias::new("credential_id"))
                .col(Alias::new("client_pk"))
                .unique()
                .to_owned(),
        )
        .await
    }
}
