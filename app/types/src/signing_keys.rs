//! Signing keys: what `GET /api/admin/v1/signing-keys` and
//! `POST /api/admin/v1/signing-keys/rotate` answer and take.

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// A key that signs (or signed, or will sign) Writ's tokens: public facts only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SigningKeyView {
    /// The JWK thumbprint (RFC 7638), as in JWKS and token headers.
    pub kid: String,
    pub alg: String,
    /// `next` (published, not signing yet), `active` (signs), `retiring`
    /// (published until tokens it signed have expired) or `retired`.
    pub state: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds: when it signs first.
    pub not_before: i64,
    /// Unix seconds: when it leaves JWKS; `null` while it has no successor.
    pub retires_at: Option<i64>,
}

/// `POST /api/admin/v1/signing-keys/rotate`; the body may be omitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RotateSigningKey {
    /// Sign with the new key at once instead of after the publish lead
    /// (the current key is compromised). Relying parties that cached JWKS
    /// refuse the new tokens until they fetch it again.
    #[serde(default)]
    pub immediate: bool,
}
