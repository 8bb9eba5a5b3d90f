//! Micro-benchmarks of the token endpoint's core paths:
//! `cargo bench -p writ-core` (figures in BENCHMARKS.md).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use writ_core::grant::client_auth::presented_client;
use writ_core::grant::client_credentials::{Audience, TokenSubject, issue};
use writ_core::scope::{Granted, ScopeRequest};
use writ_core::secret::{self, VerifiedCache};
use writ_core::signing::SigningKey;

fn token_signing(c: &mut Criterion) {
    let (key, _) = SigningKey::generate().unwrap();
    let subject = TokenSubject {
        client_id: "app_0123456789abcdefghijklmn".into(),
        agent_id: Some("agent_0123456789abcdefghijklmn".into()),
        active_subject: None,
    };
    let audience = Audience {
        audience: writ_core::PAM_AUDIENCE.into(),
        permissions: writ_core::PAM_PERMISSIONS
            .iter()
            .map(|s| s.to_string())
            .collect(),
        token_ttl_secs: 3600,
        custom_subject: false,
    };
    let req = ScopeRequest::parse(Some(writ_core::PAM_ALL_SCOPE)).unwrap();
    c.bench_function("issue_es256_access_token", |b| {
        b.iter(|| {
            issue(
                &key,
                "https://localhost:8443/api/v2/iauths_system/oauth2",
                1_800_000_000,
                &subject,
                &req,
                &audience,
                Some(&Granted::All),
            )
            .unwrap()
        })
    });
}

fn secret_checks(c: &mut Criterion) {
    let s = secret::generate_client_secret();
    let phc = secret::hash(&s).unwrap();
    let mut g = c.benchmark_group("client_secret_check");
    g.sample_size(10);
    g.bench_function("first_argon2id", |b| {
        b.iter(|| assert!(secret::verify(black_box(&s), &phc)))
    });
    g.finish();
    let cache = VerifiedCache::default();
    assert!(cache.verify("sid", &s, &phc));
    c.bench_function("client_secret_check/repeated_cached", |b| {
        b.iter(|| assert!(cache.verify("sid", black_box(&s), &phc)))
    });
}

fn request_parsing(c: &mut Criterion) {
    let basic = "Basic YXBwXzAxMjM0NTY3ODlhYmNkZWZnaGlqa2xtbjp3cml0Y3NfYWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo=";
    c.bench_function("client_auth_basic_parse", |b| {
        b.iter(|| {
            presented_client(
                Some(black_box(basic)),
                Some("app_0123456789abcdefghijklmn"),
                None,
            )
            .unwrap()
        })
    });
    let perms: Vec<String> = writ_core::PAM_PERMISSIONS
        .iter()
        .map(|s| s.to_string())
        .collect();
    c.bench_function("scope_parse_and_decide", |b| {
        b.iter(|| {
            let r = ScopeRequest::parse(Some(black_box("urn:cloud:idaas:pam|.all"))).unwrap();
            writ_core::scope::decide(&r, &perms, Some(&Granted::All)).unwrap()
        })
    });
}

fn assertion_verification(c: &mut Criterion) {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use writ_core::grant::jwt_bearer::{Policy, verify};
    use writ_core::public_key::ClientPublicKey;

    let rng = SystemRandom::new();
    let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let kp = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, doc.as_ref()).unwrap();
    let p = kp.public_key().as_ref();
    let key = ClientPublicKey::from_jwk(&serde_json::json!({"kty": "EC", "crv": "P-256", "x": B64.encode(&p[1..33]), "y": B64.encode(&p[33..65])})).unwrap();
    let aud = "https://localhost:8443/api/v2/iauths_system/oauth2/token";
    let now = 1_800_000_000;
    let claims = serde_json::json!({"iss": "app_1", "sub": "app_1", "aud": aud, "jti": "6b1f2b8e-5b7d-4c1e-9a55-0d7e1c9f2a11", "iat": now, "exp": now + 600});
    let input = format!(
        "{}.{}",
        B64.encode(r#"{"alg":"ES256","typ":"JWT"}"#),
        B64.encode(claims.to_string())
    );
    let sig = kp.sign(&rng, input.as_bytes()).unwrap();
    let assertion = format!("{input}.{}", B64.encode(sig.as_ref()));
    let policy = Policy {
        audiences: &[aud],
        now,
        skew_secs: 60,
    };
    let keys = [key];
    c.bench_function("private_key_jwt_verify_es256", |b| {
        b.iter(|| verify(black_box(&assertion), "app_1", &keys, &policy).unwrap())
    });
}

criterion_group!(
    benches,
    token_signing,
    secret_checks,
    request_parsing,
    assertion_verification
);
criterion_main!(benches);
