//! OAuth credential providers: Writ is an OAuth client of a third party and
//! fetches its tokens for a workload. Two flows, chosen by the provider:
//! **user-delegated** (authorization code with PKCE and `state`: a person
//! consents in a browser, the third party redirects to Writ's callback) and
//! **machine** (client_credentials: Writ fetches the token itself).
//!
//! This module builds the requests and reads the answers; the HTTP calls,
//! sealing and storage live in the store crate.

use crate::names::InvalidInput;
use crate::outbound::check_url;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// A cached token is handed out only while it has at least this long left.
pub const FRESHNESS_MARGIN_SECS: i64 = 60;
/// How long a user has to consent before the session expires.
pub const SESSION_TTL_SECS: i64 = 600;
/// Assumed lifetime of an access token whose response names none.
pub const DEFAULT_TOKEN_TTL_SECS: i64 = 3600;
/// `sessionUri` = this prefix + the session id (RFC 9126's request_uri form).
pub const SESSION_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// Authorization-request parameters a caller's `customParameters` may not set.
const RESERVED_PARAMS: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "state",
    "scope",
    "code_challenge",
    "code_challenge_method",
];

fn bad(field: &'static str, m: impl Into<String>) -> InvalidInput {
    InvalidInput {
        field,
        message: m.into(),
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Flow {
    /// Authorization code + PKCE: a person consents (the PAM client's 3LO).
    UserFederation,
    /// client_credentials (the PAM client's `m2m`).
    M2m,
}

impl Flow {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UserFederation => "user_federation",
            Self::M2m => "m2m",
        }
    }
}

/// How Writ authenticates to the third party's token endpoint.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    Basic,
    Post,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OAuthProviderConfig {
    pub flow: Flow,
    pub client_id: String,
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: String,
    pub client_auth: ClientAuth,
    /// Default scopes; a request's own scope wins.
    pub scopes: Vec<String>,
    #[serde(default)]
    pub allow_insecure_local_endpoints: bool,
}

/// What an admin sends; every field checked by [`OAuthProviderConfig::parse`].
#[derive(Debug, Default, Clone)]
pub struct OAuthProviderInput<'a> {
    pub flow: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub authorization_endpoint: Option<&'a str>,
    pub token_endpoint: Option<&'a str>,
    pub client_auth: Option<&'a str>,
    pub scopes: &'a [String],
    pub allow_insecure_local_endpoints: bool,
}

fn non_empty(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|s| !s.is_empty())
}

impl OAuthProviderConfig {
    pub fn parse(i: &OAuthProviderInput<'_>) -> Result<Self, InvalidInput> {
        let insecure = i.allow_insecure_local_endpoints;
        let authorization_endpoint = non_empty(i.authorization_endpoint);
        let flow = match non_empty(i.flow) {
            Some("user_federation") => Flow::UserFederation,
            Some("m2m") => Flow::M2m,
            Some(_) => {
                return Err(bad("authorization_flow", "must be user_federation or m2m"));
            }
            // An authorization endpoint means a person consents; none means machine.
            None if authorization_endpoint.is_some() => Flow::UserFederation,
            None => Flow::M2m,
        };
        let client_id = non_empty(i.client_id)
            .ok_or_else(|| bad("client_id", "the third party's client ID is required"))?;
        if client_id.len() > 256 {
            return Err(bad("client_id", "is longer than 256 characters"));
        }
        let token_endpoint = non_empty(i.token_endpoint)
            .ok_or_else(|| bad("token_endpoint", "the token endpoint is required"))?;
        check_url(token_endpoint, insecure).map_err(|m| bad("token_endpoint", m))?;
        let authorization_endpoint = match (flow, authorization_endpoint) {
            (Flow::UserFederation, None) => {
                return Err(bad(
                    "authorization_endpoint",
                    "the authorization endpoint is required for the user-delegated flow",
                ));
            }
            (_, Some(u)) => {
                check_url(u, insecure).map_err(|m| bad("authorization_endpoint", m))?;
                Some(u.to_owned())
            }
            (_, None) => None,
        };
        let client_auth = match non_empty(i.client_auth).unwrap_or("basic") {
            "basic" | "client_secret_basic" => ClientAuth::Basic,
            "post" | "client_secret_post" => ClientAuth::Post,
            _ => return Err(bad("client_auth_method", "must be basic or post")),
        };
        let scopes =
            normalize_scopes(i.scopes.iter().map(String::as_str)).map_err(|m| bad("scopes", m))?;
        Ok(Self {
            flow,
            client_id: client_id.to_owned(),
            authorization_endpoint,
            token_endpoint: token_endpoint.to_owned(),
            client_auth,
            scopes,
            allow_insecure_local_endpoints: insecure,
        })
    }

