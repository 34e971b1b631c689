//! Login throttling for userpass: failed logins are counted per user name and per client
//! address; `lockout_threshold` failures within `lockout_counter_reset` lock that user
//! (or address) out for `lockout_duration`, doubling with each further lockout up to
//! [`MAX_LOCKOUT`]. A locked login gets 429 with `Retry-After` before its password is
//! checked. A success resets its user and address. Unknown user names are counted like
//! known ones, so a lockout reveals nothing about which users exist.
//!
//! State is in memory, per mount: it is lost at restart and on a change of the mount's
//! options, and each HA node keeps its own (a cluster of N nodes allows up to N times
//! the failures). The limits are the mount's options (`sys/auth/<path>` with
//! `options`), defaults in [`Limits::default`].

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::core::mounts::MountEntry;
use crate::core::RequestError;

/// The longest lockout, however many lockouts came before.
pub const MAX_LOCKOUT: Duration = Duration::from_secs(3600);
/// Above this many tracked names and addresses, idle ones are dropped; if all are still
/// active, new ones go untracked (memory stays bounded under a spray of names).
const MAX_TRACKED: usize = 100_000;

/// When failures lock a user or address out.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    /// Failures within `window` that cause a lockout; 0 disables throttling.
    pub threshold: u32,
    /// The first lockout; each further one doubles it.
    pub lockout: Duration,
    /// Failures older than this are forgotten.
    pub window: Duration,
}

impl Default for Limits {
    /// 5 failures within 15 minutes lock out for 1 minute, then 2, 4 … up to an hour.
    fn default() -> Self {
        Self {
            threshold: 5,
            lockout: Duration::from_secs(60),
            window: Duration::from_secs(15 * 60),
        }
    }
}

