//! Policy text in its real-world shapes, bad input, and `format`.

use super::{acl, caps};
use crate::policy::{format, parse, ParseError};

#[test]
fn hcl_and_json_mean_the_same() {
    let hcl = r#"path "secret/*" { capabilities = ["read", "list"] }"#;
    let json = r#"{"path": {"secret/*": {"capabilities": ["read", "list"]}}}"#;
    let json_list = r#"{"path": [{"secret/*": {"capabilities": ["read", "list"]}}]}"#;
    for text in [hcl, json, json_list] {
        assert_eq!(caps(&acl(&[text]), "secret/x"), ["list", "read"], "{text}");
    }
}

#[test]
fn accepts_hcl1_forms_vault_accepts() {
    let text = r#"
# brace on the next line
path "a"
{
  capabilities = ["read"]
}
path "b" { capabilities = ["list"], policy = "read" }
path "c" { capabilities = ["create"] policy = "deny" }
path "d" { capabilities = ["update"]
}
path "e" {
  capabilities = ["read",
                  "update"],
  denied_parameters {
    "x" = []
  }
  allowed_parameters = { "y" = ["1"] "z" = [] }
}
path "f/${x}" { capabilities = ["read"] }
"#;
    let acl = acl(&[text]);
    assert_eq!(caps(&acl, "a"), ["read"]);
    assert_eq!(caps(&acl, "b"), ["list", "read"]);
    assert_eq!(caps(&acl, "c"), ["deny"]);
    assert_eq!(caps(&acl, "d"), ["update"]);
    assert_eq!(caps(&acl, "e"), ["read", "update"]);
    assert_eq!(caps(&acl, "f/${x}"), ["read"]);
}

#[test]
fn legacy_policy_shorthand() {
    let text = r#"
path "r" { policy = "read" }
path "w" { policy = "write" }
path "s" { policy = "sudo" }
path "d" { policy = "deny" }
path "rc" {
  policy       = "read"
  capabilities = ["patch"]
}
"#;
    let acl = acl(&[text]);
    assert_eq!(caps(&acl, "r"), ["list", "read"]);
    assert_eq!(
        caps(&acl, "w"),
        ["create", "delete", "list", "read", "update"]
    );
    assert_eq!(
        caps(&acl, "s"),
        ["create", "delete", "list", "read", "sudo", "update"]
    );
    assert_eq!(caps(&acl, "d"), ["deny"]);
    assert_eq!(caps(&acl, "rc"), ["list", "patch", "read"]);
}

