//! The authorization server: token endpoint (RFC 6749 §4.4, §2.3.1),
//! metadata (RFC 8414) and JWKS (RFC 7517).

use super::errors::OAuthHttpError;
use crate::AppState;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::net::SocketAddr;
use writ_core::OAuthError;
use writ_store::service::TokenRequest;

/// Token requests are a few hundred bytes; a federated assertion with a
/// certificate chain stays well under this.
const MAX_TOKEN_BODY: usize = 64 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/token", post(token))
        .route("/.well-known/openid-configuration", get(metadata))
        .route("/.well-known/oauth-authorization-server", get(metadata))
        .route("/jwks", get(jwks))
}

async fn token(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.len() > 6 && v[..6].eq_ignore_ascii_case("basic "));
    let fail = |error: OAuthError| {
        OAuthHttpError {
            error,
            basic_challenge: basic,
        }
        .into_response()
    };
    let source = peer.ip().to_string();
    // Refusals the service never sees are audited here, then answered.
    let refuse = |error: OAuthError| {
        let writ = state.writ.clone();
        let source = source.clone();
        async move {
            writ.audit_unparsed_refusal(&error, &source).await;
            error
        }
    };

    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !ct
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded")
    {
        return fail(
            refuse(OAuthError::invalid_request(
                "content_type",
                "send the request as application/x-www-form-urlencoded",
            ))
            .await,
        );
    }
    let bytes = match read_bounded(body).await {
        Some(b) => b,
        None => {
            let mut r = fail(
                refuse(OAuthError::invalid_request(
                    "body_too_large",
                    "request body too large",
                ))
                .await,
            );
            *r.status_mut() = axum::http::StatusCode::PAYLOAD_TOO_LARGE;
            return r;
        }
    };
    let pairs: Vec<(String, String)> = match serde_urlencoded::from_bytes(&bytes) {
        Ok(p) => p,
        Err(_) => {
            return fail(
                refuse(OAuthError::invalid_request(
                    "body_malformed",
                    "the form body could not be parsed",
                ))
                .await,
            );
        }
    };
    let mut req = TokenRequest {
        source: source.clone(),
        ..Default::default()
    };
    for (k, v) in pairs {
        let slot = match k.as_str() {
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
            _ => continue,
        };
        // RFC 6749 §3.2: parameters must not be repeated.
        if slot.replace(v).is_some() {
            return fail(
                refuse(OAuthError::invalid_request(
                    "param_repeated",
                    format!("parameter '{k}' given more than once"),
                ))
                .await,
            );
        }
    }
    req.authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);

    match state.writ.token(req).await {
        Ok(t) => {
            let body = serde_json::json!({
                "access_token": t.access_token,
                "token_type": "Bearer",
                "expires_in": t.expires_in,
                "expires_at": t.expires_at,
                "scope": t.scope,
            });
            let mut r = Json(body).into_response();
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r.headers_mut()
                .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            r
        }
        Err(e) => fail(e),
    }
}

/// Reads at most [`MAX_TOKEN_BODY`] bytes. A larger body is read on and
/// discarded up to [`MAX_DRAIN`] so the client finishes sending and gets a
/// clean 413 instead of a reset connection; beyond that we stop reading.
async fn read_bounded(body: Body) -> Option<Vec<u8>> {
    use futures_util::StreamExt;
    const MAX_DRAIN: usize = 1024 * 1024;
    let mut stream = body.into_data_stream();
    let mut buf = Vec::new();
    let mut seen = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.ok()?;
        seen += chunk.len();
        if seen <= MAX_TOKEN_BODY {
            buf.extend_from_slice(&chunk);
        } else if seen > MAX_DRAIN {
            return None;
        }
    }
    (seen <= MAX_TOKEN_BODY).then_some(buf)
}

async fn metadata(State(state): State<AppState>) -> Response {
    let m = writ_core::discovery::metadata(state.writ.urls());
    let mut r = Json(m).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    r
}

/// Writ's token signing key, and the keys of enabled JWT credential
/// providers (relying parties verify the JWTs those mint here too).
async fn jwks(State(state): State<AppState>) -> Response {
    let mut keys = vec![serde_json::to_value(state.writ.signing_key().jwk()).unwrap_or_default()];
    match state.writ.provider_jwks().await {
        Ok(more) => keys.extend(more),
        Err(e) => tracing::error!(error = %e, "could not list credential provider keys"),
    }
    let mut r = Json(serde_json::json!({ "keys": keys })).into_response();
    // Short enough that a rotated key is picked up soon; long enough to spare us.
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    r
}
