//! The developer API at the host root (`/v2/{instanceId}/…`), as the
//! official PAM client calls it: routed by method and path, `x-acs-*`
//! headers ignored, nothing signed; camelCase bodies, times in Unix ms.

use super::errors::DevApiHttpError;
use crate::AppState;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use std::net::SocketAddr;
use writ_store::DevApiError;

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/v2/{instance_id}/credentials/_/actions/obtain",
        get(obtain_credential),
    )
}

#[derive(Deserialize)]
struct ObtainQuery {
    #[serde(rename = "credentialIdentifier")]
    credential_identifier: Option<String>,
}

async fn obtain_credential(
    State(s): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(instance_id): Path<String>,
    headers: HeaderMap,
    q: Result<Query<ObtainQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, DevApiHttpError> {
    let q =
        q.map_err(|_| DevApiHttpError(DevApiError::BadRequest("malformed query string".into())))?;
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let caller = s
        .writ
        .developer_caller(&instance_id, authorization, "credential:obtain")
        .await
        .map_err(DevApiHttpError)?;
    let body = s
        .writ
        .obtain_credential(
            &caller,
            q.credential_identifier.as_deref().unwrap_or_default(),
            &peer.ip().to_string(),
        )
        .await
        .map_err(DevApiHttpError)?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response())
}
