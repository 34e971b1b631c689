//! Joining API path segments without doubled or stray slashes.

/// Joins `parts` with single slashes, dropping empty segments and outer slashes.
pub(crate) fn join(parts: &[&str]) -> String {
    parts
        .iter()
        .flat_map(|part| part.split('/'))
        .filter(|segment| !segment.is_empty())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::join;

    #[test]
    fn joins_cleanly() {
        assert_eq!(join(&["secret/", "data", "/app/db"]), "secret/data/app/db");
        assert_eq!(join(&["secret", "metadata", ""]), "secret/metadata");
        assert_eq!(join(&["/a//b/", "c"]), "a/b/c");
    }
}
