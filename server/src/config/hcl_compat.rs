//! Rewrites the HCL1 forms that Vault accepts, and hcl-rs (an HCL2 parser) rejects, into HCL2.
//!
//! Vault still parses configs and policies with HCL1, so files in the wild contain
//! `listener "tcp" { address = "x" tls_disable = 1 }` (several attributes on one line),
//! a block's `{` on the line after its header, items separated by commas, and objects
//! without commas (`{ a = "1" b = "2" }`). Callers parse strictly first and use
//! [`normalize_hcl1`] only when that fails, so valid HCL2 is never touched. The rewrite keeps
//! a map from its lines back to the original lines, so errors still point at the user's file.
//! Policies meet the same HCL1 forms, so the policy parser can use it too
//! (`crate::config::hcl_compat`).

/// HCL2 text rewritten from HCL1, with the original line of each of its lines.
#[derive(Debug, Clone)]
pub(crate) struct Normalized {
    /// The rewritten text.
    pub text: String,
    /// `line_map[i]` is the original (1-based) line of rewritten line `i + 1`.
    line_map: Vec<usize>,
}

impl Normalized {
    /// The original 1-based line of a 1-based line of the rewritten text.
    pub fn original_line(&self, line: usize) -> usize {
        let index = line.saturating_sub(1).min(self.line_map.len() - 1);
        self.line_map[index]
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
pub(crate) fn normalize_hcl1(text: &str) -> Normalized {
    let mut rewriter = Rewriter {
        out: String::with_capacity(text.len() + 64),
        line_map: vec![1],
        original_line: 1,
        stack: vec![Context::Body(BodyPhase::Start)],
        header_end: 0,
        newline_after_open: false,
    };
    let mut position = 0;
    while position < text.len() {
        let (token, end) = next_token(text, position);
        rewriter.take(token, &text[position..end]);
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
    out: String,
    line_map: Vec<usize>,
    original_line: usize,
    stack: Vec<Context>,
    /// Where in `out` the current block header ends, for moving a `{` up to it.
    header_end: usize,
    /// A block's `{` was just written; its first item must start on a new line.
    newline_after_open: bool,
}

impl Rewriter {
    fn take(&mut self, token: Token, text: &str) {
        if self.newline_after_open {
            match token {
                Token::Space | Token::BlockComment => {}
                Token::Newline | Token::LineComment => self.newline_after_open = false,
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
                self.emit_header_part(text);
            }
            (Token::Word | Token::QuotedString, Start | Header) => self.emit_header_part(text),
            (Token::Word | Token::QuotedString | Token::Heredoc, Value) => {
                self.emit_with_phase(text, Context::Body(Done))
            }
            (Token::Operator, Value | Done) => self.emit_with_phase(text, Context::Body(Value)),
            (Token::Equals, Header) => self.emit_with_phase(text, Context::Body(Value)),
            // HCL1 separated items with commas; HCL2 uses newlines.
            (Token::Comma, Done) => {}
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

    fn emit_header_part(&mut self, text: &str) {
        self.emit_with_phase(text, Context::Body(BodyPhase::Header));
        self.header_end = self.out.len();
    }

    /// A block's `{`; if it sits on a later line than the header (HCL1 allowed that), it is
    /// moved up to the header's line, so the line count stays the same.
    fn open_block(&mut self) {
        if self.out[self.header_end..].contains('\n') {
            self.out.insert_str(self.header_end, " {");
            self.out.push(' ');
        } else {
            self.out.push('{');
            self.newline_after_open = true;
        }
        self.stack.push(Context::Body(BodyPhase::Start));
    }

    fn close_block(&mut self, text: &str) {
        let line_start = self.out.rfind('\n').map_or(0, |i| i + 1);
        if !self.out[line_start..].trim().is_empty() {
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

/// The token starting at `start` and the offset where it ends.
fn next_token(text: &str, start: usize) -> (Token, usize) {
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
        b'"' => (Token::QuotedString, string_end(bytes, start)),
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

/// The end of a quoted string, skipping escapes and `${...}` / `%{...}` interpolations (which
/// may themselves contain strings). An unterminated string ends at the end of its line.
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut position = start + 1;
    while position < bytes.len() {
        match bytes[position] {
            b'\\' => position += 2,
            b'"' => return position + 1,
            b'\n' => return position,
            b'$' | b'%' if bytes.get(position + 1) == Some(&b'{') => {
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
            b'"' => position = string_end(bytes, position),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parses(text: &str) -> bool {
        hcl::edit::parser::parse_body(text).is_ok()
    }

    fn normalized(text: &str) -> String {
        let result = normalize_hcl1(text);
        assert!(
            parses(&result.text),
            "not HCL2 after rewriting:\n{}",
            result.text
        );
        result.text
    }

    #[test]
    fn splits_attributes_on_one_line() {
        let text = "listener \"tcp\" { address = \"0.0.0.0:8200\" tls_disable = 1 }";
        assert!(!parses(text));
        let result = normalized(text);
        assert_eq!(
            result,
            "listener \"tcp\" { \naddress = \"0.0.0.0:8200\" \ntls_disable = 1 \n}"
        );
    }

    #[test]
    fn moves_a_brace_up_to_its_header() {
        let text = "path \"secret/*\"\n{\n  capabilities = [\"read\"]\n}\n";
        assert!(!parses(text));
        let result = normalize_hcl1(text);
        assert_eq!(
            result.text,
            "path \"secret/*\" {\n \n  capabilities = [\"read\"]\n}\n"
        );
        assert_eq!(result.original_line(3), 3);
    }

    #[test]
    fn drops_commas_between_items() {
        let text = "storage \"sled\" {\n  path = \"/x\", node = \"a\"\n}\n";
        assert_eq!(
            normalized(text),
            "storage \"sled\" {\n  path = \"/x\" \nnode = \"a\"\n}\n"
        );
    }

    #[test]
    fn adds_commas_inside_objects() {
        let text = "options = { a = \"1\" b = \"2\" }\n";
        assert_eq!(normalized(text), "options = { a = \"1\" , b = \"2\" }\n");
    }

    #[test]
    fn keeps_strings_comments_and_heredocs_intact() {
        let text = concat!(
            "# a { comment\n",
            "a = \"x = { y\" b = <<EOF\n",
            "not = parsed {\n",
            "EOF\n",
            "c = \"${join(\"}\", [\"a\"])}\" /* { */ d = [1, 2]\n",
        );
        let result = normalized(text);
        assert!(result.contains("\"x = { y\""));
        assert!(result.contains("<<EOF\nnot = parsed {\nEOF"));
        assert!(result.contains("\"${join(\"}\", [\"a\"])}\""));
    }

    #[test]
    fn maps_lines_back_to_the_original() {
        let text = "a = 1 b = 2\nlistener \"tcp\" { address = \"x\" tls_disable = true }\nc = 3\n";
        let result = normalize_hcl1(text);
        assert!(parses(&result.text), "{}", result.text);
        let c_line = result.text.lines().position(|l| l.starts_with("c = 3"));
        assert_eq!(result.original_line(c_line.map_or(0, |i| i + 1)), 3);
        let offset = result.text.find("tls_disable").unwrap_or(0);
        assert_eq!(result.original_line_of_offset(offset), 2);
    }

    #[test]
    fn leaves_valid_hcl2_equivalent() {
        let text = concat!(
            "listener \"tcp\" {\n  address = \"127.0.0.1:8200\"\n  tls_disable = true\n}\n",
            "audit \"file\" \"x\" {\n  options {\n    file_path = \"/tmp/a\"\n  }\n}\n",
            "ttl = max(1, 2)\nlist = [\n  \"a\",\n  \"b\",\n]\nobj = {\n  a = 1\n  b = 2\n}\n",
        );
        let before = hcl::parse(text).expect("valid HCL2");
        let after = hcl::parse(&normalized(text)).expect("still valid");
        assert_eq!(before, after);
    }

    #[test]
    fn several_blocks_on_one_line() {
        let text = "path \"a/*\" { capabilities = [\"read\", \"list\"] } path \"b\" { policy = \"deny\" }\n";
        let body = hcl::parse(&normalized(text)).expect("valid after rewriting");
        assert_eq!(body.blocks().count(), 2);
    }

    #[test]
    fn nested_single_line_blocks() {
        let text = "audit \"file\" \"x\" { options { file_path = \"/a\" log_raw = \"true\" } }";
        let body = hcl::parse(&normalized(text)).expect("valid after rewriting");
        let expected = hcl::parse(concat!(
            "audit \"file\" \"x\" {\n  options {\n    file_path = \"/a\"\n",
            "    log_raw = \"true\"\n  }\n}\n"
        ))
        .expect("valid HCL2");
        assert_eq!(body, expected);
    }
}
