//! The hostile-input corpus (issue 14, "hold under attack"): every case in
//! `tests/hostile/*.json` starts from a real request that gets a token
//! (a client secret, `client_secret_jwt`, `private_key_jwt` with an ES256 or
//! RS256 key, PCA, OIDC from a loopback issuer, PKCS#7 from AWS or Alibaba)
//! and breaks it one way: forged, expired, replayed, wrong audience, `alg:
//! none`, injected keys, oversized, unicode, repeated parameters, another
//! client's credential, expressions built to exhaust the evaluator… The
//! runner builds each artifact with real keys, sends it over TLS to one
//! Writ (SQLite) and requires a 4xx OAuth error (`error` and
//! `error_description`, never an `access_token`) within 50 ms (the median of
//! three attempts). Each base request, unmutated, must get a token first:
//! the corpus proves the mutation, not a broken base.
//!
//! Expression cases run against a second Writ, the `writ` binary in a
//! process of its own: an expression can abort the whole process (a known
//! bug), which must be reported, not take the runner down with it.
//!
//! Prints `N passed, N failed`. A case marked `known_bug` in the data is a
//! defect this corpus found and Writ has not fixed yet: reported apart,
//! counted as failed, and it does not fail the test. The data format is in
//! `tests/hostile/README.md`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(unused_macros)]
mod common;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD as B64};
use common::{Backend, TestServer, now};
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PublicKeyData, SanType,
};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use writ_core::testing::cloud::{CloudSigner, KeyKind, SignOptions};

/// Every case is answered within this (the median of [`ATTEMPTS`]).
const BUDGET: Duration = Duration::from_millis(50);
const ATTEMPTS: usize = 3;
/// The issue asks for at least this many cases.
const MIN_CASES: usize = 150;

const AUDIENCE: &str = "https://api.hostile.test";
const SCOPE: &str = "https://api.hostile.test|read";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const PCA_TYPE: &str = "urn:cloud:idaas:params:oauth:client-assertion-type:x509-jwt-bearer";
const OIDC_TYPE: &str = "urn:cloud:idaas:params:oauth:client-assertion-type:id-token-bearer";
const PKCS7_TYPE: &str = "urn:cloud:idaas:params:oauth:client-assertion-type:pkcs7-bearer";
const OIDC_AUDIENCE: &str = "writ-hostile";
const K8S_SUB: &str = "system:serviceaccount:payments:billing-bot";
const AWS_ACCOUNT: &str = "123456789012";
const AWS_INSTANCE: &str = "i-0abc";
const ALIBABA_ACCOUNT: &str = "1234567";
const ALIBABA_INSTANCE: &str = "i-bp1abc";
const LEAF_CN: &str = "payments-agent";
/// What a base request puts where its signed artifact goes.
const ASSERTION: &str = "${assertion}";

/// The base requests, with the client each authenticates.
const BASES: &[(&str, &str)] = &[
    ("secret_post", "secret"),
    ("secret_basic", "secret"),
    ("client_secret_jwt", "hmac"),
    ("pkjwt_es256", "es256"),
    ("pkjwt_rs256", "rs256"),
    ("pca", "pca"),
    ("oidc", "oidc"),
    ("pkcs7_aws", "aws"),
    ("pkcs7_alibaba", "alibaba"),
];

// ---------------------------------------------------------------------------
// The data format (see tests/hostile/README.md).

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    #[allow(dead_code)]
    description: String,
    cases: Vec<Case>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    /// One base request, or several (the case is run on each).
    #[serde(default)]
    base: Option<String>,
    #[serde(default)]
    bases: Vec<String>,
    /// Run once per base per client in this list other than the base's own,
    /// presenting the base's credential as that client.
    #[serde(default)]
    as_clients: Vec<String>,
    #[serde(default)]
    mutation: Mutation,
    /// The base (with `mutation`) is sent once and must get a token; then
    /// the same artifact is sent again with this mutation.
    #[serde(default)]
    replay: Option<Mutation>,
    #[serde(default)]
    expr: Option<ExprSpec>,
    #[serde(default)]
    admin: Option<AdminSpec>,
    #[serde(default)]
    expect: Expect,
    #[serde(default)]
    known_bug: Option<String>,
    /// A known bug of some variants only, by label: `"<base>"` or
    /// `"<base> as <client>"`.
    #[serde(default)]
    known_bug_for: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    status: Option<u16>,
    error: Option<String>,
}

/// A federated credential (or a provider's trust condition) carrying the
/// expression, created through the admin API; if it is accepted, a request
/// of the kind's base (with the case's `mutation`) is sent to it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExprSpec {
    /// `oidc`, `pca` or `pkcs7_aws`.
    kind: String,
    /// It must be refused on save (a bound Writ enforces there).
    #[serde(default)]
    refused: bool,
    #[serde(default)]
    verification: Option<Value>,
    #[serde(default)]
    attribute_mapping: Option<Value>,
    #[serde(default)]
    trust_condition: Option<Value>,
}

/// A request to the admin API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct AdminSpec {
    method: String,
    path: String,
    #[serde(default)]
    body: Option<Value>,
    /// The body as text (a string spec), sent as JSON.
    #[serde(default)]
    body_raw: Option<Value>,
}

/// How a case changes its base request. Every field is optional; they apply
/// in the order listed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Mutation {
    /// Present the base's credential as this client.
    as_client: Option<String>,
    /// PCA: present this certificate chain (and sign with its leaf's key).
    pca_chain: Option<String>,
    /// Merged into the JWS header / claims (`null` removes a member).
    jwt_header: Option<Map<String, Value>>,
    jwt_claims: Option<Map<String, Value>>,
    /// The header / claims as exact text (string specs).
    jwt_header_raw: Option<Value>,
    jwt_claims_raw: Option<Value>,
    /// Which key signs the JWS (see `World::sign_key`).
    sign_with: Option<String>,
    /// Merged into the header / claims after signing (a swapped part).
    jwt_swap_header: Option<Map<String, Value>>,
    jwt_swap_claims: Option<Map<String, Value>>,
    /// Operations on the compact JWS (see `Jwt::compact`).
    token: Vec<String>,
    /// PKCS#7: merged into the document, its Alibaba `audience`, or the
    /// document as text.
    doc: Option<Map<String, Value>>,
    doc_audience: Option<Map<String, Value>>,
    doc_raw: Option<Value>,
    /// PKCS#7: the cloud signs the document with this merged in; the
    /// request carries the document without it (same length).
    pkcs7_signed_instead: Option<Map<String, Value>>,
    /// Operations on the PKCS#7 document (see `Doc::encode`).
    pkcs7: Vec<String>,
    /// `Authorization: Basic` with this user and password (string specs).
    basic: Option<(Value, Value)>,
    /// Form parameters set (`null` removes every occurrence).
    form: Option<Map<String, Value>>,
    /// Form parameters given again with the same value.
    form_repeat: Vec<String>,
    /// Form parameters appended as given (a second value).
    form_add: Vec<(String, Value)>,
    /// Appended to the encoded body as is.
    form_append_raw: Option<Value>,
    /// Request headers: a value, several (repeated header) or `null`.
    headers: Option<Map<String, Value>>,
    /// `null` sends no Content-Type.
    #[serde(default, deserialize_with = "some_value")]
    content_type: Option<Value>,
    /// The body as text, or as this many bytes of `a`.
    body: Option<Value>,
    body_bytes: Option<usize>,
    method: Option<String>,
}

fn some_value<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

// ---------------------------------------------------------------------------
// Keys and signatures.

#[derive(Clone)]
enum SignKey {
    Ec(Arc<EcdsaKeyPair>),
    Rsa(Arc<RsaKeyPair>),
    Hmac(Vec<u8>),
    /// An empty signature.
    Empty,
}

impl SignKey {
    fn ec(kp: &KeyPair) -> Self {
        Self::Ec(Arc::new(
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, kp.serialized_der())
                .unwrap(),
        ))
    }
    fn sign(&self, input: &[u8]) -> Vec<u8> {
        match self {
            Self::Ec(k) => k
                .sign(&SystemRandom::new(), input)
                .unwrap()
                .as_ref()
                .to_vec(),
            Self::Rsa(k) => {
                let mut sig = vec![0; k.public_modulus_len()];
                k.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), input, &mut sig)
                    .unwrap();
                sig
            }
            Self::Hmac(key) => {
                use aws_lc_rs::hmac;
                hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), input)
                    .as_ref()
                    .to_vec()
            }
            Self::Empty => Vec::new(),
        }
    }
}

fn ec_jwk(kp: &KeyPair, kid: Option<&str>) -> Value {
    let raw = kp.public_key_raw();
    let mut j = json!({"kty": "EC", "crv": "P-256", "x": B64.encode(&raw[1..33]), "y": B64.encode(&raw[33..65])});
    if let Some(kid) = kid {
        j["kid"] = json!(kid);
        j["use"] = json!("sig");
        j["alg"] = json!("ES256");
    }
    j
}

/// A fresh RSA 2048 key.
fn rsa_key() -> Arc<RsaKeyPair> {
    Arc::new(RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap())
}

fn rsa_jwk(k: &RsaKeyPair, kid: Option<&str>) -> Value {
    let p = k.public_key();
    let mut j = json!({"kty": "RSA",
        "n": B64.encode(p.modulus().big_endian_without_leading_zero()),
        "e": B64.encode(p.exponent().big_endian_without_leading_zero())});
    if let Some(kid) = kid {
        j["kid"] = json!(kid);
        j["use"] = json!("sig");
        j["alg"] = json!("RS256");
    }
    j
}

/// DER length octets.
fn der_len(n: usize) -> Vec<u8> {
    if n < 0x80 {
        return vec![n as u8];
    }
    let bytes: Vec<u8> = n
        .to_be_bytes()
        .into_iter()
        .skip_while(|b| *b == 0)
        .collect();
    let mut out = vec![0x80 | bytes.len() as u8];
    out.extend(bytes);
    out
}

/// The SubjectPublicKeyInfo PEM of an RSA key (what an admin registers).
fn rsa_spki_pem(k: &RsaKeyPair) -> String {
    let pkcs1 = k.public_key().as_ref();
    let alg = [
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];
    let mut bits = vec![0x03];
    bits.extend(der_len(pkcs1.len() + 1));
    bits.push(0);
    bits.extend_from_slice(pkcs1);
    let mut spki = vec![0x30];
    spki.extend(der_len(alg.len() + bits.len()));
    spki.extend_from_slice(&alg);
    spki.extend(bits);
    let b64 = STANDARD.encode(&spki);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        lines.join("\n")
    )
}

/// The order of the P-256 group (to make the other valid ECDSA signature).
const P256_N: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// `(r, s)` → `(r, n - s)`: a second valid signature of the same message.
fn malleate_ecdsa(sig: &[u8]) -> Vec<u8> {
    assert_eq!(sig.len(), 64, "an ES256 signature");
    let mut out = sig.to_vec();
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let d = P256_N[i] as i16 - sig[32 + i] as i16 - borrow;
        (out[32 + i], borrow) = if d < 0 {
            ((d + 256) as u8, 1)
        } else {
            (d as u8, 0)
        };
    }
    out
}

