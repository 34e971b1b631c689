//! The HCL1 → HCL2 rewrite on the forms Vault accepts.

use crate::policy::syntax::normalize;

fn parses(text: &str) -> bool {
    hcl::edit::parser::parse_body(&normalize(text).text).is_ok()
}

#[test]
fn joins_brace_on_next_line() {
    let n = normalize("path \"a\"\n{\n  capabilities = [\"read\"]\n}\n");
    assert!(n.text.starts_with("path \"a\" {\n"));
    assert_eq!(n.original_line(2), 3);
    assert!(parses("path \"a\"\n\n{\n  capabilities = [\"read\"]\n}\n"));
}

#[test]
fn splits_one_line_blocks() {
    assert!(parses(
        "path \"a\" { capabilities = [\"list\"], policy = \"write\" }\n"
    ));
    assert!(parses(
        "path \"a\" { capabilities = [\"list\"] policy = \"write\" }"
    ));
    assert!(parses("path \"a\" { capabilities = [\"list\"]\n}\n"));
    assert!(parses(
        "path \"a\" {\n capabilities = [\"list\"],\n policy = \"write\"\n}"
    ));
    assert!(parses("path \"a\" {} path \"b\" { policy = \"read\" }"));
}

#[test]
fn object_elements_without_separator() {
    let text = "path \"a\" {\n allowed_parameters = { \"x\" = [] \"y\" = [\"1\"] }\n}";
    assert!(parses(text));
}

#[test]
fn keeps_interpolation_markers_literal() {
    let n = normalize("path \"a/${x}/%{y}\" {}");
    assert_eq!(n.text, "path \"a/$${x}/%%{y}\" {}");
    assert!(parses("path \"a/${x}\" {}"));
}

#[test]
fn leaves_comments_alone() {
    let text = "# a, b { c\npath \"a\" { # note, here\n  capabilities = [\"read\"] // x, y\n}\n";
    let n = normalize(text);
    assert!(n.text.contains("# a, b { c\n"));
    assert!(parses(text));
}

#[test]
fn maps_lines_after_inserted_newlines() {
    let n = normalize("path \"a\" { policy = \"read\" }\npath \"b\" {\n  x = [\n}\n");
    let line = n
        .text
        .lines()
        .position(|l| l.contains("x = ["))
        .map(|i| i + 1);
    assert_eq!(line.map(|l| n.original_line(l)), Some(3));
}
