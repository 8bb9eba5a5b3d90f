//! Public keys for `private_key_jwt`, and the single-use record of client
//! assertion `jti`s (kept until the assertion expires).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Alias::new("client_public_keys"))
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
                .col(ColumnDef::new(Alias::new("kid")).string_len(64).not_null())
                .col(ColumnDef::new(Alias::new("jwk")).text().not_null())
                .col(
                    ColumnDef::new(Alias::new("description"))
                        .string_len(32)
                        .not_null(),
                )
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
                        .name("fk_client_public_keys_client_pk")
                        .from(Alias::new("client_public_keys"), Alias::new("client_pk"))
                        .to(Alias::new("clients"), Alias::new("id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_client_public_keys_client_kid")
                .table(Alias::new("client_public_keys"))
                .col(Alias::new("client_pk"))
                .col(Alias::new("kid"))
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Alias::new("used_assertions"))
                // sha256(client_id NUL jti), hex: fixed size, no attacker-chosen length.
                .col(
                    ColumnDef::new(Alias::new("key"))
                        .string_len(64)
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(Alias::new("expires_at"))
                        .big_integer()
                        .not_null(),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_used_assertions_expires")
                .table(Alias::new("used_assertions"))
                .col(Alias::new("expires_at"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(
            Table::drop()
                .table(Alias::new("used_assertions"))
                .to_owned(),
        )
        .await?;
        m.drop_table(
            Table::drop()
                .table(Alias::new("client_public_keys"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
