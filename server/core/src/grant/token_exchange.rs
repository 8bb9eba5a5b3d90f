//! RFC 8693 token exchange, the pure parts: an agent (the authenticated
//! client, the *actor*) trades a person's token (the *subject*) for a Writ
//! access token that names both: `sub` is the person, `act` the agent (and,
//! through a chain of agents, `act.act` the one before it).
//!
//! The permissions such a token carries only ever narrow: the agent's grant
//! on the resource server ∩ what the person may delegate there (the resource
//! server's `permissions_expression` over the person's claims) ∩, along a
//! chain, the scope of the Writ token presented as the subject.
//!
//! The service loads the provider, resource server and grant; everything
//! decided from them is here, and unit-tested here.

use super::client_credentials::IssuedToken;
use super::token_request::TokenRequest;
use crate::error::{OAuthError, OAuthErrorCode};
use crate::scope::{self, Granted, ScopeRequest};
use crate::signing::SigningKey;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Serialize;
use serde_json::{Value, json};

/// RFC 8693 §3 token type identifiers.
pub const TOKEN_TYPE_JWT: &str = "urn:ietf:params:oauth:token-type:jwt";
pub const TOKEN_TYPE_ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";
pub const TOKEN_TYPE_ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";

/// Longest subject or actor token read (ID tokens are a few KB).
pub const MAX_TOKEN_LEN: usize = 16 * 1024;
/// A resource server's chain depth when the admin does not say.
pub const DEFAULT_MAX_CHAIN_DEPTH: i64 = 2;
/// The deepest chain an admin may allow (each hop nests one `act`).
pub const MAX_CHAIN_DEPTH_LIMIT: i64 = 8;
/// Most permissions a `permissions_expression` may produce.
pub const MAX_DELEGABLE: usize = 100;

/// What the presented subject token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectKind {
    /// A person's ID token or JWT from a user identity provider.
    External,
    /// A Writ access token already delegated to another agent (a chain).
    Writ,
}

/// The token-exchange parameters of a request, checked for shape only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExchangeParams<'a> {
    pub subject_token: &'a str,
    pub kind: SubjectKind,
}

fn bounded(s: &str) -> String {
    s.chars().take(100).collect()
}

/// RFC 8693 §2.1: `subject_token` and `subject_token_type` are required;
/// the type says where Writ looks for the token's issuer. Checked before
/// the client authenticates (shape only: nothing is verified, fetched or
/// looked up here).
pub fn params(req: &TokenRequest) -> Result<ExchangeParams<'_>, OAuthError> {
    let subject_token = req
        .subject_token
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            OAuthError::invalid_request("subject_token_missing", "subject_token is required")
        })?;
    if subject_token.len() > MAX_TOKEN_LEN {
        return Err(OAuthError::invalid_request(
            "subject_token_too_long",
            format!("subject_token is longer than {MAX_TOKEN_LEN} bytes"),
        ));
    }
    let kind = match req.subject_token_type.as_deref() {
        Some(TOKEN_TYPE_JWT | TOKEN_TYPE_ID_TOKEN) => SubjectKind::External,
        Some(TOKEN_TYPE_ACCESS_TOKEN) => SubjectKind::Writ,
        None | Some("") => {
            return Err(OAuthError::invalid_request(
                "subject_token_type_missing",
                "subject_token_type is required",
            ));
        }
        Some(other) => {
            return Err(OAuthError::invalid_request(
                "subject_token_type_unsupported",
                format!(
                    "subject_token_type '{}' is not supported: use {TOKEN_TYPE_ID_TOKEN}, {TOKEN_TYPE_JWT} or {TOKEN_TYPE_ACCESS_TOKEN}",
                    bounded(other)
                ),
            ));
        }
    };
    match req.requested_token_type.as_deref() {
        None | Some("" | TOKEN_TYPE_ACCESS_TOKEN | TOKEN_TYPE_JWT) => {}
        Some(other) => {
            return Err(OAuthError::invalid_request(
                "requested_token_type_unsupported",
                format!(
                    "requested_token_type '{}' is not supported: Writ issues {TOKEN_TYPE_ACCESS_TOKEN}",
                    bounded(other)
                ),
            ));
        }
    }
    // §2.1: actor_token_type is required with actor_token, and not without.
    match (req.actor_token.as_deref(), req.actor_token_type.as_deref()) {
        (None, None) => {}
        (Some(t), Some(_)) if t.len() > MAX_TOKEN_LEN => {
            return Err(OAuthError::invalid_request(
                "actor_token_too_long",
                format!("actor_token is longer than {MAX_TOKEN_LEN} bytes"),
            ));
        }
        (Some(_), Some(_)) => {}
        (Some(_), None) => {
            return Err(OAuthError::invalid_request(
                "actor_token_type_missing",
                "actor_token_type is required with actor_token",
            ));
        }
        (None, Some(_)) => {
            return Err(OAuthError::invalid_request(
                "actor_token_missing",
                "actor_token_type is given without actor_token",
            ));
        }
    }
    Ok(ExchangeParams {
        subject_token,
        kind,
    })
}

