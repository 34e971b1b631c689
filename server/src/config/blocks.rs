//! The config's blocks: `listener`, `storage` (or `backend`), `seal`, `audit` and
//! `telemetry`.

use std::path::PathBuf;

use super::fields::Fields;
use super::source::{Content, Item, Section};
use super::{
    AuditDevice, ConfigError, KeySource, Listener, Problem, Seal, StaticSeal, Storage, Telemetry,
    Tls, TlsVersion, Warning, DEFAULT_ADDRESS,
};

const DEFAULT_POSTGRESQL_TABLE: &str = "cofre_store";
const DEFAULT_POSTGRESQL_MAX_PARALLEL: u32 = 128;

/// Every `listener` block; at least one is required.
pub(super) fn listeners(
    fields: &mut Fields,
    warnings: &mut Vec<Warning>,
) -> Result<Vec<Listener>, ConfigError> {
    let blocks = fields.blocks("listener")?;
    if blocks.is_empty() {
        return Err(fields.error(None, Problem::MissingListener));
    }
    blocks
        .into_iter()
        .map(|item| listener(item, warnings))
        .collect()
}

/// The one `storage` (or Vault's older name, `backend`) block.
pub(super) fn storage(
    fields: &mut Fields,
    warnings: &mut Vec<Warning>,
) -> Result<Storage, ConfigError> {
    let mut blocks = fields.blocks("storage")?;
    blocks.extend(fields.blocks("backend")?);
    match blocks.as_slice() {
        [] => Err(fields.error(None, Problem::MissingStorage)),
        [item] => storage_block(item, warnings),
        [_, second, ..] => Err(fields.error(second.line, Problem::DuplicateStorage)),
    }
}

/// The optional `seal` block.
pub(super) fn seal(
    fields: &mut Fields,
    warnings: &mut Vec<Warning>,
) -> Result<Option<Seal>, ConfigError> {
    match fields.blocks("seal")?.as_slice() {
        [] => Ok(None),
        [item] => seal_block(item, warnings).map(Some),
        [_, second, ..] => Err(fields.error(second.line, Problem::DuplicateSeal)),
    }
}

/// The optional `telemetry` block (the last one wins, as in Vault).
pub(super) fn telemetry(
    fields: &mut Fields,
    warnings: &mut Vec<Warning>,
) -> Result<Telemetry, ConfigError> {
    let mut telemetry = Telemetry::default();
    for item in fields.blocks("telemetry")? {
        let mut fields = Fields::new("telemetry", body(item));
        telemetry.unauthenticated_metrics_access = fields
            .bool("unauthenticated_metrics_access")?
            .unwrap_or(false);
        // Accepted for Vault configs; Cofre always serves Prometheus text.
        let _ = fields.duration("prometheus_retention_time")?;
        let _ = fields.bool("disable_hostname")?;
        fields.finish(warnings);
    }
    Ok(telemetry)
}

/// Every `audit` block; no two may share a path.
pub(super) fn audit_devices(
    fields: &mut Fields,
    warnings: &mut Vec<Warning>,
) -> Result<Vec<AuditDevice>, ConfigError> {
    let mut devices: Vec<AuditDevice> = Vec::new();
    for item in fields.blocks("audit")? {
        let device = audit_device(item, warnings)?;
        if devices.iter().any(|earlier| earlier.path == device.path) {
            let problem = Problem::DuplicateAuditPath(device.path);
            return Err(ConfigError::at(item.line, "audit", problem));
        }
        devices.push(device);
    }
    Ok(devices)
}

fn listener(item: &Item, warnings: &mut Vec<Warning>) -> Result<Listener, ConfigError> {
    let kind = single_label(item, "listener \"tcp\" { ... }")?;
    if kind != "tcp" {
        return Err(ConfigError::at(
            item.line,
            "",
            Problem::UnsupportedListener(kind),
        ));
    }
    let mut fields = Fields::new("listener \"tcp\"", body(item));
    let address = fields.string("address")?;
    let tls = tls(&mut fields, item.line)?;
    let max_request_size = max_request_size(&mut fields)?;
    fields.finish(warnings);
    Ok(Listener {
        address: address
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| DEFAULT_ADDRESS.to_owned()),
        tls,
        max_request_size,
    })
}

