//! Generated database passwords (Vault's default password policy) and PostgreSQL SCRAM
//! verifiers, so `password_authentication = "scram-sha-256"` never sends the plaintext.

use base64::Engine as _;
use ring::{digest, hmac, pbkdf2};
use zeroize::Zeroizing;

/// Vault's default policy: 20 characters from `[a-zA-Z0-9-]`, at least one of each class.
const LENGTH: usize = 20;
const CHARSET: &[u8; 63] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-";
/// PostgreSQL's own default iteration count for SCRAM-SHA-256.
const SCRAM_ITERATIONS: u32 = 4096;

/// A fresh password from the OS CSPRNG that meets the default policy.
pub fn generate() -> Zeroizing<String> {
    loop {
        let candidate = Zeroizing::new(random_string(LENGTH));
        if meets_policy(&candidate) {
            return candidate;
        }
    }
}

fn random_string(len: usize) -> String {
    let mut out = String::with_capacity(len);
    let mut buf = Zeroizing::new([0u8; 64]);
    while out.len() < len {
        crate::crypto::fill_random(buf.as_mut());
        // 252 = 4 * 63: rejecting larger bytes keeps every character equally likely.
        for &b in buf.iter().filter(|&&b| b < 252) {
            if out.len() < len {
                out.push(CHARSET[usize::from(b % 63)] as char);
            }
        }
    }
    out
}

/// Whether `password` has the policy's length and every character class.
pub fn meets_policy(password: &str) -> bool {
    password.len() == LENGTH
        && password.bytes().all(|b| CHARSET.contains(&b))
        && password.bytes().any(|b| b.is_ascii_lowercase())
        && password.bytes().any(|b| b.is_ascii_uppercase())
        && password.bytes().any(|b| b.is_ascii_digit())
        && password.contains('-')
}

/// A PostgreSQL SCRAM-SHA-256 verifier for `password` with a random salt:
/// `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` (RFC 5803), which
/// `CREATE/ALTER ROLE ... PASSWORD '<verifier>'` stores as is.
pub fn scram_sha256_verifier(password: &str) -> String {
    let mut salt = [0u8; 16];
    crate::crypto::fill_random(&mut salt);
    scram_with_salt(password, &salt, SCRAM_ITERATIONS)
}

fn scram_with_salt(password: &str, salt: &[u8], iterations: u32) -> String {
    let mut salted = Zeroizing::new([0u8; 32]);
    let rounds = std::num::NonZeroU32::new(iterations).expect("SCRAM iterations are positive");
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        rounds,
        salt,
        password.as_bytes(),
        salted.as_mut(),
    );
    let key = hmac::Key::new(hmac::HMAC_SHA256, salted.as_ref());
    let client_key = hmac::sign(&key, b"Client Key");
    let stored_key = digest::digest(&digest::SHA256, client_key.as_ref());
    let server_key = hmac::sign(&key, b"Server Key");
    let b64 = base64::engine::general_purpose::STANDARD;
    format!(
        "SCRAM-SHA-256${iterations}:{}${}:{}",
        b64.encode(salt),
        b64.encode(stored_key.as_ref()),
        b64.encode(server_key.as_ref())
    )
}

/// Whether `verifier` (as PostgreSQL stores it) was made from `password`.
pub fn scram_matches(verifier: &str, password: &str) -> bool {
    let parse = || -> Option<bool> {
        let rest = verifier.strip_prefix("SCRAM-SHA-256$")?;
        let (params, _) = rest.split_once('$')?;
        let (iterations, salt) = params.split_once(':')?;
        let salt = base64::engine::general_purpose::STANDARD
            .decode(salt)
            .ok()?;
        let expected = scram_with_salt(password, &salt, iterations.parse().ok()?);
        Some(crate::crypto::constant_time_eq(
            expected.as_bytes(),
            verifier.as_bytes(),
        ))
    };
    parse().unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_meet_the_default_policy() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..500 {
            let p = generate();
            assert!(meets_policy(&p), "{}", p.as_str());
            seen.insert(p.to_string());
        }
        assert_eq!(seen.len(), 500);
        assert!(!meets_policy("abcdefghijABCDEFGH12"));
        assert!(!meets_policy("short-A1a"));
    }

    #[test]
    fn scram_verifier_matches_an_independent_computation() {
        // Expected value computed with Python hashlib/hmac from RFC 7677 example inputs.
        let salt = base64::engine::general_purpose::STANDARD
            .decode("W22ZaJ0SNY7soEsUEjb6gQ==")
            .expect("valid base64");
        let verifier = scram_with_salt("pencil", &salt, 4096);
        assert_eq!(
            verifier,
            "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU="
        );
        assert!(scram_matches(&verifier, "pencil"));
        assert!(!scram_matches(&verifier, "pencil2"));
        assert!(scram_matches(&scram_sha256_verifier("x-Y-1"), "x-Y-1"));
    }
}