/// The unverified claims of a compact JWS, or `None` if it is not one.
fn peek(token: &str) -> Option<serde_json::Map<String, Value>> {
    let payload = token.trim().split('.').nth(1)?;
    match serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

/// The `iss` and `sub` a token claims, unverified and bounded: to find the
/// provider to check it with, and for the audit record of a refusal.
pub fn claimed_identity(token: &str) -> (Option<String>, Option<String>) {
    let Some(c) = peek(token) else {
        return (None, None);
    };
    let s = |k: &str| c.get(k).and_then(Value::as_str).map(|v| bounded_to(v, 512));
    (s("iss"), s("sub"))
}

fn bounded_to(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// The actor is the authenticated client. An `actor_token` adds nothing to
/// that (the client already proved who it is), so it is accepted when it
/// names the client (`sub` or `client_id`, unverified: it is not relied
/// on) and refused when it names anyone else, rather than silently ignored.
pub fn check_actor_token(req: &TokenRequest, client_id: &str) -> Result<(), OAuthError> {
    let Some(token) = req.actor_token.as_deref() else {
        return Ok(());
    };
    let names_client = peek(token).is_some_and(|c| {
        ["sub", "client_id"]
            .iter()
            .any(|k| c.get(*k).and_then(Value::as_str) == Some(client_id))
    });
    if names_client {
        Ok(())
    } else {
        Err(OAuthError::invalid_request(
            "actor_token_mismatch",
            "actor_token must name the authenticated client: the actor is the client that authenticates",
        ))
    }
}

/// Where the token is for: Writ's `scope` (`aud|perm …`), or RFC 8693's
/// `audience` / `resource` with plain permission names in `scope` (none:
/// every permission that survives the narrowing, as `aud|.all`).
pub fn scope_request(req: &TokenRequest) -> Result<ScopeRequest, OAuthError> {
    let target = match (req.audience.as_deref(), req.resource.as_deref()) {
        (Some(a), Some(r)) if a != r => {
            return Err(OAuthError::new(
                OAuthErrorCode::InvalidTarget,
                "target_ambiguous",
                "audience and resource name different resource servers: give one",
            ));
        }
        (Some(a), _) | (None, Some(a)) => Some(a.trim()).filter(|a| !a.is_empty()),
        (None, None) => None,
    };
    let Some(aud) = target else {
        return ScopeRequest::parse(req.scope.as_deref());
    };
    let scope = req.scope.as_deref().unwrap_or_default();
    if scope.contains('|') {
        let parsed = ScopeRequest::parse(Some(scope))?;
        if parsed.audience != aud {
            return Err(OAuthError::new(
                OAuthErrorCode::InvalidTarget,
                "target_ambiguous",
                "scope names another audience than audience/resource",
            ));
        }
        return Ok(parsed);
    }
    let items: Vec<String> = scope
        .split_whitespace()
        .map(|p| format!("{aud}|{p}"))
        .collect();
    let items = if items.is_empty() {
        format!("{aud}|.all")
    } else {
        items.join(" ")
    };
    ScopeRequest::parse(Some(&items))
}

/// A subject token that passed, as the exchange needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Subject {
    /// The person's issuer: the user identity provider's, or, along a
    /// chain, the one the first exchange recorded (`subject_issuer`).
    pub issuer: String,
    pub sub: String,
    pub exp: i64,
    pub claims: Value,
    pub kind: SubjectKind,
}

impl Subject {
    /// From a verified external token's claims (`sub`, `exp` are checked
    /// there: a string and an integer).
    pub fn external(issuer: &str, claims: Value) -> Result<Self, OAuthError> {
        let sub = claims
            .get("sub")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
        if sub.is_empty() || sub.len() > 256 {
            return Err(OAuthError::invalid_grant(
                "subject_sub_invalid",
                "the subject token's 'sub' must be 1-256 characters",
            ));
        }
        Ok(Self {
            issuer: issuer.to_owned(),
            sub: sub.to_owned(),
            exp,
            claims,
            kind: SubjectKind::External,
        })
    }

    /// The chain so far: the subject token's `act` (none for a person's token).
    pub fn prior_act(&self) -> Option<&Value> {
        match self.kind {
            SubjectKind::Writ => self.claims.get("act"),
            SubjectKind::External => None,
        }
    }

    /// The permissions a Writ subject token holds on `audience` (a chain
    /// can only narrow them).
    pub fn scope_on(&self, audience: &str) -> Vec<String> {
        let scope = self
            .claims
            .get("scope")
            .and_then(Value::as_str)
            .unwrap_or_default();
        scope
            .split_whitespace()
            .filter_map(|item| item.split_once('|'))
            .filter(|(a, _)| *a == audience)
            .map(|(_, p)| p.to_owned())
            .collect()
    }

    /// The actors so far, most recent first (for the audit record).
    pub fn actors(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut cur = self.prior_act();
        while let Some(a) = cur {
            if out.len() > MAX_CHAIN_DEPTH_LIMIT as usize {
                break;
            }
            out.push(
                a.get("sub")
                    .and_then(Value::as_str)
                    .map(|s| bounded_to(s, 128))
                    .unwrap_or_default(),
            );
            cur = a.get("act");
        }
        out
    }
}

fn grant_error(reason: &'static str, d: &str) -> OAuthError {
    OAuthError::invalid_grant(reason, format!("subject token rejected: {d}"))
}

/// An error from checking an external token (shared with OIDC federation,
/// which answers `invalid_client` there: the token authenticated the
/// client) as the exchange answers it: `invalid_grant`, the subject token
/// being the grant (RFC 8693 §2.2.2).
pub fn as_subject_error(e: OAuthError) -> OAuthError {
    if e.code == OAuthErrorCode::InvalidClient {
        OAuthError::invalid_grant(
            e.reason,
            e.description
                .replace("federated token rejected", "subject token rejected"),
        )
    } else {
        e
    }
}

/// Checks a Writ access token presented as the subject: Writ's own key
/// (ES256, its `kid`), `iss` Writ's issuer, not expired (within the clock
/// skew), `sub` a string, and an `act` claim — only a token already
/// delegated by a person can be delegated on; an agent's own token (no
/// `act`) cannot make another agent act as it.
pub fn verify_writ_token(
    token: &str,
    key: &SigningKey,
    issuer: &str,
    now: i64,
    skew_secs: i64,
) -> Result<Subject, OAuthError> {
    let header = jsonwebtoken::decode_header(token)
        .map_err(|_| grant_error("subject_malformed", "not a JWT"))?;
    if header.alg != Algorithm::ES256 || header.kid.as_deref() != Some(key.kid()) {
        return Err(grant_error(
            "subject_not_writ",
            "an access_token subject must be an access token this Writ issued",
        ));
    }
    let dk = DecodingKey::from_ec_components(&key.jwk().x, &key.jwk().y)
        .map_err(|_| OAuthError::server_error())?;
    let mut v = Validation::new(Algorithm::ES256);
    v.set_issuer(&[issuer]);
    v.validate_aud = false;
    v.validate_exp = false; // checked below against the injected clock
    v.set_required_spec_claims(&["exp", "iss", "sub"]);
    let claims = jsonwebtoken::decode::<Value>(token, &dk, &v)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidIssuer => {
                grant_error("subject_issuer", "not issued by this Writ")
            }
            _ => grant_error("subject_signature", "signature or claims do not verify"),
        })?
        .claims;
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or_else(|| grant_error("subject_claims", "'exp' must be an integer"))?;
    if exp <= now - skew_secs {
        return Err(grant_error("subject_expired", "expired"));
    }
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .ok_or_else(|| grant_error("subject_claims", "'sub' must be a string"))?
        .to_owned();
    if !claims.get("act").is_some_and(Value::is_object) {
        return Err(grant_error(
            "subject_not_delegated",
            "an access_token subject must itself come from a token exchange (carry 'act')",
        ));
    }
    let person_issuer = claims
        .get("subject_issuer")
        .and_then(Value::as_str)
        .unwrap_or(issuer)
        .to_owned();
    Ok(Subject {
        issuer: person_issuer,
        sub,
        exp,
        claims,
        kind: SubjectKind::Writ,
    })
}

