//! Shamir secret sharing over GF(2^8), as used to split the unseal key into key shares.
//!
//! The field is GF(2^8) with the AES polynomial x^8 + x^4 + x^3 + x + 1, the same as Vault's,
//! and a share is laid out as Vault lays it out: one y value per secret byte, followed by the
//! x coordinate as the last byte. Field arithmetic is constant-time: no table lookups indexed by
//! secret bytes and no branches on them.

use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

/// Why a secret could not be split or a set of shares could not be combined.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ShamirError {
    /// `split` was given an empty secret.
    #[error("cannot split an empty secret")]
    EmptySecret,
    /// The threshold is below 2 (a threshold of 1 would hand out the secret itself).
    #[error("the threshold must be at least 2, got {0}")]
    ThresholdTooSmall(u8),
    /// More shares would be required than are handed out.
    #[error("the threshold ({threshold}) cannot exceed the number of shares ({shares})")]
    ThresholdAboveShares {
        /// The requested threshold.
        threshold: u8,
        /// The requested number of shares.
        shares: u8,
    },
    /// `combine` needs at least two parts.
    #[error("at least 2 key shares are needed to recover the secret, got {0}")]
    TooFewParts(usize),
    /// A part is shorter than one value byte plus the x coordinate.
    #[error("a key share must be at least 2 bytes long")]
    PartTooShort,
    /// The parts do not all have the same length, so they come from different splits.
    #[error("the key shares have different lengths, so they cannot belong to the same secret")]
    MismatchedLengths,
    /// A part has x coordinate 0, which `split` never produces.
    #[error("a key share has x coordinate 0, so it is not a valid share")]
    ZeroX,
    /// The same share (same x coordinate) was given twice.
    #[error("two key shares have the same x coordinate {0}: each share may be given only once")]
    DuplicateX(u8),
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed")]
    RandomFailure,
}

/// Splits `secret` into `shares` parts, any `threshold` of which recover it.
///
/// Requires `2 <= threshold <= shares <= 255` and a non-empty secret. Each part is
/// `secret.len() + 1` bytes: the y values followed by the x coordinate as the last byte.
pub fn split(
    secret: &[u8],
    shares: u8,
    threshold: u8,
) -> Result<Vec<Zeroizing<Vec<u8>>>, ShamirError> {
    check_split_arguments(secret, shares, threshold)?;
    let rng = SystemRandom::new();
    let xs = distinct_nonzero_xs(&rng, shares)?;
    let mut parts: Vec<Zeroizing<Vec<u8>>> = xs
        .iter()
        .map(|_| Zeroizing::new(vec![0u8; secret.len() + 1]))
        .collect();
    // Coefficients 1..threshold of one polynomial; coefficient 0 is the secret byte.
    let mut coefficients = Zeroizing::new(vec![0u8; usize::from(threshold)]);
    for (byte_index, &secret_byte) in secret.iter().enumerate() {
        coefficients[0] = secret_byte;
        rng.fill(&mut coefficients[1..])
            .map_err(|_| ShamirError::RandomFailure)?;
        for (part, &x) in parts.iter_mut().zip(&xs) {
            part[byte_index] = evaluate(&coefficients, x);
        }
    }
    for (part, &x) in parts.iter_mut().zip(&xs) {
        part[secret.len()] = x;
    }
    Ok(parts)
}

/// Recombines parts made by [`split`] into the secret.
///
/// Needs at least 2 parts of the same length (at least 2 bytes each) with distinct, non-zero x
/// coordinates. Fewer parts than the threshold give a wrong value without an error (that is the
/// mathematics of the scheme): the caller verifies the result, e.g. by decrypting with it.
pub fn combine(parts: &[&[u8]]) -> Result<Zeroizing<Vec<u8>>, ShamirError> {
    check_parts(parts)?;
    let xs: Vec<u8> = parts.iter().map(|part| part[part.len() - 1]).collect();
    let weights = Zeroizing::new(lagrange_weights_at_zero(&xs));
    let secret_len = parts[0].len() - 1;
    let mut secret = Zeroizing::new(vec![0u8; secret_len]);
    for (byte_index, secret_byte) in secret.iter_mut().enumerate() {
        *secret_byte = parts
            .iter()
            .zip(weights.iter())
            .fold(0u8, |sum, (part, &weight)| {
                sum ^ multiply(part[byte_index], weight)
            });
    }
    Ok(secret)
}

fn check_split_arguments(secret: &[u8], shares: u8, threshold: u8) -> Result<(), ShamirError> {
    if secret.is_empty() {
        return Err(ShamirError::EmptySecret);
    }
    if threshold < 2 {
        return Err(ShamirError::ThresholdTooSmall(threshold));
    }
    if threshold > shares {
        return Err(ShamirError::ThresholdAboveShares { threshold, shares });
    }
    Ok(())
}

