//! OAuth credential providers, workload side (`service/developer/
//! oauth_flows.rs`), on a real SQLite file without Writ's HTTP layer: who
//! may fetch, the user-delegated session's state (PKCE, single use, expiry)
//! and the stored token. The third party's token endpoint is a tiny HTTP
//! responder on loopback that this test scripts and records.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use base64::Engine;
use common::{TestWrit, agent_with_pam_token, dto, open};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use writ_service::{CallbackOutcome, Caller, DevApiError};

const SECRET: &str = "third-party-client-secret-0f9e8d";
const SESSION_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// The developer-API caller a workload becomes with its Writ bearer.
async fn caller(w: &TestWrit, name: &str) -> Caller {
    let (c, bearer) = agent_with_pam_token(w, name).await;
    let caller = w
        .developer_caller(
            w.instance_id(),
            Some(&format!("Bearer {bearer}")),
            "authentication_token:fetch",
        )
        .await
        .unwrap();
    assert_eq!(caller.client_id, c.client_id);
    caller
}

/// A user-delegated ("3LO") provider `calendar`: (provider id).
async fn calendar_provider(w: &TestWrit, token_endpoint: &str) -> String {
    let p = w
        .create_credential_provider(dto(json!({"type": "oauth", "name": "Calendar",
            "identifier": "calendar", "client_id": "writ-app", "client_secret": SECRET,
            "authorization_endpoint": "https://idp.example.com/authorize",
            "token_endpoint": token_endpoint, "scopes": ["openid", "calendar.read"],
            "allow_insecure_local_endpoints": true})))
        .await
        .unwrap();
    assert_eq!(p.authorization_flow, "user_federation");
    p.id
}

fn ask() -> Value {
    json!({"credentialProviderIdentifier": "calendar"})
}

/// One request the third party received: headers (lower-case names) and
/// the decoded form body.
#[derive(Debug, Clone)]
struct Received {
    headers: HashMap<String, String>,
    form: HashMap<String, String>,
}

