//! Help for API paths (`GET /v1/<path>?help=1`, what `vault path-help` asks): every
//! backend (engine, auth method, `sys/`, `auth/token/`) describes its paths with a
//! [`BackendHelp`]; this module finds the pattern a request path matches and renders
//! Vault's `{"help", "openapi", "see_also"}` answer.
//!
//! Patterns are paths relative to the mount whose segments are literals, `<name>` (one
//! segment) or a last `<name*>` (the rest, possibly empty).

use serde_json::{json, Map, Value};

use crate::core::RequestError;

/// One path pattern of a backend.
#[derive(Debug)]
pub struct PathHelp {
    pub pattern: &'static str,
    /// One line: what the path is for.
    pub synopsis: &'static str,
    /// A few lines: the operations it answers and what they take.
    pub description: &'static str,
}

/// What a backend is and the paths it serves.
#[derive(Debug)]
pub struct BackendHelp {
    pub description: &'static str,
    pub paths: &'static [PathHelp],
}

impl BackendHelp {
    /// The first pattern `relative` matches (a trailing `/` is ignored).
    pub fn find(&self, relative: &str) -> Option<&PathHelp> {
        let relative = relative.trim_end_matches('/');
        self.paths.iter().find(|p| matches(p.pattern, relative))
    }

    /// The help answer for `relative` below the mount `mount` (`secret/`): the backend's
    /// overview for the mount itself, else the matching path's help; an unknown path is
    /// 404 "unsupported path".
    pub fn answer(&self, mount: &str, relative: &str) -> Result<Value, RequestError> {
        if relative.trim_matches('/').is_empty() {
            return Ok(answer(self.overview(), openapi(mount, self.paths.iter())));
        }
        let path = self
            .find(relative)
            .ok_or_else(RequestError::unsupported_path)?;
        let text = format!(
            "Request:        {relative}\nMatching Route: {}\n\n{}\n\n## DESCRIPTION\n\n{}",
            path.pattern,
            path.synopsis,
            wrap(path.description)
        );
        Ok(answer(text, openapi(mount, std::iter::once(path))))
    }

    fn overview(&self) -> String {
        let mut text = format!(
            "## DESCRIPTION\n\n{}\n\n## PATHS\n\nThe paths of this backend; ask for help on \
             any path matching a pattern for more.\n",
            wrap(self.description)
        );
        for path in self.paths {
            text.push_str(&format!(
                "\n    {}\n        {}\n",
                path.pattern, path.synopsis
            ));
        }
        text
    }
}

/// Wraps text at 80 columns, as help is read in a terminal.
fn wrap(text: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > 80 {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(line);
    lines.join("\n")
}

fn answer(help: String, openapi: Value) -> Value {
    json!({ "help": help, "openapi": openapi, "see_also": null })
}

/// A minimal OpenAPI 3 document: one entry per pattern with its synopsis. Cofre does
/// not describe operations or schemas.
fn openapi<'a>(mount: &str, paths: impl Iterator<Item = &'a PathHelp>) -> Value {
    let mut entries = Map::new();
    for path in paths {
        let templated: Vec<String> = path
            .pattern
            .split('/')
            .map(|segment| match segment.strip_prefix('<') {
                Some(name) => format!("{{{}}}", name.trim_end_matches(['>', '*'])),
                None => segment.to_owned(),
            })
            .collect();
        let key = format!("/{mount}{}", templated.join("/"));
        entries.insert(key, json!({ "description": path.synopsis }));
    }
    json!({
        "openapi": "3.0.2",
        "info": {
            "title": "Cofre API",
            "description": "Cofre's HTTP API (Vault-compatible). All paths are under /v1/.",
            "version": crate::VERSION,
        },
        "paths": entries,
        "components": { "schemas": {} },
    })
}

/// Whether `path` (no trailing slash) matches `pattern`.
fn matches(pattern: &str, path: &str) -> bool {
    let mut parts = path.split('/').filter(|p| !p.is_empty());
    for segment in pattern.split('/') {
        if segment.starts_with('<') && segment.ends_with("*>") {
            return true;
        }
        let Some(part) = parts.next() else {
            return false;
        };
        if !segment.starts_with('<') && segment != part {
            return false;
        }
    }
    parts.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    static HELP: BackendHelp = BackendHelp {
        description: "A test backend.",
        paths: &[
            PathHelp {
                pattern: "config",
                synopsis: "Settings.",
                description: "Read or write settings.",
            },
            PathHelp {
                pattern: "roles/<name>",
                synopsis: "One role.",
                description: "Manage a role.",
            },
            PathHelp {
                pattern: "data/<path*>",
                synopsis: "Secrets.",
                description: "Read or write a secret.",
            },
        ],
    };

    #[test]
    fn text_wraps_at_80_columns() {
        let long = "word ".repeat(40);
        let wrapped = wrap(&long);
        assert!(wrapped.lines().all(|l| l.len() <= 80));
        assert_eq!(wrapped.split_whitespace().count(), 40);
    }

    #[test]
    fn patterns_match_segments() {
        assert!(matches("config", "config"));
        assert!(!matches("config", "config/x"));
        assert!(matches("roles/<name>", "roles/web"));
        assert!(!matches("roles/<name>", "roles"));
        assert!(!matches("roles/<name>", "roles/a/b"));
        assert!(matches("data/<path*>", "data/a/b/c"));
        assert!(matches("data/<path*>", "data"));
        assert!(!matches("data/<path*>", "other/a"));
    }

    #[test]
    fn answers_a_path_the_mount_or_404() {
        let answer = HELP.answer("kv/", "roles/web/").expect("a known path");
        let help = answer["help"].as_str().unwrap_or_default();
        assert!(help.starts_with("Request:        roles/web/\nMatching Route: roles/<name>"));
        assert!(help.contains("Manage a role."));
        assert!(answer["openapi"]["paths"]["/kv/roles/{name}"].is_object());

        let overview = HELP.answer("kv/", "").expect("the mount");
        let help = overview["help"].as_str().unwrap_or_default();
        assert!(
            help.contains("A test backend.") && help.contains("    data/<path*>\n        Secrets.")
        );

        assert!(matches!(
            HELP.answer("kv/", "nope"),
            Err(RequestError::UnsupportedPath(_))
        ));
    }
}
