//! Failed authentications (credentials presented and refused) per client address: past [`MAX_FAILURES`] in a [`WINDOW`], the
//! address gets 429 with `Retry-After` before its credentials are even looked at, so guessing
//! keys or tokens is slow and never queues on the service behind legitimate requests.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed authentications an address may make per window.
pub const MAX_FAILURES: u32 = 30;
/// The window failures are counted over.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Addresses remembered at most (the oldest windows are forgotten first).
const MAX_ADDRESSES: usize = 10_000;

/// Failure counts by address; `None` stands for callers whose address is unknown (a router
/// served without connection info, as in tests).
#[derive(Default)]
pub struct AuthThrottle {
    failures: Mutex<HashMap<Option<IpAddr>, (Instant, u32)>>,
}

impl AuthThrottle {
    /// Seconds until `addr` may try again, if it is throttled now.
    pub fn blocked(&self, addr: Option<IpAddr>) -> Option<u64> {
        let failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let (since, count) = failures.get(&addr)?;
        let left = WINDOW.checked_sub(since.elapsed())?;
        (*count >= MAX_FAILURES).then(|| left.as_secs().max(1))
    }

    /// Counts a failed authentication of `addr`.
    pub fn failed(&self, addr: Option<IpAddr>) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if failures.len() >= MAX_ADDRESSES {
            failures.retain(|_, (since, _)| since.elapsed() < WINDOW);
        }
        let entry = failures.entry(addr).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= WINDOW {
            *entry = (Instant::now(), 0);
        }
        entry.1 = entry.1.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_throttled_after_its_failures_and_others_are_not() {
        let throttle = AuthThrottle::default();
        let (a, b) = (Some("10.0.0.1".parse().unwrap()), Some("10.0.0.2".parse().unwrap()));
        for _ in 0..MAX_FAILURES - 1 {
            throttle.failed(a);
        }
        assert_eq!(throttle.blocked(a), None);
        throttle.failed(a);
        assert!(throttle.blocked(a).is_some_and(|s| (1..=60).contains(&s)));
        assert_eq!(throttle.blocked(b), None);
    }
}
