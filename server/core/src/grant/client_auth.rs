//! Client authentication at the token endpoint (RFC 6749 §2.3.1):
//! `client_secret_basic` and `client_secret_post`, exactly as the IDaaS SDK
//! sends them (Basic credentials not form-encoded first, `client_id` still in
//! the body).

use crate::error::OAuthError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => super::AUTH_CLIENT_SECRET_BASIC,
            Self::ClientSecretPost => super::AUTH_CLIENT_SECRET_POST,
        }
    }
}

/// What the request claims; nothing is verified yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentedClient {
    pub client_id: String,
    pub method: AuthMethod,
    pub secret: String,
}

/// Reads the client's credentials from the `Authorization` header value (if
/// any) and the form fields `client_id` / `client_secret`.
pub fn presented_client(
    authorization: Option<&str>,
    form_client_id: Option<&str>,
    form_secret: Option<&str>,
) -> Result<PresentedClient, OAuthError> {
    let form_client_id = form_client_id.filter(|s| !s.is_empty());
    let form_secret = form_secret.filter(|s| !s.is_empty());
    if let Some(h) = authorization {
        let (scheme, rest) = h.trim().split_once(' ').unwrap_or((h, ""));
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(OAuthError::invalid_client("unsupported_auth_scheme"));
        }
        if form_secret.is_some() {
            return Err(OAuthError::invalid_request(
                "multiple_auth_methods",
                "use one client authentication method: Basic header or client_secret, not both",
            ));
        }
        let decoded = STANDARD
            .decode(rest.trim())
            .map_err(|_| OAuthError::invalid_client("basic_malformed"))?;
        let decoded = String::from_utf8(decoded)
            .map_err(|_| OAuthError::invalid_client("basic_malformed"))?;
        let (id, secret) = decoded
            .split_once(':')
            .ok_or_else(|| OAuthError::invalid_client("basic_malformed"))?;
        // RFC 6749 says form-encode before base64; the SDK does not. Our ids
        // and secrets use only unreserved characters, so decoding is a no-op
        // for them and right for clients that follow the RFC.
        let id = form_urldecode(id);
        let secret = form_urldecode(secret);
        if let Some(body_id) = form_client_id
            && body_id != id
        {
            return Err(OAuthError::invalid_request(
                "client_id_mismatch",
                "client_id in the body does not match the Basic credentials",
            ));
        }
        return Ok(PresentedClient {
            client_id: id,
            method: AuthMethod::ClientSecretBasic,
            secret,
        });
    }
    let Some(client_id) = form_client_id else {
        return Err(OAuthError::invalid_client("client_id_missing"));
    };
    let Some(secret) = form_secret else {
        return Err(OAuthError::invalid_client("client_secret_missing"));
    };
    Ok(PresentedClient {
        client_id: client_id.to_owned(),
        method: AuthMethod::ClientSecretPost,
        secret: secret.to_owned(),
    })
}

fn form_urldecode(s: &str) -> String {
    if !s.contains(['%', '+']) {
        return s.to_owned();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OAuthErrorCode;

    fn basic(id: &str, secret: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
    }

    #[test]
    fn basic_with_body_client_id_as_the_sdk_sends() {
        let p = presented_client(Some(&basic("app1", "s3cret")), Some("app1"), None).unwrap();
        assert_eq!(
            p,
            PresentedClient {
                client_id: "app1".into(),
                method: AuthMethod::ClientSecretBasic,
                secret: "s3cret".into()
            }
        );
    }

    #[test]
    fn basic_mismatched_body_id_is_invalid_request() {
        let e = presented_client(Some(&basic("app1", "s")), Some("app2"), None).unwrap_err();
        assert_eq!(e.code, OAuthErrorCode::InvalidRequest);
    }

    #[test]
    fn basic_decodes_rfc_form_encoding() {
        let p = presented_client(Some(&basic("a%3Ab", "x+y%25")), None, None).unwrap();
        assert_eq!(p.client_id, "a:b");
        assert_eq!(p.secret, "x y%");
    }

    #[test]
    fn post_needs_both_fields() {
        let p = presented_client(None, Some("app1"), Some("s")).unwrap();
        assert_eq!(p.method, AuthMethod::ClientSecretPost);
        assert_eq!(
            presented_client(None, Some("app1"), None).unwrap_err().code,
            OAuthErrorCode::InvalidClient
        );
        assert_eq!(
            presented_client(None, None, Some("s")).unwrap_err().code,
            OAuthErrorCode::InvalidClient
        );
    }

    #[test]
    fn two_methods_or_garbage_rejected() {
        assert_eq!(
            presented_client(Some(&basic("a", "b")), Some("a"), Some("b"))
                .unwrap_err()
                .code,
            OAuthErrorCode::InvalidRequest
        );
        assert_eq!(
            presented_client(Some("Basic !!!"), None, None)
                .unwrap_err()
                .code,
            OAuthErrorCode::InvalidClient
        );
        assert_eq!(
            presented_client(Some("Bearer abc"), None, None)
                .unwrap_err()
                .code,
            OAuthErrorCode::InvalidClient
        );
        assert_eq!(
            presented_client(
                Some(&format!("Basic {}", STANDARD.encode("nocolon"))),
                None,
                None
            )
            .unwrap_err()
            .code,
            OAuthErrorCode::InvalidClient
        );
    }
}
