//! The audit log under a flood (issue 14): repeated refusals from one
//! source are folded into one row (`count` requests, from `at` to
//! `last_at`), and rows past the retention setting are deleted by `at`.
//!
//! Both columns are added without rewriting existing rows: `count` has a
//! constant default (1: an old row is one request), `last_at` is NULL in
//! old rows (read as `at`).

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
                .table(Alias::new("audit_events"))
                .add_column(col("count").big_integer().not_null().default(1))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Alias::new("audit_events"))
                .add_column(col("last_at").big_integer().null())
                .to_owned(),
        )
        .await?;
        // Retention deletes the oldest rows first, a chunk at a time.
        m.create_index(
            Index::create()
                .name("ix_audit_events_at")
                .table(Alias::new("audit_events"))
                .col(Alias::new("at"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
