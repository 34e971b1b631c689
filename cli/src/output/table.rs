//! Aligned text tables as the `vault` CLI prints them: columns separated by four spaces,
//! a header underlined with dashes, empty cells shown as `n/a`, the last column unpadded.

/// Lays out `rows` in aligned columns (no header handling).
pub fn columns(rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.iter().map(|cell| clean_cell(cell)).collect())
        .collect();
    let mut widths: Vec<usize> = Vec::new();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            let width = cell.chars().count();
            match widths.get_mut(i) {
                Some(w) => *w = (*w).max(width),
                None => widths.push(width),
            }
        }
    }
    let lines: Vec<String> = rows
        .iter()
        .map(|row| {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                if i + 1 == row.len() {
                    line.push_str(cell);
                } else {
                    let pad = widths[i].saturating_sub(cell.chars().count());
                    line.push_str(cell);
                    line.push_str(&" ".repeat(pad + GLUE.len()));
                }
            }
            line
        })
        .collect();
    lines.join("\n")
}

/// A table with `header` underlined by dashes, then `rows`.
pub fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut all = Vec::with_capacity(rows.len() + 2);
    all.push(header.iter().map(|h| h.to_string()).collect());
    all.push(header.iter().map(|h| "-".repeat(h.trim().len())).collect());
    all.extend(rows);
    columns(&all)
}

/// The `Key  Value` table used for secrets and maps.
pub fn key_value(rows: Vec<(String, String)>) -> String {
    table(
        &["Key", "Value"],
        rows.into_iter().map(|(k, v)| vec![k, v]).collect(),
    )
}

/// The `Keys` list of a LIST response.
pub fn keys(keys: &[String]) -> String {
    table(&["Keys"], keys.iter().map(|k| vec![k.clone()]).collect())
}

const GLUE: &str = "    ";

/// Cells are trimmed, and an empty cell reads `n/a`.
fn clean_cell(cell: &str) -> String {
    let trimmed = cell.trim();
    if trimmed.is_empty() {
        "n/a".to_string()
    } else {
        trimmed.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_value_table_aligns_like_vault() {
        let text = key_value(vec![
            ("password".into(), "s3cret".into()),
            ("user".into(), "app".into()),
        ]);
        assert_eq!(
            text,
            "Key         Value\n---         -----\npassword    s3cret\nuser        app"
        );
    }

    #[test]
    fn empty_cells_read_na_and_cells_are_trimmed() {
        let text = key_value(vec![
            ("deletion_time".into(), "".into()),
            ("version".into(), " 1 ".into()),
        ]);
        assert_eq!(
            text,
            "Key              Value\n---              -----\ndeletion_time    n/a\nversion          1"
        );
    }

    #[test]
    fn wide_headers_set_the_width() {
        let text = table(
            &["Path", "Type", "Description"],
            vec![vec!["a/".into(), "kv".into(), "x".into()]],
        );
        assert_eq!(
            text,
            "Path    Type    Description\n----    ----    -----------\na/      kv      x"
        );
    }

    #[test]
    fn keys_list() {
        assert_eq!(keys(&["app".into(), "db/".into()]), "Keys\n----\napp\ndb/");
    }

    #[test]
    fn unicode_widths_count_characters() {
        let text = key_value(vec![("ñame".into(), "x".into()), ("k".into(), "y".into())]);
        assert_eq!(text, "Key     Value\n---     -----\nñame    x\nk       y");
    }

    #[test]
    fn short_rows_are_not_padded() {
        let rows = vec![vec!["a".into(), "b".into()], vec!["ccc".into()]];
        assert_eq!(columns(&rows), "a      b\nccc");
    }
}
