//! The token audit log: what it promises, and how it holds under a flood.
//!
//! **No audit, no answer.** An issued token is answered only after its
//! record is committed: [`AuditSink::issued`] hands the record to the writer
//! and waits for the transaction that holds it. The writer group-commits as
//! the replay guard does (`replay.rs`): the records that arrive together are
//! gathered for a few scheduler rounds (no timed linger) and written in one
//! transaction, so a lone token pays one commit and a burst shares them. If
//! the write fails, the waiting tokens are refused (`server_error`) and
//! discarded unanswered; if no commit comes within [`COMMIT_WAIT`], the
//! token is refused `temporarily_unavailable` (the writer or the database
//! is behind: a retry soon is the right reaction, and 503 tells clients and
//! load balancers to back off rather than report a bug). Either way no token
//! leaves without its record. The converse does not hold: a record may name
//! a token whose caller gave up at the last moment (timed out between the
//! commit and the answer); a record whose caller was already gone when its
//! batch was written is stored as refused, `not_answered`.
//!
//! What a commit survives. PostgreSQL: what the server's settings promise
//! (by default an fsynced WAL, so a power loss too). SQLite: Writ runs WAL
//! with `synchronous=NORMAL` (`Writ::connect_options`): a commit has reached
//! the WAL file, in the operating system's page cache, when it returns, and
//! is synced to disk at the next checkpoint. So a committed record survives
//! the Writ process dying in any way (SIGKILL, a crash, the OOM killer), but
//! an operating-system crash or power loss can lose the commits since the
//! last checkpoint: the file stays consistent, the newest records (and any
//! other writes of that window) are gone. `tests/durability.rs` in the
//! server crate kills Writ with SIGKILL mid-burst and checks every answered
//! token.
//!
//! **Refusals never wait.** A refused request hands its record over with
//! `try_send` and answers at once. The writer folds repeated refusals from
//! one source, client, method and reason into one row (`count`, first seen
//! in `at`, last seen in `last_at`) until the row is written: with the next
//! commit, or after [`REFUSAL_WINDOW`] (a flood of refusals alone is one
//! write a second). The fold holds at most [`MAX_KEYS`] rows; beyond that,
//! and when the channel itself is full, refusals are only counted, in one
//! row per reason with source `*`. Rows are written in the order of their
//! first request, so an issued token's row comes after the refusals seen
//! before it.
//!
//! **Retention.** `WRIT_AUDIT_RETENTION_DAYS` (0: keep for ever): a task
//! deletes rows whose `at` is older, hourly, [`PRUNE_CHUNK`] rows a
//! statement.

use super::batch_insert::{BatchInsert, ColumnKind};
use crate::entities::{audit_event, client_public_key, client_secret, federated_credential};
use crate::error::Result;
use crate::service::Writ;
use sea_orm::sea_query::{Expr, Order, Query};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use writ_core::audit::{CredentialRef, Outcome, TokenAudit};
use writ_core::{Clock, OAuthError, OAuthErrorCode};
use writ_types::AuditView;

/// The longest an issued token waits for its record's commit (including a
/// wait for room in the channel); then it is refused.
pub const COMMIT_WAIT: Duration = Duration::from_secs(2);
/// The longest a refusal waits in the fold before it is written.
pub const REFUSAL_WINDOW: Duration = Duration::from_secs(1);
/// Distinct (source, client, method, reason) rows the fold holds.
pub const MAX_KEYS: usize = 10_000;
/// Rows a retention statement deletes.
pub const PRUNE_CHUNK: u64 = 10_000;
/// The `source` of the rows that only count refusals (fold or channel full).
pub const OVERFLOW_SOURCE: &str = "*";

