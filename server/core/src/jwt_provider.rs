//! JWT credential providers: Writ mints JWTs for a workload with the
//! provider's own key, with a set expiry and an issuer allow-list;
//! optionally a derived short token that can later be exchanged for the JWT.
//!
//! A provider's key is never one that vouches for Writ's access tokens: it
//! is made for the provider alone, published only in the provider's own
//! JWKS (`{public_url}/api/v2/credential-providers/{id}/jwks`, see
//! [`jwks_path`]) and never in the access-token JWKS at `{issuer}/jwks`, and
//! a provider may not mint tokens that name Writ's issuer
//! ([`ReservedIssuers`]). Otherwise a workload granted a provider could mint
//! a JWT with any `aud` / `sub` that verifies against Writ's JWKS, and a
//! relying party that checks signature and audience but not `iss` exactly
//! would take it for a Writ access token.

use crate::names::InvalidInput;
use crate::signing::PublicJwk;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// Claims a caller's custom claims may not replace.
const RESERVED: &[&str] = &["iss", "sub", "aud", "exp", "iat", "nbf", "jti"];
pub const MAX_EXPIRATION_SECS: i64 = 30 * 86_400;

/// The path, under Writ's public URL, of a provider's own JWKS. Not under
/// the access-token issuer (`/api/v2/{AUTHORIZATION_SERVER_ID}/oauth2`): what
/// is published there vouches for Writ's access tokens, and these keys must
/// not. Named by the provider's id (not its identifier): an unguessable id
/// leaves nothing to enumerate on this unauthenticated path.
pub fn jwks_path(provider_id: &str) -> String {
    format!("/api/v2/credential-providers/{provider_id}/jwks")
}

/// The `iss` of a provider's JWTs when the workload names none.
pub fn default_issuer(public_url: &str, identifier: &str) -> String {
    format!("{public_url}/credential-providers/{identifier}")
}

/// Issuers no JWT provider may put in `iss`: Writ's access-token issuer
/// (and anything under it), and the namespace of providers' default
/// issuers (each provider's own default is always allowed, and no other).
/// Compared with ASCII case, trailing slashes and a default port set aside,
/// so a lenient relying party cannot be fooled by a spelling variant.
#[derive(Debug, Clone, Copy)]
pub struct ReservedIssuers<'a> {
    /// Writ's access-token issuer.
    pub writ_issuer: &'a str,
    /// Writ's public URL (providers' default issuers are under it).
    pub public_url: &'a str,
}

impl ReservedIssuers<'_> {
    /// Why `issuer` may not be named, if it may not.
    pub fn refusal(&self, issuer: &str) -> Option<String> {
        let i = normalise_issuer(issuer);
        let under = |base: &str| {
            let b = normalise_issuer(base);
            i == b || i.starts_with(&format!("{b}/"))
        };
        let shown = issuer.chars().take(128).collect::<String>();
        // Every default issuer is `{providers}/{identifier}`.
        let providers = default_issuer(self.public_url, "");
        if under(self.writ_issuer) {
            return Some(format!(
                "issuer '{shown}' is Writ's own access-token issuer: a credential provider may not mint tokens that claim it"
            ));
        }
        if under(providers.trim_end_matches('/')) {
            return Some(format!(
                "issuer '{shown}' is a Writ credential provider's default issuer: a provider's own default issuer is always allowed, and no other provider's"
            ));
        }
        None
    }
}

/// An issuer spelled for comparison: scheme and host in lower case (they are
/// case-insensitive), a default port dropped, trailing slashes dropped. Not a
/// URL: trimmed and lower-cased as it is.
fn normalise_issuer(s: &str) -> String {
    let s = s.trim();
    let Ok(u) = url::Url::parse(s) else {
        return s.trim_end_matches('/').to_ascii_lowercase();
    };
    let mut out = format!("{}://{}", u.scheme(), u.host_str().unwrap_or_default());
    if let Some(port) = u.port() {
        out.push_str(&format!(":{port}"));
    }
    out.push_str(u.path().trim_end_matches('/'));
    out.to_ascii_lowercase()
}

