//! The keyring: every data-encryption key term the barrier has used, the active term, and
//! the root key that encrypts the keyring itself. Serialised only inside the barrier's
//! own encryption; key bytes are wiped when dropped.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::aead::SealingKey;
use crate::crypto::random_key;

/// One data-encryption key and when it was installed.
pub struct Term {
    pub key: SealingKey,
    pub install_time: String,
    raw: Zeroizing<[u8; 32]>,
}

/// All key terms; new values are sealed with the active (highest) term.
pub struct Keyring {
    pub terms: BTreeMap<u32, Term>,
    pub active: u32,
}

#[derive(Serialize, Deserialize)]
struct StoredTerm {
    term: u32,
    key: String,
    install_time: String,
}

#[derive(Serialize, Deserialize)]
struct StoredKeyring {
    active: u32,
    keys: Vec<StoredTerm>,
}

/// The stored keyring could not be decoded.
#[derive(Debug, thiserror::Error)]
#[error("the stored keyring is malformed")]
pub struct MalformedKeyring;

impl Keyring {
    /// A keyring with one fresh term 1.
    pub fn generate(now: String) -> Self {
        let mut ring = Keyring {
            terms: BTreeMap::new(),
            active: 0,
        };
        ring.add_term(random_key::<32>(), now);
        ring
    }

    /// Adds a new term and makes it active (`sys/rotate`).
    pub fn rotate(&mut self, now: String) -> u32 {
        self.add_term(random_key::<32>(), now)
    }

    fn add_term(&mut self, raw: Zeroizing<[u8; 32]>, install_time: String) -> u32 {
        let term = self.active + 1;
        let key = SealingKey::new(&raw);
        self.terms.insert(
            term,
            Term {
                key,
                install_time,
                raw,
            },
        );
        self.active = term;
        term
    }

    pub fn active_term(&self) -> &Term {
        self.terms
            .get(&self.active)
            .expect("the active term is always present in the keyring")
    }

    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let stored = StoredKeyring {
            active: self.active,
            keys: self
                .terms
                .iter()
                .map(|(term, t)| StoredTerm {
                    term: *term,
                    key: b64.encode(t.raw.as_ref()),
                    install_time: t.install_time.clone(),
                })
                .collect(),
        };
        let bytes = serde_json::to_vec(&stored).expect("keyring serialisation cannot fail");
        for k in stored.keys {
            let _ = Zeroizing::new(k.key);
        }
        Zeroizing::new(bytes)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, MalformedKeyring> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let stored: StoredKeyring = serde_json::from_slice(bytes).map_err(|_| MalformedKeyring)?;
        let mut terms = BTreeMap::new();
        for t in stored.keys {
            let key_b64 = Zeroizing::new(t.key);
            let decoded = Zeroizing::new(
                b64.decode(key_b64.as_bytes())
                    .map_err(|_| MalformedKeyring)?,
            );
            let mut raw = Zeroizing::new([0u8; 32]);
            if decoded.len() != 32 {
                return Err(MalformedKeyring);
            }
            raw.copy_from_slice(&decoded);
            let key = SealingKey::new(&raw);
            terms.insert(
                t.term,
                Term {
                    key,
                    install_time: t.install_time,
                    raw,
                },
            );
        }
        if !terms.contains_key(&stored.active) {
            return Err(MalformedKeyring);
        }
        Ok(Keyring {
            terms,
            active: stored.active,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialise_round_trip_keeps_terms() {
        let mut ring = Keyring::generate("t1".into());
        ring.rotate("t2".into());
        let back = Keyring::from_bytes(&ring.to_bytes()).unwrap();
        assert_eq!(back.active, 2);
        assert_eq!(back.terms.len(), 2);
        let blob = ring.terms[&1].key.seal(1, "p", b"x");
        assert_eq!(back.terms[&1].key.open("p", &blob).unwrap(), b"x");
    }

    #[test]
    fn garbage_is_rejected() {
        assert!(Keyring::from_bytes(b"{}").is_err());
        assert!(Keyring::from_bytes(b"not json").is_err());
    }
}