    /// The scope string to ask for: the request's own, else the defaults.
    pub fn scope_for(&self, requested: Option<&str>) -> Result<String, String> {
        let scopes = match non_empty(requested) {
            Some(r) => normalize_scopes(r.split_whitespace())?,
            None => self.scopes.clone(),
        };
        Ok(scopes.join(" "))
    }

    /// The URL the user opens to consent.
    pub fn authorization_url(
        &self,
        redirect_uri: &str,
        state: &str,
        pkce: &Pkce,
        scope: &str,
        custom: &[(String, String)],
    ) -> Option<String> {
        let mut url = url::Url::parse(self.authorization_endpoint.as_deref()?).ok()?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", &self.client_id)
                .append_pair("redirect_uri", redirect_uri)
                .append_pair("state", state)
                .append_pair("code_challenge", &pkce.challenge)
                .append_pair("code_challenge_method", "S256");
            if !scope.is_empty() {
                q.append_pair("scope", scope);
            }
            for (k, v) in custom {
                q.append_pair(k, v);
            }
        }
        Some(url.into())
    }

    /// The token request for `grant`: its form body and, for basic client
    /// authentication, the Authorization header.
    pub fn token_request(&self, grant: &Grant<'_>, client_secret: &str) -> TokenRequest {
        let mut form: Vec<(&'static str, String)> = match grant {
            Grant::AuthorizationCode {
                code,
                verifier,
                redirect_uri,
            } => vec![
                ("grant_type", "authorization_code".into()),
                ("code", (*code).into()),
                ("redirect_uri", (*redirect_uri).into()),
                ("code_verifier", (*verifier).into()),
            ],
            Grant::ClientCredentials { scope } => {
                let mut f = vec![("grant_type", "client_credentials".into())];
                if !scope.is_empty() {
                    f.push(("scope", (*scope).into()));
                }
                f
            }
            Grant::Refresh {
                refresh_token,
                scope,
            } => {
                let mut f = vec![
                    ("grant_type", "refresh_token".into()),
                    ("refresh_token", (*refresh_token).into()),
                ];
                if !scope.is_empty() {
                    f.push(("scope", (*scope).into()));
                }
                f
            }
        };
        let authorization = match self.client_auth {
            ClientAuth::Basic => {
                // RFC 6749 §2.3.1: each part form-encoded before base64.
                let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect();
                let (id, secret): (String, String) = (enc(&self.client_id), enc(client_secret));
                form.push(("client_id", self.client_id.clone()));
                Some(format!(
                    "Basic {}",
                    STANDARD.encode(format!("{id}:{secret}"))
                ))
            }
            ClientAuth::Post => {
                form.push(("client_id", self.client_id.clone()));
                form.push(("client_secret", client_secret.to_owned()));
                None
            }
        };
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form.iter().map(|(k, v)| (*k, v.as_str())))
            .finish();
        TokenRequest {
            body,
            authorization,
        }
    }
}

/// Scopes: space-free tokens of printable ASCII (RFC 6749 §3.3), no
/// duplicates, order kept.
fn normalize_scopes<'a>(scopes: impl Iterator<Item = &'a str>) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for s in scopes.map(str::trim).filter(|s| !s.is_empty()) {
        if s.len() > 256
            || !s
                .bytes()
                .all(|b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\')
        {
            return Err(format!(
                "'{}' is not a valid scope",
                s.chars().take(64).collect::<String>()
            ));
        }
        if !out.iter().any(|o| o == s) {
            out.push(s.to_owned());
        }
    }
    if out.len() > 50 {
        return Err("at most 50 scopes".into());
    }
    Ok(out)
}

/// A request's `customParameters`, as extra authorization-request pairs.
/// Values are strings, numbers or booleans; the flow's own parameters
/// cannot be replaced.
pub fn custom_parameters(v: Option<&Value>) -> Result<Vec<(String, String)>, String> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(Vec::new());
    };
    let obj: &Map<String, Value> = v
        .as_object()
        .ok_or("customParameters must be a JSON object")?;
    if obj.len() > 20 {
        return Err("customParameters has more than 20 entries".into());
    }
    let mut out = Vec::with_capacity(obj.len());
    for (k, v) in obj {
        if RESERVED_PARAMS.contains(&k.as_str()) {
            return Err(format!("customParameters may not set '{k}'"));
        }
        let v = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => return Err(format!("customParameters '{k}' must be a string")),
        };
        if k.len() > 128 || v.len() > 1024 {
            return Err(format!("customParameters '{k}' is too long"));
        }
        out.push((k.clone(), v));
    }
    Ok(out)
}