/// Refuses to sign with Writ's own signing key. Writ's key is P-256, so
/// only an ES256 provider key could ever be it: providers' keys are made
/// fresh by [`generate_key`] and never imported, and this check keeps it so
/// even if a key were ever copied in.
pub fn check_not_writ_key(
    cfg: &JwtProviderConfig,
    key_pem: &str,
    writ_key: &PublicJwk,
) -> Result<(), &'static str> {
    let published_is_writs = |jwk: &Value| {
        jwk.get("x").and_then(Value::as_str) == Some(writ_key.x.as_str())
            && jwk.get("y").and_then(Value::as_str) == Some(writ_key.y.as_str())
    };
    if published_is_writs(&cfg.public_jwk) {
        return Err("the credential provider's published key is Writ's signing key");
    }
    if cfg.jwt_alg() == Algorithm::ES256 {
        let kp = rcgen::KeyPair::from_pem(key_pem)
            .map_err(|_| "the credential provider's key is unusable")?;
        let raw = kp.public_key_raw();
        if raw.len() == 65
            && published_is_writs(
                &json!({"x": B64.encode(&raw[1..33]), "y": B64.encode(&raw[33..65])}),
            )
        {
            return Err("the credential provider's signing key is Writ's signing key");
        }
    }
    Ok(())
}

fn bad(field: &'static str, m: impl Into<String>) -> InvalidInput {
    InvalidInput {
        field,
        message: m.into(),
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct JwtProviderConfig {
    /// `ES256` (default), `RS256` or `EdDSA`.
    pub algorithm: String,
    /// The "Generate Short Token" switch.
    pub short_token: bool,
    /// Default lifetime of minted JWTs.
    pub expiration_secs: i64,
    /// Issuers a caller may ask for (besides the provider's default).
    pub issuer_whitelist: Vec<String>,
    /// The signing key's public half with its `kid`, kept beside the sealed
    /// private key so serving the JWKS never opens the vault.
    #[serde(default)]
    pub public_jwk: Value,
}

impl JwtProviderConfig {
    pub fn parse(
        algorithm: Option<&str>,
        short_token: bool,
        expiration_secs: Option<i64>,
        issuer_whitelist: &[String],
        reserved: &ReservedIssuers<'_>,
    ) -> Result<Self, InvalidInput> {
        let algorithm = match algorithm
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .unwrap_or("ES256")
        {
            a @ ("ES256" | "RS256" | "EdDSA") => a.to_owned(),
            _ => return Err(bad("algorithm", "must be ES256, RS256 or EdDSA")),
        };
        let expiration_secs = expiration_secs.unwrap_or(3600);
        if !(60..=MAX_EXPIRATION_SECS).contains(&expiration_secs) {
            return Err(bad(
                "expiration_seconds",
                "must be between 1 minute and 30 days",
            ));
        }
        let mut list = Vec::new();
        for i in issuer_whitelist
            .iter()
            .map(|i| i.trim())
            .filter(|i| !i.is_empty())
        {
            if i.len() > 512 {
                return Err(bad(
                    "issuer_whitelist",
                    "issuers are at most 512 characters",
                ));
            }
            if let Some(why) = reserved.refusal(i) {
                return Err(bad("issuer_whitelist", why));
            }
            if !list.iter().any(|x: &String| x == i) {
                list.push(i.to_owned());
            }
        }
        if list.len() > 50 {
            return Err(bad("issuer_whitelist", "at most 50 issuers"));
        }
        Ok(Self {
            algorithm,
            short_token,
            expiration_secs,
            issuer_whitelist: list,
            public_jwk: Value::Null,
        })
    }

    fn jwt_alg(&self) -> Algorithm {
        match self.algorithm.as_str() {
            "RS256" => Algorithm::RS256,
            "EdDSA" => Algorithm::EdDSA,
            _ => Algorithm::ES256,
        }
    }
}

/// A new signing key: (PKCS#8 PEM, public JWK without `kid`).
pub fn generate_key(algorithm: &str) -> Result<(String, Value), String> {
    match algorithm {
        "RS256" => {
            use aws_lc_rs::encoding::AsDer;
            use aws_lc_rs::rsa::{KeyPair, KeySize};
            use aws_lc_rs::signature::KeyPair as _;
            let kp =
                KeyPair::generate(KeySize::Rsa2048).map_err(|_| "RSA key generation failed")?;
            let der = kp.as_der().map_err(|_| "RSA key encoding failed")?;
            let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
            let body: Vec<String> = b64
                .as_bytes()
                .chunks(64)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect();
            let pem = format!(
                "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
                body.join("\n")
            );
            let pk = kp.public_key();
            Ok((
                pem,
                json!({"kty": "RSA", "alg": "RS256", "use": "sig",
                "n": B64.encode(pk.modulus().big_endian_without_leading_zero()),
                "e": B64.encode(pk.exponent().big_endian_without_leading_zero())}),
            ))
        }
        "EdDSA" => {
            let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519)
                .map_err(|_| "Ed25519 key generation failed")?;
            Ok((
                kp.serialize_pem(),
                json!({"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig",
                "x": B64.encode(kp.public_key_raw())}),
            ))
        }
        _ => {
            let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
                .map_err(|_| "P-256 key generation failed")?;
            let raw = kp.public_key_raw();
            Ok((
                kp.serialize_pem(),
                json!({"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig",
                "x": B64.encode(&raw[1..33]), "y": B64.encode(&raw[33..65])}),
            ))
        }
    }
}

/// What a workload asks to be minted (GenerateJwtAuthenticationToken).
pub struct MintRequest<'a> {
    pub issuer: Option<&'a str>,
    pub default_issuer: &'a str,
    /// Refused even when whitelisted: a list saved before the rule existed
    /// may still name one.
    pub reserved: &'a ReservedIssuers<'a>,
    pub subject: &'a str,
    pub audiences: &'a [String],
    pub custom_claims: Option<&'a Value>,
    pub expiration_secs: Option<i64>,
    pub now: i64,
    pub jti: &'a str,
    pub kid: &'a str,
}

