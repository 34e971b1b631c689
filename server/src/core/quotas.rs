//! Resource quotas: rate-limit rules (a token bucket per client address and rule) and
//! lease-count rules (live leases under a path plus in-flight reservations), stored under
//! `sys/quotas/` and loaded at unseal (only the rules, never the leases).
//!
//! The rules are an immutable snapshot swapped on every change; with no rule of a kind its
//! check costs one atomic load. The most specific rule covering a request applies: the
//! longest path (global `""` < mount < path under the mount), a matching `role` winning a
//! tie. A refused request carries `Retry-After` (whole seconds) — always, where OpenBao
//! sends it only with `enable_rate_limit_response_headers`.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::RequestError;
use crate::barrier::{BarrierError, StorageView};
use crate::leases::under;

/// Paths never rate limited unless the config says otherwise (OpenBao's default list).
pub const DEFAULT_EXEMPT_PATHS: &[&str] = &[
    "sys/generate-recovery-token/attempt",
    "sys/generate-recovery-token/update",
    "sys/generate-root/attempt",
    "sys/generate-root/update",
    "sys/health",
    "sys/seal-status",
    "sys/unseal",
];

/// Buckets kept before idle ones are pruned; the threshold then doubles with the live set.
const PRUNE_AT_LEAST: usize = 1024;
/// Beyond this many live buckets, those closest to full are dropped (losing little).
const MAX_BUCKETS: usize = 100_000;

/// `sys/quotas/rate-limit/<name>`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RateLimitRule {
    pub name: String,
    /// `""` (global), a mount (`secret/`) or a path under a mount (`database/creds/ro`).
    pub path: String,
    /// Only for auth mounts: applies to logins whose `role` field matches.
    pub role: String,
    /// Requests allowed per `interval` (the bucket's size).
    pub rate: f64,
    /// Seconds over which the bucket refills completely.
    pub interval: u64,
    /// Seconds a client that exceeded the rate is refused; 0: only until a token is back.
    pub block_interval: u64,
    /// Stored and echoed; without namespaces it changes nothing.
    pub inheritable: bool,
}

/// `sys/quotas/lease-count/<name>` (Vault Enterprise's, which OpenBao lacks).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LeaseCountRule {
    pub name: String,
    pub path: String,
    pub role: String,
    pub max_leases: u64,
    pub inheritable: bool,
}

/// `sys/quotas/config`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuotaConfig {
    pub rate_limit_exempt_paths: Vec<String>,
    /// Stored and echoed; refused requests are not audited.
    pub enable_rate_limit_audit_logging: bool,
    /// Stored and echoed; `Retry-After` is always sent.
    pub enable_rate_limit_response_headers: bool,
}

impl Default for QuotaConfig {
    fn default() -> Self {
        Self {
            rate_limit_exempt_paths: DEFAULT_EXEMPT_PATHS.iter().map(|p| p.to_string()).collect(),
            enable_rate_limit_audit_logging: false,
            enable_rate_limit_response_headers: false,
        }
    }
}

/// A rule that covers some paths, for most-specific selection.
pub trait Scoped {
    fn path(&self) -> &str;
    fn role(&self) -> &str;
}

impl Scoped for RateLimitRule {
    fn path(&self) -> &str {
        &self.path
    }
    fn role(&self) -> &str {
        &self.role
    }
}

impl Scoped for LeaseCountRule {
    fn path(&self) -> &str {
        &self.path
    }
    fn role(&self) -> &str {
        &self.role
    }
}

/// The rule that applies to `path` (and, for a login, its `role`): the longest covering
/// path; at equal paths a rule naming the role beats one without.
pub fn most_specific<'a, R: Scoped>(
    rules: &'a [R],
    path: &str,
    role: Option<&str>,
) -> Option<&'a R> {
    rules
        .iter()
        .filter(|r| under(path, r.path()) && (r.role().is_empty() || Some(r.role()) == role))
        .max_by_key(|r| (r.path().trim_end_matches('/').len(), !r.role().is_empty()))
}

/// The rules in force.
#[derive(Default)]
struct Rules {
    rate_limits: Vec<RateLimitRule>,
    lease_counts: Vec<LeaseCountRule>,
    config: QuotaConfig,
}

/// One client's token bucket under one rule.
#[derive(Clone, Debug)]
pub struct Bucket {
    tokens: f64,
    updated: Instant,
    blocked_until: Option<Instant>,
}

