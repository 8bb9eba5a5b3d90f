//! Makes the fixed trusts (`fixtures/`) and the seed corpus (`corpus/`)
//! once, from core's test fixtures (rcgen chains, `openssl` clouds):
//!
//!     cd fuzz && cargo run --example gen_seeds
//!
//! The targets build their trusts from `fixtures/` and the seeds chain or
//! are signed to them, so both are regenerated together (new keys each
//! time). Keys are test keys that live nowhere else; no private key is
//! written.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD as B64};
use serde_json::json;
use std::path::{Path, PathBuf};
use writ_core::federation::{oidc, pca, pkcs7};
use writ_core::grant::jwt_bearer;
use writ_core::testing::cloud::{CloudSigner, KeyKind};
use writ_core::testing::pki::{Chain, ChainOptions};
use writ_fuzz::{PCA_NOW, PKCS7_ALIBABA_ACCOUNT, PKCS7_AWS_ACCOUNT, WRIT_INSTANCE_ID};

/// The jwt target's clock, client and HMAC secret (see fuzz_targets/jwt.rs).
const JWT_NOW: i64 = 1_800_000_000;
const JWT_AUD: &str = "https://writ.test/api/v2/iauths_system/oauth2/token";
const JWT_SECRET: &[u8] = b"writcs_fuzz-secret";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn write(dir: &str, name: &str, data: impl AsRef<[u8]>) {
    let d = root().join(dir);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join(name), data).unwrap();
}

fn der_of(pem: &str) -> Vec<u8> {
    writ_core::federation::pca::pem_certificates(pem)
        .unwrap()
        .remove(0)
}

fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

fn hs256(header: &str, claims: &serde_json::Value) -> String {
    use aws_lc_rs::hmac;
    let input = format!("{}.{}", B64.encode(header), B64.encode(claims.to_string()));
    let sig = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, JWT_SECRET),
        input.as_bytes(),
    );
    format!("{input}.{}", B64.encode(sig.as_ref()))
}

