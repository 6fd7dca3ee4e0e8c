//! Conversations and per-device mailboxes. An envelope is deleted only when
//! its recipient acknowledges it.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{audited, base64, json, require_member};
use crate::auth::Caller;
use crate::config::MAILBOX_PAGE;
use crate::error::ApiError;
use crate::state::{AppState, now_ms};

/// `GET /api/conversations`: the caller's conversations and their members.
pub(crate) async fn conversations(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    let me = caller.device.user_id.clone();
    let list = state.db(move |s| s.conversations_of(&me)).await?;
    Ok(Json(json!({ "conversations": list })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Post {
    recipient_device: String,
    body: String,
}

/// `POST /api/conversations/{id}/envelopes`: queue a ciphertext for one
/// device of a member. The body must be a structurally valid CareSeal
/// session or sealed message (checked without keys).
pub(crate) async fn post(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(conversation): Path<String>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let outcome = async {
        require_member(&state, &conversation, &caller.device.user_id).await?;
        let request: Post = json(raw)?;
        let body = base64(&request.body)?;
        if careseal::session::inspect(&body).is_err() && careseal::sealed::inspect(&body).is_err() {
            return Err(ApiError::BAD_REQUEST);
        }
        let lookup = request.recipient_device.clone();
        let owner = state
            .db(move |s| s.device_owner(&lookup))
            .await?
            .ok_or(ApiError::BAD_REQUEST)?;
        require_member(&state, &conversation, &owner)
            .await
            .map_err(|_| ApiError::BAD_REQUEST)?;
        let (c, sender, recipient) = (
            conversation.clone(),
            caller.device.device_id.clone(),
            request.recipient_device.clone(),
        );
        let id = state
            .db(move |s| s.post_envelope(&c, &sender, &recipient, &body, now_ms()))
            .await?;
        let _ = state.mail.send(request.recipient_device);
        Ok(id)
    }
    .await;
    let id = audited(
        &state,
        &caller,
        "post_envelope",
        Some(conversation),
        outcome,
    )
    .await?;
    Ok(Json(json!({ "id": id })))
}

/// `GET /api/mailbox`: the caller's queued envelopes, oldest first.
pub(crate) async fn mailbox(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    let device = caller.device.device_id.clone();
    let envelopes = state.db(move |s| s.mailbox(&device, MAILBOX_PAGE)).await;
    let envelopes = audited(&state, &caller, "fetch_mailbox", None, envelopes).await?;
    Ok(Json(json!({ "envelopes": envelopes })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Ack {
    ids: Vec<i64>,
}

/// `POST /api/mailbox/ack`: delete envelopes the caller has safely stored.
/// Ids of other devices' envelopes are ignored.
pub(crate) async fn acknowledge(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let outcome = async {
        let request: Ack = json(raw)?;
        if request.ids.len() > MAILBOX_PAGE {
            return Err(ApiError::BAD_REQUEST);
        }
        let device = caller.device.device_id.clone();
        state
            .db(move |s| s.acknowledge(&device, &request.ids))
            .await
    }
    .await;
    let removed = audited(&state, &caller, "acknowledge", None, outcome).await?;
    Ok(Json(json!({ "acknowledged": removed })))
}

/// `GET /api/conversations/{id}/stored`: what the relay holds for a
/// conversation — queued envelopes and blobs, as the ciphertext it is.
pub(crate) async fn stored(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(conversation): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let outcome = async {
        require_member(&state, &conversation, &caller.device.user_id).await?;
        let c = conversation.clone();
        state.db(move |s| s.stored_in(&c)).await
    }
    .await;
    let (envelopes, blobs) =
        audited(&state, &caller, "view_stored", Some(conversation), outcome).await?;
    Ok(Json(json!({ "envelopes": envelopes, "blobs": blobs })))
}
