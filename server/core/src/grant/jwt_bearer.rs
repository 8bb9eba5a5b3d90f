//! `private_key_jwt` client authentication (RFC 7523 §2.2, §3; OIDC Core §9)
//! as the IDaaS SDK builds it: header `alg` + `typ` only (no `kid`, so every
//! enabled key of the client is tried), `iss = sub = client_id`, `aud` = the
//! token endpoint URL, `exp = iat + 600`, a fresh `jti` each time.
//!
//! This module checks signature and claims; the caller makes `jti`
//! single-use until `exp` (it owns the storage).

use crate::error::OAuthError;
use crate::public_key::{ALLOWED_ALGS, ClientPublicKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

pub const ASSERTION_TYPE_JWT_BEARER: &str =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Longest lifetime an assertion may claim (the SDK uses exactly 600 s).
pub const MAX_ASSERTION_LIFETIME_SECS: i64 = 600;
const MAX_ASSERTION_LEN: usize = 16 * 1024;

pub struct Policy<'a> {
    /// Accepted `aud` values: the token endpoint URL and the issuer.
    pub audiences: &'a [&'a str],
    pub now: i64,
    pub skew_secs: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAssertion {
    pub client_id: String,
    pub jti: String,
    pub exp: i64,
    /// Which of the client's keys signed it.
    pub key_index: usize,
    /// The verified JWS's header and claims (federated expressions read them).
    pub header: Value,
    pub claims: Value,
}

fn bad(reason: &'static str, description: &str) -> OAuthError {
    OAuthError::new(
        crate::OAuthErrorCode::InvalidClient,
        reason,
        format!("client assertion rejected: {description}"),
    )
}

struct Parts<'a> {
    header: Value,
    claims: Value,
    signing_input: &'a [u8],
    signature: Vec<u8>,
}

fn split(assertion: &str) -> Result<Parts<'_>, OAuthError> {
    if assertion.len() > MAX_ASSERTION_LEN {
        return Err(bad("assertion_too_long", "too long"));
    }
    let mut it = assertion.split('.');
    let (Some(h), Some(c), Some(s), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err(bad("assertion_malformed", "not a compact JWS"));
    };
    let decode = |p: &str| {
        URL_SAFE_NO_PAD
            .decode(p)
            .map_err(|_| bad("assertion_malformed", "not base64url"))
    };
    let header: Value = serde_json::from_slice(&decode(h)?)
        .map_err(|_| bad("assertion_malformed", "header is not JSON"))?;
    let claims: Value = serde_json::from_slice(&decode(c)?)
        .map_err(|_| bad("assertion_malformed", "claims are not JSON"))?;
    Ok(Parts {
        header,
        claims,
        signing_input: &assertion.as_bytes()[..h.len() + 1 + c.len()],
        signature: decode(s)?,
    })
}

/// The `iss` of an assertion, unverified: only to find whose keys to try.
pub fn claimed_client_id(assertion: &str) -> Result<String, OAuthError> {
    let p = split(assertion)?;
    p.claims
        .get("iss")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| bad("assertion_claims", "'iss' is missing"))
}

pub fn verify(
    assertion: &str,
    client_id: &str,
    keys: &[ClientPublicKey],
    policy: &Policy<'_>,
) -> Result<VerifiedAssertion, OAuthError> {
    let p = split(assertion)?;
    let alg = p
        .header
        .get("alg")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !ALLOWED_ALGS.contains(&alg) {
        return Err(bad(
            "assertion_alg",
            &format!(
                "alg '{}' is not allowed (use one of {})",
                alg.chars().take(16).collect::<String>(),
                ALLOWED_ALGS.join(", ")
            ),
        ));
    }
    if p.header.get("crit").is_some() {
        return Err(bad(
            "assertion_crit",
            "critical header parameters are not supported",
        ));
    }
    // A kid, when present, narrows the search; the SDK sends none.
    let kid = p.header.get("kid").and_then(Value::as_str);
    let key_index = keys
        .iter()
        .enumerate()
        .filter(|(_, k)| kid.is_none_or(|kid| kid == k.kid()))
        .find(|(_, k)| k.verify(alg, p.signing_input, &p.signature))
        .map(|(i, _)| i)
        .ok_or_else(|| {
            bad(
                "assertion_signature",
                "signature does not verify with any enabled key of this client",
            )
        })?;

    let (jti, exp) = check_claims(&p, client_id, policy)?;
    Ok(VerifiedAssertion {
        client_id: client_id.to_owned(),
        jti,
        exp,
        key_index,
        header: p.header,
        claims: p.claims,
    })
}

