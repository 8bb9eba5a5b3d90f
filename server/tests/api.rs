//! Integration tests: the real server over TLS, on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use base64::Engine;
use common::{ADMIN_PASSWORD, Backend, TestServer, spawn};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};

on_both_backends!(
    discovery_and_jwks,
    secret_post_and_basic_tokens_verify_against_jwks,
    token_endpoint_errors_follow_rfc6749,
    secret_lifecycle,
    resource_server_grants_decide_scope,
    admin_api_requires_token_and_validates,
    m2m_application_gets_tokens,
    audit_records_issuance_and_refusal,
    console_login_session_and_csrf,
);

async fn verify_with_jwks(s: &TestServer, token: &str, audience: &str) -> Value {
    let jwks: Value = s
        .http
        .get(s.url("/api/v2/iauths_system/oauth2/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.alg, Algorithm::ES256);
    let kid = header.kid.expect("kid in header");
    let jwk_json = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .expect("kid in JWKS")
        .clone();
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk_json).unwrap();
    let mut v = Validation::new(Algorithm::ES256);
    v.set_audience(&[audience]);
    v.set_issuer(&[format!("{}/api/v2/iauths_system/oauth2", s.base)]);
    jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(&jwk).unwrap(), &v)
        .expect("token verifies")
        .claims
}

