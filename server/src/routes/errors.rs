//! The one place errors become HTTP responses: OAuth errors (RFC 6749 §5.2)
//! and admin API errors, both as JSON with a `request_id`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use writ_core::OAuthError;
use writ_store::{DevApiError, ServiceError};

pub(crate) fn request_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

pub struct OAuthHttpError {
    pub error: OAuthError,
    /// Answer 401s with `WWW-Authenticate: Basic` when the client used Basic.
    pub basic_challenge: bool,
}

impl IntoResponse for OAuthHttpError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.error.code.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
        let body = serde_json::json!({
            "error": self.error.code.as_str(),
            "error_description": self.error.description,
            "request_id": request_id(),
        });
        let mut resp = (status, Json(body)).into_response();
        let h = resp.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if status == StatusCode::UNAUTHORIZED {
            let _ = self.basic_challenge;
            let challenge = r#"Basic realm="writ""#;
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        resp
    }
}

pub struct ApiError(pub ServiceError);

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        Self(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = match &self.0 {
            ServiceError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ServiceError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ServiceError::Invalid(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            ServiceError::BadLogin | ServiceError::Unauthenticated => {
                (StatusCode::UNAUTHORIZED, "unauthorized")
            }
            ServiceError::Throttled(_) => (StatusCode::TOO_MANY_REQUESTS, "throttled"),
            ServiceError::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "server_error"),
        };
        let body = serde_json::json!({
            "error": code,
            "error_description": self.0.to_string(),
            "request_id": request_id(),
        });
        let mut resp = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Bearer realm="writ-admin""#),
            );
        }
        resp
    }
}

/// A rejected request body / path / query, in the admin API's error shape.
pub fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError(ServiceError::Invalid(message.into()))
}

/// The error body both the tea runtime (`code`, `message`, `requestId`) and
/// the PAM client (`int(code)`, then `error`, `error_description`,
/// `request_id`) read. Never carries a secret.
pub struct DevApiHttpError(pub DevApiError);

impl IntoResponse for DevApiHttpError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let id = request_id();
        let description = self.0.to_string();
        (
            status,
            [(header::CACHE_CONTROL, "no-store")],
            Json(serde_json::json!({
                "code": status.as_u16().to_string(),
                "error": self.0.error(),
                "error_description": description,
                "request_id": id,
                "message": description,
                "requestId": id,
            })),
        )
            .into_response()
    }
}