/// The claim rules every client assertion meets, whatever signed it.
fn check_claims(
    p: &Parts<'_>,
    client_id: &str,
    policy: &Policy<'_>,
) -> Result<(String, i64), OAuthError> {
    let c = &p.claims;
    let s = |k: &str| c.get(k).and_then(Value::as_str);
    if s("iss") != Some(client_id) || s("sub") != Some(client_id) {
        return Err(bad(
            "assertion_claims",
            "'iss' and 'sub' must both be the client_id",
        ));
    }
    let aud_ok = match c.get("aud") {
        Some(Value::String(a)) => policy.audiences.contains(&a.as_str()),
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .any(|a| policy.audiences.contains(&a)),
        _ => false,
    };
    if !aud_ok {
        return Err(bad(
            "assertion_audience",
            "'aud' must be the token endpoint URL",
        ));
    }
    let num = |k: &str| c.get(k).and_then(Value::as_i64);
    let exp = num("exp").ok_or_else(|| bad("assertion_claims", "'exp' is required"))?;
    if exp <= policy.now - policy.skew_secs {
        return Err(bad("assertion_expired", "expired"));
    }
    if exp > policy.now + MAX_ASSERTION_LIFETIME_SECS + policy.skew_secs {
        return Err(bad(
            "assertion_lifetime",
            "'exp' is too far ahead (at most 10 minutes)",
        ));
    }
    for k in ["nbf", "iat"] {
        // A present time that is not a whole number is refused, not
        // skipped: a string or decimal `nbf` must not dodge the check.
        let t = match c.get(k) {
            None => continue,
            Some(v) => v
                .as_i64()
                .ok_or_else(|| bad("assertion_claims", "'nbf' and 'iat' must be whole numbers"))?,
        };
        if t > policy.now + policy.skew_secs {
            return Err(bad("assertion_not_yet_valid", "issued in the future"));
        }
    }
    let jti = s("jti")
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or_else(|| bad("assertion_claims", "'jti' is required"))?;
    Ok((jti.to_owned(), exp))
}

/// HMAC algorithms of `client_secret_jwt` (RFC 7523 with the secret as key).
pub const HMAC_ALGS: &[&str] = &["HS256", "HS384", "HS512"];

/// The HMAC of a `client_secret_jwt` alg; `None` for anything not in
/// [`HMAC_ALGS`] (the list is checked first, so the two cannot drift).
fn hmac_algorithm(alg: &str) -> Option<aws_lc_rs::hmac::Algorithm> {
    use aws_lc_rs::hmac;
    if !HMAC_ALGS.contains(&alg) {
        return None;
    }
    match alg {
        "HS256" => Some(hmac::HMAC_SHA256),
        "HS384" => Some(hmac::HMAC_SHA384),
        "HS512" => Some(hmac::HMAC_SHA512),
        _ => None,
    }
}

/// Every `alg` a client assertion may be signed with: the public-key algs
/// of `private_key_jwt` ([`ALLOWED_ALGS`]) then the HMACs of
/// `client_secret_jwt` ([`HMAC_ALGS`]). Built from those two lists at
/// compile time, so discovery's
/// `token_endpoint_auth_signing_alg_values_supported` is what `verify` and
/// `verify_hmac` accept.
pub const ASSERTION_SIGNING_ALGS: [&str; ALLOWED_ALGS.len() + HMAC_ALGS.len()] =
    concat_algs(ALLOWED_ALGS, HMAC_ALGS);

