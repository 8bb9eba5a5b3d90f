//! Public keys a client registers for `private_key_jwt` (RFC 7523): PEM
//! SubjectPublicKeyInfo, a PEM certificate, or a JWK. Everything is kept as a
//! public JWK, named by its RFC 7638 thumbprint.
//!
//! Signatures are checked with aws-lc-rs directly (already linked for TLS):
//! it covers ES512 / P-521, which the SDK uses for P-521 keys and
//! jsonwebtoken does not, and keeps the algorithm allow-list explicit here.

use crate::names::InvalidInput;
use aws_lc_rs::signature::{self, ParsedPublicKey, RsaPublicKeyComponents};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use x509_parser::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    P256,
    P384,
    P521,
}

impl Curve {
    fn name(self) -> &'static str {
        match self {
            Self::P256 => "P-256",
            Self::P384 => "P-384",
            Self::P521 => "P-521",
        }
    }
    fn coord_len(self) -> usize {
        match self {
            Self::P256 => 32,
            Self::P384 => 48,
            Self::P521 => 66,
        }
    }
    fn from_name(s: &str) -> Option<Self> {
        match s {
            "P-256" => Some(Self::P256),
            "P-384" => Some(Self::P384),
            "P-521" => Some(Self::P521),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
enum Material {
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    /// Uncompressed SEC1 point, and the key parsed once for verification
    /// (parsing validates the point, which costs field inversions).
    Ec {
        curve: Curve,
        point: Vec<u8>,
        parsed: Arc<ParsedPublicKey>,
    },
}

#[derive(Debug, Clone)]
pub struct ClientPublicKey {
    material: Material,
    kid: String,
}

/// Keys are equal when their thumbprints are.
impl PartialEq for ClientPublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.kid == other.kid
    }
}
impl Eq for ClientPublicKey {}

/// Signature algorithms accepted on client assertions. Nothing else: no
/// `none`, no HMAC (a public key is not an HMAC secret), no PS* for now.
pub const ALLOWED_ALGS: &[&str] = &["RS256", "RS384", "RS512", "ES256", "ES384", "ES512"];

fn invalid(msg: impl Into<String>) -> InvalidInput {
    InvalidInput {
        field: "public key",
        message: msg.into(),
    }
}

fn strip_zeros(b: &[u8]) -> Vec<u8> {
    let i = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    b[i..].to_vec()
}

impl ClientPublicKey {
    /// Parses PEM (`PUBLIC KEY` or `CERTIFICATE`) or a JWK JSON object.
    pub fn parse(input: &str) -> Result<Self, InvalidInput> {
        let input = input.trim();
        if input.len() > 16 * 1024 {
            return Err(invalid("is too large"));
        }
        if input.starts_with('{') {
            let v: Value =
                serde_json::from_str(input).map_err(|_| invalid("is not valid JWK JSON"))?;
            return Self::from_jwk(&v);
        }
        let (_, pem) = x509_parser::pem::parse_x509_pem(input.as_bytes())
            .map_err(|_| invalid("must be a PEM public key, a PEM certificate, or a JWK"))?;
        match pem.label.as_str() {
            "PUBLIC KEY" => {
                let (_, spki) = SubjectPublicKeyInfo::from_der(&pem.contents)
                    .map_err(|_| invalid("PEM PUBLIC KEY is not a SubjectPublicKeyInfo"))?;
                Self::from_spki(&spki)
            }
            "CERTIFICATE" => {
                let (_, cert) = X509Certificate::from_der(&pem.contents)
                    .map_err(|_| invalid("PEM CERTIFICATE could not be parsed"))?;
                Self::from_spki(cert.public_key())
            }
            "RSA PUBLIC KEY" => Err(invalid(
                "PKCS#1 'RSA PUBLIC KEY' is not accepted: export it as 'PUBLIC KEY' (SubjectPublicKeyInfo)",
            )),
            l if l.contains("PRIVATE") => {
                Err(invalid("this is a private key: upload only the public key"))
            }
            other => Err(invalid(format!(
                "PEM '{other}' is not a public key or certificate"
            ))),
        }
    }

