//! `sys/capabilities`, `sys/capabilities-self`, `sys/capabilities-accessor`: what a token
//! may do on given paths.

use std::sync::Arc;

use serde_json::{json, Map};

use super::{is_write, legacy, unsupported};
use crate::core::{now_unix, Request, RequestError, Response, Unsealed};
use crate::engines::MountContext;
use crate::tokens::TokenEntry;

pub async fn handle(
    unsealed: &Arc<Unsealed>,
    ctx: &MountContext,
    req: &Request,
) -> Result<Response, RequestError> {
    if !is_write(req.operation) {
        return unsupported();
    }
    let entry = match req.path.trim_end_matches('/') {
        "capabilities-self" => ctx.token.clone().ok_or(RequestError::PermissionDenied)?,
        "capabilities" => {
            let token = req
                .str_field("token")?
                .filter(|t| !t.is_empty())
                .ok_or_else(|| RequestError::invalid("missing token"))?;
            unsealed
                .tokens
                .lookup(token, now_unix())
                .await?
                .ok_or_else(|| RequestError::invalid("invalid token"))?
        }
        "capabilities-accessor" => {
            let accessor = req
                .str_field("accessor")?
                .filter(|t| !t.is_empty())
                .ok_or_else(|| RequestError::invalid("missing accessor"))?;
            unsealed
                .tokens
                .lookup_accessor(accessor, now_unix())
                .await?
                .ok_or_else(|| RequestError::invalid("invalid accessor"))?
        }
        _ => return Err(RequestError::unsupported_path()),
    };
    let mut paths = req.string_list("paths")?.unwrap_or_default();
    if let Some(path) = req.str_field("path")? {
        paths.push(path.to_string());
    }
    if paths.is_empty() {
        return Err(RequestError::invalid("missing paths"));
    }
    Ok(legacy(capabilities(unsealed, &entry, &paths)))
}

fn capabilities(
    unsealed: &Unsealed,
    entry: &TokenEntry,
    paths: &[String],
) -> Map<String, serde_json::Value> {
    let acl = unsealed.policies.acl(&entry.policies);
    let mut data = Map::new();
    let mut all: Vec<&'static str> = Vec::new();
    for path in paths {
        let names = if acl.is_root() {
            vec!["root"]
        } else {
            let caps = acl.capabilities(path.trim_start_matches('/'));
            if caps.is_empty() {
                vec!["deny"]
            } else {
                caps.names()
            }
        };
        for n in &names {
            if !all.contains(n) {
                all.push(n);
            }
        }
        data.insert(path.clone(), json!(names));
    }
    // Vault keeps the old single-path `capabilities` key when one path was asked about.
    if paths.len() == 1 {
        all.sort_unstable();
        data.insert("capabilities".into(), json!(all));
    }
    data
}