fn main() {
    for d in ["fixtures", "corpus"] {
        let _ = std::fs::remove_dir_all(root().join(d));
    }

    // --- PCA: the trust, and chains presented to it ------------------------
    let chain = Chain::new(PCA_NOW, &ChainOptions::default());
    write("fixtures", "pca_root.pem", &chain.root_pem);
    write("fixtures", "pca_intermediate.pem", &chain.intermediate_pem);
    let x = "corpus/x509";
    write(
        x,
        "leaf_nul_chain.txt",
        format!("{}\0{}", chain.leaf_pem, chain.intermediate_pem),
    );
    write(x, "leaf_only.txt", &chain.leaf_pem);
    write(
        x,
        "bundle.txt",
        format!("{}{}", chain.leaf_pem, chain.intermediate_pem),
    );
    write(
        x,
        "provider_config.txt",
        format!("{}\0{}", chain.root_pem, chain.intermediate_pem),
    );
    write(x, "leaf.der", der_of(&chain.leaf_pem));
    write(
        x,
        "leaf_intermediate.der",
        [der_of(&chain.leaf_pem), der_of(&chain.intermediate_pem)].concat(),
    );
    // A chain of another root, with more extensions for the parser:
    // name constraints, e-mail / IP SANs, extendedKeyUsage, an unknown
    // critical extension.
    let other = Chain::new(
        PCA_NOW,
        &ChainOptions {
            leaf_unknown_critical: true,
            leaf_extra_sans: vec![
                rcgen::SanType::Rfc822Name("agent@payments.corp".try_into().unwrap()),
                rcgen::SanType::IpAddress("10.1.2.3".parse().unwrap()),
            ],
            leaf_extended_key_usages: vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth],
            intermediate_name_constraints: Some(rcgen::NameConstraints {
                permitted_subtrees: vec![rcgen::GeneralSubtree::DnsName("payments.corp".into())],
                excluded_subtrees: vec![rcgen::GeneralSubtree::IpAddress(rcgen::CidrSubnet::V4(
                    [10, 0, 0, 0],
                    [255, 0, 0, 0],
                ))],
            }),
            ..ChainOptions::default()
        },
    );
    write(
        x,
        "other_root_extensions.der",
        [der_of(&other.leaf_pem), der_of(&other.intermediate_pem)].concat(),
    );

    // --- JWT: raw assertions and header/claims the harness signs ----------
    let j = "corpus/jwt";
    let claims = json!({"iss": "app_fuzz", "sub": "app_fuzz", "aud": JWT_AUD,
        "iat": JWT_NOW, "exp": JWT_NOW + 600, "jti": "3f1c0d3e-1111-4a4a-9b9b-000000000001"});
    write(
        j,
        "pca_assertion.jwt",
        chain.assertion("app_fuzz", JWT_AUD, JWT_NOW),
    );
    write(
        j,
        "hs256_valid.jwt",
        hs256(r#"{"alg":"HS256","typ":"JWT"}"#, &claims),
    );
    write(
        j,
        "alg_none.jwt",
        format!(
            "{}.{}.",
            B64.encode(r#"{"alg":"none"}"#),
            B64.encode(claims.to_string())
        ),
    );
    write(
        j,
        "signed_es256.txt",
        format!("{{\"alg\":\"ES256\",\"typ\":\"JWT\"}}\n{claims}"),
    );
    write(
        j,
        "signed_hs512_aud_list.txt",
        format!(
            "{{\"alg\":\"HS512\"}}\n{}",
            json!({"iss": "app_fuzz", "sub": "app_fuzz",
                "aud": ["x", "https://writ.test/api/v2/iauths_system/oauth2"],
                "nbf": JWT_NOW - 5, "exp": JWT_NOW + 30, "jti": "j"})
        ),
    );
    write(
        j,
        "signed_oidc_k8s.txt",
        format!(
            "{{\"alg\":\"ES256\",\"kid\":\"k1\",\"typ\":\"JWT\"}}\n{}",
            json!({"iss": "https://issuer.fuzz", "aud": ["writ"],
                "sub": "system:serviceaccount:payments:billing", "exp": JWT_NOW + 3600,
                "iat": JWT_NOW, "nbf": JWT_NOW,
                "kubernetes.io": {"namespace": "payments", "serviceaccount": {"name": "billing"}}})
        ),
    );

    // --- Token requests ---------------------------------------------------
    let t = "corpus/token_request";
    let ct = "application/x-www-form-urlencoded";
    let scope = "urn:cloud:idaas:pam|.all";
    let req = |name: &str, ct: &str, auth: &str, pairs: &[(&str, &str)]| {
        write(t, name, format!("{ct}\n{auth}\n{}", form(pairs)));
    };
    req(
        "secret_post.txt",
        ct,
        "",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "app_1"),
            ("client_secret", "writcs_x"),
            ("scope", scope),
        ],
    );
    req(
        "secret_basic.txt",
        "application/x-www-form-urlencoded; charset=UTF-8",
        &format!("Basic {}", STANDARD.encode("app_1:writcs_x")),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "app_1"),
            ("scope", scope),
        ],
    );
    req(
        "jwt_bearer.txt",
        ct,
        "",
        &[
            ("grant_type", "client_credentials"),
            (
                "client_assertion_type",
                jwt_bearer::ASSERTION_TYPE_JWT_BEARER,
            ),
            ("client_assertion", &hs256(r#"{"alg":"HS256"}"#, &claims)),
            ("scope", scope),
        ],
    );
    req(
        "federated_oidc.txt",
        ct,
        "",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "app_1"),
            ("application_federated_credential_name", "k8s-billing"),
            ("client_assertion_type", oidc::ASSERTION_TYPE_ID_TOKEN),
            ("client_assertion", "eyJhbGciOiJSUzI1NiJ9.e30.c2ln\n"),
        ],
    );
    req(
        "federated_pca.txt",
        ct,
        "",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "app_1"),
            ("application_federated_credential_name", "agent"),
            ("client_assertion_type", pca::ASSERTION_TYPE_X509_JWT),
            ("client_assertion", "a.b.c"),
            ("client_x509", &chain.leaf_pem),
        ],
    );
    req(
        "federated_pkcs7.txt",
        ct,
        "",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "app_1"),
            ("application_federated_credential_name", "ec2"),
            ("client_assertion_type", pkcs7::ASSERTION_TYPE_PKCS7),
            (
                "client_assertion",
                "MIAGCSqGSIb3DQEHAqCAMIACAQExCzAJBgUrDgMCGgUA",
            ),
        ],
    );
    write(
        t,
        "repeated.txt",
        "grant_type=client_credentials&scope=a&scope=b",
    );
    write(
        t,
        "not_a_form.txt",
        "application/json\n\n{\"grant_type\":\"client_credentials\"}",
    );

    // --- Expressions (selector digit, then the source) --------------------
    let e = "corpus/expr";
    let exprs = [
        (
            "oidc_k8s",
            "0jwt.claims.'kubernetes.io'.namespace == 'payments' && jwt.claims.\"kubernetes.io\".serviceaccount.name.startsWith('bill')",
        ),
        (
            "oidc_has",
            "0has(jwt.claims.repository) && jwt.claims.repository == 'a' || jwt.claims.sub.matches('^system:serviceaccount:[a-z]+:.*$')",
        ),
        (
            "oidc_comprehension",
            "0jwt.claims.aud.all(a, a != '') && jwt.claims.aud.exists(b, b == 'writ') && size(jwt.claims.groups.filter(g, g in ['a', 'b'])) == 2",
        ),
        (
            "oidc_mapping",
            "1jwt.claims.'kubernetes.io'.namespace + '/' + jwt.claims.'kubernetes.io'.serviceaccount.name.lowerAscii()",
        ),
        (
            "pca_cert",
            "2cert.san.dns.exists(d, d.endsWith('.corp')) && cert.subject.CN == 'payments-agent' && client.clientId == 'app_1'",
        ),
        (
            "pca_mapping",
            "3cert.subject.OU + ':' + string(cert.notAfter - cert.notBefore) + ':' + cert.san.uri[0].split('/')[2]",
        ),
        (
            "pkcs7_aws",
            "4pkcs7.payload.jsonData.accountId == '123456789012' && pkcs7.payload.jsonData.'instance-id'.startsWith('i-') && int(pkcs7.signingTime) > 0",
        ),
        (
            "pkcs7_mapping",
            "5pkcs7.payload.jsonData.'region-id' + '/' + pkcs7.payload.jsonData.instanceId.upperAscii().trim()",
        ),
        (
            "ternary_math",
            "0(jwt.claims.n * 2 + 1) % 5 == 2 ? jwt.claims.f >= 1.5 : !jwt.claims.ok",
        ),
        (
            "maps_lists",
            "0{'a': [1, 2u, 3.0], 'b': {'c': b'x'}}.a.size() == 3 && uint(1) == 1u && double('2.5') < 3.0",
        ),
        (
            "multiline",
            "0jwt.claims.sub ==\n  'x' ||\n  \"\"\"tri\nple\"\"\" == r'raw\\s'",
        ),
        ("syntax_error", "0jwt.claims.'a.b' ==\n  'x' &&& true"),
    ];
    for (name, src) in exprs {
        write(e, &format!("{name}.txt"), src);
    }
    write(
        e,
        "max_length.txt",
        format!("0{}", writ_core::federation::expr::max_length_example()),
    );

    // --- PKCS#7: an AWS (DSA) and an Alibaba (RSA) cloud ------------------
    let p = "corpus/pkcs7";
    let aws = CloudSigner::new(KeyKind::Dsa);
    let ali = CloudSigner::new(KeyKind::Rsa);
    let now = time::OffsetDateTime::now_utc();
    let pending = (now - time::Duration::hours(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let aws_doc = json!({"accountId": PKCS7_AWS_ACCOUNT, "instanceId": "i-0abc",
        "region": "us-east-1", "pendingTime": pending, "architecture": "x86_64"})
    .to_string();
    let ali_doc = json!({"instance-id": "i-bp1", "owner-account-id": PKCS7_ALIBABA_ACCOUNT,
        "region-id": "cn-hangzhou",
        "audience": json!({"aud": WRIT_INSTANCE_ID, "signingTime": now.unix_timestamp()}).to_string()})
    .to_string();
    let aws_b64 = aws.sign(&aws_doc);
    let ali_b64 = ali.sign(&ali_doc);
    write("fixtures", "pkcs7_aws_cert.pem", &aws.cert_pem);
    write("fixtures", "pkcs7_alibaba_cert.pem", &ali.cert_pem);
    write(
        "fixtures",
        "pkcs7_now.txt",
        format!("{}\n", time::OffsetDateTime::now_utc().unix_timestamp()),
    );
    write(p, "aws_dsa.der", STANDARD.decode(&aws_b64).unwrap());
    write(p, "alibaba_rsa.der", STANDARD.decode(&ali_b64).unwrap());
    let mut armoured = String::from("-----BEGIN PKCS7-----\n");
    for line in ali_b64.as_bytes().chunks(64) {
        armoured.push_str(std::str::from_utf8(line).unwrap());
        armoured.push('\n');
    }
    armoured.push_str("-----END PKCS7-----\n");
    write(p, "alibaba_rsa_armoured.txt", armoured);
    let forged = aws.sign_then_swap_content(&aws_doc, &aws_doc.replace("i-0abc", "i-evil"));
    write(p, "aws_forged.der", STANDARD.decode(forged).unwrap());

    check_sizes(&root().join("corpus"));
    check_seeds(&chain, &aws_b64, &ali_b64);
}

/// The seeds reach the end of each check: they pass against the fixed
/// trusts at the targets' clocks (else the fuzzer starts far from the code
/// behind the signature checks).
fn check_seeds(chain: &Chain, aws_b64: &str, ali_b64: &str) {
    use writ_core::federation::pca::{PcaProviderConfig, PcaTrust, verify_chain};
    use writ_core::federation::pkcs7::{Pkcs7ProviderConfig, Pkcs7Trust, verify};
    let read = |f: &str| std::fs::read_to_string(root().join("fixtures").join(f)).unwrap();
    let cfg =
        PcaProviderConfig::parse(&read("pca_root.pem"), &[read("pca_intermediate.pem")]).unwrap();
    let trust = PcaTrust::new(&cfg).unwrap();
    verify_chain(
        &chain.leaf_pem,
        Some(&chain.intermediate_pem),
        &trust,
        PCA_NOW,
        60,
    )
    .unwrap();
    let now: i64 = read("pkcs7_now.txt").trim().parse().unwrap();
    for (source, cert, account, doc) in [
        ("aws_ec2", "pkcs7_aws_cert.pem", PKCS7_AWS_ACCOUNT, aws_b64),
        (
            "alibaba_cloud_ecs",
            "pkcs7_alibaba_cert.pem",
            PKCS7_ALIBABA_ACCOUNT,
            ali_b64,
        ),
    ] {
        let cfg = Pkcs7ProviderConfig::parse(source, &read(cert), account, None).unwrap();
        let t = Pkcs7Trust::new(&cfg).unwrap();
        verify(doc, &t, WRIT_INSTANCE_ID, now, 60).unwrap();
    }
    let hs = std::fs::read_to_string(root().join("corpus/jwt/hs256_valid.jwt")).unwrap();
    let policy = jwt_bearer::Policy {
        audiences: &[JWT_AUD],
        now: JWT_NOW,
        skew_secs: 60,
    };
    jwt_bearer::verify_hmac(&hs, "app_fuzz", &[JWT_SECRET.to_vec()], &policy).unwrap();
    println!("seeds verify against the fixtures");
}

fn check_sizes(dir: &Path) {
    let mut total = 0;
    for sub in std::fs::read_dir(dir).unwrap() {
        let sub = sub.unwrap().path();
        let mut n = 0;
        for f in std::fs::read_dir(&sub).unwrap() {
            total += f.unwrap().metadata().unwrap().len();
            n += 1;
        }
        println!("{}: {n} seeds", sub.display());
    }
    println!("corpus: {total} bytes");
}
