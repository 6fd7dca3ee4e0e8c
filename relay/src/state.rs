//! Shared state of a running relay.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::broadcast;

use crate::config::{DEFAULT_INVITATION_TTL, DEFAULT_MAX_BLOB};
use crate::error::ApiError;
use crate::rate::{FailureTracker, RateLimiter};
use crate::store::{AuditRecord, DeviceAuth, Store, StoreError};

/// Relay settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Largest blob accepted.
    pub max_blob: usize,
    /// Default invitation lifetime.
    pub invitation_ttl: Duration,
    /// Whether the demo endpoints (self-service clinician invitations) are on.
    pub demo: bool,
    /// Directory served at `/` (the portal), if any.
    pub www: Option<PathBuf>,
    /// Directory served at `/pkg/` (the built npm package), if any.
    pub pkg: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_blob: DEFAULT_MAX_BLOB,
            invitation_ttl: DEFAULT_INVITATION_TTL,
            demo: false,
            www: None,
            pkg: None,
        }
    }
}

/// Everything handlers share.
pub struct AppState {
    /// Storage.
    pub store: Arc<dyn Store>,
    /// Settings.
    pub config: Config,
    /// Per-token rate limits.
    pub rate: RateLimiter,
    /// Failed authentications per address.
    pub failures: FailureTracker,
    /// Device ids with new mail, for the event channel.
    pub mail: broadcast::Sender<String>,
}

impl AppState {
    /// New state over a store.
    pub fn new(store: Arc<dyn Store>, config: Config) -> Self {
        let (mail, _) = broadcast::channel(1024);
        Self {
            store,
            config,
            rate: RateLimiter::default(),
            failures: FailureTracker::default(),
            mail,
        }
    }

    /// Runs a storage call off the async threads.
    pub async fn db<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let state = Arc::clone(self);
        tokio::task::spawn_blocking(move || f(state.store.as_ref()))
            .await
            .map_err(|_| ApiError::INTERNAL)?
            .map_err(ApiError::from)
    }

    /// Appends an audit record (who, what, target, from where, outcome).
    pub async fn audit(
        self: &Arc<Self>,
        who: Option<&DeviceAuth>,
        ip: IpAddr,
        action: &str,
        target: Option<String>,
        outcome: Result<(), ApiError>,
    ) -> Result<(), ApiError> {
        let record = AuditRecord {
            at: now_ms(),
            user_id: who.map(|w| w.user_id.clone()),
            device_id: who.map(|w| w.device_id.clone()),
            role: who.map(|w| w.role.as_str().to_string()),
            action: action.to_string(),
            target,
            ip: ip.to_string(),
            outcome: match outcome {
                Ok(()) => "ok".to_string(),
                Err(e) => e.code.to_string(),
            },
        };
        self.db(move |s| s.append_audit(&record)).await
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
