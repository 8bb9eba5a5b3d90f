//! PKCS#7 federation: a cloud instance's signed identity document (AWS EC2
//! `/dynamic/instance-identity/pkcs7` or `/rsa2048`, Alibaba Cloud ECS/ECI
//! `/dynamic/instance-identity/pkcs7?audience=…`), base64 DER CMS
//! SignedData with the JSON document inside.
//!
//! Verified against the provider's verification certificate: the
//! `messageDigest` attribute must equal the content's digest and the
//! signature over the signed attributes must verify (DSA-SHA1 for AWS's
//! `/pkcs7`, RSA for `/rsa2048` and Alibaba). Then the account, for Alibaba
//! the audience (this Writ instance), and the age.
//!
//! Age: a provider's `max_document_age_seconds`, or when it is `None` its
//! trust source's default, counted
//! - for AWS from the document's `pendingTime`, the instance's launch
//!   (default [`DEFAULT_AWS_MAX_AGE_SECS`], 7 days). AWS documents carry no
//!   audience or nonce and the metadata service serves the same one for
//!   the instance's life, so a captured document replays until the
//!   instance is older than the maximum: this bounds the replay, and no
//!   AWS provider is without a bound;
//! - for Alibaba from the signing time (default
//!   [`DEFAULT_ALIBABA_MAX_AGE_SECS`], 75 minutes): the SDK fetches a fresh
//!   document, with this Writ as its audience, about every hour.
//!
//! Either refusal is `document_too_old`.

use crate::error::{OAuthError, OAuthErrorCode};
use crate::names::InvalidInput;
use base64::Engine;
use cms::cert::x509::der::asn1::{ObjectIdentifier, OctetString};
use cms::cert::x509::der::{Decode, Encode};
use cms::content_info::ContentInfo;
use cms::signed_data::SignedData;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

pub const ASSERTION_TYPE_PKCS7: &str =
    "urn:cloud:idaas:params:oauth:client-assertion-type:pkcs7-bearer";

const MAX_DOCUMENT: usize = 32 * 1024;
/// Alibaba documents are cached by the SDK up to ~70 minutes.
pub const DEFAULT_ALIBABA_MAX_AGE_SECS: i64 = 75 * 60;
/// Oldest AWS instance (since `pendingTime`, its launch) whose documents
/// are accepted when the provider sets no maximum: 7 days.
///
/// An AWS document is the only thing a workload proves itself with, it
/// carries no audience or nonce, and the instance serves the same one for
/// its whole life: whoever reads it once (a log, a proxy, an SSRF into the
/// metadata service) can use it until this age is reached. Without a
/// default that was forever. Seven days is long enough for the fleets this
/// federation suits (Auto Scaling groups, spot and batch capacity, CI
/// runners, which are replaced within days; an Auto Scaling group's
/// "maximum instance lifetime" keeps them so), and short enough that a
/// document lifted from a new instance is dead within a week. Longer-lived
/// instances need a larger maximum set on their provider, a visible,
/// deliberate choice (up to 10 years). (AWS regenerates the document
/// when a stopped instance is started, with that start as `pendingTime`.)
pub const DEFAULT_AWS_MAX_AGE_SECS: i64 = 7 * 86_400;

const OID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const OID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const OID_SIGNING_TIME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");
const OID_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const OID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TrustSource {
    AwsEc2,
    AlibabaCloudEcs,
}

