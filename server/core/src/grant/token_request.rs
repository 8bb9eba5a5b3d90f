//! A token request as the token endpoint receives it (RFC 6749 §3.2, §4.4):
//! the form parsed once, parameters never repeated, and the one way the
//! client authenticates read from the header, the body or an assertion.

use super::client_auth::{PresentedClient, presented_client};
use super::jwt_bearer::ASSERTION_TYPE_JWT_BEARER;
use crate::error::{OAuthError, OAuthErrorCode};
use crate::federation::check::Presented;
use crate::federation::{oidc, pca, pkcs7};
use writ_types::ProviderKind;

/// Longest client id Writ stores; a longer one is unknown without a lookup.
pub const MAX_CLIENT_ID: usize = 128;
/// Longest federated credential name (`[a-z0-9_-]{1,64}`).
pub const MAX_CREDENTIAL_NAME: usize = 64;

/// The parameters of a token request that Writ reads.
#[derive(Debug, Default, Clone)]
pub struct TokenRequest {
    /// The `Authorization` header, as sent.
    pub authorization: Option<String>,
    pub grant_type: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub scope: Option<String>,
    pub client_assertion_type: Option<String>,
    pub client_assertion: Option<String>,
    pub application_federated_credential_name: Option<String>,
    /// PCA: the client certificate and its chain (PEM).
    pub client_x509: Option<String>,
    pub client_x509_chain: Option<String>,
    /// RFC 8693 token exchange (§2.1): the person's token and its type,
    /// the optional actor token, and where the token is for.
    pub subject_token: Option<String>,
    pub subject_token_type: Option<String>,
    pub actor_token: Option<String>,
    pub actor_token_type: Option<String>,
    pub requested_token_type: Option<String>,
    pub audience: Option<String>,
    pub resource: Option<String>,
    /// Remote address, for the audit log.
    pub source: String,
}

/// The grant a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    ClientCredentials,
    /// RFC 8693: an agent trades a person's token for one that names both.
    TokenExchange,
}

/// How the request says the client authenticates (nothing verified yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthenticationKind<'a> {
    /// `client_secret_basic` / `client_secret_post` (no assertion type).
    Secret,
    /// RFC 7523 `jwt-bearer`: private_key_jwt or client_secret_jwt.
    JwtBearer,
    /// A federated credential's assertion type (PCA, OIDC, PKCS#7).
    Federated(ProviderKind),
    /// An assertion type Writ does not know.
    Unsupported(&'a str),
}

