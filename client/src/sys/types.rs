//! Request and response types of the `sys/` API. Response fields are declared in the
//! order the `vault` CLI prints them, so `-format=json` output matches it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::secret::null_as_default;

/// `sys/health`.
///
/// ```no_run
/// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
/// let health: cofre_client::sys::Health = client.sys().health().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Health {
    /// Whether `sys/init` has run.
    #[serde(default, deserialize_with = "null_as_default")]
    pub initialized: bool,
    /// Whether the barrier is sealed.
    #[serde(default, deserialize_with = "null_as_default")]
    pub sealed: bool,
    /// Whether this node is an HA standby.
    #[serde(default, deserialize_with = "null_as_default")]
    pub standby: bool,
    /// The server's clock, in Unix seconds.
    #[serde(default, deserialize_with = "null_as_default")]
    pub server_time_utc: i64,
    /// The server's version.
    #[serde(default, deserialize_with = "null_as_default")]
    pub version: String,
    /// The cluster's name (empty while sealed).
    #[serde(default, deserialize_with = "null_as_default")]
    pub cluster_name: String,
    /// The cluster's id (empty while sealed).
    #[serde(default, deserialize_with = "null_as_default")]
    pub cluster_id: String,
}

/// `sys/seal-status`, also returned by `sys/unseal`.
///
/// ```no_run
/// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
/// let status: cofre_client::sys::SealStatus = client.sys().seal_status().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SealStatus {
    /// The seal type (`shamir`).
    #[serde(rename = "type", default, deserialize_with = "null_as_default")]
    pub seal_type: String,
    /// Whether the server is initialised.
    #[serde(default, deserialize_with = "null_as_default")]
    pub initialized: bool,
    /// Whether the barrier is sealed.
    #[serde(default, deserialize_with = "null_as_default")]
    pub sealed: bool,
    /// Key shares needed to unseal (threshold).
    #[serde(default, deserialize_with = "null_as_default")]
    pub t: u32,
    /// Key shares in total.
    #[serde(default, deserialize_with = "null_as_default")]
    pub n: u32,
    /// Shares submitted so far.
    #[serde(default, deserialize_with = "null_as_default")]
    pub progress: u32,
    /// The current unseal attempt's nonce.
    #[serde(default, deserialize_with = "null_as_default")]
    pub nonce: String,
    /// The server's version.
    #[serde(default, deserialize_with = "null_as_default")]
    pub version: String,
    /// When the server's source was committed.
    #[serde(default, deserialize_with = "null_as_default")]
    pub commit_date: String,
    /// Whether a seal migration is under way.
    #[serde(default, deserialize_with = "null_as_default")]
    pub migration: bool,
    /// The cluster's name.
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub cluster_name: String,
    /// The cluster's id.
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub cluster_id: String,
    /// Whether a recovery seal is used (auto-unseal).
    #[serde(default, deserialize_with = "null_as_default")]
    pub recovery_seal: bool,
    /// The storage backend's name.
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub storage_type: String,
    /// Older servers' name for `commit_date`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub build_date: String,
}

/// `sys/leader`.
///
/// ```no_run
/// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
/// let ha = client.sys().leader().await?.ha_enabled;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Leader {
    /// Whether HA is enabled.
    #[serde(default, deserialize_with = "null_as_default")]
    pub ha_enabled: bool,
    /// Whether this node leads.
    #[serde(default, deserialize_with = "null_as_default")]
    pub is_self: bool,
    /// The leader's API address.
    #[serde(default, deserialize_with = "null_as_default")]
    pub leader_address: String,
    /// The leader's cluster address.
    #[serde(default, deserialize_with = "null_as_default")]
    pub leader_cluster_address: String,
    /// Since when this node has led (RFC 3339).
    #[serde(default, deserialize_with = "null_as_default")]
    pub active_time: String,
}

/// A `sys/init` request.
///
/// ```no_run
/// let request = cofre_client::sys::InitRequest::new(5, 3);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct InitRequest {
    /// Number of unseal key shares.
    pub secret_shares: u32,
    /// Shares needed to unseal.
    pub secret_threshold: u32,
}

impl InitRequest {
    /// `shares` key shares of which `threshold` unseal.
    ///
    /// ```no_run
    /// let request = cofre_client::sys::InitRequest::new(1, 1);
    /// ```
    pub fn new(shares: u32, threshold: u32) -> Self {
        Self {
            secret_shares: shares,
            secret_threshold: threshold,
        }
    }
}

/// The `sys/init` answer: key shares and the initial root token. Handle with care.
///
/// ```no_run
/// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
/// let init = client.sys().init(&cofre_client::sys::InitRequest::new(1, 1)).await?;
/// let first_share = &init.keys_base64[0];
/// # Ok(()) }
/// ```
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InitResponse {
    /// Key shares, hex-encoded.
    #[serde(default, deserialize_with = "null_as_default")]
    pub keys: Vec<String>,
    /// Key shares, base64-encoded.
    #[serde(default, deserialize_with = "null_as_default")]
    pub keys_base64: Vec<String>,
    /// The initial root token.
    #[serde(default, deserialize_with = "null_as_default")]
    pub root_token: String,
}

impl std::fmt::Debug for InitResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InitResponse")
            .field("keys", &format_args!("[{} redacted]", self.keys.len()))
            .field("root_token", &"[redacted]")
            .finish()
    }
}

