//! RFC 8693 token exchange end to end over TLS, on both backends: a person's
//! ID token from an issuer this test makes, exchanged by agents for Writ
//! tokens that name the person (`sub`) and the agents (`act`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use base64::Engine;
use common::{Backend, TestServer, now, spawn};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Value, json};

on_both_backends!(
    a_persons_token_becomes_a_delegated_writ_token,
    bad_subject_tokens_are_invalid_grant,
    scope_only_narrows_and_targets_must_allow_delegation,
    agents_chain_with_nested_act_up_to_the_depth,
    keys_from_a_jwks_uri_and_the_provider_lifecycle,
);

const GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";
const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
const ISSUER: &str = "https://login.people.example";
const IDP_AUDIENCE: &str = "writ-delegation";
const API: &str = "https://docs.example/api";
/// Readers may delegate read and admin; everyone else nothing.
const PERMISSIONS_EXPRESSION: &str =
    "jwt.claims.groups.exists(g, g == 'readers') ? ['read', 'admin'] : []";

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// The people's identity provider: one EC key.
struct People(rcgen::KeyPair);
impl People {
    fn new() -> Self {
        Self(rcgen::KeyPair::generate().unwrap())
    }
    fn jwks(&self) -> Value {
        let raw = self.0.public_key_raw();
        json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "idp-1", "use": "sig", "alg": "ES256", "x": b64(&raw[1..33]), "y": b64(&raw[33..65])}]})
    }
    fn sign(&self, claims: &Value) -> String {
        let mut h = Header::new(Algorithm::ES256);
        h.kid = Some("idp-1".into());
        jsonwebtoken::encode(
            &h,
            claims,
            &EncodingKey::from_ec_pem(self.0.serialize_pem().as_bytes()).unwrap(),
        )
        .unwrap()
    }
    /// Alice's ID token (a reader), with `patch` merged in (`null` removes).
    fn id_token(&self, patch: Value) -> String {
        let mut c = json!({"iss": ISSUER, "aud": IDP_AUDIENCE, "sub": "alice", "email": "alice@people.example",
            "groups": ["readers"], "iat": now(), "exp": now() + 600});
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        self.sign(&c)
    }
}