fn tls(fields: &mut Fields, block_line: Option<usize>) -> Result<Option<Tls>, ConfigError> {
    let disabled = fields.bool("tls_disable")?.unwrap_or(false);
    let cert_file = fields.string("tls_cert_file")?.filter(|f| !f.is_empty());
    let key_file = fields.string("tls_key_file")?.filter(|f| !f.is_empty());
    let min_version = tls_min_version(fields)?;
    let client_ca_file = fields
        .string("tls_client_ca_file")?
        .filter(|f| !f.is_empty());
    let require_client_cert = fields
        .bool("tls_require_and_verify_client_cert")?
        .unwrap_or(false);
    if require_client_cert && client_ca_file.is_none() && !disabled {
        let problem = Problem::Unsupported {
            key: "tls_require_and_verify_client_cert",
            reason: "client certificates are verified against tls_client_ca_file; set it \
                     to the PEM file of the CAs that issue your clients' certificates",
        };
        return Err(fields.error(
            fields.line_of("tls_require_and_verify_client_cert"),
            problem,
        ));
    }
    if disabled {
        return Ok(None);
    }
    let missing = |missing| fields.error(block_line, Problem::MissingTlsFile { missing });
    let cert_file = cert_file.ok_or_else(|| missing("tls_cert_file"))?;
    let key_file = key_file.ok_or_else(|| missing("tls_key_file"))?;
    Ok(Some(Tls {
        cert_file: PathBuf::from(cert_file),
        key_file: PathBuf::from(key_file),
        min_version,
        client_ca_file: client_ca_file.map(PathBuf::from),
        require_client_cert,
    }))
}

fn tls_min_version(fields: &mut Fields) -> Result<TlsVersion, ConfigError> {
    match fields.string("tls_min_version")?.as_deref().map(str::trim) {
        None | Some("") | Some("tls12") => Ok(TlsVersion::Tls12),
        Some("tls13") => Ok(TlsVersion::Tls13),
        Some(other) => {
            let problem = Problem::InvalidValue {
                key: "tls_min_version".to_owned(),
                expected: "\"tls12\" or \"tls13\" (TLS 1.0 and 1.1 are not supported)",
                found: format!("\"{other}\""),
            };
            Err(fields.error(fields.line_of("tls_min_version"), problem))
        }
    }
}

/// Bytes; 0 means the default. Vault treats a negative value as "no limit"; Cofre always limits.
fn max_request_size(fields: &mut Fields) -> Result<Option<u64>, ConfigError> {
    match fields.integer("max_request_size")? {
        None | Some((0, _)) => Ok(None),
        Some((size, line)) => match u64::try_from(size) {
            Ok(size) => Ok(Some(size)),
            Err(_) => {
                let problem = Problem::Unsupported {
                    key: "max_request_size",
                    reason: "a negative size (no limit) is not allowed; \
                             set a large number of bytes instead",
                };
                Err(fields.error(line, problem))
            }
        },
    }
}

fn storage_block(item: &Item, warnings: &mut Vec<Warning>) -> Result<Storage, ConfigError> {
    let kind = single_label(item, "storage \"sled\" { path = \"/var/lib/cofre\" }")?;
    let mut fields = Fields::new(format!("storage \"{kind}\""), body(item));
    let storage = match kind.as_str() {
        "inmem" => Storage::Inmem,
        "sled" => Storage::Sled {
            path: PathBuf::from(fields.required_string("path", item.line)?),
        },
        "postgresql" => postgresql(&mut fields, item.line)?,
        _ => {
            return Err(ConfigError::at(
                item.line,
                "",
                Problem::UnsupportedStorage(kind),
            ))
        }
    };
    fields.finish(warnings);
    Ok(storage)
}