impl TrustSource {
    pub fn parse(s: &str) -> Result<Self, InvalidInput> {
        match s.trim() {
            "aws_ec2" => Ok(Self::AwsEc2),
            "alibaba_cloud_ecs" => Ok(Self::AlibabaCloudEcs),
            _ => Err(InvalidInput {
                field: "trust_source",
                message: "must be aws_ec2 or alibaba_cloud_ecs".into(),
            }),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AwsEc2 => "aws_ec2",
            Self::AlibabaCloudEcs => "alibaba_cloud_ecs",
        }
    }
    /// The document field naming the instance.
    pub fn instance_id_field(self) -> &'static str {
        match self {
            Self::AwsEc2 => "instanceId",
            Self::AlibabaCloudEcs => "instance-id",
        }
    }
    /// Maximum age when the provider sets none (see the module docs for
    /// what the age counts from).
    pub fn default_max_age_secs(self) -> i64 {
        match self {
            Self::AwsEc2 => DEFAULT_AWS_MAX_AGE_SECS,
            Self::AlibabaCloudEcs => DEFAULT_ALIBABA_MAX_AGE_SECS,
        }
    }
    fn account_field(self) -> &'static str {
        match self {
            Self::AwsEc2 => "accountId",
            Self::AlibabaCloudEcs => "owner-account-id",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Pkcs7ProviderConfig {
    pub trust_source: TrustSource,
    /// PEM certificate whose key signs the documents.
    pub verification_certificate: String,
    pub account_id: String,
    /// Oldest document (Alibaba: since signing) or instance (AWS: since
    /// launch, the document's `pendingTime`) accepted, in seconds; `None` =
    /// the trust source's default ([`TrustSource::default_max_age_secs`]:
    /// 7 days for AWS, 75 minutes for Alibaba).
    pub max_document_age_seconds: Option<i64>,
}

impl Pkcs7ProviderConfig {
    pub fn parse(
        trust_source: &str,
        verification_certificate: &str,
        account_id: &str,
        max_document_age_seconds: Option<i64>,
    ) -> Result<Self, InvalidInput> {
        let bad = |field: &'static str, m: &str| InvalidInput {
            field,
            message: m.into(),
        };
        let trust_source = TrustSource::parse(trust_source)?;
        let ders = super::pca::pem_certificates(verification_certificate)
            .map_err(|m| bad("verification_certificate", &m))?;
        let [der] = ders.as_slice() else {
            return Err(bad(
                "verification_certificate",
                "must be exactly one PEM certificate",
            ));
        };
        VerifyKey::from_cert(der).map_err(|m| bad("verification_certificate", &m))?;
        let account_id = account_id.trim();
        if account_id.is_empty() || account_id.len() > 64 {
            return Err(bad("account_id", "is required (at most 64 characters)"));
        }
        if let Some(a) = max_document_age_seconds
            && !(60..=10 * 365 * 86_400).contains(&a)
        {
            return Err(bad(
                "max_document_age_seconds",
                "must be between 60 seconds and 10 years",
            ));
        }
        Ok(Self {
            trust_source,
            verification_certificate: verification_certificate.trim().to_owned() + "\n",
            account_id: account_id.to_owned(),
            max_document_age_seconds,
        })
    }

    /// The maximum age in force: the configured one, else the trust source's default.
    pub fn max_age_secs(&self) -> i64 {
        self.max_document_age_seconds
            .unwrap_or_else(|| self.trust_source.default_max_age_secs())
    }
}

enum VerifyKey {
    Dsa(Box<dsa::VerifyingKey>),
    /// PKCS#1 RSAPublicKey DER.
    Rsa(Vec<u8>),
}

impl VerifyKey {
    fn from_cert(der: &[u8]) -> Result<Self, String> {
        use dsa::pkcs8::spki::DecodePublicKey;
        let (_, c) = X509Certificate::from_der(der).map_err(|_| "cannot be parsed".to_string())?;
        let spki = c.public_key();
        match spki.algorithm.algorithm.to_id_string().as_str() {
            "1.2.840.10040.4.1" => dsa::VerifyingKey::from_public_key_der(spki.raw)
                .map(|k| Self::Dsa(Box::new(k)))
                .map_err(|_| "holds a DSA key of an unsupported size".to_string()),
            "1.2.840.113549.1.1.1" => Ok(Self::Rsa(spki.subject_public_key.data.to_vec())),
            _ => Err("must hold a DSA or RSA key (as EC2 and ECS sign with)".into()),
        }
    }

