//! The console's sessions in Writ's database (`writ_service` keeps the
//! rows, keyed by a digest of the id), so a session started on one replica
//! works on every other.

use std::sync::Arc;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, Result, SessionStore};
use writ_service::Writ;

#[derive(Clone)]
pub struct DatabaseSessions(pub Arc<Writ>);

impl std::fmt::Debug for DatabaseSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DatabaseSessions")
    }
}

fn row_key(id: &Id) -> String {
    id.to_string()
}

fn backend(e: writ_service::ServiceError) -> Error {
    Error::Backend(e.to_string())
}

#[async_trait::async_trait]
impl SessionStore for DatabaseSessions {
    /// A new id until one is free (a collision of 128 random bits is
    /// astronomically unlikely; the loop makes it harmless anyway).
    async fn create(&self, record: &mut Record) -> Result<()> {
        let data = serde_json::to_string(&record.data).map_err(|e| Error::Encode(e.to_string()))?;
        let expires_at = record.expiry_date.unix_timestamp();
        loop {
            if self
                .0
                .create_console_session(&row_key(&record.id), &data, expires_at)
                .await
                .map_err(backend)?
            {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> Result<()> {
        let data = serde_json::to_string(&record.data).map_err(|e| Error::Encode(e.to_string()))?;
        self.0
            .save_console_session(
                &row_key(&record.id),
                &data,
                record.expiry_date.unix_timestamp(),
            )
            .await
            .map_err(backend)
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let Some((data, expires_at)) = self
            .0
            .console_session(&row_key(id))
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        let data = serde_json::from_str(&data).map_err(|e| Error::Decode(e.to_string()))?;
        let expiry_date =
            tower_sessions::cookie::time::OffsetDateTime::from_unix_timestamp(expires_at)
                .map_err(|e| Error::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        self.0
            .delete_console_session(&row_key(id))
            .await
            .map_err(backend)
    }
}