/// `sys/key-status`.
///
/// ```no_run
/// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
/// let status: cofre_client::sys::KeyStatus = client.sys().key_status().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KeyStatus {
    /// The current key term.
    #[serde(default, deserialize_with = "null_as_default")]
    pub term: u64,
    /// When it was installed (RFC 3339).
    #[serde(default, deserialize_with = "null_as_default")]
    pub install_time: String,
    /// Encryptions done with it (0 when the server does not count).
    #[serde(default, deserialize_with = "null_as_default")]
    pub encryptions: u64,
}

/// One entry of `sys/mounts`.
///
/// ```no_run
/// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
/// let mounts = client.sys().mounts().await?;
/// let kv_version = mounts["secret/"].options.as_ref().and_then(|o| o.get("version"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MountInfo {
    /// The mount's id.
    #[serde(default, deserialize_with = "null_as_default")]
    pub uuid: String,
    /// The engine type (`kv`, `cubbyhole`, `system`, …).
    #[serde(rename = "type", default, deserialize_with = "null_as_default")]
    pub mount_type: String,
    /// Free-form description.
    #[serde(default, deserialize_with = "null_as_default")]
    pub description: String,
    /// The mount's accessor.
    #[serde(default, deserialize_with = "null_as_default")]
    pub accessor: String,
    /// Lease settings.
    #[serde(default, deserialize_with = "null_as_default")]
    pub config: MountConfig,
    /// Engine options (`version` for KV).
    #[serde(default)]
    pub options: Option<BTreeMap<String, String>>,
    /// Whether the mount is local to this cluster.
    #[serde(default, deserialize_with = "null_as_default")]
    pub local: bool,
    /// Whether seal wrapping is on.
    #[serde(default, deserialize_with = "null_as_default")]
    pub seal_wrap: bool,
    /// Whether the engine may use external entropy.
    #[serde(default, deserialize_with = "null_as_default")]
    pub external_entropy_access: bool,
    /// The configured plugin version.
    #[serde(default, deserialize_with = "null_as_default")]
    pub plugin_version: String,
    /// The running plugin version.
    #[serde(default, deserialize_with = "null_as_default")]
    pub running_plugin_version: String,
    /// The running plugin's SHA-256.
    #[serde(default, deserialize_with = "null_as_default")]
    pub running_sha256: String,
    /// `supported`, `deprecated`, … (empty when not applicable).
    #[serde(default, deserialize_with = "null_as_default")]
    pub deprecation_status: String,
}

/// A mount's tunable settings as reported (`config` of [`MountInfo`], `…/tune`).
///
/// ```no_run
/// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
/// let ttl = client.sys().mount_tune("secret").await?.default_lease_ttl;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MountConfig {
    /// Default lease TTL in seconds (0 = the system default).
    #[serde(default, deserialize_with = "null_as_default")]
    pub default_lease_ttl: i64,
    /// Maximum lease TTL in seconds (0 = the system default).
    #[serde(default, deserialize_with = "null_as_default")]
    pub max_lease_ttl: i64,
    /// Whether caching is disabled.
    #[serde(default, deserialize_with = "null_as_default")]
    pub force_no_cache: bool,
    /// Request keys the audit log keeps in clear.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub audit_non_hmac_request_keys: Vec<String>,
    /// Response keys the audit log keeps in clear.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub audit_non_hmac_response_keys: Vec<String>,
    /// `unauth` or `hidden`, when set.
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub listing_visibility: String,
    /// Request headers passed through to the engine.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub passthrough_request_headers: Vec<String>,
    /// Response headers the engine may set.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub allowed_response_headers: Vec<String>,
    /// The token type of an auth mount, when set.
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub token_type: String,
    /// Engine options as reported by `…/tune`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<BTreeMap<String, String>>,
    /// The description as reported by `…/tune`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A request to enable a secrets engine ([`crate::sys::Sys::enable_mount`]).
///
/// ```no_run
/// let mut request = cofre_client::sys::MountRequest::new("kv");
/// request.description = "team secrets".into();
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MountRequest {
    /// The engine type (`kv`, …).
    #[serde(rename = "type")]
    pub mount_type: String,
    /// Free-form description.
    pub description: String,
    /// Lease settings.
    pub config: MountConfigInput,
    /// Local to this cluster.
    pub local: bool,
    /// Seal-wrap the engine's storage.
    pub seal_wrap: bool,
    /// Engine options (`version` = `"2"` for KV v2). Sent as `null` when unset, as
    /// the `vault` CLI does.
    pub options: Option<BTreeMap<String, String>>,
}

impl MountRequest {
    /// A request for an engine of `mount_type` with default settings.
    ///
    /// ```no_run
    /// let request = cofre_client::sys::MountRequest::new("kv");
    /// ```
    pub fn new(mount_type: &str) -> Self {
        Self {
            mount_type: mount_type.to_string(),
            ..Self::default()
        }
    }
}

/// Mount settings to set when enabling or tuning; `None` fields are left out.
///
/// ```no_run
/// let tune = cofre_client::sys::MountConfigInput { max_lease_ttl: Some("24h".into()), ..Default::default() };
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MountConfigInput {
    /// Default lease TTL (`"1h"`, `"system"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_lease_ttl: Option<String>,
    /// Maximum lease TTL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_lease_ttl: Option<String>,
    /// New description (tune only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Engine options to set (tune only; enable uses [`MountRequest::options`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<BTreeMap<String, String>>,
    /// Disable caching.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub force_no_cache: Option<bool>,
    /// `unauth` or `hidden`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listing_visibility: Option<String>,
}
