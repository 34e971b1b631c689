//! The server's configuration file, in Vault's shape, so a Vault config mostly loads unchanged.
//!
//! ```hcl
//! listener "tcp" {
//!   address       = "0.0.0.0:8200"
//!   tls_cert_file = "/etc/cofre/tls.crt"
//!   tls_key_file  = "/etc/cofre/tls.key"
//! }
//! storage "sled" { path = "/var/lib/cofre" }
//! api_addr          = "https://cofre.example.com:8200"
//! default_lease_ttl = "768h"
//! ```
//!
//! HCL (including the HCL1 forms Vault accepts) or JSON with the same shape. Keys Cofre does
//! not know are ignored with a warning in [`Config::warnings`], as Vault does; values of known
//! keys are checked, and errors name the file, the line and what to write instead.

mod blocks;
mod error;
#[cfg(test)]
mod error_tests;
mod fields;
mod source;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use zeroize::Zeroizing;

pub use error::{ConfigError, Problem};

use crate::duration::format_go;
use error::Warning;
use fields::Fields;

/// Vault's default for both `default_lease_ttl` and `max_lease_ttl`: 768h (32 days).
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(768 * 3600);
/// The request body limit when a listener sets none: 32 MiB, as in Vault.
pub const DEFAULT_MAX_REQUEST_SIZE: u64 = 32 * 1024 * 1024;
/// Where a listener listens when it sets no `address`.
pub const DEFAULT_ADDRESS: &str = "127.0.0.1:8200";

/// The parsed server configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// `listener "tcp"` blocks; at least one (except in dev mode, see [`Config::dev`]).
    pub listeners: Vec<Listener>,
    /// The one `storage` (or Vault's older `backend`) block.
    pub storage: Storage,
    /// `api_addr`: the address clients are told to use.
    pub api_addr: Option<String>,
    /// `cluster_addr`.
    pub cluster_addr: Option<String>,
    /// `default_lease_ttl`; 768h when unset or zero.
    pub default_lease_ttl: Duration,
    /// `max_lease_ttl`; 768h when unset or zero.
    pub max_lease_ttl: Duration,
    /// `log_level`: trace, debug, info (default), warn or error.
    pub log_level: LogLevel,
    /// `log_format`: standard (default) or json.
    pub log_format: LogFormat,
    /// `disable_mlock`.
    pub disable_mlock: bool,
    /// `ui`.
    pub ui: bool,
    /// A `seal "static"` block, for auto-unseal; `None` means Shamir key shares.
    pub seal: Option<Seal>,
    /// `unsafe_allow_api_audit_creation`: allow `sys/audit` to create devices (OpenBao's name).
    pub unsafe_allow_api_audit_creation: bool,
    /// `audit "type" "path" { ... }` blocks: audit devices declared in the file.
    pub audit_devices: Vec<AuditDevice>,
    /// The `telemetry` block.
    pub telemetry: Telemetry,
    /// The request body limit: the first listener's `max_request_size`, or 32 MiB.
    pub max_request_size: u64,
    /// One line per ignored key, with where it is, for the server to log at startup.
    pub warnings: Vec<String>,
}

/// A `listener "tcp"` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    /// `address`, host:port; 127.0.0.1:8200 by default.
    pub address: String,
    /// TLS settings; `None` when `tls_disable` is true.
    pub tls: Option<Tls>,
    /// `max_request_size` in bytes; `None` when unset or 0 (the default applies).
    pub max_request_size: Option<u64>,
}

/// A listener's TLS settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tls {
    /// `tls_cert_file`: the PEM certificate chain.
    pub cert_file: PathBuf,
    /// `tls_key_file`: the PEM private key.
    pub key_file: PathBuf,
    /// `tls_min_version`: tls12 (default) or tls13.
    pub min_version: TlsVersion,
    /// `tls_client_ca_file`: CA certificates that client certificates are checked against.
    pub client_ca_file: Option<PathBuf>,
    /// `tls_require_and_verify_client_cert`: refuse clients without a certificate (needs
    /// `client_ca_file`). Without it a client may present none, but one it presents must
    /// verify.
    pub require_client_cert: bool,
}

/// The lowest TLS version a listener accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsVersion {
    /// TLS 1.2 (`"tls12"`), the default.
    #[default]
    Tls12,
    /// TLS 1.3 (`"tls13"`).
    Tls13,
}

