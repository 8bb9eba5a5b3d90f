//! Issue 14, item 1 and 5: what an unauthenticated caller can make Writ do
//! is bounded. Wrong secrets spend a per-client and per-source budget before
//! any argon2 run; bogus admin tokens never reach argon2; console sign-in
//! failures are counted atomically, per user and source, in the database
//! that every replica shares.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{PAM_ALL, agent, open, refusal, secret_post};
use std::sync::Arc;
use writ_core::vault::{Keyring, MasterKey};
use writ_service::{ServiceError, Writ, WritOptions};

fn from(
    mut r: writ_service::service::TokenRequest,
    source: &str,
) -> writ_service::service::TokenRequest {
    r.source = source.into();
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_is_refused_by_its_screen_without_argon2() {
    let w = open().await;
    let c = agent(&w, "screened").await;
    let s = w.add_client_secret(&c.id, false).await.unwrap();
    let before = w.slow_hash_runs();
    for i in 0..200 {
        let r = w
            .token(from(
                secret_post(&c.client_id, &format!("writcs_wrong{i}"), PAM_ALL),
                "198.51.100.7",
            ))
            .await;
        // Not throttled either: a screened refusal spends no budget.
        assert_eq!(refusal(r), ("invalid_client", "secret_mismatch"));
    }
    assert_eq!(w.slow_hash_runs(), before, "no argon2 for wrong secrets");
    // The right secret still passes (argon2 once, then by HMAC).
    w.token(from(
        secret_post(&c.client_id, &s.client_secret, PAM_ALL),
        "198.51.100.7",
    ))
    .await
    .unwrap();
    assert_eq!(w.slow_hash_runs(), before + 1);
}

/// A secret made before screens existed (its screen is NULL) is left to
/// argon2, behind the failure budgets.
async fn unscreened(w: &common::TestWrit) {
    use sea_orm::ConnectionTrait;
    let db = sea_orm::Database::connect(&w.database_url).await.unwrap();
    db.execute_unprepared("UPDATE client_secrets SET screen = NULL")
        .await
        .unwrap();
    db.close().await.unwrap();
    w.drop_caches();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_secrets_spend_a_bounded_budget_and_never_slow_a_known_client() {
    let w = open().await;
    let c = agent(&w, "victim").await;
    let s = w.add_client_secret(&c.id, false).await.unwrap();
    unscreened(&w).await;
    // The real workload: one argon2 run, then recognised by HMAC.
    w.token(secret_post(&c.client_id, &s.client_secret, PAM_ALL))
        .await
        .unwrap();
    let before = w.slow_hash_runs();

    let mut reasons = Vec::new();
    for i in 0..200 {
        let r = w
            .token(from(
                secret_post(&c.client_id, &format!("writcs_wrong{i}"), PAM_ALL),
                "198.51.100.7",
            ))
            .await;
        reasons.push(refusal(r));
    }
    let ran = w.slow_hash_runs() - before;
    assert!(ran <= 20, "argon2 ran {ran} times for 200 wrong secrets");
    assert!(reasons.iter().all(|(e, _)| *e == "invalid_client"));
    assert!(reasons.iter().any(|(_, r)| *r == "auth_throttled"));
    assert_eq!(reasons.last().unwrap().1, "auth_throttled");

    // The client that already proved its secret is not locked out.
    let t = w
        .token(from(
            secret_post(&c.client_id, &s.client_secret, PAM_ALL),
            "198.51.100.7",
        ))
        .await;
    assert!(
        t.is_ok(),
        "known secret refused while under attack: {:?}",
        t.err()
    );
    assert_eq!(
        w.slow_hash_runs() - before,
        ran,
        "and it cost no argon2 run"
    );

    // Another client from another address has its own budget.
    let other = agent(&w, "bystander").await;
    let os = w.add_client_secret(&other.id, false).await.unwrap();
    unscreened(&w).await;
    w.token(from(
        secret_post(&other.client_id, &os.client_secret, PAM_ALL),
        "203.0.113.9",
    ))
    .await
    .unwrap();

    // After the budget refills, the attacker gets one more try, not a burst.
    w.clock.advance(3);
    let r = w
        .token(from(
            secret_post(&c.client_id, "writcs_again", PAM_ALL),
            "198.51.100.7",
        ))
        .await;
    assert_eq!(refusal(r).1, "secret_mismatch");
    let r = w
        .token(from(
            secret_post(&c.client_id, "writcs_again2", PAM_ALL),
            "198.51.100.7",
        ))
        .await;
    assert_eq!(refusal(r).1, "auth_throttled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_tokens_are_digests_and_bogus_ones_cost_no_slow_hash() {
    let w = open().await;
    let token = "bootstrap-admin-token-0123456789";
    w.bootstrap_admin_token(token).await.unwrap();
    let before = w.slow_hash_runs();
    for i in 0..500 {
        assert!(!w.verify_admin_token(&format!("bogus-{i}")).await.unwrap());
    }
    assert!(w.verify_admin_token(token).await.unwrap());
    assert_eq!(w.slow_hash_runs(), before, "no argon2 for admin tokens");
    assert!(!w.verify_admin_token("").await.unwrap());
    assert!(!w.verify_admin_token(&"x".repeat(10_000)).await.unwrap());

    // The same value again changes nothing; a changed value replaces it.
    w.bootstrap_admin_token(token).await.unwrap();
    assert!(w.verify_admin_token(token).await.unwrap());
    let rotated = "bootstrap-admin-token-rotated-9876";
    w.bootstrap_admin_token(rotated).await.unwrap();
    assert!(w.verify_admin_token(rotated).await.unwrap());
    assert!(
        !w.verify_admin_token(token).await.unwrap(),
        "the old token is gone"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_failures_are_counted_atomically_per_user_and_source() {
    let w = open().await;
    w.bootstrap_admin(Some("right password".into()))
        .await
        .unwrap();

    // Ten concurrent guesses from one address: at most five are checked.
    let mut tasks = Vec::new();
    for i in 0..10 {
        let writ = w.writ.clone();
        tasks.push(tokio::spawn(async move {
            writ.login("admin", &format!("guess {i}"), "198.51.100.7")
                .await
        }));
    }
    let mut checked = 0;
    let mut throttled = 0;
    for t in tasks {
        match t.await.unwrap() {
            Err(ServiceError::BadLogin) => checked += 1,
            Err(ServiceError::Throttled(_)) => throttled += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(checked <= 5, "{checked} guesses were checked");
    assert_eq!(checked + throttled, 10);
    // One more guess from the attacker is refused before any check...
    let before = w.slow_hash_runs();
    let r = w.login("admin", "right password", "198.51.100.7").await;
    if checked == 5 {
        assert!(matches!(r, Err(ServiceError::Throttled(_))), "{r:?}");
        assert_eq!(w.slow_hash_runs(), before);
    }
    // ...but the admin at another address signs in (no lockout by others).
    w.login("admin", "right password", "203.0.113.9")
        .await
        .unwrap();
    // Unknown user names are counted per source, without a row per name.
    for i in 0..25 {
        let _ = w.login(&format!("nobody{i}"), "x", "192.0.2.1").await;
    }
    assert!(matches!(
        w.login("nobody-else", "x", "192.0.2.1").await,
        Err(ServiceError::Throttled(_))
    ));
    // The wait ends; a success clears the user + source count.
    w.clock.advance(901);
    w.login("admin", "right password", "198.51.100.7")
        .await
        .unwrap();
    for i in 0..5 {
        assert!(matches!(
            w.login("admin", &format!("typo {i}"), "198.51.100.7").await,
            Err(ServiceError::BadLogin)
        ));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_replica_on_the_same_database_sees_the_same_counts() {
    let dir = std::env::temp_dir().join(format!("writ-replicas-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.join("writ.db").display());
    let master = writ_core::random::bytes(32);
    let clock = Arc::new(writ_core::clock::ManualClock::at(common::now()));
    let replica = |clock: Arc<writ_core::clock::ManualClock>| {
        let url = url.clone();
        let master = master.clone();
        async move {
            Writ::open(WritOptions {
                database_url: url,
                public_url: common::PUBLIC_URL.into(),
                instance_id: None,
                legacy_signing_key_pem: None,
                key_policy: writ_core::key_rotation::RotationPolicy::new(30 * 86_400, 3600, 60),
                tls_sha1_fingerprint: None,
                ram_fingerprint: None,
                clock,
                clock_skew_secs: 60,
                master_keys: Keyring::new(MasterKey::from_bytes(&master).unwrap(), Vec::new()),
                jwks_refetch_secs: 60,
                audit_retention_days: 90,
            })
            .await
            .unwrap()
        }
    };
    let a = replica(clock.clone()).await;
    let b = replica(clock.clone()).await;
    a.bootstrap_admin(Some("right password".into()))
        .await
        .unwrap();
    for i in 0..5 {
        let on = if i % 2 == 0 { &a } else { &b };
        assert!(matches!(
            on.login("admin", &format!("guess {i}"), "198.51.100.7")
                .await,
            Err(ServiceError::BadLogin)
        ));
    }
    assert!(matches!(
        b.login("admin", "right password", "198.51.100.7").await,
        Err(ServiceError::Throttled(_))
    ));
    assert!(matches!(
        a.login("admin", "right password", "198.51.100.7").await,
        Err(ServiceError::Throttled(_))
    ));
    // Both replicas derive the same admin token digests (one sealed key).
    a.bootstrap_admin_token("shared-admin-token-0123456789")
        .await
        .unwrap();
    assert!(
        b.verify_admin_token("shared-admin-token-0123456789")
            .await
            .unwrap()
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// After a restart nothing is remembered: a client whose 64 workers all
/// reconnect at once with the right secret must not be throttled or told
/// the server is busy; one argon2 run proves the value for all of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_workers_presenting_the_right_secret_at_once_cost_one_argon2_run() {
    let w = open().await;
    let c = agent(&w, "herd").await;
    let s = w.add_client_secret(&c.id, false).await.unwrap();
    let before = w.slow_hash_runs();
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let writ = w.writ.clone();
            let req = secret_post(&c.client_id, &s.client_secret, PAM_ALL);
            tokio::spawn(async move { writ.token(req).await })
        })
        .collect();
    for t in tasks {
        let r = t.await.unwrap();
        assert!(r.is_ok(), "a worker was refused: {:?}", r.err());
    }
    assert_eq!(w.slow_hash_runs() - before, 1, "one argon2 run for all");
}
