//! The system backend (`sys/`): seal lifecycle, mounts, policies, capabilities, audit
//! devices, leases, quotas, response wrapping. Handlers are thin: they validate input and
//! call the core.

mod audit;
mod capabilities;
pub mod help;
mod leases;
mod metrics;
mod mounts;
mod policies;
mod quotas;
mod seal;
mod wrapping;

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::core::{Core, Operation, Request, RequestError, Response, Unsealed};
use crate::engines::MountContext;

pub use metrics::metrics;
pub use seal::handle_unauthenticated;
pub use wrapping::lookup as wrapping_lookup;

/// Handles an authenticated request under `sys/` (`req.path` is relative to `sys/`).
pub async fn handle(
    core: &Core,
    unsealed: &Arc<Unsealed>,
    ctx: &MountContext,
    req: &Request,
) -> Result<Response, RequestError> {
    let path = req.path.as_str();
    let top = path.split('/').next().unwrap_or("");
    match top {
        "seal" | "rotate" | "key-status" => seal::handle_authenticated(core, unsealed, req).await,
        "mounts" | "auth" | "remount" => mounts::handle(unsealed, req).await,
        "internal" if path.starts_with("internal/ui/mounts") => {
            mounts::ui_mounts(unsealed, ctx, req).await
        }
        "policy" | "policies" => policies::handle(unsealed, req).await,
        "ha-status" if req.operation == Operation::Read => seal::ha_status(core).await,
        "storage" if path.trim_end_matches('/') == "storage/snapshot" => {
            seal::snapshot(core, req).await
        }
        "leases" | "renew" | "revoke" | "revoke-prefix" | "revoke-force" => {
            leases::handle(unsealed, req).await
        }
        "quotas" => quotas::handle(unsealed, req).await,
        "wrapping" => wrapping::handle(unsealed, ctx, req).await,
        "metrics" if req.operation == Operation::Read => metrics::metrics(core, req).await,
        "audit" | "audit-hash" => audit::handle(unsealed, req).await,
        "capabilities" | "capabilities-self" | "capabilities-accessor" => {
            capabilities::handle(unsealed, ctx, req).await
        }
        _ => Err(RequestError::unsupported_path()),
    }
}

/// A sys response that also repeats its data at the top level, as Vault does for these
/// older endpoints.
pub(crate) fn legacy(data: Map<String, Value>) -> Response {
    Response {
        data_at_top_level: true,
        ..Response::data(data)
    }
}

/// Rejects an operation the path does not support.
pub(crate) fn unsupported<T>() -> Result<T, RequestError> {
    Err(RequestError::UnsupportedOperation)
}

/// `true` for the two write operations.
pub(crate) fn is_write(op: Operation) -> bool {
    matches!(op, Operation::Create | Operation::Update)
}
