//! The KV secrets engines: version 1 (one JSON object per path, [`v1`]) and version 2
//! (versioned, with metadata, check-and-set and soft deletion, [`v2`]). A mount's
//! `options.version` picks one; `cubbyhole/` runs the v1 logic on a per-token view.
//!
//! Storage below a mount's view: v1 keeps each secret at `data/<path>`; v2 uses `config`,
//! `meta/<path>` and `ver/<n>/<path>` (see `v2::store`). The prefixes never overlap, so a
//! v1 mount tuned to version 2 is upgraded in place on its first request.

pub mod v1;
pub mod v2;

#[cfg(test)]
pub(crate) mod testutil;

use std::sync::Arc;

use super::Engine;
use crate::core::mounts::MountEntry;
use crate::core::RequestError;

/// The engine for a `kv` mount, by its `version` option ("1" when absent).
pub fn create(entry: &MountEntry) -> Result<Arc<dyn Engine>, RequestError> {
    match entry.option("version").unwrap_or("1") {
        "1" | "" => Ok(Arc::new(v1::KvV1)),
        "2" => Ok(Arc::new(v2::KvV2::default())),
        other => Err(RequestError::invalid(format!(
            "invalid kv version {other:?}: the version option must be \"1\" or \"2\""
        ))),
    }
}

/// A secret path that may be written: not empty, not a folder, no empty segment.
pub(crate) fn writable_path(path: &str) -> Result<&str, RequestError> {
    if path.is_empty() {
        return Err(RequestError::invalid("missing path"));
    }
    if path.ends_with('/') {
        return Err(RequestError::invalid(
            "cannot write to a path ending in '/'",
        ));
    }
    if path.starts_with('/') || path.contains("//") {
        return Err(RequestError::invalid(format!(
            "invalid path {path:?}: empty path segments are not allowed"
        )));
    }
    Ok(path)
}

/// A list prefix below the mount: empty (the root) or ending in '/'.
pub(crate) fn list_prefix(path: &str) -> String {
    let trimmed = path.trim_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("{trimmed}/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(version: Option<&str>) -> MountEntry {
        let mut entry = MountEntry::new("kv/", "kv", "", false);
        entry.options = version.map(|v| [("version".to_string(), v.to_string())].into());
        entry
    }

    #[test]
    fn version_option_picks_the_engine() {
        assert!(create(&entry(None)).is_ok());
        assert!(create(&entry(Some("1"))).is_ok());
        assert!(create(&entry(Some("2"))).is_ok());
        let err = create(&entry(Some("3"))).err().map(|e| e.to_string());
        assert!(matches!(err, Some(m) if m.contains("\"3\"")));
    }

    #[test]
    fn writable_paths_are_checked() {
        assert_eq!(writable_path("a/b").ok(), Some("a/b"));
        for bad in ["", "a/", "a//b", "/a"] {
            assert!(writable_path(bad).is_err(), "{bad:?}");
        }
        assert_eq!(list_prefix(""), "");
        assert_eq!(list_prefix("/"), "");
        assert_eq!(list_prefix("a/b"), "a/b/");
        assert_eq!(list_prefix("a/b/"), "a/b/");
    }
}
