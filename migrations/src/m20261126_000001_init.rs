//! Settings, admins, clients (agents and M2M applications), client secrets,
//! resource servers, permission grants and the token audit log.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn id() -> ColumnDef {
    ColumnDef::new(Alias::new("id"))
        .string_len(64)
        .not_null()
        .primary_key()
        .to_owned()
}
fn text(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .text()
        .not_null()
        .to_owned()
}
fn string(name: &str, len: u32) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .string_len(len)
        .not_null()
        .to_owned()
}
fn time(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .big_integer()
        .not_null()
        .to_owned()
}
fn flag(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .boolean()
        .not_null()
        .to_owned()
}
fn fk(table: &str, col: &str, to: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_{col}"))
        .from(Alias::new(table), Alias::new(col))
        .to(Alias::new(to), Alias::new("id"))
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Alias::new("settings"))
                .col(
                    ColumnDef::new(Alias::new("key"))
                        .string_len(64)
                        .not_null()
                        .primary_key(),
                )
                .col(text("value"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Alias::new("admins"))
                .col(id())
                .col(string("username", 64).unique_key().to_owned())
                .col(text("password_hash"))
                .col(time("created_at"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Alias::new("admin_tokens"))
                .col(id())
                .col(string("name", 64))
                .col(text("token_hash"))
                .col(time("created_at"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Alias::new("clients"))
                .col(id())
                .col(string("client_id", 64).unique_key().to_owned())
                .col(string("kind", 16))
                .col(string("name", 256))
                .col(ColumnDef::new(Alias::new("owner")).string_len(256).null())
                .col(
                    ColumnDef::new(Alias::new("agent_id"))
                        .string_len(64)
                        .null()
                        .unique_key(),
                )
                .col(text("description"))
                .col(string("auth_type", 32))
                .col(flag("enabled"))
                .col(time("created_at"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Alias::new("client_secrets"))
                .col(id())
                .col(string("client_pk", 64))
                .col(text("secret_hash"))
                .col(string("hint", 16))
                .col(flag("enabled"))
                .col(time("created_at"))
                .col(
                    ColumnDef::new(Alias::new("last_used_at"))
                        .big_integer()
                        .null(),
                )
                .foreign_key(&mut fk("client_secrets", "client_pk", "clients"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_client_secrets_client")
                .table(Alias::new("client_secrets"))
                .col(Alias::new("client_pk"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Alias::new("resource_servers"))
                .col(id())
                .col(string("name", 256))
                .col(string("audience", 256).unique_key().to_owned())
                .col(text("permissions"))
                .col(time("token_ttl_secs"))
                .col(flag("custom_subject"))
                .col(flag("builtin"))
                .col(time("created_at"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Alias::new("permission_grants"))
                .col(id())
                .col(string("resource_server_id", 64))
                .col(string("client_pk", 64))
                .col(text("permissions"))
                .col(time("created_at"))
                .foreign_key(&mut fk(
                    "permission_grants",
                    "resource_server_id",
                    "resource_servers",
                ))
                .foreign_key(&mut fk("permission_grants", "client_pk", "clients"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_permission_grants_rs_client")
                .table(Alias::new("permission_grants"))
                .col(Alias::new("resource_server_id"))
                .col(Alias::new("client_pk"))
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Alias::new("audit_events"))
                .col(
                    ColumnDef::new(Alias::new("id"))
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(time("at"))
                .col(string("client_id", 128))
                .col(string("method", 64))
                .col(string("audience", 256))
                .col(text("scope"))
                .col(string("jti", 64))
                .col(string("outcome", 16))
                .col(string("reason", 64))
                .col(string("source", 64))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_audit_events_client_at")
                .table(Alias::new("audit_events"))
                .col(Alias::new("client_id"))
                .col(Alias::new("at"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "audit_events",
            "permission_grants",
            "resource_servers",
            "client_secrets",
            "clients",
            "admin_tokens",
            "admins",
            "settings",
        ] {
            m.drop_table(Table::drop().table(Alias::new(t)).to_owned())
                .await?;
        }
        Ok(())
    }
}
