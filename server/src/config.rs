//! STUB
use std::path::{Path, PathBuf};
#[derive(Debug, thiserror::Error)] #[error("x")] pub struct ConfigError;
#[derive(Debug, Clone)] pub enum LogLevel { Trace, Debug, Info, Warn, Error }
#[derive(Debug, Clone)] pub enum LogFormat { Standard, Json }
#[derive(Debug, Clone)] pub struct Tls { pub cert_file: PathBuf, pub key_file: PathBuf }
#[derive(Debug, Clone)] pub struct Listener { pub address: String, pub tls: Option<Tls>, pub max_request_size: Option<u64> }
#[derive(Debug, Clone)] pub enum Storage { Inmem, Sled { path: PathBuf }, Postgresql { connection_url: String } }
#[derive(Debug, Clone)] pub struct Config { pub listeners: Vec<Listener>, pub storage: Storage, pub default_lease_ttl: std::time::Duration, pub max_lease_ttl: std::time::Duration, pub log_level: LogLevel, pub log_format: LogFormat, pub max_request_size: u64, pub warnings: Vec<String> }
impl Config { pub fn dev() -> Config { todo!() } }
pub fn load_config(_p: &Path) -> Result<Config, ConfigError> { Err(ConfigError) }
