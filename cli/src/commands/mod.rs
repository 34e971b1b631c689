//! One module per command group; each defines its clap arguments and an async `run`.
//! Shared here: path clean-up and reading input from files, stdin or a hidden prompt.

pub mod audit;
pub mod auth;
pub mod generic;
pub mod kv;
pub mod kv_export;
pub mod kv_metadata;
mod kv_path;
pub mod lease;
pub mod login;
mod login_method;
pub mod migrate;
pub mod operator;
pub mod path_help;
pub mod policy;
mod policy_explain;
pub mod run;
mod secret_env;
pub mod secrets;
pub mod server;
pub mod status;
pub mod token;
pub mod unwrap;

use std::io::{IsTerminal, Read, Write};

use crate::failure::Failure;

/// Trims spaces and leading/trailing slashes: ` /secret/app/ ` → `secret/app`.
pub fn sanitize_path(path: &str) -> String {
    path.trim().trim_matches('/').to_string()
}

/// Adds a trailing slash unless empty: `secret` → `secret/`.
pub fn ensure_trailing_slash(path: &str) -> String {
    let path = path.trim();
    if path.is_empty() || path.ends_with('/') {
        path.to_string()
    } else {
        format!("{path}/")
    }
}

/// The contents of `source`: stdin for `-`, else the named file.
pub fn read_input(source: &str, what: &str) -> Result<String, Failure> {
    let source = source.trim();
    if source == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Failure::usage(format!("Error reading {what} from stdin: {e}")))?;
        return Ok(text);
    }
    std::fs::read_to_string(source)
        .map_err(|e| Failure::usage(format!("Error opening {what} file {source}: {e}")))
}

/// Asks for a secret on the terminal without echoing it; reads one line from stdin when
/// stdin is not a terminal (so it can be piped).
pub fn prompt_hidden(prompt: &str) -> Result<String, Failure> {
    let stdin = std::io::stdin();
    let interactive = stdin.is_terminal();
    if interactive {
        eprint!("{prompt}");
        let _ = std::io::stderr().flush();
        set_echo(false);
    }
    let mut line = String::new();
    let read = stdin.read_line(&mut line);
    if interactive {
        set_echo(true);
        eprintln!();
    }
    read.map_err(|e| Failure::usage(format!("Error reading from stdin: {e}")))?;
    Ok(line.trim().to_string())
}

/// Turns terminal echo off or on with `stty` (best effort: without it, input echoes).
fn set_echo(on: bool) {
    let _ = std::process::Command::new("stty")
        .arg(if on { "echo" } else { "-echo" })
        .stdin(std::process::Stdio::inherit())
        .stderr(std::process::Stdio::null())
        .status();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_cleaned() {
        assert_eq!(sanitize_path(" /secret/app/ "), "secret/app");
        assert_eq!(ensure_trailing_slash("secret"), "secret/");
        assert_eq!(ensure_trailing_slash("secret/"), "secret/");
        assert_eq!(ensure_trailing_slash(""), "");
    }
}
