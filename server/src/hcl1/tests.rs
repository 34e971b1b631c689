//! The HCL1 → HCL2 rewrite on the forms Vault accepts, in both readings of [`Options`].

use super::*;

/// How the server config reads HCL1: `${` is a template, nested blocks stay blocks.
const TEMPLATES: Options = Options {
    literal_interpolation: false,
    nested_blocks_as_objects: false,
};

/// How policies read HCL1: `${` is text, nested unlabelled blocks are objects.
const LITERALS: Options = Options {
    literal_interpolation: true,
    nested_blocks_as_objects: true,
};

fn parses(text: &str) -> bool {
    hcl::edit::parser::parse_body(text).is_ok()
}

/// The rewritten text, which must be HCL2.
fn rewritten(text: &str, options: Options) -> String {
    let result = normalize(text, options);
    assert!(
        parses(&result.text),
        "not HCL2 after rewriting:\n{}",
        result.text
    );
    result.text
}

/// The rewritten text, which must be HCL2 and the same in both readings.
fn normalized(text: &str) -> String {
    let result = rewritten(text, TEMPLATES);
    assert_eq!(result, rewritten(text, LITERALS), "readings differ");
    result
}

#[test]
fn splits_attributes_on_one_line() {
    let text = "listener \"tcp\" { address = \"0.0.0.0:8200\" tls_disable = 1 }";
    assert!(!parses(text));
    assert_eq!(
        normalized(text),
        "listener \"tcp\" { \naddress = \"0.0.0.0:8200\" \ntls_disable = 1 \n}"
    );
}

#[test]
fn splits_one_line_blocks() {
    for text in [
        "path \"a\" { capabilities = [\"list\"], policy = \"write\" }\n",
        "path \"a\" { capabilities = [\"list\"] policy = \"write\" }",
        "path \"a\" { capabilities = [\"list\"]\n}\n",
        "path \"a\" {\n capabilities = [\"list\"],\n policy = \"write\"\n}",
        "path \"a\" {} path \"b\" { policy = \"read\" }",
    ] {
        normalized(text);
    }
}

#[test]
fn moves_a_brace_up_to_its_header() {
    let text = "path \"secret/*\"\n{\n  capabilities = [\"read\"]\n}\n";
    assert!(!parses(text));
    assert_eq!(
        normalized(text),
        "path \"secret/*\" {\n  capabilities = [\"read\"]\n}\n"
    );
    let result = normalize(text, TEMPLATES);
    assert_eq!(result.original_line(2), 3);
    normalized("path \"a\"\n\n{\n  capabilities = [\"read\"]\n}\n");
    normalized("path \"a\"\r\n{\r\n  capabilities = [\"read\"]\r\n}\r\n");
}

#[test]
fn moves_a_brace_up_past_a_comment() {
    let text = "path \"a\" # why\n{\n  capabilities = [\"read\"]\n}\n";
    assert_eq!(
        normalized(text),
        "path \"a\" { # why\n \n  capabilities = [\"read\"]\n}\n"
    );
}

#[test]
fn drops_commas_between_items() {
    let text = "storage \"sled\" {\n  path = \"/x\", node = \"a\"\n}\n";
    assert_eq!(
        normalized(text),
        "storage \"sled\" {\n  path = \"/x\" \nnode = \"a\"\n}\n"
    );
    let commented = "path \"a\" {\n  x = 1, # why\n  y = 2,\n}\n";
    assert_eq!(
        normalized(commented),
        "path \"a\" {\n  x = 1 # why\n  y = 2\n}\n"
    );
}

#[test]
fn adds_commas_inside_objects() {
    let text = "options = { a = \"1\" b = \"2\" }\n";
    assert_eq!(normalized(text), "options = { a = \"1\" , b = \"2\" }\n");
    normalized("path \"a\" {\n allowed_parameters = { \"x\" = [] \"y\" = [\"1\"] }\n}");
}

#[test]
fn accepts_a_colon_for_equals_in_a_body() {
    assert_eq!(normalized("a: 1\nb = { c: 2 }\n"), "a= 1\nb = { c: 2 }\n");
    assert_eq!(normalized("t = x ? 1 : 2\n"), "t = x ? 1 : 2\n");
}

#[test]
fn keeps_an_empty_block_on_one_line() {
    assert_eq!(normalized("path \"a\" {}"), "path \"a\" {}");
}

