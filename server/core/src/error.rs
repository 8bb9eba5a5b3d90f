//! OAuth 2.0 errors (RFC 6749 §5.2). The description is shown to the client,
//! so it never contains a secret or an internal detail.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OAuthErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    /// RFC 8693 §2.2.2: the requested resource is unknown or not one the
    /// token exchange may target.
    InvalidTarget,
    ServerError,
    /// Too busy to check the credentials now (the bounded pool for slow
    /// hashes is full); the client should retry. HTTP 503.
    TemporarilyUnavailable,
}

impl OAuthErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::InvalidTarget => "invalid_target",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }

    /// HTTP status per RFC 6749 §5.2: 401 for failed client authentication.
    pub fn http_status(self) -> u16 {
        match self {
            Self::InvalidClient => 401,
            Self::ServerError => 500,
            Self::TemporarilyUnavailable => 503,
            _ => 400,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {description}", code.as_str())]
pub struct OAuthError {
    pub code: OAuthErrorCode,
    pub description: String,
    /// Short machine-readable reason for the audit log (never a secret).
    pub reason: &'static str,
}

impl OAuthError {
    pub fn new(code: OAuthErrorCode, reason: &'static str, description: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            description: description.into(),
        }
    }
    pub fn invalid_request(reason: &'static str, d: impl Into<String>) -> Self {
        Self::new(OAuthErrorCode::InvalidRequest, reason, d)
    }
    /// Failed client authentication. The text is deliberately the same for an
    /// unknown client, a wrong secret and a disabled secret, so the response
    /// does not tell an attacker which one it was; the audit reason does.
    pub fn invalid_client(reason: &'static str) -> Self {
        Self::new(
            OAuthErrorCode::InvalidClient,
            reason,
            "client authentication failed",
        )
    }
    /// RFC 6749 §5.2: the grant (for token exchange, the subject token)
    /// is invalid, expired or not trusted.
    pub fn invalid_grant(reason: &'static str, d: impl Into<String>) -> Self {
        Self::new(OAuthErrorCode::InvalidGrant, reason, d)
    }
    pub fn invalid_scope(reason: &'static str, d: impl Into<String>) -> Self {
        Self::new(OAuthErrorCode::InvalidScope, reason, d)
    }
    /// The slow-hash pool is full: refused at once, before any work.
    pub fn busy() -> Self {
        Self::new(
            OAuthErrorCode::TemporarilyUnavailable,
            "busy",
            "the server is busy checking other credentials; retry shortly",
        )
    }
    pub fn server_error() -> Self {
        Self::new(
            OAuthErrorCode::ServerError,
            "internal",
            "the server could not complete the request",
        )
    }
}
