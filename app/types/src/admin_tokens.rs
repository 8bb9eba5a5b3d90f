//! Admin API tokens: what `POST/GET /api/admin/v1/admin-tokens` take and answer.

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// A new admin API token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct NewAdminToken {
    /// 1–64 characters; `bootstrap` is reserved.
    pub name: String,
    /// Lifetime in seconds (1 to 315360000, 10 years); omitted: never expires.
    #[serde(default)]
    pub expires_in_seconds: Option<i64>,
}

/// The new token. `token` is in this response only: Writ keeps a keyed
/// digest of it, never the value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct NewAdminTokenCreated {
    pub id: String,
    pub token: String,
}

/// A stored admin API token, without its value or digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AdminTokenView {
    pub id: String,
    pub name: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; `null`: never expires.
    pub expires_at: Option<i64>,
    /// Unix seconds, to the minute (recorded at most once a minute);
    /// `null`: not used since this was added.
    pub last_used_at: Option<i64>,
    /// The `WRIT_BOOTSTRAP_ADMIN_TOKEN` token.
    pub bootstrap: bool,
}
