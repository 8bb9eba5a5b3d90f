//! Discovery tells the truth, over TLS on both backends: every client
//! authentication method and every client-assertion `alg` that
//! `/.well-known/openid-configuration` advertises gets a real token, and
//! the test fails on an advertised value it does not know how to use (so a
//! new promise comes with its proof).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD as B64};
use common::{Backend, TestServer, now, spawn};
use serde_json::{Value, json};

on_both_backends!(every_advertised_method_and_alg_gets_a_token);

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const SCOPE: &str = "urn:cloud:idaas:pam|.all";

/// A key that signs client assertions.
enum Signer {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Hmac(Vec<u8>),
}

impl Signer {
    fn ec(alg: &'static signature::EcdsaSigningAlgorithm) -> Self {
        let doc = EcdsaKeyPair::generate_pkcs8(alg, &SystemRandom::new()).unwrap();
        Self::Ec(EcdsaKeyPair::from_pkcs8(alg, doc.as_ref()).unwrap())
    }

    /// The public JWK to register (none for an HMAC secret).
    fn public_jwk(&self) -> Value {
        match self {
            Self::Rsa(k) => json!({"kty": "RSA",
                "n": B64.encode(k.public_key().modulus().big_endian_without_leading_zero()),
                "e": B64.encode(k.public_key().exponent().big_endian_without_leading_zero())}),
            Self::Ec(k) => {
                let p = k.public_key().as_ref();
                let c = (p.len() - 1) / 2;
                let crv = match c {
                    32 => "P-256",
                    48 => "P-384",
                    _ => "P-521",
                };
                json!({"kty": "EC", "crv": crv, "x": B64.encode(&p[1..1 + c]), "y": B64.encode(&p[1 + c..])})
            }
            Self::Hmac(_) => Value::Null,
        }
    }

    /// An SDK-shaped assertion (`alg` + `typ`, no `kid`) signed with `alg`.
    fn assertion(&self, alg: &str, client_id: &str, aud: &str) -> String {
        let header = B64.encode(json!({"alg": alg, "typ": "JWT"}).to_string());
        let claims = B64.encode(
            json!({"iss": client_id, "sub": client_id, "aud": aud, "iat": now(),
                "exp": now() + 600, "jti": uuid::Uuid::new_v4().to_string()})
            .to_string(),
        );
        let input = format!("{header}.{claims}");
        let m = input.as_bytes();
        let rng = SystemRandom::new();
        let sig = match (self, alg) {
            (Self::Rsa(k), "RS256" | "RS384" | "RS512") => {
                let enc: &'static dyn signature::RsaEncoding = match alg {
                    "RS256" => &signature::RSA_PKCS1_SHA256,
                    "RS384" => &signature::RSA_PKCS1_SHA384,
                    _ => &signature::RSA_PKCS1_SHA512,
                };
                let mut sig = vec![0; k.public_modulus_len()];
                k.sign(enc, &rng, m, &mut sig).unwrap();
                sig
            }
            (Self::Ec(k), _) => k.sign(&rng, m).unwrap().as_ref().to_vec(),
            (Self::Hmac(secret), _) => {
                use aws_lc_rs::hmac;
                let h = match alg {
                    "HS256" => hmac::HMAC_SHA256,
                    "HS384" => hmac::HMAC_SHA384,
                    _ => hmac::HMAC_SHA512,
                };
                hmac::sign(&hmac::Key::new(h, secret), m).as_ref().to_vec()
            }
            _ => panic!("no {alg} signature with this key"),
        };
        format!("{input}.{}", B64.encode(sig))
    }
}

/// The signer for an advertised `alg`; a new `alg` must be added here.
fn signer_for(alg: &str, hmac_secret: &str) -> Signer {
    match alg {
        "RS256" | "RS384" | "RS512" => {
            Signer::Rsa(RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap())
        }
        "ES256" => Signer::ec(&signature::ECDSA_P256_SHA256_FIXED_SIGNING),
        "ES384" => Signer::ec(&signature::ECDSA_P384_SHA384_FIXED_SIGNING),
        "ES512" => Signer::ec(&signature::ECDSA_P521_SHA512_FIXED_SIGNING),
        "HS256" | "HS384" | "HS512" => Signer::Hmac(hmac_secret.as_bytes().to_vec()),
        other => panic!("discovery advertises alg {other}, which this test cannot exercise"),
    }
}

async fn issued(r: reqwest::Response, what: &str) -> Value {
    let st = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(st, 200, "{what}: {body}");
    assert!(body["access_token"].as_str().unwrap().len() > 100, "{what}");
    body
}

