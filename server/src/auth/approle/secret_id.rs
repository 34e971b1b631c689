//! Secret IDs: generating (random or custom), looking up, destroying (by secret ID or by
//! accessor) and listing them, and [`spend`], which a login uses to check and consume one
//! under the engine's lock so a use-limited secret ID is never used more often than
//! allowed, however many logins race for it.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::{role, AppRole};
use crate::auth::token_fields::string_list;
use crate::barrier::StorageView;
use crate::cidr::{self, Cidr};
use crate::core::{fields, now_unix, Operation, Request, RequestError, Response};
use crate::engines::MountContext;
use crate::storage::TxnOp;

/// A stored secret ID (keyed by its HMAC; the secret ID itself is not stored).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct SecretIdEntry {
    pub accessor: String,
    /// Uses left; 0 = unlimited.
    pub num_uses: u64,
    pub ttl: u64,
    /// Unix seconds; 0 = never.
    pub expires_at: u64,
    pub creation_time: String,
    pub expiration_time: String,
    pub last_updated_time: String,
    pub metadata: Map<String, Value>,
    pub cidr_list: Vec<Cidr>,
    pub token_bound_cidrs: Vec<Cidr>,
}

/// What the accessor index points to.
#[derive(Serialize, Deserialize)]
pub(super) struct AccessorEntry {
    pub role_name: String,
    pub secret_id_hash: String,
}

pub(super) fn entry_key(role_name: &str, hash: &str) -> String {
    format!("secret_id/{role_name}/{hash}")
}

async fn accessor_key(
    engine: &AppRole,
    storage: &StorageView,
    accessor: &str,
) -> Result<String, RequestError> {
    Ok(format!(
        "accessor/{}",
        engine.hmac(storage, accessor).await?
    ))
}

/// `role/<name>/secret-id` and `role/<name>/custom-secret-id`.
pub(super) async fn generate(
    engine: &AppRole,
    ctx: &MountContext,
    name: &str,
    req: &Request,
    custom: bool,
) -> Result<Response, RequestError> {
    let storage = &ctx.storage;
    let role = role::load(storage, name)
        .await?
        .ok_or_else(|| RequestError::UnsupportedPath(format!("role {name:?} does not exist")))?;
    if !role.bind_secret_id {
        return Err(RequestError::invalid(
            "bind_secret_id is not set on the role",
        ));
    }
    let secret_id = if custom {
        required(req, "secret_id")?
    } else {
        crate::crypto::uuid_v4()
    };
    let entry = new_entry(&role, req)?;
    let hash = engine.hmac(storage, &secret_id).await?;
    let _guard = engine.lock(&hash).await;
    if storage.get(&entry_key(name, &hash)).await?.is_some() {
        return Err(RequestError::invalid("SecretID is already registered"));
    }
    let index = AccessorEntry {
        role_name: name.to_string(),
        secret_id_hash: hash.clone(),
    };
    storage
        .transaction(vec![
            TxnOp::Put(entry_key(name, &hash), to_bytes(&entry)),
            TxnOp::Put(
                accessor_key(engine, storage, &entry.accessor).await?,
                to_bytes(&index),
            ),
        ])
        .await?;
    Ok(Response::json(json!({
        "secret_id": secret_id,
        "secret_id_accessor": entry.accessor,
        "secret_id_num_uses": entry.num_uses,
        "secret_id_ttl": entry.ttl,
    })))
}

fn to_bytes<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("our stored types always serialise")
}

fn required(req: &Request, name: &str) -> Result<String, RequestError> {
    req.str_field(name)?
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| RequestError::invalid(format!("missing {name}")))
}

