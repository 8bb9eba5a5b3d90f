//! `/healthz` (the process answers), `/readyz` (it can issue tokens now)
//! and `/metrics` (Prometheus). All cheap; none says anything secret.
//!
//! `/metrics` shows per-method and per-reason counts, not for everyone: on
//! the main listener it needs an admin API token (`Authorization: Bearer`);
//! `WRIT_METRICS_BIND` opens a separate plain-HTTP listener that serves
//! these three paths without one, for a scraper on a private address.

use crate::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// The paths of the separate metrics listener.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// Liveness: the process serves requests.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: 200 when every check passes, else 503 naming the failed ones.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let r = state.writ.readiness().await;
    let checks: serde_json::Map<String, serde_json::Value> = r
        .checks()
        .into_iter()
        .map(|(name, ok)| (name.to_owned(), if ok { "ok" } else { "failed" }.into()))
        .collect();
    let (status, word) = if r.ready() {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not_ready")
    };
    let mut resp = (
        status,
        axum::Json(serde_json::json!({ "status": word, "checks": checks })),
    )
        .into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// The metrics in the OpenMetrics text format Prometheus scrapes.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let mut resp = state.writ.render_metrics().into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(writ_service::METRICS_CONTENT_TYPE),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}
