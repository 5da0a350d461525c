//! JSON errors: `{"error": {"code", "message"}}` with the status of `ErrorKind::http_status`,
//! so the server never decides on its own how a failure looks. Internal failures get an error
//! id that is in the response and in the server's log (the error event and the access log
//! line), and no details in the response. Rate quotas carry `Retry-After`.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::{Error, ErrorKind};

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds for `Retry-After` (rate quotas).
    pub retry_after: Option<u64>,
    /// The id of an internal error, as logged.
    pub error_id: Option<uuid::Uuid>,
}

/// A 5xx response's error id, left in the response's extensions for the access log.
#[derive(Debug, Clone, Copy)]
pub struct ErrorId(pub uuid::Uuid);

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
            error_id: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, ErrorKind::Usage.as_str(), message)
    }

    pub fn unauthenticated(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, ErrorKind::Unauthenticated.as_str(), message)
    }
}

/// Whether a storage error is SQLite's "busy" or "locked": another process holds the
/// catalog or kb.db for longer than the busy timeout. That is a moment, not a fault: 503 with
/// `Retry-After`, not 500.
fn is_busy(err: &Error) -> bool {
    let Error::Storage { source, .. } = err else {
        return false;
    };
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(source.as_ref());
    while let Some(e) = cause {
        if let Some(rusqlite::Error::SqliteFailure(f, _)) = e.downcast_ref::<rusqlite::Error>()
            && matches!(
                f.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            )
        {
            return true;
        }
        cause = e.source();
    }
    false
}

/// Seconds a client is told to wait when the data directory is busy.
const BUSY_RETRY_AFTER_SECS: u64 = 2;

/// Seconds a client is told to wait when the database cannot be reached.
pub(crate) const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;

impl From<Error> for ApiError {
    fn from(err: Error) -> ApiError {
        if is_busy(&err) {
            tracing::warn!(target: "lrt::serve", "busy: {err}");
            let mut api = ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "the data directory is busy (another lrt process is writing to it); retry shortly",
            );
            api.retry_after = Some(BUSY_RETRY_AFTER_SECS);
            return api;
        }
        if let Error::Unavailable(detail) = &err {
            // The detail names the database's host: logged, not sent.
            tracing::warn!(target: "lrt::serve", "database unavailable: {detail}");
            let mut api = ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorKind::Unavailable.as_str(),
                "the database is unavailable; retry shortly",
            );
            api.retry_after = Some(UNAVAILABLE_RETRY_AFTER_SECS);
            return api;
        }
        let kind = err.kind();
        let status = StatusCode::from_u16(kind.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() && !matches!(kind, ErrorKind::Upstream | ErrorKind::Interrupted) {
            // Storage and internal errors may name paths: log them, answer with an id only.
            let id = uuid::Uuid::new_v4();
            tracing::error!(error_id = %id, kind = %kind, "{err}");
            let mut api = ApiError::new(status, kind.as_str(), format!("internal error (error id {id})"));
            api.error_id = Some(id);
            return api;
        }
        let retry_after = match &err {
            Error::RateLimited { retry_after_secs, .. } => Some(*retry_after_secs),
            _ => None,
        };
        let mut api = ApiError::new(status, kind.as_str(), err.to_string());
        api.retry_after = retry_after;
        api
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
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(id) = self.error_id {
            response.extensions_mut().insert(ErrorId(id));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite(code: i32) -> Error {
        let failure = rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None);
        Error::storage("cannot read the catalog", failure)
    }

    #[test]
    fn a_busy_or_locked_database_is_503_with_retry_after() {
        for code in [rusqlite::ffi::SQLITE_BUSY, rusqlite::ffi::SQLITE_LOCKED] {
            let api = ApiError::from(sqlite(code));
            assert_eq!(api.status, StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(api.retry_after, Some(BUSY_RETRY_AFTER_SECS));
            assert!(api.error_id.is_none());
        }
        let other = ApiError::from(sqlite(rusqlite::ffi::SQLITE_CORRUPT));
        assert_eq!(other.status, StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn an_unreachable_database_is_503_with_retry_after_and_no_location() {
        let api = ApiError::from(Error::Unavailable(
            "cannot reach the PostgreSQL database at postgres://lrt:***@db.internal:5432/lrt".into(),
        ));
        assert_eq!(api.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(api.code, "unavailable");
        assert_eq!(api.retry_after, Some(UNAVAILABLE_RETRY_AFTER_SECS));
        assert!(!api.message.contains("db.internal"), "{}", api.message);
    }
}
