//! `sys/mounts`, `sys/auth`, `sys/remount` and `sys/internal/ui/mounts`: listing, enabling,
//! disabling, tuning and moving secrets engines and auth methods.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::{is_write, legacy, unsupported};
use crate::core::mounts::MountEntry;
use crate::core::{Operation, Request, RequestError, Response, Unsealed};
use crate::engines::MountContext;

/// Dispatches `mounts…`, `auth…` and `remount` (paths relative to `sys/`).
pub async fn handle(unsealed: &Arc<Unsealed>, req: &Request) -> Result<Response, RequestError> {
    let path = req.path.trim_end_matches('/');
    if path == "remount" {
        return remount(unsealed, req).await;
    }
    if let Some(id) = path.strip_prefix("remount/status/") {
        return remount_status(unsealed, id);
    }
    let (auth, rest) = match path.split_once('/') {
        Some((top, rest)) => (top == "auth", rest),
        None => (path == "auth", ""),
    };
    if rest.is_empty() {
        return match req.operation {
            Operation::Read => list(unsealed, auth).await,
            _ => unsupported(),
        };
    }
    if let Some(mount) = rest.strip_suffix("/tune") {
        return tune(unsealed, auth, mount, req).await;
    }
    match req.operation {
        Operation::Read => read_one(unsealed, auth, rest),
        op if is_write(op) => enable(unsealed, auth, rest, req).await,
        Operation::Delete => {
            unsealed.disable_mount(auth, rest).await?;
            Ok(Response::empty())
        }
        _ => unsupported(),
    }
}

async fn list(unsealed: &Unsealed, auth: bool) -> Result<Response, RequestError> {
    let mut data = Map::new();
    for entry in unsealed.table(auth).await? {
        data.insert(entry.path.clone(), entry.to_api());
    }
    Ok(legacy(data))
}

fn read_one(unsealed: &Unsealed, auth: bool, path: &str) -> Result<Response, RequestError> {
    let prefix = api_prefix(auth, path);
    let route = unsealed
        .router
        .find(&prefix)
        .ok_or_else(|| RequestError::invalid(format!("no mount at {prefix:?}")))?;
    Ok(legacy(as_map(route.entry.to_api())))
}

fn api_prefix(auth: bool, path: &str) -> String {
    let path = crate::core::mounts::normalize_path(path);
    if auth {
        format!("auth/{path}")
    } else {
        path
    }
}

fn as_map(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

async fn enable(
    unsealed: &Unsealed,
    auth: bool,
    path: &str,
    req: &Request,
) -> Result<Response, RequestError> {
    let kind = req
        .str_field("type")?
        .filter(|t| !t.is_empty())
        .ok_or_else(|| RequestError::invalid("missing mount type"))?;
    if matches!(kind, "token" | "system" | "cubbyhole" | "identity") {
        return Err(RequestError::invalid(format!(
            "cannot enable another {kind:?} mount: it is built in and mounted once"
        )));
    }
    let description = req.str_field("description")?.unwrap_or("");
    let mut entry = MountEntry::new(path, kind, description, auth);
    entry.local = req.bool_field("local")?.unwrap_or(false);
    entry.seal_wrap = req.bool_field("seal_wrap")?.unwrap_or(false);
    entry.options = options(req)?;
    if kind == "kv" && entry.options.is_none() {
        entry.options = Some(BTreeMap::from([("version".to_string(), "1".to_string())]));
    }
    if let Some(config) = req.data.get("config").filter(|c| !c.is_null()) {
        let config_req = sub_request(req, config)?;
        apply_tune(&mut entry, &config_req)?;
    }
    unsealed.enable_mount(entry).await?;
    Ok(Response::empty())
}

/// `options` as a string map (`{"version": "2"}`; numbers are turned into strings).
fn options(req: &Request) -> Result<Option<BTreeMap<String, String>>, RequestError> {
    match req.data.get("options") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                Value::Number(n) => Ok((k.clone(), n.to_string())),
                Value::Bool(b) => Ok((k.clone(), b.to_string())),
                _ => Err(RequestError::invalid(format!(
                    "option {k:?} must be a string"
                ))),
            })
            .collect::<Result<BTreeMap<_, _>, _>>()
            .map(Some),
        Some(_) => Err(RequestError::invalid("options must be a map of strings")),
    }
}

