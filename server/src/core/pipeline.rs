//! The request pipeline: unauthenticated system paths → unsealed check → route → rate-limit
//! quota → token → create/update decision → ACL → audit request → lease-count quota →
//! handler → use counting → response wrapping (when asked) → audit response.
//! Auditing fails closed: a request no enabled audit device recorded is refused (500) before
//! anything changes, and a response no device recorded is replaced by a 500.

use std::sync::Arc;

use super::mounts::MountEntry;
use super::quotas::Reservation;
use super::root_paths::{needs_sudo, Backend};
use super::router::{Handler, Route};
use super::{now_unix, Core, Operation, Request, RequestError, Response, Unsealed};
use crate::audit::{Entry, Record};
use crate::engines::MountContext;
use crate::metrics::MountStats;
use crate::policy::Capability;
use crate::tokens::TokenEntry;

/// System paths answered without a token, sealed or not.
const UNAUTHENTICATED: &[&str] = &[
    "sys/health",
    "sys/seal-status",
    "sys/init",
    "sys/unseal",
    "sys/leader",
];

/// What the pipeline learned about a request that the HTTP layer records after answering:
/// the mount it was routed to (for metrics and the request log line).
#[derive(Default)]
pub struct RequestTrace {
    /// The routed mount's counters; `None` before routing (or when no mount matched).
    pub mount: Option<Arc<MountStats>>,
}

impl Core {
    /// Handles one API request end to end.
    pub async fn handle(&self, req: Request) -> Result<Response, RequestError> {
        self.handle_traced(req, &mut RequestTrace::default()).await
    }

    /// [`Core::handle`], noting in `trace` which mount served the request.
    pub async fn handle_traced(
        &self,
        mut req: Request,
        trace: &mut RequestTrace,
    ) -> Result<Response, RequestError> {
        if self.settings.unauthenticated_metrics_access
            && req.operation == Operation::Read
            && req.path.trim_end_matches('/') == "sys/metrics"
        {
            return Box::pin(crate::sys::metrics(self, &req)).await;
        }
        if UNAUTHENTICATED.contains(&req.path.trim_end_matches('/')) {
            if let Ok(unsealed) = self.unsealed() {
                check_rate_limit(&unsealed, &req, false)?;
            }
            if req.help {
                let relative = req.path.strip_prefix("sys/").unwrap_or(&req.path);
                return help(&Handler::System, "sys/", relative);
            }
            return Box::pin(crate::sys::handle_unauthenticated(self, &req)).await;
        }
        let unsealed = self.unsealed()?;
        let routed = unsealed.router.route(&req.path);
        trace.mount = routed.as_ref().map(|(route, _)| route.stats.clone());
        let login = matches!(&routed, Some((route, relative))
            if super::login::is_unauthenticated(route, relative));
        let wrapping_lookup = matches!(&routed, Some((route, relative))
            if is_wrapping_lookup(route, relative));
        // Before authentication, so a flood of bad tokens is limited too.
        check_rate_limit(&unsealed, &req, login)?;
        if let Some((route, relative)) = routed.as_ref().filter(|_| login || wrapping_lookup) {
            if req.help {
                return help(&route.handler, &route.prefix, relative);
            }
            let full_path = std::mem::replace(&mut req.path, relative.clone());
            let record =
                audit_request(&unsealed, &req, &full_path, &route.entry, None, None).await?;
            let result = if wrapping_lookup {
                Box::pin(crate::sys::wrapping_lookup(&unsealed, &req)).await
            } else {
                Box::pin(super::login::handle(&unsealed, route, &full_path, &req)).await
            };
            return finish(&unsealed, record, &req, &full_path, result).await;
        }
        let token = self.authenticate(&unsealed, &req).await?;
        let Some((route, relative)) = routed else {
            // As Vault: a token that may not use the path learns nothing about mounts
            // (help, which needs no capability, says the route does not exist).
            let caps = unsealed
                .policies
                .acl(&token.policies)
                .capabilities(&req.path);
            let hidden = caps.is_empty() || caps.contains(Capability::Deny);
            if !token.is_root() && !req.help && hidden {
                return Err(RequestError::PermissionDenied);
            }
            return Err(RequestError::UnsupportedPath(format!(
                "no handler for route {:?}. route entry not found.",
                req.path
            )));
        };
        if req.help {
            // As Vault: any valid token may read any mounted path's help.
            return help(&route.handler, &route.prefix, &relative);
        }
        let ctx = unsealed.mount_context(&route, Some(token.clone()));
        let full_path = std::mem::take(&mut req.path);
        req.path = relative;
        if req.operation == Operation::Update {
            req.operation = decide_create_or_update(&route, &ctx, &req).await?;
        }
        let authorized = authorize(&unsealed, &token, &route, &full_path, &req);
        let denied = authorized.as_ref().err().map(ToString::to_string);
        let record = audit_request(
            &unsealed,
            &req,
            &full_path,
            &route.entry,
            Some(&*token),
            denied,
        )
        .await?;
        if let Err(e) = authorized {
            return finish(&unsealed, record, &req, &full_path, Err(e)).await;
        }
        let reservation = match reserve_lease(&unsealed, &route, &full_path, &req).await {
            Ok(reservation) => reservation,
            Err(e) => return finish(&unsealed, record, &req, &full_path, Err(e)).await,
        };
        let last_use = spend_use(&unsealed, &token).await?;
        let mut result = dispatch(self, &unsealed, &route, &ctx, &req).await;
        if let Some(resp) = result.as_mut().ok().filter(|r| r.secret.is_some()) {
            let registered = register_lease(&unsealed, &route, &full_path, &req, &token, resp);
            if let Err(e) = Box::pin(registered).await {
                result = Err(e);
            }
        }
        // The lease, if any, is counted now.
        drop(reservation);
        if last_use {
            if let Err(e) = Box::pin(unsealed.revoke_tree(&token.id_hash)).await {
                result = Err(e);
            }
        }
        finish(&unsealed, record, &req, &full_path, result).await
    }