/// Proof Key for Code Exchange (RFC 7636), S256.
#[derive(Debug, Clone)]
pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

impl Pkce {
    pub fn new() -> Self {
        // 32 random bytes → 43 base64url characters, the minimum length.
        Self::from_verifier(crate::random::token(32))
    }

    pub fn from_verifier(verifier: String) -> Self {
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        Self {
            verifier,
            challenge,
        }
    }
}

impl Default for Pkce {
    fn default() -> Self {
        Self::new()
    }
}

pub enum Grant<'a> {
    AuthorizationCode {
        code: &'a str,
        verifier: &'a str,
        redirect_uri: &'a str,
    },
    ClientCredentials {
        scope: &'a str,
    },
    Refresh {
        refresh_token: &'a str,
        scope: &'a str,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// `application/x-www-form-urlencoded` body.
    pub body: String,
    /// `Authorization` header value, for basic client authentication.
    pub authorization: Option<String>,
}

/// A third party's successful token response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Why a third party refused, as it said (its `error` and description,
/// bounded: they come from outside and go back to the workload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub error: String,
    pub description: String,
}

impl Refusal {
    /// Bounded and stripped of control characters: both may come from the
    /// third party and go back to the workload and into HTML.
    pub fn new(error: &str, description: &str) -> Self {
        Self {
            error: crate::names::printable_prefix(error, 64),
            description: crate::names::printable_prefix(description, 256),
        }
    }
}

/// Reads a token endpoint's answer (RFC 6749 §5.1 / §5.2).
pub fn read_token_response(status: u16, body: &Value, now: i64) -> Result<TokenResponse, Refusal> {
    let s = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
    if !(200..300).contains(&status) || s("access_token").is_none() {
        return Err(Refusal::new(
            s("error").as_deref().unwrap_or("invalid_response"),
            s("error_description")
                .as_deref()
                .unwrap_or(if (200..300).contains(&status) {
                    "the token response has no access_token"
                } else {
                    "the token endpoint refused the request"
                }),
        ));
    }
    let expires_in = body
        .get("expires_in")
        .and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()))
        .filter(|e| *e > 0)
        .unwrap_or(DEFAULT_TOKEN_TTL_SECS);
    Ok(TokenResponse {
        access_token: s("access_token").unwrap_or_default(),
        token_type: s("token_type").unwrap_or_else(|| "Bearer".into()),
        refresh_token: s("refresh_token").filter(|r| !r.is_empty()),
        scope: s("scope"),
        expires_at: now.saturating_add(expires_in.min(365 * 86_400)),
    })
}

/// Whether a token expiring at `expires_at` may still be handed out.
pub fn is_fresh(expires_at: i64, now: i64) -> bool {
    expires_at - FRESHNESS_MARGIN_SECS > now
}

