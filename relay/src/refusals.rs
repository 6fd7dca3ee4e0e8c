//! Refusals counted instead of written one by one. A flood of throttled
//! authentications, rate-limited calls or refused connections would
//! otherwise cost one synced audit write each — the flood itself would
//! become the attack on the disk. Each is counted here, per kind, address
//! and device, in fixed windows of [`REFUSAL_WINDOW`]; when a window ends
//! (and at shutdown) the relay writes one record per key with the count
//! (`refused=N window=60s`, see docs/RELAY.md, "Audit log").
//!
//! The map has a fixed capacity: when it is full, new keys are counted
//! under their kind alone (address `::`, no device), so a client arriving
//! from many addresses loses none of its count, only its attribution.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::{MAX_TRACKED_ADDRESSES, REFUSAL_WINDOW};
use crate::rate::address_key;

/// What was refused without a record of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefusalKind {
    /// A failed authentication or registration from an address that had
    /// spent its failure budget (answered 429).
    AuthThrottled,
    /// A valid token over its rate limit (429).
    RateLimited,
    /// A request to an unauthenticated endpoint over the address's rate
    /// (429).
    UnauthenticatedFlood,
    /// A request to an unknown route, with a wrong method, or rejected
    /// before its handler, past the per-address or relay-wide rate of such
    /// records.
    Rejected,
    /// A connection closed before it carried a request the API could see:
    /// over a connection cap, a request head not complete in time, or not
    /// HTTP/1.1.
    Connection,
}

impl RefusalKind {
    /// The action written in the summary record.
    pub fn action(self) -> &'static str {
        match self {
            Self::AuthThrottled => "auth_throttled",
            Self::RateLimited => "rate_limited",
            Self::UnauthenticatedFlood => "unauthenticated_throttled",
            Self::Rejected => "rejected_throttled",
            Self::Connection => "connection_refused",
        }
    }
}

/// One counted key: the kind, the address (IPv6 by /64) and the device, if
/// the refused request carried a valid token.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RefusalKey {
    /// What was refused.
    pub kind: RefusalKind,
    /// The address key ([`address_key`]), `::` for the overflow key.
    pub ip: IpAddr,
    /// The device (id) whose token was valid, if any.
    pub device: Option<String>,
}

/// A window's count for one key, to be written as one audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusalSummary {
    /// Whose refusals.
    pub key: RefusalKey,
    /// How many in the window.
    pub count: u64,
}

struct Window {
    start: Instant,
    count: u64,
}

/// Refusal counts per key, in windows of [`REFUSAL_WINDOW`].
pub struct Refusals {
    capacity: usize,
    window: Duration,
    counts: Mutex<HashMap<RefusalKey, Window>>,
}

impl Default for Refusals {
    fn default() -> Self {
        Self::new(MAX_TRACKED_ADDRESSES, REFUSAL_WINDOW)
    }
}