impl Bucket {
    pub fn full(rule: &RateLimitRule, now: Instant) -> Self {
        Self {
            tokens: capacity(rule),
            updated: now,
            blocked_until: None,
        }
    }

    /// Takes one token at `now`; `Err(wait)` when refused, `wait` being how long until a
    /// request would pass.
    pub fn take(&mut self, rule: &RateLimitRule, now: Instant) -> Result<(), Duration> {
        if let Some(until) = self.blocked_until {
            if now < until {
                return Err(until - now);
            }
            self.blocked_until = None;
        }
        let per_second = refill_per_second(rule);
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * per_second).min(capacity(rule));
        self.updated = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Ok(());
        }
        if rule.block_interval > 0 {
            let block = Duration::from_secs(rule.block_interval);
            self.blocked_until = Some(now + block);
            return Err(block);
        }
        Err(Duration::from_secs_f64((1.0 - self.tokens) / per_second))
    }

    /// Whether the bucket is full again and unblocked at `now`, i.e. the same as a new one
    /// (so dropping it loses nothing).
    fn is_idle(&self, rule: &RateLimitRule, now: Instant) -> bool {
        self.blocked_until.is_none_or(|until| until <= now)
            && self.time_to_full(rule, now).is_zero()
    }

    fn time_to_full(&self, rule: &RateLimitRule, now: Instant) -> Duration {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        let missing = capacity(rule) - self.tokens - elapsed * refill_per_second(rule);
        Duration::from_secs_f64((missing / refill_per_second(rule)).max(0.0))
    }
}

/// A fractional rate below one still lets one request through per refill.
fn capacity(rule: &RateLimitRule) -> f64 {
    rule.rate.max(1.0)
}

fn refill_per_second(rule: &RateLimitRule) -> f64 {
    rule.rate / rule.interval.max(1) as f64
}

/// Whole seconds to announce in `Retry-After`: rounded up, at least one.
pub fn retry_after_seconds(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

/// Every client's buckets, keyed by rule name and client address.
#[derive(Default)]
pub struct Buckets {
    map: HashMap<(String, IpAddr), Bucket>,
    prune_at: usize,
}

impl Buckets {
    /// Takes a token from `client`'s bucket under `rule`, one of `rules` (which pruning
    /// needs to tell idle buckets).
    pub fn take(
        &mut self,
        rule: &RateLimitRule,
        rules: &[RateLimitRule],
        client: IpAddr,
        now: Instant,
    ) -> Result<(), Duration> {
        if let Some(bucket) = self.map.get_mut(&(rule.name.clone(), client)) {
            return bucket.take(rule, now);
        }
        if self.map.len() >= self.prune_at.max(PRUNE_AT_LEAST) {
            self.prune(rules, now);
        }
        let mut bucket = Bucket::full(rule, now);
        let taken = bucket.take(rule, now);
        self.map.insert((rule.name.clone(), client), bucket);
        taken
    }

    /// Drops idle buckets and those of rules no longer in `rules` (and, past
    /// [`MAX_BUCKETS`], those closest to full).
    pub fn prune(&mut self, rules: &[RateLimitRule], now: Instant) {
        let rule_of = |name: &str| rules.iter().find(|r| r.name == name);
        self.map.retain(|(name, _), bucket| {
            rule_of(name).is_some_and(|rule| !bucket.is_idle(rule, now))
        });
        if self.map.len() >= MAX_BUCKETS {
            let mut by_fullness: Vec<_> = self
                .map
                .iter()
                .map(|(key, b)| (rule_of(&key.0).map(|r| b.time_to_full(r, now)), key.clone()))
                .collect();
            by_fullness.sort_by_key(|entry| entry.0);
            for (_, key) in by_fullness
                .into_iter()
                .take(self.map.len() - MAX_BUCKETS / 2)
            {
                self.map.remove(&key);
            }
        }
        self.prune_at = (self.map.len() * 2).clamp(PRUNE_AT_LEAST, MAX_BUCKETS);
    }

    /// Forgets every bucket of a rule (rewritten or deleted).
    pub fn forget(&mut self, name: &str) {
        self.map.retain(|(rule, _), _| rule != name);
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// A lease-count slot held while a request runs; released on drop (after the request's
/// lease, if any, was registered).
pub struct Reservation {
    in_flight: Arc<Mutex<HashMap<String, u64>>>,
    rule: String,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = in_flight.get_mut(&self.rule) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                in_flight.remove(&self.rule);
            }
        }
    }
}

