//! PCA federation: the workload holds a certificate from the company's
//! private CA. It signs the usual client assertion with the certificate's
//! key and sends the certificate (`client_x509`) and its chain
//! (`client_x509_chain`, concatenated PEM). Writ checks the assertion with
//! the leaf's key, then builds a path leaf → intermediates → the provider's
//! root, checking each signature, validity, CA constraints and key usage,
//! and refusing critical extensions it does not understand.
//!
//! Beyond the path itself (issue 14, item 8):
//! - no certificate whose signature Writ relies on may be signed with MD5 or
//!   SHA-1 (`chain_weak_signature`); the root's self-signature is not
//!   verified (a trust anchor is its name and key) and is not held against it;
//! - no RSA key under 2048 bits anywhere, the root included
//!   (`chain_weak_key`);
//! - a leaf with an extendedKeyUsage must allow clientAuth or
//!   anyExtendedKeyUsage (`leaf_not_client_auth`);
//! - name constraints of every CA on the path, the root included, bind the
//!   certificates below it (RFC 5280 §4.2.1.10): directoryName (DN prefix),
//!   dNSName, rfc822Name, uniformResourceIdentifier (host) and iPAddress
//!   (`name_constraints_violated`); a critical extension that constrains
//!   another kind of name is refused (`name_constraints_unsupported`).

use crate::error::{OAuthError, OAuthErrorCode};
use crate::names::InvalidInput;
use crate::public_key::ClientPublicKey;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;
use x509_parser::public_key::RSAPublicKey;
use x509_parser::signature_algorithm::SignatureAlgorithm;
use x509_parser::x509::{
    AlgorithmIdentifier, AttributeTypeAndValue, RelativeDistinguishedName, X509Name,
};

pub const ASSERTION_TYPE_X509_JWT: &str =
    "urn:cloud:idaas:params:oauth:client-assertion-type:x509-jwt-bearer";

