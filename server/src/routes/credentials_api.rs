//! Admin API for the credential vault (Asset Management › Credential):
//! create, details, edit (blank keeps the key), enable/disable, delete only
//! when disabled, and grants to agents / M2M applications. The API key is
//! accepted, never returned.

use super::errors::ApiError;
use crate::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use writ_types::*;

type ApiResult<T> = Result<Json<T>, ApiError>;

fn body<T>(r: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    r.map(|Json(v)| v)
        .map_err(|e| super::errors::bad_request(format!("request body: {}", e.body_text())))
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/credentials", post(create).get(list))
        .route(
            "/credentials/{id}",
            get(details).patch(update).delete(remove),
        )
        .route("/credentials/{id}/disable", post(disable))
        .route("/credentials/{id}/enable", post(enable))
        .route("/credentials/{id}/grants", post(grant).get(grants))
        .route("/credentials/{id}/grants/{gid}", delete(revoke))
        .route(
            "/credential-providers",
            post(create_provider).get(list_providers),
        )
        .route(
            "/credential-providers/{id}",
            get(provider_details)
                .patch(update_provider)
                .delete(delete_provider),
        )
        .route("/credential-providers/{id}/disable", post(disable_provider))
        .route("/credential-providers/{id}/enable", post(enable_provider))
        .route(
            "/credential-providers/{id}/grants",
            post(grant_provider).get(provider_grants),
        )
        .route(
            "/credential-providers/{id}/grants/{gid}",
            delete(revoke_provider),
        )
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
pub struct NewCredentialGrant {
    /// OAuth `client_id` of the agent or M2M application.
    pub client_id: String,
}

#[utoipa::path(post, path = "/api/admin/v1/credentials", request_body = NewCredential,
    responses((status = 201, body = CredentialView), (status = 400), (status = 409)))]
pub async fn create(
    State(s): State<AppState>,
    b: Result<Json<NewCredential>, JsonRejection>,
) -> Result<(StatusCode, Json<CredentialView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(s.writ.create_credential(body(b)?).await?),
    ))
}

#[utoipa::path(get, path = "/api/admin/v1/credentials", responses((status = 200, body = Vec<CredentialView>)))]
pub async fn list(State(s): State<AppState>) -> ApiResult<Vec<CredentialView>> {
    Ok(Json(s.writ.list_credentials().await?))
}

#[utoipa::path(get, path = "/api/admin/v1/credentials/{id}", params(("id" = String, Path)), responses((status = 200, body = CredentialView)))]
pub async fn details(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<CredentialView> {
    Ok(Json(s.writ.get_credential(&id).await?))
}

#[utoipa::path(patch, path = "/api/admin/v1/credentials/{id}", params(("id" = String, Path)), request_body = CredentialUpdate,
    responses((status = 200, body = CredentialView)))]
pub async fn update(
    State(s): State<AppState>,
    Path(id): Path<String>,
    b: Result<Json<CredentialUpdate>, JsonRejection>,
) -> ApiResult<CredentialView> {
    Ok(Json(s.writ.update_credential(&id, body(b)?).await?))
}

