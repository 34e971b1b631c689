//! Audit devices: every authenticated request and its response recorded as one JSON line
//! each, in Vault's shape, with tokens and data values HMAC'd under each device's own key,
//! and every line chained to the one before it (see [`chain`]).
//!
//! The [`AuditBroker`] lives in `Unsealed`: devices declared in the server config are
//! enabled at unseal, devices enabled over the API are stored in the barrier at
//! `core/audit` (their keys at `core/audit-key/<path>`, for every device). Recording fails
//! closed: the pipeline refuses a request that no enabled device could record.

pub mod chain;
pub mod entry;
mod file;
pub mod options;
mod sink;
mod socket;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use tokio::sync::watch;
use tokio::task::JoinHandle;
use zeroize::Zeroizing;

use crate::barrier::{Barrier, BarrierError};
use crate::core::RequestError;
use crate::metrics::Metrics;
pub use entry::{Entry, Record};
pub use options::{DeviceSpec, Settings};
use sink::Sink;

const TABLE_PATH: &str = "core/audit";
const KEY_PREFIX: &str = "core/audit-key/";

/// Why an audit operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// A device's type or options are wrong; the message says which and why.
    #[error("{0}")]
    Invalid(String),
    #[error(
        "cannot enable audit device via API; declare it in the server configuration instead, \
         e.g. audit \"file\" \"{0}\" {{ file_path = \"/var/log/cofre/audit.log\" }}, and \
         restart (or set unsafe_allow_api_audit_creation = true in the configuration)"
    )]
    ApiCreationDisabled(String),
    #[error("path already in use: {0:?}")]
    PathInUse(String),
    #[error("unknown audit device {0:?}")]
    Unknown(String),
    #[error(
        "the audit device {0:?} is declared in the server configuration; remove it there \
         and restart to disable it"
    )]
    Declared(String),
    #[error("the audit device {path:?} cannot write: {source}")]
    Unwritable {
        path: String,
        source: std::io::Error,
    },
    /// Every enabled device failed to record an entry.
    #[error("no audit device could record the request")]
    NotRecorded,
    #[error(transparent)]
    Barrier(#[from] BarrierError),
}

impl From<AuditError> for RequestError {
    fn from(err: AuditError) -> Self {
        match err {
            AuditError::NotRecorded => {
                RequestError::internal("internal error: the request could not be audited")
            }
            AuditError::Barrier(e) => e.into(),
            other => RequestError::invalid(other.to_string()),
        }
    }
}

/// One enabled device.
struct Device {
    spec: DeviceSpec,
    settings: Settings,
    key: Zeroizing<Vec<u8>>,
    sink: Sink,
    /// This device's `cofre_audit_log_failures_total`.
    failures: Arc<AtomicU64>,
}

