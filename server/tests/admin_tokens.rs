//! Admin API tokens over HTTP (issue 13), on SQLite and PostgreSQL: made
//! through the API and shown once, listed without value or digest, refused
//! at once when revoked or expired, inputs validated, and the three paths in
//! the OpenAPI document. The bootstrap token may be revoked too.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use common::{ADMIN_TOKEN, Backend, TestServer, spawn};
use serde_json::{Value, json};

on_both_backends!(
    created_token_works_is_listed_without_its_value_and_revokes_at_once,
    expired_token_is_refused,
    bad_inputs_are_refused_with_clear_messages,
    openapi_lists_the_admin_token_paths,
    bootstrap_token_is_listed_and_revocable,
);

/// GET `path` under the admin API with `token`: the status.
async fn status_with(s: &TestServer, token: &str, path: &str) -> u16 {
    s.http
        .get(s.url(&format!("/api/admin/v1{path}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Creates a token: (id, value).
async fn create(s: &TestServer, body: Value) -> (String, String) {
    let r = s.admin_post("/admin-tokens", body).await;
    assert_eq!(r.status(), 201);
    let b: Value = r.json().await.unwrap();
    (
        b["id"].as_str().unwrap().to_owned(),
        b["token"].as_str().unwrap().to_owned(),
    )
}

async fn list(s: &TestServer) -> Vec<Value> {
    let r = s.admin_get("/admin-tokens").await;
    assert_eq!(r.status(), 200);
    r.json::<Vec<Value>>().await.unwrap()
}

async fn created_token_works_is_listed_without_its_value_and_revokes_at_once(b: Backend) {
    let s = spawn(b).await;
    let r = s
        .admin_post("/admin-tokens", json!({"name": "  ci deploy "}))
        .await;
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    let keys: Vec<&str> = created
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["id", "token"], "{created}");
    let id = created["id"].as_str().unwrap();
    let token = created["token"].as_str().unwrap();
    // 256 random bits, base64url, behind a recognisable prefix.
    assert!(
        token.starts_with("writat_") && token.len() == 7 + 43,
        "{token}"
    );

    // The new token works on an admin endpoint and on this API itself.
    assert_eq!(status_with(&s, token, "/agents").await, 200);
    assert_eq!(status_with(&s, token, "/admin-tokens").await, 200);

    // Listed with its metadata, never its value or its digest.
    let r = s.admin_get("/admin-tokens").await;
    let text = r.text().await.unwrap();
    assert!(!text.contains(token), "value listed: {text}");
    assert!(!text.contains("digest") && !text.contains("hash"), "{text}");
    let tokens: Vec<Value> = serde_json::from_str(&text).unwrap();
    let mine = tokens.iter().find(|t| t["id"] == id).expect("listed");
    assert_eq!(mine["name"], "ci deploy");
    assert!(mine["created_at"].as_i64().unwrap() > 1_600_000_000);
    assert!(mine["expires_at"].is_null(), "{mine}");
    // It was used just above: recorded.
    assert!(mine["last_used_at"].is_i64(), "{mine}");
    assert_eq!(mine["bootstrap"], false);
    let mut fields: Vec<&str> = mine
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "bootstrap",
            "created_at",
            "expires_at",
            "id",
            "last_used_at",
            "name"
        ]
    );

    // A second token with the same name is another token.
    let (other_id, other) = create(&s, json!({"name": "ci deploy"})).await;
    assert_ne!(other, token);

    // Revoked: 204, then 401 at once, gone from the list; a second revoke 404.
    let r = s.admin_delete(&format!("/admin-tokens/{id}")).await;
    assert_eq!(r.status(), 204);
    assert_eq!(status_with(&s, token, "/agents").await, 401);
    assert_eq!(status_with(&s, token, "/admin-tokens").await, 401);
    assert!(list(&s).await.iter().all(|t| t["id"] != id));
    assert_eq!(
        s.admin_delete(&format!("/admin-tokens/{id}"))
            .await
            .status(),
        404
    );
    assert_eq!(
        s.admin_delete("/admin-tokens/no-such-token").await.status(),
        404
    );
    // The other token is untouched.
    assert_eq!(status_with(&s, &other, "/agents").await, 200);
    assert!(list(&s).await.iter().any(|t| t["id"] == other_id.as_str()));
    // A token can revoke itself; its very next request is refused.
    let r = s
        .http
        .delete(s.url(&format!("/api/admin/v1/admin-tokens/{other_id}")))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(status_with(&s, &other, "/agents").await, 401);
    // Without a token, the admin-token API is closed too.
    let r = s
        .http
        .post(s.url("/api/admin/v1/admin-tokens"))
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    s.stop().await;
}

async fn expired_token_is_refused(b: Backend) {
    let s = spawn(b).await;
    let (id, token) = create(&s, json!({"name": "short", "expires_in_seconds": 2})).await;
    // Valid until its expiry second (at least a second from now).
    assert_eq!(status_with(&s, &token, "/agents").await, 200);
    let expires_at = list(&s)
        .await
        .into_iter()
        .find(|t| t["id"] == id.as_str())
        .unwrap()["expires_at"]
        .as_i64()
        .unwrap();
    let now = common::now();
    assert!(
        (now + 1..=now + 2).contains(&expires_at),
        "{expires_at} vs {now}"
    );
    // Sleep to the expiry second (at most ~2 s), not a fixed guess.
    let wake = std::time::UNIX_EPOCH + std::time::Duration::from_secs(expires_at as u64);
    let wait = wake
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default();
    tokio::time::sleep(wait + std::time::Duration::from_millis(50)).await;
    assert_eq!(status_with(&s, &token, "/agents").await, 401);
    // Still listed (so it can be seen and revoked), and revocable.
    assert!(list(&s).await.iter().any(|t| t["id"] == id.as_str()));
    assert_eq!(
        s.admin_delete(&format!("/admin-tokens/{id}"))
            .await
            .status(),
        204
    );
    s.stop().await;
}

async fn bad_inputs_are_refused_with_clear_messages(b: Backend) {
    let s = spawn(b).await;
    let cases = [
        (json!({"name": ""}), "name: is required"),
        (json!({"name": "   "}), "name: is required"),
        (
            json!({"name": "x".repeat(65)}),
            "name: must be at most 64 characters",
        ),
        (
            json!({"name": "a\u{0}b"}),
            "name: must not contain control characters",
        ),
        (
            json!({"name": "bootstrap"}),
            "name: 'bootstrap' is reserved",
        ),
        (
            json!({"name": "t", "expires_in_seconds": 0}),
            "expires_in_seconds: must be a positive number of seconds",
        ),
        (
            json!({"name": "t", "expires_in_seconds": -5}),
            "expires_in_seconds: must be a positive number of seconds",
        ),
        (
            json!({"name": "t", "expires_in_seconds": 315_360_001}),
            "at most 315360000 (10 years)",
        ),
        (
            json!({"name": "t", "expires_in_seconds": "soon"}),
            "request body:",
        ),
        (
            json!({"name": "t", "expires_in_seconds": 1.5}),
            "request body:",
        ),
        (json!({}), "request body:"),
    ];
    for (body, message) in cases {
        let r = s.admin_post("/admin-tokens", body.clone()).await;
        assert_eq!(r.status(), 400, "{body}");
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["error"], "invalid_request", "{body}: {e}");
        let d = e["error_description"].as_str().unwrap();
        assert!(d.contains(message), "{body}: {d}");
    }
    // The longest lifetime is accepted; nothing bad was stored.
    let (_, token) = create(
        &s,
        json!({"name": "ten years", "expires_in_seconds": 315_360_000}),
    )
    .await;
    assert_eq!(status_with(&s, &token, "/agents").await, 200);
    let mut names: Vec<String> = list(&s)
        .await
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    // Made in the same second, their order is not fixed.
    names.sort_unstable();
    assert_eq!(names, ["bootstrap", "ten years"]);
    s.stop().await;
}

