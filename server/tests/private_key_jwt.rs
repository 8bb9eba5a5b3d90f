//! `private_key_jwt` (RFC 7523) end to end over TLS, on both backends.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use common::{Backend, TestServer, now, spawn};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

on_both_backends!(
    assertion_gets_a_token_once,
    concurrent_replays_get_one_token,
    hostile_assertions_issue_nothing,
    key_lifecycle_and_validation
);

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// An agent with one registered P-256 key; returns (agent, key pair PEM).
async fn agent_with_key(s: &TestServer) -> (Value, rcgen::KeyPair) {
    let agent: Value = s
        .admin_post("/agents", json!({"name": "signer", "owner": "ops"}))
        .await
        .json()
        .await
        .unwrap();
    let kp = rcgen::KeyPair::generate().unwrap();
    let r = s
        .admin_post(
            &format!("/agents/{}/public-keys", agent["id"].as_str().unwrap()),
            json!({"pem": kp.public_key_pem()}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let k: Value = r.json().await.unwrap();
    assert_eq!(k["key_type"], "EC P-256");
    (agent, kp)
}

/// Signs like the SDK: header alg + typ only, iss = sub = client_id, aud = token URL.
fn assertion(kp: &rcgen::KeyPair, client_id: &str, aud: &str, claims_patch: Value) -> String {
    let mut claims = json!({"iss": client_id, "sub": client_id, "aud": aud, "jti": uuid::Uuid::new_v4().to_string(), "iat": now(), "exp": now() + 600});
    for (k, v) in claims_patch.as_object().unwrap() {
        claims[k] = v.clone();
    }
    let mut h = Header::new(Algorithm::ES256);
    h.typ = Some("JWT".into());
    jsonwebtoken::encode(
        &h,
        &claims,
        &EncodingKey::from_ec_pem(kp.serialize_pem().as_bytes()).unwrap(),
    )
    .unwrap()
}

async fn post(s: &TestServer, client_id: Option<&str>, a: &str) -> reqwest::Response {
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", a),
        ("scope", "urn:cloud:idaas:pam|.all"),
    ];
    if let Some(c) = client_id {
        form.push(("client_id", c));
    }
    s.http.post(s.token_url()).form(&form).send().await.unwrap()
}

async fn error_of(r: reqwest::Response) -> (u16, String, String) {
    let st = r.status().as_u16();
    let b: Value = r.json().await.unwrap();
    (
        st,
        b["error"].as_str().unwrap().into(),
        b["error_description"].as_str().unwrap().into(),
    )
}

async fn assertion_gets_a_token_once(b: Backend) {
    let s = spawn(b).await;
    let (agent, kp) = agent_with_key(&s).await;
    let cid = agent["client_id"].as_str().unwrap();
    let a = assertion(&kp, cid, &s.token_url(), json!({}));
    let r = post(&s, Some(cid), &a).await;
    assert_eq!(r.status(), 200);
    let t: Value = r.json().await.unwrap();
    assert!(t["access_token"].as_str().unwrap().len() > 100);
    // The same assertion again is a replay.
    let (st, err, desc) = error_of(post(&s, Some(cid), &a).await).await;
    assert_eq!((st, err.as_str()), (401, "invalid_client"));
    assert!(desc.contains("already used"), "{desc}");
    // A fresh one works, also without client_id in the body and with the issuer as audience.
    let issuer = s.url("/api/v2/iauths_system/oauth2");
    assert_eq!(
        post(&s, None, &assertion(&kp, cid, &issuer, json!({})))
            .await
            .status(),
        200
    );
    s.running.writ.flush_audit().await;
    let events: Value = s
        .admin_get(&format!("/agents/{}/audit", agent["id"].as_str().unwrap()))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        events
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["reason"] == "assertion_replayed"),
        "{events}"
    );
    let keys: Value = s
        .admin_get(&format!(
            "/agents/{}/public-keys",
            agent["id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert!(keys[0]["last_used_at"].is_i64());
    s.stop().await;
}

async fn concurrent_replays_get_one_token(b: Backend) {
    let s = spawn(b).await;
    let (agent, kp) = agent_with_key(&s).await;
    let cid = agent["client_id"].as_str().unwrap().to_owned();
    let a = assertion(&kp, &cid, &s.token_url(), json!({}));
    let sends = (0..12).map(|_| post(&s, Some(&cid), &a));
    let statuses: Vec<u16> = futures::future::join_all(sends)
        .await
        .into_iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|&&st| st == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&st| st == 401).count(),
        11,
        "{statuses:?}"
    );
    s.stop().await;
}