    fn verify(&self, digest_oid: &ObjectIdentifier, signed: &[u8], sig: &[u8]) -> bool {
        match self {
            Self::Dsa(k) => {
                use dsa::signature::hazmat::PrehashVerifier;
                let Ok(sig) = dsa::Signature::try_from(sig) else {
                    return false;
                };
                let prehash: Vec<u8> = if *digest_oid == OID_SHA1 {
                    Sha1::digest(signed).to_vec()
                } else {
                    Sha256::digest(signed).to_vec()
                };
                k.verify_prehash(&prehash, &sig).is_ok()
            }
            Self::Rsa(pk) => {
                use aws_lc_rs::signature::{
                    RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY, RSA_PKCS1_2048_8192_SHA256,
                    UnparsedPublicKey,
                };
                if *digest_oid == OID_SHA1 {
                    UnparsedPublicKey::new(&RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY, pk)
                        .verify(signed, sig)
                        .is_ok()
                } else {
                    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, pk)
                        .verify(signed, sig)
                        .is_ok()
                }
            }
        }
    }
}

/// A provider's trust, decoded once.
pub struct Pkcs7Trust {
    cfg: Pkcs7ProviderConfig,
    key: VerifyKey,
    cert_fields: Value,
    /// SHA-256 of documents whose signature already verified with this key.
    /// An instance sends the same document for hours, and a DSA verify costs
    /// ~1 ms; the result for identical bytes and key cannot change. Every
    /// other check (account, audience, age) still runs on each request.
    verified: std::sync::Mutex<std::collections::HashSet<[u8; 32]>>,
}

const VERIFIED_CACHE: usize = 1024;

impl std::fmt::Debug for Pkcs7Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs7Trust")
            .field("cfg", &self.cfg)
            .finish()
    }
}

impl Pkcs7Trust {
    pub fn new(cfg: &Pkcs7ProviderConfig) -> Result<Self, OAuthError> {
        let der = super::pca::pem_certificates(&cfg.verification_certificate)
            .ok()
            .and_then(|v| v.into_iter().next())
            .ok_or_else(OAuthError::server_error)?;
        Ok(Self {
            key: VerifyKey::from_cert(&der).map_err(|_| OAuthError::server_error())?,
            cert_fields: super::pca::fields_of_der(&der).unwrap_or(Value::Null),
            cfg: cfg.clone(),
            verified: Default::default(),
        })
    }
}

fn reject(reason: &'static str, d: impl Into<String>) -> OAuthError {
    OAuthError::new(
        OAuthErrorCode::InvalidClient,
        reason,
        format!("instance identity document rejected: {}", d.into()),
    )
}

/// A document whose signature, account, audience and age passed.
#[derive(Debug, Clone)]
pub struct VerifiedDocument {
    pub instance_id: String,
    /// The `pkcs7.*` fields expressions see.
    pub fields: Value,
}

struct Parsed {
    content: Vec<u8>,
    digest_oid: ObjectIdentifier,
    signed: Vec<u8>,
    signature: Vec<u8>,
    message_digest: Option<Vec<u8>>,
    signing_time: Option<i64>,
}

fn parse(der: &[u8]) -> Option<Parsed> {
    let ci = ContentInfo::from_der(der).ok()?;
    if ci.content_type != OID_SIGNED_DATA {
        return None;
    }
    let sd: SignedData = ci.content.decode_as().ok()?;
    let content: OctetString = sd.encap_content_info.econtent?.decode_as().ok()?;
    let si = sd.signer_infos.0.iter().next()?;
    let mut message_digest = None;
    let mut signing_time = None;
    let signed = match &si.signed_attrs {
        Some(attrs) => {
            for a in attrs.iter() {
                let v = a.values.iter().next();
                if a.oid == OID_MESSAGE_DIGEST {
                    message_digest = v
                        .and_then(|v| v.decode_as::<OctetString>().ok())
                        .map(|o| o.as_bytes().to_vec());
                } else if a.oid == OID_SIGNING_TIME {
                    signing_time = v
                        .and_then(|v| v.to_der().ok())
                        .and_then(|d| cms::cert::x509::time::Time::from_der(&d).ok())
                        .map(|t| t.to_unix_duration().as_secs() as i64);
                }
            }
            attrs.to_der().ok()?
        }
        None => content.as_bytes().to_vec(),
    };
    Some(Parsed {
        content: content.as_bytes().to_vec(),
        digest_oid: si.digest_alg.oid,
        signed,
        signature: si.signature.as_bytes().to_vec(),
        message_digest,
        signing_time,
    })
}