/// Longest path from the leaf to the root (leaf, up to 4 intermediates).
const MAX_PATH: usize = 5;
const MAX_PEM: usize = 64 * 1024;
/// Smallest RSA modulus accepted anywhere on the path (NIST SP 800-131A:
/// 1024-bit RSA has been disallowed for signatures since 2013).
const MIN_RSA_BITS: usize = 2048;
const OID_RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
const OID_RSASSA_PSS: &str = "1.2.840.113549.1.1.10";
const OID_EMAIL_ADDRESS: &str = "1.2.840.113549.1.9.1";
/// Signature algorithms refused on a certificate: MD2/MD4/MD5 and SHA-1
/// (and SHA-0), whose collisions are practical (RFC 6151, RFC 6194,
/// SHAttered 2017, chosen-prefix 2020): a CA signing with them lets a forged
/// certificate carry the signature of one the CA really issued.
const WEAK_SIGNATURES: &[(&str, &str)] = &[
    ("1.2.840.113549.1.1.2", "md2WithRSAEncryption"),
    ("1.2.840.113549.1.1.3", "md4WithRSAEncryption"),
    ("1.2.840.113549.1.1.4", "md5WithRSAEncryption"),
    ("1.2.840.113549.1.1.5", "sha1WithRSAEncryption"),
    ("1.2.840.10045.4.1", "ecdsa-with-SHA1"),
    ("1.2.840.10040.4.3", "dsa-with-sha1"),
    ("1.3.14.3.2.3", "md5WithRSA"),
    ("1.3.14.3.2.13", "dsaWithSHA"),
    ("1.3.14.3.2.15", "shaWithRSASignature"),
    ("1.3.14.3.2.27", "dsaWithSHA1"),
    ("1.3.14.3.2.29", "sha1WithRSASignature"),
];
/// Digests that make an RSASSA-PSS signature weak (SHA-1 is its default).
const WEAK_HASHES: &[&str] = &[
    "1.3.14.3.2.26",
    "1.2.840.113549.2.2",
    "1.2.840.113549.2.4",
    "1.2.840.113549.2.5",
];

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
        if let Some(weak) = weak_key(&r) {
            return Err(bad_input("root_certificate", weak));
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
                let weak = weak_key(&c).or_else(|| {
                    weak_signature(&c)
                        .map(|alg| format!("is signed with {alg}, which Writ refuses"))
                });
                if let Some(weak) = weak {
                    return Err(bad_input(
                        "intermediate_certificates",
                        format!("'{}' {weak}", common_name(c.subject()).unwrap_or_default()),
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

/// Where a certificate sits on the path; named in refusals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Leaf,
    Intermediate,
    Root,
}

impl Role {
    fn label(self) -> &'static str {
        match self {
            Self::Leaf => "client certificate",
            Self::Intermediate => "intermediate certificate",
            Self::Root => "root certificate",
        }
    }
}

fn name_of(c: &X509Certificate<'_>) -> String {
    common_name(c.subject()).unwrap_or_else(|| "(no CN)".into())
}

/// The weak algorithm `c` is signed with, if any: its outer and its
/// to-be-signed signature algorithm (they must agree; either may be read).
fn weak_signature(c: &X509Certificate<'_>) -> Option<&'static str> {
    fn weak(alg: &AlgorithmIdentifier<'_>) -> Option<&'static str> {
        let oid = alg.algorithm.to_id_string();
        if let Some((_, name)) = WEAK_SIGNATURES.iter().find(|(o, _)| *o == oid) {
            return Some(name);
        }
        if oid != OID_RSASSA_PSS {
            return None;
        }
        // RSASSA-PSS names its digest in its parameters; SHA-1 when omitted (RFC 4055).
        match SignatureAlgorithm::try_from(alg) {
            Ok(SignatureAlgorithm::RSASSA_PSS(p))
                if !WEAK_HASHES.contains(&p.hash_algorithm_oid().to_id_string().as_str()) =>
            {
                None
            }
            _ => Some("RSASSA-PSS with SHA-1 (or unreadable parameters)"),
        }
    }
    weak(&c.signature_algorithm).or_else(|| weak(&c.tbs_certificate.signature))
}

/// Bits of an RSA modulus (big-endian, possibly with leading zero bytes).
fn rsa_bits(modulus: &[u8]) -> usize {
    let significant: &[u8] = match modulus.iter().position(|b| *b != 0) {
        Some(i) => modulus.get(i..).unwrap_or_default(),
        None => &[],
    };
    match significant.first() {
        Some(top) => (significant.len() - 1) * 8 + (8 - top.leading_zeros() as usize),
        None => 0,
    }
}

/// Why `c`'s own key is too weak to trust, if it is: an RSA modulus (PKCS#1
/// or RSASSA-PSS key) under [`MIN_RSA_BITS`], or one that cannot be read.
fn weak_key(c: &X509Certificate<'_>) -> Option<String> {
    let spki = c.public_key();
    let oid = spki.algorithm.algorithm.to_id_string();
    if oid != OID_RSA_ENCRYPTION && oid != OID_RSASSA_PSS {
        return None;
    }
    let bits = RSAPublicKey::from_der(&spki.subject_public_key.data)
        .map(|(_, k)| rsa_bits(k.modulus))
        .unwrap_or(0);
    (bits < MIN_RSA_BITS)
        .then(|| format!("has a {bits}-bit RSA key (at least {MIN_RSA_BITS} bits are required)"))
}

fn check_key(c: &X509Certificate<'_>, role: Role) -> Result<(), OAuthError> {
    match weak_key(c) {
        Some(weak) => Err(reject(
            "chain_weak_key",
            format!("{} '{}' {weak}", role.label(), name_of(c)),
        )),
        None => Ok(()),
    }
}

/// Checks one certificate on its own: validity, the strength of its key and
/// (but for the root, whose self-signature is never verified) of the
/// signature over it, and critical extensions.
fn check_cert(c: &X509Certificate<'_>, role: Role, now: i64, skew: i64) -> Result<(), OAuthError> {
    let name = name_of(c);
    let what = role.label();
    let v = c.validity();
    if now + skew < v.not_before.timestamp() {
        return Err(reject(
            "certificate_not_yet_valid",
            format!("{what} '{name}' is not valid yet"),
        ));
    }
    if now - skew > v.not_after.timestamp() {
        return Err(reject(
            "certificate_expired",
            format!("{what} '{name}' has expired"),
        ));
    }
    if role != Role::Root
        && let Some(alg) = weak_signature(c)
    {
        return Err(reject(
            "chain_weak_signature",
            format!("{what} '{name}' is signed with {alg}"),
        ));
    }
    check_key(c, role)?;
    let ca = is_ca(c);
    for ext in c.extensions() {
        let understood = match ext.parsed_extension() {
            ParsedExtension::UnsupportedExtension { .. } | ParsedExtension::ParseError { .. } => {
                false
            }
            // Enforced on a CA's path by `check_name_constraints`; meaningless on a leaf.
            ParsedExtension::NameConstraints(_) => ca,
            // Parsed, but Writ does not enforce them: refuse rather than ignore.
            ParsedExtension::PolicyConstraints(_) | ParsedExtension::InhibitAnyPolicy(_) => false,
            _ => true,
        };
        if ext.critical && !understood {
            return Err(reject(
                "certificate_critical_extension",
                format!(
                    "{what} '{name}' has a critical extension Writ does not support ({})",
                    ext.oid
                ),
            ));
        }
    }
    Ok(())
}

/// The leaf may authenticate a client: without an extendedKeyUsage any use
/// is allowed (RFC 5280 §4.2.1.12); with one, it must name clientAuth or
/// anyExtendedKeyUsage. An unreadable or repeated one is refused.
fn check_client_auth(leaf: &X509Certificate<'_>) -> Result<(), OAuthError> {
    match leaf.extended_key_usage() {
        Ok(None) => Ok(()),
        Ok(Some(eku)) if eku.value.client_auth || eku.value.any => Ok(()),
        Ok(Some(_)) => Err(reject(
            "leaf_not_client_auth",
            "the client certificate's extendedKeyUsage does not allow clientAuth",
        )),
        Err(_) => Err(reject(
            "certificate_malformed",
            "the client certificate's extendedKeyUsage cannot be read",
        )),
    }
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

/// A name as name constraints compare it: one a certificate asserts, or the
/// base of a constraint's subtree (RFC 5280 §4.2.1.10).
enum Name<'c> {
    Dir(&'c X509Name<'c>),
    Dns(&'c str),
    Email(&'c str),
    Uri(&'c str),
    Ip(&'c [u8]),
}

impl<'c> Name<'c> {
    /// The kinds Writ evaluates; `None` for otherName, x400Address,
    /// ediPartyName, registeredID and unreadable entries.
    fn of(g: &'c GeneralName<'c>) -> Option<Self> {
        Some(match g {
            GeneralName::DirectoryName(n) => Self::Dir(n),
            GeneralName::DNSName(d) => Self::Dns(d),
            GeneralName::RFC822Name(e) => Self::Email(e),
            GeneralName::URI(u) => Self::Uri(u),
            GeneralName::IPAddress(a) => Self::Ip(a),
            _ => return None,
        })
    }

    fn same_kind(&self, other: &Self) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }

    /// Whether this name lies within `base`'s subtree; `None` when it cannot
    /// be told (an email without '@', a URI without a host name), which is
    /// refused like a violation. Names of another kind are not within.
    fn within(&self, base: &Self) -> Option<bool> {
        Some(match (self, base) {
            (Self::Dir(n), Self::Dir(b)) => dn_within(n, b),
            (Self::Dns(n), Self::Dns(b)) => dns_within(n, b),
            (Self::Email(n), Self::Email(b)) => email_within(n, b)?,
            (Self::Uri(n), Self::Uri(b)) => host_within(&uri_host(n)?, b),
            (Self::Ip(n), Self::Ip(b)) => ip_within(n, b)?,
            _ => false,
        })
    }

    /// Whether this name may reach into the excluded subtree `base`: within
    /// it, or a wildcard DNS name that covers the subtree's base name.
    fn meets_excluded(&self, base: &Self) -> Option<bool> {
        if let (Self::Dns(n), Self::Dns(b)) = (self, base)
            && let Some(domain) = n.strip_prefix("*.")
        {
            let (domain, b) = (lower_host(domain), lower_host(b));
            let covered = !b.starts_with('.')
                && b.strip_suffix(&domain)
                    .and_then(|l| l.strip_suffix('.'))
                    .is_some_and(|label| !label.is_empty() && !label.contains('.'));
            if covered {
                return Some(true);
            }
        }
        self.within(base)
    }

    fn describe(&self) -> String {
        match self {
            Self::Dir(n) => format!("directory name '{n}'"),
            Self::Dns(d) => format!("DNS name '{d}'"),
            Self::Email(e) => format!("email '{e}'"),
            Self::Uri(u) => format!("URI '{u}'"),
            Self::Ip(a) => match <[u8; 4]>::try_from(*a) {
                Ok(v4) => format!("IP address {}", std::net::Ipv4Addr::from(v4)),
                Err(_) => match <[u8; 16]>::try_from(*a) {
                    Ok(v6) => format!("IP address {}", std::net::Ipv6Addr::from(v6)),
                    Err(_) => format!("IP address {}", crate::hex::encode(a)),
                },
            },
        }
    }
}

fn lower_host(h: &str) -> String {
    h.trim_end_matches('.').to_ascii_lowercase()
}

/// `example.com` holds itself and every name under it; `.example.com` only
/// the names under it; an empty base holds every name.
fn dns_within(name: &str, base: &str) -> bool {
    let (name, base) = (lower_host(name), lower_host(base));
    if base.is_empty() {
        return true;
    }
    if base.starts_with('.') {
        name.ends_with(&base)
    } else {
        name == base || name.ends_with(&format!(".{base}"))
    }
}

/// `user@host` is that mailbox; `host` every mailbox at that host;
/// `.example.com` every mailbox at a host under that domain.
fn email_within(addr: &str, base: &str) -> Option<bool> {
    let (local, host) = addr.rsplit_once('@')?;
    if host.is_empty() {
        return None;
    }
    Some(match base.rsplit_once('@') {
        Some((b_local, b_host)) => local == b_local && host.eq_ignore_ascii_case(b_host),
        None if base.starts_with('.') => lower_host(host).ends_with(&lower_host(base)),
        None => host.eq_ignore_ascii_case(base),
    })
}

/// The host name of a URI; `None` without one, or for an IP literal (a URI
/// constraint names hosts or domains).
fn uri_host(uri: &str) -> Option<String> {
    match url::Url::parse(uri).ok()?.host()? {
        url::Host::Domain(d) if !d.is_empty() => Some(lower_host(d)),
        _ => None,
    }
}

/// A URI's host against a URI constraint: `host.example.com` is that host,
/// `.example.com` any host under that domain.
fn host_within(host: &str, base: &str) -> bool {
    let base = lower_host(base);
    if base.is_empty() {
        return true;
    }
    if base.starts_with('.') {
        host.ends_with(&base)
    } else {
        host == base
    }
}

/// An address against address + mask (8 bytes for IPv4, 32 for IPv6);
/// addresses of the other family are not within.
fn ip_within(ip: &[u8], base: &[u8]) -> Option<bool> {
    if ip.len() != 4 && ip.len() != 16 {
        return None;
    }
    if base.len() != 2 * ip.len() {
        return Some(false);
    }
    let (addr, mask) = base.split_at(ip.len());
    Some(
        ip.iter()
            .zip(addr)
            .zip(mask)
            .all(|((i, a), m)| i & m == a & m),
    )
}

/// The base's RDNs are the first RDNs of the name.
fn dn_within(name: &X509Name<'_>, base: &X509Name<'_>) -> bool {
    let name: Vec<_> = name.iter().collect();
    let base: Vec<_> = base.iter().collect();
    base.len() <= name.len() && base.iter().zip(&name).all(|(b, n)| rdn_eq(b, n))
}

fn rdn_eq(a: &RelativeDistinguishedName<'_>, b: &RelativeDistinguishedName<'_>) -> bool {
    let a: Vec<_> = a.iter().collect();
    let b: Vec<_> = b.iter().collect();
    a.len() == b.len() && a.iter().all(|x| b.iter().any(|y| attr_eq(x, y)))
}

/// Same attribute type and value; strings compare case-insensitively with
/// whitespace folded (RFC 5280 §7.1, approximately), other values by bytes.
fn attr_eq(a: &AttributeTypeAndValue<'_>, b: &AttributeTypeAndValue<'_>) -> bool {
    let fold = |s: &str| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    a.attr_type() == b.attr_type()
        && match (a.as_str(), b.as_str()) {
            (Ok(x), Ok(y)) => fold(x) == fold(y),
            _ => a.as_slice() == b.as_slice(),
        }
}

/// RFC 5280 §4.2.1.10: the names `c` asserts (its subject DN when not
/// empty, emailAddress attributes of it, its subjectAltName entries) must lie
/// within `ca`'s permitted subtrees of their kind, where it has any, and
/// outside all of its excluded subtrees.
fn check_name_constraints(
    ca: &X509Certificate<'_>,
    c: &X509Certificate<'_>,
    role: Role,
) -> Result<(), OAuthError> {
    let ca_name = name_of(ca);
    let nc = match ca.name_constraints() {
        Ok(Some(nc)) => nc,
        Ok(None) => return Ok(()),
        Err(_) => {
            return Err(reject(
                "certificate_malformed",
                format!("the nameConstraints of '{ca_name}' cannot be read"),
            ));
        }
    };
    let mut permitted = Vec::new();
    let mut excluded = Vec::new();
    for (subtrees, out) in [
        (&nc.value.permitted_subtrees, &mut permitted),
        (&nc.value.excluded_subtrees, &mut excluded),
    ] {
        for s in subtrees.iter().flatten() {
            match Name::of(&s.base) {
                Some(base) => out.push(base),
                // A non-critical constraint Writ cannot evaluate is ignored (RFC 5280 §4.2).
                None if !nc.critical => {}
                None => {
                    return Err(reject(
                        "name_constraints_unsupported",
                        format!(
                            "'{ca_name}' has critical name constraints on a kind of name Writ cannot check ({})",
                            s.base
                        ),
                    ));
                }
            }
        }
    }
    if permitted.is_empty() && excluded.is_empty() {
        return Ok(());
    }
    let what = role.label();
    let name = name_of(c);
    let violated = |detail: String| {
        reject(
            "name_constraints_violated",
            format!("{what} '{name}' {detail}, against the name constraints of '{ca_name}'"),
        )
    };
    let mut names = Vec::new();
    if c.subject().iter().next().is_some() {
        names.push(Name::Dir(c.subject()));
    }
    for attr in c.subject().iter_attributes() {
        if attr.attr_type().to_id_string() == OID_EMAIL_ADDRESS {
            match attr.as_str() {
                Ok(e) => names.push(Name::Email(e)),
                Err(_) => return Err(violated("has an emailAddress that cannot be read".into())),
            }
        }
    }
    let san = c.subject_alternative_name().map_err(|_| {
        reject(
            "certificate_malformed",
            format!("the subjectAltName of {what} '{name}' cannot be read"),
        )
    })?;
    for g in san.iter().flat_map(|s| s.value.general_names.iter()) {
        match g {
            GeneralName::Invalid(..) => {
                return Err(violated(
                    "has a subjectAltName entry that cannot be read".into(),
                ));
            }
            g => names.extend(Name::of(g)),
        }
    }
    for n in &names {
        for base in &excluded {
            if n.meets_excluded(base) != Some(false) {
                return Err(violated(format!("names {} (excluded)", n.describe())));
            }
        }
        let mut of_kind = permitted.iter().filter(|b| n.same_kind(b)).peekable();
        if of_kind.peek().is_some() && !of_kind.any(|b| n.within(b) == Some(true)) {
            return Err(violated(format!("names {} (not permitted)", n.describe())));
        }
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
/// (issuer/subject links, CA flags, path length, validity, algorithms,
/// signatures, name constraints) read best as one walk over the chain, in
/// the order RFC 5280 §6.1 gives them.
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

    // Algorithms first: a weak signature must be named before the walk
    // tries (and may fail) to verify it.
    check_cert(&leaf, Role::Leaf, now, skew)?;
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
    check_client_auth(&leaf)?;
    // The root ends every path, and a weak key's signatures do not verify.
    check_key(&root, Role::Root)?;

    let window = |c: &X509Certificate<'_>, (lo, hi): (i64, i64)| {
        let v = c.validity();
        (
            lo.max(v.not_before.timestamp()),
            hi.min(v.not_after.timestamp()),
        )
    };
    let mut valid = window(&leaf, (i64::MIN, i64::MAX));
    // Leaf first, then each CA above it; the root is added at the end.
    let mut path: Vec<&X509Certificate<'_>> = vec![&leaf];
    let mut current = &leaf;
    // `cas_below`: CA certificates between the leaf and the one checked next.
    for cas_below in 0..MAX_PATH {
        if signed_by(current, &root) {
            check_issuer(&root, cas_below)?;
            check_cert(&root, Role::Root, now, skew)?;
            path.push(&root);
            check_path_names(&path)?;
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
        let Some(next) = pool.iter().find(|c| signed_by(current, c)) else {
            // Signatures by an RSA key under 2048 bits do not verify, so a
            // weak issuer looks absent: name the weakness instead.
            if let Some(named) = pool.iter().find(|c| c.subject() == current.issuer()) {
                check_key(named, Role::Intermediate)?;
            }
            return Err(reject(
                "certificate_chain",
                format!(
                    "'{}' does not chain to the provider's root certificate",
                    common_name(current.subject()).unwrap_or_default()
                ),
            ));
        };
        check_issuer(next, cas_below)?;
        check_cert(next, Role::Intermediate, now, skew)?;
        valid = window(next, valid);
        path.push(next);
        current = next;
    }
    Err(reject("certificate_chain", "the chain is too long"))
}

/// Each CA's name constraints bind every certificate below it on the path:
/// the leaf, and the CAs that are not self-issued (RFC 5280 §6.1.3 (b)).
fn check_path_names(path: &[&X509Certificate<'_>]) -> Result<(), OAuthError> {
    for (i, ca) in path.iter().enumerate().skip(1) {
        for (j, c) in path.iter().enumerate().take(i) {
            if j == 0 {
                check_name_constraints(ca, c, Role::Leaf)?;
            } else if c.subject() != c.issuer() {
                check_name_constraints(ca, c, Role::Intermediate)?;
            }
        }
    }
    Ok(())
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

    // ---- Item 8: algorithms, key sizes, EKU, name constraints ----

    use crate::testing::pki::{OpensslCert, OpensslChainOptions, OpensslKey};
    use rcgen::{
        CidrSubnet, CustomExtension, DistinguishedName, DnType, ExtendedKeyUsagePurpose,
        GeneralSubtree, NameConstraints, SanType,
    };

    /// The provider's trust taken as stored, without `parse`'s checks, so a
    /// weak anchor reaches the path check.
    fn stored_trust(c: &Chain) -> PcaTrust {
        PcaTrust::new(&PcaProviderConfig {
            root_certificate: c.root_pem.clone(),
            intermediate_certificates: vec![c.intermediate_pem.clone()],
        })
        .unwrap()
    }

    fn check(c: &Chain, now: i64) -> Result<VerifiedLeaf, OAuthError> {
        verify_chain(
            &c.leaf_pem,
            Some(&c.intermediate_pem),
            &stored_trust(c),
            now,
            60,
        )
    }

    /// openssl chains start at the real clock's present.
    fn real_now() -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }

    fn openssl_chain(root: OpensslCert, intermediate: OpensslCert, leaf: OpensslCert) -> Chain {
        Chain::with_openssl(&OpensslChainOptions {
            root,
            intermediate,
            leaf,
        })
    }

    fn cert(key: OpensslKey, digest: &'static str) -> OpensslCert {
        OpensslCert { key, digest }
    }

    const EC: OpensslKey = OpensslKey::EcP256;
    const RSA2048: OpensslKey = OpensslKey::Rsa(2048);
    const RSA1024: OpensslKey = OpensslKey::Rsa(1024);

    #[test]
    fn strong_openssl_chains_verify_and_a_sha1_root_self_signature_is_accepted() {
        // The fixtures' control: the same builder, strong algorithms, passes.
        let c = Chain::with_openssl(&OpensslChainOptions::default());
        let v = check(&c, real_now()).unwrap();
        assert_eq!(v.fields["subject"]["CN"], "payments-agent");
        // RSA at exactly 2048 bits everywhere, RSA leaf key included.
        let rsa = cert(RSA2048, "sha256");
        let c = openssl_chain(rsa, rsa, rsa);
        check(&c, real_now()).unwrap();
        // The root's self-signature is never verified (a trust anchor is its
        // name and key): SHA-1 there is not refused.
        let c = openssl_chain(
            cert(RSA2048, "sha1"),
            cert(EC, "sha256"),
            cert(EC, "sha256"),
        );
        check(&c, real_now()).unwrap();
        assert!(
            PcaProviderConfig::parse(&c.root_pem, std::slice::from_ref(&c.intermediate_pem))
                .is_ok()
        );
    }

    #[test]
    fn sha1_and_md5_signatures_below_the_root_are_refused() {
        let cases = [
            (
                "leaf sha1WithRSAEncryption",
                openssl_chain(
                    cert(EC, "sha256"),
                    cert(RSA2048, "sha256"),
                    cert(EC, "sha1"),
                ),
            ),
            (
                "leaf md5WithRSAEncryption",
                openssl_chain(cert(EC, "sha256"), cert(RSA2048, "sha256"), cert(EC, "md5")),
            ),
            (
                "intermediate ecdsa-with-SHA1",
                openssl_chain(cert(EC, "sha256"), cert(EC, "sha1"), cert(EC, "sha256")),
            ),
            (
                "leaf dsa-with-sha1",
                openssl_chain(
                    cert(EC, "sha256"),
                    cert(OpensslKey::Dsa1024, "sha256"),
                    cert(EC, "sha1"),
                ),
            ),
        ];
        for (what, c) in cases {
            let e = check(&c, real_now()).unwrap_err();
            assert_eq!(e.reason, "chain_weak_signature", "{what}: {e}");
        }
        // A weakly signed intermediate cannot be registered either.
        let c = openssl_chain(
            cert(RSA2048, "sha256"),
            cert(EC, "sha1"),
            cert(EC, "sha256"),
        );
        let e = PcaProviderConfig::parse(&c.root_pem, std::slice::from_ref(&c.intermediate_pem))
            .unwrap_err();
        assert_eq!(e.field, "intermediate_certificates");
        assert!(e.message.contains("sha1WithRSAEncryption"), "{}", e.message);
    }

    #[test]
    fn rsa_keys_under_2048_bits_are_refused_anywhere_on_the_path() {
        let good = cert(EC, "sha256");
        let cases = [
            ("leaf", openssl_chain(good, good, cert(RSA1024, "sha256"))),
            (
                "intermediate",
                openssl_chain(good, cert(RSA1024, "sha256"), good),
            ),
            ("root", openssl_chain(cert(RSA1024, "sha256"), good, good)),
        ];
        for (what, c) in &cases {
            let e = check(c, real_now()).unwrap_err();
            assert_eq!(e.reason, "chain_weak_key", "{what}: {e}");
            assert!(e.description.contains("1024-bit RSA key"), "{what}: {e}");
        }
        // Nor can a weak root or intermediate be registered.
        let [(_, leaf), (_, int), (_, root)] = &cases;
        assert!(
            PcaProviderConfig::parse(&leaf.root_pem, std::slice::from_ref(&leaf.intermediate_pem))
                .is_ok()
        );
        let e =
            PcaProviderConfig::parse(&int.root_pem, std::slice::from_ref(&int.intermediate_pem))
                .unwrap_err();
        assert_eq!(e.field, "intermediate_certificates");
        let e =
            PcaProviderConfig::parse(&root.root_pem, std::slice::from_ref(&root.intermediate_pem))
                .unwrap_err();
        assert_eq!(e.field, "root_certificate");
    }

    #[test]
    fn rsa_bits_counts_the_significant_bits_of_the_modulus() {
        assert_eq!(rsa_bits(&[]), 0);
        assert_eq!(rsa_bits(&[0, 0]), 0);
        let mut m = vec![0u8; 257];
        m[1] = 0x80;
        assert_eq!(rsa_bits(&m), 2048);
        m[1] = 0x40;
        assert_eq!(rsa_bits(&m), 2047);
        assert_eq!(rsa_bits(&m[1..]), 2047);
    }

    #[test]
    fn a_leaf_with_an_extended_key_usage_must_allow_client_auth() {
        use ExtendedKeyUsagePurpose as P;
        for (ekus, ok) in [
            (vec![], true),
            (vec![P::ClientAuth], true),
            (vec![P::ServerAuth, P::ClientAuth], true),
            (vec![P::Any], true),
            (vec![P::ServerAuth], false),
            (vec![P::CodeSigning, P::EmailProtection], false),
        ] {
            let c = Chain::new(
                NOW,
                &ChainOptions {
                    leaf_extended_key_usages: ekus.clone(),
                    ..Default::default()
                },
            );
            match check(&c, NOW) {
                Ok(_) => assert!(ok, "{ekus:?} was accepted"),
                Err(e) => {
                    assert!(!ok, "{ekus:?}: {e}");
                    assert_eq!(e.reason, "leaf_not_client_auth", "{ekus:?}: {e}");
                }
            }
        }
    }

    fn dn(entries: &[(DnType, &str)]) -> DistinguishedName {
        let mut d = DistinguishedName::new();
        for (t, v) in entries {
            d.push(t.clone(), *v);
        }
        d
    }

    fn constraints(
        permitted: Vec<GeneralSubtree>,
        excluded: Vec<GeneralSubtree>,
    ) -> NameConstraints {
        NameConstraints {
            permitted_subtrees: permitted,
            excluded_subtrees: excluded,
        }
    }

    /// A leaf with O=Writ Tests first in its subject, an email and an IP SAN.
    fn constrained(int: Option<NameConstraints>, root: Option<NameConstraints>) -> ChainOptions {
        ChainOptions {
            leaf_subject_prefix: vec![(DnType::OrganizationName, "Writ Tests".into())],
            leaf_extra_sans: vec![
                SanType::Rfc822Name("agent@payments.corp".try_into().unwrap()),
                SanType::IpAddress("10.1.2.3".parse().unwrap()),
            ],
            intermediate_name_constraints: int,
            root_name_constraints: root,
            ..Default::default()
        }
    }

    fn all_permitted() -> Vec<GeneralSubtree> {
        vec![
            GeneralSubtree::DirectoryName(dn(&[(DnType::OrganizationName, "writ  TESTS")])),
            GeneralSubtree::DnsName("payments.corp".into()),
            GeneralSubtree::Rfc822Name("payments.corp".into()),
            GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix("10.0.0.0".parse().unwrap(), 8)),
        ]
    }

    #[test]
    fn a_leaf_within_the_name_constraints_of_its_path_verifies() {
        // Every kind permitted, on the intermediate; DNS on the root.
        let c = Chain::new(
            NOW,
            &constrained(
                Some(constraints(
                    all_permitted(),
                    vec![GeneralSubtree::DnsName("admin.payments.corp".into())],
                )),
                Some(constraints(
                    vec![GeneralSubtree::DnsName("corp".into())],
                    vec![],
                )),
            ),
        );
        let v = check(&c, NOW).unwrap();
        assert_eq!(v.fields["subject"]["O"], "Writ Tests");
    }

    #[test]
    fn a_leaf_outside_the_name_constraints_of_its_path_is_refused() {
        let sub = |o: &mut ChainOptions, san: SanType| o.leaf_extra_sans.push(san);
        let mut cases: Vec<(&str, ChainOptions)> = Vec::new();
        // Permitted DNS, and a SAN outside it.
        let mut o = constrained(Some(constraints(all_permitted(), vec![])), None);
        sub(&mut o, SanType::DnsName("evil.example".try_into().unwrap()));
        cases.push(("DNS not permitted", o));
        // Excluded DNS the leaf names.
        cases.push((
            "DNS excluded",
            constrained(
                Some(constraints(
                    vec![],
                    vec![GeneralSubtree::DnsName("agent.payments.corp".into())],
                )),
                None,
            ),
        ));
        // A wildcard that covers an excluded host.
        let mut o = constrained(
            Some(constraints(
                vec![],
                vec![GeneralSubtree::DnsName("admin.payments.corp".into())],
            )),
            None,
        );
        sub(
            &mut o,
            SanType::DnsName("*.payments.corp".try_into().unwrap()),
        );
        cases.push(("wildcard over an excluded host", o));
        // Subject DN outside the permitted prefix.
        let mut o = constrained(Some(constraints(all_permitted(), vec![])), None);
        o.leaf_subject_prefix = vec![(DnType::OrganizationName, "Intruders".into())];
        cases.push(("DN not permitted", o));
        // Email outside the permitted domain.
        let mut o = constrained(Some(constraints(all_permitted(), vec![])), None);
        sub(
            &mut o,
            SanType::Rfc822Name("agent@evil.example".try_into().unwrap()),
        );
        cases.push(("email not permitted", o));
        // IP inside an excluded range.
        cases.push((
            "IP excluded",
            constrained(
                Some(constraints(
                    vec![],
                    vec![GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(
                        "10.1.0.0".parse().unwrap(),
                        16,
                    ))],
                )),
                None,
            ),
        ));
        // The root's constraints bind the leaf through the intermediate.
        cases.push((
            "root DNS not permitted",
            constrained(
                None,
                Some(constraints(
                    vec![GeneralSubtree::DnsName("other.corp".into())],
                    vec![],
                )),
            ),
        ));
        for (what, o) in cases {
            let c = Chain::new(NOW, &o);
            let e = check(&c, NOW).unwrap_err();
            assert_eq!(e.reason, "name_constraints_violated", "{what}: {e}");
            assert!(e.description.contains("client certificate"), "{what}: {e}");
        }
        // The root's constraints bind the intermediate too.
        let c = Chain::new(
            NOW,
            &constrained(
                None,
                Some(constraints(
                    vec![],
                    vec![GeneralSubtree::DirectoryName(dn(&[(
                        DnType::CommonName,
                        "Test Intermediate CA",
                    )]))],
                )),
            ),
        );
        let e = check(&c, NOW).unwrap_err();
        assert_eq!(e.reason, "name_constraints_violated", "{e}");
        assert!(
            e.description
                .contains("intermediate certificate 'Test Intermediate CA'"),
            "{e}"
        );
    }

    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        assert!(content.len() < 128);
        let mut v = vec![tag, content.len() as u8];
        v.extend_from_slice(content);
        v
    }

    /// A NameConstraints extension with one permitted subtree, DER by hand.
    fn raw_constraint(base: Vec<u8>, critical: bool) -> CustomExtension {
        let der = tlv(0x30, &tlv(0xa0, &tlv(0x30, &base)));
        let mut ext = CustomExtension::from_oid_content(&[2, 5, 29, 30], der);
        ext.set_criticality(critical);
        ext
    }

    fn with_raw(ext: CustomExtension) -> Chain {
        Chain::new(
            NOW,
            &ChainOptions {
                intermediate_extensions: vec![ext],
                ..Default::default()
            },
        )
    }

    #[test]
    fn uri_constraints_compare_the_host() {
        // The leaf's URI is spiffe://corp/payments/agent.
        check(&with_raw(raw_constraint(tlv(0x86, b"corp"), true)), NOW).unwrap();
        let e = check(&with_raw(raw_constraint(tlv(0x86, b"other"), true)), NOW).unwrap_err();
        assert_eq!(e.reason, "name_constraints_violated", "{e}");
        // `.corp` holds only hosts under corp, not corp itself.
        let e = check(&with_raw(raw_constraint(tlv(0x86, b".corp"), true)), NOW).unwrap_err();
        assert_eq!(e.reason, "name_constraints_violated", "{e}");
    }

    #[test]
    fn a_critical_constraint_on_a_name_kind_writ_cannot_check_is_refused() {
        // registeredID 1.3.6.1.4.1.99999.1
        let rid = || tlv(0x88, &[0x2b, 6, 1, 4, 1, 0x86, 0x8d, 0x1f, 1]);
        let e = check(&with_raw(raw_constraint(rid(), true)), NOW).unwrap_err();
        assert_eq!(e.reason, "name_constraints_unsupported", "{e}");
        // Not critical: that constraint may be ignored.
        check(&with_raw(raw_constraint(rid(), false)), NOW).unwrap();
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
