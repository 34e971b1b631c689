//! Operator-written SQL: splitting a statement list into single statements and filling in
//! the `{{name}}`/`{{username}}`/`{{password}}`/`{{expiration}}` placeholders.
//!
//! Vault splits on every `;`, except that its PostgreSQL plugin runs a statement holding
//! `$$` whole. We split on `;` outside quotes ('…', "…", `…`) and, for PostgreSQL,
//! outside dollar-quoted bodies (`$$ … $$`, `$tag$ … $tag$`), which covers both.

/// Every single statement in `statements`, trimmed, empty ones dropped.
pub fn split_all(statements: &[String], postgres: bool) -> Vec<String> {
    statements.iter().flat_map(|s| split(s, postgres)).collect()
}

/// Splits one string of statements on the `;` that are not inside a quoted part.
/// `postgres`: dollar quotes exist and a backslash is no escape (standard strings);
/// otherwise (MySQL) the reverse.
pub fn split(text: &str, postgres: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == ';' {
            push_statement(&mut out, &current);
            current.clear();
            rest = &rest[1..];
            continue;
        }
        let quoted_len = match c {
            '\'' | '"' | '`' => quoted_len(rest, c, !postgres),
            '$' if postgres => dollar_quoted_len(rest),
            _ => c.len_utf8(),
        };
        current.push_str(&rest[..quoted_len]);
        rest = &rest[quoted_len..];
    }
    push_statement(&mut out, &current);
    out
}

fn push_statement(out: &mut Vec<String>, statement: &str) {
    let trimmed = statement.trim();
    if !trimmed.is_empty() {
        out.push(trimmed.to_string());
    }
}

/// The length of a quoted part starting at `text[0] == quote` (doubled quotes and, for
/// MySQL, backslash escapes stay inside); the whole rest when it is never closed.
fn quoted_len(text: &str, quote: char, backslash_escapes: bool) -> usize {
    let bytes = text.as_bytes();
    let quote = quote as u8;
    let mut i = 1;
    while i < bytes.len() {
        if backslash_escapes && bytes[i] == b'\\' {
            i += 2;
            continue;
        }
        if bytes[i] == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    text.len()
}

/// The length of a dollar-quoted body starting at `text[0] == '$'`, or 1 when the `$` does
/// not open one (a positional parameter like `$1`).
fn dollar_quoted_len(text: &str) -> usize {
    let tag_end = text[1..]
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .map(|i| i + 1);
    let Some(tag_end) = tag_end else { return 1 };
    if !text[tag_end..].starts_with('$')
        || text[1..tag_end].starts_with(|c: char| c.is_ascii_digit())
    {
        return 1;
    }
    let tag = &text[..=tag_end];
    match text[tag.len()..].find(tag) {
        Some(close) => tag.len() + close + tag.len(),
        None => text.len(),
    }
}

/// Replaces each `{{key}}` in `statement` by its value (Vault's `dbutil.QueryHelper`).
pub fn fill(statement: &str, values: &[(&str, &str)]) -> String {
    values
        .iter()
        .fold(statement.to_string(), |s, (key, value)| {
            s.replace(&format!("{{{{{key}}}}}"), value)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_semicolons_outside_quotes() {
        assert_eq!(
            split("CREATE ROLE \"a;b\"; GRANT x TO 'c;''d';;  ", false),
            vec!["CREATE ROLE \"a;b\"", "GRANT x TO 'c;''d'"]
        );
        assert_eq!(split("a `x;y`; b\\'; c", false), vec!["a `x;y`", "b\\'; c"]);
        assert!(split(" ; ;", false).is_empty());
        assert_eq!(split("a 'x\\'; b", true), vec!["a 'x\\'", "b"]);
    }

    #[test]
    fn dollar_quoted_bodies_stay_whole() {
        let body = "DO $$ BEGIN CREATE ROLE x; EXCEPTION WHEN others THEN NULL; END $$; SELECT 1";
        assert_eq!(
            split(body, true),
            vec![
                "DO $$ BEGIN CREATE ROLE x; EXCEPTION WHEN others THEN NULL; END $$",
                "SELECT 1"
            ]
        );
        assert_eq!(
            split("SELECT $fn$ a;b $fn$; SELECT $1; x", true),
            vec!["SELECT $fn$ a;b $fn$", "SELECT $1", "x"]
        );
        assert_eq!(split("a$$;b$$", false), vec!["a$$", "b$$"]);
        let all = split_all(&["a;b".to_string(), "c".to_string()], true);
        assert_eq!(all, vec!["a", "b", "c"]);
    }

    #[test]
    fn placeholders_are_filled() {
        let s = fill(
            "CREATE ROLE \"{{name}}\" PASSWORD '{{password}}' VALID UNTIL '{{expiration}}' -- {{username}} {{other}}",
            &[("name", "u"), ("username", "u"), ("password", "p"), ("expiration", "e")],
        );
        assert_eq!(
            s,
            "CREATE ROLE \"u\" PASSWORD 'p' VALID UNTIL 'e' -- u {{other}}"
        );
    }
}
