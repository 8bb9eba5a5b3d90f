//! Federated credential providers and the federated credentials of clients.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Alias::new("federated_providers"))
                .col(
                    ColumnDef::new(Alias::new("id"))
                        .string_len(64)
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(Alias::new("kind")).string_len(16).not_null())
                .col(
                    ColumnDef::new(Alias::new("name"))
                        .string_len(64)
                        .not_null()
                        .unique_key(),
                )
                .col(ColumnDef::new(Alias::new("description")).text().not_null())
                .col(ColumnDef::new(Alias::new("config")).text().not_null())
                .col(ColumnDef::new(Alias::new("enabled")).boolean().not_null())
                .col(
                    ColumnDef::new(Alias::new("created_at"))
                        .big_integer()
                        .not_null(),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Alias::new("federated_credentials"))
                .col(
                    ColumnDef::new(Alias::new("id"))
                        .string_len(64)
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(Alias::new("client_pk"))
                        .string_len(64)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(Alias::new("provider_id"))
                        .string_len(64)
                        .not_null(),
                )
                .col(ColumnDef::new(Alias::new("kind")).string_len(16).not_null())
                .col(ColumnDef::new(Alias::new("name")).string_len(64).not_null())
                .col(ColumnDef::new(Alias::new("description")).text().not_null())
                .col(ColumnDef::new(Alias::new("verification")).text().not_null())
                .col(ColumnDef::new(Alias::new("enabled")).boolean().not_null())
                .col(
                    ColumnDef::new(Alias::new("created_at"))
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(Alias::new("last_used_at"))
                        .big_integer()
                        .null(),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_federated_credentials_client")
                        .from(Alias::new("federated_credentials"), Alias::new("client_pk"))
                        .to(Alias::new("clients"), Alias::new("id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_federated_credentials_provider")
                        .from(
                            Alias::new("federated_credentials"),
                            Alias::new("provider_id"),
                        )
                        .to(Alias::new("federated_providers"), Alias::new("id"))
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_federated_credentials_client_name")
                .table(Alias::new("federated_credentials"))
                .col(Alias::new("client_pk"))
                .col(Alias::new("name"))
                .unique()
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(
            Table::drop()
                .table(Alias::new("federated_credentials"))
                .to_owned(),
        )
        .await?;
        m.drop_table(
            Table::drop()
                .table(Alias::new("federated_providers"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
