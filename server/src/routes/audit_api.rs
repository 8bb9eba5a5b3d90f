//! Audit search under `/api/admin/v1`: the token audit log filtered and
//! paged (`/audit`), the same filters as a JSON-lines download
//! (`/audit/export`), and the admin change log (`/admin-audit`). Mounted
//! inside the admin API's protected router, behind its token check; the
//! console's session-authorised download of the export is in `console.rs`
//! and streams through [`ndjson_export`] too.

use super::errors::{ApiError, bad_request};
use crate::AppState;
use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use std::sync::Arc;
use utoipa::OpenApi;
use writ_core::audit_search::{AuditFilter, Limits, MAX_EXPORT};
use writ_service::{ServiceError, Writ};
use writ_types::{AdminAuditPage, AdminAuditQuery, AdminAuditView, AuditPage, AuditQuery};

/// Rows the export reads per query: memory holds one chunk at a time.
const EXPORT_CHUNK: u64 = 1000;
/// The longest the export waits for the audit writer's pending batch.
const FLUSH_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Merged into the admin API's document (which adds the bearer scheme).
#[derive(OpenApi)]
#[openapi(
    paths(search, export, admin_audit),
    components(schemas(AuditPage, AdminAuditPage, AdminAuditView))
)]
pub struct AuditDoc;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/audit", get(search))
        .route("/audit/export", get(export))
        .route("/admin-audit", get(admin_audit))
}

/// A query string, or a 400 naming what is wrong with it (an unknown or
/// repeated parameter).
pub(super) fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(v)| v)
        .map_err(|e| bad_request(format!("query: {}", e.body_text())))
}

/// Token requests (issued and refused), newest first, a page at a time.
/// Filters are exact; `since` and `until` are inclusive unix seconds. The
/// answer's `next_cursor` is the next page's `cursor`; `null` on the last.
#[utoipa::path(get, path = "/api/admin/v1/audit", params(AuditQuery),
    responses((status = 200, body = AuditPage), (status = 400, description = "A bad parameter, named in error_description")))]
pub async fn search(
    State(s): State<AppState>,
    q: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<AuditPage>, ApiError> {
    Ok(Json(s.writ.search_audit(&query(q)?).await?))
}

/// The same filters as `/audit`, every matching row (newest first, at most
/// `limit`, default and most 1,000,000) as JSON lines: one audit row per
/// line, streamed as it is read.
#[utoipa::path(get, path = "/api/admin/v1/audit/export", params(AuditQuery),
    responses((status = 200, content_type = "application/x-ndjson", description = "One AuditView JSON object per line"),
              (status = 400, description = "A bad parameter, named in error_description")))]
pub async fn export(
    State(s): State<AppState>,
    q: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    ndjson_export(s.writ.clone(), query(q)?).await
}

/// Admin changes (who, what, on which resource, before and after without
/// secrets), newest first, a page at a time.
#[utoipa::path(get, path = "/api/admin/v1/admin-audit", params(AdminAuditQuery),
    responses((status = 200, body = AdminAuditPage), (status = 400, description = "A bad parameter, named in error_description")))]
pub async fn admin_audit(
    State(s): State<AppState>,
    q: Result<Query<AdminAuditQuery>, QueryRejection>,
) -> Result<Json<AdminAuditPage>, ApiError> {
    Ok(Json(s.writ.search_admin_audit(&query(q)?).await?))
}

/// The export's answer: the filter is checked first (a bad one is a 400,
/// before anything is sent), then the rows stream in chunks of
/// [`EXPORT_CHUNK`], each read after the previous one was sent, so memory
/// stays bounded however many rows match. A database failure mid-way
/// aborts the response (a truncated download, never a silently short file).
pub(super) async fn ndjson_export(writ: Arc<Writ>, q: AuditQuery) -> Result<Response, ApiError> {
    let filter = AuditFilter::parse(&q, Limits::EXPORT).map_err(ServiceError::from)?;
    // Records handed to the writer before the export are in it.
    let _ = tokio::time::timeout(FLUSH_WAIT, writ.flush_audit()).await;
    let total = filter.window.limit;
    let chunks = futures_util::stream::unfold(
        Some((writ, filter, 0u64)),
        move |state| async move {
            let (writ, mut filter, sent) = state?;
            let left = total.saturating_sub(sent);
            if left == 0 {
                return None;
            }
            filter.window.limit = left.min(EXPORT_CHUNK);
            match writ.audit_page(&filter).await {
                Ok(page) => {
                    let mut buf = Vec::with_capacity(page.items.len() * 256);
                    for row in &page.items {
                        if let Err(e) = serde_json::to_writer(&mut buf, row) {
                            return Some((Err(std::io::Error::other(e)), None));
                        }
                        buf.push(b'\n');
                    }
                    let sent = sent + page.items.len() as u64;
                    let next = page.next_cursor.map(|c| {
                        filter.window.cursor = Some(c);
                        (writ, filter, sent)
                    });
                    Some((Ok(Bytes::from(buf)), next))
                }
                Err(e) => {
                    tracing::error!(error = %e, rows = sent, "audit export failed; the download is cut off");
                    Some((Err(std::io::Error::other("audit export failed")), None))
                }
            }
        },
    );
    let mut r = Body::from_stream(chunks).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static(r#"attachment; filename="writ-audit.ndjson""#),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("x-writ-export-max-rows", HeaderValue::from(MAX_EXPORT));
    Ok(r)
}
