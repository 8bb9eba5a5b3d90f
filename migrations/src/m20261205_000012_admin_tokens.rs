//! Admin API tokens made through the API (issue 13): an optional expiry,
//! checked on every verification, when each token was last used, and when
//! it was revoked (the row stays as a tombstone of its digest, so a revoked
//! `WRIT_BOOTSTRAP_ADMIN_TOKEN` value is not restored by a restart).
//!
//! All three columns are nullable, so existing rows (the bootstrap token)
//! need no rewrite: NULL `expires_at` never expires, NULL `last_used_at` is
//! "not used since", NULL `revoked_at` is live.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn col(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one at a time.
        m.alter_table(
            Table::alter()
                .table(Alias::new("admin_tokens"))
                .add_column(col("expires_at").big_integer().null())
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Alias::new("admin_tokens"))
                .add_column(col("last_used_at").big_integer().null())
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Alias::new("admin_tokens"))
                .add_column(col("revoked_at").big_integer().null())
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
