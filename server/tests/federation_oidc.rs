//! OIDC federated credentials end to end over TLS, on both backends: a
//! Kubernetes-shaped token from an issuer this test makes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use base64::Engine;
use common::{Backend, TestServer, now, spawn, spawn_configured};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

on_both_backends!(
    kubernetes_token_gets_a_writ_token,
    cloud_workload_tokens_get_writ_tokens,
    provider_and_credential_rules,
    discovery_jwks_rotation_and_ssrf_guard,
    an_edited_verification_moves_who_passes,
);

const TYPE: &str = "urn:cloud:idaas:params:oauth:client-assertion-type:id-token-bearer";
const ISSUER: &str = "https://oidc.cluster-1.example";

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

struct Issuer(rcgen::KeyPair);
impl Issuer {
    fn new() -> Self {
        Self(rcgen::KeyPair::generate().unwrap())
    }
    fn jwks(&self) -> Value {
        let raw = self.0.public_key_raw();
        json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "sa-key-1", "use": "sig", "alg": "ES256", "x": b64(&raw[1..33]), "y": b64(&raw[33..65])}]})
    }
    /// Any claims, signed as this issuer's `sa-key-1`.
    fn sign(&self, claims: &Value) -> String {
        let mut h = Header::new(Algorithm::ES256);
        h.kid = Some("sa-key-1".into());
        jsonwebtoken::encode(
            &h,
            claims,
            &EncodingKey::from_ec_pem(self.0.serialize_pem().as_bytes()).unwrap(),
        )
        .unwrap()
    }
    fn token(&self, sub: &str, patch: Value) -> String {
        let mut c = json!({"iss": ISSUER, "aud": ["writ-federation"], "sub": sub, "iat": now(), "nbf": now(), "exp": now() + 3600,
            "kubernetes.io": {"namespace": "payments", "serviceaccount": {"name": "billing-bot", "uid": "6f1e…"}}});
        for (k, v) in patch.as_object().unwrap() {
            c[k] = v.clone();
        }
        let mut h = Header::new(Algorithm::ES256);
        h.kid = Some("sa-key-1".into());
        jsonwebtoken::encode(
            &h,
            &c,
            &EncodingKey::from_ec_pem(self.0.serialize_pem().as_bytes()).unwrap(),
        )
        .unwrap()
    }
}

async fn setup(s: &TestServer, issuer: &Issuer) -> (Value, Value, Value) {
    let r = s.admin_post("/federated-credential-providers", json!({"type": "oidc", "name": "cluster-1", "issuer": ISSUER, "audience": "writ-federation", "jwks": issuer.jwks()})).await;
    assert_eq!(r.status(), 201);
    let provider: Value = r.json().await.unwrap();
    let r = s
        .admin_post("/m2m-applications", json!({"name": "billing-batch"}))
        .await;
    let app: Value = r.json().await.unwrap();
    let r = s.admin_post(&format!("/m2m-applications/{}/federated-credentials", app["id"].as_str().unwrap()), json!({
        "type": "oidc", "provider_id": provider["id"], "name": "k8s-billing",
        "verification": {"mode": "kubernetes", "namespace": "payments", "service_account": "billing-bot"}})).await;
    assert_eq!(r.status(), 201);
    let cred: Value = r.json().await.unwrap();
    assert_eq!(
        cred["verification_expression"],
        "jwt.claims.sub == 'system:serviceaccount:payments:billing-bot'"
    );
    (provider, app, cred)
}

async fn post(s: &TestServer, client_id: &str, name: &str, token: &str) -> reqwest::Response {
    s.http
        .post(s.token_url())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("scope", "urn:cloud:idaas:pam|.all"),
            ("client_assertion_type", TYPE),
            ("client_assertion", token),
            ("application_federated_credential_name", name),
        ])
        .send()
        .await
        .unwrap()
}

async fn error_of(r: reqwest::Response) -> (u16, String) {
    let st = r.status().as_u16();
    let b: Value = r.json().await.unwrap();
    (st, b["error"].as_str().unwrap().to_owned())
}