/// A third party's token endpoint on loopback: answers each request with the
/// next scripted JSON body (HTTP 200), records what it got.
struct ThirdParty {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ThirdParty {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ThirdParty {
    async fn start(answers: Vec<Value>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/token", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = received.clone();
        let task = tokio::spawn(async move {
            let mut answers = answers.into_iter();
            while let Ok((mut conn, _)) = listener.accept().await {
                let Some(req) = read_request(&mut conn).await else {
                    continue;
                };
                log.lock().unwrap().push(req);
                let body = answers
                    .next()
                    .unwrap_or_else(|| json!({"error": "invalid_grant"}))
                    .to_string();
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = conn.write_all(resp.as_bytes()).await;
                let _ = conn.shutdown().await;
            }
        });
        Self {
            url,
            received,
            task,
        }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

async fn read_request(conn: &mut tokio::net::TcpStream) -> Option<Received> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = conn.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let headers: HashMap<String, String> = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = conn.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let form = url::form_urlencoded::parse(&buf[head_end..])
        .into_owned()
        .collect();
    Some(Received { headers, form })
}

/// The query of the session's authorization URL.
fn query_of(authorization_url: &str) -> HashMap<String, String> {
    url::Url::parse(authorization_url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

fn session_uri(fetched: &Value) -> String {
    fetched["oauthAuthorizationSession"]["sessionUri"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_caller_without_a_grant_or_on_a_disabled_provider_gets_nothing() {
    let w = open().await;
    let pid = calendar_provider(&w, "https://idp.example.com/token").await;
    let c = caller(&w, "calendar-agent").await;

    let e = w
        .fetch_oauth_token(&c, &ask(), "10.1.1.1")
        .await
        .unwrap_err();
    assert!(matches!(e, DevApiError::Forbidden(_)), "{e:?}");
    let e = w
        .fetch_oauth_token(
            &c,
            &json!({"credentialProviderIdentifier": "no-such"}),
            "10.1.1.1",
        )
        .await
        .unwrap_err();
    assert!(matches!(e, DevApiError::NotFound(_)), "{e:?}");

    // Granted: an authorization session to consent in.
    w.grant_credential_provider(&pid, &c.client_id)
        .await
        .unwrap();
    let out = w.fetch_oauth_token(&c, &ask(), "10.1.1.1").await.unwrap();
    assert_eq!(out["oauthAuthorizationSession"]["sessionStatus"], "pending");
    assert!(out.get("oauthAccessTokenContent").is_none());
    // The flow's own parameters cannot be replaced by the workload.
    let e = w
        .fetch_oauth_token(
            &c,
            &json!({"credentialProviderIdentifier": "calendar",
                "customParameters": {"redirect_uri": "https://evil.example"}}),
            "10.1.1.1",
        )
        .await
        .unwrap_err();
    assert!(matches!(e, DevApiError::BadRequest(_)), "{e:?}");

    // Disabled: refused again.
    w.set_credential_provider_enabled(&pid, false)
        .await
        .unwrap();
    let e = w
        .fetch_oauth_token(&c, &ask(), "10.1.1.1")
        .await
        .unwrap_err();
    assert!(matches!(e, DevApiError::Forbidden(_)), "{e:?}");

    // Every call is audited with its outcome.
    w.flush_audit().await;
    let outcomes: Vec<(String, String)> = w
        .recent_audit(&c.client_pk, 100)
        .await
        .unwrap()
        .into_iter()
        .rev()
        .filter(|r| r.method == "fetch_oauth_token")
        .map(|r| (r.outcome, r.scope))
        .collect();
    let o = |outcome: &str, what: &str| (outcome.to_owned(), what.to_owned());
    assert_eq!(
        outcomes,
        [
            o("refused", "calendar"),
            o("refused", "no-such"),
            o("issued", "calendar"),
            o("refused", "calendar"),
            o("refused", "calendar"),
        ]
    );
}

#[tokio::test]
async fn the_session_state_completes_once_and_the_token_is_kept_and_refreshed() {
    let w = open().await;
    let idp = ThirdParty::start(vec![
        json!({"access_token": "tp-access-1", "token_type": "Bearer", "expires_in": 3600,
            "refresh_token": "tp-refresh-1", "scope": "openid calendar.read"}),
        json!({"access_token": "tp-access-2", "token_type": "Bearer", "expires_in": 3600}),
    ])
    .await;
    let pid = calendar_provider(&w, &idp.url).await;
    let c = caller(&w, "calendar-agent").await;
    w.grant_credential_provider(&pid, &c.client_id)
        .await
        .unwrap();

    let out = w.fetch_oauth_token(&c, &ask(), "10.1.1.1").await.unwrap();
    let uri = session_uri(&out);
    assert!(uri.starts_with(SESSION_URI_PREFIX), "{uri}");
    let q = query_of(
        out["oauthAuthorizationSession"]["authorizationUrl"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(q["client_id"], "writ-app");
    assert_eq!(q["redirect_uri"], w.oauth_callback_url());
    assert_eq!(q["code_challenge_method"], "S256");
    let state = q["state"].clone();

    // Only the consumer that opened it sees the session.
    let got = w
        .get_oauth_session(&c, &json!({"sessionUri": uri}))
        .await
        .unwrap();
    assert_eq!(got["sessionStatus"], "pending");
    let other = caller(&w, "someone-else").await;
    let e = w
        .get_oauth_session(&other, &json!({"sessionUri": uri}))
        .await
        .unwrap_err();
    assert!(matches!(e, DevApiError::NotFound(_)), "{e:?}");

    // A state Writ never issued finds nothing and calls no one.
    let e = w
        .oauth_callback(Some("forged-state"), Some("abc"), None, None)
        .await
        .unwrap_err();
    assert!(matches!(e, DevApiError::NotFound(_)), "{e:?}");
    assert!(idp.received().is_empty());

    // The real callback: the code is exchanged with the PKCE verifier, by
    // Writ's client at the third party, and the session completes.
    let done = w
        .oauth_callback(Some(state.as_str()), Some("code-123"), None, None)
        .await
        .unwrap();
    assert_eq!(done, CallbackOutcome::Completed);
    let calls = idp.received();
    assert_eq!(calls.len(), 1);
    let f = &calls[0].form;
    assert_eq!(f["grant_type"], "authorization_code");
    assert_eq!(f["code"], "code-123");
    assert_eq!(f["redirect_uri"], w.oauth_callback_url());
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(f["code_verifier"].as_bytes()));
    assert_eq!(challenge, q["code_challenge"], "the verifier matches");
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("writ-app:{SECRET}"));
    assert_eq!(calls[0].headers["authorization"], format!("Basic {basic}"));
    let got = w
        .get_oauth_session(&c, &json!({"sessionUri": uri}))
        .await
        .unwrap();
    assert_eq!(got["sessionStatus"], "completed");
    assert!(got["authenticationTokenId"].is_string(), "{got}");

    // The same state again does nothing: the session is used.
    match w
        .oauth_callback(Some(state.as_str()), Some("code-123"), None, None)
        .await
        .unwrap()
    {
        CallbackOutcome::Failed(why) => assert!(why.contains("already used"), "{why}"),
        CallbackOutcome::Completed => panic!("a state completed twice"),
    }
    assert_eq!(idp.received().len(), 1);

    // The kept token is handed out without asking the third party again.
    let out = w.fetch_oauth_token(&c, &ask(), "10.1.1.1").await.unwrap();
    let content = &out["oauthAccessTokenContent"];
    assert_eq!(content["accessTokenValue"], "tp-access-1");
    assert_eq!(content["scope"], "openid calendar.read");
    assert_eq!(out["authenticationTokenId"], got["authenticationTokenId"]);
    assert_eq!(idp.received().len(), 1);

    // Once stale, it is refreshed with the refresh token it came with.
    w.clock.advance(3600);
    let out = w.fetch_oauth_token(&c, &ask(), "10.1.1.1").await.unwrap();
    assert_eq!(
        out["oauthAccessTokenContent"]["accessTokenValue"],
        "tp-access-2"
    );
    let calls = idp.received();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[1].form["grant_type"], "refresh_token");
    assert_eq!(calls[1].form["refresh_token"], "tp-refresh-1");
}

#[tokio::test]
async fn a_refused_or_expired_session_cannot_be_completed() {
    let w = open().await;
    let idp = ThirdParty::start(vec![json!({"access_token": "never-handed-out"})]).await;
    let pid = calendar_provider(&w, &idp.url).await;
    let c = caller(&w, "calendar-agent").await;
    w.grant_credential_provider(&pid, &c.client_id)
        .await
        .unwrap();

    // The user says no: the session fails with the third party's reason.
    let out = w.fetch_oauth_token(&c, &ask(), "10.1.1.1").await.unwrap();
    let (uri, q) = (
        session_uri(&out),
        query_of(
            out["oauthAuthorizationSession"]["authorizationUrl"]
                .as_str()
                .unwrap(),
        ),
    );
    let r = w
        .oauth_callback(
            Some(q["state"].as_str()),
            None,
            Some("access_denied"),
            Some("The user said no"),
        )
        .await
        .unwrap();
    assert_eq!(r, CallbackOutcome::Failed("The user said no".into()));
    let got = w
        .get_oauth_session(&c, &json!({"sessionUri": uri}))
        .await
        .unwrap();
    assert_eq!(
        (&got["sessionStatus"], &got["errorCode"]),
        (&json!("failed"), &json!("access_denied"))
    );

    // A session left past its lifetime is expired, and its callback does nothing.
    let out = w.fetch_oauth_token(&c, &ask(), "10.1.1.1").await.unwrap();
    let (uri, q) = (
        session_uri(&out),
        query_of(
            out["oauthAuthorizationSession"]["authorizationUrl"]
                .as_str()
                .unwrap(),
        ),
    );
    w.clock.advance(601);
    let got = w
        .get_oauth_session(&c, &json!({"sessionUri": uri}))
        .await
        .unwrap();
    assert_eq!(got["sessionStatus"], "expired");
    match w
        .oauth_callback(Some(q["state"].as_str()), Some("late-code"), None, None)
        .await
        .unwrap()
    {
        CallbackOutcome::Failed(why) => assert!(why.contains("expired"), "{why}"),
        CallbackOutcome::Completed => panic!("an expired session completed"),
    }
    assert!(
        idp.received().is_empty(),
        "no code was exchanged for a refused or expired session"
    );
}