#[utoipa::path(post, path = "/api/admin/v1/credentials/{id}/disable", params(("id" = String, Path)), responses((status = 200, body = CredentialView)))]
pub async fn disable(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<CredentialView> {
    Ok(Json(s.writ.set_credential_enabled(&id, false).await?))
}

#[utoipa::path(post, path = "/api/admin/v1/credentials/{id}/enable", params(("id" = String, Path)), responses((status = 200, body = CredentialView)))]
pub async fn enable(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<CredentialView> {
    Ok(Json(s.writ.set_credential_enabled(&id, true).await?))
}

#[utoipa::path(delete, path = "/api/admin/v1/credentials/{id}", params(("id" = String, Path)), responses((status = 204), (status = 409)))]
pub async fn remove(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    s.writ.delete_credential(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/admin/v1/credentials/{id}/grants", params(("id" = String, Path)), request_body = NewCredentialGrant,
    responses((status = 201, body = CredentialGrantView), (status = 409)))]
pub async fn grant(
    State(s): State<AppState>,
    Path(id): Path<String>,
    b: Result<Json<NewCredentialGrant>, JsonRejection>,
) -> Result<(StatusCode, Json<CredentialGrantView>), ApiError> {
    let b = body(b)?;
    Ok((
        StatusCode::CREATED,
        Json(s.writ.grant_credential(&id, &b.client_id).await?),
    ))
}

#[utoipa::path(get, path = "/api/admin/v1/credentials/{id}/grants", params(("id" = String, Path)), responses((status = 200, body = Vec<CredentialGrantView>)))]
pub async fn grants(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Vec<CredentialGrantView>> {
    Ok(Json(s.writ.list_credential_grants(&id).await?))
}

#[utoipa::path(delete, path = "/api/admin/v1/credentials/{id}/grants/{gid}", params(("id" = String, Path), ("gid" = String, Path)), responses((status = 204)))]
pub async fn revoke(
    State(s): State<AppState>,
    Path((id, gid)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    s.writ.revoke_credential_grant(&id, &gid).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/admin/v1/credential-providers", request_body = NewCredentialProvider,
    responses((status = 201, body = CredentialProviderView), (status = 400), (status = 409)))]
pub async fn create_provider(
    State(s): State<AppState>,
    b: Result<Json<NewCredentialProvider>, JsonRejection>,
) -> Result<(StatusCode, Json<CredentialProviderView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(s.writ.create_credential_provider(body(b)?).await?),
    ))
}

#[utoipa::path(get, path = "/api/admin/v1/credential-providers", responses((status = 200, body = Vec<CredentialProviderView>)))]
pub async fn list_providers(State(s): State<AppState>) -> ApiResult<Vec<CredentialProviderView>> {
    Ok(Json(s.writ.list_credential_providers().await?))
}

#[utoipa::path(post, path = "/api/admin/v1/credential-providers/{id}/disable", params(("id" = String, Path)), responses((status = 200, body = CredentialProviderView)))]
pub async fn disable_provider(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<CredentialProviderView> {
    Ok(Json(
        s.writ.set_credential_provider_enabled(&id, false).await?,
    ))
}

#[utoipa::path(post, path = "/api/admin/v1/credential-providers/{id}/enable", params(("id" = String, Path)), responses((status = 200, body = CredentialProviderView)))]
pub async fn enable_provider(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<CredentialProviderView> {
    Ok(Json(
        s.writ.set_credential_provider_enabled(&id, true).await?,
    ))
}

#[utoipa::path(delete, path = "/api/admin/v1/credential-providers/{id}", params(("id" = String, Path)), responses((status = 204), (status = 409)))]
pub async fn delete_provider(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    s.writ.delete_credential_provider(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/admin/v1/credential-providers/{id}/grants", params(("id" = String, Path)), request_body = NewCredentialGrant,
    responses((status = 201), (status = 409)))]
pub async fn grant_provider(
    State(s): State<AppState>,
    Path(id): Path<String>,
    b: Result<Json<NewCredentialGrant>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let b = body(b)?;
    s.writ.grant_credential_provider(&id, &b.client_id).await?;
    Ok(StatusCode::CREATED)
}

#[utoipa::path(get, path = "/api/admin/v1/credential-providers/{id}", params(("id" = String, Path)), responses((status = 200, body = CredentialProviderView)))]
pub async fn provider_details(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<CredentialProviderView> {
    Ok(Json(s.writ.get_credential_provider(&id).await?))
}

#[utoipa::path(patch, path = "/api/admin/v1/credential-providers/{id}", params(("id" = String, Path)), request_body = CredentialProviderUpdate,
    responses((status = 200, body = CredentialProviderView), (status = 400)))]
pub async fn update_provider(
    State(s): State<AppState>,
    Path(id): Path<String>,
    b: Result<Json<CredentialProviderUpdate>, JsonRejection>,
) -> ApiResult<CredentialProviderView> {
    Ok(Json(
        s.writ.update_credential_provider(&id, body(b)?).await?,
    ))
}

#[utoipa::path(get, path = "/api/admin/v1/credential-providers/{id}/grants", params(("id" = String, Path)), responses((status = 200, body = Vec<CredentialGrantView>)))]
pub async fn provider_grants(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Vec<CredentialGrantView>> {
    Ok(Json(s.writ.list_provider_grants(&id).await?))
}

#[utoipa::path(delete, path = "/api/admin/v1/credential-providers/{id}/grants/{gid}", params(("id" = String, Path), ("gid" = String, Path)), responses((status = 204), (status = 404)))]
pub async fn revoke_provider(
    State(s): State<AppState>,
    Path((id, gid)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    s.writ.revoke_provider_grant(&id, &gid).await?;
    Ok(StatusCode::NO_CONTENT)
}
