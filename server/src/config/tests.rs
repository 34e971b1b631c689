//! Tests of config parsing: the shapes Vault operators write (errors are in `error_tests`).

use super::*;

const PRODUCTION: &str = r#"
# A production server.
listener "tcp" {
  address         = "0.0.0.0:8200"
  tls_cert_file   = "/etc/cofre/tls/server.crt"
  tls_key_file    = "/etc/cofre/tls/server.key"
  tls_min_version = "tls13"
  tls_client_ca_file = "/etc/cofre/tls/clients.pem"
  max_request_size = 1048576
}

storage "sled" {
  path = "/var/lib/cofre"
}

seal "static" {
  current_key_id  = "20250606-1"
  current_key     = "file:///etc/cofre/unseal.key"
  previous_key_id = "20250306-1"
  previous_key    = "env://OLD_UNSEAL_KEY"
}

audit "file" "to-file" {
  description = "every request"
  options {
    file_path = "/var/log/cofre/audit.log"
    log_raw   = "false"
  }
}

api_addr          = "https://cofre.example.com:8200"
cluster_addr      = "https://10.0.0.5:8201"
default_lease_ttl = "24h"
max_lease_ttl     = "720h"
log_level         = "Warn"
log_format        = "json"
disable_mlock     = true
ui                = true
"#;

fn parse(text: &str) -> Config {
    match parse_config(text) {
        Ok(config) => config,
        Err(error) => panic!("config should parse: {error}\n{text}"),
    }
}

/// A minimal valid config with `extra` appended.
fn with_listener_and_storage(extra: &str) -> String {
    format!("listener \"tcp\" {{\n  tls_disable = true\n}}\nstorage \"inmem\" {{}}\n{extra}")
}

fn tls_listener(config: &Config) -> &Tls {
    match &config.listeners[0].tls {
        Some(tls) => tls,
        None => panic!("TLS should be on"),
    }
}

#[test]
fn production_config_with_tls() {
    let config = parse(PRODUCTION);
    assert_eq!(config.listeners.len(), 1);
    assert_eq!(config.listeners[0].address, "0.0.0.0:8200");
    let tls = tls_listener(&config);
    assert_eq!(tls.cert_file, PathBuf::from("/etc/cofre/tls/server.crt"));
    assert_eq!(tls.key_file, PathBuf::from("/etc/cofre/tls/server.key"));
    assert_eq!(tls.min_version, TlsVersion::Tls13);
    assert_eq!(
        tls.client_ca_file,
        Some(PathBuf::from("/etc/cofre/tls/clients.pem"))
    );
    assert_eq!(config.listeners[0].max_request_size, Some(1_048_576));
    assert_eq!(config.max_request_size, 1_048_576);
    assert_eq!(
        config.storage,
        Storage::Sled {
            path: "/var/lib/cofre".into()
        }
    );
    assert_eq!(
        config.api_addr.as_deref(),
        Some("https://cofre.example.com:8200")
    );
    assert_eq!(
        config.cluster_addr.as_deref(),
        Some("https://10.0.0.5:8201")
    );
    assert_eq!(config.default_lease_ttl, Duration::from_secs(24 * 3600));
    assert_eq!(config.max_lease_ttl, Duration::from_secs(720 * 3600));
    assert_eq!(config.log_level, LogLevel::Warn);
    assert_eq!(config.log_format, LogFormat::Json);
    assert!(config.disable_mlock && config.ui);
    assert!(!config.unsafe_allow_api_audit_creation);
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
}

#[test]
fn production_seal_and_audit_are_parsed() {
    let config = parse(PRODUCTION);
    let expected_seal = Seal::Static(StaticSeal {
        current_key_id: "20250606-1".to_owned(),
        current_key: KeySource::File("/etc/cofre/unseal.key".into()),
        previous_key_id: Some("20250306-1".to_owned()),
        previous_key: Some(KeySource::Env("OLD_UNSEAL_KEY".to_owned())),
    });
    assert_eq!(config.seal, Some(expected_seal));
    let device = &config.audit_devices[0];
    assert_eq!(
        (device.device_type.as_str(), device.path.as_str()),
        ("file", "to-file")
    );
    assert_eq!(device.description, "every request");
    assert_eq!(device.file_path(), Some("/var/log/cofre/audit.log"));
    assert_eq!(
        device.options.get("log_raw").map(String::as_str),
        Some("false")
    );
}

#[test]
fn defaults_apply() {
    let config = parse(&with_listener_and_storage(""));
    assert_eq!(config.default_lease_ttl, DEFAULT_LEASE_TTL);
    assert_eq!(config.max_lease_ttl, Duration::from_secs(768 * 3600));
    assert_eq!(config.log_level, LogLevel::Info);
    assert_eq!(config.log_format, LogFormat::Standard);
    assert_eq!(config.max_request_size, 32 * 1024 * 1024);
    assert_eq!(config.listeners[0].address, "127.0.0.1:8200");
    assert_eq!(config.listeners[0].max_request_size, None);
    assert!(!config.ui && !config.disable_mlock && config.seal.is_none());
}