const fn concat_algs<const N: usize>(a: &[&'static str], b: &[&'static str]) -> [&'static str; N] {
    let mut out = [""; N];
    let mut i = 0;
    while i < a.len() {
        out[i] = a[i];
        i += 1;
    }
    let mut j = 0;
    while j < b.len() {
        out[a.len() + j] = b[j];
        j += 1;
    }
    out
}

/// Whether an assertion is HMAC-signed (client_secret_jwt), unverified.
pub fn is_hmac(assertion: &str) -> bool {
    split(assertion)
        .ok()
        .and_then(|p| {
            p.header
                .get("alg")
                .and_then(Value::as_str)
                .map(|a| HMAC_ALGS.contains(&a))
        })
        .unwrap_or(false)
}

/// `client_secret_jwt`: the assertion is an HMAC keyed with one of the
/// client's secrets (`key_index` says which).
pub fn verify_hmac(
    assertion: &str,
    client_id: &str,
    secrets: &[Vec<u8>],
    policy: &Policy<'_>,
) -> Result<VerifiedAssertion, OAuthError> {
    use aws_lc_rs::hmac;
    let p = split(assertion)?;
    let alg = p
        .header
        .get("alg")
        .and_then(Value::as_str)
        .and_then(hmac_algorithm)
        .ok_or_else(|| {
            bad(
                "assertion_alg",
                &format!("client_secret_jwt needs one of {}", HMAC_ALGS.join(", ")),
            )
        })?;
    if p.header.get("crit").is_some() {
        return Err(bad(
            "assertion_crit",
            "critical header parameters are not supported",
        ));
    }
    // hmac::verify compares in constant time.
    let key_index = secrets
        .iter()
        .position(|s| hmac::verify(&hmac::Key::new(alg, s), p.signing_input, &p.signature).is_ok())
        .ok_or_else(|| bad("assertion_signature", "signature does not verify with any secret of this client that allows client_secret_jwt"))?;
    let (jti, exp) = check_claims(&p, client_id, policy)?;
    Ok(VerifiedAssertion {
        client_id: client_id.to_owned(),
        jti,
        exp,
        key_index,
        header: p.header,
        claims: p.claims,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OAuthErrorCode;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{
        ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING,
        ECDSA_P521_SHA512_FIXED_SIGNING, EcdsaKeyPair, KeyPair, RSA_PKCS1_SHA256, RsaKeyPair,
    };
    use serde_json::json;

    const AUD: &str = "https://writ.test/api/v2/iauths_system/oauth2/token";
    const NOW: i64 = 1_800_000_000;

    fn policy() -> Policy<'static> {
        Policy {
            audiences: &[AUD, "https://writ.test/api/v2/iauths_system/oauth2"],
            now: NOW,
            skew_secs: 60,
        }
    }

    fn claims() -> Value {
        json!({"iss": "app_1", "sub": "app_1", "aud": AUD, "iat": NOW, "exp": NOW + 600, "jti": "3f1c0d3e-1111-4a4a-9b9b-000000000001"})
    }

    fn jws(header: &Value, claims: &Value, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
        let h = URL_SAFE_NO_PAD.encode(header.to_string());
        let c = URL_SAFE_NO_PAD.encode(claims.to_string());
        let input = format!("{h}.{c}");
        let sig = sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
    }

    struct Ec(EcdsaKeyPair, &'static str);
    impl Ec {
        fn new(
            alg: &'static aws_lc_rs::signature::EcdsaSigningAlgorithm,
            name: &'static str,
        ) -> Self {
            let rng = SystemRandom::new();
            let doc = EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
            Self(EcdsaKeyPair::from_pkcs8(alg, doc.as_ref()).unwrap(), name)
        }
        fn public(&self) -> ClientPublicKey {
            let point = self.0.public_key().as_ref().to_vec();
            let c = (point.len() - 1) / 2;
            let crv = match c {
                32 => "P-256",
                48 => "P-384",
                _ => "P-521",
            };
            ClientPublicKey::from_jwk(&json!({"kty": "EC", "crv": crv, "x": URL_SAFE_NO_PAD.encode(&point[1..1 + c]), "y": URL_SAFE_NO_PAD.encode(&point[1 + c..])})).unwrap()
        }
        fn sign(&self, claims: &Value) -> String {
            jws(&json!({"alg": self.1, "typ": "JWT"}), claims, |m| {
                self.0
                    .sign(&SystemRandom::new(), m)
                    .unwrap()
                    .as_ref()
                    .to_vec()
            })
        }
    }

    #[test]
    fn sdk_shaped_es256_es384_es512_assertions_verify() {
        for (alg, name) in [
            (&ECDSA_P256_SHA256_FIXED_SIGNING, "ES256"),
            (&ECDSA_P384_SHA384_FIXED_SIGNING, "ES384"),
            (&ECDSA_P521_SHA512_FIXED_SIGNING, "ES512"),
        ] {
            let k = Ec::new(alg, name);
            let a = k.sign(&claims());
            let v = verify(&a, "app_1", &[k.public()], &policy()).unwrap();
            assert_eq!(v.jti, "3f1c0d3e-1111-4a4a-9b9b-000000000001");
            assert_eq!(claimed_client_id(&a).unwrap(), "app_1");
        }
    }

    #[test]
    fn rs256_with_second_key_and_no_kid() {
        let rng = SystemRandom::new();
        let rsa = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let n = rsa
            .public_key()
            .modulus()
            .big_endian_without_leading_zero()
            .to_vec();
        let e = rsa
            .public_key()
            .exponent()
            .big_endian_without_leading_zero()
            .to_vec();
        let rsa_pub = ClientPublicKey::from_jwk(
            &json!({"kty": "RSA", "n": URL_SAFE_NO_PAD.encode(n), "e": URL_SAFE_NO_PAD.encode(e)}),
        )
        .unwrap();
        assert_eq!(rsa_pub.describe(), "RSA-2048");
        let a = jws(&json!({"alg": "RS256", "typ": "JWT"}), &claims(), |m| {
            let mut sig = vec![0; rsa.public_modulus_len()];
            rsa.sign(&RSA_PKCS1_SHA256, &rng, m, &mut sig).unwrap();
            sig
        });
        let other = Ec::new(&ECDSA_P256_SHA256_FIXED_SIGNING, "ES256").public();
        let v = verify(&a, "app_1", &[other, rsa_pub], &policy()).unwrap();
        assert_eq!(v.key_index, 1);
    }

    #[test]
    fn hostile_assertions_are_invalid_client() {
        let k = Ec::new(&ECDSA_P256_SHA256_FIXED_SIGNING, "ES256");
        let keys = [k.public()];
        let reason = |a: &str| {
            let e = verify(a, "app_1", &keys, &policy()).unwrap_err();
            assert_eq!(e.code, OAuthErrorCode::InvalidClient);
            e.reason
        };
        // alg none, and HS256 "signed" with the public key as HMAC secret.
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(claims().to_string())
        );
        assert_eq!(reason(&none), "assertion_alg");
        let hs = jws(&json!({"alg": "HS256"}), &claims(), |m| {
            let key = aws_lc_rs::hmac::Key::new(
                aws_lc_rs::hmac::HMAC_SHA256,
                k.public().to_jwk().to_string().as_bytes(),
            );
            aws_lc_rs::hmac::sign(&key, m).as_ref().to_vec()
        });
        assert_eq!(reason(&hs), "assertion_alg");
        // Claimed ES384 over a P-256 key, and a tampered payload.
        let mut wrong_alg = k.sign(&claims());
        wrong_alg = wrong_alg.replacen(
            &URL_SAFE_NO_PAD.encode(r#"{"alg":"ES256","typ":"JWT"}"#),
            &URL_SAFE_NO_PAD.encode(r#"{"alg":"ES384","typ":"JWT"}"#),
            1,
        );
        assert_eq!(reason(&wrong_alg), "assertion_signature");
        let good = k.sign(&claims());
        let mut parts: Vec<&str> = good.split('.').collect();
        let evil = URL_SAFE_NO_PAD.encode(json!({"iss": "app_1", "sub": "app_1", "aud": AUD, "exp": NOW + 600, "jti": "x", "admin": true}).to_string());
        parts[1] = &evil;
        assert_eq!(reason(&parts.join(".")), "assertion_signature");
        // Claims.
        let mut c = claims();
        c["aud"] = json!("https://elsewhere/token");
        assert_eq!(reason(&k.sign(&c)), "assertion_audience");
        let mut c = claims();
        c["exp"] = json!(NOW - 61);
        assert_eq!(reason(&k.sign(&c)), "assertion_expired");
        let mut c = claims();
        c["exp"] = json!(NOW + 3600);
        assert_eq!(reason(&k.sign(&c)), "assertion_lifetime");
        let mut c = claims();
        c.as_object_mut().unwrap().remove("jti");
        assert_eq!(reason(&k.sign(&c)), "assertion_claims");
        let mut c = claims();
        c["sub"] = json!("app_2");
        assert_eq!(reason(&k.sign(&c)), "assertion_claims");
        let mut c = claims();
        c["iat"] = json!(NOW + 3600);
        c["exp"] = json!(NOW + 600);
        assert_eq!(reason(&k.sign(&c)), "assertion_not_yet_valid");
        assert_eq!(reason("a.b"), "assertion_malformed");
        // Within skew: just expired 30 s ago is still fine.
        let mut c = claims();
        c["exp"] = json!(NOW - 30);
        assert!(verify(&k.sign(&c), "app_1", &keys, &policy()).is_ok());
        // The issuer URL is accepted as audience too.
        let mut c = claims();
        c["aud"] = json!(["https://writ.test/api/v2/iauths_system/oauth2"]);
        assert!(verify(&k.sign(&c), "app_1", &keys, &policy()).is_ok());
    }

    #[test]
    fn key_parsing_rules() {
        assert!(
            ClientPublicKey::parse("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")
                .is_err()
        );
        assert!(
            ClientPublicKey::parse(r#"{"kty":"EC","crv":"P-256","x":"AA","y":"AA","d":"AA"}"#)
                .unwrap_err()
                .message
                .contains("private")
        );
        assert!(ClientPublicKey::parse(r#"{"kty":"oct","k":"AA"}"#).is_err());
        let rsa1024 = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let n = rsa1024
            .public_key()
            .modulus()
            .big_endian_without_leading_zero()[..128]
            .to_vec();
        let e = ClientPublicKey::from_jwk(
            &json!({"kty": "RSA", "n": URL_SAFE_NO_PAD.encode(n), "e": "AQAB"}),
        )
        .unwrap_err();
        assert!(e.message.contains("at least 2048"), "{}", e.message);
        // A certificate's key is accepted and equals the same key as JWK.
        let pki = crate::tls::create_local_pki(&["localhost".into()], NOW).unwrap();
        let from_cert = ClientPublicKey::parse(&pki.server_cert_pem).unwrap();
        let kp = rcgen::KeyPair::from_pem(&pki.server_key_pem).unwrap();
        let from_spki = ClientPublicKey::parse(&kp.public_key_pem()).unwrap();
        assert_eq!(from_cert.kid(), from_spki.kid());
        assert_eq!(
            ClientPublicKey::from_jwk(&from_cert.to_jwk())
                .unwrap()
                .kid(),
            from_cert.kid()
        );
    }

    #[test]
    fn client_secret_jwt_checks_the_hmac_and_the_claims() {
        use aws_lc_rs::hmac;
        let secret = b"writcs_the-secret".to_vec();
        let sign = |alg: hmac::Algorithm, key: Vec<u8>| {
            move |m: &[u8]| hmac::sign(&hmac::Key::new(alg, &key), m).as_ref().to_vec()
        };
        let a = jws(
            &json!({"alg": "HS256", "typ": "JWT"}),
            &claims(),
            sign(hmac::HMAC_SHA256, secret.clone()),
        );
        assert!(is_hmac(&a));
        let v = verify_hmac(&a, "app_1", &[b"other".to_vec(), secret.clone()], &policy()).unwrap();
        assert_eq!(v.key_index, 1);
        let a512 = jws(
            &json!({"alg": "HS512"}),
            &claims(),
            sign(hmac::HMAC_SHA512, secret.clone()),
        );
        assert!(verify_hmac(&a512, "app_1", std::slice::from_ref(&secret), &policy()).is_ok());
        // Wrong key, alg/key mismatch, expired: refused.
        assert!(verify_hmac(&a, "app_1", &[b"nope".to_vec()], &policy()).is_err());
        let lying = jws(
            &json!({"alg": "HS384"}),
            &claims(),
            sign(hmac::HMAC_SHA256, secret.clone()),
        );
        assert!(verify_hmac(&lying, "app_1", std::slice::from_ref(&secret), &policy()).is_err());
        let mut old = claims();
        old["exp"] = json!(NOW - 3600);
        let e = verify_hmac(
            &jws(
                &json!({"alg": "HS256"}),
                &old,
                sign(hmac::HMAC_SHA256, secret.clone()),
            ),
            "app_1",
            &[secret],
            &policy(),
        )
        .unwrap_err();
        assert_eq!(e.reason, "assertion_expired");
        // An HMAC assertion is never accepted where public keys are expected.
        assert!(!is_hmac(&jws(&json!({"alg": "ES256"}), &claims(), |_| {
            vec![0; 64]
        })));
    }

    #[test]
    fn a_time_that_is_not_a_whole_number_is_refused_not_skipped() {
        let key = Ec::new(&ECDSA_P256_SHA256_FIXED_SIGNING, "ES256");
        for (k, v) in [
            ("nbf", json!((NOW + 3600) as f64 + 0.5)),
            ("nbf", json!((NOW + 3600).to_string())),
            ("iat", json!(1e30)),
        ] {
            let mut c = claims();
            c[k] = v;
            let e = verify(&key.sign(&c), "app_1", &[key.public()], &policy()).unwrap_err();
            assert_eq!(e.reason, "assertion_claims", "{k}");
        }
    }

    #[test]
    fn every_listed_alg_is_one_a_verifier_accepts() {
        assert_eq!(
            ASSERTION_SIGNING_ALGS.to_vec(),
            [ALLOWED_ALGS, HMAC_ALGS].concat()
        );
        for alg in HMAC_ALGS {
            assert!(hmac_algorithm(alg).is_some(), "{alg}");
        }
        assert!(hmac_algorithm("HS1").is_none());
        // RS384 / RS512 (ES* and RS256 are signed above): a real signature
        // with each verifies, so listing them is not a promise only.
        use aws_lc_rs::signature::{RSA_PKCS1_SHA384, RSA_PKCS1_SHA512};
        let rsa = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let pk = rsa.public_key();
        let public = ClientPublicKey::from_jwk(&json!({"kty": "RSA",
            "n": URL_SAFE_NO_PAD.encode(pk.modulus().big_endian_without_leading_zero()),
            "e": URL_SAFE_NO_PAD.encode(pk.exponent().big_endian_without_leading_zero())}))
        .unwrap();
        for (name, enc) in [("RS384", &RSA_PKCS1_SHA384), ("RS512", &RSA_PKCS1_SHA512)] {
            let a = jws(&json!({"alg": name}), &claims(), |m| {
                let mut sig = vec![0; rsa.public_modulus_len()];
                rsa.sign(enc, &SystemRandom::new(), m, &mut sig).unwrap();
                sig
            });
            assert!(
                verify(&a, "app_1", std::slice::from_ref(&public), &policy()).is_ok(),
                "{name}"
            );
        }
    }
}