/// RFC 8693 §4.4: when the subject token says who may act for it
/// (`may_act`), the agent must be one of them. Accepted shapes: an object
/// with `sub` (a string or a list of strings), or a list of such objects.
pub fn check_may_act(subject: &Subject, client_id: &str) -> Result<(), OAuthError> {
    let Some(may) = subject.claims.get("may_act") else {
        return Ok(());
    };
    fn names(v: &Value, client_id: &str) -> bool {
        match v {
            Value::Object(o) => match o.get("sub") {
                Some(Value::String(s)) => s == client_id,
                Some(Value::Array(l)) => l.iter().any(|s| s.as_str() == Some(client_id)),
                _ => false,
            },
            Value::Array(l) => l
                .iter()
                .take(100)
                .any(|o| o.is_object() && names(o, client_id)),
            _ => false,
        }
    }
    if names(may, client_id) {
        Ok(())
    } else {
        Err(OAuthError::new(
            OAuthErrorCode::UnauthorizedClient,
            "may_act_mismatch",
            "the subject token's may_act does not name this client",
        ))
    }
}

/// The permissions the exchanged token carries: those the request names
/// (or, with `.all`, every one) that the agent holds on the resource server
/// (its grant, as for client credentials) **and** the person may delegate.
/// A permission named outside either is `invalid_scope`, never dropped.
pub fn decide_scope(
    req: &ScopeRequest,
    rs_permissions: &[String],
    granted: Option<&Granted>,
    delegable: &[String],
) -> Result<Vec<String>, OAuthError> {
    let held = scope::decide(req, rs_permissions, granted);
    // With `.all` alone, a grant that yields nothing is the same refusal
    // as a delegation that yields nothing: say which.
    let held = held?;
    let mut out = Vec::with_capacity(held.len());
    for p in held {
        if delegable.contains(&p) {
            out.push(p);
        } else if req.permissions.contains(&p) {
            return Err(OAuthError::invalid_scope(
                "scope_not_delegable",
                format!(
                    "permission '{}' on audience '{}' is not one the subject may delegate",
                    bounded(&p),
                    bounded(&req.audience)
                ),
            ));
        }
    }
    if out.is_empty() {
        return Err(OAuthError::invalid_scope(
            "scope_not_delegable",
            format!(
                "the subject may delegate none of the agent's permissions on audience '{}'",
                bounded(&req.audience)
            ),
        ));
    }
    Ok(out)
}

