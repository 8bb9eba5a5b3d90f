//! The one place errors become HTTP responses: OAuth errors (RFC 6749 §5.2),
//! admin API and developer API errors, all as JSON with a `request_id`.
//! Statuses and `error` codes come from [`writ_types::errors::ErrorKind`].

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use writ_core::OAuthError;
use writ_service::{DevApiError, ServiceError};
use writ_types::errors::{Api, ErrorKind};

/// The id of the request being answered (its `x-request-id`), so an
/// error body and the server's log lines name the same request.
pub(crate) fn request_id() -> String {
    super::request_id::current().unwrap_or_else(super::request_id::new_id)
}

/// The status of an error kind (the table is [`ErrorKind::http_status`]).
pub(crate) fn http_status(kind: ErrorKind) -> StatusCode {
    StatusCode::from_u16(kind.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// An OAuth error from the token endpoint (RFC 6749 §5.2). Every 401
/// carries `WWW-Authenticate: Basic realm="writ"`, however the client tried
/// to authenticate: a 401 must carry a challenge (RFC 9110 §15.5.2), and the
/// one HTTP authentication scheme the token endpoint accepts is Basic
/// (RFC 6749 §2.3.1), which is also the scheme §5.2 asks to echo when the
/// client used the `Authorization` header.
pub struct OAuthHttpError {
    pub error: OAuthError,
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
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Basic realm="writ""#),
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
        let kind = self.0.kind();
        let status = http_status(kind);
        let body = serde_json::json!({
            "error": kind.code(Api::Admin),
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
        let kind = self.0.kind();
        let status = http_status(kind);
        let id = request_id();
        let description = self.0.to_string();
        (
            status,
            [(header::CACHE_CONTROL, "no-store")],
            Json(serde_json::json!({
                "code": status.as_u16().to_string(),
                "error": kind.code(Api::Developer),
                "error_description": description,
                "request_id": id,
                "message": description,
                "requestId": id,
            })),
        )
            .into_response()
    }
}
