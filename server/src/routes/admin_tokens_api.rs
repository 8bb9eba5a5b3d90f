//! Admin API tokens under `/api/admin/v1/admin-tokens`: create (the value is
//! shown once), list (never a value or digest), revoke (401 from then on).
//! Mounted inside the admin API's protected router, behind its token check.

use super::errors::{ApiError, bad_request};
use crate::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, post};
use axum::{Json, Router};
use utoipa::OpenApi;
use writ_types::{AdminTokenView, NewAdminToken, NewAdminTokenCreated};

/// Merged into the admin API's document (which adds the bearer scheme).
#[derive(OpenApi)]
#[openapi(
    paths(create, list, revoke),
    components(schemas(NewAdminToken, NewAdminTokenCreated, AdminTokenView))
)]
pub struct AdminTokensDoc;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin-tokens", post(create).get(list))
        .route("/admin-tokens/{id}", delete(revoke))
}

/// A new admin API token; `token` is in this response only.
#[utoipa::path(post, path = "/api/admin/v1/admin-tokens", request_body = NewAdminToken,
    responses((status = 201, body = NewAdminTokenCreated, description = "The token is in this response only"), (status = 400)))]
pub async fn create(
    State(s): State<AppState>,
    b: Result<Json<NewAdminToken>, JsonRejection>,
) -> Result<(StatusCode, Json<NewAdminTokenCreated>), ApiError> {
    let Json(input) = b.map_err(|e| bad_request(format!("request body: {}", e.body_text())))?;
    Ok((
        StatusCode::CREATED,
        Json(s.writ.create_admin_token(input).await?),
    ))
}

/// Live tokens (expired ones included, until revoked), the bootstrap one too.
#[utoipa::path(get, path = "/api/admin/v1/admin-tokens", responses((status = 200, body = Vec<AdminTokenView>)))]
pub async fn list(State(s): State<AppState>) -> Result<Json<Vec<AdminTokenView>>, ApiError> {
    Ok(Json(s.writ.list_admin_tokens().await?))
}

/// Revokes a token at once. The bootstrap token may be revoked: it stays
/// revoked across restarts until `WRIT_BOOTSTRAP_ADMIN_TOKEN` gets a new value.
#[utoipa::path(delete, path = "/api/admin/v1/admin-tokens/{id}", params(("id" = String, Path)),
    responses((status = 204), (status = 404)))]
pub async fn revoke(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    s.writ.revoke_admin_token(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}
