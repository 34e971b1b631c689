//! Seal lifecycle endpoints: `sys/health`, `sys/seal-status`, `sys/init`, `sys/unseal`,
//! `sys/leader` (no token needed), and `sys/seal`, `sys/rotate`, `sys/key-status`.

use std::sync::Arc;

use base64::Engine as _;
use serde_json::{json, Map, Value};
use zeroize::Zeroizing;

use super::{is_write, legacy, unsupported};
use crate::core::static_seal::STATIC_SEAL_TYPE;
use crate::core::{Core, Operation, Request, RequestError, Response, Unsealed};

/// Handles the system paths that need no token.
pub async fn handle_unauthenticated(core: &Core, req: &Request) -> Result<Response, RequestError> {
    match (req.path.trim_end_matches('/'), req.operation) {
        ("sys/health", Operation::Read) => health(core, req).await,
        ("sys/seal-status", Operation::Read) => Ok(Response::raw(200, seal_status(core).await?)),
        ("sys/init", Operation::Read) => {
            let initialized = core.is_initialized().await?;
            Ok(Response::raw(200, json!({ "initialized": initialized })))
        }
        ("sys/init", op) if is_write(op) => init(core, req).await,
        ("sys/unseal", op) if is_write(op) => unseal(core, req).await,
        ("sys/leader", Operation::Read) => leader(core).await,
        _ => unsupported(),
    }
}

/// `sys/leader`: on an HA store, whether this node holds the leader lock and the leader's
/// address. Every node serves reads and writes; the leader only runs the once-only work.
async fn leader(core: &Core) -> Result<Response, RequestError> {
    let Some(nodes) = core.ha_nodes().await? else {
        return Ok(Response::raw(200, json!({ "ha_enabled": false })));
    };
    let is_self = nodes.iter().any(|n| n.is_self && n.leader);
    let leader = nodes
        .iter()
        .find(|n| n.is_self && n.leader)
        .or_else(|| nodes.iter().find(|n| n.leader && !n.is_self));
    Ok(Response::raw(
        200,
        json!({
            "ha_enabled": true,
            "is_self": is_self,
            "leader_address": leader.map_or("", |n| n.api_addr.as_str()),
            "leader_cluster_address": "",
            "performance_standby": false,
            "performance_standby_last_remote_wal": 0,
        }),
    ))
}

/// `sys/storage/snapshot`: read → the encrypted store as one base64 blob (with its entry
/// count and SHA-256); write `{"snapshot": <base64>}` → replace the store and seal.
pub async fn snapshot(core: &Core, req: &Request) -> Result<Response, RequestError> {
    let b64 = base64::engine::general_purpose::STANDARD;
    match req.operation {
        Operation::Read => {
            let (blob, entries) = core.snapshot().await?;
            let mut data = Map::new();
            data.insert("format".into(), json!("cofre-snapshot-1"));
            data.insert("entries".into(), json!(entries));
            data.insert("size".into(), json!(blob.len()));
            data.insert("snapshot".into(), json!(b64.encode(&blob)));
            Ok(Response::data(data))
        }
        op if is_write(op) => {
            let text = req
                .str_field("snapshot")?
                .ok_or_else(|| RequestError::invalid("snapshot (base64) is required"))?;
            let blob = b64
                .decode(text.trim())
                .map_err(|_| RequestError::invalid("snapshot is not valid base64"))?;
            let entries = core.restore(&blob).await?;
            Ok(Response::json(
                json!({ "entries": entries, "sealed": true }),
            ))
        }
        _ => unsupported(),
    }
}

/// `sys/ha-status`: the live nodes of an HA store (this node alone otherwise).
pub async fn ha_status(core: &Core) -> Result<Response, RequestError> {
    let nodes = match core.ha_nodes().await? {
        Some(nodes) => nodes
            .iter()
            .map(|n| {
                json!({
                    "hostname": n.node_id,
                    "api_address": n.api_addr,
                    "cluster_address": "",
                    "active_node": n.leader,
                    "last_echo": n.last_seen,
                    "version": crate::VERSION,
                    "is_self": n.is_self,
                })
            })
            .collect(),
        None => vec![json!({
            "hostname": "",
            "api_address": "",
            "cluster_address": "",
            "active_node": true,
            "last_echo": null,
            "version": crate::VERSION,
            "is_self": true,
        })],
    };
    let mut data = Map::new();
    data.insert("nodes".into(), Value::from(nodes));
    Ok(legacy(data))
}

/// Handles `sys/seal`, `sys/rotate`, `sys/key-status` (paths relative to `sys/`).
pub async fn handle_authenticated(
    core: &Core,
    unsealed: &Arc<Unsealed>,
    req: &Request,
) -> Result<Response, RequestError> {
    match (req.path.trim_end_matches('/'), req.operation) {
        ("seal", op) if is_write(op) => {
            core.seal().await;
            Ok(Response::empty())
        }
        ("rotate", op) if is_write(op) => {
            let now = crate::duration::rfc3339_nanos(std::time::SystemTime::now());
            unsealed.barrier.rotate(now).await?;
            Ok(Response::empty())
        }
        ("key-status", Operation::Read) => {
            let status = unsealed.barrier.key_status();
            let mut data = Map::new();
            data.insert("term".into(), json!(status.term));
            data.insert("install_time".into(), json!(status.install_time));
            data.insert("encryptions".into(), json!(0));
            Ok(legacy(data))
        }
        _ => unsupported(),
    }
}

