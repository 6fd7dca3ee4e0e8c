//! Errors returned to clients: a status code and a short code string. Never
//! content, tokens or internal detail.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::store::StoreError;

/// An API error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code, also recorded as the audit outcome.
    pub code: &'static str,
}

impl ApiError {
    /// 400: the body or a parameter is malformed.
    pub const BAD_REQUEST: Self = Self::new(StatusCode::BAD_REQUEST, "malformed_request");
    /// 401: missing, unknown or revoked token.
    pub const UNAUTHORIZED: Self = Self::new(StatusCode::UNAUTHORIZED, "unauthorized");
    /// 403: authenticated but not allowed.
    pub const FORBIDDEN: Self = Self::new(StatusCode::FORBIDDEN, "forbidden");
    /// 404: no such thing (or not visible to the caller).
    pub const NOT_FOUND: Self = Self::new(StatusCode::NOT_FOUND, "not_found");
    /// 405: the route exists, but not with this method.
    pub const METHOD_NOT_ALLOWED: Self =
        Self::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    /// 408: a WebSocket client sent no token in time.
    pub const AUTH_TIMEOUT: Self = Self::new(StatusCode::REQUEST_TIMEOUT, "auth_timeout");
    /// 411: an upload without `Content-Length`.
    pub const LENGTH_REQUIRED: Self = Self::new(StatusCode::LENGTH_REQUIRED, "length_required");
    /// 413: body too large.
    pub const TOO_LARGE: Self = Self::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large");
    /// 413: the upload would take the user over their storage quota.
    pub const QUOTA_EXCEEDED: Self = Self::new(StatusCode::PAYLOAD_TOO_LARGE, "quota_exceeded");
    /// 408: the request (or a pause in its body) took too long.
    pub const REQUEST_TIMEOUT: Self = Self::new(StatusCode::REQUEST_TIMEOUT, "request_timeout");
    /// 429: rate limit.
    pub const RATE_LIMITED: Self = Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    /// 503: no upload memory free in time; try again later.
    pub const BUSY: Self = Self::new(StatusCode::SERVICE_UNAVAILABLE, "server_busy");
    /// 500: storage failure.
    pub const INTERNAL: Self = Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal");

    /// An error with its own code.
    pub const fn new(status: StatusCode, code: &'static str) -> Self {
        Self { status, code }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.code }))).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        eprintln!("careseal-relay: storage error: {}", error.0);
        ApiError::INTERNAL
    }
}
