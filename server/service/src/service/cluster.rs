//! Replicas on one PostgreSQL database tell each other what changed.
//!
//! Each replica caches what the token endpoint reads (clients, grants,
//! audiences: `token::hot_cache`), fetched OIDC keys (`token::remote_keys`)
//! and the signing keys (`signing_keys`). An admin write on one replica
//! clears its own caches at once and announces the change with PostgreSQL's
//! `NOTIFY`; every replica `LISTEN`s and clears the same caches, typically
//! within milliseconds. A notification can be lost (the listening connection
//! dropped): then the replica clears everything when it reconnects, and the
//! caches' own short lifetimes (`hot_cache::TTL_SECS`, the keys' refresh)
//! bound how stale anything can be. On SQLite there is one process, and
//! nothing to tell.

use super::Writ;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use std::sync::Weak;
use std::time::Duration;
use tokio::sync::mpsc;

/// The PostgreSQL channel every replica listens on.
pub const CHANNEL: &str = "writ_changes";
/// Announcements waiting to be sent (beyond this, a change is folded into
/// "clear everything", which is always correct).
const QUEUE: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    /// Admin data the token endpoint caches (clients, secrets, keys,
    /// grants, resource servers, federated credentials).
    Caches,
    /// A signing key was made, or one retired.
    SigningKeys,
    /// A federated or user identity provider's settings: drop its fetched keys.
    RemoteKeys(String),
    /// Anything may have changed (a lost notification).
    Everything,
}

impl Change {
    fn payload(&self) -> String {
        match self {
            Change::Caches => "caches".into(),
            Change::SigningKeys => "signing_keys".into(),
            Change::RemoteKeys(id) => format!("remote_keys:{id}"),
            Change::Everything => "everything".into(),
        }
    }

    /// Unknown payloads (a newer replica's) mean "clear everything".
    fn parse(payload: &str) -> Change {
        match payload {
            "caches" => Change::Caches,
            "signing_keys" => Change::SigningKeys,
            p => match p.strip_prefix("remote_keys:") {
                Some(id) if !id.is_empty() && id.len() <= 128 => Change::RemoteKeys(id.into()),
                _ => Change::Everything,
            },
        }
    }
}

/// Sends announcements, in order, from one task (a write never waits for
/// the notification to go out).
pub(crate) struct Announcer(Option<(mpsc::Sender<Change>, DatabaseConnection)>);

async fn notify(db: &DatabaseConnection, c: &Change) -> Result<(), sea_orm::DbErr> {
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_notify($1, $2)",
        [CHANNEL.into(), c.payload().into()],
    ))
    .await
    .map(|_| ())
}

impl Announcer {
    /// SQLite: nothing to announce.
    pub fn none() -> Self {
        Self(None)
    }

    pub fn postgres(db: DatabaseConnection) -> Self {
        let (tx, mut rx) = mpsc::channel::<Change>(QUEUE);
        let conn = db.clone();
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                // Whatever queued meanwhile goes too; duplicates are folded.
                let mut batch = vec![first];
                while let Ok(c) = rx.try_recv() {
                    if !batch.contains(&c) {
                        batch.push(c);
                    }
                }
                for c in batch {
                    if let Err(e) = notify(&db, &c).await {
                        tracing::warn!(error = %e, change = ?c, "could not notify the other replicas");
                    }
                }
            }
        });
        Self(Some((tx, conn)))
    }

    pub fn send(&self, change: Change) {
        if let Some((tx, _)) = &self.0
            && tx.try_send(change).is_err()
        {
            let _ = tx.try_send(Change::Everything);
        }
    }

    /// Sends now and waits for it (a short-lived process, such as the
    /// `writ signing-keys` command, exits right after).
    pub async fn send_now(&self, change: Change) {
        if let Some((_, db)) = &self.0
            && let Err(e) = notify(db, &change).await
        {
            tracing::warn!(error = %e, change = ?change, "could not notify the other replicas");
        }
    }
}

impl Writ {
    /// Tells the other replicas (and only them: this one has applied the
    /// change already).
    pub(crate) fn announce(&self, change: Change) {
        self.announcer.send(change);
    }

    /// What a replica does on hearing of a change: clear, never announce.
    async fn apply_change(&self, change: Change) {
        match change {
            Change::Caches => self.hot.clear(),
            Change::RemoteKeys(id) => self.forget_remote_keys_here(&id),
            Change::SigningKeys => {
                if let Err(e) = self.reload_signing_keys().await {
                    tracing::warn!(error = %e, "rereading the signing keys");
                }
            }
            Change::Everything => {
                self.hot.clear();
                self.forget_all_remote_keys();
                if let Err(e) = self.reload_signing_keys().await {
                    tracing::warn!(error = %e, "rereading the signing keys");
                }
            }
        }
    }
}

/// Listens for other replicas' changes while the service lives: applies
/// each; on a lost connection, clears everything and listens again.
/// `stop` ends it (the service dropped its sender).
pub(crate) fn spawn_listener(
    db: &DatabaseConnection,
    writ: Weak<Writ>,
    mut stop: tokio::sync::watch::Receiver<()>,
) {
    use sea_orm::sqlx::postgres::PgListener;
    // (sea-orm's accessor panics on another backend: ask first.)
    if db.get_database_backend() != DbBackend::Postgres {
        return;
    }
    let pool = db.get_postgres_connection_pool().clone();
    tokio::spawn(async move {
        loop {
            let listener = tokio::select! {
                l = async {
                    let mut l = PgListener::connect_with(&pool).await?;
                    l.listen(CHANNEL).await?;
                    Ok::<_, sea_orm::sqlx::Error>(l)
                } => l,
                _ = stop.changed() => return,
            };
            let mut listener = match listener {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for other replicas' changes");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                        _ = stop.changed() => return,
                    }
                }
            };
            // Whatever happened while not listening is unknown.
            match writ.upgrade() {
                Some(w) => w.apply_change(Change::Everything).await,
                None => return,
            }
            loop {
                let heard = tokio::select! {
                    h = listener.try_recv() => h,
                    _ = stop.changed() => return,
                };
                let Some(w) = writ.upgrade() else { return };
                match heard {
                    Ok(Some(n)) => w.apply_change(Change::parse(n.payload())).await,
                    // The connection dropped; the next call reconnects.
                    Ok(None) => w.apply_change(Change::Everything).await,
                    Err(e) => {
                        tracing::warn!(error = %e, "listening for other replicas' changes");
                        break;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip_and_unknown_ones_clear_everything() {
        for c in [
            Change::Caches,
            Change::SigningKeys,
            Change::RemoteKeys("p-1".into()),
            Change::Everything,
        ] {
            assert_eq!(Change::parse(&c.payload()), c);
        }
        assert_eq!(Change::parse("something_new"), Change::Everything);
        assert_eq!(Change::parse("remote_keys:"), Change::Everything);
    }
}
