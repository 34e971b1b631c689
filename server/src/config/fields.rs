//! Typed access to the attributes and blocks of one config section, leniently typed as Vault
//! is (`tls_disable = 1`, `"true"` or `true`; `max_parallel = "128"` or `128`), remembering
//! which keys were read so the rest can be reported as ignored.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use super::source::{Content, Item, Section};
use super::{ConfigError, Problem, Warning};
use crate::duration::parse_duration_value;

/// The items of one section, each either taken by the parser or left over.
pub(super) struct Fields<'a> {
    context: String,
    items: Vec<&'a Item>,
    taken: Vec<bool>,
}

impl<'a> Fields<'a> {
    /// Wraps a section; `context` (e.g. `listener "tcp"`) prefixes its error messages.
    pub fn new(context: impl Into<String>, section: &'a Section) -> Self {
        Fields {
            context: context.into(),
            items: section.items.iter().collect(),
            taken: vec![false; section.items.len()],
        }
    }

    /// An error located at `line` in this section.
    pub fn error(&self, line: Option<usize>, problem: Problem) -> ConfigError {
        ConfigError::at(line, &self.context, problem)
    }

    /// The line of the first item named `key`, for errors about its value.
    pub fn line_of(&self, key: &str) -> Option<usize> {
        self.items.iter().find(|item| item.key == key)?.line
    }

