//! The AES-256-GCM envelope every stored value is sealed in:
//! `[version 0x01][key term: u32 big-endian][nonce: 12 bytes][ciphertext + 16-byte tag]`,
//! with the storage path as associated data, so a ciphertext copied to another path does
//! not open.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};

use crate::crypto::fill_random;

const VERSION: u8 = 1;
const HEADER: usize = 1 + 4 + 12;

/// Why a value could not be opened.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AeadError {
    #[error("value is too short or has an unknown format version")]
    Malformed,
    #[error("message authentication failed (wrong key, wrong path, or tampered data)")]
    Authentication,
}

/// An AES-256-GCM key ready for use; the key schedule is wiped on drop (aes-gcm `zeroize`).
pub struct SealingKey {
    cipher: Aes256Gcm,
}

impl SealingKey {
    pub fn new(key: &[u8; 32]) -> Self {
        Self {
            cipher: Aes256Gcm::new(key.into()),
        }
    }

    /// Encrypts `plaintext` for `path` under key `term` with a fresh random nonce.
    pub fn seal(&self, term: u32, path: &str, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; 12];
        fill_random(&mut nonce);
        let payload = Payload {
            msg: plaintext,
            aad: path.as_bytes(),
        };
        let ciphertext = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), payload)
            .expect("AES-GCM encryption cannot fail for inputs under 64 GiB");
        let mut out = Vec::with_capacity(HEADER + ciphertext.len());
        out.push(VERSION);
        out.extend_from_slice(&term.to_be_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        out
    }

    /// Decrypts a value sealed by [`SealingKey::seal`] for the same `path`.
    pub fn open(&self, path: &str, blob: &[u8]) -> Result<Vec<u8>, AeadError> {
        if blob.len() < HEADER + 16 || blob[0] != VERSION {
            return Err(AeadError::Malformed);
        }
        let payload = Payload {
            msg: &blob[HEADER..],
            aad: path.as_bytes(),
        };
        self.cipher
            .decrypt(Nonce::from_slice(&blob[5..HEADER]), payload)
            .map_err(|_| AeadError::Authentication)
    }
}

/// The key term a sealed value names in its header.
pub fn term_of(blob: &[u8]) -> Result<u32, AeadError> {
    if blob.len() < HEADER || blob[0] != VERSION {
        return Err(AeadError::Malformed);
    }
    Ok(u32::from_be_bytes([blob[1], blob[2], blob[3], blob[4]]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(byte: u8) -> SealingKey {
        SealingKey::new(&[byte; 32])
    }

    #[test]
    fn wrong_path_key_or_tamper_fails() {
        let blob = key(1).seal(7, "a/b", b"secret");
        assert_eq!(term_of(&blob).unwrap(), 7);
        assert_eq!(key(1).open("a/b", &blob).unwrap(), b"secret");
        assert_eq!(key(1).open("a/c", &blob), Err(AeadError::Authentication));
        assert_eq!(key(2).open("a/b", &blob), Err(AeadError::Authentication));
        let mut tampered = blob.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert_eq!(
            key(1).open("a/b", &tampered),
            Err(AeadError::Authentication)
        );
        assert_eq!(key(1).open("a/b", &blob[..10]), Err(AeadError::Malformed));
    }

    #[test]
    fn nonces_differ() {
        let k = key(3);
        assert_ne!(k.seal(1, "p", b"x"), k.seal(1, "p", b"x"));
    }

    proptest! {
        #[test]
        fn round_trip(data in proptest::collection::vec(any::<u8>(), 0..2048), path in "[a-z/]{0,40}", term in any::<u32>()) {
            let k = key(9);
            let blob = k.seal(term, &path, &data);
            prop_assert_eq!(k.open(&path, &blob).unwrap(), data.clone());
            prop_assert!(!blob.windows(data.len().max(8)).any(|w| data.len() >= 8 && w == &data[..]));
        }
    }
}
