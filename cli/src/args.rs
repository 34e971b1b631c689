//! Rewriting Vault-style single-dash flags (`-format=json`, `-field password`,
//! `-dev-root-token-id=x`) into the double-dash form clap parses, so `vault` habits and
//! scripts work unchanged.
//!
//! Rules: an argument `-name…` whose name has two or more characters and starts with a
//! letter gains a second dash. Left alone: the program name, `-` (stdin), arguments
//! already starting with `--`, one-letter flags (`-f`, `-h`), negative numbers (`-1`),
//! and everything after a `--` separator.

use std::ffi::OsString;

/// Rewrites a whole command line (program name first).
pub fn rewrite(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut out = Vec::new();
    let mut passthrough = false;
    for (index, arg) in args.into_iter().enumerate() {
        if index == 0 || passthrough {
            out.push(arg);
            continue;
        }
        if arg == "--" {
            passthrough = true;
            out.push(arg);
            continue;
        }
        match arg.to_str() {
            Some(text) => out.push(OsString::from(rewrite_one(text))),
            None => out.push(arg),
        }
    }
    out
}

/// Rewrites one argument (not the program name, not after `--`).
fn rewrite_one(arg: &str) -> String {
    let Some(rest) = arg.strip_prefix('-') else {
        return arg.to_string();
    };
    if rest.starts_with('-') {
        return arg.to_string();
    }
    let name = rest.split('=').next().unwrap_or_default();
    let starts_with_letter = name.starts_with(|c: char| c.is_ascii_alphabetic());
    if starts_with_letter && name.chars().count() >= 2 {
        format!("-{arg}")
    } else {
        arg.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Vec<String> {
        rewrite(args.iter().map(OsString::from))
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn single_dash_flags_gain_a_dash() {
        assert_eq!(
            run(&[
                "cofre",
                "kv",
                "get",
                "-format=json",
                "-field",
                "password",
                "secret/x"
            ]),
            [
                "cofre",
                "kv",
                "get",
                "--format=json",
                "--field",
                "password",
                "secret/x"
            ]
        );
        assert_eq!(
            run(&["cofre", "server", "-dev", "-dev-root-token-id=root"]),
            ["cofre", "server", "--dev", "--dev-root-token-id=root"]
        );
        assert_eq!(
            run(&["cofre", "-address=http://h:1", "status"]),
            ["cofre", "--address=http://h:1", "status"]
        );
    }

    #[test]
    fn values_with_equals_and_dashes_survive() {
        assert_eq!(
            run(&["cofre", "token", "create", "-metadata=a=b=c", "-policy=p-1"]),
            [
                "cofre",
                "token",
                "create",
                "--metadata=a=b=c",
                "--policy=p-1"
            ]
        );
    }

    #[test]
    fn stdin_short_flags_and_numbers_are_left_alone() {
        assert_eq!(
            run(&["cofre", "policy", "write", "p", "-"]),
            ["cofre", "policy", "write", "p", "-"]
        );
        assert_eq!(
            run(&["cofre", "write", "-f", "x"]),
            ["cofre", "write", "-f", "x"]
        );
        assert_eq!(run(&["cofre", "kv", "-h"]), ["cofre", "kv", "-h"]);
        assert_eq!(
            run(&["cofre", "kv", "put", "-cas", "-1", "x", "a=b"]),
            ["cofre", "kv", "put", "--cas", "-1", "x", "a=b"]
        );
    }

    #[test]
    fn double_dash_flags_are_unchanged() {
        assert_eq!(
            run(&["cofre", "--format", "json", "status"]),
            ["cofre", "--format", "json", "status"]
        );
    }

    #[test]
    fn nothing_after_the_separator_is_touched() {
        assert_eq!(
            run(&[
                "cofre",
                "kv",
                "put",
                "-mount=secret",
                "--",
                "-odd-name",
                "a=-b"
            ]),
            [
                "cofre",
                "kv",
                "put",
                "--mount=secret",
                "--",
                "-odd-name",
                "a=-b"
            ]
        );
    }

    #[test]
    fn program_name_and_plain_words_are_unchanged() {
        assert_eq!(
            run(&["-weird-program", "status"]),
            ["-weird-program", "status"]
        );
        assert_eq!(
            run(&["cofre", "kv", "put", "x", "k=v"]),
            ["cofre", "kv", "put", "x", "k=v"]
        );
    }
}
