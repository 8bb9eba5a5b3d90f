//! Micro-benchmarks of the federated paths: PCA chain validation, PKCS#7
//! verification, expressions (a 10,240-character one too), JWKS lookup.
//! `cargo bench -p writ-core --features test-fixtures --bench federation`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use std::hint::black_box;
use writ_core::federation::expr::{self, Domain, Expression, Input, Produces};
use writ_core::federation::{oidc, pca, pkcs7};
use writ_core::grant::jwt_bearer::{self, Policy};
use writ_core::testing::cloud::{CloudSigner, KeyKind};
use writ_core::testing::pki::{Chain, ChainOptions};

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn pca_paths(c: &mut Criterion) {
    let t = now();
    let chain = Chain::new(t, &ChainOptions::default());
    let cfg = pca::PcaProviderConfig::parse(
        &chain.root_pem,
        std::slice::from_ref(&chain.intermediate_pem),
    )
    .unwrap();
    let trust = pca::PcaTrust::new(&cfg).unwrap();
    // A fresh trust each time: the whole path is really validated.
    c.bench_function("pca_chain_validation", |b| {
        b.iter(|| {
            pca::verify_chain(
                black_box(&chain.leaf_pem),
                Some(&chain.intermediate_pem),
                &pca::PcaTrust::new(&cfg).unwrap(),
                t,
                60,
            )
            .unwrap()
        })
    });
    // The same certificate again (a workload presents it on every request).
    c.bench_function("pca_chain_validation_repeated", |b| {
        b.iter(|| {
            pca::verify_chain(
                black_box(&chain.leaf_pem),
                Some(&chain.intermediate_pem),
                &trust,
                t,
                60,
            )
            .unwrap()
        })
    });
    let aud = "https://localhost:8443/api/v2/iauths_system/oauth2/token";
    let assertion = chain.assertion("app_1", aud, t);
    let policy = Policy {
        audiences: &[aud],
        now: t,
        skew_secs: 60,
    };
    c.bench_function("pca_chain_and_assertion", |b| {
        b.iter(|| {
            let leaf = pca::verify_chain(
                &chain.leaf_pem,
                Some(&chain.intermediate_pem),
                &trust,
                t,
                60,
            )
            .unwrap();
            jwt_bearer::verify(
                black_box(&assertion),
                "app_1",
                std::slice::from_ref(&leaf.key),
                &policy,
            )
            .unwrap()
        })
    });
}

fn pkcs7_paths(c: &mut Criterion) {
    let t = now();
    let aws = CloudSigner::new(KeyKind::Dsa);
    let cfg =
        pkcs7::Pkcs7ProviderConfig::parse("aws_ec2", &aws.cert_pem, "123456789012", None).unwrap();
    let trust = pkcs7::Pkcs7Trust::new(&cfg).unwrap();
    // Launched an hour ago: within the AWS default maximum age.
    let launched = time::OffsetDateTime::from_unix_timestamp(t - 3600)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let doc = aws.sign(&json!({"accountId": "123456789012", "instanceId": "i-0abc", "region": "us-east-1", "pendingTime": launched}).to_string());
    // A fresh trust each time: the DSA-SHA1 signature is really checked.
    c.bench_function("pkcs7_verify_aws_dsa_sha1", |b| {
        b.iter(|| {
            pkcs7::verify(
                black_box(&doc),
                &pkcs7::Pkcs7Trust::new(&cfg).unwrap(),
                "idaas_x",
                t,
                60,
            )
            .unwrap()
        })
    });
    // The same document again (an instance reuses it): signature result cached.
    c.bench_function("pkcs7_verify_aws_repeated_document", |b| {
        b.iter(|| pkcs7::verify(black_box(&doc), &trust, "idaas_x", t, 60).unwrap())
    });
    let ecs = CloudSigner::new(KeyKind::Rsa);
    let cfg = pkcs7::Pkcs7ProviderConfig::parse("alibaba_cloud_ecs", &ecs.cert_pem, "1234", None)
        .unwrap();
    let trust = pkcs7::Pkcs7Trust::new(&cfg).unwrap();
    let doc = ecs.sign(
        &json!({"instance-id": "i-bp1", "owner-account-id": "1234", "region-id": "cn-hangzhou",
        "audience": json!({"aud": "idaas_x", "signingTime": t}).to_string()})
        .to_string(),
    );
    c.bench_function("pkcs7_verify_alibaba_rsa_sha256", |b| {
        b.iter(|| pkcs7::verify(black_box(&doc), &trust, "idaas_x", t, 60).unwrap())
    });
}

fn expressions(c: &mut Criterion) {
    let input = Input::new("app_1", "fc_1").with(
        "jwt",
        json!({"header": {"alg": "RS256"}, "claims": {"sub": "system:serviceaccount:payments:billing", "aud": ["writ"],
            "kubernetes.io": {"namespace": "payments", "serviceaccount": {"name": "billing"}}}}),
    );
    let simple = Expression::compile("jwt.claims.'kubernetes.io'.namespace == 'payments' && jwt.claims.sub.startsWith('system:serviceaccount:')", Domain::Oidc, Produces::Bool).unwrap();
    c.bench_function("expression_eval_typical", |b| {
        b.iter(|| simple.check(black_box(&input)).unwrap())
    });
    let long = expr::max_length_example();
    let compiled = Expression::compile(&long, Domain::Oidc, Produces::Bool).unwrap();
    c.bench_function("expression_eval_10240_chars", |b| {
        b.iter(|| compiled.check(black_box(&input)).unwrap())
    });
    c.bench_function("expression_compile_10240_chars", |b| {
        b.iter(|| Expression::compile(black_box(&long), Domain::Oidc, Produces::Bool).unwrap())
    });
}

fn jwks_lookup(c: &mut Criterion) {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    let t = now();
    // Ten keys in the JWKS; the token names the last one by kid.
    let mut keys = Vec::new();
    let mut last_pem = String::new();
    for i in 0..10 {
        let k = rcgen::KeyPair::generate().unwrap();
        let raw = k.public_key_raw();
        use base64::Engine;
        let b = |x: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(x);
        keys.push(json!({"kty": "EC", "crv": "P-256", "kid": format!("k{i}"), "alg": "ES256", "x": b(&raw[1..33]), "y": b(&raw[33..65])}));
        last_pem = k.serialize_pem();
    }
    let cfg =
        oidc::OidcProviderConfig::parse("https://issuer.example", "writ", &json!({"keys": keys}))
            .unwrap();
    let trust = oidc::OidcTrust::new(&cfg).unwrap();
    let mut h = Header::new(Algorithm::ES256);
    h.kid = Some("k9".into());
    let token = jsonwebtoken::encode(&h, &json!({"iss": "https://issuer.example", "aud": "writ", "sub": "system:serviceaccount:a:b", "exp": t + 3600, "iat": t}),
        &EncodingKey::from_ec_pem(last_pem.as_bytes()).unwrap()).unwrap();
    c.bench_function("oidc_jwks_lookup_and_verify_es256", |b| {
        b.iter(|| oidc::verify(black_box(&token), &trust, t, 60).unwrap())
    });
}

criterion_group!(benches, pca_paths, pkcs7_paths, expressions, jwks_lookup);
criterion_main!(benches);
