//! PCA federation: the workload holds a certificate from the company's
//! private CA. It signs the usual client assertion with the certificate's
//! key and sends the certificate (`client_x509`) and its chain
//! (`client_x509_chain`, concatenated PEM). Writ checks the assertion with
//! the leaf's key, then builds a path leaf → intermediates → the provider's
//! root, checking each signature, validity, CA constraints and key usage,
//! and refusing critical extensions it does not understand.

use crate::error::{OAuthError, OAuthErrorCode};
use crate::names::InvalidInput;
use crate::public_key::ClientPublicKey;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::FromDer;
use x509_parser::x509::X509Name;

pub const ASSERTION_TYPE_X509_JWT: &str =
    "urn:cloud:idaas:params:oauth:client-assertion-type:x509-jwt-bearer";

/// Longest path from the leaf to the root (leaf, up to 4 intermediates).
const MAX_PATH: usize = 5;
const MAX_PEM: usize = 64 * 1024;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PcaProviderConfig {
    pub root_certificate: String,
    pub intermediate_certificates: Vec<String>,
}

fn bad_input(field: &'static str, m: impl Into<String>) -> InvalidInput {
    InvalidInput {
        field,
        message: m.into(),
    }
}

/// DER of every certificate in a PEM text (concatenated PEM accepted).
pub fn pem_certificates(pem: &str) -> Result<Vec<Vec<u8>>, String> {
    if pem.len() > MAX_PEM {
        return Err("is too large".into());
    }
    let mut out = Vec::new();
    for p in x509_parser::pem::Pem::iter_from_buffer(pem.trim().as_bytes()) {
        let p = p.map_err(|_| "is not valid PEM".to_string())?;
        if p.label != "CERTIFICATE" {
            return Err(format!("holds a '{}' block, not a CERTIFICATE", p.label));
        }
        X509Certificate::from_der(&p.contents)
            .map_err(|_| "holds a certificate that cannot be parsed".to_string())?;
        out.push(p.contents);
        if out.len() > 10 {
            return Err("holds more than 10 certificates".into());
        }
    }
    Ok(out)
}

fn is_ca(c: &X509Certificate<'_>) -> bool {
    matches!(c.basic_constraints(), Ok(Some(bc)) if bc.value.ca)
}

impl PcaProviderConfig {
    pub fn parse(root: &str, intermediates: &[String]) -> Result<Self, InvalidInput> {
        let roots = pem_certificates(root).map_err(|m| bad_input("root_certificate", m))?;
        let [root_der] = roots.as_slice() else {
            return Err(bad_input(
                "root_certificate",
                "must be exactly one PEM certificate",
            ));
        };
        let (_, r) = X509Certificate::from_der(root_der)
            .map_err(|_| bad_input("root_certificate", "cannot be parsed"))?;
        if !is_ca(&r) {
            return Err(bad_input(
                "root_certificate",
                "is not a CA certificate (basicConstraints CA:TRUE)",
            ));
        }
        let mut list = Vec::new();
        for pem in intermediates.iter().filter(|p| !p.trim().is_empty()) {
            for der in
                pem_certificates(pem).map_err(|m| bad_input("intermediate_certificates", m))?
            {
                let (_, c) = X509Certificate::from_der(&der)
                    .map_err(|_| bad_input("intermediate_certificates", "cannot be parsed"))?;
                if !is_ca(&c) {
                    return Err(bad_input(
                        "intermediate_certificates",
                        format!(
                            "'{}' is not a CA certificate (basicConstraints CA:TRUE)",
                            common_name(c.subject()).unwrap_or_default()
                        ),
                    ));
                }
                list.push(pem_of(&der));
            }
        }
        if list.is_empty() {
            return Err(bad_input(
                "intermediate_certificates",
                "add at least one intermediate certificate",
            ));
        }
        Ok(Self {
            root_certificate: pem_of(root_der),
            intermediate_certificates: list,
        })
    }

