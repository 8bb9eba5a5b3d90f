//! The token endpoint's service (`Writ::token`) on a real SQLite file,
//! without HTTP: what it issues, what it refuses and why, and the audit
//! record every request leaves.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{
    PAM_ALL, TestWrit, agent, assertion_request, dto, open, refusal, secret_post, subject_of,
    verified_claims,
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use writ_core::{PAM_AUDIENCE, PAM_PERMISSIONS};
use writ_types::{AuditView, ClientView, NewPublicKey};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const API: &str = "https://api.corp/payments";

/// An agent with one client secret: (agent, secret value).
async fn agent_with_secret(w: &TestWrit, name: &str) -> (ClientView, String) {
    let a = agent(w, name).await;
    let s = w.add_client_secret(&a.id, false).await.unwrap();
    (a, s.client_secret)
}

/// A resource server `API` with permissions read and write; the client is
/// granted `read` only.
async fn payments_api_granting_read(w: &TestWrit, client_id: &str) {
    let rs = w
        .create_resource_server(dto(json!({"name": "Payments", "audience": API,
            "permissions": ["read", "write"], "access_token_ttl_seconds": 900})))
        .await
        .unwrap();
    w.grant_permissions(
        &rs.id,
        dto(json!({"client_id": client_id, "permissions": ["read"]})),
    )
    .await
    .unwrap();
}

/// The client's audit records, oldest first.
async fn audit_of(w: &TestWrit, client_pk: &str) -> Vec<AuditView> {
    w.flush_audit().await;
    let mut v = w.recent_audit(client_pk, 100).await.unwrap();
    v.reverse();
    v
}

#[tokio::test]
async fn client_secret_post_issues_a_token_with_the_right_claims() {
    let w = open().await;
    let (a, secret) = agent_with_secret(&w, "payments-agent").await;
    let at = w.now();

    // The built-in developer API audience: every permission of `.all`.
    let t = w
        .token(secret_post(&a.client_id, &secret, PAM_ALL))
        .await
        .unwrap();
    assert_eq!(t.audience, PAM_AUDIENCE);
    assert_eq!(t.expires_in, 3600);
    assert_eq!(t.expires_at, at + 3600);
    let want_scope: Vec<String> = PAM_PERMISSIONS
        .iter()
        .map(|p| format!("{PAM_AUDIENCE}|{p}"))
        .collect();
    assert_eq!(t.scope, want_scope.join(" "));
    let c = verified_claims(&w, &t.access_token, PAM_AUDIENCE);
    assert_eq!(c["iss"], w.urls().issuer);
    assert_eq!(c["sub"], a.client_id);
    assert_eq!(c["client_id"], a.client_id);
    assert_eq!(c["agent_id"], json!(a.agent_id.clone().unwrap()));
    assert_eq!(c["scope"], t.scope);
    assert_eq!(c["jti"], t.jti);
    assert_eq!(c["iat"], at);
    assert_eq!(c["exp"], at + 3600);

    // A resource server of the admin's: only the granted permission, its TTL.
    payments_api_granting_read(&w, &a.client_id).await;
    let t = w
        .token(secret_post(&a.client_id, &secret, &format!("{API}|read")))
        .await
        .unwrap();
    assert_eq!(
        (t.audience.as_str(), t.scope.as_str(), t.expires_in),
        (API, "https://api.corp/payments|read", 900)
    );
    let c = verified_claims(&w, &t.access_token, API);
    assert_eq!(c["aud"], API);
    assert_eq!(c["exp"], at + 900);
    assert_ne!(c["jti"], Value::Null);

    // The secret's "last used" moves once the audit batch is written.
    w.flush_audit().await;
    let secrets = w.list_client_secrets(&a.id).await.unwrap();
    assert_eq!(secrets[0].last_used_at, Some(at));
}