impl TokenRequest {
    /// Parses an `application/x-www-form-urlencoded` body that the caller
    /// has already bounded in size. Unknown parameters are ignored (RFC 6749
    /// §3.2); a known one given twice is refused. Bytes that do not decode
    /// to UTF-8 become U+FFFD, as in every form decoder: nothing stored can
    /// match them.
    /// The `Authorization` header's one value. It is not a list field (RFC
    /// 9110 §11.6.2): a second one is refused, as a repeated form parameter
    /// is, instead of silently reading the first.
    pub fn single_authorization<'a>(
        mut values: impl Iterator<Item = &'a [u8]>,
    ) -> Result<Option<&'a str>, OAuthError> {
        let first = values.next();
        if values.next().is_some() {
            return Err(OAuthError::invalid_request(
                "authorization_repeated",
                "the Authorization header is given more than once",
            ));
        }
        Ok(first.and_then(|v| std::str::from_utf8(v).ok()))
    }

    pub fn from_form(
        content_type: Option<&str>,
        authorization: Option<&str>,
        body: &[u8],
        source: String,
    ) -> Result<Self, OAuthError> {
        Self::check_content_type(content_type)?;
        let mut req = Self {
            source,
            authorization: authorization.map(str::to_owned),
            ..Self::default()
        };
        for (k, v) in url::form_urlencoded::parse(body) {
            let slot = match k.as_ref() {
                "grant_type" => &mut req.grant_type,
                "client_id" => &mut req.client_id,
                "client_secret" => &mut req.client_secret,
                "scope" => &mut req.scope,
                "client_assertion_type" => &mut req.client_assertion_type,
                "client_assertion" => &mut req.client_assertion,
                "application_federated_credential_name" => {
                    &mut req.application_federated_credential_name
                }
                "client_x509" => &mut req.client_x509,
                "client_x509_chain" => &mut req.client_x509_chain,
                "subject_token" => &mut req.subject_token,
                "subject_token_type" => &mut req.subject_token_type,
                "actor_token" => &mut req.actor_token,
                "actor_token_type" => &mut req.actor_token_type,
                "requested_token_type" => &mut req.requested_token_type,
                "audience" => &mut req.audience,
                "resource" => &mut req.resource,
                _ => continue,
            };
            if slot.replace(v.into_owned()).is_some() {
                return Err(OAuthError::invalid_request(
                    "param_repeated",
                    format!("parameter '{k}' given more than once"),
                ));
            }
        }
        Ok(req)
    }

    /// The body must be a form (RFC 6749 §4.4.2); checked before reading it.
    pub fn check_content_type(content_type: Option<&str>) -> Result<(), OAuthError> {
        let form = content_type
            .unwrap_or_default()
            .to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded");
        if !form {
            return Err(OAuthError::invalid_request(
                "content_type",
                "send the request as application/x-www-form-urlencoded",
            ));
        }
        Ok(())
    }

    /// `grant_type` must be `client_credentials` or RFC 8693's token exchange.
    pub fn check_grant_type(&self) -> Result<Grant, OAuthError> {
        match self.grant_type.as_deref() {
            Some(super::GRANT_CLIENT_CREDENTIALS) => Ok(Grant::ClientCredentials),
            Some(super::GRANT_TOKEN_EXCHANGE) => Ok(Grant::TokenExchange),
            None | Some("") => Err(OAuthError::invalid_request(
                "grant_type_missing",
                "grant_type is required",
            )),
            Some(_) => Err(OAuthError::new(
                OAuthErrorCode::UnsupportedGrantType,
                "grant_type_unsupported",
                "supported grant types: client_credentials and urn:ietf:params:oauth:grant-type:token-exchange",
            )),
        }
    }

    pub fn authentication_kind(&self) -> AuthenticationKind<'_> {
        match self.client_assertion_type.as_deref() {
            None => AuthenticationKind::Secret,
            Some(ASSERTION_TYPE_JWT_BEARER) => AuthenticationKind::JwtBearer,
            Some(t) => federated_kind(t).map_or(
                AuthenticationKind::Unsupported(t),
                AuthenticationKind::Federated,
            ),
        }
    }

    /// The client id the request names in its body, bounded for the audit log.
    pub fn client_id_for_audit(&self) -> String {
        self.client_id
            .as_deref()
            .unwrap_or_default()
            .chars()
            .take(MAX_CLIENT_ID)
            .collect()
    }

    /// Client secret authentication: from the Basic header or the body.
    pub fn presented_client(&self) -> Result<PresentedClient, OAuthError> {
        presented_client(
            self.authorization.as_deref(),
            self.client_id.as_deref(),
            self.client_secret.as_deref(),
        )
    }

    /// A client assertion may not come with a secret or a Basic header.
    fn only_one_method(&self) -> Result<(), OAuthError> {
        if self.client_secret.is_some() || self.authorization.is_some() {
            return Err(OAuthError::invalid_request(
                "multiple_auth_methods",
                "use one client authentication method",
            ));
        }
        Ok(())
    }

    /// RFC 7523 §2.2: the assertion that authenticates the client.
    pub fn jwt_bearer_assertion(&self) -> Result<&str, OAuthError> {
        self.only_one_method()?;
        self.client_assertion
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .ok_or_else(|| {
                OAuthError::invalid_request(
                    "assertion_missing",
                    "client_assertion is required with client_assertion_type",
                )
            })
    }

    /// A federated credential's proof: the client id, the credential's name
    /// and the assertion are required. Returns the client id with it.
    pub fn federated(&self, kind: ProviderKind) -> Result<(&str, Presented<'_>), OAuthError> {
        let client_id = self
            .client_id
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| {
                OAuthError::invalid_request(
                    "client_id_missing",
                    "client_id is required with a federated credential",
                )
            })?;
        let name = self
            .application_federated_credential_name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| {
                OAuthError::invalid_request(
                    "federated_name_missing",
                    "application_federated_credential_name is required",
                )
            })?;
        // The SDK sends token files as read, trailing newline included.
        let assertion = self
            .client_assertion
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .ok_or_else(|| {
                OAuthError::invalid_request("assertion_missing", "client_assertion is required")
            })?;
        self.only_one_method()?;
        if name.len() > MAX_CREDENTIAL_NAME || client_id.len() > MAX_CLIENT_ID {
            return Err(OAuthError::invalid_client("federated_credential_unknown"));
        }
        Ok((
            client_id,
            Presented {
                kind,
                name,
                assertion,
                client_x509: self.client_x509.as_deref(),
                client_x509_chain: self.client_x509_chain.as_deref(),
            },
        ))
    }
}