/// Records in the channel (each capped to the columns' sizes: a few KB).
const CHANNEL: usize = 16_384;
/// Tokens per transaction.
const BATCH: usize = 512;
/// At most this many rounds of other tasks before a batch goes anyway.
const MAX_GATHER_ROUNDS: usize = 16;
/// At most this many messages taken while gathering (refusals included).
const MAX_DRAIN: usize = 8 * BATCH;
/// Reasons with an overflow row; any further one counts as `other`.
const MAX_REASONS: usize = 64;
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
/// Between two retention statements the writer gets the connection.
const PRUNE_PAUSE: Duration = Duration::from_millis(100);

type Reply = oneshot::Sender<std::result::Result<(), AuditFailure>>;

// Records are the common message; boxing them would add an allocation per
// token to save space on the rare flush.
#[allow(clippy::large_enum_variant)]
enum Msg {
    Refused(TokenAudit),
    Issued(TokenAudit, Reply),
    Flush(oneshot::Sender<()>),
}

/// Why an issued token's record is not known to be committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditFailure {
    /// No commit within [`COMMIT_WAIT`].
    Timeout,
    /// The write failed, or the writer has stopped.
    Failed,
}

impl AuditFailure {
    /// What the token endpoint answers instead of the token.
    pub fn oauth_error(self) -> OAuthError {
        match self {
            Self::Timeout => OAuthError::new(
                OAuthErrorCode::TemporarilyUnavailable,
                "audit_timeout",
                "the server is busy; retry shortly",
            ),
            Self::Failed => OAuthError::new(
                OAuthErrorCode::ServerError,
                "audit_failed",
                "the server could not complete the request",
            ),
        }
    }
}

/// Refusals counted (not queued) while the channel was full, per reason.
#[derive(Default)]
struct Spill(Mutex<HashMap<String, Tally>>);

#[derive(Clone, Copy)]
struct Tally {
    count: i64,
    first: i64,
    last: i64,
}

impl Spill {
    fn add(&self, reason: &str, at: i64) {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let reason = if m.len() >= MAX_REASONS && !m.contains_key(reason) {
            "other"
        } else {
            reason
        };
        let t = m.entry(reason.to_owned()).or_insert(Tally {
            count: 0,
            first: at,
            last: at,
        });
        t.count += 1;
        t.first = t.first.min(at);
        t.last = t.last.max(at);
    }

    fn take(&self) -> HashMap<String, Tally> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

pub struct AuditSink {
    tx: mpsc::Sender<Msg>,
    spill: Arc<Spill>,
    db: DatabaseConnection,
    clock: Arc<dyn Clock>,
    retention_days: i64,
    /// Dropped with the sink: the retention task then ends.
    _retention: Option<oneshot::Sender<()>>,
}

impl AuditSink {
    /// Starts the writer, and the retention task unless `retention_days` is 0.
    pub fn start(db: DatabaseConnection, clock: Arc<dyn Clock>, retention_days: i64) -> Self {
        let (tx, rx) = mpsc::channel(CHANNEL);
        let spill = Arc::new(Spill::default());
        tokio::spawn(writer(db.clone(), rx, spill.clone()));
        let retention = (retention_days > 0).then(|| {
            let (stop, stopped) = oneshot::channel();
            tokio::spawn(retention(
                db.clone(),
                clock.clone(),
                retention_days,
                stopped,
            ));
            stop
        });
        Self {
            tx,
            spill,
            db,
            clock,
            retention_days,
            _retention: retention,
        }
    }

    /// Hands over a refusal's record and returns at once: when the channel
    /// is full the refusal is only counted.
    pub fn refused(&self, rec: TokenAudit) {
        if let Err(e) = self.tx.try_send(Msg::Refused(capped(rec)))
            && let Msg::Refused(r) = e.into_inner()
        {
            self.spill.add(&r.reason, r.at);
        }
    }