    /// Every block named `key`; an attribute of that name is an error.
    pub fn blocks(&mut self, key: &str) -> Result<Vec<&'a Item>, ConfigError> {
        let mut blocks = Vec::new();
        for (index, item) in self.items.iter().enumerate() {
            if item.key != key {
                continue;
            }
            if !matches!(item.content, Content::Block(_)) {
                let problem = Problem::NotABlock {
                    key: key.to_owned(),
                };
                return Err(self.error(item.line, problem));
            }
            self.taken[index] = true;
            blocks.push(*item);
        }
        Ok(blocks)
    }

    /// The value of attribute `key` and its line; a block of that name is an error.
    pub fn value(&mut self, key: &str) -> Result<Option<(&'a Value, Option<usize>)>, ConfigError> {
        let Some(index) = self.items.iter().position(|item| item.key == key) else {
            return Ok(None);
        };
        let item = self.items[index];
        self.taken[index] = true;
        match &item.content {
            Content::Attribute(value) => Ok(Some((value, item.line))),
            Content::Block(_) => {
                let problem = Problem::NotAnAttribute {
                    key: key.to_owned(),
                };
                Err(self.error(item.line, problem))
            }
        }
    }

    /// A string; numbers and booleans are taken as their text, as Vault does.
    pub fn string(&mut self, key: &str) -> Result<Option<String>, ConfigError> {
        match self.value(key)? {
            None | Some((Value::Null, _)) => Ok(None),
            Some((value, line)) => match scalar_text(value) {
                Some(text) => Ok(Some(text)),
                None => Err(self.invalid(key, "a string", value, line)),
            },
        }
    }

    /// A required string; `block_line` locates the error when it is missing.
    pub fn required_string(
        &mut self,
        key: &'static str,
        block_line: Option<usize>,
    ) -> Result<String, ConfigError> {
        match self.string(key)? {
            Some(text) if !text.is_empty() => Ok(text),
            _ => Err(self.error(block_line, Problem::MissingAttribute { attribute: key })),
        }
    }

    /// A boolean as Go's `strconv.ParseBool` reads it, or a number (non-zero is true).
    pub fn bool(&mut self, key: &str) -> Result<Option<bool>, ConfigError> {
        let Some((value, line)) = self.value(key)? else {
            return Ok(None);
        };
        let parsed = match value {
            Value::Null => return Ok(None),
            Value::Bool(b) => Some(*b),
            Value::Number(n) => n.as_f64().map(|f| f != 0.0),
            Value::String(s) => parse_go_bool(s.trim()),
            _ => None,
        };
        match parsed {
            Some(b) => Ok(Some(b)),
            None => Err(self.invalid(key, "true or false (or 1 or 0)", value, line)),
        }
    }

    /// A whole number, written as a number or a string.
    pub fn integer(&mut self, key: &str) -> Result<Option<(i64, Option<usize>)>, ConfigError> {
        let Some((value, line)) = self.value(key)? else {
            return Ok(None);
        };
        let parsed = match value {
            Value::Null => return Ok(None),
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        match parsed {
            Some(number) => Ok(Some((number, line))),
            None => Err(self.invalid(key, "a whole number", value, line)),
        }
    }

    /// A duration: a string such as "768h" or a number of seconds.
    pub fn duration(&mut self, key: &str) -> Result<Option<Duration>, ConfigError> {
        let Some((value, line)) = self.value(key)? else {
            return Ok(None);
        };
        parse_duration_value(value).map(Some).map_err(|source| {
            let key = key.to_owned();
            self.error(line, Problem::InvalidDuration { key, source })
        })
    }

    /// A string map written as a block (`options { a = "b" }`) or an object attribute
    /// (`options = { a = "b" }`, and always in JSON).
    pub fn string_map(&mut self, key: &str) -> Result<BTreeMap<String, String>, ConfigError> {
        let mut map = BTreeMap::new();
        for index in 0..self.items.len() {
            let item = self.items[index];
            if item.key != key {
                continue;
            }
            self.taken[index] = true;
            let entries: Vec<(&String, &Value, Option<usize>)> = match &item.content {
                Content::Block(section) => section.items.iter().map(attribute_entry).collect(),
                Content::Attribute(Value::Object(object)) => {
                    object.iter().map(|(k, v)| (k, v, item.line)).collect()
                }
                Content::Attribute(value) => {
                    return Err(self.invalid(key, "a map of strings", value, item.line))
                }
            };
            for (entry_key, value, line) in entries {
                map.insert(entry_key.clone(), self.map_value(entry_key, value, line)?);
            }
        }
        Ok(map)
    }

    /// Every attribute not yet taken, as strings (for free-form options).
    pub fn remaining_strings(&mut self) -> Result<BTreeMap<String, String>, ConfigError> {
        let mut map = BTreeMap::new();
        for index in 0..self.items.len() {
            let item = self.items[index];
            if let (false, Content::Attribute(value)) = (self.taken[index], &item.content) {
                self.taken[index] = true;
                map.insert(
                    item.key.clone(),
                    self.map_value(&item.key, value, item.line)?,
                );
            }
        }
        Ok(map)
    }

    /// Records a warning for every item no parser took.
    pub fn finish(self, warnings: &mut Vec<Warning>) {
        let leftovers = self
            .items
            .iter()
            .zip(&self.taken)
            .filter(|(_, &taken)| !taken);
        warnings.extend(leftovers.map(|(item, _)| Warning {
            line: item.line,
            context: self.context.clone(),
            key: item.key.clone(),
        }));
    }

    fn map_value(
        &self,
        key: &str,
        value: &Value,
        line: Option<usize>,
    ) -> Result<String, ConfigError> {
        scalar_text(value).ok_or_else(|| self.invalid(key, "a string", value, line))
    }

    fn invalid(
        &self,
        key: &str,
        expected: &'static str,
        found: &Value,
        line: Option<usize>,
    ) -> ConfigError {
        let problem = Problem::InvalidValue {
            key: key.to_owned(),
            expected,
            found: describe(found),
        };
        self.error(line, problem)
    }
}

/// Attributes of a block used as a map; nested blocks in it are not map entries.
fn attribute_entry(item: &Item) -> (&String, &Value, Option<usize>) {
    match &item.content {
        Content::Attribute(value) => (&item.key, value, item.line),
        Content::Block(_) => (&item.key, &Value::Null, item.line),
    }
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn parse_go_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// How a wrong value is shown in an error: short scalars as written, containers by kind.
fn describe(value: &Value) -> String {
    match value {
        Value::String(s) if s.chars().count() <= 40 => format!("\"{s}\""),
        Value::String(_) => "a long string".to_owned(),
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}
