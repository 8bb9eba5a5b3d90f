//! The developer API's authentication tokens over TLS, on both backends:
//! what needs a bearer and what does not, grants, disabled providers, and
//! the provider's key in its own JWKS.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use common::{Backend, TestServer, spawn};
use serde_json::{Value, json};

on_both_backends!(jwt_tokens_grants_and_bearers);

async fn action(
    s: &TestServer,
    instance: &str,
    name: &str,
    bearer: Option<&str>,
    body: Value,
) -> (u16, Value) {
    let mut r = s
        .http
        .post(s.url(&format!(
            "/v2/{instance}/authenticationTokens/_/actions/{name}"
        )))
        .json(&body);
    if let Some(b) = bearer {
        r = r.bearer_auth(b);
    }
    let r = r.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn jwt_tokens_grants_and_bearers(b: Backend) {
    let s = spawn(b).await;
    let instance: Value = s.admin_get("/issuer").await.json().await.unwrap();
    let instance = instance["instance_id"].as_str().unwrap().to_owned();
    let p: Value = s
        .admin_post(
            "/credential-providers",
            json!({"type": "jwt", "name": "Partner", "identifier": "partner",
        "algorithm": "RS256", "generate_short_token": true}),
        )
        .await
        .json()
        .await
        .unwrap();
    let pid = p["id"].as_str().unwrap();
    assert_eq!(
        s.admin_post(
            "/credential-providers",
            json!({"type": "jwt", "name": "Dup", "identifier": "partner"})
        )
        .await
        .status(),
        409
    );
    assert_eq!(
        s.admin_post(
            "/credential-providers",
            json!({"type": "oauth", "name": "O", "identifier": "o"})
        )
        .await
        .status(),
        400
    );

    let (cid, _, bearer) = s.agent_with_pam_bearer("jwt-user").await;
    let gen_body = json!({"credentialProviderIdentifier": "partner", "subject": "bot", "audiences": ["https://api.example"], "includeDerivedShortToken": true});

    // No grant → 403; no bearer → 401.
    assert_eq!(
        action(
            &s,
            &instance,
            "generateJwt",
            Some(&bearer),
            gen_body.clone()
        )
        .await
        .0,
        403
    );
    assert_eq!(
        action(&s, &instance, "generateJwt", None, gen_body.clone())
            .await
            .0,
        401
    );
    assert_eq!(
        s.admin_post(
            &format!("/credential-providers/{pid}/grants"),
            json!({"client_id": cid})
        )
        .await
        .status(),
        201
    );
    let (st, g) = action(
        &s,
        &instance,
        "generateJwt",
        Some(&bearer),
        gen_body.clone(),
    )
    .await;
    assert_eq!(st, 200, "{g}");
    let jwt = g["jwtContent"]["jwtValue"].as_str().unwrap().to_owned();
    let short = g["jwtContent"]["derivedShortToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(g["expirationTime"].as_i64().unwrap() > 1_000_000_000_000);
    // Generate Short Token is on: every JWT comes with one, asked for or not.
    let mut unasked = gen_body.clone();
    unasked
        .as_object_mut()
        .unwrap()
        .remove("includeDerivedShortToken");
    let (st, g2) = action(&s, &instance, "generateJwt", Some(&bearer), unasked).await;
    assert_eq!(st, 200, "{g2}");
    let short2 = g2["jwtContent"]["derivedShortToken"]
        .as_str()
        .unwrap_or_default();
    assert!(!short2.is_empty() && short2 != short, "{g2}");

    // The provider's key is in its own JWKS, and verifies the JWT.
    let jwks: Value = s
        .http
        .get(p["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kid = jsonwebtoken::decode_header(&jwt).unwrap().kid.unwrap();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .expect("provider key published")
        .clone();
    let key = jsonwebtoken::DecodingKey::from_jwk(&serde_json::from_value(jwk).unwrap()).unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    v.set_audience(&["https://api.example"]);
    assert_eq!(
        jsonwebtoken::decode::<Value>(&jwt, &key, &v)
            .unwrap()
            .claims["sub"],
        "bot"
    );

    // Short-token exchange and validate need no Authorization.
    let (st, o) = action(
        &s,
        &instance,
        "obtainJwtByDerivedShortToken",
        None,
        json!({"derivedShortToken": short}),
    )
    .await;
    assert_eq!(
        (st, o["jwtContent"]["jwtValue"].as_str()),
        (200, Some(jwt.as_str()))
    );
    assert_eq!(
        action(&s, &instance, "validate", None, json!({"token": jwt}))
            .await
            .1["active"],
        true
    );
    assert_eq!(
        action(&s, &instance, "validate", None, json!({"token": "made-up"}))
            .await
            .1["active"],
        false
    );
    assert_eq!(
        action(
            &s,
            &instance,
            "obtainJwtByDerivedShortToken",
            None,
            json!({"derivedShortToken": "wst_made_up"})
        )
        .await
        .0,
        401
    );
    // Revoke answers 200 with a JSON body; the token is then inactive.
    let (st, body) = action(
        &s,
        &instance,
        "revoke",
        Some(&bearer),
        json!({"token": short, "token_type_hint": "derived_short_token"}),
    )
    .await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(
        action(&s, &instance, "validate", None, json!({"token": jwt}))
            .await
            .1["active"],
        false
    );
    assert_eq!(
        action(
            &s,
            &instance,
            "obtainJwtByDerivedShortToken",
            None,
            json!({"derivedShortToken": short})
        )
        .await
        .0,
        403
    );
    action(
        &s,
        &instance,
        "reinstate",
        Some(&bearer),
        json!({"token": jwt}),
    )
    .await;
    assert_eq!(
        action(&s, &instance, "validate", None, json!({"token": jwt}))
            .await
            .1["active"],
        true
    );
    // Another client cannot touch this client's tokens.
    let (_, _, other_bearer) = s.agent_with_pam_bearer("someone-else").await;
    assert_eq!(
        action(
            &s,
            &instance,
            "revoke",
            Some(other_bearer.as_str()),
            json!({"token": jwt})
        )
        .await
        .0,
        404
    );
    // A disabled provider serves nothing.
    s.admin_post(&format!("/credential-providers/{pid}/disable"), json!({}))
        .await;
    assert_eq!(
        action(&s, &instance, "validate", None, json!({"token": jwt}))
            .await
            .1["active"],
        false
    );
    assert_eq!(
        action(&s, &instance, "generateJwt", Some(&bearer), gen_body)
            .await
            .0,
        403
    );
    assert_eq!(
        s.http
            .get(p["jwks_uri"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .status(),
        404,
        "a disabled provider's JWKS is gone"
    );
    // Nothing issued is stored in plaintext.
    if matches!(b, Backend::Sqlite) {
        let at_rest = [
            std::fs::read(s.dir.join("writ.db")).unwrap(),
            std::fs::read(s.dir.join("writ.db-wal")).unwrap_or_default(),
        ]
        .concat();
        for plain in [&jwt, &short] {
            assert!(!at_rest.windows(plain.len()).any(|w| w == plain.as_bytes()));
        }
    }
    s.stop().await;
}
