//! Vault's "root paths": requests on these also need the `sudo` capability. Pure, so
//! the pipeline and `cofre policy explain` decide sudo from the same lists.

use super::Operation;

/// Which built-in backend serves a request; only these two have root paths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// `sys/`.
    System,
    /// `auth/token/`.
    Token,
    /// Any mounted engine or auth method.
    Mounted,
}

const SYSTEM_EXACT: &[&str] = &[
    "rotate",
    "seal",
    "step-down",
    "audit",
    "key-status",
    "storage/snapshot",
];

const SYSTEM_PREFIX: &[&str] = &[
    "raw/",
    "audit/",
    "leases/revoke-prefix/",
    "leases/revoke-force/",
    "leases/lookup/",
    "revoke-prefix/",
    "revoke-force/",
    "plugins/catalog/",
];

/// Whether `op` on `relative` (the path below the backend's mount) needs `sudo`.
pub fn needs_sudo(backend: Backend, relative: &str, op: Operation) -> bool {
    let relative = relative.trim_end_matches('/');
    match backend {
        Backend::System => {
            SYSTEM_EXACT.contains(&relative)
                || SYSTEM_PREFIX.iter().any(|p| relative.starts_with(p))
                || (relative.starts_with("auth/") && op != Operation::Read)
                || (relative == "leases/lookup" && op == Operation::List)
        }
        Backend::Token => {
            relative.starts_with("revoke-orphan") || relative.starts_with("accessors")
        }
        Backend::Mounted => false,
    }
}

/// [`needs_sudo`] for a full API path (`sys/seal`): `sys/` and `auth/token/` are fixed
/// mounts, so the path alone names the backend.
pub fn path_needs_sudo(full_path: &str, op: Operation) -> bool {
    let path = full_path.trim_start_matches('/');
    if let Some(relative) = path.strip_prefix("sys/") {
        return needs_sudo(Backend::System, relative, op);
    }
    if let Some(relative) = path.strip_prefix("auth/token/") {
        return needs_sudo(Backend::Token, relative, op);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_paths_need_sudo() {
        assert!(path_needs_sudo("sys/seal", Operation::Update));
        assert!(path_needs_sudo("sys/audit/file", Operation::Update));
        assert!(path_needs_sudo("sys/auth/userpass", Operation::Update));
        assert!(!path_needs_sudo("sys/auth/userpass", Operation::Read));
        assert!(path_needs_sudo("sys/leases/lookup/", Operation::List));
        assert!(path_needs_sudo("auth/token/accessors/", Operation::List));
        assert!(!path_needs_sudo("sys/mounts", Operation::Read));
        assert!(!path_needs_sudo("secret/data/seal", Operation::Update));
    }
}