    /// Hands over an issued token's record and waits for its commit, at
    /// most [`COMMIT_WAIT`]. `Ok` only once the record is committed.
    pub async fn issued(&self, rec: TokenAudit) -> std::result::Result<(), AuditFailure> {
        let deadline = Instant::now() + COMMIT_WAIT;
        let mut rec = capped(rec);
        let permit = match tokio::time::timeout_at(deadline, self.tx.reserve()).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) => {
                tracing::error!("audit writer has stopped; token refused");
                return Err(AuditFailure::Failed);
            }
            Err(_) => {
                // Never queued: what is left of it is a refusal.
                rec.outcome = Outcome::Refused;
                rec.reason = "audit_timeout".into();
                rec.credential = None;
                self.refused(rec);
                return Err(AuditFailure::Timeout);
            }
        };
        let (reply, committed) = oneshot::channel();
        permit.send(Msg::Issued(rec, reply));
        match tokio::time::timeout_at(deadline, committed).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => Err(AuditFailure::Failed),
            Err(_) => Err(AuditFailure::Timeout),
        }
    }

    /// Records waiting in the channel for the writer (reserved places
    /// included), and how many it holds.
    pub fn queue(&self) -> (usize, usize) {
        let max = self.tx.max_capacity();
        (max.saturating_sub(self.tx.capacity()), max)
    }

    /// Whether the writer still takes records (it stops only when its task
    /// ends, which makes every token refused).
    pub fn writer_running(&self) -> bool {
        !self.tx.is_closed()
    }

    /// The writers' connection (on SQLite a pool of its own).
    pub(crate) fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Waits until every record handed over so far (and every refusal only
    /// counted) is written.
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Msg::Flush(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }

    /// Deletes the rows past retention now; how many.
    pub async fn prune(&self) -> std::result::Result<u64, DbErr> {
        let Some(cutoff) = cutoff(self.clock.now(), self.retention_days) else {
            return Ok(0);
        };
        let mut total = 0;
        loop {
            let n = prune_chunk(&self.db, cutoff).await?;
            total += n;
            if n < PRUNE_CHUNK {
                return Ok(total);
            }
            tokio::time::sleep(PRUNE_PAUSE).await;
        }
    }
}

/// The fields are as presented by the caller: capped to the columns' sizes
/// before they queue (a record in memory stays a few KB), and a NUL would
/// make PostgreSQL refuse the whole batch.
fn capped(r: TokenAudit) -> TokenAudit {
    let cap = writ_core::names::printable_prefix;
    TokenAudit {
        at: r.at,
        client_id: cap(&r.client_id, 128),
        method: cap(&r.method, 64),
        audience: cap(&r.audience, 256),
        scope: cap(&r.scope, 2048),
        jti: cap(&r.jti, 64),
        outcome: r.outcome,
        reason: cap(&r.reason, 64),
        source: cap(&r.source, 64),
        credential: r.credential,
        delegation: r.delegation.map(|d| cap(&d, 2048)),
    }
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
        ("count", ColumnKind::Integer),
        ("last_at", ColumnKind::Integer),
        ("delegation", ColumnKind::Text),
    ],
    None,
);

/// One row to write: a record, or a fold of refusals.
struct Row {
    rec: TokenAudit,
    count: i64,
    last_at: i64,
    /// An issued token waiting for this row's commit.
    reply: Option<Reply>,
}

/// A refusal row stays open for more of the same until it is written.
#[derive(PartialEq, Eq, Hash)]
struct Key {
    source: String,
    client_id: String,
    method: String,
    reason: String,
}

/// What the writer holds until the next transaction.
#[derive(Default)]
struct Pending {
    /// In the order of their first request.
    rows: Vec<Row>,
    /// Open refusal rows.
    open: HashMap<Key, usize>,
    /// Overflow rows, by reason.
    overflow: HashMap<String, usize>,
    /// When the oldest unwritten refusal arrived.
    refusals_since: Option<Instant>,
    /// Rows with a token waiting.
    waiting: usize,
    flushes: Vec<oneshot::Sender<()>>,
}