/// Who acts now: the authenticated client.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    pub client_id: &'a str,
    pub agent_id: Option<&'a str>,
}

/// How many actors a chain holds (`act`, `act.act`, …), counted without
/// recursion and bounded (the value is Writ-signed, but never trusted to
/// be small).
fn depth(act: Option<&Value>) -> usize {
    let mut n = 0;
    let mut cur = act;
    while let Some(a) = cur.filter(|a| a.is_object()) {
        n += 1;
        if n > MAX_CHAIN_DEPTH_LIMIT as usize {
            break;
        }
        cur = a.get("act");
    }
    n
}

/// RFC 8693 §4.1 `act`: this agent, with the previous actor nested in it.
/// Refused when the chain would hold more than `max_depth` actors.
pub fn act_claim(
    actor: Actor<'_>,
    prior: Option<&Value>,
    max_depth: i64,
) -> Result<Value, OAuthError> {
    let n = depth(prior) + 1;
    if n as i64 > max_depth {
        return Err(OAuthError::invalid_grant(
            "delegation_chain_too_deep",
            format!(
                "the delegation chain would hold {n} actors; this resource server allows at most {max_depth}"
            ),
        ));
    }
    let mut act = json!({ "sub": actor.client_id });
    if let Some(agent) = actor.agent_id {
        act["agent_id"] = json!(agent);
    }
    if let Some(p) = prior {
        act["act"] = p.clone();
    }
    Ok(act)
}