/// A JWS being built: header and claims, the key, and what to do to it.
#[derive(Clone)]
struct Jwt {
    header: Value,
    claims: Value,
    key: SignKey,
    header_raw: Option<String>,
    claims_raw: Option<String>,
    swap_header: Option<Value>,
    swap_claims: Option<Value>,
    ops: Vec<String>,
}

impl Jwt {
    fn new(header: Value, claims: Value, key: SignKey) -> Self {
        Self {
            header,
            claims,
            key,
            header_raw: None,
            claims_raw: None,
            swap_header: None,
            swap_claims: None,
            ops: Vec::new(),
        }
    }

    /// The compact serialization, then each operation in `ops`:
    /// `strip_signature` (keep the final dot), `drop_signature_segment`,
    /// `extra_segment`, `flip_signature_bit`, `truncate_signature`,
    /// `zero_signature` (r = s = 0), `malleate_ecdsa`, `signature_padding`
    /// (`==` after the signature), `whitespace_inside`, `nul_suffix`,
    /// `json_serialization` (RFC 7515 §7.2 instead of compact), `repeat`
    /// (the token twice, joined with a dot).
    fn compact(&self) -> String {
        let h = self
            .header_raw
            .clone()
            .unwrap_or_else(|| self.header.to_string());
        let c = self
            .claims_raw
            .clone()
            .unwrap_or_else(|| self.claims.to_string());
        let input = format!("{}.{}", B64.encode(&h), B64.encode(&c));
        let mut sig = self.key.sign(input.as_bytes());
        let mut hs = B64.encode(&h);
        let mut cs = B64.encode(&c);
        if let Some(sh) = &self.swap_header {
            hs = B64.encode(sh.to_string());
        }
        if let Some(sc) = &self.swap_claims {
            cs = B64.encode(sc.to_string());
        }
        for op in &self.ops {
            match op.as_str() {
                "flip_signature_bit" => {
                    if let Some(b) = sig.first_mut() {
                        *b ^= 1;
                    }
                }
                "truncate_signature" => sig.truncate(sig.len() / 2),
                "malleate_ecdsa" => sig = malleate_ecdsa(&sig),
                "zero_signature" => sig = vec![0; sig.len().max(64)],
                _ => {}
            }
        }
        let mut t = format!("{hs}.{cs}.{}", B64.encode(&sig));
        for op in &self.ops {
            t = match op.as_str() {
                "strip_signature" => format!("{hs}.{cs}."),
                "drop_signature_segment" => format!("{hs}.{cs}"),
                "extra_segment" => format!("{t}.{}", B64.encode(b"extra")),
                "signature_padding" => format!("{t}=="),
                "whitespace_inside" => t.replacen('.', ". ", 1),
                "nul_suffix" => format!("{t}\0"),
                "json_serialization" => {
                    json!({"protected": hs, "payload": cs, "signature": B64.encode(&sig)})
                        .to_string()
                }
                "repeat" => format!("{t}.{t}"),
                "flip_signature_bit" | "truncate_signature" | "malleate_ecdsa"
                | "zero_signature" => t,
                other => panic!("unknown token operation '{other}'"),
            };
        }
        t
    }
}

// ---------------------------------------------------------------------------
// A private CA for PCA, with the broken variants a workload may present.

fn shift<T>(t: T, secs: i64) -> T
where
    T: std::ops::Add<Duration, Output = T> + std::ops::Sub<Duration, Output = T>,
{
    if secs >= 0 {
        t + Duration::from_secs(secs as u64)
    } else {
        t - Duration::from_secs(secs.unsigned_abs())
    }
}

struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
    key: SignKey,
}

#[derive(Clone, Copy, PartialEq)]
enum CaKind {
    Unconstrained,
    PathLen0,
    NotCa,
}

/// Validity as offsets from now (seconds).
#[derive(Clone, Copy)]
struct Validity(i64, i64);
const VALID: Validity = Validity(-30 * 86_400, 3_650 * 86_400);

fn ca(cn: &str, parent: Option<&Ca>, kind: CaKind, v: Validity) -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.distinguished_name
        .push(DnType::OrganizationName, "Writ Hostile Corpus");
    match kind {
        CaKind::Unconstrained => {
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        }
        CaKind::PathLen0 => {
            p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
            p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        }
        CaKind::NotCa => {
            p.is_ca = IsCa::ExplicitNoCa;
            p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        }
    }
    let epoch = rcgen::date_time_ymd(1970, 1, 1);
    p.not_before = shift(epoch, now() + v.0);
    p.not_after = shift(epoch, now() + v.1);
    let cert = match parent {
        Some(parent) => p.signed_by(&key, &parent.issuer).unwrap(),
        None => p.self_signed(&key).unwrap(),
    };
    Ca {
        pem: cert.pem(),
        key: SignKey::ec(&key),
        issuer: Issuer::new(p, key),
    }
}

#[derive(Clone, Default)]
struct LeafOpts {
    cn: Option<&'static str>,
    validity: Option<Validity>,
    ca: bool,
    no_digital_signature: bool,
    unknown_critical: bool,
}

fn leaf_params(o: &LeafOpts) -> CertificateParams {
    let mut p = CertificateParams::new(vec!["agent.payments.corp".to_owned()]).unwrap();
    p.distinguished_name
        .push(DnType::CommonName, o.cn.unwrap_or(LEAF_CN));
    p.distinguished_name
        .push(DnType::OrganizationalUnitName, "payments");
    p.subject_alt_names.push(SanType::URI(
        "spiffe://corp/payments/agent".try_into().unwrap(),
    ));
    if o.ca {
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ];
    } else {
        p.is_ca = IsCa::ExplicitNoCa;
        p.key_usages = vec![if o.no_digital_signature {
            KeyUsagePurpose::KeyEncipherment
        } else {
            KeyUsagePurpose::DigitalSignature
        }];
    }
    let v = o.validity.unwrap_or(Validity(-86_400, 90 * 86_400));
    let epoch = rcgen::date_time_ymd(1970, 1, 1);
    p.not_before = shift(epoch, now() + v.0);
    p.not_after = shift(epoch, now() + v.1);
    if o.unknown_critical {
        let mut ext =
            CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 99999, 1], vec![0x05, 0x00]);
        ext.set_criticality(true);
        p.custom_extensions.push(ext);
    }
    p
}

/// A leaf (signed by `parent`, or self-signed): (PEM, its key, the key pair).
fn leaf(parent: Option<&Issuer<'static, KeyPair>>, o: &LeafOpts) -> (String, SignKey, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let p = leaf_params(o);
    let cert = match parent {
        Some(i) => p.signed_by(&key, i).unwrap(),
        None => p.self_signed(&key).unwrap(),
    };
    (cert.pem(), SignKey::ec(&key), key)
}

/// What a PCA workload presents: its certificate, the chain, its key.
#[derive(Clone)]
struct Presented {
    leaf: String,
    chain: String,
    key: SignKey,
}

struct Pki {
    root: Ca,
    intermediate: Ca,
    /// The good leaf's key pair (for HMAC-with-the-public-key cases).
    leaf_pair: KeyPair,
    variants: HashMap<&'static str, Presented>,
}

