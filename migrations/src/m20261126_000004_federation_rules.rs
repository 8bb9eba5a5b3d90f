//! Expressions on federation: a provider's trust condition and a federated
//! credential's attribute mapping (both CEL source text, checked on save).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Alias::new("federated_providers"))
                .add_column(ColumnDef::new(Alias::new("trust_condition")).text().null())
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Alias::new("federated_credentials"))
                .add_column(
                    ColumnDef::new(Alias::new("attribute_mapping"))
                        .text()
                        .null(),
                )
                .to_owned(),
        )
        .await
    }
}