/// A resource server with delegation as given; returns its id.
async fn resource_server(s: &TestServer, audience: &str, delegation: Value) -> String {
    let r = s
        .admin_post(
            "/resource-servers",
            json!({"name": audience, "audience": audience, "permissions": ["read", "write", "admin"],
                "access_token_ttl_seconds": 3600, "delegation": delegation}),
        )
        .await;
    let st = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(st, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

async fn grant(s: &TestServer, rs: &str, client_id: &str, perms: &[&str]) {
    let r = s
        .admin_post(
            &format!("/resource-servers/{rs}/grants"),
            json!({"client_id": client_id, "permissions": perms}),
        )
        .await;
    assert_eq!(r.status(), 201);
}

/// An agent with a secret: (client id, agent id, secret).
async fn agent(s: &TestServer, name: &str) -> (String, String, String) {
    let (a, _, secret) = s.agent_with_secret(name).await;
    (
        a["client_id"].as_str().unwrap().into(),
        a["agent_id"].as_str().unwrap_or_default().into(),
        secret,
    )
}

/// The usual setup: the provider (pasted keys), the API with delegation
/// on, and agent A granted read and write there.
async fn setup(s: &TestServer, people: &People) -> (String, (String, String, String)) {
    let r = s
        .admin_post(
            "/user-identity-providers",
            json!({"name": "people", "issuer": ISSUER, "audience": IDP_AUDIENCE, "jwks": people.jwks(),
                "trust_condition": "jwt.claims.email.endsWith('@people.example')"}),
        )
        .await;
    let st = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(st, 201, "{body}");
    assert_eq!(body["key_source"], "pasted");
    let rs = resource_server(
        s,
        API,
        json!({"enabled": true, "permissions_expression": PERMISSIONS_EXPRESSION}),
    )
    .await;
    let a = agent(s, "assistant").await;
    grant(s, &rs, &a.0, &["read", "write"]).await;
    (rs, a)
}

async fn exchange(
    s: &TestServer,
    (client_id, secret): (&str, &str),
    subject: &str,
    subject_type: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = vec![
        ("grant_type", GRANT),
        ("client_id", client_id),
        ("client_secret", secret),
        ("subject_token", subject),
        ("subject_token_type", subject_type),
    ];
    form.extend_from_slice(extra);
    s.http.post(s.token_url()).form(&form).send().await.unwrap()
}

async fn ok(r: reqwest::Response) -> Value {
    let st = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(st, 200, "{body}");
    body
}

/// (status, error, error_description)
async fn refused(r: reqwest::Response) -> (u16, String, String) {
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

/// The claims of a Writ token, verified against Writ's published JWKS.
async fn verified(s: &TestServer, token: &str, audience: &str) -> Value {
    let jwks: Value = s
        .http
        .get(s.url("/api/v2/iauths_system/oauth2/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let k = &jwks["keys"][0];
    let dk = DecodingKey::from_ec_components(k["x"].as_str().unwrap(), k["y"].as_str().unwrap())
        .unwrap();
    let mut v = Validation::new(Algorithm::ES256);
    v.set_audience(&[audience]);
    jsonwebtoken::decode::<Value>(token, &dk, &v)
        .unwrap()
        .claims
}

async fn a_persons_token_becomes_a_delegated_writ_token(b: Backend) {
    let s = spawn(b).await;
    let people = People::new();
    let (_, (cid, agent_id, secret)) = setup(&s, &people).await;
    let id_token = people.id_token(json!({"exp": now() + 600}));
    let scope = format!("{API}|.all");
    let t = ok(exchange(
        &s,
        (&cid, &secret),
        &id_token,
        ID_TOKEN,
        &[("scope", &scope)],
    )
    .await)
    .await;
    assert_eq!(t["issued_token_type"], ACCESS_TOKEN);
    assert_eq!(t["token_type"], "Bearer");
    // The intersection: the agent holds read+write, alice may delegate read+admin.
    assert_eq!(t["scope"], format!("{API}|read"));
    // Never longer than the person's token has left (600 s < the API's 3600 s).
    let expires_in = t["expires_in"].as_i64().unwrap();
    assert!((590..=600).contains(&expires_in), "{expires_in}");
    let c = verified(&s, t["access_token"].as_str().unwrap(), API).await;
    assert_eq!(c["sub"], "alice");
    assert_eq!(c["subject_issuer"], ISSUER);
    assert_eq!(c["client_id"], cid.as_str());
    assert_eq!(c["act"]["sub"], cid.as_str());
    assert_eq!(c["act"]["agent_id"], agent_id.as_str());
    assert!(c["act"].get("act").is_none());
    assert_eq!(c["scope"], format!("{API}|read"));

    // The same ID token again: a person's bearer token is not single-use.
    let again = format!("{API}|read");
    ok(exchange(
        &s,
        (&cid, &secret),
        &id_token,
        ID_TOKEN,
        &[("scope", &again)],
    )
    .await)
    .await;
    // RFC 8693's audience + plain permission names, and the jwt token type.
    let t = ok(exchange(
        &s,
        (&cid, &secret),
        &id_token,
        "urn:ietf:params:oauth:token-type:jwt",
        &[("audience", API), ("scope", "read")],
    )
    .await)
    .await;
    assert_eq!(t["scope"], format!("{API}|read"));
    // An actor token naming the agent itself is accepted (and adds nothing).
    let actor = format!(
        "{}.{}.",
        b64(br#"{"alg":"none"}"#),
        b64(json!({"sub": cid}).to_string().as_bytes())
    );
    ok(exchange(
        &s,
        (&cid, &secret),
        &id_token,
        ID_TOKEN,
        &[
            ("scope", &again),
            ("actor_token", &actor),
            ("actor_token_type", "urn:ietf:params:oauth:token-type:jwt"),
        ],
    )
    .await)
    .await;
    // One naming anyone else is refused.
    let other = format!(
        "{}.{}.",
        b64(br#"{"alg":"none"}"#),
        b64(br#"{"sub":"someone-else"}"#)
    );
    let (st, e, _) = refused(
        exchange(
            &s,
            (&cid, &secret),
            &id_token,
            ID_TOKEN,
            &[
                ("scope", &again),
                ("actor_token", &other),
                ("actor_token_type", "urn:ietf:params:oauth:token-type:jwt"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!((st, e.as_str()), (400, "invalid_request"));

    // Discovery lists the grant, beside client credentials.
    let m: Value = s
        .http
        .get(s.url("/api/v2/iauths_system/oauth2/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let grants = m["grant_types_supported"].as_array().unwrap();
    assert!(grants.contains(&json!(GRANT)) && grants.contains(&json!("client_credentials")));

    // The audit names both: the person and the agent.
    s.running.writ.flush_audit().await;
    let agents: Value = s.admin_get("/agents").await.json().await.unwrap();
    let pk = agents
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["client_id"] == cid.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let audit: Value = s
        .admin_get(&format!("/agents/{pk}/audit"))
        .await
        .json()
        .await
        .unwrap();
    let rows = audit.as_array().unwrap();
    let issued = rows.iter().find(|r| r["outcome"] == "issued").unwrap();
    let d: Value = serde_json::from_str(issued["delegation"].as_str().unwrap()).unwrap();
    assert_eq!(
        d["subject"],
        json!({"iss": ISSUER, "sub": "alice", "verified": true})
    );
    assert_eq!(d["actors"], json!([cid]));
    let refusal = rows.iter().find(|r| r["outcome"] == "refused").unwrap();
    assert!(
        refusal["delegation"].as_str().unwrap().contains("alice"),
        "{refusal}"
    );
    s.stop().await;
}

async fn bad_subject_tokens_are_invalid_grant(b: Backend) {
    let s = spawn(b).await;
    let people = People::new();
    let (_, (cid, _, secret)) = setup(&s, &people).await;
    let scope = format!("{API}|read");
    let check = |token: String, want: &'static str| {
        let (s, cid, secret, scope) = (&s, cid.clone(), secret.clone(), scope.clone());
        async move {
            let (st, e, d) =
                refused(exchange(s, (&cid, &secret), &token, ID_TOKEN, &[("scope", &scope)]).await)
                    .await;
            assert_eq!((st, e.as_str()), (400, "invalid_grant"), "{want}: {d}");
            assert!(d.contains(want), "{want}: {d}");
        }
    };
    check(
        people.id_token(json!({"exp": now() - 3600, "iat": now() - 7200})),
        "expired",
    )
    .await;
    check(people.id_token(json!({"aud": "someone-else"})), "audience").await;
    check(
        people.id_token(json!({"iss": "https://evil.example"})),
        "issuer",
    )
    .await;
    check(People::new().id_token(json!({})), "signature").await;
    // Unsigned.
    let claims = json!({"iss": ISSUER, "aud": IDP_AUDIENCE, "sub": "alice", "exp": now() + 600});
    let none = format!(
        "{}.{}.",
        b64(br#"{"alg":"none","kid":"idp-1"}"#),
        b64(claims.to_string().as_bytes())
    );
    check(none, "not a JWT").await;
    // Tampered: bob's claims under alice's signature.
    let good = people.id_token(json!({}));
    let parts: Vec<&str> = good.split('.').collect();
    let bob = json!({"iss": ISSUER, "aud": IDP_AUDIENCE, "sub": "bob", "email": "bob@people.example", "groups": ["readers"], "exp": now() + 600});
    check(
        format!(
            "{}.{}.{}",
            parts[0],
            b64(bob.to_string().as_bytes()),
            parts[2]
        ),
        "signature",
    )
    .await;
    // The provider's trust condition.
    check(
        people.id_token(json!({"email": "mallory@elsewhere.example"})),
        "trust condition",
    )
    .await;
    check("not-a-jwt".into(), "issuer").await;

    // Requests wrong in shape are invalid_request, before any verification.
    let (st, e, _) =
        refused(exchange(&s, (&cid, &secret), &good, "urn:x", &[("scope", &scope)]).await).await;
    assert_eq!((st, e.as_str()), (400, "invalid_request"));
    let (st, e, _) = refused(
        s.http
            .post(s.token_url())
            .form(&[
                ("grant_type", GRANT),
                ("client_id", &cid),
                ("client_secret", &secret),
                ("scope", &scope),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((st, e.as_str()), (400, "invalid_request"));
    // The agent authenticates first: a wrong secret never reaches the subject.
    let (st, e, _) =
        refused(exchange(&s, (&cid, "wrong"), &good, ID_TOKEN, &[("scope", &scope)]).await).await;
    assert_eq!((st, e.as_str()), (401, "invalid_client"));
    s.stop().await;
}

async fn scope_only_narrows_and_targets_must_allow_delegation(b: Backend) {
    let s = spawn(b).await;
    let people = People::new();
    let (_, (cid, _, secret)) = setup(&s, &people).await;
    let id_token = people.id_token(json!({}));
    let ask = |scope: String| {
        let (s, cid, secret, id_token) = (&s, cid.clone(), secret.clone(), id_token.clone());
        async move {
            refused(
                exchange(
                    s,
                    (&cid, &secret),
                    &id_token,
                    ID_TOKEN,
                    &[("scope", &scope)],
                )
                .await,
            )
            .await
        }
    };
    // write: the agent holds it, alice may not delegate it.
    let (st, e, d) = ask(format!("{API}|write")).await;
    assert_eq!((st, e.as_str()), (400, "invalid_scope"), "{d}");
    assert!(d.contains("delegate"), "{d}");
    // admin: alice may delegate it, the agent is not granted it.
    let (st, e, d) = ask(format!("{API}|admin")).await;
    assert_eq!((st, e.as_str()), (400, "invalid_scope"), "{d}");
    assert!(d.contains("not granted"), "{d}");
    // Someone who may delegate nothing.
    let carol = people.id_token(json!({"sub": "carol", "groups": ["writers"]}));
    let (st, e, _) = refused(
        exchange(
            &s,
            (&cid, &secret),
            &carol,
            ID_TOKEN,
            &[("scope", &format!("{API}|.all"))],
        )
        .await,
    )
    .await;
    assert_eq!((st, e.as_str()), (400, "invalid_scope"));
    // A resource server without delegation is not a target.
    let closed = "https://closed.example/api";
    let rs = resource_server(&s, closed, json!(null)).await;
    grant(&s, &rs, &cid, &["read"]).await;
    let (st, e, d) = ask(format!("{closed}|read")).await;
    assert_eq!((st, e.as_str()), (400, "invalid_target"), "{d}");
    assert!(d.contains("not enabled"), "{d}");
    // Client credentials to it still work: delegation is its own switch.
    s.token(&cid, &secret, &format!("{closed}|read")).await;
    let (st, e, _) = ask("https://nowhere.example|read".into()).await;
    assert_eq!((st, e.as_str()), (400, "invalid_target"));

    // The policy is checked on save: a bad expression names its position.
    let r = s.admin_patch(&format!("/resource-servers/{rs}"), json!({"delegation": {"enabled": true, "permissions_expression": "jwt.claims.groups.exists(g, "}})).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("line 1"));
    let r = s
        .admin_patch(
            &format!("/resource-servers/{rs}"),
            json!({"delegation": {"enabled": true}}),
        )
        .await;
    assert_eq!(r.status(), 400, "enabling needs an expression");
    let r = s.admin_patch(&format!("/resource-servers/{rs}"), json!({"delegation": {"enabled": true, "permissions_expression": "['read']", "max_chain_depth": 1}})).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v["delegation"],
        json!({"enabled": true, "permissions_expression": "['read']", "max_chain_depth": 1})
    );
    let t = ok(exchange(
        &s,
        (&cid, &secret),
        &id_token,
        ID_TOKEN,
        &[("scope", &format!("{closed}|read"))],
    )
    .await)
    .await;
    assert_eq!(t["scope"], format!("{closed}|read"));
    s.stop().await;
}

async fn agents_chain_with_nested_act_up_to_the_depth(b: Backend) {
    let s = spawn(b).await;
    let people = People::new();
    let (rs, (a_cid, _, a_secret)) = setup(&s, &people).await;
    let (b_cid, b_agent, b_secret) = agent(&s, "sub-agent").await;
    let (c_cid, _, c_secret) = agent(&s, "sub-sub-agent").await;
    grant(&s, &rs, &b_cid, &[".all"]).await;
    grant(&s, &rs, &c_cid, &[".all"]).await;
    let scope = format!("{API}|.all");
    let t1 = ok(exchange(
        &s,
        (&a_cid, &a_secret),
        &people.id_token(json!({})),
        ID_TOKEN,
        &[("scope", &scope)],
    )
    .await)
    .await;
    let t1 = t1["access_token"].as_str().unwrap().to_owned();
    // B acts on the token A received: nested act, the scope no wider than A's.
    let t2 = ok(exchange(
        &s,
        (&b_cid, &b_secret),
        &t1,
        ACCESS_TOKEN,
        &[("scope", &scope)],
    )
    .await)
    .await;
    assert_eq!(
        t2["scope"],
        format!("{API}|read"),
        "B holds .all, but A was handed read only"
    );
    let c = verified(&s, t2["access_token"].as_str().unwrap(), API).await;
    assert_eq!(c["sub"], "alice");
    assert_eq!(c["act"]["sub"], b_cid.as_str());
    assert_eq!(c["act"]["agent_id"], b_agent.as_str());
    assert_eq!(c["act"]["act"]["sub"], a_cid.as_str());
    // Asking B for more than A had is refused.
    let (st, e, _) = refused(
        exchange(
            &s,
            (&b_cid, &b_secret),
            &t1,
            ACCESS_TOKEN,
            &[("scope", &format!("{API}|admin"))],
        )
        .await,
    )
    .await;
    assert_eq!((st, e.as_str()), (400, "invalid_scope"));
    // A third hop exceeds the API's depth of 2.
    let t2 = t2["access_token"].as_str().unwrap().to_owned();
    let (st, e, d) = refused(
        exchange(
            &s,
            (&c_cid, &c_secret),
            &t2,
            ACCESS_TOKEN,
            &[("scope", &scope)],
        )
        .await,
    )
    .await;
    assert_eq!((st, e.as_str()), (400, "invalid_grant"), "{d}");
    assert!(d.contains("at most 2"), "{d}");
    // An agent's own token is no delegation: it cannot be the subject.
    let own = s.token(&c_cid, &c_secret, &format!("{API}|read")).await;
    let (st, e, _) = refused(
        exchange(
            &s,
            (&b_cid, &b_secret),
            own["access_token"].as_str().unwrap(),
            ACCESS_TOKEN,
            &[("scope", &scope)],
        )
        .await,
    )
    .await;
    assert_eq!((st, e.as_str()), (400, "invalid_grant"));
    s.stop().await;
}

async fn keys_from_a_jwks_uri_and_the_provider_lifecycle(b: Backend) {
    use axum::{Json, Router, routing::get};
    let s = spawn(b).await;
    let people = People::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let jwks = people.jwks();
    let app = Router::new().route("/jwks", get(move || async move { Json(jwks) }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    // Exactly one key source.
    let r = s
        .admin_post(
            "/user-identity-providers",
            json!({"name": "x", "issuer": ISSUER, "audience": IDP_AUDIENCE}),
        )
        .await;
    assert_eq!(r.status(), 400);
    // The SSRF guard holds unless the provider is marked for local testing.
    let body = |allow: bool| {
        json!({"name": "people", "issuer": ISSUER, "audience": IDP_AUDIENCE,
        "jwks_uri": format!("{url}/jwks"), "allow_insecure_local_endpoints": allow})
    };
    assert_eq!(
        s.admin_post("/user-identity-providers", body(false))
            .await
            .status(),
        400
    );
    let r = s.admin_post("/user-identity-providers", body(true)).await;
    assert_eq!(r.status(), 201);
    let p: Value = r.json().await.unwrap();
    let id = p["id"].as_str().unwrap().to_owned();
    assert_eq!(p["key_source"], "jwks_uri");
    let r = s
        .admin_patch(
            &format!("/user-identity-providers/{id}"),
            json!({"trust_condition": "jwt.claims.sub =="}),
        )
        .await;
    assert_eq!(r.status(), 400);
    let r = s.admin_get(&format!("/user-identity-providers/{id}")).await;
    assert_eq!(r.json::<Value>().await.unwrap()["name"], "people");
    assert_eq!(
        s.admin_get("/user-identity-providers")
            .await
            .json::<Value>()
            .await
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let rs = resource_server(
        &s,
        API,
        json!({"enabled": true, "permissions_expression": PERMISSIONS_EXPRESSION}),
    )
    .await;
    let (cid, _, secret) = agent(&s, "assistant").await;
    grant(&s, &rs, &cid, &["read"]).await;
    let scope = format!("{API}|read");
    let id_token = people.id_token(json!({}));
    let t = ok(exchange(
        &s,
        (&cid, &secret),
        &id_token,
        ID_TOKEN,
        &[("scope", &scope)],
    )
    .await)
    .await;
    assert_eq!(
        verified(&s, t["access_token"].as_str().unwrap(), API).await["sub"],
        "alice"
    );

    // Deleted only once disabled; disabled, its people's tokens are refused.
    assert_eq!(
        s.admin_delete(&format!("/user-identity-providers/{id}"))
            .await
            .status(),
        409
    );
    assert_eq!(
        s.admin_post(&format!("/user-identity-providers/{id}/disable"), json!({}))
            .await
            .status(),
        200
    );
    let (st, e, _) = refused(
        exchange(
            &s,
            (&cid, &secret),
            &id_token,
            ID_TOKEN,
            &[("scope", &scope)],
        )
        .await,
    )
    .await;
    assert_eq!((st, e.as_str()), (400, "invalid_grant"));
    assert_eq!(
        s.admin_post(&format!("/user-identity-providers/{id}/enable"), json!({}))
            .await
            .status(),
        200
    );
    ok(exchange(
        &s,
        (&cid, &secret),
        &id_token,
        ID_TOKEN,
        &[("scope", &scope)],
    )
    .await)
    .await;
    assert_eq!(
        s.admin_post(&format!("/user-identity-providers/{id}/disable"), json!({}))
            .await
            .status(),
        200
    );
    assert_eq!(
        s.admin_delete(&format!("/user-identity-providers/{id}"))
            .await
            .status(),
        204
    );
    assert_eq!(
        s.admin_get(&format!("/user-identity-providers/{id}"))
            .await
            .status(),
        404
    );
    s.stop().await;
}
