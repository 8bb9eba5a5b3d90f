//! Signing keys under `/api/admin/v1/signing-keys`: list with each key's
//! state, and rotate on demand (the schedule rotates on its own). Mounted
//! inside the admin API's protected router, behind its token check.

use super::errors::{ApiError, bad_request};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use utoipa::OpenApi;
use writ_types::{RotateSigningKey, SigningKeyView};

/// Merged into the admin API's document (which adds the bearer scheme).
#[derive(OpenApi)]
#[openapi(
    paths(list, rotate),
    components(schemas(SigningKeyView, RotateSigningKey))
)]
pub struct SigningKeysDoc;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/signing-keys", get(list))
        .route("/signing-keys/rotate", post(rotate))
}

/// Every signing key: `next`, `active`, `retiring` (and `retired` until the
/// schedule deletes it).
#[utoipa::path(get, path = "/api/admin/v1/signing-keys", responses((status = 200, body = Vec<SigningKeyView>)))]
pub async fn list(State(s): State<AppState>) -> Result<Json<Vec<SigningKeyView>>, ApiError> {
    Ok(Json(s.writ.list_signing_keys().await?))
}

/// Makes the next signing key: published in JWKS now, signing after the
/// publish lead (`WRIT_SIGNING_KEY_PUBLISH_LEAD_SECS`), or at once with
/// `{"immediate": true}`. With a next key already waiting (and no
/// `immediate`), answers that key.
#[utoipa::path(post, path = "/api/admin/v1/signing-keys/rotate", request_body(content = Option<RotateSigningKey>),
    responses((status = 200, body = SigningKeyView, description = "The new (or waiting) next key"), (status = 400)))]
pub async fn rotate(
    State(s): State<AppState>,
    body: Bytes,
) -> Result<Json<SigningKeyView>, ApiError> {
    // An empty body is the default; anything else must be the JSON object.
    let input: RotateSigningKey = if body.iter().all(u8::is_ascii_whitespace) {
        RotateSigningKey::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| bad_request(format!("request body: {e}")))?
    };
    Ok(Json(s.writ.rotate_signing_key(input.immediate).await?))
}