#[tokio::test]
async fn wrong_unknown_or_disabled_secret_is_invalid_client() {
    let w = open().await;
    let (a, secret) = agent_with_secret(&w, "payments-agent").await;
    let wrong = format!("{secret}x");
    assert_eq!(
        refusal(w.token(secret_post(&a.client_id, &wrong, PAM_ALL)).await),
        ("invalid_client", "secret_mismatch")
    );
    assert_eq!(
        refusal(w.token(secret_post("app_nobody", &secret, PAM_ALL)).await),
        ("invalid_client", "client_unknown")
    );
    // The right secret works; once disabled it no longer does.
    assert!(
        w.token(secret_post(&a.client_id, &secret, PAM_ALL))
            .await
            .is_ok()
    );
    let sid = w.list_client_secrets(&a.id).await.unwrap()[0].id.clone();
    w.set_client_secret_enabled(&a.id, &sid, false)
        .await
        .unwrap();
    assert_eq!(
        refusal(w.token(secret_post(&a.client_id, &secret, PAM_ALL)).await),
        ("invalid_client", "no_enabled_secret")
    );
}

#[tokio::test]
async fn disabled_client_is_refused() {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    use writ_service::entities::client;
    let w = open().await;
    let (a, secret) = agent_with_secret(&w, "retired-agent").await;
    // No service call disables a client yet: another process (or an
    // operator) does it in the shared database, before this Writ has read
    // the client.
    let db = sea_orm::Database::connect(w.database_url.as_str())
        .await
        .unwrap();
    let r = client::Entity::update_many()
        .col_expr(client::Column::Enabled, Expr::value(false))
        .filter(client::Column::ClientId.eq(a.client_id.as_str()))
        .exec(&db)
        .await
        .unwrap();
    assert_eq!(r.rows_affected, 1);
    db.close().await.unwrap();
    assert_eq!(
        refusal(w.token(secret_post(&a.client_id, &secret, PAM_ALL)).await),
        ("invalid_client", "client_disabled")
    );
}

#[tokio::test]
async fn unknown_audience_or_ungranted_permission_is_invalid_scope() {
    let w = open().await;
    let (a, secret) = agent_with_secret(&w, "payments-agent").await;
    assert_eq!(
        refusal(
            w.token(secret_post(
                &a.client_id,
                &secret,
                "https://nowhere.example|read"
            ))
            .await
        ),
        ("invalid_scope", "audience_unknown")
    );
    // Known audience, permission not granted; then no grant at all.
    payments_api_granting_read(&w, &a.client_id).await;
    assert_eq!(
        refusal(
            w.token(secret_post(&a.client_id, &secret, &format!("{API}|write")))
                .await
        ),
        ("invalid_scope", "scope_not_granted")
    );
    let (other, other_secret) = agent_with_secret(&w, "other-agent").await;
    assert_eq!(
        refusal(
            w.token(secret_post(
                &other.client_id,
                &other_secret,
                &format!("{API}|read")
            ))
            .await
        ),
        ("invalid_scope", "scope_not_granted")
    );
}

