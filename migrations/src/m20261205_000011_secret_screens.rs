//! A 32-bit screen beside each client secret's argon2 hash (issue 14): a
//! wrong secret is refused after one HMAC instead of an argon2 run. Secrets
//! made before this have none (NULL) and are checked by argon2 alone.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Alias::new("client_secrets"))
                .add_column(ColumnDef::new(Alias::new("screen")).string().null())
                .to_owned(),
        )
        .await
    }
}
