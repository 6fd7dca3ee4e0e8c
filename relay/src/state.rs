//! Shared state of a running relay.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore, broadcast, watch};

use crate::audit;
use crate::config::{
    AUTH_FAILURE_BUDGET, AUTH_FAILURE_BUDGET_ALL, AUTH_FAILURE_REFILL_ALL_PER_SECOND,
    AUTH_FAILURE_REFILL_PER_SECOND, DEFAULT_BODY_TIMEOUT, DEFAULT_DOWNLOAD_MEMORY,
    DEFAULT_HEADER_TIMEOUT, DEFAULT_INVITATION_TTL, DEFAULT_MAX_BLOB, DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_CONNECTIONS_PER_ADDRESS, DEFAULT_PREKEY_HANDOUTS, DEFAULT_PREKEY_WINDOW,
    DEFAULT_QUOTA_BYTES, DEFAULT_REQUEST_TIMEOUT, DEFAULT_SHUTDOWN_TIMEOUT, DEFAULT_UNAUTH_RATE,
    DEFAULT_UPLOAD_MEMORY, DEFAULT_UPLOAD_TIMEOUT, DEFAULT_UPLOAD_WAIT, MAX_TRACKED_ADDRESSES,
    MAX_TRACKED_PREKEY_PAIRS, REJECTED_BURST, REJECTED_BURST_ALL, REJECTED_RATE, REJECTED_RATE_ALL,
    UNAUTH_BURST, WS_AUTH_TIMEOUT,
};
use crate::error::ApiError;
use crate::rate::address_key;
use crate::rate::{Buckets, FailureTracker, RateLimiter};
use crate::refusals::{RefusalKind, Refusals};
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
    /// How long a WebSocket client has to send its token.
    pub ws_auth_timeout: Duration,
    /// How long clients get for each part of a request, and the server for
    /// shutting down.
    pub timeouts: Timeouts,
    /// Bytes of blobs one user may store.
    pub quota_bytes: u64,
    /// Bytes of upload bodies held in memory at once, over all uploads.
    pub upload_memory: usize,
    /// How long an upload waits for its share of `upload_memory`.
    pub upload_wait: Duration,
    /// One-time prekeys one device may take from another per `prekey_window`.
    pub prekey_handouts: u32,
    /// The window of `prekey_handouts`.
    pub prekey_window: Duration,
    /// Requests per second one address may make to the unauthenticated
    /// endpoints.
    pub unauth_rate: f64,
    /// Bytes of blobs held in memory for downloads at once.
    pub download_memory: usize,
    /// Most open connections.
    pub max_connections: usize,
    /// Most open connections from one address (IPv6: /64), not counting
    /// trusted proxies.
    pub max_connections_per_address: usize,
    /// Reverse proxies whose `X-Forwarded-For` names the client
    /// (`--trusted-proxy`); from any other peer the header is ignored.
    pub trusted_proxies: Vec<IpAddr>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_blob: DEFAULT_MAX_BLOB,
            invitation_ttl: DEFAULT_INVITATION_TTL,
            demo: false,
            www: None,
            pkg: None,
            ws_auth_timeout: WS_AUTH_TIMEOUT,
            timeouts: Timeouts::default(),
            quota_bytes: DEFAULT_QUOTA_BYTES,
            upload_memory: DEFAULT_UPLOAD_MEMORY,
            upload_wait: DEFAULT_UPLOAD_WAIT,
            prekey_handouts: DEFAULT_PREKEY_HANDOUTS,
            prekey_window: DEFAULT_PREKEY_WINDOW,
            unauth_rate: DEFAULT_UNAUTH_RATE,
            download_memory: DEFAULT_DOWNLOAD_MEMORY,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_connections_per_address: DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
            trusted_proxies: Vec::new(),
        }
    }
}

