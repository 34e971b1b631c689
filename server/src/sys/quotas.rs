//! `sys/quotas/rate-limit/<name>`, `sys/quotas/lease-count/<name>` and `sys/quotas/config`:
//! resource quota rules, validated here and applied by the core (`core/quotas.rs`).
//! Answers follow OpenBao 2.7 (durations as whole seconds, `type` in every rule); lease-count
//! rules are Vault Enterprise's, with the live lease count under their path as `counts`.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::{is_write, unsupported};
use crate::core::quotas::{LeaseCountRule, QuotaConfig, RateLimitRule, Scoped};
use crate::core::{Operation, Request, RequestError, Response, Unsealed};

const RATE_LIMIT_FIELDS: &[&str] = &[
    "path",
    "role",
    "rate",
    "interval",
    "block_interval",
    "inheritable",
];
const LEASE_COUNT_FIELDS: &[&str] = &["path", "role", "max_leases", "inheritable"];
const CONFIG_FIELDS: &[&str] = &[
    "rate_limit_exempt_paths",
    "enable_rate_limit_audit_logging",
    "enable_rate_limit_response_headers",
];

/// Dispatches `quotas/…` (relative to `sys/`).
pub async fn handle(unsealed: &Arc<Unsealed>, req: &Request) -> Result<Response, RequestError> {
    let path = req.path.trim_end_matches('/');
    let rest = path.strip_prefix("quotas/").unwrap_or("");
    let (kind, name) = rest.split_once('/').unwrap_or((rest, ""));
    if name.contains('/') {
        return Err(RequestError::unsupported_path());
    }
    match (kind, name, req.operation) {
        ("config", "", Operation::Read) => {
            Ok(Response::data(config_data(&unsealed.quotas.config())))
        }
        ("config", "", op) if is_write(op) => write_config(unsealed, req).await,
        ("config", "", _) => unsupported(),
        ("rate-limit" | "lease-count", "", Operation::List) => {
            let names = if kind == "rate-limit" {
                names(&unsealed.quotas.rate_limits(), |r| &r.name)
            } else {
                names(&unsealed.quotas.lease_counts(), |r| &r.name)
            };
            Response::list(names)
        }
        ("rate-limit" | "lease-count", "", _) => unsupported(),
        ("rate-limit", name, op) => rate_limit(unsealed, req, name, op).await,
        ("lease-count", name, op) => lease_count(unsealed, req, name, op).await,
        _ => Err(RequestError::unsupported_path()),
    }
}

fn names<R>(rules: &[R], name: impl Fn(&R) -> &String) -> Vec<String> {
    rules.iter().map(|r| name(r).clone()).collect()
}

async fn rate_limit(
    unsealed: &Unsealed,
    req: &Request,
    name: &str,
    op: Operation,
) -> Result<Response, RequestError> {
    let quotas = &unsealed.quotas;
    match op {
        Operation::Read => {
            let rules = quotas.rate_limits();
            let rule = rules
                .iter()
                .find(|r| r.name == name)
                .ok_or(RequestError::NotFound)?;
            Ok(Response::data(rate_limit_data(rule)))
        }
        op if is_write(op) => {
            let rule = parse_rate_limit(unsealed, req, name)?;
            similar_rule(&quotas.rate_limits(), &rule, |r| &r.name)?;
            quotas.put_rate_limit(rule).await?;
            Ok(Response::empty())
        }
        Operation::Delete => {
            quotas.delete_rate_limit(name).await?;
            Ok(Response::empty())
        }
        _ => unsupported(),
    }
}

async fn lease_count(
    unsealed: &Unsealed,
    req: &Request,
    name: &str,
    op: Operation,
) -> Result<Response, RequestError> {
    let quotas = &unsealed.quotas;
    match op {
        Operation::Read => {
            let rules = quotas.lease_counts();
            let rule = rules
                .iter()
                .find(|r| r.name == name)
                .ok_or(RequestError::NotFound)?;
            let counts = unsealed.live_leases_under(&rule.path, u64::MAX).await?;
            Ok(Response::data(lease_count_data(rule, counts)))
        }
        op if is_write(op) => {
            let rule = parse_lease_count(unsealed, req, name)?;
            similar_rule(&quotas.lease_counts(), &rule, |r| &r.name)?;
            quotas.put_lease_count(rule).await?;
            Ok(Response::empty())
        }
        Operation::Delete => {
            quotas.delete_lease_count(name).await?;
            Ok(Response::empty())
        }
        _ => unsupported(),
    }
}

fn parse_rate_limit(
    unsealed: &Unsealed,
    req: &Request,
    name: &str,
) -> Result<RateLimitRule, RequestError> {
    known_fields(req, RATE_LIMIT_FIELDS)?;
    let rate = rate(req)?;
    let interval = req.duration_field("interval")?.unwrap_or(1);
    if interval == 0 {
        return Err(RequestError::invalid("'interval' is invalid"));
    }
    let (path, role) = scope(unsealed, req)?;
    Ok(RateLimitRule {
        name: name.to_string(),
        inheritable: req.bool_field("inheritable")?.unwrap_or(path.is_empty()),
        path,
        role,
        rate,
        interval,
        block_interval: req.duration_field("block_interval")?.unwrap_or(0),
    })
}