fn check_parts(parts: &[&[u8]]) -> Result<(), ShamirError> {
    if parts.len() < 2 {
        return Err(ShamirError::TooFewParts(parts.len()));
    }
    let len = parts[0].len();
    if len < 2 {
        return Err(ShamirError::PartTooShort);
    }
    if parts.iter().any(|part| part.len() != len) {
        return Err(ShamirError::MismatchedLengths);
    }
    // The x coordinates are public (they are stored in the clear in every share).
    let mut seen = [false; 256];
    for part in parts {
        let x = part[len - 1];
        if x == 0 {
            return Err(ShamirError::ZeroX);
        }
        if seen[usize::from(x)] {
            return Err(ShamirError::DuplicateX(x));
        }
        seen[usize::from(x)] = true;
    }
    Ok(())
}

/// `count` distinct x coordinates in 1..=255, uniformly chosen, by rejection sampling.
fn distinct_nonzero_xs(rng: &SystemRandom, count: u8) -> Result<Vec<u8>, ShamirError> {
    let mut xs = Vec::with_capacity(usize::from(count));
    let mut taken = [false; 256];
    let mut candidates = [0u8; 64];
    while xs.len() < usize::from(count) {
        rng.fill(&mut candidates)
            .map_err(|_| ShamirError::RandomFailure)?;
        for &x in &candidates {
            if x != 0 && !taken[usize::from(x)] && xs.len() < usize::from(count) {
                taken[usize::from(x)] = true;
                xs.push(x);
            }
        }
    }
    Ok(xs)
}

/// The polynomial with these coefficients (constant term first) at `x`, by Horner's rule.
fn evaluate(coefficients: &[u8], x: u8) -> u8 {
    coefficients
        .iter()
        .rev()
        .fold(0u8, |accumulator, &coefficient| {
            multiply(accumulator, x) ^ coefficient
        })
}

/// For each x_i, the Lagrange basis polynomial at 0: the product over j != i of
/// x_j / (x_j - x_i). Subtraction in GF(2^8) is XOR.
fn lagrange_weights_at_zero(xs: &[u8]) -> Vec<u8> {
    xs.iter()
        .enumerate()
        .map(|(i, &xi)| {
            xs.iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .fold(1u8, |weight, (_, &xj)| {
                    multiply(weight, divide(xj, xj ^ xi))
                })
        })
        .collect()
}

/// Multiplication in GF(2^8), Russian-peasant style with masks instead of branches.
fn multiply(a: u8, b: u8) -> u8 {
    let mut a = a;
    let mut b = b;
    let mut product = 0u8;
    for _ in 0..8 {
        product ^= a & 0u8.wrapping_sub(b & 1);
        let carry_mask = 0u8.wrapping_sub(a >> 7);
        a = (a << 1) ^ (0x1b & carry_mask);
        b >>= 1;
    }
    product
}

/// The multiplicative inverse as a^254 (a^255 = 1 for a != 0); maps 0 to 0. The exponent is
/// fixed, so the sequence of operations does not depend on `a`.
fn inverse(a: u8) -> u8 {
    let mut power = a;
    let mut result = 1u8;
    // 254 = 2 + 4 + ... + 128: square seven times, multiplying in each square.
    for _ in 0..7 {
        power = multiply(power, power);
        result = multiply(result, power);
    }
    result
}

