//! Issue 14, item 9: a master-key re-wrap goes row by row under a
//! compare-and-set, skips what it cannot open instead of stopping half-way,
//! and can be run again to finish.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use sea_orm::{ConnectionTrait, Database};
use std::sync::Arc;
use writ_core::vault::{Keyring, MasterKey};
use writ_service::{Writ, WritOptions};
use writ_types::NewCredential;

async fn open_with(url: &str, primary: &[u8], older: &[&[u8]]) -> Arc<Writ> {
    Writ::open(WritOptions {
        database_url: url.to_owned(),
        public_url: common::PUBLIC_URL.into(),
        instance_id: None,
        legacy_signing_key_pem: None,
        key_policy: writ_core::key_rotation::RotationPolicy::new(30 * 86_400, 3600, 60),
        tls_sha1_fingerprint: None,
        ram_fingerprint: None,
        clock: Arc::new(writ_core::clock::ManualClock::at(common::now())),
        clock_skew_secs: 60,
        master_keys: Keyring::new(
            MasterKey::from_bytes(primary).unwrap(),
            older
                .iter()
                .map(|k| MasterKey::from_bytes(k).unwrap())
                .collect(),
        ),
        jwks_refetch_secs: 60,
        audit_retention_days: 90,
    })
    .await
    .unwrap()
}

fn api_key(identifier: &str) -> NewCredential {
    NewCredential {
        name: identifier.into(),
        description: None,
        business_type: "llm".into(),
        identifier: identifier.into(),
        api_key: format!("sk-{identifier}-value"),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_that_does_not_open_is_skipped_and_a_second_run_finishes_the_rest() {
    let dir = std::env::temp_dir().join(format!("writ-rewrap-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.join("writ.db").display());
    let (old, new) = (writ_core::random::bytes(32), writ_core::random::bytes(32));

    let w = open_with(&url, &old, &[]).await;
    for i in 0..3 {
        w.create_credential(api_key(&format!("key-{i}")))
            .await
            .unwrap();
    }
    let c = common::agent(&w, "jwt-client").await;
    w.add_client_secret(&c.id, true).await.unwrap();
    drop(w);

    // One row sealed under a key no ring holds (as a restore from another
    // installation would leave it).
    let stranger = Keyring::new(
        MasterKey::from_bytes(&writ_core::random::bytes(32)).unwrap(),
        Vec::new(),
    );
    let alien = stranger.seal(b"x", "credential:key-1");
    let db = Database::connect(&url).await.unwrap();
    db.execute_unprepared(&format!(
        "UPDATE credentials SET sealed_value = '{alien}' WHERE identifier = 'key-1'"
    ))
    .await
    .unwrap();

    // Rotate: the new key is primary, the old one still opens.
    let w = open_with(&url, &new, &[&old]).await;
    let r = w.rewrap_sealed().await.unwrap();
    assert_eq!(r.failed, 1, "{r:?}");
    assert_eq!(
        r.rewrapped, 4,
        "two API keys, the sealed client secret and the signing key: {r:?}"
    );
    assert_eq!(r.changed_meanwhile, 0);

    // Run again: nothing left to move, the bad row still reported, not fatal.
    let again = w.rewrap_sealed().await.unwrap();
    assert_eq!((again.rewrapped, again.failed), (0, 1), "{again:?}");
    assert_eq!(again.already_current, 4);
    drop(w);

    // Every moved value opens with the new key alone.
    let w = open_with(&url, &new, &[]).await;
    let r = w.rewrap_sealed().await.unwrap();
    assert_eq!((r.rewrapped, r.already_current, r.failed), (0, 4, 1));
    let _ = std::fs::remove_dir_all(dir);
}
