//! Console sessions in the database, so a session started on one replica
//! works on every other (the web layer adapts these to its session store).
//! A record is opaque here: the web layer serialises it. Rows are keyed by
//! the SHA-256 of the session id the cookie carries, so a copy of the
//! database (a backup, a replica's disk) holds no session a reader could
//! present.

use super::Writ;
use crate::entities::console_session;
use crate::error::Result;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};
use std::sync::atomic::{AtomicI64, Ordering};

/// Expired rows are deleted at most this often (by whichever save comes).
const PRUNE_EVERY_SECS: i64 = 600;
/// A record larger than this is refused (the console stores a few ids).
pub const MAX_RECORD_BYTES: usize = 16 * 1024;

#[derive(Default)]
pub(crate) struct SessionPrune(AtomicI64);

fn row_key(session_id: &str) -> String {
    use sha2::{Digest, Sha256};
    writ_core::hex::encode(&Sha256::digest(session_id.as_bytes()))
}

impl Writ {
    /// The record of session `id` and its expiry, if it has not expired.
    pub async fn console_session(&self, id: &str) -> Result<Option<(String, i64)>> {
        let now = self.now();
        Ok(console_session::Entity::find_by_id(row_key(id))
            .filter(console_session::Column::ExpiresAt.gt(now))
            .one(&self.db)
            .await?
            .map(|r| (r.data, r.expires_at)))
    }

    /// Inserts a new session; `false` if the id is taken (the caller makes
    /// another id).
    pub async fn create_console_session(
        &self,
        id: &str,
        data: &str,
        expires_at: i64,
    ) -> Result<bool> {
        self.check_session_record(data)?;
        let row = console_session::ActiveModel {
            id: Set(row_key(id)),
            data: Set(data.to_owned()),
            expires_at: Set(expires_at),
        };
        let inserted = console_session::Entity::insert(row)
            .on_conflict(
                OnConflict::column(console_session::Column::Id)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await?;
        Ok(inserted == 1)
    }

    /// Writes a session (made or changed).
    pub async fn save_console_session(&self, id: &str, data: &str, expires_at: i64) -> Result<()> {
        self.check_session_record(data)?;
        self.prune_console_sessions().await;
        console_session::Entity::insert(console_session::ActiveModel {
            id: Set(row_key(id)),
            data: Set(data.to_owned()),
            expires_at: Set(expires_at),
        })
        .on_conflict(
            OnConflict::column(console_session::Column::Id)
                .update_columns([
                    console_session::Column::Data,
                    console_session::Column::ExpiresAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await?;
        Ok(())
    }

    pub async fn delete_console_session(&self, id: &str) -> Result<()> {
        console_session::Entity::delete_by_id(row_key(id))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    fn check_session_record(&self, data: &str) -> Result<()> {
        if data.len() > MAX_RECORD_BYTES {
            return Err(crate::ServiceError::Invalid(
                "the console session record is too large".into(),
            ));
        }
        Ok(())
    }

    async fn prune_console_sessions(&self) {
        let now = self.now();
        let last = self.session_prune.0.load(Ordering::Relaxed);
        if now - last < PRUNE_EVERY_SECS
            || self
                .session_prune
                .0
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        if let Err(e) = console_session::Entity::delete_many()
            .filter(console_session::Column::ExpiresAt.lte(now))
            .exec(&self.db)
            .await
        {
            tracing::warn!(error = %e, "pruning expired console sessions");
        }
    }
}
