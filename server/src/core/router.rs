//! The router: longest-prefix match of a request path over the mounted engines and auth
//! methods. The table is an immutable snapshot swapped on every mount change, so routing
//! takes no lock beyond cloning an `Arc`.

use std::sync::{Arc, RwLock};

use crate::engines::help::BackendHelp;
use crate::engines::Engine;

use super::mounts::MountEntry;

/// Who serves a mount.
#[derive(Clone)]
pub enum Handler {
    /// `sys/`: the system backend inside the core.
    System,
    /// `auth/token/`: the token store's API.
    Token,
    /// Any other engine or auth method.
    Engine(Arc<dyn Engine>),
}

impl Handler {
    /// The help texts of the backend behind this handler.
    pub fn help(&self) -> &'static BackendHelp {
        match self {
            Handler::System => &crate::sys::help::HELP,
            Handler::Token => &crate::auth::token::help::HELP,
            Handler::Engine(engine) => engine.help(),
        }
    }
}

/// One routable mount.
#[derive(Clone)]
pub struct Route {
    pub entry: Arc<MountEntry>,
    pub handler: Handler,
    /// `secret/` or `auth/token/`: the full API prefix.
    pub prefix: String,
    /// The mount's request counters (kept across router rebuilds).
    pub stats: Arc<crate::metrics::MountStats>,
}

/// The routing table snapshot.
#[derive(Default)]
pub struct Router {
    routes: RwLock<Arc<Vec<Route>>>,
}

impl Router {
    /// Replaces the table (sorted here so the longest prefix is tried first).
    pub fn replace(&self, mut routes: Vec<Route>) {
        routes.sort_by(|a, b| {
            b.prefix
                .len()
                .cmp(&a.prefix.len())
                .then(a.prefix.cmp(&b.prefix))
        });
        *self.routes.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(routes);
    }

    pub fn snapshot(&self) -> Arc<Vec<Route>> {
        self.routes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The mount serving `path` and the path relative to it. A path equal to a mount
    /// without its trailing slash (`secret`) routes to the mount with an empty relative
    /// path.
    pub fn route(&self, path: &str) -> Option<(Route, String)> {
        let routes = self.snapshot();
        routes.iter().find_map(|route| {
            if let Some(rest) = path.strip_prefix(route.prefix.as_str()) {
                return Some((route.clone(), rest.to_string()));
            }
            (path.len() + 1 == route.prefix.len() && route.prefix.starts_with(path))
                .then(|| (route.clone(), String::new()))
        })
    }

    /// The route whose entry has exactly this API prefix.
    pub fn find(&self, prefix: &str) -> Option<Route> {
        self.snapshot().iter().find(|r| r.prefix == prefix).cloned()
    }

    /// The mount that conflicts with a new mount at `prefix` (one is a prefix of the other).
    pub fn conflict(&self, prefix: &str) -> Option<String> {
        self.snapshot()
            .iter()
            .find(|r| r.prefix.starts_with(prefix) || prefix.starts_with(r.prefix.as_str()))
            .map(|r| r.prefix.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(prefix: &str) -> Route {
        let entry = MountEntry::new(prefix, "kv", "", false);
        let stats = crate::metrics::Metrics::default()
            .set_mounts(&[(prefix.into(), entry.accessor.clone())])
            .remove(0);
        Route {
            entry: Arc::new(entry),
            handler: Handler::System,
            prefix: prefix.into(),
            stats,
        }
    }

    #[test]
    fn longest_prefix_wins() {
        let router = Router::default();
        router.replace(vec![route("secret/"), route("secret/team/"), route("sys/")]);
        let (r, rest) = router.route("secret/team/data/x").unwrap();
        assert_eq!(r.prefix, "secret/team/");
        assert_eq!(rest, "data/x");
        let (r, rest) = router.route("secret/data/x").unwrap();
        assert_eq!((r.prefix.as_str(), rest.as_str()), ("secret/", "data/x"));
        let (r, rest) = router.route("secret").unwrap();
        assert_eq!((r.prefix.as_str(), rest.as_str()), ("secret/", ""));
        assert!(router.route("secretx/a").is_none());
        assert!(router.route("nope").is_none());
    }

    #[test]
    fn conflicts_both_ways() {
        let router = Router::default();
        router.replace(vec![route("secret/"), route("a/b/")]);
        assert_eq!(router.conflict("secret/x/").as_deref(), Some("secret/"));
        assert_eq!(router.conflict("a/").as_deref(), Some("a/b/"));
        assert_eq!(router.conflict("other/"), None);
    }
}
