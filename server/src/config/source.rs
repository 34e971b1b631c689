//! Reads a config file's text, HCL or JSON, into one tree of located items.
//!
//! HCL is parsed strictly as HCL2 first; only if that fails is it rewritten from HCL1 (see
//! `crate::hcl1`), and if that fails too the strict parser's error is reported. JSON
//! follows Vault's JSON config shape, where `"listener": {"tcp": {...}}` (or a list of such
//! objects) is a labelled block.

use hcl::edit::structure::{Body, Structure};
use hcl::edit::Span;
use hcl::eval::{Context, Evaluate};
use serde_json::{Map, Number, Value};

use super::{ConfigError, Problem};
use crate::hcl1::{self, Normalized};

/// The body of the file or of a block.
#[derive(Debug, Clone, Default)]
pub(super) struct Section {
    pub items: Vec<Item>,
}

/// An attribute (`key = value`) or a block (`key "label" { ... }`), with its line if known.
#[derive(Debug, Clone)]
pub(super) struct Item {
    pub key: String,
    pub labels: Vec<String>,
    pub line: Option<usize>,
    pub content: Content,
}

#[derive(Debug, Clone)]
pub(super) enum Content {
    Attribute(Value),
    Block(Section),
}

/// Block types of Vault's config and how many labels each has, for reading JSON.
const JSON_BLOCK_LABELS: &[(&str, usize)] = &[
    ("listener", 1),
    ("storage", 1),
    ("backend", 1),
    ("ha_storage", 1),
    ("seal", 1),
    ("audit", 2),
    ("telemetry", 0),
    ("service_registration", 1),
];

/// Parses config text: JSON if it starts with `{`, HCL otherwise.
pub(super) fn parse(text: &str) -> Result<Section, ConfigError> {
    if text.trim_start().starts_with('{') {
        return parse_json(text);
    }
    parse_hcl(text)
}

fn parse_hcl(text: &str) -> Result<Section, ConfigError> {
    let strict_error = match hcl::edit::parser::parse_body(text) {
        Ok(body) => return section_from_hcl(&body, &Lines::Original(text)),
        Err(error) => error,
    };
    // As in the strict parse: `${` in strings is a template, and nested blocks stay blocks.
    let normalized = hcl1::normalize(text, hcl1::Options::default());
    match hcl::edit::parser::parse_body(&normalized.text) {
        Ok(body) => section_from_hcl(&body, &Lines::Normalized(&normalized)),
        Err(_) => Err(ConfigError::at(
            Some(strict_error.location().line()),
            "",
            Problem::Syntax {
                column: strict_error.location().column(),
                message: strict_error.message().to_owned(),
            },
        )),
    }
}

/// Turns byte offsets of the parsed text into the user's line numbers.
enum Lines<'a> {
    Original(&'a str),
    Normalized(&'a Normalized),
}

impl Lines<'_> {
    fn line_of(&self, span: Option<std::ops::Range<usize>>) -> Option<usize> {
        let offset = span?.start;
        Some(match self {
            Lines::Original(text) => {
                let end = offset.min(text.len());
                text.as_bytes()[..end]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count()
                    + 1
            }
            Lines::Normalized(normalized) => normalized.original_line_of_offset(offset),
        })
    }
}

fn section_from_hcl(body: &Body, lines: &Lines) -> Result<Section, ConfigError> {
    let items = body
        .iter()
        .map(|structure| item_from_hcl(structure, lines))
        .collect::<Result<_, _>>()?;
    Ok(Section { items })
}

fn item_from_hcl(structure: &Structure, lines: &Lines) -> Result<Item, ConfigError> {
    let line = lines.line_of(structure.span());
    match structure {
        Structure::Attribute(attribute) => {
            let key = attribute.key.as_str().to_owned();
            let value = evaluate(&attribute.value, &key, line)?;
            Ok(Item {
                key,
                labels: Vec::new(),
                line,
                content: Content::Attribute(value),
            })
        }
        Structure::Block(block) => Ok(Item {
            key: block.ident.as_str().to_owned(),
            labels: block.labels.iter().map(|l| l.as_str().to_owned()).collect(),
            line,
            content: Content::Block(section_from_hcl(&block.body, lines)?),
        }),
    }
}

/// The value of an attribute's expression; only literals (and expressions of literals) are
/// allowed, since a config file has no variables.
fn evaluate(
    expression: &hcl::edit::expr::Expression,
    key: &str,
    line: Option<usize>,
) -> Result<Value, ConfigError> {
    let expression = hcl::Expression::from(expression.clone());
    match expression.evaluate(&Context::new()) {
        Ok(value) => Ok(json_from_hcl(value)),
        Err(error) => Err(ConfigError::at(
            line,
            "",
            Problem::Expression {
                key: key.to_owned(),
                message: error.to_string(),
            },
        )),
    }
}

fn json_from_hcl(value: hcl::Value) -> Value {
    match value {
        hcl::Value::Null => Value::Null,
        hcl::Value::Bool(b) => Value::Bool(b),
        hcl::Value::Number(n) => json_number(&n),
        hcl::Value::String(s) => Value::String(s),
        hcl::Value::Array(values) => Value::Array(values.into_iter().map(json_from_hcl).collect()),
        hcl::Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| (key, json_from_hcl(value)))
                .collect(),
        ),
    }
}

fn json_number(number: &hcl::Number) -> Value {
    if let Some(unsigned) = number.as_u64() {
        return Value::Number(unsigned.into());
    }
    if let Some(signed) = number.as_i64() {
        return Value::Number(signed.into());
    }
    number
        .as_f64()
        .and_then(Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

fn parse_json(text: &str) -> Result<Section, ConfigError> {
    let root: Map<String, Value> = serde_json::from_str(text).map_err(|error| {
        let message = error.to_string();
        let message = message
            .rsplit_once(" at line ")
            .map_or(message.as_str(), |(before, _)| before);
        ConfigError::at(
            Some(error.line()),
            "",
            Problem::Syntax {
                column: error.column(),
                message: message.to_owned(),
            },
        )
    })?;
    let mut items = Vec::new();
    for (key, value) in root {
        match JSON_BLOCK_LABELS.iter().find(|(name, _)| *name == key) {
            Some(&(_, label_count)) => json_blocks(&key, value, label_count, &[], &mut items)?,
            None => items.push(json_attribute(key, value)),
        }
    }
    Ok(Section { items })
}

/// Expands `{"label": {...}}` (nested once per label) or a list of such into blocks.
fn json_blocks(
    key: &str,
    value: Value,
    labels_left: usize,
    labels: &[String],
    out: &mut Vec<Item>,
) -> Result<(), ConfigError> {
    match value {
        Value::Array(values) => values
            .into_iter()
            .try_for_each(|value| json_blocks(key, value, labels_left, labels, out)),
        Value::Object(map) if labels_left > 0 => map.into_iter().try_for_each(|(label, value)| {
            let labels = [labels, &[label]].concat();
            json_blocks(key, value, labels_left - 1, &labels, out)
        }),
        Value::Object(map) => {
            out.push(Item {
                key: key.to_owned(),
                labels: labels.to_vec(),
                line: None,
                content: Content::Block(Section {
                    items: map.into_iter().map(|(k, v)| json_attribute(k, v)).collect(),
                }),
            });
            Ok(())
        }
        _ => Err(ConfigError::at(
            None,
            "",
            Problem::NotABlock {
                key: key.to_owned(),
            },
        )),
    }
}

fn json_attribute(key: String, value: Value) -> Item {
    Item {
        key,
        labels: Vec::new(),
        line: None,
        content: Content::Attribute(value),
    }
}
