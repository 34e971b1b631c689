//! Reads policy text (HCL or JSON) into a neutral tree of path blocks.
//!
//! This layer only checks shape: top-level keys, one label per `path` block,
//! literal values. What the keys mean is checked in `rules`. Comments are kept
//! so that `format` can write them back.

use hcl::edit::expr::{Expression, ObjectKey};
use hcl::edit::structure::{Attribute, Block, BlockLabel, Body, Structure};
use hcl::edit::{Decorate, Span};
use serde_json::{Map, Value};

use super::error::{Location, ParseError};
use crate::hcl1::{self, Normalized};

/// A parsed policy before its rules are interpreted.
#[derive(Debug, Clone, Default)]
pub(crate) struct RawPolicy {
    /// The optional top-level `name = "..."` attribute, which Vault ignores.
    pub name: Option<RawAttr>,
    pub paths: Vec<RawPath>,
    /// Comments after the last block.
    pub trailing_comments: Vec<String>,
}

/// One `path "..." { ... }` block.
#[derive(Debug, Clone, Default)]
pub(crate) struct RawPath {
    pub path: String,
    pub line: Option<usize>,
    pub attrs: Vec<RawAttr>,
    pub comments: Comments,
    /// Comments right after `{` and right before `}`.
    pub open_comments: Vec<String>,
    pub close_comments: Vec<String>,
}

/// One `key = value` inside a path block (nested blocks become objects).
#[derive(Debug, Clone)]
pub(crate) struct RawAttr {
    pub key: String,
    pub value: Value,
    pub line: Option<usize>,
    pub comments: Comments,
}

/// Comments on the lines before an item and at the end of its line.
#[derive(Debug, Clone, Default)]
pub(crate) struct Comments {
    pub before: Vec<String>,
    pub after: Vec<String>,
}

const TOP_LEVEL_KEYS: &str = "path, name";

/// Parses HCL or JSON policy text.
pub(crate) fn parse_raw(text: &str) -> Result<RawPolicy, ParseError> {
    if text.trim().is_empty() {
        return Err(ParseError::Empty);
    }
    if !text.trim_start().starts_with('{') {
        return from_hcl(text);
    }
    match serde_json::from_str::<Value>(text) {
        Ok(json) => from_json(&json),
        // Text starting with `{` is meant as JSON: report the JSON error.
        Err(json_error) => from_hcl(text).map_err(|_| ParseError::Json {
            line: json_error.line(),
            column: json_error.column(),
            message: without_position(&json_error.to_string()).to_owned(),
        }),
    }
}

/// serde_json appends " at line L column C", which our message already says.
fn without_position(message: &str) -> &str {
    message.split(" at line ").next().unwrap_or(message)
}

fn from_hcl(text: &str) -> Result<RawPolicy, ParseError> {
    // Vault's policy parser reads `${` as text, and `name { "*" = [] }` as an object.
    let options = hcl1::Options {
        literal_interpolation: true,
        nested_blocks_as_objects: true,
    };
    let normalized = hcl1::normalize(text, options);
    let body = hcl::edit::parser::parse_body(&normalized.text)
        .map_err(|error| syntax_error(text, &normalized, &error))?;
    let reader = HclReader { normalized };
    reader.policy(&body)
}

fn syntax_error(
    text: &str,
    normalized: &Normalized,
    error: &hcl::edit::parser::Error,
) -> ParseError {
    let line = normalized.original_line(error.location().line());
    let source_line = text.lines().nth(line - 1).unwrap_or_default().trim();
    ParseError::Syntax {
        line,
        column: error.location().column(),
        message: error.message().to_owned(),
        source_line: source_line.to_owned(),
    }
}

struct HclReader {
    normalized: Normalized,
}

impl HclReader {
    fn line(&self, item: &impl Span) -> Option<usize> {
        item.span()
            .map(|span| self.normalized.original_line_of_offset(span.start))
    }