async fn seal_status(core: &Core) -> Result<Value, RequestError> {
    let config = core.seal_config().await?;
    let (progress, nonce) = core.unseal_progress().await;
    let (t, n) = config
        .as_ref()
        .map(|c| (c.secret_threshold, c.secret_shares))
        .unwrap_or((0, 0));
    let seal_type = match &config {
        Some(config) => config.kind.clone(),
        None if core.settings.static_seal.is_some() => STATIC_SEAL_TYPE.to_owned(),
        None => "shamir".to_owned(),
    };
    let recovery_seal = seal_type == STATIC_SEAL_TYPE;
    let mut status = json!({
        "type": seal_type,
        "initialized": config.is_some(),
        "sealed": core.is_sealed(),
        "t": t,
        "n": n,
        "progress": progress,
        "nonce": nonce,
        "version": crate::VERSION,
        "build_date": "",
        "migration": false,
        "recovery_seal": recovery_seal,
        "storage_type": core.storage_type(),
    });
    if let Ok(unsealed) = core.unsealed() {
        status["cluster_name"] = json!(unsealed.cluster_name());
        status["cluster_id"] = json!(unsealed.cluster_id());
    }
    Ok(status)
}

async fn health(core: &Core, req: &Request) -> Result<Response, RequestError> {
    let initialized = core.is_initialized().await?;
    let sealed = core.is_sealed();
    let code = |name: &str, default: u64| -> Result<u16, RequestError> {
        let code = req.uint_field(name)?.unwrap_or(default);
        u16::try_from(code)
            .ok()
            .filter(|c| (100..=599).contains(c))
            .ok_or_else(|| RequestError::invalid(format!("{name} must be an HTTP status code")))
    };
    let status = if !initialized {
        code("uninitcode", 501)?
    } else if sealed {
        code("sealedcode", 503)?
    } else {
        code("activecode", 200)?
    };
    let now = crate::core::now_unix();
    let mut body = json!({
        "initialized": initialized,
        "sealed": sealed,
        "standby": false,
        "performance_standby": false,
        "replication_performance_mode": "disabled",
        "replication_dr_mode": "disabled",
        "server_time_utc": now,
        "version": crate::VERSION,
    });
    if let Ok(unsealed) = core.unsealed() {
        body["cluster_name"] = json!(unsealed.cluster_name());
        body["cluster_id"] = json!(unsealed.cluster_id());
    }
    Ok(Response::raw(status, body))
}

async fn init(core: &Core, req: &Request) -> Result<Response, RequestError> {
    for unsupported_field in ["pgp_keys", "root_token_pgp_key"] {
        let given = match req.data.get(unsupported_field) {
            None | Some(Value::Null) => false,
            Some(Value::String(s)) => !s.is_empty(),
            Some(Value::Array(a)) => !a.is_empty(),
            Some(_) => true,
        };
        if given {
            return Err(RequestError::invalid(format!(
                "{unsupported_field} is not supported by this server"
            )));
        }
    }
    let count = |name: &str| -> Result<u8, RequestError> {
        let value = req.uint_field(name)?.unwrap_or(0);
        u8::try_from(value)
            .map_err(|_| RequestError::invalid(format!("{name} must be at most 255")))
    };
    if core.settings.static_seal.is_some() {
        return init_static(core, req).await;
    }
    let shares = count("secret_shares")?;
    let threshold = count("secret_threshold")?;
    let result = core.initialize(shares, threshold, None, false).await?;
    let b64 = base64::engine::general_purpose::STANDARD;
    let keys: Vec<String> = result
        .shares
        .iter()
        .map(|s| crate::crypto::hex(s))
        .collect();
    let keys_b64: Vec<String> = result
        .shares
        .iter()
        .map(|s| b64.encode(s.as_slice()))
        .collect();
    Ok(Response::raw(
        200,
        json!({
            "keys": keys,
            "keys_base64": keys_b64,
            "root_token": result.root_token.as_str(),
        }),
    ))
}

/// `sys/init` with a static seal: no unseal keys and no recovery keys (Cofre has no
/// operation that needs them), only the root token; the vault is unsealed at once.
async fn init_static(core: &Core, req: &Request) -> Result<Response, RequestError> {
    if req.uint_field("recovery_shares")?.unwrap_or(0) > 0 {
        return Err(RequestError::invalid(
            "recovery keys are not supported with the static seal: initialise with \
             recovery_shares=0 (bao operator init -recovery-shares=0 -recovery-threshold=0)",
        ));
    }
    let root_token = core.initialize_static().await?;
    let none: [&str; 0] = [];
    Ok(Response::raw(
        200,
        json!({
            "keys": none,
            "keys_base64": none,
            "recovery_keys": none,
            "recovery_keys_base64": none,
            "root_token": root_token.as_str(),
        }),
    ))
}

async fn unseal(core: &Core, req: &Request) -> Result<Response, RequestError> {
    if req.bool_field("reset")? == Some(true) {
        core.reset_unseal().await;
        return Ok(Response::raw(200, seal_status(core).await?));
    }
    let key = req
        .str_field("key")?
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            RequestError::invalid(
                "'key' must be specified in request body as JSON, or 'reset' set to true",
            )
        })?;
    let share = decode_key(key)?;
    if !core.is_initialized().await? {
        return Err(RequestError::invalid("Vault is not initialized"));
    }
    core.submit_unseal_key(share).await?;
    Ok(Response::raw(200, seal_status(core).await?))
}

/// Unseal keys come as hex (what `sys/init` calls `keys`) or base64 (`keys_base64`).
fn decode_key(key: &str) -> Result<Zeroizing<Vec<u8>>, RequestError> {
    let key = key.trim();
    if let Some(bytes) = crate::crypto::unhex(key) {
        return Ok(Zeroizing::new(bytes));
    }
    base64::engine::general_purpose::STANDARD
        .decode(key)
        .map(Zeroizing::new)
        .map_err(|_| RequestError::invalid("'key' must be a valid hex or base64 string"))
}
