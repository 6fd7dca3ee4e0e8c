//! The connection caps, the header timeout, the audit log's summaries and
//! trusted proxies against the attacks of the adversarial review of issue
//! 10: silent connections, upgraded WebSockets, floods of unknown routes,
//! forged and non-text `X-Forwarded-For` lines, idle keep-alive connections,
//! failures from many addresses, and a summary write that fails.

mod support;

use std::time::Duration;

use careseal_relay::state::{Config, Timeouts};
use reqwest::StatusCode;
use support::*;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Whether the server has closed `stream` within `limit` (reads and
/// discards anything sent).
async fn closed_within(stream: &mut tokio::net::TcpStream, limit: Duration) -> bool {
    read_until_closed(stream, limit).await.1
}

/// R1: a connection that sends nothing (or a prefix of the HTTP/2
/// preface) is never cut off by --header-timeout: hyper-util's auto
/// builder reads the protocol version with no timer. Such connections hold
/// a per-address and a global slot forever.
#[tokio::test]
async fn silent_connections_are_closed_by_the_header_timeout() {
    let config = Config {
        demo: true,
        max_connections_per_address: 2,
        timeouts: Timeouts {
            header: Duration::from_secs(1),
            ..Timeouts::default()
        },
        ..Config::default()
    };
    let relay = Relay::start_with(temp_db("review-silent"), config).await;
    let mut silent = raw_connection(&relay.url).await;
    let mut preface = raw_connection(&relay.url).await;
    preface.write_all(b"PRI * HTTP/2.0\r\n").await.unwrap();
    // Three header timeouts later, both should be gone...
    let silent_closed = closed_within(&mut silent, Duration::from_secs(3)).await;
    let preface_closed = closed_within(&mut preface, Duration::from_secs(1)).await;
    // ...and this address should be able to connect again.
    let mut probe = raw_connection(&relay.url).await;
    probe
        .write_all(b"GET /api/me HTTP/1.1\r\nHost: relay\r\n\r\n")
        .await
        .unwrap();
    let served = read_response_head(&mut probe, Duration::from_secs(2)).await;
    relay.stop().await;
    assert!(
        silent_closed && preface_closed && served.is_some(),
        "silent closed: {silent_closed}, preface closed: {preface_closed}, \
         address locked out: {}",
        served.is_none()
    );
}

const UPGRADE: &str = "GET /api/events HTTP/1.1\r\nHost: relay\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// R2: an upgraded WebSocket leaves the connection task, which drops its
/// global slot and its per-address guard: WebSockets are not capped.
#[tokio::test]
async fn websockets_count_against_the_connection_caps() {
    let config = Config {
        demo: true,
        max_connections: 4,
        max_connections_per_address: 2,
        ws_auth_timeout: Duration::from_secs(30),
        ..Config::default()
    };
    let relay = Relay::start_with(temp_db("review-ws-caps"), config).await;
    let mut sockets = Vec::new();
    for _ in 0..10 {
        let mut s = raw_connection(&relay.url).await;
        s.write_all(UPGRADE.as_bytes()).await.unwrap();
        if let Some(head) = read_response_head(&mut s, Duration::from_secs(2)).await
            && head.starts_with("HTTP/1.1 101")
        {
            sockets.push(s);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut open = 0;
    for s in &mut sockets {
        let mut b = [0u8; 16];
        if tokio::time::timeout(Duration::from_millis(100), s.read(&mut b))
            .await
            .is_err()
        {
            open += 1; // still open and silent
        }
    }
    relay.stop().await;
    assert!(
        open <= 2,
        "{open} upgraded WebSockets open from one address (cap 2, global cap 4)"
    );
}

/// R3: unknown routes (and wrong methods) are neither throttled nor
/// summarised: each costs one synced audit write, so the flood the last
/// review found is still open through any path under /api.
#[tokio::test]
async fn a_flood_of_unknown_routes_is_summarised_not_written_one_by_one() {
    let db = temp_db("review-unknown-flood");
    let relay = Relay::start(db.clone()).await;
    let c = client();
    let mut throttled = 0;
    for i in 0..300 {
        let r = c
            .get(format!("{}/api/nothing-{}", relay.url, i % 3))
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            throttled += 1;
        }
    }
    relay.stop().await;
    let rows = audit_rows(&db, "unknown_route").len();
    assert!(
        rows < 300,
        "{rows} synced unknown_route records for one address ({throttled} throttled)"
    );
}

/// R4: RFC 9110 says repeated header fields are one comma-joined list. A
/// proxy that appends its own `X-Forwarded-For` line (HAProxy
/// `option forwardfor`, ...) leaves the client's forged line first, and
/// `HeaderMap::get` returns the first.
#[tokio::test]
async fn a_forged_first_forwarded_for_line_is_not_believed() {
    let db = temp_db("review-xff-lines");
    let config = Config {
        demo: true,
        trusted_proxies: vec![std::net::IpAddr::from([127, 0, 0, 1])],
        ..Config::default()
    };
    let relay = Relay::start_with(db.clone(), config).await;
    let mut s = raw_connection(&relay.url).await;
    s.write_all(
        b"GET /api/me HTTP/1.1\r\nHost: relay\r\nAuthorization: Bearer wrong\r\n\
          X-Forwarded-For: 203.0.113.66\r\n\
          X-Forwarded-For: 198.51.100.7\r\n\r\n",
    )
    .await
    .unwrap();
    let head = read_response_head(&mut s, Duration::from_secs(3))
        .await
        .unwrap();
    assert!(head.starts_with("HTTP/1.1 401"), "{head}");
    drop(s);
    relay.stop().await;
    assert_eq!(
        audit_rows(&db, "auth_failed"),
        [("198.51.100.7".to_string(), "unauthorized".to_string())]
    );
}

/// R5: a keep-alive connection that goes idle after a normal request, and
/// a pre-connected socket that never sends, are not "refused" — yet the
/// audit log summarises them as `connection_refused` ("none of these ever
/// reached the API").
#[tokio::test]
async fn idle_keep_alive_is_not_a_refused_connection() {
    let db = temp_db("review-idle-refused");
    let config = Config {
        demo: true,
        timeouts: Timeouts {
            header: Duration::from_secs(1),
            ..Timeouts::default()
        },
        ..Config::default()
    };
    let relay = Relay::start_with(db.clone(), config).await;
    let mut s = raw_connection(&relay.url).await;
    s.write_all(b"GET /api/me HTTP/1.1\r\nHost: relay\r\n\r\n")
        .await
        .unwrap();
    let head = read_response_head(&mut s, Duration::from_secs(3))
        .await
        .unwrap();
    assert!(head.starts_with("HTTP/1.1 401"), "{head}");
    let closed = closed_within(&mut s, Duration::from_secs(3)).await;
    relay.stop().await;
    let rows = audit_rows(&db, "connection_refused");
    assert!(closed, "idle keep-alive not closed");
    assert!(rows.is_empty(), "{rows:?}");
}

#[tokio::test]
async fn a_non_ascii_forwarded_entry_does_not_hide_the_client() {
    let db = temp_db("review-xff-bytes");
    let config = Config {
        demo: true,
        trusted_proxies: vec![std::net::IpAddr::from([127, 0, 0, 1])],
        ..Config::default()
    };
    let relay = Relay::start_with(db.clone(), config).await;
    let mut s = raw_connection(&relay.url).await;
    // What nginx's $proxy_add_x_forwarded_for makes of a client's "\xff".
    s.write_all(
        b"GET /api/me HTTP/1.1\r\nHost: relay\r\nAuthorization: Bearer wrong\r\n\
          X-Forwarded-For: \xff, 198.51.100.7\r\n\r\n",
    )
    .await
    .unwrap();
    let head = read_response_head(&mut s, Duration::from_secs(3))
        .await
        .unwrap();
    assert!(head.starts_with("HTTP/1.1 401"), "{head}");
    drop(s);
    relay.stop().await;
    assert_eq!(
        audit_rows(&db, "auth_failed"),
        [("198.51.100.7".to_string(), "unauthorized".to_string())]
    );
}

/// R7: docs/RELAY.md: "a client spreading its failures over many addresses
/// ... gets no more answers, and no more audit records, than that [the
/// relay-wide budget]". Past the budget each new address still costs its
/// own synced summary record: one failure from each of 300 addresses is
/// still about 300 records.
#[tokio::test]
async fn failures_from_many_addresses_cost_no_more_records_than_the_budget() {
    let db = temp_db("review-many-summaries");
    let relay = Relay::start(db.clone()).await;
    let started = std::time::Instant::now();
    for n in 0..300u32 {
        let [_, _, b, c] = (n + 256).to_be_bytes();
        let client = client_from([127, 0, b, c]);
        let _ = client
            .get(format!("{}/api/me", relay.url))
            .bearer_auth("wrong")
            .send()
            .await
            .unwrap();
    }
    let refill = (started.elapsed().as_secs_f64() * 2.0).ceil() as usize + 1;
    relay.stop().await;
    let records = audit_rows(&db, "auth_failed").len() + audit_rows(&db, "auth_throttled").len();
    assert!(
        records <= 200 + refill + 4,
        "{records} records for 300 failures (budget 200 + {refill})"
    );
}

/// R8: a summary write that fails (busy, disk full) loses that summary and
/// every one after it: they were removed from the map before writing and
/// are not put back. The same happens when `Relay::serve` aborts the
/// summary task in the middle of a batch at shutdown.
#[tokio::test]
async fn a_failed_summary_write_loses_no_counts() {
    use careseal_relay::audit::keys::AuditKey;
    use careseal_relay::refusals::RefusalKind;
    use careseal_relay::sqlite::SqliteStore;
    use careseal_relay::state::AppState;
    use std::sync::Arc;
    let db = temp_db("review-summary-loss");
    let files = AuditFiles::beside(&db);
    let store =
        Arc::new(SqliteStore::open(&db, AuditKey::load(&files.audit_key).unwrap()).unwrap());
    let state = Arc::new(AppState::new(store, Config::default()));
    for host in 1..=3u8 {
        state
            .refusals
            .count(RefusalKind::AuthThrottled, [192, 0, 2, host].into(), None);
    }
    // Someone else holds the write lock for longer than the busy timeout.
    let other = rusqlite::Connection::open(&db).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let first = state.write_refusals(true).await;
    other.execute_batch("ROLLBACK").unwrap();
    assert!(first.is_err());
    state.write_refusals(true).await.unwrap();
    let rows = audit_rows(&db, "auth_throttled");
    assert_eq!(
        rows.len(),
        3,
        "summaries lost after one failed write: {rows:?}"
    );
}