fn parse_lease_count(
    unsealed: &Unsealed,
    req: &Request,
    name: &str,
) -> Result<LeaseCountRule, RequestError> {
    known_fields(req, LEASE_COUNT_FIELDS)?;
    let max_leases = req
        .uint_field("max_leases")?
        .filter(|n| *n > 0)
        .ok_or_else(|| RequestError::invalid("'max_leases' is invalid"))?;
    let (path, role) = scope(unsealed, req)?;
    if !role.is_empty() {
        // Tokens are counted by the path that created them; which role a login used is
        // not recorded, so a role-based rule could not be enforced.
        return Err(RequestError::invalid(
            "role-based lease-count quotas are not supported: set a lease-count quota on \
             the auth method's path, or a role-based rate-limit quota",
        ));
    }
    Ok(LeaseCountRule {
        name: name.to_string(),
        inheritable: req.bool_field("inheritable")?.unwrap_or(path.is_empty()),
        path,
        role,
        max_leases,
    })
}

/// `rate`: a number above zero (fractions allowed, as OpenBao).
fn rate(req: &Request) -> Result<f64, RequestError> {
    let rate = match req.data.get("rate") {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    rate.filter(|r| r.is_finite() && *r > 0.0)
        .ok_or_else(|| RequestError::invalid("'rate' is invalid"))
}

/// The rule's `path` (normalised: a mount keeps its trailing slash) and `role`. The mount
/// must exist; a role needs an auth mount.
fn scope(unsealed: &Unsealed, req: &Request) -> Result<(String, String), RequestError> {
    let path = req.str_field("path")?.unwrap_or("").trim_start_matches('/');
    let role = req.str_field("role")?.unwrap_or("").to_string();
    if path.is_empty() {
        if !role.is_empty() {
            return Err(RequestError::invalid(
                "a role-based quota needs the path of an auth method",
            ));
        }
        return Ok((String::new(), role));
    }
    let (route, _) = unsealed
        .router
        .route(path)
        .ok_or_else(|| RequestError::invalid(format!("invalid mount path {path:?}")))?;
    let path = if route.prefix.trim_end_matches('/') == path.trim_end_matches('/') {
        route.prefix.clone()
    } else {
        path.trim_end_matches('/').to_string()
    };
    if !role.is_empty() && !route.prefix.starts_with("auth/") {
        return Err(RequestError::invalid(format!(
            "Mount path {:?} is not a valid auth method and therefore unsuitable for use \
             with role-based quotas",
            route.prefix
        )));
    }
    Ok((path, role))
}

/// As OpenBao: two rules of a kind may not share both path and role.
fn similar_rule<R: Scoped>(
    rules: &[R],
    new: &R,
    name: impl Fn(&R) -> &String,
) -> Result<(), RequestError> {
    match rules
        .iter()
        .find(|r| name(r) != name(new) && r.path() == new.path() && r.role() == new.role())
    {
        Some(other) => Err(RequestError::invalid(format!(
            "quota rule with similar properties exists under the name {:?}",
            name(other)
        ))),
        None => Ok(()),
    }
}

async fn write_config(unsealed: &Unsealed, req: &Request) -> Result<Response, RequestError> {
    known_fields(req, CONFIG_FIELDS)?;
    let current = unsealed.quotas.config();
    let config = QuotaConfig {
        rate_limit_exempt_paths: req
            .string_list("rate_limit_exempt_paths")?
            .unwrap_or(current.rate_limit_exempt_paths),
        enable_rate_limit_audit_logging: req
            .bool_field("enable_rate_limit_audit_logging")?
            .unwrap_or(current.enable_rate_limit_audit_logging),
        enable_rate_limit_response_headers: req
            .bool_field("enable_rate_limit_response_headers")?
            .unwrap_or(current.enable_rate_limit_response_headers),
    };
    unsealed.quotas.put_config(config).await?;
    Ok(Response::empty())
}

/// 400 naming the first field the endpoint does not know.
fn known_fields(req: &Request, known: &[&str]) -> Result<(), RequestError> {
    match req.data.keys().find(|k| !known.contains(&k.as_str())) {
        Some(field) => Err(RequestError::invalid(format!(
            "unknown field {field:?}; the fields are: {}",
            known.join(", ")
        ))),
        None => Ok(()),
    }
}

fn config_data(config: &QuotaConfig) -> Map<String, Value> {
    let mut data = Map::new();
    data.insert(
        "enable_rate_limit_audit_logging".into(),
        json!(config.enable_rate_limit_audit_logging),
    );
    data.insert(
        "enable_rate_limit_response_headers".into(),
        json!(config.enable_rate_limit_response_headers),
    );
    data.insert(
        "rate_limit_exempt_paths".into(),
        json!(config.rate_limit_exempt_paths),
    );
    data
}

fn rate_limit_data(rule: &RateLimitRule) -> Map<String, Value> {
    let mut data = Map::new();
    data.insert("block_interval".into(), json!(rule.block_interval));
    data.insert("inheritable".into(), json!(rule.inheritable));
    data.insert("interval".into(), json!(rule.interval));
    data.insert("name".into(), json!(rule.name));
    data.insert("path".into(), json!(rule.path));
    data.insert("rate".into(), number(rule.rate));
    data.insert("role".into(), json!(rule.role));
    data.insert("type".into(), json!("rate-limit"));
    data
}

fn lease_count_data(rule: &LeaseCountRule, counts: u64) -> Map<String, Value> {
    let mut data = Map::new();
    data.insert("counts".into(), json!(counts));
    data.insert("inheritable".into(), json!(rule.inheritable));
    data.insert("max_leases".into(), json!(rule.max_leases));
    data.insert("name".into(), json!(rule.name));
    data.insert("path".into(), json!(rule.path));
    data.insert("role".into(), json!(rule.role));
    data.insert("type".into(), json!("lease-count"));
    data
}

/// A whole rate prints as an integer (`2`, not `2.0`), as Go's JSON encoder does.
fn number(value: f64) -> Value {
    if value.fract() == 0.0 && value.abs() < 9.0e15 {
        json!(value as i64)
    } else {
        json!(value)
    }
}
