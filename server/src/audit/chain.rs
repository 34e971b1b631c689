//! The hash chain that makes an audit file tamper-evident (Vault's logs are not): every line
//! carries `prev_hash`, the SHA-256 of the previous line of the same device, so editing,
//! removing or inserting a line breaks the chain at that point. [`verify`] walks a file and
//! names the first line where the chain breaks; `cofre audit verify FILE` calls it.

use std::io::{BufRead, Read, Seek, SeekFrom};
use std::path::Path;

/// The chain hash of one line (its bytes without the newline), as lower-case hex.
pub fn line_hash(line: &[u8]) -> String {
    crate::crypto::hex(ring::digest::digest(&ring::digest::SHA256, line).as_ref())
}

/// Completes `head` (the prefix and the JSON object without its closing brace) with
/// `prev_hash`: the line to write (ending in a newline) and its own chain hash. Every
/// device type chains its lines through this one function.
pub fn complete(head: String, prev_hash: Option<&str>) -> (String, String) {
    let mut line = head;
    line.push_str(",\"prev_hash\":\"");
    line.push_str(prev_hash.unwrap_or(""));
    line.push_str("\"}");
    let hash = line_hash(line.as_bytes());
    line.push('\n');
    (line, hash)
}

/// The hash of the last line of the file at `path`; `None` when the file does not exist
/// or holds no line, so a new file continues the chain of the one it replaces.
pub fn last_line_hash(path: &Path) -> std::io::Result<Option<String>> {
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let len = file.metadata()?.len();
    let mut window: u64 = 64 * 1024;
    loop {
        let start = len.saturating_sub(window);
        file.seek(SeekFrom::Start(start))?;
        let mut tail = Vec::new();
        file.by_ref().take(len - start).read_to_end(&mut tail)?;
        let body = tail.strip_suffix(b"\n").unwrap_or(&tail);
        if let Some(newline) = body.iter().rposition(|&b| b == b'\n') {
            return Ok(Some(line_hash(&body[newline + 1..])));
        }
        if start == 0 {
            return Ok((!body.is_empty()).then(|| line_hash(body)));
        }
        window = window.saturating_mul(4);
    }
}

/// Why a file failed verification.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("cannot read the audit file: {0}")]
    Io(#[from] std::io::Error),
    /// The chain breaks at `line` (1-based).
    #[error("line {line}: {reason}")]
    Broken { line: usize, reason: String },
}

/// Checks the chain of every line read from `reader`; the number of lines when intact.
///
/// The first line's `prev_hash` is not checked: it links to the file this one replaced
/// (log rotation), or is empty for a device's first line.
pub fn verify(reader: impl BufRead) -> Result<usize, VerifyError> {
    let mut previous: Option<String> = None;
    let mut count = 0;
    for (index, line) in reader.split(b'\n').enumerate() {
        let line = line?;
        let number = index + 1;
        let recorded = prev_hash(&line).ok_or_else(|| VerifyError::Broken {
            line: number,
            reason: "not an audit line (no JSON object with a prev_hash field)".into(),
        })?;
        if let Some(expected) = &previous {
            if recorded != *expected {
                return Err(VerifyError::Broken {
                    line: number - 1,
                    reason: format!(
                        "line {} was changed, or lines were removed or inserted after it \
                         (line {number} records prev_hash {recorded}, line {} hashes to {expected})",
                        number - 1,
                        number - 1
                    ),
                });
            }
        }
        previous = Some(line_hash(&line));
        count += 1;
    }
    Ok(count)
}

/// The `prev_hash` of a line (after the device's prefix, if any).
fn prev_hash(line: &[u8]) -> Option<String> {
    let start = line.iter().position(|&b| b == b'{')?;
    let value: serde_json::Value = serde_json::from_slice(&line[start..]).ok()?;
    value.get("prev_hash")?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(bodies: &[&str]) -> Vec<String> {
        let mut lines: Vec<String> = Vec::new();
        for body in bodies {
            let prev = lines
                .last()
                .map(|l| line_hash(l.as_bytes()))
                .unwrap_or_default();
            lines.push(format!("{{\"n\":\"{body}\",\"prev_hash\":\"{prev}\"}}"));
        }
        lines
    }

    fn check(lines: &[String]) -> Result<usize, VerifyError> {
        let text = lines.join("\n") + "\n";
        verify(text.as_bytes())
    }

    #[test]
    fn intact_chain_verifies() {
        assert_eq!(check(&chain(&["a", "b", "c"])).unwrap(), 3);
        assert_eq!(verify(&b""[..]).unwrap(), 0);
    }

    #[test]
    fn edited_line_is_named() {
        let mut lines = chain(&["a", "b", "c", "d"]);
        lines[1] = lines[1].replace("\"b\"", "\"x\"");
        match check(&lines) {
            Err(VerifyError::Broken { line, reason }) => {
                assert_eq!(line, 2);
                assert!(reason.contains("line 2 was changed"), "{reason}");
            }
            other => panic!("expected a broken chain, got {other:?}"),
        }
    }

    #[test]
    fn removed_and_inserted_lines_break_the_chain() {
        let mut lines = chain(&["a", "b", "c", "d"]);
        lines.remove(2);
        assert!(matches!(
            check(&lines),
            Err(VerifyError::Broken { line: 2, .. })
        ));
        let mut lines = chain(&["a", "b", "c"]);
        lines.insert(1, "{\"n\":\"forged\",\"prev_hash\":\"\"}".into());
        assert!(matches!(
            check(&lines),
            Err(VerifyError::Broken { line: 1, .. })
        ));
    }

    #[test]
    fn garbage_line_is_named() {
        let mut lines = chain(&["a", "b"]);
        lines.push("not json".into());
        assert!(matches!(
            check(&lines),
            Err(VerifyError::Broken { line: 3, .. })
        ));
    }

    #[test]
    fn prefix_is_part_of_the_line() {
        let first = "AUDIT {\"prev_hash\":\"\"}".to_string();
        let second = format!(
            "AUDIT {{\"prev_hash\":\"{}\"}}",
            line_hash(first.as_bytes())
        );
        assert_eq!(check(&[first, second]).unwrap(), 2);
    }

    #[test]
    fn last_line_hash_reads_the_tail() {
        let dir = std::env::temp_dir().join(format!("cofre-chain-{}", crate::crypto::uuid_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.log");
        assert_eq!(last_line_hash(&path).unwrap(), None);
        std::fs::write(&path, "").unwrap();
        assert_eq!(last_line_hash(&path).unwrap(), None);
        let long = "y".repeat(200_000);
        std::fs::write(&path, format!("x\n{long}\n")).unwrap();
        assert_eq!(
            last_line_hash(&path).unwrap(),
            Some(line_hash(long.as_bytes()))
        );
        std::fs::write(&path, "only").unwrap();
        assert_eq!(last_line_hash(&path).unwrap(), Some(line_hash(b"only")));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
