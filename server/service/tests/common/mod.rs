//! Opens a real [`Writ`] on a fresh SQLite file in a temp dir, the way the
//! server does (migrations, master keyring, signing key), with a clock the
//! test can move. No HTTP: tests call the service layer directly.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde::de::DeserializeOwned;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;
use writ_core::clock::ManualClock;
use writ_core::grant::client_credentials::IssuedToken;
use writ_core::vault::{Keyring, MasterKey};
use writ_core::{OAuthError, PAM_AUDIENCE};
use writ_service::service::TokenRequest;
use writ_service::{Writ, WritOptions};
use writ_types::{ClientView, NewAgent, NewM2mApplication};

pub const PUBLIC_URL: &str = "https://writ.test:8443";
pub const PAM_ALL: &str = "urn:cloud:idaas:pam|.all";

/// A Writ on its own SQLite file; the directory goes when this is dropped.
pub struct TestWrit {
    pub writ: Arc<Writ>,
    pub clock: Arc<ManualClock>,
    pub dir: PathBuf,
    pub database_url: String,
}

impl Drop for TestWrit {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl std::ops::Deref for TestWrit {
    type Target = Writ;
    fn deref(&self) -> &Writ {
        &self.writ
    }
}

/// Wall-clock seconds: fixtures (certificates, documents, tokens) are made
/// against real time, and the Writ's clock starts there.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub async fn open() -> TestWrit {
    let dir =
        std::env::temp_dir().join(format!("writ-service-it-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let database_url = format!("sqlite://{}?mode=rwc", dir.join("writ.db").display());
    let clock = Arc::new(ManualClock::at(now()));
    let master = MasterKey::from_bytes(&writ_core::random::bytes(32)).unwrap();
    let writ = Writ::open(WritOptions {
        database_url: database_url.clone(),
        public_url: PUBLIC_URL.into(),
        instance_id: None,
        legacy_signing_key_pem: None,
        key_policy: writ_core::key_rotation::RotationPolicy::new(30 * 86_400, 3600, 60),
        tls_sha1_fingerprint: None,
        ram_fingerprint: None,
        clock: clock.clone(),
        clock_skew_secs: 60,
        master_keys: Keyring::new(master, Vec::new()),
        jwks_refetch_secs: 60,
        audit_retention_days: 90,
    })
    .await
    .expect("Writ opens on a fresh SQLite file");
    TestWrit {
        writ,
        clock,
        dir,
        database_url,
    }
}

/// A DTO from its wire JSON (what the admin API and the console send).
pub fn dto<T: DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).expect("DTO from JSON")
}

pub async fn agent(w: &Writ, name: &str) -> ClientView {
    w.create_agent(NewAgent {
        name: name.into(),
        owner: "platform-team".into(),
        description: None,
        auth_type: None,
    })
    .await
    .unwrap()
}

pub async fn m2m(w: &Writ, name: &str) -> ClientView {
    w.create_m2m_application(NewM2mApplication {
        name: name.into(),
        description: None,
    })
    .await
    .unwrap()
}

/// A client_secret_post token request.
pub fn secret_post(client_id: &str, secret: &str, scope: &str) -> TokenRequest {
    TokenRequest {
        grant_type: Some("client_credentials".into()),
        client_id: Some(client_id.into()),
        client_secret: Some(secret.into()),
        scope: Some(scope.into()),
        source: "127.0.0.1".into(),
        ..Default::default()
    }
}

/// A client assertion request (private_key_jwt or a federated type).
pub fn assertion_request(
    client_id: Option<&str>,
    assertion_type: &str,
    assertion: &str,
    scope: &str,
) -> TokenRequest {
    TokenRequest {
        grant_type: Some("client_credentials".into()),
        client_id: client_id.map(str::to_owned),
        client_assertion_type: Some(assertion_type.into()),
        client_assertion: Some(assertion.into()),
        scope: Some(scope.into()),
        source: "127.0.0.1".into(),
        ..Default::default()
    }
}

/// The token's claims, checked against this Writ's public signing key,
/// issuer and the given audience.
pub fn verified_claims(w: &Writ, token: &str, audience: &str) -> Value {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    let signer = w.signing_key();
    let jwk = signer.jwk();
    assert!(
        w.published_keys().contains(jwk),
        "the signing key is in JWKS"
    );
    let key = DecodingKey::from_ec_components(&jwk.x, &jwk.y).unwrap();
    let mut v = Validation::new(Algorithm::ES256);
    v.set_issuer(&[&w.urls().issuer]);
    v.set_audience(&[audience]);
    // The Writ's clock is a manual one, possibly ahead of the wall clock.
    v.validate_exp = false;
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.kid.as_deref(), Some(signer.kid()));
    jsonwebtoken::decode::<Value>(token, &key, &v)
        .expect("signed by this Writ, for this issuer and audience")
        .claims
}

/// The `sub` of a token this Writ issued (signature checked).
pub fn subject_of(w: &Writ, t: &IssuedToken) -> String {
    verified_claims(w, &t.access_token, &t.audience)["sub"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The OAuth `error` code and audit reason of a refusal; panics if issued.
pub fn refusal(r: Result<IssuedToken, OAuthError>) -> (&'static str, &'static str) {
    match r {
        Ok(t) => panic!("expected a refusal, got a token for {}", t.audience),
        Err(e) => (e.code.as_str(), e.reason),
    }
}

/// A Writ bearer for the developer API (`urn:cloud:idaas:pam|.all`) of a
/// new agent: (client view, access token).
pub async fn agent_with_pam_token(w: &Writ, name: &str) -> (ClientView, String) {
    let c = agent(w, name).await;
    let s = w.add_client_secret(&c.id, false).await.unwrap();
    let t = w
        .token(secret_post(&c.client_id, &s.client_secret, PAM_ALL))
        .await
        .unwrap();
    assert_eq!(t.audience, PAM_AUDIENCE);
    (c, t.access_token)
}
