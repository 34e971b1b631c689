//! The server's metrics: a small in-house registry of relaxed atomics, read by
//! `sys/metrics` in Prometheus text format or Vault's JSON shape (see [`exposition`]).
//!
//! The hot path stays nearly free: a request adds to three atomics of its mount's
//! [`MountStats`] (a status-class counter, one histogram bucket and the histogram's sum),
//! which the router hands out with the route, so recording takes no lock and allocates
//! nothing. Labels are mount paths and accessors (chosen by operators, bounded), never
//! request paths, tokens or values. Gauges that need the core (seal status, lease counts)
//! are computed at scrape time by the caller.

pub mod exposition;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use exposition::{Family, Kind, Series, Value};

/// Upper bounds of the latency histograms' buckets, in microseconds (then `+Inf`).
const BUCKETS_MICROS: [u64; 14] = [
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 5_000_000,
];

/// A fixed-bucket latency histogram; buckets are stored per range and made cumulative when
/// rendered.
#[derive(Default)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS_MICROS.len() + 1],
    sum_micros: AtomicU64,
}

impl Histogram {
    /// Records one observation (two relaxed atomic adds).
    pub fn observe(&self, elapsed: Duration) {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let index = BUCKETS_MICROS
            .iter()
            .position(|&bound| micros <= bound)
            .unwrap_or(BUCKETS_MICROS.len());
        self.buckets[index].fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// The observations so far, cumulative per bucket as Prometheus wants them.
    pub fn value(&self) -> Value {
        let mut cumulative = 0;
        let mut buckets = Vec::with_capacity(BUCKETS_MICROS.len() + 1);
        for (index, bucket) in self.buckets.iter().enumerate() {
            cumulative += bucket.load(Ordering::Relaxed);
            let bound = BUCKETS_MICROS
                .get(index)
                .map_or(f64::INFINITY, |&micros| micros as f64 / 1e6);
            buckets.push((bound, cumulative));
        }
        Value::Histogram {
            buckets,
            sum: self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6,
            count: cumulative,
        }
    }

    fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).sum()
    }
}

/// The operations a request is counted under: Vault's six, plus requests that could not
/// be decoded.
const OPERATIONS: [&str; 7] = [
    "read", "create", "update", "patch", "delete", "list", "other",
];
/// Response status classes.
const STATUS_CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

#[derive(Default)]
struct OperationStats {
    statuses: [AtomicU64; STATUS_CLASSES.len()],
    latency: Histogram,
}

/// The request counters of one mount (or of requests served before routing).
pub struct MountStats {
    /// The mount's API path (`secret/`, `auth/userpass/`), or `none`.
    pub path: String,
    /// The mount's accessor, or `none`.
    pub accessor: String,
    operations: [OperationStats; OPERATIONS.len()],
}

impl MountStats {
    fn new(path: &str, accessor: &str) -> Self {
        MountStats {
            path: path.to_owned(),
            accessor: accessor.to_owned(),
            operations: Default::default(),
        }
    }

    /// Records one finished request: its operation (Vault's name; `None`: not decoded),
    /// HTTP status and duration. Three relaxed atomic adds.
    pub fn record(&self, operation: Option<&str>, status: u16, elapsed: Duration) {
        let other = OPERATIONS.len() - 1;
        let index = operation
            .and_then(|op| OPERATIONS[..other].iter().position(|known| *known == op))
            .unwrap_or(other);
        let stats = &self.operations[index];
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        stats.statuses[class].fetch_add(1, Ordering::Relaxed);
        stats.latency.observe(elapsed);
    }
}

/// Storage operations timed by [`crate::storage::timed::Timed`].
pub const STORAGE_OPERATIONS: [&str; 6] = ["get", "put", "delete", "list", "scan", "transaction"];

/// The server-wide registry: one per process, shared by the HTTP layer, the core, the
/// audit broker and the storage wrapper. Survives seal and unseal.
pub struct Metrics {
    /// Requests answered before a mount was known (unauthenticated system paths, sealed,
    /// unknown paths, undecodable requests).
    unrouted: Arc<MountStats>,
    /// The current mounts' stats, replaced at every router rebuild.
    mounts: Mutex<Vec<Arc<MountStats>>>,
    storage: [Histogram; STORAGE_OPERATIONS.len()],
    /// Failed writes per audit device path.
    audit_failures: Mutex<Vec<(String, Arc<AtomicU64>)>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            unrouted: Arc::new(MountStats::new("none", "none")),
            mounts: Mutex::new(Vec::new()),
            storage: Default::default(),
            audit_failures: Mutex::new(Vec::new()),
        }
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics { .. }")
    }
}

impl Metrics {
    /// The stats of requests not routed to a mount.
    pub fn unrouted(&self) -> &Arc<MountStats> {
        &self.unrouted
    }

