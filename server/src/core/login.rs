//! Logins: requests to an auth method's unauthenticated paths, and turning the method's
//! [`LoginGrant`] into a token. Tokens from logins are orphans (they have no parent token)
//! whose TTL follows the grant, then the mount's tuning, then the server's defaults. A
//! grant with `bound_cidrs` is refused unless the login itself comes from inside them
//! (the token would be useless otherwise), and the token carries them. The token's type
//! follows [`is_batch`]; batch tokens are sealed, not stored.

use std::net::IpAddr;

use std::sync::Arc;

use super::mounts::MountEntry;
use super::router::{Handler, Route};
use super::{LoginGrant, Request, RequestError, Response, Unsealed};
use crate::engines::MountContext;
use crate::tokens::{TokenEntry, TokenStore};

/// Whether `relative` is one of the engine's unauthenticated paths.
pub(super) fn is_unauthenticated(route: &Route, relative: &str) -> bool {
    let Handler::Engine(engine) = &route.handler else {
        return false;
    };
    let relative = relative.trim_end_matches('/');
    engine
        .unauthenticated_paths()
        .iter()
        .any(|pattern| match pattern.strip_suffix('*') {
            Some(prefix) => relative.starts_with(prefix),
            None => relative == *pattern,
        })
}

/// Serves a login request: no token, no ACL; a grant in the answer becomes a token.
pub(super) async fn handle(
    unsealed: &Arc<Unsealed>,
    route: &Route,
    full_path: &str,
    req: &Request,
) -> Result<Response, RequestError> {
    let Handler::Engine(engine) = &route.handler else {
        return Err(RequestError::unsupported_path());
    };
    // A lease-count quota on the auth mount counts the tokens its logins created; the
    // slot is held until this login's token is stored.
    let _slot = unsealed.reserve_lease_slot(full_path).await?;
    let ctx = MountContext {
        storage: unsealed.mount_storage(&route.entry),
        mount: route.entry.clone(),
        token: None,
        system_default_ttl: unsealed.settings.default_lease_ttl.as_secs(),
    };
    let mut response = engine.handle(&ctx, req).await?;
    if let Some(grant) = response.login.take() {
        let (token, entry) =
            issue(unsealed, &route.entry, full_path, *grant, req.remote_addr).await?;
        response.auth = Some(Box::new(crate::auth::token::auth_info(&token, &entry)));
    }
    Ok(response)
}

/// Creates the token a login grants.
async fn issue(
    unsealed: &Unsealed,
    mount: &MountEntry,
    path: &str,
    grant: LoginGrant,
    remote_addr: Option<IpAddr>,
) -> Result<(zeroize::Zeroizing<String>, Arc<TokenEntry>), RequestError> {
    if !crate::cidr::allows(&grant.bound_cidrs, remote_addr) {
        tracing::debug!(?remote_addr, %path, "login refused: address outside the role's token_bound_cidrs");
        return Err(RequestError::PermissionDenied);
    }
    let mount_type = mount.config.token_type.as_deref().unwrap_or("");
    let batch = is_batch(mount_type, &grant.token_type);
    if batch && (grant.period != 0 || grant.num_uses != 0) {
        return Err(RequestError::invalid(
            "batch tokens cannot have a period or a uses limit: fix the role's token_type",
        ));
    }
    let (token, accessor) = TokenStore::generate_ids();
    let ttl = login_ttl(unsealed, mount, &grant);
    let mut policies: Vec<String> = grant
        .policies
        .iter()
        .map(|p| p.trim().to_lowercase())
        .filter(|p| !p.is_empty() && p != "root")
        .collect();
    if !grant.no_default_policy {
        policies.push("default".into());
    }
    policies.sort();
    policies.dedup();
    let mount_name = mount.path.trim_end_matches('/').replace('/', "-");
    let display_name = if grant.display_name.is_empty() {
        mount_name
    } else {
        format!("{mount_name}-{}", grant.display_name)
    };
    let base = TokenEntry::new(
        unsealed.tokens.hash(&token),
        accessor,
        policies,
        path.trim_end_matches('/'),
    );
    let entry = TokenEntry {
        meta: (!grant.metadata.is_empty()).then_some(grant.metadata),
        display_name,
        num_uses: grant.num_uses,
        creation_ttl: ttl,
        expire_time: base.creation_time + ttl,
        explicit_max_ttl: grant.explicit_max_ttl,
        period: grant.period,
        renewable: !batch,
        orphan: true,
        bound_cidrs: grant.bound_cidrs,
        ..base
    };
    if batch {
        let entry = TokenEntry {
            accessor: String::new(),
            token_type: "batch".into(),
            ..entry
        };
        return Ok(unsealed.tokens.seal_batch(entry));
    }
    let entry = unsealed.tokens.create(entry).await?;
    Ok((token, entry))
}

/// Whether a login issues a batch token: a mount tuned to `service` or `batch` forces
/// its type; else the role's `service`/`batch` (or `default-service`/`default-batch`)
/// decides; else (`default`) the mount's `default-batch` gives batch, anything else
/// service.
fn is_batch(mount_type: &str, role_type: &str) -> bool {
    match (mount_type, role_type) {
        ("batch", _) => true,
        ("service", _) => false,
        (_, "batch" | "default-batch") => true,
        (_, "service" | "default-service") => false,
        (mount_default, _) => mount_default == "default-batch",
    }
}

/// The grant's TTL (or period), else the mount's default, else the system's; never above
/// the grant's, the mount's or the system's max, nor the explicit max.
fn login_ttl(unsealed: &Unsealed, mount: &MountEntry, grant: &LoginGrant) -> u64 {
    let system = &unsealed.settings;
    let or = |value: u64, fallback: u64| if value == 0 { fallback } else { value };
    let default = or(
        mount.config.default_lease_ttl,
        system.default_lease_ttl.as_secs(),
    );
    let mount_max = or(mount.config.max_lease_ttl, system.max_lease_ttl.as_secs());
    let mut ttl = if grant.period > 0 {
        grant.period
    } else {
        or(grant.ttl, default)
    };
    if grant.period == 0 {
        ttl = ttl.min(or(grant.max_ttl, mount_max)).min(mount_max);
    }
    if grant.explicit_max_ttl > 0 {
        ttl = ttl.min(grant.explicit_max_ttl);
    }
    ttl.max(1)
}

#[cfg(test)]
mod tests {
    use super::is_batch;

    #[test]
    fn the_mount_forces_then_the_role_then_the_mount_default_decides() {
        let cases = [
            ("batch", "service", true),
            ("service", "batch", false),
            ("default-service", "batch", true),
            ("default-batch", "service", false),
            ("default-batch", "default", true),
            ("default-batch", "", true),
            ("default-service", "default", false),
            ("", "default-batch", true),
            ("", "", false),
        ];
        for (mount, role, batch) in cases {
            assert_eq!(
                is_batch(mount, role),
                batch,
                "mount {mount:?}, role {role:?}"
            );
        }
    }
}
