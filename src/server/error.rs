//! JSON errors: `{"error": {"code", "message"}}` with the status of `ErrorKind::http_status`,
//! so the server never decides on its own how a failure looks. Internal failures get an error
//! id that is in the response and in the server's log, and no details in the response.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::{Error, ErrorKind};

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, ErrorKind::Usage.as_str(), message)
    }

    pub fn unauthenticated(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, ErrorKind::Unauthenticated.as_str(), message)
    }
}

impl From<Error> for ApiError {
    fn from(err: Error) -> ApiError {
        let kind = err.kind();
        let status = StatusCode::from_u16(kind.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() && !matches!(kind, ErrorKind::Upstream | ErrorKind::Interrupted) {
            // Storage and internal errors may name paths: log them, answer with an id only.
            let id = uuid::Uuid::new_v4();
            eprintln!("lrt serve: error {id}: {kind}: {err}");
            return ApiError::new(status, kind.as_str(), format!("internal error (error id {id})"));
        }
        ApiError::new(status, kind.as_str(), err.to_string())
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> ApiError {
        let status = rejection.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError::new(status, "payload_too_large", "the request body is too large");
        }
        ApiError::bad_request(format!("invalid JSON body: {}", rejection.body_text()))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code, "message": self.message}});
        (self.status, Json(body)).into_response()
    }
}