    /// The stats of each mount `(api path, accessor)`, in order; counters of mounts that
    /// still exist are kept, those of removed mounts are dropped. Called at router
    /// rebuilds, never per request.
    pub fn set_mounts(&self, mounts: &[(String, String)]) -> Vec<Arc<MountStats>> {
        let mut current = self.mounts.lock().unwrap_or_else(|e| e.into_inner());
        let next: Vec<Arc<MountStats>> = mounts
            .iter()
            .map(|(path, accessor)| {
                current
                    .iter()
                    .find(|s| &s.path == path && &s.accessor == accessor)
                    .cloned()
                    .unwrap_or_else(|| Arc::new(MountStats::new(path, accessor)))
            })
            .collect();
        *current = next.clone();
        next
    }

    /// Records one storage operation's duration (`operation` is an index into
    /// [`STORAGE_OPERATIONS`]).
    pub fn observe_storage(&self, operation: usize, elapsed: Duration) {
        if let Some(histogram) = self.storage.get(operation) {
            histogram.observe(elapsed);
        }
    }

    /// The failure counter of the audit device at `path`.
    pub fn audit_device_failures(&self, path: &str) -> Arc<AtomicU64> {
        let mut devices = self
            .audit_failures
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some((_, counter)) = devices.iter().find(|(p, _)| p == path) {
            return counter.clone();
        }
        let counter = Arc::new(AtomicU64::new(0));
        devices.push((path.to_owned(), counter.clone()));
        counter
    }

    /// Total requests recorded so far (all mounts, all statuses).
    pub fn request_count(&self) -> u64 {
        let mounts = self
            .mounts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        std::iter::once(&self.unrouted)
            .chain(mounts.iter())
            .flat_map(|m| m.operations.iter())
            .map(|op| op.latency.count())
            .sum()
    }

    /// Every series this registry holds: requests per mount, storage latency, audit
    /// failures. The caller adds the gauges that need the core.
    pub fn families(&self) -> Vec<Family> {
        let mounts = self
            .mounts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut requests = Family::new(
            "cofre_route_requests_total",
            "Requests answered, by mount, operation and response status class.",
            Kind::Counter,
        );
        let mut latency = Family::new(
            "cofre_route_request_duration_seconds",
            "Time to answer a request, by mount and operation.",
            Kind::Histogram,
        );
        for mount in std::iter::once(&self.unrouted).chain(mounts.iter()) {
            for (operation, stats) in OPERATIONS.iter().zip(&mount.operations) {
                if stats.latency.count() == 0 {
                    continue;
                }
                let labels = [("mount", &mount.path), ("accessor", &mount.accessor)];
                for (class, counter) in STATUS_CLASSES.iter().zip(&stats.statuses) {
                    let n = counter.load(Ordering::Relaxed);
                    if n > 0 {
                        requests.push(
                            Series::labelled(&labels)
                                .label("operation", operation)
                                .label("status", class),
                            Value::Scalar(n as f64),
                        );
                    }
                }
                latency.push(
                    Series::labelled(&labels).label("operation", operation),
                    stats.latency.value(),
                );
            }
        }
        let mut storage = Family::new(
            "cofre_storage_operation_duration_seconds",
            "Time the storage backend took, by operation.",
            Kind::Histogram,
        );
        for (operation, histogram) in STORAGE_OPERATIONS.iter().zip(&self.storage) {
            storage.push(
                Series::default().label("operation", operation),
                histogram.value(),
            );
        }
        let mut audit = Family::new(
            "cofre_audit_log_failures_total",
            "Entries an audit device failed to record.",
            Kind::Counter,
        );
        for (path, counter) in self
            .audit_failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            audit.push(
                Series::default().label("device", path),
                Value::Scalar(counter.load(Ordering::Relaxed) as f64),
            );
        }
        vec![requests, latency, storage, audit]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(50));
        h.observe(Duration::from_micros(300));
        h.observe(Duration::from_secs(60));
        let Value::Histogram {
            buckets,
            count,
            sum,
        } = h.value()
        else {
            panic!("a histogram")
        };
        assert_eq!(count, 3);
        assert_eq!(buckets[0], (0.0001, 1));
        assert_eq!(buckets[2], (0.0005, 2));
        assert_eq!(buckets.last(), Some(&(f64::INFINITY, 3)));
        assert!((sum - 60.00035).abs() < 1e-9);
    }

    #[test]
    fn mounts_keep_their_counters_across_rebuilds() {
        let metrics = Metrics::default();
        let first = metrics.set_mounts(&[("secret/".into(), "kv_1".into())]);
        first[0].record(Some("read"), 200, Duration::from_millis(1));
        first[0].record(Some("read"), 404, Duration::from_millis(1));
        let second = metrics.set_mounts(&[
            ("secret/".into(), "kv_1".into()),
            ("db/".into(), "database_2".into()),
        ]);
        assert!(Arc::ptr_eq(&first[0], &second[0]));
        assert_eq!(metrics.request_count(), 2);
        let text = exposition::prometheus(&metrics.families());
        assert!(text.contains(
            "cofre_route_requests_total{mount=\"secret/\",accessor=\"kv_1\",operation=\"read\",status=\"4xx\"} 1"
        ), "{text}");
        metrics.set_mounts(&[]);
        assert_eq!(metrics.request_count(), 0, "removed mounts are dropped");
    }
}
