//! `auth/token/*`: create, look up, renew and revoke tokens, and token roles.

mod create;
pub mod help;
mod manage;
mod roles;

use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::core::{now_unix, AuthInfo, Operation, Request, RequestError, Response, Unsealed};
use crate::engines::MountContext;
use crate::tokens::TokenEntry;

/// Dispatches a request under `auth/token/` (`req.path` relative to it).
pub async fn handle(
    unsealed: &Arc<Unsealed>,
    ctx: &MountContext,
    req: &Request,
) -> Result<Response, RequestError> {
    let caller = ctx.token.clone().ok_or(RequestError::PermissionDenied)?;
    let path = req.path.trim_end_matches('/');
    let (head, tail) = path.split_once('/').unwrap_or((path, ""));
    let write = matches!(req.operation, Operation::Create | Operation::Update);
    match (head, req.operation) {
        ("create", _) if write => create::create(unsealed, &caller, req, tail, false).await,
        ("create-orphan", _) if write => create::create(unsealed, &caller, req, "", true).await,
        ("lookup-self", Operation::Read) => {
            manage::lookup_entry(&caller, req.client_token.as_deref())
        }
        ("lookup-self", _) if write => manage::lookup_entry(&caller, req.client_token.as_deref()),
        ("lookup", Operation::Read) | ("lookup", _)
            if write || req.operation == Operation::Read =>
        {
            manage::lookup(unsealed, req).await
        }
        ("lookup-accessor", _) if write => manage::lookup_accessor(unsealed, req).await,
        ("renew-self", _) if write => manage::renew(unsealed, &caller, req).await,
        ("renew", _) if write => manage::renew_token(unsealed, req).await,
        ("renew-accessor", _) if write => manage::renew_accessor(unsealed, req).await,
        ("revoke-self", _) if write => {
            manage::refuse_batch(&caller)?;
            manage::revoke_hash(unsealed, &caller.id_hash, false).await
        }
        ("revoke", _) if write => manage::revoke(unsealed, req, false).await,
        ("revoke-orphan", _) if write => manage::revoke(unsealed, req, true).await,
        ("revoke-accessor", _) if write => manage::revoke_accessor(unsealed, req).await,
        ("accessors", Operation::List) => Response::list(unsealed.tokens.accessors().await?),
        ("roles", _) => roles::handle(unsealed, req, tail).await,
        ("tidy", _) if write => Ok(Response::empty()),
        _ => Err(RequestError::unsupported_path()),
    }
}

/// The `auth` block for a newly created or renewed token.
pub(crate) fn auth_info(token: &str, entry: &TokenEntry) -> AuthInfo {
    let token_policies = entry.policies.clone();
    AuthInfo {
        client_token: token.to_string(),
        accessor: entry.accessor.clone(),
        policies: token_policies.clone(),
        token_policies,
        identity_policies: None,
        metadata: entry.meta.clone(),
        lease_duration: entry.ttl_remaining(now_unix()),
        renewable: entry.renewable,
        entity_id: entry.entity_id.clone(),
        token_type: entry.token_type.clone(),
        orphan: entry.orphan,
        mfa_requirement: None,
        num_uses: entry.num_uses,
    }
}

/// The `data` of a token lookup, as Vault shows it. `id` is the token itself when the
/// caller presented it, empty for accessor lookups.
pub(crate) fn lookup_data(entry: &TokenEntry, id: &str) -> Map<String, Value> {
    let now = now_unix();
    let expire_time = if entry.expire_time == 0 {
        Value::Null
    } else {
        json!(crate::duration::rfc3339_unix(entry.expire_time))
    };
    let mut data = json!({
        "accessor": entry.accessor,
        "creation_time": entry.creation_time,
        "creation_ttl": entry.creation_ttl,
        "display_name": entry.display_name,
        "entity_id": entry.entity_id,
        "expire_time": expire_time,
        "explicit_max_ttl": entry.explicit_max_ttl,
        "id": id,
        "issue_time": entry.issue_time,
        "meta": entry.meta,
        "num_uses": entry.num_uses,
        "orphan": entry.orphan,
        "path": entry.path,
        "policies": entry.policies,
        "renewable": entry.renewable,
        "ttl": entry.ttl_remaining(now),
        "type": entry.token_type,
    });
    if entry.period != 0 {
        data["period"] = json!(entry.period);
    }
    if !entry.role.is_empty() {
        data["role"] = json!(entry.role);
    }
    if !entry.bound_cidrs.is_empty() {
        let cidrs: Vec<String> = entry.bound_cidrs.iter().map(ToString::to_string).collect();
        data["bound_cidrs"] = json!(cidrs);
    }
    match data {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests;
