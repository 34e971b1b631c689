//! Tests of config errors: each one a user can meet, with where it points and what it says.

use super::*;

fn parse_error(text: &str) -> ConfigError {
    match parse_config(text) {
        Ok(config) => panic!("config should not parse: {config:?}\n{text}"),
        Err(error) => error,
    }
}

/// A minimal valid config with `extra` appended.
fn with_listener_and_storage(extra: &str) -> String {
    format!("listener \"tcp\" {{\n  tls_disable = true\n}}\nstorage \"inmem\" {{}}\n{extra}")
}

#[test]
fn error_missing_storage() {
    let error = parse_error("listener \"tcp\" {\n tls_disable = 1\n}\n");
    assert_eq!(error.problem(), Some(&Problem::MissingStorage));
    assert!(error
        .to_string()
        .contains("supported types: inmem, sled, postgresql"));
}

#[test]
fn error_missing_listener() {
    let error = parse_error("storage \"inmem\" {}\n");
    assert_eq!(error.problem(), Some(&Problem::MissingListener));
}

#[test]
fn error_missing_tls_files() {
    let error = parse_error(
        "storage \"inmem\" {}\n\nlistener \"tcp\" {\n  address = \"0.0.0.0:8200\"\n}\n",
    );
    assert_eq!(
        error.to_string(),
        "config line 3: listener \"tcp\": TLS is enabled but tls_cert_file is not set; \
         set both tls_cert_file and tls_key_file, or set tls_disable = true"
    );
    let error =
        parse_error("storage \"inmem\" {}\nlistener \"tcp\" {\n  tls_cert_file = \"c\"\n}\n");
    assert_eq!(
        error.problem(),
        Some(&Problem::MissingTlsFile {
            missing: "tls_key_file"
        })
    );
}

#[test]
fn error_bad_duration_names_the_key_and_line() {
    let error = parse_error(&with_listener_and_storage(
        "\nmax_lease_ttl = \"10 days\"\n",
    ));
    assert_eq!(error.line(), Some(6));
    let message = error.to_string();
    assert!(
        message.starts_with("config line 6: max_lease_ttl: invalid duration \"10 days\""),
        "{message}"
    );
}

#[test]
fn error_default_ttl_above_max() {
    let error = parse_error(&with_listener_and_storage("default_lease_ttl = \"800h\"\n"));
    assert_eq!(
        error.problem(),
        Some(&Problem::LeaseTtlOrder {
            default: "800h0m0s".to_owned(),
            max: "768h0m0s".to_owned()
        })
    );
}

#[test]
fn error_unknown_storage_type_lists_the_supported_ones() {
    let error = parse_error(
        "listener \"tcp\" {\n tls_disable = 1\n}\nstorage \"raft\" {\n path = \"/x\"\n}\n",
    );
    assert_eq!(
        error.to_string(),
        "config line 4: unsupported storage type \"raft\"; \
         Cofre supports \"inmem\", \"sled\" and \"postgresql\""
    );
}

#[test]
fn error_two_storage_blocks() {
    let error = parse_error(&with_listener_and_storage(
        "storage \"sled\" {\n path = \"/x\"\n}\n",
    ));
    assert_eq!(error.problem(), Some(&Problem::DuplicateStorage));
    assert_eq!(error.line(), Some(5));
    let error = parse_error(&with_listener_and_storage("backend \"inmem\" {}\n"));
    assert_eq!(error.problem(), Some(&Problem::DuplicateStorage));
}

#[test]
fn error_storage_missing_required_attributes() {
    let error = parse_error("listener \"tcp\" {\n tls_disable = 1\n}\nstorage \"sled\" {}\n");
    assert_eq!(
        error.to_string(),
        "config line 4: storage \"sled\": path is required"
    );
    let error = parse_error("listener \"tcp\" {\n tls_disable = 1\n}\nstorage \"postgresql\" {}\n");
    assert_eq!(
        error.problem(),
        Some(&Problem::MissingAttribute {
            attribute: "connection_url"
        })
    );
}

#[test]
fn error_postgresql_values() {
    let base = "listener \"tcp\" {\n tls_disable = 1\n}\nstorage \"postgresql\" {\n connection_url = \"u\"\n";
    let error = parse_error(&format!("{base} table = \"kv; drop table x\"\n}}\n"));
    assert!(
        matches!(error.problem(), Some(Problem::InvalidValue { key, .. }) if key == "table"),
        "{error}"
    );
    let error = parse_error(&format!("{base} max_parallel = 0\n}}\n"));
    assert_eq!(error.to_string(), "config line 6: storage \"postgresql\": max_parallel must be a whole number of 1 or more, not 0");
    let error = parse_error(&format!("{base} ha_enabled = \"maybe\"\n}}\n"));
    assert_eq!(
        error.to_string(),
        "config line 6: storage \"postgresql\": ha_enabled must be true or false (or 1 or 0), not \"maybe\""
    );
}

