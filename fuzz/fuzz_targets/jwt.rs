//! JWT header and claims parsing: client assertions (`grant/jwt_bearer.rs`:
//! `claimed_client_id`, `is_hmac`, `verify` for private_key_jwt,
//! `verify_hmac` for client_secret_jwt) and federated OIDC tokens
//! (`federation/oidc.rs`: `token_kid`, `verify`).
//!
//! Two input forms:
//! * a compact JWS as sent (anything not starting with `{`): every entry
//!   point reads it; a forged signature stops at the signature check;
//! * `<header JSON>\n<claims JSON>` (starts with `{`): the harness signs it
//!   (ES256 with a key made at start, and HMAC with a fixed secret, by the
//!   header's `HS*` alg or HS256), so the claim rules behind the signature
//!   check (`iss`/`sub`, `aud`, `exp`/`nbf`/`iat`, `jti`, OIDC issuer and
//!   audience) are fuzzed too. The client is `app_fuzz`; the OIDC provider's
//!   issuer is `https://issuer.fuzz`, its audience `writ`, its key's kid `k1`.
//!
//! Oracle: no panic; whatever verifies is within the policy.
#![no_main]

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use std::sync::LazyLock;
use writ_core::federation::oidc::{self, OidcProviderConfig, OidcTrust};
use writ_core::grant::jwt_bearer::{self, MAX_ASSERTION_LIFETIME_SECS, Policy};
use writ_core::public_key::ClientPublicKey;

const NOW: i64 = 1_800_000_000;
const SKEW: i64 = 60;
const CLIENT: &str = "app_fuzz";
const AUDIENCES: &[&str] = &[
    "https://writ.test/api/v2/iauths_system/oauth2/token",
    "https://writ.test/api/v2/iauths_system/oauth2",
];
const SECRET: &[u8] = b"writcs_fuzz-secret";

struct Keys {
    signer: EcdsaKeyPair,
    client_keys: Vec<ClientPublicKey>,
    oidc: OidcTrust,
}

static KEYS: LazyLock<Keys> = LazyLock::new(|| {
    let rng = SystemRandom::new();
    let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
        .unwrap_or_else(|e| panic!("key: {e}"));
    let signer = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, doc.as_ref())
        .unwrap_or_else(|e| panic!("key: {e}"));
    let point = signer.public_key().as_ref();
    let (x, y) = (B64.encode(&point[1..33]), B64.encode(&point[33..65]));
    let jwk = json!({"kty": "EC", "crv": "P-256", "x": x, "y": y});
    let client_keys =
        vec![ClientPublicKey::from_jwk(&jwk).unwrap_or_else(|e| panic!("jwk: {}", e.message))];
    let jwks = json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1", "alg": "ES256",
        "use": "sig", "x": x, "y": y}]});
    let cfg = OidcProviderConfig::parse("https://issuer.fuzz", "writ", &jwks)
        .unwrap_or_else(|e| panic!("oidc config: {}", e.message));
    let oidc = OidcTrust::new(&cfg).unwrap_or_else(|e| panic!("oidc trust: {e:?}"));
    Keys {
        signer,
        client_keys,
        oidc,
    }
});

fn policy() -> Policy<'static> {
    Policy {
        audiences: AUDIENCES,
        now: NOW,
        skew_secs: SKEW,
    }
}

fn check_every_entry_point(token: &str, keys: &Keys) {
    let _ = jwt_bearer::claimed_client_id(token);
    let _ = jwt_bearer::is_hmac(token);
    if let Ok(v) = jwt_bearer::verify(token, CLIENT, &keys.client_keys, &policy()) {
        assert_within_policy(&v);
    }
    if let Ok(v) = jwt_bearer::verify_hmac(token, CLIENT, &[SECRET.to_vec()], &policy()) {
        assert_within_policy(&v);
    }
    let _ = oidc::token_kid(token);
    if let Ok(v) = oidc::verify(token, &keys.oidc, NOW, SKEW) {
        // jsonwebtoken also takes an array `iss` that contains the issuer.
        let iss = &v.claims["iss"];
        assert!(
            iss == "https://issuer.fuzz"
                || iss
                    .as_array()
                    .is_some_and(|a| a.iter().any(|i| i == "https://issuer.fuzz"))
        );
    }
}

fn assert_within_policy(v: &jwt_bearer::VerifiedAssertion) {
    assert_eq!(v.client_id, CLIENT);
    assert!(v.exp > NOW - SKEW && v.exp <= NOW + MAX_ASSERTION_LIFETIME_SECS + SKEW);
    assert!(!v.jti.is_empty() && v.jti.len() <= 256);
}

fn sign(header: &[u8], claims: &[u8], keys: &Keys) -> (String, String) {
    use aws_lc_rs::hmac;
    let input = format!("{}.{}", B64.encode(header), B64.encode(claims));
    let es = keys
        .signer
        .sign(&SystemRandom::new(), input.as_bytes())
        .map(|s| B64.encode(s.as_ref()))
        .unwrap_or_default();
    let alg = serde_json::from_slice::<Value>(header)
        .ok()
        .and_then(|h| h.get("alg").and_then(Value::as_str).map(str::to_owned));
    let hmac_alg = match alg.as_deref() {
        Some("HS384") => hmac::HMAC_SHA384,
        Some("HS512") => hmac::HMAC_SHA512,
        _ => hmac::HMAC_SHA256,
    };
    let hs = B64.encode(hmac::sign(&hmac::Key::new(hmac_alg, SECRET), input.as_bytes()).as_ref());
    (format!("{input}.{es}"), format!("{input}.{hs}"))
}

fuzz_target!(|data: &[u8]| {
    let keys = &*KEYS;
    if data.first() == Some(&b'{') {
        let (header, claims) = match data.iter().position(|&b| b == b'\n') {
            Some(i) => (&data[..i], &data[i + 1..]),
            None => (data, &b"{}"[..]),
        };
        let (es, hs) = sign(header, claims, keys);
        check_every_entry_point(&es, keys);
        check_every_entry_point(&hs, keys);
    } else if let Ok(token) = std::str::from_utf8(data) {
        check_every_entry_point(token, keys);
    }
});
