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

/// Most conversations one page of `GET /api/conversations?limit=N` holds.
pub const MAX_CONVERSATION_PAGE: usize = 500;

/// Conversations in a page of `GET /api/conversations` without `limit`:
/// every list is paged, so no call costs more than one page.
pub const DEFAULT_CONVERSATION_PAGE: usize = 100;

/// Most one-time prekeys a device may store on the relay.
pub const MAX_STORED_ONE_TIME_PREKEYS: usize = 200;

/// Longest display name, in bytes.
pub const MAX_DISPLAY_NAME: usize = 80;

/// Per-token rate limit: sustained requests per second.
pub const RATE_PER_SECOND: f64 = 50.0;

/// Per-token rate limit: burst size.
pub const RATE_BURST: f64 = 200.0;

/// Failed authentications from one address within `AUTH_FAILURE_WINDOW`
/// that raise an `auth_failures_flagged` audit event (and again at twice,
/// four times, … as many, each record carrying the count).
pub const AUTH_FAILURE_THRESHOLD: usize = 5;

/// The window for counting failed authentications.
pub const AUTH_FAILURE_WINDOW: Duration = Duration::from_secs(600);

/// How long a WebSocket client has to send its token.
pub const WS_AUTH_TIMEOUT: Duration = Duration::from_secs(10);

/// Default time a client has to send a complete request head, counted from
/// when the connection starts waiting for one — so it is also how long a
/// keep-alive connection may sit idle between requests (`--header-timeout`).
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Default longest pause between two pieces of a request body
/// (`--body-timeout`).
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// Default longest time for any request but an upload, body included
/// (`--request-timeout`).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Default longest time for an upload, body included (`--upload-timeout`):
/// 64 MiB at 256 KiB/s.
pub const DEFAULT_UPLOAD_TIMEOUT: Duration = Duration::from_secs(256);

/// Default time requests in flight get to finish after SIGTERM before their
/// connections are closed (`--shutdown-timeout`).
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the process waits, after the connections are gone, for storage
/// calls already running to return (each is one short transaction).
pub const STORAGE_DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Default bytes of blobs one user may store (`--quota-bytes`): 1 GiB.
pub const DEFAULT_QUOTA_BYTES: u64 = 1024 * 1024 * 1024;

/// Default bytes of upload bodies held in memory at once, over all uploads
/// (`--upload-memory`): 128 MiB, two uploads of the largest size. Writes are
/// serialized, so SQLite's copy of the blob being written adds at most one
/// more `--max-blob`.
pub const DEFAULT_UPLOAD_MEMORY: usize = 128 * 1024 * 1024;

/// How long an upload waits for its share of `--upload-memory` before it is
/// refused with 503 `server_busy`.
pub const DEFAULT_UPLOAD_WAIT: Duration = Duration::from_secs(10);

/// Default one-time prekeys one device may take from another device's bundle
/// per `--prekey-window` (`--prekey-handouts`); further fetches get the
/// bundle without one.
pub const DEFAULT_PREKEY_HANDOUTS: u32 = 3;

/// Default window for `--prekey-handouts`: one hour.
pub const DEFAULT_PREKEY_WINDOW: Duration = Duration::from_secs(3600);

/// Requests per second one address may make to the unauthenticated
/// endpoints (registration, the demo invitation), sustained
/// (`--unauth-rate`).
pub const DEFAULT_UNAUTH_RATE: f64 = 5.0;

/// Burst of requests one address may make to the unauthenticated endpoints.
pub const UNAUTH_BURST: f64 = 50.0;

/// Failed authentications (missing, unknown or revoked tokens; unknown,
/// used or expired invitations) one address may make in a burst; after that
/// its failed tokens get 429 instead of 401 and its registrations 429, until
/// the budget refills.
pub const AUTH_FAILURE_BUDGET: f64 = 20.0;

