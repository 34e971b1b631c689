//! `auth/token/create[/<role>]` and `auth/token/create-orphan`: Vault's rules for a new
//! token's parent, policies, TTL and limits, its `type` (`service` or `batch`, from the
//! request or the role) and `bound_cidrs` (from the request, else the role's).
//!
//! Batch tokens follow OpenBao's rules: no root policy, no period, no uses limit, not
//! renewable, no accessor, and a batch token cannot create tokens. They are sealed by the
//! token store, not stored.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::auth_info;
use crate::auth::token_fields::string_list;
use crate::cidr::{self, Cidr};
use crate::core::{fields, now_unix, Request, RequestError, Response, Unsealed};
use crate::policy::Capability;
use crate::tokens::{TokenEntry, TokenRole, TokenStore, BATCH_PREFIX};

pub async fn create(
    unsealed: &Arc<Unsealed>,
    parent: &TokenEntry,
    req: &Request,
    role_name: &str,
    orphan_path: bool,
) -> Result<Response, RequestError> {
    if parent.is_batch() {
        return Err(RequestError::invalid(
            "batch tokens cannot create more tokens",
        ));
    }
    let role = match role_name {
        "" => match req.str_field("role_name")? {
            Some(name) if !name.is_empty() => Some(load_role(unsealed, name).await?),
            _ => None,
        },
        name => Some(load_role(unsealed, name).await?),
    };
    let privileged = parent.is_root() || has_sudo(unsealed, parent, req);
    let no_parent = req.bool_field("no_parent")?.unwrap_or(false);
    if no_parent && !privileged && !orphan_path {
        return Err(RequestError::invalid(
            "root or sudo privileges required to create orphan token",
        ));
    }
    let orphan = orphan_path || no_parent || role.as_ref().is_some_and(|r| r.orphan);
    let policies = policies(req, parent, role.as_ref(), privileged)?;
    let (ttl, period, explicit_max_ttl) = lifetimes(unsealed, req, role.as_ref(), &policies)?;
    let batch = is_batch(req, role.as_ref())?;
    let num_uses = req.uint_field("num_uses")?.unwrap_or(0);
    if batch {
        check_batch(&policies, period, num_uses)?;
    }
    let bound_cidrs = bound_cidrs(req, role.as_ref())?;
    if !bound_cidrs.is_empty() && policies.iter().any(|p| p == "root") {
        return Err(RequestError::invalid(
            "root tokens cannot be bound to CIDR blocks",
        ));
    }
    let (token, accessor) = match req.str_field("id")? {
        Some(id) if !id.is_empty() => {
            if !parent.is_root() {
                return Err(RequestError::invalid(
                    "root or sudo privileges required to specify token id",
                ));
            }
            if batch || id.starts_with(BATCH_PREFIX) {
                return Err(RequestError::invalid(
                    "custom token IDs cannot be batch tokens nor start with \"b.\"",
                ));
            }
            (
                zeroize::Zeroizing::new(id.to_string()),
                crate::crypto::random_base62(24),
            )
        }
        _ => TokenStore::generate_ids(),
    };
    let id_hash = unsealed.tokens.hash(&token);
    if unsealed.tokens.get_by_hash(&id_hash).await?.is_some() {
        return Err(RequestError::invalid(
            "cannot create a token with a duplicate ID",
        ));
    }
    let now = now_unix();
    let renewable = req
        .bool_field("renewable")?
        .unwrap_or(role.as_ref().is_none_or(|r| r.renewable));
    let entry = TokenEntry {
        id_hash,
        accessor,
        parent: if orphan {
            String::new()
        } else {
            parent.id_hash.clone()
        },
        policies,
        path: match &role {
            Some(r) => format!("auth/token/create/{}", r.name),
            None => "auth/token/create".into(),
        },
        meta: meta(req)?,
        display_name: display_name(req)?,
        num_uses,
        creation_time: now,
        issue_time: crate::duration::rfc3339_nanos(std::time::SystemTime::now()),
        creation_ttl: ttl,
        expire_time: if ttl == 0 { 0 } else { now + ttl },
        explicit_max_ttl,
        period,
        renewable: renewable && ttl != 0 && !batch,
        orphan,
        role: role.map(|r| r.name).unwrap_or_default(),
        entity_id: String::new(),
        token_type: "service".into(),
        bound_cidrs,
    };
    let (token, entry) = if batch {
        unsealed.tokens.seal_batch(TokenEntry {
            accessor: String::new(),
            token_type: "batch".into(),
            ..entry
        })
    } else {
        (token, unsealed.tokens.create(entry).await?)
    };
    Ok(Response {
        auth: Some(Box::new(auth_info(&token, &entry))),
        ..Response::default()
    })
}