async fn kubernetes_token_gets_a_writ_token(b: Backend) {
    let s = spawn(b).await;
    let issuer = Issuer::new();
    let (_, app, _) = setup(&s, &issuer).await;
    let cid = app["client_id"].as_str().unwrap();
    // As the SDK sends it: the token file's content, trailing newline included.
    let token = format!(
        "{}\n",
        issuer.token("system:serviceaccount:payments:billing-bot", json!({}))
    );
    let r = post(&s, cid, "k8s-billing", &token).await;
    assert_eq!(r.status(), 200);
    let t: Value = r.json().await.unwrap();
    let claims =
        jsonwebtoken::dangerous::insecure_decode::<Value>(t["access_token"].as_str().unwrap())
            .unwrap()
            .claims;
    assert_eq!(claims["sub"], cid);
    s.running.writ.flush_audit().await;
    let creds: Value = s
        .admin_get(&format!(
            "/m2m-applications/{}/federated-credentials",
            app["id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        creds[0]["last_used_at"].is_i64(),
        "last used moves: {creds}"
    );

    // Hostile and mistaken requests issue nothing.
    let cases = [
        (
            "other service account",
            issuer.token("system:serviceaccount:payments:intruder", json!({})),
        ),
        (
            "wrong audience",
            issuer.token(
                "system:serviceaccount:payments:billing-bot",
                json!({"aud": "kubernetes"}),
            ),
        ),
        (
            "wrong issuer",
            issuer.token(
                "system:serviceaccount:payments:billing-bot",
                json!({"iss": "https://evil.example"}),
            ),
        ),
        (
            "expired",
            issuer.token(
                "system:serviceaccount:payments:billing-bot",
                json!({"exp": now() - 600}),
            ),
        ),
        (
            "other signer",
            Issuer::new().token("system:serviceaccount:payments:billing-bot", json!({})),
        ),
    ];
    for (name, tok) in cases {
        assert_eq!(
            error_of(post(&s, cid, "k8s-billing", &tok).await).await,
            (401, "invalid_client".into()),
            "{name}"
        );
    }
    assert_eq!(
        error_of(post(&s, cid, "no-such-credential", &token).await).await,
        (401, "invalid_client".into())
    );

    // Editing the provider (JSON merge patch): the cluster's keys rotate,
    // then a trust condition; name and type are fixed; a bad edit changes
    // nothing.
    let providers: Value = s
        .admin_get("/federated-credential-providers")
        .await
        .json()
        .await
        .unwrap();
    let pid = providers[0]["id"].as_str().unwrap().to_owned();
    let path = format!("/federated-credential-providers/{pid}");
    let patch = |body: Value| s.admin_patch(&path, body);
    let rotated = Issuer::new();
    let r =
        patch(json!({"jwks": rotated.jwks(), "description": "cluster-1 after key rotation"})).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["description"], "cluster-1 after key rotation");
    assert_eq!(v["name"], "cluster-1");
    let fresh = rotated.token("system:serviceaccount:payments:billing-bot", json!({}));
    assert_eq!(post(&s, cid, "k8s-billing", &fresh).await.status(), 200);
    assert_eq!(
        error_of(
            post(
                &s,
                cid,
                "k8s-billing",
                &issuer.token("system:serviceaccount:payments:billing-bot", json!({}))
            )
            .await
        )
        .await,
        (401, "invalid_client".into()),
        "the old key no longer verifies"
    );
    for bad in [
        json!({"name": "renamed"}),
        json!({"type": "pca"}),
        json!({"trust_condition": "jwt.claims.sub ==="}),
        json!({"issuer": ""}),
    ] {
        assert_eq!(patch(bad.clone()).await.status(), 400, "{bad}");
    }
    let r =
        patch(json!({"trust_condition": "jwt.claims.'kubernetes.io'.namespace == 'other'"})).await;
    assert_eq!(r.status(), 200);
    let fresh = rotated.token("system:serviceaccount:payments:billing-bot", json!({}));
    assert_eq!(
        error_of(post(&s, cid, "k8s-billing", &fresh).await).await,
        (401, "invalid_client".into()),
        "the new trust condition applies at once"
    );
    let r = patch(json!({"trust_condition": null})).await;
    let v: Value = r.json().await.unwrap();
    assert!(v["trust_condition"].is_null(), "{v}");
    let fresh = rotated.token("system:serviceaccount:payments:billing-bot", json!({}));
    assert_eq!(post(&s, cid, "k8s-billing", &fresh).await.status(), 200);
    s.stop().await;
}

async fn provider_and_credential_rules(b: Backend) {
    let s = spawn(b).await;
    let issuer = Issuer::new();
    let (provider, app, cred) = setup(&s, &issuer).await;
    let (pid, aid, fid) = (
        provider["id"].as_str().unwrap(),
        app["id"].as_str().unwrap(),
        cred["id"].as_str().unwrap(),
    );
    let cid = app["client_id"].as_str().unwrap();
    let good = issuer.token("system:serviceaccount:payments:billing-bot", json!({}));

    // Duplicates → 409; bad input → 400 with the field named.
    let r = s.admin_post("/federated-credential-providers", json!({"type": "oidc", "name": "cluster-1", "issuer": ISSUER, "audience": "a", "jwks": issuer.jwks()})).await;
    assert_eq!(r.status(), 409);
    let r = s.admin_post(&format!("/m2m-applications/{aid}/federated-credentials"), json!({"type": "oidc", "provider_id": pid, "name": "k8s-billing", "verification": {"mode": "principal_id", "principal_id": "x"}})).await;
    assert_eq!(r.status(), 409);
    let r = s.admin_post(&format!("/m2m-applications/{aid}/federated-credentials"), json!({"type": "oidc", "provider_id": pid, "name": "ok", "verification": {"mode": "kubernetes", "namespace": "payments"}})).await;
    assert_eq!(r.status(), 400);
    assert!(
        r.json::<Value>().await.unwrap()["error_description"]
            .as_str()
            .unwrap()
            .starts_with("Service Account")
    );
    let r = s.admin_post("/federated-credential-providers", json!({"type": "oidc", "name": "Bad Name", "issuer": ISSUER, "audience": "a", "jwks": issuer.jwks()})).await;
    assert_eq!(r.status(), 400);

    // Disabled credential, then disabled provider: refused at once.
    s.admin_post(
        &format!("/m2m-applications/{aid}/federated-credentials/{fid}/disable"),
        json!({}),
    )
    .await;
    assert_eq!(
        error_of(post(&s, cid, "k8s-billing", &good).await).await.1,
        "invalid_client"
    );
    s.admin_post(
        &format!("/m2m-applications/{aid}/federated-credentials/{fid}/enable"),
        json!({}),
    )
    .await;
    assert_eq!(post(&s, cid, "k8s-billing", &good).await.status(), 200);
    s.admin_post(
        &format!("/federated-credential-providers/{pid}/disable"),
        json!({}),
    )
    .await;
    assert_eq!(
        error_of(post(&s, cid, "k8s-billing", &good).await).await.1,
        "invalid_client"
    );

    // Delete rules: a provider in use cannot go; a credential must be disabled first.
    assert_eq!(
        s.admin_delete(&format!("/federated-credential-providers/{pid}"))
            .await
            .status(),
        409
    );
    assert_eq!(
        s.admin_delete(&format!(
            "/m2m-applications/{aid}/federated-credentials/{fid}"
        ))
        .await
        .status(),
        409
    );
    s.admin_post(
        &format!("/m2m-applications/{aid}/federated-credentials/{fid}/disable"),
        json!({}),
    )
    .await;
    assert_eq!(
        s.admin_delete(&format!(
            "/m2m-applications/{aid}/federated-credentials/{fid}"
        ))
        .await
        .status(),
        204
    );
    assert_eq!(
        s.admin_delete(&format!("/federated-credential-providers/{pid}"))
            .await
            .status(),
        204
    );

    // SDK configuration for OIDC names the credential and the environment.
    let r = s.admin_post("/federated-credential-providers", json!({"type": "oidc", "name": "cluster-2", "issuer": ISSUER, "audience": "writ-federation", "jwks": issuer.jwks()})).await;
    let p2: Value = r.json().await.unwrap();
    s.admin_post(&format!("/m2m-applications/{aid}/federated-credentials"), json!({"type": "oidc", "provider_id": p2["id"], "name": "k8s-2", "verification": {"mode": "principal_id", "principal_id": "system:serviceaccount:payments:billing-bot"}})).await;
    let cfg: Value = s.admin_get(&format!("/m2m-applications/{aid}/sdk-config?authn_method=OIDC&federated_credential_name=k8s-2&oidc_token_file_path=/var/run/token")).await.json().await.unwrap();
    assert_eq!(cfg["authnConfiguration"]["authnMethod"], "OIDC");
    assert_eq!(
        cfg["authnConfiguration"]["applicationFederatedCredentialName"],
        "k8s-2"
    );
    assert_eq!(
        cfg["authnConfiguration"]["clientDeployEnvironment"],
        "KUBERNETES"
    );
    assert_eq!(
        cfg["authnConfiguration"]["oidcTokenFilePath"],
        "/var/run/token"
    );
    assert_eq!(
        post(&s, cid, "k8s-2", &good).await.status(),
        200,
        "principal_id mode"
    );
    s.stop().await;
}

/// A loopback OIDC issuer (GitHub-Actions-shaped tokens) with discovery and
/// a JWKS that can rotate; it counts JWKS fetches.
struct LoopbackIssuer {
    url: String,
    jwks: std::sync::Arc<std::sync::Mutex<Value>>,
    fetches: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl LoopbackIssuer {
    async fn start() -> Self {
        use axum::{Json, Router, routing::get};
        use std::sync::{Arc, Mutex, atomic::AtomicUsize, atomic::Ordering};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let jwks = Arc::new(Mutex::new(json!({"keys": []})));
        let fetches = Arc::new(AtomicUsize::new(0));
        let discovery = json!({"issuer": url, "jwks_uri": format!("{url}/.well-known/jwks")});
        let (j, f) = (jwks.clone(), fetches.clone());
        let app = Router::new()
            .route(
                "/.well-known/openid-configuration",
                get(move || async move { Json(discovery) }),
            )
            .route(
                "/.well-known/jwks",
                get(move || {
                    let (j, f) = (j.clone(), f.clone());
                    async move {
                        f.fetch_add(1, Ordering::SeqCst);
                        Json(j.lock().unwrap().clone())
                    }
                }),
            );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, jwks, fetches }
    }
    fn publish(&self, keys: &[(&str, &Issuer)]) {
        let list: Vec<Value> = keys
            .iter()
            .map(|(kid, i)| {
                let mut k = i.jwks()["keys"][0].clone();
                k["kid"] = json!(kid);
                k
            })
            .collect();
        *self.jwks.lock().unwrap() = json!({"keys": list});
    }
    fn fetches(&self) -> usize {
        self.fetches.load(std::sync::atomic::Ordering::SeqCst)
    }
    fn token(&self, key: &Issuer, kid: &str, repo: &str) -> String {
        let c = json!({"iss": self.url, "aud": "writ-github", "sub": format!("repo:{repo}:ref:refs/heads/main"),
            "repository": repo, "ref": "refs/heads/main", "workflow": "deploy", "iat": now(), "exp": now() + 600});
        let mut h = Header::new(Algorithm::ES256);
        h.kid = Some(kid.into());
        jsonwebtoken::encode(
            &h,
            &c,
            &EncodingKey::from_ec_pem(key.0.serialize_pem().as_bytes()).unwrap(),
        )
        .unwrap()
    }
}

async fn discovery_jwks_rotation_and_ssrf_guard(b: Backend) {
    let s = spawn_configured(b, |c| c.jwks_refetch_secs = 2).await;
    let issuer = LoopbackIssuer::start().await;
    let (k1, k2) = (Issuer::new(), Issuer::new());
    issuer.publish(&[("k1", &k1)]);

    // The SSRF guard: http and loopback only for providers marked for local testing.
    let body = |allow: bool| {
        json!({"type": "oidc", "name": "github", "issuer": issuer.url, "audience": "writ-github",
        "allow_insecure_local_endpoints": allow})
    };
    let r = s
        .admin_post("/federated-credential-providers", body(false))
        .await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("https"));
    let r = s.admin_post("/federated-credential-providers", json!({"type": "oidc", "name": "metadata", "issuer": "https://169.254.169.254", "audience": "x"})).await;
    assert_eq!(r.status(), 400, "cloud metadata address");
    let r = s
        .admin_post(
            "/federated-credential-providers",
            json!({"type": "oidc", "name": "nowhere", "issuer": issuer.url, "audience": "x",
        "jwks_uri": format!("{}/missing", issuer.url), "allow_insecure_local_endpoints": true}),
        )
        .await;
    assert_eq!(
        r.status(),
        400,
        "a JWKS URL that does not answer is an error on save"
    );
    assert!(r.text().await.unwrap().contains("HTTP 404"));

    let r = s
        .admin_post("/federated-credential-providers", body(true))
        .await;
    assert_eq!(r.status(), 201);
    let provider: Value = r.json().await.unwrap();
    assert_eq!(provider["key_source"], "discovery");
    let app: Value = s
        .admin_post("/m2m-applications", json!({"name": "deployer"}))
        .await
        .json()
        .await
        .unwrap();
    let r = s.admin_post(&format!("/m2m-applications/{}/federated-credentials", app["id"].as_str().unwrap()), json!({
        "type": "oidc", "provider_id": provider["id"], "name": "github-main",
        "verification": {"mode": "expression", "expression": "jwt.claims.repository == 'acme/payments' && jwt.claims.ref == 'refs/heads/main'"}})).await;
    assert_eq!(r.status(), 201);
    let cid = app["client_id"].as_str().unwrap();

    let r = post(
        &s,
        cid,
        "github-main",
        &issuer.token(&k1, "k1", "acme/payments"),
    )
    .await;
    assert_eq!(r.status(), 200);
    let after_first = issuer.fetches();
    // Cached: no fetch per token.
    assert_eq!(
        post(
            &s,
            cid,
            "github-main",
            &issuer.token(&k1, "k1", "acme/payments")
        )
        .await
        .status(),
        200
    );
    assert_eq!(issuer.fetches(), after_first);
    // Another repository is refused by the expression.
    assert_eq!(
        error_of(
            post(
                &s,
                cid,
                "github-main",
                &issuer.token(&k1, "k1", "acme/other")
            )
            .await
        )
        .await,
        (401, "invalid_client".into())
    );
    // An unknown kid right after a fetch does not trigger another (rate limit).
    assert_eq!(
        error_of(
            post(
                &s,
                cid,
                "github-main",
                &issuer.token(&k2, "made-up", "acme/payments")
            )
            .await
        )
        .await,
        (401, "invalid_client".into())
    );
    assert_eq!(issuer.fetches(), after_first);
    // Rotation: the issuer publishes k2; a token naming it makes Writ refetch.
    issuer.publish(&[("k2", &k2)]);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let r = post(
        &s,
        cid,
        "github-main",
        &issuer.token(&k2, "k2", "acme/payments"),
    )
    .await;
    assert_eq!(r.status(), 200, "rotated key");
    assert_eq!(issuer.fetches(), after_first + 1);
    s.stop().await;
}