/// A minted JWT and its expiry.
#[derive(Debug)]
pub struct Minted {
    pub jwt: String,
    pub expires_at: i64,
}

/// Checks the request against the provider's rules and signs the JWT.
/// Errors are the caller's mistakes, worded for them.
pub fn mint(cfg: &JwtProviderConfig, key_pem: &str, r: &MintRequest<'_>) -> Result<Minted, String> {
    let issuer = r
        .issuer
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .unwrap_or(r.default_issuer);
    if issuer != r.default_issuer && !cfg.issuer_whitelist.iter().any(|i| i == issuer) {
        return Err(format!(
            "issuer '{}' is not on this provider's issuer whitelist",
            issuer.chars().take(128).collect::<String>()
        ));
    }
    if issuer != r.default_issuer
        && let Some(why) = r.reserved.refusal(issuer)
    {
        return Err(why);
    }
    let subject = r.subject.trim();
    if subject.is_empty() || subject.len() > 256 {
        return Err("subject is required (at most 256 characters)".into());
    }
    if r.audiences.is_empty() || r.audiences.len() > 20 {
        return Err("audiences must name 1 to 20 audiences".into());
    }
    for a in r.audiences {
        if a.trim().is_empty() || a.len() > 512 {
            return Err("audiences must be non-empty strings of at most 512 characters".into());
        }
        if a.starts_with("urn:cloud:idaas") {
            return Err(format!(
                "audience '{a}' is reserved: audiences must not start with urn:cloud:idaas"
            ));
        }
    }
    let lifetime = r.expiration_secs.unwrap_or(cfg.expiration_secs);
    if !(1..=MAX_EXPIRATION_SECS).contains(&lifetime) {
        return Err("expiration must be between 1 second and 30 days (in seconds)".into());
    }
    let mut claims = Map::new();
    if let Some(custom) = r.custom_claims {
        let obj = custom
            .as_object()
            .ok_or("customClaims must be a JSON object")?;
        if custom.to_string().len() > 8 * 1024 {
            return Err("customClaims are larger than 8 KiB".into());
        }
        for (k, v) in obj {
            if RESERVED.contains(&k.as_str()) {
                return Err(format!(
                    "customClaims may not set the registered claim '{k}'"
                ));
            }
            claims.insert(k.clone(), v.clone());
        }
    }
    let expires_at = r.now + lifetime;
    claims.insert("iss".into(), json!(issuer));
    claims.insert("sub".into(), json!(subject));
    claims.insert(
        "aud".into(),
        if r.audiences.len() == 1 {
            json!(r.audiences[0])
        } else {
            json!(r.audiences)
        },
    );
    claims.insert("iat".into(), json!(r.now));
    claims.insert("nbf".into(), json!(r.now));
    claims.insert("exp".into(), json!(expires_at));
    claims.insert("jti".into(), json!(r.jti));
    let alg = cfg.jwt_alg();
    let key = match alg {
        Algorithm::RS256 => EncodingKey::from_rsa_pem(key_pem.as_bytes()),
        Algorithm::EdDSA => EncodingKey::from_ed_pem(key_pem.as_bytes()),
        _ => EncodingKey::from_ec_pem(key_pem.as_bytes()),
    }
    .map_err(|_| "the provider's key is unusable".to_string())?;
    let mut header = Header::new(alg);
    header.kid = Some(r.kid.to_owned());
    header.typ = Some("JWT".into());
    let jwt = jsonwebtoken::encode(&header, &Value::Object(claims), &key)
        .map_err(|_| "signing failed".to_string())?;
    Ok(Minted { jwt, expires_at })
}

