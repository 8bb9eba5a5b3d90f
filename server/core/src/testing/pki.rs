//! A root → intermediate → leaf chain, with the broken variants the PCA
//! checks must refuse: made by rcgen ([`Chain::new`]), or by the `openssl`
//! command line ([`Chain::with_openssl`]) for what rcgen will not make
//! (SHA-1 and MD5 signatures, RSA keys under 2048 bits, DSA).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, NameConstraints, SanType,
};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

#[derive(Debug, Clone)]
pub struct ChainOptions {
    pub leaf_cn: String,
    pub leaf_expired: bool,
    pub leaf_not_yet_valid: bool,
    pub intermediate_not_ca: bool,
    pub leaf_unknown_critical: bool,
    /// Attributes placed before the leaf's CN (the subject is then
    /// `<these>, CN=<leaf_cn>, OU=payments`).
    pub leaf_subject_prefix: Vec<(DnType, String)>,
    /// SANs besides `DNS:agent.payments.corp` and `URI:spiffe://corp/payments/agent`.
    pub leaf_extra_sans: Vec<SanType>,
    /// The leaf's extendedKeyUsage; empty: no such extension.
    pub leaf_extended_key_usages: Vec<ExtendedKeyUsagePurpose>,
    /// NameConstraints (rcgen marks them critical) on the intermediate.
    pub intermediate_name_constraints: Option<NameConstraints>,
    /// NameConstraints on the root.
    pub root_name_constraints: Option<NameConstraints>,
    /// Raw extensions added to the intermediate (e.g. hand-encoded constraints).
    pub intermediate_extensions: Vec<CustomExtension>,
}

impl Default for ChainOptions {
    fn default() -> Self {
        Self {
            leaf_cn: "payments-agent".into(),
            leaf_expired: false,
            leaf_not_yet_valid: false,
            intermediate_not_ca: false,
            leaf_unknown_critical: false,
            leaf_subject_prefix: Vec::new(),
            leaf_extra_sans: Vec::new(),
            leaf_extended_key_usages: Vec::new(),
            intermediate_name_constraints: None,
            root_name_constraints: None,
            intermediate_extensions: Vec::new(),
        }
    }
}

pub struct Chain {
    pub root_pem: String,
    pub intermediate_pem: String,
    pub leaf_pem: String,
    /// PKCS#8 PEM of the leaf's P-256 key.
    pub leaf_key_pem: String,
    leaf_key_der: Vec<u8>,
}

