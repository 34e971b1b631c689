//! Username templates: the subset of Go's `text/template` that Vault's `username_template`
//! uses. An action `{{ ... }}` is a pipeline of commands joined by `|`; each command is a
//! function with arguments, a field (`.DisplayName`, `.RoleName`), a literal or a
//! parenthesised pipeline, and a pipeline passes its value as the next command's last
//! argument (Go's rule). Functions: `random N`, `truncate N`, `truncate_sha256 N`,
//! `lowercase`, `uppercase`, `replace OLD NEW`, `sha256`, `base64`, `uuid`, `unix_time`,
//! `unix_time_millis`, `timestamp LAYOUT` and `printf FORMAT ARGS...` (`%s`, `%d`, `%%`).
//!
//! Templates are parsed and test-rendered when a config is written, so a typo is a 400
//! then rather than at the first `creds` read.

use base64::Engine as _;

/// What a username template can refer to.
#[derive(Clone, Debug, Default)]
pub struct Metadata {
    pub display_name: String,
    pub role_name: String,
}

/// A parsed template: literal text and actions, in order.
#[derive(Clone, Debug)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Clone, Debug)]
enum Part {
    Text(String),
    Action(Pipeline),
}

type Pipeline = Vec<Command>;

#[derive(Clone, Debug)]
enum Command {
    Call(String, Vec<Operand>),
    Operand(Operand),
}

#[derive(Clone, Debug)]
enum Operand {
    Str(String),
    Int(i64),
    Field(String),
    Nested(Pipeline),
    /// A function name used as an argument (`printf "%s" unix_time`): called with no args.
    Call(String),
}

#[derive(Clone, Debug)]
enum Value {
    Str(String),
    Int(i64),
}

impl Value {
    fn into_string(self) -> String {
        match self {
            Value::Str(s) => s,
            Value::Int(n) => n.to_string(),
        }
    }
}

impl Template {
    /// Parses `source`; the message says what is wrong.
    pub fn parse(source: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = source;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            let end = find_action_end(after).ok_or("unclosed action: missing \"}}\"")?;
            let body = after[..end].trim_start_matches('-').trim_end_matches('-');
            let tokens = tokenize(body)?;
            let mut parser = Parser { tokens, pos: 0 };
            let pipeline = parser.pipeline()?;
            if parser.pos != parser.tokens.len() {
                return Err(format!(
                    "unexpected {:?} in action",
                    parser.tokens[parser.pos]
                ));
            }
            parts.push(Part::Action(pipeline));
            rest = &after[end + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Self { parts })
    }

    /// Renders the template; fails on unknown functions or fields and bad arguments.
    pub fn render(&self, meta: &Metadata) -> Result<String, String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Action(pipeline) => {
                    out.push_str(&eval_pipeline(pipeline, meta)?.into_string())
                }
            }
        }
        Ok(out)
    }
}

/// The end of an action body (the index of its `}}`), skipping quoted strings.
fn find_action_end(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut quoted = false;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quoted => i += 1,
            b'"' => quoted = !quoted,
            b'}' if !quoted && bytes.get(i + 1) == Some(&b'}') => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Word(String),
    Field(String),
    Str(String),
    Int(i64),
    Pipe,
    Open,
    Close,
}

fn tokenize(body: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = body.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '|' => (tokens.push(Token::Pipe), i += 1).1,
            '(' => (tokens.push(Token::Open), i += 1).1,
            ')' => (tokens.push(Token::Close), i += 1).1,
            '"' => {
                let (text, next) = quoted_string(&chars, i + 1)?;
                tokens.push(Token::Str(text));
                i = next;
            }
            _ => {
                let start = i;
                while i < chars.len() && !chars[i].is_whitespace() && !"|()\"".contains(chars[i]) {
                    i += 1;
                }
                tokens.push(word_token(chars[start..i].iter().collect())?);
            }
        }
    }
    Ok(tokens)
}

fn quoted_string(chars: &[char], mut i: usize) -> Result<(String, usize), String> {
    let mut text = String::new();
    while i < chars.len() {
        match chars[i] {
            '"' => return Ok((text, i + 1)),
            '\\' => {
                let escaped = chars.get(i + 1).ok_or("unterminated quoted string")?;
                text.push(match escaped {
                    'n' => '\n',
                    't' => '\t',
                    other => *other,
                });
                i += 2;
            }
            c => (text.push(c), i += 1).1,
        }
    }
    Err("unterminated quoted string".into())
}

