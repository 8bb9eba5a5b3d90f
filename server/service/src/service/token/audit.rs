//! The token audit log. Requests hand records to a channel; one task writes
//! them in batches (and moves secrets' `last used`), off the hot path. The
//! channel is bounded and senders wait when it is full: records are slowed
//! down under overload, never dropped.

use super::batch_insert::{BatchInsert, ColumnKind};
use crate::entities::{audit_event, client_public_key, client_secret, federated_credential};
use crate::error::Result;
use crate::service::Writ;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use writ_core::audit::{CredentialRef, Outcome, TokenAudit};
use writ_types::AuditView;

// Records are the common message; boxing them would add an allocation per
// token to save space on the rare flush.
#[allow(clippy::large_enum_variant)]
enum Msg {
    Record(TokenAudit),
    Flush(oneshot::Sender<()>),
}

pub struct AuditSink(mpsc::Sender<Msg>);

const BATCH: usize = 512;
/// How long the first record of a batch waits for others.
const LINGER: Duration = Duration::from_millis(10);

impl AuditSink {
    pub fn start(db: DatabaseConnection) -> Self {
        let (tx, rx) = mpsc::channel(16_384);
        tokio::spawn(writer(db, rx));
        Self(tx)
    }

    pub async fn record(&self, rec: TokenAudit) {
        if self.0.send(Msg::Record(rec)).await.is_err() {
            tracing::error!("audit writer has stopped; record not written");
        }
    }

    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.0.send(Msg::Flush(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
}

/// The fields are as presented by the caller: a NUL would make PostgreSQL
/// refuse the whole batch (which the writer would then retry for ever).
fn cap(s: &str, n: usize) -> String {
    writ_core::names::printable_prefix(s, n)
}

/// The audit table's batch insert (one SQL text for any batch size).
static AUDIT_EVENTS: BatchInsert = BatchInsert::new(
    "audit_events",
    &[
        ("at", ColumnKind::Integer),
        ("client_id", ColumnKind::Text),
        ("method", ColumnKind::Text),
        ("audience", ColumnKind::Text),
        ("scope", ColumnKind::Text),
        ("jti", ColumnKind::Text),
        ("outcome", ColumnKind::Text),
        ("reason", ColumnKind::Text),
        ("source", ColumnKind::Text),
    ],
    None,
);

async fn writer(db: DatabaseConnection, mut rx: mpsc::Receiver<Msg>) {
    let mut batch: Vec<TokenAudit> = Vec::with_capacity(BATCH);
    let mut waiters: Vec<oneshot::Sender<()>> = Vec::new();
    while let Some(first) = rx.recv().await {
        // Let records gather before writing. Tokio runs a task woken by
        // the running one next (its LIFO slot), so without this the writer
        // ran after every single record and wrote batches of one: a
        // transaction per token, a quarter of a pinned core spent in
        // SQLite's thread hand-offs. Nothing waits on these writes but
        // `flush`, which is served after the pause; under overload (a
        // batch already queued) there is no pause.
        if matches!(first, Msg::Record(_)) && rx.len() + 1 < BATCH {
            tokio::time::sleep(LINGER).await;
        }
        let mut next = Some(first);
        // Gather whatever is already queued, up to one batch.
        while let Some(msg) = next.take() {
            match msg {
                Msg::Record(r) => batch.push(r),
                Msg::Flush(w) => waiters.push(w),
            }
            if batch.len() >= BATCH {
                break;
            }
            next = rx.try_recv().ok();
        }
        let mut attempt = 0u32;
        while !batch.is_empty() {
            match write_batch(&db, &batch).await {
                Ok(()) => batch.clear(),
                Err(e) => {
                    // Keep the records and retry: the log must not lose them.
                    attempt += 1;
                    tracing::error!(error = %e, attempt, "audit batch write failed; retrying");
                    tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt.min(50))))
                        .await;
                }
            }
        }
        for w in waiters.drain(..) {
            let _ = w.send(());
        }
    }
}

/// One transaction per batch: the records and the `last used` updates
/// commit together, once.
async fn write_batch(db: &DatabaseConnection, batch: &[TokenAudit]) -> Result<(), sea_orm::DbErr> {
    let txn = db.begin().await?;
    write_rows(&txn, batch).await?;
    txn.commit().await
}

async fn write_rows(
    db: &sea_orm::DatabaseTransaction,
    batch: &[TokenAudit],
) -> Result<(), sea_orm::DbErr> {
    let rows: Vec<serde_json::Value> = batch
        .iter()
        .map(|r| {
            serde_json::json!([
                r.at,
                cap(&r.client_id, 128),
                cap(&r.method, 64),
                cap(&r.audience, 256),
                cap(&r.scope, 2048),
                cap(&r.jti, 64),
                r.outcome.as_str(),
                cap(&r.reason, 64),
                cap(&r.source, 64),
            ])
        })
        .collect();
    AUDIT_EVENTS.run(db, &rows).await?;
    // Latest use per credential in this batch; one UPDATE each, on its own table.
    let mut used: Vec<(&CredentialRef, i64)> = Vec::new();
    for r in batch.iter().filter(|r| r.outcome == Outcome::Issued) {
        if let Some(c) = r.credential.as_ref() {
            match used.iter_mut().find(|(u, _)| *u == c) {
                Some(e) => e.1 = e.1.max(r.at),
                None => used.push((c, r.at)),
            }
        }
    }
    for (credential, at) in used {
        match credential {
            CredentialRef::ClientSecret(id) => {
                client_secret::Entity::update_many()
                    .col_expr(client_secret::Column::LastUsedAt, Expr::value(at))
                    .filter(client_secret::Column::Id.eq(id.as_str()))
                    .exec(db)
                    .await?;
            }
            CredentialRef::PublicKey(id) => {
                client_public_key::Entity::update_many()
                    .col_expr(client_public_key::Column::LastUsedAt, Expr::value(at))
                    .filter(client_public_key::Column::Id.eq(id.as_str()))
                    .exec(db)
                    .await?;
            }
            CredentialRef::Federated(id) => {
                federated_credential::Entity::update_many()
                    .col_expr(federated_credential::Column::LastUsedAt, Expr::value(at))
                    .filter(federated_credential::Column::Id.eq(id.as_str()))
                    .exec(db)
                    .await?;
            }
        }
    }
    Ok(())
}

impl Writ {
    /// How many audit records exist (for tests and health checks).
    pub async fn count_audit_records(&self) -> u64 {
        use sea_orm::PaginatorTrait;
        audit_event::Entity::find()
            .count(&self.db)
            .await
            .unwrap_or(0)
    }

    /// The client's most recent token requests, newest first. Records
    /// handed to the writer before this call are included: it waits for the
    /// pending batch, so a listing never misses a request that just ended.
    pub async fn recent_audit(&self, client_pk: &str, limit: u64) -> Result<Vec<AuditView>> {
        let c = self.client_model(client_pk).await?;
        self.audit.flush().await;
        Ok(audit_event::Entity::find()
            .filter(audit_event::Column::ClientId.eq(c.client_id))
            .order_by_desc(audit_event::Column::Id)
            .limit(limit.min(500))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|e| AuditView {
                at: e.at,
                client_id: e.client_id,
                method: e.method,
                audience: e.audience,
                scope: e.scope,
                jti: e.jti,
                outcome: e.outcome,
                reason: e.reason,
                source: e.source,
            })
            .collect())
    }
}
