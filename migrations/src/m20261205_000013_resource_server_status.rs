//! Resource servers get the enabled flag every other admin object has
//! (issue 13): disabled, its audience is refused at the token endpoint;
//! deleted only once disabled. Existing rows stay enabled.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Alias::new("resource_servers"))
                .add_column(
                    ColumnDef::new(Alias::new("enabled"))
                        .boolean()
                        .not_null()
                        .default(true),
                )
                .to_owned(),
        )
        .await
    }
}
