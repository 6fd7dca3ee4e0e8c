//! Signed device lists (`PROTOCOL.md` §8.3): a device publishes its user's
//! list; users who may see each other fetch it. The rules are in
//! [`crate::domain::device_lists`]; this is their HTTP face.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::wire::DeviceListView;
use super::{PathId, audited, audited_change, base64, change_record, json, require_listed};
use crate::auth::Caller;
use crate::domain::access;
use crate::domain::device_lists::{self, Publication, Refusal};
use crate::error::ApiError;
use crate::state::{AppState, now_ms};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Publish {
    user_key: String,
    list: String,
    registration_proof: Option<String>,
}

/// The status of each refusal: 409 for what conflicts with the stored list,
/// 403 for another user's list, 400 for the rest.
fn refused(refusal: Refusal) -> ApiError {
    let status = match refusal {
        Refusal::UserKeyChanged | Refusal::Stale | Refusal::VersionJump | Refusal::Conflict => {
            StatusCode::CONFLICT
        }
        Refusal::OtherUser => StatusCode::FORBIDDEN,
        _ => StatusCode::BAD_REQUEST,
    };
    ApiError::new(status, refusal.code())
}

/// `PUT /api/device-list`: store the caller's user's signed device list.
/// Devices of the user that the list leaves off are revoked with it.
pub(crate) async fn publish(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let outcome = async {
        let request: Publish = json(raw)?;
        let publication = Publication {
            user_key: base64(&request.user_key)?,
            list: base64(&request.list)?,
            registration_proof: request
                .registration_proof
                .as_deref()
                .map(base64)
                .transpose()?,
        };
        let (user, device) = (
            caller.device.user_id.clone(),
            caller.device.device_id.clone(),
        );
        let record = change_record(&caller, "publish_device_list", None);
        state
            .db(move |s| device_lists::publish(s, &user, &device, publication, now_ms(), &record))
            .await?
            .map_err(refused)
    }
    .await;
    let published = audited_change(&state, &caller, "publish_device_list", None, outcome).await?;
    Ok(Json(json!({
        "version": published.version.to_string(),
        "revoked": published.revoked,
    })))
}

/// `GET /api/users/{id}/device-list`: a user's signed device list, their
/// user key and (for a patient invited by a clinician) the registration
/// proof. For the user themselves and those who share a conversation with
/// them; 404 if none was published.
pub(crate) async fn fetch(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    PathId(user_id): PathId,
) -> Result<Json<DeviceListView>, ApiError> {
    let outcome = async {
        // Its own user's list, every device may read (a new device waits
        // there to be listed); others' only a confirmed one.
        if user_id != caller.device.user_id {
            require_listed(&state, &caller).await?;
        }
        let (viewer, user) = (caller.device.user_id.clone(), user_id.clone());
        let stored = state
            .db(move |s| {
                if !access::may_see(s, &viewer, &user)? {
                    return Ok(Err(ApiError::FORBIDDEN));
                }
                Ok(s.device_list(&user)?.ok_or(ApiError::NOT_FOUND))
            })
            .await??;
        Ok(DeviceListView::new(user_id.clone(), stored))
    }
    .await;
    let view = audited(&state, &caller, "fetch_device_list", Some(user_id), outcome).await?;
    Ok(Json(view))
}