    async fn authenticate(
        &self,
        unsealed: &Unsealed,
        req: &Request,
    ) -> Result<Arc<TokenEntry>, RequestError> {
        let token = req
            .client_token
            .as_deref()
            .filter(|t| !t.is_empty())
            .ok_or(RequestError::PermissionDenied)?;
        let entry = unsealed
            .tokens
            .lookup(token, now_unix())
            .await?
            .ok_or(RequestError::PermissionDenied)?;
        if !entry.allows_address(req.remote_addr) {
            // The accessor names the token in logs without revealing it.
            tracing::debug!(
                accessor = %entry.accessor,
                remote_addr = ?req.remote_addr,
                "token used from outside its bound_cidrs"
            );
            return Err(RequestError::PermissionDenied);
        }
        Ok(entry)
    }
}

/// The help answer (`?help=1`) for `relative` below the mount at `prefix`, sent without
/// the envelope as Vault does.
fn help(handler: &Handler, prefix: &str, relative: &str) -> Result<Response, RequestError> {
    Ok(Response {
        raw: Some(handler.help().answer(prefix, relative)?),
        ..Response::default()
    })
}

/// Refuses a request over its rate-limit quota (one atomic load when there is none).
/// Only logins match rules by `role`.
fn check_rate_limit(unsealed: &Unsealed, req: &Request, login: bool) -> Result<(), RequestError> {
    let role = login
        .then(|| req.data.get("role").and_then(serde_json::Value::as_str))
        .flatten();
    unsealed
        .quotas
        .check_rate_limit(&req.path, role, req.remote_addr)
}

/// Holds a lease-count slot while a request that may create a lease runs (reads and writes
/// on a secrets engine's path, not `sys/` or `auth/`: logins reserve theirs in
/// `core/login.rs`); 429 when the quota is reached.
async fn reserve_lease(
    unsealed: &Unsealed,
    route: &Route,
    full_path: &str,
    req: &Request,
) -> Result<Option<Reservation>, RequestError> {
    let may_lease = matches!(route.handler, Handler::Engine(_))
        && !route.prefix.starts_with("auth/")
        && matches!(
            req.operation,
            Operation::Read | Operation::Create | Operation::Update
        );
    if !may_lease {
        return Ok(None);
    }
    unsealed.reserve_lease_slot(full_path).await
}

/// Records the request when any audit device is enabled (else costs one atomic load);
/// `Err` (500) when no device could record it.
async fn audit_request(
    unsealed: &Unsealed,
    req: &Request,
    full_path: &str,
    mount: &MountEntry,
    token: Option<&TokenEntry>,
    error: Option<String>,
) -> Result<Option<Record>, RequestError> {
    if !unsealed.audit.is_enabled() {
        return Ok(None);
    }
    let record = Record::new(req, full_path, Some(mount), token);
    let entry = Entry {
        record: &record,
        is_response: false,
        response: None,
        error,
    };
    unsealed.audit.log(&entry).await?;
    Ok(Some(record))
}

/// `sys/wrapping/lookup` needs no token: the wrapping token it looks up is not used.
fn is_wrapping_lookup(route: &Route, relative: &str) -> bool {
    matches!(route.handler, Handler::System) && relative.trim_end_matches('/') == "wrapping/lookup"
}

/// The end of every routed request: the answer is wrapped when the client asked for it
/// (`X-Vault-Wrap-TTL`), then audited as the client will receive it.
async fn finish(
    unsealed: &Unsealed,
    record: Option<Record>,
    req: &Request,
    full_path: &str,
    result: Result<Response, RequestError>,
) -> Result<Response, RequestError> {
    let result = match (result, req.wrap_ttl) {
        (Ok(resp), Some(ttl)) => {
            Box::pin(unsealed.wrap_response(resp, ttl, full_path, &req.id)).await
        }
        (result, _) => result,
    };
    audit_response(unsealed, record, result).await
}