/// The `state` is looked up by its hash: the database never holds a live one.
pub fn state_hash(state: &str) -> String {
    crate::hex::encode(&Sha256::digest(state.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user_federation() -> OAuthProviderConfig {
        OAuthProviderConfig::parse(&OAuthProviderInput {
            client_id: Some("writ"),
            authorization_endpoint: Some("https://idp.example.com/auth?tenant=a"),
            token_endpoint: Some("https://idp.example.com/token"),
            scopes: &["openid".into(), "calendar".into(), "openid".into()],
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn flow_follows_the_authorization_endpoint_unless_named() {
        let c = user_federation();
        assert_eq!(c.flow, Flow::UserFederation);
        assert_eq!(c.client_auth, ClientAuth::Basic);
        assert_eq!(c.scopes, ["openid", "calendar"]);
        let m = OAuthProviderConfig::parse(&OAuthProviderInput {
            client_id: Some("writ"),
            token_endpoint: Some("https://idp.example.com/token"),
            client_auth: Some("post"),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(m.flow, Flow::M2m);
        let e = OAuthProviderConfig::parse(&OAuthProviderInput {
            flow: Some("user_federation"),
            client_id: Some("writ"),
            token_endpoint: Some("https://idp.example.com/token"),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(e.field, "authorization_endpoint");
    }

    #[test]
    fn endpoints_obey_the_outbound_policy() {
        let input = OAuthProviderInput {
            client_id: Some("writ"),
            token_endpoint: Some("http://127.0.0.1:9000/token"),
            ..Default::default()
        };
        assert_eq!(
            OAuthProviderConfig::parse(&input).unwrap_err().field,
            "token_endpoint"
        );
        let local = OAuthProviderInput {
            allow_insecure_local_endpoints: true,
            ..input
        };
        assert!(OAuthProviderConfig::parse(&local).is_ok());
        let e = OAuthProviderConfig::parse(&OAuthProviderInput {
            client_id: Some(""),
            token_endpoint: Some("https://idp.example.com/token"),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(e.field, "client_id");
    }

    #[test]
    fn authorization_url_carries_pkce_state_and_scope() {
        let c = user_federation();
        let pkce = Pkce::from_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into());
        // RFC 7636 appendix B.
        assert_eq!(
            pkce.challenge,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let u = c
            .authorization_url(
                "https://writ.test/cb",
                "st&te",
                &pkce,
                &c.scope_for(None).unwrap(),
                &[("prompt".into(), "consent".into())],
            )
            .unwrap();
        let parsed = url::Url::parse(&u).unwrap();
        let q: std::collections::HashMap<_, _> = parsed.query_pairs().into_owned().collect();
        assert_eq!(q["tenant"], "a");
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["state"], "st&te");
        assert_eq!(q["redirect_uri"], "https://writ.test/cb");
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["code_challenge"], pkce.challenge);
        assert_eq!(q["scope"], "openid calendar");
        assert_eq!(q["prompt"], "consent");
        assert!(Pkce::new().verifier.len() >= 43);
    }

    #[test]
    fn requested_scope_wins_and_is_checked() {
        let c = user_federation();
        assert_eq!(
            c.scope_for(Some(" read  write read")).unwrap(),
            "read write"
        );
        assert_eq!(c.scope_for(Some("  ")).unwrap(), "openid calendar");
        assert!(c.scope_for(Some("a\"b")).is_err());
    }

    #[test]
    fn custom_parameters_cannot_replace_the_flow() {
        assert_eq!(
            custom_parameters(Some(&json!({"prompt": "consent", "max_age": 0}))).unwrap(),
            vec![
                ("max_age".into(), "0".into()),
                ("prompt".into(), "consent".into())
            ]
        );
        assert!(custom_parameters(Some(&json!({"state": "x"}))).is_err());
        assert!(custom_parameters(Some(&json!({"a": {"b": 1}}))).is_err());
        assert!(custom_parameters(Some(&json!([1]))).is_err());
        assert!(custom_parameters(None).unwrap().is_empty());
    }

    #[test]
    fn token_requests_authenticate_as_configured() {
        let mut c = user_federation();
        let r = c.token_request(
            &Grant::AuthorizationCode {
                code: "c0de",
                verifier: "v",
                redirect_uri: "https://writ.test/cb",
            },
            "s3cr:t",
        );
        assert!(r.body.contains("grant_type=authorization_code"));
        assert!(r.body.contains("code_verifier=v"));
        assert!(!r.body.contains("s3cr"));
        // "s3cr:t" form-encoded is "s3cr%3At".
        assert_eq!(
            r.authorization.unwrap(),
            format!("Basic {}", STANDARD.encode("writ:s3cr%3At"))
        );
        c.client_auth = ClientAuth::Post;
        let r = c.token_request(&Grant::ClientCredentials { scope: "a b" }, "s3cr:t");
        assert_eq!(r.authorization, None);
        assert_eq!(
            r.body,
            "grant_type=client_credentials&scope=a+b&client_id=writ&client_secret=s3cr%3At"
        );
    }

    #[test]
    fn token_responses_are_read_or_refused() {
        let t = read_token_response(
            200,
            &json!({"access_token": "at", "token_type": "Bearer", "expires_in": 600, "refresh_token": "rt"}),
            1000,
        )
        .unwrap();
        assert_eq!(t.expires_at, 1600);
        assert_eq!(t.refresh_token.as_deref(), Some("rt"));
        let r = read_token_response(
            400,
            &json!({"error": "invalid_grant", "error_description": "code\nexpired"}),
            0,
        )
        .unwrap_err();
        assert_eq!(r.error, "invalid_grant");
        assert_eq!(r.description, "codeexpired");
        assert_eq!(
            read_token_response(200, &json!({}), 0).unwrap_err().error,
            "invalid_response"
        );
        assert!(is_fresh(1000, 900));
        assert!(!is_fresh(1000, 950));
    }
}
