//! Fetched OIDC keys under attack (`service/token/remote_keys.rs`), through
//! the token endpoint's service on a real SQLite file: tokens naming made-up
//! `kid`s, sent at once, cost the issuer one discovery + JWKS fetch; an
//! issuer that is down is asked once per backoff window, not once per
//! request; editing the provider forgets the remembered failure.
//!
//! The issuer is a tiny HTTP server on loopback that counts what it is
//! asked. Every test here runs with `HTTP_PROXY` / `HTTPS_PROXY` /
//! `ALL_PROXY` pointing at a dead proxy: Writ's outbound client must not
//! use them (`service/outbound.rs`), so each fetch here also proves that.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use base64::Engine;
use common::{PAM_ALL, TestWrit, dto, m2m, open, subject_of};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Once};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use writ_service::service::TokenRequest;

const OIDC: &str = "urn:cloud:idaas:params:oauth:client-assertion-type:id-token-bearer";
const AUDIENCE: &str = "writ-ci";
const SUBJECT: &str = "repo:acme/payments:ref:refs/heads/main";
const CREDENTIAL: &str = "ci-main";
/// `common::open`'s `jwks_refetch_secs`: also the first backoff.
const REFETCH_SECS: i64 = 60;

// --- A dead proxy in the environment -------------------------------------

static DEAD_PROXY_HITS: AtomicUsize = AtomicUsize::new(0);
static PROXY_ENV: Once = Once::new();

/// Points the proxy variables at a proxy that hangs up on every connection.
fn dead_proxy_env() {
    PROXY_ENV.call_once(|| {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let proxy = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                DEAD_PROXY_HITS.fetch_add(1, Ordering::SeqCst);
                drop(conn);
            }
        });
        // SAFETY: every test in this binary calls this first, before it
        // starts a runtime or any thread of its own, and the others wait on
        // the `Once`: no thread reads the environment while it changes.
        unsafe {
            for var in [
                "HTTP_PROXY",
                "http_proxy",
                "HTTPS_PROXY",
                "https_proxy",
                "ALL_PROXY",
                "all_proxy",
            ] {
                std::env::set_var(var, &proxy);
            }
            for var in ["NO_PROXY", "no_proxy"] {
                std::env::remove_var(var);
            }
        }
    });
}

/// Runs a test body on its own runtime, after the environment is set.
fn run<F: std::future::Future>(f: F) -> F::Output {
    dead_proxy_env();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

// --- A loopback issuer ---------------------------------------------------

/// An OIDC issuer on loopback with discovery and a JWKS (one key, `k1`).
/// It answers after a short delay, so requests sent together overlap, and
/// can be made to answer HTTP 500 to everything.
struct Issuer {
    url: String,
    key: rcgen::KeyPair,
    discovery: Arc<AtomicUsize>,
    jwks: Arc<AtomicUsize>,
    failing: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Issuer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn jwks_of(key: &rcgen::KeyPair) -> Value {
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let raw = key.public_key_raw();
    json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1", "use": "sig",
        "alg": "ES256", "x": b64(&raw[1..33]), "y": b64(&raw[33..65])}]})
}

impl Issuer {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let (discovery, jwks, failing) = (
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicBool::new(false)),
        );
        let doc = json!({"issuer": url, "jwks_uri": format!("{url}/jwks")}).to_string();
        let keys = jwks_of(&key).to_string();
        let (d, j, f) = (discovery.clone(), jwks.clone(), failing.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let (d, j, f, doc, keys) =
                    (d.clone(), j.clone(), f.clone(), doc.clone(), keys.clone());
                tokio::spawn(async move {
                    let Some(path) = read_path(&mut conn).await else {
                        return;
                    };
                    let body = match path.as_str() {
                        "/.well-known/openid-configuration" => {
                            d.fetch_add(1, Ordering::SeqCst);
                            Some(doc)
                        }
                        "/jwks" => {
                            j.fetch_add(1, Ordering::SeqCst);
                            Some(keys)
                        }
                        _ => None,
                    };
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    let (status, body) = match body {
                        _ if f.load(Ordering::SeqCst) => (
                            "500 Internal Server Error",
                            r#"{"error":"down"}"#.to_owned(),
                        ),
                        Some(b) => ("200 OK", b),
                        None => ("404 Not Found", r#"{"error":"not_found"}"#.to_owned()),
                    };
                    let resp = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = conn.write_all(resp.as_bytes()).await;
                    let _ = conn.shutdown().await;
                });
            }
        });
        Self {
            url,
            key,
            discovery,
            jwks,
            failing,
            task,
        }
    }

    /// (discovery requests, JWKS requests) so far.
    fn asked(&self) -> (usize, usize) {
        (
            self.discovery.load(Ordering::SeqCst),
            self.jwks.load(Ordering::SeqCst),
        )
    }

    fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// A CI-job-shaped token naming `kid`, signed with the issuer's key.
    fn token(&self, kid: &str, now: i64) -> String {
        let claims = json!({"iss": self.url, "aud": AUDIENCE, "sub": SUBJECT,
            "iat": now, "exp": now + 600});
        let mut h = Header::new(Algorithm::ES256);
        h.kid = Some(kid.into());
        jsonwebtoken::encode(
            &h,
            &claims,
            &EncodingKey::from_ec_pem(self.key.serialize_pem().as_bytes()).unwrap(),
        )
        .unwrap()
    }
}