async fn openapi_lists_the_admin_token_paths(b: Backend) {
    let s = spawn(b).await;
    let doc: Value = s
        .http
        .get(s.url("/api/admin/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths = &doc["paths"];
    assert!(paths["/api/admin/v1/admin-tokens"]["post"].is_object());
    assert!(paths["/api/admin/v1/admin-tokens"]["get"].is_object());
    assert!(paths["/api/admin/v1/admin-tokens/{id}"]["delete"].is_object());
    for schema in ["NewAdminToken", "NewAdminTokenCreated", "AdminTokenView"] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "{schema} in components"
        );
    }
    // The merged document keeps the rest of the API and its bearer scheme.
    assert!(paths["/api/admin/v1/agents"].is_object());
    assert!(doc["components"]["securitySchemes"]["admin_token"].is_object());
    assert_eq!(doc["security"][0]["admin_token"], json!([]));
    s.stop().await;
}

/// The bootstrap token is listed (marked) and may be revoked through the
/// API; it is then refused at once. (That it stays revoked after a restart
/// with the same `WRIT_BOOTSTRAP_ADMIN_TOKEN` is checked in the service
/// tests, `admin_tokens_service.rs`.)
async fn bootstrap_token_is_listed_and_revocable(b: Backend) {
    let s = spawn(b).await;
    let tokens = list(&s).await;
    let boot = tokens
        .iter()
        .find(|t| t["bootstrap"] == true)
        .expect("bootstrap listed");
    assert_eq!(boot["name"], "bootstrap");
    assert!(boot["expires_at"].is_null());
    let boot_id = boot["id"].as_str().unwrap().to_owned();
    let (_, mine) = create(&s, json!({"name": "after bootstrap"})).await;
    let r = s
        .http
        .delete(s.url(&format!("/api/admin/v1/admin-tokens/{boot_id}")))
        .bearer_auth(&mine)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(status_with(&s, ADMIN_TOKEN, "/agents").await, 401);
    assert_eq!(status_with(&s, &mine, "/agents").await, 200);
    let r = s
        .http
        .get(s.url("/api/admin/v1/admin-tokens"))
        .bearer_auth(&mine)
        .send()
        .await
        .unwrap();
    let left: Vec<Value> = r.json().await.unwrap();
    assert!(left.iter().all(|t| t["bootstrap"] == false), "{left:?}");
    s.stop().await;
}