async fn with_assertion(s: &TestServer, assertion: &str) -> reqwest::Response {
    s.http
        .post(s.token_url())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", assertion),
            ("scope", SCOPE),
        ])
        .send()
        .await
        .unwrap()
}

async fn every_advertised_method_and_alg_gets_a_token(b: Backend) {
    let s = spawn(b).await;
    let issuer = s.url("/api/v2/iauths_system/oauth2");
    let meta: Value = s
        .http
        .get(format!("{issuer}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let list = |k: &str| -> Vec<String> { serde_json::from_value(meta[k].clone()).unwrap() };
    let methods = list("token_endpoint_auth_methods_supported");
    let algs = list("token_endpoint_auth_signing_alg_values_supported");
    assert_eq!(meta["token_endpoint"], s.token_url().as_str());

    // One agent: a plain secret, a secret that allows client_secret_jwt.
    let (agent, _, secret) = s.agent_with_secret("every-method").await;
    let aid = agent["id"].as_str().unwrap().to_owned();
    let cid = agent["client_id"].as_str().unwrap().to_owned();
    let r = s
        .admin_post(
            &format!("/agents/{aid}/client-secrets"),
            json!({"allow_client_secret_jwt": true}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let hmac_secret = r.json::<Value>().await.unwrap()["client_secret"]
        .as_str()
        .unwrap()
        .to_owned();

    // Each advertised alg: a key of its kind registered, then a token.
    let (mut public_key_algs, mut hmac_algs) = (Vec::new(), Vec::new());
    for alg in &algs {
        let signer = signer_for(alg, &hmac_secret);
        let jwk = signer.public_jwk();
        if jwk.is_null() {
            hmac_algs.push(alg.clone());
        } else {
            public_key_algs.push(alg.clone());
            let r = s
                .admin_post(&format!("/agents/{aid}/public-keys"), json!({"jwk": jwk}))
                .await;
            assert_eq!(r.status(), 201, "{alg}");
        }
        // Both audiences the endpoint accepts: its URL and the issuer.
        for aud in [s.token_url(), issuer.clone()] {
            issued(
                with_assertion(&s, &signer.assertion(alg, &cid, &aud)).await,
                &format!("{alg} assertion for {aud}"),
            )
            .await;
        }
    }
    // What is not advertised is refused (the list is not merely a subset).
    for refused in ["none", "PS256", "EdDSA"] {
        assert!(!algs.iter().any(|a| a == refused), "{refused} advertised");
        let header = B64.encode(json!({"alg": refused}).to_string());
        let claims = B64.encode(
            json!({"iss": cid, "sub": cid, "aud": s.token_url(), "exp": now() + 600, "jti": refused})
                .to_string(),
        );
        let r = with_assertion(&s, &format!("{header}.{claims}.AAAA")).await;
        assert_eq!(r.status(), 401, "{refused}");
    }

    // Each advertised method, with what it needs.
    for method in &methods {
        let r = match method.as_str() {
            "client_secret_post" => s.token_post(&cid, &secret, SCOPE).await,
            "client_secret_basic" => s
                .http
                .post(s.token_url())
                .header(
                    "authorization",
                    format!("Basic {}", STANDARD.encode(format!("{cid}:{secret}"))),
                )
                .form(&[("grant_type", "client_credentials"), ("scope", SCOPE)])
                .send()
                .await
                .unwrap(),
            "private_key_jwt" => {
                assert!(!public_key_algs.is_empty(), "no public-key alg advertised");
                let signer = signer_for("ES256", "");
                s.admin_post(
                    &format!("/agents/{aid}/public-keys"),
                    json!({"jwk": signer.public_jwk()}),
                )
                .await;
                with_assertion(&s, &signer.assertion("ES256", &cid, &s.token_url())).await
            }
            "client_secret_jwt" => {
                assert!(!hmac_algs.is_empty(), "no HMAC alg advertised");
                let signer = signer_for(&hmac_algs[0], &hmac_secret);
                with_assertion(&s, &signer.assertion(&hmac_algs[0], &cid, &s.token_url())).await
            }
            other => panic!("discovery advertises {other}, which this test cannot exercise"),
        };
        issued(r, method).await;
    }
    // Every method the audit records for those requests is an advertised one.
    s.running.writ.flush_audit().await;
    let events: Value = s
        .admin_get(&format!("/agents/{aid}/audit"))
        .await
        .json()
        .await
        .unwrap();
    let used: std::collections::BTreeSet<String> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["outcome"] == "issued")
        .map(|e| e["method"].as_str().unwrap().to_owned())
        .collect();
    let advertised: std::collections::BTreeSet<String> = methods.iter().cloned().collect();
    assert_eq!(used, advertised, "{events}");
    s.stop().await;
}
