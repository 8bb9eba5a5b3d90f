//! An agent's whole life over TLS, on both backends (issue 13): edit,
//! disable (every token request refused at once, whatever the method, and
//! the developer API refuses the token it holds), delete only once
//! disabled (its credentials and grants go in one step, its audit stays);
//! a resource server's permissions edited (grants shrink with them),
//! disabled and deleted; the built-in one kept.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use common::{Backend, TestServer, now, spawn};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

on_both_backends!(
    an_agent_is_edited_disabled_and_deleted,
    an_m2m_application_has_the_same_life,
    resource_server_edits_shrink_grants,
);

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const PAM_ALL: &str = "urn:cloud:idaas:pam|.all";

async fn json_of(r: reqwest::Response, status: u16) -> Value {
    let st = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(st, status, "{body}");
    body
}

/// An assertion signed with `key` (ES256 with a registered key, or HS256
/// keyed with a client secret), as the SDKs make them.
fn assertion(alg: Algorithm, key: &EncodingKey, client_id: &str, aud: &str) -> String {
    let claims = json!({"iss": client_id, "sub": client_id, "aud": aud,
        "jti": uuid::Uuid::new_v4().to_string(), "iat": now(), "exp": now() + 300});
    jsonwebtoken::encode(&Header::new(alg), &claims, key).unwrap()
}

/// Every way this test's agent authenticates, as (method, form).
struct Methods {
    client_id: String,
    secret: String,
    hmac_secret: String,
    key: EncodingKey,
}

impl Methods {
    async fn post(&self, s: &TestServer, method: &str) -> reqwest::Response {
        let cid = self.client_id.as_str();
        let mut form: Vec<(&str, String)> = vec![
            ("grant_type", "client_credentials".into()),
            ("scope", PAM_ALL.into()),
        ];
        let mut basic = None;
        match method {
            "client_secret_post" => {
                form.push(("client_id", cid.into()));
                form.push(("client_secret", self.secret.clone()));
            }
            "client_secret_basic" => basic = Some(self.secret.clone()),
            "client_secret_jwt" => {
                let key = EncodingKey::from_secret(self.hmac_secret.as_bytes());
                form.push(("client_assertion_type", JWT_BEARER.into()));
                form.push((
                    "client_assertion",
                    assertion(Algorithm::HS256, &key, cid, &s.token_url()),
                ));
            }
            "private_key_jwt" => {
                form.push(("client_assertion_type", JWT_BEARER.into()));
                form.push((
                    "client_assertion",
                    assertion(Algorithm::ES256, &self.key, cid, &s.token_url()),
                ));
            }
            other => panic!("no method {other}"),
        }
        let mut rb = s.http.post(s.token_url()).form(&form);
        if let Some(secret) = basic {
            rb = rb.basic_auth(cid, Some(secret));
        }
        rb.send().await.unwrap()
    }
}

const METHODS: [&str; 4] = [
    "client_secret_post",
    "client_secret_basic",
    "client_secret_jwt",
    "private_key_jwt",
];

/// A client of `collection` that can authenticate by every method.
async fn client_with_every_method(s: &TestServer, collection: &str) -> (Value, Methods) {
    let body = match collection {
        "agents" => json!({"name": "cut-off", "owner": "ops"}),
        _ => json!({"name": "cut-off"}),
    };
    let c = json_of(s.admin_post(&format!("/{collection}"), body).await, 201).await;
    let id = c["id"].as_str().unwrap();
    let plain = json_of(
        s.admin_post(&format!("/{collection}/{id}/client-secrets"), json!({}))
            .await,
        201,
    )
    .await;
    let hmac = json_of(
        s.admin_post(
            &format!("/{collection}/{id}/client-secrets"),
            json!({"allow_client_secret_jwt": true}),
        )
        .await,
        201,
    )
    .await;
    let kp = rcgen::KeyPair::generate().unwrap();
    json_of(
        s.admin_post(
            &format!("/{collection}/{id}/public-keys"),
            json!({"pem": kp.public_key_pem()}),
        )
        .await,
        201,
    )
    .await;
    let m = Methods {
        client_id: c["client_id"].as_str().unwrap().into(),
        secret: plain["client_secret"].as_str().unwrap().into(),
        hmac_secret: hmac["client_secret"].as_str().unwrap().into(),
        key: EncodingKey::from_ec_pem(kp.serialize_pem().as_bytes()).unwrap(),
    };
    (c, m)
}

async fn refused(r: reqwest::Response) -> String {
    let st = r.status().as_u16();
    let b: Value = r.json().await.unwrap();
    assert_eq!(st, 401, "{b}");
    assert_eq!(b["error"], "invalid_client", "{b}");
    assert!(b.get("access_token").is_none());
    b["error_description"].as_str().unwrap().to_owned()
}

