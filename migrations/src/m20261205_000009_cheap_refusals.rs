//! Cheap refusals (issue 14): admin API tokens found by a keyed digest
//! instead of an argon2 run per stored token, and console sign-in failures
//! kept in the database, where every replica sees them.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn col(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Alias::new("admin_tokens"))
                .add_column(col("token_digest").string_len(64).null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("admin_tokens_digest")
                .table(Alias::new("admin_tokens"))
                .col(Alias::new("token_digest"))
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Alias::new("login_throttle"))
                .col(col("key").string_len(64).not_null().primary_key())
                .col(col("failures").integer().not_null())
                .col(col("last_failure_at").big_integer().not_null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("login_throttle_last_failure")
                .table(Alias::new("login_throttle"))
                .col(Alias::new("last_failure_at"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
