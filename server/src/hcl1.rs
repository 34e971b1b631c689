//! Rewrites the HCL1 forms that Vault accepts, and hcl-rs (an HCL2 parser) rejects, into HCL2.
//!
//! Vault still parses configs and policies with HCL1, which is laxer than HCL2, so files in
//! the wild contain:
//! - several attributes or blocks on one line, separated by nothing or by commas
//!   (`listener "tcp" { address = "x" tls_disable = 1 }`);
//! - a block's `{` on a line after its header;
//! - object elements without separators (`{ a = "1" b = "2" }`);
//! - `key: value` for `key = value` in a body.
//!
//! Two HCL1 readings differ by caller and are chosen with [`Options`]: whether `${` in a
//! string is a template or plain text, and whether an unlabelled block nested in a block is
//! an object. The rewrite uses a small tokenizer and copies everything else as it is, so HCL2
//! errors still point at what the user wrote, and it keeps a map from its lines back to the
//! original ones, so error lines refer to the user's text. The config parser rewrites only
//! text that strict HCL2 parsing rejects; the policy parser rewrites all of it.

use std::borrow::Cow;

#[cfg(test)]
mod tests;

/// Where HCL1 readers differ, how the text is to be read.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Options {
    /// `${` and `%{` in quoted strings are plain text, as Vault's policy parser reads them
    /// (they are escaped to `$${` and `%%{`); otherwise they stay HCL2 templates.
    pub literal_interpolation: bool,
    /// An unlabelled block inside another block is an object attribute, as HCL1 reads it:
    /// `name { "*" = [] }` becomes `name = { "*" = [] }`, since an HCL2 body forbids quoted
    /// keys. Otherwise it stays a block.
    pub nested_blocks_as_objects: bool,
}

/// HCL2 text rewritten from HCL1, with the original line of each of its lines.
#[derive(Debug, Clone)]
pub(crate) struct Normalized {
    /// The rewritten text.
    pub text: String,
    /// `line_map[i]` is the original (1-based) line of rewritten line `i + 1`; never empty.
    line_map: Vec<usize>,
}

impl Normalized {
    /// The original 1-based line of a 1-based line of the rewritten text; a line past the
    /// end maps to the last one.
    pub fn original_line(&self, line: usize) -> usize {
        let index = line.saturating_sub(1);
        let known = self.line_map.get(index).or(self.line_map.last());
        known.copied().unwrap_or(1)
    }

    /// The original 1-based line of a byte offset into the rewritten text.
    pub fn original_line_of_offset(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        let line = self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        self.original_line(line)
    }
}

/// Rewrites HCL1-only forms into HCL2; text that is already HCL2 comes back equivalent.
/// Never fails: what cannot be rewritten is copied, and the HCL2 parser reports it.
pub(crate) fn normalize(text: &str, options: Options) -> Normalized {
    let mut rewriter = Rewriter {
        options,
        out: String::with_capacity(text.len() + 64),
        line_map: vec![1],
        original_line: 1,
        stack: vec![Context::Body(BodyPhase::Start)],
        header_end: 0,
        header_parts: 0,
        newline_after_open: false,
    };
    let templates = !options.literal_interpolation;
    let mut position = 0;
    while position < text.len() {
        let (token, end) = next_token(text, position, templates);
        let mut token_text = Cow::Borrowed(&text[position..end]);
        if token == Token::QuotedString && !templates {
            token_text = Cow::Owned(escape_interpolation(&token_text));
        }
        rewriter.take(token, &token_text);
        position = end;
    }
    Normalized {
        text: rewriter.out,
        line_map: rewriter.line_map,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Space,
    Newline,
    LineComment,
    BlockComment,
    Word,
    Operator,
    QuotedString,
    Heredoc,
    Equals,
    Colon,
    Comma,
    OpenBrace,
    CloseBrace,
    OpenNested,
    CloseNested,
}

/// Where the rewriter is inside a block body (or the top level).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyPhase {
    /// At the start of an item.
    Start,
    /// After a block or attribute name and any labels.
    Header,
    /// After `=`, waiting for (the rest of) a value.
    Value,
    /// After a complete attribute or block.
    Done,
}