fn divide(a: u8, b: u8) -> u8 {
    multiply(a, inverse(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Table-free reference multiplication, written differently (carry-less multiply, then
    /// reduce), to cross-check the constant-time one.
    fn reference_multiply(a: u8, b: u8) -> u8 {
        let mut wide: u16 = 0;
        for bit in 0..8 {
            if b & (1 << bit) != 0 {
                wide ^= u16::from(a) << bit;
            }
        }
        for bit in (8..16).rev() {
            if wide & (1 << bit) != 0 {
                wide ^= 0x11b << (bit - 8);
            }
        }
        wide as u8
    }

    fn as_slices(parts: &[Zeroizing<Vec<u8>>]) -> Vec<&[u8]> {
        parts.iter().map(|part| part.as_slice()).collect()
    }

    #[test]
    fn multiply_matches_reference_for_every_pair() {
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                assert_eq!(multiply(a, b), reference_multiply(a, b), "{a} * {b}");
            }
        }
    }

    #[test]
    fn multiply_known_aes_vectors() {
        assert_eq!(multiply(0x53, 0xca), 0x01);
        assert_eq!(multiply(0x57, 0x83), 0xc1);
        assert_eq!(multiply(0x57, 0x13), 0xfe);
    }

    #[test]
    fn every_nonzero_element_has_its_inverse() {
        for a in 1..=255u8 {
            assert_eq!(multiply(a, inverse(a)), 1, "inverse of {a}");
        }
        assert_eq!(inverse(0), 0);
    }

    #[test]
    fn division_undoes_multiplication() {
        for a in 0..=255u8 {
            for b in 1..=255u8 {
                assert_eq!(divide(multiply(a, b), b), a);
            }
        }
    }

    #[test]
    fn split_makes_parts_in_vaults_layout() {
        let secret = b"0123456789abcdef0123456789abcdef";
        let parts = split(secret, 5, 3).expect("valid arguments");
        assert_eq!(parts.len(), 5);
        let mut xs: Vec<u8> = parts.iter().map(|p| p[secret.len()]).collect();
        assert!(parts.iter().all(|p| p.len() == secret.len() + 1));
        assert!(xs.iter().all(|&x| x != 0));
        xs.sort_unstable();
        xs.dedup();
        assert_eq!(xs.len(), 5, "x coordinates are distinct");
    }

    #[test]
    fn all_parts_and_exact_threshold_recover_the_secret() {
        let secret = b"the unseal key, 32 bytes long!!!";
        let parts = split(secret, 5, 3).expect("valid arguments");
        assert_eq!(
            combine(&as_slices(&parts)).expect("valid parts").as_slice(),
            secret
        );
        let three = [&parts[4][..], &parts[0][..], &parts[2][..]];
        assert_eq!(combine(&three).expect("valid parts").as_slice(), secret);
    }

    #[test]
    fn all_255_shares_can_be_made() {
        let parts = split(b"k", 255, 255).expect("valid arguments");
        assert_eq!(
            combine(&as_slices(&parts)).expect("valid parts").as_slice(),
            b"k"
        );
    }

    #[test]
    fn split_rejects_bad_arguments() {
        assert_eq!(split(b"", 3, 2), Err(ShamirError::EmptySecret));
        assert_eq!(split(b"s", 3, 1), Err(ShamirError::ThresholdTooSmall(1)));
        assert_eq!(split(b"s", 3, 0), Err(ShamirError::ThresholdTooSmall(0)));
        assert_eq!(
            split(b"s", 2, 3),
            Err(ShamirError::ThresholdAboveShares {
                threshold: 3,
                shares: 2
            })
        );
        assert_eq!(split(b"s", 1, 1), Err(ShamirError::ThresholdTooSmall(1)));
    }

    #[test]
    fn combine_rejects_too_few_parts() {
        assert_eq!(combine(&[]), Err(ShamirError::TooFewParts(0)));
        assert_eq!(combine(&[&[1, 2][..]]), Err(ShamirError::TooFewParts(1)));
    }

    #[test]
    fn combine_rejects_short_and_mismatched_parts() {
        assert_eq!(
            combine(&[&[1][..], &[2][..]]),
            Err(ShamirError::PartTooShort)
        );
        assert_eq!(
            combine(&[&[1, 2][..], &[3, 4, 5][..]]),
            Err(ShamirError::MismatchedLengths)
        );
    }

    #[test]
    fn combine_rejects_zero_and_duplicate_x() {
        assert_eq!(
            combine(&[&[1, 0][..], &[3, 4][..]]),
            Err(ShamirError::ZeroX)
        );
        assert_eq!(
            combine(&[&[1, 7][..], &[3, 9][..], &[5, 7][..]]),
            Err(ShamirError::DuplicateX(7))
        );
    }

    #[test]
    fn errors_read_clearly() {
        let message = ShamirError::DuplicateX(7).to_string();
        assert!(message.contains("only once"), "{message}");
        let message = ShamirError::ThresholdAboveShares {
            threshold: 4,
            shares: 3,
        }
        .to_string();
        assert_eq!(
            message,
            "the threshold (4) cannot exceed the number of shares (3)"
        );
    }

    /// (shares, threshold, an ordering of the share indices) with 2 <= threshold <= shares <= 10.
    fn shares_threshold_and_order() -> impl Strategy<Value = (u8, u8, Vec<usize>)> {
        (2u8..=10)
            .prop_flat_map(|shares| (Just(shares), 2..=shares))
            .prop_flat_map(|(shares, threshold)| {
                let order: Vec<usize> = (0..usize::from(shares)).collect();
                (Just(shares), Just(threshold), Just(order).prop_shuffle())
            })
    }

    proptest! {
        #[test]
        fn any_threshold_subset_recovers_the_secret(
            secret in proptest::collection::vec(any::<u8>(), 1..64),
            (shares, threshold, order) in shares_threshold_and_order(),
        ) {
            let parts = split(&secret, shares, threshold).expect("valid arguments");
            let subset: Vec<&[u8]> = order[..usize::from(threshold)]
                .iter()
                .map(|&i| parts[i].as_slice())
                .collect();
            let recovered = combine(&subset).expect("valid parts");
            prop_assert_eq!(recovered.as_slice(), &secret[..]);
        }

        #[test]
        fn one_share_short_of_the_threshold_does_not_recover(
            secret in proptest::array::uniform32(any::<u8>()),
            (shares, threshold, order) in shares_threshold_and_order()
                .prop_filter("needs 2 parts below threshold", |(_, t, _)| *t >= 3),
        ) {
            let parts = split(&secret, shares, threshold).expect("valid arguments");
            let subset: Vec<&[u8]> = order[..usize::from(threshold) - 1]
                .iter()
                .map(|&i| parts[i].as_slice())
                .collect();
            // Wrong with probability 1 - 2^-256: the result is uniformly random.
            let recovered = combine(&subset).expect("valid parts");
            prop_assert_ne!(recovered.as_slice(), &secret[..]);
        }
    }
}