/// What the developer API answers a bearer (any authenticated call).
async fn developer_api_status(s: &TestServer, bearer: &str) -> u16 {
    let issuer: Value = s.admin_get("/issuer").await.json().await.unwrap();
    let instance = issuer["instance_id"].as_str().unwrap();
    s.http
        .get(s.url(&format!(
            "/v2/{instance}/credentials/_/actions/obtain?credentialIdentifier=none"
        )))
        .header("x-acs-action", "ObtainCredential")
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn lifecycle_of(s: &TestServer, collection: &str) {
    let (c, m) = client_with_every_method(s, collection).await;
    let id = c["id"].as_str().unwrap();
    let path = format!("/{collection}/{id}");
    // Every method works, and the developer API takes the PAM token.
    let mut bearer = String::new();
    for method in METHODS {
        let t = json_of(m.post(s, method).await, 200).await;
        bearer = t["access_token"].as_str().unwrap().into();
    }
    // Authenticated (the credential it names does not exist, but that is
    // checked only after the bearer).
    let before = developer_api_status(s, &bearer).await;
    assert!(before != 401 && before < 500, "{before}");

    // Edit: name and description; unknown fields and bad values are 400.
    let edited = json_of(
        s.admin_patch(
            &path,
            json!({"name": "renamed", "description": "after review"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(edited["name"], "renamed");
    assert_eq!(edited["description"], "after review");
    assert_eq!(edited["client_id"], c["client_id"]);
    assert_eq!(edited["enabled"], true);
    json_of(s.admin_patch(&path, json!({"name": "  "})).await, 400).await;
    json_of(s.admin_patch(&path, json!({"client_id": "x"})).await, 400).await;
    if collection == "agents" {
        let e = json_of(
            s.admin_patch(&path, json!({"owner": "sec-team"})).await,
            200,
        )
        .await;
        assert_eq!(e["owner"], "sec-team");
    } else {
        json_of(s.admin_patch(&path, json!({"owner": "x"})).await, 400).await;
    }

    // Delete while enabled: 409, nothing changed.
    json_of(s.admin_delete(&path).await, 409).await;
    json_of(s.admin_get(&path).await, 200).await;
    json_of(m.post(s, "client_secret_post").await, 200).await;

    // Disable: at once, every method refused, the live bearer refused.
    let d = json_of(
        s.admin_post(&format!("{path}/disable"), json!({})).await,
        200,
    )
    .await;
    assert_eq!(d["enabled"], false);
    for method in METHODS {
        refused(m.post(s, method).await).await;
    }
    assert_eq!(developer_api_status(s, &bearer).await, 401);

    // Enable brings it back; disable again, then delete.
    json_of(
        s.admin_post(&format!("{path}/enable"), json!({})).await,
        200,
    )
    .await;
    json_of(m.post(s, "private_key_jwt").await, 200).await;
    json_of(
        s.admin_post(&format!("{path}/disable"), json!({})).await,
        200,
    )
    .await;
    let r = s.admin_delete(&path).await;
    assert_eq!(r.status(), 204);
    json_of(s.admin_get(&path).await, 404).await;
    json_of(s.admin_get(&format!("{path}/client-secrets")).await, 404).await;
    for method in METHODS {
        refused(m.post(s, method).await).await;
    }
    assert_eq!(developer_api_status(s, &bearer).await, 401);
    // Its grants went with it; its audit records stay.
    let pam = pam_resource_server(s).await;
    let grants = json_of(
        s.admin_get(&format!("/resource-servers/{pam}/grants"))
            .await,
        200,
    )
    .await;
    assert!(
        !grants
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["client_id"] == c["client_id"]),
        "{grants}"
    );
    s.running.writ.flush_audit().await;
    let issued = audit_records(s, &m.client_id).await;
    assert!(issued >= 5, "audit kept: {issued} records");
    // Unknown ids and the wrong collection are 404.
    let other = if collection == "agents" {
        "m2m-applications"
    } else {
        "agents"
    };
    json_of(
        s.admin_post(&format!("/{other}/{id}/disable"), json!({}))
            .await,
        404,
    )
    .await;
    json_of(s.admin_delete(&format!("/{collection}/nope")).await, 404).await;
}

/// Audit rows that name `client_id`, read from the database itself.
async fn audit_records(s: &TestServer, client_id: &str) -> i64 {
    use sea_orm::{ConnectionTrait, Database, Statement};
    assert!(
        client_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    );
    let db = Database::connect(&s.database_url).await.unwrap();
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT COUNT(*) AS n FROM audit_events WHERE client_id = '{client_id}'"),
        ))
        .await
        .unwrap()
        .unwrap();
    let n: i64 = row.try_get("", "n").unwrap();
    db.close().await.unwrap();
    n
}

async fn pam_resource_server(s: &TestServer) -> String {
    let all = json_of(s.admin_get("/resource-servers").await, 200).await;
    all.as_array()
        .unwrap()
        .iter()
        .find(|r| r["builtin"] == true)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn an_agent_is_edited_disabled_and_deleted(b: Backend) {
    let s = spawn(b).await;
    lifecycle_of(&s, "agents").await;
    s.stop().await;
}

async fn an_m2m_application_has_the_same_life(b: Backend) {
    let s = spawn(b).await;
    lifecycle_of(&s, "m2m-applications").await;
    s.stop().await;
}

async fn resource_server_edits_shrink_grants(b: Backend) {
    let s = spawn(b).await;
    let rs = json_of(
        s.admin_post(
            "/resource-servers",
            json!({"name": "Orders", "audience": "https://orders.example",
                "permissions": ["read", "write", "refund"]}),
        )
        .await,
        201,
    )
    .await;
    let rid = rs["id"].as_str().unwrap();
    assert_eq!(rs["enabled"], true);
    let (a, _, secret) = s.agent_with_secret("clerk").await;
    let (b_agent, _, b_secret) = s.agent_with_secret("auditor").await;
    let (c_agent, _, c_secret) = s.agent_with_secret("admin").await;
    let grant = |cid: &Value, perms: Value| {
        let s = &s;
        let body = json!({"client_id": cid, "permissions": perms});
        async move {
            json_of(
                s.admin_post(&format!("/resource-servers/{rid}/grants"), body)
                    .await,
                201,
            )
            .await
        }
    };
    grant(&a["client_id"], json!(["read", "refund"])).await;
    grant(&b_agent["client_id"], json!(["refund"])).await;
    grant(&c_agent["client_id"], json!([".all"])).await;
    let scope_of = |t: &Value| t["scope"].as_str().unwrap().to_owned();
    let a_cid = a["client_id"].as_str().unwrap();
    let t = s.token(a_cid, &secret, "https://orders.example|.all").await;
    assert!(scope_of(&t).contains("refund"), "{t}");

    // Remove `refund`: grants shrink in the same step; a grant left empty goes.
    let e = json_of(
        s.admin_patch(
            &format!("/resource-servers/{rid}"),
            json!({"permissions": ["read", "write"], "access_token_ttl_seconds": 600,
                "custom_subject_identity": true}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(e["permissions"], json!(["read", "write"]));
    assert_eq!(e["access_token_ttl_seconds"], 600);
    assert_eq!(e["custom_subject"], true);
    let grants = json_of(
        s.admin_get(&format!("/resource-servers/{rid}/grants"))
            .await,
        200,
    )
    .await;
    let held = |cid: &Value| {
        grants
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["client_id"] == *cid)
            .map(|g| g["permissions"].clone())
    };
    assert_eq!(held(&a["client_id"]), Some(json!(["read"])));
    assert_eq!(held(&b_agent["client_id"]), None, "{grants}");
    assert_eq!(held(&c_agent["client_id"]), Some(json!([".all"])));
    let t = s.token(a_cid, &secret, "https://orders.example|.all").await;
    assert_eq!(scope_of(&t), "https://orders.example|read");
    assert_eq!(t["expires_in"], 600);
    let r = s
        .token_post(
            b_agent["client_id"].as_str().unwrap(),
            &b_secret,
            "https://orders.example|refund",
        )
        .await;
    assert_eq!(r.status(), 400, "no grant left");
    // Bad edits change nothing.
    json_of(
        s.admin_patch(
            &format!("/resource-servers/{rid}"),
            json!({"access_token_ttl_seconds": 0}),
        )
        .await,
        400,
    )
    .await;
    json_of(
        s.admin_patch(
            &format!("/resource-servers/{rid}"),
            json!({"audience": "https://other"}),
        )
        .await,
        400,
    )
    .await;

    // Disable: its audience is refused; delete only once disabled.
    json_of(
        s.admin_delete(&format!("/resource-servers/{rid}")).await,
        409,
    )
    .await;
    json_of(
        s.admin_post(&format!("/resource-servers/{rid}/disable"), json!({}))
            .await,
        200,
    )
    .await;
    let c_cid = c_agent["client_id"].as_str().unwrap();
    let r = s
        .token_post(c_cid, &c_secret, "https://orders.example|.all")
        .await;
    assert_eq!(r.status(), 400, "disabled audience refused");
    assert_eq!(
        s.admin_delete(&format!("/resource-servers/{rid}"))
            .await
            .status(),
        204
    );
    json_of(s.admin_get(&format!("/resource-servers/{rid}")).await, 404).await;
    // The client's PAM grant is untouched.
    s.token(c_cid, &c_secret, PAM_ALL).await;

    // The built-in resource server: TTL editable, nothing else.
    let pam = pam_resource_server(&s).await;
    json_of(
        s.admin_post(&format!("/resource-servers/{pam}/disable"), json!({}))
            .await,
        409,
    )
    .await;
    json_of(
        s.admin_delete(&format!("/resource-servers/{pam}")).await,
        409,
    )
    .await;
    json_of(
        s.admin_patch(
            &format!("/resource-servers/{pam}"),
            json!({"permissions": ["x"]}),
        )
        .await,
        409,
    )
    .await;
    let e = json_of(
        s.admin_patch(
            &format!("/resource-servers/{pam}"),
            json!({"access_token_ttl_seconds": 1800}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(e["access_token_ttl_seconds"], 1800);
    s.stop().await;
}