async fn discovery_and_jwks(b: Backend) {
    let s = spawn(b).await;
    let r = s
        .http
        .get(s.url("/api/v2/iauths_system/oauth2/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let m: Value = r.json().await.unwrap();
    let issuer = format!("{}/api/v2/iauths_system/oauth2", s.base);
    assert_eq!(m["issuer"], issuer.as_str());
    assert_eq!(m["token_endpoint"], format!("{issuer}/token").as_str());
    assert_eq!(m["jwks_uri"], format!("{issuer}/jwks").as_str());
    assert!(
        m["token_endpoint_auth_methods_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("client_secret_basic"))
    );
    assert!(
        m["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("client_credentials"))
    );
    let r = s
        .http
        .get(s.url("/api/v2/iauths_system/oauth2/jwks"))
        .send()
        .await
        .unwrap();
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    let jwks: Value = r.json().await.unwrap();
    let k = &jwks["keys"][0];
    assert_eq!(k["kty"], "EC");
    assert_eq!(k["alg"], "ES256");
    assert!(k["kid"].as_str().unwrap().len() > 10);
    assert!(k.get("d").is_none(), "no private part in JWKS");
    s.stop().await;
}

async fn secret_post_and_basic_tokens_verify_against_jwks(b: Backend) {
    let s = spawn(b).await;
    let (agent, _, secret) = s.agent_with_secret("billing-bot").await;
    let client_id = agent["client_id"].as_str().unwrap();

    // client_secret_post
    let r = s
        .token_post(client_id, &secret, "urn:cloud:idaas:pam|.all")
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let t: Value = r.json().await.unwrap();
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["expires_in"], 3600);
    assert!(t["expires_at"].is_i64());
    let claims = verify_with_jwks(
        &s,
        t["access_token"].as_str().unwrap(),
        "urn:cloud:idaas:pam",
    )
    .await;
    assert_eq!(claims["sub"], client_id);
    assert_eq!(claims["client_id"], client_id);
    assert_eq!(claims["agent_id"], agent["agent_id"]);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3600
    );
    assert_eq!(claims["exp"], t["expires_at"]);
    assert!(
        claims["scope"]
            .as_str()
            .unwrap()
            .contains("urn:cloud:idaas:pam|cloud_account:obtain_access_credential")
    );
    assert!(claims["jti"].as_str().unwrap().len() >= 32);

    // client_secret_basic exactly as the SDK sends it: raw base64(id:secret), client_id still in the body.
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret}"));
    let r = s
        .http
        .post(s.token_url())
        .header("authorization", format!("Basic {basic}"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            (
                "scope",
                "urn:cloud:idaas:pam|cloud_account:obtain_access_credential",
            ),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let t2: Value = r.json().await.unwrap();
    assert_eq!(
        t2["scope"],
        "urn:cloud:idaas:pam|cloud_account:obtain_access_credential"
    );
    let c2 = verify_with_jwks(
        &s,
        t2["access_token"].as_str().unwrap(),
        "urn:cloud:idaas:pam",
    )
    .await;
    assert_ne!(c2["jti"], claims["jti"], "every token is freshly minted");
    s.stop().await;
}

async fn oauth_error(r: reqwest::Response) -> (u16, Value, Option<String>) {
    let status = r.status().as_u16();
    let www = r
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    let body: Value = r.json().await.expect("JSON error body");
    assert!(body["error_description"].is_string());
    assert!(body["request_id"].is_string());
    (status, body, www)
}

async fn token_endpoint_errors_follow_rfc6749(b: Backend) {
    let s = spawn(b).await;
    let (agent, _, secret) = s.agent_with_secret("err-bot").await;
    let cid = agent["client_id"].as_str().unwrap();
    let pam = "urn:cloud:idaas:pam|.all";

    let (st, e, _) = oauth_error(s.token_post(cid, "writcs_wrong", pam).await).await;
    assert_eq!((st, e["error"].as_str().unwrap()), (401, "invalid_client"));
    assert!(!e.to_string().contains(&secret));

    let (st, e, _) = oauth_error(s.token_post("app_nobody", &secret, pam).await).await;
    assert_eq!((st, e["error"].as_str().unwrap()), (401, "invalid_client"));

    let bad_basic = s
        .http
        .post(s.token_url())
        .header(
            "authorization",
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{cid}:nope"))
            ),
        )
        .form(&[("grant_type", "client_credentials"), ("scope", pam)])
        .send()
        .await
        .unwrap();
    let (st, e, www) = oauth_error(bad_basic).await;
    assert_eq!((st, e["error"].as_str().unwrap()), (401, "invalid_client"));
    assert!(www.unwrap().starts_with("Basic"));

    let (st, e, _) = oauth_error(s.token_post(cid, &secret, "https://nowhere|read").await).await;
    assert_eq!((st, e["error"].as_str().unwrap()), (400, "invalid_scope"));
    let (st, e, _) = oauth_error(s.token_post(cid, &secret, "a|x b|y").await).await;
    assert_eq!((st, e["error"].as_str().unwrap()), (400, "invalid_scope"));
    let (st, e, _) = oauth_error(
        s.token_post(cid, &secret, "urn:cloud:idaas:pam|no_such_permission")
            .await,
    )
    .await;
    assert_eq!((st, e["error"].as_str().unwrap()), (400, "invalid_scope"));

    let r = s
        .http
        .post(s.token_url())
        .form(&[("client_id", cid), ("client_secret", secret.as_str())])
        .send()
        .await
        .unwrap();
    let (st, e, _) = oauth_error(r).await;
    assert_eq!((st, e["error"].as_str().unwrap()), (400, "invalid_request"));
    let r = s
        .http
        .post(s.token_url())
        .form(&[("grant_type", "password"), ("client_id", cid)])
        .send()
        .await
        .unwrap();
    let (st, e, _) = oauth_error(r).await;
    assert_eq!(
        (st, e["error"].as_str().unwrap()),
        (400, "unsupported_grant_type")
    );
    let r = s
        .http
        .post(s.token_url())
        .body("grant_type=client_credentials&scope=a&scope=b")
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    let (st, e, _) = oauth_error(r).await;
    assert_eq!((st, e["error"].as_str().unwrap()), (400, "invalid_request"));
    let r = s
        .http
        .post(s.token_url())
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    let (st, e, _) = oauth_error(r).await;
    assert_eq!((st, e["error"].as_str().unwrap()), (400, "invalid_request"));
    let r = s
        .http
        .post(s.token_url())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![b'a'; 200_000])
        .send()
        .await
        .unwrap();
    let (st, e, _) = oauth_error(r).await;
    assert_eq!((st, e["error"].as_str().unwrap()), (413, "invalid_request"));
    let r = s
        .http
        .post(s.token_url())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![0xff, 0xfe, b'%', b'z'])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error());
    let r = s
        .http
        .post(s.token_url())
        .header("authorization", "Basic %%%")
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let (st, e, _) = oauth_error(r).await;
    assert_eq!((st, e["error"].as_str().unwrap()), (401, "invalid_client"));
    s.stop().await;
}

