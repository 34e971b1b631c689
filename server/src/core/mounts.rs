//! The mount table: which engine serves which path prefix. Two tables are stored in the
//! barrier, `core/mounts` (secrets engines) and `core/auth` (auth methods, paths under
//! `auth/`). Each entry has a UUID that names its storage prefix, so a mount can be moved
//! (`sys/remount`) without moving data.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Storage key of the secrets-engine table.
pub const MOUNTS_PATH: &str = "core/mounts";
/// Storage key of the auth-method table.
pub const AUTH_PATH: &str = "core/auth";

/// Per-mount tunables (`sys/mounts/<path>/tune`).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct MountConfig {
    /// Seconds; 0 = the system default.
    #[serde(default)]
    pub default_lease_ttl: u64,
    /// Seconds; 0 = the system default.
    #[serde(default)]
    pub max_lease_ttl: u64,
    #[serde(default)]
    pub force_no_cache: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub listing_visibility: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub audit_non_hmac_request_keys: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub audit_non_hmac_response_keys: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub passthrough_request_headers: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_response_headers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
}

/// One mounted engine or auth method.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MountEntry {
    /// With trailing slash, relative to its table: `secret/`, or `userpass/` under `auth/`.
    pub path: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub description: String,
    pub uuid: String,
    pub accessor: String,
    #[serde(default)]
    pub config: MountConfig,
    /// `None` renders as `"options": null`, as Vault does for engines without options.
    #[serde(default)]
    pub options: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub local: bool,
    #[serde(default)]
    pub seal_wrap: bool,
    #[serde(default)]
    pub external_entropy_access: bool,
    /// True for entries of the auth table.
    #[serde(default)]
    pub is_auth: bool,
}

impl MountEntry {
    pub fn new(path: &str, kind: &str, description: &str, is_auth: bool) -> Self {
        let uuid = crate::crypto::uuid_v4();
        let accessor_kind = if is_auth {
            format!("auth_{}", kind.replace('-', "_"))
        } else {
            kind.replace('-', "_")
        };
        Self {
            path: normalize_path(path),
            kind: kind.to_string(),
            description: description.to_string(),
            accessor: format!("{accessor_kind}_{}", &uuid[..8]),
            uuid,
            config: MountConfig::default(),
            options: None,
            local: false,
            seal_wrap: false,
            external_entropy_access: false,
            is_auth,
        }
    }

    /// The full API path prefix: `secret/` or `auth/userpass/`.
    pub fn api_path(&self) -> String {
        if self.is_auth {
            format!("auth/{}", self.path)
        } else {
            self.path.clone()
        }
    }

    /// The barrier prefix that holds this mount's data.
    pub fn storage_prefix(&self) -> String {
        let area = if self.is_auth { "auth/" } else { "logical/" };
        [area, self.uuid.as_str(), "/"].concat()
    }

    /// An option value (`version` for kv).
    pub fn option(&self, key: &str) -> Option<&str> {
        self.options.as_ref()?.get(key).map(String::as_str)
    }

    /// The entry as `sys/mounts` and `sys/auth` show it.
    pub fn to_api(&self) -> Value {
        let mut config = serde_json::to_value(&self.config).unwrap_or_else(|_| json!({}));
        if let Value::Object(map) = &mut config {
            map.retain(|k, v| !(k == "token_type" && v.is_null()));
        }
        json!({
            "accessor": self.accessor,
            "config": config,
            "description": self.description,
            "external_entropy_access": self.external_entropy_access,
            "local": self.local,
            "options": self.options,
            "plugin_version": "",
            "running_plugin_version": format!("v{}+builtin.cofre", crate::VERSION),
            "running_sha256": "",
            "seal_wrap": self.seal_wrap,
            "type": self.kind,
            "uuid": self.uuid,
        })
    }
}

/// `a/b` → `a/b/`; leading slashes removed.
pub fn normalize_path(path: &str) -> String {
    let trimmed = path.trim_start_matches('/');
    if trimmed.ends_with('/') {
        trimmed.to_string()
    } else {
        format!("{trimmed}/")
    }
}
