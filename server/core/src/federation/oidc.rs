//! OIDC federation: a token from an external issuer (Kubernetes service
//! account, GitHub Actions, cloud VM identity), checked against the
//! provider's issuer, expected audience and keys.

use crate::error::{OAuthError, OAuthErrorCode};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
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

/// The header's members as sent: `jsonwebtoken::Header` drops a `crit` of
/// `null` and fails on one that is not a list, so `crit` is looked for here.
fn raw_header(token: &str) -> Option<serde_json::Map<String, Value>> {
    let h = token.split('.').next()?;
    match serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).ok()?).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

/// The claim rules a signed token meets beyond jsonwebtoken's checks
/// (which accept an `iss` list holding the issuer and ignore `iat`):
/// `iss` one string, the provider's issuer (RFC 7519 §4.1.1); `sub` a
/// string; `aud` a string or a list of strings naming the provider's
/// audience; `exp`, `nbf` and `iat` integers, `exp` not past and `nbf` and
/// `iat` not ahead, each within the clock skew (as for client assertions).
fn check_claims(c: &Value, trust: &OidcTrust, now: i64, skew_secs: i64) -> Result<(), OAuthError> {
    let missing = || {
        bad(
            "token_claims",
            "a required claim (exp, iss, aud, sub) is missing",
        )
    };
    let shape = |d: &str| bad("token_claim_type", d);
    match c.get("iss") {
        Some(Value::String(iss)) if *iss == trust.issuer => {}
        Some(Value::String(_)) => {
            return Err(bad("token_issuer", "issuer does not match the provider"));
        }
        Some(_) => return Err(shape("'iss' must be a single string")),
        None => return Err(missing()),
    }
    match c.get("sub") {
        Some(Value::String(_)) => {}
        Some(_) => return Err(shape("'sub' must be a string")),
        None => return Err(missing()),
    }
    let aud_ok = match c.get("aud") {
        Some(Value::String(a)) => *a == trust.audience,
        Some(Value::Array(list)) => {
            if !list.iter().all(Value::is_string) {
                return Err(shape("'aud' must be a string or a list of strings"));
            }
            list.iter()
                .any(|a| a.as_str() == Some(trust.audience.as_str()))
        }
        Some(_) => return Err(shape("'aud' must be a string or a list of strings")),
        None => return Err(missing()),
    };
    if !aud_ok {
        return Err(bad(
            "token_audience",
            "audience does not match the provider",
        ));
    }
    let time = |k: &str| match c.get(k) {
        None => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or_else(|| {
            shape(&format!(
                "'{k}' must be an integer number of seconds since the epoch"
            ))
        }),
    };
    let exp = time("exp")?.ok_or_else(missing)?;
    if exp <= now - skew_secs {
        return Err(bad("token_expired", "expired"));
    }
    if time("nbf")?.is_some_and(|n| n > now + skew_secs) {
        return Err(bad("token_not_yet_valid", "not yet valid"));
    }
    if time("iat")?.is_some_and(|t| t > now + skew_secs) {
        return Err(bad("token_issued_in_future", "issued in the future"));
    }
    Ok(())
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
    // RFC 7515 §4.1.11: a `crit` the recipient does not understand must be
    // refused. Writ understands no extension, so any `crit` is (an empty
    // list or `null` too), as for client assertions (grant/jwt_bearer.rs).
    if raw_header(token)
        .ok_or_else(|| bad("token_malformed", "not a JWT"))?
        .contains_key("crit")
    {
        return Err(bad(
            "token_crit",
            "critical header parameters are not supported",
        ));
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
                check_claims(&data.claims, trust, now, skew_secs)?;
                return Ok(VerifiedToken {
                    header: serde_json::to_value(&header).unwrap_or_default(),
                    claims: data.claims,
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
                    // Also a required claim of the wrong JSON type.
                    ErrorKind::MissingRequiredClaim(_) => bad(
                        "token_claims",
                        "a required claim (exp, iss, aud, sub) is missing or malformed",
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

    /// Kubernetes-shaped claims; a `null` in `patch` removes the member.
    fn k8s_claims(patch: Value) -> Value {
        let mut c = json!({"iss": "https://kubernetes.default.svc", "aud": ["writ"], "sub": "system:serviceaccount:payments:billing-bot",
            "exp": NOW + 3600, "iat": NOW, "nbf": NOW, "kubernetes.io": {"namespace": "payments", "serviceaccount": {"name": "billing-bot"}}});
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        c
    }

    fn k8s_token(kp: &rcgen::KeyPair, patch: Value) -> String {
        let mut h = Header::new(Algorithm::ES256);
        h.kid = Some("k1".into());
        jsonwebtoken::encode(
            &h,
            &k8s_claims(patch),
            &EncodingKey::from_ec_pem(kp.serialize_pem().as_bytes()).unwrap(),
        )
        .unwrap()
    }

    /// A validly signed ES256 token with this exact header and claims text
    /// (for headers and claim shapes `Header` and `json!` cannot express).
    fn signed_raw(kp: &rcgen::KeyPair, header: &str, claims: &str) -> String {
        let input = format!("{}.{}", B64.encode(header), B64.encode(claims));
        let sig = jsonwebtoken::crypto::sign(
            input.as_bytes(),
            &EncodingKey::from_ec_pem(kp.serialize_pem().as_bytes()).unwrap(),
            Algorithm::ES256,
        )
        .unwrap();
        format!("{input}.{sig}")
    }

    fn k8s_trust(jwks: &Value) -> OidcTrust {
        OidcTrust::new(
            &OidcProviderConfig::parse("https://kubernetes.default.svc", "writ", jwks).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn crit_header_is_refused_whatever_it_names() {
        // RFC 7515 4.1.11: a recipient must refuse a `crit` it does not
        // understand; Writ understands none (as for client assertions).
        let (kp, jwks) = issuer_key();
        let trust = k8s_trust(&jwks);
        let claims = k8s_claims(json!({})).to_string();
        let plain = signed_raw(&kp, r#"{"alg":"ES256","kid":"k1"}"#, &claims);
        assert!(verify(&plain, &trust, NOW, 60).is_ok());
        for header in [
            r#"{"alg":"ES256","kid":"k1","crit":["urn:example:must-understand"],"urn:example:must-understand":true}"#,
            r#"{"alg":"ES256","kid":"k1","b64":false,"crit":["b64"]}"#,
            r#"{"alg":"ES256","kid":"k1","crit":[]}"#,
            r#"{"alg":"ES256","kid":"k1","crit":null}"#,
            r#"{"alg":"ES256","kid":"k1","crit":"exp"}"#,
            r#"{"alg":"ES256","kid":"k1","cr\u0069t":["exp"]}"#,
        ] {
            let e = verify(&signed_raw(&kp, header, &claims), &trust, NOW, 60).unwrap_err();
            assert_eq!(e.code, OAuthErrorCode::InvalidClient, "{header}");
            assert_eq!(e.reason, "token_crit", "{header}");
        }
    }

    #[test]
    fn iss_sub_and_aud_must_have_their_json_types() {
        let (kp, jwks) = issuer_key();
        let trust = k8s_trust(&jwks);
        let reason = |patch: Value| verify(&k8s_token(&kp, patch), &trust, NOW, 60).unwrap_err();
        // RFC 7519 4.1.1: `iss` is one StringOrURI, never a list.
        let e = reason(json!({"iss": ["https://kubernetes.default.svc"]}));
        assert_eq!(
            (e.code, e.reason),
            (OAuthErrorCode::InvalidClient, "token_claim_type")
        );
        let e = reason(json!({"iss": ["https://kubernetes.default.svc", "https://evil"]}));
        assert_eq!(e.code, OAuthErrorCode::InvalidClient);
        // `sub` a string; `aud` a string or a list of strings.
        for patch in [
            json!({"sub": 42}),
            json!({"sub": ["system:serviceaccount:payments:billing-bot"]}),
            json!({"aud": ["writ", 42]}),
            json!({"aud": {"writ": true}}),
            json!({"aud": 42}),
        ] {
            let e = reason(patch.clone());
            assert_eq!(e.code, OAuthErrorCode::InvalidClient, "{patch}");
        }
        // A single-string `aud` (GitHub Actions, cloud identity tokens) passes.
        assert!(verify(&k8s_token(&kp, json!({"aud": "writ"})), &trust, NOW, 60).is_ok());
        // jsonwebtoken refuses a `sub` or `aud` of another type before the
        // claims reach `check_claims`; its own rules, checked directly:
        let own = |patch: Value| check_claims(&k8s_claims(patch), &trust, NOW, 60);
        assert!(own(json!({})).is_ok());
        assert!(own(json!({"aud": "writ"})).is_ok());
        for (patch, reason) in [
            (
                json!({"iss": ["https://kubernetes.default.svc"]}),
                "token_claim_type",
            ),
            (json!({"iss": "https://evil"}), "token_issuer"),
            (json!({"iss": null}), "token_claims"),
            (json!({"sub": 42}), "token_claim_type"),
            (
                json!({"sub": ["system:serviceaccount:payments:billing-bot"]}),
                "token_claim_type",
            ),
            (json!({"sub": null}), "token_claims"),
            (json!({"aud": ["writ", 42]}), "token_claim_type"),
            (json!({"aud": {"writ": true}}), "token_claim_type"),
            (json!({"aud": []}), "token_audience"),
            (json!({"aud": ["someone-else"]}), "token_audience"),
            (json!({"aud": null}), "token_claims"),
            (json!({"exp": null}), "token_claims"),
            (json!({"exp": "1800003600"}), "token_claim_type"),
        ] {
            assert_eq!(own(patch.clone()).unwrap_err().reason, reason, "{patch}");
        }
    }

    #[test]
    fn issued_in_the_future_or_not_yet_valid_is_refused() {
        let (kp, jwks) = issuer_key();
        let trust = k8s_trust(&jwks);
        let check = |patch: Value| verify(&k8s_token(&kp, patch), &trust, NOW, 60);
        let reason = |patch: Value| check(patch).unwrap_err().reason;
        // A day ahead, no nbf: refused like a client assertion.
        assert_eq!(
            reason(json!({"iat": NOW + 86_400, "nbf": null, "exp": NOW + 90_000})),
            "token_issued_in_future"
        );
        assert_eq!(
            reason(json!({"iat": NOW + 61, "nbf": null})),
            "token_issued_in_future"
        );
        // Within the clock skew: fine.
        assert!(check(json!({"iat": NOW + 60, "nbf": null})).is_ok());
        assert!(check(json!({"iat": NOW + 30, "nbf": NOW + 30})).is_ok());
        // nbf ahead (already refused), also when it is not an integer.
        assert_eq!(reason(json!({"nbf": NOW + 3600})), "token_not_yet_valid");
        assert_eq!(reason(json!({"nbf": NOW + 61})), "token_not_yet_valid");
        assert_eq!(
            reason(json!({"nbf": (NOW + 3600) as f64 + 0.5})),
            "token_claim_type"
        );
        assert_eq!(
            reason(json!({"exp": (NOW + 300) as f64 + 0.5})),
            "token_claim_type"
        );
        for patch in [
            json!({"nbf": (NOW + 3600) as f64 + 0.5}),
            json!({"nbf": (NOW + 3600).to_string()}),
            json!({"iat": (NOW + 86_400) as f64 + 0.5, "nbf": null}),
            json!({"iat": "tomorrow", "nbf": null}),
            json!({"nbf": 1e30}),
        ] {
            let e = check(patch.clone()).unwrap_err();
            assert_eq!(e.code, OAuthErrorCode::InvalidClient, "{patch}");
        }
    }

    #[test]
    fn kubernetes_projected_token_still_verifies() {
        // The shape kube-apiserver issues for a projected service account
        // token (no typ, kid, aud list, iat = nbf, jti, pod and node).
        let (kp, jwks) = issuer_key();
        let trust = k8s_trust(&jwks);
        let token = k8s_token(
            &kp,
            json!({"iat": NOW - 30, "nbf": NOW - 30, "exp": NOW + 3570,
                "jti": "5b1f7c2e-8a0d-4c43-9a7e-2f0b6c1d9e11",
                "kubernetes.io": {"namespace": "payments",
                    "node": {"name": "node-a", "uid": "0d6c2d7e-1111-4b4b-8c8c-000000000001"},
                    "pod": {"name": "billing-bot-7d9f", "uid": "0d6c2d7e-2222-4b4b-8c8c-000000000002"},
                    "serviceaccount": {"name": "billing-bot", "uid": "0d6c2d7e-3333-4b4b-8c8c-000000000003"}}}),
        );
        let v = verify(&format!("{token}\n"), &trust, NOW, 60).unwrap();
        assert_eq!(v.claims["iss"], "https://kubernetes.default.svc");
        assert_eq!(
            v.claims["sub"],
            "system:serviceaccount:payments:billing-bot"
        );
        assert_eq!(v.header["kid"], "k1");
        // A clock slightly behind the issuer's (iat, nbf within skew) too.
        let ahead = k8s_token(&kp, json!({"iat": NOW + 45, "nbf": NOW + 45}));
        assert!(verify(&ahead, &trust, NOW, 60).is_ok());
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