    /// Subject CNs, for the console.
    pub fn describe(&self) -> (String, Vec<String>) {
        let cn = |pem: &str| {
            pem_certificates(pem)
                .ok()
                .and_then(|d| d.into_iter().next())
                .and_then(|d| {
                    X509Certificate::from_der(&d)
                        .ok()
                        .and_then(|(_, c)| common_name(c.subject()))
                })
                .unwrap_or_default()
        };
        (
            cn(&self.root_certificate),
            self.intermediate_certificates
                .iter()
                .map(|p| cn(p))
                .collect(),
        )
    }
}

fn pem_of(der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut s = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        s.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        s.push('\n');
    }
    s.push_str("-----END CERTIFICATE-----\n");
    s
}

/// A provider's trust anchors, decoded once.
#[derive(Debug)]
pub struct PcaTrust {
    root: Vec<u8>,
    intermediates: Vec<Vec<u8>>,
    /// Paths already validated, by SHA-256 of the presented leaf and chain:
    /// a workload presents the same certificate on every request, and the
    /// path's signatures and constraints cannot change for the same bytes
    /// and anchors. Each entry keeps the path's validity window, checked
    /// against the clock on every hit. Bounded; rebuilt with the trust.
    verified: std::sync::Mutex<std::collections::HashMap<[u8; 32], (VerifiedLeaf, i64, i64)>>,
}

const VERIFIED_PATHS: usize = 1024;

impl PcaTrust {
    pub fn new(cfg: &PcaProviderConfig) -> Result<Self, OAuthError> {
        let root = pem_certificates(&cfg.root_certificate)
            .ok()
            .and_then(|v| v.into_iter().next())
            .ok_or_else(OAuthError::server_error)?;
        let mut intermediates = Vec::new();
        for p in &cfg.intermediate_certificates {
            intermediates.extend(pem_certificates(p).map_err(|_| OAuthError::server_error())?);
        }
        Ok(Self {
            root,
            intermediates,
            verified: Default::default(),
        })
    }
}

fn reject(reason: &'static str, d: impl Into<String>) -> OAuthError {
    OAuthError::new(
        OAuthErrorCode::InvalidClient,
        reason,
        format!("client certificate rejected: {}", d.into()),
    )
}

/// A leaf that chained to the provider's root.
#[derive(Debug, Clone)]
pub struct VerifiedLeaf {
    pub key: ClientPublicKey,
    /// The `cert.*` fields expressions see.
    pub fields: Value,
}

/// Checks one certificate on its own: validity and critical extensions.
fn check_cert(c: &X509Certificate<'_>, role: &str, now: i64, skew: i64) -> Result<(), OAuthError> {
    let name = common_name(c.subject()).unwrap_or_else(|| "(no CN)".into());
    let v = c.validity();
    if now + skew < v.not_before.timestamp() {
        return Err(reject(
            "certificate_not_yet_valid",
            format!("{role} '{name}' is not valid yet"),
        ));
    }
    if now - skew > v.not_after.timestamp() {
        return Err(reject(
            "certificate_expired",
            format!("{role} '{name}' has expired"),
        ));
    }
    for ext in c.extensions() {
        let understood = !matches!(
            ext.parsed_extension(),
            ParsedExtension::UnsupportedExtension { .. }
                | ParsedExtension::ParseError { .. }
                // Parsed, but Writ does not enforce them: refuse rather than ignore.
                | ParsedExtension::NameConstraints(_)
                | ParsedExtension::PolicyConstraints(_)
                | ParsedExtension::InhibitAnyPolicy(_)
        );
        if ext.critical && !understood {
            return Err(reject(
                "certificate_critical_extension",
                format!(
                    "{role} '{name}' has a critical extension Writ does not support ({})",
                    ext.oid
                ),
            ));
        }
    }
    Ok(())
}