/// Whether the new token is a batch token: the request's `type` (`service` or `batch`),
/// which a role with `token_type` `service` or `batch` forces; else the role's
/// `default-batch`; else service.
fn is_batch(req: &Request, role: Option<&TokenRole>) -> Result<bool, RequestError> {
    let requested = match req.str_field("type")? {
        None | Some("") => None,
        Some("service") => Some(false),
        Some("batch") => Some(true),
        Some(_) => return Err(RequestError::invalid("invalid 'token_type' value")),
    };
    let role_type = role.map_or("", |r| r.token_type.as_str());
    let forced = match role_type {
        "service" => Some(false),
        "batch" => Some(true),
        _ => None,
    };
    match (forced, requested) {
        (Some(forced), Some(requested)) if forced != requested => Err(RequestError::invalid(
            format!("the role's token_type {role_type:?} does not allow this token type"),
        )),
        (Some(forced), _) => Ok(forced),
        (None, Some(requested)) => Ok(requested),
        (None, None) => Ok(role_type == "default-batch"),
    }
}

/// OpenBao's limits on batch tokens.
fn check_batch(policies: &[String], period: u64, num_uses: u64) -> Result<(), RequestError> {
    if policies.iter().any(|p| p == "root") {
        return Err(RequestError::invalid("batch tokens cannot be root tokens"));
    }
    if period != 0 {
        return Err(RequestError::invalid(
            "batch tokens cannot have \"period\" set",
        ));
    }
    if num_uses != 0 {
        return Err(RequestError::invalid(
            "batch tokens cannot have \"num_uses\" set",
        ));
    }
    Ok(())
}

/// The request's `bound_cidrs`, else the role's `token_bound_cidrs`.
fn bound_cidrs(req: &Request, role: Option<&TokenRole>) -> Result<Vec<Cidr>, RequestError> {
    match string_list(&req.data, "bound_cidrs")? {
        Some(list) => {
            cidr::parse_list(&list).map_err(|e| fields::conversion_error("bound_cidrs", e))
        }
        None => Ok(role.map(|r| r.bound_cidrs.clone()).unwrap_or_default()),
    }
}

async fn load_role(unsealed: &Unsealed, name: &str) -> Result<TokenRole, RequestError> {
    unsealed
        .tokens
        .role(name)
        .await?
        .ok_or_else(|| RequestError::invalid(format!("unknown role {name}")))
}

fn has_sudo(unsealed: &Unsealed, token: &TokenEntry, req: &Request) -> bool {
    let acl = unsealed.policies.acl(&token.policies);
    let path = format!("auth/token/{}", req.path.trim_end_matches('/'));
    acl.capabilities(&path).contains(Capability::Sudo)
}