/// Tokens shaped as the seeds' cloud environments issue them, each from its
/// own issuer (keys pasted as JWKS, as for issuers Writ cannot reach):
/// Alibaba ACK RRSA (a Kubernetes service-account token for
/// `sts.aliyuncs.com`, pinned by the service account's UID through the
/// Kubernetes mode's optional Principal ID), an Azure managed identity
/// (v1 token, expression over tenant and identity resource ID) and a Google
/// Cloud metadata-server identity token (`format=full`, expression over the
/// service account and project), sent as the docs' raw token-endpoint call.
async fn cloud_workload_tokens_get_writ_tokens(b: Backend) {
    let s = spawn(b).await;
    let r = s
        .admin_post("/m2m-applications", json!({"name": "cloud-workloads"}))
        .await;
    let app: Value = r.json().await.unwrap();
    let (app_id, cid) = (
        app["id"].as_str().unwrap().to_owned(),
        app["client_id"].as_str().unwrap().to_owned(),
    );
    let uid = "3f8e21c4-6a0b-4d7e-9c15-2b7f0e9d4a61";
    let tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    let mi = "/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/resourcegroups/billing/providers/Microsoft.ManagedIdentity/userAssignedIdentities/billing-mi".to_string();
    struct Case {
        name: &'static str,
        issuer: String,
        audience: &'static str,
        verification: Value,
        good: Value,
        bad: Value,
    }
    let ack = "https://oidc-ack-cn-hangzhou.oss-cn-hangzhou-internal.aliyuncs.com/c4f1e2d3a5b6";
    let cases = [
        Case {
            name: "ack-rrsa",
            issuer: ack.into(),
            audience: "sts.aliyuncs.com",
            verification: json!({"mode": "kubernetes", "namespace": "billing", "service_account": "invoice-bot", "principal_id": uid}),
            good: json!({"iss": ack, "aud": ["sts.aliyuncs.com"], "sub": "system:serviceaccount:billing:invoice-bot",
                "iat": now(), "nbf": now(), "exp": now() + 3600,
                "kubernetes.io": {"namespace": "billing", "pod": {"name": "invoice-7d9f", "uid": "a1"},
                                  "serviceaccount": {"name": "invoice-bot", "uid": uid}}}),
            // Same name, re-created service account: another UID.
            bad: json!({"iss": ack, "aud": ["sts.aliyuncs.com"], "sub": "system:serviceaccount:billing:invoice-bot",
                "iat": now(), "nbf": now(), "exp": now() + 3600,
                "kubernetes.io": {"namespace": "billing", "serviceaccount": {"name": "invoice-bot", "uid": "0000"}}}),
        },
        Case {
            name: "azure-mi",
            issuer: format!("https://sts.windows.net/{tenant}/"),
            audience: "api://writ",
            verification: json!({"mode": "expression", "expression":
                format!("jwt.claims.tid == '{tenant}' && jwt.claims.xms_mirid.endsWith('/userAssignedIdentities/billing-mi')")}),
            good: json!({"iss": format!("https://sts.windows.net/{tenant}/"), "aud": "api://writ", "iat": now(), "nbf": now(), "exp": now() + 3600,
                "appid": "5e2d1c0b-aaaa-bbbb-cccc-000000000001", "appidacr": "2", "idp": format!("https://sts.windows.net/{tenant}/"),
                "oid": "9a0b8c7d-1111-2222-3333-444455556666", "sub": "9a0b8c7d-1111-2222-3333-444455556666",
                "tid": tenant, "ver": "1.0", "xms_mirid": mi}),
            bad: json!({"iss": format!("https://sts.windows.net/{tenant}/"), "aud": "api://writ", "iat": now(), "exp": now() + 3600,
                "oid": "x", "sub": "x", "tid": tenant, "ver": "1.0",
                "xms_mirid": mi.replace("billing-mi", "other-mi")}),
        },
        Case {
            name: "gcp-metadata",
            issuer: "https://accounts.google.com".into(),
            audience: "https://writ.example",
            verification: json!({"mode": "expression", "expression":
                "jwt.claims.email == 'billing@acme-prod.iam.gserviceaccount.com' && jwt.claims.email_verified && jwt.claims.google.compute_engine.project_id == 'acme-prod'"}),
            good: json!({"iss": "https://accounts.google.com", "aud": "https://writ.example", "azp": "104729380651902938475",
                "sub": "104729380651902938475", "email": "billing@acme-prod.iam.gserviceaccount.com", "email_verified": true,
                "iat": now(), "exp": now() + 3600,
                "google": {"compute_engine": {"instance_creation_timestamp": now() - 86400, "instance_id": "5528371925519401234",
                    "instance_name": "billing-1", "project_id": "acme-prod", "project_number": 271828182845u64, "zone": "europe-west1-b"}}}),
            bad: json!({"iss": "https://accounts.google.com", "aud": "https://writ.example", "sub": "1",
                "email": "billing@acme-prod.iam.gserviceaccount.com", "email_verified": true, "iat": now(), "exp": now() + 3600,
                "google": {"compute_engine": {"project_id": "acme-staging"}}}),
        },
    ];
    for c in cases {
        let key = Issuer::new();
        let r = s
            .admin_post(
                "/federated-credential-providers",
                json!({"type": "oidc", "name": c.name,
            "issuer": c.issuer, "audience": c.audience, "jwks": key.jwks()}),
            )
            .await;
        assert_eq!(r.status(), 201, "{}", c.name);
        let provider: Value = r.json().await.unwrap();
        let r = s.admin_post(&format!("/m2m-applications/{app_id}/federated-credentials"), json!({
            "type": "oidc", "provider_id": provider["id"], "name": c.name, "verification": c.verification})).await;
        assert_eq!(r.status(), 201, "{}: {}", c.name, r.text().await.unwrap());
        let r = post(&s, &cid, c.name, &key.sign(&c.good)).await;
        assert_eq!(r.status(), 200, "{}: {}", c.name, r.text().await.unwrap());
        let t: Value = r.json().await.unwrap();
        assert!(t["access_token"].as_str().unwrap().split('.').count() == 3);
        assert_eq!(
            error_of(post(&s, &cid, c.name, &key.sign(&c.bad)).await).await,
            (401, "invalid_client".into()),
            "{}",
            c.name
        );
    }
    s.stop().await;
}