/// A request whose data is a nested object of `req` (`config` of a mount).
fn sub_request(req: &Request, value: &Value) -> Result<Request, RequestError> {
    let Value::Object(map) = value else {
        return Err(RequestError::invalid("config must be an object"));
    };
    Ok(Request::new(req.operation, req.path.clone()).with_data(map.clone()))
}

/// Applies tunable fields from `req` to `entry`.
fn apply_tune(entry: &mut MountEntry, req: &Request) -> Result<(), RequestError> {
    if let Some(ttl) = req.duration_field("default_lease_ttl")? {
        entry.config.default_lease_ttl = ttl;
    }
    if let Some(ttl) = req.duration_field("max_lease_ttl")? {
        entry.config.max_lease_ttl = ttl;
    }
    if entry.config.max_lease_ttl != 0
        && entry.config.default_lease_ttl > entry.config.max_lease_ttl
    {
        return Err(RequestError::invalid(
            "default lease TTL cannot be larger than max lease TTL",
        ));
    }
    if let Some(description) = req.str_field("description")? {
        entry.description = description.to_string();
    }
    if let Some(force) = req.bool_field("force_no_cache")? {
        entry.config.force_no_cache = force;
    }
    if let Some(visibility) = req.str_field("listing_visibility")? {
        if !matches!(visibility, "" | "unauth" | "hidden") {
            return Err(RequestError::invalid(format!(
                "invalid listing_visibility {visibility:?}"
            )));
        }
        entry.config.listing_visibility = visibility.to_string();
    }
    for (field, target) in [
        (
            "audit_non_hmac_request_keys",
            &mut entry.config.audit_non_hmac_request_keys,
        ),
        (
            "audit_non_hmac_response_keys",
            &mut entry.config.audit_non_hmac_response_keys,
        ),
        (
            "passthrough_request_headers",
            &mut entry.config.passthrough_request_headers,
        ),
        (
            "allowed_response_headers",
            &mut entry.config.allowed_response_headers,
        ),
    ] {
        if let Some(list) = req.string_list(field)? {
            *target = list;
        }
    }
    Ok(())
}

async fn tune(
    unsealed: &Unsealed,
    auth: bool,
    path: &str,
    req: &Request,
) -> Result<Response, RequestError> {
    match req.operation {
        Operation::Read => {
            let prefix = api_prefix(auth, path);
            let route = unsealed.router.find(&prefix).ok_or_else(|| {
                RequestError::invalid(format!("cannot fetch sysview for path {prefix:?}"))
            })?;
            Ok(legacy(tune_view(unsealed, &route.entry)))
        }
        op if is_write(op) => {
            let new_options = options(req)?;
            unsealed
                .tune_mount(auth, path, |entry| {
                    apply_tune(entry, req)?;
                    if let Some(opts) = new_options {
                        merge_options(entry, opts)?;
                    }
                    Ok(())
                })
                .await?;
            Ok(Response::empty())
        }
        _ => unsupported(),
    }
}

/// Options are merged; a kv mount's version may go up (1 → 2) but never down.
fn merge_options(
    entry: &mut MountEntry,
    new: BTreeMap<String, String>,
) -> Result<(), RequestError> {
    let current = entry.options.get_or_insert_with(BTreeMap::new);
    if let (Some(old), Some(next)) = (current.get("version"), new.get("version")) {
        if entry.kind == "kv" && next < old {
            return Err(RequestError::invalid(
                "cannot downgrade mount from version 2",
            ));
        }
    }
    current.extend(new);
    Ok(())
}

