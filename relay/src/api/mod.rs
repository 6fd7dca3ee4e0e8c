//! The HTTP API. Every handler audits what it did, for whom and with what
//! outcome; a request that fails stores nothing.

mod accounts;
mod blobs;
mod events;
mod messages;
mod prekeys;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::de::DeserializeOwned;

use crate::auth::Caller;
use crate::config::MAX_JSON_BODY;
use crate::error::ApiError;
use crate::state::AppState;

/// The API routes (under `/api`).
pub fn routes(state: &Arc<AppState>) -> Router<Arc<AppState>> {
    let max_blob = state.config.max_blob;
    Router::new()
        .route("/api/register", post(accounts::register))
        .route(
            "/api/demo/clinician-invitation",
            post(accounts::demo_clinician_invitation),
        )
        .route("/api/invitations", post(accounts::create_invitation))
        .route("/api/me", get(accounts::me))
        .route("/api/devices/{id}/revoke", post(accounts::revoke))
        .route("/api/prekeys", put(prekeys::publish))
        .route("/api/devices/{id}/bundle", get(prekeys::fetch))
        .route("/api/conversations", get(messages::conversations))
        .route("/api/conversations/{id}/envelopes", post(messages::post))
        .route("/api/conversations/{id}/stored", get(messages::stored))
        .route("/api/mailbox", get(messages::mailbox))
        .route("/api/mailbox/ack", post(messages::acknowledge))
        .route("/api/events", get(events::socket))
        .route("/api/blobs/{id}", get(blobs::download))
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY))
        .merge(
            Router::new()
                .route("/api/conversations/{id}/blobs", post(blobs::upload))
                .layer(DefaultBodyLimit::max(max_blob)),
        )
}

/// A request body, mapping the body-limit rejection to 413.
pub(crate) fn body(raw: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    raw.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TOO_LARGE
        } else {
            ApiError::BAD_REQUEST
        }
    })
}

/// A JSON request body of type `T` (400 if malformed, 413 if too large).
pub(crate) fn json<T: DeserializeOwned>(raw: Result<Bytes, BytesRejection>) -> Result<T, ApiError> {
    let bytes = body(raw)?;
    serde_json::from_slice(&bytes).map_err(|_| ApiError::BAD_REQUEST)
}

/// Standard base64 (what the portal sends) to bytes.
pub(crate) fn base64(text: &str) -> Result<Vec<u8>, ApiError> {
    STANDARD.decode(text).map_err(|_| ApiError::BAD_REQUEST)
}

/// 403 unless `user` is a member of `conversation`.
pub(crate) async fn require_member(
    state: &Arc<AppState>,
    conversation: &str,
    user: &str,
) -> Result<(), ApiError> {
    let (c, u) = (conversation.to_string(), user.to_string());
    if state.db(move |s| s.is_member(&c, &u)).await? {
        Ok(())
    } else {
        Err(ApiError::FORBIDDEN)
    }
}

/// Whether `me` shares a conversation with `other` (or is `other`).
pub(crate) async fn shares_conversation(
    state: &Arc<AppState>,
    me: &str,
    other: &str,
) -> Result<bool, ApiError> {
    if me == other {
        return Ok(true);
    }
    let (me, other) = (me.to_string(), other.to_string());
    state
        .db(move |s| {
            let mine = s.conversations_of(&me)?;
            Ok(mine
                .iter()
                .any(|c| c.members.iter().any(|m| m.user_id == other)))
        })
        .await
}

/// The owner of a non-revoked device, if the caller may act on it: 404 for
/// an unknown or revoked device, 403 unless the caller shares a conversation
/// with its owner (or is the owner).
pub(crate) async fn visible_device_owner(
    state: &Arc<AppState>,
    caller: &Caller,
    device_id: &str,
) -> Result<String, ApiError> {
    let lookup = device_id.to_string();
    let owner = state
        .db(move |s| s.device_owner(&lookup))
        .await?
        .ok_or(ApiError::NOT_FOUND)?;
    if shares_conversation(state, &caller.device.user_id, &owner).await? {
        Ok(owner)
    } else {
        Err(ApiError::FORBIDDEN)
    }
}

/// Audits the outcome of a handler body and returns it.
pub(crate) async fn audited<T>(
    state: &Arc<AppState>,
    caller: &Caller,
    action: &str,
    target: Option<String>,
    result: Result<T, ApiError>,
) -> Result<T, ApiError> {
    state
        .audit(
            Some(&caller.device),
            caller.ip,
            action,
            target,
            result.as_ref().map(|_| ()).map_err(|e| *e),
        )
        .await?;
    result
}
