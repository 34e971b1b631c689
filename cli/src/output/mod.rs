//! Printing results the way `vault` does, in the format chosen with `-format`
//! (`table`, `json`, `yaml`) or one raw value with `-field`. Data goes to stdout,
//! warnings and errors to stderr.

pub mod secret_table;
pub mod table;
pub mod value;
pub mod yaml;

use std::io::{IsTerminal, Write};

use cofre_client::Secret;
use serde::Serialize;
use serde_json::Value;

use crate::failure::{CmdResult, Failure};

/// The output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Yaml,
}

impl Format {
    /// Parses a `-format` value (`yml` is accepted for `yaml`).
    pub fn parse(name: &str) -> Option<Format> {
        match name.trim().to_ascii_lowercase().as_str() {
            "table" => Some(Format::Table),
            "json" => Some(Format::Json),
            "yaml" | "yml" => Some(Format::Yaml),
            _ => None,
        }
    }
}

/// How this invocation prints: its format and the `-field` to extract, if any.
#[derive(Debug, Clone)]
pub struct Ui {
    pub format: Format,
    pub field: Option<String>,
}

impl Ui {
    pub fn is_table(&self) -> bool {
        self.format == Format::Table
    }

    /// After a write that returned nothing: vault's success line (table format only).
    pub fn written(&self, path: &str) {
        if self.is_table() {
            out(&format!("Success! Data written to: {path}"));
        }
    }

    /// After a write: the returned envelope, or the success line when there is none.
    pub fn write_result(&self, path: &str, secret: Option<Secret>) -> CmdResult {
        match secret {
            Some(secret) => self.secret(&secret),
            None => {
                self.written(path);
                Ok(())
            }
        }
    }

    /// An envelope as the command line asked: its `-field`, else the whole envelope.
    pub fn show(&self, secret: &Secret) -> CmdResult {
        match &self.field {
            Some(field) => self.secret_field(secret, field),
            None => self.secret(secret),
        }
    }

    /// A whole envelope: a `Key Value` table, or the envelope as JSON/YAML.
    pub fn secret(&self, secret: &Secret) -> CmdResult {
        match self.format {
            Format::Table => {
                print_warnings(secret);
                if let Some(text) = secret_table::render(secret) {
                    out(&text);
                }
                Ok(())
            }
            _ => self.structured(secret),
        }
    }

    /// Some data: a `Key Value` table for a map, or JSON/YAML.
    pub fn data(&self, data: &Value) -> CmdResult {
        match (self.format, data) {
            (Format::Table, Value::Object(map)) => {
                if let Some(text) = secret_table::map_table(map) {
                    out(&text);
                }
                Ok(())
            }
            (Format::Table, Value::Array(items)) => {
                let keys: Vec<String> = items.iter().map(value::display).collect();
                out(&table::keys(&keys));
                Ok(())
            }
            (Format::Table, other) => {
                out(&value::display(other));
                Ok(())
            }
            _ => self.structured(data),
        }
    }

    /// A serialisable value as JSON or YAML (callers print tables themselves).
    /// JSON keeps the value's field order (as `vault` prints structs); YAML sorts keys
    /// (as `vault`'s YAML does).
    pub fn structured(&self, value: &impl Serialize) -> CmdResult {
        let failed = |e: serde_json::Error| Failure::usage(format!("Could not parse output: {e}"));
        let text = match self.format {
            Format::Yaml => yaml::to_yaml(&serde_json::to_value(value).map_err(failed)?),
            _ => serde_json::to_string_pretty(value).map_err(failed)?,
        };
        out(&text);
        Ok(())
    }

    /// A LIST result: a sorted `Keys` table, or the keys as JSON/YAML.
    pub fn list(&self, secret: &Secret) -> CmdResult {
        let keys = secret.keys();
        match self.format {
            Format::Table => {
                print_warnings(secret);
                let mut sorted = keys;
                sorted.sort();
                if !sorted.is_empty() {
                    out(&table::keys(&sorted));
                }
                Ok(())
            }
            _ => self.structured(&keys),
        }
    }

    /// `-field`: one value of an envelope, printed raw.
    pub fn secret_field(&self, secret: &Secret, field: &str) -> CmdResult {
        let value = secret_table::raw_field(secret, field)
            .ok_or_else(|| Failure::usage(format!("Field \"{field}\" not present in secret")))?;
        if self.is_table() {
            print_warnings(secret);
        }
        self.raw(&value)
    }

