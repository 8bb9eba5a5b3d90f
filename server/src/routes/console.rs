//! The console: Leptos pages and server functions behind a session cookie
//! (`Secure; HttpOnly; SameSite=Strict`), an Origin check on every state-
//! changing request (CSRF), the signed-in user named as the actor of the
//! changes a request makes (the admin change log), and two downloads that
//! only read: `client-config.json` and the audit export (JSON lines).

use super::errors::{ApiError, bad_request};
use crate::AppState;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, Session, SessionManagerLayer};
use writ_app::{App, shell};

pub fn router(state: AppState) -> Router {
    let sessions =
        SessionManagerLayer::new(super::session_store::DatabaseSessions(state.writ.clone()))
            .with_name("writ_session")
            .with_secure(true)
            .with_http_only(true)
            .with_same_site(SameSite::Strict)
            .with_expiry(Expiry::OnInactivity(
                tower_sessions::cookie::time::Duration::hours(8),
            ));
    let routes = generate_route_list(App);
    let writ = state.writ.clone();
    Router::new()
        .route(
            "/console/clients/{id}/client-config.json",
            get(download_config),
        )
        .route("/console/audit/export", get(download_audit))
        .leptos_routes_with_context(&state, routes, move || provide_context(writ.clone()), {
            let opts = state.leptos_options.clone();
            move || shell(opts.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(middleware::from_fn_with_state(state.clone(), console_actor))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            same_origin_writes,
        ))
        .layer(middleware::from_fn(peer_source))
        .layer(sessions)
        .with_state(state)
}

/// Hands the peer address to server functions (the sign-in throttle is
/// keyed by user and source) without the app crate naming axum's types.
async fn peer_source(
    axum::Extension(client): axum::Extension<super::ClientAddr>,
    mut req: Request,
    next: Next,
) -> Response {
    req.extensions_mut()
        .insert(writ_service::ClientSource(client.source()));
    next.run(req).await
}

/// Names the signed-in user as the actor of whatever a state-changing
/// request (a server function) changes: the handler runs in
/// [`writ_service::Actor::scope`]. Reads (GET) need no actor; a request
/// without a signed-in user runs without one (and every server function
/// that changes anything refuses it).
async fn console_actor(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let session = req.extensions().get::<Session>().cloned();
    let source = req
        .extensions()
        .get::<super::ClientAddr>()
        .map(super::ClientAddr::source)
        .unwrap_or_default();
    let admin = match session {
        Some(s) => signed_in(&state, &s).await.ok(),
        None => None,
    };
    match admin {
        Some(a) => {
            writ_service::Actor::console(&a.id, &a.username, &source)
                .scope(next.run(req))
                .await
        }
        None => next.run(req).await,
    }
}

/// The signed-in console user, or 401.
async fn signed_in(
    state: &AppState,
    session: &Session,
) -> Result<writ_service::service::admin::admins::AdminIdentity, ApiError> {
    let id: Option<String> = session
        .get(writ_app::SESSION_ADMIN_KEY)
        .await
        .map_err(|_| bad_request("session"))?;
    let Some(id) = id else {
        return Err(ApiError(writ_service::ServiceError::Unauthenticated));
    };
    state
        .writ
        .admin_by_id(&id)
        .await?
        .ok_or(ApiError(writ_service::ServiceError::Unauthenticated))
}

/// CSRF defence in depth beside SameSite=Strict: a state-changing request
/// must come from our own origin, as browsers state in `Origin` /
/// `Sec-Fetch-Site`. Requests without either (non-browser) carry no cookie
/// a browser attached for someone else, so they pass.
async fn same_origin_writes(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let h = req.headers();
    let site = h.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    let origin = h.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let host = h
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()));
    let ok_origin =
        |o: &str| o == state.writ.public_url() || host.is_some_and(|h| o == format!("https://{h}"));
    let allowed = match (site, origin) {
        (Some(s), _) if s != "same-origin" && s != "none" => false,
        (_, Some(o)) => ok_origin(o),
        (Some(_), None) => true,
        (None, None) => true,
    };
    if allowed {
        next.run(req).await
    } else {
        (StatusCode::FORBIDDEN, "cross-site request refused").into_response()
    }
}

async fn download_config(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Query(q): Query<writ_types::SdkConfigRequest>,
) -> Result<Response, ApiError> {
    let admin: Option<String> = session
        .get(writ_app::SESSION_ADMIN_KEY)
        .await
        .map_err(|_| bad_request("session"))?;
    if admin.is_none() {
        return Err(ApiError(writ_service::ServiceError::Unauthenticated));
    }
    let view = state.writ.client_config(&id, &q).await?;
    let mut r = view.json.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static(r#"attachment; filename="client-config.json""#),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

/// The audit page's "Export JSON lines": `GET /api/admin/v1/audit/export`
/// for a signed-in console user (the session cookie, not a bearer token).
/// A GET that only reads: a cross-site page cannot send the cookie
/// (SameSite=Strict) nor read the answer (no CORS).
async fn download_audit(
    State(state): State<AppState>,
    session: Session,
    q: Result<Query<writ_types::AuditQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    signed_in(&state, &session).await?;
    let q = super::audit_api::query(q)?;
    super::audit_api::ndjson_export(state.writ.clone(), q).await
}
