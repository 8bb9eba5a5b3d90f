//! The developer API at the host root (`/v2/{instanceId}/…`), as the
//! official PAM client calls it: routed by method and path, `x-acs-*`
//! headers ignored, nothing signed; camelCase bodies, times in Unix ms.

use super::errors::DevApiHttpError;
use crate::AppState;
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use writ_service::DevApiError;

pub fn router() -> Router<AppState> {
    let t = "/v2/{instance_id}/authenticationTokens";
    Router::new()
        .route(
            "/v2/{instance_id}/credentials/_/actions/obtain",
            get(obtain_credential),
        )
        .route(t, get(list_tokens))
        .route(
            "/v2/{instance_id}/oauthAuthorizationSessions/_/actions/get",
            post(get_oauth_session),
        )
        .route("/oauth/callback", get(oauth_callback))
        .route(&format!("{t}/_/actions/{{action}}"), post(token_action))
}

/// Query booleans arrive as Python's `True` / `False`.
fn flag(v: Option<&str>) -> Option<bool> {
    match v?.to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListQuery {
    consumer_id: Option<String>,
    credential_provider_identifier: Option<String>,
    next_token: Option<String>,
    max_results: Option<String>,
    revoked: Option<String>,
    expired: Option<String>,
}

async fn list_tokens(
    State(s): State<AppState>,
    Path(instance_id): Path<String>,
    headers: HeaderMap,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, DevApiHttpError> {
    let Query(q) =
        q.map_err(|_| DevApiHttpError(DevApiError::BadRequest("malformed query string".into())))?;
    let caller = s
        .writ
        .developer_caller(&instance_id, auth(&headers), "authentication_token:manage")
        .await
        .map_err(DevApiHttpError)?;
    let query = writ_service::TokenQuery {
        consumer_id: q.consumer_id,
        provider_identifier: q.credential_provider_identifier,
        next_token: q.next_token,
        max_results: q.max_results.and_then(|m| m.parse().ok()),
        revoked: flag(q.revoked.as_deref()),
        expired: flag(q.expired.as_deref()),
    };
    let body = s
        .writ
        .list_authentication_tokens(&caller, &query)
        .await
        .map_err(DevApiHttpError)?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response())
}

fn auth(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
}

/// POST `…/authenticationTokens/_/actions/<action>` (bodies are JSON). The
/// derived-short-token exchange and validate carry no Authorization.
async fn token_action(
    State(s): State<AppState>,
    Extension(client): Extension<super::ClientAddr>,
    Path((instance_id, action)): Path<(String, String)>,
    headers: HeaderMap,
    body: JsonBody,
) -> Result<Response, DevApiHttpError> {
    let body = json_body(body)?;
    let w = &s.writ;
    let a = auth(&headers);
    let permission = match action.as_str() {
        "generateJwt" => Some("authentication_token:generate"),
        "fetchOAuthAccessToken" => Some("authentication_token:fetch"),
        "obtainJwt" | "revoke" | "reinstate" | "revokeByConsumer" | "reinstateByConsumer" => {
            Some("authentication_token:manage")
        }
        _ => None,
    };
    let caller = match permission {
        Some(p) => Some(
            w.developer_caller(&instance_id, a, p)
                .await
                .map_err(DevApiHttpError)?,
        ),
        None => None,
    };
    let out = match (action.as_str(), &caller) {
        ("generateJwt", Some(c)) => w.generate_jwt(c, &body).await,
        ("fetchOAuthAccessToken", Some(c)) => w.fetch_oauth_token(c, &body, &client.source()).await,
        ("obtainJwt", Some(c)) => w.obtain_jwt(c, &body).await,
        ("revoke" | "reinstate", Some(c)) => {
            w.set_token_revoked(c, &body, action == "revoke").await
        }
        ("revokeByConsumer" | "reinstateByConsumer", Some(c)) => {
            w.set_consumer_tokens_revoked(c, &body, action == "revokeByConsumer")
                .await
        }
        ("obtainJwtByDerivedShortToken", _) => {
            w.obtain_jwt_by_short_token(&instance_id, &body).await
        }
        ("validate", _) => w.validate_authentication_token(&instance_id, &body).await,
        (other, _) => Err(DevApiError::NotFound(format!(
            "unknown action '{}'",
            other.chars().take(64).collect::<String>()
        ))),
    }
    .map_err(DevApiHttpError)?;
    // Revoke / reinstate answer 200 with a body (a 204 breaks the client).
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(out)).into_response())
}

#[derive(Deserialize)]
struct ObtainQuery {
    #[serde(rename = "credentialIdentifier")]
    credential_identifier: Option<String>,
}

async fn obtain_credential(
    State(s): State<AppState>,
    Extension(client): Extension<super::ClientAddr>,
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
            &client.source(),
        )
        .await
        .map_err(DevApiHttpError)?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response())
}

async fn get_oauth_session(
    State(s): State<AppState>,
    Path(instance_id): Path<String>,
    headers: HeaderMap,
    body: JsonBody,
) -> Result<Response, DevApiHttpError> {
    let body = json_body(body)?;
    let caller = s
        .writ
        .developer_caller(&instance_id, auth(&headers), "authentication_token:fetch")
        .await
        .map_err(DevApiHttpError)?;
    let out = s
        .writ
        .get_oauth_session(&caller, &body)
        .await
        .map_err(DevApiHttpError)?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(out)).into_response())
}

#[derive(Deserialize)]
struct CallbackQuery {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// Where the third party sends the person back after consent. Answers a
/// small HTML page: the application that asked is polling the session.
async fn oauth_callback(
    State(s): State<AppState>,
    q: Result<Query<CallbackQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let outcome = match q {
        Err(_) => Err(DevApiError::BadRequest("malformed callback".into())),
        Ok(Query(q)) => {
            s.writ
                .oauth_callback(
                    q.state.as_deref(),
                    q.code.as_deref(),
                    q.error.as_deref(),
                    q.error_description.as_deref(),
                )
                .await
        }
    };
    let (status, title, detail) = match outcome {
        Ok(writ_service::CallbackOutcome::Completed) => (
            axum::http::StatusCode::OK,
            "Authorization complete",
            "Writ has the token. You can close this window; the application continues on its own."
                .to_owned(),
        ),
        Ok(writ_service::CallbackOutcome::Failed(why)) => (
            axum::http::StatusCode::BAD_REQUEST,
            "Authorization failed",
            why,
        ),
        Err(e) => (
            axum::http::StatusCode::from_u16(e.kind().http_status())
                .unwrap_or(axum::http::StatusCode::BAD_REQUEST),
            "Authorization failed",
            e.to_string(),
        ),
    };
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title} · Writ</title>\
         <link rel=\"stylesheet\" href=\"/pkg/writ.css\"></head><body class=\"callback\">\
         <main class=\"card\"><h1>{title}</h1><p>{}</p></main></body></html>",
        html_escape(&detail)
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        page,
    )
        .into_response()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

type JsonBody = Result<Json<serde_json::Value>, axum::extract::rejection::JsonRejection>;

/// A POST body the PAM client sends: a JSON object, else a clear 400.
fn json_body(body: JsonBody) -> Result<serde_json::Value, DevApiHttpError> {
    body.map(|Json(v)| v).map_err(|_| {
        DevApiHttpError(DevApiError::BadRequest(
            "the body must be a JSON object".into(),
        ))
    })
}