    fn policy(&self, body: &Body) -> Result<RawPolicy, ParseError> {
        let mut policy = RawPolicy {
            trailing_comments: decor_comments(body.decor().suffix()),
            ..RawPolicy::default()
        };
        for structure in body.iter() {
            match structure {
                Structure::Block(block) if block.ident.as_str() == "path" => {
                    policy.paths.push(self.path_block(block)?);
                }
                Structure::Attribute(attr) if attr.key.as_str() == "name" => {
                    policy.name = Some(self.attribute(attr, None)?);
                }
                _ => return Err(self.unknown_top_level(structure)),
            }
        }
        Ok(policy)
    }

    fn unknown_top_level(&self, structure: &Structure) -> ParseError {
        let (key, line) = match structure {
            Structure::Block(block) => (block.ident.as_str(), self.line(block)),
            Structure::Attribute(attr) => (attr.key.as_str(), self.line(attr)),
        };
        ParseError::UnknownKey {
            at: Location::new(line, None),
            key: key.to_owned(),
            expected: TOP_LEVEL_KEYS,
        }
    }

    fn path_block(&self, block: &Block) -> Result<RawPath, ParseError> {
        let line = self.line(block);
        let path = match block.labels.as_slice() {
            [BlockLabel::String(label)] => label.value().clone(),
            _ => {
                let message =
                    "a path block needs exactly one quoted path: `path \"secret/*\" { ... }`";
                return Err(ParseError::invalid(&Location::new(line, None), message));
            }
        };
        let mut raw = RawPath {
            line,
            comments: structure_comments(block),
            open_comments: decor_comments(block.body.decor().prefix()),
            close_comments: decor_comments(block.body.decor().suffix()),
            ..RawPath::default()
        };
        for structure in block.body.iter() {
            let attr = match structure {
                Structure::Attribute(attr) => self.attribute(attr, Some(&path))?,
                Structure::Block(nested) => self.nested_block(nested, &path)?,
            };
            raw.attrs.push(attr);
        }
        raw.path = path;
        Ok(raw)
    }

    fn attribute(&self, attr: &Attribute, path: Option<&str>) -> Result<RawAttr, ParseError> {
        let line = self.line(attr);
        let value = literal(&attr.value)
            .map_err(|message| ParseError::invalid(&Location::new(line, path), message))?;
        Ok(RawAttr {
            key: attr.key.as_str().to_owned(),
            value,
            line,
            comments: structure_comments(attr),
        })
    }

    /// HCL1 lets `denied_parameters { ... }` stand for `denied_parameters = { ... }`.
    fn nested_block(&self, block: &Block, path: &str) -> Result<RawAttr, ParseError> {
        let line = self.line(block);
        let mut object = Map::new();
        for structure in block.body.iter() {
            let (key, value) = match structure {
                Structure::Attribute(attr) => (
                    attr.key.as_str().to_owned(),
                    self.attribute(attr, Some(path))?.value,
                ),
                Structure::Block(nested) => (
                    nested.ident.as_str().to_owned(),
                    self.nested_block(nested, path)?.value,
                ),
            };
            object.insert(key, value);
        }
        let mut value = Value::Object(object);
        for label in block.labels.iter().rev() {
            value = Value::Object(Map::from_iter([(label.as_str().to_owned(), value)]));
        }
        Ok(RawAttr {
            key: block.ident.as_str().to_owned(),
            value,
            line,
            comments: structure_comments(block),
        })
    }
}

/// Converts a literal HCL expression to JSON; anything computed is an error.
fn literal(expr: &Expression) -> Result<Value, String> {
    Ok(match expr {
        Expression::Null(_) => Value::Null,
        Expression::Bool(b) => Value::Bool(*b.value()),
        Expression::Number(n) => number(n.value())?,
        Expression::String(s) => Value::String(s.value().clone()),
        Expression::Array(array) => {
            Value::Array(array.iter().map(literal).collect::<Result<_, _>>()?)
        }
        Expression::Object(object) => {
            let mut map = Map::new();
            for (key, value) in object.iter() {
                map.insert(object_key(key)?, literal(value.expr())?);
            }
            Value::Object(map)
        }
        Expression::Parenthesis(inner) => literal(inner.inner())?,
        Expression::HeredocTemplate(_) => {
            return Err("heredoc strings are not supported in policies; use a quoted string".into())
        }
        _ => {
            return Err(
                "only literal values (strings, numbers, lists, maps) are allowed in policies"
                    .into(),
            )
        }
    })
}

