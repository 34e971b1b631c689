//! Seal configuration and unseal progress: how many Shamir shares exist, how many unseal,
//! and the shares submitted so far. The seal configuration is the only plaintext value in
//! storage besides the sealed keys, and holds nothing secret.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// Storage key of the seal configuration (plaintext JSON).
pub const SEAL_CONFIG_PATH: &str = "core/seal-config";

/// Shares and threshold chosen at `sys/init`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SealConfig {
    #[serde(rename = "type")]
    pub kind: String,
    pub secret_shares: u8,
    pub secret_threshold: u8,
}

/// Shares submitted to `sys/unseal` since the last success or reset.
#[derive(Default)]
pub struct UnsealProgress {
    pub shares: Vec<Zeroizing<Vec<u8>>>,
    /// Identifies one unseal attempt, as Vault's `nonce`.
    pub nonce: String,
}

impl UnsealProgress {
    pub fn reset(&mut self) {
        self.shares.clear();
        self.nonce.clear();
    }

    /// Adds a share; a share already submitted in this attempt is a client error.
    pub fn add(&mut self, share: Zeroizing<Vec<u8>>) -> Result<(), &'static str> {
        if self
            .shares
            .iter()
            .any(|s| crate::crypto::constant_time_eq(s, &share))
        {
            return Err("given key has already been provided during this generation operation");
        }
        if self.nonce.is_empty() {
            self.nonce = crate::crypto::uuid_v4();
        }
        self.shares.push(share);
        Ok(())
    }
}