/// The federated kind a `client_assertion_type` names, if any.
pub fn federated_kind(assertion_type: &str) -> Option<ProviderKind> {
    match assertion_type {
        oidc::ASSERTION_TYPE_ID_TOKEN => Some(ProviderKind::Oidc),
        pca::ASSERTION_TYPE_X509_JWT => Some(ProviderKind::Pca),
        pkcs7::ASSERTION_TYPE_PKCS7 => Some(ProviderKind::Pkcs7),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

    fn parse(body: &str) -> Result<TokenRequest, OAuthError> {
        TokenRequest::from_form(FORM, None, body.as_bytes(), "192.0.2.1".into())
    }

    #[test]
    fn reads_the_fields_and_ignores_unknown_ones() {
        let r = parse("grant_type=client_credentials&client_id=app%5F1&client_secret=s+p&scope=api%7C.all&extra=1&extra=2").unwrap();
        assert_eq!(r.grant_type.as_deref(), Some("client_credentials"));
        assert_eq!(r.client_id.as_deref(), Some("app_1"));
        assert_eq!(r.client_secret.as_deref(), Some("s p"));
        assert_eq!(r.scope.as_deref(), Some("api|.all"));
        assert_eq!(r.source, "192.0.2.1");
        assert!(r.check_grant_type().is_ok());
        assert_eq!(r.authentication_kind(), AuthenticationKind::Secret);
    }

    #[test]
    fn content_type_must_be_a_form() {
        for ct in [None, Some("application/json"), Some("text/plain")] {
            let e = TokenRequest::from_form(ct, None, b"grant_type=x", String::new()).unwrap_err();
            assert_eq!(e.reason, "content_type");
        }
        let ok = TokenRequest::from_form(
            Some("Application/X-WWW-Form-Urlencoded; charset=UTF-8"),
            None,
            b"",
            String::new(),
        );
        assert!(ok.is_ok());
    }

    #[test]
    fn a_repeated_parameter_is_refused_rfc6749_3_2() {
        let e = parse("client_id=a&scope=x&client_id=a").unwrap_err();
        assert_eq!(e.code, OAuthErrorCode::InvalidRequest);
        assert_eq!(e.reason, "param_repeated");
        assert!(e.description.contains("'client_id'"));
    }

    #[test]
    fn bytes_that_are_not_utf8_are_replaced_not_refused() {
        // As form decoders do (and Writ always did): such an id is unknown.
        let r = parse("client_id=%FF&scope=100%").unwrap();
        assert_eq!(r.client_id.as_deref(), Some("\u{FFFD}"));
        assert_eq!(r.scope.as_deref(), Some("100%"));
    }

    #[test]
    fn grant_type_rules() {
        assert_eq!(
            parse("").unwrap().check_grant_type().unwrap_err().reason,
            "grant_type_missing"
        );
        let e = parse("grant_type=password")
            .unwrap()
            .check_grant_type()
            .unwrap_err();
        assert_eq!(e.code, OAuthErrorCode::UnsupportedGrantType);
    }

    #[test]
    fn authentication_kind_from_the_assertion_type() {
        let kind = |t: &str| {
            let r = parse(&format!("client_assertion_type={}", urlencode(t))).unwrap();
            format!("{:?}", r.authentication_kind())
        };
        assert_eq!(kind(ASSERTION_TYPE_JWT_BEARER), "JwtBearer");
        assert_eq!(kind(oidc::ASSERTION_TYPE_ID_TOKEN), "Federated(Oidc)");
        assert_eq!(kind(pca::ASSERTION_TYPE_X509_JWT), "Federated(Pca)");
        assert_eq!(kind(pkcs7::ASSERTION_TYPE_PKCS7), "Federated(Pkcs7)");
        assert_eq!(kind("urn:other"), "Unsupported(\"urn:other\")");
    }

    #[test]
    fn an_assertion_comes_alone() {
        let r = TokenRequest::from_form(
            FORM,
            Some("Basic YTpi"),
            b"client_assertion=x.y.z",
            String::new(),
        )
        .unwrap();
        assert_eq!(
            r.jwt_bearer_assertion().unwrap_err().reason,
            "multiple_auth_methods"
        );
        let r = parse("client_assertion=%20x.y.z%0A").unwrap();
        assert_eq!(r.jwt_bearer_assertion().unwrap(), "x.y.z");
        assert_eq!(
            parse("")
                .unwrap()
                .jwt_bearer_assertion()
                .unwrap_err()
                .reason,
            "assertion_missing"
        );
    }

    #[test]
    fn federated_needs_client_name_and_assertion_in_that_order() {
        let reason = |body: &str| {
            parse(body)
                .unwrap()
                .federated(ProviderKind::Oidc)
                .unwrap_err()
                .reason
        };
        assert_eq!(reason("client_assertion=t"), "client_id_missing");
        assert_eq!(
            reason("client_id=a&client_assertion=t"),
            "federated_name_missing"
        );
        assert_eq!(
            reason("client_id=a&application_federated_credential_name=k"),
            "assertion_missing"
        );
        assert_eq!(
            reason(
                "client_id=a&application_federated_credential_name=k&client_assertion=t&client_secret=s"
            ),
            "multiple_auth_methods"
        );
        let long = "n".repeat(MAX_CREDENTIAL_NAME + 1);
        assert_eq!(
            reason(&format!(
                "client_id=a&application_federated_credential_name={long}&client_assertion=t"
            )),
            "federated_credential_unknown"
        );
        let r = parse("client_id=a&application_federated_credential_name=+k8s+&client_assertion=tok%0A&client_x509=pem").unwrap();
        let (client, p) = r.federated(ProviderKind::Pca).unwrap();
        assert_eq!(client, "a");
        assert_eq!(
            (p.name, p.assertion, p.client_x509),
            ("k8s", "tok", Some("pem"))
        );
        assert_eq!(p.kind, ProviderKind::Pca);
    }

    fn urlencode(s: &str) -> String {
        url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
    }

    #[test]
    fn a_second_authorization_header_is_refused() {
        let one: Vec<&[u8]> = vec![b"Basic YTpi"];
        assert_eq!(
            TokenRequest::single_authorization(one.into_iter()).unwrap(),
            Some("Basic YTpi")
        );
        let none: Vec<&[u8]> = Vec::new();
        assert_eq!(
            TokenRequest::single_authorization(none.into_iter()).unwrap(),
            None
        );
        let two: Vec<&[u8]> = vec![b"Basic YTpi", b"Basic !!garbage!!"];
        let e = TokenRequest::single_authorization(two.into_iter()).unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.reason),
            ("invalid_request", "authorization_repeated")
        );
    }
}
