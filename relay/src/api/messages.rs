//! Conversations and per-device mailboxes. An envelope is deleted only when
//! its recipient acknowledges it.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::wire::{BlobInfoView, ConversationView, EnvelopeView, views};
use super::{
    PathId, audited, audited_change, base64, change_record, json, large_json, require_listed,
    require_member,
};
use crate::auth::Caller;
use crate::config::{DEFAULT_CONVERSATION_PAGE, MAILBOX_PAGE, MAX_CONVERSATION_PAGE};
use crate::error::ApiError;
use crate::state::{AppState, now_ms};
use crate::store::Page;
use crate::text;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    after: Option<String>,
    limit: Option<usize>,
}

#[derive(Serialize)]
struct ConversationList {
    conversations: Vec<ConversationView>,
    /// The cursor for the next page, `null` after the last.
    next: Option<String>,
}

/// `GET /api/conversations[?after=ID&limit=N]`: a page of the caller's
/// conversations and their members, ordered by id: at most `limit` (1 to
/// `MAX_CONVERSATION_PAGE`, default `DEFAULT_CONVERSATION_PAGE`) after
/// `after`, and `next` to pass as `after` for the following page. Every
/// list is paged, so no call costs more than a page however many patients
/// a clinician has.
pub(crate) async fn conversations(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let outcome = async {
        require_listed(&state, &caller).await?;
        let Query(query) = query.map_err(|_| ApiError::BAD_REQUEST)?;
        if query
            .limit
            .is_some_and(|limit| limit == 0 || limit > MAX_CONVERSATION_PAGE)
            || query
                .after
                .as_deref()
                .is_some_and(|after| !text::is_id(after))
        {
            return Err(ApiError::BAD_REQUEST);
        }
        let limit = query.limit.unwrap_or(DEFAULT_CONVERSATION_PAGE);
        let page = Page {
            after: query.after,
            limit: Some(limit),
        };
        let me = caller.device.user_id.clone();
        let conversations = state.db(move |s| s.conversations_of(&me, &page)).await?;
        let next = (conversations.len() == limit)
            .then(|| conversations.last().map(|c| c.id.clone()))
            .flatten();
        Ok(ConversationList {
            conversations: views(conversations),
            next,
        })
    }
    .await;
    let list = audited(&state, &caller, "list_conversations", None, outcome).await?;
    large_json(list).await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Post {
    recipient_device: String,
    body: String,
}

/// `POST /api/conversations/{id}/envelopes`: queue a ciphertext for one
/// device of a member. The body must be a structurally valid CareSeal
/// session or sealed message (checked without keys), and fit in the
/// sender's quota with everything else the sender's devices have stored
/// (413 `quota_exceeded`; envelopes posted at the same moment may each
/// pass, so the quota can be overshot by at most those).
pub(crate) async fn post(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    PathId(conversation): PathId,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let outcome = async {
        require_listed(&state, &caller).await?;
        require_member(&state, &conversation, &caller.device.user_id).await?;
        let request: Post = json(raw)?;
        if !text::is_id(&request.recipient_device) {
            return Err(ApiError::BAD_REQUEST);
        }
        let body = base64(&request.body)?;
        if careseal::session::inspect(&body).is_err() && careseal::sealed::inspect(&body).is_err() {
            return Err(ApiError::BAD_REQUEST);
        }
        let user = caller.device.user_id.clone();
        let used = state.db(move |s| s.stored_bytes_of_user(&user)).await?;
        if used.saturating_add(body.len() as u64) > state.config.quota_bytes {
            return Err(ApiError::QUOTA_EXCEEDED);
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
        let record = change_record(&caller, "post_envelope", Some(&conversation));
        let id = state
            .db(move |s| s.post_envelope(&c, &sender, &recipient, &body, now_ms(), &record))
            .await?
            // Revoked (or gone) since it was looked up above: the same
            // answer as posting to a revoked device.
            .ok_or(ApiError::BAD_REQUEST)?;
        let _ = state.mail.send(request.recipient_device);
        Ok(id)
    }
    .await;
    let id = audited_change(
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
    let mailbox = Some(caller.device.device_id.clone());
    let envelopes = audited(&state, &caller, "fetch_mailbox", mailbox, envelopes).await?;
    let envelopes: Vec<EnvelopeView> = views(envelopes);
    Ok(Json(json!({ "envelopes": envelopes })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Ack {
    ids: Vec<String>,
}

/// `POST /api/mailbox/ack`: delete envelopes the caller has safely stored.
/// Ids of other devices' envelopes are ignored; ids that cannot be an
/// envelope id are 400.
pub(crate) async fn acknowledge(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let outcome = async {
        let request: Ack = json(raw)?;
        if request.ids.len() > MAILBOX_PAGE || !request.ids.iter().all(|id| text::is_id(id)) {
            return Err(ApiError::BAD_REQUEST);
        }
        let device = caller.device.device_id.clone();
        let record = change_record(&caller, "acknowledge", Some(&device));
        state
            .db(move |s| s.acknowledge(&device, &request.ids, &record))
            .await
    }
    .await;
    let mailbox = Some(caller.device.device_id.clone());
    let removed = audited_change(&state, &caller, "acknowledge", mailbox, outcome).await?;
    Ok(Json(json!({ "acknowledged": removed })))
}

/// `GET /api/conversations/{id}/stored`: what the relay holds for a
/// conversation — queued envelopes and blobs, as the ciphertext it is.
pub(crate) async fn stored(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    PathId(conversation): PathId,
) -> Result<Json<Value>, ApiError> {
    let outcome = async {
        require_listed(&state, &caller).await?;
        require_member(&state, &conversation, &caller.device.user_id).await?;
        let c = conversation.clone();
        state.db(move |s| s.stored_in(&c)).await
    }
    .await;
    let (envelopes, blobs) =
        audited(&state, &caller, "view_stored", Some(conversation), outcome).await?;
    let (envelopes, blobs): (Vec<EnvelopeView>, Vec<BlobInfoView>) =
        (views(envelopes), views(blobs));
    Ok(Json(json!({ "envelopes": envelopes, "blobs": blobs })))
}
