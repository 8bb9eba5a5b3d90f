//! OAuth credential providers over TLS, on both backends, up to the point
//! where a third party would answer: admin validation and edit (the secret
//! is sealed, never returned, kept when left blank), the user-delegated
//! flow's session (PKCE, state, callback URL), the callback's refusal and
//! replay paths, grants and disabled providers. The full flows against a
//! real OAuth server are in end2end/sdk/test_pam_oauth.py.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use common::{Backend, TestServer, spawn};
use serde_json::{Value, json};
use std::collections::HashMap;

on_both_backends!(
    user_delegated_sessions_and_callback,
    silent_third_party_is_answered_in_time
);

const SECRET: &str = "third-party-client-secret-0f9e8d";

async fn dev_post(s: &TestServer, path: &str, bearer: Option<&str>, body: Value) -> (u16, Value) {
    let mut r = s.http.post(s.url(path)).json(&body);
    if let Some(b) = bearer {
        r = r.bearer_auth(b);
    }
    let r = r.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn pam_bearer(s: &TestServer, name: &str) -> (String, String) {
    let (cid, _, bearer) = s.agent_with_pam_bearer(name).await;
    (cid, bearer)
}

async fn callback(s: &TestServer, query: &str) -> (u16, String) {
    let r = s
        .http
        .get(s.url(&format!("/oauth/callback?{query}")))
        .send()
        .await
        .unwrap();
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn user_delegated_sessions_and_callback(b: Backend) {
    let s = spawn(b).await;
    let instance: Value = s.admin_get("/issuer").await.json().await.unwrap();
    let instance = instance["instance_id"].as_str().unwrap().to_owned();
    let base = json!({"type": "oauth", "name": "Calendar", "identifier": "calendar",
        "client_id": "writ-app", "client_secret": SECRET,
        "authorization_endpoint": "https://idp.example.com/authorize",
        "token_endpoint": "https://idp.example.com/token", "scopes": ["openid", "calendar.read"]});

    // Validation names the field.
    for (patch, field) in [
        (json!({"client_secret": ""}), "client_secret"),
        (
            json!({"token_endpoint": "http://127.0.0.1:9/token"}),
            "token_endpoint",
        ),
        (
            json!({"authorization_endpoint": "", "authorization_flow": "user_federation"}),
            "authorization_endpoint",
        ),
        (json!({"client_auth_method": "tls"}), "client_auth_method"),
    ] {
        let mut body = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = s.admin_post("/credential-providers", body).await;
        assert_eq!(r.status(), 400, "{field}");
        let e: Value = r.json().await.unwrap();
        assert!(
            e["error_description"].as_str().unwrap().contains(field),
            "{field}: {e}"
        );
    }

    let r = s.admin_post("/credential-providers", base.clone()).await;
    assert_eq!(r.status(), 201);
    let text = r.text().await.unwrap();
    assert!(!text.contains(SECRET), "the secret is never returned");
    let p: Value = serde_json::from_str(&text).unwrap();
    let pid = p["id"].as_str().unwrap().to_owned();
    assert_eq!(p["authorization_flow"], "user_federation");
    assert_eq!(p["client_auth_method"], "basic");
    assert_eq!(p["callback_url"], s.url("/oauth/callback"));

    // Edit: a blank secret keeps the stored one; the name changes.
    let r = s
        .admin_patch(
            &format!("/credential-providers/{pid}"),
            json!({"name": "Calendar (prod)", "client_secret": ""}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let got: Value = s
        .admin_get(&format!("/credential-providers/{pid}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got["name"], "Calendar (prod)");
    assert_eq!(got["scopes"], json!(["openid", "calendar.read"]));

    let (cid, bearer) = pam_bearer(&s, "calendar-agent").await;
    let fetch = format!("/v2/{instance}/authenticationTokens/_/actions/fetchOAuthAccessToken");
    let get = format!("/v2/{instance}/oauthAuthorizationSessions/_/actions/get");
    let ask = json!({"credentialProviderIdentifier": "calendar", "customParameters": {"prompt": "consent"}});

    // No grant: a JSON 403 the PAM client reads (`code` is the status).
    let (st, e) = dev_post(&s, &fetch, Some(&bearer), ask.clone()).await;
    assert_eq!((st, e["code"].as_str()), (403, Some("403")), "{e}");
    assert_eq!(dev_post(&s, &fetch, None, ask.clone()).await.0, 401);
    s.admin_post(
        &format!("/credential-providers/{pid}/grants"),
        json!({"client_id": cid}),
    )
    .await;
    // A JWT call naming an OAuth provider is refused clearly.
    let (st, e) = dev_post(
        &s,
        &format!("/v2/{instance}/authenticationTokens/_/actions/generateJwt"),
        Some(&bearer),
        json!({"credentialProviderIdentifier": "calendar", "subject": "x", "audiences": ["a"]}),
    )
    .await;
    assert_eq!(st, 400, "{e}");
    // customParameters cannot replace the flow's own parameters.
    let (st, _) = dev_post(
        &s,
        &fetch,
        Some(&bearer),
        json!({"credentialProviderIdentifier": "calendar", "customParameters": {"redirect_uri": "https://evil.example"}}),
    )
    .await;
    assert_eq!(st, 400);

    // No stored token: an authorization session to consent in.
    let (st, out) = dev_post(&s, &fetch, Some(&bearer), ask.clone()).await;
    assert_eq!(st, 200, "{out}");
    assert!(out.get("oauthAccessTokenContent").is_none());
    let session = &out["oauthAuthorizationSession"];
    assert_eq!(session["sessionStatus"], "pending");
    let uri = session["sessionUri"].as_str().unwrap().to_owned();
    assert!(uri.starts_with("urn:ietf:params:oauth:request_uri:"));
    let url = reqwest::Url::parse(session["authorizationUrl"].as_str().unwrap()).unwrap();
    assert_eq!(url.path(), "/authorize");
    let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(q["client_id"], "writ-app");
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["redirect_uri"], s.url("/oauth/callback"));
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["code_challenge"].len(), 43);
    assert_eq!(q["scope"], "openid calendar.read");
    assert_eq!(q["prompt"], "consent");
    let state = q["state"].clone();

    let (st, got) = dev_post(&s, &get, Some(&bearer), json!({"sessionUri": uri})).await;
    assert_eq!((st, got["sessionStatus"].as_str()), (200, Some("pending")));
    assert_eq!(got["credentialProviderIdentifier"], "calendar");
    // Another client cannot see it.
    let (_, other) = pam_bearer(&s, "someone-else").await;
    assert_eq!(
        dev_post(&s, &get, Some(&other), json!({"sessionUri": uri}))
            .await
            .0,
        404
    );

    // The callback: an unknown state finds nothing; the user's refusal fails
    // the session with the third party's reason; a replay does nothing.
    let (st, page) = callback(&s, "state=forged&code=abc").await;
    assert_eq!(st, 404);
    assert!(page.contains("Authorization failed"));
    let (st, page) = callback(
        &s,
        &format!("state={state}&error=access_denied&error_description=The+user+said+%3Cno%3E"),
    )
    .await;
    assert_eq!(st, 400);
    assert!(page.contains("The user said &lt;no&gt;"), "escaped: {page}");
    let (_, got) = dev_post(&s, &get, Some(&bearer), json!({"sessionUri": uri})).await;
    assert_eq!(got["sessionStatus"], "failed");
    assert_eq!(got["errorCode"], "access_denied");
    let (st, page) = callback(&s, &format!("state={state}&code=abc")).await;
    assert_eq!(st, 400);
    assert!(page.contains("already used"));

    // Disabled: serves nothing.
    s.admin_post(&format!("/credential-providers/{pid}/disable"), json!({}))
        .await;
    let (st, e) = dev_post(&s, &fetch, Some(&bearer), ask).await;
    assert_eq!(st, 403, "{e}");
    assert!(
        e["error_description"]
            .as_str()
            .unwrap()
            .contains("disabled")
    );

    // The client secret is sealed at rest; a re-wrap covers provider records.
    let r: Value = s
        .admin_post("/master-key/rewrap", json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert!(r["already_current"].as_u64().unwrap() >= 2, "{r}");
    if matches!(b, Backend::Sqlite) {
        let at_rest = [
            std::fs::read(s.dir.join("writ.db")).unwrap(),
            std::fs::read(s.dir.join("writ.db-wal")).unwrap_or_default(),
        ]
        .concat();
        assert!(
            !at_rest
                .windows(SECRET.len())
                .any(|w| w == SECRET.as_bytes())
        );
    }
    assert_eq!(
        s.admin_delete(&format!("/credential-providers/{pid}"))
            .await
            .status(),
        204
    );
    s.stop().await;
}

/// A third party that accepts the connection and never answers: the
/// workload still gets a clear JSON 502 well inside the PAM client's 10 s
/// timeout, and nothing is stored.
async fn silent_third_party_is_answered_in_time(b: Backend) {
    let s = spawn(b).await;
    let instance: Value = s.admin_get("/issuer").await.json().await.unwrap();
    let instance = instance["instance_id"].as_str().unwrap().to_owned();
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((conn, _)) = silent.accept().await {
            open.push(conn); // read nothing, answer nothing
        }
    });
    let r = s
        .admin_post(
            "/credential-providers",
            json!({"type": "oauth", "name": "Silent", "identifier": "silent",
                "client_id": "writ-machine", "client_secret": SECRET,
                "token_endpoint": format!("http://127.0.0.1:{port}/token"),
                "client_auth_method": "post", "scopes": ["read"],
                "allow_insecure_local_endpoints": true}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let p: Value = r.json().await.unwrap();
    assert_eq!(p["authorization_flow"], "m2m");
    let (cid, bearer) = pam_bearer(&s, "silent-agent").await;
    s.admin_post(
        &format!("/credential-providers/{}/grants", p["id"].as_str().unwrap()),
        json!({"client_id": cid}),
    )
    .await;

    let started = std::time::Instant::now();
    let (st, e) = dev_post(
        &s,
        &format!("/v2/{instance}/authenticationTokens/_/actions/fetchOAuthAccessToken"),
        Some(&bearer),
        json!({"credentialProviderIdentifier": "silent"}),
    )
    .await;
    let took = started.elapsed();
    assert_eq!(
        (st, e["error"].as_str()),
        (502, Some("upstream_error")),
        "{e}"
    );
    assert!(
        took < std::time::Duration::from_secs(9),
        "answered after {took:?}, past the budget"
    );
    assert!(!e.to_string().contains(SECRET));
    held.abort();
    s.stop().await;
}
