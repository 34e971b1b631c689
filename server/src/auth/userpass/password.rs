//! Password hashing for userpass: argon2id (RFC 9106) with a random 16-byte salt and a
//! 32-byte output. New hashes use [`PARAMS`]: m = 19 456 KiB (19 MiB), t = 2 passes,
//! p = 1 lane — the argon2 crate's defaults and OWASP's recommended minimum, about 26 ms
//! per hash on this project's reference machine. Each stored hash keeps its own
//! parameters, so raising them later leaves existing passwords valid.
//!
//! Hashing is CPU- and memory-bound, so it runs on tokio's blocking pool
//! ([`hash`] and [`verify`] are async) and never stalls request threads.

use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::core::RequestError;

/// (memory in KiB, passes, lanes) for new hashes.
pub const PARAMS: (u32, u32, u32) = (19_456, 2, 1);
const SALT_LEN: usize = 16;
const OUTPUT_LEN: usize = 32;

/// A stored argon2id hash with the parameters it was made with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PasswordHash {
    pub algorithm: String,
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    /// Hex.
    pub salt: String,
    /// Hex.
    pub hash: String,
}

/// Hashes `password` with a fresh salt and the current [`PARAMS`].
pub async fn hash(password: Zeroizing<String>) -> Result<PasswordHash, RequestError> {
    let mut salt = [0u8; SALT_LEN];
    crate::crypto::fill_random(&mut salt);
    let (memory_kib, iterations, parallelism) = PARAMS;
    let mut stored = PasswordHash {
        algorithm: "argon2id".into(),
        memory_kib,
        iterations,
        parallelism,
        salt: crate::crypto::hex(&salt),
        hash: String::new(),
    };
    let params = stored.clone();
    let output = blocking(move || derive(&params, password.as_bytes())).await??;
    stored.hash = crate::crypto::hex(output.as_ref());
    Ok(stored)
}

/// Whether `password` matches `stored`, compared in constant time. The work done does not
/// depend on whether the password matches.
pub async fn verify(
    stored: PasswordHash,
    password: Zeroizing<String>,
) -> Result<bool, RequestError> {
    let expected = crate::crypto::unhex(&stored.hash)
        .ok_or_else(|| RequestError::internal("stored password hash is malformed"))?;
    let output = blocking(move || derive(&stored, password.as_bytes())).await??;
    Ok(crate::crypto::constant_time_eq(output.as_ref(), &expected))
}

/// A hash of a random password, verified against when a login names an unknown user so
/// that the answer takes as long as for a known one.
pub async fn decoy() -> Result<PasswordHash, RequestError> {
    hash(Zeroizing::new(crate::crypto::random_base62(24))).await
}

fn derive(
    stored: &PasswordHash,
    password: &[u8],
) -> Result<Zeroizing<[u8; OUTPUT_LEN]>, RequestError> {
    let broken =
        |what: &str| RequestError::internal(format!("stored password hash is malformed: {what}"));
    if stored.algorithm != "argon2id" {
        return Err(broken("unknown algorithm"));
    }
    let salt = crate::crypto::unhex(&stored.salt).ok_or_else(|| broken("salt"))?;
    let params = Params::new(
        stored.memory_kib,
        stored.iterations,
        stored.parallelism,
        Some(OUTPUT_LEN),
    )
    .map_err(|_| broken("parameters"))?;
    let mut output = Zeroizing::new([0u8; OUTPUT_LEN]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(password, &salt, output.as_mut())
        .map_err(|_| broken("salt or parameters rejected by argon2"))?;
    Ok(output)
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, RequestError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| RequestError::internal("password hashing task failed"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> Zeroizing<String> {
        Zeroizing::new(s.to_string())
    }

    #[tokio::test]
    async fn hashes_verify_and_are_salted() {
        let first = hash(secret("correct horse")).await.expect("hashes");
        let second = hash(secret("correct horse")).await.expect("hashes");
        assert_ne!(first.salt, second.salt);
        assert_ne!(first.hash, second.hash);
        assert_eq!(
            (first.algorithm.as_str(), first.memory_kib, first.iterations),
            ("argon2id", 19_456, 2)
        );
        assert_eq!(first.hash.len(), 2 * OUTPUT_LEN);
        assert!(verify(first.clone(), secret("correct horse"))
            .await
            .expect("verifies"));
        assert!(!verify(first.clone(), secret("correct horsE"))
            .await
            .expect("verifies"));
        assert!(!verify(first, secret("")).await.expect("verifies"));
    }

    #[tokio::test]
    async fn stored_parameters_are_used_and_corruption_is_an_error() {
        let mut cheap = hash(secret("pw")).await.expect("hashes");
        cheap.memory_kib = 64;
        cheap.iterations = 1;
        let output = derive(&cheap, b"pw").expect("derives");
        cheap.hash = crate::crypto::hex(output.as_ref());
        assert!(verify(cheap.clone(), secret("pw")).await.expect("verifies"));
        let mut broken = cheap.clone();
        broken.salt = "zz".into();
        assert!(verify(broken, secret("pw")).await.is_err());
        let mut unknown = cheap;
        unknown.algorithm = "md5".into();
        assert!(verify(unknown, secret("pw")).await.is_err());
    }

    #[tokio::test]
    async fn decoys_never_match_a_guess() {
        let decoy = decoy().await.expect("hashes");
        assert!(!verify(decoy, secret("")).await.expect("verifies"));
    }
}
