//! The router: which path goes to which thin handler, and the layers.

mod admin_api;
mod admin_tokens_api;
mod audit_api;
mod console;
mod credentials_api;
mod developer_api;
mod errors;
mod oauth;
mod observability;
mod provider_keys;
mod request_id;
mod session_store;
mod signing_keys_api;

use crate::AppState;
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use std::time::Duration;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

/// The longest a request may take to arrive and be answered (a slow-drip
/// body is cut off with 408). Outbound calls have shorter limits of their
/// own, so no legitimate request comes near it.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(30);

pub use errors::{ApiError, OAuthHttpError};

/// Where a request comes from, for throttles and the audit log: the peer,
/// or behind a trusted load balancer the client it names.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub std::net::IpAddr);

impl ClientAddr {
    pub fn source(&self) -> String {
        self.0.to_string()
    }
}

/// Computes [`ClientAddr`] once per request (core `client_address`).
async fn client_address(
    axum::extract::State(trusted): axum::extract::State<
        std::sync::Arc<writ_core::client_address::TrustedProxies>,
    >,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .map(HeaderValue::as_bytes);
    let client = trusted.client(peer.ip(), forwarded);
    req.extensions_mut().insert(ClientAddr(client));
    next.run(req).await
}

pub fn router(state: AppState) -> Router {
    let issuer_path = format!("/api/v2/{}/oauth2", writ_core::AUTHORIZATION_SERVER_ID);
    Router::new()
        .nest(&issuer_path, oauth::router())
        .nest("/api/admin/v1", admin_api::router(state.clone()))
        .merge(developer_api::router())
        .merge(provider_keys::router())
        .route("/healthz", axum::routing::get(observability::healthz))
        .route("/readyz", axum::routing::get(observability::readyz))
        .route(
            "/metrics",
            axum::routing::get(observability::metrics).route_layer(
                axum::middleware::from_fn_with_state(state.clone(), admin_api::require_admin_token),
            ),
        )
        .with_state(state.clone())
        .merge(console::router(state.clone()))
        .layer(axum::middleware::from_fn_with_state(
            state.trusted_proxies.clone(),
            client_address,
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_DEADLINE,
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        ))
        .layer(axum::middleware::from_fn(request_id::layer))
}

/// The separate plain-HTTP listener of `WRIT_METRICS_BIND`: `/metrics`,
/// `/healthz` and `/readyz` only, without authentication.
pub fn metrics_router(state: AppState) -> Router {
    observability::router()
        .with_state(state)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_DEADLINE,
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(axum::middleware::from_fn(request_id::layer))
}
