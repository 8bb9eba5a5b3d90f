//! Issuer URLs and the OAuth 2.0 Authorization Server Metadata (RFC 8414),
//! served at `{issuer}/.well-known/openid-configuration`.

use crate::grant::jwt_bearer::ASSERTION_SIGNING_ALGS;
use serde::Serialize;

/// The URLs Writ's authorization server answers at, from the public base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerUrls {
    pub issuer: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    pub discovery: String,
}

impl IssuerUrls {
    pub fn new(public_url: &str) -> Self {
        let base = public_url.trim_end_matches('/');
        let issuer = format!("{base}/api/v2/{}/oauth2", crate::AUTHORIZATION_SERVER_ID);
        Self {
            token_endpoint: format!("{issuer}/token"),
            jwks_uri: format!("{issuer}/jwks"),
            discovery: format!("{issuer}/.well-known/openid-configuration"),
            issuer,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Metadata<'a> {
    pub issuer: &'a str,
    pub token_endpoint: &'a str,
    pub jwks_uri: &'a str,
    pub grant_types_supported: &'a [&'a str],
    pub token_endpoint_auth_methods_supported: &'a [&'a str],
    pub response_types_supported: &'a [&'a str],
    pub subject_types_supported: &'a [&'a str],
    pub id_token_signing_alg_values_supported: &'a [&'a str],
    pub token_endpoint_auth_signing_alg_values_supported: &'a [&'a str],
    pub scopes_supported: &'a [&'a str],
    pub claims_supported: &'a [&'a str],
}

pub fn metadata(urls: &IssuerUrls) -> Metadata<'_> {
    Metadata {
        issuer: &urls.issuer,
        token_endpoint: &urls.token_endpoint,
        jwks_uri: &urls.jwks_uri,
        grant_types_supported: crate::grant::GRANT_TYPES,
        // The same constants the token endpoint's authentication is named
        // and checked by (`grant`), so metadata cannot promise more or less.
        token_endpoint_auth_methods_supported: crate::grant::TOKEN_ENDPOINT_AUTH_METHODS,
        // No interactive flows yet; "token" keeps OIDC-only parsers (which
        // require the field) content without promising an authorization endpoint.
        response_types_supported: &["token"],
        subject_types_supported: &["public"],
        id_token_signing_alg_values_supported: &["ES256"],
        token_endpoint_auth_signing_alg_values_supported: &ASSERTION_SIGNING_ALGS,
        scopes_supported: &[crate::PAM_ALL_SCOPE],
        claims_supported: &[
            "iss",
            "sub",
            "aud",
            "exp",
            "iat",
            "nbf",
            "jti",
            "client_id",
            "scope",
            "agent_id",
            // RFC 8693 §4.1: who acts for the subject, on exchanged tokens.
            "act",
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_follow_the_iauths_system_layout() {
        let u = IssuerUrls::new("https://localhost:8443/");
        assert_eq!(
            u.issuer,
            "https://localhost:8443/api/v2/iauths_system/oauth2"
        );
        assert_eq!(
            u.token_endpoint,
            "https://localhost:8443/api/v2/iauths_system/oauth2/token"
        );
        assert_eq!(
            u.jwks_uri,
            "https://localhost:8443/api/v2/iauths_system/oauth2/jwks"
        );
        assert!(
            u.discovery
                .ends_with("/oauth2/.well-known/openid-configuration")
        );
        let m = serde_json::to_value(metadata(&u)).unwrap();
        assert_eq!(m["issuer"], u.issuer.as_str());
        assert_eq!(
            m["token_endpoint_auth_methods_supported"][1],
            "client_secret_basic"
        );
    }

    #[test]
    fn advertised_client_auth_is_what_the_token_endpoint_checks() {
        use crate::grant::client_auth::AuthMethod;
        use crate::grant::jwt_bearer::HMAC_ALGS;
        use crate::public_key::ALLOWED_ALGS;
        let u = IssuerUrls::new("https://writ.test");
        let m = serde_json::to_value(metadata(&u)).unwrap();
        let listed = |k: &str| -> Vec<String> { serde_json::from_value(m[k].clone()).unwrap() };
        let algs = listed("token_endpoint_auth_signing_alg_values_supported");
        let mut expected: Vec<String> = ALLOWED_ALGS.iter().map(|a| a.to_string()).collect();
        expected.extend(HMAC_ALGS.iter().map(|a| a.to_string()));
        assert_eq!(algs, expected);
        assert!(!algs.iter().any(|a| a == "none"));
        let methods = listed("token_endpoint_auth_methods_supported");
        assert_eq!(
            methods,
            [
                "client_secret_post",
                "client_secret_basic",
                "private_key_jwt",
                "client_secret_jwt"
            ]
        );
        for a in [AuthMethod::ClientSecretPost, AuthMethod::ClientSecretBasic] {
            assert!(methods.iter().any(|m| m == a.as_str()), "{a:?}");
        }
        // The access-token signing alg is unchanged.
        assert_eq!(
            m["id_token_signing_alg_values_supported"],
            serde_json::json!(["ES256"])
        );
    }
}
