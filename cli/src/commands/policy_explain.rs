//! `cofre policy explain`: which rule of which policy decides a request, and why.
//!
//! Evaluated here, with the server's own policy module (`cofre_server::policy`), on the
//! token's policies as the server holds them (`auth/token/lookup-self`,
//! `sys/policies/acl/<name>`); `sys/capabilities-self` then asks the server for its own
//! answer, and a warning says so when the two differ. The command succeeds (exit 0)
//! whatever the decision: it answers a question, like `vault token capabilities`.

use std::sync::Arc;

use clap::Args;
use cofre_client::Client;
use cofre_server::core::root_paths::path_needs_sudo;
use cofre_server::core::Operation;
use cofre_server::policy::{self, Acl, Decision, Explanation, MatchingRule, Policy};
use serde::Serialize;
use serde_json::Value;

use crate::context::Context;
use crate::failure::{server_error, CmdResult, Failure};
use crate::output::{self, table};

pub const LONG_ABOUT: &str = "Explain which rule of which policy decides a request on \
PATH by TOKEN, and why: every rule that matches, the one that wins under Vault's \
precedence (an exact rule; else the most specific prefix (*) or segment (+) rule), the \
policies merged into it, denies, parameter conditions, and the decision for the operation \
(-op: read, create, update, write = create or update, patch, delete, list; paths such as \
sys/seal also need sudo).\n\n\
The token's policies are read from the server (reading their text needs a token that may \
read sys/policies/acl/<name>, e.g. the one in use) and evaluated locally with Cofre's own \
policy code; the server's sys/capabilities-self answer is compared with the result and a \
warning printed if they differ. Exit code 0 whatever the decision; 1 for bad arguments, \
2 when the server cannot be asked.\n\n\
Examples:\n  cofre policy explain -token=$APP_TOKEN secret/data/app/db\n  \
cofre policy explain -token=$APP_TOKEN -op=write -format=json secret/data/app/db";

#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// The token whose access to explain [default: the token in use]
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,
    /// The operation: read, create, update, write, patch, delete or list
    #[arg(long, default_value = "read", value_name = "OP")]
    op: String,
    /// The API path (for KV v2 include data/ or metadata/: secret/data/app)
    path: String,
}

/// What `-format=json` prints.
#[derive(Serialize)]
struct Report<'a> {
    path: &'a str,
    operation: &'a str,
    policies: &'a [String],
    /// Policies the token names that do not exist (they grant nothing).
    missing_policies: &'a [String],
    allowed: bool,
    decisions: &'a [Decision],
    explanation: &'a Explanation,
    /// `sys/capabilities-self` for the token, when the server answered.
    server_capabilities: Option<&'a [String]>,
    server_agrees: Option<bool>,
}

pub async fn run(ctx: &Context, args: ExplainArgs) -> CmdResult {
    let operations = operations(&args.op)?;
    let path = args.path.trim().trim_start_matches('/').to_string();
    if path.is_empty() {
        return Err(Failure::usage("Missing PATH: which API path to explain"));
    }
    let target = match &args.token {
        Some(token) => ctx.client.with_token(token.trim()),
        None => ctx.client.clone(),
    };
    let policy_names = token_policies(ctx, &target, args.token.as_deref()).await?;
    let (policies, missing) = fetch_policies(ctx, &target, &policy_names).await?;
    let acl = match policy_names.iter().any(|name| name == "root") {
        true => Acl::root(),
        false => Acl::new(&policies),
    };
    let is_list = operations == [Operation::List];
    let explanation = acl.explain(&policy::checked_path(&path, is_list), is_list);
    let decisions: Vec<Decision> = operations
        .iter()
        .map(|op| explanation.decide(op.capability(), path_needs_sudo(&path, *op)))
        .collect();
    let local: Vec<String> = acl
        .capabilities(&path)
        .names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    let server = server_capabilities(ctx, &target, args.token.as_deref(), &path).await;
    let agrees = server.as_ref().map(|caps| same_names(caps, &local));
    match (&server, agrees) {
        (None, _) => output::err("Warning: could not ask the server for the token's capabilities to cross-check"),
        (Some(caps), Some(false)) => output::err(&format!(
            "Warning: the server reports [{}] on {path} but these policies give [{}]: a policy may have changed meanwhile",
            caps.join(", "),
            local.join(", ")
        )),
        _ => {}
    }
    let report = Report {
        path: &path,
        operation: &args.op,
        policies: &policy_names,
        missing_policies: &missing,
        allowed: decisions.iter().all(|d| d.allowed),
        decisions: &decisions,
        explanation: &explanation,
        server_capabilities: server.as_deref(),
        server_agrees: agrees,
    };
    if !ctx.ui.is_table() {
        return ctx.ui.structured(&report);
    }
    output::out(&render(&report));
    Ok(())
}