    pub fn from_spki(spki: &SubjectPublicKeyInfo<'_>) -> Result<Self, InvalidInput> {
        match spki.parsed().map_err(|_| invalid("unsupported key type"))? {
            x509_parser::public_key::PublicKey::RSA(rsa) => {
                Self::rsa(strip_zeros(rsa.modulus), strip_zeros(rsa.exponent))
            }
            x509_parser::public_key::PublicKey::EC(point) => {
                let oid = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|p| p.as_oid().ok());
                let curve = match oid.map(|o| o.to_id_string()).as_deref() {
                    Some("1.2.840.10045.3.1.7") => Curve::P256,
                    Some("1.3.132.0.34") => Curve::P384,
                    Some("1.3.132.0.35") => Curve::P521,
                    _ => return Err(invalid("EC keys must be on P-256, P-384 or P-521")),
                };
                Self::ec(curve, point.data().to_vec())
            }
            _ => Err(invalid(
                "only RSA (2048 bits or more) and EC P-256/384/521 keys are accepted",
            )),
        }
    }

    pub fn from_jwk(v: &Value) -> Result<Self, InvalidInput> {
        if v.get("d").is_some() || v.get("p").is_some() {
            return Err(invalid(
                "this JWK holds a private key: upload only the public part",
            ));
        }
        let b64 = |k: &str| -> Result<Vec<u8>, InvalidInput> {
            let s = v
                .get(k)
                .and_then(Value::as_str)
                .ok_or_else(|| invalid(format!("JWK is missing '{k}'")))?;
            URL_SAFE_NO_PAD
                .decode(s.trim_end_matches('='))
                .map_err(|_| invalid(format!("JWK '{k}' is not base64url")))
        };
        match v.get("kty").and_then(Value::as_str) {
            Some("RSA") => Self::rsa(strip_zeros(&b64("n")?), strip_zeros(&b64("e")?)),
            Some("EC") => {
                let curve = v
                    .get("crv")
                    .and_then(Value::as_str)
                    .and_then(Curve::from_name)
                    .ok_or_else(|| invalid("EC JWK 'crv' must be P-256, P-384 or P-521"))?;
                let (x, y) = (b64("x")?, b64("y")?);
                if x.len() != curve.coord_len() || y.len() != curve.coord_len() {
                    return Err(invalid(
                        "EC JWK coordinates have the wrong length for the curve",
                    ));
                }
                let mut point = vec![4u8];
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                Self::ec(curve, point)
            }
            _ => Err(invalid("JWK 'kty' must be RSA or EC")),
        }
    }

    fn rsa(n: Vec<u8>, e: Vec<u8>) -> Result<Self, InvalidInput> {
        let bits = n.len() * 8 - n.first().map_or(8, |b| b.leading_zeros() as usize);
        if bits < 2048 {
            return Err(invalid(format!(
                "RSA keys must have at least 2048 bits (this one has {bits})"
            )));
        }
        if bits > 8192 || e.is_empty() || e.len() > 8 {
            return Err(invalid("RSA key parameters are out of range"));
        }
        let thumb = format!(
            r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
            URL_SAFE_NO_PAD.encode(&e),
            URL_SAFE_NO_PAD.encode(&n)
        );
        Ok(Self {
            kid: URL_SAFE_NO_PAD.encode(Sha256::digest(thumb)),
            material: Material::Rsa { n, e },
        })
    }

    fn ec(curve: Curve, point: Vec<u8>) -> Result<Self, InvalidInput> {
        let c = curve.coord_len();
        if point.len() != 1 + 2 * c || point[0] != 4 {
            return Err(invalid("EC public key must be an uncompressed point"));
        }
        // Reject points not on the curve now rather than at first use.
        let alg: &'static dyn signature::VerificationAlgorithm = match curve {
            Curve::P256 => &signature::ECDSA_P256_SHA256_FIXED,
            Curve::P384 => &signature::ECDSA_P384_SHA384_FIXED,
            Curve::P521 => &signature::ECDSA_P521_SHA512_FIXED,
        };
        let parsed = ParsedPublicKey::new(alg, &point)
            .map_err(|_| invalid("EC public key is not a point on the curve"))?;
        let (x, y) = (
            URL_SAFE_NO_PAD.encode(&point[1..1 + c]),
            URL_SAFE_NO_PAD.encode(&point[1 + c..]),
        );
        let thumb = format!(
            r#"{{"crv":"{}","kty":"EC","x":"{x}","y":"{y}"}}"#,
            curve.name()
        );
        Ok(Self {
            kid: URL_SAFE_NO_PAD.encode(Sha256::digest(thumb)),
            material: Material::Ec {
                curve,
                point,
                parsed: Arc::new(parsed),
            },
        })
    }

    /// RFC 7638 thumbprint: the key's stable id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// `RSA-2048`, `EC P-256`, …
    pub fn describe(&self) -> String {
        match &self.material {
            Material::Rsa { n, .. } => format!(
                "RSA-{}",
                n.len() * 8 - n.first().map_or(8, |b| b.leading_zeros() as usize)
            ),
            Material::Ec { curve, .. } => format!("EC {}", curve.name()),
        }
    }

    pub fn to_jwk(&self) -> Value {
        match &self.material {
            Material::Rsa { n, e } => {
                json!({"kty": "RSA", "n": URL_SAFE_NO_PAD.encode(n), "e": URL_SAFE_NO_PAD.encode(e), "kid": self.kid})
            }
            Material::Ec { curve, point, .. } => {
                let c = curve.coord_len();
                json!({"kty": "EC", "crv": curve.name(), "x": URL_SAFE_NO_PAD.encode(&point[1..1 + c]), "y": URL_SAFE_NO_PAD.encode(&point[1 + c..]), "kid": self.kid})
            }
        }
    }

    /// Checks a JWS signature made with `alg` over `message`. An algorithm
    /// that does not fit this key (or is not allowed) is simply `false`.
    pub fn verify(&self, alg: &str, message: &[u8], sig: &[u8]) -> bool {
        match (&self.material, alg) {
            (Material::Rsa { n, e }, "RS256" | "RS384" | "RS512") => {
                let params = match alg {
                    "RS256" => &signature::RSA_PKCS1_2048_8192_SHA256,
                    "RS384" => &signature::RSA_PKCS1_2048_8192_SHA384,
                    _ => &signature::RSA_PKCS1_2048_8192_SHA512,
                };
                RsaPublicKeyComponents {
                    n: n.as_slice(),
                    e: e.as_slice(),
                }
                .verify(params, message, sig)
                .is_ok()
            }
            (
                Material::Ec {
                    curve: Curve::P256,
                    parsed,
                    ..
                },
                "ES256",
            )
            | (
                Material::Ec {
                    curve: Curve::P384,
                    parsed,
                    ..
                },
                "ES384",
            )
            | (
                Material::Ec {
                    curve: Curve::P521,
                    parsed,
                    ..
                },
                "ES512",
            ) => parsed.verify_sig(message, sig).is_ok(),
            _ => false,
        }
    }
}