#[test]
fn dev_config() {
    let config = Config::dev();
    assert_eq!(config.storage, Storage::Inmem);
    assert_eq!(config.listeners[0].address, "127.0.0.1:8200");
    assert_eq!(config.listeners[0].tls, None);
    assert_eq!(config.default_lease_ttl, DEFAULT_LEASE_TTL);
    assert_eq!(config.max_request_size, DEFAULT_MAX_REQUEST_SIZE);
}

#[test]
fn vault_one_line_listener_with_integer_tls_disable() {
    let config = parse(
        "storage \"inmem\" {}\nlistener \"tcp\" { address = \"0.0.0.0:8200\" tls_disable = 1 }\n",
    );
    assert_eq!(config.listeners[0].address, "0.0.0.0:8200");
    assert_eq!(config.listeners[0].tls, None);
}

#[test]
fn windows_line_endings_and_tabs() {
    let text =
        "listener \"tcp\" {\r\n\taddress = \"0.0.0.0:8200\"\r\n\ttls_disable = \"true\"\r\n}\r\n\
                storage \"sled\" {\r\n\tpath = \"C:\\\\cofre\"\r\n}\r\n";
    let config = parse(text);
    assert_eq!(config.listeners[0].address, "0.0.0.0:8200");
    assert_eq!(
        config.storage,
        Storage::Sled {
            path: "C:\\cofre".into()
        }
    );
}

#[test]
fn tls_disable_accepts_bool_int_and_string() {
    for value in ["true", "1", "\"true\"", "\"1\"", "\"TRUE\"", "\"t\""] {
        let text =
            format!("storage \"inmem\" {{}}\nlistener \"tcp\" {{\n  tls_disable = {value}\n}}\n");
        assert_eq!(parse(&text).listeners[0].tls, None, "{value}");
    }
    for value in ["false", "0", "\"false\""] {
        let text = format!(
            "storage \"inmem\" {{}}\nlistener \"tcp\" {{\n  tls_disable = {value}\n  \
             tls_cert_file = \"c\"\n  tls_key_file = \"k\"\n}}\n"
        );
        let tls = parse(&text).listeners[0].tls.clone();
        assert_eq!(
            tls.map(|t| t.min_version),
            Some(TlsVersion::Tls12),
            "{value}"
        );
    }
}

#[test]
fn storage_inmem_sled_and_backend_alias() {
    let inmem = parse("listener \"tcp\" {\n tls_disable = 1\n}\nstorage \"inmem\" {}\n");
    assert_eq!(inmem.storage, Storage::Inmem);
    let sled =
        parse("listener \"tcp\" {\n tls_disable = 1\n}\nbackend \"sled\" {\n path = \"/d\"\n}\n");
    assert_eq!(sled.storage, Storage::Sled { path: "/d".into() });
}

#[test]
fn storage_postgresql_with_defaults_and_vault_string_values() {
    let minimal = parse(&format!(
        "{}storage \"postgresql\" {{\n  connection_url = \"postgres://u:pw@db/cofre\"\n}}\n",
        "listener \"tcp\" {\n tls_disable = 1\n}\n"
    ));
    let expected = Storage::Postgresql {
        connection_url: "postgres://u:pw@db/cofre".to_owned(),
        table: "cofre_store".to_owned(),
        max_parallel: 128,
        ha_enabled: false,
    };
    assert_eq!(minimal.storage, expected);
    let full = parse(concat!(
        "listener \"tcp\" {\n tls_disable = 1\n}\n",
        "storage \"postgresql\" {\n  connection_url = \"postgres://db/x\"\n",
        "  table = \"cofre.kv\"\n  max_parallel = \"16\"\n  ha_enabled = \"true\"\n}\n",
    ));
    let expected = Storage::Postgresql {
        connection_url: "postgres://db/x".to_owned(),
        table: "cofre.kv".to_owned(),
        max_parallel: 16,
        ha_enabled: true,
    };
    assert_eq!(full.storage, expected);
}

