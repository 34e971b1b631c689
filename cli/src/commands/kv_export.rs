//! `cofre kv export PATH -format=dotenv|json|github`: a secret's keys as a dotenv file,
//! a JSON object, or GitHub Actions step variables (masked in the log, appended to the
//! file named by `$GITHUB_ENV`).

use std::io::Write;

use clap::Args;
use serde_json::{Map, Value};

use crate::commands::secret_env::{fetch, value_text, Naming};
use crate::context::Context;
use crate::failure::{CmdResult, Failure};
use crate::output;

/// `cofre kv export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Output format: dotenv (default), json or github (taken from the global -format)
    #[arg(skip)]
    pub format: Option<String>,
    /// Prefix for the variable names (dotenv and github)
    #[arg(long = "env-prefix", value_name = "PREFIX", default_value = "")]
    env_prefix: String,
    /// Upper-case the variable names (default true; -upper=false keeps the case)
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1,
          require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    upper: bool,
    /// The secret's path (KV v1 or v2, or any path that returns key/value data)
    path: String,
}

pub async fn run(ctx: &Context, args: ExportArgs) -> CmdResult {
    let format = args
        .format
        .as_deref()
        .unwrap_or("dotenv")
        .trim()
        .to_ascii_lowercase();
    if !matches!(format.as_str(), "dotenv" | "json" | "github") {
        return Err(Failure::usage(format!(
            "Invalid export format: {format} (use dotenv, json or github)"
        )));
    }
    let fetched = fetch(&ctx.client, &args.path).await?;
    let naming = Naming {
        prefix: args.env_prefix,
        upper: args.upper,
    };
    match format.as_str() {
        "json" => {
            let text = serde_json::to_string_pretty(&Value::Object(fetched.data))
                .map_err(|e| Failure::usage(format!("Could not encode the output: {e}")))?;
            output::out(&text);
            Ok(())
        }
        "github" => github(&named(&fetched.data, &naming)),
        _ => {
            for (name, value) in named(&fetched.data, &naming) {
                output::out(&dotenv_line(&name, &value));
            }
            Ok(())
        }
    }
}

/// (variable name, value text) for every key.
fn named(data: &Map<String, Value>, naming: &Naming) -> Vec<(String, String)> {
    data.iter()
        .map(|(key, value)| (naming.name(key), value_text(value)))
        .collect()
}

/// `NAME="value"`, escaped for the double-quoted dotenv form (`\\`, `\"`, `\$`, `\n`,
/// `\r`) that docker compose, python-dotenv and dotenvy read back verbatim.
fn dotenv_line(name: &str, value: &str) -> String {
    let mut escaped = String::with_capacity(value.len() + 2);
    for c in value.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            '"' => escaped.push_str("\\\""),
            '$' => escaped.push_str("\\$"),
            '\n' => escaped.push_str("\\n"),
            '\r' => escaped.push_str("\\r"),
            other => escaped.push(other),
        }
    }
    format!("{name}=\"{escaped}\"")
}

/// Masks every value in the step log, then appends the variables to `$GITHUB_ENV`.
fn github(variables: &[(String, String)]) -> CmdResult {
    let path = std::env::var_os("GITHUB_ENV")
        .filter(|p| !p.is_empty())
        .ok_or_else(|| {
            Failure::usage(
                "GITHUB_ENV is not set: -format=github works inside a GitHub Actions step \
                 (use -format=dotenv elsewhere)",
            )
        })?;
    // Masks first: the runner must know every value before it could appear in the log.
    for (_, value) in variables {
        for line in mask_lines(value) {
            output::out(&line);
        }
    }
    let mut text = String::new();
    for (name, value) in variables {
        text.push_str(&github_env_entry(name, value, &new_delimiter));
    }
    let failed = |e: std::io::Error| {
        Failure::usage(format!(
            "Error appending to GITHUB_ENV file {}: {e}",
            std::path::Path::new(&path).display()
        ))
    };
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)
        .map_err(failed)?;
    file.write_all(text.as_bytes()).map_err(failed)?;
    output::err(&format!(
        "Exported {} variables to GITHUB_ENV",
        variables.len()
    ));
    Ok(())
}

/// `::add-mask::` commands for a value, one per non-empty line (a multi-line mask is
/// matched line by line in the log), escaped as workflow commands require.
fn mask_lines(value: &str) -> Vec<String> {
    value
        .split('\n')
        .map(|line| line.trim_end_matches('\r'))
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let escaped = line
                .replace('%', "%25")
                .replace('\r', "%0D")
                .replace('\n', "%0A");
            format!("::add-mask::{escaped}")
        })
        .collect()
}

/// One `$GITHUB_ENV` entry: `NAME=value`, or for a multi-line value the heredoc form
/// `NAME<<DELIM` … `DELIM` with a random delimiter that does not occur in the value.
fn github_env_entry(name: &str, value: &str, delimiter: &dyn Fn() -> String) -> String {
    if !value.contains('\n') && !value.contains('\r') {
        return format!("{name}={value}\n");
    }
    let mut delim = delimiter();
    while value.contains(&delim) {
        delim = delimiter();
    }
    format!("{name}<<{delim}\n{value}\n{delim}\n")
}

/// `ghadelimiter_<128 random bits>`, as GitHub's own toolkit does.
fn new_delimiter() -> String {
    use std::hash::{BuildHasher, Hasher};
    let random = || {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(std::process::id().into());
        hasher.finish()
    };
    format!("ghadelimiter_{:016x}{:016x}", random(), random())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotenv_values_are_escaped() {
        assert_eq!(dotenv_line("A", "plain"), r#"A="plain""#);
        assert_eq!(
            dotenv_line("B", "q\"uo\\te $HOME\nnext"),
            r#"B="q\"uo\\te \$HOME\nnext""#
        );
    }

    #[test]
    fn masks_are_per_line_and_escaped() {
        assert_eq!(mask_lines("s3cret"), ["::add-mask::s3cret"]);
        assert_eq!(
            mask_lines("line1\r\n\nline%2"),
            ["::add-mask::line1", "::add-mask::line%252"]
        );
        assert!(mask_lines("").is_empty());
    }

    #[test]
    fn multi_line_values_use_a_fresh_delimiter() {
        assert_eq!(github_env_entry("A", "v", &|| unreachable!()), "A=v\n");
        let delimiters = std::cell::RefCell::new(vec!["EOF2".to_string(), "EOF".to_string()]);
        let next = || delimiters.borrow_mut().pop().unwrap();
        assert_eq!(
            github_env_entry("K", "a\nEOF", &next),
            "K<<EOF2\na\nEOF\nEOF2\n",
            "a delimiter found in the value is replaced"
        );
        let d = new_delimiter();
        assert!(d.starts_with("ghadelimiter_") && d.len() == 13 + 32);
        assert_ne!(d, new_delimiter());
    }
}
