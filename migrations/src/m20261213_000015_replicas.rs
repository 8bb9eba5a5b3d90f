//! What several replicas on one database must share (issue 15): the signing
//! keys, sealed under the master key, with the time each may first sign
//! (rotation: see `writ_core::key_rotation`); and the console's sessions,
//! so a session started on one replica works on every other.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Alias::new("signing_keys"))
                .if_not_exists()
                .col(
                    ColumnDef::new(Alias::new("kid"))
                        .string_len(64)
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(Alias::new("alg")).string_len(16).not_null())
                // PKCS#8 PEM sealed with the vault keyring (context names the kid).
                .col(ColumnDef::new(Alias::new("sealed_key")).text().not_null())
                .col(
                    ColumnDef::new(Alias::new("created_at"))
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(Alias::new("not_before"))
                        .big_integer()
                        .not_null(),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Alias::new("console_sessions"))
                .if_not_exists()
                .col(
                    ColumnDef::new(Alias::new("id"))
                        .string_len(64)
                        .not_null()
                        .primary_key(),
                )
                // The session record as JSON (the admin's id and name, the CSRF token).
                .col(ColumnDef::new(Alias::new("data")).text().not_null())
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
                .name("ix_console_sessions_expires_at")
                .table(Alias::new("console_sessions"))
                .col(Alias::new("expires_at"))
                .to_owned(),
        )
        .await
    }
}