/// Timeouts of a running relay (see `docs/RELAY.md`, "Limits and timeouts").
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// For a complete request head, counted from when the connection starts
    /// waiting for one (so also the keep-alive idle time).
    pub header: Duration,
    /// Longest pause between two pieces of a request body.
    pub body: Duration,
    /// Longest time for any request but an upload.
    pub request: Duration,
    /// Longest time for an upload.
    pub upload: Duration,
    /// After the shutdown signal, how long requests in flight get to finish.
    pub shutdown: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            header: DEFAULT_HEADER_TIMEOUT,
            body: DEFAULT_BODY_TIMEOUT,
            request: DEFAULT_REQUEST_TIMEOUT,
            upload: DEFAULT_UPLOAD_TIMEOUT,
            shutdown: DEFAULT_SHUTDOWN_TIMEOUT,
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
    /// Failed authentications per address, for the audit flags.
    pub failures: FailureTracker,
    /// Failed authentications per address, for throttling: when an address
    /// has spent its budget, its failed attempts get 429.
    pub failure_budget: Buckets<IpAddr>,
    /// Failed authentications over all addresses: when spent, every failed
    /// attempt gets 429 and is counted, not recorded one by one.
    pub failure_budget_all: Buckets<()>,
    /// Refusals counted, not recorded one by one; written as summaries.
    pub refusals: Refusals,
    /// Records of rejected requests per address.
    pub rejected: Buckets<IpAddr>,
    /// Records of rejected requests over all addresses.
    pub rejected_all: Buckets<()>,
    /// Requests per address to the unauthenticated endpoints.
    pub unauthenticated: Buckets<IpAddr>,
    /// One-time prekeys handed out per (requesting device, target device).
    pub prekey_handouts: Buckets<(String, String)>,
    /// Upload bodies in memory, in KiB.
    uploads: Arc<Semaphore>,
    /// Blobs in memory for downloads, in KiB.
    downloads: Arc<Semaphore>,
    /// Held from a user's quota check to the write of their blob, so two
    /// uploads cannot both fit in the same remaining space.
    pub quota: Mutex<()>,
    /// Device ids with new mail, for the event channel.
    pub mail: broadcast::Sender<String>,
    /// Becomes true when the relay starts shutting down: event WebSockets
    /// (which outlive the connection loop once upgraded) close on it.
    pub closing: watch::Sender<bool>,
}

impl AppState {
    /// New state over a store.
    pub fn new(store: Arc<dyn Store>, config: Config) -> Self {
        let (mail, _) = broadcast::channel(1024);
        let prekey_handouts = Buckets::per_window(
            config.prekey_handouts,
            config.prekey_window,
            MAX_TRACKED_PREKEY_PAIRS,
        );
        let unauthenticated = Buckets::new(config.unauth_rate, UNAUTH_BURST, MAX_TRACKED_ADDRESSES);
        let uploads = Arc::new(Semaphore::new(kib(config.upload_memory) as usize));
        let downloads = Arc::new(Semaphore::new(kib(config.download_memory) as usize));
        Self {
            store,
            config,
            rate: RateLimiter::default(),
            failures: FailureTracker::default(),
            failure_budget: Buckets::new(
                AUTH_FAILURE_REFILL_PER_SECOND,
                AUTH_FAILURE_BUDGET,
                MAX_TRACKED_ADDRESSES,
            ),
            failure_budget_all: Buckets::new(
                AUTH_FAILURE_REFILL_ALL_PER_SECOND,
                AUTH_FAILURE_BUDGET_ALL,
                1,
            ),
            refusals: Refusals::default(),
            rejected: Buckets::new(REJECTED_RATE, REJECTED_BURST, MAX_TRACKED_ADDRESSES),
            rejected_all: Buckets::new(REJECTED_RATE_ALL, REJECTED_BURST_ALL, 1),
            unauthenticated,
            prekey_handouts,
            uploads,
            downloads,
            quota: Mutex::new(()),
            mail,
            closing: watch::channel(false).0,
        }
    }

