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

/// The transport of a socket device (`socket_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocketType {
    Tcp,
    Unix,
}

/// Where a device's lines go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// A `file` device: a file, or the process's standard output.
    File(Target),
    /// A `socket` device: `address` is `host:port` for TCP, a filesystem path for Unix.
    Socket {
        address: String,
        socket_type: SocketType,
    },
}

/// A device's checked options.
#[derive(Clone, Debug)]
pub struct Settings {
    pub output: Output,
    /// Permissions of the file; `None` leaves an existing file's mode alone (`mode = "0000"`).
    pub mode: Option<u32>,
    pub prefix: String,
    pub log_raw: bool,
    pub hmac_accessor: bool,
    pub elide_list_responses: bool,
    /// How long one line may take: `write_timeout` (Vault's socket option) or `timeout`.
    pub timeout: Duration,
}

impl Settings {
    /// Checks a spec's type and options; the error says which option is wrong and why.
    pub fn parse(spec: &DeviceSpec) -> Result<Self, AuditError> {
        let option = |name: &str| spec.options.get(name).map(|v| v.trim());
        let output = match spec.kind.as_str() {
            "file" => Output::File(file_target(option("file_path"))?),
            "socket" => socket_output(option("address"), option("socket_type"))?,
            "syslog" => {
                return Err(AuditError::Invalid(
                    "audit device type \"syslog\" is not supported yet; use \"file\" \
                     (file_path = \"stdout\" writes to standard output) or \"socket\""
                        .into(),
                ))
            }
            other => {
                return Err(AuditError::Invalid(format!(
                    "unknown audit device type {other:?}; use \"file\" or \"socket\""
                )))
            }
        };
        match option("format") {
            None | Some("" | "json") => {}
            Some(other) => {
                return Err(AuditError::Invalid(format!(
                    "format {other:?} is not supported; use \"json\""
                )))
            }
        }
        let timeout = match option("write_timeout").filter(|v| !v.is_empty()) {
            Some(text) => duration(text, "write_timeout")?,
            None => match option("timeout").filter(|v| !v.is_empty()) {
                Some(text) => duration(text, "timeout")?,
                None => DEFAULT_TIMEOUT,
            },
        };
        Ok(Settings {
            output,
            mode: mode(option("mode"))?,
            prefix: spec.options.get("prefix").cloned().unwrap_or_default(),
            log_raw: boolean(option("log_raw"), "log_raw", false)?,
            hmac_accessor: boolean(option("hmac_accessor"), "hmac_accessor", true)?,
            elide_list_responses: boolean(
                option("elide_list_responses"),
                "elide_list_responses",
                false,
            )?,
            timeout,
        })
    }
}

fn file_target(file_path: Option<&str>) -> Result<Target, AuditError> {
    match file_path {
        None | Some("") => Err(AuditError::Invalid(
            "file_path is required, e.g. file_path = \"/var/log/cofre/audit.log\" \
             (or \"stdout\")"
                .into(),
        )),
        Some("stdout" | "/dev/stdout") => Ok(Target::Stdout),
        Some(path) => Ok(Target::File(PathBuf::from(path))),
    }
}

fn socket_output(address: Option<&str>, socket_type: Option<&str>) -> Result<Output, AuditError> {
    let socket_type = match socket_type {
        None | Some("" | "tcp") => SocketType::Tcp,
        Some("unix") => SocketType::Unix,
        Some(other) => {
            return Err(AuditError::Invalid(format!(
                "socket_type {other:?} is not supported; use \"tcp\" or \"unix\""
            )))
        }
    };
    let address = match (address, socket_type) {
        (None | Some(""), _) => {
            return Err(AuditError::Invalid(
                "address is required, e.g. address = \"127.0.0.1:9090\" (socket_type = \
                 \"tcp\") or a socket file's path (socket_type = \"unix\")"
                    .into(),
            ))
        }
        (Some(address), SocketType::Tcp) if !valid_host_port(address) => {
            return Err(AuditError::Invalid(format!(
                "address must be host:port for socket_type \"tcp\", not {address:?}"
            )))
        }
        (Some(address), _) => address.to_string(),
    };
    Ok(Output::Socket {
        address,
        socket_type,
    })
}

/// `host:port` with a numeric port (the host is resolved at each connect).
fn valid_host_port(address: &str) -> bool {
    match address.rsplit_once(':') {
        Some((host, port)) => !host.is_empty() && port.parse::<u16>().is_ok(),
        None => false,
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

fn duration(text: &str, name: &str) -> Result<Duration, AuditError> {
    let parsed = match text.parse::<u64>() {
        Ok(seconds) => Ok(Duration::from_secs(seconds)),
        Err(_) => crate::duration::parse_duration(text).map_err(|e| e.to_string()),
    };
    match parsed {
        Ok(d) if !d.is_zero() => Ok(d),
        _ => Err(AuditError::Invalid(format!(
            "option {name} must be a positive duration such as \"5s\", not {text:?}"
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
        assert_eq!(s.output, Output::File(Target::File("/tmp/a.log".into())));
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
        assert_eq!(s.output, Output::File(Target::Stdout));
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
        for options in [
            vec![],
            vec![("address", "127.0.0.1")],
            vec![("address", "/run/a.sock"), ("socket_type", "udp")],
            vec![("address", "127.0.0.1:9"), ("write_timeout", "soon")],
        ] {
            let mut socket = spec(&options);
            socket.kind = "socket".into();
            assert!(Settings::parse(&socket).is_err(), "{options:?}");
        }
        let mut syslog = spec(&[]);
        syslog.kind = "syslog".into();
        assert!(Settings::parse(&syslog).is_err());
    }

    #[test]
    fn socket_options() {
        let mut socket = spec(&[("address", "127.0.0.1:9090"), ("write_timeout", "2s")]);
        socket.kind = "socket".into();
        let s = Settings::parse(&socket).unwrap();
        let expected = Output::Socket {
            address: "127.0.0.1:9090".into(),
            socket_type: SocketType::Tcp,
        };
        assert_eq!(s.output, expected);
        assert_eq!(s.timeout, Duration::from_secs(2));
        let mut unix = spec(&[
            ("address", "/run/audit.sock"),
            ("socket_type", "unix"),
            ("timeout", "1s"),
        ]);
        unix.kind = "socket".into();
        let s = Settings::parse(&unix).unwrap();
        assert!(matches!(
            s.output,
            Output::Socket {
                socket_type: SocketType::Unix,
                ..
            }
        ));
        assert_eq!(s.timeout, Duration::from_secs(1));
    }
}
