//! Signing-key rotation through the service, on a manual clock: a new key
//! is published before it signs, signs after the publish lead, and stays
//! published until every token the old key signed has expired; the
//! schedule makes the next key on its own and deletes retired ones.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use writ_core::key_rotation::MAX_TOKEN_LIFETIME_SECS;

fn published(w: &common::TestWrit) -> Vec<String> {
    let mut k: Vec<String> = w.published_keys().into_iter().map(|j| j.kid).collect();
    k.sort();
    k
}

async fn states(w: &common::TestWrit) -> Vec<(String, String)> {
    w.list_signing_keys()
        .await
        .unwrap()
        .into_iter()
        .map(|k| (k.kid, k.state))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_key_is_published_then_signs_then_the_old_one_retires() {
    let w = common::open().await;
    let first = w.signing_key().kid().to_owned();
    assert_eq!(published(&w), vec![first.clone()]);

    let next = w.rotate_signing_key(false).await.unwrap();
    assert_eq!(next.state, "next");
    assert_eq!(next.not_before, w.now() + 3600);
    // Asking again does not push the switch back.
    assert_eq!(w.rotate_signing_key(false).await.unwrap().kid, next.kid);
    let mut both = vec![first.clone(), next.kid.clone()];
    both.sort();
    assert_eq!(published(&w), both);
    assert_eq!(
        w.signing_key().kid(),
        first,
        "the new key waits for its lead"
    );

    w.clock.advance(3600);
    assert_eq!(w.signing_key().kid(), next.kid);
    assert_eq!(
        states(&w).await,
        vec![
            (first.clone(), "retiring".into()),
            (next.kid.clone(), "active".into())
        ]
    );
    assert_eq!(
        published(&w),
        both,
        "tokens the old key signed are still valid"
    );

    // After the longest token lifetime and the clock skew, it leaves JWKS,
    // and the schedule deletes it.
    w.clock.advance(MAX_TOKEN_LIFETIME_SECS + 60);
    assert_eq!(published(&w), vec![next.kid.clone()]);
    assert_eq!(states(&w).await[0], (first.clone(), "retired".into()));
    w.maintain_signing_keys().await.unwrap();
    assert_eq!(states(&w).await, vec![(next.kid.clone(), "active".into())]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schedule_makes_the_next_key_a_lead_before_the_period_ends() {
    let w = common::open().await;
    let first = w.signing_key().kid().to_owned();
    let made = w.list_signing_keys().await.unwrap()[0].not_before;
    w.maintain_signing_keys().await.unwrap();
    assert_eq!(states(&w).await.len(), 1, "nothing due yet");

    // 30 days, less the hour's lead.
    w.clock
        .advance(made.max(w.now()) - w.now() + 30 * 86_400 - 3600);
    w.maintain_signing_keys().await.unwrap();
    let keys = w.list_signing_keys().await.unwrap();
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert_eq!(keys[1].state, "next");
    assert_eq!(w.signing_key().kid(), first);
    // Running the schedule again makes no third key.
    w.maintain_signing_keys().await.unwrap();
    assert_eq!(w.list_signing_keys().await.unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_immediate_rotation_signs_at_once_and_tokens_verify_with_jwks() {
    let w = common::open().await;
    let first = w.signing_key().kid().to_owned();
    // Made this very second, the first key is followed from the next one
    // (equal times would be ordered by kid); a second later, at once.
    let same_second = w.rotate_signing_key(true).await.unwrap();
    assert_eq!(same_second.state, "next");
    assert_eq!(same_second.not_before, w.now() + 1);
    w.clock.advance(1);
    assert_eq!(w.signing_key().kid(), same_second.kid);
    w.clock.advance(1);
    let new = w.rotate_signing_key(true).await.unwrap();
    assert_eq!(new.state, "active");
    assert_ne!(new.kid, first);
    assert_eq!(w.signing_key().kid(), new.kid);
    assert!(published(&w).contains(&first));
    // A token now carries the new kid and verifies against the published key.
    let a = common::agent(&w, "rotated").await;
    let secret = w
        .add_client_secret(&a.id, false)
        .await
        .unwrap()
        .client_secret;
    let t = w
        .token(common::secret_post(&a.client_id, &secret, common::PAM_ALL))
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(&t.access_token).unwrap();
    assert_eq!(header.kid.as_deref(), Some(new.kid.as_str()));
    common::verified_claims(&w, &t.access_token, &t.audience);
}
