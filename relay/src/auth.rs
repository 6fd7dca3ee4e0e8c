//! Bearer-token authentication. Tokens are random 256-bit values; the
//! database keeps only their SHA-256. A missing, unknown or revoked token is
//! 401 and an audit record; repeated failures from one address raise an
//! `auth_failures_flagged` record of their own (with the count), and once an
//! address (or the relay as a whole) has spent its failure budget a failed
//! attempt gets 429 and is counted rather than recorded by itself
//! ([`crate::refusals`]). A valid token or invitation always works.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap};

use crate::audit::coverage;
use crate::config::AUTH_FAILURE_WINDOW;
use crate::error::ApiError;
use crate::refusals::RefusalKind;
use crate::state::AppState;
use crate::store::{AuditRecord, DeviceAuth};
use crate::{audit, ids, rate};

/// Longest bearer token looked up (issued tokens are 43 characters).
const MAX_TOKEN_LEN: usize = 128;

/// An authenticated, rate-limited caller.
pub struct Caller {
    /// The device and user.
    pub device: DeviceAuth,
    /// Remote address.
    pub ip: std::net::IpAddr,
}

/// The remote address of a request.
pub fn remote_ip(parts: &Parts) -> std::net::IpAddr {
    remote_ip_of(&parts.extensions)
}

/// The remote address of a request, from its extensions.
pub fn remote_ip_of(extensions: &Extensions) -> std::net::IpAddr {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]))
}

/// The bearer token of a request, if it sends one.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

/// The device a token belongs to, revoked or not, without auditing or
/// counting a failure: to say who sent a request that is audited as a whole
/// (an unknown route, a wrong method).
pub async fn identify(state: &Arc<AppState>, token: Option<&str>) -> Option<DeviceAuth> {
    let found = lookup(state, token).await.ok().flatten();
    found.map(|(device, _revoked)| device)
}

/// The device a token belongs to, and whether it is revoked.
async fn lookup(
    state: &Arc<AppState>,
    token: Option<&str>,
) -> Result<Option<(DeviceAuth, bool)>, ApiError> {
    match token {
        Some(token) if !token.is_empty() && token.len() <= MAX_TOKEN_LEN => {
            let hash = ids::secret_hash(token);
            state.db(move |s| s.device_by_token(&hash)).await
        }
        _ => Ok(None),
    }
}

/// Whose failure budget a failed authentication found spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// Neither: answer 401 and record it.
    Left,
    /// The address's.
    AddressSpent,
    /// The relay's, over all addresses.
    RelaySpent,
}

/// Spends one failed authentication of `ip`'s budget and of the relay's.
pub fn spend_failure(state: &AppState, ip: std::net::IpAddr) -> Budget {
    if !state.failure_budget.allow(&rate::address_key(ip)) {
        Budget::AddressSpent
    } else if !state.failure_budget_all.allow(&()) {
        Budget::RelaySpent
    } else {
        Budget::Left
    }
}

/// Answers a failed authentication or registration from `ip`: with budget
/// left, `error` and an audit record of `action`; without, 429 counted as
/// an [`RefusalKind::AuthThrottled`] refusal (one summary record per
/// window, not one per attempt) — under the address (and the revoked
/// device, if the token was one) when the address's budget is spent, under
/// the kind alone when the relay's is, so that failures spread over many
/// addresses cost one summary. Either way the failure counts towards the
/// `auth_failures_flagged` records.
pub async fn refuse_failed(
    state: &Arc<AppState>,
    who: Option<&DeviceAuth>,
    ip: std::net::IpAddr,
    action: &str,
    target: Option<String>,
    error: ApiError,
) -> ApiError {
    let answer = match spend_failure(state, ip) {
        Budget::Left => {
            if let Err(e) = state.audit(who, ip, action, target, Err(error)).await {
                return e;
            }
            error
        }
        Budget::AddressSpent => {
            // A revoked device's token keeps its name in the count.
            let device = who.map(|w| w.device_id.as_str());
            state.refusals.count(RefusalKind::AuthThrottled, ip, device);
            coverage::recorded();
            ApiError::RATE_LIMITED
        }
        Budget::RelaySpent => {
            state
                .refusals
                .count_unattributed(RefusalKind::AuthThrottled);
            coverage::recorded();
            ApiError::RATE_LIMITED
        }
    };
    match flag_failure(state, ip).await {
        Ok(()) => answer,
        Err(e) => e,
    }
}

/// Counts a failed authentication from `ip` and adds an
/// `auth_failures_flagged` record, its outcome the count
/// (`failures=20 window=600s`), when the count in the window reaches the
/// threshold and each time it doubles.
pub async fn flag_failure(state: &Arc<AppState>, ip: std::net::IpAddr) -> Result<(), ApiError> {
    if let Some(count) = state.failures.record(ip) {
        // The count goes in the outcome: the target is only ever an issued
        // id, and the address is the record's own.
        let record = AuditRecord {
            outcome: format!("failures={count} window={}s", AUTH_FAILURE_WINDOW.as_secs()),
            ..audit::record(
                None,
                ip,
                "auth_failures_flagged",
                None,
                Err(ApiError::UNAUTHORIZED),
            )
        };
        state.append_audit(record).await?;
    }
    Ok(())
}

/// Looks up a token; audits and counts failures. A valid token always
/// works (subject to its own rate limit, whose refusals are counted, not
/// recorded one by one); a missing, unknown or revoked one is 401, or 429
/// once its address, or the relay as a whole, has spent its failure budget.
pub async fn authenticate(
    state: &Arc<AppState>,
    token: Option<&str>,
    ip: std::net::IpAddr,
) -> Result<DeviceAuth, ApiError> {
    let (device, target) = match lookup(state, token).await? {
        Some((device, false)) => {
            if state.rate.allow(&ids::secret_hash(&device.device_id)) {
                return Ok(device);
            }
            state
                .refusals
                .count(RefusalKind::RateLimited, ip, Some(&device.device_id));
            coverage::recorded();
            return Err(ApiError::RATE_LIMITED);
        }
        Some((device, true)) => {
            let target = Some(device.device_id.clone());
            (Some(device), target)
        }
        None => (None, None),
    };
    Err(refuse_failed(
        state,
        device.as_ref(),
        ip,
        "auth_failed",
        target,
        ApiError::UNAUTHORIZED,
    )
    .await)
}

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let ip = remote_ip(parts);
        let token = bearer_token(&parts.headers);
        let device = authenticate(state, token, ip).await?;
        Ok(Caller { device, ip })
    }
}