impl Pki {
    /// The registered root → intermediate (path length 0) → leaf, and every
    /// variant a case may name in `pca_chain`.
    fn new() -> Self {
        let root = ca("Hostile Root CA", None, CaKind::Unconstrained, VALID);
        let int = ca(
            "Hostile Intermediate CA",
            Some(&root),
            CaKind::PathLen0,
            VALID,
        );
        let mut v = HashMap::new();
        let under = |o: LeafOpts, parent: &Ca, chain: String| {
            let (leaf, key, _) = leaf(Some(&parent.issuer), &o);
            Presented { leaf, chain, key }
        };
        let (good_leaf, good_key, leaf_pair) = leaf(Some(&int.issuer), &LeafOpts::default());
        v.insert(
            "good",
            Presented {
                leaf: good_leaf.clone(),
                chain: int.pem.clone(),
                key: good_key.clone(),
            },
        );
        let d = LeafOpts::default;
        // Leaves of the registered intermediate that are wrong in one way.
        let broken = [
            (
                "expired",
                LeafOpts {
                    validity: Some(Validity(-30 * 86_400, -7_200)),
                    ..d()
                },
            ),
            (
                "not_yet_valid",
                LeafOpts {
                    validity: Some(Validity(86_400, 90 * 86_400)),
                    ..d()
                },
            ),
            (
                "wrong_cn",
                LeafOpts {
                    cn: Some("intruder"),
                    ..d()
                },
            ),
            (
                "cn_lookalike",
                LeafOpts {
                    cn: Some("payments\u{2010}agent"),
                    ..d()
                },
            ),
            (
                "cn_nul_suffix",
                LeafOpts {
                    cn: Some("payments-agent\u{0}.evil"),
                    ..d()
                },
            ),
            (
                "cn_rtl_override",
                LeafOpts {
                    cn: Some("\u{202e}tnega-stnemyap"),
                    ..d()
                },
            ),
            (
                "unknown_critical",
                LeafOpts {
                    unknown_critical: true,
                    ..d()
                },
            ),
            ("leaf_is_ca", LeafOpts { ca: true, ..d() }),
            (
                "no_digital_signature",
                LeafOpts {
                    no_digital_signature: true,
                    ..d()
                },
            ),
        ];
        for (name, o) in broken {
            v.insert(name, under(o, &int, int.pem.clone()));
        }
        // Another root entirely, and one that copies the registered names.
        let root2 = ca("Other Root CA", None, CaKind::Unconstrained, VALID);
        let int2 = ca(
            "Other Intermediate CA",
            Some(&root2),
            CaKind::PathLen0,
            VALID,
        );
        v.insert("other_root", under(d(), &int2, int2.pem.clone()));
        let root3 = ca("Hostile Root CA", None, CaKind::Unconstrained, VALID);
        let int3 = ca(
            "Hostile Intermediate CA",
            Some(&root3),
            CaKind::PathLen0,
            VALID,
        );
        v.insert("same_names_other_keys", under(d(), &int3, int3.pem.clone()));
        v.insert(
            "other_root_with_registered_intermediate",
            under(d(), &int2, format!("{}{}", int2.pem, int.pem)),
        );
        // CA:FALSE, path length, expired intermediate.
        let not_ca = ca("Rogue Intermediate", Some(&root), CaKind::NotCa, VALID);
        v.insert(
            "intermediate_not_ca",
            under(d(), &not_ca, not_ca.pem.clone()),
        );
        let below = ca(
            "Below Path Length",
            Some(&int),
            CaKind::Unconstrained,
            VALID,
        );
        v.insert(
            "path_length_exceeded",
            under(d(), &below, format!("{}{}", below.pem, int.pem)),
        );
        let old = ca(
            "Expired Intermediate",
            Some(&root),
            CaKind::Unconstrained,
            Validity(-400 * 86_400, -86_400),
        );
        v.insert("expired_intermediate", under(d(), &old, old.pem.clone()));
        // Five intermediates: one more than a path may hold.
        let mut chain_cas = vec![ca("Deep CA 1", Some(&root), CaKind::Unconstrained, VALID)];
        for i in 2..=5 {
            let next = ca(
                &format!("Deep CA {i}"),
                chain_cas.last(),
                CaKind::Unconstrained,
                VALID,
            );
            chain_cas.push(next);
        }
        let deep_chain: String = chain_cas.iter().rev().map(|c| c.pem.clone()).collect();
        v.insert(
            "five_intermediates",
            under(d(), chain_cas.last().unwrap(), deep_chain),
        );
        v.insert(
            "eleven_certificates",
            Presented {
                leaf: good_leaf.clone(),
                chain: int.pem.repeat(11),
                key: good_key.clone(),
            },
        );
        v.insert(
            "chain_of_45_kib",
            Presented {
                leaf: good_leaf.clone(),
                chain: int.pem.repeat(45 * 1024 / int.pem.len()),
                key: good_key.clone(),
            },
        );
        // Self-signed, a CA as the client certificate, a leaf as an issuer.
        let (self_signed, key, _) = leaf(None, &d());
        v.insert(
            "self_signed",
            Presented {
                leaf: self_signed,
                chain: String::new(),
                key,
            },
        );
        v.insert(
            "intermediate_as_client_certificate",
            Presented {
                leaf: int.pem.clone(),
                chain: String::new(),
                key: int.key.clone(),
            },
        );
        v.insert(
            "root_as_client_certificate",
            Presented {
                leaf: root.pem.clone(),
                chain: String::new(),
                key: root.key.clone(),
            },
        );
        let leaf_ca_pair = KeyPair::generate().unwrap();
        let leaf_ca_params = leaf_params(&d());
        let leaf_ca_pem = leaf_ca_params
            .signed_by(&leaf_ca_pair, &int.issuer)
            .unwrap()
            .pem();
        let leaf_issuer = Issuer::new(leaf_ca_params, leaf_ca_pair);
        let (grandchild, key, _) = leaf(Some(&leaf_issuer), &d());
        v.insert(
            "signed_by_a_leaf",
            Presented {
                leaf: grandchild,
                chain: format!("{leaf_ca_pem}{}", int.pem),
                key,
            },
        );
        v.insert(
            "garbage_pem",
            Presented {
                leaf: "-----BEGIN CERTIFICATE-----\nMIIBAAAAAAAA\n-----END CERTIFICATE-----\n"
                    .into(),
                chain: int.pem.clone(),
                key: good_key.clone(),
            },
        );
        v.insert(
            "private_key_as_certificate",
            Presented {
                leaf: leaf_pair.serialize_pem(),
                chain: int.pem.clone(),
                key: good_key.clone(),
            },
        );
        v.insert(
            "certificate_in_chain_only",
            Presented {
                leaf: String::new(),
                chain: format!("{good_leaf}{}", int.pem),
                key: good_key,
            },
        );
        Self {
            root,
            intermediate: int,
            leaf_pair,
            variants: v,
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum CloudKind {
    Aws,
    Alibaba,
}

/// A PKCS#7 document being built.
#[derive(Clone)]
struct Doc {
    kind: CloudKind,
    json: Value,
    /// Alibaba: the `audience` field's JSON (stringified when signing).
    audience: Option<Value>,
    raw: Option<String>,
    signed_instead: Option<Map<String, Value>>,
    ops: Vec<String>,
}

fn merge(target: &mut Value, patch: &Map<String, Value>) {
    let obj = target.as_object_mut().expect("an object to merge into");
    for (k, v) in patch {
        if v.is_null() {
            obj.remove(k);
        } else {
            obj.insert(k.clone(), v.clone());
        }
    }
}

impl Doc {
    fn content(&self, patch: Option<&Map<String, Value>>) -> String {
        if let Some(raw) = &self.raw {
            return raw.clone();
        }
        let mut j = self.json.clone();
        if let Some(a) = &self.audience {
            j["audience"] = json!(a.to_string());
        }
        if let Some(p) = patch {
            merge(&mut j, p);
        }
        j.to_string()
    }

    /// Base64 DER, after each operation in `ops`: `noattr` (no signed
    /// attributes, so no CMS signing time), `md:<digest>`, `detached` (no
    /// content inside), `other_signer` (a key the provider does not hold),
    /// `truncate`, `flip_last_byte`, `not_base64`, `oversize` (past 32 KiB).
    fn encode(&self, w: &World) -> String {
        let has = |op: &str| self.ops.iter().any(|o| o == op);
        let md = self
            .ops
            .iter()
            .find_map(|o| o.strip_prefix("md:"))
            .map(str::to_owned);
        let cloud = match (self.kind, has("other_signer")) {
            (CloudKind::Aws, false) => &w.aws,
            (CloudKind::Aws, true) => &w.rogue_aws,
            (CloudKind::Alibaba, false) => &w.alibaba,
            (CloudKind::Alibaba, true) => &w.rogue_alibaba,
        };
        let presented = self.content(None);
        let signed = match &self.signed_instead {
            Some(p) => self.content(Some(p)),
            None => presented.clone(),
        };
        let mut der = cloud.sign_der_with(
            signed.as_bytes(),
            SignOptions {
                without_attributes: has("noattr"),
                digest: md.as_deref(),
                detached: has("detached"),
            },
        );
        if signed != presented {
            assert_eq!(
                signed.len(),
                presented.len(),
                "a swapped payload keeps its length"
            );
            let at = der
                .windows(signed.len())
                .position(|win| win == signed.as_bytes())
                .expect("content inside");
            der[at..at + presented.len()].copy_from_slice(presented.as_bytes());
        }
        if has("truncate") {
            der.truncate(der.len() / 2);
        }
        if has("flip_last_byte")
            && let Some(b) = der.last_mut()
        {
            *b ^= 0x01;
        }
        let mut out = STANDARD.encode(&der);
        if has("oversize") {
            out.push_str(&"A".repeat(33 * 1024));
        }
        if has("not_base64") {
            out = format!("%%{out}!!");
        }
        for op in &self.ops {
            let known = ["noattr", "detached", "other_signer", "truncate"].contains(&op.as_str())
                || ["flip_last_byte", "oversize", "not_base64"].contains(&op.as_str())
                || op.starts_with("md:");
            assert!(known, "unknown pkcs7 operation '{op}'");
        }
        out
    }
}

// ---------------------------------------------------------------------------
// Loopback HTTP servers: the OIDC issuer, and an attacker whose URLs the
// hostile tokens name (`jku`, `x5u`); Writ must never fetch those.

struct Loopback {
    url: String,
    hits: Arc<AtomicUsize>,
}

async fn loopback(jwks: Value) -> Loopback {
    use axum::http::Uri;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let discovery = json!({"issuer": url, "jwks_uri": format!("{url}/jwks")});
    let h = hits.clone();
    let app = axum::Router::new().fallback(move |uri: Uri| {
        let (h, discovery, jwks) = (h.clone(), discovery.clone(), jwks.clone());
        async move {
            h.fetch_add(1, Ordering::SeqCst);
            if uri.path().ends_with("openid-configuration") {
                axum::Json(discovery)
            } else {
                axum::Json(jwks)
            }
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Loopback { url, hits }
}

// ---------------------------------------------------------------------------
// The tenant every case runs against.

struct Client {
    /// The admin API id.
    id: String,
    client_id: String,
    collection: &'static str,
}

struct World {
    token_url: String,
    issuer: String,
    instance_id: String,
    clients: HashMap<String, Client>,
    secret: String,
    hmac_secret: String,
    /// An access token Writ issued (to present where it does not belong).
    writ_token: String,
    es256: KeyPair,
    rs256: Arc<RsaKeyPair>,
    oidc_ec: KeyPair,
    oidc_rs: Arc<RsaKeyPair>,
    attacker_ec: KeyPair,
    attacker_rs: Arc<RsaKeyPair>,
    attacker_cert_der: Vec<u8>,
    oidc: Loopback,
    attacker: Loopback,
    pki: Pki,
    aws: CloudSigner,
    alibaba: CloudSigner,
    rogue_aws: CloudSigner,
    rogue_alibaba: CloudSigner,
    providers: HashMap<&'static str, String>,
    /// Names of credentials made by expression cases.
    next_credential: AtomicUsize,
}

async fn created(r: reqwest::Response, what: &str) -> Value {
    let st = r.status();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    assert!(st.is_success(), "setup: {what}: {st} {body}");
    body
}

impl World {
    async fn new(s: &TestServer) -> Self {
        let info: Value = s.admin_get("/issuer").await.json().await.unwrap();
        let es256 = KeyPair::generate().unwrap();
        let rs256 = rsa_key();
        let oidc_ec = KeyPair::generate().unwrap();
        let oidc_rs = rsa_key();
        let attacker_ec = KeyPair::generate().unwrap();
        let attacker_rs = rsa_key();
        let mut ap = CertificateParams::new(vec!["attacker.example".to_owned()]).unwrap();
        ap.distinguished_name
            .push(DnType::CommonName, "Hostile Root CA");
        let attacker_cert_der = ap.self_signed(&attacker_ec).unwrap().der().to_vec();
        let oidc = loopback(
            json!({"keys": [ec_jwk(&oidc_ec, Some("k1")), rsa_jwk(&oidc_rs, Some("k2"))]}),
        )
        .await;
        let attacker = loopback(
            json!({"keys": [ec_jwk(&attacker_ec, Some("k1")), rsa_jwk(&attacker_rs, Some("k2")),
            ec_jwk(&attacker_ec, Some("attacker"))]}),
        )
        .await;
        let mut w = Self {
            token_url: info["token_endpoint"].as_str().unwrap().to_owned(),
            issuer: info["issuer"].as_str().unwrap().to_owned(),
            instance_id: info["instance_id"].as_str().unwrap().to_owned(),
            clients: HashMap::new(),
            secret: String::new(),
            hmac_secret: String::new(),
            writ_token: String::new(),
            es256,
            rs256,
            oidc_ec,
            oidc_rs,
            attacker_ec,
            attacker_rs,
            attacker_cert_der,
            oidc,
            attacker,
            pki: Pki::new(),
            aws: CloudSigner::new(KeyKind::Dsa),
            alibaba: CloudSigner::new(KeyKind::Rsa),
            rogue_aws: CloudSigner::new(KeyKind::Dsa),
            rogue_alibaba: CloudSigner::new(KeyKind::Rsa),
            providers: HashMap::new(),
            next_credential: AtomicUsize::new(0),
        };
        assert_eq!(w.token_url, s.token_url());
        w.tenant(s).await;
        let t = s
            .token(&w.clients["secret"].client_id, &w.secret, SCOPE)
            .await;
        w.writ_token = t["access_token"].as_str().unwrap().to_owned();
        w
    }

    async fn client(&mut self, s: &TestServer, name: &str, agent: bool) -> String {
        let (collection, body) = if agent {
            (
                "agents",
                json!({"name": format!("hostile-{name}"), "owner": "red-team"}),
            )
        } else {
            (
                "m2m-applications",
                json!({"name": format!("hostile-{name}")}),
            )
        };
        let c = created(s.admin_post(&format!("/{collection}"), body).await, name).await;
        let id = c["id"].as_str().unwrap().to_owned();
        self.clients.insert(
            name.to_owned(),
            Client {
                id: id.clone(),
                client_id: c["client_id"].as_str().unwrap().to_owned(),
                collection,
            },
        );
        id
    }

    fn path_of(&self, name: &str) -> String {
        let c = &self.clients[name];
        format!("/{}/{}", c.collection, c.id)
    }

    async fn credential(&self, s: &TestServer, client: &str, body: Value) {
        created(
            s.admin_post(
                &format!("{}/federated-credentials", self.path_of(client)),
                body,
            )
            .await,
            client,
        )
        .await;
    }

    async fn provider(&mut self, s: &TestServer, key: &'static str, body: Value) {
        let p = created(
            s.admin_post("/federated-credential-providers", body).await,
            key,
        )
        .await;
        self.providers
            .insert(key, p["id"].as_str().unwrap().to_owned());
    }

    /// Clients of every kind, each granted `read` on the corpus's API.
    async fn tenant(&mut self, s: &TestServer) {
        let rs = created(
            s.admin_post(
                "/resource-servers",
                json!({"name": "Hostile API", "audience": AUDIENCE, "permissions": ["read", "write"]}),
            )
            .await,
            "resource server",
        )
        .await;

        let id = self.client(s, "secret", true).await;
        let r = created(
            s.admin_post(&format!("/agents/{id}/client-secrets"), json!({}))
                .await,
            "secret",
        )
        .await;
        self.secret = r["client_secret"].as_str().unwrap().to_owned();

        let id = self.client(s, "hmac", true).await;
        let r = created(
            s.admin_post(
                &format!("/agents/{id}/client-secrets"),
                json!({"allow_client_secret_jwt": true}),
            )
            .await,
            "hmac secret",
        )
        .await;
        self.hmac_secret = r["client_secret"].as_str().unwrap().to_owned();

        let id = self.client(s, "es256", true).await;
        created(
            s.admin_post(
                &format!("/agents/{id}/public-keys"),
                json!({"pem": self.es256.public_key_pem()}),
            )
            .await,
            "es256 key",
        )
        .await;
        let id = self.client(s, "rs256", true).await;
        created(
            s.admin_post(
                &format!("/agents/{id}/public-keys"),
                json!({"jwk": rsa_jwk(&self.rs256, None)}),
            )
            .await,
            "rs256 key",
        )
        .await;

        self.provider(
            s,
            "pca",
            json!({"type": "pca", "name": "hostile-pca",
            "root_certificate": self.pki.root.pem, "intermediate_certificates": [self.pki.intermediate.pem]}),
        )
        .await;
        self.client(s, "pca", false).await;
        self.credential(
            s,
            "pca",
            json!({"type": "pca", "provider_id": self.providers["pca"], "name": "pca-cert",
            "verification": {"mode": "certificate", "cn": LEAF_CN}}),
        )
        .await;

        self.provider(
            s,
            "oidc",
            json!({"type": "oidc", "name": "hostile-oidc", "issuer": self.oidc.url,
            "audience": OIDC_AUDIENCE, "allow_insecure_local_endpoints": true}),
        )
        .await;
        self.client(s, "oidc", false).await;
        self.credential(
            s,
            "oidc",
            json!({"type": "oidc", "provider_id": self.providers["oidc"], "name": "oidc-k8s",
            "verification": {"mode": "kubernetes", "namespace": "payments", "service_account": "billing-bot"}}),
        )
        .await;

        self.provider(
            s,
            "aws",
            json!({"type": "pkcs7", "name": "hostile-ec2", "trust_source": "aws_ec2",
            "verification_certificate": self.aws.cert_pem, "account_id": AWS_ACCOUNT,
            "max_document_age_seconds": 7 * 86_400}),
        )
        .await;
        self.client(s, "aws", false).await;
        self.credential(
            s,
            "aws",
            json!({"type": "pkcs7", "provider_id": self.providers["aws"], "name": "ec2-instance",
            "verification": {"mode": "cloud_server", "instance_id": AWS_INSTANCE}}),
        )
        .await;

        self.provider(
            s,
            "alibaba",
            json!({"type": "pkcs7", "name": "hostile-ecs", "trust_source": "alibaba_cloud_ecs",
            "verification_certificate": self.alibaba.cert_pem, "account_id": ALIBABA_ACCOUNT}),
        )
        .await;
        self.client(s, "alibaba", true).await;
        self.credential(
            s,
            "alibaba",
            json!({"type": "pkcs7", "provider_id": self.providers["alibaba"], "name": "ecs-instance",
            "verification": {"mode": "cloud_server", "instance_id": ALIBABA_INSTANCE}}),
        )
        .await;

        // A client with no credential of its own (another "other client").
        self.client(s, "expr", false).await;

        let rs_id = rs["id"].as_str().unwrap();
        for c in self.clients.values() {
            created(
                s.admin_post(
                    &format!("/resource-servers/{rs_id}/grants"),
                    json!({"client_id": c.client_id, "permissions": ["read"]}),
                )
                .await,
                "grant",
            )
            .await;
        }
    }

    // -- templates --------------------------------------------------------

    /// Expands `${…}` in a string: `now`, `now+N`, `now-N`, `client_id:<c>`
    /// (and `client_id_homoglyph:<c>`), `app_id:<c>`, `provider_id:<p>`,
    /// `secret` (and `secret_homoglyph`), `writ_token` (an access token Writ
    /// issued), `basic_self`, `basic_other`,
    /// `basic_no_colon` (Basic credentials, base64), `token_url` (and
    /// `token_url_http`, `token_url_slash`, `token_url_upper`), `jwks_url`,
    /// `issuer`, `instance_id`, `oidc_issuer` (and `oidc_issuer_https`),
    /// `attacker_url`, `attacker_cert` (base64 DER), `attacker_x` / `attacker_y`
    /// (its public point), `oidc_ec_jwk` (JSON text), `scope`, `audience`,
    /// `root_pem`, `intermediate_pem`, `leaf_pem`, `repeat:N:text`.
    /// Unknown names (like `${assertion}`) are left for later.
    fn expand(&self, s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(at) = rest.find("${") {
            out.push_str(&rest[..at]);
            let after = &rest[at + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[at..]);
                return out;
            };
            let key = &after[..end];
            match self.lookup(key) {
                Some(v) => out.push_str(&v),
                None => {
                    out.push_str("${");
                    out.push_str(key);
                    out.push('}');
                }
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out
    }

    fn lookup(&self, key: &str) -> Option<String> {
        let (name, arg) = key.split_once(':').unwrap_or((key, ""));
        Some(match name {
            "now" => now().to_string(),
            _ if key.starts_with("now+") => (now() + key[4..].parse::<i64>().ok()?).to_string(),
            _ if key.starts_with("now-") => (now() - key[4..].parse::<i64>().ok()?).to_string(),
            "client_id" => self.clients.get(arg)?.client_id.clone(),
            "app_id" => self.path_of(arg),
            "provider_id" => self.providers.get(arg)?.clone(),
            "client_id_homoglyph" => homoglyph(&self.clients.get(arg)?.client_id),
            "secret" => self.secret.clone(),
            "writ_token" => self.writ_token.clone(),
            "secret_homoglyph" => homoglyph(&self.secret),
            "basic_self" => STANDARD.encode(format!(
                "{}:{}",
                self.clients["secret"].client_id, self.secret
            )),
            "basic_other" => STANDARD.encode(format!(
                "{}:{}",
                self.clients["es256"].client_id, self.secret
            )),
            "basic_no_colon" => STANDARD.encode(format!(
                "{}{}",
                self.clients["secret"].client_id, self.secret
            )),
            "token_url" => self.token_url.clone(),
            "token_url_http" => self.token_url.replacen("https://", "http://", 1),
            "token_url_slash" => format!("{}/", self.token_url),
            "token_url_upper" => self.token_url.to_uppercase(),
            "jwks_url" => format!("{}/jwks", self.issuer),
            "issuer" => self.issuer.clone(),
            "instance_id" => self.instance_id.clone(),
            "oidc_issuer" => self.oidc.url.clone(),
            "oidc_issuer_https" => self.oidc.url.replacen("http://", "https://", 1),
            "attacker_url" => self.attacker.url.clone(),
            "scope" => SCOPE.to_owned(),
            "audience" => AUDIENCE.to_owned(),
            "root_pem" => self.pki.root.pem.clone(),
            "intermediate_pem" => self.pki.intermediate.pem.clone(),
            "leaf_pem" => self.pki.variants["good"].leaf.clone(),
            "attacker_cert" => STANDARD.encode(&self.attacker_cert_der),
            "oidc_ec_jwk" => ec_jwk(&self.oidc_ec, Some("k1")).to_string(),
            "attacker_x" => ec_jwk(&self.attacker_ec, None)["x"].as_str()?.to_owned(),
            "attacker_y" => ec_jwk(&self.attacker_ec, None)["y"].as_str()?.to_owned(),
            "repeat" => {
                let (n, text) = arg.split_once(':')?;
                text.repeat(n.parse().ok()?)
            }
            _ => return None,
        })
    }

    /// A value from the data with its specials resolved: strings expanded;
    /// `{"$now": N}` → now + N; `{"$rfc3339": N}` → now + N as RFC 3339;
    /// `{"$repeat": s, "times": N}` (`${seq}` in `s` counts 0, 1, …);
    /// `{"$array": v, "times": N}`;
    /// `{"$concat": [..]}` (strings joined);
    /// `{"$null": true}` → null (a member set to null, not removed).
    fn resolve(&self, v: &Value) -> Value {
        match v {
            Value::String(s) => Value::String(self.expand(s)),
            Value::Array(a) => Value::Array(a.iter().map(|x| self.resolve(x)).collect()),
            Value::Object(m) => {
                if let Some(n) = m.get("$now").and_then(Value::as_i64) {
                    return json!(now() + n);
                }
                if let Some(n) = m.get("$rfc3339").and_then(Value::as_i64) {
                    return json!(rfc3339(now() + n));
                }
                if let Some(s) = m.get("$repeat") {
                    let times = m["times"].as_u64().expect("$repeat needs times") as usize;
                    let text = self.text(s);
                    if !text.contains("${seq}") {
                        return json!(text.repeat(times));
                    }
                    let numbered: String = (0..times)
                        .map(|i| text.replace("${seq}", &i.to_string()))
                        .collect();
                    return json!(numbered);
                }
                if let Some(item) = m.get("$array") {
                    let times = m["times"].as_u64().expect("$array needs times") as usize;
                    return Value::Array(vec![self.resolve(item); times]);
                }
                if let Some(Value::Array(parts)) = m.get("$concat") {
                    return json!(parts.iter().map(|p| self.text(p)).collect::<String>());
                }
                if m.contains_key("$null") {
                    return Value::Null;
                }
                Value::Object(
                    m.iter()
                        .map(|(k, v)| (self.expand(k), self.resolve(v)))
                        .collect(),
                )
            }
            other => other.clone(),
        }
    }

    /// A string spec as text.
    fn text(&self, v: &Value) -> String {
        match self.resolve(v) {
            Value::String(s) => s,
            other => other.to_string(),
        }
    }

    /// A patch with its values resolved; `null` stays (it removes).
    fn patch(&self, m: &Map<String, Value>) -> Map<String, Value> {
        m.iter()
            .map(|(k, v)| {
                let v = if v.is_null() {
                    Value::Null
                } else {
                    match self.resolve(v) {
                        // `{"$null": true}`: keep the member, as JSON null.
                        Value::Null => json!({"$keep_null": true}),
                        x => x,
                    }
                };
                (k.clone(), v)
            })
            .collect()
    }

    /// `sign_with` names: a registered key (`es256`, `rs256`, `oidc_ec`,
    /// `oidc_rs`, `leaf`), an attacker's (`attacker_ec`, `attacker_rs`),
    /// `none` (empty signature), or `hmac:<what>` keyed with public
    /// material: `es256_pem`, `es256_spki_der`, `es256_jwk`, `rs256_pem`,
    /// `rs256_pkcs1_der`, `rs256_jwk`, `oidc_ec_jwk`, `oidc_rs_pem`,
    /// `oidc_jwks`, `leaf_cert_pem`, `leaf_spki_pem`, `secret`, `client_id`,
    /// `empty`.
    fn sign_key(&self, name: &str) -> SignKey {
        if let Some(what) = name.strip_prefix("hmac:") {
            let key: Vec<u8> = match what {
                "es256_pem" => self.es256.public_key_pem().into_bytes(),
                "es256_spki_der" => self.es256.subject_public_key_info(),
                "es256_jwk" => ec_jwk(&self.es256, None).to_string().into_bytes(),
                "rs256_pem" => rsa_spki_pem(&self.rs256).into_bytes(),
                "rs256_pkcs1_der" => self.rs256.public_key().as_ref().to_vec(),
                "rs256_jwk" => rsa_jwk(&self.rs256, None).to_string().into_bytes(),
                "oidc_ec_jwk" => ec_jwk(&self.oidc_ec, Some("k1")).to_string().into_bytes(),
                "oidc_rs_pem" => rsa_spki_pem(&self.oidc_rs).into_bytes(),
                "oidc_jwks" => json!({"keys": [ec_jwk(&self.oidc_ec, Some("k1")), rsa_jwk(&self.oidc_rs, Some("k2"))]})
                    .to_string()
                    .into_bytes(),
                "leaf_cert_pem" => self.pki.variants["good"].leaf.clone().into_bytes(),
                "leaf_spki_pem" => self.pki.leaf_pair.public_key_pem().into_bytes(),
                "secret" => self.secret.clone().into_bytes(),
                "client_id" => self.clients["hmac"].client_id.clone().into_bytes(),
                "empty" => Vec::new(),
                other => panic!("unknown hmac key '{other}'"),
            };
            return SignKey::Hmac(key);
        }
        match name {
            "es256" => SignKey::ec(&self.es256),
            "rs256" => SignKey::Rsa(self.rs256.clone()),
            "oidc_ec" => SignKey::ec(&self.oidc_ec),
            "oidc_rs" => SignKey::Rsa(self.oidc_rs.clone()),
            "leaf" => self.pki.variants["good"].key.clone(),
            "attacker_ec" => SignKey::ec(&self.attacker_ec),
            "attacker_rs" => SignKey::Rsa(self.attacker_rs.clone()),
            "hmac_secret" => SignKey::Hmac(self.hmac_secret.clone().into_bytes()),
            "none" => SignKey::Empty,
            other => panic!("unknown key '{other}'"),
        }
    }

    // -- base requests ----------------------------------------------------

    /// A client assertion as the SDK makes it (RFC 7523).
    fn assertion_claims(&self, client_id: &str) -> Value {
        json!({"iss": client_id, "sub": client_id, "aud": self.token_url,
            "jti": uuid::Uuid::new_v4().to_string(), "iat": now(), "exp": now() + 600})
    }

    fn base(&self, name: &str) -> Req {
        let mut r = Req::new(&self.token_url);
        let cid = |c: &str| self.clients[c].client_id.clone();
        match name {
            "empty" => {}
            "secret_post" => {
                r.set("grant_type", "client_credentials");
                r.set("client_id", &cid("secret"));
                r.set("client_secret", &self.secret);
                r.set("scope", SCOPE);
            }
            "secret_basic" => {
                r.basic(&cid("secret"), &self.secret);
                r.set("grant_type", "client_credentials");
                r.set("client_id", &cid("secret"));
                r.set("scope", SCOPE);
            }
            "client_secret_jwt" | "pkjwt_es256" | "pkjwt_rs256" => {
                let (client, alg, key) = match name {
                    "client_secret_jwt" => ("hmac", "HS256", self.sign_key("hmac_secret")),
                    "pkjwt_es256" => ("es256", "ES256", SignKey::ec(&self.es256)),
                    _ => ("rs256", "RS256", SignKey::Rsa(self.rs256.clone())),
                };
                r.set("grant_type", "client_credentials");
                r.set("client_id", &cid(client));
                r.set("scope", SCOPE);
                r.set("client_assertion_type", JWT_BEARER);
                r.set("client_assertion", ASSERTION);
                r.jwt = Some(Jwt::new(
                    json!({"alg": alg, "typ": "JWT"}),
                    self.assertion_claims(&cid(client)),
                    key,
                ));
            }
            "pca" => {
                let p = &self.pki.variants["good"];
                r.set("grant_type", "client_credentials");
                r.set("client_id", &cid("pca"));
                r.set("scope", SCOPE);
                r.set("client_assertion_type", PCA_TYPE);
                r.set("client_assertion", ASSERTION);
                r.set("application_federated_credential_name", "pca-cert");
                r.set("client_x509", &p.leaf);
                r.set("client_x509_chain", &p.chain);
                r.jwt = Some(Jwt::new(
                    json!({"alg": "ES256", "typ": "JWT"}),
                    self.assertion_claims(&cid("pca")),
                    p.key.clone(),
                ));
            }
            "oidc" => {
                r.set("grant_type", "client_credentials");
                r.set("client_id", &cid("oidc"));
                r.set("scope", SCOPE);
                r.set("client_assertion_type", OIDC_TYPE);
                r.set("client_assertion", ASSERTION);
                r.set("application_federated_credential_name", "oidc-k8s");
                r.jwt = Some(Jwt::new(
                    json!({"alg": "ES256", "typ": "JWT", "kid": "k1"}),
                    json!({"iss": self.oidc.url, "aud": [OIDC_AUDIENCE], "sub": K8S_SUB,
                        "iat": now(), "nbf": now(), "exp": now() + 600,
                        "kubernetes.io": {"namespace": "payments",
                            "serviceaccount": {"name": "billing-bot", "uid": "8d9e6c1a-0000-4000-8000-000000000001"}}}),
                    SignKey::ec(&self.oidc_ec),
                ));
            }
            "pkcs7_aws" | "pkcs7_alibaba" => {
                let aws = name == "pkcs7_aws";
                r.set("grant_type", "client_credentials");
                r.set("client_id", &cid(if aws { "aws" } else { "alibaba" }));
                r.set("scope", SCOPE);
                r.set("client_assertion_type", PKCS7_TYPE);
                r.set("client_assertion", ASSERTION);
                r.set(
                    "application_federated_credential_name",
                    if aws { "ec2-instance" } else { "ecs-instance" },
                );
                r.doc = Some(if aws {
                    Doc {
                        kind: CloudKind::Aws,
                        json: json!({"accountId": AWS_ACCOUNT, "instanceId": AWS_INSTANCE,
                            "region": "eu-west-1", "availabilityZone": "eu-west-1a",
                            "instanceType": "m7g.large", "architecture": "arm64",
                            "imageId": "ami-0123456789abcdef0",
                            "pendingTime": rfc3339(now() - 86_400), "version": "2017-09-30"}),
                        audience: None,
                        raw: None,
                        signed_instead: None,
                        ops: Vec::new(),
                    }
                } else {
                    Doc {
                        kind: CloudKind::Alibaba,
                        json: json!({"instance-id": ALIBABA_INSTANCE, "owner-account-id": ALIBABA_ACCOUNT,
                            "region-id": "cn-hangzhou", "zone-id": "cn-hangzhou-h",
                            "instance-type": "ecs.g7.large", "serial-number": "4acd2b47-b328-4762-852f-998"}),
                        audience: Some(json!({"aud": self.instance_id, "signingTime": now()})),
                        raw: None,
                        signed_instead: None,
                        ops: Vec::new(),
                    }
                });
            }
            other => panic!("unknown base '{other}'"),
        }
        r
    }

    /// Applies a mutation to a base request (see [`Mutation`]).
    fn mutate(&self, base: &str, r: &mut Req, m: &Mutation) {
        if let Some(other) = &m.as_client {
            let other_id = self.clients[other].client_id.clone();
            match base {
                "secret_basic" => {
                    r.basic(&other_id, &self.secret);
                    r.set("client_id", &other_id);
                }
                "client_secret_jwt" | "pkjwt_es256" | "pkjwt_rs256" => {
                    let j = r.jwt.as_mut().unwrap();
                    j.claims["iss"] = json!(other_id);
                    j.claims["sub"] = json!(other_id);
                    r.set("client_id", &other_id);
                }
                _ => r.set("client_id", &other_id),
            }
        }
        if let Some(v) = &m.pca_chain {
            let p = self
                .pki
                .variants
                .get(v.as_str())
                .unwrap_or_else(|| panic!("unknown pca_chain '{v}'"));
            r.set("client_x509", &p.leaf);
            r.set("client_x509_chain", &p.chain);
            r.jwt.as_mut().expect("a PCA base").key = p.key.clone();
        }
        let jwt_fields = m.jwt_header.is_some()
            || m.jwt_claims.is_some()
            || m.jwt_header_raw.is_some()
            || m.jwt_claims_raw.is_some()
            || m.sign_with.is_some()
            || m.jwt_swap_header.is_some()
            || m.jwt_swap_claims.is_some()
            || !m.token.is_empty();
        if jwt_fields {
            let j = r
                .jwt
                .as_mut()
                .unwrap_or_else(|| panic!("base '{base}' has no JWT to mutate"));
            if let Some(p) = &m.jwt_header {
                merge_kept(&mut j.header, &self.patch(p));
            }
            if let Some(p) = &m.jwt_claims {
                merge_kept(&mut j.claims, &self.patch(p));
            }
            if let Some(raw) = &m.jwt_header_raw {
                j.header_raw = Some(self.text(raw));
            }
            if let Some(raw) = &m.jwt_claims_raw {
                j.claims_raw = Some(self.text(raw));
            }
            if let Some(k) = &m.sign_with {
                j.key = self.sign_key(k);
            }
            if let Some(p) = &m.jwt_swap_header {
                let mut h = j.header.clone();
                merge_kept(&mut h, &self.patch(p));
                j.swap_header = Some(h);
            }
            if let Some(p) = &m.jwt_swap_claims {
                let mut c = j.claims.clone();
                merge_kept(&mut c, &self.patch(p));
                j.swap_claims = Some(c);
            }
            j.ops.extend(m.token.iter().cloned());
        }
        let doc_fields = m.doc.is_some()
            || m.doc_audience.is_some()
            || m.doc_raw.is_some()
            || m.pkcs7_signed_instead.is_some()
            || !m.pkcs7.is_empty();
        if doc_fields {
            let d = r
                .doc
                .as_mut()
                .unwrap_or_else(|| panic!("base '{base}' has no PKCS#7 document to mutate"));
            if let Some(p) = &m.doc {
                let p = self.patch(p);
                if p.contains_key("audience") {
                    d.audience = None;
                }
                merge_kept(&mut d.json, &p);
            }
            if let Some(p) = &m.doc_audience {
                merge_kept(
                    d.audience.as_mut().expect("an Alibaba document"),
                    &self.patch(p),
                );
            }
            if let Some(raw) = &m.doc_raw {
                d.raw = Some(self.text(raw));
            }
            if let Some(p) = &m.pkcs7_signed_instead {
                d.signed_instead = Some(self.patch(p));
            }
            d.ops.extend(m.pkcs7.iter().cloned());
        }
        if let Some((user, password)) = &m.basic {
            r.basic(&self.text(user), &self.text(password));
        }
        if let Some(f) = &m.form {
            for (k, v) in f {
                if v.is_null() {
                    r.form.retain(|(name, _)| name != k);
                } else {
                    r.set(k, &self.text(v));
                }
            }
        }
        for k in &m.form_repeat {
            let v = r
                .form
                .iter()
                .find(|(name, _)| name == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| panic!("no '{k}' to repeat"));
            r.form.push((k.clone(), v));
        }
        for (k, v) in &m.form_add {
            r.form.push((k.clone(), self.text(v)));
        }
        if let Some(raw) = &m.form_append_raw {
            r.raw_suffix.push_str(&self.text(raw));
        }
        if let Some(h) = &m.headers {
            for (name, v) in h {
                r.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
                match v {
                    Value::Null => {}
                    Value::Array(list) => {
                        for x in list {
                            r.headers.push((name.clone(), self.text(x).into_bytes()));
                        }
                    }
                    x => r.headers.push((name.clone(), self.text(x).into_bytes())),
                }
            }
        }
        if let Some(ct) = &m.content_type {
            r.content_type = match ct {
                Value::Null => None,
                x => Some(self.text(x)),
            };
        }
        if let Some(b) = &m.body {
            r.body = Some(self.text(b).into_bytes());
        }
        if let Some(n) = m.body_bytes {
            r.body = Some(vec![b'a'; n]);
        }
        if let Some(method) = &m.method {
            r.method = method.clone();
        }
    }

    /// A base request with a mutation, ready to send.
    fn build(&self, base: &str, m: &Mutation) -> Req {
        let mut r = self.base(base);
        self.mutate(base, &mut r, m);
        r
    }
}

/// Merges a resolved patch: `null` removes, `{"$keep_null": true}` sets null.
fn merge_kept(target: &mut Value, patch: &Map<String, Value>) {
    let obj = target.as_object_mut().expect("an object to merge into");
    for (k, v) in patch {
        if v.is_null() {
            obj.remove(k);
        } else if v.get("$keep_null").is_some() {
            obj.insert(k.clone(), Value::Null);
        } else {
            obj.insert(k.clone(), v.clone());
        }
    }
}

/// The same text with Latin letters swapped for Cyrillic look-alikes.
fn homoglyph(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'a' => '\u{430}',
            'c' => '\u{441}',
            'e' => '\u{435}',
            'o' => '\u{43e}',
            'p' => '\u{440}',
            'x' => '\u{445}',
            'y' => '\u{443}',
            c => c,
        })
        .collect()
}

fn rfc3339(t: i64) -> String {
    // Days since 1970-01-01 to a civil date (H. Hinnant's algorithm).
    let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3_600,
        secs % 3_600 / 60,
        secs % 60
    )
}

// ---------------------------------------------------------------------------
// Requests.

#[derive(Clone)]
struct Req {
    method: String,
    url: String,
    headers: Vec<(String, Vec<u8>)>,
    content_type: Option<String>,
    form: Vec<(String, String)>,
    raw_suffix: String,
    /// Replaces the form.
    body: Option<Vec<u8>>,
    jwt: Option<Jwt>,
    doc: Option<Doc>,
}

impl Req {
    fn new(url: &str) -> Self {
        Self {
            method: "POST".into(),
            url: url.to_owned(),
            headers: Vec::new(),
            content_type: Some("application/x-www-form-urlencoded".into()),
            form: Vec::new(),
            raw_suffix: String::new(),
            body: None,
            jwt: None,
            doc: None,
        }
    }

    /// Sets the first occurrence of a form parameter, or appends it.
    fn set(&mut self, k: &str, v: &str) {
        match self.form.iter_mut().find(|(name, _)| name == k) {
            Some(slot) => slot.1 = v.to_owned(),
            None => self.form.push((k.to_owned(), v.to_owned())),
        }
    }

    /// `Authorization: Basic` exactly as the SDK sends it.
    fn basic(&mut self, id: &str, secret: &str) {
        self.headers
            .retain(|(n, _)| !n.eq_ignore_ascii_case("authorization"));
        self.headers.push((
            "authorization".into(),
            format!("Basic {}", STANDARD.encode(format!("{id}:{secret}"))).into_bytes(),
        ));
    }

    /// The signed artifact (made now) in place of `${assertion}`, and the body.
    fn body_bytes(&self, w: &World) -> Vec<u8> {
        if let Some(b) = &self.body {
            return b.clone();
        }
        let artifact = match (&self.jwt, &self.doc) {
            (Some(j), _) => Some(j.compact()),
            (None, Some(d)) => Some(d.encode(w)),
            _ => None,
        };
        let pairs: Vec<(String, String)> = self
            .form
            .iter()
            .map(|(k, v)| {
                let v = match &artifact {
                    Some(a) => v.replace(ASSERTION, a),
                    None => v.clone(),
                };
                (k.clone(), v)
            })
            .collect();
        let mut body = serde_urlencoded::to_string(&pairs).unwrap();
        body.push_str(&self.raw_suffix);
        body.into_bytes()
    }

    /// The exact bytes to send (artifacts are made here, once).
    fn finish(&self, w: &World) -> Wire {
        let mut headers = self.headers.clone();
        if let Some(ct) = &self.content_type {
            headers.push(("content-type".into(), ct.clone().into_bytes()));
        }
        Wire {
            method: self.method.clone(),
            url: self.url.clone(),
            headers,
            body: self.body_bytes(w),
        }
    }
}

#[derive(Clone)]
struct Wire {
    method: String,
    url: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

#[derive(Clone)]
struct Answer {
    status: u16,
    body: Vec<u8>,
    elapsed: Duration,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    fn summary(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let text: String = text.chars().take(240).collect();
        format!("{} {} ({} ms)", self.status, text, self.elapsed.as_millis())
    }
}

async fn send(http: &reqwest::Client, w: &Wire) -> Result<Answer, String> {
    use reqwest::header::{HeaderName, HeaderValue};
    let method = reqwest::Method::from_bytes(w.method.as_bytes()).unwrap();
    let mut rb = http
        .request(method, &w.url)
        .timeout(Duration::from_secs(30));
    for (n, v) in &w.headers {
        rb = rb.header(
            HeaderName::from_bytes(n.as_bytes()).unwrap(),
            HeaderValue::from_bytes(v).unwrap(),
        );
    }
    let rb = rb.body(w.body.clone());
    let t0 = Instant::now();
    let r = rb
        .send()
        .await
        .map_err(|e| format!("no HTTP answer: {e}"))?;
    let status = r.status().as_u16();
    let body = r
        .bytes()
        .await
        .map_err(|e| format!("body not read: {e}"))?
        .to_vec();
    Ok(Answer {
        status,
        body,
        elapsed: t0.elapsed(),
    })
}

fn admin_wire(w: &World, base: &str, spec: &AdminSpec) -> Wire {
    let body = match (&spec.body, &spec.body_raw) {
        (_, Some(raw)) => w.text(raw).into_bytes(),
        (Some(b), None) => w.resolve(b).to_string().into_bytes(),
        (None, None) => Vec::new(),
    };
    Wire {
        method: spec.method.clone(),
        url: format!("{base}/api/admin/v1{}", w.expand(&spec.path)),
        headers: vec![
            (
                "authorization".into(),
                format!("Bearer {}", common::ADMIN_TOKEN).into_bytes(),
            ),
            ("content-type".into(), b"application/json".to_vec()),
        ],
        body,
    }
}

// ---------------------------------------------------------------------------
// Judging.

/// A refusal as the issue requires it: a 4xx, an OAuth error body
/// (`error`, `error_description`), no `access_token`, and, when the case
/// names them, the expected status and `error`.
fn judge(a: &Answer, expect: &Expect) -> Result<(), String> {
    let body = a.json();
    if body.get("access_token").is_some()
        || String::from_utf8_lossy(&a.body).contains("access_token")
    {
        return Err(format!("A TOKEN WAS ISSUED: {}", a.summary()));
    }
    if !(400..500).contains(&a.status) {
        return Err(format!("not a 4xx: {}", a.summary()));
    }
    let error = body.get("error").and_then(Value::as_str);
    if error.is_none() || !body.get("error_description").is_some_and(Value::is_string) {
        return Err(format!("not an OAuth error body: {}", a.summary()));
    }
    if let Some(st) = expect.status
        && st != a.status
    {
        return Err(format!("expected {st}: {}", a.summary()));
    }
    if let Some(e) = &expect.error
        && Some(e.as_str()) != error
    {
        return Err(format!("expected error '{e}': {}", a.summary()));
    }
    Ok(())
}

/// What a passing case saw: the median time and the last answer.
type Passed = (Duration, String);

/// Judges every attempt, then the median time.
fn verdict(answers: &[Answer], expect: &Expect) -> Result<Passed, String> {
    for a in answers {
        judge(a, expect)?;
    }
    let mut times: Vec<Duration> = answers.iter().map(|a| a.elapsed).collect();
    times.sort();
    let median = times[times.len() / 2];
    if median > BUDGET {
        return Err(format!(
            "too slow: median {} ms > {} ms (attempts: {:?} ms); last: {}",
            median.as_millis(),
            BUDGET.as_millis(),
            answers
                .iter()
                .map(|a| a.elapsed.as_millis())
                .collect::<Vec<_>>(),
            answers.last().map(Answer::summary).unwrap_or_default()
        ));
    }
    Ok((
        median,
        answers.last().map(Answer::summary).unwrap_or_default(),
    ))
}

// ---------------------------------------------------------------------------
// Cases.

struct Expanded {
    category: String,
    name: String,
    base: Option<String>,
    mutation: Mutation,
    replay: Option<Mutation>,
    expr: Option<ExprSpec>,
    admin: Option<AdminSpec>,
    expect: Expect,
    known_bug: Option<String>,
}

fn own_client(base: &str) -> &'static str {
    BASES
        .iter()
        .find(|(b, _)| *b == base)
        .map(|(_, c)| *c)
        .unwrap_or_else(|| panic!("'{base}' is not a base with a client"))
}

fn load_cases() -> Vec<Expanded> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hostile");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let category = f.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&f).unwrap();
        let file: CaseFile =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        for c in file.cases {
            let mut labels_seen = std::collections::HashSet::new();
            let mut bases: Vec<Option<String>> = c.bases.iter().cloned().map(Some).collect();
            if let Some(b) = &c.base {
                bases.push(Some(b.clone()));
            }
            if bases.is_empty() {
                bases.push(None);
            }
            for b in bases {
                let mut variants = vec![(None, c.mutation.clone())];
                if !c.as_clients.is_empty() {
                    let base = b.as_deref().expect("as_clients needs a base");
                    variants = c
                        .as_clients
                        .iter()
                        .filter(|other| *other != own_client(base))
                        .map(|other| {
                            let mut m = c.mutation.clone();
                            m.as_client = Some(other.clone());
                            (Some(other.clone()), m)
                        })
                        .collect();
                }
                for (other, mutation) in variants {
                    let label = match (&b, &other) {
                        (Some(b), Some(o)) => Some(format!("{b} as {o}")),
                        (Some(b), None) => Some(b.clone()),
                        _ => None,
                    };
                    let name = match &label {
                        Some(l) => format!("{} [{l}]", c.name),
                        None => c.name.clone(),
                    };
                    if let Some(l) = &label {
                        labels_seen.insert(l.clone());
                    }
                    let known_bug = c
                        .known_bug
                        .clone()
                        .or_else(|| label.as_ref().and_then(|l| c.known_bug_for.get(l).cloned()));
                    out.push(Expanded {
                        category: category.clone(),
                        name,
                        base: b.clone(),
                        mutation,
                        replay: c.replay.clone(),
                        expr: c.expr.clone(),
                        admin: c.admin.clone(),
                        expect: c.expect.clone(),
                        known_bug,
                    });
                }
            }
            for k in c.known_bug_for.keys() {
                assert!(
                    labels_seen.contains(k),
                    "{}: known_bug_for names '{k}', which is not a variant of '{}'",
                    f.display(),
                    c.name
                );
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    for c in &out {
        if let Some(k) = &c.known_bug {
            assert!(!k.trim().is_empty(), "{}: empty known_bug", c.name);
        }
        assert!(
            seen.insert(format!("{}/{}", c.category, c.name)),
            "duplicate case name: {}/{}",
            c.category,
            c.name
        );
    }
    out
}

/// Sends a freshly built request `ATTEMPTS` times.
async fn attempts(s: &TestServer, make: impl Fn() -> Wire) -> Result<Vec<Answer>, String> {
    let mut out = Vec::new();
    for _ in 0..ATTEMPTS {
        out.push(send(&s.http, &make()).await?);
    }
    Ok(out)
}

async fn run_case(s: &TestServer, w: &World, c: &Expanded) -> Result<Passed, String> {
    if let Some(spec) = &c.admin {
        let wire = admin_wire(w, &s.base, spec);
        let answers = attempts(s, || wire.clone()).await?;
        return verdict(&answers, &c.expect);
    }
    let base = c
        .base
        .as_deref()
        .expect("a case names a base, admin or expr");
    if let Some(replay) = &c.replay {
        // Accepted once…
        let first = w.build(base, &c.mutation);
        let wire = first.finish(w);
        let a = send(&s.http, &wire).await?;
        if a.status != 200 {
            return Err(format!(
                "replay setup: the original was not accepted: {}",
                a.summary()
            ));
        }
        // …then the same artifact again (made once, so the same jti).
        let mut again = wire.clone();
        if replay_changes_request(replay) {
            let mut artifact = extract_assertion(&wire);
            for op in &replay.token {
                assert_eq!(op, "malleate_ecdsa", "a replay can only malleate");
                let (input, sig) = artifact.rsplit_once('.').unwrap();
                let sig = malleate_ecdsa(&B64.decode(sig).unwrap());
                artifact = format!("{input}.{}", B64.encode(sig));
            }
            let mut r = w.build(base, &c.mutation);
            let replay = Mutation {
                token: Vec::new(),
                ..replay.clone()
            };
            w.mutate(base, &mut r, &replay);
            r.jwt = None;
            r.doc = None;
            for (_, v) in r.form.iter_mut() {
                *v = v.replace(ASSERTION, &artifact);
            }
            again = r.finish(w);
        }
        let mut answers = Vec::new();
        for _ in 0..ATTEMPTS {
            answers.push(send(&s.http, &again).await?);
        }
        return verdict(&answers, &c.expect);
    }
    let answers = attempts(s, || w.build(base, &c.mutation).finish(w)).await?;
    verdict(&answers, &c.expect)
}

fn replay_changes_request(m: &Mutation) -> bool {
    m.form.is_some()
        || m.basic.is_some()
        || !m.form_repeat.is_empty()
        || !m.form_add.is_empty()
        || m.headers.is_some()
        || !m.token.is_empty()
}

/// The `client_assertion` a wire request carries.
fn extract_assertion(wire: &Wire) -> String {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&wire.body).unwrap();
    pairs
        .into_iter()
        .find(|(k, _)| k == "client_assertion")
        .map(|(_, v)| v)
        .expect("a client_assertion")
}

// ---------------------------------------------------------------------------
// Expression cases run against a second Writ: the real `writ` binary in a
// process of its own. An expression that overflows the CEL parser's stack
// aborts the whole process (a known bug this corpus found); in-process it
// would take the test runner down with it.

struct Lab {
    child: std::process::Child,
    dir: PathBuf,
    http: reqwest::Client,
    base: String,
    /// The application expression credentials are added to.
    app_path: String,
    app_client_id: String,
    providers: HashMap<&'static str, String>,
}

impl Lab {
    async fn start(w: &World) -> Self {
        use std::process::Stdio;
        let dir = std::env::temp_dir().join(format!(
            "writ-hostile-lab-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_writ"))
            .env("WRIT_DATA_DIR", dir.join("data"))
            .env("WRIT_BIND", format!("127.0.0.1:{port}"))
            .env("WRIT_BOOTSTRAP_ADMIN_TOKEN", common::ADMIN_TOKEN)
            .env("WRIT_ADMIN_PASSWORD", common::ADMIN_PASSWORD)
            .env("WRIT_LOG", "warn")
            .env_remove("WRIT_DATABASE_URL")
            .env_remove("WRIT_MASTER_KEY")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("stderr.log")).unwrap())
            .spawn()
            .expect("the writ binary starts");
        let base = format!("https://localhost:{port}");
        let ca = dir.join("data/ca.pem");
        let deadline = Instant::now() + Duration::from_secs(120);
        let http = loop {
            assert!(Instant::now() < deadline, "the lab Writ did not start");
            if let Ok(pem) = std::fs::read(&ca) {
                let http = reqwest::Client::builder()
                    .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
                    .build()
                    .unwrap();
                let up = http
                    .get(format!("{base}/api/admin/v1/openapi.json"))
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == 200);
                if up {
                    break http;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let mut lab = Self {
            child,
            dir,
            http,
            base,
            app_path: String::new(),
            app_client_id: String::new(),
            providers: HashMap::new(),
        };
        lab.tenant(w).await;
        lab
    }

    async fn admin(&self, w: &World, method: &str, path: &str, body: Value) -> Answer {
        let spec = AdminSpec {
            method: method.into(),
            path: path.into(),
            body: Some(body),
            body_raw: None,
        };
        send(&self.http, &admin_wire(w, &self.base, &spec))
            .await
            .unwrap()
    }

    async fn made(&self, w: &World, path: &str, body: Value) -> Value {
        let a = self.admin(w, "POST", path, body).await;
        assert!(
            (200..300).contains(&a.status),
            "lab setup {path}: {}",
            a.summary()
        );
        a.json()
    }

    /// Providers of each kind an expression may run on (keys pasted, the
    /// same issuer, root and cloud as the main tenant's), one application,
    /// and a credential per kind that passes (the lab's controls).
    async fn tenant(&mut self, w: &World) {
        let jwks =
            json!({"keys": [ec_jwk(&w.oidc_ec, Some("k1")), rsa_jwk(&w.oidc_rs, Some("k2"))]});
        for (key, body) in [
            (
                "oidc",
                json!({"type": "oidc", "name": "lab-oidc", "issuer": w.oidc.url,
                "audience": OIDC_AUDIENCE, "jwks": jwks}),
            ),
            (
                "oidc_tc",
                json!({"type": "oidc", "name": "lab-oidc-tc", "issuer": w.oidc.url,
                "audience": OIDC_AUDIENCE, "jwks": jwks}),
            ),
            (
                "pca",
                json!({"type": "pca", "name": "lab-pca", "root_certificate": w.pki.root.pem,
                "intermediate_certificates": [w.pki.intermediate.pem]}),
            ),
            (
                "aws",
                json!({"type": "pkcs7", "name": "lab-ec2", "trust_source": "aws_ec2",
                "verification_certificate": w.aws.cert_pem, "account_id": AWS_ACCOUNT,
                "max_document_age_seconds": 7 * 86_400}),
            ),
        ] {
            let p = self.made(w, "/federated-credential-providers", body).await;
            self.providers
                .insert(key, p["id"].as_str().unwrap().to_owned());
        }
        let app = self
            .made(w, "/m2m-applications", json!({"name": "hostile-lab"}))
            .await;
        self.app_path = format!("/m2m-applications/{}", app["id"].as_str().unwrap());
        self.app_client_id = app["client_id"].as_str().unwrap().to_owned();
        let rs = self
            .made(
                w,
                "/resource-servers",
                json!({"name": "Hostile API", "audience": AUDIENCE, "permissions": ["read", "write"]}),
            )
            .await;
        self.made(
            w,
            &format!("/resource-servers/{}/grants", rs["id"].as_str().unwrap()),
            json!({"client_id": self.app_client_id, "permissions": ["read"]}),
        )
        .await;
        for (name, kind) in [
            ("tc", "oidc_tc"),
            ("ctl-oidc", "oidc"),
            ("ctl-pca", "pca"),
            ("ctl-aws", "aws"),
        ] {
            let (_, _, verification) = expression_kind(match kind {
                "oidc_tc" => "oidc",
                "aws" => "pkcs7_aws",
                k => k,
            });
            let body = json!({"type": if kind == "aws" { "pkcs7" } else if kind == "pca" { "pca" } else { "oidc" },
                "provider_id": self.providers[kind], "name": name, "verification": verification});
            self.made(w, &format!("{}/federated-credentials", self.app_path), body)
                .await;
        }
    }

    fn token_url(&self) -> String {
        format!("{}/api/v2/iauths_system/oauth2/token", self.base)
    }

    /// A request of `base` for the lab application's credential `name`.
    fn request(&self, w: &World, base: &str, name: &str, mutation: &Mutation) -> Wire {
        let mut m = mutation.clone();
        let client = json!(self.app_client_id);
        if base == "pca" {
            // The assertion names the client and this Writ's token endpoint.
            let mut claims = m.jwt_claims.take().unwrap_or_default();
            for k in ["iss", "sub"] {
                claims.entry(k).or_insert_with(|| client.clone());
            }
            claims
                .entry("aud")
                .or_insert_with(|| json!(self.token_url()));
            m.jwt_claims = Some(claims);
        }
        let mut form = m.form.take().unwrap_or_default();
        form.insert("client_id".into(), client);
        form.insert("application_federated_credential_name".into(), json!(name));
        m.form = Some(form);
        let mut r = w.build(base, &m);
        r.url = self.token_url();
        r.finish(w)
    }

    /// Each kind's passing credential gets a token here.
    async fn controls(&self, w: &World) -> Vec<String> {
        let mut failed = Vec::new();
        for (base, name) in [
            ("oidc", "tc"),
            ("oidc", "ctl-oidc"),
            ("pca", "ctl-pca"),
            ("pkcs7_aws", "ctl-aws"),
        ] {
            match send(
                &self.http,
                &self.request(w, base, name, &Mutation::default()),
            )
            .await
            {
                Ok(a) if a.status == 200 && a.json()["access_token"].is_string() => {
                    println!("control lab {base} ({name}): token issued");
                }
                Ok(a) => failed.push(format!("control lab {base} ({name}): {}", a.summary())),
                Err(e) => failed.push(format!("control lab {base} ({name}): {e}")),
            }
        }
        failed
    }

    fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// How the process ended, with the lines of its log that say why.
    fn death(&mut self) -> String {
        let status = self
            .child
            .try_wait()
            .ok()
            .flatten()
            .map(|s| s.to_string())
            .unwrap_or_default();
        let log = std::fs::read_to_string(self.dir.join("stderr.log")).unwrap_or_default();
        let why: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("overflow") || l.contains("panicked") || l.contains("fatal"))
            .take(3)
            .collect();
        format!("{status}: {}", why.join(" / "))
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The base, provider and a passing simple-mode verification of a kind.
fn expression_kind(kind: &str) -> (&'static str, &'static str, Value) {
    match kind {
        "oidc" => (
            "oidc",
            "oidc",
            json!({"mode": "kubernetes", "namespace": "payments", "service_account": "billing-bot"}),
        ),
        "pca" => ("pca", "pca", json!({"mode": "certificate", "cn": LEAF_CN})),
        "pkcs7_aws" => (
            "pkcs7_aws",
            "aws",
            json!({"mode": "cloud_server", "instance_id": AWS_INSTANCE}),
        ),
        other => panic!("unknown expression kind '{other}'"),
    }
}

/// An expression case: the credential (or trust condition) goes through the
/// admin API, where Writ checks expressions; if it is accepted, a request
/// of the kind's base evaluates it at the token endpoint.
async fn run_expression(
    lab: &Lab,
    w: &World,
    c: &Expanded,
    e: &ExprSpec,
) -> Result<Passed, String> {
    let (base, provider, default_verification) = expression_kind(&e.kind);
    let (admin, name) = if let Some(tc) = &e.trust_condition {
        (
            AdminSpec {
                method: "PATCH".into(),
                path: format!(
                    "/federated-credential-providers/{}",
                    lab.providers["oidc_tc"]
                ),
                body: Some(json!({"trust_condition": w.text(tc)})),
                body_raw: None,
            },
            "tc".to_owned(),
        )
    } else {
        let name = format!("x-{}", w.next_credential.fetch_add(1, Ordering::SeqCst));
        let verification = match &e.verification {
            Some(v) => json!({"mode": "expression", "expression": w.text(v)}),
            None => default_verification,
        };
        let mut body = json!({"type": if base == "pkcs7_aws" { "pkcs7" } else { base },
            "provider_id": lab.providers[provider], "name": name, "verification": verification});
        if let Some(m) = &e.attribute_mapping {
            body["attribute_mapping"] = json!(w.text(m));
        }
        (
            AdminSpec {
                method: "POST".into(),
                path: format!("{}/federated-credentials", lab.app_path),
                body: Some(body),
                body_raw: None,
            },
            name,
        )
    };
    let wire = admin_wire(w, &lab.base, &admin);
    let first = send(&lab.http, &wire).await?;
    if !(200..300).contains(&first.status) {
        // Refused on save: that is the answer (checked like any other).
        let mut answers = vec![first];
        for _ in 1..ATTEMPTS {
            answers.push(send(&lab.http, &wire).await?);
        }
        return verdict(&answers, &c.expect_admin());
    }
    let result = if e.refused {
        Err(format!(
            "accepted on save, expected a 400: {}",
            first.summary()
        ))
    } else {
        // Accepted: a token request must still be refused, in time.
        let mut answers = Vec::new();
        for _ in 0..ATTEMPTS {
            answers.push(send(&lab.http, &lab.request(w, base, &name, &c.mutation)).await?);
        }
        verdict(&answers, &c.expect)
    };
    if e.trust_condition.is_some() {
        let reset = admin_wire(
            w,
            &lab.base,
            &AdminSpec {
                body: Some(json!({"trust_condition": null})),
                ..admin.clone()
            },
        );
        let r = send(&lab.http, &reset).await?;
        assert_eq!(r.status, 200, "trust condition reset: {}", r.summary());
    }
    result
}

impl Expanded {
    /// An expression refused on save is an admin API 400; the OAuth error
    /// the case expects applies to the token request.
    fn expect_admin(&self) -> Expect {
        Expect {
            status: Some(400),
            error: None,
        }
    }
}

/// Each base, unmutated, gets a token.
async fn controls(s: &TestServer, w: &World) -> Vec<String> {
    let mut failed = Vec::new();
    for (base, _) in BASES {
        let a = send(&s.http, &w.build(base, &Mutation::default()).finish(w)).await;
        match a {
            Ok(a) if a.status == 200 && a.json()["access_token"].is_string() => {
                println!(
                    "control {base}: token issued ({} ms)",
                    a.elapsed.as_millis()
                );
            }
            Ok(a) => failed.push(format!("control {base}: {}", a.summary())),
            Err(e) => failed.push(format!("control {base}: {e}")),
        }
    }
    failed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_corpus() {
    let mut cases = load_cases();
    // `HOSTILE_ONLY=text` runs the cases whose `category/name` holds it.
    let only = std::env::var("HOSTILE_ONLY").ok();
    if let Some(only) = &only {
        cases.retain(|c| format!("{}/{}", c.category, c.name).contains(only.as_str()));
    }
    let started = Instant::now();
    let s = common::spawn(Backend::Sqlite).await;
    let w = World::new(&s).await;
    println!(
        "hostile corpus: {} cases, setup {} ms",
        cases.len(),
        started.elapsed().as_millis()
    );
    let mut control_failures = controls(&s, &w).await;
    let mut lab = Some(Lab::start(&w).await);
    control_failures.extend(lab.as_ref().unwrap().controls(&w).await);
    let mut crashes = 0;

    let mut by_category: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut known = Vec::new();
    let mut fixed = Vec::new();
    let mut times: Vec<(Duration, String)> = Vec::new();
    let verbose = std::env::var_os("HOSTILE_VERBOSE").is_some();
    for c in &cases {
        let label = format!("{}/{}", c.category, c.name);
        let result = match &c.expr {
            None => run_case(&s, &w, c).await,
            Some(e) => {
                if lab.is_none() {
                    lab = Some(Lab::start(&w).await);
                }
                let l = lab.as_mut().unwrap();
                let r = run_expression(l, &w, c, e).await;
                if r.is_err() {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
                if l.alive() {
                    r
                } else {
                    crashes += 1;
                    let death = l.death();
                    drop(lab.take());
                    Err(format!(
                        "WRIT CRASHED ({death}); the request saw: {}",
                        r.err().unwrap_or_default()
                    ))
                }
            }
        };
        let entry = by_category.entry(c.category.clone()).or_default();
        entry.0 += 1;
        if verbose {
            match &result {
                Ok((_, last)) => println!("  ok   {label}: {last}"),
                Err(e) => println!("  FAIL {label}: {e}"),
            }
        }
        match (&result, &c.known_bug) {
            (Ok((t, _)), None) => {
                entry.1 += 1;
                times.push((*t, label.clone()));
            }
            (Ok(_), Some(bug)) => {
                entry.1 += 1;
                fixed.push(format!(
                    "{label}: passed this run though marked known_bug ({bug}); \
                     a timing or race bug may pass some runs, else remove the mark"
                ));
            }
            (Err(e), None) => failures.push(format!("{label}: {e}")),
            (Err(e), Some(bug)) => known.push(format!("{label}: {bug}\n      got: {e}")),
        }
    }
    let injected_fetches = w.attacker.hits.load(Ordering::SeqCst);
    drop(lab.take());

    println!();
    for (cat, (n, passed)) in &by_category {
        println!("  {cat:<16} {n:>4} cases, {passed:>4} passed");
    }
    times.sort_by_key(|t| std::cmp::Reverse(t.0));
    println!("slowest passing cases (median ms):");
    for (t, label) in times.iter().take(8) {
        println!("  {:>4}  {label}", t.as_millis());
    }
    println!("the expression lab's Writ crashed {crashes} times");
    println!(
        "OIDC issuer fetched {} times; attacker URLs fetched {} times",
        w.oidc.hits.load(Ordering::SeqCst),
        injected_fetches
    );
    for f in &fixed {
        println!("NOTE {f}");
    }
    if !known.is_empty() {
        println!("\nknown bugs ({}):", known.len());
        for k in &known {
            println!("  {k}");
        }
    }
    if !failures.is_empty() {
        println!("\nFAILED ({}):", failures.len());
        for f in &failures {
            println!("  {f}");
        }
    }
    for f in &control_failures {
        println!("CONTROL FAILED: {f}");
    }
    let failed = failures.len() + known.len();
    println!(
        "\nhostile corpus: {} cases in {} s",
        cases.len(),
        started.elapsed().as_secs()
    );
    println!("{} passed, {} failed", cases.len() - failed, failed);
    if !known.is_empty() {
        println!("({} of the failures are known bugs)", known.len());
    }
    s.stop().await;

    assert!(
        only.is_some() || cases.len() >= MIN_CASES,
        "the corpus needs at least {MIN_CASES} cases, has {}",
        cases.len()
    );
    assert!(
        control_failures.is_empty(),
        "a base request did not get a token: {control_failures:?}"
    );
    assert_eq!(
        injected_fetches, 0,
        "Writ fetched a URL a hostile token named"
    );
    assert!(
        failures.is_empty(),
        "{} hostile cases were not refused as required (see above)",
        failures.len()
    );
}