/// Where the rewriter is inside an object expression `{ ... }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ObjectPhase {
    Key,
    AfterKey,
    Value,
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    Body(BodyPhase),
    Object(ObjectPhase),
    /// Inside `[...]` or `(...)`, copied as is.
    Nested,
}

struct Rewriter {
    options: Options,
    out: String,
    line_map: Vec<usize>,
    original_line: usize,
    /// The open bodies, objects and nested expressions, innermost last; never empty.
    stack: Vec<Context>,
    /// Where in `out` the current block header ends, for moving a `{` up to it.
    header_end: usize,
    /// How many names and labels the current header has.
    header_parts: usize,
    /// A block's `{` was just written; its first item must start on a new line.
    newline_after_open: bool,
}

impl Rewriter {
    fn take(&mut self, token: Token, text: &str) {
        if self.newline_after_open {
            match token {
                Token::Space | Token::BlockComment => {}
                // `{}` is valid HCL2 as it is.
                Token::Newline | Token::LineComment | Token::CloseBrace => {
                    self.newline_after_open = false
                }
                _ => {
                    self.newline_after_open = false;
                    self.insert_newline();
                }
            }
        }
        match self.top() {
            Context::Body(phase) => self.in_body(phase, token, text),
            Context::Object(phase) => self.in_object(phase, token, text),
            Context::Nested => self.in_nested(token, text),
        }
    }

    fn in_body(&mut self, phase: BodyPhase, token: Token, text: &str) {
        use BodyPhase::*;
        match (token, phase) {
            (Token::Word, Done) => {
                self.insert_newline();
                self.start_header(text);
            }
            (Token::Word | Token::QuotedString, Start) => self.start_header(text),
            (Token::Word | Token::QuotedString, Header) => self.emit_header_part(text),
            (Token::Word | Token::QuotedString | Token::Heredoc, Value) => {
                self.emit_with_phase(text, Context::Body(Done))
            }
            // An operator, or the `:` of `a ? b : c`, continues the value.
            (Token::Operator | Token::Colon, Value | Done) => {
                self.emit_with_phase(text, Context::Body(Value))
            }
            (Token::Equals, Header) => self.emit_with_phase(text, Context::Body(Value)),
            // HCL1 accepts `key: value` in a body; HCL2 only `key = value`.
            (Token::Colon, Header) => self.emit_with_phase("=", Context::Body(Value)),
            // HCL1 separated items with commas; HCL2 uses newlines.
            (Token::Comma, Start | Done) => {}
            (Token::Newline, Start | Done) => self.emit_with_phase(text, Context::Body(Start)),
            (Token::OpenBrace, Header) => self.open_block(),
            (Token::OpenBrace, Value) => self.push(text, Context::Object(ObjectPhase::Key)),
            (Token::OpenNested, _) => self.push(text, Context::Nested),
            (Token::CloseBrace, _) if self.stack.len() > 1 => self.close_block(text),
            _ => self.emit(text),
        }
    }

    fn in_object(&mut self, phase: ObjectPhase, token: Token, text: &str) {
        use ObjectPhase::*;
        match (token, phase) {
            (Token::Word | Token::QuotedString, Done) => {
                // HCL1 allowed `{ a = "1" b = "2" }`; HCL2 needs a comma.
                self.out.push_str(", ");
                self.emit_with_phase(text, Context::Object(AfterKey));
            }
            (Token::Word | Token::QuotedString, Key) => {
                self.emit_with_phase(text, Context::Object(AfterKey))
            }
            (Token::Word | Token::QuotedString | Token::Heredoc, Value) => {
                self.emit_with_phase(text, Context::Object(Done))
            }
            (Token::Operator, Done) => self.emit_with_phase(text, Context::Object(Value)),
            (Token::Equals | Token::Colon, _) => self.emit_with_phase(text, Context::Object(Value)),
            (Token::Comma | Token::Newline, _) => self.emit_with_phase(text, Context::Object(Key)),
            (Token::OpenBrace, _) => self.push(text, Context::Object(Key)),
            (Token::OpenNested, _) => self.push(text, Context::Nested),
            (Token::CloseBrace, _) => self.pop(text),
            _ => self.emit(text),
        }
    }

    fn in_nested(&mut self, token: Token, text: &str) {
        match token {
            Token::OpenBrace => self.push(text, Context::Object(ObjectPhase::Key)),
            Token::OpenNested => self.push(text, Context::Nested),
            Token::CloseNested => self.pop(text),
            _ => self.emit(text),
        }
    }

