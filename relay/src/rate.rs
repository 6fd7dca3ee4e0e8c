//! Per-token rate limiting (token buckets) and tracking of failed
//! authentications per address.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

use crate::config::{AUTH_FAILURE_THRESHOLD, AUTH_FAILURE_WINDOW, RATE_BURST, RATE_PER_SECOND};

/// Token buckets keyed by token hash.
#[derive(Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<Vec<u8>, (f64, Instant)>>,
}

impl RateLimiter {
    /// Takes one request from the bucket of `key`; false when it is empty.
    pub fn allow(&self, key: &[u8]) -> bool {
        let Ok(mut buckets) = self.buckets.lock() else {
            return false;
        };
        let now = Instant::now();
        let (tokens, last) = buckets.entry(key.to_vec()).or_insert((RATE_BURST, now));
        *tokens =
            (*tokens + now.duration_since(*last).as_secs_f64() * RATE_PER_SECOND).min(RATE_BURST);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Recent failed authentications per address.
#[derive(Default)]
pub struct FailureTracker {
    failures: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl FailureTracker {
    /// Records a failure; true exactly when this failure reaches the
    /// threshold within the window (so the flag is raised once per burst).
    pub fn record(&self, ip: IpAddr) -> bool {
        let Ok(mut failures) = self.failures.lock() else {
            return false;
        };
        let now = Instant::now();
        let list = failures.entry(ip).or_default();
        while list
            .front()
            .is_some_and(|t| now.duration_since(*t) > AUTH_FAILURE_WINDOW)
        {
            list.pop_front();
        }
        list.push_back(now);
        list.len() == AUTH_FAILURE_THRESHOLD
    }
}