/// SHA-256 (hex) of a token, the only form Writ looks tokens up by.
pub fn token_hash(token: &str) -> String {
    use sha2::{Digest, Sha256};
    crate::hex::encode(&Sha256::digest(token.trim().as_bytes()))
}

/// A derived short token: 256 random bits.
pub fn new_short_token() -> String {
    format!("wst_{}", crate::random::token(32))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RESERVED_ISSUERS: ReservedIssuers<'static> = ReservedIssuers {
        writ_issuer: "https://writ.test/api/v2/iauths_system/oauth2",
        public_url: "https://writ.test",
    };

    fn req<'a>(aud: &'a [String], issuer: Option<&'a str>) -> MintRequest<'a> {
        MintRequest {
            issuer,
            default_issuer: "https://writ.test/credential-providers/jwt-1",
            reserved: &RESERVED_ISSUERS,
            subject: "billing-bot",
            audiences: aud,
            custom_claims: None,
            expiration_secs: None,
            now: 1_800_000_000,
            jti: "tok-1",
            kid: "kid-1",
        }
    }

    #[test]
    fn mints_with_each_algorithm_and_verifies_with_the_published_key() {
        for alg in ["ES256", "RS256", "EdDSA"] {
            let cfg = JwtProviderConfig::parse(
                Some(alg),
                true,
                Some(600),
                &["https://partner.example".into()],
                &RESERVED_ISSUERS,
            )
            .unwrap();
            let (pem, mut jwk) = generate_key(alg).unwrap();
            jwk["kid"] = json!("kid-1");
            let aud = vec!["https://api.partner.example".to_string()];
            let mut r = req(&aud, Some("https://partner.example"));
            let custom = json!({"tenant": "acme"});
            r.custom_claims = Some(&custom);
            let m = mint(&cfg, &pem, &r).unwrap();
            assert_eq!(m.expires_at, 1_800_000_600);
            let key =
                jsonwebtoken::DecodingKey::from_jwk(&serde_json::from_value(jwk).unwrap()).unwrap();
            let mut v = jsonwebtoken::Validation::new(cfg.jwt_alg());
            v.set_audience(&["https://api.partner.example"]);
            v.validate_exp = false;
            let c = jsonwebtoken::decode::<Value>(&m.jwt, &key, &v)
                .unwrap()
                .claims;
            assert_eq!(
                (c["iss"].as_str(), c["sub"].as_str(), c["tenant"].as_str()),
                (
                    Some("https://partner.example"),
                    Some("billing-bot"),
                    Some("acme")
                ),
                "{alg}"
            );
        }
    }

    #[test]
    fn refuses_what_the_provider_does_not_allow() {
        let cfg = JwtProviderConfig::parse(None, false, None, &[], &RESERVED_ISSUERS).unwrap();
        let (pem, _) = generate_key("ES256").unwrap();
        let aud = vec!["https://api.example".to_string()];
        assert!(
            mint(&cfg, &pem, &req(&aud, Some("https://evil.example")))
                .unwrap_err()
                .contains("whitelist")
        );
        assert!(
            mint(&cfg, &pem, &req(&aud, None)).is_ok(),
            "the default issuer is always allowed"
        );
        let pam = vec!["urn:cloud:idaas:pam".to_string()];
        assert!(
            mint(&cfg, &pem, &req(&pam, None))
                .unwrap_err()
                .contains("urn:cloud:idaas")
        );
        let mut r = req(&aud, None);
        let custom = json!({"sub": "someone-else"});
        r.custom_claims = Some(&custom);
        assert!(
            mint(&cfg, &pem, &r)
                .unwrap_err()
                .contains("registered claim")
        );
        assert!(
            JwtProviderConfig::parse(Some("HS256"), false, None, &[], &RESERVED_ISSUERS).is_err()
        );
        assert_eq!(token_hash("abc"), token_hash(" abc\n"));
        assert!(new_short_token().starts_with("wst_"));
    }

    #[test]
    fn writs_own_issuer_is_refused_in_the_whitelist_in_any_spelling() {
        for writ in [
            "https://writ.test/api/v2/iauths_system/oauth2",
            "https://writ.test/api/v2/iauths_system/oauth2/",
            "HTTPS://WRIT.TEST:443/api/v2/iauths_system/oauth2",
            "https://writ.test/api/v2/iauths_system/oauth2/token",
            " https://writ.test/api/v2/IAUTHS_SYSTEM/oauth2?x=1 ",
        ] {
            let e = JwtProviderConfig::parse(None, false, None, &[writ.into()], &RESERVED_ISSUERS)
                .unwrap_err();
            assert_eq!(e.field, "issuer_whitelist", "{writ}");
            assert!(e.message.contains("Writ's own"), "{writ}: {}", e.message);
        }
        // Another provider's default issuer is not this provider's to claim.
        let other = "https://writ.test/credential-providers/someone-else";
        let e = JwtProviderConfig::parse(None, false, None, &[other.into()], &RESERVED_ISSUERS)
            .unwrap_err();
        assert!(e.message.contains("default issuer"), "{}", e.message);
        // Look-alikes that are not Writ's issuer stay allowed.
        for fine in [
            "https://writ.test/api/v2/iauths_system/oauth2x",
            "https://writ.test.example/api/v2/iauths_system/oauth2",
            "https://writ.test:8443/api/v2/iauths_system/oauth2",
            "https://writ.test/credential-providers-archive",
        ] {
            assert!(
                JwtProviderConfig::parse(None, false, None, &[fine.into()], &RESERVED_ISSUERS)
                    .is_ok(),
                "{fine}"
            );
        }
        // A list saved before the rule existed is still refused at mint time,
        // while the provider's own default issuer always works.
        let mut cfg = JwtProviderConfig::parse(None, false, None, &[], &RESERVED_ISSUERS).unwrap();
        cfg.issuer_whitelist = vec![RESERVED_ISSUERS.writ_issuer.into()];
        let (pem, _) = generate_key("ES256").unwrap();
        let aud = vec!["https://api.example".to_string()];
        let e = mint(&cfg, &pem, &req(&aud, Some(RESERVED_ISSUERS.writ_issuer))).unwrap_err();
        assert!(e.contains("Writ's own"), "{e}");
        assert!(mint(&cfg, &pem, &req(&aud, None)).is_ok());
    }

    #[test]
    fn writs_signing_key_is_never_a_providers_key() {
        let (writ, writ_pem) = crate::signing::SigningKey::generate().unwrap();
        let mut cfg = JwtProviderConfig::parse(None, false, None, &[], &RESERVED_ISSUERS).unwrap();
        let (pem, jwk) = generate_key("ES256").unwrap();
        cfg.public_jwk = jwk;
        assert!(check_not_writ_key(&cfg, &pem, writ.jwk()).is_ok());
        // Writ's private key behind the provider's (honest) public half.
        assert!(check_not_writ_key(&cfg, &writ_pem, writ.jwk()).is_err());
        // Writ's public key published as the provider's.
        cfg.public_jwk = serde_json::to_value(writ.jwk()).unwrap();
        assert!(check_not_writ_key(&cfg, &pem, writ.jwk()).is_err());
        for alg in ["RS256", "EdDSA"] {
            let mut cfg =
                JwtProviderConfig::parse(Some(alg), false, None, &[], &RESERVED_ISSUERS).unwrap();
            let (pem, jwk) = generate_key(alg).unwrap();
            cfg.public_jwk = jwk;
            assert!(check_not_writ_key(&cfg, &pem, writ.jwk()).is_ok(), "{alg}");
        }
        assert_eq!(jwks_path("0b8e"), "/api/v2/credential-providers/0b8e/jwks");
        assert!(!jwks_path("x").contains(crate::AUTHORIZATION_SERVER_ID));
    }
}
