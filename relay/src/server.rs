//! The connection loop: HTTP/1.1 with hyper's header-read timer, caps on
//! open connections (in all and per address), the client's address from a
//! trusted proxy, and a shutdown with a deadline. After the shutdown signal
//! no connection is accepted, idle connections close at once and requests in
//! flight get `Timeouts::shutdown` to finish; whatever is still open then is
//! closed. Nothing acknowledged is lost that way: every write commits
//! (`synchronous = FULL`) before its response is sent, so a request cut off
//! was never answered, and its client retries.
//!
//! A connection refused by a cap, or closed because its request head was
//! late or not HTTP, never reaches the API; it is counted as a
//! [`RefusalKind::Connection`] refusal for the audit log's summaries.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tower::ServiceExt as _;

use crate::rate::address_key;
use crate::refusals::RefusalKind;
use crate::stall::WriteDeadline;
use crate::state::AppState;

/// Pause after a failed `accept` (for example when out of file
/// descriptors), so the loop does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// Serves `app` on `listener` until `shutdown` resolves, then shuts down
/// within the configured shutdown timeout. Settings and refusal counts are
/// `state`'s.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let timeouts = state.config.timeouts;
    let slots = Arc::new(Semaphore::new(state.config.max_connections.max(1)));
    let per_address = Arc::new(AddressCounts::default());
    let (closing, closing_seen) = watch::channel(());
    let mut connections = JoinSet::new();
    let mut shutdown = pin!(shutdown);
    loop {
        // Wait for a free slot before accepting: past the cap, new
        // connections wait in the kernel's backlog.
        let slot = tokio::select! {
            () = &mut shutdown => break,
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
        };
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, remote)) => {
                    let peer = remote.ip();
                    let proxied = state.config.trusted_proxies.contains(&peer);
                    let counted = if proxied {
                        None
                    } else {
                        match per_address.enter(peer, state.config.max_connections_per_address) {
                            Some(guard) => Some(guard),
                            None => {
                                state.refusals.count(RefusalKind::Connection, peer, None);
                                continue;
                            }
                        }
                    };
                    let state = Arc::clone(&state);
                    let app = app.clone();
                    let closing = closing_seen.clone();
                    connections.spawn(async move {
                        let held: Box<dyn Send + Sync> = Box::new((slot, counted));
                        connection(stream, held, remote, app, state, closing).await;
                    });
                }
                Err(_) => tokio::time::sleep(ACCEPT_ERROR_PAUSE).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let _ = closing.send(());
    state.closing.send_replace(true);
    let drained = tokio::time::timeout(timeouts.shutdown, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        eprintln!(
            "careseal-relay: shutdown deadline of {} s reached; closing {} connection(s)",
            timeouts.shutdown.as_secs_f64(),
            connections.len()
        );
        connections.shutdown().await;
    }
    Ok(())
}

/// Open connections per address (IPv6: /64).
#[derive(Default)]
struct AddressCounts(Mutex<HashMap<IpAddr, usize>>);

/// One open connection of an address; leaving lowers its count.
struct AddressGuard {
    counts: Arc<AddressCounts>,
    key: IpAddr,
}

impl AddressCounts {
    /// Counts a connection of `ip`, or None if it already has `limit`.
    fn enter(self: &Arc<Self>, ip: IpAddr, limit: usize) -> Option<AddressGuard> {
        let key = address_key(ip);
        let mut counts = self.0.lock().ok()?;
        let count = counts.entry(key).or_insert(0);
        if *count >= limit.max(1) {
            return None;
        }
        *count += 1;
        Some(AddressGuard {
            counts: Arc::clone(self),
            key,
        })
    }
}