impl Refusals {
    /// Counts for at most `capacity` keys (plus one overflow key per kind),
    /// in windows of `window`.
    pub fn new(capacity: usize, window: Duration) -> Self {
        Self {
            capacity: capacity.max(1),
            window,
            counts: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one refusal of `kind` from `ip` (and `device`).
    pub fn count(&self, kind: RefusalKind, ip: IpAddr, device: Option<&str>) {
        let key = RefusalKey {
            kind,
            ip: address_key(ip),
            device: device.map(str::to_string),
        };
        self.add(key, 1, Instant::now());
    }

    /// Counts one refusal of `kind` under the kind alone (address `::`,
    /// no device): for floods past a relay-wide budget, so that many
    /// addresses cost one summary, not one each.
    pub fn count_unattributed(&self, kind: RefusalKind) {
        self.add(overflow(kind), 1, Instant::now());
    }

    /// Puts back summaries that could not be written, to be written with
    /// the next ones.
    pub fn restore(&self, summaries: Vec<RefusalSummary>) {
        let now = Instant::now();
        for summary in summaries {
            self.add(summary.key, summary.count, now);
        }
    }

    fn add(&self, mut key: RefusalKey, count: u64, now: Instant) {
        let Ok(mut counts) = self.counts.lock() else {
            return;
        };
        if !counts.contains_key(&key) && counts.len() >= self.capacity {
            key = overflow(key.kind);
        }
        let window = counts.entry(key).or_insert(Window {
            start: now,
            count: 0,
        });
        window.count = window.count.saturating_add(count);
    }

    /// Removes and returns the counts of every window that has ended.
    pub fn take_ended(&self) -> Vec<RefusalSummary> {
        self.take(|window, now| now.duration_since(window.start) >= self.window)
    }

    /// Removes and returns every count (at shutdown).
    pub fn take_all(&self) -> Vec<RefusalSummary> {
        self.take(|_, _| true)
    }

    /// The length of one window.
    pub fn window(&self) -> Duration {
        self.window
    }

    fn take(&self, ended: impl Fn(&Window, Instant) -> bool) -> Vec<RefusalSummary> {
        let Ok(mut counts) = self.counts.lock() else {
            return Vec::new();
        };
        let now = Instant::now();
        let keys: Vec<RefusalKey> = counts
            .iter()
            .filter(|(_, window)| ended(window, now))
            .map(|(key, _)| key.clone())
            .collect();
        keys.into_iter()
            .filter_map(|key| {
                let window = counts.remove(&key)?;
                Some(RefusalSummary {
                    key,
                    count: window.count,
                })
            })
            .collect()
    }
}

/// The key of refusals of `kind` counted without address or device.
fn overflow(kind: RefusalKind) -> RefusalKey {
    RefusalKey {
        kind,
        ip: IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        device: None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_key_and_hands_each_window_over_once() {
        let refusals = Refusals::new(100, Duration::ZERO);
        let ip = IpAddr::from([192, 0, 2, 1]);
        for _ in 0..3 {
            refusals.count(RefusalKind::AuthThrottled, ip, None);
        }
        refusals.count(RefusalKind::RateLimited, ip, Some("d_1"));
        let mut taken = refusals.take_ended();
        taken.sort_by_key(|s| s.count);
        assert_eq!(taken.len(), 2);
        assert_eq!(taken[0].count, 1);
        assert_eq!(taken[0].key.device.as_deref(), Some("d_1"));
        assert_eq!(taken[1].count, 3);
        assert!(refusals.take_ended().is_empty());
    }

    #[test]
    fn open_windows_wait_until_they_end_or_shutdown() {
        let refusals = Refusals::new(100, Duration::from_secs(3600));
        refusals.count(RefusalKind::Connection, IpAddr::from([192, 0, 2, 9]), None);
        assert!(refusals.take_ended().is_empty());
        assert_eq!(refusals.take_all().len(), 1);
    }

    #[test]
    fn restored_counts_are_handed_over_again() {
        let refusals = Refusals::new(100, Duration::ZERO);
        let ip = IpAddr::from([192, 0, 2, 1]);
        refusals.count(RefusalKind::AuthThrottled, ip, None);
        refusals.count_unattributed(RefusalKind::AuthThrottled);
        let taken = refusals.take_all();
        assert_eq!(taken.len(), 2);
        refusals.count(RefusalKind::AuthThrottled, ip, None);
        refusals.restore(taken);
        let mut again = refusals.take_all();
        again.sort_by_key(|s| s.count);
        assert_eq!(
            again.iter().map(|s| s.count).collect::<Vec<_>>(),
            [1, 2],
            "{again:?}"
        );
    }

    #[test]
    fn a_full_map_counts_newcomers_under_the_overflow_key() {
        let refusals = Refusals::new(10, Duration::ZERO);
        for i in 0..1000u32 {
            refusals.count(
                RefusalKind::AuthThrottled,
                IpAddr::from(i.to_be_bytes()),
                None,
            );
        }
        let taken = refusals.take_all();
        assert_eq!(taken.len(), 11);
        assert_eq!(taken.iter().map(|s| s.count).sum::<u64>(), 1000);
        let overflow = taken
            .iter()
            .find(|s| s.key.ip == IpAddr::V6(Ipv6Addr::UNSPECIFIED))
            .unwrap();
        assert_eq!(overflow.count, 990);
    }
}
