//! Bearer-token authentication. Tokens are random 256-bit values; the
//! database keeps only their SHA-256. A missing, unknown or revoked token is
//! 401 and an audit record; repeated failures from one address raise an
//! `auth_failures_flagged` record of their own.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::error::ApiError;
use crate::ids;
use crate::state::AppState;
use crate::store::DeviceAuth;

/// An authenticated, rate-limited caller.
pub struct Caller {
    /// The device and user.
    pub device: DeviceAuth,
    /// Remote address.
    pub ip: std::net::IpAddr,
}

/// The remote address of a request.
pub fn remote_ip(parts: &Parts) -> std::net::IpAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]))
}

/// Looks up a token; audits and counts failures.
pub async fn authenticate(
    state: &Arc<AppState>,
    token: Option<&str>,
    ip: std::net::IpAddr,
) -> Result<DeviceAuth, ApiError> {
    let found = match token {
        Some(token) if !token.is_empty() && token.len() <= 128 => {
            let hash = ids::secret_hash(token);
            state.db(move |s| s.device_by_token(&hash)).await?
        }
        _ => None,
    };
    match found {
        Some((device, false)) => {
            if state.rate.allow(&ids::secret_hash(&device.device_id)) {
                Ok(device)
            } else {
                state
                    .audit(
                        Some(&device),
                        ip,
                        "rate_limited",
                        None,
                        Err(ApiError::RATE_LIMITED),
                    )
                    .await?;
                Err(ApiError::RATE_LIMITED)
            }
        }
        Some((device, true)) => {
            state
                .audit(
                    Some(&device),
                    ip,
                    "auth_failed",
                    Some("revoked device".into()),
                    Err(ApiError::UNAUTHORIZED),
                )
                .await?;
            Err(ApiError::UNAUTHORIZED)
        }
        None => {
            state
                .audit(None, ip, "auth_failed", None, Err(ApiError::UNAUTHORIZED))
                .await?;
            if state.failures.record(ip) {
                state
                    .audit(
                        None,
                        ip,
                        "auth_failures_flagged",
                        Some(ip.to_string()),
                        Err(ApiError::UNAUTHORIZED),
                    )
                    .await?;
            }
            Err(ApiError::UNAUTHORIZED)
        }
    }
}

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let ip = remote_ip(parts);
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let device = authenticate(state, token, ip).await?;
        Ok(Caller { device, ip })
    }
}
