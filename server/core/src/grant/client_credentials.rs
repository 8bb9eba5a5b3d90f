//! The client-credentials grant (RFC 6749 §4.4) once the client is
//! authenticated: decide the scope, then mint an RFC 9068 access token.

use crate::error::OAuthError;
use crate::scope::{self, Granted, ScopeRequest};
use crate::signing::SigningKey;
use serde::Serialize;

/// The authenticated client, as the token describes it.
#[derive(Debug, Clone)]
pub struct TokenSubject {
    pub client_id: String,
    pub agent_id: Option<String>,
    /// `activeSubjectUrn` from a federated credential's attribute mapping.
    pub active_subject: Option<String>,
}

/// The resource server the scope names.
#[derive(Debug, Clone)]
pub struct Audience {
    pub audience: String,
    pub permissions: Vec<String>,
    pub token_ttl_secs: i64,
    /// Custom subject identity: `sub` becomes `<clientId>:<activeSubjectUrn>`
    /// when the credential maps one.
    pub custom_subject: bool,
}

#[derive(Debug, Serialize)]
pub struct AccessTokenClaims<'a> {
    pub iss: &'a str,
    pub sub: &'a str,
    pub aud: &'a str,
    pub client_id: &'a str,
    pub scope: &'a str,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub access_token: String,
    pub expires_in: i64,
    pub expires_at: i64,
    pub scope: String,
    pub jti: String,
    pub audience: String,
    /// RFC 8693 §2.2.1 `issued_token_type`: set for a token exchange.
    pub issued_token_type: Option<&'static str>,
}

pub fn issue(
    key: &SigningKey,
    issuer: &str,
    now: i64,
    subject: &TokenSubject,
    request: &ScopeRequest,
    audience: &Audience,
    granted: Option<&Granted>,
) -> Result<IssuedToken, OAuthError> {
    let permissions = scope::decide(request, &audience.permissions, granted)?;
    let scope = scope::render(&audience.audience, &permissions);
    let jti = uuid::Uuid::new_v4().to_string();
    let exp = now + audience.token_ttl_secs;
    let custom_sub = subject
        .active_subject
        .as_deref()
        .filter(|_| audience.custom_subject)
        .map(|urn| format!("{}:{urn}", subject.client_id));
    let claims = AccessTokenClaims {
        iss: issuer,
        sub: custom_sub.as_deref().unwrap_or(&subject.client_id),
        aud: &audience.audience,
        client_id: &subject.client_id,
        scope: &scope,
        iat: now,
        nbf: now,
        exp,
        jti: &jti,
        agent_id: subject.agent_id.as_deref(),
    };
    let access_token = key.sign(&claims).map_err(|_| OAuthError::server_error())?;
    Ok(IssuedToken {
        access_token,
        expires_in: audience.token_ttl_secs,
        expires_at: exp,
        scope,
        jti,
        audience: audience.audience.clone(),
        issued_token_type: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};

    #[test]
    fn token_carries_the_rfc9068_claims() {
        let (key, _) = SigningKey::generate().unwrap();
        let subject = TokenSubject {
            client_id: "app_1".into(),
            agent_id: Some("agent_x".into()),
            active_subject: None,
        };
        let aud = Audience {
            audience: "urn:cloud:idaas:pam".into(),
            permissions: vec!["a".into(), "b".into()],
            token_ttl_secs: 3600,
            custom_subject: false,
        };
        let req = ScopeRequest::parse(Some("urn:cloud:idaas:pam|.all")).unwrap();
        let t = issue(
            &key,
            "https://issuer",
            1_000,
            &subject,
            &req,
            &aud,
            Some(&Granted::All),
        )
        .unwrap();
        assert_eq!(t.expires_at, 4_600);
        assert_eq!(t.scope, "urn:cloud:idaas:pam|a urn:cloud:idaas:pam|b");
        let dk = DecodingKey::from_ec_components(&key.jwk().x, &key.jwk().y).unwrap();
        let mut v = Validation::new(Algorithm::ES256);
        v.validate_exp = false;
        v.validate_nbf = false;
        v.set_audience(&["urn:cloud:idaas:pam"]);
        v.set_issuer(&["https://issuer"]);
        let c = jsonwebtoken::decode::<serde_json::Value>(&t.access_token, &dk, &v)
            .unwrap()
            .claims;
        assert_eq!(c["sub"], "app_1");
        assert_eq!(c["client_id"], "app_1");
        assert_eq!(c["agent_id"], "agent_x");
        assert_eq!(c["jti"], t.jti.as_str());
        assert_eq!(c["exp"], 4_600);

        // Custom subject identity: only with the switch on and a mapped subject.
        let mapped = TokenSubject {
            active_subject: Some("ns/payments".into()),
            ..subject.clone()
        };
        let custom = Audience {
            custom_subject: true,
            ..aud.clone()
        };
        for (s, a, want) in [
            (&mapped, &custom, "app_1:ns/payments"),
            (&mapped, &aud, "app_1"),
            (&subject, &custom, "app_1"),
        ] {
            let t = issue(
                &key,
                "https://issuer",
                1_000,
                s,
                &req,
                a,
                Some(&Granted::All),
            )
            .unwrap();
            let c = jsonwebtoken::decode::<serde_json::Value>(&t.access_token, &dk, &v)
                .unwrap()
                .claims;
            assert_eq!(c["sub"], want);
            assert_eq!(c["client_id"], "app_1");
        }
    }

    #[test]
    fn refuses_ungranted() {
        let (key, _) = SigningKey::generate().unwrap();
        let subject = TokenSubject {
            client_id: "c".into(),
            agent_id: None,
            active_subject: None,
        };
        let aud = Audience {
            audience: "api".into(),
            permissions: vec!["a".into()],
            token_ttl_secs: 3600,
            custom_subject: false,
        };
        let req = ScopeRequest::parse(Some("api|a")).unwrap();
        assert!(issue(&key, "i", 0, &subject, &req, &aud, None).is_err());
    }
}
