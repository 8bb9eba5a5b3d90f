//! Admin API tokens in the service layer (issue 13), with a clock the test
//! moves: the exact expiry second, `last_used_at` written at most once a
//! minute, and a revoked bootstrap value that a restart does not restore.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::open;
use writ_service::ServiceError;
use writ_types::NewAdminToken;

fn new(name: &str, expires_in_seconds: Option<i64>) -> NewAdminToken {
    NewAdminToken {
        name: name.into(),
        expires_in_seconds,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_is_valid_until_its_expiry_second_and_not_after() {
    let w = open().await;
    let t = w.create_admin_token(new("short", Some(60))).await.unwrap();
    assert!(w.verify_admin_token(&t.token).await.unwrap());
    w.clock.advance(59);
    assert!(w.verify_admin_token(&t.token).await.unwrap());
    w.clock.advance(1);
    assert!(!w.verify_admin_token(&t.token).await.unwrap());
    // A token without expiry outlives it by far.
    let forever = w.create_admin_token(new("forever", None)).await.unwrap();
    w.clock.advance(20 * 365 * 86_400);
    assert!(w.verify_admin_token(&forever.token).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_use_is_recorded_at_most_once_a_minute() {
    let w = open().await;
    let t = w.create_admin_token(new("ci", None)).await.unwrap();
    let last = |w: &common::TestWrit| {
        let id = t.id.clone();
        let w = w.writ.clone();
        async move {
            w.list_admin_tokens()
                .await
                .unwrap()
                .into_iter()
                .find(|v| v.id == id)
                .unwrap()
                .last_used_at
        }
    };
    assert_eq!(last(&w).await, None);
    let start = w.now();
    assert!(w.verify_admin_token(&t.token).await.unwrap());
    assert_eq!(last(&w).await, Some(start));
    w.clock.advance(59);
    assert!(w.verify_admin_token(&t.token).await.unwrap());
    assert_eq!(last(&w).await, Some(start), "not rewritten within a minute");
    w.clock.advance(1);
    assert!(w.verify_admin_token(&t.token).await.unwrap());
    assert_eq!(last(&w).await, Some(start + 60));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_bootstrap_value_stays_revoked_after_a_restart() {
    let w = open().await;
    let value = "bootstrap-admin-token-0123456789";
    w.bootstrap_admin_token(value).await.unwrap();
    let boot = w
        .list_admin_tokens()
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.bootstrap)
        .unwrap();
    w.revoke_admin_token(&boot.id).await.unwrap();
    assert!(!w.verify_admin_token(value).await.unwrap());
    // What the server does at every start with WRIT_BOOTSTRAP_ADMIN_TOKEN:
    // the same value is not brought back.
    w.bootstrap_admin_token(value).await.unwrap();
    assert!(!w.verify_admin_token(value).await.unwrap());
    assert!(w.list_admin_tokens().await.unwrap().is_empty());
    // A new value makes a new bootstrap token; the old one stays dead.
    let rotated = "rotated-admin-token-0123456789";
    w.bootstrap_admin_token(rotated).await.unwrap();
    assert!(w.verify_admin_token(rotated).await.unwrap());
    assert!(!w.verify_admin_token(value).await.unwrap());
    let listed = w.list_admin_tokens().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].bootstrap && listed[0].id != boot.id);
    // Revoking twice: the second is 404.
    assert!(matches!(
        w.revoke_admin_token(&boot.id).await,
        Err(ServiceError::NotFound(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_made_through_the_api_cannot_take_the_bootstrap_name() {
    let w = open().await;
    for name in ["bootstrap", " Bootstrap "] {
        assert!(matches!(
            w.create_admin_token(new(name, None)).await,
            Err(ServiceError::Invalid(_))
        ));
    }
    // So a later WRIT_BOOTSTRAP_ADMIN_TOKEN never replaces an API token's value.
    let t = w.create_admin_token(new("ops", None)).await.unwrap();
    w.bootstrap_admin_token("bootstrap-admin-token-0123456789")
        .await
        .unwrap();
    assert!(w.verify_admin_token(&t.token).await.unwrap());
}
