//! Audit search: the admin change log (`admin_audit`: who changed what,
//! from where, and the resource before and after, redacted), and the
//! indexes the token audit search pages by.
//!
//! The search pages newest first by row id (`id < cursor ORDER BY id DESC`),
//! so its indexes end in `id`:
//! - `(client_id, id)` replaces `(client_id, at)`: nothing filters a client
//!   by time alone, and the console's per-client list pages by id too. The
//!   token endpoint writes one index more than before, not two.
//! - `(source, id)`: what one address did (a flood, a scan).
//!
//! Outcome and method have a handful of values (an index would not narrow
//! much: the scan by id finds a page soon); reason is mostly asked together
//! with a client or a source; time ranges use the existing `(at)` index.
//!
//! Independent of any other migration: nothing here reads a table or column
//! added after `m20261212_000014`, so it applies in either order with its
//! neighbours.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn col(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).to_owned()
}

fn index(name: &str, table: &str, cols: &[&str]) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(Alias::new(table));
    for c in cols {
        i.col(Alias::new(*c));
    }
    i.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Alias::new("admin_audit"))
                .col(
                    col("id")
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(col("at").big_integer().not_null())
                // console | api_token | system
                .col(col("actor_kind").string_len(16).not_null())
                // The console user name or the admin token's name.
                .col(col("actor").string_len(128).not_null())
                .col(col("actor_id").string_len(64).not_null())
                .col(col("action").string_len(64).not_null())
                .col(col("resource_type").string_len(64).not_null())
                .col(col("resource_id").string_len(128).not_null())
                // Redacted JSON snapshots; NULL before a create, after a delete.
                .col(col("before").text().null())
                .col(col("after").text().null())
                .col(col("source").string_len(64).not_null())
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            ("ix_admin_audit_at", &["at"][..]),
            ("ix_admin_audit_actor", &["actor", "id"][..]),
            ("ix_admin_audit_action", &["action", "id"][..]),
            (
                "ix_admin_audit_resource",
                &["resource_type", "resource_id", "id"][..],
            ),
        ] {
            m.create_index(index(name, "admin_audit", cols)).await?;
        }
        m.create_index(index(
            "ix_audit_events_client_id",
            "audit_events",
            &["client_id", "id"],
        ))
        .await?;
        m.create_index(index(
            "ix_audit_events_source_id",
            "audit_events",
            &["source", "id"],
        ))
        .await?;
        m.drop_index(
            Index::drop()
                .name("ix_audit_events_client_at")
                .table(Alias::new("audit_events"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(index(
            "ix_audit_events_client_at",
            "audit_events",
            &["client_id", "at"],
        ))
        .await?;
        for name in ["ix_audit_events_source_id", "ix_audit_events_client_id"] {
            m.drop_index(
                Index::drop()
                    .name(name)
                    .table(Alias::new("audit_events"))
                    .to_owned(),
            )
            .await?;
        }
        m.drop_table(Table::drop().table(Alias::new("admin_audit")).to_owned())
            .await
    }
}
