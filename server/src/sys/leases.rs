//! `sys/leases/*` (lookup, renew, revoke, revoke-prefix, revoke-force, tidy, count) and
//! the older `sys/renew`, `sys/revoke`, `sys/revoke-prefix`, `sys/revoke-force` that
//! Vault still serves. Handlers parse the request and call the expiration manager.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::{is_write, unsupported};
use crate::core::{Operation, Request, RequestError, Response, Unsealed};

/// Dispatches a path relative to `sys/` whose first segment is `leases`, `renew`,
/// `revoke`, `revoke-prefix` or `revoke-force`.
pub async fn handle(unsealed: &Arc<Unsealed>, req: &Request) -> Result<Response, RequestError> {
    let path = req.path.as_str();
    let path = path.strip_prefix("leases/").unwrap_or(path);
    let (action, rest) = path.split_once('/').unwrap_or((path, ""));
    match (action, req.operation) {
        ("lookup", Operation::List) => list(unsealed, rest).await,
        ("lookup", op) if is_write(op) && rest.is_empty() => {
            let id = lease_id(req, "")?;
            Ok(Response::data(unsealed.lookup_lease(&id).await?))
        }
        ("renew", op) if is_write(op) => {
            let id = lease_id(req, rest)?;
            let increment = req.duration_field("increment")?.unwrap_or(0);
            unsealed.renew_lease(&id, increment).await
        }
        ("revoke", op) if is_write(op) => {
            let id = lease_id(req, rest)?;
            if !req.bool_field("sync")?.unwrap_or(true) {
                let this = unsealed.clone();
                tokio::spawn(async move { this.revoke_lease(&id).await });
                return Ok(accepted());
            }
            unsealed.revoke_lease(&id).await?;
            Ok(Response::empty())
        }
        ("revoke-prefix" | "revoke-force", op) if is_write(op) => {
            if rest.trim_end_matches('/').is_empty() {
                return Err(RequestError::invalid("a prefix to revoke must be given"));
            }
            let force = action == "revoke-force";
            if !force && !req.bool_field("sync")?.unwrap_or(true) {
                let (this, prefix) = (unsealed.clone(), rest.to_string());
                tokio::spawn(async move { this.revoke_lease_prefix(&prefix, false).await });
                return Ok(accepted());
            }
            let warnings = unsealed.revoke_lease_prefix(rest, force).await?;
            let mut resp = Response::empty();
            if !warnings.is_empty() {
                resp.status = Some(200);
                resp.warnings = warnings;
            }
            Ok(resp)
        }
        ("tidy", op) if is_write(op) => tidy(unsealed),
        ("count", Operation::Read) if rest.is_empty() => count(unsealed).await,
        (
            "lookup" | "renew" | "revoke" | "revoke-prefix" | "revoke-force" | "tidy" | "count",
            _,
        ) => unsupported(),
        _ => Err(RequestError::unsupported_path()),
    }
}

/// 202: revocation queued (`sync=false`); a failure is retried like an expiry's.
fn accepted() -> Response {
    Response {
        status: Some(202),
        ..Response::empty()
    }
}

/// The lease id from the body, else from the path (`sys/leases/renew/<id>`).
fn lease_id(req: &Request, from_path: &str) -> Result<String, RequestError> {
    match req.str_field("lease_id")?.filter(|s| !s.is_empty()) {
        Some(id) => Ok(id.trim().to_string()),
        None if !from_path.is_empty() => Ok(from_path.to_string()),
        None => Err(RequestError::invalid("lease_id must be specified")),
    }
}

async fn list(unsealed: &Unsealed, prefix: &str) -> Result<Response, RequestError> {
    let prefix = match prefix.trim_end_matches('/') {
        "" => String::new(),
        p => format!("{p}/"),
    };
    Response::list(unsealed.leases.list(&prefix).await?)
}

/// Starts a tidy in the background and answers 202, as Vault does.
fn tidy(unsealed: &Arc<Unsealed>) -> Result<Response, RequestError> {
    let this = unsealed.clone();
    tokio::spawn(async move {
        match this.tidy_leases().await {
            Ok((dropped, revoked)) => tracing::info!(
                stale_index_entries = dropped,
                orphaned_leases_revoked = revoked,
                "lease tidy finished"
            ),
            Err(e) => tracing::warn!(error = %e, "lease tidy failed"),
        }
    });
    Ok(Response {
        status: Some(202),
        ..Response::empty().with_warning(
            "Tidy operation successfully started. Any information from the operation will be \
             printed to the server's logs.",
        )
    })
}

/// `sys/leases/count`: live leases in all, per mount and per lease path, and failed
/// revocation attempts since unseal.
async fn count(unsealed: &Unsealed) -> Result<Response, RequestError> {
    let by_path = unsealed.leases.counts().await?;
    let by_mount = by_mount(unsealed, &by_path);
    let mut data = Map::new();
    data.insert("lease_count".into(), json!(by_path.values().sum::<u64>()));
    data.insert("counts".into(), json!(by_mount));
    data.insert("counts_by_path".into(), json!(by_path));
    data.insert(
        "revocation_failures".into(),
        Value::from(
            unsealed
                .lease_metrics
                .revocation_failures
                .load(std::sync::atomic::Ordering::Relaxed),
        ),
    );
    Ok(Response::data(data))
}

/// Live leases per mount path (for metrics): never per lease path, which may name roles.
pub(crate) async fn counts_by_mount(
    unsealed: &Unsealed,
) -> Result<BTreeMap<String, u64>, RequestError> {
    Ok(by_mount(unsealed, &unsealed.leases.counts().await?))
}

/// Sums lease counts per mount; a lease whose mount is gone counts under its first segment.
fn by_mount(unsealed: &Unsealed, by_path: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    let mut by_mount: BTreeMap<String, u64> = BTreeMap::new();
    for (path, n) in by_path {
        let mount = unsealed.router.route(&format!("{path}/")).map_or_else(
            || format!("{}/", path.split('/').next().unwrap_or_default()),
            |(route, _)| route.prefix,
        );
        *by_mount.entry(mount).or_insert(0) += n;
    }
    by_mount
}
