//! JWT credential providers keep their keys apart from Writ's access-token
//! keys, over TLS on both backends: a JWT a granted workload mints does not
//! verify against any key of `{issuer}/jwks`, does verify against the
//! provider's own `jwks_uri` (fetched over HTTP, as a relying party would),
//! the admin view reports that `jwks_uri`, and Writ's own issuer cannot be
//! put on a provider's issuer whitelist.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use common::{Backend, TestServer, spawn};
use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};
use serde_json::{Value, json};

on_both_backends!(
    provider_jwts_verify_only_at_the_providers_own_jwks,
    writs_issuer_is_refused_on_the_whitelist
);

const PARTNER: &str = "https://partner.example";
const AUDIENCE: &str = "https://api.partner.example";

async fn get_json(s: &TestServer, url: &str) -> (u16, Value) {
    let r = s.http.get(url).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn generate_jwt(s: &TestServer, instance: &str, bearer: &str, body: Value) -> (u16, Value) {
    let r = s
        .http
        .post(s.url(&format!(
            "/v2/{instance}/authenticationTokens/_/actions/generateJwt"
        )))
        .bearer_auth(bearer)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn admin_json(s: &TestServer, path: &str) -> (u16, Value) {
    let r = s.admin_get(path).await;
    (r.status().as_u16(), r.json().await.unwrap())
}

/// Whether `token` verifies against `jwk` (signature, and `aud` when given;
/// no issuer check, as the lenient relying party of the issue does).
fn verifies(token: &str, jwk: &Value, audience: Option<&str>) -> Result<Value, String> {
    let header = decode_header(token).map_err(|e| e.to_string())?;
    let key = serde_json::from_value(jwk.clone())
        .map_err(|e| e.to_string())
        .and_then(|k| DecodingKey::from_jwk(&k).map_err(|e| e.to_string()))?;
    let mut v = Validation::new(header.alg);
    match audience {
        Some(a) => v.set_audience(&[a]),
        None => v.validate_aud = false,
    }
    decode::<Value>(token, &key, &v)
        .map(|d| d.claims)
        .map_err(|e| e.to_string())
}

fn keys(jwks: &Value) -> Vec<Value> {
    jwks["keys"].as_array().unwrap().clone()
}

async fn provider_jwts_verify_only_at_the_providers_own_jwks(b: Backend) {
    let s = spawn(b).await;
    let issuer_info: Value = s.admin_get("/issuer").await.json().await.unwrap();
    let instance = issuer_info["instance_id"].as_str().unwrap().to_owned();
    let issuer = s.url("/api/v2/iauths_system/oauth2");
    let (cid, _, bearer) = s.agent_with_pam_bearer("minter").await;

    // Writ's access-token JWKS, found as a relying party would (discovery).
    let (_, meta) = get_json(&s, &format!("{issuer}/.well-known/openid-configuration")).await;
    let (st, writ_jwks) = get_json(&s, meta["jwks_uri"].as_str().unwrap()).await;
    assert_eq!(st, 200);
    let writ_keys = keys(&writ_jwks);
    assert_eq!(writ_keys.len(), 1, "only Writ's signing key: {writ_jwks}");
    // Control: the way this test verifies does accept a real Writ token.
    verifies(&bearer, &writ_keys[0], Some("urn:cloud:idaas:pam"))
        .expect("a Writ access token verifies against the issuer's JWKS");

    // ES256 too: the same algorithm as Writ's key, so a refusal below is
    // the signature's, not an algorithm mismatch.
    let mut seen_kids = vec![writ_keys[0]["kid"].as_str().unwrap().to_owned()];
    for (n, alg) in ["ES256", "RS256", "EdDSA"].into_iter().enumerate() {
        let ident = format!("partner-{n}");
        let r = s
            .admin_post(
                "/credential-providers",
                json!({"type": "jwt", "name": format!("Partner {alg}"), "identifier": ident,
                    "algorithm": alg, "issuer_whitelist": [PARTNER]}),
            )
            .await;
        assert_eq!(r.status(), 201);
        let created: Value = r.json().await.unwrap();
        let pid = created["id"].as_str().unwrap();

        // The admin view reports the provider's own JWKS, beside every field it had.
        let (st, view) = admin_json(&s, &format!("/credential-providers/{pid}")).await;
        assert_eq!(st, 200, "{view}");
        let jwks_uri = view["jwks_uri"].as_str().unwrap().to_owned();
        assert_eq!(
            jwks_uri,
            s.url(&format!("/api/v2/credential-providers/{pid}/jwks"))
        );
        assert!(!jwks_uri.starts_with(&issuer), "not under Writ's issuer");
        assert_eq!(created["jwks_uri"], jwks_uri.as_str());
        for field in [
            "id",
            "type",
            "identifier",
            "name",
            "description",
            "algorithm",
            "generate_short_token",
            "expiration_seconds",
            "issuer_whitelist",
            "default_issuer",
            "kid",
            "enabled",
            "created_at",
        ] {
            assert!(view.get(field).is_some(), "{field} kept in {view}");
        }
        assert_eq!(view["algorithm"], alg);
        let default_issuer = view["default_issuer"].as_str().unwrap().to_owned();

        assert_eq!(
            s.admin_post(
                &format!("/credential-providers/{pid}/grants"),
                json!({"client_id": cid})
            )
            .await
            .status(),
            201
        );
        for asked_issuer in [None, Some(PARTNER)] {
            let mut body = json!({"credentialProviderIdentifier": ident, "subject": "bot",
                "audiences": [AUDIENCE]});
            if let Some(i) = asked_issuer {
                body["issuer"] = json!(i);
            }
            let (st, g) = generate_jwt(&s, &instance, &bearer, body).await;
            assert_eq!(st, 200, "{g}");
            let jwt = g["jwtContent"]["jwtValue"].as_str().unwrap();
            let kid = decode_header(jwt).unwrap().kid.unwrap();

            // Not in Writ's access-token JWKS, and no key there verifies it.
            let (_, writ_jwks) = get_json(&s, &format!("{issuer}/jwks")).await;
            assert!(
                !writ_jwks.to_string().contains(&kid),
                "{alg}: provider kid in the issuer JWKS"
            );
            for k in keys(&writ_jwks) {
                assert!(
                    verifies(jwt, &k, None).is_err(),
                    "{alg}: a provider JWT verified against Writ's access-token key {k}"
                );
            }

            // Its own JWKS, over HTTP, verifies it (signature and audience).
            let r = s.http.get(&jwks_uri).send().await.unwrap();
            assert_eq!(r.status(), 200);
            assert!(
                r.headers()["cache-control"]
                    .to_str()
                    .unwrap()
                    .contains("max-age")
            );
            let own: Value = r.json().await.unwrap();
            let own_keys = keys(&own);
            assert_eq!(own_keys.len(), 1, "{own}");
            assert_eq!(own_keys[0]["kid"], kid.as_str());
            assert_eq!(own_keys[0]["kid"], view["kid"]);
            assert!(own_keys[0].get("d").is_none(), "no private part");
            let claims = verifies(jwt, &own_keys[0], Some(AUDIENCE)).unwrap();
            assert_eq!(
                claims["iss"],
                asked_issuer.unwrap_or(default_issuer.as_str())
            );
            assert_eq!(claims["sub"], "bot");
            // And Writ's access tokens do not verify there.
            assert!(verifies(&bearer, &own_keys[0], None).is_err());
        }
        // A key of its own: not Writ's, not another provider's.
        let kid = view["kid"].as_str().unwrap().to_owned();
        assert!(!seen_kids.contains(&kid), "{alg}: kid {kid} reused");
        seen_kids.push(kid);
        let (_, own) = get_json(&s, &jwks_uri).await;
        if alg == "ES256" {
            assert_ne!(own["keys"][0]["x"], writ_keys[0]["x"]);
        }
    }

    // An OAuth provider has no JWKS; an unknown id and a disabled
    // provider answer 404 (a disabled provider vouches for nothing).
    let (_, list) = admin_json(&s, "/credential-providers").await;
    let first = list.as_array().unwrap()[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let first_uri = s.url(&format!("/api/v2/credential-providers/{first}/jwks"));
    assert_eq!(get_json(&s, &first_uri).await.0, 200);
    s.admin_post(&format!("/credential-providers/{first}/disable"), json!({}))
        .await;
    assert_eq!(get_json(&s, &first_uri).await.0, 404);
    let unknown = s.url("/api/v2/credential-providers/no-such-provider/jwks");
    let (st, body) = get_json(&s, &unknown).await;
    assert_eq!(st, 404, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("not found")
    );
    s.stop().await;
}

async fn writs_issuer_is_refused_on_the_whitelist(b: Backend) {
    let s = spawn(b).await;
    let issuer = s.url("/api/v2/iauths_system/oauth2");
    for (n, writ) in [
        issuer.clone(),
        format!("{issuer}/"),
        // Scheme and host are case-insensitive: a spelling variant is refused too.
        issuer.replacen("https://", "HTTPS://", 1),
    ]
    .into_iter()
    .enumerate()
    {
        let r = s
            .admin_post(
                "/credential-providers",
                json!({"type": "jwt", "name": "Impostor", "identifier": format!("impostor-{n}"),
                    "issuer_whitelist": [PARTNER, writ]}),
            )
            .await;
        assert_eq!(r.status(), 400, "{writ}");
        let e: Value = r.json().await.unwrap();
        let why = e["error_description"].as_str().unwrap();
        assert!(
            why.contains("issuer_whitelist") && why.contains("Writ's own access-token issuer"),
            "{why}"
        );
    }
    // Nor can an existing provider add it later.
    let r = s
        .admin_post(
            "/credential-providers",
            json!({"type": "jwt", "name": "Partner", "identifier": "partner",
                "issuer_whitelist": [PARTNER]}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let p: Value = r.json().await.unwrap();
    let pid = p["id"].as_str().unwrap();
    let r = s
        .admin_patch(
            &format!("/credential-providers/{pid}"),
            json!({"issuer_whitelist": [PARTNER, issuer]}),
        )
        .await;
    assert_eq!(r.status(), 400);
    let e: Value = r.json().await.unwrap();
    assert!(
        e["error_description"]
            .as_str()
            .unwrap()
            .contains("Writ's own access-token issuer"),
        "{e}"
    );
    let view: Value = s
        .admin_get(&format!("/credential-providers/{pid}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(view["issuer_whitelist"], json!([PARTNER]));

    // And a workload cannot ask for it when minting.
    let instance: Value = s.admin_get("/issuer").await.json().await.unwrap();
    let instance = instance["instance_id"].as_str().unwrap();
    let (cid, _, bearer) = s.agent_with_pam_bearer("impostor").await;
    s.admin_post(
        &format!("/credential-providers/{pid}/grants"),
        json!({"client_id": cid}),
    )
    .await;
    let (st, g) = generate_jwt(
        &s,
        instance,
        &bearer,
        json!({"credentialProviderIdentifier": "partner", "subject": "bot",
            "audiences": [AUDIENCE], "issuer": issuer}),
    )
    .await;
    assert_eq!(st, 400, "{g}");
    s.stop().await;
}
