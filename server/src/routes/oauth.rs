//! The authorization server: token endpoint (RFC 6749 §4.4, §2.3.1),
//! metadata (RFC 8414) and JWKS (RFC 7517).

use super::errors::OAuthHttpError;
use crate::AppState;
use axum::Extension;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use writ_core::OAuthError;
use writ_core::grant::token_request::TokenRequest;

/// Token requests are a few hundred bytes; a federated assertion with a
/// certificate chain stays well under this.
const MAX_TOKEN_BODY: usize = 64 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/token", post(token).fallback(token_wrong_method))
        .route("/.well-known/openid-configuration", get(metadata))
        .route("/.well-known/oauth-authorization-server", get(metadata))
        .route("/jwks", get(jwks))
}

/// Any method but POST: an OAuth error body (and `Allow`), not a bare 405.
async fn token_wrong_method(
    State(state): State<AppState>,
    Extension(client): Extension<super::ClientAddr>,
) -> Response {
    let error =
        OAuthError::invalid_request("method_not_allowed", "the token endpoint accepts POST only");
    state
        .writ
        .audit_unparsed_refusal(&error, &client.source())
        .await;
    let mut r = OAuthHttpError { error }.into_response();
    *r.status_mut() = axum::http::StatusCode::METHOD_NOT_ALLOWED;
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST"));
    r
}

async fn token(
    State(state): State<AppState>,
    Extension(client): Extension<super::ClientAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    // Every 401 carries `WWW-Authenticate: Basic`, however the client
    // authenticated: Basic is the HTTP scheme this endpoint accepts
    // (RFC 6749 §2.3.1; §5.2), so no per-request choice (see `OAuthHttpError`).
    let fail = |error: OAuthError| OAuthHttpError { error }.into_response();
    let source = client.source();
    // Refusals the service never sees are audited here, then answered.
    let refuse = |error: OAuthError| {
        let writ = state.writ.clone();
        let source = source.clone();
        async move {
            writ.audit_unparsed_refusal(&error, &source).await;
            error
        }
    };
    let header_str = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let content_type = header_str(header::CONTENT_TYPE);
    // Before the body is read: a request that is not a form is not read.
    if let Err(e) = TokenRequest::check_content_type(content_type) {
        return fail(refuse(e).await);
    }
    let authorization = match TokenRequest::single_authorization(
        headers
            .get_all(header::AUTHORIZATION)
            .iter()
            .map(HeaderValue::as_bytes),
    ) {
        Ok(a) => a,
        Err(e) => return fail(refuse(e).await),
    };
    let declared = header_str(header::CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok());
    let bytes = match read_bounded(body, declared).await {
        ReadBody::Read(bytes) => bytes,
        too_large => {
            let error = OAuthError::invalid_request("body_too_large", "request body too large");
            let mut r = fail(refuse(error).await);
            *r.status_mut() = axum::http::StatusCode::PAYLOAD_TOO_LARGE;
            if matches!(too_large, ReadBody::Abandoned) {
                // The rest of the body is still coming: this connection
                // cannot carry another request, and the client must know.
                r.headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            return r;
        }
    };
    let req = match TokenRequest::from_form(content_type, authorization, &bytes, source.clone()) {
        Ok(req) => req,
        Err(e) => return fail(refuse(e).await),
    };

    match state.writ.token(req).await {
        Ok(t) => {
            let mut body = serde_json::json!({
                "access_token": t.access_token,
                "token_type": "Bearer",
                "expires_in": t.expires_in,
                "expires_at": t.expires_at,
                "scope": t.scope,
            });
            // RFC 8693 §2.2.1: an exchange says what it issued.
            if let Some(issued) = t.issued_token_type {
                body["issued_token_type"] = issued.into();
            }
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

/// What [`read_bounded`] made of a request body.
enum ReadBody {
    Read(Vec<u8>),
    /// Too large, and read to its end (discarded): the connection is clean.
    Drained,
    /// Too large, and not read to its end.
    Abandoned,
}

/// Reads at most [`MAX_TOKEN_BODY`] bytes. A larger body is read on and
/// discarded up to [`MAX_DRAIN`] (a "lingering close", as nginx does) so the
/// client finishes sending and reads a clean 413 instead of a reset
/// connection: discarding costs a few milliseconds of TLS at most and keeps
/// no memory. A body declared larger than that is not read at all.
async fn read_bounded(body: Body, declared: Option<u64>) -> ReadBody {
    use futures_util::StreamExt;
    const MAX_DRAIN: usize = 4 * 1024 * 1024;
    if declared.is_some_and(|n| n > MAX_DRAIN as u64) {
        return ReadBody::Abandoned;
    }
    let mut stream = body.into_data_stream();
    let mut buf = Vec::new();
    let mut seen = 0usize;
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else {
            return ReadBody::Abandoned;
        };
        seen += chunk.len();
        if seen <= MAX_TOKEN_BODY {
            buf.extend_from_slice(&chunk);
        } else if seen > MAX_DRAIN {
            return ReadBody::Abandoned;
        }
    }
    if seen <= MAX_TOKEN_BODY {
        ReadBody::Read(buf)
    } else {
        ReadBody::Drained
    }
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

/// Writ's token signing key, and nothing else: every key here vouches for
/// Writ's access tokens. JWT credential providers publish theirs at their
/// own `jwks_uri` (`provider_keys.rs`), or a workload could mint JWTs that
/// verify here.
async fn jwks(State(state): State<AppState>) -> Response {
    let keys = state.writ.published_keys();
    let mut r = Json(serde_json::json!({ "keys": keys })).into_response();
    // Well inside the publish lead: a cache sees the next key before it
    // signs; long enough to spare us.
    let cache = format!("public, max-age={}", state.writ.jwks_max_age_secs());
    if let Ok(v) = HeaderValue::from_str(&cache) {
        r.headers_mut().insert(header::CACHE_CONTROL, v);
    }
    r
}