/// The request line's path; `None` if the connection closed first.
async fn read_path(conn: &mut tokio::net::TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = conn.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf);
    head.split_whitespace().nth(1).map(str::to_owned)
}

// --- Writ side -----------------------------------------------------------

/// A provider fetching its keys by discovery from `issuer` (saving it
/// fetches once) and an application with a credential on it:
/// (provider id, client id).
async fn setup(w: &TestWrit, issuer: &Issuer) -> (String, String) {
    let p = w
        .create_federated_provider(dto(json!({"type": "oidc", "name": "ci",
            "issuer": issuer.url, "audience": AUDIENCE,
            "allow_insecure_local_endpoints": true})))
        .await
        .unwrap();
    assert_eq!(p.key_source.as_deref(), Some("discovery"));
    let app = m2m(w, "deployer").await;
    w.create_federated_credential(
        &app.id,
        dto(
            json!({"type": "oidc", "provider_id": p.id, "name": CREDENTIAL,
            "verification": {"mode": "expression",
                "expression": format!("jwt.claims.sub == '{SUBJECT}'")}}),
        ),
    )
    .await
    .unwrap();
    (p.id, app.client_id)
}

/// A token request with `assertion`, each `i` from its own address.
fn request(client_id: &str, assertion: String, i: usize) -> TokenRequest {
    TokenRequest {
        grant_type: Some("client_credentials".into()),
        client_id: Some(client_id.into()),
        scope: Some(PAM_ALL.into()),
        client_assertion_type: Some(OIDC.into()),
        client_assertion: Some(assertion),
        application_federated_credential_name: Some(CREDENTIAL.into()),
        source: format!("10.7.{}.{}", i / 200, i % 200 + 1),
        ..Default::default()
    }
}

/// `n` token requests at once, each naming a made-up `kid`: their refusal
/// reasons (`"issued"` if one got a token).
async fn burst(w: &TestWrit, issuer: &Issuer, client_id: &str, n: usize) -> Vec<&'static str> {
    let mut set = tokio::task::JoinSet::new();
    for i in 0..n {
        let writ = w.writ.clone();
        let req = request(client_id, issuer.token(&format!("made-up-{i}"), w.now()), i);
        set.spawn(async move { writ.token(req).await.err().map_or("issued", |e| e.reason) });
    }
    set.join_all().await
}

/// One request with a made-up `kid`: its refusal reason.
async fn one(w: &TestWrit, issuer: &Issuer, client_id: &str, i: usize) -> &'static str {
    w.token(request(client_id, issuer.token("made-up", w.now()), i))
        .await
        .err()
        .map_or("issued", |e| e.reason)
}