    /// `-field`: one value of a map, printed raw.
    pub fn map_field(&self, data: &Value, field: &str) -> CmdResult {
        match data.get(field) {
            Some(value) if !value.is_null() => self.raw(value),
            _ => Err(Failure::usage(format!(
                "Field \"{field}\" not present in map"
            ))),
        }
    }

    /// A value on its own: as text in table mode, else JSON/YAML. No newline is added
    /// when stdout is not a terminal, so `$(cofre kv get -field=x …)` is exact.
    pub fn raw(&self, value: &Value) -> CmdResult {
        let text = match self.format {
            Format::Table => value::display(value),
            Format::Json => pretty_json(value),
            Format::Yaml => yaml::to_yaml(value),
        };
        if std::io::stdout().is_terminal() {
            out(&text);
        } else {
            write_stdout(&text);
        }
        Ok(())
    }
}

/// JSON with two-space indentation.
pub fn pretty_json(value: &impl Serialize) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".to_string())
}

/// Prints the server's warnings to stderr.
pub fn print_warnings(secret: &Secret) {
    let Some(warnings) = secret.warnings.as_ref().filter(|w| !w.is_empty()) else {
        return;
    };
    err("WARNING! The following warnings were returned from the server:\n");
    for warning in warnings {
        err(&format!("{}\n", wrap(&format!("* {warning}"), 2)));
    }
}

/// Writes a line to stdout; a closed pipe (`cofre … | head`) is not an error.
pub fn out(text: &str) {
    write_stdout(&format!("{text}\n"));
}

fn write_stdout(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

/// Writes a line to stderr.
pub fn err(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{text}");
}

/// Wraps `text` at 78 columns, indenting every line by `pad` spaces.
pub fn wrap(text: &str, pad: usize) -> String {
    let width = 78usize.saturating_sub(pad).max(20);
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for word in paragraph.split(' ') {
            if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        lines.push(line);
    }
    let indent = " ".repeat(pad);
    lines
        .iter()
        .map(|l| format!("{indent}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `==== Title ====` padded to `width`, as `vault kv get` heads its sections.
pub fn section_header(title: &str, width: usize) -> String {
    let mut signs = width as i64 - (title.len() as i64 + 2);
    if signs <= 0 {
        signs = 4;
    }
    if signs % 2 != 0 {
        signs += 1;
    }
    let side = "=".repeat((signs / 2) as usize);
    format!("{side} {title} {side}")
}

/// The header for a map's table: as wide as its longest key plus the `Value` column.
pub fn map_header(title: &str, data: &Value) -> String {
    let longest = data
        .as_object()
        .map(|m| m.keys().map(String::len).max().unwrap_or(0))
        .unwrap_or(0);
    section_header(title, longest + 4 + 5)
}

/// Prints `==== Secret Path ====`, the path, and a blank line.
pub fn path_header(title: &str, path: &str) {
    out(&section_header(title, path.len()));
    out(path);
    out("");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn section_headers_match_vault() {
        assert_eq!(
            section_header("Secret Path", "secret/data/cli-dev/app".len()),
            "===== Secret Path ====="
        );
        assert_eq!(
            map_header(
                "Metadata",
                &json!({"created_time": 1, "custom_metadata": 2})
            ),
            "======= Metadata ======="
        );
        assert_eq!(
            map_header("Data", &json!({"password": 1, "user": 2})),
            "====== Data ======"
        );
        assert_eq!(
            section_header("Long Title Here", 3),
            "== Long Title Here =="
        );
    }

    #[test]
    fn formats_parse() {
        assert_eq!(Format::parse("JSON"), Some(Format::Json));
        assert_eq!(Format::parse("yml"), Some(Format::Yaml));
        assert_eq!(Format::parse("table"), Some(Format::Table));
        assert_eq!(Format::parse("xml"), None);
    }

    #[test]
    fn wrapping_keeps_words_whole() {
        let text = wrap(&"word ".repeat(30), 2);
        assert!(text.lines().all(|l| l.len() <= 78 && l.starts_with("  ")));
        assert_eq!(wrap("* short", 2), "  * short");
    }
}
