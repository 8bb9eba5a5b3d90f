//! X.509 chain input (`federation/pca.rs`): the `client_x509` /
//! `client_x509_chain` a PCA workload presents, checked against a fixed
//! provider trust (root + intermediate in `fixtures/`) at a time when the
//! seed chain is valid; and the admin side, a provider's root and
//! intermediates (`PcaProviderConfig::parse`).
//!
//! Two input forms:
//! * DER (first byte 0x30, a SEQUENCE): up to 4 concatenated certificates;
//!   each goes through `fields_of_der`, then the first is presented as the
//!   leaf (PEM) and the others as its chain. The DER parser is reached
//!   without base64 in the way.
//! * text: `client_x509` up to the first NUL byte, `client_x509_chain`
//!   after it (none without a NUL); `pem_certificates` on both, then
//!   `verify_chain`, and `PcaProviderConfig::parse(client_x509, [chain])`.
//!
//! Oracle: no panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;
use writ_core::federation::pca::{
    PcaProviderConfig, PcaTrust, fields_of_der, pem_certificates, verify_chain,
};
use writ_fuzz::{PCA_INTERMEDIATE, PCA_NOW, PCA_ROOT, der_items, pem, split_at_byte};

static CONFIG: LazyLock<PcaProviderConfig> = LazyLock::new(|| {
    PcaProviderConfig::parse(PCA_ROOT, &[PCA_INTERMEDIATE.to_owned()])
        .unwrap_or_else(|e| panic!("fixture trust: {}", e.message))
});

/// A fresh trust each time: its cache of verified paths would otherwise
/// make a run depend on what came before.
fn trust() -> PcaTrust {
    PcaTrust::new(&CONFIG).unwrap_or_else(|e| panic!("fixture trust: {e:?}"))
}

fn present(leaf: &str, chain: Option<&str>) {
    if let Ok(v) = verify_chain(leaf, chain, &trust(), PCA_NOW, 60) {
        // A verified leaf's fields are what expressions read.
        assert!(v.fields.get("subject").is_some());
    }
}

fuzz_target!(|data: &[u8]| {
    if data.first() == Some(&0x30) {
        let certs = der_items(data, 4);
        for der in &certs {
            let _ = fields_of_der(der);
        }
        let pems: Vec<String> = certs.iter().map(|d| pem(d)).collect();
        let chain = pems[1..].concat();
        present(&pems[0], (!chain.is_empty()).then_some(chain.as_str()));
        return;
    }
    let (leaf, chain) = split_at_byte(data, 0);
    let (Ok(leaf), Ok(chain)) = (
        std::str::from_utf8(leaf),
        chain.map(std::str::from_utf8).transpose(),
    ) else {
        return;
    };
    if let Ok(ders) = pem_certificates(leaf) {
        for der in &ders {
            assert!(fields_of_der(der).is_some());
        }
    }
    present(leaf, chain);
    let intermediates: Vec<String> = chain.into_iter().map(str::to_owned).collect();
    if let Ok(cfg) = PcaProviderConfig::parse(leaf, &intermediates) {
        let _ = cfg.describe();
        let _ = PcaTrust::new(&cfg);
    }
});
