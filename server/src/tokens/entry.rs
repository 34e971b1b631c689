//! [`TokenEntry`]: what the token store keeps per token. The token itself is never stored:
//! entries are keyed by an HMAC of it ([`TokenEntry::id_hash`]).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::cidr::{self, Cidr};

/// A token's stored state.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TokenEntry {
    /// HMAC-SHA256 of the token under the store's key (hex); the storage key.
    pub id_hash: String,
    pub accessor: String,
    /// `id_hash` of the parent; empty for orphans.
    #[serde(default)]
    pub parent: String,
    pub policies: Vec<String>,
    /// The path that created it (`auth/token/create`, `auth/userpass/login/bob`).
    pub path: String,
    #[serde(default)]
    pub meta: Option<Map<String, Value>>,
    pub display_name: String,
    /// Remaining uses; 0 = unlimited.
    #[serde(default)]
    pub num_uses: u64,
    /// Unix seconds.
    pub creation_time: u64,
    /// RFC 3339 issue time as Vault shows it.
    #[serde(default)]
    pub issue_time: String,
    /// The TTL it was created with (seconds; 0 = none).
    #[serde(default)]
    pub creation_ttl: u64,
    /// Unix seconds when it expires; 0 = never.
    #[serde(default)]
    pub expire_time: u64,
    /// Hard cap (seconds after creation); 0 = none.
    #[serde(default)]
    pub explicit_max_ttl: u64,
    /// Periodic tokens renew to this many seconds each time; 0 = not periodic.
    #[serde(default)]
    pub period: u64,
    #[serde(default)]
    pub renewable: bool,
    #[serde(default)]
    pub orphan: bool,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub entity_id: String,
    /// `service` or `batch` (batch entries are never stored: they travel sealed inside
    /// the token itself, see [`super::TokenStore::seal_batch`]).
    #[serde(default = "service")]
    pub token_type: String,
    /// Addresses the token may be used from; empty = anywhere. Root tokens are never
    /// bound.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bound_cidrs: Vec<Cidr>,
}

fn service() -> String {
    "service".into()
}

impl TokenEntry {
    /// A service token with these identities and policies, created now by `path`, with no
    /// TTL, no uses limit, no parent and no metadata: callers set what differs.
    pub fn new(id_hash: String, accessor: String, policies: Vec<String>, path: &str) -> Self {
        let now = std::time::SystemTime::now();
        Self {
            id_hash,
            accessor,
            parent: String::new(),
            policies,
            path: path.to_string(),
            meta: None,
            display_name: "token".into(),
            num_uses: 0,
            creation_time: now
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            issue_time: crate::duration::rfc3339_nanos(now),
            creation_ttl: 0,
            expire_time: 0,
            explicit_max_ttl: 0,
            period: 0,
            renewable: false,
            orphan: false,
            role: String::new(),
            entity_id: String::new(),
            token_type: service(),
            bound_cidrs: Vec::new(),
        }
    }

    /// True for tokens carrying the `root` policy.
    pub fn is_root(&self) -> bool {
        self.policies.iter().any(|p| p == "root")
    }

    /// True for batch tokens (sealed into the token string, not stored).
    pub fn is_batch(&self) -> bool {
        self.token_type == "batch"
    }

    /// Whether a request from `addr` may use the token: root tokens anywhere, others only
    /// inside their `bound_cidrs` (when they have any).
    pub fn allows_address(&self, addr: Option<std::net::IpAddr>) -> bool {
        self.is_root() || cidr::allows(&self.bound_cidrs, addr)
    }

    /// True once `now` (unix seconds) has reached the expiry time.
    pub fn is_expired(&self, now: u64) -> bool {
        self.expire_time != 0 && now >= self.expire_time
    }

    /// Seconds left before expiry (0 if none or already expired).
    pub fn ttl_remaining(&self, now: u64) -> u64 {
        if self.expire_time == 0 {
            0
        } else {
            self.expire_time.saturating_sub(now)
        }
    }
}