#[test]
fn capabilities_from_newer_vaults_are_ignored() {
    let acl = acl(&[r#"path "x" { capabilities = ["read", "subscribe", "recover", "scan"] }"#]);
    assert_eq!(caps(&acl, "x"), ["read"]);
}

#[test]
fn comment_only_policy_grants_nothing_but_empty_text_is_an_error() {
    assert_eq!(parse("c", "# nothing yet\n").map(|p| p.rule_count()), Ok(0));
    assert_eq!(
        parse("e", " \n\t").map(|p| p.rule_count()),
        Err(ParseError::Empty)
    );
}

fn error(text: &str) -> String {
    match parse("bad", text) {
        Ok(_) => panic!("should not parse: {text}"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn errors_say_where_and_what() {
    let unknown_cap = "path \"a\" {\n  capabilities = [\"raed\"]\n}\n";
    assert_eq!(
        error(unknown_cap),
        "line 2: path \"a\": unknown capability \"raed\" \
         (expected any of: create, read, update, patch, delete, list, sudo, deny)"
    );
    let syntax = "path \"a\" {\n  capabilities = [\"read\"\n}\n";
    let message = error(syntax);
    assert!(message.starts_with("invalid HCL on line 3"), "{message}");
    let moved = "path \"a\" { policy = \"read\" }\npath \"b\" {\n  capabilities = [\n}\n";
    assert!(
        error(moved).starts_with("invalid HCL on line 4"),
        "{}",
        error(moved)
    );
    assert!(error("foo = 1\n").contains("line 1: unknown key \"foo\""));
    assert!(error("path \"a\" {\n  capability = [\"read\"]\n}")
        .contains("line 2: path \"a\": unknown key \"capability\""));
    assert!(error("path \"a\" { capabilities = \"read\" }").contains("must be a list of strings"));
    assert!(error("path \"a\" { policy = \"admin\" }").contains("invalid policy \"admin\""));
    assert!(error("path \"a\" { mfa_methods = [\"x\"] }").contains("not supported by Cofre"));
    assert!(error("path \"a/+*\" {}").contains("'+*' is forbidden"));
    assert!(error("path {}").contains("exactly one quoted path"));
    assert!(error("path \"a\" { capabilities = [var.x] }").contains("only literal values"));
    assert!(error("{\"path\": 1}").contains("\"path\" must map"));
    assert!(error("{\"path\": {\"a\": {}}, }").starts_with("invalid JSON on line 1"));
}

#[test]
fn wrapping_ttls_are_validated() {
    let ok = r#"path "a" {
      min_wrapping_ttl = "1m"
      max_wrapping_ttl = "1h"
    }"#;
    assert!(parse("ok", ok).is_ok());
    let reversed = r#"path "a" {
      min_wrapping_ttl = "1h"
      max_wrapping_ttl = "1m"
    }"#;
    assert!(error(reversed).contains("max_wrapping_ttl cannot be less than min_wrapping_ttl"));
    assert!(error(r#"path "a" { max_wrapping_ttl = "soon" }"#).contains("must be a duration"));
}

#[test]
fn garbage_never_panics() {
    let inputs = [
        "{",
        "}",
        "{{",
        "path",
        "path \"",
        "path \"a\" {",
        "path \"a\" }",
        "\"",
        "<<EOF",
        "<<EOF\nx\n",
        "/*",
        "path \"a\" { x = <<EOF\nfoo\nEOF\n}",
        "[1,2]",
        "{\"path\": null}",
        "{\"x\": 1}",
        "path \"a\" \"b\" {}",
        "path \"a\" { capabilities = [1] }",
        "\u{feff}path \"a\" {}",
        "é = 1",
    ];
    for input in inputs {
        let _ = parse("garbage", input);
        let _ = format(input);
    }
}

#[test]
fn format_is_canonical_and_keeps_comments() {
    let text = r#"# Team policy
path "secret/+/config"
{
  # only reads
  capabilities = [ "read","list" ] # see ticket
}
path "kv/*" { capabilities = ["create"], allowed_parameters = { "env" = ["dev"] "*" = [] } }
"#;
    let want = r#"# Team policy
path "secret/+/config" {
  # only reads
  capabilities = ["read", "list"] # see ticket
}

path "kv/*" {
  capabilities = ["create"]
  allowed_parameters = {
    "*"   = []
    "env" = ["dev"]
  }
}
"#;
    assert_eq!(format(text), Ok(want.to_owned()));
    assert_eq!(format(want), Ok(want.to_owned()));
}

#[test]
fn format_round_trips_through_parse() {
    let texts = [
        crate::policy::default_policy_text(),
        r#"{"path": {"a/*": {"capabilities": ["read"], "required_parameters": ["x"], "max_wrapping_ttl": 60}}}"#,
        "name = \"n\"\npath \"a\\\"b\\\\c\" { policy = \"write\" }\npath \"t/${x}\" {}\n",
    ];
    for text in texts {
        let formatted = format(text).unwrap_or_else(|e| panic!("format: {e}"));
        // What the rules mean, not where they were written (formatting moves lines).
        let meaning = |policy: crate::policy::Policy| {
            let rules = policy.rules.iter();
            format!(
                "{:?}",
                rules
                    .map(|r| (&r.path, r.kind, &r.permissions))
                    .collect::<Vec<_>>()
            )
        };
        let original = parse("o", text).map(meaning);
        let again = parse("f", &formatted).map(meaning);
        assert_eq!(original, again, "{formatted}");
        assert_eq!(format(&formatted).as_ref(), Ok(&formatted));
    }
}

#[test]
fn format_rejects_invalid_policies() {
    assert!(format("path \"a\" { capabilities = [\"fly\"] }").is_err());
    assert_eq!(format(""), Err(ParseError::Empty));
}

#[test]
fn windows_line_endings() {
    let text = "# c\r\npath \"a\"\r\n{\r\n  capabilities = [\"read\"]\r\n}\r\n";
    assert_eq!(caps(&acl(&[text]), "a"), ["read"]);
    assert_eq!(
        format(text),
        Ok("# c\npath \"a\" {\n  capabilities = [\"read\"]\n}\n".to_owned())
    );
}
