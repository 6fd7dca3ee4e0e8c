//! Limits and defaults of the relay, each in one place.

use std::time::Duration;

/// Largest JSON request body: 1 MiB (a session message is at most about
/// 66 KiB, 90 KiB as base64).
pub const MAX_JSON_BODY: usize = 1024 * 1024;

/// Default largest attachment blob: 64 MiB (configurable with `--max-blob`).
pub const DEFAULT_MAX_BLOB: usize = 64 * 1024 * 1024;

/// How long an invitation stays valid by default: 72 hours.
pub const DEFAULT_INVITATION_TTL: Duration = Duration::from_secs(72 * 3600);

/// Most envelopes one mailbox fetch returns.
pub const MAILBOX_PAGE: usize = 200;

/// Most one-time prekeys a device may store on the relay.
pub const MAX_STORED_ONE_TIME_PREKEYS: usize = 200;

/// Longest display name, in bytes.
pub const MAX_DISPLAY_NAME: usize = 80;

/// Per-token rate limit: sustained requests per second.
pub const RATE_PER_SECOND: f64 = 50.0;

/// Per-token rate limit: burst size.
pub const RATE_BURST: f64 = 200.0;

/// Failed authentications from one address within `AUTH_FAILURE_WINDOW`
/// that raise an `auth_failures_flagged` audit event.
pub const AUTH_FAILURE_THRESHOLD: usize = 5;

/// The window for counting failed authentications.
pub const AUTH_FAILURE_WINDOW: Duration = Duration::from_secs(600);

/// How long a WebSocket client has to send its token.
pub const WS_AUTH_TIMEOUT: Duration = Duration::from_secs(10);
