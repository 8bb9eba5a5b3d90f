//! Multi-row inserts whose SQL text is the same whatever the row count.
//!
//! sqlx prepares and caches each distinct SQL text on each pooled
//! connection (up to 100 per connection). A `VALUES (…), (…), …` insert has
//! a different text for every batch size, so the group-committing writers
//! (audit records, assertion ids) filled every connection's cache with
//! near-copies — a 512-row audit insert is ~4,600 parameters — and the
//! database parsed and planned each new shape again. On PostgreSQL's 16
//! connections that was the resident-memory climb seen under load. Here the
//! rows travel as one JSON array parameter, which the database unpacks
//! itself: one cached statement per writer, on both backends.

use sea_orm::{ConnectionTrait, DbBackend, DbErr, QueryResult, Statement, Value};
use std::sync::OnceLock;

/// A table's batch insert: the column list and, per column, whether it is an
/// integer (PostgreSQL needs the cast; SQLite keeps JSON's type).
pub(crate) struct BatchInsert {
    table: &'static str,
    columns: &'static [(&'static str, ColumnKind)],
    /// `ON CONFLICT (<col>) DO NOTHING RETURNING <col>`: answers which rows
    /// were new.
    new_rows_by: Option<&'static str>,
    /// The statement text per backend, built on first use (a process may
    /// serve both in tests).
    sqlite_sql: OnceLock<String>,
    postgres_sql: OnceLock<String>,
}

#[derive(Clone, Copy)]
pub(crate) enum ColumnKind {
    Text,
    Integer,
}

impl BatchInsert {
    pub const fn new(
        table: &'static str,
        columns: &'static [(&'static str, ColumnKind)],
        new_rows_by: Option<&'static str>,
    ) -> Self {
        Self {
            table,
            columns,
            new_rows_by,
            sqlite_sql: OnceLock::new(),
            postgres_sql: OnceLock::new(),
        }
    }

    /// The statement for `backend`, built once.
    fn cached_sql(&self, backend: DbBackend) -> Result<&str, DbErr> {
        let cell = match backend {
            DbBackend::Sqlite => &self.sqlite_sql,
            DbBackend::Postgres => &self.postgres_sql,
            other => return Err(unsupported(other)),
        };
        if let Some(sql) = cell.get() {
            return Ok(sql);
        }
        let sql = self.sql(backend)?;
        Ok(cell.get_or_init(|| sql))
    }

    /// The statement for `backend`: the same text for any number of rows.
    pub fn sql(&self, backend: DbBackend) -> Result<String, DbErr> {
        let names: Vec<String> = self
            .columns
            .iter()
            .map(|(c, _)| format!("\"{c}\""))
            .collect();
        let (select, from) = match backend {
            DbBackend::Sqlite => (
                self.columns
                    .iter()
                    .enumerate()
                    .map(|(i, _)| format!("json_extract(value, '$[{i}]')"))
                    .collect::<Vec<_>>(),
                // `WHERE true` lets SQLite's parser tell the upsert clause
                // from a join constraint after a SELECT.
                "json_each(?) WHERE true",
            ),
            DbBackend::Postgres => (
                self.columns
                    .iter()
                    .enumerate()
                    .map(|(i, (_, kind))| match kind {
                        ColumnKind::Text => format!("r->>{i}"),
                        ColumnKind::Integer => format!("(r->>{i})::bigint"),
                    })
                    .collect(),
                "json_array_elements($1::json) AS t(r)",
            ),
            other => {
                return Err(DbErr::Custom(format!(
                    "batch insert is not written for {other:?}"
                )));
            }
        };
        let mut sql = format!(
            "INSERT INTO \"{}\" ({}) SELECT {} FROM {from}",
            self.table,
            names.join(", "),
            select.join(", ")
        );
        if let Some(key) = self.new_rows_by {
            sql.push_str(&format!(
                " ON CONFLICT (\"{key}\") DO NOTHING RETURNING \"{key}\""
            ));
        }
        Ok(sql)
    }

    /// Inserts `rows` (each a JSON array in column order) in one statement.
    /// Returns the rows the statement returned (the new ones' keys when
    /// `new_rows_by` is set; none otherwise).
    pub async fn run<C: ConnectionTrait>(
        &self,
        db: &C,
        rows: &[serde_json::Value],
    ) -> Result<Vec<QueryResult>, DbErr> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let backend = db.get_database_backend();
        let payload = serde_json::to_string(rows).map_err(|e| DbErr::Custom(e.to_string()))?;
        let stmt = Statement::from_sql_and_values(
            backend,
            self.cached_sql(backend)?,
            [Value::from(payload)],
        );
        db.query_all_raw(stmt).await
    }
}

fn unsupported(backend: DbBackend) -> DbErr {
    DbErr::Custom(format!("batch insert is not written for {backend:?}"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    static T: BatchInsert = BatchInsert::new(
        "used",
        &[("key", ColumnKind::Text), ("exp", ColumnKind::Integer)],
        Some("key"),
    );

    #[test]
    fn one_text_per_backend() {
        let pg = T.sql(DbBackend::Postgres).unwrap();
        assert_eq!(
            pg,
            "INSERT INTO \"used\" (\"key\", \"exp\") SELECT r->>0, (r->>1)::bigint FROM \
             json_array_elements($1::json) AS t(r) ON CONFLICT (\"key\") DO NOTHING RETURNING \"key\""
        );
        let lite = T.sql(DbBackend::Sqlite).unwrap();
        assert!(
            lite.contains("json_each(?) WHERE true ON CONFLICT"),
            "{lite}"
        );
        assert!(T.sql(DbBackend::MySql).is_err());
        assert_eq!(T.cached_sql(DbBackend::Postgres).unwrap(), pg);
        assert_eq!(T.cached_sql(DbBackend::Sqlite).unwrap(), lite);
    }
}