/// `issuer` may sign certificates: CA:TRUE, keyCertSign if key usage is
/// present, and a path length constraint that allows `below` CAs under it.
fn check_issuer(issuer: &X509Certificate<'_>, below: usize) -> Result<(), OAuthError> {
    let name = common_name(issuer.subject()).unwrap_or_default();
    match issuer.basic_constraints() {
        Ok(Some(bc)) if bc.value.ca => {
            if let Some(len) = bc.value.path_len_constraint
                && below > len as usize
            {
                return Err(reject(
                    "certificate_path_length",
                    format!("'{name}' allows at most {len} CA certificate(s) below it"),
                ));
            }
        }
        _ => {
            return Err(reject(
                "certificate_not_ca",
                format!(
                    "'{name}' signed a certificate but is not a CA (basicConstraints CA:FALSE)"
                ),
            ));
        }
    }
    if let Ok(Some(ku)) = issuer.key_usage()
        && !ku.value.key_cert_sign()
    {
        return Err(reject(
            "certificate_key_usage",
            format!("'{name}' may not sign certificates (keyUsage lacks keyCertSign)"),
        ));
    }
    Ok(())
}

fn signed_by(c: &X509Certificate<'_>, issuer: &X509Certificate<'_>) -> bool {
    c.issuer() == issuer.subject() && c.verify_signature(Some(issuer.public_key())).is_ok()
}

/// Builds and checks the path from the presented leaf to the provider's root.
pub fn verify_chain(
    leaf_pem: &str,
    chain_pem: Option<&str>,
    trust: &PcaTrust,
    now: i64,
    skew: i64,
) -> Result<VerifiedLeaf, OAuthError> {
    let fingerprint: [u8; 32] = Sha256::new()
        .chain_update(leaf_pem.trim().as_bytes())
        .chain_update([0u8])
        .chain_update(chain_pem.unwrap_or_default().trim().as_bytes())
        .finalize()
        .into();
    let hit = trust
        .verified
        .lock()
        .ok()
        .and_then(|m| m.get(&fingerprint).cloned());
    if let Some((leaf, from, until)) = hit
        && now + skew >= from
        && now - skew <= until
    {
        return Ok(leaf);
    }
    let (leaf, from, until) = verify_path(leaf_pem, chain_pem, trust, now, skew)?;
    if let Ok(mut m) = trust.verified.lock() {
        if m.len() >= VERIFIED_PATHS {
            m.clear();
        }
        m.insert(fingerprint, (leaf.clone(), from, until));
    }
    Ok(leaf)
}

/// The full path check; also returns the window in which every
/// certificate on the path is valid. Long on purpose: the path rules
/// (issuer/subject links, CA flags, path length, validity, signatures) read
/// best as one walk over the chain, in the order RFC 5280 §6.1 gives them.
fn verify_path(
    leaf_pem: &str,
    chain_pem: Option<&str>,
    trust: &PcaTrust,
    now: i64,
    skew: i64,
) -> Result<(VerifiedLeaf, i64, i64), OAuthError> {
    let mut presented = pem_certificates(leaf_pem)
        .map_err(|m| reject("certificate_malformed", format!("client_x509 {m}")))?;
    if presented.is_empty() {
        return Err(reject(
            "certificate_missing",
            "client_x509 holds no certificate",
        ));
    }
    let leaf_der = presented.remove(0);
    if let Some(chain) = chain_pem.filter(|c| !c.trim().is_empty()) {
        presented.extend(
            pem_certificates(chain)
                .map_err(|m| reject("certificate_malformed", format!("client_x509_chain {m}")))?,
        );
    }
    fn parse(d: &[u8]) -> Option<X509Certificate<'_>> {
        X509Certificate::from_der(d).map(|(_, c)| c).ok()
    }
    let leaf = parse(&leaf_der)
        .ok_or_else(|| reject("certificate_malformed", "cannot parse client_x509"))?;
    let root = parse(&trust.root).ok_or_else(OAuthError::server_error)?;
    let pool: Vec<X509Certificate<'_>> = presented
        .iter()
        .chain(trust.intermediates.iter())
        .filter_map(|d| parse(d))
        .collect();

    check_cert(&leaf, "client certificate", now, skew)?;
    if is_ca(&leaf) {
        return Err(reject(
            "certificate_leaf_is_ca",
            "the client certificate is a CA certificate",
        ));
    }
    if let Ok(Some(ku)) = leaf.key_usage()
        && !ku.value.digital_signature()
    {
        return Err(reject(
            "certificate_key_usage",
            "the client certificate may not sign (keyUsage lacks digitalSignature)",
        ));
    }

    let window = |c: &X509Certificate<'_>, (lo, hi): (i64, i64)| {
        let v = c.validity();
        (
            lo.max(v.not_before.timestamp()),
            hi.min(v.not_after.timestamp()),
        )
    };
    let mut valid = window(&leaf, (i64::MIN, i64::MAX));
    let mut current = &leaf;
    // `cas_below`: CA certificates between the leaf and the one checked next.
    for cas_below in 0..MAX_PATH {
        if signed_by(current, &root) {
            check_issuer(&root, cas_below)?;
            check_cert(&root, "root certificate", now, skew)?;
            let key = ClientPublicKey::from_spki(leaf.public_key()).map_err(|e| {
                reject(
                    "certificate_key",
                    format!("client certificate key: {}", e.message),
                )
            })?;
            valid = window(&root, valid);
            return Ok((
                VerifiedLeaf {
                    key,
                    fields: cert_fields(&leaf, &leaf_der),
                },
                valid.0,
                valid.1,
            ));
        }
        let next = pool.iter().find(|c| signed_by(current, c)).ok_or_else(|| {
            reject(
                "certificate_chain",
                format!(
                    "'{}' does not chain to the provider's root certificate",
                    common_name(current.subject()).unwrap_or_default()
                ),
            )
        })?;
        check_issuer(next, cas_below)?;
        check_cert(next, "intermediate certificate", now, skew)?;
        valid = window(next, valid);
        current = next;
    }
    Err(reject("certificate_chain", "the chain is too long"))
}