fn number(n: &hcl::Number) -> Result<Value, String> {
    let json = if let Some(i) = n.as_i64() {
        serde_json::Number::from(i)
    } else if let Some(u) = n.as_u64() {
        serde_json::Number::from(u)
    } else {
        n.as_f64()
            .and_then(serde_json::Number::from_f64)
            .ok_or_else(|| format!("number {n} is out of range"))?
    };
    Ok(Value::Number(json))
}

fn object_key(key: &ObjectKey) -> Result<String, String> {
    match key {
        ObjectKey::Ident(ident) => Ok(ident.as_str().to_owned()),
        ObjectKey::Expression(Expression::String(s)) => Ok(s.value().clone()),
        ObjectKey::Expression(_) => Err("map keys must be names or quoted strings".into()),
    }
}

fn structure_comments(item: &impl Decorate) -> Comments {
    Comments {
        before: decor_comments(item.decor().prefix()),
        after: decor_comments(item.decor().suffix()),
    }
}

/// Extracts `#`, `//` and `/* */` comments from the whitespace around an item.
fn decor_comments(raw: Option<&hcl::edit::RawString>) -> Vec<String> {
    let Some(raw) = raw else { return Vec::new() };
    let mut comments = Vec::new();
    let mut rest: &str = raw;
    while let Some(start) = rest.find(['#', '/']) {
        let tail = &rest[start..];
        let end = if tail.starts_with("/*") {
            tail.find("*/").map_or(tail.len(), |n| n + 2)
        } else {
            tail.find('\n').unwrap_or(tail.len())
        };
        comments.push(tail[..end].trim_end().to_owned());
        rest = &tail[end..];
    }
    comments
}

fn from_json(json: &Value) -> Result<RawPolicy, ParseError> {
    let Value::Object(top) = json else {
        return Err(ParseError::invalid(
            &Location::default(),
            "a JSON policy must be an object",
        ));
    };
    let mut policy = RawPolicy::default();
    for (key, value) in top {
        match key.as_str() {
            "path" => policy.paths.extend(json_paths(value)?),
            "name" => policy.name = Some(json_attr(key, value)),
            _ => {
                return Err(ParseError::UnknownKey {
                    at: Location::default(),
                    key: key.clone(),
                    expected: TOP_LEVEL_KEYS,
                })
            }
        }
    }
    Ok(policy)
}

/// `"path"` maps paths to rule objects; HCL1's JSON also allows a list of such maps.
fn json_paths(value: &Value) -> Result<Vec<RawPath>, ParseError> {
    let maps: Vec<&Map<String, Value>> = match value {
        Value::Object(map) => vec![map],
        Value::Array(items) => items.iter().filter_map(Value::as_object).collect(),
        _ => Vec::new(),
    };
    if maps.is_empty() {
        let message = "\"path\" must map each path to its rules: {\"path\": {\"secret/*\": {\"capabilities\": [\"read\"]}}}";
        return Err(ParseError::invalid(&Location::default(), message));
    }
    let mut paths = Vec::new();
    for (path, rules) in maps.into_iter().flatten() {
        let rule_maps: Vec<&Map<String, Value>> = match rules {
            Value::Object(map) => vec![map],
            Value::Array(items) => items.iter().filter_map(Value::as_object).collect(),
            _ => Vec::new(),
        };
        if rule_maps.is_empty() {
            let at = Location::new(None, Some(path));
            return Err(ParseError::invalid(
                &at,
                "the rules of a path must be an object",
            ));
        }
        for rules in rule_maps {
            paths.push(RawPath {
                path: path.clone(),
                attrs: rules.iter().map(|(k, v)| json_attr(k, v)).collect(),
                ..RawPath::default()
            });
        }
    }
    Ok(paths)
}

fn json_attr(key: &str, value: &Value) -> RawAttr {
    RawAttr {
        key: key.to_owned(),
        value: value.clone(),
        line: None,
        comments: Comments::default(),
    }
}
