//! The vault's master key: sealed client secrets for client_secret_jwt,
//! nothing in plaintext at rest, rotation with online re-wrap, and a wrong
//! master key refused at start without touching the data.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use base64::Engine;
use common::{Backend, TestServer, spawn, spawn_with};
use serde_json::{Value, json};

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name(super::Backend::Sqlite).await } )* }
        mod postgres { $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name(super::Backend::Postgres).await } )* }
    };
}

on_both_backends!(client_secret_jwt_only_for_secrets_that_allow_it);

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn hs256(secret: &str, client_id: &str, aud: &str) -> String {
    use aws_lc_rs::hmac;
    let b = |x: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(x);
    let input = format!(
        "{}.{}",
        b(br#"{"alg":"HS256","typ":"JWT"}"#),
        b(json!({"iss": client_id, "sub": client_id, "aud": aud, "jti": uuid::Uuid::new_v4().to_string(),
            "iat": now(), "exp": now() + 600}).to_string().as_bytes())
    );
    let sig = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes()),
        input.as_bytes(),
    );
    format!("{input}.{}", b(sig.as_ref()))
}

async fn jwt_post(s: &TestServer, assertion: &str) -> reqwest::Response {
    s.http
        .post(s.token_url())
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "urn:cloud:idaas:pam|.all"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion),
        ])
        .send()
        .await
        .unwrap()
}

async fn error_of(r: reqwest::Response) -> (u16, String, String) {
    let st = r.status().as_u16();
    let b: Value = r.json().await.unwrap();
    (
        st,
        b["error"].as_str().unwrap().to_owned(),
        b["error_description"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

async fn client_secret_jwt_only_for_secrets_that_allow_it(b: Backend) {
    let s = spawn(b).await;
    let agent: Value = s
        .admin_post("/agents", json!({"name": "hmac", "owner": "t"}))
        .await
        .json()
        .await
        .unwrap();
    let id = agent["id"].as_str().unwrap();
    let cid = agent["client_id"].as_str().unwrap();
    let plain: Value = s
        .admin_post(&format!("/agents/{id}/client-secrets"), json!({}))
        .await
        .json()
        .await
        .unwrap();
    // A hash-only secret cannot check an HMAC: a clear invalid_client.
    let (st, err, why) = error_of(
        jwt_post(
            &s,
            &hs256(
                plain["client_secret"].as_str().unwrap(),
                cid,
                &s.token_url(),
            ),
        )
        .await,
    )
    .await;
    assert_eq!((st, err.as_str()), (401, "invalid_client"));
    assert!(why.contains("client_secret_jwt is not enabled"), "{why}");

    let sealed: Value = s
        .admin_post(
            &format!("/agents/{id}/client-secrets"),
            json!({"allow_client_secret_jwt": true}),
        )
        .await
        .json()
        .await
        .unwrap();
    let secret = sealed["client_secret"].as_str().unwrap();
    let a = hs256(secret, cid, &s.token_url());
    assert_eq!(jwt_post(&s, &a).await.status(), 200);
    assert_eq!(
        error_of(jwt_post(&s, &a).await).await.0,
        401,
        "replayed jti"
    );
    assert_eq!(
        error_of(jwt_post(&s, &hs256("writcs_wrong", cid, &s.token_url())).await)
            .await
            .0,
        401
    );
    // The secret and the opt-in secret are nowhere in the database in plaintext.
    s.running.writ.flush_audit().await;
    if matches!(b, Backend::Sqlite) {
        let bytes = std::fs::read(s.dir.join("writ.db")).unwrap();
        let wal = std::fs::read(s.dir.join("writ.db-wal")).unwrap_or_default();
        for hay in [&bytes, &wal] {
            assert!(
                !hay.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "plaintext secret at rest"
            );
        }
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn master_key_rotation_and_wrong_key() {
    let old_key = writ_core::random::token(32);
    let new_key = writ_core::random::token(32);
    let s =
        common::spawn_configured(Backend::Sqlite, |c| c.master_key = Some(old_key.clone())).await;
    let (dir, db) = (s.dir.clone(), s.database_url.clone());
    let agent: Value = s
        .admin_post("/agents", json!({"name": "rotate", "owner": "t"}))
        .await
        .json()
        .await
        .unwrap();
    let id = agent["id"].as_str().unwrap().to_owned();
    let cid = agent["client_id"].as_str().unwrap().to_owned();
    let sealed: Value = s
        .admin_post(
            &format!("/agents/{id}/client-secrets"),
            json!({"allow_client_secret_jwt": true}),
        )
        .await
        .json()
        .await
        .unwrap();
    let secret = sealed["client_secret"].as_str().unwrap().to_owned();
    s.stop_keeping_data().await;

    let config = |key: &str, previous: Vec<String>| {
        let mut c = writ_server::Config::for_tests(dir.clone(), Some(db.clone()));
        c.master_key = Some(key.to_owned());
        c.previous_master_keys = previous;
        c
    };
    // A wrong master key is refused with a clear message; the data is untouched.
    let err = writ_server::start(config(&new_key, vec![]))
        .await
        .err()
        .expect("refused");
    assert!(
        err.to_string().contains("master key does not open"),
        "{err}"
    );
    // New key primary, old one listed: starts, re-wraps, old tokens keep working.
    let s = spawn_with(config(&new_key, vec![old_key.clone()]), None).await;
    assert_eq!(
        jwt_post(&s, &hs256(&secret, &cid, &s.token_url()))
            .await
            .status(),
        200
    );
    let r: Value = s
        .admin_post("/master-key/rewrap", json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["rewrapped"], 1, "{r}");
    let again: Value = s
        .admin_post("/master-key/rewrap", json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["rewrapped"], 0);
    s.stop_keeping_data().await;
    // After the re-wrap the old key is no longer needed.
    let s = spawn_with(config(&new_key, vec![]), None).await;
    assert_eq!(
        jwt_post(&s, &hs256(&secret, &cid, &s.token_url()))
            .await
            .status(),
        200
    );
    s.stop().await;
}