fn word_token(word: String) -> Result<Token, String> {
    if let Some(field) = word.strip_prefix('.') {
        return Ok(Token::Field(field.to_string()));
    }
    if word.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
        return word
            .parse()
            .map(Token::Int)
            .map_err(|_| format!("bad number {word:?}"));
    }
    if word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Ok(Token::Word(word));
    }
    Err(format!("unexpected {word:?} in action"))
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn pipeline(&mut self) -> Result<Pipeline, String> {
        let mut commands = vec![self.command()?];
        while self.tokens.get(self.pos) == Some(&Token::Pipe) {
            self.pos += 1;
            commands.push(self.command()?);
        }
        Ok(commands)
    }

    fn command(&mut self) -> Result<Command, String> {
        match self.tokens.get(self.pos).cloned() {
            Some(Token::Word(name)) => {
                self.pos += 1;
                let mut args = Vec::new();
                while let Some(arg) = self.operand()? {
                    args.push(arg);
                }
                Ok(Command::Call(name, args))
            }
            _ => self
                .operand()?
                .map(Command::Operand)
                .ok_or_else(|| "missing value in action".to_string()),
        }
    }

    fn operand(&mut self) -> Result<Option<Operand>, String> {
        let operand = match self.tokens.get(self.pos).cloned() {
            Some(Token::Str(s)) => Operand::Str(s),
            Some(Token::Int(n)) => Operand::Int(n),
            Some(Token::Field(f)) => Operand::Field(f),
            Some(Token::Word(w)) => Operand::Call(w),
            Some(Token::Open) => {
                self.pos += 1;
                let inner = self.pipeline()?;
                if self.tokens.get(self.pos) != Some(&Token::Close) {
                    return Err("missing \")\"".into());
                }
                Operand::Nested(inner)
            }
            _ => return Ok(None),
        };
        self.pos += 1;
        Ok(Some(operand))
    }
}

fn eval_pipeline(pipeline: &Pipeline, meta: &Metadata) -> Result<Value, String> {
    let mut previous: Option<Value> = None;
    for command in pipeline {
        let value = match command {
            Command::Operand(operand) if previous.is_none() => eval_operand(operand, meta)?,
            Command::Operand(_) => return Err("only a function can follow \"|\"".into()),
            Command::Call(name, args) => {
                let mut values = args
                    .iter()
                    .map(|a| eval_operand(a, meta))
                    .collect::<Result<Vec<_>, _>>()?;
                values.extend(previous.take());
                call(name, values)?
            }
        };
        previous = Some(value);
    }
    previous.ok_or_else(|| "empty action".to_string())
}

fn eval_operand(operand: &Operand, meta: &Metadata) -> Result<Value, String> {
    match operand {
        Operand::Str(s) => Ok(Value::Str(s.clone())),
        Operand::Int(n) => Ok(Value::Int(*n)),
        Operand::Field(name) => match name.as_str() {
            "DisplayName" => Ok(Value::Str(meta.display_name.clone())),
            "RoleName" => Ok(Value::Str(meta.role_name.clone())),
            other => Err(format!("unknown field .{other}")),
        },
        Operand::Nested(pipeline) => eval_pipeline(pipeline, meta),
        Operand::Call(name) => call(name, Vec::new()),
    }
}

fn call(name: &str, args: Vec<Value>) -> Result<Value, String> {
    let arity = |n: usize| {
        if args.len() == n {
            Ok(())
        } else {
            Err(format!("{name} takes {n} argument(s), got {}", args.len()))
        }
    };
    let value = match name {
        "random" => {
            arity(1)?;
            Value::Str(crate::crypto::random_base62(count(&args[0], name)?))
        }
        "truncate" => {
            arity(2)?;
            Value::Str(truncate(&text(&args[1]), count(&args[0], name)?))
        }
        "truncate_sha256" => {
            arity(2)?;
            Value::Str(truncate_sha256(&text(&args[1]), count(&args[0], name)?))
        }
        "lowercase" => (arity(1)?, Value::Str(text(&args[0]).to_lowercase())).1,
        "uppercase" => (arity(1)?, Value::Str(text(&args[0]).to_uppercase())).1,
        "replace" => {
            arity(3)?;
            Value::Str(text(&args[2]).replace(&text(&args[0]), &text(&args[1])))
        }
        "sha256" => (arity(1)?, Value::Str(sha256_hex(&text(&args[0])))).1,
        "base64" => {
            arity(1)?;
            Value::Str(base64::engine::general_purpose::STANDARD.encode(text(&args[0])))
        }
        "uuid" => (arity(0)?, Value::Str(crate::crypto::uuid_v4())).1,
        "unix_time" => (arity(0)?, Value::Int(now_millis() / 1000)).1,
        "unix_time_millis" => (arity(0)?, Value::Int(now_millis())).1,
        "timestamp" => {
            arity(1)?;
            Value::Str(format_go_time(now_millis() / 1000, &text(&args[0])))
        }
        "printf" => printf(&args)?,
        other => return Err(format!("function {other:?} not defined")),
    };
    Ok(value)
}

fn text(value: &Value) -> String {
    value.clone().into_string()
}