    /// Reserves `bytes` (at most all) of the upload memory for as long as the
    /// permit lives; 503 `server_busy` if it is not free within
    /// `upload_wait`.
    pub async fn upload_memory(&self, bytes: u64) -> Result<OwnedSemaphorePermit, ApiError> {
        self.reserve(&self.uploads, self.config.upload_memory, bytes)
            .await
    }

    /// Reserves `bytes` (at most all) of the download memory, as
    /// [`Self::upload_memory`] does for uploads.
    pub async fn download_memory(&self, bytes: u64) -> Result<OwnedSemaphorePermit, ApiError> {
        self.reserve(&self.downloads, self.config.download_memory, bytes)
            .await
    }

    async fn reserve(
        &self,
        pool: &Arc<Semaphore>,
        size: usize,
        bytes: u64,
    ) -> Result<OwnedSemaphorePermit, ApiError> {
        let total = kib(size);
        let wanted = kib(bytes.try_into().unwrap_or(usize::MAX)).clamp(1, total.max(1));
        let permit = Arc::clone(pool).acquire_many_owned(wanted);
        match tokio::time::timeout(self.config.upload_wait, permit).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(ApiError::BUSY),
        }
    }

    /// Whether a rejected request from `ip` may have its own audit record:
    /// false past the per-address or relay-wide rate, when it is counted
    /// as a [`RefusalKind::Rejected`] refusal instead.
    pub fn may_record_rejection(&self, ip: IpAddr) -> bool {
        if !self.rejected.allow(&address_key(ip)) {
            self.refusals.count(RefusalKind::Rejected, ip, None);
            false
        } else if !self.rejected_all.allow(&()) {
            self.refusals.count_unattributed(RefusalKind::Rejected);
            false
        } else {
            true
        }
    }

    /// Writes one record per counted refusal whose window has ended
    /// ([`Refusals`]), all in one transaction; with `all`, every count (at
    /// shutdown). If the write fails, the counts are put back for the next
    /// attempt, so none is lost while the relay runs.
    pub async fn write_refusals(self: &Arc<Self>, all: bool) -> Result<(), ApiError> {
        let summaries = if all {
            self.refusals.take_all()
        } else {
            self.refusals.take_ended()
        };
        if summaries.is_empty() {
            return Ok(());
        }
        let window = self.refusals.window().as_secs();
        let records: Vec<AuditRecord> = summaries
            .iter()
            .map(|summary| {
                let mut record = audit::record(
                    None,
                    summary.key.ip,
                    summary.key.kind.action(),
                    summary.key.device.as_deref(),
                    Err(ApiError::RATE_LIMITED),
                );
                record.outcome = format!("refused={} window={window}s", summary.count);
                record
            })
            .collect();
        let written = self.db(move |s| s.append_audit_batch(&records)).await;
        if written.is_err() {
            self.refusals.restore(summaries);
        }
        written
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

    /// Appends an audit record (who, what, target, from where, outcome) on
    /// its own, for what changes nothing else; a change is audited in its
    /// own transaction (see [`Store`]). A target that is not an id the relay
    /// issued is left out ([`audit::record`]).
    pub async fn audit(
        self: &Arc<Self>,
        who: Option<&DeviceAuth>,
        ip: IpAddr,
        action: &str,
        target: Option<String>,
        outcome: Result<(), ApiError>,
    ) -> Result<(), ApiError> {
        let record: AuditRecord = audit::record(who, ip, action, target.as_deref(), outcome);
        self.append_audit(record).await
    }

    /// Appends a record the relay built itself, on its own (for
    /// `auth_failures_flagged`, whose outcome carries the failure count).
    pub async fn append_audit(self: &Arc<Self>, record: AuditRecord) -> Result<(), ApiError> {
        self.db(move |s| s.append_audit(&record)).await?;
        audit::coverage::recorded();
        Ok(())
    }
}

/// Bytes to whole KiB, rounded up (the unit of the upload semaphore).
fn kib(bytes: usize) -> u32 {
    u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX)
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
