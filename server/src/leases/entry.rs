//! [`LeaseEntry`]: one leased secret as stored, and its revocation state when a revocation
//! failed and is being retried.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A leased secret. The secret itself (a password) is never stored here: only what the
/// issuing engine needs to revoke or renew it (`internal`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct LeaseEntry {
    /// `<request path>/<random>`, e.g. `database/creds/readonly/kG3…`.
    pub lease_id: String,
    /// The issuing mount's UUID (so revocation still finds it after `sys/remount`).
    pub mount_uuid: String,
    /// The issuing request's path relative to the mount (`creds/readonly`).
    pub path: String,
    /// The engine's revocation/renewal data.
    #[serde(default)]
    pub internal: Map<String, Value>,
    /// HMAC of the token that created it; empty when none.
    #[serde(default)]
    pub token_hash: String,
    /// Unix seconds.
    pub issue_time: u64,
    /// Unix seconds when it expires.
    pub expire_time: u64,
    /// Unix seconds of the last renewal; 0 = never renewed.
    #[serde(default)]
    pub last_renewal: u64,
    /// Renewals may not push `expire_time` past this (issue time + max TTL).
    pub max_expire_time: u64,
    /// The TTL it was issued with (renewals without an increment extend by this much).
    pub ttl: u64,
    pub renewable: bool,
    /// Set once revocation has started and failed at least once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation: Option<RevocationState>,
}

/// A revocation that failed and is retried with exponential backoff.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RevocationState {
    pub attempts: u32,
    /// The last failure, as the engine reported it (no secrets in it).
    pub last_error: String,
    /// Unix seconds of the next attempt (also the lease's `due/` index time).
    pub next_attempt: u64,
}

impl LeaseEntry {
    /// When the sweeper should next look at this lease.
    pub fn due_time(&self) -> u64 {
        self.revocation
            .as_ref()
            .map_or(self.expire_time, |r| r.next_attempt)
    }

    /// Seconds left before expiry (0 once expired).
    pub fn ttl_remaining(&self, now: u64) -> u64 {
        self.expire_time.saturating_sub(now)
    }

    /// Seconds to wait before retry number `attempts` (1, 2, 4, … capped at 256 s).
    pub fn backoff(attempts: u32) -> u64 {
        1u64 << attempts.saturating_sub(1).min(8).min(63)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let waits: Vec<u64> = (1..=12).map(LeaseEntry::backoff).collect();
        assert_eq!(&waits[..5], &[1, 2, 4, 8, 16]);
        assert_eq!(waits[11], 256);
        assert!(waits.windows(2).all(|w| w[0] <= w[1]));
    }
}
