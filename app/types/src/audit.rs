//! Audit search: the token audit log's filters and pages
//! (`GET /api/admin/v1/audit`, `…/audit/export`) and the admin change log
//! (`GET /api/admin/v1/admin-audit`).
//!
//! Query fields arrive as text, exactly as given: core's `audit_search`
//! parses them, so a bad value is a 400 with a message naming the field
//! (never a deserializer's wording or a 500). An empty value is the same as
//! none (an HTML form sends every field).

use crate::AuditView;
use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// Filters and paging of the token audit search. Every filter is exact;
/// rows come newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// The OAuth `client_id` as presented (it may not exist).
    pub client_id: Option<String>,
    /// Client authentication method (`client_secret_post`, `private_key_jwt`, …).
    pub method: Option<String>,
    /// `issued` or `refused`.
    pub outcome: Option<String>,
    /// Why a request was refused (`secret_mismatch`, `client_unknown`, …).
    pub reason: Option<String>,
    /// The caller's address (`*` for refusals only counted under a flood).
    pub source: Option<String>,
    /// Unix seconds: rows at or after this time.
    #[cfg_attr(feature = "openapi", param(value_type = Option<i64>))]
    pub since: Option<String>,
    /// Unix seconds: rows at or before this time.
    #[cfg_attr(feature = "openapi", param(value_type = Option<i64>))]
    pub until: Option<String>,
    /// Rows per page: 1 to 500, default 50. The export: most rows in the
    /// file, 1 to 1,000,000 (the default).
    #[cfg_attr(feature = "openapi", param(value_type = Option<u64>))]
    pub limit: Option<String>,
    /// The previous page's `next_cursor`: rows older than that row.
    #[cfg_attr(feature = "openapi", param(value_type = Option<i64>))]
    pub cursor: Option<String>,
}

/// One page of token audit rows, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AuditPage {
    pub items: Vec<AuditView>,
    /// Pass as `cursor` for the next (older) page; `null` on the last page.
    pub next_cursor: Option<i64>,
}

/// Filters and paging of the admin change log; rows come newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
pub struct AdminAuditQuery {
    /// Who made the change: a console user name, an admin API token's name,
    /// or either's id.
    pub actor: Option<String>,
    /// What was done, e.g. `agent.create`, `secret.disable`.
    pub action: Option<String>,
    /// `agent`, `m2m_application`, `secret`, `resource_server`, …
    pub resource_type: Option<String>,
    /// The changed resource's id.
    pub resource_id: Option<String>,
    /// Unix seconds: changes at or after this time.
    #[cfg_attr(feature = "openapi", param(value_type = Option<i64>))]
    pub since: Option<String>,
    /// Unix seconds: changes at or before this time.
    #[cfg_attr(feature = "openapi", param(value_type = Option<i64>))]
    pub until: Option<String>,
    /// Rows per page: 1 to 500, default 50.
    #[cfg_attr(feature = "openapi", param(value_type = Option<u64>))]
    pub limit: Option<String>,
    /// The previous page's `next_cursor`.
    #[cfg_attr(feature = "openapi", param(value_type = Option<i64>))]
    pub cursor: Option<String>,
}

/// One admin change: who, what, on which resource, and the resource before
/// and after (redacted: never a secret value, hash, sealed value or key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AdminAuditView {
    pub id: i64,
    /// Unix seconds.
    pub at: i64,
    /// `console` (a signed-in user), `api_token` (an admin API token) or
    /// `system` (Writ itself, e.g. at start).
    pub actor_kind: String,
    /// The console user name or the admin API token's name.
    pub actor: String,
    /// The console user's or the admin API token's id.
    pub actor_id: String,
    /// `<resource_type>.<verb>`, e.g. `agent.disable`.
    pub action: String,
    pub resource_type: String,
    pub resource_id: String,
    /// The resource before the change (`null` on create).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub before: Option<serde_json::Value>,
    /// The resource after the change (`null` on delete).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub after: Option<serde_json::Value>,
    /// The address the change came from (empty for `system`).
    pub source: String,
}

/// One page of admin changes, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AdminAuditPage {
    pub items: Vec<AdminAuditView>,
    /// Pass as `cursor` for the next (older) page; `null` on the last page.
    pub next_cursor: Option<i64>,
}
