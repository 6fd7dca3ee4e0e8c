//! Registration through invitations, the caller's identity, device
//! revocation.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{audited, json, visible_device_owner};
use crate::auth::Caller;
use crate::config::MAX_DISPLAY_NAME;
use crate::error::ApiError;
use crate::ids;
use crate::state::{AppState, now_ms};
use crate::store::{InvitationProblem, Role};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Register {
    invitation: String,
    display_name: String,
}

/// `POST /api/register`: redeem an invitation; returns the device token once.
pub(crate) async fn register(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<std::net::SocketAddr>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let ip = addr.ip();
    let outcome = async {
        let request: Register = json(raw)?;
        let name = request.display_name.trim().to_string();
        if name.is_empty() || name.len() > MAX_DISPLAY_NAME || name.chars().any(char::is_control) {
            return Err(ApiError::BAD_REQUEST);
        }
        if request.invitation.len() > 64 {
            return Err(ApiError::NOT_FOUND);
        }
        let token = ids::random_text(32)?;
        let (code_hash, token_hash) = (
            ids::secret_hash(&request.invitation),
            ids::secret_hash(&token),
        );
        let redeemed = state
            .db(move |s| s.redeem_invitation(&code_hash, now_ms(), &name, &token_hash))
            .await?;
        match redeemed {
            Ok(registered) => Ok((registered, token)),
            Err(InvitationProblem::Unknown) => {
                Err(ApiError::new(StatusCode::NOT_FOUND, "invitation_unknown"))
            }
            Err(InvitationProblem::Expired) => {
                Err(ApiError::new(StatusCode::GONE, "invitation_expired"))
            }
            Err(InvitationProblem::Used) => Err(ApiError::new(StatusCode::GONE, "invitation_used")),
        }
    }
    .await;
    let target = outcome.as_ref().ok().map(|(r, _)| r.device_id.clone());
    state
        .audit(
            None,
            ip,
            "register",
            target,
            outcome.as_ref().map(|_| ()).map_err(|e| *e),
        )
        .await?;
    let (registered, token) = outcome?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "userId": registered.user_id,
            "deviceId": registered.device_id,
            "role": registered.role,
            "token": token,
        })),
    ))
}

/// `POST /api/demo/clinician-invitation`: only with `--demo`, a clinician
/// invitation anyone may take (the demo's "clinic admin").
pub(crate) async fn demo_clinician_invitation(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<std::net::SocketAddr>,
) -> Result<Json<Value>, ApiError> {
    if !state.config.demo {
        return Err(ApiError::NOT_FOUND);
    }
    let (code, expires_at) = new_invitation(&state, Role::Clinician, None).await?;
    state
        .audit(None, addr.ip(), "demo_clinician_invitation", None, Ok(()))
        .await?;
    Ok(Json(json!({ "invitation": code, "expiresAt": expires_at })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CreateInvitation {
    ttl_seconds: Option<u64>,
}

/// `POST /api/invitations`: a clinician invites a patient (single use,
/// time-limited, default 72 h).
pub(crate) async fn create_invitation(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let outcome = async {
        if caller.device.role != Role::Clinician {
            return Err(ApiError::FORBIDDEN);
        }
        let request: CreateInvitation = json(raw)?;
        let ttl = request.ttl_seconds.map(std::time::Duration::from_secs);
        new_invitation_ttl(
            &state,
            Role::Patient,
            Some(caller.device.user_id.clone()),
            ttl,
        )
        .await
    }
    .await;
    let (code, expires_at) = audited(&state, &caller, "create_invitation", None, outcome).await?;
    Ok(Json(json!({ "invitation": code, "expiresAt": expires_at })))
}

async fn new_invitation(
    state: &Arc<AppState>,
    role: Role,
    inviter: Option<String>,
) -> Result<(String, i64), ApiError> {
    new_invitation_ttl(state, role, inviter, None).await
}

async fn new_invitation_ttl(
    state: &Arc<AppState>,
    role: Role,
    inviter: Option<String>,
    ttl: Option<std::time::Duration>,
) -> Result<(String, i64), ApiError> {
    let ttl = ttl.unwrap_or(state.config.invitation_ttl);
    if ttl.as_secs() > 30 * 24 * 3600 {
        return Err(ApiError::BAD_REQUEST);
    }
    let code = ids::random_text(16)?;
    let hash = ids::secret_hash(&code);
    let expires_at = now_ms() + ttl.as_millis() as i64;
    state
        .db(move |s| s.create_invitation(&hash, role, inviter.as_deref(), expires_at))
        .await?;
    Ok((code, expires_at))
}

/// `GET /api/me`.
pub(crate) async fn me(caller: Caller) -> Json<Value> {
    Json(json!({
        "userId": caller.device.user_id,
        "deviceId": caller.device.device_id,
        "role": caller.device.role,
    }))
}

/// `POST /api/devices/{id}/revoke`: a clinician revokes a device of a user
/// they share a conversation with, or their own ("lost phone"). The token
/// stops working at once and the device's prekeys are withdrawn.
pub(crate) async fn revoke(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(device_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let outcome = async {
        if caller.device.role != Role::Clinician {
            return Err(ApiError::FORBIDDEN);
        }
        visible_device_owner(&state, &caller, &device_id).await?;
        let id = device_id.clone();
        state.db(move |s| s.revoke_device(&id, now_ms())).await?;
        Ok(())
    }
    .await;
    audited(&state, &caller, "revoke_device", Some(device_id), outcome).await?;
    Ok(Json(json!({ "revoked": true })))
}
