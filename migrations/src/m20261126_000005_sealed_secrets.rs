//! Client secrets that opt in to `client_secret_jwt` keep an AEAD-sealed copy
//! (an argon2 hash cannot check an HMAC); everything else stays hash-only.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Alias::new("client_secrets"))
                .add_column(ColumnDef::new(Alias::new("sealed_secret")).text().null())
                .to_owned(),
        )
        .await
    }
}
