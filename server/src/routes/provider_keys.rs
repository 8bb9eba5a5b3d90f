//! Each JWT credential provider's own JWKS, at
//! `/api/v2/credential-providers/{id}/jwks` (the `jwks_uri` the admin view
//! reports): public, like the issuer's JWKS, but apart from it, so a
//! provider's key never verifies a token as a Writ access token.

use super::errors::ApiError;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

pub fn router() -> Router<AppState> {
    Router::new().route(
        &writ_core::jwt_provider::jwks_path("{id}"),
        get(provider_jwks),
    )
}

async fn provider_jwks(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let jwks = state.writ.credential_provider_jwks(&id).await?;
    let mut r = Json(jwks).into_response();
    // As the issuer's JWKS: a disabled provider's key is gone within minutes.
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    Ok(r)
}