fn common_name(n: &X509Name<'_>) -> Option<String> {
    n.iter_common_name()
        .next()
        .and_then(|a| a.as_str().ok())
        .map(str::to_owned)
}

fn name_fields(n: &X509Name<'_>) -> Value {
    let mut m = serde_json::Map::new();
    for attr in n.iter_attributes() {
        let key = match attr.attr_type().to_id_string().as_str() {
            "2.5.4.3" => "CN",
            "2.5.4.11" => "OU",
            "2.5.4.10" => "O",
            "2.5.4.6" => "C",
            "2.5.4.7" => "L",
            "2.5.4.8" => "ST",
            "2.5.4.5" => "serialNumber",
            "1.2.840.113549.1.9.1" => "emailAddress",
            "0.9.2342.19200300.100.1.25" => "DC",
            _ => continue,
        };
        if let Ok(v) = attr.as_str() {
            // The first value wins (a second OU is rare; expressions compare strings).
            m.entry(key).or_insert_with(|| Value::String(v.to_owned()));
        }
    }
    Value::Object(m)
}

/// The `cert.*` (and `pkcs7.cert.*`) fields of a certificate.
pub fn cert_fields(c: &X509Certificate<'_>, der: &[u8]) -> Value {
    let (mut dns, mut uri, mut email) = (Vec::new(), Vec::new(), Vec::new());
    if let Ok(Some(san)) = c.subject_alternative_name() {
        for n in &san.value.general_names {
            use x509_parser::extensions::GeneralName as G;
            match n {
                G::DNSName(d) => dns.push(*d),
                G::URI(u) => uri.push(*u),
                G::RFC822Name(e) => email.push(*e),
                _ => {}
            }
        }
    }
    let fingerprint = crate::hex::encode(&Sha256::digest(der));
    json!({
        "subject": name_fields(c.subject()),
        "issuer": name_fields(c.issuer()),
        "serialNumber": c.raw_serial_as_string().replace(':', ""),
        "san": {"dns": dns, "uri": uri, "email": email},
        "notBefore": c.validity().not_before.timestamp(),
        "notAfter": c.validity().not_after.timestamp(),
        "fingerprint": fingerprint,
    })
}

