//! Linking a device (`PROTOCOL.md` §8.6) through the relay. The existing
//! device makes a device invitation for its own user, named by a token the
//! new device derives from the offer it read off the screen; the new device
//! registers with it and becomes a device of the same user; the two then
//! pass the link messages through a small per-exchange queue. The relay
//! sees only commitments, public keys and sealed messages, and the user's
//! comparison of the short authentication string catches a relay in the
//! middle; the new device is trusted by contacts only once a signed device
//! list names it.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::{Value, json};

use super::accounts::new_invitation;
use super::require_listed;
use super::{audited, audited_change, base64, change_record, json};
use crate::auth::Caller;
use crate::config::{
    LINK_INVITATION_TTL, LINK_MESSAGE_RETENTION, MAX_LINK_MESSAGE_LEN, MAX_LINK_MESSAGES_PER_OFFER,
};
use crate::error::ApiError;
use crate::state::{AppState, now_ms};
use crate::store::{Invitation, LinkMessage};
use crate::{ids, text};

/// Shortest link token or offer name: 16 random bytes as base64url.
const MIN_LINK_ID_LEN: usize = 22;

/// 409: the exchange already holds `MAX_LINK_MESSAGES_PER_OFFER` messages.
const LINK_FULL: ApiError = ApiError::new(StatusCode::CONFLICT, "link_exchange_full");

fn link_id(text: &str) -> Result<&str, ApiError> {
    if text.len() >= MIN_LINK_ID_LEN && text::is_id(text) {
        Ok(text)
    } else {
        Err(ApiError::BAD_REQUEST)
    }
}

/// The name an exchange is stored under: the SHA-256 of the offer id (which
/// is also the device invitation's bearer token), so the database holds
/// neither.
fn queue_name(offer: &str) -> Result<String, ApiError> {
    Ok(STANDARD.encode(ids::secret_hash(link_id(offer)?)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CreateDeviceInvitation {
    redemption_token: String,
}

/// `POST /api/link/invitations`: a device invites a new device of its own
/// user, for the life of a link offer; `/api/register` with the token then
/// adds a device to this user (the display name is ignored).
pub(crate) async fn create_invitation(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let outcome = async {
        let request: CreateDeviceInvitation = json(raw)?;
        require_listed(&state, &caller).await?;
        let token = link_id(&request.redemption_token)?.to_string();
        let template = Invitation {
            role: caller.device.role,
            inviter: None,
            for_user: Some(caller.device.user_id.clone()),
            resets_user_key: false,
            expires_at: 0,
            created_by: Some(caller.device.device_id.clone()),
        };
        let record = change_record(&caller, "create_device_invitation", None);
        let (_, expires_at) = new_invitation(
            &state,
            template,
            Some(LINK_INVITATION_TTL),
            Some(token),
            record,
        )
        .await?;
        Ok(expires_at)
    }
    .await;
    let expires_at =
        audited_change(&state, &caller, "create_device_invitation", None, outcome).await?;
    Ok(Json(json!({ "expiresAt": expires_at })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct PostLinkMessage {
    offer: String,
    body: String,
}

/// `POST /api/link/messages`: queue a link message for the caller's user's
/// exchange `offer`.
pub(crate) async fn post(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let outcome = async {
        let request: PostLinkMessage = json(raw)?;
        let offer = queue_name(&request.offer)?;
        let body = base64(&request.body)?;
        if body.is_empty() || body.len() > MAX_LINK_MESSAGE_LEN {
            return Err(ApiError::BAD_REQUEST);
        }
        let now = now_ms();
        let message = LinkMessage {
            user_id: caller.device.user_id.clone(),
            offer,
            sender_device: caller.device.device_id.clone(),
            body,
            created_at: now,
        };
        let expired_before = now - LINK_MESSAGE_RETENTION.as_millis() as i64;
        let record = change_record(&caller, "post_link_message", None);
        state
            .db(move |s| {
                s.post_link_message(
                    &message,
                    MAX_LINK_MESSAGES_PER_OFFER,
                    expired_before,
                    &record,
                )
            })
            .await?
            .ok_or(LINK_FULL)
    }
    .await;
    let id = audited_change(&state, &caller, "post_link_message", None, outcome).await?;
    Ok(Json(json!({ "id": id })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LinkQuery {
    offer: String,
    after: Option<i64>,
}

/// `GET /api/link/messages?offer=X[&after=N]`: the messages of the caller's
/// user's exchange `offer` after id `N`, oldest first, including the
/// caller's own (each says which device sent it).
pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    query: Result<Query<LinkQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let outcome = async {
        let Query(query) = query.map_err(|_| ApiError::BAD_REQUEST)?;
        let offer = queue_name(&query.offer)?;
        let user = caller.device.user_id.clone();
        let after = query.after.unwrap_or(0);
        let expired_before = now_ms() - LINK_MESSAGE_RETENTION.as_millis() as i64;
        let messages = state
            .db(move |s| s.link_messages(&user, &offer, after, expired_before))
            .await?;
        Ok(messages
            .into_iter()
            .map(|(id, m)| {
                json!({ "id": id, "senderDevice": m.sender_device, "body": STANDARD.encode(m.body) })
            })
            .collect::<Vec<_>>())
    }
    .await;
    let messages = audited(&state, &caller, "list_link_messages", None, outcome).await?;
    Ok(Json(json!({ "messages": messages })))
}