/// The token's lifetime: the resource server's, cut to what the subject
/// token has left (a delegated token never outlives the person's).
pub fn lifetime(ttl_secs: i64, subject_exp: i64, now: i64) -> Result<i64, OAuthError> {
    let left = subject_exp - now;
    if left <= 0 {
        return Err(grant_error("subject_expired", "expired"));
    }
    Ok(ttl_secs.min(left))
}

#[derive(Debug, Serialize)]
struct ExchangedClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    client_id: &'a str,
    scope: &'a str,
    iat: i64,
    nbf: i64,
    exp: i64,
    jti: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent_id: Option<&'a str>,
    act: &'a Value,
    /// The person's issuer: `sub` alone is unique only within it.
    subject_issuer: &'a str,
}

/// Everything the exchanged token says.
#[derive(Debug)]
pub struct Exchange<'a> {
    pub subject: &'a Subject,
    pub actor: Actor<'a>,
    pub act: Value,
    pub audience: &'a str,
    pub permissions: &'a [String],
    pub lifetime_secs: i64,
}

/// Signs the exchanged token.
pub fn issue(
    key: &SigningKey,
    issuer: &str,
    now: i64,
    e: &Exchange<'_>,
) -> Result<IssuedToken, OAuthError> {
    let scope = scope::render(e.audience, e.permissions);
    let jti = uuid::Uuid::new_v4().to_string();
    let exp = now + e.lifetime_secs;
    let claims = ExchangedClaims {
        iss: issuer,
        sub: &e.subject.sub,
        aud: e.audience,
        client_id: e.actor.client_id,
        scope: &scope,
        iat: now,
        nbf: now,
        exp,
        jti: &jti,
        agent_id: e.actor.agent_id,
        act: &e.act,
        subject_issuer: &e.subject.issuer,
    };
    let access_token = key.sign(&claims).map_err(|_| OAuthError::server_error())?;
    Ok(IssuedToken {
        access_token,
        expires_in: e.lifetime_secs,
        expires_at: exp,
        scope,
        jti,
        audience: e.audience.to_owned(),
        issued_token_type: Some(TOKEN_TYPE_ACCESS_TOKEN),
    })
}