/// Parses a certificate from DER (used by PKCS#7 for the signer).
pub fn fields_of_der(der: &[u8]) -> Option<Value> {
    X509Certificate::from_der(der)
        .ok()
        .map(|(_, c)| cert_fields(&c, der))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::pki::{Chain, ChainOptions};

    const NOW: i64 = 1_790_000_000;

    fn trust(chain: &Chain) -> PcaTrust {
        let cfg = PcaProviderConfig::parse(
            &chain.root_pem,
            std::slice::from_ref(&chain.intermediate_pem),
        )
        .unwrap();
        PcaTrust::new(&cfg).unwrap()
    }

    #[test]
    fn a_good_chain_verifies_and_exposes_fields() {
        let c = Chain::new(NOW, &ChainOptions::default());
        let v = verify_chain(&c.leaf_pem, Some(&c.intermediate_pem), &trust(&c), NOW, 60).unwrap();
        assert_eq!(v.fields["subject"]["CN"], "payments-agent");
        assert_eq!(v.fields["issuer"]["CN"], "Test Intermediate CA");
        assert_eq!(v.fields["san"]["dns"][0], "agent.payments.corp");
        // The chain may also come only from the provider's registered intermediates.
        assert!(verify_chain(&c.leaf_pem, None, &trust(&c), NOW, 60).is_ok());
        // A validated path is remembered, but its validity window still applies.
        let t = trust(&c);
        assert!(verify_chain(&c.leaf_pem, Some(&c.intermediate_pem), &t, NOW, 60).is_ok());
        assert!(verify_chain(&c.leaf_pem, Some(&c.intermediate_pem), &t, NOW, 60).is_ok());
        assert_eq!(t.verified.lock().unwrap().len(), 1);
        let e = verify_chain(
            &c.leaf_pem,
            Some(&c.intermediate_pem),
            &t,
            NOW + 200 * 86_400,
            60,
        )
        .unwrap_err();
        assert_eq!(e.reason, "certificate_expired");
    }

    #[test]
    fn hostile_chains_are_refused_with_the_reason() {
        let good = Chain::new(NOW, &ChainOptions::default());
        let cases = [
            (
                ChainOptions {
                    leaf_expired: true,
                    ..Default::default()
                },
                "certificate_expired",
            ),
            (
                ChainOptions {
                    leaf_not_yet_valid: true,
                    ..Default::default()
                },
                "certificate_not_yet_valid",
            ),
            (
                ChainOptions {
                    intermediate_not_ca: true,
                    ..Default::default()
                },
                "certificate_not_ca",
            ),
            (
                ChainOptions {
                    leaf_unknown_critical: true,
                    ..Default::default()
                },
                "certificate_critical_extension",
            ),
        ];
        for (opts, reason) in cases {
            let c = Chain::new(NOW, &opts);
            let t = PcaTrust::new(&PcaProviderConfig {
                root_certificate: c.root_pem.clone(),
                intermediate_certificates: vec![c.intermediate_pem.clone()],
            })
            .unwrap();
            let e = verify_chain(&c.leaf_pem, Some(&c.intermediate_pem), &t, NOW, 60).unwrap_err();
            assert_eq!(e.reason, reason, "{opts:?}: {e}");
        }
        // A chain to another root.
        let other = Chain::new(NOW, &ChainOptions::default());
        let e = verify_chain(
            &other.leaf_pem,
            Some(&other.intermediate_pem),
            &trust(&good),
            NOW,
            60,
        )
        .unwrap_err();
        assert_eq!(e.reason, "certificate_chain");
        // Garbage.
        assert!(verify_chain("not pem", None, &trust(&good), NOW, 60).is_err());
    }

    #[test]
    fn provider_config_needs_a_ca_root_and_intermediates() {
        let c = Chain::new(NOW, &ChainOptions::default());
        assert!(PcaProviderConfig::parse(&c.root_pem, &[]).is_err());
        assert!(
            PcaProviderConfig::parse(&c.leaf_pem, std::slice::from_ref(&c.intermediate_pem))
                .is_err()
        );
        let cfg = PcaProviderConfig::parse(&c.root_pem, std::slice::from_ref(&c.intermediate_pem))
            .unwrap();
        assert_eq!(cfg.describe().0, "Test Root CA");
    }
}
