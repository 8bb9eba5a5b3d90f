//! OIDC federation: a token from an external issuer (Kubernetes service
//! account, GitHub Actions, cloud VM identity), checked against the
//! provider's issuer, expected audience and keys.

use crate::error::{OAuthError, OAuthErrorCode};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const ASSERTION_TYPE_ID_TOKEN: &str =
    "urn:cloud:idaas:params:oauth:client-assertion-type:id-token-bearer";

/// Asymmetric algorithms only; never `none` or HMAC.
const ALLOWED: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
];

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OidcProviderConfig {
    pub issuer: String,
    /// The `aud` the external tokens must carry (the ResourceServer identifier).
    pub audience: String,
    /// Verification keys as a JWKS object (pasted, for clusters whose issuer
    /// Writ cannot reach); `null` when the keys are fetched.
    #[serde(default)]
    pub jwks: Value,
    /// Fetch the keys from this JWKS URL (else, with no pasted JWKS, by
    /// discovery from the issuer).
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// Lets fetches use http and loopback / private addresses (local testing).
    #[serde(default)]
    pub allow_insecure_local_endpoints: bool,
}

impl OidcProviderConfig {
    pub fn parse(
        issuer: &str,
        audience: &str,
        jwks: &Value,
    ) -> Result<Self, crate::names::InvalidInput> {
        let bad = |field: &'static str, m: &str| crate::names::InvalidInput {
            field,
            message: m.into(),
        };
        let issuer = issuer.trim();
        if !(issuer.starts_with("https://") || issuer.starts_with("http://")) || issuer.len() > 512
        {
            return Err(bad(
                "issuer",
                "must be an http(s) URL of at most 512 characters",
            ));
        }
        let audience = audience.trim();
        if audience.is_empty() || audience.len() > 256 {
            return Err(bad("audience", "is required (at most 256 characters)"));
        }
        let set: JwkSet = serde_json::from_value(jwks.clone())
            .map_err(|_| bad("jwks", "must be a JWKS object: {\"keys\": [...]}"))?;
        if set.keys.is_empty() || set.keys.len() > 50 {
            return Err(bad("jwks", "must hold 1 to 50 keys"));
        }
        for k in &set.keys {
            DecodingKey::from_jwk(k)
                .map_err(|_| bad("jwks", "holds a key that cannot be used for verification"))?;
        }
        Ok(Self {
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            jwks: jwks.clone(),
            jwks_uri: None,
            allow_insecure_local_endpoints: false,
        })
    }

    /// Keys fetched from `jwks_uri`, or by discovery from the issuer when
    /// there is none; both URLs pass the outbound (SSRF) policy.
    pub fn parse_remote(
        issuer: &str,
        audience: &str,
        jwks_uri: Option<&str>,
        allow_insecure_local_endpoints: bool,
    ) -> Result<Self, crate::names::InvalidInput> {
        let bad = |field: &'static str, m: String| crate::names::InvalidInput { field, message: m };
        let issuer = issuer.trim();
        let audience = audience.trim();
        if audience.is_empty() || audience.len() > 256 {
            return Err(bad(
                "audience",
                "is required (at most 256 characters)".into(),
            ));
        }
        let jwks_uri = jwks_uri.map(str::trim).filter(|u| !u.is_empty());
        crate::outbound::check_url(issuer, allow_insecure_local_endpoints)
            .map_err(|m| bad("issuer", m))?;
        if let Some(u) = jwks_uri {
            crate::outbound::check_url(u, allow_insecure_local_endpoints)
                .map_err(|m| bad("jwks_uri", m))?;
        }
        Ok(Self {
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            jwks: Value::Null,
            jwks_uri: jwks_uri.map(str::to_owned),
            allow_insecure_local_endpoints,
        })
    }

    /// Whether the keys are fetched (and cached) rather than pasted.
    pub fn remote(&self) -> bool {
        self.jwks.is_null()
    }

    /// Where discovery looks (OpenID Connect Discovery 1.0 §4).
    pub fn discovery_url(&self) -> String {
        format!(
            "{}/.well-known/openid-configuration",
            self.issuer.trim_end_matches('/')
        )
    }
}