impl Limits {
    /// The defaults with the mount's `lockout_threshold`, `lockout_duration` and
    /// `lockout_counter_reset` options (integers or Go durations) applied.
    pub fn from_mount(entry: &MountEntry) -> Result<Self, RequestError> {
        let mut limits = Self::default();
        let seconds = |name: &str| -> Result<Option<Duration>, RequestError> {
            entry
                .option(name)
                .map(|text| {
                    crate::duration::parse_duration(text).map_err(|_| {
                        RequestError::invalid(format!("invalid option {name}: {text:?}"))
                    })
                })
                .transpose()
        };
        if let Some(text) = entry.option("lockout_threshold") {
            limits.threshold = text.parse().map_err(|_| {
                RequestError::invalid(format!("invalid option lockout_threshold: {text:?}"))
            })?;
        }
        if let Some(lockout) = seconds("lockout_duration")? {
            limits.lockout = lockout;
        }
        if let Some(window) = seconds("lockout_counter_reset")? {
            limits.window = window;
        }
        Ok(limits)
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
enum Key {
    User(String),
    Address(IpAddr),
}

#[derive(Debug)]
struct Failures {
    count: u32,
    window_start: Instant,
    lockouts: u32,
    locked_until: Option<Instant>,
    last_failure: Instant,
}

/// The failure counts of one mount.
#[derive(Debug, Default)]
pub struct Throttle {
    limits: Limits,
    state: Mutex<HashMap<Key, Failures>>,
}

fn keys(user: &str, addr: Option<IpAddr>) -> impl Iterator<Item = Key> {
    std::iter::once(Key::User(user.to_string())).chain(addr.map(Key::Address))
}

impl Throttle {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            state: Mutex::default(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Failures>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// 429 with the seconds to wait when the user or the address is locked out at `now`.
    pub fn check(
        &self,
        user: &str,
        addr: Option<IpAddr>,
        now: Instant,
    ) -> Result<(), RequestError> {
        let state = self.state();
        let wait = keys(user, addr)
            .filter_map(|key| state.get(&key)?.locked_until)
            .filter(|until| *until > now)
            .map(|until| until - now)
            .max();
        match wait {
            None => Ok(()),
            Some(wait) => Err(RequestError::QuotaExceeded {
                message: "too many failed login attempts; try again later".into(),
                retry_after: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
            }),
        }
    }

    /// Counts a failed login at `now`.
    pub fn failed(&self, user: &str, addr: Option<IpAddr>, now: Instant) {
        let limits = self.limits;
        if limits.threshold == 0 {
            return;
        }
        let mut state = self.state();
        if state.len() >= MAX_TRACKED {
            let idle = MAX_LOCKOUT.max(limits.window);
            state.retain(|_, f| now.saturating_duration_since(f.last_failure) < idle);
        }
        for key in keys(user, addr) {
            if state.len() >= MAX_TRACKED && !state.contains_key(&key) {
                tracing::warn!(
                    "userpass login throttle is full; a new name or address goes untracked"
                );
                continue;
            }
            let failures = state.entry(key).or_insert(Failures {
                count: 0,
                window_start: now,
                lockouts: 0,
                locked_until: None,
                last_failure: now,
            });
            if now.saturating_duration_since(failures.window_start) > limits.window {
                failures.count = 0;
                failures.window_start = now;
            }
            failures.count += 1;
            failures.last_failure = now;
            if failures.count >= limits.threshold {
                let doubling = 2u32.saturating_pow(failures.lockouts.min(31));
                let lockout = limits.lockout.saturating_mul(doubling).min(MAX_LOCKOUT);
                failures.lockouts = failures.lockouts.saturating_add(1);
                failures.locked_until = Some(now + lockout);
                failures.count = 0;
                failures.window_start = now;
            }
        }
    }

    /// A successful login resets its user and address.
    pub fn succeeded(&self, user: &str, addr: Option<IpAddr>) {
        let mut state = self.state();
        for key in keys(user, addr) {
            state.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle(threshold: u32) -> Throttle {
        Throttle::new(Limits {
            threshold,
            lockout: Duration::from_secs(10),
            window: Duration::from_secs(60),
        })
    }

    fn retry_after(result: Result<(), RequestError>) -> Option<u64> {
        match result {
            Ok(()) => None,
            Err(RequestError::QuotaExceeded { retry_after, .. }) => Some(retry_after),
            Err(other) => panic!("expected a 429, got {other:?}"),
        }
    }

    #[test]
    fn lockouts_start_at_the_threshold_and_double() {
        let t = throttle(3);
        let addr = "10.0.0.1".parse().ok();
        let start = Instant::now();
        for _ in 0..2 {
            t.failed("bob", addr, start);
        }
        assert_eq!(retry_after(t.check("bob", addr, start)), None);
        t.failed("bob", addr, start);
        assert_eq!(
            retry_after(t.check("bob", None, start)),
            Some(10),
            "the user"
        );
        assert_eq!(
            retry_after(t.check("eve", addr, start)),
            Some(10),
            "the address"
        );
        assert_eq!(retry_after(t.check("eve", None, start)), None);
        let later = start + Duration::from_secs(11);
        assert_eq!(
            retry_after(t.check("bob", addr, later)),
            None,
            "lockout over"
        );
        for _ in 0..3 {
            t.failed("bob", addr, later);
        }
        assert_eq!(
            retry_after(t.check("bob", addr, later)),
            Some(20),
            "doubled"
        );
    }

    #[test]
    fn a_success_resets_and_old_failures_are_forgotten() {
        let t = throttle(2);
        let start = Instant::now();
        t.failed("bob", None, start);
        t.succeeded("bob", None);
        t.failed("bob", None, start);
        assert_eq!(retry_after(t.check("bob", None, start)), None);
        t.failed("bob", None, start + Duration::from_secs(61));
        assert_eq!(
            retry_after(t.check("bob", None, start + Duration::from_secs(61))),
            None,
            "the first failure was outside the window"
        );
        let off = throttle(0);
        for _ in 0..10 {
            off.failed("bob", None, start);
        }
        assert_eq!(retry_after(off.check("bob", None, start)), None);
    }

    #[test]
    fn limits_come_from_the_mounts_options() {
        let mut entry = MountEntry::new("userpass/", "userpass", "", true);
        assert_eq!(Limits::from_mount(&entry).ok(), Some(Limits::default()));
        entry.options = Some(
            [
                ("lockout_threshold", "2"),
                ("lockout_duration", "3s"),
                ("lockout_counter_reset", "1m"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        );
        let limits = Limits::from_mount(&entry).expect("valid options");
        assert_eq!(
            (limits.threshold, limits.lockout, limits.window),
            (2, Duration::from_secs(3), Duration::from_secs(60))
        );
        entry.options = Some([("lockout_threshold".to_string(), "x".to_string())].into());
        assert!(Limits::from_mount(&entry).is_err());
    }
}