impl Drop for AddressGuard {
    fn drop(&mut self) {
        if let Ok(mut counts) = self.counts.0.lock()
            && let Some(count) = counts.get_mut(&self.key)
        {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

/// The client's address: the peer's, or, when the peer is a trusted proxy,
/// the rightmost address in `X-Forwarded-For` that is not one (each proxy
/// appends the address it saw, so entries to its left are the client's own
/// claims). `forwarded` holds every `X-Forwarded-For` line in order, as
/// raw bytes: a proxy may add its own line after the client's, and one
/// entry that is not text must not hide the others. IPv4-mapped IPv6
/// addresses compare as IPv4. If the rightmost untrusted entry is
/// malformed, or there is none, the peer's address stands.
pub fn client_address(peer: IpAddr, forwarded: &[&[u8]], trusted: &[IpAddr]) -> IpAddr {
    let peer = peer.to_canonical();
    let is_trusted = |ip: IpAddr| trusted.iter().any(|t| t.to_canonical() == ip);
    if !is_trusted(peer) {
        return peer;
    }
    let entries = forwarded
        .iter()
        .rev()
        .flat_map(|line| line.rsplit(|b| *b == b','));
    for entry in entries {
        let parsed = std::str::from_utf8(entry)
            .ok()
            .and_then(|text| text.trim().parse::<IpAddr>().ok())
            .map(|ip| ip.to_canonical());
        match parsed {
            Some(ip) if is_trusted(ip) => continue,
            Some(ip) => return ip,
            None => return peer,
        }
    }
    peer
}

/// One connection: HTTP/1.1 (with upgrades, for the event WebSocket), the
/// client's address as `ConnectInfo`, writes that may not stall for longer
/// than the body timeout ([`WriteDeadline`]), and a graceful close when
/// `closing` changes. A connection that ends in a header timeout or a parse error is
/// counted as refused.
async fn connection(
    stream: TcpStream,
    held: Box<dyn Send + Sync>,
    remote: SocketAddr,
    app: Router,
    state: Arc<AppState>,
    mut closing: watch::Receiver<()>,
) {
    let _ = stream.set_nodelay(true);
    let trusted = state.config.trusted_proxies.clone();
    let service = app.map_request(move |mut request: Request<Incoming>| {
        let forwarded: Vec<&[u8]> = request
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .map(|v| v.as_bytes())
            .collect();
        let client = client_address(remote.ip(), &forwarded, &trusted);
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::new(client, remote.port())));
        request.map(Body::new)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(state.config.timeouts.header);
    let io = WriteDeadline::holding(stream, state.config.timeouts.body, held);
    let activity = io.activity();
    let mut served = pin!(
        builder
            .serve_connection(TokioIo::new(io), TowerToHyperService::new(service))
            .with_upgrades()
    );
    let mut closed = false;
    loop {
        tokio::select! {
            result = served.as_mut() => {
                if let Err(error) = result
                    && refused(&error)
                    && !activity.idle_after_answer()
                {
                    state.refusals.count(RefusalKind::Connection, remote.ip(), None);
                }
                return;
            }
            _ = closing.changed(), if !closed => {
                closed = true;
                served.as_mut().graceful_shutdown();
            }
        }
    }
}

/// Whether a connection error is the relay refusing the client (a late
/// request head, something that is not HTTP/1.1), not the client leaving.
fn refused(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(hyper) = error.downcast_ref::<hyper::Error>() {
            return hyper.is_timeout() || hyper.is_parse() || hyper.is_parse_too_large();
        }
        current = error.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let proxy = ip("10.0.0.1");
        let trusted = [proxy, ip("10.0.0.2")];
        let client = ip("203.0.113.7");
        let spoofed: &[&[u8]] = &[b"198.51.100.1, 203.0.113.7"];
        // Not a proxy: the header is the client's own claim.
        assert_eq!(client_address(client, spoofed, &trusted), client);
        // A proxy: the rightmost untrusted entry, not the leftmost.
        assert_eq!(client_address(proxy, spoofed, &trusted), client);
        assert_eq!(
            client_address(proxy, &[b"203.0.113.7, 10.0.0.2"], &trusted),
            client
        );
        // A forged first line, the proxy's own line after it: the proxy's
        // line counts.
        assert_eq!(
            client_address(proxy, &[b"203.0.113.66", b"203.0.113.7"], &trusted),
            client
        );
        // Bytes that are not text to the left do not hide the client.
        assert_eq!(
            client_address(proxy, &[b"\xff, 203.0.113.7"], &trusted),
            client
        );
        // An IPv4-mapped peer is the proxy it maps to.
        assert_eq!(
            client_address(ip("::ffff:10.0.0.1"), spoofed, &trusted),
            client
        );
        // Missing, malformed or all-proxy headers leave the proxy's own.
        assert_eq!(client_address(proxy, &[], &trusted), proxy);
        assert_eq!(client_address(proxy, &[b"nonsense"], &trusted), proxy);
        assert_eq!(client_address(proxy, &[b"10.0.0.2"], &trusted), proxy);
    }

    #[test]
    fn an_address_gets_at_most_its_connections() {
        let counts = Arc::new(AddressCounts::default());
        let a = ip("192.0.2.1");
        let held: Vec<_> = (0..3).filter_map(|_| counts.enter(a, 3)).collect();
        assert_eq!(held.len(), 3);
        assert!(counts.enter(a, 3).is_none());
        assert!(counts.enter(ip("192.0.2.2"), 3).is_some());
        drop(held);
        assert!(counts.enter(a, 3).is_some());
    }
}
