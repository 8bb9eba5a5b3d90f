//! The audit log's promises (issue 14), on a real SQLite file without HTTP:
//! an issued token's record is committed before `token()` returns (no
//! audit, no answer); refusals never wait and are folded, so a flood is a
//! handful of rows; rows past retention are deleted.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{PAM_ALL, TestWrit, agent, open, refusal, secret_post};
use sea_orm::{
    ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement, TransactionTrait,
};
use std::time::{Duration, Instant};
use writ_types::ClientView;

/// An agent with one client secret: (agent, secret value).
async fn agent_with_secret(w: &TestWrit, name: &str) -> (ClientView, String) {
    let a = agent(w, name).await;
    let s = w.add_client_secret(&a.id, false).await.unwrap();
    (a, s.client_secret)
}

/// A connection of the test's own to the Writ's database file.
async fn own_connection(w: &TestWrit) -> DatabaseConnection {
    Database::connect(w.database_url.as_str()).await.unwrap()
}

/// (outcome, reason, source, count, at, last_at) of the rows `filter` selects.
async fn rows(
    db: &DatabaseConnection,
    filter: &str,
) -> Vec<(String, String, String, i64, i64, Option<i64>)> {
    db.query_all_raw(Statement::from_string(
        DbBackend::Sqlite,
        format!(
            "SELECT outcome, reason, source, \"count\", at, last_at FROM audit_events \
             WHERE {filter} ORDER BY id"
        ),
    ))
    .await
    .unwrap()
    .iter()
    .map(|r| {
        (
            r.try_get_by_index(0).unwrap(),
            r.try_get_by_index(1).unwrap(),
            r.try_get_by_index(2).unwrap(),
            r.try_get_by_index(3).unwrap(),
            r.try_get_by_index(4).unwrap(),
            r.try_get_by_index(5).unwrap(),
        )
    })
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_refusals_from_one_source_are_a_handful_of_rows() {
    let w = open().await;
    let before = w.count_audit_records().await;
    let started = Instant::now();
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let writ = w.writ.clone();
            tokio::spawn(async move {
                for _ in 0..250 {
                    let r = writ
                        .token(secret_post("no-such-client", "guess", PAM_ALL))
                        .await;
                    assert_eq!(refusal(r).0, "invalid_client");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let took = started.elapsed();
    w.flush_audit().await;

    let db = own_connection(&w).await;
    let rows = rows(&db, "client_id = 'no-such-client'").await;
    let total: i64 = rows.iter().map(|r| r.3).sum();
    assert_eq!(total, 1000, "every refusal is counted: {rows:?}");
    // One row per second of flood (the fold's window), and one more for a
    // window cut by the flush.
    let most = took.as_secs() as usize + 2;
    assert!(
        !rows.is_empty() && rows.len() <= most,
        "{} rows for 1000 refusals in {took:?}: {rows:?}",
        rows.len()
    );
    for (outcome, _, source, _, at, last_at) in &rows {
        assert_eq!(
            (outcome.as_str(), source.as_str()),
            ("refused", "127.0.0.1")
        );
        assert!(last_at.unwrap() >= *at);
    }
    assert_eq!(w.count_audit_records().await, before + 1000);
    // The console's listing is unaffected (no such client: nothing to list).
}

#[tokio::test]
async fn an_issued_token_is_committed_when_token_returns() {
    let w = open().await;
    let (a, secret) = agent_with_secret(&w, "committed").await;
    let db = own_connection(&w).await;
    for _ in 0..5 {
        let t = w
            .token(secret_post(&a.client_id, &secret, PAM_ALL))
            .await
            .unwrap();
        // Another connection, no flush: the record is already committed.
        let found = rows(&db, &format!("jti = '{}'", t.jti)).await;
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].0.as_str(), found[0].3), ("issued", 1));
    }
    // The secret's last use moved in the same transaction.
    let secrets = w.list_client_secrets(&a.id).await.unwrap();
    assert_eq!(secrets[0].last_used_at, Some(w.now()));

    // Concurrent tokens share commits; each is committed when answered.
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let writ = w.writ.clone();
            let (cid, secret) = (a.client_id.clone(), secret.clone());
            tokio::spawn(async move {
                writ.token(secret_post(&cid, &secret, PAM_ALL))
                    .await
                    .unwrap()
                    .jti
            })
        })
        .collect();
    for t in tasks {
        let jti = t.await.unwrap();
        assert_eq!(rows(&db, &format!("jti = '{jti}'")).await.len(), 1);
    }
}