#[test]
fn keeps_interpolation_as_templates() {
    let text = concat!(
        "# a { comment\n",
        "a = \"x = { y\" b = <<EOF\n",
        "not = parsed {\n",
        "EOF\n",
        "c = \"${join(\"}\", [\"a\"])}\" /* { */ d = [1, 2]\n",
    );
    let result = rewritten(text, TEMPLATES);
    assert!(result.contains("\"x = { y\""));
    assert!(result.contains("<<EOF\nnot = parsed {\nEOF"));
    assert!(result.contains("\"${join(\"}\", [\"a\"])}\""));
}

#[test]
fn keeps_interpolation_markers_literal() {
    let result = rewritten("path \"a/${x}/%{y}\" {}", LITERALS);
    assert_eq!(result, "path \"a/$${x}/%%{y}\" {}");
    let escaped = rewritten("a = \"$${y} \\\" ${z}\"", LITERALS);
    assert_eq!(escaped, "a = \"$$${y} \\\" $${z}\"");
}

#[test]
fn leaves_comments_alone() {
    let text = "# a, b { c\npath \"a\" { # note, here\n  capabilities = [\"read\"] // x, y\n}\n";
    assert!(normalized(text).contains("# a, b { c\n"));
}

#[test]
fn maps_lines_back_to_the_original() {
    let text = "a = 1 b = 2\nlistener \"tcp\" { address = \"x\" tls_disable = true }\nc = 3\n";
    let result = normalize(text, TEMPLATES);
    assert!(parses(&result.text), "{}", result.text);
    let c_line = result.text.lines().position(|l| l.starts_with("c = 3"));
    assert_eq!(result.original_line(c_line.map_or(0, |i| i + 1)), 3);
    let offset = result.text.find("tls_disable").unwrap_or(0);
    assert_eq!(result.original_line_of_offset(offset), 2);
    assert_eq!(result.original_line(1000), 4);
}

#[test]
fn maps_lines_after_inserted_newlines() {
    let text = "path \"a\" { policy = \"read\" }\npath \"b\" {\n  x = [\n}\n";
    let result = normalize(text, LITERALS);
    let line = result.text.lines().position(|l| l.contains("x = ["));
    assert_eq!(line.map(|l| result.original_line(l + 1)), Some(3));
}

#[test]
fn leaves_valid_hcl2_equivalent() {
    let text = concat!(
        "listener \"tcp\" {\n  address = \"127.0.0.1:8200\"\n  tls_disable = true\n}\n",
        "audit \"file\" \"x\" {\n  options {\n    file_path = \"/tmp/a\"\n  }\n}\n",
        "ttl = max(1, 2)\nlist = [\n  \"a\",\n  \"b\",\n]\nobj = {\n  a = 1\n  b = 2\n}\n",
    );
    let before = hcl::parse(text).expect("valid HCL2");
    let after = hcl::parse(&rewritten(text, TEMPLATES)).expect("still valid");
    assert_eq!(before, after);
}

#[test]
fn several_blocks_on_one_line() {
    let text =
        "path \"a/*\" { capabilities = [\"read\", \"list\"] } path \"b\" { policy = \"deny\" }\n";
    let body = hcl::parse(&normalized(text)).expect("valid after rewriting");
    assert_eq!(body.blocks().count(), 2);
}

#[test]
fn nested_single_line_blocks() {
    let text = "audit \"file\" \"x\" { options { file_path = \"/a\" log_raw = \"true\" } }";
    let body = hcl::parse(&rewritten(text, TEMPLATES)).expect("valid after rewriting");
    let expected = hcl::parse(concat!(
        "audit \"file\" \"x\" {\n  options {\n    file_path = \"/a\"\n",
        "    log_raw = \"true\"\n  }\n}\n"
    ))
    .expect("valid HCL2");
    assert_eq!(body, expected);
}

#[test]
fn nested_unlabelled_blocks_as_objects() {
    let text = "path \"a\" { denied_parameters { \"x\" = [] \"*\" = [\"1\"] } }";
    let result = rewritten(text, LITERALS);
    assert!(result.contains("denied_parameters = { \"x\" = [] , \"*\" = [\"1\"] }"));
    let below = rewritten(
        "path \"a\" {\n  allowed\n  {\n    \"y\" = []\n  }\n}\n",
        LITERALS,
    );
    assert!(below.contains("allowed = {\n"), "{below}");
    let labelled = rewritten("path \"a\" { x \"y\" { z = 1 } }", LITERALS);
    assert!(labelled.contains("x \"y\" {"), "{labelled}");
}
