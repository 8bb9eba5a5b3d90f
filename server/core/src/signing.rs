//! The instance signing key (ES256) and the JWKS that publishes it.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Header};
use serde::Serialize;
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the signing key file is not a PKCS#8 P-256 private key")]
    BadKey,
    #[error("could not sign the token")]
    Sign,
}

/// One public key in JWKS form (RFC 7517).
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct PublicJwk {
    pub kty: String,
    pub crv: String,
    pub x: String,
    pub y: String,
    pub kid: String,
    pub alg: String,
    #[serde(rename = "use")]
    pub use_: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Jwks {
    pub keys: Vec<PublicJwk>,
}

pub struct SigningKey {
    kid: String,
    /// Parsed once. `jsonwebtoken::encode` parses the PKCS#8 key on every
    /// call, and parsing checks the key pair with a scalar multiplication:
    /// that doubled the P-256 work of every token (seen in the profile).
    key_pair: EcdsaKeyPair,
    rng: SystemRandom,
    jwk: PublicJwk,
    /// The JWS header, base64url-encoded once: it never changes.
    header_b64: String,
}

impl SigningKey {
    /// A new P-256 key; returns it with its PKCS#8 PEM for storage.
    pub fn generate() -> Result<(Self, String), KeyError> {
        let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .map_err(|_| KeyError::BadKey)?;
        let pem = kp.serialize_pem();
        Ok((Self::from_pkcs8_pem(&pem)?, pem))
    }

    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, KeyError> {
        let kp = rcgen::KeyPair::from_pem(pem).map_err(|_| KeyError::BadKey)?;
        if kp.algorithm() != &rcgen::PKCS_ECDSA_P256_SHA256 {
            return Err(KeyError::BadKey);
        }
        let raw = kp.public_key_raw();
        // Uncompressed SEC1 point: 0x04 || x (32) || y (32).
        if raw.len() != 65 || raw[0] != 4 {
            return Err(KeyError::BadKey);
        }
        let x = URL_SAFE_NO_PAD.encode(&raw[1..33]);
        let y = URL_SAFE_NO_PAD.encode(&raw[33..65]);
        // RFC 7638 thumbprint as the kid: stable for the key, different per key.
        let thumb_input = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(thumb_input.as_bytes()));
        let key_pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &kp.serialize_der())
                .map_err(|_| KeyError::BadKey)?;
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(kid.clone());
        header.typ = Some("at+jwt".into()); // RFC 9068 access token
        let header_b64 =
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).map_err(|_| KeyError::BadKey)?);
        let jwk = PublicJwk {
            kty: "EC".into(),
            crv: "P-256".into(),
            x,
            y,
            kid: kid.clone(),
            alg: "ES256".into(),
            use_: "sig".into(),
        };
        Ok(Self {
            kid,
            key_pair,
            rng: SystemRandom::new(),
            jwk,
            header_b64,
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The `kid` a compact JWS's header names, if any (no verification:
    /// it only picks which of Writ's keys to verify with).
    pub fn kid_of(token: &str) -> Option<String> {
        jsonwebtoken::decode_header(token).ok().and_then(|h| h.kid)
    }

    pub fn jwk(&self) -> &PublicJwk {
        &self.jwk
    }

    /// Verifies a token Writ signed (the developer API's bearer): ES256,
    /// this key's kid, `iss` and `aud` as given, not expired. Returns the claims.
    pub fn verify_own(
        &self,
        token: &str,
        issuer: &str,
        audience: &str,
        now: i64,
        skew_secs: i64,
    ) -> Result<serde_json::Value, &'static str> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|_| "the bearer token is not a JWT")?;
        if header.alg != Algorithm::ES256 || header.kid.as_deref() != Some(self.kid.as_str()) {
            return Err("the bearer token was not issued by this Writ");
        }
        let key = jsonwebtoken::DecodingKey::from_ec_components(&self.jwk.x, &self.jwk.y)
            .map_err(|_| "the bearer token was not issued by this Writ")?;
        let mut v = jsonwebtoken::Validation::new(Algorithm::ES256);
        v.set_issuer(&[issuer]);
        v.set_audience(&[audience]);
        v.set_required_spec_claims(&["exp", "iss", "aud"]);
        v.validate_exp = false;
        let claims = jsonwebtoken::decode::<serde_json::Value>(token, &key, &v)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidAudience => {
                    "the bearer token is for another audience (ask for urn:cloud:idaas:pam)"
                }
                _ => "the bearer token is invalid",
            })?
            .claims;
        let exp = claims
            .get("exp")
            .and_then(serde_json::Value::as_i64)
            .unwrap_or(0);
        if exp <= now - skew_secs {
            return Err("the bearer token has expired");
        }
        Ok(claims)
    }

    /// A compact JWS (ES256: the fixed 64-byte r || s signature).
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, KeyError> {
        let claims = serde_json::to_vec(claims).map_err(|_| KeyError::Sign)?;
        let mut jws = String::with_capacity(self.header_b64.len() + claims.len() * 4 / 3 + 92);
        jws.push_str(&self.header_b64);
        jws.push('.');
        URL_SAFE_NO_PAD.encode_string(&claims, &mut jws);
        let sig = self
            .key_pair
            .sign(&self.rng, jws.as_bytes())
            .map_err(|_| KeyError::Sign)?;
        jws.push('.');
        URL_SAFE_NO_PAD.encode_string(sig.as_ref(), &mut jws);
        Ok(jws)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation};

    #[test]
    fn signs_tokens_the_jwk_verifies() {
        let (key, pem) = SigningKey::generate().unwrap();
        let again = SigningKey::from_pkcs8_pem(&pem).unwrap();
        assert_eq!(key.kid(), again.kid());
        let token = key
            .sign(&serde_json::json!({"sub": "x", "exp": 4_000_000_000u64}))
            .unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.kid.as_deref(), Some(key.kid()));
        assert_eq!(header.alg, Algorithm::ES256);
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        let dk = DecodingKey::from_ec_components(&key.jwk().x, &key.jwk().y).unwrap();
        let mut v = Validation::new(Algorithm::ES256);
        v.validate_aud = false;
        let data = jsonwebtoken::decode::<serde_json::Value>(&token, &dk, &v).unwrap();
        assert_eq!(data.claims["sub"], "x");
        // A different key's JWK does not verify it.
        let (other, _) = SigningKey::generate().unwrap();
        let dk2 = DecodingKey::from_ec_components(&other.jwk().x, &other.jwk().y).unwrap();
        assert!(jsonwebtoken::decode::<serde_json::Value>(&token, &dk2, &v).is_err());
    }

    #[test]
    fn rejects_garbage_pem() {
        assert!(
            SigningKey::from_pkcs8_pem(
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
            )
            .is_err()
        );
    }
}
