//! Small cryptographic helpers shared by the layers: randomness, identifiers, HMAC and
//! constant-time comparison. All randomness comes from the OS via `ring`; request ids are
//! derived from it without a system call per request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use aes_gcm::aes::cipher::{BlockEncrypt, KeyInit};
use aes_gcm::aes::Aes128;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Fills `buf` from the OS CSPRNG. The OS generator failing is not recoverable.
pub fn fill_random(buf: &mut [u8]) {
    SystemRandom::new()
        .fill(buf)
        .expect("the OS random number generator must be available");
}

/// `N` random bytes that are wiped when dropped.
pub fn random_key<const N: usize>() -> Zeroizing<[u8; N]> {
    let mut key = Zeroizing::new([0u8; N]);
    fill_random(key.as_mut());
    key
}

/// A random string of `len` characters from [0-9A-Za-z], without modulo bias.
pub fn random_base62(len: usize) -> String {
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        fill_random(&mut buf);
        for &b in buf.iter() {
            // 248 = 4 * 62: rejecting larger bytes keeps every character equally likely.
            if b < 248 && out.len() < len {
                out.push(BASE62[(b % 62) as usize] as char);
            }
        }
    }
    out
}

/// A random RFC 4122 version-4 UUID, as Vault uses for mount accessors and role ids.
pub fn uuid_v4() -> String {
    let mut b = [0u8; 16];
    fill_random(&mut b);
    format_uuid_v4(b)
}

/// A request id: a version-4 UUID that no other request of this process gets and that
/// cannot be predicted, made without a system call (reading the OS generator for every
/// request cost a `getrandom` call each). A process-wide counter is enciphered with
/// AES-128 under a random key: a permutation, so distinct counters give distinct blocks
/// (the six version and variant bits then leave 122, as in any version-4 UUID, so two
/// ids collide with negligible probability), and without the key the next id cannot be
/// guessed from earlier ones.
pub fn request_id() -> String {
    static IDS: OnceLock<(Aes128, AtomicU64)> = OnceLock::new();
    let (cipher, counter) = IDS.get_or_init(|| {
        let key = random_key::<16>();
        (Aes128::new(key.as_ref().into()), AtomicU64::new(0))
    });
    let mut block = [0u8; 16];
    block[..8].copy_from_slice(&counter.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    cipher.encrypt_block((&mut block).into());
    format_uuid_v4(block)
}

/// Sets the version and variant bits and prints the UUID's usual 8-4-4-4-12 form.
fn format_uuid_v4(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut s = String::with_capacity(36);
    for (i, group) in [&b[0..4], &b[4..6], &b[6..8], &b[8..10], &b[10..16]]
        .into_iter()
        .enumerate()
    {
        if i > 0 {
            s.push('-');
        }
        push_hex(&mut s, group);
    }
    s
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    push_hex(&mut s, bytes);
    s
}

/// Appends the lower-case hex of `bytes` to `out`.
fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for &b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 0xf) as usize] as char);
    }
}

/// Decodes hex (either case); `None` on any non-hex character or odd length.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    s.as_bytes()
        .chunks(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

/// HMAC-SHA256 of `data` under `key`, as lower-case hex.
pub fn hmac_sha256_hex(key: &[u8], data: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    hex(hmac::sign(&key, data).as_ref())
}

/// Compares two secrets without leaking where they differ through timing.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base62_has_requested_length_and_alphabet() {
        let s = random_base62(24);
        assert_eq!(s.len(), 24);
        assert!(s.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(s, random_base62(24));
    }

    fn assert_uuid_v4(u: &str) {
        assert_eq!(u.len(), 36, "{u}");
        for (i, c) in u.char_indices() {
            match i {
                8 | 13 | 18 | 23 => assert_eq!(c, '-', "{u}"),
                14 => assert_eq!(c, '4', "{u}"),
                19 => assert!("89ab".contains(c), "{u}"),
                _ => assert!(c.is_ascii_hexdigit() && !c.is_ascii_uppercase(), "{u}"),
            }
        }
    }

    #[test]
    fn uuid_shape() {
        assert_uuid_v4(&uuid_v4());
        assert_ne!(uuid_v4(), uuid_v4());
    }

    #[test]
    fn request_ids_are_uuids_and_never_repeat() {
        let ids: std::collections::HashSet<String> = (0..10_000).map(|_| request_id()).collect();
        assert_eq!(ids.len(), 10_000);
        ids.iter().for_each(|id| assert_uuid_v4(id));
        // Not a visible counter: consecutive ids differ in most of their digits.
        let (a, b) = (request_id(), request_id());
        let same = a.chars().zip(b.chars()).filter(|(x, y)| x == y).count();
        assert!(same < 20, "{a} and {b} look related");
    }

    #[test]
    fn hex_round_trip() {
        let bytes = [0u8, 1, 0xab, 0xff];
        assert_eq!(hex(&bytes), "0001abff");
        assert_eq!(unhex("0001ABff").unwrap(), bytes);
        assert!(unhex("0g").is_none());
        assert!(unhex("abc").is_none());
    }

    #[test]
    fn hmac_is_keyed() {
        assert_ne!(hmac_sha256_hex(b"k1", b"x"), hmac_sha256_hex(b"k2", b"x"));
        assert_eq!(hmac_sha256_hex(b"k1", b"x").len(), 64);
    }

    #[test]
    fn constant_time_eq_works() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
