//! Keeps ARCHITECTURE.md true: every source file opens with a module doc, and no layer
//! imports a layer above it (storage < barrier < policy, tokens, leases < engines < core, sys,
//! auth < http < server). Engines may use the core's plain request/response/mount types,
//! never the core itself.

use std::path::{Path, PathBuf};

fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn every_file_opens_with_a_module_doc() {
    let missing: Vec<String> = sources(&src())
        .into_iter()
        .filter(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            !text.trim_start().starts_with("//!")
        })
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "files without a //! module doc: {missing:?}"
    );
}

/// `crate::<module>` paths a layer must not use.
fn forbidden_for(top: &str) -> &'static [&'static str] {
    match top {
        "storage" => &[
            "barrier", "core", "policy", "tokens", "engines", "sys", "auth", "http", "server",
        ],
        "barrier" => &[
            "core", "policy", "tokens", "engines", "sys", "auth", "http", "server",
        ],
        "policy" => &[
            "barrier", "storage", "core", "tokens", "engines", "sys", "auth", "http", "server",
        ],
        "tokens" | "leases" => &["core", "policy", "engines", "sys", "auth", "http", "server"],
        "engines" => &[
            "core::Core",
            "core::Unsealed",
            "core::pipeline",
            "core::unsealed",
            "sys",
            "auth",
            "http",
            "server",
        ],
        "core" | "sys" | "auth" => &["http", "server"],
        "http" => &["server"],
        _ => &[],
    }
}

#[test]
fn no_layer_imports_a_layer_above_it() {
    let root = src();
    let mut violations = Vec::new();
    for path in sources(&root) {
        let relative = path.strip_prefix(&root).unwrap();
        let top = relative
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .unwrap_or("")
            .trim_end_matches(".rs")
            .to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        for forbidden in forbidden_for(&top) {
            let needle = format!("crate::{forbidden}");
            if text.contains(&needle) {
                violations.push(format!("{} uses {needle}", relative.display()));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "layering violations: {violations:#?}"
    );
}