/// A new entry from the role's limits and the request's narrower ones.
fn new_entry(role: &role::Role, req: &Request) -> Result<SecretIdEntry, RequestError> {
    let data = &req.data;
    let ttl = match fields::seconds(data, "ttl")? {
        Some(ttl) if role.secret_id_ttl > 0 && (ttl == 0 || ttl > role.secret_id_ttl) => {
            return Err(RequestError::invalid(
                "ttl cannot be longer than the role's secret_id_ttl",
            ));
        }
        Some(ttl) if ttl > 0 => ttl,
        _ => role.secret_id_ttl,
    };
    let num_uses = match fields::count(data, "num_uses")? {
        Some(n) if role.secret_id_num_uses > 0 && (n == 0 || n > role.secret_id_num_uses) => {
            return Err(RequestError::invalid(
                "num_uses cannot be higher than the role's secret_id_num_uses",
            ));
        }
        Some(n) => n,
        None => role.secret_id_num_uses,
    };
    let cidr_list = narrower(data, "cidr_list", &role.secret_id_bound_cidrs)?;
    let token_bound_cidrs = narrower(data, "token_bound_cidrs", &role.token.bound_cidrs)?;
    let now = SystemTime::now();
    let (expires_at, expiration_time) = if ttl == 0 {
        (0, "0001-01-01T00:00:00Z".to_string())
    } else {
        let expires = now
            .checked_add(Duration::from_secs(ttl))
            .ok_or_else(|| RequestError::invalid("ttl is too long"))?;
        (now_unix() + ttl, crate::duration::rfc3339_nanos(expires))
    };
    let created = crate::duration::rfc3339_nanos(now);
    Ok(SecretIdEntry {
        accessor: crate::crypto::uuid_v4(),
        num_uses,
        ttl,
        expires_at,
        creation_time: created.clone(),
        expiration_time,
        last_updated_time: created,
        metadata: metadata(data)?,
        cidr_list,
        token_bound_cidrs,
    })
}

/// The request's CIDR list, which must lie inside the role's (when the role has one);
/// absent, the role's.
fn narrower(
    data: &Map<String, Value>,
    field: &str,
    role_blocks: &[Cidr],
) -> Result<Vec<Cidr>, RequestError> {
    let Some(list) = string_list(data, field)? else {
        return Ok(role_blocks.to_vec());
    };
    let blocks = cidr::parse_list(&list).map_err(|e| fields::conversion_error(field, e))?;
    let outside = blocks
        .iter()
        .find(|b| !role_blocks.is_empty() && !role_blocks.iter().any(|r| r.covers(b)));
    match outside {
        Some(block) => Err(RequestError::invalid(format!(
            "failed to verify the CIDR restrictions set on the secret ID: {field} {block} is not within the role's"
        ))),
        None if blocks.is_empty() => Ok(role_blocks.to_vec()),
        None => Ok(blocks),
    }
}

/// `metadata`: a JSON object of strings, or (as the Vault CLI sends it) a string holding one.
fn metadata(data: &Map<String, Value>) -> Result<Map<String, Value>, RequestError> {
    let bad = |why: &str| RequestError::invalid(format!("failed to parse metadata: {why}"));
    let parsed = match data.get("metadata") {
        None | Some(Value::Null) => return Ok(Map::new()),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(Map::new()),
        Some(Value::String(s)) => {
            serde_json::from_str::<Value>(s).map_err(|_| bad("not a JSON object"))?
        }
        Some(other) => other.clone(),
    };
    let Value::Object(map) = parsed else {
        return Err(bad("not a JSON object"));
    };
    if map.values().any(|v| !v.is_string()) {
        return Err(bad("every value must be a string"));
    }
    Ok(map)
}

/// Why a login's secret ID is refused, beyond "unknown".
pub(super) enum Refusal {
    Unknown,
    /// Outside the secret ID's `cidr_list`.
    Address,
    /// Outside the secret ID's `token_bound_cidrs`.
    TokenAddress,
}

/// Checks the secret ID whose HMAC is `hash` for `addr` and spends one of its uses,
/// deleting it on its last use or when it has expired. Holds the lock throughout.
pub(super) async fn spend(
    engine: &AppRole,
    storage: &StorageView,
    role_name: &str,
    hash: &str,
    addr: Option<std::net::IpAddr>,
) -> Result<Result<SecretIdEntry, Refusal>, RequestError> {
    let _guard = engine.lock(hash).await;
    let key = entry_key(role_name, hash);
    let Some(mut entry) = storage.get_json::<SecretIdEntry>(&key).await? else {
        return Ok(Err(Refusal::Unknown));
    };
    if entry.expires_at != 0 && now_unix() >= entry.expires_at {
        remove(engine, storage, role_name, hash, &entry).await?;
        return Ok(Err(Refusal::Unknown));
    }
    if !cidr::allows(&entry.cidr_list, addr) {
        return Ok(Err(Refusal::Address));
    }
    if !cidr::allows(&entry.token_bound_cidrs, addr) {
        return Ok(Err(Refusal::TokenAddress));
    }
    match entry.num_uses {
        0 => {}
        1 => remove(engine, storage, role_name, hash, &entry).await?,
        n => {
            entry.num_uses = n - 1;
            entry.last_updated_time = crate::duration::rfc3339_nanos(SystemTime::now());
            storage.put_json(&key, &entry).await?;
        }
    }
    Ok(Ok(entry))
}

