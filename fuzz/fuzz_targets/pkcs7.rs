//! PKCS#7 input (`federation/pkcs7.rs`): an instance identity document as
//! a workload presents it, verified against two fixed trusts: an AWS EC2
//! provider (DSA-SHA1 signer) and an Alibaba ECS one (RSA-SHA256), both
//! made by `openssl` (`fixtures/`), at the time the seed documents were
//! signed.
//!
//! Two input forms:
//! * DER (first byte 0x30): the CMS ContentInfo itself, base64-encoded by
//!   the harness as the metadata service would send it, so the DER parser
//!   is reached without base64 in the way;
//! * text: the document as sent (base64, PEM armour or newlines allowed).
//!
//! Oracle: no panic; a document that verifies is the trust's account's.
#![no_main]

use base64::Engine;
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;
use writ_core::federation::pkcs7::{Pkcs7ProviderConfig, Pkcs7Trust, verify};
use writ_fuzz::{
    PKCS7_ALIBABA_ACCOUNT, PKCS7_ALIBABA_CERT, PKCS7_AWS_ACCOUNT, PKCS7_AWS_CERT, WRIT_INSTANCE_ID,
    pkcs7_now,
};

static CONFIGS: LazyLock<[(Pkcs7ProviderConfig, &str); 2]> = LazyLock::new(|| {
    let cfg = |source, cert, account| {
        Pkcs7ProviderConfig::parse(source, cert, account, None)
            .unwrap_or_else(|e| panic!("fixture trust: {}", e.message))
    };
    [
        (
            cfg("aws_ec2", PKCS7_AWS_CERT, PKCS7_AWS_ACCOUNT),
            PKCS7_AWS_ACCOUNT,
        ),
        (
            cfg(
                "alibaba_cloud_ecs",
                PKCS7_ALIBABA_CERT,
                PKCS7_ALIBABA_ACCOUNT,
            ),
            PKCS7_ALIBABA_ACCOUNT,
        ),
    ]
});
static NOW: LazyLock<i64> = LazyLock::new(pkcs7_now);

fuzz_target!(|data: &[u8]| {
    let document = if data.first() == Some(&0x30) {
        base64::engine::general_purpose::STANDARD.encode(data)
    } else {
        match std::str::from_utf8(data) {
            Ok(s) => s.to_owned(),
            Err(_) => return,
        }
    };
    for (cfg, account) in CONFIGS.iter() {
        // A fresh trust each time: its cache of verified signatures would
        // otherwise make a run depend on what came before.
        let trust = Pkcs7Trust::new(cfg).unwrap_or_else(|e| panic!("fixture trust: {e:?}"));
        if let Ok(d) = verify(&document, &trust, WRIT_INSTANCE_ID, *NOW, 60) {
            assert!(!d.instance_id.is_empty());
            let json = &d.fields["payload"]["jsonData"];
            let account_field = if *account == PKCS7_AWS_ACCOUNT {
                "accountId"
            } else {
                "owner-account-id"
            };
            assert_eq!(json[account_field], *account);
        }
    }
});