/// The new token's policies: requested ones (a subset of the parent's unless privileged,
/// or of the role's allowed list), else the parent's; plus `default` unless refused.
fn policies(
    req: &Request,
    parent: &TokenEntry,
    role: Option<&TokenRole>,
    privileged: bool,
) -> Result<Vec<String>, RequestError> {
    // An empty list means "not given" (inherit), as Vault.
    let requested = req
        .string_list("policies")?
        .map(|list| {
            list.into_iter()
                .map(|p| p.to_lowercase())
                .filter(|p| !p.is_empty())
                .collect::<Vec<_>>()
        })
        .filter(|list| !list.is_empty());
    let no_default = req.bool_field("no_default_policy")?.unwrap_or(false);
    let mut policies = match (requested, role) {
        (Some(list), Some(role)) => {
            check_role_policies(&list, role)?;
            list
        }
        (None, Some(role)) if !role.allowed_policies.is_empty() => role
            .allowed_policies
            .iter()
            .filter(|p| !role.disallowed_policies.contains(p))
            .cloned()
            .collect(),
        (Some(list), None) => {
            if !privileged
                && !list
                    .iter()
                    .all(|p| p == "default" || parent.policies.contains(p))
            {
                return Err(RequestError::invalid(
                    "child policies must be subset of parent",
                ));
            }
            list
        }
        (None, _) => parent.policies.clone(),
    };
    if policies.iter().any(|p| p == "root") {
        if !parent.is_root() {
            return Err(RequestError::invalid(
                "root tokens may not be created by a non-root token",
            ));
        }
        policies.retain(|p| p == "root");
    } else if !no_default && !policies.iter().any(|p| p == "default") {
        policies.push("default".into());
    } else if no_default {
        policies.retain(|p| p != "default");
    }
    policies.sort();
    policies.dedup();
    Ok(policies)
}

fn check_role_policies(list: &[String], role: &TokenRole) -> Result<(), RequestError> {
    for p in list {
        if role.disallowed_policies.contains(p) {
            return Err(RequestError::invalid(format!(
                "token policy {p:?} is disallowed by this role"
            )));
        }
        if !role.allowed_policies.is_empty() && p != "default" && !role.allowed_policies.contains(p)
        {
            return Err(RequestError::invalid(format!(
                "token policy {p:?} is not allowed by this role"
            )));
        }
    }
    Ok(())
}

/// (ttl, period, explicit_max_ttl) in seconds after Vault's defaults and caps.
fn lifetimes(
    unsealed: &Unsealed,
    req: &Request,
    role: Option<&TokenRole>,
    policies: &[String],
) -> Result<(u64, u64, u64), RequestError> {
    let period = req
        .duration_field("period")?
        .unwrap_or(role.map_or(0, |r| r.period));
    let explicit_max = req
        .duration_field("explicit_max_ttl")?
        .unwrap_or(role.map_or(0, |r| r.explicit_max_ttl));
    let requested = req.duration_field("ttl")?.or(req.duration_field("lease")?);
    let system_max = unsealed.settings.max_lease_ttl.as_secs();
    let is_root = policies.iter().any(|p| p == "root");
    let mut ttl = match (period, requested) {
        (p, _) if p > 0 => p,
        (_, Some(t)) if t > 0 => t,
        _ if is_root && explicit_max == 0 => 0,
        _ if explicit_max > 0 => explicit_max.min(unsealed.settings.default_lease_ttl.as_secs()),
        _ => unsealed.settings.default_lease_ttl.as_secs(),
    };
    if explicit_max > 0 {
        ttl = if ttl == 0 {
            explicit_max
        } else {
            ttl.min(explicit_max)
        };
    }
    if period == 0 && ttl > system_max {
        ttl = system_max;
    }
    Ok((ttl, period, explicit_max))
}

fn meta(req: &Request) -> Result<Option<Map<String, Value>>, RequestError> {
    match req.data.get("meta") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) if map.values().all(Value::is_string) => Ok(Some(map.clone())),
        Some(_) => Err(RequestError::invalid("meta must be a map of strings")),
    }
}

/// "token" or "token-<name>", with characters other than [A-Za-z0-9-_] replaced by '-'.
fn display_name(req: &Request) -> Result<String, RequestError> {
    let Some(name) = req.str_field("display_name")?.filter(|n| !n.is_empty()) else {
        return Ok("token".into());
    };
    let name: String = format!("token-{name}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    Ok(name.trim_end_matches('-').to_string())
}