async fn remove(
    engine: &AppRole,
    storage: &StorageView,
    role_name: &str,
    hash: &str,
    entry: &SecretIdEntry,
) -> Result<(), RequestError> {
    storage
        .transaction(vec![
            TxnOp::Delete(entry_key(role_name, hash)),
            TxnOp::Delete(accessor_key(engine, storage, &entry.accessor).await?),
        ])
        .await?;
    Ok(())
}

/// `role/<name>/secret-id/lookup|destroy` with `secret_id`.
pub(super) async fn by_secret_id(
    engine: &AppRole,
    ctx: &MountContext,
    name: &str,
    action: &str,
    req: &Request,
) -> Result<Response, RequestError> {
    let secret_id = required(req, "secret_id")?;
    let hash = engine.hmac(&ctx.storage, &secret_id).await?;
    act(engine, &ctx.storage, name, &hash, action, req.operation).await
}

/// `role/<name>/secret-id-accessor/lookup|destroy` with `secret_id_accessor`.
pub(super) async fn by_accessor(
    engine: &AppRole,
    ctx: &MountContext,
    name: &str,
    action: &str,
    req: &Request,
) -> Result<Response, RequestError> {
    let storage = &ctx.storage;
    let accessor = required(req, "secret_id_accessor")?;
    let index: Option<AccessorEntry> = storage
        .get_json(&accessor_key(engine, storage, &accessor).await?)
        .await?;
    let Some(index) = index.filter(|i| i.role_name == name) else {
        return Err(RequestError::invalid(format!(
            "failed to find accessor entry for secret_id_accessor: {accessor:?}"
        )));
    };
    act(
        engine,
        storage,
        name,
        &index.secret_id_hash,
        action,
        req.operation,
    )
    .await
}

async fn act(
    engine: &AppRole,
    storage: &StorageView,
    name: &str,
    hash: &str,
    action: &str,
    op: Operation,
) -> Result<Response, RequestError> {
    role::require(storage, name).await?;
    let write = matches!(op, Operation::Create | Operation::Update);
    let _guard = engine.lock(hash).await;
    let entry: Option<SecretIdEntry> = storage.get_json(&entry_key(name, hash)).await?;
    match (action, entry) {
        ("lookup", Some(entry)) if write => Ok(Response::data(lookup_view(&entry))),
        ("lookup", None) if write => Ok(Response::empty()),
        ("destroy", Some(entry)) if write || op == Operation::Delete => {
            remove(engine, storage, name, hash, &entry).await?;
            Ok(Response::empty())
        }
        ("destroy", None) if write || op == Operation::Delete => Ok(Response::empty()),
        ("lookup" | "destroy", _) => Err(RequestError::UnsupportedOperation),
        _ => Err(RequestError::unsupported_path()),
    }
}

fn lookup_view(entry: &SecretIdEntry) -> Map<String, Value> {
    let shown = |blocks: &[Cidr]| blocks.iter().map(ToString::to_string).collect::<Vec<_>>();
    let view = json!({
        "cidr_list": shown(&entry.cidr_list),
        "creation_time": entry.creation_time,
        "expiration_time": entry.expiration_time,
        "last_updated_time": entry.last_updated_time,
        "metadata": entry.metadata,
        "secret_id_accessor": entry.accessor,
        "secret_id_num_uses": entry.num_uses,
        "secret_id_ttl": entry.ttl,
        "token_bound_cidrs": shown(&entry.token_bound_cidrs),
    });
    match view {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// LIST `role/<name>/secret-id`: the accessors of the role's live secret IDs.
pub(super) async fn list(ctx: &MountContext, name: &str) -> Result<Response, RequestError> {
    let storage = &ctx.storage;
    role::require(storage, name).await?;
    let now = now_unix();
    let mut accessors = Vec::new();
    for hash in storage.list(&format!("secret_id/{name}/")).await? {
        let entry: Option<SecretIdEntry> = storage.get_json(&entry_key(name, &hash)).await?;
        if let Some(entry) = entry.filter(|e| e.expires_at == 0 || now < e.expires_at) {
            accessors.push(entry.accessor);
        }
    }
    accessors.sort();
    Response::list(accessors)
}

/// Deletes every secret ID of a role (the role is being deleted).
pub(super) async fn destroy_all(
    engine: &AppRole,
    storage: &StorageView,
    name: &str,
) -> Result<(), RequestError> {
    for hash in storage.list(&format!("secret_id/{name}/")).await? {
        let _guard = engine.lock(&hash).await;
        if let Some(entry) = storage
            .get_json::<SecretIdEntry>(&entry_key(name, &hash))
            .await?
        {
            remove(engine, storage, name, &hash, &entry).await?;
        }
    }
    Ok(())
}