impl Chain {
    pub fn new(now_unix: i64, o: &ChainOptions) -> Self {
        let now = OffsetDateTime::from_unix_timestamp(now_unix).expect("valid time");
        let root_key = KeyPair::generate().expect("key");
        let mut root = CertificateParams::new(Vec::<String>::new()).expect("params");
        root.distinguished_name
            .push(DnType::CommonName, "Test Root CA");
        root.distinguished_name
            .push(DnType::OrganizationName, "Writ Tests");
        root.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        root.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        root.not_before = now - Duration::days(30);
        root.not_after = now + Duration::days(3650);
        root.name_constraints = o.root_name_constraints.clone();
        let root_cert = root.self_signed(&root_key).expect("root");
        let root_issuer = Issuer::new(root, root_key);

        let int_key = KeyPair::generate().expect("key");
        let mut int = CertificateParams::new(Vec::<String>::new()).expect("params");
        int.distinguished_name
            .push(DnType::CommonName, "Test Intermediate CA");
        int.distinguished_name
            .push(DnType::OrganizationName, "Writ Tests");
        if o.intermediate_not_ca {
            int.is_ca = IsCa::ExplicitNoCa;
            int.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        } else {
            int.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
            int.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        }
        int.not_before = now - Duration::days(30);
        int.not_after = now + Duration::days(1825);
        int.name_constraints = o.intermediate_name_constraints.clone();
        int.custom_extensions
            .extend(o.intermediate_extensions.iter().cloned());
        let int_cert = int.signed_by(&int_key, &root_issuer).expect("intermediate");
        let int_issuer = Issuer::new(int, int_key);

        let leaf_key = KeyPair::generate().expect("key");
        let mut leaf =
            CertificateParams::new(vec!["agent.payments.corp".to_owned()]).expect("params");
        if !o.leaf_subject_prefix.is_empty() {
            // rcgen's default name already holds a CN, which would come first.
            leaf.distinguished_name = DistinguishedName::new();
        }
        for (ty, value) in &o.leaf_subject_prefix {
            leaf.distinguished_name.push(ty.clone(), value.as_str());
        }
        leaf.distinguished_name
            .push(DnType::CommonName, o.leaf_cn.as_str());
        leaf.distinguished_name
            .push(DnType::OrganizationalUnitName, "payments");
        leaf.subject_alt_names.push(SanType::URI(
            "spiffe://corp/payments/agent".try_into().expect("uri"),
        ));
        leaf.subject_alt_names
            .extend(o.leaf_extra_sans.iter().cloned());
        leaf.extended_key_usages = o.leaf_extended_key_usages.clone();
        leaf.is_ca = IsCa::ExplicitNoCa;
        leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        leaf.not_before = if o.leaf_not_yet_valid {
            now + Duration::days(1)
        } else {
            now - Duration::days(1)
        };
        leaf.not_after = if o.leaf_expired {
            now - Duration::hours(2)
        } else {
            now + Duration::days(90)
        };
        if o.leaf_unknown_critical {
            let mut ext =
                CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 99999, 1], vec![0x05, 0x00]);
            ext.set_criticality(true);
            leaf.custom_extensions.push(ext);
        }
        let leaf_cert = leaf.signed_by(&leaf_key, &int_issuer).expect("leaf");
        Self {
            root_pem: root_cert.pem(),
            intermediate_pem: int_cert.pem(),
            leaf_pem: leaf_cert.pem(),
            leaf_key_pem: leaf_key.serialize_pem(),
            leaf_key_der: leaf_key.serialize_der(),
        }
    }

    /// A client assertion signed by the leaf key, shaped as the SDK makes it.
    pub fn assertion(&self, client_id: &str, aud: &str, now: i64) -> String {
        self.sign(&json!({"iss": client_id, "sub": client_id, "aud": aud,
            "jti": uuid::Uuid::new_v4().to_string(), "iat": now, "exp": now + 600}))
    }

    pub fn sign(&self, claims: &Value) -> String {
        use aws_lc_rs::rand::SystemRandom;
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &self.leaf_key_der)
            .expect("leaf key");
        let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"ES256","typ":"JWT"}"#);
        let c = URL_SAFE_NO_PAD.encode(claims.to_string());
        let input = format!("{h}.{c}");
        let sig = key
            .sign(&SystemRandom::new(), input.as_bytes())
            .expect("sign");
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
    }
}

/// A key of a [`Chain::with_openssl`] certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpensslKey {
    /// EC P-256: the default, and the only leaf key [`Chain::sign`] can use.
    EcP256,
    /// RSA with a modulus of this many bits.
    Rsa(u32),
    /// DSA 1024/160 (signs `dsa-with-sha1` with the `sha1` digest).
    Dsa1024,
}

/// One certificate of [`Chain::with_openssl`]: its key, and the digest its
/// issuer signs it with (the root: its self-signature), as openssl names
/// them (`sha256`, `sha1`, `md5`).
#[derive(Debug, Clone, Copy)]
pub struct OpensslCert {
    pub key: OpensslKey,
    pub digest: &'static str,
}

