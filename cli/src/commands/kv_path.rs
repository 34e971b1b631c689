//! Where a `kv` command's path really goes: the KV version preflight
//! (`GET sys/internal/ui/mounts/<path>`, as the `vault` CLI does) and building the API
//! path, with `data/`, `metadata/`, `delete/`… inserted after the mount on KV v2.

use cofre_client::Client;
use serde_json::Value;

use crate::commands::sanitize_path;
use crate::failure::Failure;

/// A resolved KV target.
#[derive(Debug, Clone, PartialEq)]
pub struct KvTarget {
    /// The mount, as the server names it (`secret/`); empty when unknown.
    pub mount: String,
    /// The path including the mount (`secret/app/db`).
    pub path: String,
    /// Whether the mount is KV version 2.
    pub v2: bool,
}

impl KvTarget {
    /// The API path for `section` (`data`, `metadata`, …) on v2; the plain path on v1.
    pub fn api_path(&self, section: &str) -> String {
        if self.v2 {
            insert_section(&self.path, &self.mount, section)
        } else {
            self.path.clone()
        }
    }
}

/// Resolves `arg` (`secret/app`, or `app` with `-mount=secret`) against the server.
/// `keep_trailing_slash` keeps `kv get`'s habit of sending the path as typed.
pub async fn resolve(
    client: &Client,
    arg: &str,
    mount_flag: Option<&str>,
    keep_trailing_slash: bool,
) -> Result<KvTarget, Failure> {
    let arg = if keep_trailing_slash {
        arg.trim_start_matches('/').to_string()
    } else {
        sanitize_path(arg)
    };
    match mount_flag.filter(|m| !m.trim().is_empty()) {
        Some(mount) => {
            let (mount_path, v2) = preflight(client, &sanitize_path(mount)).await?;
            let mount_path = if mount_path.is_empty() {
                sanitize_path(mount)
            } else {
                mount_path
            };
            Ok(KvTarget {
                path: join(&[&mount_path, &arg]),
                mount: mount_path,
                v2,
            })
        }
        None => {
            let (mount, v2) = preflight(client, &arg).await?;
            Ok(KvTarget {
                mount,
                path: arg,
                v2,
            })
        }
    }
}

/// Asks the server which mount serves `path` and its KV version. A 404 (a server
/// without the endpoint) means KV v1, as in `vault`.
async fn preflight(client: &Client, path: &str) -> Result<(String, bool), Failure> {
    // Never wrapped (as in `vault`): with -wrap-ttl only the command's own answer is.
    let secret = client
        .with_wrap_ttl("")
        .read(&format!("sys/internal/ui/mounts/{path}"))
        .await
        .map_err(|e| Failure::server(e.to_string()))?;
    let Some(secret) = secret else {
        return Ok((String::new(), false));
    };
    let mount = secret
        .field("path")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let version = secret
        .field("options")
        .and_then(|o| o.get("version"))
        .and_then(Value::as_str)
        .unwrap_or("1");
    Ok((mount, version == "2"))
}

/// `secret/app` with mount `secret/` and section `data` → `secret/data/app`.
fn insert_section(path: &str, mount: &str, section: &str) -> String {
    let bare_mount = mount.trim_end_matches('/');
    if path == mount || path == bare_mount {
        return join(&[mount, section]);
    }
    match path.strip_prefix(mount) {
        Some(rest) => join(&[mount, section, rest]),
        None if !bare_mount.is_empty() && path.starts_with(&format!("{bare_mount}/")) => {
            join(&[bare_mount, section, &path[bare_mount.len()..]])
        }
        None => join(&[mount, section, path]),
    }
}

/// Joins with single slashes and resolves `.`/`..`, like Go's `path.Join`.
pub fn join(parts: &[&str]) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in parts.iter().flat_map(|p| p.split('/')) {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    segments.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(path: &str, mount: &str, v2: bool) -> KvTarget {
        KvTarget {
            mount: mount.into(),
            path: path.into(),
            v2,
        }
    }

    #[test]
    fn v2_paths_gain_their_section() {
        let t = target("secret/app/db", "secret/", true);
        assert_eq!(t.api_path("data"), "secret/data/app/db");
        assert_eq!(t.api_path("metadata"), "secret/metadata/app/db");
        assert_eq!(
            target("secret", "secret/", true).api_path("metadata"),
            "secret/metadata"
        );
        assert_eq!(
            target("secret/", "secret/", true).api_path("metadata"),
            "secret/metadata"
        );
    }

    #[test]
    fn nested_mounts_insert_after_the_whole_mount() {
        let t = target("team/kv/app", "team/kv/", true);
        assert_eq!(t.api_path("data"), "team/kv/data/app");
    }

    #[test]
    fn v1_paths_are_unchanged() {
        let t = target("kv/app/", "kv/", false);
        assert_eq!(t.api_path("data"), "kv/app/");
    }

    #[test]
    fn join_cleans_like_go() {
        assert_eq!(join(&["secret/", "data", "/a//b/"]), "secret/data/a/b");
        assert_eq!(join(&["a", "./b", "../c"]), "a/c");
        assert_eq!(join(&["", "x"]), "x");
    }
}