impl Pending {
    fn absorb(&mut self, m: Msg) {
        match m {
            Msg::Refused(r) => {
                let at = r.at;
                self.refuse(r, 1, at, at);
            }
            Msg::Issued(r, reply) => {
                self.rows.push(Row {
                    last_at: r.at,
                    rec: r,
                    count: 1,
                    reply: Some(reply),
                });
                self.waiting += 1;
            }
            Msg::Flush(f) => self.flushes.push(f),
        }
    }

    /// Folds `count` refusals seen from `first` to `last` into their row.
    fn refuse(&mut self, rec: TokenAudit, count: i64, first: i64, last: i64) {
        self.refusals_since.get_or_insert_with(Instant::now);
        let key = Key {
            source: rec.source.clone(),
            client_id: rec.client_id.clone(),
            method: rec.method.clone(),
            reason: rec.reason.clone(),
        };
        if let Some(&i) = self.open.get(&key)
            && let Some(row) = self.rows.get_mut(i)
        {
            row.count += count;
            row.rec.at = row.rec.at.min(first);
            row.last_at = row.last_at.max(last);
            return;
        }
        if self.open.len() >= MAX_KEYS {
            self.count_over(&rec.reason, Tally { count, first, last });
            return;
        }
        self.open.insert(key, self.rows.len());
        self.rows.push(Row {
            rec: TokenAudit { at: first, ..rec },
            count,
            last_at: last,
            reply: None,
        });
    }

    /// Counts refusals into their reason's overflow row.
    fn count_over(&mut self, reason: &str, t: Tally) {
        self.refusals_since.get_or_insert_with(Instant::now);
        let reason = if self.overflow.len() >= MAX_REASONS && !self.overflow.contains_key(reason) {
            "other"
        } else {
            reason
        };
        if let Some(&i) = self.overflow.get(reason)
            && let Some(row) = self.rows.get_mut(i)
        {
            row.count += t.count;
            row.rec.at = row.rec.at.min(t.first);
            row.last_at = row.last_at.max(t.last);
            return;
        }
        self.overflow.insert(reason.to_owned(), self.rows.len());
        self.rows.push(Row {
            rec: TokenAudit {
                at: t.first,
                client_id: String::new(),
                method: String::new(),
                audience: String::new(),
                scope: String::new(),
                jti: String::new(),
                outcome: Outcome::Refused,
                reason: reason.to_owned(),
                source: OVERFLOW_SOURCE.into(),
                credential: None,
                delegation: None,
            },
            count: t.count,
            last_at: t.last,
            reply: None,
        });
    }

    /// When the pending refusals and flushes are due (`None`: nothing is).
    /// Tokens waiting are written at once, whatever this says.
    fn due(&self, backoff: &Backoff) -> Option<Instant> {
        let flush = (!self.flushes.is_empty()).then(Instant::now);
        let refusals = self.refusals_since.map(|s| s + REFUSAL_WINDOW);
        let due = match (flush, refusals) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match (due, backoff.retry_at) {
            (Some(d), Some(r)) => Some(d.max(r)),
            (d, _) => d,
        }
    }

    fn take(&mut self) -> (Vec<Row>, Vec<oneshot::Sender<()>>) {
        self.open.clear();
        self.overflow.clear();
        self.refusals_since = None;
        self.waiting = 0;
        (
            std::mem::take(&mut self.rows),
            std::mem::take(&mut self.flushes),
        )
    }
}

/// After a failed write, refusals and flushes wait a growing pause.
#[derive(Default)]
struct Backoff {
    attempt: u32,
    retry_at: Option<Instant>,
}

impl Backoff {
    fn failed(&mut self) -> u32 {
        self.attempt += 1;
        self.retry_at =
            Some(Instant::now() + Duration::from_millis(100 * u64::from(self.attempt.min(50))));
        self.attempt
    }
}

#[allow(clippy::large_enum_variant)]
enum Event {
    Msg(Msg),
    Closed,
    Due,
}

