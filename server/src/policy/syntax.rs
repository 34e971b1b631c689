//! Rewrites the HCL1 forms Vault accepts into HCL2 that `hcl-edit` parses.
//!
//! Vault parses policies with HCL1, which is laxer than HCL2: a block's `{`
//! may sit on the next line, a one-line block may hold several attributes
//! (separated by commas or by nothing), object elements need no separator,
//! and `${` in a string is plain text. This pass fixes exactly those forms
//! with a small tokenizer and leaves everything else untouched, so HCL2
//! errors still point at what the user wrote. It records which original line
//! each output line came from, so error lines refer to the user's text.

/// HCL2 text plus, for each of its lines, the 1-based line it came from.
pub(crate) struct Normalized {
    pub text: String,
    line_origins: Vec<usize>,
}

impl Normalized {
    /// Original line of the normalised text's 1-based `line`.
    pub fn original_line(&self, line: usize) -> usize {
        let index = line.saturating_sub(1);
        self.line_origins.get(index).copied().unwrap_or(index + 1)
    }

    /// Original line of a byte offset into the normalised text.
    pub fn line_of_offset(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        let newlines = self.text.as_bytes()[..end]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        self.original_line(newlines + 1)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FrameKind {
    /// The top level or a block's body: statements separated by newlines.
    Body,
    /// An object expression: elements separated by commas or newlines.
    Object,
    /// An array or a parenthesised expression.
    Nested,
}

struct Frame {
    kind: FrameKind,
    /// An `=` or `:` was seen in the current statement or element.
    assigned: bool,
    /// The current statement or element is complete.
    complete: bool,
    /// Names and labels seen before any `=` in the current statement.
    names: usize,
}

impl Frame {
    fn new(kind: FrameKind) -> Frame {
        Frame {
            kind,
            assigned: false,
            complete: false,
            names: 0,
        }
    }

    fn reset(&mut self) {
        self.assigned = false;
        self.complete = false;
        self.names = 0;
    }
}

struct Normalizer<'a> {
    input: &'a [char],
    pos: usize,
    out: String,
    line_origins: Vec<usize>,
    line: usize,
    frames: Vec<Frame>,
    last_was_comment: bool,
}

/// Rewrites `text` into HCL2; never fails (bad input fails later, in the parser).
pub(crate) fn normalize(text: &str) -> Normalized {
    let chars: Vec<char> = text.chars().collect();
    let mut normalizer = Normalizer {
        input: &chars,
        pos: 0,
        out: String::with_capacity(text.len() + 16),
        line_origins: vec![1],
        line: 1,
        frames: vec![Frame::new(FrameKind::Body)],
        last_was_comment: false,
    };
    normalizer.run();
    Normalized {
        text: normalizer.out,
        line_origins: normalizer.line_origins,
    }
}

impl Normalizer<'_> {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.input.get(self.pos + ahead).copied()
    }

    fn frame(&mut self) -> &mut Frame {
        if self.frames.is_empty() {
            // More closing than opening braces: keep going, the parser reports it.
            self.frames.push(Frame::new(FrameKind::Body));
        }
        let last = self.frames.len() - 1;
        &mut self.frames[last]
    }

    fn run(&mut self) {
        while let Some(c) = self.peek(0) {
            match c {
                '#' => self.copy_line_comment(),
                '/' if self.peek(1) == Some('/') => self.copy_line_comment(),
                '/' if self.peek(1) == Some('*') => self.copy_block_comment(),
                '\n' => self.newline(),
                c if c.is_whitespace() => self.copy_char(),
                '"' => self.string(),
                '<' if self.peek(1) == Some('<') => self.heredoc(),
                '{' => self.open_brace(),
                '[' | '(' => self.open(FrameKind::Nested),
                '}' => self.close_brace(),
                ']' | ')' => self.close(),
                ',' => self.comma(),
                '=' | ':' => self.assign(c),
                c if is_word_char(c) => self.word(),
                _ => self.copy_token_char(),
            }
        }
    }

    fn push_out(&mut self, c: char) {
        if c == '\n' {
            self.line_origins.push(self.line);
        }
        self.out.push(c);
    }

    fn copy_char(&mut self) {
        if let Some(c) = self.peek(0) {
            if c == '\n' {
                self.line += 1;
            }
            self.push_out(c);
            self.pos += 1;
        }
    }

    fn copy_token_char(&mut self) {
        self.last_was_comment = false;
        self.copy_char();
    }

    fn copy_line_comment(&mut self) {
        while self.peek(0).is_some_and(|c| c != '\n') {
            self.copy_char();
        }
        self.last_was_comment = true;
    }

    fn copy_block_comment(&mut self) {
        self.copy_char();
        self.copy_char();
        while let Some(c) = self.peek(0) {
            if c == '*' && self.peek(1) == Some('/') {
                self.copy_char();
                self.copy_char();
                break;
            }
            self.copy_char();
        }
        self.last_was_comment = true;
    }

    fn newline(&mut self) {
        self.copy_char();
        self.last_was_comment = false;
        let frame = self.frame();
        if frame.kind != FrameKind::Nested {
            frame.reset();
        }
    }

    /// Starts a new statement or element if the previous one is complete and
    /// this token sits on the same line (HCL1 needs no separator there).
    fn separate_if_complete(&mut self) {
        let frame = self.frame();
        if !frame.complete {
            return;
        }
        let kind = frame.kind;
        frame.reset();
        match kind {
            FrameKind::Body => self.push_out('\n'),
            FrameKind::Object => self.out.push_str(", "),
            FrameKind::Nested => {}
        }
    }

    /// Marks the end of a word or string: a value after `=`, else a name.
    fn value_finished(&mut self) {
        let frame = self.frame();
        if frame.assigned {
            frame.complete = true;
        } else {
            frame.names += 1;
        }
    }

    fn string(&mut self) {
        self.separate_if_complete();
        self.last_was_comment = false;
        self.copy_char();
        while let Some(c) = self.peek(0) {
            match c {
                '"' | '\n' => break,
                '\\' => {
                    self.copy_char();
                    self.copy_char();
                }
                '$' | '%' if self.peek(1) == Some('{') => {
                    // HCL1 has no interpolation in policies: keep `${` literal.
                    self.out.push(c);
                    self.copy_char();
                }
                _ => self.copy_char(),
            }
        }
        if self.peek(0) == Some('"') {
            self.copy_char();
        }
        self.value_finished();
    }

    fn heredoc(&mut self) {
        self.last_was_comment = false;
        let start = self.pos + 2 + usize::from(self.peek(2) == Some('-'));
        let marker: String = self.input[start.min(self.input.len())..]
            .iter()
            .take_while(|c| is_word_char(**c))
            .collect();
        if marker.is_empty() {
            self.copy_char();
            return;
        }
        while self.peek(0).is_some_and(|c| c != '\n') {
            self.copy_char();
        }
        while self.peek(0).is_some() {
            self.copy_char();
            let line_end = self.input[self.pos..]
                .iter()
                .position(|c| *c == '\n')
                .map_or(self.input.len(), |n| self.pos + n);
            let line: String = self.input[self.pos..line_end].iter().collect();
            if line.trim() == marker {
                while self.pos < line_end {
                    self.copy_char();
                }
                break;
            }
        }
        self.value_finished();
    }

    fn word(&mut self) {
        self.separate_if_complete();
        self.last_was_comment = false;
        while self.peek(0).is_some_and(is_word_char) {
            self.copy_char();
        }
        self.value_finished();
    }

    fn assign(&mut self, c: char) {
        self.last_was_comment = false;
        let frame = self.frame();
        frame.assigned = true;
        frame.complete = false;
        let in_body = frame.kind == FrameKind::Body;
        self.pos += 1;
        // HCL1 accepts `key: value` in a body; HCL2 only `key = value`.
        self.push_out(if in_body && c == ':' { '=' } else { c });
    }

    fn comma(&mut self) {
        self.last_was_comment = false;
        let frame = self.frame();
        if frame.kind == FrameKind::Body {
            // HCL1 allows commas between attributes of a one-line block.
            frame.reset();
            self.pos += 1;
            self.push_out('\n');
            return;
        }
        if frame.kind == FrameKind::Object {
            frame.reset();
        }
        self.copy_char();
    }

    fn open(&mut self, kind: FrameKind) {
        self.separate_if_complete();
        self.copy_token_char();
        self.frames.push(Frame::new(kind));
    }

    fn close(&mut self) {
        self.copy_token_char();
        if self.frames.len() > 1 {
            self.frames.pop();
        }
        self.value_finished();
    }

    fn open_brace(&mut self) {
        let nested = self.frames.len() > 1;
        let frame = self.frame();
        let opens_block = frame.kind == FrameKind::Body && !frame.assigned;
        // Inside a block, HCL1 reads `name { ... }` as the map `name = { ... }`,
        // whose keys may be quoted (`"*" = []`), which an HCL2 body forbids.
        let unlabeled_map = opens_block && nested && frame.names == 1;
        if !opens_block || unlabeled_map {
            if unlabeled_map {
                self.join_brace_to_previous_line();
                self.out.push_str("= ");
                self.frame().assigned = true;
            }
            self.open(FrameKind::Object);
            return;
        }
        self.join_brace_to_previous_line();
        self.copy_token_char();
        self.frames.push(Frame::new(FrameKind::Body));
        if !self.rest_of_line_is_blank_or_closes() {
            // HCL2 one-line blocks hold a single attribute: always go multi-line.
            self.push_out('\n');
        }
    }

    /// HCL1 allows the `{` of a block on the line after its labels.
    fn join_brace_to_previous_line(&mut self) {
        if self.last_was_comment {
            return;
        }
        let kept = self.out.trim_end().len();
        let removed_lines = self.out[kept..].matches('\n').count();
        if removed_lines == 0 || kept == 0 {
            return;
        }
        self.out.truncate(kept);
        self.out.push(' ');
        let origins = self.line_origins.len() - removed_lines;
        self.line_origins.truncate(origins.max(1));
    }

    fn rest_of_line_is_blank_or_closes(&self) -> bool {
        let rest = &self.input[self.pos..];
        let next = rest.iter().find(|c| **c != ' ' && **c != '\t');
        matches!(next, None | Some('\n' | '\r' | '}' | '#' | '/'))
    }

    fn close_brace(&mut self) {
        let closes_block = self.frames.len() > 1 && self.frame().kind == FrameKind::Body;
        if closes_block {
            let line_start = self.out.rfind('\n').map_or(0, |n| n + 1);
            let line = self.out[line_start..].trim();
            if !line.is_empty() && !line.ends_with('{') {
                self.push_out('\n');
            }
        }
        self.copy_token_char();
        if self.frames.len() > 1 {
            self.frames.pop();
        }
        // A closed block ends its statement; a closed map ends a value.
        let frame = self.frame();
        if closes_block || frame.assigned {
            frame.complete = true;
        }
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '+')
}