fn all(reasons: &[&'static str], reason: &str) -> bool {
    reasons.iter().all(|r| *r == reason)
}

#[test]
fn concurrent_unknown_kids_share_one_fetch() {
    run(async {
        let w = open().await;
        let issuer = Issuer::start().await;
        let (_, cid) = setup(&w, &issuer).await;
        assert_eq!(issuer.asked(), (1, 1), "saving the provider fetched once");

        // Nothing cached yet: fifty requests at once, one fetch.
        let reasons = burst(&w, &issuer, &cid, 50).await;
        assert!(all(&reasons, "token_unknown_kid"), "{reasons:?}");
        assert_eq!(issuer.asked(), (2, 2), "one discovery + one JWKS fetch");

        // Past the refetch window: unknown kids refetch, once for them all.
        w.clock.advance(REFETCH_SECS + 1);
        let reasons = burst(&w, &issuer, &cid, 50).await;
        assert!(all(&reasons, "token_unknown_kid"), "{reasons:?}");
        assert_eq!(issuer.asked(), (3, 3));

        // Within the window: none.
        let reasons = burst(&w, &issuer, &cid, 50).await;
        assert!(all(&reasons, "token_unknown_kid"), "{reasons:?}");
        assert_eq!(issuer.asked(), (3, 3));

        // The issuer's real key is served from the cache.
        let t = w
            .token(request(&cid, issuer.token("k1", w.now()), 0))
            .await
            .unwrap();
        assert_eq!(subject_of(&w, &t), cid);
        assert_eq!(issuer.asked(), (3, 3));
    });
}

#[test]
fn an_issuer_that_is_down_is_asked_once_per_backoff() {
    run(async {
        let w = open().await;
        let issuer = Issuer::start().await;
        let (_, cid) = setup(&w, &issuer).await;
        assert_eq!(issuer.asked(), (1, 1));
        issuer.fail(true);

        // The first fetch fails (discovery answers 500; no JWKS request)…
        assert_eq!(one(&w, &issuer, &cid, 0).await, "jwks_unavailable");
        assert_eq!(issuer.asked(), (2, 1));
        // …and is remembered: one after the other, then all at once,
        // refused without asking again.
        for i in 1..50 {
            assert_eq!(one(&w, &issuer, &cid, i).await, "jwks_unavailable");
        }
        let reasons = burst(&w, &issuer, &cid, 50).await;
        assert!(all(&reasons, "jwks_unavailable"), "{reasons:?}");
        assert_eq!(issuer.asked(), (2, 1));

        // The first backoff is the refetch window.
        w.clock.advance(REFETCH_SECS - 1);
        assert_eq!(one(&w, &issuer, &cid, 0).await, "jwks_unavailable");
        assert_eq!(issuer.asked(), (2, 1));
        w.clock.advance(1);
        let reasons = burst(&w, &issuer, &cid, 50).await;
        assert!(all(&reasons, "jwks_unavailable"), "{reasons:?}");
        assert_eq!(issuer.asked(), (3, 1), "asked again, once");

        // It doubles after each failure in a row.
        w.clock.advance(2 * REFETCH_SECS - 1);
        assert_eq!(one(&w, &issuer, &cid, 0).await, "jwks_unavailable");
        assert_eq!(issuer.asked(), (3, 1));
        w.clock.advance(1);
        assert_eq!(one(&w, &issuer, &cid, 0).await, "jwks_unavailable");
        assert_eq!(issuer.asked(), (4, 1));

        // The issuer is back: after the (now 4×) backoff, keys and tokens.
        issuer.fail(false);
        w.clock.advance(4 * REFETCH_SECS - 1);
        assert_eq!(one(&w, &issuer, &cid, 0).await, "jwks_unavailable");
        assert_eq!(issuer.asked(), (4, 1));
        w.clock.advance(1);
        let t = w
            .token(request(&cid, issuer.token("k1", w.now()), 0))
            .await
            .unwrap();
        assert_eq!(subject_of(&w, &t), cid);
        assert_eq!(issuer.asked(), (5, 2));

        // Once keys are cached, a failed refresh keeps serving them.
        issuer.fail(true);
        w.clock.advance(REFETCH_SECS);
        assert_eq!(one(&w, &issuer, &cid, 0).await, "token_unknown_kid");
        assert_eq!(issuer.asked(), (6, 2));
        w.token(request(&cid, issuer.token("k1", w.now()), 0))
            .await
            .unwrap();
        assert_eq!(issuer.asked(), (6, 2));
    });
}

#[test]
fn editing_the_provider_forgets_a_remembered_failure() {
    run(async {
        let w = open().await;
        let issuer = Issuer::start().await;
        let (pid, cid) = setup(&w, &issuer).await;
        issuer.fail(true);
        assert_eq!(one(&w, &issuer, &cid, 0).await, "jwks_unavailable");
        assert_eq!(one(&w, &issuer, &cid, 1).await, "jwks_unavailable");
        assert_eq!(issuer.asked(), (2, 1), "the failure is remembered");

        // The admin fixes what was wrong and saves (the save fetches once).
        issuer.fail(false);
        w.update_federated_provider(&pid, &json!({"description": "CI, after the outage"}))
            .await
            .unwrap();
        assert_eq!(issuer.asked(), (3, 2));
        // The next token fetches at once instead of waiting out the backoff.
        let t = w
            .token(request(&cid, issuer.token("k1", w.now()), 0))
            .await
            .unwrap();
        assert_eq!(subject_of(&w, &t), cid);
        assert_eq!(issuer.asked(), (4, 3));
    });
}

#[test]
fn outbound_fetches_ignore_proxy_variables() {
    run(async {
        let issuer = Issuer::start().await;
        // A client that honours the environment goes to the dead proxy.
        let before = DEAD_PROXY_HITS.load(Ordering::SeqCst);
        let r = reqwest::Client::new()
            .get(format!("{}/jwks", issuer.url))
            .send()
            .await;
        assert!(r.is_err(), "through the dead proxy: {r:?}");
        assert!(DEAD_PROXY_HITS.load(Ordering::SeqCst) > before);
        assert_eq!(issuer.asked(), (0, 0));

        // Writ's goes straight to the (checked, pinned) address.
        let w = open().await;
        let (_, cid) = setup(&w, &issuer).await;
        assert_eq!(issuer.asked(), (1, 1));
        w.token(request(&cid, issuer.token("k1", w.now()), 0))
            .await
            .unwrap();
        assert_eq!(issuer.asked(), (2, 2));
    });
}
