//! An audit device's definition ([`DeviceSpec`], as `sys/audit` shows and stores it) and the
//! checked settings its options give ([`Settings`]).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::AuditError;

/// How long one device may take to record one line before it counts as failed.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// A device as declared in the config or enabled over the API.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeviceSpec {
    /// With a trailing slash, as Vault shows it: `file/`.
    pub path: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub local: bool,
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// Declared in the server config (cannot be disabled over the API); not stored.
    #[serde(skip)]
    pub declared: bool,
}

impl DeviceSpec {
    /// A device from an `audit` block of the server config.
    pub fn from_config(device: &crate::config::AuditDevice) -> Self {
        DeviceSpec {
            path: normalize_path(&device.path),
            kind: device.device_type.clone(),
            description: device.description.clone(),
            local: device.local,
            options: device.options.clone(),
            declared: true,
        }
    }
}

/// `file`, `/file/` → `file/`.
pub fn normalize_path(path: &str) -> String {
    format!("{}/", path.trim().trim_matches('/'))
}

/// Where a file device writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Stdout,
    File(PathBuf),
}

/// A device's checked options.
#[derive(Clone, Debug)]
pub struct Settings {
    pub target: Target,
    /// Permissions of the file; `None` leaves an existing file's mode alone (`mode = "0000"`).
    pub mode: Option<u32>,
    pub prefix: String,
    pub log_raw: bool,
    pub hmac_accessor: bool,
    pub elide_list_responses: bool,
    pub timeout: Duration,
}

impl Settings {
    /// Checks a spec's type and options; the error says which option is wrong and why.
    pub fn parse(spec: &DeviceSpec) -> Result<Self, AuditError> {
        match spec.kind.as_str() {
            "file" => {}
            "socket" | "syslog" => {
                return Err(AuditError::Invalid(format!(
                    "audit device type {:?} is not supported yet; use \"file\" (file_path = \
                     \"stdout\" writes to standard output)",
                    spec.kind
                )))
            }
            other => {
                return Err(AuditError::Invalid(format!(
                    "unknown audit device type {other:?}; use \"file\""
                )))
            }
        }
        let option = |name: &str| spec.options.get(name).map(|v| v.trim());
        let target = match option("file_path") {
            None | Some("") => {
                return Err(AuditError::Invalid(
                    "file_path is required, e.g. file_path = \"/var/log/cofre/audit.log\" \
                     (or \"stdout\")"
                        .into(),
                ))
            }
            Some("stdout" | "/dev/stdout") => Target::Stdout,
            Some(path) => Target::File(PathBuf::from(path)),
        };
        match option("format") {
            None | Some("" | "json") => {}
            Some(other) => {
                return Err(AuditError::Invalid(format!(
                    "format {other:?} is not supported; use \"json\""
                )))
            }
        }
        Ok(Settings {
            target,
            mode: mode(option("mode"))?,
            prefix: spec.options.get("prefix").cloned().unwrap_or_default(),
            log_raw: boolean(option("log_raw"), "log_raw", false)?,
            hmac_accessor: boolean(option("hmac_accessor"), "hmac_accessor", true)?,
            elide_list_responses: boolean(
                option("elide_list_responses"),
                "elide_list_responses",
                false,
            )?,
            timeout: timeout(option("timeout"))?,
        })
    }
}

fn boolean(value: Option<&str>, name: &str, default: bool) -> Result<bool, AuditError> {
    match value {
        None | Some("") => Ok(default),
        Some("1" | "t" | "T" | "true" | "TRUE" | "True") => Ok(true),
        Some("0" | "f" | "F" | "false" | "FALSE" | "False") => Ok(false),
        Some(other) => Err(AuditError::Invalid(format!(
            "option {name} must be true or false, not {other:?}"
        ))),
    }
}

/// Octal permissions, default 0600 as Vault's; "0000" means "do not change the mode".
fn mode(value: Option<&str>) -> Result<Option<u32>, AuditError> {
    let Some(text) = value.filter(|v| !v.is_empty()) else {
        return Ok(Some(0o600));
    };
    match u32::from_str_radix(text, 8) {
        Ok(0) => Ok(None),
        Ok(mode) if mode <= 0o777 => Ok(Some(mode)),
        _ => Err(AuditError::Invalid(format!(
            "option mode must be octal permissions such as \"0600\", not {text:?}"
        ))),
    }
}

fn timeout(value: Option<&str>) -> Result<Duration, AuditError> {
    let Some(text) = value.filter(|v| !v.is_empty()) else {
        return Ok(DEFAULT_TIMEOUT);
    };
    let parsed = match text.parse::<u64>() {
        Ok(seconds) => Ok(Duration::from_secs(seconds)),
        Err(_) => crate::duration::parse_duration(text).map_err(|e| e.to_string()),
    };
    match parsed {
        Ok(d) if !d.is_zero() => Ok(d),
        _ => Err(AuditError::Invalid(format!(
            "option timeout must be a positive duration such as \"5s\", not {text:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(options: &[(&str, &str)]) -> DeviceSpec {
        DeviceSpec {
            path: "file/".into(),
            kind: "file".into(),
            description: String::new(),
            local: false,
            options: options
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            declared: false,
        }
    }

    #[test]
    fn defaults_and_overrides() {
        let s = Settings::parse(&spec(&[("file_path", "/tmp/a.log")])).unwrap();
        assert_eq!(s.target, Target::File("/tmp/a.log".into()));
        assert_eq!(s.mode, Some(0o600));
        assert!(s.hmac_accessor && !s.log_raw && !s.elide_list_responses);
        assert_eq!(s.timeout, DEFAULT_TIMEOUT);
        let s = Settings::parse(&spec(&[
            ("file_path", "stdout"),
            ("mode", "0000"),
            ("log_raw", "true"),
            ("timeout", "250ms"),
        ]))
        .unwrap();
        assert_eq!(s.target, Target::Stdout);
        assert_eq!(s.mode, None);
        assert!(s.log_raw);
        assert_eq!(s.timeout, Duration::from_millis(250));
    }

    #[test]
    fn bad_options_are_explained() {
        for options in [
            vec![],
            vec![("file_path", "/a"), ("format", "jsonx")],
            vec![("file_path", "/a"), ("mode", "999")],
            vec![("file_path", "/a"), ("log_raw", "maybe")],
            vec![("file_path", "/a"), ("timeout", "0s")],
        ] {
            assert!(Settings::parse(&spec(&options)).is_err(), "{options:?}");
        }
        let mut socket = spec(&[("address", "127.0.0.1:9")]);
        socket.kind = "socket".into();
        assert!(Settings::parse(&socket).is_err());
    }
}