async fn writer(db: DatabaseConnection, mut rx: mpsc::Receiver<Msg>, spill: Arc<Spill>) {
    let mut p = Pending::default();
    let mut backoff = Backoff::default();
    loop {
        let event = match p.due(&backoff) {
            None => rx.recv().await.map_or(Event::Closed, Event::Msg),
            Some(at) if at <= Instant::now() => Event::Due,
            Some(at) => tokio::select! {
                m = rx.recv() => m.map_or(Event::Closed, Event::Msg),
                () = tokio::time::sleep_until(at) => Event::Due,
            },
        };
        match event {
            Event::Msg(m) => p.absorb(m),
            Event::Due => {}
            Event::Closed => {
                // The sink is gone: a last few tries for what is left.
                for _ in 0..3 {
                    write_now(&db, &mut p, &spill, &mut backoff).await;
                    if p.rows.is_empty() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                return;
            }
        }
        if p.waiting > 0 {
            gather(&mut rx, &mut p).await;
            write_now(&db, &mut p, &spill, &mut backoff).await;
        } else if p.due(&backoff).is_some_and(|d| d <= Instant::now()) {
            write_now(&db, &mut p, &spill, &mut backoff).await;
        }
    }
}

/// Lets the requests that are already running hand their records over
/// before a token's batch is written. Tokio runs the task a request wakes
/// next (its LIFO slot): without a pause each batch held one token. A yield
/// lets every other ready task run once; gathering stops when a round
/// brings nothing new (see `replay.rs`, which measured this against a
/// timed linger).
async fn gather(rx: &mut mpsc::Receiver<Msg>, p: &mut Pending) {
    let mut taken = 0;
    for _ in 0..MAX_GATHER_ROUNDS {
        while p.waiting < BATCH && taken < MAX_DRAIN {
            match rx.try_recv() {
                Ok(m) => {
                    p.absorb(m);
                    taken += 1;
                }
                Err(_) => break,
            }
        }
        if p.waiting >= BATCH || taken >= MAX_DRAIN {
            return;
        }
        tokio::task::yield_now().await;
        if rx.is_empty() {
            return;
        }
    }
}

/// Writes everything pending in one transaction, then answers the tokens
/// and flushes waiting on it. On failure the tokens are refused and the
/// refusals kept (with the failed tokens, as `audit_failed` refusals) for
/// the next try.
async fn write_now(db: &DatabaseConnection, p: &mut Pending, spill: &Spill, backoff: &mut Backoff) {
    for (reason, t) in spill.take() {
        p.count_over(&reason, t);
    }
    let (mut rows, flushes) = p.take();
    for row in &mut rows {
        if row.reply.as_ref().is_some_and(|r| r.is_closed()) {
            // Its request gave up (timed out, or the client went away):
            // this token is never answered.
            row.reply = None;
            row.rec.outcome = Outcome::Refused;
            row.rec.reason = "not_answered".into();
            row.rec.credential = None;
        }
    }
    let written = if rows.is_empty() {
        Ok(())
    } else {
        write_batch(db, &rows).await
    };
    match written {
        Ok(()) => {
            *backoff = Backoff::default();
            for row in rows {
                if let Some(reply) = row.reply {
                    let _ = reply.send(Ok(()));
                }
            }
            for f in flushes {
                let _ = f.send(());
            }
        }
        Err(e) => {
            let attempt = backoff.failed();
            tracing::error!(error = %e, attempt, rows = rows.len(),
                "audit write failed; its tokens are refused, its refusals kept for the next try");
            for mut row in rows {
                if let Some(reply) = row.reply.take() {
                    let _ = reply.send(Err(AuditFailure::Failed));
                    row.rec.outcome = Outcome::Refused;
                    row.rec.reason = "audit_failed".into();
                    row.rec.credential = None;
                }
                let (first, last, count) = (row.rec.at, row.last_at, row.count);
                p.refuse(row.rec, count, first, last);
            }
            p.flushes.extend(flushes);
        }
    }
}

/// One transaction per batch: the rows and the `last used` updates commit
/// together, once.
async fn write_batch(db: &DatabaseConnection, rows: &[Row]) -> std::result::Result<(), DbErr> {
    let txn = db.begin().await?;
    write_rows(&txn, rows).await?;
    txn.commit().await
}

async fn write_rows(
    db: &sea_orm::DatabaseTransaction,
    rows: &[Row],
) -> std::result::Result<(), DbErr> {
    // Fields were capped when the records were handed over (`capped`).
    let json: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            serde_json::json!([
                r.rec.at,
                r.rec.client_id,
                r.rec.method,
                r.rec.audience,
                r.rec.scope,
                r.rec.jti,
                r.rec.outcome.as_str(),
                r.rec.reason,
                r.rec.source,
                r.count,
                r.last_at,
                r.rec.delegation,
            ])
        })
        .collect();
    AUDIT_EVENTS.run(db, &json).await?;
    // Latest use per credential in this batch; one UPDATE each, on its own table.
    let mut used: Vec<(&CredentialRef, i64)> = Vec::new();
    for r in rows.iter().filter(|r| r.rec.outcome == Outcome::Issued) {
        if let Some(c) = r.rec.credential.as_ref() {
            match used.iter_mut().find(|(u, _)| *u == c) {
                Some(e) => e.1 = e.1.max(r.rec.at),
                None => used.push((c, r.rec.at)),
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

/// Rows whose `at` is before this are past retention (`None`: kept for ever).
fn cutoff(now: i64, days: i64) -> Option<i64> {
    (days > 0).then(|| now.saturating_sub(days.saturating_mul(86_400)))
}

/// Deletes up to [`PRUNE_CHUNK`] of the oldest rows before `cutoff` (by the
/// index on `at`); the same statement on SQLite and PostgreSQL.
async fn prune_chunk(db: &DatabaseConnection, cutoff: i64) -> std::result::Result<u64, DbErr> {
    let oldest = Query::select()
        .column(audit_event::Column::Id)
        .from(audit_event::Entity)
        .and_where(audit_event::Column::At.lt(cutoff))
        .order_by(audit_event::Column::At, Order::Asc)
        .limit(PRUNE_CHUNK)
        .to_owned();
    Ok(audit_event::Entity::delete_many()
        .filter(audit_event::Column::Id.in_subquery(oldest))
        .exec(db)
        .await?
        .rows_affected)
}

/// Hourly (first at start), until the sink is dropped.
async fn retention(
    db: DatabaseConnection,
    clock: Arc<dyn Clock>,
    days: i64,
    mut stop: oneshot::Receiver<()>,
) {
    let mut every = tokio::time::interval(PRUNE_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = &mut stop => return,
            _ = every.tick() => {}
        }
        let Some(cutoff) = cutoff(clock.now(), days) else {
            return;
        };
        let mut total = 0u64;
        loop {
            match prune_chunk(&db, cutoff).await {
                Ok(n) => {
                    total += n;
                    if n < PRUNE_CHUNK {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "audit retention: delete failed; next try in an hour");
                    break;
                }
            }
            tokio::select! {
                _ = &mut stop => return,
                () = tokio::time::sleep(PRUNE_PAUSE) => {}
            }
        }
        if total > 0 {
            tracing::info!(rows = total, days, "audit rows past retention deleted");
        }
    }
}

impl Writ {
    /// How many requests the audit log accounts for (a folded row counts
    /// its `count`); for tests and health checks.
    pub async fn count_audit_records(&self) -> u64 {
        audit_event::Entity::find()
            .select_only()
            .column_as(
                Expr::cust("CAST(COALESCE(SUM(\"count\"), 0) AS BIGINT)"),
                "n",
            )
            .into_tuple::<i64>()
            .one(&self.db)
            .await
            .ok()
            .flatten()
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0)
    }

    /// The client's most recent token requests, newest first. Records
    /// handed to the writer before this call are included: it waits for the
    /// pending batch (at most [`COMMIT_WAIT`]), so a listing does not miss a
    /// request that just ended.
    pub async fn recent_audit(&self, client_pk: &str, limit: u64) -> Result<Vec<AuditView>> {
        let c = self.client_model(client_pk).await?;
        let _ = tokio::time::timeout(COMMIT_WAIT, self.audit.flush()).await;
        Ok(audit_event::Entity::find()
            .filter(audit_event::Column::ClientId.eq(c.client_id))
            .order_by_desc(audit_event::Column::Id)
            .limit(limit.min(500))
            .all(&self.db)
            .await?
            .into_iter()
            .map(crate::service::admin::audit_search::audit_view)
            .collect())
    }

    /// Deletes the audit rows past `WRIT_AUDIT_RETENTION_DAYS` now (the
    /// background task does this hourly); how many went.
    pub async fn prune_audit(&self) -> Result<u64> {
        Ok(self.audit.prune().await?)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn refusal(source: &str, reason: &str, at: i64) -> TokenAudit {
        TokenAudit {
            at,
            client_id: "c".into(),
            method: "client_secret_post".into(),
            audience: String::new(),
            scope: String::new(),
            jti: String::new(),
            outcome: Outcome::Refused,
            reason: reason.into(),
            source: source.into(),
            credential: None,
            delegation: None,
        }
    }

    #[test]
    fn refusals_fold_by_source_and_reason_in_first_seen_order() {
        let mut p = Pending::default();
        for i in 0..100 {
            p.absorb(Msg::Refused(refusal(
                "10.0.0.1",
                "secret_mismatch",
                1000 + i,
            )));
            p.absorb(Msg::Refused(refusal(
                "10.0.0.2",
                "secret_mismatch",
                1000 + i,
            )));
        }
        let (rows, _) = p.take();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].rec.source, "10.0.0.1");
        assert_eq!(
            (rows[0].count, rows[0].rec.at, rows[0].last_at),
            (100, 1000, 1099)
        );
        // Written: the next refusal opens a new row.
        p.absorb(Msg::Refused(refusal("10.0.0.1", "secret_mismatch", 2000)));
        assert_eq!(p.rows.len(), 1);
    }

    #[test]
    fn the_fold_is_bounded_and_counts_the_rest_per_reason() {
        let mut p = Pending::default();
        for i in 0..MAX_KEYS + 500 {
            p.absorb(Msg::Refused(refusal(
                &format!("src-{i}"),
                "client_unknown",
                7,
            )));
        }
        assert_eq!(p.rows.len(), MAX_KEYS + 1);
        let over = &p.rows[MAX_KEYS];
        assert_eq!(
            (over.rec.source.as_str(), over.count),
            (OVERFLOW_SOURCE, 500)
        );
        assert_eq!(
            p.rows.iter().map(|r| r.count).sum::<i64>(),
            (MAX_KEYS + 500) as i64
        );
    }

    #[tokio::test]
    async fn a_full_channel_never_blocks_a_refusal() {
        let (tx, _rx) = mpsc::channel(1);
        let sink = AuditSink {
            tx,
            spill: Arc::new(Spill::default()),
            db: DatabaseConnection::default(),
            clock: Arc::new(writ_core::clock::SystemClock),
            retention_days: 0,
            _retention: None,
        };
        for _ in 0..5 {
            sink.refused(refusal("10.0.0.1", "secret_mismatch", 1));
        }
        let spilled = sink.spill.take();
        assert_eq!(spilled["secret_mismatch"].count, 4);
    }

    #[test]
    fn cutoff_is_days_back_and_zero_keeps_for_ever() {
        assert_eq!(cutoff(100 * 86_400, 90), Some(10 * 86_400));
        assert_eq!(cutoff(100, 0), None);
    }
}
