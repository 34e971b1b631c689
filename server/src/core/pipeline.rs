//! The request pipeline: unauthenticated system paths → unsealed check → token → route →
//! create/update decision → ACL → audit request → handler → use counting → audit response.
//! Auditing fails closed: a request no enabled audit device recorded is refused (500) before
//! anything changes, and a response no device recorded is replaced by a 500.

use std::sync::Arc;

use super::mounts::MountEntry;
use super::router::{Handler, Route};
use super::{now_unix, Core, Operation, Request, RequestError, Response, Unsealed};
use crate::audit::{Entry, Record};
use crate::engines::MountContext;
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

impl Core {
    /// Handles one API request end to end.
    pub async fn handle(&self, mut req: Request) -> Result<Response, RequestError> {
        if UNAUTHENTICATED.contains(&req.path.trim_end_matches('/')) {
            return crate::sys::handle_unauthenticated(self, &req).await;
        }
        let unsealed = self.unsealed()?;
        let routed = unsealed.router.route(&req.path);
        if let Some((route, relative)) = &routed {
            if super::login::is_unauthenticated(route, relative) {
                let full_path = std::mem::replace(&mut req.path, relative.clone());
                let record =
                    audit_request(&unsealed, &req, &full_path, &route.entry, None, None).await?;
                let result = super::login::handle(&unsealed, route, &full_path, &req).await;
                return audit_response(&unsealed, record, result).await;
            }
        }
        let token = self.authenticate(&unsealed, &req).await?;
        let Some((route, relative)) = routed else {
            // As Vault: a token that may not use the path learns nothing about mounts.
            let caps = unsealed
                .policies
                .acl(&token.policies)
                .capabilities(&req.path);
            if !token.is_root() && (caps.is_empty() || caps.contains(Capability::Deny)) {
                return Err(RequestError::PermissionDenied);
            }
            return Err(RequestError::UnsupportedPath(format!(
                "no handler for route {:?}. route entry not found.",
                req.path
            )));
        };
        let ctx = MountContext {
            storage: unsealed.mount_storage(&route.entry),
            mount: route.entry.clone(),
            token: Some(token.clone()),
            system_default_ttl: unsealed.settings.default_lease_ttl.as_secs(),
        };
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
            return audit_response(&unsealed, record, Err(e)).await;
        }
        let last_use = spend_use(&unsealed, &token).await?;
        let mut result = dispatch(self, &unsealed, &route, &ctx, &req).await;
        if last_use {
            if let Err(e) = unsealed.revoke_tree(&token.id_hash).await {
                result = Err(e);
            }
        }
        audit_response(&unsealed, record, result).await
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
        unsealed
            .tokens
            .lookup(token, now_unix())
            .await?
            .ok_or(RequestError::PermissionDenied)
    }
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

fn capability(op: Operation) -> Capability {
    match op {
        Operation::Read => Capability::Read,
        Operation::Create => Capability::Create,
        Operation::Update => Capability::Update,
        Operation::Patch => Capability::Patch,
        Operation::Delete => Capability::Delete,
        Operation::List => Capability::List,
    }
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
    let needs_sudo = needs_sudo(route, &req.path, req.operation);
    let path = full_path.trim_end_matches('/');
    let checked = if req.operation == Operation::List {
        format!("{path}/")
    } else {
        path.to_string()
    };
    acl.check(&checked, capability(req.operation), needs_sudo, &req.data)
        .map_err(|_| RequestError::PermissionDenied)
}

/// Vault's "root paths": these also need `sudo` on the path.
fn needs_sudo(route: &Route, relative: &str, op: Operation) -> bool {
    let relative = relative.trim_end_matches('/');
    match route.handler {
        Handler::System => {
            const EXACT: &[&str] = &["rotate", "seal", "step-down", "audit", "key-status"];
            const PREFIX: &[&str] = &[
                "raw/",
                "audit/",
                "leases/revoke-prefix/",
                "leases/revoke-force/",
                "leases/lookup/",
                "revoke-prefix/",
                "revoke-force/",
                "plugins/catalog/",
            ];
            EXACT.contains(&relative)
                || PREFIX.iter().any(|p| relative.starts_with(p))
                || (relative.starts_with("auth/") && op != Operation::Read)
                || (relative == "leases/lookup" && op == Operation::List)
        }
        Handler::Token => {
            relative.starts_with("revoke-orphan") || relative.starts_with("accessors")
        }
        Handler::Engine(_) => false,
    }
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

async fn dispatch(
    core: &Core,
    unsealed: &Arc<Unsealed>,
    route: &Route,
    ctx: &MountContext,
    req: &Request,
) -> Result<Response, RequestError> {
    match &route.handler {
        Handler::System => crate::sys::handle(core, unsealed, ctx, req).await,
        Handler::Token => crate::auth::token::handle(unsealed, ctx, req).await,
        Handler::Engine(engine) => engine.handle(ctx, req).await,
    }
}