/// The quota state of one unsealed core.
pub struct Quotas {
    view: StorageView,
    rate_limited: AtomicBool,
    lease_limited: AtomicBool,
    rules: RwLock<Arc<Rules>>,
    buckets: Mutex<Buckets>,
    in_flight: Arc<Mutex<HashMap<String, u64>>>,
    /// Serialises lease-count admissions (count, then reserve) and rule changes.
    admission: tokio::sync::Mutex<()>,
}

/// The stored rules and config.
async fn read_rules(view: &StorageView) -> Result<Rules, RequestError> {
    let mut rules = Rules::default();
    for name in view.list(RATE_LIMIT).await? {
        if let Some(rule) = view.get_json(&format!("{RATE_LIMIT}{name}")).await? {
            rules.rate_limits.push(rule);
        }
    }
    for name in view.list(LEASE_COUNT).await? {
        if let Some(rule) = view.get_json(&format!("{LEASE_COUNT}{name}")).await? {
            rules.lease_counts.push(rule);
        }
    }
    rules.config = view.get_json(CONFIG).await?.unwrap_or_default();
    Ok(rules)
}

const RATE_LIMIT: &str = "rate-limit/";
const LEASE_COUNT: &str = "lease-count/";
const CONFIG: &str = "config";

impl Quotas {
    /// Reads the stored rules and config (a few keys under the view).
    pub async fn load(view: StorageView) -> Result<Self, RequestError> {
        let rules = read_rules(&view).await?;
        let this = Self {
            view,
            rate_limited: AtomicBool::new(false),
            lease_limited: AtomicBool::new(false),
            rules: RwLock::new(Arc::new(Rules::default())),
            buckets: Mutex::new(Buckets::default()),
            in_flight: Arc::new(Mutex::new(HashMap::new())),
            admission: tokio::sync::Mutex::new(()),
        };
        this.replace(rules);
        Ok(this)
    }

    /// Re-reads the rules (another node changed them).
    pub async fn reload(&self) -> Result<(), RequestError> {
        let rules = read_rules(&self.view).await?;
        let _change = self.admission.lock().await;
        self.replace(rules);
        Ok(())
    }