#[test]
fn secrets_are_redacted_in_debug_output() {
    let config = parse(concat!(
        "listener \"tcp\" {\n tls_disable = 1\n}\n",
        "storage \"postgresql\" {\n  connection_url = \"postgres://u:hunter2@db/x\"\n}\n",
        "seal \"static\" {\n  current_key_id = \"1\"\n  current_key = \"c2VjcmV0LWtleQ==\"\n}\n",
    ));
    let debug = format!("{config:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(!debug.contains("c2VjcmV0LWtleQ=="), "{debug}");
    assert!(debug.contains("[redacted]"));
}

#[test]
fn durations_accept_strings_and_integer_seconds() {
    let config = parse(&with_listener_and_storage(
        "default_lease_ttl = 3600\nmax_lease_ttl = \"1.5h\"\n",
    ));
    assert_eq!(config.default_lease_ttl, Duration::from_secs(3600));
    assert_eq!(config.max_lease_ttl, Duration::from_secs(5400));
    let zero = parse(&with_listener_and_storage("default_lease_ttl = \"0\"\n"));
    assert_eq!(zero.default_lease_ttl, DEFAULT_LEASE_TTL);
}

#[test]
fn unknown_keys_are_ignored_with_located_warnings() {
    let config = parse(concat!(
        "listener \"tcp\" {\n  tls_disable = 1\n  proxy_protocol_behavior = \"x\"\n}\n",
        "storage \"inmem\" {}\n",
        "telemetry {\n  prometheus_retention_time = \"30s\"\n  statsd_address = \"x\"\n}\n",
        "cluster_name = \"prod\"\n",
    ));
    assert_eq!(
        config.warnings,
        [
            "config line 3: listener \"tcp\": \"proxy_protocol_behavior\" is unknown or unsupported and was ignored",
            "config line 8: telemetry: \"statsd_address\" is unknown or unsupported and was ignored",
            "config line 10: \"cluster_name\" is unknown or unsupported and was ignored",
        ]
    );
}

#[test]
fn json_config_has_the_same_shape() {
    let config = parse(
        r#"{
          "listener": [{"tcp": {"address": "0.0.0.0:8200", "tls_disable": "1"}}],
          "storage": {"sled": {"path": "/var/lib/cofre"}},
          "audit": [{"file": {"to-stdout": {"options": {"file_path": "/dev/stdout"}}}}],
          "default_lease_ttl": "1h",
          "ui": true,
          "pid_file": "/run/cofre.pid"
        }"#,
    );
    assert_eq!(config.listeners[0].address, "0.0.0.0:8200");
    assert_eq!(config.listeners[0].tls, None);
    assert_eq!(
        config.storage,
        Storage::Sled {
            path: "/var/lib/cofre".into()
        }
    );
    assert_eq!(config.audit_devices[0].path, "to-stdout");
    assert_eq!(config.audit_devices[0].file_path(), Some("/dev/stdout"));
    assert_eq!(config.default_lease_ttl, Duration::from_secs(3600));
    assert!(config.ui);
    assert_eq!(
        config.warnings,
        ["config: \"pid_file\" is unknown or unsupported and was ignored"]
    );
}

#[test]
fn audit_flat_options_and_single_label() {
    let config = parse(&with_listener_and_storage(concat!(
        "audit \"file\" {\n  file_path = \"/var/log/audit.log\"\n  local = true\n}\n",
        "audit \"socket\" \"remote/\" {\n  options = { address = \"127.0.0.1:9090\" socket_type = \"tcp\" }\n}\n",
    )));
    let [file, socket] = config.audit_devices.as_slice() else {
        panic!("two devices expected: {:?}", config.audit_devices);
    };
    assert_eq!((file.path.as_str(), file.local), ("file", true));
    assert_eq!(file.file_path(), Some("/var/log/audit.log"));
    assert_eq!(socket.path, "remote");
    assert_eq!(socket.options.len(), 2);
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
}

#[test]
fn unsafe_allow_api_audit_creation_is_read() {
    let config = parse(&with_listener_and_storage(
        "unsafe_allow_api_audit_creation = true\n",
    ));
    assert!(config.unsafe_allow_api_audit_creation);
}

#[test]
fn load_config_reads_a_file_and_names_it() {
    let dir = std::env::temp_dir().join(format!("cofre-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let good = dir.join("good.hcl");
    std::fs::write(&good, with_listener_and_storage("bogus = 1\n")).expect("write");
    let config = load_config(&good).expect("valid file");
    assert_eq!(
        config.warnings,
        [format!(
            "config file {} line 5: \"bogus\" is unknown or unsupported and was ignored",
            good.display()
        )]
    );
    let bad = dir.join("bad.hcl");
    std::fs::write(&bad, "listener \"tcp\" {\n tls_disable = 1\n}\n").expect("write");
    let message = load_config(&bad).map(|_| ()).unwrap_err().to_string();
    assert!(
        message.starts_with(&format!("config file {}: no storage", bad.display())),
        "{message}"
    );
    let missing = load_config(&dir.join("missing.hcl"))
        .map(|_| ())
        .unwrap_err();
    assert!(matches!(missing, ConfigError::Read { .. }), "{missing}");
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn telemetry_allows_unauthenticated_metrics() {
    let config = parse(&with_listener_and_storage(
        "telemetry {\n  unauthenticated_metrics_access = true\n  disable_hostname = true\n}\n",
    ));
    assert!(config.telemetry.unauthenticated_metrics_access);
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    let default = parse(&with_listener_and_storage(""));
    assert!(!default.telemetry.unauthenticated_metrics_access);
}