/// Issue 13: a federated credential's verification is edited in place; the
/// workload it named is refused from then on and the new one passes. A
/// name in the body or an invalid expression is refused and changes
/// nothing; a disabled application is refused whatever it presents.
async fn an_edited_verification_moves_who_passes(b: Backend) {
    let s = spawn(b).await;
    let issuer = Issuer::new();
    let (_, app, cred) = setup(&s, &issuer).await;
    let cid = app["client_id"].as_str().unwrap();
    let path = format!(
        "/m2m-applications/{}/federated-credentials/{}",
        app["id"].as_str().unwrap(),
        cred["id"].as_str().unwrap()
    );
    let billing = || issuer.token("system:serviceaccount:payments:billing-bot", json!({}));
    let reports = || issuer.token("system:serviceaccount:payments:report-bot", json!({}));
    assert_eq!(post(&s, cid, "k8s-billing", &billing()).await.status(), 200);
    assert_eq!(
        error_of(post(&s, cid, "k8s-billing", &reports()).await).await,
        (401, "invalid_client".into())
    );

    let r = s
        .admin_patch(
            &path,
            json!({"description": "reports now",
                "verification": {"mode": "kubernetes", "namespace": "payments", "service_account": "report-bot"}}),
        )
        .await;
    let status = r.status();
    let edited: Value = r.json().await.unwrap();
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["name"], "k8s-billing");
    assert_eq!(edited["description"], "reports now");
    assert_eq!(
        edited["verification_expression"],
        "jwt.claims.sub == 'system:serviceaccount:payments:report-bot'"
    );
    assert_eq!(
        error_of(post(&s, cid, "k8s-billing", &billing()).await).await,
        (401, "invalid_client".into())
    );
    assert_eq!(post(&s, cid, "k8s-billing", &reports()).await.status(), 200);

    // Refused edits leave the credential as it was.
    for bad in [
        json!({"name": "renamed"}),
        json!({"verification": {"mode": "expression", "expression": "jwt.claims.sub =="}}),
        json!({"verification": {"mode": "kubernetes", "namespace": "payments"}}),
        json!({"attribute_mapping": "jwt.claims.sub +"}),
    ] {
        let r = s.admin_patch(&path, bad.clone()).await;
        assert_eq!(r.status(), 400, "{bad}");
        let body: Value = r.json().await.unwrap();
        assert!(
            body["error_description"].is_string()
                || body["message"].is_string()
                || body["error"].is_string(),
            "{body}"
        );
    }
    let list: Value = s
        .admin_get(&format!(
            "/m2m-applications/{}/federated-credentials",
            app["id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["name"], "k8s-billing");
    assert_eq!(
        list[0]["verification_expression"],
        "jwt.claims.sub == 'system:serviceaccount:payments:report-bot'"
    );
    assert_eq!(post(&s, cid, "k8s-billing", &reports()).await.status(), 200);

    // A disabled application is refused, however good its token.
    let r = s
        .admin_post(
            &format!("/m2m-applications/{}/disable", app["id"].as_str().unwrap()),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        error_of(post(&s, cid, "k8s-billing", &reports()).await).await,
        (401, "invalid_client".into())
    );
    s.stop().await;
}
