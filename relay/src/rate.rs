//! Rate limiting with token buckets (per device, per address, per requester
//! and target) and counting of failed authentications per address for the
//! audit log. Every map has a fixed capacity, so no client can grow the
//! relay's memory by arriving from new addresses.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::{
    AUTH_FAILURE_THRESHOLD, AUTH_FAILURE_WINDOW, MAX_TRACKED_ADDRESSES, MAX_TRACKED_DEVICES,
    RATE_BURST, RATE_PER_SECOND,
};

/// The key a per-address limit uses: the IPv4 address, or the /64 network
/// of an IPv6 address (one subscriber usually holds a whole /64).
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
        },
    }
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets keyed by `K`: each key holds up to `burst` tokens and gains
/// `rate` per second. At most `capacity` keys are tracked: a full bucket is
/// the same as no bucket, so full ones are dropped first when room is
/// needed, then the one untouched longest.
pub struct Buckets<K> {
    rate: f64,
    burst: f64,
    capacity: usize,
    buckets: Mutex<HashMap<K, Bucket>>,
}

impl<K: Hash + Eq + Clone> Buckets<K> {
    /// Buckets of `burst` tokens refilled at `rate` per second, for at most
    /// `capacity` keys.
    pub fn new(rate: f64, burst: f64, capacity: usize) -> Self {
        Self {
            rate,
            burst,
            capacity: capacity.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// `count` tokens per `window`, all available at once.
    pub fn per_window(count: u32, window: Duration, capacity: usize) -> Self {
        let rate = f64::from(count) / window.as_secs_f64().max(f64::MIN_POSITIVE);
        Self::new(rate, f64::from(count), capacity)
    }

    fn level(&self, bucket: &Bucket, now: Instant) -> f64 {
        (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * self.rate).min(self.burst)
    }

    /// Takes one token from the bucket of `key`; false (and nothing taken)
    /// when it is empty.
    pub fn allow(&self, key: &K) -> bool {
        let Ok(mut buckets) = self.buckets.lock() else {
            return false;
        };
        let now = Instant::now();
        if !buckets.contains_key(key) && buckets.len() >= self.capacity {
            self.make_room(&mut buckets, now);
        }
        let level = match buckets.get(key) {
            Some(bucket) => self.level(bucket, now),
            None => self.burst,
        };
        let allowed = level >= 1.0;
        buckets.insert(
            key.clone(),
            Bucket {
                tokens: if allowed { level - 1.0 } else { level },
                at: now,
            },
        );
        allowed
    }

    /// Whether the bucket of `key` is empty (without taking anything).
    pub fn is_exhausted(&self, key: &K) -> bool {
        let Ok(buckets) = self.buckets.lock() else {
            return true;
        };
        buckets
            .get(key)
            .is_some_and(|bucket| self.level(bucket, Instant::now()) < 1.0)
    }

    /// How many keys are tracked.
    pub fn tracked(&self) -> usize {
        self.buckets.lock().map(|b| b.len()).unwrap_or(0)
    }

    fn make_room(&self, buckets: &mut HashMap<K, Bucket>, now: Instant) {
        buckets.retain(|_, bucket| self.level(bucket, now) < self.burst);
        if buckets.len() >= self.capacity {
            let stalest = buckets
                .iter()
                .min_by_key(|(_, bucket)| bucket.at)
                .map(|(key, _)| key.clone());
            if let Some(key) = stalest {
                buckets.remove(&key);
            }
        }
    }
}

/// Per-token limits: `RATE_PER_SECOND`, bursts of `RATE_BURST`, keyed by the
/// hash of the device id.
pub type RateLimiter = Buckets<Vec<u8>>;

impl Default for RateLimiter {
    fn default() -> Self {
        Self::new(RATE_PER_SECOND, RATE_BURST, MAX_TRACKED_DEVICES)
    }
}

struct Window {
    start: Instant,
    count: usize,
}

/// Failed authentications per address, counted in fixed windows of
/// `AUTH_FAILURE_WINDOW`, for the `auth_failures_flagged` audit records.
pub struct FailureTracker {
    capacity: usize,
    windows: Mutex<HashMap<IpAddr, Window>>,
}

impl Default for FailureTracker {
    fn default() -> Self {
        Self::with_capacity(MAX_TRACKED_ADDRESSES)
    }
}

impl FailureTracker {
    /// A tracker of at most `capacity` addresses.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Records a failure from `ip`. Returns the number of failures in the
    /// current window when it reaches `AUTH_FAILURE_THRESHOLD` and again each
    /// time it doubles (5, 10, 20, 40, …), so a sustained attack keeps being
    /// flagged, with its size, in a few records.
    pub fn record(&self, ip: IpAddr) -> Option<usize> {
        let Ok(mut windows) = self.windows.lock() else {
            return None;
        };
        let now = Instant::now();
        let key = address_key(ip);
        if !windows.contains_key(&key) && windows.len() >= self.capacity {
            windows.retain(|_, w| now.duration_since(w.start) <= AUTH_FAILURE_WINDOW);
            if windows.len() >= self.capacity {
                let oldest = windows
                    .iter()
                    .min_by_key(|(_, w)| w.start)
                    .map(|(ip, _)| *ip);
                if let Some(ip) = oldest {
                    windows.remove(&ip);
                }
            }
        }
        let window = windows.entry(key).or_insert(Window {
            start: now,
            count: 0,
        });
        if now.duration_since(window.start) > AUTH_FAILURE_WINDOW {
            *window = Window {
                start: now,
                count: 0,
            };
        }
        window.count += 1;
        let multiple = window.count / AUTH_FAILURE_THRESHOLD;
        (window.count % AUTH_FAILURE_THRESHOLD == 0 && multiple.is_power_of_two())
            .then_some(window.count)
    }

    /// How many addresses are tracked.
    pub fn tracked(&self) -> usize {
        self.windows.lock().map(|w| w.len()).unwrap_or(0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn flags_carry_the_count_at_the_threshold_and_each_doubling() {
        let tracker = FailureTracker::default();
        let ip = IpAddr::from([192, 0, 2, 1]);
        let flags: Vec<usize> = (0..45).filter_map(|_| tracker.record(ip)).collect();
        assert_eq!(flags, [5, 10, 20, 40]);
    }

    #[test]
    fn failure_map_stays_within_its_capacity() {
        let tracker = FailureTracker::with_capacity(100);
        for i in 0..1000u32 {
            tracker.record(IpAddr::from(i.to_be_bytes()));
        }
        assert_eq!(tracker.tracked(), 100);
    }

    #[test]
    fn bucket_map_stays_within_its_capacity() {
        let buckets = Buckets::<u32>::new(1.0, 1.0, 100);
        for i in 0..1000 {
            assert!(buckets.allow(&i));
        }
        assert_eq!(buckets.tracked(), 100);
        // The most recent keys are still limited.
        assert!(!buckets.allow(&999));
    }

    #[test]
    fn ipv6_addresses_share_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(address_key(mapped), IpAddr::from([192, 0, 2, 7]));
    }
}
