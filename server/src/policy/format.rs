//! Writes a parsed policy back as canonical HCL (for `cofre policy fmt`).
//!
//! Canonical means: one `path` block per rule separated by blank lines,
//! two-space indentation, one attribute per line in the author's order,
//! lists of scalars on one line, maps one entry per line with aligned `=`.
//! Comments before and after blocks and attributes are kept; comments inside
//! a list or map value are not. Strings keep `${` literal, as HCL1 reads it.

use std::fmt::Write;

use serde_json::Value;

use super::parse::{Comments, RawAttr, RawPath, RawPolicy};

const INDENT: &str = "  ";

/// Renders `policy` as HCL text ending in a newline.
pub(crate) fn render(policy: &RawPolicy) -> String {
    let mut out = String::new();
    if let Some(name) = &policy.name {
        write_attr(&mut out, name, 0, 0);
    }
    for (i, path) in policy.paths.iter().enumerate() {
        if i > 0 || policy.name.is_some() {
            out.push('\n');
        }
        write_path(&mut out, path);
    }
    if !policy.trailing_comments.is_empty() && !out.is_empty() {
        out.push('\n');
    }
    write_comment_lines(&mut out, &policy.trailing_comments, 0);
    out
}

fn write_path(out: &mut String, path: &RawPath) {
    write_comment_lines(out, &path.comments.before, 0);
    out.push_str("path ");
    write_string(out, &path.path);
    out.push_str(" {");
    write_same_line_comments(out, &path.open_comments);
    out.push('\n');
    let key_width = path
        .attrs
        .iter()
        .filter(|a| !is_multiline(&a.value))
        .map(|a| a.key.len())
        .max()
        .unwrap_or(0);
    for attr in &path.attrs {
        write_attr(out, attr, 1, key_width);
    }
    write_comment_lines(out, &path.close_comments, 1);
    out.push('}');
    write_same_line_comments(out, &path.comments.after);
    out.push('\n');
}

fn write_attr(out: &mut String, attr: &RawAttr, depth: usize, key_width: usize) {
    let Comments { before, after } = &attr.comments;
    write_comment_lines(out, before, depth);
    out.push_str(&INDENT.repeat(depth));
    // Align `=` across one-line values only, so a map does not push them right.
    let width = if is_multiline(&attr.value) {
        0
    } else {
        key_width
    };
    let _ = write!(out, "{:width$} = ", attr.key);
    write_value(out, &attr.value, depth);
    write_same_line_comments(out, after);
    out.push('\n');
}

fn is_multiline(value: &Value) -> bool {
    match value {
        Value::Object(map) => !map.is_empty(),
        Value::Array(items) => items.iter().any(|v| v.is_object() || v.is_array()),
        _ => false,
    }
}

fn write_value(out: &mut String, value: &Value, depth: usize) {
    match value {
        Value::String(s) => write_string(out, s),
        Value::Array(items) if is_multiline(value) => write_multiline_array(out, items, depth),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, item, depth);
            }
            out.push(']');
        }
        Value::Object(map) if map.is_empty() => out.push_str("{}"),
        Value::Object(map) => write_object(out, map, depth),
        scalar => {
            let _ = write!(out, "{scalar}");
        }
    }
}

fn write_multiline_array(out: &mut String, items: &[Value], depth: usize) {
    out.push_str("[\n");
    for item in items {
        out.push_str(&INDENT.repeat(depth + 1));
        write_value(out, item, depth + 1);
        out.push_str(",\n");
    }
    out.push_str(&INDENT.repeat(depth));
    out.push(']');
}

fn write_object(out: &mut String, map: &serde_json::Map<String, Value>, depth: usize) {
    let quoted_width = map.keys().map(|k| quoted(k).len()).max().unwrap_or(0);
    out.push_str("{\n");
    for (key, value) in map {
        out.push_str(&INDENT.repeat(depth + 1));
        let width = if is_multiline(value) { 0 } else { quoted_width };
        let _ = write!(out, "{:width$} = ", quoted(key));
        write_value(out, value, depth + 1);
        out.push('\n');
    }
    out.push_str(&INDENT.repeat(depth));
    out.push('}');
}

fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    write_string(&mut out, text);
    out
}

fn write_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_comment_lines(out: &mut String, comments: &[String], depth: usize) {
    for comment in comments {
        out.push_str(&INDENT.repeat(depth));
        out.push_str(comment);
        out.push('\n');
    }
}

/// Comments that sat at the end of a line stay there; only the last of them
/// can be a `#` or `//` comment, so their order is safe to keep.
fn write_same_line_comments(out: &mut String, comments: &[String]) {
    for comment in comments {
        out.push(' ');
        out.push_str(comment);
    }
}