    fn start_header(&mut self, text: &str) {
        self.header_parts = 0;
        self.emit_header_part(text);
    }

    fn emit_header_part(&mut self, text: &str) {
        self.emit_with_phase(text, Context::Body(BodyPhase::Header));
        self.header_end = self.out.len();
        self.header_parts += 1;
    }

    /// A block's `{`, or with `nested_blocks_as_objects` an unlabelled nested block's, which
    /// is written as `name = {`.
    fn open_block(&mut self) {
        let nested = self.stack.len() > 1;
        if self.options.nested_blocks_as_objects && nested && self.header_parts == 1 {
            self.open_brace_on_header_line(" = {");
            self.stack.push(Context::Object(ObjectPhase::Key));
            return;
        }
        self.newline_after_open = self.open_brace_on_header_line(" {");
        self.stack.push(Context::Body(BodyPhase::Start));
    }

    /// Writes `opening` (` {` or ` = {`) on the header's line, which a `{` on a later line
    /// (HCL1 allowed that) is moved up to: whitespace between them is dropped, so a comment
    /// after the `{` stays on its line; a comment between them keeps its lines, after the
    /// `{`. Returns whether what follows may share the `{`'s line.
    fn open_brace_on_header_line(&mut self, opening: &str) -> bool {
        let between = &self.out[self.header_end..];
        if !between.contains('\n') {
            let opening = opening.trim_start();
            let needs_space = opening.starts_with('=') && !between.ends_with([' ', '\t']);
            self.out.push_str(if needs_space { " " } else { "" });
            self.out.push_str(opening);
            return true;
        }
        if between.trim().is_empty() {
            let dropped_lines = between.matches('\n').count();
            self.out.truncate(self.header_end);
            self.line_map.truncate(self.line_map.len() - dropped_lines);
            self.out.push_str(opening);
        } else {
            self.out.insert_str(self.header_end, opening);
            self.out.push(' ');
            return false;
        }
        true
    }

    fn close_block(&mut self, text: &str) {
        let line_start = self.out.rfind('\n').map_or(0, |i| i + 1);
        let line = self.out[line_start..].trim();
        if !line.is_empty() && !line.ends_with('{') {
            self.insert_newline();
        }
        self.pop(text);
    }

    fn push(&mut self, text: &str, context: Context) {
        self.emit(text);
        self.stack.push(context);
    }

    fn pop(&mut self, text: &str) {
        self.emit(text);
        if self.stack.len() > 1 {
            self.stack.pop();
        }
        let finished = match self.top() {
            Context::Body(_) => Context::Body(BodyPhase::Done),
            Context::Object(_) => Context::Object(ObjectPhase::Done),
            Context::Nested => Context::Nested,
        };
        self.set_top(finished);
    }

    fn emit_with_phase(&mut self, text: &str, context: Context) {
        self.emit(text);
        self.set_top(context);
    }

    fn emit(&mut self, text: &str) {
        for (index, line) in text.split('\n').enumerate() {
            if index > 0 {
                self.out.push('\n');
                self.original_line += 1;
                self.line_map.push(self.original_line);
            }
            self.out.push_str(line);
        }
    }

    fn insert_newline(&mut self) {
        self.out.push('\n');
        self.line_map.push(self.original_line);
    }

    fn top(&self) -> Context {
        self.stack
            .last()
            .copied()
            .unwrap_or(Context::Body(BodyPhase::Start))
    }

    fn set_top(&mut self, context: Context) {
        if let Some(top) = self.stack.last_mut() {
            *top = context;
        }
    }
}