#[tokio::test]
async fn every_request_leaves_an_audit_record_with_its_outcome() {
    let w = open().await;
    let (a, secret) = agent_with_secret(&w, "audited-agent").await;
    let before = w.count_audit_records().await;
    let issued = w
        .token(secret_post(&a.client_id, &secret, PAM_ALL))
        .await
        .unwrap();
    let _ = w
        .token(secret_post(&a.client_id, "wrong-secret", PAM_ALL))
        .await
        .unwrap_err();
    let _ = w
        .token(secret_post(
            &a.client_id,
            &secret,
            "https://nowhere.example|read",
        ))
        .await
        .unwrap_err();
    let mut no_grant_type = secret_post(&a.client_id, &secret, PAM_ALL);
    no_grant_type.grant_type = None;
    let _ = w.token(no_grant_type).await.unwrap_err();

    let records = audit_of(&w, &a.id).await;
    let seen: Vec<(&str, &str, &str, &str)> = records
        .iter()
        .map(|r| {
            (
                r.outcome.as_str(),
                r.reason.as_str(),
                r.method.as_str(),
                r.audience.as_str(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("issued", "ok", "client_secret_post", PAM_AUDIENCE),
            ("refused", "secret_mismatch", "client_secret_post", ""),
            (
                "refused",
                "audience_unknown",
                "client_secret_post",
                "https://nowhere.example"
            ),
            ("refused", "grant_type_missing", "", ""),
        ]
    );
    // The issued record names the token; every record, the caller.
    assert_eq!(records[0].jti, issued.jti);
    assert_eq!(records[0].scope, issued.scope);
    assert!(records[1..].iter().all(|r| r.jti.is_empty()));
    assert!(records.iter().all(|r| r.source == "127.0.0.1"));
    assert!(records.iter().all(|r| r.client_id == a.client_id));
    assert_eq!(w.count_audit_records().await, before + 4);
}

/// Signs a private_key_jwt assertion as the SDK does.
fn es256_assertion(kp: &rcgen::KeyPair, client_id: &str, aud: &str, now: i64) -> String {
    let claims = json!({"iss": client_id, "sub": client_id, "aud": aud,
        "jti": uuid::Uuid::new_v4().to_string(), "iat": now, "exp": now + 300});
    let mut h = Header::new(Algorithm::ES256);
    h.typ = Some("JWT".into());
    jsonwebtoken::encode(
        &h,
        &claims,
        &EncodingKey::from_ec_pem(kp.serialize_pem().as_bytes()).unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn private_key_jwt_assertion_is_accepted_once() {
    let w = open().await;
    let a = agent(&w, "signer").await;
    let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let key = w
        .add_public_key(
            &a.id,
            NewPublicKey {
                pem: Some(kp.public_key_pem()),
                jwk: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(key.key_type, "EC P-256");

    let assertion = es256_assertion(&kp, &a.client_id, &w.urls().token_endpoint, w.now());
    let req = || assertion_request(Some(&a.client_id), JWT_BEARER, &assertion, PAM_ALL);
    let t = w.token(req()).await.unwrap();
    assert_eq!(subject_of(&w, &t), a.client_id);
    // The same assertion again is a replay, whatever else is right.
    assert_eq!(
        refusal(w.token(req()).await),
        ("invalid_client", "assertion_replayed")
    );
    // A fresh one is fine (the issuer is an accepted audience too); one
    // signed by a key the client never registered is not.
    let fresh = es256_assertion(&kp, &a.client_id, &w.urls().issuer, w.now());
    assert!(
        w.token(assertion_request(None, JWT_BEARER, &fresh, PAM_ALL))
            .await
            .is_ok()
    );
    let stranger = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let forged = es256_assertion(&stranger, &a.client_id, &w.urls().token_endpoint, w.now());
    let (code, _) = refusal(
        w.token(assertion_request(None, JWT_BEARER, &forged, PAM_ALL))
            .await,
    );
    assert_eq!(code, "invalid_client");

    let records = audit_of(&w, &a.id).await;
    let seen: Vec<(&str, &str, &str)> = records
        .iter()
        .map(|r| (r.method.as_str(), r.outcome.as_str(), r.reason.as_str()))
        .collect();
    assert_eq!(
        &seen[..3],
        [
            ("private_key_jwt", "issued", "ok"),
            ("private_key_jwt", "refused", "assertion_replayed"),
            ("private_key_jwt", "issued", "ok"),
        ]
    );
    assert_eq!(seen[3].0, "private_key_jwt");
    assert_eq!(seen[3].1, "refused");
    assert_eq!(records[0].jti, t.jti);
    let keys = w.list_public_keys(&a.id).await.unwrap();
    assert!(keys[0].last_used_at.is_some(), "the key's last use moves");
}