fn postgresql(fields: &mut Fields, block_line: Option<usize>) -> Result<Storage, ConfigError> {
    let connection_url = fields.required_string("connection_url", block_line)?;
    let table = fields
        .string("table")?
        .unwrap_or_else(|| DEFAULT_POSTGRESQL_TABLE.to_owned());
    if !is_sql_table_name(&table) {
        let problem = Problem::InvalidValue {
            key: "table".to_owned(),
            expected: "a table name of letters, digits and _ (optionally schema.table)",
            found: format!("\"{table}\""),
        };
        return Err(fields.error(fields.line_of("table"), problem));
    }
    let max_parallel = match fields.integer("max_parallel")? {
        None => DEFAULT_POSTGRESQL_MAX_PARALLEL,
        Some((n, line)) => u32::try_from(n).ok().filter(|&n| n > 0).ok_or_else(|| {
            let problem = Problem::InvalidValue {
                key: "max_parallel".to_owned(),
                expected: "a whole number of 1 or more",
                found: n.to_string(),
            };
            fields.error(line, problem)
        })?,
    };
    Ok(Storage::Postgresql {
        connection_url,
        table,
        max_parallel,
        ha_enabled: fields.bool("ha_enabled")?.unwrap_or(false),
    })
}

/// The storage layer puts the table name into SQL, so only plain identifiers are allowed.
fn is_sql_table_name(name: &str) -> bool {
    let parts: Vec<&str> = name.split('.').collect();
    parts.len() <= 2
        && parts.iter().all(|part| {
            part.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

fn seal_block(item: &Item, warnings: &mut Vec<Warning>) -> Result<Seal, ConfigError> {
    let kind = single_label(item, "seal \"static\" { ... }")?;
    if kind != "static" {
        return Err(ConfigError::at(
            item.line,
            "",
            Problem::UnsupportedSeal(kind),
        ));
    }
    let mut fields = Fields::new("seal \"static\"", body(item));
    let current_key_id = fields.required_string("current_key_id", item.line)?;
    let current_key = KeySource::parse(fields.required_string("current_key", item.line)?);
    let previous_key_id = fields
        .string("previous_key_id")?
        .filter(|id| !id.is_empty());
    let previous_key = fields.string("previous_key")?.filter(|key| !key.is_empty());
    if previous_key_id.is_some() != previous_key.is_some() {
        return Err(fields.error(item.line, Problem::IncompletePreviousKey));
    }
    fields.finish(warnings);
    Ok(Seal::Static(StaticSeal {
        current_key_id,
        current_key,
        previous_key_id,
        previous_key: previous_key.map(KeySource::parse),
    }))
}

fn audit_device(item: &Item, warnings: &mut Vec<Warning>) -> Result<AuditDevice, ConfigError> {
    let (device_type, path) = match item.labels.as_slice() {
        [device_type] => (device_type.clone(), device_type.clone()),
        [device_type, path] => (device_type.clone(), path.trim_end_matches('/').to_owned()),
        _ => {
            return Err(wrong_labels(
                item,
                "a type and a path",
                "audit \"file\" \"to-file\" { ... }",
            ))
        }
    };
    let mut fields = Fields::new(format!("audit \"{device_type}\" \"{path}\""), body(item));
    let description = fields.string("description")?.unwrap_or_default();
    let local = fields.bool("local")?.unwrap_or(false);
    let mut options = fields.string_map("options")?;
    for (key, value) in fields.remaining_strings()? {
        if options.contains_key(&key) {
            let problem = Problem::DuplicateAttribute { key };
            return Err(fields.error(item.line, problem));
        }
        options.insert(key, value);
    }
    fields.finish(warnings);
    Ok(AuditDevice {
        device_type,
        path,
        description,
        local,
        options,
    })
}

fn single_label(item: &Item, example: &'static str) -> Result<String, ConfigError> {
    match item.labels.as_slice() {
        [label] => Ok(label.clone()),
        _ => Err(wrong_labels(item, "exactly one label, its type", example)),
    }
}

fn wrong_labels(item: &Item, expected: &'static str, example: &'static str) -> ConfigError {
    let problem = Problem::WrongLabels {
        block: item.key.clone(),
        expected,
        example,
    };
    ConfigError::at(item.line, "", problem)
}

/// The section of a block item (callers only pass blocks).
fn body(item: &Item) -> &Section {
    static EMPTY: Section = Section { items: Vec::new() };
    match &item.content {
        Content::Block(section) => section,
        Content::Attribute(_) => &EMPTY,
    }
}