fn tune_view(unsealed: &Unsealed, entry: &MountEntry) -> Map<String, Value> {
    let or_system = |v: u64, system: std::time::Duration| if v == 0 { system.as_secs() } else { v };
    let mut data = as_map(json!({
        "default_lease_ttl": or_system(entry.config.default_lease_ttl, unsealed.settings.default_lease_ttl),
        "max_lease_ttl": or_system(entry.config.max_lease_ttl, unsealed.settings.max_lease_ttl),
        "description": entry.description,
        "force_no_cache": entry.config.force_no_cache,
    }));
    if let Some(options) = &entry.options {
        data.insert("options".into(), json!(options));
    }
    if let Some(token_type) = &entry.config.token_type {
        data.insert("token_type".into(), json!(token_type));
    }
    if !entry.config.listing_visibility.is_empty() {
        data.insert(
            "listing_visibility".into(),
            json!(entry.config.listing_visibility),
        );
    }
    data
}

async fn remount(unsealed: &Unsealed, req: &Request) -> Result<Response, RequestError> {
    if !is_write(req.operation) {
        return unsupported();
    }
    let field = |name: &str| -> Result<String, RequestError> {
        req.str_field(name)?
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .ok_or_else(|| RequestError::invalid(format!("missing {name:?}")))
    };
    let (from, to) = (field("from")?, field("to")?);
    unsealed.remount(&from, &to).await?;
    let id = crate::crypto::uuid_v4();
    unsealed.record_migration(&id, &from, &to);
    let mut data = Map::new();
    data.insert("migration_id".into(), json!(id));
    Ok(Response::data(data))
}

/// `sys/remount/status/<id>`: moves finish before `sys/remount` answers, so a known id
/// is always a success.
fn remount_status(unsealed: &Unsealed, id: &str) -> Result<Response, RequestError> {
    let (from, to) = unsealed.migration(id).ok_or(RequestError::NotFound)?;
    Ok(Response::json(json!({
        "migration_id": id,
        "migration_info": {
            "source_mount": crate::core::mounts::normalize_path(&from),
            "target_mount": crate::core::mounts::normalize_path(&to),
            "status": "success",
        }
    })))
}

/// `sys/internal/ui/mounts[/<path>]`: what the CLI asks before KV commands to learn the
/// mount and its version. A path with no mount, or one the token cannot use, is a 403.
pub async fn ui_mounts(
    unsealed: &Arc<Unsealed>,
    ctx: &MountContext,
    req: &Request,
) -> Result<Response, RequestError> {
    if req.operation != Operation::Read {
        return unsupported();
    }
    let path = req
        .path
        .strip_prefix("internal/ui/mounts")
        .unwrap_or("")
        .trim_start_matches('/');
    let token = ctx.token.as_ref().ok_or(RequestError::PermissionDenied)?;
    let acl = unsealed.policies.acl(&token.policies);
    if path.is_empty() {
        let mut secret = Map::new();
        let mut auth = Map::new();
        for route in unsealed.router.snapshot().iter() {
            let visible = acl.is_root()
                || route.entry.config.listing_visibility == "unauth"
                || has_any_access(&acl, &route.prefix);
            if !visible {
                continue;
            }
            let target = if route.entry.is_auth {
                &mut auth
            } else {
                &mut secret
            };
            target.insert(route.entry.path.clone(), route.entry.to_api());
        }
        return Ok(Response::json(json!({ "secret": secret, "auth": auth })));
    }
    let preflight = || {
        RequestError::Forbidden(format!(
            "preflight capability check returned 403, please ensure client's policies grant access to path \"{}/\"",
            path.trim_end_matches('/')
        ))
    };
    let (route, _) = unsealed.router.route(path).ok_or_else(preflight)?;
    if !acl.is_root() && !has_any_access(&acl, &route.prefix) {
        return Err(preflight());
    }
    let mut data = as_map(route.entry.to_api());
    data.insert("path".into(), json!(route.entry.path));
    Ok(Response::data(data))
}

/// Whether the ACL grants anything at or below `path` (Vault's rule for which mounts a
/// token may see).
fn has_any_access(acl: &crate::policy::Acl, path: &str) -> bool {
    acl.grants_anything_under(path)
}
