//! Registration through invitations, the caller's identity, device
//! revocation.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    PathId, audited, audited_change, change_record, json, require_listed, visible_device_owner,
};
use crate::audit::{self, coverage};
use crate::auth::{Caller, refuse_failed};
use crate::domain::access;
use crate::domain::onboarding::{self, InvitationProblem};
use crate::error::ApiError;
use crate::refusals::RefusalKind;
use crate::state::{AppState, now_ms};
use crate::store::{AuditRecord, Invitation, Role};
use crate::{ids, rate, text};

/// 409: an invitation with this redemption token exists already.
pub(crate) const INVITATION_EXISTS: ApiError =
    ApiError::new(StatusCode::CONFLICT, "invitation_exists");

/// 404: no invitation has this code (also for codes that cannot be one).
const INVITATION_UNKNOWN: ApiError = ApiError::new(StatusCode::NOT_FOUND, "invitation_unknown");

/// 429 once `ip` has used its share of requests to the unauthenticated
/// endpoints (`--unauth-rate`), counted as a refusal rather than recorded by
/// itself.
pub(crate) async fn refuse_unauthenticated_flood(
    state: &Arc<AppState>,
    ip: std::net::IpAddr,
) -> Result<(), ApiError> {
    if state.unauthenticated.allow(&rate::address_key(ip)) {
        return Ok(());
    }
    state
        .refusals
        .count(RefusalKind::UnauthenticatedFlood, ip, None);
    coverage::recorded();
    Err(ApiError::RATE_LIMITED)
}

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
    refuse_unauthenticated_flood(&state, ip).await?;
    let outcome = async {
        let request: Register = json(raw)?;
        let name = text::display_name(&request.display_name).ok_or(ApiError::BAD_REQUEST)?;
        if !text::is_id(&request.invitation) {
            return Err(INVITATION_UNKNOWN);
        }
        let token = ids::random_text(32)?;
        let (code_hash, token_hash) = (
            ids::secret_hash(&request.invitation),
            ids::secret_hash(&token),
        );
        let record = audit::record(None, ip, "register", None, Ok(()));
        let redeemed = state
            .db(move |s| onboarding::redeem(s, &code_hash, now_ms(), &name, &token_hash, &record))
            .await?;
        match redeemed {
            Ok(registered) => Ok((registered, token)),
            Err(InvitationProblem::Unknown) => Err(INVITATION_UNKNOWN),
            Err(InvitationProblem::Expired) => {
                Err(ApiError::new(StatusCode::GONE, "invitation_expired"))
            }
            Err(InvitationProblem::Used) => Err(ApiError::new(StatusCode::GONE, "invitation_used")),
        }
    }
    .await;
    // A registration is audited with it, the new device as the target; a
    // wrong, used or expired invitation is a failed authentication.
    let (registered, token) = match outcome {
        Ok(registered) => {
            coverage::recorded();
            registered
        }
        Err(e) if e.status == StatusCode::NOT_FOUND || e.status == StatusCode::GONE => {
            return Err(refuse_failed(&state, None, ip, "register", None, e).await);
        }
        Err(e) => {
            state.audit(None, ip, "register", None, Err(e)).await?;
            return Err(e);
        }
    };
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "userId": registered.user_id,
            "deviceId": registered.device_id,
            "role": registered.role.as_str(),
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
    refuse_unauthenticated_flood(&state, addr.ip()).await?;
    let record = audit::record(None, addr.ip(), "demo_clinician_invitation", None, Ok(()));
    let template = Invitation {
        role: Role::Clinician,
        inviter: None,
        for_user: None,
        resets_user_key: false,
        expires_at: 0,
        created_by: None,
    };
    let (code, expires_at) = new_invitation(&state, template, None, None, record).await?;
    coverage::recorded();
    Ok(Json(json!({ "invitation": code, "expiresAt": expires_at })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CreateInvitation {
    ttl_seconds: Option<u64>,
    redemption_token: Option<String>,
    for_user: Option<String>,
}

/// Length of a redemption token made by a client: unpadded base64url of a
/// 32-byte hash (`PROTOCOL.md` §8.4).
const REDEMPTION_TOKEN_LEN: usize = 43;

/// `POST /api/invitations`: a clinician invites a patient (single use,
/// time-limited, default 72 h). With `redemptionToken` the clinician's
/// device made the invitation code itself and sends only its one-way image
/// (`PROTOCOL.md` §8.4): the relay never learns the code, so it cannot
/// compute the registration proof the clinician will check. Without it, the
/// relay makes a code (the demo's way). With `forUser`, the invitation is
/// for an existing patient who lost every device: it adds a device to that
/// user and starts the user over with a new user key (the user's other
/// devices are revoked and its device list forgotten when it is redeemed),
/// which the user's contacts see as a changed identity. Only a clinician
/// who shares a conversation with the patient may make one.
pub(crate) async fn create_invitation(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let mut target = None;
    let outcome = async {
        if caller.device.role != Role::Clinician {
            return Err(ApiError::FORBIDDEN);
        }
        require_listed(&state, &caller).await?;
        let request: CreateInvitation = json(raw)?;
        let ttl = request.ttl_seconds.map(std::time::Duration::from_secs);
        if let Some(token) = &request.redemption_token {
            if token.len() != REDEMPTION_TOKEN_LEN || !text::is_id(token) {
                return Err(ApiError::BAD_REQUEST);
            }
        }
        if let Some(user) = &request.for_user {
            if !text::is_id(user) {
                return Err(ApiError::BAD_REQUEST);
            }
            let (viewer, patient) = (caller.device.user_id.clone(), user.clone());
            let allowed = state
                .db(move |s| {
                    Ok(access::may_see(s, &viewer, &patient)?
                        && viewer != patient
                        && s.user_role(&patient)? == Some(Role::Patient))
                })
                .await?;
            if !allowed {
                return Err(ApiError::FORBIDDEN);
            }
            // A reset names the patient in the log.
            target = Some(user.clone());
        }
        let template = Invitation {
            role: Role::Patient,
            inviter: Some(caller.device.user_id.clone()),
            resets_user_key: request.for_user.is_some(),
            for_user: request.for_user,
            expires_at: 0,
            created_by: Some(caller.device.device_id.clone()),
        };
        let record = change_record(&caller, "create_invitation", target.as_deref());
        new_invitation(&state, template, ttl, request.redemption_token, record).await
    }
    .await;
    let (code, expires_at) =
        audited_change(&state, &caller, "create_invitation", target, outcome).await?;
    Ok(Json(json!({ "invitation": code, "expiresAt": expires_at })))
}

/// Stores `template` (its `expires_at` set from `ttl`, default
/// `--invitation-ttl`) under `code`, or a code made here; returns the code
/// and the expiry.
pub(crate) async fn new_invitation(
    state: &Arc<AppState>,
    template: Invitation,
    ttl: Option<std::time::Duration>,
    code: Option<String>,
    audit: AuditRecord,
) -> Result<(String, i64), ApiError> {
    let ttl = ttl.unwrap_or(state.config.invitation_ttl);
    if ttl.as_secs() > 30 * 24 * 3600 {
        return Err(ApiError::BAD_REQUEST);
    }
    let code = match code {
        Some(code) => code,
        None => ids::random_text(16)?,
    };
    let hash = ids::secret_hash(&code);
    let expires_at = now_ms() + ttl.as_millis() as i64;
    let invitation = Invitation {
        expires_at,
        ..template
    };
    let created = state
        .db(move |s| s.create_invitation(&hash, &invitation, &audit))
        .await?;
    if !created {
        return Err(INVITATION_EXISTS);
    }
    Ok((code, expires_at))
}

/// `GET /api/me`.
pub(crate) async fn me(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    audited(&state, &caller, "me", None, Ok(())).await?;
    Ok(Json(json!({
        "userId": caller.device.user_id,
        "deviceId": caller.device.device_id,
        "role": caller.device.role.as_str(),
    })))
}

/// `POST /api/devices/{id}/revoke`: a clinician revokes a device of a user
/// they share a conversation with, or their own ("lost phone"). The token
/// stops working at once, the device's prekeys are withdrawn and the
/// envelopes queued for it are deleted.
pub(crate) async fn revoke(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    PathId(device_id): PathId,
) -> Result<Json<Value>, ApiError> {
    let outcome = async {
        if caller.device.role != Role::Clinician {
            return Err(ApiError::FORBIDDEN);
        }
        require_listed(&state, &caller).await?;
        visible_device_owner(&state, &caller, &device_id).await?;
        let id = device_id.clone();
        let record = change_record(&caller, "revoke_device", Some(&device_id));
        state
            .db(move |s| s.revoke_device(&id, now_ms(), &record))
            .await?;
        Ok(())
    }
    .await;
    audited_change(&state, &caller, "revoke_device", Some(device_id), outcome).await?;
    Ok(Json(json!({ "revoked": true })))
}