async fn hostile_assertions_issue_nothing(b: Backend) {
    let s = spawn(b).await;
    let (agent, kp) = agent_with_key(&s).await;
    let cid = agent["client_id"].as_str().unwrap();
    let tu = s.token_url();
    let cases = [
        (
            "wrong aud",
            assertion(&kp, cid, "https://elsewhere/token", json!({})),
        ),
        (
            "expired",
            assertion(
                &kp,
                cid,
                &tu,
                json!({"iat": now() - 1200, "exp": now() - 600}),
            ),
        ),
        (
            "too long-lived",
            assertion(&kp, cid, &tu, json!({"exp": now() + 7200})),
        ),
        ("no jti", assertion(&kp, cid, &tu, json!({"jti": null}))),
        (
            "other key",
            assertion(&rcgen::KeyPair::generate().unwrap(), cid, &tu, json!({})),
        ),
        ("alg none", {
            let c = base64_url(
                &json!({"iss": cid, "sub": cid, "aud": tu, "jti": "n1", "exp": now() + 60})
                    .to_string(),
            );
            format!("{}.{c}.", base64_url(r#"{"alg":"none","typ":"JWT"}"#))
        }),
        ("HS256 keyed with the public key", {
            let mut h = Header::new(Algorithm::HS256);
            h.typ = Some("JWT".into());
            jsonwebtoken::encode(
                &h,
                &json!({"iss": cid, "sub": cid, "aud": tu, "jti": "h1", "exp": now() + 60}),
                &EncodingKey::from_secret(kp.public_key_pem().as_bytes()),
            )
            .unwrap()
        }),
        ("garbage", "not.a.jwt".to_string()),
    ];
    for (name, a) in cases {
        let (st, err, _) = error_of(post(&s, Some(cid), &a).await).await;
        assert_eq!((st, err.as_str()), (401, "invalid_client"), "{name}");
    }
    // Unknown assertion type, and mixing methods.
    let r = s
        .http
        .post(tu.clone())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", "urn:example:other"),
            ("client_assertion", "x.y.z"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(r).await.1, "invalid_client");
    let a = assertion(&kp, cid, &tu, json!({}));
    let r = s
        .http
        .post(tu.clone())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", a.as_str()),
            ("client_secret", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(r).await.1, "invalid_request");
    // Disabled key: refused at once.
    let id = agent["id"].as_str().unwrap();
    let keys: Value = s
        .admin_get(&format!("/agents/{id}/public-keys"))
        .await
        .json()
        .await
        .unwrap();
    let kid = keys[0]["id"].as_str().unwrap();
    s.admin_post(
        &format!("/agents/{id}/public-keys/{kid}/disable"),
        json!({}),
    )
    .await;
    let (st, err, _) =
        error_of(post(&s, Some(cid), &assertion(&kp, cid, &tu, json!({}))).await).await;
    assert_eq!((st, err.as_str()), (401, "invalid_client"));
    s.stop().await;
}

fn base64_url(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

async fn key_lifecycle_and_validation(b: Backend) {
    let s = spawn(b).await;
    let (agent, kp) = agent_with_key(&s).await;
    let id = agent["id"].as_str().unwrap();
    // The same key twice → 409; a private key, garbage, both fields → 400.
    let r = s
        .admin_post(
            &format!("/agents/{id}/public-keys"),
            json!({"pem": kp.public_key_pem()}),
        )
        .await;
    assert_eq!(r.status(), 409);
    for body in [
        json!({"pem": kp.serialize_pem()}),
        json!({"pem": "hello"}),
        json!({}),
        json!({"pem": kp.public_key_pem(), "jwk": {}}),
        json!({"jwk": {"kty": "oct", "k": "AA"}}),
    ] {
        let r = s
            .admin_post(&format!("/agents/{id}/public-keys"), body.clone())
            .await;
        assert_eq!(r.status(), 400, "{body}");
        let e: Value = r.json().await.unwrap();
        assert!(
            !e["error_description"].as_str().unwrap().contains("BEGIN"),
            "no key material echoed"
        );
    }
    // A JWK (here the same curve, a new key) is accepted.
    let kp2 = rcgen::KeyPair::generate().unwrap();
    let raw = kp2.public_key_raw();
    let jwk = json!({"kty": "EC", "crv": "P-256", "x": base64_url_bytes(&raw[1..33]), "y": base64_url_bytes(&raw[33..65])});
    assert_eq!(
        s.admin_post(&format!("/agents/{id}/public-keys"), json!({"jwk": jwk}))
            .await
            .status(),
        201
    );
    let keys: Value = s
        .admin_get(&format!("/agents/{id}/public-keys"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(keys.as_array().unwrap().len(), 2);
    let kid = keys[0]["id"].as_str().unwrap();
    assert_eq!(
        s.admin_delete(&format!("/agents/{id}/public-keys/{kid}"))
            .await
            .status(),
        409
    );
    s.admin_post(
        &format!("/agents/{id}/public-keys/{kid}/disable"),
        json!({}),
    )
    .await;
    assert_eq!(
        s.admin_delete(&format!("/agents/{id}/public-keys/{kid}"))
            .await
            .status(),
        204
    );
    // SDK configuration for PRIVATE_KEY_JWT.
    let cfg: Value = s
        .admin_get(&format!(
            "/agents/{id}/sdk-config?authn_method=PRIVATE_KEY_JWT"
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(cfg["authnConfiguration"]["authnMethod"], "PRIVATE_KEY_JWT");
    assert_eq!(
        cfg["authnConfiguration"]["privateKeyEnvVarName"],
        "IDAAS_PRIVATE_KEY"
    );
    s.stop().await;
}

fn base64_url_bytes(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}
