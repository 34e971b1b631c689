//! `cofre status`: the server's seal status. Exits 0 when unsealed, 2 when sealed and
//! 1 when the status cannot be read, as `vault status` does.

use cofre_client::sys::SealStatus;
use cofre_client::Client;
use serde::Serialize;

use crate::context::Context;
use crate::failure::{CmdResult, Failure};
use crate::output::{self, table};

/// Arguments of `cofre status` (it takes none besides the global flags).
#[derive(clap::Args, Debug)]
pub struct StatusArgs {}

/// The seal status plus what `sys/leader` adds, printed by `status` and `operator unseal`.
#[derive(Debug, Serialize)]
pub struct StatusOutput {
    #[serde(flatten)]
    pub seal: SealStatus,
    pub ha_enabled: bool,
}

pub async fn run(ctx: &Context, _args: StatusArgs) -> CmdResult {
    let seal = ctx
        .client
        .sys()
        .seal_status()
        .await
        .map_err(|e| Failure::usage(format!("Error checking seal status: {e}")))?;
    let sealed = seal.sealed;
    let status = with_leader(&ctx.client, seal)
        .await
        .map_err(|e| Failure::usage(e.to_string()))?;
    if let Some(field) = &ctx.ui.field {
        let value = status_field(&status, field).ok_or_else(|| {
            Failure::usage(format!("Field \"{field}\" not present in seal status"))
        })?;
        ctx.ui.raw(&value)?;
    } else {
        print(ctx, &status)?;
    }
    if sealed {
        return Err(Failure::Exit(2));
    }
    Ok(())
}

/// Adds `sys/leader`'s answer; a sealed server that refuses it counts as HA, as in
/// `vault`.
pub async fn with_leader(client: &Client, seal: SealStatus) -> Result<StatusOutput, String> {
    let ha_enabled = match client.sys().leader().await {
        Ok(leader) => leader.ha_enabled,
        Err(e) if e.to_string().contains("Vault is sealed") => true,
        Err(e) => return Err(format!("Error checking leader status: {e}")),
    };
    Ok(StatusOutput { seal, ha_enabled })
}

/// Prints the status table, or the status as JSON/YAML.
pub fn print(ctx: &Context, status: &StatusOutput) -> CmdResult {
    if !ctx.ui.is_table() {
        return ctx.ui.structured(status);
    }
    output::out(&table::key_value(rows(status)));
    Ok(())
}

fn rows(status: &StatusOutput) -> Vec<(String, String)> {
    let seal = &status.seal;
    let mut rows = vec![
        ("Seal Type".to_string(), seal.seal_type.clone()),
        ("Initialized".to_string(), seal.initialized.to_string()),
        ("Sealed".to_string(), seal.sealed.to_string()),
        ("Total Shares".to_string(), seal.n.to_string()),
        ("Threshold".to_string(), seal.t.to_string()),
    ];
    if seal.sealed {
        rows.push((
            "Unseal Progress".into(),
            format!("{}/{}", seal.progress, seal.t),
        ));
        rows.push(("Unseal Nonce".into(), seal.nonce.clone()));
    }
    if seal.migration {
        rows.push(("Seal Migration in Progress".into(), "true".into()));
    }
    let optional = [
        ("Version", &seal.version),
        ("Commit Date", &seal.commit_date),
        ("Storage Type", &seal.storage_type),
    ];
    for (name, value) in optional {
        if !value.is_empty() {
            rows.push((name.to_string(), value.clone()));
        }
    }
    if !seal.cluster_name.is_empty() && !seal.cluster_id.is_empty() {
        rows.push(("Cluster Name".into(), seal.cluster_name.clone()));
        rows.push(("Cluster ID".into(), seal.cluster_id.clone()));
    }
    rows.push(("HA Enabled".into(), status.ha_enabled.to_string()));
    rows
}

fn status_field(status: &StatusOutput, field: &str) -> Option<serde_json::Value> {
    if field == "ha_mode" {
        return Some(serde_json::Value::String("standby".into()));
    }
    let all = serde_json::to_value(status).ok()?;
    all.get(field).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_status_shows_progress() {
        let status = StatusOutput {
            seal: SealStatus {
                seal_type: "shamir".into(),
                initialized: true,
                sealed: true,
                t: 3,
                n: 5,
                progress: 1,
                version: "0.1.0".into(),
                ..SealStatus::default()
            },
            ha_enabled: false,
        };
        let text = table::key_value(rows(&status));
        assert!(text.contains("Unseal Progress    1/3"), "{text}");
        assert!(text.contains("Unseal Nonce       n/a"), "{text}");
        assert!(text.ends_with("HA Enabled         false"), "{text}");
        assert!(!text.contains("Cluster"), "{text}");
    }

    #[test]
    fn json_adds_ha_enabled_last() {
        let status = StatusOutput {
            seal: SealStatus::default(),
            ha_enabled: true,
        };
        let text = output::pretty_json(&status);
        assert!(
            text.trim_end().ends_with("\"ha_enabled\": true\n}"),
            "{text}"
        );
        assert_eq!(
            status_field(&status, "sealed"),
            Some(serde_json::json!(false))
        );
    }
}