/// The enabled devices of an unsealed vault.
pub struct AuditBroker {
    barrier: Arc<Barrier>,
    metrics: Arc<Metrics>,
    devices: RwLock<Arc<Vec<Arc<Device>>>>,
    /// Whether any device is enabled: the only audit cost of a request when none is.
    enabled: AtomicBool,
    /// Serialises enable/disable (read-modify-write of the stored table).
    changes: tokio::sync::Mutex<()>,
    stop: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl AuditBroker {
    /// Enables the devices declared in the config and those stored by earlier API calls. A
    /// device whose file cannot be opened (or whose peer cannot be reached) stays enabled, so
    /// requests fail closed, and is retried at every write.
    pub async fn open(
        barrier: Arc<Barrier>,
        declared: &[crate::config::AuditDevice],
        metrics: Arc<Metrics>,
    ) -> Result<Self, AuditError> {
        let mut specs: Vec<DeviceSpec> = declared.iter().map(DeviceSpec::from_config).collect();
        for stored in load_table(&barrier).await? {
            if specs.iter().any(|s| s.path == stored.path) {
                tracing::warn!(path = %stored.path, "an audit device enabled over the API \
                    has the path of one declared in the config; the config's is used");
                continue;
            }
            specs.push(stored);
        }
        let mut devices = Vec::new();
        for spec in specs {
            let device = Device::new(&barrier, spec, &metrics).await?;
            if let Err(e) = device.sink.open(device.settings.timeout).await {
                tracing::error!(path = %device.spec.path, error = %e,
                    "audit device cannot open its file or connect; it retries at every \
                    write and requests fail while no device can record");
            }
            devices.push(Arc::new(device));
        }
        let (stop, _) = watch::channel(false);
        Ok(AuditBroker {
            barrier,
            metrics,
            enabled: AtomicBool::new(!devices.is_empty()),
            devices: RwLock::new(Arc::new(devices)),
            changes: tokio::sync::Mutex::new(()),
            stop,
            task: Mutex::new(None),
        })
    }

    /// Whether any device is enabled (one atomic load: the hot path when none is).
    pub fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Acquire)
    }

    fn snapshot(&self) -> Arc<Vec<Arc<Device>>> {
        self.devices
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn replace(&self, devices: Vec<Arc<Device>>) {
        self.enabled.store(!devices.is_empty(), Ordering::Release);
        *self.devices.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(devices);
    }

    /// The enabled devices, in the order they were enabled.
    pub fn list(&self) -> Vec<DeviceSpec> {
        self.snapshot().iter().map(|d| d.spec.clone()).collect()
    }

    /// Writes `entry` to every device, all at once: a slow device costs the request its own
    /// timeout, not the sum of every device's. Succeeds when at least one device recorded
    /// it (or none is enabled); a failing device is logged, counted and skipped.
    pub async fn log(&self, entry: &Entry<'_>) -> Result<(), AuditError> {
        let devices = self.snapshot();
        if devices.is_empty() {
            return Ok(());
        }
        let writes = devices.iter().map(|device| {
            let head = entry::render(entry, &device.settings, &device.key);
            device.sink.append(head, device.settings.timeout)
        });
        let results = futures_util::future::join_all(writes).await;
        let mut recorded = 0;
        for (device, result) in devices.iter().zip(results) {
            match result {
                Ok(()) => recorded += 1,
                Err(e) => {
                    device.failures.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(device = %device.spec.path, error = %e,
                        "audit device failed to record an entry")
                }
            }
        }
        if recorded == 0 {
            tracing::error!("no audit device recorded the entry; the request is refused");
            return Err(AuditError::NotRecorded);
        }
        Ok(())
    }

    /// Enables a device over the API (the caller checked that this is allowed) and stores
    /// it so it is enabled again at the next unseal.
    pub async fn enable(&self, mut spec: DeviceSpec) -> Result<(), AuditError> {
        let _guard = self.changes.lock().await;
        spec.path = options::normalize_path(&spec.path);
        spec.declared = false;
        if self.snapshot().iter().any(|d| d.spec.path == spec.path) {
            return Err(AuditError::PathInUse(spec.path));
        }
        let device = Device::new(&self.barrier, spec, &self.metrics).await?;
        if let Err(source) = device.sink.open(device.settings.timeout).await {
            self.barrier.delete(&key_path(&device.spec.path)).await?;
            return Err(AuditError::Unwritable {
                path: device.spec.path,
                source,
            });
        }
        let mut table = load_table(&self.barrier).await?;
        table.retain(|s| s.path != device.spec.path);
        table.push(device.spec.clone());
        save_table(&self.barrier, &table).await?;
        let mut devices = self.snapshot().as_ref().clone();
        devices.push(Arc::new(device));
        self.replace(devices);
        Ok(())
    }

    /// Disables a device enabled over the API; a path with no device is not an error.
    pub async fn disable(&self, path: &str) -> Result<(), AuditError> {
        let _guard = self.changes.lock().await;
        let path = options::normalize_path(path);
        let current = self.snapshot();
        let Some(device) = current.iter().find(|d| d.spec.path == path) else {
            return Ok(());
        };
        if device.spec.declared {
            return Err(AuditError::Declared(path));
        }
        let mut table = load_table(&self.barrier).await?;
        table.retain(|s| s.path != path);
        save_table(&self.barrier, &table).await?;
        self.barrier.delete(&key_path(&path)).await?;
        let devices = current
            .iter()
            .filter(|d| d.spec.path != path)
            .cloned()
            .collect();
        self.replace(devices);
        Ok(())
    }

    /// The hash the device at `path` writes for `input` (`sys/audit-hash`).
    pub fn hash(&self, path: &str, input: &str) -> Result<String, AuditError> {
        let path = options::normalize_path(path);
        let current = self.snapshot();
        let device = current
            .iter()
            .find(|d| d.spec.path == path)
            .ok_or(AuditError::Unknown(path))?;
        let hasher = entry::Hasher {
            key: &device.key,
            raw: false,
            hmac_accessor: true,
        };
        Ok(hasher.hash(input))
    }

    /// Starts the task that reopens every file on SIGHUP (for logrotate); it stops at seal.
    pub fn start(self: &Arc<Self>) {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let mut hangup = match signal(SignalKind::hangup()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for SIGHUP; audit files will \
                        still be reopened when moved or deleted");
                    return;
                }
            };
            let weak = Arc::downgrade(self);
            let mut stop = self.stop.subscribe();
            let task = tokio::spawn(async move {
                loop {
                    tokio::select! {
                        _ = stop.changed() => return,
                        got = hangup.recv() => if got.is_none() { return },
                    }
                    let Some(this) = weak.upgrade() else { return };
                    for device in this.snapshot().iter() {
                        device.sink.request_reopen();
                    }
                    tracing::info!("SIGHUP: audit devices reopen their files");
                }
            });
            *self.task.lock().unwrap_or_else(|e| e.into_inner()) = Some(task);
        }
    }

    /// Stops the SIGHUP task and waits for it.
    pub async fn shutdown(&self) {
        let _ = self.stop.send(true);
        let task = self.task.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

impl Device {
    async fn new(
        barrier: &Barrier,
        spec: DeviceSpec,
        metrics: &Metrics,
    ) -> Result<Self, AuditError> {
        let settings = Settings::parse(&spec)
            .map_err(|e| AuditError::Invalid(format!("audit device {:?}: {e}", spec.path)))?;
        let key = device_key(barrier, &spec.path).await?;
        let sink = Sink::new(&settings);
        Ok(Device {
            failures: metrics.audit_device_failures(&spec.path),
            spec,
            settings,
            key,
            sink,
        })
    }
}

fn key_path(device_path: &str) -> String {
    format!("{KEY_PREFIX}{}", device_path.trim_end_matches('/'))
}

/// The device's HMAC key, created at first use and kept in the barrier so hashes stay
/// comparable across restarts.
async fn device_key(barrier: &Barrier, path: &str) -> Result<Zeroizing<Vec<u8>>, AuditError> {
    let storage_path = key_path(path);
    if let Some(key) = barrier.get(&storage_path).await? {
        if key.len() == 32 {
            return Ok(Zeroizing::new(key));
        }
    }
    let key = crate::crypto::random_key::<32>();
    barrier.put(&storage_path, key.as_ref()).await?;
    Ok(Zeroizing::new(key.to_vec()))
}

async fn load_table(barrier: &Barrier) -> Result<Vec<DeviceSpec>, AuditError> {
    let Some(bytes) = barrier.get(TABLE_PATH).await? else {
        return Ok(Vec::new());
    };
    serde_json::from_slice(&bytes).map_err(|_| {
        AuditError::Invalid(format!("the stored audit table {TABLE_PATH} is malformed"))
    })
}

async fn save_table(barrier: &Barrier, table: &[DeviceSpec]) -> Result<(), AuditError> {
    let bytes = serde_json::to_vec(table).expect("audit device specs always serialise");
    barrier.put(TABLE_PATH, &bytes).await?;
    Ok(())
}

#[cfg(test)]
#[path = "broker_tests.rs"]
mod tests;