/// The operations `-op` stands for (`write` is create or update: the server picks by
/// whether the path exists).
fn operations(op: &str) -> Result<Vec<Operation>, Failure> {
    Ok(match op.trim().to_ascii_lowercase().as_str() {
        "read" => vec![Operation::Read],
        "create" => vec![Operation::Create],
        "update" => vec![Operation::Update],
        "write" => vec![Operation::Create, Operation::Update],
        "patch" => vec![Operation::Patch],
        "delete" => vec![Operation::Delete],
        "list" => vec![Operation::List],
        other => {
            return Err(Failure::usage(format!(
                "Invalid -op \"{other}\": use read, create, update, write, patch, delete or list"
            )))
        }
    })
}

/// The token's policies: `lookup-self` with the token, else `lookup` with the caller's.
async fn token_policies(
    ctx: &Context,
    target: &Client,
    token: Option<&str>,
) -> Result<Vec<String>, Failure> {
    let looked_up = match (target.token().lookup_self().await, token) {
        (Ok(secret), _) => Ok(secret),
        (Err(_), Some(token)) => ctx.client.token().lookup(token.trim()).await,
        (Err(e), None) => Err(e),
    };
    let secret = looked_up.map_err(|e| server_error("Error looking up the token", &e))?;
    let names = secret
        .field("policies")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    Ok(names)
}

/// Each named policy's text, parsed; names of policies that do not exist.
async fn fetch_policies(
    ctx: &Context,
    target: &Client,
    names: &[String],
) -> Result<(Vec<Arc<Policy>>, Vec<String>), Failure> {
    let mut policies = Vec::new();
    let mut missing = Vec::new();
    for name in names.iter().filter(|name| *name != "root") {
        let text = match ctx.client.sys().read_policy(name).await {
            Ok(text) => text,
            // The caller may not read policies while the explained token may.
            Err(first) => target.sys().read_policy(name).await.map_err(|_| {
                server_error(
                    &format!("Error reading policy {name} (use a token that may read sys/policies/acl/{name})"),
                    &first,
                )
            })?,
        };
        let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
            missing.push(name.clone());
            continue;
        };
        let parsed = policy::parse(name, &text).map_err(|e| {
            Failure::server(format!("Error parsing policy {name} from the server: {e}"))
        })?;
        policies.push(Arc::new(parsed));
    }
    Ok((policies, missing))
}

/// The server's own answer for the token on `path`, if it gives one.
async fn server_capabilities(
    ctx: &Context,
    target: &Client,
    token: Option<&str>,
    path: &str,
) -> Option<Vec<String>> {
    if let Ok(caps) = target.sys().capabilities_self(path).await {
        return Some(caps);
    }
    ctx.client
        .sys()
        .capabilities(token?.trim(), path)
        .await
        .ok()
}

fn same_names(a: &[String], b: &[String]) -> bool {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort();
    b.sort();
    a == b
}