/// The audit record's `delegation`: the person (`iss`, `sub`; as claimed
/// until verified) and the agents, most recent first.
pub fn audit_record(iss: &str, sub: &str, verified: bool, actors: &[String]) -> String {
    json!({
        "subject": {"iss": bounded_to(iss, 256), "sub": bounded_to(sub, 256), "verified": verified},
        "actors": actors,
    })
    .to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

    fn req(body: &str) -> TokenRequest {
        TokenRequest::from_form(FORM, None, body.as_bytes(), String::new()).unwrap()
    }

    fn perms(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn enc(s: &str) -> String {
        url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
    }

    #[test]
    fn params_need_a_subject_token_of_a_known_type() {
        let reason = |b: &str| params(&req(b)).unwrap_err().reason;
        assert_eq!(reason(""), "subject_token_missing");
        assert_eq!(reason("subject_token=a.b.c"), "subject_token_type_missing");
        assert_eq!(
            reason("subject_token=a.b.c&subject_token_type=urn:x"),
            "subject_token_type_unsupported"
        );
        let long = "a".repeat(MAX_TOKEN_LEN + 1);
        assert_eq!(
            reason(&format!(
                "subject_token={long}&subject_token_type={}",
                enc(TOKEN_TYPE_JWT)
            )),
            "subject_token_too_long"
        );
        let ok = |t: &str| {
            params(&req(&format!(
                "subject_token=a.b.c&subject_token_type={}",
                enc(t)
            )))
            .unwrap()
            .kind
        };
        assert_eq!(ok(TOKEN_TYPE_ID_TOKEN), SubjectKind::External);
        assert_eq!(ok(TOKEN_TYPE_JWT), SubjectKind::External);
        assert_eq!(ok(TOKEN_TYPE_ACCESS_TOKEN), SubjectKind::Writ);
        let base = format!(
            "subject_token=a.b.c&subject_token_type={}",
            enc(TOKEN_TYPE_JWT)
        );
        assert_eq!(
            reason(&format!("{base}&actor_token=x")),
            "actor_token_type_missing"
        );
        assert_eq!(
            reason(&format!("{base}&actor_token_type=x")),
            "actor_token_missing"
        );
        assert_eq!(
            reason(&format!(
                "{base}&requested_token_type=urn:ietf:params:oauth:token-type:refresh_token"
            )),
            "requested_token_type_unsupported"
        );
        // Repeated parameters are refused by the form parser, as for any other.
        let e = TokenRequest::from_form(
            FORM,
            None,
            format!("{base}&subject_token=x").as_bytes(),
            String::new(),
        )
        .unwrap_err();
        assert_eq!(e.reason, "param_repeated");
    }

    fn jws(claims: &Value) -> String {
        format!(
            "{}.{}.sig",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        )
    }

    #[test]
    fn an_actor_token_must_name_the_client() {
        let with = |t: &str| req(&format!("actor_token={t}&actor_token_type=x"));
        assert!(check_actor_token(&req(""), "agent_1").is_ok());
        assert!(check_actor_token(&with(&jws(&json!({"sub": "agent_1"}))), "agent_1").is_ok());
        assert!(
            check_actor_token(&with(&jws(&json!({"client_id": "agent_1"}))), "agent_1").is_ok()
        );
        let e = check_actor_token(&with(&jws(&json!({"sub": "agent_2"}))), "agent_1").unwrap_err();
        assert_eq!(
            (e.code, e.reason),
            (OAuthErrorCode::InvalidRequest, "actor_token_mismatch")
        );
        assert!(check_actor_token(&with("garbage"), "agent_1").is_err());
    }

    #[test]
    fn scope_from_writ_form_or_audience_plus_permissions() {
        let s = scope_request(&req("scope=api%7Cread")).unwrap();
        assert_eq!(
            (s.audience.as_str(), s.permissions.clone()),
            ("api", perms(&["read"]))
        );
        let s = scope_request(&req("audience=api&scope=read+write")).unwrap();
        assert_eq!(s.permissions, perms(&["read", "write"]));
        let s = scope_request(&req("resource=api")).unwrap();
        assert!(s.all && s.audience == "api");
        let e = scope_request(&req("audience=a&resource=b")).unwrap_err();
        assert_eq!(e.code, OAuthErrorCode::InvalidTarget);
        let e = scope_request(&req("audience=a&scope=b%7Cread")).unwrap_err();
        assert_eq!(e.code, OAuthErrorCode::InvalidTarget);
        assert_eq!(
            scope_request(&req("")).unwrap_err().code,
            OAuthErrorCode::InvalidScope
        );
    }

    #[test]
    fn scope_is_the_intersection_and_escalation_is_refused() {
        let rs = perms(&["read", "write", "admin"]);
        let grant = Granted::Some(perms(&["read", "write"]));
        let person = perms(&["read", "admin"]);
        let all = ScopeRequest::parse(Some("api|.all")).unwrap();
        assert_eq!(
            decide_scope(&all, &rs, Some(&grant), &person).unwrap(),
            perms(&["read"])
        );
        let read = ScopeRequest::parse(Some("api|read")).unwrap();
        assert_eq!(
            decide_scope(&read, &rs, Some(&grant), &person).unwrap(),
            perms(&["read"])
        );
        // Beyond the person's delegable permissions.
        let write = ScopeRequest::parse(Some("api|write")).unwrap();
        let e = decide_scope(&write, &rs, Some(&grant), &person).unwrap_err();
        assert_eq!(
            (e.code, e.reason),
            (OAuthErrorCode::InvalidScope, "scope_not_delegable")
        );
        // Beyond the agent's grant.
        let admin = ScopeRequest::parse(Some("api|admin")).unwrap();
        let e = decide_scope(&admin, &rs, Some(&grant), &person).unwrap_err();
        assert_eq!(
            (e.code, e.reason),
            (OAuthErrorCode::InvalidScope, "scope_not_granted")
        );
        // Nothing in common.
        let e = decide_scope(&all, &rs, Some(&grant), &perms(&["admin"])).unwrap_err();
        assert_eq!(e.reason, "scope_not_delegable");
        assert!(decide_scope(&all, &rs, None, &person).is_err());
    }

    #[test]
    fn act_nests_per_hop_and_depth_is_bounded() {
        let a = Actor {
            client_id: "agent_a",
            agent_id: Some("ag_1"),
        };
        let b = Actor {
            client_id: "agent_b",
            agent_id: None,
        };
        let first = act_claim(a, None, 2).unwrap();
        assert_eq!(first, json!({"sub": "agent_a", "agent_id": "ag_1"}));
        let second = act_claim(b, Some(&first), 2).unwrap();
        assert_eq!(
            second,
            json!({"sub": "agent_b", "act": {"sub": "agent_a", "agent_id": "ag_1"}})
        );
        let e = act_claim(a, Some(&second), 2).unwrap_err();
        assert_eq!(
            (e.code, e.reason),
            (OAuthErrorCode::InvalidGrant, "delegation_chain_too_deep")
        );
        assert!(act_claim(a, None, 0).is_err());
        // A hostile depth is counted without recursion, and bounded.
        let mut deep = json!({"sub": "x"});
        // (serde_json parses at most 128 levels; 100 stands for "deep".)
        for _ in 0..100 {
            deep = json!({"sub": "x", "act": deep});
        }
        assert_eq!(depth(Some(&deep)), MAX_CHAIN_DEPTH_LIMIT as usize + 1);
    }

    #[test]
    fn lifetime_never_outlives_the_subject() {
        assert_eq!(lifetime(3600, 1_000 + 600, 1_000).unwrap(), 600);
        assert_eq!(lifetime(300, 1_000 + 600, 1_000).unwrap(), 300);
        assert_eq!(
            lifetime(300, 1_000, 1_000).unwrap_err().code,
            OAuthErrorCode::InvalidGrant
        );
    }

    fn subject(claims: Value) -> Subject {
        Subject {
            issuer: "https://idp".into(),
            sub: "alice".into(),
            exp: 0,
            claims,
            kind: SubjectKind::External,
        }
    }

    #[test]
    fn may_act_must_name_the_agent_when_present() {
        assert!(check_may_act(&subject(json!({})), "agent_a").is_ok());
        assert!(check_may_act(&subject(json!({"may_act": {"sub": "agent_a"}})), "agent_a").is_ok());
        assert!(
            check_may_act(
                &subject(json!({"may_act": {"sub": ["x", "agent_a"]}})),
                "agent_a"
            )
            .is_ok()
        );
        assert!(
            check_may_act(
                &subject(json!({"may_act": [{"sub": "agent_a"}]})),
                "agent_a"
            )
            .is_ok()
        );
        let e =
            check_may_act(&subject(json!({"may_act": {"sub": "agent_b"}})), "agent_a").unwrap_err();
        assert_eq!(e.code, OAuthErrorCode::UnauthorizedClient);
        assert!(check_may_act(&subject(json!({"may_act": "agent_a"})), "agent_a").is_err());
    }

    #[test]
    fn writ_subjects_verify_with_writs_key_and_must_be_delegated() {
        let (key, _) = SigningKey::generate().unwrap();
        let (other, _) = SigningKey::generate().unwrap();
        let person = subject(json!({"sub": "alice"}));
        let act = act_claim(
            Actor {
                client_id: "agent_a",
                agent_id: None,
            },
            None,
            2,
        )
        .unwrap();
        let p = perms(&["read"]);
        let e = Exchange {
            subject: &person,
            actor: Actor {
                client_id: "agent_a",
                agent_id: None,
            },
            act,
            audience: "api",
            permissions: &p,
            lifetime_secs: 600,
        };
        let t = issue(&key, "https://writ", 1_000, &e).unwrap();
        assert_eq!(
            (t.expires_in, t.expires_at, t.scope.as_str()),
            (600, 1_600, "api|read")
        );
        assert_eq!(t.issued_token_type, Some(TOKEN_TYPE_ACCESS_TOKEN));
        let s = verify_writ_token(&t.access_token, &key, "https://writ", 1_100, 60).unwrap();
        assert_eq!(
            (s.sub.as_str(), s.issuer.as_str(), s.kind),
            ("alice", "https://idp", SubjectKind::Writ)
        );
        assert_eq!(s.scope_on("api"), p);
        assert!(s.scope_on("other").is_empty());
        assert_eq!(s.actors(), vec!["agent_a".to_string()]);
        assert_eq!(s.prior_act().unwrap()["sub"], "agent_a");
        let reason = |tok: &str, k: &SigningKey, iss: &str, now: i64| {
            verify_writ_token(tok, k, iss, now, 60).unwrap_err().reason
        };
        assert_eq!(
            reason(&t.access_token, &other, "https://writ", 1_100),
            "subject_not_writ"
        );
        assert_eq!(
            reason(&t.access_token, &key, "https://elsewhere", 1_100),
            "subject_issuer"
        );
        assert_eq!(
            reason(&t.access_token, &key, "https://writ", 1_700),
            "subject_expired"
        );
        // Tampered: the payload changed, the signature not.
        let mut parts: Vec<String> = t.access_token.split('.').map(str::to_owned).collect();
        let mut c: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
        c["scope"] = json!("api|read api|admin");
        parts[1] = URL_SAFE_NO_PAD.encode(c.to_string());
        assert_eq!(
            reason(&parts.join("."), &key, "https://writ", 1_100),
            "subject_signature"
        );
        // An agent's own token (no act) is not a delegation.
        let own = key
            .sign(&json!({"iss": "https://writ", "sub": "agent_x", "exp": 2_000}))
            .unwrap();
        assert_eq!(
            reason(&own, &key, "https://writ", 1_100),
            "subject_not_delegated"
        );
    }

    #[test]
    fn external_errors_become_invalid_grant() {
        let e = as_subject_error(OAuthError::new(
            OAuthErrorCode::InvalidClient,
            "token_expired",
            "federated token rejected: expired",
        ));
        assert_eq!(
            (e.code, e.reason, e.description.as_str()),
            (
                OAuthErrorCode::InvalidGrant,
                "token_expired",
                "subject token rejected: expired"
            )
        );
        assert_eq!(
            as_subject_error(OAuthError::server_error()).code,
            OAuthErrorCode::ServerError
        );
        assert_eq!(
            claimed_identity(&jws(&json!({"iss": "https://idp", "sub": "alice"}))),
            (Some("https://idp".into()), Some("alice".into()))
        );
        assert_eq!(claimed_identity("nope"), (None, None));
        let a = audit_record(
            "https://idp",
            "alice",
            true,
            &["agent_b".into(), "agent_a".into()],
        );
        let v: Value = serde_json::from_str(&a).unwrap();
        assert_eq!(v["subject"]["sub"], "alice");
        assert_eq!(v["actors"][1], "agent_a");
    }
}