#[test]
fn error_unsupported_listener_and_labels() {
    let error =
        parse_error("storage \"inmem\" {}\nlistener \"unix\" {\n address = \"/run/x.sock\"\n}\n");
    assert_eq!(
        error.problem(),
        Some(&Problem::UnsupportedListener("unix".to_owned()))
    );
    let error = parse_error("storage \"inmem\" {}\nlistener {\n tls_disable = 1\n}\n");
    assert!(
        error
            .to_string()
            .contains("listener needs exactly one label"),
        "{error}"
    );
    let error = parse_error("listener \"tcp\" {\n tls_disable = 1\n}\nstorage \"a\" \"b\" {}\n");
    assert!(
        matches!(error.problem(), Some(Problem::WrongLabels { .. })),
        "{error}"
    );
}

#[test]
fn error_tls_settings() {
    let base =
        "storage \"inmem\" {}\nlistener \"tcp\" {\n tls_cert_file = \"c\"\n tls_key_file = \"k\"\n";
    let error = parse_error(&format!("{base} tls_min_version = \"tls11\"\n}}\n"));
    assert_eq!(error.line(), Some(5));
    assert!(
        error.to_string().contains("\"tls12\" or \"tls13\""),
        "{error}"
    );
    let error = parse_error(&format!(
        "{base} tls_require_and_verify_client_cert = true\n}}\n"
    ));
    assert!(
        matches!(error.problem(), Some(Problem::Unsupported { .. }))
            && error.to_string().contains("tls_client_ca_file"),
        "{error}"
    );
    let error = parse_error(&format!("{base} max_request_size = -1\n}}\n"));
    assert!(
        error
            .to_string()
            .contains("max_request_size is not supported: a negative size"),
        "{error}"
    );
}

#[test]
fn error_log_settings() {
    let error = parse_error(&with_listener_and_storage("log_level = \"verbose\"\n"));
    assert_eq!(
        error.to_string(),
        "config line 5: log_level must be one of trace, debug, info, warn, error, not \"verbose\""
    );
    let error = parse_error(&with_listener_and_storage("log_format = \"xml\"\n"));
    assert!(
        matches!(error.problem(), Some(Problem::InvalidValue { key, .. }) if key == "log_format")
    );
}

#[test]
fn error_seal_problems() {
    let error = parse_error(&with_listener_and_storage(
        "seal \"awskms\" {\n kms_key_id = \"x\"\n}\n",
    ));
    assert_eq!(
        error.problem(),
        Some(&Problem::UnsupportedSeal("awskms".to_owned()))
    );
    let error = parse_error(&with_listener_and_storage(
        "seal \"static\" {\n current_key_id = \"1\"\n}\n",
    ));
    assert_eq!(
        error.problem(),
        Some(&Problem::MissingAttribute {
            attribute: "current_key"
        })
    );
    let error = parse_error(&with_listener_and_storage(
        "seal \"static\" {\n current_key_id = \"1\"\n current_key = \"env://K\"\n previous_key = \"env://P\"\n}\n",
    ));
    assert_eq!(error.problem(), Some(&Problem::IncompletePreviousKey));
    let two = "seal \"static\" {\n current_key_id = \"1\"\n current_key = \"env://K\"\n}\n";
    let error = parse_error(&with_listener_and_storage(&format!("{two}{two}")));
    assert_eq!(error.problem(), Some(&Problem::DuplicateSeal));
}

#[test]
fn error_duplicate_audit_path() {
    let error = parse_error(&with_listener_and_storage(
        "audit \"file\" \"a\" {\n file_path = \"/x\"\n}\naudit \"socket\" \"a/\" {\n address = \"y\"\n}\n",
    ));
    assert_eq!(
        error.problem(),
        Some(&Problem::DuplicateAuditPath("a".to_owned()))
    );
    assert_eq!(error.line(), Some(8));
}

#[test]
fn error_shape_mistakes() {
    let error = parse_error("listener \"tcp\" {\n tls_disable = 1\n}\nstorage = \"sled\"\n");
    assert_eq!(
        error.problem(),
        Some(&Problem::NotABlock {
            key: "storage".to_owned()
        })
    );
    let error = parse_error(&with_listener_and_storage("ui {\n}\n"));
    assert_eq!(
        error.problem(),
        Some(&Problem::NotAnAttribute {
            key: "ui".to_owned()
        })
    );
    let error = parse_error(&with_listener_and_storage("ui = true\nui = false\n"));
    assert_eq!(error.line(), Some(6));
    assert!(error.to_string().contains("redefined attribute"), "{error}");
    let error = parse_error(&with_listener_and_storage("api_addr = var.address\n"));
    assert!(
        matches!(error.problem(), Some(Problem::Expression { .. })),
        "{error}"
    );
}

#[test]
fn error_syntax_points_at_line_and_column() {
    let error = parse_error("listener \"tcp\" {\n  address = \"x\n}\n");
    assert_eq!(error.line(), Some(2));
    assert!(
        error
            .to_string()
            .starts_with("config line 2: syntax error at column"),
        "{error}"
    );
    let error = parse_error("{\n  \"listener\": [\n}");
    assert_eq!(error.line(), Some(3));
    assert!(
        matches!(error.problem(), Some(Problem::Syntax { .. })),
        "{error}"
    );
}

#[test]
fn lines_stay_right_after_hcl1_rewriting() {
    let error = parse_error(concat!(
        "listener \"tcp\" { address = \"0.0.0.0:8200\" tls_disable = 1 }\n",
        "storage \"inmem\" {}\n",
        "ui = true log_level = \"loud\"\n",
    ));
    assert_eq!(error.line(), Some(3), "{error}");
}
