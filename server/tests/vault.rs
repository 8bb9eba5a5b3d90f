//! The vault's master key: sealed client secrets for client_secret_jwt,
//! nothing in plaintext at rest, rotation with online re-wrap, and a wrong
//! master key refused at start without touching the data.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use base64::Engine;
use common::{Backend, TestServer, now, spawn, spawn_with};
use serde_json::{Value, json};

on_both_backends!(
    client_secret_jwt_only_for_secrets_that_allow_it,
    credentials_vault_and_developer_api,
    business_types_and_their_developer_api_labels,
    access_key_pairs_are_sealed_and_obtained_whole,
);

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
    // The sealed client secret and the signing key (sealed in the database).
    assert_eq!(r["rewrapped"], 2, "{r}");
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

async fn obtain(s: &TestServer, instance: &str, bearer: Option<&str>, ident: &str) -> (u16, Value) {
    let mut r = s
        .http
        .get(s.url(&format!(
            "/v2/{instance}/credentials/_/actions/obtain?credentialIdentifier={ident}"
        )))
        .header("x-acs-action", "ObtainCredential");
    if let Some(b) = bearer {
        r = r.header("authorization", format!("Bearer {b}"));
    }
    let r = r.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn credentials_vault_and_developer_api(b: Backend) {
    let s = spawn(b).await;
    let instance: Value = s.admin_get("/issuer").await.json().await.unwrap();
    let instance = instance["instance_id"].as_str().unwrap().to_owned();
    let api_key = format!("sk-test-{}", uuid::Uuid::new_v4().simple());
    let r = s.admin_post("/credentials", json!({"name": "Search API", "business_type": "saas", "identifier": "search-api", "api_key": api_key})).await;
    assert_eq!(r.status(), 201);
    let cred: Value = r.json().await.unwrap();
    assert!(!cred.to_string().contains(&api_key));
    assert_eq!(cred["secure_storage"], "Default Encrypted Credential");
    let cid = cred["id"].as_str().unwrap();
    // Duplicate identifier → 409; bad business type → 400.
    assert_eq!(s.admin_post("/credentials", json!({"name": "x", "business_type": "saas", "identifier": "search-api", "api_key": "k"})).await.status(), 409);
    assert_eq!(
        s.admin_post(
            "/credentials",
            json!({"name": "x", "business_type": "crm", "identifier": "other", "api_key": "k"})
        )
        .await
        .status(),
        400
    );

    let (client_id, secret, bearer) = s.agent_with_pam_bearer("vault-reader").await;

    // No grant → 403 with the numeric code the PAM client needs.
    let (st, body) = obtain(&s, &instance, Some(&bearer), "search-api").await;
    assert_eq!((st, body["code"].as_str()), (403, Some("403")), "{body}");
    let r = s
        .admin_post(
            &format!("/credentials/{cid}/grants"),
            json!({"client_id": client_id}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let (st, body) = obtain(&s, &instance, Some(&bearer), "search-api").await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(
        body["credentialContent"]["apiKeyContent"]["apiKey"],
        api_key.as_str()
    );
    assert_eq!(body["credentialScenarioLabel"], "saas");
    assert!(
        body["createTime"].as_i64().unwrap() > 1_000_000_000_000,
        "milliseconds"
    );

    // Edit: blank keeps the key, a value replaces it.
    let r = s
        .admin_patch(
            &format!("/credentials/{cid}"),
            json!({"name": "Search API (prod)", "api_key": ""}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        obtain(&s, &instance, Some(&bearer), "search-api").await.1["credentialContent"]["apiKeyContent"]
            ["apiKey"],
        api_key.as_str()
    );
    let rotated = format!("sk-rotated-{}", uuid::Uuid::new_v4().simple());
    s.admin_patch(&format!("/credentials/{cid}"), json!({"api_key": rotated}))
        .await;
    assert_eq!(
        obtain(&s, &instance, Some(&bearer), "search-api").await.1["credentialContent"]["apiKeyContent"]
            ["apiKey"],
        rotated.as_str()
    );

    // Bearers that must not work: none, garbage, another audience, another instance.
    assert_eq!(obtain(&s, &instance, None, "search-api").await.0, 401);
    assert_eq!(
        obtain(&s, &instance, Some("not-a-jwt"), "search-api")
            .await
            .0,
        401
    );
    let rs: Value = s
        .admin_post(
            "/resource-servers",
            json!({"name": "api", "audience": "https://api.example", "permissions": ["read"]}),
        )
        .await
        .json()
        .await
        .unwrap();
    s.admin_post(
        &format!("/resource-servers/{}/grants", rs["id"].as_str().unwrap()),
        json!({"client_id": client_id, "permissions": [".all"]}),
    )
    .await;
    let other = s
        .token(&client_id, &secret, "https://api.example|read")
        .await;
    let (st, body) = obtain(&s, &instance, other["access_token"].as_str(), "search-api").await;
    assert_eq!(st, 401, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("audience")
    );
    assert_eq!(
        obtain(&s, "idaas_elsewhere", Some(&bearer), "search-api")
            .await
            .0,
        404
    );
    assert_eq!(obtain(&s, &instance, Some(&bearer), "unknown").await.0, 404);

    // Disable → refused; delete only when disabled.
    let r = s
        .http
        .delete(s.url(&format!("/api/admin/v1/credentials/{cid}")))
        .bearer_auth(common::ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    s.admin_post(&format!("/credentials/{cid}/disable"), json!({}))
        .await;
    assert_eq!(
        obtain(&s, &instance, Some(&bearer), "search-api").await.0,
        403
    );

    // Nothing in plaintext at rest: the SQLite file, or a PostgreSQL dump.
    s.running.writ.flush_audit().await;
    let at_rest: Vec<u8> = match b {
        Backend::Sqlite => [
            std::fs::read(s.dir.join("writ.db")).unwrap(),
            std::fs::read(s.dir.join("writ.db-wal")).unwrap_or_default(),
        ]
        .concat(),
        Backend::Postgres => {
            let db = s.database_url.rsplit('/').next().unwrap().to_owned();
            let out = std::process::Command::new("pg_dump")
                .args(["-h", "127.0.0.1", "-U", "root", &db])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                String::from_utf8_lossy(&out.stdout).contains("credentials"),
                "the dump has the table"
            );
            out.stdout
        }
    };
    for plain in [&api_key, &rotated, &secret] {
        assert!(
            !at_rest.windows(plain.len()).any(|w| w == plain.as_bytes()),
            "plaintext at rest"
        );
    }
    let r = s
        .http
        .delete(s.url(&format!("/api/admin/v1/credentials/{cid}")))
        .bearer_auth(common::ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    s.stop().await;
}

/// A secret may be added with no body at all, or an empty body under a JSON
/// content type (as `curl -X POST -H 'Content-Type: application/json'` sends).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_secret_body_is_optional() {
    let s = spawn(Backend::Sqlite).await;
    let agent: Value = s
        .admin_post("/agents", json!({"name": "nobody", "owner": "t"}))
        .await
        .json()
        .await
        .unwrap();
    let url = s.url(&format!(
        "/api/admin/v1/agents/{}/client-secrets",
        agent["id"].as_str().unwrap()
    ));
    let r = s
        .http
        .post(&url)
        .bearer_auth(common::ADMIN_TOKEN)
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = s
        .http
        .post(&url)
        .bearer_auth(common::ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = s
        .http
        .post(&url)
        .bearer_auth(common::ADMIN_TOKEN)
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    s.stop().await;
}

/// `business_type`: `llm` and `external_service` (the pinned names), `saas`
/// kept as an alias stored and answered as `external_service`, anything else
/// 400; the developer API's `credentialScenarioLabel` stays `llm` / `saas`,
/// for rows written before the rename too.
async fn business_types_and_their_developer_api_labels(b: Backend) {
    let s = spawn(b).await;
    let instance: Value = s.admin_get("/issuer").await.json().await.unwrap();
    let instance = instance["instance_id"].as_str().unwrap().to_owned();
    let (client_id, _, bearer) = s.agent_with_pam_bearer("labels").await;
    let mut ids = Vec::new();
    for (given, stored, label) in [
        ("llm", "llm", "llm"),
        ("external_service", "external_service", "saas"),
        ("saas", "external_service", "saas"),
        (" external_service ", "external_service", "saas"),
    ] {
        let ident = format!("k-{}", ids.len());
        let r = s
            .admin_post(
                "/credentials",
                json!({"name": given, "business_type": given, "identifier": ident, "api_key": "k"}),
            )
            .await;
        assert_eq!(r.status(), 201, "{given}");
        let cred: Value = r.json().await.unwrap();
        assert_eq!(cred["business_type"], stored, "{given}");
        let cid = cred["id"].as_str().unwrap().to_owned();
        let r = s
            .admin_post(
                &format!("/credentials/{cid}/grants"),
                json!({"client_id": client_id}),
            )
            .await;
        assert_eq!(r.status(), 201);
        let (st, body) = obtain(&s, &instance, Some(&bearer), &ident).await;
        assert_eq!(st, 200, "{body}");
        assert_eq!(body["credentialScenarioLabel"], label, "{given}");
        ids.push((cid, ident));
    }
    for bogus in ["bogus", "SAAS", "External Service", ""] {
        let r = s
            .admin_post(
                "/credentials",
                json!({"name": "x", "business_type": bogus, "identifier": "bogus", "api_key": "k"}),
            )
            .await;
        assert_eq!(r.status(), 400, "{bogus:?}");
        let e: Value = r.json().await.unwrap();
        assert!(
            e["error_description"]
                .as_str()
                .unwrap()
                .contains("business_type must be llm"),
            "{e}"
        );
    }
    // Edit: `saas` is accepted there too; `bogus` is refused, nothing changed.
    let (llm_id, llm_ident) = &ids[0];
    let r = s
        .admin_patch(
            &format!("/credentials/{llm_id}"),
            json!({"business_type": "saas"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.unwrap()["business_type"],
        "external_service"
    );
    let r = s
        .admin_patch(
            &format!("/credentials/{llm_id}"),
            json!({"business_type": "bogus"}),
        )
        .await;
    assert_eq!(r.status(), 400);
    let (_, body) = obtain(&s, &instance, Some(&bearer), llm_ident).await;
    assert_eq!(body["credentialScenarioLabel"], "saas");

    // A row written before the rename holds `saas`: the admin API answers
    // `external_service`, the developer API `saas`.
    use sea_orm::{ConnectionTrait, Database};
    let db = Database::connect(&s.database_url).await.unwrap();
    let (legacy_id, legacy_ident) = &ids[1];
    db.execute_unprepared(&format!(
        "UPDATE credentials SET business_type = 'saas' WHERE id = '{legacy_id}'"
    ))
    .await
    .unwrap();
    drop(db);
    let view: Value = s
        .admin_get(&format!("/credentials/{legacy_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(view["business_type"], "external_service");
    let (_, body) = obtain(&s, &instance, Some(&bearer), legacy_ident).await;
    assert_eq!(body["credentialScenarioLabel"], "saas");
    s.stop().await;
}

/// Issue 13: the AK/SK type of seed 002: AccessKey ID and Secret sealed
/// together, never shown back, obtained whole by a granted workload.
async fn access_key_pairs_are_sealed_and_obtained_whole(b: Backend) {
    let s = spawn(b).await;
    let instance: Value = s.admin_get("/issuer").await.json().await.unwrap();
    let instance = instance["instance_id"].as_str().unwrap().to_owned();
    let secret = format!("ak-secret-{}", uuid::Uuid::new_v4().simple());
    let r = s
        .admin_post(
            "/credentials",
            json!({"name": "Cloud account", "business_type": "external_service", "identifier": "cloud-ak",
                "credential_type": "ak_sk", "access_key_id": "LTAI5tWritTest", "access_key_secret": secret}),
        )
        .await;
    let st = r.status();
    let cred: Value = r.json().await.unwrap();
    assert_eq!(st, 201, "{cred}");
    assert_eq!(cred["credential_type"], "ak_sk");
    assert!(!cred.to_string().contains(&secret));
    assert!(
        !cred.to_string().contains("LTAI5tWritTest"),
        "the id is sealed too"
    );
    let cid = cred["id"].as_str().unwrap();
    for bad in [
        json!({"name": "x", "business_type": "llm", "identifier": "x1", "credential_type": "ak_sk", "access_key_id": "id"}),
        json!({"name": "x", "business_type": "llm", "identifier": "x2", "credential_type": "ak_sk", "access_key_secret": "s"}),
        json!({"name": "x", "business_type": "llm", "identifier": "x3", "credential_type": "password", "api_key": "k"}),
    ] {
        let r = s.admin_post("/credentials", bad.clone()).await;
        let st = r.status();
        let body: Value = r.json().await.unwrap();
        assert_eq!(st, 400, "{bad}: {body}");
    }

    let (client_id, _, bearer) = s.agent_with_pam_bearer("ak-reader").await;
    assert_eq!(
        s.admin_post(
            &format!("/credentials/{cid}/grants"),
            json!({"client_id": client_id})
        )
        .await
        .status(),
        201
    );
    let (st, body) = obtain(&s, &instance, Some(&bearer), "cloud-ak").await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["credentialType"], "ak_sk");
    let pair = &body["credentialContent"]["akSkContent"];
    assert_eq!(pair["accessKeyId"], "LTAI5tWritTest");
    assert_eq!(pair["accessKeySecret"], secret.as_str());

    // A new pair replaces the old one whole; half a pair is refused.
    let r = s
        .admin_patch(
            &format!("/credentials/{cid}"),
            json!({"access_key_id": "LTAI5tOther"}),
        )
        .await;
    assert_eq!(r.status(), 400);
    let r = s
        .admin_patch(
            &format!("/credentials/{cid}"),
            json!({"access_key_id": "LTAI5tRotated", "access_key_secret": "rotated-secret"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let (_, body) = obtain(&s, &instance, Some(&bearer), "cloud-ak").await;
    assert_eq!(
        body["credentialContent"]["akSkContent"],
        json!({"accessKeyId": "LTAI5tRotated", "accessKeySecret": "rotated-secret"})
    );
    s.stop().await;
}