/// Records the answer of an audited request; a 500 replaces it when no device could.
async fn audit_response(
    unsealed: &Unsealed,
    record: Option<Record>,
    result: Result<Response, RequestError>,
) -> Result<Response, RequestError> {
    let Some(record) = record else {
        return result;
    };
    let entry = Entry {
        record: &record,
        is_response: true,
        response: result.as_ref().ok(),
        error: result.as_ref().err().map(ToString::to_string),
    };
    unsealed.audit.log(&entry).await?;
    result
}

async fn decide_create_or_update(
    route: &Route,
    ctx: &MountContext,
    req: &Request,
) -> Result<Operation, RequestError> {
    let Handler::Engine(engine) = &route.handler else {
        return Ok(Operation::Update);
    };
    Ok(match engine.exists(ctx, req).await? {
        Some(false) => Operation::Create,
        _ => Operation::Update,
    })
}

fn authorize(
    unsealed: &Unsealed,
    token: &TokenEntry,
    route: &Route,
    full_path: &str,
    req: &Request,
) -> Result<(), RequestError> {
    // The UI mounts endpoint filters its answer by the token's ACL itself (as Vault).
    if token.is_root()
        || (matches!(route.handler, Handler::System) && req.path.starts_with("internal/ui/mounts"))
    {
        return Ok(());
    }
    let acl = unsealed.policies.acl(&token.policies);
    let backend = match route.handler {
        Handler::System => Backend::System,
        Handler::Token => Backend::Token,
        Handler::Engine(_) => Backend::Mounted,
    };
    let needs_sudo = needs_sudo(backend, &req.path, req.operation);
    let checked = crate::policy::checked_path(full_path, req.operation == Operation::List);
    // A rule's min/max_wrapping_ttl bounds the wrap TTL the request asks for.
    let wrap_ttl = req.wrap_ttl.map(std::time::Duration::from_secs);
    acl.check_wrapped(
        &checked,
        req.operation.capability(),
        needs_sudo,
        &req.data,
        wrap_ttl,
    )
    .map_err(|_| RequestError::PermissionDenied)
}

/// Counts one use of a limited-use token; `true` when this was its last use (the caller
/// revokes it after the request).
async fn spend_use(unsealed: &Unsealed, token: &TokenEntry) -> Result<bool, RequestError> {
    if token.num_uses == 0 {
        return Ok(false);
    }
    match unsealed.tokens.spend_use(&token.id_hash).await? {
        None => Err(RequestError::PermissionDenied),
        Some(remaining) => Ok(remaining == 0),
    }
}

/// Turns an engine's leased secret into a registered lease shown in the response. If the
/// lease cannot be stored, the secret is revoked at once so no credential is left behind.
async fn register_lease(
    unsealed: &Unsealed,
    route: &Route,
    full_path: &str,
    req: &Request,
    token: &TokenEntry,
    resp: &mut Response,
) -> Result<(), RequestError> {
    let Some(secret) = resp.secret.take() else {
        return Ok(());
    };
    // A batch token is not stored, so nothing could revoke its leases with it: they are
    // tied to no token and end by their TTL.
    let owner = (!token.is_batch()).then_some(token);
    let registered = unsealed
        .register_lease(
            &route.entry.uuid,
            &route.entry.config,
            full_path,
            &req.path,
            owner,
            super::SecretLease::clone(&secret),
        )
        .await;
    match registered {
        Ok((lease, warning)) => {
            resp.lease = Some(lease);
            resp.warnings.extend(warning);
            Ok(())
        }
        Err(e) => {
            unsealed
                .revoke_unregistered(&route.entry.uuid, &req.path, &secret)
                .await;
            Err(e)
        }
    }
}

async fn dispatch(
    core: &Core,
    unsealed: &Arc<Unsealed>,
    route: &Route,
    ctx: &MountContext,
    req: &Request,
) -> Result<Response, RequestError> {
    match &route.handler {
        Handler::System => Box::pin(crate::sys::handle(core, unsealed, ctx, req)).await,
        Handler::Token => Box::pin(crate::auth::token::handle(unsealed, ctx, req)).await,
        Handler::Engine(engine) => engine.handle(ctx, req).await,
    }
}

#[cfg(test)]
mod size_tests {
    use super::*;
    use crate::core::testutil::fixture;

    fn size<F: std::future::Future>(_: &F) -> usize {
        std::mem::size_of::<F>()
    }

    /// Every request's future is moved a few times on its way through hyper and axum (a
    /// memcpy each time), and an async fn is as large as its largest inline callee. The
    /// rare, large branches (sys, token and login handlers, unauthenticated paths, lease
    /// registration, revocation) are boxed so the hot path stays small; with them inline
    /// the future was about 9 KiB in a debug build.
    #[tokio::test]
    async fn the_request_future_stays_small() {
        let f = fixture().await;
        let req = Request::new(Operation::Read, "dyn/creds/60");
        let mut trace = RequestTrace::default();
        let future = f.core.handle_traced(req, &mut trace);
        assert!(size(&future) < 5 * 1024, "{} bytes", size(&future));
    }
}