/// The storage backend.
#[derive(Clone, PartialEq, Eq)]
pub enum Storage {
    /// `storage "inmem" {}`: in memory, lost at exit (dev mode and tests).
    Inmem,
    /// `storage "sled" { path = "..." }`: the embedded on-disk store.
    Sled {
        /// The data directory.
        path: PathBuf,
    },
    /// `storage "postgresql" { connection_url = "..." }`: shared storage for HA.
    Postgresql {
        /// The connection URL; it usually holds a password, so `Debug` hides it.
        connection_url: String,
        /// `table`, default "cofre_store"; an SQL identifier, optionally `schema.table`.
        table: String,
        /// `max_parallel`: connection pool size, default 128.
        max_parallel: u32,
        /// `ha_enabled`, default false.
        ha_enabled: bool,
    },
}

impl fmt::Debug for Storage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Storage::Inmem => f.write_str("Inmem"),
            Storage::Sled { path } => f.debug_struct("Sled").field("path", path).finish(),
            Storage::Postgresql {
                table,
                max_parallel,
                ha_enabled,
                ..
            } => f
                .debug_struct("Postgresql")
                .field("connection_url", &"[redacted]")
                .field("table", table)
                .field("max_parallel", max_parallel)
                .field("ha_enabled", ha_enabled)
                .finish(),
        }
    }
}

/// `log_level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogLevel {
    /// "trace".
    Trace,
    /// "debug".
    Debug,
    /// "info" (also "notice"), the default.
    #[default]
    Info,
    /// "warn" (also "warning").
    Warn,
    /// "error" (also "err").
    Error,
}

/// `log_format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// "standard": human-readable lines, the default.
    #[default]
    Standard,
    /// "json": one JSON object per line.
    Json,
}

/// A `seal` block. Only parsed here: resolving and checking the keys is the seal's job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seal {
    /// `seal "static"`: auto-unseal with a 32-byte key from the environment or a file.
    Static(StaticSeal),
}

/// The settings of `seal "static"`, as OpenBao names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticSeal {
    /// `current_key_id`.
    pub current_key_id: String,
    /// `current_key`.
    pub current_key: KeySource,
    /// `previous_key_id`, set together with `previous_key` while rotating.
    pub previous_key_id: Option<String>,
    /// `previous_key`.
    pub previous_key: Option<KeySource>,
}

/// Where a static seal key comes from, as written in the config (not yet read or decoded).
#[derive(Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `file:///path`: read the key from this file.
    File(PathBuf),
    /// `env://NAME`: read the key from this environment variable.
    Env(String),
    /// The key itself, hex or base64, written in the config file.
    Inline(Zeroizing<String>),
}

impl KeySource {
    fn parse(text: String) -> KeySource {
        if let Some(path) = text.strip_prefix("file://") {
            return KeySource::File(PathBuf::from(path));
        }
        if let Some(name) = text.strip_prefix("env://") {
            return KeySource::Env(name.to_owned());
        }
        KeySource::Inline(Zeroizing::new(text))
    }
}

impl fmt::Debug for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::File(path) => f.debug_tuple("File").field(path).finish(),
            KeySource::Env(name) => f.debug_tuple("Env").field(name).finish(),
            KeySource::Inline(_) => f.write_str("Inline([redacted])"),
        }
    }
}

/// The `telemetry` block. Vault's `prometheus_retention_time` and `disable_hostname` are
/// accepted and have no effect (`sys/metrics` always serves Prometheus text).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Telemetry {
    /// `unauthenticated_metrics_access`: `sys/metrics` is served without a token.
    pub unauthenticated_metrics_access: bool,
}

/// An `audit "type" "path" { ... }` block. Only parsed here: the audit module checks options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditDevice {
    /// The first label: the device type, e.g. "file".
    pub device_type: String,
    /// The second label, without a trailing `/`; the type when there is no second label.
    pub path: String,
    /// `description`.
    pub description: String,
    /// `local`.
    pub local: bool,
    /// The `options { ... }` map, plus any other attributes written directly in the block
    /// (`file_path = "..."`).
    pub options: BTreeMap<String, String>,
}

impl AuditDevice {
    /// The `file_path` option of a file device.
    pub fn file_path(&self) -> Option<&str> {
        self.options.get("file_path").map(String::as_str)
    }
}

impl Config {
    /// The configuration of `cofre server -dev`: in-memory storage and one listener on
    /// 127.0.0.1:8200 without TLS.
    pub fn dev() -> Config {
        Config {
            listeners: vec![Listener {
                address: DEFAULT_ADDRESS.to_owned(),
                tls: None,
                max_request_size: None,
            }],
            storage: Storage::Inmem,
            api_addr: None,
            cluster_addr: None,
            default_lease_ttl: DEFAULT_LEASE_TTL,
            max_lease_ttl: DEFAULT_LEASE_TTL,
            log_level: LogLevel::Info,
            log_format: LogFormat::Standard,
            disable_mlock: true,
            ui: true,
            seal: None,
            unsafe_allow_api_audit_creation: false,
            audit_devices: Vec::new(),
            telemetry: Telemetry::default(),
            max_request_size: DEFAULT_MAX_REQUEST_SIZE,
            warnings: Vec::new(),
        }
    }
}