/// Checks a fetched JWKS the way a pasted one is checked.
pub fn check_jwks(jwks: &Value) -> Result<(), String> {
    let set: JwkSet = serde_json::from_value(jwks.clone())
        .map_err(|_| "is not a JWKS object: {\"keys\": [...]}".to_string())?;
    if set.keys.is_empty() || set.keys.len() > 50 {
        return Err("must hold 1 to 50 keys".into());
    }
    if !set.keys.iter().any(|k| DecodingKey::from_jwk(k).is_ok()) {
        return Err("holds no key usable for verification".into());
    }
    Ok(())
}

/// A provider's trust, with its keys decoded once (JWKS cached in memory).
pub struct OidcTrust {
    issuer: String,
    audience: String,
    keys: Vec<(Option<String>, DecodingKey)>,
}

impl std::fmt::Debug for OidcTrust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcTrust")
            .field("issuer", &self.issuer)
            .field("keys", &self.keys.len())
            .finish()
    }
}

impl OidcTrust {
    pub fn new(cfg: &OidcProviderConfig) -> Result<Self, OAuthError> {
        Self::with_keys(cfg, &cfg.jwks)
    }

    /// The provider's trust with keys from a JWKS (pasted or fetched).
    pub fn with_keys(cfg: &OidcProviderConfig, jwks: &Value) -> Result<Self, OAuthError> {
        let set: JwkSet =
            serde_json::from_value(jwks.clone()).map_err(|_| OAuthError::server_error())?;
        let keys = set
            .keys
            .iter()
            .filter_map(|k| Some((k.common.key_id.clone(), DecodingKey::from_jwk(k).ok()?)))
            .collect();
        Ok(Self {
            issuer: cfg.issuer.clone(),
            audience: cfg.audience.clone(),
            keys,
        })
    }

    /// Whether a token naming `kid` could be checked without a refetch.
    pub fn knows(&self, kid: Option<&str>) -> bool {
        kid.is_none_or(|kid| self.keys.iter().any(|(k, _)| k.as_deref() == Some(kid)))
    }
}

/// The `kid` a token names, unverified (to decide whether to refetch keys).
pub fn token_kid(token: &str) -> Option<String> {
    jsonwebtoken::decode_header(token.trim()).ok()?.kid
}

fn bad(reason: &'static str, d: &str) -> OAuthError {
    OAuthError::new(
        OAuthErrorCode::InvalidClient,
        reason,
        format!("federated token rejected: {d}"),
    )
}

/// A platform token that passed: its header and claims.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedToken {
    pub header: Value,
    pub claims: Value,
}

