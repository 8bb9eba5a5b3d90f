//! The local CA and TLS server certificate Writ makes on first start, and the
//! SHA-1 fingerprint a relying cloud (e.g. Alibaba RAM's OIDC IdP) asks for.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use sha1::{Digest, Sha1};
use time::{Duration, OffsetDateTime};

#[derive(Debug, thiserror::Error)]
#[error("could not create the TLS certificates: {0}")]
pub struct TlsError(String);

pub struct LocalPki {
    pub ca_cert_pem: String,
    pub server_cert_pem: String,
    pub server_key_pem: String,
}

/// A CA valid ten years and a server certificate valid one year for the given
/// DNS names / IP addresses, both P-256.
pub fn create_local_pki(hosts: &[String], now_unix: i64) -> Result<LocalPki, TlsError> {
    let err = |e: rcgen::Error| TlsError(e.to_string());
    let now = OffsetDateTime::from_unix_timestamp(now_unix).map_err(|e| TlsError(e.to_string()))?;

    let ca_key = KeyPair::generate().map_err(err)?;
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    ca.distinguished_name
        .push(DnType::CommonName, "Writ local CA");
    ca.distinguished_name.push(DnType::OrganizationName, "Writ");
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca.not_before = now - Duration::hours(1);
    ca.not_after = now + Duration::days(3650);
    let ca_cert = ca.self_signed(&ca_key).map_err(err)?;
    let issuer = Issuer::new(ca, ca_key);

    let key = KeyPair::generate().map_err(err)?;
    let mut leaf = CertificateParams::new(hosts.to_vec()).map_err(err)?;
    leaf.distinguished_name.push(
        DnType::CommonName,
        hosts.first().cloned().unwrap_or_else(|| "localhost".into()),
    );
    leaf.is_ca = IsCa::ExplicitNoCa;
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.not_before = now - Duration::hours(1);
    leaf.not_after = now + Duration::days(365);
    let leaf_cert = leaf.signed_by(&key, &issuer).map_err(err)?;

    Ok(LocalPki {
        ca_cert_pem: ca_cert.pem(),
        server_cert_pem: leaf_cert.pem(),
        server_key_pem: key.serialize_pem(),
    })
}

/// SHA-1 fingerprint of the first certificate in `pem`, as `AA:BB:…`
/// (what `openssl x509 -fingerprint -sha1 -noout` prints after the `=`).
pub fn sha1_fingerprint(pem: &str) -> Option<String> {
    let (_, block) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).ok()?;
    let digest = Sha1::digest(&block.contents);
    Some(
        digest
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":"),
    )
}

/// The certificate RAM's *Get Fingerprint* (and Alibaba Cloud's documented
/// OpenSSL procedure) reads for an OIDC issuer: the top, that is the last,
/// certificate of the chain the server sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainTop {
    /// SHA-1 of its DER, upper-case hex with the colons removed.
    pub fingerprint: String,
    /// Its subject, to say which certificate that is.
    pub subject: String,
}

/// [`ChainTop`] of the PEM chain a server sends (every certificate in
/// `pem`, leaf first); `None` when it holds no certificate.
pub fn chain_top(pem: &str) -> Option<ChainTop> {
    let last = x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes())
        .filter_map(Result::ok)
        .filter(|p| p.label == "CERTIFICATE")
        .last()?;
    let subject = x509_parser::parse_x509_certificate(&last.contents)
        .map(|(_, c)| c.subject().to_string())
        .unwrap_or_default();
    Some(ChainTop {
        fingerprint: crate::hex::encode(&Sha1::digest(&last.contents)).to_uppercase(),
        subject,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_top_is_the_last_certificate() {
        let pki = create_local_pki(&["localhost".into()], 1_800_000_000).unwrap();
        let chain = format!("{}{}", pki.server_cert_pem, pki.ca_cert_pem);
        let top = chain_top(&chain).unwrap();
        let ca = sha1_fingerprint(&pki.ca_cert_pem).unwrap().replace(':', "");
        assert_eq!(top.fingerprint, ca);
        assert_eq!(top.fingerprint.len(), 40);
        assert!(!top.subject.is_empty());
        // A lone leaf is its own top.
        let leaf = chain_top(&pki.server_cert_pem).unwrap();
        assert_eq!(
            leaf.fingerprint,
            sha1_fingerprint(&pki.server_cert_pem)
                .unwrap()
                .replace(':', "")
        );
        assert_eq!(chain_top("no certificate here"), None);
    }
    use x509_parser::prelude::*;

    #[test]
    fn server_cert_chains_to_ca_and_names_hosts() {
        let pki =
            create_local_pki(&["localhost".into(), "127.0.0.1".into()], 1_800_000_000).unwrap();
        let (_, ca_pem) = x509_parser::pem::parse_x509_pem(pki.ca_cert_pem.as_bytes()).unwrap();
        let (_, leaf_pem) =
            x509_parser::pem::parse_x509_pem(pki.server_cert_pem.as_bytes()).unwrap();
        let (_, ca) = X509Certificate::from_der(&ca_pem.contents).unwrap();
        let (_, leaf) = X509Certificate::from_der(&leaf_pem.contents).unwrap();
        assert!(ca.is_ca());
        assert!(!leaf.is_ca());
        assert!(leaf.verify_signature(Some(ca.public_key())).is_ok());
        let san = leaf.subject_alternative_name().unwrap().unwrap();
        let names: Vec<String> = san
            .value
            .general_names
            .iter()
            .map(|n| format!("{n}"))
            .collect();
        assert!(names.iter().any(|n| n.contains("localhost")), "{names:?}");
        assert!(
            names.iter().any(|n| n.contains("7f:00:00:01")),
            "IP SAN for 127.0.0.1: {names:?}"
        );
    }

    #[test]
    fn fingerprint_format() {
        let pki = create_local_pki(&["localhost".into()], 1_800_000_000).unwrap();
        let fp = sha1_fingerprint(&pki.server_cert_pem).unwrap();
        assert_eq!(fp.len(), 59);
        assert_eq!(fp.matches(':').count(), 19);
        assert!(sha1_fingerprint("nope").is_none());
    }
}