/// messageDigest against the content, then the signature over the signed
/// attributes (or the content) with the provider's key.
fn check_signature(p: &Parsed, trust: &Pkcs7Trust) -> Result<(), OAuthError> {
    if let Some(md) = &p.message_digest {
        let actual = if p.digest_oid == OID_SHA1 {
            Sha1::digest(&p.content).to_vec()
        } else {
            Sha256::digest(&p.content).to_vec()
        };
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            md.as_slice(),
            actual.as_slice(),
        )) {
            return Err(reject(
                "document_signature",
                "content does not match its digest",
            ));
        }
    } else if p.signed != p.content {
        return Err(reject(
            "document_malformed",
            "signed attributes lack messageDigest",
        ));
    }
    if !trust.key.verify(&p.digest_oid, &p.signed, &p.signature) {
        return Err(reject(
            "document_signature",
            "signature does not verify with the provider's certificate",
        ));
    }
    Ok(())
}

/// Verifies a document (base64 DER, with or without PEM armour or newlines).
/// Long on purpose: decoding, the signer binding, the digest and signature
/// checks and the payload rules (account, audience, age) are one ordered
/// sequence whose every step may refuse; split, the order would be hidden.
pub fn verify(
    document: &str,
    trust: &Pkcs7Trust,
    writ_instance_id: &str,
    now: i64,
    skew: i64,
) -> Result<VerifiedDocument, OAuthError> {
    if document.len() > MAX_DOCUMENT {
        return Err(reject("document_too_long", "too long"));
    }
    let b64: String = document
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .flat_map(|l| l.trim().chars())
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64.as_bytes())
        .map_err(|_| reject("document_malformed", "not base64"))?;
    let p =
        parse(&der).ok_or_else(|| reject("document_malformed", "not a CMS SignedData document"))?;
    if p.digest_oid != OID_SHA1 && p.digest_oid != OID_SHA256 {
        return Err(reject("document_alg", "digest must be SHA-1 or SHA-256"));
    }
    let fingerprint: [u8; 32] = Sha256::digest(&der).into();
    let known = trust
        .verified
        .lock()
        .is_ok_and(|v| v.contains(&fingerprint));
    if !known {
        check_signature(&p, trust)?;
        if let Ok(mut v) = trust.verified.lock() {
            if v.len() >= VERIFIED_CACHE {
                v.clear();
            }
            v.insert(fingerprint);
        }
    }
    let json: Value = serde_json::from_slice(&p.content)
        .map_err(|_| reject("document_malformed", "payload is not JSON"))?;
    let src = trust.cfg.trust_source;
    let field = |k: &str| json.get(k).and_then(Value::as_str).map(str::to_owned);
    let account = field(src.account_field()).unwrap_or_default();
    if account != trust.cfg.account_id {
        return Err(reject(
            "document_account",
            "the document is from another cloud account",
        ));
    }
    let instance_id = field(src.instance_id_field())
        .filter(|i| !i.is_empty())
        .ok_or_else(|| reject("document_malformed", "no instance id"))?;
    let mut signing_time = p.signing_time;
    match src {
        TrustSource::AwsEc2 => {
            // Always bounded: `None` is the default maximum, not no limit.
            let launched = field("pendingTime")
                .and_then(|t| {
                    time::OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .map(|t| t.unix_timestamp())
                .ok_or_else(|| reject("document_malformed", "no pendingTime"))?;
            if now - launched > trust.cfg.max_age_secs() + skew {
                return Err(reject(
                    "document_too_old",
                    "the instance is older than the provider's maximum age",
                ));
            }
        }
        TrustSource::AlibabaCloudEcs => {
            // `audience` is the JSON text the SDK sent: {"aud": "<instance>", "signingTime": s}.
            let aud: Value = field("audience")
                .and_then(|a| serde_json::from_str(&a).ok())
                .unwrap_or(Value::Null);
            if aud.get("aud").and_then(Value::as_str) != Some(writ_instance_id) {
                return Err(reject(
                    "document_audience",
                    "the document's audience is not this Writ instance",
                ));
            }
            signing_time = signing_time.or_else(|| aud.get("signingTime").and_then(Value::as_i64));
            let signed_at =
                signing_time.ok_or_else(|| reject("document_malformed", "no signing time"))?;
            let max = trust.cfg.max_age_secs();
            if signed_at > now + skew {
                return Err(reject("document_not_yet_valid", "signed in the future"));
            }
            if now - signed_at > max + skew {
                return Err(reject(
                    "document_too_old",
                    "the document is older than the provider's maximum age",
                ));
            }
        }
    }
    Ok(VerifiedDocument {
        instance_id,
        fields: json!({
            "payload": {"jsonData": json},
            "signingTime": signing_time,
            "cert": trust.cert_fields,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::cloud::{CloudSigner, KeyKind};

    const NOW: i64 = 1_790_000_000;

    fn aws_doc(account: &str) -> String {
        json!({"accountId": account, "instanceId": "i-0abc", "region": "us-east-1",
            "pendingTime": "2026-09-20T00:00:00Z", "architecture": "x86_64"})
        .to_string()
    }

    #[test]
    fn aws_dsa_sha1_documents_verify() {
        let s = CloudSigner::new(KeyKind::Dsa);
        let cfg = Pkcs7ProviderConfig::parse("aws_ec2", &s.cert_pem, "123456789012", None).unwrap();
        let t = Pkcs7Trust::new(&cfg).unwrap();
        let d = verify(&s.sign(&aws_doc("123456789012")), &t, "idaas_x", NOW, 60).unwrap();
        assert_eq!(d.instance_id, "i-0abc");
        assert_eq!(d.fields["payload"]["jsonData"]["region"], "us-east-1");
        // Wrong account, forged content, another signer.
        let e = verify(&s.sign(&aws_doc("999")), &t, "idaas_x", NOW, 60).unwrap_err();
        assert_eq!(e.reason, "document_account");
        let other = CloudSigner::new(KeyKind::Dsa);
        let e = verify(
            &other.sign(&aws_doc("123456789012")),
            &t,
            "idaas_x",
            NOW,
            60,
        )
        .unwrap_err();
        assert_eq!(e.reason, "document_signature");
        // The same document again hits the verified-signature cache; the
        // account check still runs, and a forgery is still refused.
        let doc = s.sign(&aws_doc("123456789012"));
        assert!(verify(&doc, &t, "idaas_x", NOW, 60).is_ok());
        assert!(verify(&doc, &t, "idaas_x", NOW, 60).is_ok());
        // Three distinct signed documents so far (the wrong-account one verified too).
        assert_eq!(t.verified.lock().unwrap().len(), 3);
        let forged = s.sign_then_swap_content(
            &aws_doc("123456789012"),
            &aws_doc("123456789012").replace("i-0abc", "i-evil"),
        );
        let e = verify(&forged, &t, "idaas_x", NOW, 60).unwrap_err();
        assert_eq!(e.reason, "document_signature", "{e}");
        // Maximum instance age.
        let cfg = Pkcs7ProviderConfig::parse("aws_ec2", &s.cert_pem, "123456789012", Some(86_400))
            .unwrap();
        let t = Pkcs7Trust::new(&cfg).unwrap();
        let e = verify(&s.sign(&aws_doc("123456789012")), &t, "idaas_x", NOW, 60).unwrap_err();
        assert_eq!(e.reason, "document_too_old");
    }

    /// An AWS document of an instance launched at `at` (unix seconds).
    fn aws_doc_launched(at: i64) -> String {
        let pending = time::OffsetDateTime::from_unix_timestamp(at)
            .unwrap()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        json!({"accountId": "123456789012", "instanceId": "i-0abc", "region": "us-east-1",
            "pendingTime": pending})
        .to_string()
    }

    #[test]
    fn aws_documents_have_a_default_maximum_age_from_launch() {
        let s = CloudSigner::new(KeyKind::Dsa);
        let trust = |max: Option<i64>| {
            let cfg =
                Pkcs7ProviderConfig::parse("aws_ec2", &s.cert_pem, "123456789012", max).unwrap();
            Pkcs7Trust::new(&cfg).unwrap()
        };
        let default = trust(None);
        assert_eq!(default.cfg.max_age_secs(), DEFAULT_AWS_MAX_AGE_SECS);
        // Launched an hour beyond the default: refused with no maximum configured.
        let old = s.sign(&aws_doc_launched(NOW - DEFAULT_AWS_MAX_AGE_SECS - 3600));
        let e = verify(&old, &default, "idaas_x", NOW, 60).unwrap_err();
        assert_eq!(e.reason, "document_too_old", "{e}");
        // Launched an hour within it: accepted.
        let recent = s.sign(&aws_doc_launched(NOW - DEFAULT_AWS_MAX_AGE_SECS + 3600));
        let d = verify(&recent, &default, "idaas_x", NOW, 60).unwrap();
        assert_eq!(d.instance_id, "i-0abc");
        // A larger configured maximum accepts the older instance.
        let long = trust(Some(30 * 86_400));
        assert!(verify(&old, &long, "idaas_x", NOW, 60).is_ok());
        // Without a launch time there is no age to bound: refused.
        let undated =
            s.sign(&json!({"accountId": "123456789012", "instanceId": "i-0abc"}).to_string());
        let e = verify(&undated, &default, "idaas_x", NOW, 60).unwrap_err();
        assert_eq!(e.reason, "document_malformed", "{e}");
    }

    #[test]
    fn alibaba_rsa_documents_check_audience_and_age() {
        let s = CloudSigner::new(KeyKind::Rsa);
        let cfg =
            Pkcs7ProviderConfig::parse("alibaba_cloud_ecs", &s.cert_pem, "1234", None).unwrap();
        let t = Pkcs7Trust::new(&cfg).unwrap();
        let doc = |aud: &str, at: i64| {
            json!({"instance-id": "i-bp1", "owner-account-id": "1234", "region-id": "cn-hangzhou",
                "audience": json!({"aud": aud, "signingTime": at}).to_string()})
            .to_string()
        };
        // openssl stamps the real signing time, which wins over the audience's.
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let d = verify(&s.sign(&doc("idaas_x", now)), &t, "idaas_x", now, 60).unwrap();
        assert_eq!(d.instance_id, "i-bp1");
        assert_eq!(d.fields["payload"]["jsonData"]["region-id"], "cn-hangzhou");
        let e = verify(&s.sign(&doc("idaas_other", now)), &t, "idaas_x", now, 60).unwrap_err();
        assert_eq!(e.reason, "document_audience");
        let old = s.sign(&doc("idaas_x", now));
        let e = verify(&old, &t, "idaas_x", now + 2 * 3600, 60).unwrap_err();
        assert_eq!(e.reason, "document_too_old");
        assert!(verify("not base64!", &t, "idaas_x", NOW, 60).is_err());
        assert!(verify("aGVsbG8=", &t, "idaas_x", NOW, 60).is_err());
    }
}