impl Default for OpensslCert {
    fn default() -> Self {
        Self {
            key: OpensslKey::EcP256,
            digest: "sha256",
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct OpensslChainOptions {
    pub root: OpensslCert,
    pub intermediate: OpensslCert,
    pub leaf: OpensslCert,
}

/// Extensions as [`Chain::new`] makes them by default.
const OPENSSL_CONFIG: &str = "\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[root_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[int_ext]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[leaf_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
subjectAltName = DNS:agent.payments.corp,URI:spiffe://corp/payments/agent
authorityKeyIdentifier = keyid
";

impl Chain {
    /// The default chain of [`Chain::new`] (same names, CA flags, key usages
    /// and SANs), made by the `openssl` command line with the keys and
    /// digests asked for: algorithms rcgen refuses to make. openssl 3.0
    /// cannot backdate, so every certificate is valid from the real clock's
    /// present for 30 days or more: check it at `OffsetDateTime::now_utc()`.
    pub fn with_openssl(o: &OpensslChainOptions) -> Self {
        use super::cloud::openssl;
        let dir = std::env::temp_dir().join(format!("writ-pki-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(dir.join("ca.cnf"), OPENSSL_CONFIG).expect("config");
        for (name, cert) in [("root", o.root), ("int", o.intermediate), ("leaf", o.leaf)] {
            let key = format!("{name}.key");
            match cert.key {
                OpensslKey::EcP256 => openssl(
                    &dir,
                    &[
                        "genpkey",
                        "-algorithm",
                        "EC",
                        "-pkeyopt",
                        "ec_paramgen_curve:P-256",
                        "-out",
                        &key,
                    ],
                ),
                OpensslKey::Rsa(bits) => openssl(
                    &dir,
                    &[
                        "genpkey",
                        "-algorithm",
                        "RSA",
                        "-pkeyopt",
                        &format!("rsa_keygen_bits:{bits}"),
                        "-out",
                        &key,
                    ],
                ),
                OpensslKey::Dsa1024 => {
                    let params = format!("{name}.params");
                    openssl(
                        &dir,
                        &[
                            "genpkey",
                            "-genparam",
                            "-algorithm",
                            "DSA",
                            "-pkeyopt",
                            "dsa_paramgen_bits:1024",
                            "-pkeyopt",
                            "dsa_paramgen_q_bits:160",
                            "-out",
                            &params,
                        ],
                    );
                    openssl(&dir, &["genpkey", "-paramfile", &params, "-out", &key]);
                }
            }
        }
        openssl(
            &dir,
            &[
                "req",
                "-new",
                "-x509",
                "-config",
                "ca.cnf",
                "-extensions",
                "root_ext",
                "-key",
                "root.key",
                "-subj",
                "/CN=Test Root CA/O=Writ Tests",
                "-days",
                "3650",
                &format!("-{}", o.root.digest),
                "-out",
                "root.pem",
            ],
        );
        let issue =
            |name: &str, subject: &str, issuer: &str, ext: &str, digest: &str, days: &str| {
                let csr = format!("{name}.csr");
                openssl(
                    &dir,
                    &[
                        "req",
                        "-new",
                        "-config",
                        "ca.cnf",
                        "-key",
                        &format!("{name}.key"),
                        "-subj",
                        subject,
                        "-out",
                        &csr,
                    ],
                );
                let serial = format!("0x{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
                openssl(
                    &dir,
                    &[
                        "x509",
                        "-req",
                        "-in",
                        &csr,
                        "-CA",
                        &format!("{issuer}.pem"),
                        "-CAkey",
                        &format!("{issuer}.key"),
                        "-set_serial",
                        &serial,
                        "-days",
                        days,
                        &format!("-{digest}"),
                        "-extfile",
                        "ca.cnf",
                        "-extensions",
                        ext,
                        "-out",
                        &format!("{name}.pem"),
                    ],
                );
            };
        issue(
            "int",
            "/CN=Test Intermediate CA/O=Writ Tests",
            "root",
            "int_ext",
            o.intermediate.digest,
            "1825",
        );
        issue(
            "leaf",
            "/CN=payments-agent/OU=payments",
            "int",
            "leaf_ext",
            o.leaf.digest,
            "30",
        );
        let read = |f: &str| std::fs::read_to_string(dir.join(f)).expect("openssl output");
        let leaf_key_pem = read("leaf.key");
        let leaf_key_der = x509_parser::pem::Pem::iter_from_buffer(leaf_key_pem.as_bytes())
            .next()
            .expect("a PEM block")
            .expect("valid PEM")
            .contents;
        let chain = Self {
            root_pem: read("root.pem"),
            intermediate_pem: read("int.pem"),
            leaf_pem: read("leaf.pem"),
            leaf_key_pem,
            leaf_key_der,
        };
        let _ = std::fs::remove_dir_all(&dir);
        chain
    }
}
