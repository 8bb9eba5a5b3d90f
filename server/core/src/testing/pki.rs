//! A root → intermediate → leaf chain, with the broken variants the PCA
//! checks must refuse.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
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
}

impl Default for ChainOptions {
    fn default() -> Self {
        Self {
            leaf_cn: "payments-agent".into(),
            leaf_expired: false,
            leaf_not_yet_valid: false,
            intermediate_not_ca: false,
            leaf_unknown_critical: false,
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
        let int_cert = int.signed_by(&int_key, &root_issuer).expect("intermediate");
        let int_issuer = Issuer::new(int, int_key);

        let leaf_key = KeyPair::generate().expect("key");
        let mut leaf =
            CertificateParams::new(vec!["agent.payments.corp".to_owned()]).expect("params");
        leaf.distinguished_name
            .push(DnType::CommonName, o.leaf_cn.as_str());
        leaf.distinguished_name
            .push(DnType::OrganizationalUnitName, "payments");
        leaf.subject_alt_names.push(SanType::URI(
            "spiffe://corp/payments/agent".try_into().expect("uri"),
        ));
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