    fn snapshot(&self) -> Arc<Rules> {
        self.rules.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn replace(&self, rules: Rules) {
        self.rate_limited
            .store(!rules.rate_limits.is_empty(), Ordering::Release);
        self.lease_limited
            .store(!rules.lease_counts.is_empty(), Ordering::Release);
        *self.rules.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(rules);
    }

    /// Refuses a request over its rate limit (429 with `Retry-After`). `role` is the login's
    /// `role` field, `None` for other requests.
    pub fn check_rate_limit(
        &self,
        path: &str,
        role: Option<&str>,
        client: Option<IpAddr>,
    ) -> Result<(), RequestError> {
        if !self.rate_limited.load(Ordering::Acquire) {
            return Ok(());
        }
        self.check_rate_limit_at(path, role, client, Instant::now())
    }

    /// [`Quotas::check_rate_limit`] at a given time.
    pub fn check_rate_limit_at(
        &self,
        path: &str,
        role: Option<&str>,
        client: Option<IpAddr>,
        now: Instant,
    ) -> Result<(), RequestError> {
        let rules = self.snapshot();
        let trimmed = path.trim_matches('/');
        if rules
            .config
            .rate_limit_exempt_paths
            .iter()
            .any(|p| exempt(trimmed, p))
        {
            return Ok(());
        }
        let Some(rule) = most_specific(&rules.rate_limits, path, role) else {
            return Ok(());
        };
        // Requests from inside the process (no address) share one bucket.
        let client = client.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let taken = self.buckets.lock().unwrap_or_else(|e| e.into_inner()).take(
            rule,
            &rules.rate_limits,
            client,
            now,
        );
        taken.map_err(|wait| RequestError::QuotaExceeded {
            message: format!("request path {path:?}: rate limit quota exceeded"),
            retry_after: retry_after_seconds(wait),
        })
    }

    /// Reserves a lease slot under the most specific lease-count rule covering `path`, or
    /// refuses (429) when live leases (`live(rule path, max_leases)`, which may stop
    /// counting at the limit) plus reservations reach its `max_leases`. `None`: no rule
    /// applies.
    pub async fn reserve_lease<F, Fut>(
        &self,
        path: &str,
        role: Option<&str>,
        live: F,
    ) -> Result<Option<Reservation>, RequestError>
    where
        F: FnOnce(String, u64) -> Fut,
        Fut: std::future::Future<Output = Result<u64, BarrierError>>,
    {
        if !self.lease_limited.load(Ordering::Acquire) {
            return Ok(None);
        }
        let rules = self.snapshot();
        let Some(rule) = most_specific(&rules.lease_counts, path, role) else {
            return Ok(None);
        };
        let _admission = self.admission.lock().await;
        // Reservations are read before the live count: a request that registers its
        // lease and then releases its slot meanwhile is counted at least once.
        let reserved = self.in_flight(&rule.name);
        let live = live(rule.path.clone(), rule.max_leases).await?;
        if live + reserved >= rule.max_leases {
            return Err(RequestError::QuotaExceeded {
                message: format!("request path {path:?}: lease count quota exceeded"),
                retry_after: 1,
            });
        }
        *self
            .in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(rule.name.clone())
            .or_insert(0) += 1;
        Ok(Some(Reservation {
            in_flight: self.in_flight.clone(),
            rule: rule.name.clone(),
        }))
    }

    fn in_flight(&self, rule: &str) -> u64 {
        let in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        in_flight.get(rule).copied().unwrap_or(0)
    }

    pub fn rate_limits(&self) -> Vec<RateLimitRule> {
        self.snapshot().rate_limits.clone()
    }

    pub fn lease_counts(&self) -> Vec<LeaseCountRule> {
        self.snapshot().lease_counts.clone()
    }

    pub fn config(&self) -> QuotaConfig {
        self.snapshot().config.clone()
    }

    /// Stores a rate-limit rule (replacing one of the same name) and applies it.
    pub async fn put_rate_limit(&self, rule: RateLimitRule) -> Result<(), RequestError> {
        let _changes = self.admission.lock().await;
        self.view
            .put_json(&format!("{RATE_LIMIT}{}", rule.name), &rule)
            .await?;
        self.forget_buckets(&rule.name);
        self.update(|rules| {
            rules.rate_limits.retain(|r| r.name != rule.name);
            rules.rate_limits.push(rule);
        });
        Ok(())
    }

    pub async fn delete_rate_limit(&self, name: &str) -> Result<(), RequestError> {
        let _changes = self.admission.lock().await;
        self.view.delete(&format!("{RATE_LIMIT}{name}")).await?;
        self.forget_buckets(name);
        self.update(|rules| rules.rate_limits.retain(|r| r.name != name));
        Ok(())
    }

    /// Stores a lease-count rule (replacing one of the same name) and applies it.
    pub async fn put_lease_count(&self, rule: LeaseCountRule) -> Result<(), RequestError> {
        let _changes = self.admission.lock().await;
        self.view
            .put_json(&format!("{LEASE_COUNT}{}", rule.name), &rule)
            .await?;
        self.update(|rules| {
            rules.lease_counts.retain(|r| r.name != rule.name);
            rules.lease_counts.push(rule);
        });
        Ok(())
    }

    pub async fn delete_lease_count(&self, name: &str) -> Result<(), RequestError> {
        let _changes = self.admission.lock().await;
        self.view.delete(&format!("{LEASE_COUNT}{name}")).await?;
        self.update(|rules| rules.lease_counts.retain(|r| r.name != name));
        Ok(())
    }

    pub async fn put_config(&self, config: QuotaConfig) -> Result<(), RequestError> {
        let _changes = self.admission.lock().await;
        self.view.put_json(CONFIG, &config).await?;
        self.update(|rules| rules.config = config);
        Ok(())
    }

    fn update(&self, change: impl FnOnce(&mut Rules)) {
        let current = self.snapshot();
        let mut rules = Rules {
            rate_limits: current.rate_limits.clone(),
            lease_counts: current.lease_counts.clone(),
            config: current.config.clone(),
        };
        change(&mut rules);
        rules.rate_limits.sort_by(|a, b| a.name.cmp(&b.name));
        rules.lease_counts.sort_by(|a, b| a.name.cmp(&b.name));
        self.replace(rules);
    }

    fn forget_buckets(&self, name: &str) {
        self.buckets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .forget(name);
    }
}

/// Whether `path` (slashes trimmed) is exempt under an exempt-list entry; an entry ending
/// in `*` is a prefix.
fn exempt(path: &str, entry: &str) -> bool {
    match entry.strip_suffix('*') {
        Some(prefix) => path.starts_with(prefix.trim_start_matches('/')),
        None => path == entry.trim_matches('/'),
    }
}

#[cfg(test)]
#[path = "quotas_tests.rs"]
mod quotas_tests;