/// Verifies signature, issuer, audience and time; returns the claims.
pub fn verify(
    token: &str,
    trust: &OidcTrust,
    now: i64,
    skew_secs: i64,
) -> Result<VerifiedToken, OAuthError> {
    // The SDK sends the token file as read, trailing newline included.
    let token = token.trim();
    if token.len() > 16 * 1024 {
        return Err(bad("token_too_long", "too long"));
    }
    let header =
        jsonwebtoken::decode_header(token).map_err(|_| bad("token_malformed", "not a JWT"))?;
    if !ALLOWED.contains(&header.alg) {
        return Err(bad("token_alg", "algorithm not allowed"));
    }
    let candidates: Vec<&DecodingKey> = trust
        .keys
        .iter()
        .filter(|(kid, _)| header.kid.is_none() || *kid == header.kid)
        .map(|(_, k)| k)
        .collect();
    if candidates.is_empty() {
        return Err(bad(
            "token_unknown_kid",
            "signed with a key the provider does not list",
        ));
    }
    let mut v = Validation::new(header.alg);
    v.set_issuer(&[trust.issuer.as_str()]);
    v.set_audience(&[trust.audience.as_str()]);
    v.leeway = skew_secs.max(0) as u64;
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    v.validate_exp = false; // checked below against the injected clock
    v.validate_nbf = false;
    let mut last = bad("token_signature", "signature does not verify");
    for key in candidates {
        match jsonwebtoken::decode::<Value>(token, key, &v) {
            Ok(data) => {
                let c = data.claims;
                let exp = c.get("exp").and_then(Value::as_i64).unwrap_or(0);
                if exp <= now - skew_secs {
                    return Err(bad("token_expired", "expired"));
                }
                if c.get("nbf")
                    .and_then(Value::as_i64)
                    .is_some_and(|n| n > now + skew_secs)
                {
                    return Err(bad("token_not_yet_valid", "not yet valid"));
                }
                return Ok(VerifiedToken {
                    header: serde_json::to_value(&header).unwrap_or_default(),
                    claims: c,
                });
            }
            Err(e) => {
                use jsonwebtoken::errors::ErrorKind;
                last = match e.kind() {
                    ErrorKind::InvalidIssuer => {
                        bad("token_issuer", "issuer does not match the provider")
                    }
                    ErrorKind::InvalidAudience => {
                        bad("token_audience", "audience does not match the provider")
                    }
                    ErrorKind::MissingRequiredClaim(_) => bad(
                        "token_claims",
                        "a required claim (exp, iss, aud, sub) is missing",
                    ),
                    _ => last,
                };
            }
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    const NOW: i64 = 1_800_000_000;

    fn issuer_key() -> (rcgen::KeyPair, Value) {
        let kp = rcgen::KeyPair::generate().unwrap();
        let raw = kp.public_key_raw();
        let jwks = json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1", "alg": "ES256", "use": "sig", "x": B64.encode(&raw[1..33]), "y": B64.encode(&raw[33..65])}]});
        (kp, jwks)
    }

    fn k8s_token(kp: &rcgen::KeyPair, patch: Value) -> String {
        let mut c = json!({"iss": "https://kubernetes.default.svc", "aud": ["writ"], "sub": "system:serviceaccount:payments:billing-bot",
            "exp": NOW + 3600, "iat": NOW, "nbf": NOW, "kubernetes.io": {"namespace": "payments", "serviceaccount": {"name": "billing-bot"}}});
        for (k, v) in patch.as_object().unwrap() {
            c[k] = v.clone();
        }
        let mut h = Header::new(Algorithm::ES256);
        h.kid = Some("k1".into());
        jsonwebtoken::encode(
            &h,
            &c,
            &EncodingKey::from_ec_pem(kp.serialize_pem().as_bytes()).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn kubernetes_token_with_trailing_newline_verifies() {
        let (kp, jwks) = issuer_key();
        let cfg = OidcTrust::new(
            &OidcProviderConfig::parse("https://kubernetes.default.svc", "writ", &jwks).unwrap(),
        )
        .unwrap();
        let claims = verify(&format!("{}\n", k8s_token(&kp, json!({}))), &cfg, NOW, 60)
            .unwrap()
            .claims;
        assert_eq!(claims["kubernetes.io"]["namespace"], "payments");
    }

    #[test]
    fn hostile_tokens_are_invalid_client() {
        let (kp, jwks) = issuer_key();
        let cfg = OidcTrust::new(
            &OidcProviderConfig::parse("https://kubernetes.default.svc", "writ", &jwks).unwrap(),
        )
        .unwrap();
        let reason = |t: String| verify(&t, &cfg, NOW, 60).unwrap_err().reason;
        assert_eq!(
            reason(k8s_token(&kp, json!({"aud": "someone-else"}))),
            "token_audience"
        );
        assert_eq!(
            reason(k8s_token(&kp, json!({"iss": "https://evil"}))),
            "token_issuer"
        );
        assert_eq!(
            reason(k8s_token(&kp, json!({"exp": NOW - 120}))),
            "token_expired"
        );
        assert_eq!(
            reason(k8s_token(&rcgen::KeyPair::generate().unwrap(), json!({}))),
            "token_signature"
        );
        let none = format!(
            "{}.{}.",
            B64.encode(r#"{"alg":"none"}"#),
            B64.encode(r#"{"sub":"x"}"#)
        );
        assert!(verify(&none, &cfg, NOW, 60).is_err());
        let hs = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &json!({"sub": "x", "exp": NOW + 60}),
            &EncodingKey::from_secret(b"k"),
        )
        .unwrap();
        assert_eq!(reason(hs), "token_alg");
        assert!(OidcProviderConfig::parse("ftp://x", "a", &jwks).is_err());
        assert!(OidcProviderConfig::parse("https://x", "a", &json!({"keys": []})).is_err());
    }
}