#[tokio::test]
async fn no_audit_no_answer_when_the_write_fails() {
    let w = open().await;
    let (a, secret) = agent_with_secret(&w, "unaudited").await;
    w.token(secret_post(&a.client_id, &secret, PAM_ALL))
        .await
        .unwrap();
    let db = own_connection(&w).await;
    db.execute_unprepared("ALTER TABLE audit_events RENAME TO audit_events_away")
        .await
        .unwrap();
    assert_eq!(
        refusal(w.token(secret_post(&a.client_id, &secret, PAM_ALL)).await),
        ("server_error", "audit_failed")
    );
    db.execute_unprepared("ALTER TABLE audit_events_away RENAME TO audit_events")
        .await
        .unwrap();
    // Back: tokens again, and the refused one is on record as refused.
    let t = w
        .token(secret_post(&a.client_id, &secret, PAM_ALL))
        .await
        .unwrap();
    let all = rows(&db, &format!("client_id = '{}'", a.client_id)).await;
    let seen: Vec<(&str, &str)> = all.iter().map(|r| (r.0.as_str(), r.1.as_str())).collect();
    assert_eq!(
        seen,
        [
            ("issued", "ok"),
            ("refused", "audit_failed"),
            ("issued", "ok")
        ]
    );
    assert_eq!(rows(&db, &format!("jti = '{}'", t.jti)).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_waits_a_bounded_time_and_a_refusal_not_at_all() {
    let w = open().await;
    let (a, secret) = agent_with_secret(&w, "patient").await;
    // Warm: the secret is verified once (argon2), then known.
    w.token(secret_post(&a.client_id, &secret, PAM_ALL))
        .await
        .unwrap();

    // Another writer holds SQLite's write lock.
    let db = own_connection(&w).await;
    let txn = db.begin().await.unwrap();
    txn.execute_unprepared("UPDATE settings SET value = value WHERE key = 'instance_id'")
        .await
        .unwrap();

    let started = Instant::now();
    let r = w.token(secret_post(&a.client_id, &secret, PAM_ALL)).await;
    let waited = started.elapsed();
    assert_eq!(refusal(r), ("temporarily_unavailable", "audit_timeout"));
    assert!(
        waited >= Duration::from_millis(1900) && waited < Duration::from_secs(4),
        "{waited:?}"
    );
    let started = Instant::now();
    for _ in 0..100 {
        let r = w
            .token(secret_post("no-such-client", "guess", PAM_ALL))
            .await;
        assert_eq!(refusal(r).0, "invalid_client");
    }
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "refusals do not wait on the audit path: {:?}",
        started.elapsed()
    );
    txn.rollback().await.unwrap();

    // The lock gone, tokens are answered again, and everything is counted.
    w.token(secret_post(&a.client_id, &secret, PAM_ALL))
        .await
        .unwrap();
    w.flush_audit().await;
    let all = rows(&db, "client_id = 'no-such-client'").await;
    assert_eq!(all.iter().map(|r| r.3).sum::<i64>(), 100, "{all:?}");
}

#[tokio::test]
async fn retention_deletes_rows_older_than_the_setting_and_keeps_the_rest() {
    let w = open().await;
    let refuse = |client: &str| secret_post(client, "guess", PAM_ALL);
    let _ = w.token(refuse("client-of-long-ago")).await.unwrap_err();
    w.flush_audit().await;
    w.clock.advance(2 * 86_400);
    let _ = w.token(refuse("client-of-the-boundary")).await.unwrap_err();
    w.flush_audit().await;
    // 90 days (the setting) after the second row: the first is older.
    w.clock.advance(90 * 86_400);
    let (a, secret) = agent_with_secret(&w, "recent").await;
    let t = w
        .token(secret_post(&a.client_id, &secret, PAM_ALL))
        .await
        .unwrap();

    // The background retention pass (first run at start, then hourly) may
    // run after the clock moved and delete the row first: either way it
    // goes exactly once, and the rows below are what counts.
    assert!(w.prune_audit().await.unwrap() <= 1);
    let db = own_connection(&w).await;
    assert!(
        rows(&db, "client_id = 'client-of-long-ago'")
            .await
            .is_empty()
    );
    assert_eq!(
        rows(&db, "client_id = 'client-of-the-boundary'")
            .await
            .len(),
        1
    );
    assert_eq!(rows(&db, &format!("jti = '{}'", t.jti)).await.len(), 1);
    assert_eq!(w.prune_audit().await.unwrap(), 0);
}

/// The same fold, commit and retention on PostgreSQL (a fresh database at
/// `WRIT_TEST_PG_URL`, default `postgres://root@127.0.0.1:5432/test`;
/// skipped only when that variable is unset and no server answers there).
#[tokio::test]
async fn on_postgresql_too() {
    use std::sync::Arc;
    use writ_core::clock::ManualClock;
    use writ_core::vault::{Keyring, MasterKey};
    use writ_service::{Writ, WritOptions};

    let explicit = std::env::var("WRIT_TEST_PG_URL").ok();
    let admin_url = explicit
        .clone()
        .unwrap_or_else(|| "postgres://root@127.0.0.1:5432/test".into());
    let admin = match Database::connect(admin_url.as_str()).await {
        Ok(db) => db,
        Err(e) if explicit.is_none() => {
            eprintln!("no PostgreSQL at {admin_url} ({e}); skipped");
            return;
        }
        Err(e) => panic!("PostgreSQL at WRIT_TEST_PG_URL: {e}"),
    };
    let name = format!("writ_audit_{}", uuid::Uuid::new_v4().simple());
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let url = format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0);
    let clock = Arc::new(ManualClock::at(common::now()));
    let w = Writ::open(WritOptions {
        database_url: url.clone(),
        public_url: common::PUBLIC_URL.into(),
        instance_id: None,
        legacy_signing_key_pem: None,
        key_policy: writ_core::key_rotation::RotationPolicy::new(30 * 86_400, 3600, 60),
        tls_sha1_fingerprint: None,
        ram_fingerprint: None,
        clock: clock.clone(),
        clock_skew_secs: 60,
        master_keys: Keyring::new(
            MasterKey::from_bytes(&writ_core::random::bytes(32)).unwrap(),
            Vec::new(),
        ),
        jwks_refetch_secs: 60,
        audit_retention_days: 90,
    })
    .await
    .unwrap();
    let own = Database::connect(url.as_str()).await.unwrap();
    let sum_of = |filter: String| {
        let own = &own;
        async move {
            own.query_all_raw(Statement::from_string(
                DbBackend::Postgres,
                format!(
                    "SELECT outcome, CAST(\"count\" AS BIGINT) FROM audit_events \
                     WHERE {filter} ORDER BY id"
                ),
            ))
            .await
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r.try_get_by_index::<String>(0).unwrap(),
                    r.try_get_by_index::<i64>(1).unwrap(),
                )
            })
            .collect::<Vec<_>>()
        }
    };

    for _ in 0..200 {
        let r = w
            .token(secret_post("no-such-client", "guess", PAM_ALL))
            .await;
        assert_eq!(refusal(r).0, "invalid_client");
    }
    let a = agent(&w, "pg-agent").await;
    let secret = w
        .add_client_secret(&a.id, false)
        .await
        .unwrap()
        .client_secret;
    let t = w
        .token(secret_post(&a.client_id, &secret, PAM_ALL))
        .await
        .unwrap();
    // Committed when answered; the refusals went with it, folded.
    assert_eq!(
        sum_of(format!("jti = '{}'", t.jti)).await,
        [("issued".to_owned(), 1)]
    );
    let folded = sum_of("client_id = 'no-such-client'".into()).await;
    assert!(folded.len() <= 3, "{folded:?}");
    assert_eq!(folded.iter().map(|r| r.1).sum::<i64>(), 200);
    assert_eq!(w.count_audit_records().await, 201);

    clock.advance(91 * 86_400);
    let _ = w
        .token(secret_post("client-of-today", "guess", PAM_ALL))
        .await
        .unwrap_err();
    w.flush_audit().await;
    assert_eq!(w.prune_audit().await.unwrap(), folded.len() as u64 + 1);
    assert_eq!(w.count_audit_records().await, 1);

    drop(w);
    own.close().await.unwrap();
    let _ = admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await;
}

/// The console and the admin API show a folded row as what it is: how many
/// requests, and until when.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folded_refusals_show_their_count_and_last_time() {
    let w = open().await;
    let c = common::agent(&w, "folded").await;
    w.add_client_secret(&c.id, false).await.unwrap();
    for i in 0..50 {
        let r = w
            .token(secret_post(
                &c.client_id,
                &format!("writcs_wrong{i}"),
                PAM_ALL,
            ))
            .await;
        assert_eq!(refusal(r).0, "invalid_client");
    }
    w.flush_audit().await;
    let seen = w.recent_audit(&c.id, 100).await.unwrap();
    let total: i64 = seen.iter().map(|e| e.count).sum();
    assert_eq!(total, 50, "{seen:?}");
    assert!(seen.len() < 50, "folded: {} rows", seen.len());
    let folded = seen.iter().find(|e| e.count > 1).expect("a folded row");
    assert!(folded.last_at.is_some_and(|l| l >= folded.at), "{folded:?}");
}