/// Parses configuration text: HCL, or JSON when it starts with `{`.
pub fn parse_config(text: &str) -> Result<Config, ConfigError> {
    let (mut config, warnings) = build(&source::parse(text)?)?;
    config.warnings = warnings.iter().map(|w| w.render(None)).collect();
    Ok(config)
}

/// Reads and parses a configuration file; errors and warnings name the file.
pub fn load_config(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let (mut config, warnings) = source::parse(&text)
        .and_then(|section| build(&section))
        .map_err(|error| error.in_file(path))?;
    config.warnings = warnings.iter().map(|w| w.render(Some(path))).collect();
    Ok(config)
}

fn build(section: &source::Section) -> Result<(Config, Vec<Warning>), ConfigError> {
    let mut fields = Fields::new("", section);
    let mut warnings = Vec::new();
    let listeners = blocks::listeners(&mut fields, &mut warnings)?;
    let storage = blocks::storage(&mut fields, &mut warnings)?;
    let (default_lease_ttl, max_lease_ttl) = lease_ttls(&mut fields)?;
    let config = Config {
        max_request_size: listeners
            .first()
            .and_then(|listener| listener.max_request_size)
            .unwrap_or(DEFAULT_MAX_REQUEST_SIZE),
        listeners,
        storage,
        api_addr: fields.string("api_addr")?,
        cluster_addr: fields.string("cluster_addr")?,
        default_lease_ttl,
        max_lease_ttl,
        log_level: log_level(&mut fields)?,
        log_format: log_format(&mut fields)?,
        disable_mlock: fields.bool("disable_mlock")?.unwrap_or(false),
        ui: fields.bool("ui")?.unwrap_or(false),
        seal: blocks::seal(&mut fields, &mut warnings)?,
        unsafe_allow_api_audit_creation: fields
            .bool("unsafe_allow_api_audit_creation")?
            .unwrap_or(false),
        audit_devices: blocks::audit_devices(&mut fields, &mut warnings)?,
        telemetry: blocks::telemetry(&mut fields, &mut warnings)?,
        warnings: Vec::new(),
    };
    fields.finish(&mut warnings);
    warnings.sort_by_key(|warning| warning.line);
    Ok((config, warnings))
}

/// Zero means "the default", as in Vault; the default may not exceed the maximum.
fn lease_ttls(fields: &mut Fields) -> Result<(Duration, Duration), ConfigError> {
    let or_default =
        |ttl: Option<Duration>| ttl.filter(|t| !t.is_zero()).unwrap_or(DEFAULT_LEASE_TTL);
    let default = or_default(fields.duration("default_lease_ttl")?);
    let max = or_default(fields.duration("max_lease_ttl")?);
    if default > max {
        let problem = Problem::LeaseTtlOrder {
            default: format_go(default),
            max: format_go(max),
        };
        return Err(fields.error(fields.line_of("default_lease_ttl"), problem));
    }
    Ok((default, max))
}

fn log_level(fields: &mut Fields) -> Result<LogLevel, ConfigError> {
    let Some(text) = fields.string("log_level")? else {
        return Ok(LogLevel::default());
    };
    match text.trim().to_ascii_lowercase().as_str() {
        "trace" => Ok(LogLevel::Trace),
        "debug" => Ok(LogLevel::Debug),
        "" | "info" | "notice" => Ok(LogLevel::Info),
        "warn" | "warning" => Ok(LogLevel::Warn),
        "err" | "error" => Ok(LogLevel::Error),
        _ => Err(fields.error(
            fields.line_of("log_level"),
            Problem::InvalidValue {
                key: "log_level".to_owned(),
                expected: "one of trace, debug, info, warn, error",
                found: format!("\"{text}\""),
            },
        )),
    }
}

fn log_format(fields: &mut Fields) -> Result<LogFormat, ConfigError> {
    let Some(text) = fields.string("log_format")? else {
        return Ok(LogFormat::default());
    };
    match text.trim().to_ascii_lowercase().as_str() {
        "" | "standard" => Ok(LogFormat::Standard),
        "json" => Ok(LogFormat::Json),
        _ => Err(fields.error(
            fields.line_of("log_format"),
            Problem::InvalidValue {
                key: "log_format".to_owned(),
                expected: "standard or json",
                found: format!("\"{text}\""),
            },
        )),
    }
}