fn count(value: &Value, name: &str) -> Result<usize, String> {
    match value {
        Value::Int(n) if *n >= 0 => Ok(*n as usize),
        _ => Err(format!("{name} wants a non-negative number")),
    }
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

fn truncate_sha256(s: &str, n: usize) -> String {
    if s.chars().count() <= n || n < 8 {
        return truncate(s, n);
    }
    let hash = sha256_hex(s);
    format!("{}{}", truncate(s, n - 8), &hash[..8])
}

fn sha256_hex(s: &str) -> String {
    crate::crypto::hex(ring::digest::digest(&ring::digest::SHA256, s.as_bytes()).as_ref())
}

fn printf(args: &[Value]) -> Result<Value, String> {
    let (format, values) = args.split_first().ok_or("printf wants a format")?;
    let format = text(format);
    let mut values = values.iter();
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some('s' | 'd' | 'v') => {
                let value = values.next().ok_or("printf: too few arguments")?;
                out.push_str(&text(value));
            }
            other => {
                return Err(format!(
                    "printf: unsupported verb %{}",
                    other.unwrap_or(' ')
                ))
            }
        }
    }
    Ok(Value::Str(out))
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Formats unix seconds in UTC with a Go reference layout (`2006-01-02 15:04:05-0700`).
/// Supported elements: 2006, 01, 02, 15, 04, 05, -0700, -07:00, Z07:00, MST.
pub fn format_go_time(unix_seconds: i64, layout: &str) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix_seconds.max(0) as u64);
    // "YYYY-MM-DDTHH:MM:SS..." — reuse the shared RFC 3339 formatter for the civil date.
    let rfc = crate::duration::rfc3339_nanos(time);
    let pieces = [
        ("2006", &rfc[0..4]),
        ("Z07:00", "Z"),
        ("-07:00", "+00:00"),
        ("-0700", "+0000"),
        ("MST", "UTC"),
        ("01", &rfc[5..7]),
        ("02", &rfc[8..10]),
        ("15", &rfc[11..13]),
        ("04", &rfc[14..16]),
        ("05", &rfc[17..19]),
    ];
    let mut out = String::new();
    let mut rest = layout;
    'outer: while !rest.is_empty() {
        for (element, value) in pieces {
            if let Some(after) = rest.strip_prefix(element) {
                out.push_str(value);
                rest = after;
                continue 'outer;
            }
        }
        let mut chars = rest.chars();
        out.extend(chars.next());
        rest = chars.as_str();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> Metadata {
        Metadata {
            display_name: "userpass-bobbyjones".into(),
            role_name: "readonly-role".into(),
        }
    }

    fn render(source: &str) -> Result<String, String> {
        Template::parse(source)?.render(&meta())
    }

    #[test]
    fn vault_default_postgres_template() {
        let source = r#"{{ printf "v-%s-%s-%s-%s" (.DisplayName | truncate 8) (.RoleName | truncate 8) (random 20) (unix_time) | truncate 63 }}"#;
        let name = render(source).expect("renders");
        let parts: Vec<&str> = name.split('-').collect();
        assert_eq!(&parts[..3], ["v", "userpass", "readonly"], "{name}");
        assert_eq!(parts[3].len(), 20, "{name}");
        assert!(parts[4].parse::<u64>().is_ok(), "{name}");
        assert_eq!(parts.len(), 5, "{name}");
    }

    #[test]
    fn simple_form_and_pipelines() {
        let name = render("v-{{.DisplayName | truncate 4}}-{{.RoleName | uppercase}}-{{random 5}}")
            .expect("renders");
        assert!(name.starts_with("v-user-READONLY-ROLE-"), "{name}");
        assert_eq!(name.len(), "v-user-READONLY-ROLE-".len() + 5);
        assert_eq!(
            render(r#"{{.RoleName | replace "-" "_" | lowercase}}"#).as_deref(),
            Ok("readonly_role")
        );
        assert_eq!(
            render("{{ .RoleName | sha256 | truncate 6 }}").map(|s| s.len()),
            Ok(6)
        );
        assert_eq!(render("{{unix_time_millis}}").map(|s| s.len()), Ok(13));
        assert_eq!(render(r#"{{- "a\"b" -}}x"#).as_deref(), Ok("a\"bx"));
        assert_eq!(render("plain").as_deref(), Ok("plain"));
        assert_eq!(render(r#"{{ timestamp "2006" }}"#).map(|s| s.len()), Ok(4));
    }

    #[test]
    fn errors_are_reported() {
        for bad in [
            "{{nosuch 3}}",
            "{{.Nope}}",
            "{{.RoleName | truncate}}",
            "{{random}}",
            "{{ .RoleName",
            "{{ (random 3 }}",
            r#"{{ "open }}"#,
            "{{}}",
            "{{ .RoleName | .DisplayName }}",
        ] {
            let result = Template::parse(bad).and_then(|t| t.render(&meta()));
            assert!(result.is_err(), "{bad:?} gave {result:?}");
        }
    }

    #[test]
    fn go_time_layouts() {
        // 2021-02-03 04:05:06 UTC
        let t = 1_612_325_106;
        assert_eq!(
            format_go_time(t, "2006-01-02 15:04:05-0700"),
            "2021-02-03 04:05:06+0000"
        );
        assert_eq!(
            format_go_time(t, "2006-01-02T15:04:05Z07:00"),
            "2021-02-03T04:05:06Z"
        );
    }
}
