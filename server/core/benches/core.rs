//! Micro-benchmarks of the token endpoint's core paths:
//! `cargo bench -p writ-core` (figures in BENCHMARKS.md).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use writ_core::grant::client_auth::presented_client;
use writ_core::grant::client_credentials::{issue, Audience, TokenSubject};
use writ_core::scope::{Granted, ScopeRequest};
use writ_core::secret::{self, VerifiedCache};
use writ_core::signing::SigningKey;

fn token_signing(c: &mut Criterion) {
    let (key, _) = SigningKey::generate().unwrap();
    let subject = TokenSubject { client_id: "app_0123456789abcdefghijklmn".into(), agent_id: Some("agent_0123456789abcdefghijklmn".into()) };
    let audience = Audience {
        audience: writ_core::PAM_AUDIENCE.into(),
        permissions: writ_core::PAM_PERMISSIONS.iter().map(|s| s.to_string()).collect(),
        token_ttl_secs: 3600,
    };
    let req = ScopeRequest::parse(Some(writ_core::PAM_ALL_SCOPE)).unwrap();
    c.bench_function("issue_es256_access_token", |b| {
        b.iter(|| issue(&key, "https://localhost:8443/api/v2/iauths_system/oauth2", 1_800_000_000, &subject, &req, &audience, Some(&Granted::All)).unwrap())
    });
}

fn secret_checks(c: &mut Criterion) {
    let s = secret::generate_client_secret();
    let phc = secret::hash(&s).unwrap();
    let mut g = c.benchmark_group("client_secret_check");
    g.sample_size(10);
    g.bench_function("first_argon2id", |b| b.iter(|| assert!(secret::verify(black_box(&s), &phc))));
    g.finish();
    let cache = VerifiedCache::default();
    assert!(cache.verify("sid", &s, &phc));
    c.bench_function("client_secret_check/repeated_cached", |b| b.iter(|| assert!(cache.verify("sid", black_box(&s), &phc))));
}

fn request_parsing(c: &mut Criterion) {
    let basic = "Basic YXBwXzAxMjM0NTY3ODlhYmNkZWZnaGlqa2xtbjp3cml0Y3NfYWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo=";
    c.bench_function("client_auth_basic_parse", |b| b.iter(|| presented_client(Some(black_box(basic)), Some("app_0123456789abcdefghijklmn"), None).unwrap()));
    let perms: Vec<String> = writ_core::PAM_PERMISSIONS.iter().map(|s| s.to_string()).collect();
    c.bench_function("scope_parse_and_decide", |b| {
        b.iter(|| {
            let r = ScopeRequest::parse(Some(black_box("urn:cloud:idaas:pam|.all"))).unwrap();
            writ_core::scope::decide(&r, &perms, Some(&Granted::All)).unwrap()
        })
    });
}

criterion_group!(benches, token_signing, secret_checks, request_parsing);
criterion_main!(benches);
