//! Backups of the whole encrypted store (`sys/storage/snapshot`): every key with its
//! ciphertext, as stored, in one blob. Format `cofre-snapshot-1`: the header line
//! `COFRE-SNAPSHOT-1\n`, then per entry a big-endian u32 key length, the key, a u32 value
//! length and the value, then the SHA-256 of everything before it. Restoring replaces the
//! store's contents and seals the server: it is unsealed with the keys of the vault the
//! snapshot came from.

use super::{Core, RequestError};
use crate::storage::TxnOp;

const HEADER: &[u8] = b"COFRE-SNAPSHOT-1\n";
const PAGE: usize = 1024;
const BATCH: usize = 256;

impl Core {
    /// Every stored key and value, encoded; with the number of entries.
    pub async fn snapshot(&self) -> Result<(Vec<u8>, usize), RequestError> {
        let mut out = HEADER.to_vec();
        let mut entries = 0;
        let mut after: Option<String> = None;
        loop {
            let keys = self.backend.scan("", after.as_deref(), PAGE).await?;
            let Some(last) = keys.last().cloned() else {
                break;
            };
            for key in keys {
                if let Some(value) = self.backend.get(&key).await? {
                    push(&mut out, key.as_bytes());
                    push(&mut out, &value);
                    entries += 1;
                }
            }
            after = Some(last);
        }
        let digest = sha256(&out);
        out.extend_from_slice(&digest);
        Ok((out, entries))
    }

    /// Replaces the store's contents with a snapshot's, then seals. Returns the number of
    /// entries restored. Nothing is changed when the snapshot does not verify.
    pub async fn restore(&self, snapshot: &[u8]) -> Result<usize, RequestError> {
        let entries = decode(snapshot)?;
        let count = entries.len();
        self.seal().await;
        let _turn = self.progress.lock().await;
        loop {
            let keys = self.backend.scan("", None, PAGE).await?;
            if keys.is_empty() {
                break;
            }
            self.backend
                .transaction(keys.into_iter().map(TxnOp::Delete).collect())
                .await?;
        }
        let mut ops = Vec::with_capacity(BATCH);
        for (key, value) in entries {
            ops.push(TxnOp::Put(key, value));
            if ops.len() == BATCH {
                self.backend.transaction(std::mem::take(&mut ops)).await?;
            }
        }
        self.backend.transaction(ops).await?;
        tracing::warn!(entries = count, "storage restored from a snapshot; sealed");
        Ok(count)
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

fn push(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// The entries of a snapshot, after checking its header and checksum.
fn decode(snapshot: &[u8]) -> Result<Vec<(String, Vec<u8>)>, RequestError> {
    let bad = |why: &str| RequestError::invalid(format!("not a valid Cofre snapshot: {why}"));
    if snapshot.len() < HEADER.len() + 32 || !snapshot.starts_with(HEADER) {
        return Err(bad("missing the COFRE-SNAPSHOT-1 header"));
    }
    let (body, digest) = snapshot.split_at(snapshot.len() - 32);
    if !crate::crypto::constant_time_eq(&sha256(body), digest) {
        return Err(bad("checksum mismatch (truncated or altered)"));
    }
    let mut rest = &body[HEADER.len()..];
    let mut entries = Vec::new();
    while !rest.is_empty() {
        let key = take(&mut rest).ok_or_else(|| bad("truncated entry"))?;
        let value = take(&mut rest).ok_or_else(|| bad("truncated entry"))?;
        let key = String::from_utf8(key.to_vec()).map_err(|_| bad("a key is not UTF-8"))?;
        entries.push((key, value.to_vec()));
    }
    Ok(entries)
}

fn take<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let len = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    let bytes = rest.get(4..4 + len)?;
    *rest = &rest[4 + len..];
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper_detection() {
        let mut blob = HEADER.to_vec();
        push(&mut blob, b"core/x");
        push(&mut blob, &[1, 2, 3]);
        let digest = sha256(&blob);
        blob.extend_from_slice(&digest);
        assert_eq!(
            decode(&blob).unwrap(),
            vec![("core/x".into(), vec![1, 2, 3])]
        );
        let mut altered = blob.clone();
        altered[HEADER.len() + 5] ^= 1;
        assert!(decode(&altered).is_err());
        assert!(decode(&blob[..blob.len() - 1]).is_err());
        assert!(decode(b"garbage").is_err());
    }
}