/// The token starting at `start` and the offset where it ends. With `templates`, a quoted
/// string runs over `${...}` interpolations, which may contain quotes.
fn next_token(text: &str, start: usize, templates: bool) -> (Token, usize) {
    let bytes = text.as_bytes();
    let rest = &text[start..];
    let single = |token| (token, start + 1);
    match bytes[start] {
        b' ' | b'\t' | b'\r' => (
            Token::Space,
            start + run_length(rest, |b| b" \t\r".contains(&b)),
        ),
        b'\n' => single(Token::Newline),
        b'#' => (Token::LineComment, line_end(text, start)),
        b'/' if rest.starts_with("//") => (Token::LineComment, line_end(text, start)),
        b'/' if rest.starts_with("/*") => (Token::BlockComment, block_comment_end(text, start)),
        b'"' => (Token::QuotedString, string_end(bytes, start, templates)),
        b'<' if is_heredoc_start(rest) => (Token::Heredoc, heredoc_end(text, start)),
        b'=' if rest.starts_with("==") || rest.starts_with("=>") => (Token::Operator, start + 2),
        b'=' => single(Token::Equals),
        b':' => single(Token::Colon),
        b',' => single(Token::Comma),
        b'{' => single(Token::OpenBrace),
        b'}' => single(Token::CloseBrace),
        b'[' | b'(' => single(Token::OpenNested),
        b']' | b')' => single(Token::CloseNested),
        _ => word(rest, start),
    }
}

fn word(rest: &str, start: usize) -> (Token, usize) {
    let length = run_length(rest, |b| !b" \t\r\n{}[]()=,:\"#".contains(&b)).max(1);
    let is_operator = rest.as_bytes()[..length]
        .iter()
        .all(|b| b"+-*/%!<>&|?.".contains(b));
    let token = if is_operator {
        Token::Operator
    } else {
        Token::Word
    };
    (token, start + length)
}

fn run_length(text: &str, belongs: impl Fn(u8) -> bool) -> usize {
    text.bytes().take_while(|&b| belongs(b)).count()
}

fn line_end(text: &str, start: usize) -> usize {
    text[start..].find('\n').map_or(text.len(), |i| start + i)
}

fn block_comment_end(text: &str, start: usize) -> usize {
    text[start + 2..]
        .find("*/")
        .map_or(text.len(), |i| start + 2 + i + 2)
}

/// The end of a quoted string, skipping escapes and, with `templates`, `${...}` / `%{...}`
/// interpolations. An unterminated string ends at the end of its line.
fn string_end(bytes: &[u8], start: usize, templates: bool) -> usize {
    let mut position = start + 1;
    while position < bytes.len() {
        match bytes[position] {
            b'\\' => position += 2,
            b'"' => return position + 1,
            b'\n' => return position,
            b'$' | b'%' if templates && bytes.get(position + 1) == Some(&b'{') => {
                position = interpolation_end(bytes, position + 2);
            }
            _ => position += 1,
        }
    }
    bytes.len()
}

fn interpolation_end(bytes: &[u8], start: usize) -> usize {
    let mut depth = 1;
    let mut position = start;
    while position < bytes.len() {
        match bytes[position] {
            b'"' => position = string_end(bytes, position, true),
            b'{' => {
                depth += 1;
                position += 1;
            }
            b'}' if depth == 1 => return position + 1,
            b'}' => {
                depth -= 1;
                position += 1;
            }
            _ => position += 1,
        }
    }
    bytes.len()
}

/// A quoted string with `${` and `%{` escaped as `$${` and `%%{`, so HCL2 reads them as text.
fn escape_interpolation(quoted: &str) -> String {
    let mut escaped = String::with_capacity(quoted.len() + 4);
    let mut chars = quoted.chars().peekable();
    while let Some(c) = chars.next() {
        escaped.push(c);
        match c {
            '\\' => escaped.extend(chars.next()),
            '$' | '%' if chars.peek() == Some(&'{') => escaped.push(c),
            _ => {}
        }
    }
    escaped
}

fn is_heredoc_start(rest: &str) -> bool {
    let marker = rest
        .strip_prefix("<<")
        .map(|m| m.strip_prefix('-').unwrap_or(m));
    marker.is_some_and(|m| m.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_'))
}

/// A heredoc runs from `<<MARKER` (or `<<-MARKER`) to the end of the line that holds only the
/// marker; the newline after that line is not part of it.
fn heredoc_end(text: &str, start: usize) -> usize {
    let header_end = line_end(text, start);
    let marker = text[start + 2..header_end].trim_start_matches('-').trim();
    let mut line_start = header_end + 1;
    while line_start < text.len() {
        let end = line_end(text, line_start);
        if text[line_start..end].trim() == marker {
            return end;
        }
        line_start = end + 1;
    }
    text.len()
}