async fn secret_lifecycle(b: Backend) {
    let s = spawn(b).await;
    let (agent, sid, secret) = s.agent_with_secret("rotating-bot").await;
    let (id, cid) = (
        agent["id"].as_str().unwrap(),
        agent["client_id"].as_str().unwrap(),
    );
    assert_eq!(
        s.token_post(cid, &secret, "urn:cloud:idaas:pam|.all")
            .await
            .status(),
        200
    );
    s.running.writ.flush_audit().await;

    let list: Value = s
        .admin_get(&format!("/agents/{id}/client-secrets"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(
        list[0]["last_used_at"].is_i64(),
        "last used is recorded: {list}"
    );
    assert!(!list.to_string().contains(&secret), "metadata only");

    let r = s
        .admin_delete(&format!("/agents/{id}/client-secrets/{sid}"))
        .await;
    assert_eq!(r.status(), 409, "an enabled secret cannot be deleted");
    let r = s
        .admin_post(
            &format!("/agents/{id}/client-secrets/{sid}/disable"),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let (st, e, _) =
        oauth_error(s.token_post(cid, &secret, "urn:cloud:idaas:pam|.all").await).await;
    assert_eq!(
        (st, e["error"].as_str().unwrap()),
        (401, "invalid_client"),
        "a disabled secret is refused at once"
    );
    assert_eq!(
        s.admin_post(
            &format!("/agents/{id}/client-secrets/{sid}/enable"),
            json!({})
        )
        .await
        .status(),
        200
    );
    assert_eq!(
        s.token_post(cid, &secret, "urn:cloud:idaas:pam|.all")
            .await
            .status(),
        200
    );
    s.admin_post(
        &format!("/agents/{id}/client-secrets/{sid}/disable"),
        json!({}),
    )
    .await;
    assert_eq!(
        s.admin_delete(&format!("/agents/{id}/client-secrets/{sid}"))
            .await
            .status(),
        204
    );
    let list: Value = s
        .admin_get(&format!("/agents/{id}/client-secrets"))
        .await
        .json()
        .await
        .unwrap();
    assert!(list.as_array().unwrap().is_empty());
    assert_eq!(
        s.admin_delete(&format!("/agents/{id}/client-secrets/{sid}"))
            .await
            .status(),
        404
    );
    s.stop().await;
}

async fn resource_server_grants_decide_scope(b: Backend) {
    let s = spawn(b).await;
    let (agent, _, secret) = s.agent_with_secret("reader").await;
    let (id, cid) = (
        agent["id"].as_str().unwrap(),
        agent["client_id"].as_str().unwrap(),
    );
    let r = s.admin_post("/resource-servers", json!({"name": "Orders API", "audience": "https://orders.example", "permissions": ["orders:read", "orders:write"]})).await;
    assert_eq!(r.status(), 201);
    let rs: Value = r.json().await.unwrap();
    assert_eq!(rs["access_token_ttl_seconds"], 3600);
    let rs_id = rs["id"].as_str().unwrap();

    // No grant yet.
    let (st, e, _) = oauth_error(
        s.token_post(cid, &secret, "https://orders.example|orders:read")
            .await,
    )
    .await;
    assert_eq!((st, e["error"].as_str().unwrap()), (400, "invalid_scope"));

    let r = s
        .admin_post(
            &format!("/resource-servers/{rs_id}/grants"),
            json!({"client_id": cid, "permissions": ["orders:read"]}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let r = s
        .token_post(cid, &secret, "https://orders.example|orders:read")
        .await;
    assert_eq!(r.status(), 200);
    let t: Value = r.json().await.unwrap();
    let claims = verify_with_jwks(
        &s,
        t["access_token"].as_str().unwrap(),
        "https://orders.example",
    )
    .await;
    assert_eq!(claims["scope"], "https://orders.example|orders:read");
    let (st, e, _) = oauth_error(
        s.token_post(cid, &secret, "https://orders.example|orders:write")
            .await,
    )
    .await;
    assert_eq!((st, e["error"].as_str().unwrap()), (400, "invalid_scope"));
    let t = s.token(cid, &secret, "https://orders.example|.all").await;
    assert_eq!(
        t["scope"], "https://orders.example|orders:read",
        ".all yields the granted subset"
    );

    let grants: Value = s
        .admin_get(&format!("/agents/{id}/grants"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        grants.as_array().unwrap().len(),
        2,
        "PAM default grant plus this one: {grants}"
    );

    // Revoking the default PAM grant takes the PAM token away.
    let rss: Value = s.admin_get("/resource-servers").await.json().await.unwrap();
    let pam = rss
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["audience"] == "urn:cloud:idaas:pam")
        .unwrap();
    assert_eq!(pam["builtin"], true);
    let pam_id = pam["id"].as_str().unwrap();
    let pam_grants: Value = s
        .admin_get(&format!("/resource-servers/{pam_id}/grants"))
        .await
        .json()
        .await
        .unwrap();
    let g = pam_grants
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["client_id"] == cid)
        .unwrap();
    assert_eq!(g["permissions"], json!([".all"]));
    assert_eq!(
        s.admin_delete(&format!(
            "/resource-servers/{pam_id}/grants/{}",
            g["id"].as_str().unwrap()
        ))
        .await
        .status(),
        204
    );
    let (st, e, _) =
        oauth_error(s.token_post(cid, &secret, "urn:cloud:idaas:pam|.all").await).await;
    assert_eq!((st, e["error"].as_str().unwrap()), (400, "invalid_scope"));

    // Duplicate audience → 409; unknown permission in a grant → 400.
    let r = s
        .admin_post(
            "/resource-servers",
            json!({"name": "again", "audience": "https://orders.example"}),
        )
        .await;
    assert_eq!(r.status(), 409);
    let r = s
        .admin_post(
            &format!("/resource-servers/{rs_id}/grants"),
            json!({"client_id": cid, "permissions": ["orders:delete"]}),
        )
        .await;
    assert_eq!(r.status(), 400);
    s.stop().await;
}

async fn admin_api_requires_token_and_validates(b: Backend) {
    let s = spawn(b).await;
    let r = s
        .http
        .get(s.url("/api/admin/v1/agents"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = s
        .http
        .get(s.url("/api/admin/v1/agents"))
        .bearer_auth("wrong-token-wrong-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let doc: Value = s
        .http
        .get(s.url("/api/admin/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for p in [
        "/api/admin/v1/agents",
        "/api/admin/v1/m2m-applications",
        "/api/admin/v1/resource-servers/{id}/grants",
        "/api/admin/v1/{collection}/{id}/sdk-config",
    ] {
        assert!(doc["paths"].get(p).is_some(), "OpenAPI lists {p}");
    }
    let r = s
        .admin_post(
            "/agents",
            json!({"name": "x", "owner": "o", "description": "d".repeat(129)}),
        )
        .await;
    assert_eq!(r.status(), 400);
    let e: Value = r.json().await.unwrap();
    assert_eq!(
        e["error_description"],
        "description: must be at most 128 characters"
    );
    let r = s
        .admin_post("/agents", json!({"name": "", "owner": "o"}))
        .await;
    assert_eq!(r.status(), 400);
    let r = s
        .http
        .post(s.url("/api/admin/v1/agents"))
        .bearer_auth(common::ADMIN_TOKEN)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(
        r.json::<Value>().await.unwrap()["error_description"]
            .as_str()
            .unwrap()
            .starts_with("request body")
    );
    assert_eq!(s.admin_get("/agents/no-such-id").await.status(), 404);
    assert_eq!(s.admin_get("/widgets/1/client-secrets").await.status(), 404);

    let (agent, _, _) = s.agent_with_secret("cfg").await;
    let id = agent["id"].as_str().unwrap();
    let cfg: Value = s
        .admin_get(&format!(
            "/agents/{id}/sdk-config?authn_method=CLIENT_SECRET_BASIC"
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(cfg["clientId"], agent["client_id"]);
    assert_eq!(cfg["scope"], "urn:cloud:idaas:pam|.all");
    assert_eq!(cfg["tokenEndpoint"], s.token_url().as_str());
    assert_eq!(
        cfg["developerApiEndpoint"],
        s.base.trim_start_matches("https://")
    );
    assert_eq!(
        cfg["authnConfiguration"]["authnMethod"],
        "CLIENT_SECRET_BASIC"
    );
    assert_eq!(
        cfg["authnConfiguration"]["clientSecretEnvVarName"],
        "IDAAS_CLIENT_SECRET"
    );
    assert_eq!(cfg["idaasInstanceId"], s.running.writ.instance_id());
    assert_eq!(
        s.admin_get(&format!("/agents/{id}/sdk-config?authn_method=PCA"))
            .await
            .status(),
        400
    );
    let info: Value = s.admin_get("/issuer").await.json().await.unwrap();
    assert_eq!(info["tls_sha1_fingerprint"].as_str().unwrap().len(), 59);
    s.stop().await;
}

async fn m2m_application_gets_tokens(b: Backend) {
    let s = spawn(b).await;
    let r = s
        .admin_post(
            "/m2m-applications",
            json!({"name": "nightly-etl", "description": "loads data"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let app: Value = r.json().await.unwrap();
    assert!(app["agent_id"].is_null());
    let id = app["id"].as_str().unwrap();
    let sec: Value = s
        .admin_post(&format!("/m2m-applications/{id}/client-secrets"), json!({}))
        .await
        .json()
        .await
        .unwrap();
    let t: Value = s
        .token_post(
            app["client_id"].as_str().unwrap(),
            sec["client_secret"].as_str().unwrap(),
            "urn:cloud:idaas:pam|.all",
        )
        .await
        .json()
        .await
        .unwrap();
    let claims = verify_with_jwks(
        &s,
        t["access_token"].as_str().unwrap(),
        "urn:cloud:idaas:pam",
    )
    .await;
    assert!(claims.get("agent_id").is_none());
    // An M2M application is not reachable under /agents.
    assert_eq!(s.admin_get(&format!("/agents/{id}")).await.status(), 404);
    s.stop().await;
}

async fn audit_records_issuance_and_refusal(b: Backend) {
    let s = spawn(b).await;
    let (agent, _, secret) = s.agent_with_secret("audited").await;
    let (id, cid) = (
        agent["id"].as_str().unwrap(),
        agent["client_id"].as_str().unwrap(),
    );
    let t = s.token(cid, &secret, "urn:cloud:idaas:pam|.all").await;
    s.token_post(cid, "writcs_bad", "urn:cloud:idaas:pam|.all")
        .await;
    let events: Value = s
        .admin_get(&format!("/agents/{id}/audit"))
        .await
        .json()
        .await
        .unwrap();
    let events = events.as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["outcome"], "refused");
    assert_eq!(events[0]["reason"], "secret_mismatch");
    assert_eq!(events[1]["outcome"], "issued");
    assert_eq!(events[1]["method"], "client_secret_post");
    assert_eq!(events[1]["source"], "127.0.0.1");
    let claims =
        jsonwebtoken::dangerous::insecure_decode::<Value>(t["access_token"].as_str().unwrap())
            .unwrap()
            .claims;
    assert_eq!(events[1]["jti"], claims["jti"]);
    let all = serde_json::to_string(events).unwrap();
    assert!(
        !all.contains(&secret) && !all.contains("writcs_bad"),
        "no secret in the audit log"
    );
    // Requests refused before they name a client are audited too.
    let before = s.running.writ.count_audit_records().await;
    s.http
        .post(s.token_url())
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    s.running.writ.flush_audit().await;
    assert_eq!(s.running.writ.count_audit_records().await, before + 1);

    // What a caller names may hold control characters, and a NUL cannot be
    // stored in PostgreSQL text: each is refused as a client mistake, and
    // the audit writer keeps writing (a batch holding a NUL used to fail
    // and be retried for ever, stalling every later token request).
    let pam = "urn:cloud:idaas:pam|.all";
    let (st, e, _) = oauth_error(s.token_post(&format!("{cid}\0"), &secret, pam).await).await;
    assert_eq!((st, e["error"].as_str().unwrap()), (401, "invalid_client"));
    for scope in ["urn:cloud:idaas:pam|.all\0", "urn:cloud:idaas:pam\0|.all"] {
        let (st, e, _) = oauth_error(s.token_post(cid, &secret, scope).await).await;
        assert_eq!((st, e["error"].as_str().unwrap()), (400, "invalid_scope"));
    }
    let r = s.token_post(cid, &secret, pam).await;
    assert_eq!(r.status(), 200);
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        s.running.writ.flush_audit(),
    )
    .await
    .expect("the audit writer still writes");
    assert_eq!(s.running.writ.count_audit_records().await, before + 5);
    let events: Value = s
        .admin_get(&format!("/agents/{id}/audit"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(events[0]["outcome"], "issued");
    assert!(
        !events.to_string().contains("\\u0000"),
        "stored without the NUL"
    );
    s.stop().await;
}

async fn console_login_session_and_csrf(b: Backend) {
    let s = spawn(b).await;
    let login = s.url("/console/api/login");
    // Cross-site POST is refused before it reaches the server function.
    let r = s
        .http
        .post(&login)
        .header("origin", "https://evil.example")
        .form(&[("username", "admin"), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = s
        .http
        .post(&login)
        .header("sec-fetch-site", "cross-site")
        .form(&[("username", "admin"), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // A wrong password is refused with a clear message; the right one sets a strict cookie.
    let r = s
        .http
        .post(&login)
        .header("origin", &s.base)
        .header("accept", "application/json")
        .form(&[("username", "admin"), ("password", "nope")])
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    assert!(text.contains("wrong user name or password"), "{text}");
    let r = s
        .http
        .post(&login)
        .header("origin", &s.base)
        .header("accept", "application/json")
        .form(&[("username", "admin"), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("writ_session="))
        .expect("session cookie");
    assert!(
        cookie.contains("Secure")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    // A client mistake through the console is a 4xx with the message, never a 500.
    let r = s
        .http
        .post(s.url("/console/api/register_agent"))
        .header("origin", &s.base)
        .header("accept", "application/json")
        .form(&[
            ("name", ""),
            ("owner", "x"),
            ("description", ""),
            ("auth_type", "client_secret"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("agent name: is required"));
    let r = s
        .http
        .post(s.url("/console/api/get_client"))
        .header("origin", &s.base)
        .header("accept", "application/json")
        .form(&[("id", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let who = s
        .http
        .post(s.url("/console/api/whoami"))
        .header("origin", &s.base)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(who, "\"admin\"");

    // Throttling after repeated failures, even with the right password next.
    for _ in 0..6 {
        s.http
            .post(&login)
            .header("origin", &s.base)
            .form(&[("username", "admin"), ("password", "guess")])
            .send()
            .await
            .unwrap();
    }
    let text = s
        .http
        .post(&login)
        .header("origin", &s.base)
        .header("accept", "application/json")
        .form(&[("username", "admin"), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("too many failed sign-ins"), "{text}");

    // The config download needs a console session.
    let (agent, _, _) = s.agent_with_secret("dl").await;
    let anon = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(
                &std::fs::read(s.running.ca_path.as_ref().unwrap()).unwrap(),
            )
            .unwrap(),
        )
        .build()
        .unwrap();
    let r = anon
        .get(s.url(&format!(
            "/console/clients/{}/client-config.json",
            agent["id"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = s
        .http
        .get(s.url(&format!(
            "/console/clients/{}/client-config.json?authn_method=CLIENT_SECRET_POST",
            agent["id"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("client-config.json")
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_instance_signing_key_and_data() {
    let s = spawn(Backend::Sqlite).await;
    let (agent, _, secret) = s.agent_with_secret("persistent").await;
    let instance = s.running.writ.instance_id().to_owned();
    let kid = s.running.writ.signing_key().kid().to_owned();
    let dir = s.dir.clone();
    let url = s.database_url.clone();
    s.running.handle.shutdown();
    let _ = s.running.task.await;
    let mut cfg = writ_server::Config::for_tests(dir.clone(), Some(url));
    cfg.admin_password = None;
    let s2 = common::spawn_with(cfg, None).await;
    assert!(
        s2.running.generated_admin_password.is_none(),
        "admin is created once"
    );
    assert_eq!(s2.running.writ.instance_id(), instance);
    assert_eq!(s2.running.writ.signing_key().kid(), kid);
    assert_eq!(
        s2.token_post(
            agent["client_id"].as_str().unwrap(),
            &secret,
            "urn:cloud:idaas:pam|.all"
        )
        .await
        .status(),
        200
    );
    // A different WRIT_INSTANCE_ID for the same database is refused clearly.
    s2.running.handle.shutdown();
    let mut cfg = writ_server::Config::for_tests(dir.clone(), None);
    cfg.instance_id = Some("idaas_other".into());
    let err = writ_server::start(cfg).await.err().expect("refused");
    assert!(err.to_string().contains("belongs to instance"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_start_generates_admin_password_and_private_files() {
    let dir = std::env::temp_dir().join(format!("writ-it-{}", uuid::Uuid::new_v4().simple()));
    let mut cfg = writ_server::Config::for_tests(dir.clone(), None);
    cfg.admin_password = None;
    let s = common::spawn_with(cfg, None).await;
    let pw = s
        .running
        .generated_admin_password
        .clone()
        .expect("generated password");
    assert!(pw.len() >= 20);
    assert!(s.running.writ.instance_id().starts_with("idaas_"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in ["master.key", "tls-key.pem"] {
            let mode = std::fs::metadata(dir.join(f)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{f}");
        }
    }
    // Signing keys live in the database (sealed), shared by replicas.
    assert!(!dir.join("signing-key.pem").exists());
    assert!(dir.join("ca.pem").exists());
    let ok = s.running.writ.login("admin", &pw, "127.0.0.1").await;
    assert!(ok.is_ok());
    s.stop().await;
}

/// A data directory from before keys moved into the database: its
/// `signing-key.pem` becomes the database's first key, so tokens already
/// issued keep verifying.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_data_directorys_signing_key_is_imported_once() {
    let dir = std::env::temp_dir().join(format!("writ-it-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let (old, pem) = writ_core::signing::SigningKey::generate().unwrap();
    std::fs::write(dir.join("signing-key.pem"), pem).unwrap();
    let cfg = writ_server::Config::for_tests(dir.clone(), None);
    let s = common::spawn_with(cfg, None).await;
    assert_eq!(s.running.writ.signing_key().kid(), old.kid());
    let jwks: Value = s
        .http
        .get(s.url("/api/v2/iauths_system/oauth2/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"][0]["kid"], old.kid());
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_tls_files_are_served_instead_of_the_local_ca() {
    // An operator's own certificate (here from a CA this test makes).
    let dir = std::env::temp_dir().join(format!("writ-it-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let pki =
        writ_core::tls::create_local_pki(&["localhost".into(), "127.0.0.1".into()], 1_790_000_000)
            .unwrap();
    let (cert, key) = (dir.join("op-cert.pem"), dir.join("op-key.pem"));
    std::fs::write(&cert, &pki.server_cert_pem).unwrap();
    std::fs::write(&key, &pki.server_key_pem).unwrap();
    let mut cfg = writ_server::Config::for_tests(dir.join("data"), None);
    cfg.tls_cert = Some(cert);
    cfg.tls_key = Some(key);
    let running = writ_server::start(cfg).await.unwrap();
    assert!(
        running.ca_path.is_none(),
        "no local CA when TLS files are given"
    );
    assert!(!dir.join("data/ca.pem").exists());
    let http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(pki.ca_cert_pem.as_bytes()).unwrap())
        .build()
        .unwrap();
    let r = http
        .get(format!("{}/healthz", running.public_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        running.writ.issuer_info().tls_sha1_fingerprint,
        writ_core::tls::sha1_fingerprint(&pki.server_cert_pem),
        "the fingerprint shown is that of the certificate served"
    );
    running.handle.shutdown();
    let _ = std::fs::remove_dir_all(dir);
}