fn render(report: &Report<'_>) -> String {
    let explanation = report.explanation;
    let verdict = match report.allowed {
        true => "allowed",
        false if report.decisions.iter().any(|d| d.allowed) => "partly allowed",
        false => "denied",
    };
    let policies = match report.policies.is_empty() {
        true => "none".to_string(),
        false => report.policies.join(", "),
    };
    let mut rows = vec![
        ("Path".to_string(), explanation.path.clone()),
        ("Operation".to_string(), report.operation.to_string()),
        ("Token policies".to_string(), policies),
        ("Decision".to_string(), verdict.to_string()),
    ];
    for decision in report.decisions {
        let needs = match decision.sudo_required {
            true => format!("{} + sudo", decision.capability),
            false => decision.capability.to_string(),
        };
        let outcome = if decision.allowed {
            "allowed"
        } else {
            "denied"
        };
        rows.push((
            format!("Needs {needs}"),
            format!("{outcome}: {}", decision.reason),
        ));
    }
    let mut text = table::columns(
        &rows
            .into_iter()
            .map(|(k, v)| vec![k, v])
            .collect::<Vec<_>>(),
    );
    if let Some(rule) = &explanation.deciding {
        text.push_str("\n\nDeciding rule\n");
        text.push_str(&rule_table(std::slice::from_ref(rule)));
    }
    if !explanation.overruled.is_empty() {
        text.push_str("\n\nAlso matching, overruled\n");
        text.push_str(&rule_table(&explanation.overruled));
    }
    let mut notes = explanation.notes.clone();
    notes.extend(report.missing_policies.iter().map(|name| {
        format!("policy {name} is named by the token but does not exist: it grants nothing")
    }));
    if !notes.is_empty() {
        text.push_str("\n\nNotes\n");
        let lines: Vec<String> = notes.iter().map(|n| format!("  - {n}")).collect();
        text.push_str(&lines.join("\n"));
    }
    text
}

/// One row per (rule, source policy): pattern, match kind, capabilities, where written.
fn rule_table(rules: &[MatchingRule]) -> String {
    let mut rows = Vec::new();
    for rule in rules {
        let mut conditions = Vec::new();
        let c = &rule.conditions;
        if !c.required_parameters.is_empty() {
            conditions.push(format!("required: {}", c.required_parameters.join(",")));
        }
        if !c.allowed_parameters.is_empty() {
            conditions.push(format!("allowed: {}", c.allowed_parameters.join(",")));
        }
        if !c.denied_parameters.is_empty() {
            conditions.push(format!("denied: {}", c.denied_parameters.join(",")));
        }
        if c.min_wrapping_ttl_seconds.is_some() || c.max_wrapping_ttl_seconds.is_some() {
            conditions.push("response wrapping bounds".to_string());
        }
        let conditions = match conditions.is_empty() {
            true => "-".to_string(),
            false => conditions.join("; "),
        };
        let row = |capabilities: policy::Capabilities, place: String| {
            vec![
                rule.pattern.clone(),
                rule.kind.describe().to_string(),
                format!("[{}]", caps(capabilities)),
                place,
                conditions.clone(),
            ]
        };
        for source in &rule.sources {
            let place = match source.line {
                Some(line) => format!("{} line {line}", source.policy),
                None => source.policy.clone(),
            };
            rows.push(row(source.capabilities, place));
        }
        if rule.sources.len() > 1 {
            rows.push(row(rule.capabilities, "(merged)".to_string()));
        }
    }
    let mut all = vec![vec![
        "Rule".to_string(),
        "Match".to_string(),
        "Capabilities".to_string(),
        "Policy".to_string(),
        "Conditions".to_string(),
    ]];
    all.extend(rows);
    table::columns(&all)
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
}

fn caps(capabilities: policy::Capabilities) -> String {
    capabilities
        .iter()
        .map(policy::Capability::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_means_create_or_update() {
        assert_eq!(
            operations("write").ok(),
            Some(vec![Operation::Create, Operation::Update])
        );
        assert_eq!(operations(" LIST ").ok(), Some(vec![Operation::List]));
        assert!(operations("sudo").is_err());
    }

    #[test]
    fn names_compare_as_sets() {
        let a = ["read".to_string(), "list".to_string()];
        let b = ["list".to_string(), "read".to_string()];
        assert!(same_names(&a, &b));
        assert!(!same_names(&a, &b[..1]));
    }
}