/// How fast the failure budget refills: one attempt every 30 seconds.
pub const AUTH_FAILURE_REFILL_PER_SECOND: f64 = 1.0 / 30.0;

/// Failed authentications the whole relay answers with 401 (and one audit
/// record each) in a burst, over all addresses; past it, until it refills,
/// every failure is 429 and only counted ([`REFUSAL_WINDOW`]). A client
/// holding many addresses gets no more records written than this.
pub const AUTH_FAILURE_BUDGET_ALL: f64 = 200.0;

/// How fast the relay-wide failure budget refills: 2 per second.
pub const AUTH_FAILURE_REFILL_ALL_PER_SECOND: f64 = 2.0;

/// Records of rejected requests (unknown routes, wrong methods, requests
/// refused before their handler) one address may cause per second, and in
/// a burst; past that they are counted, not recorded one by one.
pub const REJECTED_RATE: f64 = 5.0;

/// Burst of [`REJECTED_RATE`].
pub const REJECTED_BURST: f64 = 50.0;

/// Records of rejected requests the whole relay writes per second, and in
/// a burst, over all addresses.
pub const REJECTED_RATE_ALL: f64 = 50.0;

/// Burst of [`REJECTED_RATE_ALL`].
pub const REJECTED_BURST_ALL: f64 = 500.0;

/// Refusals that are counted rather than recorded one by one (throttled
/// authentications, rate-limited calls, refused connections) are written
/// as one audit record per address and kind for each window this long.
pub const REFUSAL_WINDOW: Duration = Duration::from_secs(60);

/// Default most open connections (`--max-connections`); past it the relay
/// stops accepting until one closes (the kernel's backlog holds the rest).
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// Default most open connections from one address, or IPv6 /64
/// (`--max-connections-per-address`); past it a new connection is closed at
/// once. Connections from a `--trusted-proxy` are not counted against it.
pub const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS: usize = 64;

/// Default bytes of blobs held in memory for downloads at once, over all
/// downloads (`--download-memory`): 128 MiB.
pub const DEFAULT_DOWNLOAD_MEMORY: usize = 128 * 1024 * 1024;

/// The piece of a blob sent at a time; a download whose client takes none
/// for `--body-timeout` is cut off, releasing its memory.
pub const DOWNLOAD_CHUNK: usize = 64 * 1024;

/// Most addresses (IPv6: /64 networks) any per-address map tracks at once;
/// when full, settled entries are dropped first, then the stalest.
pub const MAX_TRACKED_ADDRESSES: usize = 10_000;

/// Most devices the per-token rate limiter tracks at once.
pub const MAX_TRACKED_DEVICES: usize = 100_000;

/// Most (requester, target) pairs the prekey hand-out limiter tracks.
pub const MAX_TRACKED_PREKEY_PAIRS: usize = 100_000;

/// Longest identifier the relay accepts (ids, invitation codes).
pub const MAX_ID_LEN: usize = 64;

/// How long a device invitation made for linking stays redeemable: the
/// life of a link offer (`PROTOCOL.md` §8.6, `LINK_OFFER_TTL_MS`).
pub const LINK_INVITATION_TTL: Duration =
    Duration::from_millis(careseal::linking::LINK_OFFER_TTL_MS);

/// How long the relay keeps a link message: twice an offer's life, then it
/// is deleted (on the next post) and no longer served.
pub const LINK_MESSAGE_RETENTION: Duration = Duration::from_secs(600);

/// Most messages one link exchange may hold: the exchange has four, and a
/// retry or two fit.
pub const MAX_LINK_MESSAGES_PER_OFFER: usize = 8;

/// Largest link message, decoded: the payload message carries the user
/// identity, pins and conversation list (`MAX_LINK_PAYLOAD_LEN` is larger,
/// but a payload through this relay must also fit `MAX_JSON_BODY` as
/// base64).
pub const MAX_LINK_MESSAGE_LEN: usize = 512 * 1024;
